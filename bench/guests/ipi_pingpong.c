/* SPDX-License-Identifier: MIT */
/*
 * ipi_pingpong benchmark (2 vCPUs): vCPU 0 sends a fixed IPI (0x63) to
 * vCPU 1, whose handler sends a fixed IPI (0x64) back and EOIs; vCPU 0
 * halts until the reply was taken, then sends the next. Each side's IPI is
 * one ICR write (the xAPIC destination in ICR2 is set once beforehand).
 * count = round trips, irqs = 2 per round trip. Variants (VARIANT=,
 * default both in this order):
 *
 *   xapic       ICR low word by MMIO
 *   x2apic      the 64-bit ICR MSR (0x830); both LAPICs switch to x2APIC
 *   nmi         NMIs both ways (ICR delivery mode NMI, xAPIC MMIO): vCPU 1's
 *               NMI handler sends the NMI back; no EOI
 *   nmi_x2apic  the same through the x2APIC ICR MSR
 */
#include "bench.h"

#define V_PING 0x63
#define V_PONG 0x64

static void pong(struct frame *f)
{
	(void)f;
	if (apic_x2())
		wrmsr(0x830, V_PONG); /* destination 0 in bits 63:32 */
	else
		mmio_write32(APIC_MMIO + APIC_ICR, ICR_ASSERT | V_PONG);
	apic_eoi();
}

/* NMI handler of both vCPUs (counted before it runs): vCPU 1 answers. */
static void nmi_pong(struct frame *f)
{
	(void)f;
	if (cpu_id() != 1)
		return;
	if (apic_x2())
		wrmsr(0x830, ICR_NMI); /* destination 0 in bits 63:32 */
	else
		mmio_write32(APIC_MMIO + APIC_ICR, ICR_ASSERT | ICR_NMI);
}

static void ap_prepare(void *arg)
{
	bool x2 = arg != NULL;

	if (x2)
		percpu[cpu_id()].user[0] = apic_to_x2apic();
	else
		apic_write(APIC_ICR2, 0); /* replies go to APIC ID 0 */
}

static void run(const char *name, bool x2, bool nmi)
{
	uint32_t ping = nmi ? ICR_NMI : V_PING;
	unsigned ping_vec = nmi ? 2 : V_PING, pong_vec = nmi ? 2 : V_PONG;
	volatile uint32_t *cnt = &irq_count[0][pong_vec];
	uint64_t dur = bench_ticks(), t0, t1;
	uint32_t n = 0;

	test_begin(name);
	if (x2) {
		if (!smp_call(1, ap_prepare, (void *)1, true) || !percpu[1].user[0] ||
		    !apic_to_x2apic()) {
			test_fail("cannot switch to x2APIC");
			test_end();
			return;
		}
	} else {
		if (!smp_call(1, ap_prepare, NULL, true)) {
			test_fail("cpu 1 did not run its call");
			test_end();
			return;
		}
		apic_write(APIC_ICR2, 1u << 24);
	}
	irq_count[0][pong_vec] = 0;
	irq_count[1][ping_vec] = 0;
	if (!nmi) {
		irq_count[0][V_PING] = 0;
		irq_count[1][V_PONG] = 0;
	}
	sti();
	t0 = rdtsc();
	do {
		if (x2)
			wrmsr(0x830, (1ULL << 32) | ping);
		else
			mmio_write32(APIC_MMIO + APIC_ICR, ICR_ASSERT | ping);
		bench_wait(cnt, ++n);
	} while ((n % CHECK_EVERY) || rdtsc() - t0 < dur);
	t1 = rdtsc();
	bench_report(name, n, 2ULL * n, t1 - t0, NULL);
	settle(2000);
	EXPECT_EQ(irq_count[1][ping_vec], n);
	EXPECT_EQ(*cnt, n);
	if (!nmi) {
		EXPECT_EQ(irq_count[0][V_PING], 0);
		EXPECT_EQ(irq_count[1][V_PONG], 0);
	}
	test_end();
}

int main(void)
{
	test_begin("aps_online");
	if (nr_cpus < 2) {
		test_fail("needs 2 vCPUs (--smp 2), have %u", nr_cpus);
		test_end();
		return 0;
	}
	set_handler(V_PING, pong);
	set_handler(2, nmi_pong);
	sti();
	EXPECT(smp_boot() >= 1, "cpu 1 did not come online");
	if (!test_end())
		return 0;
	bench_init();
	if (bench_variant("xapic", true))
		run("ipi_pingpong", false, false);
	if (bench_variant("x2apic", true))
		run("ipi_pingpong_x2apic", true, false);
	if (bench_variant("nmi", true))
		run("nmi_pingpong", false, true);
	if (bench_variant("nmi_x2apic", true))
		run("nmi_pingpong_x2apic", true, true);
	cli();
	return 0;
}
