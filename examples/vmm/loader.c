/* SPDX-License-Identifier: MIT */
/*
 * loader.c: Multiboot v1 kernel loading, like QEMU's -kernel (the command
 * line too: the image's name first, then the -append text).
 *
 * The image is untrusted: every offset and size read from it is checked
 * against the file length or guest RAM, in 64-bit arithmetic so that no
 * 32-bit field sum can wrap. All checks run before the first byte is
 * written to guest RAM.
 *
 * Low-memory layout of what we hand the kernel (all in one page pair):
 *   0x6000  info block (fields we do not fill stay zero)
 *           memory map, module struct, loader name, module name, cmdline
 *   0x7000  module text if the kernel asked for page alignment
 *   0x8000  end: guests put their AP trampoline here
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "util.h"

/* The ELF fields and the guest's structures are little-endian, like us. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "x86 hosts only");

#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_SEARCH_LEN 8192
#define MB_HDR_PAGE_ALIGN (1u << 0) /* modules page-aligned: honoured */
#define MB_HDR_MEMINFO (1u << 1)    /* mem_* fields: always given */
#define MB_HDR_VIDEO (1u << 2)      /* video mode: ignored (no framebuffer) */
#define MB_HDR_AOUT_KLUDGE (1u << 16)

/* Guest structures (Multiboot 0.6.96, section 3.3 "Boot information format"). */
#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper; /* KiB below 640 KiB, KiB from 1 MiB */
	uint32_t boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name, apm_table;
	uint32_t vbe_and_framebuffer[11]; /* flags bits 11 and 12 stay clear */
};
_Static_assert(sizeof(struct mb_info) == 116, "Multiboot info layout");

struct mb_mmap_entry {
	uint32_t size; /* of the rest of the entry: 20 */
	uint64_t base, len;
	uint32_t type; /* 1: available RAM */
} __attribute__((packed));
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "Multiboot memory map entry layout");

struct mb_module {
	uint32_t start, end; /* end is exclusive */
	uint32_t string, reserved;
};

#define LOADER_NAME "virq-vmm"
#define MODULE_NAME "config"

/* Finds the first header whose checksum is right; reports a bad checksum
 * only when no valid header follows it (GRUB keeps searching too). */
static int find_mb_flags(const uint8_t *img, size_t len, uint32_t *flags, char *err, size_t errlen)
{
	size_t end = len < MB_SEARCH_LEN ? len : MB_SEARCH_LEN;
	long bad_at = -1;
	uint32_t h[3];

	for (size_t off = 0; off + sizeof(h) <= end; off += 4) {
		memcpy(h, img + off, sizeof(h));
		if (h[0] != MB_HEADER_MAGIC)
			continue;
		if ((uint32_t)(h[0] + h[1] + h[2]) == 0) {
			*flags = h[1];
			return 0;
		}
		if (bad_at < 0)
			bad_at = (long)off;
	}
	if (bad_at >= 0)
		return vmm_fail(err, errlen,
				"Multiboot header at file offset 0x%lx has a bad checksum", bad_at);
	return vmm_fail(err, errlen, "not a Multiboot image (no header in the first 8 KiB)");
}

/* Bits 0-15 are features the kernel requires, bits 16-31 optional ones
 * the loader may ignore, except 16 (a.out kludge) which changes how to load. */
static int check_mb_flags(uint32_t flags, char *err, size_t errlen)
{
	const uint32_t known = MB_HDR_PAGE_ALIGN | MB_HDR_MEMINFO | MB_HDR_VIDEO;

	if (flags & MB_HDR_AOUT_KLUDGE)
		return vmm_fail(err, errlen,
				"Multiboot header asks for the a.out kludge (flags bit 16), which "
				"virq-vmm does not support: link the kernel as ELF32 without it");
	if (flags & 0xFFFFu & ~known)
		return vmm_fail(err, errlen,
				"Multiboot header requires unsupported features (flags 0x%08x; "
				"supported: bits 0-2)",
				flags);
	return 0;
}

static int check_elf_header(const uint8_t *img, size_t len, Elf32_Ehdr *eh, char *err,
			    size_t errlen)
{
	if (len < sizeof(*eh) || memcmp(img, ELFMAG, SELFMAG) != 0)
		return vmm_fail(err, errlen, "not an ELF32 i386 image (no ELF header)");
	if (img[EI_CLASS] == ELFCLASS64)
		return vmm_fail(
			err, errlen,
			"not an ELF32 i386 image (it is ELF64: build the kernel with -m32 or "
			"convert it with objcopy -O elf32-i386)");
	if (img[EI_CLASS] != ELFCLASS32 || img[EI_DATA] != ELFDATA2LSB)
		return vmm_fail(err, errlen, "not an ELF32 i386 image (class %u, data encoding %u)",
				img[EI_CLASS], img[EI_DATA]);
	memcpy(eh, img, sizeof(*eh));
	if (eh->e_machine != EM_386)
		return vmm_fail(err, errlen, "not an ELF32 i386 image (e_machine %u)",
				eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return vmm_fail(err, errlen,
				"not an ELF32 i386 image (e_type %u, not an executable)",
				eh->e_type);
	if (eh->e_phentsize != sizeof(Elf32_Phdr))
		return vmm_fail(err, errlen, "bad ELF program header size %u", eh->e_phentsize);
	if ((uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf32_Phdr) > len)
		return vmm_fail(err, errlen, "truncated file: ELF program headers past the end");
	return 0;
}

static Elf32_Phdr get_phdr(const uint8_t *img, const Elf32_Ehdr *eh, unsigned i)
{
	Elf32_Phdr ph;

	memcpy(&ph, img + eh->e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
	return ph;
}

static int check_segment(const Elf32_Phdr *ph, size_t len, uint64_t ram_end, char *err,
			 size_t errlen)
{
	uint64_t end = (uint64_t)ph->p_paddr + ph->p_memsz;

	if (ph->p_filesz > ph->p_memsz)
		return vmm_fail(err, errlen, "segment at 0x%x: file size 0x%x > memory size 0x%x",
				ph->p_paddr, ph->p_filesz, ph->p_memsz);
	if ((uint64_t)ph->p_offset + ph->p_filesz > len)
		return vmm_fail(
			err, errlen,
			"truncated file: segment data at file offset 0x%x + 0x%x past the end "
			"(%zu bytes)",
			ph->p_offset, ph->p_filesz, len);
	if (end > ram_end)
		return vmm_fail(err, errlen, "segment 0x%x - 0x%llx outside RAM (0 - 0x%llx)",
				ph->p_paddr, (unsigned long long)end, (unsigned long long)ram_end);
	if (ph->p_paddr < MB_INFO_END && end > MB_INFO_BASE)
		return vmm_fail(err, errlen,
				"segment 0x%x - 0x%llx overlaps the boot info area 0x%x - 0x%x",
				ph->p_paddr, (unsigned long long)end, MB_INFO_BASE, MB_INFO_END);
	return 0;
}

/* Checks every PT_LOAD and finds the physical entry point: a higher-half
 * kernel links e_entry at a virtual address, which we translate through the
 * segment containing it (as GRUB does); paging is off at entry. */
static int check_segments(const uint8_t *img, size_t len, const Elf32_Ehdr *eh, uint64_t ram_end,
			  struct mb_boot *out, char *err, size_t errlen)
{
	bool have_entry = false;
	unsigned loads = 0;

	out->load_end = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf32_Phdr ph = get_phdr(img, eh, i);

		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (check_segment(&ph, len, ram_end, err, errlen))
			return -1;
		loads++;
		if ((uint64_t)ph.p_paddr + ph.p_memsz > out->load_end)
			out->load_end = (uint64_t)ph.p_paddr + ph.p_memsz;
		/* Unsigned: also false when e_entry is below p_vaddr. */
		if (!have_entry && eh->e_entry - ph.p_vaddr < ph.p_memsz) {
			out->entry = eh->e_entry - ph.p_vaddr + ph.p_paddr;
			have_entry = true;
		}
	}
	if (!loads)
		return vmm_fail(err, errlen, "ELF image has no loadable segment");
	if (!have_entry)
		return vmm_fail(err, errlen, "entry point 0x%x is not inside a loaded segment",
				eh->e_entry);
	return 0;
}

static void copy_segments(const uint8_t *img, const Elf32_Ehdr *eh, uint8_t *ram)
{
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf32_Phdr ph = get_phdr(img, eh, i);

		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		memcpy(ram + ph.p_paddr, img + ph.p_offset, ph.p_filesz);
		memset(ram + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
}

/* Where each piece of boot information goes; 0 for "absent". */
struct info_layout {
	uint32_t info, mmap, mod, loader_name, mod_name, cmdline, mod_text;
	bool full;
	uint64_t next;
};

static uint32_t place(struct info_layout *l, uint64_t size, uint64_t align)
{
	uint64_t at = (l->next + align - 1) & ~(align - 1);

	if (at + size > MB_INFO_END) {
		l->full = true;
		return 0;
	}
	l->next = at + size;
	return (uint32_t)at;
}

static bool plan_info(struct info_layout *l, size_t cmdline_len, const char *module,
		      bool page_align)
{
	*l = (struct info_layout){ .next = MB_INFO_BASE };
	l->info = place(l, sizeof(struct mb_info), 8);
	l->mmap = place(l, 2 * sizeof(struct mb_mmap_entry), 8);
	l->loader_name = place(l, sizeof(LOADER_NAME), 1);
	l->cmdline = place(l, cmdline_len + 1, 1);
	if (module) {
		l->mod = place(l, sizeof(struct mb_module), 8);
		l->mod_name = place(l, sizeof(MODULE_NAME), 1);
		l->mod_text = place(l, strlen(module) + 1, page_align ? 4096 : 16);
	}
	return !l->full;
}

static void write_info(uint8_t *ram, uint64_t ram_end, const struct info_layout *l,
		       const char *cmdline, const char *module)
{
	/* What a PC reports: 0x9FC00 - 1 MiB holds the EBDA, VGA and BIOS. */
	const struct mb_mmap_entry mmap[2] = {
		{ .size = 20, .base = 0, .len = 0x9FC00, .type = 1 },
		{ .size = 20, .base = 0x100000, .len = ram_end - 0x100000, .type = 1 },
	};
	struct mb_info info = {
		.flags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME,
		.mem_lower = 640,
		.mem_upper = (uint32_t)((ram_end - 0x100000) / 1024),
		.cmdline = l->cmdline,
		.mmap_length = sizeof(mmap),
		.mmap_addr = l->mmap,
		.boot_loader_name = l->loader_name,
	};

	memset(ram + MB_INFO_BASE, 0, l->next - MB_INFO_BASE);
	memcpy(ram + l->mmap, mmap, sizeof(mmap));
	memcpy(ram + l->loader_name, LOADER_NAME, sizeof(LOADER_NAME));
	strcpy((char *)ram + l->cmdline, cmdline);
	if (module) {
		struct mb_module mod = {
			.start = l->mod_text,
			.end = l->mod_text + (uint32_t)strlen(module),
			.string = l->mod_name,
		};

		memcpy(ram + l->mod, &mod, sizeof(mod));
		memcpy(ram + l->mod_name, MODULE_NAME, sizeof(MODULE_NAME));
		strcpy((char *)ram + l->mod_text, module);
		info.flags |= MBI_MODS;
		info.mods_count = 1;
		info.mods_addr = l->mod;
	}
	memcpy(ram + l->info, &info, sizeof(info));
}

int mb_load_mem(const void *img, size_t len, void *ram, uint64_t ram_size, const char *cmdline,
		const char *module, struct mb_boot *out, char *err, size_t errlen)
{
	uint64_t ram_end = ram_size < MB_RAM_LIMIT ? ram_size : MB_RAM_LIMIT;
	struct info_layout layout;
	struct mb_boot boot;
	Elf32_Ehdr eh;
	uint32_t flags = 0;

	if (!cmdline)
		cmdline = "";
	if (ram_size < 0x100000)
		return vmm_fail(err, errlen,
				"guest RAM too small for Multiboot (%llu bytes, need 1 MiB)",
				(unsigned long long)ram_size);
	if (find_mb_flags(img, len, &flags, err, errlen) || check_mb_flags(flags, err, errlen) ||
	    check_elf_header(img, len, &eh, err, errlen) ||
	    check_segments(img, len, &eh, ram_end, &boot, err, errlen))
		return -1;
	if (!plan_info(&layout, strlen(cmdline), module, flags & MB_HDR_PAGE_ALIGN))
		return vmm_fail(
			err, errlen,
			"command line (%zu bytes) and module (%zu bytes) do not fit in the boot "
			"info area 0x%x - 0x%x",
			strlen(cmdline), module ? strlen(module) : 0, MB_INFO_BASE, MB_INFO_END);

	copy_segments(img, &eh, ram);
	write_info(ram, ram_end, &layout, cmdline, module);
	boot.info = layout.info;
	*out = boot;
	return 0;
}

char *mb_cmdline(const char *image, const char *cmdline)
{
	size_t il = strlen(image), cl = cmdline ? strlen(cmdline) : 0;
	char *s = malloc(il + 1 + cl + 1);

	if (!s)
		return NULL;
	memcpy(s, image, il);
	s[il] = ' ';
	if (cl)
		memcpy(s + il + 1, cmdline, cl);
	s[il + 1 + cl] = '\0';
	return s;
}

/* Kernels are a few MiB; the cap only keeps a wrong path from eating memory. */
#define MAX_IMAGE_SIZE (1ull << 30)

/* Returns 0 or an errno value. */
static int read_all(int fd, uint8_t *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO; /* the file shrank under us */
		got += (size_t)n;
	}
	return 0;
}

/* Reads the whole file at path into a malloc()ed buffer (one spare byte). */
static int read_image(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	uint8_t *img = NULL;
	struct stat st;
	int fd, ret = 0, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st))
		ret = vmm_fail(err, errlen, "cannot stat %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_IMAGE_SIZE)
		ret = vmm_fail(err, errlen, "%s: not a regular file of at most 1 GiB", path);
	else if (!(img = malloc((size_t)st.st_size + 1)))
		ret = vmm_fail(err, errlen, "%s: out of memory reading the image", path);
	else if ((e = read_all(fd, img, (size_t)st.st_size)))
		ret = vmm_fail(err, errlen, "cannot read %s: %s", path, strerror(e));
	close(fd);
	if (ret) {
		free(img);
		return ret;
	}
	*buf = img;
	*len = (size_t)st.st_size;
	return 0;
}

int mb_load(const char *path, void *ram, uint64_t ram_size, const char *cmdline, const char *module,
	    struct mb_boot *out, char *err, size_t errlen)
{
	uint8_t *img;
	size_t len;
	char *line;
	int ret;

	line = mb_cmdline(path, cmdline);
	if (!line)
		return vmm_fail(err, errlen, "%s: out of memory building the command line", path);
	ret = read_image(path, &img, &len, err, errlen);
	if (!ret) {
		ret = mb_load_mem(img, len, ram, ram_size, line, module, out, err, errlen);
		if (ret && bz_probe(img, len))
			ret = vmm_fail(err, errlen,
				       "%s is a Linux bzImage, not a Multiboot image: boot it with "
				       "--kernel %s",
				       path, path);
		free(img);
	}
	free(line);
	return ret;
}

/* ---- Linux bzImage ----
 *
 * Linux's Documentation/x86/boot.rst: "The real-mode kernel header",
 * "Loading the rest of the kernel", "32-bit boot protocol"; the zero page
 * layout is Documentation/x86/zero-page.rst. We take the 32-bit entry: no
 * real-mode code runs, so only the setup header is taken from the setup
 * sectors, into a zeroed zero page.
 */

static uint8_t get8(const uint8_t *p, size_t off)
{
	return p[off];
}

static uint16_t get16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

bool bz_probe(const void *img, size_t len)
{
	const uint8_t *p = img;

	return len >= BZ_ZP_HEADER + 4 && get16(p, BZ_ZP_BOOT_FLAG) == 0xAA55u &&
	       get32(p, BZ_ZP_HEADER) == BZ_HDRS_MAGIC;
}

/* What bz_check() found out, for bz_write(). */
struct bz_plan {
	size_t setup_size, hdr_end, pm_size;
	uint32_t entry, initrd_addr;
	uint64_t kernel_end;
	uint16_t version;
};

static int bz_check(const uint8_t *img, size_t len, size_t initrd_len, uint64_t ram_end,
		    size_t cmdline_len, struct bz_plan *pl, char *err, size_t errlen)
{
	unsigned setup_sects;
	uint64_t syssize, pref, init_size, top, initrd_max;
	uint32_t code32, cmdline_size;
	uint8_t loadflags;

	if (!bz_probe(img, len))
		return vmm_fail(err, errlen,
				"not a Linux bzImage (no boot flag 0xAA55 and \"HdrS\" header)");
	pl->version = get16(img, BZ_ZP_VERSION);
	if (pl->version < BZ_MIN_VERSION)
		return vmm_fail(err, errlen,
				"bzImage boot protocol %u.%02u is too old (virq-vmm needs 2.10 or "
				"later)",
				pl->version >> 8, pl->version & 0xFFu);
	setup_sects = get8(img, BZ_ZP_SETUP_SECTS);
	if (!setup_sects)
		setup_sects = 4;
	pl->setup_size = ((size_t)setup_sects + 1) * 512;
	if (pl->setup_size >= len)
		return vmm_fail(err, errlen,
				"truncated bzImage: %u setup sectors (%zu bytes) but the file has "
				"%zu bytes",
				setup_sects, pl->setup_size, len);
	/* The header ends at 0x202 + the jump's displacement byte. */
	pl->hdr_end = BZ_ZP_HEADER + (size_t)get8(img, BZ_ZP_JUMP + 1);
	if (pl->hdr_end < BZ_ZP_INIT_SIZE + 4 || pl->hdr_end > BZ_ZP_HDR_END_MAX ||
	    pl->hdr_end > pl->setup_size)
		return vmm_fail(err, errlen, "bzImage setup header length 0x%zx is out of range",
				pl->hdr_end - BZ_ZP_SETUP_SECTS);
	loadflags = get8(img, BZ_ZP_LOADFLAGS);
	if (!(loadflags & BZ_LOADED_HIGH))
		return vmm_fail(
			err, errlen,
			"bzImage is not LOADED_HIGH (a zImage loaded at 64 KiB): not supported");
	pl->pm_size = len - pl->setup_size;
	syssize = (uint64_t)get32(img, BZ_ZP_SYSSIZE) * 16;
	if (!syssize || syssize > pl->pm_size)
		return vmm_fail(
			err, errlen,
			"truncated bzImage: syssize says %llu bytes of protected-mode kernel, "
			"the file has %zu",
			(unsigned long long)syssize, pl->pm_size);
	code32 = get32(img, BZ_ZP_CODE32_START);
	if (code32 < BZ_KERNEL || code32 - BZ_KERNEL >= pl->pm_size)
		return vmm_fail(err, errlen,
				"bzImage code32_start 0x%x is not inside the kernel loaded at 0x%x",
				code32, BZ_KERNEL);
	pl->entry = code32;
	/* The decompressor runs in [max(load address, pref_address),
	 * + init_size): all of it must be RAM, and the initrd stays above. */
	pref = get64(img, BZ_ZP_PREF_ADDRESS);
	init_size = get32(img, BZ_ZP_INIT_SIZE);
	if (pref >= ram_end)
		return vmm_fail(
			err, errlen,
			"bzImage pref_address 0x%llx is beyond guest RAM (0x%llx): raise --mem",
			(unsigned long long)pref, (unsigned long long)ram_end);
	pl->kernel_end = BZ_KERNEL + (init_size > pl->pm_size ? init_size : pl->pm_size);
	if (pref > BZ_KERNEL && pref + init_size > pl->kernel_end)
		pl->kernel_end = pref + init_size; /* below 2^33: no wrap */
	if (pl->kernel_end > ram_end)
		return vmm_fail(
			err, errlen,
			"the kernel needs RAM up to 0x%llx (load address, pref_address 0x%llx, "
			"init_size 0x%llx) but guest RAM ends at 0x%llx: raise --mem",
			(unsigned long long)pl->kernel_end, (unsigned long long)pref,
			(unsigned long long)init_size, (unsigned long long)ram_end);
	cmdline_size = get32(img, BZ_ZP_CMDLINE_SIZE);
	if (cmdline_len > cmdline_size || cmdline_len >= BZ_CMDLINE_MAX)
		return vmm_fail(
			err, errlen,
			"kernel command line of %zu bytes is too long (the kernel takes %u, "
			"virq-vmm %u)",
			cmdline_len, cmdline_size, BZ_CMDLINE_MAX - 1);
	pl->initrd_addr = 0;
	if (!initrd_len)
		return 0;
	initrd_max = (uint64_t)get32(img, BZ_ZP_INITRD_ADDR_MAX) + 1;
	top = ram_end < initrd_max ? ram_end : initrd_max;
	if (initrd_len > top || ((top - initrd_len) & ~0xFFFull) < pl->kernel_end)
		return vmm_fail(
			err, errlen,
			"initrd of %zu bytes does not fit between the kernel's end 0x%llx and "
			"0x%llx (RAM end, initrd_addr_max 0x%llx): raise --mem",
			initrd_len, (unsigned long long)pl->kernel_end, (unsigned long long)top,
			(unsigned long long)initrd_max - 1);
	pl->initrd_addr = (uint32_t)((top - initrd_len) & ~0xFFFull);
	return 0;
}

static void bz_write_e820(uint8_t *zp, uint64_t ram_end)
{
	const struct {
		uint64_t addr, size;
		uint32_t type;
	} map[BZ_E820_ENTRIES] = {
		{ 0, BZ_LOW_RAM_END, E820_RAM },
		{ BZ_LOW_RAM_END, BZ_KERNEL - BZ_LOW_RAM_END, E820_RESERVED },
		{ BZ_KERNEL, ram_end - BZ_KERNEL, E820_RAM },
		{ BZ_IOAPIC_BASE, 0x1000, E820_RESERVED },
		{ BZ_LAPIC_BASE, 0x1000, E820_RESERVED },
	};

	for (unsigned i = 0; i < BZ_E820_ENTRIES; i++) {
		size_t at = BZ_ZP_E820_TABLE + (size_t)i * 20;

		put64(zp, at, map[i].addr);
		put64(zp, at + 8, map[i].size);
		put32(zp, at + 16, map[i].type);
	}
	zp[BZ_ZP_E820_ENTRIES] = BZ_E820_ENTRIES;
}

static void bz_write(const uint8_t *img, const void *initrd, size_t initrd_len, uint8_t *ram,
		     uint64_t ram_end, const char *cmdline, const struct bz_plan *pl)
{
	/* Flat 4 GiB: G, D/B, present, DPL 0; code execute/read, data
	 * read/write, both accessed. Selectors 0x10 and 0x18. */
	static const uint64_t gdt[4] = { 0, 0, 0x00CF9B000000FFFFull, 0x00CF93000000FFFFull };
	uint8_t *zp = ram + BZ_ZERO_PAGE;

	memcpy(ram + BZ_GDT, gdt, sizeof(gdt));
	memset(zp, 0, 4096);
	memcpy(zp + BZ_ZP_SETUP_SECTS, img + BZ_ZP_SETUP_SECTS, pl->hdr_end - BZ_ZP_SETUP_SECTS);
	zp[BZ_ZP_TYPE_OF_LOADER] = BZ_TYPE_OF_LOADER;
	zp[BZ_ZP_LOADFLAGS] |= BZ_CAN_USE_HEAP;
	put16(zp, BZ_ZP_HEAP_END_PTR, BZ_HEAP_END_PTR);
	put32(zp, BZ_ZP_CMD_LINE_PTR, BZ_CMDLINE);
	put32(zp, BZ_ZP_RAMDISK_IMAGE, pl->initrd_addr);
	put32(zp, BZ_ZP_RAMDISK_SIZE, (uint32_t)initrd_len);
	bz_write_e820(zp, ram_end);
	strcpy((char *)ram + BZ_CMDLINE, cmdline);
	memcpy(ram + BZ_KERNEL, img + pl->setup_size, pl->pm_size);
	if (initrd_len)
		memcpy(ram + pl->initrd_addr, initrd, initrd_len);
}

int bz_load_mem(const void *img, size_t len, const void *initrd, size_t initrd_len, void *ram,
		uint64_t ram_size, const char *cmdline, struct bz_boot *out, char *err,
		size_t errlen)
{
	uint64_t ram_end = ram_size < MB_RAM_LIMIT ? ram_size : MB_RAM_LIMIT;
	struct bz_plan pl = { 0 };

	if (!cmdline)
		cmdline = "";
	if (initrd && !initrd_len)
		return vmm_fail(err, errlen, "the initrd is empty");
	if (ram_end < 2 * BZ_KERNEL)
		return vmm_fail(err, errlen,
				"guest RAM too small for a bzImage (%llu bytes, need 2 MiB)",
				(unsigned long long)ram_size);
	if (bz_check(img, len, initrd_len, ram_end, strlen(cmdline), &pl, err, errlen))
		return -1;
	bz_write(img, initrd, initrd_len, ram, ram_end, cmdline, &pl);
	*out = (struct bz_boot){
		.entry = pl.entry,
		.zero_page = BZ_ZERO_PAGE,
		.kernel_end = pl.kernel_end,
		.initrd_addr = pl.initrd_addr,
		.initrd_size = (uint32_t)initrd_len,
		.version = pl.version,
	};
	return 0;
}

int bz_load(const char *path, const char *initrd_path, void *ram, uint64_t ram_size,
	    const char *cmdline, struct bz_boot *out, char *err, size_t errlen)
{
	uint8_t *img, *initrd = NULL;
	size_t len, initrd_len = 0;
	char msg[384];
	int ret;

	if (read_image(path, &img, &len, err, errlen))
		return -1;
	if (initrd_path && read_image(initrd_path, &initrd, &initrd_len, err, errlen)) {
		free(img);
		return -1;
	}
	ret = bz_load_mem(img, len, initrd, initrd_len, ram, ram_size, cmdline, out, msg,
			  sizeof(msg));
	if (ret)
		vmm_fail(err, errlen, "%s: %s", path, msg);
	free(initrd);
	free(img);
	return ret;
}
