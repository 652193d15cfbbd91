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
	struct virq_ir_config ir = {
		.table_entries = 64, .eime = true, .cfi = false, .posting = true
	};

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
