/* SPDX-License-Identifier: MIT */
/*
 * One test per checklist row that concerns a single LAPIC: bugs other
 * hypervisors shipped, kept from coming back here. Each test is named
 * after its row and cites the advisory or the peer. This file is the
 * checklist: rows that other LAPIC tests also cover are repeated here.
 *
 * Rows about the I/O APIC, the PIC, GSI and MSI routing and several vCPUs
 * are tested where those live: tests/ioapic/test_regressions.c,
 * tests/pic/test_regressions.c, tests/msi/test_regressions.c and
 * tests/vm/test_regressions.c (including the end-to-end suppress-EOI matrix
 * with I/O APIC versions 0x11/0x20 and the APIC-map rows).
 */
#include "harness.h"

#define BASE_XAPIC (VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN)
#define BASE_X2APIC (BASE_XAPIC | VIRQ_APIC_BASE_EXTD)

#define LVT_ONESHOT(v) ((uint32_t)(v))
#define LVT_PERIODIC(v) ((uint32_t)(v) | (VIRQ_LVT_TIMER_PERIODIC << VIRQ_LVT_TIMER_MODE_SHIFT))
#define LVT_TSC(v) ((uint32_t)(v) | (VIRQ_LVT_TIMER_TSCDEADLINE << VIRQ_LVT_TIMER_MODE_SHIFT))

static uint32_t page_snap[1024];

static void snap(struct lapic_fixture *fx)
{
	memcpy(page_snap, fx->page, sizeof(page_snap));
}

static void assert_page_unchanged(struct lapic_fixture *fx)
{
	assert_memory_equal(page_snap, fx->page, sizeof(page_snap));
}

static bool irr_has(struct lapic_fixture *fx, uint8_t v)
{
	return page_vec(fx, VIRQ_LAPIC_REG_IRR, v);
}

static bool vecs_empty(struct lapic_fixture *fx, uint32_t base)
{
	for (unsigned i = 0; i < 8; i++)
		if (fx->page[(base >> 2) + 4 * i])
			return false;
	return true;
}

/* ESR after the write-then-read sequence (xAPIC MMIO or x2APIC MSR). */
static uint32_t esr_read(struct lapic_fixture *fx)
{
	uint64_t v = 0;

	if (virq_lapic_get_mode(&fx->apic) == VIRQ_LAPIC_MODE_X2APIC) {
		assert_int_equal(msr_w(fx, 0x828, 0), 0);
		assert_int_equal(msr_r(fx, 0x828, &v), 0);
		return (uint32_t)v;
	}
	mmio_w(fx, VIRQ_LAPIC_REG_ESR, 0);
	return mmio_r(fx, VIRQ_LAPIC_REG_ESR);
}

static void icr_send_xapic(struct lapic_fixture *fx, uint8_t dest, uint32_t lo)
{
	mmio_w(fx, VIRQ_LAPIC_REG_ICR_HI, (uint32_t)dest << 24);
	mmio_w(fx, VIRQ_LAPIC_REG_ICR_LO, lo);
}

static struct virq_lapic_config cfg_with_id(uint32_t id)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.apic_id = id;
	return cfg;
}

/* ======================================================================
 * Untrusted indexes and sizes
 * ====================================================================== */

/* x2APIC MSRs that exist (SDM Table 10-6): readable, or write-only. */
static bool x2_readable(uint32_t msr, bool cmci)
{
	if (msr == 0x802 || msr == 0x803 || msr == 0x808 || msr == 0x80A || msr == 0x80D ||
	    msr == 0x80F || msr == 0x828 || msr == 0x830 || msr == 0x83E)
		return true;
	if (msr >= 0x810 && msr <= 0x827) /* ISR, TMR, IRR */
		return true;
	if (msr >= 0x832 && msr <= 0x839) /* LVTs, TMICT, TMCCT */
		return true;
	return msr == 0x82F && cmci;
}

static bool x2_write_only(uint32_t msr)
{
	return msr == 0x80B || msr == 0x83F; /* EOI, SELF IPI */
}

static bool x2_writable(uint32_t msr, bool cmci)
{
	if (msr == 0x808 || msr == 0x80B || msr == 0x80F || msr == 0x828 || msr == 0x830 ||
	    msr == 0x838 || msr == 0x83E || msr == 0x83F)
		return true;
	if (msr >= 0x832 && msr <= 0x837)
		return true;
	return msr == 0x82F && cmci;
}

static void xsa108_sweep(struct lapic_fixture *fx, bool cmci)
{
	unsigned gp = 0;

	for (uint32_t msr = VIRQ_X2APIC_MSR_BASE; msr <= VIRQ_X2APIC_MSR_LAST; msr++) {
		uint64_t v = 0xDEADBEEFCAFEF00DULL;
		int r = msr_r(fx, msr, &v);

		if (x2_readable(msr, cmci)) {
			assert_int_equal(r, 0);
			if (msr != 0x830)
				assert_int_equal(v >> 32, 0); /* upper half reserved, reads 0 */
		} else {
			/* Non-existent or write-only: #GP, and nothing read. */
			if (r != VIRQ_GP)
				print_error("RDMSR 0x%x -> %d\n", msr, r);
			assert_int_equal(r, VIRQ_GP);
			assert_true(v == 0 || v == 0xDEADBEEFCAFEF00DULL);
			gp++;
		}
		/* Writes of 0 to everything that is not a writable register. */
		if (!x2_writable(msr, cmci)) {
			snap(fx);
			r = msr_w(fx, msr, 0);
			if (r != VIRQ_GP)
				print_error("WRMSR 0x%x -> %d\n", msr, r);
			assert_int_equal(r, VIRQ_GP);
			assert_page_unchanged(fx);
			gp++;
		}
	}
	assert_int_equal(fx->f.gerr[VIRQ_GERR_MSR_GP], gp);
	assert_invariants(fx);
}

/* Xen XSA-108 / CVE-2014-7188: the x2APIC MSR range was read past the register area. */
static void test_xsa108_x2apic_msr_range(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_x2apic_enable(&fx);
	xsa108_sweep(&fx, true);

	/* A few values, so "readable" also means "the right register". */
	assert_int_equal(msr_r(&fx, 0x802, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msr_r(&fx, 0x803, &v), 0);
	assert_int_equal(v, 0x00060014U);
	assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(msr_r(&fx, 0x80F, &v), 0);
	assert_int_equal(v, 0x1FF);
	assert_int_equal(msr_r(&fx, 0x837, &v), 0);
	assert_int_equal(v, VIRQ_LVT_RESET);

	/* Without CMCI (max LVT 5) 0x82F does not exist either. */
	cfg.max_lvt = 5;
	fixture_init(&fx, &cfg);
	fixture_x2apic_enable(&fx);
	xsa108_sweep(&fx, false);

	/* Outside x2APIC mode the whole range faults, writable registers too. */
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	snap(&fx);
	for (uint32_t msr = VIRQ_X2APIC_MSR_BASE; msr <= VIRQ_X2APIC_MSR_LAST; msr++) {
		v = 0;
		assert_int_equal(msr_r(&fx, msr, &v), VIRQ_GP);
		assert_int_equal(msr_w(&fx, msr, 0), VIRQ_GP);
	}
	assert_page_unchanged(&fx);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_MSR_GP], 2 * 0x400);

	/* Just outside the range: not an APIC MSR at all. */
	assert_int_equal(msr_r(&fx, 0x7FF, &v), -VIRQ_ENOENT);
	assert_int_equal(msr_r(&fx, 0xC00, &v), -VIRQ_ENOENT);
	assert_int_equal(msr_w(&fx, 0x7FF, 0), -VIRQ_ENOENT);
	assert_int_equal(msr_w(&fx, 0xC00, 0), -VIRQ_ENOENT);
	assert_int_equal(msr_r(&fx, 0xFFFFFFFFU, &v), -VIRQ_ENOENT);
	assert_int_equal(msr_r(&fx, 0x830, NULL), -VIRQ_EINVAL);
}

/* Offsets that are reserved in xAPIC mode (SDM Table 10-1), for a 16-byte slot. */
static bool xapic_slot_reserved(uint32_t slot, bool cmci)
{
	if (slot >= 0x400)
		return true;
	switch (slot) {
	case 0x000:
	case 0x010:
	case 0x3F0: /* SELF IPI exists only in x2APIC mode */
		return true;
	case 0x2F0:
		return !cmci;
	default:
		break;
	}
	return (slot >= 0x040 && slot <= 0x070) || (slot >= 0x290 && slot <= 0x2E0) ||
	       (slot >= 0x3A0 && slot <= 0x3D0);
}

/* Registers whose write has no effect in this configuration (read-only). */
static bool xapic_slot_readonly(uint32_t slot)
{
	return slot == VIRQ_LAPIC_REG_ID || slot == VIRQ_LAPIC_REG_VERSION ||
	       slot == VIRQ_LAPIC_REG_APR || slot == VIRQ_LAPIC_REG_PPR ||
	       slot == VIRQ_LAPIC_REG_RRD || slot == VIRQ_LAPIC_REG_TMCCT ||
	       (slot >= VIRQ_LAPIC_REG_ISR && slot < VIRQ_LAPIC_REG_ESR);
}

static uint64_t ones(unsigned size)
{
	return size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1U;
}

static const unsigned sizes[] = { 1, 2, 4, 8 };

/* Page not decoded (disabled or x2APIC mode): all ones, writes dropped. */
static void mmio_undecoded_sweep(struct lapic_fixture *fx)
{
	snap(fx);
	for (uint32_t off = 0; off < 0x1000; off++) {
		for (unsigned s = 0; s < 4; s++) {
			unsigned size = sizes[s];
			uint64_t v = 0x1234;
			int want = off + size > 0x1000 ? -VIRQ_EINVAL : 0;

			assert_int_equal(virq_lapic_mmio_read(&fx->apic, off, size, &v), want);
			if (!want)
				assert_int_equal(v, ones(size));
			assert_int_equal(virq_lapic_mmio_write(&fx->apic, off, size, ~0ULL), want);
		}
	}
	assert_page_unchanged(fx);
}

/* Xen 2018: MMIO accesses of 1/2/8 bytes or misaligned went past the register array. */
static void test_xen2018_mmio_sizes_offsets(void **state)
{
	struct lapic_fixture fx;
	uint32_t ref[0x40];
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	/* Distinct bytes in a few registers. */
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x5A);
	mmio_w(&fx, VIRQ_LAPIC_REG_LDR, 0xA5000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_DFR, 0x0FFFFFFFU);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_THERMAL, 0x000104EFU);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xBU);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x12000000U);
	for (uint32_t slot = 0; slot < 0x400; slot += 16)
		ref[slot >> 4] = mmio_r(&fx, slot);
	assert_int_equal(ref[VIRQ_LAPIC_REG_VERSION >> 4], 0x00060014U);
	assert_int_equal(ref[VIRQ_LAPIC_REG_TPR >> 4], 0x5A);
	/* The reference reads latched ESR bit 7: publish it, then clear ESR. */
	assert_int_equal(esr_read(&fx), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	assert_int_equal(esr_read(&fx), 0);
	ref[VIRQ_LAPIC_REG_ESR >> 4] = 0;

	/* Reads: every offset x size. */
	for (uint32_t off = 0; off < 0x1000; off++) {
		for (unsigned s = 0; s < 4; s++) {
			unsigned size = sizes[s], in = off & 0xFU;
			uint32_t slot = off & ~0xFU;
			unsigned g0 = fx.f.n_gerr, gsz = fx.f.gerr[VIRQ_GERR_MMIO_SIZE];
			unsigned grsv = fx.f.gerr[VIRQ_GERR_RESERVED_REG];

			v = 0xDEADBEEFDEADBEEFULL;
			if (off + size > 0x1000) {
				assert_int_equal(virq_lapic_mmio_read(&fx.apic, off, size, &v),
						 -VIRQ_EINVAL);
				continue;
			}
			assert_int_equal(virq_lapic_mmio_read(&fx.apic, off, size, &v), 0);
			if (in + size > 4) {
				/* Beyond bytes 0-3 of a slot: undefined, reads 0. */
				assert_int_equal(v, 0);
				assert_int_equal(fx.f.gerr[VIRQ_GERR_MMIO_SIZE], gsz + 1);
			} else if (xapic_slot_reserved(slot, true)) {
				assert_int_equal(v, 0);
				assert_int_equal(fx.f.gerr[VIRQ_GERR_RESERVED_REG], grsv + 1);
			} else {
				assert_int_equal(v, (ref[slot >> 4] >> (8 * in)) & ones(size));
				/* RRD (reserved or RO, model-specific) and EOI
				 * (write-only) may report; real registers do not. */
				if (slot != VIRQ_LAPIC_REG_RRD && slot != VIRQ_LAPIC_REG_EOI)
					assert_int_equal(fx.f.n_gerr, g0);
			}
		}
	}
	/* Reserved reads latched ESR bit 7 (and nothing else). */
	assert_int_equal(esr_read(&fx), VIRQ_LAPIC_ESR_ILLEGAL_REG);

	/* Writes of all ones: every size/alignment other than aligned 4 bytes is
	 * dropped; aligned writes to reserved and read-only slots change nothing. */
	for (uint32_t off = 0; off < 0x1000; off++) {
		for (unsigned s = 0; s < 4; s++) {
			unsigned size = sizes[s];
			uint32_t slot = off & ~0xFU;
			bool aligned4 = size == 4 && !(off & 0xFU);

			if (off + size > 0x1000) {
				assert_int_equal(virq_lapic_mmio_write(&fx.apic, off, size, ~0ULL),
						 -VIRQ_EINVAL);
				continue;
			}
			if (aligned4 && !xapic_slot_reserved(slot, true) &&
			    !xapic_slot_readonly(slot))
				continue; /* a real register write: covered elsewhere */
			snap(&fx);
			assert_int_equal(virq_lapic_mmio_write(&fx.apic, off, size, ~0ULL), 0);
			assert_page_unchanged(&fx);
		}
	}
	assert_int_equal(esr_read(&fx), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	assert_invariants(&fx);

	/* Embedder mistakes: sizes and offsets outside the page, NULL. */
	assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0, 0, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0, 3, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0, 16, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0x1000, 4, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0xFFFFFFFFU, 4, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0xFFFFFFFEU, 8, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0x20, 4, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_write(&fx.apic, 0, 3, 0), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_write(&fx.apic, 0x1000, 4, 0), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_write(&fx.apic, 0xFFFFFFFCU, 8, 0), -VIRQ_EINVAL);

	/* x2APIC mode and globally disabled: the page is not decoded. */
	fixture_x2apic_enable(&fx);
	mmio_undecoded_sweep(&fx);
	assert_int_equal(virq_lapic_set_apic_base(
				 &fx.apic, VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_BSP, false),
			 0);
	mmio_undecoded_sweep(&fx);
	assert_invariants(&fx);
}

/* KVM CVE-2013-6376: crafted x2APIC ICR / LDR hit a BUG_ON in the APIC map rebuild. */
static void test_cve_2013_6376_x2apic_id_icr_extremes(void **state)
{
	static const uint32_t ids[] = { 0,       1,       0xF,      0x10,        0xFF,       0x100,
					0xFFFF0, 0xFFFFF, 0x100000, 0xFFFFFFF0U, 0xFFFFFFFEU };
	static const uint32_t dests[] = { 0,           1,           0xFF,
					  0xFFFF,      0x10000,     0xFFFF0001U,
					  0xFFFF8000U, 0xFFFFFFFEU, 0xFFFFFFFFU };
	struct lapic_fixture fx;
	struct virq_lapic_config cfg;

	(void)state;
	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		uint32_t id = ids[i];
		uint32_t cluster = (id >> 4) & 0xFFFFU; /* only 16 bits fit (SDM 10.12.10.2) */
		uint32_t pos = 1U << (id & 0xFU);
		uint32_t ldr = (cluster << 16) | pos;
		uint64_t v;

		cfg = cfg_with_id(id);
		fixture_init(&fx, &cfg);
		fixture_x2apic_enable(&fx);
		assert_int_equal(msr_r(&fx, 0x802, &v), 0);
		assert_int_equal(v, id);
		assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
		assert_int_equal(v, ldr);
		assert_int_equal(virq_lapic_get_id(&fx.apic), id);

		/* Physical: own ID and broadcast only. */
		assert_true(virq_lapic_match_dest(&fx.apic, id, false));
		assert_true(virq_lapic_match_dest(&fx.apic, 0xFFFFFFFFU, false));
		assert_false(virq_lapic_match_dest(&fx.apic, id ^ 2U, false));
		assert_false(virq_lapic_match_dest(&fx.apic, id ^ 0x10U, false));
		/* Logical: cluster and bitmap, broadcast; cluster 0xFFFF is a
		 * cluster like any other. */
		assert_true(virq_lapic_match_dest(&fx.apic, ldr, true));
		assert_true(virq_lapic_match_dest(&fx.apic, (cluster << 16) | 0xFFFFU, true));
		assert_true(virq_lapic_match_dest(&fx.apic, 0xFFFFFFFFU, true));
		assert_false(
			virq_lapic_match_dest(&fx.apic, (cluster << 16) | (0xFFFFU & ~pos), true));
		assert_false(virq_lapic_match_dest(&fx.apic, ((cluster ^ 1U) << 16) | pos, true));
		assert_false(virq_lapic_match_dest(&fx.apic, cluster << 16, true));

		/* ICR with extreme destinations: sent as written, nothing else. */
		for (unsigned d = 0; d < sizeof(dests) / sizeof(dests[0]); d++) {
			for (unsigned logical = 0; logical < 2; logical++) {
				uint64_t icr = ((uint64_t)dests[d] << 32) | 0x4000U | 0x40U |
					       (logical ? VIRQ_ICR_DEST_LOGICAL : 0);
				struct virq_apic_msg *m;
				unsigned n = fx.f.n_ipis;

				assert_int_equal(msr_w(&fx, 0x830, icr), 0);
				assert_int_equal(fx.f.n_ipis, n + 1);
				m = &fx.f.ipis[n];
				assert_int_equal(m->dest, dests[d]);
				assert_int_equal(m->src, id);
				assert_int_equal(m->vector, 0x40);
				assert_int_equal(m->delivery, VIRQ_DM_FIXED);
				assert_int_equal(m->shorthand, VIRQ_SH_NONE);
				assert_int_equal(m->logical, logical);
				assert_true(m->x2apic);
				assert_int_equal(msr_r(&fx, 0x830, &v), 0);
				assert_int_equal(v, icr);
			}
		}
		assert_true(vecs_empty(&fx, VIRQ_LAPIC_REG_IRR));
		assert_invariants(&fx);
	}

	/* 0xFFFFFFFF is never an x2APIC ID; IDs above 0xFF need x2APIC. */
	cfg = cfg_with_id(0xFFFFFFFFU);
	memset(&fx.apic, 0xA5, sizeof(fx.apic));
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &cfg, &fake_ops, &fx.f), -VIRQ_EINVAL);
	cfg = cfg_with_id(0x100);
	cfg.x2apic = false;
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &cfg, &fake_ops, &fx.f), -VIRQ_ENOTSUP);
	for (unsigned i = 0; i < sizeof(fx.apic); i++)
		assert_int_equal(((uint8_t *)&fx.apic)[i], 0xA5);
}

/* ======================================================================
 * LAPIC registers, modes and errors
 * ====================================================================== */

enum base_state {
	ST_DIS,
	ST_XAPIC,
	ST_X2APIC,
	ST_INVALID
};

static uint64_t base_value(enum base_state s, bool bsp)
{
	uint64_t b = VIRQ_APIC_BASE_ADDR_DEFAULT | (bsp ? VIRQ_APIC_BASE_BSP : 0);

	switch (s) {
	case ST_DIS:
		return b;
	case ST_XAPIC:
		return b | VIRQ_APIC_BASE_EN;
	case ST_X2APIC:
		return b | VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD;
	default:
		return b | VIRQ_APIC_BASE_EXTD;
	}
}

/* Reaches @s from RESET through legal guest writes. */
static void reach(struct lapic_fixture *fx, enum base_state s)
{
	bool bsp = fx->cfg.bsp;

	if (s == ST_DIS)
		assert_int_equal(msr_w(fx, VIRQ_MSR_IA32_APIC_BASE, base_value(ST_DIS, bsp)), 0);
	else if (s == ST_X2APIC)
		assert_int_equal(msr_w(fx, VIRQ_MSR_IA32_APIC_BASE, base_value(ST_X2APIC, bsp)), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx->apic), base_value(s, bsp));
}

/*
 * bhyve/HyperKit reject every IA32_APIC_BASE write; ACRN/crosvm miss most
 * transitions (OSv and OVMF break). The whole SDM 10.12.5 table.
 */
static void test_apic_base_transition_table(void **state)
{
	/* legal[from][to], SDM Figure 10-27. */
	static const bool legal[3][4] = {
		[ST_DIS] = { true, true, false, false },
		[ST_XAPIC] = { true, true, true, false },
		[ST_X2APIC] = { true, false, true, false },
	};
	static const enum virq_lapic_mode mode_of[3] = { VIRQ_LAPIC_MODE_DISABLED,
							 VIRQ_LAPIC_MODE_XAPIC,
							 VIRQ_LAPIC_MODE_X2APIC };
	struct lapic_fixture fx;
	struct virq_lapic_config cfg;
	uint64_t v;

	(void)state;
	for (int from = ST_DIS; from <= ST_X2APIC; from++) {
		for (int to = ST_DIS; to <= ST_INVALID; to++) {
			uint64_t before;

			fixture_init(&fx, NULL);
			reach(&fx, (enum base_state)from);
			before = virq_lapic_get_apic_base(&fx.apic);
			snap(&fx);
			v = base_value((enum base_state)to, true);
			if (legal[from][to]) {
				assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, v), 0);
				assert_int_equal(virq_lapic_get_apic_base(&fx.apic), v);
				assert_int_equal(virq_lapic_get_mode(&fx.apic), mode_of[to]);
				assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_APIC_BASE, &v), 0);
				assert_int_equal(v, base_value((enum base_state)to, true));
			} else {
				assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, v), VIRQ_GP);
				assert_int_equal(virq_lapic_get_apic_base(&fx.apic), before);
				assert_page_unchanged(&fx);
				assert_int_equal(fx.f.gerr[VIRQ_GERR_APIC_BASE], 1);
			}
			assert_invariants(&fx);
		}
	}

	/* Reserved bits: 7:0, 9, MAXPHYADDR (36) and above. */
	fixture_init(&fx, NULL);
	for (unsigned bit = 0; bit < 64; bit++) {
		uint64_t b = 1ULL << bit;
		bool rsvd = bit <= 7 || bit == 9 || bit >= 36;

		if (!rsvd)
			continue;
		snap(&fx);
		assert_int_equal(virq_lapic_set_apic_base(&fx.apic, base_value(ST_XAPIC, true) | b,
							  false),
				 VIRQ_GP);
		/* Host-initiated writes skip the transition table, not reserved bits. */
		assert_int_equal(virq_lapic_set_apic_base(&fx.apic, base_value(ST_XAPIC, true) | b,
							  true),
				 VIRQ_GP);
		assert_int_equal(virq_lapic_get_apic_base(&fx.apic), base_value(ST_XAPIC, true));
		assert_page_unchanged(&fx);
	}
	/* Base relocation within MAXPHYADDR is honoured. */
	v = 0xFED00000ULL | VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_BSP;
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, v), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), v);
	v = (1ULL << 35) | VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_BSP;
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, v), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), v);

	/* BSP is read-only: a differing value is ignored, not faulted. */
	fixture_init(&fx, NULL);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, base_value(ST_XAPIC, false)), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), base_value(ST_XAPIC, true));
	cfg = fixture_default_config();
	cfg.bsp = false;
	fixture_init(&fx, &cfg);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), base_value(ST_XAPIC, false));
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, base_value(ST_XAPIC, true)), 0);
	assert_int_equal(virq_lapic_get_apic_base(&fx.apic), base_value(ST_XAPIC, false));

	/* EXTD without x2APIC support is reserved. */
	cfg = fixture_default_config();
	cfg.x2apic = false;
	fixture_init(&fx, &cfg);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, base_value(ST_X2APIC, true)), VIRQ_GP);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_XAPIC);

	/* Host-initiated: x2APIC -> xAPIC allowed, EN=0/EXTD=1 still not. */
	fixture_init(&fx, NULL);
	reach(&fx, ST_X2APIC);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, base_value(ST_INVALID, true), true),
			 VIRQ_GP);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, base_value(ST_XAPIC, true), true), 0);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_XAPIC);
	assert_invariants(&fx);

	/* What the transitions do to the registers (SDM 10.12.5.1). */
	cfg = cfg_with_id(0x23);
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x20);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, 0x00000730U); /* ExtINT, unmasked */
	mmio_w(&fx, VIRQ_LAPIC_REG_LDR, 0x55000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x7F000000U);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, base_value(ST_X2APIC, true)), 0);
	assert_int_equal(msr_r(&fx, 0x808, &v), 0);
	assert_int_equal(v, 0x20); /* TPR kept */
	assert_int_equal(msr_r(&fx, 0x80F, &v), 0);
	assert_int_equal(v, 0x1FF); /* SVR kept */
	assert_int_equal(msr_r(&fx, 0x835, &v), 0);
	assert_int_equal(v, 0x00000730U); /* LVT kept */
	assert_int_equal(msr_r(&fx, 0x802, &v), 0);
	assert_int_equal(v, 0x23);
	assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
	assert_int_equal(v, 0x00020008U); /* derived, the written LDR is gone */
	assert_int_equal(msr_r(&fx, 0x830, &v), 0);
	assert_int_equal(v >> 32, 0); /* ICR high not preserved */
	/* x2APIC -> disabled -> xAPIC: power-up register file, initial ID. */
	reach(&fx, ST_DIS);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, base_value(ST_XAPIC, true)), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ID), 0x23000000U);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_SVR), 0xFF);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_LINT0), VIRQ_LVT_RESET);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_DFR), 0xFFFFFFFFU);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LDR), 0);
	assert_invariants(&fx);
}

/* Xen 2023: x2APIC LDR derived from the vCPU index instead of the APIC ID. */
static void test_xen2023_x2apic_ldr_from_apic_id(void **state)
{
	static const struct {
		uint32_t id, ldr;
	} tab[] = {
		{ 0x0, 0x00000001U },     { 0x1, 0x00000002U },     { 0xF, 0x00008000U },
		{ 0x10, 0x00010001U },    { 0x11, 0x00010002U },    { 0x1F, 0x00018000U },
		{ 0x20, 0x00020001U },    { 0x23, 0x00020008U },    { 0x7F, 0x00078000U },
		{ 0xFF, 0x000F8000U },    { 0x100, 0x00100001U },   { 0x1234, 0x01230010U },
		{ 0xABCDE, 0xABCD4000U }, { 0xFFFFF, 0xFFFF8000U },
	};
	struct lapic_fixture fx;
	struct virq_lapic_config cfg;
	struct virq_lapic_events ev;
	struct virq_apic_msg init = { 0 };
	uint64_t v;

	(void)state;
	init.delivery = VIRQ_DM_INIT;
	init.level = true;
	for (unsigned i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		/* Only the configured APIC ID goes in: the LAPIC knows no vCPU index. */
		cfg = cfg_with_id(tab[i].id);
		fixture_init(&fx, &cfg);
		fixture_x2apic_enable(&fx);
		assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
		assert_int_equal(v, tab[i].ldr);
		assert_int_equal(v, ((tab[i].id >> 4) << 16) | (1U << (tab[i].id & 0xFU)));
		/* INIT keeps x2APIC mode and the derived LDR (SDM 10.4.7.3). */
		virq_lapic_post_msg(&fx.apic, &init);
		assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_INIT);
		assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_X2APIC);
		assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
		assert_int_equal(v, tab[i].ldr);
		assert_int_equal(msr_r(&fx, 0x802, &v), 0);
		assert_int_equal(v, tab[i].id);
		/* Read-only in x2APIC mode. */
		assert_int_equal(msr_w(&fx, 0x80D, 0x00010001U), VIRQ_GP);
		assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
		assert_int_equal(v, tab[i].ldr);
		assert_invariants(&fx);
	}
}

/* Xen 2024 / QEMU: ESR treated as a plain register instead of write-then-read. */
static void test_esr_write_then_read(void **state)
{
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);

	/* Latched, not visible until an ESR write. */
	assert_int_equal(mmio_r(&fx, 0x040), 0); /* reserved offset: bit 7 */
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0x80);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0x80); /* reads do not clear */
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0); /* back-to-back writes clear */

	/* The written value is not stored (xAPIC: any value may be written). */
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0xFFFFFFFFU);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0);

	/* Errors accumulate until the write, whatever the LVT Error mask. */
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_ERROR) & VIRQ_LVT_MASKED, VIRQ_LVT_MASKED);
	icr_send_xapic(&fx, 1, 0x00000005U);    /* fixed, vector 5: send illegal */
	virq_lapic_post(&fx.apic, 0x07, false); /* receive illegal */
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	mmio_w(&fx, 0x3A0, 0); /* reserved offset */
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), VIRQ_LAPIC_ESR_SEND_ILLEGAL |
								  VIRQ_LAPIC_ESR_RECV_ILLEGAL |
								  VIRQ_LAPIC_ESR_ILLEGAL_REG);
	assert_int_equal(fx.f.n_ipis, 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_ESR, 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0);

	/* x2APIC: a non-zero write faults and publishes nothing; 0 publishes. */
	fixture_x2apic_enable(&fx);
	assert_int_equal(msr_w(&fx, 0x830, 0x3ULL), 0); /* fixed, dest 0, vector 3: send error */
	assert_int_equal(msr_r(&fx, 0x828, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msr_w(&fx, 0x828, 1), VIRQ_GP);
	assert_int_equal(msr_r(&fx, 0x828, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msr_w(&fx, 0x828, 0), 0);
	assert_int_equal(msr_r(&fx, 0x828, &v), 0);
	assert_int_equal(v, VIRQ_LAPIC_ESR_SEND_ILLEGAL);
	assert_int_equal(msr_w(&fx, 0x828, 0), 0);
	assert_int_equal(msr_r(&fx, 0x828, &v), 0);
	assert_int_equal(v, 0);
	assert_invariants(&fx);
}

/*
 * Xen XSA-462 / CVE-2024-45817: an error LVT with an illegal vector made
 * error reporting recurse under a lock.
 */
static void test_xsa462_lvt_error_illegal_vector_no_recursion(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0x05); /* unmasked, illegal vector */
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_ERROR), 0x05);
	assert_int_equal(esr_read(&fx), 0); /* programming it is not an error */

	for (unsigned round = 0; round < 3; round++) {
		unsigned sent0 = fx.f.gerr[VIRQ_GERR_SEND_ILLEGAL_VECTOR];
		unsigned recv0 = fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR];

		/* Illegal-vector IPI: send error (bit 5) -> LVT Error fires with
		 * vector 5 -> receive error (bit 6) -> no second LVT Error. */
		icr_send_xapic(&fx, 1, 0x00000003U);
		assert_int_equal(fx.f.n_ipis, 0);
		assert_int_equal(fx.f.gerr[VIRQ_GERR_SEND_ILLEGAL_VECTOR], sent0 + 1);
		assert_int_equal(fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR], recv0 + 1);
		assert_true(vecs_empty(&fx, VIRQ_LAPIC_REG_IRR));
		assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		assert_int_equal(esr_read(&fx),
				 VIRQ_LAPIC_ESR_SEND_ILLEGAL | VIRQ_LAPIC_ESR_RECV_ILLEGAL);
		assert_invariants(&fx); /* includes "not inside error delivery" */
	}

	/* Received illegal vector (posted): bit 6 once; the LVT Error's own
	 * illegal vector is reported, and stops there. */
	{
		unsigned recv0 = fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR];

		virq_lapic_post(&fx.apic, 0x03, false);
		assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		assert_int_equal(fx.f.gerr[VIRQ_GERR_RECV_ILLEGAL_VECTOR], recv0 + 2);
		assert_int_equal(esr_read(&fx), VIRQ_LAPIC_ESR_RECV_ILLEGAL);
		assert_invariants(&fx);
	}

	/* With a legal vector the error interrupt is delivered exactly once. */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0xE3);
	icr_send_xapic(&fx, 1, 0x00000003U);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0xE3);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(esr_read(&fx), VIRQ_LAPIC_ESR_SEND_ILLEGAL);
	assert_invariants(&fx);
}

/* ACRN test failures: physical broadcast 0xFF in x2APIC mode. */
static void test_acrn_x2apic_physical_broadcast_0xff(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = cfg_with_id(5);

	(void)state;
	/* xAPIC: 0xFF is the broadcast. */
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	assert_true(virq_lapic_match_dest(&fx.apic, 0xFF, false));
	assert_true(virq_lapic_match_dest(&fx.apic, 5, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 6, false));

	/* x2APIC: 0xFF is an ordinary ID; only 0xFFFFFFFF broadcasts. */
	fixture_x2apic_enable(&fx);
	assert_false(virq_lapic_match_dest(&fx.apic, 0xFF, false));
	assert_true(virq_lapic_match_dest(&fx.apic, 0xFFFFFFFFU, false));
	assert_true(virq_lapic_match_dest(&fx.apic, 5, false));
	assert_int_equal(msr_w(&fx, 0x830, (0xFFULL << 32) | 0x4041U), 0);
	assert_int_equal(fx.f.n_ipis, 1);
	assert_int_equal(fx.f.ipis[0].dest, 0xFF); /* not widened to a broadcast */
	assert_int_equal(fx.f.ipis[0].shorthand, VIRQ_SH_NONE);
	/* A shorthand broadcast carries the x2APIC broadcast ID. */
	assert_int_equal(msr_w(&fx, 0x830, (3ULL << VIRQ_ICR_SH_SHIFT) | 0x4042U), 0);
	assert_int_equal(fx.f.n_ipis, 2);
	assert_int_equal(fx.f.ipis[1].dest, 0xFFFFFFFFU);
	assert_int_equal(fx.f.ipis[1].shorthand, VIRQ_SH_ALL_EXCL_SELF);

	/* An APIC whose x2APIC ID is 0xFF matches 0xFF as its own ID. */
	cfg = cfg_with_id(0xFF);
	fixture_init(&fx, &cfg);
	fixture_x2apic_enable(&fx);
	assert_true(virq_lapic_match_dest(&fx.apic, 0xFF, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 0xFE, false));
}

/* ACRN test failures: multiple NMIs. */
static void test_acrn_multiple_nmis(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_events ev;
	struct virq_apic_msg nmi = { 0 };

	(void)state;
	nmi.delivery = VIRQ_DM_NMI;
	nmi.level = true;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);

	/* One NMI: reported once. */
	virq_lapic_post_msg(&fx.apic, &nmi);
	assert_true(virq_lapic_has_work(&fx.apic));
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
	assert_false(virq_lapic_has_work(&fx.apic));

	/* Two before the vCPU takes them: both reported (counted to two, as
	 * KVM does), the flag still set once. */
	virq_lapic_post_msg(&fx.apic, &nmi);
	virq_lapic_post_msg(&fx.apic, &nmi);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
	assert_int_equal(ev.nmi_count, 2);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
	assert_int_equal(ev.nmi_count, 0);

	/* Back to back, each taken: none lost. */
	for (unsigned i = 0; i < 10; i++) {
		virq_lapic_post_msg(&fx.apic, &nmi);
		assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
	}

	/* NMI through LINT1 (NMI delivery, edge): one per rising edge. */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT1, 0x00000400U);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, true), 0);
		assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
		assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, false), 0);
		assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
	}
	/* An NMI message and an LVT NMI together: two NMIs to inject. */
	virq_lapic_post_msg(&fx.apic, &nmi);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, true), 0);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
	assert_int_equal(ev.nmi_count, 2);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);

	/* NMI is accepted by a software-disabled APIC (SDM 10.4.7.2). */
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0xFF);
	virq_lapic_post_msg(&fx.apic, &nmi);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
	/* NMI IPIs go out through the router with their delivery mode. */
	icr_send_xapic(&fx, 2, 0x00004400U);
	assert_int_equal(fx.f.n_ipis, 1);
	assert_int_equal(fx.f.ipis[0].delivery, VIRQ_DM_NMI);
	assert_int_equal(fx.f.ipis[0].dest, 2);
	assert_invariants(&fx);
}

/* ACRN test failures: writable xAPIC ID. */
static void test_acrn_xapic_id_writable(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = cfg_with_id(3);
	uint64_t v;

	(void)state;
	/* Default: read-only, the project's choice (SDM 10.4.6: writability is
	 * model-specific). */
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_ID, 0x07000000U);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ID), 0x03000000U);
	assert_int_equal(virq_lapic_get_id(&fx.apic), 3);
	assert_true(virq_lapic_match_dest(&fx.apic, 3, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 7, false));

	/* Configured writable: bits 31:24 only, and routing follows it. */
	cfg.xapic_id_writable = true;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_ID, 0x07ABCDEFU);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ID), 0x07000000U);
	assert_int_equal(virq_lapic_get_id(&fx.apic), 7);
	assert_true(virq_lapic_match_dest(&fx.apic, 7, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 3, false));
	icr_send_xapic(&fx, 1, 0x00004040U);
	assert_int_equal(fx.f.ipis[0].src, 7);

	/* Entering x2APIC: the hardware ID replaces the written one (SDM 10.12.5.1). */
	fixture_x2apic_enable(&fx);
	assert_int_equal(msr_r(&fx, 0x802, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(msr_w(&fx, 0x802, 7), VIRQ_GP);
	assert_int_equal(msr_r(&fx, 0x802, &v), 0);
	assert_int_equal(v, 3);
	assert_invariants(&fx);
}

/* KVM: TMR cleared on EOI (wrong): TMR is set/cleared at acceptance only. */
static void test_kvm_tmr_not_cleared_on_eoi(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);

	virq_lapic_post(&fx.apic, 0x50, true);
	virq_lapic_sync(&fx.apic);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x50)); /* set at acceptance */
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x50);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x50));
	virq_lapic_eoi(&fx.apic);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x50)); /* not cleared by EOI */
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.eois[0], 0x50);

	/* EOI of another (edge) vector leaves it alone. */
	virq_lapic_post(&fx.apic, 0x60, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x60);
	virq_lapic_eoi(&fx.apic);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x50));
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x60));
	assert_int_equal(fx.f.n_eois, 1);

	/* The next acceptance decides: edge clears it. */
	virq_lapic_post(&fx.apic, 0x50, false);
	virq_lapic_sync(&fx.apic);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x50));
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x50);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);

	/* In service as level, re-accepted as edge before its EOI: TMR holds
	 * the trigger of the last accepted interrupt, so the EOI is not
	 * broadcast (SDM 10.8.4, 10.8.5). */
	virq_lapic_post(&fx.apic, 0x70, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x70);
	virq_lapic_post(&fx.apic, 0x70, false);
	virq_lapic_sync(&fx.apic);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x70));
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x70);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);

	/* Level LINT0 (fixed, level): TMR set at acceptance, kept past EOI. */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, 0x00008081U);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 0, true), 0);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x81);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x81));
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 0, false), 0);
	virq_lapic_sync(&fx.apic);
	virq_lapic_eoi(&fx.apic);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x81));
	assert_int_equal(fx.f.n_eois, 2);
	assert_int_equal(fx.f.eois[1], 0x81);
	assert_invariants(&fx);
}

/* Which level EOIs reach the IOAPIC for one combination (LAPIC side). */
static void eoi_matrix_case(bool directed, bool svr12, bool x2, bool level, bool via_reg)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	uint32_t svr = 0x1FFU | (svr12 ? VIRQ_LAPIC_SVR_EOI_SUPPRESS : 0);
	bool suppressed = directed && svr12;
	uint64_t v;

	cfg.directed_eoi = directed;
	fixture_init(&fx, &cfg);
	if (x2) {
		fixture_x2apic_enable(&fx);
		assert_int_equal(msr_r(&fx, 0x803, &v), 0);
		assert_int_equal(v & VIRQ_LAPIC_VERSION_EOI_SUPPRESS,
				 directed ? VIRQ_LAPIC_VERSION_EOI_SUPPRESS : 0);
		/* Without Version[24], SVR bit 12 is reserved: #GP. */
		assert_int_equal(msr_w(&fx, 0x80F, svr), svr12 && !directed ? VIRQ_GP : 0);
		assert_int_equal(msr_r(&fx, 0x80F, &v), 0);
		assert_int_equal(v, suppressed ? svr : 0x1FFU);
	} else {
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_VERSION) &
					 VIRQ_LAPIC_VERSION_EOI_SUPPRESS,
				 directed ? VIRQ_LAPIC_VERSION_EOI_SUPPRESS : 0);
		/* xAPIC: reserved bit 12 is ignored on write. */
		mmio_w(&fx, VIRQ_LAPIC_REG_SVR, svr);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_SVR), suppressed ? svr : 0x1FFU);
	}

	virq_lapic_post(&fx.apic, 0x61, level);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
	if (!via_reg)
		virq_lapic_eoi(&fx.apic);
	else if (x2)
		assert_int_equal(msr_w(&fx, 0x80B, 0), 0);
	else
		mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
	assert_true(vecs_empty(&fx, VIRQ_LAPIC_REG_ISR));
	if (level && !suppressed) {
		assert_int_equal(fx.f.n_eois, 1);
		assert_int_equal(fx.f.eois[0], 0x61);
	} else {
		assert_int_equal(fx.f.n_eois, 0);
	}
	assert_invariants(&fx);
}

/*
 * KVM and QEMU 2025-26: suppress-EOI-broadcast advertised but EOIs still
 * broadcast (Windows with Credential Guard hangs or storms). Every
 * combination of Version[24], SVR[12], mode, trigger and EOI path. The
 * IOAPIC version (0x11/0x20) dimension is in tests/vm/test_regressions.c.
 */
static void test_suppress_eoi_broadcast_matrix(void **state)
{
	(void)state;
	for (unsigned m = 0; m < 32; m++)
		eoi_matrix_case(m & 1U, m & 2U, m & 4U, m & 8U, m & 16U);

	/* x2APIC: a non-zero EOI write faults and retires nothing. */
	{
		struct lapic_fixture fx;

		fixture_init(&fx, NULL);
		fixture_x2apic_enable(&fx);
		virq_lapic_post(&fx.apic, 0x62, true);
		assert_int_equal(virq_lapic_ack(&fx.apic), 0x62);
		assert_int_equal(msr_w(&fx, 0x80B, 1), VIRQ_GP);
		assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x62));
		assert_int_equal(fx.f.n_eois, 0);
		assert_int_equal(msr_w(&fx, 0x80B, 0), 0);
		assert_int_equal(fx.f.n_eois, 1);
	}
}

/* crosvm: directed EOI advertised but not implemented. */
static void test_crosvm_directed_eoi_implemented(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	cfg.directed_eoi = true;
	fixture_init(&fx, &cfg);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_VERSION), 0x01060014U);
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x11FFU);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_SVR), 0x11FFU);

	/* Advertised and on: level EOIs stay local, for every level vector. */
	for (unsigned v = 0x20; v < 0x100; v += 0x11) {
		virq_lapic_post(&fx.apic, (uint8_t)v, true);
		assert_int_equal(virq_lapic_ack(&fx.apic), (int)v);
		mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, (uint8_t)v));
	}
	assert_int_equal(fx.f.n_eois, 0);

	/* Turned off again: broadcasts resume. */
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x01FFU);
	virq_lapic_post(&fx.apic, 0x99, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x99);
	mmio_w(&fx, VIRQ_LAPIC_REG_EOI, 0);
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.eois[0], 0x99);

	/* Survives the switch to x2APIC (SVR is kept). */
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x11FFU);
	assert_int_equal(
		virq_lapic_set_apic_base(&fx.apic, BASE_X2APIC | VIRQ_APIC_BASE_BSP, false), 0);
	virq_lapic_post(&fx.apic, 0x9A, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x9A);
	assert_int_equal(msr_w(&fx, 0x80B, 0), 0);
	assert_int_equal(fx.f.n_eois, 1);
	assert_invariants(&fx);
}

/* ======================================================================
 * Timer
 * ====================================================================== */

#define T0 1000000ULL

/* SDM Figure 10-10: divide value -> divisor. */
static uint32_t divisor_of(uint32_t tdcr)
{
	static const uint32_t tab[16] = { 2, 4, 8, 16, 2, 4, 8, 16, 32, 64, 128, 1, 32, 64, 128, 1 };

	return tab[tdcr & 0xFU];
}

static void timer_fixture(struct lapic_fixture *fx, uint32_t tick_ps)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.timer_tick_ps = tick_ps;
	fixture_init(fx, &cfg);
	fixture_sw_enable(fx);
	fx->f.now = T0;
}

static uint32_t ccr(struct lapic_fixture *fx)
{
	return mmio_r(fx, VIRQ_LAPIC_REG_TMCCT);
}

/* KVM CVE-2013-6367: current-count read divided by zero after a crafted initial count. */
static void test_cve_2013_6367_tmcct_div_zero(void **state)
{
	static const uint32_t tmicts[] = { 0, 1, 0xFFFFFFFFU };
	static const uint32_t ticks[] = { 1000, 1, 1000000 };
	static const uint32_t modes[] = { VIRQ_LVT_TIMER_ONESHOT, VIRQ_LVT_TIMER_PERIODIC,
					  VIRQ_LVT_TIMER_TSCDEADLINE };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned t = 0; t < 3; t++) {
		for (unsigned m = 0; m < 3; m++) {
			for (uint32_t tdcr = 0; tdcr < 16; tdcr++) {
				for (unsigned n = 0; n < 3; n++) {
					uint32_t tick = ticks[t], mode = modes[m], N = tmicts[n];
					uint32_t d = divisor_of(tdcr);
					/* ns per count when the tick is 1 ns (exact). */
					uint64_t P = (uint64_t)N * d;
					const uint64_t es[] = { 0,
								1,
								7,
								d,
								5ULL * d + 1,
								P ? P - 1 : 0,
								P,
								P + 1,
								3 * P + 5,
								1ULL << 50 };

					timer_fixture(&fx, tick);
					mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER,
					       0x30U | (mode << VIRQ_LVT_TIMER_MODE_SHIFT));
					mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, tdcr);
					assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TDCR),
							 tdcr & 0xBU);
					mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, N);
					for (unsigned k = 0; k < sizeof(es) / sizeof(es[0]); k++) {
						uint32_t c;

						fx.f.now = T0 + es[k];
						c = ccr(&fx);
						if (mode == VIRQ_LVT_TIMER_TSCDEADLINE || N == 0) {
							/* Ignored Initial Count / stopped timer. */
							assert_int_equal(c, 0);
							continue;
						}
						assert_true(c <= N);
						if (tick != 1000)
							continue; /* inexact ns rounding: bounds only */
						if (mode == VIRQ_LVT_TIMER_ONESHOT)
							assert_int_equal(
								c, es[k] >= P ? 0 : N - es[k] / d);
						else
							assert_int_equal(c, N - (es[k] % P) / d);
					}
					if (mode == VIRQ_LVT_TIMER_TSCDEADLINE)
						assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT),
								 0);
					assert_invariants(&fx);
				}
			}
		}
	}

	/*
	 * Divide changed while armed: no division by zero, the count is
	 * continuous at the change, then runs at the new divisor (KVM) or the
	 * old one until the next reload (bhyve); the SDM does not say, so either
	 * is allowed.
	 */
	for (unsigned m = 0; m < 2; m++) {
		for (uint32_t from = 0; from < 16; from++) {
			for (uint32_t to = 0; to < 16; to++) {
				for (unsigned n = 1; n < 3; n++) {
					uint32_t N = tmicts[n], d0 = divisor_of(from),
						 d1 = divisor_of(to), c0, c1, c2;
					uint64_t e1 = 3ULL * d0;

					timer_fixture(&fx, 1000);
					mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER,
					       0x30U | (modes[m] << VIRQ_LVT_TIMER_MODE_SHIFT));
					mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, from);
					mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, N);
					fx.f.now = T0 + e1;
					c0 = ccr(&fx);
					mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, to);
					c1 = ccr(&fx);
					assert_true(c1 <= N);
					if (N == 0xFFFFFFFFU) {
						assert_int_equal(c0, N - 3);
						assert_int_equal(c1, c0);
						fx.f.now += 6ULL * d1 * d0;
						c2 = ccr(&fx);
						assert_true(c2 == c0 - 6 * d0 || c2 == c0 - 6 * d1);
					}
					assert_invariants(&fx);
				}
			}
		}
	}
}

/*
 * KVM CVE-2025-71104: a periodic timer after a long pause caught up one
 * period at a time (unbounded burst, host lockup). One expiry, next
 * deadline in the future on the original grid, bounded work.
 */
static void test_cve_2025_71104_periodic_catch_up_bounded(void **state)
{
	static const struct {
		uint32_t tmict, tdcr;
		uint64_t period, jump;
	} cases[] = {
		{ 1000, 0xB, 1000, 3ULL * 3600 * 1000000000ULL + 337 }, /* 3 hours */
		{ 1, 0xB, 1, 1ULL << 60 }, /* 1 ns period: a per-period loop never ends */
		{ 7, 0x0, 14, 1ULL << 61 },
		{ 0xFFFFFFFFU, 0xA, 0xFFFFFFFFULL * 128, 48ULL * 3600 * 1000000000ULL },
	};
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t P = cases[i].period, arms, dl;

		timer_fixture(&fx, 1000);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(0x30));
		mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, cases[i].tdcr);
		mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, cases[i].tmict);
		assert_true(fx.f.timer_armed);
		assert_int_equal(fx.f.timer_deadline, T0 + P);

		fx.f.now = T0 + cases[i].jump;
		arms = fx.f.timer_arms;
		virq_lapic_timer_expired(&fx.apic);
		/* One interrupt, not one per missed period. */
		assert_int_equal(virq_lapic_ack(&fx.apic), 0x30);
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		/* Re-armed once, in the future, on the grid. */
		assert_int_equal(fx.f.timer_arms, arms + 1);
		assert_true(fx.f.timer_armed);
		dl = fx.f.timer_deadline;
		assert_true(dl > fx.f.now);
		assert_true(dl <= fx.f.now + P);
		assert_int_equal((dl - T0) % P, 0);
		if (cases[i].tmict > 1 && cases[i].tdcr == 0xB)
			assert_int_equal(ccr(&fx), cases[i].tmict - (cases[i].jump % P));

		/* The next deadline delivers exactly one more. */
		fx.f.now = dl;
		virq_lapic_timer_expired(&fx.apic);
		assert_int_equal(virq_lapic_ack(&fx.apic), 0x30);
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		assert_int_equal(fx.f.timer_deadline, dl + P);
		assert_invariants(&fx);
	}

	/* Masked while paused: the missed expiries are lost, not queued. */
	timer_fixture(&fx, 1000);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(0x30) | VIRQ_LVT_MASKED);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 100);
	fx.f.now = T0 + 1000000;
	virq_lapic_timer_expired(&fx.apic);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_PERIODIC(0x30));
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_true(fx.f.timer_deadline > fx.f.now);
}

/* ACRN: TSC deadline wrong with a TSC offset or TSC_ADJUST; wrong reads after expiry. */
static void test_acrn_tsc_deadline_offset_and_read_after_fire(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	uint64_t v, dl;

	(void)state;
	cfg.tsc_khz = 2000000; /* 2 GHz guest TSC */
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	fx.f.use_guest_tsc = true;
	fx.f.now = 5000000;          /* host ns */
	fx.f.tsc = 7000000000000ULL; /* guest TSC: large offset from host time */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(0x31));

	/* Deadline in guest TSC units: 4000 cycles at 2 GHz = 2000 ns. */
	dl = fx.f.tsc + 4000;
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, dl), 0);
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, fx.f.now + 2000);
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, dl);
	/* Initial Count is ignored and Current Count reads 0 in this mode. */
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 12345);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), 0);
	assert_int_equal(ccr(&fx), 0);

	/* Early host wake-up: nothing delivered, re-armed for the rest. */
	fx.f.now += 1000;
	fx.f.tsc += 2000;
	virq_lapic_timer_expired(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, fx.f.now + 1000);
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, dl);

	/* Reached: fires once, disarms, the MSR reads 0. */
	fx.f.now += 1000;
	fx.f.tsc += 2000;
	virq_lapic_timer_expired(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x31);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	virq_lapic_timer_expired(&fx.apic); /* a stale host timer */
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);

	/* Already past: fires at once and reads 0. */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc - 1), 0);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x31);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);

	/* TSC_ADJUST / offset change moves the guest TSC past the deadline:
	 * the next expiry check fires. */
	dl = fx.f.tsc + 1000000;
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, dl), 0);
	fx.f.tsc += 2000000;
	virq_lapic_timer_expired(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x31);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);

	/* Writing 0 disarms. */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 100), 0);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, 0), 0);
	assert_false(fx.f.timer_armed);
	fx.f.now += 1000000;
	fx.f.tsc += 2000000;
	virq_lapic_timer_expired(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);

	/* Leaving TSC-deadline mode disarms; outside it the MSR reads 0 and
	 * writes are ignored. */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 100), 0);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_ONESHOT(0x31));
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	fx.f.now += 1000000;
	fx.f.tsc += 2000000;
	virq_lapic_timer_expired(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, fx.f.tsc + 100), 0);
	assert_int_equal(msr_r(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	assert_false(fx.f.timer_armed);
	assert_invariants(&fx);
}

/* ======================================================================
 * MSI and posted interrupts (the single-LAPIC rows)
 * ====================================================================== */

static const struct virq_lapic_ops required_only_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = fake_kick,
	.now_ns = fake_now,
	.timer_arm = fake_timer_arm,
	.timer_cancel = fake_timer_cancel,
};

/* Every entry point on an APIC that accepts no fixed interrupt. */
static void poke_everything(struct lapic_fixture *fx)
{
	struct virq_lapic_events ev;
	struct virq_lapic_state st;
	uint64_t v;

	virq_lapic_post(&fx->apic, 0x40, false);
	virq_lapic_post(&fx->apic, 0x41, true);
	virq_lapic_post(&fx->apic, 0x05, false);
	virq_lapic_sync(&fx->apic);
	assert_int_equal(virq_lapic_pending(&fx->apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(virq_lapic_ack(&fx->apic), VIRQ_LAPIC_NO_VECTOR);
	assert_true(vecs_empty(fx, VIRQ_LAPIC_REG_IRR));
	virq_lapic_eoi(&fx->apic); /* spurious */
	assert_int_equal(fx->f.n_eois, 0);
	virq_lapic_timer_expired(&fx->apic);
	assert_int_equal(virq_lapic_deliver_lvt(&fx->apic, VIRQ_LAPIC_LVT_CMCI), 0);
	assert_int_equal(virq_lapic_deliver_lvt(&fx->apic, VIRQ_LAPIC_LVT_THERMAL), 0);
	assert_int_equal(virq_lapic_deliver_lvt(&fx->apic, VIRQ_LAPIC_LVT_PMC), 0);
	assert_int_equal(virq_lapic_deliver_lvt(&fx->apic, (enum virq_lapic_lvt)99), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_set_lint(&fx->apic, 2, true), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_set_lint(&fx->apic, 0xFFFFFFFFU, true), -VIRQ_EINVAL);
	virq_lapic_take_events(&fx->apic, &ev);
	assert_int_equal(ev.flags & ~(VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_EXTINT), 0);
	assert_int_equal(virq_lapic_ack(&fx->apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(msr_r(fx, VIRQ_MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(virq_lapic_save(&fx->apic, &st), 0);
	assert_int_equal(virq_lapic_restore(&fx->apic, &st), 0);
	assert_int_equal(virq_lapic_save(&fx->apic, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_restore(&fx->apic, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_mmio_read(&fx->apic, 0, 4, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_msr_read(&fx->apic, 0x1B, NULL), -VIRQ_EINVAL);
	assert_invariants(fx);
}

/* Xen XSA-96: MSI injection for a never-allocated source dereferenced NULL. */
static void test_xsa96_entry_points_disabled_lapic(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_events ev;
	struct virq_lapic_config cfg;
	struct virq_lapic_ops bad;
	struct virq_apic_msg msg = { 0 };
	uint64_t v;

	(void)state;
	/* --- Absent: init refuses, the object is not touched. --- */
	cfg = fixture_default_config();
	memset(&fx.apic, 0xA5, sizeof(fx.apic));
	assert_int_equal(virq_lapic_init(NULL, fx.page, &cfg, &fake_ops, &fx.f), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_init(&fx.apic, NULL, &cfg, &fake_ops, &fx.f), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, NULL, &fake_ops, &fx.f), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &cfg, NULL, &fx.f), -VIRQ_EINVAL);
	for (unsigned h = 0; h < 4; h++) {
		bad = fake_ops;
		if (h == 0)
			bad.kick = NULL;
		else if (h == 1)
			bad.now_ns = NULL;
		else if (h == 2)
			bad.timer_arm = NULL;
		else
			bad.timer_cancel = NULL;
		assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &cfg, &bad, &fx.f),
				 -VIRQ_EINVAL);
	}
	assert_int_equal(virq_lapic_init(&fx.apic, (uint8_t *)fx.page + 64, &cfg, &fake_ops, &fx.f),
			 -VIRQ_EALIGN);
	for (unsigned i = 0; i < sizeof(fx.apic); i++)
		assert_int_equal(((uint8_t *)&fx.apic)[i], 0xA5);

	/* --- Hardware-disabled (IA32_APIC_BASE.EN = 0). --- */
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE,
			       VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_BSP),
			 0);
	poke_everything(&fx);
	for (uint8_t dm = 0; dm < 8; dm++) {
		msg.delivery = dm;
		msg.vector = 0x40;
		msg.level = true;
		virq_lapic_post_msg(&fx.apic, &msg);
	}
	/* A disabled APIC receives no messages (SDM 10.4.3). */
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_false(virq_lapic_has_work(&fx.apic));
	assert_false(virq_lapic_match_dest(&fx.apic, 0, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 0xFF, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 0xFFFFFFFFU, true));
	assert_int_equal(msr_r(&fx, 0x802, &v), VIRQ_GP);
	/* Pins pass through: LINT1 = NMI, LINT0 = INTR. */
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, true), 0);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 0, true), 0);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_EXTINT);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 0, false), 0);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
	mmio_undecoded_sweep(&fx);
	/* Re-enabled: power-up state; nothing posted while disabled survives. */
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_APIC_BASE, BASE_XAPIC | VIRQ_APIC_BASE_BSP), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_SVR), 0xFF);
	fixture_sw_enable(&fx);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
	assert_invariants(&fx);

	/* --- Software-disabled (SVR[8] = 0, the RESET state). --- */
	fixture_init(&fx, NULL);
	poke_everything(&fx);
	/* NMI, SMI and INIT are still accepted (SDM 10.4.7.2). */
	msg.vector = 0;
	msg.delivery = VIRQ_DM_NMI;
	virq_lapic_post_msg(&fx.apic, &msg);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_NMI);
	msg.delivery = VIRQ_DM_SMI;
	virq_lapic_post_msg(&fx.apic, &msg);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_SMI);
	msg.delivery = VIRQ_DM_INIT;
	virq_lapic_post_msg(&fx.apic, &msg);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_INIT);
	assert_true(virq_lapic_match_dest(&fx.apic, 0, false));
	/* LVT mask bits cannot be cleared; the timer's expiry is dropped. */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x30);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_TIMER), 0x30 | VIRQ_LVT_MASKED);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 10);
	fx.f.now += 1000000;
	virq_lapic_timer_expired(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	/* It can still send IPIs; a self IPI is not accepted. */
	icr_send_xapic(&fx, 1, 0x00004045U);
	assert_int_equal(fx.f.n_ipis, 1);
	icr_send_xapic(&fx, 0, 0x00044046U); /* shorthand self */
	assert_true(vecs_empty(&fx, VIRQ_LAPIC_REG_IRR));
	/* Held IRR: kept across a software disable (SDM 10.4.7.2), new
	 * arrivals dropped; what is held stays deliverable (lapic.h). */
	fixture_sw_enable(&fx);
	virq_lapic_post(&fx.apic, 0x50, false);
	virq_lapic_sync(&fx.apic);
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0xFF);
	virq_lapic_post(&fx.apic, 0x60, false);
	virq_lapic_sync(&fx.apic);
	assert_true(irr_has(&fx, 0x50));
	assert_false(irr_has(&fx, 0x60));
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x50);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	/* A software-disabled AP in wait-for-SIPI: SIPI starts it, a second is dropped. */
	cfg = cfg_with_id(1);
	cfg.bsp = false;
	fixture_init(&fx, &cfg);
	msg.delivery = VIRQ_DM_STARTUP;
	msg.vector = 0x9A;
	virq_lapic_post_msg(&fx.apic, &msg);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), VIRQ_LAPIC_EV_SIPI);
	assert_int_equal(ev.sipi_vector, 0x9A);
	virq_lapic_post_msg(&fx.apic, &msg);
	assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
	assert_invariants(&fx);

	/* --- Optional hooks absent: nothing is called through NULL. --- */
	cfg = fixture_default_config();
	memset(&fx.f, 0, sizeof(fx.f));
	fx.f.now = 1000;
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &cfg, &required_only_ops, &fx.f), 0);
	fixture_sw_enable(&fx);
	virq_lapic_post(&fx.apic, 0x70, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x70);
	virq_lapic_eoi(&fx.apic);                /* level EOI, no eoi_level hook */
	icr_send_xapic(&fx, 3, 0x00004071U);     /* IPI, no send_ipi: dropped */
	assert_int_equal(mmio_r(&fx, 0x040), 0); /* guest error, no hook */
	icr_send_xapic(&fx, 0, 0x00044072U);     /* self IPI needs no router */
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x72);
	virq_lapic_eoi(&fx.apic);
	/* TSC deadline without guest_tsc: now_ns at tsc_khz (1 GHz here). */
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, LVT_TSC(0x73));
	assert_int_equal(msr_w(&fx, VIRQ_MSR_IA32_TSC_DEADLINE, 1500), 0);
	assert_int_equal(fx.f.timer_deadline, 1500);
	fx.f.now = 1500;
	virq_lapic_timer_expired(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x73);
	assert_int_equal(fx.f.n_ipis, 0);
	assert_int_equal(fx.f.n_eois, 0);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

enum entry_path {
	EP_PENDING,
	EP_ACK,
	EP_HAS_WORK,
	EP_TAKE_EVENTS,
	EP_SAVE,
	EP_SYNC,
	EP_COUNT
};

/* Xen: PIR not synced to IRR before every VM entry -> vCPU resumes with stale IRR. */
static void test_xen_pir_synced_before_entry(void **state)
{
	(void)state;
	for (unsigned sn = 0; sn < 2; sn++) {
		for (int ep = 0; ep < EP_COUNT; ep++) {
			struct lapic_fixture fx;
			struct virq_lapic_events ev;
			struct virq_lapic_state st;
			unsigned kicks;

			fixture_init(&fx, NULL);
			fixture_sw_enable(&fx);
			/* The vCPU ran: something delivered, then the last sync. */
			virq_lapic_post(&fx.apic, 0x30, false);
			assert_int_equal(virq_lapic_ack(&fx.apic), 0x30);
			virq_lapic_eoi(&fx.apic);
			virq_lapic_sync(&fx.apic);
			if (sn) /* preempted vCPU: notifications suppressed */
				virq_pi_set_sn(&fx.apic.pi, true);
			kicks = fx.f.kicks;

			/* Another thread posts between the last sync and entry. */
			virq_lapic_post(&fx.apic, 0x61, false);
			assert_int_equal(fx.f.kicks, kicks + (sn ? 0 : 1));

			switch (ep) {
			case EP_PENDING:
				assert_int_equal(virq_lapic_pending(&fx.apic), 0x61);
				break;
			case EP_ACK:
				assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
				assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x61));
				break;
			case EP_HAS_WORK:
				assert_true(virq_lapic_has_work(&fx.apic));
				assert_true(irr_has(&fx, 0x61));
				break;
			case EP_TAKE_EVENTS:
				assert_int_equal(virq_lapic_take_events(&fx.apic, &ev), 0);
				assert_true(irr_has(&fx, 0x61));
				break;
			case EP_SAVE:
				assert_int_equal(virq_lapic_save(&fx.apic, &st), 0);
				assert_true((st.regs[(VIRQ_LAPIC_REG_IRR >> 2) + 4 * (0x61 >> 5)] >>
					     (0x61 & 31)) &
					    1U);
				break;
			default:
				assert_true(virq_lapic_sync(&fx.apic));
				assert_true(irr_has(&fx, 0x61));
				break;
			}
			/* And it is not delivered twice. */
			if (ep != EP_ACK)
				assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
			virq_lapic_eoi(&fx.apic);
			assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
			assert_invariants(&fx);
		}
	}

	/* A higher vector posted while a lower one is in service is seen at once. */
	{
		struct lapic_fixture fx;

		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		virq_lapic_post(&fx.apic, 0x40, false);
		assert_int_equal(virq_lapic_ack(&fx.apic), 0x40);
		virq_lapic_post(&fx.apic, 0x80, false);
		assert_int_equal(virq_lapic_pending(&fx.apic), 0x80);
		assert_int_equal(virq_lapic_ack(&fx.apic), 0x80);
		virq_lapic_eoi(&fx.apic);
		virq_lapic_eoi(&fx.apic);
		assert_invariants(&fx);
	}
}

/* ACRN: posted interrupt lost when the self-notification path skipped the PIR check. */
static void test_acrn_post_to_self_while_running(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);

	/* A notification is outstanding (another thread posted 0x40)... */
	virq_lapic_post(&fx.apic, 0x40, false);
	assert_int_equal(fx.f.kicks, 1);
	/* ...and the running vCPU posts to itself: no new kick, still delivered. */
	virq_lapic_post(&fx.apic, 0x60, false);
	assert_int_equal(fx.f.kicks, 1);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x60);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x40);
	virq_lapic_eoi(&fx.apic);

	/* Self IPI through the ICR while running, also with ON set. */
	virq_lapic_post(&fx.apic, 0x41, false);
	icr_send_xapic(&fx, 0, 0x00040050U); /* shorthand self, fixed 0x50 */
	assert_int_equal(fx.f.n_ipis, 0);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x50);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x41);
	/* Nested: a higher self IPI while 0x41 is in service. */
	icr_send_xapic(&fx, 0, 0x00040090U);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x90);
	virq_lapic_eoi(&fx.apic);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);

	/* x2APIC SELF IPI MSR, with a notification outstanding. */
	fixture_x2apic_enable(&fx);
	virq_lapic_post(&fx.apic, 0x45, false);
	assert_int_equal(msr_w(&fx, 0x83F, 0x70), 0);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x70);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x45);
	virq_lapic_eoi(&fx.apic);
	/* SELF IPI: reserved bits fault, an illegal vector is a send error. */
	assert_int_equal(msr_w(&fx, 0x83F, 0x170), VIRQ_GP);
	assert_int_equal(msr_w(&fx, 0x83F, 0x0F), 0);
	assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	assert_int_equal(esr_read(&fx), VIRQ_LAPIC_ESR_SEND_ILLEGAL);
	assert_int_equal(fx.f.n_ipis, 0);
	assert_invariants(&fx);
}

/* KVM: x2APIC ICR layout change broke save/restore across hosts. */
static void test_kvm_x2apic_icr_save_restore(void **state)
{
	struct lapic_fixture a, b;
	struct virq_lapic_state st, bad;
	struct virq_lapic_config cfg = cfg_with_id(0x12);
	const uint64_t icr = (0xABCDULL << 32) | VIRQ_ICR_LEVEL_ASSERT | VIRQ_ICR_DEST_LOGICAL |
			     0xF1U;
	uint64_t v;

	(void)state;
	fixture_init(&a, &cfg);
	fixture_x2apic_enable(&a);
	assert_int_equal(msr_w(&a, 0x830, icr), 0);
	assert_int_equal(a.f.n_ipis, 1);
	assert_int_equal(a.f.ipis[0].dest, 0xABCD);
	assert_true(a.f.ipis[0].logical);
	assert_int_equal(msr_r(&a, 0x830, &v), 0);
	assert_int_equal(v, icr);
	/* Bit 12 (delivery status) is ignored on write, not stored. */
	assert_int_equal(msr_w(&a, 0x830, icr | VIRQ_ICR_DELIVS), 0);
	assert_int_equal(msr_r(&a, 0x830, &v), 0);
	assert_int_equal(v, icr);
	/* Reserved bits fault and leave the ICR alone. */
	for (unsigned bit = 0; bit < 32; bit++) {
		if (!((0xFFF32000U >> bit) & 1U))
			continue;
		assert_int_equal(msr_w(&a, 0x830, icr | (1ULL << bit)), VIRQ_GP);
	}
	assert_int_equal(msr_r(&a, 0x830, &v), 0);
	assert_int_equal(v, icr);
	assert_int_equal(a.f.n_ipis, 2);

	/* The saved state is versioned and holds the 64-bit ICR at 0x300/0x310. */
	assert_int_equal(virq_lapic_save(&a.apic, &st), 0);
	assert_int_equal(st.version, VIRQ_LAPIC_STATE_VERSION);
	assert_int_equal(st.size, sizeof(st));
	assert_int_equal(st.regs[VIRQ_LAPIC_REG_ICR_LO >> 2], (uint32_t)icr);
	assert_int_equal(st.regs[VIRQ_LAPIC_REG_ICR_HI >> 2], 0xABCD);

	/* Restored on another "host" (a fresh LAPIC still in xAPIC mode). */
	fixture_init(&b, &cfg);
	assert_int_equal(virq_lapic_restore(&b.apic, &st), 0);
	assert_int_equal(virq_lapic_get_mode(&b.apic), VIRQ_LAPIC_MODE_X2APIC);
	assert_int_equal(msr_r(&b, 0x830, &v), 0);
	assert_int_equal(v, icr);
	assert_int_equal(b.f.n_ipis, 0); /* restoring does not send */
	assert_invariants(&b);
	/* And back again: identical state. */
	{
		struct virq_lapic_state st2;

		assert_int_equal(virq_lapic_save(&b.apic, &st2), 0);
		assert_memory_equal(&st, &st2, sizeof(st));
	}

	/* Unknown version or size: refused without side effects. */
	fixture_init(&b, &cfg);
	snap(&b);
	bad = st;
	bad.version = VIRQ_LAPIC_STATE_VERSION + 1;
	assert_int_equal(virq_lapic_restore(&b.apic, &bad), -VIRQ_EVERSION);
	bad = st;
	bad.size = sizeof(st) - 4;
	assert_int_equal(virq_lapic_restore(&b.apic, &bad), -VIRQ_EVERSION);
	assert_page_unchanged(&b);
	assert_int_equal(virq_lapic_get_mode(&b.apic), VIRQ_LAPIC_MODE_XAPIC);
	assert_invariants(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Untrusted indexes and sizes */
		cmocka_unit_test(test_xsa108_x2apic_msr_range),
		cmocka_unit_test(test_xen2018_mmio_sizes_offsets),
		cmocka_unit_test(test_cve_2013_6376_x2apic_id_icr_extremes),
		/* LAPIC registers, modes and errors */
		cmocka_unit_test(test_apic_base_transition_table),
		cmocka_unit_test(test_xen2023_x2apic_ldr_from_apic_id),
		cmocka_unit_test(test_esr_write_then_read),
		cmocka_unit_test(test_xsa462_lvt_error_illegal_vector_no_recursion),
		cmocka_unit_test(test_acrn_x2apic_physical_broadcast_0xff),
		cmocka_unit_test(test_acrn_multiple_nmis),
		cmocka_unit_test(test_acrn_xapic_id_writable),
		cmocka_unit_test(test_kvm_tmr_not_cleared_on_eoi),
		cmocka_unit_test(test_suppress_eoi_broadcast_matrix),
		cmocka_unit_test(test_crosvm_directed_eoi_implemented),
		/* Timer */
		cmocka_unit_test(test_cve_2013_6367_tmcct_div_zero),
		cmocka_unit_test(test_cve_2025_71104_periodic_catch_up_bounded),
		cmocka_unit_test(test_acrn_tsc_deadline_offset_and_read_after_fire),
		/* MSI and posted interrupts (single LAPIC) */
		cmocka_unit_test(test_xsa96_entry_points_disabled_lapic),
		cmocka_unit_test(test_xen_pir_synced_before_entry),
		cmocka_unit_test(test_acrn_post_to_self_while_running),
		cmocka_unit_test(test_kvm_x2apic_icr_save_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
