/* SPDX-License-Identifier: MIT */
/**
 * @file pi.h
 * @brief The posted-interrupt descriptor and its posting routine.
 *
 * One 64-byte descriptor, laid out as VT-x (SDM Vol. 3C,
 * "Posted-Interrupt Processing") and VT-d ("Posted Interrupt Descriptor")
 * define it, serves three posters with one protocol: software (any host
 * thread posting to a vCPU), the CPU (hardware posted-interrupt processing)
 * and the IOMMU (posted-format IRTEs).
 *
 * | bits    | field | meaning                                         |
 * |---------|-------|-------------------------------------------------|
 * | 255:0   | PIR   | one bit per vector                              |
 * | 256     | ON    | outstanding notification                        |
 * | 257     | SN    | suppress notification (non-urgent posts)        |
 * | 279:272 | NV    | notification vector                             |
 * | 319:288 | NDST  | notification destination (host APIC ID)         |
 *
 * Protocol (the poster as KVM's vmx_deliver_posted_interrupt(), the
 * receiver in the order of the SDM's "Posted-Interrupt Processing"):
 *  - poster: locked OR of the PIR bit, then ON; only the poster that turns
 *    ON from 0 to 1 notifies (kicks the owner or sends NV to NDST);
 *  - receiver: clear ON first, then read-and-clear every PIR word with an
 *    atomic exchange, so a bit posted concurrently is either harvested now
 *    or followed by a fresh notification.
 */
#ifndef VIRQ_PI_H
#define VIRQ_PI_H

#include <virq/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief ON: outstanding notification (bit 0 of the control word, bit 256 overall). */
#define VIRQ_PI_CTRL_ON (1ULL << 0)
/** @brief SN: suppress notification (bit 1 of the control word, bit 257 overall). */
#define VIRQ_PI_CTRL_SN (1ULL << 1)
/** @brief Shift of NV in the control word (bits 279:272 overall). */
#define VIRQ_PI_CTRL_NV_SHIFT 16
/** @brief Mask of NV in the control word. */
#define VIRQ_PI_CTRL_NV_MASK (0xFFULL << VIRQ_PI_CTRL_NV_SHIFT)
/** @brief Shift of NDST in the control word (bits 319:288 overall). */
#define VIRQ_PI_CTRL_NDST_SHIFT 32
/** @brief Mask of NDST in the control word. */
#define VIRQ_PI_CTRL_NDST_MASK (0xFFFFFFFFULL << VIRQ_PI_CTRL_NDST_SHIFT)

/**
 * @brief Posted-interrupt descriptor: 64 bytes, 64-byte aligned.
 *
 * Never written with plain stores while any poster may use it; use the
 * functions below.
 */
struct VIRQ_ALIGNED(64) virq_pi_desc {
	uint64_t pir[4];  /**< Posted-interrupt requests, bit v = vector v. */
	uint64_t control; /**< ON, SN, NV, NDST (see VIRQ_PI_CTRL_*). */
	uint64_t sw[3];   /**< Available to software; the CPU and IOMMU ignore it. */
};

VIRQ_STATIC_ASSERT(sizeof(struct virq_pi_desc) == 64, "posted-interrupt descriptor is 64 bytes");

/** @cond INTERNAL */
/*
 * The inline body of the posting protocol, shared by virq_pi_post() and
 * virq_lapic_post_edge(); the library's own hot paths use it too.
 */

/* Sets PIR bit @p vector with one locked instruction; returns its old
 * value. On x86-64 BTS with a register bit offset addresses a bit string
 * of any length from its memory operand, so the vector needs no split into
 * word and bit (Linux's set_bit() relies on the same). */
static inline bool virq_pi_test_and_set_pir_(struct virq_pi_desc *pi, uint8_t vector)
{
#if defined(__x86_64__) && !defined(VIRQ_TSAN)
	bool old;

	__asm__ volatile("lock btsq %2, %0"
			 : "+m"(pi->pir), "=@ccc"(old)
			 : "r"((uint64_t)vector)
			 : "memory");
	return old;
#else
	return virq_atomic_test_and_set_bit64(&pi->pir[vector >> 6], vector & 63U);
#endif
}

/*
 * The poster's second step, after its locked PIR bit set, for any control
 * word with ON at bit 0 and SN at bit 1 (this descriptor's, and the user
 * posted-interrupt descriptor's): turns ON from 0 to 1 unless a
 * notification is outstanding, or SN is set and the post is not urgent.
 * Returns true when this call set ON (the caller notifies).
 *
 * A plain (seq_cst) load suffices to see an outstanding notification: the
 * receiver clears ON before it harvests PIR, and the PIR bit is globally
 * visible before this load, so if ON still reads 1 the coming harvest sees
 * the bit. This keeps the common "already notified" post at one locked
 * instruction.
 */
static inline bool virq_pi_ctrl_arm_(uint64_t *control, bool urgent)
{
	uint64_t ctrl = virq_atomic_load64(control);

	if (ctrl & VIRQ_PI_CTRL_ON)
		return false;
	if ((ctrl & VIRQ_PI_CTRL_SN) && !urgent)
		return false;
	return !virq_atomic_test_and_set_bit64(control, 0); /* ON is bit 0 */
}
/** @endcond */

/**
 * @brief virq_pi_post(), inline: the same protocol and result, no call.
 *
 * For posters on a hot path (an MSI or IPI to a vCPU). Inlining it makes
 * the protocol part of the ABI, which the descriptor's hardware definition
 * fixes anyway: PIR bit first (one `LOCK BTS` on x86-64), then ON as
 * described at virq_pi_post().
 *
 * @param pi      The descriptor.
 * @param vector  Vector to post (0-255; the receiver judges legality).
 * @param urgent  Notify even when SN is set (VT-d URG).
 * @return true when this call turned ON from 0 to 1 (the caller notifies).
 * @note Any thread, lock-free.
 */
static inline bool virq_pi_post_inline(struct virq_pi_desc *pi, uint8_t vector, bool urgent)
{
	/* A non-urgent post of a vector already pending stops at the PIR
	 * bit: whoever set it notifies (or the receiver is taking it). An
	 * urgent one goes on to ON as VT-d's posting does (URG overrides SN
	 * whatever PIR held): its vector may be waiting under SN. */
	if (virq_pi_test_and_set_pir_(pi, vector) && !urgent)
		return false;
	return virq_pi_ctrl_arm_(&pi->control, urgent);
}

/**
 * @brief Posts @p vector into @p pi.
 *
 * Sets PIR[vector]; then, unless a notification is outstanding (ON set),
 * or the post is not @p urgent and the vector was already pending or SN is
 * set, sets ON. An urgent post thus notifies whenever ON was clear, as the
 * VT-d posting hardware does with URG (Intel VT-d specification,
 * "Interrupt-Posting Hardware Operation"). A non-urgent post that finds
 * its PIR bit or ON already set issues exactly one locked instruction.
 *
 * @param pi      The descriptor.
 * @param vector  Vector to post (0-255; the receiver judges legality).
 * @param urgent  Notify even when SN is set (VT-d URG).
 * @return true when this call turned ON from 0 to 1: the caller must notify
 *         the receiver (kick it, or send NV to NDST). false otherwise.
 * @note Any thread, lock-free.
 */
VIRQ_API bool virq_pi_post(struct virq_pi_desc *pi, uint8_t vector, bool urgent);

/**
 * @brief Takes every posted vector out of @p pi.
 *
 * Clears ON, then atomically reads and clears each non-zero PIR word into
 * @p out (out is overwritten, not ORed).
 *
 * @param pi  The descriptor.
 * @param out Receives the harvested PIR (4 x 64 bits).
 * @return true when at least one vector was harvested.
 * @note Receiver (owner) only; concurrent posters are safe.
 */
VIRQ_API bool virq_pi_harvest(struct virq_pi_desc *pi, uint64_t out[4]);

/**
 * @brief Whether the descriptor holds work: ON set or any PIR bit set.
 * @param pi The descriptor; not NULL.
 * @return true when ON or any of the 256 PIR bits is set at the moment of
 *         reading (a concurrent post or harvest may change it at once).
 * @note Any thread; a snapshot.
 */
VIRQ_API bool virq_pi_pending(const struct virq_pi_desc *pi);

/**
 * @brief Sets or clears SN.
 *
 * Clearing SN re-arms notification: if PIR is non-empty afterwards and ON was
 * clear, ON is set and true is returned so that the caller notifies (postings
 * made while SN was set raised no notification).
 *
 * @param pi       The descriptor.
 * @param suppress New value of SN.
 * @return true when the caller must notify the receiver.
 * @note Owner of the descriptor; concurrent posters are safe.
 */
VIRQ_API bool virq_pi_set_sn(struct virq_pi_desc *pi, bool suppress);

/**
 * @brief Sets NV and NDST together (one 64-bit compare-exchange loop).
 * @param pi    The descriptor.
 * @param nv    Notification vector.
 * @param ndst  Notification destination, already in the NDST format
 *              (x2APIC: the 32-bit ID; xAPIC: the 8-bit ID in bits 15:8).
 * @note Owner of the descriptor; concurrent posters are safe.
 */
VIRQ_API void virq_pi_set_notification(struct virq_pi_desc *pi, uint8_t nv, uint32_t ndst);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_PI_H */
