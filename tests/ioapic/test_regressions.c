/* SPDX-License-Identifier: MIT */
/*
 * One test per checklist row that concerns an I/O APIC: bugs other
 * hypervisors shipped, kept from coming back here. Each test is named
 * after its row and cites the advisory or the peer. This file is the
 * checklist: rows that other ioapic tests also cover are repeated here.
 *
 * Rows with an I/O APIC part that is tested here only for that part (the
 * rest belongs to the router, virq_vm, and is tested there):
 *  - KVM CVE-2016-9777: the destination -> vCPU index is the router's; the
 *    I/O APIC only forwards the 8-bit destination and 55:48 unchanged.
 *  - KVM CVE-2017-1000252: GSI / route / IRTE indexes are the router's;
 *    here every pin index the embedder passes.
 *  - Suppress-EOI-broadcast: the LAPIC side is
 *    tests/lapic/test_regressions.c test_suppress_eoi_broadcast_matrix;
 *    here the I/O APIC version dimension (EOI register on 0x20 only).
 *  - Xen "IRR re-checked after dropping a lock": the I/O APIC is serialised
 *    by its caller (ioapic.h "Threads"); the TSan part belongs to virq_vm.
 *    Here: line changes during EOI processing are re-checked at send time.
 *  - KVM wired-OR GSI: the OR of several sources is the GSI router's
 *    (issue 3 section 4); here the I/O APIC input side it relies on.
 */
#include "harness.h"

/* ---- untrusted indexes and sizes ---- */

/* The object between two canaries, so a stray write would show. */
struct guarded {
	uint64_t canary_lo[32];
	struct virq_ioapic io;
	uint64_t canary_hi[32];
};

#define CANARY 0x5A5AA5A55A5AA5A5ULL

static void check_ioregsel_sweep(uint8_t version, uint8_t pins)
{
	struct guarded g;
	struct fake_env f;
	struct virq_ioapic_config cfg = fixture_config(version, pins);
	uint32_t last = 0x10U + 2U * pins; /* first index past the table */

	for (unsigned i = 0; i < 32; i++)
		g.canary_lo[i] = g.canary_hi[i] = CANARY;
	fake_reset(&f, &g.io);
	assert_int_equal(virq_ioapic_init(&g.io, &cfg, &fake_ops, &f), 0);
	for (uint32_t sel = 0; sel < 0x100; sel++) {
		struct virq_ioapic before;
		uint64_t v = 0;
		uint32_t expect;

		assert_int_equal(virq_ioapic_mmio_write(&g.io, VIRQ_IOAPIC_IOREGSEL, 4, sel), 0);
		assert_int_equal(virq_ioapic_mmio_read(&g.io, VIRQ_IOAPIC_IOWIN, 4, &v), 0);
		if (sel == 0 || sel == 2)
			expect = 0;
		else if (sel == 1)
			expect = version | ((uint32_t)(pins - 1U) << 16);
		else if (sel >= 0x10 && sel < last)
			expect = (sel & 1U) ? 0 : 0x00010000U;
		else
			expect = 0xFFFFFFFFU;
		assert_int_equal(v, expect);
		/* Writes outside the table (and to VER/ARB) change nothing. */
		if (sel == 0 || (sel >= 0x10 && sel < last))
			continue;
		before = g.io;
		assert_int_equal(virq_ioapic_mmio_write(&g.io, VIRQ_IOAPIC_IOWIN, 4, 0xFFFFFFFFU),
				 0);
		assert_int_equal(virq_ioapic_mmio_write(&g.io, VIRQ_IOAPIC_IOWIN, 4, 0), 0);
		assert_memory_equal(&before, &g.io, sizeof(before));
	}
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(g.canary_lo[i], CANARY);
		assert_int_equal(g.canary_hi[i], CANARY);
	}
	assert_int_equal(ioapic_check_invariants(&g.io), 0);
	assert_int_equal(f.n_msgs, 0);
}

/*
 * KVM CVE-2013-1798: ioapic_read_indirect() compared the redirection index
 * wrongly and read past the table. Every IOREGSEL value 0x00-0xFF, for 1,
 * 24, 48 and 120 pins: the documented value, writes ignored outside the
 * table, nothing outside it touched (canaries here, ASan in the asan build).
 */
static void test_cve_2013_1798_ioregsel_out_of_range(void **state)
{
	(void)state;
	check_ioregsel_sweep(0x11, 1);
	check_ioregsel_sweep(0x20, 24);
	check_ioregsel_sweep(0x20, 48);
	check_ioregsel_sweep(0x11, 120);
}

/*
 * Xen 2018: 1/2/8-byte and misaligned MMIO went past the register array.
 * Every offset 0x000-0xFFF x sizes 1, 2, 4, 8: a defined result (0 or
 * -VIRQ_EINVAL past the window), nothing outside the registers changes.
 */
static void test_xen2018_mmio_sizes_offsets(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	struct guarded g;
	struct fake_env f;
	struct virq_ioapic_config cfg = fixture_config(0x20, 24);

	(void)state;
	for (unsigned i = 0; i < 32; i++)
		g.canary_lo[i] = g.canary_hi[i] = CANARY;
	fake_reset(&f, &g.io);
	assert_int_equal(virq_ioapic_init(&g.io, &cfg, &fake_ops, &f), 0);
	for (uint32_t off = 0; off < 0x1000; off++) {
		for (unsigned s = 0; s < 4; s++) {
			bool fits = off + sizes[s] <= 0x1000;
			uint64_t v = 0;

			assert_int_equal(virq_ioapic_mmio_read(&g.io, off, sizes[s], &v),
					 fits ? 0 : -VIRQ_EINVAL);
			if (fits)
				assert_true(sizes[s] == 8 || v < (1ULL << (8 * sizes[s])));
			assert_int_equal(virq_ioapic_mmio_write(&g.io, off, sizes[s], ~0ULL),
					 fits ? 0 : -VIRQ_EINVAL);
			assert_int_equal(ioapic_check_invariants(&g.io), 0);
		}
	}
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(g.canary_lo[i], CANARY);
		assert_int_equal(g.canary_hi[i], CANARY);
	}
}

/*
 * KVM CVE-2016-9777: an IOAPIC destination was used unbounded as a vCPU
 * index. The I/O APIC indexes nothing by destination: every destination
 * byte and every value of 55:48 reaches the message exactly.
 */
static void test_cve_2016_9777_destination_not_an_index(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	for (unsigned dest = 0; dest < 256; dest += 1) {
		for (unsigned ext = 0; ext < 256; ext += 51) {
			uint64_t rte = RTE_EDGE(0x40, dest) | ((uint64_t)ext << 48) |
				       ((dest & 1) ? VIRQ_IOAPIC_RTE_DEST_LOGICAL : 0);
			unsigned n = fx.f.n_msgs;

			rte_w(&fx, 0, rte);
			pin_set(&fx, 0, false);
			pin_set(&fx, 0, true);
			assert_int_equal(fx.f.n_msgs, n + 1);
			if (n < FAKE_MAX_LOG) {
				assert_int_equal(fx.f.msgs[n].addr,
						 0xFEE00000ULL | ((uint64_t)dest << 12) |
							 ((uint64_t)ext << 4) | ((dest & 1) << 2));
			}
			fake_clear_log(&fx.f);
		}
	}
}

/*
 * KVM CVE-2017-1000252: an out-of-range GSI reached a table unchecked.
 * Every pin index from the embedder is range-checked and refused without
 * side effects.
 */
static void test_cve_2017_1000252_pin_index_range_checked(void **state)
{
	static const unsigned bad[] = { 24,  25,  63,  64,  119,         120,         121,
					127, 128, 255, 256, 0x7FFFFFFFU, 0x80000000U, 0xFFFFFFFFU };
	struct ioapic_fixture fx;
	struct virq_ioapic before;
	uint64_t v = 0;

	(void)state;
	fixture_init(&fx, NULL);
	before = fx.io;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(virq_ioapic_set_pin(&fx.io, bad[i], true), -VIRQ_EINVAL);
		assert_int_equal(virq_ioapic_set_pin(&fx.io, bad[i], false), -VIRQ_EINVAL);
		assert_int_equal(virq_ioapic_service(&fx.io, bad[i]), -VIRQ_EINVAL);
		assert_int_equal(virq_ioapic_get_rte(&fx.io, bad[i], &v), -VIRQ_EINVAL);
	}
	assert_memory_equal(&before, &fx.io, sizeof(before));
	assert_int_equal(virq_ioapic_set_pin(&fx.io, 23, true), 0);
}

/*
 * KVM and QEMU 2025-26: suppress-EOI-broadcast advertised but EOIs still
 * broadcast. The I/O APIC dimension: with directed EOI the guest writes the
 * EOI register, which exists on version 0x20 only; on 0x11 it is ignored
 * and only a broadcast clears Remote IRR.
 */
static void test_suppress_eoi_broadcast_ioapic_versions(void **state)
{
	static const uint8_t versions[] = { 0x11, 0x20 };

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct ioapic_fixture fx;
		struct virq_ioapic_config cfg = fixture_config(versions[i], 24);

		fixture_init(&fx, &cfg);
		rte_w(&fx, 10, RTE_LEVEL(0x61, 0));
		pin_set(&fx, 10, true);
		pin_set(&fx, 10, false);
		/* Directed EOI: the EOI register. */
		mmio_w(&fx, VIRQ_IOAPIC_EOI, 0x61);
		assert_int_equal(remote_irr(&fx, 10), versions[i] == 0x11);
		/* Broadcast EOI (the LAPIC's eoi_level hook): both versions. */
		eoi(&fx, 0x61);
		assert_false(remote_irr(&fx, 10));
		assert_int_equal(fx.f.n_msgs, 1);
	}
}

/* ---- IOAPIC and level-triggered lines ---- */

/*
 * KVM: EOI handling stopped at the first entry with the vector, so a device
 * that changed IRQ lost interrupts. Two (here three) entries with the same
 * vector: one EOI clears Remote IRR on all of them.
 */
static void test_kvm_eoi_clears_all_entries_with_vector(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 5, RTE_LEVEL(0x70, 0));
	rte_w(&fx, 11, RTE_LEVEL(0x70, 1));
	rte_w(&fx, 23, RTE_LEVEL(0x70, 2));
	pin_set(&fx, 5, true);
	pin_set(&fx, 11, true);
	pin_set(&fx, 23, true);
	pin_set(&fx, 5, false);
	pin_set(&fx, 11, false);
	pin_set(&fx, 23, false);
	assert_true(remote_irr(&fx, 5) && remote_irr(&fx, 11) && remote_irr(&fx, 23));
	eoi(&fx, 0x70);
	assert_false(remote_irr(&fx, 5));
	assert_false(remote_irr(&fx, 11));
	assert_false(remote_irr(&fx, 23));
	/* Both lines fire again independently. */
	pin_set(&fx, 11, true);
	pin_set(&fx, 23, true);
	assert_int_equal(fx.f.n_msgs, 5);
}

/*
 * KVM "level-triggered EOI and IOAPIC reconfigure race": the guest rewrote
 * an entry's destination while its vector was in service, and Remote IRR
 * stayed set forever. Exactly that sequence, then the line fires again, to
 * the new destination.
 */
static void test_kvm_reconfigure_race_remote_irr(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 18, RTE_LEVEL(0x58, 1));
	pin_set(&fx, 18, true);
	assert_int_equal(fx.f.msgs[0].addr, 0xFEE01000ULL);
	assert_true(remote_irr(&fx, 18));
	/* Vector in service at vCPU 1; the guest moves the IRQ to vCPU 6. */
	reg_w(&fx, 0x11 + 2 * 18, 0x06000000U);
	reg_w(&fx, 0x10 + 2 * 18, 0x00008058U);
	assert_true(remote_irr(&fx, 18));
	assert_int_equal(fx.f.n_msgs, 1);
	/* The EOI from the old destination still clears it. */
	eoi(&fx, 0x58);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_int_equal(fx.f.msgs[1].addr, 0xFEE06000ULL);
	/* And the cycle goes on. */
	pin_set(&fx, 18, false);
	eoi(&fx, 0x58);
	assert_false(remote_irr(&fx, 18));
	pin_set(&fx, 18, true);
	assert_int_equal(fx.f.n_msgs, 3);
}

/* The eoi_level path raises the line again from inside delivery. */
static unsigned lazy_stack_depth, lazy_max_stack_depth;

static void act_lazy_eoi_reraise(struct fake_env *f, unsigned pin)
{
	lazy_stack_depth++;
	if (lazy_stack_depth > lazy_max_stack_depth)
		lazy_max_stack_depth = lazy_stack_depth;
	virq_ioapic_eoi(f->io, rte_vector(f->io->rte[pin]));
	assert_int_equal(virq_ioapic_set_pin(f->io, pin, false), 0);
	assert_int_equal(virq_ioapic_set_pin(f->io, pin, true), 0);
	lazy_stack_depth--;
}

/*
 * KVM "KVM: x86: ioapic: break infinite recursion on lazy EOI": an EOI
 * callback re-asserting the same line recursed without bound. An EOI path
 * that raises the line again from inside deliver: bounded, no recursion
 * (stack depth of the hook counted: 1).
 */
static void test_kvm_lazy_eoi_reraise_no_recursion(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(0x20, 24);

	(void)state;
	cfg.storm_limit = 50;
	fixture_init(&fx, &cfg);
	fx.f.action = act_lazy_eoi_reraise;
	lazy_stack_depth = lazy_max_stack_depth = 0;
	rte_w(&fx, 8, RTE_LEVEL(0x88, 0));
	pin_set(&fx, 8, true);
	assert_int_equal(lazy_max_stack_depth, 1);
	assert_int_equal(fx.f.max_depth, 1);
	assert_true(fx.f.stack_hi - fx.f.stack_lo < 512);
	assert_int_equal(fx.f.per_pin[8], 51);
	assert_int_equal(fx.f.storms[8], 1);
	assert_int_equal(fx.io.in_eoi, 0);
	/* With the default limit too (10001 messages, still depth 1). */
	cfg.storm_limit = 0;
	fixture_init(&fx, &cfg);
	fx.f.action = act_lazy_eoi_reraise;
	rte_w(&fx, 8, RTE_LEVEL(0x88, 0));
	pin_set(&fx, 8, true);
	assert_int_equal(fx.f.per_pin[8], 10001);
	assert_int_equal(fx.f.max_depth, 1);
	assert_int_equal(lazy_max_stack_depth, 1);
}

/*
 * KVM 2019 / QEMU: a level line the guest never clears livelocked the host
 * (Windows resume from hibernation). Throttling kicks in at storm_limit and
 * is reported; after virq_ioapic_service() the guest still gets the
 * interrupt.
 */
static void test_kvm_qemu_level_storm_throttled(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic_config cfg = fixture_config(0x20, 24);

	(void)state;
	cfg.storm_limit = 5;
	fixture_init(&fx, &cfg);
	rte_w(&fx, 20, RTE_LEVEL(0xD0, 0));
	pin_set(&fx, 20, true);
	for (unsigned i = 0; i < 100; i++)
		eoi(&fx, 0xD0);
	assert_int_equal(fx.f.per_pin[20], 6);
	assert_int_equal(fx.f.storms[20], 1);
	assert_int_equal(virq_ioapic_service(&fx.io, 20), 0);
	assert_int_equal(fx.f.per_pin[20], 7);
	assert_true(remote_irr(&fx, 20));
	/* The guest finally clears the device: normal again. */
	pin_set(&fx, 20, false);
	eoi(&fx, 0xD0);
	pin_set(&fx, 20, true);
	assert_int_equal(fx.f.per_pin[20], 8);
	assert_int_equal(fx.f.n_storms, 1);
}

static unsigned recheck_target;
static bool recheck_level;

static void act_change_other_line(struct fake_env *f, unsigned pin)
{
	if (pin != recheck_target)
		assert_int_equal(virq_ioapic_set_pin(f->io, recheck_target, recheck_level), 0);
}

/*
 * Xen: IRR re-checked after dropping a lock to forward an EOI. Line changes
 * while an EOI is being processed (from inside a delivery it caused) are
 * seen: a line dropped is not sent, a line raised is.
 */
static void test_xen_irr_recheck_during_eoi(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 3, RTE_LEVEL(0x93, 0));
	rte_w(&fx, 7, RTE_LEVEL(0x93, 1));
	pin_set(&fx, 3, true);
	pin_set(&fx, 7, true);
	/* Pin 3's re-delivery drops pin 7, which the EOI had found high. */
	fx.f.action = act_change_other_line;
	recheck_target = 7;
	recheck_level = false;
	fake_clear_log(&fx.f);
	eoi(&fx, 0x93);
	assert_int_equal(fx.f.n_msgs, 1);
	assert_int_equal(fx.f.msgs[0].pin, 3);
	assert_false(remote_irr(&fx, 7));
	/* Pin 3's re-delivery raises pin 7 again: sent after it. */
	recheck_level = true;
	fake_clear_log(&fx.f);
	eoi(&fx, 0x93);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_int_equal(fx.f.msgs[1].pin, 7);
	assert_true(remote_irr(&fx, 7));
}

/*
 * ACRN: lost and duplicate interrupts from polarity and initial pin state.
 * Active-low lines take logical levels; a line asserted before its entry is
 * programmed is sent once at unmask; flipping polarity while asserted
 * neither loses nor duplicates.
 */
static void test_acrn_polarity_and_initial_state(void **state)
{
	struct ioapic_fixture fx;
	uint64_t low = RTE_LEVEL(0xA5, 2) | VIRQ_IOAPIC_RTE_POLARITY_LOW;

	(void)state;
	fixture_init(&fx, NULL);
	/* PCI INTx asserted at boot, entry still in reset state. */
	pin_set(&fx, 16, true);
	rte_w(&fx, 16, low | VIRQ_IOAPIC_RTE_MASKED);
	assert_int_equal(fx.f.n_msgs, 0);
	rte_w(&fx, 16, low); /* unmask while asserted */
	assert_int_equal(fx.f.n_msgs, 1);
	rte_w(&fx, 16, low); /* the same write again: no duplicate */
	assert_int_equal(fx.f.n_msgs, 1);
	/* Polarity flipped while asserted: storage only. */
	rte_w(&fx, 16, RTE_LEVEL(0xA5, 2));
	rte_w(&fx, 16, low);
	assert_int_equal(fx.f.n_msgs, 1);
	eoi(&fx, 0xA5);
	assert_int_equal(fx.f.n_msgs, 2); /* still asserted: sent once more */
	pin_set(&fx, 16, false);
	eoi(&fx, 0xA5);
	assert_int_equal(fx.f.n_msgs, 2);
	/* Edge active-low (ISA override): one message per logical rising edge. */
	rte_w(&fx, 9, RTE_EDGE(0xA9, 0) | VIRQ_IOAPIC_RTE_POLARITY_LOW);
	pin_set(&fx, 9, true);
	pin_set(&fx, 9, true);
	rte_w(&fx, 9, RTE_EDGE(0xA9, 0));
	pin_set(&fx, 9, false);
	assert_int_equal(fx.f.per_pin[9], 1);
}

/* The device re-asserts while the EOI is being processed. */
static void act_assert_pin2(struct fake_env *f, unsigned pin)
{
	if (pin == 1)
		assert_int_equal(virq_ioapic_set_pin(f->io, 2, true), 0);
}

/*
 * cloud-hypervisor #5260: an INTx asserted between EOI issue and
 * completion was missed. Assert while Remote IRR is still set (the EOI is
 * on its way), and assert from inside the EOI's own processing: both
 * delivered.
 */
static void test_cloud_hypervisor_5260_assert_during_eoi(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 2, RTE_LEVEL(0x52, 0));
	pin_set(&fx, 2, true);
	pin_set(&fx, 2, false); /* handler cleared the device */
	pin_set(&fx, 2, true);  /* new INTx before the EOI arrives */
	assert_int_equal(fx.f.n_msgs, 1);
	eoi(&fx, 0x52);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_true(remote_irr(&fx, 2));

	/* Pin 1 shares the vector; its re-delivery during the EOI raises pin 2. */
	pin_set(&fx, 2, false);
	rte_w(&fx, 1, RTE_LEVEL(0x52, 0));
	pin_set(&fx, 1, true);
	fx.f.action = act_assert_pin2;
	fake_clear_log(&fx.f);
	eoi(&fx, 0x52);
	assert_int_equal(fx.f.n_msgs, 2);
	assert_int_equal(fx.f.msgs[0].pin, 1);
	assert_int_equal(fx.f.msgs[1].pin, 2);
	assert_true(remote_irr(&fx, 2));
}

/*
 * cloud-hypervisor #1791: Windows writes 0 to the read-only version
 * register. The write is ignored and the call succeeds (it is reported to
 * the optional guest_error hook, as ioapic.h documents, and nothing else).
 */
static void test_cloud_hypervisor_1791_version_write_ignored(void **state)
{
	struct ioapic_fixture fx;
	struct virq_ioapic before;

	(void)state;
	fixture_init(&fx, NULL);
	mmio_w(&fx, VIRQ_IOAPIC_IOREGSEL, VIRQ_IOAPIC_REG_VERSION);
	before = fx.io;
	assert_int_equal(virq_ioapic_mmio_write(&fx.io, VIRQ_IOAPIC_IOWIN, 4, 0), 0);
	assert_memory_equal(&before, &fx.io, sizeof(before));
	assert_int_equal(mmio_r(&fx, VIRQ_IOAPIC_IOWIN), 0x00170020U);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_READONLY_REG], 1);
	assert_int_equal(fx.f.n_gerr, 1);
}

/*
 * KVM: several sources on one GSI need a wired-OR kept under one lock. The
 * OR is the GSI router's; the I/O APIC side it relies on: a level input
 * asserted again while high sends nothing new while Remote IRR is set, an
 * edge input asserted again while high is not a new edge, and the pin
 * follows the last level given.
 */
static void test_kvm_wired_or_gsi_input_side(void **state)
{
	struct ioapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	rte_w(&fx, 10, RTE_LEVEL(0xB0, 0));
	rte_w(&fx, 4, RTE_EDGE(0xB4, 0));
	/* Source A and B both high: the router passes "high" twice. */
	pin_set(&fx, 10, true);
	pin_set(&fx, 10, true);
	pin_set(&fx, 4, true);
	pin_set(&fx, 4, true);
	assert_int_equal(fx.f.per_pin[10], 1);
	assert_int_equal(fx.f.per_pin[4], 1);
	/* A drops (router: still high through B); EOI re-sends. */
	pin_set(&fx, 10, true);
	eoi(&fx, 0xB0);
	assert_int_equal(fx.f.per_pin[10], 2);
	/* B drops too: the router passes low; EOI does not re-send. */
	pin_set(&fx, 10, false);
	eoi(&fx, 0xB0);
	assert_int_equal(fx.f.per_pin[10], 2);
	assert_false(fx.io.line[0] & (1ULL << 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Untrusted indexes and sizes */
		cmocka_unit_test(test_cve_2013_1798_ioregsel_out_of_range),
		cmocka_unit_test(test_xen2018_mmio_sizes_offsets),
		cmocka_unit_test(test_cve_2016_9777_destination_not_an_index),
		cmocka_unit_test(test_cve_2017_1000252_pin_index_range_checked),
		/* LAPIC registers, modes and errors: the I/O APIC part */
		cmocka_unit_test(test_suppress_eoi_broadcast_ioapic_versions),
		/* IOAPIC and level-triggered lines */
		cmocka_unit_test(test_kvm_eoi_clears_all_entries_with_vector),
		cmocka_unit_test(test_kvm_reconfigure_race_remote_irr),
		cmocka_unit_test(test_kvm_lazy_eoi_reraise_no_recursion),
		cmocka_unit_test(test_kvm_qemu_level_storm_throttled),
		cmocka_unit_test(test_xen_irr_recheck_during_eoi),
		cmocka_unit_test(test_acrn_polarity_and_initial_state),
		cmocka_unit_test(test_cloud_hypervisor_5260_assert_during_eoi),
		cmocka_unit_test(test_cloud_hypervisor_1791_version_write_ignored),
		cmocka_unit_test(test_kvm_wired_or_gsi_input_side),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
