/* SPDX-License-Identifier: MIT */
/*
 * Local Vector Table (SDM 10.5.1 "Local Vector Table", with 10.4.7.2
 * "Local APIC State After It Has Been Software Disabled" for software
 * disable and 10.5.4 "APIC Timer" for the timer-mode field): writable bits
 * of every entry, delivery status, CMCI presence, masking on software
 * disable, reserved timer and delivery modes, and virq_lapic_deliver_lvt()
 * for thermal, PMC and CMCI.
 */
#include "harness.h"

#define MASKED VIRQ_LVT_MASKED

static const uint32_t lvt_offs[] = { 0x2F0, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370 };
#define N_LVT (sizeof(lvt_offs) / sizeof(lvt_offs[0]))

/* Writable bits per entry, xAPIC view (SDM 10.5.1 "Local Vector Table" Figure 10-8
 * "Local Vector Table (LVT)", lib lapic_priv.h). */
static uint32_t lvt_writable(uint32_t off, bool tsc_deadline)
{
	switch (off) {
	case 0x320:
		return 0x000100FFU | (1U << 17) | (tsc_deadline ? (1U << 18) : 0);
	case 0x350:
	case 0x360:
		return 0x0001A7FFU;
	case 0x370:
		return 0x000100FFU;
	default:
		return 0x000107FFU; /* CMCI, thermal, PMC */
	}
}

/* Delivery modes an entry supports (SDM 10.5.1 "Local Vector Table"). */
static bool lvt_mode_ok(uint32_t off, uint32_t dm)
{
	switch (off) {
	case 0x320:
	case 0x370:
		return true; /* no delivery-mode field */
	case 0x350:
	case 0x360:
		return dm == 0 || dm == 2 || dm == 4 || dm == 5 || dm == 7;
	default:
		return dm == 0 || dm == 2 || dm == 4;
	}
}

static uint32_t esr_take(struct lapic_fixture *fx)
{
	mmio_w(fx, VIRQ_LAPIC_REG_ESR, 0);
	return mmio_r(fx, VIRQ_LAPIC_REG_ESR);
}

static void assert_irr_empty(struct lapic_fixture *fx)
{
	for (unsigned w = 0; w < 8; w++)
		assert_int_equal(fx->page[(VIRQ_LAPIC_REG_IRR >> 2) + w * 4], 0);
}

/* ---- writable bits, one at a time ---- */

static void check_per_bit(bool tsc_deadline)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.tsc_deadline = tsc_deadline;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	for (unsigned i = 0; i < N_LVT; i++) {
		uint32_t off = lvt_offs[i], wmask = lvt_writable(off, tsc_deadline);

		for (unsigned b = 0; b < 32; b++) {
			uint32_t want = (1U << b) & wmask;
			unsigned before = fx.f.gerr[VIRQ_GERR_LVT_MODE];
			bool bad_mode = !lvt_mode_ok(off, (want >> 8) & 7);

			mmio_w(&fx, off, 1U << b);
			if (mmio_r(&fx, off) != want)
				fail_msg("LVT 0x%03x bit %u reads 0x%08x, want 0x%08x", off, b,
					 mmio_r(&fx, off), want);
			if (fx.f.gerr[VIRQ_GERR_LVT_MODE] != before + (bad_mode ? 1 : 0))
				fail_msg("LVT 0x%03x bit %u: LVT_MODE report %u -> %u", off, b,
					 before, fx.f.gerr[VIRQ_GERR_LVT_MODE]);
		}
		/* All ones then zero. The timer's all-ones asks for mode 3. */
		mmio_w(&fx, off, off == 0x320 ? 0xFFFBFFFFU : 0xFFFFFFFFU);
		assert_int_equal(mmio_r(&fx, off), off == 0x320 ? 0x000300FFU : wmask);
		mmio_w(&fx, off, 0);
		assert_int_equal(mmio_r(&fx, off), 0);
	}
	assert_int_equal(fx.f.gerr[VIRQ_GERR_TIMER_MODE], 0);
	assert_invariants(&fx);
}

static void test_lvt_writable_bits(void **state)
{
	(void)state;
	check_per_bit(true);
	check_per_bit(false);
}

/* Delivery status (bit 12) reads 0 always; Remote IRR is not writable. */
static void test_lvt_delivery_status_zero(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (unsigned i = 0; i < N_LVT; i++) {
		mmio_w(&fx, lvt_offs[i], 0x00005040U | (1U << 12));
		assert_int_equal(mmio_r(&fx, lvt_offs[i]) & (VIRQ_LVT_DELIVS | VIRQ_LVT_REMOTE_IRR),
				 0);
	}
	/* After deliveries that are still pending in IRR. */
	mmio_w(&fx, 0x330, 0x51);
	mmio_w(&fx, 0x340, 0x52);
	mmio_w(&fx, 0x2F0, 0x53);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_PMC), 0);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_CMCI), 0);
	assert_int_equal(mmio_r(&fx, 0x330), 0x51);
	assert_int_equal(mmio_r(&fx, 0x340), 0x52 | MASKED);
	assert_int_equal(mmio_r(&fx, 0x2F0), 0x53);
	assert_invariants(&fx);
}

/* ---- CMCI presence (SDM 10.4.8 "Local APIC Version Register" Max LVT Entry; an
 * absent CMCI LVT as KVM) ---- */

static void test_lvt_cmci_absent(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	uint64_t v;

	(void)state;
	cfg.max_lvt = 5;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	/* xAPIC: reserved register, ESR bit 7 on read and on write. */
	assert_int_equal(mmio_r(&fx, 0x2F0), 0);
	assert_int_equal(esr_take(&fx), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	mmio_w(&fx, 0x2F0, 0x00000045U);
	assert_int_equal(fx.page[0x2F0 / 4], 0);
	assert_int_equal(mmio_r(&fx, 0x2F0), 0);
	assert_int_equal(esr_take(&fx), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	/* Software disable does not make it appear. */
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0xFF);
	assert_int_equal(fx.page[0x2F0 / 4], 0);
	/* Embedder delivery: not supported. */
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_CMCI), -VIRQ_ENOTSUP);
	/* x2APIC: #GP both ways. */
	fixture_x2apic_enable(&fx);
	assert_int_equal(msr_r(&fx, 0x82F, &v), VIRQ_GP);
	assert_int_equal(msr_w(&fx, 0x82F, 0), VIRQ_GP);
	assert_int_equal(msr_w(&fx, 0x82F, 0x45), VIRQ_GP);
	assert_int_equal(fx.page[0x2F0 / 4], 0);
	assert_invariants(&fx);

	/* max_lvt 6 (default): present, no error. */
	fixture_init(&fx, NULL);
	assert_int_equal(mmio_r(&fx, 0x2F0), MASKED);
	assert_int_equal(esr_take(&fx), 0);
	fixture_x2apic_enable(&fx);
	assert_int_equal(msr_r(&fx, 0x82F, &v), 0);
	assert_int_equal(v, MASKED);
	assert_int_equal(msr_w(&fx, 0x82F, 0x45), 0);
	assert_int_equal(msr_r(&fx, 0x82F, &v), 0);
	assert_int_equal(v, 0x45);
	assert_invariants(&fx);
}

/* ---- software disable (SDM 10.4.7.2 "Local APIC State After It Has
 * Been Software Disabled") ---- */

static void test_lvt_sw_disable_masks_all(void **state)
{
	static const uint32_t vals[N_LVT] = { 0x00000431U, 0x00020032U, 0x00000233U, 0x00000034U,
					      0x0000A735U, 0x00000436U, 0x00000037U };
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	/* Reset state is software-disabled: every write keeps the mask. */
	for (unsigned i = 0; i < N_LVT; i++) {
		mmio_w(&fx, lvt_offs[i], vals[i]);
		assert_int_equal(mmio_r(&fx, lvt_offs[i]), vals[i] | MASKED);
	}
	fixture_sw_enable(&fx);
	/* Enabling does not unmask. */
	for (unsigned i = 0; i < N_LVT; i++)
		assert_int_equal(mmio_r(&fx, lvt_offs[i]), vals[i] | MASKED);
	for (unsigned i = 0; i < N_LVT; i++) {
		mmio_w(&fx, lvt_offs[i], vals[i]);
		assert_int_equal(mmio_r(&fx, lvt_offs[i]), vals[i]);
	}
	/* SVR bit 8 1 -> 0: every mask set, the other fields kept. */
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x0FF);
	for (unsigned i = 0; i < N_LVT; i++)
		assert_int_equal(mmio_r(&fx, lvt_offs[i]), vals[i] | MASKED);
	/* While disabled, writes cannot clear a mask. */
	for (unsigned i = 0; i < N_LVT; i++) {
		mmio_w(&fx, lvt_offs[i], 0x00000040U);
		assert_int_equal(mmio_r(&fx, lvt_offs[i]), 0x00000040U | MASKED);
	}
	/* Re-enable: still masked until rewritten. */
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x1FF);
	for (unsigned i = 0; i < N_LVT; i++)
		assert_int_equal(mmio_r(&fx, lvt_offs[i]), 0x00000040U | MASKED);
	/* Disabled again: a disabled APIC's LVTs deliver nothing. */
	mmio_w(&fx, 0x330, 0x71);
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x0FF);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	assert_irr_empty(&fx);
	assert_invariants(&fx);
}

static void test_lvt_sw_disable_masks_all_x2apic(void **state)
{
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_x2apic_enable(&fx);
	for (uint32_t msr = 0x832; msr <= 0x837; msr++)
		assert_int_equal(msr_w(&fx, msr, 0x40 + (msr & 0xF)), 0);
	assert_int_equal(msr_w(&fx, 0x82F, 0x4F), 0);
	assert_int_equal(msr_w(&fx, 0x80F, 0x0FF), 0);
	for (uint32_t msr = 0x832; msr <= 0x837; msr++) {
		assert_int_equal(msr_r(&fx, msr, &v), 0);
		assert_int_equal(v, (0x40 + (msr & 0xF)) | MASKED);
		assert_int_equal(msr_w(&fx, msr, 0x40), 0);
		assert_int_equal(msr_r(&fx, msr, &v), 0);
		assert_int_equal(v, 0x40 | MASKED);
	}
	assert_int_equal(msr_r(&fx, 0x82F, &v), 0);
	assert_int_equal(v, 0x4F | MASKED);
	assert_invariants(&fx);
}

/* ---- timer mode field (SDM 10.5.1 "Local Vector Table", 10.5.4 "APIC Timer") ---- */

static void test_lvt_timer_mode3_keeps_mode(void **state)
{
	static const uint32_t prev[] = { 0x00000041U, 0x00020041U, 0x00040041U };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		mmio_w(&fx, 0x320, prev[i]);
		assert_int_equal(mmio_r(&fx, 0x320), prev[i]);
		mmio_w(&fx, 0x320, 0x00060077U);
		assert_int_equal(mmio_r(&fx, 0x320), (prev[i] & 0x00060000U) | 0x77U);
		assert_int_equal(fx.f.gerr[VIRQ_GERR_TIMER_MODE], 1);
		mmio_w(&fx, 0x320, 0x00070078U);
		assert_int_equal(mmio_r(&fx, 0x320), (prev[i] & 0x00060000U) | MASKED | 0x78U);
		assert_int_equal(fx.f.gerr[VIRQ_GERR_TIMER_MODE], 2);
		assert_invariants(&fx);
	}
}

static void test_lvt_tsc_deadline_bit_needs_config(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	uint64_t v;

	(void)state;
	cfg.tsc_deadline = false;
	cfg.tsc_khz = 0;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	mmio_w(&fx, 0x320, 0x00040041U);
	assert_int_equal(mmio_r(&fx, 0x320), 0x00000041U);
	mmio_w(&fx, 0x320, 0x00060041U); /* bit 18 dropped: periodic */
	assert_int_equal(mmio_r(&fx, 0x320), 0x00020041U);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_TIMER_MODE], 0);
	/* IA32_TSC_DEADLINE does not exist then (lapic.h msr_read). */
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), VIRQ_GP);
	assert_invariants(&fx);

	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, 0x320, 0x00040041U);
	assert_int_equal(mmio_r(&fx, 0x320), 0x00040041U);
	assert_invariants(&fx);
}

/* ---- reserved delivery modes (SDM 10.5.1 "Local Vector Table") ---- */

static void test_lvt_reserved_delivery_modes(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (unsigned i = 0; i < N_LVT; i++) {
		uint32_t off = lvt_offs[i];

		for (uint32_t dm = 0; dm < 8; dm++) {
			unsigned before = fx.f.gerr[VIRQ_GERR_LVT_MODE];
			uint32_t val = MASKED | (dm << 8) | 0x20;
			bool has_dm = off != 0x320 && off != 0x370;

			mmio_w(&fx, off, val);
			assert_int_equal(mmio_r(&fx, off), has_dm ? val : (MASKED | 0x20));
			if (fx.f.gerr[VIRQ_GERR_LVT_MODE] !=
			    before + (lvt_mode_ok(off, dm) ? 0 : 1))
				fail_msg("LVT 0x%03x mode %u: reported %u", off, dm,
					 fx.f.gerr[VIRQ_GERR_LVT_MODE] - before);
		}
	}
	/* CMCI/thermal/PMC: 1, 3, 5, 6, 7 (5 x 3); LINT: 1, 3, 6 (3 x 2). */
	assert_int_equal(fx.f.gerr[VIRQ_GERR_LVT_MODE], 21);
	assert_invariants(&fx);
}

/* ---- virq_lapic_deliver_lvt (lapic.h) ---- */

static const struct {
	enum virq_lapic_lvt which;
	uint32_t off;
} sources[] = {
	{ VIRQ_LAPIC_LVT_CMCI, 0x2F0 },
	{ VIRQ_LAPIC_LVT_THERMAL, 0x330 },
	{ VIRQ_LAPIC_LVT_PMC, 0x340 },
};

static void test_lvt_deliver_fixed(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_events ev;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		uint8_t vec = (uint8_t)(0x61 + 0x10 * i);

		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		mmio_w(&fx, sources[i].off, vec);
		assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, sources[i].which), 0);
		assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, vec));
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, vec));
		assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
		/* PMI masks its own entry after delivery; the others stay armed. */
		assert_int_equal(mmio_r(&fx, sources[i].off),
				 sources[i].which == VIRQ_LAPIC_LVT_PMC ? (vec | MASKED) : vec);
		assert_int_equal(virq_lapic_ack(&fx.apic), vec);
		virq_lapic_eoi(&fx.apic);
		/* Second delivery: PMC is masked now and drops it. */
		assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, sources[i].which), 0);
		assert_int_equal(virq_lapic_ack(&fx.apic), sources[i].which == VIRQ_LAPIC_LVT_PMC
								   ? VIRQ_LAPIC_NO_VECTOR
								   : vec);
		assert_int_equal(fx.f.n_gerr, 0);
		assert_invariants(&fx);
	}
}

static void test_lvt_deliver_nmi_smi(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_events ev;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		for (unsigned smi = 0; smi < 2; smi++) {
			uint32_t lvt = smi ? 0x00000200U : 0x00000477U;
			uint32_t flag = smi ? VIRQ_LAPIC_EV_SMI : VIRQ_LAPIC_EV_NMI;

			fixture_init(&fx, NULL);
			fixture_sw_enable(&fx);
			mmio_w(&fx, sources[i].off, lvt);
			assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, sources[i].which), 0);
			assert_irr_empty(&fx);
			assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), flag);
			assert_int_equal(ev.flags, flag);
			assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
			assert_int_equal(mmio_r(&fx, sources[i].off),
					 sources[i].which == VIRQ_LAPIC_LVT_PMC ? (lvt | MASKED)
										: lvt);
			assert_invariants(&fx);
		}
	}
}

static void test_lvt_deliver_masked_or_disabled(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_events ev;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		/* Masked: nothing, and the entry is unchanged. */
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		mmio_w(&fx, sources[i].off, MASKED | 0x66);
		assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, sources[i].which), 0);
		mmio_w(&fx, sources[i].off, MASKED | 0x400);
		assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, sources[i].which), 0);
		assert_irr_empty(&fx);
		assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
		assert_int_equal(mmio_r(&fx, sources[i].off), MASKED | 0x400);
		assert_int_equal(fx.f.kicks, 0);
		assert_invariants(&fx);
		/* Globally disabled APIC: nothing. */
		mmio_w(&fx, sources[i].off, 0x66);
		assert_int_equal(virq_lapic_set_apic_base(&fx.apic, 0xFEE00100ULL, false), 0);
		assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, sources[i].which), 0);
		assert_irr_empty(&fx);
		assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
		assert_invariants(&fx);
	}
}

static void test_lvt_deliver_bad_args(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	uint32_t page_before[1024];

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, (enum virq_lapic_lvt)3), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, (enum virq_lapic_lvt)100), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, (enum virq_lapic_lvt) - 1), -VIRQ_EINVAL);
	cfg.max_lvt = 5;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	memcpy(page_before, fx.page, sizeof(page_before));
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_CMCI), -VIRQ_ENOTSUP);
	assert_memory_equal(page_before, fx.page, sizeof(page_before));
	/* Thermal and PMC still work with max_lvt 5. */
	mmio_w(&fx, 0x330, 0x81);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x81));
	assert_invariants(&fx);
}

/* x2APIC mode: the same sources deliver through the same entries. */
static void test_lvt_deliver_x2apic(void **state)
{
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_x2apic_enable(&fx);
	assert_int_equal(msr_w(&fx, 0x834, 0x9A), 0);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_PMC), 0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x9A));
	assert_int_equal(msr_r(&fx, 0x834, &v), 0);
	assert_int_equal(v, 0x9A | MASKED);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lvt_writable_bits),
		cmocka_unit_test(test_lvt_delivery_status_zero),
		cmocka_unit_test(test_lvt_cmci_absent),
		cmocka_unit_test(test_lvt_sw_disable_masks_all),
		cmocka_unit_test(test_lvt_sw_disable_masks_all_x2apic),
		cmocka_unit_test(test_lvt_timer_mode3_keeps_mode),
		cmocka_unit_test(test_lvt_tsc_deadline_bit_needs_config),
		cmocka_unit_test(test_lvt_reserved_delivery_modes),
		cmocka_unit_test(test_lvt_deliver_fixed),
		cmocka_unit_test(test_lvt_deliver_nmi_smi),
		cmocka_unit_test(test_lvt_deliver_masked_or_disabled),
		cmocka_unit_test(test_lvt_deliver_bad_args),
		cmocka_unit_test(test_lvt_deliver_x2apic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
