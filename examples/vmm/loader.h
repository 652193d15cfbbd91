/* SPDX-License-Identifier: MIT */
/*
 * loader.h: boot a Multiboot v1 kernel, as QEMU's -kernel does, or a Linux
 * bzImage through the Linux x86 boot protocol's 32-bit entry (bz_load()).
 *
 * Multiboot:
 * The caller then starts the boot vCPU in the state the Multiboot spec
 * requires: EAX = MB_BOOT_EAX, EBX = info, EIP = entry, CR0.PE = 1 and
 * CR0.PG = 0, CS a flat 32-bit code segment, DS/ES/FS/GS/SS flat data
 * segments, EFLAGS.IF = 0 and EFLAGS.VM = 0. ESP, GDTR and IDTR are the
 * guest's business (it must set its own before using them).
 */
#ifndef VIRQ_VMM_LOADER_H
#define VIRQ_VMM_LOADER_H

#include <stdbool.h>
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

/* ---- Linux bzImage (Linux x86 boot protocol 2.10 or later, 32-bit entry) ----
 *
 * Guest-physical layout (everything below 1 MiB sits in e820 RAM except
 * 0x9F000 - 0x100000, which the e820 map reserves for the platform tables):
 *   BZ_GDT        the boot GDT: null, null, 0x10 flat code, 0x18 flat data
 *   BZ_ZERO_PAGE  struct boot_params (4 KiB), ESI at entry
 *   BZ_CMDLINE    the kernel command line, NUL-terminated
 *   BZ_KERNEL     the protected-mode part of the image (after the setup
 *                 sectors), entered at code32_start
 *   initrd        page-aligned, as high as RAM and initrd_addr_max allow,
 *                 above the kernel's decompression buffer
 *
 * The caller starts the boot vCPU as the 32-bit boot protocol requires:
 * CR0.PE = 1, CR0.PG = 0, GDTR = { BZ_GDT, BZ_GDT_LIMIT }, CS = BZ_BOOT_CS,
 * DS = ES = SS = BZ_BOOT_DS (all flat 4 GiB), EFLAGS.IF = 0, ESI = zero_page,
 * EBP = EDI = EBX = 0, EIP = entry.
 */
#define BZ_GDT 0x5000u
#define BZ_GDT_LIMIT 0x1Fu /* four 8-byte descriptors */
#define BZ_ZERO_PAGE 0x7000u
#define BZ_CMDLINE 0x20000u
#define BZ_CMDLINE_MAX 0x10000u /* bytes with the NUL */
#define BZ_KERNEL 0x100000u
#define BZ_BOOT_CS 0x10u
#define BZ_BOOT_DS 0x18u

/* The e820 map in the zero page: RAM 0 - BZ_LOW_RAM_END, reserved up to
 * 1 MiB (EBDA, BIOS area: the MP table lives there), RAM from 1 MiB to the
 * end of guest RAM, and the I/O APIC and LAPIC pages reserved. --mem stays
 * below the I/O APIC window (3 GiB at most), so there is no RAM above 4 GiB. */
#define BZ_LOW_RAM_END 0x9F000u
#define BZ_IOAPIC_BASE 0xFEC00000u
#define BZ_LAPIC_BASE 0xFEE00000u
#define BZ_E820_ENTRIES 5u

/* struct boot_params offsets (Linux's Documentation/x86/zero-page.rst and
 * boot.rst, "The real-mode kernel header"). */
#define BZ_ZP_E820_ENTRIES 0x1E8u
#define BZ_ZP_SETUP_SECTS 0x1F1u
#define BZ_ZP_SYSSIZE 0x1F4u
#define BZ_ZP_BOOT_FLAG 0x1FEu
#define BZ_ZP_JUMP 0x200u
#define BZ_ZP_HEADER 0x202u
#define BZ_ZP_VERSION 0x206u
#define BZ_ZP_TYPE_OF_LOADER 0x210u
#define BZ_ZP_LOADFLAGS 0x211u
#define BZ_ZP_CODE32_START 0x214u
#define BZ_ZP_RAMDISK_IMAGE 0x218u
#define BZ_ZP_RAMDISK_SIZE 0x21Cu
#define BZ_ZP_HEAP_END_PTR 0x224u
#define BZ_ZP_CMD_LINE_PTR 0x228u
#define BZ_ZP_INITRD_ADDR_MAX 0x22Cu
#define BZ_ZP_CMDLINE_SIZE 0x238u
#define BZ_ZP_PREF_ADDRESS 0x258u
#define BZ_ZP_INIT_SIZE 0x260u
#define BZ_ZP_HDR_END_MAX 0x290u /* the setup header may not run past this */
#define BZ_ZP_E820_TABLE 0x2D0u

#define BZ_HDRS_MAGIC 0x53726448u /* "HdrS" */
#define BZ_MIN_VERSION 0x020Au
#define BZ_LOADED_HIGH 0x01u
#define BZ_CAN_USE_HEAP 0x80u
#define BZ_HEAP_END_PTR 0xFE00u
#define BZ_TYPE_OF_LOADER 0xFFu /* "undefined" boot loader */

#define E820_RAM 1u
#define E820_RESERVED 2u

struct bz_boot {
	uint32_t entry;       /* EIP: code32_start */
	uint32_t zero_page;   /* ESI: BZ_ZERO_PAGE */
	uint64_t kernel_end;  /* end of the kernel's load and decompression span */
	uint32_t initrd_addr; /* 0 without an initrd */
	uint32_t initrd_size;
	uint16_t version; /* boot protocol version of the image */
};

/*
 * Whether img looks like a bzImage: boot_flag 0xAA55 and "HdrS" in place.
 * Only a probe: bz_load_mem() checks the rest.
 */
bool bz_probe(const void *img, size_t len);

/*
 * Loads a bzImage into ram[0..ram_size) (guest-physical 0 on) for the
 * 32-bit boot protocol: the protected-mode part at BZ_KERNEL, the zero page
 * (the image's setup header, type_of_loader 0xFF, CAN_USE_HEAP with
 * heap_end_ptr 0xFE00, cmd_line_ptr, ramdisk_image/ramdisk_size, the e820
 * map), the command line (NULL is taken as "") and the GDT.
 * initrd may be NULL (initrd_len then 0); an initrd of 0 bytes is refused.
 *
 * The image and the initrd are untrusted: magic, protocol version
 * (>= 2.10), LOADED_HIGH, setup_sects (0 means 4), the setup header's
 * length, syssize, code32_start, init_size and pref_address are checked
 * against the file and RAM, the command line against cmdline_size, the
 * initrd against initrd_addr_max, RAM and the kernel's span. Nothing is
 * written to ram unless everything checks out. Returns 0, or -1 with a
 * message for the user in err (errlen bytes, may be 0).
 */
int bz_load_mem(const void *img, size_t len, const void *initrd, size_t initrd_len, void *ram,
		uint64_t ram_size, const char *cmdline, struct bz_boot *out, char *err,
		size_t errlen);

/* Same from files (initrd_path NULL for none). */
int bz_load(const char *path, const char *initrd_path, void *ram, uint64_t ram_size,
	    const char *cmdline, struct bz_boot *out, char *err, size_t errlen);

#endif /* VIRQ_VMM_LOADER_H */
