/* SPDX-License-Identifier: MIT */
/*
 * Inline bodies of the posting protocol, shared by lib/core/pi.c (the
 * exported functions) and the hot paths of the controllers that own a
 * descriptor, so the owner cycle pays no call.
 */
#ifndef VIRQ_CORE_PI_IMPL_H
#define VIRQ_CORE_PI_IMPL_H

#include <virq/pi.h>

/*
 * Sets PIR bit @vector with one locked instruction; returns its old value.
 * On x86-64 BTS with a register bit offset addresses a bit string of any
 * length from its memory operand, so the vector needs no split into word
 * and bit (Linux's set_bit() relies on the same).
 */
static inline bool pi_test_and_set_pir(struct virq_pi_desc *pi, uint8_t vector)
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
 * The control-word steps of the protocol, shared by every descriptor whose
 * control word has ON at bit 0, SN at bit 1, NV at 23:16 and NDST at 63:32:
 * the posted-interrupt descriptor (control word at byte 32) and the user
 * posted-interrupt descriptor of user interrupts (control word at byte 0,
 * lib/core/uintr.c).
 */

/*
 * The poster's second step, after its locked PIR bit set: turns ON from 0
 * to 1 unless a notification is outstanding, or SN is set and the post is
 * not urgent. Returns true when this call set ON (the caller notifies).
 */
static inline bool pi_ctrl_arm(uint64_t *control, bool urgent)
{
	uint64_t ctrl;

	/*
	 * A plain (seq_cst) load suffices to see an outstanding notification:
	 * the receiver clears ON before it harvests PIR, and our PIR bit is
	 * globally visible before this load, so if ON still reads 1 the
	 * coming harvest sees the bit. This keeps the common "already
	 * notified" post at one locked instruction.
	 */
	ctrl = virq_atomic_load64(control);
	if (ctrl & VIRQ_PI_CTRL_ON)
		return false;
	if ((ctrl & VIRQ_PI_CTRL_SN) && !urgent)
		return false;
	return !virq_atomic_test_and_set_bit64(control, 0); /* ON is bit 0 */
}

/* The receiver's first step: clears ON, skipping the locked op when ON is
 * already clear to keep the line shared. */
static inline void pi_ctrl_clear_on(uint64_t *control)
{
	if (virq_atomic_load64_relaxed(control) & VIRQ_PI_CTRL_ON)
		virq_atomic_fetch_and64(control, ~VIRQ_PI_CTRL_ON);
}

/* The receiver's second step, per PIR word: read and clear it atomically
 * (no locked op for a word that reads 0). */
static inline uint64_t pi_take_word(uint64_t *w)
{
	uint64_t v = virq_atomic_load64_relaxed(w);

	return v ? virq_atomic_xchg64(w, 0) : 0;
}

/*
 * Sets or clears SN. Clearing it re-arms notification: when one of the
 * @n PIR words is non-zero afterwards and ON was clear, ON is set and true
 * returned (postings made while SN was set raised no notification).
 */
static inline bool pi_ctrl_set_sn(uint64_t *control, const uint64_t *pir, unsigned n, bool suppress)
{
	uint64_t old;

	if (suppress) {
		virq_atomic_fetch_or64(control, VIRQ_PI_CTRL_SN);
		return false;
	}
	virq_atomic_fetch_and64(control, ~VIRQ_PI_CTRL_SN);
	/*
	 * The locked AND above is a full barrier: any PIR bit a poster set
	 * while SN was visible is now visible to us. Such posts raised no
	 * notification, so raise it here (KVM vmx_vcpu_pi_load does the same).
	 */
	for (unsigned i = 0; i < n; i++) {
		if (virq_atomic_load64(&pir[i])) {
			old = virq_atomic_fetch_or64(control, VIRQ_PI_CTRL_ON);
			return !(old & VIRQ_PI_CTRL_ON);
		}
	}
	return false;
}

/* Sets NV and NDST together; ON and SN change under us (other posters, the
 * IOMMU, the CPU): compare-exchange loop. */
static inline void pi_ctrl_set_notification(uint64_t *control, uint8_t nv, uint32_t ndst)
{
	uint64_t old = virq_atomic_load64(control);
	uint64_t val;

	do {
		val = old & ~(VIRQ_PI_CTRL_NV_MASK | VIRQ_PI_CTRL_NDST_MASK);
		val |= (uint64_t)nv << VIRQ_PI_CTRL_NV_SHIFT;
		val |= (uint64_t)ndst << VIRQ_PI_CTRL_NDST_SHIFT;
	} while (!virq_atomic_cmpxchg64(control, &old, val));
}

static inline bool pi_post_inline(struct virq_pi_desc *pi, uint8_t vector, bool urgent)
{
	/* Locked bit set of the PIR bit (a full barrier on x86). */
	if (pi_test_and_set_pir(pi, vector))
		return false; /* already pending: whoever set it notifies */

	return pi_ctrl_arm(&pi->control, urgent);
}

static inline bool pi_harvest_inline(struct virq_pi_desc *pi, uint64_t out[4])
{
	uint64_t any = 0;

	/* Clear ON before reading PIR, the order of SDM 3C 30.6
	 * "Posted-Interrupt Processing" and of KVM's vmx_sync_pir_to_irr;
	 * skip the locked op when ON is already clear to keep the line
	 * shared. */
	pi_ctrl_clear_on(&pi->control);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t w = pi_take_word(&pi->pir[i]);
		out[i] = w;
		any |= w;
	}
	return any != 0;
}

static inline bool pi_pending_inline(const struct virq_pi_desc *pi)
{
	if (virq_atomic_load64_relaxed(&pi->control) & VIRQ_PI_CTRL_ON)
		return true;
	for (unsigned i = 0; i < 4; i++)
		if (virq_atomic_load64_relaxed(&pi->pir[i]))
			return true;
	return false;
}

#endif /* VIRQ_CORE_PI_IMPL_H */
