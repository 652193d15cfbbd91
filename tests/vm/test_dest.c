/* SPDX-License-Identifier: MIT */
/*
 * Destination resolution (SDM 10.6.2 "Determining IPI Destination"): physical,
 * logical flat/cluster, x2APIC cluster, broadcast, shorthands, mixed modes,
 * the map fast path and its fall-backs; every accepted count exact.
 */
#include "harness.h"

#define V 0x41

static void test_physical_xapic(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		fx_add_xapic(fx, i, i);
	fx_check(fx);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(fx_send(fx, i, false, VIRQ_DM_FIXED, V), 1);
		assert_int_equal(fx_who(fx, V), 1U << i);
		fx_drain_all(fx);
	}
	/* No such ID: lost, reported. */
	assert_int_equal(fx_send(fx, 7, false, VIRQ_DM_FIXED, V), 0);
	assert_int_equal(fx->n_lost, 1);
	assert_int_equal(fx->last_lost.dest, 7);
	assert_int_equal(fx_who(fx, V), 0);
	fx_free(fx);
}

static void test_physical_x2apic_ids(void **state)
{
	/* IDs at 0, 0xFF, 0x100, map boundary 255/256, 0xFFFFFFFE (slow path). */
	static const uint32_t ids[] = { 0, 0xFF, 0x100, 0x3FF, 0x400, 0xFFFFFFFEU };
	struct vm_fixture *fx = fx_new(6, 0x400, 0);

	(void)state;
	for (uint32_t i = 0; i < 6; i++)
		fx_add_x2apic(fx, i, ids[i]);
	fx_check(fx);
	for (uint32_t i = 0; i < 6; i++) {
		assert_int_equal(fx_send(fx, ids[i], false, VIRQ_DM_FIXED, V), 1);
		assert_int_equal(fx_who(fx, V), 1U << i);
		fx_drain_all(fx);
	}
	assert_int_equal(fx_send(fx, 0x401, false, VIRQ_DM_FIXED, V), 0);
	assert_int_equal(fx_send(fx, 0xFFFFFFFDU, false, VIRQ_DM_FIXED, V), 0);
	assert_int_equal(fx->n_lost, 2);
	fx_free(fx);
}

static void test_broadcast(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		fx_add_xapic(fx, i, i);
	assert_int_equal(fx_send(fx, 0xFF, false, VIRQ_DM_FIXED, V), 4);
	assert_int_equal(fx_who(fx, V), 0xF);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0xFF, true, VIRQ_DM_FIXED, V), 4);
	assert_int_equal(fx_who(fx, V), 0xF);
	fx_drain_all(fx);
	/* x2APIC broadcast reaches xAPIC-mode targets too (low 8 bits 0xFF). */
	assert_int_equal(fx_send(fx, 0xFFFFFFFFU, false, VIRQ_DM_FIXED, V), 4);
	fx_drain_all(fx);
	fx_free(fx);
}

static void test_broadcast_x2apic(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		fx_add_x2apic(fx, i, i * 0x10);
	assert_int_equal(fx_send(fx, 0xFFFFFFFFU, false, VIRQ_DM_FIXED, V), 4);
	assert_int_equal(fx_who(fx, V), 0xF);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0xFFFFFFFFU, true, VIRQ_DM_FIXED, V), 4);
	fx_drain_all(fx);
	/* Without the quirk an 8-bit 0xFF is just ID 0xFF for x2APIC targets. */
	assert_int_equal(fx_send(fx, 0xFF, false, VIRQ_DM_FIXED, V), 0);
	fx_free(fx);
}

static void test_x2apic_broadcast_quirk(void **state)
{
	struct virq_vm_config cfg;
	struct vm_fixture *fx;
	struct virq_apic_msg m;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = 3;
	cfg.map_entries = 256;
	cfg.x2apic_broadcast_quirk = true;
	fx = fx_new_cfg(&cfg);
	fx_add_x2apic(fx, 0, 0);
	fx_add_x2apic(fx, 1, 1);
	fx_add_xapic(fx, 2, 2);
	/* 0xFF from an I/O APIC or MSI: broadcast to every mode. */
	assert_int_equal(fx_send(fx, 0xFF, false, VIRQ_DM_FIXED, V), 3);
	fx_drain_all(fx);
	/* ... but not from an IPI. */
	m = fx_msg(0xFF, false, VIRQ_DM_FIXED, V);
	m.src = 2;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 1);
	assert_int_equal(fx_who(fx, V), 1U << 2);
	fx_free(fx);
}

static void test_logical_flat(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);

	(void)state;
	for (uint32_t i = 0; i < 4; i++) {
		fx_add_xapic(fx, i, i);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_LDR, (1U << i) << 24);
	}
	fx_check(fx);
	assert_int_equal(fx_send(fx, 0x05, true, VIRQ_DM_FIXED, V), 2);
	assert_int_equal(fx_who(fx, V), 0x5);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0x08, true, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x8);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0x30, true, VIRQ_DM_FIXED, V), 0);
	fx_free(fx);
}

static void test_logical_cluster(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);

	(void)state;
	/* Cluster 1 members 0,1; cluster 2 members 0,1. */
	for (uint32_t i = 0; i < 4; i++) {
		fx_add_xapic(fx, i, i);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_DFR, 0x0FFFFFFFU);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_LDR, (((1U + i / 2) << 4) | (1U << (i % 2))) << 24);
	}
	assert_int_equal(fx_send(fx, 0x13, true, VIRQ_DM_FIXED, V), 2);
	assert_int_equal(fx_who(fx, V), 0x3);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0x22, true, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x8);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0x34, true, VIRQ_DM_FIXED, V), 0);
	/* 0xFF is the cluster-model broadcast. */
	assert_int_equal(fx_send(fx, 0xFF, true, VIRQ_DM_FIXED, V), 4);
	fx_free(fx);
}

static void test_x2apic_cluster(void **state)
{
	struct vm_fixture *fx = fx_new(6, 256, 0);

	(void)state;
	/* Cluster 1 (IDs 0x10-0x13), cluster 2 (0x25), and ID 0xFFFF3 in
	 * cluster 0xFFFF (past the map: slow path). */
	for (uint32_t i = 0; i < 4; i++)
		fx_add_x2apic(fx, i, 0x10 + i);
	fx_add_x2apic(fx, 4, 0x25);
	fx_add_x2apic(fx, 5, 0xFFFF3);
	fx_check(fx);
	assert_int_equal(fx_send(fx, 0x0001000AU, true, VIRQ_DM_FIXED, V), 2);
	assert_int_equal(fx_who(fx, V), 0xA);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0x0001FFFFU, true, VIRQ_DM_FIXED, V), 4);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0x00020020U, true, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x10);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0xFFFF0008U, true, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x20);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0xFFFF7FF7U, true, VIRQ_DM_FIXED, V), 0);
	/* Empty bitmap: nobody (ACRN ffs64 row), reported. */
	assert_int_equal(fx_send(fx, 0x00010000U, true, VIRQ_DM_FIXED, V), 0);
	assert_int_equal(fx->n_lost, 2);
	fx_free(fx);
}

static void test_mixed_modes_aliasing(void **state)
{
	struct vm_fixture *fx = fx_new(3, 0x200, 0);

	(void)state;
	fx_add_xapic(fx, 0, 5);
	fx_add_x2apic(fx, 1, 0x105);
	fx_add_x2apic(fx, 2, 5 + 0x200); /* past the map */
	fx_check(fx);
	assert_int_equal(fx->vm.nr_xapic, 1);
	/* 0x105: the x2APIC owner, and the xAPIC LAPIC decoding 8 bits. */
	assert_int_equal(fx_send(fx, 0x105, false, VIRQ_DM_FIXED, V), 2);
	assert_int_equal(fx_who(fx, V), 0x3);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0x205, false, VIRQ_DM_FIXED, V), 2);
	assert_int_equal(fx_who(fx, V), 0x5);
	fx_drain_all(fx);
	/* 8-bit 5: only the xAPIC LAPIC (no x2APIC LAPIC has ID 5). */
	assert_int_equal(fx_send(fx, 5, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x1);
	fx_drain_all(fx);
	/* 0x1FF aliases to the xAPIC broadcast. */
	assert_int_equal(fx_send(fx, 0x1FF, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x1);
	fx_drain_all(fx);
	/* Once no xAPIC-mode LAPIC is left, the map answers alone. */
	assert_int_equal(virq_lapic_set_apic_base(fx_apic(fx, 0),
						  VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
							  VIRQ_APIC_BASE_EXTD | VIRQ_APIC_BASE_BSP,
						  false),
			 0);
	fx_check(fx);
	assert_int_equal(fx->vm.nr_xapic, 0);
	assert_int_equal(fx_send(fx, 0x105, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x2);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 5, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x1);
	fx_free(fx);
}

static void test_duplicate_ids(void **state)
{
	struct vm_fixture *fx = fx_new(3, 256, 0);
	uint64_t scans;

	(void)state;
	fx_add_xapic(fx, 0, 1);
	fx_add_xapic(fx, 1, 2);
	fx_add_xapic(fx, 2, 3);
	/* The guest writes ID 3 into vCPU 1: two LAPICs answer 3. */
	fx_mmio_w(fx, 1, VIRQ_LAPIC_REG_ID, 3U << 24);
	fx_check(fx);
	assert_int_equal(fx->vm.map[3], VM_SLOT_SHARED);
	assert_int_equal(fx->vm.map[2], VIRQ_VM_NO_VCPU);
	/* The shared ID scans; the others stay O(1). */
	scans = virq_vm_scan_count(&fx->vm);
	assert_int_equal(fx_send(fx, 3, false, VIRQ_DM_FIXED, V), 2);
	assert_int_equal(fx_who(fx, V), 0x6);
	assert_int_equal(virq_vm_scan_count(&fx->vm), scans + 1);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 2, false, VIRQ_DM_FIXED, V), 0);
	assert_int_equal(fx_send(fx, 1, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x1);
	assert_int_equal(virq_vm_scan_count(&fx->vm), scans + 1);
	fx_drain_all(fx);
	/* A third holder, then the first map holder leaves: still shared. */
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_ID, 3U << 24);
	fx_check(fx);
	assert_int_equal(fx_send(fx, 3, false, VIRQ_DM_FIXED, V), 3);
	fx_drain_all(fx);
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_ID, 1U << 24);
	fx_check(fx);
	assert_int_equal(fx->vm.map[3], VM_SLOT_SHARED);
	assert_int_equal(fx->vm.map[1], 0);
	/* One of the two leaves: the other one takes the slot, O(1) again. */
	fx_mmio_w(fx, 2, VIRQ_LAPIC_REG_ID, 9U << 24);
	fx_check(fx);
	assert_int_equal(fx->vm.map[3], 1);
	scans = virq_vm_scan_count(&fx->vm);
	assert_int_equal(fx_send(fx, 3, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x2);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 9, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x4);
	assert_int_equal(virq_vm_scan_count(&fx->vm), scans);
	fx_free(fx);
}

/*
 * x2APIC logical destinations look up one slot per bitmap bit: only a
 * message whose bitmap includes a shared ID scans. Two x2APIC LAPICs with
 * one ID need an embedder that configured them so (the x2APIC ID is
 * read-only); every holder is found.
 */
static void test_shared_id_x2apic_logical(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);
	uint64_t s0;

	(void)state;
	fx_add_x2apic(fx, 0, 0x10);
	fx_add_x2apic(fx, 1, 0x11);
	fx_add_x2apic(fx, 2, 0x12);
	fx_add_x2apic(fx, 3, 0x11);
	fx_check(fx);
	assert_int_equal(fx->vm.map[0x11], VM_SLOT_SHARED);
	s0 = virq_vm_scan_count(&fx->vm);
	/* Cluster 1, members 0 and 2 (IDs 0x10, 0x12): O(1). */
	assert_int_equal(fx_send(fx, 0x00010005U, true, VIRQ_DM_FIXED, V), 2);
	assert_int_equal(fx_who(fx, V), 0x5);
	fx_drain_all(fx);
	assert_int_equal(virq_vm_scan_count(&fx->vm), s0);
	/* Member 1 (ID 0x11) alone, and with member 0: both holders, a scan each. */
	assert_int_equal(fx_send(fx, 0x00010002U, true, VIRQ_DM_FIXED, V), 2);
	assert_int_equal(fx_who(fx, V), 0xA);
	fx_drain_all(fx);
	assert_int_equal(fx_send(fx, 0x00010003U, true, VIRQ_DM_FIXED, V), 3);
	assert_int_equal(fx_who(fx, V), 0xB);
	fx_drain_all(fx);
	assert_int_equal(virq_vm_scan_count(&fx->vm), s0 + 2);
	/* Lowest priority among the holders of a shared ID: one of them. */
	assert_int_equal(fx_send(fx, 0x00010002U, true, VIRQ_DM_LOWEST, V), 1);
	assert_true(fx_who(fx, V) == 0x2 || fx_who(fx, V) == 0x8);
	fx_drain_all(fx);
	/* Hot-unplug of one holder: O(1) again, to the other. */
	assert_int_equal(virq_vm_set_vcpu(&fx->vm, 1, NULL), 0);
	fx_check(fx);
	assert_int_equal(fx->vm.map[0x11], 3);
	s0 = virq_vm_scan_count(&fx->vm);
	assert_int_equal(fx_send(fx, 0x00010002U, true, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x8);
	assert_int_equal(fx_send(fx, 0x11, false, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(virq_vm_scan_count(&fx->vm), s0);
	fx_free(fx);
}

/*
 * virq_vm_scan_count(): one per delivery that checked every vCPU, for
 * every reason the map cannot answer; nothing for map lookups, nor for
 * messages that never reach resolution.
 */
static void test_scan_count(void **state)
{
	struct vm_fixture *fx = fx_new(4, 0x200, 0);
	struct virq_apic_msg m;
	uint64_t s0;

	(void)state;
	assert_int_equal(virq_vm_scan_count(NULL), 0);
	assert_int_equal(virq_vm_scan_count(&fx->vm), 0);
	fx_add_x2apic(fx, 0, 0);
	fx_add_x2apic(fx, 1, 1);
	fx_add_x2apic(fx, 2, 0x220); /* past the map */
	fx_add_xapic(fx, 3, 3);
	fx_mmio_w(fx, 3, VIRQ_LAPIC_REG_LDR, 0x80U << 24);
	/* Map lookups: physical in the map (xAPIC and x2APIC format). */
	assert_int_equal(fx_send(fx, 1, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_send(fx, 3, false, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(fx_send(fx, 0x101, false, VIRQ_DM_NMI, 0), 0);
	assert_int_equal(virq_vm_send_msi(&fx->vm, VIRQ_MSI_ADDR_BASE | (1U << 12), V, 0), 1);
	/* Never resolved: a level de-assert, an MSI outside the window. */
	m = fx_msg(1, false, VIRQ_DM_FIXED, V);
	m.trigger_level = true;
	m.level = false;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 0);
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFED00000ULL, V, 0), 0);
	assert_int_equal(virq_vm_scan_count(&fx->vm), 0);
	/* The broadcast from the map (every valid key), no scan; then scans,
	 * one each: shorthand, past the map. */
	assert_int_equal(fx_send(fx, 0xFFFFFFFFU, false, VIRQ_DM_NMI, 0), 4);
	m = fx_msg(0, false, VIRQ_DM_NMI, 0);
	m.src = 0;
	m.x2apic = true;
	m.shorthand = VIRQ_SH_ALL_EXCL_SELF;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 3);
	assert_int_equal(fx_send(fx, 0x220, false, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(virq_vm_scan_count(&fx->vm), 2);
	/* Logical, and 0xFF aliasing, with one xAPIC-mode LAPIC: the map
	 * plus the xAPIC logical map or list, no scan. */
	assert_int_equal(fx_send(fx, 0x80, true, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(fx_send(fx, 0x1FF, false, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(virq_vm_scan_count(&fx->vm), 2);
	/* A shared ID: only the deliveries naming it. */
	fx_mmio_w(fx, 3, VIRQ_LAPIC_REG_ID, 1U << 24);
	fx_check(fx);
	s0 = virq_vm_scan_count(&fx->vm);
	assert_int_equal(fx_send(fx, 0, false, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(virq_vm_scan_count(&fx->vm), s0);
	assert_int_equal(fx_send(fx, 1, false, VIRQ_DM_NMI, 0), 2);
	assert_int_equal(fx_send(fx, 0x101, false, VIRQ_DM_NMI, 0), 1); /* alias slot 1 */
	assert_int_equal(virq_vm_scan_count(&fx->vm), s0 + 2);
	fx_free(fx);
}

/* vm_check_invariants() recomputes every slot: each kind of damage shows. */
static void test_invariant_checker(void **state)
{
	struct vm_fixture *fx = fx_new(3, 16, 0);
	uint32_t *map = fx->vm.map;

	(void)state;
	fx_add_xapic(fx, 0, 1);
	fx_add_xapic(fx, 1, 2);
	fx_add_xapic(fx, 2, 2);
	fx_check(fx);
	assert_int_equal(map[1], 0);
	assert_int_equal(map[2], VM_SLOT_SHARED);
	map[2] = 1; /* a shared slot naming one holder */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	map[2] = VM_SLOT_SHARED;
	map[1] = VM_SLOT_SHARED; /* a sole holder marked shared */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	map[1] = 1; /* the wrong holder */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	map[1] = 0;
	map[7] = VM_SLOT_SHARED; /* a slot nobody holds */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	map[7] = 2;
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	map[7] = VIRQ_VM_NO_VCPU;
	fx->vm.nr_xapic++;
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	fx->vm.nr_xapic--;
	fx_check(fx);
	fx_free(fx);
}

/* The vCPU indices on the xAPIC list, from its head; returns how many
 * (at most @max are walked). */
static unsigned xlist(const struct vm_fixture *fx, uint32_t *out, unsigned max)
{
	unsigned n = 0;

	for (uint32_t at = fx->vm.xapic_head; at && n < max; n++) {
		out[n] = at - 1U;
		at = VM_KEY_NEXT(fx->map_key[at - 1U]);
	}
	return n;
}

/*
 * The xAPIC list through every kind of update (push, unlink at the head,
 * in the middle, at the tail, an ID rewrite, global disable, hot-unplug,
 * x2APIC mode), and vm_check_invariants() against each kind of damage.
 */
static void test_xapic_list(void **state)
{
	struct vm_fixture *fx = fx_new(5, 256, 0);
	uint32_t l[8];
	uint64_t save;

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		fx_add_xapic(fx, i, i);
	fx_add_x2apic(fx, 4, 4);
	fx_check(fx);
	/* Newest first. */
	assert_int_equal(xlist(fx, l, 8), 4);
	assert_int_equal(l[0], 3);
	assert_int_equal(l[3], 0);
	assert_int_equal(fx->map_key[4] >> 34, 0);
	/* Head (3: global disable), middle (1: x2APIC), tail (0: unplug). */
	assert_int_equal(
		virq_lapic_set_apic_base(fx_apic(fx, 3), VIRQ_APIC_BASE_ADDR_DEFAULT, false), 0);
	fx_check(fx);
	assert_int_equal(virq_lapic_set_apic_base(fx_apic(fx, 1),
						  VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
							  VIRQ_APIC_BASE_EXTD,
						  false),
			 0);
	fx_check(fx);
	assert_int_equal(xlist(fx, l, 8), 2);
	assert_int_equal(l[0], 2);
	assert_int_equal(l[1], 0);
	assert_int_equal(virq_vm_set_vcpu(&fx->vm, 0, NULL), 0);
	fx_check(fx);
	assert_int_equal(xlist(fx, l, 8), 1);
	/* An ID rewrite keeps it on the list, once; re-adds push. */
	fx_mmio_w(fx, 2, VIRQ_LAPIC_REG_ID, 9U << 24);
	fx_check(fx);
	assert_int_equal(xlist(fx, l, 8), 1);
	assert_int_equal(virq_vm_set_vcpu(&fx->vm, 0, fx_apic(fx, 0)), 0);
	assert_int_equal(virq_lapic_set_apic_base(fx_apic(fx, 3),
						  VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN,
						  false),
			 0);
	fx_check(fx);
	assert_int_equal(xlist(fx, l, 8), 3);
	assert_int_equal(l[0], 3);
	assert_int_equal(l[1], 0);
	assert_int_equal(l[2], 2);
	assert_int_equal(fx->vm.nr_xapic, 3);

	/* Damage, one kind at a time. */
	save = fx->map_key[0];
	fx->map_key[0] &= ~VM_KEY_NEXT_MASK; /* 2 dropped from the list */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	fx->map_key[0] = (save & ~VM_KEY_NEXT_MASK) | (4ULL << VM_KEY_NEXT_SHIFT); /* a cycle */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	fx->map_key[0] = (save & ~VM_KEY_NEXT_MASK) | (5ULL << VM_KEY_NEXT_SHIFT); /* x2APIC 4 */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	fx->map_key[0] = (save & ~VM_KEY_NEXT_MASK) | (6ULL << VM_KEY_NEXT_SHIFT); /* past */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	fx->map_key[0] = save;
	fx_check(fx);
	fx->map_key[4] |= 1ULL << VM_KEY_NEXT_SHIFT; /* a link in an x2APIC key */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	fx->map_key[4] &= ~VM_KEY_NEXT_MASK;
	fx->map_key[4] |= 1ULL << 40; /* reserved key bits */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	fx->map_key[4] &= ~(1ULL << 40);
	fx->vm.xapic_head = 1; /* vCPU 0 first: 3 is lost */
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	fx->vm.xapic_head = 0;
	assert_int_not_equal(vm_check_invariants(&fx->vm), 0);
	fx->vm.xapic_head = 4;
	fx_check(fx);
	fx_free(fx);
}

static void test_ids_past_map(void **state)
{
	/* map of 4 entries: IDs 4 and above take the scan path. */
	struct vm_fixture *fx = fx_new(4, 4, 0);

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		fx_add_x2apic(fx, i, i * 3);
	fx_check(fx);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(fx_send(fx, i * 3, false, VIRQ_DM_FIXED, V), 1);
		assert_int_equal(fx_who(fx, V), 1U << i);
		fx_drain_all(fx);
	}
	/* Cluster 0, bits for IDs 3, 6, 9: mixed in and past the map. */
	assert_int_equal(fx_send(fx, (1U << 3) | (1U << 6) | (1U << 9), true, VIRQ_DM_FIXED, V), 3);
	assert_int_equal(fx_who(fx, V), 0xE);
	fx_free(fx);
}

static void test_no_map(void **state)
{
	struct vm_fixture *fx = fx_new(2, 0, 0);

	(void)state;
	fx_add_x2apic(fx, 0, 0);
	fx_add_x2apic(fx, 1, 1);
	assert_int_equal(fx_send(fx, 1, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_who(fx, V), 0x2);
	fx_free(fx);
}

static void test_disabled_and_absent(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);

	(void)state;
	fx_add_xapic(fx, 0, 0);
	/* vCPU 1 absent (NULL entry), vCPU 2 software-disabled, vCPU 3 hw-disabled. */
	fx_add(fx, 2, 2, false);
	fx_add_xapic(fx, 3, 3);
	assert_int_equal(
		virq_lapic_set_apic_base(fx_apic(fx, 3), VIRQ_APIC_BASE_ADDR_DEFAULT, false), 0);
	fx_check(fx);
	assert_int_equal(fx->vm.map[3], VIRQ_VM_NO_VCPU);
	assert_int_equal(fx_send(fx, 0xFF, false, VIRQ_DM_FIXED, V), 1);
	assert_int_equal(fx_send(fx, 1, false, VIRQ_DM_FIXED, V), 0);
	assert_int_equal(fx_send(fx, 2, false, VIRQ_DM_FIXED, V), 0);
	assert_int_equal(fx_send(fx, 3, false, VIRQ_DM_FIXED, V), 0);
	/* A software-disabled LAPIC still takes NMI (SDM 10.4.7.2
	 * "Local APIC State After It Has Been Software Disabled"). */
	assert_int_equal(fx_send(fx, 2, false, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(fx_send(fx, 3, false, VIRQ_DM_NMI, 0), 0);
	/* Hot-unplug: the entry goes, the map forgets it. */
	assert_int_equal(virq_vm_set_vcpu(&fx->vm, 0, NULL), 0);
	fx_check(fx);
	assert_int_equal(fx_send(fx, 0, false, VIRQ_DM_FIXED, V), 0);
	assert_int_equal(virq_vm_set_vcpu(&fx->vm, 4, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_update_vcpu(&fx->vm, 4), -VIRQ_EINVAL);
	fx_free(fx);
}

static void test_shorthands(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);
	struct virq_apic_msg m;

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		fx_add_xapic(fx, i, i);
	m = fx_msg(0xFF, false, VIRQ_DM_FIXED, V);
	m.src = 1;
	m.shorthand = VIRQ_SH_ALL_EXCL_SELF;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 3);
	assert_int_equal(fx_who(fx, V), 0xD);
	fx_drain_all(fx);
	m.shorthand = VIRQ_SH_ALL_INCL_SELF;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 4);
	fx_drain_all(fx);
	m.shorthand = VIRQ_SH_SELF;
	m.src = 2;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 1);
	assert_int_equal(fx_who(fx, V), 0x4);
	fx_drain_all(fx);
	/* The sender's mode is part of its identity. */
	m.x2apic = true;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 0);
	fx_free(fx);
}

static void test_event_counts(void **state)
{
	struct vm_fixture *fx = fx_new(3, 256, 0);
	struct virq_lapic_events ev;

	(void)state;
	for (uint32_t i = 0; i < 3; i++)
		fx_add_xapic(fx, i, i);
	assert_int_equal(fx_send(fx, 0xFF, false, VIRQ_DM_NMI, 0), 3);
	assert_int_equal(fx_send(fx, 0, false, VIRQ_DM_SMI, 0), 1);
	assert_int_equal(fx_send(fx, 0, false, VIRQ_DM_EXTINT, 0), 1);
	virq_lapic_take_events(fx_apic(fx, 0), &ev);
	assert_int_equal(ev.flags, VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_SMI | VIRQ_LAPIC_EV_EXTINT);
	/* An AP waiting for SIPI holds its NMI. */
	virq_lapic_take_events(fx_apic(fx, 2), &ev);
	assert_int_equal(ev.flags, 0);
	/* A level de-assert carries nothing: 0, and not reported lost. */
	{
		struct virq_apic_msg m = fx_msg(1, false, VIRQ_DM_FIXED, V);

		m.trigger_level = true;
		m.level = false;
		assert_int_equal(virq_vm_deliver(&fx->vm, &m), 0);
		assert_int_equal(fx->n_lost, 0);
		m.level = true;
		assert_int_equal(virq_vm_deliver(&fx->vm, &m), 1);
		assert_true(fx_tmr(fx, 1, V));
	}
	fx_free(fx);
}

static void test_init_args(void **state)
{
	struct virq_vm vm;
	struct virq_vm_config cfg;
	struct virq_lapic *vcpus[2] = { NULL, NULL };
	uint32_t map[4];
	uint64_t keys[2];
	struct virq_vm_gsi gsis[2];
	struct virq_vm_ops ops = fx_vm_ops;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = 2;
	cfg.map_entries = 4;
	cfg.nr_gsis = 2;
	assert_int_equal(virq_vm_init(&vm, &cfg, vcpus, map, keys, gsis, &ops, NULL), 0);
	assert_int_equal(map[3], VIRQ_VM_NO_VCPU);
	assert_int_equal(virq_vm_init(&vm, &cfg, vcpus, NULL, keys, gsis, &ops, NULL),
			 -VIRQ_EINVAL);
	assert_int_equal(virq_vm_init(&vm, &cfg, vcpus, map, keys, NULL, &ops, NULL), -VIRQ_EINVAL);
	cfg.nr_vcpus = 0;
	assert_int_equal(virq_vm_init(&vm, &cfg, vcpus, map, keys, gsis, &ops, NULL), -VIRQ_EINVAL);
	cfg.nr_vcpus = VIRQ_VM_MAX_VCPUS + 1;
	assert_int_equal(virq_vm_init(&vm, &cfg, vcpus, map, keys, gsis, &ops, NULL), -VIRQ_EINVAL);
	cfg.nr_vcpus = 2;
	cfg.msi_flags = 4;
	assert_int_equal(virq_vm_init(&vm, &cfg, vcpus, map, keys, gsis, &ops, NULL), -VIRQ_EINVAL);
	cfg.msi_flags = 0;
	cfg.ir_enabled = true;
	cfg.ir.size = sizeof(cfg.ir);
	assert_int_equal(virq_vm_init(&vm, &cfg, vcpus, map, keys, gsis, &ops, NULL),
			 -VIRQ_EINVAL); /* table_entries 0 */
	cfg.ir.table_entries = 16;
	ops.read_irte = NULL;
	assert_int_equal(virq_vm_init(&vm, &cfg, vcpus, map, keys, gsis, &ops, NULL), -VIRQ_EINVAL);
	ops.read_irte = fx_read_irte;
	ops.lock = NULL;
	assert_int_equal(virq_vm_init(&vm, &cfg, vcpus, map, keys, gsis, &ops, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_deliver(NULL, NULL), 0);
}

/*
 * The size fields (doc/abi.md, "Growing ops and config structures") of
 * virq_vm_init() (cfg, ops, and cfg->ir with ir_enabled),
 * virq_vm_attach_ioapic() (the I/O APIC config) and virq_vm_set_ir(): 0,
 * sizeof - 1 and sizeof + 1 are refused with -VIRQ_EVERSION and nothing
 * is written (VM, I/O APIC and storage compared byte for byte); sizeof,
 * today also the first published size, is accepted.
 */
static void test_init_size_checked(void **state)
{
	static struct virq_vm vm, vm_before;
	static struct virq_ioapic io, io_before;
	struct virq_lapic *vcpus[2] = { NULL, NULL };
	uint32_t map[4], map_before[4];
	uint64_t keys[2], keys_before[2];
	struct virq_vm_gsi gsis[2], gsis_before[2];
	union {
		struct virq_vm_config c;
		unsigned char room[sizeof(struct virq_vm_config) + 1];
	} cfg;
	union {
		struct virq_vm_ops o;
		unsigned char room[sizeof(struct virq_vm_ops) + 1];
	} ops;
	union {
		struct virq_ioapic_config c;
		unsigned char room[sizeof(struct virq_ioapic_config) + 1];
	} icfg;
	union {
		struct virq_ir_config c;
		unsigned char room[sizeof(struct virq_ir_config) + 1];
	} ir;
	const uint32_t cfg_bad[3] = { 0, sizeof(struct virq_vm_config) - 1,
				      sizeof(struct virq_vm_config) + 1 };
	const uint32_t ops_bad[3] = { 0, sizeof(struct virq_vm_ops) - 1,
				      sizeof(struct virq_vm_ops) + 1 };
	const uint32_t icfg_bad[3] = { 0, sizeof(struct virq_ioapic_config) - 1,
				       sizeof(struct virq_ioapic_config) + 1 };
	const uint32_t ir_bad[3] = { 0, sizeof(struct virq_ir_config) - 1,
				     sizeof(struct virq_ir_config) + 1 };
	struct vm_fixture *fx;

	(void)state;
	assert_int_equal(VIRQ_VM_CONFIG_SIZE_MIN, sizeof(struct virq_vm_config));
	assert_int_equal(VIRQ_VM_OPS_SIZE_MIN, sizeof(struct virq_vm_ops));
	assert_int_equal(VIRQ_IR_CONFIG_SIZE_MIN, sizeof(struct virq_ir_config));
	memset(&vm, 0x5A, sizeof(vm));
	memset(map, 0x5A, sizeof(map));
	memset(keys, 0x5A, sizeof(keys));
	memset(gsis, 0x5A, sizeof(gsis));
	vm_before = vm;
	memcpy(map_before, map, sizeof(map));
	memcpy(keys_before, keys, sizeof(keys));
	memcpy(gsis_before, gsis, sizeof(gsis));
	for (unsigned i = 0; i < 3; i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.c.size = cfg_bad[i];
		cfg.c.nr_vcpus = 2;
		cfg.c.map_entries = 4;
		cfg.c.nr_gsis = 2;
		assert_int_equal(virq_vm_init(&vm, &cfg.c, vcpus, map, keys, gsis, &fx_vm_ops,
					      NULL),
				 -VIRQ_EVERSION);
		cfg.c.size = sizeof(cfg.c);
		memset(&ops, 0, sizeof(ops));
		ops.o = fx_vm_ops;
		ops.o.size = ops_bad[i];
		assert_int_equal(virq_vm_init(&vm, &cfg.c, vcpus, map, keys, gsis, &ops.o, NULL),
				 -VIRQ_EVERSION);
		/* The embedded remapping geometry, with ir_enabled. */
		cfg.c.ir_enabled = true;
		cfg.c.ir.size = ir_bad[i];
		cfg.c.ir.table_entries = 16;
		assert_int_equal(virq_vm_init(&vm, &cfg.c, vcpus, map, keys, gsis, &fx_vm_ops,
					      NULL),
				 -VIRQ_EVERSION);
		assert_memory_equal(&vm, &vm_before, sizeof(vm));
		assert_memory_equal(map, map_before, sizeof(map));
		assert_memory_equal(keys, keys_before, sizeof(keys));
		assert_memory_equal(gsis, gsis_before, sizeof(gsis));
	}
	/* ops->reserved and cfg->ir.reserved are checked. */
	ops.o = fx_vm_ops;
	ops.o.reserved = 1;
	cfg.c.ir_enabled = false;
	assert_int_equal(virq_vm_init(&vm, &cfg.c, vcpus, map, keys, gsis, &ops.o, NULL),
			 -VIRQ_EINVAL);
	cfg.c.ir_enabled = true;
	cfg.c.ir.size = sizeof(cfg.c.ir);
	cfg.c.ir.reserved = 1;
	assert_int_equal(virq_vm_init(&vm, &cfg.c, vcpus, map, keys, gsis, &fx_vm_ops, NULL),
			 -VIRQ_EINVAL);
	assert_memory_equal(&vm, &vm_before, sizeof(vm));
	/* Without ir_enabled the geometry is not read, its size included. */
	cfg.c.ir_enabled = false;
	cfg.c.ir.size = 0;
	cfg.c.ir.reserved = 0;
	assert_int_equal(virq_vm_init(&vm, &cfg.c, vcpus, map, keys, gsis, &fx_vm_ops, NULL), 0);
	assert_int_equal(vm.cfg.size, sizeof(struct virq_vm_config));
	cfg.c.ir_enabled = true;
	cfg.c.ir.size = sizeof(cfg.c.ir);
	assert_int_equal(virq_vm_init(&vm, &cfg.c, vcpus, map, keys, gsis, &fx_vm_ops, NULL), 0);

	/* virq_vm_attach_ioapic() and virq_vm_set_ir() on a live VM. */
	fx = fx_new(2, 4, 24);
	memset(&io, 0xC3, sizeof(io));
	io_before = io;
	vm_before = fx->vm;
	for (unsigned i = 0; i < 3; i++) {
		memset(&icfg, 0, sizeof(icfg));
		icfg.c.size = icfg_bad[i];
		icfg.c.pins = 24;
		assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &io, &icfg.c, 0, 0),
				 -VIRQ_EVERSION);
		memset(&ir, 0, sizeof(ir));
		ir.c.size = ir_bad[i];
		ir.c.table_entries = 16;
		assert_int_equal(virq_vm_set_ir(&fx->vm, true, &ir.c), -VIRQ_EVERSION);
		assert_memory_equal(&fx->vm, &vm_before, sizeof(fx->vm));
		assert_memory_equal(&io, &io_before, sizeof(io));
	}
	/* Turning remapping off reads no geometry. */
	assert_int_equal(virq_vm_set_ir(&fx->vm, false, &ir.c), 0);
	ir.c.size = sizeof(ir.c);
	assert_int_equal(virq_vm_set_ir(&fx->vm, true, &ir.c), 0);
	icfg.c.size = sizeof(icfg.c);
	assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &io, &icfg.c, 0, 0), 0);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_physical_xapic),
		cmocka_unit_test(test_physical_x2apic_ids),
		cmocka_unit_test(test_broadcast),
		cmocka_unit_test(test_broadcast_x2apic),
		cmocka_unit_test(test_x2apic_broadcast_quirk),
		cmocka_unit_test(test_logical_flat),
		cmocka_unit_test(test_logical_cluster),
		cmocka_unit_test(test_x2apic_cluster),
		cmocka_unit_test(test_mixed_modes_aliasing),
		cmocka_unit_test(test_duplicate_ids),
		cmocka_unit_test(test_shared_id_x2apic_logical),
		cmocka_unit_test(test_scan_count),
		cmocka_unit_test(test_invariant_checker),
		cmocka_unit_test(test_xapic_list),
		cmocka_unit_test(test_ids_past_map),
		cmocka_unit_test(test_no_map),
		cmocka_unit_test(test_disabled_and_absent),
		cmocka_unit_test(test_shorthands),
		cmocka_unit_test(test_event_counts),
		cmocka_unit_test(test_init_args),
		cmocka_unit_test(test_init_size_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
