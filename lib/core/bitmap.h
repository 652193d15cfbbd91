/* SPDX-License-Identifier: MIT */
/*
 * 256-bit vector bitmaps, in the two layouts the architecture uses:
 *  - contiguous: four 64-bit words (PIR, pending-trigger bitmaps, IOAPIC
 *    vector sets);
 *  - APIC page: eight 32-bit registers at a 16-byte stride (IRR, ISR and TMR
 *    on the xAPIC register page and on the VT-x virtual-APIC page).
 *
 * Library-internal: every layer includes it, no controller is known here.
 * Highest-bit searches scan words from the top with a bit-scan instruction,
 * never bit by bit.
 */
#ifndef VIRQ_CORE_BITMAP_H
#define VIRQ_CORE_BITMAP_H

#include <virq/platform.h>

/* "No vector": returned by the highest-set searches on an empty bitmap. */
#define VEC_NONE (-1)

/* ---- contiguous 4 x 64 ---- */

static inline void vec256_set(uint64_t *bm, uint8_t v)
{
	bm[v >> 6] |= 1ULL << (v & 63U);
}

static inline void vec256_clear(uint64_t *bm, uint8_t v)
{
	bm[v >> 6] &= ~(1ULL << (v & 63U));
}

static inline bool vec256_test(const uint64_t *bm, uint8_t v)
{
	return (bm[v >> 6] >> (v & 63U)) & 1U;
}

static inline bool vec256_empty(const uint64_t *bm)
{
	return (bm[0] | bm[1] | bm[2] | bm[3]) == 0;
}

static inline int vec256_highest(const uint64_t *bm)
{
	for (int w = 3; w >= 0; w--)
		if (bm[w])
			return w * 64 + (int)virq_fls64(bm[w]);
	return VEC_NONE;
}

/* Atomic set: returns whether the bit was already set. */
static inline bool vec256_atomic_set(uint64_t *bm, uint8_t v)
{
	uint64_t bit = 1ULL << (v & 63U);
	return (virq_atomic_fetch_or64(&bm[v >> 6], bit) & bit) != 0;
}

/* Atomic clear: returns whether the bit was set. */
static inline bool vec256_atomic_clear(uint64_t *bm, uint8_t v)
{
	uint64_t bit = 1ULL << (v & 63U);
	return (virq_atomic_fetch_and64(&bm[v >> 6], ~bit) & bit) != 0;
}

/* ---- APIC page layout: register i at byte offset base + 16 * i ---- */

#define APICVEC_STRIDE_U32 4U

static inline uint32_t *apicvec_word(uint32_t *base, unsigned i)
{
	return base + i * APICVEC_STRIDE_U32;
}

static inline uint32_t apicvec_get_word(const uint32_t *base, unsigned i)
{
	return base[i * APICVEC_STRIDE_U32];
}

static inline void apicvec_set(uint32_t *base, uint8_t v)
{
	base[(v >> 5) * APICVEC_STRIDE_U32] |= 1U << (v & 31U);
}

static inline void apicvec_clear(uint32_t *base, uint8_t v)
{
	base[(v >> 5) * APICVEC_STRIDE_U32] &= ~(1U << (v & 31U));
}

static inline bool apicvec_test(const uint32_t *base, uint8_t v)
{
	return (base[(v >> 5) * APICVEC_STRIDE_U32] >> (v & 31U)) & 1U;
}

/* Highest set vector at or below register @top (0-7), or VEC_NONE. */
static inline int apicvec_highest_from(const uint32_t *base, int top)
{
	for (int i = top; i >= 0; i--) {
		uint32_t w = base[(unsigned)i * APICVEC_STRIDE_U32];
		if (w)
			return i * 32 + (int)virq_fls32(w);
	}
	return VEC_NONE;
}

static inline int apicvec_highest(const uint32_t *base)
{
	return apicvec_highest_from(base, 7);
}

/* Registers 2i and 2i+1 as one 64-bit word (vectors 64i..64i+63). */
static inline uint64_t apicvec_pair(const uint32_t *base, unsigned i)
{
	return (uint64_t)base[(2 * i) * APICVEC_STRIDE_U32] |
	       ((uint64_t)base[(2 * i + 1) * APICVEC_STRIDE_U32] << 32);
}

/*
 * A summary keeps bit i set exactly when register i (vectors 32i..32i+31)
 * is non-zero, so the highest vector costs two bit scans and one load
 * instead of a walk over 8 registers, and clearing a bit learns whether
 * its register emptied from the same read-modify-write.
 */
static inline int apicvec_highest_sum(const uint32_t *base, uint8_t sum)
{
	unsigned i;

	if (!sum)
		return VEC_NONE;
	i = virq_fls32(sum);
	return (int)(i * 32 + virq_fls32(base[i * APICVEC_STRIDE_U32]));
}

static inline uint8_t apicvec_summary(const uint32_t *base)
{
	uint8_t sum = 0;

	for (unsigned i = 0; i < 8; i++)
		if (base[i * APICVEC_STRIDE_U32])
			sum |= (uint8_t)(1U << i);
	return sum;
}

/* Set bits of one word, without the popcount builtin (which needs libgcc's
 * __popcountsi2 in a freestanding build without POPCNT). */
static inline unsigned apicvec_popcount32(uint32_t w)
{
	w = w - ((w >> 1) & 0x55555555U);
	w = (w & 0x33333333U) + ((w >> 2) & 0x33333333U);
	w = (w + (w >> 4)) & 0x0F0F0F0FU;
	return (w * 0x01010101U) >> 24;
}

/* Number of set bits, 0 to 256. */
static inline unsigned apicvec_count(const uint32_t *base)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 8; i++)
		n += apicvec_popcount32(base[i * APICVEC_STRIDE_U32]);
	return n;
}

/* The summary bits of registers 2i and 2i+1 after they were ORed with @w
 * (vectors 64i..64i+63). */
static inline uint8_t apicvec_sum_of_pair(uint64_t w, unsigned i)
{
	return (uint8_t)((((uint32_t)w != 0) | (((w >> 32) != 0) << 1)) << (2 * i));
}

/* Set/clear bit v and keep the summary exact. */
static inline void apicvec_set_sum(uint32_t *base, uint8_t *sum, uint8_t v)
{
	base[(v >> 5) * APICVEC_STRIDE_U32] |= 1U << (v & 31U);
	*sum |= (uint8_t)(1U << (v >> 5));
}

static inline void apicvec_clear_sum(uint32_t *base, uint8_t *sum, uint8_t v)
{
	uint32_t *r = &base[(v >> 5) * APICVEC_STRIDE_U32];

	*r &= ~(1U << (v & 31U));
	if (!*r)
		*sum &= (uint8_t)(~(1U << (v >> 5)));
}

/* APIC-page bitmap -> contiguous 4 x 64. */
static inline void apicvec_to_vec256(const uint32_t *base, uint64_t *out)
{
	for (unsigned i = 0; i < 4; i++)
		out[i] = apicvec_pair(base, i);
}

/* OR a contiguous bitmap into an APIC-page bitmap. */
static inline void apicvec_or_vec256(uint32_t *base, const uint64_t *bm)
{
	for (unsigned i = 0; i < 4; i++) {
		if (!bm[i])
			continue;
		base[(2 * i) * APICVEC_STRIDE_U32] |= (uint32_t)bm[i];
		base[(2 * i + 1) * APICVEC_STRIDE_U32] |= (uint32_t)(bm[i] >> 32);
	}
}

#endif /* VIRQ_CORE_BITMAP_H */
