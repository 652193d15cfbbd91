/* SPDX-License-Identifier: MIT */
/*
 * The EOI fast path of virq_lapic_mmio_write() and virq_lapic_msr_write()
 * against the slow path (lapic_mmio_write_slow(), lapic_msr_write_slow()):
 * for random LAPIC states and every access form of the EOI register, the
 * return value, the hook calls and the whole saved state must be the same.
 * Then the cases the fast path must leave alone, pinned one by one.
 */
#include "harness.h"
#include "twins.h"

enum form_kind {
	FORM_MMIO,
	FORM_MSR
};

struct form {
	enum form_kind kind;
	uint32_t where; /* MMIO offset or MSR */
	unsigned size;  /* MMIO */
	uint64_t val;
};

#define EOI_MSR (VIRQ_X2APIC_MSR_BASE + (VIRQ_LAPIC_REG_EOI >> 4))

static int apply(struct lapic_fixture *fx, const struct form *fm, bool slow)
{
	if (fm->kind == FORM_MMIO)
		return slow ? lapic_mmio_write_slow(&fx->apic, fm->where, fm->size, fm->val)
			    : virq_lapic_mmio_write(&fx->apic, fm->where, fm->size, fm->val);
	return slow ? lapic_msr_write_slow(&fx->apic, fm->where, fm->val)
		    : virq_lapic_msr_write(&fx->apic, fm->where, fm->val);
}

/* What the differential run saw, so the test can check it covered the rules. */
struct coverage {
	unsigned eois;       /* an ISR bit retired */
	unsigned level_eois; /* eoi_level called */
	unsigned suppressed; /* a level vector retired with SVR[12] set: no call */
	unsigned spurious;   /* EOI register written with ISR empty */
	unsigned gp;         /* VIRQ_GP */
	unsigned gerr;       /* a guest_error report */
	unsigned by_mode[3];
};

static void diff_one(enum virq_lapic_mode mode, const struct form *fm, struct coverage *cov)
{
	static struct lapic_fixture a, b;
	static struct virq_lapic_state sa, sb;
	int ra, rb, h;
	bool level, suppress, eoi_form;

	make_twins(&a, &b, mode);
	h = highest(a.page, VIRQ_LAPIC_REG_ISR);
	level = h >= 0 && page_vec(&a, VIRQ_LAPIC_REG_TMR, (uint8_t)h);
	suppress = (a.page[VIRQ_LAPIC_REG_SVR >> 2] & VIRQ_LAPIC_SVR_EOI_SUPPRESS) != 0;
	/* The accesses that are an EOI (SDM 10.4.1 "The Local APIC Block
	 * Diagram", 10.12.1.2 "x2APIC Register Address Space"). */
	eoi_form = fm->kind == FORM_MMIO ? mode == VIRQ_LAPIC_MODE_XAPIC &&
						   fm->where == VIRQ_LAPIC_REG_EOI && fm->size == 4
					 : mode == VIRQ_LAPIC_MODE_X2APIC && fm->val == 0;

	ra = apply(&a, fm, false);
	rb = apply(&b, fm, true);
	assert_int_equal(ra, rb);
	/* Hooks: level EOIs in order, guest errors per code, IPIs, kicks. */
	assert_int_equal(a.f.n_eois, b.f.n_eois);
	assert_memory_equal(a.f.eois, b.f.eois, sizeof(a.f.eois));
	assert_int_equal(a.f.n_gerr, b.f.n_gerr);
	assert_memory_equal(a.f.gerr, b.f.gerr, sizeof(a.f.gerr));
	assert_int_equal(a.f.n_ipis, b.f.n_ipis);
	assert_int_equal(a.f.kicks, b.f.kicks);
	/* The whole state, and the page beside it. */
	assert_int_equal(virq_lapic_save(&a.apic, &sa), 0);
	assert_int_equal(virq_lapic_save(&b.apic, &sb), 0);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	assert_memory_equal(a.page, b.page, sizeof(a.page));
	assert_invariants(&a);

	cov->by_mode[mode]++;
	if (ra == VIRQ_GP)
		cov->gp++;
	if (a.f.n_gerr)
		cov->gerr++;
	if (!eoi_form) {
		/* Anything else retires nothing. */
		assert_int_equal(highest(a.page, VIRQ_LAPIC_REG_ISR), h);
		assert_int_equal(a.f.n_eois, 0);
	} else if (h >= 0) {
		assert_false(page_vec(&a, VIRQ_LAPIC_REG_ISR, (uint8_t)h));
		assert_int_equal(a.f.n_gerr, 0);
		assert_int_equal(ra, 0);
		cov->eois++;
		/* The retired vector's level EOI: once, unless suppressed. */
		assert_int_equal(a.f.n_eois, level && !suppress ? 1 : 0);
		if (a.f.n_eois)
			assert_int_equal(a.f.eois[0], h);
		if (level && suppress)
			cov->suppressed++;
		cov->level_eois += a.f.n_eois;
	} else {
		assert_int_equal(a.f.n_eois, 0);
		assert_int_equal(a.f.n_gerr, 0);
		cov->spurious++;
	}
}

/* Every form on many random states, in each mode. */
static void test_fast_equals_slow(void **state)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	static const uint64_t msr_vals[6] = { 0, 1, 0x80, 0xFFFFFFFFULL, 1ULL << 32, ~0ULL };
	static const enum virq_lapic_mode modes[3] = { VIRQ_LAPIC_MODE_XAPIC,
						       VIRQ_LAPIC_MODE_X2APIC,
						       VIRQ_LAPIC_MODE_DISABLED };
	struct coverage cov;
	unsigned runs = 0;

	(void)state;
	memset(&cov, 0, sizeof(cov));
	for (unsigned round = 0; round < 100; round++) {
		for (unsigned m = 0; m < 3; m++) {
			struct form fm;

			for (uint32_t off = VIRQ_LAPIC_REG_EOI; off < VIRQ_LAPIC_REG_EOI + 16;
			     off++)
				for (unsigned s = 0; s < 4; s++) {
					fm.kind = FORM_MMIO;
					fm.where = off;
					fm.size = sizes[s];
					fm.val = (rnd() & 1U) ? 0 : rnd();
					diff_one(modes[m], &fm, &cov);
					runs++;
				}
			for (unsigned v = 0; v < 6; v++) {
				fm.kind = FORM_MSR;
				fm.where = EOI_MSR;
				fm.size = 0;
				fm.val = msr_vals[v];
				diff_one(modes[m], &fm, &cov);
				runs++;
			}
		}
	}
	assert_int_equal(runs, 100 * 3 * (16 * 4 + 6));
	/*
	 * Per round: #GP for the 5 non-zero x2APIC EOI values and for all 6
	 * MSR writes in xAPIC and disabled mode (17); guest errors for those
	 * and the 63 non-EOI MMIO forms in xAPIC mode (80). The EOIs, level
	 * EOIs, suppressed ones and spurious ones depend on the random states:
	 * the bounds show the run met each rule it compares.
	 */
	assert_int_equal(cov.gp, 100 * 17);
	assert_int_equal(cov.gerr, 100 * 80);
	assert_true(cov.eois >= 150);
	assert_true(cov.level_eois >= 30);
	assert_true(cov.suppressed >= 10);
	assert_true(cov.spurious >= 3);
}

/* ---- pinned cases ---- */

static void setup_in_service(struct lapic_fixture *fx, bool x2, uint8_t v, bool level)
{
	fixture_init(fx, NULL);
	if (x2)
		fixture_x2apic_enable(fx);
	else
		fixture_sw_enable(fx);
	virq_lapic_post(&fx->apic, v, level);
	assert_int_equal(virq_lapic_ack(&fx->apic), v);
	clear_logs(&fx->f);
}

/* MMIO EOI: the level vector retires and eoi_level gets it, once. */
static void test_mmio_level_eoi(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup_in_service(&fx, false, 0x61, true);
	assert_int_equal(virq_lapic_mmio_write(&fx.apic, 0xB0, 4, 0x12345678), 0);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x61));
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.eois[0], 0x61);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0);
	assert_invariants(&fx);
}

/* Directed EOI (SVR[12]): the level vector retires without the broadcast. */
static void test_msr_directed_eoi(void **state)
{
	struct virq_lapic_config cfg = fixture_default_config();
	struct lapic_fixture fx;

	(void)state;
	cfg.directed_eoi = true;
	fixture_init(&fx, &cfg);
	fixture_x2apic_enable(&fx);
	assert_int_equal(msr_w(&fx, 0x80F, 0x11FF), 0);
	virq_lapic_post(&fx.apic, 0x72, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x72);
	clear_logs(&fx.f);
	assert_int_equal(msr_w(&fx, EOI_MSR, 0), 0);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x72));
	assert_int_equal(fx.f.n_eois, 0);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

/* x2APIC EOI with a non-zero value: #GP, reported, nothing retires. */
static void test_msr_nonzero_gp(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup_in_service(&fx, true, 0x61, true);
	assert_int_equal(msr_w(&fx, EOI_MSR, 1), VIRQ_GP);
	assert_int_equal(msr_w(&fx, EOI_MSR, 1ULL << 32), VIRQ_GP);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x61));
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x60);
	assert_int_equal(fx.f.n_eois, 0);
	assert_int_equal(fx.f.n_gerr, 2);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MSR_GP], 2);
}

/* The x2APIC EOI MSR in xAPIC mode: #GP; the MMIO EOI in x2APIC mode: not
 * decoded. Neither retires anything. */
static void test_wrong_mode(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup_in_service(&fx, false, 0x61, false);
	assert_int_equal(msr_w(&fx, EOI_MSR, 0), VIRQ_GP);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x61));
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MSR_GP], 1);

	setup_in_service(&fx, true, 0x61, false);
	assert_int_equal(virq_lapic_mmio_write(&fx.apic, 0xB0, 4, 0), 0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x61));
	assert_int_equal(fx.f.n_gerr, 0);
}

/* Only an aligned 4-byte store is the EOI: other sizes and offsets in the
 * slot are reported (MMIO size) and retire nothing. */
static void test_mmio_size_alignment(void **state)
{
	static const unsigned sizes[3] = { 1, 2, 8 };
	struct lapic_fixture fx;

	(void)state;
	setup_in_service(&fx, false, 0x61, true);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(virq_lapic_mmio_write(&fx.apic, 0xB0, sizes[i], 0), 0);
	assert_int_equal(virq_lapic_mmio_write(&fx.apic, 0xB4, 4, 0), 0);
	assert_int_equal(virq_lapic_mmio_write(&fx.apic, 0xBC, 4, 0), 0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x61));
	assert_int_equal(fx.f.n_eois, 0);
	assert_int_equal(fx.f.n_gerr, 5);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MMIO_SIZE], 5);
}

/* Nested: each EOI retires the highest in service, PPR follows. */
static void test_nested_order(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x20);
	virq_lapic_post(&fx.apic, 0x31, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x31);
	virq_lapic_post(&fx.apic, 0x94, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x94);
	virq_lapic_post(&fx.apic, 0xE1, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0xE1);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0xE0);
	mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x90);
	assert_int_equal(fx.f.n_eois, 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x30);
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.eois[0], 0x94);
	mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x20);
	mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0); /* spurious: nothing */
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x20);
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_equals_slow), cmocka_unit_test(test_mmio_level_eoi),
		cmocka_unit_test(test_msr_directed_eoi), cmocka_unit_test(test_msr_nonzero_gp),
		cmocka_unit_test(test_wrong_mode),       cmocka_unit_test(test_mmio_size_alignment),
		cmocka_unit_test(test_nested_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
