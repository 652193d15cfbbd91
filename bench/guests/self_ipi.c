/* SPDX-License-Identifier: MIT */
/*
 * self_ipi benchmark: a fixed self-IPI, taken, EOI'd, repeated for
 * BENCH_MS. Variants (VARIANT=, default both in this order):
 *
 *   xapic   one MMIO write of the ICR low word (destination shorthand self)
 *   x2apic  one write of the SELF IPI MSR (0x83F); switches the LAPIC to
 *           x2APIC mode for good
 *
 * The IPI is sent with IF=1, so the interrupt is normally taken right after
 * the write; the loop halts only when it has not been taken yet.
 */
#include "bench.h"

#define V_SELF 0x60

static void run(const char *name, bool x2)
{
	volatile uint32_t *cnt = &irq_count[0][V_SELF];
	uint64_t dur = bench_ticks(), t0, t1;
	uint32_t n = 0;

	test_begin(name);
	if (x2 && !apic_to_x2apic()) {
		test_skip("no x2APIC");
		test_end();
		return;
	}
	*cnt = 0;
	sti();
	t0 = rdtsc();
	do {
		if (x2)
			wrmsr(0x83F, V_SELF);
		else
			mmio_write32(APIC_MMIO + APIC_ICR, ICR_SELF | ICR_ASSERT | V_SELF);
		bench_wait(cnt, ++n);
	} while ((n % CHECK_EVERY) || rdtsc() - t0 < dur);
	t1 = rdtsc();
	bench_report(name, n, n, t1 - t0, NULL);
	settle(2000); /* a duplicate would show up now */
	EXPECT_EQ(*cnt, n);
	EXPECT(!apic_irr(V_SELF) && !apic_isr(V_SELF), "IRR/ISR bit left set");
	test_end();
}

int main(void)
{
	bench_init();
	if (bench_variant("xapic", true))
		run("self_ipi", false);
	if (bench_variant("x2apic", true))
		run("self_ipi_x2apic", true);
	cli();
	return 0;
}
