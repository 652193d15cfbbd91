/* SPDX-License-Identifier: MIT */
/*
 * Shared part of the benchmark guests (bench/guests/): TSC calibration,
 * run length and variant selection from the Multiboot module (the VMM's
 * --env KEY=VALUE), HLT-based waiting and the result line.
 *
 * Each benchmark prints one line on COM1:
 *
 *   BENCH: name=N count=C irqs=I tsc_ticks=T tsc_khz=K ns=NS ns_per_op=X.XXX per_sec=R
 *
 * count is the benchmark's own unit (an interrupt, a round trip of
 * ipi_pingpong, an instruction of exit_cost), irqs the interrupts the
 * guest took for them, tsc_ticks the guest TSC time of the measured loop,
 * tsc_khz the calibrated TSC rate, ns = tsc_ticks in nanoseconds,
 * ns_per_op = ns / count and per_sec = count per second, then any
 * benchmark-specific words (ioapic_level: extra=N). Then the usual
 * test verdict (PASS/FAIL, SUMMARY) and isa-debug-exit 0 when every check
 * held.
 */
#ifndef BENCH_H
#define BENCH_H

#include "guest.h"

/* TSC rate in kHz, from bench_init(). */
extern uint64_t bench_tsc_khz;

/*
 * Calibrates the TSC against the LAPIC timer's current count (both the
 * libvirq LAPIC and KVM's count at 1 GHz at divide by 1) over ~20 ms, and
 * reads BENCH_MS (default 1000) from the module. Leaves the timer stopped
 * and its LVT masked.
 */
void bench_init(void);

/* Run length of one benchmark loop, in TSC ticks. */
uint64_t bench_ticks(void);

/*
 * Whether the variant name is to run: the module's VARIANT= list (comma-
 * separated) names it, or there is no list and dflt is true.
 */
bool bench_variant(const char *name, bool dflt);

/* Prints the BENCH: line; note (NULL for none) is appended, KEY=VALUE words. */
void bench_report(const char *name, uint64_t count, uint64_t irqs, uint64_t ticks,
		  const char *note);

/*
 * The loops read the TSC only every CHECK_EVERY iterations: on the
 * development host RDTSC traps (~8 us), as do CLI and STI.
 */
#define CHECK_EVERY 16

/* Halts (IF=1) until *p reaches n. No exit at all when it already has. */
static inline void bench_wait(const volatile uint32_t *p, uint32_t n)
{
	if (*p >= n)
		return;
	cli();
	while (*p < n) {
		sti_hlt();
		cli();
	}
	sti();
}

#endif
