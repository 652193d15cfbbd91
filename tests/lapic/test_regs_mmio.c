/* SPDX-License-Identifier: MIT */
/*
 * xAPIC MMIO decode: every offset and access size, partial reads, reserved
 * offsets, writable masks, read-only registers, the undecoded page.
 * SDM 10.4.1 "The Local APIC Block Diagram" (register map, access rules),
 * 10.4.6 "Local APIC ID", 10.8.3 "Interrupt, Task, and Processor
 * Priority", 10.9 "Spurious Interrupt", 10.5.1 "Local Vector Table"; the
 * peer bug "Xen 2018: MMIO accesses of 1/2/8 bytes or misaligned went
 * past the register array". Run under ASan in CI: any out-of-range access
 * fails.
 */
#include "harness.h"

struct snap {
	struct virq_lapic apic;
	uint32_t page[1024];
};

static void snap_take(const struct lapic_fixture *fx, struct snap *s)
{
	memcpy(&s->apic, &fx->apic, sizeof(s->apic));
	memcpy(s->page, fx->page, sizeof(s->page));
}

static void snap_expect_page(const struct lapic_fixture *fx, const struct snap *s)
{
	for (unsigned i = 0; i < 1024; i++)
		if (fx->page[i] != s->page[i])
			fail_msg("page word 0x%03x changed: 0x%08x -> 0x%08x", i * 4, s->page[i],
				 fx->page[i]);
}

/* Whole object and page unchanged. */
static void snap_expect_same(const struct lapic_fixture *fx, const struct snap *s)
{
	snap_expect_page(fx, s);
	assert_memory_equal(&s->apic, &fx->apic, sizeof(s->apic));
}

static unsigned gerr(const struct lapic_fixture *fx, enum virq_guest_error code)
{
	return fx->f.gerr[code];
}

/* Publishes and returns the latched ESR bits (xAPIC write-then-read). */
static uint32_t esr_take(struct lapic_fixture *fx)
{
	mmio_w(fx, VIRQ_LAPIC_REG_ESR, 0);
	return mmio_r(fx, VIRQ_LAPIC_REG_ESR);
}

/* ---- a fully dirtied register file with known values (SDM Table 10-1 "Local
 * APIC Register Address Map") ---- */

#define DIRTY_ID 0xA7U

static const struct {
	uint32_t off, val;
} dirty_regs[] = {
	{ 0x020, 0xA7000000U }, /* ID */
	{ 0x030, 0x00060014U }, /* Version */
	{ 0x080, 0x0000005CU }, /* TPR */
	{ 0x090, 0x00000000U }, /* APR reads 0 (lib choice, as KVM) */
	{ 0x0A0, 0x000000E0U }, /* PPR: ISRV 0xE3 class above TPR class */
	{ 0x0B0, 0x00000000U }, /* EOI reads 0 */
	{ 0x0C0, 0x00000000U }, /* RRD */
	{ 0x0D0, 0xB6000000U }, /* LDR */
	{ 0x0E0, 0x0FFFFFFFU }, /* DFR cluster */
	{ 0x0F0, 0x0000013FU }, /* SVR */
	{ 0x100, 0 },           { 0x110, 0 }, { 0x120, 0 }, { 0x130, 0 },
	{ 0x140, 0 },           { 0x150, 0 }, { 0x160, 0 }, { 0x170, 0x00000008U }, /* ISR: 0xE3 */
	{ 0x180, 0 },           { 0x190, 0 }, { 0x1A0, 0 }, { 0x1B0, 0x00020000U }, /* TMR: 0x71 */
	{ 0x1C0, 0 },           { 0x1D0, 0 }, { 0x1E0, 0 }, { 0x1F0, 0 },
	{ 0x200, 0 },           { 0x210, 0 }, { 0x220, 0 }, { 0x230, 0x00020000U }, /* IRR: 0x71 */
	{ 0x240, 0 },           { 0x250, 0 }, { 0x260, 0 }, { 0x270, 0 },
	{ 0x280, 0x00000080U }, /* ESR */
	{ 0x2F0, 0x00000231U }, /* LVT CMCI: SMI */
	{ 0x300, 0x00004821U }, /* ICR low */
	{ 0x310, 0x5A000000U }, /* ICR high */
	{ 0x320, 0x00020091U }, /* LVT timer periodic */
	{ 0x330, 0x000004B2U }, /* LVT thermal NMI */
	{ 0x340, 0x000100C3U }, /* LVT PMC masked */
	{ 0x350, 0x0001A7D4U }, /* LVT LINT0 */
	{ 0x360, 0x00000465U }, /* LVT LINT1 NMI */
	{ 0x370, 0x000100E5U }, /* LVT error (masked: errors raise nothing) */
	{ 0x380, 0x00012345U }, /* TMICT */
	{ 0x390, 0x00012345U }, /* TMCCT: the clock does not move */
	{ 0x3E0, 0x0000000AU }, /* TDCR */
};

#define N_DIRTY (sizeof(dirty_regs) / sizeof(dirty_regs[0]))

/* -1: reserved slot; else index into dirty_regs. */
static int dirty_index(uint32_t slot)
{
	for (unsigned i = 0; i < N_DIRTY; i++)
		if (dirty_regs[i].off == slot)
			return (int)i;
	return -1;
}

static void dirty_init(struct lapic_fixture *fx)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.apic_id = DIRTY_ID;
	fixture_init(fx, &cfg);
	mmio_w(fx, VIRQ_LAPIC_REG_SVR, 0x13F);
	virq_lapic_post(&fx->apic, 0xE3, false);
	assert_int_equal(virq_lapic_ack(&fx->apic), 0xE3);
	virq_lapic_post(&fx->apic, 0x71, true);
	virq_lapic_sync(&fx->apic);
	mmio_w(fx, VIRQ_LAPIC_REG_TPR, 0x5C);
	mmio_w(fx, VIRQ_LAPIC_REG_LDR, 0xB6000000U);
	mmio_w(fx, VIRQ_LAPIC_REG_DFR, 0);
	(void)mmio_r(fx, 0x000);
	mmio_w(fx, VIRQ_LAPIC_REG_ESR, 0);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_CMCI, 0x231);
	mmio_w(fx, VIRQ_LAPIC_REG_ICR_HI, 0x5A000000U);
	mmio_w(fx, VIRQ_LAPIC_REG_ICR_LO, 0x4821);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x20091);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_THERMAL, 0x4B2);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_PMC, 0x100C3);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_LINT0, 0x1A7D4);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_LINT1, 0x465);
	mmio_w(fx, VIRQ_LAPIC_REG_LVT_ERROR, 0x100E5);
	mmio_w(fx, VIRQ_LAPIC_REG_TDCR, 0xA);
	mmio_w(fx, VIRQ_LAPIC_REG_TMICT, 0x12345);
	for (unsigned i = 0; i < N_DIRTY; i++)
		if (mmio_r(fx, dirty_regs[i].off) != dirty_regs[i].val)
			fail_msg("setup: 0x%03x = 0x%08x, want 0x%08x", dirty_regs[i].off,
				 mmio_r(fx, dirty_regs[i].off), dirty_regs[i].val);
	assert_int_equal(fx->f.n_ipis, 1);
	memset(fx->f.gerr, 0, sizeof(fx->f.gerr));
	fx->f.n_gerr = 0;
}

/* ---- SDM 10.4.1 "The Local APIC Block Diagram": every offset x size, reads ---- */

static uint64_t size_mask(unsigned size)
{
	return size == 8 ? ~0ULL : ((1ULL << (size * 8)) - 1);
}

static void test_mmio_read_every_offset_size(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	static struct lapic_fixture fx;
	static struct snap s;
	unsigned n_size = 0, n_rsvd = 0;

	(void)state;
	dirty_init(&fx);
	snap_take(&fx, &s);
	for (uint32_t off = 0; off < VIRQ_LAPIC_PAGE_SIZE; off++) {
		for (unsigned si = 0; si < 4; si++) {
			unsigned size = sizes[si];
			uint32_t in = off & 0xF;
			uint64_t v = 0xDEADBEEFCAFEF00DULL, want;
			int idx, rc = virq_lapic_mmio_read(&fx.apic, off, size, &v);

			if (off + size > VIRQ_LAPIC_PAGE_SIZE) {
				if (rc != -VIRQ_EINVAL)
					fail_msg("read 0x%03x/%u: rc %d, want -EINVAL", off, size,
						 rc);
				continue;
			}
			if (rc != 0)
				fail_msg("read 0x%03x/%u: rc %d", off, size, rc);
			idx = dirty_index(off & ~0xFU);
			if (in + size > 4) {
				want = 0; /* bytes 4-15 or wider than the register: 0 */
				n_size++;
			} else if (idx < 0) {
				want = 0; /* reserved */
				n_rsvd++;
			} else {
				want = ((uint64_t)dirty_regs[idx].val >> (in * 8)) &
				       size_mask(size);
			}
			if (v != want)
				fail_msg("read 0x%03x/%u = 0x%llx, want 0x%llx", off, size,
					 (unsigned long long)v, (unsigned long long)want);
			if (gerr(&fx, VIRQ_GERR_MMIO_SIZE) != n_size ||
			    gerr(&fx, VIRQ_GERR_RESERVED_REG) != n_rsvd)
				fail_msg("read 0x%03x/%u: guest errors size %u rsvd %u, want %u %u",
					 off, size, gerr(&fx, VIRQ_GERR_MMIO_SIZE),
					 gerr(&fx, VIRQ_GERR_RESERVED_REG), n_size, n_rsvd);
		}
	}
	assert_int_equal(fx.f.n_gerr, n_size + n_rsvd);
	/* Reads change no register; the visible ESR is still the old value. */
	snap_expect_page(&fx, &s);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0x80);
	/* The reserved reads latched bit 7; the next write publishes it once. */
	assert_int_equal(esr_take(&fx), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	assert_int_equal(esr_take(&fx), 0);
	assert_invariants(&fx);
}

/* Partial reads inside bytes 0-3, spelled out. */
static void test_mmio_partial_reads(void **state)
{
	static const struct {
		uint32_t off;
		unsigned size;
		uint64_t want;
	} t[] = {
		{ 0x023, 1, 0xA7 },
		{ 0x022, 2, 0xA700 },
		{ 0x020, 2, 0x0000 },
		{ 0x021, 2, 0x0000 },
		{ 0x030, 1, 0x14 },
		{ 0x032, 1, 0x06 },
		{ 0x032, 2, 0x0006 },
		{ 0x031, 2, 0x0600 },
		{ 0x0F0, 1, 0x3F },
		{ 0x0F1, 1, 0x01 },
		{ 0x0F0, 2, 0x013F },
		{ 0x380, 1, 0x45 },
		{ 0x381, 1, 0x23 },
		{ 0x382, 1, 0x01 },
		{ 0x383, 1, 0x00 },
		{ 0x381, 2, 0x0123 },
		{ 0x382, 2, 0x0001 },
		{ 0x0E3, 1, 0x0F },
		{ 0x0E0, 2, 0xFFFF },
		{ 0x0D3, 1, 0xB6 },
		{ 0x350, 2, 0xA7D4 },
		{ 0x351, 2, 0x01A7 },
		{ 0x352, 1, 0x01 },
		{ 0x172, 1, 0x00 },
		{ 0x170, 1, 0x08 },
		{ 0x232, 1, 0x02 },
		{ 0x231, 2, 0x0200 },
		/* Any access reaching byte 4 or beyond reads 0 */
		{ 0x023, 2, 0 },
		{ 0x022, 4, 0 },
		{ 0x021, 4, 0 },
		{ 0x020, 8, 0 },
		{ 0x024, 4, 0 },
		{ 0x038, 8, 0 },
		{ 0x3E4, 1, 0 },
		{ 0x0FF, 1, 0 },
	};
	static struct lapic_fixture fx;

	(void)state;
	dirty_init(&fx);
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = ~0ULL;

		assert_int_equal(virq_lapic_mmio_read(&fx.apic, t[i].off, t[i].size, &v), 0);
		if (v != t[i].want)
			fail_msg("read 0x%03x/%u = 0x%llx, want 0x%llx", t[i].off, t[i].size,
				 (unsigned long long)v, (unsigned long long)t[i].want);
	}
	assert_int_equal(gerr(&fx, VIRQ_GERR_RESERVED_REG), 0);
	assert_int_equal(gerr(&fx, VIRQ_GERR_MMIO_SIZE), 8);
	assert_invariants(&fx);
}

/* SDM 10.5.3 "Error Handling": reserved offsets read 0 and latch ESR bit 7, partial ones too. */
static void test_mmio_reserved_reads_latch_esr(void **state)
{
	static const uint32_t rsvd[] = { 0x000, 0x010, 0x040, 0x050, 0x060, 0x070, 0x290,
					 0x2A0, 0x2B0, 0x2C0, 0x2D0, 0x2E0, 0x3A0, 0x3B0,
					 0x3C0, 0x3D0, 0x3F0, 0x400, 0x800, 0xFF0 };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(rsvd) / sizeof(rsvd[0]); i++) {
		for (unsigned sz = 1; sz <= 4; sz *= 2) {
			uint64_t v = ~0ULL;

			fixture_init(&fx, NULL);
			assert_int_equal(virq_lapic_mmio_read(&fx.apic, rsvd[i] + 4 - sz, sz, &v),
					 0);
			assert_int_equal(v, 0);
			/* Invisible until an ESR write. */
			assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0);
			assert_int_equal(gerr(&fx, VIRQ_GERR_RESERVED_REG), 1);
			assert_int_equal(esr_take(&fx), VIRQ_LAPIC_ESR_ILLEGAL_REG);
			assert_invariants(&fx);
		}
	}
	/* Register reads that are not reserved never latch bit 7. */
	fixture_init(&fx, NULL);
	for (uint32_t off = 0; off < 0x400; off += 16)
		if (dirty_index(off) >= 0)
			(void)mmio_r(&fx, off);
	assert_int_equal(esr_take(&fx), 0);
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

/* ---- writes of any size other than aligned 4 (undefined, SDM 10.4.1 "The Local APIC
 * Block Diagram") are dropped ---- */

static void test_mmio_write_bad_size_dropped(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	static struct lapic_fixture fx;
	static struct snap s;
	unsigned n = 0;

	(void)state;
	dirty_init(&fx);
	snap_take(&fx, &s);
	for (uint32_t off = 0; off < VIRQ_LAPIC_PAGE_SIZE; off++) {
		for (unsigned si = 0; si < 4; si++) {
			unsigned size = sizes[si];
			int rc;

			if (size == 4 && !(off & 0xF))
				continue;
			rc = virq_lapic_mmio_write(&fx.apic, off, size, ~0ULL);
			if (off + size > VIRQ_LAPIC_PAGE_SIZE) {
				if (rc != -VIRQ_EINVAL)
					fail_msg("write 0x%03x/%u: rc %d, want -EINVAL", off, size,
						 rc);
			} else {
				if (rc != 0)
					fail_msg("write 0x%03x/%u: rc %d", off, size, rc);
				n++;
			}
			if (gerr(&fx, VIRQ_GERR_MMIO_SIZE) != n || fx.f.n_gerr != n)
				fail_msg("write 0x%03x/%u: %u size errors, want %u", off, size,
					 gerr(&fx, VIRQ_GERR_MMIO_SIZE), n);
			if (memcmp(fx.page, s.page, sizeof(s.page)) ||
			    memcmp(&fx.apic, &s.apic, sizeof(s.apic)))
				fail_msg("write 0x%03x/%u changed the LAPIC", off, size);
		}
	}
	assert_int_equal(fx.f.n_ipis, 1);
	assert_int_equal(fx.f.n_eois, 0);
	assert_invariants(&fx);
}

/* Aligned 4-byte writes to reserved slots: ignored, ESR bit 7 latched. */
static void test_mmio_write_reserved_slots(void **state)
{
	static struct lapic_fixture fx;
	static struct snap s;
	unsigned n = 0;

	(void)state;
	dirty_init(&fx);
	snap_take(&fx, &s);
	for (uint32_t off = 0; off < VIRQ_LAPIC_PAGE_SIZE; off += 16) {
		if (dirty_index(off) >= 0)
			continue;
		mmio_w(&fx, off, 0xFFFFFFFFU);
		n++;
		assert_int_equal(gerr(&fx, VIRQ_GERR_RESERVED_REG), n);
		/* Only the error latch may differ. */
		s.apic.esr_pending = fx.apic.esr_pending;
		snap_expect_same(&fx, &s);
	}
	assert_int_equal(N_DIRTY, 47); /* register slots in 0x000-0x3F0, with CMCI */
	assert_int_equal(n, 256 - N_DIRTY);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ESR), 0x80); /* old visible value */
	assert_int_equal(esr_take(&fx), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	assert_invariants(&fx);
}

/* ---- writable masks (SDM 10.4.6 "Local APIC ID", 10.8.3 "Interrupt, Task, and Processor
 * Priority", 10.9 "Spurious Interrupt", 10.5.1 "Local Vector Table", 10.5.4 "APIC Timer",
 * 10.6.1 "Interrupt Command Register (ICR)"; lapic_priv.h) ---- */

struct mask_case {
	uint32_t off, wr, rd;
};

static void check_masks(struct lapic_fixture *fx, const struct mask_case *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		mmio_w(fx, t[i].off, t[i].wr);
		if (mmio_r(fx, t[i].off) != t[i].rd)
			fail_msg("write 0x%08x to 0x%03x reads 0x%08x, want 0x%08x", t[i].wr,
				 t[i].off, mmio_r(fx, t[i].off), t[i].rd);
		if (fx->page[t[i].off / 4] != t[i].rd)
			fail_msg("page 0x%03x = 0x%08x, want 0x%08x", t[i].off,
				 fx->page[t[i].off / 4], t[i].rd);
	}
}

static void test_mmio_writable_masks(void **state)
{
	static const struct mask_case t[] = {
		{ 0x080, 0xFFFFFFFFU, 0x000000FFU },
		{ 0x080, 0, 0 },
		{ 0x080, 0xFFFFFF37U, 0x00000037U },
		{ 0x0D0, 0xFFFFFFFFU, 0xFF000000U },
		{ 0x0D0, 0, 0 },
		{ 0x0D0, 0x12345678U, 0x12000000U },
		{ 0x0E0, 0, 0x0FFFFFFFU },
		{ 0x0E0, 0xFFFFFFFFU, 0xFFFFFFFFU },
		{ 0x0E0, 0x5A5A5A5AU, 0x5FFFFFFFU },
		{ 0x0E0, 0xF0000000U, 0xFFFFFFFFU },
		{ 0x310, 0xFFFFFFFFU, 0xFF000000U },
		{ 0x310, 0, 0 },
		{ 0x310, 0x12345678U, 0x12000000U },
		{ 0x3E0, 0xFFFFFFFFU, 0x0000000BU },
		{ 0x3E0, 0, 0 },
		{ 0x3E0, 0x00000004U, 0 },
		{ 0x3E0, 0xFFFFFFF4U, 0 },
		{ 0x380, 0xFFFFFFFFU, 0xFFFFFFFFU },
		{ 0x380, 0, 0 },
		/* LVTs, software-enabled, tsc_deadline capable (lapic_priv.h) */
		{ 0x2F0, 0xFFFFFFFFU, 0x000107FFU },
		{ 0x2F0, 0, 0 },
		{ 0x320, 0xFFFBFFFFU, 0x000300FFU },
		{ 0x320, 0, 0 },
		{ 0x320, 0xFFFDFFFFU, 0x000500FFU },
		{ 0x320, 0, 0 },
		{ 0x330, 0xFFFFFFFFU, 0x000107FFU },
		{ 0x330, 0, 0 },
		{ 0x340, 0xFFFFFFFFU, 0x000107FFU },
		{ 0x340, 0, 0 },
		{ 0x350, 0xFFFFFFFFU, 0x0001A7FFU },
		{ 0x350, 0, 0 },
		{ 0x360, 0xFFFFFFFFU, 0x0001A7FFU },
		{ 0x360, 0, 0 },
		{ 0x370, 0xFFFFFFFFU, 0x000100FFU },
		{ 0x370, 0, 0 },
	};
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	check_masks(&fx, t, sizeof(t) / sizeof(t[0]));
	/* Timer all-ones asks for reserved mode 3: the mode is kept. */
	mmio_w(&fx, 0x320, 0xFFFFFFFFU);
	assert_int_equal(mmio_r(&fx, 0x320), 0x000100FFU);
	assert_int_equal(gerr(&fx, VIRQ_GERR_TIMER_MODE), 1);
	assert_invariants(&fx);
}

/* Timer LVT without tsc_deadline: bit 18 reserved, all-ones gives periodic. */
static void test_mmio_timer_mask_no_tsc_deadline(void **state)
{
	static const struct mask_case t[] = {
		{ 0x320, 0xFFFFFFFFU, 0x000300FFU },
		{ 0x320, 0, 0 },
		{ 0x320, 0x00040000U, 0 },
	};
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	cfg.tsc_deadline = false;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	check_masks(&fx, t, sizeof(t) / sizeof(t[0]));
	assert_int_equal(gerr(&fx, VIRQ_GERR_TIMER_MODE), 0);
	assert_invariants(&fx);
}

/* SDM 10.9 "Spurious Interrupt", with KVM's mask: SVR mask 0x3FF, plus bit 12 only
 * with directed EOI. */
static void test_mmio_svr_mask(void **state)
{
	static const struct mask_case plain[] = {
		{ 0x0F0, 0xFFFFFFFFU, 0x000003FFU }, { 0x0F0, 0, 0 },
		{ 0x0F0, 0x00001000U, 0 },           { 0x0F0, 0x00000C00U, 0 },
		{ 0x0F0, 0x0000011FU, 0x0000011FU },
	};
	static const struct mask_case deoi[] = {
		{ 0x0F0, 0xFFFFFFFFU, 0x000013FFU },
		{ 0x0F0, 0, 0 },
		{ 0x0F0, 0x00001000U, 0x00001000U },
		{ 0x0F0, 0xFFFFEFFFU, 0x000003FFU },
	};
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	fixture_init(&fx, &cfg);
	check_masks(&fx, plain, sizeof(plain) / sizeof(plain[0]));
	assert_invariants(&fx);
	cfg.directed_eoi = true;
	fixture_init(&fx, &cfg);
	check_masks(&fx, deoi, sizeof(deoi) / sizeof(deoi[0]));
	assert_invariants(&fx);
}

/* SDM 10.6.1 "Interrupt Command Register (ICR)": ICR low keeps 0x000CCFFF; delivery
 * status always reads 0 (as KVM). */
static void test_mmio_icr_low_mask(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	/* All ones: ExtINT with "all excluding self" is not a valid IPI; not sent. */
	mmio_w(&fx, 0x300, 0xFFFFFFFFU);
	assert_int_equal(mmio_r(&fx, 0x300), 0x000CCFFFU);
	assert_int_equal(fx.f.n_ipis, 0);
	mmio_w(&fx, 0x300, 0);
	assert_int_equal(mmio_r(&fx, 0x300), 0);
	/* Bit 12 (delivery status), 13 and 16-17, 20-31 never stick. */
	mmio_w(&fx, 0x310, 0x03000000U);
	mmio_w(&fx, 0x300, 0xFFF33041U);
	assert_int_equal(mmio_r(&fx, 0x300), 0x00000041U);
	assert_int_equal(fx.f.n_ipis, 1);
	assert_int_equal(fx.f.ipis[0].vector, 0x41);
	assert_int_equal(fx.f.ipis[0].dest, 0x03);
	assert_invariants(&fx);
}

/* Per-bit writability of the non-LVT registers. */
static void test_mmio_per_bit_masks(void **state)
{
	static const struct {
		uint32_t off, mask;
	} t[] = {
		{ 0x080, 0x000000FFU }, { 0x0D0, 0xFF000000U }, { 0x310, 0xFF000000U },
		{ 0x3E0, 0x0000000BU }, { 0x380, 0xFFFFFFFFU },
	};
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (unsigned b = 0; b < 32; b++) {
			mmio_w(&fx, t[i].off, 1U << b);
			if (mmio_r(&fx, t[i].off) != ((1U << b) & t[i].mask))
				fail_msg("0x%03x bit %u reads 0x%08x", t[i].off, b,
					 mmio_r(&fx, t[i].off));
		}
	}
	/* DFR: bits 31:28 writable, 27:0 read as ones. */
	for (unsigned b = 0; b < 32; b++) {
		mmio_w(&fx, 0x0E0, 1U << b);
		assert_int_equal(mmio_r(&fx, 0x0E0), ((1U << b) & 0xF0000000U) | 0x0FFFFFFFU);
	}
	/* SVR per bit (no directed EOI); enable last so LVTs stay consistent. */
	for (unsigned b = 0; b < 32; b++) {
		mmio_w(&fx, 0x0F0, 1U << b);
		assert_int_equal(mmio_r(&fx, 0x0F0), (1U << b) & 0x3FFU);
	}
	assert_invariants(&fx);
}

/* ---- read-only registers (SDM Table 10-1 "Local APIC Register Address Map") ---- */

static void test_mmio_readonly_ignore_writes(void **state)
{
	static const uint32_t ro[] = {
		0x030, 0x090, 0x0A0, 0x0C0, 0x100, 0x110, 0x120, 0x130, 0x140, 0x150,
		0x160, 0x170, 0x180, 0x190, 0x1A0, 0x1B0, 0x1C0, 0x1D0, 0x1E0, 0x1F0,
		0x200, 0x210, 0x220, 0x230, 0x240, 0x250, 0x260, 0x270, 0x390,
	};
	static const uint32_t vals[] = { 0xFFFFFFFFU, 0, 0x5A5A5A5AU };
	static struct lapic_fixture fx;
	static struct snap s;
	unsigned n = 0;

	(void)state;
	dirty_init(&fx);
	snap_take(&fx, &s);
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		for (unsigned k = 0; k < 3; k++) {
			mmio_w(&fx, ro[i], vals[k]);
			n++;
			snap_expect_same(&fx, &s);
			if (gerr(&fx, VIRQ_GERR_READONLY_REG) != n)
				fail_msg("RO write to 0x%03x not reported", ro[i]);
			assert_int_equal(mmio_r(&fx, ro[i]), dirty_regs[dirty_index(ro[i])].val);
		}
	}
	/* Nothing latched in ESR: these are registers, not reserved offsets. */
	assert_int_equal(esr_take(&fx), 0);
	assert_invariants(&fx);
}

/* The xAPIC ID is read-only by default, the project's choice (SDM 10.4.6 "Local APIC ID":
 * model-specific; lapic.h config). */
static void test_mmio_id_readonly_default(void **state)
{
	static struct lapic_fixture fx;
	static struct snap s;

	(void)state;
	dirty_init(&fx);
	snap_take(&fx, &s);
	mmio_w(&fx, 0x020, 0xFFFFFFFFU);
	mmio_w(&fx, 0x020, 0);
	mmio_w(&fx, 0x020, 0x12000000U);
	snap_expect_same(&fx, &s);
	assert_int_equal(mmio_r(&fx, 0x020), 0xA7000000U);
	assert_int_equal(virq_lapic_get_id(&fx.apic), DIRTY_ID);
	assert_int_equal(esr_take(&fx), 0);
	assert_invariants(&fx);
}

static void test_mmio_id_writable_config(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	cfg.apic_id = 0x21;
	cfg.xapic_id_writable = true;
	fixture_init(&fx, &cfg);
	mmio_w(&fx, 0x020, 0xFFFFFFFFU);
	assert_int_equal(mmio_r(&fx, 0x020), 0xFF000000U);
	assert_int_equal(virq_lapic_get_id(&fx.apic), 0xFF);
	mmio_w(&fx, 0x020, 0x12345678U);
	assert_int_equal(mmio_r(&fx, 0x020), 0x12000000U);
	assert_int_equal(virq_lapic_get_id(&fx.apic), 0x12);
	assert_true(virq_lapic_match_dest(&fx.apic, 0x12, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 0x21, false));
	mmio_w(&fx, 0x020, 0x00FFFFFFU);
	assert_int_equal(mmio_r(&fx, 0x020), 0);
	for (unsigned b = 0; b < 32; b++) {
		mmio_w(&fx, 0x020, 1U << b);
		assert_int_equal(mmio_r(&fx, 0x020), (1U << b) & 0xFF000000U);
	}
	assert_int_equal(fx.f.gerr[VIRQ_GERR_READONLY_REG], 0);
	assert_invariants(&fx);
}

/* EOI is write-only: reads 0, not an ESR error; a write retires ISRV. */
static void test_mmio_eoi_reads_zero(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	dirty_init(&fx);
	for (unsigned sz = 1; sz <= 4; sz *= 2) {
		uint64_t v = ~0ULL;

		assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0x0B0, sz, &v), 0);
		assert_int_equal(v, 0);
	}
	assert_int_equal(fx.f.n_gerr, 0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0xE3));
	mmio_w(&fx, 0x0B0, 0xFFFFFFFFU); /* xAPIC: any value retires */
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0xE3));
	assert_int_equal(mmio_r(&fx, 0x0A0), 0x5C);
	assert_int_equal(mmio_r(&fx, 0x0B0), 0);
	assert_int_equal(esr_take(&fx), 0);
	assert_invariants(&fx);
}

/* APR reads 0 (as KVM; SDM 10.6.2.4 "Lowest Priority Delivery Mode" is
 * ambiguous), whatever TPR/IRR/ISR. */
static void test_mmio_apr_reads_zero(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	dirty_init(&fx);
	for (unsigned tpr = 0; tpr < 256; tpr += 0x11) {
		mmio_w(&fx, 0x080, tpr);
		assert_int_equal(mmio_r(&fx, 0x090), 0);
	}
	assert_int_equal(esr_take(&fx), 0);
	assert_invariants(&fx);
}

/* ---- SDM 10.12.1.2 "x2APIC Register Address Space", 10.4.3 "Enabling or Disabling
 * the Local APIC": page not decoded in x2APIC mode or when disabled ---- */

static void sweep_undecoded(struct lapic_fixture *fx)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	static struct snap s;

	snap_take(fx, &s);
	for (uint32_t off = 0; off < VIRQ_LAPIC_PAGE_SIZE; off++) {
		for (unsigned si = 0; si < 4; si++) {
			unsigned size = sizes[si];
			uint64_t v = 0x1234;
			int want = off + size > VIRQ_LAPIC_PAGE_SIZE ? -VIRQ_EINVAL : 0;

			if (virq_lapic_mmio_read(&fx->apic, off, size, &v) != want)
				fail_msg("undecoded read 0x%03x/%u: bad rc", off, size);
			if (!want && v != size_mask(size))
				fail_msg("undecoded read 0x%03x/%u = 0x%llx", off, size,
					 (unsigned long long)v);
			if (virq_lapic_mmio_write(&fx->apic, off, size, ~0ULL) != want)
				fail_msg("undecoded write 0x%03x/%u: bad rc", off, size);
			if (virq_lapic_mmio_write(&fx->apic, off, size, 0) != want)
				fail_msg("undecoded write 0x%03x/%u: bad rc", off, size);
			if (memcmp(fx->page, s.page, sizeof(s.page)) ||
			    memcmp(&fx->apic, &s.apic, sizeof(s.apic)))
				fail_msg("undecoded access 0x%03x/%u changed the LAPIC", off, size);
		}
	}
}

static void test_mmio_undecoded_x2apic(void **state)
{
	static struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_x2apic_enable(&fx);
	assert_int_equal(msr_w(&fx, 0x808, 0x42), 0);
	sweep_undecoded(&fx);
	assert_int_equal(fx.f.n_ipis, 0);
	/* No ESR error from the ignored accesses; TPR untouched. */
	assert_int_equal(msr_w(&fx, 0x828, 0), 0);
	assert_int_equal(msr_r(&fx, 0x828, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msr_r(&fx, 0x808, &v), 0);
	assert_int_equal(v, 0x42);
	assert_invariants(&fx);
}

static void test_mmio_undecoded_disabled(void **state)
{
	static struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, 0xFEE00100ULL, false), 0);
	assert_int_equal(virq_lapic_get_mode(&fx.apic), VIRQ_LAPIC_MODE_DISABLED);
	sweep_undecoded(&fx);
	assert_int_equal(fx.f.n_ipis, 0);
	assert_int_equal(fx.f.n_eois, 0);
	assert_invariants(&fx);
}

/* ---- offset/size outside the page: embedder error (lapic.h) ---- */

static void test_mmio_out_of_page(void **state)
{
	static const struct {
		uint32_t off;
		unsigned size;
	} t[] = {
		{ 0x1000, 4 },          { 0x1000, 1 },      { 0x1004, 4 },
		{ 0x2000, 4 },          { 0xFFFFFFFFU, 1 }, { 0xFFFFFFFCU, 4 },
		{ 0xFFFFFFF8U, 8 },     { 0x80000000U, 4 }, { 0xFFF, 2 },
		{ 0xFFE, 4 },           { 0xFFC, 8 },       { 0xFF9, 8 },
		{ 0x000, 0 },           { 0x000, 3 },       { 0x000, 5 },
		{ 0x000, 6 },           { 0x000, 16 },      { 0x080, 0xFFFFFFFFU },
		{ 0x080, 0x80000000U },
	};
	static struct lapic_fixture fx;
	static struct snap s;

	(void)state;
	for (unsigned mode = 0; mode < 3; mode++) {
		fixture_init(&fx, NULL);
		fixture_sw_enable(&fx);
		if (mode == 1)
			fixture_x2apic_enable(&fx);
		if (mode == 2)
			assert_int_equal(virq_lapic_set_apic_base(&fx.apic, 0xFEE00100ULL, false),
					 0);
		snap_take(&fx, &s);
		for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			uint64_t v = 0x77;

			assert_int_equal(virq_lapic_mmio_read(&fx.apic, t[i].off, t[i].size, &v),
					 -VIRQ_EINVAL);
			assert_int_equal(virq_lapic_mmio_write(&fx.apic, t[i].off, t[i].size,
							       0xFFFFFFFFU),
					 -VIRQ_EINVAL);
		}
		/* NULL result pointer. */
		assert_int_equal(virq_lapic_mmio_read(&fx.apic, 0x080, 4, NULL), -VIRQ_EINVAL);
		snap_expect_same(&fx, &s);
		assert_int_equal(fx.f.n_gerr, 0);
		assert_invariants(&fx);
	}
}

/* SDM Table 10-1 "Local APIC Register Address Map": an ordinary 4-byte write then read
 * round-trips every RW register. */
static void test_mmio_rw_roundtrip(void **state)
{
	static const struct mask_case t[] = {
		{ 0x080, 0x000000A5U, 0x000000A5U }, { 0x0D0, 0x5A000000U, 0x5A000000U },
		{ 0x0E0, 0x0FFFFFFFU, 0x0FFFFFFFU }, { 0x0F0, 0x000001EFU, 0x000001EFU },
		{ 0x2F0, 0x00000432U, 0x00000432U }, { 0x320, 0x00020033U, 0x00020033U },
		{ 0x330, 0x00000234U, 0x00000234U }, { 0x340, 0x00010035U, 0x00010035U },
		{ 0x350, 0x00002036U, 0x00002036U }, { 0x360, 0x00002437U, 0x00002437U },
		{ 0x370, 0x00000038U, 0x00000038U }, { 0x3E0, 0x00000009U, 0x00000009U },
		{ 0x380, 0x00C0FFEEU, 0x00C0FFEEU }, { 0x310, 0x77000000U, 0x77000000U },
	};
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	check_masks(&fx, t, sizeof(t) / sizeof(t[0]));
	assert_int_equal(fx.f.n_gerr, 0);
	assert_invariants(&fx);
}

/* virq_lapic_read_reg(): the page's register, no side effect, any mode;
 * 0 for an offset that is not a register slot. */
static void test_read_reg(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_SVR), 0xFF);
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_LVT_TIMER), 0x10000);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, 0x700);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x35);
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_SVR), 0x1FF);
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_LVT_LINT0), 0x700);
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_TPR), 0x35);
	virq_lapic_post(&fx.apic, 0x41, false);
	(void)virq_lapic_sync(&fx.apic);
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_IRR + 0x20), 1U << 1);
	/* No side effect: reading ESR's slot does not latch or clear it. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x4000 | 0x05); /* illegal vector: ESR bit 5 */
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_ESR), 0);
	/* Same register in x2APIC mode. */
	fixture_x2apic_enable(&fx);
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_TPR), 0x35);
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_LVT_LINT0), 0x700);
	/* Not a register slot, past the page, or no LAPIC: 0. */
	assert_int_equal(virq_lapic_read_reg(&fx.apic, VIRQ_LAPIC_REG_TPR + 4), 0);
	assert_int_equal(virq_lapic_read_reg(&fx.apic, 0x1000), 0);
	assert_int_equal(virq_lapic_read_reg(NULL, VIRQ_LAPIC_REG_TPR), 0);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmio_read_every_offset_size),
		cmocka_unit_test(test_mmio_partial_reads),
		cmocka_unit_test(test_mmio_reserved_reads_latch_esr),
		cmocka_unit_test(test_mmio_write_bad_size_dropped),
		cmocka_unit_test(test_mmio_write_reserved_slots),
		cmocka_unit_test(test_mmio_writable_masks),
		cmocka_unit_test(test_mmio_timer_mask_no_tsc_deadline),
		cmocka_unit_test(test_mmio_svr_mask),
		cmocka_unit_test(test_mmio_icr_low_mask),
		cmocka_unit_test(test_mmio_per_bit_masks),
		cmocka_unit_test(test_mmio_readonly_ignore_writes),
		cmocka_unit_test(test_mmio_id_readonly_default),
		cmocka_unit_test(test_mmio_id_writable_config),
		cmocka_unit_test(test_mmio_eoi_reads_zero),
		cmocka_unit_test(test_mmio_apr_reads_zero),
		cmocka_unit_test(test_mmio_undecoded_x2apic),
		cmocka_unit_test(test_mmio_undecoded_disabled),
		cmocka_unit_test(test_mmio_out_of_page),
		cmocka_unit_test(test_mmio_rw_roundtrip),
		cmocka_unit_test(test_read_reg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
