/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target (fuzz-vmx-pi-glue): the VMX glue's posted-interrupt
 * scheduling states (<virq/vmx_pi.h>) in a closed loop with the executable
 * model of the hardware (tests/vmx/model). One vCPU (LAPIC, policy, glue
 * at APICv level with VIRQ_VMX_F_POSTED_INTR, a VMCS field store) runs on
 * one of two model processors; the LAPIC's own descriptor is the PID the
 * model processes and the model's IOMMU posts into. The glue's kick answer
 * is carried out as an embedder would: the notification vector to the
 * physical APIC ID it names, a wakeup of the blocked thread. A processor
 * holds an IPI while its interrupts are off (from the glue's prepare to
 * VM entry), as a physical APIC does.
 *
 * Other threads are interleaved by whole operations; test_pi.c and
 * test_pi_stress.c run real threads. Input: byte 0: bit 0 the host's
 * APICs in x2APIC mode; bytes 1-2 the two processors' APIC IDs (made
 * distinct). Then records of an op byte (modulo OP_COUNT) and two
 * argument bytes; vectors are 32 + a0 % 208 (below the host's vectors).
 *   OP_POST     another thread: virq_lapic_post(vector), the kick hook
 *   OP_VTD      the model's IOMMU posts vector (URG a1 bit 0) through a
 *               posted IRTE pointing at the LAPIC's descriptor
 *   OP_ARRIVE   the oldest IPI in flight reaches its processor: in non-root
 *               operation NV is posted-interrupt processing and any other
 *               vector an exit; in root operation the host's handler (the
 *               wakeup vector's asks virq_vmx_pi_should_wake())
 *   OP_PREPARE  the vCPU thread, interrupts off: virq_vmx_prepare_entry()
 *   OP_ENTER    after a prepare that let the guest run: VM entry (the
 *               page, RVI/SVI and controls as the glue left them), then
 *               the IPIs held meanwhile
 *   OP_BOUNDARY an instruction boundary in the guest
 *   OP_EOI      the guest's EOI (x2APIC MSR write, EOI virtualization)
 *   OP_EXIT     the guest exits: a host interrupt, or HLT (a1 bit 0, with
 *               no vector in service); virq_vmx_handle_exit()
 *   OP_BLOCK    after a halted prepare: virq_vmx_pi_block(); when it says
 *               work is waiting, virq_vmx_pi_load() again at once
 *   OP_PREEMPT  the thread is descheduled: virq_vmx_pi_put()
 *   OP_LOAD     the thread runs (again) on processor a0 bit 0 (a wakeup, a
 *               resume or a migration): virq_vmx_pi_load()
 *
 * Invariants, after every op:
 *  - no interrupt lost or delivered twice: shadows of PIR (a post sets
 *    its bit, merging with one already set) and of IRR (a PIR bit that
 *    clears was folded into it, merging with one already there; a
 *    delivery clears it and must find it set) equal the descriptor's PIR
 *    and the LAPIC page's IRR, or the model's VIRR while the guest runs;
 *    after draining, deliveries = posts - merges;
 *  - a notification only from the post that turned ON from 0 to 1 (the
 *    LAPIC's kick, the IOMMU's rule), never while ON was set; NOTIFY names
 *    the processor the vCPU was loaded on; no EXIT answer (only edge
 *    vectors are posted);
 *  - the descriptor follows the state: NV the notification vector, SN
 *    clear and NDST the loaded processor in ROOT and GUEST; SN set in
 *    PREEMPTED; NV the wakeup vector, SN clear in BLOCKED;
 *  - nothing stranded: with SN clear a non-empty PIR has ON set; in
 *    non-root operation ON set means NV is in flight to (or held by) the
 *    vCPU's processor;
 *  - a blocked vCPU with posted work is woken: by the WAKE answer, or by
 *    the wakeup vector in flight to a processor whose handler wakes it.
 * A failed check traps. FUZZ_PI_TRACE=1 prints every op.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include <virq/regs/lapic.h>
#include <virq/vmx_pi.h>

#include "../../tests/vmx/model/model.h"
#include "vmcs_store.h"

#define NV 0xF2U
#define WAKEUP 0xF3U
#define TIMER_VEC 0xEFU
#define MAX_FLIGHT 32U
#define MAX_HELD 8U

enum {
	OP_POST,
	OP_VTD,
	OP_ARRIVE,
	OP_PREPARE,
	OP_ENTER,
	OP_BOUNDARY,
	OP_EOI,
	OP_EXIT,
	OP_BLOCK,
	OP_PREEMPT,
	OP_LOAD,
	OP_COUNT
};

struct ipi {
	uint8_t vector;
	uint32_t dest; /* physical APIC ID */
};

struct pcpu {
	struct vmx_model_cpu m;
	uint32_t id;
	uint8_t held[MAX_HELD]; /* IPIs held while interrupts are off */
	unsigned nheld;
};

static struct {
	struct vmx_model_sys sys;
	struct vmx_model_log iommu;
	struct pcpu cpu[2];
	unsigned on;   /* the processor the vCPU is loaded on */
	bool prepared; /* between a prepare that let it run and VM entry */
	bool halted;   /* the last prepare said VIRQ_VMX_ENTRY_HALTED */
	bool woken;    /* the thread was woken since it blocked */
	struct ipi flight[MAX_FLIGHT];
	unsigned nflight;
	bool pir[256]; /* shadow of the descriptor's PIR */
	bool irr[256]; /* shadow of IRR: the LAPIC page's, the model's VIRR in the guest */
	unsigned long posts, merged, delivered;
	bool in_post; /* the kick hook runs inside a post */
	bool kicked;
} S;

/* The LAPIC keeps a pointer to its ops: the host hooks with our kick. */
static struct virq_lapic_ops kops;

static uint64_t pid_addr(void)
{
	return (uint64_t)((uint8_t *)&g->lapic - (uint8_t *)g);
}

static uint32_t ndst_of(uint32_t id)
{
	return S.sys.host_x2apic ? id : (id & 0xFFU) << 8;
}

static void send(uint8_t vector, uint32_t dest)
{
	CHECK(S.nflight < MAX_FLIGHT);
	S.flight[S.nflight].vector = vector;
	S.flight[S.nflight++].dest = dest;
}

/* The embedder's kick hook: the glue's answer, carried out. */
static void k_kick(void *ctx)
{
	uint32_t dest = 0xDEADBEEF;
	enum virq_vmx_pi_action a = virq_vmx_pi_kick(&g->vx, &dest);

	(void)ctx;
	CHECK(S.in_post && !S.kicked);
	S.kicked = true;
	switch (a) {
	case VIRQ_VMX_PI_NOTIFY:
		CHECK(virq_vmx_pi_get_state(&g->vx) == VIRQ_VMX_PI_GUEST);
		CHECK(dest == S.cpu[S.on].id);
		send(NV, dest);
		break;
	case VIRQ_VMX_PI_WAKE:
		CHECK(virq_vmx_pi_get_state(&g->vx) == VIRQ_VMX_PI_BLOCKED);
		S.woken = true;
		break;
	case VIRQ_VMX_PI_NONE:
		CHECK(virq_vmx_pi_get_state(&g->vx) == VIRQ_VMX_PI_ROOT ||
		      virq_vmx_pi_get_state(&g->vx) == VIRQ_VMX_PI_PREEMPTED);
		break;
	default:
		CHECK(!"an exit asked for an edge vector");
	}
}

static bool pir_any(void)
{
	for (unsigned v = 0; v < 256; v++)
		if (vmx_model_pid_pir(&S.sys, pid_addr(), v))
			return true;
	return false;
}

/* A post of @v: a bit already in PIR merges with it (by design). */
static void posted(uint8_t v)
{
	if (!S.pir[v]) {
		S.pir[v] = true;
		S.posts++;
	}
}

static bool running(void);

/* IRR where it lives now: the model's VIRR in the guest, else the page. */
static bool irr_bit(unsigned v)
{
	if (running())
		return vmx_model_bit(&S.cpu[S.on].m, VMX_MODEL_VIRR, v);
	return (g->page[(0x200U + 0x10U * (v / 32U)) / 4U] >> (v % 32U)) & 1U;
}

/* PIR bits only clear by a fold into IRR (posted-interrupt processing,
 * the glue's sync): a bit already in IRR merges with it. */
static void shadow_fold(void)
{
	for (unsigned v = 0; v < 256; v++) {
		if (!S.pir[v] || vmx_model_pid_pir(&S.sys, pid_addr(), v))
			continue;
		if (S.irr[v])
			S.merged++;
		S.irr[v] = true;
		S.pir[v] = false;
	}
}

static void post(uint8_t v)
{
	bool on = vmx_model_pid_on(&S.sys, pid_addr());

	S.in_post = true;
	S.kicked = false;
	virq_lapic_post(&g->lapic, v, false);
	S.in_post = false;
	/* A kick only where this post turned ON from 0 to 1. */
	CHECK(!S.kicked || !on);
	posted(v);
}

static void vtd_post(uint8_t v, bool urgent)
{
	uint64_t p = pid_addr();
	bool on = vmx_model_pid_on(&S.sys, p);

	S.iommu.n = 0;
	CHECK(vmx_model_vtd_post(&S.sys, &S.iommu, vmx_model_irte_lo(v, urgent, p),
				 vmx_model_irte_hi(0x10, p)) == VMX_MODEL_VTD_POSTED);
	CHECK(S.iommu.n <= 1);
	if (S.iommu.n) {
		CHECK(!on);
		CHECK(S.iommu.ev[0].kind == VMX_MODEL_EV_NOTIFY);
		send((uint8_t)S.iommu.ev[0].a, (uint32_t)S.iommu.ev[0].b);
	}
	posted(v);
}

/* The model's last exit back to the glue: page, RVI/SVI, exit fields. */
static void glue_exit(struct pcpu *c, uint32_t reason, uint32_t intr_info, unsigned len,
		      enum virq_vmx_exit_action want)
{
	memcpy(g->page, c->m.vapic, sizeof(g->page));
	set(g, VIRQ_VMCS_GUEST_INTR_STATUS, c->m.rvi | (uint64_t)c->m.svi << 8);
	set(g, VIRQ_VMCS_ENTRY_INTR_INFO,
	    get(g, VIRQ_VMCS_ENTRY_INTR_INFO) & ~(uint64_t)VIRQ_VMX_INTR_VALID);
	set(g, VIRQ_VMCS_EXIT_REASON, reason);
	set(g, VIRQ_VMCS_EXIT_INTR_INFO, intr_info);
	set(g, VIRQ_VMCS_IDT_VECTORING_INFO, 0);
	set(g, VIRQ_VMCS_EXIT_INSN_LEN, len);
	set(g, VIRQ_VMCS_EXIT_QUALIFICATION, 0);
	{
		struct virq_vmx_exit x;

		enum virq_vmx_exit_action act;

		memset(&x, 0, sizeof(x));
		act = virq_vmx_handle_exit(&g->vx, &x);
		if (want == VIRQ_VMX_EXIT_HALT && act == VIRQ_VMX_EXIT_CONTINUE) {
			/* HLT with an interrupt waiting does not halt. */
			bool any = pir_any();

			for (unsigned v = 0; v < 256; v++)
				any |= irr_bit(v);
			CHECK(any);
		} else {
			CHECK(act == want);
		}
	}
}

/* An interrupt reaches processor @c (not held). */
static void take(struct pcpu *c, uint8_t vector)
{
	c->m.log.n = 0;
	CHECK(vmx_model_ext_intr(&c->m, vector) == 0);
	CHECK(c->m.log.n == 1);
	if (c->m.log.ev[0].kind == VMX_MODEL_EV_LAPIC_EOI) {
		/* Posted-interrupt processing: ON clear, PIR into VIRR. */
		CHECK(vector == NV && c == &S.cpu[S.on]);
		CHECK(!vmx_model_pid_on(&S.sys, pid_addr()) && !pir_any());
		return;
	}
	if (c->m.log.ev[0].kind == VMX_MODEL_EV_EXIT) {
		CHECK(c->m.log.ev[0].a == VMX_MODEL_EXIT_EXT_INTR);
		glue_exit(c, c->m.log.ev[0].a, c->m.log.ev[0].c, 0, VIRQ_VMX_EXIT_HOST_INTR);
		return;
	}
	CHECK(c->m.log.ev[0].kind == VMX_MODEL_EV_HOST_INTR);
	/* The host's handlers: the wakeup vector's wakes a blocked vCPU with
	 * work; NV in root operation and anything else need nothing (the
	 * next prepare folds PIR). */
	if (vector == WAKEUP && virq_vmx_pi_should_wake(&g->vx))
		S.woken = true;
}

static void arrive(void)
{
	struct ipi i;
	struct pcpu *c = NULL;

	if (!S.nflight)
		return;
	i = S.flight[0];
	memmove(&S.flight[0], &S.flight[1], (S.nflight - 1) * sizeof(S.flight[0]));
	S.nflight--;
	for (unsigned k = 0; k < 2; k++)
		if (S.cpu[k].id == i.dest)
			c = &S.cpu[k];
	CHECK(c != NULL);
	if (S.prepared && c == &S.cpu[S.on]) {
		/* One IRR bit per vector in the physical APIC. */
		for (unsigned k = 0; k < c->nheld; k++)
			if (c->held[k] == i.vector)
				return;
		CHECK(c->nheld < MAX_HELD);
		c->held[c->nheld++] = i.vector;
		return;
	}
	take(c, i.vector);
}

static bool running(void)
{
	return S.cpu[S.on].m.in_guest;
}

static void prepare(void)
{
	uint32_t fl;
	struct virq_vmx_entry e;

	if (running() || S.prepared)
		return;
	if (virq_vmx_pi_get_state(&g->vx) == VIRQ_VMX_PI_BLOCKED ||
	    virq_vmx_pi_get_state(&g->vx) == VIRQ_VMX_PI_PREEMPTED)
		return; /* not on a CPU: OP_LOAD first */
	memset(&e, 0, sizeof(e));
	fl = virq_vmx_prepare_entry(&g->vx, &e);
	S.halted = (fl & VIRQ_VMX_ENTRY_HALTED) != 0;
	CHECK(fl == 0 || fl == VIRQ_VMX_ENTRY_HALTED);
	if (fl)
		return;
	CHECK(virq_vmx_pi_get_state(&g->vx) == VIRQ_VMX_PI_GUEST);
	/* The fold took every posted vector: ON clear. */
	CHECK(!vmx_model_pid_on(&S.sys, pid_addr()));
	S.prepared = true;
}

static void enter(void)
{
	struct pcpu *c = &S.cpu[S.on];
	struct vmx_model_cpu *m = &c->m;
	uint32_t pin = (uint32_t)get(g, VIRQ_VMCS_PIN_BASED_CTLS);
	uint32_t sec = (uint32_t)get(g, VIRQ_VMCS_PROC_BASED_CTLS2);
	uint64_t st = get(g, VIRQ_VMCS_GUEST_INTR_STATUS);

	if (!S.prepared)
		return;
	memcpy(m->vapic, g->page, VMX_MODEL_PAGE);
	m->rvi = (uint8_t)st;
	m->svi = (uint8_t)(st >> 8);
	m->vid = (sec & VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY) != 0;
	m->apic_reg_virt = (sec & VIRQ_VMX_PROC2_APIC_REG_VIRT) != 0;
	m->x2apic_virt = (sec & VIRQ_VMX_PROC2_VIRT_X2APIC_MODE) != 0;
	m->posted = (pin & VIRQ_VMX_PIN_POSTED_INTR) != 0;
	m->nv = (uint16_t)get(g, VIRQ_VMCS_POSTED_INTR_NV);
	m->pid_addr = get(g, VIRQ_VMCS_POSTED_INTR_DESC_ADDR);
	for (unsigned i = 0; i < 4; i++)
		m->eoi_exit[i] = get(g, VIRQ_VMCS_EOI_EXIT_BITMAP0 + 2U * i);
	m->rflags_if = (get(g, VIRQ_VMCS_GUEST_RFLAGS) & VIRQ_VMX_RFLAGS_IF) != 0;
	m->interruptibility = (uint32_t)get(g, VIRQ_VMCS_GUEST_INTERRUPTIBILITY);
	m->intr_window_exiting =
		(get(g, VIRQ_VMCS_PROC_BASED_CTLS) & VIRQ_VMX_PROC_INTR_WINDOW_EXITING) != 0;
	CHECK(m->vid && m->posted && m->nv == NV && m->pid_addr == pid_addr());
	CHECK(vmx_model_vmentry(m) == 0);
	S.prepared = false;
	for (unsigned i = 0; i < c->nheld; i++)
		take(c, c->held[i]);
	c->nheld = 0;
}

static bool boundary(void)
{
	struct vmx_model_cpu *m = &S.cpu[S.on].m;
	unsigned v;

	if (!m->in_guest)
		return false;
	shadow_fold();
	m->log.n = 0;
	if (vmx_model_boundary(m) != 1)
		return false;
	CHECK(m->log.n == 1 && m->log.ev[0].kind == VMX_MODEL_EV_DELIVER);
	v = m->log.ev[0].a;
	CHECK(S.irr[v]); /* else delivered twice */
	S.irr[v] = false;
	S.delivered++;
	return true;
}

static bool eoi(void)
{
	struct vmx_model_cpu *m = &S.cpu[S.on].m;

	if (!m->in_guest || vmx_model_highest(m, VMX_MODEL_VISR) < 0)
		return false;
	m->log.n = 0;
	CHECK(vmx_model_wrmsr(m, VMX_MODEL_MSR_EOI, 0) == 0);
	CHECK(m->log.n == 0); /* edge vectors: no EOI-induced exit */
	return true;
}

static void guest_exit(bool hlt)
{
	struct pcpu *c = &S.cpu[S.on];

	if (!c->m.in_guest)
		return;
	/* HLT only with nothing in service (TPR is 0): then anything pending
	 * must wake it, and a halted vCPU with work is a lost wakeup. */
	if (hlt && vmx_model_highest(&c->m, VMX_MODEL_VISR) < 0) {
		c->m.in_guest = false;
		glue_exit(c, VIRQ_VMX_EXIT_REASON_HLT, 0, 1, VIRQ_VMX_EXIT_HALT);
		return;
	}
	take(c, TIMER_VEC);
	CHECK(!c->m.in_guest);
}

static void block(void)
{
	int rc;

	if (running() || S.prepared || !S.halted ||
	    virq_vmx_pi_get_state(&g->vx) != VIRQ_VMX_PI_ROOT)
		return;
	S.woken = false;
	rc = virq_vmx_pi_block(&g->vx);
	CHECK(rc == 0 || rc == 1);
	CHECK(virq_vmx_pi_get_state(&g->vx) == VIRQ_VMX_PI_BLOCKED);
	if (rc == 1) {
		/* Work is waiting: do not sleep. */
		CHECK(virq_vmx_pi_should_wake(&g->vx));
		CHECK(virq_vmx_pi_load(&g->vx, S.cpu[S.on].id) == 0);
	}
}

static void preempt(void)
{
	if (running() || S.prepared)
		return;
	CHECK(virq_vmx_pi_put(&g->vx) == 0);
}

static void load(unsigned cpu)
{
	if (running() || S.prepared)
		return;
	CHECK(virq_vmx_pi_load(&g->vx, S.cpu[cpu].id) == 0);
	S.on = cpu;
	S.halted = false;
}

static void check_all(void)
{
	uint64_t p = pid_addr();
	bool on = vmx_model_pid_on(&S.sys, p);
	bool sn = vmx_model_pid_sn(&S.sys, p);
	enum virq_vmx_pi_state st = virq_vmx_pi_get_state(&g->vx);

	switch (st) {
	case VIRQ_VMX_PI_ROOT:
	case VIRQ_VMX_PI_GUEST:
		CHECK(!sn && vmx_model_pid_nv(&S.sys, p) == NV);
		CHECK(vmx_model_pid_ndst(&S.sys, p) == ndst_of(S.cpu[S.on].id));
		break;
	case VIRQ_VMX_PI_PREEMPTED:
		CHECK(sn && vmx_model_pid_nv(&S.sys, p) == NV);
		break;
	case VIRQ_VMX_PI_BLOCKED:
		CHECK(!sn && vmx_model_pid_nv(&S.sys, p) == WAKEUP);
		break;
	}
	CHECK(st == VIRQ_VMX_PI_GUEST || !running());
	/* Conservation: nothing lost, nothing invented. */
	shadow_fold();
	for (unsigned v = 0; v < 256; v++) {
		CHECK(S.pir[v] == vmx_model_pid_pir(&S.sys, p, v));
		CHECK(S.irr[v] == irr_bit(v));
	}
	if (!sn && pir_any())
		CHECK(on);
	if (running() && on) {
		bool nv_coming = false;

		for (unsigned i = 0; i < S.nflight; i++)
			nv_coming |= S.flight[i].vector == NV && S.flight[i].dest == S.cpu[S.on].id;
		CHECK(nv_coming);
	}
	if (st == VIRQ_VMX_PI_BLOCKED && virq_vmx_pi_should_wake(&g->vx)) {
		bool wake_coming = false;

		for (unsigned i = 0; i < S.nflight; i++)
			wake_coming |= S.flight[i].vector == WAKEUP;
		CHECK(S.woken || wake_coming);
	}
	for (unsigned k = 0; k < 2; k++)
		CHECK(S.cpu[k].m.log.lost == 0);
}

static void setup(const uint8_t *data, size_t size)
{
	static const struct virq_lapic_config lc = {
		.size = sizeof(struct virq_lapic_config), .apic_id = 0, .bsp = true, .x2apic = true
	};
	struct virq_vmx_config cfg;
	uint8_t b0 = size > 0 ? data[0] : 0;

	memset(g, 0, sizeof(*g));
	memset(&S, 0, sizeof(S));
	g->caps[0x00] = VIRQ_VMX_BASIC_TRUE_CTLS;
	g->caps[0x0D] = g->caps[0x0E] = g->caps[0x0F] = 0xFFFFFFFFULL << 32;
	g->caps[0x0B] = 0xFFFFFFFFULL << 32;
	set(g, VIRQ_VMCS_GUEST_CR0, 0x80000011ULL);
	set(g, VIRQ_VMCS_GUEST_RFLAGS, 0x202);
	set(g, VIRQ_VMCS_GUEST_RIP, 0x1000);
	set(g, VIRQ_VMCS_PROC_BASED_CTLS, VIRQ_VMX_PROC_HLT_EXITING);
	kops = lops;
	kops.kick = k_kick;
	CHECK(virq_lapic_init(&g->lapic, g->page, &lc, &kops, g) == 0);
	CHECK(virq_lapic_mmio_write(&g->lapic, VIRQ_LAPIC_REG_SVR, 4, 0x1FF) == 0);
	CHECK(virq_vcpu_init(&g->pol, &g->lapic, NULL) == 0);

	S.sys.mem = (uint8_t *)g;
	S.sys.size = sizeof(*g);
	S.sys.maxphyaddr = 46;
	S.sys.host_x2apic = (b0 & 1U) != 0;
	S.cpu[0].id = size > 1 ? data[1] : 0;
	S.cpu[1].id = size > 2 ? data[2] : 1;
	if (S.sys.host_x2apic)
		S.cpu[1].id |= 0x100U; /* an x2APIC ID past 8 bits */
	else if (S.cpu[0].id == 0xFF)
		S.cpu[0].id = 0xFE; /* 0xFF is the xAPIC broadcast */
	if (!S.sys.host_x2apic && S.cpu[1].id == 0xFF)
		S.cpu[1].id = 0xFD;
	if (S.cpu[1].id == S.cpu[0].id)
		S.cpu[1].id ^= 1U;
	for (unsigned k = 0; k < 2; k++)
		vmx_model_init(&S.cpu[k].m, &S.sys);

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.level = VIRQ_VMX_LEVEL_APICV;
	cfg.flags = VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT | VIRQ_VMX_F_POSTED_INTR |
		    (S.sys.host_x2apic ? VIRQ_VMX_F_HOST_X2APIC : 0);
	cfg.virtual_apic_addr = 0x1000;
	cfg.apic_access_addr = 0x2000;
	cfg.pi_desc_addr = pid_addr();
	cfg.pi_vector = NV;
	cfg.pi_wakeup_vector = WAKEUP;
	CHECK(virq_vmx_vcpu_init(&g->vx, &g->pol, &g->lapic, &vops, g, &cfg) == 0);
	/* x2APIC mode: the guest's EOI is the MSR write the model virtualizes. */
	CHECK(virq_lapic_set_apic_base(&g->lapic,
				       0xFEE00000ULL | VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD |
					       VIRQ_APIC_BASE_BSP,
				       true) == 0);
	CHECK(virq_vmx_pi_get_state(&g->vx) == VIRQ_VMX_PI_PREEMPTED);
	load(0);
}

/* Everything in flight arrives, the vCPU runs until idle: every post
 * delivered exactly once. */
static void drain(void)
{
	unsigned spin;

	for (spin = 0; spin < 2048; spin++) {
		check_all();
		if (S.nflight) {
			arrive();
		} else if (S.prepared) {
			enter();
		} else if (running()) {
			if (!boundary() && !eoi())
				break;
		} else if (virq_vmx_pi_get_state(&g->vx) != VIRQ_VMX_PI_ROOT) {
			load(S.on);
		} else {
			prepare();
			shadow_fold();
			if (S.halted) {
				/* Halted with nothing pending: all must be in. */
				for (unsigned v = 0; v < 256; v++)
					CHECK(!S.pir[v] && !S.irr[v]);
				break;
			}
		}
	}
	CHECK(spin < 2048);
	CHECK(S.delivered == S.posts - S.merged);
	for (unsigned v = 0; v < 256; v++)
		CHECK(!S.pir[v] && !S.irr[v]);
	CHECK(!pir_any() && !vmx_model_pid_on(&S.sys, pid_addr()));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int trace = -1;

	if (trace < 0) {
		const char *t = getenv("FUZZ_PI_TRACE");

		trace = t && t[0] == '1';
	}
	if (!g && posix_memalign((void **)&g, 4096, sizeof(*g)))
		abort();
	setup(data, size);
	check_all();
	for (size_t pos = 3; pos < size; pos += 3) {
		uint8_t op = (uint8_t)(data[pos] % OP_COUNT);
		uint8_t a0 = pos + 1 < size ? data[pos + 1] : 0;
		uint8_t a1 = pos + 2 < size ? data[pos + 2] : 0;
		uint8_t v = (uint8_t)(32U + a0 % 208U);

		if (trace)
			fprintf(stderr,
				"op %u a %02x %02x | state %d on %u ON %d SN %d guest %d "
				"flight %u prepared %d\n",
				op, a0, a1, virq_vmx_pi_get_state(&g->vx), S.on,
				vmx_model_pid_on(&S.sys, pid_addr()),
				vmx_model_pid_sn(&S.sys, pid_addr()), running(), S.nflight,
				S.prepared);
		switch (op) {
		case OP_POST:
			post(v);
			break;
		case OP_VTD:
			vtd_post(v, a1 & 1U);
			break;
		case OP_ARRIVE:
			arrive();
			break;
		case OP_PREPARE:
			prepare();
			break;
		case OP_ENTER:
			enter();
			break;
		case OP_BOUNDARY:
			boundary();
			break;
		case OP_EOI:
			eoi();
			break;
		case OP_EXIT:
			guest_exit(a1 & 1U);
			break;
		case OP_BLOCK:
			block();
			break;
		case OP_PREEMPT:
			preempt();
			break;
		case OP_LOAD:
			load(a0 & 1U);
			break;
		default:
			break;
		}
		check_all();
	}
	drain();
	return 0;
}
