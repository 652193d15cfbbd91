/* SPDX-License-Identifier: MIT */
/*
 * lapic_nmi: NMIs sent through the ICR (delivery mode 100b): to self by
 * physical destination (the self shorthand is not valid for NMI), with
 * IF=0; to each AP; an AP halted with IF=0 is woken by an NMI; and a
 * 2000-round (NMI_ROUNDS) ping-pong BSP -> AP (NMI) -> BSP (fixed IPI) plus 500 rounds
 * AP -> BSP (NMI) -> AP, counted exactly: each side waits for the reply
 * before sending the next NMI, so none can merge.
 */
#include "guest.h"

#define V_REPLY 0x50
#define ROUNDS 2000
#define ROUNDS_BACK 500

/* Rounds of the BSP -> AP ping-pong: ROUNDS, or NMI_ROUNDS=n from the VMM's
 * --env (run-guest.sh lowers it in user mode while issue 8's triple fault
 * is open; see there). */
static uint32_t rounds(void)
{
	const char *s = mb_config("NMI_ROUNDS");
	unsigned long n = s ? strtoul_simple(s) : 0;

	return n && n <= ROUNDS ? (uint32_t)n : ROUNDS;
}

static volatile uint32_t reply_to = ~0u; /* NMI handlers reply to this CPU */
static volatile uint32_t woke[MAX_CPUS];

static void nmi(struct frame *f)
{
	unsigned me = cpu_id();

	(void)f;
	woke[me] = 1;
	if (reply_to != ~0u && reply_to != me)
		apic_icr(ICR_FIXED | ICR_ASSERT | V_REPLY, reply_to);
}

static uint32_t nmis(unsigned cpu)
{
	return irq_count[cpu][2];
}

/* Halts with IF=0 until an NMI arrives (only NMI, INIT or SMI wake it). */
static void halt_cli(void *arg)
{
	(void)arg;
	cli();
	percpu[cpu_id()].user[0] = 1;
	while (!woke[cpu_id()])
		__asm__ volatile("hlt" ::: "memory");
	sti();
}

/* Halts (IF=1, so the reply IPI wakes it) until vector v reached n. */
static bool wait_reply(unsigned v, uint32_t n, unsigned ms)
{
	unsigned me = cpu_id();
	uint64_t dl = rdtsc() + ms * TSC_PER_MS;

	cli();
	while (irq_count[me][v] < n && rdtsc() < dl)
		idle();
	tick_cancel();
	sti();
	return irq_count[me][v] >= n;
}

/* On the AP: ROUNDS_BACK NMIs to the BSP, each answered by a fixed IPI. */
static void pingpong_back(void *arg)
{
	unsigned me = cpu_id();
	uint32_t base = irq_count[me][V_REPLY];

	(void)arg;
	for (uint32_t i = 1; i <= ROUNDS_BACK; i++) {
		apic_icr(ICR_NMI | ICR_ASSERT, 0);
		if (!wait_reply(V_REPLY, base + i, 1000))
			break;
	}
	percpu[me].user[1] = irq_count[me][V_REPLY] - base;
}

int main(void)
{
	unsigned ap = 1;
	uint64_t t0, t1;

	set_handler(2, nmi);
	sti();

	test_begin("nmi_self_physical");
	apic_icr(ICR_NMI | ICR_ASSERT, apic_id());
	EXPECT(SPIN_UNTIL(nmis(0) == 1, 100), "no NMI");
	EXPECT_EQ(nmis(0), 1);
	test_end();

	test_begin("nmi_self_with_if0");
	cli();
	apic_icr(ICR_NMI | ICR_ASSERT, apic_id());
	EXPECT(SPIN_UNTIL(nmis(0) == 2, 100), "NMI held off by IF=0");
	sti();
	settle(1000);
	EXPECT_EQ(nmis(0), 2);
	test_end();

	if (nr_cpus < 2 || smp_boot() < 1) {
		test_begin("nmi_cross_cpu");
		if (nr_cpus < 2)
			test_skip("1 cpu");
		else
			test_fail("no AP came up");
		test_end();
		return 0;
	}

	test_begin("nmi_to_each_ap");
	reply_to = 0;
	for (unsigned c = 1; c < nr_cpus; c++) {
		uint32_t before = irq_count[0][V_REPLY];

		if (!percpu[c].online)
			continue;
		apic_icr(ICR_NMI | ICR_ASSERT, c);
		EXPECT(WAIT_UNTIL(irq_count[0][V_REPLY] == before + 1, 1000),
		       "no reply from cpu %u", c);
		EXPECT_EQ(nmis(c), 1);
	}
	settle(2000);
	EXPECT_EQ(nmis(0), 2);
	reply_to = ~0u;
	test_end();

	test_begin("nmi_wakes_hlt_with_if0");
	woke[ap] = 0;
	percpu[ap].user[0] = 0;
	smp_call(ap, halt_cli, NULL, false);
	EXPECT(WAIT_UNTIL(percpu[ap].user[0] == 1, 1000), "AP did not start");
	settle(1000); /* let it reach HLT */
	/* An NMI taken just before the HLT would leave it asleep: retry. */
	for (int i = 0; i < 5; i++) {
		apic_icr(ICR_NMI | ICR_ASSERT, ap);
		if (WAIT_UNTIL(!percpu[ap].fn, 500))
			break;
	}
	EXPECT(!percpu[ap].fn, "AP halted with IF=0 not woken by NMI");
	test_end();

	/* NMI_PINGPONG=skip (run-guest.sh, user mode): the ping-pongs are not
	 * run while issue 8 item 8 (a vCPU's triple fault) is open;
	 * each says SKIP, so the run counts as skipped, never as passed. */
	if (mb_config("NMI_PINGPONG")) {
		test_begin("nmi_pingpong");
		test_skip("known bug, issue 8 item 8: a vCPU triple-faults");
		test_end();
		test_begin("nmi_pingpong_back_500");
		test_skip("known bug, issue 8 item 8: a vCPU triple-faults");
		test_end();
		return 0;
	}

	test_begin("nmi_pingpong");
	{
		uint32_t nmi0 = nmis(ap), rep0 = irq_count[0][V_REPLY];
		uint32_t i, nr = rounds();

		reply_to = 0;
		t0 = rdtsc();
		for (i = 1; i <= nr; i++) {
			apic_icr(ICR_NMI | ICR_ASSERT, ap);
			if (!wait_reply(V_REPLY, rep0 + i, 1000))
				break;
		}
		t1 = rdtsc();
		settle(2000);
		EXPECT(i > nr, "round %u: no reply", i);
		EXPECT_EQ(nmis(ap) - nmi0, nr);
		EXPECT_EQ(irq_count[0][V_REPLY] - rep0, nr);
		printf("nmi ping-pong: %u rounds in %llu M TSC ticks\n", nr,
		       (unsigned long long)((t1 - t0) >> 20));
	}
	test_end();

	test_begin("nmi_pingpong_back_500");
	{
		uint32_t nmi0 = nmis(0);

		reply_to = ap;
		percpu[ap].user[1] = 0;
		smp_call(ap, pingpong_back, NULL, false);
		WAIT_UNTIL(!percpu[ap].fn, 10000);
		EXPECT(!percpu[ap].fn, "AP still running after 10 s");
		settle(2000);
		EXPECT_EQ(percpu[ap].user[1], ROUNDS_BACK);
		EXPECT_EQ(nmis(0) - nmi0, ROUNDS_BACK);
		reply_to = ~0u;
	}
	test_end();
	return 0;
}
