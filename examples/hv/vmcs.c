/* SPDX-License-Identifier: MIT */
/*
 * VMX operation and the guest's VMCS: capability checks and VMXON (SDM
 * Vol. 3C 23.7 "Enabling and Entering VMX Operation", 23.8 "Restrictions
 * on VMX Operation"), the controls (24.6 "VM-Execution Control Fields",
 * 24.7 "VM-Exit Control Fields", 24.8 "VM-Entry Control Fields", each
 * setting checked against its capability MSR as Appendix A.3-A.5
 * describe), the host-state area (24.5 "Host-State Area") and a guest-state area (24.4
 * "Guest-State Area") for a Multiboot entry in 32-bit protected mode, and
 * EPT (28.2 "The Extended Page Table Mechanism (EPT)"). Section numbers are
 * those of the 2016-2022 editions; later editions add one to the chapter.
 */
#include "hv.h"

#define MSR_IA32_FEATURE_CONTROL 0x3AU
#define MSR_IA32_EFER 0xC0000080U
#define MSR_VMX_BASIC 0x480U
#define MSR_VMX_MISC 0x485U
#define MSR_VMX_CR0_FIXED0 0x486U
#define MSR_VMX_CR0_FIXED1 0x487U
#define MSR_VMX_CR4_FIXED0 0x488U
#define MSR_VMX_CR4_FIXED1 0x489U
#define MSR_VMX_PROCBASED_CTLS2 0x48BU
#define MSR_VMX_EPT_VPID_CAP 0x48CU

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL

/* Per physical CPU: CPU n runs vCPU n. */
static uint8_t vmxon_region[HV_MAX_CPUS][4096] __attribute__((aligned(4096)));
static uint8_t vmcs_region[HV_MAX_CPUS][4096] __attribute__((aligned(4096)));
static uint8_t msr_bitmap[HV_MAX_CPUS][4096] __attribute__((aligned(4096)));
/* Per vCPU: the top of the EPT tree and the APIC page's table, which
 * follow that vCPU's LAPIC mode; the guest RAM's PD is shared. */
static uint64_t ept_pml4[HV_MAX_CPUS][512] __attribute__((aligned(4096)));
static uint64_t ept_pdpt[HV_MAX_CPUS][512] __attribute__((aligned(4096)));
static uint64_t ept_pd[512] __attribute__((aligned(4096)));
/* 3-4 GiB: only the 4 KiB page at the xAPIC base, the APIC-access page. */
static uint64_t ept_pd_high[HV_MAX_CPUS][512] __attribute__((aligned(4096)));
static uint64_t ept_pt_apic[HV_MAX_CPUS][512] __attribute__((aligned(4096)));
static uint8_t apic_access_page[4096] __attribute__((aligned(4096)));

static bool vmx_true_ctls;

/* VMX instructions: CF (VMfailInvalid) or ZF (VMfailValid) means failure
 * (SDM Vol. 3C 30.2 "Conventions"). */
static int vmx_op_ok(bool failed, const char *what)
{
	if (failed)
		hv_printf("virq-hv: FAIL: %s failed\n", what);
	return failed ? -1 : 0;
}

uint64_t vmread(uint32_t field)
{
	uint64_t v;
	bool bad;

	__asm__ volatile("vmread %2, %0; setna %1"
			 : "=rm"(v), "=qm"(bad)
			 : "r"((uint64_t)field)
			 : "cc");
	if (bad)
		hv_printf("virq-hv: vmread %x failed\n", field);
	return v;
}

void vmwrite(uint32_t field, uint64_t val)
{
	bool bad;

	__asm__ volatile("vmwrite %1, %2; setna %0"
			 : "=qm"(bad)
			 : "rm"(val), "r"((uint64_t)field)
			 : "cc");
	if (bad)
		hv_printf("virq-hv: vmwrite %x <- %lx failed (VM-instruction error %u)\n", field,
			  val, (unsigned)vmread(VM_INSTRUCTION_ERROR));
}

/* A control word with the bits we want: allowed-0 settings forced to 1,
 * every wanted bit checked against the allowed-1 settings (Appendix A.3). */
static bool vmx_ctl_quiet;

static int vmx_ctl(const char *name, uint32_t msr, uint32_t true_msr, uint32_t want, uint32_t *out)
{
	uint64_t cap = rdmsr(vmx_true_ctls && true_msr ? true_msr : msr);
	uint32_t v = (want | (uint32_t)cap) & (uint32_t)(cap >> 32);

	if (!vmx_ctl_quiet)
		hv_printf("virq-hv: %s: capability %016lx, using %08x\n", name, cap, v);
	if ((v & want) != want) {
		hv_printf("virq-hv: FAIL: %s: missing bits %08x\n", name, want & ~v);
		return -1;
	}
	*out = v;
	return 0;
}

int vmx_enable(unsigned cpu)
{
	uint32_t r[4];
	uint64_t fc, basic, cr0, cr4;
	bool bad;

	cpuid(1, 0, r);
	if (!(r[2] & (1U << 5))) {
		hv_printf("virq-hv: FAIL: CPUID.1:ECX.VMX[bit 5] is clear\n");
		return -1;
	}
	/* SDM Vol. 3C 23.7 "Enabling and Entering VMX Operation": lock
	 * bit 0, "VMXON outside SMX" bit 2. */
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	hv_printf("virq-hv: CPUID.1:ECX.VMX set; IA32_FEATURE_CONTROL %lx\n", fc);
	if (!(fc & 1)) {
		fc |= 5;
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
	}
	if (!(fc & 4)) {
		hv_printf("virq-hv: FAIL: IA32_FEATURE_CONTROL locked without VMXON outside SMX\n");
		return -1;
	}
	basic = rdmsr(MSR_VMX_BASIC);
	vmx_true_ctls = basic & (1ULL << 55);
	if (!cpu)
		hv_printf(
			"virq-hv: IA32_VMX_BASIC %lx (revision %x, VMCS %u bytes, memory type %u, "
			"TRUE controls %u); MISC %lx; EPT/VPID cap %lx\n",
			basic, (unsigned)(basic & 0x7FFFFFFF), (unsigned)(basic >> 32 & 0x1FFF),
			(unsigned)(basic >> 50 & 0xF), vmx_true_ctls, rdmsr(MSR_VMX_MISC),
			rdmsr(MSR_VMX_EPT_VPID_CAP));

	/* SDM Vol. 3C 23.8 "Restrictions on VMX Operation": CR0 and CR4
	 * within the FIXED0/FIXED1 bounds. */
	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	cr0 = (cr0 | rdmsr(MSR_VMX_CR0_FIXED0)) & rdmsr(MSR_VMX_CR0_FIXED1);
	cr4 = (cr4 | rdmsr(MSR_VMX_CR4_FIXED0)) & rdmsr(MSR_VMX_CR4_FIXED1);
	__asm__ volatile("mov %0, %%cr0; mov %1, %%cr4" : : "r"(cr0), "r"(cr4));

	*(uint32_t *)vmxon_region[cpu] = (uint32_t)(basic & 0x7FFFFFFF);
	*(uint32_t *)vmcs_region[cpu] = (uint32_t)(basic & 0x7FFFFFFF);
	uint64_t pa = (uint64_t)(uintptr_t)vmxon_region[cpu]; /* identity mapped */
	__asm__ volatile("vmxon %1; setna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
	if (vmx_op_ok(bad, "VMXON"))
		return -1;
	pa = (uint64_t)(uintptr_t)vmcs_region[cpu];
	__asm__ volatile("vmclear %1; setna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
	if (vmx_op_ok(bad, "VMCLEAR"))
		return -1;
	__asm__ volatile("vmptrld %1; setna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
	if (vmx_op_ok(bad, "VMPTRLD"))
		return -1;
	if (!cpu)
		hv_printf("virq-hv: VMXON done, VMCS loaded\n");
	return 0;
}

/* Intercept reads and writes of one MSR (SDM Vol. 3C 24.6.9 "MSR-Bitmap
 * Address": read-low, read-high, write-low, write-high, 1 KiB each). */
static void msr_intercept(uint8_t *bitmap, uint32_t msr)
{
	unsigned base = msr >= 0xC0000000U ? 1024 : 0, bit = msr & 0x1FFF;

	bitmap[base + bit / 8] |= (uint8_t)(1U << (bit % 8));
	bitmap[base + 2048 + bit / 8] |= (uint8_t)(1U << (bit % 8));
}

/* EPT: guest-physical 0..GUEST_RAM_SIZE onto GUEST_RAM_HPA in 2 MiB pages,
 * read/write/execute, write-back (SDM Vol. 3C 28.2.2 "EPT Translation
 * Mechanism", 28.2.6.1 "Memory Type Used for Accessing EPT Paging
 * Structures"). Nothing else is mapped: the LAPIC and I/O APIC pages give
 * EPT violations. Returns the EPT pointer (24.6.11 "Extended-Page-Table Pointer (EPTP)"). */

uint64_t hv_apic_access_page(void)
{
	return (uint64_t)(uintptr_t)apic_access_page;
}

uint8_t *hv_msr_bitmap(unsigned cpu)
{
	return msr_bitmap[cpu];
}

/* Maps (or unmaps) the APIC-access page at the xAPIC base for this CPU's
 * vCPU, then invalidates what this CPU cached of its EPT (INVEPT type 1,
 * single context: SDM Vol. 3C 28.4.3.1 "Operations that Invalidate Cached
 * Mappings"). From the TPR-shadow level the glue sets "virtualize APIC
 * accesses" only while the LAPIC is in xAPIC mode; otherwise the page must
 * not be there, so that an access is an EPT violation the LAPIC answers
 * (all ones while it is disabled) rather than the page's zeros. */
void ept_map_apic_access(unsigned cpu, bool on)
{
	struct {
		uint64_t eptp, reserved;
	} desc = { (uint64_t)(uintptr_t)ept_pml4[cpu] | 6 | (3 << 3), 0 };
	bool bad;

	ept_pt_apic[cpu][(GUEST_LAPIC_GPA >> 12) & 511] =
		on ? (uint64_t)(uintptr_t)apic_access_page | 3 : 0;
	__asm__ volatile("invept %1, %2; setna %0"
			 : "=qm"(bad)
			 : "m"(desc), "r"((uint64_t)1)
			 : "cc", "memory");
	if (bad)
		hv_printf("virq-hv: INVEPT failed\n");
}

static int ept_setup(unsigned cpu, uint64_t *eptp)
{
	uint64_t cap = rdmsr(MSR_VMX_EPT_VPID_CAP);

	/* bit 6: 4-level walk, bit 14: WB, bit 16: 2 MiB pages */
	if ((cap & 0x14040) != 0x14040) {
		hv_printf("virq-hv: FAIL: EPT capability %lx lacks 4 levels, WB or 2 MiB pages\n",
			  cap);
		return -1;
	}
	ept_pml4[cpu][0] = (uint64_t)(uintptr_t)ept_pdpt[cpu] | 7;
	ept_pdpt[cpu][0] = (uint64_t)(uintptr_t)ept_pd | 7;
	for (uint64_t i = 0; i < GUEST_RAM_SIZE >> 21; i++)
		ept_pd[i] = (GUEST_RAM_HPA + (i << 21)) | 7 | (6 << 3) | (1 << 7);
	/* The APIC-access page at the default xAPIC base, read/write,
	 * uncacheable: from the TPR-shadow level, "virtualize APIC accesses"
	 * turns the guest's accesses to it into APIC-access exits or
	 * virtualized accesses (SDM Vol. 3C 29.4 "Virtualizing Memory-Mapped
	 * APIC Accesses"), and exit.c maps it (ept_map_apic_access()) while the
	 * vCPU's LAPIC is in xAPIC mode; at the injection level it stays
	 * unmapped and accesses are EPT violations. A base the guest moves
	 * elsewhere is served by EPT violations at every level. */
	ept_pdpt[cpu][3] = (uint64_t)(uintptr_t)ept_pd_high[cpu] | 7;
	ept_pd_high[cpu][(GUEST_LAPIC_GPA >> 21) & 511] = (uint64_t)(uintptr_t)ept_pt_apic[cpu] | 7;
	*eptp = (uint64_t)(uintptr_t)ept_pml4[cpu] | 6 | (3 << 3);
	return 0;
}

static void guest_segment(unsigned i, uint16_t sel, uint32_t limit, uint32_t ar)
{
	vmwrite(GUEST_ES_SELECTOR + 2 * i, sel);
	vmwrite(GUEST_ES_BASE + 2 * i, 0);
	vmwrite(GUEST_ES_LIMIT + 2 * i, limit);
	vmwrite(GUEST_ES_AR + 2 * i, ar);
}

int vmcs_setup(unsigned cpu, uint32_t entry)
{
	uint32_t pin, proc, proc2, exit, entryc;
	uint64_t eptp, cr0, cr3, cr4, fixed0;
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr, idtr;

	/* Pin: external-interrupt and NMI exiting (the host's own events must
	 * not reach the guest's IDT). Primary: HLT exiting (bit 7), CR8-load
	 * and CR8-store exiting (19, 20: the guest's TPR is the LAPIC's),
	 * unconditional I/O exiting (24), MSR bitmaps (28), secondary (31).
	 * Secondary: EPT (1), unrestricted guest (7). Exit: host address-space
	 * size (9), acknowledge interrupt (15), save/load IA32_EFER (20, 21).
	 * Entry: load IA32_EFER (15). */
	vmx_ctl_quiet = cpu != 0;
	if (vmx_ctl("pin-based", 0x481, 0x48D, 0x9, &pin) ||
	    vmx_ctl("primary", 0x482, 0x48E, 0x91180080U, &proc) ||
	    vmx_ctl("secondary", MSR_VMX_PROCBASED_CTLS2, 0, 0x82, &proc2) ||
	    vmx_ctl("exit", 0x483, 0x48F, 0x308200, &exit) ||
	    vmx_ctl("entry", 0x484, 0x490, 0x8000, &entryc) || ept_setup(cpu, &eptp))
		return -1;
	vmwrite(PIN_BASED_CONTROLS, pin);
	vmwrite(PROC_BASED_CONTROLS, proc);
	vmwrite(SECONDARY_CONTROLS, proc2);
	vmwrite(VM_EXIT_CONTROLS, exit);
	vmwrite(VM_ENTRY_CONTROLS, entryc);
	vmwrite(EXCEPTION_BITMAP, 0);
	vmwrite(EPT_POINTER, eptp);
	msr_intercept(msr_bitmap[cpu], 0x1B);  /* IA32_APIC_BASE: the LAPIC's */
	msr_intercept(msr_bitmap[cpu], 0x6E0); /* IA32_TSC_DEADLINE: the LAPIC's */
	for (uint32_t m = 0x800; m <= 0x8FF; m++)
		msr_intercept(msr_bitmap[cpu], m); /* x2APIC: the LAPIC's */
	vmwrite(MSR_BITMAP, (uint64_t)(uintptr_t)msr_bitmap[cpu]);
	vmwrite(VMCS_LINK_POINTER, ~0ULL);

	/* Host state (SDM Vol. 3C 24.5 "Host-State Area"): what we run now. */
	__asm__ volatile("mov %%cr0, %0; mov %%cr3, %1; mov %%cr4, %2; sgdt %3; sidt %4"
			 : "=r"(cr0), "=r"(cr3), "=r"(cr4), "=m"(gdtr), "=m"(idtr));
	vmwrite(HOST_CR0, cr0);
	vmwrite(HOST_CR3, cr3);
	vmwrite(HOST_CR4, cr4);
	for (unsigned i = 0; i < 6; i++)
		vmwrite(HOST_ES_SELECTOR + 2 * i, i == 1 ? 0x08 : 0x10);
	vmwrite(HOST_TR_SELECTOR, cpu ? 0x30 + 16 * (cpu - 1) : 0x18);
	vmwrite(HOST_FS_BASE, 0);
	vmwrite(HOST_GS_BASE, 0);
	vmwrite(HOST_TR_BASE, (uint64_t)(uintptr_t)(cpu ? ap_tss[cpu] : tss));
	vmwrite(HOST_GDTR_BASE, gdtr.base);
	vmwrite(HOST_IDTR_BASE, idtr.base);
	vmwrite(HOST_SYSENTER_CS, 0);
	vmwrite(HOST_SYSENTER_ESP, 0);
	vmwrite(HOST_SYSENTER_EIP, 0);
	vmwrite(HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	vmwrite(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit);

	/* Guest state: the Multiboot machine state (Multiboot Specification
	 * 3.2 "Machine state"): flat 32-bit code and data segments, CR0.PE=1, CR0.PG=0, which
	 * unrestricted guest allows (SDM Vol. 3C 26.3.1.1 "Checks on Guest
	 * Control Registers, Debug Registers, and MSRs"). The bits VMX fixes
	 * (CR0.NE, CR4.VMXE) are owned by the host through the guest/host
	 * masks, and the guest reads them as Multiboot left them (24.6.6
	 * "Guest/Host Masks and Read Shadows for CR0 and CR4"). */
	fixed0 = rdmsr(MSR_VMX_CR0_FIXED0) & ~(CR0_PE | CR0_PG);
	vmwrite(GUEST_CR0, fixed0 | CR0_PE | CR0_ET);
	vmwrite(CR0_GUEST_HOST_MASK, fixed0);
	vmwrite(CR0_READ_SHADOW, CR0_PE | CR0_ET);
	vmwrite(GUEST_CR4, rdmsr(MSR_VMX_CR4_FIXED0));
	vmwrite(CR4_GUEST_HOST_MASK, rdmsr(MSR_VMX_CR4_FIXED0));
	vmwrite(CR4_READ_SHADOW, 0);
	vmwrite(GUEST_CR3, 0);
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_IA32_EFER, 0);
	/* ES CS SS DS FS GS: accessed, present, G=1, D/B=1 (24.4.1 "Guest Register State"). */
	for (unsigned i = 0; i < 6; i++)
		guest_segment(i, i == 1 ? 0x08 : 0x10, 0xFFFFFFFFU, i == 1 ? 0xC09B : 0xC093);
	guest_segment(6, 0, 0, 0x10000); /* LDTR unusable */
	guest_segment(7, 0, 0x67, 0x8B); /* TR: busy 32-bit TSS, as VM entry requires */
	vmwrite(GUEST_GDTR_BASE, 0);
	vmwrite(GUEST_GDTR_LIMIT, 0xFFFF);
	vmwrite(GUEST_IDTR_BASE, 0);
	vmwrite(GUEST_IDTR_LIMIT, 0xFFFF);
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);
	vmwrite(GUEST_RSP, 0);
	vmwrite(GUEST_RIP, entry);
	vmwrite(GUEST_RFLAGS, 0x2);
	vmwrite(GUEST_PENDING_DBG, 0);
	vmwrite(GUEST_INTERRUPTIBILITY, 0);
	vmwrite(GUEST_ACTIVITY_STATE, 0);
	return 0;
}

/* A start-up IPI: the vCPU begins in real mode at vector << 12 (SDM Vol. 3A
 * 9.4.4.1 "Typical BSP Initialization Sequence": CS selector vector << 8,
 * base vector << 12, IP 0), with the INIT state of everything else (Table
 * 9-1 "IA-32 and Intel 64 Processor States Following Power-up, Reset, or
 * INIT"), which unrestricted guest lets the VMCS hold as it is (26.3.1.2
 * "Checks on Guest Segment Registers"). */
void vmcs_start_real_mode(uint8_t vector)
{
	uint64_t fixed0 = rdmsr(MSR_VMX_CR0_FIXED0) & ~(CR0_PE | CR0_PG);

	vmwrite(GUEST_CR0, fixed0 | CR0_ET);
	vmwrite(CR0_READ_SHADOW, 0x60000010ULL);
	vmwrite(GUEST_CR4, rdmsr(MSR_VMX_CR4_FIXED0));
	vmwrite(CR4_READ_SHADOW, 0);
	vmwrite(GUEST_CR3, 0);
	vmwrite(GUEST_IA32_EFER, 0);
	/* IA-32e mode guest (entry control bit 9) follows EFER.LMA, 0 now. */
	vmwrite(VM_ENTRY_CONTROLS, vmread(VM_ENTRY_CONTROLS) & ~(1ULL << 9));
	for (unsigned i = 0; i < 6; i++) {
		uint16_t sel = i == 1 ? (uint16_t)(vector << 8) : 0;

		vmwrite(GUEST_ES_SELECTOR + 2 * i, sel);
		vmwrite(GUEST_ES_BASE + 2 * i, (uint64_t)sel << 4);
		vmwrite(GUEST_ES_LIMIT + 2 * i, 0xFFFF);
		vmwrite(GUEST_ES_AR + 2 * i, i == 1 ? 0x9B : 0x93);
	}
	vmwrite(GUEST_ES_SELECTOR + 12, 0);
	vmwrite(GUEST_ES_BASE + 12, 0);
	vmwrite(GUEST_ES_LIMIT + 12, 0xFFFF);
	vmwrite(GUEST_ES_AR + 12, 0x10000); /* LDTR unusable */
	vmwrite(GUEST_ES_SELECTOR + 14, 0);
	vmwrite(GUEST_ES_BASE + 14, 0);
	vmwrite(GUEST_ES_LIMIT + 14, 0xFFFF);
	vmwrite(GUEST_ES_AR + 14, 0x8B); /* TR: busy 32-bit TSS, as VM entry requires */
	vmwrite(GUEST_GDTR_BASE, 0);
	vmwrite(GUEST_GDTR_LIMIT, 0xFFFF);
	vmwrite(GUEST_IDTR_BASE, 0);
	vmwrite(GUEST_IDTR_LIMIT, 0xFFFF);
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_RSP, 0);
	vmwrite(GUEST_RIP, 0);
	vmwrite(GUEST_RFLAGS, 0x2);
	vmwrite(GUEST_INTERRUPTIBILITY, 0);
	vmwrite(GUEST_ACTIVITY_STATE, 0);
	vmwrite(GUEST_PENDING_DBG, 0);
}

void vmcs_dump_entry_failure(void)
{
	hv_printf("virq-hv: guest CR0 %lx CR4 %lx EFER %lx RIP %lx RFLAGS %lx entry controls %lx "
		  "CS AR %lx TR AR %lx\n",
		  vmread(GUEST_CR0), vmread(GUEST_CR4), vmread(GUEST_IA32_EFER), vmread(GUEST_RIP),
		  vmread(GUEST_RFLAGS), vmread(VM_ENTRY_CONTROLS), vmread(GUEST_ES_AR + 2),
		  vmread(GUEST_ES_AR + 14));
}

/* The EPT page directory of guest-physical 0-1 GiB (2 MiB entries), for
 * fault.c's fault-once page. */
uint64_t *ept_guest_pd(void)
{
	return ept_pd;
}
