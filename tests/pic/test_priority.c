/* SPDX-License-Identifier: MIT */
/*
 * Priority resolution: the fully nested order, every set-priority value,
 * blocking by in-service levels under every rotation, automatic rotation
 * (rotate on non-specific and specific EOI), special mask mode, special
 * fully nested mode on the master, and the priority function itself
 * checked exhaustively. Written from the 8259A datasheet (Fully Nested
 * Mode, Automatic Rotation, Specific Rotation, Special Mask Mode, Special
 * Fully Nested Mode).
 */
#include "harness.h"

/* The master inputs that can carry their own requests (2 is the cascade). */
static const unsigned master_irqs[] = { 0, 1, 3, 4, 5, 6, 7 };
#define N_MASTER_IRQS (sizeof(master_irqs) / sizeof(master_irqs[0]))

static void raise_all_master(struct pic_fixture *fx)
{
	for (unsigned i = 0; i < N_MASTER_IRQS; i++)
		irq_pulse(fx, master_irqs[i]);
}

/* ---- the priority function ---- */

/* prio(mask) = min over set bits n of (n - prio_add) & 7 (QEMU's and KVM's
 * priority_add encoding of the rotation). */
static void test_prio_function_exhaustive(void **state)
{
	struct virq_pic_chip c;

	(void)state;
	memset(&c, 0, sizeof(c));
	for (unsigned add = 0; add < 8; add++) {
		c.prio_add = (uint8_t)add;
		assert_int_equal(pic_prio(&c, 0), PIC_PRIO_NONE);
		for (unsigned mask = 1; mask < 256; mask++) {
			unsigned best = 8;

			for (unsigned n = 0; n < 8; n++)
				if ((mask >> n) & 1U && ((n - add) & 7U) < best)
					best = (n - add) & 7U;
			assert_int_equal(pic_prio(&c, (uint8_t)mask), best);
			assert_int_equal(pic_prio_level(&c, best), (best + add) & 7U);
		}
	}
}

/*
 * get_irq over every IRR x ISR with IMR 0 and no rotation: the lowest
 * requesting level when it is strictly below the lowest in-service level.
 */
static void test_get_irq_exhaustive(void **state)
{
	struct virq_pic_chip c;

	(void)state;
	memset(&c, 0, sizeof(c));
	for (unsigned irr = 0; irr < 256; irr++) {
		for (unsigned isr = 0; isr < 256; isr++) {
			int req = irr ? __builtin_ctz(irr) : 8;
			int ins = isr ? __builtin_ctz(isr) : 8;

			c.irr = (uint8_t)irr;
			c.isr = (uint8_t)isr;
			assert_int_equal(pic_chip_get_irq(&c, false), req < ins ? req : PIC_NO_IRQ);
		}
	}
}

/* ---- fixed orders ---- */

/* Acknowledge everything pending, one at a time with a specific EOI. */
static void expect_order(struct pic_fixture *fx, const unsigned *levels, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		assert_true(intr(fx));
		assert_int_equal(intack(fx), 0x20 + levels[i]);
		outb(fx, M_CMD, (uint8_t)OCW2_SEOI(levels[i]));
	}
	assert_false(intr(fx));
}

static void test_fully_nested_order(void **state)
{
	static const unsigned order[] = { 0, 1, 3, 4, 5, 6, 7 };
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x20, 0x28);
	raise_all_master(&fx);
	assert_int_equal(read_irr(&fx, M_CMD), 0xFB);
	expect_order(&fx, order, 7);
}

/* OCW2 110 with every L: L + 1 highest ... L lowest. */
static void test_set_priority_every_value(void **state)
{
	(void)state;
	for (unsigned l = 0; l < 8; l++) {
		struct pic_fixture fx;
		unsigned order[7], n = 0;

		for (unsigned p = 1; p <= 8; p++) {
			unsigned level = (l + p) & 7U;

			if (level != 2)
				order[n++] = level;
		}
		fixture_init(&fx);
		bios_init(&fx, 0x20, 0x28);
		outb(&fx, M_CMD, (uint8_t)OCW2_SET_PRIO(l));
		assert_int_equal(read_isr(&fx, M_CMD), 0);
		raise_all_master(&fx);
		expect_order(&fx, order, 7);
		/* The slave's IRQs sit at IR2's place in that order. */
		raise_all_master(&fx);
		irq_pulse(&fx, 12);
		n = 0;
		for (unsigned p = 1; p <= 8; p++) {
			unsigned level = (l + p) & 7U;

			assert_true(intr(&fx));
			if (level == 2) {
				assert_int_equal(intack(&fx), 0x2C);
				outb(&fx, S_CMD, OCW2_EOI);
			} else {
				assert_int_equal(intack(&fx), 0x20 + level);
			}
			outb(&fx, M_CMD, (uint8_t)OCW2_SEOI(level));
		}
		assert_false(intr(&fx));
	}
}

/*
 * For every rotation, every in-service level L and every request M (both
 * master inputs other than 2): INT is raised exactly when M has higher
 * priority than L, and then INTA delivers M.
 */
static void test_in_service_blocks_equal_and_lower(void **state)
{
	(void)state;
	for (unsigned add = 0; add < 8; add++) {
		for (unsigned i = 0; i < N_MASTER_IRQS; i++) {
			for (unsigned j = 0; j < N_MASTER_IRQS; j++) {
				unsigned l = master_irqs[i], m = master_irqs[j];
				bool higher = ((m - add) & 7U) < ((l - add) & 7U);
				struct pic_fixture fx;

				fixture_init(&fx);
				bios_init(&fx, 0x08, 0x70);
				outb(&fx, M_CMD, (uint8_t)OCW2_SET_PRIO((add + 7U) & 7U));
				irq_pulse(&fx, l);
				assert_int_equal(intack(&fx), 0x08 + l);
				irq_pulse(&fx, m);
				assert_int_equal(intr(&fx), higher);
				if (higher) {
					assert_int_equal(intack(&fx), 0x08 + m);
					assert_int_equal(read_isr(&fx, M_CMD),
							 (1U << l) | (1U << m));
				} else {
					/* a spurious IRQ7 if the CPU acks anyway */
					assert_int_equal(intack(&fx), 0x0F);
					assert_int_equal(read_isr(&fx, M_CMD), 1U << l);
					outb(&fx, M_CMD, (uint8_t)OCW2_SEOI(l));
					assert_true(intr(&fx));
					assert_int_equal(intack(&fx), 0x08 + m);
				}
			}
		}
	}
}

/* A higher request interrupts a lower one in service: nesting, then unwinding. */
static void test_nesting_three_deep(void **state)
{
	static const bool log[] = { true, false, true, false, true, false };
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	irq_pulse(&fx, 6);
	assert_int_equal(intack(&fx), 0x0E);
	irq_pulse(&fx, 7); /* lower: waits */
	irq_pulse(&fx, 4);
	assert_int_equal(intack(&fx), 0x0C);
	irq_pulse(&fx, 1);
	assert_int_equal(intack(&fx), 0x09);
	assert_int_equal(read_isr(&fx, M_CMD), 0x52);
	assert_intr_log(&fx, log, 6);
	outb(&fx, M_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x40);
	assert_false(intr(&fx));
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(intack(&fx), 0x0F); /* the real IR7 this time */
	assert_int_equal(read_isr(&fx, M_CMD), 0x80);
}

/* ---- automatic rotation ---- */

/* Rotate on non-specific EOI: equal-priority devices take turns. */
static void test_rotate_on_nonspecific_eoi_round_robin(void **state)
{
	static const unsigned turns[] = { 3, 4, 5, 3, 4, 5, 3 };
	struct pic_fixture fx, plain;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	irq_pulse(&fx, 3);
	irq_pulse(&fx, 4);
	irq_pulse(&fx, 5);
	for (unsigned i = 0; i < sizeof(turns) / sizeof(turns[0]); i++) {
		struct virq_pic_state st;

		assert_int_equal(intack(&fx), 0x08 + turns[i]);
		outb(&fx, M_CMD, OCW2_ROTATE_EOI);
		save(&fx, &st);
		assert_int_equal(st.chip[0].prio_add, (turns[i] + 1) & 7U);
		irq_pulse(&fx, turns[i]); /* the device asks again */
	}
	/* Without rotation the highest keeps winning. */
	fixture_init(&plain);
	bios_init(&plain, 0x08, 0x70);
	irq_pulse(&plain, 3);
	irq_pulse(&plain, 4);
	irq_pulse(&plain, 5);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(intack(&plain), 0x0B);
		outb(&plain, M_CMD, OCW2_EOI);
		irq_pulse(&plain, 3);
	}
}

/* Rotate on specific EOI: L is cleared and becomes the lowest. */
static void test_rotate_on_specific_eoi(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	irq_pulse(&fx, 1);
	assert_int_equal(intack(&fx), 0x09);
	outb(&fx, M_CMD, (uint8_t)OCW2_ROTATE_SEOI(1)); /* order 2 3 4 5 6 7 0 1 */
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	irq_pulse(&fx, 0);
	irq_pulse(&fx, 1);
	irq_pulse(&fx, 7);
	assert_int_equal(intack(&fx), 0x0F);
	assert_int_equal(read_isr(&fx, M_CMD), 0x80);
	/* 7 in service blocks 0 and 1 (lower now). */
	assert_false(intr(&fx));
	outb(&fx, M_CMD, (uint8_t)OCW2_ROTATE_SEOI(7)); /* order 0 1 ... 7 */
	assert_int_equal(intack(&fx), 0x08);
}

/* ---- special mask mode ---- */

static void test_special_mask_mode(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	irq_pulse(&fx, 3);
	assert_int_equal(intack(&fx), 0x0B);
	irq_pulse(&fx, 5);
	assert_false(intr(&fx)); /* fully nested: 3 blocks 5 */
	outb(&fx, M_DATA, 0x08); /* the handler masks its own level */
	assert_false(intr(&fx)); /* ... which alone changes nothing */
	outb(&fx, M_CMD, OCW3_SET_SMM);
	assert_true(intr(&fx)); /* masked in-service levels no longer count */
	assert_int_equal(intack(&fx), 0x0D);
	assert_int_equal(read_isr(&fx, M_CMD), 0x28);
	/* Unmasked in-service levels still block equal and lower ones. */
	irq_pulse(&fx, 6);
	assert_false(intr(&fx));
	irq_pulse(&fx, 4); /* higher than 5 */
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x0C);
	/* The masked level itself cannot be requested. */
	irq_pulse(&fx, 3);
	assert_false(intr(&fx));
	/* Leaving SMM: 3 blocks its own level and everything below again. */
	outb(&fx, M_CMD, (uint8_t)OCW2_SEOI(4));
	outb(&fx, M_CMD, (uint8_t)OCW2_SEOI(5));
	outb(&fx, M_CMD, OCW3_CLEAR_SMM);
	outb(&fx, M_DATA, 0x00);
	assert_int_equal(read_irr(&fx, M_CMD), 0x48);
	assert_false(intr(&fx));
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(intack(&fx), 0x0B);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(intack(&fx), 0x0E);
	assert_int_equal(read_isr(&fx, M_CMD), 0x40);
}

/* SMM in the slave applies to the slave's own ISR only. */
static void test_special_mask_mode_slave(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x08, 0x04, 0x11); /* SFNM: slave requests can nest */
	chip_init(&fx, S_CMD, 0x70, 0x02, 0x01);
	irq_pulse(&fx, 9);
	assert_int_equal(intack(&fx), 0x71);
	irq_pulse(&fx, 12);
	assert_false(intr(&fx));
	outb(&fx, S_DATA, 0x02);
	outb(&fx, S_CMD, OCW3_SET_SMM);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x74);
	assert_int_equal(read_isr(&fx, S_CMD), 0x12);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
}

/* ---- special fully nested mode ---- */

static void sfnm_setup(struct pic_fixture *fx, uint8_t master_icw4)
{
	fixture_init(fx);
	chip_init(fx, M_CMD, 0x08, 0x04, master_icw4);
	chip_init(fx, S_CMD, 0x70, 0x02, 0x01);
	irq_pulse(fx, 12);
	assert_int_equal(intack(fx), 0x74);
	assert_int_equal(read_isr(fx, M_CMD), 0x04);
	assert_int_equal(read_isr(fx, S_CMD), 0x10);
}

static void test_sfnm_lets_higher_slave_irq_nest(void **state)
{
	struct pic_fixture fx;

	(void)state;
	sfnm_setup(&fx, 0x11);
	irq_pulse(&fx, 9); /* higher than 12 on the slave */
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x71);
	assert_int_equal(read_isr(&fx, S_CMD), 0x12);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
	/* A lower slave request does not pass the slave's own ISR. */
	irq_pulse(&fx, 14);
	assert_false(intr(&fx));
	/*
	 * 8259A datasheet: SFNM lets the slave's requests through while IR2
	 * is in service, nothing else: a lower master level stays blocked.
	 * (QEMU's model drops ISR bit 2 for every input.)
	 */
	irq_pulse(&fx, 5);
	assert_false(intr(&fx));
	/* The handler checks the slave ISR before the master EOI. */
	outb(&fx, S_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, S_CMD), 0x10);
	assert_false(intr(&fx)); /* 14 is below 12, 5 below IR2 */
	outb(&fx, S_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, S_CMD), 0x00);
	/* The slave presents IRQ14 now; SFNM passes it over IR2 in service. */
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x76);
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	/* IR2 retired: the master level 5 gets its turn. */
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x0D);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_false(intr(&fx));
}

static void test_fully_nested_blocks_slave_behind_ir2(void **state)
{
	struct pic_fixture fx;

	(void)state;
	sfnm_setup(&fx, 0x01);
	irq_pulse(&fx, 9);
	assert_false(intr(&fx)); /* IR2 in service blocks IR2 */
	assert_int_equal(read_irr(&fx, M_CMD), 0x04);
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_int_equal(intack(&fx), 0x71);
}

/* SFNM on the slave is stored but changes nothing (it is a master mode). */
static void test_sfnm_on_slave_has_no_effect(void **state)
{
	struct pic_fixture fx;
	struct virq_pic_state st;

	(void)state;
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x08, 0x04, 0x01);
	chip_init(&fx, S_CMD, 0x70, 0x02, 0x11);
	save(&fx, &st);
	assert_int_equal(st.chip[1].flags, VIRQ_PIC_F_IC4 | VIRQ_PIC_F_SFNM);
	irq_pulse(&fx, 10);
	assert_int_equal(intack(&fx), 0x72);
	irq_pulse(&fx, 11);
	irq_pulse(&fx, 10);
	assert_int_equal(read_irr(&fx, S_CMD), 0x0C);
	outb(&fx, M_CMD, OCW2_EOI);
	/* The slave's own ISR bit 2 still blocks its IR2 and IR3. */
	assert_false(intr(&fx));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prio_function_exhaustive),
		cmocka_unit_test(test_get_irq_exhaustive),
		cmocka_unit_test(test_fully_nested_order),
		cmocka_unit_test(test_set_priority_every_value),
		cmocka_unit_test(test_in_service_blocks_equal_and_lower),
		cmocka_unit_test(test_nesting_three_deep),
		cmocka_unit_test(test_rotate_on_nonspecific_eoi_round_robin),
		cmocka_unit_test(test_rotate_on_specific_eoi),
		cmocka_unit_test(test_special_mask_mode),
		cmocka_unit_test(test_special_mask_mode_slave),
		cmocka_unit_test(test_sfnm_lets_higher_slave_irq_nest),
		cmocka_unit_test(test_fully_nested_blocks_slave_behind_ir2),
		cmocka_unit_test(test_sfnm_on_slave_has_no_effect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
