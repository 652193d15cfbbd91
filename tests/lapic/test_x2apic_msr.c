/* SPDX-License-Identifier: MIT */
/*
 * x2APIC MSR interface: the whole range 0x800-0xBFF, read and write, against
 * the #GP rules of SDM 10.12.1.2 "x2APIC Register Address Space", 10.12.1.3
 * "Reserved Bit Checking" and Table 10-6 "Local APIC Register Address Map
 * Supported by x2APIC"; the 64-bit ICR and SELF IPI (SDM 10.12.9 "ICR
 * Operation in x2APIC Mode", 10.12.11 "SELF IPI Register"); x2APIC ID and
 * derived LDR (SDM 10.12.10.2 "Deriving Logical x2APIC ID from the Local
 * x2APIC ID"). Regressions (peer bugs): Xen XSA-108 (MSR range read past the
 * register area), Xen 2023 (LDR derived from the vCPU index, not the ID),
 * KVM CVE-2013-6376 (crafted x2APIC IDs/ICR).
 */
#include "harness.h"

#define X2_ID 0x12345U
#define X2_LDR 0x12340020U /* ((0x12345 >> 4) << 16) | (1 << 5) */

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

static void x2_init(struct lapic_fixture *fx, uint32_t id)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.apic_id = id;
	fixture_init(fx, &cfg);
	fixture_x2apic_enable(fx);
}

/* ---- the x2APIC register map of SDM Table 10-6 "Local APIC Register
 * Address Map Supported by x2APIC" (max_lvt 6) ---- */

static bool x2_readable(uint32_t msr, bool cmci)
{
	if (msr >= 0x810 && msr <= 0x828)
		return true; /* ISR, TMR, IRR, ESR */
	if (msr >= 0x832 && msr <= 0x839)
		return true; /* LVTs, TMICT, TMCCT */
	switch (msr) {
	case 0x802:
	case 0x803:
	case 0x808:
	case 0x80A:
	case 0x80D:
	case 0x80F:
	case 0x830:
	case 0x83E:
		return true;
	case 0x82F:
		return cmci;
	default:
		return false;
	}
}

static bool x2_writable(uint32_t msr, bool cmci)
{
	if (msr >= 0x832 && msr <= 0x838)
		return true; /* LVTs, TMICT */
	switch (msr) {
	case 0x808:
	case 0x80B:
	case 0x80F:
	case 0x828:
	case 0x830:
	case 0x83E:
	case 0x83F:
		return true;
	case 0x82F:
		return cmci;
	default:
		return false;
	}
}

/* A dirtied x2APIC register file with known values. */
static const struct {
	uint32_t msr;
	uint64_t val;
} x2_dirty[] = {
	{ 0x802, X2_ID },
	{ 0x803, 0x00060014U },
	{ 0x808, 0x5C },
	{ 0x80A, 0xE0 },
	{ 0x80D, X2_LDR },
	{ 0x80F, 0x13F },
	{ 0x810, 0 },
	{ 0x811, 0 },
	{ 0x812, 0 },
	{ 0x813, 0 },
	{ 0x814, 0 },
	{ 0x815, 0 },
	{ 0x816, 0 },
	{ 0x817, 0x00000008U },
	{ 0x818, 0 },
	{ 0x819, 0 },
	{ 0x81A, 0 },
	{ 0x81B, 0x00020000U },
	{ 0x81C, 0 },
	{ 0x81D, 0 },
	{ 0x81E, 0 },
	{ 0x81F, 0 },
	{ 0x820, 0 },
	{ 0x821, 0 },
	{ 0x822, 0 },
	{ 0x823, 0x00020000U },
	{ 0x824, 0 },
	{ 0x825, 0 },
	{ 0x826, 0 },
	{ 0x827, 0 },
	{ 0x828, VIRQ_LAPIC_ESR_SEND_ILLEGAL },
	{ 0x82F, 0x231 },
	{ 0x830, 0xABCDEF0100004821ULL },
	{ 0x832, 0x20091 },
	{ 0x833, 0x4B2 },
	{ 0x834, 0x100C3 },
	{ 0x835, 0x1A7D4 },
	{ 0x836, 0x465 },
	{ 0x837, 0x100E5 },
	{ 0x838, 0x12345 },
	{ 0x839, 0x12345 },
	{ 0x83E, 0xA },
};

#define N_X2_DIRTY (sizeof(x2_dirty) / sizeof(x2_dirty[0]))

static void x2_dirty_init(struct lapic_fixture *fx)
{
	uint64_t v;

	x2_init(fx, X2_ID);
	assert_int_equal(msr_w(fx, 0x80F, 0x13F), 0);
	virq_lapic_post(&fx->apic, 0xE3, false);
	assert_int_equal(virq_lapic_ack(&fx->apic), 0xE3);
	virq_lapic_post(&fx->apic, 0x71, true);
	virq_lapic_sync(&fx->apic);
	assert_int_equal(msr_w(fx, 0x808, 0x5C), 0);
	assert_int_equal(msr_w(fx, 0x83F, 0x05), 0); /* illegal vector: ESR bit 5 */
	assert_int_equal(msr_w(fx, 0x828, 0), 0);
	assert_int_equal(msr_w(fx, 0x82F, 0x231), 0);
	assert_int_equal(msr_w(fx, 0x830, 0xABCDEF0100004821ULL), 0);
	assert_int_equal(msr_w(fx, 0x832, 0x20091), 0);
	assert_int_equal(msr_w(fx, 0x833, 0x4B2), 0);
	assert_int_equal(msr_w(fx, 0x834, 0x100C3), 0);
	assert_int_equal(msr_w(fx, 0x835, 0x1A7D4), 0);
	assert_int_equal(msr_w(fx, 0x836, 0x465), 0);
	assert_int_equal(msr_w(fx, 0x837, 0x100E5), 0);
	assert_int_equal(msr_w(fx, 0x83E, 0xA), 0);
	assert_int_equal(msr_w(fx, 0x838, 0x12345), 0);
	for (unsigned i = 0; i < N_X2_DIRTY; i++) {
		v = 0;
		assert_int_equal(msr_r(fx, x2_dirty[i].msr, &v), 0);
		if (v != x2_dirty[i].val)
			fail_msg("setup: MSR 0x%x = 0x%llx, want 0x%llx", x2_dirty[i].msr,
				 (unsigned long long)v, (unsigned long long)x2_dirty[i].val);
	}
	assert_int_equal(fx->f.n_ipis, 1);
	memset(fx->f.gerr, 0, sizeof(fx->f.gerr));
	fx->f.n_gerr = 0;
}

/* ---- SDM 10.12.1.2 "x2APIC Register Address Space", Table 10-6 "Local
 * APIC Register Address Map Supported by x2APIC": RDMSR of every MSR
 * 0x800-0xBFF ---- */

static void test_x2apic_read_whole_range(void **state)
{
	static struct lapic_fixture fx;
	static struct snap s;
	unsigned n_gp = 0, n_read = 0;

	(void)state;
	x2_dirty_init(&fx);
	snap_take(&fx, &s);
	for (uint32_t msr = 0x800; msr <= 0xBFF; msr++) {
		uint64_t v = 0x5555;
		int rc = msr_r(&fx, msr, &v);

		if (x2_readable(msr, true)) {
			unsigned i;

			for (i = 0; i < N_X2_DIRTY && x2_dirty[i].msr != msr; i++)
				;
			assert_true(i < N_X2_DIRTY);
			if (rc != 0 || v != x2_dirty[i].val)
				fail_msg("RDMSR 0x%x: rc %d val 0x%llx, want 0 / 0x%llx", msr, rc,
					 (unsigned long long)v,
					 (unsigned long long)x2_dirty[i].val);
			n_read++;
		} else {
			if (rc != VIRQ_GP)
				fail_msg("RDMSR 0x%x: rc %d, want #GP", msr, rc);
			n_gp++;
		}
		if (fx.f.gerr[VIRQ_GERR_MSR_GP] != n_gp)
			fail_msg("RDMSR 0x%x: %u #GP reports, want %u", msr,
				 fx.f.gerr[VIRQ_GERR_MSR_GP], n_gp);
		if (!snap_same(&fx, &s))
			fail_msg("RDMSR 0x%x changed the LAPIC", msr);
	}
	assert_int_equal(n_read, N_X2_DIRTY);
	assert_int_equal(n_gp, 1024 - N_X2_DIRTY);
	assert_invariants(&fx);
}

/* Named cases of the table, for readability of failures. */
static void test_x2apic_read_gp_named(void **state)
{
	static const uint32_t gp[] = { 0x800, 0x801, 0x804, 0x805, 0x806, 0x807, 0x809, 0x80B,
				       0x80C, 0x80E, 0x829, 0x82A, 0x82E, 0x831, 0x83A, 0x83B,
				       0x83C, 0x83D, 0x83F, 0x840, 0x8FF, 0x900, 0xA00, 0xBFF };
	struct lapic_fixture fx;

	(void)state;
	x2_init(&fx, X2_ID);
	for (unsigned i = 0; i < sizeof(gp) / sizeof(gp[0]); i++) {
		uint64_t v;

		if (msr_r(&fx, gp[i], &v) != VIRQ_GP)
			fail_msg("RDMSR 0x%x did not #GP", gp[i]);
	}
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MSR_GP], sizeof(gp) / sizeof(gp[0]));
	assert_invariants(&fx);
}

/* ---- WRMSR verdicts over the whole range ---- */

static void test_x2apic_write_whole_range(void **state)
{
	static struct lapic_fixture fx;
	static struct snap s;

	(void)state;
	for (uint32_t msr = 0x800; msr <= 0xBFF; msr++) {
		static const uint64_t always_gp[] = { ~0ULL, 1ULL << 63, 0xFFFFFFFF00000000ULL };
		bool w = x2_writable(msr, true);
		int rc;

		x2_init(&fx, X2_ID);
		snap_take(&fx, &s);
		/* Values no register accepts (the ICR rejects them by bits 31:20). */
		for (unsigned k = 0; k < 3; k++) {
			if (msr == 0x830 && k != 0)
				continue;
			rc = msr_w(&fx, msr, always_gp[k]);
			if (rc != VIRQ_GP || !snap_same(&fx, &s))
				fail_msg("WRMSR 0x%x <- 0x%llx: rc %d or state changed", msr,
					 (unsigned long long)always_gp[k], rc);
		}
		/* Upper half set: #GP everywhere but the ICR. */
		if (msr != 0x830) {
			rc = msr_w(&fx, msr, 1ULL << 32);
			if (rc != VIRQ_GP || !snap_same(&fx, &s))
				fail_msg("WRMSR 0x%x <- 1<<32: rc %d or state changed", msr, rc);
		}
		/* Zero: accepted exactly by the writable registers. */
		rc = msr_w(&fx, msr, 0);
		if (rc != (w ? 0 : VIRQ_GP))
			fail_msg("WRMSR 0x%x <- 0: rc %d, want %d", msr, rc, w ? 0 : VIRQ_GP);
		if (!w && !snap_same(&fx, &s))
			fail_msg("faulting WRMSR 0x%x changed the LAPIC", msr);
		if (fx.f.gerr[VIRQ_GERR_MSR_GP] !=
		    fx.f.n_gerr - fx.f.gerr[VIRQ_GERR_SEND_ILLEGAL_VECTOR])
			fail_msg("WRMSR 0x%x: unexpected guest error kinds", msr);
		assert_invariants(&fx);
	}
}

/* SDM 10.12.1.2 "x2APIC Register Address Space": read-only registers fault on
 * write, even with their own value. */
static void test_x2apic_readonly_write_gp(void **state)
{
	static const uint32_t ro[] = { 0x802, 0x803, 0x80A, 0x80D, 0x810, 0x817,
				       0x818, 0x81F, 0x820, 0x827, 0x839 };
	static struct lapic_fixture fx;
	static struct snap s;

	(void)state;
	x2_dirty_init(&fx);
	snap_take(&fx, &s);
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		uint64_t cur;

		assert_int_equal(msr_r(&fx, ro[i], &cur), 0);
		assert_int_equal(msr_w(&fx, ro[i], cur), VIRQ_GP);
		assert_int_equal(msr_w(&fx, ro[i], 0), VIRQ_GP);
		assert_int_equal(msr_w(&fx, ro[i], 0xFFFFFFFFU), VIRQ_GP);
		assert_true(snap_same(&fx, &s));
	}
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MSR_GP], 3 * sizeof(ro) / sizeof(ro[0]));
	assert_invariants(&fx);
}

/* SDM Table 10-6 "Local APIC Register Address Map Supported by x2APIC": EOI
 * and SELF IPI are write-only; EOI/ESR accept only 0. */
static void test_x2apic_eoi_esr_selfipi_rules(void **state)
{
	static struct lapic_fixture fx;
	static struct snap s;
	uint64_t v;

	(void)state;
	x2_dirty_init(&fx);
	assert_int_equal(msr_r(&fx, 0x80B, &v), VIRQ_GP);
	assert_int_equal(msr_r(&fx, 0x83F, &v), VIRQ_GP);
	/* Non-zero EOI: #GP and ISR untouched. */
	snap_take(&fx, &s);
	for (unsigned b = 0; b < 64; b++)
		assert_int_equal(msr_w(&fx, 0x80B, 1ULL << b), VIRQ_GP);
	assert_true(snap_same(&fx, &s));
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0xE3));
	/* Zero EOI retires 0xE3: PPR falls back to TPR. */
	assert_int_equal(msr_w(&fx, 0x80B, 0), 0);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0xE3));
	assert_int_equal(msr_r(&fx, 0x80A, &v), 0);
	assert_int_equal(v, 0x5C);
	/* ESR: latch an error, non-zero writes fault and publish nothing. */
	assert_int_equal(msr_w(&fx, 0x83F, 0x03), 0);
	snap_take(&fx, &s);
	for (unsigned b = 0; b < 64; b++)
		assert_int_equal(msr_w(&fx, 0x828, 1ULL << b), VIRQ_GP);
	assert_true(snap_same(&fx, &s));
	assert_int_equal(msr_r(&fx, 0x828, &v), 0);
	assert_int_equal(v, VIRQ_LAPIC_ESR_SEND_ILLEGAL); /* still the old visible value */
	assert_int_equal(msr_w(&fx, 0x828, 0), 0);
	assert_int_equal(msr_r(&fx, 0x828, &v), 0);
	assert_int_equal(v, VIRQ_LAPIC_ESR_SEND_ILLEGAL); /* the new latch */
	assert_int_equal(msr_w(&fx, 0x828, 0), 0);
	assert_int_equal(msr_r(&fx, 0x828, &v), 0);
	assert_int_equal(v, 0);
	assert_invariants(&fx);
}

/* ---- SDM Table 10-6 "Local APIC Register Address Map Supported by x2APIC", 10.9 "Spurious
 * Interrupt", 10.5.1 "Local Vector Table", 10.5.4 "APIC Timer", 10.12.9 "ICR Operation in x2APIC
 * Mode": reserved bits of writable registers ---- */

struct rsvd_case {
	uint32_t msr;
	uint32_t accepted; /* bits a WRMSR may set without #GP */
	uint32_t stored;   /* bits that read back */
	bool readable;
};

static void check_bits(const struct virq_lapic_config *cfg, const struct rsvd_case *t)
{
	static struct lapic_fixture fx;
	static struct snap s;

	for (unsigned b = 0; b < 64; b++) {
		uint64_t val = 1ULL << b;
		bool ok = b < 32 && (t->accepted & (1U << b));
		uint64_t v;
		int rc;

		fixture_init(&fx, cfg);
		fixture_x2apic_enable(&fx);
		snap_take(&fx, &s);
		rc = msr_w(&fx, t->msr, val);
		if (rc != (ok ? 0 : VIRQ_GP))
			fail_msg("WRMSR 0x%x bit %u: rc %d, want %d", t->msr, b, rc,
				 ok ? 0 : VIRQ_GP);
		if (!ok && !snap_same(&fx, &s))
			fail_msg("faulting WRMSR 0x%x bit %u changed the LAPIC", t->msr, b);
		if (ok && t->readable) {
			assert_int_equal(msr_r(&fx, t->msr, &v), 0);
			if (v != (val & t->stored))
				fail_msg("MSR 0x%x bit %u reads 0x%llx, want 0x%llx", t->msr, b,
					 (unsigned long long)v,
					 (unsigned long long)(val & t->stored));
		}
		assert_invariants(&fx);
	}
}

static void test_x2apic_reserved_bits(void **state)
{
	static const struct rsvd_case t[] = {
		{ 0x808, 0x000000FFU, 0x000000FFU, true }, /* TPR 31:8 */
		{ 0x80F, 0x000003FFU, 0x000003FFU, true }, /* SVR: 12 only with directed EOI */
		{ 0x83E, 0x0000000BU, 0x0000000BU, true }, /* TDCR: bit 2, 31:4 */
		{ 0x838, 0xFFFFFFFFU, 0xFFFFFFFFU, true }, /* TMICT */
		{ 0x83F, 0x000000FFU, 0, false },          /* SELF IPI 31:8 */
		{ 0x80B, 0, 0, false },                    /* EOI: 0 only */
		{ 0x828, 0, 0, true },                     /* ESR: 0 only */
		/* LVTs: writable bits; delivery status (and Remote IRR on LINT) are
		 * read-only status bits a write may carry back (lib regs.c). */
		{ 0x82F, 0x000117FFU, 0x000107FFU, true },
		{ 0x832, 0x000710FFU, 0x000700FFU, true },
		{ 0x833, 0x000117FFU, 0x000107FFU, true },
		{ 0x834, 0x000117FFU, 0x000107FFU, true },
		{ 0x835, 0x0001F7FFU, 0x0001A7FFU, true },
		{ 0x836, 0x0001F7FFU, 0x0001A7FFU, true },
		{ 0x837, 0x000110FFU, 0x000100FFU, true },
	};
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		check_bits(&cfg, &t[i]);
}

static void test_x2apic_reserved_bits_config(void **state)
{
	static const struct rsvd_case svr = { 0x80F, 0x000013FFU, 0x000013FFU, true };
	static const struct rsvd_case timer = { 0x832, 0x000310FFU, 0x000300FFU, true };
	static const struct rsvd_case cmci = { 0x82F, 0, 0, false };
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	cfg.directed_eoi = true;
	check_bits(&cfg, &svr);
	/* Without TSC deadline, LVT timer bit 18 is reserved. */
	cfg = fixture_default_config();
	cfg.tsc_deadline = false;
	check_bits(&cfg, &timer);
	/* max_lvt 5: no CMCI MSR at all. */
	cfg = fixture_default_config();
	cfg.max_lvt = 5;
	check_bits(&cfg, &cmci);
}

/* Timer mode 3 (bits 17 and 18) is a reserved encoding: #GP in x2APIC. */
static void test_x2apic_timer_mode3_gp(void **state)
{
	struct lapic_fixture fx;
	struct snap s;
	uint64_t v;

	(void)state;
	x2_init(&fx, X2_ID);
	assert_int_equal(msr_w(&fx, 0x832, 0x20040), 0);
	snap_take(&fx, &s);
	assert_int_equal(msr_w(&fx, 0x832, 0x60040), VIRQ_GP);
	assert_true(snap_same(&fx, &s));
	assert_int_equal(msr_r(&fx, 0x832, &v), 0);
	assert_int_equal(v, 0x20040);
	assert_invariants(&fx);
}

/* ---- SDM 10.12.9 "ICR Operation in x2APIC Mode": the 64-bit ICR ---- */

static void expect_msg(const struct virq_apic_msg *m, uint32_t dest, uint32_t src, uint8_t vec,
		       uint8_t dm, uint8_t sh, bool logical)
{
	assert_int_equal(m->dest, dest);
	assert_int_equal(m->src, src);
	assert_int_equal(m->vector, vec);
	assert_int_equal(m->delivery, dm);
	assert_int_equal(m->shorthand, sh);
	assert_int_equal(m->logical, logical);
	assert_true(m->level);
	assert_false(m->trigger_level);
	assert_true(m->x2apic);
	assert_int_equal(m->reserved0, 0);
}

static void test_x2apic_icr_send_once(void **state)
{
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	x2_init(&fx, X2_ID);
	/* Fixed, physical, 32-bit destination. */
	assert_int_equal(msr_w(&fx, 0x830, 0xABCDEF0100000041ULL), 0);
	assert_int_equal(fx.f.n_ipis, 1);
	expect_msg(&fx.f.ipis[0], 0xABCDEF01U, X2_ID, 0x41, VIRQ_DM_FIXED, VIRQ_SH_NONE, false);
	assert_int_equal(msr_r(&fx, 0x830, &v), 0);
	assert_int_equal(v, 0xABCDEF0100000041ULL);
	/* NMI, logical cluster destination. */
	assert_int_equal(msr_w(&fx, 0x830, 0x0001000300000C00ULL), 0);
	assert_int_equal(fx.f.n_ipis, 2);
	expect_msg(&fx.f.ipis[1], 0x00010003U, X2_ID, 0, VIRQ_DM_NMI, VIRQ_SH_NONE, true);
	assert_int_equal(msr_r(&fx, 0x830, &v), 0);
	assert_int_equal(v, 0x0001000300000C00ULL);
	/* All excluding self: the destination field is ignored. */
	assert_int_equal(msr_w(&fx, 0x830, 0x12345678000C0099ULL), 0);
	assert_int_equal(fx.f.n_ipis, 3);
	expect_msg(&fx.f.ipis[2], 0xFFFFFFFFU, X2_ID, 0x99, VIRQ_DM_FIXED, VIRQ_SH_ALL_EXCL_SELF,
		   false);
	/* Broadcast physical destination 0xFFFFFFFF passes through. */
	assert_int_equal(msr_w(&fx, 0x830, 0xFFFFFFFF00000050ULL), 0);
	assert_int_equal(fx.f.n_ipis, 4);
	expect_msg(&fx.f.ipis[3], 0xFFFFFFFFU, X2_ID, 0x50, VIRQ_DM_FIXED, VIRQ_SH_NONE, false);
	/* INIT and SIPI to destination 0. */
	assert_int_equal(msr_w(&fx, 0x830, 0x0000000000004500ULL), 0);
	assert_int_equal(msr_w(&fx, 0x830, 0x0000000000004699ULL), 0);
	assert_int_equal(fx.f.n_ipis, 6);
	expect_msg(&fx.f.ipis[4], 0, X2_ID, 0, VIRQ_DM_INIT, VIRQ_SH_NONE, false);
	expect_msg(&fx.f.ipis[5], 0, X2_ID, 0x99, VIRQ_DM_STARTUP, VIRQ_SH_NONE, false);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

static void test_x2apic_icr_reserved_bits(void **state)
{
	struct lapic_fixture fx;
	struct snap s;

	(void)state;
	x2_init(&fx, X2_ID);
	assert_int_equal(msr_w(&fx, 0x830, 0x0000000700000031ULL), 0);
	assert_int_equal(fx.f.n_ipis, 1);
	snap_take(&fx, &s);
	for (unsigned b = 0; b < 32; b++) {
		bool rsvd = b == 13 || b == 16 || b == 17 || b >= 20;
		uint64_t val = 0x0000000200000041ULL | (1ULL << b);

		if (!rsvd)
			continue;
		if (msr_w(&fx, 0x830, val) != VIRQ_GP)
			fail_msg("ICR bit %u did not #GP", b);
		if (!snap_same(&fx, &s))
			fail_msg("ICR bit %u: faulting write changed the LAPIC", b);
	}
	assert_int_equal(fx.f.n_ipis, 1);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MSR_GP], 15);
	/* Bit 12 (delivery status) is ignored: the IPI goes out. */
	assert_int_equal(msr_w(&fx, 0x830, 0x0000000200001042ULL), 0);
	assert_int_equal(fx.f.n_ipis, 2);
	expect_msg(&fx.f.ipis[1], 2, X2_ID, 0x42, VIRQ_DM_FIXED, VIRQ_SH_NONE, false);
	assert_invariants(&fx);
}

/* ---- SDM 10.12.11 "SELF IPI Register": SELF IPI ---- */

static void test_x2apic_self_ipi(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	x2_init(&fx, X2_ID);
	assert_int_equal(msr_w(&fx, 0x83F, 0x41), 0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x41));
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x41));
	assert_int_equal(fx.f.n_ipis, 0);
	assert_int_equal(msr_w(&fx, 0x83F, 0xFE), 0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0xFE));
	assert_int_equal(fx.f.n_ipis, 0);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0xFE);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x41);
	/* IRR holds each vector once (other words untouched). */
	for (unsigned w = 0; w < 8; w++)
		assert_int_equal(fx.page[(VIRQ_LAPIC_REG_IRR >> 2) + w * 4], 0);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

/* ---- any x2APIC MSR outside x2APIC mode #GPs (SDM 10.12.1.2 "x2APIC Register
 * Address Space"; as KVM) ---- */

static void expect_range_all_gp(struct lapic_fixture *fx)
{
	static struct snap s;
	unsigned n = 0;

	snap_take(fx, &s);
	for (uint32_t msr = 0x800; msr <= 0xBFF; msr++) {
		uint64_t v;

		if (msr_r(fx, msr, &v) != VIRQ_GP)
			fail_msg("RDMSR 0x%x outside x2APIC mode did not #GP", msr);
		if (msr_w(fx, msr, 0) != VIRQ_GP)
			fail_msg("WRMSR 0x%x outside x2APIC mode did not #GP", msr);
		n += 2;
		if (!snap_same(fx, &s))
			fail_msg("MSR 0x%x outside x2APIC mode changed the LAPIC", msr);
	}
	assert_int_equal(fx->f.gerr[VIRQ_GERR_MSR_GP], n);
}

static void test_x2apic_msrs_gp_in_xapic_mode(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	expect_range_all_gp(&fx);
	assert_invariants(&fx);
}

static void test_x2apic_msrs_gp_when_disabled(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	/* Disabled from x2APIC mode. */
	x2_init(&fx, X2_ID);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, 0xFEE00100ULL, false), 0);
	expect_range_all_gp(&fx);
	assert_invariants(&fx);
	/* And on an APIC without x2APIC support at all. */
	{
		struct virq_lapic_config cfg = fixture_default_config();

		cfg.x2apic = false;
		fixture_init(&fx, &cfg);
		expect_range_all_gp(&fx);
		assert_invariants(&fx);
	}
}

/* ---- lapic.h: MSRs that are not the APIC's ---- */

static void test_x2apic_non_apic_msr(void **state)
{
	static const uint32_t msrs[] = { 0x000,  0x010,       0x01A,      0x01C, 0x03A,
					 0x6DF,  0x6E1,       0x7FF,      0xC00, 0xC01,
					 0x1000, 0xC0000080U, 0xFFFFFFFFU };
	static struct lapic_fixture fx;
	static struct snap s;

	(void)state;
	for (unsigned mode = 0; mode < 2; mode++) {
		fixture_init(&fx, NULL);
		if (mode)
			fixture_x2apic_enable(&fx);
		snap_take(&fx, &s);
		for (unsigned i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
			uint64_t v = 0;

			assert_int_equal(msr_r(&fx, msrs[i], &v), -VIRQ_ENOENT);
			assert_int_equal(msr_w(&fx, msrs[i], 0), -VIRQ_ENOENT);
			assert_int_equal(msr_w(&fx, msrs[i], ~0ULL), -VIRQ_ENOENT);
		}
		assert_true(snap_same(&fx, &s));
		assert_int_equal(fx.f.n_gerr, 0);
		/* NULL result pointer. */
		assert_int_equal(msr_r(&fx, 0x808, NULL), -VIRQ_EINVAL);
		assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_APIC_BASE, NULL), -VIRQ_EINVAL);
		assert_invariants(&fx);
	}
}

/* ---- SDM 10.12.10.2 "Deriving Logical x2APIC ID from the Local x2APIC
 * ID": 32-bit x2APIC ID and the derived LDR ---- */

static void test_x2apic_id_and_ldr_from_apic_id(void **state)
{
	static const struct {
		uint32_t id, ldr;
	} t[] = {
		{ 0x00000000U, 0x00000001U }, { 0x00000001U, 0x00000002U },
		{ 0x0000000FU, 0x00008000U }, { 0x00000010U, 0x00010001U },
		{ 0x0000001FU, 0x00018000U }, { 0x00000020U, 0x00020001U },
		{ 0x0000005AU, 0x00050400U }, { 0x000000FFU, 0x000F8000U },
		{ 0x00000100U, 0x00100001U }, { 0x00012345U, 0x12340020U },
		{ 0x000FFFF0U, 0xFFFF0001U }, { 0x000FFFFFU, 0xFFFF8000U },
		{ 0x00100000U, 0x00000001U }, { 0x00ABCDE7U, 0xBCDE0080U },
		{ 0xFFFFFFFEU, 0xFFFF4000U },
	};
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v;

		x2_init(&fx, t[i].id);
		assert_int_equal(msr_r(&fx, 0x802, &v), 0);
		assert_int_equal(v, t[i].id);
		assert_int_equal(virq_lapic_get_id(&fx.apic), t[i].id);
		assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
		if (v != t[i].ldr)
			fail_msg("ID 0x%x: LDR 0x%llx, want 0x%x", t[i].id, (unsigned long long)v,
				 t[i].ldr);
		/* Read-only, both of them. */
		assert_int_equal(msr_w(&fx, 0x802, t[i].id), VIRQ_GP);
		assert_int_equal(msr_w(&fx, 0x80D, t[i].ldr), VIRQ_GP);
		/* The page holds the same values (virtual-APIC page layout). */
		assert_int_equal(fx.page[VIRQ_LAPIC_REG_ID / 4], t[i].id);
		assert_int_equal(fx.page[VIRQ_LAPIC_REG_LDR / 4], t[i].ldr);
		/* Logical destination matching uses this LDR. */
		assert_true(virq_lapic_match_dest(&fx.apic, t[i].ldr, true));
		assert_invariants(&fx);
	}
}

/* SDM 10.8.3.1 "Task and Processor Priorities", Table 10-6 "Local APIC Register
 * Address Map Supported by x2APIC": TPR through MSR 0x808 drives PPR (0x80A) the same
 * way. */
static void test_x2apic_tpr_ppr(void **state)
{
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	x2_init(&fx, X2_ID);
	for (unsigned tpr = 0; tpr < 256; tpr++) {
		assert_int_equal(msr_w(&fx, 0x808, tpr), 0);
		assert_int_equal(msr_r(&fx, 0x808, &v), 0);
		assert_int_equal(v, tpr);
		assert_int_equal(msr_r(&fx, 0x80A, &v), 0);
		assert_int_equal(v, tpr);
		assert_int_equal(virq_lapic_get_cr8(&fx.apic), tpr >> 4);
	}
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x2apic_read_whole_range),
		cmocka_unit_test(test_x2apic_read_gp_named),
		cmocka_unit_test(test_x2apic_write_whole_range),
		cmocka_unit_test(test_x2apic_readonly_write_gp),
		cmocka_unit_test(test_x2apic_eoi_esr_selfipi_rules),
		cmocka_unit_test(test_x2apic_reserved_bits),
		cmocka_unit_test(test_x2apic_reserved_bits_config),
		cmocka_unit_test(test_x2apic_timer_mode3_gp),
		cmocka_unit_test(test_x2apic_icr_send_once),
		cmocka_unit_test(test_x2apic_icr_reserved_bits),
		cmocka_unit_test(test_x2apic_self_ipi),
		cmocka_unit_test(test_x2apic_msrs_gp_in_xapic_mode),
		cmocka_unit_test(test_x2apic_msrs_gp_when_disabled),
		cmocka_unit_test(test_x2apic_non_apic_msr),
		cmocka_unit_test(test_x2apic_id_and_ldr_from_apic_id),
		cmocka_unit_test(test_x2apic_tpr_ppr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
