/* SPDX-License-Identifier: MIT */
/*
 * A fake embedder for virq_vm tests: real LAPICs (one page each) whose
 * send_ipi / eoi_level / dest_changed hooks go into the VM under test, an
 * error-checking mutex as ops->lock, optional I/O APIC and PIC, a fake
 * IRTE table and posted-interrupt descriptors, and logs of what the VM
 * reported (lost messages, remapping faults, storms, notifications).
 *
 *	struct vm_fixture *fx = fx_new(4, 256, 24, NULL);
 *	fx_add_xapic(fx, 0, 0);            // vCPU 0, APIC ID 0, sw-enabled
 *	...
 *	fx_free(fx);
 */
#ifndef VIRQ_TEST_VM_HARNESS_H
#define VIRQ_TEST_VM_HARNESS_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <virq/vm.h>

#include "ioapic/ioapic_priv.h"
#include "lapic/lapic_priv.h"
#include "pic/pic_priv.h"
#include "vm/vm_priv.h"

#define FX_MAX_VCPUS 64U
#define FX_MAP 1024U
#define FX_GSIS 48U
#define FX_IRTES 64U
#define FX_PIDS 4U

struct vm_fixture;

struct vcpu_env {
	struct vm_fixture *fx;
	uint32_t index;
	unsigned kicks;
};

struct vm_fixture {
	uint32_t pages[FX_MAX_VCPUS][1024] __attribute__((aligned(4096)));
	struct virq_lapic apics[FX_MAX_VCPUS];
	struct virq_lapic_config lcfg[FX_MAX_VCPUS];
	struct vcpu_env env[FX_MAX_VCPUS];
	struct virq_lapic *vcpus[FX_MAX_VCPUS];
	uint32_t map[FX_MAP];
	uint64_t map_key[FX_MAX_VCPUS];
	struct virq_vm_gsi gsis[FX_GSIS];
	struct virq_vm vm;
	struct virq_vm_config cfg;
	struct virq_ioapic ioapic;
	struct virq_pic pic;
	pthread_mutex_t lock;
	unsigned lock_depth;
	/* logs */
	unsigned n_lost;
	bool threaded; /* deliveries from several threads: keep no last_lost */
	struct virq_apic_msg last_lost;
	unsigned n_faults;
	uint32_t last_fault, last_fault_index;
	uint16_t last_fault_sid;
	unsigned n_storms;
	unsigned n_notify;
	/* fake IOMMU */
	uint64_t irte[FX_IRTES][2];
	struct virq_pi_desc pid[FX_PIDS];
};

static void fx_lock(void *ctx)
{
	struct vm_fixture *fx = ctx;

	/* Error-checking mutex: a recursive lock fails the test. */
	assert_int_equal(pthread_mutex_lock(&fx->lock), 0);
	fx->lock_depth++;
	assert_int_equal(fx->lock_depth, 1);
}

static void fx_unlock(void *ctx)
{
	struct vm_fixture *fx = ctx;

	fx->lock_depth--;
	assert_int_equal(pthread_mutex_unlock(&fx->lock), 0);
}

static int fx_read_irte(void *ctx, uint32_t index, uint64_t irte[2])
{
	struct vm_fixture *fx = ctx;

	if (index >= FX_IRTES)
		return -1;
	irte[0] = fx->irte[index][0];
	irte[1] = fx->irte[index][1];
	return 0;
}

static void fx_ir_fault(void *ctx, uint16_t sid, uint32_t reason, uint32_t index)
{
	struct vm_fixture *fx = ctx;

	fx->n_faults++;
	fx->last_fault = reason;
	fx->last_fault_index = index;
	fx->last_fault_sid = sid;
}

static struct virq_pi_desc *fx_pi_desc(void *ctx, uint64_t pda)
{
	struct vm_fixture *fx = ctx;

	for (unsigned i = 0; i < FX_PIDS; i++)
		if ((uint64_t)(uintptr_t)&fx->pid[i] == pda)
			return &fx->pid[i];
	return NULL;
}

static void fx_pi_notify(void *ctx, struct virq_pi_desc *desc)
{
	(void)desc;
	__atomic_fetch_add(&((struct vm_fixture *)ctx)->n_notify, 1U, __ATOMIC_RELAXED);
}

static void fx_lost(void *ctx, const struct virq_apic_msg *msg)
{
	struct vm_fixture *fx = ctx;

	__atomic_fetch_add(&fx->n_lost, 1U, __ATOMIC_RELAXED);
	if (msg && !fx->threaded)
		fx->last_lost = *msg;
}

static void fx_storm(void *ctx, unsigned ioapic, unsigned pin)
{
	(void)ioapic;
	(void)pin;
	((struct vm_fixture *)ctx)->n_storms++;
}

static const struct virq_vm_ops fx_vm_ops = {
	.size = sizeof(struct virq_vm_ops),
	.lock = fx_lock,
	.unlock = fx_unlock,
	.read_irte = fx_read_irte,
	.ir_fault = fx_ir_fault,
	.pi_desc = fx_pi_desc,
	.pi_notify = fx_pi_notify,
	.lost = fx_lost,
	.storm = fx_storm,
};

/* ---- LAPIC hooks ---- */

static void fxl_kick(void *ctx)
{
	__atomic_fetch_add(&((struct vcpu_env *)ctx)->kicks, 1U, __ATOMIC_RELAXED);
}

static uint64_t fxl_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static void fxl_timer_arm(void *ctx, uint64_t deadline)
{
	(void)ctx;
	(void)deadline;
}

static void fxl_timer_cancel(void *ctx)
{
	(void)ctx;
}

static void fxl_send_ipi(void *ctx, const struct virq_apic_msg *msg)
{
	struct vcpu_env *e = ctx;

	(void)virq_vm_send_ipi(&e->fx->vm, msg);
}

static void fxl_eoi_level(void *ctx, uint8_t vector)
{
	struct vcpu_env *e = ctx;

	virq_vm_eoi(&e->fx->vm, vector);
}

static void fxl_dest_changed(void *ctx)
{
	struct vcpu_env *e = ctx;

	assert_int_equal(virq_vm_update_vcpu(&e->fx->vm, e->index), 0);
}

static const struct virq_lapic_ops fx_lapic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = fxl_kick,
	.now_ns = fxl_now,
	.timer_arm = fxl_timer_arm,
	.timer_cancel = fxl_timer_cancel,
	.send_ipi = fxl_send_ipi,
	.eoi_level = fxl_eoi_level,
	.dest_changed = fxl_dest_changed,
};

/* ---- fixture ---- */

static inline struct vm_fixture *fx_new_cfg(const struct virq_vm_config *cfg)
{
	struct vm_fixture *fx = aligned_alloc(4096, sizeof(*fx));
	pthread_mutexattr_t a;

	assert_non_null(fx);
	memset(fx, 0, sizeof(*fx));
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&fx->lock, &a);
	pthread_mutexattr_destroy(&a);
	fx->cfg = *cfg;
	for (unsigned i = 0; i < FX_MAX_VCPUS; i++) {
		fx->env[i].fx = fx;
		fx->env[i].index = i;
	}
	assert_int_equal(virq_vm_init(&fx->vm, &fx->cfg, fx->vcpus, fx->map, fx->map_key, fx->gsis,
				      &fx_vm_ops, fx),
			 0);
	return fx;
}

/* @nr vCPUs (none present yet), @map_entries map words, @nr_gsis GSIs. */
static inline struct vm_fixture *fx_new(uint32_t nr, uint32_t map_entries, uint32_t nr_gsis)
{
	struct virq_vm_config cfg;

	assert_true(nr <= FX_MAX_VCPUS && map_entries <= FX_MAP && nr_gsis <= FX_GSIS);
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = nr;
	cfg.map_entries = map_entries;
	cfg.nr_gsis = nr_gsis;
	return fx_new_cfg(&cfg);
}

static inline void fx_free(struct vm_fixture *fx)
{
	pthread_mutex_destroy(&fx->lock);
	free(fx);
}

static inline struct virq_lapic *fx_apic(struct vm_fixture *fx, uint32_t i)
{
	return &fx->apics[i];
}

static inline void fx_check(struct vm_fixture *fx)
{
	assert_int_equal(vm_check_invariants(&fx->vm), 0);
	for (uint32_t i = 0; i < fx->cfg.nr_vcpus; i++)
		if (fx->vcpus[i])
			assert_int_equal(lapic_check_invariants(fx->vcpus[i]), 0);
}

/* Creates vCPU @i with initial APIC ID @id (power-up: xAPIC, sw-disabled). */
static inline struct virq_lapic *fx_add(struct vm_fixture *fx, uint32_t i, uint32_t id, bool bsp)
{
	struct virq_lapic_config *c = &fx->lcfg[i];

	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->apic_id = id;
	c->bsp = bsp;
	c->x2apic = true;
	c->xapic_id_writable = true;
	c->directed_eoi = true;
	assert_int_equal(
		virq_lapic_init(&fx->apics[i], fx->pages[i], c, &fx_lapic_ops, &fx->env[i]), 0);
	assert_int_equal(virq_vm_set_vcpu(&fx->vm, i, &fx->apics[i]), 0);
	return &fx->apics[i];
}

static inline void fx_mmio_w(struct vm_fixture *fx, uint32_t i, uint32_t off, uint32_t val)
{
	assert_int_equal(virq_lapic_mmio_write(&fx->apics[i], off, 4, val), 0);
}

static inline uint32_t fx_mmio_r(struct vm_fixture *fx, uint32_t i, uint32_t off)
{
	uint64_t v = 0;

	assert_int_equal(virq_lapic_mmio_read(&fx->apics[i], off, 4, &v), 0);
	return (uint32_t)v;
}

/* vCPU @i in xAPIC mode with ID @id, software-enabled (SVR 0x1FF). */
static inline struct virq_lapic *fx_add_xapic(struct vm_fixture *fx, uint32_t i, uint32_t id)
{
	struct virq_lapic *l = fx_add(fx, i, id, i == 0);

	fx_mmio_w(fx, i, VIRQ_LAPIC_REG_SVR, 0x1FFU);
	return l;
}

/* vCPU @i in x2APIC mode with ID @id, software-enabled. */
static inline struct virq_lapic *fx_add_x2apic(struct vm_fixture *fx, uint32_t i, uint32_t id)
{
	struct virq_lapic *l = fx_add(fx, i, id, i == 0);

	assert_int_equal(virq_lapic_set_apic_base(l,
						  VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
							  VIRQ_APIC_BASE_EXTD |
							  (i == 0 ? VIRQ_APIC_BASE_BSP : 0),
						  false),
			 0);
	assert_int_equal(virq_lapic_msr_write(l, 0x80F, 0x1FF), 0);
	return l;
}

/* Takes (ack + EOI) every deliverable vector of vCPU @i; returns a bitmap
 * word: bit v-0xC0 for vectors 0xC0-0xFF... simpler: returns how many. */
static inline unsigned fx_drain(struct vm_fixture *fx, uint32_t i)
{
	unsigned n = 0;

	while (virq_lapic_ack(&fx->apics[i]) >= 0) {
		virq_lapic_eoi(&fx->apics[i]);
		n++;
	}
	return n;
}

/* Whether vector @v is in vCPU @i's IRR (after folding posted requests). */
static inline bool fx_irr(struct vm_fixture *fx, uint32_t i, uint8_t v)
{
	(void)virq_lapic_sync(&fx->apics[i]);
	return (fx->pages[i][(VIRQ_LAPIC_REG_IRR >> 2) + (v >> 5) * 4] >> (v & 31)) & 1U;
}

static inline bool fx_tmr(struct vm_fixture *fx, uint32_t i, uint8_t v)
{
	(void)virq_lapic_sync(&fx->apics[i]);
	return (fx->pages[i][(VIRQ_LAPIC_REG_TMR >> 2) + (v >> 5) * 4] >> (v & 31)) & 1U;
}

/* Bitmask of the vCPUs (< 32) with vector @v in IRR. */
static inline uint32_t fx_who(struct vm_fixture *fx, uint8_t v)
{
	uint32_t m = 0;

	for (uint32_t i = 0; i < fx->cfg.nr_vcpus && i < 32; i++)
		if (fx->vcpus[i] && fx_irr(fx, i, v))
			m |= 1U << i;
	return m;
}

/* Clears every vCPU's IRR/ISR by acknowledging and EOIing everything. */
static inline void fx_drain_all(struct vm_fixture *fx)
{
	for (uint32_t i = 0; i < fx->cfg.nr_vcpus; i++)
		if (fx->vcpus[i])
			(void)fx_drain(fx, i);
}

static inline struct virq_apic_msg fx_msg(uint32_t dest, bool logical, uint8_t dm, uint8_t vec)
{
	struct virq_apic_msg m;

	memset(&m, 0, sizeof(m));
	m.dest = dest;
	m.src = VIRQ_MSG_SRC_NONE;
	m.vector = vec;
	m.delivery = dm;
	m.logical = logical;
	m.level = true;
	m.x2apic = dest > 0xFFU;
	return m;
}

static inline unsigned fx_send(struct vm_fixture *fx, uint32_t dest, bool logical, uint8_t dm,
			       uint8_t vec)
{
	struct virq_apic_msg m = fx_msg(dest, logical, dm, vec);

	return virq_vm_deliver(&fx->vm, &m);
}

/* Attaches the I/O APIC (24 pins, version 0x20) as index 0 at GSI 0. */
static inline void fx_attach_ioapic(struct vm_fixture *fx)
{
	struct virq_ioapic_config c;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.version = 0x20;
	assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &fx->ioapic, &c, 0, 0xF0F8), 0);
}

static inline void fx_ioapic_w(struct vm_fixture *fx, uint32_t reg, uint32_t val)
{
	assert_int_equal(virq_vm_ioapic_write(&fx->vm, 0, VIRQ_IOAPIC_IOREGSEL, 4, reg), 0);
	assert_int_equal(virq_vm_ioapic_write(&fx->vm, 0, VIRQ_IOAPIC_IOWIN, 4, val), 0);
}

static inline uint32_t fx_ioapic_r(struct vm_fixture *fx, uint32_t reg)
{
	uint64_t v = 0;

	assert_int_equal(virq_vm_ioapic_write(&fx->vm, 0, VIRQ_IOAPIC_IOREGSEL, 4, reg), 0);
	assert_int_equal(virq_vm_ioapic_read(&fx->vm, 0, VIRQ_IOAPIC_IOWIN, 4, &v), 0);
	return (uint32_t)v;
}

/* Programs RTE @pin: high dword first, then low (unmasking last). */
static inline void fx_rte(struct vm_fixture *fx, unsigned pin, uint64_t rte)
{
	fx_ioapic_w(fx, VIRQ_IOAPIC_REG_RTE0 + 2 * pin + 1, (uint32_t)(rte >> 32));
	fx_ioapic_w(fx, VIRQ_IOAPIC_REG_RTE0 + 2 * pin, (uint32_t)rte);
}

static inline uint64_t fx_get_rte(struct vm_fixture *fx, unsigned pin)
{
	uint64_t r = 0;

	fx_lock(fx);
	assert_int_equal(virq_ioapic_get_rte(&fx->ioapic, pin, &r), 0);
	fx_unlock(fx);
	return r;
}

#endif /* VIRQ_TEST_VM_HARNESS_H */
