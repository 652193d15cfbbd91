/* SPDX-License-Identifier: MIT */
/*
 * What the VMX glue's files share. Public headers only (the glue sits on
 * libvirq's API like the KVM glue: tests/meta/layers.txt).
 */
#ifndef VIRQ_VMX_GLUE_H
#define VIRQ_VMX_GLUE_H

#include <virq/error.h>
#include <virq/vmx.h>

static inline uint64_t vmx_read(const struct virq_vmx_vcpu *vx, uint32_t field)
{
	return vx->ops->vmread(vx->ctx, field);
}

static inline void vmx_write(const struct virq_vmx_vcpu *vx, uint32_t field, uint64_t value)
{
	vx->ops->vmwrite(vx->ctx, field, value);
}

/* SDM Vol. 3A Table 6-1: the exceptions that push an error code, as the
 * VM-entry check knows them (SDM Vol. 3C 26.2.1.3: 8, 10-14, 17, and 21
 * with CET). */
static inline bool vmx_exc_has_error(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

#endif /* VIRQ_VMX_GLUE_H */
