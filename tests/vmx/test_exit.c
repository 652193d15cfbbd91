/* SPDX-License-Identifier: MIT */
/*
 * The exit decoders (lib/vmx-glue/exit.c): x2APIC MSR exits reach the
 * LAPIC (values read back exactly with virq_lapic_read_reg()), #GP through
 * the policy, host interrupts and NMIs, APIC-access exits, NMI unblocking
 * due to IRET, entry failures.
 */
#include "harness.h"

#define RDMSR VIRQ_VMX_EXIT_REASON_RDMSR
#define WRMSR VIRQ_VMX_EXIT_REASON_WRMSR

static enum virq_vmx_exit_action wrmsr(struct vfx *f, uint32_t msr, uint64_t v)
{
	f->gpr[VIRQ_VMX_GPR_RCX] = msr;
	f->gpr[VIRQ_VMX_GPR_RAX] = 0xAAAAAAAA00000000ULL | (v & 0xFFFFFFFFULL);
	f->gpr[VIRQ_VMX_GPR_RDX] = 0xBBBBBBBB00000000ULL | (v >> 32);
	return vfx_exit(f, WRMSR, 0, 0, 2, 0);
}

static void test_x2apic_msrs(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	vfx_x2apic(f);
	/* TPR 0x20: written, read back, RIP past WRMSR. */
	assert_int_equal(wrmsr(f, 0x808, 0x20), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_TPR), 0x20);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_RIP), 0x1002);
	f->gpr[VIRQ_VMX_GPR_RAX] = f->gpr[VIRQ_VMX_GPR_RDX] = ~0ULL;
	assert_int_equal(vfx_exit(f, RDMSR, 0, 0, 2, 0), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(f->gpr[VIRQ_VMX_GPR_RAX], 0x20);
	assert_int_equal(f->gpr[VIRQ_VMX_GPR_RDX], 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_RIP), 0x1004);

	/* SELF IPI 0x45 (above TPR class 2): injected; ICR self-IPI 0x36
	 * (class 3) waits for the EOI of 0x45, then goes. */
	assert_int_equal(wrmsr(f, 0x83F, 0x45), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000045U);
	assert_int_equal(wrmsr(f, 0x830, (uint64_t)VIRQ_SH_SELF << 18 | 0x36),
			 VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_ICR_LO), 0x40036);
	assert_int_equal(vfx_prepare(f), 0);
	assert_false(vfx_wrote(f, VIRQ_VMCS_ENTRY_INTR_INFO, NULL));
	assert_true(vfx_bit(VIRQ_LAPIC_REG_IRR, f, 0x36));
	assert_int_equal(wrmsr(f, 0x80B, 0), VIRQ_VMX_EXIT_CONTINUE);
	assert_false(vfx_bit(VIRQ_LAPIC_REG_ISR, f, 0x45));
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000036U);
	assert_int_equal(virq_vmx_get_stats(&f->vx)->msr, 5);
	free(f);
}

/* The LAPIC's #GP (non-zero EOI write; x2APIC MSR in xAPIC mode) goes to
 * the policy: #GP(0) at the next entry, RIP unchanged. */
static void test_x2apic_gp(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	assert_int_equal(wrmsr(f, 0x808, 0x20), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_RIP), 0x1000);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000B0DU);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_EXC_ERROR_CODE), 0);

	vfx_x2apic(f);
	assert_int_equal(wrmsr(f, 0x80B, 1), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_RIP), 0x1000);
	assert_int_equal(vfx_prepare(f), VIRQ_VMX_ENTRY_INJECTED);
	assert_int_equal(vfx_written(f, VIRQ_VMCS_ENTRY_INTR_INFO), 0x80000B0DU);
	free(f);
}

/* Other MSRs, and MSR exits without read_gpr, are the embedder's. */
static void test_msr_unhandled(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	vfx_x2apic(f);
	assert_int_equal(wrmsr(f, 0x1B, 0), VIRQ_VMX_EXIT_UNHANDLED);
	assert_int_equal(wrmsr(f, 0x900, 0), VIRQ_VMX_EXIT_UNHANDLED);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_RIP), 0x1000);
	free(f);
}

/* MOV-SS blocking ends with the skipped instruction. */
static void test_skip_clears_shadow(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	vfx_x2apic(f);
	vfx_set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY,
		VIRQ_VMX_INTERRUPTIBILITY_MOV_SS | VIRQ_VMX_INTERRUPTIBILITY_NMI);
	assert_int_equal(wrmsr(f, 0x808, 0x10), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY),
			 VIRQ_VMX_INTERRUPTIBILITY_NMI);
	free(f);
}

static void test_host_intr_nmi(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT);

	(void)state;
	vfx_set(f, VIRQ_VMCS_EXIT_INTR_INFO, 0x800000ECU);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_EXT_INTR, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_HOST_INTR);
	assert_int_equal(f->exit.host_vector, 0xEC);
	vfx_set(f, VIRQ_VMCS_EXIT_INTR_INFO, 0x80000202U);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_EXCEPTION_NMI, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_HOST_NMI);
	free(f);

	f = vfx_new(0);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_EXT_INTR, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_HOST_INTR);
	assert_int_equal(f->exit.host_vector, -1);
	/* The host's interrupt is not the guest's: nothing injected. */
	assert_int_equal(vfx_prepare(f), 0);
	free(f);
}

/* APIC access: offset and direction from the qualification; the data
 * through virq_vmx_apic_access(). */
static void test_apic_access(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);
	uint64_t v = 0x30;

	(void)state;
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_APIC_ACCESS, 0, 0, 0, 0x1080),
			 VIRQ_VMX_EXIT_APIC_ACCESS);
	assert_int_equal(f->exit.apic_offset, 0x80);
	assert_int_equal(f->exit.apic_write, 1);
	assert_int_equal(virq_vmx_apic_access(&f->vx, 0x80, true, 4, &v), 0);
	assert_int_equal(virq_lapic_read_reg(&f->lapic, VIRQ_LAPIC_REG_TPR), 0x30);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_APIC_ACCESS, 0, 0, 0, 0x0080),
			 VIRQ_VMX_EXIT_APIC_ACCESS);
	assert_int_equal(f->exit.apic_write, 0);
	v = 0;
	assert_int_equal(virq_vmx_apic_access(&f->vx, 0x80, false, 4, &v), 0);
	assert_int_equal(v, 0x30);
	/* An access during event delivery (type 3) is the embedder's. */
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_APIC_ACCESS, 0, 0, 0, 0x3080),
			 VIRQ_VMX_EXIT_UNHANDLED);
	assert_int_equal(virq_vmx_apic_access(&f->vx, 0x1000, false, 4, &v), -VIRQ_EINVAL);
	free(f);
}

/* "NMI unblocking due to IRET": blocking by NMI set back (the IRET runs
 * again), not with valid IDT-vectoring information. */
static void test_nmi_unblock_iret(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	vfx_exit(f, VIRQ_VMX_EXIT_REASON_EPT_VIOLATION, 0, 0, 0, 1U << 12);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY),
			 VIRQ_VMX_INTERRUPTIBILITY_NMI);
	vfx_set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, 0);
	vfx_set(f, VIRQ_VMCS_EXIT_INTR_INFO, 0x80001B0DU);
	vfx_exit(f, VIRQ_VMX_EXIT_REASON_EXCEPTION_NMI, 0, 0, 0, 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY),
			 VIRQ_VMX_INTERRUPTIBILITY_NMI);
	vfx_set(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY, 0);
	vfx_exit(f, VIRQ_VMX_EXIT_REASON_EPT_VIOLATION, 0x80000041U, 0, 0, 1U << 12);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY), 0);
	free(f);
}

static void test_triple_fault_entry_failure(void **state)
{
	struct vfx *f = vfx_new(VIRQ_VMX_F_VIRTUAL_NMIS);

	(void)state;
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_TRIPLE_FAULT, 0, 0, 0, 0),
			 VIRQ_VMX_EXIT_TRIPLE_FAULT);
	assert_int_equal(vfx_exit(f, 0x80000021U, 0x80000041U, 0, 0, 0),
			 VIRQ_VMX_EXIT_ENTRY_FAILED);
	assert_int_equal(virq_vmx_get_stats(&f->vx)->reinjected, 0);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x2apic_msrs),
		cmocka_unit_test(test_x2apic_gp),
		cmocka_unit_test(test_msr_unhandled),
		cmocka_unit_test(test_skip_clears_shadow),
		cmocka_unit_test(test_host_intr_nmi),
		cmocka_unit_test(test_apic_access),
		cmocka_unit_test(test_nmi_unblock_iret),
		cmocka_unit_test(test_triple_fault_entry_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
