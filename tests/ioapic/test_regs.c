/* SPDX-License-Identifier: MIT */
/*
 * Registers: init and configuration checks, reset values, the MMIO window
 * (IOREGSEL, IOWIN, EOI register, every other offset, every size), the
 * ID/version/arbitration registers, every bit of a redirection entry, and
 * the entry -> MSI translation. Written from ioapic.h, the 82093AA
 * datasheet 3.1 "Memory Mapped Registers for Accessing IOAPIC
 * Registers" to 3.2 "IOAPIC Registers", the ICH/PCH EOI register and
 * SDM 10.11 "Message Signalled Interrupts".
 */
#include "harness.h"

/* ---- init ---- */

static void test_init_rejects(void **state)
{
	struct virq_ioapic io;
	struct virq_ioapic before;
	struct fake_env f;
	struct virq_ioapic_config cfg = fixture_config(0, 0);
	static const struct virq_ioapic_ops no_deliver = { .size = sizeof(struct virq_ioapic_ops),
							   .storm = fake_storm };
	struct virq_ioapic_config bad;

	(void)state;
	fake_reset(&f, &io);
	memset(&io, 0xA5, sizeof(io));
	before = io;
	assert_int_equal(virq_ioapic_init(NULL, &cfg, &fake_ops, &f), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_init(&io, NULL, &fake_ops, &f), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_init(&io, &cfg, NULL, &f), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_init(&io, &cfg, &no_deliver, &f), -VIRQ_EINVAL);
	/* Version: only 0x11 and 0x20 (0 = 0x20). */
	for (unsigned v = 1; v < 256; v++) {
		bad = cfg;
		bad.version = (uint8_t)v;
		if (v == 0x11 || v == 0x20)
			continue;
		assert_int_equal(virq_ioapic_init(&io, &bad, &fake_ops, &f), -VIRQ_EINVAL);
	}
	/* Pins 1-120 (0 = 24). */
	for (unsigned p = 121; p < 256; p++) {
		bad = cfg;
		bad.pins = (uint8_t)p;
		assert_int_equal(virq_ioapic_init(&io, &bad, &fake_ops, &f), -VIRQ_EINVAL);
	}
	/* ID 0-15, reserved zero. */
	for (unsigned id = 16; id < 256; id++) {
		bad = cfg;
		bad.id = (uint8_t)id;
		assert_int_equal(virq_ioapic_init(&io, &bad, &fake_ops, &f), -VIRQ_EINVAL);
	}
	bad = cfg;
	bad.reserved = 1;
	assert_int_equal(virq_ioapic_init(&io, &bad, &fake_ops, &f), -VIRQ_EINVAL);
	/* Nothing written by a refused init. */
	assert_memory_equal(&io, &before, sizeof(io));
}

/*
 * The size fields (doc/abi.md, "Growing ops and config structures"): 0,
 * sizeof - 1 and sizeof + 1 of either table are refused with
 * -VIRQ_EVERSION before any other field is read, nothing written; sizeof
 * is accepted. The ops table grew past its first size (32): below that is
 * refused too (test_fast checks that a 32-byte table's hook is ignored).
 */
static void test_init_size_checked(void **state)
{
	struct virq_ioapic io, before;
	struct fake_env f;
	union {
		struct virq_ioapic_config c;
		unsigned char room[sizeof(struct virq_ioapic_config) + 1];
	} cfg;
	union {
		struct virq_ioapic_ops o;
		unsigned char room[sizeof(struct virq_ioapic_ops) + 1];
	} ops;
	static const struct virq_ioapic_ops unsized = { .deliver = fake_deliver };
	const uint32_t cfg_bad[3] = { 0, sizeof(struct virq_ioapic_config) - 1,
				      sizeof(struct virq_ioapic_config) + 1 };
	/* The ops table grew (deliver_entry): below its first size is bad. */
	const uint32_t ops_bad[3] = { 0, VIRQ_IOAPIC_OPS_SIZE_MIN - 1,
				      sizeof(struct virq_ioapic_ops) + 1 };

	(void)state;
	assert_int_equal(VIRQ_IOAPIC_CONFIG_SIZE_MIN, sizeof(struct virq_ioapic_config));
	assert_int_equal(VIRQ_IOAPIC_OPS_SIZE_MIN, 32);
	assert_int_equal(sizeof(struct virq_ioapic_ops), 40);
	fake_reset(&f, &io);
	memset(&io, 0xA5, sizeof(io));
	before = io;
	for (unsigned i = 0; i < 3; i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.c = fixture_config(0x20, 24);
		cfg.c.size = cfg_bad[i];
		assert_int_equal(virq_ioapic_init(&io, &cfg.c, &fake_ops, &f), -VIRQ_EVERSION);
		memset(&ops, 0, sizeof(ops));
		ops.o = fake_ops;
		ops.o.size = ops_bad[i];
		cfg.c.size = sizeof(cfg.c);
		assert_int_equal(virq_ioapic_init(&io, &cfg.c, &ops.o, &f), -VIRQ_EVERSION);
		assert_memory_equal(&io, &before, sizeof(io));
	}
	assert_int_equal(virq_ioapic_init(&io, &cfg.c, &unsized, &f), -VIRQ_EVERSION);
	/* A bad config field behind a bad size: the size is the verdict. */
	cfg.c.size = 0;
	cfg.c.pins = 200;
	assert_int_equal(virq_ioapic_init(&io, &cfg.c, &fake_ops, &f), -VIRQ_EVERSION);
	/* The padding word after ops->size is reserved and checked. */
	ops.o = fake_ops;
	ops.o.reserved = 1;
	cfg.c = fixture_config(0x20, 24);
	assert_int_equal(virq_ioapic_init(&io, &cfg.c, &ops.o, &f), -VIRQ_EINVAL);
	assert_memory_equal(&io, &before, sizeof(io));

	ops.o = fake_ops;
	assert_int_equal(virq_ioapic_init(&io, &cfg.c, &ops.o, &f), 0);
	assert_int_equal(io.cfg.size, sizeof(struct virq_ioapic_config));
	assert_int_equal(io.cfg.pins, 24);
}

static void test_init_defaults(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	assert_int_equal(fx.io.cfg.version, 0x20);
	assert_int_equal(fx.io.cfg.pins, 24);
	assert_int_equal(fx.io.cfg.storm_limit, VIRQ_IOAPIC_STORM_LIMIT_DEFAULT);
	assert_int_equal(fx.io.cfg.storm_limit, 10000);
	/* 82093AA default VER is 0x00170011; QEMU's default 0x20 part: 0x00170020. */
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_VERSION), 0x00170020U);
}

static void test_init_minimal_ops(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	/* storm and guest_error are optional. */
	fixture_init_ops(&fx, NULL, &fake_ops_min);
	reg_w(&fx, VIRQ_IOAPIC_REG_VERSION, 0); /* would be reported */
	assert_int_equal(reg_r(&fx, 0xFF), 0xFFFFFFFFU);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

/* ---- reset ---- */

static void test_reset_values(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(0x11, 24);

	(void)state;
	cfg.id = 5;
	fixture_init(&fx, &cfg);
	/* 82093AA datasheet 3.1 "Memory Mapped Registers for Accessing IOAPIC
	 * Registers" to 3.2 "IOAPIC Registers" reset values, other entry bits 0
	 * as in QEMU and KVM: ID from config, IOREGSEL 0, every entry
	 * 0x10000. */
	assert_int_equal(mmio_r(&fx, VIRQ_IOAPIC_IOREGSEL), 0);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ID), 0x05000000U);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_VERSION), 0x00170011U);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ARB), 0x05000000U);
	for (unsigned p = 0; p < 24; p++) {
		assert_int_equal(reg_r(&fx, (uint8_t)(0x10 + 2 * p)), 0x00010000U);
		assert_int_equal(reg_r(&fx, (uint8_t)(0x11 + 2 * p)), 0);
		assert_int_equal(rte_get(&fx, p), VIRQ_IOAPIC_RTE_RESET);
	}
	assert_int_equal(VIRQ_IOAPIC_RTE_RESET, 0x10000ULL);

	/* Dirty everything, then reset. */
	reg_w(&fx, VIRQ_IOAPIC_REG_ID, 0x0C000000U);
	for (unsigned p = 0; p < 24; p++)
		rte_w(&fx, p, RTE_LEVEL(0x30 + p, p) | VIRQ_IOAPIC_RTE_MASKED);
	pin_set(&fx, 3, true);
	pin_set(&fx, 17, true);
	mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, 0x21);
	virq_ioapic_reset(&fx.io);
	assert_invariants(&fx);
	assert_int_equal(mmio_r(&fx, VIRQ_IOAPIC_IOREGSEL), 0);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ID), 0x05000000U);
	for (unsigned p = 0; p < 24; p++)
		assert_int_equal(rte_get(&fx, p), 0x10000ULL);
	/* Pin levels are device inputs: kept. */
	assert_true(fx.io.line[0] == ((1ULL << 3) | (1ULL << 17)));
	assert_int_equal(fx.f.n_msgs, 0);
}

/* ---- indirect registers ---- */

static void test_id_register(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	/* Only bits 27:24 are kept (KVM and QEMU store 4 bits). */
	reg_w(&fx, VIRQ_IOAPIC_REG_ID, 0xFFFFFFFFU);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ID), 0x0F000000U);
	reg_w(&fx, VIRQ_IOAPIC_REG_ID, 0x00FFFFFFU);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ID), 0);
	reg_w(&fx, VIRQ_IOAPIC_REG_ID, 0xF3000000U);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ID), 0x03000000U);
	for (uint32_t id = 0; id < 16; id++) {
		reg_w(&fx, VIRQ_IOAPIC_REG_ID, id << 24);
		assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ID), id << 24);
		/* ARB reads as the ID (82093AA datasheet 3.2.3
		 * "IOAPICARB—IOAPIC Arbitration Register"; KVM, QEMU). */
		assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ARB), id << 24);
	}
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

static void test_version_and_arb_readonly(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	reg_w(&fx, VIRQ_IOAPIC_REG_ID, 0x07000000U);
	fake_clear_log(&fx.f);
	reg_w(&fx, VIRQ_IOAPIC_REG_VERSION, 0);
	reg_w(&fx, VIRQ_IOAPIC_REG_VERSION, 0xFFFFFFFFU);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_VERSION), 0x00170020U);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_READONLY_REG], 2);
	reg_w(&fx, VIRQ_IOAPIC_REG_ARB, 0x0F000000U);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ARB), 0x07000000U);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_ID), 0x07000000U);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_READONLY_REG], 3);
	assert_invariants(&fx);
}

static void test_version_values(void **state)
{
	static const struct {
		uint8_t version, pins;
		uint32_t ver;
	} cases[] = {
		{ 0x11, 24, 0x00170011U },  { 0x20, 24, 0x00170020U }, { 0x20, 1, 0x00000020U },
		{ 0x11, 1, 0x00000011U },   { 0x20, 48, 0x002F0020U }, { 0x11, 120, 0x00770011U },
		{ 0x20, 120, 0x00770020U }, { 0, 0, 0x00170020U },     { 0x11, 0, 0x00170011U },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ioapic_fixture fx;
		struct virq_ioapic_config cfg = fixture_config(cases[i].version, cases[i].pins);

		fixture_init(&fx, &cfg);
		assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_VERSION), cases[i].ver);
	}
}

static void test_reserved_indexes_read_all_ones(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic before;

	(void)state;
	fixture_init(&fx, NULL);
	/* 0x03-0x0F: not registers; read all ones as in KVM, writes ignored. */
	for (unsigned i = 0x03; i < 0x10; i++) {
		fake_clear_log(&fx.f);
		assert_int_equal(reg_r(&fx, (uint8_t)i), 0xFFFFFFFFU);
		assert_int_equal(fx.f.gerr[VIRQ_GERR_RESERVED_REG], 1);
		mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, i);
		before = fx.io;
		mmio_w(&fx, VIRQ_IOAPIC_IOWIN, 0x12345678U);
		assert_memory_equal(&before, &fx.io, sizeof(before));
		assert_int_equal(fx.f.gerr[VIRQ_GERR_RESERVED_REG], 2);
	}
	/* Past the last entry: 0x10 + 2 * 24 = 0x40 .. 0xFF. */
	for (unsigned i = 0x40; i < 0x100; i++) {
		assert_int_equal(reg_r(&fx, (uint8_t)i), 0xFFFFFFFFU);
		mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, i);
		before = fx.io;
		mmio_w(&fx, VIRQ_IOAPIC_IOWIN, 0);
		assert_memory_equal(&before, &fx.io, sizeof(before));
	}
	/* The last entry itself is a register. */
	assert_int_equal(reg_r(&fx, 0x3E), 0x00010000U);
	assert_int_equal(reg_r(&fx, 0x3F), 0);
	assert_int_equal(fx.f.n_msgs, 0);
}

/* ---- redirection entries ---- */

static void test_rte_every_bit(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	/* Low half: every bit alone (the mask bit drops unless it is the bit). */
	for (unsigned b = 0; b < 32; b++) {
		uint32_t v = 1U << b;
		uint32_t expect = v & (uint32_t)VIRQ_IOAPIC_RTE_WRITABLE;

		reg_w(&fx, 0x10 + 2 * 5, v);
		assert_int_equal(reg_r(&fx, 0x10 + 2 * 5), expect);
		assert_int_equal(reg_r(&fx, 0x11 + 2 * 5), 0);
	}
	/* Low half: 0x0001AFFF writable; 12 (delivery status), 14 (Remote
	 * IRR) read-only; 31:17 reserved. */
	reg_w(&fx, 0x10 + 2 * 5, 0xFFFFFFFFU);
	assert_int_equal(reg_r(&fx, 0x10 + 2 * 5), 0x0001AFFFU);
	reg_w(&fx, 0x10 + 2 * 5, 0x00010000U);
	/* High half: 63:48 writable (destination, EDID / IR handle), 47:32 reserved. */
	for (unsigned b = 0; b < 32; b++) {
		uint32_t v = 1U << b;

		reg_w(&fx, 0x11 + 2 * 5, v);
		assert_int_equal(reg_r(&fx, 0x11 + 2 * 5), b >= 16 ? v : 0);
		assert_int_equal(reg_r(&fx, 0x10 + 2 * 5), 0x00010000U);
	}
	reg_w(&fx, 0x11 + 2 * 5, 0xFFFFFFFFU);
	assert_int_equal(reg_r(&fx, 0x11 + 2 * 5), 0xFFFF0000U);
	assert_int_equal(rte_get(&fx, 5), 0xFFFF000000010000ULL);
	assert_int_equal(VIRQ_IOAPIC_RTE_WRITABLE, 0xFFFF00000001AFFFULL);
	/* Fields land where the datasheet puts them. */
	rte_w(&fx, 7,
	      0x5AULL | (3ULL << 8) | (1ULL << 11) | (1ULL << 13) | (1ULL << 15) | (1ULL << 16) |
		      (0x81ULL << 48) | (0xC3ULL << 56));
	assert_int_equal(rte_r(&fx, 7), 0xC38100000001AB5AULL);
	/* Other entries untouched. */
	for (unsigned p = 0; p < 24; p++)
		if (p != 5 && p != 7)
			assert_int_equal(rte_get(&fx, p), 0x10000ULL);
	assert_int_equal(fx.f.n_msgs, 0);
	assert_invariants(&fx);
}

static void test_rte_remote_irr_readonly(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	/* Writing bit 14 (or 12) does not set it. */
	reg_w(&fx, 0x10 + 2 * 2, 0x0001D030U);
	assert_int_equal(reg_r(&fx, 0x10 + 2 * 2), 0x00018030U);
	/* A delivered level entry gets Remote IRR; rewriting it as level
	 * with bit 14 clear keeps it. */
	rte_w(&fx, 2, RTE_LEVEL(0x30, 1));
	pin_set(&fx, 2, true);
	assert_int_equal(fx.f.n_msgs, 1);
	assert_int_equal(reg_r(&fx, 0x10 + 2 * 2), 0x0000C030U);
	reg_w(&fx, 0x10 + 2 * 2, 0x00008031U);
	assert_int_equal(reg_r(&fx, 0x10 + 2 * 2), 0x0000C031U);
	/* Rewriting it as edge clears it (KVM, QEMU; Linux relies on it). */
	reg_w(&fx, 0x10 + 2 * 2, 0x00004031U);
	assert_int_equal(reg_r(&fx, 0x10 + 2 * 2), 0x00000031U);
	/* Back to level: Remote IRR stays clear, line high, unmasked -> sent again. */
	reg_w(&fx, 0x10 + 2 * 2, 0x00008031U);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_int_equal(reg_r(&fx, 0x10 + 2 * 2), 0x0000C031U);
	assert_invariants(&fx);
}

/* ---- MMIO window ---- */

static void test_ioregsel(void **state)
{
	struct ioapic_fixture fx;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	/* Bits 7:0 kept, 31:8 reserved. */
	mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, 0xFFFFFFFFU);
	assert_int_equal(mmio_r(&fx, VIRQ_IOAPIC_IOREGSEL), 0xFF);
	mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, 0x12345601U);
	assert_int_equal(mmio_r(&fx, VIRQ_IOAPIC_IOREGSEL), 0x01);
	/* Byte and word accesses within it. */
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x00, 1, 0x10), 0);
	assert_int_equal(mmio_r(&fx, 0x00), 0x10);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x01, 1, 0xAB), 0);
	assert_int_equal(mmio_r(&fx, 0x00), 0x10);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x00, 2, 0xFF22), 0);
	assert_int_equal(mmio_r(&fx, 0x00), 0x22);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x02, 2, 0xFFFF), 0);
	assert_int_equal(mmio_r(&fx, 0x00), 0x22);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x00, 1, &v), 0);
	assert_int_equal(v, 0x22);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x01, 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x00, 2, &v), 0);
	assert_int_equal(v, 0x22);
	/* 8-byte: reads the register zero-extended; writes ignored. */
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x00, 8, &v), 0);
	assert_int_equal(v, 0x22);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MMIO_SIZE], 1);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x00, 8, 0x33), 0);
	assert_int_equal(mmio_r(&fx, 0x00), 0x22);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MMIO_SIZE], 2);
	/* Cross-register write (4 bytes at 0x02): ignored. */
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x02, 4, 0x44), 0);
	assert_int_equal(mmio_r(&fx, 0x00), 0x22);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MMIO_SIZE], 3);
	/* Every 8-bit value is safe; index reads are consistent. */
	for (unsigned i = 0; i < 256; i++) {
		mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, i);
		assert_int_equal(mmio_r(&fx, VIRQ_IOAPIC_IOREGSEL), i);
	}
}

static void test_iowin_sizes(void **state)
{
	struct ioapic_fixture fx;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 0, 0xA1B2000000016F43ULL & VIRQ_IOAPIC_RTE_WRITABLE);
	assert_int_equal(rte_get(&fx, 0), 0xA1B2000000012F43ULL);
	mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, 0x10);
	fake_clear_log(&fx.f);
	/* Narrow reads return the bytes they cover (reported: only 32-bit is defined). */
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x10, 1, &v), 0);
	assert_int_equal(v, 0x43);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x11, 1, &v), 0);
	assert_int_equal(v, 0x2F);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x12, 2, &v), 0);
	assert_int_equal(v, 0x0001);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x10, 2, &v), 0);
	assert_int_equal(v, 0x2F43);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MMIO_SIZE], 4);
	/* 8-byte: the 32-bit window zero-extended. */
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x10, 8, &v), 0);
	assert_int_equal(v, 0x00012F43ULL);
	/* Cross-register 4-byte read at 0x12: bytes 2-3 zero-extended. */
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x12, 4, &v), 0);
	assert_int_equal(v, 0x0001);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MMIO_SIZE], 6);
	/* Only a 4-byte write at 0x10 takes effect. */
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x10, 1, 0x55), 0);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x10, 2, 0x55), 0);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x10, 8, 0x55), 0);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x11, 1, 0x55), 0);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x12, 2, 0x55), 0);
	assert_int_equal(rte_get(&fx, 0), 0xA1B2000000012F43ULL);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MMIO_SIZE], 11);
	mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, 0x10);
	mmio_w(&fx, VIRQ_IOAPIC_IOWIN, 0x00010055U);
	assert_int_equal(rte_get(&fx, 0), 0xA1B2000000010055ULL);
	assert_int_equal(fx.f.n_msgs, 0);
}

static void test_mmio_bad_args(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic before;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	before = fx.io;
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0, 4, NULL), -VIRQ_EINVAL);
	for (unsigned size = 0; size <= 16; size++) {
		if (size == 1 || size == 2 || size == 4 || size == 8)
			continue;
		assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x10, size, &v), -VIRQ_EINVAL);
		assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0x10, size, 0), -VIRQ_EINVAL);
	}
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x1000, 1, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0xFFC, 8, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0xFFFFFFFFU, 4, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0xFFFFFFFCU, 8, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0xFFF, 2, 0), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, 0xFFFFFFF8U, 8, 0), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0xFF8, 8, &v), 0);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0xFFF, 1, &v), 0);
	assert_memory_equal(&before, &fx.io, sizeof(before));
}

/* Every offset x size: defined result, nothing but the registers changes. */
static void test_mmio_every_offset(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 0, RTE_EDGE(0x40, 0));
	mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, 0x10);
	for (uint32_t off = 0; off < VIRQ_IOAPIC_MMIO_SIZE; off++) {
		for (unsigned i = 0; i < 4; i++) {
			unsigned size = sizes[i];
			bool fits = off + size <= VIRQ_IOAPIC_MMIO_SIZE;
			struct virq_ioapic before = fx.io;
			uint64_t v = 0xDEAD;
			int rc = virq_ioapic_mmio_read(&fx.io, off, size, &v);

			assert_int_equal(rc, fits ? 0 : -VIRQ_EINVAL);
			assert_memory_equal(&before, &fx.io, sizeof(before));
			if (!fits)
				continue;
			if (off < 4)
				assert_int_equal(v, (0x10U >> (off * 8)) & 0xFFU);
			else if (off >= 0x10 && off < 0x14)
				assert_int_equal(v, off == 0x10 ? 0x40U : 0);
			else
				assert_int_equal(v, 0);
			/* Writes outside IOREGSEL/IOWIN/EOI change nothing. */
			if (off >= 0x14 && (off < 0x40 || off >= 0x44)) {
				assert_int_equal(virq_ioapic_mmio_write(&fx.io, off, size,
									0xFFFFFFFFFFFFFFFFULL),
						 0);
				assert_memory_equal(&before, &fx.io, sizeof(before));
			}
		}
	}
	assert_int_equal(fx.f.n_msgs, 0);
	assert_invariants(&fx);
}

static void test_eoi_register_reads_zero(void **state)
{
	struct ioapic_fixture fx;
	uint64_t v = 1;

	(void)state;
	fixture_init(&fx, NULL);
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, VIRQ_IOAPIC_EOI, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(fx.f.n_gerr, 0);
	/* Pin assertion register (0x20): not implemented (PRQ = 0), reads 0. */
	assert_int_equal(virq_ioapic_mmio_read(&fx.io, 0x20, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(reg_r(&fx, VIRQ_IOAPIC_REG_VERSION) & (1U << 15), 0);
}

/* ---- messages ---- */

static void test_rte_to_msi(void **state)
{
	static const struct {
		uint64_t rte, addr;
		uint32_t data;
	} cases[] = {
		/* Fixed, physical, edge, dest 0. */
		{ 0x0000000000000030ULL, 0xFEE00000ULL, 0x00000030U },
		/* Lowest priority, logical, level, dest 0x0F. */
		{ 0x0F0000000000A941ULL, 0xFEE0F004ULL, 0x0000C141U },
		/* Masked and polarity do not appear in the message. */
		{ 0x0100000000012020ULL, 0xFEE01000ULL, 0x00000020U },
		/* SMI, NMI, INIT, ExtINT (edge). */
		{ 0x0200000000000200ULL, 0xFEE02000ULL, 0x00000200U },
		{ 0x0300000000000400ULL, 0xFEE03000ULL, 0x00000400U },
		{ 0x0400000000000500ULL, 0xFEE04000ULL, 0x00000500U },
		{ 0x0000000000000700ULL, 0xFEE00000ULL, 0x00000700U },
		/* Broadcast. */
		{ 0xFF00000000000031ULL, 0xFEEFF000ULL, 0x00000031U },
		/* Extended destination ID: bits 55:49 -> address 11:5. */
		{ 0x12FE000000000033ULL, 0xFEE12FE0ULL, 0x00000033U },
		/* Remappable: handle 0x7FFF in 63:49, format bit 48, handle[15] in
		 * bit 11 -> address 19:5, bit 4, bit 2 (VT-d remappable format). */
		{ 0xFFFF000000008834ULL, 0xFEEFFFF4ULL, 0x0000C034U },
		/* Reserved / RO bits in the argument are ignored. */
		{ 0x0000FFFFFFFE5034ULL, 0xFEE00000ULL, 0x00000034U },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t a = 0;
		uint32_t d = 0;

		virq_ioapic_rte_to_msi(cases[i].rte, &a, &d);
		assert_int_equal(a, cases[i].addr);
		assert_int_equal(d, cases[i].data);
		assert_int_equal(a, expect_addr(cases[i].rte));
		assert_int_equal(d, expect_data(cases[i].rte));
	}
	/* NULL outputs are tolerated. */
	virq_ioapic_rte_to_msi(0x30, NULL, NULL);
}

static void test_get_rte_range(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(0x20, 48);
	uint64_t v = 7;

	(void)state;
	fixture_init(&fx, &cfg);
	assert_int_equal(virq_ioapic_get_rte(&fx.io, 47, &v), 0);
	assert_int_equal(v, 0x10000ULL);
	v = 7;
	assert_int_equal(virq_ioapic_get_rte(&fx.io, 48, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_get_rte(&fx.io, 120, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_get_rte(&fx.io, ~0U, &v), -VIRQ_EINVAL);
	assert_int_equal(v, 7);
	assert_int_equal(virq_ioapic_get_rte(&fx.io, 0, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_ioapic_get_rte(NULL, 0, &v), -VIRQ_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects),
		cmocka_unit_test(test_init_size_checked),
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test(test_init_minimal_ops),
		cmocka_unit_test(test_reset_values),
		cmocka_unit_test(test_id_register),
		cmocka_unit_test(test_version_and_arb_readonly),
		cmocka_unit_test(test_version_values),
		cmocka_unit_test(test_reserved_indexes_read_all_ones),
		cmocka_unit_test(test_rte_every_bit),
		cmocka_unit_test(test_rte_remote_irr_readonly),
		cmocka_unit_test(test_ioregsel),
		cmocka_unit_test(test_iowin_sizes),
		cmocka_unit_test(test_mmio_bad_args),
		cmocka_unit_test(test_mmio_every_offset),
		cmocka_unit_test(test_eoi_register_reads_zero),
		cmocka_unit_test(test_rte_to_msi),
		cmocka_unit_test(test_get_rte_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
