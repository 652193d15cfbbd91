/* SPDX-License-Identifier: MIT */
/*
 * virq_vmx_vcpu_init() against fake capability MSRs (SDM Vol. 3C Appendix
 * A: allowed 0-settings in bits 31:0, allowed 1-settings in 63:32), and
 * virq_vmx_check_entry_event() against the VM-entry checks of SDM Vol. 3C
 * 26.2.1.3 "VM-Entry Control Fields" and 26.3.1.5 "Checks on Guest
 * Non-Register State", case by case.
 */
#include "harness.h"

static int init(struct vfx *f, uint32_t level, uint32_t flags)
{
	f->cfg.level = level;
	f->cfg.flags = flags;
	f->nlog = 0;
	return virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg);
}

static void test_init_writes_controls(void **state)
{
	struct vfx *f = vfx_alloc();

	(void)state;
	vfx_set(f, VIRQ_VMCS_PROC_BASED_CTLS,
		VIRQ_VMX_PROC_HLT_EXITING | VIRQ_VMX_PROC_INTR_WINDOW_EXITING);
	assert_int_equal(init(f, VIRQ_VMX_LEVEL_INJECT,
			      VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT),
			 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PIN_BASED_CTLS), VIRQ_VMX_PIN_EXT_INTR_EXITING |
								       VIRQ_VMX_PIN_NMI_EXITING |
								       VIRQ_VMX_PIN_VIRTUAL_NMIS);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_EXIT_CTLS), VIRQ_VMX_EXIT_ACK_INTR_ON_EXIT);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PROC_BASED_CTLS), VIRQ_VMX_PROC_HLT_EXITING);
	assert_int_equal(virq_vmx_missing(&f->vx), 0);
	free(f);
}

/* No interrupt-window exiting: refused, nothing written. */
static void test_init_refused(void **state)
{
	struct vfx *f = vfx_alloc();

	(void)state;
	f->msr[0x0E] &= ~((uint64_t)VIRQ_VMX_PROC_INTR_WINDOW_EXITING << 32);
	assert_int_equal(init(f, VIRQ_VMX_LEVEL_INJECT, 0), -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_INTR_WINDOW);
	assert_int_equal(f->nlog, 0);

	/* Forced to 1 (allowed 0-setting) is no better. */
	vfx_default_caps(f);
	f->msr[0x0E] |= VIRQ_VMX_PROC_INTR_WINDOW_EXITING;
	assert_int_equal(init(f, VIRQ_VMX_LEVEL_INJECT, 0), -VIRQ_ENOTSUP);

	/* Without TRUE_* MSRs the plain ones are read: they lack it too. */
	vfx_default_caps(f);
	f->msr[0] = 0;
	f->msr[0x01] = 0xFFFFFFFFULL << 32;
	f->msr[0x02] = (uint64_t)~VIRQ_VMX_PROC_NMI_WINDOW_EXITING << 32;
	f->msr[0x03] = 0;
	assert_int_equal(init(f, VIRQ_VMX_LEVEL_INJECT, 0), 0);
	assert_int_equal(init(f, VIRQ_VMX_LEVEL_INJECT,
			      VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT),
			 -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx),
			 VIRQ_VMX_MISSING_VIRTUAL_NMIS | VIRQ_VMX_MISSING_ACK_INTR_ON_EXIT);
	assert_int_equal(f->nlog, 0);

	vfx_default_caps(f);
	f->msr[0x0D] = 0;
	assert_int_equal(init(f, VIRQ_VMX_LEVEL_INJECT, 0), -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_EXT_INTR_EXITING);
	free(f);
}

/*
 * The size fields (doc/abi.md, "Growing ops and config structures"): 0,
 * sizeof - 1 and sizeof + 1 of either table are refused with
 * -VIRQ_EVERSION before the VMCS is touched (no VMWRITE logged), the glue
 * state untouched; sizeof, today also the first published size, is
 * accepted. The padding words (ops->reserved, cfg->reserved2) are checked.
 */
static void test_init_size_checked(void **state)
{
	struct vfx *f = vfx_alloc();
	static struct virq_vmx_vcpu before;
	union {
		struct virq_vmx_config c;
		unsigned char room[sizeof(struct virq_vmx_config) + 1];
	} cfg;
	union {
		struct virq_vmx_ops o;
		unsigned char room[sizeof(struct virq_vmx_ops) + 1];
	} ops;
	const uint32_t cfg_bad[3] = { 0, VIRQ_VMX_CONFIG_SIZE_MIN - 1,
				      sizeof(struct virq_vmx_config) + 1 };
	const uint32_t ops_bad[3] = { 0, sizeof(struct virq_vmx_ops) - 1,
				      sizeof(struct virq_vmx_ops) + 1 };

	(void)state;
	/* 0.1.0's 48 bytes, grown by the posted-interrupt fields to 64, by
	 * the PID-pointer table's address to 72. */
	assert_int_equal(VIRQ_VMX_CONFIG_SIZE_MIN, 48);
	assert_int_equal(sizeof(struct virq_vmx_config), 72);
	assert_int_equal(VIRQ_VMX_OPS_SIZE_MIN, sizeof(struct virq_vmx_ops));
	memset(&f->vx, 0x6B, sizeof(f->vx));
	before = f->vx;
	f->nlog = 0;
	for (unsigned i = 0; i < 3; i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.c.size = cfg_bad[i];
		assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f,
						    &cfg.c),
				 -VIRQ_EVERSION);
		cfg.c.size = sizeof(cfg.c);
		memset(&ops, 0, sizeof(ops));
		ops.o = vfx_ops;
		ops.o.size = ops_bad[i];
		assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &ops.o, f, &cfg.c),
				 -VIRQ_EVERSION);
		assert_memory_equal(&f->vx, &before, sizeof(before));
	}
	ops.o = vfx_ops;
	ops.o.reserved = 1;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &ops.o, f, &cfg.c),
			 -VIRQ_EINVAL);
	cfg.c.reserved2 = 1;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &cfg.c),
			 -VIRQ_EINVAL);
	assert_memory_equal(&f->vx, &before, sizeof(before));
	assert_int_equal(f->nlog, 0);
	cfg.c.reserved2 = 0;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &cfg.c), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PIN_BASED_CTLS) & VIRQ_VMX_PIN_EXT_INTR_EXITING,
			 VIRQ_VMX_PIN_EXT_INTR_EXITING);
	/* A 0.1.0 caller's 48 bytes: what follows is not read (0xFF there
	 * would be a non-zero reserved field). */
	memset(&cfg, 0xFF, sizeof(cfg));
	memset(&cfg.c, 0, VIRQ_VMX_CONFIG_SIZE_MIN);
	cfg.c.size = VIRQ_VMX_CONFIG_SIZE_MIN;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &cfg.c), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PIN_BASED_CTLS) & VIRQ_VMX_PIN_POSTED_INTR, 0);
	/* A 64-byte caller: the table address past it is not read. */
	memset(&cfg, 0xFF, sizeof(cfg));
	memset(&cfg.c, 0, 64);
	cfg.c.size = 64;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &cfg.c), 0);
	assert_false(vfx_wrote(f, VIRQ_VMCS_PID_POINTER_TABLE, NULL));
	free(f);
}

static void test_init_args(void **state)
{
	struct vfx *f = vfx_alloc();
	struct virq_vmx_ops ops = vfx_ops;

	(void)state;
	/* No virtual-APIC address from TPR shadow on (test_tpr_shadow.c). */
	assert_int_equal(init(f, VIRQ_VMX_LEVEL_TPR_SHADOW, 0), -VIRQ_EINVAL);
	assert_int_equal(init(f, VIRQ_VMX_LEVEL_APICV, 0), -VIRQ_EINVAL);
	assert_int_equal(init(f, 3, 0), -VIRQ_EINVAL);
	assert_int_equal(init(f, 0, 1U << 3), -VIRQ_EINVAL);
	assert_int_equal(init(f, 0, VIRQ_VMX_F_IPIV), -VIRQ_EINVAL);
	assert_int_equal(init(f, 0, 1U << 6), -VIRQ_EINVAL);
	f->cfg.vcpu_options = 1U << 5;
	assert_int_equal(init(f, 0, 0), -VIRQ_EINVAL);
	f->cfg.vcpu_options = 0;
	ops.vmwrite = NULL;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &ops, f, &f->cfg),
			 -VIRQ_EINVAL);
	ops = vfx_ops;
	ops.write_gpr = NULL;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &ops, f, &f->cfg),
			 -VIRQ_EINVAL);
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, NULL, &f->lapic, &vfx_ops, f, &f->cfg),
			 -VIRQ_EINVAL);
	assert_int_equal(f->nlog, 0);
	/* Without virtual NMIs the policy blocks NMIs itself. */
	f->cfg.vcpu_options = VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY;
	assert_int_equal(init(f, 0, 0), 0);
	free(f);
}

static int chk(const struct virq_vmx_check_env *env, uint32_t info, uint32_t ec, uint32_t len)
{
	return virq_vmx_check_entry_event(env, info | VIRQ_VMX_INTR_VALID, ec, len);
}

static void test_check(void **state)
{
	struct virq_vmx_check_env env = { .cr0 = 1, .pin_ctls = VIRQ_VMX_PIN_VIRTUAL_NMIS };

	(void)state;
	assert_int_equal(virq_vmx_check_entry_event(&env, 0x100, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x41, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x141, 0, 0), VIRQ_VMX_CHECK_TYPE);
	assert_int_equal(chk(&env, 0x700, 0, 0), VIRQ_VMX_CHECK_TYPE);
	env.mtf = true;
	assert_int_equal(chk(&env, 0x700, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x701, 0, 0), VIRQ_VMX_CHECK_VECTOR);
	assert_int_equal(chk(&env, 0x202, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x203, 0, 0), VIRQ_VMX_CHECK_VECTOR);
	assert_int_equal(chk(&env, 0x320, 0, 0), VIRQ_VMX_CHECK_VECTOR);
	/* Error code iff 8, 10-14, 17, 21 (type 3, protected mode). */
	for (unsigned v = 0; v < 32; v++) {
		bool ec = v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21;

		assert_int_equal(chk(&env, 0x300 | v, 0, 0), ec ? VIRQ_VMX_CHECK_ERROR_CODE : 0);
		assert_int_equal(chk(&env, 0xB00 | v, 0, 0), ec ? 0 : VIRQ_VMX_CHECK_ERROR_CODE);
	}
	env.vmx_basic = VIRQ_VMX_BASIC_NO_HW_ERROR_CODE;
	assert_int_equal(chk(&env, 0xB06, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x30D, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0xA02, 0, 0), VIRQ_VMX_CHECK_ERROR_CODE);
	env.vmx_basic = 0;
	env.proc_ctls2 = VIRQ_VMX_PROC2_UNRESTRICTED_GUEST;
	env.cr0 = 0;
	assert_int_equal(chk(&env, 0xB0D, 0, 0), VIRQ_VMX_CHECK_ERROR_CODE);
	assert_int_equal(chk(&env, 0x30D, 0, 0), VIRQ_VMX_CHECK_OK);
	env.cr0 = 1;
	assert_int_equal(chk(&env, 0xB0D, 0x10000, 0), VIRQ_VMX_CHECK_RESERVED);
	assert_int_equal(chk(&env, 0xB0D, 0xFFFF, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x1041, 0, 0), VIRQ_VMX_CHECK_RESERVED);
	/* Instruction length 1-15 for types 4-6; 0 with MISC[30]. */
	assert_int_equal(chk(&env, 0x480, 0, 0), VIRQ_VMX_CHECK_INSN_LEN);
	assert_int_equal(chk(&env, 0x480, 0, 16), VIRQ_VMX_CHECK_INSN_LEN);
	assert_int_equal(chk(&env, 0x501, 0, 15), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x603, 0, 1), VIRQ_VMX_CHECK_OK);
	env.vmx_misc = VIRQ_VMX_MISC_ZERO_LEN_INJECT;
	assert_int_equal(chk(&env, 0x603, 0, 0), VIRQ_VMX_CHECK_OK);
	/* Blocking. */
	env.interruptibility = VIRQ_VMX_INTERRUPTIBILITY_STI;
	assert_int_equal(chk(&env, 0x41, 0, 0), VIRQ_VMX_CHECK_BLOCKING);
	assert_int_equal(chk(&env, 0x202, 0, 0), VIRQ_VMX_CHECK_BLOCKING);
	assert_int_equal(chk(&env, 0xB0E, 0, 0), VIRQ_VMX_CHECK_OK);
	env.interruptibility = VIRQ_VMX_INTERRUPTIBILITY_NMI;
	assert_int_equal(chk(&env, 0x41, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x202, 0, 0), VIRQ_VMX_CHECK_BLOCKING);
	env.pin_ctls = 0;
	assert_int_equal(chk(&env, 0x202, 0, 0), VIRQ_VMX_CHECK_OK);
	env.interruptibility = 0;
	/* Activity states. */
	env.activity = VIRQ_VMX_ACTIVITY_HLT;
	assert_int_equal(chk(&env, 0x41, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x312, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x306, 0, 0), VIRQ_VMX_CHECK_ACTIVITY);
	env.activity = VIRQ_VMX_ACTIVITY_SHUTDOWN;
	assert_int_equal(chk(&env, 0x202, 0, 0), VIRQ_VMX_CHECK_OK);
	assert_int_equal(chk(&env, 0x41, 0, 0), VIRQ_VMX_CHECK_ACTIVITY);
	env.activity = VIRQ_VMX_ACTIVITY_WAIT_SIPI;
	assert_int_equal(chk(&env, 0x202, 0, 0), VIRQ_VMX_CHECK_ACTIVITY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_writes_controls),
		cmocka_unit_test(test_init_refused),
		cmocka_unit_test(test_init_args),
		cmocka_unit_test(test_init_size_checked),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
