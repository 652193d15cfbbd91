/* SPDX-License-Identifier: MIT */
/*
 * NMI, SMI, INIT, SIPI and ExtINT messages: virq_lapic_post_msg() ->
 * virq_lapic_take_events(), INIT reset, wait-for-SIPI, kicks.
 * Written from SDM 10.4.7 "Local APIC State", 10.5.1 "Local Vector
 * Table", 10.6.1 "Interrupt Command Register (ICR)" and 8.4
 * "Multiple-Processor (MP) Initialization" (and the peer bugs the tests
 * cite).
 */
#include "harness.h"

/* ---- helpers ---- */

static struct virq_apic_msg msg_of(unsigned dm, uint8_t vec)
{
	struct virq_apic_msg m;

	memset(&m, 0, sizeof(m));
	m.dest = 0;
	m.src = VIRQ_MSG_SRC_NONE;
	m.vector = vec;
	m.delivery = (uint8_t)dm;
	m.shorthand = VIRQ_SH_NONE;
	m.level = true;
	m.trigger_level = dm == VIRQ_DM_EXTINT;
	return m;
}

static void post_ev(struct lapic_fixture *fx, unsigned dm, uint8_t vec)
{
	struct virq_apic_msg m = msg_of(dm, vec);

	virq_lapic_post_msg(&fx->apic, &m);
}

/* Takes events and checks the flags, the SIPI vector when reported and
 * the NMI count (@nmis, 0 without VIRQ_LAPIC_EV_NMI). */
static void take_expect_nmis(struct lapic_fixture *fx, uint32_t flags, uint8_t sipi, unsigned nmis)
{
	struct virq_lapic_events ev;

	memset(&ev, 0xA5, sizeof(ev));
	assert_int_equal(virq_lapic_take_events(&fx->apic, &ev), flags);
	assert_int_equal(ev.flags, flags);
	assert_int_equal(ev.sipi_vector, (flags & VIRQ_LAPIC_EV_SIPI) ? sipi : 0);
	assert_int_equal(ev.nmi_count, (flags & VIRQ_LAPIC_EV_NMI) ? nmis : 0);
}

/* The same with one NMI when VIRQ_LAPIC_EV_NMI is expected. */
static void take_expect(struct lapic_fixture *fx, uint32_t flags, uint8_t sipi)
{
	take_expect_nmis(fx, flags, sipi, 1);
}

static void ap_init(struct lapic_fixture *fx, uint32_t id)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.apic_id = id;
	cfg.bsp = false;
	fixture_init(fx, &cfg);
}

/* ---- SDM 10.5.1 "Local Vector Table", 10.6.1 "Interrupt Command
 * Register (ICR)": NMI, SMI, ExtINT ---- */

static void test_nmi_smi_extint_taken_once(void **state)
{
	static const struct {
		unsigned dm;
		uint32_t flag;
	} t[] = { { VIRQ_DM_NMI, VIRQ_LAPIC_EV_NMI },
		  { VIRQ_DM_SMI, VIRQ_LAPIC_EV_SMI },
		  { VIRQ_DM_EXTINT, VIRQ_LAPIC_EV_EXTINT } };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned sw = 0; sw < 2; sw++) {
		for (unsigned i = 0; i < 3; i++) {
			fixture_init(&fx, NULL);
			if (sw)
				fixture_sw_enable(&fx);
			post_ev(&fx, t[i].dm, 0x2B);
			assert_int_equal(fx.f.kicks, 1);
			assert_true(virq_lapic_has_work(&fx.apic));
			take_expect(&fx, t[i].flag, 0);
			take_expect(&fx, 0, 0);
			assert_false(virq_lapic_has_work(&fx.apic));
			/* No trace in IRR/ISR (SDM 10.8.4 "Interrupt Acceptance
			 * for Fixed Interrupts": these bypass them). */
			for (unsigned w = 0; w < 8; w++) {
				assert_int_equal(fx.page[(VIRQ_LAPIC_REG_IRR >> 2) + 4 * w], 0);
				assert_int_equal(fx.page[(VIRQ_LAPIC_REG_ISR >> 2) + 4 * w], 0);
			}
			assert_invariants(&fx);
		}

		fixture_init(&fx, NULL);
		if (sw)
			fixture_sw_enable(&fx);
		post_ev(&fx, VIRQ_DM_SMI, 0);
		post_ev(&fx, VIRQ_DM_EXTINT, 0);
		post_ev(&fx, VIRQ_DM_NMI, 0);
		take_expect(&fx, VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_SMI | VIRQ_LAPIC_EV_EXTINT, 0);
		take_expect(&fx, 0, 0);
		assert_int_equal(fx.f.kicks, 1);
		assert_invariants(&fx);
	}
}

/* Regression (ACRN: multiple NMIs): each NMI taken between posts is reported;
 * two posted before a take are two NMIs (one kick), a third merges. */
static void test_multiple_nmis(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (unsigned i = 1; i <= 5; i++) {
		post_ev(&fx, VIRQ_DM_NMI, 0);
		assert_int_equal(fx.f.kicks, i);
		take_expect(&fx, VIRQ_LAPIC_EV_NMI, 0);
	}
	post_ev(&fx, VIRQ_DM_NMI, 0);
	post_ev(&fx, VIRQ_DM_NMI, 0);
	assert_int_equal(fx.f.kicks, 6);
	take_expect_nmis(&fx, VIRQ_LAPIC_EV_NMI, 0, 2);
	take_expect(&fx, 0, 0);
	for (unsigned i = 0; i < 3; i++)
		post_ev(&fx, VIRQ_DM_NMI, 0);
	assert_int_equal(fx.f.kicks, 7);
	take_expect_nmis(&fx, VIRQ_LAPIC_EV_NMI, 0, 2);
	take_expect(&fx, 0, 0);
	assert_invariants(&fx);
}

/*
 * NMIs raised by the LAPIC itself (an LVT entry with NMI delivery, a LINT1
 * edge into an NMI entry) count like posted ones, and the two sources add
 * up to two. Before the count existed every case below reported one NMI
 * (the flag merged them).
 */
static void test_nmi_count_local_and_posted(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_THERMAL, (uint32_t)VIRQ_DM_NMI << VIRQ_LVT_DM_SHIFT);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT1, (uint32_t)VIRQ_DM_NMI << VIRQ_LVT_DM_SHIFT);

	/* Two thermal NMIs. */
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	assert_true(virq_lapic_has_work(&fx.apic));
	take_expect_nmis(&fx, VIRQ_LAPIC_EV_NMI, 0, 2);
	take_expect(&fx, 0, 0);

	/* Two LINT1 edges, each applied before the next (a sync between). */
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, true), 0);
	virq_lapic_sync(&fx.apic);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, false), 0);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, true), 0);
	take_expect_nmis(&fx, VIRQ_LAPIC_EV_NMI, 0, 2);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, false), 0);

	/* One local and one posted. */
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	post_ev(&fx, VIRQ_DM_NMI, 0);
	take_expect_nmis(&fx, VIRQ_LAPIC_EV_NMI, 0, 2);

	/* Two of each, and three local: still two. */
	post_ev(&fx, VIRQ_DM_NMI, 0);
	post_ev(&fx, VIRQ_DM_NMI, 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	take_expect_nmis(&fx, VIRQ_LAPIC_EV_NMI, 0, 2);
	take_expect(&fx, 0, 0);

	/* INIT discards both. */
	post_ev(&fx, VIRQ_DM_NMI, 0);
	assert_int_equal(virq_lapic_deliver_lvt(&fx.apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	post_ev(&fx, VIRQ_DM_INIT, 0);
	take_expect(&fx, VIRQ_LAPIC_EV_INIT, 0);
	take_expect(&fx, 0, 0);
	assert_invariants(&fx);
}

/* A globally disabled APIC: no APIC, LINT1 is the NMI pin; its edges count. */
static void test_nmi_count_lint1_without_apic(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	assert_int_equal(virq_lapic_set_apic_base(
				 &fx.apic, VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_BSP, false),
			 0);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, true), 0);
	virq_lapic_sync(&fx.apic);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, false), 0);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, true), 0);
	post_ev(&fx, VIRQ_DM_NMI, 0); /* a message finds no APIC: dropped */
	take_expect_nmis(&fx, VIRQ_LAPIC_EV_NMI, 0, 2);
	take_expect(&fx, 0, 0);
	assert_invariants(&fx);
}

/* Reserved delivery mode 3 posted as a message: ignored (lapic.h post_msg). */
static void test_reserved_message_ignored(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	post_ev(&fx, VIRQ_DM_RESERVED3, 0x40);
	assert_int_equal(fx.f.kicks, 0);
	take_expect(&fx, 0, 0);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_invariants(&fx);
}

/* Fixed and lowest-priority messages go through IRR (lapic.h post_msg). */
static void test_fixed_lowest_messages_go_to_irr(void **state)
{
	struct lapic_fixture fx;
	struct virq_apic_msg m;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	m = msg_of(VIRQ_DM_FIXED, 0x45);
	m.trigger_level = true;
	virq_lapic_post_msg(&fx.apic, &m);
	m = msg_of(VIRQ_DM_LOWEST, 0x46);
	virq_lapic_post_msg(&fx.apic, &m);
	assert_int_equal(fx.f.kicks, 2); /* one per channel: level, edge */
	take_expect(&fx, 0, 0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x45));
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x45));
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x46));
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x46));
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x46);
	assert_invariants(&fx);
}

/* ---- SDM 10.4.7.3 "Local APIC State After an INIT Reset
 * ("Wait-for-SIPI" State)", 8.4 "Multiple-Processor (MP)
 * Initialization": INIT ---- */

/* Compares the register page (0x000-0x3FF) with a reference, slot by slot. */
static void expect_page(const uint32_t *got, const uint32_t *want)
{
	for (unsigned off = 0; off < 0x400; off += 4) {
		if (got[off >> 2] != want[off >> 2])
			print_error("offset 0x%03x: 0x%08x, want 0x%08x\n", off, got[off >> 2],
				    want[off >> 2]);
		assert_int_equal(got[off >> 2], want[off >> 2]);
	}
}

static void test_init_resets_xapic(void **state)
{
	struct virq_lapic_config cfg = fixture_default_config();
	struct lapic_fixture fx, ref;
	uint64_t base;

	(void)state;
	cfg.apic_id = 2;
	cfg.xapic_id_writable = true;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	fx.f.now = 5000;

	/* Everything INIT must reset, given a non-reset value. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ID, 0x09000000U); /* kept */
	mmio_w(&fx, VIRQ_LAPIC_REG_LDR, 0x04000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_DFR, 0x0FFFFFFFU);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_CMCI, 0x53);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_THERMAL, 0x51);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_PMC, 0x52);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, 0x700);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT1, 0x400);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0xEE);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x200D0);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0x3);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 1000);
	assert_true(fx.f.timer_armed);
	virq_lapic_post(&fx.apic, 0x91, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x91);
	virq_lapic_post(&fx.apic, 0x35, true);
	virq_lapic_post(&fx.apic, 0x03, false); /* ESR bit 6, raises LVT Error 0xEE */
	virq_lapic_sync(&fx.apic);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), VIRQ_LAPIC_ESR_RECV_ILLEGAL);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x30);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x05000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x40F0);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x4002); /* ESR bit 5 latched, pending */
	assert_int_equal(fx.f.n_ipis, 1);
	virq_lapic_post(&fx.apic, 0x77, false); /* posted, not yet accepted */
	base = virq_lapic_get_apic_base(&fx.apic);

	post_ev(&fx, VIRQ_DM_INIT, 0);
	take_expect(&fx, VIRQ_LAPIC_EV_INIT, 0);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE); /* BSP */
	assert_int_equal(fx.f.timer_cancels, 1);
	assert_false(fx.f.timer_armed);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), base);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_XAPIC);

	/* Register by register (SDM 10.4.7.1 "Local APIC State After Power-Up or Reset" values). */
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ID), 0x09000000U);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_VERSION), 0x00060014U);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LDR), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_DFR), 0xFFFFFFFFU);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_SVR), 0xFF);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ISR + 16 * i), 0);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMR + 16 * i), 0);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_IRR + 16 * i), 0);
	}
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_LO), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_HI), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_CMCI), VIRQ_LVT_RESET);
	for (uint32_t off = VIRQ_LAPIC_REG_LVT_TIMER; off <= VIRQ_LAPIC_REG_LVT_ERROR; off += 16)
		assert_int_equal(mmio_r(&fx, off), VIRQ_LVT_RESET);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMCCT), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TDCR), 0);
	/* The latched errors went with the reset. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0);

	/* The whole page equals power-up, except the kept ID. */
	fixture_init(&ref, &cfg);
	ref.page[VIRQ_LAPIC_REG_ID >> 2] = 0x09000000U;
	expect_page(fx.page, ref.page);

	/* Nothing survives: no vector, no timer. */
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	fx.f.now += 1000000;
	virq_lapic_timer_expired(&fx.apic);
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x1FF);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_false(virq_lapic_has_work(&fx.apic));
	assert_invariants(&fx);
}

/* INIT in x2APIC mode: the mode, the ID and the derived LDR stay. */
static void test_init_resets_x2apic_keeps_mode(void **state)
{
	struct virq_lapic_config cfg = fixture_default_config();
	struct lapic_fixture fx, ref;
	const uint64_t base = 0xFEE00000ULL | VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD |
			      VIRQ_APIC_BASE_BSP;
	uint64_t v;

	(void)state;
	cfg.apic_id = 0x12345;
	fixture_init(&fx, &cfg);
	fixture_x2apic_enable(&fx);
	fx.f.use_guest_tsc = true;
	assert_int_equal(msr_w(&fx, 0x808, 0x20), 0);
	assert_int_equal(msr_w(&fx, 0x832, 0x400E1), 0); /* TSC deadline */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, 1000), 0);
	assert_true(fx.f.timer_armed);
	assert_int_equal(msr_w(&fx, 0x835, 0x8740), 0);
	assert_int_equal(msr_w(&fx, 0x837, 0xEF), 0);
	assert_int_equal(msr_w(&fx, 0x830, 0x0000000500004060ULL), 0);
	virq_lapic_post(&fx.apic, 0xC1, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0xC1);
	virq_lapic_post(&fx.apic, 0xD1, false);
	virq_lapic_sync(&fx.apic);

	post_ev(&fx, VIRQ_DM_INIT, 0);
	take_expect(&fx, VIRQ_LAPIC_EV_INIT, 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), base);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_X2APIC);
	assert_int_equal(virq_lapic_get_id(&fx.apic), 0x12345);
	assert_int_equal(msr_r(&fx, 0x802, &v), 0);
	assert_int_equal(v, 0x12345);
	assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
	assert_int_equal(v, (0x1234U << 16) | (1U << 5));
	assert_int_equal(msr_r(&fx, 0x80F, &v), 0);
	assert_int_equal(v, 0xFF);
	assert_int_equal(msr_r(&fx, 0x808, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msr_r(&fx, 0x830, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msr_r(&fx, 0x832, &v), 0);
	assert_int_equal(v, VIRQ_LVT_RESET);
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(fx.f.timer_cancels, 1);
	assert_false(fx.f.timer_armed);

	/* Power-up page, switched to x2APIC, software-disabled. */
	fixture_init(&ref, &cfg);
	assert_int_equal(virq_lapic_set_apic_base(&ref.apic, base, false), 0);
	expect_page(fx.page, ref.page);
	assert_invariants(&fx);
}

/* An AP: wait-for-SIPI at reset, runnable after SIPI, back after INIT. */
static void test_init_ap_waits_for_sipi(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	ap_init(&fx, 1);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
	assert_false(virq_lapic_has_work(&fx.apic));

	post_ev(&fx, VIRQ_DM_STARTUP, 0x9A);
	assert_true(virq_lapic_has_work(&fx.apic));
	take_expect(&fx, VIRQ_LAPIC_EV_SIPI, 0x9A);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);
	take_expect(&fx, 0, 0);

	fixture_sw_enable(&fx);
	post_ev(&fx, VIRQ_DM_INIT, 0);
	assert_true(virq_lapic_has_work(&fx.apic));
	take_expect(&fx, VIRQ_LAPIC_EV_INIT, 0);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_SVR), 0xFF);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ID), 1U << 24);
	assert_false(virq_lapic_has_work(&fx.apic));

	/* A SIPI with a low page number is fine: it is not a vector. */
	post_ev(&fx, VIRQ_DM_STARTUP, 0x08);
	take_expect(&fx, VIRQ_LAPIC_EV_SIPI, 0x08);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);
	assert_invariants(&fx);
}

/* INIT then SIPI posted before one take: INIT applies first, then the SIPI. */
static void test_init_then_sipi_in_one_take(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	ap_init(&fx, 3);
	post_ev(&fx, VIRQ_DM_STARTUP, 0x10);
	take_expect(&fx, VIRQ_LAPIC_EV_SIPI, 0x10);
	post_ev(&fx, VIRQ_DM_INIT, 0);
	post_ev(&fx, VIRQ_DM_STARTUP, 0x20);
	assert_int_equal(fx.f.kicks, 2);
	take_expect(&fx, VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI, 0x20);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);
	assert_invariants(&fx);
}

/* The BSP: INIT keeps it runnable; a SIPI is then dropped. */
static void test_init_bsp_stays_runnable(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	post_ev(&fx, VIRQ_DM_INIT, 0);
	take_expect(&fx, VIRQ_LAPIC_EV_INIT, 0);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);
	post_ev(&fx, VIRQ_DM_STARTUP, 0x9A);
	take_expect(&fx, 0, 0);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);
	assert_invariants(&fx);
}

/* SIPI outside wait-for-SIPI is dropped, not latched or retried (SDM 8.4
 * "Multiple-Processor (MP) Initialization", 10.6.1 "Interrupt Command Register
 * (ICR)"). */
static void test_sipi_not_waiting_dropped(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	ap_init(&fx, 4);
	post_ev(&fx, VIRQ_DM_STARTUP, 0x11);
	take_expect(&fx, VIRQ_LAPIC_EV_SIPI, 0x11);

	/* The MP protocol's second SIPI: ignored. */
	post_ev(&fx, VIRQ_DM_STARTUP, 0x11);
	take_expect(&fx, 0, 0);
	post_ev(&fx, VIRQ_DM_STARTUP, 0x22);
	take_expect(&fx, 0, 0);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);

	/* Not remembered: a later INIT does not find an old SIPI. */
	post_ev(&fx, VIRQ_DM_INIT, 0);
	take_expect(&fx, VIRQ_LAPIC_EV_INIT, 0);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
	take_expect(&fx, 0, 0);
	assert_false(virq_lapic_has_work(&fx.apic));
	assert_invariants(&fx);
}

/* INIT level de-assert (level 0, trigger level): ignored entirely (SDM 10.4.7.4
 * "Local APIC State After It Receives an INIT-Deassert IPI"). */
static void test_init_deassert_ignored(void **state)
{
	struct lapic_fixture fx;
	struct virq_apic_msg m = msg_of(VIRQ_DM_INIT, 0);
	uint32_t before[256];

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x40);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 100);
	memcpy(before, fx.page, sizeof(before));
	m.level = false;
	m.trigger_level = true;
	virq_lapic_post_msg(&fx.apic, &m);
	assert_int_equal(fx.f.kicks, 0);
	take_expect(&fx, 0, 0);
	assert_memory_equal(before, fx.page, sizeof(before));
	assert_int_equal(fx.f.timer_cancels, 0);
	assert_false(virq_lapic_has_work(&fx.apic));

	/* Same for an AP waiting for SIPI. */
	ap_init(&fx, 1);
	virq_lapic_post_msg(&fx.apic, &m);
	assert_int_equal(fx.f.kicks, 0);
	take_expect(&fx, 0, 0);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
	assert_invariants(&fx);
}

/* In wait-for-SIPI NMIs stay pending, counted, until the SIPI starts the AP. */
static void test_wait_sipi_holds_nmi(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned n = 1; n <= 3; n++) {
		ap_init(&fx, 2);
		post_ev(&fx, VIRQ_DM_NMI, 0);
		take_expect(&fx, 0, 0);
		take_expect(&fx, 0, 0);
		assert_false(virq_lapic_has_work(&fx.apic));
		assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
		for (unsigned i = 1; i < n; i++) {
			post_ev(&fx, VIRQ_DM_NMI, 0);
			take_expect(&fx, 0, 0);
		}

		post_ev(&fx, VIRQ_DM_STARTUP, 0x07);
		take_expect_nmis(&fx, VIRQ_LAPIC_EV_SIPI | VIRQ_LAPIC_EV_NMI, 0x07, n > 2 ? 2 : n);
		take_expect(&fx, 0, 0);
		assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);
		assert_invariants(&fx);
	}
}

/* A globally disabled APIC receives no messages: dropped, not held (SDM 10.4.3
 * "Enabling or Disabling the Local APIC"). */
static void test_events_dropped_while_globally_disabled(void **state)
{
	static const unsigned dms[] = { VIRQ_DM_NMI, VIRQ_DM_SMI, VIRQ_DM_INIT, VIRQ_DM_STARTUP,
					VIRQ_DM_EXTINT };
	struct lapic_fixture fx;
	const uint64_t base = 0xFEE00000ULL; /* AP, EN = 0 */

	(void)state;
	for (unsigned i = 0; i < sizeof(dms) / sizeof(dms[0]); i++) {
		uint32_t before[1024];

		ap_init(&fx, 6);
		assert_int_equal(virq_lapic_set_apic_base(&fx.apic, base, false), 0);
		memcpy(before, fx.page, sizeof(before));
		post_ev(&fx, dms[i], 0x30);
		take_expect(&fx, 0, 0);
		assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_DISABLED);
		assert_int_equal(virq_lapic_get_apic_base(&fx.apic), base);
		assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
		assert_memory_equal(before, fx.page, sizeof(before));
		assert_false(virq_lapic_has_work(&fx.apic));

		/* Re-enabled: nothing was kept. */
		assert_int_equal(
			virq_lapic_set_apic_base(&fx.apic, base | VIRQ_APIC_BASE_EN, false), 0);
		take_expect(&fx, 0, 0);
		assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
		assert_invariants(&fx);
	}
}

/* A software-disabled APIC still accepts NMI, SMI, INIT and SIPI (SDM 10.4.7.2
 * "Local APIC State After It Has Been Software Disabled"). */
static void test_events_accepted_while_sw_disabled(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	ap_init(&fx, 5); /* SVR = 0xFF after reset */
	post_ev(&fx, VIRQ_DM_STARTUP, 0x12);
	take_expect(&fx, VIRQ_LAPIC_EV_SIPI, 0x12);
	post_ev(&fx, VIRQ_DM_NMI, 0);
	post_ev(&fx, VIRQ_DM_SMI, 0);
	take_expect(&fx, VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_SMI, 0);
	post_ev(&fx, VIRQ_DM_INIT, 0);
	take_expect(&fx, VIRQ_LAPIC_EV_INIT, 0);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
	assert_invariants(&fx);
}

/* ---- lapic.h threads section: one kick per empty -> non-empty transition ---- */

static void test_events_kick_once_per_transition(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	ap_init(&fx, 7);
	post_ev(&fx, VIRQ_DM_STARTUP, 0x01);
	assert_int_equal(fx.f.kicks, 1);
	take_expect(&fx, VIRQ_LAPIC_EV_SIPI, 0x01);
	fixture_sw_enable(&fx);

	post_ev(&fx, VIRQ_DM_NMI, 0);
	assert_int_equal(fx.f.kicks, 2);
	post_ev(&fx, VIRQ_DM_SMI, 0);
	post_ev(&fx, VIRQ_DM_EXTINT, 0);
	post_ev(&fx, VIRQ_DM_NMI, 0);
	post_ev(&fx, VIRQ_DM_STARTUP, 0x02);
	assert_int_equal(fx.f.kicks, 2);
	take_expect_nmis(&fx, VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_SMI | VIRQ_LAPIC_EV_EXTINT, 0, 2);
	assert_int_equal(fx.f.kicks, 2);
	take_expect(&fx, 0, 0); /* taking nothing does not re-arm anything */
	post_ev(&fx, VIRQ_DM_SMI, 0);
	assert_int_equal(fx.f.kicks, 3);
	post_ev(&fx, VIRQ_DM_SMI, 0);
	assert_int_equal(fx.f.kicks, 3);
	take_expect(&fx, VIRQ_LAPIC_EV_SMI, 0);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nmi_smi_extint_taken_once),
		cmocka_unit_test(test_multiple_nmis),
		cmocka_unit_test(test_nmi_count_local_and_posted),
		cmocka_unit_test(test_nmi_count_lint1_without_apic),
		cmocka_unit_test(test_reserved_message_ignored),
		cmocka_unit_test(test_fixed_lowest_messages_go_to_irr),
		cmocka_unit_test(test_init_resets_xapic),
		cmocka_unit_test(test_init_resets_x2apic_keeps_mode),
		cmocka_unit_test(test_init_ap_waits_for_sipi),
		cmocka_unit_test(test_init_then_sipi_in_one_take),
		cmocka_unit_test(test_init_bsp_stays_runnable),
		cmocka_unit_test(test_sipi_not_waiting_dropped),
		cmocka_unit_test(test_init_deassert_ignored),
		cmocka_unit_test(test_wait_sipi_holds_nmi),
		cmocka_unit_test(test_events_dropped_while_globally_disabled),
		cmocka_unit_test(test_events_accepted_while_sw_disabled),
		cmocka_unit_test(test_events_kick_once_per_transition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
