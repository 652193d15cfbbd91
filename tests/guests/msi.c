/* SPDX-License-Identifier: MIT */
/*
 * msi: MSIs fired through the VMM's MSI port (dword writes: 0x2100 address
 * low, 0x2104 address high, 0x2108 data, which fires). Fixed physical to
 * the BSP and to each AP, physical broadcast 0xFF, logical flat to several
 * CPUs, lowest priority to exactly one of a set, the redirection hint, and
 * NMI delivery mode. Without the port (its
 * magic register 0x210C does not read 0x76697271) everything is skipped.
 */
#include "guest.h"

enum {
	V_BSP = 0x61,
	V_AP,
	V_BCAST,
	V_FLAT,
	V_LOWEST,
	V_RH
};

static uint32_t online_mask = 1;

static unsigned popcount(uint32_t m)
{
	unsigned n = 0;

	for (; m; m &= m - 1)
		n++;
	return n;
}

/* Address: 0xFEE, destination ID [19:12], redirection hint [3], destination
 * mode [2]. Data: vector [7:0], delivery mode [10:8], level [14], trigger [15]. */
static void msi(uint8_t dest, bool logical, bool rh, uint32_t data)
{
	outl(PORT_MSI_ADDR_LO,
	     0xFEE00000u | ((uint32_t)dest << 12) | (rh ? 8u : 0u) | (logical ? 4u : 0u));
	outl(PORT_MSI_ADDR_HI, 0);
	outl(PORT_MSI_DATA, data);
}

static void clear_vec(unsigned v)
{
	for (unsigned c = 0; c < MAX_CPUS; c++)
		irq_count[c][v] = 0;
}

static void expect_delivery(const char *what, unsigned vec, uint32_t want)
{
	WAIT_UNTIL(irq_total(vec) >= popcount(want), 1000);
	settle(3000);
	for (unsigned c = 0; c < nr_cpus; c++) {
		uint32_t got = irq_count[c][vec], exp = (want >> c) & 1;

		if (got != exp)
			test_fail("%s: vector 0x%x taken %u times on cpu %u, expected %u", what,
				  vec, got, c, exp);
	}
	clear_vec(vec);
}

static void set_flat(void *arg)
{
	unsigned id = cpu_id();

	(void)arg;
	apic_write(APIC_DFR, 0xFFFFFFFF);
	apic_write(APIC_LDR, id < 8 ? 1u << (24 + id) : 0);
}

int main(void)
{
	uint32_t magic = inl(PORT_MSI_MAGIC);

	sti();
	test_begin("msi_port_probe");
	if (magic != MSI_MAGIC) {
		printf("msi: port 0x210c reads 0x%08x, not the virq-vmm magic\n", magic);
		test_skip("no MSI test port (not virq-vmm)");
		test_end();
		return 0;
	}
	test_end();

	if (nr_cpus > 1) {
		smp_boot();
		for (unsigned c = 1; c < nr_cpus; c++)
			if (percpu[c].online)
				online_mask |= 1u << c;
		test_begin("aps_online");
		EXPECT_EQ(online_mask, (1u << nr_cpus) - 1);
		test_end();
	}

	test_begin("msi_fixed_bsp");
	msi(0, false, false, V_BSP);
	expect_delivery("physical 0", V_BSP, 1);
	test_end();

	test_begin("msi_fixed_each_ap");
	for (unsigned c = 1; c < nr_cpus; c++) {
		char what[24];

		snprintf(what, sizeof(what), "physical %u", c);
		msi((uint8_t)c, false, false, V_AP);
		expect_delivery(what, V_AP, online_mask & (1u << c));
	}
	if (nr_cpus == 1)
		test_skip("1 cpu");
	test_end();

	test_begin("msi_physical_broadcast");
	msi(0xFF, false, false, V_BCAST);
	expect_delivery("physical 0xff", V_BCAST, online_mask);
	test_end();

	for (unsigned c = 1; c < nr_cpus; c++)
		if (online_mask & (1u << c))
			smp_call(c, set_flat, NULL, true);
	set_flat(NULL);

	test_begin("msi_logical_flat");
	{
		static const uint8_t dests[] = { 0x0A, 0x05, 0x03, 0xFF, 0x00 };

		for (unsigned i = 0; i < sizeof(dests); i++) {
			char what[24];

			snprintf(what, sizeof(what), "logical 0x%02x", dests[i]);
			msi(dests[i], true, false, V_FLAT);
			expect_delivery(what, V_FLAT, dests[i] & online_mask);
		}
	}
	test_end();

	test_begin("msi_redirection_hint_fixed");
	/* RH=1 with logical mode and fixed delivery: one of the set, like
	 * lowest priority (SDM 10.11.1 "Message Address Register Format":
	 * RH=1 restricts to the lowest-priority processor). */
	msi(0x01, true, true, V_RH);
	expect_delivery("logical 0x01 RH", V_RH, 1);
	test_end();

	test_begin("msi_lowest_priority_one_cpu");
	for (unsigned i = 0; i < 8; i++) {
		msi((uint8_t)(online_mask & 0xFF), true, true, (1u << 8) | V_LOWEST);
		WAIT_UNTIL(irq_total(V_LOWEST) >= 1, 1000);
		settle(3000);
		EXPECT(irq_total(V_LOWEST) == 1, "round %u: taken %u times in all", i,
		       irq_total(V_LOWEST));
		clear_vec(V_LOWEST);
	}
	test_end();

	test_begin("msi_nmi");
	{
		unsigned c = nr_cpus > 1 ? 1 : 0;
		uint32_t n = irq_count[c][2];

		msi((uint8_t)c, false, false, 4u << 8);
		EXPECT(WAIT_UNTIL(irq_count[c][2] == n + 1, 1000), "no NMI on cpu %u", c);
		settle(2000);
		EXPECT_EQ(irq_count[c][2], n + 1);
	}
	test_end();
	return 0;
}
