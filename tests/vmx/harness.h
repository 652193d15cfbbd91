/* SPDX-License-Identifier: MIT */
/*
 * A fake VMX embedder for the VMX glue's tests: a VMCS field store (an
 * array keyed by field encoding) behind ops->vmread/vmwrite, a log of
 * every VMWRITE, fake capability MSRs, guest RAX/RCX/RDX, and a real
 * LAPIC and policy. Every VMWRITE of 0x4016 is checked on the spot with
 * virq_vmx_check_entry_event() against the store (0x4018 and 0x401A are
 * written before it), and so is every simulated VM entry.
 *
 *	struct vfx *f = vfx_new(0);        // flags for virq_vmx_config
 *	vfx_prepare(f);                    // virq_vmx_prepare_entry()
 *	vfx_exit(f, reason, idt, ...);     // the CPU's exit, then handle_exit
 */
#ifndef VIRQ_TEST_VMX_HARNESS_H
#define VIRQ_TEST_VMX_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <virq/regs/lapic.h>
#include <virq/vmx.h>

#define VFX_FIELDS 64U
#define VFX_LOG 64U
#define VFX_VAPIC 0x12345000ULL  /* host-physical address of the LAPIC page */
#define VFX_ACCESS 0x7FFFF000ULL /* of the APIC-access page */

struct vfx_field {
	uint32_t field;
	uint64_t value;
};

struct vfx {
	uint32_t page[1024] __attribute__((aligned(4096)));
	struct virq_lapic lapic __attribute__((aligned(64)));
	struct virq_vcpu pol;
	struct virq_vmx_vcpu vx;
	struct virq_vmx_config cfg;
	struct vfx_field f[VFX_FIELDS];
	unsigned nf;
	struct vfx_field log[VFX_LOG];
	unsigned nlog;
	uint64_t msr[0x20]; /* IA32_VMX_BASIC (0x480) + index */
	uint64_t gpr[3];
	uint64_t cr2;
	unsigned cr2_writes;
	unsigned checks; /* 0x4016 values checked */
	struct virq_vmx_entry entry;
	struct virq_vmx_exit exit;
	struct virq_apic_msg ipis[8]; /* send_ipi */
	unsigned n_ipis;
	uint8_t eois[8]; /* eoi_level */
	unsigned n_eois;
	bool timer_armed;
	uint64_t timer_deadline;
};

static struct vfx_field *vfx_slot(struct vfx *f, uint32_t field)
{
	for (unsigned i = 0; i < f->nf; i++)
		if (f->f[i].field == field)
			return &f->f[i];
	assert_true(f->nf < VFX_FIELDS);
	f->f[f->nf].field = field;
	f->f[f->nf].value = 0;
	return &f->f[f->nf++];
}

static inline uint64_t vfx_get(struct vfx *f, uint32_t field)
{
	return vfx_slot(f, field)->value;
}

static inline void vfx_set(struct vfx *f, uint32_t field, uint64_t v)
{
	vfx_slot(f, field)->value = v;
}

static inline void vfx_check_event(struct vfx *f)
{
	struct virq_vmx_check_env env = {
		.vmx_basic = f->msr[0],
		.vmx_misc = f->msr[5],
		.pin_ctls = (uint32_t)vfx_get(f, VIRQ_VMCS_PIN_BASED_CTLS),
		.proc_ctls2 = (uint32_t)vfx_get(f, VIRQ_VMCS_PROC_BASED_CTLS2),
		.interruptibility = (uint32_t)vfx_get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY),
		.activity = (uint32_t)vfx_get(f, VIRQ_VMCS_GUEST_ACTIVITY_STATE),
		.cr0 = vfx_get(f, VIRQ_VMCS_GUEST_CR0),
		.vtpr = (uint8_t)f->page[VIRQ_LAPIC_REG_TPR / 4],
		.proc_ctls = (uint32_t)vfx_get(f, VIRQ_VMCS_PROC_BASED_CTLS),
		.tpr_threshold = (uint32_t)vfx_get(f, VIRQ_VMCS_TPR_THRESHOLD),
		.virtual_apic_addr = vfx_get(f, VIRQ_VMCS_VIRTUAL_APIC_ADDR),
		.apic_access_addr = vfx_get(f, VIRQ_VMCS_APIC_ACCESS_ADDR),
	};
	uint32_t info = (uint32_t)vfx_get(f, VIRQ_VMCS_ENTRY_INTR_INFO);

	/* Type 0 needs IF = 1 too: VM entry does not check it, the glue must. */
	if ((info & VIRQ_VMX_INTR_VALID) && !(info & VIRQ_VMX_INTR_TYPE_MASK))
		assert_true(vfx_get(f, VIRQ_VMCS_GUEST_RFLAGS) & VIRQ_VMX_RFLAGS_IF);
	assert_int_equal(virq_vmx_check_entry_event(
				 &env, info, (uint32_t)vfx_get(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE),
				 (uint32_t)vfx_get(f, VIRQ_VMCS_ENTRY_INSN_LEN)),
			 VIRQ_VMX_CHECK_OK);
	f->checks++;
}

static uint64_t vfx_vmread(void *ctx, uint32_t field)
{
	return vfx_get(ctx, field);
}

static void vfx_vmwrite(void *ctx, uint32_t field, uint64_t value)
{
	struct vfx *f = ctx;

	vfx_set(f, field, value);
	assert_true(f->nlog < VFX_LOG);
	f->log[f->nlog].field = field;
	f->log[f->nlog++].value = value;
	if (field == VIRQ_VMCS_ENTRY_INTR_INFO)
		vfx_check_event(f);
}

static uint64_t vfx_rdmsr(void *ctx, uint32_t msr)
{
	struct vfx *f = ctx;

	assert_true(msr >= 0x480 && msr < 0x4A0);
	return f->msr[msr - 0x480];
}

static uint64_t vfx_read_gpr(void *ctx, enum virq_vmx_gpr reg)
{
	return ((struct vfx *)ctx)->gpr[reg];
}

static void vfx_write_gpr(void *ctx, enum virq_vmx_gpr reg, uint64_t v)
{
	((struct vfx *)ctx)->gpr[reg] = v;
}

static void vfx_write_cr2(void *ctx, uint64_t cr2)
{
	struct vfx *f = ctx;

	f->cr2 = cr2;
	f->cr2_writes++;
}

static const struct virq_vmx_ops vfx_ops = {
	.size = sizeof(struct virq_vmx_ops),
	.vmread = vfx_vmread,
	.vmwrite = vfx_vmwrite,
	.rdmsr = vfx_rdmsr,
	.read_gpr = vfx_read_gpr,
	.write_gpr = vfx_write_gpr,
	.write_cr2 = vfx_write_cr2,
};

static void vfx_kick(void *ctx)
{
	(void)ctx;
}

static uint64_t vfx_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static void vfx_arm(void *ctx, uint64_t d)
{
	struct vfx *f = ctx;

	f->timer_armed = true;
	f->timer_deadline = d;
}

static void vfx_cancel(void *ctx)
{
	((struct vfx *)ctx)->timer_armed = false;
}

static void vfx_send_ipi(void *ctx, const struct virq_apic_msg *msg)
{
	struct vfx *f = ctx;

	assert_true(f->n_ipis < 8);
	f->ipis[f->n_ipis++] = *msg;
}

static void vfx_eoi_level(void *ctx, uint8_t vector)
{
	struct vfx *f = ctx;

	assert_true(f->n_eois < 8);
	f->eois[f->n_eois++] = vector;
}

static const struct virq_lapic_ops vfx_lapic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = vfx_kick,
	.now_ns = vfx_now,
	.timer_arm = vfx_arm,
	.timer_cancel = vfx_cancel,
	.send_ipi = vfx_send_ipi,
	.eoi_level = vfx_eoi_level,
};

/* A CPU that allows every control (TRUE_* MSRs), MISC[30] clear. */
static inline void vfx_default_caps(struct vfx *f)
{
	f->msr[0x00] = VIRQ_VMX_BASIC_TRUE_CTLS;
	f->msr[0x0D] = 0xFFFFFFFFULL << 32; /* TRUE_PINBASED */
	f->msr[0x0E] = 0xFFFFFFFFULL << 32; /* TRUE_PROCBASED */
	f->msr[0x0F] = 0xFFFFFFFFULL << 32; /* TRUE_EXIT */
	f->msr[0x0B] = 0xFFFFFFFFULL << 32; /* PROCBASED_CTLS2 */
}

/* The LAPIC (x2APIC-capable, software-enabled, xAPIC mode), the policy
 * and the store with a guest in protected mode, IF = 1, no blocking. */
static inline struct vfx *vfx_alloc(void)
{
	struct virq_lapic_config lc = {
		.size = sizeof(struct virq_lapic_config), .apic_id = 0, .bsp = true, .x2apic = true
	};
	struct vfx *f;

	assert_int_equal(posix_memalign((void **)&f, 4096, sizeof(*f)), 0);
	memset(f, 0, sizeof(*f));
	f->cfg.size = sizeof(f->cfg);
	assert_int_equal(virq_lapic_init(&f->lapic, f->page, &lc, &vfx_lapic_ops, f), 0);
	assert_int_equal(virq_lapic_mmio_write(&f->lapic, VIRQ_LAPIC_REG_SVR, 4, 0x1FF), 0);
	assert_int_equal(virq_vcpu_init(&f->pol, &f->lapic, NULL), 0);
	vfx_default_caps(f);
	vfx_set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x2 | VIRQ_VMX_RFLAGS_IF);
	vfx_set(f, VIRQ_VMCS_GUEST_CR0, 0x80000011ULL);
	vfx_set(f, VIRQ_VMCS_GUEST_RIP, 0x1000);
	vfx_set(f, VIRQ_VMCS_PROC_BASED_CTLS, VIRQ_VMX_PROC_HLT_EXITING);
	return f;
}

static inline struct vfx *vfx_new(uint32_t flags)
{
	struct vfx *f = vfx_alloc();

	f->cfg.level = VIRQ_VMX_LEVEL_INJECT;
	f->cfg.flags = flags;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg), 0);
	f->nlog = 0;
	return f;
}

/* The glue at @level with the LAPIC page at VFX_VAPIC and, with @access,
 * the APIC-access page at VFX_ACCESS; @bitmap, when not NULL, is the MSR
 * bitmap. The write log is left as init wrote it. */
static inline struct vfx *vfx_new_level(uint32_t level, uint32_t flags, bool access,
					uint8_t *bitmap)
{
	struct vfx *f = vfx_alloc();

	f->cfg.level = level;
	f->cfg.flags = flags;
	f->cfg.virtual_apic_addr = VFX_VAPIC;
	f->cfg.apic_access_addr = access ? VFX_ACCESS : 0;
	f->cfg.msr_bitmap = bitmap;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg), 0);
	return f;
}

/* The CPU's write of VTPR (MOV to CR8 or a virtualized TPR write). */
static inline void vfx_set_vtpr(struct vfx *f, uint32_t vtpr)
{
	f->page[VIRQ_LAPIC_REG_TPR / 4] = vtpr;
}

/* The LAPIC in x2APIC mode. */
static inline void vfx_x2apic(struct vfx *f)
{
	assert_int_equal(virq_lapic_set_apic_base(&f->lapic,
						  0xFEE00000ULL | VIRQ_APIC_BASE_EN |
							  VIRQ_APIC_BASE_EXTD | VIRQ_APIC_BASE_BSP,
						  true),
			 0);
}

/* virq_vmx_prepare_entry() with a fresh write log; the entry is checked. */
static inline uint32_t vfx_prepare(struct vfx *f)
{
	uint32_t fl;

	f->nlog = 0;
	fl = virq_vmx_prepare_entry(&f->vx, &f->entry);
	vfx_check_event(f);
	return fl;
}

/* A VM exit: the CPU clears the entry valid bit and fills the exit fields. */
static inline enum virq_vmx_exit_action vfx_exit(struct vfx *f, uint32_t reason, uint32_t idt,
						 uint32_t idt_ec, uint32_t insn_len, uint64_t qual)
{
	vfx_set(f, VIRQ_VMCS_ENTRY_INTR_INFO,
		vfx_get(f, VIRQ_VMCS_ENTRY_INTR_INFO) & ~(uint64_t)VIRQ_VMX_INTR_VALID);
	vfx_set(f, VIRQ_VMCS_EXIT_REASON, reason);
	vfx_set(f, VIRQ_VMCS_IDT_VECTORING_INFO, idt);
	vfx_set(f, VIRQ_VMCS_IDT_VECTORING_ERROR_CODE, idt_ec);
	vfx_set(f, VIRQ_VMCS_EXIT_INSN_LEN, insn_len);
	vfx_set(f, VIRQ_VMCS_EXIT_QUALIFICATION, qual);
	f->nlog = 0;
	return virq_vmx_handle_exit(&f->vx, &f->exit);
}

/* Whether the last write log holds @field (and its value in *v). */
static inline bool vfx_wrote(const struct vfx *f, uint32_t field, uint64_t *v)
{
	bool found = false;

	for (unsigned i = 0; i < f->nlog; i++) {
		if (f->log[i].field == field) {
			found = true;
			if (v)
				*v = f->log[i].value;
		}
	}
	return found;
}

static inline uint64_t vfx_written(const struct vfx *f, uint32_t field)
{
	uint64_t v = 0;

	assert_true(vfx_wrote(f, field, &v));
	return v;
}

static inline bool vfx_bit(uint32_t reg_base, const struct vfx *f, unsigned vector)
{
	return (virq_lapic_read_reg(&f->lapic, reg_base + 0x10U * (vector / 32U)) >>
		(vector % 32U)) &
	       1U;
}

/* The VMWRITE log (emptied by vfx_new(), before vfx_prepare() and before
 * vfx_exit()) is exactly the given (field, value) pairs, in order. */
static inline void vfx_expect_log(const struct vfx *f, const struct vfx_field *exp, unsigned n)
{
	assert_int_equal(f->nlog, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(f->log[i].field, exp[i].field);
		assert_int_equal(f->log[i].value, exp[i].value);
	}
}

#define EXPECT_LOG(f, ...)                                                                         \
	do {                                                                                       \
		const struct vfx_field exp_[] = { __VA_ARGS__ };                                   \
		vfx_expect_log(f, exp_, sizeof(exp_) / sizeof(exp_[0]));                           \
	} while (0)

#endif /* VIRQ_TEST_VMX_HARNESS_H */
