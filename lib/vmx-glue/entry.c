/* SPDX-License-Identifier: MIT */
/*
 * The entry path: the policy decides (vcpu.h), this file encodes. What the
 * guest can take comes from RFLAGS.IF and the interruptibility state (SDM
 * Vol. 3C 24.4.2 "Guest Non-Register State"); the event goes into the
 * VM-entry event-injection fields (SDM Vol. 3C 24.8.3 "VM-Entry Controls for
 * Event Injection"); a waiting event arms interrupt-window or NMI-window
 * exiting (SDM Vol. 3C 25.2 "Other Causes of VM Exits").
 */
#include "vmx_glue.h"

#define BLOCK_INTR (VIRQ_VMX_INTERRUPTIBILITY_STI | VIRQ_VMX_INTERRUPTIBILITY_MOV_SS)

static void fill_window(const struct virq_vmx_vcpu *vx, struct virq_vcpu_window *w, uint32_t intr)
{
	uint64_t rflags = vmx_read(vx, VIRQ_VMCS_GUEST_RFLAGS);

	/* SDM 26.3.1.5 "Checks on Guest Non-Register State": an external
	 * interrupt is refused with STI or MOV-SS blocking; RFLAGS.IF is
	 * ours to check (VM entry does not). */
	w->intr = (rflags & VIRQ_VMX_RFLAGS_IF) && !(intr & BLOCK_INTR);
	/* An NMI: no MOV-SS blocking (checked by entry), no STI blocking (some
	 * processors check it), no blocking by NMI (checked with virtual NMIs;
	 * without them the same bit is the guest's real NMI blocking). */
	w->nmi = !(intr & (BLOCK_INTR | VIRQ_VMX_INTERRUPTIBILITY_NMI));
}

/* Writes CR2 for a #PF: a queued one's payload always (0 is an address
 * too); a re-injected one's only when the policy carries one (0: the CPU's
 * CR2 from the fault is still loaded). */
static void encode_cr2(struct virq_vmx_vcpu *vx, const struct virq_vcpu_event *ev,
		       struct virq_vmx_entry *out)
{
	if (ev->type != VIRQ_VCPU_EV_HW_EXC || ev->vector != 14)
		return;
	if (vx->reinj_pf && !ev->payload)
		return;
	if (vx->ops->write_cr2) {
		vx->ops->write_cr2(vx->ctx, ev->payload);
	} else {
		out->cr2 = ev->payload;
		out->flags |= VIRQ_VMX_ENTRY_CR2;
	}
}

static void encode_event(struct virq_vmx_vcpu *vx, const struct virq_vcpu_event *ev, uint32_t intr,
			 struct virq_vmx_entry *out)
{
	uint32_t info = ev->vector | (uint32_t)ev->type << VIRQ_VMX_INTR_TYPE_SHIFT |
			VIRQ_VMX_INTR_VALID;
	bool ec = ev->has_error != 0;

	/* SDM 26.2.1.3 "VM-Entry Control Fields": with unrestricted guest and
	 * CR0.PE = 0 no error code may be delivered (real mode pushes none);
	 * vcpu.h leaves it to us. */
	if (ec && (vx->flags & VIRQ_VMX_F_UNRESTRICTED_GUEST) &&
	    !(vmx_read(vx, VIRQ_VMCS_GUEST_CR0) & VIRQ_VMX_CR0_PE))
		ec = false;
	/* AMD's #VC (29) and #SX (30), which the policy takes with an error
	 * code: VM entry refuses one for them unless IA32_VMX_BASIC[56]. */
	if (ec && !(vx->basic & VIRQ_VMX_BASIC_NO_HW_ERROR_CODE) && !vmx_exc_has_error(ev->vector))
		ec = false;
	if (ec) {
		info |= VIRQ_VMX_INTR_ERROR_CODE;
		vmx_write(vx, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE, ev->error_code);
	}
	/* Types 4-6 push RIP + length (SDM 24.8.3 "VM-Entry Controls for Event Injection"). */
	if (ev->type == VIRQ_VCPU_EV_SW_INT || ev->type == VIRQ_VCPU_EV_PRIV_SW_EXC ||
	    ev->type == VIRQ_VCPU_EV_SW_EXC)
		vmx_write(vx, VIRQ_VMCS_ENTRY_INSN_LEN, ev->insn_len);
	/* Only a re-injected NMI gets here with blocking by NMI set (the
	 * window was checked for a new one): that blocking was its own, and
	 * with virtual NMIs VM entry refuses an NMI over it (SDM 26.3.1.5
	 * "Checks on Guest Non-Register State"). */
	if (ev->type == VIRQ_VCPU_EV_NMI && (vx->flags & VIRQ_VMX_F_VIRTUAL_NMIS) &&
	    (intr & VIRQ_VMX_INTERRUPTIBILITY_NMI))
		vmx_write(vx, VIRQ_VMCS_GUEST_INTERRUPTIBILITY,
			  intr & ~VIRQ_VMX_INTERRUPTIBILITY_NMI);
	encode_cr2(vx, ev, out);
	vmx_write(vx, VIRQ_VMCS_ENTRY_INTR_INFO, info);
	out->flags |= VIRQ_VMX_ENTRY_INJECTED;
	vx->stats.injected++;
}

/* The window controls, exactly while something waits for them. */
static void encode_windows(struct virq_vmx_vcpu *vx, uint32_t actions, struct virq_vmx_entry *out)
{
	uint32_t want = vx->proc_ctls &
			~(VIRQ_VMX_PROC_INTR_WINDOW_EXITING | VIRQ_VMX_PROC_NMI_WINDOW_EXITING);

	if (actions & VIRQ_VCPU_INTR_WINDOW)
		want |= VIRQ_VMX_PROC_INTR_WINDOW_EXITING;
	if (actions & VIRQ_VCPU_NMI_WINDOW) {
		/* NMI-window exiting needs virtual NMIs (SDM 26.2.1.1
		 * "VM-Execution Control Fields"). Without them an interrupt
		 * window would fire at once in an NMI handler running with IF =
		 * 1: the embedder arranges an exit instead. */
		if (vx->flags & VIRQ_VMX_F_VIRTUAL_NMIS)
			want |= VIRQ_VMX_PROC_NMI_WINDOW_EXITING;
		else
			out->flags |= VIRQ_VMX_ENTRY_NMI_PENDING;
	}
	if (want != vx->proc_ctls) {
		vx->proc_ctls = want;
		vmx_write(vx, VIRQ_VMCS_PROC_BASED_CTLS, want);
	}
}

/*
 * APICv: the guest interrupt status (SDM Vol. 3C "Guest Non-Register
 * State": RVI in bits 7:0, SVI in 15:8), from which the CPU evaluates and
 * delivers the LAPIC's vectors, and the EOI-exit bitmap ("EOI
 * Virtualization": an EOI of a vector in it exits, so a level-triggered
 * vector's EOI reaches its source). Each only when it changed; the
 * bitmap at the first entry. The CPU itself rewrites the interrupt status
 * (delivery, EOI virtualization), so it is compared with what the VMCS
 * holds, not with what the glue wrote last: a value equal to an older
 * write could otherwise be skipped while the field says otherwise.
 */
static void encode_vid(struct virq_vmx_vcpu *vx)
{
	uint16_t st =
		(uint16_t)(virq_lapic_rvi(vx->lapic) | (uint16_t)virq_lapic_svi(vx->lapic) << 8);
	uint32_t gen = virq_lapic_eoi_exit_gen(vx->lapic);
	uint64_t bm[4];

	if ((uint16_t)vmx_read(vx, VIRQ_VMCS_GUEST_INTR_STATUS) != st)
		vmx_write(vx, VIRQ_VMCS_GUEST_INTR_STATUS, st);
	if (!(vx->loaded & VMX_LOADED_EOI_EXIT) || gen != vx->eoi_exit_gen) {
		vx->eoi_exit_gen = gen;
		vx->loaded |= VMX_LOADED_EOI_EXIT;
		virq_lapic_eoi_exit_bitmap(vx->lapic, bm);
		vmx_write(vx, VIRQ_VMCS_EOI_EXIT_BITMAP0, bm[0]);
		vmx_write(vx, VIRQ_VMCS_EOI_EXIT_BITMAP1, bm[1]);
		vmx_write(vx, VIRQ_VMCS_EOI_EXIT_BITMAP2, bm[2]);
		vmx_write(vx, VIRQ_VMCS_EOI_EXIT_BITMAP3, bm[3]);
	}
}

/*
 * TPR shadow and above, after the decision (which may have acknowledged a
 * vector, or reset the LAPIC with INIT): the controls that follow the
 * LAPIC's mode, then the TPR threshold (SDM Vol. 3C "TPR Virtualization":
 * the CPU exits when the guest lowers VTPR[7:4] below it), written only
 * when it changed.
 */
static void encode_apic(struct virq_vmx_vcpu *vx)
{
	uint8_t thr;

	vmx_follow_mode(vx, false);
	if (vx->level == VIRQ_VMX_LEVEL_TPR_SHADOW) {
		thr = virq_lapic_tpr_threshold(vx->lapic);
		if (!(vx->loaded & VMX_LOADED_TPR_THRESHOLD) || thr != vx->tpr_threshold) {
			vx->tpr_threshold = thr;
			vx->loaded |= VMX_LOADED_TPR_THRESHOLD;
			vmx_write(vx, VIRQ_VMCS_TPR_THRESHOLD, thr);
		}
	} else {
		encode_vid(vx);
	}
}

VIRQ_API uint32_t virq_vmx_prepare_entry(struct virq_vmx_vcpu *vx, struct virq_vmx_entry *out)
{
	struct virq_vcpu_decision *d = &out->decision;
	struct virq_vcpu_window w;
	uint32_t a, intr;

	virq_memset(out, 0, sizeof(*out));
	/* First: every fold of PIR below (the policy's, RVI's) comes after
	 * the posters can see the vCPU in guest mode (pi.c). */
	vmx_pi_enter(vx);
	if (vx->halted) {
		if (!virq_vcpu_wakes(vx->policy, vx->halted_if)) {
			vmx_pi_leave(vx);
			out->flags = VIRQ_VMX_ENTRY_HALTED;
			return out->flags;
		}
		vx->halted = 0;
	}
	intr = (uint32_t)vmx_read(vx, VIRQ_VMCS_GUEST_INTERRUPTIBILITY);
	fill_window(vx, &w, intr);
	a = virq_vcpu_decide(vx->policy, &w, d);
	if (a & VIRQ_VCPU_INIT)
		out->flags |= VIRQ_VMX_ENTRY_INIT;
	if (a & VIRQ_VCPU_SIPI) {
		out->flags |= VIRQ_VMX_ENTRY_SIPI;
		out->sipi_vector = d->sipi_vector;
	}
	if (a & VIRQ_VCPU_WAIT_SIPI)
		out->flags |= VIRQ_VMX_ENTRY_WAIT_SIPI;
	if (a & VIRQ_VCPU_TRIPLE_FAULT)
		out->flags |= VIRQ_VMX_ENTRY_TRIPLE_FAULT;
	if (a & VIRQ_VCPU_SMI)
		out->flags |= VIRQ_VMX_ENTRY_SMI;
	if (a & VIRQ_VCPU_IMMEDIATE_EXIT)
		out->flags |= VIRQ_VMX_ENTRY_IMMEDIATE_EXIT;
	/* Before the event: VM entry checks the APIC controls with it. */
	if (vx->level >= VIRQ_VMX_LEVEL_TPR_SHADOW && !(out->flags & VIRQ_VMX_ENTRY_NO_ENTRY))
		encode_apic(vx);
	/* vcpu.h: with NMI and INTR, too, d->event describes the injection. */
	if (a & (VIRQ_VCPU_EVENT | VIRQ_VCPU_NMI | VIRQ_VCPU_INTR))
		encode_event(vx, &d->event, intr, out);
	encode_windows(vx, a, out);
	vx->reinj_pf = 0;
	if (a & (VIRQ_VCPU_INIT | VIRQ_VCPU_SIPI))
		vx->halted = 0;
	if (!(out->flags & VIRQ_VMX_ENTRY_NO_ENTRY)) {
		vx->stats.entries++;
		/* Last: what APIC-register virtualization may overwrite. */
		if (vx->level == VIRQ_VMX_LEVEL_APICV)
			virq_lapic_hw_enter(vx->lapic);
	} else {
		vmx_pi_leave(vx);
	}
	return out->flags;
}
