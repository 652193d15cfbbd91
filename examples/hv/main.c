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
 * and virq-vmm give it). The guest starts at its entry in 32-bit protected
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

static struct vcpu vcpu0;

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

void hv_main(void)
{
	const struct mb_info *mi = (const struct mb_info *)(uintptr_t)mb_info;
	const struct mb_module *mod;
	uint32_t entry, level = VIRQ_VMX_LEVEL_INJECT;

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
	if (mod->end >= GUEST_RAM_HPA) {
		hv_printf("virq-hv: FAIL: the guest module overlaps the guest RAM block\n");
		hv_exit(2);
	}
	vcpu0.cmdline = mod->string ? (const char *)(uintptr_t)mod->string : "guest";
	vcpu0.no_virtual_wire = hv_cmdline_has(mi, "no-virtual-wire");
	if (hv_cmdline_has(mi, "mode=tpr-shadow")) {
		level = VIRQ_VMX_LEVEL_TPR_SHADOW;
	} else if (hv_cmdline_has(mi, "mode=apicv")) {
		level = VIRQ_VMX_LEVEL_APICV;
	} else if (!hv_cmdline_has(mi, "mode=inject") && hv_cmdline_has_prefix(mi, "mode=")) {
		hv_printf(
			"virq-hv: FAIL: unknown mode (mode=inject, mode=tpr-shadow, mode=apicv)\n");
		hv_exit(2);
	}
	if (hv_virq_init() || vmx_enable() ||
	    guest_load((const void *)(uintptr_t)mod->start, mod->end - mod->start, vcpu0.cmdline,
		       &entry) ||
	    vmcs_setup(entry) || hv_vcpu_init(&vcpu0, 0, level))
		hv_exit(2);
	vcpu0.regs.rax = 0x2BADB002U;
	vcpu0.regs.rbx = GUEST_MBI_GPA;
	hv_printf("virq-hv: entering the guest\n");
	vcpu_loop(&vcpu0);
}
