/* SPDX-License-Identifier: MIT */
/*
 * The interrupt-acknowledge cycle: vectors, ISR and IRR effects for edge
 * and level inputs, spurious IRQ7 and IRQ15 with their exact vectors and
 * ISR effects, AEOI with and without rotation, the cascade (slave IRQs
 * nested within IR2's priority, EOI order), and the exact sequence of INT
 * levels reported through ops->intr. Written from the 8259A datasheet
 * (Interrupt Sequence, Edge and Level Triggered Modes, Automatic End of
 * Interrupt Mode, Cascade Mode, Poll Command) and QEMU's i8259 for the
 * cascade and the spurious answers.
 */
#include "harness.h"

static void setup(struct pic_fixture *fx)
{
	fixture_init(fx);
	bios_init(fx, 0x08, 0x70);
}

/* ---- one chip ---- */

static void test_inta_edge_effects(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	for (unsigned n = 0; n < 8; n++) {
		if (n == 2)
			continue;
		irq_edge(&fx, n);
		assert_int_equal(read_irr(&fx, M_CMD), 1U << n);
		assert_int_equal(intack(&fx), 0x08 + n);
		assert_int_equal(read_irr(&fx, M_CMD), 0x00); /* consumed */
		assert_int_equal(read_isr(&fx, M_CMD), 1U << n);
		/* The line is still high: no new request without a new edge. */
		irq(&fx, n, true);
		assert_int_equal(read_irr(&fx, M_CMD), 0x00);
		outb(&fx, M_CMD, OCW2_EOI);
		assert_false(intr(&fx));
		irq(&fx, n, false);
	}
}

static void test_inta_level_effects(void **state)
{
	static const bool log[] = { true, false, true, false };
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	outb(&fx, VIRQ_PIC_ELCR1, 0x20); /* IRQ5 level */
	irq(&fx, 5, true);
	assert_int_equal(intack(&fx), 0x0D);
	assert_int_equal(read_irr(&fx, M_CMD), 0x20); /* not cleared by INTA */
	assert_int_equal(read_isr(&fx, M_CMD), 0x20);
	assert_false(intr(&fx));
	outb(&fx, M_CMD, OCW2_EOI);
	assert_true(intr(&fx)); /* still high: requested again */
	assert_int_equal(intack(&fx), 0x0D);
	irq(&fx, 5, false); /* the handler quiets the device */
	outb(&fx, M_CMD, OCW2_EOI);
	assert_false(intr(&fx));
	assert_intr_log(&fx, log, 4);
}

/* ---- spurious interrupts ---- */

/* No request at all: master base + 7, nothing changes. */
static void test_spurious_irq7_nothing_pending(void **state)
{
	struct pic_fixture fx;
	struct virq_pic_state before, after;

	(void)state;
	setup(&fx);
	save(&fx, &before);
	assert_int_equal(intack(&fx), 0x0F);
	assert_int_equal(intack(&fx), 0x0F);
	save(&fx, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(fx.f.n_intr, 0);
}

/* The request is masked between INT and INTA. */
static void test_spurious_irq7_masked_meanwhile(void **state)
{
	static const bool log[] = { true, false };
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	irq_edge(&fx, 4);
	outb(&fx, M_DATA, 0x10);
	assert_intr_log(&fx, log, 2);
	assert_int_equal(intack(&fx), 0x0F);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00); /* no ISR bit 7 */
	assert_int_equal(read_irr(&fx, M_CMD), 0x10); /* the request waits */
	outb(&fx, M_DATA, 0x00);
	assert_int_equal(intack(&fx), 0x0C);
}

/* A level line drops between INT and INTA. */
static void test_spurious_irq7_level_dropped(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	outb(&fx, VIRQ_PIC_ELCR1, 0x08);
	irq(&fx, 3, true);
	assert_true(intr(&fx));
	irq(&fx, 3, false);
	assert_false(intr(&fx));
	assert_int_equal(intack(&fx), 0x0F);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
}

/* The handler tells a real IR7 from a spurious one by ISR bit 7. */
static void test_real_irq7_sets_isr(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	irq_edge(&fx, 7);
	assert_int_equal(intack(&fx), 0x0F);
	assert_int_equal(read_isr(&fx, M_CMD), 0x80);
	/* A spurious one while the real one is in service changes nothing. */
	assert_int_equal(intack(&fx), 0x0F);
	assert_int_equal(read_isr(&fx, M_CMD), 0x80);
}

/*
 * Slave spurious (default IR7, 8259A datasheet, Edge and Level Triggered
 * Modes; as QEMU's pic_read_irq()): the master latched IR2 from the
 * slave's INT, then the slave's request went away (masked here). The
 * master still acknowledges IR2 - ISR bit 2 set, so software EOIs the
 * master - and the slave answers slave base + 7 with its ISR bit 7 clear.
 */
static void test_spurious_irq15_masked_on_slave(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	irq_edge(&fx, 11);
	assert_int_equal(read_irr(&fx, M_CMD), 0x04);
	outb(&fx, S_DATA, 0x08);
	assert_true(intr(&fx)); /* the master's IR2 edge is latched */
	assert_int_equal(intack(&fx), 0x77);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
	assert_int_equal(read_isr(&fx, S_CMD), 0x00);
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	assert_int_equal(read_irr(&fx, S_CMD), 0x08);
	assert_false(intr(&fx));
	/* IR2 in service blocks lower master levels until the master EOI. */
	irq_edge(&fx, 5);
	assert_false(intr(&fx));
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(intack(&fx), 0x0D);
}

/* The same through a slave level input that drops. */
static void test_spurious_irq15_level_dropped(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	outb(&fx, VIRQ_PIC_ELCR2, 0x04); /* IRQ10 level */
	irq(&fx, 10, true);
	irq(&fx, 10, false);
	assert_true(intr(&fx));
	assert_int_equal(read_irr(&fx, S_CMD), 0x00);
	assert_int_equal(intack(&fx), 0x77);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
	assert_int_equal(read_isr(&fx, S_CMD), 0x00);
}

/* A real IRQ15 sets slave ISR bit 7. */
static void test_real_irq15_sets_isr(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	irq_edge(&fx, 15);
	assert_int_equal(intack(&fx), 0x77);
	assert_int_equal(read_isr(&fx, S_CMD), 0x80);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
}

/* With AEOI on the master a spurious IRQ15 leaves nothing in service. */
static void test_spurious_irq15_master_aeoi(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x20, 0x04, 0x03);
	chip_init(&fx, S_CMD, 0x28, 0x02, 0x01);
	irq_pulse(&fx, 9);
	outb(&fx, S_DATA, 0x02);
	assert_int_equal(intack(&fx), 0x2F);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	assert_int_equal(read_isr(&fx, S_CMD), 0x00);
}

/* ---- AEOI ---- */

static void test_aeoi(void **state)
{
	static const bool log[] = { true, false, true, false };
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x08, 0x04, 0x03);
	irq_pulse(&fx, 3);
	assert_int_equal(intack(&fx), 0x0B);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	assert_false(intr(&fx));
	irq_pulse(&fx, 3); /* no EOI needed before the next one */
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x0B);
	assert_intr_log(&fx, log, 4);
	/* No rotation without rotate-in-AEOI: IR3 still beats IR4. */
	irq_pulse(&fx, 4);
	irq_pulse(&fx, 3);
	assert_int_equal(intack(&fx), 0x0B);
	assert_int_equal(intack(&fx), 0x0C);
	{
		struct virq_pic_state st;

		save(&fx, &st);
		assert_int_equal(st.chip[0].prio_add, 0);
	}
}

/* Rotate in AEOI mode: the serviced level becomes the lowest. */
static void test_rotate_in_aeoi(void **state)
{
	static const unsigned turns[] = { 3, 4, 5, 3, 4, 5 };
	struct pic_fixture fx;
	struct virq_pic_state st;

	(void)state;
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x08, 0x04, 0x03);
	outb(&fx, M_CMD, OCW2_SET_ROTATE_AEOI);
	irq_pulse(&fx, 3);
	irq_pulse(&fx, 4);
	irq_pulse(&fx, 5);
	for (unsigned i = 0; i < sizeof(turns) / sizeof(turns[0]); i++) {
		assert_int_equal(intack(&fx), 0x08 + turns[i]);
		save(&fx, &st);
		assert_int_equal(st.chip[0].prio_add, (turns[i] + 1) & 7U);
		assert_int_equal(st.chip[0].isr, 0);
		irq_pulse(&fx, turns[i]);
	}
	/* Cleared again: the rotation stays where it is, no more moves. */
	outb(&fx, M_CMD, OCW2_CLEAR_ROTATE_AEOI);
	assert_int_equal(intack(&fx), 0x0B);
	assert_int_equal(intack(&fx), 0x0C);
	save(&fx, &st);
	assert_int_equal(st.chip[0].prio_add, 6);
}

/* ---- cascade ---- */

static void test_cascade_basic(void **state)
{
	static const bool log[] = { true, false };
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	irq_edge(&fx, 8);
	assert_int_equal(read_irr(&fx, S_CMD), 0x01);
	assert_int_equal(read_irr(&fx, M_CMD), 0x04);
	assert_int_equal(intack(&fx), 0x70);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
	assert_int_equal(read_isr(&fx, S_CMD), 0x01);
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	assert_int_equal(read_irr(&fx, S_CMD), 0x00);
	outb(&fx, S_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, S_CMD), 0x00);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	assert_intr_log(&fx, log, 2);
}

/* Slave IRQs take IR2's place: after IRQ1, before IRQ3 (fully nested). */
static void test_cascade_acknowledge_order(void **state)
{
	static const struct {
		unsigned irq;
		uint8_t vector;
	} order[] = {
		{ 0, 0x08 },  { 1, 0x09 },  { 8, 0x70 },  { 9, 0x71 },  { 10, 0x72 },
		{ 11, 0x73 }, { 12, 0x74 }, { 13, 0x75 }, { 14, 0x76 }, { 15, 0x77 },
		{ 3, 0x0B },  { 4, 0x0C },  { 5, 0x0D },  { 6, 0x0E },  { 7, 0x0F },
	};
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	for (int i = 14; i >= 0; i--)
		irq_pulse(&fx, order[i].irq);
	assert_int_equal(read_irr(&fx, M_CMD), 0xFF);
	assert_int_equal(read_irr(&fx, S_CMD), 0xFF);
	for (unsigned i = 0; i < 15; i++) {
		assert_true(intr(&fx));
		assert_int_equal(intack(&fx), order[i].vector);
		if (order[i].irq >= 8) {
			assert_int_equal(read_isr(&fx, S_CMD), 1U << (order[i].irq - 8));
			assert_int_equal(read_isr(&fx, M_CMD), 0x04);
			assert_false(intr(&fx)); /* IR2 in service holds the rest back */
			outb(&fx, S_CMD, OCW2_EOI);
			assert_false(intr(&fx)); /* ... until the master's EOI */
		} else {
			assert_int_equal(read_isr(&fx, M_CMD), 1U << order[i].irq);
		}
		outb(&fx, M_CMD, OCW2_EOI);
	}
	assert_false(intr(&fx));
	assert_int_equal(intack(&fx), 0x0F);
}

/* A master level above IR2 nests over a slave IRQ in service; one below waits. */
static void test_cascade_nesting_within_ir2(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	irq_pulse(&fx, 10);
	assert_int_equal(intack(&fx), 0x72);
	irq_pulse(&fx, 9); /* higher on the slave, but IR2 is in service */
	assert_false(intr(&fx));
	irq_pulse(&fx, 3);
	assert_false(intr(&fx));
	irq_pulse(&fx, 1);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x09);
	assert_int_equal(read_isr(&fx, M_CMD), 0x06);
	outb(&fx, M_CMD, OCW2_EOI); /* IRQ1 done */
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
	assert_false(intr(&fx));
	outb(&fx, S_CMD, OCW2_EOI); /* IRQ10 done on the slave */
	assert_false(intr(&fx));
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(intack(&fx), 0x71); /* the slave's IRQ9 before IRQ3 */
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(intack(&fx), 0x0B);
}

/*
 * An AEOI slave with two requests keeps its INT high across the first
 * acknowledge; master IR2 is re-armed so the second is not lost.
 */
static void test_cascade_aeoi_slave_two_requests(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x08, 0x04, 0x01);
	chip_init(&fx, S_CMD, 0x70, 0x02, 0x03);
	irq_pulse(&fx, 8);
	irq_pulse(&fx, 9);
	assert_int_equal(intack(&fx), 0x70);
	assert_int_equal(read_isr(&fx, S_CMD), 0x00);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
	assert_int_equal(read_irr(&fx, M_CMD), 0x04); /* IR2 raised again */
	assert_false(intr(&fx));
	outb(&fx, M_CMD, OCW2_EOI);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x71);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_false(intr(&fx));

	/* Both chips AEOI: back to back, no EOI at all. */
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x08, 0x04, 0x03);
	chip_init(&fx, S_CMD, 0x70, 0x02, 0x03);
	irq_pulse(&fx, 15);
	irq_pulse(&fx, 12);
	irq_pulse(&fx, 5);
	assert_int_equal(intack(&fx), 0x74);
	assert_int_equal(intack(&fx), 0x77);
	assert_int_equal(intack(&fx), 0x0D);
	assert_false(intr(&fx));
	assert_int_equal(intack(&fx), 0x0F);
}

/* A slave level input: re-requested after both EOIs while still high. */
static void test_cascade_level_input(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	outb(&fx, VIRQ_PIC_ELCR2, 0x80); /* IRQ15 level */
	irq(&fx, 15, true);
	assert_int_equal(intack(&fx), 0x77);
	assert_int_equal(read_irr(&fx, S_CMD), 0x80);
	outb(&fx, S_CMD, OCW2_EOI);
	assert_false(intr(&fx));
	outb(&fx, M_CMD, OCW2_EOI);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x77);
	irq(&fx, 15, false);
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_false(intr(&fx));
}

/* ---- the INT output ---- */

/* Every change reported once, in order; no report without a change. */
static void test_intr_callback_sequence(void **state)
{
	static const bool log[] = {
		true,  false,       /* IRQ1 raised, acknowledged */
		true,  false,       /* IRQ3 after the EOI of IRQ1, acknowledged */
		true,  false, true, /* IRQ4 masked and unmasked */
		false,              /* acknowledged */
		true,  false,       /* IRQ8 through the cascade */
		true,  false,       /* level IRQ5 up and down before INTA */
	};
	struct pic_fixture fx;

	(void)state;
	setup(&fx);
	irq_edge(&fx, 1);
	irq_edge(&fx, 1); /* already high: no second report */
	assert_int_equal(fx.f.n_intr, 1);
	assert_int_equal(intack(&fx), 0x09);
	irq_edge(&fx, 3); /* blocked by IRQ1 in service */
	assert_int_equal(fx.f.n_intr, 2);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(intack(&fx), 0x0B);
	outb(&fx, M_CMD, OCW2_EOI);
	irq_edge(&fx, 4);
	outb(&fx, M_DATA, 0x10);
	outb(&fx, M_DATA, 0x10);
	outb(&fx, M_DATA, 0x00);
	assert_int_equal(intack(&fx), 0x0C);
	outb(&fx, M_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI); /* nothing in service: no change */
	irq_edge(&fx, 8);
	assert_int_equal(intack(&fx), 0x70);
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	outb(&fx, VIRQ_PIC_ELCR1, 0x20);
	irq(&fx, 5, true);
	irq(&fx, 5, false);
	assert_intr_log(&fx, log, sizeof(log) / sizeof(log[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inta_edge_effects),
		cmocka_unit_test(test_inta_level_effects),
		cmocka_unit_test(test_spurious_irq7_nothing_pending),
		cmocka_unit_test(test_spurious_irq7_masked_meanwhile),
		cmocka_unit_test(test_spurious_irq7_level_dropped),
		cmocka_unit_test(test_real_irq7_sets_isr),
		cmocka_unit_test(test_spurious_irq15_masked_on_slave),
		cmocka_unit_test(test_spurious_irq15_level_dropped),
		cmocka_unit_test(test_real_irq15_sets_isr),
		cmocka_unit_test(test_spurious_irq15_master_aeoi),
		cmocka_unit_test(test_aeoi),
		cmocka_unit_test(test_rotate_in_aeoi),
		cmocka_unit_test(test_cascade_basic),
		cmocka_unit_test(test_cascade_acknowledge_order),
		cmocka_unit_test(test_cascade_nesting_within_ir2),
		cmocka_unit_test(test_cascade_aeoi_slave_two_requests),
		cmocka_unit_test(test_cascade_level_input),
		cmocka_unit_test(test_intr_callback_sequence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
