/* SPDX-License-Identifier: MIT */
/*
 * A fake embedder for PIC tests: a log of the INT output as reported
 * through ops->intr and counts of guest errors. Header-only; every test
 * file includes it. Build the fixture on the stack:
 *
 *	struct pic_fixture fx;
 *	fixture_init(&fx);              // power-up state
 *	bios_init(&fx, 0x08, 0x70);     // master 0x11,0x08,0x04,0x01; slave 0x11,0x70,0x02,0x01
 *
 * Every helper checks pic_check_invariants() and that the last level
 * reported through ops->intr equals virq_pic_get_intr().
 */
#ifndef VIRQ_TEST_PIC_HARNESS_H
#define VIRQ_TEST_PIC_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <virq/pic.h>

#include "pic/pic_priv.h"

#define FAKE_MAX_LOG 256

#define M_CMD VIRQ_PIC_MASTER_CMD
#define M_DATA VIRQ_PIC_MASTER_DATA
#define S_CMD VIRQ_PIC_SLAVE_CMD
#define S_DATA VIRQ_PIC_SLAVE_DATA

/* OCW3 values */
#define OCW3_READ_IRR 0x0AU
#define OCW3_READ_ISR 0x0BU
#define OCW3_POLL 0x0CU
#define OCW3_SET_SMM 0x68U
#define OCW3_CLEAR_SMM 0x48U

/* OCW2 values (R SL EOI in bits 7:5) */
#define OCW2_CLEAR_ROTATE_AEOI 0x00U
#define OCW2_EOI 0x20U
#define OCW2_NOP 0x40U
#define OCW2_SEOI(l) (0x60U | (l))
#define OCW2_SET_ROTATE_AEOI 0x80U
#define OCW2_ROTATE_EOI 0xA0U
#define OCW2_SET_PRIO(l) (0xC0U | (l))
#define OCW2_ROTATE_SEOI(l) (0xE0U | (l))

struct fake_env {
	bool intr_log[FAKE_MAX_LOG]; /* every level reported, in order */
	unsigned n_intr;
	bool level; /* the INT level as the embedder holds it */
	unsigned gerr[VIRQ_GERR_COUNT];
	unsigned n_gerr;
};

static inline struct fake_env *fake_of(void *ctx)
{
	return (struct fake_env *)ctx;
}

static void fake_intr(void *ctx, bool level)
{
	struct fake_env *f = fake_of(ctx);

	/* Only changes are reported. */
	assert_true(level != f->level);
	f->level = level;
	if (f->n_intr < FAKE_MAX_LOG)
		f->intr_log[f->n_intr] = level;
	f->n_intr++;
}

static void fake_guest_error(void *ctx, enum virq_guest_error code)
{
	struct fake_env *f = fake_of(ctx);

	if ((unsigned)code < VIRQ_GERR_COUNT)
		f->gerr[code]++;
	f->n_gerr++;
}

static const struct virq_pic_ops fake_ops = {
	.size = sizeof(struct virq_pic_ops),
	.intr = fake_intr,
	.guest_error = fake_guest_error,
};

struct pic_fixture {
	struct virq_pic pic;
	struct fake_env f;
};

static inline void assert_invariants(struct pic_fixture *fx)
{
	assert_int_equal(pic_check_invariants(&fx->pic), 0);
	assert_int_equal(fx->f.level, virq_pic_get_intr(&fx->pic));
}

static inline void fixture_init(struct pic_fixture *fx)
{
	memset(fx, 0xA5, sizeof(*fx)); /* init must not rely on a zeroed object */
	memset(&fx->f, 0, sizeof(fx->f));
	assert_int_equal(virq_pic_init(&fx->pic, &fake_ops, &fx->f), 0);
	assert_invariants(fx);
}

static inline void outb(struct pic_fixture *fx, uint16_t port, uint8_t val)
{
	assert_int_equal(virq_pic_io_write(&fx->pic, port, val), 0);
	assert_invariants(fx);
}

static inline uint8_t inb(struct pic_fixture *fx, uint16_t port)
{
	uint8_t v = 0x5A;

	assert_int_equal(virq_pic_io_read(&fx->pic, port, &v), 0);
	assert_invariants(fx);
	return v;
}

static inline void irq(struct pic_fixture *fx, unsigned n, bool level)
{
	assert_int_equal(virq_pic_set_irq(&fx->pic, n, level), 0);
	assert_invariants(fx);
}

/* An edge: low then high (the line stays high). */
static inline void irq_edge(struct pic_fixture *fx, unsigned n)
{
	irq(fx, n, false);
	irq(fx, n, true);
}

/* An edge pulse: low, high, low. */
static inline void irq_pulse(struct pic_fixture *fx, unsigned n)
{
	irq(fx, n, false);
	irq(fx, n, true);
	irq(fx, n, false);
}

static inline uint8_t intack(struct pic_fixture *fx)
{
	uint8_t v = virq_pic_intack(&fx->pic);

	assert_invariants(fx);
	return v;
}

static inline bool intr(struct pic_fixture *fx)
{
	return virq_pic_get_intr(&fx->pic);
}

/* Register reads through OCW3 (leave the selection at IRR). */
static inline uint8_t read_irr(struct pic_fixture *fx, uint16_t cmd)
{
	outb(fx, cmd, OCW3_READ_IRR);
	return inb(fx, cmd);
}

static inline uint8_t read_isr(struct pic_fixture *fx, uint16_t cmd)
{
	uint8_t v;

	outb(fx, cmd, OCW3_READ_ISR);
	v = inb(fx, cmd);
	outb(fx, cmd, OCW3_READ_IRR);
	return v;
}

/* The full init sequence of one chip: ICW1 0x11, ICW2 base, ICW3, ICW4. */
static inline void chip_init(struct pic_fixture *fx, uint16_t cmd, uint8_t base, uint8_t icw3,
			     uint8_t icw4)
{
	outb(fx, cmd, 0x11);
	outb(fx, (uint16_t)(cmd + 1), base);
	outb(fx, (uint16_t)(cmd + 1), icw3);
	outb(fx, (uint16_t)(cmd + 1), icw4);
}

/* PC BIOS / Linux sequence for both chips, all inputs unmasked. */
static inline void bios_init(struct pic_fixture *fx, uint8_t mbase, uint8_t sbase)
{
	chip_init(fx, M_CMD, mbase, 0x04, 0x01);
	chip_init(fx, S_CMD, sbase, 0x02, 0x01);
}

static inline void save(struct pic_fixture *fx, struct virq_pic_state *st)
{
	memset(st, 0xCC, sizeof(*st));
	assert_int_equal(virq_pic_save(&fx->pic, st), 0);
}

/* The INT levels reported so far equal @exp[0..n). */
static inline void assert_intr_log(struct pic_fixture *fx, const bool *exp, unsigned n)
{
	assert_int_equal(fx->f.n_intr, n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(fx->f.intr_log[i], exp[i]);
}

#endif /* VIRQ_TEST_PIC_HARNESS_H */
