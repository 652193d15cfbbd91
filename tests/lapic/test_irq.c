/* SPDX-License-Identifier: MIT */
/*
 * IRR/ISR/TMR: acceptance, priority-class dispatch, nesting, EOI, EOI
 * broadcast suppression, disabled APICs, merging, illegal vectors, kicks.
 * Written from SDM 10.4.7.2 "Local APIC State After It Has Been Software
 * Disabled", 10.8.1 "Interrupt Handling with the Pentium 4 and Intel Xeon
 * Processors" to 10.8.5 "Signaling Interrupt Servicing Completion", 10.9
 * "Spurious Interrupt" and 10.5.2 "Valid Interrupt Vectors" to 10.5.3
 * "Error Handling".
 */
#include "harness.h"

/* ---- helpers ---- */

/* Register read through the guest interface of the current mode. */
static uint32_t rd(struct lapic_fixture *fx, uint32_t off)
{
	uint64_t v = 0;

	switch (virq_lapic_get_mode(&fx->apic)) {
	case VIRQ_LAPIC_MODE_XAPIC:
		return mmio_r(fx, off);
	case VIRQ_LAPIC_MODE_X2APIC:
		assert_int_equal(msr_r(fx, virq_lapic_off_to_msr(off), &v), 0);
		return (uint32_t)v;
	default:
		return fx->page[off >> 2]; /* not decoded: look at the page */
	}
}

static void wr(struct lapic_fixture *fx, uint32_t off, uint32_t val)
{
	if (virq_lapic_get_mode(&fx->apic) == VIRQ_LAPIC_MODE_X2APIC)
		assert_int_equal(msr_w(fx, virq_lapic_off_to_msr(off), val), 0);
	else
		mmio_w(fx, off, val);
}

/* The eight 32-bit words of IRR/ISR/TMR equal exactly the vectors listed. */
static void expect_vecs(struct lapic_fixture *fx, uint32_t base, const uint8_t *v, unsigned n)
{
	uint32_t want[8] = { 0 };

	for (unsigned i = 0; i < n; i++)
		want[v[i] >> 5] |= 1U << (v[i] & 31U);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(rd(fx, base + 16U * i), want[i]);
}

static void expect_empty(struct lapic_fixture *fx, uint32_t base)
{
	expect_vecs(fx, base, NULL, 0);
}

static void expect_one(struct lapic_fixture *fx, uint32_t base, uint8_t v)
{
	expect_vecs(fx, base, &v, 1);
}

/* Latched errors made visible: write ESR (0), then read it. */
static uint32_t esr_publish(struct lapic_fixture *fx)
{
	wr(fx, VIRQ_LAPIC_REG_ESR, 0);
	return rd(fx, VIRQ_LAPIC_REG_ESR);
}

static void post_sync(struct lapic_fixture *fx, uint8_t v, bool level)
{
	virq_lapic_post(&fx->apic, v, level);
	virq_lapic_sync(&fx->apic);
}

/* Deterministic shuffle (LCG), so every run checks the same orders. */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245U + 12345U;
	return *s >> 8;
}

static void shuffle(uint8_t *v, unsigned n, uint32_t seed)
{
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = lcg(&seed) % (i + 1);
		uint8_t t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

static void fixture_cfg(struct lapic_fixture *fx, bool directed_eoi)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.directed_eoi = directed_eoi;
	fixture_init(fx, &cfg);
}

/* ---- SDM 10.8.1 "Interrupt Handling with the Pentium 4 and Intel Xeon
 * Processors", 10.8.4 "Interrupt Acceptance for Fixed Interrupts":
 * acceptance ---- */

/* Acceptance sets IRR[v] and TMR[v] = trigger mode; nothing before the sync. */
static void test_accept_sets_irr_and_tmr(void **state)
{
	static const struct {
		uint8_t vec;
		bool level;
	} t[] = { { 16, false },  { 16, true },    { 0x1F, true }, { 0x20, false },
		  { 0x41, true }, { 0x7F, false }, { 0x80, true }, { 0xC3, false },
		  { 0xFE, true }, { 0xFF, true },  { 0xFF, false } };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		virq_lapic_post(&fx.apic, t[i].vec, t[i].level);
		/* Posted, not yet accepted: the page is untouched. */
		for (unsigned w = 0; w < 8; w++) {
			assert_int_equal(fx.page[(VIRQ_LAPIC_REG_IRR >> 2) + 4 * w], 0);
			assert_int_equal(fx.page[(VIRQ_LAPIC_REG_TMR >> 2) + 4 * w], 0);
		}
		assert_true(virq_lapic_sync(&fx.apic));
		assert_false(virq_lapic_sync(&fx.apic)); /* nothing new */
		expect_one(&fx, VIRQ_LAPIC_REG_IRR, t[i].vec);
		if (t[i].level)
			expect_one(&fx, VIRQ_LAPIC_REG_TMR, t[i].vec);
		else
			expect_empty(&fx, VIRQ_LAPIC_REG_TMR);
		expect_empty(&fx, VIRQ_LAPIC_REG_ISR);
		assert_int_equal(virq_lapic_pending(&fx.apic), t[i].vec);
		assert_int_equal(fx.f.n_gerr, 0);
		assert_invariants(&fx);
	}
}

/*
 * Regression (KVM: TMR cleared on EOI): TMR is the trigger mode of the last
 * accepted interrupt; EOI never changes it (SDM 10.8.4 "Interrupt
 * Acceptance for Fixed Interrupts").
 */
static void test_tmr_set_cleared_at_acceptance_only(void **state)
{
	struct lapic_fixture fx;
	const uint8_t v = 0x70;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);

	post_sync(&fx, v, true);
	expect_one(&fx, VIRQ_LAPIC_REG_TMR, v);
	assert_int_equal(virq_lapic_ack(&fx.apic), v);
	expect_one(&fx, VIRQ_LAPIC_REG_TMR, v); /* ack keeps it */
	mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.eois[0], v);
	expect_one(&fx, VIRQ_LAPIC_REG_TMR, v); /* EOI keeps it */
	expect_empty(&fx, VIRQ_LAPIC_REG_ISR);

	/* An edge acceptance of the same vector clears it. */
	post_sync(&fx, v, false);
	expect_empty(&fx, VIRQ_LAPIC_REG_TMR);
	expect_one(&fx, VIRQ_LAPIC_REG_IRR, v);
	assert_int_equal(virq_lapic_ack(&fx.apic), v);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1); /* edge EOI: no broadcast */
	expect_empty(&fx, VIRQ_LAPIC_REG_TMR);

	/* Level in service, edge accepted into IRR: TMR follows the last
	 * acceptance, and the EOI of the in-service vector sees TMR = 0. */
	post_sync(&fx, v, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), v);
	post_sync(&fx, v, false);
	expect_one(&fx, VIRQ_LAPIC_REG_ISR, v);
	expect_one(&fx, VIRQ_LAPIC_REG_IRR, v);
	expect_empty(&fx, VIRQ_LAPIC_REG_TMR);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);

	/* And the other way round: edge in service, level accepted. */
	assert_int_equal(virq_lapic_ack(&fx.apic), v);
	post_sync(&fx, v, true);
	expect_one(&fx, VIRQ_LAPIC_REG_TMR, v);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 2);
	assert_int_equal(fx.f.eois[1], v);
	expect_one(&fx, VIRQ_LAPIC_REG_TMR, v);
	expect_one(&fx, VIRQ_LAPIC_REG_IRR, v);
	assert_invariants(&fx);
}

/*
 * A level and an edge interrupt of one vector posted before the owner
 * folds collapse into one IRR bit (SDM 10.8.4 "Interrupt Acceptance for
 * Fixed Interrupts"). Their order is not observable (posts race), so
 * libvirq accepts them as the serial order "edge, then level": TMR ends
 * set, in either posting order, and the EOI is broadcast (the level
 * source needs it; the edge one does not mind). Folded separately, the
 * last acceptance wins as above. See test_concurrency for the racing
 * version.
 */
static void test_level_edge_collapse_in_one_fold(void **state)
{
	struct lapic_fixture fx;
	const uint8_t v = 0x71;

	(void)state;
	for (unsigned order = 0; order < 2; order++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		virq_lapic_post(&fx.apic, v, order == 0);
		virq_lapic_post(&fx.apic, v, order != 0);
		assert_true(virq_lapic_sync(&fx.apic));
		expect_one(&fx, VIRQ_LAPIC_REG_IRR, v);
		expect_one(&fx, VIRQ_LAPIC_REG_TMR, v);
		assert_int_equal(virq_lapic_ack(&fx.apic), v);
		assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(fx.f.n_eois, 1);
		assert_int_equal(fx.f.eois[0], v);
		assert_invariants(&fx);
	}
	/* Level folded first, then an edge: the edge is the last acceptance. */
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	virq_lapic_post(&fx.apic, v, true);
	virq_lapic_sync(&fx.apic);
	virq_lapic_post(&fx.apic, v, false);
	virq_lapic_sync(&fx.apic);
	expect_one(&fx, VIRQ_LAPIC_REG_IRR, v);
	expect_empty(&fx, VIRQ_LAPIC_REG_TMR);
	assert_invariants(&fx);
}

/* TMR follows the last acceptance in every TMR register, and on every
 * acceptance path: posted messages and the local self IPI (SDM 10.8.4 "Interrupt
 * Acceptance for Fixed Interrupts", 10.6.1 "Interrupt Command Register (ICR)"). */
static void test_tmr_every_word_and_self_ipi(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (unsigned w = 0; w < 8; w++) {
		uint8_t v = (uint8_t)(32 * w + 17);

		post_sync(&fx, v, true);
		assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, v));
		post_sync(&fx, v, false);
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, v));
		post_sync(&fx, v, true);
		assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, v));
		/* Self IPI: an edge acceptance of the same vector. */
		mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, (1U << 18) | (1U << 14) | v);
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, v));
		assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, v));
	}
	expect_empty(&fx, VIRQ_LAPIC_REG_TMR);
	assert_int_equal(fx.f.n_ipis, 0);
	assert_invariants(&fx);
}

/* ---- SDM 10.8.3.1 "Task and Processor Priorities", 10.8.4 "Interrupt
 * Acceptance for Fixed Interrupts": highest deliverable vector ---- */

/* Deliverable iff class(v) > class(TPR); sub-class ignored. Every TPR x vector. */
static void test_deliverable_class_vs_tpr(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (unsigned tpr = 0; tpr < 256; tpr++) {
		for (unsigned v = 16; v < 256; v++) {
			bool ok = (v >> 4) > (tpr >> 4);

			mmio_w(&fx, VIRQ_LAPIC_REG_TPR, tpr);
			assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), tpr);
			post_sync(&fx, (uint8_t)v, false);
			assert_int_equal(virq_lapic_pending(&fx.apic), ok ? (int)v : -1);
			assert_int_equal(virq_lapic_has_work(&fx.apic), ok);
			if (!ok) {
				assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
				assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, (uint8_t)v));
				mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0);
			}
			assert_int_equal(virq_lapic_ack(&fx.apic), (int)v);
			virq_lapic_eoi(&fx.apic);
		}
	}
	assert_int_equal(fx.f.n_eois, 0);
	assert_invariants(&fx);
}

/* Deliverable iff class(v) > class(ISRV) with TPR 0. Every in-service x vector. */
static void test_deliverable_class_vs_isr(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (unsigned s = 16; s < 256; s++) {
		post_sync(&fx, (uint8_t)s, false);
		assert_int_equal(virq_lapic_ack(&fx.apic), (int)s);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), s & 0xF0U);
		for (unsigned v = 16; v < 256; v++) {
			bool ok = (v >> 4) > (s >> 4);

			post_sync(&fx, (uint8_t)v, false);
			assert_int_equal(virq_lapic_pending(&fx.apic), ok ? (int)v : -1);
			if (ok) {
				assert_int_equal(virq_lapic_ack(&fx.apic), (int)v);
				assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), v & 0xF0U);
				virq_lapic_eoi(&fx.apic); /* retires v, back to s */
				assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), s & 0xF0U);
				expect_one(&fx, VIRQ_LAPIC_REG_ISR, (uint8_t)s);
			} else {
				assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
				/* Leave it; it is delivered after s retires. */
				virq_lapic_eoi(&fx.apic);
				assert_int_equal(virq_lapic_ack(&fx.apic), (int)v);
				virq_lapic_eoi(&fx.apic);
				expect_empty(&fx, VIRQ_LAPIC_REG_ISR);
				post_sync(&fx, (uint8_t)s, false);
				assert_int_equal(virq_lapic_ack(&fx.apic), (int)s);
			}
		}
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0);
		expect_empty(&fx, VIRQ_LAPIC_REG_ISR);
		expect_empty(&fx, VIRQ_LAPIC_REG_IRR);
	}
	assert_invariants(&fx);
}

/* PPR class wins over a higher TPR sub-class, and TPR over a lower ISRV. */
static void test_deliverable_tpr_and_isr_combined(void **state)
{
	static const struct {
		uint8_t tpr, isv; /* isv 0: nothing in service */
		uint8_t ppr;
		uint8_t first_ok; /* lowest deliverable vector */
	} t[] = {
		{ 0x00, 0x00, 0x00, 0x10 }, { 0x00, 0x31, 0x30, 0x40 }, { 0x3F, 0x31, 0x3F, 0x40 },
		{ 0x2F, 0x31, 0x30, 0x40 }, { 0x4F, 0x31, 0x4F, 0x50 }, { 0x40, 0x5A, 0x50, 0x60 },
		{ 0xEF, 0x21, 0xEF, 0xF0 }, { 0x10, 0xF0, 0xF0, 0x00 }, { 0xF0, 0x00, 0xF0, 0x00 },
	};
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		if (t[i].isv) {
			post_sync(&fx, t[i].isv, false);
			assert_int_equal(virq_lapic_ack(&fx.apic), t[i].isv);
		}
		mmio_w(&fx, VIRQ_LAPIC_REG_TPR, t[i].tpr);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), t[i].ppr);
		/* Ascending posts: each new vector is the highest in IRR. */
		for (unsigned v = 16; v < 256; v++) {
			bool ok = t[i].first_ok && v >= t[i].first_ok;

			post_sync(&fx, (uint8_t)v, false);
			assert_int_equal(virq_lapic_pending(&fx.apic), ok ? (int)v : -1);
		}
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), t[i].ppr);
		assert_invariants(&fx);
	}
}

/* ---- SDM 10.8.1 "Interrupt Handling with the Pentium 4 and Intel Xeon
 * Processors", 10.8.4 "Interrupt Acceptance for Fixed Interrupts":
 * delivery order ---- */

static void run_order(const uint8_t *set, unsigned n, uint32_t seed)
{
	struct lapic_fixture fx;
	uint8_t v[256], sorted[256];

	memcpy(v, set, n);
	memcpy(sorted, set, n);
	/* Descending reference order. */
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (sorted[j] > sorted[i]) {
				uint8_t t = sorted[i];

				sorted[i] = sorted[j];
				sorted[j] = t;
			}
	shuffle(v, n, seed);

	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (unsigned i = 0; i < n; i++)
		virq_lapic_post(&fx.apic, v[i], false);
	virq_lapic_sync(&fx.apic);
	expect_vecs(&fx, VIRQ_LAPIC_REG_IRR, set, n);

	/* Without EOIs only the highest is delivered: every other vector is in
	 * the same or a lower class than the one now in service. */
	assert_int_equal(virq_lapic_ack(&fx.apic), sorted[0]);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), sorted[0] & 0xF0U);
	virq_lapic_eoi(&fx.apic);

	/* With an EOI after each: exact descending order. */
	for (unsigned i = 1; i < n; i++) {
		assert_int_equal(virq_lapic_ack(&fx.apic), sorted[i]);
		expect_one(&fx, VIRQ_LAPIC_REG_ISR, sorted[i]);
		virq_lapic_eoi(&fx.apic);
	}
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	expect_empty(&fx, VIRQ_LAPIC_REG_IRR);
	expect_empty(&fx, VIRQ_LAPIC_REG_ISR);
	assert_int_equal(fx.f.n_eois, 0);
	assert_invariants(&fx);
}

static void test_order_descending_random_posts(void **state)
{
	static const uint8_t within[] = { 0x50, 0x5F, 0x57, 0x51, 0x5A };
	static const uint8_t across[] = { 0x22, 0xE1, 0x93, 0x40, 0xFF, 0x10, 0x7C, 0xB5 };
	static const uint8_t mixed[] = {
		0x31, 0x3E, 0x30, 0x81, 0x8F, 0x84, 0xC0, 0xCF, 0x12, 0x1F
	};
	uint8_t all[240];

	(void)state;
	for (unsigned i = 0; i < 240; i++)
		all[i] = (uint8_t)(16 + i);
	for (uint32_t seed = 1; seed <= 8; seed++) {
		run_order(within, sizeof(within), seed);
		run_order(across, sizeof(across), seed);
		run_order(mixed, sizeof(mixed), seed);
		run_order(all, sizeof(all), seed);
	}
}

/* Higher class preempts; same and lower class wait for the EOI. */
static void test_order_nested_preemption(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);

	post_sync(&fx, 0x35, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x35);
	post_sync(&fx, 0x31, false); /* lower, same class */
	post_sync(&fx, 0x3A, false); /* higher, same class: still waits */
	post_sync(&fx, 0x2F, false); /* lower class */
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);

	post_sync(&fx, 0x45, false); /* higher class: preempts */
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x45);
	{
		const uint8_t isr[] = { 0x35, 0x45 };
		const uint8_t irr[] = { 0x2F, 0x31, 0x3A };

		expect_vecs(&fx, VIRQ_LAPIC_REG_ISR, isr, 2);
		expect_vecs(&fx, VIRQ_LAPIC_REG_IRR, irr, 3);
	}
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x40);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);

	virq_lapic_eoi(&fx.apic); /* retires 0x45 */
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x30);
	expect_one(&fx, VIRQ_LAPIC_REG_ISR, 0x35);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR); /* 0x3A: class 3 */

	virq_lapic_eoi(&fx.apic); /* retires 0x35 */
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x00);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x3A);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x31);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x2F);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	expect_empty(&fx, VIRQ_LAPIC_REG_ISR);
	assert_invariants(&fx);
}

/* ---- SDM 10.8.5 "Signaling Interrupt Servicing Completion": nested
 * ISR, EOI retires the highest ISR bit ---- */

static void test_nested_isr_eoi_order(void **state)
{
	static const uint8_t chain[] = { 0x30, 0x4C, 0x61, 0x9F, 0xA0, 0xF3 };
	const unsigned n = sizeof(chain);
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x25);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x25);

	for (unsigned i = 0; i < n; i++) {
		post_sync(&fx, chain[i], false);
		assert_int_equal(virq_lapic_ack(&fx.apic), chain[i]);
		expect_vecs(&fx, VIRQ_LAPIC_REG_ISR, chain, i + 1);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), chain[i] & 0xF0U);
	}
	for (unsigned i = n; i-- > 0;) {
		mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
		expect_vecs(&fx, VIRQ_LAPIC_REG_ISR, chain, i);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR),
				 i ? (chain[i - 1] & 0xF0U) : 0x25U);
	}
	assert_int_equal(fx.f.n_eois, 0);

	/* The EOI value is irrelevant in xAPIC mode: any value retires one. */
	post_sync(&fx, 0x80, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x80);
	mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0x12345678);
	expect_empty(&fx, VIRQ_LAPIC_REG_ISR);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x25);
	assert_invariants(&fx);
}

/* Nested chain in x2APIC mode, EOI through MSR 0x80B (write 0). */
static void test_nested_isr_eoi_order_x2apic(void **state)
{
	static const uint8_t chain[] = { 0x21, 0x55, 0x7A, 0xE0 };
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_x2apic_enable(&fx);
	for (unsigned i = 0; i < sizeof(chain); i++) {
		post_sync(&fx, chain[i], true);
		assert_int_equal(virq_lapic_ack(&fx.apic), chain[i]);
	}
	for (unsigned i = sizeof(chain); i-- > 0;) {
		assert_int_equal(msr_w(&fx, 0x80B, 0), 0);
		expect_vecs(&fx, VIRQ_LAPIC_REG_ISR, chain, i);
		assert_int_equal(msr_r(&fx, 0x80A, &v), 0);
		assert_int_equal(v, i ? (chain[i - 1] & 0xF0U) : 0U);
		assert_int_equal(fx.f.n_eois, sizeof(chain) - i);
		assert_int_equal(fx.f.eois[sizeof(chain) - i - 1], chain[i]);
	}
	assert_invariants(&fx);
}

/* Spurious EOI (ISR empty): nothing changes, nothing is called. */
static void test_spurious_eoi_empty_isr(void **state)
{
	struct lapic_fixture fx;
	uint32_t before[1024];

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x90);
	post_sync(&fx, 0x42, true); /* level, masked by TPR: stays in IRR */
	memcpy(before, fx.page, sizeof(before));

	virq_lapic_eoi(&fx.apic);
	mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
	assert_memory_equal(before, fx.page, sizeof(before));
	assert_int_equal(fx.f.n_eois, 0);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x90);
	expect_one(&fx, VIRQ_LAPIC_REG_IRR, 0x42);
	assert_invariants(&fx);
}

/* ---- SDM 10.8.5 "Signaling Interrupt Servicing Completion": level
 * EOI, broadcast suppression ---- */

static void test_eoi_level_called_once_edge_not(void **state)
{
	static const uint8_t vecs[] = { 0x10, 0x20, 0x3F, 0x81, 0xFF };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(vecs); i++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		post_sync(&fx, vecs[i], false);
		assert_int_equal(virq_lapic_ack(&fx.apic), vecs[i]);
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(fx.f.n_eois, 0);

		post_sync(&fx, vecs[i], true);
		assert_int_equal(virq_lapic_ack(&fx.apic), vecs[i]);
		assert_int_equal(fx.f.n_eois, 0); /* not at ack */
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(fx.f.n_eois, 1);
		assert_int_equal(fx.f.eois[0], vecs[i]);
		virq_lapic_eoi(&fx.apic); /* spurious now */
		assert_int_equal(fx.f.n_eois, 1);
		assert_invariants(&fx);
	}
}

/* Nested level and edge vectors: exactly the level ones, in EOI order. */
static void test_eoi_level_nested_mix(void **state)
{
	static const struct {
		uint8_t v;
		bool lvl;
	} t[] = {
		{ 0x31, true }, { 0x42, false }, { 0x53, true }, { 0x64, true }, { 0x75, false },
	};
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (unsigned i = 0; i < 5; i++) {
		post_sync(&fx, t[i].v, t[i].lvl);
		assert_int_equal(virq_lapic_ack(&fx.apic), t[i].v);
	}
	for (unsigned i = 0; i < 5; i++)
		virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 3);
	assert_int_equal(fx.f.eois[0], 0x64);
	assert_int_equal(fx.f.eois[1], 0x53);
	assert_int_equal(fx.f.eois[2], 0x31);
	assert_invariants(&fx);
}

/*
 * Regressions (KVM and QEMU: suppress-EOI-broadcast advertised but EOIs
 * still broadcast; crosvm: directed EOI advertised but not implemented):
 * every combination of Version[24] (config directed_eoi), the SVR[12]
 * write and the trigger mode, in both modes (SDM 10.4.8 "Local APIC
 * Version Register", 10.8.5 "Signaling Interrupt Servicing Completion",
 * 10.9 "Spurious Interrupt").
 */
static void test_eoi_broadcast_suppression_matrix(void **state)
{
	(void)state;
	for (unsigned x2 = 0; x2 < 2; x2++) {
		for (unsigned de = 0; de < 2; de++) {
			for (unsigned bit12 = 0; bit12 < 2; bit12++) {
				struct lapic_fixture fx;
				uint32_t svr = 0x1FFU | (bit12 ? VIRQ_LAPIC_SVR_EOI_SUPPRESS : 0);
				bool suppress = de && bit12;

				fixture_cfg(&fx, de);
				if (x2)
					fixture_x2apic_enable(&fx);
				else
					fixture_sw_enable(&fx);
				assert_int_equal(rd(&fx, VIRQ_LAPIC_REG_VERSION),
						 0x14U | (6U << 16) | (de ? (1U << 24) : 0U));
				if (x2 && bit12 && !de) {
					/* Reserved bit in x2APIC mode: #GP, SVR unchanged. */
					assert_int_equal(msr_w(&fx, 0x80F, svr), VIRQ_GP);
				} else {
					wr(&fx, VIRQ_LAPIC_REG_SVR, svr);
				}
				assert_int_equal(rd(&fx, VIRQ_LAPIC_REG_SVR),
						 0x1FFU | (suppress ? VIRQ_LAPIC_SVR_EOI_SUPPRESS
								    : 0));

				/* Level vector: broadcast unless suppressed. */
				post_sync(&fx, 0x66, true);
				assert_int_equal(virq_lapic_ack(&fx.apic), 0x66);
				wr(&fx, VIRQ_LAPIC_REG_EOI, 0);
				assert_int_equal(fx.f.n_eois, suppress ? 0U : 1U);
				if (!suppress)
					assert_int_equal(fx.f.eois[0], 0x66);
				expect_empty(&fx, VIRQ_LAPIC_REG_ISR);
				expect_one(&fx, VIRQ_LAPIC_REG_TMR, 0x66);

				/* Edge vector: never. */
				post_sync(&fx, 0x67, false);
				assert_int_equal(virq_lapic_ack(&fx.apic), 0x67);
				wr(&fx, VIRQ_LAPIC_REG_EOI, 0);
				assert_int_equal(fx.f.n_eois, suppress ? 0U : 1U);

				/* Clearing SVR[12] again restores the broadcast. */
				wr(&fx, VIRQ_LAPIC_REG_SVR, 0x1FF);
				post_sync(&fx, 0x68, true);
				assert_int_equal(virq_lapic_ack(&fx.apic), 0x68);
				wr(&fx, VIRQ_LAPIC_REG_EOI, 0);
				assert_int_equal(fx.f.n_eois, suppress ? 1U : 2U);
				assert_int_equal(fx.f.eois[fx.f.n_eois - 1], 0x68);
				assert_invariants(&fx);
			}
		}
	}
}

/* ---- disabled APICs (SDM 10.4.3 "Enabling or Disabling the Local APIC", 10.4.7.2 "Local
 * APIC State After It Has Been Software Disabled"; fixed ones dropped as KVM and bhyve)
 * ---- */

/* Software-disabled (SVR[8] = 0, the reset state): fixed interrupts dropped. */
static void test_dropped_while_sw_disabled(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned x2 = 0; x2 < 2; x2++) {
		fixture_init(&fx, NULL);
		if (x2)
			fixture_x2apic_enable(&fx);
		wr(&fx, VIRQ_LAPIC_REG_SVR, 0xFF); /* disabled */
		for (unsigned v = 16; v < 256; v += 7)
			virq_lapic_post(&fx.apic, (uint8_t)v, (v & 1U) != 0);
		virq_lapic_post(&fx.apic, 5, false);
		assert_false(virq_lapic_sync(&fx.apic));
		expect_empty(&fx, VIRQ_LAPIC_REG_IRR);
		expect_empty(&fx, VIRQ_LAPIC_REG_TMR);
		assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		assert_false(virq_lapic_has_work(&fx.apic));

		/* Dropped, not held: enabling later does not revive them. */
		wr(&fx, VIRQ_LAPIC_REG_SVR, 0x1FF);
		assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		expect_empty(&fx, VIRQ_LAPIC_REG_IRR);
		/* An illegal vector is dropped before the ESR check. */
		assert_int_equal(esr_publish(&fx), 0);
		assert_invariants(&fx);
	}
}

/* Globally disabled (IA32_APIC_BASE.EN = 0): fixed interrupts dropped. */
static void test_dropped_while_globally_disabled(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	assert_int_equal(
		virq_lapic_set_apic_base(&fx.apic, 0xFEE00000ULL | VIRQ_APIC_BASE_BSP, false), 0);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_DISABLED);
	virq_lapic_post(&fx.apic, 0x40, false);
	virq_lapic_post(&fx.apic, 0x91, true);
	virq_lapic_post(&fx.apic, 0x05, false);
	virq_lapic_sync(&fx.apic);
	for (unsigned v = 0; v < 256; v++) {
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_IRR, (uint8_t)v));
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, (uint8_t)v));
	}
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_false(virq_lapic_has_work(&fx.apic));
	assert_int_equal(fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR], 0);
	assert_int_equal(fx.apic.esr_pending, 0);
	assert_invariants(&fx);
}

/* A globally disabled APIC delivers nothing, even what IRR still holds
 * (lapic.h virq_lapic_pending; SDM 10.4.3 "Enabling or Disabling the
 * Local APIC": as if there were no APIC). */
static void test_global_disable_delivers_nothing(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	post_sync(&fx, 0x40, false);
	post_sync(&fx, 0xC8, true);
	assert_int_equal(virq_lapic_pending(&fx.apic), 0xC8);
	assert_int_equal(
		virq_lapic_set_apic_base(&fx.apic, 0xFEE00000ULL | VIRQ_APIC_BASE_BSP, false), 0);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_false(virq_lapic_has_work(&fx.apic));
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 0);
	assert_invariants(&fx);
}

/*
 * IRR and ISR are held across a software disable (SDM 10.4.7.2 "Local
 * APIC State After It Has Been Software Disabled"). lapic.h
 * (virq_lapic_pending) documents the choice for the ambiguous part: held
 * IRR vectors are still delivered while software-disabled; only new
 * arrivals are dropped.
 */
static void test_irr_isr_held_across_sw_disable(void **state)
{
	struct lapic_fixture fx;
	const uint8_t irr[] = { 0x51, 0x92 };
	const uint8_t tmr[] = { 0x61, 0x92 };

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	post_sync(&fx, 0x61, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
	post_sync(&fx, 0x51, false);
	post_sync(&fx, 0x92, true);

	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0xFF);
	expect_vecs(&fx, VIRQ_LAPIC_REG_IRR, irr, 2);
	expect_one(&fx, VIRQ_LAPIC_REG_ISR, 0x61);
	expect_vecs(&fx, VIRQ_LAPIC_REG_TMR, tmr, 2);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x60);

	/* A new post while disabled is dropped; the held ones stay. */
	post_sync(&fx, 0xA0, false);
	expect_vecs(&fx, VIRQ_LAPIC_REG_IRR, irr, 2);
	expect_vecs(&fx, VIRQ_LAPIC_REG_TMR, tmr, 2);

	/* Held vectors remain deliverable (documented in lapic.h). */
	assert_int_equal(virq_lapic_pending(&fx.apic), 0x92);
	assert_true(virq_lapic_has_work(&fx.apic));
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x92);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR); /* 0x51 < class 9 */
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.eois[0], 0x92);
	expect_one(&fx, VIRQ_LAPIC_REG_ISR, 0x61);

	/* Re-enable: the rest comes out as usual. */
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x1FF);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR); /* 0x51 vs 0x61 */
	virq_lapic_eoi(&fx.apic);                                             /* retires 0x61 */
	assert_int_equal(fx.f.n_eois, 2);
	assert_int_equal(fx.f.eois[1], 0x61);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x51);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 2);
	expect_empty(&fx, VIRQ_LAPIC_REG_IRR);
	expect_empty(&fx, VIRQ_LAPIC_REG_ISR);
	assert_invariants(&fx);
}

/* ---- SDM 10.8.4 "Interrupt Acceptance for Fixed Interrupts": merging;
 * once in ISR and once in IRR ---- */

static void test_merge_same_vector(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	/* Twice posted before a sync. */
	virq_lapic_post(&fx.apic, 0x77, false);
	virq_lapic_post(&fx.apic, 0x77, false);
	virq_lapic_sync(&fx.apic);
	/* And once more after the sync, before the ack. */
	post_sync(&fx, 0x77, false);
	expect_one(&fx, VIRQ_LAPIC_REG_IRR, 0x77);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x77);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	expect_empty(&fx, VIRQ_LAPIC_REG_IRR);
	assert_invariants(&fx);
}

static void test_vector_in_isr_and_irr(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	post_sync(&fx, 0x88, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x88);
	post_sync(&fx, 0x88, false);
	post_sync(&fx, 0x88, false); /* third arrival merges into IRR */
	expect_one(&fx, VIRQ_LAPIC_REG_ISR, 0x88);
	expect_one(&fx, VIRQ_LAPIC_REG_IRR, 0x88);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR); /* same class */
	virq_lapic_eoi(&fx.apic);
	expect_empty(&fx, VIRQ_LAPIC_REG_ISR);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x88);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_invariants(&fx);
}

/* ---- SDM 10.5.2 "Valid Interrupt Vectors", 10.5.3 "Error Handling": illegal vectors 0-15 ---- */

static void test_illegal_vector_dropped_esr_bit6(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned x2 = 0; x2 < 2; x2++) {
		for (unsigned v = 0; v < 16; v++) {
			fixture_init(&fx, NULL);
			if (x2)
				fixture_x2apic_enable(&fx);
			else
				fixture_sw_enable(&fx);
			virq_lapic_post(&fx.apic, (uint8_t)v, (v & 1U) != 0);
			virq_lapic_post(&fx.apic, 0x33, false); /* a legal companion */
			virq_lapic_sync(&fx.apic);
			expect_one(&fx, VIRQ_LAPIC_REG_IRR, 0x33);
			expect_empty(&fx, VIRQ_LAPIC_REG_TMR);
			assert_int_equal(fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR], 1);
			assert_int_equal(fx.f.n_gerr, 1);
			assert_int_equal(rd(&fx, VIRQ_LAPIC_REG_ESR), 0); /* latched only */
			assert_int_equal(esr_publish(&fx), VIRQ_LAPIC_ESR_RECV_ILLEGAL);
			assert_int_equal(esr_publish(&fx), 0);
			assert_int_equal(virq_lapic_ack(&fx.apic), 0x33);
			assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
			assert_invariants(&fx);
		}
	}
}

/* ---- lapic.h threads section: kick once per notification ---- */

static void test_kick_once_per_notification(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	assert_int_equal(fx.f.kicks, 0);
	virq_lapic_post(&fx.apic, 0x40, false);
	assert_int_equal(fx.f.kicks, 1);
	virq_lapic_post(&fx.apic, 0x41, false);
	virq_lapic_post(&fx.apic, 0x40, false);
	assert_int_equal(fx.f.kicks, 1); /* ON already set */
	/* Level posts have their own notification: one kick for the first. */
	virq_lapic_post(&fx.apic, 0xF1, true);
	assert_int_equal(fx.f.kicks, 2);
	virq_lapic_post(&fx.apic, 0xF1, true); /* merges */
	assert_int_equal(fx.f.kicks, 2);
	virq_lapic_sync(&fx.apic);
	assert_int_equal(fx.f.kicks, 2); /* the owner never kicks itself */
	virq_lapic_post(&fx.apic, 0x42, false);
	assert_int_equal(fx.f.kicks, 3);
	virq_lapic_post(&fx.apic, 0x43, false);
	assert_int_equal(fx.f.kicks, 3);
	assert_int_equal(virq_lapic_pending(&fx.apic), 0xF1); /* syncs */
	/* A vector already in IRR still needs a fresh notification. */
	virq_lapic_post(&fx.apic, 0x40, false);
	assert_int_equal(fx.f.kicks, 4);
	virq_lapic_sync(&fx.apic);
	/* Syncs with nothing posted do not re-arm anything. */
	virq_lapic_sync(&fx.apic);
	assert_int_equal(fx.f.kicks, 4);
	{
		const uint8_t irr[] = { 0x40, 0x41, 0x42, 0x43, 0xF1 };

		expect_vecs(&fx, VIRQ_LAPIC_REG_IRR, irr, 5);
	}
	assert_invariants(&fx);
}

/* ---- has_work ---- */

static void test_has_work(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	assert_false(virq_lapic_has_work(&fx.apic));

	/* Posted, not yet synced: has_work syncs first. */
	virq_lapic_post(&fx.apic, 0x55, false);
	assert_true(virq_lapic_has_work(&fx.apic));
	expect_one(&fx, VIRQ_LAPIC_REG_IRR, 0x55);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x55);
	assert_false(virq_lapic_has_work(&fx.apic));

	/* Pending but blocked by the in-service class: no work. */
	post_sync(&fx, 0x5F, false);
	assert_false(virq_lapic_has_work(&fx.apic));
	virq_lapic_eoi(&fx.apic);
	assert_true(virq_lapic_has_work(&fx.apic));

	/* Blocked by TPR, then released. */
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x50);
	assert_false(virq_lapic_has_work(&fx.apic));
	assert_int_equal(virq_lapic_set_cr8(&fx.apic, 4), 0);
	assert_true(virq_lapic_has_work(&fx.apic));
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x5F);
	virq_lapic_eoi(&fx.apic);
	assert_false(virq_lapic_has_work(&fx.apic));

	/* A pending NMI is work too. */
	{
		struct virq_apic_msg m;
		struct virq_lapic_events ev;

		memset(&m, 0, sizeof(m));
		m.delivery = VIRQ_DM_NMI;
		m.level = true;
		virq_lapic_post_msg(&fx.apic, &m);
		assert_true(virq_lapic_has_work(&fx.apic));
		assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
		assert_false(virq_lapic_has_work(&fx.apic));
	}
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_sets_irr_and_tmr),
		cmocka_unit_test(test_tmr_set_cleared_at_acceptance_only),
		cmocka_unit_test(test_level_edge_collapse_in_one_fold),
		cmocka_unit_test(test_tmr_every_word_and_self_ipi),
		cmocka_unit_test(test_deliverable_class_vs_tpr),
		cmocka_unit_test(test_deliverable_class_vs_isr),
		cmocka_unit_test(test_deliverable_tpr_and_isr_combined),
		cmocka_unit_test(test_order_descending_random_posts),
		cmocka_unit_test(test_order_nested_preemption),
		cmocka_unit_test(test_nested_isr_eoi_order),
		cmocka_unit_test(test_nested_isr_eoi_order_x2apic),
		cmocka_unit_test(test_spurious_eoi_empty_isr),
		cmocka_unit_test(test_eoi_level_called_once_edge_not),
		cmocka_unit_test(test_eoi_level_nested_mix),
		cmocka_unit_test(test_eoi_broadcast_suppression_matrix),
		cmocka_unit_test(test_dropped_while_sw_disabled),
		cmocka_unit_test(test_dropped_while_globally_disabled),
		cmocka_unit_test(test_global_disable_delivers_nothing),
		cmocka_unit_test(test_irr_isr_held_across_sw_disable),
		cmocka_unit_test(test_merge_same_vector),
		cmocka_unit_test(test_vector_in_isr_and_irr),
		cmocka_unit_test(test_illegal_vector_dropped_esr_bit6),
		cmocka_unit_test(test_kick_once_per_notification),
		cmocka_unit_test(test_has_work),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
