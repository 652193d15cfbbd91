/* SPDX-License-Identifier: MIT */
/*
 * The GSI router (wired-OR lines, PC layout, MSI routes), the wiring of the
 * I/O APICs and the PIC pair, EOI broadcast and the locked wrappers
 * (SDM 10.11 "Message Signalled Interrupts" for the messages an I/O APIC
 * entry sends; MultiProcessor Specification 1.4, 3.6.2, for the virtual
 * wire; the ACPI MADT interrupt source overrides for the PC layout).
 */
#include "vm_priv.h"

/* ---- wiring: the controllers' callbacks ---- */

static unsigned vm_ioapic_deliver(void *ctx, unsigned pin, uint64_t addr, uint32_t data)
{
	const struct virq_vm_ioapic *vi = ctx;

	/* Called with the lock held; delivery itself is lock-free. */
	if (vi->vm->ops->ioapic_msg)
		vi->vm->ops->ioapic_msg(vi->vm->ctx, vi->index, pin, addr, data);
	if (vi->vm->ops->deliver_msi)
		return vi->vm->ops->deliver_msi(vi->vm->ctx, addr, data, vi->sid,
						vi->gsi_base + pin);
	return virq_vm_send_msi(vi->vm, addr, data, vi->sid);
}

/* Entry bits 55:49: destination bits 14:8 with VIRQ_MSI_EXT_DEST (the
 * extended destination ID in address bits 11:5). */
#define VM_RTE_EXT_DEST_ID (0x7FULL << (VIRQ_IOAPIC_RTE_EXT_DEST_SHIFT + 1))
/* Entry bits that take a message off the fixed physical path: another
 * delivery mode, logical destination, remappable format. */
#define VM_RTE_NOT_PHYS_FIXED                                                                      \
	(VIRQ_IOAPIC_RTE_DM_MASK | VIRQ_IOAPIC_RTE_DEST_LOGICAL | VIRQ_IOAPIC_RTE_REMAPPABLE)

/*
 * Fixed delivery to physical destination @dest (8 bits: an entry without
 * extended destination bits) from a message without a sender (I/O APIC
 * entry): what virq_vm_deliver() does for it when the map names one vCPU,
 * without the candidate list. True when the vector was posted to that
 * vCPU. False, nothing posted, when the general path must decide instead:
 * @dest is 0xFF (the xAPIC broadcast and the x2APIC broadcast quirk), the
 * slot is past the map, empty or shared, a map writer overlapped the
 * read, or the vCPU the map names did not take the vector (the general
 * path then finds the same and reports the lost message). A destination
 * of 8 bits has no xAPIC alias of its low byte to look up besides.
 *
 * The map slot is read in one map_seq snapshot as vm_resolve() reads it
 * (vm_priv.h), so the vCPU found is the one dests_from_map() would list
 * alone; virq_lapic_post_phys() (the LAPIC's own ID, which has the final
 * word while the map is stale, and its acceptance) then decides as
 * virq_lapic_match_dest() and virq_lapic_accepts_fixed() do in
 * deliver_fixed().
 */
static inline bool vm_post_phys_fixed(const struct virq_vm *vm, uint8_t dest, uint8_t vector,
				      bool trigger_level)
{
	struct virq_lapic *l;
	uint32_t s1, i;

	if (dest == 0xFFU || dest >= vm->cfg.map_entries)
		return false;
	s1 = __atomic_load_n(&vm->map_seq, __ATOMIC_ACQUIRE);
	i = vm_load32(&vm->map[dest]);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	/* Odd: a writer was active. */
	if ((s1 & 1U) || vm_load32(&vm->map_seq) != s1 || i >= vm->cfg.nr_vcpus)
		return false; /* also VM_SLOT_SHARED and VIRQ_VM_NO_VCPU */
	l = vm_vcpu(vm, i);
	return l && virq_lapic_post_phys(l, dest, vector, trigger_level);
}

/* vm_ioapic_deliver_entry() past the fixed physical path: the message
 * decoded from the entry (@direct), or the entry's MSI write. Apart, so
 * that the fixed physical path saves no registers for it. */
static VIRQ_NOINLINE unsigned vm_ioapic_deliver_msg(void *ctx, unsigned pin, uint64_t rte,
						    bool direct)
{
	const struct virq_vm_ioapic *vi = ctx;
	struct virq_apic_msg msg;
	uint64_t addr;
	uint32_t data;

	if (direct && virq_ioapic_rte_to_msg(rte, vi->vm->cfg.msi_flags, &msg) == 0)
		return virq_vm_deliver(vi->vm, &msg);
	virq_ioapic_rte_to_msi(rte, &addr, &data);
	return vm_ioapic_deliver(ctx, pin, addr, data);
}

/*
 * The same delivery as vm_ioapic_deliver() of the entry's MSI write, with
 * the message taken straight from the entry when that gives the identical
 * result: no ioapic_msg or deliver_msi hook wants the MSI form, interrupt
 * remapping is off (with it on, a compatibility-format write is subject to
 * CFI and EIME) and the entry is in compatibility format. A fixed physical
 * entry whose destination is bits 63:56 alone (no extended ID bits in
 * use) goes to the vCPU the map names, without building the message.
 */
static unsigned vm_ioapic_deliver_entry(void *ctx, unsigned pin, uint64_t rte)
{
	const struct virq_vm_ioapic *vi = ctx;
	const struct virq_vm *vm = vi->vm;
	const struct virq_vm_ops *ops = vm->ops;

	if (ops->ioapic_msg || ops->deliver_msi ||
	    (__atomic_load_n(&vm->ir_word, __ATOMIC_RELAXED) & VM_IR_ENABLED))
		return vm_ioapic_deliver_msg(ctx, pin, rte, false);
	if (!(rte & VM_RTE_NOT_PHYS_FIXED) &&
	    (!(rte & VM_RTE_EXT_DEST_ID) || !(vm->cfg.msi_flags & VIRQ_MSI_EXT_DEST)) &&
	    vm_post_phys_fixed(vm, (uint8_t)(rte >> VIRQ_IOAPIC_RTE_DEST_SHIFT),
			       (uint8_t)(rte & VIRQ_IOAPIC_RTE_VECTOR_MASK),
			       (rte & VIRQ_IOAPIC_RTE_LEVEL) != 0))
		return 1;
	return vm_ioapic_deliver_msg(ctx, pin, rte, true);
}

static void vm_ioapic_storm(void *ctx, unsigned pin)
{
	const struct virq_vm_ioapic *vi = ctx;

	if (vi->vm->ops->storm)
		vi->vm->ops->storm(vi->vm->ctx, vi->index, pin);
}

static const struct virq_ioapic_ops vm_ioapic_ops = {
	.size = sizeof(struct virq_ioapic_ops),
	.deliver = vm_ioapic_deliver,
	.storm = vm_ioapic_storm,
	.deliver_entry = vm_ioapic_deliver_entry,
};

/* The master INT output: LINT0 of the BSP and pin 0 of I/O APIC 0 (virtual
 * wire through the LAPIC or the I/O APIC: MP Specification 1.4, 3.6.2). */
static void vm_pic_intr(void *ctx, bool level)
{
	struct virq_vm *vm = ctx;
	struct virq_lapic *l = vm_vcpu(vm, vm->bsp);

	if (l)
		virq_lapic_set_lint(l, 0, level);
	else if (vm->ops->pic_intr)
		vm->ops->pic_intr(vm->ctx, level);
	if (vm->nr_ioapics)
		virq_ioapic_set_pin(vm->ioapics[0].ioapic, 0, level);
}

static const struct virq_pic_ops vm_pic_ops = {
	.size = sizeof(struct virq_pic_ops),
	.intr = vm_pic_intr,
};

/* ---- GSI lines ---- */

/* Presents @level to the pin and PIC input of @route (not the MSI). */
static void route_drive(struct virq_vm *vm, const struct virq_gsi_route *route, bool level)
{
	if (route->ioapic < vm->nr_ioapics)
		(void)virq_ioapic_set_pin(vm->ioapics[route->ioapic].ioapic, route->pin, level);
	if (vm->pic && route->pic_irq < 16U)
		(void)virq_pic_set_irq(vm->pic, route->pic_irq, level);
}

/* The wired-OR line of @g changed to @level: pin, PIC input, MSI. Locked. */
static void route_drive_line(struct virq_vm *vm, const struct virq_vm_gsi *g, bool level)
{
	route_drive(vm, &g->route, level);
	/* An MSI route is edge-like: one message per rising edge. */
	if (level && g->route.msi)
		(void)virq_vm_send_msi(vm, g->route.msi_addr, g->route.msi_data, g->route.msi_sid);
}

/* New wired-OR source set of @g; propagates a change of the line. Locked. */
static void gsi_set_sources(struct virq_vm *vm, struct virq_vm_gsi *g, uint32_t sources)
{
	bool old = g->sources != 0, level = sources != 0;

	g->sources = sources;
	if (old != level)
		route_drive_line(vm, g, level);
}

static void route_none(struct virq_gsi_route *r)
{
	virq_memset(r, 0, sizeof(*r));
	r->ioapic = VIRQ_VM_NO_ROUTE;
	r->pic_irq = VIRQ_VM_NO_ROUTE;
}

/*
 * PC layout (ACPI MADT, as QEMU and KVM build it): ISA IRQ n -> PIC input n and I/O
 * APIC 0 pin n, except IRQ 0 -> pin 2 (the MADT interrupt source override
 * QEMU hard-codes); IRQ 2 is the cascade (no PIC input); pin 0 is the PIC's
 * INT (vm_pic_intr); GSI 16-23 are the PCI lines on pins 16-23.
 */
void vm_gsi_init(struct virq_vm *vm)
{
	for (uint32_t n = 0; n < vm->cfg.nr_gsis; n++) {
		struct virq_vm_gsi *g = &vm->gsis[n];

		virq_memset(g, 0, sizeof(*g));
		route_none(&g->route);
		if (n >= VIRQ_IOAPIC_DEFAULT_PINS)
			continue;
		g->route.ioapic = 0;
		g->route.pin = (uint8_t)(n == 0 ? 2U : n);
		if (n < 16U && n != 2U)
			g->route.pic_irq = (uint8_t)n;
	}
}

/* A raising or falling pulse of @bit on @g: two levels. */
static VIRQ_NOINLINE void gsi_pulse(struct virq_vm *vm, struct virq_vm_gsi *g, uint32_t bit,
				    enum virq_irq_op op)
{
	vm_lock(vm);
	if (op == VIRQ_IRQ_RAISING_PULSE) {
		gsi_set_sources(vm, g, g->sources | bit);
		gsi_set_sources(vm, g, g->sources & ~bit);
	} else {
		gsi_set_sources(vm, g, g->sources & ~bit);
		gsi_set_sources(vm, g, g->sources | bit);
	}
	vm_unlock(vm);
}

VIRQ_API int virq_vm_set_irq(struct virq_vm *vm, uint32_t gsi, unsigned source, enum virq_irq_op op)
{
	struct virq_vm_gsi *g;
	uint32_t bit, old, now;

	/* Embedder values: range-check before anything (CVE-2017-1000252). */
	if (!vm || gsi >= vm->cfg.nr_gsis || source >= VIRQ_VM_GSI_SOURCES ||
	    (unsigned)op > (unsigned)VIRQ_IRQ_FALLING_PULSE)
		return -VIRQ_EINVAL;
	g = &vm->gsis[gsi];
	bit = 1U << source;
	if (op > VIRQ_IRQ_HIGH) {
		gsi_pulse(vm, g, bit, op);
		return 0;
	}
	/* One level: the common case, the wired-OR inline. */
	vm_lock(vm);
	old = g->sources;
	now = op == VIRQ_IRQ_HIGH ? old | bit : old & ~bit;
	g->sources = now;
	if (!old != !now)
		route_drive_line(vm, g, now != 0);
	vm_unlock(vm);
	return 0;
}

VIRQ_API int virq_vm_set_gsi_route(struct virq_vm *vm, uint32_t gsi,
				   const struct virq_gsi_route *route)
{
	struct virq_vm_gsi *g;

	if (!vm || !route || gsi >= vm->cfg.nr_gsis || route->reserved)
		return -VIRQ_EINVAL;
	if (route->ioapic != VIRQ_VM_NO_ROUTE &&
	    (route->ioapic >= VIRQ_VM_MAX_IOAPICS || route->pin >= VIRQ_IOAPIC_MAX_PINS))
		return -VIRQ_EINVAL;
	if (route->pic_irq != VIRQ_VM_NO_ROUTE && route->pic_irq > 15U)
		return -VIRQ_EINVAL;
	g = &vm->gsis[gsi];

	vm_lock(vm);
	if (g->sources)
		route_drive(vm, &g->route, false);
	g->route = *route;
	if (g->sources)
		route_drive(vm, &g->route, true);
	vm_unlock(vm);
	return 0;
}

/* ---- attaching controllers ---- */

VIRQ_API int virq_vm_attach_ioapic(struct virq_vm *vm, struct virq_ioapic *ioapic,
				   const struct virq_ioapic_config *cfg, uint32_t gsi_base,
				   uint16_t sid)
{
	struct virq_vm_ioapic *vi;
	uint32_t pins, idx;
	int err;

	if (!vm || !ioapic || !cfg)
		return -VIRQ_EINVAL;
	/* Before reading any field: nothing past cfg->size is the caller's. */
	if (!VIRQ_SIZE_ACCEPTED(cfg->size, VIRQ_IOAPIC_CONFIG_SIZE_MIN, struct virq_ioapic_config))
		return -VIRQ_EVERSION;
	pins = cfg->pins ? cfg->pins : VIRQ_IOAPIC_DEFAULT_PINS;
	if (gsi_base > 0xFFFFFFFFU - pins)
		return -VIRQ_EINVAL;

	vm_lock(vm);
	idx = vm->nr_ioapics;
	if (idx >= VIRQ_VM_MAX_IOAPICS) {
		vm_unlock(vm);
		return -VIRQ_ENOTSUP;
	}
	vi = &vm->ioapics[idx];
	err = virq_ioapic_init(ioapic, cfg, &vm_ioapic_ops, vi);
	if (err) {
		vm_unlock(vm);
		return err;
	}
	vi->vm = vm;
	vi->ioapic = ioapic;
	vi->gsi_base = gsi_base;
	vi->sid = sid;
	vi->index = (uint8_t)idx;
	vm->nr_ioapics = idx + 1U;

	for (uint32_t p = 0; p < pins && gsi_base + p < vm->cfg.nr_gsis; p++) {
		struct virq_vm_gsi *g = &vm->gsis[gsi_base + p];

		if (g->route.ioapic == VIRQ_VM_NO_ROUTE) {
			g->route.ioapic = (uint8_t)idx;
			g->route.pin = (uint8_t)p;
		}
	}
	/* Lines already high (devices started first) reach the new pins. */
	for (uint32_t n = 0; n < vm->cfg.nr_gsis; n++) {
		const struct virq_vm_gsi *g = &vm->gsis[n];

		if (g->sources && g->route.ioapic == idx)
			(void)virq_ioapic_set_pin(ioapic, g->route.pin, true);
	}
	if (idx == 0 && vm->pic && virq_pic_get_intr(vm->pic))
		(void)virq_ioapic_set_pin(ioapic, 0, true);
	vm_unlock(vm);
	return (int)idx;
}

VIRQ_API int virq_vm_attach_pic(struct virq_vm *vm, struct virq_pic *pic, uint32_t bsp)
{
	int err;

	if (!vm || !pic || bsp >= vm->cfg.nr_vcpus)
		return -VIRQ_EINVAL;
	vm_lock(vm);
	if (vm->pic) {
		vm_unlock(vm);
		return -VIRQ_EINVAL;
	}
	err = virq_pic_init(pic, &vm_pic_ops, vm);
	if (!err) {
		vm->bsp = bsp;
		vm->pic = pic;
		for (uint32_t n = 0; n < vm->cfg.nr_gsis; n++) {
			const struct virq_vm_gsi *g = &vm->gsis[n];

			if (g->sources && g->route.pic_irq < 16U)
				(void)virq_pic_set_irq(pic, g->route.pic_irq, true);
		}
	}
	vm_unlock(vm);
	return err;
}

/* ---- EOI broadcast and locked wrappers ---- */

VIRQ_API void virq_vm_eoi(struct virq_vm *vm, uint8_t vector)
{
	if (!vm)
		return;
	vm_lock(vm);
	/* virq_ioapic_eoi() returns at once when no level entry has the vector. */
	for (uint32_t i = 0; i < vm->nr_ioapics; i++)
		virq_ioapic_eoi(vm->ioapics[i].ioapic, vector);
	vm_unlock(vm);
}

VIRQ_API int virq_vm_ioapic_read(struct virq_vm *vm, unsigned ioapic, uint32_t offset,
				 unsigned size, uint64_t *val)
{
	int err;

	if (!vm)
		return -VIRQ_EINVAL;
	vm_lock(vm);
	if (ioapic < vm->nr_ioapics)
		err = virq_ioapic_mmio_read(vm->ioapics[ioapic].ioapic, offset, size, val);
	else
		err = -VIRQ_EINVAL;
	vm_unlock(vm);
	return err;
}

VIRQ_API int virq_vm_ioapic_write(struct virq_vm *vm, unsigned ioapic, uint32_t offset,
				  unsigned size, uint64_t val)
{
	int err;

	if (!vm)
		return -VIRQ_EINVAL;
	vm_lock(vm);
	if (ioapic < vm->nr_ioapics)
		err = virq_ioapic_mmio_write(vm->ioapics[ioapic].ioapic, offset, size, val);
	else
		err = -VIRQ_EINVAL;
	vm_unlock(vm);
	return err;
}

VIRQ_API int virq_vm_ioapic_service(struct virq_vm *vm, unsigned ioapic, unsigned pin)
{
	int err;

	if (!vm)
		return -VIRQ_EINVAL;
	vm_lock(vm);
	if (ioapic < vm->nr_ioapics)
		err = virq_ioapic_service(vm->ioapics[ioapic].ioapic, pin);
	else
		err = -VIRQ_EINVAL;
	vm_unlock(vm);
	return err;
}

VIRQ_API int virq_vm_pic_read(struct virq_vm *vm, uint16_t port, uint8_t *val)
{
	int err;

	if (!vm)
		return -VIRQ_EINVAL;
	vm_lock(vm);
	err = vm->pic ? virq_pic_io_read(vm->pic, port, val) : -VIRQ_ENOENT;
	vm_unlock(vm);
	return err;
}

VIRQ_API int virq_vm_pic_write(struct virq_vm *vm, uint16_t port, uint8_t val)
{
	int err;

	if (!vm)
		return -VIRQ_EINVAL;
	vm_lock(vm);
	err = vm->pic ? virq_pic_io_write(vm->pic, port, val) : -VIRQ_ENOENT;
	vm_unlock(vm);
	return err;
}

VIRQ_API uint8_t virq_vm_pic_intack(struct virq_vm *vm)
{
	uint8_t v = 0xFFU;

	if (!vm)
		return v;
	vm_lock(vm);
	if (vm->pic)
		v = virq_pic_intack(vm->pic);
	vm_unlock(vm);
	return v;
}

VIRQ_API int virq_vm_pic_take(struct virq_vm *vm)
{
	int v = -1;

	if (!vm)
		return v;
	vm_lock(vm);
	if (vm->pic && virq_pic_get_intr(vm->pic))
		v = virq_pic_intack(vm->pic);
	vm_unlock(vm);
	return v;
}

VIRQ_API bool virq_vm_pic_asserted(struct virq_vm *vm)
{
	bool on;

	if (!vm)
		return false;
	vm_lock(vm);
	on = vm->pic && virq_pic_get_intr(vm->pic);
	vm_unlock(vm);
	return on;
}
