/* SPDX-License-Identifier: MIT */
/*
 * EOI: Remote IRR cleared on every level entry of the vector and
 * re-delivery of those still asserted, the version-0x20 EOI register,
 * storm throttling and virq_ioapic_service(), and re-entry from inside
 * ops->deliver (lazy EOI, a line raised again, nested EOIs), which must
 * stay bounded and never recurse. Written from ioapic.h (virq_ioapic_eoi,
 * virq_ioapic_service, "Re-entry from hooks", "Level-triggered storms")
 * and SDM 10.8.5 "Signaling Interrupt Servicing Completion", the 82093AA
 * datasheet 3.2.4 "IOREDTBL[23:0]—I/O Redirection Table Registers", the
 * ICH/PCH EOI register and KVM's and QEMU's storm throttling.
 */
#include "harness.h"

static struct virq_ioapic_config small_storm(uint8_t version, uint32_t limit)
{
	struct virq_ioapic_config cfg = fixture_config(version, 24);

	cfg.storm_limit = limit;
	return cfg;
}

static bool held(struct ioapic_fixture *fx, unsigned pin)
{
	return (fx->io.storm_held[pin >> 6] >> (pin & 63)) & 1U;
}

/* ---- basic EOI ---- */

static void test_eoi_matching_only(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 3, RTE_LEVEL(0x41, 0));
	rte_w(&fx, 4, RTE_LEVEL(0x42, 0));
	pin_set(&fx, 3, true);
	pin_set(&fx, 4, true);
	pin_set(&fx, 3, false);
	pin_set(&fx, 4, false);
	assert_int_equal(fx.f.n_msgs, 2);
	/* Other vectors leave both alone. */
	eoi(&fx, 0x40);
	eoi(&fx, 0x43);
	eoi(&fx, 0xC1);
	assert_true(remote_irr(&fx, 3));
	assert_true(remote_irr(&fx, 4));
	eoi(&fx, 0x42);
	assert_true(remote_irr(&fx, 3));
	assert_false(remote_irr(&fx, 4));
	eoi(&fx, 0x41);
	assert_false(remote_irr(&fx, 3));
	assert_int_equal(fx.f.n_msgs, 2);
	/* A second EOI of the vector is harmless. */
	eoi(&fx, 0x41);
	assert_int_equal(fx.f.n_msgs, 2);
}

static void test_eoi_shared_vector_all_entries(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 16, RTE_LEVEL(0x50, 0));
	rte_w(&fx, 17, RTE_LEVEL(0x50, 1));
	rte_w(&fx, 18, RTE_EDGE(0x50, 2)); /* edge with the same vector */
	pin_set(&fx, 16, true);
	pin_set(&fx, 17, true);
	pin_set(&fx, 18, true);
	assert_int_equal(fx.f.n_msgs, 3);
	pin_set(&fx, 16, false);
	/* One EOI: both level entries cleared; 17 still high -> sent again. */
	eoi(&fx, 0x50);
	assert_false(remote_irr(&fx, 16));
	assert_true(remote_irr(&fx, 17)); /* set again by the re-delivery */
	assert_int_equal(fx.f.n_msgs, 4);
	assert_int_equal(fx.f.msgs[3].pin, 17);
	assert_int_equal(fx.f.per_pin[18], 1);
}

static void test_eoi_masked_not_resent(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 6, RTE_LEVEL(0x66, 0));
	pin_set(&fx, 6, true);
	rte_w(&fx, 6, RTE_LEVEL(0x66, 0) | VIRQ_IOAPIC_RTE_MASKED);
	eoi(&fx, 0x66);
	assert_false(remote_irr(&fx, 6));
	assert_int_equal(fx.f.n_msgs, 1);
	/* Masked entries still have their Remote IRR cleared; unmask sends. */
	rte_w(&fx, 6, RTE_LEVEL(0x66, 0));
	assert_int_equal(fx.f.n_msgs, 2);
}

static void test_eoi_not_accepted_redelivery(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 7, RTE_LEVEL(0x77, 0));
	fx.f.accept = 0;
	pin_set(&fx, 7, true);
	assert_false(remote_irr(&fx, 7));
	/* An EOI of the vector re-evaluates: sent again, still nobody. */
	eoi(&fx, 0x77);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_false(remote_irr(&fx, 7));
	/* service() also re-evaluates. */
	fx.f.accept = 1;
	assert_int_equal(virq_ioapic_service(&fx.io, 7), 0);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_true(remote_irr(&fx, 7));
	/* service() of an edge pin that is not held sends nothing. */
	rte_w(&fx, 8, RTE_EDGE(0x78, 0));
	pin_set(&fx, 8, true);
	assert_int_equal(virq_ioapic_service(&fx.io, 8), 0);
	assert_int_equal(fx.f.per_pin[8], 1);
	assert_invariants(&fx);
}

/* ---- EOI register (version 0x20 only) ---- */

static void test_eoi_register_v20(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(0x20, 24);

	(void)state;
	fixture_init(&fx, &cfg);
	rte_w(&fx, 10, RTE_LEVEL(0x31, 0));
	rte_w(&fx, 11, RTE_LEVEL(0x31, 0));
	pin_set(&fx, 10, true);
	pin_set(&fx, 11, true);
	pin_set(&fx, 10, false);
	pin_set(&fx, 11, false);
	/* Only 4-byte writes take effect. */
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, VIRQ_IOAPIC_EOI, 1, 0x31), 0);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, VIRQ_IOAPIC_EOI, 2, 0x31), 0);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, VIRQ_IOAPIC_EOI, 8, 0x31), 0);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, VIRQ_IOAPIC_EOI + 1, 1, 0x31), 0);
	assert_true(remote_irr(&fx, 10));
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MMIO_SIZE], 4);
	/* Bits 7:0 only ("checks the lower 8 bits written"). */
	mmio_w(&fx, VIRQ_IOAPIC_EOI, 0xFFFFFF32U);
	assert_true(remote_irr(&fx, 10));
	mmio_w(&fx, VIRQ_IOAPIC_EOI, 0x12345631U);
	assert_false(remote_irr(&fx, 10));
	assert_false(remote_irr(&fx, 11));
	/* Re-delivers like a broadcast. */
	pin_set(&fx, 10, true);
	assert_int_equal(fx.f.n_msgs, 3);
	mmio_w(&fx, VIRQ_IOAPIC_EOI, 0x31);
	assert_int_equal(fx.f.n_msgs, 4);
	assert_true(remote_irr(&fx, 10));
}

static void test_eoi_register_absent_v11(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(0x11, 24);
	struct virq_ioapic before;
	uint64_t v = 5;

	(void)state;
	fixture_init(&fx, &cfg);
	rte_w(&fx, 10, RTE_LEVEL(0x31, 0));
	pin_set(&fx, 10, true);
	pin_set(&fx, 10, false);
	fake_clear_log(&fx.f);
	/* 82093AA: 0x40 is not decoded. Write ignored (reported), reads 0. */
	before = fx.io;
	mmio_w(&fx, VIRQ_IOAPIC_EOI, 0x31);
	assert_memory_equal(&before, &fx.io, sizeof(before));
	assert_true(remote_irr(&fx, 10));
	assert_int_equal(fx.f.gerr[VIRQ_GERR_RESERVED_REG], 1);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, VIRQ_IOAPIC_EOI, 4, &v), 0);
	assert_int_equal(v, 0);
	/* The LAPIC broadcast still works. */
	eoi(&fx, 0x31);
	assert_false(remote_irr(&fx, 10));
}

/* ---- storms ---- */

static void test_storm_throttle_and_service(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = small_storm(0x20, 5);

	(void)state;
	fixture_init(&fx, &cfg);
	rte_w(&fx, 9, RTE_LEVEL(0x90, 0));
	pin_set(&fx, 9, true);
	assert_int_equal(fx.f.n_msgs, 1);
	/* storm_limit successive re-deliveries... */
	for (unsigned i = 1; i <= 5; i++) {
		eoi(&fx, 0x90);
		assert_int_equal(fx.f.n_msgs, 1 + i);
		assert_int_equal(fx.io.eoi_count[9], i);
		assert_int_equal(fx.f.n_storms, 0);
	}
	/* ...then the next one is held and reported. */
	eoi(&fx, 0x90);
	assert_int_equal(fx.f.n_msgs, 6);
	assert_int_equal(fx.f.storms[9], 1);
	assert_true(held(&fx, 9));
	assert_false(remote_irr(&fx, 9));
	/* Held: asserts and EOIs send nothing, no second report. */
	pin_set(&fx, 9, true);
	eoi(&fx, 0x90);
	assert_int_equal(fx.f.n_msgs, 6);
	assert_int_equal(fx.f.n_storms, 1);
	/* service(): the guest gets its interrupt. */
	assert_int_equal(virq_ioapic_service(&fx.io, 9), 0);
	assert_int_equal(fx.f.n_msgs, 7);
	assert_false(held(&fx, 9));
	assert_true(remote_irr(&fx, 9));
	assert_int_equal(fx.io.eoi_count[9], 0);
	/* The count restarts: five more re-deliveries before the next hold. */
	for (unsigned i = 1; i <= 5; i++)
		eoi(&fx, 0x90);
	assert_int_equal(fx.f.n_msgs, 12);
	eoi(&fx, 0x90);
	assert_int_equal(fx.f.n_msgs, 12);
	assert_int_equal(fx.f.storms[9], 2);
	/* An entry write also ends the hold (and delivers if due). */
	rte_w(&fx, 9, RTE_LEVEL(0x90, 1));
	assert_false(held(&fx, 9));
	assert_int_equal(fx.f.n_msgs, 13);
	assert_int_equal(fx.f.msgs[12].addr, 0xFEE01000ULL);
}

static void test_storm_count_reset_by_deassert(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = small_storm(0x20, 5);

	(void)state;
	fixture_init(&fx, &cfg);
	rte_w(&fx, 2, RTE_LEVEL(0x92, 0));
	pin_set(&fx, 2, true);
	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < 4; i++)
			eoi(&fx, 0x92);
		assert_int_equal(fx.io.eoi_count[2], 4);
		/* The guest handler cleared the device: count restarts. */
		pin_set(&fx, 2, false);
		assert_int_equal(fx.io.eoi_count[2], 0);
		eoi(&fx, 0x92);
		pin_set(&fx, 2, true);
	}
	assert_int_equal(fx.f.n_storms, 0);
	assert_int_equal(fx.f.n_msgs, 1 + 10 * 5);
	/* An EOI that finds the line low also restarts it. */
	for (unsigned i = 0; i < 4; i++)
		eoi(&fx, 0x92);
	pin_set(&fx, 2, false);
	assert_int_equal(fx.io.eoi_count[2], 0);
}

static void test_storm_without_hook(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = small_storm(0x20, 2);

	(void)state;
	fixture_init_ops(&fx, &cfg, &fake_ops_min);
	rte_w(&fx, 0, RTE_LEVEL(0x20, 0));
	pin_set(&fx, 0, true);
	eoi(&fx, 0x20);
	eoi(&fx, 0x20);
	eoi(&fx, 0x20);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_true(held(&fx, 0));
	assert_int_equal(virq_ioapic_service(&fx.io, 0), 0);
	assert_int_equal(fx.f.n_msgs, 4);
}

static void test_storm_default_limit(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 1, RTE_LEVEL(0xA1, 0));
	pin_set(&fx, 1, true);
	for (unsigned i = 0; i < 10000; i++)
		virq_ioapic_eoi(&fx.io, 0xA1);
	assert_int_equal(fx.f.n_msgs, 10001);
	assert_int_equal(fx.f.n_storms, 0);
	eoi(&fx, 0xA1);
	assert_int_equal(fx.f.n_msgs, 10001);
	assert_int_equal(fx.f.storms[1], 1);
}

/* ---- re-entry from ops->deliver ---- */

/* A LAPIC that accepts and EOIs at once (lazy EOI / auto-EOI path). */
static void act_lazy_eoi(struct fake_env *f, unsigned pin)
{
	virq_ioapic_eoi(f->io, rte_vector(f->io->rte[pin]));
}

static void test_reentry_lazy_eoi_bounded(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = small_storm(0x20, 5);

	(void)state;
	fixture_init(&fx, &cfg);
	fx.f.action = act_lazy_eoi;
	rte_w(&fx, 5, RTE_LEVEL(0x55, 0));
	pin_set(&fx, 5, true);
	/* 1 + storm_limit messages, each from the top level, then held. */
	assert_int_equal(fx.f.per_pin[5], 6);
	assert_int_equal(fx.f.max_depth, 1);
	assert_true(fx.f.stack_hi - fx.f.stack_lo < 512);
	assert_int_equal(fx.f.storms[5], 1);
	assert_true(held(&fx, 5));
	/* The EOI from inside deliver cleared Remote IRR: it did not stick. */
	assert_false(remote_irr(&fx, 5));
	/* Line dropped: one more assert cycle works normally. */
	fx.f.action = NULL;
	pin_set(&fx, 5, false);
	assert_int_equal(virq_ioapic_service(&fx.io, 5), 0);
	assert_int_equal(fx.f.per_pin[5], 6);
	pin_set(&fx, 5, true);
	assert_int_equal(fx.f.per_pin[5], 7);
	assert_true(remote_irr(&fx, 5));
}

/* The lazy EOI with the line dropped first: exactly one message. */
static void act_deassert_then_eoi(struct fake_env *f, unsigned pin)
{
	assert_int_equal(virq_ioapic_set_pin(f->io, pin, false), 0);
	virq_ioapic_eoi(f->io, rte_vector(f->io->rte[pin]));
}

static void test_reentry_eoi_after_deassert(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fx.f.action = act_deassert_then_eoi;
	rte_w(&fx, 5, RTE_LEVEL(0x55, 0));
	pin_set(&fx, 5, true);
	assert_int_equal(fx.f.n_msgs, 1);
	assert_false(remote_irr(&fx, 5));
	assert_int_equal(fx.f.n_storms, 0);
}

/* KVM "break infinite recursion on lazy EOI": the EOI notifier raises the
 * line again every time. */
static void act_eoi_reraise(struct fake_env *f, unsigned pin)
{
	assert_int_equal(virq_ioapic_set_pin(f->io, pin, false), 0);
	virq_ioapic_eoi(f->io, rte_vector(f->io->rte[pin]));
	assert_int_equal(virq_ioapic_set_pin(f->io, pin, true), 0);
}

static void test_reentry_eoi_reraise_bounded(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = small_storm(0x11, 5);

	(void)state;
	fixture_init(&fx, &cfg);
	fx.f.action = act_eoi_reraise;
	rte_w(&fx, 3, RTE_LEVEL(0x33, 0));
	pin_set(&fx, 3, true);
	/* storm_limit + 1 rounds, then throttled and reported. */
	assert_int_equal(fx.f.per_pin[3], 6);
	assert_int_equal(fx.f.max_depth, 1);
	assert_int_equal(fx.f.storms[3], 1);
	assert_true(held(&fx, 3));
	assert_int_equal(fx.io.in_eoi, 0);
	/* service() later: the guest gets it, bounded again. */
	fake_clear_log(&fx.f);
	assert_int_equal(virq_ioapic_service(&fx.io, 3), 0);
	assert_int_equal(fx.f.per_pin[3], 6);
	assert_int_equal(fx.f.max_depth, 1);
	/* The device calms down: a single message. */
	fx.f.action = NULL;
	fake_clear_log(&fx.f);
	assert_int_equal(virq_ioapic_service(&fx.io, 3), 0);
	assert_int_equal(fx.f.per_pin[3], 1);
	assert_false(held(&fx, 3));
}

/* An edge pin pulsed again from inside every delivery. */
static void act_edge_pulse(struct fake_env *f, unsigned pin)
{
	assert_int_equal(virq_ioapic_set_pin(f->io, pin, false), 0);
	assert_int_equal(virq_ioapic_set_pin(f->io, pin, true), 0);
}

static void test_reentry_edge_pulse_bounded(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = small_storm(0x20, 3);

	(void)state;
	fixture_init(&fx, &cfg);
	fx.f.action = act_edge_pulse;
	rte_w(&fx, 12, RTE_EDGE(0x3C, 0));
	pin_set(&fx, 12, true);
	assert_int_equal(fx.f.per_pin[12], 4);
	assert_int_equal(fx.f.max_depth, 1);
	assert_int_equal(fx.f.storms[12], 1);
	assert_true(held(&fx, 12));
	/* Held edge pin: new edges merge with the held one. */
	fx.f.action = NULL;
	pin_set(&fx, 12, false);
	pin_set(&fx, 12, true);
	assert_int_equal(fx.f.per_pin[12], 4);
	/* service() sends the held edge once. */
	assert_int_equal(virq_ioapic_service(&fx.io, 12), 0);
	assert_int_equal(fx.f.per_pin[12], 5);
	assert_int_equal(virq_ioapic_service(&fx.io, 12), 0);
	assert_int_equal(fx.f.per_pin[12], 5);
	/* A held edge on a masked entry is dropped at service. */
	fx.f.action = act_edge_pulse;
	pin_set(&fx, 12, false);
	pin_set(&fx, 12, true);
	assert_true(held(&fx, 12));
	fx.f.action = NULL;
	fake_clear_log(&fx.f);
	fx.io.rte[12] |= VIRQ_IOAPIC_RTE_MASKED; /* as an entry write would, keeping the hold */
	assert_int_equal(virq_ioapic_service(&fx.io, 12), 0);
	assert_int_equal(fx.f.n_msgs, 0);
	assert_false(held(&fx, 12));
}

/* Two edge pins raising each other: ping-pong across pins is bounded too. */
static void act_ping_pong(struct fake_env *f, unsigned pin)
{
	unsigned other = pin == 1 ? 2 : 1;

	assert_int_equal(virq_ioapic_set_pin(f->io, other, false), 0);
	assert_int_equal(virq_ioapic_set_pin(f->io, other, true), 0);
}

static void test_reentry_ping_pong_bounded(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = small_storm(0x20, 4);

	(void)state;
	fixture_init(&fx, &cfg);
	fx.f.action = act_ping_pong;
	rte_w(&fx, 1, RTE_EDGE(0x21, 0));
	rte_w(&fx, 2, RTE_EDGE(0x22, 0));
	pin_set(&fx, 1, true);
	assert_int_equal(fx.f.n_msgs, 5); /* storm_limit + 1 rounds */
	assert_int_equal(fx.f.max_depth, 1);
	assert_int_equal(fx.f.n_storms, 1);
	assert_invariants(&fx);
}

/* Nested EOI of another level pin's vector from inside deliver. */
static unsigned nested_vec;

static void act_eoi_other(struct fake_env *f, unsigned pin)
{
	(void)pin;
	if (nested_vec) {
		uint8_t v = (uint8_t)nested_vec;

		nested_vec = 0;
		virq_ioapic_eoi(f->io, v);
	}
}

static void test_reentry_nested_eoi_other_pin(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 20, RTE_LEVEL(0xB0, 0));
	rte_w(&fx, 21, RTE_LEVEL(0xB1, 0));
	pin_set(&fx, 20, true);
	assert_true(remote_irr(&fx, 20));
	fx.f.action = act_eoi_other;
	nested_vec = 0xB0;
	/* Pin 21's delivery EOIs 0xB0: pin 20 is sent again after it, not inside. */
	pin_set(&fx, 21, true);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_int_equal(fx.f.msgs[1].pin, 21);
	assert_int_equal(fx.f.msgs[2].pin, 20);
	assert_int_equal(fx.f.max_depth, 1);
	assert_true(remote_irr(&fx, 20));
	assert_true(remote_irr(&fx, 21));
}

/* Service from inside deliver is recorded, sent after. */
static void act_service_other(struct fake_env *f, unsigned pin)
{
	if (pin == 0)
		assert_int_equal(virq_ioapic_service(f->io, 1), 0);
	assert_int_equal(virq_ioapic_service(f->io, 200), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_set_pin(f->io, 200, true), -VIRQ_EINVAL);
}

static void test_reentry_service(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 0, RTE_EDGE(0x30, 0));
	rte_w(&fx, 1, RTE_LEVEL(0x31, 0));
	fx.f.accept_pin[1] = 0;
	pin_set(&fx, 1, true); /* not accepted: due again */
	fx.f.action = act_service_other;
	pin_set(&fx, 0, true);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_int_equal(fx.f.msgs[2].pin, 1);
	assert_int_equal(fx.f.max_depth, 1);
}

/* ---- pins of the second bitmap word, the EOI's storm exit ---- */

/*
 * The storm hook of test_eoi_storm_hook_rewrites_chain: when pin 70 is
 * held, the embedder moves pin 100 to vector 0x46 (low half only; Remote
 * IRR is read-only and stays).
 */
static void storm_rewrite(void *ctx, unsigned pin)
{
	struct fake_env *f = fake_of(ctx);

	fake_storm(ctx, pin);
	if (pin != 70)
		return;
	assert_int_equal(virq_ioapic_mmio_write(f->io, VIRQ_IOAPIC_IOREGSEL, 4,
						VIRQ_IOAPIC_REG_RTE0 + 2 * 100),
			 0);
	assert_int_equal(virq_ioapic_mmio_write(f->io, VIRQ_IOAPIC_IOWIN, 4,
						(uint32_t)RTE_LEVEL(0x46, 3)),
			 0);
}

static const struct virq_ioapic_ops storm_rewrite_ops = {
	.size = sizeof(struct virq_ioapic_ops),
	.deliver = fake_deliver,
	.storm = storm_rewrite,
};

/*
 * Three level entries of vector 0x45 on pins 5, 70 and 100 (both bitmap
 * words). An EOI re-sends each asserted one and counts it; a pin at the
 * storm limit is held, and when its storm hook moves a later pin of the
 * chain to another vector, the same EOI no longer touches that pin: it
 * keeps its Remote IRR until an EOI of its new vector.
 */
static void test_eoi_storm_hook_rewrites_chain(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(0x20, 120);

	(void)state;
	cfg.storm_limit = 2;
	fixture_init_ops(&fx, &cfg, &storm_rewrite_ops);
	rte_w(&fx, 5, RTE_LEVEL(0x45, 1));
	rte_w(&fx, 70, RTE_LEVEL(0x45, 2));
	rte_w(&fx, 100, RTE_LEVEL(0x45, 3));
	pin_set(&fx, 5, true);
	pin_set(&fx, 70, true);
	pin_set(&fx, 100, true);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_int_equal(fx.io.line[0], 1ULL << 5);
	assert_int_equal(fx.io.line[1], 1ULL << 6 | 1ULL << 36);

	/* All three asserted: re-sent in ascending pin order, counted. */
	eoi(&fx, 0x45);
	assert_int_equal(fx.f.n_msgs, 6);
	assert_int_equal(fx.f.msgs[3].pin, 5);
	assert_int_equal(fx.f.msgs[4].pin, 70);
	assert_int_equal(fx.f.msgs[5].pin, 100);
	assert_int_equal(fx.f.msgs[5].addr, 0xFEE03000ULL);
	assert_int_equal(fx.f.msgs[5].data, 0xC045U);
	assert_int_equal(fx.io.eoi_count[5], 1);
	assert_int_equal(fx.io.eoi_count[70], 1);
	assert_int_equal(fx.io.eoi_count[100], 1);

	/* 5 and 100 dropped: their counts restart, only 70 is re-sent. */
	pin_set(&fx, 5, false);
	pin_set(&fx, 100, false);
	eoi(&fx, 0x45);
	assert_int_equal(fx.f.n_msgs, 7);
	assert_int_equal(fx.f.msgs[6].pin, 70);
	assert_int_equal(fx.io.eoi_count[5], 0);
	assert_int_equal(fx.io.eoi_count[70], 2);
	assert_int_equal(fx.io.eoi_count[100], 0);
	assert_int_equal(rte_get(&fx, 5), RTE_LEVEL(0x45, 1));
	assert_int_equal(rte_get(&fx, 100), RTE_LEVEL(0x45, 3));

	/* 100 up again: sent at once (its Remote IRR was clear). */
	pin_set(&fx, 100, true);
	assert_int_equal(fx.f.n_msgs, 8);
	assert_int_equal(fx.f.msgs[7].pin, 100);

	/* 70 at the limit: held; its hook moves 100 to 0x46 meanwhile. */
	eoi(&fx, 0x45);
	assert_int_equal(fx.f.n_msgs, 8);
	assert_int_equal(fx.f.n_storms, 1);
	assert_int_equal(fx.f.storms[70], 1);
	assert_true(held(&fx, 70));
	assert_int_equal(fx.io.storm_held[0], 0);
	assert_int_equal(fx.io.storm_held[1], 1ULL << 6);
	assert_int_equal(rte_get(&fx, 70), RTE_LEVEL(0x45, 2));
	assert_int_equal(rte_get(&fx, 100), RTE_LEVEL(0x46, 3) | VIRQ_IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(fx.io.vec_head[0x45], 5 + 1);
	assert_int_equal(fx.io.vec_head[0x46], 100 + 1);
	assert_int_equal(fx.io.in_eoi, 0);

	/* The EOI of 0x46 clears it and re-sends it with its new vector. */
	eoi(&fx, 0x46);
	assert_int_equal(fx.f.n_msgs, 9);
	assert_int_equal(fx.f.msgs[8].pin, 100);
	assert_int_equal(fx.f.msgs[8].data, 0xC046U);
	assert_int_equal(rte_get(&fx, 100), RTE_LEVEL(0x46, 3) | VIRQ_IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(fx.io.eoi_count[100], 1);
	/* 70 stays held through its vector's EOIs until serviced. */
	eoi(&fx, 0x45);
	assert_int_equal(fx.f.n_msgs, 9);
	assert_int_equal(virq_ioapic_service(&fx.io, 70), 0);
	assert_int_equal(fx.f.n_msgs, 10);
	assert_int_equal(fx.f.msgs[9].pin, 70);
	assert_int_equal(rte_get(&fx, 70), RTE_LEVEL(0x45, 2) | VIRQ_IOAPIC_RTE_REMOTE_IRR);
}

/*
 * An outermost assert of a level pin in the second bitmap word that is not
 * due sends nothing and leaves the entry as it was, but records the line:
 * masked (sent on unmask), Remote IRR set (re-sent by the EOI), held
 * (sent by service). An edge pin there sends once per rising edge.
 */
static void test_assert_not_due_word1(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(0x20, 120);

	(void)state;
	cfg.storm_limit = 1;
	fixture_init(&fx, &cfg);
	rte_w(&fx, 90, RTE_LEVEL(0x61, 4) | VIRQ_IOAPIC_RTE_MASKED);
	pin_set(&fx, 90, true);
	assert_int_equal(fx.f.n_msgs, 0);
	assert_int_equal(fx.io.line[1], 1ULL << 26);
	assert_int_equal(rte_get(&fx, 90), RTE_LEVEL(0x61, 4) | VIRQ_IOAPIC_RTE_MASKED);
	/* Unmasked while asserted: sent. */
	rte_w(&fx, 90, RTE_LEVEL(0x61, 4));
	assert_int_equal(fx.f.n_msgs, 1);
	assert_int_equal(fx.f.msgs[0].pin, 90);
	assert_int_equal(fx.f.msgs[0].data, 0xC061U);
	assert_int_equal(rte_get(&fx, 90), RTE_LEVEL(0x61, 4) | VIRQ_IOAPIC_RTE_REMOTE_IRR);
	/* Remote IRR set: a new assert sends nothing, the EOI re-sends. */
	pin_set(&fx, 90, false);
	assert_int_equal(fx.io.line[1], 0);
	pin_set(&fx, 90, true);
	assert_int_equal(fx.f.n_msgs, 1);
	eoi(&fx, 0x61);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_int_equal(fx.io.eoi_count[90], 1);
	/* At the limit (1): the next EOI holds it; a held assert sends nothing. */
	eoi(&fx, 0x61);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_int_equal(fx.f.storms[90], 1);
	assert_int_equal(fx.io.storm_held[1], 1ULL << 26);
	assert_int_equal(rte_get(&fx, 90), RTE_LEVEL(0x61, 4));
	pin_set(&fx, 90, false);
	pin_set(&fx, 90, true);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_int_equal(rte_get(&fx, 90), RTE_LEVEL(0x61, 4));
	assert_int_equal(virq_ioapic_service(&fx.io, 90), 0);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_int_equal(fx.io.storm_held[1], 0);
	assert_int_equal(rte_get(&fx, 90), RTE_LEVEL(0x61, 4) | VIRQ_IOAPIC_RTE_REMOTE_IRR);
	/* Dropped before its EOI: Remote IRR clear, nothing sent. */
	pin_set(&fx, 90, false);
	eoi(&fx, 0x61);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_int_equal(rte_get(&fx, 90), RTE_LEVEL(0x61, 4));

	/* Edge pin 119, the last one: one message per rising edge. */
	rte_w(&fx, 119, RTE_EDGE(0x62, 4));
	pin_set(&fx, 119, true);
	pin_set(&fx, 119, true);
	assert_int_equal(fx.f.n_msgs, 4);
	assert_int_equal(fx.f.msgs[3].pin, 119);
	assert_int_equal(fx.f.msgs[3].data, 0x62U);
	assert_int_equal(fx.io.line[1], 1ULL << 55);
	pin_set(&fx, 119, false);
	pin_set(&fx, 119, true);
	assert_int_equal(fx.f.n_msgs, 5);
	assert_int_equal(rte_get(&fx, 119), RTE_EDGE(0x62, 4));
	assert_int_equal(virq_ioapic_set_pin(&fx.io, 120, true), -VIRQ_EINVAL);
	assert_int_equal(fx.io.line[1], 1ULL << 55);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eoi_matching_only),
		cmocka_unit_test(test_eoi_shared_vector_all_entries),
		cmocka_unit_test(test_eoi_masked_not_resent),
		cmocka_unit_test(test_eoi_not_accepted_redelivery),
		cmocka_unit_test(test_eoi_register_v20),
		cmocka_unit_test(test_eoi_register_absent_v11),
		cmocka_unit_test(test_storm_throttle_and_service),
		cmocka_unit_test(test_storm_count_reset_by_deassert),
		cmocka_unit_test(test_storm_without_hook),
		cmocka_unit_test(test_storm_default_limit),
		cmocka_unit_test(test_reentry_lazy_eoi_bounded),
		cmocka_unit_test(test_reentry_eoi_after_deassert),
		cmocka_unit_test(test_reentry_eoi_reraise_bounded),
		cmocka_unit_test(test_reentry_edge_pulse_bounded),
		cmocka_unit_test(test_reentry_ping_pong_bounded),
		cmocka_unit_test(test_reentry_nested_eoi_other_pin),
		cmocka_unit_test(test_reentry_service),
		cmocka_unit_test(test_eoi_storm_hook_rewrites_chain),
		cmocka_unit_test(test_assert_not_due_word1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
