/* SPDX-License-Identifier: MIT */
/*
 * Error Status Register (SDM 10.5.3 "Error Handling", 10.5.2 "Valid
 * Interrupt Vectors"): write-then-read latching, the error sources
 * (send/receive illegal vector, illegal register address, redirectable IPI
 * in x2APIC mode) and LVT Error signalling. Regressions (peer bugs): Xen
 * 2024 / QEMU "ESR treated as a plain register"; Xen XSA-462 /
 * CVE-2024-45817 (LVT Error with an illegal vector recursed under a lock).
 */
#include "harness.h"

#define ESR_SEND VIRQ_LAPIC_ESR_SEND_ILLEGAL
#define ESR_RECV VIRQ_LAPIC_ESR_RECV_ILLEGAL
#define ESR_REG VIRQ_LAPIC_ESR_ILLEGAL_REG
#define ESR_REDIR VIRQ_LAPIC_ESR_REDIR_IPI

static uint32_t esr_read(struct lapic_fixture *fx)
{
	return mmio_r(fx, VIRQ_LAPIC_REG_ESR);
}

/* xAPIC: publish the latch (any written value) and read. */
static uint32_t esr_take(struct lapic_fixture *fx)
{
	mmio_w(fx, VIRQ_LAPIC_REG_ESR, 0);
	return esr_read(fx);
}

static uint32_t x2_esr_take(struct lapic_fixture *fx)
{
	uint64_t v = ~0ULL;

	assert_int_equal(msr_w(fx, 0x828, 0), 0);
	assert_int_equal(msr_r(fx, 0x828, &v), 0);
	return (uint32_t)v;
}

static void assert_irr_empty(struct lapic_fixture *fx)
{
	for (unsigned w = 0; w < 8; w++)
		assert_int_equal(fx->page[(VIRQ_LAPIC_REG_IRR >> 2) + w * 4], 0);
	for (unsigned w = 0; w < 8; w++)
		assert_int_equal(fx->page[(VIRQ_LAPIC_REG_TMR >> 2) + w * 4], 0);
}

/* ---- write-then-read ---- */

static void test_esr_write_then_read(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	assert_int_equal(esr_read(&fx), 0);
	/* Two errors: latched, invisible. */
	(void)mmio_r(&fx, 0x040);                        /* bit 7 */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000005U); /* bit 5 */
	assert_int_equal(esr_read(&fx), 0);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_ESR / 4], 0);
	/* A write (any value) publishes them. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0xFFFFFFFFU);
	assert_int_equal(esr_read(&fx), ESR_SEND | ESR_REG);
	assert_int_equal(esr_read(&fx), ESR_SEND | ESR_REG); /* reads do not clear */
	/* A new error does not show until the next write. */
	virq_lapic_post(&fx.apic, 0x02, false);
	virq_lapic_sync(&fx.apic);
	assert_int_equal(esr_read(&fx), ESR_SEND | ESR_REG);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0x12345678U);
	assert_int_equal(esr_read(&fx), ESR_RECV);
	/* Back-to-back writes clear it. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(esr_read(&fx), 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(esr_read(&fx), 0);
	/* The same error twice is one bit. */
	(void)mmio_r(&fx, 0x2A0);
	(void)mmio_r(&fx, 0x2A0);
	assert_int_equal(esr_take(&fx), ESR_REG);
	assert_int_equal(esr_take(&fx), 0);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_RESERVED_REG], 3);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_SEND_ILLEGAL_VECTOR], 1);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR], 1);
	assert_invariants(&fx);
}

/* ---- bit 5: send illegal vector (xAPIC ICR) ---- */

static void test_esr_send_illegal_vector(void **state)
{
	static const struct {
		uint32_t dm, sh;
	} kinds[] = {
		{ VIRQ_DM_FIXED, VIRQ_SH_NONE },          { VIRQ_DM_FIXED, VIRQ_SH_SELF },
		{ VIRQ_DM_FIXED, VIRQ_SH_ALL_INCL_SELF }, { VIRQ_DM_FIXED, VIRQ_SH_ALL_EXCL_SELF },
		{ VIRQ_DM_LOWEST, VIRQ_SH_NONE },         { VIRQ_DM_LOWEST, VIRQ_SH_ALL_EXCL_SELF },
	};
	struct lapic_fixture fx;
	unsigned n = 0;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x03000000U);
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (uint32_t v = 0; v < 16; v++) {
			uint32_t lo = v | (kinds[k].dm << 8) | (kinds[k].sh << 18);

			mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, lo);
			n++;
			assert_int_equal(fx.f.n_ipis, 0);
			assert_irr_empty(&fx);
			if (esr_take(&fx) != ESR_SEND)
				fail_msg("ICR 0x%08x: ESR not exactly bit 5", lo);
		}
	}
	assert_int_equal(fx.f.gerr[VIRQ_GERR_SEND_ILLEGAL_VECTOR], n);
	assert_int_equal(fx.f.n_gerr, n);
	/* Controls: vector 16 goes out; NMI and SIPI with a low vector are legal. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000010U);
	assert_int_equal(fx.f.n_ipis, 1);
	assert_int_equal(fx.f.ipis[0].vector, 0x10);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00004400U); /* NMI, vector 0 */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00004605U); /* SIPI page 5 */
	assert_int_equal(fx.f.n_ipis, 3);
	assert_int_equal(fx.f.ipis[2].vector, 0x05);
	assert_int_equal(esr_take(&fx), 0);
	assert_invariants(&fx);
}

/* x2APIC: ICR and SELF IPI with a low vector set bit 5 too. */
static void test_esr_send_illegal_vector_x2apic(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_x2apic_enable(&fx);
	for (uint32_t v = 0; v < 16; v++) {
		assert_int_equal(msr_w(&fx, 0x83F, v), 0);
		assert_irr_empty(&fx);
		assert_int_equal(x2_esr_take(&fx), ESR_SEND);
		assert_int_equal(msr_w(&fx, 0x830, 0x0000000700000000ULL | v), 0);
		assert_int_equal(fx.f.n_ipis, 0);
		assert_int_equal(x2_esr_take(&fx), ESR_SEND);
	}
	assert_int_equal(x2_esr_take(&fx), 0);
	assert_invariants(&fx);
}

/* ---- bit 6: receive illegal vector ---- */

static void test_esr_recv_illegal_vector(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (uint32_t v = 0; v < 16; v++) {
		for (unsigned lvl = 0; lvl < 2; lvl++) {
			virq_lapic_post(&fx.apic, (uint8_t)v, lvl != 0);
			assert_false(virq_lapic_sync(&fx.apic));
			assert_irr_empty(&fx);
			assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
			assert_int_equal(esr_take(&fx), ESR_RECV);
		}
	}
	assert_int_equal(fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR], 32);
	/* Several illegal vectors in one fold are one error; a legal one
	 * posted with them is accepted. */
	virq_lapic_post(&fx.apic, 0x01, false);
	virq_lapic_post(&fx.apic, 0x0F, false);
	virq_lapic_post(&fx.apic, 0x44, false);
	assert_true(virq_lapic_sync(&fx.apic));
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x44));
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_IRR / 4], 0);
	assert_int_equal(esr_take(&fx), ESR_RECV);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x44);
	assert_invariants(&fx);
}

/* An LVT programmed with a vector below 16 produces bit 6 at delivery. */
static void test_esr_recv_illegal_from_lvt(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_THERMAL, 0x00000007U);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	assert_irr_empty(&fx);
	assert_int_equal(esr_take(&fx), ESR_RECV);
	/* Timer with vector 0x0C: the expiry is dropped with bit 6. */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x0000000CU);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 10);
	fx.f.now = fx.f.timer_deadline;
	virq_lapic_timer_expired(&fx.apic);
	assert_irr_empty(&fx);
	assert_int_equal(esr_take(&fx), ESR_RECV);
	/* Self IPI through the ICR is a send-side error, not bit 6. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00040009U);
	assert_int_equal(esr_take(&fx), ESR_SEND);
	assert_invariants(&fx);
}

/* ---- bit 7: illegal register address ---- */

static void test_esr_illegal_register(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	mmio_w(&fx, 0x3A0, 0x1234);
	assert_int_equal(esr_take(&fx), ESR_REG);
	(void)mmio_r(&fx, 0x010);
	assert_int_equal(esr_take(&fx), ESR_REG);
	assert_int_equal(esr_take(&fx), 0);
	/* A software-disabled APIC (reset state) still latches errors. */
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_SVR), 0xFF);
	(void)mmio_r(&fx, 0x3F0); /* SELF IPI is reserved in xAPIC mode */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000001U);
	assert_int_equal(esr_take(&fx), ESR_REG | ESR_SEND);
	assert_invariants(&fx);
}

/* ---- bit 4: redirectable IPI (x2APIC lowest priority) ---- */

static void test_esr_x2apic_lowest_priority(void **state)
{
	static const uint64_t icr[] = {
		0x0000000300000140ULL, /* lowest, physical, vector 0x40 */
		0x0001000100000940ULL, /* lowest, logical */
		0x00000000000C0140ULL, /* lowest, all excluding self */
		0x0000000300000105ULL, /* lowest with an illegal vector: bit 4 only */
		0x0000000300000100ULL,
	};
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_x2apic_enable(&fx);
	for (unsigned i = 0; i < sizeof(icr) / sizeof(icr[0]); i++) {
		assert_int_equal(msr_w(&fx, 0x830, icr[i]), 0);
		assert_int_equal(fx.f.n_ipis, 0);
		if (x2_esr_take(&fx) != ESR_REDIR)
			fail_msg("ICR 0x%016llx: ESR not exactly bit 4",
				 (unsigned long long)icr[i]);
	}
	assert_int_equal(fx.f.gerr[VIRQ_GERR_REDIRECTABLE_IPI], 5);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_SEND_ILLEGAL_VECTOR], 0);
	assert_irr_empty(&fx);
	/* In xAPIC mode lowest priority is sent. */
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x03000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00004140U);
	assert_int_equal(fx.f.n_ipis, 1);
	assert_int_equal(fx.f.ipis[0].delivery, VIRQ_DM_LOWEST);
	assert_int_equal(esr_take(&fx), 0);
	assert_invariants(&fx);
}

/* ---- LVT Error ---- */

static void test_esr_latched_with_lvt_error_masked(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0x000100E0U);
	(void)mmio_r(&fx, 0x050);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000003U);
	virq_lapic_post(&fx.apic, 0x04, false);
	virq_lapic_sync(&fx.apic);
	assert_irr_empty(&fx);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(esr_take(&fx), ESR_REG | ESR_SEND | ESR_RECV);
	assert_invariants(&fx);
}

static void test_esr_lvt_error_once_per_error(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0x000000E0U);
	for (unsigned k = 0; k < 3; k++) {
		switch (k) {
		case 0:
			(void)mmio_r(&fx, 0x060);
			break;
		case 1:
			mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000008U);
			break;
		default:
			virq_lapic_post(&fx.apic, 0x09, false);
			break;
		}
		assert_int_equal(virq_lapic_ack(&fx.apic), 0xE0);
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0xE0)); /* edge */
		assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	}
	assert_int_equal(esr_take(&fx), ESR_REG | ESR_SEND | ESR_RECV);
	/* The ESR write itself raises nothing. */
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(fx.f.n_eois, 0);
	assert_invariants(&fx);
}

/* XSA-462: LVT Error with an illegal vector, then an illegal-vector IPI. */
static void test_esr_lvt_error_illegal_vector_no_recursion(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0x00000005U);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000003U);
	assert_int_equal(fx.f.n_ipis, 0);
	assert_irr_empty(&fx);
	/* Bit 5 from the IPI, bit 6 from the error LVT's own vector, once. */
	assert_int_equal(esr_take(&fx), ESR_SEND | ESR_RECV);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_SEND_ILLEGAL_VECTOR], 1);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR], 1);
	/* Still works afterwards: a second error is reported the same way. */
	(void)mmio_r(&fx, 0x070);
	assert_int_equal(esr_take(&fx), ESR_REG | ESR_RECV);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR], 2);
	assert_invariants(&fx);
}

/* ESR bits 0-3 and 8-31 never appear (SDM 10.5.3 "Error Handling": reserved / P6-only). */
static void test_esr_only_defined_bits(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0x00000001U);
	(void)mmio_r(&fx, 0x000);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000000U);
	virq_lapic_post(&fx.apic, 0x00, true);
	virq_lapic_sync(&fx.apic);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0xFFFFFFFFU);
	assert_int_equal(esr_read(&fx), 0xE0);
	assert_int_equal(esr_take(&fx), 0);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esr_write_then_read),
		cmocka_unit_test(test_esr_send_illegal_vector),
		cmocka_unit_test(test_esr_send_illegal_vector_x2apic),
		cmocka_unit_test(test_esr_recv_illegal_vector),
		cmocka_unit_test(test_esr_recv_illegal_from_lvt),
		cmocka_unit_test(test_esr_illegal_register),
		cmocka_unit_test(test_esr_x2apic_lowest_priority),
		cmocka_unit_test(test_esr_latched_with_lvt_error_masked),
		cmocka_unit_test(test_esr_lvt_error_once_per_error),
		cmocka_unit_test(test_esr_lvt_error_illegal_vector_no_recursion),
		cmocka_unit_test(test_esr_only_defined_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
