/* SPDX-License-Identifier: MIT */
/*
 * The owner cycle's fast paths against their slow paths:
 *  - virq_lapic_ack(), which moves a lone posted vector (edge from the
 *    PIR, or level from the level requests) straight to ISR, against
 *    lapic_ack_slow() (sync, then the acknowledge of IRR's highest);
 *  - virq_lapic_eoi(), which retires the only vector in service without a
 *    search, against lapic_eoi_slow() (which always searches).
 * Twin LAPICs in one random state get the same posts; then one runs the
 * public call and the other the slow one. Return value, hook calls, the
 * descriptor, the posted-event word, the whole saved state and the page
 * must be the same. Then long random sequences of posts, acknowledges and
 * EOIs run in lockstep, and the cases each fast path must leave to the
 * slow one are pinned one by one.
 */
#include "harness.h"
#include "twins.h"

static const enum virq_lapic_mode modes[3] = { VIRQ_LAPIC_MODE_XAPIC, VIRQ_LAPIC_MODE_X2APIC,
					       VIRQ_LAPIC_MODE_DISABLED };

/* What the differential runs saw. */
struct coverage {
	unsigned fast;     /* the ack fast path's conditions all held */
	unsigned acked;    /* a vector was acknowledged */
	unsigned none;     /* nothing deliverable */
	unsigned multi;    /* more than one vector taken from the PIR */
	unsigned illegal;  /* a lone vector below 16 */
	unsigned below;    /* a lone vector not above PPR's class or irrv */
	unsigned tmr;      /* a lone vector whose TMR register was not 0 */
	unsigned inactive; /* a lone vector on a disabled APIC */
	unsigned events;   /* a level post or LINT change was waiting */
	unsigned sn;       /* SN set */
	unsigned eoi_only; /* an EOI of the only vector in service */
	unsigned eoi_nest; /* an EOI with more in service */
	unsigned eoi_lvl;  /* an EOI that called eoi_level */
	unsigned lfast;    /* level: a lone level vector the fast path takes */
	unsigned lnotmr;   /* level: a lone vector whose TMR bit was clear */
	unsigned lmulti;   /* level: more than one level vector waiting */
	unsigned lother;   /* level: ON, SN or a LINT change beside it */
};

static unsigned pir_bits(const struct virq_lapic *l, int *v)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 4; i++)
		for (uint64_t w = l->pi.pir[i]; w; w &= w - 1U) {
			*v = (int)(i * 64 + (unsigned)__builtin_ctzll(w));
			n++;
		}
	return n;
}

/* The same posts to both twins; an edge one through the header's inline
 * post on @a and the exported call on @b, which must leave the same
 * descriptor and kicks (assert_twins_same()). */
static void post_both(struct lapic_fixture *a, struct lapic_fixture *b, uint8_t v, bool level)
{
	if (level)
		virq_lapic_post(&a->apic, v, true);
	else
		virq_lapic_post_edge(&a->apic, v);
	virq_lapic_post(&b->apic, v, level);
}

/* Without a save, which would sync (fold the PIR) first. */
static void assert_twins_same(struct lapic_fixture *a, struct lapic_fixture *b)
{
	assert_int_equal(a->f.kicks, b->f.kicks);
	assert_int_equal(a->f.n_eois, b->f.n_eois);
	assert_memory_equal(a->f.eois, b->f.eois, sizeof(a->f.eois));
	assert_int_equal(a->f.n_gerr, b->f.n_gerr);
	assert_memory_equal(a->f.gerr, b->f.gerr, sizeof(a->f.gerr));
	assert_int_equal(a->f.n_ipis, b->f.n_ipis);
	/* The descriptor and the event word before a save syncs them. */
	assert_memory_equal(&a->apic.pi, &b->apic.pi, sizeof(a->apic.pi));
	assert_int_equal(a->apic.posted_events, b->apic.posted_events);
	assert_memory_equal(a->apic.post_level, b->apic.post_level, sizeof(a->apic.post_level));
	assert_memory_equal(a->page, b->page, sizeof(a->page));
	assert_int_equal(a->apic.irrv, b->apic.irrv);
	assert_int_equal(a->apic.isrv, b->apic.isrv);
	assert_int_equal(a->apic.isr_count, b->apic.isr_count);
	assert_invariants(a);
	assert_invariants(b);
}

static void assert_twins_equal(struct lapic_fixture *a, struct lapic_fixture *b)
{
	static struct virq_lapic_state sa, sb;

	assert_twins_same(a, b);
	assert_int_equal(virq_lapic_save(&a->apic, &sa), 0);
	assert_int_equal(virq_lapic_save(&b->apic, &sb), 0);
	assert_memory_equal(&sa, &sb, sizeof(sa));
}

/* A random vector: mostly 16-255, sometimes an illegal one. */
static uint8_t rnd_vec(void)
{
	return (rnd() % 16U) ? (uint8_t)(16U + rnd() % 240U) : (uint8_t)(rnd() % 16U);
}

static void diff_ack(enum virq_lapic_mode mode, struct coverage *cov)
{
	static struct lapic_fixture a, b;
	unsigned posts = (rnd() % 4U) ? 1 : (unsigned)(rnd() % 4U);
	bool sn = rnd() % 16U == 0, events = false;
	int ra, rb, v = -1;
	uint32_t ppr;

	make_twins_ex(&a, &b, mode, rnd() % 4U != 0);
	if (sn) {
		a.apic.pi.control |= VIRQ_PI_CTRL_SN;
		b.apic.pi.control |= VIRQ_PI_CTRL_SN;
	}
	for (unsigned k = 0; k < posts; k++)
		post_both(&a, &b, rnd_vec(), false);
	switch (rnd() % 16U) {
	case 0:
		post_both(&a, &b, rnd_vec(), true);
		events = true;
		break;
	case 1: {
		bool lvl = rnd() & 1U;

		assert_int_equal(virq_lapic_set_lint(&a.apic, 0, lvl), 0);
		assert_int_equal(virq_lapic_set_lint(&b.apic, 0, lvl), 0);
		events = (a.apic.posted_events & LAPIC_EV_LINT) != 0;
		break;
	}
	default:
		break;
	}
	assert_twins_same(&a, &b);

	/* What the fast path must decide, computed here from the state. */
	ppr = a.page[VIRQ_LAPIC_REG_PPR >> 2];
	if (sn)
		cov->sn++;
	else if (events)
		cov->events++;
	else if (pir_bits(&a.apic, &v) > 1)
		cov->multi++;
	else if (v >= 0 && v < 16)
		cov->illegal++;
	else if (v >= 0 && !a.apic.active)
		cov->inactive++;
	else if (v >= 0 && (v <= a.apic.irrv || ((uint32_t)v & 0xF0U) <= (ppr & 0xF0U)))
		cov->below++;
	else if (v >= 0 && a.page[(VIRQ_LAPIC_REG_TMR >> 2) + 4 * ((unsigned)v >> 5)])
		cov->tmr++;
	else if (v >= 0)
		cov->fast++;

	clear_logs(&a.f);
	clear_logs(&b.f);
	ra = virq_lapic_ack(&a.apic);
	rb = lapic_ack_slow(&b.apic);
	assert_int_equal(ra, rb);
	assert_twins_equal(&a, &b);
	if (ra >= 0)
		cov->acked++;
	else
		cov->none++;
}

/* Level posts only (the I/O APIC's way), sometimes with an edge post, SN
 * or a LINT change beside them; the TMR bit of a lone vector is random
 * (the state's TMR), so both its branches are met. */
static void diff_ack_level(enum virq_lapic_mode mode, struct coverage *cov)
{
	static struct lapic_fixture a, b;
	unsigned posts = (rnd() % 4U) ? 1 : 1 + (unsigned)(rnd() % 3U);
	int ra, rb, v = -1, n = 0;

	make_twins_ex(&a, &b, mode, rnd() % 4U != 0);
	for (unsigned k = 0; k < posts; k++) {
		uint8_t vec = rnd_vec();

		/* Half the time the vector was last accepted as level (TMR
		 * holds nothing below 16, nor on a disabled APIC). */
		if (vec >= 16 && mode != VIRQ_LAPIC_MODE_DISABLED && (rnd() & 1U)) {
			a.page[(VIRQ_LAPIC_REG_TMR >> 2) + 4U * (vec >> 5)] |= 1U << (vec & 31U);
			b.page[(VIRQ_LAPIC_REG_TMR >> 2) + 4U * (vec >> 5)] |= 1U << (vec & 31U);
			lapic_recompute_vectors(&a.apic, true);
			lapic_recompute_vectors(&b.apic, true);
			lapic_eoi_exit_update(&a.apic);
			lapic_eoi_exit_update(&b.apic);
		}
		post_both(&a, &b, vec, true);
	}
	switch (rnd() % 8U) {
	case 0:
		post_both(&a, &b, rnd_vec(), false);
		cov->lother++;
		break;
	case 1:
		a.apic.pi.control |= VIRQ_PI_CTRL_SN;
		b.apic.pi.control |= VIRQ_PI_CTRL_SN;
		cov->lother++;
		break;
	case 2:
		assert_int_equal(virq_lapic_set_lint(&a.apic, 0, true), 0);
		assert_int_equal(virq_lapic_set_lint(&b.apic, 0, true), 0);
		cov->lother++;
		break;
	default:
		for (unsigned i = 0; i < 4; i++)
			for (uint64_t w = a.apic.post_level[i]; w; w &= w - 1U, n++)
				v = (int)(i * 64 + (unsigned)__builtin_ctzll(w));
		if (n > 1)
			cov->lmulti++;
		else if (n == 1 && !(a.page[(VIRQ_LAPIC_REG_TMR >> 2) + 4 * ((unsigned)v >> 5)] &
				     (1U << (v & 31))))
			cov->lnotmr++;
		else if (n == 1 && v > a.apic.irrv && a.apic.active &&
			 (uint32_t)v > (a.page[VIRQ_LAPIC_REG_PPR >> 2] | 0xFU))
			cov->lfast++;
		break;
	}
	assert_twins_same(&a, &b);
	clear_logs(&a.f);
	clear_logs(&b.f);
	ra = virq_lapic_ack(&a.apic);
	rb = lapic_ack_slow(&b.apic);
	assert_int_equal(ra, rb);
	assert_twins_equal(&a, &b);
	/* And the EOI that follows: the level broadcast (or none) the same. */
	virq_lapic_eoi(&a.apic);
	lapic_eoi_slow(&b.apic);
	assert_twins_equal(&a, &b);
}

/* The level acknowledge against the slow one (lapic_ack_level()). */
static void test_ack_level_equals_slow(void **state)
{
	struct coverage cov;

	(void)state;
	memset(&cov, 0, sizeof(cov));
	for (unsigned round = 0; round < 6000; round++)
		diff_ack_level(modes[round % 3U], &cov);
	/* 245, 2115, 620, 2222 with the fixed random sequence. */
	assert_true(cov.lfast >= 200);
	assert_true(cov.lnotmr >= 1500);
	assert_true(cov.lmulti >= 400);
	assert_true(cov.lother >= 1500);
}

static void diff_eoi(enum virq_lapic_mode mode, struct coverage *cov)
{
	static struct lapic_fixture a, b;
	unsigned n;

	make_twins_ex(&a, &b, mode, rnd() & 1U);
	n = a.apic.isr_count;
	virq_lapic_eoi(&a.apic);
	lapic_eoi_slow(&b.apic);
	assert_twins_equal(&a, &b);
	if (n == 1)
		cov->eoi_only++;
	else if (n > 1)
		cov->eoi_nest++;
	if (a.f.n_eois)
		cov->eoi_lvl++;
}

/*
 * virq_lapic_post_edge() against virq_lapic_post(..., false) from every
 * descriptor state a post can meet: ON, SN and the vector's PIR bit each
 * set or clear, another vector pending or not, every vector. The
 * descriptor after the post and the kicks must be the same, and the kick
 * exactly the one the protocol gives: ON was clear, SN clear and the PIR
 * bit clear.
 */
static void test_post_edge_equals_post(void **state)
{
	static struct lapic_fixture a, b;
	unsigned kicked = 0;

	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		for (unsigned st = 0; st < 16; st++) {
			bool on = st & 1U, sn = st & 2U, mine = st & 4U, other = st & 8U;
			uint64_t ctl = (on ? VIRQ_PI_CTRL_ON : 0) | (sn ? VIRQ_PI_CTRL_SN : 0) |
				       (0xF2ULL << VIRQ_PI_CTRL_NV_SHIFT) |
				       (7ULL << VIRQ_PI_CTRL_NDST_SHIFT);

			make_twins_ex(&a, &b, VIRQ_LAPIC_MODE_XAPIC, true);
			memset(a.apic.pi.pir, 0, sizeof(a.apic.pi.pir));
			if (mine)
				a.apic.pi.pir[v >> 6] |= 1ULL << (v & 63U);
			if (other)
				a.apic.pi.pir[((v + 77U) & 255U) >> 6] |= 1ULL << ((v + 77U) & 63U);
			memcpy(b.apic.pi.pir, a.apic.pi.pir, sizeof(a.apic.pi.pir));
			a.apic.pi.control = ctl;
			b.apic.pi.control = ctl;
			clear_logs(&a.f);
			clear_logs(&b.f);
			virq_lapic_post_edge(&a.apic, (uint8_t)v);
			virq_lapic_post(&b.apic, (uint8_t)v, false);
			assert_memory_equal(&a.apic.pi, &b.apic.pi, sizeof(a.apic.pi));
			assert_int_equal(a.f.kicks, b.f.kicks);
			assert_int_equal(a.f.kicks, !on && !sn && !mine);
			assert_true(a.apic.pi.pir[v >> 6] & (1ULL << (v & 63U)));
			assert_int_equal(a.apic.pi.control,
					 ctl | (!on && !sn && !mine ? VIRQ_PI_CTRL_ON : 0));
			kicked += a.f.kicks;
		}
	}
	assert_int_equal(kicked, 256 * 2); /* ON, SN, PIR clear; other either */
}

/*
 * virq_lapic_post_phys() against the three calls it fuses: every mode, SVR
 * enabled or not, destinations that match (the ID, the broadcasts, an
 * xAPIC ID with high bits set) and that do not, edge and level. Twin a
 * takes the fused call, twin b the three.
 */
static void test_post_phys_equals_calls(void **state)
{
	static struct lapic_fixture a, b;
	unsigned posted = 0, refused = 0;

	(void)state;
	for (unsigned round = 0; round < 3000; round++) {
		enum virq_lapic_mode mode = modes[round % 3U];
		uint32_t id, dest;
		uint8_t v = rnd_vec();
		bool level = rnd() & 1U, want, got;

		make_twins_ex(&a, &b, mode, rnd() % 4U != 0);
		id = virq_lapic_read_reg(&b.apic, VIRQ_LAPIC_REG_ID);
		if (mode != VIRQ_LAPIC_MODE_X2APIC)
			id >>= 24;
		switch (rnd() % 6U) {
		case 0:
			dest = id;
			break;
		case 1:
			dest = 0xFFU;
			break;
		case 2:
			dest = 0xFFFFFFFFU;
			break;
		case 3:
			dest = id | 0x100U; /* bits an xAPIC does not decode */
			break;
		case 4:
			dest = id + 1U;
			break;
		default:
			dest = rnd32();
			break;
		}
		clear_logs(&a.f);
		clear_logs(&b.f);
		want = virq_lapic_match_dest(&b.apic, dest, false) &&
		       virq_lapic_accepts_fixed(&b.apic);
		if (want)
			virq_lapic_post(&b.apic, v, level);
		got = virq_lapic_post_phys(&a.apic, dest, v, level);
		assert_int_equal(got, want);
		assert_twins_same(&a, &b);
		if (want) {
			posted++;
			/* Posted: the vector is in PIR (edge) or the level bitmap. */
			assert_true(level ? (a.apic.post_level[v >> 6] >> (v & 63U)) & 1U
					  : (a.apic.pi.pir[v >> 6] >> (v & 63U)) & 1U);
		} else {
			refused++;
		}
	}
	assert_true(posted >= 500);
	assert_true(refused >= 500);
}

/* One post, ack and EOI on random states in each mode. */
static void test_ack_equals_slow(void **state)
{
	struct coverage cov;

	(void)state;
	memset(&cov, 0, sizeof(cov));
	for (unsigned round = 0; round < 6000; round++)
		diff_ack(modes[round % 3U], &cov);
	/* Every rule the fast path checks met in the run (the counts depend on
	 * the fixed random sequence; the bounds say each case was reached). */
	assert_true(cov.fast >= 200);
	assert_true(cov.multi >= 250);
	assert_true(cov.illegal >= 100);
	assert_true(cov.below >= 500);
	assert_true(cov.tmr >= 60);
	assert_true(cov.inactive >= 800);
	assert_true(cov.events >= 200);
	assert_true(cov.sn >= 150);
	assert_true(cov.acked >= 800);
	assert_true(cov.none >= 1500);
}

static void test_eoi_equals_slow(void **state)
{
	struct coverage cov;

	(void)state;
	memset(&cov, 0, sizeof(cov));
	for (unsigned round = 0; round < 3000; round++)
		diff_eoi(modes[round % 3U], &cov);
	assert_true(cov.eoi_only >= 150);
	assert_true(cov.eoi_nest >= 600);
	assert_true(cov.eoi_lvl >= 150);
}

/* Lockstep sequences: posts (edge, level, illegal), LINT changes, TPR
 * writes, acknowledges and EOIs; a runs the public calls, b the slow ones. */
static void test_sequences(void **state)
{
	static struct lapic_fixture a, b;
	unsigned acks = 0, eois = 0;

	(void)state;
	for (unsigned seq = 0; seq < 300; seq++) {
		make_twins_ex(&a, &b, modes[seq % 3U], true);
		for (unsigned step = 0; step < 60; step++) {
			switch (rnd() % 8U) {
			case 0:
			case 1:
			case 2:
				post_both(&a, &b, rnd_vec(), rnd() % 8U == 0);
				break;
			case 3:
			case 4:
				assert_int_equal(virq_lapic_ack(&a.apic), lapic_ack_slow(&b.apic));
				acks++;
				break;
			case 5:
			case 6:
				virq_lapic_eoi(&a.apic);
				lapic_eoi_slow(&b.apic);
				eois++;
				break;
			default: {
				uint64_t tpr = rnd() % 4U ? 0 : rnd() & 0xFFU;

				assert_int_equal(virq_lapic_set_cr8(&a.apic, tpr >> 4), 0);
				assert_int_equal(virq_lapic_set_cr8(&b.apic, tpr >> 4), 0);
				break;
			}
			}
			assert_twins_same(&a, &b);
		}
		assert_twins_equal(&a, &b);
	}
	assert_true(acks >= 4000 && eois >= 4000);
}

/* ---- pinned cases ---- */

static void setup_plain(struct lapic_fixture *fx)
{
	fixture_init(fx, NULL);
	fixture_sw_enable(fx);
}

/* A lone vector above PPR: straight to ISR, IRR untouched, PPR its class. */
static void test_lone_to_isr(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	setup_plain(&fx);
	virq_lapic_post(&fx.apic, 0x61, false);
	assert_int_equal(fx.f.kicks, 1);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x61));
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x61));
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x60);
	assert_int_equal(fx.apic.pi.pir[1], 0);
	assert_int_equal(fx.apic.pi.control & VIRQ_PI_CTRL_ON, 0);
	assert_int_equal(fx.apic.isr_count, 1);
	assert_invariants(&fx);
	virq_lapic_eoi(&fx.apic);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x61));
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0);
	assert_int_equal(fx.apic.isr_count, 0);
	assert_invariants(&fx);
}

/* A lone vector at or below the PPR class stays in IRR: nothing acked. */
static void test_lone_masked_by_ppr(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	setup_plain(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x60);
	virq_lapic_post(&fx.apic, 0x6F, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x6F));
	assert_int_equal(fx.apic.irrv, 0x6F);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x50);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x6F);
	assert_invariants(&fx);
}

/* A lone vector below what IRR holds: the higher one is acked first. */
static void test_lone_below_irr(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	setup_plain(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0xF0);
	virq_lapic_post(&fx.apic, 0x90, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0);
	virq_lapic_post(&fx.apic, 0x41, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x90);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x41));
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x41);
	assert_invariants(&fx);
}

/* A lone vector whose TMR bit is set (last accepted as level): accepted as
 * edge now, so TMR clears and the EOI broadcasts nothing. */
static void test_lone_clears_tmr(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	setup_plain(&fx);
	virq_lapic_post(&fx.apic, 0x71, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x71);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x71));
	virq_lapic_post(&fx.apic, 0x71, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x71);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x71));
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);
	assert_invariants(&fx);
}

/* A lone level vector with its TMR bit set goes straight to ISR: IRR
 * untouched, TMR still set, and its EOI broadcasts the vector. */
static void test_lone_level_to_isr(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	setup_plain(&fx);
	virq_lapic_post(&fx.apic, 0x71, true); /* first: TMR clear, the long way */
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x71);
	virq_lapic_eoi(&fx.apic);
	virq_lapic_post(&fx.apic, 0x33, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x33);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x30);
	virq_lapic_post(&fx.apic, 0x71, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x71);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x70);
	assert_int_equal(fx.apic.isr_count, 2);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x71));
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x33));
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x71));
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x71));
	assert_int_equal(fx.apic.posted_events & LAPIC_EV_LEVEL, 0);
	assert_int_equal(fx.apic.post_level[1], 0);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 2);
	assert_int_equal(fx.f.eois[1], 0x71);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x30);
	assert_invariants(&fx);
}

/* A lone illegal vector: Receive Illegal Vector in ESR, nothing acked. */
static void test_lone_illegal(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	setup_plain(&fx);
	virq_lapic_post(&fx.apic, 7, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR], 1);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), VIRQ_LAPIC_ESR_RECV_ILLEGAL);
	assert_invariants(&fx);
}

/* A software-disabled APIC drops the posted vector. */
static void test_lone_sw_disabled(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	virq_lapic_post(&fx.apic, 0x61, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x61));
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x61));
	assert_int_equal(fx.apic.pi.pir[1], 0);
	assert_invariants(&fx);
}

/* A level post waiting beside a lone edge vector: both fold, the higher
 * (the level one) is acked first with TMR set. */
static void test_lone_with_level_waiting(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	setup_plain(&fx);
	virq_lapic_post(&fx.apic, 0x51, false);
	virq_lapic_post(&fx.apic, 0x91, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x91);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x91));
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x51));
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.eois[0], 0x91);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x51);
	assert_invariants(&fx);
}

/* Two vectors in one word, and one in each of two words: the highest first,
 * the other kept in IRR. */
static void test_two_posted(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	setup_plain(&fx);
	virq_lapic_post(&fx.apic, 0x61, false);
	virq_lapic_post(&fx.apic, 0x62, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x62);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x61));
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
	virq_lapic_eoi(&fx.apic);
	virq_lapic_post(&fx.apic, 0x30, false);
	virq_lapic_post(&fx.apic, 0xE0, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0xE0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x30));
	assert_int_equal(fx.apic.pi.pir[0], 0);
	assert_invariants(&fx);
}

/* EOI with two in service: the lower one becomes ISRV, PPR its class. */
static void test_eoi_nested(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	setup_plain(&fx);
	virq_lapic_post(&fx.apic, 0x41, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x41);
	virq_lapic_post(&fx.apic, 0xC1, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0xC1);
	assert_int_equal(fx.apic.isr_count, 2);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0xC0);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.apic.isrv, 0x41);
	assert_int_equal(fx.apic.isr_count, 1);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0x40);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.apic.isrv, -1);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_PPR >> 2], 0);
	virq_lapic_eoi(&fx.apic); /* spurious: nothing changes */
	assert_int_equal(fx.apic.isr_count, 0);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_edge_equals_post),
		cmocka_unit_test(test_post_phys_equals_calls),
		cmocka_unit_test(test_ack_equals_slow),
		cmocka_unit_test(test_eoi_equals_slow),
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_lone_to_isr),
		cmocka_unit_test(test_lone_masked_by_ppr),
		cmocka_unit_test(test_lone_below_irr),
		cmocka_unit_test(test_lone_clears_tmr),
		cmocka_unit_test(test_lone_illegal),
		cmocka_unit_test(test_lone_sw_disabled),
		cmocka_unit_test(test_lone_with_level_waiting),
		cmocka_unit_test(test_ack_level_equals_slow),
		cmocka_unit_test(test_lone_level_to_isr),
		cmocka_unit_test(test_two_posted),
		cmocka_unit_test(test_eoi_nested),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
