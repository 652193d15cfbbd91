/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target (fuzz-vmx): the VMX glue with the vCPU policy and a
 * real LAPIC (x2APIC mode) over a VMCS field store.
 *
 * Input: byte 0 picks the glue's flags (bit 0 virtual NMIs, bit 1
 * acknowledge interrupt on exit, bit 2 unrestricted guest with CR0.PE from
 * bit 3, bit 4 IA32_VMX_MISC[30]), the level (bits 6:5: INJECT,
 * TPR_SHADOW, APICV, INJECT) and the LAPIC's mode (bit 7: xAPIC with an
 * APIC-access page, else x2APIC). Then records of one op byte (modulo
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
 *   OP_CPU     queues a0 % 4 with argument a1 for the guest's next run at
 *              TPR_SHADOW/APICV (up to 8; played between the entry and the
 *              exit, as the CPU writes the virtual-APIC page): MOV to CR8
 *              (VTPR; below the TPR threshold without virtual-interrupt
 *              delivery the exit becomes "TPR below threshold"), virtual-
 *              interrupt delivery of RVI when its class is above VPPR's
 *              and the guest takes interrupts, EOI virtualization of SVI
 *              (an EOI-exit bitmap bit makes the exit EOI-induced), a
 *              virtualized x2APIC self IPI of vector 16 + a1 % 240
 *              (APICV only, no exit); nothing once an exit is decided
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
 *  - APICV: no LAPIC vector injected through 0x4016; after every prepare
 *    the guest interrupt status is the model's highest IRR | highest ISR
 *    << 8; a virtual delivery takes exactly the model's highest IRR vector,
 *    with its class above PPR's; a virtual EOI retires the model's highest
 *    ISR vector. TPR_SHADOW: the threshold written never exceeds TPR[7:4]
 *    and the APIC control checks pass after every prepare.
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
	OP_CPU,
	OP_COUNT
};

#define CPU_VTPR 0
#define CPU_DELIVER 1
#define CPU_EOI 2
#define CPU_SELF_IPI 3

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
	struct virq_lapic_config lc = {
		.size = sizeof(struct virq_lapic_config), .apic_id = 0, .bsp = true, .x2apic = true
	};
	struct virq_vmx_config cfg = { .size = sizeof(struct virq_vmx_config),
				       .level = (cfgb >> 5) & 3U };

	if (cfg.level > VIRQ_VMX_LEVEL_APICV)
		cfg.level = VIRQ_VMX_LEVEL_INJECT;
	f->level = cfg.level;
	cfg.virtual_apic_addr = 0x1000;
	cfg.apic_access_addr = (cfgb & 0x80) ? 0x2000 : 0;
	f->caps[0x00] = VIRQ_VMX_BASIC_TRUE_CTLS;
	f->caps[0x0D] = f->caps[0x0E] = f->caps[0x0F] = 0xFFFFFFFFULL << 32;
	f->caps[0x0B] = 0xFFFFFFFFULL << 32;
	f->caps[0x05] = (cfgb & 0x10) ? VIRQ_VMX_MISC_ZERO_LEN_INJECT : 0;
	f->vnmi = cfgb & 1;
	cfg.flags = (f->vnmi ? VIRQ_VMX_F_VIRTUAL_NMIS : 0) |
		    ((cfgb & 2) ? VIRQ_VMX_F_ACK_INTR_ON_EXIT : 0) |
		    ((cfgb & 4) ? VIRQ_VMX_F_UNRESTRICTED_GUEST : 0);
	set(f, VIRQ_VMCS_PROC_BASED_CTLS2, (cfgb & 4) ? VIRQ_VMX_PROC2_UNRESTRICTED_GUEST : 0);
	set(f, VIRQ_VMCS_GUEST_CR0, ((cfgb & 4) && (cfgb & 8)) ? 0x10 : 0x11);
	set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x202);
	CHECK(virq_lapic_init(&f->lapic, f->page, &lc, &lops, f) == 0);
	if (cfgb & 0x80) {
		CHECK(virq_lapic_mmio_write(&f->lapic, 0xF0, 4, 0x1FF) == 0); /* SVR */
	} else {
		CHECK(virq_lapic_set_apic_base(&f->lapic,
					       0xFEE00000ULL | VIRQ_APIC_BASE_EN |
						       VIRQ_APIC_BASE_EXTD | VIRQ_APIC_BASE_BSP,
					       true) == 0);
		CHECK(virq_lapic_msr_write(&f->lapic, 0x80F, 0x1FF) == 0); /* SVR */
	}
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

/* What prepare leaves in the APIC fields, against the model. */
static void check_apic_fields(struct fz *f)
{
	int top = highest(f->irr), svi = highest(f->isr);
	uint32_t thr;

	check_written(f, false); /* the control checks */
	if (f->level == VIRQ_VMX_LEVEL_APICV) {
		CHECK(get(f, VIRQ_VMCS_GUEST_INTR_STATUS) ==
		      ((top < 0 ? 0U : (uint32_t)top) | (svi < 0 ? 0U : (uint32_t)svi) << 8));
	} else if (f->level == VIRQ_VMX_LEVEL_TPR_SHADOW) {
		thr = (uint32_t)get(f, VIRQ_VMCS_TPR_THRESHOLD);
		CHECK(thr <= ((f->page[0x80 / 4] >> 4) & 0xFU));
		CHECK(thr == virq_lapic_tpr_threshold(&f->lapic));
	}
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
			CHECK(f->level != VIRQ_VMX_LEVEL_APICV); /* the CPU's to deliver */
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
	f->entered = !(fl & VIRQ_VMX_ENTRY_NO_ENTRY);
	if (!(fl & VIRQ_VMX_ENTRY_HALTED)) {
		check_model(f);
		if (!(fl & VIRQ_VMX_ENTRY_NO_ENTRY))
			check_apic_fields(f);
	}
	return info;
}

static void run(struct fz *f, const uint8_t *a, uint32_t info, uint32_t forced, uint32_t fqual)
{
	static const uint32_t reasons[] = { 48, 7, 8, 12, 1, 31, 32, 44, 0, 48 };
	static const uint32_t msrs[] = { 0x808, 0x80B, 0x80A, 0x1234 };
	uint32_t reason = forced ? forced : reasons[a[0] % 10], idt = 0,
		 msr = msrs[(a[1] >> 2) % 4];
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
	if (forced)
		idt = 0; /* trap-like exits after an instruction, not a delivery */
	set(f, VIRQ_VMCS_EXIT_REASON, reason);
	set(f, VIRQ_VMCS_IDT_VECTORING_INFO, idt);
	set(f, VIRQ_VMCS_IDT_VECTORING_ERROR_CODE, a[3] & 0x7);
	/* 1-15 as a CPU reports (0 where MISC[30] allows; 16 the policy refuses). */
	set(f, VIRQ_VMCS_EXIT_INSN_LEN, a[3] % 17 ? a[3] % 17 : f->caps[5] ? 0 : 1);
	/* NMI unblocking due to IRET only after an IRET that ended blocking by
	 * NMI (which it cleared), and only without IDT-vectoring information. */
	iret = !forced && (a[2] & 1) && !idt &&
	       (get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY) & VIRQ_VMX_INTERRUPTIBILITY_NMI);
	if (iret)
		set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY,
		    get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY) &
			    ~(uint64_t)VIRQ_VMX_INTERRUPTIBILITY_NMI);
	set(f, VIRQ_VMCS_EXIT_QUALIFICATION,
	    forced ? fqual : (uint64_t)(a[3] & 0x10) << 8 | 0x80 | iret << 12);
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
	if (reason == 32 && msr == 0x80B && act == VIRQ_VMX_EXIT_CONTINUE &&
	    virq_lapic_get_mode(&f->lapic) == VIRQ_LAPIC_MODE_X2APIC) {
		int top = highest(f->isr);

		if (top >= 0)
			f->isr[top] = 0;
	}
	if (act == VIRQ_VMX_EXIT_APIC_ACCESS) {
		uint64_t v = 0;

		CHECK(virq_vmx_apic_access(&f->vx, x.apic_offset, x.apic_write, 4, &v) == 0);
	}
	if (forced)
		CHECK(act == VIRQ_VMX_EXIT_CONTINUE);
	/* The resync lost nothing the CPU did. */
	check_model(f);
}

static void vbit(struct fz *f, uint32_t base, unsigned v, bool on)
{
	uint32_t *w = &f->page[(base + 16U * (v / 32U)) / 4];

	*w = on ? *w | 1U << (v % 32U) : *w & ~(1U << (v % 32U));
}

static unsigned page_highest(struct fz *f, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = f->page[(base + 16U * (uint32_t)i) / 4];

		if (w)
			return (unsigned)(i * 32 + 31 - __builtin_clz(w));
	}
	return 0;
}

/* PPR virtualization (SDM Vol. 3C "PPR Virtualization"). */
static void cpu_ppr(struct fz *f)
{
	uint32_t tpr = f->page[0x80 / 4] & 0xFFU;
	uint32_t svi = (uint32_t)get(f, VIRQ_VMCS_GUEST_INTR_STATUS) >> 8 & 0xFFU;

	f->page[0xA0 / 4] = (tpr >> 4) >= (svi >> 4) ? tpr : (svi & 0xF0U);
}

/*
 * The guest runs: the queued page changes, each as the CPU makes it. A
 * change that exits ends the run; the exit reason (and qualification) is
 * returned for run(), 0 for none.
 */
static uint32_t cpu_run(struct fz *f, uint32_t info, uint32_t *qual)
{
	bool vid = f->level == VIRQ_VMX_LEVEL_APICV;
	uint32_t rflags = (uint32_t)get(f, VIRQ_VMCS_GUEST_RFLAGS);
	uint32_t intr = (uint32_t)get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY);
	uint32_t st, v, proc = (uint32_t)get(f, VIRQ_VMCS_PROC_BASED_CTLS);
	uint32_t reason = 0;

	for (unsigned i = 0; i < f->ncpu && !reason; i++) {
		uint8_t arg = f->cpuq[i][1];

		st = (uint32_t)get(f, VIRQ_VMCS_GUEST_INTR_STATUS);
		switch (f->cpuq[i][0]) {
		case CPU_VTPR:
			/* MOV to CR8: bits 7:4, bytes 3:1 cleared. */
			f->page[0x80 / 4] = (arg & 0xFU) << 4;
			if (vid) {
				cpu_ppr(f);
			} else if ((arg & 0xFU) < (get(f, VIRQ_VMCS_TPR_THRESHOLD) & 0xFU)) {
				reason = VIRQ_VMX_EXIT_REASON_TPR_BELOW_THRESHOLD;
				*qual = 0;
			}
			break;
		case CPU_DELIVER:
			/* Only in a run that injected nothing: the model's
			 * order of an injection and a delivery stays simple. */
			v = st & 0xFFU;
			if (!vid || info || !(rflags & VIRQ_VMX_RFLAGS_IF) || (intr & 3U) ||
			    (proc & VIRQ_VMX_PROC_INTR_WINDOW_EXITING) ||
			    (v >> 4) <= ((f->page[0xA0 / 4] >> 4) & 0xFU))
				break;
			/* RVI, as the glue wrote it or the CPU kept it, is the
			 * highest request; the CPU compared it with VPPR. */
			CHECK((int)v == highest(f->irr));
			vbit(f, 0x200, v, false);
			vbit(f, 0x100, v, true);
			f->irr[v] = 0;
			f->isr[v] = 1;
			set(f, VIRQ_VMCS_GUEST_INTR_STATUS, page_highest(f, 0x200) | v << 8);
			f->page[0xA0 / 4] = v & 0xF0U;
			break;
		case CPU_EOI:
			if (!vid)
				break;
			v = st >> 8 & 0xFFU;
			f->page[0xB0 / 4] = 0;
			vbit(f, 0x100, v, false);
			if (v >= 16) {
				CHECK((int)v == highest(f->isr));
				f->isr[v] = 0;
			}
			set(f, VIRQ_VMCS_GUEST_INTR_STATUS,
			    (st & 0xFFU) | page_highest(f, 0x100) << 8);
			cpu_ppr(f);
			if ((get(f, VIRQ_VMCS_EOI_EXIT_BITMAP0 + 2U * (v / 64U)) >> (v % 64U)) &
			    1U) {
				reason = VIRQ_VMX_EXIT_REASON_VIRTUALIZED_EOI;
				*qual = v;
			}
			break;
		default:
			/* WRMSR SELF IPI (x2APIC) or an ICR self IPI (xAPIC). */
			if (!vid)
				break;
			v = 16U + arg % 240U;
			vbit(f, 0x200, v, true);
			f->irr[v] = 1;
			if (v > (st & 0xFFU))
				set(f, VIRQ_VMCS_GUEST_INTR_STATUS, (st & 0xFF00U) | v);
			break;
		}
	}
	f->ncpu = 0;
	return reason;
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
		case OP_CPU:
			if (f->ncpu < 8) {
				f->cpuq[f->ncpu][0] = a[0] % 4;
				f->cpuq[f->ncpu++][1] = a[1];
			}
			break;
		default: {
			uint32_t forced = 0, qual = 0;

			last = enter(f);
			if (f->level != VIRQ_VMX_LEVEL_INJECT && f->entered)
				forced = cpu_run(f, last, &qual);
			f->ncpu = 0;
			run(f, a, last, forced, qual);
			break;
		}
		}
	}
	return 0;
}
