/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the 8259A pair + ELCR driven by a stream of (op, args)
 * records that map to the public API, checked after every op.
 *
 * Input: one header byte (bit 0: install the optional guest_error hook;
 * bit 1: start from the PC BIOS init sequence), then records of one op
 * byte (taken modulo OP_COUNT) and fixed-size arguments (see run_op).
 * Bytes past the end read as 0.
 *
 * Ops: port writes and reads on the six real ports and on any 16-bit port,
 * set_irq on IRQs 0-31 (16-31 must be refused), edge pulses, INTA, whole
 * ICW sequences and a menu of OCW2/OCW3 commands (to reach deep states
 * quickly), reset, an explicit save/restore round trip that starts a
 * lockstep twin, restores of damaged states, and NULL arguments.
 *
 * After every op (a failed check prints the line and traps):
 *  - pic_check_invariants() == 0;
 *  - a reference model written from the 8259A datasheet, shaped like QEMU's
 *    i8259 (plus the header's documented choices: input levels kept,
 *    only a change of one is a transition; ICW1 per QEMU, resetting the
 *    edge sense of lines held high; LTIM; non-specific EOI skipping
 *    masked in-service levels in special mask mode; the cascade through
 *    master IR2 as an edge input given a low pulse after a cascaded INTA
 *    and after the master's ICW1; poll byte 0x80|level or 0) predicts the
 *    whole saved state, every value read, every INTA vector, every return
 *    code and the number of guest_error calls: the library's saved state
 *    must equal it byte for byte;
 *  - ops->intr is called exactly when INT changes, with the new level, and
 *    its last level equals virq_pic_get_intr();
 *  - save -> restore into a scratch pair -> save gives identical bytes;
 *  - the same state in version-1 form (no line byte: the levels are
 *    last_irr) is accepted too (every state restore takes has one), and
 *    saves back as version 2 with line = last_irr;
 *  - refused calls (foreign ports, IRQ > 15, damaged states, NULL) leave
 *    the object and the callback log untouched;
 *  - after a round-trip op the twin restored from the first pair runs every
 *    later op in lockstep and must answer identically.
 *
 * Set FUZZ_PIC_TRACE=1 in the environment to print the decoded ops.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virq/pic.h>

#include "pic/pic_priv.h"
#include "../fuzz_common.h"

/* ---- checks ---- */

static bool g_trace;

#define TRACE(...)                                                                                 \
	do {                                                                                       \
		if (g_trace)                                                                       \
			fprintf(stderr, __VA_ARGS__);                                              \
	} while (0)

/* ---- the embedder ---- */

struct env {
	bool level;      /* INT as reported through ops->intr */
	unsigned n_intr; /* calls of ops->intr */
	unsigned n_gerr; /* calls of ops->guest_error */
};

static void cb_intr(void *ctx, bool level)
{
	struct env *e = ctx;

	CHECK(level != e->level); /* changes only */
	e->level = level;
	e->n_intr++;
}

static void cb_guest_error(void *ctx, enum virq_guest_error code)
{
	struct env *e = ctx;

	CHECK(code == VIRQ_GERR_PIC_MODE);
	e->n_gerr++;
}

static const struct virq_pic_ops ops_full = { .size = sizeof(struct virq_pic_ops),
					      .intr = cb_intr,
					      .guest_error = cb_guest_error };
static const struct virq_pic_ops ops_min = { .size = sizeof(struct virq_pic_ops), .intr = cb_intr };

struct inst {
	struct virq_pic pic;
	struct env env;
};

/* ---- the reference model, on saved states (8259A datasheet; QEMU's i8259 shape) ---- */

static uint8_t ref_level_mask(const struct virq_pic_chip_state *c)
{
	return (c->flags & VIRQ_PIC_F_LTIM) ? 0xFFU : c->elcr;
}

/* 0 = highest ... 7; 8 when @mask is empty. */
static unsigned ref_prio(const struct virq_pic_chip_state *c, uint8_t mask)
{
	for (unsigned p = 0; p < 8; p++)
		if (mask & (1U << ((p + c->prio_add) & 7U)))
			return p;
	return 8;
}

static int ref_get_irq(const struct virq_pic_chip_state *c, bool master)
{
	unsigned p = ref_prio(c, (uint8_t)(c->irr & ~c->imr));
	uint8_t m = c->isr;

	if (p == 8)
		return -1;
	if (c->flags & VIRQ_PIC_F_SPECIAL_MASK)
		m &= (uint8_t)~c->imr;
	if (p < ref_prio(c, m))
		return (int)((p + c->prio_add) & 7U);
	/* SFNM (8259A datasheet): only the cascade input passes IR2 in service. */
	if (master && (c->flags & VIRQ_PIC_F_SFNM) && ((p + c->prio_add) & 7U) == 2U &&
	    p < ref_prio(c, (uint8_t)(m & ~0x04U)))
		return 2;
	return -1;
}

/*
 * The line of input @n goes to @level. A level input's request and sense
 * are its line; an edge input latches on a rising edge (its sense is
 * always clear on a low line), and going low clears the sense only.
 */
static void ref_set_input(struct virq_pic_chip_state *c, unsigned n, bool level)
{
	uint8_t m = (uint8_t)(1U << n);
	bool was = (c->line & m) != 0;

	c->line = level ? (uint8_t)(c->line | m) : (uint8_t)(c->line & ~m);
	if (ref_level_mask(c) & m) {
		c->irr = (uint8_t)((c->irr & ~m) | (c->line & m));
		c->last_irr = (uint8_t)((c->last_irr & ~m) | (c->line & m));
	} else if (level && !was) {
		c->irr |= m;
		c->last_irr |= m;
	} else if (!level) {
		c->last_irr &= (uint8_t)~m;
	}
}

static void ref_chip_intack(struct virq_pic_chip_state *c, unsigned n)
{
	if (c->flags & VIRQ_PIC_F_AEOI) {
		if (c->flags & VIRQ_PIC_F_ROTATE_AEOI)
			c->prio_add = (uint8_t)((n + 1U) & 7U);
	} else {
		c->isr |= (uint8_t)(1U << n);
	}
	if (!(ref_level_mask(c) & (1U << n)))
		c->irr &= (uint8_t) ~(1U << n);
}

/* Slave INT drives master input 2; INT is the master's request. */
static void ref_update(struct virq_pic_state *st)
{
	ref_set_input(&st->chip[0], 2, ref_get_irq(&st->chip[1], false) >= 0);
	st->intr = ref_get_irq(&st->chip[0], true) >= 0;
}

static bool ref_port(uint16_t port, unsigned *chip, unsigned *a0)
{
	switch (port) {
	case 0x20:
	case 0x21:
	case 0xA0:
	case 0xA1:
		*chip = port >= 0xA0;
		*a0 = port & 1U;
		return true;
	case 0x4D0:
	case 0x4D1:
		*chip = port & 1U;
		*a0 = 2;
		return true;
	default:
		return false;
	}
}

/* Returns the number of guest_error reports the write should make. */
static unsigned ref_write(struct virq_pic_state *st, unsigned chip, unsigned a0, uint8_t val)
{
	struct virq_pic_chip_state *c = &st->chip[chip];
	unsigned gerr = 0, l = val & 7U;

	if (a0 == 2) {
		uint8_t lm;

		c->elcr = (uint8_t)(val & (chip ? 0xDEU : 0xF8U));
		lm = ref_level_mask(c);
		c->irr = (uint8_t)((c->irr & ~lm) | (c->line & lm));
		c->last_irr = (uint8_t)((c->last_irr & ~lm) | (c->line & lm));
	} else if (a0 == 1) {
		switch (c->init_state) {
		case 0:
			c->imr = val;
			break;
		case 1:
			c->base = (uint8_t)(val & 0xF8U);
			if (!(c->flags & VIRQ_PIC_F_SNGL))
				c->init_state = 2;
			else
				c->init_state = (c->flags & VIRQ_PIC_F_IC4) ? 3 : 0;
			break;
		case 2:
			c->icw3 = val;
			c->init_state = (c->flags & VIRQ_PIC_F_IC4) ? 3 : 0;
			gerr += val != (chip ? 0x02U : 0x04U);
			break;
		default:
			c->flags |= (uint16_t)((val & 0x02U) ? VIRQ_PIC_F_AEOI : 0U);
			c->flags |= (uint16_t)((val & 0x10U) ? VIRQ_PIC_F_SFNM : 0U);
			c->init_state = 0;
			gerr += !(val & 1U);
			break;
		}
	} else if (val & 0x10U) { /* ICW1 */
		uint8_t lm;

		c->flags = (uint16_t)(((val & 1U) ? VIRQ_PIC_F_IC4 : 0U) |
				      ((val & 2U) ? VIRQ_PIC_F_SNGL : 0U) |
				      ((val & 8U) ? VIRQ_PIC_F_LTIM : 0U));
		lm = ref_level_mask(c);
		c->irr = (uint8_t)(c->line & lm);
		c->last_irr = (uint8_t)(c->line & lm);
		c->imr = c->isr = c->prio_add = c->base = c->icw3 = 0;
		c->init_state = 1;
		gerr += (val & 2U) || !(val & 1U);
		/* The master's IR2 is pulsed low; ref_update() raises it again. */
		if (chip == 0)
			ref_set_input(c, 2, false);
	} else if (val & 0x08U) { /* OCW3 */
		if (val & 0x04U)
			c->flags |= VIRQ_PIC_F_POLL;
		if (val & 0x02U)
			c->flags = (uint16_t)((c->flags & ~VIRQ_PIC_F_READ_ISR) |
					      ((val & 1U) ? VIRQ_PIC_F_READ_ISR : 0U));
		if (val & 0x40U)
			c->flags = (uint16_t)((c->flags & ~VIRQ_PIC_F_SPECIAL_MASK) |
					      ((val & 0x20U) ? VIRQ_PIC_F_SPECIAL_MASK : 0U));
	} else { /* OCW2 */
		unsigned cmd = val >> 5, p;

		switch (cmd) {
		case 1:
		case 5:
			/* special mask mode: masked in-service levels are skipped */
			p = ref_prio(c, (c->flags & VIRQ_PIC_F_SPECIAL_MASK)
						? (uint8_t)(c->isr & ~c->imr)
						: c->isr);
			if (p == 8)
				break;
			l = (p + c->prio_add) & 7U;
			c->isr &= (uint8_t) ~(1U << l);
			if (cmd == 5)
				c->prio_add = (uint8_t)((l + 1U) & 7U);
			break;
		case 3:
			c->isr &= (uint8_t) ~(1U << l);
			break;
		case 7:
			c->isr &= (uint8_t) ~(1U << l);
			c->prio_add = (uint8_t)((l + 1U) & 7U);
			break;
		case 4:
			c->flags |= VIRQ_PIC_F_ROTATE_AEOI;
			break;
		case 0:
			c->flags &= (uint16_t)~VIRQ_PIC_F_ROTATE_AEOI;
			break;
		case 6:
			c->prio_add = (uint8_t)((l + 1U) & 7U);
			break;
		default:
			break;
		}
	}
	ref_update(st);
	return gerr;
}

static uint8_t ref_read(struct virq_pic_state *st, unsigned chip, unsigned a0)
{
	struct virq_pic_chip_state *c = &st->chip[chip];
	uint8_t v;
	int n;

	if (a0 == 2)
		return c->elcr;
	if (c->flags & VIRQ_PIC_F_POLL) {
		c->flags &= (uint16_t)~VIRQ_PIC_F_POLL;
		n = ref_get_irq(c, chip == 0);
		if (n < 0) {
			v = 0;
		} else {
			ref_chip_intack(c, (unsigned)n);
			v = (uint8_t)(0x80U | (unsigned)n);
		}
		ref_update(st);
		return v;
	}
	if (a0 == 1)
		return c->imr;
	return (c->flags & VIRQ_PIC_F_READ_ISR) ? c->isr : c->irr;
}

static uint8_t ref_intack(struct virq_pic_state *st)
{
	struct virq_pic_chip_state *m = &st->chip[0], *s = &st->chip[1];
	int n = ref_get_irq(m, true), k;
	uint8_t v;

	if (n < 0)
		return (uint8_t)(m->base + 7U);
	if (n == 2) {
		k = ref_get_irq(s, false);
		if (k >= 0)
			ref_chip_intack(s, (unsigned)k);
		else
			k = 7;
		v = (uint8_t)(s->base + (unsigned)k);
	} else {
		v = (uint8_t)(m->base + (unsigned)n);
	}
	ref_chip_intack(m, (unsigned)n);
	if (n == 2)
		ref_set_input(m, 2, false); /* IR2 pulsed low after a cascaded INTA */
	ref_update(st);
	return v;
}

/* A version-1 state as version 2: the levels are last_irr. */
static struct virq_pic_state ref_upgrade(const struct virq_pic_state *st)
{
	struct virq_pic_state up = *st;

	if (up.version == 1) {
		up.version = 2;
		for (unsigned i = 0; i < 2; i++)
			up.chip[i].line = up.chip[i].last_irr;
	}
	return up;
}

/* Facts of a saved state (what restore must accept), without the library's checker. */
static bool ref_state_ok(const struct virq_pic_state *in)
{
	struct virq_pic_state up = ref_upgrade(in);
	const struct virq_pic_state *st = &up;

	if ((in->version != 1 && in->version != 2) || in->size != sizeof(*in))
		return false;
	if (in->reserved || in->intr > 1)
		return false;
	if (in->version == 1 && (in->chip[0].line || in->chip[1].line))
		return false;
	for (unsigned i = 0; i < 2; i++) {
		const struct virq_pic_chip_state *c = &st->chip[i];
		uint8_t lm = ref_level_mask(c), em = (uint8_t)~lm;

		if ((c->flags & ~VIRQ_PIC_F_VALID) || c->init_state > 3)
			return false;
		if (c->init_state == 2 && (c->flags & VIRQ_PIC_F_SNGL))
			return false;
		if (c->init_state == 3 && !(c->flags & VIRQ_PIC_F_IC4))
			return false;
		if (c->prio_add > 7 || (c->base & 7U) || (c->elcr & ~(i ? 0xDEU : 0xF8U)))
			return false;
		if (((c->irr ^ c->line) | (c->last_irr ^ c->line)) & lm)
			return false; /* level: request and sense are the line */
		if (c->last_irr & em & ~c->line)
			return false; /* edge: sense only on a high line */
		if (c->irr & em & c->line & ~c->last_irr)
			return false; /* edge: held through ICW1, no request */
	}
	if (!!(st->chip[0].line & 0x04U) != (ref_get_irq(&st->chip[1], false) >= 0))
		return false;
	if ((st->chip[0].line ^ st->chip[0].last_irr) & 0x04U)
		return false; /* IR2 is re-sensed after the master's ICW1 */
	return st->intr == (ref_get_irq(&st->chip[0], true) >= 0);
}

/* ---- the instances ---- */

struct fuzz {
	struct inst a, b, scratch;
	const struct virq_pic_ops *ops;
	bool twin; /* b runs in lockstep with a */
};

static void inst_init(struct fuzz *f, struct inst *x)
{
	memset(x, 0xA5, sizeof(*x));
	memset(&x->env, 0, sizeof(x->env));
	CHECK(virq_pic_init(&x->pic, f->ops, &x->env) == 0);
}

static struct virq_pic_state save_of(const struct inst *x)
{
	struct virq_pic_state st;

	memset(&st, 0x5A, sizeof(st));
	CHECK(virq_pic_save(&x->pic, &st) == 0);
	return st;
}

/* Invariants of one instance, and the save -> restore -> save identity. */
static void check_inst(struct fuzz *f, struct inst *x)
{
	struct virq_pic_state st = save_of(x), st2, v1, up;

	CHECK(pic_check_invariants(&x->pic) == 0);
	CHECK(x->env.level == virq_pic_get_intr(&x->pic));
	CHECK(st.intr == (uint32_t)virq_pic_get_intr(&x->pic));
	CHECK(ref_state_ok(&st));
	inst_init(f, &f->scratch);
	CHECK(virq_pic_restore(&f->scratch.pic, &st) == 0);
	CHECK(pic_check_invariants(&f->scratch.pic) == 0);
	CHECK(f->scratch.env.level == virq_pic_get_intr(&f->scratch.pic));
	CHECK(f->scratch.env.n_intr == (st.intr ? 1U : 0U));
	st2 = save_of(&f->scratch);
	CHECK(memcmp(&st, &st2, sizeof(st)) == 0);

	/* The version-1 form of the same state: no line byte, levels from last_irr. */
	v1 = st;
	v1.version = 1;
	v1.chip[0].line = v1.chip[1].line = 0;
	inst_init(f, &f->scratch);
	CHECK(ref_state_ok(&v1));
	CHECK(virq_pic_restore(&f->scratch.pic, &v1) == 0);
	up = ref_upgrade(&v1);
	CHECK(pic_check_invariants(&f->scratch.pic) == 0);
	st2 = save_of(&f->scratch);
	CHECK(memcmp(&up, &st2, sizeof(up)) == 0);
}

/* What one op did to one instance, compared between the twins. */
struct res {
	int rc;
	uint8_t val;
};

/* The callback log moved as the model says: one intr call per change. */
static void check_callbacks(const struct fuzz *f, const struct env *before, const struct env *after,
			    bool intr_before, bool intr_after, unsigned gerr)
{
	CHECK(after->n_intr == before->n_intr + (intr_before != intr_after));
	CHECK(after->level == intr_after);
	if (f->ops->guest_error)
		CHECK(after->n_gerr == before->n_gerr + gerr);
	else
		CHECK(after->n_gerr == 0);
}

/* A refused call: nothing at all changed. */
static void check_untouched(const struct inst *x, const struct virq_pic *pic, const struct env *env)
{
	CHECK(memcmp(&x->pic, pic, sizeof(*pic)) == 0);
	CHECK(memcmp(&x->env, env, sizeof(*env)) == 0);
}

static const uint16_t real_ports[6] = { 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1 };

/* OCW2/OCW3 commands worth reaching often. */
static const uint8_t ocw_menu[] = {
	0x20, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0xA0, 0xE0, 0xE3, 0xE7,
	0x80, 0x00, 0xC0, 0xC2, 0xC5, 0xC7, 0x40, 0x0A, 0x0B, 0x0C, 0x0F, 0x68, 0x48,
};

enum op_code {
	OP_WRITE_REAL,
	OP_READ_REAL,
	OP_WRITE_ANY,
	OP_READ_ANY,
	OP_SET_IRQ,
	OP_PULSE,
	OP_INTACK,
	OP_INIT_SEQ,
	OP_OCW,
	OP_ROUND_TRIP,
	OP_RESET,
	OP_DAMAGED_RESTORE,
	OP_NULL_ARGS,
	OP_COUNT
};

struct op {
	unsigned code;
	uint16_t port;
	uint8_t val;
	unsigned irq;
	bool level;
	uint8_t seq[5];
	uint8_t off[2], mask[2];
};

static void decode_op(struct input *in, struct op *op)
{
	uint8_t b;

	memset(op, 0, sizeof(*op));
	op->code = in_u8(in) % OP_COUNT;
	switch (op->code) {
	case OP_WRITE_REAL:
		op->port = real_ports[in_u8(in) % 6U];
		op->val = in_u8(in);
		break;
	case OP_READ_REAL:
		op->port = real_ports[in_u8(in) % 6U];
		break;
	case OP_WRITE_ANY:
		op->port = in_u16(in);
		op->val = in_u8(in);
		break;
	case OP_READ_ANY:
		op->port = in_u16(in);
		break;
	case OP_SET_IRQ:
	case OP_PULSE:
		b = in_u8(in);
		op->irq = b & 0x1FU; /* 16-31: refused */
		op->level = (b & 0x80U) != 0;
		break;
	case OP_INIT_SEQ:
		for (unsigned i = 0; i < 5; i++)
			op->seq[i] = in_u8(in);
		break;
	case OP_OCW:
		op->seq[0] = in_u8(in);
		op->seq[1] = in_u8(in);
		break;
	case OP_DAMAGED_RESTORE:
		for (unsigned i = 0; i < 2; i++) {
			op->off[i] = in_u8(in);
			op->mask[i] = in_u8(in);
		}
		break;
	default:
		break;
	}
}

/* One port write on one instance, checked against the model. */
static struct res do_write(struct fuzz *f, struct inst *x, uint16_t port, uint8_t val)
{
	struct virq_pic_state before = save_of(x), expect = before, after;
	struct virq_pic pic0 = x->pic;
	struct env env0 = x->env;
	unsigned chip, a0, gerr;
	struct res r = { 0, 0 };

	r.rc = virq_pic_io_write(&x->pic, port, val);
	if (!ref_port(port, &chip, &a0)) {
		CHECK(r.rc == -VIRQ_ENOENT);
		check_untouched(x, &pic0, &env0);
		return r;
	}
	CHECK(r.rc == 0);
	gerr = ref_write(&expect, chip, a0, val);
	after = save_of(x);
	CHECK(memcmp(&expect, &after, sizeof(after)) == 0);
	check_callbacks(f, &env0, &x->env, before.intr, after.intr, gerr);
	return r;
}

static struct res do_read(struct fuzz *f, struct inst *x, uint16_t port)
{
	struct virq_pic_state before = save_of(x), expect = before, after;
	struct virq_pic pic0 = x->pic;
	struct env env0 = x->env;
	unsigned chip, a0;
	struct res r = { 0, 0x77 };

	r.rc = virq_pic_io_read(&x->pic, port, &r.val);
	if (!ref_port(port, &chip, &a0)) {
		CHECK(r.rc == -VIRQ_ENOENT && r.val == 0x77);
		check_untouched(x, &pic0, &env0);
		return r;
	}
	CHECK(r.rc == 0);
	CHECK(r.val == ref_read(&expect, chip, a0));
	after = save_of(x);
	CHECK(memcmp(&expect, &after, sizeof(after)) == 0);
	check_callbacks(f, &env0, &x->env, before.intr, after.intr, 0);
	return r;
}

static struct res do_set_irq(struct fuzz *f, struct inst *x, unsigned irq, bool level)
{
	struct virq_pic_state before = save_of(x), expect = before, after;
	struct virq_pic pic0 = x->pic;
	struct env env0 = x->env;
	struct res r = { 0, 0 };

	r.rc = virq_pic_set_irq(&x->pic, irq, level);
	if (irq > 15) {
		CHECK(r.rc == -VIRQ_EINVAL);
		check_untouched(x, &pic0, &env0);
		return r;
	}
	CHECK(r.rc == 0);
	if (irq == 2) {
		check_untouched(x, &pic0, &env0);
		return r;
	}
	ref_set_input(&expect.chip[irq >> 3], irq & 7U, level);
	ref_update(&expect);
	after = save_of(x);
	CHECK(memcmp(&expect, &after, sizeof(after)) == 0);
	check_callbacks(f, &env0, &x->env, before.intr, after.intr, 0);
	return r;
}

static struct res do_intack(struct fuzz *f, struct inst *x)
{
	struct virq_pic_state before = save_of(x), expect = before, after;
	struct env env0 = x->env;
	struct res r = { 0, 0 };

	r.val = virq_pic_intack(&x->pic);
	CHECK(r.val == ref_intack(&expect));
	after = save_of(x);
	CHECK(memcmp(&expect, &after, sizeof(after)) == 0);
	check_callbacks(f, &env0, &x->env, before.intr, after.intr, 0);
	return r;
}

static struct res do_reset(struct fuzz *f, struct inst *x)
{
	struct virq_pic_state before = save_of(x), after;
	struct env env0 = x->env;
	struct res r = { 0, 0 };

	virq_pic_reset(&x->pic);
	after = save_of(x);
	for (unsigned i = 0; i < 2; i++) {
		static const struct virq_pic_chip_state zero;

		CHECK(memcmp(&after.chip[i], &zero, sizeof(zero)) == 0);
	}
	CHECK(after.intr == 0);
	check_callbacks(f, &env0, &x->env, before.intr, false, 0);
	return r;
}

/* A damaged copy of the current state: refused untouched, or taken as is. */
static struct res do_damaged_restore(struct fuzz *f, struct inst *x, const struct op *op)
{
	struct virq_pic_state before = save_of(x), bad = before, after;
	struct virq_pic pic0 = x->pic;
	struct env env0 = x->env;
	struct res r = { 0, 0 };

	for (unsigned i = 0; i < 2; i++)
		((uint8_t *)&bad)[op->off[i] % sizeof(bad)] ^= op->mask[i];
	r.rc = virq_pic_restore(&x->pic, &bad);
	CHECK(!r.rc == ref_state_ok(&bad)); /* refused exactly when damaged */
	if (r.rc) {
		CHECK(r.rc == -VIRQ_ESTATE || r.rc == -VIRQ_EVERSION);
		check_untouched(x, &pic0, &env0);
		return r;
	}
	after = save_of(x);
	bad = ref_upgrade(&bad); /* version 1 comes back as version 2 */
	CHECK(memcmp(&bad, &after, sizeof(bad)) == 0);
	check_callbacks(f, &env0, &x->env, before.intr, after.intr, 0);
	return r;
}

static struct res do_null_args(struct inst *x)
{
	struct virq_pic pic0 = x->pic;
	struct env env0 = x->env;
	struct res r = { 0, 0 };

	CHECK(virq_pic_save(&x->pic, NULL) == -VIRQ_EINVAL);
	CHECK(virq_pic_restore(&x->pic, NULL) == -VIRQ_EINVAL);
	CHECK(virq_pic_io_read(&x->pic, 0x20, NULL) == -VIRQ_EINVAL);
	check_untouched(x, &pic0, &env0);
	return r;
}

static struct res run_op(struct fuzz *f, struct inst *x, const struct op *op)
{
	struct res r = { 0, 0 };

	switch (op->code) {
	case OP_WRITE_REAL:
	case OP_WRITE_ANY:
		return do_write(f, x, op->port, op->val);
	case OP_READ_REAL:
	case OP_READ_ANY:
		return do_read(f, x, op->port);
	case OP_SET_IRQ:
		return do_set_irq(f, x, op->irq, op->level);
	case OP_PULSE:
		do_set_irq(f, x, op->irq, true);
		return do_set_irq(f, x, op->irq, false);
	case OP_INTACK:
		return do_intack(f, x);
	case OP_INIT_SEQ: {
		uint16_t cmd = (op->seq[0] & 1U) ? 0xA0 : 0x20;

		do_write(f, x, cmd, (uint8_t)(op->seq[1] | 0x10U));
		for (unsigned i = 2; i < 5; i++)
			do_write(f, x, (uint16_t)(cmd + 1), op->seq[i]);
		return r;
	}
	case OP_OCW:
		return do_write(f, x, (op->seq[0] & 1U) ? 0xA0 : 0x20,
				(uint8_t)(ocw_menu[op->seq[1] % sizeof(ocw_menu)] |
					  (op->seq[0] & 0x7U)));
	case OP_RESET:
		return do_reset(f, x);
	case OP_DAMAGED_RESTORE:
		return do_damaged_restore(f, x, op);
	case OP_NULL_ARGS:
		return do_null_args(x);
	default:
		return r;
	}
}

static const char *const op_names[OP_COUNT] = {
	"write", "read", "write_any",  "read_any", "set_irq", "pulse",     "intack",
	"init",  "ocw",  "round_trip", "reset",    "damaged", "null_args",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz fz;
	struct fuzz *f = &fz;
	struct input in = { data, size };
	uint8_t hdr;

	g_trace = getenv("FUZZ_PIC_TRACE") != NULL;
	memset(f, 0, sizeof(*f));
	hdr = in_u8(&in);
	f->ops = (hdr & 1U) ? &ops_full : &ops_min;
	inst_init(f, &f->a);
	check_inst(f, &f->a);
	if (hdr & 2U) {
		static const uint8_t bios[8] = { 0x11, 0x08, 0x04, 0x01, 0x11, 0x70, 0x02, 0x01 };

		for (unsigned i = 0; i < 8; i++)
			do_write(f, &f->a, (uint16_t)((i < 4 ? 0x20 : 0xA0) + (i % 4 != 0)),
				 bios[i]);
	}
	TRACE("hdr %#x\n", hdr);

	for (unsigned steps = 0; in.n && steps < 4096; steps++) {
		struct op op;
		struct res ra, rb;

		decode_op(&in, &op);
		TRACE("%s port=%#x val=%#x irq=%u level=%d\n", op_names[op.code], op.port, op.val,
		      op.irq, op.level);
		if (op.code == OP_ROUND_TRIP) {
			struct virq_pic_state st = save_of(&f->a), st2;

			inst_init(f, &f->b);
			CHECK(virq_pic_restore(&f->b.pic, &st) == 0);
			st2 = save_of(&f->b);
			CHECK(memcmp(&st, &st2, sizeof(st)) == 0);
			CHECK(memcmp(f->a.pic.chip, f->b.pic.chip, sizeof(f->a.pic.chip)) == 0);
			CHECK(f->b.env.level == f->a.env.level);
			f->twin = true;
			continue;
		}
		ra = run_op(f, &f->a, &op);
		check_inst(f, &f->a);
		if (f->twin) {
			struct virq_pic_state sa, sb;

			rb = run_op(f, &f->b, &op);
			check_inst(f, &f->b);
			CHECK(ra.rc == rb.rc && ra.val == rb.val);
			sa = save_of(&f->a);
			sb = save_of(&f->b);
			CHECK(memcmp(&sa, &sb, sizeof(sa)) == 0);
			CHECK(f->a.env.level == f->b.env.level);
		}
	}
	return 0;
}
