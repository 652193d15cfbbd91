/* SPDX-License-Identifier: MIT */
/*
 * VT-x posted interrupts, closed loop: the glue and the LAPIC do the
 * software side (the descriptor's NV, NDST and SN, the kick decision, the
 * PIR fold and RVI before entry), the executable SDM model
 * (tests/vmx/model) does the hardware side: its "host-physical memory" is
 * the harness's allocation, so the model reads and writes the LAPIC's own
 * descriptor at the address the glue wrote to 0x2016, through the model's
 * byte accessors; it takes the controls, RVI/SVI and the EOI-exit bitmap
 * from the VMCS field store at each entry and the virtual-APIC page from
 * the LAPIC's page, processes notifications, delivers vectors, and its
 * exits go back through virq_vmx_handle_exit(). IPIs travel through an
 * interconnect that holds them while the target pCPU runs with interrupts
 * disabled (from virq_vmx_prepare_entry() to VM entry), as a physical
 * APIC does.
 */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <virq/vmx_pi.h>

#include "model.h"

#define NV 0xF2        /* notification vector */
#define WAKEUP 0xF3    /* wakeup vector */
#define KICK_VEC 0xF0  /* the embedder's ordinary kick IPI */
#define TIMER_VEC 0xEF /* a host interrupt that makes the guest exit */
#define PID_ADDR ((uint64_t)offsetof(struct vfx, lapic))

/* ---- the rig: two physical CPUs, an interconnect, the kick hook ---- */

struct pcpu {
	struct vmx_model_cpu m;
	uint32_t apic_id;
	bool irq_off;       /* between prepare_entry and VM entry */
	uint8_t pending[8]; /* IPIs held while irq_off, in arrival order */
	unsigned npending;
};

struct kick_rec {
	enum virq_vmx_pi_action action;
	uint32_t dest;
};

struct rig {
	struct vfx *f;
	struct vmx_model_sys sys;
	struct pcpu cpu[2];
	int on; /* index of the pCPU the vCPU runs on, or -1 */
	struct kick_rec kicks[32];
	unsigned nkicks;
	unsigned wakes;
	bool defer; /* hold IPIs in flight (rig_flush delivers them) */
	struct {
		int cpu;
		uint8_t vector;
	} flight[16];
	unsigned nflight;
	pthread_mutex_t lock; /* model steps and posts: the model is not concurrent */
	uint32_t post_at;     /* rig_vmwrite: post post_vec after writing this field */
	uint8_t post_vec;
	/* test_pi_threads: kicks counted by action, not recorded */
	bool threaded;
	unsigned by_action[4];
	pthread_cond_t woken;
	/* With IPI virtualization: the PID-pointer table, past struct vfx in
	 * the same allocation (the model's memory). */
	uint64_t *table;
	uint64_t table_pa;
};

static struct rig *g;

static struct pcpu *pcpu_by_id(struct rig *r, uint32_t id)
{
	for (unsigned i = 0; i < 2; i++)
		if (r->cpu[i].apic_id == id)
			return &r->cpu[i];
	fail_msg("IPI to APIC ID %#x: no such CPU", id);
	return NULL;
}

/* An IPI reaches @c: held while its interrupts are off, else taken (in
 * VMX non-root operation by the model's rules, in root by the host). */
static void ipi_arrive(struct pcpu *c, uint8_t vector)
{
	if (c->irq_off && !c->m.in_guest) {
		/* One IRR bit per vector in the physical APIC. */
		for (unsigned i = 0; i < c->npending; i++)
			if (c->pending[i] == vector)
				return;
		assert_true(c->npending < 8);
		c->pending[c->npending++] = vector;
		return;
	}
	assert_int_equal(vmx_model_ext_intr(&c->m, vector), 0);
}

static void rig_ipi(struct rig *r, int cpu, uint8_t vector)
{
	if (r->defer) {
		assert_true(r->nflight < 16);
		r->flight[r->nflight].cpu = cpu;
		r->flight[r->nflight++].vector = vector;
		return;
	}
	ipi_arrive(&r->cpu[cpu], vector);
}

/* The IPIs in flight arrive. */
static void rig_flush(struct rig *r)
{
	for (unsigned i = 0; i < r->nflight; i++)
		ipi_arrive(&r->cpu[r->flight[i].cpu], r->flight[i].vector);
	r->nflight = 0;
}

/* The LAPIC's kick hook: what an embedder does with the glue's answer. */
static void rig_kick(void *ctx)
{
	struct rig *r = g;
	uint32_t dest = 0xDEADBEEF;
	enum virq_vmx_pi_action a = virq_vmx_pi_kick(&r->f->vx, &dest);

	(void)ctx;
	if (r->threaded) {
		r->by_action[a]++;
	} else {
		assert_true(r->nkicks < 32);
		r->kicks[r->nkicks].action = a;
		r->kicks[r->nkicks++].dest = dest;
	}
	switch (a) {
	case VIRQ_VMX_PI_NOTIFY:
		rig_ipi(r, (int)(pcpu_by_id(r, dest) - r->cpu), NV);
		break;
	case VIRQ_VMX_PI_EXIT:
		assert_true(r->on >= 0);
		rig_ipi(r, r->on, KICK_VEC);
		break;
	case VIRQ_VMX_PI_WAKE:
		r->wakes++;
		pthread_cond_signal(&r->woken);
		break;
	case VIRQ_VMX_PI_NONE:
		break;
	}
}

/* VMWRITE: the store's, then (once) a post from "another thread" right
 * after the write of @r->post_at: a post that lands inside
 * virq_vmx_prepare_entry(), after its fold. */
static void rig_vmwrite(void *ctx, uint32_t field, uint64_t value)
{
	struct rig *r = g;
	uint8_t v = r->post_vec;

	vfx_vmwrite(ctx, field, value);
	if (v && field == r->post_at) {
		r->post_vec = 0;
		virq_lapic_post(&r->f->lapic, v, false);
	}
}

static const struct virq_vmx_ops rig_ops = {
	.size = sizeof(struct virq_vmx_ops),
	.vmread = vfx_vmread,
	.vmwrite = rig_vmwrite,
	.rdmsr = vfx_rdmsr,
	.read_gpr = vfx_read_gpr,
	.write_gpr = vfx_write_gpr,
	.write_cr2 = vfx_write_cr2,
};

static const struct virq_lapic_ops rig_lapic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = rig_kick,
	.now_ns = vfx_now,
	.timer_arm = vfx_arm,
	.timer_cancel = vfx_cancel,
	.send_ipi = vfx_send_ipi,
	.eoi_level = vfx_eoi_level,
};

/* The PID-pointer table: 8 entries, 64 bytes past struct vfx. */
#define TABLE_PA (((uint64_t)sizeof(struct vfx) + 63U) & ~63ULL)
#define TABLE_LAST 7U
#define RIG_BYTES (TABLE_PA + 8U * (TABLE_LAST + 1U))

/* The glue at APICv level with posted interrupts (@posted) on a host
 * whose APICs run in x2APIC mode (@x2) with IDs @id0 and @id1; with
 * @ipiv, IPI virtualization too (the table at TABLE_PA, all invalid). */
static struct rig *rig_make(bool posted, bool x2, uint32_t id0, uint32_t id1, bool ipiv)
{
	struct virq_lapic_config lc = {
		.size = sizeof(struct virq_lapic_config), .apic_id = 0, .bsp = true, .x2apic = true
	};
	struct rig *r = calloc(1, sizeof(*r));
	struct vfx *f;

	assert_non_null(r);
	g = r;
	assert_int_equal(posix_memalign((void **)&f, 4096, RIG_BYTES), 0);
	memset(f, 0, RIG_BYTES);
	r->f = f;
	r->table = (uint64_t *)(void *)((uint8_t *)f + TABLE_PA);
	r->table_pa = TABLE_PA;
	f->cfg.size = sizeof(f->cfg);
	assert_int_equal(virq_lapic_init(&f->lapic, f->page, &lc, &rig_lapic_ops, f), 0);
	assert_int_equal(virq_lapic_mmio_write(&f->lapic, VIRQ_LAPIC_REG_SVR, 4, 0x1FF), 0);
	assert_int_equal(virq_vcpu_init(&f->pol, &f->lapic, NULL), 0);
	vfx_default_caps(f);
	vfx_set(f, VIRQ_VMCS_GUEST_RFLAGS, 0x2 | VIRQ_VMX_RFLAGS_IF);
	vfx_set(f, VIRQ_VMCS_GUEST_CR0, 0x80000011ULL);
	vfx_set(f, VIRQ_VMCS_PROC_BASED_CTLS, VIRQ_VMX_PROC_HLT_EXITING);
	f->cfg.level = VIRQ_VMX_LEVEL_APICV;
	f->cfg.flags = VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT;
	f->cfg.virtual_apic_addr = VFX_VAPIC;
	f->cfg.apic_access_addr = VFX_ACCESS;
	if (posted) {
		f->cfg.flags |= VIRQ_VMX_F_POSTED_INTR | (x2 ? VIRQ_VMX_F_HOST_X2APIC : 0);
		f->cfg.pi_desc_addr = PID_ADDR;
		f->cfg.pi_vector = NV;
		f->cfg.pi_wakeup_vector = WAKEUP;
	}
	if (ipiv) {
		f->cfg.flags |= VIRQ_VMX_F_IPIV;
		f->cfg.ipiv_table_addr = TABLE_PA;
		f->cfg.ipiv_last_index = TABLE_LAST;
		f->msr[VIRQ_VMX_MSR_PROCBASED_CTLS3 - 0x480] = VIRQ_VMX_PROC3_IPI_VIRT;
	}
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &rig_ops, f, &f->cfg), 0);
	r->sys.mem = (uint8_t *)f;
	r->sys.size = RIG_BYTES;
	r->sys.maxphyaddr = 46;
	r->sys.host_x2apic = x2;
	for (unsigned i = 0; i < 2; i++) {
		vmx_model_init(&r->cpu[i].m, &r->sys);
		r->cpu[i].apic_id = i ? id1 : id0;
	}
	r->on = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->woken, NULL);
	return r;
}

static struct rig *rig_new(bool posted, bool x2, uint32_t id0, uint32_t id1)
{
	return rig_make(posted, x2, id0, id1, false);
}

static void rig_free(struct rig *r)
{
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->woken);
	free(r->f);
	free(r);
	g = NULL;
}

/* The vCPU thread is scheduled on pCPU @cpu. */
static void rig_load(struct rig *r, int cpu)
{
	assert_int_equal(virq_vmx_pi_load(&r->f->vx, r->cpu[cpu].apic_id), 0);
	r->on = cpu;
}

/* Interrupts off, virq_vmx_prepare_entry(); returns its flags. */
static uint32_t rig_prepare(struct rig *r)
{
	assert_true(r->on >= 0);
	r->cpu[r->on].irq_off = true;
	return vfx_prepare(r->f);
}

/* VM entry on the model: the VMCS and the page as the glue left them,
 * then the IPIs held while interrupts were off. */
static void rig_enter(struct rig *r)
{
	struct pcpu *c = &r->cpu[r->on];
	struct vfx *f = r->f;
	uint32_t pin = (uint32_t)vfx_get(f, VIRQ_VMCS_PIN_BASED_CTLS);
	uint32_t sec = (uint32_t)vfx_get(f, VIRQ_VMCS_PROC_BASED_CTLS2);
	uint64_t st = vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS);

	memcpy(c->m.vapic, f->page, VMX_MODEL_PAGE);
	c->m.rvi = (uint8_t)st;
	c->m.svi = (uint8_t)(st >> 8);
	c->m.vid = (sec & VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY) != 0;
	c->m.apic_reg_virt = (sec & VIRQ_VMX_PROC2_APIC_REG_VIRT) != 0;
	c->m.x2apic_virt = (sec & VIRQ_VMX_PROC2_VIRT_X2APIC_MODE) != 0;
	c->m.posted = (pin & VIRQ_VMX_PIN_POSTED_INTR) != 0;
	c->m.nv = (uint16_t)vfx_get(f, VIRQ_VMCS_POSTED_INTR_NV);
	c->m.pid_addr = vfx_get(f, VIRQ_VMCS_POSTED_INTR_DESC_ADDR);
	c->m.ipiv = (vfx_get(f, VIRQ_VMCS_PROC_BASED_CTLS) & VIRQ_VMX_PROC_TERTIARY_CTLS) &&
		    (vfx_get(f, VIRQ_VMCS_TERTIARY_PROC_BASED_CTLS) & VIRQ_VMX_PROC3_IPI_VIRT);
	c->m.pid_table = vfx_get(f, VIRQ_VMCS_PID_POINTER_TABLE);
	c->m.last_pid_index = (uint16_t)vfx_get(f, VIRQ_VMCS_LAST_PID_POINTER_INDEX);
	for (unsigned i = 0; i < 4; i++)
		c->m.eoi_exit[i] = vfx_get(f, VIRQ_VMCS_EOI_EXIT_BITMAP0 + 2U * i);
	c->m.rflags_if = (vfx_get(f, VIRQ_VMCS_GUEST_RFLAGS) & VIRQ_VMX_RFLAGS_IF) != 0;
	c->m.interruptibility = (uint32_t)vfx_get(f, VIRQ_VMCS_GUEST_INTERRUPTIBILITY);
	c->m.intr_window_exiting =
		(vfx_get(f, VIRQ_VMCS_PROC_BASED_CTLS) & VIRQ_VMX_PROC_INTR_WINDOW_EXITING) != 0;
	assert_int_equal(vmx_model_vmentry(&c->m), 0);
	c->irq_off = false;
	for (unsigned i = 0; i < c->npending && c->m.in_guest; i++)
		assert_int_equal(vmx_model_ext_intr(&c->m, c->pending[i]), 0);
	c->npending = 0;
}

/* The model's last exit goes back to the glue: page and RVI/SVI as the
 * CPU left them, the exit fields, virq_vmx_handle_exit(). */
static enum virq_vmx_exit_action rig_exit(struct rig *r)
{
	struct pcpu *c = &r->cpu[r->on];
	const struct vmx_model_ev *ev = &c->m.log.ev[c->m.log.n - 1];
	struct vfx *f = r->f;

	assert_false(c->m.in_guest);
	assert_int_equal(ev->kind, VMX_MODEL_EV_EXIT);
	memcpy(f->page, c->m.vapic, VMX_MODEL_PAGE);
	vfx_set(f, VIRQ_VMCS_GUEST_INTR_STATUS, c->m.rvi | (uint64_t)c->m.svi << 8);
	vfx_set(f, VIRQ_VMCS_EXIT_INTR_INFO, ev->c);
	return vfx_exit(f, ev->a, 0, 0, 0, ev->b);
}

/* The guest runs on pCPU @cpu until nothing is delivered any more:
 * each delivered vector is EOIed by an xAPIC write to 0xB0. */
static void guest_run(struct rig *r)
{
	struct pcpu *c = &r->cpu[r->on];

	while (c->m.in_guest && vmx_model_boundary(&c->m) == 1)
		assert_int_equal(vmx_model_mmio_write(&c->m, VMX_MODEL_VEOI, 0), 0);
}

/* The model's log of pCPU @cpu is exactly the given (kind, a) pairs. */
static void expect_log(struct rig *r, int cpu, const unsigned *kv, unsigned n)
{
	const struct vmx_model_log *log = &r->cpu[cpu].m.log;

	assert_int_equal(log->lost, 0);
	if (log->n != n / 2) {
		for (unsigned i = 0; i < log->n; i++)
			print_message("  ev %u: kind %d a %#x b %#llx c %#x\n", i, log->ev[i].kind,
				      log->ev[i].a, (unsigned long long)log->ev[i].b, log->ev[i].c);
	}
	assert_int_equal(log->n, n / 2);
	for (unsigned i = 0; i < n / 2; i++) {
		assert_int_equal(log->ev[i].kind, kv[2 * i]);
		assert_int_equal(log->ev[i].a, kv[2 * i + 1]);
	}
}

#define EXPECT_MODEL(r, cpu, ...)                                                                  \
	do {                                                                                       \
		const unsigned kv_[] = { __VA_ARGS__ };                                            \
		expect_log(r, cpu, kv_, sizeof(kv_) / sizeof(kv_[0]));                             \
	} while (0)

static void clear_logs(struct rig *r)
{
	r->cpu[0].m.log.n = r->cpu[1].m.log.n = 0;
	r->nkicks = 0;
	r->wakes = 0;
}

/* The descriptor as the model reads it. */
static void expect_pid(struct rig *r, bool on, bool sn, uint8_t nv, uint32_t ndst)
{
	assert_int_equal(vmx_model_pid_on(&r->sys, PID_ADDR), on);
	assert_int_equal(vmx_model_pid_sn(&r->sys, PID_ADDR), sn);
	assert_int_equal(vmx_model_pid_nv(&r->sys, PID_ADDR), nv);
	assert_int_equal(vmx_model_pid_ndst(&r->sys, PID_ADDR), ndst);
}

static unsigned pir_count(struct rig *r)
{
	unsigned n = 0;

	for (unsigned v = 0; v < 256; v++)
		n += vmx_model_pid_pir(&r->sys, PID_ADDR, v);
	return n;
}

/* Posts from "another thread" (the kick hook runs on the poster). */
static void post(struct rig *r, uint8_t vector, bool level)
{
	pthread_mutex_lock(&r->lock);
	virq_lapic_post(&r->f->lapic, vector, level);
	pthread_mutex_unlock(&r->lock);
}

/* A host timer interrupt on the vCPU's pCPU while the guest runs. */
static void host_exit(struct rig *r)
{
	assert_int_equal(vmx_model_ext_intr(&r->cpu[r->on].m, TIMER_VEC), 0);
	assert_int_equal(rig_exit(r), VIRQ_VMX_EXIT_HOST_INTR);
	assert_int_equal(r->f->exit.host_vector, TIMER_VEC);
}

/* ---- init ---- */

static void test_pi_init(void **state)
{
	struct rig *r = rig_new(true, false, 2, 5);
	struct vfx *f = r->f;

	(void)state;
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PIN_BASED_CTLS),
			 VIRQ_VMX_PIN_EXT_INTR_EXITING | VIRQ_VMX_PIN_NMI_EXITING |
				 VIRQ_VMX_PIN_VIRTUAL_NMIS | VIRQ_VMX_PIN_POSTED_INTR);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_POSTED_INTR_NV), NV);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_POSTED_INTR_DESC_ADDR), 0x1000);
	assert_int_equal(PID_ADDR, 0x1000);
	/* Suppressed until the first load: NV set, NDST 0, SN set. */
	expect_pid(r, false, true, NV, 0);
	assert_int_equal(virq_vmx_pi_get_state(&f->vx), VIRQ_VMX_PI_PREEMPTED);
	/* A post before the first load raises nothing and stays in PIR. */
	post(r, 0x45, false);
	assert_int_equal(r->nkicks, 0);
	assert_true(vmx_model_pid_pir(&r->sys, PID_ADDR, 0x45));
	rig_load(r, 1);
	expect_pid(r, true, false, NV, 5U << 8);
	assert_int_equal(virq_vmx_pi_get_state(&f->vx), VIRQ_VMX_PI_ROOT);
	/* An ID the host's xAPIC mode cannot name: refused, nothing changed. */
	assert_int_equal(virq_vmx_pi_load(&f->vx, 0x100), -VIRQ_EINVAL);
	expect_pid(r, true, false, NV, 5U << 8);
	assert_int_equal(virq_vmx_pi_load(NULL, 1), -VIRQ_EINVAL);
	assert_int_equal(virq_vmx_pi_put(NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_vmx_pi_block(NULL), -VIRQ_EINVAL);
	/* The first entry folds it; the model delivers it. */
	assert_int_equal(rig_prepare(r), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x45);
	expect_pid(r, false, false, NV, 5U << 8);
	rig_enter(r);
	guest_run(r);
	EXPECT_MODEL(r, 1, VMX_MODEL_EV_DELIVER, 0x45);
	rig_free(r);

	r = rig_new(true, true, 0x102, 0x10005);
	assert_int_equal(virq_vmx_pi_load(&r->f->vx, 0xFFFFFFFFU), -VIRQ_EINVAL);
	rig_load(r, 1);
	expect_pid(r, false, false, NV, 0x10005);
	rig_free(r);
}

static void test_pi_init_refused(void **state)
{
	struct vfx *f = vfx_alloc();
	struct virq_vmx_config base = {
		.size = sizeof(base),
		.level = VIRQ_VMX_LEVEL_APICV,
		.flags = VIRQ_VMX_F_ACK_INTR_ON_EXIT | VIRQ_VMX_F_POSTED_INTR,
		.virtual_apic_addr = VFX_VAPIC,
		.pi_desc_addr = 0x1000,
		.pi_vector = NV,
		.pi_wakeup_vector = WAKEUP,
	};
	struct virq_vmx_config c;
	static struct virq_vmx_vcpu before;

	(void)state;
	memset(&f->vx, 0x5A, sizeof(f->vx));
	before = f->vx;
	f->nlog = 0;
#define REFUSED(mod, rc)                                                                           \
	do {                                                                                       \
		c = base;                                                                          \
		mod;                                                                               \
		assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &c),  \
				 rc);                                                              \
		assert_int_equal(f->nlog, 0);                                                      \
	} while (0)
	REFUSED(c.level = VIRQ_VMX_LEVEL_TPR_SHADOW, -VIRQ_EINVAL);
	REFUSED(c.flags &= ~VIRQ_VMX_F_ACK_INTR_ON_EXIT, -VIRQ_EINVAL);
	REFUSED(c.pi_vector = 31, -VIRQ_EINVAL);
	REFUSED(c.pi_wakeup_vector = 0, -VIRQ_EINVAL);
	REFUSED(c.pi_wakeup_vector = NV, -VIRQ_EINVAL);
	REFUSED(c.pi_desc_addr = 0, -VIRQ_EINVAL);
	REFUSED(c.pi_desc_addr = 0x1020, -VIRQ_EINVAL);
	REFUSED(c.ipiv_last_index = 1, -VIRQ_EINVAL); /* without VIRQ_VMX_F_IPIV */
	REFUSED(c.ipiv_table_addr = 0x2000, -VIRQ_EINVAL);
	REFUSED(c.reserved4 = 1, -VIRQ_EINVAL);
	REFUSED(c.flags = VIRQ_VMX_F_HOST_X2APIC, -VIRQ_EINVAL);
	assert_memory_equal(&f->vx, &before, sizeof(before));
	/* IA32_VMX_BASIC[48]: a descriptor above 4 GiB is out of reach. */
	f->msr[0] |= VIRQ_VMX_BASIC_ADDR_32BIT;
	REFUSED(c.pi_desc_addr = 0x100000000ULL, -VIRQ_EINVAL);
	f->msr[0] &= ~VIRQ_VMX_BASIC_ADDR_32BIT;
	/* Pin-based bit 7 not allowed 1: ENOTSUP, reported, nothing written. */
	f->msr[0x0D] &= ~((uint64_t)VIRQ_VMX_PIN_POSTED_INTR << 32);
	REFUSED((void)0, -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_POSTED_INTR);
	/* Without the flag the fields are ignored and bit 7 is cleared. */
	vfx_set(f, VIRQ_VMCS_PIN_BASED_CTLS, VIRQ_VMX_PIN_POSTED_INTR);
	c = base;
	c.flags = VIRQ_VMX_F_ACK_INTR_ON_EXIT;
	c.pi_vector = 3;
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &c), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PIN_BASED_CTLS), VIRQ_VMX_PIN_EXT_INTR_EXITING);
	assert_false(vfx_wrote(f, VIRQ_VMCS_POSTED_INTR_NV, NULL));
	assert_int_equal(f->lapic.pi.control, 0);
#undef REFUSED
	free(f);
}

/* ---- posting while the target runs in VMX non-root operation ---- */

static void test_pi_running(void **state)
{
	struct rig *r = rig_new(true, false, 2, 5);
	struct vfx *f = r->f;

	(void)state;
	rig_load(r, 0);
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	assert_int_equal(virq_vmx_pi_get_state(&f->vx), VIRQ_VMX_PI_GUEST);
	/* One post: NV to NDST (2), the CPU moves PIR to VIRR and delivers. */
	post(r, 0x41, false);
	assert_int_equal(r->nkicks, 1);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_NOTIFY);
	assert_int_equal(r->kicks[0].dest, 2);
	expect_pid(r, false, false, NV, 2U << 8);
	assert_int_equal(pir_count(r), 0);
	guest_run(r);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_LAPIC_EOI, 0, VMX_MODEL_EV_DELIVER, 0x41);
	/* Three posts while the notification is in flight: one notification
	 * (ON was set), the three vectors delivered by priority, once each. */
	clear_logs(r);
	r->defer = true;
	post(r, 0x52, false);
	post(r, 0x61, false);
	post(r, 0x5F, false);
	post(r, 0x61, false);
	assert_int_equal(r->nkicks, 1);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_NOTIFY);
	expect_pid(r, true, false, NV, 2U << 8);
	assert_int_equal(pir_count(r), 3);
	rig_flush(r);
	r->defer = false;
	expect_pid(r, false, false, NV, 2U << 8);
	assert_int_equal(pir_count(r), 0);
	guest_run(r);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_LAPIC_EOI, 0, VMX_MODEL_EV_DELIVER, 0x61,
		     VMX_MODEL_EV_DELIVER, 0x5F, VMX_MODEL_EV_DELIVER, 0x52);
	/* An exit: the LAPIC takes the page back, nothing is left pending. */
	clear_logs(r);
	host_exit(r);
	assert_int_equal(virq_vmx_pi_get_state(&f->vx), VIRQ_VMX_PI_ROOT);
	assert_int_equal(virq_lapic_rvi(&f->lapic), 0);
	assert_int_equal(virq_lapic_svi(&f->lapic), 0);
	assert_false(virq_lapic_has_posted(&f->lapic));
	/* In root mode a post needs nothing: the next entry folds it. */
	post(r, 0x70, false);
	assert_int_equal(r->nkicks, 1);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_NONE);
	assert_int_equal(rig_prepare(r), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x70);
	rig_enter(r);
	guest_run(r);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR, VMX_MODEL_EV_DELIVER, 0x70);
	rig_free(r);
}

/* Work the notification does not carry (a level-triggered vector, an NMI)
 * makes the guest exit instead: the CPU would move PIR only. */
static void test_pi_running_event_exits(void **state)
{
	struct rig *r = rig_new(true, false, 2, 5);
	struct vfx *f = r->f;

	(void)state;
	rig_load(r, 0);
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	post(r, 0x66, true);
	assert_int_equal(r->nkicks, 1);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_EXIT);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR);
	assert_int_equal(r->cpu[0].m.log.ev[0].c, 0x80000000U | KICK_VEC);
	assert_int_equal(rig_exit(r), VIRQ_VMX_EXIT_HOST_INTR);
	assert_int_equal(f->exit.host_vector, KICK_VEC);
	assert_int_equal(rig_prepare(r), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x66);
	/* Level-triggered: its EOI exits (EOI-exit bitmap). */
	assert_int_equal(vfx_get(f, VIRQ_VMCS_EOI_EXIT_BITMAP1), 1ULL << (0x66 - 64));
	clear_logs(r);
	rig_enter(r);
	assert_int_equal(vmx_model_boundary(&r->cpu[0].m), 1);
	assert_int_equal(vmx_model_mmio_write(&r->cpu[0].m, VMX_MODEL_VEOI, 0), 0);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_DELIVER, 0x66, VMX_MODEL_EV_EXIT,
		     VMX_MODEL_EXIT_EOI_INDUCED);
	assert_int_equal(r->cpu[0].m.log.ev[1].b, 0x66);
	assert_int_equal(rig_exit(r), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(f->n_eois, 1);
	assert_int_equal(f->eois[0], 0x66);
	/* An edge post and a level post while in guest: both kicks, the edge
	 * one first (notification), then the exit. */
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	clear_logs(r);
	post(r, 0x44, false);
	post(r, 0x67, true);
	assert_int_equal(r->nkicks, 2);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_NOTIFY);
	assert_int_equal(r->kicks[1].action, VIRQ_VMX_PI_EXIT);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_LAPIC_EOI, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR);
	rig_free(r);
}

/* ---- the lost-PI-on-entry class: a post between the fold and entry ---- */

static void post_between_fold_and_entry(bool posted)
{
	struct rig *r = rig_new(posted, false, 2, 5);
	struct vfx *f = r->f;

	rig_load(r, 0);
	assert_int_equal(rig_prepare(r), 0);
	/* The fold is done (RVI 0), interrupts are off, the guest not entered. */
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0);
	post(r, 0x91, false);
	assert_int_equal(r->nkicks, 1);
	assert_int_equal(r->kicks[0].action, posted ? VIRQ_VMX_PI_NOTIFY : VIRQ_VMX_PI_EXIT);
	assert_int_equal(r->cpu[0].npending, 1);
	rig_enter(r);
	if (posted) {
		/* The held notification is processed in non-root operation. */
		guest_run(r);
		EXPECT_MODEL(r, 0, VMX_MODEL_EV_LAPIC_EOI, 0, VMX_MODEL_EV_DELIVER, 0x91);
		assert_int_equal(pir_count(r), 0);
	} else {
		/* The kick makes the guest exit at once; the next entry has it. */
		EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR);
		assert_int_equal(rig_exit(r), VIRQ_VMX_EXIT_HOST_INTR);
		assert_int_equal(rig_prepare(r), 0);
		assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x91);
		rig_enter(r);
		guest_run(r);
		EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR, VMX_MODEL_EV_DELIVER,
			     0x91);
	}
	rig_free(r);
}

/* The same, landing inside virq_vmx_prepare_entry(): right after it wrote
 * RVI (0x0810), i.e. after the fold that RVI comes from. */
static void post_inside_prepare(bool posted)
{
	struct rig *r = rig_new(posted, false, 2, 5);
	struct vfx *f = r->f;

	rig_load(r, 0);
	post(r, 0x50, false);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_NONE);
	r->post_at = VIRQ_VMCS_GUEST_INTR_STATUS;
	r->post_vec = 0x91;
	assert_int_equal(rig_prepare(r), 0);
	assert_int_equal(r->post_vec, 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x50);
	assert_int_equal(r->nkicks, 2);
	assert_int_equal(r->kicks[1].action, posted ? VIRQ_VMX_PI_NOTIFY : VIRQ_VMX_PI_EXIT);
	rig_enter(r);
	if (posted) {
		guest_run(r);
		EXPECT_MODEL(r, 0, VMX_MODEL_EV_LAPIC_EOI, 0, VMX_MODEL_EV_DELIVER, 0x91,
			     VMX_MODEL_EV_DELIVER, 0x50);
	} else {
		/* Entry evaluates RVI 0x50 first; the held kick then exits
		 * before any instruction boundary. */
		EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR);
		assert_int_equal(rig_exit(r), VIRQ_VMX_EXIT_HOST_INTR);
		assert_int_equal(rig_prepare(r), 0);
		assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x91);
		rig_enter(r);
		guest_run(r);
		EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR, VMX_MODEL_EV_DELIVER,
			     0x91, VMX_MODEL_EV_DELIVER, 0x50);
	}
	assert_int_equal(pir_count(r), 0);
	rig_free(r);
}

static void test_pi_post_before_entry(void **state)
{
	(void)state;
	post_between_fold_and_entry(true);
	post_between_fold_and_entry(false);
	post_inside_prepare(true);
	post_inside_prepare(false);
}

/* ---- preempted: SN set, no notification, the entry folds ---- */

static void test_pi_preempted(void **state)
{
	struct rig *r = rig_new(true, false, 2, 5);
	struct vfx *f = r->f;

	(void)state;
	rig_load(r, 0);
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	host_exit(r);
	assert_int_equal(virq_vmx_pi_put(&f->vx), 0);
	r->on = -1;
	expect_pid(r, false, true, NV, 2U << 8);
	assert_int_equal(virq_vmx_pi_get_state(&f->vx), VIRQ_VMX_PI_PREEMPTED);
	clear_logs(r);
	post(r, 0x61, false);
	post(r, 0x62, false);
	/* Posts set PIR only: no kick, no ON. */
	assert_int_equal(r->nkicks, 0);
	expect_pid(r, false, true, NV, 2U << 8);
	assert_int_equal(pir_count(r), 2);
	/* Back on the same CPU: SN clear, ON raised for the PIR that filled. */
	rig_load(r, 0);
	expect_pid(r, true, false, NV, 2U << 8);
	assert_int_equal(rig_prepare(r), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x62);
	expect_pid(r, false, false, NV, 2U << 8);
	assert_int_equal(pir_count(r), 0);
	rig_enter(r);
	guest_run(r);
	/* No notification anywhere: the fold before entry carried both. */
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_DELIVER, 0x62, VMX_MODEL_EV_DELIVER, 0x61);
	EXPECT_MODEL(r, 1);
	assert_int_equal(r->nkicks, 0);
	rig_free(r);
}

/* A vCPU preempted with prepare_entry never told (no load): the entry
 * re-arms the descriptor so the CPU's notifications are not suppressed. */
static void test_pi_entry_rearms(void **state)
{
	struct rig *r = rig_new(true, false, 2, 5);
	struct vfx *f = r->f;

	(void)state;
	rig_load(r, 0);
	assert_int_equal(virq_vmx_pi_put(&f->vx), 0);
	expect_pid(r, false, true, NV, 2U << 8);
	assert_int_equal(rig_prepare(r), 0);
	expect_pid(r, false, false, NV, 2U << 8);
	rig_enter(r);
	post(r, 0x58, false);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_NOTIFY);
	guest_run(r);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_LAPIC_EOI, 0, VMX_MODEL_EV_DELIVER, 0x58);
	rig_free(r);
}

/* ---- blocked: the wakeup vector ---- */

static void test_pi_blocked(void **state)
{
	struct rig *r = rig_new(true, false, 2, 5);
	struct vfx *f = r->f;
	uint64_t lo, hi;

	(void)state;
	rig_load(r, 0);
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	/* The guest halts (HLT exiting). */
	vfx_set(f, VIRQ_VMCS_EXIT_REASON, VIRQ_VMX_EXIT_REASON_HLT);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_HLT, 0, 0, 1, 0), VIRQ_VMX_EXIT_HALT);
	r->cpu[0].m.in_guest = false; /* the model's CPU left the guest with it */
	assert_int_equal(rig_prepare(r), VIRQ_VMX_ENTRY_HALTED);
	r->cpu[0].irq_off = false;
	assert_int_equal(virq_vmx_pi_get_state(&f->vx), VIRQ_VMX_PI_ROOT);
	assert_int_equal(virq_vmx_pi_block(&f->vx), 0);
	expect_pid(r, false, false, WAKEUP, 2U << 8);
	assert_false(virq_vmx_pi_should_wake(&f->vx));
	/* A device posts through a posted-format IRTE while the vCPU sleeps:
	 * the remapping unit sends the wakeup vector to NDST[15:8]. */
	clear_logs(r);
	lo = vmx_model_irte_lo(0x75, false, PID_ADDR);
	hi = vmx_model_irte_hi(0x0100, PID_ADDR);
	assert_int_equal(vmx_model_vtd_post(&r->sys, &r->cpu[0].m.log, lo, hi),
			 VMX_MODEL_VTD_POSTED);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_NOTIFY, WAKEUP);
	assert_int_equal(r->cpu[0].m.log.ev[0].b, 2);
	assert_int_equal(r->cpu[0].m.log.ev[0].c, 2U << 8);
	/* The host's wakeup handler asks the glue. */
	assert_true(virq_vmx_pi_should_wake(&f->vx));
	/* A software post meanwhile: ON already set, no kick. */
	post(r, 0x71, false);
	assert_int_equal(r->nkicks, 0);
	/* Woken on the other CPU: NV back, NDST 5, both vectors delivered. */
	rig_load(r, 1);
	expect_pid(r, true, false, NV, 5U << 8);
	assert_int_equal(rig_prepare(r), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x75);
	rig_enter(r);
	guest_run(r);
	EXPECT_MODEL(r, 1, VMX_MODEL_EV_DELIVER, 0x75, VMX_MODEL_EV_DELIVER, 0x71);

	/* Blocked again; a software post wakes the thread directly. */
	host_exit(r);
	clear_logs(r);
	vfx_set(f, VIRQ_VMCS_EXIT_REASON, VIRQ_VMX_EXIT_REASON_HLT);
	assert_int_equal(vfx_exit(f, VIRQ_VMX_EXIT_REASON_HLT, 0, 0, 1, 0), VIRQ_VMX_EXIT_HALT);
	assert_int_equal(rig_prepare(r), VIRQ_VMX_ENTRY_HALTED);
	r->cpu[1].irq_off = false;
	assert_int_equal(virq_vmx_pi_block(&f->vx), 0);
	expect_pid(r, false, false, WAKEUP, 5U << 8);
	/* put() of a blocked vCPU keeps it blocked (it must still be woken). */
	assert_int_equal(virq_vmx_pi_put(&f->vx), 0);
	expect_pid(r, false, false, WAKEUP, 5U << 8);
	post(r, 0x72, false);
	assert_int_equal(r->nkicks, 1);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_WAKE);
	assert_int_equal(r->wakes, 1);
	expect_pid(r, true, false, WAKEUP, 5U << 8);
	rig_load(r, 1);
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	guest_run(r);
	EXPECT_MODEL(r, 1, VMX_MODEL_EV_DELIVER, 0x72);
	EXPECT_MODEL(r, 0);

	/* Work posted before block() published the state: do not sleep. */
	host_exit(r);
	clear_logs(r);
	post(r, 0x73, false); /* root mode: kick answers NONE */
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_NONE);
	assert_int_equal(virq_vmx_pi_block(&f->vx), 1);
	rig_free(r);
}

/* ---- migration with posts in flight ---- */

static void migrate(bool x2)
{
	uint32_t id0 = x2 ? 0x102 : 2, id1 = x2 ? 0x10005 : 5;
	uint32_t nd0 = x2 ? id0 : id0 << 8, nd1 = x2 ? id1 : id1 << 8;
	struct rig *r = rig_new(true, x2, id0, id1);
	struct vfx *f = r->f;

	rig_load(r, 0);
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	expect_pid(r, false, false, NV, nd0);
	/* A post whose notification to CPU 0 is still in flight ... */
	r->defer = true;
	post(r, 0x81, false);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_NOTIFY);
	assert_int_equal(r->kicks[0].dest, id0);
	/* ... when the guest exits on CPU 0 for a host interrupt and the
	 * thread is preempted; the notification then arrives in root mode. */
	r->defer = false;
	host_exit(r);
	assert_int_equal(virq_vmx_pi_put(&f->vx), 0);
	r->on = -1;
	r->defer = true;
	rig_flush(r);
	r->defer = false;
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR, VMX_MODEL_EV_HOST_INTR, NV);
	expect_pid(r, true, true, NV, nd0);
	/* A post while preempted: PIR only. */
	post(r, 0x82, false);
	assert_int_equal(r->nkicks, 1);
	assert_int_equal(pir_count(r), 2);
	/* Scheduled on CPU 1: NDST follows, both vectors delivered there. */
	clear_logs(r);
	rig_load(r, 1);
	expect_pid(r, true, false, NV, nd1);
	assert_int_equal(rig_prepare(r), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_GUEST_INTR_STATUS), 0x82);
	rig_enter(r);
	guest_run(r);
	EXPECT_MODEL(r, 1, VMX_MODEL_EV_DELIVER, 0x82, VMX_MODEL_EV_DELIVER, 0x81);
	EXPECT_MODEL(r, 0);
	/* The next post notifies CPU 1. */
	clear_logs(r);
	post(r, 0x83, false);
	assert_int_equal(r->kicks[0].action, VIRQ_VMX_PI_NOTIFY);
	assert_int_equal(r->kicks[0].dest, id1);
	guest_run(r);
	EXPECT_MODEL(r, 1, VMX_MODEL_EV_LAPIC_EOI, 0, VMX_MODEL_EV_DELIVER, 0x83);
	EXPECT_MODEL(r, 0);
	/* A device posting through an IRTE now notifies CPU 1 with NV. */
	clear_logs(r);
	assert_int_equal(vmx_model_vtd_post(&r->sys, &r->cpu[1].m.log,
					    vmx_model_irte_lo(0x84, false, PID_ADDR),
					    vmx_model_irte_hi(0x0100, PID_ADDR)),
			 VMX_MODEL_VTD_POSTED);
	EXPECT_MODEL(r, 1, VMX_MODEL_EV_NOTIFY, NV);
	assert_int_equal(r->cpu[1].m.log.ev[0].b, id1);
	assert_int_equal(r->cpu[1].m.log.ev[0].c, nd1);
	rig_free(r);
}

static void test_pi_migrate_xapic(void **state)
{
	(void)state;
	migrate(false);
}

static void test_pi_migrate_x2apic(void **state)
{
	(void)state;
	migrate(true);
}

/* ---- IPI virtualization (VIRQ_VMX_F_IPIV) ---- */

static bool intercepted(const uint8_t *bm, uint32_t base, uint32_t msr)
{
	return (bm[base + (msr >> 3)] >> (msr & 7U)) & 1U;
}

static const struct virq_vmx_config ipiv_base = {
	.size = sizeof(struct virq_vmx_config),
	.level = VIRQ_VMX_LEVEL_APICV,
	.flags = VIRQ_VMX_F_ACK_INTR_ON_EXIT | VIRQ_VMX_F_POSTED_INTR | VIRQ_VMX_F_IPIV,
	.virtual_apic_addr = VFX_VAPIC,
	.pi_desc_addr = 0x1000,
	.pi_vector = NV,
	.pi_wakeup_vector = WAKEUP,
	.ipiv_table_addr = 0x123458,
	.ipiv_last_index = 0x1FF,
};

/* The controls, the table and its last index in the VMCS, the embedder's
 * tertiary bits kept; the ICR's MSR write passed in x2APIC mode only, and
 * only with the flag. */
static void test_ipiv_init(void **state)
{
	static uint8_t bm[VIRQ_VMX_MSR_BITMAP_SIZE];
	struct vfx *f = vfx_alloc();
	struct virq_vmx_config c = ipiv_base;

	(void)state;
	c.msr_bitmap = bm;
	f->msr[VIRQ_VMX_MSR_PROCBASED_CTLS3 - 0x480] = VIRQ_VMX_PROC3_IPI_VIRT | 1ULL << 1;
	vfx_set(f, VIRQ_VMCS_TERTIARY_PROC_BASED_CTLS, 1ULL << 1);
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &c), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PROC_BASED_CTLS),
			 VIRQ_VMX_PROC_HLT_EXITING | VIRQ_VMX_PROC_USE_TPR_SHADOW |
				 VIRQ_VMX_PROC_SECONDARY_CTLS | VIRQ_VMX_PROC_TERTIARY_CTLS);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_TERTIARY_PROC_BASED_CTLS),
			 VIRQ_VMX_PROC3_IPI_VIRT | 1ULL << 1);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PID_POINTER_TABLE), 0x123458);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_LAST_PID_POINTER_INDEX), 0x1FF);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PIN_BASED_CTLS) & VIRQ_VMX_PIN_POSTED_INTR,
			 VIRQ_VMX_PIN_POSTED_INTR);
	/* xAPIC mode: every x2APIC MSR exits (the APIC-access page takes the
	 * guest's ICR writes). */
	assert_true(intercepted(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x830));
	vfx_x2apic(f);
	(void)vfx_prepare(f);
	assert_false(intercepted(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x830));
	/* Reading the ICR still exits (the page keeps ICR high at 310H), as
	 * does writing a register next to it. */
	assert_true(intercepted(bm, VIRQ_VMX_MSR_BITMAP_READ_LOW, 0x830));
	assert_true(intercepted(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x831));
	assert_false(intercepted(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x83F));
	free(f);

	/* Without the flag: no tertiary controls, the ICR write exits. */
	f = vfx_alloc();
	c = ipiv_base;
	c.flags &= ~VIRQ_VMX_F_IPIV;
	c.ipiv_table_addr = 0;
	c.ipiv_last_index = 0;
	c.msr_bitmap = bm;
	f->msr[VIRQ_VMX_MSR_PROCBASED_CTLS3 - 0x480] = VIRQ_VMX_PROC3_IPI_VIRT;
	vfx_x2apic(f);
	assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &c), 0);
	assert_int_equal(vfx_get(f, VIRQ_VMCS_PROC_BASED_CTLS) & VIRQ_VMX_PROC_TERTIARY_CTLS, 0);
	assert_false(vfx_wrote(f, VIRQ_VMCS_TERTIARY_PROC_BASED_CTLS, NULL));
	assert_false(vfx_wrote(f, VIRQ_VMCS_PID_POINTER_TABLE, NULL));
	assert_true(intercepted(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x830));
	assert_false(intercepted(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x83F));
	free(f);
}

static void test_ipiv_init_refused(void **state)
{
	struct vfx *f = vfx_alloc();
	struct virq_vmx_config c;

	(void)state;
	f->msr[VIRQ_VMX_MSR_PROCBASED_CTLS3 - 0x480] = VIRQ_VMX_PROC3_IPI_VIRT;
	f->nlog = 0;
#define REFUSED(mod, rc)                                                                           \
	do {                                                                                       \
		c = ipiv_base;                                                                     \
		mod;                                                                               \
		assert_int_equal(virq_vmx_vcpu_init(&f->vx, &f->pol, &f->lapic, &vfx_ops, f, &c),  \
				 rc);                                                              \
		assert_int_equal(f->nlog, 0);                                                      \
	} while (0)
	/* It posts into descriptors: posted interrupts are required. */
	REFUSED(c.flags &= ~VIRQ_VMX_F_POSTED_INTR, -VIRQ_EINVAL);
	REFUSED(c.ipiv_table_addr = 0, -VIRQ_EINVAL);
	REFUSED(c.ipiv_table_addr = 0x123454, -VIRQ_EINVAL);
	/* A caller built with the 64-byte structure cannot give a table. */
	REFUSED(c.size = 64, -VIRQ_EINVAL);
	f->msr[0] |= VIRQ_VMX_BASIC_ADDR_32BIT;
	REFUSED(c.ipiv_table_addr = 0x100000000ULL, -VIRQ_EINVAL);
	f->msr[0] &= ~VIRQ_VMX_BASIC_ADDR_32BIT;
	/* The tertiary control not allowed 1, or the tertiary controls not
	 * activatable: ENOTSUP, reported, nothing written. */
	f->msr[VIRQ_VMX_MSR_PROCBASED_CTLS3 - 0x480] = 1ULL << 1;
	REFUSED((void)0, -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_IPIV);
	f->msr[VIRQ_VMX_MSR_PROCBASED_CTLS3 - 0x480] = VIRQ_VMX_PROC3_IPI_VIRT;
	f->msr[0x0E] &= ~((uint64_t)VIRQ_VMX_PROC_TERTIARY_CTLS << 32);
	REFUSED((void)0, -VIRQ_ENOTSUP);
	assert_int_equal(virq_vmx_missing(&f->vx), VIRQ_VMX_MISSING_IPIV);
#undef REFUSED
	free(f);
}

/*
 * x2APIC ICR writes under IPI virtualization, closed loop: the model (with
 * the controls, table and index the glue wrote) posts a fixed physical IPI
 * itself, and leaves the rest to an APIC-write exit at 300H with the
 * 64-bit value in the page, which the glue's exit sends exactly once. The
 * guest's APIC ID is 0; table[0] is the vCPU's own descriptor.
 */
static void test_ipiv_icr_x2apic(void **state)
{
	struct rig *r = rig_make(true, false, 2, 5, true);
	struct vfx *f = r->f;
	struct vmx_model_cpu *c = &r->cpu[0].m;
	uint64_t icr;

	(void)state;
	vfx_x2apic(f);
	r->table[0] = PID_ADDR | 1U;
	rig_load(r, 0);
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	assert_true(c->ipiv);
	assert_int_equal(c->pid_table, TABLE_PA);
	assert_int_equal(c->last_pid_index, TABLE_LAST);

	/* Fixed, physical, destination 0: posted, notified, no exit. */
	clear_logs(r);
	assert_int_equal(vmx_model_wrmsr(c, 0x830, 0x51), 0);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_NOTIFY, NV);
	assert_int_equal(c->log.ev[0].b, 2);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0); /* the notification arrives */
	assert_int_equal(vmx_model_boundary(c), 1);
	assert_int_equal(vmx_model_wrmsr(c, 0x80B, 0), 0); /* x2APIC EOI */
	assert_int_equal(vmx_model_boundary(c), 0);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_NOTIFY, NV, VMX_MODEL_EV_LAPIC_EOI, 0, VMX_MODEL_EV_DELIVER,
		     0x51);
	/* An exit for something else: the ICR the CPU took is kept, not sent
	 * again. */
	host_exit(r);
	assert_int_equal(f->n_ipis, 0);
	assert_int_equal(virq_lapic_msr_read(&f->lapic, 0x830, &icr), 0);
	assert_int_equal(icr, 0x51);

	/* Logical destination 3: the APIC-write exit, one send. */
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	clear_logs(r);
	assert_int_equal(vmx_model_wrmsr(c, 0x830, 3ULL << 32 | 0x852), 0);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VIRQ_VMX_EXIT_REASON_APIC_WRITE);
	assert_int_equal(c->log.ev[0].b, 0x300);
	assert_int_equal(rig_exit(r), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(f->n_ipis, 1);
	assert_int_equal(f->ipis[0].dest, 3);
	assert_int_equal(f->ipis[0].vector, 0x52);
	assert_int_equal(f->ipis[0].delivery, VIRQ_DM_FIXED);
	assert_int_equal(f->ipis[0].shorthand, VIRQ_SH_NONE);
	assert_true(f->ipis[0].logical);
	assert_true(f->ipis[0].x2apic);
	assert_false(f->ipis[0].trigger_level);
	assert_int_equal(virq_lapic_msr_read(&f->lapic, 0x830, &icr), 0);
	assert_int_equal(icr, 3ULL << 32 | 0x852);
	assert_int_equal(f->page[0x304 / 4], 0); /* the CPU's copy of bits 63:32 */

	/* Physical broadcast (beyond the last index): exit, one send. */
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	clear_logs(r);
	assert_int_equal(vmx_model_wrmsr(c, 0x830, 0xFFFFFFFFULL << 32 | 0x53), 0);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VIRQ_VMX_EXIT_REASON_APIC_WRITE);
	assert_int_equal(rig_exit(r), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(f->n_ipis, 2);
	assert_int_equal(f->ipis[1].dest, 0xFFFFFFFFU);
	assert_int_equal(f->ipis[1].vector, 0x53);
	assert_false(f->ipis[1].logical);

	/* Reserved bit 13 set: the model exits; the WRMSR would #GP, so the
	 * write is dropped: nothing sent, the ICR as it was. */
	assert_int_equal(rig_prepare(r), 0);
	rig_enter(r);
	clear_logs(r);
	assert_int_equal(vmx_model_wrmsr(c, 0x830, 1ULL << 32 | 1U << 13 | 0x54), 0);
	EXPECT_MODEL(r, 0, VMX_MODEL_EV_EXIT, VIRQ_VMX_EXIT_REASON_APIC_WRITE);
	assert_int_equal(rig_exit(r), VIRQ_VMX_EXIT_CONTINUE);
	assert_int_equal(f->n_ipis, 2);
	assert_int_equal(virq_lapic_msr_read(&f->lapic, 0x830, &icr), 0);
	assert_int_equal(icr, 0xFFFFFFFFULL << 32 | 0x53);
	rig_free(r);
}

/* ---- posting from another thread, concurrently ---- */

#define T_POSTS 5000U
#define T_LO 0x20U
#define T_HI 0xEFU

struct tstate {
	struct rig *r;
	uint32_t inflight[256]; /* posted, not delivered yet */
	uint32_t posted, delivered, dup, bad;
	uint32_t done;
};

/* The poster: each vector again only once its last post was delivered, so
 * every post must give exactly one delivery (posts of a pending vector
 * merge, as in an APIC's IRR). */
static void *poster(void *arg)
{
	struct tstate *t = arg;
	unsigned v = T_LO;

	while (__atomic_load_n(&t->posted, __ATOMIC_SEQ_CST) < T_POSTS) {
		unsigned tries = 0;

		while (__atomic_load_n(&t->inflight[v], __ATOMIC_SEQ_CST) && tries++ < T_HI - T_LO)
			v = v == T_HI ? T_LO : v + 1;
		if (__atomic_load_n(&t->inflight[v], __ATOMIC_SEQ_CST)) {
			sched_yield();
			continue;
		}
		__atomic_store_n(&t->inflight[v], 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&t->posted, 1, __ATOMIC_SEQ_CST);
		post(t->r, (uint8_t)v, false);
		v = v == T_HI ? T_LO : v + 1;
		if ((v & 7U) == 0)
			sched_yield();
	}
	__atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Runs the guest a few instruction boundaries, a lock per step so posts
 * and notifications interleave; counts what is delivered. */
static void t_guest(struct tstate *t)
{
	struct rig *r = t->r;
	struct pcpu *c = &r->cpu[r->on];

	for (unsigned i = 0; i < 4; i++) {
		pthread_mutex_lock(&r->lock);
		/* Notifications log an event each: keep the log from filling. */
		if (c->m.in_guest)
			c->m.log.n = 0;
		if (c->m.in_guest && vmx_model_boundary(&c->m) == 1) {
			unsigned v = c->m.log.ev[c->m.log.n - 1].a;

			if (c->m.log.ev[c->m.log.n - 1].kind != VMX_MODEL_EV_DELIVER || v < T_LO ||
			    v > T_HI)
				t->bad++;
			else if (!__atomic_exchange_n(&t->inflight[v], 0, __ATOMIC_SEQ_CST))
				t->dup++;
			t->delivered++;
			vmx_model_mmio_write(&c->m, VMX_MODEL_VEOI, 0);
		}
		pthread_mutex_unlock(&r->lock);
		sched_yield();
	}
}

/* The guest leaves: by its own exit (the kick), a host interrupt, or HLT. */
static void t_exit(struct tstate *t, bool hlt, unsigned *host_intr)
{
	struct rig *r = t->r;
	struct pcpu *c = &r->cpu[r->on];
	struct vfx *f = r->f;
	struct vmx_model_ev ev;
	bool by_model;

	pthread_mutex_lock(&r->lock);
	by_model = !c->m.in_guest;
	if (!by_model && !hlt) {
		/* While this thread was preempted the poster may have sent
		 * more notifications than the log holds (each logs the
		 * dismissing EOI, none logs anything else in the guest): empty
		 * it so the exit is recorded and is its last entry. */
		c->m.log.n = 0;
		c->m.log.lost = 0;
		vmx_model_ext_intr(&c->m, TIMER_VEC);
	}
	c->m.in_guest = false;
	memset(&ev, 0, sizeof(ev));
	if (c->m.log.n)
		ev = c->m.log.ev[c->m.log.n - 1];
	memcpy(f->page, c->m.vapic, VMX_MODEL_PAGE);
	vfx_set(f, VIRQ_VMCS_GUEST_INTR_STATUS, c->m.rvi | (uint64_t)c->m.svi << 8);
	for (unsigned i = 0; i < 2; i++) {
		for (unsigned k = 0; k < r->cpu[i].m.log.n; k++)
			*host_intr += r->cpu[i].m.log.ev[k].kind == VMX_MODEL_EV_HOST_INTR;
		r->cpu[i].m.log.n = 0;
	}
	pthread_mutex_unlock(&r->lock);
	if (!by_model && hlt) {
		vfx_exit(f, VIRQ_VMX_EXIT_REASON_HLT, 0, 0, 1, 0);
		return;
	}
	assert_int_equal(ev.kind, VMX_MODEL_EV_EXIT);
	vfx_set(f, VIRQ_VMCS_EXIT_INTR_INFO, ev.c);
	assert_int_equal(vfx_exit(f, ev.a, 0, 0, 0, ev.b), VIRQ_VMX_EXIT_HOST_INTR);
}

static void test_pi_threads(void **state)
{
	struct rig *r = rig_new(true, false, 2, 5);
	struct tstate *t = calloc(1, sizeof(*t));
	unsigned host_intr = 0, blocks = 0, sleeps = 0, migrations = 0;
	pthread_t th;

	(void)state;
	assert_non_null(t);
	t->r = r;
	r->threaded = true;
	rig_load(r, 0);
	assert_int_equal(pthread_create(&th, NULL, poster, t), 0);
	for (unsigned it = 0;; it++) {
		uint32_t fl;

		if (__atomic_load_n(&t->done, __ATOMIC_SEQ_CST) && t->delivered == t->posted &&
		    !virq_lapic_has_posted(&r->f->lapic))
			break;
		assert_true(it < 10000000U);
		if (it % 7 == 3) {
			/* Preempted, then scheduled on the other CPU. */
			assert_int_equal(virq_vmx_pi_put(&r->f->vx), 0);
			sched_yield();
			rig_load(r, r->on ^ 1);
			migrations++;
		}
		pthread_mutex_lock(&r->lock);
		r->cpu[r->on].irq_off = true;
		pthread_mutex_unlock(&r->lock);
		fl = virq_vmx_prepare_entry(&r->f->vx, &r->f->entry);
		if (fl & VIRQ_VMX_ENTRY_HALTED) {
			struct timespec ts;
			int rc = 0;

			pthread_mutex_lock(&r->lock);
			r->cpu[r->on].irq_off = false;
			r->cpu[r->on].npending = 0; /* host handler: nothing to do */
			pthread_mutex_unlock(&r->lock);
			blocks++;
			if (virq_vmx_pi_block(&r->f->vx) == 0) {
				sleeps++;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 5;
				pthread_mutex_lock(&r->lock);
				while (!virq_lapic_has_posted(&r->f->lapic) && rc == 0)
					rc = pthread_cond_timedwait(&r->woken, &r->lock, &ts);
				pthread_mutex_unlock(&r->lock);
				/* A blocked vCPU with work is always woken. */
				assert_int_equal(rc, 0);
			}
			rig_load(r, r->on);
			continue;
		}
		assert_int_equal(fl, 0);
		pthread_mutex_lock(&r->lock);
		rig_enter(r);
		pthread_mutex_unlock(&r->lock);
		t_guest(t);
		t_exit(t, it % 5 == 0, &host_intr);
	}
	pthread_join(th, NULL);
	print_message("  threads: %u posts, %u delivered, %u dup, %u lost; kicks: %u notify, "
		      "%u exit, %u wake, %u none; %u notifications in root mode, %u blocks "
		      "(%u slept), %u migrations\n",
		      t->posted, t->delivered, t->dup, t->posted - t->delivered + t->dup,
		      r->by_action[VIRQ_VMX_PI_NOTIFY], r->by_action[VIRQ_VMX_PI_EXIT],
		      r->by_action[VIRQ_VMX_PI_WAKE], r->by_action[VIRQ_VMX_PI_NONE], host_intr,
		      blocks, sleeps, migrations);
	assert_int_equal(t->posted, T_POSTS);
	assert_int_equal(t->delivered, T_POSTS);
	assert_int_equal(t->dup, 0);
	assert_int_equal(t->bad, 0);
	for (unsigned v = 0; v < 256; v++)
		assert_int_equal(t->inflight[v], 0);
	/* No event was posted: no kick asked for an exit. */
	assert_int_equal(r->by_action[VIRQ_VMX_PI_EXIT], 0);
	free(t);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pi_init),
		cmocka_unit_test(test_pi_init_refused),
		cmocka_unit_test(test_ipiv_init),
		cmocka_unit_test(test_ipiv_init_refused),
		cmocka_unit_test(test_ipiv_icr_x2apic),
		cmocka_unit_test(test_pi_running),
		cmocka_unit_test(test_pi_running_event_exits),
		cmocka_unit_test(test_pi_post_before_entry),
		cmocka_unit_test(test_pi_preempted),
		cmocka_unit_test(test_pi_entry_rearms),
		cmocka_unit_test(test_pi_blocked),
		cmocka_unit_test(test_pi_migrate_xapic),
		cmocka_unit_test(test_pi_migrate_x2apic),
		cmocka_unit_test(test_pi_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
