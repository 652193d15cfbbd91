/* SPDX-License-Identifier: MIT */
/*
 * One test per PIC checklist row: bugs other hypervisors shipped in their
 * 8259/ELCR models, kept from coming back here. Each test is named after
 * its row and cites the peer. Rows that other PIC tests also cover are
 * repeated here so this file is the checklist.
 *
 *  | crosvm: ELCR write computes `value & !elcr` instead of masking | write twice, read back value & mask |
 *  | Xen: ELCR mask macro bug; master bit 2 control; ICW1 clearing passthrough pins |
 *  |      ELCR forced-edge bits; ICW1 side effects per the 8259A datasheet and QEMU |
 *
 * Then the defects an external review found in this model, one test each
 * (named after what they pin, citing the 8259A datasheet):
 *
 *  | non-specific EOI in special mask mode cleared a masked in-service bit |
 *  | set_irq re-driving a line held high through ICW1 latched a new edge |
 */
#include "harness.h"

static void setup(struct pic_fixture *fx)
{
	fixture_init(fx);
	bios_init(fx, 0x08, 0x70);
}

/*
 * crosvm: the ELCR write stored `value & !elcr` (the complement of the
 * old value) instead of `value & mask`, so writing the same value twice
 * read back 0, and the forced-edge (reserved) bits were writable.
 * Here: any value written once, twice or three times reads back
 * value & 0xF8 (ELCR1) or value & 0xDE (ELCR2).
 */
static void test_crosvm_elcr_write_twice(void **state)
{
	static const uint8_t values[] = {
		0x00, 0xFF, 0xF8, 0xDE, 0x20, 0x08, 0xA8, 0x5A, 0x07, 0x21
	};
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	for (unsigned i = 0; i < sizeof(values); i++) {
		for (unsigned times = 1; times <= 3; times++) {
			for (unsigned t = 0; t < times; t++) {
				outb(&fx, VIRQ_PIC_ELCR1, values[i]);
				outb(&fx, VIRQ_PIC_ELCR2, values[i]);
			}
			assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), values[i] & 0xF8U);
			assert_int_equal(inb(&fx, VIRQ_PIC_ELCR2), values[i] & 0xDEU);
			/* Reading does not change it either. */
			assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), values[i] & 0xF8U);
		}
	}
	/* And the stored value is the one that acts: IRQ10 level. */
	outb(&fx, VIRQ_PIC_ELCR2, 0x04);
	outb(&fx, VIRQ_PIC_ELCR2, 0x04);
	irq(&fx, 10, true);
	assert_int_equal(intack(&fx), 0x72);
	assert_int_equal(read_irr(&fx, S_CMD), 0x04); /* level: not consumed */
}

/*
 * Xen: a precedence bug in the ELCR mask macro left the forced-edge bits
 * writable. Here: with all-ones written, IRQ 0, 1, 2, 8 and 13 read 0 and
 * behave as edge inputs (a held line is one request), every other IRQ
 * behaves as a level input.
 */
static void test_xen_elcr_forced_edge_bits(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	outb(&fx, VIRQ_PIC_ELCR1, 0xFF);
	outb(&fx, VIRQ_PIC_ELCR2, 0xFF);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0xF8);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR2), 0xDE);
	for (unsigned n = 0; n < 16; n++) {
		bool edge = n == 0 || n == 1 || n == 8 || n == 13;
		uint16_t cmd = n < 8 ? M_CMD : S_CMD;
		uint8_t bit = (uint8_t)(1U << (n & 7U));

		if (n == 2)
			continue;
		irq(&fx, n, true);
		assert_int_equal(intack(&fx), n < 8 ? 0x08 + n : 0x70 + n - 8);
		assert_int_equal(read_irr(&fx, cmd), edge ? 0 : bit);
		irq(&fx, n, false);
		assert_int_equal(read_irr(&fx, cmd), 0);
		if (n >= 8)
			outb(&fx, S_CMD, OCW2_EOI);
		outb(&fx, M_CMD, OCW2_EOI);
		assert_false(intr(&fx));
		assert_int_equal(read_isr(&fx, M_CMD), 0);
	}
}

/*
 * Xen: master IRQ2 could be controlled from outside the cascade (its ELCR
 * bit and input were treated like any other pin). Here: ELCR1 bit 2 is
 * never stored, driving IRQ 2 changes nothing, and master IR2 follows the
 * slave's INT only - including through a master re-initialisation.
 */
static void test_xen_master_bit2_is_the_cascade(void **state)
{
	struct pic_fixture fx;
	struct virq_pic before;

	(void)state;
	setup(&fx);
	outb(&fx, VIRQ_PIC_ELCR1, 0x04);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0x00);
	before = fx.pic;
	irq(&fx, 2, true);
	assert_memory_equal(&before, &fx.pic, sizeof(before));
	assert_false(intr(&fx));
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	irq(&fx, 2, false);
	/* The slave drives it. */
	irq_edge(&fx, 14);
	assert_int_equal(read_irr(&fx, M_CMD), 0x04);
	irq(&fx, 2, false); /* a device cannot pull it down */
	assert_int_equal(read_irr(&fx, M_CMD), 0x04);
	assert_int_equal(intack(&fx), 0x76);
	/* Masking master IR2 masks the whole slave. */
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	outb(&fx, M_DATA, 0x04);
	irq_pulse(&fx, 9);
	assert_false(intr(&fx));
	outb(&fx, M_DATA, 0x00);
	assert_int_equal(intack(&fx), 0x71);
}

/*
 * Xen: a guest ICW1 cleared the IRR of level-triggered passthrough pins,
 * so an asserted device line was lost until it toggled. Here, per the
 * 8259A datasheet (Initialization Command Words) and, where it is silent,
 * QEMU's pic_reset_common(): ICW1 keeps the requests of
 * asserted level inputs (irr &= elcr) on both chips, drops pending edge
 * requests, clears ISR, IMR, rotation, special mask, poll, read select,
 * AEOI/SFNM/rotate-in-AEOI, re-arms the edge latches and keeps the ELCR;
 * the kept request is delivered once the guest finishes initialising.
 */
static void test_xen_icw1_keeps_passthrough_level_pins(void **state)
{
	struct pic_fixture fx;
	struct virq_pic_state st;

	(void)state;
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x08, 0x04, 0x13); /* AEOI + SFNM */
	chip_init(&fx, S_CMD, 0x70, 0x02, 0x01);
	outb(&fx, VIRQ_PIC_ELCR1, 0x20); /* IRQ5: a passthrough INTx line */
	outb(&fx, VIRQ_PIC_ELCR2, 0x08); /* IRQ11: another one */
	irq(&fx, 5, true);
	irq(&fx, 11, true);
	irq_edge(&fx, 4); /* an edge request, line still high */
	irq_pulse(&fx, 12);
	assert_int_equal(intack(&fx), 0x73); /* slave ISR bit 3 */
	outb(&fx, M_CMD, OCW2_SET_ROTATE_AEOI);
	outb(&fx, M_CMD, OCW2_SET_PRIO(1));
	outb(&fx, S_CMD, OCW3_SET_SMM);
	outb(&fx, S_CMD, 0x0F); /* poll + read ISR */
	outb(&fx, M_DATA, 0x40);
	outb(&fx, S_DATA, 0x80);

	/* The guest re-initialises both chips (Linux resume, a second OS). */
	outb(&fx, M_CMD, 0x11);
	outb(&fx, S_CMD, 0x11);
	save(&fx, &st);
	/* master: 5 kept, 4 dropped; bit 2 is the slave's INT (11 requests) */
	assert_int_equal(st.chip[0].irr, 0x24);
	assert_int_equal(st.chip[0].last_irr, 0x24);
	assert_int_equal(st.chip[0].isr, 0x00);
	assert_int_equal(st.chip[0].imr, 0x00);
	assert_int_equal(st.chip[0].prio_add, 0);
	assert_int_equal(st.chip[0].base, 0x00);
	assert_int_equal(st.chip[0].elcr, 0x20);
	assert_int_equal(st.chip[0].flags, VIRQ_PIC_F_IC4);
	/* slave: 11 kept, 12 dropped, ISR cleared, SMM/poll/read-ISR gone */
	assert_int_equal(st.chip[1].irr, 0x08);
	assert_int_equal(st.chip[1].last_irr, 0x08);
	assert_int_equal(st.chip[1].isr, 0x00);
	assert_int_equal(st.chip[1].imr, 0x00);
	assert_int_equal(st.chip[1].elcr, 0x08);
	assert_int_equal(st.chip[1].flags, VIRQ_PIC_F_IC4);
	assert_int_equal(inb(&fx, S_CMD), 0x08); /* IRR, not a poll byte */

	outb(&fx, M_DATA, 0x20);
	outb(&fx, M_DATA, 0x04);
	outb(&fx, M_DATA, 0x01);
	outb(&fx, S_DATA, 0x28);
	outb(&fx, S_DATA, 0x02);
	outb(&fx, S_DATA, 0x01);
	/* Both level lines are still asserted and get delivered. */
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x2B);
	irq(&fx, 11, false); /* the handler quiets the device, then EOIs */
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(intack(&fx), 0x25);
	assert_int_equal(read_isr(&fx, M_CMD), 0x20); /* AEOI was cleared */
	/* The edge line that stayed high counts again after a low-high. */
	outb(&fx, M_CMD, OCW2_EOI);
	irq(&fx, 5, false);
	irq(&fx, 4, true);
	assert_false(intr(&fx));
	irq_edge(&fx, 4);
	assert_int_equal(intack(&fx), 0x24);
}

/* ---- external review ---- */

static uint8_t prio_add_of(struct pic_fixture *fx, unsigned chip)
{
	struct virq_pic_state st;

	save(fx, &st);
	return st.chip[chip].prio_add;
}

/*
 * IRQ3 in service, its handler masks it and enters special mask mode, IRQ5
 * nests over it (8259A datasheet, Special Mask Mode): ISR 0x28, IMR 0x08.
 */
static void smm_nest_5_over_masked_3(struct pic_fixture *fx)
{
	setup(fx);
	irq_pulse(fx, 3);
	assert_int_equal(intack(fx), 0x0B);
	outb(fx, M_DATA, 0x08);
	outb(fx, M_CMD, OCW3_SET_SMM);
	irq_pulse(fx, 5);
	assert_int_equal(intack(fx), 0x0D);
}

/*
 * 8259A datasheet, End of Interrupt (EOI): "an IS bit that is masked by an
 * IMR bit will not be cleared by a non-specific EOI if the 8259A is in the
 * Special Mask Mode". The IRQ3 handler masks its own level and enters
 * special mask mode (Special Mask Mode section) so IRQ5 can nest; IRQ5's
 * non-specific EOI must clear 5, not the masked 3 of higher priority.
 * Before the fix the EOI cleared 3 (ISR read 0x20), so 5 stayed in
 * service and kept IRQ6 out (spurious 0x0F instead of 0x0E). With only
 * masked levels left in service a non-specific EOI does nothing; a
 * specific EOI still clears the masked level.
 */
static void test_review_smm_nonspecific_eoi_skips_masked_isr(void **state)
{
	struct pic_fixture fx;

	(void)state;
	smm_nest_5_over_masked_3(&fx);
	assert_int_equal(read_isr(&fx, M_CMD), 0x28);
	irq_pulse(&fx, 6);
	assert_false(intr(&fx)); /* 5 in service holds 6 back */

	outb(&fx, M_CMD, OCW2_EOI); /* IRQ5's handler */
	assert_int_equal(read_isr(&fx, M_CMD), 0x08);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x0E);
	assert_int_equal(read_isr(&fx, M_CMD), 0x48);
	outb(&fx, M_CMD, OCW2_EOI); /* IRQ6's handler */
	assert_int_equal(read_isr(&fx, M_CMD), 0x08);
	outb(&fx, M_CMD, OCW2_EOI); /* only the masked 3 left: nothing */
	assert_int_equal(read_isr(&fx, M_CMD), 0x08);
	assert_int_equal(prio_add_of(&fx, 0), 0);
	outb(&fx, M_CMD, (uint8_t)OCW2_SEOI(3));
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	/* Outside special mask mode the IMR plays no part. */
	outb(&fx, M_CMD, OCW3_CLEAR_SMM);
	irq_pulse(&fx, 3);
	outb(&fx, M_DATA, 0x00);
	assert_int_equal(intack(&fx), 0x0B);
	outb(&fx, M_DATA, 0x08);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	assert_int_equal(intack(&fx), 0x0F);
}

/*
 * The same for rotate on non-specific EOI (8259A datasheet, End of
 * Interrupt and Automatic Rotation): the level it clears, 5, becomes the
 * lowest priority, so IRQ6 then beats IRQ4. Before the fix it cleared the
 * masked 3 (ISR read 0x20) and rotated to "3 lowest": 5 stayed in service
 * and IRQ4 came first (0x0C). With nothing unmasked in service it neither
 * clears nor rotates.
 */
static void test_review_smm_rotate_nonspecific_eoi_skips_masked_isr(void **state)
{
	struct pic_fixture fx;

	(void)state;
	smm_nest_5_over_masked_3(&fx);

	outb(&fx, M_CMD, OCW2_ROTATE_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x08);
	assert_int_equal(prio_add_of(&fx, 0), 6); /* 5 lowest: 6 7 0 1 2 3 4 5 */
	outb(&fx, M_CMD, OCW2_ROTATE_EOI);        /* only the masked 3: nothing */
	assert_int_equal(read_isr(&fx, M_CMD), 0x08);
	assert_int_equal(prio_add_of(&fx, 0), 6);
	irq_pulse(&fx, 4);
	irq_pulse(&fx, 6);
	assert_int_equal(intack(&fx), 0x0E);
	assert_int_equal(read_isr(&fx, M_CMD), 0x48);
}

/*
 * 8259A datasheet, Initialization Command Words: after ICW1 "an interrupt
 * request (IR) input must make a low-to-high transition to generate an
 * interrupt"; Edge and Level Triggered Modes: an edge input "can remain
 * high without generating another interrupt". An embedder that calls
 * virq_pic_set_irq() with the level the line already has is not making an
 * edge. Before the fix ICW1 forgot that IRQ4 was high, and re-driving it
 * high latched a request (INT rose, INTA answered 0x0C with ISR 0x10).
 * Level inputs are the other side: their request is the line, also when
 * the ELCR makes a held-high input level after ICW1 (before the fix its
 * IRR stayed 0 while the line was high).
 */
static void test_review_set_irq_held_line_after_icw1_is_no_edge(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	irq(&fx, 4, true);
	assert_int_equal(intack(&fx), 0x0C);
	outb(&fx, M_CMD, OCW2_EOI);
	irq(&fx, 4, true); /* unchanged: nothing, as before ICW1 */
	assert_false(intr(&fx));

	chip_init(&fx, M_CMD, 0x08, 0x04, 0x01); /* IRQ4 held high throughout */
	irq(&fx, 4, true);
	assert_false(intr(&fx));
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	assert_int_equal(intack(&fx), 0x0F); /* spurious: nothing requested */
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	irq(&fx, 4, false);
	assert_false(intr(&fx));
	irq(&fx, 4, true); /* the transition ICW1 asks for */
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x0C);
	assert_int_equal(read_isr(&fx, M_CMD), 0x10);
	outb(&fx, M_CMD, OCW2_EOI);

	/* IRQ5 held high through ICW1, then made level: it requests. */
	irq(&fx, 5, true);
	assert_int_equal(intack(&fx), 0x0D);
	outb(&fx, M_CMD, OCW2_EOI);
	chip_init(&fx, M_CMD, 0x08, 0x04, 0x01);
	irq(&fx, 5, true);
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	outb(&fx, VIRQ_PIC_ELCR1, 0x20);
	assert_int_equal(read_irr(&fx, M_CMD), 0x20);
	assert_int_equal(intack(&fx), 0x0D);
	assert_int_equal(read_irr(&fx, M_CMD), 0x20); /* level: INTA leaves it */
	irq(&fx, 5, false);
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crosvm_elcr_write_twice),
		cmocka_unit_test(test_xen_elcr_forced_edge_bits),
		cmocka_unit_test(test_xen_master_bit2_is_the_cascade),
		cmocka_unit_test(test_xen_icw1_keeps_passthrough_level_pins),
		cmocka_unit_test(test_review_smm_nonspecific_eoi_skips_masked_isr),
		cmocka_unit_test(test_review_smm_rotate_nonspecific_eoi_skips_masked_isr),
		cmocka_unit_test(test_review_set_irq_held_line_after_icw1_is_no_edge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
