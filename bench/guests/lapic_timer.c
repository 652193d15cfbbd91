/* SPDX-License-Identifier: MIT */
/*
 * lapic_timer benchmark: the LAPIC timer armed (IF=1) for a short
 * one-shot, taken, EOI'd, re-armed by the loop, for BENCH_MS; the loop
 * halts when the interrupt has not come yet. The delay (TIMER_NS, default
 * 1000 ns) is far below an exit's cost, so the timer has normally expired
 * by the time the arming write returns, and the figure is the emulation's
 * overhead per timer interrupt. Variants
 * (VARIANT=, default both in this order):
 *
 *   oneshot   LVT one-shot, TMICT = TIMER_NS (1 GHz timer, divide by 1)
 *   deadline  TSC-deadline mode, IA32_TSC_DEADLINE = now + TIMER_NS
 *
 * The program owns the timer: the library's wait tick is off.
 */
#include "bench.h"

#define V_TIMER 0x61

static void run(const char *name, bool deadline, uint32_t delay_ns)
{
	volatile uint32_t *cnt = &irq_count[0][V_TIMER];
	uint64_t dur = bench_ticks(), delta = delay_ns * bench_tsc_khz / 1000000ULL, t0, t1;
	uint32_t n = 0;

	test_begin(name);
	if (deadline && !cpu_has_tsc_deadline()) {
		test_skip("no TSC-deadline mode");
		test_end();
		return;
	}
	*cnt = 0;
	apic_write(APIC_TDCR, 0xB);
	apic_write(APIC_LVTT, (deadline ? LVT_TIMER_TSCDEADLINE : 0) | V_TIMER);
	sti();
	t0 = rdtsc();
	do {
		if (deadline)
			wrmsr(MSR_TSC_DEADLINE, rdtsc() + delta);
		else
			apic_write(APIC_TMICT, delay_ns);
		bench_wait(cnt, ++n);
	} while ((n % CHECK_EVERY) || rdtsc() - t0 < dur);
	t1 = rdtsc();
	bench_report(name, n, n, t1 - t0, NULL);
	/* A one-shot fires once: nothing more may come. */
	t0 = rdtsc();
	while (rdtsc() - t0 < 2 * TSC_PER_MS)
		(void)apic_read(APIC_TMCCT); /* exits: delivery points */
	EXPECT_EQ(*cnt, n);
	apic_write(APIC_LVTT, LVT_MASK | V_TIMER);
	test_end();
}

int main(void)
{
	const char *s = mb_config("TIMER_NS");
	uint32_t delay = s ? (uint32_t)strtoul_simple(s) : 1000;

	tick_disabled = true;
	bench_init();
	if (bench_variant("oneshot", true))
		run("lapic_timer", false, delay);
	if (bench_variant("deadline", true))
		run("lapic_timer_deadline", true, delay);
	cli();
	return 0;
}
