/* SPDX-License-Identifier: MIT */
/*
 * virq_vm benchmarks: the cost of one MSI (virq_vm_send_msi: decode,
 * destination resolution, post) at 1, 64, 1024 and 4096 vCPUs for a
 * physical, an x2APIC-cluster and a lowest-priority destination, and the
 * I/O APIC level cycle (line high -> delivery -> ack -> line low -> EOI
 * broadcast). The issue asks that the MSI cost not grow with the vCPU
 * count: the 4096/1 ratio is printed.
 *
 * Usage: bench-vm [--iters N]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <virq/vm.h>

#define MAXV 4096U

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static struct virq_vm vm;

static void b_lock(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&mtx);
}

static void b_unlock(void *ctx)
{
	(void)ctx;
	pthread_mutex_unlock(&mtx);
}

static const struct virq_vm_ops vm_ops = { .lock = b_lock, .unlock = b_unlock };

static void l_kick(void *ctx)
{
	(void)ctx;
}

static uint64_t l_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static void l_arm(void *ctx, uint64_t d)
{
	(void)ctx;
	(void)d;
}

static void l_eoi_level(void *ctx, uint8_t v)
{
	(void)ctx;
	virq_vm_eoi(&vm, v);
}

static const struct virq_lapic_ops lapic_ops = {
	.kick = l_kick,
	.now_ns = l_now,
	.timer_arm = l_arm,
	.timer_cancel = l_kick,
	.eoi_level = l_eoi_level,
};

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint32_t (*pages)[1024];
static struct virq_lapic *apics;
static struct virq_lapic *vcpus[MAXV];
static uint32_t map[MAXV];
static uint64_t keys[MAXV];
static struct virq_vm_gsi gsis[24];
static struct virq_ioapic ioapic;

/* A VM of @n x2APIC vCPUs with IDs 0..n-1, every one software-enabled. */
static void build(uint32_t n)
{
	struct virq_vm_config cfg;
	struct virq_ioapic_config icfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_vcpus = n;
	cfg.map_entries = n;
	cfg.nr_gsis = 24;
	cfg.msi_flags = VIRQ_MSI_ADDR_HI_DEST;
	memset(vcpus, 0, sizeof(vcpus));
	if (virq_vm_init(&vm, &cfg, vcpus, map, keys, gsis, &vm_ops, NULL))
		abort();
	for (uint32_t i = 0; i < n; i++) {
		struct virq_lapic_config c;

		memset(&c, 0, sizeof(c));
		c.apic_id = i;
		c.bsp = i == 0;
		c.x2apic = true;
		if (virq_lapic_init(&apics[i], pages[i], &c, &lapic_ops, NULL) ||
		    virq_lapic_set_apic_base(&apics[i],
					     VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
						     VIRQ_APIC_BASE_EXTD |
						     (i == 0 ? VIRQ_APIC_BASE_BSP : 0),
					     false) ||
		    virq_lapic_msr_write(&apics[i], 0x80F, 0x1FF) ||
		    virq_vm_set_vcpu(&vm, i, &apics[i]))
			abort();
	}
	memset(&icfg, 0, sizeof(icfg));
	if (virq_vm_attach_ioapic(&vm, &ioapic, &icfg, 0, 0) != 0)
		abort();
}

static uint64_t msi_addr(uint32_t dest, bool logical, bool rh)
{
	return VIRQ_MSI_ADDR_BASE | ((uint64_t)(dest & 0xFFU) << 12) |
	       ((uint64_t)(dest >> 8) << 40) | (logical ? VIRQ_MSI_ADDR_DM_LOGICAL : 0) |
	       (rh ? VIRQ_MSI_ADDR_RH : 0);
}

static double time_msi(uint64_t addr, unsigned iters)
{
	uint64_t t0;
	unsigned acc = 0;

	for (unsigned i = 0; i < 1000; i++)
		acc += virq_vm_send_msi(&vm, addr, 0x61, 0);
	t0 = now();
	for (unsigned i = 0; i < iters; i++)
		acc += virq_vm_send_msi(&vm, addr, 0x61, 0);
	if (acc != iters + 1000)
		fprintf(stderr, "warning: %u accepted of %u\n", acc, iters + 1000);
	return (double)(now() - t0) / iters;
}

static double time_ioapic_cycle(unsigned iters)
{
	struct virq_lapic *l = &apics[0];
	uint64_t t0;

	/* Pin 16: level, vector 0x71, physical destination 0. */
	virq_vm_ioapic_write(&vm, 0, 0, 4, 0x10 + 32 + 1);
	virq_vm_ioapic_write(&vm, 0, 0x10, 4, 0);
	virq_vm_ioapic_write(&vm, 0, 0, 4, 0x10 + 32);
	virq_vm_ioapic_write(&vm, 0, 0x10, 4, 0x8071);
	t0 = now();
	for (unsigned i = 0; i < iters; i++) {
		virq_vm_set_irq(&vm, 16, 0, VIRQ_IRQ_HIGH);
		if (virq_lapic_ack(l) != 0x71)
			abort();
		virq_vm_set_irq(&vm, 16, 0, VIRQ_IRQ_LOW);
		virq_lapic_eoi(l);
	}
	return (double)(now() - t0) / iters;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 1, 64, 1024, 4096 };
	double res[4][3];
	unsigned iters = 2000000;

	if (argc == 3 && !strcmp(argv[1], "--iters"))
		iters = (unsigned)strtoul(argv[2], NULL, 0);
	pages = aligned_alloc(4096, (size_t)MAXV * 4096);
	apics = aligned_alloc(64, (size_t)MAXV * sizeof(*apics));
	if (!pages || !apics)
		return 1;

	printf("virq_vm_send_msi, ns/op (%u iterations)\n", iters);
	printf("%8s %12s %12s %12s\n", "vCPUs", "physical", "x2apic-clus", "lowest");
	for (unsigned s = 0; s < 4; s++) {
		uint32_t n = sizes[s], last = n - 1;
		uint32_t cl = ((last >> 4) << 16) | (1U << (last & 15U));
		/* Lowest priority: up to 4 members of the last vCPU's cluster. */
		uint32_t low = ((last >> 4) << 16) | (0xFU << (last & 12U));

		if (n < 4)
			low = cl;
		build(n);
		res[s][0] = time_msi(msi_addr(last, false, false), iters);
		res[s][1] = time_msi(msi_addr(cl, true, false), iters);
		res[s][2] = time_msi(msi_addr(low, true, true), iters);
		printf("%8u %12.1f %12.1f %12.1f\n", n, res[s][0], res[s][1], res[s][2]);
	}
	printf("ratio 4096/1 %12.2f %12.2f %12.2f\n", res[3][0] / res[0][0], res[3][1] / res[0][1],
	       res[3][2] / res[0][2]);

	build(64);
	printf("I/O APIC level cycle (assert, deliver, ack, deassert, EOI): %.1f ns\n",
	       time_ioapic_cycle(iters / 10));
	free(pages);
	free(apics);
	return 0;
}
