/* SPDX-License-Identifier: MIT */
/* Shared part of the benchmark guests: see bench.h. */
#include "bench.h"

#define CAL_TICKS (20 * TSC_PER_MS) /* >= 20 ms at any TSC rate up to 3 GHz */
#define DEFAULT_MS 1000

uint64_t bench_tsc_khz;
static uint64_t run_ms = DEFAULT_MS;

/* One TMCCT read bracketed by two TSC reads: the TSC at the midpoint, and
 * the bracket's width (the read's uncertainty) in *width. */
static uint32_t tmcct_at(uint64_t *tsc, uint64_t *width)
{
	uint64_t a = rdtsc();
	uint32_t c = apic_read(APIC_TMCCT);
	uint64_t b = rdtsc();

	*tsc = a + (b - a) / 2;
	*width = b - a;
	return c;
}

void bench_init(void)
{
	uint64_t best_err = ~0ULL;
	const char *s;

	apic_write(APIC_LVTT, LVT_MASK | VEC_TICK);
	apic_write(APIC_TDCR, 0xB); /* divide by 1 */
	/* Three tries; the one whose two TMCCT reads had the narrowest TSC
	 * brackets wins (a host preemption inside a read widens it). */
	for (int i = 0; i < 3; i++) {
		uint64_t t0, t1, w0, w1;
		uint32_t c0, c1;

		apic_write(APIC_TMICT, 0xFFFFFFFF);
		c0 = tmcct_at(&t0, &w0);
		while (rdtsc() - t0 < CAL_TICKS)
			pause();
		c1 = tmcct_at(&t1, &w1);
		apic_write(APIC_TMICT, 0);
		if (c1 >= c0 || t1 <= t0 || w0 + w1 >= best_err)
			continue;
		best_err = w0 + w1;
		bench_tsc_khz = (t1 - t0) * 1000000ULL / (c0 - c1);
	}
	if (!bench_tsc_khz)
		panic("TSC calibration: LAPIC timer not counting");
	s = mb_config("BENCH_MS");
	if (s)
		run_ms = strtoul_simple(s);
	printf("bench: tsc %llu kHz (LAPIC timer at 1 GHz, +-%llu ticks), %llu ms per benchmark\n",
	       (unsigned long long)bench_tsc_khz, (unsigned long long)best_err,
	       (unsigned long long)run_ms);
}

uint64_t bench_ticks(void)
{
	return run_ms * bench_tsc_khz;
}

bool bench_variant(const char *name, bool dflt)
{
	const char *v = mb_config("VARIANT");
	size_t nl = strlen(name);

	if (!v)
		return dflt;
	for (const char *p = v; *p;) {
		const char *e = p;

		while (*e && *e != ',')
			e++;
		if ((size_t)(e - p) == nl && !memcmp(p, name, nl))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

void bench_report(const char *name, uint64_t count, uint64_t irqs, uint64_t ticks, const char *note)
{
	uint64_t ns = ticks * 1000000ULL / bench_tsc_khz;
	uint64_t ps_per = count ? ns * 1000ULL / count : 0;
	uint64_t per_sec = ns ? count * 1000000000ULL / ns : 0;

	printf("BENCH: name=%s count=%llu irqs=%llu tsc_ticks=%llu tsc_khz=%llu ns=%llu "
	       "ns_per_op=%llu.%03llu per_sec=%llu%s%s\n",
	       name, (unsigned long long)count, (unsigned long long)irqs, (unsigned long long)ticks,
	       (unsigned long long)bench_tsc_khz, (unsigned long long)ns,
	       (unsigned long long)(ps_per / 1000), (unsigned long long)(ps_per % 1000),
	       (unsigned long long)per_sec, note ? " " : "", note ? note : "");
}
