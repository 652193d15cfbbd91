/* SPDX-License-Identifier: MIT */
/*
 * End-to-end scenarios through virq_vm: a level GSI through the I/O APIC
 * with EOI re-delivery, a legacy guest on the PIC through LINT0 ExtINT,
 * virtual wire through I/O APIC pin 0, MSI-X with masking, storms.
 */
#include "harness.h"

#define RTE_LEVEL VIRQ_IOAPIC_RTE_LEVEL
#define RTE_DEST(d) ((uint64_t)(d) << 56)

static void test_level_gsi_eoi_redelivery(void **state)
{
	struct vm_fixture *fx = fx_new(2, 256, 24);
	struct virq_lapic *l;

	(void)state;
	fx_add_xapic(fx, 0, 0);
	l = fx_add_xapic(fx, 1, 1);
	fx_attach_ioapic(fx);
	/* PCI INTA on GSI 16: level, active low (storage only), vCPU 1. */
	fx_rte(fx, 16, RTE_DEST(1) | RTE_LEVEL | VIRQ_IOAPIC_RTE_POLARITY_LOW | 0x4B);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 16, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(fx_who(fx, 0x4B), 0x2);
	assert_true(fx_tmr(fx, 1, 0x4B));
	assert_true(fx_get_rte(fx, 16) & VIRQ_IOAPIC_RTE_REMOTE_IRR);

	/* The guest handles it without clearing the device: EOI -> eoi_level
	 * hook -> virq_vm_eoi -> Remote IRR cleared, line high: again. */
	assert_int_equal(virq_lapic_ack(l), 0x4B);
	virq_lapic_eoi(l);
	assert_true(fx_irr(fx, 1, 0x4B));
	assert_true(fx_get_rte(fx, 16) & VIRQ_IOAPIC_RTE_REMOTE_IRR);

	/* Now the device deasserts before the EOI: no re-delivery. */
	assert_int_equal(virq_lapic_ack(l), 0x4B);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 16, 0, VIRQ_IRQ_LOW), 0);
	virq_lapic_eoi(l);
	assert_false(fx_irr(fx, 1, 0x4B));
	assert_false(fx_get_rte(fx, 16) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	fx_check(fx);
	assert_int_equal(ioapic_check_invariants(&fx->ioapic), 0);
	fx_free(fx);
}

static void test_level_to_nobody_leaves_remote_irr_clear(void **state)
{
	struct vm_fixture *fx = fx_new(1, 256, 24);

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_attach_ioapic(fx);
	fx_rte(fx, 17, RTE_DEST(5) | RTE_LEVEL | 0x4C);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 17, 0, VIRQ_IRQ_HIGH), 0);
	assert_false(fx_get_rte(fx, 17) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(fx->n_lost, 1);
	/* The guest retargets it: delivered at the write. */
	fx_rte(fx, 17, RTE_DEST(0) | RTE_LEVEL | 0x4C);
	assert_true(fx_irr(fx, 0, 0x4C));
	fx_free(fx);
}

static void test_storm_is_reported(void **state)
{
	struct vm_fixture *fx = fx_new(1, 256, 24);
	struct virq_ioapic_config c;
	struct virq_lapic *l;
	unsigned n = 0;

	(void)state;
	l = fx_add_xapic(fx, 0, 0);
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.storm_limit = 5;
	assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &fx->ioapic, &c, 0, 0), 0);
	fx_rte(fx, 20, RTE_DEST(0) | RTE_LEVEL | 0x50);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 20, 0, VIRQ_IRQ_HIGH), 0);
	while (virq_lapic_ack(l) == 0x50 && n < 100) {
		virq_lapic_eoi(l);
		n++;
	}
	assert_true(n < 100);
	assert_int_equal(fx->n_storms, 1);
	/* The embedder services the pin later: the guest gets it again. */
	assert_int_equal(virq_vm_ioapic_service(&fx->vm, 0, 20), 0);
	assert_true(fx_irr(fx, 0, 0x50));
	fx_free(fx);
}

static void pic_init(struct vm_fixture *fx)
{
	/* ICW1 edge cascade + ICW4, ICW2 base, ICW3 wiring, ICW4 8086. */
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x20, 0x11), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x08), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x04), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x01), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA0, 0x11), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA1, 0x70), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA1, 0x02), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA1, 0x01), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x00), 0); /* IMR */
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA1, 0x00), 0);
}

static void test_legacy_pic_through_lint0(void **state)
{
	struct vm_fixture *fx = fx_new(2, 256, 24);
	struct virq_lapic_events ev;
	struct virq_lapic *bsp;
	uint8_t v;

	(void)state;
	bsp = fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 0), 0);
	pic_init(fx);
	/* Virtual wire: LINT0 unmasked ExtINT (LVT delivery mode 111). */
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_LVT_LINT0, 0x700);

	/* Keyboard: ISA IRQ 1 edge. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_true(virq_pic_get_intr(&fx->pic));
	assert_int_equal(virq_lapic_take_events(bsp, &ev) & VIRQ_LAPIC_EV_EXTINT,
			 VIRQ_LAPIC_EV_EXTINT);
	v = virq_vm_pic_intack(&fx->vm);
	assert_int_equal(v, 0x08 + 1);
	assert_false(virq_pic_get_intr(&fx->pic));
	assert_int_equal(virq_lapic_take_events(bsp, &ev), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x20, 0x20), 0); /* non-specific EOI */

	/* Slave IRQ 12 (mouse) through the cascade. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 12, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(virq_lapic_take_events(bsp, &ev), VIRQ_LAPIC_EV_EXTINT);
	assert_int_equal(virq_vm_pic_intack(&fx->vm), 0x70 + 4);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA0, 0x20), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x20, 0x20), 0);
	/* vCPU 1 never saw any of it; the LAPIC IRRs stayed empty. */
	assert_int_equal(virq_lapic_take_events(fx_apic(fx, 1), &ev), 0);
	assert_int_equal(virq_lapic_pending(bsp), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(pic_check_invariants(&fx->pic), 0);
	fx_check(fx);
	fx_free(fx);
}

static void test_pic_virtual_wire_via_ioapic(void **state)
{
	struct vm_fixture *fx = fx_new(1, 256, 24);
	struct virq_lapic_events ev;
	struct virq_lapic *bsp;

	(void)state;
	bsp = fx_add_xapic(fx, 0, 0);
	fx_attach_ioapic(fx);
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 0), 0);
	pic_init(fx);
	/* LINT0 stays masked; I/O APIC pin 0 is ExtINT, edge, to vCPU 0. */
	fx_rte(fx, 0, RTE_DEST(0) | (7ULL << 8));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 4, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(virq_lapic_take_events(bsp, &ev), VIRQ_LAPIC_EV_EXTINT);
	assert_int_equal(virq_vm_pic_intack(&fx->vm), 0x0C);
	/* The same GSI also reached I/O APIC pin 4 (masked there). */
	assert_false(fx_irr(fx, 0, 0x0C));
	fx_free(fx);
}

/* Device-model glue: virq_msi_send_fn over virq_vm_send_msi(). */
static unsigned msix_sent;
static void msix_send(void *ctx, uint64_t addr, uint32_t data)
{
	msix_sent += virq_vm_send_msi(ctx, addr, data, 0x0100);
}

static void test_msix_masking(void **state)
{
	struct vm_fixture *fx = fx_new(2, 256, 0);
	struct virq_msix_entry table[4];
	uint64_t pba[1];
	struct virq_msix msix;

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	assert_int_equal(virq_msix_init(&msix, table, pba, 4), 0);
	/* Entry 2: dest 1, vector 0x5A; still masked. */
	assert_int_equal(
		virq_msix_table_write(&msix, 2 * 16 + 0, 4, 0xFEE01000U, msix_send, &fx->vm), 0);
	assert_int_equal(virq_msix_table_write(&msix, 2 * 16 + 4, 4, 0, msix_send, &fx->vm), 0);
	assert_int_equal(virq_msix_table_write(&msix, 2 * 16 + 8, 4, 0x5A, msix_send, &fx->vm), 0);
	assert_int_equal(virq_msix_set_control(&msix, true, false, msix_send, &fx->vm), 0);
	/* Masked: pending, nothing sent. */
	assert_int_equal(virq_msix_notify(&msix, 2, msix_send, &fx->vm), 0);
	assert_int_equal(msix_sent, 0);
	assert_int_equal(fx_who(fx, 0x5A), 0);
	/* Unmask: the pending message goes out. */
	assert_int_equal(virq_msix_table_write(&msix, 2 * 16 + 12, 4, 0, msix_send, &fx->vm), 0);
	assert_int_equal(msix_sent, 1);
	assert_int_equal(fx_who(fx, 0x5A), 0x2);
	fx_drain_all(fx);
	assert_int_equal(virq_msix_notify(&msix, 2, msix_send, &fx->vm), 0);
	assert_int_equal(msix_sent, 2);
	/* Function mask holds it back until cleared. */
	fx_drain_all(fx);
	assert_int_equal(virq_msix_set_control(&msix, true, true, msix_send, &fx->vm), 0);
	assert_int_equal(virq_msix_notify(&msix, 2, msix_send, &fx->vm), 0);
	assert_int_equal(fx_who(fx, 0x5A), 0);
	assert_int_equal(virq_msix_set_control(&msix, true, false, msix_send, &fx->vm), 0);
	assert_int_equal(fx_who(fx, 0x5A), 0x2);
	assert_int_equal(msix_sent, 3);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_gsi_eoi_redelivery),
		cmocka_unit_test(test_level_to_nobody_leaves_remote_irr_clear),
		cmocka_unit_test(test_storm_is_reported),
		cmocka_unit_test(test_legacy_pic_through_lint0),
		cmocka_unit_test(test_pic_virtual_wire_via_ioapic),
		cmocka_unit_test(test_msix_masking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
