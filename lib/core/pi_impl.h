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

static inline bool pi_post_inline(struct virq_pi_desc *pi, uint8_t vector, bool urgent)
{
	uint64_t ctrl;

	/* Locked bit set of the PIR bit (a full barrier on x86). */
	if (pi_test_and_set_pir(pi, vector))
		return false; /* already pending: whoever set it notifies */

	/*
	 * A plain (seq_cst) load suffices to see an outstanding notification:
	 * the receiver clears ON before it harvests PIR, and our PIR bit is
	 * globally visible before this load, so if ON still reads 1 the
	 * coming harvest sees the bit. This keeps the common "already
	 * notified" post at one locked instruction.
	 */
	ctrl = virq_atomic_load64(&pi->control);
	if (ctrl & VIRQ_PI_CTRL_ON)
		return false;
	if ((ctrl & VIRQ_PI_CTRL_SN) && !urgent)
		return false;
	return !virq_atomic_test_and_set_bit64(&pi->control, 0); /* ON is bit 0 */
}

static inline bool pi_harvest_inline(struct virq_pi_desc *pi, uint64_t out[4])
{
	uint64_t any = 0;

	/* Clear ON before reading PIR, the order of SDM 3C 30.6
	 * "Posted-Interrupt Processing" and of KVM's vmx_sync_pir_to_irr;
	 * skip the locked op when ON is already clear to keep the line
	 * shared. */
	if (virq_atomic_load64_relaxed(&pi->control) & VIRQ_PI_CTRL_ON)
		virq_atomic_fetch_and64(&pi->control, ~VIRQ_PI_CTRL_ON);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t w = virq_atomic_load64_relaxed(&pi->pir[i]);
		if (w)
			w = virq_atomic_xchg64(&pi->pir[i], 0);
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
