/* SPDX-License-Identifier: MIT */
/*
 * Life cycle and initialisation: virq_pic_init() arguments, the power-up
 * state, OCW1 before any ICW1, the ICW1 -> ICW2 -> (ICW3) -> (ICW4) state
 * machine with SNGL/IC4, ICW2 base masking, standard BIOS and Linux
 * sequences followed by delivery, every ICW1 side effect, LTIM, machine
 * reset, port decoding and the IRQ range. Written from pic.h, the 8259A
 * datasheet (Initialization Command Words, Edge and Level Triggered Modes)
 * and QEMU's i8259 where the datasheet is silent.
 */
#include "harness.h"

/* ---- init arguments ---- */

static void test_init_rejects_bad_arguments(void **state)
{
	static const struct virq_pic_ops no_intr = { .size = sizeof(struct virq_pic_ops),
						     .guest_error = fake_guest_error };
	static const struct virq_pic_ops only_intr = { .size = sizeof(struct virq_pic_ops),
						       .intr = fake_intr };
	struct virq_pic pic, before;
	struct fake_env f;

	(void)state;
	memset(&f, 0, sizeof(f));
	memset(&pic, 0x3C, sizeof(pic));
	before = pic;
	assert_int_equal(virq_pic_init(NULL, &fake_ops, &f), -VIRQ_EINVAL);
	assert_int_equal(virq_pic_init(&pic, NULL, &f), -VIRQ_EINVAL);
	assert_int_equal(virq_pic_init(&pic, &no_intr, &f), -VIRQ_EINVAL);
	assert_memory_equal(&pic, &before, sizeof(pic));
	/* guest_error is optional, ctx may be NULL */
	assert_int_equal(virq_pic_init(&pic, &only_intr, &f), 0);
	assert_int_equal(pic_check_invariants(&pic), 0);
	assert_int_equal(virq_pic_io_write(&pic, M_CMD, 0x12), 0); /* SNGL: reported to nobody */
	assert_int_equal(f.n_intr, 0);
}

/*
 * ops->size (doc/abi.md, "Growing ops and config structures"): 0,
 * sizeof - 1 and sizeof + 1 are refused with -VIRQ_EVERSION, nothing
 * written; sizeof, today also the first published size, is accepted.
 */
static void test_init_size_checked(void **state)
{
	union {
		struct virq_pic_ops o;
		unsigned char room[sizeof(struct virq_pic_ops) + 1];
	} ops;
	static const struct virq_pic_ops unsized = { .intr = fake_intr };
	const uint32_t bad[3] = { 0, sizeof(struct virq_pic_ops) - 1,
				  sizeof(struct virq_pic_ops) + 1 };
	struct virq_pic pic, before;
	struct fake_env f;

	(void)state;
	assert_int_equal(VIRQ_PIC_OPS_SIZE_MIN, sizeof(struct virq_pic_ops));
	memset(&f, 0, sizeof(f));
	memset(&pic, 0x3C, sizeof(pic));
	before = pic;
	for (unsigned i = 0; i < 3; i++) {
		memset(&ops, 0, sizeof(ops));
		ops.o = fake_ops;
		ops.o.size = bad[i];
		assert_int_equal(virq_pic_init(&pic, &ops.o, &f), -VIRQ_EVERSION);
		assert_memory_equal(&pic, &before, sizeof(pic));
	}
	assert_int_equal(virq_pic_init(&pic, &unsized, &f), -VIRQ_EVERSION);
	ops.o = fake_ops;
	ops.o.reserved = 1;
	assert_int_equal(virq_pic_init(&pic, &ops.o, &f), -VIRQ_EINVAL);
	assert_memory_equal(&pic, &before, sizeof(pic));
	ops.o = fake_ops;
	assert_int_equal(virq_pic_init(&pic, &ops.o, &f), 0);
	assert_int_equal(pic_check_invariants(&pic), 0);
}

/* Power-up state is undefined; QEMU and KVM start all-zero; INT low, not reported. */
static void test_power_up_state(void **state)
{
	struct pic_fixture fx;
	struct virq_pic_state st;

	(void)state;
	fixture_init(&fx);
	assert_false(intr(&fx));
	assert_int_equal(fx.f.n_intr, 0);
	assert_int_equal(inb(&fx, M_CMD), 0x00);  /* IRR */
	assert_int_equal(inb(&fx, M_DATA), 0x00); /* IMR */
	assert_int_equal(inb(&fx, S_CMD), 0x00);
	assert_int_equal(inb(&fx, S_DATA), 0x00);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	assert_int_equal(read_isr(&fx, S_CMD), 0x00);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0x00);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR2), 0x00);

	save(&fx, &st);
	assert_int_equal(st.version, VIRQ_PIC_STATE_VERSION);
	assert_int_equal(st.size, sizeof(st));
	for (unsigned i = 0; i < 2; i++) {
		const struct virq_pic_chip_state *c = &st.chip[i];

		assert_int_equal(c->irr | c->imr | c->isr | c->last_irr | c->elcr, 0);
		assert_int_equal(c->prio_add | c->base | c->init_state | c->icw3, 0);
		assert_int_equal(c->flags, 0);
		assert_int_equal(c->line, 0);
	}
	assert_int_equal(st.intr, 0);
	assert_int_equal(st.reserved, 0);

	/* No request: the spurious vector of vector base 0. */
	assert_int_equal(intack(&fx), 0x07);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
}

/* Before any ICW1 the chips deliver with vector base 0 (QEMU). */
static void test_power_up_delivers_with_base_zero(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	irq_edge(&fx, 1);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x01);
	outb(&fx, M_CMD, OCW2_EOI);
	irq_edge(&fx, 9);
	assert_int_equal(intack(&fx), 0x01); /* slave base 0 + 1 */
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
	assert_int_equal(read_isr(&fx, S_CMD), 0x02);
}

/* OCW1 is accepted before the first ICW1 (VMMs and firmware mask early). */
static void test_ocw1_before_icw1(void **state)
{
	struct pic_fixture fx;
	struct virq_pic_state st;

	(void)state;
	fixture_init(&fx);
	outb(&fx, M_DATA, 0xFD);
	outb(&fx, S_DATA, 0xFF);
	assert_int_equal(inb(&fx, M_DATA), 0xFD);
	assert_int_equal(inb(&fx, S_DATA), 0xFF);
	save(&fx, &st);
	assert_int_equal(st.chip[0].init_state, VIRQ_PIC_INIT_READY);
	assert_int_equal(st.chip[0].base, 0);

	irq_edge(&fx, 0);
	irq_edge(&fx, 8);
	assert_false(intr(&fx)); /* masked */
	assert_int_equal(inb(&fx, M_CMD), 0x01);
	assert_int_equal(inb(&fx, S_CMD), 0x01);
	irq_edge(&fx, 1);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x01);

	/* ICW1 clears the IMR afterwards; the BIOS masks again with OCW1. */
	outb(&fx, M_CMD, 0x11);
	assert_int_equal(inb(&fx, M_DATA), 0x00);
	assert_int_equal(fx.f.n_gerr, 0);
}

/* ---- the init sequence ---- */

static uint8_t init_state(struct pic_fixture *fx, unsigned chip)
{
	struct virq_pic_state st;

	save(fx, &st);
	return st.chip[chip].init_state;
}

static uint16_t chip_flags(struct pic_fixture *fx, unsigned chip)
{
	struct virq_pic_state st;

	save(fx, &st);
	return st.chip[chip].flags;
}

static uint8_t chip_base(struct pic_fixture *fx, unsigned chip)
{
	struct virq_pic_state st;

	save(fx, &st);
	return st.chip[chip].base;
}

/* 8259A datasheet, Initialization Command Words (init states as QEMU and KVM
 * number them): 1 -> ICW2; 2 -> ICW3 if !SNGL; 3 -> ICW4 if IC4; 0 -> ready. */
static void test_init_state_machine_table(void **state)
{
	static const struct {
		uint8_t icw1;
		uint8_t states[4]; /* after ICW1, then after each A0=1 write */
		unsigned writes;   /* A0=1 writes that are ICWs */
		unsigned gerr;     /* VIRQ_GERR_PIC_MODE reports */
	} rows[] = {
		{ 0x11, { 1, 2, 3, 0 }, 3, 0 }, /* cascaded, ICW4 */
		{ 0x10, { 1, 2, 0, 0 }, 2, 1 }, /* cascaded, no ICW4: MCS-80 */
		{ 0x13, { 1, 3, 0, 0 }, 2, 1 }, /* single, ICW4 */
		{ 0x12, { 1, 0, 0, 0 }, 1, 1 }, /* single, no ICW4 */
		{ 0x19, { 1, 2, 3, 0 }, 3, 0 }, /* LTIM is modelled, not reported */
		{ 0x1D, { 1, 2, 3, 0 }, 3, 0 }, /* ADI ignored */
		{ 0xF1, { 1, 2, 3, 0 }, 3, 0 }, /* A7-A5 ignored */
	};

	(void)state;
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		for (unsigned chip = 0; chip < 2; chip++) {
			uint16_t cmd = chip ? S_CMD : M_CMD;
			uint8_t icw3 = (uint8_t)(chip ? 0x02 : 0x04);
			struct pic_fixture fx;

			fixture_init(&fx);
			outb(&fx, cmd, rows[r].icw1);
			assert_int_equal(init_state(&fx, chip), rows[r].states[0]);
			for (unsigned w = 0; w < rows[r].writes; w++) {
				uint8_t expect = rows[r].states[w];

				outb(&fx, (uint16_t)(cmd + 1),
				     expect == 1   ? 0x48
				     : expect == 2 ? icw3
						   : 0x01);
				assert_int_equal(init_state(&fx, chip), rows[r].states[w + 1]);
			}
			assert_int_equal(chip_base(&fx, chip), 0x48);
			/* The next A0=1 write is OCW1. */
			outb(&fx, (uint16_t)(cmd + 1), 0x5A);
			assert_int_equal(inb(&fx, (uint16_t)(cmd + 1)), 0x5A);
			assert_int_equal(init_state(&fx, chip), 0);
			assert_int_equal(fx.f.gerr[VIRQ_GERR_PIC_MODE], rows[r].gerr);
			assert_int_equal(fx.f.n_gerr, rows[r].gerr);
			/* The other chip is untouched. */
			assert_int_equal(init_state(&fx, !chip), 0);
			assert_int_equal(chip_base(&fx, !chip), 0);
		}
	}
}

static void test_icw1_flags_recorded(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	outb(&fx, M_CMD, 0x11);
	assert_int_equal(chip_flags(&fx, 0), VIRQ_PIC_F_IC4);
	outb(&fx, M_CMD, 0x13);
	assert_int_equal(chip_flags(&fx, 0), VIRQ_PIC_F_IC4 | VIRQ_PIC_F_SNGL);
	outb(&fx, M_CMD, 0x18);
	assert_int_equal(chip_flags(&fx, 0), VIRQ_PIC_F_LTIM);
	outb(&fx, S_CMD, 0x1B);
	assert_int_equal(chip_flags(&fx, 1), VIRQ_PIC_F_IC4 | VIRQ_PIC_F_SNGL | VIRQ_PIC_F_LTIM);
}

/* ICW4: uPM (bit 0) must be 1, AEOI bit 1, SFNM bit 4; BUF and M/S ignored. */
static void test_icw4_table(void **state)
{
	static const struct {
		uint8_t icw4;
		uint16_t flags; /* besides IC4 */
		unsigned gerr;
	} rows[] = {
		{ 0x01, 0, 0 },
		{ 0x03, VIRQ_PIC_F_AEOI, 0 },
		{ 0x11, VIRQ_PIC_F_SFNM, 0 },
		{ 0x13, VIRQ_PIC_F_AEOI | VIRQ_PIC_F_SFNM, 0 },
		{ 0x0D, 0, 0 }, /* buffered master */
		{ 0x09, 0, 0 }, /* buffered slave */
		{ 0x00, 0, 1 }, /* MCS-80/85 mode */
		{ 0x02, VIRQ_PIC_F_AEOI, 1 },
		{ 0xE1, 0, 0 }, /* bits 7:5 ignored */
	};

	(void)state;
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct pic_fixture fx;

		fixture_init(&fx);
		chip_init(&fx, M_CMD, 0x08, 0x04, rows[r].icw4);
		assert_int_equal(chip_flags(&fx, 0), VIRQ_PIC_F_IC4 | rows[r].flags);
		assert_int_equal(init_state(&fx, 0), 0);
		assert_int_equal(fx.f.gerr[VIRQ_GERR_PIC_MODE], rows[r].gerr);
	}
}

/* ICW3 other than the PC/AT wiring is reported; the wiring stays. */
static void test_icw3_wiring_reported(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	assert_int_equal(fx.f.n_gerr, 0);

	chip_init(&fx, M_CMD, 0x08, 0x08, 0x01); /* slave on IR3 */
	assert_int_equal(fx.f.gerr[VIRQ_GERR_PIC_MODE], 1);
	chip_init(&fx, S_CMD, 0x70, 0x03, 0x01); /* slave ID 3 */
	assert_int_equal(fx.f.gerr[VIRQ_GERR_PIC_MODE], 2);
	/* Still cascaded on IR2. */
	irq_edge(&fx, 9);
	assert_int_equal(intack(&fx), 0x71);
	assert_int_equal(read_isr(&fx, M_CMD), 0x04);
}

/* QEMU and KVM store ICW2 & 0xF8 (T7-T3 in 8086 mode). */
static void test_icw2_base_masked(void **state)
{
	static const uint8_t icw2[] = { 0x00, 0x07, 0x08, 0x0F, 0x20, 0x2F, 0x70, 0x77, 0xF8, 0xFF };

	(void)state;
	for (unsigned i = 0; i < sizeof(icw2); i++) {
		struct pic_fixture fx;
		uint8_t base = (uint8_t)(icw2[i] & 0xF8U);

		fixture_init(&fx);
		bios_init(&fx, icw2[i], icw2[i]);
		assert_int_equal(chip_base(&fx, 0), base);
		assert_int_equal(chip_base(&fx, 1), base);
		irq_edge(&fx, 7);
		assert_int_equal(intack(&fx), base + 7);
		assert_int_equal(read_isr(&fx, M_CMD), 0x80);
		outb(&fx, M_CMD, OCW2_EOI);
		irq_edge(&fx, 14);
		assert_int_equal(intack(&fx), base + 6);
	}
}

/* An ICW1 in the middle of a sequence starts over. */
static void test_icw1_restarts_sequence(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	outb(&fx, M_CMD, 0x11);
	outb(&fx, M_DATA, 0x20);
	outb(&fx, M_CMD, 0x11);
	assert_int_equal(init_state(&fx, 0), 1);
	assert_int_equal(chip_base(&fx, 0), 0);
	outb(&fx, M_DATA, 0x40);
	outb(&fx, M_DATA, 0x04);
	assert_int_equal(inb(&fx, M_DATA), 0x00); /* the ICWs never reach the IMR */
	outb(&fx, M_DATA, 0x01);
	assert_int_equal(chip_base(&fx, 0), 0x40);
	irq_edge(&fx, 3);
	assert_int_equal(intack(&fx), 0x43);
}

/* OCW2/OCW3 on A0=0 are obeyed while ICWs are still expected on A0=1. */
static void test_ocw_during_init_sequence(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	outb(&fx, M_CMD, 0x11);
	outb(&fx, M_CMD, OCW3_READ_ISR);
	outb(&fx, M_CMD, OCW2_SET_PRIO(3));
	assert_int_equal(init_state(&fx, 0), 1);
	outb(&fx, M_DATA, 0x08);
	outb(&fx, M_DATA, 0x04);
	outb(&fx, M_DATA, 0x01);
	assert_int_equal(chip_flags(&fx, 0), VIRQ_PIC_F_IC4 | VIRQ_PIC_F_READ_ISR);
	irq_edge(&fx, 3);
	irq_edge(&fx, 4);
	assert_int_equal(intack(&fx), 0x0C); /* IR4 is highest after "3 lowest" */
}

/* ---- standard sequences ---- */

static void deliver_all(struct pic_fixture *fx, uint8_t mbase, uint8_t sbase)
{
	for (unsigned n = 0; n < 16; n++) {
		unsigned before = fx->f.n_intr;
		uint8_t vec = n < 8 ? (uint8_t)(mbase + n) : (uint8_t)(sbase + n - 8);

		if (n == 2)
			continue;
		irq_edge(fx, n);
		assert_true(intr(fx));
		assert_int_equal(fx->f.n_intr, before + 1);
		assert_int_equal(intack(fx), vec);
		assert_false(intr(fx));
		if (n < 8) {
			assert_int_equal(read_isr(fx, M_CMD), 1U << n);
		} else {
			assert_int_equal(read_isr(fx, M_CMD), 0x04);
			assert_int_equal(read_isr(fx, S_CMD), 1U << (n - 8));
			outb(fx, S_CMD, OCW2_EOI);
			assert_int_equal(read_isr(fx, S_CMD), 0x00);
		}
		outb(fx, M_CMD, OCW2_EOI);
		assert_int_equal(read_isr(fx, M_CMD), 0x00);
		assert_int_equal(read_irr(fx, M_CMD), 0x00);
		assert_int_equal(read_irr(fx, S_CMD), 0x00);
		irq(fx, n, false);
		assert_int_equal(fx->f.n_intr, before + 2);
	}
}

/* SeaBIOS / PC BIOS: master 0x11,0x08,0x04,0x01; slave 0x11,0x70,0x02,0x01. */
static void test_bios_sequence_then_delivery(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	outb(&fx, M_CMD, 0x11);
	outb(&fx, M_DATA, 0x08);
	outb(&fx, M_DATA, 0x04);
	outb(&fx, M_DATA, 0x01);
	outb(&fx, S_CMD, 0x11);
	outb(&fx, S_DATA, 0x70);
	outb(&fx, S_DATA, 0x02);
	outb(&fx, S_DATA, 0x01);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_int_equal(init_state(&fx, 0), 0);
	assert_int_equal(init_state(&fx, 1), 0);
	deliver_all(&fx, 0x08, 0x70);
	/* BIOS masks everything but the timer, keyboard and cascade. */
	outb(&fx, M_DATA, 0xF8);
	outb(&fx, S_DATA, 0xFF);
	irq_edge(&fx, 5);
	irq_edge(&fx, 12);
	assert_false(intr(&fx));
	irq_edge(&fx, 0);
	assert_int_equal(intack(&fx), 0x08);
}

/* Linux init_8259A(): mask all, then 0x11,0x20,0x04,0x01 / 0x11,0x28,0x02,0x01. */
static void test_linux_sequence_then_delivery(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	outb(&fx, M_DATA, 0xFF);
	outb(&fx, S_DATA, 0xFF);
	outb(&fx, M_CMD, 0x11);
	outb(&fx, M_DATA, 0x20);
	outb(&fx, M_DATA, 0x04);
	outb(&fx, M_DATA, 0x01);
	outb(&fx, S_CMD, 0x11);
	outb(&fx, S_DATA, 0x28);
	outb(&fx, S_DATA, 0x02);
	outb(&fx, S_DATA, 0x01);
	/* restore the cached masks: all masked but the cascade */
	outb(&fx, M_DATA, 0xFB);
	outb(&fx, S_DATA, 0xFF);
	irq_edge(&fx, 0);
	assert_false(intr(&fx));
	outb(&fx, M_DATA, 0x00);
	outb(&fx, S_DATA, 0x00);
	assert_true(intr(&fx)); /* the latched timer edge */
	assert_int_equal(intack(&fx), 0x20);
	outb(&fx, M_CMD, OCW2_EOI);
	irq(&fx, 0, false);
	deliver_all(&fx, 0x20, 0x28);
	assert_int_equal(fx.f.n_gerr, 0);
}

/* Linux with auto_eoi: master ICW4 0x03, no EOI needed. */
static void test_linux_auto_eoi_sequence(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	chip_init(&fx, M_CMD, 0x20, 0x04, 0x03);
	chip_init(&fx, S_CMD, 0x28, 0x02, 0x01);
	irq_edge(&fx, 0);
	assert_int_equal(intack(&fx), 0x20);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	irq_pulse(&fx, 0);
	assert_true(intr(&fx));
	assert_int_equal(intack(&fx), 0x20);
	/* The slave still needs its EOI; the master's IR2 does not. */
	irq_edge(&fx, 12);
	assert_int_equal(intack(&fx), 0x2C);
	assert_int_equal(read_isr(&fx, M_CMD), 0x00);
	assert_int_equal(read_isr(&fx, S_CMD), 0x10);
}

/* ---- ICW1 side effects (8259A datasheet; QEMU's pic_reset_common where silent) ---- */

static void test_icw1_side_effects(void **state)
{
	struct pic_fixture fx;
	struct virq_pic_state st;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	outb(&fx, VIRQ_PIC_ELCR1, 0x28); /* IRQ3, IRQ5 level */
	/* In service: IRQ6 and IRQ1 (edge). */
	irq_pulse(&fx, 6);
	assert_int_equal(intack(&fx), 0x0E);
	irq_pulse(&fx, 1);
	assert_int_equal(intack(&fx), 0x09);
	/* Pending: IRQ3 level high, IRQ4 edge latched and line still high,
	 * IRQ7 edge latched with the line low again. IRQ5 level low. */
	irq(&fx, 3, true);
	irq_edge(&fx, 4);
	irq_pulse(&fx, 7);
	outb(&fx, M_DATA, 0x80);
	outb(&fx, M_CMD, OCW2_SET_PRIO(4));
	outb(&fx, M_CMD, OCW2_SET_ROTATE_AEOI);
	outb(&fx, M_CMD, OCW3_SET_SMM);
	outb(&fx, M_CMD, OCW3_READ_ISR);
	outb(&fx, M_CMD, OCW3_POLL);
	save(&fx, &st);
	assert_int_equal(st.chip[0].irr, 0x98);
	assert_int_equal(st.chip[0].isr, 0x42);
	assert_int_equal(st.chip[0].last_irr, 0x18);
	assert_int_equal(st.chip[0].imr, 0x80);
	assert_int_equal(st.chip[0].prio_add, 5);
	assert_int_equal(st.chip[0].flags, VIRQ_PIC_F_IC4 | VIRQ_PIC_F_ROTATE_AEOI |
						   VIRQ_PIC_F_SPECIAL_MASK | VIRQ_PIC_F_READ_ISR |
						   VIRQ_PIC_F_POLL);

	outb(&fx, M_CMD, 0x11);
	save(&fx, &st);
	assert_int_equal(st.chip[0].irr, 0x08);      /* level request kept, edges dropped */
	assert_int_equal(st.chip[0].last_irr, 0x08); /* edge sense reset */
	assert_int_equal(st.chip[0].line, 0x18);     /* the lines are where they were */
	assert_int_equal(st.chip[0].isr, 0x00);
	assert_int_equal(st.chip[0].imr, 0x00);
	assert_int_equal(st.chip[0].prio_add, 0); /* IR7 lowest */
	assert_int_equal(st.chip[0].base, 0x00);
	assert_int_equal(st.chip[0].elcr, 0x28); /* ELCR is a separate register */
	assert_int_equal(st.chip[0].init_state, VIRQ_PIC_INIT_ICW2);
	/* no rotate-in-AEOI, SMM, read-ISR or poll */
	assert_int_equal(st.chip[0].flags, VIRQ_PIC_F_IC4);
	/* The slave is not touched. */
	assert_int_equal(st.chip[1].base, 0x70);
	/* Reads: IRR selected and no poll pending. */
	assert_int_equal(inb(&fx, M_CMD), 0x08);
	assert_int_equal(inb(&fx, M_CMD), 0x08);
	/* The asserted level input still requests (INT high even mid-init). */
	assert_true(intr(&fx));
	outb(&fx, M_DATA, 0x08);
	outb(&fx, M_DATA, 0x04);
	outb(&fx, M_DATA, 0x01);
	assert_int_equal(intack(&fx), 0x0B);
	outb(&fx, M_CMD, OCW2_EOI);
	/*
	 * IRQ4, held high through ICW1, must go low and high again (8259A
	 * datasheet, Initialization Command Words): driving it high again is
	 * no transition, a low-high is.
	 */
	irq(&fx, 3, false);
	irq(&fx, 4, true);
	assert_false(intr(&fx));
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	irq_edge(&fx, 4);
	assert_int_equal(intack(&fx), 0x0C);
}

/* AEOI and SFNM are cleared by ICW1 whether or not IC4 is set (QEMU). */
static void test_icw1_clears_icw4_modes(void **state)
{
	static const uint8_t icw1[] = { 0x10, 0x11 };

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct pic_fixture fx;

		fixture_init(&fx);
		chip_init(&fx, M_CMD, 0x08, 0x04, 0x13);
		outb(&fx, M_CMD, OCW2_SET_ROTATE_AEOI);
		assert_int_equal(chip_flags(&fx, 0), VIRQ_PIC_F_IC4 | VIRQ_PIC_F_AEOI |
							     VIRQ_PIC_F_SFNM |
							     VIRQ_PIC_F_ROTATE_AEOI);
		outb(&fx, M_CMD, icw1[i]);
		assert_int_equal(chip_flags(&fx, 0), icw1[i] & 1U ? VIRQ_PIC_F_IC4 : 0);
		outb(&fx, M_DATA, 0x08);
		outb(&fx, M_DATA, 0x04);
		if (icw1[i] & 1U)
			outb(&fx, M_DATA, 0x01);
		irq_edge(&fx, 3);
		assert_int_equal(intack(&fx), 0x0B);
		assert_int_equal(read_isr(&fx, M_CMD), 0x08); /* no AEOI */
	}
}

/* Master ICW1 keeps a request the slave presents on IR2. */
static void test_master_icw1_keeps_slave_request(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	irq_edge(&fx, 10);
	assert_true(intr(&fx));
	chip_init(&fx, M_CMD, 0x20, 0x04, 0x01);
	assert_true(intr(&fx));
	assert_int_equal(read_irr(&fx, M_CMD), 0x04);
	assert_int_equal(intack(&fx), 0x72);
}

/* ---- LTIM: every input of the chip level-sensitive ---- */

static void test_ltim_makes_inputs_level(void **state)
{
	struct pic_fixture fx;

	(void)state;
	fixture_init(&fx);
	outb(&fx, M_CMD, 0x19);
	outb(&fx, M_DATA, 0x08);
	outb(&fx, M_DATA, 0x04);
	outb(&fx, M_DATA, 0x01);
	chip_init(&fx, S_CMD, 0x70, 0x02, 0x01);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0x00); /* LTIM is not the ELCR */

	/* IRQ0 (forced edge in the ELCR) is level here: IRR follows the line. */
	irq(&fx, 0, true);
	assert_int_equal(read_irr(&fx, M_CMD), 0x01);
	assert_int_equal(intack(&fx), 0x08);
	assert_int_equal(read_irr(&fx, M_CMD), 0x01); /* not cleared by INTA */
	assert_false(intr(&fx));
	outb(&fx, M_CMD, OCW2_EOI);
	assert_true(intr(&fx)); /* still high: requested again */
	irq(&fx, 0, false);
	assert_false(intr(&fx));
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	/* A pulse that is gone before INTA leaves nothing. */
	irq_pulse(&fx, 1);
	assert_int_equal(read_irr(&fx, M_CMD), 0x00);
	assert_int_equal(intack(&fx), 0x0F); /* spurious */

	/* The slave is still edge: a pulse is latched. */
	irq_pulse(&fx, 9);
	assert_int_equal(read_irr(&fx, S_CMD), 0x02);
	assert_int_equal(intack(&fx), 0x71);
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);

	/* LTIM on the slave; then back to edge with ICW1 without LTIM. */
	irq(&fx, 12, true);
	assert_int_equal(intack(&fx), 0x74); /* edge, consumed */
	outb(&fx, S_CMD, OCW2_EOI);
	outb(&fx, M_CMD, OCW2_EOI);
	assert_false(intr(&fx));
	outb(&fx, S_CMD, 0x19);
	/* The line is high: as a level input it requests at once. */
	assert_int_equal(read_irr(&fx, S_CMD), 0x10);
	outb(&fx, S_DATA, 0x70);
	outb(&fx, S_DATA, 0x02);
	outb(&fx, S_DATA, 0x01);
	assert_int_equal(intack(&fx), 0x74);
	assert_int_equal(read_irr(&fx, S_CMD), 0x10);
	outb(&fx, S_CMD, 0x11); /* edge again: the request goes, the latch re-arms */
	assert_int_equal(read_irr(&fx, S_CMD), 0x00);
}

/* ---- machine reset ---- */

static void test_reset_to_power_up(void **state)
{
	struct pic_fixture fx, fresh;
	struct virq_pic_state st, st0;
	static const bool log[] = { true, false };

	(void)state;
	fixture_init(&fresh);
	save(&fresh, &st0);

	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	outb(&fx, VIRQ_PIC_ELCR1, 0xF8);
	outb(&fx, VIRQ_PIC_ELCR2, 0xDE);
	irq(&fx, 3, true);
	irq_edge(&fx, 9);
	outb(&fx, M_CMD, OCW2_SET_PRIO(2));
	outb(&fx, S_DATA, 0x10);
	assert_true(intr(&fx));
	virq_pic_reset(&fx.pic);
	assert_invariants(&fx);
	assert_intr_log(&fx, log, 2);
	save(&fx, &st);
	assert_memory_equal(&st, &st0, sizeof(st));
	/* Input levels forgotten: IRQ3 is an edge input again, its line
	 * counts as low, so driving it high is an edge. */
	irq(&fx, 3, true);
	assert_int_equal(intack(&fx), 0x03);
	assert_int_equal(read_isr(&fx, M_CMD), 0x08);
	/* Reset with INT low reports nothing. */
	outb(&fx, M_CMD, OCW2_EOI);
	virq_pic_reset(&fx.pic);
	assert_invariants(&fx);
	assert_int_equal(fx.f.n_intr, 4);
}

/* ---- decoding and ranges ---- */

static void test_ports_not_ours(void **state)
{
	static const uint16_t ports[] = { 0x0000, 0x001F, 0x0022, 0x0023, 0x0024, 0x0060, 0x009F,
					  0x00A2, 0x00A3, 0x00A4, 0x0120, 0x0121, 0x04CF, 0x04D2,
					  0x04D3, 0x14D0, 0x8020, 0xFFFF, 0x0820, 0x00A8 };
	struct pic_fixture fx;
	struct virq_pic before;
	uint8_t v;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	outb(&fx, M_CMD, OCW3_POLL);
	irq_edge(&fx, 4);
	before = fx.pic;
	for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		v = 0x77;
		assert_int_equal(virq_pic_io_read(&fx.pic, ports[i], &v), -VIRQ_ENOENT);
		assert_int_equal(v, 0x77);
		for (unsigned val = 0; val < 256; val += 0x11)
			assert_int_equal(virq_pic_io_write(&fx.pic, ports[i], (uint8_t)val),
					 -VIRQ_ENOENT);
		assert_int_equal(virq_pic_io_read(&fx.pic, ports[i], NULL), -VIRQ_EINVAL);
	}
	assert_int_equal(virq_pic_io_read(&fx.pic, M_CMD, NULL), -VIRQ_EINVAL);
	assert_memory_equal(&before, &fx.pic, sizeof(before));
	assert_int_equal(fx.f.n_intr, 1);
	/* The six ports are ours. */
	assert_int_equal(inb(&fx, M_CMD), 0x84); /* the pending poll */
	assert_int_equal(inb(&fx, M_DATA), 0x00);
	assert_int_equal(inb(&fx, S_CMD), 0x00);
	assert_int_equal(inb(&fx, S_DATA), 0x00);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR1), 0x00);
	assert_int_equal(inb(&fx, VIRQ_PIC_ELCR2), 0x00);
}

static void test_set_irq_range_and_cascade_input(void **state)
{
	static const unsigned bad[] = { 16, 17, 24, 255, 256, 0x7FFFFFFFU, 0xFFFFFFFFU };
	struct pic_fixture fx;
	struct virq_pic before;

	(void)state;
	fixture_init(&fx);
	bios_init(&fx, 0x08, 0x70);
	before = fx.pic;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(virq_pic_set_irq(&fx.pic, bad[i], true), -VIRQ_EINVAL);
		assert_int_equal(virq_pic_set_irq(&fx.pic, bad[i], false), -VIRQ_EINVAL);
	}
	/* IRQ 2 is the cascade input: driving it does nothing. */
	for (unsigned i = 0; i < 3; i++) {
		irq(&fx, 2, true);
		irq(&fx, 2, false);
	}
	irq(&fx, 2, true);
	assert_memory_equal(&before, &fx.pic, sizeof(before));
	assert_int_equal(fx.f.n_intr, 0);
	/* ... also with every master input level (LTIM). */
	outb(&fx, M_CMD, 0x19);
	before = fx.pic;
	irq(&fx, 2, true);
	assert_memory_equal(&before, &fx.pic, sizeof(before));
	/* 15 is the last input. */
	outb(&fx, M_DATA, 0x08);
	outb(&fx, M_DATA, 0x04);
	outb(&fx, M_DATA, 0x01);
	irq(&fx, 15, true);
	assert_int_equal(intack(&fx), 0x77);
	assert_int_equal(read_isr(&fx, S_CMD), 0x80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_arguments),
		cmocka_unit_test(test_init_size_checked),
		cmocka_unit_test(test_power_up_state),
		cmocka_unit_test(test_power_up_delivers_with_base_zero),
		cmocka_unit_test(test_ocw1_before_icw1),
		cmocka_unit_test(test_init_state_machine_table),
		cmocka_unit_test(test_icw1_flags_recorded),
		cmocka_unit_test(test_icw4_table),
		cmocka_unit_test(test_icw3_wiring_reported),
		cmocka_unit_test(test_icw2_base_masked),
		cmocka_unit_test(test_icw1_restarts_sequence),
		cmocka_unit_test(test_ocw_during_init_sequence),
		cmocka_unit_test(test_bios_sequence_then_delivery),
		cmocka_unit_test(test_linux_sequence_then_delivery),
		cmocka_unit_test(test_linux_auto_eoi_sequence),
		cmocka_unit_test(test_icw1_side_effects),
		cmocka_unit_test(test_icw1_clears_icw4_modes),
		cmocka_unit_test(test_master_icw1_keeps_slave_request),
		cmocka_unit_test(test_ltim_makes_inputs_level),
		cmocka_unit_test(test_reset_to_power_up),
		cmocka_unit_test(test_ports_not_ours),
		cmocka_unit_test(test_set_irq_range_and_cascade_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
