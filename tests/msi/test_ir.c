/* SPDX-License-Identifier: MIT */
/*
 * VT-d interrupt remapping (VT-d spec 5.1.2.2, 5.1.3, 5.1.4, 5.1.5.1 and
 * the IRTE formats for remapped and posted interrupts): handle/subhandle to
 * index, every fault reason with its code, FPD, reserved bits of both IRTE
 * formats, source validation (SVT/SQ/SID), remapped and posted results,
 * compatibility format, IOAPIC remappable-format entries.
 *
 * IRTEs are built here from the VT-d IRTE formats (irte[0] = bits 63:0,
 * irte[1] = bits 127:64).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <virq/msi.h>

#define FEE 0xFEE00000ULL
#define NENT 65536U

struct table {
	uint64_t e[NENT][2];
	unsigned reads;
	uint32_t last;
	bool fail;
};

static struct table g_tab;

static int tab_read(void *ctx, uint32_t index, uint64_t irte[2])
{
	struct table *t = ctx;

	assert_true(index < NENT);
	t->reads++;
	t->last = index;
	if (t->fail)
		return -1;
	irte[0] = t->e[index][0];
	irte[1] = t->e[index][1];
	return 0;
}

static struct table *tab_reset(void)
{
	memset(&g_tab, 0, sizeof(g_tab));
	return &g_tab;
}

/* ---- IRTE builders (VT-d spec, IRTE for Remapped / Posted Interrupts) ---- */

struct remap {
	bool p, fpd, dm, rh, tm;
	unsigned dlm;
	uint8_t v;
	uint32_t dst;
	uint16_t sid;
	unsigned sq, svt;
};

static void irte_remap(uint64_t irte[2], const struct remap *r)
{
	irte[0] = (uint64_t)r->p | (uint64_t)r->fpd << 1 | (uint64_t)r->dm << 2 |
		  (uint64_t)r->rh << 3 | (uint64_t)r->tm << 4 | (uint64_t)r->dlm << 5 |
		  (uint64_t)r->v << 16 | (uint64_t)r->dst << 32;
	irte[1] = (uint64_t)r->sid | (uint64_t)r->sq << 16 | (uint64_t)r->svt << 18;
}

struct post {
	bool p, fpd, urg;
	uint8_t vv;
	uint64_t pda;
	uint16_t sid;
	unsigned sq, svt;
};

static void irte_post(uint64_t irte[2], const struct post *q)
{
	irte[0] = (uint64_t)q->p | (uint64_t)q->fpd << 1 | (uint64_t)q->urg << 14 | 1ULL << 15 |
		  (uint64_t)q->vv << 16 | ((q->pda >> 6) & 0x3FFFFFFULL) << 38;
	irte[1] = (uint64_t)q->sid | (uint64_t)q->sq << 16 | (uint64_t)q->svt << 18 |
		  (q->pda >> 32) << 32;
}

/* Remappable-format address for @handle, SHV as given. */
static uint64_t ir_addr(uint32_t handle, bool shv)
{
	return FEE | (uint64_t)(handle & 0x7FFF) << 5 | 1ULL << 4 | (uint64_t)shv << 3 |
	       (uint64_t)((handle >> 15) & 1) << 2;
}

static const struct virq_ir_config cfg_x = { .size = sizeof(struct virq_ir_config),
					     .table_entries = NENT,
					     .posting = true };
static const struct virq_ir_config cfg_x2 = {
	.size = sizeof(struct virq_ir_config), .table_entries = NENT, .eime = true, .posting = true
};

static struct virq_ir_result translate(const struct virq_ir_config *cfg, uint64_t addr,
				       uint32_t data, uint16_t rid)
{
	struct virq_ir_result r;

	memset(&r, 0xA5, sizeof(r));
	assert_int_equal(virq_ir_translate(cfg, addr, data, rid, tab_read, &g_tab, &r), 0);
	assert_int_equal(r.reserved, 0);
	return r;
}

static void assert_blocked(const struct virq_ir_result *r, uint32_t fault, uint32_t index, bool fpd)
{
	assert_int_equal(r->kind, VIRQ_IR_BLOCKED);
	assert_int_equal(r->fault, fault);
	assert_int_equal(r->index, index);
	assert_int_equal(r->fpd, fpd);
	assert_int_equal(r->pda, 0);
	assert_int_equal(r->vector, 0);
	assert_false(r->urgent);
}

/* A remapped xAPIC entry: every result field exact. */
static void test_remapped_xapic(void **state)
{
	struct table *t = tab_reset();
	struct remap e = { .p = true, .v = 0x41, .dst = 3U << 8 };
	struct virq_ir_result r, exp;

	(void)state;
	irte_remap(t->e[5], &e);
	r = translate(&cfg_x, ir_addr(5, false), 0, 0x0100);
	memset(&exp, 0, sizeof(exp));
	exp.kind = VIRQ_IR_REMAPPED;
	exp.index = 5;
	exp.msg.dest = 3;
	exp.msg.src = VIRQ_MSG_SRC_NONE;
	exp.msg.vector = 0x41;
	exp.msg.level = true;
	assert_memory_equal(&r, &exp, sizeof(r));
	assert_int_equal(t->reads, 1);
	assert_int_equal(t->last, 5);

	/* Logical, level, lowest priority, FPD, AVAIL bits ignored. */
	e = (struct remap){
		.p = true, .fpd = true, .dm = true, .tm = true, .dlm = 1, .v = 0xEF, .dst = 0x0F00
	};
	irte_remap(t->e[6], &e);
	t->e[6][0] |= 0xFULL << 8; /* AVAIL */
	r = translate(&cfg_x, ir_addr(6, false), 0, 0);
	exp.index = 6;
	exp.fpd = true;
	exp.msg.dest = 0x0F;
	exp.msg.vector = 0xEF;
	exp.msg.delivery = VIRQ_DM_LOWEST;
	exp.msg.logical = true;
	exp.msg.trigger_level = true;
	assert_memory_equal(&r, &exp, sizeof(r));
}

static void test_remapped_x2apic(void **state)
{
	struct table *t = tab_reset();
	struct remap e = { .p = true, .v = 0x30, .dst = 0x12345678U };
	struct virq_ir_result r;

	(void)state;
	irte_remap(t->e[9], &e);
	r = translate(&cfg_x2, ir_addr(9, false), 0, 0);
	assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
	assert_int_equal(r.msg.dest, 0x12345678U);
	assert_true(r.msg.x2apic);
	e.dst = 0xFFFFFFFFU;
	e.dm = true;
	irte_remap(t->e[9], &e);
	r = translate(&cfg_x2, ir_addr(9, false), 0, 0);
	assert_int_equal(r.msg.dest, 0xFFFFFFFFU);
	assert_true(r.msg.logical);
	/* The same entry in xAPIC mode has reserved DST bits set. */
	r = translate(&cfg_x, ir_addr(9, false), 0, 0);
	assert_blocked(&r, VIRQ_IR_FAULT_RESERVED, 9, false);
	/* xAPIC ID 0xFF in DST[15:8]. */
	e.dst = 0xFF00;
	irte_remap(t->e[9], &e);
	r = translate(&cfg_x, ir_addr(9, false), 0, 0);
	assert_int_equal(r.msg.dest, 0xFF);
	assert_false(r.msg.x2apic);
	/* ... which EIME reads as x2APIC ID 0xFF00. */
	r = translate(&cfg_x2, ir_addr(9, false), 0, 0);
	assert_int_equal(r.msg.dest, 0xFF00);
}

/* DLM: 0,1,2,4,5,7 delivered; 3 and 6 reserved. RH turns Fixed into lowest. */
static void test_remapped_dlm_rh(void **state)
{
	struct table *t = tab_reset();
	struct virq_ir_result r;

	(void)state;
	for (unsigned dlm = 0; dlm < 8; dlm++)
		for (unsigned rh = 0; rh < 2; rh++) {
			struct remap e = {
				.p = true, .rh = rh, .dlm = dlm, .v = 0x50, .dst = 0x100
			};

			irte_remap(t->e[1], &e);
			r = translate(&cfg_x, ir_addr(1, false), 0, 0);
			if (dlm == 3 || dlm == 6) {
				assert_blocked(&r, VIRQ_IR_FAULT_RESERVED, 1, false);
				continue;
			}
			assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
			assert_int_equal(r.msg.delivery, (rh && dlm == 0) ? VIRQ_DM_LOWEST : dlm);
			assert_int_equal(r.msg.dest, 1);
		}
}

/* Each reserved bit of the remapped format alone -> fault 0x24. */
static void test_remapped_reserved_bits(void **state)
{
	struct table *t = tab_reset();
	struct remap e = { .p = true, .fpd = true, .v = 0x50, .dst = 0x100 };
	struct virq_ir_result r;

	(void)state;
	for (unsigned b = 0; b < 128; b++) {
		bool rsvd = (b >= 12 && b <= 14) || (b >= 24 && b <= 31) || b >= 84;
		bool rsvd_x = rsvd || (b >= 32 && b <= 39) || (b >= 48 && b <= 63);
		/* bit 15 is IM: posted format, tested separately */
		if (b == 15 || b == 0 || b == 1)
			continue;
		for (unsigned m = 0; m < 2; m++) {
			const struct virq_ir_config *c = m ? &cfg_x2 : &cfg_x;
			bool expect = m ? rsvd : rsvd_x;

			irte_remap(t->e[2], &e);
			t->e[2][b / 64] |= 1ULL << (b % 64);
			/* DLM bits 7:5 can form a reserved encoding only with two bits. */
			r = translate(c, ir_addr(2, false), 0, 0);
			if (expect) {
				assert_blocked(&r, VIRQ_IR_FAULT_RESERVED, 2, true);
			} else {
				if (r.kind != VIRQ_IR_REMAPPED)
					print_error("bit %u mode %u\n", b, m);
				assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
			}
		}
	}
}

static void test_posted(void **state)
{
	struct table *t = tab_reset();
	struct post q = { .p = true, .vv = 0x66, .pda = 0x0000001234567FC0ULL };
	struct virq_ir_result r, exp;

	(void)state;
	irte_post(t->e[7], &q);
	r = translate(&cfg_x, ir_addr(7, false), 0, 0);
	memset(&exp, 0, sizeof(exp));
	exp.kind = VIRQ_IR_POSTED;
	exp.index = 7;
	exp.vector = 0x66;
	exp.pda = 0x0000001234567FC0ULL;
	exp.msg.src = VIRQ_MSG_SRC_NONE;
	assert_memory_equal(&r, &exp, sizeof(r));
	/* URG, FPD, the extreme descriptor addresses, AVAIL ignored. */
	q = (struct post){
		.p = true, .fpd = true, .urg = true, .vv = 0xFF, .pda = 0xFFFFFFFFFFFFFFC0ULL
	};
	irte_post(t->e[7], &q);
	t->e[7][0] |= 0xFULL << 8;
	r = translate(&cfg_x2, ir_addr(7, false), 0, 0);
	assert_int_equal(r.kind, VIRQ_IR_POSTED);
	assert_true(r.urgent);
	assert_true(r.fpd);
	assert_int_equal(r.vector, 0xFF);
	assert_int_equal(r.pda, 0xFFFFFFFFFFFFFFC0ULL);
	q.pda = 0x40;
	irte_post(t->e[7], &q);
	r = translate(&cfg_x, ir_addr(7, false), 0, 0);
	assert_int_equal(r.pda, 0x40);
	q.pda = 0x100000000ULL;
	irte_post(t->e[7], &q);
	r = translate(&cfg_x, ir_addr(7, false), 0, 0);
	assert_int_equal(r.pda, 0x100000000ULL);
	/* Without posting support, IM = 1 is a reserved bit. */
	{
		struct virq_ir_config c = cfg_x;

		c.posting = false;
		r = translate(&c, ir_addr(7, false), 0, 0);
		assert_blocked(&r, VIRQ_IR_FAULT_RESERVED, 7, true);
	}
}

static void test_posted_reserved_bits(void **state)
{
	struct table *t = tab_reset();
	struct post q = { .p = true, .vv = 0x66, .pda = 0x1000 };
	struct virq_ir_result r;

	(void)state;
	for (unsigned b = 2; b < 128; b++) {
		bool rsvd = (b <= 7) || b == 12 || b == 13 || (b >= 24 && b <= 37) ||
			    (b >= 84 && b <= 95);

		if (b == 15)
			continue;
		irte_post(t->e[3], &q);
		t->e[3][b / 64] |= 1ULL << (b % 64);
		r = translate(&cfg_x, ir_addr(3, false), 0, 0);
		if (rsvd) {
			assert_blocked(&r, VIRQ_IR_FAULT_RESERVED, 3, false);
		} else {
			assert_int_equal(r.kind, VIRQ_IR_POSTED);
		}
	}
}

/* P = 0: fault 0x22 whatever else the entry holds; FPD reported. */
static void test_not_present(void **state)
{
	struct table *t = tab_reset();
	struct virq_ir_result r;

	(void)state;
	r = translate(&cfg_x, ir_addr(0, false), 0, 0);
	assert_blocked(&r, VIRQ_IR_FAULT_NOT_PRESENT, 0, false);
	t->e[0][0] = ~1ULL; /* everything but P, FPD included */
	t->e[0][1] = ~0ULL;
	r = translate(&cfg_x, ir_addr(0, false), 0, 0);
	assert_blocked(&r, VIRQ_IR_FAULT_NOT_PRESENT, 0, true);
	t->e[0][0] = 2; /* FPD only */
	t->e[0][1] = 0;
	r = translate(&cfg_x, ir_addr(0, false), 0, 0);
	assert_blocked(&r, VIRQ_IR_FAULT_NOT_PRESENT, 0, true);
}

static void test_read_fault(void **state)
{
	struct table *t = tab_reset();
	struct remap e = { .p = true, .fpd = true, .v = 0x41, .dst = 0x100 };
	struct virq_ir_result r;

	(void)state;
	irte_remap(t->e[11], &e);
	t->fail = true;
	r = translate(&cfg_x, ir_addr(11, false), 0, 0);
	assert_blocked(&r, VIRQ_IR_FAULT_READ, 11, false); /* entry unknown: no FPD */
	assert_int_equal(t->reads, 1);
}

/* Index >= table size: fault 0x21 without reading. */
static void test_index_fault(void **state)
{
	static const uint32_t sizes[] = { 1, 2, 256, 4096, 65535, 65536 };
	struct table *t = tab_reset();
	struct virq_ir_result r;

	(void)state;
	for (unsigned s = 0; s < 6; s++) {
		struct virq_ir_config c = { .size = sizeof(struct virq_ir_config),
					    .table_entries = sizes[s] };

		r = translate(&c, ir_addr(sizes[s] - 1, false), 0, 0);
		assert_int_equal(r.fault, VIRQ_IR_FAULT_NOT_PRESENT); /* read, empty */
		assert_int_equal(r.index, sizes[s] - 1);
		if (sizes[s] < NENT) {
			t->reads = 0;
			r = translate(&c, ir_addr(sizes[s], false), 0, 0);
			assert_blocked(&r, VIRQ_IR_FAULT_INDEX, sizes[s], false);
			r = translate(&c, ir_addr(0xFFFF, false), 0, 0);
			assert_blocked(&r, VIRQ_IR_FAULT_INDEX, 0xFFFF, false);
			/* Subhandle takes it past the end. */
			r = translate(&c, ir_addr(0, true), sizes[s], 0);
			assert_blocked(&r, VIRQ_IR_FAULT_INDEX, sizes[s], false);
			assert_int_equal(t->reads, 0);
		}
	}
}

/* Handle and subhandle arithmetic, handle bit 15 at address bit 2, no wrap. */
static void test_index_arithmetic(void **state)
{
	struct table *t = tab_reset();
	struct virq_ir_result r;

	(void)state;
	/* Every handle without SHV: index = handle; data ignored but 31:16 zero. */
	for (uint32_t h = 0; h < NENT; h++) {
		r = translate(&cfg_x, ir_addr(h, false), 0xFFFF, 0);
		assert_int_equal(r.fault, VIRQ_IR_FAULT_NOT_PRESENT);
		assert_int_equal(r.index, h);
		assert_int_equal(t->last, h);
	}
	assert_int_equal(t->reads, NENT);
	/* Handle bit 15 is address bit 2 (not bit 20). */
	r = translate(&cfg_x, FEE | 1ULL << 4 | 1ULL << 2, 0, 0);
	assert_int_equal(r.index, 0x8000);
	r = translate(&cfg_x, FEE | 0x7FFFULL << 5 | 1ULL << 4, 0, 0);
	assert_int_equal(r.index, 0x7FFF);
	r = translate(&cfg_x, FEE | 0x7FFFULL << 5 | 1ULL << 4 | 1ULL << 2, 0, 0);
	assert_int_equal(r.index, 0xFFFF);
	/* Address bits 1:0 are don't care. */
	r = translate(&cfg_x, ir_addr(0x1234, false) | 3, 0, 0);
	assert_int_equal(r.index, 0x1234);
	/* SHV: index = handle + subhandle. */
	r = translate(&cfg_x, ir_addr(0x100, true), 0x0023, 0);
	assert_int_equal(r.index, 0x123);
	r = translate(&cfg_x, ir_addr(0x8000, true), 0x7FFF, 0);
	assert_int_equal(r.index, 0xFFFF);
	r = translate(&cfg_x, ir_addr(0, true), 0xFFFF, 0);
	assert_int_equal(r.index, 0xFFFF);
	/* Overflow past 16 bits is an index fault, never a wrap to a low entry. */
	t->reads = 0;
	r = translate(&cfg_x, ir_addr(0xFFFF, true), 0x0001, 0);
	assert_blocked(&r, VIRQ_IR_FAULT_INDEX, 0x10000, false);
	r = translate(&cfg_x, ir_addr(0xFFFF, true), 0xFFFF, 0);
	assert_blocked(&r, VIRQ_IR_FAULT_INDEX, 0x1FFFE, false);
	r = translate(&cfg_x, ir_addr(0x8001, true), 0x7FFF, 0);
	assert_blocked(&r, VIRQ_IR_FAULT_INDEX, 0x10000, false);
	assert_int_equal(t->reads, 0);
	/* Linux: SHV = 1, subhandle 0 for single vectors; MSI multi-vector. */
	for (uint32_t k = 0; k < 32; k++) {
		r = translate(&cfg_x, ir_addr(0x40, true), k, 0);
		assert_int_equal(r.index, 0x40 + k);
	}
}

/* Request reserved: data bits 31:16 (remappable) and address bits 63:32. */
static void test_request_reserved(void **state)
{
	struct table *t = tab_reset();
	struct remap e = { .p = true, .v = 0x41, .dst = 0x100 };
	struct virq_ir_result r;
	struct virq_ir_config c = cfg_x;

	(void)state;
	irte_remap(t->e[4], &e);
	for (unsigned b = 16; b < 32; b++) {
		r = translate(&cfg_x, ir_addr(4, false), 1U << b, 0);
		assert_blocked(&r, VIRQ_IR_FAULT_REQ_RESERVED, 0, false);
		r = translate(&cfg_x, ir_addr(4, true), 1U << b, 0);
		assert_blocked(&r, VIRQ_IR_FAULT_REQ_RESERVED, 0, false);
	}
	c.cfi = true;
	for (unsigned b = 32; b < 64; b++) {
		r = translate(&cfg_x, ir_addr(4, false) | 1ULL << b, 0, 0);
		assert_blocked(&r, VIRQ_IR_FAULT_REQ_RESERVED, 0, false);
		/* Compatibility format too, before the CFI check. */
		r = translate(&c, FEE | 1ULL << b, 0x41, 0);
		assert_blocked(&r, VIRQ_IR_FAULT_REQ_RESERVED, 0, false);
	}
	assert_int_equal(t->reads, 0);
	/* Data bits 31:16 of a compatibility-format request are not checked. */
	r = translate(&c, FEE | 0x1000, 0xFFFF0041U, 0);
	assert_int_equal(r.kind, VIRQ_IR_COMPAT);
}

/* Compatibility format: through with CFI && !EIME, else fault 0x25. */
static void test_compat_format(void **state)
{
	struct table *t = tab_reset();
	struct virq_ir_result r;
	struct virq_apic_msg m;

	(void)state;
	for (unsigned cfi = 0; cfi < 2; cfi++)
		for (unsigned eime = 0; eime < 2; eime++)
			for (unsigned posting = 0; posting < 2; posting++) {
				struct virq_ir_config c = { .size = sizeof(struct virq_ir_config),
							    .table_entries = 256,
							    .cfi = cfi,
							    .eime = eime,
							    .posting = posting };

				r = translate(&c, 0xFEE0300CULL, 0xC041, 0x1234);
				if (!cfi || eime) {
					assert_blocked(&r, VIRQ_IR_FAULT_COMPAT, 0, false);
					continue;
				}
				assert_int_equal(r.kind, VIRQ_IR_COMPAT);
				assert_int_equal(r.fault, VIRQ_IR_OK);
				assert_int_equal(r.index, 0);
				assert_int_equal(virq_msi_decode(0xFEE0300CULL, 0xC041, 0, &m), 0);
				assert_memory_equal(&r.msg, &m, sizeof(m));
				assert_int_equal(r.msg.dest, 3);
				assert_int_equal(r.msg.delivery, VIRQ_DM_LOWEST);
				assert_false(r.msg.x2apic);
			}
	/* Extended-destination bits are not honoured in pass-through. */
	{
		struct virq_ir_config c = { .size = sizeof(struct virq_ir_config),
					    .table_entries = 1,
					    .cfi = true };

		r = translate(&c, 0xFEE01FE0ULL, 0x41, 0);
		assert_int_equal(r.kind, VIRQ_IR_COMPAT);
		assert_int_equal(r.msg.dest, 1);
	}
	assert_int_equal(t->reads, 0);
}

/* SVT = 01 with each SQ mask, against every single-bit difference. */
static void test_sid_sq_masks(void **state)
{
	static const uint16_t masks[4] = { 0xFFFF, 0xFFFB, 0xFFF9, 0xFFF8 };
	static const uint16_t sids[] = { 0x0000, 0x00F8, 0x1A2F, 0xFFFF, 0x8001 };
	struct table *t = tab_reset();
	struct virq_ir_result r;

	(void)state;
	for (unsigned sq = 0; sq < 4; sq++)
		for (unsigned s = 0; s < sizeof(sids) / sizeof(sids[0]); s++) {
			struct remap e = { .p = true,
					   .fpd = (s & 1),
					   .v = 0x41,
					   .dst = 0x100,
					   .sid = sids[s],
					   .sq = sq,
					   .svt = 1 };

			irte_remap(t->e[8], &e);
			for (unsigned b = 0; b <= 16; b++) {
				uint16_t rid = b < 16 ? sids[s] ^ (uint16_t)(1U << b) : sids[s];
				bool pass = ((rid ^ sids[s]) & masks[sq]) == 0;

				r = translate(&cfg_x, ir_addr(8, false), 0, rid);
				if (pass)
					assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
				else
					assert_blocked(&r, VIRQ_IR_FAULT_SID, 8, s & 1);
			}
			/* Function bits 2:0 all differing. */
			r = translate(&cfg_x, ir_addr(8, false), 0, sids[s] ^ 7);
			assert_int_equal(r.kind, sq == 3 ? VIRQ_IR_REMAPPED : VIRQ_IR_BLOCKED);
		}
	/* The posted format validates the same way. */
	{
		struct post q = {
			.p = true, .vv = 0x41, .pda = 0x40, .sid = 0x0310, .sq = 2, .svt = 1
		};

		irte_post(t->e[8], &q);
		r = translate(&cfg_x, ir_addr(8, false), 0, 0x0316);
		assert_int_equal(r.kind, VIRQ_IR_POSTED);
		r = translate(&cfg_x, ir_addr(8, false), 0, 0x0317);
		assert_blocked(&r, VIRQ_IR_FAULT_SID, 8, false);
	}
}

/* SVT = 10: start bus in SID[15:8], end bus in SID[7:0]. */
static void test_sid_bus_range(void **state)
{
	struct table *t = tab_reset();
	struct virq_ir_result r;

	(void)state;
	for (unsigned order = 0; order < 3; order++) {
		/* start 2 end 5; reversed (start 5 end 2: empty); single bus 7 */
		static const uint16_t sids[3] = { 0x0205, 0x0502, 0x0707 };
		struct remap e = {
			.p = true, .v = 0x41, .dst = 0x100, .sid = sids[order], .sq = 3, .svt = 2
		};

		irte_remap(t->e[10], &e);
		for (unsigned bus = 0; bus < 256; bus++) {
			bool pass = order == 0   ? (bus >= 2 && bus <= 5)
				    : order == 2 ? bus == 7
						 : false;

			/* devfn never matters */
			r = translate(&cfg_x, ir_addr(10, false), 0, (uint16_t)(bus << 8 | 0xAB));
			if (pass)
				assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
			else
				assert_blocked(&r, VIRQ_IR_FAULT_SID, 10, false);
		}
	}
	/* Whole range 0..255. */
	{
		struct remap e = { .p = true, .v = 0x41, .dst = 0x100, .sid = 0x00FF, .svt = 2 };

		irte_remap(t->e[10], &e);
		for (unsigned bus = 0; bus < 256; bus++) {
			r = translate(&cfg_x, ir_addr(10, false), 0, (uint16_t)(bus << 8));
			assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
		}
	}
}

/* SVT = 00 checks nothing; SVT = 11 is reserved and always fails. */
static void test_sid_svt_none_and_reserved(void **state)
{
	struct table *t = tab_reset();
	struct virq_ir_result r;

	(void)state;
	for (unsigned sq = 0; sq < 4; sq++) {
		struct remap e = { .p = true,
				   .fpd = true,
				   .v = 0x41,
				   .dst = 0x100,
				   .sid = 0x1234,
				   .sq = sq,
				   .svt = 0 };

		irte_remap(t->e[12], &e);
		for (uint32_t rid = 0; rid < 0x10000; rid += 0x1111) {
			r = translate(&cfg_x, ir_addr(12, false), 0, (uint16_t)rid);
			assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
		}
		e.svt = 3;
		irte_remap(t->e[12], &e);
		r = translate(&cfg_x, ir_addr(12, false), 0, 0x1234);
		assert_blocked(&r, VIRQ_IR_FAULT_SID, 12, true);
	}
}

/* Checks run in order: present, reserved, then source ID. */
static void test_fault_priority(void **state)
{
	struct table *t = tab_reset();
	struct remap e = { .p = true, .v = 0x41, .dst = 0x100, .sid = 0x0100, .svt = 1 };
	struct virq_ir_result r;

	(void)state;
	irte_remap(t->e[13], &e);
	t->e[13][0] |= 1ULL << 30; /* reserved */
	r = translate(&cfg_x, ir_addr(13, false), 0, 0x0200);
	assert_int_equal(r.fault, VIRQ_IR_FAULT_RESERVED);
	t->e[13][0] &= ~1ULL; /* not present */
	r = translate(&cfg_x, ir_addr(13, false), 0, 0x0200);
	assert_int_equal(r.fault, VIRQ_IR_FAULT_NOT_PRESENT);
	/* Request reserved wins over index. */
	{
		struct virq_ir_config c = { .size = sizeof(struct virq_ir_config),
					    .table_entries = 1 };

		r = translate(&c, ir_addr(13, false), 0x10000, 0);
		assert_int_equal(r.fault, VIRQ_IR_FAULT_REQ_RESERVED);
		r = translate(&c, ir_addr(13, false), 0, 0);
		assert_int_equal(r.fault, VIRQ_IR_FAULT_INDEX);
	}
	/* The fault codes are VT-d's. */
	assert_int_equal(VIRQ_IR_FAULT_REQ_RESERVED, 0x20);
	assert_int_equal(VIRQ_IR_FAULT_INDEX, 0x21);
	assert_int_equal(VIRQ_IR_FAULT_NOT_PRESENT, 0x22);
	assert_int_equal(VIRQ_IR_FAULT_READ, 0x23);
	assert_int_equal(VIRQ_IR_FAULT_RESERVED, 0x24);
	assert_int_equal(VIRQ_IR_FAULT_COMPAT, 0x25);
	assert_int_equal(VIRQ_IR_FAULT_SID, 0x26);
}

/*
 * An IOAPIC entry in remappable format (VT-d spec 5.1.5.1, I/OxAPIC
 * Programming): Interrupt_Index [14:0] in RTE bits 63:49, [15] in bit 11,
 * format bit 48; the IOAPIC writes addr = 0xFEE00000 | rte[63:56] << 12 |
 * rte[55:48] << 4 | rte[11] << 2 (virq_ioapic_rte_to_msi) and SHV is 0.
 */
static void test_ioapic_remappable_rte(void **state)
{
	static const uint32_t idx[] = { 0, 1, 0x7F, 0x80, 0x1234, 0x7FFF, 0x8000, 0xABCD, 0xFFFF };
	struct table *t = tab_reset();
	struct virq_ir_result r;

	(void)state;
	for (unsigned k = 0; k < sizeof(idx) / sizeof(idx[0]); k++) {
		struct remap e = {
			.p = true, .tm = true, .v = 0x61, .dst = 0x0200, .sid = 0xF0F8, .svt = 1
		};
		uint64_t rte = (uint64_t)(idx[k] & 0x7FFF) << 49 | 1ULL << 48 |
			       (uint64_t)(idx[k] >> 15) << 11 | 1ULL << 15 | 0x61;
		uint64_t addr = FEE | (rte >> 56) << 12 | ((rte >> 48) & 0xFF) << 4 |
				((rte >> 11) & 1) << 2;
		/* data as the IOAPIC sends it: vector, level trigger, assert */
		uint32_t data = 0x61 | 1U << 15 | 1U << 14;

		irte_remap(t->e[idx[k]], &e);
		r = translate(&cfg_x, addr, data, 0xF0F8);
		assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
		assert_int_equal(r.index, idx[k]);
		assert_int_equal(r.msg.vector, 0x61);
		assert_true(r.msg.trigger_level);
		assert_int_equal(r.msg.dest, 2);
		/* A wrong source (another bus) is refused. */
		r = translate(&cfg_x, addr, data, 0xF1F8);
		assert_blocked(&r, VIRQ_IR_FAULT_SID, idx[k], false);
		memset(t->e[idx[k]], 0, sizeof(t->e[idx[k]]));
	}
}

/*
 * cfg->size (doc/abi.md, "Growing ops and config structures"): 0,
 * sizeof - 1 and sizeof + 1 are refused with -VIRQ_EVERSION before the
 * window or the table is looked at, @p out untouched and no IRTE read;
 * sizeof, today also the first published size, is accepted. The byte of
 * former padding is reserved and checked.
 */
static void test_config_size_checked(void **state)
{
	union {
		struct virq_ir_config c;
		unsigned char room[sizeof(struct virq_ir_config) + 1];
	} cfg;
	const uint32_t bad[3] = { 0, sizeof(struct virq_ir_config) - 1,
				  sizeof(struct virq_ir_config) + 1 };
	/* Remappable format, handle 0: a valid request once the size is. */
	const uint64_t addr = FEE | VIRQ_MSI_ADDR_REMAPPABLE;
	struct virq_ir_result r, before;

	(void)state;
	assert_int_equal(VIRQ_IR_CONFIG_SIZE_MIN, sizeof(struct virq_ir_config));
	tab_reset();
	memset(&r, 0x3C, sizeof(r));
	before = r;
	for (unsigned i = 0; i < 3; i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.c = cfg_x;
		cfg.c.size = bad[i];
		assert_int_equal(virq_ir_translate(&cfg.c, addr, 0, 0, tab_read, &g_tab, &r),
				 -VIRQ_EVERSION);
		/* Even outside the window: the size is checked first. */
		assert_int_equal(virq_ir_translate(&cfg.c, 0xFED00010ULL, 0, 0, tab_read, &g_tab,
						   &r),
				 -VIRQ_EVERSION);
		assert_memory_equal(&r, &before, sizeof(r));
	}
	cfg.c = cfg_x;
	cfg.c.reserved = 1;
	assert_int_equal(virq_ir_translate(&cfg.c, addr, 0, 0, tab_read, &g_tab, &r), -VIRQ_EINVAL);
	assert_memory_equal(&r, &before, sizeof(r));
	assert_int_equal(g_tab.reads, 0);
	cfg.c = cfg_x;
	assert_int_equal(virq_ir_translate(&cfg.c, addr, 0, 0, tab_read, &g_tab, &r), 0);
	assert_int_equal(g_tab.reads, 1);
	assert_int_equal(g_tab.last, 0);
}

static void test_bad_args(void **state)
{
	struct virq_ir_result r, before;
	struct virq_ir_config c = cfg_x;

	(void)state;
	memset(&r, 0x3C, sizeof(r));
	before = r;
	assert_int_equal(virq_ir_translate(NULL, FEE | 0x10, 0, 0, tab_read, &g_tab, &r),
			 -VIRQ_EINVAL);
	assert_int_equal(virq_ir_translate(&c, FEE | 0x10, 0, 0, NULL, &g_tab, &r), -VIRQ_EINVAL);
	assert_int_equal(virq_ir_translate(&c, FEE | 0x10, 0, 0, tab_read, &g_tab, NULL),
			 -VIRQ_EINVAL);
	c.table_entries = 0;
	assert_int_equal(virq_ir_translate(&c, FEE | 0x10, 0, 0, tab_read, &g_tab, &r),
			 -VIRQ_EINVAL);
	c.table_entries = 65537;
	assert_int_equal(virq_ir_translate(&c, FEE | 0x10, 0, 0, tab_read, &g_tab, &r),
			 -VIRQ_EINVAL);
	c.table_entries = 0xFFFFFFFFU;
	assert_int_equal(virq_ir_translate(&c, FEE | 0x10, 0, 0, tab_read, &g_tab, &r),
			 -VIRQ_EINVAL);
	/* Outside the window. */
	c = cfg_x;
	assert_int_equal(virq_ir_translate(&c, 0xFED00010ULL, 0, 0, tab_read, &g_tab, &r),
			 -VIRQ_ENOENT);
	assert_int_equal(virq_ir_translate(&c, 0xFEF00000ULL, 0, 0, tab_read, &g_tab, &r),
			 -VIRQ_ENOENT);
	assert_int_equal(virq_ir_translate(&c, 0, 0, 0, tab_read, &g_tab, &r), -VIRQ_ENOENT);
	assert_memory_equal(&r, &before, sizeof(r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remapped_xapic),
		cmocka_unit_test(test_remapped_x2apic),
		cmocka_unit_test(test_remapped_dlm_rh),
		cmocka_unit_test(test_remapped_reserved_bits),
		cmocka_unit_test(test_posted),
		cmocka_unit_test(test_posted_reserved_bits),
		cmocka_unit_test(test_not_present),
		cmocka_unit_test(test_read_fault),
		cmocka_unit_test(test_index_fault),
		cmocka_unit_test(test_index_arithmetic),
		cmocka_unit_test(test_request_reserved),
		cmocka_unit_test(test_compat_format),
		cmocka_unit_test(test_sid_sq_masks),
		cmocka_unit_test(test_sid_bus_range),
		cmocka_unit_test(test_sid_svt_none_and_reserved),
		cmocka_unit_test(test_fault_priority),
		cmocka_unit_test(test_ioapic_remappable_rte),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_config_size_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
