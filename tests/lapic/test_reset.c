/* SPDX-License-Identifier: MIT */
/*
 * Power-up state, virq_lapic_reset() and virq_lapic_init() argument checks.
 * SDM 10.4.1 Table 10-1 (register map), 10.4.4 (IA32_APIC_BASE reset
 * value), 10.4.7.1 (RESET state), 10.4.6 and 10.4.8 (ID, Version).
 */
#include "harness.h"

#define LVT_RESET 0x00010000U
#define BASE_BSP_RESET 0xFEE00900ULL
#define BASE_AP_RESET 0xFEE00800ULL

/* xAPIC register slots that exist (SDM Table 10-1); everything else is reserved. */
static bool xapic_is_reg(uint32_t off, bool cmci)
{
	if (off >= 0x100 && off <= 0x280)
		return true; /* ISR, TMR, IRR, ESR */
	if (off >= 0x300 && off <= 0x390)
		return true; /* ICR, LVTs, timer counts */
	switch (off) {
	case 0x020:
	case 0x030:
	case 0x080:
	case 0x090:
	case 0x0A0:
	case 0x0B0:
	case 0x0C0:
	case 0x0D0:
	case 0x0E0:
	case 0x0F0:
	case 0x3E0:
		return true;
	case 0x2F0:
		return cmci;
	default:
		return false;
	}
}

/* The power-up value of a 32-bit word of the register page (SDM 10.4.7.1). */
static uint32_t power_up_word(uint32_t off, uint32_t id_reg, uint32_t version, bool cmci)
{
	switch (off) {
	case 0x020:
		return id_reg;
	case 0x030:
		return version;
	case 0x0E0:
		return 0xFFFFFFFFU;
	case 0x0F0:
		return 0x000000FFU;
	case 0x2F0:
		return cmci ? LVT_RESET : 0;
	case 0x320:
	case 0x330:
	case 0x340:
	case 0x350:
	case 0x360:
	case 0x370:
		return LVT_RESET;
	default:
		return 0;
	}
}

/* Every observable of the register file at RESET, xAPIC mode. */
static void expect_power_up(struct lapic_fixture *fx, uint32_t id_reg, uint32_t version, bool cmci)
{
	uint64_t v;

	assert_int_equal(virq_lapic_get_mode(&fx->apic), VIRQ_LAPIC_MODE_XAPIC);
	/* The page itself: the registers at their xAPIC offsets (SDM Vol. 3A,
	 * "Local APIC Register Address Map"), the layout of the virtual-APIC
	 * page (SDM Vol. 3C, "Virtual-APIC Page"). */
	for (uint32_t off = 0; off < VIRQ_LAPIC_PAGE_SIZE; off += 4) {
		uint32_t want = (off & 0xFU) ? 0 : power_up_word(off, id_reg, version, cmci);

		if (fx->page[off / 4] != want)
			fail_msg("page word 0x%03x = 0x%08x, want 0x%08x", off, fx->page[off / 4],
				 want);
	}
	/* Guest view through MMIO, every register slot. */
	for (uint32_t off = 0; off < 0x400; off += 16) {
		if (!xapic_is_reg(off, cmci))
			continue;
		if (mmio_r(fx, off) != power_up_word(off, id_reg, version, cmci))
			fail_msg("MMIO 0x%03x = 0x%08x, want 0x%08x", off, mmio_r(fx, off),
				 power_up_word(off, id_reg, version, cmci));
	}
	/* No error latched: an ESR write publishes nothing. */
	mmio_w(fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(fx, VIRQ_LAPIC_REG_ESR), 0);
	/* IA32_TSC_DEADLINE reads 0 (disarmed). */
	if (fx->cfg.tsc_deadline) {
		v = 1;
		assert_int_equal(msr_r(fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
		assert_int_equal(v, 0);
	}
	assert_int_equal(virq_lapic_pending(&fx->apic), VIRQ_LAPIC_NO_VECTOR);
}

/* ---- kept from the original smoke test: post, ack, PPR, EOI ---- */

static void test_smoke(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	virq_lapic_post(&fx.apic, 0x41, false);
	assert_int_equal(fx.f.kicks, 1);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x41);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x40);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_invariants(&fx);
}

/* ---- SDM 10.4.1, 10.4.7.1, 10.4.8: register file after init ---- */

static void test_reset_regs_default(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	expect_power_up(&fx, 0, 0x00060014U, true);
	/* Nothing called out at init. */
	assert_int_equal(fx.f.kicks, 0);
	assert_int_equal(fx.f.timer_arms, 0);
	assert_int_equal(fx.f.n_ipis, 0);
	assert_int_equal(fx.f.n_eois, 0);
	assert_invariants(&fx);
}

static void test_reset_regs_apic_ids(void **state)
{
	static const uint32_t ids[] = { 0x01, 0x5A, 0xFE, 0xFF };
	struct lapic_fixture fx;
	struct virq_lapic_config cfg;

	(void)state;
	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		cfg = fixture_default_config();
		cfg.apic_id = ids[i];
		fixture_init(&fx, &cfg);
		expect_power_up(&fx, ids[i] << 24, 0x00060014U, true);
		assert_int_equal(virq_lapic_get_id(&fx.apic), ids[i]);
		assert_invariants(&fx);
	}
}

/* SDM 10.12.5.1: x2APIC ID low 8 bits appear in xAPIC ID bits 31:24. */
static void test_reset_regs_wide_id_in_xapic(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	cfg.apic_id = 0x12345;
	fixture_init(&fx, &cfg);
	expect_power_up(&fx, 0x45000000U, 0x00060014U, true);
	assert_int_equal(virq_lapic_get_id(&fx.apic), 0x45);
	assert_invariants(&fx);
}

/* SDM 10.4.8 (Version): 0x14 | max_lvt << 16 | directed EOI << 24. */
static void test_reset_version_variants(void **state)
{
	static const struct {
		uint8_t version, max_lvt;
		bool directed_eoi;
		uint32_t want;
	} t[] = {
		{ 0, 0, false, 0x00060014U },    { 0, 0, true, 0x01060014U },
		{ 0, 5, false, 0x00050014U },    { 0, 6, false, 0x00060014U },
		{ 0, 5, true, 0x01050014U },     { 0x10, 0, false, 0x00060010U },
		{ 0x15, 0, false, 0x00060015U }, { 0x15, 5, true, 0x01050015U },
	};
	struct lapic_fixture fx;
	struct virq_lapic_config cfg;
	uint64_t v;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cfg = fixture_default_config();
		cfg.version = t[i].version;
		cfg.max_lvt = t[i].max_lvt;
		cfg.directed_eoi = t[i].directed_eoi;
		fixture_init(&fx, &cfg);
		expect_power_up(&fx, 0, t[i].want, t[i].max_lvt != 5);
		/* Same value through the x2APIC MSR. */
		fixture_x2apic_enable(&fx);
		v = 0;
		assert_int_equal(msr_r(&fx, 0x803, &v), 0);
		assert_int_equal(v, t[i].want);
		assert_invariants(&fx);
	}
}

/* max_lvt 5: no CMCI register; 0x2F0 is a reserved offset (ESR bit 7). */
static void test_reset_no_cmci(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	cfg.max_lvt = 5;
	fixture_init(&fx, &cfg);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_CMCI), 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	assert_int_equal(fx.page[VIRQ_LAPIC_REG_LVT_CMCI / 4], 0);
	assert_invariants(&fx);
}

/* ---- SDM 10.4.4: IA32_APIC_BASE reset value; SDM 8.4: mp_state ---- */

static void test_reset_apic_base_bsp_ap(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	uint64_t v;

	(void)state;
	fixture_init(&fx, &cfg);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_BSP_RESET);
	v = 0;
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, BASE_BSP_RESET);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_XAPIC);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);
	assert_invariants(&fx);

	cfg.bsp = false;
	cfg.apic_id = 3;
	fixture_init(&fx, &cfg);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_AP_RESET);
	v = 0;
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, BASE_AP_RESET);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_XAPIC);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
	expect_power_up(&fx, 3U << 24, 0x00060014U, true);
	assert_invariants(&fx);
}

/* ---- SDM 10.4.7.1: virq_lapic_reset() after dirtying everything ---- */

static void dirty_everything(struct lapic_fixture *fx)
{
	struct virq_apic_msg nmi;

	fixture_sw_enable(fx);
	/* ISR 0x81 (level, TMR set), IRR 0x95, then TPR 0x20. */
	virq_lapic_post(&fx->apic, 0x81, true);
	assert_int_equal(virq_lapic_ack(&fx->apic), 0x81);
	virq_lapic_post(&fx->apic, 0x95, false);
	virq_lapic_sync(&fx->apic);
	mmio_w(fx, VIRQ_LAPIC_REG_TPR, 0x20);
	mmio_w(fx, VIRQ_LAPIC_REG_LDR, 0xAB000000U);
	mmio_w(fx, VIRQ_LAPIC_REG_DFR, 0);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_CMCI, 0x000000A1U);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_THERMAL, 0x00000400U); /* NMI */
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_PMC, 0x000000A3U);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_LINT0, 0x00000700U);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_LINT1, 0x00000400U);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_ERROR, 0x000000A6U);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x000200A7U); /* periodic */
	mmio_w(fx, VIRQ_LAPIC_REG_TDCR, 0xB);
	mmio_w(fx, VIRQ_LAPIC_REG_TMICT, 100000);
	assert_true(fx->f.timer_armed);
	mmio_w(fx, VIRQ_LAPIC_REG_ICR_HI, 0x12000000U);
	mmio_w(fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000050U);
	/* ESR: one error visible, another latched. */
	(void)mmio_r(fx, 0x000);
	mmio_w(fx, VIRQ_LAPIC_REG_ESR, 0);
	(void)mmio_r(fx, 0x010);
	/* Pending work: a posted vector, a posted NMI, a local NMI. */
	virq_lapic_post(&fx->apic, 0x66, false);
	memset(&nmi, 0, sizeof(nmi));
	nmi.delivery = VIRQ_DM_NMI;
	nmi.src = VIRQ_MSG_SRC_NONE;
	virq_lapic_post_msg(&fx->apic, &nmi);
	assert_int_equal(virq_lapic_deliver_lvt(&fx->apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	/* Sanity: the dirtying took effect. */
	assert_int_equal(mmio_r(fx, VIRQ_LAPIC_REG_TPR), 0x20);
	assert_int_equal(mmio_r(fx, VIRQ_LAPIC_REG_ESR), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	assert_int_equal(fx->f.n_ipis, 1);
}

static void test_reset_after_dirty(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_events ev;
	unsigned cancels;

	(void)state;
	fixture_init(&fx, NULL);
	dirty_everything(&fx);
	cancels = fx.f.timer_cancels;
	virq_lapic_reset(&fx.apic);
	/* The host timer was cancelled exactly once and not re-armed. */
	assert_false(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_cancels, cancels + 1);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_BSP_RESET);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);
	expect_power_up(&fx, 0, 0x00060014U, true);
	/* Posted vector and events were discarded. */
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
	assert_int_equal(ev.flags, 0);
	fixture_sw_enable(&fx);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x66));
	assert_invariants(&fx);
}

/* RESET from x2APIC mode with a relocated base: xAPIC, default base, 8-bit ID. */
static void test_reset_from_x2apic(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	cfg.apic_id = 0x1234;
	fixture_init(&fx, &cfg);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, 0xFED00000ULL | 0x900, false), 0);
	fixture_x2apic_enable(&fx);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, 0xFED00000ULL | 0xD00, false), 0);
	assert_int_equal(msr_w(&fx, 0x808, 0x77), 0);
	virq_lapic_reset(&fx.apic);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_BSP_RESET);
	assert_int_equal(virq_lapic_get_id(&fx.apic), 0x34);
	expect_power_up(&fx, 0x34000000U, 0x00060014U, true);
	assert_invariants(&fx);
}

/* AP: reset puts it back into wait-for-SIPI after it had started. */
static void test_reset_ap_wait_sipi(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	struct virq_lapic_events ev;
	struct virq_apic_msg sipi;

	(void)state;
	cfg.bsp = false;
	cfg.apic_id = 1;
	fixture_init(&fx, &cfg);
	memset(&sipi, 0, sizeof(sipi));
	sipi.delivery = VIRQ_DM_STARTUP;
	sipi.vector = 0x9A;
	sipi.level = true;
	sipi.src = 0;
	virq_lapic_post_msg(&fx.apic, &sipi);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_SIPI);
	assert_int_equal(ev.sipi_vector, 0x9A);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_RUNNABLE);
	dirty_everything(&fx);
	virq_lapic_reset(&fx.apic);
	assert_int_equal(virq_lapic_get_mp_state(&fx.apic), VIRQ_LAPIC_MP_WAIT_SIPI);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), BASE_AP_RESET);
	expect_power_up(&fx, 1U << 24, 0x00060014U, true);
	assert_invariants(&fx);
}

/* ---- init argument checks (lapic.h virq_lapic_init: errors leave lapic untouched) ---- */

static uint8_t obj_buf[sizeof(struct virq_lapic) + 128] __attribute__((aligned(64)));
static uint8_t page_buf[2 * VIRQ_LAPIC_PAGE_SIZE] __attribute__((aligned(4096)));
static struct fake_env init_env;

static void fill_buffers(void)
{
	memset(obj_buf, 0xA5, sizeof(obj_buf));
	memset(page_buf, 0x5A, sizeof(page_buf));
}

static void expect_buffers_untouched(void)
{
	for (size_t i = 0; i < sizeof(obj_buf); i++)
		if (obj_buf[i] != 0xA5)
			fail_msg("object byte %zu changed by a failed init", i);
	for (size_t i = 0; i < sizeof(page_buf); i++)
		if (page_buf[i] != 0x5A)
			fail_msg("page byte %zu changed by a failed init", i);
}

/* Calls init on obj_buf + obj_off / page_buf + page_off; expects @err and no writes. */
static void expect_init_fails(size_t obj_off, size_t page_off, bool null_obj, bool null_page,
			      const struct virq_lapic_config *cfg, const struct virq_lapic_ops *ops,
			      int err)
{
	struct virq_lapic *obj = null_obj ? NULL : (struct virq_lapic *)(void *)(obj_buf + obj_off);
	void *page = null_page ? NULL : (void *)(page_buf + page_off);

	fill_buffers();
	assert_int_equal(virq_lapic_init(obj, page, cfg, ops, &init_env), err);
	expect_buffers_untouched();
}

static void test_init_null_args(void **state)
{
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	expect_init_fails(0, 0, true, false, &cfg, &fake_ops, -VIRQ_EINVAL);
	expect_init_fails(0, 0, false, true, &cfg, &fake_ops, -VIRQ_EINVAL);
	expect_init_fails(0, 0, false, false, NULL, &fake_ops, -VIRQ_EINVAL);
	expect_init_fails(0, 0, false, false, &cfg, NULL, -VIRQ_EINVAL);
}

static void test_init_missing_required_hooks(void **state)
{
	struct virq_lapic_config cfg = fixture_default_config();
	struct virq_lapic_ops ops;

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		ops = fake_ops;
		switch (i) {
		case 0:
			ops.kick = NULL;
			break;
		case 1:
			ops.now_ns = NULL;
			break;
		case 2:
			ops.timer_arm = NULL;
			break;
		default:
			ops.timer_cancel = NULL;
			break;
		}
		expect_init_fails(0, 0, false, false, &cfg, &ops, -VIRQ_EINVAL);
	}
}

static void test_init_misaligned(void **state)
{
	static const size_t obj_offs[] = { 1, 4, 8, 16, 32, 63 };
	static const size_t page_offs[] = { 1, 4, 64, 512, 2048, 4095 };
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	for (unsigned i = 0; i < sizeof(obj_offs) / sizeof(obj_offs[0]); i++)
		expect_init_fails(obj_offs[i], 0, false, false, &cfg, &fake_ops, -VIRQ_EALIGN);
	for (unsigned i = 0; i < sizeof(page_offs) / sizeof(page_offs[0]); i++)
		expect_init_fails(0, page_offs[i], false, false, &cfg, &fake_ops, -VIRQ_EALIGN);
}

static void test_init_bad_config(void **state)
{
	static const struct {
		const char *what;
		uint32_t apic_id;
		bool x2apic, tsc_deadline;
		uint8_t version, max_lvt, phys_bits;
		uint32_t tick_ps, tsc_khz;
		int err;
	} t[] = {
		{ "id 0x100 without x2apic", 0x100, false, false, 0, 0, 0, 0, 0, -VIRQ_ENOTSUP },
		{ "id 0x12345 without x2apic", 0x12345, false, false, 0, 0, 0, 0, 0,
		  -VIRQ_ENOTSUP },
		{ "id 0xFFFFFFFF", 0xFFFFFFFFU, true, false, 0, 0, 0, 0, 0, -VIRQ_EINVAL },
		{ "version 0x01", 0, true, false, 0x01, 0, 0, 0, 0, -VIRQ_EINVAL },
		{ "version 0x0F", 0, true, false, 0x0F, 0, 0, 0, 0, -VIRQ_EINVAL },
		{ "version 0x16", 0, true, false, 0x16, 0, 0, 0, 0, -VIRQ_EINVAL },
		{ "version 0xFF", 0, true, false, 0xFF, 0, 0, 0, 0, -VIRQ_EINVAL },
		{ "max_lvt 1", 0, true, false, 0, 1, 0, 0, 0, -VIRQ_EINVAL },
		{ "max_lvt 4", 0, true, false, 0, 4, 0, 0, 0, -VIRQ_EINVAL },
		{ "max_lvt 7", 0, true, false, 0, 7, 0, 0, 0, -VIRQ_EINVAL },
		{ "max_lvt 255", 0, true, false, 0, 255, 0, 0, 0, -VIRQ_EINVAL },
		{ "phys 1", 0, true, false, 0, 0, 1, 0, 0, -VIRQ_EINVAL },
		{ "phys 35", 0, true, false, 0, 0, 35, 0, 0, -VIRQ_EINVAL },
		{ "phys 53", 0, true, false, 0, 0, 53, 0, 0, -VIRQ_EINVAL },
		{ "phys 64", 0, true, false, 0, 0, 64, 0, 0, -VIRQ_EINVAL },
		{ "phys 255", 0, true, false, 0, 0, 255, 0, 0, -VIRQ_EINVAL },
		{ "tick 1000001", 0, true, false, 0, 0, 0, 1000001, 0, -VIRQ_EINVAL },
		{ "tick max", 0, true, false, 0, 0, 0, 0xFFFFFFFFU, 0, -VIRQ_EINVAL },
		{ "tsc_deadline, no khz", 0, true, true, 0, 0, 0, 0, 0, -VIRQ_EINVAL },
	};
	struct virq_lapic_config cfg;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.size = sizeof(cfg);
		cfg.apic_id = t[i].apic_id;
		cfg.bsp = true;
		cfg.x2apic = t[i].x2apic;
		cfg.tsc_deadline = t[i].tsc_deadline;
		cfg.version = t[i].version;
		cfg.max_lvt = t[i].max_lvt;
		cfg.phys_addr_bits = t[i].phys_bits;
		cfg.timer_tick_ps = t[i].tick_ps;
		cfg.tsc_khz = t[i].tsc_khz;
		print_message("bad config: %s\n", t[i].what);
		expect_init_fails(0, 0, false, false, &cfg, &fake_ops, t[i].err);
	}
}

/* A failed re-init of a live LAPIC leaves it exactly as it was. */
static void test_init_failure_keeps_live_object(void **state)
{
	static struct lapic_fixture fx;
	static struct virq_lapic saved;
	static uint32_t saved_page[1024];
	struct virq_lapic_config bad;
	struct virq_lapic_ops ops = fake_ops;

	(void)state;
	fixture_init(&fx, NULL);
	dirty_everything(&fx);
	memcpy(&saved, &fx.apic, sizeof(saved));
	memcpy(saved_page, fx.page, sizeof(saved_page));

	bad = fixture_default_config();
	bad.max_lvt = 9;
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &bad, &fake_ops, &fx.f), -VIRQ_EINVAL);
	ops.kick = NULL;
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &fx.cfg, &ops, &fx.f), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_init(&fx.apic, (uint8_t *)fx.page + 64, &fx.cfg, &fake_ops,
					 &fx.f),
			 -VIRQ_EALIGN);
	assert_memory_equal(&saved, &fx.apic, sizeof(saved));
	assert_memory_equal(saved_page, fx.page, sizeof(saved_page));
	assert_invariants(&fx);
}

/*
 * The size fields (doc/abi.md, "Growing ops and config structures"): 0,
 * sizeof - 1 and sizeof + 1 of either table are refused with
 * -VIRQ_EVERSION before anything else is read, and a live LAPIC keeps
 * every byte; sizeof, today also the first published size, is accepted.
 */
static void test_init_size_checked(void **state)
{
	static struct lapic_fixture fx;
	static struct virq_lapic saved;
	static uint32_t saved_page[1024];
	/* Room for one byte more than the library's sizeof (a newer caller). */
	union {
		struct virq_lapic_config c;
		unsigned char room[sizeof(struct virq_lapic_config) + 1];
	} cfg;
	union {
		struct virq_lapic_ops o;
		unsigned char room[sizeof(struct virq_lapic_ops) + 1];
	} ops;
	static const struct virq_lapic_ops unsized; /* no size, no hooks */
	const uint32_t cfg_bad[3] = { 0, sizeof(struct virq_lapic_config) - 1,
				      sizeof(struct virq_lapic_config) + 1 };
	const uint32_t ops_bad[3] = { 0, sizeof(struct virq_lapic_ops) - 1,
				      sizeof(struct virq_lapic_ops) + 1 };

	(void)state;
	assert_int_equal(VIRQ_LAPIC_CONFIG_SIZE_MIN, sizeof(struct virq_lapic_config));
	assert_int_equal(VIRQ_LAPIC_OPS_SIZE_MIN, sizeof(struct virq_lapic_ops));
	fixture_init(&fx, NULL);
	dirty_everything(&fx);
	memcpy(&saved, &fx.apic, sizeof(saved));
	memcpy(saved_page, fx.page, sizeof(saved_page));

	for (unsigned i = 0; i < 3; i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.c = fx.cfg;
		cfg.c.size = cfg_bad[i];
		assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &cfg.c, &fake_ops, &fx.f),
				 -VIRQ_EVERSION);
		memset(&ops, 0, sizeof(ops));
		ops.o = fake_ops;
		ops.o.size = ops_bad[i];
		assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &fx.cfg, &ops.o, &fx.f),
				 -VIRQ_EVERSION);
		assert_memory_equal(&saved, &fx.apic, sizeof(saved));
		assert_memory_equal(saved_page, fx.page, sizeof(saved_page));
	}
	/* The size is checked before the hooks: a zeroed table is a version
	 * error, not a missing kick. */
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &fx.cfg, &unsized, &fx.f),
			 -VIRQ_EVERSION);
	/* The padding word after size is reserved and checked. */
	ops.o = fake_ops;
	ops.o.reserved = 1;
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &fx.cfg, &ops.o, &fx.f), -VIRQ_EINVAL);
	assert_memory_equal(&saved, &fx.apic, sizeof(saved));
	assert_memory_equal(saved_page, fx.page, sizeof(saved_page));

	/* Exactly sizeof: accepted, and the copy keeps the caller's size. */
	cfg.c = fx.cfg;
	ops.o = fake_ops;
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &cfg.c, &ops.o, &fx.f), 0);
	assert_int_equal(fx.apic.cfg.size, sizeof(struct virq_lapic_config));
	assert_invariants(&fx);
}

/* Boundary values that are valid, and what they produce. */
static void test_init_config_bounds_accepted(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg;

	(void)state;
	/* 0xFF without x2APIC; 0xFFFFFFFE with x2APIC (32-bit ID kept). */
	cfg = fixture_default_config();
	cfg.x2apic = false;
	cfg.apic_id = 0xFF;
	fixture_init(&fx, &cfg);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ID), 0xFF000000U);
	cfg = fixture_default_config();
	cfg.apic_id = 0xFFFFFFFEU;
	fixture_init(&fx, &cfg);
	fixture_x2apic_enable(&fx);
	assert_int_equal(virq_lapic_get_id(&fx.apic), 0xFFFFFFFEU);

	/* MAXPHYADDR 52: base bit 51 legal, bit 52 reserved. */
	cfg = fixture_default_config();
	cfg.phys_addr_bits = 52;
	fixture_init(&fx, &cfg);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, (1ULL << 51) | 0xFEE00900ULL, false),
			 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), (1ULL << 51) | 0xFEE00900ULL);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, (1ULL << 52) | 0xFEE00900ULL, false),
			 VIRQ_GP);

	/* Timer tick: default 1000 ps; 1 ps and 1000000 ps accepted. TDCR 0xB
	 * divides by 1, so TMICT n lasts n * tick. */
	{
		static const struct {
			uint32_t tick_ps, tmict;
			uint64_t ns;
		} tk[] = { { 0, 1000, 1000 }, { 1, 1000000, 1000 }, { 1000000, 3, 3000 } };

		for (unsigned i = 0; i < sizeof(tk) / sizeof(tk[0]); i++) {
			cfg = fixture_default_config();
			cfg.timer_tick_ps = tk[i].tick_ps;
			fixture_init(&fx, &cfg);
			fx.f.now = 5000;
			fixture_sw_enable(&fx);
			mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
			mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, tk[i].tmict);
			assert_true(fx.f.timer_armed);
			assert_int_equal(fx.f.timer_deadline, 5000 + tk[i].ns);
			assert_invariants(&fx);
		}
	}

	/* Without tsc_deadline, tsc_khz 0 is fine; with it, any non-zero value. */
	cfg = fixture_default_config();
	cfg.tsc_deadline = false;
	cfg.tsc_khz = 0;
	fixture_init(&fx, &cfg);
	cfg = fixture_default_config();
	cfg.tsc_khz = 1;
	fixture_init(&fx, &cfg);
	assert_invariants(&fx);
}

/* Optional hooks may all be NULL (lapic.h struct virq_lapic_ops). */
static void test_init_optional_hooks_null(void **state)
{
	static const struct virq_lapic_ops min_ops = {
		.size = sizeof(struct virq_lapic_ops),
		.kick = fake_kick,
		.now_ns = fake_now,
		.timer_arm = fake_timer_arm,
		.timer_cancel = fake_timer_cancel,
	};
	static struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	memset(&fx.f, 0, sizeof(fx.f));
	fx.cfg = cfg;
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &cfg, &min_ops, &fx.f), 0);
	expect_power_up(&fx, 0, 0x00060014U, true);
	fixture_sw_enable(&fx);
	/* No send_ipi: a destination IPI is dropped. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000041U);
	assert_int_equal(fx.f.n_ipis, 0);
	/* No guest_error: the architectural answer is still given. */
	(void)mmio_r(&fx, 0x000);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	assert_int_equal(fx.f.n_gerr, 0);
	/* No eoi_level: a level EOI retires the vector quietly. */
	virq_lapic_post(&fx.apic, 0x51, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x51);
	virq_lapic_eoi(&fx.apic);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x51));
	assert_int_equal(fx.f.n_eois, 0);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smoke),
		cmocka_unit_test(test_reset_regs_default),
		cmocka_unit_test(test_reset_regs_apic_ids),
		cmocka_unit_test(test_reset_regs_wide_id_in_xapic),
		cmocka_unit_test(test_reset_version_variants),
		cmocka_unit_test(test_reset_no_cmci),
		cmocka_unit_test(test_reset_apic_base_bsp_ap),
		cmocka_unit_test(test_reset_after_dirty),
		cmocka_unit_test(test_reset_from_x2apic),
		cmocka_unit_test(test_reset_ap_wait_sipi),
		cmocka_unit_test(test_init_null_args),
		cmocka_unit_test(test_init_missing_required_hooks),
		cmocka_unit_test(test_init_misaligned),
		cmocka_unit_test(test_init_bad_config),
		cmocka_unit_test(test_init_failure_keeps_live_object),
		cmocka_unit_test(test_init_size_checked),
		cmocka_unit_test(test_init_config_bounds_accepted),
		cmocka_unit_test(test_init_optional_hooks_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
