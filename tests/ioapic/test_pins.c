/* SPDX-License-Identifier: MIT */
/*
 * Pins: edge and level delivery, Remote IRR from the accept count, masking
 * and unmasking, re-levelling, polarity as storage, pin ranges for 1, 24,
 * 48 and 120 pins, and the exact message of each entry. Written from
 * ioapic.h (virq_ioapic_set_pin, ops->deliver), the 82093AA datasheet
 * 3.2.4 "IOREDTBL[23:0]—I/O Redirection Table Registers" and SDM 10.11
 * "Message Signalled Interrupts".
 */
#include "harness.h"

/* ---- edge ---- */

static void test_edge_rising_sends_once(void **state)
{
	struct ioapic_fixture fx;
	uint64_t rte = RTE_EDGE(0x31, 2);

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 1, rte);
	assert_int_equal(fx.f.n_msgs, 0); /* writing an edge entry sends nothing */
	pin_set(&fx, 1, true);
	assert_int_equal(fx.f.n_msgs, 1);
	assert_msg(&fx, 0, 1, rte);
	assert_int_equal(fx.f.msgs[0].addr, 0xFEE02000ULL);
	assert_int_equal(fx.f.msgs[0].data, 0x31U);
	/* Still high: no new edge. */
	pin_set(&fx, 1, true);
	assert_int_equal(fx.f.n_msgs, 1);
	/* Low, high: a new edge. */
	pin_set(&fx, 1, false);
	assert_int_equal(fx.f.n_msgs, 1);
	pin_set(&fx, 1, true);
	assert_int_equal(fx.f.n_msgs, 2);
	/* Edge entries never get Remote IRR, whatever the accept count. */
	assert_false(remote_irr(&fx, 1));
	fx.f.accept = 0;
	pin_set(&fx, 1, false);
	pin_set(&fx, 1, true);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_false(remote_irr(&fx, 1));
	/* An EOI of its vector does nothing to an edge entry. */
	eoi(&fx, 0x31);
	assert_int_equal(fx.f.n_msgs, 3);
}

static void test_edge_masked_is_lost(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 4, RTE_EDGE(0x44, 0) | VIRQ_IOAPIC_RTE_MASKED);
	pin_set(&fx, 4, true);
	assert_int_equal(fx.f.n_msgs, 0);
	/* Unmask while high: the edge was not held (82093AA mask bit). */
	rte_w(&fx, 4, RTE_EDGE(0x44, 0));
	assert_int_equal(fx.f.n_msgs, 0);
	/* The next edge is delivered. */
	pin_set(&fx, 4, false);
	pin_set(&fx, 4, true);
	assert_int_equal(fx.f.n_msgs, 1);
	/* Masking after delivery does not retract it. */
	rte_w(&fx, 4, RTE_EDGE(0x44, 0) | VIRQ_IOAPIC_RTE_MASKED);
	assert_int_equal(fx.f.n_msgs, 1);
}

/* ---- level ---- */

static void test_level_remote_irr_cycle(void **state)
{
	struct ioapic_fixture fx;
	uint64_t rte = RTE_LEVEL(0x51, 3);

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 9, rte);
	pin_set(&fx, 9, true);
	assert_int_equal(fx.f.n_msgs, 1);
	assert_msg(&fx, 0, 9, rte);
	assert_int_equal(fx.f.msgs[0].data, 0xC051U); /* level trigger, assert */
	assert_int_equal(fx.f.msgs[0].addr, 0xFEE03000ULL);
	/* Hook sees Remote IRR already set (lazy EOI can clear it). */
	assert_true(fx.f.msgs[0].rte & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	assert_true(remote_irr(&fx, 9));
	/* Remote IRR set: further asserts send nothing. */
	pin_set(&fx, 9, true);
	pin_set(&fx, 9, true);
	assert_int_equal(fx.f.n_msgs, 1);
	/* EOI while still high: cleared and sent again. */
	eoi(&fx, 0x51);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_true(remote_irr(&fx, 9));
	/* Deassert before EOI: Remote IRR waits for the EOI; nothing more sent. */
	pin_set(&fx, 9, false);
	assert_true(remote_irr(&fx, 9));
	eoi(&fx, 0x51);
	assert_false(remote_irr(&fx, 9));
	assert_int_equal(fx.f.n_msgs, 2);
	/* A new assert sends. */
	pin_set(&fx, 9, true);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_true(remote_irr(&fx, 9));
}

static void test_level_not_accepted(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fx.f.accept = 0;
	rte_w(&fx, 0, RTE_LEVEL(0x60, 0x20));
	pin_set(&fx, 0, true);
	assert_int_equal(fx.f.n_msgs, 1);
	/* Nobody accepted: Remote IRR stays clear (KVM). */
	assert_false(remote_irr(&fx, 0));
	/* Each assert tries again while Remote IRR is clear. */
	pin_set(&fx, 0, true);
	assert_int_equal(fx.f.n_msgs, 2);
	/* An accept count above one also sets it. */
	fx.f.accept = 3;
	pin_set(&fx, 0, true);
	assert_int_equal(fx.f.n_msgs, 3);
	assert_true(remote_irr(&fx, 0));
	pin_set(&fx, 0, true);
	assert_int_equal(fx.f.n_msgs, 3);
}

static void test_level_masked_then_unmasked(void **state)
{
	struct ioapic_fixture fx;
	uint64_t rte = RTE_LEVEL(0x62, 1);

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 16, rte | VIRQ_IOAPIC_RTE_MASKED);
	pin_set(&fx, 16, true);
	assert_int_equal(fx.f.n_msgs, 0);
	assert_false(remote_irr(&fx, 16));
	/* Unmask while asserted: delivered at once (as KVM and QEMU do). */
	rte_w(&fx, 16, rte);
	assert_int_equal(fx.f.n_msgs, 1);
	assert_msg(&fx, 0, 16, rte);
	assert_true(remote_irr(&fx, 16));
	/* Masking keeps Remote IRR; the EOI clears it; masked -> no re-send. */
	rte_w(&fx, 16, rte | VIRQ_IOAPIC_RTE_MASKED);
	assert_true(remote_irr(&fx, 16));
	eoi(&fx, 0x62);
	assert_false(remote_irr(&fx, 16));
	assert_int_equal(fx.f.n_msgs, 1);
	/* Unmask again, still asserted: delivered. */
	rte_w(&fx, 16, rte);
	assert_int_equal(fx.f.n_msgs, 2);
	/* Unmask of a deasserted level pin: nothing. */
	pin_set(&fx, 16, false);
	eoi(&fx, 0x62);
	rte_w(&fx, 16, rte | VIRQ_IOAPIC_RTE_MASKED);
	rte_w(&fx, 16, rte);
	assert_int_equal(fx.f.n_msgs, 2);
}

static void test_low_half_write_alone_unmasks(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	pin_set(&fx, 5, true);
	/* Level + unmasked in the low half only; high half still 0 (dest 0). */
	reg_w(&fx, 0x10 + 2 * 5, 0x00008070U);
	assert_int_equal(fx.f.n_msgs, 1);
	assert_int_equal(fx.f.msgs[0].addr, 0xFEE00000ULL);
	assert_int_equal(fx.f.msgs[0].data, 0xC070U);
	/* Writing the high half while Remote IRR is set sends nothing. */
	reg_w(&fx, 0x11 + 2 * 5, 0x07000000U);
	assert_int_equal(fx.f.n_msgs, 1);
}

static void test_edge_to_level_while_asserted(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 11, RTE_EDGE(0x71, 0));
	pin_set(&fx, 11, true);
	assert_int_equal(fx.f.n_msgs, 1);
	/* Re-levelled while high: sent as level (KVM and QEMU service on write). */
	rte_w(&fx, 11, RTE_LEVEL(0x71, 0));
	assert_int_equal(fx.f.n_msgs, 2);
	assert_int_equal(fx.f.msgs[1].data, 0xC071U);
	assert_true(remote_irr(&fx, 11));
	/* Linux's EOI emulation (mask, edge, level, unmask) re-sends while high. */
	rte_w(&fx, 11, RTE_LEVEL(0x71, 0) | VIRQ_IOAPIC_RTE_MASKED);
	rte_w(&fx, 11, RTE_EDGE(0x71, 0) | VIRQ_IOAPIC_RTE_MASKED);
	assert_false(remote_irr(&fx, 11));
	rte_w(&fx, 11, RTE_LEVEL(0x71, 0) | VIRQ_IOAPIC_RTE_MASKED);
	assert_int_equal(fx.f.n_msgs, 2);
	rte_w(&fx, 11, RTE_LEVEL(0x71, 0));
	assert_int_equal(fx.f.n_msgs, 3);
	assert_true(remote_irr(&fx, 11));
}

static void test_polarity_is_storage(void **state)
{
	struct ioapic_fixture fx;
	uint64_t rte = RTE_LEVEL(0x80, 0) | VIRQ_IOAPIC_RTE_POLARITY_LOW;

	(void)state;
	fixture_init(&fx, NULL);
	/* Active-low level (PCI INTx): set_pin takes the logical level. */
	rte_w(&fx, 19, rte);
	assert_int_equal(fx.f.n_msgs, 0);
	pin_set(&fx, 19, true);
	assert_int_equal(fx.f.n_msgs, 1);
	/* The polarity bit is not in the message. */
	assert_int_equal(fx.f.msgs[0].data, 0xC080U);
	/* Flipping polarity while asserted changes nothing on the line. */
	eoi(&fx, 0x80);
	assert_int_equal(fx.f.n_msgs, 2);
	rte_w(&fx, 19, RTE_LEVEL(0x80, 0));
	assert_int_equal(fx.f.n_msgs, 2); /* Remote IRR set: no message */
	assert_int_equal(rte_get(&fx, 19), RTE_LEVEL(0x80, 0) | VIRQ_IOAPIC_RTE_REMOTE_IRR);
	rte_w(&fx, 19, rte);
	assert_int_equal(fx.f.n_msgs, 2);
	pin_set(&fx, 19, false);
	eoi(&fx, 0x80);
	assert_int_equal(fx.f.n_msgs, 2);
	/* Edge with active low: rising logical edge still sends. */
	rte_w(&fx, 20, RTE_EDGE(0x81, 0) | VIRQ_IOAPIC_RTE_POLARITY_LOW);
	pin_set(&fx, 20, true);
	assert_int_equal(fx.f.n_msgs, 3);
	pin_set(&fx, 20, false);
	assert_int_equal(fx.f.n_msgs, 3);
}

/* ---- pin counts ---- */

static void check_pin_range(uint8_t version, uint8_t pins)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(version, pins);
	struct virq_ioapic before;
	unsigned last = pins - 1U;
	uint64_t rte = RTE_LEVEL(0x90, 1);

	fixture_init(&fx, &cfg);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_VERSION), version | ((uint32_t)last << 16));
	/* Every pin works, the last one included, through the window. */
	for (unsigned p = 0; p < pins; p++) {
		rte_w(&fx, p, RTE_EDGE(0x20 + (p & 0x7F), p));
		pin_set(&fx, p, true);
		assert_int_equal(fx.f.per_pin[p], 1);
	}
	assert_int_equal(fx.f.n_msgs, pins);
	rte_w(&fx, last, rte);
	assert_int_equal(fx.f.per_pin[last], 2);
	assert_true(remote_irr(&fx, last));
	assert_int_equal(rte_r(&fx, last), rte | VIRQ_IOAPIC_RTE_REMOTE_IRR);
	/* pin >= count: refused, nothing changes. */
	before = fx.io;
	for (unsigned p = pins; p < 300; p++) {
		assert_int_equal(virq_ioapic_set_pin(&fx.io, p, true), -VIRQ_EINVAL);
		assert_int_equal(virq_ioapic_service(&fx.io, p), -VIRQ_EINVAL);
	}
	assert_int_equal(virq_ioapic_set_pin(&fx.io, ~0U, true), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_service(&fx.io, ~0U), -VIRQ_EINVAL);
	assert_memory_equal(&before, &fx.io, sizeof(before));
	/* The index after the last entry reads all ones. */
	if (pins < 120)
		assert_int_equal(reg_r(&fx, (uint8_t)(0x10 + 2 * pins)), 0xFFFFFFFFU);
	assert_invariants(&fx);
}

static void test_pin_counts(void **state)
{
	(void)state;
	check_pin_range(0x20, 1);
	check_pin_range(0x11, 24);
	check_pin_range(0x20, 48);
	check_pin_range(0x20, 64);
	check_pin_range(0x20, 65);
	check_pin_range(0x11, 120);
}

static void test_pin_120_second_word(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(0x20, 120);

	(void)state;
	fixture_init(&fx, &cfg);
	/* Pins 64-119 are in the second bitmap word; 0xFF is the last index. */
	rte_w(&fx, 119, RTE_LEVEL(0xEE, 0xAB));
	assert_int_equal(reg_r(&fx, 0xFE), 0x000080EEU);
	assert_int_equal(reg_r(&fx, 0xFF), 0xAB000000U);
	pin_set(&fx, 119, true);
	pin_set(&fx, 64, true);
	assert_int_equal(fx.io.line[1], (1ULL << 55) | 1ULL);
	assert_int_equal(fx.f.n_msgs, 1);
	assert_int_equal(fx.f.msgs[0].pin, 119);
	assert_int_equal(fx.f.msgs[0].addr, 0xFEEAB000ULL);
}

static void test_delivery_modes_and_dest(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	for (unsigned dm = 0; dm < 8; dm++) {
		uint64_t rte = RTE_EDGE(0xA0 + dm, 0x10 + dm) |
			       ((uint64_t)dm << VIRQ_IOAPIC_RTE_DM_SHIFT) |
			       ((dm & 1) ? VIRQ_IOAPIC_RTE_DEST_LOGICAL : 0);

		rte_w(&fx, dm, rte);
		pin_set(&fx, dm, true);
		assert_msg(&fx, dm, dm, rte);
		assert_int_equal(fx.f.msgs[dm].data, (0xA0U + dm) | (dm << 8));
		assert_int_equal(fx.f.msgs[dm].addr,
				 0xFEE00000ULL | ((0x10ULL + dm) << 12) | ((dm & 1) ? 4U : 0));
	}
	/* Remappable entry: the same bits, the address carries the IR handle. */
	rte_w(&fx, 12, 0x1234000000008022ULL | VIRQ_IOAPIC_RTE_REMAPPABLE);
	pin_set(&fx, 12, true);
	assert_int_equal(fx.f.msgs[8].addr, 0xFEE12350ULL);
	assert_int_equal(fx.f.msgs[8].data, 0xC022U);
}

static void test_line_kept_across_masked_edges(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	/* A level input changes while the entry is in reset state (masked). */
	pin_set(&fx, 2, true);
	pin_set(&fx, 2, false);
	pin_set(&fx, 2, true);
	assert_int_equal(fx.f.n_msgs, 0);
	assert_true(fx.io.line[0] & (1ULL << 2));
	/* Programming it level and unmasked sends. */
	rte_w(&fx, 2, RTE_LEVEL(0x33, 0));
	assert_int_equal(fx.f.n_msgs, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_rising_sends_once),
		cmocka_unit_test(test_edge_masked_is_lost),
		cmocka_unit_test(test_level_remote_irr_cycle),
		cmocka_unit_test(test_level_not_accepted),
		cmocka_unit_test(test_level_masked_then_unmasked),
		cmocka_unit_test(test_low_half_write_alone_unmasks),
		cmocka_unit_test(test_edge_to_level_while_asserted),
		cmocka_unit_test(test_polarity_is_storage),
		cmocka_unit_test(test_pin_counts),
		cmocka_unit_test(test_pin_120_second_word),
		cmocka_unit_test(test_delivery_modes_and_dest),
		cmocka_unit_test(test_line_kept_across_masked_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
