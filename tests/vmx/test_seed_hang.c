/* SPDX-License-Identifier: MIT */
/*
 * The seed's hang, as closed-loop scenarios: a host interrupt arrives while
 * the guest runs (an external-interrupt exit, the hypervisor's), and the
 * hypervisor forwards it to the guest as one of the guest's vectors. Two
 * hypervisors do the forwarding against the same VMCS field store
 * (harness.h, which checks every 0x4016 write against the VM-entry rules)
 * and the same simulated guest:
 *
 * - the naive pending-bitmap design (below, the anti-pattern), which loses
 *   an interrupt whose delivery a VM exit cut off (the guest then waits in
 *   its HLT loop for ever) and injects past the guest's PPR (a low vector
 *   nested inside a high one's handler, or through a raised TPR);
 * - libvirq: the vector posted to the LAPIC (virq_lapic_post()), the
 *   policy and the VMX glue (virq_vmx_prepare_entry(),
 *   virq_vmx_handle_exit() with the IDT-vectoring information in the
 *   store), which re-delivers the cut-off vector without acknowledging it
 *   again and holds a vector back while the LAPIC's ISR/TPR/PPR mask it.
 *
 * SDM Vol. 3C "Information for VM Exits That Occur During Event Delivery"
 * (IDT-vectoring information), "VM-Entry Controls for Event Injection";
 * Vol. 3A "Task and Processor Priorities", "Interrupt Acceptance for
 * Fixed Interrupts".
 */
#include "harness.h"

#define EPT VIRQ_VMX_EXIT_REASON_EPT_VIOLATION
#define HLT VIRQ_VMX_EXIT_REASON_HLT
#define WRMSR VIRQ_VMX_EXIT_REASON_WRMSR
/* SDM Vol. 3D Appendix C "VMX Basic Exit Reasons": control-register accesses */
#define CR_ACCESS 28U
#define IWE VIRQ_VMX_PROC_INTR_WINDOW_EXITING
#define VALID VIRQ_VMX_INTR_VALID
#define ROUNDS 1000U

/* The guest's device vector the host's vector 0x31 is forwarded as. */
#define V 0x41U

/* ------------------------------------------------------------------ */
/* ANTI-PATTERN: the naive pending-bitmap design. Do not do this.      */
/* ------------------------------------------------------------------ */

/*
 * What a first thin hypervisor does to forward host interrupts: one bit
 * per vector to forward. Before each VM entry it injects the highest
 * pending vector when RFLAGS.IF = 1 and there is no STI/MOV-SS blocking,
 * clearing its bit at once; otherwise it sets interrupt-window exiting.
 * It has no ISR, TPR or PPR, never reads the IDT-vectoring information
 * field (0x4408) at an exit, and the guest's EOI is an MMIO write it
 * ignores. Both of its failures below follow from that.
 */
struct naive_hv {
	uint64_t pending[4]; /* vectors 0-255 waiting to be forwarded */
};

/* The host's handler of a forwarded interrupt: mark the vector. */
static void naive_forward(struct naive_hv *hv, uint8_t vector)
{
	hv->pending[vector / 64U] |= 1ULL << (vector % 64U);
}

/* Before VM entry, through the embedder's VMREAD/VMWRITE: returns the
 * vector written to 0x4016 (valid | type 0 external | vector), or -1. */
static int naive_prepare_entry(struct naive_hv *hv, const struct virq_vmx_ops *ops, void *ctx)
{
	uint64_t rflags = ops->vmread(ctx, VIRQ_VMCS_GUEST_RFLAGS);
	uint64_t intr = ops->vmread(ctx, VIRQ_VMCS_GUEST_INTERRUPTIBILITY);
	uint64_t proc = ops->vmread(ctx, VIRQ_VMCS_PROC_BASED_CTLS);
	int v = -1;

	for (int i = 255; i >= 0 && v < 0; i--)
		if ((hv->pending[i / 64] >> (i % 64)) & 1U)
			v = i;
	if (v < 0) {
		if (proc & IWE)
			ops->vmwrite(ctx, VIRQ_VMCS_PROC_BASED_CTLS, proc & ~(uint64_t)IWE);
		return -1;
	}
	if (!(rflags & VIRQ_VMX_RFLAGS_IF) ||
	    (intr & (VIRQ_VMX_INTERRUPTIBILITY_STI | VIRQ_VMX_INTERRUPTIBILITY_MOV_SS))) {
		if (!(proc & IWE))
			ops->vmwrite(ctx, VIRQ_VMCS_PROC_BASED_CTLS, proc | IWE);
		return -1;
	}
	hv->pending[v / 64] &= ~(1ULL << (v % 64)); /* forgotten from here on */
	ops->vmwrite(ctx, VIRQ_VMCS_ENTRY_INTR_INFO, VALID | (uint32_t)v);
	if (proc & IWE)
		ops->vmwrite(ctx, VIRQ_VMCS_PROC_BASED_CTLS, proc & ~(uint64_t)IWE);
	return v;
}

static bool naive_empty(const struct naive_hv *hv)
{
	return !(hv->pending[0] | hv->pending[1] | hv->pending[2] | hv->pending[3]);
}

/* ------------------------------------------------------------------ */
/* The simulated CPU and guest                                          */
/* ------------------------------------------------------------------ */

/*
 * A model of the guest: RFLAGS.IF lives in the store (the CPU's state);
 * the guest's own view is which handlers are running (innermost last),
 * how often each vector's handler started and in which order, and the
 * TPR it believes it set. frame_unmapped: the page the CPU pushes the
 * next interrupt frame to is not mapped in EPT yet.
 */
struct sim_guest {
	uint8_t stack[8];
	unsigned depth;
	unsigned ran[256];
	uint8_t order[8];
	unsigned norder;
	uint8_t tpr;
	bool frame_unmapped;
};

enum sim_outcome {
	SIM_NOTHING = 0,   /* nothing to deliver: the guest runs on */
	SIM_DELIVERED = 1, /* the handler of the vector started */
	SIM_CUT_OFF = 2,   /* an EPT violation during delivery: a VM exit */
};

static void sim_set_if(struct vfx *f, bool on)
{
	vfx_set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x2 | (on ? VIRQ_VMX_RFLAGS_IF : 0));
}

static bool sim_if(struct vfx *f)
{
	return (vfx_get(f, VIRQ_VMCS_GUEST_RFLAGS) & VIRQ_VMX_RFLAGS_IF) != 0;
}

/* The CPU's side of a VM exit, without any hypervisor: the entry event's
 * valid bit cleared, the exit fields filled. */
static void cpu_exit(struct vfx *f, uint32_t reason, uint32_t idt, uint32_t insn_len)
{
	vfx_set(f, VIRQ_VMCS_ENTRY_INTR_INFO,
		vfx_get(f, VIRQ_VMCS_ENTRY_INTR_INFO) & ~(uint64_t)VALID);
	vfx_set(f, VIRQ_VMCS_EXIT_REASON, reason);
	vfx_set(f, VIRQ_VMCS_IDT_VECTORING_INFO, idt);
	vfx_set(f, VIRQ_VMCS_IDT_VECTORING_ERROR_CODE, 0);
	vfx_set(f, VIRQ_VMCS_EXIT_INSN_LEN, insn_len);
	vfx_set(f, VIRQ_VMCS_EXIT_QUALIFICATION, 0);
}

/* VM entry: the CPU delivers 0x4016's external interrupt through an
 * interrupt gate (IF cleared, the handler starts), or its frame push hits
 * the unmapped page: an EPT violation with the event in the IDT-vectoring
 * information, its handler not started. */
static enum sim_outcome sim_enter(struct vfx *f, struct sim_guest *g)
{
	uint32_t info = (uint32_t)vfx_get(f, VIRQ_VMCS_ENTRY_INTR_INFO);
	uint8_t v = (uint8_t)(info & VIRQ_VMX_INTR_VECTOR_MASK);

	if (!(info & VALID))
		return SIM_NOTHING;
	assert_int_equal(info & ~(uint32_t)VIRQ_VMX_INTR_VECTOR_MASK, VALID); /* type 0 */
	assert_true(sim_if(f));
	if (g->frame_unmapped) {
		cpu_exit(f, EPT, info, 0);
		return SIM_CUT_OFF;
	}
	vfx_set(f, VIRQ_VMCS_ENTRY_INTR_INFO, info & ~(uint32_t)VALID);
	assert_true(g->depth < 8U && g->norder < 8U);
	g->stack[g->depth++] = v;
	g->order[g->norder++] = v;
	g->ran[v]++;
	sim_set_if(f, false);
	return SIM_DELIVERED;
}

/* The handler's IRET: the handler ends, IF = 1 from the frame. */
static void sim_iret(struct vfx *f, struct sim_guest *g)
{
	assert_true(g->depth > 0);
	g->depth--;
	sim_set_if(f, true);
}

/* The guest's EOI under libvirq: WRMSR 0x80B (x2APIC), served by the glue. */
static void virq_guest_eoi(struct vfx *f)
{
	f->gpr[VIRQ_VMX_GPR_RCX] = 0x80B;
	f->gpr[VIRQ_VMX_GPR_RAX] = 0;
	f->gpr[VIRQ_VMX_GPR_RDX] = 0;
	assert_int_equal(vfx_exit(f, WRMSR, 0, 0, 2, 0), VIRQ_VMX_EXIT_CONTINUE);
}

/* A host interrupt while the guest runs: external-interrupt exit,
 * acknowledged on exit (host vector @p host). The glue says it is the
 * host's; the hypervisor's handler forwards it to the LAPIC as @p guest. */
static void virq_host_irq(struct vfx *f, uint8_t host, uint8_t guest)
{
	vfx_set(f, VIRQ_VMCS_EXIT_INTR_INFO, VALID | host);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_EXT_INTR, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_HOST_INTR);
	assert_int_equal(f->exit.host_vector, host);
	virq_lapic_post(&f->lapic, guest, false);
}

/* The same exit for the naive design: its handler marks the vector. */
static void naive_host_irq(struct vfx *f, struct naive_hv *hv, uint8_t host, uint8_t guest)
{
	vfx_set(f, VIRQ_VMCS_EXIT_INTR_INFO, VALID | host);
	cpu_exit(f, VIRQ_VMX_EXIT_REASON_EXT_INTR, 0, 0);
	naive_forward(hv, guest);
}

static bool lapic_idle(const struct vfx *f)
{
	for (uint32_t i = 0; i < 8U; i++)
		if (virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_ISR + 0x10U * i) ||
		    virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_IRR + 0x10U * i))
			return false;
	return true;
}

/* The vCPU model for libvirq: a glue with virtual NMIs and "acknowledge
 * interrupt on exit", the LAPIC in x2APIC mode (EOI and TPR by WRMSR). */
static struct vfx *virq_setup(void)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT);

	vfx_x2apic(f);
	return f;
}

/* ------------------------------------------------------------------ */
/* 1. Lost interrupt -> hang                                           */
/* ------------------------------------------------------------------ */

/*
 * The naive design: V's delivery is cut off by an EPT violation (valid
 * IDT-vectoring information 0x80000041); its bit was cleared at the entry
 * and the exit information is never read, so V is gone. The guest waits
 * for V in its HLT loop; ROUNDS wake-ups later its handler has never run
 * and nothing is left to inject: the hang.
 */
static void test_naive_loses_cut_off_interrupt(void **state)
{
	struct vfx *f = vfx_alloc(); /* the store; no glue */
	struct naive_hv hv = { { 0 } };
	struct sim_guest g = { .frame_unmapped = true };
	unsigned injected = 0;

	(void)state;
	naive_host_irq(f, &hv, 0x31, V);
	f->nlog = 0;
	assert_int_equal(naive_prepare_entry(&hv, &vfx_ops, f), V);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000041U);
	assert_int_equal(f->checks, 1); /* a valid entry event: not a VM-entry failure */
	assert_true(naive_empty(&hv));

	assert_int_equal(sim_enter(f, &g), SIM_CUT_OFF);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_IDT_VECTORING_INFO), 0x80000041U);
	g.frame_unmapped = false; /* the EPT handler maps the page; 0x4408 unread */

	/* The guest waits for V: HLT, woken now and then (a host timer),
	 * HLT again. */
	for (unsigned r = 0; r < ROUNDS; r++) {
		f->nlog = 0;
		if (naive_prepare_entry(&hv, &vfx_ops, f) >= 0)
			injected++;
		assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_INTR_INFO, NULL));
		assert_int_equal(sim_enter(f, &g), SIM_NOTHING);
		cpu_exit(f, HLT, 0, 1);
	}
	assert_int_equal(injected, 0);
	assert_int_equal(g.ran[V], 0); /* the hang */
	assert_int_equal(g.norder, 0);
	assert_true(naive_empty(&hv));
	free(f);
}

/*
 * libvirq, the same exits: the cut-off V goes back to the policy at the
 * exit and is written again at the next entry (0x80000041), exactly once;
 * the LAPIC acknowledged V once (IRR -> ISR at the first entry only); the
 * guest's EOI empties ISR and nothing is left; the HLT loop then sleeps
 * with nothing to inject for ROUNDS wake-ups.
 */
static void test_virq_reinjects_cut_off_interrupt(void **state)
{
	struct vfx *f = virq_setup();
	struct sim_guest g = { .frame_unmapped = true };
	const struct virq_vcpu_stats *ps = virq_vcpu_get_stats(&f->pol);
	const struct virq_vmx_stats *xs = virq_vmx_get_stats(&f->vx);
	unsigned injected = 0;

	(void)state;
	virq_host_irq(f, 0x31, V);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000041U);
	assert_true(vfx_bit(VIRQ_LAPIC_REG_ISR, f, V));
	assert_false(vfx_bit(VIRQ_LAPIC_REG_IRR, f, V));
	assert_int_equal(ps->intr_lapic, 1);

	assert_int_equal(sim_enter(f, &g), SIM_CUT_OFF);
	f->nlog = 0;
	assert_int_equal(virq_vmx_handle_exit(&f->vx, &f->exit), VIRQ_VMX_EXIT_UNHANDLED);
	g.frame_unmapped = false; /* the embedder's EPT handler maps the page */
	assert_int_equal(xs->reinjected, 1);
	assert_int_equal(xs->reinject_refused, 0);

	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000041U);
	/* Not acknowledged again: still one LAPIC injection, V in ISR only. */
	assert_int_equal(ps->intr_lapic, 1);
	assert_int_equal(ps->reinjected, 1);
	assert_true(vfx_bit(VIRQ_LAPIC_REG_ISR, f, V));
	assert_false(vfx_bit(VIRQ_LAPIC_REG_IRR, f, V));
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_ISR + 0x20U), 1U << 1);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_PPR), 0x40);

	assert_int_equal(sim_enter(f, &g), SIM_DELIVERED);
	assert_int_equal(g.ran[V], 1);
	virq_guest_eoi(f);
	sim_iret(f, &g);
	assert_true(lapic_idle(f));
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_PPR), 0);
	assert_int_equal(virq_lapic_pending(&f->lapic), VIRQ_LAPIC_NO_VECTOR);

	/* The guest's HLT loop: the vCPU sleeps, nothing is injected twice. */
	for (unsigned r = 0; r < ROUNDS; r++) {
		assert_int_equal(vfx_exit(f, HLT, 0, 0, 1, 0), VIRQ_VMX_EXIT_HALT);
		assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_HALTED);
		if (vfx_wrote(f, VIRQ_VMCS_ENTRY_INTR_INFO, NULL))
			injected++;
		assert_int_equal(sim_enter(f, &g), SIM_NOTHING);
	}
	assert_int_equal(injected, 0);
	assert_int_equal(g.ran[V], 1);
	assert_int_equal(g.norder, 1);
	assert_int_equal(xs->injected, 2); /* the cut-off write and the re-injection */
	assert_int_equal(ps->intr_lapic, 1);
	assert_true(lapic_idle(f));
	free(f);
}

/* ------------------------------------------------------------------ */
/* 2. Injected past PPR                                                */
/* ------------------------------------------------------------------ */

/*
 * The naive design: the guest is in the handler of H = 0xE0 and has
 * re-enabled interrupts (STI). 0x50, 0x70 and 0x60 arrive; each entry
 * injects the highest at once, each nested inside the one before, all
 * inside H, whose EOI never came: 0x70, 0x60, 0x50 past the PPR (0xE0).
 */
static void test_naive_injects_past_isr(void **state)
{
	struct vfx *f = vfx_alloc();
	struct naive_hv hv = { { 0 } };
	struct sim_guest g = { 0 };
	static const uint8_t want[] = { 0xE0, 0x70, 0x60, 0x50 };
	static const uint32_t words[] = { 0x800000E0U, 0x80000070U, 0x80000060U, 0x80000050U };

	(void)state;
	naive_host_irq(f, &hv, 0x3E, 0xE0);
	f->nlog = 0;
	assert_int_equal(naive_prepare_entry(&hv, &vfx_ops, f), 0xE0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), words[0]);
	assert_int_equal(sim_enter(f, &g), SIM_DELIVERED);
	sim_set_if(f, true); /* H's handler: STI */

	naive_host_irq(f, &hv, 0x35, 0x50);
	naive_host_irq(f, &hv, 0x37, 0x70);
	naive_host_irq(f, &hv, 0x36, 0x60);
	for (unsigned i = 1; i < 4; i++) {
		f->nlog = 0;
		assert_int_equal(naive_prepare_entry(&hv, &vfx_ops, f), want[i]);
		assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), words[i]);
		assert_int_equal(sim_enter(f, &g), SIM_DELIVERED);
		sim_set_if(f, true); /* this handler: STI too */
	}
	/* Four handlers deep, the lowest innermost, no EOI yet. */
	assert_int_equal(g.depth, 4);
	assert_memory_equal(g.stack, want, 4);
	assert_memory_equal(g.order, want, 4);
	assert_int_equal(f->checks, 4);
	assert_true(naive_empty(&hv));
	free(f);
}

/*
 * The naive design and the TPR: the guest raised TPR to 0x50 (MOV CR8, 5:
 * classes 5 and below masked). The CR8 write exits or not, the naive
 * design has no TPR to put it in: 0x50 is injected at once.
 */
static void test_naive_injects_past_tpr(void **state)
{
	struct vfx *f = vfx_alloc();
	struct naive_hv hv = { { 0 } };
	struct sim_guest g = { 0 };

	(void)state;
	g.tpr = 0x50;
	naive_host_irq(f, &hv, 0x35, 0x50);
	f->nlog = 0;
	assert_int_equal(naive_prepare_entry(&hv, &vfx_ops, f), 0x50);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000050U);
	assert_int_equal(sim_enter(f, &g), SIM_DELIVERED);
	assert_int_equal(g.ran[0x50], 1);
	assert_true((g.stack[0] & 0xF0U) <= g.tpr); /* its class is masked */
	free(f);
}

/*
 * libvirq: H = 0xE0 in service, its handler with IF = 1. 0x50, 0x70 and
 * 0x60 arrive (external-interrupt exits, posted to the LAPIC); every
 * entry while H is in service writes nothing at all (IF = 1: no window to
 * ask for either). After each EOI the next entry injects the highest one
 * left: 0x70, 0x60, 0x50, each once; a handler with IF = 1 is never
 * interrupted by a lower vector before its EOI.
 */
static void test_virq_holds_below_ppr(void **state)
{
	struct vfx *f = virq_setup();
	struct sim_guest g = { 0 };
	static const uint8_t want[] = { 0xE0, 0x70, 0x60, 0x50 };
	static const uint32_t words[] = { 0x800000E0U, 0x80000070U, 0x80000060U, 0x80000050U };

	(void)state;
	virq_host_irq(f, 0x3E, 0xE0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), words[0]);
	assert_int_equal(sim_enter(f, &g), SIM_DELIVERED);
	sim_set_if(f, true); /* H's handler: STI */

	virq_host_irq(f, 0x35, 0x50);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(sim_enter(f, &g), SIM_NOTHING);
	virq_host_irq(f, 0x37, 0x70);
	virq_host_irq(f, 0x36, 0x60);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(sim_enter(f, &g), SIM_NOTHING);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_PPR), 0xE0);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_ISR + 0x70U), 1U << 0);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_IRR + 0x20U), 1U << 16);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_IRR + 0x30U),
			 (1U << 0) | (1U << 16));

	for (unsigned i = 1; i < 4; i++) {
		virq_guest_eoi(f);
		sim_iret(f, &g);
		assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
		assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), words[i]);
		assert_true(vfx_bit(VIRQ_LAPIC_REG_ISR, f, want[i]));
		assert_false(vfx_bit(VIRQ_LAPIC_REG_IRR, f, want[i]));
		assert_int_equal(sim_enter(f, &g), SIM_DELIVERED);
		/* Never nested; this handler re-enables interrupts too (STI). */
		assert_int_equal(g.depth, 1);
		sim_set_if(f, true);
		/* An exit inside the handler (its device's MMIO): the next
		 * entry holds the lower vectors back. */
		assert_int_equal(vfx_exit(f, EPT, 0, 0, 0, 0), VIRQ_VMX_EXIT_UNHANDLED);
		assert_int_equal(vfx_prepare(f), 0);
		assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_INTR_INFO, NULL));
		assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_PPR),
				 want[i] & 0xF0U);
	}
	virq_guest_eoi(f);
	sim_iret(f, &g);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);
	assert_memory_equal(g.order, want, 4);
	assert_int_equal(g.norder, 4);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(g.ran[want[i]], 1);
	assert_int_equal(virq_vcpu_get_stats(&f->pol)->intr_lapic, 4);
	assert_int_equal(virq_vmx_get_stats(&f->vx)->injected, 4);
	assert_true(lapic_idle(f));
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_PPR), 0);
	free(f);
}

/*
 * libvirq and the TPR: MOV CR8, 5 (a CR-access exit, the embedder's,
 * which hands the value to virq_lapic_set_cr8()). 0x50 waits (class 5 is
 * masked) while 0x60 right above it goes; lowering CR8 to 4 lets 0x50 go,
 * once.
 */
static void test_virq_holds_below_tpr(void **state)
{
	struct vfx *f = virq_setup();
	struct sim_guest g = { 0 };
	static const uint8_t want[] = { 0x60, 0x50 };

	(void)state;
	assert_int_equal(vfx_exit(f, CR_ACCESS, 0, 0, 4, 0), VIRQ_VMX_EXIT_UNHANDLED);
	assert_int_equal(virq_lapic_set_cr8(&f->lapic, 5), 0);
	g.tpr = 0x50;
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_TPR), 0x50);

	virq_host_irq(f, 0x35, 0x50);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(sim_enter(f, &g), SIM_NOTHING);
	assert_true(virq_lapic_tpr_blocked(&f->lapic));
	assert_true(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0x50));

	virq_host_irq(f, 0x36, 0x60);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000060U);
	assert_int_equal(sim_enter(f, &g), SIM_DELIVERED);
	virq_guest_eoi(f);
	sim_iret(f, &g);
	assert_int_equal(vfx_prepare(f), 0);
	assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_INTR_INFO, NULL));
	assert_int_equal(sim_enter(f, &g), SIM_NOTHING);

	assert_int_equal(vfx_exit(f, CR_ACCESS, 0, 0, 4, 0), VIRQ_VMX_EXIT_UNHANDLED);
	assert_int_equal(virq_lapic_set_cr8(&f->lapic, 4), 0);
	g.tpr = 0x40;
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000050U);
	assert_int_equal(sim_enter(f, &g), SIM_DELIVERED);
	assert_true((g.stack[0] & 0xF0U) > g.tpr);
	virq_guest_eoi(f);
	sim_iret(f, &g);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);

	assert_int_equal(g.norder, 2);
	assert_memory_equal(g.order, want, 2);
	assert_int_equal(g.ran[0x50], 1);
	assert_int_equal(virq_vcpu_get_stats(&f->pol)->intr_lapic, 2);
	assert_true(lapic_idle(f));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_naive_loses_cut_off_interrupt),
		cmocka_unit_test(test_virq_reinjects_cut_off_interrupt),
		cmocka_unit_test(test_naive_injects_past_isr),
		cmocka_unit_test(test_naive_injects_past_tpr),
		cmocka_unit_test(test_virq_holds_below_ppr),
		cmocka_unit_test(test_virq_holds_below_tpr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
