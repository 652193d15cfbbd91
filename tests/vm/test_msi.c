/* SPDX-License-Identifier: MIT */
/*
 * virq_vm_send_msi(): compatibility MSIs, extended destination IDs,
 * interrupt remapping (remapped, posted, blocked, FPD), and the I/O APIC's
 * remappable entries, over a fake IRTE table (VT-d spec 5.1 and the IRTE
 * formats for remapped and posted interrupts).
 */
#include "harness.h"

#define IRTE_P (1ULL << 0)
#define IRTE_FPD (1ULL << 1)
#define IRTE_IM (1ULL << 15)
#define IRTE_URG (1ULL << 14)

static uint64_t remap_addr(uint32_t handle)
{
	return 0xFEE00000ULL | ((uint64_t)(handle & 0x7FFFU) << 5) | (1ULL << 4) |
	       ((uint64_t)(handle >> 15) << 2);
}

/* Remapped IRTE: fixed, physical, xAPIC destination @id. */
static void irte_remapped(struct vm_fixture *fx, unsigned i, uint8_t vec, uint32_t id)
{
	fx->irte[i][0] = IRTE_P | ((uint64_t)vec << 16) | ((uint64_t)(id << 8) << 32);
	fx->irte[i][1] = 0;
}

static void irte_posted(struct vm_fixture *fx, unsigned i, uint8_t vec, const void *pd, bool urg)
{
	uint64_t pda = (uint64_t)(uintptr_t)pd;

	fx->irte[i][0] = IRTE_P | IRTE_IM | ((uint64_t)vec << 16) | (urg ? IRTE_URG : 0) |
			 (((pda >> 6) & 0x3FFFFFFULL) << 38);
	fx->irte[i][1] = (pda >> 32) << 32;
}

static struct vm_fixture *ir_fixture(bool posting)
{
	struct virq_vm_config cfg;
	struct vm_fixture *fx;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = 2;
	cfg.map_entries = 256;
	cfg.nr_gsis = 24;
	cfg.ir_enabled = true;
	cfg.ir.size = sizeof(cfg.ir);
	cfg.ir.table_entries = 16;
	cfg.ir.posting = posting;
	fx = fx_new_cfg(&cfg);
	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	return fx;
}

static void test_compat_msi(void **state)
{
	struct vm_fixture *fx = fx_new(2, 256, 0);

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE01000ULL, 0x44, 0), 1);
	assert_int_equal(fx_who(fx, 0x44), 0x2);
	fx_drain_all(fx);
	/* Level-triggered assert sets TMR. */
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE00000ULL, 0xC045, 0), 1);
	assert_true(fx_tmr(fx, 0, 0x45));
	/* Outside the window, or remappable without remapping: lost. */
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFED01000ULL, 0x44, 0), 0);
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(3), 0, 0), 0);
	assert_int_equal(fx->n_lost, 2);
	assert_int_equal(fx->last_lost.src, VIRQ_MSG_SRC_NONE);
	fx_free(fx);
}

static void test_extended_dest_id(void **state)
{
	struct virq_vm_config cfg;
	struct vm_fixture *fx;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = 2;
	cfg.map_entries = 1024;
	cfg.msi_flags = VIRQ_MSI_EXT_DEST;
	fx = fx_new_cfg(&cfg);
	fx_add_x2apic(fx, 0, 0x12);
	fx_add_x2apic(fx, 1, 0x312);
	/* Dest 0x312: bits 7:0 in 19:12, bits 14:8 in 11:5. */
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE12000ULL | (0x3ULL << 5), 0x46, 0), 1);
	assert_int_equal(fx_who(fx, 0x46), 0x2);
	fx_free(fx);
}

static void test_ir_remapped(void **state)
{
	struct vm_fixture *fx = ir_fixture(false);

	(void)state;
	irte_remapped(fx, 5, 0x77, 1);
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(5), 0, 0x10), 1);
	assert_int_equal(fx_who(fx, 0x77), 0x2);
	/* Compatibility format with remapping on and CFI clear: blocked. */
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE01000ULL, 0x44, 0x10), 0);
	assert_int_equal(fx->n_faults, 1);
	assert_int_equal(fx->last_fault, VIRQ_IR_FAULT_COMPAT);
	assert_int_equal(fx->last_fault_sid, 0x10);
	/* CFI on: passes through. */
	{
		struct virq_ir_config ir = fx->cfg.ir;

		ir.cfi = true;
		assert_int_equal(virq_vm_set_ir(&fx->vm, true, &ir), 0);
		assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE01000ULL, 0x44, 0x10), 1);
		/* Remapping off: compatibility decode only. */
		assert_int_equal(virq_vm_set_ir(&fx->vm, false, NULL), 0);
		assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE00000ULL, 0x48, 0), 1);
		assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(5), 0, 0x10), 0);
		ir.table_entries = 0;
		assert_int_equal(virq_vm_set_ir(&fx->vm, true, &ir), -VIRQ_EINVAL);
	}
	fx_free(fx);
}

static void test_ir_blocked_and_fpd(void **state)
{
	struct vm_fixture *fx = ir_fixture(false);

	(void)state;
	/* Not present. */
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(2), 0, 0x20), 0);
	assert_int_equal(fx->n_faults, 1);
	assert_int_equal(fx->last_fault, VIRQ_IR_FAULT_NOT_PRESENT);
	assert_int_equal(fx->last_fault_index, 2);
	/* Index past the table (16 entries), handle bit 15 included. */
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(0x8001), 0, 0x20), 0);
	assert_int_equal(fx->last_fault, VIRQ_IR_FAULT_INDEX);
	/* FPD: blocked silently. */
	fx->irte[3][0] = IRTE_FPD;
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(3), 0, 0x20), 0);
	assert_int_equal(fx->n_faults, 2);
	/* Faults are not "lost" reports. */
	assert_int_equal(fx->n_lost, 0);
	fx_free(fx);
}

static void test_ir_posted(void **state)
{
	struct vm_fixture *fx = ir_fixture(true);

	(void)state;
	irte_posted(fx, 4, 0x99, &fx->pid[1], false);
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(4), 0, 0), 1);
	assert_true((fx->pid[1].pir[0x99 / 64] >> (0x99 % 64)) & 1U);
	assert_int_equal(fx->n_notify, 1);
	/* ON already set: posted, no second notification. */
	irte_posted(fx, 6, 0x9A, &fx->pid[1], false);
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(6), 0, 0), 1);
	assert_int_equal(fx->n_notify, 1);
	/* SN set and not urgent: no notification; urgent: notified. */
	memset(&fx->pid[2], 0, sizeof(fx->pid[2]));
	(void)virq_pi_set_sn(&fx->pid[2], true);
	irte_posted(fx, 7, 0x9B, &fx->pid[2], false);
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(7), 0, 0), 1);
	assert_int_equal(fx->n_notify, 1);
	irte_posted(fx, 8, 0x9C, &fx->pid[2], true);
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(8), 0, 0), 1);
	assert_int_equal(fx->n_notify, 2);
	/* No descriptor at that address: nothing accepted, reported lost. */
	irte_posted(fx, 9, 0x9D, (void *)(uintptr_t)0x1000, false);
	assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(9), 0, 0), 0);
	assert_int_equal(fx->n_lost, 1);
	/* Posting not supported by the IOMMU: the entry is reserved. */
	{
		struct virq_ir_config ir = fx->cfg.ir;

		ir.posting = false;
		assert_int_equal(virq_vm_set_ir(&fx->vm, true, &ir), 0);
		assert_int_equal(virq_vm_send_msi(&fx->vm, remap_addr(4), 0, 0), 0);
		assert_int_equal(fx->last_fault, VIRQ_IR_FAULT_RESERVED);
	}
	fx_free(fx);
}

static void test_ioapic_remappable_entry(void **state)
{
	struct vm_fixture *fx = ir_fixture(false);

	(void)state;
	fx_attach_ioapic(fx);
	/* Remappable RTE for pin 9: index 5 in bits 63:49 (handle 14:0) and
	 * bit 48 (format); index bit 15 in bit 11. */
	irte_remapped(fx, 5, 0x3E, 0);
	fx_rte(fx, 9, ((uint64_t)5 << 49) | VIRQ_IOAPIC_RTE_REMAPPABLE | 0x3E);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 9, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x3E), 0x1);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compat_msi),  cmocka_unit_test(test_extended_dest_id),
		cmocka_unit_test(test_ir_remapped), cmocka_unit_test(test_ir_blocked_and_fpd),
		cmocka_unit_test(test_ir_posted),   cmocka_unit_test(test_ioapic_remappable_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
