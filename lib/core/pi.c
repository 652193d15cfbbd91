/* SPDX-License-Identifier: MIT */
/* The posted-interrupt descriptor: exported wrappers and control-word updates. */
#include "pi_impl.h"

VIRQ_API bool virq_pi_post(struct virq_pi_desc *pi, uint8_t vector, bool urgent)
{
	return virq_pi_post_inline(pi, vector, urgent);
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
	return pi_ctrl_set_sn(&pi->control, pi->pir, 4, suppress);
}

VIRQ_API void virq_pi_set_notification(struct virq_pi_desc *pi, uint8_t nv, uint32_t ndst)
{
	pi_ctrl_set_notification(&pi->control, nv, ndst);
}
