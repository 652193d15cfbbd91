/* SPDX-License-Identifier: MIT */
/*
 * lapic_xapic_id: a guest that rewrites xAPIC IDs (ID register bits 31:24;
 * writable on the processors that allow it, SDM "Local APIC ID", as KVM
 * allows it and virq-vmm's LAPICs do). CPU 2 takes CPU 1's ID, so two CPUs
 * share it, and CPU 3 moves to an ID nobody had. The BSP then sends a fixed
 * IPI to every physical destination from 0 to a few above the CPU count and
 * to 0xFF, and each CPU must take it exactly when its current ID is the
 * destination: both CPUs for the shared ID, nobody for an unused ID (CPU
 * 3's old one included), everyone for 0xFF. CPUID.1:EBX[31:24] keeps the
 * initial APIC ID. The IDs are then written back and the walk repeated.
 *
 * Needs 3 CPUs or more (4 in the kvm suite). Under virq-vmm
 * --irqchip=user only: with --irqchip=split the LAPIC is KVM's, and KVM
 * 6.1's mis-delivers IPIs to an aliased xAPIC ID (not registered there).
 */
#include "guest.h"

#define V_WALK 0x60

static uint32_t online_mask;
static uint32_t cur_id[MAX_CPUS]; /* each CPU's xAPIC ID, as this program set it */
static unsigned moved_to;         /* CPU 3's new ID: nobody's before */

static unsigned popcount(uint32_t m)
{
	unsigned n = 0;

	for (; m; m &= m - 1)
		n++;
	return n;
}

static void clear_vec(unsigned v)
{
	for (unsigned c = 0; c < MAX_CPUS; c++)
		irq_count[c][v] = 0;
}

/* One delivery of vec on each CPU of want, then a few ms for strays; each
 * CPU's count is checked exactly. */
static void expect_delivery(const char *what, unsigned vec, uint32_t want)
{
	WAIT_UNTIL(irq_total(vec) >= popcount(want), 1000);
	settle(3000);
	if (popcount(want) > 1 && popcount(want) < popcount(online_mask) && quirk("tcg")) {
		/* QEMU TCG: a physical ID two LAPICs share reaches one. */
		uint32_t in = 0, out = 0;

		for (unsigned c = 0; c < nr_cpus; c++) {
			if ((want >> c) & 1)
				in += irq_count[c][vec];
			else
				out += irq_count[c][vec];
		}
		EXPECT(in == 1 && out == 0,
		       "%s: %u deliveries to the CPUs sharing the ID, %u to others", what, in, out);
		test_skip("quirk tcg: an aliased physical ID reaches one of its CPUs");
		clear_vec(vec);
		return;
	}
	for (unsigned c = 0; c < nr_cpus; c++) {
		uint32_t got = irq_count[c][vec], exp = (want >> c) & 1;

		if (got != exp)
			test_fail("%s: vector 0x%x taken %u times on cpu %u (xAPIC ID %u), "
				  "expected %u",
				  what, vec, got, c, cur_id[c], exp);
	}
	clear_vec(vec);
}

/* smp_call() wakes CPU n at APIC ID n; once IDs move, wake every AP with
 * the all-excluding-self shorthand, which names no ID (the others find
 * nothing to do and halt again). */
static bool call_on(unsigned cpu, void (*fn)(void *), void *arg)
{
	struct percpu *p = &percpu[cpu];

	if (!smp_wait(cpu))
		return false;
	p->arg = arg;
	__atomic_store_n(&p->fn, fn, __ATOMIC_RELEASE);
	apic_icr(ICR_ALL_EXC | ICR_ASSERT | VEC_WAKE, 0);
	return smp_wait(cpu);
}

/* On the CPU itself: ID register := arg << 24; user[0] the ID register read
 * back, user[1] CPUID.1:EBX[31:24]. */
static void set_id(void *arg)
{
	struct percpu *p = &percpu[cpu_id()];

	apic_write(APIC_ID, (uint32_t)(uintptr_t)arg << 24);
	p->user[0] = apic_read(APIC_ID);
	p->user[1] = cpuid_apic_id();
}

static bool move_id(unsigned cpu, unsigned id)
{
	if (!call_on(cpu, set_id, (void *)(uintptr_t)id)) {
		test_fail("cpu %u did not run its call", cpu);
		return false;
	}
	EXPECT(percpu[cpu].user[0] == id << 24, "cpu %u: ID register 0x%x after writing 0x%x", cpu,
	       percpu[cpu].user[0], id << 24);
	EXPECT(percpu[cpu].user[1] == cpu,
	       "cpu %u: CPUID.1:EBX[31:24] = %u, expected the initial %u", cpu, percpu[cpu].user[1],
	       cpu);
	if (percpu[cpu].user[0] != id << 24)
		return false;
	cur_id[cpu] = id;
	return true;
}

/* Fixed IPI from the BSP to each physical destination 0..moved_to + 2 and
 * 0xFF; the CPUs whose current ID matches (all for 0xFF) take it. */
static void walk(const char *label)
{
	unsigned last = moved_to + 2;

	for (unsigned d = 0; d <= last + 1; d++) {
		unsigned dest = d <= last ? d : 0xFF;
		uint32_t want = 0;
		char what[48];

		for (unsigned c = 0; c < nr_cpus; c++)
			if ((online_mask & (1u << c)) && (dest == 0xFF || cur_id[c] == dest))
				want |= 1u << c;
		snprintf(what, sizeof(what), "%s: physical dest 0x%02x", label, dest);
		apic_icr(ICR_FIXED | ICR_ASSERT | V_WALK, dest);
		expect_delivery(what, V_WALK, want);
	}
}

int main(void)
{
	bool moved = true;

	sti();
	online_mask = 1;
	for (unsigned c = 0; c < MAX_CPUS; c++)
		cur_id[c] = c;
	moved_to = nr_cpus + 2;
	smp_boot();
	for (unsigned c = 1; c < nr_cpus; c++)
		if (percpu[c].online)
			online_mask |= 1u << c;

	test_begin("aps_online");
	EXPECT_EQ(online_mask, (1u << nr_cpus) - 1);
	test_end();

	test_begin("physical_walk_initial_ids");
	walk("initial IDs");
	test_end();

	if (nr_cpus < 3 || online_mask != (1u << nr_cpus) - 1) {
		test_begin("xapic_id_alias_and_move");
		test_skip(nr_cpus < 3 ? "needs 3 cpus" : "not every AP came up");
		test_end();
		cli();
		return 0;
	}

	/* CPU 2 shares CPU 1's ID; with 4 CPUs or more, CPU 3 moves away. */
	test_begin("xapic_id_write");
	moved &= move_id(2, 1);
	if (nr_cpus > 3)
		moved &= move_id(3, moved_to);
	EXPECT_EQ(apic_id(), 0);
	test_end();

	if (moved) {
		test_begin("physical_walk_aliased_ids");
		walk("aliased IDs");
		test_end();
	}

	/* Back to 0..N-1: CPU 2 is reached at ID 1 (CPU 1 wakes too), CPU 3
	 * at its new ID. */
	test_begin("xapic_id_restore");
	move_id(2, 2);
	if (nr_cpus > 3)
		move_id(3, 3);
	for (unsigned c = 0; c < nr_cpus; c++)
		EXPECT(cur_id[c] == c, "cpu %u still at ID %u", c, cur_id[c]);
	test_end();

	test_begin("physical_walk_restored_ids");
	walk("restored IDs");
	test_end();
	cli();
	return 0;
}
