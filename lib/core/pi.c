/* SPDX-License-Identifier: MIT */
/* The posted-interrupt descriptor: exported wrappers and control-word updates. */
#include "pi_impl.h"

VIRQ_API bool virq_pi_post(struct virq_pi_desc *pi, uint8_t vector, bool urgent)
{
	return pi_post_inline(pi, vector, urgent);
}

VIRQ_API bool virq_pi_harvest(struct virq_pi_desc *pi, uint64_t out[4])
{
	return pi_harvest_inline(pi, out);
}

VIRQ_API bool virq_pi_pending(const struct virq_pi_desc *pi)
{
	return pi_pending_inline(pi);
}

VIRQ_API bool virq_pi_set_sn(struct virq_pi_desc *pi, bool suppress)
{
	uint64_t old;

	if (suppress) {
		virq_atomic_fetch_or64(&pi->control, VIRQ_PI_CTRL_SN);
		return false;
	}
	virq_atomic_fetch_and64(&pi->control, ~VIRQ_PI_CTRL_SN);
	/*
	 * The locked AND above is a full barrier: any PIR bit a poster set
	 * while SN was visible is now visible to us. Such posts raised no
	 * notification, so raise it here (KVM vmx_vcpu_pi_load does the same).
	 */
	for (unsigned i = 0; i < 4; i++) {
		if (virq_atomic_load64(&pi->pir[i])) {
			old = virq_atomic_fetch_or64(&pi->control, VIRQ_PI_CTRL_ON);
			return !(old & VIRQ_PI_CTRL_ON);
		}
	}
	return false;
}

VIRQ_API void virq_pi_set_notification(struct virq_pi_desc *pi, uint8_t nv, uint32_t ndst)
{
	uint64_t old = virq_atomic_load64(&pi->control);
	uint64_t val;

	/* ON and SN change under us (other posters, the IOMMU): CAS loop. */
	do {
		val = old & ~(VIRQ_PI_CTRL_NV_MASK | VIRQ_PI_CTRL_NDST_MASK);
		val |= (uint64_t)nv << VIRQ_PI_CTRL_NV_SHIFT;
		val |= (uint64_t)ndst << VIRQ_PI_CTRL_NDST_SHIFT;
	} while (!virq_atomic_cmpxchg64(&pi->control, &old, val));
}
