/* SPDX-License-Identifier: MIT */
/*
 * lib/core/bitmap.h: the contiguous 4 x 64 layout (vec256_*) and the APIC
 * page layout, eight 32-bit registers at a 16-byte stride (apicvec_*).
 * Every vector 0-255 is checked on its own, highest-set searches with
 * several bits, the conversions between the layouts, and the atomic
 * helpers' return values. The APIC-page tests keep sentinels in the 12
 * padding bytes of every slot: a helper that strays off the register
 * column fails there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/bitmap.h"

#define PAD 0xA5A5A5A5U

/* An APIC-page bitmap: 8 registers x 4 u32 (register in column 0). */
struct apage {
	uint32_t w[32];
};

static void apage_init(struct apage *p)
{
	for (unsigned i = 0; i < 32; i++)
		p->w[i] = (i % 4) ? PAD : 0;
}

static void assert_padding_intact(const struct apage *p)
{
	for (unsigned i = 0; i < 32; i++)
		if (i % 4)
			assert_int_equal(p->w[i], PAD);
}

/* Deterministic generator (xorshift64*) for random patterns. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Reference: highest set vector of a 4 x 64 bitmap, bit by bit. */
static int ref_highest(const uint64_t *bm)
{
	for (int v = 255; v >= 0; v--)
		if ((bm[v / 64] >> (v % 64)) & 1U)
			return v;
	return -1;
}

/* ---- vec256 ---- */

static void test_vec_none_value(void **state)
{
	(void)state;
	assert_int_equal(VEC_NONE, -1);
}

static void test_vec256_single_vector(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		uint64_t bm[4] = { 0, 0, 0, 0 };

		assert_true(vec256_empty(bm));
		assert_int_equal(vec256_highest(bm), VEC_NONE);
		vec256_set(bm, (uint8_t)v);
		for (unsigned w = 0; w < 4; w++)
			assert_int_equal(bm[w], w == v / 64 ? (1ULL << (v % 64)) : 0);
		assert_false(vec256_empty(bm));
		assert_int_equal(vec256_highest(bm), (int)v);
		for (unsigned u = 0; u < 256; u++)
			assert_int_equal(vec256_test(bm, (uint8_t)u), u == v);
		vec256_set(bm, (uint8_t)v); /* idempotent */
		assert_int_equal(bm[v / 64], 1ULL << (v % 64));
		vec256_clear(bm, (uint8_t)v);
		assert_true(vec256_empty(bm));
		assert_int_equal(vec256_highest(bm), VEC_NONE);
		vec256_clear(bm, (uint8_t)v); /* clearing a clear bit is a no-op */
		assert_true(vec256_empty(bm));
	}
}

/* Clear takes out exactly one bit from a full bitmap. */
static void test_vec256_clear_one_of_full(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		uint64_t bm[4] = { ~0ULL, ~0ULL, ~0ULL, ~0ULL };

		vec256_clear(bm, (uint8_t)v);
		for (unsigned w = 0; w < 4; w++)
			assert_int_equal(bm[w], w == v / 64 ? ~(1ULL << (v % 64)) : ~0ULL);
		assert_false(vec256_test(bm, (uint8_t)v));
		assert_int_equal(vec256_highest(bm), v == 255 ? 254 : 255);
		assert_false(vec256_empty(bm));
	}
}

/* Highest of two bits: every pair. */
static void test_vec256_highest_pairs(void **state)
{
	(void)state;
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			uint64_t bm[4] = { 0, 0, 0, 0 };

			vec256_set(bm, (uint8_t)a);
			vec256_set(bm, (uint8_t)b);
			assert_int_equal(vec256_highest(bm), (int)(a > b ? a : b));
		}
	}
}

static void test_vec256_highest_random(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t bm[4];

		for (unsigned w = 0; w < 4; w++) {
			/* Sparse words, often zero, to exercise the word scan. */
			uint64_t r = rng();

			bm[w] = (r & 3U) ? 0 : rng() & rng();
		}
		assert_int_equal(vec256_highest(bm), ref_highest(bm));
		assert_int_equal(vec256_empty(bm), ref_highest(bm) < 0);
	}
}

static void test_vec256_atomic_set_clear(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		uint64_t bm[4] = { 0, 0, 0, 0 };
		uint64_t other[4] = { ~0ULL, ~0ULL, ~0ULL, ~0ULL };

		/* Set: false when newly set, true when it already was. */
		assert_false(vec256_atomic_set(bm, (uint8_t)v));
		assert_int_equal(bm[v / 64], 1ULL << (v % 64));
		assert_true(vec256_atomic_set(bm, (uint8_t)v));
		assert_int_equal(bm[v / 64], 1ULL << (v % 64));
		/* Clear: true when it was set, false when it already was clear. */
		assert_true(vec256_atomic_clear(bm, (uint8_t)v));
		assert_true(vec256_empty(bm));
		assert_false(vec256_atomic_clear(bm, (uint8_t)v));
		assert_true(vec256_empty(bm));

		/* Neighbours untouched in a full bitmap. */
		assert_true(vec256_atomic_clear(other, (uint8_t)v));
		for (unsigned w = 0; w < 4; w++)
			assert_int_equal(other[w], w == v / 64 ? ~(1ULL << (v % 64)) : ~0ULL);
		assert_false(vec256_atomic_set(other, (uint8_t)v));
		for (unsigned w = 0; w < 4; w++)
			assert_int_equal(other[w], ~0ULL);
	}
}

/* ---- APIC page layout ---- */

static void test_apicvec_stride(void **state)
{
	struct apage p;

	(void)state;
	assert_int_equal(APICVEC_STRIDE_U32, 4);
	apage_init(&p);
	for (unsigned i = 0; i < 8; i++) {
		assert_ptr_equal(apicvec_word(p.w, i), &p.w[4 * i]);
		p.w[4 * i] = 0x01010101U * (i + 1);
		assert_int_equal(apicvec_get_word(p.w, i), 0x01010101U * (i + 1));
	}
	assert_padding_intact(&p);
}

static void test_apicvec_single_vector(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		struct apage p;

		apage_init(&p);
		assert_int_equal(apicvec_highest(p.w), VEC_NONE);
		apicvec_set(p.w, (uint8_t)v);
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(p.w[4 * i], i == v / 32 ? (1U << (v % 32)) : 0);
		assert_padding_intact(&p);
		for (unsigned u = 0; u < 256; u++)
			assert_int_equal(apicvec_test(p.w, (uint8_t)u), u == v);
		assert_int_equal(apicvec_highest(p.w), (int)v);
		for (int top = 0; top < 8; top++)
			assert_int_equal(apicvec_highest_from(p.w, top),
					 (int)(v / 32) <= top ? (int)v : VEC_NONE);
		apicvec_set(p.w, (uint8_t)v);
		assert_int_equal(p.w[4 * (v / 32)], 1U << (v % 32));
		apicvec_clear(p.w, (uint8_t)v);
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(p.w[4 * i], 0);
		assert_int_equal(apicvec_highest(p.w), VEC_NONE);
		apicvec_clear(p.w, (uint8_t)v);
		assert_int_equal(apicvec_highest(p.w), VEC_NONE);
		assert_padding_intact(&p);
	}
}

static void test_apicvec_clear_one_of_full(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		struct apage p;

		apage_init(&p);
		for (unsigned i = 0; i < 8; i++)
			p.w[4 * i] = 0xFFFFFFFFU;
		apicvec_clear(p.w, (uint8_t)v);
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(p.w[4 * i], i == v / 32 ? ~(1U << (v % 32)) : 0xFFFFFFFFU);
		assert_padding_intact(&p);
		assert_int_equal(apicvec_highest(p.w), v == 255 ? 254 : 255);
	}
}

static void test_apicvec_highest_pairs(void **state)
{
	(void)state;
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			struct apage p;
			unsigned hi = a > b ? a : b, lo = a > b ? b : a;

			apage_init(&p);
			apicvec_set(p.w, (uint8_t)a);
			apicvec_set(p.w, (uint8_t)b);
			assert_int_equal(apicvec_highest(p.w), (int)hi);
			/* From a register below the higher bit: the lower one, or none. */
			for (int top = 0; top < 8; top++) {
				int want = VEC_NONE;

				if ((int)(hi / 32) <= top)
					want = (int)hi;
				else if ((int)(lo / 32) <= top)
					want = (int)lo;
				assert_int_equal(apicvec_highest_from(p.w, top), want);
			}
		}
	}
}

/* highest_from(top) scans registers top..0 only, in a full page. */
static void test_apicvec_highest_from_full(void **state)
{
	struct apage p;

	(void)state;
	apage_init(&p);
	for (unsigned i = 0; i < 8; i++)
		p.w[4 * i] = 0xFFFFFFFFU;
	for (int top = 0; top < 8; top++)
		assert_int_equal(apicvec_highest_from(p.w, top), top * 32 + 31);
	assert_padding_intact(&p);
}

/* ---- pairs; summary: bit i set exactly when register i (vectors 32i..32i+31) holds a bit ---- */

static uint8_t ref_summary(const struct apage *p)
{
	uint8_t sum = 0;

	for (unsigned i = 0; i < 8; i++)
		if (p->w[4 * i])
			sum |= (uint8_t)(1U << i);
	return sum;
}

static void test_apicvec_pair(void **state)
{
	struct apage p;

	(void)state;
	apage_init(&p);
	for (unsigned i = 0; i < 8; i++)
		p.w[4 * i] = 0x11111111U * (i + 1);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(apicvec_pair(p.w, i),
				 (uint64_t)(0x11111111U * (2 * i + 1)) |
					 ((uint64_t)(0x11111111U * (2 * i + 2)) << 32));
	for (unsigned v = 0; v < 256; v++) {
		apage_init(&p);
		apicvec_set(p.w, (uint8_t)v);
		for (unsigned i = 0; i < 4; i++)
			assert_int_equal(apicvec_pair(p.w, i), i == v / 64 ? 1ULL << (v % 64) : 0);
	}
}

static void test_apicvec_summary(void **state)
{
	(void)state;
	for (unsigned it = 0; it < 5000; it++) {
		struct apage p;

		apage_init(&p);
		for (unsigned i = 0; i < 8; i++)
			p.w[4 * i] = (rng() & 1U) ? (uint32_t)rng() | (1U << (rng() % 32)) : 0;
		assert_int_equal(apicvec_summary(p.w), ref_summary(&p));
		assert_int_equal(apicvec_highest_sum(p.w, apicvec_summary(p.w)),
				 apicvec_highest(p.w));
		assert_padding_intact(&p);
	}
	/* Every single vector: the bit of its register. */
	for (unsigned v = 0; v < 256; v++) {
		struct apage p;

		apage_init(&p);
		apicvec_set(p.w, (uint8_t)v);
		assert_int_equal(apicvec_summary(p.w), 1U << (v / 32));
		assert_int_equal(apicvec_highest_sum(p.w, (uint8_t)(1U << (v / 32))), (int)v);
		assert_int_equal(apicvec_count(p.w), 1);
	}
}

static void test_apicvec_highest_sum_empty(void **state)
{
	struct apage p;

	(void)state;
	apage_init(&p);
	assert_int_equal(apicvec_summary(p.w), 0);
	assert_int_equal(apicvec_highest_sum(p.w, 0), VEC_NONE);
	assert_int_equal(apicvec_count(p.w), 0);
	p.w[0] = 0x10000U;
	assert_int_equal(apicvec_summary(p.w), 1);
	assert_int_equal(apicvec_highest_sum(p.w, 1), 16);
	p.w[4] = 0x80000000U; /* register 1: its own bit */
	assert_int_equal(apicvec_summary(p.w), 3);
	assert_int_equal(apicvec_highest_sum(p.w, 3), 63);
	assert_int_equal(apicvec_count(p.w), 2);
	for (unsigned i = 0; i < 8; i++)
		p.w[4 * i] = 0xFFFFFFFFU;
	assert_int_equal(apicvec_count(p.w), 256);
	assert_padding_intact(&p);
}

/* set_sum/clear_sum keep the summary exact through random sequences. */
static void test_apicvec_set_clear_sum(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		struct apage p;
		uint8_t sum = 0;
		unsigned other = v ^ 1U; /* same register */

		apage_init(&p);
		apicvec_set_sum(p.w, &sum, (uint8_t)v);
		assert_int_equal(sum, 1U << (v / 32));
		assert_int_equal(p.w[4 * (v / 32)], 1U << (v % 32));
		assert_int_equal(apicvec_highest_sum(p.w, sum), (int)v);
		/* Another vector of the same register: clearing one keeps the
		 * register's bit. */
		apicvec_set_sum(p.w, &sum, (uint8_t)other);
		apicvec_clear_sum(p.w, &sum, (uint8_t)v);
		assert_int_equal(sum, 1U << (v / 32));
		assert_int_equal(apicvec_highest_sum(p.w, sum), (int)other);
		apicvec_clear_sum(p.w, &sum, (uint8_t)other);
		assert_int_equal(sum, 0);
		assert_int_equal(apicvec_highest_sum(p.w, sum), VEC_NONE);
		/* Clearing a clear bit of an empty register keeps it clear. */
		apicvec_clear_sum(p.w, &sum, (uint8_t)v);
		assert_int_equal(sum, 0);
		/* A neighbour in another register is untouched. */
		apicvec_set_sum(p.w, &sum, (uint8_t)(v ^ 32U));
		apicvec_clear_sum(p.w, &sum, (uint8_t)v);
		assert_int_equal(sum, 1U << ((v ^ 32U) / 32));
		assert_padding_intact(&p);
	}
	for (unsigned seq = 0; seq < 200; seq++) {
		struct apage p;
		uint8_t sum = 0;

		apage_init(&p);
		for (unsigned step = 0; step < 500; step++) {
			uint8_t v = (uint8_t)rng();

			if (rng() & 1U)
				apicvec_set_sum(p.w, &sum, v);
			else
				apicvec_clear_sum(p.w, &sum, v);
			assert_int_equal(sum, ref_summary(&p));
			assert_int_equal(apicvec_highest_sum(p.w, sum), apicvec_highest(p.w));
		}
		assert_padding_intact(&p);
	}
}

static void test_apicvec_to_vec256(void **state)
{
	(void)state;
	for (unsigned it = 0; it < 2000; it++) {
		struct apage p;
		uint64_t out[4] = { rng(), rng(), rng(), rng() }; /* overwritten, not ORed */

		apage_init(&p);
		for (unsigned i = 0; i < 8; i++)
			p.w[4 * i] = (it & 1U) ? (uint32_t)rng() : 0;
		if (it == 0)
			for (unsigned i = 0; i < 8; i++)
				p.w[4 * i] = 0;
		apicvec_to_vec256(p.w, out);
		for (unsigned w = 0; w < 4; w++)
			assert_int_equal(out[w],
					 (uint64_t)p.w[8 * w] | ((uint64_t)p.w[8 * w + 4] << 32));
		for (unsigned v = 0; v < 256; v++)
			assert_int_equal(vec256_test(out, (uint8_t)v),
					 apicvec_test(p.w, (uint8_t)v));
		assert_int_equal(vec256_highest(out), apicvec_highest(p.w));
		assert_padding_intact(&p);
	}
}

static void test_apicvec_or_vec256(void **state)
{
	(void)state;
	for (unsigned it = 0; it < 2000; it++) {
		struct apage p;
		uint32_t before[8];
		uint64_t bm[4];

		apage_init(&p);
		for (unsigned i = 0; i < 8; i++)
			p.w[4 * i] = before[i] = (it & 2U) ? (uint32_t)rng() : 0;
		for (unsigned w = 0; w < 4; w++)
			bm[w] = (rng() & 1U) ? rng() : 0;
		apicvec_or_vec256(p.w, bm);
		for (unsigned i = 0; i < 8; i++) {
			uint32_t part = (uint32_t)(bm[i / 2] >> (32 * (i % 2)));

			assert_int_equal(p.w[4 * i], before[i] | part);
		}
		assert_padding_intact(&p);
	}
	/* Every single vector lands at its own bit. */
	for (unsigned v = 0; v < 256; v++) {
		struct apage p;
		uint64_t bm[4] = { 0, 0, 0, 0 };

		apage_init(&p);
		vec256_set(bm, (uint8_t)v);
		apicvec_or_vec256(p.w, bm);
		assert_int_equal(apicvec_highest(p.w), (int)v);
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(p.w[4 * i], i == v / 32 ? (1U << (v % 32)) : 0);
	}
}

/* Round trip: page -> contiguous -> OR into an empty page gives the same page. */
static void test_apicvec_round_trip(void **state)
{
	(void)state;
	for (unsigned it = 0; it < 1000; it++) {
		struct apage a, b;
		uint64_t bm[4];

		apage_init(&a);
		apage_init(&b);
		for (unsigned i = 0; i < 8; i++)
			a.w[4 * i] = (uint32_t)rng();
		apicvec_to_vec256(a.w, bm);
		apicvec_or_vec256(b.w, bm);
		assert_memory_equal(a.w, b.w, sizeof(a.w));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vec_none_value),
		cmocka_unit_test(test_vec256_single_vector),
		cmocka_unit_test(test_vec256_clear_one_of_full),
		cmocka_unit_test(test_vec256_highest_pairs),
		cmocka_unit_test(test_vec256_highest_random),
		cmocka_unit_test(test_vec256_atomic_set_clear),
		cmocka_unit_test(test_apicvec_stride),
		cmocka_unit_test(test_apicvec_single_vector),
		cmocka_unit_test(test_apicvec_clear_one_of_full),
		cmocka_unit_test(test_apicvec_highest_pairs),
		cmocka_unit_test(test_apicvec_highest_from_full),
		cmocka_unit_test(test_apicvec_pair),
		cmocka_unit_test(test_apicvec_summary),
		cmocka_unit_test(test_apicvec_highest_sum_empty),
		cmocka_unit_test(test_apicvec_set_clear_sum),
		cmocka_unit_test(test_apicvec_to_vec256),
		cmocka_unit_test(test_apicvec_or_vec256),
		cmocka_unit_test(test_apicvec_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
