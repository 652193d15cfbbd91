/* SPDX-License-Identifier: MIT */
/*
 * Re-injection through the VMX glue: IDT-vectoring information handed to
 * the policy at the exit (lib/vmx-glue/exit.c) and the event written again
 * at the next entry, with the double-fault rules on top, pinned field by
 * field (SDM Vol. 3C "Information for VM Exits During Event Delivery",
 * 24.8.3 "VM-Entry Controls for Event Injection"), and the LAPIC's ISR/IRR read back around it.
 */
#include "harness.h"

#define EPT VIRQ_VMX_EXIT_REASON_EPT_VIOLATION

/* #PF during #PF delivery: #DF(0), no CR2; an exception during #DF
 * delivery: triple fault, nothing injected. */
static void test_pf_on_pf_then_df(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	assert_int_equal(virq_vcpu_inject_pf(&f->pol, 0xdead000, 2), 0);
	vfx_prepare(f);
	assert_int_equal(vfx_exit(f, EPT, 0x80000B0EU, 2, 0, 0), VIRQ_VMX_EXIT_UNHANDLED);
	assert_int_equal(virq_vcpu_inject_pf(&f->pol, 0xbeef000, 0), 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000B08U);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE), 0);
	assert_int_equal(f->cr2_writes, 1);

	assert_int_equal(vfx_exit(f, EPT, 0x80000B08U, 0, 0, 0), VIRQ_VMX_EXIT_UNHANDLED);
	assert_int_equal(virq_vcpu_inject_gp(&f->pol, 0), 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_TRIPLE_FAULT);
	assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_INTR_INFO, NULL));
	free(f);
}

/* A re-injected #PF keeps the CPU's CR2 (no write). */
static void test_pf_reinjected_keeps_cr2(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	vfx_exit(f, EPT, 0x80000B0EU, 4, 0, 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000B0EU);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE), 4);
	assert_int_equal(f->cr2_writes, 0);
	free(f);
}

/* An external interrupt cut off by an exit: the same vector again, the
 * LAPIC not acknowledged twice. */
static void test_reinject_extint(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	virq_lapic_post(&f->lapic, 0x41, false);
	vfx_prepare(f);
	virq_lapic_post(&f->lapic, 0x42, false);
	vfx_exit(f, EPT, 0x80000041U, 0, 0, 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000041U);
	assert_true(vfx_bit(VIRQ_LAPIC_REG_ISR, f, 0x41));
	assert_false(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0x41));
	assert_false(vfx_bit(VIRQ_LAPIC_REG_ISR, f, 0x42));
	assert_true(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0x42));
	assert_int_equal(virq_vmx_get_stats(&f->vx)->reinjected, 1);
	free(f);
}

/* INT 0x80 cut off: type 4 again with its instruction length. */
static void test_reinject_soft_int(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	vfx_exit(f, EPT, 0x80000480U, 0, 2, 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(f->nlog, 2);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INSN_LEN), 2);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000480U);
	free(f);
}

/* A cut-off NMI: blocking by NMI cleared, NMI again. */
static void test_reinject_nmi(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	vfx_set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, VIRQ_VMX_INTERRUPTIBILITY_NMI);
	vfx_exit(f, EPT, 0x80000202U, 0, 0, 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY), 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000202U);
	free(f);
}

/* A cut-off NMI waits behind a #PF; an IRET of the #PF handler then exits
 * with NMI unblocking set, which sets blocking by NMI again: the NMI's
 * re-injection clears it (VM entry refuses an NMI over it). */
static void test_reinject_nmi_over_blocking(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	vfx_exit(f, EPT, 0x80000202U, 0, 0, 0);
	assert_int_equal(virq_vcpu_inject_pf(&f->pol, 0x5000, 0), 0);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED | VIRQ_VMX_ENTRY_IMMEDIATE_EXIT);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000B0EU);
	vfx_exit(f, EPT, 0, 0, 0, 1U << 12);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY),
			 VIRQ_VMX_INTERRUPTIBILITY_NMI);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY), 0);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000202U);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pf_on_pf_then_df),
		cmocka_unit_test(test_pf_reinjected_keeps_cr2),
		cmocka_unit_test(test_reinject_extint),
		cmocka_unit_test(test_reinject_soft_int),
		cmocka_unit_test(test_reinject_nmi),
		cmocka_unit_test(test_reinject_nmi_over_blocking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
