/* SPDX-License-Identifier: MIT */
/*
 * APIC timer against the fake clock: one-shot, periodic, TSC-deadline,
 * divide configuration, current count, mode switches, masking.
 * Written from SDM 10.5.4 "APIC Timer", 10.5.4.1 "TSC-Deadline Mode" and
 * Figure 10-10 "Divide Configuration Register" (and the timer bugs peers
 * shipped).
 */
#include "harness.h"

#define T0 1000000ULL /* host time at the start of every test, ns */
#define VEC 0x3C      /* LVT Timer vector used throughout */

#define LVT_ONESHOT(v) ((uint32_t)(v))
#define LVT_PERIODIC(v) ((uint32_t)(v) | (VIRQ_LVT_TIMER_PERIODIC << VIRQ_LVT_TIMER_MODE_SHIFT))
#define LVT_TSC(v) ((uint32_t)(v) | (VIRQ_LVT_TIMER_TSCDEADLINE << VIRQ_LVT_TIMER_MODE_SHIFT))

/* SDM Figure 10-10 "Divide Configuration Register" (bit 2 is reserved). */
static const struct {
	uint32_t tdcr;
	uint32_t div;
} divtab[] = { { 0x0, 2 },  { 0x1, 4 },  { 0x2, 8 },   { 0x3, 16 },
	       { 0x8, 32 }, { 0x9, 64 }, { 0xA, 128 }, { 0xB, 1 } };

static uint32_t divisor_of(uint32_t tdcr)
{
	for (unsigned i = 0; i < sizeof(divtab) / sizeof(divtab[0]); i++)
		if (divtab[i].tdcr == (tdcr & 0xBU))
			return divtab[i].div;
	fail();
	return 0;
}

static void timer_setup(struct lapic_fixture *fx, const struct virq_lapic_config *cfg)
{
	fixture_init(fx, cfg);
	fixture_sw_enable(fx);
	fx->f.now = T0;
	fx->f.tsc = T0;
}

static uint32_t ccr(struct lapic_fixture *fx)
{
	return mmio_r(fx, VIRQ_LAPIC_REG_TMCCT);
}

static bool irr_has(struct lapic_fixture *fx, uint8_t v)
{
	return page_vec(fx, VIRQ_LAPIC_REG_IRR, v);
}

static bool irr_empty(struct lapic_fixture *fx)
{
	for (unsigned i = 0; i < 8; i++)
		if (fx->page[(VIRQ_LAPIC_REG_IRR >> 2) + 4 * i])
			return false;
	return true;
}

/* Takes the one timer interrupt and retires it; nothing else may be pending. */
static void take_tick(struct lapic_fixture *fx, uint8_t v)
{
	assert_int_equal(virq_lapic_ack(&fx->apic), v);
	virq_lapic_eoi(&fx->apic);
	assert_int_equal(virq_lapic_ack(&fx->apic), VIRQ_LAPIC_NO_VECTOR);
	assert_true(irr_empty(fx));
}

/* The host timer fires at @t: one interrupt of vector @v taken, nothing
 * else pending. */
static void fire_at_vec(struct lapic_fixture *fx, uint64_t t, uint8_t v)
{
	fx->f.now = t;
	virq_lapic_timer_expired(&fx->apic);
	take_tick(fx, v);
}

static void fire_at(struct lapic_fixture *fx, uint64_t t)
{
	fire_at_vec(fx, t, VEC);
}

static uint64_t tsc_msr(struct lapic_fixture *fx)
{
	uint64_t v = 0xBAD;

	assert_int_equal(msr_r(fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	return v;
}

/* Advances host time and (1 GHz) guest TSC together. */
static void advance(struct lapic_fixture *fx, uint64_t ns)
{
	fx->f.now += ns;
	fx->f.tsc += ns;
}

/* ---- SDM 10.5.4 "APIC Timer": one-shot, divide table ---- */

/* Every divide value 0x0-0xF (bit 2 ignored) and several counts: the deadline
 * is now + N * divisor ns, an early call re-arms, the exact tick fires once. */
static void test_oneshot_fires_once_at_exact_tick(void **state)
{
	static const uint32_t counts[] = { 1, 2, 1000, 123457 };
	struct lapic_fixture fx;

	(void)state;
	for (uint32_t tdcr = 0; tdcr < 16; tdcr++) {
		for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			uint64_t dl = T0 + (uint64_t)counts[c] * divisor_of(tdcr);
			unsigned arms;

			timer_setup(&fx, NULL);
			mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(VEC));
			mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, tdcr);
			assert_int_equal(fx.f.timer_arms, 0); /* nothing to count yet */
			mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, counts[c]);
			assert_int_equal(fx.f.timer_arms, 1);
			assert_true(fx.f.timer_armed);
			assert_int_equal(fx.f.timer_deadline, dl);
			assert_int_equal(ccr(&fx), counts[c]);

			/* One ns early: re-armed for the same deadline, nothing delivered. */
			fx.f.now = dl - 1;
			virq_lapic_timer_expired(&fx.apic);
			assert_true(irr_empty(&fx));
			assert_int_equal(fx.f.timer_arms, 2);
			assert_int_equal(fx.f.timer_deadline, dl);
			assert_int_equal(ccr(&fx), 1);

			fx.f.now = dl;
			arms = fx.f.timer_arms;
			virq_lapic_timer_expired(&fx.apic);
			assert_true(irr_has(&fx, VEC));
			assert_int_equal(fx.f.timer_arms, arms); /* one-shot: not re-armed */
			assert_int_equal(ccr(&fx), 0);
			take_tick(&fx, VEC);

			/* A stray host-timer call later delivers nothing. */
			fx.f.now = dl + 1000000;
			virq_lapic_timer_expired(&fx.apic);
			assert_true(irr_empty(&fx));
			assert_int_equal(ccr(&fx), 0);
			assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), counts[c]);
			assert_invariants(&fx);
		}
	}
}

/* TDCR keeps bits 0, 1, 3 (mask 0xB); x2APIC faults on the reserved bits. */
static void test_tdcr_mask_and_divisor_table(void **state)
{
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	timer_setup(&fx, NULL);
	for (uint32_t i = 0; i < 16; i++) {
		mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, i);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TDCR), i & 0xBU);
		mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xFFFFFFF0U | i);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TDCR), i & 0xBU);
	}
	/* The table itself, against the public helper. */
	for (uint32_t i = 0; i < 16; i++)
		assert_int_equal(virq_lapic_tdcr_divisor(i), divisor_of(i));

	fixture_x2apic_enable(&fx);
	for (uint32_t i = 0; i < 16; i++) {
		int want = (i & 4U) ? VIRQ_GP : 0;

		assert_int_equal(msr_w(&fx, 0x83E, 0x3), 0);
		assert_int_equal(msr_w(&fx, 0x83E, i), want);
		assert_int_equal(msr_r(&fx, 0x83E, &v), 0);
		assert_int_equal(v, (i & 4U) ? 0x3U : i);
	}
	assert_int_equal(msr_w(&fx, 0x83E, 0x10), VIRQ_GP);
	assert_invariants(&fx);
}

/* The same one-shot through the x2APIC MSRs. */
static void test_oneshot_x2apic(void **state)
{
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	timer_setup(&fx, NULL);
	fixture_x2apic_enable(&fx);
	assert_int_equal(msr_w(&fx, 0x832, LVT_ONESHOT(0xE7)), 0);
	assert_int_equal(msr_w(&fx, 0x83E, 0x9), 0); /* divide by 64 */
	assert_int_equal(msr_w(&fx, 0x838, 50), 0);
	assert_int_equal(fx.f.timer_deadline, T0 + 50 * 64);
	fx.f.now = T0 + 64 * 10 + 63;
	assert_int_equal(msr_r(&fx, 0x839, &v), 0);
	assert_int_equal(v, 40);
	fx.f.now = T0 + 50 * 64;
	virq_lapic_timer_expired(&fx.apic);
	take_tick(&fx, 0xE7);
	assert_int_equal(msr_r(&fx, 0x839, &v), 0);
	assert_int_equal(v, 0);
	assert_invariants(&fx);
}

/* ---- SDM 10.5.4 "APIC Timer": current count ---- */

static void test_ccr_counts_down_exactly(void **state)
{
	static const struct {
		uint64_t at;
		uint32_t oneshot, periodic;
	} t[] = {
		{ 0, 1000, 1000 },  { 1, 1000, 1000 },  { 2, 999, 999 },  { 3, 999, 999 },
		{ 1000, 500, 500 }, { 1001, 500, 500 }, { 1998, 1, 1 },   { 1999, 1, 1 },
		{ 2000, 0, 1000 },  { 2001, 0, 1000 },  { 2002, 0, 999 }, { 3999, 0, 1 },
		{ 4000, 0, 1000 },  { 5234, 0, 383 },
	};
	struct lapic_fixture fx;

	(void)state;
	for (unsigned periodic = 0; periodic < 2; periodic++) {
		timer_setup(&fx, NULL);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER,
		       periodic ? LVT_PERIODIC(VEC) : LVT_ONESHOT(VEC));
		mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0x0); /* divide by 2 */
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 1000);
		for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			fx.f.now = T0 + t[i].at;
			/* Expiry not processed yet: the count is still exact. */
			assert_int_equal(ccr(&fx), periodic ? t[i].periodic : t[i].oneshot);
		}
		assert_true(irr_empty(&fx));
		assert_invariants(&fx);
	}
}

/*
 * Regression (KVM CVE-2013-6367: CCR read divided by zero): CCR in every
 * mode with TMICT 0, 1, 0xFFFFFFFF and every divide value.
 */
static void test_ccr_extreme_counts_every_divide(void **state)
{
	static const uint32_t counts[] = { 0, 1, 2, 0xFFFFFFFFU };
	static const uint32_t modes[] = { LVT_ONESHOT(VEC), LVT_PERIODIC(VEC), LVT_TSC(VEC) };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned m = 0; m < 3; m++) {
		for (uint32_t tdcr = 0; tdcr < 16; tdcr++) {
			for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
				uint32_t n = counts[c], div = divisor_of(tdcr);
				bool counting = m != 2 && n != 0;

				timer_setup(&fx, NULL);
				mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, modes[m]);
				mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, tdcr);
				mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, n);
				assert_int_equal(fx.f.timer_arms, counting ? 1U : 0U);
				if (counting)
					assert_int_equal(fx.f.timer_deadline,
							 T0 + (uint64_t)n * div);
				assert_int_equal(ccr(&fx), counting ? n : 0U);
				fx.f.now = T0 + div - 1;
				assert_int_equal(ccr(&fx), counting ? n : 0U);
				fx.f.now = T0 + div;
				assert_int_equal(ccr(&fx), !counting ? 0U
							   : n > 1   ? n - 1
							   : m == 1  ? n /* reloaded */
								     : 0U);
				fx.f.now = T0 + (uint64_t)div * 1000000;
				if (counting && n > 1000000)
					assert_int_equal(ccr(&fx), n - 1000000);
				else
					assert_true(ccr(&fx) <= n);
				assert_invariants(&fx);
			}
		}
	}
}

/*
 * Divide changed while counting (the SDM does not say; the library, like
 * KVM, continues the remaining count at the new rate). Regression
 * CVE-2013-6367: every pair of divide values, no fault, CCR never above
 * TMICT, never increasing, and 0 exactly at the new deadline.
 */
static void test_ccr_divide_changed_while_armed(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	/* The exact case first: 1000 at /2, 500 ns in, then /16. */
	timer_setup(&fx, NULL);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(VEC));
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0x0);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 1000);
	fx.f.now = T0 + 500;
	assert_int_equal(ccr(&fx), 750);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0x3);
	assert_int_equal(ccr(&fx), 750);
	assert_int_equal(fx.f.timer_deadline, T0 + 500 + 750 * 16);
	fx.f.now += 160;
	assert_int_equal(ccr(&fx), 740);
	fx.f.now = T0 + 500 + 750 * 16;
	virq_lapic_timer_expired(&fx.apic);
	take_tick(&fx, VEC);
	assert_int_equal(ccr(&fx), 0);
	assert_invariants(&fx);

	for (unsigned periodic = 0; periodic < 2; periodic++) {
		for (unsigned a = 0; a < 8; a++) {
			for (unsigned b = 0; b < 8; b++) {
				static const uint32_t counts[] = { 1, 0xFFFFFFFFU };

				for (unsigned c = 0; c < 2; c++) {
					uint32_t n = counts[c], prev, cur;

					timer_setup(&fx, NULL);
					mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER,
					       periodic ? LVT_PERIODIC(VEC) : LVT_ONESHOT(VEC));
					mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, divtab[a].tdcr);
					mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, n);
					fx.f.now += divtab[a].div / 2;
					prev = ccr(&fx);
					mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, divtab[b].tdcr);
					cur = ccr(&fx);
					assert_int_equal(cur, prev); /* no jump at the write */
					assert_true(cur <= n);
					assert_true(fx.f.timer_deadline >= fx.f.now);
					assert_int_equal(fx.f.timer_deadline - fx.f.now,
							 (uint64_t)cur * divtab[b].div);
					fx.f.now = fx.f.timer_deadline - 1;
					assert_int_equal(ccr(&fx), 1); /* last count */
					fx.f.now = fx.f.timer_deadline;
					assert_int_equal(ccr(&fx), periodic ? n : 0U);
					virq_lapic_timer_expired(&fx.apic);
					take_tick(&fx, VEC);
					/* Periodic: the next period runs at the new divisor. */
					if (periodic)
						assert_int_equal(fx.f.timer_deadline,
								 fx.f.now + (uint64_t)n *
										    divtab[b].div);
					assert_invariants(&fx);
				}
			}
		}
	}
}

/* ---- SDM 10.5.4 "APIC Timer": Initial Count writes ---- */

static void test_tmict_zero_disarms(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned periodic = 0; periodic < 2; periodic++) {
		uint64_t dl;

		timer_setup(&fx, NULL);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER,
		       periodic ? LVT_PERIODIC(VEC) : LVT_ONESHOT(VEC));
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 400);
		dl = fx.f.timer_deadline;
		assert_int_equal(dl, T0 + 800);
		fx.f.now += 100;
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 0);
		assert_int_equal(fx.f.timer_cancels, 1);
		assert_false(fx.f.timer_armed);
		assert_int_equal(ccr(&fx), 0);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), 0);
		fx.f.now = dl;
		virq_lapic_timer_expired(&fx.apic); /* a late host timer */
		assert_true(irr_empty(&fx));
		assert_int_equal(fx.f.timer_arms, 1);
		assert_invariants(&fx);
	}
}

/* Writing Initial Count while counting restarts from the new value. */
static void test_tmict_rewrite_restarts(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned periodic = 0; periodic < 2; periodic++) {
		timer_setup(&fx, NULL);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER,
		       periodic ? LVT_PERIODIC(VEC) : LVT_ONESHOT(VEC));
		mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 1000);
		fx.f.now += 700;
		assert_int_equal(ccr(&fx), 300);
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 5000);
		assert_int_equal(fx.f.timer_deadline, T0 + 700 + 5000);
		assert_int_equal(ccr(&fx), 5000);
		fx.f.now = T0 + 1000; /* the old deadline: nothing */
		virq_lapic_timer_expired(&fx.apic);
		assert_true(irr_empty(&fx));
		assert_int_equal(fx.f.timer_deadline, T0 + 5700);
		fx.f.now = T0 + 5700;
		virq_lapic_timer_expired(&fx.apic);
		take_tick(&fx, VEC);
		if (periodic)
			assert_int_equal(fx.f.timer_deadline, T0 + 10700);
		assert_invariants(&fx);
	}
}

/* ---- SDM 10.5.4 "APIC Timer": periodic ---- */

/* Late host timers never shift the grid: deadlines stay T0 + k * period. */
static void test_periodic_no_drift(void **state)
{
	static const uint64_t late[] = { 0, 7, 99, 1, 50, 98, 0, 33, 64, 12 };
	const uint64_t period = 100 * 16; /* TMICT 100, divide by 16 */
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC));
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0x3);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 100);
	assert_int_equal(fx.f.timer_deadline, T0 + period);
	for (unsigned k = 1; k <= sizeof(late) / sizeof(late[0]); k++) {
		unsigned arms = fx.f.timer_arms;

		/* Early wake first: re-armed, nothing delivered. */
		fx.f.now = T0 + k * period - 1;
		virq_lapic_timer_expired(&fx.apic);
		assert_true(irr_empty(&fx));
		assert_int_equal(fx.f.timer_deadline, T0 + k * period);

		fx.f.now = T0 + k * period + late[k - 1] * 16;
		virq_lapic_timer_expired(&fx.apic);
		assert_int_equal(fx.f.timer_arms, arms + 2);
		assert_int_equal(fx.f.timer_deadline, T0 + (k + 1) * period);
		assert_int_equal(ccr(&fx), 100 - late[k - 1]);
		take_tick(&fx, VEC);
	}
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_invariants(&fx);
}

/*
 * Regression (KVM CVE-2025-71104: after a long pause a periodic timer caught
 * up one period at a time): the clock jumps by hours; one expiry is
 * delivered and the next deadline is in the future, on the grid.
 */
static void test_periodic_long_pause_one_expiry(void **state)
{
	static const struct {
		uint32_t tmict, tdcr;
	} t[] = { { 1, 0xB }, { 1, 0x0 }, { 3, 0xB }, { 1000000, 0xB }, { 0xFFFFFFFFU, 0xA } };
	static const uint64_t jumps[] = { 3ULL * 3600 * 1000000000ULL + 12345,
					  27ULL * 3600 * 1000000000ULL,
					  1000ULL * 24 * 3600 * 1000000000ULL + 1 };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (unsigned j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
			uint64_t period = (uint64_t)t[i].tmict * divisor_of(t[i].tdcr);
			unsigned arms;

			timer_setup(&fx, NULL);
			mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC));
			mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, t[i].tdcr);
			mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, t[i].tmict);
			fx.f.now = T0 + jumps[j];
			arms = fx.f.timer_arms;
			virq_lapic_timer_expired(&fx.apic);
			assert_int_equal(fx.f.timer_arms, arms + 1);
			assert_true(fx.f.timer_deadline > fx.f.now);
			assert_true(fx.f.timer_deadline - fx.f.now <= period);
			assert_int_equal((fx.f.timer_deadline - T0) % period, 0);
			take_tick(&fx, VEC);

			/* The same host time again: nothing more to deliver. */
			virq_lapic_timer_expired(&fx.apic);
			assert_true(irr_empty(&fx));
			assert_invariants(&fx);
		}
	}
}

/* ---- SDM 10.5.1 "Local Vector Table", 10.5.4 "APIC Timer": masked timer ---- */

static void test_masked_periodic_keeps_reloading(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC) | VIRQ_LVT_MASKED);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 500);
	for (unsigned k = 1; k <= 3; k++) {
		fx.f.now = T0 + 500 * k + 3;
		virq_lapic_timer_expired(&fx.apic);
		assert_true(irr_empty(&fx)); /* lost, not queued */
		assert_int_equal(fx.f.timer_deadline, T0 + 500 * (k + 1));
		assert_int_equal(ccr(&fx), 497);
	}
	/* Unmask (same mode: the count goes on); the next expiry is delivered,
	 * the lost ones are not. */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC));
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_int_equal(fx.f.timer_deadline, T0 + 2000);
	assert_true(irr_empty(&fx));
	fx.f.now = T0 + 2000;
	virq_lapic_timer_expired(&fx.apic);
	take_tick(&fx, VEC);
	assert_int_equal(fx.f.timer_deadline, T0 + 2500);
	assert_invariants(&fx);
}

static void test_masked_oneshot_expiry_lost(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(VEC) | VIRQ_LVT_MASKED);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 10);
	fx.f.now = T0 + 20;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_int_equal(ccr(&fx), 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(VEC));
	fx.f.now = T0 + 1000;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_invariants(&fx);
}

/* A timer vector 0-15 is never accepted: ESR bit 6 at expiry (SDM 10.5.3 "Error Handling"). */
static void test_timer_illegal_vector(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(0x0E));
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 10);
	fx.f.now = T0 + 20;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), VIRQ_LAPIC_ESR_RECV_ILLEGAL);
	assert_invariants(&fx);
}

/* ---- SDM 10.5.4.1 "TSC-Deadline Mode": mode switches ---- */

static void arm_in_mode(struct lapic_fixture *fx, unsigned mode)
{
	static const uint32_t lvt[] = { LVT_ONESHOT(VEC), LVT_PERIODIC(VEC), LVT_TSC(VEC) };

	mmio_w(fx, VIRQ_LAPIC_REG_LVT_TIMER, lvt[mode]);
	if (mode == VIRQ_LVT_TIMER_TSCDEADLINE) {
		assert_int_equal(msr_w(fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx->f.tsc + 1000), 0);
		assert_int_equal(tsc_msr(fx), fx->f.tsc + 1000);
	} else {
		mmio_w(fx, VIRQ_LAPIC_REG_TMICT, 500); /* 1000 ns at divide by 2 */
		assert_int_equal(ccr(fx), 500);
	}
	assert_true(fx->f.timer_armed);
	assert_int_equal(fx->f.timer_deadline, fx->f.now + 1000);
}

/*
 * Entering or leaving TSC-deadline mode disarms (SDM 10.5.4.1 "TSC-Deadline Mode"): the count
 * and Initial Count read 0, the deadline too, and the old expiry never
 * comes.
 */
static void test_mode_switch_tsc_deadline_disarms(void **state)
{
	static const uint32_t lvt[] = { LVT_ONESHOT(VEC), LVT_PERIODIC(VEC), LVT_TSC(VEC) };
	static const unsigned pairs[][2] = {
		{ VIRQ_LVT_TIMER_ONESHOT, VIRQ_LVT_TIMER_TSCDEADLINE },
		{ VIRQ_LVT_TIMER_PERIODIC, VIRQ_LVT_TIMER_TSCDEADLINE },
		{ VIRQ_LVT_TIMER_TSCDEADLINE, VIRQ_LVT_TIMER_ONESHOT },
		{ VIRQ_LVT_TIMER_TSCDEADLINE, VIRQ_LVT_TIMER_PERIODIC },
	};
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		unsigned from = pairs[i][0], to = pairs[i][1];

		timer_setup(&fx, NULL);
		fx.f.use_guest_tsc = true;
		arm_in_mode(&fx, from);
		advance(&fx, 100);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, lvt[to]);
		assert_int_equal(fx.f.timer_cancels, 1);
		assert_false(fx.f.timer_armed);
		assert_int_equal(ccr(&fx), 0);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), 0);
		assert_int_equal(tsc_msr(&fx), 0);
		advance(&fx, 5000); /* well past the old deadline */
		virq_lapic_timer_expired(&fx.apic);
		assert_true(irr_empty(&fx));
		assert_int_equal(ccr(&fx), 0);
		assert_int_equal(fx.f.timer_arms, 1);
		assert_invariants(&fx);
	}
}

/*
 * One-shot -> periodic while counting: the count goes on from where it
 * was (not reloaded), expires when it reaches 0 as the one-shot would
 * have, then reloads from Initial Count and keeps going. Processors and
 * KVM do so; before the fix the write stopped the count at 0 (the host
 * timer cancelled, no expiry at T0 + 1000).
 */
static void test_oneshot_to_periodic_keeps_counting(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	arm_in_mode(&fx, VIRQ_LVT_TIMER_ONESHOT); /* 500 at divide by 2: 0 at T0 + 1000 */
	fx.f.now = T0 + 300;
	assert_int_equal(ccr(&fx), 350);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC));
	assert_int_equal(ccr(&fx), 350);
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, T0 + 1000);
	fx.f.now = T0 + 999;
	assert_int_equal(ccr(&fx), 1);
	virq_lapic_timer_expired(&fx.apic); /* early: nothing */
	assert_true(irr_empty(&fx));
	/* At 0: the interrupt, then a reload from Initial Count. */
	fire_at(&fx, T0 + 1000);
	assert_int_equal(ccr(&fx), 500);
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, T0 + 2000);
	fx.f.now = T0 + 1250;
	assert_int_equal(ccr(&fx), 375);
	fire_at(&fx, T0 + 2000);
	assert_int_equal(fx.f.timer_deadline, T0 + 3000);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), 500);
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_invariants(&fx);
}

/*
 * Periodic -> one-shot while counting: the count goes on, expires once
 * more at its next 0 and stops there. Before the fix the write stopped it
 * at once (Current Count 0 at T0 + 1400, no expiry at T0 + 2000).
 */
static void test_periodic_to_oneshot_fires_once_more(void **state)
{
	struct lapic_fixture fx;
	unsigned arms;

	(void)state;
	timer_setup(&fx, NULL);
	arm_in_mode(&fx, VIRQ_LVT_TIMER_PERIODIC);
	fire_at(&fx, T0 + 1000);
	assert_int_equal(fx.f.timer_deadline, T0 + 2000);
	fx.f.now = T0 + 1400;
	assert_int_equal(ccr(&fx), 300);
	arms = fx.f.timer_arms;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(VEC));
	assert_int_equal(ccr(&fx), 300);
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, T0 + 2000);
	assert_int_equal(fx.f.timer_arms, arms); /* the same deadline: not re-armed */
	fx.f.now = T0 + 1998;
	assert_int_equal(ccr(&fx), 1);
	fire_at(&fx, T0 + 2000);
	/* Stopped: not re-armed, the count stays 0, no further expiry. */
	assert_int_equal(fx.f.timer_arms, arms);
	assert_int_equal(ccr(&fx), 0);
	fx.f.now = T0 + 5000;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_int_equal(ccr(&fx), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), 500);
	/* Back to periodic with the count at 0: it stays 0 until Initial Count
	 * is written. */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC));
	assert_int_equal(ccr(&fx), 0);
	assert_int_equal(fx.f.timer_arms, arms);
	fx.f.now = T0 + 9000;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 500);
	assert_int_equal(fx.f.timer_deadline, T0 + 10000);
	fire_at(&fx, T0 + 10000);
	assert_int_equal(fx.f.timer_deadline, T0 + 11000);
	assert_invariants(&fx);
}

/*
 * A switch back and forth before the count reaches 0 changes nothing the
 * guest can see: the count and the deadline are those of the last mode.
 */
static void test_mode_switch_back_and_forth(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	arm_in_mode(&fx, VIRQ_LVT_TIMER_ONESHOT);
	for (unsigned k = 1; k <= 9; k++) {
		fx.f.now = T0 + 100 * k;
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER,
		       (k & 1U) ? LVT_PERIODIC(VEC) : LVT_ONESHOT(VEC));
		assert_int_equal(ccr(&fx), 500 - 50 * k);
		assert_int_equal(fx.f.timer_deadline, T0 + 1000);
	}
	/* Ends periodic (k = 9): reloads at T0 + 1000. */
	fire_at(&fx, T0 + 1000);
	assert_int_equal(fx.f.timer_deadline, T0 + 2000);
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_invariants(&fx);
}

/*
 * The vector and the mask written with the mode apply to the expiry after
 * the write; the count ignores them. A masked expiry is lost (the count
 * still reloads or stops as the new mode says).
 */
static void test_mode_switch_with_mask_and_vector(void **state)
{
	struct lapic_fixture fx;
	unsigned arms;

	(void)state;
	/* Periodic (masked) -> one-shot with a new vector, unmasked. */
	timer_setup(&fx, NULL);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC) | VIRQ_LVT_MASKED);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 500);
	fx.f.now = T0 + 1000;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx)); /* masked: lost */
	fx.f.now = T0 + 1100;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(0x99));
	assert_int_equal(ccr(&fx), 450);
	assert_int_equal(fx.f.timer_deadline, T0 + 2000);
	fx.f.now = T0 + 2000;
	virq_lapic_timer_expired(&fx.apic);
	take_tick(&fx, 0x99);
	assert_int_equal(ccr(&fx), 0);

	/* One-shot -> periodic, masked: the expiries are lost, the count
	 * reloads; unmasking (same mode) lets the next one through. */
	timer_setup(&fx, NULL);
	arm_in_mode(&fx, VIRQ_LVT_TIMER_ONESHOT);
	fx.f.now = T0 + 200;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC) | VIRQ_LVT_MASKED);
	assert_int_equal(ccr(&fx), 400);
	fx.f.now = T0 + 1000;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_int_equal(ccr(&fx), 500);
	assert_int_equal(fx.f.timer_deadline, T0 + 2000);
	fx.f.now = T0 + 1500;
	arms = fx.f.timer_arms;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(0x77));
	assert_int_equal(ccr(&fx), 250);
	assert_int_equal(fx.f.timer_arms, arms);
	fire_at_vec(&fx, T0 + 2000, 0x77);
	assert_int_equal(fx.f.timer_deadline, T0 + 3000);
	assert_invariants(&fx);
}

/*
 * An expiry that was due before the write but not processed yet (the
 * embedder's host timer is late) belongs to the old mode and the old
 * entry: a one-shot switched to periodic has reached 0 and stays there;
 * a periodic one switched to one-shot has reloaded and expires once more.
 */
static void test_mode_switch_after_unprocessed_expiry(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	arm_in_mode(&fx, VIRQ_LVT_TIMER_ONESHOT);
	fx.f.now = T0 + 1200;
	assert_int_equal(ccr(&fx), 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(0x99));
	take_tick(&fx, VEC); /* the one-shot's, with its vector */
	assert_int_equal(ccr(&fx), 0);
	assert_false(fx.f.timer_armed); /* the late host timer is cancelled */
	virq_lapic_timer_expired(&fx.apic);
	fx.f.now = T0 + 5000;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_int_equal(ccr(&fx), 0);

	timer_setup(&fx, NULL);
	arm_in_mode(&fx, VIRQ_LVT_TIMER_PERIODIC);
	fx.f.now = T0 + 1200; /* the expiry at T0 + 1000 is not processed */
	assert_int_equal(ccr(&fx), 400);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(0x99));
	take_tick(&fx, VEC);
	assert_int_equal(ccr(&fx), 400);
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, T0 + 2000);
	fx.f.now = T0 + 2000;
	virq_lapic_timer_expired(&fx.apic);
	take_tick(&fx, 0x99);
	assert_int_equal(ccr(&fx), 0);
	fx.f.now = T0 + 3000;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_invariants(&fx);
}

/* Rewriting the LVT Timer without changing the mode does not disarm. */
static void test_same_mode_lvt_write_keeps_timer(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned mode = 0; mode < 3; mode++) {
		static const uint32_t lvt[] = { LVT_ONESHOT(0x99), LVT_PERIODIC(0x99),
						LVT_TSC(0x99) };
		uint64_t dl;

		timer_setup(&fx, NULL);
		fx.f.use_guest_tsc = true;
		arm_in_mode(&fx, mode);
		dl = fx.f.timer_deadline;
		advance(&fx, 200);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, lvt[mode] | VIRQ_LVT_MASKED);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, lvt[mode]);
		assert_int_equal(fx.f.timer_cancels, 0);
		assert_true(fx.f.timer_armed);
		assert_int_equal(fx.f.timer_deadline, dl);
		if (mode != VIRQ_LVT_TIMER_TSCDEADLINE)
			assert_int_equal(ccr(&fx), 400);
		advance(&fx, 800);
		virq_lapic_timer_expired(&fx.apic);
		take_tick(&fx, 0x99); /* the new vector */
		assert_invariants(&fx);
	}
}

/* ---- SDM 10.5.4.1 "TSC-Deadline Mode": TSC-deadline ---- */

/*
 * Regression (ACRN: TSC deadline wrong with a TSC offset): the guest TSC is
 * far from host ns; the host deadline is now + (deadline - TSC) converted
 * at tsc_khz, rounded up so it never fires early.
 */
static void test_tsc_deadline_offset_guest_tsc(void **state)
{
	static const struct {
		uint32_t khz;
		uint64_t delta; /* TSC cycles ahead */
		uint64_t ns;    /* host ns ahead */
	} t[] = {
		{ 1000000, 1, 1 },
		{ 1000000, 5000, 5000 },
		{ 1000000, 123456789, 123456789 },
		{ 2000000, 5000, 2500 },
		{ 2000000, 5001, 2501 },
		{ 2000000, 1, 1 },
		{ 2000000, 2, 1 },
		{ 3000000, 3000, 1000 },
		{ 3000000, 3001, 1001 },
		{ 1000, 1, 1000 },
		{ 2000000, 4000000000ULL, 2000000000ULL },
	};
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct virq_lapic_config cfg = fixture_default_config();
		const uint64_t tsc0 = 0x0123456789ABCULL; /* offset guest TSC */
		uint64_t dl;

		cfg.tsc_khz = t[i].khz;
		timer_setup(&fx, &cfg);
		fx.f.use_guest_tsc = true;
		fx.f.tsc = tsc0;
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(0xB0));
		assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, tsc0 + t[i].delta), 0);
		assert_int_equal(fx.f.timer_arms, 1);
		dl = T0 + t[i].ns;
		assert_int_equal(fx.f.timer_deadline, dl);
		assert_int_equal(tsc_msr(&fx), tsc0 + t[i].delta);
		assert_int_equal(ccr(&fx), 0); /* CCR reads 0 in TSC-deadline mode */

		/* An early host wake, the guest TSC one cycle short: the same
		 * deadline again. */
		fx.f.now = dl - 1;
		fx.f.tsc = tsc0 + t[i].delta - 1;
		virq_lapic_timer_expired(&fx.apic);
		assert_true(irr_empty(&fx));
		assert_int_equal(tsc_msr(&fx), tsc0 + t[i].delta);
		assert_true(fx.f.timer_armed);
		assert_int_equal(fx.f.timer_deadline, dl);

		/* The host deadline: due, whatever the guest TSC says. */
		fx.f.now = dl;
		virq_lapic_timer_expired(&fx.apic);
		take_tick(&fx, 0xB0);
		assert_int_equal(tsc_msr(&fx), 0);
		assert_invariants(&fx);

		/* Re-armed; an early wake whose guest TSC already reached the
		 * deadline (a TSC faster than tsc_khz) fires too. */
		assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + t[i].delta), 0);
		fx.f.tsc += t[i].delta;
		virq_lapic_timer_expired(&fx.apic);
		take_tick(&fx, 0xB0);
		assert_int_equal(tsc_msr(&fx), 0);
		assert_invariants(&fx);
	}
}

/*
 * A guest TSC that stands still while the vCPU is out of the guest (KVM with
 * an unstable host TSC: it resumes where it stopped and is caught up at the
 * next entry): the deadline still fires when the embedder's clock passes it.
 * Before, each host wake re-read the frozen TSC and re-armed for ever, and a
 * guest halted on a TSC-deadline tick never woke (lapic_timer under KVM
 * nested in QEMU TCG).
 */
static void test_tsc_deadline_frozen_guest_tsc(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	fx.f.use_guest_tsc = true;
	fx.f.tsc = 5000000;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(0xB1));
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 20000), 0);
	assert_int_equal(fx.f.timer_deadline, T0 + 20000);
	for (unsigned k = 1; k <= 3; k++) {
		/* The host clock runs, the guest TSC does not. */
		fx.f.now = T0 + 20000 * k;
		virq_lapic_timer_expired(&fx.apic);
		if (k == 1)
			take_tick(&fx, 0xB1);
		else
			assert_true(irr_empty(&fx)); /* one interrupt only */
	}
	assert_false(fx.f.timer_armed);
	assert_int_equal(tsc_msr(&fx), 0);
	assert_invariants(&fx);
}

/* Regression (ACRN: wrong reads after expiry): IA32_TSC_DEADLINE reads 0 once fired. */
static void test_tsc_deadline_reads_0_after_expiry(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	fx.f.use_guest_tsc = true;
	fx.f.tsc = 1ULL << 40;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(0xB1));
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, (1ULL << 40) + 700), 0);
	assert_int_equal(fx.f.timer_deadline, T0 + 700);
	assert_int_equal(tsc_msr(&fx), (1ULL << 40) + 700);
	advance(&fx, 700);
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_has(&fx, 0xB1));
	assert_int_equal(tsc_msr(&fx), 0);
	/* Fired once: later host-timer calls deliver nothing more. */
	take_tick(&fx, 0xB1);
	advance(&fx, 100000);
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_int_equal(tsc_msr(&fx), 0);

	/* Re-armable afterwards. */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 10), 0);
	assert_int_equal(fx.f.timer_deadline, fx.f.now + 10);
	assert_invariants(&fx);
}

/* A deadline at or before the current TSC fires at once and reads 0. */
static void test_tsc_deadline_in_past_fires_at_once(void **state)
{
	static const uint64_t past[] = { 1, 999999, 1000000 /* == TSC */ };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
		timer_setup(&fx, NULL);
		fx.f.use_guest_tsc = true;
		fx.f.tsc = 1000000;
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(0xB2));
		assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, past[i]), 0);
		assert_true(irr_has(&fx, 0xB2));
		assert_int_equal(fx.f.timer_arms, 0);
		assert_int_equal(tsc_msr(&fx), 0);
		take_tick(&fx, 0xB2);
		assert_invariants(&fx);
	}
}

static void test_tsc_deadline_write_0_disarms(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	fx.f.use_guest_tsc = true;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(0xB3));
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 5000), 0);
	/* A later deadline replaces the first. */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 9000), 0);
	assert_int_equal(fx.f.timer_deadline, T0 + 9000);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, 0), 0);
	assert_int_equal(fx.f.timer_cancels, 1);
	assert_false(fx.f.timer_armed);
	assert_int_equal(tsc_msr(&fx), 0);
	advance(&fx, 10000);
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_invariants(&fx);
}

/* Masked in TSC-deadline mode: the expiry is lost, the deadline still clears. */
static void test_tsc_deadline_masked(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	fx.f.use_guest_tsc = true;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(0xB4) | VIRQ_LVT_MASKED);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 300), 0);
	advance(&fx, 300);
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_int_equal(tsc_msr(&fx), 0);
	assert_invariants(&fx);
}

/* Outside TSC-deadline mode: RDMSR reads 0, WRMSR is ignored (no #GP). */
static void test_tsc_deadline_msr_outside_tsc_mode(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned mode = 0; mode < 2; mode++) {
		timer_setup(&fx, NULL);
		fx.f.use_guest_tsc = true;
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, mode ? LVT_PERIODIC(VEC) : LVT_ONESHOT(VEC));
		assert_int_equal(tsc_msr(&fx), 0);
		assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 100), 0);
		assert_int_equal(tsc_msr(&fx), 0);
		assert_int_equal(fx.f.timer_arms, 0);
		assert_int_equal(fx.f.n_gerr, 0);
		/* The ignored write is not remembered for a later mode switch. */
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(VEC));
		assert_int_equal(tsc_msr(&fx), 0);
		assert_int_equal(fx.f.timer_arms, 0);
		advance(&fx, 1000);
		virq_lapic_timer_expired(&fx.apic);
		assert_true(irr_empty(&fx));
		assert_invariants(&fx);
	}
	/* Also while the APIC is software-disabled at reset (LVT masked one-shot). */
	fixture_init(&fx, NULL);
	assert_int_equal(tsc_msr(&fx), 0);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, 12345), 0);
	assert_int_equal(tsc_msr(&fx), 0);
	assert_int_equal(fx.f.timer_arms, 0);
	assert_invariants(&fx);
}

/* Without TSC-deadline support: the MSR faults and bit 18 is reserved. */
static void test_tsc_deadline_unsupported(void **state)
{
	struct virq_lapic_config cfg = fixture_default_config();
	struct lapic_fixture fx;
	uint64_t v = 0;

	(void)state;
	cfg.tsc_deadline = false;
	timer_setup(&fx, &cfg);
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), VIRQ_GP);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, 100), VIRQ_GP);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, 0), VIRQ_GP);
	assert_int_equal(fx.f.timer_arms, 0);
	/* Mode 10b: bit 18 is dropped, so the timer stays one-shot. */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(VEC));
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_TIMER), LVT_ONESHOT(VEC));
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 10);
	assert_int_equal(fx.f.timer_deadline, T0 + 20);
	fx.f.now = T0 + 20;
	virq_lapic_timer_expired(&fx.apic);
	take_tick(&fx, VEC);
	assert_invariants(&fx);
}

/* Initial Count writes are ignored in TSC-deadline mode; CCR reads 0. */
static void test_tmict_ignored_in_tsc_mode(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	timer_setup(&fx, NULL);
	fx.f.use_guest_tsc = true;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(VEC));
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 1000);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), 0);
	assert_int_equal(ccr(&fx), 0);
	assert_int_equal(fx.f.timer_arms, 0);
	/* Also with a deadline armed: the deadline is untouched. */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 4000), 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 10);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), 0);
	assert_int_equal(fx.f.timer_arms, 1);
	assert_int_equal(fx.f.timer_deadline, T0 + 4000);
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_int_equal(tsc_msr(&fx), fx.f.tsc + 4000);
	assert_int_equal(ccr(&fx), 0);
	advance(&fx, 4000);
	virq_lapic_timer_expired(&fx.apic);
	take_tick(&fx, VEC);
	assert_invariants(&fx);
}

/* Without a guest_tsc hook the guest TSC is now_ns() at tsc_khz (lapic.h). */
static void test_tsc_deadline_without_guest_tsc_hook(void **state)
{
	static struct virq_lapic_ops ops;
	struct virq_lapic_config cfg = fixture_default_config();
	struct lapic_fixture fx;

	(void)state;
	ops = fake_ops;
	ops.guest_tsc = NULL;
	cfg.tsc_khz = 2000000; /* guest TSC = 2 * ns */
	memset(&fx.f, 0, sizeof(fx.f));
	fx.cfg = cfg;
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &cfg, &ops, &fx.f), 0);
	fixture_sw_enable(&fx);
	fx.f.now = 1000; /* guest TSC 2000 */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(0xB5));
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, 2000 + 5000), 0);
	assert_int_equal(fx.f.timer_deadline, 1000 + 2500);
	fx.f.now = 3499;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	fx.f.now = 3500;
	virq_lapic_timer_expired(&fx.apic);
	take_tick(&fx, 0xB5);
	assert_int_equal(tsc_msr(&fx), 0);
	/* Past deadline (TSC 7000 now): fires at once. */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, 6999), 0);
	take_tick(&fx, 0xB5);
	/* Large host times: seconds * kHz must not overflow. */
	fx.f.now = 86400ULL * 365 * 1000000000ULL; /* a year */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.now * 2 + 10), 0);
	assert_int_equal(fx.f.timer_deadline, fx.f.now + 5);
	assert_invariants(&fx);
}

/* ---- config: timer input clock ---- */

static void test_timer_tick_ps_scales_period(void **state)
{
	static const struct {
		uint32_t tick_ps, tmict, tdcr;
		uint64_t period_ns;
		uint64_t probe_ns;
		uint32_t probe_ccr;
	} t[] = {
		{ 10000, 100, 0x0, 2000, 20, 99 }, /* 10 ns tick, divide by 2 */
		{ 10000, 7, 0xB, 70, 69, 1 },      /* divide by 1 */
		{ 2500, 8, 0xB, 20, 5, 6 },        /* 2.5 ns tick */
		{ 1000000, 0xFFFFFFFFU, 0xA, 0xFFFFFFFFULL * 128 * 1000, 128000, 0xFFFFFFFEU },
		{ 1000, 1000, 0xB, 1000, 999, 1 }, /* default 1 ns */
	};
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct virq_lapic_config cfg = fixture_default_config();

		cfg.timer_tick_ps = t[i].tick_ps;
		timer_setup(&fx, &cfg);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC));
		mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, t[i].tdcr);
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, t[i].tmict);
		assert_int_equal(fx.f.timer_deadline, T0 + t[i].period_ns);
		fx.f.now = T0 + t[i].probe_ns;
		assert_int_equal(ccr(&fx), t[i].probe_ccr);
		fx.f.now = T0 + t[i].period_ns;
		virq_lapic_timer_expired(&fx.apic);
		take_tick(&fx, VEC);
		assert_int_equal(fx.f.timer_deadline, T0 + 2 * t[i].period_ns);
		assert_invariants(&fx);
	}
}

/* ---- periodic floor (review finding 2) ---- */

/* The fixture with the library's default floor (config 0 = 200 us). */
static void floor_setup(struct lapic_fixture *fx, uint32_t floor_ns)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.timer_min_period_ns = floor_ns;
	timer_setup(fx, &cfg);
}

/* Programs LVT Timer, divide by 1 and Initial Count, in that order. */
static void arm_div1(struct lapic_fixture *fx, uint32_t lvt, uint32_t tmict)
{
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_TIMER, lvt);
	mmio_w(fx, VIRQ_LAPIC_REG_TDCR, 0xB); /* divide by 1 */
	mmio_w(fx, VIRQ_LAPIC_REG_TMICT, tmict);
}

/*
 * Review finding 2: divide by 1, count 3 is a 3 ns periodic timer; every
 * host expiry re-armed 3 ns ahead. With the default floor (200 us, KVM's
 * min_timer_period_us) the interrupt comes at every 66667th reload
 * (200001 ns, the whole periods that span the floor), while Current Count
 * keeps counting 3, 2, 1, 3, ... exactly as the architecture says. Before
 * the fix the first deadline was T0 + 3.
 */
static void test_periodic_floor_default(void **state)
{
	const uint64_t interval = 66667ULL * 3; /* 200001 */
	struct lapic_fixture fx;

	(void)state;
	floor_setup(&fx, 0);
	arm_div1(&fx, LVT_PERIODIC(VEC), 3);
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, T0 + interval);
	/* The count runs at its architectural rate and reloads every 3 ns. */
	assert_int_equal(ccr(&fx), 3);
	advance(&fx, 1);
	assert_int_equal(ccr(&fx), 2);
	advance(&fx, 1);
	assert_int_equal(ccr(&fx), 1);
	advance(&fx, 1);
	assert_int_equal(ccr(&fx), 3); /* reloaded, no interrupt */
	fx.f.now = T0 + 100000;        /* 100000 = 33333 * 3 + 1 */
	assert_int_equal(ccr(&fx), 2);
	/* An early host wake delivers nothing and keeps the deadline. */
	fx.f.now = T0 + interval - 1;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_int_equal(fx.f.timer_deadline, T0 + interval);
	assert_int_equal(ccr(&fx), 1);
	/* At the deadline: one interrupt, at a reload; the next one interval on. */
	fire_at(&fx, T0 + interval);
	assert_int_equal(ccr(&fx), 3);
	assert_int_equal(fx.f.timer_deadline, T0 + 2 * interval);
	/* Late by 5 ns: still on the grid of the count. */
	fire_at(&fx, T0 + 2 * interval + 5);
	assert_int_equal(fx.f.timer_deadline, T0 + 3 * interval);
	assert_int_equal(ccr(&fx), 1); /* 5 = 3 + 2 ns into the count */
	/* Ten host expiries take at least ten floors of host time. */
	for (unsigned k = 0; k < 10; k++) {
		uint64_t before = fx.f.timer_deadline;

		fire_at(&fx, before);
		assert_int_equal(fx.f.timer_deadline - before, interval);
	}
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_invariants(&fx);
}

/* A floor of 1 ns is no floor: the 3 ns timer expires every 3 ns; a timer
 * slower than the floor is not touched by it. */
static void test_periodic_floor_off_and_slow_timers(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	floor_setup(&fx, 1);
	arm_div1(&fx, LVT_PERIODIC(VEC), 3);
	assert_int_equal(fx.f.timer_deadline, T0 + 3);
	fire_at(&fx, T0 + 3);
	assert_int_equal(fx.f.timer_deadline, T0 + 6);

	/* 250 us periodic under the default floor: exactly 250 us. */
	floor_setup(&fx, 0);
	arm_div1(&fx, LVT_PERIODIC(VEC), 250000);
	assert_int_equal(fx.f.timer_deadline, T0 + 250000);
	fire_at(&fx, T0 + 250000);
	assert_int_equal(fx.f.timer_deadline, T0 + 500000);
	/* Exactly the floor: not stretched either. */
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 200000);
	assert_int_equal(fx.f.timer_deadline, fx.f.now + 200000);
	assert_invariants(&fx);
}

/* One-shot and TSC-deadline timers have no floor (each re-arm costs the
 * guest an exit of its own). */
static void test_oneshot_and_tsc_deadline_not_floored(void **state)
{
	struct lapic_fixture fx;
	unsigned arms;

	(void)state;
	floor_setup(&fx, 0);
	arm_div1(&fx, LVT_ONESHOT(VEC), 1);
	assert_int_equal(fx.f.timer_deadline, T0 + 1);
	arms = fx.f.timer_arms;
	fire_at(&fx, T0 + 1);
	assert_int_equal(fx.f.timer_arms, arms); /* one-shot: not re-armed */
	assert_int_equal(ccr(&fx), 0);

	floor_setup(&fx, 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(VEC));
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, T0 + 2), 0);
	assert_int_equal(fx.f.timer_deadline, T0 + 2);
	assert_invariants(&fx);
}

/*
 * A Divide Configuration write while a fast periodic timer counts: the
 * remaining count goes on at the new rate, and the next interrupt is the
 * first reload at least one floor away, on the new grid.
 */
static void test_periodic_floor_divide_changed(void **state)
{
	struct lapic_fixture fx;
	uint64_t now;

	(void)state;
	floor_setup(&fx, 1000); /* 1 us */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC));
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 7); /* 7 ns: interval 1001 ns */
	assert_int_equal(fx.f.timer_deadline, T0 + 1001);
	fx.f.now = T0 + 3; /* count 4 */
	assert_int_equal(ccr(&fx), 4);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0x0); /* divide by 2: 14 ns period */
	now = fx.f.now;
	/* 4 left = 8 ns, then 14 ns periods: 8 + 71 * 14 = 1002 >= 1000. */
	assert_int_equal(fx.f.timer_deadline, now + 8 + 71 * 14);
	assert_int_equal(ccr(&fx), 4);
	fx.f.now = now + 8;
	assert_int_equal(ccr(&fx), 7); /* reloaded at the new rate */
	fx.f.now = now + 8 + 3;
	assert_int_equal(ccr(&fx), 6);
	fx.f.now = now + 8 + 71 * 14;
	virq_lapic_timer_expired(&fx.apic);
	take_tick(&fx, VEC);
	/* From here every 1008 ns (72 periods of 14 ns). */
	assert_int_equal(fx.f.timer_deadline, now + 8 + 71 * 14 + 72 * 14);
	assert_invariants(&fx);
}

/*
 * Mode switches under the floor. Periodic -> one-shot: the one-shot
 * expires at the next 0 of the count, which comes long before the floored
 * deadline (the k-th reload). One-shot -> periodic: the expiry at 0 is the
 * one-shot's own, then every k-th reload. Current Count keeps its rate and
 * phase throughout. Before the fix both writes stopped the count at 0.
 */
static void test_periodic_floor_mode_switch(void **state)
{
	struct lapic_fixture fx;
	unsigned arms;

	(void)state;
	floor_setup(&fx, 1000);              /* 1 us */
	arm_div1(&fx, LVT_PERIODIC(VEC), 7); /* 7 ns: interval 143 * 7 = 1001 ns */
	assert_int_equal(fx.f.timer_deadline, T0 + 1001);
	fx.f.now = T0 + 10;
	assert_int_equal(ccr(&fx), 4);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(VEC));
	assert_int_equal(ccr(&fx), 4);
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, T0 + 14); /* the next 0 */
	fx.f.now = T0 + 13;
	assert_int_equal(ccr(&fx), 1);
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	arms = fx.f.timer_arms;
	fire_at(&fx, T0 + 14);
	assert_int_equal(fx.f.timer_arms, arms);
	assert_int_equal(ccr(&fx), 0);
	fx.f.now = T0 + 2000;
	virq_lapic_timer_expired(&fx.apic);
	assert_true(irr_empty(&fx));
	assert_int_equal(ccr(&fx), 0);
	assert_invariants(&fx);

	floor_setup(&fx, 1000);
	arm_div1(&fx, LVT_ONESHOT(VEC), 7);
	assert_int_equal(fx.f.timer_deadline, T0 + 7);
	fx.f.now = T0 + 2;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(VEC));
	assert_int_equal(ccr(&fx), 5);
	assert_int_equal(fx.f.timer_deadline, T0 + 7);
	fire_at(&fx, T0 + 7);
	assert_int_equal(ccr(&fx), 7);
	assert_int_equal(fx.f.timer_deadline, T0 + 7 + 1001);
	fx.f.now = T0 + 9;
	assert_int_equal(ccr(&fx), 5);
	fx.f.now = T0 + 7 + 1000; /* 142 reloads and 6 ns on */
	assert_int_equal(ccr(&fx), 1);
	fire_at(&fx, T0 + 7 + 1001);
	assert_int_equal(fx.f.timer_deadline, T0 + 7 + 2 * 1001);
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_invariants(&fx);
}

/* The floor is configuration: 1 to 1 s; 0 means the default. */
static void test_periodic_floor_config_bounds(void **state)
{
	static uint32_t page[1024] __attribute__((aligned(4096)));
	static struct virq_lapic apic;
	struct virq_lapic_config cfg = fixture_default_config();
	struct fake_env f;

	(void)state;
	memset(&f, 0, sizeof(f));
	cfg.timer_min_period_ns = VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX + 1U;
	assert_int_equal(virq_lapic_init(&apic, page, &cfg, &fake_ops, &f), -VIRQ_EINVAL);
	cfg.timer_min_period_ns = 0xFFFFFFFFU;
	assert_int_equal(virq_lapic_init(&apic, page, &cfg, &fake_ops, &f), -VIRQ_EINVAL);
	cfg.timer_min_period_ns = VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX;
	assert_int_equal(virq_lapic_init(&apic, page, &cfg, &fake_ops, &f), 0);
	assert_int_equal(VIRQ_LAPIC_TIMER_MIN_PERIOD_DEFAULT, 200000U);
	assert_int_equal(VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX, 1000000000U);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oneshot_fires_once_at_exact_tick),
		cmocka_unit_test(test_tdcr_mask_and_divisor_table),
		cmocka_unit_test(test_oneshot_x2apic),
		cmocka_unit_test(test_ccr_counts_down_exactly),
		cmocka_unit_test(test_ccr_extreme_counts_every_divide),
		cmocka_unit_test(test_ccr_divide_changed_while_armed),
		cmocka_unit_test(test_tmict_zero_disarms),
		cmocka_unit_test(test_tmict_rewrite_restarts),
		cmocka_unit_test(test_periodic_no_drift),
		cmocka_unit_test(test_periodic_long_pause_one_expiry),
		cmocka_unit_test(test_masked_periodic_keeps_reloading),
		cmocka_unit_test(test_masked_oneshot_expiry_lost),
		cmocka_unit_test(test_timer_illegal_vector),
		cmocka_unit_test(test_mode_switch_tsc_deadline_disarms),
		cmocka_unit_test(test_oneshot_to_periodic_keeps_counting),
		cmocka_unit_test(test_periodic_to_oneshot_fires_once_more),
		cmocka_unit_test(test_mode_switch_back_and_forth),
		cmocka_unit_test(test_mode_switch_with_mask_and_vector),
		cmocka_unit_test(test_mode_switch_after_unprocessed_expiry),
		cmocka_unit_test(test_same_mode_lvt_write_keeps_timer),
		cmocka_unit_test(test_tsc_deadline_offset_guest_tsc),
		cmocka_unit_test(test_tsc_deadline_reads_0_after_expiry),
		cmocka_unit_test(test_tsc_deadline_frozen_guest_tsc),
		cmocka_unit_test(test_tsc_deadline_in_past_fires_at_once),
		cmocka_unit_test(test_tsc_deadline_write_0_disarms),
		cmocka_unit_test(test_tsc_deadline_masked),
		cmocka_unit_test(test_tsc_deadline_msr_outside_tsc_mode),
		cmocka_unit_test(test_tsc_deadline_unsupported),
		cmocka_unit_test(test_tmict_ignored_in_tsc_mode),
		cmocka_unit_test(test_tsc_deadline_without_guest_tsc_hook),
		cmocka_unit_test(test_timer_tick_ps_scales_period),
		cmocka_unit_test(test_periodic_floor_default),
		cmocka_unit_test(test_periodic_floor_off_and_slow_timers),
		cmocka_unit_test(test_oneshot_and_tsc_deadline_not_floored),
		cmocka_unit_test(test_periodic_floor_divide_changed),
		cmocka_unit_test(test_periodic_floor_mode_switch),
		cmocka_unit_test(test_periodic_floor_config_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
