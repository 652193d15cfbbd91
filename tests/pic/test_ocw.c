/* SPDX-License-Identifier: MIT */
/*
 * Operation command words: OCW1 (IMR), the whole OCW2 table (every R SL
 * EOI combination, with and without a level in bits 2:0), OCW3 read
 * selection, special mask mode set/clear, and the poll command on both
 * ports of both chips. Written from the 8259A datasheet (Operation Command
 * Words, Automatic Rotation, Specific Rotation, Special Mask Mode, Poll
 * Command).
 */
#include "harness.h"

static struct virq_pic_state saved(struct pic_fixture *fx)
{
	struct virq_pic_state st;

	save(fx, &st);
	return st;
}

/* ---- OCW1 ---- */

static void test_ocw1_every_value(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	for (unsigned v = 0; v < 256; v++) {
		outb(&fx, M_DATA, (uint8_t)v);
		outb(&fx, S_DATA, (uint8_t)~v);
		assert_int_equal(inb(&fx, M_DATA), v);
		assert_int_equal(inb(&fx, S_DATA), (uint8_t)~v);
		assert_int_equal(saved(&fx).chip[0].init_state, 0);
	}
}

/* IMR gates INT, not IRR; masking a raised request drops INT. */
static void test_ocw1_masks_requests(void **state)
{
	static const bool log[] = { true, false, true, false, true };
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	outb(&fx, M_DATA, 0x10);
	irq_edge(&fx, 4);
	assert_false(intr(&fx));
	assert_int_equal(read_irr(&fx, M_CMD), 0x10);
	outb(&fx, M_DATA, 0x00);
	assert_true(intr(&fx));
	outb(&fx, M_DATA, 0x10);
	assert_false(intr(&fx));
	assert_int_equal(read_irr(&fx, M_CMD), 0x10);
	/* A masked slave request: the slave's INT stays low. */
	outb(&fx, S_DATA, 0x02);
	irq_edge(&fx, 9);
	assert_false(intr(&fx));
	assert_int_equal(read_irr(&fx, S_CMD), 0x02);
	assert_int_equal(read_irr(&fx, M_CMD), 0x10);
	outb(&fx, S_DATA, 0x00);
	assert_true(intr(&fx));
	assert_int_equal(read_irr(&fx, M_CMD), 0x14);
	/* Master bit 2 masks the whole slave. */
	outb(&fx, M_DATA, 0x14);
	assert_false(intr(&fx));
	outb(&fx, M_DATA, 0x10);
	assert_intr_log(&fx, log, 5);
	assert_int_equal(intack(&fx), 0x71);
}

/* ---- OCW2: the full command table ---- */

/* bios_init, then IR5, IR3, IR1 in service on the master (ISR 0x2A). */
static void setup_isr_135(struct pic_fixture *fx)
{
	fixture_init(fx);
	bios_init(fx, 0x08, 0x70);
	irq_pulse(fx, 5);
	assert_int_equal(intack(fx), 0x0D);
	irq_pulse(fx, 3);
	assert_int_equal(intack(fx), 0x0B);
	irq_pulse(fx, 1);
	assert_int_equal(intack(fx), 0x09);
	assert_int_equal(read_isr(fx, M_CMD), 0x2A);
}

static void test_ocw2_table(void **state)
{
	static const struct {
		uint8_t pre, ocw2;
		uint8_t isr, prio_add;
		bool rotate_aeoi;
	} rows[] = {
		/* 001 non-specific EOI: the highest in-service level (1) */
		{ OCW2_NOP, 0x20, 0x28, 0, false },
		{ OCW2_NOP, 0x27, 0x28, 0, false }, /* L is ignored */
		/* 011 specific EOI: level L only */
		{ OCW2_NOP, 0x63, 0x22, 0, false },
		{ OCW2_NOP, 0x65, 0x0A, 0, false },
		{ OCW2_NOP, 0x61, 0x28, 0, false },
		{ OCW2_NOP, 0x64, 0x2A, 0, false }, /* L not in service */
		/* 101 rotate on non-specific EOI: 1 cleared, 1 lowest */
		{ OCW2_NOP, 0xA0, 0x28, 2, false },
		{ OCW2_NOP, 0xA6, 0x28, 2, false },
		/* 111 rotate on specific EOI: L cleared, L lowest */
		{ OCW2_NOP, 0xE5, 0x0A, 6, false },
		{ OCW2_NOP, 0xE3, 0x22, 4, false },
		{ OCW2_NOP, 0xE7, 0x2A, 0, false }, /* L not in service: rotation only */
		{ OCW2_NOP, 0xE4, 0x2A, 5, false },
		/* 100 set / 000 clear rotate in AEOI mode */
		{ OCW2_NOP, 0x80, 0x2A, 0, true },
		{ OCW2_NOP, 0x85, 0x2A, 0, true },
		{ 0x80, 0x00, 0x2A, 0, false },
		{ 0x80, 0x07, 0x2A, 0, false },
		{ OCW2_NOP, 0x00, 0x2A, 0, false },
		/* 110 set priority: L lowest, ISR untouched */
		{ OCW2_NOP, 0xC0, 0x2A, 1, false },
		{ OCW2_NOP, 0xC3, 0x2A, 4, false },
		{ OCW2_NOP, 0xC6, 0x2A, 7, false },
		{ OCW2_NOP, 0xC7, 0x2A, 0, false },
		/* 010 no operation */
		{ OCW2_NOP, 0x40, 0x2A, 0, false },
		{ OCW2_NOP, 0x47, 0x2A, 0, false },
		{ 0x80, 0x43, 0x2A, 0, true },
	};

	(void)state;
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct pic_fixture fx;
		struct virq_pic_state before, after;

		setup_isr_135(&fx);
		outb(&fx, M_CMD, rows[r].pre);
		before = saved(&fx);
		outb(&fx, M_CMD, rows[r].ocw2);
		after = saved(&fx);
		assert_int_equal(after.chip[0].isr, rows[r].isr);
		assert_int_equal(after.chip[0].prio_add, rows[r].prio_add);
		assert_int_equal(!!(after.chip[0].flags & VIRQ_PIC_F_ROTATE_AEOI),
				 rows[r].rotate_aeoi);
		/* Nothing else moved, the slave least of all. */
		before.chip[0].isr = after.chip[0].isr;
		before.chip[0].prio_add = after.chip[0].prio_add;
		before.chip[0].flags = after.chip[0].flags;
		assert_memory_equal(&before, &after, sizeof(before));
		/* The same command on the slave acts on the slave only. */
		before = saved(&fx);
		outb(&fx, S_CMD, rows[r].ocw2);
		after = saved(&fx);
		assert_memory_equal(&before.chip[0], &after.chip[0], sizeof(before.chip[0]));
	}
}

/* "Highest" follows the rotation; an empty ISR makes EOIs no-ops. */
static void test_nonspecific_eoi_under_rotation(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup_isr_135(&fx);
	outb(&fx, M_CMD, OCW2_SET_PRIO(3)); /* order 4 5 6 7 0 1 2 3 */
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x0A);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x08);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	outb(&fx, M_CMD, OCW2_ROTATE_EOI); /* nothing in service: no rotation */
	assert_int_equal(saved(&fx).chip[0].prio_add, 4);
}

/*
 * Non-specific EOI: outside special mask mode the IMR plays no part; in it,
 * in-service levels masked in IMR are skipped (8259A datasheet, End of
 * Interrupt). test_regressions.c pins the special-mask case in detail.
 */
static void test_nonspecific_eoi_and_special_mask(void **state)
{
	struct pic_fixture fx;

	(void)state;
	setup_isr_135(&fx);
	outb(&fx, M_DATA, 0x02);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x28); /* masked 1 cleared: no SMM */
	setup_isr_135(&fx);
	outb(&fx, M_DATA, 0x02);
	outb(&fx, M_CMD, OCW3_SET_SMM);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x22); /* 1 skipped, 3 cleared */
}

/* EOI re-enables a blocked lower-priority request: INT rises. */
static void test_eoi_releases_blocked_request(void **state)
{
	static const bool log[] = { true, false, true, false, true, false, true };
	struct pic_fixture fx;
	unsigned n;

	(void)state;
	setup_isr_135(&fx);
	n = fx.f.n_intr; /* 3 rises and 3 falls so far */
	assert_int_equal(n, 6);
	irq_edge(&fx, 4);
	assert_false(intr(&fx));    /* 3 in service blocks 4 */
	outb(&fx, M_CMD, OCW2_EOI); /* clears 1 */
	assert_false(intr(&fx));
	outb(&fx, M_CMD, OCW2_EOI); /* clears 3 */
	assert_true(intr(&fx));
	assert_intr_log(&fx, log, 7);
	assert_int_equal(intack(&fx), 0x0C);
}

/* ---- OCW3: read selection and special mask ---- */

static void test_ocw3_read_selection(void **state)
{
	static const struct {
		uint8_t ocw3; /* 0: no write */
		uint8_t master, slave;
	} steps[] = {
		{ 0x00, 0x40, 0x08 },                       /* after ICW1: IRR */
		{ 0x00, 0x40, 0x08 },                       /* persists */
		{ 0x0B, 0x20, 0x08 },                       /* RR=1 RIS=1: ISR */
		{ 0x00, 0x20, 0x08 }, { 0x08, 0x20, 0x08 }, /* RR=0: unchanged */
		{ 0x09, 0x20, 0x08 },                       /* RIS without RR: unchanged */
		{ 0x68, 0x20, 0x08 },                       /* ESMM/SMM leave the selection */
		{ 0x48, 0x20, 0x08 }, { 0x0A, 0x40, 0x08 }, /* RR=1 RIS=0: IRR */
		{ 0x09, 0x40, 0x08 }, { 0x6B, 0x20, 0x08 }, { 0x4A, 0x40, 0x08 },
	};
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	irq_pulse(&fx, 5);
	assert_int_equal(intack(&fx), 0x0D);
	irq_pulse(&fx, 6); /* pending, blocked by 5 */
	outb(&fx, S_DATA, 0x08);
	irq_pulse(&fx, 11); /* slave IRR only */
	outb(&fx, M_DATA, 0x81);
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].ocw3)
			outb(&fx, M_CMD, steps[i].ocw3);
		assert_int_equal(inb(&fx, M_CMD), steps[i].master);
		assert_int_equal(inb(&fx, M_DATA), 0x81); /* A0=1 is always the IMR */
		assert_int_equal(inb(&fx, S_CMD), steps[i].slave);
	}
	/* Per chip: the slave selects its ISR independently. */
	outb(&fx, S_CMD, OCW3_READ_ISR);
	assert_int_equal(inb(&fx, S_CMD), 0x00);
	assert_int_equal(inb(&fx, M_CMD), 0x40);
}

static void test_ocw3_special_mask_set_clear(void **state)
{
	static const struct {
		uint8_t ocw3;
		bool before, after;
	} rows[] = {
		{ 0x68, false, true },  { 0x68, true, true },   { 0x48, true, false },
		{ 0x48, false, false }, { 0x28, false, false }, { 0x28, true, true },
		{ 0x08, true, true },   { 0x6B, false, true },  { 0x4A, true, false },
		{ 0x6C, false, true },
	};

	(void)state;
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		for (unsigned chip = 0; chip < 2; chip++) {
			uint16_t cmd = chip ? S_CMD : M_CMD;
			struct pic_fixture fx;

			fixture_init(&fx);
			bios_init(&fx, 0x08, 0x70);
			if (rows[r].before)
				outb(&fx, cmd, OCW3_SET_SMM);
			outb(&fx, cmd, rows[r].ocw3);
			assert_int_equal(!!(saved(&fx).chip[chip].flags & VIRQ_PIC_F_SPECIAL_MASK),
					 rows[r].after);
			assert_int_equal(saved(&fx).chip[!chip].flags, VIRQ_PIC_F_IC4);
		}
	}
}

/* ---- poll ---- */

static void test_poll_nothing_pending(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	for (unsigned port = 0; port < 2; port++) {
		outb(&fx, M_CMD, OCW3_POLL);
		assert_true(saved(&fx).chip[0].flags & VIRQ_PIC_F_POLL);
		assert_int_equal(inb(&fx, (uint16_t)(M_CMD + port)), 0x00);
		assert_false(saved(&fx).chip[0].flags & VIRQ_PIC_F_POLL);
	}
	/* Masked or blocked requests are not "pending" for the poll. */
	outb(&fx, M_DATA, 0x08);
	irq_edge(&fx, 3);
	outb(&fx, M_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, M_CMD), 0x00);
	assert_int_equal(read_irr(&fx, M_CMD), 0x08);
	outb(&fx, M_DATA, 0x00);
	assert_int_equal(intack(&fx), 0x0B);
	irq_edge(&fx, 6);
	outb(&fx, M_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, M_DATA), 0x00);
	assert_int_equal(read_isr(&fx, M_CMD), 0x08);
}

/* The poll byte is 0x80 | level; the read acknowledges like an INTA. */
static void test_poll_acknowledges(void **state)
{
	static const bool log[] = { true, false };
	struct pic_fixture fx;

	(void)state;
	for (unsigned port = 0; port < 2; port++) {
		fixture_init(&fx);
		bios_init(&fx, 0x08, 0x70);
		irq_edge(&fx, 3);
		irq_edge(&fx, 6);
		outb(&fx, M_CMD, OCW3_POLL);
		assert_int_equal(inb(&fx, (uint16_t)(M_CMD + port)), 0x83);
		assert_intr_log(&fx, log, 2);
		assert_int_equal(read_isr(&fx, M_CMD), 0x08);
		assert_int_equal(read_irr(&fx, M_CMD), 0x40);
		/* One read per poll command: then the registers again. */
		assert_int_equal(inb(&fx, M_CMD), 0x40);
		assert_int_equal(inb(&fx, M_DATA), 0x00);
		/* IR4 beats the in-service IR3? No: lower priority waits. */
		outb(&fx, M_CMD, OCW3_POLL);
		assert_int_equal(inb(&fx, M_CMD), 0x00);
		irq_edge(&fx, 0);
		outb(&fx, M_CMD, OCW3_POLL);
		assert_int_equal(inb(&fx, (uint16_t)(M_CMD + port)), 0x80);
		assert_int_equal(read_isr(&fx, M_CMD), 0x09);
		outb(&fx, M_CMD, OCW2_EOI);
		outb(&fx, M_CMD, OCW2_EOI);
		outb(&fx, M_CMD, OCW3_POLL);
		assert_int_equal(inb(&fx, M_CMD), 0x86);
		assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	}
}

/* Poll with RR in the same OCW3: the poll byte first, then the selection. */
static void test_poll_with_read_select(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	irq_edge(&fx, 5);
	outb(&fx, M_CMD, 0x0F); /* P, RR, RIS */
	assert_int_equal(inb(&fx, M_CMD), 0x85);
	assert_int_equal(inb(&fx, M_CMD), 0x20); /* ISR */
	/* The ELCR ports neither see nor consume a pending poll. */
	irq_edge(&fx, 1);
	outb(&fx, M_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0x00);
	assert_int_equal(inb(&fx, S_CMD), 0x00);
	assert_int_equal(inb(&fx, M_DATA), 0x81);
}

/* Poll with AEOI: nothing enters service; rotate-in-AEOI rotates. */
static void test_poll_aeoi(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x08, 0x04, 0x03);
	irq_edge(&fx, 3);
	irq_edge(&fx, 5);
	outb(&fx, M_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, M_CMD), 0x83);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	assert_int_equal(saved(&fx).chip[0].prio_add, 0);
	outb(&fx, M_CMD, OCW2_SET_ROTATE_AEOI);
	outb(&fx, M_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, M_DATA), 0x85);
	assert_int_equal(saved(&fx).chip[0].prio_add, 6);
	assert_false(intr(&fx));
}

/* Poll of a level input: in service, the request stays while the line is high. */
static void test_poll_level_input(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	outb(&fx, VIRQ_PIC_ELCR2, 0x08); /* IRQ11 level */
	irq(&fx, 11, true);
	outb(&fx, S_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, S_DATA), 0x83);
	assert_int_equal(read_irr(&fx, S_CMD), 0x08);
	assert_int_equal(read_isr(&fx, S_CMD), 0x08);
}

/*
 * Poll mode on the cascade (INT not used): the master's poll answers
 * level 2 and acknowledges the master only; software then polls the
 * slave for the IRQ.
 */
static void test_poll_cascade(void **state)
{
	static const bool log[] = { true, false };
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	irq_edge(&fx, 10);
	irq_edge(&fx, 13);
	outb(&fx, M_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, M_CMD), 0x82);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
	assert_int_equal(read_isr(&fx, S_CMD), 0x00); /* not acknowledged yet */
	assert_int_equal(read_irr(&fx, S_CMD), 0x24);
	outb(&fx, S_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, S_CMD), 0x82);
	assert_int_equal(read_isr(&fx, S_CMD), 0x04);
	assert_int_equal(read_irr(&fx, S_CMD), 0x20);
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	assert_intr_log(&fx, log, 2);
	outb(&fx, S_CMD, OCW2_EOI); /* IRQ13 is next: the slave's INT rises again */
	assert_false(intr(&fx));    /* but the master still has IR2 in service */
	outb(&fx, M_CMD, OCW2_EOI);
	assert_true(intr(&fx));
	outb(&fx, M_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, M_DATA), 0x82);
	outb(&fx, S_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, S_DATA), 0x85);
	/* Polling the slave alone leaves the master's IR2 request latched. */
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	irq_edge(&fx, 9);
	outb(&fx, S_CMD, OCW3_POLL);
	assert_int_equal(inb(&fx, S_CMD), 0x81);
	assert_int_equal(read_irr(&fx, M_CMD), 0x04);
	assert_true(intr(&fx));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ocw1_every_value),
		cmocka_unit_test(test_ocw1_masks_requests),
		cmocka_unit_test(test_ocw2_table),
		cmocka_unit_test(test_nonspecific_eoi_under_rotation),
		cmocka_unit_test(test_nonspecific_eoi_and_special_mask),
		cmocka_unit_test(test_eoi_releases_blocked_request),
		cmocka_unit_test(test_ocw3_read_selection),
		cmocka_unit_test(test_ocw3_special_mask_set_clear),
		cmocka_unit_test(test_poll_nothing_pending),
		cmocka_unit_test(test_poll_acknowledges),
		cmocka_unit_test(test_poll_with_read_select),
		cmocka_unit_test(test_poll_aeoi),
		cmocka_unit_test(test_poll_level_input),
		cmocka_unit_test(test_poll_cascade),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
