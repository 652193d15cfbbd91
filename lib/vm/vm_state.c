/* SPDX-License-Identifier: MIT */
/*
 * Save/restore of the VM's own state, the part of a VM's interrupt state
 * that belongs to no controller: GSI routes and their wired-OR sources,
 * the interrupt-remapping configuration, the lowest-priority round-robin
 * cursor (validate, then commit: doc/style.md section 5). The APIC-ID map
 * is derived from the LAPICs and rebuilt, never saved. include/virq/vm.h,
 * "Whole-VM save and restore", gives the restore order.
 */
#include "vm_priv.h"

#define IR_FLAGS_VALID                                                                             \
	(VIRQ_VM_STATE_IR_ENABLED | VIRQ_VM_STATE_IR_EIME | VIRQ_VM_STATE_IR_CFI |                 \
	 VIRQ_VM_STATE_IR_POSTING)
/* Fixed layouts without padding: a byte copy is the whole state. */
VIRQ_STATIC_ASSERT(sizeof(struct virq_vm_gsi_state) == 24, "virq_vm_gsi_state layout");
VIRQ_STATIC_ASSERT(sizeof(struct virq_vm_ioapic_wiring) == 8, "virq_vm_ioapic_wiring layout");
VIRQ_STATIC_ASSERT(sizeof(struct virq_vm_state) == 120, "virq_vm_state layout");

#define CFG_FLAGS_VALID (VIRQ_VM_STATE_CFG_VECTOR_HASHING | VIRQ_VM_STATE_CFG_X2APIC_BCAST_QUIRK)

static uint32_t vm_cfg_flags(const struct virq_vm *vm)
{
	uint32_t f = 0;

	if (vm->cfg.lowest_vector_hashing)
		f |= VIRQ_VM_STATE_CFG_VECTOR_HASHING;
	if (vm->cfg.x2apic_broadcast_quirk)
		f |= VIRQ_VM_STATE_CFG_X2APIC_BCAST_QUIRK;
	return f;
}

static uint32_t vm_pic_bsp(const struct virq_vm *vm)
{
	return vm->pic ? vm->bsp : VIRQ_VM_NO_VCPU;
}

/* The remapping configuration in force, unpacked from ir_word. */
static void vm_ir_unpack(uint64_t w, uint32_t *flags, uint32_t *entries)
{
	*flags = 0;
	*entries = 0;
	if (!(w & VM_IR_ENABLED))
		return;
	*flags = VIRQ_VM_STATE_IR_ENABLED;
	if (w & VM_IR_EIME)
		*flags |= VIRQ_VM_STATE_IR_EIME;
	if (w & VM_IR_CFI)
		*flags |= VIRQ_VM_STATE_IR_CFI;
	if (w & VM_IR_POSTING)
		*flags |= VIRQ_VM_STATE_IR_POSTING;
	*entries = (uint32_t)(w & VM_IR_ENTRIES_MASK);
}

VIRQ_API int virq_vm_save(struct virq_vm *vm, struct virq_vm_state *out,
			  struct virq_vm_gsi_state *gsis, uint32_t nr_gsis)
{
	if (!vm || !out || (nr_gsis && !gsis) || nr_gsis != vm->cfg.nr_gsis)
		return -VIRQ_EINVAL;

	vm_lock(vm);
	virq_memset(out, 0, sizeof(*out));
	out->version = VIRQ_VM_STATE_VERSION;
	out->size = sizeof(*out);
	out->gsi_size = sizeof(*gsis);
	out->nr_gsis = vm->cfg.nr_gsis;
	out->nr_vcpus = vm->cfg.nr_vcpus;
	out->msi_flags = vm->cfg.msi_flags;
	out->cfg_flags = vm_cfg_flags(vm);
	vm_ir_unpack(__atomic_load_n(&vm->ir_word, __ATOMIC_RELAXED), &out->ir_flags,
		     &out->ir_table_entries);
	out->lowest_rr = __atomic_load_n(&vm->lowest_rr, __ATOMIC_RELAXED);
	out->nr_ioapics = vm->nr_ioapics;
	out->pic_bsp = vm_pic_bsp(vm);
	for (uint32_t i = 0; i < vm->nr_ioapics; i++) {
		out->ioapics[i].gsi_base = vm->ioapics[i].gsi_base;
		out->ioapics[i].sid = vm->ioapics[i].sid;
	}
	for (uint32_t n = 0; n < nr_gsis; n++) {
		const struct virq_vm_gsi *g = &vm->gsis[n];
		struct virq_vm_gsi_state *o = &gsis[n];

		virq_memset(o, 0, sizeof(*o));
		o->ioapic = g->route.ioapic;
		o->pin = g->route.pin;
		o->pic_irq = g->route.pic_irq;
		o->msi = g->route.msi ? 1U : 0U;
		o->msi_data = g->route.msi_data;
		o->msi_addr = g->route.msi_addr;
		o->msi_sid = g->route.msi_sid;
		o->sources = g->sources;
	}
	vm_unlock(vm);
	return 0;
}

/* A GSI entry as virq_vm_set_gsi_route() checks a route, msi 0 or 1. */
static bool gsi_state_ok(const struct virq_vm_gsi_state *g)
{
	if (g->reserved || g->msi > 1U)
		return false;
	if (g->ioapic != VIRQ_VM_NO_ROUTE &&
	    (g->ioapic >= VIRQ_VM_MAX_IOAPICS || g->pin >= VIRQ_IOAPIC_MAX_PINS))
		return false;
	return g->pic_irq == VIRQ_VM_NO_ROUTE || g->pic_irq <= 15U;
}

/* Does @st describe this VM's configuration and wiring? Reads only. */
static bool vm_state_fits(const struct virq_vm *vm, const struct virq_vm_state *st)
{
	if (st->nr_gsis != vm->cfg.nr_gsis || st->nr_vcpus != vm->cfg.nr_vcpus ||
	    st->msi_flags != vm->cfg.msi_flags || st->cfg_flags != vm_cfg_flags(vm))
		return false;
	if (st->nr_ioapics != vm->nr_ioapics || st->pic_bsp != vm_pic_bsp(vm))
		return false;
	for (uint32_t i = 0; i < vm->nr_ioapics; i++) {
		if (st->ioapics[i].gsi_base != vm->ioapics[i].gsi_base ||
		    st->ioapics[i].sid != vm->ioapics[i].sid)
			return false;
	}
	return true;
}

/* Reads only: 0 when @st and @gsis can be loaded into @vm as they are. */
static int vm_state_check(const struct virq_vm *vm, const struct virq_vm_state *st,
			  const struct virq_vm_gsi_state *gsis)
{
	struct virq_ir_config ir = { .size = sizeof(ir) };
	bool enabled;

	if (st->version != VIRQ_VM_STATE_VERSION || st->size != sizeof(*st) ||
	    st->gsi_size != sizeof(*gsis))
		return -VIRQ_EVERSION;
	if (st->reserved[0] || st->reserved[1] || (st->cfg_flags & ~CFG_FLAGS_VALID))
		return -VIRQ_ESTATE;
	if (st->nr_ioapics > VIRQ_VM_MAX_IOAPICS)
		return -VIRQ_ESTATE;
	for (uint32_t i = 0; i < VIRQ_VM_MAX_IOAPICS; i++) {
		const struct virq_vm_ioapic_wiring *w = &st->ioapics[i];

		if (w->reserved || (i >= st->nr_ioapics && (w->gsi_base || w->sid)))
			return -VIRQ_ESTATE;
	}
	if (!vm_state_fits(vm, st))
		return -VIRQ_ESTATE;

	/* Remapping as virq_vm_set_ir() checks it; all zero when off. */
	if (st->ir_flags & ~IR_FLAGS_VALID)
		return -VIRQ_ESTATE;
	enabled = (st->ir_flags & VIRQ_VM_STATE_IR_ENABLED) != 0;
	if (!enabled && (st->ir_flags || st->ir_table_entries))
		return -VIRQ_ESTATE;
	ir.table_entries = st->ir_table_entries;
	ir.eime = (st->ir_flags & VIRQ_VM_STATE_IR_EIME) != 0;
	ir.cfi = (st->ir_flags & VIRQ_VM_STATE_IR_CFI) != 0;
	ir.posting = (st->ir_flags & VIRQ_VM_STATE_IR_POSTING) != 0;
	if (!vm_ir_config_ok(vm->ops, enabled, &ir))
		return -VIRQ_ESTATE;

	for (uint32_t n = 0; n < st->nr_gsis; n++) {
		if (!gsi_state_ok(&gsis[n]))
			return -VIRQ_ESTATE;
	}
	return 0;
}

/*
 * Loads a checked state. Cannot fail. Under the lock. Lines are not driven:
 * the I/O APIC and PIC states restored before this one hold the pin levels,
 * IRR and Remote IRR (vm.h, the restore order).
 */
static void vm_state_load(struct virq_vm *vm, const struct virq_vm_state *st,
			  const struct virq_vm_gsi_state *gsis)
{
	struct virq_ir_config ir = { .size = sizeof(ir) };
	bool enabled = (st->ir_flags & VIRQ_VM_STATE_IR_ENABLED) != 0;

	for (uint32_t n = 0; n < st->nr_gsis; n++) {
		const struct virq_vm_gsi_state *s = &gsis[n];
		struct virq_vm_gsi *g = &vm->gsis[n];

		virq_memset(g, 0, sizeof(*g));
		g->route.ioapic = s->ioapic;
		g->route.pin = s->pin;
		g->route.pic_irq = s->pic_irq;
		g->route.msi = s->msi != 0;
		g->route.msi_addr = s->msi_addr;
		g->route.msi_data = s->msi_data;
		g->route.msi_sid = s->msi_sid;
		g->sources = s->sources;
	}
	ir.table_entries = st->ir_table_entries;
	ir.eime = (st->ir_flags & VIRQ_VM_STATE_IR_EIME) != 0;
	ir.cfi = (st->ir_flags & VIRQ_VM_STATE_IR_CFI) != 0;
	ir.posting = (st->ir_flags & VIRQ_VM_STATE_IR_POSTING) != 0;
	__atomic_store_n(&vm->ir_word, vm_ir_pack(enabled, &ir), __ATOMIC_RELAXED);
	__atomic_store_n(&vm->lowest_rr, st->lowest_rr, __ATOMIC_RELAXED);
	vm_map_rebuild(vm);
}

VIRQ_API int virq_vm_restore(struct virq_vm *vm, const struct virq_vm_state *st,
			     const struct virq_vm_gsi_state *gsis, uint32_t nr_gsis)
{
	int err;

	if (!vm || !st || (nr_gsis && !gsis) || nr_gsis != st->nr_gsis)
		return -VIRQ_EINVAL;
	vm_lock(vm);
	err = vm_state_check(vm, st, gsis); /* reads only */
	if (!err)
		vm_state_load(vm, st, gsis); /* cannot fail */
	vm_unlock(vm);
	return err;
}
