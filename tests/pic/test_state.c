/* SPDX-License-Identifier: MIT */
/*
 * Save/restore: exact saved fields, byte-identical round trips of rich
 * states onto a fresh pair that then behaves identically, the INT change
 * reported on restore, states the model reaches that a stricter check
 * would wrongly refuse, every damaged field refused without side effects,
 * and a single-bit-flip sweep. Written from pic.h (struct virq_pic_state,
 * virq_pic_restore) and doc/architecture.md "Save and restore".
 */
#include "harness.h"

struct snapshot {
	struct virq_pic pic;
	struct fake_env f;
};

static void snap_take(struct pic_fixture *fx, struct snapshot *s)
{
	memcpy(&s->pic, &fx->pic, sizeof(s->pic));
	memcpy(&s->f, &fx->f, sizeof(s->f));
}

static void snap_expect(struct pic_fixture *fx, const struct snapshot *s)
{
	assert_memory_equal(&s->pic, &fx->pic, sizeof(s->pic));
	assert_memory_equal(&s->f, &fx->f, sizeof(s->f));
}

/*
 * Master (base 0x20): ELCR 0xA0; IRQ5 level high and in service, IRQ7
 * level high, IRQ3 a latched edge, IRQ1 high; IMR 0x22; priority 4
 * lowest (order 5 6 7 0 1 2 3 4); special mask mode, so the masked IR5 in
 * service blocks nothing; ISR read selected. Slave (base 0x28): AEOI with
 * rotation, ELCR 0x12, IRQ9 and IRQ12 level high, IRQ12 masked.
 * INT is high for IR7.
 */
static void build_rich(struct pic_fixture *fx)
{
	fixture_init(fx);
	chip_init(fx, M_CMD, 0x20, 0x04, 0x01);
	chip_init(fx, S_CMD, 0x28, 0x02, 0x03);
	outb(fx, S_CMD, OCW2_SET_ROTATE_AEOI);
	outb(fx, VIRQ_PIC_ELCR1, 0xA0);
	outb(fx, VIRQ_PIC_ELCR2, 0x12);
	irq(fx, 5, true);
	assert_int_equal(intack(fx), 0x25);
	irq(fx, 7, true);
	irq_pulse(fx, 3);
	outb(fx, M_DATA, 0x22);
	irq_edge(fx, 1);
	outb(fx, M_CMD, OCW2_SET_PRIO(4));
	outb(fx, M_CMD, OCW3_SET_SMM);
	outb(fx, M_CMD, OCW3_READ_ISR);
	outb(fx, S_DATA, 0x10);
	irq(fx, 12, true);
	irq(fx, 9, true);
	assert_true(intr(fx));
}

static void test_saved_fields_exact(void **state)
{
	struct pic_fixture fx;
	struct virq_pic_state st;

	(void)state;
	build_rich(&fx);
	save(&fx, &st);
	assert_int_equal(st.version, 2);
	assert_int_equal(st.size, 40);
	assert_int_equal(st.chip[0].irr, 0xAE);      /* 7, 5 (level), 3, 2 (slave), 1 */
	assert_int_equal(st.chip[0].last_irr, 0xA6); /* sense: 7, 5 (level), 2, 1 (edges seen) */
	assert_int_equal(st.chip[0].imr, 0x22);
	assert_int_equal(st.chip[0].isr, 0x20);
	assert_int_equal(st.chip[0].elcr, 0xA0);
	assert_int_equal(st.chip[0].prio_add, 5);
	assert_int_equal(st.chip[0].base, 0x20);
	assert_int_equal(st.chip[0].init_state, 0);
	assert_int_equal(st.chip[0].icw3, 0x04);
	assert_int_equal(st.chip[0].line, 0xA6); /* 3 pulsed: low again */
	assert_int_equal(st.chip[0].flags,
			 VIRQ_PIC_F_IC4 | VIRQ_PIC_F_SPECIAL_MASK | VIRQ_PIC_F_READ_ISR);
	assert_int_equal(st.chip[1].irr, 0x12);
	assert_int_equal(st.chip[1].last_irr, 0x12);
	assert_int_equal(st.chip[1].imr, 0x10);
	assert_int_equal(st.chip[1].isr, 0x00);
	assert_int_equal(st.chip[1].elcr, 0x12);
	assert_int_equal(st.chip[1].prio_add, 0);
	assert_int_equal(st.chip[1].base, 0x28);
	assert_int_equal(st.chip[1].init_state, 0);
	assert_int_equal(st.chip[1].icw3, 0x02);
	assert_int_equal(st.chip[1].line, 0x12);
	assert_int_equal(st.chip[1].flags,
			 VIRQ_PIC_F_IC4 | VIRQ_PIC_F_AEOI | VIRQ_PIC_F_ROTATE_AEOI);
	assert_int_equal(st.intr, 1);
	assert_int_equal(st.reserved, 0);
	/* IR7 (priority 2) beats IR2 (5) and IR3 (6). */
	assert_int_equal(intack(&fx), 0x27);
	assert_int_equal(intack(&fx), 0x27); /* level 7 in service: now spurious */
	outb(&fx, M_CMD, (uint8_t)OCW2_SEOI(7));
	irq(&fx, 7, false);
	assert_int_equal(intack(&fx), 0x29); /* then the slave's IRQ9, AEOI */
	save(&fx, &st);
	assert_int_equal(st.chip[1].prio_add, 2);
	assert_int_equal(st.chip[0].isr, 0x24);
}

static void same_behaviour(struct pic_fixture *a, struct pic_fixture *b)
{
	static const struct {
		int kind; /* 0 write, 1 read, 2 irq, 3 intack */
		uint16_t port;
		uint8_t val;
	} ops[] = {
		{ 1, M_CMD, 0 },    { 1, M_DATA, 0 },    { 3, 0, 0 },         { 2, 10, 1 },
		{ 1, S_CMD, 0 },    { 0, S_DATA, 0x04 }, { 0, S_DATA, 0x01 }, { 3, 0, 0 },
		{ 0, M_CMD, 0x20 }, { 0, M_CMD, 0x0C },  { 1, M_DATA, 0 },    { 2, 5, 0 },
		{ 3, 0, 0 },        { 0, M_CMD, 0x0B },  { 1, M_CMD, 0 },     { 2, 14, 1 },
		{ 3, 0, 0 },        { 0, 0x4D0, 0x00 },  { 3, 0, 0 },         { 0, M_CMD, 0x60 },
		{ 0, M_CMD, 0xE7 }, { 3, 0, 0 },         { 1, S_CMD, 0 },     { 2, 1, 0 },
	};

	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct virq_pic_state sa, sb;

		switch (ops[i].kind) {
		case 0:
			outb(a, ops[i].port, ops[i].val);
			outb(b, ops[i].port, ops[i].val);
			break;
		case 1:
			assert_int_equal(inb(a, ops[i].port), inb(b, ops[i].port));
			break;
		case 2:
			irq(a, ops[i].port, ops[i].val);
			irq(b, ops[i].port, ops[i].val);
			break;
		default:
			assert_int_equal(intack(a), intack(b));
			break;
		}
		save(a, &sa);
		save(b, &sb);
		assert_memory_equal(&sa, &sb, sizeof(sa));
		assert_int_equal(intr(a), intr(b));
	}
}

static void test_round_trip_onto_fresh_pair(void **state)
{
	static const bool log[] = { true };
	struct pic_fixture a, b;
	struct virq_pic_state st1, st2;

	(void)state;
	build_rich(&a);
	save(&a, &st1);
	fixture_init(&b);
	assert_int_equal(virq_pic_restore(&b.pic, &st1), 0);
	assert_invariants(&b);
	assert_intr_log(&b, log, 1); /* INT rose with the restore */
	save(&b, &st2);
	assert_memory_equal(&st1, &st2, sizeof(st1));
	assert_memory_equal(a.pic.chip, b.pic.chip, sizeof(a.pic.chip));
	same_behaviour(&a, &b);
}

/* A restore that keeps INT where it was reports nothing; a change is reported. */
static void test_restore_reports_intr_change(void **state)
{
	static const bool log_b[] = { true, false };
	struct pic_fixture a, b;
	struct virq_pic_state high, low;

	(void)state;
	build_rich(&a);
	save(&a, &high);
	fixture_init(&b);
	bios_init(&b, 0x08, 0x70);
	save(&b, &low);
	irq_edge(&b, 4);
	assert_int_equal(b.f.n_intr, 1);
	assert_int_equal(virq_pic_restore(&b.pic, &high), 0); /* high -> high */
	assert_invariants(&b);
	assert_int_equal(b.f.n_intr, 1);
	assert_int_equal(virq_pic_restore(&b.pic, &low), 0); /* high -> low */
	assert_invariants(&b);
	assert_intr_log(&b, log_b, 2);
	assert_int_equal(virq_pic_restore(&b.pic, &low), 0);
	assert_int_equal(b.f.n_intr, 2);
	assert_int_equal(intack(&b), 0x0F);
}

/* A pending init sequence and a pending poll survive the trip. */
static void test_round_trip_mid_init_and_poll(void **state)
{
	struct pic_fixture a, b;
	struct virq_pic_state st;

	(void)state;
	fixture_init(&a);
	bios_init(&a, 0x08, 0x70);
	irq_edge(&a, 6);
	outb(&a, M_CMD, OCW3_POLL);
	outb(&a, S_CMD, 0x11);
	outb(&a, S_DATA, 0x30);
	save(&a, &st);
	assert_int_equal(st.chip[1].init_state, VIRQ_PIC_INIT_ICW3);
	fixture_init(&b);
	assert_int_equal(virq_pic_restore(&b.pic, &st), 0);
	assert_invariants(&b);
	outb(&b, S_DATA, 0x02);
	outb(&b, S_DATA, 0x01);
	assert_int_equal(inb(&b, S_DATA), 0x00); /* the IMR: ICW3/4 went where they belong */
	assert_int_equal(inb(&b, M_DATA), 0x86); /* the poll byte */
	irq_edge(&b, 9);
	assert_int_equal(intack(&b), 0x31); /* the slave base from the ICW2 before the save */
}

/* States the model reaches with the cascade ISR bits "inconsistent". */
static void test_restore_accepts_reachable_cascade_states(void **state)
{
	struct pic_fixture a, b;
	struct virq_pic_state st;

	(void)state;
	/* Spurious IRQ15: master ISR bit 2, slave ISR empty. */
	fixture_init(&a);
	bios_init(&a, 0x08, 0x70);
	irq_pulse(&a, 11);
	outb(&a, S_DATA, 0x08);
	assert_int_equal(intack(&a), 0x77);
	save(&a, &st);
	assert_int_equal(st.chip[0].isr, 0x04);
	assert_int_equal(st.chip[1].isr, 0x00);
	fixture_init(&b);
	assert_int_equal(virq_pic_restore(&b.pic, &st), 0);

	/* AEOI master: slave ISR set, master ISR empty. */
	fixture_init(&a);
	chip_init(&a, M_CMD, 0x08, 0x04, 0x03);
	chip_init(&a, S_CMD, 0x70, 0x02, 0x01);
	irq_pulse(&a, 13);
	assert_int_equal(intack(&a), 0x75);
	save(&a, &st);
	assert_int_equal(st.chip[0].isr, 0x00);
	assert_int_equal(st.chip[1].isr, 0x20);
	fixture_init(&b);
	assert_int_equal(virq_pic_restore(&b.pic, &st), 0);

	/* Master IR2 latched while the slave's INT is low. */
	fixture_init(&a);
	bios_init(&a, 0x08, 0x70);
	irq_pulse(&a, 11);
	outb(&a, S_DATA, 0x08);
	save(&a, &st);
	assert_int_equal(st.chip[0].irr, 0x04);
	assert_int_equal(st.chip[0].last_irr, 0x00);
	fixture_init(&b);
	assert_int_equal(virq_pic_restore(&b.pic, &st), 0);
	assert_int_equal(intack(&b), 0x77);
}

/*
 * Version 1 (before the input levels were saved) is still taken: its
 * levels are its last_irr, which version 1 kept as both levels and edge
 * latches. This is build_rich() exactly as version 1 saved it (the numbers
 * test_saved_fields_exact pinned then): it restores, saves back as version
 * 2 with line = last_irr, equal to what this version saves for the same
 * history, and behaves the same.
 */
static void test_restore_version_1_state(void **state)
{
	struct pic_fixture a, b;
	struct virq_pic_state v1, back, now;

	(void)state;
	memset(&v1, 0, sizeof(v1));
	v1.version = 1;
	v1.size = 40;
	v1.chip[0].irr = 0xAE;
	v1.chip[0].imr = 0x22;
	v1.chip[0].isr = 0x20;
	v1.chip[0].last_irr = 0xA6;
	v1.chip[0].elcr = 0xA0;
	v1.chip[0].prio_add = 5;
	v1.chip[0].base = 0x20;
	v1.chip[0].icw3 = 0x04;
	v1.chip[0].flags = VIRQ_PIC_F_IC4 | VIRQ_PIC_F_SPECIAL_MASK | VIRQ_PIC_F_READ_ISR;
	v1.chip[1].irr = 0x12;
	v1.chip[1].imr = 0x10;
	v1.chip[1].last_irr = 0x12;
	v1.chip[1].elcr = 0x12;
	v1.chip[1].base = 0x28;
	v1.chip[1].icw3 = 0x02;
	v1.chip[1].flags = VIRQ_PIC_F_IC4 | VIRQ_PIC_F_AEOI | VIRQ_PIC_F_ROTATE_AEOI;
	v1.intr = 1;

	fixture_init(&b);
	assert_int_equal(virq_pic_restore(&b.pic, &v1), 0);
	assert_invariants(&b);
	assert_int_equal(b.f.n_intr, 1);
	save(&b, &back);
	assert_int_equal(back.version, 2);
	assert_int_equal(back.chip[0].line, 0xA6);
	assert_int_equal(back.chip[1].line, 0x12);
	back.version = 1;
	back.chip[0].line = 0;
	back.chip[1].line = 0;
	assert_memory_equal(&back, &v1, sizeof(v1));
	build_rich(&a);
	save(&a, &now);
	save(&b, &back);
	assert_memory_equal(&now, &back, sizeof(now));
	same_behaviour(&a, &b);

	/* Damaged under the derived levels: a level request without its line. */
	v1.chip[0].last_irr = 0x26;
	fixture_init(&b);
	assert_int_equal(virq_pic_restore(&b.pic, &v1), -VIRQ_ESTATE);
	assert_int_equal(b.f.n_intr, 0);
}

/*
 * An edge input held high through ICW1: version 2 keeps its line high
 * with the edge sense reset, so driving it high again is nothing and it
 * needs a low-high (8259A datasheet, Initialization Command Words).
 * Version 1 stored no level and meant "re-armed, counts as low": restored
 * from version 1 the same registers take the next high as an edge.
 */
static void test_restore_versions_and_held_line(void **state)
{
	struct pic_fixture a, b, c;
	struct virq_pic_state st, v1;

	(void)state;
	fixture_init(&a);
	bios_init(&a, 0x08, 0x70);
	irq(&a, 4, true);
	chip_init(&a, M_CMD, 0x08, 0x04, 0x01);
	save(&a, &st);
	assert_int_equal(st.chip[0].irr, 0x00);
	assert_int_equal(st.chip[0].line, 0x10);
	assert_int_equal(st.chip[0].last_irr, 0x00);

	fixture_init(&b);
	assert_int_equal(virq_pic_restore(&b.pic, &st), 0);
	assert_invariants(&b);
	irq(&b, 4, true);
	assert_false(intr(&b));
	assert_int_equal(read_irr(&b, M_CMD), 0x00);
	irq_edge(&b, 4);
	assert_int_equal(intack(&b), 0x0C);

	v1 = st;
	v1.version = 1;
	v1.chip[0].line = 0;
	v1.chip[1].line = 0;
	fixture_init(&c);
	assert_int_equal(virq_pic_restore(&c.pic, &v1), 0);
	assert_invariants(&c);
	save(&c, &st);
	assert_int_equal(st.version, 2);
	assert_int_equal(st.chip[0].line, 0x00);
	irq(&c, 4, true);
	assert_int_equal(intack(&c), 0x0C);
}

static void test_null_arguments(void **state)
{
	struct pic_fixture fx;
	struct snapshot s;

	(void)state;
	build_rich(&fx);
	snap_take(&fx, &s);
	assert_int_equal(virq_pic_save(&fx.pic, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_pic_restore(&fx.pic, NULL), -VIRQ_EINVAL);
	snap_expect(&fx, &s);
}

/* ---- damaged states ---- */

enum field {
	F_VERSION,
	F_SIZE,
	F_INTR,
	F_RESERVED,
	F_LINE,
	F_FLAGS,
	F_INIT_STATE,
	F_PRIO_ADD,
	F_BASE,
	F_ELCR,
	F_IRR,
	F_LAST_IRR,
	F_IMR,
	F_ISR,
};

static void apply(struct virq_pic_state *st, enum field f, unsigned chip, uint32_t v, bool xor)
{
	struct virq_pic_chip_state *c = &st->chip[chip];

#define SET(lv) ((lv) = xor? (__typeof__(lv))((lv) ^ v) : (__typeof__(lv))v)
	switch (f) {
	case F_VERSION:
		SET(st->version);
		break;
	case F_SIZE:
		SET(st->size);
		break;
	case F_INTR:
		SET(st->intr);
		break;
	case F_RESERVED:
		SET(st->reserved);
		break;
	case F_LINE:
		SET(c->line);
		break;
	case F_FLAGS:
		SET(c->flags);
		break;
	case F_INIT_STATE:
		SET(c->init_state);
		break;
	case F_PRIO_ADD:
		SET(c->prio_add);
		break;
	case F_BASE:
		SET(c->base);
		break;
	case F_ELCR:
		SET(c->elcr);
		break;
	case F_IRR:
		SET(c->irr);
		break;
	case F_LAST_IRR:
		SET(c->last_irr);
		break;
	case F_IMR:
		SET(c->imr);
		break;
	case F_ISR:
		SET(c->isr);
		break;
	}
#undef SET
}

static void test_restore_refuses_damaged_states(void **state)
{
	static const struct {
		const char *what;
		enum field f;
		unsigned chip;
		uint32_t v;
		bool xor ;
		int err;
	} rows[] = {
		{ "version 0", F_VERSION, 0, 0, false, -VIRQ_EVERSION },
		{ "version 3", F_VERSION, 0, 3, false, -VIRQ_EVERSION },
		{ "version 1 with its reserved byte set", F_VERSION, 0, 1, false, -VIRQ_ESTATE },
		{ "size 0", F_SIZE, 0, 0, false, -VIRQ_EVERSION },
		{ "size - 1", F_SIZE, 0, 39, false, -VIRQ_EVERSION },
		{ "size + 4", F_SIZE, 0, 44, false, -VIRQ_EVERSION },
		{ "intr 2", F_INTR, 0, 2, false, -VIRQ_ESTATE },
		{ "intr flipped", F_INTR, 0, 1, true, -VIRQ_ESTATE },
		{ "reserved", F_RESERVED, 0, 1, false, -VIRQ_ESTATE },
		{ "reserved top", F_RESERVED, 0, 0x80000000U, false, -VIRQ_ESTATE },
		{ "master level lines dropped", F_LINE, 0, 0x06, false, -VIRQ_ESTATE },
		{ "slave level line dropped", F_LINE, 1, 0x02, true, -VIRQ_ESTATE },
		{ "slave level line 12 dropped", F_LINE, 1, 0x10, true, -VIRQ_ESTATE },
		{ "edge sense on a low line", F_LINE, 0, 0x02, true, -VIRQ_ESTATE },
		{ "edge request on a high line without its sense", F_LAST_IRR, 0, 0x02, true,
		  -VIRQ_ESTATE },
		{ "unknown flag 9", F_FLAGS, 0, 0x200, true, -VIRQ_ESTATE },
		{ "unknown flag 15", F_FLAGS, 1, 0x8000, true, -VIRQ_ESTATE },
		{ "init state 4", F_INIT_STATE, 0, 4, false, -VIRQ_ESTATE },
		{ "init state 255", F_INIT_STATE, 1, 255, false, -VIRQ_ESTATE },
		{ "ICW3 pending with SNGL", F_FLAGS, 1, VIRQ_PIC_F_SNGL, true, -VIRQ_ESTATE },
		{ "prio_add 8", F_PRIO_ADD, 0, 8, false, -VIRQ_ESTATE },
		{ "prio_add 255", F_PRIO_ADD, 1, 255, false, -VIRQ_ESTATE },
		{ "master base bit 0", F_BASE, 0, 0x21, false, -VIRQ_ESTATE },
		{ "slave base bit 2", F_BASE, 1, 0x2C, false, -VIRQ_ESTATE },
		{ "ELCR1 IRQ0", F_ELCR, 0, 0x01, true, -VIRQ_ESTATE },
		{ "ELCR1 IRQ1", F_ELCR, 0, 0x02, true, -VIRQ_ESTATE },
		{ "ELCR1 IRQ2", F_ELCR, 0, 0x04, true, -VIRQ_ESTATE },
		{ "ELCR2 IRQ8", F_ELCR, 1, 0x01, true, -VIRQ_ESTATE },
		{ "ELCR2 IRQ13", F_ELCR, 1, 0x20, true, -VIRQ_ESTATE },
		{ "level sense without its line", F_LAST_IRR, 0, 0x80, true, -VIRQ_ESTATE },
		{ "level line without its IRR", F_IRR, 0, 0x80, true, -VIRQ_ESTATE },
		{ "level line without its sense", F_LAST_IRR, 1, 0x10, true, -VIRQ_ESTATE },
		{ "master IR2 high without its sense", F_LAST_IRR, 0, 0x04, true, -VIRQ_ESTATE },
		{ "slave INT changed under the master", F_IMR, 1, 0xFF, false, -VIRQ_ESTATE },
		{ "INT would be low", F_ISR, 0, 0xA0, false, -VIRQ_ESTATE },
		{ "LTIM with IRR != lines", F_FLAGS, 0, VIRQ_PIC_F_LTIM, true, -VIRQ_ESTATE },
	};
	struct pic_fixture fx, src;
	struct virq_pic_state good;

	(void)state;
	/* A source with an init sequence pending on the slave (ICW3). */
	build_rich(&src);
	outb(&src, S_CMD, 0x11);
	outb(&src, S_DATA, 0x28);
	irq_pulse(&src, 14);
	save(&src, &good);
	assert_int_equal(good.chip[1].init_state, VIRQ_PIC_INIT_ICW3);
	assert_int_equal(good.intr, 1);

	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct virq_pic_state bad = good;
		struct snapshot s;

		apply(&bad, rows[r].f, rows[r].chip, rows[r].v, rows[r].xor);
		fixture_init(&fx);
		bios_init(&fx, 0x08, 0x70);
		irq_edge(&fx, 3);
		snap_take(&fx, &s);
		assert_int_equal(virq_pic_restore(&fx.pic, &bad), rows[r].err);
		snap_expect(&fx, &s);
		assert_invariants(&fx);
	}
	/* The good one is accepted. */
	assert_int_equal(virq_pic_restore(&fx.pic, &good), 0);
	assert_invariants(&fx);
	/* ICW4 pending without IC4. */
	{
		struct virq_pic_state bad = good;
		struct snapshot s;

		bad.chip[1].init_state = VIRQ_PIC_INIT_ICW4;
		bad.chip[1].flags &= (uint16_t)~VIRQ_PIC_F_IC4;
		snap_take(&fx, &s);
		assert_int_equal(virq_pic_restore(&fx.pic, &bad), -VIRQ_ESTATE);
		snap_expect(&fx, &s);
		bad.chip[1].flags |= VIRQ_PIC_F_IC4;
		assert_int_equal(virq_pic_restore(&fx.pic, &bad), 0);
	}
	/* Master IR2 low (its sense too) while the slave's INT is high. */
	{
		struct virq_pic_state bad = good;
		struct snapshot s;

		bad.chip[0].line &= (uint8_t)~0x04U;
		bad.chip[0].last_irr &= (uint8_t)~0x04U;
		snap_take(&fx, &s);
		assert_int_equal(virq_pic_restore(&fx.pic, &bad), -VIRQ_ESTATE);
		snap_expect(&fx, &s);
	}
}

/*
 * Every single-bit flip of a rich state is either refused with nothing
 * changed, or accepted and then consistent: the invariants hold and save
 * gives back exactly the flipped state.
 */
static void test_restore_bit_flip_sweep(void **state)
{
	struct pic_fixture src;
	struct virq_pic_state good;
	unsigned accepted = 0, refused = 0;

	(void)state;
	build_rich(&src);
	save(&src, &good);
	for (unsigned bit = 0; bit < 8 * sizeof(good); bit++) {
		struct virq_pic_state bad = good, back;
		struct pic_fixture fx;
		struct snapshot s;
		int err;

		((uint8_t *)&bad)[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		fixture_init(&fx);
		bios_init(&fx, 0x08, 0x70);
		snap_take(&fx, &s);
		err = virq_pic_restore(&fx.pic, &bad);
		if (err) {
			assert_true(err == -VIRQ_ESTATE || err == -VIRQ_EVERSION);
			snap_expect(&fx, &s);
			refused++;
			continue;
		}
		accepted++;
		assert_invariants(&fx);
		save(&fx, &back);
		assert_memory_equal(&bad, &back, sizeof(bad));
	}
	assert_true(accepted > 50);
	assert_true(refused > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_saved_fields_exact),
		cmocka_unit_test(test_round_trip_onto_fresh_pair),
		cmocka_unit_test(test_restore_reports_intr_change),
		cmocka_unit_test(test_round_trip_mid_init_and_poll),
		cmocka_unit_test(test_restore_accepts_reachable_cascade_states),
		cmocka_unit_test(test_restore_version_1_state),
		cmocka_unit_test(test_restore_versions_and_held_line),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_restore_refuses_damaged_states),
		cmocka_unit_test(test_restore_bit_flip_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
