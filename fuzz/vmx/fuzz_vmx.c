/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target (fuzz-vmx): the VMX glue with the vCPU policy and a
 * real LAPIC (x2APIC mode) over a VMCS field store.
 *
 * Input: byte 0 picks the glue's flags (bit 0 virtual NMIs, bit 1
 * acknowledge interrupt on exit, bit 2 unrestricted guest with CR0.PE from
 * bit 3, bit 4 IA32_VMX_MISC[30]). Then records of one op byte (modulo
 * OP_COUNT) and four argument bytes a[0..3]; bytes past the end read 0.
 *   OP_POST    edge vector 16 + a0 % 240 posted to the LAPIC
 *   OP_NMI     an NMI message posted
 *   OP_GUEST   RFLAGS.IF = a0 bit 0, interruptibility a1 % 16 (never STI
 *              with IF = 0, never STI and MOV SS): the guest ran; skipped
 *              while an event the last exit cut off waits
 *   OP_EXC     virq_vcpu_queue_exception(a0 % 32, a1 bit 0, a2) (valid or
 *              not), or with a1 bit 1 virq_vcpu_inject_pf(cr2 a2 << 12, a3 % 16)
 *   OP_RUN     prepare the entry, enter (the simulated CPU), exit with
 *              reason a0 % 10 (EPT violation, windows, HLT, host interrupt,
 *              RDMSR/WRMSR of TPR (a2) / EOI / PPR / a bad MSR, APIC
 *              access, exception with a3 bit 4 as NMI unblocking) and
 *              IDT-vectoring information per a1 % 4: none, the event just
 *              injected (its delivery cut off), a made-up type 3-6 event
 *              (vector a2, length a3 % 17), none
 *
 * With FUZZ_VMX_TRACE=1 in the environment every entry is printed.
 *
 * Invariants (a failed check prints the line and traps):
 *  - every 0x4016 write (vmcs_store.h) passes virq_vmx_check_entry_event() against the
 *    store (with the 0x4018 and 0x401A values written), at most one per
 *    entry; a fresh external interrupt only with IF = 1 and no STI/MOV-SS
 *    blocking, an NMI only without STI/MOV-SS blocking and NMI blocking
 *    (the guest's bit 3, and the policy's without virtual NMIs);
 *  - the window controls: interrupt-window exiting set iff the decision
 *    asked for it; NMI-window exiting iff asked and virtual NMIs;
 *  - LAPIC vectors conserved: a model of IRR/ISR (post sets IRR, a fresh
 *    injection moves the model's highest IRR vector to ISR, an accepted EOI
 *    clears the highest ISR vector) equals the LAPIC's registers after
 *    every decision; a fresh injection is that highest vector and its
 *    class is above PPR's; a re-injected one is the vector the exit cut off
 *    and changes neither IRR nor ISR.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include <virq/regs/lapic.h>
#include <virq/vmx.h>

#include "vmcs_store.h"

enum {
	OP_POST,
	OP_NMI,
	OP_GUEST,
	OP_EXC,
	OP_RUN,
	OP_COUNT
};

static int highest(const uint8_t *bits)
{
	for (int v = 255; v >= 0; v--)
		if (bits[v])
			return v;
	return -1;
}

static bool lapic_bit(struct fz *f, uint32_t base, unsigned v)
{
	return (virq_lapic_read_reg(&f->lapic, base + 0x10U * (v / 32U)) >> (v % 32U)) & 1U;
}

static void check_model(struct fz *f)
{
	for (unsigned v = 0; v < 256; v++) {
		CHECK(lapic_bit(f, VIRQ_LAPIC_REG_IRR, v) == f->irr[v]);
		CHECK(lapic_bit(f, VIRQ_LAPIC_REG_ISR, v) == f->isr[v]);
	}
}

static void setup(struct fz *f, uint8_t cfgb)
{
	struct virq_lapic_config lc = { .apic_id = 0, .bsp = true, .x2apic = true };
	struct virq_vmx_config cfg = { .level = VIRQ_VMX_LEVEL_INJECT };

	f->caps[0x00] = VIRQ_VMX_BASIC_TRUE_CTLS;
	f->caps[0x0D] = f->caps[0x0E] = f->caps[0x0F] = 0xFFFFFFFFULL << 32;
	f->caps[0x05] = (cfgb & 0x10) ? VIRQ_VMX_MISC_ZERO_LEN_INJECT : 0;
	f->vnmi = cfgb & 1;
	cfg.flags = (f->vnmi ? VIRQ_VMX_F_VIRTUAL_NMIS : 0) |
		    ((cfgb & 2) ? VIRQ_VMX_F_ACK_INTR_ON_EXIT : 0) |
		    ((cfgb & 4) ? VIRQ_VMX_F_UNRESTRICTED_GUEST : 0);
	set(f, VIRQ_VMCS_PROC_BASED_CTLS2, (cfgb & 4) ? VIRQ_VMX_PROC2_UNRESTRICTED_GUEST : 0);
	set(f, VIRQ_VMCS_GUEST_CR0, ((cfgb & 4) && (cfgb & 8)) ? 0x10 : 0x11);
	set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x202);
	CHECK(virq_lapic_init(&f->lapic, f->page, &lc, &lops, f) == 0);
	CHECK(virq_lapic_set_apic_base(&f->lapic,
				       0xFEE00000ULL | VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD |
					       VIRQ_APIC_BASE_BSP,
				       true) == 0);
	CHECK(virq_lapic_msr_write(&f->lapic, 0x80F, 0x1FF) == 0); /* SVR */
	CHECK(virq_vcpu_init(&f->pol, &f->lapic, NULL) == 0);
	CHECK(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vops, f, &cfg) == 0);
}

static bool real(struct fz *f)
{
	return (get(f, VIRQ_VMCS_PROC_BASED_CTLS2) & VIRQ_VMX_PROC2_UNRESTRICTED_GUEST) &&
	       !(get(f, VIRQ_VMCS_GUEST_CR0) & VIRQ_VMX_CR0_PE);
}

/* An injected event that is a re-injection leaves the list. One that is
 * not leaves no exception there: it was merged into it or replaced it. */
static bool take_reinj(struct fz *f, uint32_t info)
{
	unsigned n = 0;
	bool found = false;

	for (unsigned i = 0; i < f->nreinj; i++) {
		unsigned t = (f->reinj[i] >> 8) & 7;

		if (!found && f->reinj[i] == info)
			found = true;
		else if (found || t == 0 || t == 2 || t == 4)
			f->reinj[n++] = f->reinj[i];
	}
	f->nreinj = n;
	return found;
}

/* Prepare, check, and play the CPU's VM entry. Returns the info written. */
static uint32_t enter(struct fz *f)
{
	uint64_t rflags = get(f, VIRQ_VMCS_GUEST_RFLAGS);
	uint32_t intr = (uint32_t)get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY);
	bool pol_blocked = virq_vcpu_nmi_blocked(&f->pol);
	int top = highest(f->irr);
	unsigned ppr = virq_lapic_get_ppr(&f->lapic);
	struct virq_vmx_entry e;
	uint32_t info = 0, fl, proc, a;
	unsigned type, vec;

	f->intr_writes = 0;
	set(f, VIRQ_VMCS_ENTRY_INTR_INFO, 0);
	fl = virq_vmx_prepare_entry(&f->vx, &e);
	a = e.decision.actions;
	if (getenv("FUZZ_VMX_TRACE"))
		fprintf(stderr,
			"enter: flags %#x actions %#x info %#x rflags %#llx intr %#x reinj %u\n",
			fl, a, (unsigned)get(f, VIRQ_VMCS_ENTRY_INTR_INFO),
			(unsigned long long)rflags, intr, f->nreinj);
	CHECK(f->intr_writes <= 1);
	CHECK(!!(fl & VIRQ_VMX_ENTRY_INJECTED) == (f->intr_writes == 1));
	proc = (uint32_t)get(f, VIRQ_VMCS_PROC_BASED_CTLS);
	if (!(fl & VIRQ_VMX_ENTRY_HALTED)) {
		CHECK(!!(proc & VIRQ_VMX_PROC_INTR_WINDOW_EXITING) ==
		      !!(a & VIRQ_VCPU_INTR_WINDOW));
		CHECK(!!(proc & VIRQ_VMX_PROC_NMI_WINDOW_EXITING) ==
		      (f->vnmi && (a & VIRQ_VCPU_NMI_WINDOW)));
	}
	if (fl & VIRQ_VMX_ENTRY_TRIPLE_FAULT) {
		virq_vcpu_reset(&f->pol); /* the embedder resets the vCPU */
		f->nreinj = 0;
	}
	if (fl & VIRQ_VMX_ENTRY_INJECTED) {
		info = (uint32_t)get(f, VIRQ_VMCS_ENTRY_INTR_INFO);
		type = (info >> 8) & 7;
		vec = info & 0xFF;
		if (take_reinj(f, info)) {
			/* the cut-off event, again */
		} else if (type == 0) {
			CHECK((rflags & VIRQ_VMX_RFLAGS_IF) && !(intr & 3));
			CHECK((int)vec == top && (vec & 0xF0) > (ppr & 0xF0));
			f->irr[vec] = 0;
			f->isr[vec] = 1;
		} else if (type == 2) {
			CHECK(!(intr & 0xB) && !pol_blocked);
		}
		/* The CPU delivered it: no shadow, NMIs blocked after an NMI. */
		intr &= ~3U;
		if (type == 2)
			intr |= VIRQ_VMX_INTERRUPTIBILITY_NMI;
		set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, intr);
	}
	if (!(fl & VIRQ_VMX_ENTRY_HALTED))
		check_model(f);
	return info;
}

static void run(struct fz *f, const uint8_t *a, uint32_t info)
{
	static const uint32_t reasons[] = { 48, 7, 8, 12, 1, 31, 32, 44, 0, 48 };
	static const uint32_t msrs[] = { 0x808, 0x80B, 0x80A, 0x1234 };
	uint32_t reason = reasons[a[0] % 10], idt = 0, msr = msrs[(a[1] >> 2) % 4];
	unsigned t;
	enum virq_vmx_exit_action act;
	struct virq_vmx_exit x;
	uint64_t before = virq_vmx_get_stats(&f->vx)->reinjected;
	unsigned iret;

	switch (a[1] % 4) {
	case 1:
		idt = info;
		break;
	case 2:
		/* As a CPU reports them: an error code exactly where Intel's
		 * exceptions push one, none in real mode. */
		t = 3 + a[2] % 4;
		idt = VIRQ_VMX_INTR_VALID | t << 8 | a[3];
		if (t == 3 && a[3] < 32 && !real(f) &&
		    (a[3] == 8 || (a[3] >= 10 && a[3] <= 14) || a[3] == 17 || a[3] == 21))
			idt |= VIRQ_VMX_INTR_ERROR_CODE;
		break;
	default:
		break;
	}
	set(f, VIRQ_VMCS_EXIT_REASON, reason);
	set(f, VIRQ_VMCS_IDT_VECTORING_INFO, idt);
	set(f, VIRQ_VMCS_IDT_VECTORING_ERROR_CODE, a[3] & 0x7);
	/* 1-15 as a CPU reports (0 where MISC[30] allows; 16 the policy refuses). */
	set(f, VIRQ_VMCS_EXIT_INSN_LEN, a[3] % 17 ? a[3] % 17 : f->caps[5] ? 0 : 1);
	/* NMI unblocking due to IRET only after an IRET that ended blocking by
	 * NMI (which it cleared), and only without IDT-vectoring information. */
	iret = (a[2] & 1) && !idt &&
	       (get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY) & VIRQ_VMX_INTERRUPTIBILITY_NMI);
	if (iret)
		set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY,
		    get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY) &
			    ~(uint64_t)VIRQ_VMX_INTERRUPTIBILITY_NMI);
	set(f, VIRQ_VMCS_EXIT_QUALIFICATION, (uint64_t)(a[3] & 0x10) << 8 | 0x80 | iret << 12);
	set(f, VIRQ_VMCS_EXIT_INTR_INFO,
	    reason == 0 ? (VIRQ_VMX_INTR_VALID | 0x30D | iret << 12) : 0x800000ECU);
	f->gpr[VIRQ_VMX_GPR_RCX] = msr;
	f->gpr[VIRQ_VMX_GPR_RAX] = msr == 0x80B ? 0 : a[2];
	f->gpr[VIRQ_VMX_GPR_RDX] = 0;
	act = virq_vmx_handle_exit(&f->vx, &x);
	/* The event the policy took back waits for its re-injection. */
	if (virq_vmx_get_stats(&f->vx)->reinjected != before) {
		CHECK(f->nreinj < 2);
		f->reinj[f->nreinj++] = real(f) ? idt & ~VIRQ_VMX_INTR_ERROR_CODE : idt;
	}
	if (reason == 32 && msr == 0x80B && act == VIRQ_VMX_EXIT_CONTINUE) {
		int top = highest(f->isr);

		if (top >= 0)
			f->isr[top] = 0;
	}
	if (act == VIRQ_VMX_EXIT_APIC_ACCESS) {
		uint64_t v = 0;

		CHECK(virq_vmx_apic_access(&f->vx, x.apic_offset, x.apic_write, 4, &v) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct fz *f;
	uint32_t last = 0;

	if (!g && posix_memalign((void **)&g, 4096, sizeof(*g)))
		abort();
	f = g;
	memset(f, 0, sizeof(*f));
	setup(f, in_u8(&in));
	while (in.n) {
		uint8_t op = in_u8(&in) % OP_COUNT, a[4];

		for (unsigned i = 0; i < 4; i++)
			a[i] = in_u8(&in);
		switch (op) {
		case OP_POST:
			virq_lapic_post(&f->lapic, (uint8_t)(16 + a[0] % 240), false);
			f->irr[16 + a[0] % 240] = 1;
			break;
		case OP_NMI: {
			struct virq_apic_msg m = { .src = VIRQ_MSG_SRC_NONE,
						   .delivery = VIRQ_DM_NMI,
						   .level = true };

			virq_lapic_post_msg(&f->lapic, &m);
			break;
		}
		case OP_GUEST: {
			uint32_t intr = a[1] % 16;

			if (f->nreinj)
				break;
			if (!(a[0] & 1) || (intr & 3) == 3)
				intr &= ~VIRQ_VMX_INTERRUPTIBILITY_STI;
			set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x2 | (a[0] & 1ULL) << 9);
			set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY,
			    intr & ~VIRQ_VMX_INTERRUPTIBILITY_SMI);
			break;
		}
		case OP_EXC:
			if (a[1] & 2)
				(void)virq_vcpu_inject_pf(&f->pol, (uint64_t)a[2] << 12, a[3] % 16);
			else
				(void)virq_vcpu_queue_exception(&f->pol, a[0] % 32, a[1] & 1, a[2]);
			break;
		default:
			last = enter(f);
			run(f, a, last);
			break;
		}
	}
	return 0;
}
