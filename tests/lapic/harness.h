/* SPDX-License-Identifier: MIT */
/*
 * A fake embedder for LAPIC tests: a hand-driven clock, a recorded host
 * timer, and logs of kicks, IPIs, level EOIs and guest errors. Header-only;
 * every test file includes it. Build the fixture on the stack:
 *
 *	struct lapic_fixture fx;
 *	fixture_init(&fx, NULL);          // defaults, or pass a config
 *	fixture_sw_enable(&fx);           // SVR = 0x1FF
 */
#ifndef VIRQ_TEST_LAPIC_HARNESS_H
#define VIRQ_TEST_LAPIC_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <virq/lapic.h>

#include "lapic/lapic_priv.h"

#define FAKE_MAX_LOG 256

struct fake_env {
	uint64_t now; /* ns, returned by now_ns */
	uint64_t tsc; /* returned by guest_tsc when use_guest_tsc */
	bool use_guest_tsc;
	unsigned kicks;
	bool timer_armed;
	uint64_t timer_deadline;
	unsigned timer_arms;
	unsigned timer_cancels;
	struct virq_apic_msg ipis[FAKE_MAX_LOG];
	unsigned n_ipis;
	uint8_t eois[FAKE_MAX_LOG];
	unsigned n_eois;
	unsigned gerr[VIRQ_GERR_COUNT];
	unsigned n_gerr;
};

static inline struct fake_env *fake_of(void *ctx)
{
	return (struct fake_env *)ctx;
}

static void fake_kick(void *ctx)
{
	fake_of(ctx)->kicks++;
}

static uint64_t fake_now(void *ctx)
{
	return fake_of(ctx)->now;
}

static void fake_timer_arm(void *ctx, uint64_t deadline)
{
	struct fake_env *f = fake_of(ctx);

	f->timer_armed = true;
	f->timer_deadline = deadline;
	f->timer_arms++;
}

static void fake_timer_cancel(void *ctx)
{
	struct fake_env *f = fake_of(ctx);

	f->timer_armed = false;
	f->timer_cancels++;
}

static void fake_send_ipi(void *ctx, const struct virq_apic_msg *msg)
{
	struct fake_env *f = fake_of(ctx);

	if (f->n_ipis < FAKE_MAX_LOG)
		f->ipis[f->n_ipis] = *msg;
	f->n_ipis++;
}

static void fake_eoi_level(void *ctx, uint8_t vector)
{
	struct fake_env *f = fake_of(ctx);

	if (f->n_eois < FAKE_MAX_LOG)
		f->eois[f->n_eois] = vector;
	f->n_eois++;
}

static void fake_guest_error(void *ctx, enum virq_guest_error code)
{
	struct fake_env *f = fake_of(ctx);

	if ((unsigned)code < VIRQ_GERR_COUNT)
		f->gerr[code]++;
	f->n_gerr++;
}

static uint64_t fake_guest_tsc(void *ctx)
{
	return fake_of(ctx)->tsc;
}

/* All hooks, guest_tsc included (the fixture decides with use_guest_tsc). */
static uint64_t fake_guest_tsc_or_ns(void *ctx)
{
	struct fake_env *f = fake_of(ctx);

	return f->use_guest_tsc ? f->tsc : f->now; /* 1 GHz TSC when not overridden */
}

static const struct virq_lapic_ops fake_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = fake_kick,
	.now_ns = fake_now,
	.timer_arm = fake_timer_arm,
	.timer_cancel = fake_timer_cancel,
	.send_ipi = fake_send_ipi,
	.eoi_level = fake_eoi_level,
	.guest_error = fake_guest_error,
	.guest_tsc = fake_guest_tsc_or_ns,
};

struct lapic_fixture {
	uint32_t page[1024] __attribute__((aligned(4096)));
	struct virq_lapic apic;
	struct fake_env f;
	struct virq_lapic_config cfg;
};

/* Default test config: APIC ID 0, BSP, x2APIC and TSC deadline capable,
 * directed EOI off, 1 GHz timer input, 1 GHz TSC, no periodic-timer floor
 * (1 ns: the architectural timer; tests of the floor set their own). */
static inline struct virq_lapic_config fixture_default_config(void)
{
	struct virq_lapic_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.apic_id = 0;
	cfg.bsp = true;
	cfg.x2apic = true;
	cfg.tsc_deadline = true;
	cfg.tsc_khz = 1000000; /* 1 GHz: 1 TSC cycle = 1 ns */
	cfg.timer_min_period_ns = 1;
	return cfg;
}

static inline void fixture_init(struct lapic_fixture *fx, const struct virq_lapic_config *cfg)
{
	memset(&fx->f, 0, sizeof(fx->f));
	fx->cfg = cfg ? *cfg : fixture_default_config();
	assert_int_equal(virq_lapic_init(&fx->apic, fx->page, &fx->cfg, &fake_ops, &fx->f), 0);
	assert_int_equal(lapic_check_invariants(&fx->apic), 0);
}

static inline uint32_t mmio_r(struct lapic_fixture *fx, uint32_t off)
{
	uint64_t v = 0xDEADBEEFDEADBEEFULL;

	assert_int_equal(virq_lapic_mmio_read(&fx->apic, off, 4, &v), 0);
	return (uint32_t)v;
}

static inline void mmio_w(struct lapic_fixture *fx, uint32_t off, uint32_t val)
{
	assert_int_equal(virq_lapic_mmio_write(&fx->apic, off, 4, val), 0);
}

/* RDMSR: returns the verdict (0 or VIRQ_GP); *val receives the value. */
static inline int msr_r(struct lapic_fixture *fx, uint32_t msr, uint64_t *val)
{
	return virq_lapic_msr_read(&fx->apic, msr, val);
}

static inline int msr_w(struct lapic_fixture *fx, uint32_t msr, uint64_t val)
{
	return virq_lapic_msr_write(&fx->apic, msr, val);
}

/* Software-enable in xAPIC mode: SVR = 0x1FF (spurious vector 0xFF). */
static inline void fixture_sw_enable(struct lapic_fixture *fx)
{
	mmio_w(fx, VIRQ_LAPIC_REG_SVR, 0x1FFU);
}

/* xAPIC -> x2APIC, then software-enable through the x2APIC SVR MSR. */
static inline void fixture_x2apic_enable(struct lapic_fixture *fx)
{
	assert_int_equal(virq_lapic_set_apic_base(&fx->apic,
						  VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
							  VIRQ_APIC_BASE_EXTD |
							  (fx->cfg.bsp ? VIRQ_APIC_BASE_BSP : 0),
						  false),
			 0);
	assert_int_equal(msr_w(fx, 0x80F, 0x1FF), 0);
}

/* Vector v set in the APIC-page bitmap at @base (IRR/ISR/TMR offset)? */
static inline bool page_vec(struct lapic_fixture *fx, uint32_t base, uint8_t v)
{
	return (fx->page[(base >> 2) + (v >> 5) * 4] >> (v & 31)) & 1U;
}

static inline void assert_invariants(struct lapic_fixture *fx)
{
	assert_int_equal(lapic_check_invariants(&fx->apic), 0);
}

#endif /* VIRQ_TEST_LAPIC_HARNESS_H */
