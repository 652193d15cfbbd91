/* SPDX-License-Identifier: MIT */
/*
 * Save/restore: byte-identical round trips of rich states in both modes,
 * restore onto a fresh LAPIC (timer re-armed with the same remaining time),
 * refusal of damaged states without side effects, and a single-bit-flip
 * sweep. Written from lapic.h (virq_lapic_save/restore, struct
 * virq_lapic_state), doc/architecture.md "Save and restore", the SDM APIC chapter
 * (10.4 "Local APIC" to 10.9 "Spurious Interrupt", 10.12 "Extended XAPIC
 * (x2APIC)") for what is architecturally valid, and a peer bug (KVM: 64-bit
 * x2APIC ICR round trip).
 */
#include "harness.h"

#define R(off) ((off) >> 2) /* index in virq_lapic_state::regs */
#define NOW0 50000ULL

/* ---- helpers ---- */

struct snapshot {
	uint32_t page[1024];
	struct virq_lapic apic;
	struct fake_env f;
};

static void snap_take(struct lapic_fixture *fx, struct snapshot *s)
{
	memcpy(s->page, fx->page, sizeof(s->page));
	memcpy(&s->apic, &fx->apic, sizeof(s->apic));
	memcpy(&s->f, &fx->f, sizeof(s->f));
}

/* Nothing observable changed: the page, the object and every callback log. */
static void snap_expect(struct lapic_fixture *fx, const struct snapshot *s)
{
	assert_memory_equal(s->page, fx->page, sizeof(s->page));
	assert_memory_equal(&s->apic, &fx->apic, sizeof(s->apic));
	assert_memory_equal(&s->f, &fx->f, sizeof(s->f));
}

static void save(struct lapic_fixture *fx, struct virq_lapic_state *st)
{
	memset(st, 0xCC, sizeof(*st));
	assert_int_equal(virq_lapic_save(&fx->apic, st), 0);
}

static void post_ev(struct lapic_fixture *fx, unsigned dm, uint8_t vec)
{
	struct virq_apic_msg m;

	memset(&m, 0, sizeof(m));
	m.src = VIRQ_MSG_SRC_NONE;
	m.vector = vec;
	m.delivery = (uint8_t)dm;
	m.level = true;
	virq_lapic_post_msg(&fx->apic, &m);
}

/* ---- rich states ---- */

/*
 * xAPIC, BSP, directed EOI: pending and nested vectors with TMR, TPR, every
 * LVT, periodic timer mid-count, ESR visible and latched, ICR, logical
 * cluster addressing, pending NMI/SMI and a LINT1 edge.
 */
static void build_xapic_rich(struct lapic_fixture *fx)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.apic_id = 2;
	cfg.directed_eoi = true;
	fixture_init(fx, &cfg);
	fx->f.now = NOW0;
	mmio_w(fx, VIRQ_LAPIC_REG_SVR, 0x11FF);
	mmio_w(fx, VIRQ_LAPIC_REG_LDR, 0x08000000U);
	mmio_w(fx, VIRQ_LAPIC_REG_DFR, 0x0FFFFFFFU);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_CMCI, 0x10055);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_THERMAL, 0x451);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_PMC, 0x52);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_LINT1, 0x400); /* NMI */
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_ERROR, 0xEE);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x200D0); /* periodic */
	mmio_w(fx, VIRQ_LAPIC_REG_TDCR, 0x3);          /* divide by 16 */
	mmio_w(fx, VIRQ_LAPIC_REG_TMICT, 5000);        /* period 80000 ns */
	virq_lapic_post(&fx->apic, 0x35, true);
	assert_int_equal(virq_lapic_ack(&fx->apic), 0x35);
	virq_lapic_post(&fx->apic, 0x62, false);
	assert_int_equal(virq_lapic_ack(&fx->apic), 0x62);
	mmio_w(fx, VIRQ_LAPIC_REG_TPR, 0x27);
	/* Level, active low, Fixed 0x53: the pin is low, so asserted at once
	 * (IRR 0x53, TMR 0x53, Remote IRR set). */
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_LINT0, 0xA053);
	virq_lapic_post(&fx->apic, 0x41, false);
	virq_lapic_post(&fx->apic, 0x90, true);
	virq_lapic_post(&fx->apic, 0x05, false); /* ESR bit 6, LVT Error 0xEE */
	virq_lapic_sync(&fx->apic);
	mmio_w(fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(fx, VIRQ_LAPIC_REG_ESR), VIRQ_LAPIC_ESR_RECV_ILLEGAL);
	mmio_w(fx, VIRQ_LAPIC_REG_ICR_HI, 0x07000000U);
	mmio_w(fx, VIRQ_LAPIC_REG_ICR_LO, 0x4003); /* illegal: ESR bit 5 latched */
	mmio_w(fx, VIRQ_LAPIC_REG_ICR_LO, 0x48F1); /* sent, logical */
	assert_int_equal(fx->f.n_ipis, 1);
	virq_lapic_post(&fx->apic, 0x5A, true); /* posted, folded by save */
	post_ev(fx, VIRQ_DM_NMI, 0);
	post_ev(fx, VIRQ_DM_SMI, 0);
	assert_int_equal(virq_lapic_set_lint(&fx->apic, 1, true), 0);
	fx->f.now = NOW0 + 12345;
	assert_invariants(fx);
}

/* x2APIC, 32-bit ID, TSC-deadline timer armed, 64-bit ICR, nested vectors. */
static void build_x2apic_rich(struct lapic_fixture *fx)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.apic_id = 0x12345;
	fixture_init(fx, &cfg);
	fx->f.now = NOW0;
	fx->f.use_guest_tsc = true;
	fx->f.tsc = 0x10000000000ULL;
	fixture_x2apic_enable(fx);
	assert_int_equal(msr_w(fx, 0x808, 0x10), 0);
	assert_int_equal(msr_w(fx, 0x832, 0x400E1), 0); /* TSC deadline */
	assert_int_equal(msr_w(fx, VIRQ_MSR_IA32_TSC_DEADLINE, 0x10000000000ULL + 777777), 0);
	assert_int_equal(msr_w(fx, 0x835, 0x700), 0);  /* ExtINT */
	assert_int_equal(msr_w(fx, 0x836, 0x8063), 0); /* level Fixed 0x63 */
	assert_int_equal(msr_w(fx, 0x837, 0x10EF), 0); /* DS written back, ignored */
	assert_int_equal(msr_w(fx, 0x834, 0x10056), 0);
	assert_int_equal(msr_w(fx, 0x83E, 0xA), 0);
	assert_int_equal(msr_w(fx, 0x830, 0xABCD1234000040F7ULL), 0);
	assert_int_equal(fx->f.n_ipis, 1);
	assert_int_equal(msr_w(fx, 0x83F, 0x71), 0);
	assert_int_equal(virq_lapic_ack(&fx->apic), 0x71);
	virq_lapic_post(&fx->apic, 0xA4, true);
	assert_int_equal(virq_lapic_ack(&fx->apic), 0xA4);
	virq_lapic_post(&fx->apic, 0x99, true);
	virq_lapic_post(&fx->apic, 0xC2, false);
	virq_lapic_sync(&fx->apic);
	assert_int_equal(msr_w(fx, 0x83F, 0x02), 0); /* ESR bit 5 latched */
	post_ev(fx, VIRQ_DM_EXTINT, 0);
	assert_int_equal(virq_lapic_set_lint(&fx->apic, 0, true), 0);
	fx->f.now = NOW0 + 1000;
	fx->f.tsc += 1000;
	assert_invariants(fx);
}

/* An AP in wait-for-SIPI with an NMI held and a SIPI posted, one-shot armed
 * before INIT is gone; xAPIC ID writable and rewritten. */
static void build_wait_sipi(struct lapic_fixture *fx)
{
	struct virq_lapic_config cfg = fixture_default_config();
	struct virq_lapic_events ev;

	cfg.apic_id = 9;
	cfg.bsp = false;
	cfg.xapic_id_writable = true;
	cfg.max_lvt = 5;
	fixture_init(fx, &cfg);
	fx->f.now = NOW0;
	post_ev(fx, VIRQ_DM_STARTUP, 0x10);
	assert_int_equal(virq_lapic_take_events(&fx->apic, &ev), VIRQ_LAPIC_EV_SIPI);
	fixture_sw_enable(fx);
	mmio_w(fx, VIRQ_LAPIC_REG_ID, 0x21000000U);
	mmio_w(fx, VIRQ_LAPIC_REG_TMICT, 100);
	post_ev(fx, VIRQ_DM_INIT, 0);
	assert_int_equal(virq_lapic_take_events(&fx->apic, &ev), VIRQ_LAPIC_EV_INIT);
	post_ev(fx, VIRQ_DM_NMI, 0);
	assert_int_equal(virq_lapic_take_events(&fx->apic, &ev), 0); /* held */
	post_ev(fx, VIRQ_DM_STARTUP, 0x9A);                          /* pending */
	mmio_w(fx, VIRQ_LAPIC_REG_SVR, 0x1F0);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x20); /* one-shot */
	mmio_w(fx, VIRQ_LAPIC_REG_TDCR, 0xB);
	mmio_w(fx, VIRQ_LAPIC_REG_TMICT, 3000);
	fx->f.now = NOW0 + 1234;
	assert_invariants(fx);
}

static const struct {
	const char *name;
	void (*build)(struct lapic_fixture *fx);
} builders[] = {
	{ "xapic", build_xapic_rich },
	{ "x2apic", build_x2apic_rich },
	{ "wait-sipi", build_wait_sipi },
};

#define N_BUILDERS (sizeof(builders) / sizeof(builders[0]))

/* ---- round trips ---- */

/* save -> restore -> save is byte-identical; the state holds what was built. */
static void test_save_restore_save_identical(void **state)
{
	static struct lapic_fixture fx;
	struct virq_lapic_state a, b;

	(void)state;
	for (unsigned i = 0; i < N_BUILDERS; i++) {
		builders[i].build(&fx);
		save(&fx, &a);
		assert_int_equal(a.version, VIRQ_LAPIC_STATE_VERSION);
		assert_int_equal(a.size, sizeof(a));
		assert_int_equal(a.lint_vectors & 0xFFFF0000U, 0);
		assert_int_equal(virq_lapic_restore(&fx.apic, &a), 0);
		assert_invariants(&fx);
		save(&fx, &b);
		assert_memory_equal(&a, &b, sizeof(a));
		/* And once more, from the restored object. */
		assert_int_equal(virq_lapic_restore(&fx.apic, &b), 0);
		save(&fx, &b);
		assert_memory_equal(&a, &b, sizeof(a));
		assert_invariants(&fx);
	}
}

/* What the rich xAPIC state carries, field by field. */
static void test_saved_xapic_fields(void **state)
{
	static struct lapic_fixture fx;
	struct virq_lapic_state st;

	(void)state;
	build_xapic_rich(&fx);
	save(&fx, &st);
	assert_int_equal(st.apic_base, 0xFEE00000ULL | VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_BSP);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_ID)], 2U << 24);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_VERSION)], 0x01060014U);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_TPR)], 0x27);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_PPR)], 0x60);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_LDR)], 0x08000000U);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_DFR)], 0x0FFFFFFFU);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_SVR)], 0x11FF);
	/* ISR 0x35, 0x62; TMR 0x35, 0x53, 0x5A, 0x90; IRR 0x41, 0x53, 0x5A, 0x90, 0xEE. */
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_ISR + 0x10)], 1U << (0x35 - 32));
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_ISR + 0x30)], 1U << (0x62 - 96));
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_TMR + 0x10)], 1U << (0x35 - 32));
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_TMR + 0x20)],
			 (1U << (0x53 - 64)) | (1U << (0x5A - 64)));
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_TMR + 0x40)], 1U << (0x90 - 128));
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_IRR + 0x20)],
			 (1U << (0x41 - 64)) | (1U << (0x53 - 64)) | (1U << (0x5A - 64)));
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_IRR + 0x40)], 1U << (0x90 - 128));
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_IRR + 0x70)], 1U << (0xEE - 224));
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_ESR)], VIRQ_LAPIC_ESR_RECV_ILLEGAL);
	assert_int_equal(st.esr_pending, VIRQ_LAPIC_ESR_SEND_ILLEGAL);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_ICR_LO)], 0x48F1);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_ICR_HI)], 0x07000000U);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_LVT_LINT0)], 0xA053 | VIRQ_LVT_REMOTE_IRR);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_LVT_TIMER)], 0x200D0);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_TMICT)], 5000);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_TMCCT)], 5000 - 12345 / 16);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_TDCR)], 0x3);
	assert_int_equal(st.tsc_deadline, 0);
	assert_int_equal(st.flags, VIRQ_LAPIC_STATE_TIMER_ARMED);
	assert_int_equal(st.timer_remaining_ns, 80000 - 12345);
	/* The posted NMI and SMI, and the LINT1 edge applied as a second NMI
	 * (version 3: counted, not merged). */
	assert_int_equal(st.events,
			 VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_STATE_EV_NMI2 | VIRQ_LAPIC_EV_SMI);
	assert_int_equal(st.lint, 2U); /* LINT1 high, no edge left */
	assert_invariants(&fx);
}

/* Regression (KVM: x2APIC ICR layout change broke save/restore): the 64-bit
 * ICR travels whole; TSC deadline and x2APIC ID too. */
static void test_x2apic_icr_64bit_round_trip(void **state)
{
	static struct lapic_fixture fx, fresh;
	struct virq_lapic_state st, st2;
	uint64_t v;

	(void)state;
	build_x2apic_rich(&fx);
	save(&fx, &st);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_ICR_LO)], 0x000040F7U);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_ICR_HI)], 0xABCD1234U);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_ID)], 0x12345);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_LDR)], (0x1234U << 16) | (1U << 5));
	assert_int_equal(st.tsc_deadline, 0x10000000000ULL + 777777);
	assert_int_equal(st.flags, VIRQ_LAPIC_STATE_TIMER_ARMED);
	assert_int_equal(st.timer_remaining_ns, 777777 - 1000);
	assert_int_equal(st.esr_pending, VIRQ_LAPIC_ESR_SEND_ILLEGAL);
	assert_int_equal(st.events, VIRQ_LAPIC_EV_EXTINT);

	fixture_init(&fresh, &fx.cfg);
	fresh.f.use_guest_tsc = true;
	fresh.f.now = 9000000000ULL;
	fresh.f.tsc = fx.f.tsc;
	assert_int_equal(virq_lapic_restore(&fresh.apic, &st), 0);
	assert_int_equal(virq_lapic_get_mode(&fresh.apic), VIRQ_LAPIC_MODE_X2APIC);
	assert_int_equal(msr_r(&fresh, 0x830, &v), 0);
	assert_int_equal(v, 0xABCD1234000040F7ULL);
	assert_int_equal(msr_r(&fresh, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0x10000000000ULL + 777777);
	assert_int_equal(msr_r(&fresh, 0x802, &v), 0);
	assert_int_equal(v, 0x12345);
	assert_int_equal(fresh.f.n_ipis, 0); /* restoring the ICR sends nothing */
	save(&fresh, &st2);
	assert_memory_equal(&st, &st2, sizeof(st));
	assert_invariants(&fresh);
}

/*
 * Restore onto a fresh LAPIC (another host, another clock): the host timer
 * is armed for the same remaining time; CCR, vectors and events carry over.
 */
static void test_restore_fresh_rearms_timer(void **state)
{
	static struct lapic_fixture fx, fresh;
	struct virq_lapic_state st, st2;
	struct virq_lapic_events ev;

	(void)state;
	for (unsigned i = 0; i < N_BUILDERS; i++) {
		builders[i].build(&fx);
		save(&fx, &st);
		assert_true(st.flags & VIRQ_LAPIC_STATE_TIMER_ARMED);

		fixture_init(&fresh, &fx.cfg);
		fresh.f.use_guest_tsc = fx.f.use_guest_tsc;
		fresh.f.tsc = fx.f.tsc;
		fresh.f.now = 7000000000ULL;
		assert_int_equal(virq_lapic_restore(&fresh.apic, &st), 0);
		assert_int_equal(fresh.f.timer_arms, 1);
		assert_true(fresh.f.timer_armed);
		assert_int_equal(fresh.f.timer_deadline, 7000000000ULL + st.timer_remaining_ns);
		assert_int_equal(fresh.f.kicks, 0);
		assert_int_equal(fresh.f.n_ipis, 0);
		assert_int_equal(fresh.f.n_eois, 0);
		assert_int_equal(fresh.f.n_gerr, 0);
		save(&fresh, &st2);
		assert_memory_equal(&st, &st2, sizeof(st));
		assert_invariants(&fresh);
	}

	/* The periodic xAPIC timer then runs on from there. */
	build_xapic_rich(&fx);
	save(&fx, &st);
	fixture_init(&fresh, &fx.cfg);
	fresh.f.now = 7000000000ULL;
	assert_int_equal(virq_lapic_restore(&fresh.apic, &st), 0);
	assert_int_equal(mmio_r(&fresh, VIRQ_LAPIC_REG_TMCCT), 5000 - 12345 / 16);
	fresh.f.now += 80000 - 12345 - 1;
	virq_lapic_timer_expired(&fresh.apic); /* 1 ns early */
	assert_false(page_vec(&fresh, VIRQ_LAPIC_REG_IRR, 0xD0));
	fresh.f.now++;
	virq_lapic_timer_expired(&fresh.apic);
	assert_true(page_vec(&fresh, VIRQ_LAPIC_REG_IRR, 0xD0));
	assert_int_equal(fresh.f.timer_deadline, fresh.f.now + 80000);
	/* Vectors as saved (0xEE highest, above PPR 0x60); events two NMIs, SMI. */
	assert_int_equal(virq_lapic_ack(&fresh.apic), 0xEE);
	assert_int_equal(virq_lapic_take_events(&fresh.apic, &ev),
			 VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_SMI);
	assert_int_equal(ev.nmi_count, 2);
	assert_invariants(&fresh);

	/* The AP: still waits for SIPI, then takes the posted one and the NMI. */
	build_wait_sipi(&fx);
	save(&fx, &st);
	assert_int_equal(st.flags, VIRQ_LAPIC_STATE_TIMER_ARMED | VIRQ_LAPIC_STATE_WAIT_SIPI);
	assert_int_equal(st.sipi_vector, 0x9A);
	assert_int_equal(st.events, VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_SIPI);
	fixture_init(&fresh, &fx.cfg);
	assert_int_equal(virq_lapic_restore(&fresh.apic, &st), 0);
	assert_int_equal(virq_lapic_get_mp_state(&fresh.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
	assert_int_equal(mmio_r(&fresh, VIRQ_LAPIC_REG_ID), 0x21000000U);
	assert_int_equal(virq_lapic_take_events(&fresh.apic, &ev),
			 VIRQ_LAPIC_EV_SIPI | VIRQ_LAPIC_EV_NMI);
	assert_int_equal(ev.sipi_vector, 0x9A);
	assert_int_equal(virq_lapic_get_mp_state(&fresh.apic), VIRQ_LAPIC_MP_RUNNABLE);
	assert_invariants(&fresh);
}

/* A restore replaces an armed timer: the old one is cancelled, none re-armed
 * when the state has none. */
static void test_restore_replaces_timer(void **state)
{
	static struct lapic_fixture fx, other;
	struct virq_lapic_state st;

	(void)state;
	fixture_init(&other, NULL);
	other.f.now = NOW0;
	save(&other, &st); /* reset state, timer idle */
	assert_int_equal(st.flags, 0);

	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 100);
	assert_true(fx.f.timer_armed);
	assert_int_equal(virq_lapic_restore(&fx.apic, &st), 0);
	assert_int_equal(fx.f.timer_cancels, 1);
	assert_false(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_arms, 1);
	fx.f.now += 1000000;
	virq_lapic_timer_expired(&fx.apic);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_invariants(&fx);
}

/* Whatever the guest did, save() produces a state restore() accepts: timer
 * mode switches with counts and deadlines left behind (SDM 10.5.4.1 "TSC-Deadline Mode"). */
static void test_save_after_timer_mode_switches_restorable(void **state)
{
	static const uint32_t seq[][2] = {
		/* LVT Timer, then TMICT (or TSC deadline in TSC mode) */
		{ 0x00030, 1000 }, { 0x40030, 5000 }, { 0x20030, 700 }, { 0x40030, 1 },
		{ 0x00030, 0 },    { 0x20030, 9 },    { 0x00030, 3 },   { 0x40030, 0 },
	};
	static struct lapic_fixture fx;
	struct virq_lapic_state a, b;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	fx.f.use_guest_tsc = true;
	fx.f.now = NOW0;
	fx.f.tsc = NOW0;
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, seq[i][0]);
		if (seq[i][0] & (1U << 18))
			assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE,
					       seq[i][1] ? fx.f.tsc + seq[i][1] : 0),
					 0);
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, seq[i][1]);
		fx.f.now += 3;
		fx.f.tsc += 3;
		save(&fx, &a);
		assert_int_equal(virq_lapic_restore(&fx.apic, &a), 0);
		save(&fx, &b);
		assert_memory_equal(&a, &b, sizeof(a));
		/* Switch away with everything armed, and save again. */
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, seq[(i + 1) % 8][0]);
		save(&fx, &a);
		assert_int_equal(virq_lapic_restore(&fx.apic, &a), 0);
		assert_invariants(&fx);
	}
}

/*
 * A timer switched between one-shot and periodic while counting saves the
 * count it has and the time to its next 0, which restore accepts in
 * either mode and resumes: a one-shot made from a floored periodic timer
 * (remaining time shorter than the floored deadline, within one period),
 * and a periodic one made from a one-shot. Before the fix the switch
 * stopped the count and the saved state had no timer armed.
 */
static void test_timer_mode_switch_round_trip(void **state)
{
	static struct lapic_fixture fx, fresh;
	struct virq_lapic_config cfg = fixture_default_config();
	struct virq_lapic_state a, b;

	(void)state;
	cfg.timer_min_period_ns = 1000;
	for (unsigned to_oneshot = 0; to_oneshot < 2; to_oneshot++) {
		uint64_t left = to_oneshot ? 4 : 5; /* ns to the next 0 */

		fixture_init(&fx, &cfg);
		fixture_sw_enable(&fx);
		fx.f.now = NOW0;
		/* Divide by 1, count 7: a 7 ns period, floored to 1001 ns. */
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, to_oneshot ? 0x20031U : 0x31U);
		mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 7);
		fx.f.now = NOW0 + (to_oneshot ? 10 : 2);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, to_oneshot ? 0x31U : 0x20031U);
		save(&fx, &a);
		assert_int_equal(a.flags, VIRQ_LAPIC_STATE_TIMER_ARMED);
		assert_int_equal(a.regs[R(VIRQ_LAPIC_REG_TMCCT)], left);
		assert_int_equal(a.timer_remaining_ns, left);
		assert_int_equal(virq_lapic_restore(&fx.apic, &a), 0);
		save(&fx, &b);
		assert_memory_equal(&a, &b, sizeof(a));

		fixture_init(&fresh, &cfg);
		fresh.f.now = 3 * NOW0;
		assert_int_equal(virq_lapic_restore(&fresh.apic, &a), 0);
		assert_int_equal(fresh.f.timer_deadline, 3 * NOW0 + left);
		assert_int_equal(mmio_r(&fresh, VIRQ_LAPIC_REG_TMCCT), left);
		fresh.f.now += left;
		virq_lapic_timer_expired(&fresh.apic);
		assert_int_equal(virq_lapic_ack(&fresh.apic), 0x31);
		virq_lapic_eoi(&fresh.apic);
		if (to_oneshot) {
			assert_int_equal(mmio_r(&fresh, VIRQ_LAPIC_REG_TMCCT), 0);
			save(&fresh, &b);
			assert_int_equal(b.flags, 0);
		} else {
			assert_int_equal(mmio_r(&fresh, VIRQ_LAPIC_REG_TMCCT), 7);
			assert_int_equal(fresh.f.timer_deadline, fresh.f.now + 1001);
		}
		assert_invariants(&fresh);
	}
}

/*
 * Saved while the host timer's expiry is due but not yet processed (the
 * vCPU thread had not run virq_lapic_timer_expired()): the round trip is
 * still byte-identical, and the restored LAPIC delivers that expiry once.
 */
/*
 * Fuzz regressions: a TSC deadline more than 2^63 ns away used to save a
 * negative (wrapped) remaining time, which restore read as overdue; then,
 * saturated in the saved state, it restored to a different host deadline
 * than the original's. The host timer is armed at most 2^63 - 1 ns ahead,
 * so the saved time is exact and the round trip gives the same deadline.
 */
static void test_far_tsc_deadline_saturates(void **state)
{
	static struct lapic_fixture fx, fresh;
	struct virq_lapic_state a, b;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	fx.f.now = NOW0;
	fx.f.use_guest_tsc = true;
	fx.f.tsc = 5;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x40044U); /* TSC deadline */
	assert_int_equal(virq_lapic_msr_write(&fx.apic, VIRQ_MSR_IA32_TSC_DEADLINE, UINT64_MAX), 0);
	assert_true(fx.f.timer_armed);
	assert_true(fx.f.timer_deadline == NOW0 + (uint64_t)INT64_MAX);
	save(&fx, &a);
	assert_int_equal(a.flags, VIRQ_LAPIC_STATE_TIMER_ARMED);
	assert_true(a.timer_remaining_ns == INT64_MAX);
	assert_true(a.tsc_deadline == UINT64_MAX);

	fixture_init(&fresh, NULL);
	fresh.f.now = 2 * NOW0;
	fresh.f.use_guest_tsc = true;
	fresh.f.tsc = 5;
	assert_int_equal(virq_lapic_restore(&fresh.apic, &a), 0);
	assert_true(fresh.f.timer_armed);
	assert_true(fresh.f.timer_deadline == 2 * NOW0 + (uint64_t)INT64_MAX);
	assert_int_equal(fresh.f.kicks, 0); /* not treated as overdue */
	save(&fresh, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_invariants(&fresh);
}

static void test_overdue_timer_round_trip(void **state)
{
	static struct lapic_fixture fx, fresh;
	struct virq_lapic_state a, b;

	(void)state;
	for (unsigned periodic = 0; periodic < 2; periodic++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		fx.f.now = NOW0;
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, periodic ? 0x20044U : 0x44U);
		mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 100);
		fx.f.now = NOW0 + 250; /* deadline NOW0 + 100 passed, not processed */
		save(&fx, &a);
		assert_int_equal(a.flags, VIRQ_LAPIC_STATE_TIMER_ARMED);
		assert_int_equal(a.timer_remaining_ns, -150); /* due 150 ns ago */
		assert_int_equal(a.regs[R(VIRQ_LAPIC_REG_TMCCT)], periodic ? 50U : 0U);

		fixture_init(&fresh, NULL);
		fresh.f.now = 3 * NOW0;
		assert_int_equal(virq_lapic_restore(&fresh.apic, &a), 0);
		/* Due at once: the host timer is armed for now (a periodic
		 * timer keeps its place in the period internally). */
		assert_int_equal(fresh.f.timer_deadline, 3 * NOW0);
		save(&fresh, &b);
		assert_memory_equal(&a, &b, sizeof(a));

		virq_lapic_timer_expired(&fresh.apic);
		assert_int_equal(virq_lapic_ack(&fresh.apic), 0x44);
		virq_lapic_eoi(&fresh.apic);
		virq_lapic_timer_expired(&fresh.apic);
		assert_int_equal(virq_lapic_ack(&fresh.apic), VIRQ_LAPIC_NO_VECTOR);
		assert_invariants(&fresh);
	}
}

/*
 * Review finding 4: an expired one-shot timer (due 2 s ago, not yet
 * processed) restored on a host whose monotonic clock reads only 1 s. The
 * restored deadline cannot be 2 s before "now"; it was clamped to 0 and
 * Current Count then read the full initial count again, as if the timer
 * had restarted. It must read 0 and fire at once. A periodic timer keeps
 * its place in the period when the young clock allows it.
 */
static void test_restore_overdue_timer_young_clock(void **state)
{
	static struct lapic_fixture fx, fresh;
	struct virq_lapic_state a, b;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	fx.f.now = 5000000000ULL;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x44U); /* one-shot */
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 100);
	fx.f.now += 100 + 2000000000ULL;
	save(&fx, &a);
	assert_int_equal(a.timer_remaining_ns, -2000000000LL);
	assert_int_equal(a.regs[R(VIRQ_LAPIC_REG_TMCCT)], 0);

	fixture_init(&fresh, NULL);
	fresh.f.now = 1000000000ULL; /* younger than the overdue time */
	assert_int_equal(virq_lapic_restore(&fresh.apic, &a), 0);
	assert_int_equal(mmio_r(&fresh, VIRQ_LAPIC_REG_TMCCT), 0);
	assert_true(fresh.f.timer_armed);
	assert_int_equal(fresh.f.timer_deadline, 1000000000ULL); /* fires now */
	save(&fresh, &b);
	assert_int_equal(b.regs[R(VIRQ_LAPIC_REG_TMCCT)], 0);
	assert_true(b.timer_remaining_ns < 0);
	virq_lapic_timer_expired(&fresh.apic);
	assert_int_equal(virq_lapic_ack(&fresh.apic), 0x44);
	virq_lapic_eoi(&fresh.apic);
	assert_int_equal(mmio_r(&fresh, VIRQ_LAPIC_REG_TMCCT), 0);
	assert_invariants(&fresh);

	/* Periodic, 100 ns: overdue by 2 s + 30 ns, i.e. 30 ns into a period. */
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	fx.f.now = 5000000000ULL;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x20044U);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 100);
	fx.f.now += 100 + 2000000030ULL;
	save(&fx, &a);
	assert_int_equal(a.regs[R(VIRQ_LAPIC_REG_TMCCT)], 70);
	fixture_init(&fresh, NULL);
	fresh.f.now = 1000000000ULL;
	assert_int_equal(virq_lapic_restore(&fresh.apic, &a), 0);
	assert_int_equal(mmio_r(&fresh, VIRQ_LAPIC_REG_TMCCT), 70);
	fresh.f.now += 10;
	assert_int_equal(mmio_r(&fresh, VIRQ_LAPIC_REG_TMCCT), 60);
	virq_lapic_timer_expired(&fresh.apic);
	assert_int_equal(virq_lapic_ack(&fresh.apic), 0x44);
	assert_int_equal(fresh.f.timer_deadline, fresh.f.now + 60);
	assert_invariants(&fresh);
}

/*
 * Version 1 states (written before lint_vectors existed) restore: an entry
 * with Remote IRR set is taken to have delivered the vector it holds.
 * Version 1 and 2 states (written before NMIs were counted) hold one NMI
 * at most. The re-saved state is version 3 and equals the version-3 save
 * with its second NMI gone.
 */
static void test_restore_version1_state(void **state)
{
	static struct lapic_fixture fx;
	struct virq_lapic_state v3, old, again;
	struct virq_lapic_events ev;

	(void)state;
	for (uint32_t version = 1; version <= 2; version++) {
		build_xapic_rich(&fx);
		save(&fx, &v3);
		assert_int_equal(v3.version, 3);
		assert_int_equal(v3.lint_vectors, 0x53);
		assert_true(v3.events & VIRQ_LAPIC_STATE_EV_NMI2);
		old = v3;
		old.version = version;
		if (version == 1)
			old.lint_vectors = 0;
		/* Bit 8 of events was reserved: refused, then without it. */
		assert_int_equal(virq_lapic_restore(&fx.apic, &old), -VIRQ_ESTATE);
		old.events &= ~VIRQ_LAPIC_STATE_EV_NMI2;
		assert_int_equal(virq_lapic_restore(&fx.apic, &old), 0);
		assert_invariants(&fx);
		save(&fx, &again);
		v3.events &= ~VIRQ_LAPIC_STATE_EV_NMI2;
		assert_memory_equal(&v3, &again, sizeof(v3));
		virq_lapic_take_events(&fx.apic, &ev);
		assert_int_equal(ev.nmi_count, 1);
	}
}

/*
 * Review finding 3, saved: the LINT0 interrupt 0x50 is in service and the
 * guest has rewritten the entry to 0x60. The state records 0x50, and a
 * restored twin ends the interrupt with the EOI of 0x50 like the original.
 */
static void test_restore_lint_vector_rewritten_in_service(void **state)
{
	static struct lapic_fixture fx, twin;
	struct virq_lapic_state st;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LVT_LEVEL | 0x50);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 0, true), 0);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x50);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LVT_LEVEL | 0x60);
	save(&fx, &st);
	assert_int_equal(st.lint_vectors, 0x50);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_LVT_LINT0)],
			 VIRQ_LVT_LEVEL | VIRQ_LVT_REMOTE_IRR | 0x60);
	fixture_init(&twin, NULL);
	assert_int_equal(virq_lapic_restore(&twin.apic, &st), 0);
	virq_lapic_eoi(&twin.apic);
	assert_int_equal(mmio_r(&twin, VIRQ_LAPIC_REG_LVT_LINT0),
			 VIRQ_LVT_LEVEL | VIRQ_LVT_REMOTE_IRR | 0x60); /* delivered again */
	assert_int_equal(virq_lapic_ack(&twin.apic), 0x60);
	assert_invariants(&twin);
}

/*
 * A periodic timer under the floor saves its time to the next interrupt,
 * more than one period away; the state restores (also where the floor is
 * different) and resumes on the same grid.
 */
static void test_restore_floored_periodic(void **state)
{
	static struct lapic_fixture fx, twin;
	struct virq_lapic_config cfg = fixture_default_config();
	struct virq_lapic_state st, again;

	(void)state;
	cfg.timer_min_period_ns = 0; /* 200 us */
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	fx.f.now = NOW0;
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x20044U);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 7); /* 7 ns; interval 200004 ns */
	fx.f.now += 1000;
	save(&fx, &st);
	assert_int_equal(st.timer_remaining_ns, 200004 - 1000);
	assert_int_equal(st.regs[R(VIRQ_LAPIC_REG_TMCCT)], 1); /* 1000 = 142 * 7 + 6 */
	fixture_init(&twin, NULL); /* floor 1 ns: resumes at the saved time */
	twin.f.now = 7 * NOW0;
	assert_int_equal(virq_lapic_restore(&twin.apic, &st), 0);
	assert_int_equal(twin.f.timer_deadline, 7 * NOW0 + 200004 - 1000);
	assert_int_equal(mmio_r(&twin, VIRQ_LAPIC_REG_TMCCT), 1);
	save(&twin, &again);
	assert_memory_equal(&st, &again, sizeof(st));
	twin.f.now = twin.f.timer_deadline;
	virq_lapic_timer_expired(&twin.apic);
	assert_int_equal(virq_lapic_ack(&twin.apic), 0x44);
	assert_int_equal(twin.f.timer_deadline, twin.f.now + 7); /* its own floor */
	assert_invariants(&twin);
}

static void test_null_arguments(void **state)
{
	static struct lapic_fixture fx;
	static struct snapshot s;

	(void)state;
	build_xapic_rich(&fx);
	virq_lapic_sync(&fx.apic);
	snap_take(&fx, &s);
	assert_int_equal(virq_lapic_save(&fx.apic, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_restore(&fx.apic, NULL), -VIRQ_EINVAL);
	snap_expect(&fx, &s);
	assert_invariants(&fx);
}

/* ---- damaged states ---- */

enum applies {
	BOTH,
	XAPIC_ONLY,
	X2APIC_ONLY
};

struct corruption {
	const char *name;
	enum applies where;
	int err;
	uint32_t off;  /* register offset to change (regs[]), or NOFF */
	uint32_t xor ; /* bits flipped in it */
	void (*fn)(struct virq_lapic_state *st);
};

#define NOFF 0xFFFFFFFFU
#define REG(name, where, off, bits)                                                                \
	{                                                                                          \
		name, where, -VIRQ_ESTATE, off, bits, NULL                                         \
	}
#define FN(name, where, err, fn)                                                                   \
	{                                                                                          \
		name, where, err, NOFF, 0, fn                                                      \
	}

static void c_version0(struct virq_lapic_state *st)
{
	st->version = 0;
}

static void c_version2(struct virq_lapic_state *st)
{
	st->version = VIRQ_LAPIC_STATE_VERSION + 1;
}

static void c_version_ones(struct virq_lapic_state *st)
{
	st->version = 0xFFFFFFFFU;
}

static void c_size0(struct virq_lapic_state *st)
{
	st->size = 0;
}

static void c_size_minus(struct virq_lapic_state *st)
{
	st->size = sizeof(*st) - 4;
}

static void c_size_plus(struct virq_lapic_state *st)
{
	st->size = sizeof(*st) + 8;
}

static void c_ppr_ff(struct virq_lapic_state *st)
{
	st->regs[R(VIRQ_LAPIC_REG_PPR)] = 0xFF;
}

static void c_isr_without_ppr(struct virq_lapic_state *st)
{
	st->regs[R(VIRQ_LAPIC_REG_ISR + 0x70)] |= 1U << 16; /* 0xF0 in service, PPR stale */
}

static void c_sw_disable_unmasked(struct virq_lapic_state *st)
{
	st->regs[R(VIRQ_LAPIC_REG_SVR)] &= ~VIRQ_LAPIC_SVR_ENABLE;
}

static void c_en0_extd1(struct virq_lapic_state *st)
{
	st->apic_base = (st->apic_base & ~VIRQ_APIC_BASE_EN) | VIRQ_APIC_BASE_EXTD;
}

static void c_bsp_flip(struct virq_lapic_state *st)
{
	st->apic_base ^= VIRQ_APIC_BASE_BSP;
}

static void c_base_bit0(struct virq_lapic_state *st)
{
	st->apic_base |= 1;
}

static void c_base_bit9(struct virq_lapic_state *st)
{
	st->apic_base |= 1ULL << 9;
}

static void c_base_maxphys(struct virq_lapic_state *st)
{
	st->apic_base |= 1ULL << 36;
}

static void c_base_bit63(struct virq_lapic_state *st)
{
	st->apic_base |= 1ULL << 63;
}

static void c_xapic_to_disabled_armed(struct virq_lapic_state *st)
{
	st->apic_base &= ~(VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD);
}

static void c_xapic_as_x2apic(struct virq_lapic_state *st)
{
	st->apic_base |= VIRQ_APIC_BASE_EXTD; /* ID and LDR are xAPIC-shaped */
}

static void c_timer_mode3(struct virq_lapic_state *st)
{
	st->regs[R(VIRQ_LAPIC_REG_LVT_TIMER)] |= VIRQ_LVT_TIMER_MODE_MASK;
}

static void c_tsc_deadline_outside(struct virq_lapic_state *st)
{
	st->tsc_deadline = 1;
}

static void c_tsc_mode_tmict(struct virq_lapic_state *st)
{
	st->regs[R(VIRQ_LAPIC_REG_TMICT)] = 5;
}

static void c_tsc_armed_no_deadline(struct virq_lapic_state *st)
{
	st->tsc_deadline = 0;
}

static void c_tsc_deadline_not_armed(struct virq_lapic_state *st)
{
	st->flags &= ~VIRQ_LAPIC_STATE_TIMER_ARMED;
	st->timer_remaining_ns = 0;
}

static void c_armed_tmict0(struct virq_lapic_state *st)
{
	st->regs[R(VIRQ_LAPIC_REG_TMICT)] = 0;
	st->regs[R(VIRQ_LAPIC_REG_TMCCT)] = 0;
}

/* The xAPIC builder's timer is periodic (80000 ns): up to one period plus
 * the largest floor a saving LAPIC may have had is legal, beyond is not. */
static void c_remaining_gt_period(struct virq_lapic_state *st)
{
	st->timer_remaining_ns = 80001 + (int64_t)VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX;
}

static void c_tmcct_gt_tmict(struct virq_lapic_state *st)
{
	st->regs[R(VIRQ_LAPIC_REG_TMCCT)] = st->regs[R(VIRQ_LAPIC_REG_TMICT)] + 1;
}

static void c_flags_bit2(struct virq_lapic_state *st)
{
	st->flags |= 1U << 2;
}

static void c_flags_bit31(struct virq_lapic_state *st)
{
	st->flags |= 1U << 31;
}

static void c_events_bit5(struct virq_lapic_state *st)
{
	st->events |= 1U << 5;
}

static void c_events_bit31(struct virq_lapic_state *st)
{
	st->events |= 1U << 31;
}

static void c_events_nmi2_alone(struct virq_lapic_state *st)
{
	st->events = (st->events & ~VIRQ_LAPIC_EV_NMI) | VIRQ_LAPIC_STATE_EV_NMI2;
}

static void c_events_nmi2_version2(struct virq_lapic_state *st)
{
	st->version = 2; /* bit 8 was reserved */
	st->events |= VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_STATE_EV_NMI2;
}

static void c_lint_bit6(struct virq_lapic_state *st)
{
	st->lint |= 1U << 6;
}

static void c_lint_bit31(struct virq_lapic_state *st)
{
	st->lint |= 1U << 31;
}

static void c_reserved(struct virq_lapic_state *st)
{
	st->lint_vectors = 1U << 16;
}

static void c_sipi_big(struct virq_lapic_state *st)
{
	st->sipi_vector = 0x100;
}

static void c_esr_pending_low(struct virq_lapic_state *st)
{
	st->esr_pending |= 0x2;
}

/* The xAPIC builder's LINT0 (level, 0x53) has Remote IRR set with 0x53 in
 * IRR; the x2APIC builder's LINT1 (level, 0x63) has it clear. */
static void c_rirr_vector_gone(struct virq_lapic_state *st)
{
	st->regs[R(VIRQ_LAPIC_REG_IRR) + 4 * (0x53 >> 5)] &= ~(1U << (0x53 & 31));
	st->regs[R(VIRQ_LAPIC_REG_TMR) + 4 * (0x53 >> 5)] &= ~(1U << (0x53 & 31));
}

static void c_rirr_other_vector(struct virq_lapic_state *st)
{
	st->lint_vectors = 0x54; /* 0x54 is neither pending nor in service */
}

static void c_rirr_vector_below_16(struct virq_lapic_state *st)
{
	st->lint_vectors = 0x05;
}

static void c_rirr_v1_vector_gone(struct virq_lapic_state *st)
{
	/* Version 1: the entry's own vector stands for the delivered one. */
	st->version = 1;
	st->lint_vectors = 0;
	st->regs[R(VIRQ_LAPIC_REG_LVT_LINT0)] = (st->regs[R(VIRQ_LAPIC_REG_LVT_LINT0)] & ~0xFFU) |
						0x54;
}

static void c_v1_lint_vectors_set(struct virq_lapic_state *st)
{
	st->version = 1; /* the word was reserved (zero) in version 1 */
}

static void c_lint_vector_without_rirr(struct virq_lapic_state *st)
{
	st->lint_vectors = 0x6300; /* LINT1: Remote IRR clear */
}

static void c_rirr_set_no_vector(struct virq_lapic_state *st)
{
	st->regs[R(VIRQ_LAPIC_REG_LVT_LINT1)] |= VIRQ_LVT_REMOTE_IRR;
}

static void c_rirr_globally_disabled(struct virq_lapic_state *st)
{
	/* A disabled APIC has no vectors; a former in-service LINT interrupt
	 * cannot keep its Remote IRR. */
	st->apic_base &= ~VIRQ_APIC_BASE_EN;
	memset(&st->regs[R(VIRQ_LAPIC_REG_ISR)], 0, 0x180);
	st->regs[R(VIRQ_LAPIC_REG_PPR)] = st->regs[R(VIRQ_LAPIC_REG_TPR)];
	st->flags &= ~VIRQ_LAPIC_STATE_TIMER_ARMED;
	st->timer_remaining_ns = 0;
	st->lint_vectors = 0x53;
}

/* Review finding 5: the BSP never waits for a SIPI (SDM 8.4.1 "BSP and AP Processors": the BSP runs
 * the BIOS after RESET and INIT); such a state would never run. */
static void c_bsp_wait_sipi(struct virq_lapic_state *st)
{
	st->flags |= VIRQ_LAPIC_STATE_WAIT_SIPI;
}

static void c_esr_pending_high(struct virq_lapic_state *st)
{
	st->esr_pending |= 0x100;
}

static const struct corruption corruptions[] = {
	/* Format. */
	FN("version 0", BOTH, -VIRQ_EVERSION, c_version0),
	FN("version +1", BOTH, -VIRQ_EVERSION, c_version2),
	FN("version ~0", BOTH, -VIRQ_EVERSION, c_version_ones),
	FN("size 0", BOTH, -VIRQ_EVERSION, c_size0),
	FN("size -4", BOTH, -VIRQ_EVERSION, c_size_minus),
	FN("size +8", BOTH, -VIRQ_EVERSION, c_size_plus),
	/* Vectors 0-15, PPR. */
	REG("IRR bit 5", BOTH, VIRQ_LAPIC_REG_IRR, 1U << 5),
	REG("IRR bit 15", BOTH, VIRQ_LAPIC_REG_IRR, 1U << 15),
	REG("ISR bit 0", BOTH, VIRQ_LAPIC_REG_ISR, 1U << 0),
	REG("TMR bit 9", BOTH, VIRQ_LAPIC_REG_TMR, 1U << 9),
	REG("PPR class", BOTH, VIRQ_LAPIC_REG_PPR, 0x10),
	REG("PPR sub-class", BOTH, VIRQ_LAPIC_REG_PPR, 0x01),
	FN("PPR 0xFF", BOTH, -VIRQ_ESTATE, c_ppr_ff),
	FN("ISR 0xF0 without PPR", BOTH, -VIRQ_ESTATE, c_isr_without_ppr),
	REG("TPR bit 8", BOTH, VIRQ_LAPIC_REG_TPR, 1U << 8),
	REG("TPR bit 31", BOTH, VIRQ_LAPIC_REG_TPR, 1U << 31),
	/* ID, version, LDR, DFR. */
	REG("xAPIC ID bit 0", XAPIC_ONLY, VIRQ_LAPIC_REG_ID, 1U),
	REG("xAPIC ID bit 23", XAPIC_ONLY, VIRQ_LAPIC_REG_ID, 1U << 23),
	REG("xAPIC ID other", XAPIC_ONLY, VIRQ_LAPIC_REG_ID, 1U << 24),
	REG("xAPIC LDR bit 0", XAPIC_ONLY, VIRQ_LAPIC_REG_LDR, 1U),
	REG("xAPIC LDR bit 23", XAPIC_ONLY, VIRQ_LAPIC_REG_LDR, 1U << 23),
	REG("x2APIC ID", X2APIC_ONLY, VIRQ_LAPIC_REG_ID, 1U),
	REG("x2APIC ID high", X2APIC_ONLY, VIRQ_LAPIC_REG_ID, 1U << 31),
	REG("x2APIC LDR bitmap", X2APIC_ONLY, VIRQ_LAPIC_REG_LDR, 1U),
	REG("x2APIC LDR cluster", X2APIC_ONLY, VIRQ_LAPIC_REG_LDR, 1U << 16),
	REG("version", BOTH, VIRQ_LAPIC_REG_VERSION, 1U),
	REG("version maxlvt", BOTH, VIRQ_LAPIC_REG_VERSION, 1U << 16),
	REG("version EOI suppress", BOTH, VIRQ_LAPIC_REG_VERSION, 1U << 24),
	REG("DFR bit 0", BOTH, VIRQ_LAPIC_REG_DFR, 1U),
	/* SVR, ESR, ICR, TDCR. */
	REG("SVR bit 10", BOTH, VIRQ_LAPIC_REG_SVR, 1U << 10),
	REG("SVR bit 13", BOTH, VIRQ_LAPIC_REG_SVR, 1U << 13),
	REG("SVR bit 31", BOTH, VIRQ_LAPIC_REG_SVR, 1U << 31),
	REG("SVR bit 12 without directed EOI", X2APIC_ONLY, VIRQ_LAPIC_REG_SVR, 1U << 12),
	REG("ESR bit 0", BOTH, VIRQ_LAPIC_REG_ESR, 1U),
	REG("ESR bit 8", BOTH, VIRQ_LAPIC_REG_ESR, 1U << 8),
	FN("esr_pending bit 1", BOTH, -VIRQ_ESTATE, c_esr_pending_low),
	FN("esr_pending bit 8", BOTH, -VIRQ_ESTATE, c_esr_pending_high),
	REG("ICR busy", BOTH, VIRQ_LAPIC_REG_ICR_LO, 1U << 12),
	REG("ICR bit 13", BOTH, VIRQ_LAPIC_REG_ICR_LO, 1U << 13),
	REG("ICR bit 16", BOTH, VIRQ_LAPIC_REG_ICR_LO, 1U << 16),
	REG("ICR bit 20", BOTH, VIRQ_LAPIC_REG_ICR_LO, 1U << 20),
	REG("ICR bit 31", BOTH, VIRQ_LAPIC_REG_ICR_LO, 1U << 31),
	REG("xAPIC ICR high bit 0", XAPIC_ONLY, VIRQ_LAPIC_REG_ICR_HI, 1U),
	REG("xAPIC ICR high bit 23", XAPIC_ONLY, VIRQ_LAPIC_REG_ICR_HI, 1U << 23),
	REG("TDCR bit 2", BOTH, VIRQ_LAPIC_REG_TDCR, 1U << 2),
	REG("TDCR bit 4", BOTH, VIRQ_LAPIC_REG_TDCR, 1U << 4),
	/* LVT reserved and read-only bits. */
	REG("timer DM", BOTH, VIRQ_LAPIC_REG_LVT_TIMER, 1U << 8),
	REG("timer bit 11", BOTH, VIRQ_LAPIC_REG_LVT_TIMER, 1U << 11),
	REG("timer DS", BOTH, VIRQ_LAPIC_REG_LVT_TIMER, 1U << 12),
	REG("timer bit 13", BOTH, VIRQ_LAPIC_REG_LVT_TIMER, 1U << 13),
	REG("timer bit 15", BOTH, VIRQ_LAPIC_REG_LVT_TIMER, 1U << 15),
	REG("timer bit 19", BOTH, VIRQ_LAPIC_REG_LVT_TIMER, 1U << 19),
	REG("LINT0 bit 11", BOTH, VIRQ_LAPIC_REG_LVT_LINT0, 1U << 11),
	REG("LINT0 DS", BOTH, VIRQ_LAPIC_REG_LVT_LINT0, 1U << 12),
	REG("LINT0 bit 17", BOTH, VIRQ_LAPIC_REG_LVT_LINT0, 1U << 17),
	REG("LINT1 bit 19", BOTH, VIRQ_LAPIC_REG_LVT_LINT1, 1U << 19),
	REG("LINT1 bit 31", BOTH, VIRQ_LAPIC_REG_LVT_LINT1, 1U << 31),
	REG("thermal polarity", BOTH, VIRQ_LAPIC_REG_LVT_THERMAL, 1U << 13),
	REG("thermal remote IRR", BOTH, VIRQ_LAPIC_REG_LVT_THERMAL, 1U << 14),
	REG("thermal trigger", BOTH, VIRQ_LAPIC_REG_LVT_THERMAL, 1U << 15),
	REG("PMC trigger", BOTH, VIRQ_LAPIC_REG_LVT_PMC, 1U << 15),
	REG("PMC bit 17", BOTH, VIRQ_LAPIC_REG_LVT_PMC, 1U << 17),
	REG("error DM", BOTH, VIRQ_LAPIC_REG_LVT_ERROR, 1U << 8),
	REG("error polarity", BOTH, VIRQ_LAPIC_REG_LVT_ERROR, 1U << 13),
	REG("error trigger", BOTH, VIRQ_LAPIC_REG_LVT_ERROR, 1U << 15),
	REG("CMCI polarity", BOTH, VIRQ_LAPIC_REG_LVT_CMCI, 1U << 13),
	REG("CMCI bit 18", BOTH, VIRQ_LAPIC_REG_LVT_CMCI, 1U << 18),
	FN("timer mode 3", BOTH, -VIRQ_ESTATE, c_timer_mode3),
	FN("software-disabled with unmasked LVTs", BOTH, -VIRQ_ESTATE, c_sw_disable_unmasked),
	/* Reserved register slots and bytes 4-15 of every slot. */
	REG("slot 0x000", BOTH, 0x000, 1U),
	REG("slot 0x010", BOTH, 0x010, 1U << 31),
	REG("slot 0x040", BOTH, 0x040, 1U),
	REG("slot 0x070", BOTH, 0x070, 1U),
	REG("APR", BOTH, VIRQ_LAPIC_REG_APR, 0x10),
	REG("EOI", BOTH, VIRQ_LAPIC_REG_EOI, 1U),
	REG("RRD", BOTH, VIRQ_LAPIC_REG_RRD, 1U),
	REG("slot 0x290", BOTH, 0x290, 1U),
	REG("slot 0x2E0", BOTH, 0x2E0, 1U),
	REG("slot 0x3A0", BOTH, 0x3A0, 1U),
	REG("slot 0x3D0", BOTH, 0x3D0, 1U),
	REG("SELF IPI", BOTH, VIRQ_LAPIC_REG_SELF_IPI, 0x41),
	REG("TPR byte 4", BOTH, 0x084, 1U),
	REG("IRR byte 12", BOTH, 0x20C, 1U << 31),
	REG("ICR byte 8", BOTH, 0x308, 1U),
	REG("last byte", BOTH, 0x3FC, 1U << 31),
	/* IA32_APIC_BASE. */
	FN("EN=0 EXTD=1", BOTH, -VIRQ_ESTATE, c_en0_extd1),
	FN("BSP mismatch", BOTH, -VIRQ_ESTATE, c_bsp_flip),
	FN("base bit 0", BOTH, -VIRQ_ESTATE, c_base_bit0),
	FN("base bit 9", BOTH, -VIRQ_ESTATE, c_base_bit9),
	FN("base above MAXPHYADDR", BOTH, -VIRQ_ESTATE, c_base_maxphys),
	FN("base bit 63", BOTH, -VIRQ_ESTATE, c_base_bit63),
	FN("disabled with timer armed", BOTH, -VIRQ_ESTATE, c_xapic_to_disabled_armed),
	FN("xAPIC registers under EXTD", XAPIC_ONLY, -VIRQ_ESTATE, c_xapic_as_x2apic),
	/* Timer consistency. */
	FN("tsc_deadline outside TSC mode", XAPIC_ONLY, -VIRQ_ESTATE, c_tsc_deadline_outside),
	FN("TSC mode with TMICT", X2APIC_ONLY, -VIRQ_ESTATE, c_tsc_mode_tmict),
	FN("TSC armed without deadline", X2APIC_ONLY, -VIRQ_ESTATE, c_tsc_armed_no_deadline),
	FN("TSC deadline not armed", X2APIC_ONLY, -VIRQ_ESTATE, c_tsc_deadline_not_armed),
	FN("armed with TMICT 0", XAPIC_ONLY, -VIRQ_ESTATE, c_armed_tmict0),
	FN("remaining beyond period", XAPIC_ONLY, -VIRQ_ESTATE, c_remaining_gt_period),
	FN("TMCCT above TMICT", XAPIC_ONLY, -VIRQ_ESTATE, c_tmcct_gt_tmict),
	/* Flags, events, pins, reserved. */
	FN("flags bit 2", BOTH, -VIRQ_ESTATE, c_flags_bit2),
	FN("flags bit 31", BOTH, -VIRQ_ESTATE, c_flags_bit31),
	FN("events bit 5", BOTH, -VIRQ_ESTATE, c_events_bit5),
	FN("events bit 31", BOTH, -VIRQ_ESTATE, c_events_bit31),
	FN("second NMI without the first", BOTH, -VIRQ_ESTATE, c_events_nmi2_alone),
	FN("second NMI in a version 2 state", BOTH, -VIRQ_ESTATE, c_events_nmi2_version2),
	FN("lint bit 6", BOTH, -VIRQ_ESTATE, c_lint_bit6),
	FN("lint bit 31", BOTH, -VIRQ_ESTATE, c_lint_bit31),
	FN("reserved", BOTH, -VIRQ_ESTATE, c_reserved),
	FN("sipi_vector 0x100", BOTH, -VIRQ_ESTATE, c_sipi_big),
	/* Review finding 3: LINT Remote IRR against IRR/ISR; 5: BSP. */
	FN("Remote IRR, its vector neither pending nor in service", XAPIC_ONLY, -VIRQ_ESTATE,
	   c_rirr_vector_gone),
	FN("Remote IRR, another vector", XAPIC_ONLY, -VIRQ_ESTATE, c_rirr_other_vector),
	FN("Remote IRR, vector below 16", XAPIC_ONLY, -VIRQ_ESTATE, c_rirr_vector_below_16),
	FN("Remote IRR, version 1, entry's vector not pending", XAPIC_ONLY, -VIRQ_ESTATE,
	   c_rirr_v1_vector_gone),
	FN("version 1 with lint_vectors", XAPIC_ONLY, -VIRQ_ESTATE, c_v1_lint_vectors_set),
	FN("LINT vector without Remote IRR", X2APIC_ONLY, -VIRQ_ESTATE, c_lint_vector_without_rirr),
	FN("Remote IRR without a vector", X2APIC_ONLY, -VIRQ_ESTATE, c_rirr_set_no_vector),
	FN("Remote IRR while globally disabled", XAPIC_ONLY, -VIRQ_ESTATE,
	   c_rirr_globally_disabled),
	FN("BSP waiting for SIPI", BOTH, -VIRQ_ESTATE, c_bsp_wait_sipi),
};

/* Every damaged state is refused with its code and changes nothing. */
static void test_restore_refuses_damaged_states(void **state)
{
	static struct lapic_fixture fx;
	static struct snapshot before;
	struct virq_lapic_state good, bad, after;
	unsigned tried = 0;

	(void)state;
	for (unsigned b = 0; b < 2; b++) {
		builders[b].build(&fx);
		save(&fx, &good);
		for (unsigned i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
			const struct corruption *c = &corruptions[i];
			int r;

			if ((c->where == XAPIC_ONLY && b != 0) ||
			    (c->where == X2APIC_ONLY && b != 1))
				continue;
			bad = good;
			if (c->fn)
				c->fn(&bad);
			else
				bad.regs[R(c->off)] ^= c->xor ;
			assert_memory_not_equal(&bad, &good, sizeof(bad));
			snap_take(&fx, &before);
			r = virq_lapic_restore(&fx.apic, &bad);
			if (r != c->err)
				print_error("%s state, \"%s\": restore returned %d, want %d\n",
					    builders[b].name, c->name, r, c->err);
			assert_int_equal(r, c->err);
			snap_expect(&fx, &before);
			save(&fx, &after);
			assert_memory_equal(&good, &after, sizeof(good));
			tried++;
		}
		assert_invariants(&fx);
	}
	assert_true(tried > 150);
}

/* A state from an x2APIC-capable LAPIC does not fit one without x2APIC,
 * nor one with another configuration (version register, ID). */
static void test_restore_refuses_config_mismatch(void **state)
{
	static struct lapic_fixture src, dst;
	static struct snapshot before;
	struct virq_lapic_config cfg = fixture_default_config();
	struct virq_lapic_state st;

	(void)state;
	cfg.apic_id = 5;
	fixture_init(&src, &cfg);
	fixture_x2apic_enable(&src);
	save(&src, &st);

	cfg.x2apic = false; /* EXTD reserved */
	fixture_init(&dst, &cfg);
	snap_take(&dst, &before);
	assert_int_equal(virq_lapic_restore(&dst.apic, &st), -VIRQ_ESTATE);
	snap_expect(&dst, &before);

	cfg = fixture_default_config();
	cfg.apic_id = 6; /* another x2APIC ID */
	fixture_init(&dst, &cfg);
	snap_take(&dst, &before);
	assert_int_equal(virq_lapic_restore(&dst.apic, &st), -VIRQ_ESTATE);
	snap_expect(&dst, &before);

	cfg.apic_id = 5;
	cfg.directed_eoi = true; /* version register differs */
	fixture_init(&dst, &cfg);
	snap_take(&dst, &before);
	assert_int_equal(virq_lapic_restore(&dst.apic, &st), -VIRQ_ESTATE);
	snap_expect(&dst, &before);

	cfg.directed_eoi = false;
	cfg.max_lvt = 5; /* CMCI slot must be empty, version differs */
	fixture_init(&dst, &cfg);
	snap_take(&dst, &before);
	assert_int_equal(virq_lapic_restore(&dst.apic, &st), -VIRQ_ESTATE);
	snap_expect(&dst, &before);

	cfg.max_lvt = 0;
	fixture_init(&dst, &cfg);
	assert_int_equal(virq_lapic_restore(&dst.apic, &st), 0);
	assert_invariants(&dst);
}

/*
 * Every single-bit flip of a valid state: refused with no change at all, or
 * accepted, and then save() yields a state restore() accepts again and that
 * round-trips byte-identically. No crash, invariants hold.
 */
static void test_restore_bit_flip_sweep(void **state)
{
	static struct lapic_fixture fx;
	static struct snapshot before;
	struct virq_lapic_state good, bad, s1, s2;
	unsigned refused = 0, accepted = 0;

	(void)state;
	for (unsigned b = 0; b < N_BUILDERS; b++) {
		builders[b].build(&fx);
		save(&fx, &good);
		for (size_t bit = 0; bit < sizeof(good) * 8; bit++) {
			int r;

			bad = good;
			((uint8_t *)&bad)[bit / 8] ^= (uint8_t)(1U << (bit % 8));
			snap_take(&fx, &before);
			r = virq_lapic_restore(&fx.apic, &bad);
			if (r) {
				if (r != -VIRQ_ESTATE && r != -VIRQ_EVERSION)
					print_error("%s bit %zu: %d\n", builders[b].name, bit, r);
				assert_true(r == -VIRQ_ESTATE || r == -VIRQ_EVERSION);
				snap_expect(&fx, &before);
				refused++;
				continue;
			}
			accepted++;
			assert_invariants(&fx);
			save(&fx, &s1);
			r = virq_lapic_restore(&fx.apic, &s1);
			if (r)
				print_error("%s bit %zu: re-saved state refused (%d)\n",
					    builders[b].name, bit, r);
			assert_int_equal(r, 0);
			assert_invariants(&fx);
			save(&fx, &s2);
			assert_memory_equal(&s1, &s2, sizeof(s1));
			/* Back to the valid state for the next bit. */
			assert_int_equal(virq_lapic_restore(&fx.apic, &good), 0);
		}
	}
	/* Both outcomes must actually occur. */
	assert_true(refused > 1000);
	assert_true(accepted > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_restore_save_identical),
		cmocka_unit_test(test_saved_xapic_fields),
		cmocka_unit_test(test_x2apic_icr_64bit_round_trip),
		cmocka_unit_test(test_restore_fresh_rearms_timer),
		cmocka_unit_test(test_restore_replaces_timer),
		cmocka_unit_test(test_save_after_timer_mode_switches_restorable),
		cmocka_unit_test(test_timer_mode_switch_round_trip),
		cmocka_unit_test(test_overdue_timer_round_trip),
		cmocka_unit_test(test_far_tsc_deadline_saturates),
		cmocka_unit_test(test_restore_overdue_timer_young_clock),
		cmocka_unit_test(test_restore_version1_state),
		cmocka_unit_test(test_restore_lint_vector_rewritten_in_service),
		cmocka_unit_test(test_restore_floored_periodic),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_restore_refuses_damaged_states),
		cmocka_unit_test(test_restore_refuses_config_mismatch),
		cmocka_unit_test(test_restore_bit_flip_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
