/* SPDX-License-Identifier: MIT */
/*
 * Save/restore of the VM's own state (virq_vm_save/virq_vm_restore): every
 * field round-trips, the map is rebuilt from the LAPICs, and each kind of
 * damage is refused with its exact code and the VM byte-identical.
 */
#include "harness.h"

#define ST_GSIS 40U

/* A VM of 4 xAPIC vCPUs (IDs 0-3), the I/O APIC at GSI 0 and the PIC on
 * vCPU 0; flat logical ID bit i for vCPU i. */
static struct vm_fixture *st_fixture(void)
{
	struct vm_fixture *fx = fx_new(4, 256, ST_GSIS);

	for (uint32_t i = 0; i < 4; i++) {
		fx_add_xapic(fx, i, i);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_LDR, 1U << (24 + i)); /* flat: bit i */
	}
	fx_attach_ioapic(fx);
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 0), 0);
	return fx;
}

/* Changes every saved field away from its init value. */
static void st_dirty(struct vm_fixture *fx)
{
	struct virq_gsi_route r;
	struct virq_ir_config ir = { .size = sizeof(struct virq_ir_config),
				     .table_entries = 64,
				     .eime = true,
				     .cfi = false,
				     .posting = true };

	/* GSI 30: an MSI route; GSI 31: an unattached I/O APIC 3 pin 119 and
	 * PIC input 9; GSI 5: the PC route, sources 0, 7 and 31 high. */
	memset(&r, 0, sizeof(r));
	r.ioapic = VIRQ_VM_NO_ROUTE;
	r.pic_irq = VIRQ_VM_NO_ROUTE;
	r.msi = true;
	r.msi_addr = 0xFEE01000ULL;
	r.msi_data = 0x4051;
	r.msi_sid = 0x1234;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 30, &r), 0);
	memset(&r, 0, sizeof(r));
	r.ioapic = 3;
	r.pin = 119;
	r.pic_irq = 9;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 31, &r), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 7, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 31, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 31, 2, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(virq_vm_set_ir(&fx->vm, true, &ir), 0);
	/* Lowest priority to all four (equal PPR): the cursor moves by 3. */
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(fx_send(fx, 0x0F, true, VIRQ_DM_LOWEST, 0x40), 1);
	fx_drain_all(fx);
}

/* Saves @fx into @st/@g and checks the call succeeded. */
static void st_save(struct vm_fixture *fx, struct virq_vm_state *st, struct virq_vm_gsi_state *g)
{
	memset(st, 0xA5, sizeof(*st));
	memset(g, 0xA5, sizeof(*g) * ST_GSIS);
	assert_int_equal(virq_vm_save(&fx->vm, st, g, ST_GSIS), 0);
}

static void test_round_trip(void **state)
{
	struct vm_fixture *a = st_fixture(), *b = st_fixture();
	struct virq_vm_state st, st2;
	struct virq_vm_gsi_state g[ST_GSIS], g2[ST_GSIS];

	(void)state;
	st_dirty(a);
	st_save(a, &st, g);

	/* Every header field, exactly. */
	assert_int_equal(st.version, VIRQ_VM_STATE_VERSION);
	assert_int_equal(st.size, sizeof(struct virq_vm_state));
	assert_int_equal(st.gsi_size, sizeof(struct virq_vm_gsi_state));
	assert_int_equal(st.nr_gsis, ST_GSIS);
	assert_int_equal(st.nr_vcpus, 4);
	assert_int_equal(st.msi_flags, 0);
	assert_int_equal(st.cfg_flags, 0);
	assert_int_equal(st.ir_flags, VIRQ_VM_STATE_IR_ENABLED | VIRQ_VM_STATE_IR_EIME |
					      VIRQ_VM_STATE_IR_POSTING);
	assert_int_equal(st.ir_table_entries, 64);
	assert_int_equal(st.lowest_rr, 3);
	assert_int_equal(st.nr_ioapics, 1);
	assert_int_equal(st.pic_bsp, 0);
	assert_int_equal(st.ioapics[0].gsi_base, 0);
	assert_int_equal(st.ioapics[0].sid, 0xF0F8);
	for (unsigned i = 1; i < VIRQ_VM_MAX_IOAPICS; i++) {
		assert_int_equal(st.ioapics[i].gsi_base, 0);
		assert_int_equal(st.ioapics[i].sid, 0);
		assert_int_equal(st.ioapics[i].reserved, 0);
	}
	assert_int_equal(st.reserved[0], 0);
	assert_int_equal(st.reserved[1], 0);
	/* The GSI entries. */
	assert_int_equal(g[30].ioapic, VIRQ_VM_NO_ROUTE);
	assert_int_equal(g[30].pic_irq, VIRQ_VM_NO_ROUTE);
	assert_int_equal(g[30].msi, 1);
	assert_int_equal(g[30].msi_addr, 0xFEE01000ULL);
	assert_int_equal(g[30].msi_data, 0x4051);
	assert_int_equal(g[30].msi_sid, 0x1234);
	assert_int_equal(g[31].ioapic, 3);
	assert_int_equal(g[31].pin, 119);
	assert_int_equal(g[31].pic_irq, 9);
	assert_int_equal(g[31].sources, 1U << 2);
	assert_int_equal(g[5].ioapic, 0);
	assert_int_equal(g[5].pin, 5);
	assert_int_equal(g[5].pic_irq, 5);
	assert_int_equal(g[5].sources, 0x80000081U);
	assert_int_equal(g[0].pin, 2);
	assert_int_equal(g[2].pic_irq, VIRQ_VM_NO_ROUTE);
	for (unsigned n = 0; n < ST_GSIS; n++) {
		assert_int_equal(g[n].reserved, 0);
		if (n != 5 && n != 31)
			assert_int_equal(g[n].sources, 0);
	}

	assert_int_equal(virq_vm_restore(&b->vm, &st, g, ST_GSIS), 0);
	/* The twin's table and remapping word are the original's, byte for byte. */
	assert_memory_equal(b->gsis, a->gsis, sizeof(struct virq_vm_gsi) * ST_GSIS);
	assert_int_equal(b->vm.ir_word, a->vm.ir_word);
	assert_int_equal(b->vm.lowest_rr, a->vm.lowest_rr);
	fx_check(b);
	st_save(b, &st2, g2);
	assert_memory_equal(&st2, &st, sizeof(st));
	assert_memory_equal(g2, g, sizeof(g));
	fx_free(a);
	fx_free(b);
}

/* The VM's bytes: the object and the storage it owns (GSIs, map, keys). */
struct vm_bytes {
	struct virq_vm vm;
	struct virq_vm_gsi gsis[ST_GSIS];
	uint32_t map[256];
	uint64_t map_key[4];
};

static void vm_bytes_take(struct vm_fixture *fx, struct vm_bytes *b)
{
	memset(b, 0, sizeof(*b));
	memcpy(&b->vm, &fx->vm, sizeof(b->vm));
	memcpy(b->gsis, fx->gsis, sizeof(b->gsis));
	memcpy(b->map, fx->map, sizeof(b->map));
	memcpy(b->map_key, fx->map_key, sizeof(b->map_key));
}

enum st_field {
	F_VERSION,
	F_SIZE,
	F_GSI_SIZE,
	F_RESERVED0,
	F_RESERVED1,
	F_CFG_UNKNOWN,
	F_CFG_HASHING,
	F_CFG_QUIRK,
	F_NR_VCPUS,
	F_NR_GSIS,
	F_MSI_FLAGS,
	F_NR_IOAPICS,
	F_NR_IOAPICS_9,
	F_IOAPIC_BASE,
	F_IOAPIC_SID,
	F_IOAPIC_RESERVED,
	F_IOAPIC_UNUSED,
	F_PIC_BSP,
	F_PIC_NONE,
	F_IR_UNKNOWN,
	F_IR_ENTRIES_0,
	F_IR_ENTRIES_BIG,
	F_IR_OFF_ENTRIES,
	F_IR_OFF_EIME,
	F_GSI_RESERVED,
	F_GSI_MSI_2,
	F_GSI_IOAPIC_8,
	F_GSI_PIN_120,
	F_GSI_PIC_16,
	F_GSI_PIC_FE,
	F_COUNT
};

/* Damages field @f of a valid state; returns the code restore must give. */
static int st_damage(enum st_field f, struct virq_vm_state *st, struct virq_vm_gsi_state *g)
{
	struct virq_vm_gsi_state *last = &g[ST_GSIS - 1U];

	switch (f) {
	case F_VERSION:
		st->version = VIRQ_VM_STATE_VERSION + 1U;
		return -VIRQ_EVERSION;
	case F_SIZE:
		st->size--;
		return -VIRQ_EVERSION;
	case F_GSI_SIZE:
		st->gsi_size++;
		return -VIRQ_EVERSION;
	case F_RESERVED0:
		st->reserved[0] = 1;
		break;
	case F_RESERVED1:
		st->reserved[1] = 0x80000000U;
		break;
	case F_CFG_UNKNOWN:
		st->cfg_flags |= 1U << 2;
		break;
	case F_CFG_HASHING:
		st->cfg_flags |= VIRQ_VM_STATE_CFG_VECTOR_HASHING;
		break;
	case F_CFG_QUIRK:
		st->cfg_flags |= VIRQ_VM_STATE_CFG_X2APIC_BCAST_QUIRK;
		break;
	case F_NR_VCPUS:
		st->nr_vcpus = 5;
		break;
	case F_NR_GSIS: /* the array still has ST_GSIS entries: a VM of another size */
		st->nr_gsis = ST_GSIS - 1U;
		return -VIRQ_EINVAL;
	case F_MSI_FLAGS:
		st->msi_flags = VIRQ_MSI_EXT_DEST;
		break;
	case F_NR_IOAPICS:
		st->nr_ioapics = 2;
		break;
	case F_NR_IOAPICS_9:
		st->nr_ioapics = VIRQ_VM_MAX_IOAPICS + 1U;
		break;
	case F_IOAPIC_BASE:
		st->ioapics[0].gsi_base = 24;
		break;
	case F_IOAPIC_SID:
		st->ioapics[0].sid ^= 1U;
		break;
	case F_IOAPIC_RESERVED:
		st->ioapics[0].reserved = 1;
		break;
	case F_IOAPIC_UNUSED:
		st->ioapics[VIRQ_VM_MAX_IOAPICS - 1U].sid = 1;
		break;
	case F_PIC_BSP:
		st->pic_bsp = 1;
		break;
	case F_PIC_NONE:
		st->pic_bsp = VIRQ_VM_NO_VCPU;
		break;
	case F_IR_UNKNOWN:
		st->ir_flags |= 1U << 4;
		break;
	case F_IR_ENTRIES_0:
		st->ir_table_entries = 0;
		break;
	case F_IR_ENTRIES_BIG:
		st->ir_table_entries = 65537;
		break;
	case F_IR_OFF_ENTRIES:
		st->ir_flags = 0;
		break; /* entries stay 64 */
	case F_IR_OFF_EIME:
		st->ir_flags = VIRQ_VM_STATE_IR_EIME;
		st->ir_table_entries = 0;
		break;
	case F_GSI_RESERVED:
		last->reserved = 1;
		break;
	case F_GSI_MSI_2:
		last->msi = 2;
		break;
	case F_GSI_IOAPIC_8:
		last->ioapic = VIRQ_VM_MAX_IOAPICS;
		break;
	case F_GSI_PIN_120:
		last->ioapic = 0;
		last->pin = VIRQ_IOAPIC_MAX_PINS;
		break;
	case F_GSI_PIC_16:
		last->pic_irq = 16;
		break;
	case F_GSI_PIC_FE:
		last->pic_irq = 0xFE;
		break;
	default:
		fail();
	}
	return -VIRQ_ESTATE;
}

/* Each kind of damage: the exact code, and the VM byte-identical after. */
static void test_damage_refused(void **state)
{
	struct vm_fixture *a = st_fixture(), *b = st_fixture();
	struct virq_vm_state good, st;
	struct virq_vm_gsi_state gg[ST_GSIS], g[ST_GSIS];
	struct vm_bytes before, after;

	(void)state;
	st_dirty(a);
	st_save(a, &good, gg);
	/* b carries its own history, so "unchanged" is not "as at init". */
	assert_int_equal(virq_vm_set_irq(&b->vm, 9, 4, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(fx_send(b, 0x0F, true, VIRQ_DM_LOWEST, 0x41), 1);
	fx_drain_all(b);
	vm_bytes_take(b, &before);
	for (int f = 0; f < F_COUNT; f++) {
		int want;

		memcpy(&st, &good, sizeof(st));
		memcpy(g, gg, sizeof(g));
		want = st_damage((enum st_field)f, &st, g);
		print_message("damaged field %d\n", f);
		assert_int_equal(virq_vm_restore(&b->vm, &st, g, ST_GSIS), want);
		vm_bytes_take(b, &after);
		assert_memory_equal(&after, &before, sizeof(before));
	}
	/* The undamaged state is accepted afterwards (the damage was the reason). */
	assert_int_equal(virq_vm_restore(&b->vm, &good, gg, ST_GSIS), 0);
	assert_int_equal(b->gsis[9].sources, 0);
	assert_int_equal(b->vm.lowest_rr, 3);
	fx_free(a);
	fx_free(b);
}

/* Argument errors: -VIRQ_EINVAL, nothing written or changed. */
static void test_bad_arguments(void **state)
{
	struct vm_fixture *a = st_fixture();
	struct virq_vm_state st, st2;
	struct virq_vm_gsi_state g[ST_GSIS], g2[ST_GSIS];
	struct vm_bytes before, after;

	(void)state;
	st_save(a, &st, g);
	memset(&st2, 0x5A, sizeof(st2));
	memset(g2, 0x5A, sizeof(g2));
	assert_int_equal(virq_vm_save(NULL, &st2, g2, ST_GSIS), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_save(&a->vm, NULL, g2, ST_GSIS), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_save(&a->vm, &st2, NULL, ST_GSIS), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_save(&a->vm, &st2, g2, ST_GSIS - 1U), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_save(&a->vm, &st2, g2, ST_GSIS + 1U), -VIRQ_EINVAL);
	for (size_t k = 0; k < sizeof(st2); k++)
		assert_int_equal(((const uint8_t *)&st2)[k], 0x5A);
	for (size_t k = 0; k < sizeof(g2); k++)
		assert_int_equal(((const uint8_t *)g2)[k], 0x5A);

	vm_bytes_take(a, &before);
	assert_int_equal(virq_vm_restore(NULL, &st, g, ST_GSIS), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_restore(&a->vm, NULL, g, ST_GSIS), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_restore(&a->vm, &st, NULL, ST_GSIS), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_restore(&a->vm, &st, g, ST_GSIS - 1U), -VIRQ_EINVAL);
	/* A state and array of 39 GSIs for this VM of 40: it does not fit. */
	st.nr_gsis = ST_GSIS - 1U;
	assert_int_equal(virq_vm_restore(&a->vm, &st, g, ST_GSIS - 1U), -VIRQ_ESTATE);
	vm_bytes_take(a, &after);
	assert_memory_equal(&after, &before, sizeof(before));
	fx_free(a);
}

/* The largest valid values of each checked field are accepted and loaded. */
static void test_limits_accepted(void **state)
{
	struct vm_fixture *a = st_fixture();
	struct virq_vm_state st, st2;
	struct virq_vm_gsi_state g[ST_GSIS], g2[ST_GSIS];

	(void)state;
	st_save(a, &st, g);
	st.ir_flags = VIRQ_VM_STATE_IR_ENABLED | VIRQ_VM_STATE_IR_CFI;
	st.ir_table_entries = 65536;
	st.lowest_rr = 0xFFFFFFFFU;
	g[ST_GSIS - 1U].ioapic = VIRQ_VM_MAX_IOAPICS - 1U;
	g[ST_GSIS - 1U].pin = VIRQ_IOAPIC_MAX_PINS - 1U;
	g[ST_GSIS - 1U].pic_irq = 15;
	g[ST_GSIS - 1U].msi = 1;
	g[ST_GSIS - 1U].sources = 0xFFFFFFFFU;
	/* Without msi the MSI fields are kept as given (set_gsi_route keeps them). */
	g[ST_GSIS - 2U].msi_addr = 0x123456789ULL;
	assert_int_equal(virq_vm_restore(&a->vm, &st, g, ST_GSIS), 0);
	assert_int_equal(a->vm.ir_word, VM_IR_ENABLED | VM_IR_CFI | 65536U);
	assert_int_equal(a->gsis[ST_GSIS - 1U].route.pin, VIRQ_IOAPIC_MAX_PINS - 1U);
	assert_true(a->gsis[ST_GSIS - 1U].route.msi);
	assert_int_equal(a->gsis[ST_GSIS - 1U].sources, 0xFFFFFFFFU);
	/* Restoring drove nothing: I/O APIC pin 119 does not exist, PIC IRQ 15
	 * and the MSI saw no edge. */
	assert_int_equal(a->n_lost, 0);
	assert_int_equal(virq_pic_get_intr(&a->pic), false);
	st_save(a, &st2, g2);
	assert_memory_equal(&st2, &st, sizeof(st));
	assert_memory_equal(g2, g, sizeof(g));
	fx_check(a);
	fx_free(a);
}

/* Remapping on in a state for a VM without ops->read_irte: it does not fit. */
static void test_ir_without_read_irte(void **state)
{
	struct vm_fixture *a = st_fixture();
	struct virq_vm_ops ops = fx_vm_ops;
	struct virq_vm vm;
	struct virq_vm_state st;
	struct virq_vm_gsi_state g[ST_GSIS];
	struct virq_vm_gsi gsis[ST_GSIS];
	uint64_t keys[4];
	uint32_t map[256];
	struct virq_vm copy;

	(void)state;
	ops.read_irte = NULL;
	assert_int_equal(virq_vm_init(&vm, &a->cfg, a->vcpus, map, keys, gsis, &ops, a), 0);
	assert_int_equal(virq_vm_save(&vm, &st, g, ST_GSIS), 0);
	assert_int_equal(st.nr_ioapics, 0);
	assert_int_equal(st.pic_bsp, VIRQ_VM_NO_VCPU);
	st.ir_flags = VIRQ_VM_STATE_IR_ENABLED;
	st.ir_table_entries = 64;
	memcpy(&copy, &vm, sizeof(vm));
	assert_int_equal(virq_vm_restore(&vm, &st, g, ST_GSIS), -VIRQ_ESTATE);
	assert_memory_equal(&copy, &vm, sizeof(vm));
	st.ir_flags = 0;
	st.ir_table_entries = 0;
	assert_int_equal(virq_vm_restore(&vm, &st, g, ST_GSIS), 0);
	fx_free(a);
}

/*
 * The map follows the restored LAPICs even when nobody told the VM: a
 * LAPIC restore reports its new ID through dest_changed, but here the
 * twin's hook for vCPU 2 re-keys vCPU 3 instead (an embedder that wires
 * the hooks late), so until the VM restore the map still has vCPU 2 at
 * ID 2; virq_vm_restore() rebuilds it from the LAPICs.
 */
static void test_map_rebuilt(void **state)
{
	struct vm_fixture *a = st_fixture(), *b = st_fixture();
	struct virq_lapic_state ls;
	struct virq_vm_state st;
	struct virq_vm_gsi_state g[ST_GSIS];

	(void)state;
	fx_mmio_w(a, 2, VIRQ_LAPIC_REG_ID, 9U << 24);
	assert_int_equal(fx_send(a, 9, false, VIRQ_DM_FIXED, 0x50), 1);
	assert_true(fx_irr(a, 2, 0x50));
	fx_drain_all(a);
	assert_int_equal(virq_lapic_save(fx_apic(a, 2), &ls), 0);
	st_save(a, &st, g);

	b->env[2].index = 3;
	assert_int_equal(virq_lapic_restore(fx_apic(b, 2), &ls), 0);
	assert_int_equal(fx_send(b, 9, false, VIRQ_DM_FIXED, 0x51), 0); /* stale map */
	assert_int_equal(b->n_lost, 1);
	assert_int_equal(b->map[2], 2);
	assert_int_equal(virq_vm_restore(&b->vm, &st, g, ST_GSIS), 0);
	b->env[2].index = 2;
	fx_check(b);
	assert_int_equal(b->map[9], 2);
	assert_int_equal(b->map[2], VIRQ_VM_NO_VCPU);
	assert_int_equal(fx_send(b, 9, false, VIRQ_DM_FIXED, 0x52), 1);
	assert_true(fx_irr(b, 2, 0x52));
	assert_int_equal(fx_send(b, 2, false, VIRQ_DM_FIXED, 0x53), 0);
	fx_free(a);
	fx_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),           cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_bad_arguments),        cmocka_unit_test(test_limits_accepted),
		cmocka_unit_test(test_ir_without_read_irte), cmocka_unit_test(test_map_rebuilt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
