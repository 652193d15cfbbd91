/* SPDX-License-Identifier: MIT */
/*
 * fuzz-vmx's fake CPU: a VMCS field store (an array keyed by field
 * encoding) behind the glue's vmread/vmwrite, capability MSRs, guest
 * RAX/RCX/RDX, the LAPIC's host hooks, and the check of every 0x4016 write
 * with virq_vmx_check_entry_event() against the store.
 */
#ifndef VIRQ_FUZZ_VMX_STORE_H
#define VIRQ_FUZZ_VMX_STORE_H

#include <virq/vmx.h>

#include "../fuzz_common.h"

#define NF 64U

struct fz {
	uint32_t page[1024] __attribute__((aligned(4096)));
	struct virq_lapic lapic __attribute__((aligned(64)));
	struct virq_vcpu pol;
	struct virq_vmx_vcpu vx;
	uint32_t fld[NF];
	uint64_t val[NF];
	unsigned nf;
	uint64_t caps[0x20];
	uint64_t gpr[3];
	uint8_t irr[256], isr[256]; /* the model */
	unsigned intr_writes;       /* 0x4016 writes this entry */
	bool vnmi;
	/* Events exits cut off that wait for re-injection, in 0x4016 form:
	 * at most an exception and an interrupt, NMI or INT n (vcpu.h). */
	uint32_t reinj[2];
	unsigned nreinj;
	uint32_t level;     /* virq_vmx_config::level */
	uint8_t cpuq[8][2]; /* OP_CPU actions for the next guest run */
	unsigned ncpu;
	bool entered; /* the last prepare let the guest run */
};

static struct fz *g;

static uint64_t *slot(struct fz *f, uint32_t field)
{
	for (unsigned i = 0; i < f->nf; i++)
		if (f->fld[i] == field)
			return &f->val[i];
	CHECK(f->nf < NF);
	f->fld[f->nf] = field;
	f->val[f->nf] = 0;
	return &f->val[f->nf++];
}

static uint64_t get(struct fz *f, uint32_t field)
{
	return *slot(f, field);
}

static void set(struct fz *f, uint32_t field, uint64_t v)
{
	*slot(f, field) = v;
}

/* The checks on what the store holds; @event: the 0x4016 value too (else
 * only the control checks, as after the CPU took the event). */
static void check_written(struct fz *f, bool event)
{
	struct virq_vmx_check_env env = {
		.vmx_basic = f->caps[0],
		.vmx_misc = f->caps[5],
		.pin_ctls = (uint32_t)get(f, VIRQ_VMCS_PIN_BASED_CTLS),
		.proc_ctls2 = (uint32_t)get(f, VIRQ_VMCS_PROC_BASED_CTLS2),
		.interruptibility = (uint32_t)get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY),
		.activity = (uint32_t)get(f, VIRQ_VMCS_GUEST_ACTIVITY_STATE),
		.cr0 = get(f, VIRQ_VMCS_GUEST_CR0),
		.vtpr = (uint8_t)f->page[0x80 / 4],
		.proc_ctls = (uint32_t)get(f, VIRQ_VMCS_PROC_BASED_CTLS),
		.tpr_threshold = (uint32_t)get(f, VIRQ_VMCS_TPR_THRESHOLD),
		.virtual_apic_addr = get(f, VIRQ_VMCS_VIRTUAL_APIC_ADDR),
		.apic_access_addr = get(f, VIRQ_VMCS_APIC_ACCESS_ADDR),
	};

	int rc = virq_vmx_check_entry_event(&env,
					    event ? (uint32_t)get(f, VIRQ_VMCS_ENTRY_INTR_INFO) : 0,
					    (uint32_t)get(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE),
					    (uint32_t)get(f, VIRQ_VMCS_ENTRY_INSN_LEN));

	if (rc)
		fprintf(stderr, "entry check %d: info %#x ec %#x len %u intr %#x activity %u\n", rc,
			(unsigned)get(f, VIRQ_VMCS_ENTRY_INTR_INFO),
			(unsigned)get(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE),
			(unsigned)get(f, VIRQ_VMCS_ENTRY_INSN_LEN), env.interruptibility,
			env.activity);
	CHECK(rc == 0);
}

static uint64_t h_vmread(void *ctx, uint32_t field)
{
	return get(ctx, field);
}

static void h_vmwrite(void *ctx, uint32_t field, uint64_t v)
{
	struct fz *f = ctx;

	set(f, field, v);
	if (field == VIRQ_VMCS_ENTRY_INTR_INFO) {
		f->intr_writes++;
		check_written(f, true);
	}
}

static uint64_t h_rdmsr(void *ctx, uint32_t msr)
{
	return ((struct fz *)ctx)->caps[msr - 0x480];
}

static uint64_t h_rgpr(void *ctx, enum virq_vmx_gpr r)
{
	return ((struct fz *)ctx)->gpr[r];
}

static void h_wgpr(void *ctx, enum virq_vmx_gpr r, uint64_t v)
{
	((struct fz *)ctx)->gpr[r] = v;
}

static const struct virq_vmx_ops vops = {
	.size = sizeof(struct virq_vmx_ops),
	.vmread = h_vmread,
	.vmwrite = h_vmwrite,
	.rdmsr = h_rdmsr,
	.read_gpr = h_rgpr,
	.write_gpr = h_wgpr, /* CR2 through the entry flags */
};

static void h_nop(void *ctx)
{
	(void)ctx;
}

static uint64_t h_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static void h_arm(void *ctx, uint64_t d)
{
	(void)ctx;
	(void)d;
}

static const struct virq_lapic_ops lops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = h_nop,
	.now_ns = h_now,
	.timer_arm = h_arm,
	.timer_cancel = h_nop,
};

#endif /* VIRQ_FUZZ_VMX_STORE_H */
