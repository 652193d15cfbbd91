/* SPDX-License-Identifier: MIT */
/*
 * The edge/level control registers at 0x4D0/0x4D1 and the two input
 * semantics: writable masks 0xF8/0xDE for every value, forced-edge IRQs
 * 0, 1, 2, 8 and 13, edge latching through the edge-sense bit, level
 * requests following the line, ELCR changes on a live line, and what ICW1
 * and machine reset do to the ELCR. Written from the PIIX/ICH ELCR (with
 * the forced-edge masks of QEMU's and KVM's elcr_mask), the 8259A
 * datasheet (Edge and Level Triggered Modes, Initialization Command Words)
 * and QEMU's reset.
 */
#include "harness.h"

static void setup(struct pic_fixture *fx)
{
	fixture_init(fx);
	bios_init(fx, 0x08, 0x70);
}

static uint16_t cmd_of(unsigned irq)
{
	return irq < 8 ? M_CMD : S_CMD;
}

static uint8_t vector_of(unsigned irq)
{
	return irq < 8 ? (uint8_t)(0x08 + irq) : (uint8_t)(0x70 + irq - 8);
}

static void eoi_for(struct pic_fixture *fx, unsigned irq)
{
	if (irq >= 8)
		outb(fx, S_CMD, OCW2_EOI);
	outb(fx, M_CMD, OCW2_EOI);
}

static void test_elcr_masks_every_value(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	for (unsigned v = 0; v < 256; v++) {
		outb(&fx, VIRQ_PIC_ELCR1, (uint8_t)v);
		outb(&fx, VIRQ_PIC_ELCR2, (uint8_t)(v ^ 0xA5));
		assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), v & 0xF8U);
		assert_int_equal(inb(&fx, VIRQ_PIC_ELCR2), (v ^ 0xA5U) & 0xDEU);
	}
	/* The PIC registers are not touched by ELCR accesses. */
	assert_int_equal(inb(&fx, M_DATA), 0x00);
	assert_int_equal(inb(&fx, S_DATA), 0x00);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_int_equal(fx.f.n_intr, 0);
}

/* With every ELCR bit written 1: which IRQs behave level, which edge. */
static void test_forced_edge_irqs(void **state)
{
	(void)state;
	for (unsigned n = 0; n < 16; n++) {
		bool forced_edge = n == 0 || n == 1 || n == 2 || n == 8 || n == 13;
		uint8_t bit = (uint8_t)(1U << (n & 7U));
		struct pic_fixture fx;

		if (n == 2)
			continue;
		setup(&fx);
		outb(&fx, VIRQ_PIC_ELCR1, 0xFF);
		outb(&fx, VIRQ_PIC_ELCR2, 0xFF);
		irq(&fx, n, true);
		assert_int_equal(intack(&fx), vector_of(n));
		assert_int_equal(read_irr(&fx, cmd_of(n)), forced_edge ? 0 : bit);
		eoi_for(&fx, n);
		assert_int_equal(intr(&fx), !forced_edge);
		/* Driving it low: a level request goes away at once. */
		irq(&fx, n, false);
		assert_int_equal(read_irr(&fx, cmd_of(n)), 0);
		if (!forced_edge && n >= 8) {
			/* The master latched the edge of the slave's INT:
			 * acknowledged now it is a spurious IRQ15. */
			assert_true(intr(&fx));
			assert_int_equal(intack(&fx), 0x77);
			assert_int_equal(read_isr(&fx, S_CMD), 0x00);
			outb(&fx, M_CMD, OCW2_EOI);
		}
		assert_false(intr(&fx));
	}
}

/* Edge: latched on low -> high, kept until INTA, re-armed by going low. */
static void test_edge_semantics(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	irq(&fx, 12, true);
	assert_int_equal(read_irr(&fx, S_CMD), 0x10);
	irq(&fx, 12, true); /* held high: still one request */
	irq(&fx, 12, false);
	/* The emulator model keeps a latched request when the line drops
	 * (QEMU's and KVM's last_irr model): a pulsed edge is delivered. */
	assert_int_equal(read_irr(&fx, S_CMD), 0x10);
	assert_int_equal(intack(&fx), 0x74);
	assert_int_equal(read_irr(&fx, S_CMD), 0x00);
	eoi_for(&fx, 12);
	/* Two edges before the INTA are one request. */
	irq_pulse(&fx, 12);
	irq_pulse(&fx, 12);
	assert_int_equal(intack(&fx), 0x74);
	eoi_for(&fx, 12);
	assert_false(intr(&fx));
	/* High across the INTA: no new request until it goes low and high. */
	irq(&fx, 12, true);
	assert_int_equal(intack(&fx), 0x74);
	eoi_for(&fx, 12);
	irq(&fx, 12, true);
	assert_false(intr(&fx));
	irq(&fx, 12, false);
	assert_false(intr(&fx));
	irq(&fx, 12, true);
	assert_true(intr(&fx));
}

/* Level: IRR is the line (8259A datasheet, Edge and Level Triggered Modes). */
static void test_level_semantics(void **state)
{
	static const bool log[] = { true, false, true, false };
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	outb(&fx, VIRQ_PIC_ELCR2, 0x40); /* IRQ14 */
	irq(&fx, 14, true);
	assert_int_equal(read_irr(&fx, S_CMD), 0x40);
	irq(&fx, 14, false); /* dropped before INTA: gone from the slave */
	assert_int_equal(read_irr(&fx, S_CMD), 0x00);
	assert_true(intr(&fx)); /* (the master keeps its IR2 edge) */
	irq(&fx, 14, true);
	assert_int_equal(intack(&fx), 0x76);
	assert_int_equal(read_irr(&fx, S_CMD), 0x40);
	eoi_for(&fx, 14);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x76);
	irq(&fx, 14, false);
	eoi_for(&fx, 14);
	assert_false(intr(&fx));
	assert_intr_log(&fx, log, 4);
}

/* ELCR changes on a live line: a level input's request follows its line. */
static void test_elcr_change_live_line(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	/* Latched edge, line gone low; made level: the request goes. */
	irq_pulse(&fx, 5);
	assert_true(intr(&fx));
	outb(&fx, VIRQ_PIC_ELCR1, 0x20);
	assert_false(intr(&fx));
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	/* Level, line high; made edge: the request stays, latched. */
	irq(&fx, 5, true);
	outb(&fx, VIRQ_PIC_ELCR1, 0x00);
	assert_int_equal(read_irr(&fx, M_CMD), 0x20);
	assert_int_equal(intack(&fx), 0x0D);
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	outb(&fx, M_CMD, OCW2_EOI);
	/* Edge, consumed, line still high; made level: requested again. */
	assert_false(intr(&fx));
	outb(&fx, VIRQ_PIC_ELCR1, 0x20);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x0D);
}

/* ICW1 keeps the ELCR, a separate register (as QEMU); machine reset clears it. */
static void test_elcr_icw1_and_reset(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	outb(&fx, VIRQ_PIC_ELCR1, 0xA8);
	outb(&fx, VIRQ_PIC_ELCR2, 0x5A);
	bios_init(&fx, 0x20, 0x28);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0xA8);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR2), 0x5A);
	outb(&fx, M_CMD, 0x19); /* LTIM does not write the ELCR either */
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0xA8);
	virq_pic_reset(&fx.pic);
	assert_invariants(&fx);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0x00);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR2), 0x00);
}

/* ELCR accesses neither consume a poll nor count as ICWs. */
static void test_elcr_independent_of_pic_state(void **state)
{
	struct pic_fixture fx;
	struct virq_pic_state st;

	(void)state;
	fixture_init(&fx);
	outb(&fx, M_CMD, 0x11);
	outb(&fx, VIRQ_PIC_ELCR1, 0x08); /* mid-init */
	save(&fx, &st);
	assert_int_equal(st.chip[0].init_state, VIRQ_PIC_INIT_ICW2);
	assert_int_equal(st.chip[0].base, 0);
	outb(&fx, M_DATA, 0x08);
	outb(&fx, M_DATA, 0x04);
	outb(&fx, M_DATA, 0x01);
	irq(&fx, 3, true);
	outb(&fx, M_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0x08);
	assert_int_equal(inb(&fx, M_CMD), 0x83);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elcr_masks_every_value),
		cmocka_unit_test(test_forced_edge_irqs),
		cmocka_unit_test(test_edge_semantics),
		cmocka_unit_test(test_level_semantics),
		cmocka_unit_test(test_elcr_change_live_line),
		cmocka_unit_test(test_elcr_icw1_and_reset),
		cmocka_unit_test(test_elcr_independent_of_pic_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
