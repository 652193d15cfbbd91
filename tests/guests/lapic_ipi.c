/* SPDX-License-Identifier: MIT */
/*
 * lapic_ipi: fixed IPIs by every addressing form. xAPIC: self (shorthand
 * and physical), to each halted AP with an IPI back, all-excluding-self,
 * all-including-self, physical broadcast 0xFF, logical flat and logical
 * cluster destinations, lowest priority to exactly one CPU. x2APIC (all
 * CPUs switched): SELF IPI MSR, 64-bit ICR, physical, cluster (derived
 * LDR), broadcast 0xFFFFFFFF, lowest priority. On a CPU without x2APIC,
 * every CPU's LAPIC refuses it instead: EXTD #GP, x2APIC MSRs #GP, nothing
 * sent through the SELF IPI MSR, still an xAPIC with its ID.
 */
#include "guest.h"

enum {
	V_SELF = 0x50,
	V_PHYS_SELF,
	V_PING,
	V_PONG,
	V_ALLEXC,
	V_ALLINC,
	V_BCAST,
	V_FLAT,
	V_CLUSTER,
	V_LOWEST,
	V_X2SELF,
	V_X2ICR,
	V_X2PHYS,
	V_X2CLUSTER,
	V_X2BCAST,
	V_X2ALLEXC,
	V_X2LOWEST,
};

static uint32_t online_mask; /* bit per CPU that is up (BSP included) */

static unsigned popcount(uint32_t m)
{
	unsigned n = 0;

	for (; m; m &= m - 1)
		n++;
	return n;
}

static void pong(struct frame *f)
{
	(void)f;
	apic_icr(ICR_FIXED | ICR_ASSERT | V_PONG, 0);
	apic_eoi();
}

static void clear_vec(unsigned v)
{
	for (unsigned c = 0; c < MAX_CPUS; c++)
		irq_count[c][v] = 0;
}

/* Waits for one delivery of vec on each CPU of want, gives stragglers and
 * strays a few ms, then checks each CPU's count exactly. */
static void expect_delivery(const char *what, unsigned vec, uint32_t want)
{
	unsigned n = popcount(want);

	WAIT_UNTIL(irq_total(vec) >= n, 1000);
	settle(3000);
	for (unsigned c = 0; c < nr_cpus; c++) {
		uint32_t got = irq_count[c][vec], exp = (want >> c) & 1;

		if (got != exp)
			test_fail("%s: vector 0x%x taken %u times on cpu %u, expected %u", what,
				  vec, got, c, exp);
	}
	clear_vec(vec);
}

static void on_all_cpus(void (*fn)(void *), void *arg)
{
	for (unsigned c = 1; c < nr_cpus; c++)
		if (online_mask & (1u << c))
			if (!smp_call(c, fn, arg, true))
				test_fail("cpu %u did not run its call", c);
	fn(arg);
}

/* Logical addressing set-ups, per CPU. Flat: bit id (ids 0-7). Cluster:
 * cluster id & 1, member bit id >> 1 (ids 0-7). */
static uint32_t flat_ldr(unsigned id)
{
	return id < 8 ? 1u << (24 + id) : 0;
}
static uint32_t cluster_ldr(unsigned id)
{
	return id < 8 ? ((id & 1) << 28) | (1u << (24 + (id >> 1))) : 0;
}
static void set_flat(void *arg)
{
	(void)arg;
	apic_write(APIC_DFR, 0xFFFFFFFF);
	apic_write(APIC_LDR, flat_ldr(cpu_id()));
	percpu[cpu_id()].user[0] = apic_read(APIC_DFR);
	percpu[cpu_id()].user[1] = apic_read(APIC_LDR);
}
static void set_cluster(void *arg)
{
	(void)arg;
	apic_write(APIC_DFR, 0x0FFFFFFF);
	apic_write(APIC_LDR, cluster_ldr(cpu_id()));
	percpu[cpu_id()].user[0] = apic_read(APIC_DFR);
	percpu[cpu_id()].user[1] = apic_read(APIC_LDR);
}
static void to_x2apic(void *arg)
{
	struct percpu *p = &percpu[cpu_id()];

	(void)arg;
	p->user[0] = apic_to_x2apic();
	p->user[1] = p->user[0] ? (uint32_t)rdmsr(0x802) : ~0u;
	p->user[2] = p->user[0] ? (uint32_t)rdmsr(0x80D) : ~0u;
}

/* On a CPU without x2APIC: user[0] the vector of setting EXTD, user[1] of
 * reading the x2APIC ID MSR, user[2] of writing the SELF IPI MSR (-1: no
 * fault), user[3] IA32_APIC_BASE low afterwards, user[4] the xAPIC ID. */
static void probe_no_x2apic(void *arg)
{
	struct percpu *p = &percpu[cpu_id()];
	uint64_t v;

	(void)arg;
	p->user[0] = (uint32_t)wrmsr_safe(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EXTD);
	p->user[1] = (uint32_t)rdmsr_safe(0x802, &v);
	p->user[2] = (uint32_t)wrmsr_safe(0x83F, V_X2SELF);
	p->user[3] = (uint32_t)rdmsr(MSR_APIC_BASE);
	p->user[4] = apic_id();
}

static void skip_if_one_cpu(void)
{
	if (nr_cpus == 1)
		test_skip("1 cpu");
}

static void test_self(void)
{
	test_begin("self_ipi_shorthand");
	cli();
	apic_icr(ICR_SELF | ICR_ASSERT | V_SELF, 0);
	EXPECT(apic_irr(V_SELF), "self IPI not pending in IRR with IF=0");
	EXPECT_EQ(irq_count[0][V_SELF], 0);
	sti();
	SPIN_UNTIL(irq_count[0][V_SELF] == 1, 100);
	EXPECT(!apic_irr(V_SELF), "IRR still set after delivery");
	expect_delivery("shorthand self", V_SELF, 1);
	test_end();

	test_begin("self_ipi_physical");
	apic_icr(ICR_FIXED | ICR_ASSERT | V_PHYS_SELF, apic_id());
	expect_delivery("physical self", V_PHYS_SELF, 1);
	test_end();
}

static void test_ping_each_ap(void)
{
	test_begin("fixed_ipi_each_ap_and_back");
	for (unsigned c = 1; c < nr_cpus; c++) {
		uint32_t before = irq_count[0][V_PONG];

		if (!(online_mask & (1u << c)))
			continue;
		apic_icr(ICR_FIXED | ICR_ASSERT | V_PING, c);
		EXPECT(WAIT_UNTIL(irq_count[0][V_PONG] == before + 1, 1000), "no reply from cpu %u",
		       c);
		EXPECT_EQ(irq_count[c][V_PING], 1);
	}
	settle(3000);
	for (unsigned c = 0; c < nr_cpus; c++)
		EXPECT_EQ(irq_count[c][V_PING], c == 0 ? 0 : 1);
	EXPECT_EQ(irq_count[0][V_PONG], popcount(online_mask) - 1);
	clear_vec(V_PING);
	clear_vec(V_PONG);
	skip_if_one_cpu();
	test_end();
}

static void test_broadcasts(void)
{
	test_begin("all_excluding_self");
	apic_icr(ICR_ALL_EXC | ICR_ASSERT | V_ALLEXC, 0);
	expect_delivery("all excluding self", V_ALLEXC, online_mask & ~1u);
	skip_if_one_cpu();
	test_end();

	test_begin("all_including_self");
	apic_icr(ICR_ALL_INC | ICR_ASSERT | V_ALLINC, 0);
	expect_delivery("all including self", V_ALLINC, online_mask);
	test_end();

	test_begin("physical_broadcast_ff");
	apic_icr(ICR_FIXED | ICR_ASSERT | V_BCAST, 0xFF);
	expect_delivery("physical 0xff", V_BCAST, online_mask);
	test_end();
}

static void test_logical_flat(void)
{
	static const uint8_t dests[] = { 0x0A, 0x05, 0x02, 0xFF, 0x00 };

	test_begin("logical_flat");
	on_all_cpus(set_flat, NULL);
	for (unsigned c = 0; c < nr_cpus; c++) {
		EXPECT_EQ(percpu[c].user[0], 0xFFFFFFFF);
		EXPECT_EQ(percpu[c].user[1], flat_ldr(c));
	}
	for (unsigned i = 0; i < sizeof(dests); i++) {
		uint32_t want = dests[i] & online_mask & 0xFF;
		char what[32];

		snprintf(what, sizeof(what), "flat dest 0x%02x", dests[i]);
		apic_icr(ICR_LOGICAL | ICR_ASSERT | V_FLAT, dests[i]);
		expect_delivery(what, V_FLAT, want);
	}
	test_end();

	test_begin("lowest_priority_one_cpu");
	for (unsigned i = 0; i < 8; i++) {
		apic_icr(ICR_LOWEST | ICR_LOGICAL | ICR_ASSERT | V_LOWEST, online_mask & 0xFF);
		WAIT_UNTIL(irq_total(V_LOWEST) >= 1, 1000);
		settle(3000);
		EXPECT(irq_total(V_LOWEST) == 1, "round %u: taken %u times in all", i,
		       irq_total(V_LOWEST));
		clear_vec(V_LOWEST);
	}
	test_end();
}

static void test_logical_cluster(void)
{
	static const uint8_t dests[] = { 0x13, 0x01, 0x0F, 0x12, 0x1F, 0xFF, 0x20 };

	test_begin("logical_cluster");
	on_all_cpus(set_cluster, NULL);
	for (unsigned c = 0; c < nr_cpus; c++) {
		EXPECT_EQ(percpu[c].user[0], 0x0FFFFFFF);
		EXPECT_EQ(percpu[c].user[1], cluster_ldr(c));
	}
	for (unsigned i = 0; i < sizeof(dests); i++) {
		uint32_t want = 0;
		char what[32];

		if (dests[i] == 0xFF && quirk("tcg")) {
			printf("cluster dest 0xff skipped: no cluster-mode broadcast\n");
			continue;
		}

		for (unsigned c = 0; c < nr_cpus && c < 8; c++) {
			uint32_t ldr = cluster_ldr(c) >> 24;

			if (dests[i] == 0xFF ||
			    ((ldr >> 4) == (dests[i] >> 4u) && (ldr & dests[i] & 0xF)))
				want |= (online_mask & (1u << c));
		}
		snprintf(what, sizeof(what), "cluster dest 0x%02x", dests[i]);
		apic_icr(ICR_LOGICAL | ICR_ASSERT | V_CLUSTER, dests[i]);
		expect_delivery(what, V_CLUSTER, want);
	}
	on_all_cpus(set_flat, NULL);
	test_end();
}

static void test_x2apic(void)
{
	static const uint32_t dests[] = { 0x0000000A, 0x00000005, 0x00000002, 0x0000FFFF,
					  0x00010001 };
	bool ok = true;

	if (!cpu_has_x2apic()) {
		test_begin("x2apic_absent_all_cpus");
		x2apic_expected();
		on_all_cpus(probe_no_x2apic, NULL);
		settle(3000);
		for (unsigned c = 0; c < nr_cpus; c++) {
			struct percpu *p = &percpu[c];

			if (!(online_mask & (1u << c)))
				continue;
			if (quirk("tcg")) {
				test_skip("quirk tcg: no #GP for x2APIC MSRs or EXTD");
				EXPECT_EQ(p->user[4], c);
				continue;
			}
			EXPECT(p->user[0] == 13, "cpu %u: setting EXTD gave %d, expected #GP", c,
			       (int)p->user[0]);
			EXPECT(p->user[1] == 13, "cpu %u: rdmsr 0x802 gave %d, expected #GP", c,
			       (int)p->user[1]);
			EXPECT(p->user[2] == 13, "cpu %u: wrmsr 0x83F gave %d, expected #GP", c,
			       (int)p->user[2]);
			EXPECT((p->user[3] & (APIC_BASE_EN | APIC_BASE_EXTD)) == APIC_BASE_EN,
			       "cpu %u: IA32_APIC_BASE 0x%x", c, p->user[3]);
			EXPECT_EQ(p->user[4], c);
		}
		EXPECT_EQ(irq_total(V_X2SELF), 0);
		test_end();
		return;
	}
	test_begin("x2apic_switch_all");
	x2apic_expected();
	/* APs first, while the BSP still addresses them in xAPIC format. */
	on_all_cpus(to_x2apic, NULL);
	for (unsigned c = 0; c < nr_cpus; c++) {
		if (!(online_mask & (1u << c)))
			continue;
		ok &= percpu[c].user[0];
		EXPECT(percpu[c].user[0], "cpu %u: #GP entering x2APIC", c);
		EXPECT_EQ(percpu[c].user[1], c);
		EXPECT_EQ(percpu[c].user[2], ((c >> 4) << 16) | (1u << (c & 15)));
	}
	test_end();
	if (!ok)
		return;

	test_begin("x2apic_self_ipi_msr");
	wrmsr(0x83F, V_X2SELF);
	expect_delivery("SELF IPI MSR", V_X2SELF, 1);
	test_end();

	test_begin("x2apic_icr_self");
	wrmsr(0x830, ICR_SELF | ICR_ASSERT | V_X2ICR);
	expect_delivery("ICR shorthand self", V_X2ICR, 1);
	wrmsr(0x830, ((uint64_t)apic_id() << 32) | ICR_ASSERT | V_X2ICR);
	expect_delivery("ICR physical self", V_X2ICR, 1);
	test_end();

	test_begin("x2apic_physical");
	for (unsigned c = 1; c < nr_cpus; c++) {
		char what[32];

		snprintf(what, sizeof(what), "physical dest %u", c);
		apic_icr(ICR_FIXED | ICR_ASSERT | V_X2PHYS, c);
		expect_delivery(what, V_X2PHYS, online_mask & (1u << c));
	}
	skip_if_one_cpu();
	test_end();

	test_begin("x2apic_cluster");
	for (unsigned i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
		uint32_t want = (dests[i] >> 16) == 0 ? (dests[i] & online_mask & 0xFFFF) : 0;
		char what[40];

		snprintf(what, sizeof(what), "cluster dest 0x%08x", dests[i]);
		apic_icr(ICR_LOGICAL | ICR_ASSERT | V_X2CLUSTER, dests[i]);
		expect_delivery(what, V_X2CLUSTER, want);
	}
	test_end();

	test_begin("x2apic_broadcast");
	apic_icr(ICR_FIXED | ICR_ASSERT | V_X2BCAST, 0xFFFFFFFF);
	expect_delivery("physical 0xffffffff", V_X2BCAST, online_mask);
	apic_icr(ICR_ALL_EXC | ICR_ASSERT | V_X2ALLEXC, 0);
	expect_delivery("all excluding self", V_X2ALLEXC, online_mask & ~1u);
	test_end();

	if (quirk("x2apic-lowest-ipi")) {
		/* KVM's and QEMU's LAPICs send it anyway, to one CPU. */
		test_begin("x2apic_lowest_priority_one_cpu");
		for (unsigned i = 0; i < 8; i++) {
			apic_icr(ICR_LOWEST | ICR_LOGICAL | ICR_ASSERT | V_X2LOWEST,
				 online_mask & 0xFFFF);
			WAIT_UNTIL(irq_total(V_X2LOWEST) >= 1, 1000);
			settle(3000);
			EXPECT(irq_total(V_X2LOWEST) == 1, "round %u: taken %u times in all", i,
			       irq_total(V_X2LOWEST));
			clear_vec(V_X2LOWEST);
		}
		test_end();
	} else {
		/* SDM 10.5.3 "Error Handling" and 10.12.9 "ICR
		 * Operation in x2APIC Mode": lowest priority is not an
		 * IPI delivery mode in x2APIC mode; the sender reports
		 * a redirectable-IPI error (ESR bit 4) and sends
		 * nothing. */
		uint64_t esr;

		test_begin("x2apic_lowest_priority_ipi_refused");
		wrmsr(0x828, 0);
		(void)rdmsr(0x828);
		apic_icr(ICR_LOWEST | ICR_LOGICAL | ICR_ASSERT | V_X2LOWEST, online_mask & 0xFFFF);
		settle(3000);
		EXPECT_EQ(irq_total(V_X2LOWEST), 0);
		wrmsr(0x828, 0); /* latch the errors into ESR */
		esr = rdmsr(0x828);
		EXPECT(esr == 0x10, "ESR 0x%lx, expected 0x10 (redirectable IPI)", esr);
		wrmsr(0x828, 0);
		clear_vec(V_X2LOWEST);
		test_end();
	}
}

int main(void)
{
	set_handler(V_PING, pong);
	sti();
	online_mask = 1;
	if (nr_cpus > 1) {
		smp_boot();
		for (unsigned c = 1; c < nr_cpus; c++)
			if (percpu[c].online)
				online_mask |= 1u << c;
		test_begin("aps_online");
		EXPECT_EQ(online_mask, (1u << nr_cpus) - 1);
		test_end();
	}
	test_self();
	test_ping_each_ap();
	test_broadcasts();
	test_logical_flat();
	test_logical_cluster();
	test_x2apic();
	cli();
	return 0;
}
