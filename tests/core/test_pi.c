/* SPDX-License-Identifier: MIT */
/*
 * The posted-interrupt descriptor (include/virq/pi.h), single-threaded:
 * layout checked on raw bytes against the VT-x/VT-d bit positions
 * (SDM 3C 30.6 "Posted-Interrupt Processing"; VT-d spec, Posted
 * Interrupt Descriptor), and the posting protocol's return values (pi.h;
 * the poster as KVM's).
 *
 * Not tested here: pi.h promises that a post finding its PIR bit or ON
 * already set issues exactly one locked instruction. Counting locked
 * instructions needs a PMU or an instruction tracer and cannot be done
 * portably from a unit test; the bench suite is the place to watch the cost
 * of that path. What is tested is the observable consequence: such a post
 * changes nothing but (at most) its PIR bit and returns false.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <virq/pi.h>

/* The descriptor as raw bytes (x86 is little endian: bit n = byte n/8, bit n%8). */
static void raw(const struct virq_pi_desc *pi, uint8_t out[64])
{
	memcpy(out, pi, 64);
}

static bool raw_bit(const struct virq_pi_desc *pi, unsigned bit)
{
	uint8_t b[64];

	raw(pi, b);
	return (b[bit / 8] >> (bit % 8)) & 1U;
}

static void desc_init(struct virq_pi_desc *pi)
{
	memset(pi, 0, sizeof(*pi));
}

static uint64_t ctrl(const struct virq_pi_desc *pi)
{
	return __atomic_load_n(&pi->control, __ATOMIC_SEQ_CST);
}

static void assert_pir_words(const struct virq_pi_desc *pi, uint64_t w0, uint64_t w1, uint64_t w2,
			     uint64_t w3)
{
	assert_int_equal(pi->pir[0], w0);
	assert_int_equal(pi->pir[1], w1);
	assert_int_equal(pi->pir[2], w2);
	assert_int_equal(pi->pir[3], w3);
}

/* ---- layout ---- */

static void test_layout_size_alignment(void **state)
{
	struct virq_pi_desc arr[3];
	struct {
		char c;
		struct virq_pi_desc d;
	} s;

	(void)state;
	assert_int_equal(sizeof(struct virq_pi_desc), 64);
	assert_int_equal(alignof(struct virq_pi_desc), 64);
	assert_int_equal(offsetof(struct virq_pi_desc, pir), 0);
	assert_int_equal(offsetof(struct virq_pi_desc, control), 32);
	assert_int_equal(offsetof(struct virq_pi_desc, sw), 40);

	/* Objects of the type land on 64-byte boundaries, also in arrays and on the stack. */
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal((uintptr_t)&arr[i] % 64, 0);
	assert_int_equal((uintptr_t)&s.d % 64, 0);
}

static void test_layout_constants(void **state)
{
	(void)state;
	/* Control word = descriptor bits 319:256. */
	assert_int_equal(VIRQ_PI_CTRL_ON, 1ULL << (256 - 256));
	assert_int_equal(VIRQ_PI_CTRL_SN, 1ULL << (257 - 256));
	assert_int_equal(VIRQ_PI_CTRL_NV_SHIFT, 272 - 256);
	assert_int_equal(VIRQ_PI_CTRL_NV_MASK, 0xFFULL << 16);
	assert_int_equal(VIRQ_PI_CTRL_NDST_SHIFT, 288 - 256);
	assert_int_equal(VIRQ_PI_CTRL_NDST_MASK, 0xFFFFFFFFULL << 32);
}

/* PIR bit v is descriptor bit v. */
static void test_layout_pir_bits(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		struct virq_pi_desc pi;
		uint8_t b[64];

		desc_init(&pi);
		virq_pi_post(&pi, (uint8_t)v, false);
		raw(&pi, b);
		for (unsigned i = 0; i < 32; i++)
			assert_int_equal(b[i], i == v / 8 ? (1U << (v % 8)) : 0);
		/* Byte 32: ON only. Bytes 33..63 untouched. */
		assert_int_equal(b[32], 0x01);
		for (unsigned i = 33; i < 64; i++)
			assert_int_equal(b[i], 0);
	}
}

static void test_layout_on_sn_bits(void **state)
{
	struct virq_pi_desc pi;

	(void)state;
	desc_init(&pi);
	assert_true(virq_pi_post(&pi, 0x40, false));
	assert_true(raw_bit(&pi, 256)); /* ON */
	assert_false(raw_bit(&pi, 257));
	virq_pi_set_sn(&pi, true);
	assert_true(raw_bit(&pi, 257)); /* SN */
	assert_true(raw_bit(&pi, 256));
	/* Reserved 271:258 stay clear. */
	for (unsigned bit = 258; bit <= 271; bit++)
		assert_false(raw_bit(&pi, bit));
	virq_pi_set_sn(&pi, false);
	assert_false(raw_bit(&pi, 257));
}

static void test_layout_nv_ndst_bytes(void **state)
{
	struct virq_pi_desc pi;
	uint8_t b[64];

	(void)state;
	desc_init(&pi);
	virq_pi_set_notification(&pi, 0xF2, 0x12345678U);
	raw(&pi, b);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(b[i], 0);
	assert_int_equal(b[32], 0x00); /* ON, SN clear; bits 263:258 reserved */
	assert_int_equal(b[33], 0x00); /* bits 271:264 reserved */
	assert_int_equal(b[34], 0xF2); /* NV = bits 279:272 */
	assert_int_equal(b[35], 0x00); /* bits 287:280 reserved */
	assert_int_equal(b[36], 0x78); /* NDST = bits 319:288, little endian */
	assert_int_equal(b[37], 0x56);
	assert_int_equal(b[38], 0x34);
	assert_int_equal(b[39], 0x12);
	for (unsigned i = 40; i < 64; i++)
		assert_int_equal(b[i], 0);
	for (unsigned bit = 272; bit <= 279; bit++)
		assert_int_equal(raw_bit(&pi, bit), (0xF2 >> (bit - 272)) & 1U);
	for (unsigned bit = 288; bit <= 319; bit++)
		assert_int_equal(raw_bit(&pi, bit), (0x12345678U >> (bit - 288)) & 1U);

	/* xAPIC host format: 8-bit ID in NDST bits 15:8 (descriptor bits 303:296). */
	virq_pi_set_notification(&pi, 0x01, 0x0000AB00U);
	raw(&pi, b);
	assert_int_equal(b[34], 0x01);
	assert_int_equal(b[36], 0x00);
	assert_int_equal(b[37], 0xAB);
	assert_int_equal(b[38], 0x00);
	assert_int_equal(b[39], 0x00);
}

/* set_notification replaces NV/NDST and keeps ON, SN, PIR and the software words. */
static void test_set_notification_preserves_rest(void **state)
{
	struct virq_pi_desc pi;
	uint64_t out[4];

	(void)state;
	desc_init(&pi);
	pi.sw[0] = 0x1111111111111111ULL;
	pi.sw[1] = 0x2222222222222222ULL;
	pi.sw[2] = 0x3333333333333333ULL;
	virq_pi_set_notification(&pi, 0xFF, 0xFFFFFFFFU);
	assert_true(virq_pi_post(&pi, 0x33, false));
	virq_pi_set_sn(&pi, true);
	virq_pi_set_notification(&pi, 0x20, 0x00000007U);
	assert_int_equal(ctrl(&pi),
			 VIRQ_PI_CTRL_ON | VIRQ_PI_CTRL_SN | (0x20ULL << 16) | (0x7ULL << 32));
	assert_pir_words(&pi, 1ULL << 0x33, 0, 0, 0);
	assert_int_equal(pi.sw[0], 0x1111111111111111ULL);
	assert_int_equal(pi.sw[1], 0x2222222222222222ULL);
	assert_int_equal(pi.sw[2], 0x3333333333333333ULL);
	/* And NV/NDST survive posts, harvests and SN changes. */
	assert_true(virq_pi_harvest(&pi, out));
	virq_pi_set_sn(&pi, false);
	assert_int_equal(ctrl(&pi), (0x20ULL << 16) | (0x7ULL << 32));
}

/* ---- post ---- */

static void test_post_return_values(void **state)
{
	struct virq_pi_desc pi;
	uint64_t out[4];

	(void)state;
	desc_init(&pi);
	virq_pi_set_notification(&pi, 0xF2, 3U << 8);

	/* First post: turns ON 0 -> 1, caller notifies. */
	assert_true(virq_pi_post(&pi, 0x41, false));
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_ON | (0xF2ULL << 16) | (0x300ULL << 32));
	assert_pir_words(&pi, 0, 1ULL << 1, 0, 0);

	/* Second, distinct vector while ON is set: no notification. */
	assert_false(virq_pi_post(&pi, 0xFE, false));
	assert_pir_words(&pi, 0, 1ULL << 1, 0, 1ULL << 62);

	/* Same vector again: merged, no notification, nothing changes. */
	assert_false(virq_pi_post(&pi, 0x41, false));
	assert_pir_words(&pi, 0, 1ULL << 1, 0, 1ULL << 62);
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_ON | (0xF2ULL << 16) | (0x300ULL << 32));

	/* After the harvest, the next post notifies again. */
	assert_true(virq_pi_harvest(&pi, out));
	assert_int_equal(ctrl(&pi) & VIRQ_PI_CTRL_ON, 0);
	assert_true(virq_pi_post(&pi, 0x41, false));
	assert_false(virq_pi_post(&pi, 0x42, false));
}

/* A PIR bit already set: a non-urgent post returns false even when ON is
 * clear (its poster notifies); an urgent one sets ON and notifies whatever
 * PIR held, as VT-d's posting does with URG (the vector waited under SN). */
static void test_post_pir_already_set_on_clear(void **state)
{
	struct virq_pi_desc pi;

	(void)state;
	desc_init(&pi);
	virq_pi_set_sn(&pi, true);
	assert_false(virq_pi_post(&pi, 0x80, false)); /* PIR set, ON clear (SN) */
	assert_false(virq_pi_post(&pi, 0x80, false)); /* again: nothing */
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_SN);
	assert_true(virq_pi_post(&pi, 0x80, true)); /* urgent: ON, notify */
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_SN | VIRQ_PI_CTRL_ON);
	assert_false(virq_pi_post(&pi, 0x80, true)); /* ON set: outstanding */
	assert_int_equal(pi.pir[2], 1ULL);
}

/* Vectors 0-15 and 255: the descriptor does not judge legality. */
static void test_post_every_vector(void **state)
{
	struct virq_pi_desc pi;
	uint64_t out[4];

	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		desc_init(&pi);
		assert_true(virq_pi_post(&pi, (uint8_t)v, false));
		assert_true(virq_pi_harvest(&pi, out));
		for (unsigned w = 0; w < 4; w++)
			assert_int_equal(out[w], w == v / 64 ? 1ULL << (v % 64) : 0);
		assert_pir_words(&pi, 0, 0, 0, 0);
		assert_int_equal(ctrl(&pi), 0);
	}
	/* All 256 at once: exactly one notification. */
	desc_init(&pi);
	assert_true(virq_pi_post(&pi, 0, false));
	for (unsigned v = 1; v < 256; v++)
		assert_false(virq_pi_post(&pi, (uint8_t)v, false));
	assert_pir_words(&pi, ~0ULL, ~0ULL, ~0ULL, ~0ULL);
	assert_true(virq_pi_harvest(&pi, out));
	for (unsigned w = 0; w < 4; w++)
		assert_int_equal(out[w], ~0ULL);
}

/* ---- SN ---- */

static void test_sn_non_urgent_no_notify(void **state)
{
	struct virq_pi_desc pi;

	(void)state;
	desc_init(&pi);
	assert_false(virq_pi_set_sn(&pi, true)); /* setting SN never asks to notify */
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_SN);
	assert_false(virq_pi_post(&pi, 0x50, false));
	assert_pir_words(&pi, 0, 1ULL << 16, 0, 0);
	assert_int_equal(ctrl(&pi) & VIRQ_PI_CTRL_ON, 0);
	assert_false(virq_pi_post(&pi, 0x51, false));
	assert_int_equal(ctrl(&pi) & VIRQ_PI_CTRL_ON, 0);
	assert_pir_words(&pi, 0, 3ULL << 16, 0, 0);
	/* Still pending work: PIR non-empty. */
	assert_true(virq_pi_pending(&pi));
}

static void test_sn_urgent_notifies(void **state)
{
	struct virq_pi_desc pi;

	(void)state;
	desc_init(&pi);
	virq_pi_set_sn(&pi, true);
	assert_false(virq_pi_post(&pi, 0x50, false));
	assert_true(virq_pi_post(&pi, 0x60, true)); /* VT-d URG: notify despite SN */
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_SN | VIRQ_PI_CTRL_ON);
	assert_false(virq_pi_post(&pi, 0x70, true)); /* ON already set */
	assert_pir_words(&pi, 0, (1ULL << 16) | (1ULL << 32) | (1ULL << 48), 0, 0);
	assert_true(raw_bit(&pi, 0x70));
}

static void test_sn_clear_rearms_once(void **state)
{
	struct virq_pi_desc pi;

	(void)state;
	desc_init(&pi);
	virq_pi_set_sn(&pi, true);
	assert_false(virq_pi_post(&pi, 0x90, false));
	/* Clearing SN with PIR non-empty and ON clear: notify, once. */
	assert_true(virq_pi_set_sn(&pi, false));
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_ON);
	assert_false(virq_pi_set_sn(&pi, false)); /* ON already set */
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_ON);
	/* A post now: ON set, no new notification. */
	assert_false(virq_pi_post(&pi, 0x91, false));
}

static void test_sn_clear_empty_no_notify(void **state)
{
	struct virq_pi_desc pi;
	uint64_t out[4];

	(void)state;
	desc_init(&pi);
	virq_pi_set_sn(&pi, true);
	assert_false(virq_pi_set_sn(&pi, false));
	assert_int_equal(ctrl(&pi), 0);

	/* SN set over an outstanding notification: clearing it asks for nothing. */
	assert_true(virq_pi_post(&pi, 0x22, false));
	virq_pi_set_sn(&pi, true);
	assert_false(virq_pi_set_sn(&pi, false));
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_ON);

	/* Suppressed post harvested before SN is cleared: nothing left to notify. */
	assert_true(virq_pi_harvest(&pi, out));
	virq_pi_set_sn(&pi, true);
	assert_false(virq_pi_post(&pi, 0x23, false));
	assert_true(virq_pi_harvest(&pi, out));
	assert_int_equal(out[0], 1ULL << 0x23);
	assert_false(virq_pi_set_sn(&pi, false));
	assert_int_equal(ctrl(&pi), 0);
}

/* ---- harvest ---- */

static void test_harvest_exact_words_and_clears(void **state)
{
	static const uint8_t vecs[] = { 0, 1, 15, 16, 63, 64, 100, 127, 128, 191, 192, 254, 255 };
	struct virq_pi_desc pi;
	uint64_t want[4] = { 0, 0, 0, 0 };
	uint64_t out[4];

	(void)state;
	desc_init(&pi);
	virq_pi_set_notification(&pi, 0xEE, 0x01020304U);
	for (unsigned i = 0; i < sizeof(vecs); i++) {
		virq_pi_post(&pi, vecs[i], false);
		want[vecs[i] / 64] |= 1ULL << (vecs[i] % 64);
	}
	memset(out, 0x5A, sizeof(out));
	assert_true(virq_pi_harvest(&pi, out));
	for (unsigned w = 0; w < 4; w++)
		assert_int_equal(out[w], want[w]);
	assert_pir_words(&pi, 0, 0, 0, 0);
	/* ON cleared, NV/NDST kept. */
	assert_int_equal(ctrl(&pi), (0xEEULL << 16) | (0x01020304ULL << 32));
	assert_false(virq_pi_pending(&pi));

	/* Empty harvest: false and out overwritten with zeros (not ORed). */
	memset(out, 0x5A, sizeof(out));
	assert_false(virq_pi_harvest(&pi, out));
	for (unsigned w = 0; w < 4; w++)
		assert_int_equal(out[w], 0);
}

/* Harvest clears ON even with an empty PIR, and leaves SN alone. */
static void test_harvest_clears_on_keeps_sn(void **state)
{
	struct virq_pi_desc pi;
	uint64_t out[4];

	(void)state;
	desc_init(&pi);
	__atomic_fetch_or(&pi.control, VIRQ_PI_CTRL_ON | VIRQ_PI_CTRL_SN, __ATOMIC_SEQ_CST);
	assert_true(virq_pi_pending(&pi));
	assert_false(virq_pi_harvest(&pi, out));
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_SN);
	assert_false(virq_pi_pending(&pi));

	/* SN set, bits posted without ON: harvest takes them. */
	virq_pi_post(&pi, 0xC0, false);
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_SN);
	assert_true(virq_pi_harvest(&pi, out));
	assert_int_equal(out[3], 1ULL);
	assert_int_equal(ctrl(&pi), VIRQ_PI_CTRL_SN);
}

/* ---- pending ---- */

static void test_pending(void **state)
{
	struct virq_pi_desc pi;
	uint64_t out[4];

	(void)state;
	desc_init(&pi);
	assert_false(virq_pi_pending(&pi));
	virq_pi_set_notification(&pi, 0xFF, 0xFFFFFFFFU);
	assert_false(virq_pi_pending(&pi)); /* NV/NDST are not work */
	virq_pi_set_sn(&pi, true);
	assert_false(virq_pi_pending(&pi)); /* nor is SN */
	virq_pi_set_sn(&pi, false);
	virq_pi_post(&pi, 0x30, false);
	assert_true(virq_pi_pending(&pi));
	virq_pi_harvest(&pi, out);
	assert_false(virq_pi_pending(&pi));
	/* PIR set, ON clear (SN): pending. */
	virq_pi_set_sn(&pi, true);
	virq_pi_post(&pi, 0xFF, false);
	assert_true(virq_pi_pending(&pi));
	virq_pi_harvest(&pi, out);
	assert_false(virq_pi_pending(&pi));
	/* ON set, PIR empty: pending (a notification is outstanding). */
	__atomic_fetch_or(&pi.control, VIRQ_PI_CTRL_ON, __ATOMIC_SEQ_CST);
	assert_true(virq_pi_pending(&pi));
	/* Each PIR word on its own. */
	virq_pi_harvest(&pi, out);
	for (unsigned w = 0; w < 4; w++) {
		virq_pi_post(&pi, (uint8_t)(w * 64 + 5), false);
		assert_true(virq_pi_pending(&pi));
		virq_pi_harvest(&pi, out);
		assert_false(virq_pi_pending(&pi));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_size_alignment),
		cmocka_unit_test(test_layout_constants),
		cmocka_unit_test(test_layout_pir_bits),
		cmocka_unit_test(test_layout_on_sn_bits),
		cmocka_unit_test(test_layout_nv_ndst_bytes),
		cmocka_unit_test(test_set_notification_preserves_rest),
		cmocka_unit_test(test_post_return_values),
		cmocka_unit_test(test_post_pir_already_set_on_clear),
		cmocka_unit_test(test_post_every_vector),
		cmocka_unit_test(test_sn_non_urgent_no_notify),
		cmocka_unit_test(test_sn_urgent_notifies),
		cmocka_unit_test(test_sn_clear_rearms_once),
		cmocka_unit_test(test_sn_clear_empty_no_notify),
		cmocka_unit_test(test_harvest_exact_words_and_clears),
		cmocka_unit_test(test_harvest_clears_on_keeps_sn),
		cmocka_unit_test(test_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
