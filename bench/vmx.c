/* SPDX-License-Identifier: MIT */
/*
 * VMX glue benchmark (x2APIC guest) at each level: what libvirq costs per
 * VM entry/exit pair, the VMCS behind a flat array indexed by field
 * encoding (a vmread/vmwrite callback is a load or a store, so the figure
 * is libvirq's, plus a few instructions per callback). Rows, per level:
 *
 *   idle   an entry with nothing to inject, then an external-interrupt exit
 *          (the host's timer): virq_vmx_prepare_entry() + virq_vmx_handle_exit()
 *   intr   one fixed interrupt (0x41, edge) end to end, in two entry/exit
 *          pairs, the second an idle one:
 *          inject, tpr-shadow: virq_lapic_post(), the entry that injects it,
 *            the guest's x2APIC EOI (a WRMSR exit), the entry after it and an
 *            external-interrupt exit; at tpr-shadow the entries also keep the
 *            TPR threshold and each exit resyncs the page (VTPR)
 *          apicv: virq_lapic_post(), the entry that writes RVI into the guest
 *            interrupt status (0x0810), the simulated CPU delivering it
 *            (VIRR -> VISR, SVI) and virtualizing the guest's EOI without an
 *            exit (the vector is not in the EOI-exit bitmap), then an
 *            external-interrupt exit (the glue resyncs the page), an entry
 *            with nothing to write and an external-interrupt exit
 *   level  apicv only: the same with a level-triggered vector (0x61): its
 *          virtualized EOI exits (EOI-induced, reason 45) and reaches the
 *          LAPIC's eoi_level hook, then the entry after it and an
 *          external-interrupt exit
 *
 * The simulated CPU (cpu_deliver(), cpu_eoi()) writes the page and the
 * guest interrupt status as tests/vmx/test_apicv.c does; its instructions
 * are in the counts (a real CPU does that work in microcode). Each
 * iteration checks that the vector was injected or requested, delivered and
 * retired, and each run checks the glue's counters; a failure aborts.
 *
 * It prints ns per iteration and the vmreads and vmwrites per iteration.
 * Instruction counts, exact and repeatable, come from callgrind: with
 * --runs 1, (Ir(--iters K) - Ir(--iters 0)) / K (bench/README.md).
 *
 * Usage: bench-vmx [--iters N] [--runs R] [--level inject|tpr-shadow|apicv|all]
 *                  [--row idle|intr|level]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <virq/regs/lapic.h>
#include <virq/vmx.h>

#define NFIELDS 0x8000U        /* encodings are below 0x7000 */
#define VAPIC_PA 0x12345000ULL /* "host-physical" address of the LAPIC page */

struct bench {
	uint32_t page[1024] __attribute__((aligned(4096)));
	uint8_t msr_bitmap[4096] __attribute__((aligned(4096)));
	struct virq_lapic lapic __attribute__((aligned(64)));
	struct virq_vcpu pol;
	struct virq_vmx_vcpu vx;
	uint64_t vmcs[NFIELDS];
	uint64_t msr[0x20];
	uint64_t gpr[3];
	uint64_t vmreads, vmwrites;
	uint64_t eoi_levels; /* lapic ops->eoi_level calls */
	unsigned eoi_vector; /* the last one's vector */
};

static uint64_t b_vmread(void *ctx, uint32_t field)
{
	struct bench *b = ctx;

	b->vmreads++;
	return b->vmcs[field % NFIELDS];
}

static void b_vmwrite(void *ctx, uint32_t field, uint64_t value)
{
	struct bench *b = ctx;

	b->vmwrites++;
	b->vmcs[field % NFIELDS] = value;
}

static uint64_t b_rdmsr(void *ctx, uint32_t msr)
{
	return ((struct bench *)ctx)->msr[(msr - 0x480U) % 0x20U];
}

static uint64_t b_read_gpr(void *ctx, enum virq_vmx_gpr reg)
{
	return ((struct bench *)ctx)->gpr[reg];
}

static void b_write_gpr(void *ctx, enum virq_vmx_gpr reg, uint64_t v)
{
	((struct bench *)ctx)->gpr[reg] = v;
}

static const struct virq_vmx_ops vmx_ops = {
	.size = sizeof(struct virq_vmx_ops),
	.vmread = b_vmread,
	.vmwrite = b_vmwrite,
	.rdmsr = b_rdmsr,
	.read_gpr = b_read_gpr,
	.write_gpr = b_write_gpr,
};

static void l_nop(void *ctx)
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

/* The I/O APIC's side of a level EOI (Remote IRR): counted. */
static void l_eoi_level(void *ctx, uint8_t vector)
{
	struct bench *b = ctx;

	b->eoi_levels++;
	b->eoi_vector = vector;
}

static const struct virq_lapic_ops lapic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = l_nop,
	.now_ns = l_now,
	.timer_arm = l_arm,
	.timer_cancel = l_nop,
	.eoi_level = l_eoi_level,
};

enum {
	LVL_INJECT,
	LVL_TPR_SHADOW,
	LVL_APICV,
	NLEVELS
};

static const struct {
	const char *name;
	uint32_t level;
} levels[NLEVELS] = {
	[LVL_INJECT] = { "inject", VIRQ_VMX_LEVEL_INJECT },
	[LVL_TPR_SHADOW] = { "tpr-shadow", VIRQ_VMX_LEVEL_TPR_SHADOW },
	[LVL_APICV] = { "apicv", VIRQ_VMX_LEVEL_APICV },
};

/* The glue at @lvl. TPR_SHADOW and APICV get the LAPIC's page as the
 * virtual-APIC page and an MSR bitmap (at APICV in x2APIC mode the EOI
 * WRMSR passes through it), no APIC-access page (an x2APIC guest needs
 * none). */
static struct bench *setup(unsigned lvl)
{
	struct virq_lapic_config lc = {
		.size = sizeof(struct virq_lapic_config), .apic_id = 0, .bsp = true, .x2apic = true
	};
	struct virq_vmx_config cfg = { .size = sizeof(struct virq_vmx_config),
				       .level = levels[lvl].level,
				       .flags = VIRQ_VMX_F_VIRTUAL_NMIS |
						VIRQ_VMX_F_ACK_INTR_ON_EXIT };
	struct bench *b;

	if (posix_memalign((void **)&b, 4096, sizeof(*b)))
		return NULL;
	memset(b, 0, sizeof(*b));
	if (lvl != LVL_INJECT) {
		cfg.virtual_apic_addr = VAPIC_PA;
		cfg.msr_bitmap = b->msr_bitmap;
	}
	/* A CPU that allows every control (the TRUE_* MSRs, secondary). */
	b->msr[0x00] = VIRQ_VMX_BASIC_TRUE_CTLS;
	b->msr[0x0D] = b->msr[0x0E] = b->msr[0x0F] = 0xFFFFFFFFULL << 32;
	b->msr[0x0B] = 0xFFFFFFFFULL << 32;
	if (virq_lapic_init(&b->lapic, b->page, &lc, &lapic_ops, b) ||
	    virq_lapic_set_apic_base(&b->lapic,
				     0xFEE00000ULL | VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD |
					     VIRQ_APIC_BASE_BSP,
				     true) ||
	    virq_lapic_msr_write(&b->lapic, 0x80F, 0x1FF) || /* SVR: enabled */
	    virq_vcpu_init(&b->pol, &b->lapic, NULL))
		goto fail;
	b->vmcs[VIRQ_VMCS_GUEST_RFLAGS] = 0x2 | VIRQ_VMX_RFLAGS_IF;
	b->vmcs[VIRQ_VMCS_GUEST_CR0] = 0x80000011ULL;
	b->vmcs[VIRQ_VMCS_GUEST_RIP] = 0x1000;
	b->vmcs[VIRQ_VMCS_PROC_BASED_CTLS] = VIRQ_VMX_PROC_HLT_EXITING;
	if (virq_vmx_vcpu_init(&b->vx, &b->pol, &b->lapic, &vmx_ops, b, &cfg))
		goto fail;
	return b;
fail:
	free(b);
	return NULL;
}

/* A bit of an IRR/ISR/TMR-style register on the page. */
static inline bool pbit(const struct bench *b, uint32_t base, unsigned v)
{
	return (b->page[(base + 16U * (v / 32U)) / 4U] >> (v % 32U)) & 1U;
}

/* ---- the CPU, as tests/vmx/test_apicv.c simulates it ---- */

static uint32_t *pw(struct bench *b, uint32_t off)
{
	return &b->page[off / 4];
}

static int highest(struct bench *b, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = *pw(b, base + 16U * (uint32_t)i);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return 0;
}

static void vbit(struct bench *b, uint32_t base, unsigned v, bool on)
{
	uint32_t *w = pw(b, base + 16U * (v / 32U));

	*w = on ? *w | 1U << (v % 32U) : *w & ~(1U << (v % 32U));
}

static void cpu_ppr(struct bench *b)
{
	uint32_t tpr = *pw(b, VIRQ_LAPIC_REG_TPR) & 0xFFU;
	uint32_t svi = (uint32_t)b->vmcs[VIRQ_VMCS_GUEST_INTR_STATUS] >> 8;

	*pw(b, VIRQ_LAPIC_REG_PPR) = (tpr >> 4) >= (svi >> 4) ? tpr : (svi & 0xF0U);
}

/* Evaluation and delivery of RVI (IF = 1 assumed): IRR -> ISR, SVI. */
static __attribute__((noinline)) int cpu_deliver(struct bench *b)
{
	uint32_t st = (uint32_t)b->vmcs[VIRQ_VMCS_GUEST_INTR_STATUS];
	unsigned rvi = st & 0xFFU;

	if ((rvi >> 4) <= ((*pw(b, VIRQ_LAPIC_REG_PPR) >> 4) & 0xFU))
		return -1;
	vbit(b, VIRQ_LAPIC_REG_IRR, rvi, false);
	vbit(b, VIRQ_LAPIC_REG_ISR, rvi, true);
	b->vmcs[VIRQ_VMCS_GUEST_INTR_STATUS] = (uint64_t)highest(b, VIRQ_LAPIC_REG_IRR) |
					       (uint64_t)rvi << 8;
	*pw(b, VIRQ_LAPIC_REG_PPR) = rvi & 0xF0U;
	return (int)rvi;
}

/* EOI virtualization; true when the vector's EOI-exit bit says exit. */
static __attribute__((noinline)) bool cpu_eoi(struct bench *b, unsigned *vec)
{
	uint32_t st = (uint32_t)b->vmcs[VIRQ_VMCS_GUEST_INTR_STATUS];
	unsigned v = st >> 8;

	vbit(b, VIRQ_LAPIC_REG_ISR, v, false);
	b->vmcs[VIRQ_VMCS_GUEST_INTR_STATUS] = (st & 0xFFU) |
					       (uint64_t)highest(b, VIRQ_LAPIC_REG_ISR) << 8;
	cpu_ppr(b);
	*vec = v;
	return (b->vmcs[VIRQ_VMCS_EOI_EXIT_BITMAP0 + 2U * (v / 64U)] >> (v % 64U)) & 1U;
}

/* The CPU's side of an exit: entry info consumed, exit fields filled. */
static void cpu_exit(struct bench *b, uint32_t reason, uint32_t intr_info, uint32_t len)
{
	b->vmcs[VIRQ_VMCS_ENTRY_INTR_INFO] &= ~(uint64_t)VIRQ_VMX_INTR_VALID;
	b->vmcs[VIRQ_VMCS_EXIT_REASON] = reason;
	b->vmcs[VIRQ_VMCS_EXIT_INTR_INFO] = intr_info;
	b->vmcs[VIRQ_VMCS_IDT_VECTORING_INFO] = 0;
	b->vmcs[VIRQ_VMCS_EXIT_INSN_LEN] = len;
}

/* ---- the rows ---- */

static int idle_iter(struct bench *b)
{
	struct virq_vmx_entry e;
	struct virq_vmx_exit x;

	if (virq_vmx_prepare_entry(&b->vx, &e))
		return -1;
	cpu_exit(b, VIRQ_VMX_EXIT_REASON_EXT_INTR, VIRQ_VMX_INTR_VALID | 0xEC, 0);
	return virq_vmx_handle_exit(&b->vx, &x) == VIRQ_VMX_EXIT_HOST_INTR ? 0 : -1;
}

/* INJECT and TPR_SHADOW: the vector is injected, acknowledged (ISR) and
 * retired by the EOI exit. */
static int intr_iter(struct bench *b)
{
	struct virq_vmx_entry e;
	struct virq_vmx_exit x;

	virq_lapic_post(&b->lapic, 0x41, false);
	virq_vmx_prepare_entry(&b->vx, &e);
	if (!(e.flags & VIRQ_VMX_ENTRY_INJECTED) ||
	    (uint8_t)b->vmcs[VIRQ_VMCS_ENTRY_INTR_INFO] != 0x41 ||
	    !pbit(b, VIRQ_LAPIC_REG_ISR, 0x41))
		return -1;
	/* The guest's handler: WRMSR 0x80B (EOI) with EDX:EAX = 0. */
	b->gpr[VIRQ_VMX_GPR_RCX] = 0x80B;
	b->gpr[VIRQ_VMX_GPR_RAX] = b->gpr[VIRQ_VMX_GPR_RDX] = 0;
	cpu_exit(b, VIRQ_VMX_EXIT_REASON_WRMSR, 0, 2);
	if (virq_vmx_handle_exit(&b->vx, &x) != VIRQ_VMX_EXIT_CONTINUE ||
	    pbit(b, VIRQ_LAPIC_REG_ISR, 0x41))
		return -1;
	return idle_iter(b);
}

/* APICV: post @vec, the entry requests it (RVI, nothing injected), the CPU
 * delivers it and virtualizes the guest's EOI. Returns whether the EOI
 * exits (EOI-exit bitmap), or -1. */
static int apicv_deliver(struct bench *b, unsigned vec, bool level)
{
	struct virq_vmx_entry e;
	unsigned v;
	bool eoi_exit;

	virq_lapic_post(&b->lapic, (uint8_t)vec, level);
	if (virq_vmx_prepare_entry(&b->vx, &e) ||
	    (uint16_t)b->vmcs[VIRQ_VMCS_GUEST_INTR_STATUS] != vec)
		return -1;
	/* The guest runs: delivery, its handler, its EOI (WRMSR 0x80B passes). */
	if (cpu_deliver(b) != (int)vec || !pbit(b, VIRQ_LAPIC_REG_ISR, vec))
		return -1;
	eoi_exit = cpu_eoi(b, &v);
	if (v != vec || pbit(b, VIRQ_LAPIC_REG_ISR, vec) ||
	    (uint16_t)b->vmcs[VIRQ_VMCS_GUEST_INTR_STATUS] != 0)
		return -1;
	return eoi_exit;
}

/* APICV, edge: no EOI exit; the next (external-interrupt) exit resyncs,
 * and the entry after it has nothing to write: SVI stays 0. */
static int apicv_intr_iter(struct bench *b)
{
	struct virq_vmx_exit x;

	if (apicv_deliver(b, 0x41, false) != 0)
		return -1;
	cpu_exit(b, VIRQ_VMX_EXIT_REASON_EXT_INTR, VIRQ_VMX_INTR_VALID | 0xEC, 0);
	if (virq_vmx_handle_exit(&b->vx, &x) != VIRQ_VMX_EXIT_HOST_INTR || idle_iter(b) ||
	    (uint16_t)b->vmcs[VIRQ_VMCS_GUEST_INTR_STATUS] != 0)
		return -1;
	return 0;
}

/* APICV, level: the virtualized EOI exits (45, qualification = vector)
 * and reaches ops->eoi_level once. */
static int apicv_level_iter(struct bench *b)
{
	struct virq_vmx_exit x;
	uint64_t n = b->eoi_levels;

	if (apicv_deliver(b, 0x61, true) != 1)
		return -1;
	b->vmcs[VIRQ_VMCS_EXIT_QUALIFICATION] = 0x61;
	cpu_exit(b, VIRQ_VMX_EXIT_REASON_VIRTUALIZED_EOI, 0, 0);
	if (virq_vmx_handle_exit(&b->vx, &x) != VIRQ_VMX_EXIT_CONTINUE || b->eoi_levels != n + 1 ||
	    b->eoi_vector != 0x61 || idle_iter(b) ||
	    (uint16_t)b->vmcs[VIRQ_VMCS_GUEST_INTR_STATUS] != 0)
		return -1;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct row {
	const char *name;
	unsigned lvl; /* NLEVELS: inject and tpr-shadow */
	int (*fn)(struct bench *);
	unsigned pairs;
	unsigned injected, eoi_induced, msr; /* per iteration, in the glue's stats */
};

/* The glue's own counters after a run of @iters iterations of @r. */
static int check_stats(const struct bench *b, const struct row *r, unsigned long iters)
{
	const struct virq_vmx_stats *st = virq_vmx_get_stats(&b->vx);

	return st->entries == (uint64_t)r->pairs * iters &&
			       st->exits == (uint64_t)r->pairs * iters &&
			       st->injected == (uint64_t)r->injected * iters &&
			       st->eoi_induced == (uint64_t)r->eoi_induced * iters &&
			       st->msr == (uint64_t)r->msr * iters &&
			       b->eoi_levels == (uint64_t)r->eoi_induced * iters
		       ? 0
		       : -1;
}

int main(int argc, char **argv)
{
	static const struct row rows[] = {
		{ "idle", NLEVELS, idle_iter, 1, 0, 0, 0 },
		{ "intr", NLEVELS, intr_iter, 2, 1, 0, 1 },
		{ "idle", LVL_APICV, idle_iter, 1, 0, 0, 0 },
		{ "intr", LVL_APICV, apicv_intr_iter, 2, 0, 0, 0 },
		{ "level", LVL_APICV, apicv_level_iter, 2, 0, 1, 0 },
	};
	unsigned long iters = 2000000, runs = 3;
	const char *only = NULL, *level = "all";
	bool any = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--row") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--level") && i + 1 < argc)
			level = argv[++i];
		else
			goto usage;
	}
	if (strcmp(level, "all") && strcmp(level, levels[LVL_INJECT].name) &&
	    strcmp(level, levels[LVL_TPR_SHADOW].name) && strcmp(level, levels[LVL_APICV].name))
		goto usage;
	printf("VMX glue, x2APIC guest: per iteration (best of %lu runs of %lu)\n", runs, iters);
	for (unsigned lvl = 0; lvl < NLEVELS; lvl++) {
		if (strcmp(level, "all") && strcmp(level, levels[lvl].name))
			continue;
		for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
			double best = 1e30;
			uint64_t reads = 0, writes = 0;

			if (rows[r].lvl == NLEVELS ? lvl == LVL_APICV : rows[r].lvl != lvl)
				continue;
			if (only && strcmp(only, rows[r].name))
				continue;
			any = true;
			for (unsigned long run = 0; run < (runs ? runs : 1); run++) {
				struct bench *b = setup(lvl);
				double t0, t1;

				if (!b) {
					fprintf(stderr, "bench-vmx: %s: set-up failed\n",
						levels[lvl].name);
					return 1;
				}
				b->vmreads = b->vmwrites = 0;
				t0 = now_s();
				for (unsigned long i = 0; i < iters; i++) {
					if (rows[r].fn(b)) {
						fprintf(stderr,
							"bench-vmx: %s %s: wrong result at %lu\n",
							levels[lvl].name, rows[r].name, i);
						return 1;
					}
				}
				t1 = now_s();
				if (check_stats(b, &rows[r], iters)) {
					fprintf(stderr, "bench-vmx: %s %s: wrong glue counters\n",
						levels[lvl].name, rows[r].name);
					return 1;
				}
				if (iters && (t1 - t0) * 1e9 / (double)iters < best)
					best = (t1 - t0) * 1e9 / (double)iters;
				reads = b->vmreads;
				writes = b->vmwrites;
				free(b);
			}
			if (iters)
				printf("  %-10s %-5s %u entry/exit pair(s): %7.1f ns, %5.1f vmreads, "
				       "%5.1f vmwrites\n",
				       levels[lvl].name, rows[r].name, rows[r].pairs, best,
				       (double)reads / (double)iters,
				       (double)writes / (double)iters);
		}
	}
	if (!any)
		goto usage;
	return 0;
usage:
	fprintf(stderr,
		"usage: %s [--iters N] [--runs R] [--level inject|tpr-shadow|apicv|all] "
		"[--row idle|intr|level]\n",
		argv[0]);
	return 2;
}
