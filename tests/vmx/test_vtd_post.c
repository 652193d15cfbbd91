/* SPDX-License-Identifier: MIT */
/*
 * Host posted-format IRTEs (virq_irte_posted, virq_irte_remapped,
 * virq_irte_compose, virq_irte_update) against the executable model of the
 * VT-d specification's posting (tests/vmx/model): the library writes the
 * IRTE bytes into a host interrupt-remapping table and keeps the vCPUs'
 * LAPICs (whose posted-interrupt descriptors live in the model's memory);
 * the model's IOMMU reads the entry the library wrote and posts through it
 * into the descriptor; the LAPIC's sync and acknowledge then see exactly
 * the vector, once. Field values are pinned as literals computed by hand
 * from VT-d 9.10 "Interrupt Remapping Table Entry (IRTE) for Remapped
 * Interrupts" and 9.11 "Interrupt Remapping Table Entry (IRTE) for Posted
 * Interrupts", and cross-checked with the model's own encoder and the
 * library's guest-side decoder (virq_ir_translate).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "virq_test.h"

#include <virq/lapic.h>
#include <virq/msi.h>
#include <virq/pi.h>

#include "model.h"

/* ---- the world: two vCPUs whose LAPICs (and descriptors) are model memory ---- */

#define NV_POSTED 0xF2U
#define HOST_CPU_A 3U
#define HOST_CPU_B 5U
#define IRT_ENTRIES 8U
#define IRTE_INDEX 5U

struct arena {
	struct virq_lapic apic[2];
	uint8_t page[2][4096] __attribute__((aligned(4096)));
};

static struct world {
	struct arena mem __attribute__((aligned(4096)));
	struct vmx_model_sys sys;
	struct vmx_model_log log;
	uint64_t irt[IRT_ENTRIES * 2] __attribute__((aligned(16)));
	unsigned kicks[2];
	unsigned lookups;
	unsigned invalidations;
	uint32_t inval_index;
	uint64_t seen_at_inval[2];
} W;

static void w_kick(void *ctx)
{
	W.kicks[(uintptr_t)ctx]++;
}
static uint64_t w_now(void *ctx)
{
	(void)ctx;
	return 0;
}
static void w_timer(void *ctx, uint64_t d)
{
	(void)ctx;
	(void)d;
}
static void w_cancel(void *ctx)
{
	(void)ctx;
}

static const struct virq_lapic_ops w_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = w_kick,
	.now_ns = w_now,
	.timer_arm = w_timer,
	.timer_cancel = w_cancel,
};

/* Host-physical address of vCPU @i's descriptor: its offset in model memory. */
static uint64_t pda_of(unsigned i)
{
	return (uint64_t)offsetof(struct arena, apic) + i * sizeof(struct virq_lapic) +
	       offsetof(struct virq_lapic, pi);
}

static int world_setup(void **state)
{
	struct virq_lapic_config cfg;

	(void)state;
	memset(&W, 0, sizeof(W));
	for (unsigned i = 0; i < 2; i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.size = sizeof(cfg);
		cfg.apic_id = i;
		cfg.bsp = i == 0;
		assert_int_equal(virq_lapic_init(&W.mem.apic[i], W.mem.page[i], &cfg, &w_ops,
						 (void *)(uintptr_t)i),
				 0);
		assert_int_equal(virq_lapic_mmio_write(&W.mem.apic[i], 0xF0, 4, 0x1FF), 0);
		/* vCPU i runs on host CPU 3 (A) or 5 (B), xAPIC: NDST[15:8]. */
		virq_pi_set_notification(&W.mem.apic[i].pi, NV_POSTED,
					 (i ? HOST_CPU_B : HOST_CPU_A) << 8);
	}
	W.sys.mem = (uint8_t *)&W.mem;
	W.sys.size = sizeof(W.mem);
	W.sys.maxphyaddr = 46;
	W.sys.host_x2apic = false;
	return 0;
}

/* The embedder's lookup: every LAPIC the destination selects. */
static int w_lookup(void *ctx, const struct virq_apic_msg *msg, uint64_t *pda)
{
	int n = 0;

	(void)ctx;
	W.lookups++;
	for (unsigned i = 0; i < 2; i++) {
		if (virq_lapic_match_dest(&W.mem.apic[i], msg->dest, msg->logical)) {
			n++;
			*pda = pda_of(i);
		}
	}
	return n;
}

static void w_inval(void *ctx, uint32_t index)
{
	(void)ctx;
	W.invalidations++;
	W.inval_index = index;
	/* The entry must already hold the new value when its cache is flushed. */
	W.seen_at_inval[0] = W.irt[index * 2];
	W.seen_at_inval[1] = W.irt[index * 2 + 1];
}

static struct virq_irte_host host_settings(void)
{
	struct virq_irte_host h;

	memset(&h, 0, sizeof(h));
	h.size = sizeof(h);
	h.dest = 7; /* the host CPU that takes the fallback */
	h.sid = 0x0310;
	h.sq = 0;
	h.svt = 1;
	h.vector = 0x31;
	h.fpd = false;
	h.urgent = false;
	return h;
}

/* The device raises its interrupt: the model's IOMMU reads the live entry. */
static enum vmx_model_vtd device_fires(void)
{
	return vmx_model_vtd_post(&W.sys, &W.log, __atomic_load_n(&W.irt[IRTE_INDEX * 2], 0),
				  __atomic_load_n(&W.irt[IRTE_INDEX * 2 + 1], 0));
}

/* The guest (re)programs the device's MSI: decode, compose, install. */
static int guest_programs(uint32_t dest, uint8_t vector, bool logical, unsigned dm)
{
	struct virq_irte_host h = host_settings();
	struct virq_apic_msg msg;
	uint64_t addr = 0xFEE00000ULL | (uint64_t)dest << 12 | (logical ? 4U : 0U);
	uint32_t data = vector | dm << 8;
	uint64_t e[2];
	int kind;

	assert_int_equal(virq_msi_decode(addr, data, 0, &msg), 0);
	kind = virq_irte_compose(&h, &msg, w_lookup, NULL, e);
	assert_true(kind == VIRQ_IR_POSTED || kind == VIRQ_IR_REMAPPED);
	assert_true(virq_irte_update(&W.irt[IRTE_INDEX * 2], e, IRTE_INDEX, w_inval, NULL) >= 0);
	return kind;
}

/* Owner of vCPU @i: every vector its LAPIC acknowledges, until none. */
static unsigned drain(unsigned i, int *out, unsigned max)
{
	unsigned n = 0;
	int v;

	while ((v = virq_lapic_ack(&W.mem.apic[i])) != VIRQ_LAPIC_NO_VECTOR) {
		assert_true(n < max);
		out[n++] = v;
		virq_lapic_eoi(&W.mem.apic[i]);
	}
	return n;
}

static void assert_notify(unsigned ev, uint32_t cpu)
{
	assert_true(ev < W.log.n);
	assert_int_equal(W.log.ev[ev].kind, VMX_MODEL_EV_NOTIFY);
	assert_int_equal(W.log.ev[ev].a, NV_POSTED);
	assert_int_equal(W.log.ev[ev].b, cpu);
	assert_int_equal(W.log.ev[ev].c, cpu << 8);
}

/* ---- field values ---- */

static void test_posted_fields_exact(void **state)
{
	struct virq_irte_host h = host_settings();
	uint64_t e[2];

	(void)state;
	h.sid = 0x0310;
	h.sq = 1;
	h.svt = 1;
	h.fpd = true;
	h.urgent = true;
	assert_int_equal(virq_irte_posted(&h, 0x0000001234567FC0ULL, 0x41, e), 0);
	/* P 0, FPD 1, URG 14, IM 15, VV 0x41 in 23:16, PDA[31:6] in 63:38. */
	assert_int_equal(e[0], 0x34567FC00041C003ULL);
	/* SID 0x0310, SQ 01, SVT 01, PDA[63:32] = 0x12 in 127:96. */
	assert_int_equal(e[1], 0x0000001200050310ULL);

	/* The model's encoder (written from the VT-d text) agrees without FPD/SQ. */
	h.fpd = false;
	h.sq = 0;
	assert_int_equal(virq_irte_posted(&h, 0x0000001234567FC0ULL, 0x41, e), 0);
	assert_int_equal(e[0], vmx_model_irte_lo(0x41, true, 0x0000001234567FC0ULL));
	assert_int_equal(e[1], vmx_model_irte_hi(0x0310, 0x0000001234567FC0ULL) | 1ULL << 18);
}

static uint64_t g_entry[2];
static int read_g(void *ctx, uint32_t index, uint64_t irte[2])
{
	(void)ctx;
	(void)index;
	irte[0] = g_entry[0];
	irte[1] = g_entry[1];
	return 0;
}

static void test_decoder_agrees(void **state)
{
	struct virq_irte_host h = host_settings();
	struct virq_ir_config cfg = { sizeof(cfg), 65536, true, false, true, 0 };
	struct virq_ir_result r;

	(void)state;
	h.urgent = true;
	assert_int_equal(virq_irte_posted(&h, 0xFFFFFFFFFFFFFFC0ULL, 0xFE, g_entry), 0);
	assert_int_equal(g_entry[0], 0xFFFFFFC000FEC001ULL);
	assert_int_equal(g_entry[1], 0xFFFFFFFF00040310ULL);
	assert_int_equal(virq_ir_translate(&cfg, 0xFEE00010ULL, 0, 0x0310, read_g, NULL, &r), 0);
	assert_int_equal(r.kind, VIRQ_IR_POSTED);
	assert_int_equal(r.vector, 0xFE);
	assert_true(r.urgent);
	assert_int_equal(r.pda, 0xFFFFFFFFFFFFFFC0ULL);

	/* Remapped, x2APIC: DST is the 32-bit ID. */
	h.x2apic = true;
	h.dest = 0x12345678;
	h.vector = 0xEC;
	assert_int_equal(virq_irte_remapped(&h, g_entry), 0);
	assert_int_equal(g_entry[0], 0x1234567800EC0001ULL);
	assert_int_equal(g_entry[1], 0x0000000000040310ULL);
	assert_int_equal(virq_ir_translate(&cfg, 0xFEE00010ULL, 0, 0x0310, read_g, NULL, &r), 0);
	assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
	assert_int_equal(r.msg.dest, 0x12345678);
	assert_int_equal(r.msg.vector, 0xEC);
	assert_int_equal(r.msg.delivery, VIRQ_DM_FIXED);
	assert_false(r.msg.logical);
	assert_false(r.msg.trigger_level);
	/* A requester other than SID 03:02.0 is refused by SVT 01, SQ 00. */
	assert_int_equal(virq_ir_translate(&cfg, 0xFEE00010ULL, 0, 0x0311, read_g, NULL, &r), 0);
	assert_int_equal(r.kind, VIRQ_IR_BLOCKED);
	assert_int_equal(r.fault, VIRQ_IR_FAULT_SID);

	/* Remapped, xAPIC: the 8-bit ID in DST[15:8] (bits 47:40), FPD. */
	h.x2apic = false;
	h.dest = 0x05;
	h.vector = 0x31;
	h.fpd = true;
	h.svt = 0;
	assert_int_equal(virq_irte_remapped(&h, g_entry), 0);
	assert_int_equal(g_entry[0], 0x0000050000310003ULL);
	assert_int_equal(g_entry[1], 0x0000000000000310ULL);
	cfg.eime = false;
	assert_int_equal(virq_ir_translate(&cfg, 0xFEE00010ULL, 0, 0x0999, read_g, NULL, &r), 0);
	assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
	assert_int_equal(r.msg.dest, 0x05);
	assert_true(r.fpd);
}

static void test_bad_input(void **state)
{
	struct virq_irte_host h = host_settings();
	struct virq_apic_msg msg;
	uint64_t e[2] = { 0xAAAA, 0xBBBB };

	(void)state;
#define UNTOUCHED()                                                                                \
	do {                                                                                       \
		assert_int_equal(e[0], 0xAAAA);                                                    \
		assert_int_equal(e[1], 0xBBBB);                                                    \
	} while (0)
	assert_int_equal(virq_irte_posted(NULL, 0x1000, 0x41, e), -VIRQ_EINVAL);
	assert_int_equal(virq_irte_posted(&h, 0x1000, 0x41, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_irte_posted(&h, 0x1000, 15, e), -VIRQ_EINVAL);
	assert_int_equal(virq_irte_posted(&h, 0x1020, 0x41, e), -VIRQ_EALIGN);
	assert_int_equal(virq_irte_posted(&h, 0x1001, 0x41, e), -VIRQ_EALIGN);
	h.svt = 3;
	assert_int_equal(virq_irte_posted(&h, 0x1000, 0x41, e), -VIRQ_EINVAL);
	assert_int_equal(virq_irte_remapped(&h, e), -VIRQ_EINVAL);
	h = host_settings();
	h.sq = 4;
	assert_int_equal(virq_irte_posted(&h, 0x1000, 0x41, e), -VIRQ_EINVAL);
	h = host_settings();
	h.size = VIRQ_IRTE_HOST_SIZE_MIN - 1;
	assert_int_equal(virq_irte_posted(&h, 0x1000, 0x41, e), -VIRQ_EVERSION);
	h.size = sizeof(h) + 1;
	assert_int_equal(virq_irte_remapped(&h, e), -VIRQ_EVERSION);
	h = host_settings();
	h.vector = 15;
	assert_int_equal(virq_irte_remapped(&h, e), -VIRQ_EINVAL);
	h = host_settings();
	h.dest = 0x100; /* xAPIC */
	assert_int_equal(virq_irte_remapped(&h, e), -VIRQ_EINVAL);
	h.x2apic = true;
	assert_int_equal(virq_irte_remapped(&h, e), 0);
	assert_int_equal(e[0], 0x0000010000310001ULL);
	e[0] = 0xAAAA;
	e[1] = 0xBBBB;

	/* compose: a bad fallback fails even for a postable message. */
	memset(&msg, 0, sizeof(msg));
	msg.vector = 0x41;
	msg.level = true;
	h = host_settings();
	h.vector = 2;
	W.lookups = 0;
	assert_int_equal(virq_irte_compose(&h, &msg, w_lookup, NULL, e), -VIRQ_EINVAL);
	h = host_settings();
	msg.shorthand = VIRQ_SH_SELF;
	assert_int_equal(virq_irte_compose(&h, &msg, w_lookup, NULL, e), -VIRQ_EINVAL);
	msg.shorthand = VIRQ_SH_NONE;
	msg.delivery = 8;
	assert_int_equal(virq_irte_compose(&h, &msg, w_lookup, NULL, e), -VIRQ_EINVAL);
	msg.delivery = VIRQ_DM_FIXED;
	assert_int_equal(virq_irte_compose(&h, &msg, NULL, NULL, e), -VIRQ_EINVAL);
	assert_int_equal(virq_irte_compose(&h, NULL, w_lookup, NULL, e), -VIRQ_EINVAL);
	assert_int_equal(W.lookups, 0);
	UNTOUCHED();
#undef UNTOUCHED
}

/* ---- the choice between posted and remapped ---- */

static int fake_n;
static uint64_t fake_pda;
static unsigned fake_calls;
static int fake_lookup(void *ctx, const struct virq_apic_msg *msg, uint64_t *pda)
{
	(void)ctx;
	(void)msg;
	fake_calls++;
	*pda = fake_pda;
	return fake_n;
}

struct compose_case {
	uint8_t delivery;
	bool logical;
	bool trigger_level;
	bool x2apic;
	uint32_t dest;
	uint8_t vector;
	int lookup_n;   /* what the lookup answers */
	int kind;       /* expected result */
	unsigned calls; /* expected lookup calls */
};

static void test_compose_cases(void **state)
{
	static const struct compose_case cases[] = {
		/* fixed, physical, one vCPU: posted */
		{ VIRQ_DM_FIXED, false, false, false, 1, 0x41, 1, VIRQ_IR_POSTED, 1 },
		/* fixed, logical, one vCPU: posted */
		{ VIRQ_DM_FIXED, true, false, false, 0x02, 0x41, 1, VIRQ_IR_POSTED, 1 },
		/* lowest priority with one candidate: posted */
		{ VIRQ_DM_LOWEST, true, false, false, 0x02, 0x41, 1, VIRQ_IR_POSTED, 1 },
		/* lowest priority among two: remapped (software arbitration) */
		{ VIRQ_DM_LOWEST, true, false, false, 0x03, 0x41, 2, VIRQ_IR_REMAPPED, 1 },
		/* fixed multicast: remapped */
		{ VIRQ_DM_FIXED, true, false, false, 0x03, 0x41, 2, VIRQ_IR_REMAPPED, 1 },
		/* nobody: remapped (the software path drops and reports it) */
		{ VIRQ_DM_FIXED, false, false, false, 9, 0x41, 0, VIRQ_IR_REMAPPED, 1 },
		/* broadcasts: remapped, lookup not asked */
		{ VIRQ_DM_FIXED, false, false, false, 0xFF, 0x41, 1, VIRQ_IR_REMAPPED, 0 },
		{ VIRQ_DM_FIXED, false, false, true, 0xFFFFFFFFU, 0x41, 1, VIRQ_IR_REMAPPED, 0 },
		/* 0xFF is an ordinary x2APIC ID: posted */
		{ VIRQ_DM_FIXED, false, false, true, 0xFF, 0x41, 1, VIRQ_IR_POSTED, 1 },
		/* non-fixed modes, level trigger, illegal vector: remapped, no lookup */
		{ VIRQ_DM_NMI, false, false, false, 1, 0x41, 1, VIRQ_IR_REMAPPED, 0 },
		{ VIRQ_DM_SMI, false, false, false, 1, 0x41, 1, VIRQ_IR_REMAPPED, 0 },
		{ VIRQ_DM_INIT, false, false, false, 1, 0x41, 1, VIRQ_IR_REMAPPED, 0 },
		{ VIRQ_DM_EXTINT, false, false, false, 1, 0x41, 1, VIRQ_IR_REMAPPED, 0 },
		{ VIRQ_DM_STARTUP, false, false, false, 1, 0x41, 1, VIRQ_IR_REMAPPED, 0 },
		{ VIRQ_DM_RESERVED3, false, false, false, 1, 0x41, 1, VIRQ_IR_REMAPPED, 0 },
		{ VIRQ_DM_FIXED, false, true, false, 1, 0x41, 1, VIRQ_IR_REMAPPED, 0 },
		{ VIRQ_DM_FIXED, false, false, false, 1, 0x0F, 1, VIRQ_IR_REMAPPED, 0 },
		/* lookup failure: returned unchanged */
		{ VIRQ_DM_FIXED, false, false, false, 1, 0x41, -VIRQ_ENOENT, -VIRQ_ENOENT, 1 },
	};
	struct virq_irte_host h = host_settings();
	uint64_t posted[2], remapped[2];

	(void)state;
	fake_pda = 0x2040;
	assert_int_equal(virq_irte_posted(&h, 0x2040, 0x41, posted), 0);
	assert_int_equal(posted[0], 0x0000204000418001ULL);
	assert_int_equal(posted[1], 0x0000000000040310ULL);
	assert_int_equal(virq_irte_remapped(&h, remapped), 0);
	assert_int_equal(remapped[0], 0x0000070000310001ULL);
	assert_int_equal(remapped[1], 0x0000000000040310ULL);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct compose_case *c = &cases[i];
		struct virq_apic_msg msg;
		uint64_t e[2] = { 0xAAAA, 0xBBBB };
		int rc;

		memset(&msg, 0, sizeof(msg));
		msg.dest = c->dest;
		msg.vector = c->vector;
		msg.delivery = c->delivery;
		msg.logical = c->logical;
		msg.trigger_level = c->trigger_level;
		msg.level = true;
		msg.x2apic = c->x2apic;
		msg.src = VIRQ_MSG_SRC_NONE;
		fake_n = c->lookup_n;
		fake_calls = 0;
		rc = virq_irte_compose(&h, &msg, fake_lookup, NULL, e);
		print_message("case %zu: rc %d calls %u\n", i, rc, fake_calls);
		assert_int_equal(rc, c->kind);
		assert_int_equal(fake_calls, c->calls);
		if (rc == VIRQ_IR_POSTED) {
			assert_int_equal(e[0], posted[0]);
			assert_int_equal(e[1], posted[1]);
		} else if (rc == VIRQ_IR_REMAPPED) {
			assert_int_equal(e[0], remapped[0]);
			assert_int_equal(e[1], remapped[1]);
		} else {
			assert_int_equal(e[0], 0xAAAA);
			assert_int_equal(e[1], 0xBBBB);
		}
	}

	/* One vCPU whose descriptor address is misaligned: refused. */
	{
		struct virq_apic_msg msg;
		uint64_t e[2] = { 0xAAAA, 0xBBBB };

		memset(&msg, 0, sizeof(msg));
		msg.dest = 1;
		msg.vector = 0x41;
		msg.level = true;
		fake_n = 1;
		fake_pda = 0x2048;
		assert_int_equal(virq_irte_compose(&h, &msg, fake_lookup, NULL, e), -VIRQ_EINVAL);
		assert_int_equal(e[0], 0xAAAA);
	}
}

/* ---- the update of a live entry ---- */

static void test_update_paths(void **state)
{
	uint64_t *live = &W.irt[IRTE_INDEX * 2];
	const uint64_t a[2] = { 0x34567FC00041C003ULL, 0x0000001200050310ULL };
	const uint64_t b[2] = { 0x0000010000528001ULL, 0x0000001400050310ULL };
	const uint64_t a_lo_only[2] = { 0x34567FC00042C003ULL, 0x0000001200050310ULL };
	const uint64_t a_hi_only[2] = { 0x34567FC00042C003ULL, 0x0000001300050310ULL };
	const uint64_t off[2] = { 0, 0 };

	(void)state;
	/* Not present -> present. */
	assert_int_equal(virq_irte_update(live, a, IRTE_INDEX, w_inval, NULL), 0);
	assert_int_equal(live[0], a[0]);
	assert_int_equal(live[1], a[1]);
	assert_int_equal(W.invalidations, 1);
	assert_int_equal(W.inval_index, IRTE_INDEX);
	assert_int_equal(W.seen_at_inval[0], a[0]);
	assert_int_equal(W.seen_at_inval[1], a[1]);
	/* Same value: nothing written, no invalidation. */
	assert_int_equal(virq_irte_update(live, a, IRTE_INDEX, w_inval, NULL), VIRQ_IRTE_UNCHANGED);
	assert_int_equal(W.invalidations, 1);
	/* Low half only, then high half only. */
	assert_int_equal(virq_irte_update(live, a_lo_only, IRTE_INDEX, w_inval, NULL), 0);
	assert_int_equal(W.seen_at_inval[0], a_lo_only[0]);
	assert_int_equal(W.seen_at_inval[1], a_lo_only[1]);
	assert_int_equal(virq_irte_update(live, a_hi_only, IRTE_INDEX, w_inval, NULL), 0);
	assert_int_equal(W.seen_at_inval[0], a_hi_only[0]);
	assert_int_equal(W.seen_at_inval[1], a_hi_only[1]);
	/* Both halves (CMPXCHG16B on x86-64). */
	assert_int_equal(virq_irte_update(live, b, IRTE_INDEX, w_inval, NULL), 0);
	assert_int_equal(W.seen_at_inval[0], b[0]);
	assert_int_equal(W.seen_at_inval[1], b[1]);
	assert_int_equal(W.invalidations, 4);
	/* Present -> not present. */
	assert_int_equal(virq_irte_update(live, off, IRTE_INDEX, w_inval, NULL), 0);
	assert_int_equal(live[0], 0);
	assert_int_equal(live[1], 0);
	assert_int_equal(W.invalidations, 5);

	/* Bad input: nothing written, nothing invalidated. */
	assert_int_equal(virq_irte_update(live + 1, a, IRTE_INDEX, w_inval, NULL), -VIRQ_EALIGN);
	assert_int_equal(virq_irte_update(NULL, a, IRTE_INDEX, w_inval, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_irte_update(live, NULL, IRTE_INDEX, w_inval, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_irte_update(live, a, IRTE_INDEX, NULL, NULL), -VIRQ_EINVAL);
	assert_int_equal(live[0], 0);
	assert_int_equal(live[1], 0);
	assert_int_equal(live[2], 0);
	assert_int_equal(W.invalidations, 5);
}

#if defined(__x86_64__)
/*
 * The IOMMU reads an entry as one 128-bit access. A reader thread does
 * exactly that (LOCK CMPXCHG16B with equal old and new values) while the
 * writer flips the entry between two present values that differ in both
 * halves: every read must be one of the two.
 */
struct flip {
	uint64_t e[2] __attribute__((aligned(16)));
	const uint64_t *a, *b;
	volatile int stop;
	unsigned long reads, torn, saw_a, saw_b;
};

static void read128(uint64_t *p, uint64_t out[2])
{
	uint64_t lo = 0, hi = 0;

	__asm__ __volatile__("lock cmpxchg16b %0"
			     : "+m"(*(volatile uint64_t(*)[2])p), "+a"(lo), "+d"(hi)
			     : "b"(0ULL), "c"(0ULL)
			     : "memory", "cc");
	out[0] = lo;
	out[1] = hi;
}

static void *flip_reader(void *arg)
{
	struct flip *f = arg;
	uint64_t v[2];

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		read128(f->e, v);
		if (v[0] == f->a[0] && v[1] == f->a[1])
			__atomic_fetch_add(&f->saw_a, 1, __ATOMIC_RELAXED);
		else if (v[0] == f->b[0] && v[1] == f->b[1])
			__atomic_fetch_add(&f->saw_b, 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&f->torn, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&f->reads, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Flips until the reader has read @want times and seen both values. */
static unsigned long flip_run(struct flip *f, void (*write)(struct flip *, const uint64_t *),
			      unsigned long want)
{
	pthread_t t;
	unsigned long flips = 0;

	f->stop = 0;
	f->reads = f->torn = f->saw_a = f->saw_b = 0;
	f->e[0] = f->a[0];
	f->e[1] = f->a[1];
	assert_int_equal(pthread_create(&t, NULL, flip_reader, f), 0);
	while (__atomic_load_n(&f->reads, __ATOMIC_ACQUIRE) < want ||
	       !__atomic_load_n(&f->saw_a, __ATOMIC_RELAXED) ||
	       !__atomic_load_n(&f->saw_b, __ATOMIC_RELAXED)) {
		write(f, (flips & 1) ? f->a : f->b);
		flips++;
	}
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	return flips;
}

static unsigned long g_inval;
static void nop_inval(void *ctx, uint32_t index)
{
	(void)index;
	(*(unsigned long *)ctx)++;
}

static void write_lib(struct flip *f, const uint64_t *val)
{
	assert_int_equal(virq_irte_update(f->e, val, 0, nop_inval, &g_inval), 0);
}

/* What virq_irte_update() must not do: two 64-bit stores (a control that
 * shows the reader can see a torn entry; its count is printed, not pinned,
 * since it depends on the two threads overlapping). */
static void write_halves(struct flip *f, const uint64_t *val)
{
	__atomic_store_n(&f->e[0], val[0], __ATOMIC_SEQ_CST);
	__atomic_store_n(&f->e[1], val[1], __ATOMIC_SEQ_CST);
}

static void test_update_never_torn(void **state)
{
	static const uint64_t a[2] = { 0x34567FC00041C003ULL, 0x0000001200050310ULL };
	static const uint64_t b[2] = { 0x0000010000528001ULL, 0x0000001300050310ULL };
	static struct flip f;
	unsigned long flips;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.a = a;
	f.b = b;
	g_inval = 0;
	flips = flip_run(&f, write_lib, 200000);
	print_message("library: flips %lu, reads %lu (a/b %lu/%lu), torn %lu\n", flips, f.reads,
		      f.saw_a, f.saw_b, f.torn);
	assert_int_equal(f.torn, 0);
	assert_int_equal(f.saw_a + f.saw_b, f.reads);
	assert_int_equal(g_inval, flips);

	flips = flip_run(&f, write_halves, 200000);
	print_message("control (two stores): flips %lu, reads %lu (a/b %lu/%lu), torn %lu\n", flips,
		      f.reads, f.saw_a, f.saw_b, f.torn);
}
#endif

/* ---- closed loop: library + model ---- */

/* The device's MSI through the posted IRTE: the model posts, the LAPIC sees it once. */
static void test_closed_loop_post(void **state)
{
	int got[8];

	(void)state;
	assert_int_equal(guest_programs(0, 0x41, false, 0), VIRQ_IR_POSTED);
	assert_int_equal(W.irt[IRTE_INDEX * 2], ((pda_of(0) >> 6) << 38) | 0x418001ULL);
	assert_int_equal(W.irt[IRTE_INDEX * 2 + 1], 0x0000000000040310ULL);

	assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
	/* The library's descriptor holds what the model wrote. */
	assert_int_equal(W.mem.apic[0].pi.pir[1], 1ULL << 1);
	assert_true(W.mem.apic[0].pi.control & VIRQ_PI_CTRL_ON);
	assert_int_equal(W.log.n, 1);
	assert_notify(0, HOST_CPU_A);
	/* A second MSI before the owner syncs: PIR bit already set, ON set: no notification. */
	assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
	assert_int_equal(W.log.n, 1);

	assert_int_equal(drain(0, got, 8), 1);
	assert_int_equal(got[0], 0x41);
	assert_int_equal(drain(1, got, 8), 0);
	assert_false(W.mem.apic[0].pi.control & VIRQ_PI_CTRL_ON);
	assert_int_equal(W.mem.apic[0].pi.pir[1], 0);

	/* After the harvest the next MSI notifies again. */
	assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
	assert_int_equal(W.log.n, 2);
	assert_notify(1, HOST_CPU_A);
	assert_int_equal(drain(0, got, 8), 1);
	assert_int_equal(got[0], 0x41);
}

/*
 * The guest retargets the MSI from vCPU 0 (vector 0x41) to vCPU 1 (vector
 * 0x52) while the device keeps firing: for every position of the
 * reprogramming in a run of device interrupts, what was posted before the
 * switch is in the old descriptor and acknowledged by vCPU 0 exactly once,
 * what came after is in the new one and acknowledged by vCPU 1 exactly
 * once, and each descriptor raised exactly one notification to its own
 * host CPU.
 */
static void test_closed_loop_retarget(void **state)
{
	const unsigned run = 6;

	(void)state;
	for (unsigned k = 0; k <= run; k++) {
		int got[8];
		unsigned na, nb;

		world_setup(NULL);
		assert_int_equal(guest_programs(0, 0x41, false, 0), VIRQ_IR_POSTED);
		for (unsigned i = 0; i < run; i++) {
			if (i == k)
				assert_int_equal(guest_programs(1, 0x52, false, 0), VIRQ_IR_POSTED);
			assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
		}
		if (k == run)
			assert_int_equal(guest_programs(1, 0x52, false, 0), VIRQ_IR_POSTED);
		/* The reprogramming rewrote both halves only when PDA[63:32]
		 * differs; here it is the low half: one invalidation per install. */
		assert_int_equal(W.invalidations, 2);
		assert_int_equal(W.irt[IRTE_INDEX * 2], ((pda_of(1) >> 6) << 38) | 0x528001ULL);

		assert_int_equal(W.mem.apic[0].pi.pir[1], k > 0 ? 1ULL << 1 : 0);
		assert_int_equal(W.mem.apic[1].pi.pir[1], k < run ? 1ULL << 0x12 : 0);
		assert_int_equal(W.log.n, (k > 0) + (k < run));
		if (k > 0)
			assert_notify(0, HOST_CPU_A);
		if (k < run)
			assert_notify(k > 0 ? 1 : 0, HOST_CPU_B);

		na = drain(0, got, 8);
		assert_int_equal(na, k > 0 ? 1 : 0);
		if (na)
			assert_int_equal(got[0], 0x41);
		nb = drain(1, got, 8);
		assert_int_equal(nb, k < run ? 1 : 0);
		if (nb)
			assert_int_equal(got[0], 0x52);
	}
}

/* SN set while vCPU 0 is preempted: a non-urgent post sets PIR only; the
 * notification comes when SN is cleared (virq_pi_set_sn). */
static void test_closed_loop_suppressed(void **state)
{
	int got[8];

	(void)state;
	assert_int_equal(guest_programs(0, 0x41, false, 0), VIRQ_IR_POSTED);
	assert_false(virq_pi_set_sn(&W.mem.apic[0].pi, true));
	assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
	assert_int_equal(W.log.n, 0);
	assert_false(W.mem.apic[0].pi.control & VIRQ_PI_CTRL_ON);
	assert_int_equal(W.mem.apic[0].pi.pir[1], 1ULL << 1);
	assert_true(virq_pi_set_sn(&W.mem.apic[0].pi, false));
	assert_true(W.mem.apic[0].pi.control & VIRQ_PI_CTRL_ON);
	assert_int_equal(drain(0, got, 8), 1);
	assert_int_equal(got[0], 0x41);
}

/* URG: the IRTE built with virq_irte_host::urgent notifies despite SN. */
static void test_closed_loop_urgent(void **state)
{
	struct virq_irte_host h = host_settings();
	uint64_t e[2];
	int got[8];

	(void)state;
	h.urgent = true;
	assert_int_equal(virq_irte_posted(&h, pda_of(1), 0x61, e), 0);
	assert_int_equal(virq_irte_update(&W.irt[IRTE_INDEX * 2], e, IRTE_INDEX, w_inval, NULL), 0);
	assert_false(virq_pi_set_sn(&W.mem.apic[1].pi, true));
	assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
	assert_int_equal(W.log.n, 1);
	assert_notify(0, HOST_CPU_B);
	assert_true(W.mem.apic[1].pi.control & VIRQ_PI_CTRL_SN);
	assert_int_equal(drain(1, got, 8), 1);
	assert_int_equal(got[0], 0x61);
}

/* Retarget to a multicast: the entry falls back to remapped format; the
 * model's IOMMU posts nothing and both descriptors stay empty. Back to a
 * single vCPU: posted again. */
static void test_closed_loop_fallback(void **state)
{
	int got[8];

	(void)state;
	/* Flat logical model: LDR bit 0 for vCPU 0, bit 1 for vCPU 1. */
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(virq_lapic_mmio_write(&W.mem.apic[i], 0xD0, 4, (1U << i) << 24),
				 0);
	assert_int_equal(guest_programs(1, 0x41, false, 0), VIRQ_IR_POSTED);
	assert_int_equal(guest_programs(0x03, 0x41, true, 0), VIRQ_IR_REMAPPED);
	assert_int_equal(W.irt[IRTE_INDEX * 2], 0x0000070000310001ULL);
	assert_int_equal(device_fires(), VMX_MODEL_VTD_REMAPPED);
	assert_false(virq_pi_pending(&W.mem.apic[0].pi));
	assert_false(virq_pi_pending(&W.mem.apic[1].pi));
	assert_int_equal(W.log.n, 0);
	/* Lowest priority to one logical vCPU: posted into vCPU 1's descriptor. */
	assert_int_equal(guest_programs(0x02, 0x43, true, 1), VIRQ_IR_POSTED);
	assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
	assert_notify(0, HOST_CPU_B);
	assert_int_equal(drain(1, got, 8), 1);
	assert_int_equal(got[0], 0x43);
	assert_int_equal(drain(0, got, 8), 0);
}

/* The guest runs its own (virtual) VT-d: its remapped entry names vCPU 1,
 * vector 0x55. The decoded message after the guest's remapping
 * (virq_ir_translate) is what the host entry is composed from. */
static uint64_t guest_irte[2];
static int read_guest(void *ctx, uint32_t index, uint64_t irte[2])
{
	(void)ctx;
	if (index != 9)
		return -1;
	irte[0] = guest_irte[0];
	irte[1] = guest_irte[1];
	return 0;
}

static void test_closed_loop_guest_remapped(void **state)
{
	struct virq_ir_config cfg = { sizeof(cfg), 256, false, false, false, 0 };
	struct virq_irte_host h = host_settings();
	struct virq_ir_result r;
	uint64_t e[2];
	int got[8];

	(void)state;
	/* Guest IRTE 9: P, vector 0x55, physical, fixed, edge, DST[15:8] = 1. */
	guest_irte[0] = 1ULL | 0x55ULL << 16 | 0x01ULL << 40;
	guest_irte[1] = 0;
	/* Guest MSI: remappable format, handle 9. */
	assert_int_equal(virq_ir_translate(&cfg, 0xFEE00000ULL | 9U << 5 | 0x10U, 0, 0x0310,
					   read_guest, NULL, &r),
			 0);
	assert_int_equal(r.kind, VIRQ_IR_REMAPPED);
	assert_int_equal(virq_irte_compose(&h, &r.msg, w_lookup, NULL, e), VIRQ_IR_POSTED);
	assert_int_equal(e[0], ((pda_of(1) >> 6) << 38) | 0x558001ULL);
	assert_int_equal(virq_irte_update(&W.irt[IRTE_INDEX * 2], e, IRTE_INDEX, w_inval, NULL), 0);
	assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
	assert_int_equal(W.log.n, 1);
	assert_notify(0, HOST_CPU_B);
	assert_int_equal(drain(1, got, 8), 1);
	assert_int_equal(got[0], 0x55);
	assert_int_equal(drain(0, got, 8), 0);
}

/*
 * vCPU 0 runs in VMX non-root operation on host CPU 3 with posted-interrupt
 * processing (the model processor, its descriptor the LAPIC's
 * virq_lapic::pi); vCPU 1 is not running. The device fires twice into
 * vCPU 0, the guest retargets to vCPU 1, the device fires again: the
 * processor takes each notification, moves the library's PIR to its VIRR
 * and delivers 0x41 twice through the guest IDT, once per notification;
 * 0x52 lands in vCPU 1's descriptor only and its LAPIC acknowledges it once.
 */
static struct vmx_model_cpu cpu_a;

static void test_closed_loop_cpu_consumes(void **state)
{
	struct vmx_model_cpu *c = &cpu_a;
	int got[8];

	(void)state;
	vmx_model_init(c, &W.sys);
	c->vid = true;
	c->posted = true;
	c->nv = NV_POSTED;
	c->pid_addr = pda_of(0);
	c->rflags_if = true;
	assert_int_equal(vmx_model_vmentry(c), 0);

	assert_int_equal(guest_programs(0, 0x41, false, 0), VIRQ_IR_POSTED);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
		assert_int_equal(W.log.n, i + 1);
		assert_notify(i, HOST_CPU_A);
		assert_int_equal(vmx_model_ext_intr(c, (uint8_t)W.log.ev[i].a), 0);
		/* The processor cleared ON and took the PIR of the library's descriptor. */
		assert_false(virq_pi_pending(&W.mem.apic[0].pi));
		assert_int_equal(vmx_model_boundary(c), 1);
		assert_int_equal(vmx_model_boundary(c), 0);
		assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), 0);
	}
	assert_int_equal(guest_programs(1, 0x52, false, 0), VIRQ_IR_POSTED);
	assert_int_equal(device_fires(), VMX_MODEL_VTD_POSTED);
	assert_int_equal(W.log.n, 3);
	assert_notify(2, HOST_CPU_B);
	assert_int_equal(vmx_model_boundary(c), 0);

	/* The processor's record: 0x41 delivered twice, nothing else but the
	 * two LAPIC EOIs of the notifications. */
	{
		unsigned delivered = 0, eois = 0;

		assert_int_equal(c->log.lost, 0);
		for (unsigned i = 0; i < c->log.n; i++) {
			if (c->log.ev[i].kind == VMX_MODEL_EV_DELIVER) {
				assert_int_equal(c->log.ev[i].a, 0x41);
				delivered++;
			} else {
				assert_int_equal(c->log.ev[i].kind, VMX_MODEL_EV_LAPIC_EOI);
				eois++;
			}
		}
		assert_int_equal(delivered, 2);
		assert_int_equal(eois, 2);
	}
	assert_int_equal(drain(0, got, 8), 0);
	assert_int_equal(drain(1, got, 8), 1);
	assert_int_equal(got[0], 0x52);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_posted_fields_exact, world_setup),
		cmocka_unit_test_setup(test_decoder_agrees, world_setup),
		cmocka_unit_test_setup(test_bad_input, world_setup),
		cmocka_unit_test_setup(test_compose_cases, world_setup),
		cmocka_unit_test_setup(test_update_paths, world_setup),
#if defined(__x86_64__)
		cmocka_unit_test_setup(test_update_never_torn, world_setup),
#endif
		cmocka_unit_test_setup(test_closed_loop_post, world_setup),
		cmocka_unit_test_setup(test_closed_loop_retarget, world_setup),
		cmocka_unit_test_setup(test_closed_loop_suppressed, world_setup),
		cmocka_unit_test_setup(test_closed_loop_urgent, world_setup),
		cmocka_unit_test_setup(test_closed_loop_fallback, world_setup),
		cmocka_unit_test_setup(test_closed_loop_guest_remapped, world_setup),
		cmocka_unit_test_setup(test_closed_loop_cpu_consumes, world_setup),
	};

	return virq_run_group_tests(tests);
}
