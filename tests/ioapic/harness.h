/* SPDX-License-Identifier: MIT */
/*
 * A fake embedder for I/O APIC tests: the deliver hook records every
 * message (pin, address, data, the entry at send time, the nesting depth)
 * and returns a configurable accept count; storm and guest-error reports
 * are counted. A test may hang its own action on deliver (re-entry tests).
 * Header-only; every test file includes it. Build the fixture on the stack:
 *
 *	struct ioapic_fixture fx;
 *	fixture_init(&fx, NULL);          // 24 pins, version 0x20
 *	fx.f.accept = 1;                  // one LAPIC accepts each message
 */
#ifndef VIRQ_TEST_IOAPIC_HARNESS_H
#define VIRQ_TEST_IOAPIC_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <virq/ioapic.h>

#include "ioapic/ioapic_priv.h"

#define FAKE_MAX_LOG 512

struct msg_rec {
	unsigned pin;
	uint64_t addr;
	uint32_t data;
	uint64_t rte; /* the entry as the hook saw it */
	unsigned depth;
};

struct fake_env {
	struct virq_ioapic *io;
	unsigned accept;                      /* returned by deliver */
	int accept_pin[VIRQ_IOAPIC_MAX_PINS]; /* >= 0: overrides accept for that pin */
	struct msg_rec msgs[FAKE_MAX_LOG];
	unsigned n_msgs;
	unsigned per_pin[VIRQ_IOAPIC_MAX_PINS];
	unsigned depth, max_depth;
	void (*action)(struct fake_env *f, unsigned pin); /* inside deliver, after recording */
	unsigned action_calls;
	unsigned storms[VIRQ_IOAPIC_MAX_PINS];
	unsigned n_storms;
	unsigned gerr[VIRQ_GERR_COUNT];
	unsigned n_gerr;
	uintptr_t stack_lo, stack_hi; /* address range of deliver frames */
	void *user;
};

static inline struct fake_env *fake_of(void *ctx)
{
	return (struct fake_env *)ctx;
}

static unsigned fake_deliver(void *ctx, unsigned pin, uint64_t addr, uint32_t data)
{
	struct fake_env *f = fake_of(ctx);
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	unsigned ret;

	assert_true(pin < f->io->cfg.pins);
	/* Never a masked entry, never from inside another delivery. */
	assert_false(f->io->rte[pin] & VIRQ_IOAPIC_RTE_MASKED);
	f->depth++;
	if (f->depth > f->max_depth)
		f->max_depth = f->depth;
	if (!f->stack_lo || sp < f->stack_lo)
		f->stack_lo = sp;
	if (sp > f->stack_hi)
		f->stack_hi = sp;
	if (f->n_msgs < FAKE_MAX_LOG) {
		struct msg_rec *m = &f->msgs[f->n_msgs];

		m->pin = pin;
		m->addr = addr;
		m->data = data;
		m->rte = f->io->rte[pin];
		m->depth = f->depth;
	}
	f->n_msgs++;
	f->per_pin[pin]++;
	ret = f->accept_pin[pin] >= 0 ? (unsigned)f->accept_pin[pin] : f->accept;
	if (f->action) {
		f->action_calls++;
		f->action(f, pin);
	}
	f->depth--;
	return ret;
}

static void fake_storm(void *ctx, unsigned pin)
{
	struct fake_env *f = fake_of(ctx);

	assert_true(pin < f->io->cfg.pins);
	f->storms[pin]++;
	f->n_storms++;
}

static void fake_guest_error(void *ctx, enum virq_guest_error code)
{
	struct fake_env *f = fake_of(ctx);

	if ((unsigned)code < VIRQ_GERR_COUNT)
		f->gerr[code]++;
	f->n_gerr++;
}

static const struct virq_ioapic_ops fake_ops = {
	.size = sizeof(struct virq_ioapic_ops),
	.deliver = fake_deliver,
	.storm = fake_storm,
	.guest_error = fake_guest_error,
};

/* deliver only: optional hooks absent. */
static const struct virq_ioapic_ops fake_ops_min = {
	.size = sizeof(struct virq_ioapic_ops),
	.deliver = fake_deliver,
};

struct ioapic_fixture {
	struct virq_ioapic io;
	struct fake_env f;
	struct virq_ioapic_config cfg;
};

static inline void fake_reset(struct fake_env *f, struct virq_ioapic *io)
{
	memset(f, 0, sizeof(*f));
	f->io = io;
	for (unsigned p = 0; p < VIRQ_IOAPIC_MAX_PINS; p++)
		f->accept_pin[p] = -1;
	f->accept = 1;
}

/* Clears the logs, keeps the settings (accept counts, action). */
static inline void fake_clear_log(struct fake_env *f)
{
	f->n_msgs = 0;
	memset(f->per_pin, 0, sizeof(f->per_pin));
	memset(f->storms, 0, sizeof(f->storms));
	f->n_storms = 0;
	memset(f->gerr, 0, sizeof(f->gerr));
	f->n_gerr = 0;
	f->max_depth = 0;
	f->action_calls = 0;
}

static inline struct virq_ioapic_config fixture_config(uint8_t version, uint8_t pins)
{
	struct virq_ioapic_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.version = version;
	cfg.pins = pins;
	return cfg;
}

static inline void fixture_init_ops(struct ioapic_fixture *fx, const struct virq_ioapic_config *cfg,
				    const struct virq_ioapic_ops *ops)
{
	fake_reset(&fx->f, &fx->io);
	fx->cfg = cfg ? *cfg : fixture_config(0, 0);
	assert_int_equal(virq_ioapic_init(&fx->io, &fx->cfg, ops, &fx->f), 0);
	assert_int_equal(ioapic_check_invariants(&fx->io), 0);
}

static inline void fixture_init(struct ioapic_fixture *fx, const struct virq_ioapic_config *cfg)
{
	fixture_init_ops(fx, cfg, &fake_ops);
}

static inline void assert_invariants(struct ioapic_fixture *fx)
{
	assert_int_equal(ioapic_check_invariants(&fx->io), 0);
}

/* ---- guest register access ---- */

static inline uint32_t mmio_r(struct ioapic_fixture *fx, uint32_t off)
{
	uint64_t v = 0xDEADBEEFDEADBEEFULL;

	assert_int_equal(virq_ioapic_mmio_read(&fx->io, off, 4, &v), 0);
	assert_true(v <= 0xFFFFFFFFULL);
	return (uint32_t)v;
}

static inline void mmio_w(struct ioapic_fixture *fx, uint32_t off, uint32_t val)
{
	assert_int_equal(virq_ioapic_mmio_write(&fx->io, off, 4, val), 0);
}

static inline uint32_t reg_r(struct ioapic_fixture *fx, uint8_t index)
{
	mmio_w(fx, VIRQ_IOAPIC_IOREGSEL, index);
	return mmio_r(fx, VIRQ_IOAPIC_IOWIN);
}

static inline void reg_w(struct ioapic_fixture *fx, uint8_t index, uint32_t val)
{
	mmio_w(fx, VIRQ_IOAPIC_IOREGSEL, index);
	mmio_w(fx, VIRQ_IOAPIC_IOWIN, val);
}

/* A whole entry through the window: high half first, then low (Linux order). */
static inline void rte_w(struct ioapic_fixture *fx, unsigned pin, uint64_t rte)
{
	reg_w(fx, (uint8_t)(VIRQ_IOAPIC_REG_RTE0 + 2 * pin + 1), (uint32_t)(rte >> 32));
	reg_w(fx, (uint8_t)(VIRQ_IOAPIC_REG_RTE0 + 2 * pin), (uint32_t)rte);
}

static inline uint64_t rte_r(struct ioapic_fixture *fx, unsigned pin)
{
	uint64_t lo = reg_r(fx, (uint8_t)(VIRQ_IOAPIC_REG_RTE0 + 2 * pin));
	uint64_t hi = reg_r(fx, (uint8_t)(VIRQ_IOAPIC_REG_RTE0 + 2 * pin + 1));

	return lo | (hi << 32);
}

static inline uint64_t rte_get(struct ioapic_fixture *fx, unsigned pin)
{
	uint64_t v = 0;

	assert_int_equal(virq_ioapic_get_rte(&fx->io, pin, &v), 0);
	return v;
}

static inline bool remote_irr(struct ioapic_fixture *fx, unsigned pin)
{
	return (rte_get(fx, pin) & VIRQ_IOAPIC_RTE_REMOTE_IRR) != 0;
}

static inline void pin_set(struct ioapic_fixture *fx, unsigned pin, bool level)
{
	assert_int_equal(virq_ioapic_set_pin(&fx->io, pin, level), 0);
	assert_invariants(fx);
}

static inline void eoi(struct ioapic_fixture *fx, uint8_t vector)
{
	virq_ioapic_eoi(&fx->io, vector);
	assert_invariants(fx);
}

/* ---- entries ---- */

#define RTE_EDGE(vec, dest) ((uint64_t)(vec) | ((uint64_t)(dest) << VIRQ_IOAPIC_RTE_DEST_SHIFT))
#define RTE_LEVEL(vec, dest) (RTE_EDGE(vec, dest) | VIRQ_IOAPIC_RTE_LEVEL)

static inline uint8_t rte_vector(uint64_t rte)
{
	return (uint8_t)(rte & VIRQ_IOAPIC_RTE_VECTOR_MASK);
}

/* The message an entry produces, per SDM 10.11, computed here independently. */
static inline uint64_t expect_addr(uint64_t rte)
{
	return 0xFEE00000ULL | (((rte >> 56) & 0xFFU) << 12) | (((rte >> 48) & 0xFFU) << 4) |
	       (((rte >> 11) & 1U) << 2);
}

static inline uint32_t expect_data(uint64_t rte)
{
	uint32_t d = (uint32_t)(rte & 0xFFU) | (uint32_t)(((rte >> 8) & 7U) << 8);

	if (rte & (1ULL << 15))
		d |= (1U << 15) | (1U << 14);
	return d;
}

static inline void assert_msg(struct ioapic_fixture *fx, unsigned i, unsigned pin, uint64_t rte)
{
	assert_true(i < fx->f.n_msgs);
	assert_int_equal(fx->f.msgs[i].pin, pin);
	assert_int_equal(fx->f.msgs[i].addr, expect_addr(rte));
	assert_int_equal(fx->f.msgs[i].data, expect_data(rte));
}

#endif /* VIRQ_TEST_IOAPIC_HARNESS_H */
