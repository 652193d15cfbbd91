/* SPDX-License-Identifier: MIT */
/*
 * The fast paths: virq_ioapic_rte_to_msg() against rte_to_msi + MSI decode
 * for every kind of entry, the deliver_entry hook, and the per-vector index
 * of level entries that EOIs walk (kept exact across entry writes, reset
 * and restore).
 */
#include "harness.h"

#include <virq/msi.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Both paths on @rte under every flag set; results and messages identical. */
static void diff_one(uint64_t rte)
{
	static const unsigned flags[] = { 0, VIRQ_MSI_EXT_DEST, VIRQ_MSI_ADDR_HI_DEST,
					  VIRQ_MSI_EXT_DEST | VIRQ_MSI_ADDR_HI_DEST };

	for (unsigned f = 0; f < 4; f++) {
		struct virq_apic_msg a, b;
		uint64_t addr;
		uint32_t data;
		int ra, rb;

		memset(&a, 0xA5, sizeof(a));
		memset(&b, 0xA5, sizeof(b));
		virq_ioapic_rte_to_msi(rte, &addr, &data);
		ra = virq_msi_decode(addr, data, flags[f], &a);
		rb = virq_ioapic_rte_to_msg(rte, flags[f], &b);
		assert_int_equal(ra, rb);
		assert_memory_equal(&a, &b, sizeof(a));
	}
}

static void test_rte_to_msg_differential(void **state)
{
	(void)state;
	assert_int_equal(IOAPIC_MSI_EXT_DEST, VIRQ_MSI_EXT_DEST);
	assert_int_equal(IOAPIC_MSI_ADDR_HI_DEST, VIRQ_MSI_ADDR_HI_DEST);
	assert_int_equal(IOAPIC_MSI_REMAPPABLE, VIRQ_MSI_REMAPPABLE);
	/* Edges: zero, all ones, every single bit, every delivery mode with
	 * each destination mode and trigger, masked and Remote IRR set, the
	 * 0xFF destination (x2APIC broadcast quirk) with and without
	 * extended destination bits. */
	diff_one(0);
	diff_one(~0ULL);
	for (unsigned b = 0; b < 64; b++) {
		diff_one(1ULL << b);
		diff_one(~(1ULL << b));
	}
	for (uint64_t dm = 0; dm < 8; dm++)
		for (unsigned m = 0; m < 32; m++) {
			uint64_t rte = 0x31 | (dm << VIRQ_IOAPIC_RTE_DM_SHIFT);

			if (m & 1)
				rte |= VIRQ_IOAPIC_RTE_DEST_LOGICAL;
			if (m & 2)
				rte |= VIRQ_IOAPIC_RTE_LEVEL | VIRQ_IOAPIC_RTE_REMOTE_IRR;
			if (m & 4)
				rte |= VIRQ_IOAPIC_RTE_MASKED | VIRQ_IOAPIC_RTE_POLARITY_LOW;
			if (m & 8)
				rte |= 0xFFULL << VIRQ_IOAPIC_RTE_DEST_SHIFT;
			if (m & 16)
				rte |= 0xFEULL << VIRQ_IOAPIC_RTE_EXT_DEST_SHIFT;
			diff_one(rte);
			diff_one(rte | VIRQ_IOAPIC_RTE_REMAPPABLE);
		}
	for (unsigned i = 0; i < 200000; i++) {
		uint64_t r = rng();

		diff_one(r);
		diff_one(r & ~VIRQ_IOAPIC_RTE_REMAPPABLE);
	}
}

static void test_rte_to_msg_exact(void **state)
{
	struct virq_apic_msg m;

	(void)state;
	/* Level, lowest priority, logical, vector 0x71, dest 0x03, ext 0x02. */
	memset(&m, 0xA5, sizeof(m));
	assert_int_equal(virq_ioapic_rte_to_msg(0x0304000000008171ULL | (1ULL << 11), 0, &m), 0);
	assert_int_equal(m.dest, 0x03);
	assert_int_equal(m.src, VIRQ_MSG_SRC_NONE);
	assert_int_equal(m.vector, 0x71);
	assert_int_equal(m.delivery, VIRQ_DM_LOWEST);
	assert_int_equal(m.shorthand, VIRQ_SH_NONE);
	assert_true(m.logical);
	assert_true(m.level);
	assert_true(m.trigger_level);
	assert_false(m.x2apic);
	assert_int_equal(m.reserved0, 0);
	/* Extended destination: entry bits 55:49 are destination bits 14:8. */
	assert_int_equal(virq_ioapic_rte_to_msg(0x0304000000008171ULL, VIRQ_MSI_EXT_DEST, &m), 0);
	assert_int_equal(m.dest, 0x0203);
	assert_true(m.x2apic);
	assert_false(m.logical);
	/* Remappable format: not decoded, out untouched. */
	memset(&m, 0xA5, sizeof(m));
	assert_int_equal(virq_ioapic_rte_to_msg(VIRQ_IOAPIC_RTE_REMAPPABLE | 0x30, 0, &m),
			 VIRQ_MSI_REMAPPABLE);
	assert_int_equal(m.vector, 0xA5);
	assert_int_equal(virq_ioapic_rte_to_msg(0x30, 4, &m), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_rte_to_msg(0x30, 0, NULL), -VIRQ_EINVAL);
}

/* ---- deliver_entry ---- */

static uint64_t entry_log[16];
static unsigned entry_n, entry_accept;

static unsigned entry_deliver(void *ctx, unsigned pin, uint64_t rte)
{
	(void)ctx;
	if (entry_n < 16)
		entry_log[entry_n] = rte | ((uint64_t)pin << 17);
	entry_n++;
	return entry_accept;
}

static unsigned never_deliver(void *ctx, unsigned pin, uint64_t addr, uint32_t data)
{
	(void)ctx;
	(void)pin;
	(void)addr;
	(void)data;
	fail_msg("deliver called although deliver_entry is set");
	return 0;
}

static const struct virq_ioapic_ops entry_ops = {
	.size = sizeof(struct virq_ioapic_ops),
	.deliver = never_deliver,
	.deliver_entry = entry_deliver,
};

static void test_deliver_entry_hook(void **state)
{
	struct ioapic_fixture fx;
	uint64_t rte = RTE_LEVEL(0x44, 0x05) | (0x02ULL << VIRQ_IOAPIC_RTE_EXT_DEST_SHIFT);

	(void)state;
	entry_n = 0;
	entry_accept = 1;
	fixture_init_ops(&fx, NULL, &entry_ops);
	rte_w(&fx, 9, rte);
	pin_set(&fx, 9, true);
	/* The entry as stored, before Remote IRR went up; IRR set: accepted. */
	assert_int_equal(entry_n, 1);
	assert_int_equal(entry_log[0], rte | (9ULL << 17));
	assert_true(remote_irr(&fx, 9));
	eoi(&fx, 0x44); /* still high: sent again */
	assert_int_equal(entry_n, 2);
	assert_int_equal(entry_log[1], rte | (9ULL << 17));
	/* Nobody accepts: Remote IRR comes down again. */
	entry_accept = 0;
	pin_set(&fx, 9, false);
	eoi(&fx, 0x44);
	pin_set(&fx, 9, true);
	assert_int_equal(entry_n, 3);
	assert_false(remote_irr(&fx, 9));
	assert_invariants(&fx);
}

/* A table of the first published size (32 bytes) has no deliver_entry:
 * whatever lies past it is not read, deliver gets the MSI write. */
static void test_deliver_entry_old_table(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_ops old = fake_ops;

	(void)state;
	old.size = VIRQ_IOAPIC_OPS_SIZE_MIN;
	old.deliver_entry = entry_deliver; /* past size: must be ignored */
	entry_n = 0;
	fixture_init_ops(&fx, NULL, &old);
	rte_w(&fx, 2, RTE_LEVEL(0x52, 0x01));
	pin_set(&fx, 2, true);
	assert_int_equal(entry_n, 0);
	assert_int_equal(fx.f.n_msgs, 1);
	assert_int_equal(fx.f.msgs[0].addr, 0xFEE01000ULL);
	assert_int_equal(fx.f.msgs[0].data, 0xC052U);
}

/* ---- per-vector index ---- */

static unsigned chain(const struct virq_ioapic *io, uint8_t vector, unsigned *out, unsigned max)
{
	unsigned k = 0;

	for (unsigned n = io->vec_head[vector]; n && k < max; n = io->vec_next[n - 1U])
		out[k++] = n - 1U;
	return k;
}

static void test_eoi_index_exact(void **state)
{
	struct virq_ioapic_config cfg = fixture_config(0x20, 120);
	struct ioapic_fixture fx;
	unsigned got[8];

	(void)state;
	fixture_init(&fx, &cfg);
	/* Written out of order; the chain is ascending. */
	rte_w(&fx, 119, RTE_LEVEL(0x40, 0));
	rte_w(&fx, 3, RTE_LEVEL(0x40, 0));
	rte_w(&fx, 70, RTE_LEVEL(0x40, 0));
	rte_w(&fx, 17, RTE_LEVEL(0x40, 0));
	rte_w(&fx, 5, RTE_EDGE(0x40, 0));
	assert_invariants(&fx);
	assert_int_equal(chain(&fx.io, 0x40, got, 8), 4);
	assert_int_equal(got[0], 3);
	assert_int_equal(got[1], 17);
	assert_int_equal(got[2], 70);
	assert_int_equal(got[3], 119);
	/* 17 moves to 0x41, 70 goes edge: out of 0x40's chain. */
	rte_w(&fx, 17, RTE_LEVEL(0x41, 0));
	rte_w(&fx, 70, RTE_EDGE(0x40, 0));
	assert_invariants(&fx);
	assert_int_equal(chain(&fx.io, 0x40, got, 8), 2);
	assert_int_equal(got[0], 3);
	assert_int_equal(got[1], 119);
	assert_int_equal(chain(&fx.io, 0x41, got, 8), 1);
	assert_int_equal(got[0], 17);
	/* EOI 0x40 re-delivers exactly the asserted level pins of 0x40, in
	 * pin order: 119 then 3 were raised, 3 is sent first. */
	for (unsigned p = 0; p < 120; p++)
		pin_set(&fx, p, false);
	pin_set(&fx, 119, true);
	pin_set(&fx, 3, true);
	pin_set(&fx, 17, true);
	pin_set(&fx, 70, true); /* edge: one message */
	fake_clear_log(&fx.f);
	eoi(&fx, 0x40);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_int_equal(fx.f.msgs[0].pin, 3);
	assert_int_equal(fx.f.msgs[1].pin, 119);
	/* A vector with no level entry sends nothing and changes nothing. */
	fake_clear_log(&fx.f);
	eoi(&fx, 0x99);
	assert_int_equal(fx.f.n_msgs, 0);
	assert_true(remote_irr(&fx, 17));
	/* Reset empties every chain. */
	virq_ioapic_reset(&fx.io);
	assert_invariants(&fx);
	for (unsigned v = 0; v < 256; v++)
		assert_int_equal(fx.io.vec_head[v], 0);
}

static void test_eoi_index_restore(void **state)
{
	struct virq_ioapic_config cfg = fixture_config(0x20, 24);
	struct ioapic_fixture a, b;
	struct virq_ioapic_state st;
	unsigned got[4];

	(void)state;
	fixture_init(&a, &cfg);
	fixture_init(&b, &cfg);
	rte_w(&a, 20, RTE_LEVEL(0x60, 0));
	rte_w(&a, 4, RTE_LEVEL(0x60, 0));
	rte_w(&b, 7, RTE_LEVEL(0x61, 0)); /* stale chain in b, must go */
	assert_int_equal(virq_ioapic_save(&a.io, &st), 0);
	assert_int_equal(virq_ioapic_restore(&b.io, &st), 0);
	assert_invariants(&b);
	assert_int_equal(b.io.vec_head[0x61], 0);
	assert_int_equal(chain(&b.io, 0x60, got, 4), 2);
	assert_int_equal(got[0], 4);
	assert_int_equal(got[1], 20);
	/* A damaged index is caught by the invariant check. */
	b.io.vec_next[4] = 0;
	assert_int_equal(ioapic_check_invariants(&b.io), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rte_to_msg_differential),
		cmocka_unit_test(test_rte_to_msg_exact),
		cmocka_unit_test(test_deliver_entry_hook),
		cmocka_unit_test(test_deliver_entry_old_table),
		cmocka_unit_test(test_eoi_index_exact),
		cmocka_unit_test(test_eoi_index_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
