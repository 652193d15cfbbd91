/* SPDX-License-Identifier: MIT */
/*
 * VMX glue benchmark (level INJECT, x2APIC guest): what libvirq costs per
 * VM entry/exit pair, the VMCS behind a flat array indexed by field
 * encoding (a vmread/vmwrite callback is a load or a store, so the figure
 * is libvirq's, plus a few instructions per callback). Rows:
 *
 *   idle   an entry with nothing to inject, then an external-interrupt exit
 *          (the host's timer): virq_vmx_prepare_entry() + virq_vmx_handle_exit()
 *   intr   one fixed interrupt end to end: virq_lapic_post(), the entry that
 *          injects it, the guest's x2APIC EOI (a WRMSR exit), the entry after
 *          it and an external-interrupt exit (two entry/exit pairs)
 *
 * It prints ns per iteration and the vmreads and vmwrites per iteration.
 * Instruction counts, exact and repeatable, come from callgrind: with
 * --runs 1, (Ir(--iters K) - Ir(--iters 0)) / K (bench/README.md).
 *
 * Usage: bench-vmx [--iters N] [--runs R] [--row idle|intr]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <virq/regs/lapic.h>
#include <virq/vmx.h>

#define NFIELDS 0x8000U /* encodings are below 0x7000 */

struct bench {
	uint32_t page[1024] __attribute__((aligned(4096)));
	struct virq_lapic lapic __attribute__((aligned(64)));
	struct virq_vcpu pol;
	struct virq_vmx_vcpu vx;
	uint64_t vmcs[NFIELDS];
	uint64_t msr[0x20];
	uint64_t gpr[3];
	uint64_t vmreads, vmwrites;
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

static const struct virq_lapic_ops lapic_ops = {
	.kick = l_nop,
	.now_ns = l_now,
	.timer_arm = l_arm,
	.timer_cancel = l_nop,
};

static struct bench *setup(void)
{
	struct virq_lapic_config lc = { .apic_id = 0, .bsp = true, .x2apic = true };
	struct virq_vmx_config cfg = { .level = VIRQ_VMX_LEVEL_INJECT,
				       .flags = VIRQ_VMX_F_VIRTUAL_NMIS |
						VIRQ_VMX_F_ACK_INTR_ON_EXIT };
	struct bench *b;

	if (posix_memalign((void **)&b, 4096, sizeof(*b)))
		return NULL;
	memset(b, 0, sizeof(*b));
	/* A CPU that allows every control (the TRUE_* MSRs). */
	b->msr[0x00] = VIRQ_VMX_BASIC_TRUE_CTLS;
	b->msr[0x0D] = b->msr[0x0E] = b->msr[0x0F] = 0xFFFFFFFFULL << 32;
	if (virq_lapic_init(&b->lapic, b->page, &lc, &lapic_ops, b) ||
	    virq_lapic_set_apic_base(&b->lapic,
				     0xFEE00000ULL | VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD |
					     VIRQ_APIC_BASE_BSP,
				     true) ||
	    virq_lapic_msr_write(&b->lapic, 0x80F, 0x1FF) || /* SVR: enabled */
	    virq_vcpu_init(&b->pol, &b->lapic, NULL))
		return NULL;
	b->vmcs[VIRQ_VMCS_GUEST_RFLAGS] = 0x2 | VIRQ_VMX_RFLAGS_IF;
	b->vmcs[VIRQ_VMCS_GUEST_CR0] = 0x80000011ULL;
	b->vmcs[VIRQ_VMCS_GUEST_RIP] = 0x1000;
	b->vmcs[VIRQ_VMCS_PROC_BASED_CTLS] = VIRQ_VMX_PROC_HLT_EXITING;
	if (virq_vmx_vcpu_init(&b->vx, &b->pol, &b->lapic, &vmx_ops, b, &cfg))
		return NULL;
	return b;
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

static int idle_iter(struct bench *b)
{
	struct virq_vmx_entry e;
	struct virq_vmx_exit x;

	if (virq_vmx_prepare_entry(&b->vx, &e))
		return -1;
	cpu_exit(b, VIRQ_VMX_EXIT_REASON_EXT_INTR, VIRQ_VMX_INTR_VALID | 0xEC, 0);
	return virq_vmx_handle_exit(&b->vx, &x) == VIRQ_VMX_EXIT_HOST_INTR ? 0 : -1;
}

static int intr_iter(struct bench *b)
{
	struct virq_vmx_entry e;
	struct virq_vmx_exit x;

	virq_lapic_post(&b->lapic, 0x41, false);
	virq_vmx_prepare_entry(&b->vx, &e);
	if (!(e.flags & VIRQ_VMX_ENTRY_INJECTED) ||
	    (uint8_t)b->vmcs[VIRQ_VMCS_ENTRY_INTR_INFO] != 0x41)
		return -1;
	/* The guest's handler: WRMSR 0x80B (EOI) with EDX:EAX = 0. */
	b->gpr[VIRQ_VMX_GPR_RCX] = 0x80B;
	b->gpr[VIRQ_VMX_GPR_RAX] = b->gpr[VIRQ_VMX_GPR_RDX] = 0;
	cpu_exit(b, VIRQ_VMX_EXIT_REASON_WRMSR, 0, 2);
	if (virq_vmx_handle_exit(&b->vx, &x) != VIRQ_VMX_EXIT_CONTINUE)
		return -1;
	return idle_iter(b);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct bench *);
		unsigned pairs;
	} rows[] = { { "idle", idle_iter, 1 }, { "intr", intr_iter, 2 } };
	unsigned long iters = 2000000, runs = 3;
	const char *only = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--row") && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--iters N] [--runs R] [--row idle|intr]\n",
				argv[0]);
			return 2;
		}
	}
	printf("VMX glue, level INJECT, x2APIC guest: per iteration (best of %lu runs of %lu)\n",
	       runs, iters);
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		double best = 1e30;
		uint64_t reads = 0, writes = 0;

		if (only && strcmp(only, rows[r].name))
			continue;
		for (unsigned long run = 0; run < (runs ? runs : 1); run++) {
			struct bench *b = setup();
			double t0, t1;

			if (!b) {
				fprintf(stderr, "bench-vmx: set-up failed\n");
				return 1;
			}
			b->vmreads = b->vmwrites = 0;
			t0 = now_s();
			for (unsigned long i = 0; i < iters; i++) {
				if (rows[r].fn(b)) {
					fprintf(stderr, "bench-vmx: %s: wrong result at %lu\n",
						rows[r].name, i);
					return 1;
				}
			}
			t1 = now_s();
			if (iters && (t1 - t0) * 1e9 / (double)iters < best)
				best = (t1 - t0) * 1e9 / (double)iters;
			reads = b->vmreads;
			writes = b->vmwrites;
			free(b);
		}
		if (iters)
			printf("  %-5s %u entry/exit pair(s): %7.1f ns, %5.1f vmreads, %5.1f vmwrites\n",
			       rows[r].name, rows[r].pairs, best, (double)reads / (double)iters,
			       (double)writes / (double)iters);
	}
	return 0;
}
