/* SPDX-License-Identifier: MIT */
/*
 * Peer bugs owned by routing: one named test each, with the advisory it
 * guards against. (KVM 2023 map race: test_concurrency.c.)
 */
#include "harness.h"

/* KVM CVE-2016-9777: IOAPIC destination -> vCPU index not bounded with
 * more than 255 vCPUs. Every destination, beyond the vCPU count and the
 * map size, in every mode: nothing outside the tables is touched (ASan). */
static void test_dest_beyond_vcpus_and_map(void **state)
{
	struct vm_fixture *fx = fx_new(3, 8, 24);

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_add_x2apic(fx, 1, 7);
	fx_add_x2apic(fx, 2, 8); /* first ID past the map */
	fx_attach_ioapic(fx);
	for (uint32_t d = 0; d < 0x300; d++) {
		unsigned want = 0;

		want += (d & 0xFFU) == 0 || (d & 0xFFU) == 0xFF; /* xAPIC vCPU, aliasing */
		want += d == 7;
		want += d == 8;
		assert_int_equal(fx_send(fx, d, false, VIRQ_DM_NMI, 0), want);
		(void)fx_send(fx, d, true, VIRQ_DM_FIXED, 0x40);
	}
	/* Through the I/O APIC: 8-bit destinations from an RTE. */
	for (uint32_t d = 0; d < 256; d++) {
		fx_rte(fx, 3, ((uint64_t)d << 56) | 0x41);
		assert_int_equal(virq_vm_set_irq(&fx->vm, 3, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	}
	fx_check(fx);
	fx_free(fx);
}

/* KVM CVE-2013-6376: crafted x2APIC ICR / LDR hit a BUG_ON in the map
 * rebuild. IDs and destinations at 0, 0xFFFFFFFE/F, cluster 0xFFFF. */
static void test_extreme_x2apic_ids(void **state)
{
	struct vm_fixture *fx = fx_new(3, 16, 0);

	(void)state;
	fx_add_x2apic(fx, 0, 0);
	fx_add_x2apic(fx, 1, 0xFFFFFFFEU);
	fx_add_x2apic(fx, 2, 0xFFFFFU); /* cluster 0xFFFF, member 15 */
	fx_check(fx);
	assert_int_equal(fx_send(fx, 0, false, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(fx_send(fx, 0xFFFFFFFEU, false, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(fx_send(fx, 0xFFFFFFFFU, false, VIRQ_DM_NMI, 0), 3);
	assert_int_equal(fx_send(fx, 0xFFFFFFFFU, true, VIRQ_DM_NMI, 0), 3);
	assert_int_equal(fx_send(fx, 0xFFFF8000U, true, VIRQ_DM_NMI, 0), 1);
	/* 0xFFFFFFFE's LDR: cluster 0xFFFFFFF (>16 bits, truncated), bit 14. */
	assert_int_equal(fx_send(fx, 0xFFFF4000U, true, VIRQ_DM_NMI, 0), 1);
	assert_int_equal(fx_send(fx, 0xFFFF0000U, true, VIRQ_DM_NMI, 0), 0);
	assert_int_equal(fx_send(fx, 0x00000001U, true, VIRQ_DM_NMI, 0), 1);
	fx_free(fx);

	/* A big map: ID 0x100005 has LDR cluster 0 (wrapped), bit 5, so
	 * logical 0x20 reaches it though the map slot 5 is someone else's. */
	fx = fx_new(2, FX_MAP, 0);
	fx_add_x2apic(fx, 0, 5);
	fx_add_x2apic(fx, 1, 0x100005U);
	fx_check(fx);
	assert_int_equal(fx->vm.nr_wide, 1);
	assert_int_equal(fx_send(fx, 0x20, true, VIRQ_DM_NMI, 0), 2);
	assert_int_equal(fx_send(fx, 0x100005U, false, VIRQ_DM_NMI, 0), 1);
	fx_free(fx);
}

/* ACRN: ffs64() of an empty destination mask used as a CPU index. Logical
 * destination 0, a garbage cluster, no matching vCPU: nobody, reported. */
static void test_empty_destination_mask(void **state)
{
	struct vm_fixture *fx = fx_new(2, 256, 0);

	(void)state;
	fx_add_x2apic(fx, 0, 0x10);
	fx_add_xapic(fx, 1, 1);
	assert_int_equal(fx_send(fx, 0, true, VIRQ_DM_FIXED, 0x40), 0);
	assert_int_equal(fx_send(fx, 0, true, VIRQ_DM_LOWEST, 0x40), 0);
	assert_int_equal(fx_send(fx, 0xABCD0000U, true, VIRQ_DM_LOWEST, 0x40), 0);
	assert_int_equal(fx_send(fx, 0x77, false, VIRQ_DM_LOWEST, 0x40), 0);
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE00004ULL, 0x140, 0), 0);
	assert_int_equal(fx->n_lost, 5);
	assert_int_equal(fx_who(fx, 0x40), 0);
	fx_free(fx);
}

/* KVM CVE-2017-1000252: out-of-range GSI from the embedder. */
static void test_gsi_range_checked(void **state)
{
	struct vm_fixture *fx = fx_new(1, 16, 4);
	struct virq_gsi_route r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.ioapic = VIRQ_VM_NO_ROUTE;
	r.pic_irq = VIRQ_VM_NO_ROUTE;
	for (uint32_t g = 4; g < 64; g++) {
		assert_int_equal(virq_vm_set_irq(&fx->vm, g, 0, VIRQ_IRQ_HIGH), -VIRQ_EINVAL);
		assert_int_equal(virq_vm_set_gsi_route(&fx->vm, g, &r), -VIRQ_EINVAL);
	}
	assert_int_equal(virq_vm_set_irq(&fx->vm, 0xFFFFFFFFU, 0, VIRQ_IRQ_HIGH), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 3, 32, VIRQ_IRQ_HIGH), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 3, 0, VIRQ_IRQ_HIGH), 0);
	fx_free(fx);
}

/* Xen XSA-96: MSI injection for a never-allocated source dereferenced
 * NULL. Every entry point with no vCPU, no I/O APIC, no PIC, and with
 * hardware- and software-disabled LAPICs. */
static void test_unconfigured_everything(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 24);
	struct virq_apic_msg m = fx_msg(0xFF, false, VIRQ_DM_FIXED, 0x40);
	uint8_t b;

	(void)state;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 0);
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE00000ULL, 0x40, 0), 0);
	m.shorthand = VIRQ_SH_ALL_INCL_SELF;
	assert_int_equal(virq_vm_send_ipi(&fx->vm, &m), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 4, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 4, 0, VIRQ_IRQ_LOW), 0);
	virq_vm_eoi(&fx->vm, 0x40);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x20, 0x11), -VIRQ_ENOENT);
	assert_int_equal(virq_vm_pic_read(&fx->vm, 0x20, &b), -VIRQ_ENOENT);
	assert_int_equal(virq_vm_pic_intack(&fx->vm), 0xFF);
	/* The PIC's INT with no BSP LAPIC and no I/O APIC. */
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 3), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x00), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_HIGH), 0);
	assert_true(virq_pic_get_intr(&fx->pic));
	/* Hardware-disabled and software-disabled LAPICs. */
	fx_add(fx, 0, 0, true);
	fx_add(fx, 1, 1, false);
	assert_int_equal(
		virq_lapic_set_apic_base(fx_apic(fx, 1), VIRQ_APIC_BASE_ADDR_DEFAULT, false), 0);
	m.shorthand = VIRQ_SH_NONE;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 0);
	m.delivery = VIRQ_DM_NMI;
	assert_int_equal(virq_vm_deliver(&fx->vm, &m), 1);
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE01000ULL, 0x40, 0), 0);
	fx_check(fx);
	fx_free(fx);
}

/* ACRN: VT-d posting is only valid for single-destination interrupts. A
 * posted IRTE names one descriptor (one vCPU); a multi-destination
 * interrupt is remapped format and reaches every destination. */
static void test_posting_single_destination(void **state)
{
	struct virq_vm_config cfg;
	struct vm_fixture *fx;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = 3;
	cfg.map_entries = 256;
	cfg.ir_enabled = true;
	cfg.ir.size = sizeof(cfg.ir);
	cfg.ir.table_entries = 8;
	cfg.ir.posting = true;
	fx = fx_new_cfg(&cfg);
	for (uint32_t i = 0; i < 3; i++)
		fx_add_xapic(fx, i, i);
	/* Posted: exactly one descriptor, count 1, no LAPIC IRR touched. */
	fx->irte[1][0] = 1ULL | (1ULL << 15) | (0x71ULL << 16) |
			 ((((uint64_t)(uintptr_t)&fx->pid[0] >> 6) & 0x3FFFFFFULL) << 38);
	fx->irte[1][1] = ((uint64_t)(uintptr_t)&fx->pid[0] >> 32) << 32;
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE00000ULL | (1U << 5) | (1U << 4), 0, 0), 1);
	assert_int_equal(fx_who(fx, 0x71), 0);
	assert_true(virq_pi_pending(&fx->pid[0]));
	/* Remapped, physical broadcast: every vCPU. */
	fx->irte[2][0] = 1ULL | (0x72ULL << 16) | (0xFF00ULL << 32);
	fx->irte[2][1] = 0;
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE00000ULL | (2U << 5) | (1U << 4), 0, 0), 3);
	assert_int_equal(fx_who(fx, 0x72), 0x7);
	fx_free(fx);
}

/* KVM: several sources on one GSI need a wired-OR kept under one lock. */
static void test_gsi_wired_or_interleaved(void **state)
{
	struct vm_fixture *fx = fx_new(1, 16, 24);

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_attach_ioapic(fx);
	fx_rte(fx, 11, VIRQ_IOAPIC_RTE_LEVEL | 0x5B);
	for (unsigned k = 0; k < 8; k++) {
		enum virq_irq_op a = (k & 1) ? VIRQ_IRQ_HIGH : VIRQ_IRQ_LOW;
		enum virq_irq_op b = (k & 2) ? VIRQ_IRQ_HIGH : VIRQ_IRQ_LOW;

		assert_int_equal(virq_vm_set_irq(&fx->vm, 11, 0, a), 0);
		assert_int_equal(virq_vm_set_irq(&fx->vm, 11, 1, b), 0);
		assert_int_equal((fx->ioapic.line[0] >> 11) & 1U, (k & 3) != 0);
		assert_int_equal(fx->gsis[11].sources, k & 3);
	}
	fx_free(fx);
}

/*
 * KVM and QEMU 2025-26 (Windows with Credential Guard hangs or storms),
 * crosvm (directed EOI advertised but not implemented): every combination
 * of Version[24] (directed_eoi), SVR[12] and I/O APIC version, end to end.
 * A level interrupt is delivered, acknowledged and EOIed at the LAPIC;
 * then exactly the EOIs the architecture defines must reach the I/O APIC:
 *  - SVR[12] clear (or not supported): the LAPIC EOI broadcasts and clears
 *    Remote IRR;
 *  - SVR[12] set: no broadcast, Remote IRR stays set until the guest writes
 *    the vector to the I/O APIC EOI register, which exists on version 0x20
 *    only (on 0x11 the write is ignored and Remote IRR stays set).
 */
static void test_suppress_eoi_broadcast_end_to_end(void **state)
{
	(void)state;
	for (unsigned directed = 0; directed < 2; directed++) {
		for (unsigned svr12 = 0; svr12 < 2; svr12++) {
			for (unsigned v20 = 0; v20 < 2; v20++) {
				struct vm_fixture *fx = fx_new(1, 256, 24);
				struct virq_ioapic_config c;
				struct virq_lapic *l;
				bool suppressed = directed && svr12;
				uint64_t rte;

				memset(&c, 0, sizeof(c));
				c.size = sizeof(c);
				c.version = v20 ? 0x20 : 0x11;
				l = fx_add_xapic(fx, 0, 0);
				if (!directed) {
					/* Re-create the LAPIC without Version[24]. */
					fx->lcfg[0].directed_eoi = false;
					assert_int_equal(
						virq_lapic_init(l, fx->pages[0], &fx->lcfg[0],
								&fx_lapic_ops, &fx->env[0]),
						0);
					assert_int_equal(virq_vm_update_vcpu(&fx->vm, 0), 0);
					fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_SVR, 0x1FF);
				}
				assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &fx->ioapic, &c, 0,
								       0xF0F8),
						 0);
				/* SVR[12] is writable only with Version[24]. */
				fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_SVR, 0x1FF | (svr12 << 12));
				assert_int_equal(fx_mmio_r(fx, 0, VIRQ_LAPIC_REG_SVR),
						 0x1FFU | (suppressed ? 0x1000U : 0U));
				fx_rte(fx, 16, VIRQ_IOAPIC_RTE_LEVEL | 0x61);
				assert_int_equal(virq_vm_set_irq(&fx->vm, 16, 0, VIRQ_IRQ_HIGH), 0);
				assert_int_equal(virq_vm_set_irq(&fx->vm, 16, 0, VIRQ_IRQ_LOW), 0);
				assert_int_equal(virq_lapic_ack(l), 0x61);
				virq_lapic_eoi(l);
				rte = fx_get_rte(fx, 16);
				assert_int_equal((rte & VIRQ_IOAPIC_RTE_REMOTE_IRR) != 0,
						 suppressed);
				/* Directed EOI through the I/O APIC's EOI register. */
				assert_int_equal(virq_vm_ioapic_write(&fx->vm, 0, VIRQ_IOAPIC_EOI,
								      4, 0x61),
						 0);
				rte = fx_get_rte(fx, 16);
				assert_int_equal((rte & VIRQ_IOAPIC_RTE_REMOTE_IRR) != 0,
						 suppressed && !v20);
				fx_check(fx);
				fx_free(fx);
			}
		}
	}
}

/*
 * External review: one guest slowed every delivery of a large VM about
 * 2000x. In a VM of more than 256 vCPUs, two vCPUs that go x2APIC ->
 * disabled -> xAPIC (legal, SDM 10.12.5 "x2APIC State Transitions") end
 * with the same 8-bit xAPIC ID (the low byte of their x2APIC IDs). A
 * VM-wide "duplicate IDs" count then sent every delivery of the VM, device
 * MSIs included, through a scan of all vCPUs. An aliased ID may only slow
 * the deliveries that name it. A dedicated fixture: BIG_NV x2APIC vCPUs
 * with IDs = index, a map covering them all.
 */
#define BIG_NV 300U
#define BIG_MAP 512U

struct big_vm;

struct big_env {
	struct big_vm *b;
	uint32_t index;
};

struct big_vm {
	uint32_t (*pages)[1024];
	struct virq_lapic *apics;
	struct big_env env[BIG_NV];
	struct virq_lapic *vcpus[BIG_NV];
	uint32_t map[BIG_MAP];
	uint64_t map_key[BIG_NV];
	struct virq_vm vm;
	struct virq_vm_config cfg;
	pthread_mutex_t lock;
};

static void big_lock(void *ctx)
{
	assert_int_equal(pthread_mutex_lock(&((struct big_vm *)ctx)->lock), 0);
}

static void big_unlock(void *ctx)
{
	assert_int_equal(pthread_mutex_unlock(&((struct big_vm *)ctx)->lock), 0);
}

static const struct virq_vm_ops big_vm_ops = { .size = sizeof(struct virq_vm_ops),
					       .lock = big_lock,
					       .unlock = big_unlock };

static void big_send_ipi(void *ctx, const struct virq_apic_msg *msg)
{
	struct big_env *e = ctx;

	(void)virq_vm_send_ipi(&e->b->vm, msg);
}

/* As an embedder's dest_changed hook does. */
static void big_dest_changed(void *ctx)
{
	struct big_env *e = ctx;

	assert_int_equal(virq_vm_update_vcpu(&e->b->vm, e->index), 0);
}

static void big_kick(void *ctx)
{
	(void)ctx;
}

static const struct virq_lapic_ops big_lapic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = big_kick,
	.now_ns = fxl_now,
	.timer_arm = fxl_timer_arm,
	.timer_cancel = fxl_timer_cancel,
	.send_ipi = big_send_ipi,
	.dest_changed = big_dest_changed,
};

static struct big_vm *big_new(void)
{
	struct big_vm *b = calloc(1, sizeof(*b));
	pthread_mutexattr_t a;

	assert_non_null(b);
	b->pages = aligned_alloc(4096, (size_t)BIG_NV * 4096);
	b->apics = aligned_alloc(64, (size_t)BIG_NV * sizeof(*b->apics));
	assert_non_null(b->pages);
	assert_non_null(b->apics);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&b->lock, &a);
	pthread_mutexattr_destroy(&a);
	b->cfg.size = sizeof(b->cfg);
	b->cfg.nr_vcpus = BIG_NV;
	b->cfg.map_entries = BIG_MAP;
	assert_int_equal(virq_vm_init(&b->vm, &b->cfg, b->vcpus, b->map, b->map_key, NULL,
				      &big_vm_ops, b),
			 0);
	for (uint32_t i = 0; i < BIG_NV; i++) {
		struct virq_lapic_config c;
		struct virq_lapic *l = &b->apics[i];

		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
		c.apic_id = i;
		c.bsp = i == 0;
		c.x2apic = true;
		b->env[i].b = b;
		b->env[i].index = i;
		assert_int_equal(virq_lapic_init(l, b->pages[i], &c, &big_lapic_ops, &b->env[i]),
				 0);
		assert_int_equal(virq_vm_set_vcpu(&b->vm, i, l), 0);
		/* Firmware: x2APIC mode, software-enabled. */
		assert_int_equal(virq_lapic_msr_write(l, 0x1B,
						      VIRQ_APIC_BASE_ADDR_DEFAULT |
							      VIRQ_APIC_BASE_EN |
							      VIRQ_APIC_BASE_EXTD |
							      (i == 0 ? VIRQ_APIC_BASE_BSP : 0)),
				 0);
		assert_int_equal(virq_lapic_msr_write(l, 0x80F, 0x1FF), 0);
	}
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	return b;
}

static void big_free(struct big_vm *b)
{
	pthread_mutex_destroy(&b->lock);
	free(b->pages);
	free(b->apics);
	free(b);
}

/* How many vCPUs have vector @v in IRR, in index order; @who[0..max-1]
 * get the first @max. Each of them acknowledges and EOIs it. */
static unsigned big_collect(struct big_vm *b, uint8_t v, uint32_t *who, unsigned max)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < BIG_NV; i++) {
		struct virq_lapic *l = &b->apics[i];

		(void)virq_lapic_sync(l);
		if (!((b->pages[i][(VIRQ_LAPIC_REG_IRR >> 2) + (v >> 5) * 4] >> (v & 31)) & 1U))
			continue;
		if (n < max)
			who[n] = i;
		n++;
		assert_int_equal(virq_lapic_ack(l), v);
		virq_lapic_eoi(l);
	}
	return n;
}

static unsigned big_take(struct big_vm *b, uint8_t v, uint32_t who[2])
{
	return big_collect(b, v, who, 2);
}

/* The guest takes vCPU @i from x2APIC to xAPIC mode the only legal way:
 * through the disabled state (WRMSR IA32_APIC_BASE twice), then enables it. */
static void big_to_xapic(struct big_vm *b, uint32_t i)
{
	struct virq_lapic *l = &b->apics[i];

	assert_int_equal(virq_lapic_msr_write(l, 0x1B, VIRQ_APIC_BASE_ADDR_DEFAULT), 0);
	assert_int_equal(virq_lapic_get_mode(l), VIRQ_LAPIC_MODE_DISABLED);
	assert_int_equal(
		virq_lapic_msr_write(l, 0x1B, VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN), 0);
	assert_int_equal(virq_lapic_mmio_write(l, VIRQ_LAPIC_REG_SVR, 4, 0x1FF), 0);
	assert_int_equal(virq_lapic_get_mode(l), VIRQ_LAPIC_MODE_XAPIC);
}

/* Delivers a physical fixed message to @dest (x2APIC format above 0xFF)
 * and returns how many vCPUs took it; @scanned gets whether it scanned. */
static unsigned big_send(struct big_vm *b, uint32_t dest, uint8_t v, bool *scanned)
{
	struct virq_apic_msg m = fx_msg(dest, false, VIRQ_DM_FIXED, v);
	uint64_t s0 = virq_vm_scan_count(&b->vm);
	unsigned n = virq_vm_deliver(&b->vm, &m);

	*scanned = virq_vm_scan_count(&b->vm) != s0;
	return n;
}

/* One physical fixed delivery to @dest that must reach exactly @nw vCPUs,
 * @w0 (and @w1) in index order, and scan exactly when @scan. */
static void big_expect(struct big_vm *b, uint32_t dest, bool scan, unsigned nw, uint32_t w0,
		       uint32_t w1)
{
	uint32_t who[2] = { VIRQ_VM_NO_VCPU, VIRQ_VM_NO_VCPU };
	bool scanned;

	assert_int_equal(big_send(b, dest, 0x41, &scanned), nw);
	assert_int_equal(big_take(b, 0x41, who), nw);
	if (nw > 0)
		assert_int_equal(who[0], w0);
	if (nw > 1)
		assert_int_equal(who[1], w1);
	if (scanned != scan)
		fail_msg("delivery to ID %u: %s, want %s", dest, scanned ? "scanned" : "map",
			 scan ? "a scan" : "the O(1) map");
}

static void test_xapic_alias_slows_only_its_id(void **state)
{
	struct big_vm *b = big_new();
	uint64_t s0;

	(void)state;
	/* Before: every physical destination is O(1). */
	big_expect(b, 7, false, 1, 7, 0);
	big_expect(b, 261, false, 1, 261, 0);

	/* vCPUs 5 and 261 go back to xAPIC mode: both have xAPIC ID 5. */
	big_to_xapic(b, 5);
	big_to_xapic(b, 261);
	assert_int_equal(virq_lapic_get_id(&b->apics[5]), 5);
	assert_int_equal(virq_lapic_get_id(&b->apics[261]), 5);
	assert_int_equal(vm_check_invariants(&b->vm), 0);

	/* Unaliased vCPUs: exactly their IRR, no scan (the defect: a scan). */
	big_expect(b, 7, false, 1, 7, 0);
	big_expect(b, 200, false, 1, 200, 0);
	big_expect(b, 299, false, 1, 299, 0);
	/* Above 0xFF the xAPIC alias slot is looked up too: 263 & 0xFF = 7
	 * (an x2APIC vCPU, which does not match 263), not shared. */
	big_expect(b, 263, false, 1, 263, 0);
	/* A device MSI to ID 200 on a host thread: O(1) too. */
	s0 = virq_vm_scan_count(&b->vm);
	assert_int_equal(virq_vm_send_msi(&b->vm, VIRQ_MSI_ADDR_BASE | (200U << 12), 0x42, 0), 1);
	assert_int_equal(virq_vm_scan_count(&b->vm), s0);
	{
		uint32_t who[2];

		assert_int_equal(big_take(b, 0x42, who), 1);
		assert_int_equal(who[0], 200);
	}
	/* A guest IPI (x2APIC ICR of vCPU 0) to ID 7: O(1). */
	s0 = virq_vm_scan_count(&b->vm);
	assert_int_equal(virq_lapic_msr_write(&b->apics[0], 0x830, (7ULL << 32) | 0x43), 0);
	assert_int_equal(virq_vm_scan_count(&b->vm), s0);
	{
		uint32_t who[2];

		assert_int_equal(big_take(b, 0x43, who), 1);
		assert_int_equal(who[0], 7);
	}

	/* The aliased ID reaches both holders, through a scan. */
	big_expect(b, 5, true, 2, 5, 261);
	/* So does x2APIC ID 261: its slot is empty now, and its low 8 bits
	 * name the shared xAPIC ID 5 (hardware aliasing). */
	big_expect(b, 261, true, 2, 5, 261);

	/* vCPU 261 goes back to x2APIC (xAPIC -> x2APIC is legal): ID 261. */
	assert_int_equal(virq_lapic_msr_write(&b->apics[261], 0x1B,
					      VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
						      VIRQ_APIC_BASE_EXTD),
			 0);
	assert_int_equal(virq_lapic_get_id(&b->apics[261]), 261);
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	/* ID 5 is O(1) again; 261 still aliases to the xAPIC vCPU 5, O(1). */
	big_expect(b, 5, false, 1, 5, 0);
	big_expect(b, 261, false, 2, 5, 261);
	big_expect(b, 7, false, 1, 7, 0);

	/* vCPU 5 too: both are x2APIC LAPICs again, which x2APIC logical
	 * destinations reach through the map (with LAPICs in xAPIC mode, see
	 * test_xapic_vcpus_slow_no_logical_delivery). Cluster 0 members 5 and
	 * 7, cluster 16 member 5 (261). */
	assert_int_equal(virq_lapic_msr_write(&b->apics[5], 0x1B,
					      VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
						      VIRQ_APIC_BASE_EXTD),
			 0);
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	s0 = virq_vm_scan_count(&b->vm);
	{
		struct virq_apic_msg m = fx_msg(0x000000A0U, true, VIRQ_DM_FIXED, 0x44);
		uint32_t who[2];

		assert_int_equal(virq_vm_deliver(&b->vm, &m), 2);
		assert_int_equal(big_take(b, 0x44, who), 2);
		assert_int_equal(who[0], 5);
		assert_int_equal(who[1], 7);
		m = fx_msg(0x00100020U, true, VIRQ_DM_FIXED, 0x44);
		assert_int_equal(virq_vm_deliver(&b->vm, &m), 1);
		assert_int_equal(big_take(b, 0x44, who), 1);
		assert_int_equal(who[0], 261);
	}
	assert_int_equal(virq_vm_scan_count(&b->vm), s0);
	big_expect(b, 5, false, 1, 5, 0);
	big_free(b);
}

/*
 * External review, the rest of finding 1: while any vCPU was in xAPIC mode,
 * every logical delivery of the VM (x2APIC-cluster IPIs, logical device
 * MSIs) and every xAPIC broadcast (physical 0xFF, or a wide ID whose low
 * byte is 0xFF) scanned all vCPUs: ~307,000 instructions at 4096 vCPUs for
 * one vCPU a guest took back to xAPIC mode. The xAPIC-mode vCPUs are now a
 * list beside the map: up to VM_XAPIC_LIST_MAX of them, such a delivery
 * checks the x2APIC holders the map yields plus each of them (matched or
 * not by their own LDR/DFR), no scan. Since the xAPIC logical map, a
 * logical delivery takes the xAPIC-mode vCPUs from it whatever their
 * number; only a logical ID two of them share sends it to the list, and
 * above the bound to a scan, exactly.
 */
#define BIG_WHO 24U

/* After a send that @n LAPICs accepted: exactly the @nw vCPUs @want (index
 * order) took vector @v, and the send scanned (count since @s0) exactly
 * when @scan. */
static void big_after(struct big_vm *b, const char *what, uint8_t v, unsigned n, uint64_t s0,
		      bool scan, unsigned nw, const uint32_t *want)
{
	uint32_t who[BIG_WHO];
	bool scanned = virq_vm_scan_count(&b->vm) != s0;
	unsigned got;

	assert_true(nw <= BIG_WHO);
	if (n != nw)
		fail_msg("%s: accepted by %u, want %u", what, n, nw);
	got = big_collect(b, v, who, BIG_WHO);
	if (got != nw)
		fail_msg("%s: %u vCPUs have the vector, want %u", what, got, nw);
	for (unsigned k = 0; k < nw; k++)
		if (who[k] != want[k])
			fail_msg("%s: target %u is vCPU %u, want %u", what, k, who[k], want[k]);
	if (scanned != scan)
		fail_msg("%s: %s, want %s", what, scanned ? "scanned" : "no scan",
			 scan ? "a scan" : "no scan");
}

/* virq_vm_deliver() of @m, checked by big_after(). */
static void big_check(struct big_vm *b, const char *what, const struct virq_apic_msg *m, bool scan,
		      unsigned nw, const uint32_t *want)
{
	uint64_t s0 = virq_vm_scan_count(&b->vm);
	unsigned n = virq_vm_deliver(&b->vm, m);

	big_after(b, what, m->vector, n, s0, scan, nw, want);
}

static void big_ldr(struct big_vm *b, uint32_t i, uint32_t ldr)
{
	assert_int_equal(virq_lapic_mmio_write(&b->apics[i], VIRQ_LAPIC_REG_LDR, 4, ldr), 0);
}

/* The guest takes xAPIC-mode vCPU @i to x2APIC mode (legal from xAPIC). */
static void big_to_x2apic(struct big_vm *b, uint32_t i)
{
	assert_int_equal(virq_lapic_msr_write(&b->apics[i], 0x1B,
					      VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
						      VIRQ_APIC_BASE_EXTD),
			 0);
	assert_int_equal(virq_lapic_get_mode(&b->apics[i]), VIRQ_LAPIC_MODE_X2APIC);
}

/* x2APIC logical destination: cluster @c, bitmap @bits. */
static struct virq_apic_msg big_logical(uint32_t c, uint32_t bits, uint8_t v)
{
	struct virq_apic_msg m = fx_msg((c << 16) | bits, true, VIRQ_DM_FIXED, v);

	m.x2apic = true;
	return m;
}

static void test_xapic_vcpus_slow_no_logical_delivery(void **state)
{
	struct big_vm *b = big_new();
	struct virq_apic_msg m;
	uint32_t who[BIG_WHO] = { 0 }, many[BIG_WHO];
	uint64_t s0;
	unsigned n;

	(void)state;
	/* The reviewer's VM: vCPUs 5 and 261 back in xAPIC mode (xAPIC ID 5,
	 * LDR 0 after the re-enable: they match no logical destination). */
	big_to_xapic(b, 5);
	big_to_xapic(b, 261);
	assert_int_equal(b->vm.nr_xapic, 2);
	assert_int_equal(vm_check_invariants(&b->vm), 0);

	/* x2APIC cluster 2, bits 1 and 8 (IDs 33, 40): exactly them, no scan
	 * (the defect: a scan of all 300 vCPUs). */
	m = big_logical(2, 0x0102, 0x50);
	big_check(b, "cluster 2 {33,40}, xAPIC LDRs 0", &m, false, 2, (const uint32_t[]){ 33, 40 });

	/* vCPU 261's flat LDR matches the low byte 0x02 of that destination,
	 * vCPU 5's (0x10) does not: 261 is a target too, still no scan. */
	big_ldr(b, 261, 0x02U << 24);
	big_ldr(b, 5, 0x10U << 24);
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	big_check(b, "cluster 2 {33,40} + xAPIC 261", &m, false, 3,
		  (const uint32_t[]){ 33, 40, 261 });
	m = big_logical(2, 0x0110, 0x51); /* IDs 36, 40; low byte 0x10: vCPU 5 */
	big_check(b, "cluster 2 {36,40} + xAPIC 5", &m, false, 3, (const uint32_t[]){ 5, 36, 40 });
	m = big_logical(2, 0x0100, 0x52); /* low byte 0: no xAPIC LAPIC */
	big_check(b, "cluster 2 {40}", &m, false, 1, (const uint32_t[]){ 40 });
	/* Lowest priority over the same mix: one of them, no scan. */
	m = big_logical(2, 0x0102, 0x53);
	m.delivery = VIRQ_DM_LOWEST;
	s0 = virq_vm_scan_count(&b->vm);
	assert_int_equal(virq_vm_deliver(&b->vm, &m), 1);
	assert_int_equal(virq_vm_scan_count(&b->vm), s0);
	assert_int_equal(big_collect(b, 0x53, who, 1), 1);
	assert_true(who[0] == 33 || who[0] == 40 || who[0] == 261);

	/* A guest IPI: vCPU 0's x2APIC ICR, logical, cluster 2 bits 1 and 8. */
	s0 = virq_vm_scan_count(&b->vm);
	assert_int_equal(virq_lapic_msr_write(&b->apics[0], 0x830,
					      (0x00020102ULL << 32) | VIRQ_ICR_DEST_LOGICAL | 0x54),
			 0);
	big_after(b, "x2APIC ICR cluster 2 {33,40}", 0x54, 3, s0, false, 3,
		  (const uint32_t[]){ 33, 40, 261 });

	/* A logical device MSI to 0x02: x2APIC cluster 0 bit 1 (vCPU 1) and
	 * the xAPIC vCPU whose LDR matches (261), no scan. */
	s0 = virq_vm_scan_count(&b->vm);
	n = virq_vm_send_msi(&b->vm, VIRQ_MSI_ADDR_BASE | (0x02U << 12) | VIRQ_MSI_ADDR_DM_LOGICAL,
			     0x55, 0);
	big_after(b, "logical MSI 0x02", 0x55, n, s0, false, 2, (const uint32_t[]){ 1, 261 });
	/* Lowest priority (RH) over 0x12: vCPUs 1, 4, 5 (LDR 0x10), 261. */
	s0 = virq_vm_scan_count(&b->vm);
	assert_int_equal(virq_vm_send_msi(&b->vm,
					  VIRQ_MSI_ADDR_BASE | (0x12U << 12) |
						  VIRQ_MSI_ADDR_DM_LOGICAL | VIRQ_MSI_ADDR_RH,
					  (VIRQ_DM_LOWEST << VIRQ_MSI_DATA_DM_SHIFT) | 0x56, 0),
			 1);
	assert_int_equal(virq_vm_scan_count(&b->vm), s0);
	assert_int_equal(big_collect(b, 0x56, who, 1), 1);
	assert_true(who[0] == 1 || who[0] == 4 || who[0] == 5 || who[0] == 261);

	/* Physical 0xFF in x2APIC format: x2APIC ID 0xFF (vCPU 255), and
	 * every xAPIC-mode LAPIC (their broadcast), no scan. In xAPIC format
	 * the same LAPICs. A wide ID with low byte 0xFF and no holder (0x1FF):
	 * the xAPIC-mode LAPICs only. */
	m = fx_msg(0xFF, false, VIRQ_DM_FIXED, 0x57);
	m.x2apic = true;
	big_check(b, "physical 0xFF, x2APIC format", &m, false, 3,
		  (const uint32_t[]){ 5, 255, 261 });
	m.x2apic = false;
	big_check(b, "physical 0xFF, xAPIC format", &m, false, 3,
		  (const uint32_t[]){ 5, 255, 261 });
	m = fx_msg(0x1FF, false, VIRQ_DM_NMI, 0);
	s0 = virq_vm_scan_count(&b->vm);
	assert_int_equal(virq_vm_deliver(&b->vm, &m), 2);
	assert_int_equal(virq_vm_scan_count(&b->vm), s0);
	/* 0x2FF is past the map (512 entries): that alone scans. */
	m = fx_msg(0x2FF, false, VIRQ_DM_FIXED, 0x58);
	big_check(b, "physical 0x2FF (past the map)", &m, true, 2, (const uint32_t[]){ 5, 261 });

	/* More xAPIC-mode vCPUs (100-102), then one leaves from the middle of
	 * the list: every step keeps the list exact. */
	for (uint32_t i = 100; i < 103; i++)
		big_to_xapic(b, i);
	big_ldr(b, 101, 0x02U << 24);
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	m = big_logical(2, 0x0102, 0x59);
	big_check(b, "cluster 2 {33,40}, 5 xAPIC", &m, false, 4,
		  (const uint32_t[]){ 33, 40, 101, 261 });
	big_to_x2apic(b, 101);
	big_to_x2apic(b, 5);
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	assert_int_equal(b->vm.nr_xapic, 3);
	big_check(b, "cluster 2 {33,40}, 3 xAPIC", &m, false, 3, (const uint32_t[]){ 33, 40, 261 });

	/* Up to the bound, VM_XAPIC_LIST_MAX xAPIC-mode vCPUs: no scan. */
	for (uint32_t i = 110; b->vm.nr_xapic < VM_XAPIC_LIST_MAX; i++)
		big_to_xapic(b, i);
	big_ldr(b, 110, 0x02U << 24);
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	big_check(b, "cluster 2 {33,40}, at the bound", &m, false, 4,
		  (const uint32_t[]){ 33, 40, 110, 261 });
	/* One more: the low byte 0x02 names flat bit 1, which two xAPIC-mode
	 * vCPUs (110, 261) share in the xAPIC logical map, and the list is
	 * too long: that delivery scans, and stays exact. */
	big_to_xapic(b, 140);
	assert_int_equal(b->vm.nr_xapic, VM_XAPIC_LIST_MAX + 1U);
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	big_check(b, "cluster 2 {33,40}, above the bound", &m, true, 4,
		  (const uint32_t[]){ 33, 40, 110, 261 });
	/* Low byte 0 names no xAPIC logical slot: the x2APIC map only. */
	m = big_logical(2, 0x0100, 0x5A);
	big_check(b, "cluster 2 {40}, above the bound", &m, false, 1, (const uint32_t[]){ 40 });
	/* Low byte 0x10 names flat bit 4, vCPU 261 alone (LDR 0x02 is bit 1;
	 * vCPU 5 went back to x2APIC): one logical map slot, no scan. */
	big_ldr(b, 261, 0x10U << 24);
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	m = big_logical(2, 0x0110, 0x5D); /* IDs 36, 40 */
	big_check(b, "cluster 2 {36,40} + xAPIC 261, above the bound", &m, false, 3,
		  (const uint32_t[]){ 36, 40, 261 });
	big_ldr(b, 261, 0x02U << 24);
	/* ... and so does the xAPIC broadcast: vCPU 255 and every xAPIC one. */
	n = 0;
	for (uint32_t i = 0; i < BIG_NV; i++)
		if (virq_lapic_get_mode(&b->apics[i]) == VIRQ_LAPIC_MODE_XAPIC || i == 255)
			many[n++] = i;
	assert_int_equal(n, VM_XAPIC_LIST_MAX + 2U);
	m = fx_msg(0xFF, false, VIRQ_DM_FIXED, 0x5B);
	m.x2apic = true;
	big_check(b, "physical 0xFF, above the bound", &m, true, n, many);
	/* Physical destinations keep their map lookup. */
	big_expect(b, 7, false, 1, 7, 0);
	big_expect(b, 263, false, 1, 263, 0);
	/* Back to the bound: no scan again. */
	big_to_x2apic(b, 140);
	assert_int_equal(vm_check_invariants(&b->vm), 0);
	m = big_logical(2, 0x0102, 0x5C);
	big_check(b, "cluster 2 {33,40}, back at the bound", &m, false, 4,
		  (const uint32_t[]){ 33, 40, 110, 261 });
	big_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dest_beyond_vcpus_and_map),
		cmocka_unit_test(test_extreme_x2apic_ids),
		cmocka_unit_test(test_empty_destination_mask),
		cmocka_unit_test(test_gsi_range_checked),
		cmocka_unit_test(test_unconfigured_everything),
		cmocka_unit_test(test_posting_single_destination),
		cmocka_unit_test(test_gsi_wired_or_interleaved),
		cmocka_unit_test(test_suppress_eoi_broadcast_end_to_end),
		cmocka_unit_test(test_xapic_alias_slows_only_its_id),
		cmocka_unit_test(test_xapic_vcpus_slow_no_logical_delivery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
