/* SPDX-License-Identifier: MIT */
/*
 * Level TPR_SHADOW (FlexPriority): init against the capability MSRs and
 * the configuration, the TPR threshold written before entry (SDM Vol. 3C
 * "TPR Virtualization"), the TPR-below-threshold exit, "virtualize APIC
 * accesses" following the LAPIC's mode, the MSR bitmap, and the entry
 * checks on the threshold (SDM Vol. 3C 26.2.1.1 "VM-Execution Control
 * Fields"). Each scenario pins the VMWRITEs in order.
 */
#include "harness.h"

#define PIN_BASE VIRQ_VMX_PIN_EXT_INTR_EXITING
#define PROC_TPR (VIRQ_VMX_PROC_HLT_EXITING | VIRQ_VMX_PROC_USE_TPR_SHADOW)

static int init(struct vfx *f)
{
	f->nlog = 0;
	return virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg);
}

/* Without an APIC-access page: TPR shadow set, CR8 exiting cleared (the
 * embedder had both on), the page address; no secondary controls. */
static void test_init_plain(void **state)
{
	struct vfx *f = vfx_alloc();

	(void)state;
	vfx_set(f, VIRQ_VMCS_PROC_BASED_CTLS,
		VIRQ_VMX_PROC_HLT_EXITING | VIRQ_VMX_PROC_CR8_LOAD_EXITING |
			VIRQ_VMX_PROC_CR8_STORE_EXITING);
	f->cfg.level = VIRQ_VMX_LEVEL_TPR_SHADOW;
	f->cfg.virtual_apic_addr = VFX_VAPIC;
	assert_int_equal(init(f), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_PIN_BASED_CTLS, PIN_BASE },
		   { VIRQ_VMCS_VIRTUAL_APIC_ADDR, VFX_VAPIC },
		   { VIRQ_VMCS_PROC_BASED_CTLS, PROC_TPR });
	assert_int_equal(virq_lapic_get_accel(&f->lapic), VIRQ_LAPIC_ACCEL_TPR_SHADOW);
	assert_int_equal(virq_vmx_missing(&f->vx), 0);
	free(f);
}

/* With one: secondary controls activated, the embedder's secondary bits
 * kept (unrestricted guest) and a stray "virtualize x2APIC mode" cleared,
 * "virtualize APIC accesses" set in xAPIC mode. */
static void test_init_access_page(void **state)
{
	struct vfx *f = vfx_alloc();

	(void)state;
	vfx_set(f, VIRQ_VMCS_PROC_BASED_CTLS2,
		VIRQ_VMX_PROC2_UNRESTRICTED_GUEST | VIRQ_VMX_PROC2_VIRT_X2APIC_MODE);
	f->cfg.level = VIRQ_VMX_LEVEL_TPR_SHADOW;
	f->cfg.virtual_apic_addr = VFX_VAPIC;
	f->cfg.apic_access_addr = VFX_ACCESS;
	assert_int_equal(init(f), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_PIN_BASED_CTLS, PIN_BASE },
		   { VIRQ_VMCS_VIRTUAL_APIC_ADDR, VFX_VAPIC },
		   { VIRQ_VMCS_APIC_ACCESS_ADDR, VFX_ACCESS },
		   { VIRQ_VMCS_PROC_BASED_CTLS, PROC_TPR | VIRQ_VMX_PROC_SECONDARY_CTLS },
		   { VIRQ_VMCS_PROC_BASED_CTLS2,
		     VIRQ_VMX_PROC2_UNRESTRICTED_GUEST | VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES });

	/* In x2APIC mode the page is not decoded: the bit stays clear. */
	vfx_x2apic(f);
	assert_int_equal(init(f), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS2),
			 VIRQ_VMX_PROC2_UNRESTRICTED_GUEST);
	free(f);
}

/* Refused configurations and capability lacks: nothing written, the
 * LAPIC not accelerated. */
static void test_init_refused(void **state)
{
	struct vfx *f = vfx_alloc();

	(void)state;
	f->cfg.level = VIRQ_VMX_LEVEL_TPR_SHADOW;
	f->cfg.virtual_apic_addr = 0;
	assert_int_equal(init(f), -VIRQ_EINVAL);
	f->cfg.virtual_apic_addr = VFX_VAPIC | 0x800;
	assert_int_equal(init(f), -VIRQ_EINVAL);
	f->cfg.virtual_apic_addr = VFX_VAPIC;
	f->cfg.apic_access_addr = VFX_ACCESS + 8;
	assert_int_equal(init(f), -VIRQ_EINVAL);
	f->cfg.apic_access_addr = 0;
	f->cfg.reserved = 1;
	assert_int_equal(init(f), -VIRQ_EINVAL);
	f->cfg.reserved = 0;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, NULL, &vfx_ops, f, &f->cfg),
			 -VIRQ_EINVAL);
	/* IA32_VMX_BASIC[48]: addresses below 4 GiB. */
	f->msr[0] |= VIRQ_VMX_BASIC_ADDR_32BIT;
	f->cfg.virtual_apic_addr = 0x100000000ULL;
	assert_int_equal(init(f), -VIRQ_EINVAL);
	f->cfg.virtual_apic_addr = VFX_VAPIC;
	assert_int_equal(f->nlog, 0);

	/* No TPR shadow; CR8-load exiting forced to 1. */
	vfx_default_caps(f);
	f->msr[0x0E] &= ~((uint64_t)VIRQ_VMX_PROC_USE_TPR_SHADOW << 32);
	assert_int_equal(init(f), -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_TPR_SHADOW);
	vfx_default_caps(f);
	f->msr[0x0E] |= VIRQ_VMX_PROC_CR8_LOAD_EXITING;
	assert_int_equal(init(f), -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_TPR_SHADOW);

	/* An APIC-access page without secondary controls, or without the
	 * control, or with it forced to 1. */
	f->cfg.apic_access_addr = VFX_ACCESS;
	vfx_default_caps(f);
	f->msr[0x0E] &= ~((uint64_t)VIRQ_VMX_PROC_SECONDARY_CTLS << 32);
	assert_int_equal(init(f), -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_VIRT_APIC_ACCESSES);
	vfx_default_caps(f);
	f->msr[0x0B] = 0;
	assert_int_equal(init(f), -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_VIRT_APIC_ACCESSES);
	f->msr[0x0B] = (0xFFFFFFFFULL << 32) | VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES;
	assert_int_equal(init(f), -VIRQ_ENOTSUP);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(virq_lapic_get_accel(&f->lapic), VIRQ_LAPIC_ACCEL_NONE);

	/* Without an APIC-access page the secondary controls are not needed. */
	f->cfg.apic_access_addr = 0;
	f->msr[0x0E] &= ~((uint64_t)VIRQ_VMX_PROC_SECONDARY_CTLS << 32);
	assert_int_equal(init(f), 0);
	free(f);
}

/*
 * The guest raises TPR over a pending vector, then lowers it: no
 * injection and threshold 4 while masked, the TPR-below-threshold exit
 * (trap-like: RIP stays), then the injection and threshold 0.
 */
static void test_tpr_raise_lower(void **state)
{
	struct vfx *f = vfx_new_level(VIRQ_VMX_LEVEL_TPR_SHADOW, 0, false, NULL);

	(void)state;
	/* The first entry always loads the threshold. */
	assert_int_equal(vfx_prepare(f), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_TPR_THRESHOLD, 0 });
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);

	/* MOV CR8, 5 (no exit: CR8-load exiting is clear), then a host
	 * interrupt exit; the resync takes VTPR. */
	vfx_set_vtpr(f, 0x50);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_EXT_INTR, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_HOST_INTR);
	assert_int_equal(virq_lapic_get_cr8(&f->lapic), 5);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_PPR), 0x50);

	/* Vector 0x41 (class 4) is masked by TPR 5: threshold 4, no window. */
	virq_lapic_post(&f->lapic, 0x41, false);
	assert_int_equal(vfx_prepare(f), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_TPR_THRESHOLD, 4 });
	assert_true(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0x41));

	/* MOV CR8, 3: VTPR[7:4] = 3 < 4, the CPU exits after it. */
	vfx_set_vtpr(f, 0x30);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_TPR_BELOW_THRESHOLD, 0, 0, 3, 0),
			 VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(f->nlog, 0); /* RIP untouched */
	assert_int_equal(virq_vmx_get_stats(&f->vx)->tpr_below, 1);
	assert_int_equal(virq_lapic_get_cr8(&f->lapic), 3);

	/* Injected as at level INJECT; the threshold drops to 0. */
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	EXPECT_LOG(f, { VIRQ_VMCS_TPR_THRESHOLD, 0 },
		   { VIRQ_VMCS_ENTRY_INTR_INFO, VIRQ_VMX_INTR_VALID | 0x41 });
	assert_true(vfx_bit(VIRQ_LAPIC_REG_ISR, f, 0x41));
	free(f);
}

/* A vector the in-service one blocks gives threshold 0 (its EOI exits);
 * a hostile VTPR keeps only bits 7:0 and the threshold stays legal. */
static void test_threshold_isr_and_hostile(void **state)
{
	struct vfx *f = vfx_new_level(VIRQ_VMX_LEVEL_TPR_SHADOW, 0, true, NULL);
	uint64_t v;

	(void)state;
	virq_lapic_post(&f->lapic, 0x61, false);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	virq_lapic_post(&f->lapic, 0x51, false);
	assert_int_equal(vfx_prepare(f), 0);
	assert_false(vfx_wrote(f, VIRQ_VMCS_TPR_THRESHOLD, NULL)); /* still 0 */

	/* Garbage in the VTPR word and its slot. */
	f->page[VIRQ_LAPIC_REG_TPR / 4] = 0xDEADBE7FU;
	f->page[VIRQ_LAPIC_REG_TPR / 4 + 1] = 0x1234U;
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_EXT_INTR, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_HOST_INTR);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_TPR), 0x7F);
	assert_int_equal(f->page[VIRQ_LAPIC_REG_TPR / 4 + 1], 0);
	/* EOI of 0x61 (an exit without APICv): 0x51 is now held by TPR 7. */
	assert_int_equal(
		virq_vmx_apic_access(&f->vx, VIRQ_LAPIC_REG_EOI, true, 4, &(uint64_t){ 0 }), 0);
	assert_int_equal(vfx_prepare(f), 0);
	v = vfx_written(f, VIRQ_VMCS_TPR_THRESHOLD);
	assert_int_equal(v, 5);
	assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_INTR_INFO, NULL));
	free(f);
}

/* An APIC-access exit is still the embedder's to decode. */
static void test_apic_access_exit(void **state)
{
	struct vfx *f = vfx_new_level(VIRQ_VMX_LEVEL_TPR_SHADOW, 0, true, NULL);

	(void)state;
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_APIC_ACCESS, 0, 0, 0, 0x1300),
			 VIRQ_VMX_EXIT_APIC_ACCESS);
	assert_int_equal(f->exit.apic_offset, 0x300);
	assert_int_equal(f->exit.apic_write, 1);
	/* Exit 43 at level INJECT is not the glue's. */
	free(f);
	f = vfx_new(0);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_TPR_BELOW_THRESHOLD, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_UNHANDLED);
	free(f);
}

/* The LAPIC goes to x2APIC mode (a WRMSR the embedder handled): the next
 * entry clears "virtualize APIC accesses"; a reset to xAPIC sets it. */
static void test_mode_switch(void **state)
{
	struct vfx *f = vfx_new_level(VIRQ_VMX_LEVEL_TPR_SHADOW, 0, true, NULL);

	(void)state;
	assert_int_equal(vfx_prepare(f), 0);
	assert_false(vfx_wrote(f, VIRQ_VMCS_PROC_BASED_CTLS2, NULL));
	vfx_x2apic(f);
	assert_int_equal(vfx_prepare(f), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_PROC_BASED_CTLS2, 0 });
	assert_int_equal(virq_vmx_get_stats(&f->vx)->mode_switches, 1);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);
	virq_lapic_reset(&f->lapic);
	assert_int_equal(vfx_prepare(f), 0);
	EXPECT_LOG(f, { VIRQ_VMCS_PROC_BASED_CTLS2, VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES });
	free(f);
}

/* At INJECT and TPR_SHADOW every x2APIC MSR exits, in every mode; bits of
 * other MSRs are left alone. */
static void test_msr_bitmap_all_intercepted(void **state)
{
	static uint8_t bm[4096];

	(void)state;
	for (uint32_t level = VIRQ_VMX_LEVEL_INJECT; level <= VIRQ_VMX_LEVEL_TPR_SHADOW; level++) {
		struct vfx *f;

		memset(bm, 0, sizeof(bm));
		f = vfx_new_level(level, 0, false, bm);
		for (unsigned m = 0; m < 2; m++) {
			for (unsigned i = 0; i < 4096; i++) {
				bool ours = (i >= 0x100 && i < 0x120) || (i >= 0x900 && i < 0x920);

				assert_int_equal(bm[i], ours ? 0xFF : 0);
			}
			vfx_x2apic(f);
			assert_int_equal(vfx_prepare(f), 0);
		}
		free(f);
	}
}

static int chk(struct virq_vmx_check_env *env)
{
	return virq_vmx_check_entry_event(env, 0, 0, 0);
}

/* SDM 26.2.1.1 "VM-Execution Control Fields" on the threshold and the APIC controls. */
static void test_check_controls(void **state)
{
	struct virq_vmx_check_env env = {
		.pin_ctls = VIRQ_VMX_PIN_EXT_INTR_EXITING,
		.proc_ctls = VIRQ_VMX_PROC_USE_TPR_SHADOW,
		.virtual_apic_addr = VFX_VAPIC,
		.vtpr = 0x40,
	};

	(void)state;
	env.tpr_threshold = 4;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_OK);
	env.tpr_threshold = 5;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_TPR_THRESHOLD);
	/* With "virtualize APIC accesses" the exit follows the entry. */
	env.proc_ctls |= VIRQ_VMX_PROC_SECONDARY_CTLS;
	env.proc_ctls2 = VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES;
	env.apic_access_addr = VFX_ACCESS;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_OK);
	env.tpr_threshold = 0x10;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_TPR_THRESHOLD);
	/* Ignored with virtual-interrupt delivery. */
	env.proc_ctls2 |= VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_OK);
	env.pin_ctls = 0;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_APIC_CTLS);
	env.pin_ctls = VIRQ_VMX_PIN_EXT_INTR_EXITING;
	env.proc_ctls2 |= VIRQ_VMX_PROC2_VIRT_X2APIC_MODE;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_APIC_CTLS);
	env.proc_ctls2 &= ~VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_OK);
	/* Secondary controls need TPR shadow, and count only when active. */
	env.proc_ctls = VIRQ_VMX_PROC_SECONDARY_CTLS;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_APIC_CTLS);
	env.proc_ctls = VIRQ_VMX_PROC_HLT_EXITING;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_OK);
	/* Addresses. */
	env.proc_ctls = VIRQ_VMX_PROC_USE_TPR_SHADOW | VIRQ_VMX_PROC_SECONDARY_CTLS;
	env.proc_ctls2 = VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES;
	env.tpr_threshold = 0;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_OK);
	env.apic_access_addr = VFX_ACCESS | 4;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_APIC_ADDR);
	env.apic_access_addr = VFX_ACCESS;
	env.virtual_apic_addr = 0x100000000ULL;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_OK);
	env.vmx_basic = VIRQ_VMX_BASIC_ADDR_32BIT;
	assert_int_equal(chk(&env), VIRQ_VMX_CHECK_APIC_ADDR);
	/* The event checks still run after the control checks. */
	env.vmx_basic = 0;
	env.virtual_apic_addr = VFX_VAPIC;
	env.cr0 = 1;
	assert_int_equal(virq_vmx_check_entry_event(&env, VIRQ_VMX_INTR_VALID | 0x100, 0, 0),
			 VIRQ_VMX_CHECK_TYPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_plain),
		cmocka_unit_test(test_init_access_page),
		cmocka_unit_test(test_init_refused),
		cmocka_unit_test(test_tpr_raise_lower),
		cmocka_unit_test(test_threshold_isr_and_hostile),
		cmocka_unit_test(test_apic_access_exit),
		cmocka_unit_test(test_mode_switch),
		cmocka_unit_test(test_msr_bitmap_all_intercepted),
		cmocka_unit_test(test_check_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
