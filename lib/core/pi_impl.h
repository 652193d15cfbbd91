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
 * The control-word steps of the protocol, shared by every descriptor whose
 * control word has ON at bit 0, SN at bit 1, NV at 23:16 and NDST at 63:32:
 * the posted-interrupt descriptor (control word at byte 32) and the user
 * posted-interrupt descriptor of user interrupts (control word at byte 0,
 * lib/core/uintr.c). The poster's steps are public inlines in virq/pi.h
 * (virq_pi_post_inline(), virq_pi_ctrl_arm_()); the receiver's are here.
 */
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
