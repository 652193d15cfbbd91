/* SPDX-License-Identifier: MIT */
/*
 * The exit path: the event an exit interrupted goes back to the policy
 * first (SDM Vol. 3C "Information for VM Exits During Event Delivery"),
 * then the exits of the interrupt controllers are decoded.
 */
#include "vmx_glue.h"

#define X2APIC_MSR_FIRST 0x800U
#define X2APIC_MSR_LAST 0x8FFU
/* Exit qualification of an APIC-access exit (SDM Vol. 3C "Basic VM-Exit
 * Information", Table "Exit Qualification for APIC-Access VM Exits"). */
#define APIC_ACCESS_OFFSET_MASK 0xFFFULL
#define APIC_ACCESS_TYPE_SHIFT 12
#define APIC_ACCESS_TYPE_MASK 0xFULL
#define APIC_ACCESS_LINEAR_READ 0U
#define APIC_ACCESS_LINEAR_WRITE 1U

static bool soft_type(unsigned type)
{
	return type == VIRQ_VCPU_EV_SW_INT || type == VIRQ_VCPU_EV_PRIV_SW_EXC ||
	       type == VIRQ_VCPU_EV_SW_EXC;
}

static void set_nmi_blocking(struct virq_vmx_vcpu *vx, bool on)
{
	uint32_t intr = (uint32_t)vmx_read(vx, VIRQ_VMCS_GUEST_INTERRUPTIBILITY);
	uint32_t want = on ? intr | VIRQ_VMX_INTERRUPTIBILITY_NMI
			   : intr & ~VIRQ_VMX_INTERRUPTIBILITY_NMI;

	if (want != intr)
		vmx_write(vx, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, want);
}

/*
 * The LAPIC takes the page as the CPU left it. An EOI-induced exit
 * (qualification bits 7:0: the vector, already gone from VISR) and an
 * APIC-write exit (bits 11:0: the page offset, the value already stored;
 * SDM Vol. 3C "APIC-Write VM Exits") resynchronise through their own
 * entry points, which run the side effects exactly once.
 */
static void hw_resync(struct virq_vmx_vcpu *vx, struct virq_vmx_exit *out)
{
	uint32_t basic = out->reason & 0xFFFFU;

	if (vx->level == VIRQ_VMX_LEVEL_APICV &&
	    !(out->reason & VIRQ_VMX_EXIT_REASON_ENTRY_FAILURE) &&
	    (basic == VIRQ_VMX_EXIT_REASON_VIRTUALIZED_EOI ||
	     basic == VIRQ_VMX_EXIT_REASON_APIC_WRITE)) {
		out->qualification = vmx_read(vx, VIRQ_VMCS_EXIT_QUALIFICATION);
		if (basic == VIRQ_VMX_EXIT_REASON_VIRTUALIZED_EOI) {
			virq_lapic_hw_eoi(vx->lapic, (uint8_t)(out->qualification & 0xFFU));
			vx->stats.eoi_induced++;
		} else {
			virq_lapic_hw_write(vx->lapic, (uint32_t)(out->qualification & 0xFFFU));
			vx->stats.apic_write++;
		}
		return;
	}
	virq_lapic_hw_sync(vx->lapic);
}

/* Valid IDT-vectoring information: the event was not delivered. */
static void take_idt_vectoring(struct virq_vmx_vcpu *vx, uint32_t idt)
{
	struct virq_vcpu_event ev;

	virq_memset(&ev, 0, sizeof(ev));
	ev.type = (uint8_t)((idt & VIRQ_VMX_INTR_TYPE_MASK) >> VIRQ_VMX_INTR_TYPE_SHIFT);
	ev.vector = (uint8_t)(idt & VIRQ_VMX_INTR_VECTOR_MASK);
	if (idt & VIRQ_VMX_INTR_ERROR_CODE) {
		ev.has_error = 1;
		ev.error_code = (uint32_t)vmx_read(vx, VIRQ_VMCS_IDT_VECTORING_ERROR_CODE);
	}
	/* The return address of INT n / INT3 / INTO / INT1 (SDM Vol. 3C
	 * "Information for VM Exits Due to Instruction Execution"). */
	if (soft_type(ev.type))
		ev.insn_len = (uint8_t)vmx_read(vx, VIRQ_VMCS_EXIT_INSN_LEN);
	/* With virtual NMIs an NMI whose delivery was cut off left blocking by
	 * NMI set; injecting it again needs the bit clear (SDM 26.3.1.5
	 * "Checks on Guest Non-Register State"). */
	if (ev.type == VIRQ_VCPU_EV_NMI && (vx->flags & VIRQ_VMX_F_VIRTUAL_NMIS))
		set_nmi_blocking(vx, false);
	/* payload 0: a #PF's CR2 is still the one loaded for it. */
	if (virq_vcpu_reinject(vx->policy, &ev)) {
		vx->stats.reinject_refused++;
		return;
	}
	vx->stats.reinjected++;
	if (ev.type == VIRQ_VCPU_EV_HW_EXC && ev.vector == 14)
		vx->reinj_pf = 1;
}

/* Past the instruction that exited: RIP += length; its STI or MOV-SS
 * blocking ends with it (KVM's skip_emulated_instruction). */
static void skip_insn(struct virq_vmx_vcpu *vx)
{
	uint64_t rip = vmx_read(vx, VIRQ_VMCS_GUEST_RIP);
	uint32_t intr = (uint32_t)vmx_read(vx, VIRQ_VMCS_GUEST_INTERRUPTIBILITY);

	vmx_write(vx, VIRQ_VMCS_GUEST_RIP, rip + vmx_read(vx, VIRQ_VMCS_EXIT_INSN_LEN));
	if (intr & (VIRQ_VMX_INTERRUPTIBILITY_STI | VIRQ_VMX_INTERRUPTIBILITY_MOV_SS))
		vmx_write(vx, VIRQ_VMCS_GUEST_INTERRUPTIBILITY,
			  intr & ~(VIRQ_VMX_INTERRUPTIBILITY_STI |
				   VIRQ_VMX_INTERRUPTIBILITY_MOV_SS));
}

/* RDMSR/WRMSR of an x2APIC register (SDM Vol. 3A 10.12.1.2 "x2APIC Register
 * Address Space"): ECX the index, EDX:EAX the value. The LAPIC's #GP goes to
 * the policy, RIP stays. */
static enum virq_vmx_exit_action handle_msr(struct virq_vmx_vcpu *vx, bool write)
{
	const struct virq_vmx_ops *ops = vx->ops;
	uint32_t msr;
	uint64_t val = 0;
	int rc;

	if (!vx->lapic || !ops->read_gpr)
		return VIRQ_VMX_EXIT_UNHANDLED;
	msr = (uint32_t)ops->read_gpr(vx->ctx, VIRQ_VMX_GPR_RCX);
	if (msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST)
		return VIRQ_VMX_EXIT_UNHANDLED;
	if (write) {
		val = (ops->read_gpr(vx->ctx, VIRQ_VMX_GPR_RAX) & 0xFFFFFFFFULL) |
		      ops->read_gpr(vx->ctx, VIRQ_VMX_GPR_RDX) << 32;
		rc = virq_lapic_msr_write(vx->lapic, msr, val);
	} else {
		rc = virq_lapic_msr_read(vx->lapic, msr, &val);
	}
	vx->stats.msr++;
	if (rc) {
		(void)virq_vcpu_inject_gp(vx->policy, 0);
		return VIRQ_VMX_EXIT_CONTINUE;
	}
	if (!write) {
		ops->write_gpr(vx->ctx, VIRQ_VMX_GPR_RAX, val & 0xFFFFFFFFULL);
		ops->write_gpr(vx->ctx, VIRQ_VMX_GPR_RDX, val >> 32);
	}
	skip_insn(vx);
	return VIRQ_VMX_EXIT_CONTINUE;
}

/* HLT: past it, halted until the policy's wake rule says otherwise. */
static enum virq_vmx_exit_action handle_hlt(struct virq_vmx_vcpu *vx)
{
	vx->halted_if = (vmx_read(vx, VIRQ_VMCS_GUEST_RFLAGS) & VIRQ_VMX_RFLAGS_IF) != 0;
	skip_insn(vx);
	if (virq_vcpu_wakes(vx->policy, vx->halted_if))
		return VIRQ_VMX_EXIT_CONTINUE;
	vx->halted = 1;
	return VIRQ_VMX_EXIT_HALT;
}

/* SDM Vol. 3C "Information About NMI Unblocking Due to IRET": an IRET
 * that ended NMI blocking and then faulted or exited will run again, so
 * blocking by NMI is set back. Undefined with valid IDT-vectoring
 * information, for #DF, and with NMI exiting but no virtual NMIs. */
static void nmi_unblock_iret(struct virq_vmx_vcpu *vx, uint32_t idt, bool bit12, unsigned vector)
{
	if (!bit12 || (idt & VIRQ_VMX_INTR_VALID) || vector == 8)
		return;
	if (!(vx->flags & VIRQ_VMX_F_VIRTUAL_NMIS) &&
	    (vmx_read(vx, VIRQ_VMCS_PIN_BASED_CTLS) & VIRQ_VMX_PIN_NMI_EXITING))
		return;
	set_nmi_blocking(vx, true);
}

static enum virq_vmx_exit_action decode(struct virq_vmx_vcpu *vx, uint32_t idt,
					struct virq_vmx_exit *out)
{
	uint32_t info, type;

	switch (out->reason & 0xFFFFU) {
	case VIRQ_VMX_EXIT_REASON_EXCEPTION_NMI:
		info = (uint32_t)vmx_read(vx, VIRQ_VMCS_EXIT_INTR_INFO);
		type = (info & VIRQ_VMX_INTR_TYPE_MASK) >> VIRQ_VMX_INTR_TYPE_SHIFT;
		nmi_unblock_iret(vx, idt, (info & VIRQ_VMX_INTR_NMI_UNBLOCK_IRET) != 0,
				 info & VIRQ_VMX_INTR_VECTOR_MASK);
		return type == VIRQ_VCPU_EV_NMI ? VIRQ_VMX_EXIT_HOST_NMI : VIRQ_VMX_EXIT_UNHANDLED;
	case VIRQ_VMX_EXIT_REASON_EXT_INTR:
		/* The host's interrupt (SDM Vol. 3C "Information for
		 * VM Exits Due to Vectored Events"): acknowledged by the exit
		 * with "acknowledge interrupt on exit", else still pending. */
		if (vx->flags & VIRQ_VMX_F_ACK_INTR_ON_EXIT) {
			info = (uint32_t)vmx_read(vx, VIRQ_VMCS_EXIT_INTR_INFO);
			if (info & VIRQ_VMX_INTR_VALID)
				out->host_vector = (int16_t)(info & VIRQ_VMX_INTR_VECTOR_MASK);
		}
		return VIRQ_VMX_EXIT_HOST_INTR;
	case VIRQ_VMX_EXIT_REASON_TRIPLE_FAULT:
		return VIRQ_VMX_EXIT_TRIPLE_FAULT;
	case VIRQ_VMX_EXIT_REASON_INTR_WINDOW:
	case VIRQ_VMX_EXIT_REASON_NMI_WINDOW:
		/* The next virq_vmx_prepare_entry() clears the control. */
		return VIRQ_VMX_EXIT_CONTINUE;
	case VIRQ_VMX_EXIT_REASON_HLT:
		return handle_hlt(vx);
	case VIRQ_VMX_EXIT_REASON_VIRTUALIZED_EOI:
	case VIRQ_VMX_EXIT_REASON_APIC_WRITE:
		/* Trap-like; served by hw_resync() before anything else. */
		return vx->level == VIRQ_VMX_LEVEL_APICV ? VIRQ_VMX_EXIT_CONTINUE
							 : VIRQ_VMX_EXIT_UNHANDLED;
	case VIRQ_VMX_EXIT_REASON_TPR_BELOW_THRESHOLD:
		/* Trap-like, RIP past the instruction (SDM Vol. 3C "TPR
		 * Virtualization"): the resync took the new VTPR; the next
		 * prepare injects what it released and lowers the threshold. */
		if (vx->level != VIRQ_VMX_LEVEL_TPR_SHADOW)
			return VIRQ_VMX_EXIT_UNHANDLED;
		vx->stats.tpr_below++;
		return VIRQ_VMX_EXIT_CONTINUE;
	case VIRQ_VMX_EXIT_REASON_RDMSR:
	case VIRQ_VMX_EXIT_REASON_WRMSR:
		return handle_msr(vx, (out->reason & 0xFFFFU) == VIRQ_VMX_EXIT_REASON_WRMSR);
	case VIRQ_VMX_EXIT_REASON_APIC_ACCESS:
		out->qualification = vmx_read(vx, VIRQ_VMCS_EXIT_QUALIFICATION);
		type = (uint32_t)((out->qualification >> APIC_ACCESS_TYPE_SHIFT) &
				  APIC_ACCESS_TYPE_MASK);
		/* Linear reads and writes only: fetches and accesses during
		 * event delivery are the embedder's. */
		if (!vx->lapic ||
		    (type != APIC_ACCESS_LINEAR_READ && type != APIC_ACCESS_LINEAR_WRITE))
			return VIRQ_VMX_EXIT_UNHANDLED;
		out->apic_offset = (uint32_t)(out->qualification & APIC_ACCESS_OFFSET_MASK);
		out->apic_write = type == APIC_ACCESS_LINEAR_WRITE;
		return VIRQ_VMX_EXIT_APIC_ACCESS;
	case VIRQ_VMX_EXIT_REASON_EPT_VIOLATION:
		out->qualification = vmx_read(vx, VIRQ_VMCS_EXIT_QUALIFICATION);
		nmi_unblock_iret(vx, idt,
				 (out->qualification & VIRQ_VMX_INTR_NMI_UNBLOCK_IRET) != 0, 0);
		return VIRQ_VMX_EXIT_UNHANDLED;
	default:
		return VIRQ_VMX_EXIT_UNHANDLED;
	}
}

VIRQ_API enum virq_vmx_exit_action virq_vmx_handle_exit(struct virq_vmx_vcpu *vx,
							struct virq_vmx_exit *out)
{
	uint32_t idt;

	virq_memset(out, 0, sizeof(*out));
	out->host_vector = -1;
	/* Root mode again: posters leave the work to the next entry's fold. */
	vmx_pi_leave(vx);
	vx->stats.exits++;
	out->reason = (uint32_t)vmx_read(vx, VIRQ_VMCS_EXIT_REASON);
	/* The CPU may have written the page (VTPR through CR8 or TPR
	 * virtualization, and more with APICv): the LAPIC takes it first. */
	if (vx->level >= VIRQ_VMX_LEVEL_TPR_SHADOW)
		hw_resync(vx, out);
	/* A failed entry delivered nothing and saved no event (SDM Vol. 3C "VM-Entry
	 * Failures During or After Loading Guest State"). */
	if (out->reason & VIRQ_VMX_EXIT_REASON_ENTRY_FAILURE)
		return VIRQ_VMX_EXIT_ENTRY_FAILED;
	idt = (uint32_t)vmx_read(vx, VIRQ_VMCS_IDT_VECTORING_INFO);
	if (idt & VIRQ_VMX_INTR_VALID)
		take_idt_vectoring(vx, idt);
	/* Without virtual NMIs the guest's blocking by NMI is the processor's
	 * own: once clear, the guest's IRET ended the NMI the policy blocks
	 * (unless that NMI's delivery is what the exit cut off). */
	if (!(vx->flags & VIRQ_VMX_F_VIRTUAL_NMIS) && virq_vcpu_nmi_blocked(vx->policy) &&
	    (idt & (VIRQ_VMX_INTR_VALID | VIRQ_VMX_INTR_TYPE_MASK)) !=
		    (VIRQ_VMX_INTR_VALID | (uint32_t)VIRQ_VCPU_EV_NMI
						   << VIRQ_VMX_INTR_TYPE_SHIFT) &&
	    !(vmx_read(vx, VIRQ_VMCS_GUEST_INTERRUPTIBILITY) & VIRQ_VMX_INTERRUPTIBILITY_NMI))
		virq_vcpu_nmi_unblocked(vx->policy);
	return decode(vx, idt, out);
}

VIRQ_API int virq_vmx_apic_access(struct virq_vmx_vcpu *vx, uint32_t offset, bool is_write,
				  unsigned size, uint64_t *value)
{
	if (!vx || !vx->lapic || !value)
		return -VIRQ_EINVAL;
	vx->stats.apic_access++;
	if (is_write)
		return virq_lapic_mmio_write(vx->lapic, offset, size, *value);
	return virq_lapic_mmio_read(vx->lapic, offset, size, value);
}
