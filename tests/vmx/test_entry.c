/* SPDX-License-Identifier: MIT */
/*
 * The entry path (lib/vmx-glue/entry.c) and the re-injection of the exit
 * path, pinned field by field: what virq_vmx_prepare_entry() writes to
 * 0x4016/0x4018/0x401A, CR2 and the primary controls in each scenario, and
 * the LAPIC's ISR/IRR around it (virq_lapic_read_reg()). Values written
 * from SDM Vol. 3C 24.8.3 "VM-Entry Controls for Event Injection".
 */
#include "harness.h"

#define IWE VIRQ_VMX_PROC_INTR_WINDOW_EXITING
#define NWE VIRQ_VMX_PROC_NMI_WINDOW_EXITING
#define EPT VIRQ_VMX_EXIT_REASON_EPT_VIOLATION

static void post_nmi(struct vfx *f)
{
	struct virq_apic_msg m = {
		.dest = 0, .src = VIRQ_MSG_SRC_NONE, .delivery = VIRQ_DM_NMI, .level = true
	};

	virq_lapic_post_msg(&f->lapic, &m);
}

/* IF = 1, no blocking: 0x4016 = valid | type 0 | vector, nothing else. */
static void test_extint_if1(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	virq_lapic_post(&f->lapic, 0x41, false);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000041U);
	assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE, NULL));
	assert_true(vfx_bit(VIRQ_LAPIC_REG_ISR, f, 0x41));
	assert_false(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0x41));
	free(f);
}

/* IF = 0: interrupt-window exiting, nothing injected; the window exit
 * then injects and clears the control. */
static void test_extint_window(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	vfx_set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x2);
	virq_lapic_post(&f->lapic, 0x41, false);
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS),
			 VIRQ_VMX_PROC_HLT_EXITING | IWE);
	assert_true(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0x41));
	/* Still closed: nothing written at all. */
	assert_int_equal(vfx_prepare(f), 0);
	assert_int_equal(f->nlog, 0);

	vfx_set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x2 | VIRQ_VMX_RFLAGS_IF);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_INTR_WINDOW, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(f->nlog, 2);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000041U);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS), VIRQ_VMX_PROC_HLT_EXITING);
	assert_true(vfx_bit(VIRQ_LAPIC_REG_ISR, f, 0x41));
	free(f);
}

/* STI and MOV-SS blocking close the window even with IF = 1. */
static void test_shadows_close_window(void **state)
{
	static const uint32_t shadows[] = { VIRQ_VMX_INTERRUPTIBILITY_STI,
					    VIRQ_VMX_INTERRUPTIBILITY_MOV_SS };

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

		vfx_set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, shadows[i]);
		virq_lapic_post(&f->lapic, 0x41, false);
		assert_int_equal(vfx_prepare(f), 0);
		assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_INTR_INFO, NULL));
		assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS),
				 VIRQ_VMX_PROC_HLT_EXITING | IWE);
		free(f);
	}
}

/* NMI: type 2 vector 2; blocked by NMI: NMI-window exiting. */
static void test_nmi(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	post_nmi(f);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000202U);
	assert_false(vfx_wrote(f, VIRQ_VMCS_PROC_BASED_CTLS, NULL));

	vfx_exit(f, VIRQ_VMX_EXIT_REASON_HLT + 100, 0, 0, 0, 0); /* some exit */
	vfx_set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, VIRQ_VMX_INTERRUPTIBILITY_NMI);
	post_nmi(f);
	assert_int_equal(vfx_prepare(f), 0);
	assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_INTR_INFO, NULL));
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS),
			 VIRQ_VMX_PROC_HLT_EXITING | NWE);

	vfx_set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, 0);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_NMI_WINDOW, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000202U);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_PROC_BASED_CTLS), VIRQ_VMX_PROC_HLT_EXITING);
	free(f);
}

/* Without virtual NMIs: no NMI-window control; the embedder is told. */
static void test_nmi_no_vnmi(void **state)
{
	struct vfx *f = vfx_new(0);

	(void)state;
	post_nmi(f);
	post_nmi(f);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED | VIRQ_VMX_ENTRY_NMI_PENDING);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000202U);
	assert_false(vfx_wrote(f, VIRQ_VMCS_PROC_BASED_CTLS, NULL));
	/* The CPU blocks NMIs after the injection; the guest's IRET ends it. */
	vfx_set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, VIRQ_VMX_INTERRUPTIBILITY_NMI);
	vfx_exit(f, 100, 0, 0, 0, 0);
	assert_true(virq_vcpu_nmi_blocked(&f->pol));
	vfx_set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, 0);
	vfx_exit(f, 100, 0, 0, 0, 0);
	assert_false(virq_vcpu_nmi_blocked(&f->pol));
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000202U);
	free(f);
}

/* #PF(2) at 0xdead000: 0x80000B0E, error code 2, CR2. */
static void test_pf(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	assert_int_equal(virq_vcpu_inject_pf(&f->pol, 0xdead000, 2), 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(f->nlog, 2);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE), 2);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000B0EU);
	assert_int_equal(f->cr2_writes, 1);
	assert_int_equal(f->cr2, 0xdead000);
	free(f);
}

/* HLT with IF = 1 and a vector pending: not halted, RIP past HLT. HLT
 * with nothing pending: halted until a post. */
static void test_hlt(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	virq_lapic_post(&f->lapic, 0x41, false);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_HLT, 0, 0, 1, 0), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_RIP), 0x1001);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000041U);

	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_HLT, 0, 0, 1, 0), VIRQ_VMX_EXIT_HALT);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_HALTED);
	assert_int_equal(f->nlog, 0);
	virq_lapic_post(&f->lapic, 0x51, false);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000051U);
	free(f);
}

/* Unrestricted guest in real mode: the #GP goes in without error code. */
static void test_real_mode_no_error_code(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_UNRESTRICTED_GUEST);

	(void)state;
	vfx_set(f, VIRQ_VMCS_PROC_BASED_CTLS2, VIRQ_VMX_PROC2_UNRESTRICTED_GUEST);
	vfx_set(f, VIRQ_VMCS_GUEST_CR0, 0x10);
	assert_int_equal(virq_vcpu_inject_gp(&f->pol, 0), 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x8000030DU);
	assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE, NULL));
	free(f);
}

/* Without write_cr2 the #PF's address comes back to the embedder. */
static void test_cr2_returned(void **state)
{
	struct vfx *f = vfx_alloc();
	struct virq_vmx_ops ops = vfx_ops;

	(void)state;
	ops.write_cr2 = NULL;
	f->cfg.flags = VIRQ_VMX_F_VIRTUAL_NMIS;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &ops, f, &f->cfg), 0);
	assert_int_equal(virq_vcpu_inject_pf(&f->pol, 0, 0), 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED | VIRQ_VMX_ENTRY_CR2);
	assert_int_equal(f->entry.cr2, 0); /* address 0 is written too */
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000B0EU);
	assert_int_equal(f->cr2_writes, 0);
	free(f);
}

/* AMD's #SX (30) carries an error code in the policy; VM entry refuses
 * one for vector 30 unless IA32_VMX_BASIC[56]: dropped, else kept. */
static void test_amd_error_code(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	assert_int_equal(virq_vcpu_queue_exception(&f->pol, 30, true, 5), 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x8000031EU);
	assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE, NULL));
	free(f);

	f = vfx_alloc();
	f->msr[0] |= VIRQ_VMX_BASIC_NO_HW_ERROR_CODE;
	f->cfg.flags = VIRQ_VMX_F_VIRTUAL_NMIS;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &f->cfg), 0);
	assert_int_equal(virq_vcpu_queue_exception(&f->pol, 30, true, 5), 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000B1EU);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE), 5);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extint_if1),
		cmocka_unit_test(test_extint_window),
		cmocka_unit_test(test_shadows_close_window),
		cmocka_unit_test(test_nmi),
		cmocka_unit_test(test_nmi_no_vnmi),
		cmocka_unit_test(test_pf),
		cmocka_unit_test(test_hlt),
		cmocka_unit_test(test_real_mode_no_error_code),
		cmocka_unit_test(test_cr2_returned),
		cmocka_unit_test(test_amd_error_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
