/* SPDX-License-Identifier: MIT */
/*
 * Save/restore (validate, then commit) and the invariant checker the
 * tests and fuzzers run after every operation.
 */
#include "pic_priv.h"

static void chip_save(const struct virq_pic_chip *c, struct virq_pic_chip_state *s)
{
	s->irr = c->irr;
	s->imr = c->imr;
	s->isr = c->isr;
	s->last_irr = c->last_irr;
	s->elcr = c->elcr;
	s->prio_add = c->prio_add;
	s->base = c->base;
	s->init_state = c->init_state;
	s->icw3 = c->icw3;
	s->line = c->line;
	s->flags = c->flags;
}

/*
 * Version 1 had no line byte (it had to be zero) and kept the input levels
 * in last_irr, which it used as both levels and edge-sense latches: its
 * levels are its last_irr.
 */
static void chip_load(struct virq_pic_chip *c, const struct virq_pic_chip_state *s,
		      uint32_t version)
{
	c->irr = s->irr;
	c->imr = s->imr;
	c->isr = s->isr;
	c->last_irr = s->last_irr;
	c->elcr = s->elcr;
	c->prio_add = s->prio_add;
	c->base = s->base;
	c->init_state = s->init_state;
	c->icw3 = s->icw3;
	c->line = version == 1U ? s->last_irr : s->line;
	c->flags = s->flags;
}

VIRQ_API int virq_pic_save(const struct virq_pic *pic, struct virq_pic_state *out)
{
	if (!out)
		return -VIRQ_EINVAL;
	virq_memset(out, 0, sizeof(*out));
	out->version = VIRQ_PIC_STATE_VERSION;
	out->size = sizeof(*out);
	chip_save(&pic->chip[PIC_MASTER], &out->chip[PIC_MASTER]);
	chip_save(&pic->chip[PIC_SLAVE], &out->chip[PIC_SLAVE]);
	out->intr = pic->intr ? 1U : 0U;
	return 0;
}

/*
 * Facts of one chip on their own (see pic_priv.h); 0 or the number of the
 * first that fails. Shared by restore validation and the invariant check.
 */
static int chip_check(const struct virq_pic_chip *c, unsigned idx)
{
	if (c->flags & ~VIRQ_PIC_F_VALID)
		return 1;
	if (c->init_state > VIRQ_PIC_INIT_ICW4)
		return 2;
	if (c->init_state == VIRQ_PIC_INIT_ICW3 && pic_flag(c, VIRQ_PIC_F_SNGL))
		return 3; /* SNGL skips ICW3 */
	if (c->init_state == VIRQ_PIC_INIT_ICW4 && !pic_flag(c, VIRQ_PIC_F_IC4))
		return 4; /* ICW4 only with IC4 */
	if (c->prio_add > 7U)
		return 5;
	if (c->base & 7U)
		return 6; /* ICW2 stores T7-T3 only */
	if (c->elcr & ~pic_elcr_mask(idx))
		return 7; /* forced-edge bits */
	if ((c->irr ^ c->line) & pic_level_mask(c))
		return 8; /* a level input's request is its line */
	if ((c->last_irr ^ c->line) & pic_level_mask(c))
		return 9; /* a level input's sense is its line */
	if (c->last_irr & ~pic_level_mask(c) & ~c->line)
		return 10; /* going low clears an edge input's sense */
	if (c->irr & ~pic_level_mask(c) & c->line & ~c->last_irr)
		return 11; /* high without its sense: held through ICW1, no request */
	return 0;
}

/*
 * Facts of the pair: master input 2 is the slave's INT, and @intr is the
 * master's INT output. 0 or the number of the first that fails (41-44).
 */
static int pair_check(const struct virq_pic_chip *master, const struct virq_pic_chip *slave,
		      bool intr)
{
	bool slave_int = pic_chip_get_irq(slave, false) != PIC_NO_IRQ;

	if (!(master->line & PIC_CASCADE_BIT) != !slave_int)
		return 41;
	if ((master->last_irr ^ master->line) & PIC_CASCADE_BIT)
		return 44; /* the cascade re-arm leaves IR2 sensed while high */
	if ((pic_chip_get_irq(master, true) != PIC_NO_IRQ) != intr)
		return 42;
	if (pic_compute_intr(master, slave) != intr)
		return 43;
	return 0;
}

/* Checks a state of version 1 or 2; reads only. */
static int pic_state_check(const struct virq_pic_state *st)
{
	struct virq_pic_chip chips[2];

	if ((st->version != VIRQ_PIC_STATE_VERSION && st->version != 1U) || st->size != sizeof(*st))
		return -VIRQ_EVERSION;
	if (st->reserved || st->intr > 1U)
		return -VIRQ_ESTATE;
	for (unsigned i = 0; i < 2; i++) {
		if (st->version == 1U && st->chip[i].line)
			return -VIRQ_ESTATE; /* the reserved byte of version 1 */
		chip_load(&chips[i], &st->chip[i], st->version);
		if (chip_check(&chips[i], i))
			return -VIRQ_ESTATE;
	}
	if (pair_check(&chips[PIC_MASTER], &chips[PIC_SLAVE], st->intr != 0))
		return -VIRQ_ESTATE;
	return 0;
}

/* Loads a checked state. Cannot fail. */
static void pic_state_load(struct virq_pic *pic, const struct virq_pic_state *st)
{
	bool intr = st->intr != 0;

	chip_load(&pic->chip[PIC_MASTER], &st->chip[PIC_MASTER], st->version);
	chip_load(&pic->chip[PIC_SLAVE], &st->chip[PIC_SLAVE], st->version);
	if (intr != pic->intr) {
		pic->intr = intr;
		pic->ops->intr(pic->ctx, intr);
	}
}

VIRQ_API int virq_pic_restore(struct virq_pic *pic, const struct virq_pic_state *st)
{
	int err;

	if (!st)
		return -VIRQ_EINVAL;
	err = pic_state_check(st); /* reads only */
	if (err)
		return err;
	pic_state_load(pic, st); /* cannot fail */
	return 0;
}

int pic_check_invariants(const struct virq_pic *pic)
{
	int err;

	for (unsigned i = 0; i < 2; i++) {
		err = chip_check(&pic->chip[i], i);
		if (err)
			return err + 20 * (int)i;
	}
	return pair_check(&pic->chip[PIC_MASTER], &pic->chip[PIC_SLAVE], pic->intr);
}
