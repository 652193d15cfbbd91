/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the virq-vmm platform: the Multiboot and bzImage loaders
 * (images built by hand in memory, loaded into a 4 MiB RAM buffer), the MP
 * table and the ACPI tables (parsed back field by field) and the port devices (driven through
 * dev_pio with recording hooks).
 */
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acpi.h"
#include "devices.h"
#include "loader.h"
#include "mptable.h"

/* ---------------------------------------------------------------- loader */

#define RAM_SIZE (4u << 20)
#define LOAD_ADDR 0x100000u
#define SEG_OFF 0x100 /* file offset of the segment data */
#define SEG_FILESZ 16
#define SEG_MEMSZ 64
#define MB_OFF 0x80 /* file offset of the Multiboot header */
#define IMG_LEN (SEG_OFF + SEG_FILESZ)
#define POISON 0xAA /* RAM fill before each test: shows what the loader wrote */

static uint8_t *ram;

struct image {
	Elf32_Ehdr eh;
	Elf32_Phdr ph;
	uint32_t mb[3]; /* magic, flags, checksum */
	uint8_t bytes[IMG_LEN];
};

static void set_mb_flags(struct image *im, uint32_t flags)
{
	im->mb[0] = 0x1BADB002u;
	im->mb[1] = flags;
	im->mb[2] = -(im->mb[0] + flags);
}

/* An ELF32 kernel with one PT_LOAD: 16 bytes 0x01..0x10 at 1 MiB, 48 bytes bss. */
static void image_init(struct image *im)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS32;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_ident[EI_VERSION] = EV_CURRENT;
	im->eh.e_type = ET_EXEC;
	im->eh.e_machine = EM_386;
	im->eh.e_version = EV_CURRENT;
	im->eh.e_entry = LOAD_ADDR + 4;
	im->eh.e_phoff = sizeof(Elf32_Ehdr);
	im->eh.e_ehsize = sizeof(Elf32_Ehdr);
	im->eh.e_phentsize = sizeof(Elf32_Phdr);
	im->eh.e_phnum = 1;
	im->ph.p_type = PT_LOAD;
	im->ph.p_offset = SEG_OFF;
	im->ph.p_vaddr = LOAD_ADDR;
	im->ph.p_paddr = LOAD_ADDR;
	im->ph.p_filesz = SEG_FILESZ;
	im->ph.p_memsz = SEG_MEMSZ;
	im->ph.p_flags = PF_R | PF_W | PF_X;
	im->ph.p_align = 4096;
	set_mb_flags(im, 0x3); /* page-aligned modules, memory info */
}

static const uint8_t *image_bytes(struct image *im)
{
	memset(im->bytes, 0, sizeof(im->bytes));
	memcpy(im->bytes, &im->eh, sizeof(im->eh));
	memcpy(im->bytes + im->eh.e_phoff, &im->ph, sizeof(im->ph));
	memcpy(im->bytes + MB_OFF, im->mb, sizeof(im->mb));
	for (unsigned i = 0; i < SEG_FILESZ; i++)
		im->bytes[SEG_OFF + i] = (uint8_t)(i + 1);
	return im->bytes;
}

static uint32_t rd32(uint32_t addr)
{
	uint32_t v;

	memcpy(&v, ram + addr, 4);
	return v;
}

static uint64_t rd64(uint32_t addr)
{
	uint64_t v;

	memcpy(&v, ram + addr, 8);
	return v;
}

static int ram_setup(void **state)
{
	(void)state;
	ram = malloc(RAM_SIZE);
	return ram ? 0 : -1;
}

static int ram_teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static int poison_ram(void **state)
{
	(void)state;
	memset(ram, POISON, RAM_SIZE);
	return 0;
}

static void test_load_multiboot_kernel(void **state)
{
	const char *cmdline = "console=ttyS0 mode=fast";
	const char *module = "NR_CPUS=4\nTEST=ipi\n";
	struct mb_boot boot;
	struct image im;
	char err[200] = "";
	uint32_t info, mods, mod_start, mod_end, mmap;

	(void)state;
	image_init(&im);
	assert_int_equal(mb_load_mem(image_bytes(&im), IMG_LEN, ram, RAM_SIZE, cmdline, module,
				     &boot, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");

	/* Segment bytes, zeroed bss, nothing past it. */
	for (unsigned i = 0; i < SEG_FILESZ; i++)
		assert_int_equal(ram[LOAD_ADDR + i], i + 1);
	for (unsigned i = SEG_FILESZ; i < SEG_MEMSZ; i++)
		assert_int_equal(ram[LOAD_ADDR + i], 0);
	assert_int_equal(ram[LOAD_ADDR + SEG_MEMSZ], POISON);
	assert_int_equal(boot.entry, LOAD_ADDR + 4);
	assert_int_equal(boot.load_end, LOAD_ADDR + SEG_MEMSZ);

	info = boot.info;
	assert_int_equal(info, MB_INFO_BASE);
	assert_int_equal(rd32(info + 0), (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	assert_int_equal(rd32(info + 4), 640);
	assert_int_equal(rd32(info + 8), (RAM_SIZE - 0x100000) / 1024);
	assert_string_equal((const char *)ram + rd32(info + 16), cmdline);
	assert_string_equal((const char *)ram + rd32(info + 64), "virq-vmm");

	assert_int_equal(rd32(info + 20), 1);
	mods = rd32(info + 24);
	mod_start = rd32(mods + 0);
	mod_end = rd32(mods + 4);
	assert_int_equal(mod_start % 4096, 0); /* header flag bit 0 */
	assert_int_equal(mod_end - mod_start, strlen(module));
	assert_memory_equal(ram + mod_start, module, strlen(module));
	assert_int_equal(ram[mod_end], 0);
	assert_string_equal((const char *)ram + rd32(mods + 8), "config");
	assert_int_equal(rd32(mods + 12), 0);
	assert_true(mod_end < MB_INFO_END);

	assert_int_equal(rd32(info + 44), 48);
	mmap = rd32(info + 48);
	assert_int_equal(rd32(mmap + 0), 20);
	assert_int_equal(rd64(mmap + 4), 0);
	assert_int_equal(rd64(mmap + 12), 0x9FC00);
	assert_int_equal(rd32(mmap + 20), 1);
	assert_int_equal(rd32(mmap + 24), 20);
	assert_int_equal(rd64(mmap + 28), 0x100000);
	assert_int_equal(rd64(mmap + 36), RAM_SIZE - 0x100000);
	assert_int_equal(rd32(mmap + 44), 1);

	/* Nothing written outside the segment and the info area. */
	assert_int_equal(ram[MB_INFO_BASE - 1], POISON);
	assert_int_equal(ram[MB_INFO_END], POISON);
}

static void test_load_without_module_or_cmdline(void **state)
{
	struct mb_boot boot;
	struct image im;
	char err[200];

	(void)state;
	image_init(&im);
	set_mb_flags(&im, 0); /* no page alignment asked: fine too */
	assert_int_equal(mb_load_mem(image_bytes(&im), IMG_LEN, ram, RAM_SIZE, NULL, NULL, &boot,
				     err, sizeof(err)),
			 0);
	assert_int_equal(rd32(boot.info) & (1u << 3), 0);
	assert_int_equal(rd32(boot.info + 20), 0);
	assert_true(rd32(boot.info) & (1u << 2));
	assert_string_equal((const char *)ram + rd32(boot.info + 16), "");
}

/* A higher-half kernel: linked at 0xC0100000, loaded at 1 MiB. */
static void test_entry_translated_to_physical(void **state)
{
	struct mb_boot boot;
	struct image im;
	char err[200];

	(void)state;
	image_init(&im);
	im.ph.p_vaddr = 0xC0100000u;
	im.eh.e_entry = 0xC0100008u;
	assert_int_equal(mb_load_mem(image_bytes(&im), IMG_LEN, ram, RAM_SIZE, "", NULL, &boot, err,
				     sizeof(err)),
			 0);
	assert_int_equal(boot.entry, LOAD_ADDR + 8);
}

/* Loads im (cut to len bytes) and expects a refusal naming want, with RAM untouched. */
static void expect_refusal(struct image *im, size_t len, const char *cmdline, const char *want)
{
	const uint8_t *bytes = image_bytes(im);
	struct mb_boot boot;
	char err[256] = "";

	assert_int_equal(mb_load_mem(bytes, len, ram, RAM_SIZE, cmdline, "X=1\n", &boot, err,
				     sizeof(err)),
			 -1);
	if (!strstr(err, want))
		fail_msg("message \"%s\" does not contain \"%s\"", err, want);
	for (uint32_t a = 0; a < RAM_SIZE; a += 0x1000)
		assert_int_equal(ram[a], POISON);
	assert_int_equal(ram[MB_INFO_BASE], POISON);
	assert_int_equal(ram[LOAD_ADDR], POISON);
}

static void test_refuses_hostile_or_unsupported_images(void **state)
{
	static char long_cmdline[9000];
	struct image im;

	(void)state;
	image_init(&im);
	memset(im.mb, 0, sizeof(im.mb));
	expect_refusal(&im, IMG_LEN, "", "not a Multiboot image (no header in the first 8 KiB)");

	image_init(&im);
	im.mb[2] ^= 1;
	expect_refusal(&im, IMG_LEN, "", "bad checksum");

	image_init(&im);
	set_mb_flags(&im, 0x10003);
	expect_refusal(&im, IMG_LEN, "", "a.out kludge");

	image_init(&im);
	set_mb_flags(&im, 0x8); /* bit 3: a required feature we do not know */
	expect_refusal(&im, IMG_LEN, "", "unsupported features (flags 0x00000008");

	image_init(&im);
	im.eh.e_ident[EI_CLASS] = ELFCLASS64;
	expect_refusal(&im, IMG_LEN, "", "not an ELF32 i386 image (it is ELF64");

	image_init(&im);
	im.eh.e_ident[0] = 0; /* a Multiboot header in something that is not ELF */
	expect_refusal(&im, IMG_LEN, "", "not an ELF32 i386 image");

	image_init(&im);
	im.eh.e_machine = EM_X86_64;
	expect_refusal(&im, IMG_LEN, "", "not an ELF32 i386 image (e_machine 62)");

	image_init(&im);
	im.ph.p_paddr = RAM_SIZE - 32; /* bss runs 32 bytes past the end */
	expect_refusal(&im, IMG_LEN, "", "segment 0x3fffe0 - 0x400020 outside RAM");

	image_init(&im);
	im.ph.p_paddr = 0xFFFFFFF0u; /* p_paddr + p_memsz wraps in 32 bits */
	expect_refusal(&im, IMG_LEN, "", "segment 0xfffffff0 - 0x100000030 outside RAM");

	image_init(&im);
	expect_refusal(&im, IMG_LEN - 1, "", "truncated file: segment data");

	image_init(&im);
	im.ph.p_offset = 0xFFFFFFF8u; /* p_offset + p_filesz wraps to 8 in 32 bits */
	expect_refusal(&im, IMG_LEN, "", "truncated file: segment data at file offset 0xfffffff8");

	image_init(&im);
	im.eh.e_phnum = 100; /* the program header table runs past the end */
	expect_refusal(&im, IMG_LEN, "", "truncated file: ELF program headers");

	image_init(&im);
	im.ph.p_filesz = SEG_MEMSZ + 1;
	expect_refusal(&im, IMG_LEN, "", "file size 0x41 > memory size 0x40");

	image_init(&im);
	im.ph.p_paddr = 0x7000;
	expect_refusal(&im, IMG_LEN, "", "overlaps the boot info area");

	image_init(&im);
	im.eh.e_entry = 0x200000;
	expect_refusal(&im, IMG_LEN, "", "entry point 0x200000 is not inside a loaded segment");

	image_init(&im);
	im.ph.p_type = PT_NOTE;
	expect_refusal(&im, IMG_LEN, "", "no loadable segment");

	image_init(&im);
	memset(long_cmdline, 'x', sizeof(long_cmdline) - 1);
	expect_refusal(&im, IMG_LEN, long_cmdline, "do not fit in the boot info area");
}

static void test_load_from_file(void **state)
{
	char path[] = "/tmp/virq-vmm-test-XXXXXX";
	struct mb_boot boot;
	struct image im;
	char err[256] = "", want[64];
	int fd;

	(void)state;
	image_init(&im);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, image_bytes(&im), IMG_LEN), IMG_LEN);
	close(fd);
	assert_int_equal(mb_load(path, ram, RAM_SIZE, "a b", "B=1\n", &boot, err, sizeof(err)), 0);
	assert_int_equal(boot.entry, LOAD_ADDR + 4);
	assert_int_equal(ram[LOAD_ADDR], 1);
	/* The command line starts with the image's name, as QEMU's does. */
	snprintf(want, sizeof(want), "%s a b", path);
	assert_string_equal((const char *)ram + rd32(boot.info + 16), want);
	assert_int_equal(mb_load(path, ram, RAM_SIZE, "", NULL, &boot, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s ", path);
	assert_string_equal((const char *)ram + rd32(boot.info + 16), want);
	unlink(path);

	assert_int_equal(mb_load(path, ram, RAM_SIZE, "", NULL, &boot, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open /tmp/virq-vmm-test-"));
	assert_non_null(strstr(err, "No such file or directory"));

	assert_int_equal(mb_load("/tmp", ram, RAM_SIZE, "", NULL, &boot, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

/* ------------------------------------------------------------- bzImage */

#define BZ_PM_LEN 4096u /* protected-mode part of the test image */
#define BZ_INIT_SIZE 0x10000u
#define BZ_IMG_MAX (5 * 512 + BZ_PM_LEN)

struct bz_image {
	uint8_t b[BZ_IMG_MAX];
	size_t len;
	size_t setup_size;
};

static void w16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, 2);
}

static void w32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static void w64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

static uint8_t pm_byte(unsigned i)
{
	return (uint8_t)(i * 7 + 3);
}

/* A protocol 2.15 bzImage: setup_sects sectors of setup (0 means 4), a
 * 4 KiB protected-mode part, code32_start 1 MiB, init_size 64 KiB,
 * pref_address 1 MiB. Setup bytes outside the header are 0x55 (must not
 * reach the zero page). */
static void bz_init(struct bz_image *im, uint8_t setup_sects)
{
	unsigned sects = setup_sects ? setup_sects : 4;

	memset(im, 0, sizeof(*im));
	im->setup_size = (sects + 1u) * 512u;
	im->len = im->setup_size + BZ_PM_LEN;
	memset(im->b, 0x55, im->setup_size);
	memset(im->b + 0x1F1, 0, 0x290 - 0x1F1);
	im->b[0x1F1] = setup_sects;
	w16(im->b, 0x1F2, 0x1234);         /* root_flags: copied as is */
	w32(im->b, 0x1F4, BZ_PM_LEN / 16); /* syssize */
	w16(im->b, 0x1FA, 0xFFFF);         /* vid_mode */
	w16(im->b, 0x1FE, 0xAA55);
	im->b[0x200] = 0xEB;
	im->b[0x201] = 0x6A; /* header ends at 0x26C */
	memcpy(im->b + 0x202, "HdrS", 4);
	w16(im->b, 0x206, 0x020F);
	im->b[0x211] = 0x01; /* LOADED_HIGH */
	w32(im->b, 0x214, 0x100000);
	w32(im->b, 0x22C, 0x7FFFFFFF);
	w32(im->b, 0x230, 0x200000);
	im->b[0x234] = 1;
	w16(im->b, 0x236, 0x7F);
	w32(im->b, 0x238, 0x7FF);
	w64(im->b, 0x258, 0x100000);
	w32(im->b, 0x260, BZ_INIT_SIZE);
	w32(im->b, 0x268, 0xABCD); /* kernel_info_offset: last header field */
	for (unsigned i = 0; i < BZ_PM_LEN; i++)
		im->b[im->setup_size + i] = pm_byte(i);
}

static uint8_t initrd_buf[5000];

static void expect_e820(void)
{
	static const uint64_t want[5][3] = {
		{ 0, 0x9F000, 1 },
		{ 0x9F000, 0x61000, 2 },
		{ 0x100000, RAM_SIZE - 0x100000, 1 },
		{ 0xFEC00000, 0x1000, 2 },
		{ 0xFEE00000, 0x1000, 2 },
	};

	assert_int_equal(ram[0x7000 + 0x1E8], 5);
	for (unsigned i = 0; i < 5; i++) {
		uint32_t at = 0x7000 + 0x2D0 + i * 20;

		assert_int_equal(rd64(at), want[i][0]);
		assert_int_equal(rd64(at + 8), want[i][1]);
		assert_int_equal(rd32(at + 16), want[i][2]);
	}
	/* Entry 5 stays zero. */
	assert_int_equal(rd64(0x7000 + 0x2D0 + 100), 0);
	assert_int_equal(rd32(0x7000 + 0x2D0 + 116), 0);
}

static void test_bz_load(void **state)
{
	const char *cmdline = "console=ttyS0 acpi=off";
	struct bz_boot boot;
	struct bz_image im;
	char err[256] = "";
	uint8_t zp[4096];

	(void)state;
	bz_init(&im, 2);
	for (unsigned i = 0; i < sizeof(initrd_buf); i++)
		initrd_buf[i] = (uint8_t)(i ^ 0x5A);
	assert_int_equal(bz_load_mem(im.b, im.len, initrd_buf, sizeof(initrd_buf), ram, RAM_SIZE,
				     cmdline, &boot, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_int_equal(boot.entry, 0x100000);
	assert_int_equal(boot.zero_page, 0x7000);
	assert_int_equal(boot.version, 0x020F);
	assert_int_equal(boot.kernel_end, 0x100000 + BZ_INIT_SIZE);
	/* As high as RAM allows, page aligned: (4 MiB - 5000) & ~0xFFF. */
	assert_int_equal(boot.initrd_addr, 0x3FE000);
	assert_int_equal(boot.initrd_size, 5000);

	/* The zero page: zeros, the header 0x1F1-0x26B as in the image, and
	 * exactly the fields the loader owns. */
	memset(zp, 0, sizeof(zp));
	memcpy(zp + 0x1F1, im.b + 0x1F1, 0x26C - 0x1F1);
	zp[0x210] = 0xFF;
	zp[0x211] = 0x81; /* LOADED_HIGH | CAN_USE_HEAP */
	w16(zp, 0x224, 0xFE00);
	w32(zp, 0x228, 0x20000);
	w32(zp, 0x218, 0x3FE000);
	w32(zp, 0x21C, 5000);
	zp[0x1E8] = 5;
	memcpy(zp + 0x2D0, ram + 0x7000 + 0x2D0, 5 * 20); /* checked by expect_e820() */
	assert_memory_equal(ram + 0x7000, zp, sizeof(zp));
	expect_e820();
	assert_int_equal(rd32(0x7000 + 0x268), 0xABCD);
	assert_int_equal(ram[0x7000 + 0x26C], 0); /* setup bytes after the header */

	/* GDT: null, null, flat code 0x10, flat data 0x18. */
	assert_int_equal(rd64(0x5000), 0);
	assert_int_equal(rd64(0x5008), 0);
	assert_int_equal(rd64(0x5010), 0x00CF9B000000FFFFull);
	assert_int_equal(rd64(0x5018), 0x00CF93000000FFFFull);
	assert_int_equal(ram[0x5020], POISON);
	assert_int_equal(ram[0x4FFF], POISON);

	assert_string_equal((const char *)ram + 0x20000, cmdline);
	assert_int_equal(ram[0x20000 + strlen(cmdline) + 1], POISON);

	/* The protected-mode part at 1 MiB, nothing more. */
	for (unsigned i = 0; i < BZ_PM_LEN; i++)
		assert_int_equal(ram[0x100000 + i], pm_byte(i));
	assert_int_equal(ram[0x100000 + BZ_PM_LEN], POISON);
	assert_int_equal(ram[0xFFFFF], POISON);

	assert_memory_equal(ram + 0x3FE000, initrd_buf, sizeof(initrd_buf));
	assert_int_equal(ram[0x3FE000 - 1], POISON);
	assert_int_equal(ram[0x3FE000 + sizeof(initrd_buf)], POISON);
	/* Nothing below the GDT (the real-mode setup code is not loaded). */
	for (unsigned i = 0; i < 0x5000; i++)
		assert_int_equal(ram[i], POISON);
}

static void test_bz_layout_choices(void **state)
{
	struct bz_boot boot;
	struct bz_image im;
	char err[256] = "";

	(void)state;
	/* setup_sects 0 means 4: the kernel starts at file offset 5 * 512.
	 * No initrd: ramdisk fields zero, nothing placed. No cmdline: "". */
	bz_init(&im, 0);
	assert_int_equal(bz_load_mem(im.b, im.len, NULL, 0, ram, RAM_SIZE, NULL, &boot, err,
				     sizeof(err)),
			 0);
	for (unsigned i = 0; i < BZ_PM_LEN; i++)
		assert_int_equal(ram[0x100000 + i], pm_byte(i));
	assert_int_equal(ram[0x7000 + 0x1F1], 0);
	assert_int_equal(rd32(0x7000 + 0x218), 0);
	assert_int_equal(rd32(0x7000 + 0x21C), 0);
	assert_int_equal(boot.initrd_addr, 0);
	assert_int_equal(ram[0x20000], 0);
	assert_int_equal(ram[0x3FF000], POISON);

	/* initrd_addr_max below RAM's end: the initrd's last byte at or
	 * below it, page aligned: (0x300000 - 5000) & ~0xFFF. */
	memset(ram, POISON, RAM_SIZE);
	bz_init(&im, 2);
	w32(im.b, 0x22C, 0x2FFFFF);
	assert_int_equal(bz_load_mem(im.b, im.len, initrd_buf, sizeof(initrd_buf), ram, RAM_SIZE,
				     "", &boot, err, sizeof(err)),
			 0);
	assert_int_equal(boot.initrd_addr, 0x2FE000);
	assert_int_equal(rd32(0x7000 + 0x218), 0x2FE000);
	assert_memory_equal(ram + 0x2FE000, initrd_buf, sizeof(initrd_buf));

	/* The initrd may end right where the kernel's span ends... */
	bz_init(&im, 2);
	w32(im.b, 0x22C, 0x110FFF);
	assert_int_equal(bz_load_mem(im.b, im.len, initrd_buf, 4096, ram, RAM_SIZE, "", &boot, err,
				     sizeof(err)),
			 0);
	assert_int_equal(boot.initrd_addr, 0x110000);

	/* ...and pref_address above 1 MiB moves the span's end (the
	 * decompressor runs at pref_address): 0x200000 + 64 KiB. */
	bz_init(&im, 2);
	w64(im.b, 0x258, 0x200000);
	assert_int_equal(
		bz_load_mem(im.b, im.len, NULL, 0, ram, RAM_SIZE, "", &boot, err, sizeof(err)), 0);
	assert_int_equal(boot.kernel_end, 0x210000);

	/* The longest command line the kernel takes (cmdline_size). */
	{
		static char line[0x800];

		memset(line, 'c', 0x7FF);
		assert_int_equal(bz_load_mem(im.b, im.len, NULL, 0, ram, RAM_SIZE, line, &boot, err,
					     sizeof(err)),
				 0);
		assert_string_equal((const char *)ram + 0x20000, line);
	}
}

/* Refused with want in the message, and not one byte of RAM written. */
static void expect_bz_refusal(const struct bz_image *im, size_t len, const void *initrd,
			      size_t initrd_len, uint64_t ram_size, const char *cmdline,
			      const char *want)
{
	struct bz_boot boot;
	char err[256] = "";

	memset(ram, POISON, RAM_SIZE);
	memset(&boot, 0x77, sizeof(boot));
	assert_int_equal(bz_load_mem(im->b, len, initrd, initrd_len, ram, ram_size, cmdline, &boot,
				     err, sizeof(err)),
			 -1);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	for (size_t i = 0; i < RAM_SIZE; i++)
		if (ram[i] != POISON)
			fail_msg("RAM written at 0x%zx on a refused image ('%s')", i, err);
	assert_int_equal(boot.entry, 0x77777777u); /* out untouched */
}

static void test_bz_refuses_hostile_images(void **state)
{
	static char long_line[0x801];
	static uint8_t big_initrd[RAM_SIZE];
	struct bz_image im;

	(void)state;
	bz_init(&im, 2);
	expect_bz_refusal(&im, 0x205, NULL, 0, RAM_SIZE, "", "not a Linux bzImage");
	bz_init(&im, 2);
	im.b[0x205] = 'T';
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "not a Linux bzImage");
	bz_init(&im, 2);
	w16(im.b, 0x1FE, 0x55AA);
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "not a Linux bzImage");
	bz_init(&im, 2);
	w16(im.b, 0x206, 0x0209);
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "boot protocol 2.09 is too old");
	bz_init(&im, 2);
	im.b[0x1F1] = 255; /* 128 KiB of setup in a 5.5 KiB file */
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "",
			  "truncated bzImage: 255 setup sectors (131072 bytes)");
	bz_init(&im, 2);
	expect_bz_refusal(&im, im.setup_size, NULL, 0, RAM_SIZE, "", "truncated bzImage: 2 setup");
	bz_init(&im, 2);
	expect_bz_refusal(&im, im.len - 16, NULL, 0, RAM_SIZE, "",
			  "truncated bzImage: syssize says 4096 bytes of protected-mode kernel, "
			  "the file has 4080");
	bz_init(&im, 2);
	w32(im.b, 0x1F4, 0);
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "syssize says 0 bytes");
	bz_init(&im, 2);
	im.b[0x201] = 0x9F; /* header to 0x2A1: past the setup header's room */
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "setup header length 0xb0");
	bz_init(&im, 2);
	im.b[0x201] = 0x50; /* header to 0x252: no init_size */
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "setup header length 0x61");
	bz_init(&im, 2);
	im.b[0x211] = 0x80;
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "not LOADED_HIGH");
	bz_init(&im, 2);
	w32(im.b, 0x214, 0x100000 + BZ_PM_LEN);
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "code32_start 0x101000 is not");
	bz_init(&im, 2);
	w32(im.b, 0x214, 0xFFFFF);
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "code32_start 0xfffff is not");
	bz_init(&im, 2);
	w32(im.b, 0x260, 0x400000);
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "needs RAM up to 0x500000");
	bz_init(&im, 2);
	w64(im.b, 0x258, 0x300000);
	w32(im.b, 0x260, 0x100001);
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "", "needs RAM up to 0x400001");
	bz_init(&im, 2);
	w64(im.b, 0x258, 0xFFFFFFFFFFFFF000ull); /* pref + init_size would wrap */
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, "",
			  "pref_address 0xfffffffffffff000 is beyond guest RAM");
	bz_init(&im, 2);
	expect_bz_refusal(&im, im.len, NULL, 0, 0x100000, "", "guest RAM too small");
	memset(long_line, 'x', 0x800);
	expect_bz_refusal(&im, im.len, NULL, 0, RAM_SIZE, long_line,
			  "command line of 2048 bytes is too long (the kernel takes 2047");
	expect_bz_refusal(&im, im.len, big_initrd, sizeof(big_initrd), RAM_SIZE, "",
			  "initrd of 4194304 bytes does not fit");
	expect_bz_refusal(&im, im.len, big_initrd, RAM_SIZE - 0x110000 + 1, RAM_SIZE, "",
			  "initrd of 3080193 bytes does not fit between the kernel's end 0x110000");
	expect_bz_refusal(&im, im.len, big_initrd, 0, RAM_SIZE, "", "the initrd is empty");
	w32(im.b, 0x22C, 0x10FFFF); /* the initrd would overlap the kernel's span */
	expect_bz_refusal(&im, im.len, big_initrd, 4096, RAM_SIZE, "",
			  "initrd of 4096 bytes does not fit between the kernel's end 0x110000 "
			  "and 0x110000");
}

static void test_bz_from_file(void **state)
{
	char kpath[] = "/tmp/virq-vmm-bz-XXXXXX", ipath[] = "/tmp/virq-vmm-rd-XXXXXX";
	struct bz_boot boot;
	struct mb_boot mb;
	struct bz_image im;
	char err[512] = "", want[160];
	int fd;

	(void)state;
	bz_init(&im, 2);
	fd = mkstemp(kpath);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, im.b, im.len), (ssize_t)im.len);
	close(fd);
	fd = mkstemp(ipath);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, initrd_buf, 3000), 3000);
	close(fd);
	assert_int_equal(bz_load(kpath, ipath, ram, RAM_SIZE, "quiet", &boot, err, sizeof(err)), 0);
	assert_int_equal(boot.initrd_addr, 0x3FF000);
	assert_int_equal(boot.initrd_size, 3000);
	assert_memory_equal(ram + 0x3FF000, initrd_buf, 3000);
	assert_string_equal((const char *)ram + 0x20000, "quiet");

	/* A bzImage given as a Multiboot IMAGE: the error says what to do. */
	assert_int_equal(mb_load(kpath, ram, RAM_SIZE, "", NULL, &mb, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "%s is a Linux bzImage, not a Multiboot image: boot it with --kernel %s", kpath,
		 kpath);
	assert_string_equal(err, want);

	/* An empty initrd file, a missing one, a directory. */
	fd = open(ipath, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(bz_load(kpath, ipath, ram, RAM_SIZE, "", &boot, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: the initrd is empty", kpath);
	assert_string_equal(err, want);
	unlink(ipath);
	assert_int_equal(bz_load(kpath, ipath, ram, RAM_SIZE, "", &boot, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot open %s: No such file or directory", ipath);
	assert_string_equal(err, want);
	assert_int_equal(bz_load(kpath, "/tmp", ram, RAM_SIZE, "", &boot, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp: not a regular file of at most 1 GiB");
	unlink(kpath);
	assert_int_equal(bz_load(kpath, NULL, ram, RAM_SIZE, "", &boot, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot open %s: No such file or directory", kpath);
	assert_string_equal(err, want);
}

/* ------------------------------------------------------------ MP table */

static uint8_t sum8(uint32_t addr, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + ram[addr + i]);
	return sum;
}

static uint16_t rd16(uint32_t addr)
{
	uint16_t v;

	memcpy(&v, ram + addr, 2);
	return v;
}

/* One 8-byte interrupt entry as expected: entry type, interrupt type,
 * flags 0, bus 0, source IRQ, destination, pin. */
static uint32_t expect_int(uint32_t at, uint8_t entry, uint8_t type, uint8_t irq, uint8_t dest,
			   uint8_t pin)
{
	const uint8_t want[8] = { entry, type, 0, 0, 0, irq, dest, pin };

	assert_memory_equal(ram + at, want, 8);
	return at + 8;
}

/* Parses back the table of nr_cpus processors: every field, both checksums. */
static void expect_mptable(unsigned nr_cpus, uint8_t ioapic_version)
{
	const uint32_t cfg = 0xF0010;
	const uint16_t len = (uint16_t)(44 + nr_cpus * 20 + 20 * 8);
	uint32_t at;

	/* Floating pointer: "_MP_", pointer, 1 paragraph, rev 1.4, features 0. */
	assert_memory_equal(ram + 0xF0000, "_MP_", 4);
	assert_int_equal(rd32(0xF0004), cfg);
	assert_int_equal(ram[0xF0008], 1);
	assert_int_equal(ram[0xF0009], 4);
	assert_int_equal(sum8(0xF0000, 16), 0);
	for (unsigned i = 11; i < 16; i++)
		assert_int_equal(ram[0xF0000 + i], 0);

	/* Header. */
	assert_memory_equal(ram + cfg, "PCMP", 4);
	assert_int_equal(rd16(cfg + 4), len);
	assert_int_equal(mpt_config_len(nr_cpus), len);
	assert_int_equal(ram[cfg + 6], 4);
	assert_int_equal(sum8(cfg, len), 0);
	assert_memory_equal(ram + cfg + 8, "VIRQ    VIRQ-VMM    ", 20);
	assert_int_equal(rd32(cfg + 28), 0);
	assert_int_equal(rd16(cfg + 32), 0);
	assert_int_equal(rd16(cfg + 34), nr_cpus + 20);
	assert_int_equal(rd32(cfg + 36), 0xFEE00000);
	assert_int_equal(rd32(cfg + 40), 0);

	/* Processors: APIC ID i, version 0x14, enabled, BSP on 0. */
	at = cfg + 44;
	for (unsigned i = 0; i < nr_cpus; i++, at += 20) {
		assert_int_equal(ram[at], 0);
		assert_int_equal(ram[at + 1], i);
		assert_int_equal(ram[at + 2], 0x14);
		assert_int_equal(ram[at + 3], i == 0 ? 3 : 1);
		assert_int_equal(rd32(at + 4), 0x000806F8);
		assert_int_equal(rd32(at + 8), 0x178BFBFF);
		assert_int_equal(rd64(at + 12), 0);
	}
	/* Bus 0 ISA; I/O APIC nr_cpus at 0xFEC00000, enabled. */
	assert_memory_equal(ram + at, "\x01\x00ISA   ", 8);
	at += 8;
	assert_int_equal(ram[at], 2);
	assert_int_equal(ram[at + 1], nr_cpus);
	assert_int_equal(ram[at + 2], ioapic_version);
	assert_int_equal(ram[at + 3], 1);
	assert_int_equal(rd32(at + 4), 0xFEC00000);
	at += 8;
	/* ExtINT on pin 0, IRQ 0 on pin 2, IRQs 1, 3-15 on their own pins. */
	at = expect_int(at, 3, 3, 0, (uint8_t)nr_cpus, 0);
	at = expect_int(at, 3, 0, 0, (uint8_t)nr_cpus, 2);
	at = expect_int(at, 3, 0, 1, (uint8_t)nr_cpus, 1);
	for (uint8_t irq = 3; irq < 16; irq++)
		at = expect_int(at, 3, 0, irq, (uint8_t)nr_cpus, irq);
	/* ExtINT on LINT0, NMI on LINT1, of every local APIC. */
	at = expect_int(at, 4, 3, 0, 0xFF, 0);
	at = expect_int(at, 4, 1, 0, 0xFF, 1);
	assert_int_equal(at, cfg + len);
	assert_int_equal(ram[at], POISON);
	assert_int_equal(ram[0xEFFFF], POISON);
}

static void test_mptable(void **state)
{
	struct mpt_config cfg = { .nr_cpus = 3,
				  .ioapic_version = 0x20,
				  .cpu_signature = 0x000806F8,
				  .cpu_features = 0x178BFBFF };
	char err[128] = "";

	(void)state;
	assert_int_equal(mpt_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), 0);
	expect_mptable(3, 0x20);

	memset(ram, POISON, RAM_SIZE);
	cfg.nr_cpus = 1;
	cfg.ioapic_version = 0x11;
	assert_int_equal(mpt_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), 0);
	expect_mptable(1, 0x11);

	memset(ram, POISON, RAM_SIZE);
	cfg.nr_cpus = 64;
	assert_int_equal(mpt_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), 0);
	expect_mptable(64, 0x11);
}

static void test_mptable_refusals(void **state)
{
	struct mpt_config cfg = { .nr_cpus = 0, .ioapic_version = 0x20 };
	char err[128] = "";

	(void)state;
	assert_int_equal(mpt_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "MP table: 0 processors (want 1-64)");
	cfg.nr_cpus = 65;
	assert_int_equal(mpt_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "MP table: 65 processors (want 1-64)");
	cfg.nr_cpus = 2;
	cfg.ioapic_version = 0x21;
	assert_int_equal(mpt_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "MP table: I/O APIC version 0x21 (want 0x11 or 0x20)");
	cfg.ioapic_version = 0x20;
	assert_int_equal(mpt_write(ram, 0xF0000, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "MP table: guest RAM ends below 0x"));
	for (size_t i = 0; i < RAM_SIZE; i++)
		if (ram[i] != POISON)
			fail_msg("RAM written at 0x%zx", i);
}

/* ---------------------------------------------------------------- ACPI */

/* The common header of the table at addr: signature, length, revision,
 * checksum over length, OEM and creator fields. */
static void expect_acpi_header(uint32_t addr, const char *sig, uint32_t len, uint8_t rev)
{
	assert_memory_equal(ram + addr, sig, 4);
	assert_int_equal(rd32(addr + 4), len);
	assert_int_equal(ram[addr + 8], rev);
	assert_int_equal(sum8(addr, len), 0);
	assert_memory_equal(ram + addr + 10, "VIRQ  VIRQ-VMM", 14);
	assert_int_equal(rd32(addr + 24), 1);
	assert_memory_equal(ram + addr + 28, "VIRQ", 4);
	assert_int_equal(rd32(addr + 32), 1);
}

static void expect_acpi(unsigned nr_cpus)
{
	const uint32_t madt_len = 36 + 8 + nr_cpus * 8 + 12 + 10 + 6;
	uint32_t rsdt, xsdt, fadt, madt, dsdt, facs, at;

	/* RSDP: both checksums, revision 2, the RSDT and XSDT. */
	assert_memory_equal(ram + 0xE0000, "RSD PTR ", 8);
	assert_int_equal(sum8(0xE0000, 20), 0);
	assert_int_equal(sum8(0xE0000, 36), 0);
	assert_memory_equal(ram + 0xE0009, "VIRQ  ", 6);
	assert_int_equal(ram[0xE000F], 2);
	assert_int_equal(rd32(0xE0014), 36);
	assert_int_equal(ram[0xE0021] | ram[0xE0022] | ram[0xE0023], 0);
	rsdt = rd32(0xE0010);
	xsdt = (uint32_t)rd64(0xE0018);

	/* RSDT and XSDT: the FADT, then the MADT. */
	expect_acpi_header(rsdt, "RSDT", 44, 1);
	expect_acpi_header(xsdt, "XSDT", 52, 1);
	fadt = rd32(rsdt + 36);
	madt = rd32(rsdt + 40);
	assert_int_equal(rd64(xsdt + 36), fadt);
	assert_int_equal(rd64(xsdt + 44), madt);

	/* FADT: FACS, DSDT (both forms), SCI 9, no C2/C3, legacy devices,
	 * WBINVD | PROC_C1 | PWR_BUTTON | SLP_BUTTON; every PM, GPE, SMI and
	 * reset field zero. */
	expect_acpi_header(fadt, "FACP", 276, 6);
	facs = rd32(fadt + 36);
	dsdt = rd32(fadt + 40);
	assert_int_equal(rd64(fadt + 140), dsdt);
	assert_int_equal(rd64(fadt + 132), 0);
	assert_int_equal(rd16(fadt + 46), 9);
	assert_int_equal(rd32(fadt + 48), 0);
	for (uint32_t off = 56; off < 96; off++)
		assert_int_equal(ram[fadt + off], 0);
	assert_int_equal(rd16(fadt + 96), 0x0FFF);
	assert_int_equal(rd16(fadt + 98), 0x0FFF);
	assert_int_equal(rd16(fadt + 109), 1);
	assert_int_equal(rd32(fadt + 112), 0x35);
	for (uint32_t off = 116; off < 132; off++)
		assert_int_equal(ram[fadt + off], 0);
	for (uint32_t off = 148; off < 276; off++)
		assert_int_equal(ram[fadt + off], 0);

	/* FACS: 64-byte aligned, version 2. DSDT: a header only. */
	assert_int_equal(facs % 64, 0);
	assert_memory_equal(ram + facs, "FACS", 4);
	assert_int_equal(rd32(facs + 4), 64);
	assert_int_equal(ram[facs + 32], 2);
	expect_acpi_header(dsdt, "DSDT", 36, 2);

	/* MADT: LAPIC address, PCAT_COMPAT, one enabled LAPIC per vCPU,
	 * the I/O APIC, IRQ 0 -> GSI 2, NMI on LINT1 of all processors. */
	expect_acpi_header(madt, "APIC", madt_len, 4);
	assert_int_equal(rd32(madt + 36), 0xFEE00000);
	assert_int_equal(rd32(madt + 40), 1);
	at = madt + 44;
	for (unsigned i = 0; i < nr_cpus; i++, at += 8) {
		const uint8_t want[8] = { 0, 8, (uint8_t)i, (uint8_t)i, 1, 0, 0, 0 };

		assert_memory_equal(ram + at, want, 8);
	}
	{
		const uint8_t ioapic[12] = { 1, 12, (uint8_t)nr_cpus, 0, 0, 0, 0xC0, 0xFE, 0, 0,
					     0, 0 };
		const uint8_t iso[10] = { 2, 10, 0, 0, 2, 0, 0, 0, 0, 0 };
		const uint8_t nmi[6] = { 4, 6, 0xFF, 0, 0, 1 };

		assert_memory_equal(ram + at, ioapic, 12);
		assert_memory_equal(ram + at + 12, iso, 10);
		assert_memory_equal(ram + at + 22, nmi, 6);
	}
	assert_int_equal(at + 28, madt + madt_len);
	/* Nothing outside the area. */
	assert_int_equal(ram[0xDFFFF], POISON);
	assert_int_equal(ram[0xE1000], POISON);
}

static void test_acpi(void **state)
{
	struct acpi_config cfg = { .nr_cpus = 3,
				   .lapic_addr = 0xFEE00000,
				   .ioapic_addr = 0xFEC00000 };
	char err[128] = "";

	(void)state;
	assert_int_equal(acpi_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), 0);
	expect_acpi(3);
	memset(ram, POISON, RAM_SIZE);
	cfg.nr_cpus = 1;
	assert_int_equal(acpi_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), 0);
	expect_acpi(1);
	memset(ram, POISON, RAM_SIZE);
	cfg.nr_cpus = 64;
	assert_int_equal(acpi_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), 0);
	expect_acpi(64);
	assert_int_equal(acpi_madt_len(64), 584);

	/* Refusals write nothing. */
	memset(ram, POISON, RAM_SIZE);
	cfg.nr_cpus = 0;
	assert_int_equal(acpi_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "ACPI tables: 0 processors (want 1-64)");
	cfg.nr_cpus = 65;
	assert_int_equal(acpi_write(ram, RAM_SIZE, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "ACPI tables: 65 processors (want 1-64)");
	cfg.nr_cpus = 2;
	assert_int_equal(acpi_write(ram, 0xE0FFF, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "ACPI tables: guest RAM ends below 0xe1000");
	for (size_t i = 0; i < RAM_SIZE; i++)
		if (ram[i] != POISON)
			fail_msg("RAM written at 0x%zx", i);
}

/* QEMU's -kernel IMAGE -append TEXT (hw/i386/multiboot.c) gives the kernel
 * "IMAGE TEXT": the image as named on the command line, one space, the text
 * as it is; without -append (or with an empty one) "IMAGE ", trailing space
 * included (checked against QEMU 7.2). virq-vmm IMAGE --cmdline TEXT gives
 * the same string. */
static void expect_cmdline(const char *image, const char *text, const char *want)
{
	char *got = mb_cmdline(image, text);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_cmdline_like_qemu(void **state)
{
	(void)state;
	expect_cmdline("/x/y.elf", "a b", "/x/y.elf a b");
	expect_cmdline("/x/y.elf", "", "/x/y.elf ");
	expect_cmdline("/x/y.elf", NULL, "/x/y.elf ");
	expect_cmdline("y.elf", " a  b ", "y.elf  a  b ");
	expect_cmdline("../build/tests/guests/pic.elf", "pic-latch",
		       "../build/tests/guests/pic.elf pic-latch");
	expect_cmdline("dir with space/k.elf", "q", "dir with space/k.elf q");
}

/* --------------------------------------------------------------- devices */

#define NR_CPUS 4
#define DEV_RAM_SIZE 0x123456789Aull

struct recorder {
	pthread_mutex_t lock; /* console is called from several threads in one test */
	char console[64];
	unsigned console_len, console_total;
	int exits[8];
	unsigned nr_exits;
	unsigned gsi[64];
	bool level[64];
	unsigned nr_gsi;
	uint64_t msi_addr;
	uint32_t msi_data;
	unsigned nr_msi;
	unsigned nr_snapshots;
	unsigned nr_timer_changed;
};

static struct recorder rec;
static struct dev_state dev;
static uint64_t fake_ns; /* the devices' clock */

static uint64_t rec_now_ns(void *ctx)
{
	(void)ctx;
	return __atomic_load_n(&fake_ns, __ATOMIC_RELAXED);
}

static void rec_timer_changed(void *ctx)
{
	struct recorder *r = ctx;

	r->nr_timer_changed++;
}

static void rec_set_gsi(void *ctx, unsigned gsi, bool level)
{
	struct recorder *r = ctx;

	assert_true(r->nr_gsi < sizeof(r->gsi) / sizeof(r->gsi[0]));
	r->gsi[r->nr_gsi] = gsi;
	r->level[r->nr_gsi++] = level;
}

static void rec_send_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct recorder *r = ctx;

	r->msi_addr = addr;
	r->msi_data = data;
	r->nr_msi++;
}

static void rec_exit_vm(void *ctx, int status)
{
	struct recorder *r = ctx;

	r->exits[r->nr_exits++] = status;
}

static void rec_console(void *ctx, char c)
{
	struct recorder *r = ctx;

	pthread_mutex_lock(&r->lock);
	if (r->console_len < sizeof(r->console) - 1)
		r->console[r->console_len++] = c;
	r->console_total++;
	pthread_mutex_unlock(&r->lock);
}

static void rec_snapshot(void *ctx)
{
	struct recorder *r = ctx;

	r->nr_snapshots++;
}

/* The CMOS RTC's wall clock: 2026-12-06 15:30:45 UTC, a Sunday, unless a
 * test sets another. */
static int64_t fake_wall = 1796571045;

static int64_t rec_wall_s(void *ctx)
{
	(void)ctx;
	return fake_wall;
}

static const struct dev_hooks hooks = {
	.ctx = &rec,
	.set_gsi = rec_set_gsi,
	.send_msi = rec_send_msi,
	.exit_vm = rec_exit_vm,
	.console = rec_console,
	.snapshot = rec_snapshot,
	.now_ns = rec_now_ns,
	.wall_s = rec_wall_s,
	.timer_changed = rec_timer_changed,
};

static int dev_setup(void **state)
{
	(void)state;
	memset(&rec, 0, sizeof(rec));
	pthread_mutex_init(&rec.lock, NULL);
	fake_ns = 5000000000u; /* 5 s: the PIT's epoch is not the clock's */
	fake_wall = 1796571045;
	dev_init(&dev, &hooks, NR_CPUS, DEV_RAM_SIZE);
	return 0;
}

static int dev_teardown(void **state)
{
	(void)state;
	dev_destroy(&dev);
	pthread_mutex_destroy(&rec.lock);
	return 0;
}

static bool out(uint16_t port, unsigned size, uint32_t val)
{
	uint8_t data[4];

	memcpy(data, &val, sizeof(data));
	return dev_pio(&dev, port, true, size, data);
}

/* Reads and checks whether the port was handled. */
static uint32_t in_h(uint16_t port, unsigned size, bool want_handled)
{
	uint8_t data[4] = { 0x5A, 0x5A, 0x5A, 0x5A };
	uint32_t val = 0;

	assert_int_equal(dev_pio(&dev, port, false, size, data), want_handled);
	memcpy(&val, data, size);
	if (size < 4)
		assert_int_equal(data[size], 0x5A); /* no byte past the access touched */
	return val;
}

static uint32_t in(uint16_t port, unsigned size)
{
	return in_h(port, size, true);
}

static void test_com1(void **state)
{
	(void)state;
	assert_true(out(0x3F8, 1, 'h'));
	assert_true(out(0x3F8, 1, 'i'));
	assert_true(out(0x3F8, 1, '\n'));
	assert_string_equal(rec.console, "hi\n");
	assert_int_equal(in(0x3FD, 1), 0x60);
	assert_int_equal(in(0x3FA, 1), 0x01);
	assert_int_equal(in(0x3FE, 1), 0xB0);
	assert_int_equal(in(0x3F8, 1), 0);

	/* DLAB: 0x3F8/0x3F9 become the divisor latch; nothing is printed. */
	assert_true(out(0x3FB, 1, 0x83));
	assert_int_equal(in(0x3FB, 1), 0x83);
	assert_true(out(0x3F8, 1, 0x01));
	assert_true(out(0x3F9, 1, 0x02));
	assert_int_equal(in(0x3F8, 1), 0x01);
	assert_int_equal(in(0x3F9, 1), 0x02);
	assert_int_equal(rec.console_total, 3);
	assert_true(out(0x3FB, 1, 0x03));
	assert_int_equal(in(0x3F9, 1), 0); /* IER, untouched by the divisor write */

	assert_true(out(0x3F9, 1, 0x05));
	assert_true(out(0x3FC, 1, 0x0B));
	assert_true(out(0x3FF, 1, 0x77));
	assert_int_equal(in(0x3F9, 1), 0x05);
	assert_int_equal(in(0x3FC, 1), 0x0B);
	assert_int_equal(in(0x3FF, 1), 0x77);

	/* A word write to THR is two byte accesses: 'o' to THR, 'k' to IER,
	 * whose bits 7-4 always read 0. */
	assert_true(out(0x3F8, 2, 'o' | 'k' << 8));
	assert_int_equal(rec.console_total, 4);
	assert_int_equal(in(0x3F9, 1), 'k' & 0x0F);
}

static void test_debug_exit(void **state)
{
	(void)state;
	assert_true(out(0xF4, 1, 0));
	assert_true(out(0xF4, 1, 1));
	assert_true(out(0xF4, 4, 0x10));
	assert_true(out(0xF4, 2, 0x0102));
	assert_int_equal(rec.nr_exits, 4);
	assert_int_equal(rec.exits[0], 1);
	assert_int_equal(rec.exits[1], 3);
	assert_int_equal(rec.exits[2], 0x21);
	assert_int_equal(rec.exits[3], 0x205);
	assert_int_equal(in(0xF4, 1), 0xFF);
	assert_int_equal(in(0xF4, 4), 0xFFFFFFFFu);
}

static void write_string(uint16_t port, const char *s)
{
	while (*s)
		assert_true(out(port, 1, (uint8_t)*s++));
}

static void test_shutdown_port(void **state)
{
	(void)state;
	write_string(0x8900, "Shutdow");
	assert_int_equal(rec.nr_exits, 0);
	write_string(0x8900, "n");
	assert_int_equal(rec.nr_exits, 1);
	assert_int_equal(rec.exits[0], 0);

	write_string(0x8900, "ShuShutdown");
	assert_int_equal(rec.nr_exits, 2);

	write_string(0x8900, "Shut down");
	assert_int_equal(rec.nr_exits, 2);

	/* "Shut" + "down" as two dwords. */
	assert_true(out(0x8900, 4, 'S' | 'h' << 8 | 'u' << 16 | (uint32_t)'t' << 24));
	assert_true(out(0x8900, 4, 'd' | 'o' << 8 | 'w' << 16 | (uint32_t)'n' << 24));
	assert_int_equal(rec.nr_exits, 3);
	assert_int_equal(rec.exits[2], 0);
}

/* Selects key (16-bit write) and reads n bytes through the data port. */
static void fw_cfg_read(uint16_t key, uint8_t *buf, unsigned n)
{
	assert_true(out(0x510, 2, key));
	for (unsigned i = 0; i < n; i++)
		buf[i] = (uint8_t)in(0x511, 1);
}

static void test_fw_cfg(void **state)
{
	const uint8_t ncpu[] = { NR_CPUS, 0, 0, 0 };
	const uint8_t ram_size[] = { 0x9A, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0 };
	const uint8_t sig[] = { 'Q', 'E', 'M', 'U', 0, 0 };
	const uint8_t id[] = { 1, 0, 0, 0 };
	const uint8_t zeros[8] = { 0 };
	uint8_t buf[16];

	(void)state;
	fw_cfg_read(0x05, buf, sizeof(ncpu));
	assert_memory_equal(buf, ncpu, sizeof(ncpu));
	fw_cfg_read(0x0F, buf, sizeof(ncpu));
	assert_memory_equal(buf, ncpu, sizeof(ncpu));
	fw_cfg_read(0x03, buf, sizeof(ram_size));
	assert_memory_equal(buf, ram_size, sizeof(ram_size));
	fw_cfg_read(0x00, buf, sizeof(sig));
	assert_memory_equal(buf, sig, sizeof(sig));
	fw_cfg_read(0x01, buf, sizeof(id));
	assert_memory_equal(buf, id, sizeof(id));
	fw_cfg_read(0x11, buf, sizeof(zeros));
	assert_memory_equal(buf, zeros, sizeof(zeros));
	fw_cfg_read(0x1234, buf, sizeof(zeros));
	assert_memory_equal(buf, zeros, sizeof(zeros));

	/* Reselecting rewinds; a byte-wide select uses the byte; wide data reads
	 * take successive bytes. */
	assert_true(out(0x510, 1, 0x00));
	assert_int_equal(in(0x511, 2), 'Q' | 'E' << 8);
	assert_int_equal(in(0x511, 2), 'M' | 'U' << 8);
	assert_int_equal(in(0x511, 2), 0);
	assert_true(out(0x511, 1, 0x42)); /* data writes are ignored */
	assert_int_equal(in(0x510, 2), 0);
}

static void test_testdev_lines(void **state)
{
	(void)state;
	assert_true(out(0x2004, 1, 1));
	assert_true(out(0x2017, 1, 0));
	assert_true(out(0x2000, 1, 0x80));
	assert_int_equal(rec.nr_gsi, 3);
	assert_int_equal(rec.gsi[0], 4);
	assert_true(rec.level[0]);
	assert_int_equal(rec.gsi[1], 23);
	assert_false(rec.level[1]);
	assert_int_equal(rec.gsi[2], 0);
	assert_true(rec.level[2]);
	assert_int_equal(in(0x2000, 1), 0);

	/* A word write drives two consecutive lines. */
	assert_true(out(0x2008, 2, 0x0001));
	assert_int_equal(rec.nr_gsi, 5);
	assert_int_equal(rec.gsi[3], 8);
	assert_true(rec.level[3]);
	assert_int_equal(rec.gsi[4], 9);
	assert_false(rec.level[4]);

	assert_false(out(0x2018, 1, 1));
	assert_int_equal(rec.nr_gsi, 5);
}

static void test_msi_port(void **state)
{
	(void)state;
	assert_true(out(0x2100, 4, 0xFEE01000u));
	assert_true(out(0x2104, 4, 0));
	assert_int_equal(rec.nr_msi, 0);
	assert_true(out(0x2108, 4, 0x4031));
	assert_int_equal(rec.nr_msi, 1);
	assert_int_equal(rec.msi_addr, 0xFEE01000u);
	assert_int_equal(rec.msi_data, 0x4031);

	assert_true(out(0x2104, 4, 0x1));
	assert_true(out(0x2108, 4, 0x22));
	assert_int_equal(rec.nr_msi, 2);
	assert_int_equal(rec.msi_addr, 0x1FEE01000ull);
	assert_int_equal(rec.msi_data, 0x22);

	assert_int_equal(in(0x2100, 4), 0xFEE01000u);
	assert_int_equal(in(0x2104, 4), 1);
	assert_int_equal(in(0x210C, 4), 0x76697271u);
	assert_int_equal(in(0x210C, 4), DEV_VIRQ_MAGIC);
	in_h(0x2101, 1, false);
}

static void test_scratch_and_post(void **state)
{
	(void)state;
	assert_true(out(0xE0, 4, 0xDEADBEEFu));
	assert_true(out(0xE8, 2, 0x1234));
	assert_int_equal(in(0xE0, 4), 0xDEADBEEFu);
	assert_int_equal(in(0xE0, 1), 0xEF);
	assert_int_equal(in(0xE8, 4), 0x1234);
	assert_true(out(0xE0, 1, 0x7F)); /* stored zero-extended */
	assert_int_equal(in(0xE0, 4), 0x7F);
	assert_true(out(0xE4, 4, 0x1000));
	assert_int_equal(in(0xE4, 4), 0);
	assert_true(out(0x80, 1, 0x42));
	assert_int_equal(rec.nr_exits + rec.nr_gsi + rec.nr_msi + rec.console_total, 0);
}

static void test_unhandled_ports(void **state)
{
	(void)state;
	assert_int_equal(in_h(0x1234, 1, false), 0xFF);
	assert_int_equal(in_h(0x1234, 2, false), 0xFFFF);
	assert_int_equal(in_h(0x1234, 4, false), 0xFFFFFFFFu);
	assert_int_equal(in_h(0xCFC, 4, false), 0xFFFFFFFFu);
	assert_int_equal(in_h(0xCF8, 4, false), 0xFFFFFFFFu);
	assert_false(out(0xCF8, 4, 0x80000000u));
	assert_false(out(0x92, 1, 0x02)); /* no fast A20 gate */
	/* The 8259 and ELCR ports are the KVM glue's, never the devices'. */
	assert_int_equal(in_h(0x21, 1, false), 0xFF);
	assert_false(out(0x20, 1, 0x11));
	assert_int_equal(in_h(0x4D0, 2, false), 0xFFFF);
	/* Half in COM1, half outside: the COM1 byte is served, the call is not handled. */
	assert_int_equal(in_h(0x3FF, 2, false), 0xFF00);
	assert_int_equal(rec.nr_exits + rec.nr_gsi + rec.nr_msi + rec.console_total, 0);
}

static void test_snapshot_port(void **state)
{
	struct dev_hooks no_snap = hooks;
	struct dev_state d2;
	uint8_t b = 1;

	(void)state;
	/* Any width, any value, any of its four ports: one request each. */
	assert_true(out(0x2200, 1, 0));
	assert_int_equal(rec.nr_snapshots, 1);
	assert_true(out(0x2202, 2, 0xFFFF));
	assert_true(out(0x2200, 4, 7));
	assert_int_equal(rec.nr_snapshots, 3);
	/* Reads: the restore count, no request. */
	assert_int_equal(in(0x2200, 4), 0);
	dev.restores = 2;
	assert_int_equal(in(0x2200, 4), 2);
	assert_int_equal(in(0x2200, 1), 2);
	assert_int_equal(rec.nr_snapshots, 3);
	assert_false(out(0x2204, 1, 1));
	assert_int_equal(rec.nr_snapshots, 3);
	assert_int_equal(rec.nr_exits + rec.nr_gsi + rec.nr_msi, 0);

	/* Without the hook (no --save) the write is taken and does nothing. */
	no_snap.snapshot = NULL;
	dev_init(&d2, &no_snap, NR_CPUS, DEV_RAM_SIZE);
	assert_true(dev_pio(&d2, 0x2200, true, 1, &b));
	assert_int_equal(rec.nr_snapshots, 3);
	dev_destroy(&d2);
}

/* ------------------------------------------------------------- PIT, 0x61 */

#define PIT_HZ 1193182u
#define T0_NS 5000000000u /* dev_setup()'s clock: PIT tick 5 * PIT_HZ */

/* Sets the clock to the first nanosecond of PIT tick t after T0_NS. */
static void set_tick(uint64_t t)
{
	fake_ns = T0_NS + (t * 1000000000u + PIT_HZ - 1) / PIT_HZ;
}

/* The clock time poll deadlines name for tick t after T0_NS. */
static uint64_t tick_ns(uint64_t t)
{
	return T0_NS + (t * 1000000000u + PIT_HZ - 1) / PIT_HZ;
}

static void pit_program(uint8_t control, uint16_t port, uint16_t count)
{
	assert_true(out(0x43, 1, control));
	assert_true(out(port, 1, count & 0xFF));
	assert_true(out(port, 1, count >> 8));
}

/* An unlatched LSB-then-MSB read of the live count. */
static uint16_t pit_read16(uint16_t port)
{
	uint16_t lo = (uint16_t)in(port, 1);

	return (uint16_t)(lo | in(port, 1) << 8);
}

/* Read-back of channel ch's status alone. */
static uint8_t pit_status(unsigned ch)
{
	assert_true(out(0x43, 1, 0xE0 | 2u << ch));
	return (uint8_t)in(0x40 + ch, 1);
}

/* The GSI 0 pulses recorded from entry i on: each is high then low. */
static unsigned pulses_since(unsigned i)
{
	unsigned n = 0;

	for (; i < rec.nr_gsi; i += 2) {
		assert_int_equal(rec.gsi[i], 0);
		assert_true(rec.level[i]);
		assert_true(i + 1 < rec.nr_gsi);
		assert_int_equal(rec.gsi[i + 1], 0);
		assert_false(rec.level[i + 1]);
		n++;
	}
	return n;
}

/* The devices' state saves, restores into a fresh set and saves the same. */
static void snapshot_round_trip(void)
{
	unsigned kicks = rec.nr_timer_changed, lines = rec.nr_gsi;
	struct dev_snapshot st, again;
	struct dev_state d2;

	dev_save(&dev, &st);
	dev_init(&d2, &hooks, NR_CPUS, DEV_RAM_SIZE);
	assert_true(dev_restore(&d2, &st));
	assert_int_equal(rec.nr_timer_changed, kicks + 1); /* the timer polls the new PIT */
	assert_int_equal(rec.nr_gsi, lines);               /* no line driven */
	rec.nr_timer_changed = kicks;
	dev_save(&d2, &again);
	assert_memory_equal(&st, &again, sizeof(st));
	dev_destroy(&d2);
}

static void test_pit_mode0_one_shot(void **state)
{
	(void)state;
	/* Power-on: nothing programmed, no deadline, OUT low, count 0. */
	assert_int_equal(dev_pit_poll(&dev), UINT64_MAX);
	assert_int_equal(pit_status(0), 0x30 | 0x00);
	assert_int_equal(pit_read16(0x40), 0);

	assert_true(out(0x43, 1, 0x30));       /* channel 0, LSB then MSB, mode 0 */
	assert_int_equal(pit_status(0), 0x70); /* OUT low, null count */
	assert_true(out(0x40, 1, 0xE8));
	assert_true(out(0x40, 1, 0x03)); /* 1000 */
	assert_int_equal(rec.nr_timer_changed, 3);
	assert_int_equal(pit_status(0), 0x30); /* loaded: null count clear, OUT low */
	assert_int_equal(pit_read16(0x40), 1000);

	/* 500 us = 596 ticks (1.193182 MHz, rounded down). */
	fake_ns = T0_NS + 500000;
	assert_int_equal(pit_read16(0x40), 1000 - 596);
	assert_int_equal(dev_pit_poll(&dev), T0_NS + 838096); /* tick 1000 */
	assert_int_equal(rec.nr_gsi, 0);
	fake_ns = T0_NS + 838095; /* one ns early: still tick 999 */
	assert_int_equal(pit_read16(0x40), 1);
	assert_int_equal(pit_status(0), 0x30);
	assert_int_equal(dev_pit_poll(&dev), T0_NS + 838096);
	assert_int_equal(rec.nr_gsi, 0);

	/* Terminal count: OUT rises, one pulse on GSI 0, nothing after. */
	fake_ns = T0_NS + 838096;
	assert_int_equal(dev_pit_poll(&dev), UINT64_MAX);
	assert_int_equal(pulses_since(0), 1);
	assert_int_equal(pit_status(0), 0xB0);
	assert_int_equal(pit_read16(0x40), 0);
	set_tick(1001);
	assert_int_equal(pit_read16(0x40), 0xFFFF); /* the count wraps, OUT stays high */
	set_tick(50000);
	assert_int_equal(dev_pit_poll(&dev), UINT64_MAX);
	assert_int_equal(rec.nr_gsi, 2);

	/* Reprogrammed mid-count: the first byte stops the count (OUT low),
	 * the second restarts it from the new value. */
	pit_program(0x30, 0x40, 2000);
	set_tick(50000 + 1500);
	assert_true(out(0x40, 1, 0x10));
	set_tick(50000 + 1600);
	assert_int_equal(pit_read16(0x40), 500); /* held where the LSB write stopped it */
	assert_int_equal(pit_status(0) & 0x80, 0);
	assert_true(out(0x40, 1, 0x00)); /* 0x0010 = 16 ticks from now */
	assert_int_equal(dev_pit_poll(&dev), tick_ns(50000 + 1600 + 16));
	assert_int_equal(rec.nr_gsi, 2);
	set_tick(50000 + 1600 + 16);
	assert_int_equal(dev_pit_poll(&dev), UINT64_MAX);
	assert_int_equal(pulses_since(0), 2);

	/* Mode 4 (Linux's one-shot): OUT low for the tick at count 0, the
	 * pulse when it rises again. A written 0 is 65536. */
	set_tick(100000);
	pit_program(0x38, 0x40, 10);
	assert_int_equal(pit_status(0), 0xB8);
	assert_int_equal(dev_pit_poll(&dev), tick_ns(100011));
	set_tick(100010);
	assert_int_equal(pit_status(0), 0x38);
	assert_int_equal(dev_pit_poll(&dev), tick_ns(100011));
	assert_int_equal(pulses_since(0), 2);
	set_tick(100011);
	assert_int_equal(dev_pit_poll(&dev), UINT64_MAX);
	assert_int_equal(pulses_since(0), 3);
	pit_program(0x38, 0x40, 0);
	set_tick(100011 + 65536);
	assert_int_equal(pit_read16(0x40), 0);
	assert_int_equal(dev_pit_poll(&dev), tick_ns(100011 + 65537));
}

static void test_pit_mode2_periodic(void **state)
{
	uint64_t next;

	(void)state;
	pit_program(0x34, 0x40, 11932); /* Linux's HZ=100 LATCH: 10.000151 ms */
	assert_int_equal(pit_status(0), 0xB4);
	assert_int_equal(dev_pit_poll(&dev), T0_NS + 10000151);
	fake_ns = T0_NS + 1000000; /* 1 ms: 1193 ticks */
	assert_int_equal(pit_read16(0x40), 11932 - 1193);
	set_tick(11930);
	assert_int_equal(pit_read16(0x40), 2);
	assert_int_equal(pit_status(0) & 0x80, 0x80);
	set_tick(11931);
	assert_int_equal(pit_read16(0x40), 1);
	assert_int_equal(pit_status(0) & 0x80, 0); /* low for the one tick at count 1 */
	set_tick(11932);
	assert_int_equal(pit_read16(0x40), 11932); /* reloaded */
	assert_int_equal(pit_status(0) & 0x80, 0x80);

	/* One pulse per period, the deadline the next period's end. */
	for (unsigned k = 1; k <= 10; k++) {
		set_tick(11932ull * k);
		assert_int_equal(dev_pit_poll(&dev), tick_ns(11932ull * (k + 1)));
		assert_int_equal(pulses_since(0), k);
	}
	for (unsigned k = 11; k <= 15; k++) {
		set_tick(11932ull * k);
		assert_int_equal(dev_pit_poll(&dev), tick_ns(11932ull * (k + 1)));
	}
	set_tick(11932ull * 15 + 5966);
	assert_int_equal(dev_pit_poll(&dev), tick_ns(11932ull * 16));
	assert_int_equal(pulses_since(0), 15);

	/* A new count while counting: the current period ends as it was
	 * programmed, then the new one runs (null count until then). */
	set_tick(11932ull * 16 + 100);
	assert_int_equal(dev_pit_poll(&dev), tick_ns(11932ull * 17));
	assert_int_equal(pulses_since(0), 16);
	assert_true(out(0x40, 1, 5966 & 0xFF));
	assert_true(out(0x40, 1, 5966 >> 8));
	assert_int_equal(pit_status(0), 0xF4);
	snapshot_round_trip(); /* a count pending */
	set_tick(11932ull * 16 + 200);
	assert_int_equal(pit_read16(0x40), 11932 - 200);
	next = dev_pit_poll(&dev);
	assert_int_equal(next, tick_ns(11932ull * 17));
	set_tick(11932ull * 17);
	assert_int_equal(dev_pit_poll(&dev), tick_ns(11932ull * 17 + 5966));
	assert_int_equal(pulses_since(0), 17);
	assert_int_equal(pit_status(0), 0xB4);
	set_tick(11932ull * 17 + 1);
	assert_int_equal(pit_read16(0x40), 5965);
	set_tick(11932ull * 17 + 5966);
	assert_int_equal(dev_pit_poll(&dev), tick_ns(11932ull * 17 + 2 * 5966));
	assert_int_equal(pulses_since(0), 18);

	/* An edge the timer has not delivered yet is delivered by the
	 * control word that ends the count: reprogramming loses no tick. */
	set_tick(11932ull * 17 + 2 * 5966 + 10);
	assert_true(out(0x43, 1, 0x34));
	assert_int_equal(pulses_since(0), 19);
	assert_int_equal(dev_pit_poll(&dev), UINT64_MAX); /* no count yet */
	assert_int_equal(pulses_since(0), 19);

	/* A period shorter than DEV_PIT_MIN_NS: deadlines no closer than that. */
	pit_program(0x34, 0x40, 2);
	assert_int_equal(dev_pit_poll(&dev), fake_ns + DEV_PIT_MIN_NS);
}

/* Periodic edges the host was late for are owed: one pulse when the timer
 * wakes, then one per half period (DEV_PIT_MIN_NS at least) beside the
 * edges on the grid, until the debt is paid; at most one second of edges
 * is owed; reprogramming channel 0 voids the debt. */
static void test_pit_catch_up(void **state)
{
	uint64_t half, t, dl;

	(void)state;
	pit_program(0x34, 0x40, 11932); /* HZ=100: 10.000151 ms */
	half = 10000151 / 2;
	set_tick(11932);
	assert_int_equal(dev_pit_poll(&dev), tick_ns(2 * 11932ull));
	assert_int_equal(pulses_since(0), 1);
	/* Late by 3.25 periods: edges 2, 3, 4 and 5 were due; one now, 3 owed. */
	set_tick(5 * 11932ull + 2983);
	t = fake_ns;
	assert_int_equal(dev_pit_poll(&dev), t + half);
	assert_int_equal(pulses_since(0), 2);
	assert_int_equal(dev.pit_owed, 3);
	fake_ns = t + half - 1; /* early wake: nothing */
	assert_int_equal(dev_pit_poll(&dev), t + half);
	assert_int_equal(pulses_since(0), 2);
	fake_ns = t + half; /* an owed one; the grid's edge 6 is next */
	dl = dev_pit_poll(&dev);
	assert_int_equal(dl, tick_ns(6 * 11932ull));
	assert_int_equal(pulses_since(0), 3);
	assert_int_equal(dev.pit_owed, 2);
	/* The timer thread's loop until edge 8: the grid's edges 6, 7, 8 and
	 * the two owed, one pulse per wake, never two closer than
	 * DEV_PIT_MIN_NS. */
	while (dl <= tick_ns(8 * 11932ull)) {
		fake_ns = dl;
		dl = dev_pit_poll(&dev);
		assert_true(dl >= fake_ns + DEV_PIT_MIN_NS);
	}
	assert_int_equal(pulses_since(0), 8);
	assert_int_equal(dev.pit_owed, 0);

	/* Late by ten seconds: at most one second of edges owed (1193182 /
	 * 11932: 99 periods of 10.000151 ms), not 998. */
	set_tick(11932ull * 1007);
	(void)dev_pit_poll(&dev);
	assert_int_equal(dev.pit_owed, 99);
	/* A new count voids the debt. */
	assert_true(out(0x40, 1, 11932 & 0xFF));
	assert_true(out(0x40, 1, 11932 >> 8));
	assert_int_equal(dev.pit_owed, 0);
}

static void test_pit_mode3_square_wave(void **state)
{
	static const struct {
		uint64_t tick;
		uint16_t count;
		bool out;
	} even[] = { { 0, 100, 1 }, { 10, 80, 1 },   { 49, 2, 1 },  { 50, 100, 0 },
		     { 99, 2, 0 },  { 100, 100, 1 }, { 175, 50, 0 } },
	  odd[] = { { 0, 4, 1 }, { 1, 2, 1 }, { 2, 0, 1 }, { 3, 4, 0 }, { 4, 2, 0 }, { 5, 4, 1 } };

	(void)state;
	pit_program(0x36, 0x40, 100);
	for (size_t i = 0; i < sizeof(even) / sizeof(even[0]); i++) {
		set_tick(even[i].tick);
		assert_int_equal(pit_read16(0x40), even[i].count);
		assert_int_equal(pit_status(0) >> 7, even[i].out);
	}
	set_tick(175);
	assert_int_equal(dev_pit_poll(&dev), fake_ns + DEV_PIT_MIN_NS); /* tick 200 is closer */
	assert_int_equal(pulses_since(0), 1);                           /* the rise at tick 100 */
	/* 100 ticks (84 us) is shorter than DEV_PIT_MIN_NS: every deadline
	 * is the last pulse + DEV_PIT_MIN_NS, one pulse each. */
	set_tick(400);
	assert_int_equal(dev_pit_poll(&dev), fake_ns + DEV_PIT_MIN_NS);
	assert_int_equal(pulses_since(0), 2);

	set_tick(1000);
	pit_program(0x36, 0x40, 5);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		set_tick(1000 + odd[i].tick);
		assert_int_equal(pit_read16(0x40), odd[i].count);
		assert_int_equal(pit_status(0) >> 7, odd[i].out);
	}
	/* Mode 7 is mode 3; the BCD bit is reported, the count is binary. */
	pit_program(0x3F, 0x40, 0x0100);
	assert_int_equal(pit_status(0), 0xB7);
	set_tick(1005 + 1);
	assert_int_equal(pit_read16(0x40), 0x0100 - 2);
}

/* Modes 1 and 5 count from a rising gate: counter 2's, port 0x61 bit 0. */
static void test_pit_gate_triggered_modes(void **state)
{
	(void)state;
	pit_program(0xB2, 0x42, 100);          /* counter 2, mode 1, gate low */
	assert_int_equal(pit_status(2), 0xF2); /* OUT high, null count: waits */
	set_tick(10);
	assert_int_equal(pit_read16(0x42), 100);
	assert_true(out(0x61, 1, 0x01));       /* trigger */
	assert_int_equal(pit_status(2), 0x32); /* OUT low until the terminal count */
	set_tick(60);
	assert_int_equal(pit_read16(0x42), 50);
	set_tick(109);
	assert_int_equal(in(0x61, 1) & 0x20, 0x00);
	set_tick(110);
	assert_int_equal(in(0x61, 1) & 0x20, 0x20);
	assert_int_equal(pit_read16(0x42), 0);
	/* A second rising gate retriggers with the same count. */
	set_tick(200);
	assert_true(out(0x61, 1, 0x00));
	assert_true(out(0x61, 1, 0x01));
	set_tick(201);
	assert_int_equal(pit_read16(0x42), 99);
	assert_int_equal(in(0x61, 1) & 0x20, 0x00);

	/* Mode 5 with the gate already high waits for a rising edge; then
	 * OUT is low for the one tick at count 0. */
	pit_program(0xBA, 0x42, 50);
	set_tick(250);
	assert_int_equal(pit_status(2), 0xFA);
	assert_int_equal(pit_read16(0x42), 50);
	set_tick(300);
	assert_true(out(0x61, 1, 0x00));
	assert_true(out(0x61, 1, 0x01));
	set_tick(349);
	assert_int_equal(pit_read16(0x42), 1);
	assert_int_equal(in(0x61, 1) & 0x20, 0x20);
	set_tick(350);
	assert_int_equal(in(0x61, 1) & 0x20, 0x00);
	set_tick(351);
	assert_int_equal(in(0x61, 1) & 0x20, 0x20);
	assert_int_equal(pit_read16(0x42), 0xFFFF);
	snapshot_round_trip();
	assert_int_equal(rec.nr_gsi, 0);
}

static void test_pit_latch_and_read_back(void **state)
{
	(void)state;
	pit_program(0x34, 0x40, 0x1234);
	set_tick(0x10);
	/* Unlatched LSB/MSB reads toggle and take the live count each. */
	assert_int_equal(in(0x40, 1), 0x24);
	set_tick(0x20);
	assert_int_equal(in(0x40, 1), 0x12);
	/* Counter latch: holds until both bytes are read; a second latch
	 * before that is ignored. */
	assert_true(out(0x43, 1, 0x00));
	set_tick(0x30);
	assert_true(out(0x43, 1, 0x00));
	set_tick(0x40);
	assert_int_equal(in(0x40, 1), 0x14);
	assert_int_equal(in(0x40, 1), 0x12);
	assert_int_equal(pit_read16(0x40), 0x1234 - 0x40); /* live again */
	/* A latch taken between the bytes of an unlatched read. */
	assert_int_equal(in(0x40, 1), 0xF4);
	assert_true(out(0x43, 1, 0x00));
	set_tick(0x50);
	assert_int_equal(in(0x40, 1), 0xF4); /* the latch, LSB first */
	assert_int_equal(in(0x40, 1), 0x11);
	assert_int_equal(in(0x40, 1), 0x11); /* the unlatched read's MSB */

	/* LSB-only and MSB-only access: one byte per count. */
	assert_true(out(0x43, 1, 0x54)); /* channel 1, LSB only, mode 2 */
	assert_true(out(0x41, 1, 0x80));
	set_tick(0x51);
	assert_int_equal(in(0x41, 1), 0x7F);
	assert_int_equal(in(0x41, 1), 0x7F);
	assert_true(out(0x43, 1, 0xA4)); /* channel 2, MSB only, mode 2, gate low */
	assert_true(out(0x42, 1, 0x02)); /* 0x200 */
	assert_int_equal(in(0x42, 1), 0x02);
	assert_int_equal(pit_status(2), 0xE4); /* waits for the gate: OUT high, null count */
	assert_true(out(0x43, 1, 0xC2));       /* latch channel 0's status and count, unread */
	snapshot_round_trip();
	assert_int_equal(in(0x40, 1), 0xB4);
	assert_int_equal(in(0x40, 1), 0xE3); /* 0x1234 - 0x51 */
	assert_int_equal(in(0x40, 1), 0x11);

	/* Read-back of channels 0 and 1, count and status: status first. */
	set_tick(0x60);
	assert_true(out(0x43, 1, 0xC6));
	set_tick(0x70);
	assert_int_equal(in(0x40, 1), 0xB4);
	assert_int_equal(in(0x40, 1), 0xD4); /* 0x1234 - 0x60 */
	assert_int_equal(in(0x40, 1), 0x11);
	assert_int_equal(in(0x41, 1), 0x94);
	assert_int_equal(in(0x41, 1), 0x70); /* 0x80 - (0x60 - 0x50) */
	/* Count only, then a control word discards the unread latch: the
	 * count the channel holds is the one at the control word. */
	assert_true(out(0x43, 1, 0xD2));
	set_tick(0x80);
	assert_true(out(0x43, 1, 0x34));
	assert_int_equal(pit_status(0), 0xF4);
	assert_int_equal(pit_read16(0x40), 0x1234 - 0x80);
	assert_int_equal(in(0x43, 1), 0xFF); /* the control register is write-only */
}

static void test_port61_and_channel2(void **state)
{
	(void)state;
	/* Bit 4 toggles on every read; bit 5 is OUT2 (low: mode 0 unloaded). */
	assert_int_equal(in(0x61, 1), 0x00);
	assert_int_equal(in(0x61, 1), 0x10);
	assert_int_equal(in(0x61, 1), 0x00);
	assert_true(out(0x61, 1, 0xF2)); /* speaker enable; bits 7-4 not writable */
	assert_int_equal(in(0x61, 1), 0x12);
	assert_int_equal(in(0x61, 1), 0x02);

	/* Linux's PIT calibration: gate on, speaker off, channel 2 in mode 0
	 * with 0xFFFF, poll bit 5 for the terminal count. */
	assert_true(out(0x61, 1, (in(0x61, 1) & ~0x02u) | 0x01));
	pit_program(0xB0, 0x42, 0xFFFF);
	set_tick(1000);
	assert_int_equal(pit_read16(0x42), 0xFFFF - 1000);
	assert_int_equal(in(0x61, 1) & 0x21, 0x01);
	/* Gate low suspends mode 0; gate high resumes where it stopped. */
	assert_true(out(0x61, 1, 0x00));
	set_tick(5000);
	assert_int_equal(pit_read16(0x42), 0xFFFF - 1000);
	snapshot_round_trip();
	assert_true(out(0x61, 1, 0x01));
	snapshot_round_trip();
	set_tick(5000 + 0xFFFF - 1000 - 1);
	assert_int_equal(in(0x61, 1) & 0x20, 0x00);
	assert_int_equal(pit_read16(0x42), 1);
	set_tick(5000 + 0xFFFF - 1000);
	assert_int_equal(in(0x61, 1) & 0x20, 0x20);
	assert_int_equal(rec.nr_gsi + rec.nr_timer_changed, 0); /* channel 2 drives no GSI */

	/* Mode 2 waits for the gate; a rising gate restarts the count; a
	 * falling one stops it with OUT high. */
	set_tick(100000);
	assert_true(out(0x61, 1, 0x00));
	pit_program(0xB4, 0x42, 100);
	assert_int_equal(pit_status(2), 0xF4);
	set_tick(100050);
	assert_int_equal(pit_read16(0x42), 100);
	assert_true(out(0x61, 1, 0x01));
	set_tick(100060);
	assert_int_equal(pit_read16(0x42), 90);
	set_tick(100149);
	assert_int_equal(in(0x61, 1) & 0x20, 0x00);
	assert_true(out(0x61, 1, 0x00));
	assert_int_equal(in(0x61, 1) & 0x20, 0x20);
	snapshot_round_trip();
	assert_true(out(0x61, 1, 0x01));
	set_tick(100159);
	assert_int_equal(pit_read16(0x42), 90);
}

/* ------------------------------------------------------------ COM1, KBC */

/* The GSI 4 levels recorded from entry i on, as a string of 0 and 1. */
static const char *irq4_since(unsigned i)
{
	static char buf[65];
	unsigned n = 0;

	for (; i < rec.nr_gsi; i++) {
		assert_int_equal(rec.gsi[i], 4);
		buf[n++] = rec.level[i] ? '1' : '0';
	}
	buf[n] = '\0';
	return buf;
}

static void test_com1_interrupts(void **state)
{
	(void)state;
	assert_int_equal(in(0x3FA, 1), 0x01);
	assert_true(out(0x3FA, 1, 0x07)); /* FCR: FIFOs on, both cleared */
	assert_int_equal(in(0x3FA, 1), 0xC1);

	/* THRE enabled with THR empty: the interrupt at once, but the line
	 * stays low until MCR.OUT2 lets it out. */
	assert_true(out(0x3F9, 1, 0x02));
	assert_int_equal(rec.nr_gsi, 0);
	assert_true(out(0x3FC, 1, 0x08));
	assert_string_equal(irq4_since(0), "1");
	/* Reading IIR with THRE the reason clears it. */
	assert_int_equal(in(0x3FA, 1), 0xC2);
	assert_string_equal(irq4_since(0), "10");
	assert_int_equal(in(0x3FA, 1), 0xC1);
	/* Each byte written raises it again; with the line already high the
	 * write drops it first: one new edge per byte. */
	assert_true(out(0x3F8, 1, 'a'));
	assert_string_equal(irq4_since(0), "101");
	assert_true(out(0x3F8, 1, 'b'));
	assert_string_equal(irq4_since(0), "10101");
	assert_string_equal(rec.console, "ab");
	assert_int_equal(in(0x3FD, 1), 0x60);
	/* OUT2 off gates the line, not the interrupt. */
	assert_true(out(0x3FC, 1, 0x00));
	assert_string_equal(irq4_since(0), "101010");
	assert_int_equal(in(0x3FA, 1), 0xC2);
	assert_true(out(0x3F8, 1, 'c'));
	assert_true(out(0x3FC, 1, 0x08));
	assert_string_equal(irq4_since(0), "1010101");

	/* Received data outranks THRE; LSR.DR; bytes in order. */
	assert_true(out(0x3F9, 1, 0x03));
	assert_int_equal(dev_uart_receive(&dev, (const uint8_t *)"xyz", 3), 3);
	assert_string_equal(irq4_since(0), "1010101"); /* still high: no new edge */
	assert_int_equal(in(0x3FA, 1), 0xC4);
	assert_int_equal(in(0x3FA, 1), 0xC4); /* reading IIR does not clear RDA */
	assert_int_equal(in(0x3FD, 1), 0x61);
	assert_int_equal(in(0x3F8, 1), 'x');
	assert_int_equal(in(0x3F8, 1), 'y');
	assert_int_equal(in(0x3F8, 1), 'z');
	assert_int_equal(in(0x3FD, 1), 0x60);
	assert_int_equal(in(0x3F8, 1), 0);    /* empty */
	assert_int_equal(in(0x3FA, 1), 0xC2); /* THRE was still pending */
	assert_int_equal(in(0x3FA, 1), 0xC1);
	assert_string_equal(irq4_since(0), "10101010");
	assert_int_equal(dev_uart_receive(&dev, (const uint8_t *)"q", 1), 1);
	assert_string_equal(irq4_since(0), "101010101");
	assert_int_equal(in(0x3F8, 1), 'q');
	assert_string_equal(irq4_since(0), "1010101010");

	/* The FIFO holds 16 bytes; with FIFOs off, one. */
	assert_int_equal(dev_uart_receive(&dev, (const uint8_t *)"0123456789abcdefgh", 18), 16);
	assert_int_equal(dev_uart_receive(&dev, (const uint8_t *)"h", 1), 0);
	assert_int_equal(in(0x3F8, 1), '0');
	assert_int_equal(dev_uart_receive(&dev, (const uint8_t *)"g", 1), 1);
	assert_true(out(0x3FA, 1, 0x00)); /* FIFOs off: cleared */
	assert_int_equal(in(0x3FA, 1), 0x01);
	assert_int_equal(in(0x3FD, 1), 0x60);
	assert_int_equal(dev_uart_receive(&dev, (const uint8_t *)"jk", 2), 1);
	assert_int_equal(in(0x3FA, 1), 0x04);
	assert_int_equal(in(0x3F8, 1), 'j');
	assert_string_equal(irq4_since(0), "10101010101010");
}

static void test_com1_modem_status_and_loopback(void **state)
{
	unsigned mark;

	(void)state;
	assert_int_equal(in(0x3FE, 1), 0xB0);
	/* Loopback: RTS, DTR, OUT1, OUT2 drive CTS, DSR, RI, DCD, and the
	 * changes show as MSR deltas (RI's on its falling edge only). */
	assert_true(out(0x3FC, 1, 0x18)); /* LOOP | OUT2: DCD stays, CTS and DSR drop */
	assert_int_equal(in(0x3FE, 1), 0x83);
	assert_int_equal(in(0x3FE, 1), 0x80);
	assert_true(out(0x3FC, 1, 0x1F));
	assert_int_equal(in(0x3FE, 1), 0xF3);
	assert_true(out(0x3FC, 1, 0x1B)); /* OUT1 off: RI falls */
	assert_int_equal(in(0x3FE, 1), 0xB4);
	assert_int_equal(in(0x3FC, 1), 0x1B);
	assert_true(out(0x3FC, 1, 0xFF));
	assert_int_equal(in(0x3FC, 1), 0x1F); /* bits 7-5 always 0 */
	(void)in(0x3FE, 1);

	/* The MSI interrupt, lowest priority; loopback keeps IRQ 4 low. */
	assert_true(out(0x3F9, 1, 0x08));
	assert_true(out(0x3FC, 1, 0x1D)); /* RTS off: CTS delta */
	assert_int_equal(in(0x3FA, 1), 0x00);
	assert_int_equal(in(0x3FA, 1), 0x00); /* only an MSR read clears it */
	assert_int_equal(in(0x3FE, 1), 0xE1);
	assert_int_equal(in(0x3FA, 1), 0x01);

	/* Loopback: THR goes to RBR, not to the console. */
	assert_true(out(0x3F9, 1, 0x01));
	assert_true(out(0x3F8, 1, 'L'));
	assert_int_equal(rec.console_total, 0);
	assert_int_equal(in(0x3FA, 1), 0x04);
	assert_int_equal(in(0x3F8, 1), 'L');
	assert_int_equal(rec.nr_gsi, 0);

	/* Out of loopback with OUT2 and data waiting: the line rises. */
	assert_int_equal(dev_uart_receive(&dev, (const uint8_t *)"m", 1), 1);
	mark = rec.nr_gsi;
	assert_true(out(0x3FC, 1, 0x08));
	assert_string_equal(irq4_since(mark), "1");
	assert_int_equal(in(0x3F8, 1), 'm');
	assert_string_equal(irq4_since(mark), "10");
}

/*
 * The 8042's own commands, answered through the output buffer as Linux's
 * i8042 driver reads them (polling OBF, status bit 0): the command byte read
 * and written, the interface tests and self-test, the auxiliary loop
 * (AUXDATA, bit 5) that tells Linux there is no multiplexer, the enable
 * and disable bits. Nothing raises IRQ 1 or 12: no keyboard or mouse.
 */
static void test_keyboard_controller_commands(void **state)
{
	unsigned gsi0 = rec.nr_gsi;

	(void)state;
	assert_int_equal(in(0x64, 1), 0x14); /* empty */
	assert_true(out(0x64, 1, 0x20));
	assert_int_equal(in(0x64, 1), 0x15); /* OBF */
	assert_int_equal(in(0x60, 1), 0x45); /* the power-on command byte */
	assert_int_equal(in(0x64, 1), 0x14);
	assert_int_equal(in(0x60, 1), 0x45); /* empty: the last byte again */
	assert_int_equal(in(0x64, 1), 0x14);

	/* Linux's init: keyboard disabled and interrupts off, written back. */
	assert_true(out(0x64, 1, 0x60));
	assert_int_equal(in(0x64, 1), 0x14);
	assert_true(out(0x60, 1, 0x74));
	assert_true(out(0x64, 1, 0x20));
	assert_int_equal(in(0x60, 1), 0x74);
	assert_true(out(0x64, 1, 0x3F)); /* RAM beyond byte 0: not kept */
	assert_int_equal(in(0x60, 1), 0x00);

	/* Enable and disable: command byte bits 4 (keyboard), 5 (aux). */
	assert_true(out(0x64, 1, 0xAE));
	assert_true(out(0x64, 1, 0xA8));
	assert_true(out(0x64, 1, 0x20));
	assert_int_equal(in(0x60, 1), 0x44);
	assert_true(out(0x64, 1, 0xA7));
	assert_true(out(0x64, 1, 0xAD));
	assert_true(out(0x64, 1, 0x20));
	assert_int_equal(in(0x60, 1), 0x74);

	/* Tests: self-test 0x55, interface tests 0x00 (no error). */
	assert_true(out(0x64, 1, 0xAA));
	assert_int_equal(in(0x64, 1), 0x15);
	assert_int_equal(in(0x60, 1), 0x55);
	assert_true(out(0x64, 1, 0xAB));
	assert_int_equal(in(0x60, 1), 0x00);
	assert_true(out(0x64, 1, 0xA9));
	assert_int_equal(in(0x60, 1), 0x00);

	/* The loops: the data byte back as keyboard or auxiliary data; a new
	 * reply replaces an unread one. */
	assert_true(out(0x64, 1, 0xD3));
	assert_int_equal(in(0x64, 1), 0x14); /* nothing until the data byte */
	assert_true(out(0x60, 1, 0xA4));
	assert_int_equal(in(0x64, 1), 0x35); /* OBF | AUXDATA */
	assert_true(out(0x64, 1, 0xD2));
	assert_true(out(0x60, 1, 0x12));
	assert_int_equal(in(0x64, 1), 0x15);
	assert_int_equal(in(0x60, 1), 0x12);
	assert_int_equal(in(0x64, 1), 0x14);

	/* Bytes for the absent keyboard and auxiliary device: dropped, no
	 * reply; a command cancels one waiting for its data byte. */
	assert_true(out(0x60, 1, 0xF2));
	assert_true(out(0x64, 1, 0xD4));
	assert_true(out(0x60, 1, 0xF2));
	assert_int_equal(in(0x64, 1), 0x14);
	assert_true(out(0x64, 1, 0x60));
	assert_true(out(0x64, 1, 0xAD));
	assert_true(out(0x60, 1, 0x00)); /* for the keyboard, not the command byte */
	assert_true(out(0x64, 1, 0x20));
	assert_int_equal(in(0x60, 1), 0x74);
	assert_true(out(0x64, 1, 0xC0)); /* not modelled: ignored */
	assert_int_equal(in(0x64, 1), 0x14);

	assert_int_equal(rec.nr_gsi, gsi0); /* no IRQ 1 or 12 */
	assert_int_equal(rec.nr_exits, 0);
}

/* CMOS register @reg read through the index and data ports. */
static uint32_t cmos(uint8_t reg)
{
	assert_true(out(0x70, 1, reg));
	return in(0x71, 1);
}

/*
 * The CMOS RTC: the wall clock in the format register B selects (BCD or
 * binary, 24- or 12-hour), register A without UIP, C and D, the century
 * byte, the index port, and what is not kept (alarms, RAM).
 */
static void test_cmos_rtc(void **state)
{
	(void)state;
	/* Power-on: 24-hour BCD, 2026-12-06 15:30:45, a Sunday (day 1). */
	assert_int_equal(cmos(0x0B), 0x02);
	assert_int_equal(cmos(0x00), 0x45);
	assert_int_equal(cmos(0x02), 0x30);
	assert_int_equal(cmos(0x04), 0x15);
	assert_int_equal(cmos(0x06), 0x01);
	assert_int_equal(cmos(0x07), 0x06);
	assert_int_equal(cmos(0x08), 0x12);
	assert_int_equal(cmos(0x09), 0x26);
	assert_int_equal(cmos(0x32), 0x20);
	assert_int_equal(cmos(0x0A), 0x26); /* UIP (bit 7) clear */
	assert_int_equal(cmos(0x0C), 0x00);
	assert_int_equal(cmos(0x0D), 0x80);
	/* Bit 7 of the index is the NMI mask: the register is bits 6:0. */
	assert_int_equal(cmos(0x80), 0x45);
	assert_int_equal(in(0x70, 1), 0xFF);

	/* Binary, 12-hour: 3 PM is 3 with bit 7. */
	assert_true(out(0x70, 1, 0x0B));
	assert_true(out(0x71, 1, 0x04));
	assert_int_equal(cmos(0x0B), 0x04);
	assert_int_equal(cmos(0x00), 45);
	assert_int_equal(cmos(0x04), 0x83);
	assert_int_equal(cmos(0x09), 26);
	assert_int_equal(cmos(0x32), 20);
	/* BCD, 12-hour, just after midnight of a Friday in 1999. */
	fake_wall = 946598709;
	assert_true(out(0x70, 1, 0x0B));
	assert_true(out(0x71, 1, 0x00));
	assert_int_equal(cmos(0x04), 0x12); /* 12 AM */
	assert_int_equal(cmos(0x02), 0x05);
	assert_int_equal(cmos(0x00), 0x09);
	assert_int_equal(cmos(0x06), 0x06);
	assert_int_equal(cmos(0x07), 0x31);
	assert_int_equal(cmos(0x09), 0x99);
	assert_int_equal(cmos(0x32), 0x19);

	/* Register A keeps bits 6:0 as written; the clock, the alarms and the
	 * RAM are not written. */
	assert_true(out(0x70, 1, 0x0A));
	assert_true(out(0x71, 1, 0xA5));
	assert_int_equal(cmos(0x0A), 0x25);
	assert_true(out(0x70, 1, 0x00));
	assert_true(out(0x71, 1, 0x59));
	assert_int_equal(cmos(0x00), 0x09);
	assert_true(out(0x70, 1, 0x01));
	assert_true(out(0x71, 1, 0x59));
	assert_int_equal(cmos(0x01), 0x00);
	assert_true(out(0x70, 1, 0x10));
	assert_true(out(0x71, 1, 0x5A));
	assert_int_equal(cmos(0x10), 0x00);
	assert_int_equal(cmos(0x7F), 0x00);
	assert_int_equal(rec.nr_gsi, 0); /* no IRQ 8 */
}

static void test_keyboard_controller_reset(void **state)
{
	(void)state;
	assert_int_equal(in(0x64, 1), 0x14);
	assert_int_equal(in(0x60, 1), 0x00);
	assert_true(out(0x60, 1, 0xF4));
	assert_true(out(0x64, 1, 0xAA));
	assert_true(out(0x64, 1, 0xFF)); /* pulses no line */
	assert_true(out(0x64, 1, 0xD1));
	assert_int_equal(rec.nr_exits, 0);
	assert_true(out(0x64, 1, 0xFE));
	assert_int_equal(rec.nr_exits, 1);
	assert_int_equal(rec.exits[0], DEV_EXIT_RESET);
	assert_int_equal(DEV_EXIT_RESET, 8);
	assert_true(out(0x64, 1, 0xF0)); /* every line, reset among them */
	assert_int_equal(rec.nr_exits, 2);
	assert_int_equal(rec.exits[1], 8);
	/* The output port written with 0xD1: bit 0 is the reset line. */
	assert_true(out(0x64, 1, 0xD1));
	assert_true(out(0x60, 1, 0xDF)); /* A20 on, reset high: nothing */
	assert_int_equal(rec.nr_exits, 2);
	assert_true(out(0x64, 1, 0xD1));
	assert_true(out(0x60, 1, 0xDE));
	assert_int_equal(rec.nr_exits, 3);
	assert_int_equal(rec.exits[2], 8);
}

/* One byte read from port of the device set d. */
static uint8_t d2_in(struct dev_state *d, uint16_t port)
{
	uint8_t b = 0;

	assert_true(dev_pio(d, port, false, 1, &b));
	return b;
}

static void test_dev_snapshot(void **state)
{
	struct dev_snapshot st, again, bad;
	struct dev_state d2;
	unsigned mark;

	(void)state;
	assert_true(out(0x3FB, 1, 0x83)); /* LCR with DLAB */
	assert_true(out(0x3F8, 1, 0x0C)); /* DLL */
	assert_true(out(0x3FF, 1, 0x5A)); /* SCR */
	assert_true(out(0x510, 2, 0x03)); /* fw_cfg RAM size, 3 bytes read */
	(void)in(0x511, 2);
	(void)in(0x511, 1);
	assert_true(out(0xE0, 4, 0x11223344u));
	assert_true(out(0x2104, 4, 0x1u));
	assert_true(out(0x2004, 1, 1));
	assert_true(out(0x2017, 1, 1));
	assert_true(out(0x2009, 1, 1));
	assert_true(out(0x2009, 1, 0));
	assert_true(out(0x8900, 2, 'S' | 'h' << 8));
	dev.restores = 1;
	/* The PIT: channel 0 periodic, its edge at tick 2000 delivered;
	 * channel 2 gated on, counting in mode 0. COM1: FIFOs, data waiting,
	 * IRQ 4 high. */
	mark = rec.nr_gsi;
	pit_program(0x34, 0x40, 1000);
	assert_true(out(0x61, 1, 0x03));
	pit_program(0xB0, 0x42, 3000);
	set_tick(2500);
	(void)dev_pit_poll(&dev);
	assert_int_equal(pulses_since(mark), 1);
	assert_true(out(0x3FB, 1, 0x03));
	assert_true(out(0x3FA, 1, 0x01));
	assert_true(out(0x3F9, 1, 0x01));
	assert_true(out(0x3FC, 1, 0x08));
	assert_int_equal(dev_uart_receive(&dev, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(in(0x3F8, 1), 'a');
	/* The RTC: binary mode, the index left at register B, NMI mask set. */
	assert_true(out(0x70, 1, 0x8B));
	assert_true(out(0x71, 1, 0x06));
	/* The 8042: a command byte written, an auxiliary echo in the output
	 * buffer, a command waiting for its data byte. */
	assert_true(out(0x64, 1, 0x60));
	assert_true(out(0x60, 1, 0x47));
	assert_true(out(0x64, 1, 0xD3));
	assert_true(out(0x60, 1, 0x5A));
	assert_true(out(0x64, 1, 0xD2));
	mark = rec.nr_gsi;

	dev_save(&dev, &st);
	assert_int_equal(st.kbc, (1u << 31) | (1u << 25) | (1u << 24) | (0xD2u << 16) |
					 (0x5Au << 8) | 0x47);
	assert_int_equal(st.rtc, (1u << 31) | (0x06u << 16) | (0x26u << 8) | 0x8B);
	assert_int_equal(st.pit_now, 5ull * PIT_HZ + 2500);
	assert_int_equal(st.pit_last_edge, 5ull * PIT_HZ + 2000);
	assert_int_equal(st.pit[0].mode, 2);
	assert_int_equal(st.pit[0].n, 1000);
	assert_int_equal(st.pit[0].start, 5ull * PIT_HZ);
	assert_int_equal(st.pit[2].n, 3000);
	assert_int_equal(st.port61 & 0x0F, 0x03);
	assert_int_equal(st.uart2[0], 0x01); /* FCR */
	assert_int_equal(st.uart2[3], 1);    /* IRQ 4 high */
	assert_int_equal(st.uart2[4], 1);    /* FIFO head */
	assert_int_equal(st.uart2[5], 1);    /* one byte waiting */
	assert_int_equal(st.uart_rx[1], 'b');
	assert_int_equal(st.lines, (1u << 4) | (1u << 23));
	assert_int_equal(st.uart[0], 0x03);
	assert_int_equal(st.uart[3], 0x5A);
	assert_int_equal(st.uart[4], 0x0C);
	assert_int_equal(st.fw_cfg_key, 0x03);
	assert_int_equal(st.fw_cfg_offset, 3);
	assert_int_equal(st.shutdown_matched, 2);
	assert_int_equal(st.scratch_e0, 0x11223344u);
	assert_int_equal(st.msi_addr, 0x100000000ull);
	assert_int_equal(st.restores, 1);

	/* Into a fresh device set, on a clock 4 s behind: the same state, it
	 * reads the same, and the PIT's time goes on from the save. */
	fake_ns = 1000000000u;
	dev_init(&d2, &hooks, NR_CPUS, DEV_RAM_SIZE);
	assert_true(dev_restore(&d2, &st));
	dev_save(&d2, &again);
	assert_memory_equal(&st, &again, sizeof(st));
	assert_int_equal(d2_in(&d2, 0x40), 500 & 0xFF); /* tick 2500 of period 1000 */
	assert_int_equal(d2_in(&d2, 0x40), 500 >> 8);
	fake_ns = 1000000000u + (100ull * 1000000000u + PIT_HZ - 1) / PIT_HZ;
	assert_int_equal(d2_in(&d2, 0x42), (3000 - 2600) & 0xFF);
	assert_int_equal(d2_in(&d2, 0x42), (3000 - 2600) >> 8);
	assert_int_equal(dev_pit_poll(&d2),
			 1000000000u + (500ull * 1000000000u + PIT_HZ - 1) / PIT_HZ);
	assert_int_equal(rec.nr_gsi, mark); /* the edge at 2000 is not delivered twice */
	assert_int_equal(d2_in(&d2, 0x3FA), 0xC4);
	assert_int_equal(d2_in(&d2, 0x3F8), 'b');
	assert_int_equal(d2_in(&d2, 0x3FA), 0xC1);
	/* The RTC as saved: binary, the index at B. */
	assert_int_equal(d2_in(&d2, 0x71), 0x06);
	assert_int_equal(d2_in(&d2, 0x70), 0xFF);
	/* The 8042 as saved: the echo waiting, then 0xD2's data byte. */
	assert_int_equal(d2_in(&d2, 0x64), 0x14 | 0x20 | 0x01);
	assert_int_equal(d2_in(&d2, 0x60), 0x5A);
	assert_int_equal(d2_in(&d2, 0x64), 0x14);
	{
		uint8_t b = 0x99;

		assert_true(dev_pio(&d2, 0x60, true, 1, &b));
		assert_int_equal(d2_in(&d2, 0x64), 0x14 | 0x01);
		assert_int_equal(d2_in(&d2, 0x60), 0x99);
		b = 0x20;
		assert_true(dev_pio(&d2, 0x64, true, 1, &b));
		assert_int_equal(d2_in(&d2, 0x60), 0x47);
	}
	dev_destroy(&d2);
	/* A snapshot from before the 8042 and the RTC were kept (kbc and rtc
	 * 0): their power-on states. */
	dev_init(&d2, &hooks, NR_CPUS, DEV_RAM_SIZE);
	bad = st;
	bad.kbc = 0;
	bad.rtc = 0;
	assert_true(dev_restore(&d2, &bad));
	assert_int_equal(d2_in(&d2, 0x71), 0x45); /* index 0, BCD seconds */
	assert_int_equal(d2_in(&d2, 0x64), 0x14);
	{
		uint8_t b = 0x20;

		assert_true(dev_pio(&d2, 0x64, true, 1, &b));
		assert_int_equal(d2_in(&d2, 0x60), 0x45);
	}
	dev_destroy(&d2);
	dev_init(&d2, &hooks, NR_CPUS, DEV_RAM_SIZE);
	assert_true(dev_restore(&d2, &st));
	dev_save(&d2, &again);

	/* Values the devices cannot have: refused, nothing changed. */
	bad = st;
	bad.lines |= 1u << 24;
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.shutdown_matched = 8;
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.fw_cfg_offset = 9;
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.rtc &= ~(1u << 31); /* an RTC state without its present bit */
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.rtc |= 0x8000; /* register A's UIP: never set */
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.kbc &= ~(1u << 31); /* an 8042 state without its present bit */
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.kbc = (1u << 31) | (1u << 25); /* AUXDATA without OBF */
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.kbc = (1u << 31) | (0xAAu << 16); /* a command that takes no data */
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.kbc |= 1u << 26;
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.reserved2 = 1;
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.pit[0].mode = 6;
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.pit[1].n = 0;
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.pit[0].start = st.pit_now + 1; /* started in the future */
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.pit[2].gate = 0; /* not what port 0x61 bit 0 says */
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.pit_last_edge = st.pit_now + 1;
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.uart2[3] = 0; /* IRQ 4 low, though data and IER.RDA and OUT2 raise it */
	assert_false(dev_restore(&d2, &bad));
	bad = st;
	bad.uart2[5] = DEV_UART_FIFO + 1;
	assert_false(dev_restore(&d2, &bad));
	dev_save(&d2, &again);
	assert_memory_equal(&st, &again, sizeof(st));
	dev_destroy(&d2);
}

#define THREADS 4
#define BYTES_PER_THREAD 5000

static void *console_writer(void *arg)
{
	uint8_t thr = 'x', lsr;
	long bad = 0;

	(void)arg;
	/* No cmocka asserts here: they are not thread-safe. */
	for (int i = 0; i < BYTES_PER_THREAD; i++) {
		bad += !dev_pio(&dev, 0x3F8, true, 1, &thr);
		bad += !dev_pio(&dev, 0x3FD, false, 1, &lsr) || lsr != 0x60;
	}
	return (void *)bad;
}

static void test_concurrent_vcpus(void **state)
{
	pthread_t t[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, console_writer, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		void *bad;

		pthread_join(t[i], &bad);
		assert_null(bad);
	}
	assert_int_equal(rec.console_total, THREADS * BYTES_PER_THREAD);
}

/* Several vCPUs on the PIT and COM1 while the timer polls: every line
 * change reaches the irqchip in the order the devices decided it, so
 * each GSI's levels alternate (a pulse is high then low), never twice
 * the same. */
static struct {
	pthread_mutex_t lock;
	bool last[24];
	unsigned changes[24], repeats;
} lines;

static void lines_set_gsi(void *ctx, unsigned gsi, bool level)
{
	(void)ctx;
	pthread_mutex_lock(&lines.lock);
	if (gsi >= 24 || lines.last[gsi] == level)
		lines.repeats++;
	else
		lines.changes[gsi]++;
	if (gsi < 24)
		lines.last[gsi] = level;
	pthread_mutex_unlock(&lines.lock);
}

#define PORT_ROUNDS 3000

static int hammers_done;

static void *port_hammer(void *arg)
{
	struct dev_state *d = arg;
	static const struct {
		uint16_t port;
		bool write;
		uint8_t val;
	} seq[] = {
		{ 0x43, true, 0x34 },  { 0x40, true, 0x02 },  { 0x40, true, 0x00 }, /* period 2 */
		{ 0x40, false, 0 },    { 0x43, true, 0xC2 },  { 0x40, false, 0 },
		{ 0x61, true, 0x01 },  { 0x61, false, 0 },    { 0x3FC, true, 0x08 },
		{ 0x3F9, true, 0x02 }, { 0x3F8, true, 'x' },  { 0x3FA, false, 0 },
		{ 0x3F9, true, 0x00 }, { 0x3FC, true, 0x00 }, { 0x43, true, 0xC2 },
	};
	long bad = 0;

	for (int i = 0; i < PORT_ROUNDS; i++) {
		for (size_t k = 0; k < sizeof(seq) / sizeof(seq[0]); k++) {
			uint8_t b = seq[k].val;

			bad += !dev_pio(d, seq[k].port, seq[k].write, 1, &b);
		}
	}
	__atomic_fetch_add(&hammers_done, 1, __ATOMIC_SEQ_CST);
	return (void *)bad;
}

static void test_concurrent_pit_and_com1(void **state)
{
	struct dev_hooks h = hooks;
	struct dev_state d;
	pthread_t t[THREADS];
	uint8_t b;

	(void)state;
	memset(&lines, 0, sizeof(lines));
	hammers_done = 0;
	pthread_mutex_init(&lines.lock, NULL);
	h.set_gsi = lines_set_gsi;
	h.timer_changed = NULL;
	dev_init(&d, &h, NR_CPUS, DEV_RAM_SIZE);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, port_hammer, &d), 0);
	/* The timer, its clock 2 us (2.4 ticks) on at each poll, until the
	 * writers are done and then some. */
	for (int i = 0; i < 1000 || __atomic_load_n(&hammers_done, __ATOMIC_SEQ_CST) < THREADS;
	     i++) {
		__atomic_fetch_add(&fake_ns, 2000, __ATOMIC_RELAXED);
		(void)dev_pit_poll(&d);
	}
	for (int i = 0; i < THREADS; i++) {
		void *bad;

		pthread_join(t[i], &bad);
		assert_null(bad);
	}
	/* The writers' count bytes may end split between their control
	 * words: program channel 0 once more, alone, so that it surely ticks. */
	b = 0x34;
	assert_true(dev_pio(&d, 0x43, true, 1, &b));
	b = 2;
	assert_true(dev_pio(&d, 0x40, true, 1, &b));
	b = 0;
	assert_true(dev_pio(&d, 0x40, true, 1, &b));
	for (int i = 0; i < 100; i++) {
		__atomic_fetch_add(&fake_ns, 2000, __ATOMIC_RELAXED);
		(void)dev_pit_poll(&d);
	}
	assert_int_equal(lines.repeats, 0);
	assert_true(lines.changes[4] > 0);
	assert_true(lines.changes[0] > 0);
	assert_int_equal(lines.changes[0] % 2, 0); /* GSI 0: whole pulses only */
	/* The UART's line ends where its registers say: MCR.OUT2 is off. */
	assert_false(lines.last[4]);
	b = 0x08;
	assert_true(dev_pio(&d, 0x3FC, true, 1, &b)); /* OUT2 on, IER 0: still low */
	assert_false(lines.last[4]);
	assert_int_equal(lines.repeats, 0);
	dev_destroy(&d);
	pthread_mutex_destroy(&lines.lock);
}

int main(void)
{
	const struct CMUnitTest loader_tests[] = {
		cmocka_unit_test_setup(test_load_multiboot_kernel, poison_ram),
		cmocka_unit_test_setup(test_load_without_module_or_cmdline, poison_ram),
		cmocka_unit_test(test_cmdline_like_qemu),
		cmocka_unit_test_setup(test_entry_translated_to_physical, poison_ram),
		cmocka_unit_test_setup(test_refuses_hostile_or_unsupported_images, poison_ram),
		cmocka_unit_test_setup(test_load_from_file, poison_ram),
		cmocka_unit_test_setup(test_bz_load, poison_ram),
		cmocka_unit_test_setup(test_bz_layout_choices, poison_ram),
		cmocka_unit_test_setup(test_bz_refuses_hostile_images, poison_ram),
		cmocka_unit_test_setup(test_bz_from_file, poison_ram),
		cmocka_unit_test_setup(test_mptable, poison_ram),
		cmocka_unit_test_setup(test_mptable_refusals, poison_ram),
		cmocka_unit_test_setup(test_acpi, poison_ram),
	};
	const struct CMUnitTest device_tests[] = {
		cmocka_unit_test_setup_teardown(test_com1, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_debug_exit, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_port, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_fw_cfg, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_testdev_lines, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_msi_port, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_scratch_and_post, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_unhandled_ports, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_port, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_pit_mode0_one_shot, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_pit_mode2_periodic, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_pit_catch_up, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_pit_mode3_square_wave, dev_setup,
						dev_teardown),
		cmocka_unit_test_setup_teardown(test_pit_gate_triggered_modes, dev_setup,
						dev_teardown),
		cmocka_unit_test_setup_teardown(test_pit_latch_and_read_back, dev_setup,
						dev_teardown),
		cmocka_unit_test_setup_teardown(test_port61_and_channel2, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_com1_interrupts, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_com1_modem_status_and_loopback, dev_setup,
						dev_teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_controller_commands, dev_setup,
						dev_teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_controller_reset, dev_setup,
						dev_teardown),
		cmocka_unit_test_setup_teardown(test_cmos_rtc, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_dev_snapshot, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_vcpus, dev_setup, dev_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_pit_and_com1, dev_setup,
						dev_teardown),
	};
	int failed;

	failed = cmocka_run_group_tests_name("loader", loader_tests, ram_setup, ram_teardown);
	failed += cmocka_run_group_tests_name("devices", device_tests, NULL, NULL);
	return failed ? 1 : 0;
}
