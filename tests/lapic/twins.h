/* SPDX-License-Identifier: MIT */
/*
 * Twin LAPIC fixtures in one random state, for the differential tests of a
 * fast path against its slow path (test_eoi_fast.c, test_ack_fast.c).
 */
#ifndef VIRQ_TEST_LAPIC_TWINS_H
#define VIRQ_TEST_LAPIC_TWINS_H

#include "harness.h"

/* xorshift64*: the same sequence on every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static inline uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static inline uint32_t rnd32(void)
{
	return (uint32_t)(rnd() >> 32);
}

static inline void clear_logs(struct fake_env *f)
{
	f->n_eois = 0;
	f->n_gerr = 0;
	f->n_ipis = 0;
	f->kicks = 0;
	memset(f->gerr, 0, sizeof(f->gerr));
	memset(f->eois, 0, sizeof(f->eois));
}

/* A random vector bitmap (vectors 16-255), each register kept with @keep/4. */
static inline void rnd_bitmap(uint32_t *regs, uint32_t base, unsigned keep)
{
	for (unsigned i = 0; i < 8; i++) {
		uint32_t w = (rnd32() % 4U) < keep ? rnd32() & rnd32() : 0;

		regs[(base >> 2) + 4 * i] = i == 0 ? w & 0xFFFF0000U : w;
	}
}

static inline int highest(const uint32_t *regs, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = regs[(base >> 2) + 4 * (unsigned)i];

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

/* Twin fixtures a and b in the same random state. */
static inline void make_twins_ex(struct lapic_fixture *a, struct lapic_fixture *b,
				 enum virq_lapic_mode mode, bool sparse)
{
	struct virq_lapic_config cfg = fixture_default_config();
	struct virq_lapic_state st;
	uint32_t *r = st.regs;
	uint32_t svr;

	cfg.directed_eoi = rnd() & 1U;
	fixture_init(a, &cfg);
	fixture_init(b, &cfg);
	if (mode == VIRQ_LAPIC_MODE_X2APIC)
		assert_int_equal(
			virq_lapic_set_apic_base(&a->apic,
						 VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
							 VIRQ_APIC_BASE_EXTD | VIRQ_APIC_BASE_BSP,
						 true),
			0);
	else if (mode == VIRQ_LAPIC_MODE_DISABLED)
		assert_int_equal(virq_lapic_set_apic_base(
					 &a->apic, VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_BSP,
					 true),
				 0);
	assert_int_equal(virq_lapic_save(&a->apic, &st), 0);

	/* SVR: spurious vector, enable bit, directed EOI when offered. */
	svr = 0xFFU | ((rnd() % 4U) ? VIRQ_LAPIC_SVR_ENABLE : 0);
	if (cfg.directed_eoi && (rnd() & 1U))
		svr |= VIRQ_LAPIC_SVR_EOI_SUPPRESS;
	r[VIRQ_LAPIC_REG_SVR >> 2] = svr;
	r[VIRQ_LAPIC_REG_TPR >> 2] = (rnd() % 3U) ? 0 : rnd32() & 0xFFU;
	if (sparse && (rnd() % 4U))
		r[VIRQ_LAPIC_REG_TPR >> 2] = 0;
	if (mode != VIRQ_LAPIC_MODE_DISABLED && sparse) {
		/* Few vectors: what the fast paths of a quiet LAPIC see. */
		rnd_bitmap(r, VIRQ_LAPIC_REG_IRR, (unsigned)(rnd() % 2U));
		switch (rnd() % 3U) {
		case 0:
			break;
		case 1: {
			uint8_t v = (uint8_t)(16U + rnd() % 240U);

			r[(VIRQ_LAPIC_REG_ISR >> 2) + 4 * (v >> 5)] = 1U << (v & 31U);
			break;
		}
		default:
			rnd_bitmap(r, VIRQ_LAPIC_REG_ISR, 1);
			break;
		}
		rnd_bitmap(r, VIRQ_LAPIC_REG_TMR, 1);
	} else if (mode != VIRQ_LAPIC_MODE_DISABLED) {
		rnd_bitmap(r, VIRQ_LAPIC_REG_IRR, 2);
		rnd_bitmap(r, VIRQ_LAPIC_REG_ISR, 1 + (unsigned)(rnd() % 4U));
		rnd_bitmap(r, VIRQ_LAPIC_REG_TMR, 2);
		/* Level vectors in service: TMR set under ISR bits, half the time. */
		if (rnd() & 1U)
			for (unsigned i = 0; i < 8; i++)
				r[(VIRQ_LAPIC_REG_TMR >> 2) + 4 * i] |=
					r[(VIRQ_LAPIC_REG_ISR >> 2) + 4 * i] & rnd32();
	}
	r[VIRQ_LAPIC_REG_PPR >> 2] =
		lapic_compute_ppr(r[VIRQ_LAPIC_REG_TPR >> 2], highest(r, VIRQ_LAPIC_REG_ISR));
	assert_int_equal(virq_lapic_restore(&a->apic, &st), 0);
	assert_int_equal(virq_lapic_restore(&b->apic, &st), 0);
	assert_invariants(a);
	assert_invariants(b);
	assert_int_equal(virq_lapic_get_mode(&a->apic), mode);
	clear_logs(&a->f);
	clear_logs(&b->f);
}

static inline void make_twins(struct lapic_fixture *a, struct lapic_fixture *b,
			      enum virq_lapic_mode mode)
{
	make_twins_ex(a, b, mode, false);
}

#endif /* VIRQ_TEST_LAPIC_TWINS_H */
