/* SPDX-License-Identifier: MIT */
/*
 * KVM 2023 row: the optimized APIC map went out of bounds when an ID above
 * the table raced with its allocation. Here one thread (the owner of every
 * LAPIC) rewrites APIC IDs, toggles x2APIC, software- and globally
 * disables LAPICs, each change reaching virq_vm_update_vcpu() through the
 * dest_changed hook, while two threads deliver physical and x2APIC-cluster
 * messages lock-free. No crash, no TSan report, and nothing delivered to a
 * vCPU that never matched: vCPU k only ever has IDs k, 0x10 + k, 0x20 + k
 * (physical vector 0x40 + ID) and x2APIC logical ID cluster 0 bit k
 * (vector 0xE0 + bit). A third thread pulses I/O APIC pins 3-23, whose
 * fixed physical entries (destination = pin, vector 0x40 + pin) take the
 * map-only fast path of an I/O APIC delivery.
 */
#include <stdio.h>

#include "harness.h"

#define NV 8U
#define CHANGES 20000U

static unsigned stop;
static unsigned delivered;
static unsigned iterations; /* messages sent, both threads */

struct deliverer {
	struct vm_fixture *fx;
	uint32_t seed;
	bool cluster;
	bool ioapic;
};

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245U + 12345U;
	return *s >> 8;
}

static void *deliver_thread(void *arg)
{
	struct deliverer *d = arg;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		uint32_t r = rnd(&d->seed);
		struct virq_apic_msg m;

		if (d->ioapic) {
			assert_int_equal(virq_vm_set_irq(&d->fx->vm, 3U + r % 21U, 0,
							 VIRQ_IRQ_RAISING_PULSE),
					 0);
			__atomic_fetch_add(&iterations, 1U, __ATOMIC_RELAXED);
			continue;
		}
		if (d->cluster) {
			uint32_t bit = r % 16U;

			m = fx_msg(1U << bit, true, VIRQ_DM_FIXED, (uint8_t)(0xE0U + bit));
		} else {
			uint32_t id = r % 0x30U;

			m = fx_msg(id, false, VIRQ_DM_FIXED, (uint8_t)(0x40U + id));
			if (r & 0x10000U) {
				/* x2APIC-format: aliasing to xAPIC targets too. */
				m.dest |= 0x100U;
				m.x2apic = true;
			}
		}
		__atomic_fetch_add(&delivered, virq_vm_deliver(&d->fx->vm, &m), __ATOMIC_RELAXED);
		__atomic_fetch_add(&iterations, 1U, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void set_mode(struct vm_fixture *fx, uint32_t k, uint64_t flags)
{
	uint64_t base = VIRQ_APIC_BASE_ADDR_DEFAULT | flags | (k == 0 ? VIRQ_APIC_BASE_BSP : 0);

	assert_int_equal(virq_lapic_set_apic_base(fx_apic(fx, k), base, true), 0);
}

static void owner_step(struct vm_fixture *fx, uint32_t *seed)
{
	uint32_t r = rnd(seed);
	uint32_t k = r % NV;
	struct virq_lapic *l = fx_apic(fx, k);
	enum virq_lapic_mode mode = virq_lapic_get_mode(l);

	switch ((r >> 4) % 8U) {
	case 0:
	case 1:
	case 2:
		/* Rewrite the xAPIC ID (model-specific, enabled here). */
		if (mode == VIRQ_LAPIC_MODE_XAPIC)
			fx_mmio_w(fx, k, VIRQ_LAPIC_REG_ID, (((r >> 8) % 3U) * 0x10U + k) << 24);
		break;
	case 3:
	case 4:
		/*
		 * xAPIC -> x2APIC, and back through a host-initiated write. The
		 * LAPIC changes mode, ID and LDR inside one dest_seq section, so
		 * virq_lapic_match_dest() on another thread never combines the
		 * new mode with the old ID (it once could: x2APIC ID k read as
		 * xAPIC ID 0).
		 */
		if (mode == VIRQ_LAPIC_MODE_XAPIC && (k == 4 || k == 5)) {
			set_mode(fx, k, VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD);
		} else if (mode == VIRQ_LAPIC_MODE_X2APIC) {
			set_mode(fx, k, VIRQ_APIC_BASE_EN);
		}
		break;
	case 5:
		/* Software enable/disable. */
		if (mode == VIRQ_LAPIC_MODE_XAPIC)
			fx_mmio_w(fx, k, VIRQ_LAPIC_REG_SVR, (r & 0x100U) ? 0x1FFU : 0xFFU);
		else if (mode == VIRQ_LAPIC_MODE_X2APIC)
			assert_int_equal(
				virq_lapic_msr_write(l, 0x80F, (r & 0x100U) ? 0x1FFU : 0xFFU), 0);
		break;
	default:
		/*
		 * Global disable, and back (the map drops and re-adds it). The
		 * re-enable resets the page with atomic stores on the words
		 * other threads read (it was a plain memset: a data race).
		 */
		if (mode == VIRQ_LAPIC_MODE_DISABLED) {
			set_mode(fx, k, VIRQ_APIC_BASE_EN);
			fx_mmio_w(fx, k, VIRQ_LAPIC_REG_SVR, 0x1FFU);
		} else if (mode == VIRQ_LAPIC_MODE_XAPIC && k >= 6) {
			set_mode(fx, k, 0);
		}
		break;
	}
	/* Fold posted vectors from time to time, as a vCPU loop would. */
	if ((r & 0x7U) == 0)
		(void)virq_lapic_sync(l);
}

/* Whether vCPU k may hold vector v: only the IDs and bit it could have. */
static bool allowed(uint32_t k, unsigned v)
{
	if (v >= 0x40 && v < 0x70)
		return (v - 0x40U) % 0x10U == k;
	if (v >= 0xE0)
		return v - 0xE0U == k;
	return false;
}

static void test_map_rebuild_races_delivery(void **state)
{
	struct vm_fixture *fx = fx_new(NV, 64, 24);
	struct deliverer d[3] = { { fx, 1, false, false },
				  { fx, 2, true, false },
				  { fx, 3, false, true } };
	pthread_t t[3];
	uint32_t seed = 7;

	(void)state;
	fx->threaded = true;
	for (uint32_t k = 0; k < NV; k++)
		fx_add_xapic(fx, k, k);
	fx_attach_ioapic(fx);
	for (unsigned p = 3; p < 24; p++)
		fx_rte(fx, p, (0x40U + p) | ((uint64_t)p << VIRQ_IOAPIC_RTE_DEST_SHIFT));
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, deliver_thread, &d[i]), 0);
	/*
	 * Enough changes, and enough deliveries racing with them, some of them
	 * accepted. Not only the count of messages sent: on a loaded machine
	 * the deliverers may start after the owner's first CHANGES steps and
	 * send all their messages while the owner is preempted, against one
	 * frozen state that may accept nothing (every vCPU it could reach
	 * software- or globally disabled): the test then proved nothing and
	 * failed once in a while (CI, load average 11). Bounded, so a library
	 * that accepts nothing fails instead of hanging.
	 */
	for (unsigned n = 0;
	     (n < CHANGES || __atomic_load_n(&iterations, __ATOMIC_RELAXED) < 100000U ||
	      __atomic_load_n(&delivered, __ATOMIC_RELAXED) < 1000U) &&
	     n < 50U * CHANGES;
	     n++)
		owner_step(fx, &seed);
	__atomic_store_n(&stop, 1U, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);

	fx_check(fx);
	assert_int_equal(ioapic_check_invariants(&fx->ioapic), 0);
	if (!__atomic_load_n(&delivered, __ATOMIC_RELAXED))
		fprintf(stderr, "no delivery accepted: %u messages sent\n",
			__atomic_load_n(&iterations, __ATOMIC_RELAXED));
	assert_true(__atomic_load_n(&delivered, __ATOMIC_RELAXED) > 0);
	for (uint32_t k = 0; k < NV; k++) {
		(void)virq_lapic_sync(fx_apic(fx, k));
		for (unsigned v = 16; v < 256; v++)
			if ((fx->pages[k][(VIRQ_LAPIC_REG_IRR >> 2) + (v >> 5) * 4] >> (v & 31)) &
			    1U)
				if (!allowed(k, v))
					fail_msg("vCPU %u got vector 0x%x", k, v);
	}
	fx_free(fx);
}

/*
 * Shared slots flipping under readers. vCPUs 0-3 ("anchors", xAPIC IDs
 * 0-3) never change; the owner moves vCPUs 4-7 between their own ID, the
 * IDs 0x10 and 0x11 (so those slots keep turning shared and back), global
 * disable and x2APIC mode, all through dest_changed. Meanwhile deliverers
 * send to the anchors (8-bit, and x2APIC-format 0x100 + ID, which reaches
 * them through the alias slot) and to 0x10/0x11. Every anchor delivery
 * must be accepted exactly once, whatever the slots around it do; nothing
 * reaches a vCPU that never held the ID.
 */
#define SH_ROUNDS 20000U

static unsigned sh_stop, sh_bad, sh_sent;

static void *shared_deliver_thread(void *arg)
{
	struct vm_fixture *fx = arg;
	uint32_t seed = 99;

	while (!__atomic_load_n(&sh_stop, __ATOMIC_RELAXED)) {
		uint32_t r = rnd(&seed);
		uint32_t id = r % 4U;
		struct virq_apic_msg m;

		if (r & 0x100U) {
			m = fx_msg(0x10U + (id & 1U), false, VIRQ_DM_FIXED,
				   (uint8_t)(0x50U + (id & 1U)));
			if (virq_vm_deliver(&fx->vm, &m) > 4U)
				__atomic_fetch_add(&sh_bad, 1U, __ATOMIC_RELAXED);
		} else {
			m = fx_msg(id | (r & 0x200U ? 0x100U : 0U), false, VIRQ_DM_FIXED,
				   (uint8_t)(0x40U + id));
			if (virq_vm_deliver(&fx->vm, &m) != 1U)
				__atomic_fetch_add(&sh_bad, 1U, __ATOMIC_RELAXED);
		}
		__atomic_fetch_add(&sh_sent, 1U, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void shared_owner_step(struct vm_fixture *fx, uint32_t *seed)
{
	uint32_t r = rnd(seed);
	uint32_t k = 4U + r % 4U;
	enum virq_lapic_mode mode = virq_lapic_get_mode(fx_apic(fx, k));
	static const uint32_t ids[3] = { 0, 0x10, 0x11 };

	switch ((r >> 4) % 4U) {
	case 0:
	case 1:
		if (mode == VIRQ_LAPIC_MODE_XAPIC) {
			uint32_t id = ids[(r >> 8) % 3U];

			fx_mmio_w(fx, k, VIRQ_LAPIC_REG_ID, (id ? id : k) << 24);
		}
		break;
	case 2:
		/* Global disable and back (drops and re-adds its key). */
		if (mode == VIRQ_LAPIC_MODE_DISABLED) {
			set_mode(fx, k, VIRQ_APIC_BASE_EN);
			fx_mmio_w(fx, k, VIRQ_LAPIC_REG_SVR, 0x1FFU);
		} else if (mode == VIRQ_LAPIC_MODE_XAPIC) {
			set_mode(fx, k, 0);
		}
		break;
	default:
		/* x2APIC (ID k) and back to xAPIC (ID k). */
		if (mode == VIRQ_LAPIC_MODE_XAPIC) {
			set_mode(fx, k, VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD);
			assert_int_equal(virq_lapic_msr_write(fx_apic(fx, k), 0x80F, 0x1FFU), 0);
		} else if (mode == VIRQ_LAPIC_MODE_X2APIC) {
			set_mode(fx, k, VIRQ_APIC_BASE_EN);
			fx_mmio_w(fx, k, VIRQ_LAPIC_REG_SVR, 0x1FFU);
		}
		break;
	}
	if ((r & 0x7U) == 0)
		(void)virq_lapic_sync(fx_apic(fx, k));
}

static void test_shared_slots_race_delivery(void **state)
{
	struct vm_fixture *fx = fx_new(NV, 0x200, 0);
	pthread_t t[2];
	uint32_t seed = 11;

	(void)state;
	fx->threaded = true;
	for (uint32_t k = 0; k < NV; k++)
		fx_add_xapic(fx, k, k);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, shared_deliver_thread, fx), 0);
	for (unsigned n = 0; n < SH_ROUNDS || __atomic_load_n(&sh_sent, __ATOMIC_RELAXED) < 100000U;
	     n++) {
		shared_owner_step(fx, &seed);
		/* The anchors drain what they got, so their IRR stays checkable. */
		if ((n & 0xFFU) == 0)
			for (uint32_t k = 0; k < 4; k++)
				(void)fx_drain(fx, k);
	}
	__atomic_store_n(&sh_stop, 1U, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);

	fx_check(fx);
	assert_int_equal(__atomic_load_n(&sh_bad, __ATOMIC_RELAXED), 0);
	for (uint32_t k = 0; k < NV; k++) {
		(void)virq_lapic_sync(fx_apic(fx, k));
		for (unsigned v = 16; v < 256; v++) {
			bool ok = k < 4 ? v == 0x40U + k : (v == 0x50U || v == 0x51U);

			if ((fx->pages[k][(VIRQ_LAPIC_REG_IRR >> 2) + (v >> 5) * 4] >> (v & 31)) &
			    1U)
				if (!ok)
					fail_msg("vCPU %u got vector 0x%x", k, v);
		}
	}
	fx_free(fx);
}

/*
 * The xAPIC list and the xAPIC logical map under readers. Fixed targets
 * that never change: vCPUs 0-3 in xAPIC mode (xAPIC ID k, flat LDR bit k)
 * and vCPUs 4-7 in x2APIC mode (IDs 8-11: cluster 0, bits 8-11). The owner
 * moves 16 other vCPUs ("flippers") between x2APIC and xAPIC mode
 * (host-initiated APIC base writes), global disable and back, rewrites
 * their xAPIC IDs, and gives them flat logical IDs of bits 4-7 (none, one,
 * or shared with other flippers: the logical map's slots 4-7 and its
 * xlog_on word, whose bits 0-3 the deliverers read, keep changing), in
 * phases that take the number of xAPIC-mode vCPUs above VM_XAPIC_LIST_MAX
 * and back below it (before the logical map, logical deliveries switched
 * between the xAPIC list and a scan there; now they look the targets up in
 * the map, and the list serves 0xFF). A flipper matches no logical
 * destination the deliverers send; flippers 8-11 in xAPIC mode hold xAPIC
 * IDs 8-11, the IDs of vCPUs 4-7 (shared slots). Meanwhile deliverers send
 * x2APIC logical messages (cluster 0, bits 0-3 and 8-11, one or two
 * targets, fixed and lowest priority) and logical MSIs (bits 0-3): each
 * must be accepted by exactly its targets every time. An xAPIC target
 * missing from the list or the map a reader reads would be a lost
 * delivery, and a list walk that disagrees with nr_xapic in a snapshot
 * map_seq validated traps the reader's VIRQ_ASSERT (debug and fuzz
 * builds); the owner also checks every invariant between its changes.
 * Physical 0xFF in x2APIC format, and the xAPIC broadcast (0xFF in xAPIC
 * format, from one map snapshot), reach the four xAPIC targets and
 * whichever flippers are in xAPIC mode.
 */
#define XL_NV 24U
#define XL_FLIP0 8U
#define XL_ROUNDS 20000U
#define XL_PHASE 400U

static unsigned xl_stop, xl_bad, xl_sent;

static void xl_count(unsigned got, unsigned want)
{
	if (got != want)
		__atomic_fetch_add(&xl_bad, 1U, __ATOMIC_RELAXED);
	__atomic_fetch_add(&xl_sent, 1U, __ATOMIC_RELAXED);
}

static void *xl_ipi_thread(void *arg)
{
	struct vm_fixture *fx = arg;
	uint32_t seed = 5;

	while (!__atomic_load_n(&xl_stop, __ATOMIC_RELAXED)) {
		uint32_t r = rnd(&seed);
		uint32_t k = r % 4U, j = (r >> 2) % 4U;
		struct virq_apic_msg m;

		switch ((r >> 4) % 4U) {
		case 0: /* x2APIC target 4 + j */
			m = fx_msg(1U << (8U + j), true, VIRQ_DM_FIXED, (uint8_t)(0xE0U + j));
			m.x2apic = true;
			xl_count(virq_vm_deliver(&fx->vm, &m), 1);
			break;
		case 1: /* xAPIC target k, by the low byte of an x2APIC message */
			m = fx_msg(1U << k, true, VIRQ_DM_FIXED, (uint8_t)(0xD0U + k));
			m.x2apic = true;
			xl_count(virq_vm_deliver(&fx->vm, &m), 1);
			break;
		case 2: /* both */
			m = fx_msg((1U << k) | (1U << (8U + j)), true, VIRQ_DM_FIXED,
				   (uint8_t)(0xC0U + k));
			m.x2apic = true;
			xl_count(virq_vm_deliver(&fx->vm, &m), 2);
			break;
		default: /* one of both */
			m = fx_msg((1U << k) | (1U << (8U + j)), true, VIRQ_DM_LOWEST, 0xB0U);
			m.x2apic = true;
			xl_count(virq_vm_deliver(&fx->vm, &m), 1);
			break;
		}
	}
	return NULL;
}

static void *xl_msi_thread(void *arg)
{
	struct vm_fixture *fx = arg;
	uint32_t seed = 6;

	while (!__atomic_load_n(&xl_stop, __ATOMIC_RELAXED)) {
		uint32_t r = rnd(&seed);
		uint32_t k = r % 4U;

		if (r & 0x100U) {
			/* Logical MSI, destination bit k: the xAPIC target k. */
			uint64_t addr = VIRQ_MSI_ADDR_BASE | ((uint64_t)(1U << k) << 12) |
					VIRQ_MSI_ADDR_DM_LOGICAL;

			xl_count(virq_vm_send_msi(&fx->vm, addr, 0x90U + k, 0), 1);
		} else {
			struct virq_apic_msg m = fx_msg(0xFF, false, VIRQ_DM_FIXED, 0x80);
			unsigned got;

			/* The xAPIC targets, and the flippers in xAPIC mode now;
			 * in xAPIC format a broadcast, from one map snapshot. */
			m.x2apic = (r & 0x200U) != 0;
			got = virq_vm_deliver(&fx->vm, &m);
			xl_count(got >= 4U && got <= 4U + XL_NV - XL_FLIP0, true);
		}
	}
	return NULL;
}

/* One change to a flipper; @to_xapic biases the mode changes. */
static void xl_owner_step(struct vm_fixture *fx, uint32_t *seed, bool to_xapic)
{
	uint32_t r = rnd(seed);
	uint32_t k = XL_FLIP0 + r % (XL_NV - XL_FLIP0);
	enum virq_lapic_mode mode = virq_lapic_get_mode(fx_apic(fx, k));

	switch ((r >> 5) % 5U) {
	case 0:
		/* xAPIC ID rewrite: unlinked and pushed again. */
		if (mode == VIRQ_LAPIC_MODE_XAPIC)
			fx_mmio_w(fx, k, VIRQ_LAPIC_REG_ID, (0x40U + (r >> 8) % 16U) << 24);
		break;
	case 2:
		/* A flat logical ID of bits 4-7 (none, one, or shared with
		 * other flippers): rewrites the xAPIC logical map's slots 4-7
		 * and its xlog_on word, whose bits 0-3 the deliverers read. */
		if (mode == VIRQ_LAPIC_MODE_XAPIC)
			fx_mmio_w(fx, k, VIRQ_LAPIC_REG_LDR, ((r >> 8) % 16U) << 28);
		break;
	case 1:
		/* Global disable and back (xAPIC, reset: LDR 0). */
		if (mode == VIRQ_LAPIC_MODE_DISABLED)
			set_mode(fx, k, VIRQ_APIC_BASE_EN);
		else if (mode == VIRQ_LAPIC_MODE_XAPIC && !to_xapic)
			set_mode(fx, k, 0);
		break;
	default:
		if (mode == VIRQ_LAPIC_MODE_X2APIC && to_xapic)
			set_mode(fx, k, VIRQ_APIC_BASE_EN); /* LDR 0 */
		else if (mode == VIRQ_LAPIC_MODE_XAPIC && !to_xapic)
			set_mode(fx, k, VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD);
		break;
	}
}

static void test_xapic_list_races_logical_delivery(void **state)
{
	struct vm_fixture *fx = fx_new(XL_NV, 0x200, 0);
	unsigned above = 0, below = 0;
	bool was_above = false;
	uint32_t seed = 13;
	pthread_t t[2];

	(void)state;
	fx->threaded = true;
	for (uint32_t k = 0; k < 4; k++) {
		fx_add_xapic(fx, k, k);
		fx_mmio_w(fx, k, VIRQ_LAPIC_REG_LDR, (1U << k) << 24);
	}
	for (uint32_t j = 0; j < 4; j++)
		fx_add_x2apic(fx, 4 + j, 8 + j);
	/* Flippers 8-11 alias IDs 8-11 in xAPIC mode; the others do not. */
	for (uint32_t k = XL_FLIP0; k < XL_NV; k++)
		fx_add_x2apic(fx, k, k < XL_FLIP0 + 4U ? 0x100U + k : 0x20U + k);
	fx_check(fx);
	assert_true(__atomic_load_n(&fx->vm.nr_xapic, __ATOMIC_RELAXED) <= VM_XAPIC_LIST_MAX);
	assert_int_equal(pthread_create(&t[0], NULL, xl_ipi_thread, fx), 0);
	assert_int_equal(pthread_create(&t[1], NULL, xl_msi_thread, fx), 0);
	for (unsigned n = 0; n < XL_ROUNDS || __atomic_load_n(&xl_sent, __ATOMIC_RELAXED) < 100000U;
	     n++) {
		bool now_above;

		xl_owner_step(fx, &seed, (n / XL_PHASE) % 2U == 0);
		/* The owner is the only writer: its own reads are exact, and the
		 * invariants (the list among them) hold between its changes. */
		now_above = fx->vm.nr_xapic > VM_XAPIC_LIST_MAX;
		if ((n & 0x3FU) == 0)
			assert_int_equal(vm_check_invariants(&fx->vm), 0);
		above += now_above && !was_above;
		below += !now_above && was_above;
		was_above = now_above;
		/* The targets drain what they got, so their IRR stays checkable. */
		if ((n & 0xFFU) == 0)
			for (uint32_t k = 0; k < XL_NV; k++)
				(void)fx_drain(fx, k);
	}
	__atomic_store_n(&xl_stop, 1U, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);

	fx_check(fx);
	assert_int_equal(__atomic_load_n(&xl_bad, __ATOMIC_RELAXED), 0);
	/* Both paths ran: the bound was crossed both ways. */
	if (above < 2 || below < 2)
		fail_msg("xAPIC-mode count crossed the bound up %u, down %u times", above, below);
	for (uint32_t k = 0; k < XL_NV; k++) {
		(void)virq_lapic_sync(fx_apic(fx, k));
		for (unsigned v = 16; v < 256; v++) {
			bool ok;

			if (k < 4)
				ok = v == 0xD0U + k || v == 0xC0U + k || v == 0xB0U ||
				     v == 0x90U + k || v == 0x80U;
			else if (k < 8)
				ok = v == 0xE0U + k - 4U || (v >= 0xC0U && v < 0xC4U) || v == 0xB0U;
			else
				ok = v == 0x80U;
			if ((fx->pages[k][(VIRQ_LAPIC_REG_IRR >> 2) + (v >> 5) * 4] >> (v & 31)) &
			    1U)
				if (!ok)
					fail_msg("vCPU %u got vector 0x%x", k, v);
		}
	}
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_rebuild_races_delivery),
		cmocka_unit_test(test_shared_slots_race_delivery),
		cmocka_unit_test(test_xapic_list_races_logical_delivery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
