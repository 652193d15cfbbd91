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
	hv_printf("virq-hv: %lu VM exits: %lu I/O, %lu CPUID, %lu MSR, %lu other\n", v->exits,
		  v->exits_io, v->exits_cpuid, v->exits_msr,
		  v->exits - v->exits_io - v->exits_cpuid - v->exits_msr);
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
		item = 1;
		len = 2;
	}
	return off < len ? (uint8_t)(item >> (8 * off)) : 0;
}

/* I/O instruction exit qualification (SDM Vol. 3C 27.2.1, Table 27-5):
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
	if (in) {
		if (port == 0x3FD) /* COM1 LSR: THR and transmitter empty */
			res = 0x60;
		else if (port >= 0x3F8 && port <= 0x3FF)
			res = 0;
		else if (port == 0x511)
			res = fwcfg_byte(v);
		if (size == 4)
			v->regs.rax = res;
		else
			v->regs.rax = (v->regs.rax & ~((1ULL << (8 * size)) - 1)) |
				      (res & ((1ULL << (8 * size)) - 1));
		return;
	}
	switch (port) {
	case 0x3F8: /* COM1 THR: the guest's output, forwarded to port 0xE9 */
		outb(0xE9, (uint8_t)val);
		break;
	case 0xF4: /* isa-debug-exit: the VMM's status is (value << 1) | 1, as QEMU's */
		hv_printf("virq-hv: guest wrote %u to isa-debug-exit\n", val & 0xFF);
		stats(v);
		hv_exit((val & 0xFF) <= 61 ? (int)((val & 0xFF) << 1 | 1) : HV_FAILED);
	case 0x510:
		v->fwcfg_key = (uint16_t)val;
		v->fwcfg_off = 0;
		break;
	default: /* 8259 masks, the shutdown port, COM1 setup: ignored */
		break;
	}
}

static void cpuid_exit(struct vcpu *v)
{
	uint32_t r[4];

	v->exits_cpuid++;
	cpuid((uint32_t)v->regs.rax, (uint32_t)v->regs.rcx, r);
	if ((uint32_t)v->regs.rax == 1)
		r[2] &= ~(1U << 5); /* no VMX for the guest */
	v->regs.rax = r[0];
	v->regs.rbx = r[1];
	v->regs.rcx = r[2];
	v->regs.rdx = r[3];
}

static void msr_exit(struct vcpu *v, unsigned reason)
{
	uint32_t msr = (uint32_t)v->regs.rcx;

	v->exits_msr++;
	if (reason == EXIT_RDMSR && msr == 0x1B) {
		uint64_t val = hv_apic_base(); /* from the libvirq LAPIC */

		v->regs.rax = (uint32_t)val;
		v->regs.rdx = val >> 32;
		return;
	}
	hv_printf("virq-hv: %s of MSR %x (ECX) needs the LAPIC in the VMX glue, not wired yet\n",
		  reason == EXIT_RDMSR ? "RDMSR" : "WRMSR", msr);
	unexpected(v, reason, "MSR not emulated");
}

static const char *hlt_why(void)
{
	if (!(vmread(GUEST_RFLAGS) & 0x200))
		return "the guest halted with RFLAGS.IF=0: nothing can wake it";
	return "the guest waits for an interrupt; no interrupt controller is wired into the "
	       "VMX glue yet";
}

static const char *ept_why(void)
{
	uint64_t page = vmread(GUEST_PHYSICAL_ADDRESS) & ~0xFFFULL;

	if (page == GUEST_LAPIC_GPA)
		return "LAPIC page: no LAPIC is wired into the VMX glue yet";
	if (page == GUEST_IOAPIC_GPA)
		return "I/O APIC page: no I/O APIC is wired into the VMX glue yet";
	return "outside guest RAM";
}

void vcpu_loop(struct vcpu *v)
{
	int launched = 0;

	for (;;) {
		uint32_t reason;

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
		/* 26.7 "VM-Entry Failures During or After Loading Guest State" */
		if (reason & 0x80000000U) {
			vmcs_dump_entry_failure();
			unexpected(v, reason & 0xFFFF, NULL);
		}
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
		case EXIT_HLT:
			unexpected(v, EXIT_HLT, hlt_why());
		case EXIT_EPT_VIOLATION:
			unexpected(v, EXIT_EPT_VIOLATION, ept_why());
		default:
			unexpected(v, reason & 0xFFFF, NULL);
		}
		/* Handled: step over the instruction (27.2.4 "Information for VM
		 * Exits Due to Instruction Execution"). */
		vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSTRUCTION_LENGTH));
	}
}
