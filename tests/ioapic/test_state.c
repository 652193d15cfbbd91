/* SPDX-License-Identifier: MIT */
/*
 * Save/restore: exact saved fields, byte-identical round trips, restore
 * onto a fresh I/O APIC that then behaves the same, refusal of every kind
 * of damaged state without side effects, and a single-bit-flip sweep
 * checked against an independent validity model. Written from ioapic.h
 * (virq_ioapic_save/restore, struct virq_ioapic_state), doc/architecture.md "Save and
 * restore" and the 82093AA datasheet 3.2.1 "IOAPICID—IOAPIC Identification Register"
 * to 3.2.4 "IOREDTBL[23:0]—I/O Redirection Table Registers".
 */
#include "harness.h"

static void save(struct ioapic_fixture *fx, struct virq_ioapic_state *st)
{
	memset(st, 0xCC, sizeof(*st));
	assert_int_equal(virq_ioapic_save(&fx->io, st), 0);
}

/* 48 pins (ACRN), a bit of everything. */
static void build_rich(struct ioapic_fixture *fx)
{
	struct virq_ioapic_config cfg = fixture_config(0x20, 48);

	cfg.id = 3;
	cfg.storm_limit = 2;
	fixture_init(fx, &cfg);
	reg_w(fx, VIRQ_IOAPIC_REG_ID, 0x0A000000U);
	rte_w(fx, 0, RTE_EDGE(0x30, 0) | (7ULL << VIRQ_IOAPIC_RTE_DM_SHIFT)); /* ExtINT */
	rte_w(fx, 2, RTE_EDGE(0x32, 1));
	rte_w(fx, 9, RTE_LEVEL(0x39, 2) | VIRQ_IOAPIC_RTE_POLARITY_LOW);
	rte_w(fx, 16,
	      RTE_LEVEL(0x40, 3) | VIRQ_IOAPIC_RTE_POLARITY_LOW | VIRQ_IOAPIC_RTE_DEST_LOGICAL |
		      (1ULL << VIRQ_IOAPIC_RTE_DM_SHIFT));
	rte_w(fx, 17, RTE_LEVEL(0x41, 4) | VIRQ_IOAPIC_RTE_MASKED);
	rte_w(fx, 33, RTE_LEVEL(0x42, 0x80) | (0x7EULL << 48)); /* ext dest */
	rte_w(fx, 47, 0xABCD000000008043ULL | VIRQ_IOAPIC_RTE_REMAPPABLE);
	pin_set(fx, 9, true);  /* Remote IRR */
	pin_set(fx, 17, true); /* masked, asserted */
	pin_set(fx, 2, true);  /* edge, high */
	pin_set(fx, 47, true); /* Remote IRR on a remappable entry */
	pin_set(fx, 16, true);
	eoi(fx, 0x40);
	eoi(fx, 0x40);
	eoi(fx, 0x40); /* storm_limit 2: held */
	assert_true(fx->io.storm_held[0] & (1ULL << 16));
	mmio_w(fx, VIRQ_IOAPIC_IOREGSEL, 0x33);
}

static void test_save_fields(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_state st;

	(void)state;
	build_rich(&fx);
	save(&fx, &st);
	assert_int_equal(st.version, VIRQ_IOAPIC_STATE_VERSION);
	assert_int_equal(st.size, sizeof(st));
	assert_int_equal(st.ioregsel, 0x33);
	assert_int_equal(st.id, 0x0A000000U);
	assert_int_equal(st.pins, 48);
	assert_int_equal(st.reserved, 0);
	assert_int_equal(st.rte[0], 0x0000000000000730ULL);
	assert_int_equal(st.rte[9], 0x020000000000E039ULL);
	assert_int_equal(st.rte[16], 0x030000000000A940ULL);
	assert_int_equal(st.rte[17], 0x0400000000018041ULL);
	assert_int_equal(st.rte[33], 0x807E000000008042ULL);
	assert_int_equal(st.rte[47], 0xABCD00000000C043ULL);
	assert_int_equal(st.rte[1], 0x10000ULL);
	for (unsigned p = 48; p < VIRQ_IOAPIC_MAX_PINS; p++)
		assert_int_equal(st.rte[p], 0);
	assert_int_equal(st.line[0],
			 (1ULL << 2) | (1ULL << 9) | (1ULL << 16) | (1ULL << 17) | (1ULL << 47));
	assert_int_equal(st.line[1], 0);
	assert_int_equal(st.storm_held[0], 1ULL << 16);
	assert_int_equal(st.storm_held[1], 0);
	assert_int_equal(virq_ioapic_save(&fx.io, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_save(NULL, &st), -VIRQ_EINVAL);
}

static void test_round_trip_fresh(void **state)
{
	struct ioapic_fixture a, b;
	struct virq_ioapic_state sa, sb;

	(void)state;
	build_rich(&a);
	save(&a, &sa);
	fixture_init(&b, &a.cfg);
	assert_int_equal(virq_ioapic_restore(&b.io, &sa), 0);
	assert_invariants(&b);
	assert_int_equal(b.f.n_msgs, 0); /* restore sends nothing */
	save(&b, &sb);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	/* Same answers through the window. */
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(reg_r(&a, (uint8_t)i), reg_r(&b, (uint8_t)i));
	/* Same behaviour: EOI of pin 9's vector re-sends it on both. */
	fake_clear_log(&a.f);
	fake_clear_log(&b.f);
	eoi(&a, 0x39);
	eoi(&b, 0x39);
	assert_int_equal(a.f.n_msgs, 1);
	assert_int_equal(b.f.n_msgs, 1);
	assert_memory_equal(&a.f.msgs[0], &b.f.msgs[0], sizeof(a.f.msgs[0]));
	/* The held pin is released by service() on both. */
	assert_int_equal(virq_ioapic_service(&a.io, 16), 0);
	assert_int_equal(virq_ioapic_service(&b.io, 16), 0);
	assert_int_equal(a.f.n_msgs, 2);
	assert_int_equal(b.f.n_msgs, 2);
	assert_int_equal(a.f.msgs[1].addr, 0xFEE03004ULL);
	assert_memory_equal(&a.f.msgs[1], &b.f.msgs[1], sizeof(a.f.msgs[1]));
	save(&a, &sa);
	save(&b, &sb);
	assert_memory_equal(&sa, &sb, sizeof(sa));
}

static void test_restore_resets_counts(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_state st;
	struct virq_ioapic_config cfg = fixture_config(0x20, 24);

	(void)state;
	cfg.storm_limit = 3;
	fixture_init(&fx, &cfg);
	rte_w(&fx, 4, RTE_LEVEL(0x44, 0));
	save(&fx, &st);
	pin_set(&fx, 4, true);
	eoi(&fx, 0x44);
	eoi(&fx, 0x44);
	assert_int_equal(fx.io.eoi_count[4], 2);
	assert_int_equal(virq_ioapic_restore(&fx.io, &st), 0);
	assert_int_equal(fx.io.eoi_count[4], 0);
	assert_false(fx.io.line[0] & (1ULL << 4));
	assert_invariants(&fx);
}

/* ---- refusal ---- */

static void expect_refused(struct ioapic_fixture *fx, const struct virq_ioapic_state *st, int err)
{
	struct virq_ioapic before = fx->io;
	struct fake_env fb = fx->f;

	assert_int_equal(virq_ioapic_restore(&fx->io, st), err);
	assert_memory_equal(&before, &fx->io, sizeof(before));
	assert_memory_equal(&fb, &fx->f, sizeof(fb));
}

static void test_refuse_damaged(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_state good, bad;

	(void)state;
	build_rich(&fx);
	save(&fx, &good);

	assert_int_equal(virq_ioapic_restore(&fx.io, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_restore(NULL, &good), -VIRQ_EINVAL);

	bad = good;
	bad.version = 0;
	expect_refused(&fx, &bad, -VIRQ_EVERSION);
	bad.version = 2;
	expect_refused(&fx, &bad, -VIRQ_EVERSION);
	bad = good;
	bad.size = sizeof(bad) - 8;
	expect_refused(&fx, &bad, -VIRQ_EVERSION);
	bad.size = sizeof(bad) + 8;
	expect_refused(&fx, &bad, -VIRQ_EVERSION);

	/* Pin count must match the configuration. */
	for (uint32_t pins = 0; pins <= 256; pins++) {
		if (pins == 48)
			continue;
		bad = good;
		bad.pins = pins;
		expect_refused(&fx, &bad, -VIRQ_ESTATE);
	}
	bad = good;
	bad.reserved = 1;
	expect_refused(&fx, &bad, -VIRQ_ESTATE);
	/* IOREGSEL 7:0; ID 27:24 only. */
	for (unsigned b = 8; b < 32; b++) {
		bad = good;
		bad.ioregsel |= 1U << b;
		expect_refused(&fx, &bad, -VIRQ_ESTATE);
	}
	for (unsigned b = 0; b < 32; b++) {
		if (b >= 24 && b <= 27)
			continue;
		bad = good;
		bad.id |= 1U << b;
		expect_refused(&fx, &bad, -VIRQ_ESTATE);
	}
	/* Entries: reserved 47:17 and delivery status. */
	for (unsigned b = 17; b < 48; b++) {
		bad = good;
		bad.rte[5] |= 1ULL << b;
		expect_refused(&fx, &bad, -VIRQ_ESTATE);
	}
	bad = good;
	bad.rte[9] |= VIRQ_IOAPIC_RTE_DELIVS;
	expect_refused(&fx, &bad, -VIRQ_ESTATE);
	/* Remote IRR only on level entries. */
	bad = good;
	bad.rte[2] |= VIRQ_IOAPIC_RTE_REMOTE_IRR;
	expect_refused(&fx, &bad, -VIRQ_ESTATE);
	bad = good;
	bad.rte[9] &= ~VIRQ_IOAPIC_RTE_LEVEL; /* Remote IRR left on an edge entry */
	expect_refused(&fx, &bad, -VIRQ_ESTATE);
	/* Nothing past the pin count. */
	for (unsigned p = 48; p < VIRQ_IOAPIC_MAX_PINS; p++) {
		bad = good;
		bad.rte[p] = VIRQ_IOAPIC_RTE_RESET;
		expect_refused(&fx, &bad, -VIRQ_ESTATE);
	}
	for (unsigned p = 48; p < 128; p++) {
		bad = good;
		bad.line[p >> 6] |= 1ULL << (p & 63);
		expect_refused(&fx, &bad, -VIRQ_ESTATE);
		bad = good;
		bad.storm_held[p >> 6] |= 1ULL << (p & 63);
		expect_refused(&fx, &bad, -VIRQ_ESTATE);
	}
	/* The good state still loads. */
	assert_int_equal(virq_ioapic_restore(&fx.io, &good), 0);
}

static void test_accept_boundaries(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_state st, out;
	struct virq_ioapic_config cfg = fixture_config(0x11, 120);

	(void)state;
	fixture_init(&fx, &cfg);
	save(&fx, &st);
	st.ioregsel = 0xFF;
	st.id = 0x0F000000U;
	for (unsigned p = 0; p < 120; p++)
		st.rte[p] = VIRQ_IOAPIC_RTE_WRITABLE | VIRQ_IOAPIC_RTE_REMOTE_IRR;
	st.line[0] = ~0ULL;
	st.line[1] = (1ULL << 56) - 1U;
	st.storm_held[0] = ~0ULL;
	st.storm_held[1] = (1ULL << 56) - 1U;
	assert_int_equal(virq_ioapic_restore(&fx.io, &st), 0);
	assert_invariants(&fx);
	save(&fx, &out);
	assert_memory_equal(&st, &out, sizeof(st));
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ID), 0x0F000000U);
	assert_int_equal(fx.f.n_msgs, 0);
	/* Everything held and masked: nothing is sent. */
	eoi(&fx, 0xFF);
	assert_int_equal(fx.f.n_msgs, 0);
}

/* ---- bit flips ---- */

/* Independent model of "a state save() could have produced" for this config. */
static bool model_valid(const struct virq_ioapic_state *st, unsigned pins)
{
	if (st->version != 1 || st->size != sizeof(*st))
		return false;
	if (st->pins != pins || st->reserved || st->ioregsel > 0xFF || (st->id & ~0x0F000000U))
		return false;
	for (unsigned p = 0; p < 120; p++) {
		uint64_t r = st->rte[p];

		if (p >= pins) {
			if (r)
				return false;
			continue;
		}
		if (r & 0x0000FFFFFFFE1000ULL) /* 47:17 and bit 12 */
			return false;
		if ((r & (1ULL << 14)) && !(r & (1ULL << 15)))
			return false;
	}
	for (unsigned p = pins; p < 128; p++)
		if (((st->line[p >> 6] | st->storm_held[p >> 6]) >> (p & 63)) & 1U)
			return false;
	return true;
}

static void test_bit_flip_sweep(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_state good, bad, out;
	unsigned accepted = 0, refused = 0;

	(void)state;
	build_rich(&fx);
	save(&fx, &good);
	fake_clear_log(&fx.f);
	for (size_t byte = 0; byte < sizeof(good); byte++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			struct virq_ioapic before = fx.io;
			int rc;

			bad = good;
			((uint8_t *)&bad)[byte] ^= (uint8_t)(1U << bit);
			rc = virq_ioapic_restore(&fx.io, &bad);
			if (model_valid(&bad, 48)) {
				assert_int_equal(rc, 0);
				assert_invariants(&fx);
				save(&fx, &out);
				assert_memory_equal(&bad, &out, sizeof(bad));
				assert_int_equal(virq_ioapic_restore(&fx.io, &good), 0);
				accepted++;
			} else {
				assert_true(rc < 0);
				assert_memory_equal(&before, &fx.io, sizeof(before));
				refused++;
			}
		}
	}
	assert_true(accepted > 1000);
	assert_true(refused > 1000);
	assert_int_equal(fx.f.n_msgs, 0);
}

/* The checker the fuzzers rely on notices each kind of corruption. */
static void test_check_invariants_detects(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic good;

	(void)state;
	build_rich(&fx);
	good = fx.io;
	assert_int_equal(ioapic_check_invariants(&fx.io), 0);
#define CORRUPT(stmt, code)                                                                        \
	do {                                                                                       \
		fx.io = good;                                                                      \
		stmt;                                                                              \
		assert_int_equal(ioapic_check_invariants(&fx.io), code);                           \
	} while (0)
	CORRUPT(fx.io.cfg.version = 0x12, 1);
	CORRUPT(fx.io.cfg.pins = 0, 2);
	CORRUPT(fx.io.cfg.pins = 121, 2);
	CORRUPT(fx.io.cfg.storm_limit = 0, 2);
	CORRUPT(fx.io.id = 16, 3);
	CORRUPT(fx.io.ioregsel = 0x100, 3);
	CORRUPT(fx.io.rte[48] = 1, 4);
	CORRUPT(fx.io.eoi_count[100] = 1, 4);
	CORRUPT(fx.io.rte[3] |= VIRQ_IOAPIC_RTE_DELIVS, 5);
	CORRUPT(fx.io.rte[3] |= 1ULL << 40, 5);
	CORRUPT(fx.io.rte[2] |= VIRQ_IOAPIC_RTE_REMOTE_IRR, 6);
	CORRUPT(fx.io.eoi_count[9] = 3, 7);
	CORRUPT(fx.io.line[0] |= 1ULL << 48, 8);
	CORRUPT(fx.io.storm_held[1] |= 1, 8);
	CORRUPT(fx.io.pending[0] |= 1ULL << 63, 8);
	CORRUPT(fx.io.pending[0] |= 1, 9);
	CORRUPT((fx.io.pending[0] |= 1, fx.io.in_eoi = 1), 0);
#undef CORRUPT
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_fields),
		cmocka_unit_test(test_round_trip_fresh),
		cmocka_unit_test(test_restore_resets_counts),
		cmocka_unit_test(test_refuse_damaged),
		cmocka_unit_test(test_accept_boundaries),
		cmocka_unit_test(test_bit_flip_sweep),
		cmocka_unit_test(test_check_invariants_detects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
