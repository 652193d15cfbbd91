/* SPDX-License-Identifier: MIT */
/*
 * exit_cost: what the host charges for the guest's basic operations, to
 * read the interrupt benchmarks against. No interrupts. Each op runs for
 * BENCH_MS (VARIANT= selects, default all in this order):
 *
 *   pio        OUT to the pc-testdev scratch port 0xE0: an exit to the
 *              VMM's device model, no libvirq code
 *   lapic_read read of the LAPIC version register: user irqchip, an MMIO
 *              exit answered by libvirq; split irqchip, KVM's LAPIC
 *   rdtsc      RDTSC (no exit to userspace)
 *   cli_sti    CLI then STI (no exit to userspace)
 */
#include "bench.h"

enum op {
	OP_PIO,
	OP_LAPIC_READ,
	OP_RDTSC,
	OP_CLI_STI
};

static void run(const char *name, enum op op)
{
	uint64_t dur = bench_ticks(), t0, t1;
	uint32_t n = 0;

	test_begin(name);
	t0 = rdtsc();
	do {
		for (unsigned i = 0; i < CHECK_EVERY; i++) {
			switch (op) {
			case OP_PIO:
				outb(PORT_SCRATCH, (uint8_t)i);
				break;
			case OP_LAPIC_READ:
				(void)apic_read(APIC_VER);
				break;
			case OP_RDTSC:
				(void)rdtsc();
				break;
			case OP_CLI_STI:
				cli();
				sti();
				break;
			}
		}
		n += CHECK_EVERY;
	} while (rdtsc() - t0 < dur);
	t1 = rdtsc();
	/* The loop's own TSC reads (one per CHECK_EVERY ops) are included. */
	bench_report(name, n, 0, t1 - t0, NULL);
	test_end();
}

int main(void)
{
	bench_init();
	if (bench_variant("pio", true))
		run("exit_pio", OP_PIO);
	if (bench_variant("lapic_read", true))
		run("exit_lapic_read", OP_LAPIC_READ);
	if (bench_variant("rdtsc", true))
		run("op_rdtsc", OP_RDTSC);
	if (bench_variant("cli_sti", true))
		run("op_cli_sti", OP_CLI_STI);
	cli();
	return 0;
}
