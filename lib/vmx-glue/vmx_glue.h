/* SPDX-License-Identifier: MIT */
/*
 * What the VMX glue's files share. Public headers only (the glue sits on
 * libvirq's API like the KVM glue: tests/meta/layers.txt).
 */
#ifndef VIRQ_VMX_GLUE_H
#define VIRQ_VMX_GLUE_H

#include <virq/error.h>
#include <virq/vmx.h>
#include <virq/version.h>

static inline uint64_t vmx_read(const struct virq_vmx_vcpu *vx, uint32_t field)
{
	return vx->ops->vmread(vx->ctx, field);
}

static inline void vmx_write(const struct virq_vmx_vcpu *vx, uint32_t field, uint64_t value)
{
	vx->ops->vmwrite(vx->ctx, field, value);
}

/* SDM Vol. 3A Table 6-1 "Protected-Mode Exceptions and Interrupts": the
 * exceptions that push an error code, as the VM-entry check knows them
 * (SDM Vol. 3C 26.2.1.3 "VM-Entry Control Fields": 8, 10-14, 17, and 21
 * with CET). */
static inline bool vmx_exc_has_error(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

/* virq_vmx_vcpu::loaded: the cached field is what the VMCS holds. */
#define VMX_LOADED_TPR_THRESHOLD (1U << 0)
#define VMX_LOADED_EOI_EXIT (1U << 1)

/* The glue writes secondary controls: APICv, or an APIC-access page. */
static inline bool vmx_uses_secondary(const struct virq_vmx_vcpu *vx)
{
	return vx->level == VIRQ_VMX_LEVEL_APICV || vx->apic_access_addr != 0;
}

/* init.c: the controls and MSR-bitmap bits that follow the LAPIC's mode,
 * rewritten when the mode changed since the last call (or @force). */
void vmx_follow_mode(struct virq_vmx_vcpu *vx, bool force);

/* pi.c: the posters' view of the vCPU around an entry (<virq/vmx_pi.h>). */
void vmx_pi_enter(struct virq_vmx_vcpu *vx);
void vmx_pi_leave(struct virq_vmx_vcpu *vx);

#endif /* VIRQ_VMX_GLUE_H */
