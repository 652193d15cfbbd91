/* SPDX-License-Identifier: MIT */
/*
 * virq_vm benchmarks: the cost of one MSI (virq_vm_send_msi: decode,
 * destination resolution, post) at 1, 64, 1024 and 4096 vCPUs for a
 * physical, an x2APIC-cluster and a lowest-priority destination, and the
 * I/O APIC level cycle (line high -> delivery -> ack -> line low -> EOI
 * broadcast). The issue asks that the MSI cost not grow with the vCPU
 * count: the 4096/1 ratio is printed. The cycle runs twice: with the
 * pthread mutex lock hooks every row uses (row ioapic), and with lock
 * hooks that do nothing (row ioapic-nolock), which leaves the library's
 * own cost apart from the embedder's lock.
 *
 * Then the same physical MSI at 4096 vCPUs while two vCPUs alias one xAPIC
 * ID (vCPUs 5 and 261 taken x2APIC -> disabled -> xAPIC, as a guest may:
 * both have xAPIC ID 5): to unaliased vCPUs it must cost what the plain
 * physical row costs; to the aliased ID it scans every vCPU (reported as
 * such, with virq_vm_scan_count() per MSI). In that VM an x2APIC cluster
 * destination and a physical 0xFF (the xAPIC broadcast, which both
 * xAPIC-mode vCPUs accept) check the map's candidates plus the two
 * xAPIC-mode vCPUs, no scan; the last rows take 16 and then 17 vCPUs to
 * xAPIC mode, at and above the bound of the xAPIC list (above it, logical
 * destinations scan).
 *
 * Then VMs of 1, 16, 17, 64 and 255 xAPIC-mode vCPUs (rows xflat-N,
 * xclus-N, xbcast-N): one logical MSI to the last vCPU Linux would give a
 * flat or a cluster logical ID, and the xAPIC broadcast (physical 0xFF) to
 * all of them. bench/vm-ir.sh gives their instruction counts.
 *
 * Usage: bench-vm [--iters N] [--runs R] [--row NAME]
 *
 * Each figure is the best of R (default 3) timed loops of N iterations
 * after 1000 warm-up MSIs (in the full run the scanning rows take 1 + N /
 * 500 iterations, the I/O APIC cycle N / 10). --row runs one row only
 * (--row list names them), for instruction counts with callgrind: with
 * --runs 1, (Ir(--iters K) - Ir(--iters 0)) / K is the cost of one MSI, the
 * set-up and the warm-up cancelling out (bench/README.md).
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

static const struct virq_vm_ops vm_ops = { .size = sizeof(struct virq_vm_ops),
					   .lock = b_lock,
					   .unlock = b_unlock };

/*
 * Lock hooks that do nothing, for the ioapic-nolock row: a single-threaded
 * embedder's. The VM requires both hooks (virq_vm_init() refuses NULL
 * ones), so that row still pays the six empty calls of a cycle, two
 * instructions each, but not the mutex.
 */
static void b_nolock(void *ctx)
{
	(void)ctx;
}

static const struct virq_vm_ops vm_ops_nolock = { .size = sizeof(struct virq_vm_ops),
						  .lock = b_nolock,
						  .unlock = b_nolock };

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
	.size = sizeof(struct virq_lapic_ops),
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

/* A VM of @n x2APIC vCPUs with IDs 0..n-1, every one software-enabled,
 * locked by the hooks of @ops. */
static void build_ops(uint32_t n, const struct virq_vm_ops *ops)
{
	struct virq_vm_config cfg;
	struct virq_ioapic_config icfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = n;
	cfg.map_entries = n;
	cfg.nr_gsis = 24;
	cfg.msi_flags = VIRQ_MSI_ADDR_HI_DEST;
	memset(vcpus, 0, sizeof(vcpus));
	if (virq_vm_init(&vm, &cfg, vcpus, map, keys, gsis, ops, NULL))
		abort();
	for (uint32_t i = 0; i < n; i++) {
		struct virq_lapic_config c;

		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
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
	icfg.size = sizeof(icfg);
	if (virq_vm_attach_ioapic(&vm, &ioapic, &icfg, 0, 0) != 0)
		abort();
}

/* build_ops() with the mutex hooks (every row but ioapic-nolock). */
static void build(uint32_t n)
{
	build_ops(n, &vm_ops);
}

static uint64_t msi_addr(uint32_t dest, bool logical, bool rh)
{
	return VIRQ_MSI_ADDR_BASE | ((uint64_t)(dest & 0xFFU) << 12) |
	       ((uint64_t)(dest >> 8) << 40) | (logical ? VIRQ_MSI_ADDR_DM_LOGICAL : 0) |
	       (rh ? VIRQ_MSI_ADDR_RH : 0);
}

/* Timed loops per figure (--runs): the best one is kept. */
static unsigned runs = 3;
/* Deliveries that scanned per MSI in the last time_msi(). */
static double last_scans;

/* ns per MSI to @addr, each accepted by @want LAPICs: the best of runs. */
static double time_msi(uint64_t addr, unsigned want, unsigned iters)
{
	uint64_t best = UINT64_MAX, s0;
	unsigned acc = 0;

	for (unsigned i = 0; i < 1000; i++)
		acc += virq_vm_send_msi(&vm, addr, 0x61, 0);
	s0 = virq_vm_scan_count(&vm);
	for (unsigned r = 0; r < runs; r++) {
		uint64_t t0 = now(), t;

		for (unsigned i = 0; i < iters; i++)
			acc += virq_vm_send_msi(&vm, addr, 0x61, 0);
		t = now() - t0;
		best = t < best ? t : best;
	}
	last_scans = iters ? (double)(virq_vm_scan_count(&vm) - s0) / ((double)iters * runs) : 0;
	if (acc != (iters * runs + 1000) * want)
		fprintf(stderr, "warning: %u accepted of %u\n", acc, (iters * runs + 1000) * want);
	return iters ? (double)best / iters : 0;
}

/*
 * The guest takes vCPU @i from x2APIC to xAPIC mode through the disabled
 * state (the only legal way, SDM "x2APIC State Transitions") and enables
 * it; its xAPIC ID is then the low byte of its x2APIC ID. The map learns it
 * as from a dest_changed hook.
 */
static void to_xapic(uint32_t i)
{
	if (virq_lapic_msr_write(&apics[i], 0x1B, VIRQ_APIC_BASE_ADDR_DEFAULT) ||
	    virq_lapic_msr_write(&apics[i], 0x1B,
				 VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN) ||
	    virq_lapic_mmio_write(&apics[i], VIRQ_LAPIC_REG_SVR, 4, 0x1FF) ||
	    virq_vm_update_vcpu(&vm, i))
		abort();
}

/* The VM of build(4096) with vCPUs 5 and 261 both at xAPIC ID 5, and
 * @extra more vCPUs (from 300 on) in xAPIC mode. */
static void build_alias(unsigned extra)
{
	build(MAXV);
	to_xapic(5);
	to_xapic(261);
	if (virq_lapic_get_id(&apics[5]) != 5 || virq_lapic_get_id(&apics[261]) != 5)
		abort();
	for (unsigned i = 0; i < extra; i++)
		to_xapic(300 + i);
}

/*
 * A VM of @n xAPIC-mode vCPUs (APIC IDs 0..n-1, n at most 255: 0xFF is the
 * broadcast), every one software-enabled, with LDRs as Linux programs them.
 * Flat model (DFR 0xFFFFFFFF, @cluster false): vCPU i < 8 gets LDR bit i,
 * the others LDR 0 (Linux drives more than 8 CPUs in physical mode and
 * leaves their LDR alone). Cluster model (DFR 0x0FFFFFFF): vCPU i < 60
 * gets cluster i / 4, member bit i % 4; the others, past the 15 clusters a
 * guest can use, LDR 0. The LAPIC writes go through MMIO, as the guest
 * makes them; the map learns them as from a dest_changed hook.
 */
static void build_xapic(uint32_t n, bool cluster)
{
	struct virq_vm_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = n;
	cfg.map_entries = 256;
	memset(vcpus, 0, sizeof(vcpus));
	if (virq_vm_init(&vm, &cfg, vcpus, map, keys, NULL, &vm_ops, NULL))
		abort();
	for (uint32_t i = 0; i < n; i++) {
		struct virq_lapic_config c;
		uint32_t ldr = 0;

		if (cluster && i < 60)
			ldr = (i / 4U) << 4 | 1U << (i % 4U);
		else if (!cluster && i < 8)
			ldr = 1U << i;
		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
		c.apic_id = i;
		c.bsp = i == 0;
		if (virq_lapic_init(&apics[i], pages[i], &c, &lapic_ops, NULL) ||
		    virq_lapic_set_apic_base(&apics[i],
					     VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
						     (i == 0 ? VIRQ_APIC_BASE_BSP : 0),
					     false) ||
		    virq_lapic_mmio_write(&apics[i], VIRQ_LAPIC_REG_SVR, 4, 0x1FF) ||
		    virq_lapic_mmio_write(&apics[i], VIRQ_LAPIC_REG_DFR, 4,
					  cluster ? 0x0FFFFFFFU : 0xFFFFFFFFU) ||
		    virq_lapic_mmio_write(&apics[i], VIRQ_LAPIC_REG_LDR, 4, ldr << 24) ||
		    virq_vm_set_vcpu(&vm, i, &apics[i]))
			abort();
	}
}

static const uint32_t xsizes[] = { 1, 16, 17, 64, 255 };
static const char *const xkinds[] = { "xflat", "xclus", "xbcast" };

#define NXSIZES (sizeof(xsizes) / sizeof(xsizes[0]))

/*
 * xAPIC row kind @k at @n vCPUs: builds its VM and returns its MSI
 * address; *@want is the number of LAPICs that accept. xflat and xclus:
 * one logical MSI to the last vCPU that has an LDR of that model; xbcast:
 * the xAPIC broadcast (physical 0xFF) in the cluster VM, to all @n.
 */
static uint64_t xrow(unsigned k, uint32_t n, unsigned *want)
{
	uint32_t t;

	build_xapic(n, k != 0);
	*want = 1;
	switch (k) {
	case 0:
		t = (n < 8 ? n : 8) - 1U;
		return msi_addr(1U << t, true, false);
	case 1:
		t = (n < 60 ? n : 60) - 1U;
		return msi_addr((t / 4U) << 4 | 1U << (t % 4U), true, false);
	default:
		*want = n;
		return msi_addr(0xFF, false, false);
	}
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
	return iters ? (double)(now() - t0) / iters : 0;
}

static const uint32_t sizes[] = { 1, 64, 1024, 4096 };
static const char *const kinds[] = { "phys", "clus", "lowest" };

/* Destination address of row kind @k at @n vCPUs, and its accepted count. */
static uint64_t row_addr(unsigned k, uint32_t n)
{
	uint32_t last = n - 1;
	uint32_t cl = ((last >> 4) << 16) | (1U << (last & 15U));
	/* Lowest priority: up to 4 members of the last vCPU's cluster. */
	uint32_t low = ((last >> 4) << 16) | (0xFU << (last & 12U));

	if (n < 4)
		low = cl;
	switch (k) {
	case 0:
		return msi_addr(last, false, false);
	case 1:
		return msi_addr(cl, true, false);
	default:
		return msi_addr(low, true, true);
	}
}

/* Rows of the alias section: name, destination, LAPICs that accept,
 * whether the row is expected to scan (it then runs fewer iterations), and
 * how many more vCPUs than 5 and 261 are in xAPIC mode. */
static const struct {
	const char *name;
	const char *what;
	uint32_t dest;
	bool logical;
	unsigned want;
	bool scans;
	unsigned extra;
} alias_rows[] = {
	{ "alias-4094", "to an unaliased vCPU (ID 4094)", 4094, false, 1, false, 0 },
	{ "alias-7", "to an unaliased vCPU (ID 7)", 7, false, 1, false, 0 },
	{ "alias-263", "to ID 263 (alias slot 7, not shared)", 263, false, 1, false, 0 },
	{ "alias-id", "to the aliased ID 5 (both vCPUs)", 5, false, 2, true, 0 },
	/* Low byte 0xFF: the xAPIC broadcast for every xAPIC-mode LAPIC. */
	{ "alias-4095", "to ID 4095 (+ xAPIC broadcast alias)", 4095, false, 3, false, 0 },
	{ "alias-ff", "to ID 0xFF (+ xAPIC broadcast)", 0xFF, false, 3, false, 0 },
	/* Logical: the map's candidates plus the xAPIC-mode vCPUs. */
	{ "alias-clus", "x2APIC cluster of ID 4094 (xAPIC vCPUs)", 0x00FF4000U, true, 1, false, 0 },
	{ "xapic16-clus", "x2APIC cluster of ID 4094, 16 xAPIC", 0x00FF4000U, true, 1, false, 14 },
	{ "xapic17-clus", "x2APIC cluster of ID 4094, 17 xAPIC", 0x00FF4000U, true, 1, true, 15 },
};

#define NALIAS (sizeof(alias_rows) / sizeof(alias_rows[0]))

static int run_row(const char *row, unsigned iters)
{
	char name[32];
	double ns;

	/* time_msi() sets last_scans: call it before printing (the order in
	 * which printf's arguments are evaluated is unspecified). */
	for (unsigned s = 0; s < 4; s++) {
		for (unsigned k = 0; k < 3; k++) {
			snprintf(name, sizeof(name), "%s-%u", kinds[k], sizes[s]);
			if (strcmp(row, name))
				continue;
			build(sizes[s]);
			ns = time_msi(row_addr(k, sizes[s]), 1, iters);
			printf("%s: %.1f ns/op, %.2f scans/op\n", name, ns, last_scans);
			return 0;
		}
	}
	for (unsigned r = 0; r < NALIAS; r++) {
		if (strcmp(row, alias_rows[r].name))
			continue;
		build_alias(alias_rows[r].extra);
		ns = time_msi(msi_addr(alias_rows[r].dest, alias_rows[r].logical, false),
			      alias_rows[r].want, iters);
		printf("%s: %.1f ns/op, %.2f scans/op\n", row, ns, last_scans);
		return 0;
	}
	for (unsigned s = 0; s < NXSIZES; s++) {
		for (unsigned k = 0; k < 3; k++) {
			unsigned want;
			uint64_t addr;

			snprintf(name, sizeof(name), "%s-%u", xkinds[k], xsizes[s]);
			if (strcmp(row, name))
				continue;
			addr = xrow(k, xsizes[s], &want);
			ns = time_msi(addr, want, iters);
			printf("%s: %.1f ns/op, %.2f scans/op\n", name, ns, last_scans);
			return 0;
		}
	}
	if (!strcmp(row, "ioapic") || !strcmp(row, "ioapic-nolock")) {
		build_ops(64, strcmp(row, "ioapic") ? &vm_ops_nolock : &vm_ops);
		printf("%s: %.1f ns/op\n", row, time_ioapic_cycle(iters));
		return 0;
	}
	if (strcmp(row, "list"))
		fprintf(stderr, "bench-vm: no row %s; rows:\n", row);
	for (unsigned s = 0; s < 4; s++)
		for (unsigned k = 0; k < 3; k++)
			fprintf(stderr, "  %s-%u\n", kinds[k], sizes[s]);
	for (unsigned r = 0; r < NALIAS; r++)
		fprintf(stderr, "  %-12s  %s\n", alias_rows[r].name, alias_rows[r].what);
	for (unsigned s = 0; s < NXSIZES; s++)
		for (unsigned k = 0; k < 3; k++)
			fprintf(stderr, "  %s-%u\n", xkinds[k], xsizes[s]);
	fprintf(stderr, "  %-12s  %s\n", "ioapic", "I/O APIC level cycle, mutex lock hooks");
	fprintf(stderr, "  %-12s  %s\n", "ioapic-nolock", "the same, lock hooks that do nothing");
	return strcmp(row, "list") ? 2 : 0;
}

int main(int argc, char **argv)
{
	double res[4][3], plain = 0;
	unsigned iters = 2000000;
	const char *row = NULL;
	int rc = 0;

	for (int a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--iters")) {
			iters = (unsigned)strtoul(argv[a + 1], NULL, 0);
		} else if (!strcmp(argv[a], "--runs")) {
			runs = (unsigned)strtoul(argv[a + 1], NULL, 0);
			runs = runs ? runs : 1;
		} else if (!strcmp(argv[a], "--row")) {
			row = argv[a + 1];
		} else {
			fprintf(stderr,
				"usage: bench-vm [--iters N] [--runs R] [--row NAME|list]\n");
			return 2;
		}
	}
	pages = aligned_alloc(4096, (size_t)MAXV * 4096);
	apics = aligned_alloc(64, (size_t)MAXV * sizeof(*apics));
	if (!pages || !apics)
		return 1;
	if (row) {
		rc = run_row(row, iters);
		goto out;
	}

	printf("virq_vm_send_msi, ns/op (best of %u x %u iterations)\n", runs, iters);
	printf("%8s %12s %12s %12s\n", "vCPUs", "physical", "x2apic-clus", "lowest");
	for (unsigned s = 0; s < 4; s++) {
		build(sizes[s]);
		for (unsigned k = 0; k < 3; k++)
			res[s][k] = time_msi(row_addr(k, sizes[s]), 1, iters);
		printf("%8u %12.1f %12.1f %12.1f\n", sizes[s], res[s][0], res[s][1], res[s][2]);
	}
	printf("ratio 4096/1 %12.2f %12.2f %12.2f\n", res[3][0] / res[0][0], res[3][1] / res[0][1],
	       res[3][2] / res[0][2]);

	printf("\nMSIs at 4096 vCPUs while two vCPUs alias one xAPIC ID\n");
	printf("(vCPUs 5 and 261 went x2APIC -> disabled -> xAPIC: both have xAPIC ID 5;\n"
	       " the xapic rows take 14 or 15 more vCPUs to xAPIC mode)\n");
	build(MAXV);
	plain = time_msi(msi_addr(MAXV - 2, false, false), 1, iters);
	printf("  %-40s %10.1f ns/op  %4.2f scans/op\n", "no alias yet, to ID 4094 (\"plain\")",
	       plain, last_scans);
	for (unsigned r = 0; r < NALIAS; r++) {
		/* A scan costs microseconds: fewer iterations keep the run short. */
		unsigned n = alias_rows[r].scans ? iters / 500 + 1 : iters;
		double ns;

		if (!r || alias_rows[r].extra != alias_rows[r - 1].extra)
			build_alias(alias_rows[r].extra);
		ns = time_msi(msi_addr(alias_rows[r].dest, alias_rows[r].logical, false),
			      alias_rows[r].want, n);

		printf("  %-40s %10.1f ns/op  %4.2f scans/op  %8.2fx plain%s\n", alias_rows[r].what,
		       ns, last_scans, ns / plain,
		       last_scans > 0.5 ? "  (scan of 4096 vCPUs)" : "");
	}

	printf("\nxAPIC-mode vCPUs (IDs 0..n-1), ns/op; flat and cluster: one logical\n"
	       "target; broadcast: physical 0xFF to all n (ns per target in brackets)\n");
	printf("%8s %12s %12s %12s %10s\n", "vCPUs", "flat", "cluster", "broadcast", "scans");
	for (unsigned s = 0; s < NXSIZES; s++) {
		double xr[3], sc = 0;

		for (unsigned k = 0; k < 3; k++) {
			unsigned want;
			uint64_t addr = xrow(k, xsizes[s], &want);

			xr[k] = time_msi(addr, want, iters / 10 + 1);
			sc += last_scans;
		}
		printf("%8u %12.1f %12.1f %12.1f (%.1f) %5.2f\n", xsizes[s], xr[0], xr[1], xr[2],
		       xr[2] / xsizes[s], sc);
	}

	build(64);
	printf("\nI/O APIC level cycle (assert, deliver, ack, deassert, EOI): %.1f ns\n",
	       time_ioapic_cycle(iters / 10));
	build_ops(64, &vm_ops_nolock);
	printf("  the same with lock hooks that do nothing:                %.1f ns\n",
	       time_ioapic_cycle(iters / 10));
out:
	free(pages);
	free(apics);
	return rc;
}
