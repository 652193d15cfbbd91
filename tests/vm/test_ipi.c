/* SPDX-License-Identifier: MIT */
/*
 * IPIs between LAPICs through the ICR: each LAPIC's send_ipi hook goes to
 * virq_vm_send_ipi(). Fixed, NMI, INIT + SIPI with MP states, broadcast,
 * shorthands, logical, x2APIC.
 */
#include "harness.h"

static void icr_xapic(struct vm_fixture *fx, uint32_t from, uint8_t dest, uint32_t lo)
{
	fx_mmio_w(fx, from, VIRQ_LAPIC_REG_ICR_HI, (uint32_t)dest << 24);
	fx_mmio_w(fx, from, VIRQ_LAPIC_REG_ICR_LO, lo);
}

static void icr_x2apic(struct vm_fixture *fx, uint32_t from, uint32_t dest, uint32_t lo)
{
	assert_int_equal(
		virq_lapic_msr_write(fx_apic(fx, from), 0x830, ((uint64_t)dest << 32) | lo), 0);
}

#define ICR_DM(m) ((uint32_t)(m) << 8)
#define ICR_LOGICAL (1U << 11)
#define ICR_ASSERT (1U << 14)
#define ICR_SH(s) ((uint32_t)(s) << 18)

static void test_fixed_ipi(void **state)
{
	struct vm_fixture *fx = fx_new(3, 256, 0);

	(void)state;
	for (uint32_t i = 0; i < 3; i++)
		fx_add_xapic(fx, i, i);
	icr_xapic(fx, 0, 2, 0x61 | ICR_ASSERT);
	assert_int_equal(fx_who(fx, 0x61), 0x4);
	assert_int_equal(virq_lapic_ack(fx_apic(fx, 2)), 0x61);
	/* Edge IPI: TMR clear. */
	assert_false(fx_tmr(fx, 2, 0x61));
	virq_lapic_eoi(fx_apic(fx, 2));
	/* To nobody: dropped by the router and reported lost. */
	icr_xapic(fx, 0, 7, 0x61 | ICR_ASSERT);
	assert_int_equal(fx->n_lost, 1);
	assert_int_equal(fx->last_lost.src, 0);
	fx_free(fx);
}

static void test_nmi_ipi(void **state)
{
	struct vm_fixture *fx = fx_new(2, 256, 0);
	struct virq_lapic_events ev;

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	icr_xapic(fx, 1, 0, ICR_DM(VIRQ_DM_NMI) | ICR_ASSERT);
	assert_int_equal(virq_lapic_take_events(fx_apic(fx, 0), &ev), VIRQ_LAPIC_EV_NMI);
	fx_free(fx);
}

static void test_init_sipi(void **state)
{
	struct vm_fixture *fx = fx_new(3, 256, 0);
	struct virq_lapic_events ev;

	(void)state;
	for (uint32_t i = 0; i < 3; i++)
		fx_add_xapic(fx, i, i);
	assert_int_equal(virq_lapic_get_mp_state(fx_apic(fx, 1)), VIRQ_LAPIC_MP_WAIT_SIPI);
	/* The BSP starts the APs: INIT, then SIPI twice (all excluding self). */
	icr_xapic(fx, 0, 0, ICR_DM(VIRQ_DM_INIT) | ICR_ASSERT | ICR_SH(VIRQ_SH_ALL_EXCL_SELF));
	for (uint32_t i = 1; i < 3; i++) {
		assert_int_equal(virq_lapic_take_events(fx_apic(fx, i), &ev), VIRQ_LAPIC_EV_INIT);
		assert_int_equal(virq_lapic_get_mp_state(fx_apic(fx, i)), VIRQ_LAPIC_MP_WAIT_SIPI);
	}
	assert_int_equal(virq_lapic_take_events(fx_apic(fx, 0), &ev), 0);
	fx_check(fx); /* INIT kept the IDs; the map agrees */
	icr_xapic(fx, 0, 0,
		  ICR_DM(VIRQ_DM_STARTUP) | ICR_ASSERT | 0x9A | ICR_SH(VIRQ_SH_ALL_EXCL_SELF));
	icr_xapic(fx, 0, 0,
		  ICR_DM(VIRQ_DM_STARTUP) | ICR_ASSERT | 0x9A | ICR_SH(VIRQ_SH_ALL_EXCL_SELF));
	for (uint32_t i = 1; i < 3; i++) {
		assert_int_equal(virq_lapic_take_events(fx_apic(fx, i), &ev), VIRQ_LAPIC_EV_SIPI);
		assert_int_equal(ev.sipi_vector, 0x9A);
		assert_int_equal(virq_lapic_get_mp_state(fx_apic(fx, i)), VIRQ_LAPIC_MP_RUNNABLE);
		/* The second SIPI finds the AP running: dropped. */
		assert_int_equal(virq_lapic_take_events(fx_apic(fx, i), &ev), 0);
	}
	/* The APs come up and enable their APICs; an AP IPIs the BSP. */
	fx_mmio_w(fx, 2, VIRQ_LAPIC_REG_SVR, 0x1FF);
	icr_xapic(fx, 2, 0, 0x70 | ICR_ASSERT);
	assert_int_equal(fx_who(fx, 0x70), 0x1);
	fx_free(fx);
}

static void test_broadcast_and_shorthands(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		fx_add_xapic(fx, i, i);
	icr_xapic(fx, 1, 0xFF, 0x80 | ICR_ASSERT);
	assert_int_equal(fx_who(fx, 0x80), 0xF);
	fx_drain_all(fx);
	icr_xapic(fx, 1, 0, 0x81 | ICR_ASSERT | ICR_SH(VIRQ_SH_ALL_INCL_SELF));
	assert_int_equal(fx_who(fx, 0x81), 0xF);
	fx_drain_all(fx);
	icr_xapic(fx, 1, 0, 0x82 | ICR_ASSERT | ICR_SH(VIRQ_SH_ALL_EXCL_SELF));
	assert_int_equal(fx_who(fx, 0x82), 0xD);
	fx_drain_all(fx);
	/* Self: handled inside the LAPIC, never routed. */
	icr_xapic(fx, 3, 0, 0x83 | ICR_ASSERT | ICR_SH(VIRQ_SH_SELF));
	assert_int_equal(fx_who(fx, 0x83), 0x8);
	fx_free(fx);
}

static void test_logical_ipi(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);

	(void)state;
	for (uint32_t i = 0; i < 4; i++) {
		fx_add_xapic(fx, i, i);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_LDR, (1U << i) << 24);
	}
	icr_xapic(fx, 0, 0x06, 0x90 | ICR_ASSERT | ICR_LOGICAL);
	assert_int_equal(fx_who(fx, 0x90), 0x6);
	fx_drain_all(fx);
	/* Lowest priority IPI (xAPIC allows it): one of the set. */
	icr_xapic(fx, 0, 0x06, 0x91 | ICR_ASSERT | ICR_LOGICAL | ICR_DM(VIRQ_DM_LOWEST));
	assert_int_equal(__builtin_popcount(fx_who(fx, 0x91)), 1);
	assert_int_equal(fx_who(fx, 0x91) & ~0x6U, 0);
	fx_free(fx);
}

static void test_x2apic_ipis(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);
	struct virq_lapic_events ev;

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		fx_add_x2apic(fx, i, 0x30 + i);
	/* Physical, then cluster 3 members 1 and 3, then broadcast. */
	icr_x2apic(fx, 0, 0x32, 0xA0);
	assert_int_equal(fx_who(fx, 0xA0), 0x4);
	fx_drain_all(fx);
	icr_x2apic(fx, 0, 0x0003000AU, 0xA1 | ICR_LOGICAL);
	assert_int_equal(fx_who(fx, 0xA1), 0xA);
	fx_drain_all(fx);
	icr_x2apic(fx, 2, 0xFFFFFFFFU, 0xA2);
	assert_int_equal(fx_who(fx, 0xA2), 0xF);
	fx_drain_all(fx);
	icr_x2apic(fx, 2, 0, 0xA3 | ICR_SH(VIRQ_SH_ALL_EXCL_SELF));
	assert_int_equal(fx_who(fx, 0xA3), 0xB);
	fx_drain_all(fx);
	icr_x2apic(fx, 3, 0x30, ICR_DM(VIRQ_DM_NMI));
	assert_int_equal(virq_lapic_take_events(fx_apic(fx, 0), &ev), VIRQ_LAPIC_EV_NMI);
	/* SELF IPI MSR stays local. */
	assert_int_equal(virq_lapic_msr_write(fx_apic(fx, 1), 0x83F, 0xA4), 0);
	assert_int_equal(fx_who(fx, 0xA4), 0x2);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_ipi),   cmocka_unit_test(test_nmi_ipi),
		cmocka_unit_test(test_init_sipi),   cmocka_unit_test(test_broadcast_and_shorthands),
		cmocka_unit_test(test_logical_ipi), cmocka_unit_test(test_x2apic_ipis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
