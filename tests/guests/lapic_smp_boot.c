/* SPDX-License-Identifier: MIT */
/*
 * lapic_smp_boot: INIT + a single SIPI, with no delays, brings up every AP
 * that fw_cfg announces; each AP's CPUID APIC ID, x2APIC ID (leaf 0xB) and
 * LAPIC ID register agree, are distinct, and the BSP flag is only on the
 * BSP. Each AP then runs a C function on request. Every CPU shows the same
 * x2APIC and TSC-deadline bits in CPUID.1:ECX, the ones the command line
 * expects, and the command line starts with the image's name.
 */
#include "guest.h"

static uint32_t max_leaf;

/* user[0]: CPUID.1 EBX[31:24], user[1]: LAPIC ID register, user[2]: cpu_id()
 * (stack slot), user[3]: CPUID.0B EDX or ~0, user[4]: IA32_APIC_BASE low,
 * user[6]: CPUID.1 ECX. */
static void record_ids(void)
{
	struct percpu *p = &percpu[cpu_id()];
	uint32_t a, b, c, d;

	p->user[0] = cpuid_apic_id();
	p->user[1] = apic_id();
	p->user[2] = cpu_id();
	p->user[3] = ~0u;
	if (max_leaf >= 0xB) {
		cpuid(0xB, 0, &a, &b, &c, &d);
		p->user[3] = d;
	}
	p->user[4] = (uint32_t)rdmsr(MSR_APIC_BASE);
	cpuid(1, 0, &a, &b, &c, &d);
	p->user[6] = c;
}

/* Whether name ends in suffix. */
static bool ends_with(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n >= s && !memcmp(name + n - s, suffix, s);
}

static void ap_hello(void *arg)
{
	percpu[cpu_id()].user[5] = (uint32_t)(uintptr_t)arg + cpu_id();
}

int main(void)
{
	uint32_t b, c, d;
	unsigned online;
	const char *mod;

	cpuid(0, 0, &max_leaf, &b, &c, &d);
	ap_init_hook = record_ids;

	test_begin("bsp_ids");
	record_ids();
	EXPECT_EQ(percpu[0].user[0], 0);
	EXPECT_EQ(percpu[0].user[1], 0);
	EXPECT_EQ(percpu[0].user[2], 0);
	if (max_leaf >= 0xB)
		EXPECT_EQ(percpu[0].user[3], 0);
	EXPECT_EQ(percpu[0].user[4] & ~0xFFFu, APIC_MMIO);
	EXPECT(percpu[0].user[4] & APIC_BASE_BSP, "BSP flag clear: 0x%x", percpu[0].user[4]);
	EXPECT(percpu[0].user[4] & APIC_BASE_EN, "APIC disabled: 0x%x", percpu[0].user[4]);
	test_end();

	/* QEMU's and virq-vmm's loaders: "IMAGE words...", IMAGE as they
	 * were given it; the runners keep the build's name, <program>.elf. */
	test_begin("multiboot_cmdline_argv0");
	printf("argv[0] '%s'\n", mb_image_name());
	EXPECT(ends_with(mb_image_name(), GUEST_NAME ".elf"),
	       "first word of the command line '%s' does not name the image %s", mb_image_name(),
	       GUEST_NAME ".elf");
	EXPECT(!mb_cmdline_has(mb_image_name()), "the image name taken as a word too");
	test_end();

	test_begin("cpu_count");
	mod = mb_config("NR_CPUS");
	printf("fw_cfg cpus %u, module NR_CPUS %s\n", nr_cpus, mod ? mod : "(none)");
	if (mod)
		EXPECT_EQ(strtoul_simple(mod), nr_cpus);
	EXPECT(nr_cpus >= 1 && nr_cpus <= MAX_CPUS, "nr_cpus %u", nr_cpus);
	test_end();

	test_begin("init_sipi_all_aps");
	online = smp_boot();
	EXPECT_EQ(online, nr_cpus - 1);
	for (unsigned i = 1; i < nr_cpus; i++)
		EXPECT(percpu[i].online, "AP %u did not come up", i);
	if (nr_cpus == 1)
		test_skip("1 cpu");
	test_end();

	test_begin("ap_ids_agree");
	for (unsigned i = 1; i < nr_cpus; i++) {
		struct percpu *p = &percpu[i];

		if (!p->online)
			continue;
		EXPECT_EQ(p->user[0], i);
		EXPECT_EQ(p->user[1], i);
		EXPECT_EQ(p->user[2], i);
		if (max_leaf >= 0xB)
			EXPECT_EQ(p->user[3], i);
		EXPECT(!(p->user[4] & APIC_BASE_BSP), "AP %u has the BSP flag: 0x%x", i,
		       p->user[4]);
		EXPECT(p->user[4] & APIC_BASE_EN, "AP %u APIC disabled: 0x%x", i, p->user[4]);
	}
	for (unsigned i = 0; i < nr_cpus; i++)
		for (unsigned j = i + 1; j < nr_cpus; j++)
			if (percpu[i].online || i == 0)
				EXPECT(percpu[i].user[1] != percpu[j].user[1] || !percpu[j].online,
				       "cpus %u and %u share APIC ID %u", i, j, percpu[i].user[1]);
	if (nr_cpus == 1)
		test_skip("1 cpu");
	test_end();

	/* Every CPU the same model: x2APIC (bit 21) and TSC-deadline (bit 24)
	 * as CPUID on the BSP shows them, which the command line may pin. */
	test_begin("cpuid_features_agree");
	x2apic_expected();
	tsc_deadline_expected();
	for (unsigned i = 1; i < nr_cpus; i++)
		if (percpu[i].online)
			EXPECT(!((percpu[i].user[6] ^ percpu[0].user[6]) &
				 ((1u << 21) | (1u << 24))),
			       "cpu %u: CPUID.1:ECX 0x%x, BSP 0x%x", i, percpu[i].user[6],
			       percpu[0].user[6]);
	test_end();

	test_begin("ap_runs_function");
	for (unsigned i = 1; i < nr_cpus; i++) {
		EXPECT(smp_call(i, ap_hello, (void *)(uintptr_t)0x1000, true),
		       "AP %u did not run the call", i);
		EXPECT_EQ(percpu[i].user[5], 0x1000 + i);
		EXPECT_EQ(percpu[i].calls_done, 1);
	}
	if (nr_cpus == 1)
		test_skip("1 cpu");
	test_end();
	return 0;
}
