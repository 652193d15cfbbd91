/* SPDX-License-Identifier: MIT */
/*
 * virq-hv: a thin hypervisor, booted as a Multiboot v1 kernel (under Bochs
 * by scripts/bochs.sh), that runs one guest in VMX non-root operation.
 *
 *   scripts/bochs.sh [--cmdline 'mode=M'] build/examples/hv/virq-hv.elf 'GUEST.elf [words]'
 *
 * Words of its own command line: mode=inject (the default), mode=tpr-shadow
 * or mode=apicv, the VMX glue's delivery level (virq_vmx_config::level);
 * no-virtual-wire, to start the BSP's LAPIC in its reset state instead of
 * the virtual-wire mode PC firmware leaves.
 *
 * The first Multiboot module is the guest, an ELF Multiboot kernel; the
 * module's string is the guest's command line ("GUEST.elf words", as QEMU
 * and virq-vmm give it). A second module, if any, becomes the guest's own
 * Multiboot module (the KEY=VALUE lines of virq-vmm --env). The guest starts at its entry in 32-bit protected
 * mode with EAX = 0x2BADB002 and EBX = its Multiboot information, in 32 MiB
 * of RAM mapped by EPT, on the platform of tests/guests/README.md, with
 * libvirq's LAPIC, I/O APIC and 8259 pair as its interrupt controllers
 * (virq.c) and one vCPU (exit.c says what is emulated).
 *
 * Result line (scripts/bochs.sh): "bochs-exit: N" with N = (value << 1) | 1
 * for the guest's isa-debug-exit value, as QEMU exits; 2 when the hv failed
 * (no VMX, a failed VM entry, an unexpected VM exit: each reported first).
 */
#include "hv.h"

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};

struct mb_module {
	uint32_t start, end, string, reserved;
};

struct vcpu vcpus[HV_MAX_CPUS];
unsigned nr_vcpus = 1;
static uint32_t vmx_level = VIRQ_VMX_LEVEL_INJECT;
static volatile uint32_t aps_ready, aps_failed;

/* Whether the hv's own command line has the word w (prefix: a word that
 * starts with w). */
static bool cmdline_word(const struct mb_info *mi, const char *w, bool prefix)
{
	const char *p = mi->flags & 4 ? (const char *)(uintptr_t)mi->cmdline : "";

	while (*p) {
		const char *a = p, *b = w;

		while (*a && *a != ' ' && *b && *a == *b)
			a++, b++;
		if (!*b && (prefix || !*a || *a == ' '))
			return true;
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	return false;
}

static bool hv_cmdline_has(const struct mb_info *mi, const char *w)
{
	return cmdline_word(mi, w, false);
}

static bool hv_cmdline_has_prefix(const struct mb_info *mi, const char *w)
{
	return cmdline_word(mi, w, true);
}

/* Starts the other physical CPUs (MultiProcessor Specification B.4 "AP
 * Startup": INIT, then start-up IPIs) through the host's own LAPIC, at the
 * trampoline copied to 0x8000, and waits until each has its vCPU ready. */
static void start_aps(void)
{
	volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)0xFEE00000ULL;
	uint8_t *dst = (uint8_t *)(uintptr_t)0x8000;
	uint64_t t0;

	for (const uint8_t *p = tramp_start; p < tramp_end; p++)
		*dst++ = *p;
	apic[0x310 / 4] = 0;
	apic[0x300 / 4] = 0x000C4500; /* INIT, assert, all excluding self */
	for (t0 = rdtsc(); rdtsc() - t0 < 100000;)
		__asm__ volatile("pause");
	for (unsigned i = 0; i < 2; i++) {
		apic[0x300 / 4] = 0x000C4608; /* start-up, vector 0x08, all excluding self */
		for (t0 = rdtsc(); rdtsc() - t0 < 20000;)
			__asm__ volatile("pause");
	}
	for (t0 = rdtsc(); aps_ready + aps_failed < nr_vcpus - 1;) {
		if (rdtsc() - t0 > 2000000000ULL) {
			hv_printf("virq-hv: FAIL: %u of %u APs ready (does Bochs have %u CPUs?)\n",
				  aps_ready, nr_vcpus - 1, nr_vcpus);
			hv_exit(2);
		}
		__asm__ volatile("pause");
	}
	if (aps_failed)
		hv_exit(2);
}

void hv_main(void)
{
	const struct mb_info *mi = (const struct mb_info *)(uintptr_t)mb_info;
	const struct mb_module *mod;
	uint32_t entry;
	struct vcpu *bsp = &vcpus[0];

	/* The BIOS leaves the 8259s unmasked with the PIT ticking. */
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
	hv_printf("virq-hv: started, command line \"%s\"\n",
		  mi->flags & 4 ? (const char *)(uintptr_t)mi->cmdline : "");
	if (mb_magic != 0x2BADB002U || !(mi->flags & 8) || mi->mods_count < 1) {
		hv_printf("virq-hv: FAIL: no guest: give it as the first Multiboot module\n");
		hv_exit(2);
	}
	if ((mi->flags & 1) &&
	    ((uint64_t)mi->mem_upper + 1024) * 1024 < GUEST_RAM_HPA + GUEST_RAM_SIZE) {
		hv_printf("virq-hv: FAIL: %u KiB of RAM; guest RAM needs up to %lu MiB\n",
			  mi->mem_upper + 1024, (GUEST_RAM_HPA + GUEST_RAM_SIZE) >> 20);
		hv_exit(2);
	}
	mod = (const struct mb_module *)(uintptr_t)mi->mods_addr;
	if (mod[mi->mods_count > 1 ? 1 : 0].end >= GUEST_RAM_HPA) {
		hv_printf("virq-hv: FAIL: the guest module overlaps the guest RAM block\n");
		hv_exit(2);
	}
	bsp->cmdline = mod->string ? (const char *)(uintptr_t)mod->string : "guest";
	bsp->no_virtual_wire = hv_cmdline_has(mi, "no-virtual-wire");
	for (unsigned n = 2; n <= HV_MAX_CPUS; n++) {
		char w[8] = "smp=0";

		w[4] = (char)('0' + n);
		if (hv_cmdline_has(mi, w))
			nr_vcpus = n;
	}
	if (hv_cmdline_has(mi, "mode=tpr-shadow")) {
		vmx_level = VIRQ_VMX_LEVEL_TPR_SHADOW;
	} else if (hv_cmdline_has(mi, "mode=apicv")) {
		vmx_level = VIRQ_VMX_LEVEL_APICV;
	} else if (!hv_cmdline_has(mi, "mode=inject") && hv_cmdline_has_prefix(mi, "mode=")) {
		hv_printf(
			"virq-hv: FAIL: unknown mode (mode=inject, mode=tpr-shadow, mode=apicv)\n");
		hv_exit(2);
	}
	if (hv_virq_init(nr_vcpus) || vmx_enable(0) ||
	    guest_load((const void *)(uintptr_t)mod->start, mod->end - mod->start, bsp->cmdline,
		       mi->mods_count > 1 ? (const void *)(uintptr_t)mod[1].start : NULL,
		       mi->mods_count > 1 ? mod[1].end - mod[1].start : 0, &entry) ||
	    vmcs_setup(0, entry) || hv_vcpu_init(bsp, 0, vmx_level))
		hv_exit(2);
	if (nr_vcpus > 1)
		start_aps();
	bsp->regs.rax = 0x2BADB002U;
	bsp->regs.rbx = GUEST_MBI_GPA;
	hv_printf("virq-hv: entering the guest (%u vCPU%s)\n", nr_vcpus, nr_vcpus > 1 ? "s" : "");
	vcpu_loop(bsp);
}

/* AP n (boot.S, in long mode on its own stack): its TSS, VMX operation and
 * VMCS, its vCPU; then it runs that vCPU, which waits for the guest's
 * start-up IPI. */
void ap_main(unsigned cpu)
{
	uint8_t *d = gdt + 0x30 + 16 * (cpu - 1);
	uint64_t base = (uint64_t)(uintptr_t)ap_tss[cpu];
	uint16_t sel = (uint16_t)(0x30 + 16 * (cpu - 1));

	if (cpu >= nr_vcpus) {
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	/* 64-bit TSS descriptor, available (SDM Vol. 3A 8.2.3 "TSS Descriptor
	 * in 64-bit mode"). */
	d[0] = 0x67;
	d[1] = 0;
	d[2] = (uint8_t)base;
	d[3] = (uint8_t)(base >> 8);
	d[4] = (uint8_t)(base >> 16);
	d[5] = 0x89;
	d[6] = 0;
	d[7] = (uint8_t)(base >> 24);
	for (unsigned i = 0; i < 4; i++)
		d[8 + i] = (uint8_t)(base >> (32 + 8 * i));
	__asm__ volatile("ltr %0" : : "r"(sel));
	idt_init();
	host_timer_init();
	if (vmx_enable(cpu) || vmcs_setup(cpu, 0) || hv_vcpu_init(&vcpus[cpu], cpu, vmx_level)) {
		__atomic_fetch_add(&aps_failed, 1, __ATOMIC_SEQ_CST);
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	__atomic_fetch_add(&aps_ready, 1, __ATOMIC_SEQ_CST);
	vcpu_loop(&vcpus[cpu]);
}
