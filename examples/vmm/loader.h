/* SPDX-License-Identifier: MIT */
/*
 * loader.h: boot a Multiboot v1 kernel, as QEMU's -kernel does.
 *
 * The caller then starts the boot vCPU in the state the Multiboot spec
 * requires: EAX = MB_BOOT_EAX, EBX = info, EIP = entry, CR0.PE = 1 and
 * CR0.PG = 0, CS a flat 32-bit code segment, DS/ES/FS/GS/SS flat data
 * segments, EFLAGS.IF = 0 and EFLAGS.VM = 0. ESP, GDTR and IDTR are the
 * guest's business (it must set its own before using them).
 */
#ifndef VIRQ_VMM_LOADER_H
#define VIRQ_VMM_LOADER_H

#include <stddef.h>
#include <stdint.h>

/* EAX at entry: tells the kernel a Multiboot v1 loader started it. */
#define MB_BOOT_EAX 0x2BADB002u

/* The info block, cmdline and module live in [MB_INFO_BASE, MB_INFO_END):
 * low RAM that no segment may overlap, below the AP trampoline at 0x8000. */
#define MB_INFO_BASE 0x6000u
#define MB_INFO_END 0x8000u

/* Only RAM below this (the IOAPIC window) is loaded into or reported. */
#define MB_RAM_LIMIT 0xFEC00000ull

struct mb_boot {
	uint32_t entry;    /* EIP to start at (32-bit protected mode, paging off) */
	uint32_t info;     /* guest-physical address of the Multiboot info block (EBX) */
	uint64_t load_end; /* first byte after the highest loaded segment */
};

/*
 * The Multiboot command line QEMU's loader builds for -kernel IMAGE -append
 * CMDLINE: IMAGE exactly as given, one space, then CMDLINE (NULL is taken as
 * ""), so a kernel finds its own name as the first word (argv[0]) and
 * "IMAGE " when there is no CMDLINE. Nothing is quoted: an IMAGE with a space
 * in it reads as two words. Returns a malloc()ed string, or NULL when out of
 * memory.
 */
char *mb_cmdline(const char *image, const char *cmdline);

/*
 * Loads a Multiboot v1 kernel (ELF32 i386 executable with a Multiboot header
 * in its first 8 KiB) into ram[0..ram_size), which is guest-physical 0 on.
 * Every PT_LOAD segment goes to p_paddr, its bss part zeroed. The header may
 * ask for page-aligned modules and memory info (both honoured) and video
 * mode (ignored: no framebuffer); the a.out kludge (flags bit 16) and any
 * other required feature (bits 3-15) are refused.
 *
 * The info block reports memory (mem_lower/mem_upper and a two-entry memory
 * map), the command line, the module and the boot loader name "virq-vmm".
 * cmdline: what follows the image name on the command line, which is
 * mb_cmdline(path, cmdline). module: text of the single module (KEY=VALUE
 * lines, e.g. "NR_CPUS=4\n"), or NULL for none; it is NUL-terminated in
 * guest memory, the NUL not counted in mod_end.
 *
 * Nothing is written to ram unless the whole image checks out. Returns 0,
 * or -1 with a message for the user in err (errlen bytes, may be 0).
 */
int mb_load(const char *path, void *ram, uint64_t ram_size, const char *cmdline, const char *module,
	    struct mb_boot *out, char *err, size_t errlen);

/* Same from an image in memory (for tests), except that cmdline is the
 * whole command line, written as it is (NULL is taken as ""). */
int mb_load_mem(const void *img, size_t len, void *ram, uint64_t ram_size, const char *cmdline,
		const char *module, struct mb_boot *out, char *err, size_t errlen);

#endif /* VIRQ_VMM_LOADER_H */
