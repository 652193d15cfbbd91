/* SPDX-License-Identifier: MIT */
/*
 * Level APICV (APIC-register virtualization + virtual-interrupt delivery)
 * against a VMCS field store and a simulated CPU that writes the
 * virtual-APIC page and the guest interrupt status as SDM Vol. 3C "APIC
 * Virtualization and Virtual Interrupts" says ("Virtual-Interrupt
 * Delivery", "EOI Virtualization", "APIC-Write Emulation"). Each scenario
 * pins the VMWRITEs.
 */
#include "harness.h"

#include <virq/pic.h>
#include <virq/vm.h>

#define PROC_APICV                                                                                 \
	(VIRQ_VMX_PROC_HLT_EXITING | VIRQ_VMX_PROC_USE_TPR_SHADOW | VIRQ_VMX_PROC_SECONDARY_CTLS)
#define SEC_VID (VIRQ_VMX_PROC2_APIC_REG_VIRT | VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY)

/* ---- the CPU ---- */

static uint32_t *pw(struct vfx *f, uint32_t off)
{
	return &f->page[off / 4];
}

static int highest(struct vfx *f, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = *pw(f, base + 16U * (uint32_t)i);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return 0;
}

static void vbit(struct vfx *f, uint32_t base, unsigned v, bool on)
{
	uint32_t *w = pw(f, base + 16U * (v / 32U));

	*w = on ? *w | 1U << (v % 32U) : *w & ~(1U << (v % 32U));
}

static void cpu_ppr(struct vfx *f)
{
	uint32_t tpr = *pw(f, VIRQ_LAPIC_REG_TPR) & 0xFFU;
	uint32_t svi = (uint32_t)vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS) >> 8;

	*pw(f, VIRQ_LAPIC_REG_PPR) = (tpr >> 4) >= (svi >> 4) ? tpr : (svi & 0xF0U);
}

/* Evaluation and delivery of RVI (IF = 1 assumed): IRR -> ISR, SVI. */
static int cpu_deliver(struct vfx *f)
{
	uint32_t st = (uint32_t)vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS);
	unsigned rvi = st & 0xFFU;

	if ((rvi >> 4) <= ((*pw(f, VIRQ_LAPIC_REG_PPR) >> 4) & 0xFU))
		return -1;
	vbit(f, VIRQ_LAPIC_REG_IRR, rvi, false);
	vbit(f, VIRQ_LAPIC_REG_ISR, rvi, true);
	vfx_set(f, VIRQ_VMCS_GUEST_INTR_STATUS,
		(uint64_t)highest(f, VIRQ_LAPIC_REG_IRR) | (uint64_t)rvi << 8);
	*pw(f, VIRQ_LAPIC_REG_PPR) = rvi & 0xF0U;
	return (int)rvi;
}

/* EOI virtualization; true when the vector's EOI-exit bit says exit. */
static bool cpu_eoi(struct vfx *f, unsigned *vec)
{
	uint32_t st = (uint32_t)vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS);
	unsigned v = st >> 8;

	vbit(f, VIRQ_LAPIC_REG_ISR, v, false);
	vfx_set(f, VIRQ_VMCS_GUEST_INTR_STATUS,
		(st & 0xFFU) | (uint64_t)highest(f, VIRQ_LAPIC_REG_ISR) << 8);
	cpu_ppr(f);
	*vec = v;
	return (vfx_get(f, VIRQ_VMCS_EOI_EXIT_BITMAP0 + 2U * (v / 64U)) >> (v % 64U)) & 1U;
}

static struct vfx *apicv(bool access, uint8_t *bitmap)
{
	struct vfx *f =
		vfx_new_level(VIRQ_VMX_LEVEL_APICV, VIRQ_VMX_F_VIRTUAL_NMIS, access, bitmap);

	f->nlog = 0;
	return f;
}

/* ---- init ---- */

static void test_init_xapic(void **state)
{
	struct vfx *f = vfx_alloc();

	(void)state;
	vfx_set(f, VIRQ_VMCS_PROC_BASED_CTLS2, VIRQ_VMX_PROC2_UNRESTRICTED_GUEST);
	f->cfg.level = VIRQ_VMX_LEVEL_APICV;
	f->cfg.virtual_apic_addr = VFX_VAPIC;
	f->cfg.apic_access_addr = VFX_ACCESS;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_PIN_BASED_CTLS, VIRQ_VMX_PIN_EXT_INTR_EXITING },
		   { VIRQ_VMCS_VIRTUAL_APIC_ADDR, VFX_VAPIC },
		   { VIRQ_VMCS_APIC_ACCESS_ADDR, VFX_ACCESS },
		   { VIRQ_VMCS_PROC_BASED_CTLS, PROC_APICV },
		   { VIRQ_VMCS_PROC_BASED_CTLS2, VIRQ_VMX_PROC2_UNRESTRICTED_GUEST | SEC_VID |
							 VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES });
	assert_int_equal(virq_lapic_get_accel(&f->lapic), VIRQ_LAPIC_ACCEL_APICV);
	free(f);
}

static void test_init_x2apic_and_refused(void **state)
{
	struct vfx *f = vfx_alloc();

	(void)state;
	vfx_x2apic(f);
	f->cfg.level = VIRQ_VMX_LEVEL_APICV;
	f->cfg.virtual_apic_addr = VFX_VAPIC;
	f->cfg.apic_access_addr = VFX_ACCESS;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS2),
			 SEC_VID | VIRQ_VMX_PROC2_VIRT_X2APIC_MODE);
	/* Without an APIC-access page xAPIC accesses are the embedder's
	 * EPT violations; no secondary bit for them. */
	f->cfg.apic_access_addr = 0;
	virq_lapic_reset(&f->lapic);
	f->nlog = 0;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS2), SEC_VID);

	/* Lacks: no virtual-interrupt delivery; no x2APIC virtualization;
	 * no secondary controls at all. Nothing written. */
	(void)virq_lapic_set_accel(&f->lapic, VIRQ_LAPIC_ACCEL_NONE);
	f->cfg.apic_access_addr = VFX_ACCESS;
	f->msr[0x0B] &= ~((uint64_t)VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY << 32);
	f->nlog = 0;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg),
			 -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_APICV);
	vfx_default_caps(f);
	f->msr[0x0B] &= ~((uint64_t)VIRQ_VMX_PROC2_VIRT_X2APIC_MODE << 32);
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg),
			 -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_VIRT_X2APIC);
	vfx_default_caps(f);
	f->msr[0x0E] &= ~((uint64_t)VIRQ_VMX_PROC_SECONDARY_CTLS << 32);
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg),
			 -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_VIRT_APIC_ACCESSES |
							   VIRQ_VMX_MISSING_APICV |
							   VIRQ_VMX_MISSING_VIRT_X2APIC);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(virq_lapic_get_accel(&f->lapic), VIRQ_LAPIC_ACCEL_NONE);
	free(f);
}

/* ---- virtual-interrupt delivery ---- */

/* A posted vector becomes RVI, never 0x4016, and asks for no window. The
 * CPU delivers it (IRR -> ISR, SVI) and the exit's resync takes that; an
 * interrupt status the CPU already holds is not written again, one it
 * changed behind the glue is. */
static void test_posted_vector_rvi(void **state)
{
	struct vfx *f = apicv(true, NULL);
	unsigned v;

	(void)state;
	virq_lapic_post(&f->lapic, 0x41, false);
	assert_int_equal(vfx_prepare(f), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_GUEST_INTR_STATUS, 0x41 }, { VIRQ_VMCS_EOI_EXIT_BITMAP0, 0 },
		   { VIRQ_VMCS_EOI_EXIT_BITMAP1, 0 }, { VIRQ_VMCS_EOI_EXIT_BITMAP2, 0 },
		   { VIRQ_VMCS_EOI_EXIT_BITMAP3, 0 });
	assert_true(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0x41));
	assert_int_equal(virq_vmx_get_stats(&f->vx)->injected, 0);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);

	/* The guest runs: the CPU delivers 0x41. */
	assert_int_equal(cpu_deliver(f), 0x41);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x4100);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_EXT_INTR, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_HOST_INTR);
	assert_true(vfx_bit(VIRQ_LAPIC_REG_ISR, f, 0x41));
	assert_false(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0x41));
	assert_int_equal(virq_lapic_svi(&f->lapic), 0x41);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);

	/* The guest's EOI, virtualized (not in the bitmap): no exit. */
	assert_false(cpu_eoi(f, &v));
	assert_int_equal(v, 0x41);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_EXT_INTR, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_HOST_INTR);
	assert_int_equal(virq_lapic_svi(&f->lapic), 0);
	/* The same vector again: 0x0041 was written once before, but the
	 * field now holds 0. */
	virq_lapic_post(&f->lapic, 0x41, false);
	assert_int_equal(vfx_prepare(f), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_GUEST_INTR_STATUS, 0x41 });
	free(f);
}

/* A level-triggered vector (an I/O APIC pin) is in the EOI-exit bitmap;
 * its virtualized EOI exits and reaches ops->eoi_level once. */
static void test_level_eoi_exit(void **state)
{
	struct vfx *f = apicv(true, NULL);
	unsigned v;

	(void)state;
	virq_lapic_post(&f->lapic, 0x61, true);
	assert_int_equal(vfx_prepare(f), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_GUEST_INTR_STATUS, 0x61 }, { VIRQ_VMCS_EOI_EXIT_BITMAP0, 0 },
		   { VIRQ_VMCS_EOI_EXIT_BITMAP1, 1ULL << (0x61 - 64) },
		   { VIRQ_VMCS_EOI_EXIT_BITMAP2, 0 }, { VIRQ_VMCS_EOI_EXIT_BITMAP3, 0 });
	assert_int_equal(cpu_deliver(f), 0x61);
	assert_true(cpu_eoi(f, &v));
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_VIRTUALIZED_EOI, 0, 0, 0, v),
			 VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(f->n_eois, 1);
	assert_int_equal(f->eois[0], 0x61);
	assert_int_equal(f->nlog, 0); /* trap-like: RIP stays */
	assert_int_equal(virq_vmx_get_stats(&f->vx)->eoi_induced, 1);
	assert_int_equal(virq_lapic_svi(&f->lapic), 0);
	/* An edge vector: not in the bitmap. */
	virq_lapic_post(&f->lapic, 0x71, false);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x71);
	assert_int_equal(f->n_eois, 1);
	free(f);
}

/* ---- APIC-write exits ---- */

/* ICR: the guest's write is in the page; the IPI goes out once; RIP is
 * not touched (trap-like). */
static void test_apic_write_icr(void **state)
{
	struct vfx *f = apicv(true, NULL);

	(void)state;
	assert_int_equal(vfx_prepare(f), 0);
	*pw(f, VIRQ_LAPIC_REG_ICR_HI) = 0x02000000U;
	*pw(f, VIRQ_LAPIC_REG_ICR_LO) = 0x00004051U;
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_APIC_WRITE, 0, 0, 3, 0x300),
			 VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(f->n_ipis, 1);
	assert_int_equal(f->ipis[0].vector, 0x51);
	assert_int_equal(f->ipis[0].dest, 2);
	assert_int_equal(virq_vmx_get_stats(&f->vx)->apic_write, 1);
	/* The same value again sends again. */
	assert_int_equal(vfx_prepare(f), 0);
	*pw(f, VIRQ_LAPIC_REG_ICR_LO) = 0x00004051U;
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_APIC_WRITE, 0, 0, 3, 0x300),
			 VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(f->n_ipis, 2);
	free(f);
}

/* LVT timer and initial count: the timer is armed by the APIC write. */
static void test_apic_write_timer(void **state)
{
	struct vfx *f = apicv(true, NULL);

	(void)state;
	assert_int_equal(vfx_prepare(f), 0);
	*pw(f, VIRQ_LAPIC_REG_LVT_TIMER) = 0xFFF800EFU; /* reserved bits, mode 3 */
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_APIC_WRITE, 0, 0, 0, 0x320),
			 VIRQ_VMX_EXIT_CONTINUE);
	/* Masked and one-shot as before, vector taken; the rest dropped. */
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_LVT_TIMER), 0xEF);
	assert_int_equal(vfx_prepare(f), 0);
	*pw(f, VIRQ_LAPIC_REG_TMICT) = 100;
	assert_false(f->timer_armed);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_APIC_WRITE, 0, 0, 0, 0x380),
			 VIRQ_VMX_EXIT_CONTINUE);
	assert_true(f->timer_armed);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_TMICT), 100);
	free(f);
}

/* ---- mode switch: secondary controls and the MSR bitmap ---- */

static bool read_passes(uint32_t msr)
{
	return msr == 0x802 || msr == 0x803 || msr == 0x808 || msr == 0x80A || msr == 0x80D ||
	       msr == 0x80F || (msr >= 0x810 && msr <= 0x828) || msr == 0x82F ||
	       (msr >= 0x832 && msr <= 0x838) || msr == 0x83E;
}

static bool bm_bit(const uint8_t *bm, uint32_t base, uint32_t msr)
{
	return (bm[base + msr / 8U] >> (msr % 8U)) & 1U;
}

/* Every bit of the page: ours as @x2 says, the embedder's untouched. */
static void check_bitmap(const uint8_t *bm, bool x2)
{
	for (uint32_t msr = 0x800; msr <= 0x8FF; msr++) {
		bool wr = msr == 0x808 || msr == 0x80B || msr == 0x83F;

		assert_int_equal(bm_bit(bm, VIRQ_VMX_MSR_BITMAP_READ_LOW, msr),
				 !(x2 && read_passes(msr)));
		assert_int_equal(bm_bit(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, msr), !(x2 && wr));
	}
	for (unsigned i = 0; i < 4096; i++)
		if (!((i >= 0x100 && i < 0x120) || (i >= 0x900 && i < 0x920)))
			assert_int_equal(bm[i], 0x5A);
}

static void test_mode_switch(void **state)
{
	static uint8_t bm[4096];
	struct vfx *f;

	(void)state;
	memset(bm, 0x5A, sizeof(bm));
	f = apicv(true, bm);
	check_bitmap(bm, false);
	assert_int_equal(vfx_prepare(f), 0);
	assert_false(vfx_wrote(f, VIRQ_VMCS_PROC_BASED_CTLS2, NULL));

	/* WRMSR IA32_APIC_BASE (the embedder's): x2APIC at the next entry. */
	vfx_x2apic(f);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS2),
			 SEC_VID | VIRQ_VMX_PROC2_VIRT_X2APIC_MODE);
	check_bitmap(bm, true);
	assert_int_equal(virq_vmx_get_stats(&f->vx)->mode_switches, 1);

	/* Globally disabled: neither, and every MSR exits. */
	assert_int_equal(
		virq_lapic_set_apic_base(&f->lapic, 0xFEE00000ULL | VIRQ_APIC_BASE_BSP, false), 0);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS2), SEC_VID);
	check_bitmap(bm, false);

	/* INIT (inside the decision) resets it to xAPIC. */
	virq_lapic_reset(&f->lapic);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS2),
			 SEC_VID | VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES);
	check_bitmap(bm, false);
	free(f);
}

/* HLT with IF = 1 wakes for a vector above PPR the CPU will deliver. */
static void test_hlt_wakes(void **state)
{
	struct vfx *f = apicv(false, NULL);

	(void)state;
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_HLT, 0, 0, 1, 0), VIRQ_VMX_EXIT_HALT);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_HALTED);
	virq_lapic_post(&f->lapic, 0x41, false);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x41);
	free(f);
}

/* ---- ExtINT from the 8259: still injected ---- */

static void vm_lock(void *ctx)
{
	(void)ctx;
}

static void test_extint_injected(void **state)
{
	struct vfx *f = vfx_alloc();
	static struct virq_vm vm;
	static struct virq_pic pic;
	static struct virq_vm_gsi gsis[24];
	static uint64_t map_key[1];
	static const struct virq_vm_ops vops = { .size = sizeof(struct virq_vm_ops),
						 .lock = vm_lock,
						 .unlock = vm_lock };
	struct virq_vm_config vc = { .size = sizeof(struct virq_vm_config),
				     .nr_vcpus = 1,
				     .nr_gsis = 24 };
	struct virq_lapic *vcpus[1] = { &f->lapic };
	static const uint8_t icw[][2] = { { 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 },
					  { 0x21, 0x01 }, { 0xA0, 0x11 }, { 0xA1, 0x70 },
					  { 0xA1, 0x02 }, { 0xA1, 0x01 }, { 0x21, 0x00 } };

	(void)state;
	memset(&vm, 0, sizeof(vm));
	memset(&pic, 0, sizeof(pic));
	assert_int_equal(virq_vm_init(&vm, &vc, vcpus, NULL, map_key, gsis, &vops, f), 0);
	assert_int_equal(virq_vm_attach_pic(&vm, &pic, 0), 0);
	for (unsigned i = 0; i < sizeof(icw) / sizeof(icw[0]); i++)
		assert_int_equal(virq_vm_pic_write(&vm, icw[i][0], icw[i][1]), 0);
	assert_int_equal(virq_lapic_mmio_write(&f->lapic, VIRQ_LAPIC_REG_LVT_LINT0, 4, 0x700), 0);
	assert_int_equal(virq_vcpu_init(&f->pol, &f->lapic, &vm), 0);
	f->cfg.level = VIRQ_VMX_LEVEL_APICV;
	f->cfg.flags = VIRQ_VMX_F_VIRTUAL_NMIS;
	f->cfg.virtual_apic_addr = VFX_VAPIC;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg), 0);

	virq_lapic_post(&f->lapic, 0xE1, false);
	assert_int_equal(virq_vm_set_irq(&vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	/* IF = 0: the window is for the 8259 alone. */
	vfx_set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x2);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS),
			 PROC_APICV | VIRQ_VMX_PROC_INTR_WINDOW_EXITING);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0xE1);
	vfx_set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x2 | VIRQ_VMX_RFLAGS_IF);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_INTR_WINDOW, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	EXPECT_LOG(f, { VIRQ_VMCS_ENTRY_INTR_INFO, VIRQ_VMX_INTR_VALID | 0x09 },
		   { VIRQ_VMCS_PROC_BASED_CTLS, PROC_APICV });
	/* The LAPIC's vector stays the CPU's. */
	assert_true(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0xE1));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_xapic),
		cmocka_unit_test(test_init_x2apic_and_refused),
		cmocka_unit_test(test_posted_vector_rvi),
		cmocka_unit_test(test_level_eoi_exit),
		cmocka_unit_test(test_apic_write_icr),
		cmocka_unit_test(test_apic_write_timer),
		cmocka_unit_test(test_mode_switch),
		cmocka_unit_test(test_hlt_wakes),
		cmocka_unit_test(test_extint_injected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
