/* SPDX-License-Identifier: MIT */
/*
 * The vCPU loop and VM-exit handling (SDM Vol. 3C 27.2 "Recording VM-Exit
 * Information", Appendix C "VMX Basic Exit Reasons"). Emulated: the I/O
 * ports of the guest programs' platform (tests/guests/README.md: COM1
 * output, isa-debug-exit, fw_cfg CPU count and RAM size; any other port
 * reads all ones and ignores writes), CPUID (which always exits in VMX
 * non-root operation: 25.1.2 "Instructions That Cause VM Exits
 * Unconditionally") and IA32_APIC_BASE reads. Anything else (a HLT with
 * nothing to wake it, an EPT violation, a triple fault, an intercepted MSR
 * with no LAPIC behind it) is reported and ends the run as a failure.
 */
#include "hv.h"

#define EXIT_EXCEPTION_NMI 0
#define EXIT_EXTERNAL_INTERRUPT 1
#define EXIT_TRIPLE_FAULT 2
#define EXIT_CPUID 10
#define EXIT_HLT 12
#define EXIT_CR_ACCESS 28
#define EXIT_IO 30
#define EXIT_RDMSR 31
#define EXIT_WRMSR 32
#define EXIT_EPT_VIOLATION 48
#define EXIT_EPT_MISCONFIG 49
#define EXIT_PREEMPTION_TIMER 52

#define HV_FAILED 2 /* our exit status when the hv, not the guest, failed */

static const char *reason_name(unsigned r)
{
	static const struct {
		unsigned reason;
		const char *name;
	} names[] = {
		{ EXIT_EXCEPTION_NMI, "exception or NMI" },
		{ EXIT_EXTERNAL_INTERRUPT, "external interrupt" },
		{ EXIT_TRIPLE_FAULT, "triple fault" },
		{ EXIT_HLT, "HLT" },
		{ EXIT_CR_ACCESS, "control-register access" },
		{ EXIT_RDMSR, "RDMSR" },
		{ EXIT_WRMSR, "WRMSR" },
		{ 33, "VM-entry failure: invalid guest state" },
		{ 34, "VM-entry failure: MSR loading" },
		{ EXIT_EPT_VIOLATION, "EPT violation" },
		{ EXIT_EPT_MISCONFIG, "EPT misconfiguration" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].reason == r)
			return names[i].name;
	return "not handled";
}

static void stats(const struct vcpu *v)
{
	const struct virq_vmx_stats *gs = virq_vmx_get_stats(&v->vx);
	const struct virq_vcpu_stats *ps = virq_vcpu_get_stats(&v->policy);

	hv_printf("virq-hv: vCPU %u: %lu VM exits: %lu I/O, %lu CPUID, %lu MSR, %lu MMIO, %lu "
		  "other; %lu halts, %lu timer expiries, %lu INIT, %lu SIPI\n",
		  v->index, v->exits, v->exits_io, v->exits_cpuid, v->exits_msr, v->exits_mmio,
		  v->exits - v->exits_io - v->exits_cpuid - v->exits_msr - v->exits_mmio, v->halts,
		  v->timer_fired, v->inits, v->sipis);
	hv_printf("virq-hv: exits by reason:");
	for (unsigned r = 0; r < HV_EXIT_REASONS; r++)
		if (v->by_reason[r])
			hv_printf(" %u:%lu", r, v->by_reason[r]);
	hv_printf("\n");
	hv_printf("virq-hv: VMX glue: %lu entries, %lu events injected (%lu re-injected), "
		  "%lu x2APIC MSR, %lu APIC accesses; policy: %lu LAPIC, %lu 8259 interrupts, "
		  "%lu NMIs, %lu interrupt windows\n",
		  gs->entries, gs->injected, gs->reinjected, gs->msr, gs->apic_access,
		  ps->intr_lapic, ps->intr_pic, ps->nmi, ps->intr_windows);
	if (gs->injected)
		hv_printf("virq-hv: %lu.%02lu exits per injected event\n", v->exits / gs->injected,
			  v->exits * 100 / gs->injected % 100);
}

static __attribute__((noreturn)) void unexpected(const struct vcpu *v, unsigned reason,
						 const char *why)
{
	hv_printf("virq-hv: FAIL: unexpected VM exit %u (%s), qualification %lx, guest RIP %lx, "
		  "guest-physical %lx, interruption info %lx%s%s\n",
		  reason, reason_name(reason), vmread(EXIT_QUALIFICATION), vmread(GUEST_RIP),
		  vmread(GUEST_PHYSICAL_ADDRESS), vmread(EXIT_INTERRUPTION_INFO), why ? ": " : "",
		  why ? why : "");
	stats(v);
	hv_exit(HV_FAILED);
}

/* fw_cfg (QEMU's "docs/specs/fw_cfg.rst"): key 0x00 signature, 0x03 RAM
 * size (u64), 0x05 CPU count (u16); other keys read 0, as QEMU's do. */
static uint8_t fwcfg_byte(struct vcpu *v)
{
	uint64_t item = 0;
	unsigned len = 0, off = v->fwcfg_off++;

	if (v->fwcfg_key == 0x00) {
		item = 0x554D4551ULL; /* "QEMU" */
		len = 4;
	} else if (v->fwcfg_key == 0x03) {
		item = GUEST_RAM_SIZE;
		len = 8;
	} else if (v->fwcfg_key == 0x05) {
		item = nr_vcpus;
		len = 2;
	}
	return off < len ? (uint8_t)(item >> (8 * off)) : 0;
}

/* Steps over the instruction that exited (SDM Vol. 3C 27.2.4 "Information
 * for VM Exits Due to Instruction Execution"); as the CPU would, this ends
 * the STI and MOV-SS blocking the instruction sat in. */
static void skip(uint64_t len)
{
	uint64_t intr = vmread(GUEST_INTERRUPTIBILITY);

	vmwrite(GUEST_RIP, vmread(GUEST_RIP) + len);
	if (intr & 3)
		vmwrite(GUEST_INTERRUPTIBILITY, intr & ~3ULL);
}

/* I/O instruction exit qualification (SDM Vol. 3C 27.2.1 "Basic VM-Exit
 * Information", Table 27-5 "Exit Qualification for I/O Instructions"):
 * size - 1 in bits 2:0, IN in bit 3, string in bit 4, port in 31:16. */
static void io_exit(struct vcpu *v)
{
	uint64_t q = vmread(EXIT_QUALIFICATION);
	unsigned size = (unsigned)(q & 7) + 1, port = (unsigned)(q >> 16) & 0xFFFF;
	bool in = q & 8;
	uint32_t val = (uint32_t)v->regs.rax, res = 0xFFFFFFFFU;

	v->exits_io++;
	if (q & 0x10)
		unexpected(v, EXIT_IO, "string I/O is not emulated");
	if (size != 1 && size != 2 && size != 4) /* Table 27-5 "Exit Qualification for I/O
	                                          * Instructions": 0, 1 or 3 */
		unexpected(v, EXIT_IO, "an I/O access size the SDM does not define");
	if (fault_port(v, port, in, size, in ? &res : &val)) {
		/* the fault-once test port (fault.c) */
	} else if (hv_pio((uint16_t)port, in, size, in ? &res : &val)) {
		/* libvirq's controllers and the interrupt-raising test devices */
	} else if (in) {
		if (port == 0x3FD) /* COM1 LSR: THR and transmitter empty */
			res = 0x60;
		else if (port >= 0x3F8 && port <= 0x3FF)
			res = 0;
		else if (port == 0x511)
			res = fwcfg_byte(v);
	} else {
		switch (port) {
		case 0x3F8: /* COM1 THR: the guest's output, forwarded to port 0xE9 */
			outb(0xE9, (uint8_t)val);
			break;
		case 0xF4: /* isa-debug-exit: the VMM's status is (value << 1) | 1, as QEMU's */
			hv_printf("virq-hv: guest wrote %u to isa-debug-exit\n", val & 0xFF);
			for (unsigned i = 0; i < nr_vcpus; i++)
				stats(&vcpus[i]);
			hv_exit((val & 0xFF) <= 61 ? (int)((val & 0xFF) << 1 | 1) : HV_FAILED);
		case 0x510:
			v->fwcfg_key = (uint16_t)val;
			v->fwcfg_off = 0;
			break;
		default: /* the shutdown port, COM1 setup: ignored */
			break;
		}
	}
	if (in) {
		if (size == 4)
			v->regs.rax = res;
		else
			v->regs.rax = (v->regs.rax & ~((1ULL << (8 * size)) - 1)) |
				      (res & ((1ULL << (8 * size)) - 1));
	}
	skip(vmread(EXIT_INSTRUCTION_LENGTH));
}

static void cpuid_exit(struct vcpu *v)
{
	uint32_t r[4], leaf = (uint32_t)v->regs.rax;

	v->exits_cpuid++;
	cpuid(leaf, (uint32_t)v->regs.rcx, r);
	if (leaf == 1) {
		r[2] &= ~(1U << 5);                           /* no VMX for the guest */
		r[1] = (r[1] & 0x00FFFFFFU) | v->index << 24; /* the initial APIC ID */
		/* CPUID.1:EDX.APIC follows IA32_APIC_BASE's global enable. */
		if (!(virq_lapic_get_apic_base(&v->lapic) & (1ULL << 11)))
			r[3] &= ~(1U << 9);
	} else if (leaf == 0xB || leaf == 0x1F) {
		r[3] = v->index; /* x2APIC ID */
	}
	v->regs.rax = r[0];
	v->regs.rbx = r[1];
	v->regs.rcx = r[2];
	v->regs.rdx = r[3];
	skip(vmread(EXIT_INSTRUCTION_LENGTH));
}

/* The MSRs the glue leaves to the hv: IA32_APIC_BASE and IA32_TSC_DEADLINE,
 * both the LAPIC's; a refused access is the LAPIC's #GP. */
static void msr_exit(struct vcpu *v, unsigned reason)
{
	uint32_t msr = (uint32_t)v->regs.rcx;
	uint64_t val = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;
	int err;

	v->exits_msr++;
	if (msr == 0x1B) {
		if (reason == EXIT_RDMSR) {
			val = virq_lapic_get_apic_base(&v->lapic);
			err = 0;
		} else {
			err = virq_lapic_set_apic_base(&v->lapic, val, false);
		}
	} else if (msr == 0x6E0) {
		err = reason == EXIT_RDMSR ? virq_lapic_msr_read(&v->lapic, msr, &val)
					   : virq_lapic_msr_write(&v->lapic, msr, val);
	} else {
		unexpected(v, reason, "MSR not emulated");
	}
	if (err) {
		(void)virq_vcpu_inject_gp(&v->policy, 0);
		return;
	}
	if (reason == EXIT_RDMSR) {
		v->regs.rax = (uint32_t)val;
		v->regs.rdx = val >> 32;
	}
	skip(vmread(EXIT_INSTRUCTION_LENGTH));
}

/* MOV to or from CR8 (CR8-load and CR8-store exiting: at this level the
 * CPU must not touch its own TPR for the guest): the LAPIC's TPR[7:4].
 * Qualification (SDM Vol. 3C Table 27-3 "Exit Qualification for
 * Control-Register Accesses"): CR number in bits 3:0, access type in
 * 5:4 (0 MOV to CR, 1 MOV from CR), the register in 11:8. */
static void cr_exit(struct vcpu *v)
{
	uint64_t q = vmread(EXIT_QUALIFICATION), rsp = vmread(GUEST_RSP);
	unsigned type = (unsigned)(q >> 4) & 3;
	uint64_t *reg = gpr_ptr(&v->regs, (int)(q >> 8) & 15, &rsp);

	if ((q & 15) != 8 || type > 1)
		unexpected(v, EXIT_CR_ACCESS, "a control-register access other than CR8");
	if (type == 0) {
		if (virq_lapic_set_cr8(&v->lapic, *reg)) {
			(void)virq_vcpu_inject_gp(&v->policy, 0); /* reserved bits 63:4 */
			return;
		}
	} else {
		*reg = virq_lapic_get_cr8(&v->lapic);
		if (((q >> 8) & 15) == 4)
			vmwrite(GUEST_RSP, rsp);
	}
	skip(vmread(EXIT_INSTRUCTION_LENGTH));
}

/* An access to a page EPT leaves unmapped: the LAPIC's (while it is
 * enabled in xAPIC mode at its IA32_APIC_BASE), the I/O APIC's, or nothing
 * (reads all ones, writes ignored, as on a PC's empty bus). */
static void mmio_exit(struct vcpu *v, uint64_t gpa)
{
	struct mmio_insn in;
	uint64_t base = virq_lapic_get_apic_base(&v->lapic), val = 0;

	v->exits_mmio++;
	if (mmio_decode(&in))
		unexpected(v, EXIT_EPT_VIOLATION, "an MMIO instruction the hv does not decode");
	if (in.write)
		val = mmio_store_value(v, &in);
	if ((gpa & ~0xFFFULL) == (base & ~0xFFFULL) &&
	    virq_lapic_get_mode(&v->lapic) == VIRQ_LAPIC_MODE_XAPIC) {
		(void)virq_vmx_apic_access(&v->vx, (uint32_t)(gpa & 0xFFF), in.write, in.size,
					   &val);
	} else if ((gpa & ~0xFFFULL) == GUEST_IOAPIC_GPA) {
		if (hv_ioapic_access((uint32_t)(gpa & 0xFFF), in.write, in.size, &val))
			val = ~0ULL;
	} else {
		val = ~0ULL;
	}
	if (!in.write)
		mmio_load_result(v, &in, val);
	skip(in.len);
}

/* An APIC-access exit (from the TPR-shadow level, "virtualize APIC
 * accesses"): the glue decoded the offset and direction from the
 * qualification; the data is the instruction's. Fault-like: RIP still
 * points at the instruction, whose length the exit does not give. */
static void apic_access_exit(struct vcpu *v, const struct virq_vmx_exit *x)
{
	struct mmio_insn in;
	uint64_t val = 0;

	v->exits_mmio++;
	if (mmio_decode(&in) || in.write != (x->apic_write != 0))
		unexpected(v, 44, "an APIC-page instruction the hv does not decode");
	if (in.write)
		val = mmio_store_value(v, &in);
	(void)virq_vmx_apic_access(&v->vx, x->apic_offset, in.write, in.size, &val);
	if (!in.write)
		mmio_load_result(v, &in, val);
	skip(in.len);
}

/* The vCPU halted (or waits for a start-up IPI): the host halts too, until
 * its timer interrupt (armed for the LAPIC timer's deadline) or another
 * CPU's kick; the loop then looks again. With one vCPU and no timer armed
 * nothing can come: that is a hang, reported at once. */
static void halt_wait(struct vcpu *v)
{
	v->halts++;
	if (!v->timer_armed && nr_vcpus == 1)
		unexpected(v, EXIT_HLT,
			   (vmread(GUEST_RFLAGS) & 0x200)
				   ? "the guest halted with no timer armed: nothing can wake it"
				   : "the guest halted with RFLAGS.IF=0: nothing can wake it");
	if (v->timer_armed && rdtsc() >= v->timer_deadline)
		return;
	if (hv_tsc_deadline() || !v->timer_armed) {
		if (v->timer_armed && v->host_deadline != v->timer_deadline) {
			host_timer_program(v->timer_deadline);
			v->host_deadline = v->timer_deadline;
		}
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	} else {
		__asm__ volatile("pause");
	}
}

/* The guest's LAPIC timer: expire it when its time has come, and keep the
 * host timer armed for the next deadline while the guest runs. */
static void timer_check(struct vcpu *v)
{
	if (v->timer_armed && rdtsc() >= v->timer_deadline) {
		v->timer_armed = false;
		v->timer_fired++;
		virq_lapic_timer_expired(&v->lapic); /* may re-arm (periodic) */
	}
	if (hv_tsc_deadline()) {
		uint64_t want = v->timer_armed ? v->timer_deadline : 0;

		if (want != v->host_deadline) {
			host_timer_program(want);
			v->host_deadline = want;
		}
	}
}

/* From the TPR-shadow level: the APIC-access page is mapped exactly while
 * the LAPIC is in xAPIC mode, as the glue sets "virtualize APIC accesses"
 * (IA32_APIC_BASE writes and INIT change the mode). */
static void apic_page_follow(struct vcpu *v)
{
	bool want = v->level >= VIRQ_VMX_LEVEL_TPR_SHADOW &&
		    virq_lapic_get_mode(&v->lapic) == VIRQ_LAPIC_MODE_XAPIC;

	if (want != v->apic_page_mapped) {
		ept_map_apic_access(v->index, want);
		v->apic_page_mapped = want;
	}
}

/* The policy wants the vCPU back right after this entry (one event per
 * entry, another waits): the VMX-preemption timer at 0 makes the exit come
 * before the guest's first instruction (SDM Vol. 3C 25.5.1 "VMX-Preemption
 * Timer"), after the injected event's delivery. */
static void immediate_exit(struct vcpu *v, bool on)
{
	uint64_t pin;

	if (on == v->preempt_armed)
		return;
	pin = vmread(PIN_BASED_CONTROLS);
	vmwrite(PIN_BASED_CONTROLS, on ? pin | PIN_PREEMPTION_TIMER : pin & ~PIN_PREEMPTION_TIMER);
	if (on)
		vmwrite(VMX_PREEMPTION_TIMER, 0);
	v->preempt_armed = on;
}

/* The glue's verdict on an entry that must not happen now. */
static void no_entry(struct vcpu *v, const struct virq_vmx_entry *e)
{
	if (e->flags & VIRQ_VMX_ENTRY_TRIPLE_FAULT)
		unexpected(v, EXIT_TRIPLE_FAULT, "the vCPU policy reports a triple fault");
	halt_wait(v);
}

void vcpu_loop(struct vcpu *v)
{
	int launched = 0;

	for (;;) {
		struct virq_vmx_entry e;
		struct virq_vmx_exit x;
		uint32_t reason;

		timer_check(v);
		hv_service_storms();
		apic_page_follow(v);
		virq_vmx_prepare_entry(&v->vx, &e);
		if (e.flags & VIRQ_VMX_ENTRY_SMI)
			unexpected(v, 0, "an SMI: the hv has no SMM");
		if (e.flags & VIRQ_VMX_ENTRY_INIT) {
			/* INIT: the LAPIC and policy are in their INIT state; the
			 * vCPU waits for a start-up IPI (prepare says so next). */
			v->inits++;
			continue;
		}
		if (e.flags & VIRQ_VMX_ENTRY_SIPI) {
			v->sipis++;
			vmcs_start_real_mode(e.sipi_vector);
		}
		if (e.flags & VIRQ_VMX_ENTRY_NO_ENTRY) {
			no_entry(v, &e);
			continue;
		}
		immediate_exit(v, e.flags & VIRQ_VMX_ENTRY_IMMEDIATE_EXIT);
		if (vmx_run(&v->regs, launched)) {
			hv_printf("virq-hv: FAIL: VM%s failed, VM-instruction error %u\n",
				  launched ? "RESUME" : "LAUNCH",
				  (unsigned)vmread(VM_INSTRUCTION_ERROR));
			vmcs_dump_entry_failure();
			hv_exit(HV_FAILED);
		}
		launched = 1;
		v->exits++;
		reason = (uint32_t)vmread(EXIT_REASON);
		if ((reason & 0xFFFF) < HV_EXIT_REASONS)
			v->by_reason[reason & 0xFFFF]++;
		switch (virq_vmx_handle_exit(&v->vx, &x)) {
		case VIRQ_VMX_EXIT_CONTINUE:
		case VIRQ_VMX_EXIT_HALT: /* the next prepare says whether it waits */
			break;
		case VIRQ_VMX_EXIT_HOST_INTR:
			/* Acknowledged on exit: the host's interrupt, EOI'd here. The
			 * host timer is forwarded by timer_check(); a kick only ends
			 * the guest's run so that prepare looks at the LAPIC again. */
			host_eoi();
			if (x.host_vector != HV_TIMER_VECTOR && x.host_vector != HV_KICK_VECTOR)
				hv_printf("virq-hv: host interrupt %d while the guest ran\n",
					  x.host_vector);
			break;
		case VIRQ_VMX_EXIT_HOST_NMI:
			unexpected(v, reason & 0xFFFF, "an NMI of the host");
		case VIRQ_VMX_EXIT_TRIPLE_FAULT:
			unexpected(v, EXIT_TRIPLE_FAULT, "the guest triple-faulted");
		case VIRQ_VMX_EXIT_ENTRY_FAILED:
			vmcs_dump_entry_failure();
			unexpected(v, reason & 0xFFFF, "VM entry failed");
		case VIRQ_VMX_EXIT_APIC_ACCESS:
			apic_access_exit(v, &x);
			break;
		case VIRQ_VMX_EXIT_UNHANDLED:
		default:
			switch (reason & 0xFFFF) {
			case EXIT_IO:
				io_exit(v);
				break;
			case EXIT_CPUID:
				cpuid_exit(v);
				break;
			case EXIT_RDMSR:
			case EXIT_WRMSR:
				msr_exit(v, reason & 0xFFFF);
				break;
			case EXIT_CR_ACCESS:
				cr_exit(v);
				break;
			case EXIT_PREEMPTION_TIMER: /* immediate_exit(): nothing more */
				break;
			case EXIT_EPT_VIOLATION:
				if (fault_ept_hit(v, vmread(GUEST_PHYSICAL_ADDRESS)))
					break;
				mmio_exit(v, vmread(GUEST_PHYSICAL_ADDRESS));
				break;
			default:
				unexpected(v, reason & 0xFFFF, NULL);
			}
		}
	}
}
