/* SPDX-License-Identifier: MIT */
/*
 * The VM-entry checks on an injected event, restated from SDM Vol. 3C
 * 26.2.1.3 "Checks on VM-Entry Control Fields" (the event-injection
 * fields) and 26.3.1.5 "Checks on Guest Non-Register State" (blocking and
 * activity state against the event), with the checks of 26.2.1.1
 * "VM-Execution Control Fields" on the APIC virtualization controls, so
 * tests and fuzzers can check every value the glue writes. The glue
 * itself does not call it.
 */
#include "vmx_glue.h"

static int check_fields(const struct virq_vmx_check_env *env, uint32_t info, uint32_t ec,
			uint32_t len)
{
	unsigned type = (info & VIRQ_VMX_INTR_TYPE_MASK) >> VIRQ_VMX_INTR_TYPE_SHIFT;
	unsigned vector = info & VIRQ_VMX_INTR_VECTOR_MASK;
	bool has_ec = (info & VIRQ_VMX_INTR_ERROR_CODE) != 0;
	bool real = (env->proc_ctls2 & VIRQ_VMX_PROC2_UNRESTRICTED_GUEST) &&
		    !(env->cr0 & VIRQ_VMX_CR0_PE);

	if (type == 1 || (type == VIRQ_VMX_INTR_TYPE_OTHER && !env->mtf))
		return VIRQ_VMX_CHECK_TYPE;
	if ((type == VIRQ_VCPU_EV_NMI && vector != 2) ||
	    (type == VIRQ_VCPU_EV_HW_EXC && vector > 31) ||
	    (type == VIRQ_VMX_INTR_TYPE_OTHER && vector != 0))
		return VIRQ_VMX_CHECK_VECTOR;
	/* Deliver-error-code: only type 3, never in real mode (unrestricted
	 * guest, CR0.PE = 0), and exactly for the vectors with an error code
	 * unless IA32_VMX_BASIC[56] lifts that. */
	if (has_ec && (type != VIRQ_VCPU_EV_HW_EXC || real))
		return VIRQ_VMX_CHECK_ERROR_CODE;
	if (type == VIRQ_VCPU_EV_HW_EXC && !real &&
	    !(env->vmx_basic & VIRQ_VMX_BASIC_NO_HW_ERROR_CODE) &&
	    has_ec != vmx_exc_has_error(vector))
		return VIRQ_VMX_CHECK_ERROR_CODE;
	if ((info & VIRQ_VMX_INTR_ENTRY_RESERVED) || (has_ec && (ec & 0xFFFF0000U)))
		return VIRQ_VMX_CHECK_RESERVED;
	if ((type == VIRQ_VCPU_EV_SW_INT || type == VIRQ_VCPU_EV_PRIV_SW_EXC ||
	     type == VIRQ_VCPU_EV_SW_EXC) &&
	    (len > 15 || (len == 0 && !(env->vmx_misc & VIRQ_VMX_MISC_ZERO_LEN_INJECT))))
		return VIRQ_VMX_CHECK_INSN_LEN;
	return VIRQ_VMX_CHECK_OK;
}

static int check_guest(const struct virq_vmx_check_env *env, uint32_t info)
{
	unsigned type = (info & VIRQ_VMX_INTR_TYPE_MASK) >> VIRQ_VMX_INTR_TYPE_SHIFT;
	unsigned vector = info & VIRQ_VMX_INTR_VECTOR_MASK;
	uint32_t intr = env->interruptibility;

	/* External interrupt: no STI, no MOV-SS blocking. NMI: no MOV-SS
	 * blocking, no STI blocking (model-specific: always assumed), and
	 * no virtual-NMI blocking with virtual NMIs. */
	if (type == VIRQ_VCPU_EV_EXTINT &&
	    (intr & (VIRQ_VMX_INTERRUPTIBILITY_STI | VIRQ_VMX_INTERRUPTIBILITY_MOV_SS)))
		return VIRQ_VMX_CHECK_BLOCKING;
	if (type == VIRQ_VCPU_EV_NMI &&
	    ((intr & (VIRQ_VMX_INTERRUPTIBILITY_STI | VIRQ_VMX_INTERRUPTIBILITY_MOV_SS)) ||
	     ((env->pin_ctls & VIRQ_VMX_PIN_VIRTUAL_NMIS) &&
	      (intr & VIRQ_VMX_INTERRUPTIBILITY_NMI))))
		return VIRQ_VMX_CHECK_BLOCKING;
	/* HLT: external interrupt, NMI, #DB, #MC, pending MTF; shutdown: NMI
	 * and #MC; wait-for-SIPI: nothing. */
	switch (env->activity) {
	case VIRQ_VMX_ACTIVITY_ACTIVE:
		return VIRQ_VMX_CHECK_OK;
	case VIRQ_VMX_ACTIVITY_HLT:
		if (type == VIRQ_VCPU_EV_EXTINT || type == VIRQ_VCPU_EV_NMI ||
		    (type == VIRQ_VCPU_EV_HW_EXC && (vector == 1 || vector == 18)) ||
		    (type == VIRQ_VMX_INTR_TYPE_OTHER && vector == 0))
			return VIRQ_VMX_CHECK_OK;
		return VIRQ_VMX_CHECK_ACTIVITY;
	case VIRQ_VMX_ACTIVITY_SHUTDOWN:
		if (type == VIRQ_VCPU_EV_NMI || (type == VIRQ_VCPU_EV_HW_EXC && vector == 18))
			return VIRQ_VMX_CHECK_OK;
		return VIRQ_VMX_CHECK_ACTIVITY;
	default:
		return VIRQ_VMX_CHECK_ACTIVITY;
	}
}

static bool addr_bad(const struct virq_vmx_check_env *env, uint64_t addr)
{
	return (addr & 0xFFFU) || ((env->vmx_basic & VIRQ_VMX_BASIC_ADDR_32BIT) && (addr >> 32));
}

/* SDM Vol. 3C 26.2.1.1 "VM-Execution Control Fields": the APIC
 * virtualization controls. Secondary controls count only with "activate
 * secondary controls". */
static int check_apic_ctls(const struct virq_vmx_check_env *env)
{
	uint32_t sec = (env->proc_ctls & VIRQ_VMX_PROC_SECONDARY_CTLS) ? env->proc_ctls2 : 0;
	bool tpr = (env->proc_ctls & VIRQ_VMX_PROC_USE_TPR_SHADOW) != 0;
	bool vid = (sec & VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY) != 0;

	if (!tpr && (sec & (VIRQ_VMX_PROC2_VIRT_X2APIC_MODE | VIRQ_VMX_PROC2_APIC_REG_VIRT |
			    VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY)))
		return VIRQ_VMX_CHECK_APIC_CTLS;
	if ((sec & VIRQ_VMX_PROC2_VIRT_X2APIC_MODE) && (sec & VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES))
		return VIRQ_VMX_CHECK_APIC_CTLS;
	if (vid && !(env->pin_ctls & VIRQ_VMX_PIN_EXT_INTR_EXITING))
		return VIRQ_VMX_CHECK_APIC_CTLS;
	if ((tpr && addr_bad(env, env->virtual_apic_addr)) ||
	    ((sec & VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES) && addr_bad(env, env->apic_access_addr)))
		return VIRQ_VMX_CHECK_APIC_ADDR;
	/* Without virtual-interrupt delivery the threshold is 4 bits, and
	 * without "virtualize APIC accesses" not above VTPR[7:4] (with it, a
	 * TPR-below-threshold exit follows the entry instead). */
	if (tpr && !vid &&
	    ((env->tpr_threshold & ~0xFU) || (!(sec & VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES) &&
					      env->tpr_threshold > (uint32_t)(env->vtpr >> 4))))
		return VIRQ_VMX_CHECK_TPR_THRESHOLD;
	return VIRQ_VMX_CHECK_OK;
}

VIRQ_API int virq_vmx_check_entry_event(const struct virq_vmx_check_env *env, uint32_t info,
					uint32_t error_code, uint32_t insn_len)
{
	int rc;

	if (env->proc_ctls) {
		rc = check_apic_ctls(env);
		if (rc)
			return rc;
	}
	if (!(info & VIRQ_VMX_INTR_VALID))
		return VIRQ_VMX_CHECK_OK;
	rc = check_fields(env, info, error_code, insn_len);
	return rc ? rc : check_guest(env, info);
}
