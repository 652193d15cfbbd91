/* SPDX-License-Identifier: MIT */
/*
 * The I/O APIC delivery fast paths of the VM (a fixed physical entry sent
 * straight to the vCPU the map names, lib/vm/gsi.c and route.c) against
 * the general path. The general path is forced in a twin VM by an
 * ioapic_msg hook (with it every entry goes out as its MSI write and is
 * decoded again): both VMs get the same vCPUs, entries and operations, and
 * after every operation their LAPIC registers (IRR, ISR, TMR), the
 * entries (Remote IRR, delivery status), the lost-message and storm counts
 * must be identical. Also the stale-map window and exact level and storm
 * cycles through the fast path.
 */
#include "harness.h"

/* Entry bits 55:49: destination bits 14:8 only with VIRQ_MSI_EXT_DEST. */
#define VM_RTE_TEST_EXT_BITS (0x7FULL << (VIRQ_IOAPIC_RTE_EXT_DEST_SHIFT + 1))

static uint64_t rng_state = 0x243F6A8885A308D3ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static unsigned n_msg;

static void slow_ioapic_msg(void *ctx, unsigned ioapic, unsigned pin, uint64_t addr, uint32_t data)
{
	(void)ctx;
	(void)ioapic;
	(void)pin;
	(void)addr;
	(void)data;
	n_msg++;
}

/* fx_vm_ops plus ioapic_msg: every entry takes the MSI form. */
static struct virq_vm_ops slow_ops;

static struct vm_fixture *twin_new(const struct virq_vm_config *cfg, bool slow)
{
	struct vm_fixture *fx = fx_new_cfg(cfg);

	if (slow) {
		slow_ops = fx_vm_ops;
		slow_ops.ioapic_msg = slow_ioapic_msg;
		assert_int_equal(virq_vm_init(&fx->vm, &fx->cfg, fx->vcpus, fx->map, fx->map_key,
					      fx->gsis, &slow_ops, fx),
				 0);
	}
	return fx;
}

static uint32_t page_word(struct vm_fixture *fx, uint32_t i, uint32_t reg, unsigned w)
{
	return fx->pages[i][(reg >> 2) + w * 4];
}

/* Everything the two VMs must agree on. */
static void twins_equal(struct vm_fixture *a, struct vm_fixture *b)
{
	for (uint32_t i = 0; i < a->cfg.nr_vcpus; i++) {
		assert_true(!a->vcpus[i] == !b->vcpus[i]);
		if (!a->vcpus[i])
			continue;
		(void)virq_lapic_sync(a->vcpus[i]);
		(void)virq_lapic_sync(b->vcpus[i]);
		for (unsigned w = 0; w < 8; w++) {
			assert_int_equal(page_word(a, i, VIRQ_LAPIC_REG_IRR, w),
					 page_word(b, i, VIRQ_LAPIC_REG_IRR, w));
			assert_int_equal(page_word(a, i, VIRQ_LAPIC_REG_ISR, w),
					 page_word(b, i, VIRQ_LAPIC_REG_ISR, w));
			assert_int_equal(page_word(a, i, VIRQ_LAPIC_REG_TMR, w),
					 page_word(b, i, VIRQ_LAPIC_REG_TMR, w));
		}
	}
	for (unsigned p = 0; p < VIRQ_IOAPIC_DEFAULT_PINS; p++)
		assert_true(fx_get_rte(a, p) == fx_get_rte(b, p));
	assert_int_equal(a->n_lost, b->n_lost);
	assert_int_equal(a->n_storms, b->n_storms);
	assert_int_equal(ioapic_check_invariants(&a->ioapic), 0);
	assert_int_equal(ioapic_check_invariants(&b->ioapic), 0);
	fx_check(a);
	fx_check(b);
}

/* IDs that reach the map's corner cases: 0xFF, above 0xFF (x2APIC),
 * aliases of each other's low byte, past a 64-entry map. */
static const uint32_t ids[] = { 0, 1, 2, 3, 5, 0xFE, 0xFF, 0x101, 0x105, 0x1FF, 0x40, 0x41 };
static const uint32_t dests[] = { 0, 1, 2, 3, 5, 0xFE, 0xFF, 0x40, 0x41, 0x17, 0x3F, 0x80 };

/* The same vCPU @i in both VMs: mode, ID, software enable from @r. */
static void twins_vcpu(struct vm_fixture *a, struct vm_fixture *b, uint32_t i, uint64_t r)
{
	uint32_t id = ids[(r >> 8) % (sizeof(ids) / sizeof(ids[0]))];
	bool x2 = r & 1U, enabled = (r & 6U) != 0;

	if ((r & 0x30U) == 0x30U)
		return; /* absent */
	for (unsigned t = 0; t < 2; t++) {
		struct vm_fixture *fx = t ? b : a;

		if (x2) {
			struct virq_lapic *l = fx_add(fx, i, id, i == 0);

			assert_int_equal(virq_lapic_set_apic_base(
						 l,
						 VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
							 VIRQ_APIC_BASE_EXTD |
							 (i == 0 ? VIRQ_APIC_BASE_BSP : 0),
						 false),
					 0);
			if (enabled)
				assert_int_equal(virq_lapic_msr_write(l, 0x80F, 0x1FF), 0);
		} else {
			(void)fx_add(fx, i, id & 0xFFU, i == 0);
			if (enabled)
				fx_mmio_w(fx, i, VIRQ_LAPIC_REG_SVR, 0x1FFU);
		}
	}
}

/* A random entry: mostly fixed physical (the fast path), some lowest
 * priority, logical, extended destination bits, masked. */
static uint64_t random_rte(unsigned pin)
{
	uint64_t r = rng(), rte = 0x30U + pin;

	rte |= (uint64_t)dests[(r >> 8) % (sizeof(dests) / sizeof(dests[0]))]
	       << VIRQ_IOAPIC_RTE_DEST_SHIFT;
	if (r & 1U)
		rte |= VIRQ_IOAPIC_RTE_LEVEL;
	if ((r & 0x70U) == 0x10U)
		rte |= 1ULL << VIRQ_IOAPIC_RTE_DM_SHIFT; /* lowest priority */
	if ((r & 0x70U) == 0x20U)
		rte |= VIRQ_IOAPIC_RTE_DEST_LOGICAL;
	if ((r & 0x380U) == 0x80U)
		rte |= 1ULL << (VIRQ_IOAPIC_RTE_EXT_DEST_SHIFT + 1); /* dest bit 8 */
	if ((r & 0x1C00U) == 0x400U)
		rte |= VIRQ_IOAPIC_RTE_MASKED;
	return rte;
}

static void twins_run(uint64_t seed)
{
	static const unsigned flags[] = { 0, VIRQ_MSI_EXT_DEST, VIRQ_MSI_ADDR_HI_DEST,
					  VIRQ_MSI_EXT_DEST | VIRQ_MSI_ADDR_HI_DEST };
	struct virq_vm_config cfg;
	struct vm_fixture *a, *b;
	unsigned msgs;

	rng_state = seed;
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = 8;
	cfg.map_entries = (rng() & 1U) ? 64U : 512U;
	cfg.nr_gsis = 24;
	cfg.msi_flags = flags[rng() & 3U];
	cfg.x2apic_broadcast_quirk = (rng() & 3U) == 0;
	a = twin_new(&cfg, false);
	b = twin_new(&cfg, true);
	for (uint32_t i = 0; i < 8; i++)
		twins_vcpu(a, b, i, rng());
	fx_attach_ioapic(a);
	fx_attach_ioapic(b);
	for (unsigned p = 16; p < 24; p++) {
		uint64_t rte = random_rte(p);

		fx_rte(a, p, rte);
		fx_rte(b, p, rte);
	}
	twins_equal(a, b);
	msgs = n_msg;
	for (unsigned step = 0; step < 400; step++) {
		uint64_t r = rng();
		unsigned pin = 16U + (unsigned)(r & 7U);
		uint32_t v = (uint32_t)(r >> 8) & 7U;

		switch ((r >> 4) & 7U) {
		case 0:
		case 1:
			assert_int_equal(virq_vm_set_irq(&a->vm, pin, 0, VIRQ_IRQ_HIGH), 0);
			assert_int_equal(virq_vm_set_irq(&b->vm, pin, 0, VIRQ_IRQ_HIGH), 0);
			break;
		case 2:
		case 3:
			assert_int_equal(virq_vm_set_irq(&a->vm, pin, 0, VIRQ_IRQ_LOW), 0);
			assert_int_equal(virq_vm_set_irq(&b->vm, pin, 0, VIRQ_IRQ_LOW), 0);
			break;
		case 4: /* the guest takes the highest vector of a vCPU */
			if (a->vcpus[v])
				assert_int_equal(virq_lapic_ack(a->vcpus[v]),
						 virq_lapic_ack(b->vcpus[v]));
			break;
		case 5: /* and ends it: a level one reaches the entries */
			if (a->vcpus[v]) {
				virq_lapic_eoi(a->vcpus[v]);
				virq_lapic_eoi(b->vcpus[v]);
			}
			break;
		case 6: { /* the guest reprograms an entry */
			uint64_t rte = random_rte(pin);

			fx_rte(a, pin, rte);
			fx_rte(b, pin, rte);
			break;
		}
		default:
			assert_int_equal(virq_vm_ioapic_service(&a->vm, 0, pin), 0);
			assert_int_equal(virq_vm_ioapic_service(&b->vm, 0, pin), 0);
			break;
		}
		twins_equal(a, b);
	}
	/* The twin really took the MSI form. */
	assert_true(n_msg > msgs);
	fx_free(a);
	fx_free(b);
}

static void test_fast_vs_general(void **state)
{
	(void)state;
	for (uint64_t s = 1; s <= 300; s++)
		twins_run(s * 0x9E3779B97F4A7C15ULL);
}

/*
 * The fast path's exact effects on the common case: a level entry, fixed,
 * physical destination 3 held by vCPU 2 alone. Raise: vector 0x61 in vCPU
 * 2's IRR and TMR only, Remote IRR set; an EOI while the line is still
 * high sends it again (Remote IRR set again); deasserted, the EOI clears
 * Remote IRR and sends nothing. Then the destination's LAPIC is software
 * disabled: nobody accepts, the message is lost once and Remote IRR is
 * down again (the entry can fire on the next assert).
 */
static void test_fast_level_cycle_exact(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 24);
	struct virq_lapic *l;

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	l = fx_add_xapic(fx, 2, 3);
	fx_attach_ioapic(fx);
	fx_rte(fx, 20, 0x61U | VIRQ_IOAPIC_RTE_LEVEL | (3ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));

	assert_int_equal(virq_vm_set_irq(&fx->vm, 20, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(fx_who(fx, 0x61), 1U << 2);
	assert_true(fx_tmr(fx, 2, 0x61));
	assert_true(fx_get_rte(fx, 20) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	assert_false(fx_get_rte(fx, 20) & VIRQ_IOAPIC_RTE_DELIVS);
	assert_int_equal(virq_lapic_ack(l), 0x61);
	/* EOI with the line high: re-delivered at once. */
	virq_lapic_eoi(l);
	assert_int_equal(fx_who(fx, 0x61), 1U << 2);
	assert_true(fx_get_rte(fx, 20) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(fx->ioapic.eoi_count[20], 1);
	assert_int_equal(virq_lapic_ack(l), 0x61);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 20, 0, VIRQ_IRQ_LOW), 0);
	virq_lapic_eoi(l);
	assert_int_equal(fx_who(fx, 0x61), 0);
	assert_false(fx_get_rte(fx, 20) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(fx->n_lost, 0);

	/* Software-disabled destination: lost, Remote IRR back down. */
	fx_mmio_w(fx, 2, VIRQ_LAPIC_REG_SVR, 0xFFU);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 20, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(fx_who(fx, 0x61), 0);
	assert_int_equal(fx->n_lost, 1);
	assert_int_equal(fx->last_lost.vector, 0x61);
	assert_int_equal(fx->last_lost.dest, 3);
	assert_false(fx_get_rte(fx, 20) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	fx_check(fx);
	fx_free(fx);
}

/*
 * Storm counting through the fast path: an EOI with the line still high
 * re-sends up to storm_limit times, then the pin is held and reported
 * once; service() releases it and the entry fires again.
 */
static void test_fast_storm(void **state)
{
	struct vm_fixture *fx = fx_new(2, 256, 24);
	struct virq_lapic *l;
	unsigned limit, sent = 1;

	(void)state;
	l = fx_add_xapic(fx, 0, 0);
	fx_attach_ioapic(fx);
	limit = fx->ioapic.cfg.storm_limit;
	fx_rte(fx, 17, 0x72U | VIRQ_IOAPIC_RTE_LEVEL);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 17, 0, VIRQ_IRQ_HIGH), 0);
	for (;;) {
		assert_int_equal(virq_lapic_ack(l), 0x72);
		virq_lapic_eoi(l);
		if (!fx_irr(fx, 0, 0x72))
			break;
		sent++;
	}
	assert_int_equal(sent, limit + 1U);
	assert_int_equal(fx->n_storms, 1);
	assert_false(fx_get_rte(fx, 17) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(virq_vm_ioapic_service(&fx->vm, 0, 17), 0);
	assert_int_equal(fx_who(fx, 0x72), 1U);
	assert_true(fx_get_rte(fx, 17) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	fx_check(fx);
	fx_free(fx);
}

/*
 * Between a LAPIC's ID change and the virq_vm_update_vcpu() that follows
 * it, the map still names the vCPU under its old ID: the fast path asks
 * the LAPIC itself (virq_lapic_match_dest()), as the general path does, so
 * an entry to the old ID is lost, not delivered. Here the vCPU's LAPIC has
 * no dest_changed hook, which keeps the map stale until the test updates.
 */
static void test_fast_stale_map(void **state)
{
	struct vm_fixture *fx = fx_new(2, 256, 24);
	struct virq_lapic_ops ops = fx_lapic_ops;
	struct virq_lapic_config *c = &fx->lcfg[1];

	(void)state;
	ops.dest_changed = NULL;
	fx_add_xapic(fx, 0, 0);
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->apic_id = 4;
	c->xapic_id_writable = true;
	assert_int_equal(virq_lapic_init(&fx->apics[1], fx->pages[1], c, &ops, &fx->env[1]), 0);
	assert_int_equal(virq_vm_set_vcpu(&fx->vm, 1, &fx->apics[1]), 0);
	fx_mmio_w(fx, 1, VIRQ_LAPIC_REG_SVR, 0x1FFU);
	assert_int_equal(virq_vm_update_vcpu(&fx->vm, 1), 0);
	fx_attach_ioapic(fx);
	fx_rte(fx, 18, 0x66U | (4ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 18, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x66), 1U << 1);
	fx_drain_all(fx);

	/* ID 4 -> 9, the map not told yet: slot 4 still names vCPU 1. */
	fx_mmio_w(fx, 1, VIRQ_LAPIC_REG_ID, 9U << 24);
	assert_int_equal(fx->map[4], 1);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 18, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x66), 0);
	assert_int_equal(fx->n_lost, 1);
	assert_int_equal(fx->last_lost.dest, 4);
	/* Told: the entry now needs destination 9. */
	assert_int_equal(virq_vm_update_vcpu(&fx->vm, 1), 0);
	fx_rte(fx, 18, 0x66U | (9ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 18, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x66), 1U << 1);
	assert_int_equal(fx->n_lost, 1);
	fx_check(fx);
	fx_free(fx);
}

/*
 * Which entries the fixed physical path takes, exactly, in a VM without
 * VIRQ_MSI_EXT_DEST: vCPUs 0-3 at xAPIC IDs 0, 1, 2, 5, software-enabled.
 * Bits 55:49 are then no destination bits, so an entry with them set goes
 * to its 8-bit destination like one without; 0xFF (the broadcast), an ID
 * past the map, an empty slot and lowest priority go the general way,
 * which reaches every vCPU, reports the loss, or picks one vCPU.
 */
static void test_fast_entry_paths_exact(void **state)
{
	struct vm_fixture *fx = fx_new(4, 64, 24);

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	fx_add_xapic(fx, 2, 2);
	fx_add_xapic(fx, 3, 5);
	fx_attach_ioapic(fx);

	fx_rte(fx, 20, 0x50U | (5ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 20, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x50), 1U << 3);
	/* Bits 55:49 set, no extended destination ID: still ID 5 alone. */
	fx_rte(fx, 21, 0x51U | (5ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT) | VM_RTE_TEST_EXT_BITS);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 21, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x51), 1U << 3);
	/* 0xFF: the xAPIC broadcast, every vCPU. */
	fx_rte(fx, 22, 0x52U | (0xFFULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 22, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x52), 0xFU);
	/* ID 3: an empty slot; ID 64: past the map. Lost, reported once each. */
	fx_rte(fx, 23, 0x53U | (3ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 23, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x53), 0);
	assert_int_equal(fx->n_lost, 1);
	assert_int_equal(fx->last_lost.dest, 3);
	assert_int_equal(fx->last_lost.vector, 0x53);
	fx_rte(fx, 23, 0x54U | (64ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 23, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x54), 0);
	assert_int_equal(fx->n_lost, 2);
	assert_int_equal(fx->last_lost.dest, 64);
	/* Lowest priority to ID 2: the general path, vCPU 2. */
	fx_rte(fx, 19,
	       0x55U | (1ULL << VIRQ_IOAPIC_RTE_DM_SHIFT) | (2ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 19, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x55), 1U << 2);
	assert_int_equal(fx->n_lost, 2);
	/* Level, ID 1: Remote IRR exactly on that entry. */
	fx_rte(fx, 18, 0x56U | VIRQ_IOAPIC_RTE_LEVEL | (1ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 18, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(fx_who(fx, 0x56), 1U << 1);
	assert_int_equal(fx_get_rte(fx, 18), 0x56U | VIRQ_IOAPIC_RTE_LEVEL |
						     VIRQ_IOAPIC_RTE_REMOTE_IRR |
						     (1ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	assert_true(fx_tmr(fx, 1, 0x56));
	assert_int_equal(fx_get_rte(fx, 20), 0x50U | (5ULL << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	fx_check(fx);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_level_cycle_exact),
		cmocka_unit_test(test_fast_storm),
		cmocka_unit_test(test_fast_stale_map),
		cmocka_unit_test(test_fast_entry_paths_exact),
		cmocka_unit_test(test_fast_vs_general),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
