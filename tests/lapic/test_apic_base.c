/* SPDX-License-Identifier: MIT */
/*
 * IA32_APIC_BASE: the SDM transition table, reserved bits, BSP, base
 * relocation and the effects of each mode change (SDM 10.4.4 "Local
 * APIC Status and Location", 10.12.5 "x2APIC State Transitions", with
 * 10.4.7.1 "Local APIC State After Power-Up or Reset" and 10.12.10.2
 * "Deriving Logical x2APIC ID from the Local x2APIC ID" for the
 * resulting register file). Regression (peer bug): bhyve/HyperKit
 * reject every IA32_APIC_BASE write; ACRN/crosvm miss most transitions
 * (OSv and OVMF break).
 */
#include "harness.h"

#define BASE_DEF 0xFEE00000ULL
#define EN VIRQ_APIC_BASE_EN
#define EXTD VIRQ_APIC_BASE_EXTD
#define BSP VIRQ_APIC_BASE_BSP
#define TEST_ID 0x2A5U /* > 0xFF: only x2APIC shows all of it */

enum st {
	ST_DIS,
	ST_XAPIC,
	ST_X2APIC,
	ST_INVALID
};

static const char *const st_name[] = { "disabled", "xAPIC", "x2APIC", "invalid" };

static uint64_t st_bits(enum st s)
{
	switch (s) {
	case ST_DIS:
		return 0;
	case ST_XAPIC:
		return EN;
	case ST_X2APIC:
		return EN | EXTD;
	default:
		return EXTD;
	}
}

struct snap {
	struct virq_lapic apic;
	uint32_t page[1024];
};

static void snap_take(const struct lapic_fixture *fx, struct snap *s)
{
	memcpy(&s->apic, &fx->apic, sizeof(s->apic));
	memcpy(s->page, fx->page, sizeof(s->page));
}

static bool snap_same(const struct lapic_fixture *fx, const struct snap *s)
{
	return !memcmp(fx->page, s->page, sizeof(s->page)) &&
	       !memcmp(&fx->apic, &s->apic, sizeof(s->apic));
}

/* Page and object equal except for IA32_APIC_BASE itself. */
static bool snap_same_but_base(const struct lapic_fixture *fx, struct snap *s)
{
	uint64_t keep = s->apic.apic_base;
	bool same;

	s->apic.apic_base = fx->apic.apic_base;
	same = snap_same(fx, s);
	s->apic.apic_base = keep;
	return same;
}

static void init_cfg(struct lapic_fixture *fx, struct virq_lapic_config *cfg)
{
	*cfg = fixture_default_config();
	cfg->apic_id = TEST_ID;
	fixture_init(fx, cfg);
}

/* Dirty the register file in the current (enabled) mode. */
static void dirty(struct lapic_fixture *fx)
{
	if (virq_lapic_get_mode(&fx->apic) == VIRQ_LAPIC_MODE_X2APIC) {
		assert_int_equal(msr_w(fx, 0x80F, 0x1FF), 0);
		assert_int_equal(msr_w(fx, 0x808, 0x30), 0);
		assert_int_equal(msr_w(fx, 0x832, 0x20041), 0);
		assert_int_equal(msr_w(fx, 0x83E, 0xB), 0);
		assert_int_equal(msr_w(fx, 0x838, 5000), 0);
		assert_int_equal(msr_w(fx, 0x835, 0x8742), 0);
	} else {
		fixture_sw_enable(fx);
		mmio_w(fx, VIRQ_LAPIC_REG_TPR, 0x30);
		mmio_w(fx, VIRQ_LAPIC_REG_LDR, 0x44000000U);
		mmio_w(fx, VIRQ_LAPIC_REG_DFR, 0);
		mmio_w(fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x20041);
		mmio_w(fx, VIRQ_LAPIC_REG_TDCR, 0xB);
		mmio_w(fx, VIRQ_LAPIC_REG_TMICT, 5000);
		mmio_w(fx, VIRQ_LAPIC_REG_LVT_LINT0, 0x8742);
		mmio_w(fx, VIRQ_LAPIC_REG_ICR_HI, 0x5A000000U);
	}
	virq_lapic_post(&fx->apic, 0x61, false);
	virq_lapic_sync(&fx->apic);
	assert_true(fx->f.timer_armed);
}

/* Puts a fresh LAPIC into @s with a dirtied register file. */
static void reach(struct lapic_fixture *fx, enum st s)
{
	struct virq_lapic_config cfg;

	init_cfg(fx, &cfg);
	if (s == ST_X2APIC)
		assert_int_equal(
			virq_lapic_set_apic_base(&fx->apic, BASE_DEF | BSP | EN | EXTD, false), 0);
	dirty(fx);
	if (s == ST_DIS)
		assert_int_equal(virq_lapic_set_apic_base(&fx->apic, BASE_DEF | BSP, false), 0);
	memset(fx->f.gerr, 0, sizeof(fx->f.gerr));
	fx->f.n_gerr = 0;
}

static enum virq_lapic_mode mode_of(enum st s)
{
	return s == ST_DIS     ? VIRQ_LAPIC_MODE_DISABLED
	       : s == ST_XAPIC ? VIRQ_LAPIC_MODE_XAPIC
			       : VIRQ_LAPIC_MODE_X2APIC;
}

/* Power-up register file in @mode (SDM 10.4.7.1 "Local APIC State After Power-Up
 * or Reset"), ID and LDR per mode (SDM 10.4.6 "Local APIC ID", 10.12.10.2
 * "Deriving Logical x2APIC ID from the Local x2APIC ID"). */
static void expect_power_up(struct lapic_fixture *fx, bool x2)
{
	for (uint32_t off = 0; off < VIRQ_LAPIC_PAGE_SIZE; off += 4) {
		uint32_t want = 0;

		switch (off) {
		case 0x020:
			want = x2 ? TEST_ID : (TEST_ID << 24);
			break;
		case 0x030:
			want = 0x00060014U;
			break;
		case 0x0D0:
			want = x2 ? 0x002A0020U : 0; /* ((0x2A5 >> 4) << 16) | 1 << 5 */
			break;
		case 0x0E0:
			want = 0xFFFFFFFFU;
			break;
		case 0x0F0:
			want = 0xFFU;
			break;
		case 0x2F0:
		case 0x320:
		case 0x330:
		case 0x340:
		case 0x350:
		case 0x360:
		case 0x370:
			want = 0x00010000U;
			break;
		default:
			break;
		}
		if (fx->page[off / 4] != want)
			fail_msg("page 0x%03x = 0x%08x, want power-up 0x%08x", off,
				 fx->page[off / 4], want);
	}
	assert_int_equal(virq_lapic_pending(&fx->apic), VIRQ_LAPIC_NO_VECTOR);
}

/* ---- SDM 10.12.5 "x2APIC State Transitions": the whole transition table, guest
 * and host initiated ---- */

/* Guest WRMSR (SDM 10.12.5 "x2APIC State Transitions" Figure 10-27
 * "Local x2APIC State Transitions with IA32_APIC_BASE, INIT, and
 * RESET"). */
static const bool guest_ok[3][4] = {
	/* to:        dis    xapic  x2apic invalid */
	[ST_DIS] = { true, true, false, false },
	[ST_XAPIC] = { true, true, true, false },
	[ST_X2APIC] = { true, false, true, false },
};

static void check_transition(enum st from, enum st to, unsigned path)
{
	static struct lapic_fixture fx;
	static struct snap s;
	bool host = path == 2;
	bool ok = host ? to != ST_INVALID : guest_ok[from][to];
	uint64_t val = BASE_DEF | BSP | st_bits(to), v;
	int rc;

	reach(&fx, from);
	snap_take(&fx, &s);
	if (path == 1)
		rc = msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, val);
	else
		rc = virq_lapic_set_apic_base(&fx.apic, val, host);
	print_message("%s -> %s (%s): rc %d\n", st_name[from], st_name[to],
		      host   ? "host"
		      : path ? "WRMSR"
			     : "guest",
		      rc);
	if (!ok) {
		assert_int_equal(rc, VIRQ_GP);
		assert_true(snap_same(&fx, &s));
		assert_int_equal(fx.f.gerr[VIRQ_GERR_APIC_BASE], 1);
		assert_int_equal(fx.f.n_gerr, 1);
		assert_invariants(&fx);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), mode_of(to));
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), val);
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, val);
	if (from == to) {
		/* Same state: nothing else changes. */
		assert_true(snap_same(&fx, &s));
	} else if (from == ST_DIS) {
		/* Leaving disabled: power-up register file (EN 0->1: SDM 10.4.3
		 * "Enabling or Disabling the Local APIC" allows it; the
		 * project's choice). */
		expect_power_up(&fx, to == ST_X2APIC);
	} else if (to == ST_DIS) {
		/* As if there were no APIC: host timer stopped, page undecoded. */
		uint64_t m = 0;

		assert_false(fx.f.timer_armed);
		assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0x080, 4, &m), 0);
		assert_int_equal(m, 0xFFFFFFFFU);
		assert_int_equal(msr_r(&fx, 0x808, &m), VIRQ_GP);
		assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	} else if (to == ST_X2APIC) {
		assert_int_equal(virq_lapic_get_id(&fx.apic), TEST_ID);
		assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
		assert_int_equal(v, 0x002A0020U);
		assert_int_equal(msr_r(&fx, 0x808, &v), 0);
		assert_int_equal(v, 0x30);
	} else {
		/* x2APIC -> xAPIC, host only: 8-bit ID view, LDR 0, ICR high 0. */
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ID), (TEST_ID & 0xFF) << 24);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LDR), 0);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_HI), 0);
	}
	assert_invariants(&fx);
}

static void test_apic_base_transition_table(void **state)
{
	(void)state;
	for (unsigned from = ST_DIS; from <= ST_X2APIC; from++)
		for (unsigned to = ST_DIS; to <= ST_INVALID; to++)
			for (unsigned path = 0; path < 3; path++)
				check_transition((enum st)from, (enum st)to, path);
}

/* ---- reserved bits: 7:0, 9, >= MAXPHYADDR; EXTD without x2APIC ---- */

static void check_reserved_bits(unsigned phys_bits, enum st from)
{
	static struct lapic_fixture fx;
	static struct snap s;
	struct virq_lapic_config cfg;
	unsigned maxphys = phys_bits ? phys_bits : 36;

	for (unsigned b = 0; b < 64; b++) {
		uint64_t cur, val;
		bool rsvd = b <= 7 || b == 9 || b >= maxphys;

		if (b == 8 || b == 10 || b == 11)
			continue; /* BSP, EXTD, EN: tested elsewhere */
		for (unsigned host = 0; host < 2; host++) {
			cfg = fixture_default_config();
			cfg.phys_addr_bits = (uint8_t)phys_bits;
			fixture_init(&fx, &cfg);
			if (from == ST_X2APIC)
				fixture_x2apic_enable(&fx);
			else
				fixture_sw_enable(&fx);
			cur = virq_lapic_get_apic_base(&fx.apic);
			snap_take(&fx, &s);
			val = cur ^ (1ULL << b);
			if (rsvd) {
				if (virq_lapic_set_apic_base(&fx.apic, val, host) != VIRQ_GP)
					fail_msg("phys %u: bit %u accepted", maxphys, b);
				if (!snap_same(&fx, &s))
					fail_msg("phys %u: bit %u changed state", maxphys, b);
				assert_int_equal(fx.f.gerr[VIRQ_GERR_APIC_BASE], 1);
			} else {
				/* An address bit: relocation, nothing else changes. */
				if (virq_lapic_set_apic_base(&fx.apic, val, host) != 0)
					fail_msg("phys %u: address bit %u refused", maxphys, b);
				assert_int_equal(virq_lapic_get_apic_base(&fx.apic), val);
				assert_true(snap_same_but_base(&fx, &s));
			}
			assert_invariants(&fx);
		}
	}
}

static void test_apic_base_reserved_bits(void **state)
{
	(void)state;
	check_reserved_bits(0, ST_XAPIC);
	check_reserved_bits(0, ST_X2APIC);
	check_reserved_bits(36, ST_XAPIC);
	check_reserved_bits(46, ST_XAPIC);
	check_reserved_bits(46, ST_X2APIC);
	check_reserved_bits(52, ST_XAPIC);
}

static void test_apic_base_extd_without_x2apic(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	struct snap s;

	(void)state;
	cfg.x2apic = false;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	snap_take(&fx, &s);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP | EN | EXTD, false),
			 VIRQ_GP);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP | EN | EXTD, true),
			 VIRQ_GP);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, BASE_DEF | BSP | EN | EXTD), VIRQ_GP);
	assert_true(snap_same(&fx, &s));
	assert_int_equal(fx.f.gerr[VIRQ_GERR_APIC_BASE], 3);
	/* From disabled, too. */
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP, false), 0);
	snap_take(&fx, &s);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP | EN | EXTD, true),
			 VIRQ_GP);
	assert_true(snap_same(&fx, &s));
	assert_invariants(&fx);
}

/* Invalid EN=0/EXTD=1 is refused even host-initiated, from every state. */
static void test_apic_base_invalid_state_host(void **state)
{
	struct lapic_fixture fx;
	struct snap s;

	(void)state;
	for (unsigned from = ST_DIS; from <= ST_X2APIC; from++) {
		reach(&fx, (enum st)from);
		snap_take(&fx, &s);
		assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP | EXTD, true),
				 VIRQ_GP);
		assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BSP | EXTD, true), VIRQ_GP);
		assert_true(snap_same(&fx, &s));
		assert_invariants(&fx);
	}
}

/* ---- BSP is read-only (SDM 10.4.4 "Local APIC Status and Location") ---- */

static void test_apic_base_bsp_readonly(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	/* BSP: writing BSP=0 keeps it set. */
	fixture_init(&fx, &cfg);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | EN, false), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_DEF | BSP | EN);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | EN, true), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_DEF | BSP | EN);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | EN | EXTD, false), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_DEF | BSP | EN | EXTD);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
	/* AP: writing BSP=1 keeps it clear. */
	cfg.bsp = false;
	fixture_init(&fx, &cfg);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP | EN, false), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_DEF | EN);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP, true), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_DEF);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

/* ---- effects of xAPIC -> x2APIC (SDM 10.12.5.1 "x2APIC States") ---- */

static void test_apic_base_xapic_to_x2apic_effects(void **state)
{
	static const uint32_t kept[] = { 0x080, 0x0A0, 0x0F0, 0x300, 0x320, 0x330, 0x340,
					 0x350, 0x360, 0x370, 0x2F0, 0x380, 0x3E0 };
	static struct lapic_fixture fx;
	static struct snap s;
	struct virq_lapic_config cfg = fixture_default_config();
	uint64_t deadline, v;

	(void)state;
	cfg.apic_id = 0x1234;
	cfg.xapic_id_writable = true;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_ID, 0x77000000U); /* guest-written ID */
	mmio_w(&fx, VIRQ_LAPIC_REG_LDR, 0xAB000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x25);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_CMCI, 0x432);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x20051);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_THERMAL, 0x10052);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_PMC, 0x253);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, 0x10754);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT1, 0x455);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0x56);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0x3);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 777);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x5A000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00004057U);
	assert_int_equal(fx.f.n_ipis, 1);
	deadline = fx.f.timer_deadline;
	snap_take(&fx, &s);

	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP | EN | EXTD, false), 0);
	/* ID: the hardware 32-bit ID replaces the written one; LDR derived. */
	assert_int_equal(msr_r(&fx, 0x802, &v), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
	assert_int_equal(v, 0x01230010U);
	/* ICR high not preserved; ICR low is. */
	assert_int_equal(msr_r(&fx, 0x830, &v), 0);
	assert_int_equal(v, 0x4057);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_ICR_HI / 4], 0);
	/* TPR, PPR, SVR, LVTs, timer registers kept. */
	for (unsigned i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (fx.page[kept[i] / 4] != s.page[kept[i] / 4])
			fail_msg("0x%03x not kept: 0x%08x -> 0x%08x", kept[i], s.page[kept[i] / 4],
				 fx.page[kept[i] / 4]);
	assert_int_equal(msr_r(&fx, 0x808, &v), 0);
	assert_int_equal(v, 0x25);
	assert_int_equal(msr_r(&fx, 0x832, &v), 0);
	assert_int_equal(v, 0x20051);
	/* The timer keeps running. */
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, deadline);
	assert_int_equal(msr_r(&fx, 0x839, &v), 0);
	assert_int_equal(v, 777);
	/* Page no longer decoded. */
	assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0x080, 4, &v), 0);
	assert_int_equal(v, 0xFFFFFFFFU);
	assert_invariants(&fx);
}

/* ---- disabled: page reads all ones; EN 0->1 gives power-up registers ---- */

static void test_apic_base_disable_reenable_resets(void **state)
{
	static struct lapic_fixture fx;
	struct virq_lapic_config cfg;
	unsigned cancels;
	uint64_t v;

	(void)state;
	for (unsigned from = ST_XAPIC; from <= ST_X2APIC; from++) {
		init_cfg(&fx, &cfg);
		if (from == ST_X2APIC)
			assert_int_equal(virq_lapic_set_apic_base(
						 &fx.apic, BASE_DEF | BSP | EN | EXTD, false),
					 0);
		dirty(&fx);
		cancels = fx.f.timer_cancels;
		assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP, false), 0);
		assert_false(fx.f.timer_armed);
		assert_int_equal(fx.f.timer_cancels, cancels + 1);
		for (unsigned sz = 1; sz <= 8; sz *= 2) {
			assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0x020, sz, &v), 0);
			assert_int_equal(v, sz == 8 ? ~0ULL : (1ULL << (sz * 8)) - 1);
		}
		/* Fixed interrupts are not accepted while disabled. */
		virq_lapic_post(&fx.apic, 0x71, false);
		virq_lapic_sync(&fx.apic);
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x71));
		assert_int_equal(virq_lapic_set_apic_base(&fx.apic, BASE_DEF | BSP | EN, false), 0);
		assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_XAPIC);
		expect_power_up(&fx, false);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ID), (TEST_ID & 0xFF) << 24);
		assert_false(fx.f.timer_armed);
		assert_invariants(&fx);
	}
}

/* ---- relocation (SDM 10.4.4 "Local APIC Status and Location"; per
 * vCPU, as KVM honours it) ---- */

static void test_apic_base_relocation(void **state)
{
	static const uint64_t bases[] = { 0xFED00000ULL,  0x0000000ABCDEF000ULL,
					  0x1000ULL,      0,
					  0xFFFFFF000ULL, BASE_DEF };
	static struct lapic_fixture fx;
	static struct snap s;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	dirty(&fx);
	for (unsigned i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		snap_take(&fx, &s);
		assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, bases[i] | BSP | EN), 0);
		assert_int_equal(virq_lapic_get_apic_base(&fx.apic), bases[i] | BSP | EN);
		assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_APIC_BASE, &v), 0);
		assert_int_equal(v, bases[i] | BSP | EN);
		assert_true(snap_same_but_base(&fx, &s));
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), 0x30);
	}
	/* Relocation together with xAPIC -> x2APIC. */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, 0xFEC00000ULL | BSP | EN | EXTD), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), 0xFEC00000ULL | BSP | EN | EXTD);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_X2APIC);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apic_base_transition_table),
		cmocka_unit_test(test_apic_base_reserved_bits),
		cmocka_unit_test(test_apic_base_extd_without_x2apic),
		cmocka_unit_test(test_apic_base_invalid_state_host),
		cmocka_unit_test(test_apic_base_bsp_readonly),
		cmocka_unit_test(test_apic_base_xapic_to_x2apic_effects),
		cmocka_unit_test(test_apic_base_disable_reenable_resets),
		cmocka_unit_test(test_apic_base_relocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
