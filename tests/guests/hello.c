/* SPDX-License-Identifier: MIT */
/*
 * hello: a guest program that needs no interrupt controller, for
 * hypervisors that do not offer one yet (examples/hv, virq-hv under Bochs:
 * its LAPIC and I/O APIC pages are not mapped). It never touches the LAPIC
 * (boot_keeps_lapic), takes no interrupt and does not halt; its checks are
 * what a Multiboot loader and the platform's ports owe every program:
 *
 *   multiboot   the command line's first word names the image (hello.elf)
 *   fw_cfg      fw_cfg reports one or more CPUs and the RAM size
 *   long_mode   boot.S got to 64-bit mode: EFER.LME and LMA, CR0.PG, CR4.PAE
 *   memory      a pattern written over 1 MiB above the image reads back
 */
#include "guest.h"

const bool boot_keeps_lapic = true;

extern char __bss_end[];

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !memcmp(s + n - t, tail, t);
}

int main(void)
{
	uint64_t efer, cr0, cr4;

	test_begin("multiboot");
	if (!ends_with(mb_image_name(), "hello.elf"))
		test_fail("the command line's first word is '%s', not .../hello.elf",
			  mb_image_name());
	test_end();

	test_begin("fw_cfg");
	if (nr_cpus < 1 || ram_size < (4ULL << 20))
		test_fail("%u CPUs, RAM %llu bytes", nr_cpus, (unsigned long long)ram_size);
	test_end();

	test_begin("long_mode");
	efer = rdmsr(0xC0000080);
	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	if ((efer & 0x500) != 0x500 || !(cr0 & (1ULL << 31)) || !(cr4 & 0x20))
		test_fail("EFER %llx CR0 %llx CR4 %llx", (unsigned long long)efer,
			  (unsigned long long)cr0, (unsigned long long)cr4);
	test_end();

	test_begin("memory");
	{
		uintptr_t base = ((uintptr_t)__bss_end + 0xFFFFF) & ~(uintptr_t)0xFFFFF;
		volatile uint64_t *p = (volatile uint64_t *)base;
		size_t n = (1 << 20) / sizeof(*p), bad = 0;

		if (ram_size && base + (1 << 20) > ram_size) {
			test_skip("less than 1 MiB of RAM above the image");
		} else {
			for (size_t i = 0; i < n; i++)
				p[i] = (uint64_t)i * 0x9E3779B97F4A7C15ULL;
			for (size_t i = 0; i < n; i++)
				bad += p[i] != (uint64_t)i * 0x9E3779B97F4A7C15ULL;
			if (bad)
				test_fail("%zu of %zu words differ at %p", bad, n, (void *)base);
		}
	}
	test_end();
	return 0;
}
