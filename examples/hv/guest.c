/* SPDX-License-Identifier: MIT */
/*
 * Guest memory and loading: the guest image (an ELF32 or ELF64 file, given
 * to the hv as its first Multiboot module) is loaded by its program
 * headers (PT_LOAD: p_paddr, p_filesz, p_memsz, as a Multiboot loader does
 * for an ELF kernel), and a Multiboot information structure with the
 * command line is built for it at GUEST_MBI_GPA (Multiboot Specification
 * 3.3 "Boot information format").
 */
#include "hv.h"

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

struct elf_phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

/* Guest-physical range -> host pointer, or NULL outside guest RAM. */
void *guest_ptr(uint64_t gpa, uint64_t len)
{
	if (gpa >= GUEST_RAM_SIZE || len > GUEST_RAM_SIZE - gpa)
		return NULL;
	return (void *)(uintptr_t)(GUEST_RAM_HPA + gpa);
}

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* Program header i in either ELF class (System V ABI, "Program Header"). */
static struct elf_phdr phdr(const uint8_t *e, bool is64, unsigned i)
{
	struct elf_phdr ph;
	const uint8_t *p;

	if (is64) {
		p = e + rd(e + 32, 8) + (uint64_t)i * rd(e + 54, 2);
		ph.type = (uint32_t)rd(p, 4);
		ph.offset = rd(p + 8, 8);
		ph.paddr = rd(p + 24, 8);
		ph.filesz = rd(p + 32, 8);
		ph.memsz = rd(p + 40, 8);
	} else {
		p = e + rd(e + 28, 4) + (uint64_t)i * rd(e + 42, 2);
		ph.type = (uint32_t)rd(p, 4);
		ph.offset = rd(p + 4, 4);
		ph.paddr = rd(p + 12, 4);
		ph.filesz = rd(p + 16, 4);
		ph.memsz = rd(p + 20, 4);
	}
	return ph;
}

int guest_load(const void *elf, size_t size, const char *cmdline, const void *mod, size_t mod_size,
	       uint32_t *entry)
{
	const uint8_t *e = elf;
	bool is64;
	unsigned n, phent;
	uint64_t phoff;
	uint32_t *mbi;
	size_t len;

	if (size < 64 || rd(e, 4) != 0x464C457FULL || (e[4] != 1 && e[4] != 2) || e[5] != 1) {
		hv_printf("virq-hv: FAIL: the guest module is not a little-endian ELF file\n");
		return -1;
	}
	is64 = e[4] == 2;
	phoff = rd(e + (is64 ? 32 : 28), is64 ? 8 : 4);
	phent = (unsigned)rd(e + (is64 ? 54 : 42), 2);
	n = (unsigned)rd(e + (is64 ? 56 : 44), 2);
	*entry = (uint32_t)rd(e + 24, is64 ? 8 : 4);
	if (phent < (is64 ? 56U : 32U) || phoff > size || (uint64_t)n * phent > size - phoff) {
		hv_printf("virq-hv: FAIL: guest ELF program headers out of the file\n");
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct elf_phdr ph = phdr(e, is64, i);
		uint8_t *dst;

		if (ph.type != 1 || !ph.memsz) /* PT_LOAD */
			continue;
		dst = guest_ptr(ph.paddr, ph.memsz);
		if (!dst || ph.filesz > ph.memsz || ph.offset > size ||
		    ph.filesz > size - ph.offset) {
			hv_printf(
				"virq-hv: FAIL: guest segment %u (%lx + %lx) outside guest RAM or "
				"the file\n",
				i, ph.paddr, ph.memsz);
			return -1;
		}
		memcpy(dst, e + ph.offset, ph.filesz);
		memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
		hv_printf("virq-hv: guest segment at %lx, %lu bytes (%lu from the file)\n",
			  ph.paddr, ph.memsz, ph.filesz);
	}

	/* flags: mem_lower/mem_upper (bit 0), cmdline (bit 2), and a module
	 * (bit 3) when the hv was given one for the guest: its text at
	 * GUEST_MOD_GPA (the KEY=VALUE lines the guest programs read), its
	 * descriptor (start, end, string, reserved) at GUEST_MBI_GPA + 64. */
	mbi = guest_ptr(GUEST_MBI_GPA, 4096);
	memset(mbi, 0, 4096);
	if (mod) {
		uint32_t *m = mbi + 16;

		if (mod_size > GUEST_MOD_MAX) {
			hv_printf("virq-hv: FAIL: the guest's module is over %lu bytes\n",
				  GUEST_MOD_MAX);
			return -1;
		}
		memcpy(guest_ptr(GUEST_MOD_GPA, mod_size), mod, mod_size);
		mbi[0] |= 8;
		mbi[5] = 1;
		mbi[6] = (uint32_t)(GUEST_MBI_GPA + 64);
		m[0] = (uint32_t)GUEST_MOD_GPA;
		m[1] = (uint32_t)(GUEST_MOD_GPA + mod_size);
		m[2] = 0;
	}
	for (len = 0; cmdline[len] && len < 4096 - 256 - 1; len++)
		;
	mbi[0] |= 1U | 4U;
	mbi[1] = 639;
	mbi[2] = (uint32_t)(GUEST_RAM_SIZE / 1024 - 1024);
	mbi[4] = (uint32_t)(GUEST_MBI_GPA + 256);
	memcpy((uint8_t *)mbi + 256, cmdline, len);
	hv_printf("virq-hv: guest entry %x, Multiboot information at %lx, command line \"%s\"\n",
		  *entry, GUEST_MBI_GPA, cmdline);
	return 0;
}
