/* SPDX-License-Identifier: MIT */
/*
 * The VMX glue's setup: the capability MSRs say which controls the CPU
 * allows (SDM Vol. 3C Appendix A.3 "VM-Execution Controls", A.4 "VM-Exit
 * Controls": bits 31:0 are the allowed 0-settings, a 1 there means the
 * control must be 1; bits 63:32 the allowed 1-settings), then the glue
 * writes the controls it owns.
 */
#include "vmx_glue.h"

#define VMX_F_ALL                                                                                  \
	(VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT | VIRQ_VMX_F_UNRESTRICTED_GUEST)
#define VCPU_OPT_ALL (VIRQ_VCPU_OPT_NMI_BLOCKING | VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY)

static bool can_set(uint64_t cap, uint32_t bit)
{
	return ((cap >> 32) & bit) == bit;
}

static bool can_clear(uint64_t cap, uint32_t bit)
{
	return ((uint32_t)cap & bit) == 0;
}

/* SDM Vol. 3C A.3.1-A.3.2, A.4: with IA32_VMX_BASIC bit 55 the TRUE_* MSRs
 * report the controls of the default-1 class that may be 0 too. */
static uint32_t check_caps(const struct virq_vmx_ops *ops, void *ctx, uint64_t basic,
			   uint32_t flags)
{
	bool tru = (basic & VIRQ_VMX_BASIC_TRUE_CTLS) != 0;
	uint64_t pin = ops->rdmsr(ctx, tru ? VIRQ_MSR_IA32_VMX_TRUE_PINBASED_CTLS
					   : VIRQ_MSR_IA32_VMX_PINBASED_CTLS);
	uint64_t proc = ops->rdmsr(ctx, tru ? VIRQ_MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					    : VIRQ_MSR_IA32_VMX_PROCBASED_CTLS);
	uint32_t missing = 0;

	if (!can_set(pin, VIRQ_VMX_PIN_EXT_INTR_EXITING))
		missing |= VIRQ_VMX_MISSING_EXT_INTR_EXITING;
	/* Set while an interrupt waits, clear otherwise. */
	if (!can_set(proc, VIRQ_VMX_PROC_INTR_WINDOW_EXITING) ||
	    !can_clear(proc, VIRQ_VMX_PROC_INTR_WINDOW_EXITING))
		missing |= VIRQ_VMX_MISSING_INTR_WINDOW;
	if ((flags & VIRQ_VMX_F_VIRTUAL_NMIS) &&
	    (!can_set(pin, VIRQ_VMX_PIN_NMI_EXITING | VIRQ_VMX_PIN_VIRTUAL_NMIS) ||
	     !can_set(proc, VIRQ_VMX_PROC_NMI_WINDOW_EXITING) ||
	     !can_clear(proc, VIRQ_VMX_PROC_NMI_WINDOW_EXITING)))
		missing |= VIRQ_VMX_MISSING_VIRTUAL_NMIS;
	if (flags & VIRQ_VMX_F_ACK_INTR_ON_EXIT) {
		uint64_t ex = ops->rdmsr(ctx, tru ? VIRQ_MSR_IA32_VMX_TRUE_EXIT_CTLS
						  : VIRQ_MSR_IA32_VMX_EXIT_CTLS);

		if (!can_set(ex, VIRQ_VMX_EXIT_ACK_INTR_ON_EXIT))
			missing |= VIRQ_VMX_MISSING_ACK_INTR_ON_EXIT;
	}
	return missing;
}

VIRQ_API int virq_vmx_vcpu_init(struct virq_vmx_vcpu *vx, struct virq_vcpu *policy,
				struct virq_lapic *lapic, const struct virq_vmx_ops *ops, void *ctx,
				const struct virq_vmx_config *cfg)
{
	uint32_t opts, pin;
	uint64_t basic;

	if (!vx || !policy || !ops || !cfg || !ops->vmread || !ops->vmwrite || !ops->rdmsr ||
	    (ops->read_gpr && !ops->write_gpr) || (cfg->flags & ~VMX_F_ALL) ||
	    (cfg->vcpu_options & ~VCPU_OPT_ALL) || cfg->level > VIRQ_VMX_LEVEL_APICV)
		return -VIRQ_EINVAL;
	virq_memset(vx, 0, sizeof(*vx));
	/* TPR shadow and APICv are later levels (doc/vmx.md). */
	if (cfg->level != VIRQ_VMX_LEVEL_INJECT)
		return -VIRQ_ENOTSUP;
	basic = ops->rdmsr(ctx, VIRQ_MSR_IA32_VMX_BASIC);
	vx->missing = check_caps(ops, ctx, basic, cfg->flags);
	if (vx->missing)
		return -VIRQ_ENOTSUP;

	/* Validated: from here on nothing fails. */
	vx->ops = ops;
	vx->ctx = ctx;
	vx->policy = policy;
	vx->lapic = lapic;
	vx->basic = basic;
	vx->misc = ops->rdmsr(ctx, VIRQ_MSR_IA32_VMX_MISC);
	vx->flags = cfg->flags;
	opts = cfg->vcpu_options;
	if (!(cfg->flags & VIRQ_VMX_F_VIRTUAL_NMIS))
		opts |= VIRQ_VCPU_OPT_NMI_BLOCKING; /* vcpu.h "NMI blocking" */
	(void)virq_vcpu_set_options(policy, opts);

	pin = (uint32_t)vmx_read(vx, VIRQ_VMCS_PIN_BASED_CTLS) | VIRQ_VMX_PIN_EXT_INTR_EXITING;
	if (cfg->flags & VIRQ_VMX_F_VIRTUAL_NMIS)
		pin |= VIRQ_VMX_PIN_NMI_EXITING | VIRQ_VMX_PIN_VIRTUAL_NMIS;
	else
		pin &= ~VIRQ_VMX_PIN_VIRTUAL_NMIS;
	vmx_write(vx, VIRQ_VMCS_PIN_BASED_CTLS, pin);
	if (cfg->flags & VIRQ_VMX_F_ACK_INTR_ON_EXIT)
		vmx_write(vx, VIRQ_VMCS_EXIT_CTLS,
			  vmx_read(vx, VIRQ_VMCS_EXIT_CTLS) | VIRQ_VMX_EXIT_ACK_INTR_ON_EXIT);
	vx->proc_ctls = (uint32_t)vmx_read(vx, VIRQ_VMCS_PROC_BASED_CTLS) &
			~(VIRQ_VMX_PROC_INTR_WINDOW_EXITING | VIRQ_VMX_PROC_NMI_WINDOW_EXITING);
	vmx_write(vx, VIRQ_VMCS_PROC_BASED_CTLS, vx->proc_ctls);
	return 0;
}

VIRQ_API uint32_t virq_vmx_missing(const struct virq_vmx_vcpu *vx)
{
	return vx ? vx->missing : 0;
}

VIRQ_API const struct virq_vmx_stats *virq_vmx_get_stats(const struct virq_vmx_vcpu *vx)
{
	return &vx->stats;
}
