/* SPDX-License-Identifier: MIT */
/*
 * TPR, PPR and CR8 (SDM 10.8.3 "Interrupt, Task, and Processor Priority",
 * 10.8.3.1 "Task and Processor Priorities", 10.8.6 "Task Priority in
 * IA-32e Mode"): PPR for every TPR with ISR empty and with every
 * in-service vector, PPR after EOI of nested vectors, the dispatch rule
 * against PPR, CR8 reads/writes/#GP, TPR through MSR 0x808.
 */
#include "harness.h"

/* SDM 10.8.3.1 "Task and Processor Priorities", written out: PPR = TPR if TPR class >=
 * ISRV class, else ISRV class. */
static uint32_t want_ppr(uint32_t tpr, int isrv)
{
	if (isrv < 0)
		return tpr;
	if ((tpr >> 4) >= ((uint32_t)isrv >> 4))
		return tpr;
	return (uint32_t)isrv & 0xF0U;
}

/* Moves @v into ISR: post, then acknowledge with TPR 0. */
static void put_in_service(struct lapic_fixture *fx, uint8_t v)
{
	mmio_w(fx, VIRQ_LAPIC_REG_TPR, 0);
	virq_lapic_post(&fx->apic, v, false);
	assert_int_equal(virq_lapic_ack(&fx->apic), v);
	assert_true(page_vec(fx, VIRQ_LAPIC_REG_ISR, v));
}

/* Hand-computed rows, so the formula above is not the only oracle. */
static void test_ppr_literal_cases(void **state)
{
	static const struct {
		uint8_t tpr, isrv, ppr;
	} t[] = {
		{ 0x35, 0x47, 0x40 }, { 0x45, 0x47, 0x45 }, { 0x4F, 0x41, 0x4F },
		{ 0x3F, 0x40, 0x40 }, { 0x00, 0x10, 0x10 }, { 0xFF, 0xFF, 0xFF },
		{ 0xEF, 0xF0, 0xF0 }, { 0x40, 0x4F, 0x40 }, { 0x1A, 0xE3, 0xE0 },
		{ 0x9C, 0x20, 0x9C }, { 0x00, 0xFF, 0xF0 }, { 0xF0, 0x10, 0xF0 },
	};
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		put_in_service(&fx, t[i].isrv);
		mmio_w(&fx, VIRQ_LAPIC_REG_TPR, t[i].tpr);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), t[i].ppr);
		assert_invariants(&fx);
	}
}

/* ISR empty: PPR == TPR for all 256 values (MMIO and CR8 views). */
static void test_ppr_isr_empty_every_tpr(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (uint32_t tpr = 0; tpr < 256; tpr++) {
		mmio_w(&fx, VIRQ_LAPIC_REG_TPR, tpr);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), tpr);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), tpr);
		assert_int_equal(virq_lapic_get_cr8(&fx.apic), tpr >> 4);
	}
	assert_invariants(&fx);
}

/* Every ISRV 16-255 (each class, each sub-class) x every TPR 0-255. */
static void test_ppr_every_tpr_every_isrv(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (uint32_t v = 16; v < 256; v++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		put_in_service(&fx, (uint8_t)v);
		for (uint32_t tpr = 0; tpr < 256; tpr++) {
			uint32_t ppr;

			mmio_w(&fx, VIRQ_LAPIC_REG_TPR, tpr);
			ppr = mmio_r(&fx, VIRQ_LAPIC_REG_PPR);
			if (ppr != want_ppr(tpr, (int)v))
				fail_msg("TPR 0x%02x ISRV 0x%02x: PPR 0x%02x, want 0x%02x", tpr, v,
					 ppr, want_ppr(tpr, (int)v));
		}
		/* EOI empties ISR: PPR follows TPR again (TPR is 0xFF now). */
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0xFF);
		assert_invariants(&fx);
	}
}

/* Nested in-service vectors: PPR uses the highest; EOI retires it first. */
static void test_ppr_nested_isr_eoi(void **state)
{
	static const uint8_t chains[][3] = {
		{ 0x21, 0x85, 0xF2 }, { 0x3F, 0x40, 0x5A }, { 0x10, 0x2F, 0xFF },
		{ 0x6E, 0x71, 0xE0 }, { 0x1F, 0x20, 0x30 },
	};
	struct lapic_fixture fx;

	(void)state;
	for (unsigned c = 0; c < sizeof(chains) / sizeof(chains[0]); c++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		/* Each vector is acked while the previous is in service: its class
		 * must be above the current PPR class. */
		for (unsigned k = 0; k < 3; k++) {
			virq_lapic_post(&fx.apic, chains[c][k], false);
			assert_int_equal(virq_lapic_ack(&fx.apic), chains[c][k]);
			assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), chains[c][k] & 0xF0);
		}
		for (int k = 2; k >= 0; k--) {
			int isrv = chains[c][k];

			for (uint32_t tpr = 0; tpr < 256; tpr++) {
				mmio_w(&fx, VIRQ_LAPIC_REG_TPR, tpr);
				if (mmio_r(&fx, VIRQ_LAPIC_REG_PPR) != want_ppr(tpr, isrv))
					fail_msg("chain %u, ISRV 0x%02x, TPR 0x%02x: PPR 0x%02x", c,
						 isrv, tpr, mmio_r(&fx, VIRQ_LAPIC_REG_PPR));
			}
			/* EOI with TPR 0x00: PPR becomes the next ISRV's class. */
			mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0);
			virq_lapic_eoi(&fx.apic);
			assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, chains[c][k]));
			assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR),
					 k ? (chains[c][k - 1] & 0xF0U) : 0);
		}
		assert_invariants(&fx);
	}
}

/* SDM 10.8.3.1 "Task and Processor Priorities", dispatch rule:
 * deliverable iff IRRV class > PPR class. */
static void test_ppr_dispatch_rule(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (uint32_t v = 16; v < 256; v++) {
		virq_lapic_post(&fx.apic, (uint8_t)v, false);
		for (uint32_t tpr = 0; tpr < 256; tpr++) {
			int want = (v >> 4) > (tpr >> 4) ? (int)v : VIRQ_LAPIC_NO_VECTOR;

			mmio_w(&fx, VIRQ_LAPIC_REG_TPR, tpr);
			if (virq_lapic_pending(&fx.apic) != want)
				fail_msg("IRR 0x%02x TPR 0x%02x: pending %d, want %d", v, tpr,
					 virq_lapic_pending(&fx.apic), want);
		}
		mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0);
		assert_int_equal(virq_lapic_ack(&fx.apic), (int)v);
		virq_lapic_eoi(&fx.apic);
	}
	/* With a vector in service, the ISRV class masks equal and lower classes. */
	put_in_service(&fx, 0x85);
	for (uint32_t v = 16; v < 256; v++) {
		if (v == 0x85)
			continue;
		virq_lapic_post(&fx.apic, (uint8_t)v, false);
		assert_int_equal(virq_lapic_pending(&fx.apic),
				 v >= 0x90 ? (int)v : VIRQ_LAPIC_NO_VECTOR);
		if (v >= 0x90) {
			assert_int_equal(virq_lapic_ack(&fx.apic), (int)v);
			virq_lapic_eoi(&fx.apic);
		}
	}
	assert_invariants(&fx);
}

/* ---- CR8 (SDM 10.8.6 "Task Priority in IA-32e Mode") ---- */

static void test_cr8_read(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	for (uint32_t tpr = 0; tpr < 256; tpr++) {
		mmio_w(&fx, VIRQ_LAPIC_REG_TPR, tpr);
		assert_int_equal(virq_lapic_get_cr8(&fx.apic), tpr >> 4);
	}
	assert_invariants(&fx);
}

static void test_cr8_write(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (uint64_t v = 0; v < 16; v++) {
		mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x3F); /* sub-class is cleared by CR8 */
		assert_int_equal(virq_lapic_set_cr8(&fx.apic, v), 0);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), v << 4);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), v << 4);
		assert_int_equal(virq_lapic_get_cr8(&fx.apic), v);
	}
	/* PPR follows CR8 with a vector in service. */
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0);
	put_in_service(&fx, 0x67);
	for (uint64_t v = 0; v < 16; v++) {
		assert_int_equal(virq_lapic_set_cr8(&fx.apic, v), 0);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), want_ppr((uint32_t)v << 4, 0x67));
		assert_invariants(&fx);
	}
	/* CR8 masking drives dispatch: class 7 pending, CR8 7 blocks it. */
	virq_lapic_eoi(&fx.apic);
	virq_lapic_post(&fx.apic, 0x7A, false);
	assert_int_equal(virq_lapic_set_cr8(&fx.apic, 7), 0);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(virq_lapic_set_cr8(&fx.apic, 6), 0);
	assert_int_equal(virq_lapic_pending(&fx.apic), 0x7A);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

static void test_cr8_reserved_bits_gp(void **state)
{
	struct lapic_fixture fx;
	unsigned n = 0;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	put_in_service(&fx, 0x55);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x2B);
	for (unsigned b = 4; b < 64; b++) {
		for (uint64_t lo = 0; lo < 16; lo += 5) {
			assert_int_equal(virq_lapic_set_cr8(&fx.apic, (1ULL << b) | lo), VIRQ_GP);
			n++;
			assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), 0x2B);
			assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x50);
		}
	}
	assert_int_equal(virq_lapic_set_cr8(&fx.apic, ~0ULL), VIRQ_GP);
	assert_int_equal(virq_lapic_set_cr8(&fx.apic, 0x10), VIRQ_GP);
	n += 2;
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), 0x2B);
	assert_int_equal(virq_lapic_get_cr8(&fx.apic), 2);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_CR8], n);
	assert_int_equal(fx.f.n_gerr, n);
	assert_invariants(&fx);
}

/* ---- TPR in x2APIC mode: MSR 0x808, PPR at 0x80A (SDM Table 10-6 "Local APIC
 * Register Address Map Supported by x2APIC", 10.8.3.1 "Task and Processor
 * Priorities") ---- */

static void test_ppr_x2apic_tpr_msr(void **state)
{
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_x2apic_enable(&fx);
	virq_lapic_post(&fx.apic, 0x93, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x93);
	for (uint32_t tpr = 0; tpr < 256; tpr++) {
		assert_int_equal(msr_w(&fx, 0x808, tpr), 0);
		assert_int_equal(msr_r(&fx, 0x808, &v), 0);
		assert_int_equal(v, tpr);
		assert_int_equal(msr_r(&fx, 0x80A, &v), 0);
		assert_int_equal(v, want_ppr(tpr, 0x93));
		assert_int_equal(virq_lapic_get_cr8(&fx.apic), tpr >> 4);
	}
	/* Bits 31:8 reserved: #GP, TPR unchanged (0xFF from the loop). */
	for (unsigned b = 8; b < 64; b++)
		assert_int_equal(msr_w(&fx, 0x808, 1ULL << b), VIRQ_GP);
	assert_int_equal(msr_r(&fx, 0x808, &v), 0);
	assert_int_equal(v, 0xFF);
	/* CR8 in x2APIC mode is the same TPR. */
	assert_int_equal(virq_lapic_set_cr8(&fx.apic, 3), 0);
	assert_int_equal(msr_r(&fx, 0x808, &v), 0);
	assert_int_equal(v, 0x30);
	assert_int_equal(msr_r(&fx, 0x80A, &v), 0);
	assert_int_equal(v, 0x90);
	/* PPR is read-only. */
	assert_int_equal(msr_w(&fx, 0x80A, 0), VIRQ_GP);
	assert_invariants(&fx);
}

/* virq_lapic_tpr_blocked(): the highest IRR vector waits for the TPR
 * alone (class above the in-service class, not above the TPR class). */
static void test_tpr_blocked(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	assert_false(virq_lapic_tpr_blocked(&fx.apic)); /* IRR empty */
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x50);
	virq_lapic_post(&fx.apic, 0x51, false); /* posted: the query folds it */
	assert_true(virq_lapic_tpr_blocked(&fx.apic));
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x4F); /* deliverable now */
	assert_false(virq_lapic_tpr_blocked(&fx.apic));
	assert_int_equal(virq_lapic_pending(&fx.apic), 0x51);
	/* 0x61 in service holds 0x51 whatever the TPR: not the TPR's doing. */
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0);
	virq_lapic_post(&fx.apic, 0x61, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x50);
	assert_false(virq_lapic_tpr_blocked(&fx.apic));
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x70);
	assert_false(virq_lapic_tpr_blocked(&fx.apic));
	/* 0x71 above the in-service class, held by TPR 0x70 only. */
	virq_lapic_post(&fx.apic, 0x71, false);
	assert_true(virq_lapic_tpr_blocked(&fx.apic));
	mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
	assert_true(virq_lapic_tpr_blocked(&fx.apic));
	assert_invariants(&fx);
}

/* virq_lapic_has_posted(): work posted and not yet folded by the owner. */
static void test_has_posted(void **state)
{
	struct lapic_fixture fx;
	struct virq_apic_msg nmi;
	struct virq_lapic_events ev;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	assert_false(virq_lapic_has_posted(&fx.apic));
	virq_lapic_post(&fx.apic, 0x40, false);
	assert_true(virq_lapic_has_posted(&fx.apic));
	assert_true(virq_lapic_sync(&fx.apic));
	assert_false(virq_lapic_has_posted(&fx.apic));
	memset(&nmi, 0, sizeof(nmi));
	nmi.delivery = VIRQ_DM_NMI;
	nmi.src = VIRQ_MSG_SRC_NONE;
	virq_lapic_post_msg(&fx.apic, &nmi);
	assert_true(virq_lapic_has_posted(&fx.apic));
	/* An event stays posted until the owner takes it. */
	(void)virq_lapic_sync(&fx.apic);
	assert_true(virq_lapic_has_posted(&fx.apic));
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
	assert_false(virq_lapic_has_posted(&fx.apic));
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ppr_literal_cases),
		cmocka_unit_test(test_ppr_isr_empty_every_tpr),
		cmocka_unit_test(test_ppr_every_tpr_every_isrv),
		cmocka_unit_test(test_ppr_nested_isr_eoi),
		cmocka_unit_test(test_ppr_dispatch_rule),
		cmocka_unit_test(test_cr8_read),
		cmocka_unit_test(test_cr8_write),
		cmocka_unit_test(test_cr8_reserved_bits_gp),
		cmocka_unit_test(test_ppr_x2apic_tpr_msr),
		cmocka_unit_test(test_tpr_blocked),
		cmocka_unit_test(test_has_posted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
