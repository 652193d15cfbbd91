/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: one LAPIC driven by a stream of (op, args) records that
 * map to the public API, checked after every op.
 *
 * Input: a HDR_SIZE-byte header (decode_config: capabilities, optional
 * hooks, ID, timer clock, TSC rate, start time), then records of one op
 * byte (taken modulo OP_COUNT) and fixed-size arguments (see decode_op).
 * Bytes past the end read as 0. The embedder is simulated: the host clock
 * and the guest TSC move only when an op moves them, the host timer is a
 * recorded deadline, IPIs may loop back to this APIC like a router would.
 *
 * After every op (a failed check prints the line and traps):
 *  - lapic_check_invariants() == 0, and the register page read directly:
 *    no IRR/ISR/TMR bit below 16, PPR = f(TPR, highest ISR) as SDM
 *    10.8.3.1 "Task and Processor Priorities" defines it, reserved slots
 *    and bytes 4-15 of every slot 0, the version, DFR, ESR, SVR and
 *    x2APIC ID/LDR as the config says;
 *  - save -> restore into a scratch LAPIC -> save gives identical bytes, the
 *    same register page, and the saved timer matches the host timer the
 *    embedder holds: after every owner op that changed what the embedder
 *    sees, and every 8th owner op otherwise (every owner op while a twin
 *    runs in lockstep, whose saves must match; never after the any-thread
 *    ops, so posts can pile up before a sync; header byte 1 bit 4 limits
 *    it to the explicit round_trip op);
 *  - per op, a small model written from the SDM: MMIO/MSR values
 *    and #GP verdicts, which registers a write may change, APIC base
 *    transitions, CR8, acceptance of a posted vector, pending/ack (the
 *    acked vector's class was above the PPR read before, it is now in ISR),
 *    EOI (highest ISR bit, level EOI broadcast, the LINT Remote IRR of the
 *    vector the entry delivered cleared whatever the entry holds now),
 *    events after INIT (ExtINT while LINT0 or LINT1 is asserted into an
 *    ExtINT entry), NMIs counted (1 or 2 with the flag, at least the NMI
 *    messages accepted since the last take, up to two), timer expiry
 *    (fires when due, a TSC deadline at the host deadline converted at
 *    arming or once the guest TSC reached it, never re-arms in the
 *    past, a periodic timer not more often than the configured floor,
 *    chosen by header byte 1 bits 7:6), match_dest, a damaged state
 *    refused without side effects;
 *  - callbacks: timer deadlines never in the past (and strictly in the
 *    future when re-armed by an expiry), guest error codes in range, IPIs
 *    well formed, dest_changed after every ID/LDR/DFR/mode change; the
 *    any-thread PPR and enable snapshots agree with the page;
 *  - after an explicit save/restore op a second LAPIC, restored from the
 *    first, runs every later op in lockstep and must give the same answers,
 *    register page and host timer.
 *  - hardware acceleration (lapic.h, virq_lapic_accel): set_accel picks a
 *    mode; hw makes a change the CPU may make in that mode between two
 *    calls (deliver RVI above VPPR into ISR, retire SVI by EOI
 *    virtualization, exiting when it is in the EOI-exit bitmap, write
 *    VTPR, a self IPI or PIR into VIRR), then resyncs and checks the page,
 *    the level EOI broadcast and the LINT Remote IRR against the model;
 *    or writes junk into the CPU's fields (invariants only); hw_query
 *    checks RVI, SVI, the TPR threshold's exit rule and the EOI-exit
 *    bitmap from their definitions. After every op: SVI, and a new
 *    bitmap generation whenever the bitmap changed.
 *
 * Set FUZZ_LAPIC_TRACE=1 in the environment to print the decoded ops.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virq/lapic.h>

#include "lapic/lapic_priv.h"
#include "../fuzz_common.h"

/* ---- checks ---- */

static bool g_trace;

#define TRACE(...)                                                                                 \
	do {                                                                                       \
		if (g_trace)                                                                       \
			fprintf(stderr, __VA_ARGS__);                                              \
	} while (0)

/* ---- the simulated embedder ---- */

struct world {
	uint64_t now; /* host ns; only ops move it */
	uint64_t tsc; /* guest TSC returned by ops->guest_tsc */
};

struct env {
	struct world *w;
	struct virq_lapic *lapic;
	bool loopback;   /* post IPIs that match this APIC back to it */
	bool in_expired; /* inside virq_lapic_timer_expired() */
	bool in_restore; /* inside virq_lapic_restore() */
	bool by_restore; /* host deadline set by a restore: maybe not on the period grid */
	bool host_armed; /* the host timer as the embedder holds it */
	uint64_t host_deadline;
	unsigned kicks, arms, cancels;
	/* Per op, compared between lockstep twins. */
	uint64_t log; /* hash of eoi_level, send_ipi and guest_error calls */
	unsigned n_eoi;
	uint8_t eoi_vec;
	uint32_t gerr; /* bit per guest error code seen */
	unsigned dest_changes;
	/* NMI messages this APIC accepted (posted while globally enabled)
	 * since events were last taken, discarded or replaced: the next
	 * take_events that reports NMIs counts at least min(nmi_msgs, 2). */
	unsigned nmi_msgs;
};

static void log_add(struct env *e, uint64_t x)
{
	e->log = (e->log ^ x) * 0x100000001B3ULL;
}

static struct env *env_of(void *ctx)
{
	return (struct env *)ctx;
}

static void cb_kick(void *ctx)
{
	env_of(ctx)->kicks++;
}

static uint64_t cb_now(void *ctx)
{
	return env_of(ctx)->w->now;
}

static uint64_t cb_guest_tsc(void *ctx)
{
	return env_of(ctx)->w->tsc;
}

static void cb_timer_arm(void *ctx, uint64_t deadline)
{
	struct env *e = env_of(ctx);

	/* timer.c arms now + a non-negative delay, or re-arms a deadline it
	 * keeps; a timer that expires re-arms strictly in the future (no
	 * interrupt storm). */
	CHECK(deadline >= e->w->now);
	if (e->in_expired)
		CHECK(deadline > e->w->now);
	e->host_armed = true;
	e->host_deadline = deadline;
	e->by_restore = e->in_restore;
	e->arms++;
}

static void cb_timer_cancel(void *ctx)
{
	struct env *e = env_of(ctx);

	e->host_armed = false;
	e->cancels++;
}

static void cb_eoi_level(void *ctx, uint8_t vector)
{
	struct env *e = env_of(ctx);

	CHECK(vector >= 16);
	e->n_eoi++;
	e->eoi_vec = vector;
	log_add(e, 0xE0100U | vector);
}

static void cb_guest_error(void *ctx, enum virq_guest_error code)
{
	struct env *e = env_of(ctx);

	CHECK((int)code >= 1 && (int)code < VIRQ_GERR_COUNT);
	e->gerr |= 1U << code;
	log_add(e, 0x6E000U | (uint32_t)code);
}

static void cb_dest_changed(void *ctx)
{
	env_of(ctx)->dest_changes++;
}

static void cb_send_ipi(void *ctx, const struct virq_apic_msg *m)
{
	struct env *e = env_of(ctx);
	enum virq_lapic_mode mode = virq_lapic_get_mode(e->lapic);
	bool x2 = mode == VIRQ_LAPIC_MODE_X2APIC;

	/* SDM Table 10-3 "Valid Combinations for the Pentium 4 and Intel
	 * Xeon Processors' Local xAPIC Interrupt Command Register": what
	 * the ICR may send; self IPIs stay local. */
	CHECK(m->shorthand <= VIRQ_SH_ALL_EXCL_SELF && m->shorthand != VIRQ_SH_SELF);
	CHECK(m->delivery != VIRQ_DM_RESERVED3 && m->delivery != VIRQ_DM_EXTINT &&
	      m->delivery <= VIRQ_DM_EXTINT);
	if (m->shorthand == VIRQ_SH_ALL_INCL_SELF)
		CHECK(m->delivery == VIRQ_DM_FIXED);
	if (m->delivery == VIRQ_DM_LOWEST)
		CHECK(!x2);
	if (m->delivery == VIRQ_DM_FIXED || m->delivery == VIRQ_DM_LOWEST)
		CHECK(m->vector >= 16);
	CHECK(m->level && !m->trigger_level && m->reserved0 == 0);
	CHECK(m->x2apic == x2);
	CHECK(m->src == virq_lapic_get_id(e->lapic));
	if (m->shorthand != VIRQ_SH_NONE)
		CHECK(!m->logical && m->dest == (x2 ? 0xFFFFFFFFU : 0xFFU));
	else if (!x2)
		CHECK(m->dest <= 0xFFU);
	log_add(e, 0x1B1000000ULL ^ ((uint64_t)m->dest << 24) ^ ((uint64_t)m->vector << 8) ^
			   (uint64_t)m->delivery ^ ((uint64_t)m->shorthand << 4) ^
			   ((uint64_t)m->logical << 6));

	/* A router delivers to every matching APIC, this one included. */
	if (e->loopback && (m->shorthand == VIRQ_SH_ALL_INCL_SELF ||
			    (m->shorthand == VIRQ_SH_NONE &&
			     virq_lapic_match_dest(e->lapic, m->dest, m->logical)))) {
		if (m->delivery == VIRQ_DM_NMI)
			e->nmi_msgs++; /* the sender is enabled */
		virq_lapic_post_msg(e->lapic, m);
	}
}

/* ---- instances ---- */

struct inst {
	struct virq_lapic lapic;
	struct env env;
	uint32_t *page;
	const char *name;
	/* Shadows kept by the model: the vector each LINT entry delivered
	 * while its Remote IRR is set (-1: clear), and the pin levels. */
	int rirr_vec[2]; /* -2: delivered with one of two vectors, unknown which */
	bool pin_level[2];
	/* The LINT entries and IRR | ISR as the previous op left them. */
	uint32_t prev_lvt[2];
	uint32_t prev_vecs[8];
	/* The EOI-exit bitmap and its generation as the previous op left them. */
	uint64_t prev_bm[4];
	uint32_t prev_gen;
};

static _Alignas(4096) uint32_t g_pages[3][1024];
static struct inst g_inst[3];

struct fuzz {
	struct world w;
	struct virq_lapic_config cfg; /* as given to init */
	struct virq_lapic_config eff; /* defaults applied */
	struct virq_lapic_ops ops;
	bool loopback;
	bool lazy;     /* round trip only on the explicit op */
	bool lockstep; /* b mirrors a */
	struct inst *a, *b, *c;
	uint64_t rsvd_slots; /* bit SLOT(off): a slot that always reads 0 */
};

/* ---- register page helpers (the page is readable at will) ---- */

#define SLOT(off) ((off) >> 4)

static uint32_t pg(const struct inst *x, uint32_t off)
{
	return x->page[off >> 2];
}

static int vec_highest(const struct inst *x, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = pg(x, base + 16U * (uint32_t)i);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

static bool vec_test(const struct inst *x, uint32_t base, unsigned v)
{
	return (pg(x, base + 16U * (v >> 5)) >> (v & 31U)) & 1U;
}

static bool vec_equal(const struct inst *x, const uint32_t *before, uint32_t base)
{
	for (uint32_t i = 0; i < 8; i++)
		if (pg(x, base + 16U * i) != before[(base >> 2) + 4U * i])
			return false;
	return true;
}

/* SDM 10.8.3.1 "Task and Processor Priorities". */
static uint32_t ppr_def(uint32_t tpr, int isrv)
{
	uint32_t isrv_u = isrv < 0 ? 0 : (uint32_t)isrv;

	if ((tpr >> 4) >= (isrv_u >> 4))
		return tpr & 0xFFU;
	return isrv_u & 0xF0U;
}

static enum virq_lapic_mode mode_of(const struct inst *x)
{
	return virq_lapic_get_mode(&x->lapic);
}

/* Accepts fixed interrupts: globally and software enabled. */
static bool is_active(const struct inst *x)
{
	return mode_of(x) != VIRQ_LAPIC_MODE_DISABLED && (pg(x, VIRQ_LAPIC_REG_SVR) & 0x100U);
}

static bool has_cmci(const struct fuzz *f)
{
	return f->eff.max_lvt >= 6;
}

static uint32_t x2apic_ldr_def(uint32_t id)
{
	return ((id >> 4) << 16) | (1U << (id & 0xFU));
}

/* Bits an LVT keeps from a write (SDM 10.5.1 "Local Vector Table"; DS and RIRR are RO). */
static uint32_t lvt_writable(const struct fuzz *f, uint32_t off)
{
	switch (off) {
	case VIRQ_LAPIC_REG_LVT_TIMER:
		return 0x100FFU | (1U << 17) | (f->cfg.tsc_deadline ? 1U << 18 : 0);
	case VIRQ_LAPIC_REG_LVT_LINT0:
	case VIRQ_LAPIC_REG_LVT_LINT1:
		return 0x1A7FFU;
	case VIRQ_LAPIC_REG_LVT_ERROR:
		return 0x100FFU;
	default:
		return 0x107FFU;
	}
}

static bool is_lvt(const struct fuzz *f, uint32_t off)
{
	if (off == VIRQ_LAPIC_REG_LVT_CMCI)
		return has_cmci(f);
	return off >= VIRQ_LAPIC_REG_LVT_TIMER && off <= VIRQ_LAPIC_REG_LVT_ERROR;
}

static uint32_t timer_mode(const struct inst *x)
{
	return (pg(x, VIRQ_LAPIC_REG_LVT_TIMER) >> 17) & 3U;
}

static uint32_t svr_writable(const struct fuzz *f)
{
	return 0x3FFU | (f->cfg.directed_eoi ? VIRQ_LAPIC_SVR_EOI_SUPPRESS : 0);
}

/* The guest TSC the LAPIC sees now. */
static uint64_t guest_tsc_now(const struct fuzz *f)
{
	uint64_t ns = f->w.now;

	if (f->ops.guest_tsc)
		return f->w.tsc;
	return (ns / 1000000000U) * f->cfg.tsc_khz * 1000U +
	       (ns % 1000000000U) * f->cfg.tsc_khz / 1000000U;
}

/* ---- whole-state checks ---- */

static bool slot_reserved(const struct fuzz *f, uint32_t off)
{
	switch (off) {
	case 0x000:
	case 0x010:
	case 0x040:
	case 0x050:
	case 0x060:
	case 0x070:
	case VIRQ_LAPIC_REG_APR:
	case VIRQ_LAPIC_REG_EOI:
	case VIRQ_LAPIC_REG_RRD:
	case VIRQ_LAPIC_REG_TMCCT: /* derived from the timer, never stored */
	case VIRQ_LAPIC_REG_SELF_IPI:
		return true;
	case VIRQ_LAPIC_REG_LVT_CMCI:
		return !has_cmci(f);
	default:
		return (off >= 0x290 && off <= 0x2E0) || (off >= 0x3A0 && off <= 0x3D0);
	}
}

/* Bytes 4-15 of every slot, the reserved slots and the page past 0x3FF are 0. */
static void check_page_zeros(const struct fuzz *f, const struct inst *x)
{
	const uint64_t *q = (const uint64_t *)x->page;
	uint64_t any = 0;

	for (uint32_t s = 0; s < 64; s++) {
		const uint32_t *w = &x->page[s * 4];

		any |= (uint64_t)(w[1] | w[2] | w[3]);
		if ((f->rsvd_slots >> s) & 1U)
			any |= w[0];
	}
	for (uint32_t i = 128; i < 512; i++)
		any |= q[i];
	CHECK(any == 0);
}

/* Vector @v in IRR or ISR now, or (@prev) as the previous op left them. */
static bool vec_pending(const struct inst *x, unsigned v, bool prev)
{
	if (prev)
		return (x->prev_vecs[v >> 5] >> (v & 31U)) & 1U;
	return vec_test(x, VIRQ_LAPIC_REG_IRR, v) || vec_test(x, VIRQ_LAPIC_REG_ISR, v);
}

static void remember_prev(struct inst *x)
{
	x->prev_lvt[0] = pg(x, VIRQ_LAPIC_REG_LVT_LINT0);
	x->prev_lvt[1] = pg(x, VIRQ_LAPIC_REG_LVT_LINT1);
	for (unsigned i = 0; i < 8; i++)
		x->prev_vecs[i] = pg(x, VIRQ_LAPIC_REG_IRR + 16 * i) |
				  pg(x, VIRQ_LAPIC_REG_ISR + 16 * i);
}

/*
 * The vector a LINT entry delivered in the last op, its Remote IRR newly
 * set: the entry's vector when it was accepted. A LINT change posted
 * earlier is applied when the owner syncs, which may be before the op's
 * own work (an LVT write): so the entry's vector before or after the op,
 * whichever newly appeared in IRR; -2 when both did or neither (a merge),
 * and the model cannot tell.
 */
static int delivered_vector(const struct inst *x, unsigned p, uint32_t lvt)
{
	unsigned now_v = lvt & 0xFFU, old_v = x->prev_lvt[p] & 0xFFU;
	bool now_new, old_new;

	if (now_v == old_v || !vec_pending(x, old_v, false))
		return (int)now_v;
	if (!vec_pending(x, now_v, false))
		return (int)old_v;
	now_new = !vec_pending(x, now_v, true);
	old_new = !vec_pending(x, old_v, true);
	if (now_new != old_new)
		return (int)(now_new ? now_v : old_v);
	return -2;
}

static void check_inst(const struct fuzz *f, struct inst *x)
{
	const struct virq_lapic *l = &x->lapic;
	enum virq_lapic_mode mode = mode_of(x);
	uint64_t base = virq_lapic_get_apic_base(l);
	uint32_t tpr = pg(x, VIRQ_LAPIC_REG_TPR);
	uint32_t ver, dfr;
	int inv = lapic_check_invariants(l);

	if (inv) {
		fprintf(stderr, "lapic_check_invariants(%s) = %d\n", x->name, inv);
		CHECK(inv == 0);
	}
	check_page_zeros(f, x);

	/* Vectors 0-15 never appear in IRR, ISR or TMR (SDM 10.5.2 "Valid Interrupt Vectors"). */
	CHECK((pg(x, VIRQ_LAPIC_REG_IRR) & 0xFFFFU) == 0);
	CHECK((pg(x, VIRQ_LAPIC_REG_ISR) & 0xFFFFU) == 0);
	CHECK((pg(x, VIRQ_LAPIC_REG_TMR) & 0xFFFFU) == 0);
	CHECK(tpr <= 0xFFU);
	CHECK(pg(x, VIRQ_LAPIC_REG_PPR) == ppr_def(tpr, vec_highest(x, VIRQ_LAPIC_REG_ISR)));
	CHECK(virq_lapic_get_cr8(l) == tpr >> 4);
	CHECK(virq_lapic_get_ppr(l) == pg(x, VIRQ_LAPIC_REG_PPR));
	CHECK(virq_lapic_accepts_fixed(l) == is_active(x));

	ver = f->eff.version | (uint32_t)f->eff.max_lvt << 16 |
	      (f->cfg.directed_eoi ? VIRQ_LAPIC_VERSION_EOI_SUPPRESS : 0);
	CHECK(pg(x, VIRQ_LAPIC_REG_VERSION) == ver);
	dfr = pg(x, VIRQ_LAPIC_REG_DFR);
	CHECK((dfr & 0x0FFFFFFFU) == 0x0FFFFFFFU);
	CHECK((pg(x, VIRQ_LAPIC_REG_ESR) & ~0xF0U) == 0);
	CHECK((pg(x, VIRQ_LAPIC_REG_SVR) & ~svr_writable(f)) == 0);
	CHECK((pg(x, VIRQ_LAPIC_REG_ICR_LO) & ~0xCCFFFU) == 0);
	CHECK((pg(x, VIRQ_LAPIC_REG_TDCR) & ~0xBU) == 0);
	CHECK(timer_mode(x) != 3U);
	for (uint32_t off = VIRQ_LAPIC_REG_LVT_CMCI; off <= VIRQ_LAPIC_REG_LVT_ERROR; off += 16) {
		uint32_t keep;

		if (!is_lvt(f, off))
			continue;
		keep = lvt_writable(f, off);
		if (off == VIRQ_LAPIC_REG_LVT_LINT0 || off == VIRQ_LAPIC_REG_LVT_LINT1)
			keep |= VIRQ_LVT_REMOTE_IRR;
		CHECK((pg(x, off) & ~keep) == 0);
	}

	/* IA32_APIC_BASE and the mode. */
	CHECK(!(base & VIRQ_APIC_BASE_BSP) == !f->cfg.bsp);
	CHECK((base & 0x2FFULL & ~VIRQ_APIC_BASE_BSP) == 0);
	CHECK((base >> f->eff.phys_addr_bits) == 0);
	if (!(base & VIRQ_APIC_BASE_EN))
		CHECK(mode == VIRQ_LAPIC_MODE_DISABLED && !(base & VIRQ_APIC_BASE_EXTD));
	else
		CHECK(mode == ((base & VIRQ_APIC_BASE_EXTD) ? VIRQ_LAPIC_MODE_X2APIC
							    : VIRQ_LAPIC_MODE_XAPIC));
	if (mode == VIRQ_LAPIC_MODE_X2APIC) {
		CHECK(f->cfg.x2apic);
		CHECK(pg(x, VIRQ_LAPIC_REG_ID) == f->cfg.apic_id);
		CHECK(pg(x, VIRQ_LAPIC_REG_LDR) == x2apic_ldr_def(f->cfg.apic_id));
		CHECK(virq_lapic_get_id(l) == f->cfg.apic_id);
	} else {
		CHECK(virq_lapic_get_id(l) == pg(x, VIRQ_LAPIC_REG_ID) >> 24);
	}
	if (mode != VIRQ_LAPIC_MODE_DISABLED) {
		CHECK(!x->env.host_armed || timer_mode(x) == VIRQ_LVT_TIMER_TSCDEADLINE ||
		      pg(x, VIRQ_LAPIC_REG_TMICT) != 0);
	} else {
		/* No APIC: no timer, no vectors (emptied by the global disable). */
		CHECK(!x->env.host_armed);
		CHECK(vec_highest(x, VIRQ_LAPIC_REG_IRR) < 0 &&
		      vec_highest(x, VIRQ_LAPIC_REG_ISR) < 0 &&
		      vec_highest(x, VIRQ_LAPIC_REG_TMR) < 0);
	}
	CHECK(virq_lapic_get_mp_state(l) == VIRQ_LAPIC_MP_RUNNABLE ||
	      virq_lapic_get_mp_state(l) == VIRQ_LAPIC_MP_WAIT_SIPI);
	/* The BSP never waits for a SIPI. */
	if (f->cfg.bsp)
		CHECK(virq_lapic_get_mp_state(l) == VIRQ_LAPIC_MP_RUNNABLE);
	/*
	 * Remote IRR of a LINT entry (SDM 10.5.1 "Local Vector Table"): set when the entry's
	 * interrupt is accepted, with the entry's vector at that moment; it
	 * stays with that interrupt (pending or in service) until its EOI, and
	 * a globally disabled APIC has none.
	 */
	for (unsigned p = 0; p < 2; p++) {
		uint32_t lvt = pg(x, p ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0);

		if (!(lvt & VIRQ_LVT_REMOTE_IRR)) {
			x->rirr_vec[p] = -1;
			continue;
		}
		CHECK(mode != VIRQ_LAPIC_MODE_DISABLED);
		if (x->rirr_vec[p] == -1)
			x->rirr_vec[p] = delivered_vector(x, p, lvt);
		if (x->rirr_vec[p] == -2)
			continue;
		CHECK(x->rirr_vec[p] >= 16);
		CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, (unsigned)x->rirr_vec[p]) ||
		      vec_test(x, VIRQ_LAPIC_REG_ISR, (unsigned)x->rirr_vec[p]));
	}
	remember_prev(x);

	/* lapic.h: SVI is the highest ISR vector, 0 for none; the EOI-exit
	 * generation moves whenever the bitmap changed. */
	{
		int hi = vec_highest(x, VIRQ_LAPIC_REG_ISR);
		uint64_t bm[4];

		CHECK(virq_lapic_svi(l) == (hi < 0 ? 0 : hi));
		virq_lapic_eoi_exit_bitmap(l, bm);
		if (memcmp(bm, x->prev_bm, sizeof(bm)))
			CHECK(virq_lapic_eoi_exit_gen(l) != x->prev_gen);
		memcpy(x->prev_bm, bm, sizeof(bm));
		x->prev_gen = virq_lapic_eoi_exit_gen(l);
		CHECK(virq_lapic_get_accel(l) <= VIRQ_LAPIC_ACCEL_APICV);
	}
}

static struct virq_lapic_state g_sa, g_sb, g_sc, g_tmp;

static int restore_into(struct inst *x, const struct virq_lapic_state *st)
{
	int rc;

	x->env.in_restore = true;
	rc = virq_lapic_restore(&x->lapic, st);
	x->env.in_restore = false;
	if (rc)
		return rc;
	x->env.nmi_msgs = 0; /* the state's events replace what was pending */
	/* lapic.h: lint_vectors holds what each entry delivered (version 1:
	 * the entry's vector), lint bits 1:0 the pin levels. */
	for (unsigned p = 0; p < 2; p++) {
		uint32_t lvt =
			st->regs[(p ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0) >> 2];

		if (!(lvt & VIRQ_LVT_REMOTE_IRR))
			x->rirr_vec[p] = -1;
		else if (st->version == 1U)
			x->rirr_vec[p] = (int)(lvt & 0xFFU);
		else
			x->rirr_vec[p] = (int)((st->lint_vectors >> (8 * p)) & 0xFFU);
		x->pin_level[p] = (st->lint >> p) & 1U;
	}
	remember_prev(x);
	return 0;
}

/* Two saved states are identical; else print the words that differ. */
static bool same_state(const struct virq_lapic_state *s, const struct virq_lapic_state *t)
{
	const uint32_t *p = (const uint32_t *)s, *q = (const uint32_t *)t;

	if (!memcmp(s, t, sizeof(*s)))
		return true;
	for (size_t i = 0; i < sizeof(*s) / 4; i++)
		if (p[i] != q[i])
			fprintf(stderr, "state word %zu (regs offset %#zx): %#x != %#x\n", i,
				i >= 8 && i < 264 ? (i - 8) * 4 : 0, p[i], q[i]);
	return false;
}

/*
 * Saves x into *out and checks the state: header, the timer against the
 * host timer the embedder holds, then restore into the scratch LAPIC and
 * save again: same bytes.
 */
static void check_round_trip(struct fuzz *f, struct inst *x, struct virq_lapic_state *out)
{
	struct inst *c = f->c;
	bool armed;
	int rc, inv;

	CHECK(virq_lapic_save(&x->lapic, out) == 0);
	inv = lapic_check_invariants(&x->lapic); /* save synced */
	if (inv)
		fprintf(stderr, "lapic_check_invariants(%s) after save = %d\n", x->name, inv);
	CHECK(inv == 0);
	CHECK(out->version == VIRQ_LAPIC_STATE_VERSION && out->size == sizeof(*out));
	CHECK((out->lint_vectors & 0xFFFF0000U) == 0 &&
	      (out->events & ~(0x1FU | VIRQ_LAPIC_STATE_EV_NMI2)) == 0 &&
	      out->sipi_vector <= 0xFFU);
	/* A second NMI only beside the first. */
	CHECK(!(out->events & VIRQ_LAPIC_STATE_EV_NMI2) || (out->events & VIRQ_LAPIC_EV_NMI));
	armed = (out->flags & VIRQ_LAPIC_STATE_TIMER_ARMED) != 0;
	CHECK(armed == x->env.host_armed);
	if (armed)
		/* Overdue: negative; the host timer then fires now or already did. */
		CHECK(x->env.host_deadline > f->w.now
			      ? out->timer_remaining_ns ==
					(x->env.host_deadline - f->w.now > (uint64_t)INT64_MAX
						 ? INT64_MAX
						 : (int64_t)(x->env.host_deadline - f->w.now))
			      : out->timer_remaining_ns <= 0);
	else
		CHECK(out->timer_remaining_ns == 0);
	if (timer_mode(x) != VIRQ_LVT_TIMER_TSCDEADLINE)
		CHECK(out->regs[VIRQ_LAPIC_REG_TMCCT >> 2] <= out->regs[VIRQ_LAPIC_REG_TMICT >> 2]);
	else
		CHECK(out->regs[VIRQ_LAPIC_REG_TMCCT >> 2] == 0);

	rc = restore_into(c, out);
	if (rc) {
		fprintf(stderr, "restore of a saved state (%s) = %d\n", x->name, rc);
		CHECK(rc == 0);
	}
	/* The restored page is the saved one, byte for byte. */
	inv = lapic_check_invariants(&c->lapic);
	if (inv)
		fprintf(stderr, "lapic_check_invariants(c) after restore = %d\n", inv);
	CHECK(inv == 0);
	CHECK(memcmp(c->page, x->page, VIRQ_LAPIC_PAGE_SIZE) == 0);
	CHECK(virq_lapic_get_apic_base(&c->lapic) == virq_lapic_get_apic_base(&x->lapic));
	CHECK(c->env.host_armed == armed);
	if (armed)
		CHECK(c->env.host_deadline ==
		      f->w.now + (out->timer_remaining_ns > 0 ? (uint64_t)out->timer_remaining_ns
							      : 0));
	CHECK(virq_lapic_save(&c->lapic, &g_sc) == 0);
	CHECK(same_state(out, &g_sc));
}

/* ---- ops ---- */

enum {
	OP_MMIO_READ,
	OP_MMIO_WRITE,
	OP_MSR_READ,
	OP_MSR_WRITE,
	OP_REG_READ,
	OP_REG_WRITE,
	OP_APIC_BASE,
	OP_CR8,
	OP_POST,
	OP_POST_SYNC,
	OP_POST_MSG,
	OP_SET_LINT,
	OP_SYNC,
	OP_PENDING,
	OP_ACK,
	OP_EOI,
	OP_EOI_REG,
	OP_TAKE_EVENTS,
	OP_HAS_WORK,
	OP_CLOCK,
	OP_TIMER_FIRE,
	OP_TIMER_EXPIRED,
	OP_SET_TSC,
	OP_DELIVER_LVT,
	OP_ROUND_TRIP,
	OP_RESTORE_DAMAGED,
	OP_RESET,
	OP_MATCH_DEST,
	OP_SET_ACCEL,
	OP_HW,
	OP_HW_QUERY,
	OP_EOI_TWIN,
	OP_ACK_TWIN,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"mmio_read",  "mmio_write",
	"msr_read",   "msr_write",
	"reg_read",   "reg_write",
	"apic_base",  "cr8",
	"post",       "post_sync",
	"post_msg",   "set_lint",
	"sync",       "pending",
	"ack",        "eoi",
	"eoi_reg",    "take_events",
	"has_work",   "clock",
	"timer_fire", "timer_expired",
	"set_tsc",    "deliver_lvt",
	"round_trip", "restore_damaged",
	"reset",      "match_dest",
	"set_accel",  "hw",
	"hw_query",   "eoi_twin",
	"ack_twin",
};

/* Registers by xAPIC offset, for the reg_read/reg_write ops. */
static const uint16_t reg_table[] = {
	VIRQ_LAPIC_REG_ID,
	VIRQ_LAPIC_REG_VERSION,
	VIRQ_LAPIC_REG_TPR,
	VIRQ_LAPIC_REG_APR,
	VIRQ_LAPIC_REG_PPR,
	VIRQ_LAPIC_REG_EOI,
	VIRQ_LAPIC_REG_RRD,
	VIRQ_LAPIC_REG_LDR,
	VIRQ_LAPIC_REG_DFR,
	VIRQ_LAPIC_REG_SVR,
	VIRQ_LAPIC_REG_ISR,
	VIRQ_LAPIC_REG_TMR,
	VIRQ_LAPIC_REG_IRR,
	VIRQ_LAPIC_REG_ESR,
	VIRQ_LAPIC_REG_LVT_CMCI,
	VIRQ_LAPIC_REG_ICR_LO,
	VIRQ_LAPIC_REG_ICR_HI,
	VIRQ_LAPIC_REG_LVT_TIMER,
	VIRQ_LAPIC_REG_LVT_THERMAL,
	VIRQ_LAPIC_REG_LVT_PMC,
	VIRQ_LAPIC_REG_LVT_LINT0,
	VIRQ_LAPIC_REG_LVT_LINT1,
	VIRQ_LAPIC_REG_LVT_ERROR,
	VIRQ_LAPIC_REG_TMICT,
	VIRQ_LAPIC_REG_TMCCT,
	VIRQ_LAPIC_REG_TDCR,
	VIRQ_LAPIC_REG_SELF_IPI,
	0x000,
	0x040,
	0x290,
	0x3A0,
};

#define REG_TABLE_SIZE (sizeof(reg_table) / sizeof(reg_table[0]))

struct op {
	uint8_t code;
	uint8_t a, b;
	uint16_t h;
	uint32_t u32;
	uint64_t u64;
	struct virq_apic_msg msg;
};

/* What an op answered on one instance; compared between lockstep twins. */
struct res {
	int64_t rc;
	uint64_t val;
	uint32_t flags;
	uint32_t aux;
};

static uint32_t g_before[1024]; /* the page before the op */

static void snap_page(const struct inst *x)
{
	memcpy(g_before, x->page, sizeof(g_before));
}

static uint32_t before(uint32_t off)
{
	return g_before[off >> 2];
}

/* Slots (16-byte registers) a call may have changed: bit SLOT(off). */
#define S(off) (1ULL << SLOT(off))
#define S_RANGE8(base) (0xFFULL << SLOT(base))
#define S_LVTS                                                                                     \
	(S(VIRQ_LAPIC_REG_LVT_CMCI) | S(VIRQ_LAPIC_REG_LVT_TIMER) |                                \
	 S(VIRQ_LAPIC_REG_LVT_THERMAL) | S(VIRQ_LAPIC_REG_LVT_PMC) | S(VIRQ_LAPIC_REG_LVT_LINT0) | \
	 S(VIRQ_LAPIC_REG_LVT_LINT1) | S(VIRQ_LAPIC_REG_LVT_ERROR))
/* Accepting an interrupt (self IPI, LVT, LVT Error on an error). */
#define S_ACCEPT (S_RANGE8(VIRQ_LAPIC_REG_IRR) | S_RANGE8(VIRQ_LAPIC_REG_TMR))

static void check_changed_only(const struct inst *x, uint64_t allowed)
{
	for (uint32_t s = 0; s < 64; s++)
		if (!((allowed >> s) & 1U))
			CHECK(x->page[s * 4] == g_before[s * 4]);
}

/* The guest_error hook reported @code during this op (trivially, without a hook). */
static bool gerr_seen(const struct fuzz *f, const struct inst *x, enum virq_guest_error code)
{
	return !f->ops.guest_error || (x->env.gerr & (1U << code));
}

static uint64_t ones(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1U;
}

/* Registers the guest reaches in a mode: xAPIC MMIO (x2 false) or x2APIC MSRs. */
enum rclass {
	RC_RESERVED,
	RC_RW,
	RC_RO,
	RC_WO
};

static enum rclass reg_class(const struct fuzz *f, uint32_t off, bool x2)
{
	if (off >= VIRQ_LAPIC_REG_ISR && off < VIRQ_LAPIC_REG_ESR)
		return RC_RO;
	if (is_lvt(f, off))
		return RC_RW;
	switch (off) {
	case VIRQ_LAPIC_REG_ID:
	case VIRQ_LAPIC_REG_LDR:
		return x2 ? RC_RO : RC_RW;
	case VIRQ_LAPIC_REG_VERSION:
	case VIRQ_LAPIC_REG_PPR:
	case VIRQ_LAPIC_REG_TMCCT:
		return RC_RO;
	case VIRQ_LAPIC_REG_APR:
	case VIRQ_LAPIC_REG_RRD:
		return x2 ? RC_RESERVED : RC_RO;
	case VIRQ_LAPIC_REG_TPR:
	case VIRQ_LAPIC_REG_SVR:
	case VIRQ_LAPIC_REG_ESR:
	case VIRQ_LAPIC_REG_ICR_LO:
	case VIRQ_LAPIC_REG_TMICT:
	case VIRQ_LAPIC_REG_TDCR:
		return RC_RW;
	case VIRQ_LAPIC_REG_DFR:
	case VIRQ_LAPIC_REG_ICR_HI:
		return x2 ? RC_RESERVED : RC_RW;
	case VIRQ_LAPIC_REG_EOI:
		return RC_WO;
	case VIRQ_LAPIC_REG_SELF_IPI:
		return x2 ? RC_WO : RC_RESERVED;
	default:
		return RC_RESERVED;
	}
}

/*
 * After the EOI of vector @h (the highest ISR bit before it): the EOI of
 * the vector a LINT entry delivered clears its Remote IRR, whatever the
 * entry holds now (the guest may have rewritten it) and whatever TMR
 * says; a pin still asserted is delivered again, with the entry's current
 * vector. Other entries do not change. Uses the page snapshot.
 */
static void model_lint_eoi(struct inst *x, int h)
{
	for (unsigned p = 0; p < 2; p++) {
		uint32_t off = p ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0;
		uint32_t lvt = pg(x, off);

		if (x->rirr_vec[p] == -2) {
			/* Which vector it delivered is unknown: either outcome. */
			CHECK((lvt & ~VIRQ_LVT_REMOTE_IRR) == (before(off) & ~VIRQ_LVT_REMOTE_IRR));
			if (!(lvt & VIRQ_LVT_REMOTE_IRR))
				x->rirr_vec[p] = -1;
			continue;
		}
		if (!(before(off) & VIRQ_LVT_REMOTE_IRR) || x->rirr_vec[p] != h) {
			CHECK(lvt == before(off));
			continue;
		}
		CHECK((lvt & ~VIRQ_LVT_REMOTE_IRR) == (before(off) & ~VIRQ_LVT_REMOTE_IRR));
		x->rirr_vec[p] = -1;
		if (lvt & VIRQ_LVT_REMOTE_IRR) {
			/* Delivered again at once: level Fixed, unmasked, asserted. */
			CHECK(!(lvt & VIRQ_LVT_MASKED) && (lvt & VIRQ_LVT_LEVEL) &&
			      ((lvt >> 8) & 7U) == VIRQ_DM_FIXED &&
			      x->pin_level[p] != !!(lvt & VIRQ_LVT_POLARITY_LOW));
			CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, lvt & 0xFFU));
			x->rirr_vec[p] = (int)(lvt & 0xFFU);
		}
	}
}

/* Highest vector of the snapshot's bitmap at @base, or -1. */
static int before_highest(uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = g_before[(base >> 2) + 4U * (uint32_t)i];

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

/* Vector @v set in the snapshot's bitmap at @base. */
static bool vec_test_before(uint32_t base, unsigned v)
{
	return (g_before[(base >> 2) + 4U * (v >> 5)] >> (v & 31U)) & 1U;
}

/*
 * A register write that took effect (xAPIC MMIO or x2APIC WRMSR without
 * #GP): the written register's new value and the slots it may change.
 */
static void check_reg_written(const struct fuzz *f, struct inst *x, uint32_t off, uint64_t val,
			      bool x2)
{
	uint32_t v = (uint32_t)val;
	uint32_t now = pg(x, off), old = before(off);
	bool sw = (before(VIRQ_LAPIC_REG_SVR) & 0x100U) != 0;
	uint64_t allowed = S(off);

	if (is_lvt(f, off)) {
		uint32_t exp = v & lvt_writable(f, off);
		uint32_t cmp = ~0U;

		if (off == VIRQ_LAPIC_REG_LVT_LINT0 || off == VIRQ_LAPIC_REG_LVT_LINT1)
			cmp = ~VIRQ_LVT_REMOTE_IRR; /* may be set by the pin at once */
		if (off == VIRQ_LAPIC_REG_LVT_TIMER && ((exp >> 17) & 3U) == 3U)
			exp = (exp & ~(3U << 17)) | (old & (3U << 17)); /* reserved mode */
		if (!sw)
			exp |= VIRQ_LVT_MASKED;
		CHECK((now & cmp) == (exp & cmp));
		if (off == VIRQ_LAPIC_REG_LVT_TIMER)
			allowed |= S(VIRQ_LAPIC_REG_TMICT);
		allowed |= S_ACCEPT; /* a level LINT pin is accepted at once */
		check_changed_only(x, allowed);
		return;
	}
	switch (off) {
	case VIRQ_LAPIC_REG_ID:
		CHECK(now == (f->cfg.xapic_id_writable ? (v & 0xFF000000U) : old));
		break;
	case VIRQ_LAPIC_REG_TPR:
		CHECK(now == (v & 0xFFU));
		allowed |= S(VIRQ_LAPIC_REG_PPR);
		break;
	case VIRQ_LAPIC_REG_LDR:
		CHECK(now == (v & 0xFF000000U));
		break;
	case VIRQ_LAPIC_REG_DFR:
		CHECK(now == ((v & 0xF0000000U) | 0x0FFFFFFFU));
		break;
	case VIRQ_LAPIC_REG_SVR:
		CHECK(now == (v & svr_writable(f)));
		allowed |= S_LVTS;
		break;
	case VIRQ_LAPIC_REG_ESR:
		break; /* shows the latched errors */
	case VIRQ_LAPIC_REG_EOI:
		allowed |= S_RANGE8(VIRQ_LAPIC_REG_ISR) | S(VIRQ_LAPIC_REG_PPR) | S_ACCEPT |
			   S(VIRQ_LAPIC_REG_LVT_LINT0) | S(VIRQ_LAPIC_REG_LVT_LINT1);
		if (before_highest(VIRQ_LAPIC_REG_ISR) >= 0)
			model_lint_eoi(x, before_highest(VIRQ_LAPIC_REG_ISR));
		break;
	case VIRQ_LAPIC_REG_ICR_LO:
		CHECK(now == (v & 0xCCFFFU));
		if (x2)
			CHECK(pg(x, VIRQ_LAPIC_REG_ICR_HI) == (uint32_t)(val >> 32));
		allowed |= S(VIRQ_LAPIC_REG_ICR_HI) | S_ACCEPT;
		break;
	case VIRQ_LAPIC_REG_ICR_HI:
		CHECK(now == (v & 0xFF000000U));
		break;
	case VIRQ_LAPIC_REG_TMICT:
		CHECK(now == (timer_mode(x) == VIRQ_LVT_TIMER_TSCDEADLINE ? old : v));
		break;
	case VIRQ_LAPIC_REG_TDCR:
		CHECK(now == (v & 0xBU));
		break;
	case VIRQ_LAPIC_REG_SELF_IPI:
		allowed = S_ACCEPT;
		if ((v & 0xFFU) >= 16 && is_active(x))
			CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, v & 0xFFU) &&
			      !vec_test(x, VIRQ_LAPIC_REG_TMR, v & 0xFFU));
		break;
	default:
		CHECK(0);
	}
	check_changed_only(x, allowed);
}

static void do_mmio_read(struct fuzz *f, struct inst *x, uint32_t off, unsigned size, struct res *r)
{
	uint64_t val = 0x5A5A5A5A5A5A5A5AULL;
	bool valid = off < 0x1000U && (size == 1 || size == 2 || size == 4 || size == 8) &&
		     off + size <= 0x1000U;
	uint32_t reg = off & 0xFF0U, in = off & 0xFU;
	int rc;

	snap_page(x);
	rc = virq_lapic_mmio_read(&x->lapic, off, size, &val);
	r->rc = rc;
	r->val = val;
	if (!valid) {
		CHECK(rc == -VIRQ_EINVAL);
		check_changed_only(x, 0);
		return;
	}
	CHECK(rc == 0);
	CHECK((val & ~ones(size)) == 0);
	if (mode_of(x) != VIRQ_LAPIC_MODE_XAPIC) {
		CHECK(val == ones(size)); /* page not decoded */
		check_changed_only(x, 0);
		return;
	}
	if (in + size > 4 || reg >= 0x400U) {
		CHECK(val == 0);
	} else if (reg_class(f, reg, false) == RC_RESERVED) {
		CHECK(val == 0 && gerr_seen(f, x, VIRQ_GERR_RESERVED_REG));
	} else if (reg != VIRQ_LAPIC_REG_TMCCT) {
		CHECK(val == ((pg(x, reg) >> (in * 8)) & ones(size)));
	} else if (size == 4) {
		CHECK(val <= pg(x, VIRQ_LAPIC_REG_TMICT));
		if (timer_mode(x) == VIRQ_LVT_TIMER_TSCDEADLINE)
			CHECK(val == 0);
	}
	/* A reserved offset latches ESR bit 7 (LVT Error may fire). */
	check_changed_only(x, S_ACCEPT);
}

/* What an aligned 4-byte xAPIC write of register @reg (below 0x400) did:
 * the MMIO write, and the APIC-write exit that must equal it. */
static void check_xapic_write(const struct fuzz *f, struct inst *x, uint32_t reg, uint64_t val)
{
	switch (reg_class(f, reg, false)) {
	case RC_RESERVED:
		CHECK(gerr_seen(f, x, VIRQ_GERR_RESERVED_REG));
		check_changed_only(x, S_ACCEPT);
		break;
	case RC_RO:
		check_changed_only(x, 0);
		break;
	default:
		check_reg_written(f, x, reg, val, false);
		break;
	}
}

static void do_mmio_write(struct fuzz *f, struct inst *x, uint32_t off, unsigned size, uint64_t val,
			  struct res *r)
{
	bool valid = off < 0x1000U && (size == 1 || size == 2 || size == 4 || size == 8) &&
		     off + size <= 0x1000U;
	uint32_t reg = off & 0xFF0U;
	bool decoded = mode_of(x) == VIRQ_LAPIC_MODE_XAPIC;
	int rc;

	snap_page(x);
	rc = virq_lapic_mmio_write(&x->lapic, off, size, val);
	r->rc = rc;
	if (!valid) {
		CHECK(rc == -VIRQ_EINVAL);
		check_changed_only(x, 0);
		return;
	}
	CHECK(rc == 0);
	if (!decoded || size != 4 || (off & 0xFU)) {
		if (decoded)
			CHECK(gerr_seen(f, x, VIRQ_GERR_MMIO_SIZE));
		check_changed_only(x, 0);
		return;
	}
	if (reg >= 0x400U) {
		check_changed_only(x, S_ACCEPT);
		return;
	}
	check_xapic_write(f, x, reg, val);
}

static bool is_apic_msr(uint32_t msr)
{
	return msr == VIRQ_MSR_IA32_APIC_BASE || msr == VIRQ_MSR_IA32_TSC_DEADLINE ||
	       (msr >= VIRQ_X2APIC_MSR_BASE && msr <= VIRQ_X2APIC_MSR_LAST);
}

/*
 * x2APIC mode: does this RDMSR/WRMSR fault? From the SDM's MSR map
 * (10.12.1.2 "x2APIC Register Address Space", Table 10-6 "Local APIC
 * Register Address Map Supported by x2APIC"). -1 where the SDM leaves
 * it open.
 */
static int x2_gp_expected(const struct fuzz *f, uint32_t off, uint64_t val, bool write)
{
	enum rclass c = off < 0x400U ? reg_class(f, off, true) : RC_RESERVED;
	uint32_t v = (uint32_t)val;

	if (c == RC_RESERVED)
		return 1;
	if (!write)
		return c == RC_WO;
	if (c == RC_RO)
		return 1;
	if (off == VIRQ_LAPIC_REG_ICR_LO)
		return (val & 0xFFF32000ULL) != 0; /* bits 31:20, 17:16, 13 */
	if (val >> 32)
		return 1;
	if (is_lvt(f, off)) {
		uint32_t ro = VIRQ_LVT_DELIVS | VIRQ_LVT_REMOTE_IRR;

		if (v & ro & ~lvt_writable(f, off))
			return -1; /* writing back read-only status bits */
		if (off == VIRQ_LAPIC_REG_LVT_TIMER && ((v >> 17) & 3U) == 3U)
			return -1; /* reserved timer mode */
		return (v & ~lvt_writable(f, off)) != 0;
	}
	switch (off) {
	case VIRQ_LAPIC_REG_TPR:
		return v > 0xFFU;
	case VIRQ_LAPIC_REG_SVR:
		return (v & ~svr_writable(f)) != 0;
	case VIRQ_LAPIC_REG_EOI:
	case VIRQ_LAPIC_REG_ESR:
		return v != 0;
	case VIRQ_LAPIC_REG_TDCR:
		return (v & ~0xBU) != 0;
	case VIRQ_LAPIC_REG_SELF_IPI:
		return v > 0xFFU;
	case VIRQ_LAPIC_REG_TMICT:
		return 0;
	default:
		return -1;
	}
}

static void do_msr_read(struct fuzz *f, struct inst *x, uint32_t msr, struct res *r)
{
	uint64_t val = 0x5A5A5A5A5A5A5A5AULL;
	bool x2 = mode_of(x) == VIRQ_LAPIC_MODE_X2APIC;
	int rc;

	snap_page(x);
	rc = virq_lapic_msr_read(&x->lapic, msr, &val);
	r->rc = rc;
	r->val = val;
	check_changed_only(x, 0);
	if (!is_apic_msr(msr)) {
		CHECK(rc == -VIRQ_ENOENT);
		return;
	}
	CHECK(rc == 0 || rc == VIRQ_GP);
	if (msr == VIRQ_MSR_IA32_APIC_BASE) {
		CHECK(rc == 0 && val == virq_lapic_get_apic_base(&x->lapic));
		return;
	}
	if (msr == VIRQ_MSR_IA32_TSC_DEADLINE) {
		CHECK((rc == VIRQ_GP) == !f->cfg.tsc_deadline);
		if (rc == 0 && (timer_mode(x) != VIRQ_LVT_TIMER_TSCDEADLINE ||
				mode_of(x) == VIRQ_LAPIC_MODE_DISABLED))
			CHECK(val == 0);
		return;
	}
	if (!x2) {
		CHECK(rc == VIRQ_GP);
		return;
	}
	{
		uint32_t off = (msr - VIRQ_X2APIC_MSR_BASE) << 4;
		int gp = x2_gp_expected(f, off, 0, false);

		if (gp >= 0)
			CHECK((rc == VIRQ_GP) == (gp == 1));
		if (rc)
			return;
		if (off == VIRQ_LAPIC_REG_ICR_LO)
			CHECK(val == (pg(x, VIRQ_LAPIC_REG_ICR_LO) |
				      (uint64_t)pg(x, VIRQ_LAPIC_REG_ICR_HI) << 32));
		else if (off == VIRQ_LAPIC_REG_TMCCT)
			CHECK(val <= pg(x, VIRQ_LAPIC_REG_TMICT));
		else
			CHECK(val == pg(x, off));
	}
}

static void check_apic_base_write(const struct fuzz *f, const struct inst *x, uint64_t val,
				  bool host, uint64_t old_base, int rc)
{
	uint64_t rsvd = 0x2FFULL & ~VIRQ_APIC_BASE_BSP;
	enum virq_lapic_mode from, to;
	bool bad;

	if (f->eff.phys_addr_bits < 64)
		rsvd |= ~0ULL << f->eff.phys_addr_bits;
	if (!f->cfg.x2apic)
		rsvd |= VIRQ_APIC_BASE_EXTD;
	from = !(old_base & VIRQ_APIC_BASE_EN)    ? VIRQ_LAPIC_MODE_DISABLED
	       : (old_base & VIRQ_APIC_BASE_EXTD) ? VIRQ_LAPIC_MODE_X2APIC
						  : VIRQ_LAPIC_MODE_XAPIC;
	to = !(val & VIRQ_APIC_BASE_EN)    ? VIRQ_LAPIC_MODE_DISABLED
	     : (val & VIRQ_APIC_BASE_EXTD) ? VIRQ_LAPIC_MODE_X2APIC
					   : VIRQ_LAPIC_MODE_XAPIC;
	/* SDM 10.4.4 "Local APIC Status and Location", 10.12.5 "x2APIC State
	 * Transitions": reserved bits, EN=0/EXTD=1, illegal transitions. */
	bad = (val & rsvd) != 0 ||
	      (val & (VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD)) == VIRQ_APIC_BASE_EXTD;
	if (!host)
		bad = bad || (from == VIRQ_LAPIC_MODE_DISABLED && to == VIRQ_LAPIC_MODE_X2APIC) ||
		      (from == VIRQ_LAPIC_MODE_X2APIC && to == VIRQ_LAPIC_MODE_XAPIC);
	CHECK(rc == (bad ? VIRQ_GP : 0));
	if (bad) {
		CHECK(virq_lapic_get_apic_base(&x->lapic) == old_base);
		CHECK(gerr_seen(f, x, VIRQ_GERR_APIC_BASE));
		check_changed_only(x, 0);
		return;
	}
	CHECK(virq_lapic_get_apic_base(&x->lapic) ==
	      ((val & ~VIRQ_APIC_BASE_BSP) | (f->cfg.bsp ? VIRQ_APIC_BASE_BSP : 0)));
	CHECK(mode_of(x) == to);
	if (from == to) {
		check_changed_only(x, 0);
		return;
	}
	if (to == VIRQ_LAPIC_MODE_DISABLED) {
		/* As if there were no APIC: no timer, IRR/ISR/TMR not preserved
		 * (lapic.h, SDM 10.12.5.1 "x2APIC States"). */
		CHECK(!x->env.host_armed);
		CHECK(vec_highest(x, VIRQ_LAPIC_REG_IRR) < 0 &&
		      vec_highest(x, VIRQ_LAPIC_REG_ISR) < 0 &&
		      vec_highest(x, VIRQ_LAPIC_REG_TMR) < 0);
		check_changed_only(x, S_RANGE8(VIRQ_LAPIC_REG_IRR) | S_RANGE8(VIRQ_LAPIC_REG_ISR) |
					      S_RANGE8(VIRQ_LAPIC_REG_TMR) | S(VIRQ_LAPIC_REG_PPR) |
					      S(VIRQ_LAPIC_REG_LVT_LINT0) |
					      S(VIRQ_LAPIC_REG_LVT_LINT1));
		/* The LINT interrupts in service are gone: so is Remote IRR. */
		CHECK(pg(x, VIRQ_LAPIC_REG_LVT_LINT0) ==
		      (before(VIRQ_LAPIC_REG_LVT_LINT0) & ~VIRQ_LVT_REMOTE_IRR));
		CHECK(pg(x, VIRQ_LAPIC_REG_LVT_LINT1) ==
		      (before(VIRQ_LAPIC_REG_LVT_LINT1) & ~VIRQ_LVT_REMOTE_IRR));
	}
	if (from == VIRQ_LAPIC_MODE_DISABLED) {
		/* Re-enabled: power-up register state. */
		CHECK(pg(x, VIRQ_LAPIC_REG_SVR) == 0xFFU && pg(x, VIRQ_LAPIC_REG_TPR) == 0);
		CHECK(vec_highest(x, VIRQ_LAPIC_REG_IRR) < 0 &&
		      vec_highest(x, VIRQ_LAPIC_REG_ISR) < 0);
		CHECK(pg(x, VIRQ_LAPIC_REG_LVT_LINT0) == VIRQ_LVT_RESET);
		CHECK(!x->env.host_armed);
	} else if (to == VIRQ_LAPIC_MODE_X2APIC) {
		CHECK(pg(x, VIRQ_LAPIC_REG_ICR_HI) == 0);
		check_changed_only(x, S(VIRQ_LAPIC_REG_ID) | S(VIRQ_LAPIC_REG_LDR) |
					      S(VIRQ_LAPIC_REG_ICR_HI));
	}
}

static void do_msr_write(struct fuzz *f, struct inst *x, uint32_t msr, uint64_t val, struct res *r)
{
	bool x2 = mode_of(x) == VIRQ_LAPIC_MODE_X2APIC;
	uint64_t old_base = virq_lapic_get_apic_base(&x->lapic);
	int rc;

	snap_page(x);
	rc = virq_lapic_msr_write(&x->lapic, msr, val);
	r->rc = rc;
	if (!is_apic_msr(msr)) {
		CHECK(rc == -VIRQ_ENOENT);
		check_changed_only(x, 0);
		return;
	}
	CHECK(rc == 0 || rc == VIRQ_GP);
	if (rc == VIRQ_GP)
		CHECK(!f->ops.guest_error || x->env.gerr != 0);
	if (msr == VIRQ_MSR_IA32_APIC_BASE) {
		check_apic_base_write(f, x, val, false, old_base, rc);
		return;
	}
	CHECK(virq_lapic_get_apic_base(&x->lapic) == old_base);
	if (msr == VIRQ_MSR_IA32_TSC_DEADLINE) {
		uint64_t dl = 0x5A5AU;

		CHECK((rc == VIRQ_GP) == !f->cfg.tsc_deadline);
		if (rc)
			return;
		virq_lapic_msr_read(&x->lapic, msr, &dl);
		if (timer_mode(x) != VIRQ_LVT_TIMER_TSCDEADLINE ||
		    mode_of(x) == VIRQ_LAPIC_MODE_DISABLED) {
			/* Ignored outside TSC-deadline mode, and without an APIC. */
			CHECK(dl == 0);
			check_changed_only(x, 0);
		} else if (val == 0) {
			CHECK(dl == 0 && !x->env.host_armed);
		} else if (val <= guest_tsc_now(f)) {
			CHECK(dl == 0 && !x->env.host_armed); /* fired at once */
			check_changed_only(x, S_ACCEPT);
		} else {
			CHECK(dl == val && x->env.host_armed);
			check_changed_only(x, 0);
		}
		return;
	}
	if (!x2) {
		CHECK(rc == VIRQ_GP);
		check_changed_only(x, 0);
		return;
	}
	{
		uint32_t off = (msr - VIRQ_X2APIC_MSR_BASE) << 4;
		int gp = x2_gp_expected(f, off, val, true);

		if (gp >= 0)
			CHECK((rc == VIRQ_GP) == (gp == 1));
		if (rc) {
			check_changed_only(x, 0);
			return;
		}
		check_reg_written(f, x, off, val, true);
	}
}

/* ---- op decoding and execution ---- */

static void decode_op(struct input *in, struct op *op)
{
	memset(op, 0, sizeof(*op));
	op->code = (uint8_t)(in_u8(in) % OP_COUNT);
	switch (op->code) {
	case OP_MMIO_READ:
	case OP_REG_READ:
		op->a = in_u8(in);
		op->h = in_u16(in);
		break;
	case OP_MMIO_WRITE:
		op->a = in_u8(in);
		op->h = in_u16(in);
		op->u32 = in_u32(in);
		break;
	case OP_REG_WRITE:
		op->a = in_u8(in);
		op->b = in_u8(in);
		op->u32 = in_u32(in);
		op->u64 = in_u32(in);
		break;
	case OP_MSR_READ:
		op->a = in_u8(in);
		op->h = in_u16(in);
		break;
	case OP_MSR_WRITE:
	case OP_APIC_BASE:
	case OP_CR8:
	case OP_SET_TSC:
		op->a = in_u8(in);
		op->h = in_u16(in);
		op->u64 = in_u64(in);
		break;
	case OP_POST:
	case OP_POST_SYNC:
		op->a = in_u8(in);
		op->b = in_u8(in);
		break;
	case OP_POST_MSG:
		op->a = in_u8(in);
		op->b = in_u8(in);
		op->h = in_u8(in);
		op->u32 = in_u32(in);
		op->msg.delivery = (uint8_t)(op->a & 7U);
		op->msg.vector = op->b;
		op->msg.level = op->h & 1U;
		op->msg.trigger_level = (op->h >> 1) & 1U;
		op->msg.logical = (op->h >> 2) & 1U;
		op->msg.x2apic = (op->h >> 3) & 1U;
		op->msg.shorthand = (uint8_t)((op->h >> 4) & 3U);
		op->msg.dest = op->u32;
		op->msg.src = VIRQ_MSG_SRC_NONE;
		break;
	case OP_SET_LINT:
	case OP_EOI_REG:
	case OP_DELIVER_LVT:
	case OP_TIMER_FIRE:
		op->a = in_u8(in);
		break;
	case OP_CLOCK:
		op->a = in_u8(in);
		op->h = in_u16(in);
		break;
	case OP_RESTORE_DAMAGED:
		op->h = in_u16(in);
		op->u32 = in_u32(in);
		break;
	case OP_MATCH_DEST:
		op->a = in_u8(in);
		op->u32 = in_u32(in);
		break;
	case OP_SET_ACCEL:
		op->a = in_u8(in);
		break;
	case OP_HW:
		op->a = in_u8(in);
		op->b = in_u8(in);
		op->h = in_u16(in);
		op->u32 = in_u32(in);
		break;
	case OP_EOI_TWIN:
		op->a = in_u8(in);
		op->h = in_u16(in);
		op->u64 = in_u64(in);
		break;
	case OP_ACK_TWIN:
		op->a = in_u8(in);
		op->b = in_u8(in);
		op->u32 = in_u32(in);
		break;
	default:
		break;
	}
}

static const unsigned mmio_sizes[4] = { 1, 2, 4, 8 };

/* MMIO offset and size from (a, h): mostly register slots, sometimes anything. */
static void mmio_args(const struct op *op, uint32_t *off, unsigned *size)
{
	*size = mmio_sizes[op->a & 3U];
	if (op->a & 4U)
		*off = ((uint32_t)op->h & 0x3FU) << 4 | ((op->a & 8U) ? (op->a >> 4) & 0xFU : 0);
	else
		*off = op->h & 0xFFFU;
	if (op->a >= 0xF8U) {
		/* Out of the page or a bad size: the embedder's mistake. */
		if (op->h & 0x8000U)
			*off = 0x1000U - (op->h & 7U);
		else
			*size = 3U + (op->h & 4U);
	}
}

static uint32_t msr_arg(const struct op *op)
{
	switch (op->a & 7U) {
	case 0:
	case 1:
	case 2:
	case 3:
		return VIRQ_X2APIC_MSR_BASE + (op->h & 0x3FU);
	case 4:
		return VIRQ_X2APIC_MSR_BASE + (op->h % 0x400U);
	case 5:
		return VIRQ_MSR_IA32_APIC_BASE;
	case 6:
		return VIRQ_MSR_IA32_TSC_DEADLINE;
	default:
		return (uint32_t)(op->a & 0xF0U) << 24 | op->h;
	}
}

static uint64_t msr_val_arg(const struct op *op)
{
	switch ((op->a >> 3) & 3U) {
	case 0:
		return op->u64 & 0xFFU;
	case 1:
		return op->u64 & 0xFFFFFFFFU;
	case 2:
		return op->u64;
	default:
		return 0;
	}
}

static uint64_t apic_base_arg(const struct fuzz *f, const struct op *op)
{
	uint64_t v;

	if (op->a & 0x10U)
		return op->u64;
	v = (op->a & 0x40U) ? (op->u64 & 0xFFFFFFU) << 12 : VIRQ_APIC_BASE_ADDR_DEFAULT;
	if (op->a & 1U)
		v |= VIRQ_APIC_BASE_EN;
	if (op->a & 2U)
		v |= VIRQ_APIC_BASE_EXTD;
	if (!(op->a & 4U) == !f->cfg.bsp)
		v |= VIRQ_APIC_BASE_BSP; /* usually as configured */
	if (op->a & 0x20U)
		v |= 1ULL << (op->h & 63U);
	return v;
}

/* The register op's offset: ISR/TMR/IRR get one of their 8 words. */
static uint32_t reg_arg(const struct op *op)
{
	uint32_t off = reg_table[op->a % REG_TABLE_SIZE];

	if (off == VIRQ_LAPIC_REG_ISR || off == VIRQ_LAPIC_REG_TMR || off == VIRQ_LAPIC_REG_IRR)
		off += (op->a >> 5) * 16U;
	return off;
}

static void do_pending_check(const struct inst *x, int v)
{
	int h = vec_highest(x, VIRQ_LAPIC_REG_IRR);
	uint32_t ppr = pg(x, VIRQ_LAPIC_REG_PPR);

	/*
	 * SDM 10.8.3.1 "Task and Processor Priorities": the highest IRR
	 * vector, if its class beats PPR's. lapic.h: vectors held in IRR
	 * while software-disabled are still delivered (SDM 10.4.7.2
	 * "Local APIC State After It Has Been Software Disabled"); a
	 * globally disabled APIC delivers nothing.
	 */
	if (mode_of(x) != VIRQ_LAPIC_MODE_DISABLED && h >= 0 &&
	    ((uint32_t)h & 0xF0U) > (ppr & 0xF0U))
		CHECK(v == h);
	else
		CHECK(v == VIRQ_LAPIC_NO_VECTOR);
}

static void do_eoi(struct fuzz *f, struct inst *x, bool via_reg, uint8_t a, struct res *r)
{
	int h = vec_highest(x, VIRQ_LAPIC_REG_ISR);
	bool level = h >= 0 && vec_test(x, VIRQ_LAPIC_REG_TMR, (unsigned)h);
	bool suppress = (pg(x, VIRQ_LAPIC_REG_SVR) & VIRQ_LAPIC_SVR_EOI_SUPPRESS) != 0;
	enum virq_lapic_mode mode = mode_of(x);
	bool done = true;

	snap_page(x);
	if (!via_reg) {
		virq_lapic_eoi(&x->lapic);
	} else if (mode == VIRQ_LAPIC_MODE_X2APIC) {
		uint64_t v = (a & 0x80U) ? a : 0;

		r->rc = virq_lapic_msr_write(&x->lapic, 0x80BU, v);
		CHECK(r->rc == (v ? VIRQ_GP : 0));
		done = v == 0;
	} else {
		r->rc = virq_lapic_mmio_write(&x->lapic, VIRQ_LAPIC_REG_EOI, 4,
					      (a & 0x80U) ? a : 0);
		CHECK(r->rc == 0);
		done = mode == VIRQ_LAPIC_MODE_XAPIC; /* any value; disabled: not decoded */
	}
	if (!done || h < 0) {
		CHECK(x->env.n_eoi == 0);
		check_changed_only(x, 0);
		return;
	}
	/* SDM 10.8.5 "Signaling Interrupt Servicing Completion": the
	 * highest ISR bit retires, whatever was written. */
	CHECK(!vec_test(x, VIRQ_LAPIC_REG_ISR, (unsigned)h));
	CHECK(vec_highest(x, VIRQ_LAPIC_REG_ISR) < h);
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t bit = (uint32_t)h >> 5 == i ? 1U << (h & 31) : 0;

		CHECK(pg(x, VIRQ_LAPIC_REG_ISR + 16 * i) ==
		      (before(VIRQ_LAPIC_REG_ISR + 16 * i) & ~bit));
	}
	if (level && !suppress && f->ops.eoi_level)
		CHECK(x->env.n_eoi == 1 && x->env.eoi_vec == (uint8_t)h);
	else
		CHECK(x->env.n_eoi == 0);
	model_lint_eoi(x, h);
	check_changed_only(x, S_RANGE8(VIRQ_LAPIC_REG_ISR) | S(VIRQ_LAPIC_REG_PPR) | S_ACCEPT |
				      S(VIRQ_LAPIC_REG_LVT_LINT0) | S(VIRQ_LAPIC_REG_LVT_LINT1));
	r->val = (uint64_t)h;
}

/*
 * eoi_twin: the same EOI-register write through the public entry point
 * (with its EOI fast path) on x and through the slow path
 * (lapic_mmio_write_slow, lapic_msr_write_slow) on the scratch LAPIC c,
 * restored from x's state just before. Return value, hook calls and the
 * whole saved state must be identical. a bit 0: MMIO (offset 0xB0 + a
 * in-slot offset from h, size 1/2/4/8 from a bits 2:1) or MSR 0x80B (the
 * value from u64 when a bit 3 is set, else 0), in whatever mode x is.
 */
static void do_eoi_twin(struct fuzz *f, struct inst *x, const struct op *op, struct res *r)
{
	struct inst *c = f->c;
	bool mmio = op->a & 1U;
	unsigned size = mmio_sizes[(op->a >> 1) & 3U];
	uint32_t off = VIRQ_LAPIC_REG_EOI + (op->h & 0xFU);
	const uint32_t msr = VIRQ_X2APIC_MSR_BASE + (VIRQ_LAPIC_REG_EOI >> 4);
	uint64_t val = (op->a & 8U) ? op->u64 : 0;
	int h, rc;
	bool eoi;

	/* The twin: x's state (save syncs x first) with x's accel mode. */
	CHECK(virq_lapic_save(&x->lapic, &g_tmp) == 0);
	CHECK(restore_into(c, &g_tmp) == 0);
	CHECK(virq_lapic_set_accel(&c->lapic, virq_lapic_get_accel(&x->lapic)) == 0);
	h = vec_highest(x, VIRQ_LAPIC_REG_ISR);
	snap_page(x);
	x->env.log = c->env.log = 0;
	x->env.n_eoi = c->env.n_eoi = 0;
	x->env.gerr = c->env.gerr = 0;
	if (mmio) {
		r->rc = virq_lapic_mmio_write(&x->lapic, off, size, val);
		rc = lapic_mmio_write_slow(&c->lapic, off, size, val);
		eoi = off == VIRQ_LAPIC_REG_EOI && size == 4 && mode_of(x) == VIRQ_LAPIC_MODE_XAPIC;
	} else {
		r->rc = virq_lapic_msr_write(&x->lapic, msr, val);
		rc = lapic_msr_write_slow(&c->lapic, msr, val);
		eoi = val == 0 && mode_of(x) == VIRQ_LAPIC_MODE_X2APIC;
	}
	CHECK(r->rc == rc);
	CHECK(x->env.log == c->env.log && x->env.n_eoi == c->env.n_eoi &&
	      x->env.gerr == c->env.gerr);
	if (x->env.n_eoi)
		CHECK(x->env.eoi_vec == c->env.eoi_vec);
	CHECK(memcmp(x->page, c->page, VIRQ_LAPIC_PAGE_SIZE) == 0);
	CHECK(virq_lapic_save(&x->lapic, &g_sa) == 0);
	CHECK(virq_lapic_save(&c->lapic, &g_sc) == 0);
	CHECK(same_state(&g_sa, &g_sc));
	if (eoi && h >= 0) {
		CHECK(!vec_test(x, VIRQ_LAPIC_REG_ISR, (unsigned)h));
		model_lint_eoi(x, h);
		r->val = (uint64_t)h;
	} else {
		CHECK(x->env.n_eoi == 0);
		check_changed_only(x, 0);
	}
}

/*
 * ack_twin: the owner cycle's fast paths against their slow paths. The
 * scratch LAPIC c takes x's state (save syncs x first), then both get the
 * same posts: a bits 1:0 vectors from u32's bytes, each level-triggered
 * when its bit in b is set, SN set first when a bit 2 is (an edge post
 * reaches x by virq_lapic_post_edge(), c by virq_lapic_post(); the
 * descriptors and kicks must match). x acknowledges
 * with virq_lapic_ack() (a lone posted vector may go straight to ISR), c
 * with lapic_ack_slow(); with a bit 3 both then EOI, x with
 * virq_lapic_eoi() (no search when one vector is in service), c with
 * lapic_eoi_slow(). Return values, hook calls, descriptors, pages and
 * saved states must be identical; SN is cleared again at the end.
 */
static void do_ack_twin(struct fuzz *f, struct inst *x, const struct op *op, struct res *r)
{
	struct inst *c = f->c;
	unsigned n = op->a & 3U;
	bool sn = op->a & 4U;
	unsigned kx, kc;
	int rc;

	CHECK(virq_lapic_save(&x->lapic, &g_tmp) == 0);
	CHECK(restore_into(c, &g_tmp) == 0);
	CHECK(virq_lapic_set_accel(&c->lapic, virq_lapic_get_accel(&x->lapic)) == 0);
	x->env.log = c->env.log = 0;
	x->env.n_eoi = c->env.n_eoi = 0;
	x->env.gerr = c->env.gerr = 0;
	kx = x->env.kicks;
	kc = c->env.kicks;
	if (sn) {
		x->lapic.pi.control |= VIRQ_PI_CTRL_SN;
		c->lapic.pi.control |= VIRQ_PI_CTRL_SN;
	}
	for (unsigned k = 0; k < n; k++) {
		uint8_t v = (uint8_t)(op->u32 >> (8 * k));
		bool lvl = (op->b >> k) & 1U;

		/* Edge: x by the header's inline post, c by the call. */
		if (lvl)
			virq_lapic_post(&x->lapic, v, true);
		else
			virq_lapic_post_edge(&x->lapic, v);
		virq_lapic_post(&c->lapic, v, lvl);
	}
	CHECK(memcmp(&x->lapic.pi, &c->lapic.pi, sizeof(x->lapic.pi)) == 0);
	/* A level post kicks when the event word was 0, which the saved
	 * state does not carry over to c: kicks compare for edge posts. */
	if (!(op->b & ((1U << n) - 1U)))
		CHECK(x->env.kicks - kx == c->env.kicks - kc);
	r->rc = virq_lapic_ack(&x->lapic);
	rc = lapic_ack_slow(&c->lapic);
	CHECK(r->rc == rc);
	if (op->a & 8U) {
		virq_lapic_eoi(&x->lapic);
		lapic_eoi_slow(&c->lapic);
	}
	if (sn) {
		x->lapic.pi.control &= ~VIRQ_PI_CTRL_SN;
		c->lapic.pi.control &= ~VIRQ_PI_CTRL_SN;
	}
	CHECK(x->env.log == c->env.log && x->env.n_eoi == c->env.n_eoi &&
	      x->env.gerr == c->env.gerr);
	if (x->env.n_eoi)
		CHECK(x->env.eoi_vec == c->env.eoi_vec);
	CHECK(memcmp(&x->lapic.pi, &c->lapic.pi, sizeof(x->lapic.pi)) == 0);
	/* The other event bits came to c through the saved state, not as
	 * posts: same_state() compares them. */
	CHECK(((x->lapic.posted_events ^ c->lapic.posted_events) &
	       (LAPIC_EV_LEVEL | LAPIC_EV_LINT)) == 0);
	CHECK(memcmp(x->page, c->page, VIRQ_LAPIC_PAGE_SIZE) == 0);
	CHECK(lapic_check_invariants(&x->lapic) == 0);
	CHECK(virq_lapic_save(&x->lapic, &g_sa) == 0);
	CHECK(virq_lapic_save(&c->lapic, &g_sc) == 0);
	CHECK(same_state(&g_sa, &g_sc));
	if (r->rc >= 0 && !(op->a & 8U)) {
		CHECK(r->rc >= 16 && r->rc <= 255);
		CHECK(vec_test(x, VIRQ_LAPIC_REG_ISR, (unsigned)r->rc));
		CHECK(vec_highest(x, VIRQ_LAPIC_REG_ISR) == r->rc);
		CHECK(pg(x, VIRQ_LAPIC_REG_PPR) == ((uint32_t)r->rc & 0xF0U));
	}
}

static void check_reset_page(const struct fuzz *f, const struct inst *x, uint32_t id)
{
	CHECK(pg(x, VIRQ_LAPIC_REG_ID) == id);
	CHECK(pg(x, VIRQ_LAPIC_REG_TPR) == 0 && pg(x, VIRQ_LAPIC_REG_SVR) == 0xFFU);
	CHECK(pg(x, VIRQ_LAPIC_REG_DFR) == 0xFFFFFFFFU);
	CHECK(pg(x, VIRQ_LAPIC_REG_ESR) == 0 && pg(x, VIRQ_LAPIC_REG_ICR_LO) == 0);
	CHECK(pg(x, VIRQ_LAPIC_REG_TMICT) == 0 && pg(x, VIRQ_LAPIC_REG_TDCR) == 0);
	for (uint32_t i = 0; i < 8; i++)
		CHECK(pg(x, VIRQ_LAPIC_REG_IRR + 16 * i) == 0 &&
		      pg(x, VIRQ_LAPIC_REG_ISR + 16 * i) == 0 &&
		      pg(x, VIRQ_LAPIC_REG_TMR + 16 * i) == 0);
	for (uint32_t off = VIRQ_LAPIC_REG_LVT_CMCI; off <= VIRQ_LAPIC_REG_LVT_ERROR; off += 16)
		if (is_lvt(f, off))
			CHECK(pg(x, off) == VIRQ_LVT_RESET);
	CHECK(!x->env.host_armed);
}

static void do_take_events(struct fuzz *f, struct inst *x, struct res *r)
{
	struct virq_lapic_events ev;
	enum virq_lapic_mp_state mp = virq_lapic_get_mp_state(&x->lapic);
	uint32_t id = pg(x, VIRQ_LAPIC_REG_ID);
	uint64_t base = virq_lapic_get_apic_base(&x->lapic);
	uint32_t fl;

	memset(&ev, 0x5A, sizeof(ev));
	fl = virq_lapic_take_events(&x->lapic, &ev);
	r->flags = fl;
	r->aux = ev.sipi_vector | (uint32_t)ev.nmi_count << 8;
	CHECK(fl == ev.flags);
	CHECK((fl & ~0x1FU) == 0);
	/* lapic.h: 1 or 2 NMIs with the flag, none without. */
	CHECK((fl & VIRQ_LAPIC_EV_NMI) ? ev.nmi_count >= 1 && ev.nmi_count <= VIRQ_LAPIC_MAX_NMI
				       : ev.nmi_count == 0);
	/* Counted, not merged: NMI messages since the last take are all
	 * reported, up to two (held while waiting for a SIPI; gone with an
	 * INIT). */
	if (fl & VIRQ_LAPIC_EV_INIT)
		x->env.nmi_msgs = 0;
	else if (virq_lapic_get_mp_state(&x->lapic) != VIRQ_LAPIC_MP_WAIT_SIPI) {
		CHECK(ev.nmi_count >= (x->env.nmi_msgs < 2U ? x->env.nmi_msgs : 2U));
		x->env.nmi_msgs = 0;
	}
	CHECK(virq_lapic_get_apic_base(&x->lapic) == base);
	if (!(fl & VIRQ_LAPIC_EV_SIPI))
		CHECK(ev.sipi_vector == 0);
	if (fl & VIRQ_LAPIC_EV_INIT) {
		/* SDM 10.4.7.3 "Local APIC State After an INIT Reset
		 * ("Wait-for-SIPI" State)": INIT resets the APIC but the ID, base
		 * and mode. */
		check_reset_page(f, x, id);
		if (f->cfg.bsp)
			CHECK(virq_lapic_get_mp_state(&x->lapic) == VIRQ_LAPIC_MP_RUNNABLE);
		CHECK(!(fl & VIRQ_LAPIC_EV_NMI));
	}
	if (fl & VIRQ_LAPIC_EV_SIPI) {
		CHECK(mp == VIRQ_LAPIC_MP_WAIT_SIPI || (fl & VIRQ_LAPIC_EV_INIT));
		CHECK(!f->cfg.bsp);
		CHECK(virq_lapic_get_mp_state(&x->lapic) == VIRQ_LAPIC_MP_RUNNABLE);
	} else if (!(fl & VIRQ_LAPIC_EV_INIT)) {
		CHECK(virq_lapic_get_mp_state(&x->lapic) == mp);
	}
	if (virq_lapic_get_mp_state(&x->lapic) == VIRQ_LAPIC_MP_WAIT_SIPI) {
		CHECK((fl & ~VIRQ_LAPIC_EV_INIT) == 0); /* the rest waits for SIPI */
		return;
	}
	/*
	 * ExtINT is level-sensitive on either LINT entry (SDM 10.5.1 "Local Vector Table"): while a
	 * pin is asserted into an unmasked ExtINT entry, an INTA is due. With
	 * no APIC, LINT0 is the INTR pin.
	 */
	if (fl & VIRQ_LAPIC_EV_INIT)
		return;
	if (mode_of(x) == VIRQ_LAPIC_MODE_DISABLED) {
		if (x->pin_level[0])
			CHECK(fl & VIRQ_LAPIC_EV_EXTINT);
		return;
	}
	for (unsigned p = 0; p < 2; p++) {
		uint32_t lvt = pg(x, p ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0);

		if (!(lvt & VIRQ_LVT_MASKED) && ((lvt >> 8) & 7U) == VIRQ_DM_EXTINT &&
		    x->pin_level[p] != !!(lvt & VIRQ_LVT_POLARITY_LOW))
			CHECK(fl & VIRQ_LAPIC_EV_EXTINT);
	}
}

/* Fires (or not) the timer the embedder holds; @due: the host deadline passed. */
static void do_timer_expired(struct fuzz *f, struct inst *x, struct res *r)
{
	uint32_t lvt = pg(x, VIRQ_LAPIC_REG_LVT_TIMER);
	uint32_t m = timer_mode(x), vec = lvt & 0xFFU;
	bool armed = x->env.host_armed;
	bool due = armed && f->w.now >= x->env.host_deadline;
	bool deliver = !(lvt & VIRQ_LVT_MASKED) && is_active(x) && vec >= 16;
	uint64_t dl_before = x->env.host_deadline, tsc_dl = 0;
	/* A restored overdue timer keeps its grid in the past, the host at now. */
	bool by_restore = x->env.by_restore;
	bool tsc_fire;

	if (f->cfg.tsc_deadline)
		virq_lapic_msr_read(&x->lapic, VIRQ_MSR_IA32_TSC_DEADLINE, &tsc_dl);
	tsc_fire = tsc_dl && guest_tsc_now(f) >= tsc_dl;
	if (due)
		x->env.host_armed = false; /* the host timer fired */
	x->env.in_expired = true;
	virq_lapic_timer_expired(&x->lapic);
	x->env.in_expired = false;
	r->flags = x->env.host_armed;
	r->val = x->env.host_armed ? x->env.host_deadline : 0;
	if (!armed) {
		CHECK(!x->env.host_armed);
		return;
	}
	if (m == VIRQ_LVT_TIMER_TSCDEADLINE) {
		/* Due at the host deadline converted at arming, or earlier
		 * once the guest TSC reached the deadline; else the same
		 * host deadline again. */
		if (tsc_fire || due) {
			uint64_t dl = 1;

			CHECK(!x->env.host_armed);
			virq_lapic_msr_read(&x->lapic, VIRQ_MSR_IA32_TSC_DEADLINE, &dl);
			CHECK(dl == 0); /* fired: disarmed, reads 0 */
			if (deliver)
				CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, vec));
		} else {
			CHECK(x->env.host_armed && x->env.host_deadline == dl_before &&
			      x->env.host_deadline > f->w.now);
		}
		return;
	}
	if (!due) {
		CHECK(x->env.host_armed && x->env.host_deadline == dl_before);
		return;
	}
	if (deliver)
		CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, vec) &&
		      !vec_test(x, VIRQ_LAPIC_REG_TMR, vec));
	if (m == VIRQ_LVT_TIMER_PERIODIC) {
		uint64_t unit = (uint64_t)virq_lapic_tdcr_divisor(pg(x, VIRQ_LAPIC_REG_TDCR)) *
				f->eff.timer_tick_ps;
		uint64_t period = (uint64_t)pg(x, VIRQ_LAPIC_REG_TMICT) * unit / 1000U;

		uint64_t floor = f->eff.timer_min_period_ns, interval;

		if (!period)
			period = 1;
		/* lapic.h: a timer faster than the floor interrupts every k-th
		 * reload, k periods spanning the floor. */
		interval = period >= floor ? period : (floor + period - 1) / period * period;
		/* No drift: the next deadline is on the old grid, within one
		 * interval, and never sooner than the floor after the last. */
		CHECK(x->env.host_armed && x->env.host_deadline > f->w.now);
		CHECK(x->env.host_deadline - f->w.now <= interval);
		if (!by_restore) {
			CHECK((x->env.host_deadline - dl_before) % interval == 0);
			CHECK(x->env.host_deadline - dl_before >= floor);
		}
	} else {
		CHECK(!x->env.host_armed);
	}
}

/* SDM 10.6.2.1 "Physical Destination Mode" to 10.6.2.3 "Broadcast/Self
 * Delivery Mode", 10.12.10 "Determining IPI Destination in x2APIC Mode" and
 * the match_dest contract in lapic.h. */
static bool match_def(const struct inst *x, uint32_t dest, bool logical)
{
	enum virq_lapic_mode mode = mode_of(x);
	uint32_t id = pg(x, VIRQ_LAPIC_REG_ID), ldr = pg(x, VIRQ_LAPIC_REG_LDR);
	uint32_t model = pg(x, VIRQ_LAPIC_REG_DFR) >> 28;

	if (mode == VIRQ_LAPIC_MODE_DISABLED)
		return false;
	if (mode == VIRQ_LAPIC_MODE_X2APIC) {
		if (dest == 0xFFFFFFFFU)
			return true;
		if (!logical)
			return dest == id;
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xFFFFU) != 0;
	}
	dest &= 0xFFU;
	if (dest == 0xFFU)
		return true;
	if (!logical)
		return dest == id >> 24;
	if (model == 0xFU)
		return ((ldr >> 24) & dest) != 0;
	if (model == 0)
		return (ldr >> 28) == (dest >> 4) && ((ldr >> 24) & dest & 0xFU) != 0;
	return false;
}

/* Fuzz-side effects of an op on the shared world (clock, TSC), applied once. */
/* ---- hardware acceleration: the CPU writes the page (lapic.h, virq_lapic_accel) ---- */

static void pv_set(struct inst *x, uint32_t base, unsigned v)
{
	x->page[(base >> 2) + 4U * (v >> 5)] |= 1U << (v & 31U);
}

static void pv_clear(struct inst *x, uint32_t base, unsigned v)
{
	x->page[(base >> 2) + 4U * (v >> 5)] &= ~(1U << (v & 31U));
}

static bool bm_has(const uint64_t *bm, unsigned v)
{
	return (bm[v >> 6] >> (v & 63U)) & 1U;
}

static uint32_t bm_hash(const struct virq_lapic *l)
{
	uint64_t bm[4], h = 0;

	virq_lapic_eoi_exit_bitmap(l, bm);
	for (unsigned i = 0; i < 4; i++)
		h = (h ^ bm[i]) * 0x100000001B3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

/*
 * The EOI-exit bitmap from its definition in lapic.h: TMR when a level
 * EOI is broadcast (an eoi_level hook, SVR[12] clear), plus the vector a
 * level LINT entry with Remote IRR delivered (unknown to the model: any
 * one vector per such entry).
 */
static void check_eoi_exit_bitmap(const struct fuzz *f, const struct inst *x)
{
	bool bcast = f->ops.eoi_level && !(pg(x, VIRQ_LAPIC_REG_SVR) & VIRQ_LAPIC_SVR_EOI_SUPPRESS);
	uint64_t bm[4], extra = 0;
	unsigned lint = 0;

	virq_lapic_eoi_exit_bitmap(&x->lapic, bm);
	for (unsigned v = 0; v < 256; v++) {
		bool t = bcast && vec_test(x, VIRQ_LAPIC_REG_TMR, v);

		if (t)
			CHECK(bm_has(bm, v));
		else if (bm_has(bm, v))
			extra++;
	}
	for (unsigned p = 0; p < 2; p++) {
		uint32_t lvt = pg(x, p ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0);

		if (!(lvt & VIRQ_LVT_REMOTE_IRR))
			continue;
		lint++;
		if (x->rirr_vec[p] >= 16)
			CHECK(bm_has(bm, (unsigned)x->rirr_vec[p]));
	}
	CHECK(extra <= lint);
}

/* Words of the slots the CPU may write with APICv (TPR, PPR, EOI, ISR, IRR, ICR). */
static uint32_t hw_word(unsigned i)
{
	static const uint32_t slots[5] = { VIRQ_LAPIC_REG_TPR, VIRQ_LAPIC_REG_PPR,
					   VIRQ_LAPIC_REG_EOI, VIRQ_LAPIC_REG_ICR_LO,
					   VIRQ_LAPIC_REG_ICR_HI };
	unsigned slot = i / 4U % 21U, w = i % 4U;

	if (slot < 5)
		return slots[slot] + 4U * w;
	if (slot < 13)
		return VIRQ_LAPIC_REG_ISR + 16U * (slot - 5U) + 4U * w;
	return VIRQ_LAPIC_REG_IRR + 16U * (slot - 13U) + 4U * w;
}

#define S_HW                                                                                       \
	(S(VIRQ_LAPIC_REG_TPR) | S(VIRQ_LAPIC_REG_PPR) | S(VIRQ_LAPIC_REG_EOI) |                   \
	 S_RANGE8(VIRQ_LAPIC_REG_ISR) | S_RANGE8(VIRQ_LAPIC_REG_IRR) | S(VIRQ_LAPIC_REG_ICR_LO) |  \
	 S(VIRQ_LAPIC_REG_ICR_HI))

/*
 * One guest run under the instance's accel mode: the backend programs RVI
 * (which folds posted requests), the CPU changes the page as the SDM lets
 * it (Vol. 3C, "Virtual-Interrupt Delivery", "EOI Virtualization", "TPR
 * Virtualization", "Self-IPI Virtualization", "Posted-Interrupt
 * Processing"), then the VM exit: virq_lapic_hw_sync(), or
 * virq_lapic_hw_eoi() for an EOI-induced exit. A change the mode does not
 * allow is not made; the resync of an unchanged page changes nothing.
 * Kind 5 writes junk into the fields the CPU owns: only the invariants
 * must hold.
 */
static void do_hw(struct fuzz *f, struct inst *x, const struct op *op, struct res *r)
{
	struct virq_lapic *l = &x->lapic;
	enum virq_lapic_accel acc = virq_lapic_get_accel(l);
	bool vid = acc == VIRQ_LAPIC_ACCEL_APICV;
	enum virq_lapic_mode mode = mode_of(x);
	unsigned kind = op->a % 6U;
	uint8_t rvi = virq_lapic_rvi(l);
	int hi;

	CHECK(rvi ==
	      (vec_highest(x, VIRQ_LAPIC_REG_IRR) < 0 ? 0 : vec_highest(x, VIRQ_LAPIC_REG_IRR)));
	snap_page(x);
	r->flags = kind;
	switch (kind) {
	case 0: /* virtual-interrupt delivery of RVI */
		if (!vid || !rvi || (rvi >> 4) <= ((pg(x, VIRQ_LAPIC_REG_PPR) >> 4) & 0xFU))
			break;
		pv_clear(x, VIRQ_LAPIC_REG_IRR, rvi);
		pv_set(x, VIRQ_LAPIC_REG_ISR, rvi);
		x->page[VIRQ_LAPIC_REG_PPR >> 2] = rvi & 0xF0U;
		virq_lapic_hw_sync(l);
		CHECK(vec_test(x, VIRQ_LAPIC_REG_ISR, rvi) &&
		      !vec_test(x, VIRQ_LAPIC_REG_IRR, rvi));
		CHECK(vec_highest(x, VIRQ_LAPIC_REG_IRR) < rvi);
		CHECK(vec_highest(x, VIRQ_LAPIC_REG_ISR) == rvi);
		CHECK(pg(x, VIRQ_LAPIC_REG_PPR) == (rvi & 0xF0U));
		CHECK(virq_lapic_svi(l) == rvi);
		check_changed_only(x, S_RANGE8(VIRQ_LAPIC_REG_IRR) | S_RANGE8(VIRQ_LAPIC_REG_ISR) |
					      S(VIRQ_LAPIC_REG_PPR));
		r->val = rvi;
		return;
	case 1: { /* EOI virtualization of SVI */
		uint64_t bm[4];
		bool level, suppress, stale, lint_hit;

		hi = vec_highest(x, VIRQ_LAPIC_REG_ISR);
		if (!vid || hi < 0)
			break;
		level = vec_test(x, VIRQ_LAPIC_REG_TMR, (unsigned)hi) && f->ops.eoi_level;
		suppress = (pg(x, VIRQ_LAPIC_REG_SVR) & VIRQ_LAPIC_SVR_EOI_SUPPRESS) != 0;
		if (mode == VIRQ_LAPIC_MODE_XAPIC)
			x->page[VIRQ_LAPIC_REG_EOI >> 2] = op->u32; /* the guest's EOI write */
		pv_clear(x, VIRQ_LAPIC_REG_ISR, (unsigned)hi);
		x->page[VIRQ_LAPIC_REG_PPR >> 2] =
			ppr_def(pg(x, VIRQ_LAPIC_REG_TPR), vec_highest(x, VIRQ_LAPIC_REG_ISR));
		virq_lapic_eoi_exit_bitmap(l, bm);
		/* An EOI with an effect must exit. */
		if (level && !suppress)
			CHECK(bm_has(bm, (unsigned)hi));
		for (unsigned p = 0; p < 2; p++)
			if (x->rirr_vec[p] == hi)
				CHECK(bm_has(bm, (unsigned)hi));
		/*
		 * h bit 15: a backend that did not reload the bitmap, so the
		 * CPU exits for nothing (lapic.h: the EOI of a LINT vector then
		 * runs at the resync, once the vector left IRR and ISR; another
		 * level EOI is lost). Only where the model knows the vectors.
		 */
		stale = (op->h & 0x8000U) && !vec_test(x, VIRQ_LAPIC_REG_IRR, (unsigned)hi) &&
			x->rirr_vec[0] != -2 && x->rirr_vec[1] != -2;
		lint_hit = x->rirr_vec[0] == hi || x->rirr_vec[1] == hi;
		if (bm_has(bm, (unsigned)hi) && !stale)
			virq_lapic_hw_eoi(l, (uint8_t)hi);
		else
			virq_lapic_hw_sync(l);
		if (stale && !lint_hit)
			level = false; /* lost */
		r->rc = bm_has(bm, (unsigned)hi) | (stale ? 2 : 0);
		for (uint32_t i = 0; i < 8; i++) {
			uint32_t bit = (uint32_t)hi >> 5 == i ? 1U << (hi & 31) : 0;

			CHECK(pg(x, VIRQ_LAPIC_REG_ISR + 16 * i) ==
			      (before(VIRQ_LAPIC_REG_ISR + 16 * i) & ~bit));
		}
		if (level && !suppress)
			CHECK(x->env.n_eoi == 1 && x->env.eoi_vec == (uint8_t)hi);
		else
			CHECK(x->env.n_eoi == 0);
		model_lint_eoi(x, hi);
		check_changed_only(x, S_RANGE8(VIRQ_LAPIC_REG_ISR) | S(VIRQ_LAPIC_REG_PPR) |
					      S_ACCEPT | S(VIRQ_LAPIC_REG_LVT_LINT0) |
					      S(VIRQ_LAPIC_REG_LVT_LINT1));
		r->val = (uint64_t)hi;
		return;
	}
	case 2: { /* TPR virtualization: MOV to CR8, or an xAPIC write of TPR */
		uint32_t tpr = (op->h & 1U) ? (op->b & 0xFU) << 4 : op->b;

		if (acc == VIRQ_LAPIC_ACCEL_NONE)
			break;
		x->page[VIRQ_LAPIC_REG_TPR >> 2] = tpr;
		if (vid) /* PPR virtualization */
			x->page[VIRQ_LAPIC_REG_PPR >> 2] =
				ppr_def(tpr, vec_highest(x, VIRQ_LAPIC_REG_ISR));
		virq_lapic_hw_sync(l);
		CHECK(pg(x, VIRQ_LAPIC_REG_TPR) == tpr);
		CHECK(pg(x, VIRQ_LAPIC_REG_PPR) ==
		      ppr_def(tpr, vec_highest(x, VIRQ_LAPIC_REG_ISR)));
		CHECK(virq_lapic_get_cr8(l) == tpr >> 4);
		check_changed_only(x, S(VIRQ_LAPIC_REG_TPR) | S(VIRQ_LAPIC_REG_PPR));
		r->val = tpr;
		return;
	}
	case 3: { /* self-IPI virtualization (xAPIC ICR write, or WRMSR 83FH) */
		unsigned v = op->b < 16 ? op->b + 16U : op->b;
		uint32_t icr = 0x40000U | v; /* self, fixed, edge */

		if (!vid || mode == VIRQ_LAPIC_MODE_DISABLED)
			break;
		if (mode == VIRQ_LAPIC_MODE_XAPIC)
			x->page[VIRQ_LAPIC_REG_ICR_LO >> 2] = icr;
		pv_set(x, VIRQ_LAPIC_REG_IRR, v);
		virq_lapic_hw_sync(l);
		CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, v));
		if (mode == VIRQ_LAPIC_MODE_XAPIC)
			CHECK(pg(x, VIRQ_LAPIC_REG_ICR_LO) == icr);
		CHECK(virq_lapic_rvi(l) >= v);
		check_changed_only(x, S_RANGE8(VIRQ_LAPIC_REG_IRR) | S(VIRQ_LAPIC_REG_ICR_LO) |
					      S_ACCEPT);
		r->val = v;
		return;
	}
	case 4: { /* posts while the guest runs; the CPU processes PIR into VIRR */
		uint64_t pir[4];

		if (!vid)
			break;
		virq_lapic_post(l, op->b, false);
		virq_lapic_post(l, (uint8_t)op->h, (op->h >> 8) & 1U); /* level: stays posted */
		virq_atomic_fetch_and64(&l->pi.control, ~VIRQ_PI_CTRL_ON);
		for (unsigned i = 0; i < 4; i++) {
			pir[i] = virq_atomic_xchg64(&l->pi.pir[i], 0);
			x->page[(VIRQ_LAPIC_REG_IRR >> 2) + 8U * i] |= (uint32_t)pir[i];
			x->page[(VIRQ_LAPIC_REG_IRR >> 2) + 8U * i + 4U] |=
				(uint32_t)(pir[i] >> 32);
		}
		virq_lapic_hw_sync(l);
		for (unsigned v = 0; v < 256; v++) {
			bool posted = bm_has(pir, v);

			if (v < 16 || mode == VIRQ_LAPIC_MODE_DISABLED)
				CHECK(!vec_test(x, VIRQ_LAPIC_REG_IRR, v));
			else if (posted)
				CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, v));
			else
				CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, v) ==
				      vec_test_before(VIRQ_LAPIC_REG_IRR, v));
		}
		check_changed_only(x, S_RANGE8(VIRQ_LAPIC_REG_IRR));
		r->val = pir[0] ^ pir[1] ^ pir[2] ^ pir[3];
		return;
	}
	default: { /* hostile: junk in the fields the CPU owns */
		unsigned n = 1U + op->h % 4U;
		uint32_t junk = op->u32;

		if (acc == VIRQ_LAPIC_ACCEL_NONE)
			break;
		for (unsigned k = 0; k < n; k++) {
			x->page[hw_word((op->h >> 2) + 29U * k) >> 2] ^= junk;
			junk = junk * 0x9E3779B1U + k;
		}
		if (op->b & 1U)
			virq_lapic_hw_eoi(l, op->b);
		else
			virq_lapic_hw_sync(l);
		/* The model's LINT shadow follows what the resync did. */
		for (unsigned p = 0; p < 2; p++)
			x->rirr_vec[p] = (l->lint_rirr >> p) & 1U ? (int)l->lint_vec[p] : -1;
		check_changed_only(x, S_HW | S_ACCEPT | S(VIRQ_LAPIC_REG_LVT_LINT0) |
					      S(VIRQ_LAPIC_REG_LVT_LINT1));
		return;
	}
	}
	/* Nothing the mode lets the CPU do: a resync of a consistent page. */
	virq_lapic_hw_sync(l);
	check_changed_only(x, 0);
	CHECK(x->env.n_eoi == 0);
}

/*
 * An APIC-write VM exit (SDM Vol. 3C "APIC-Write VM Exits"), at the APICv
 * level: the CPU stored a guest write in the page (recorded before the
 * entry with virq_lapic_hw_enter()) and exited; virq_lapic_hw_write()
 * must do exactly what the MMIO write does in xAPIC mode, and, in x2APIC
 * mode, for the ICR that IPI virtualization did not take (the 64-bit value
 * at 300H, bits 63:32 at 304H), what the WRMSR to 830H does (a value the
 * WRMSR refuses is dropped). Selected by op->a >= 0xF0 of OP_HW.
 */
static void do_hw_write(struct fuzz *f, struct inst *x, const struct op *op, struct res *r)
{
	static const uint16_t offs[16] = {
		VIRQ_LAPIC_REG_ID,        VIRQ_LAPIC_REG_LDR,       VIRQ_LAPIC_REG_DFR,
		VIRQ_LAPIC_REG_SVR,       VIRQ_LAPIC_REG_ESR,       VIRQ_LAPIC_REG_LVT_CMCI,
		VIRQ_LAPIC_REG_ICR_LO,    VIRQ_LAPIC_REG_LVT_TIMER, VIRQ_LAPIC_REG_LVT_THERMAL,
		VIRQ_LAPIC_REG_LVT_PMC,   VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LAPIC_REG_LVT_LINT1,
		VIRQ_LAPIC_REG_LVT_ERROR, VIRQ_LAPIC_REG_TMICT,     VIRQ_LAPIC_REG_TDCR,
		VIRQ_LAPIC_REG_ICR_LO,
	};
	struct virq_lapic *l = &x->lapic;
	enum virq_lapic_mode mode = mode_of(x);
	uint32_t off = offs[op->h % 16U];
	uint64_t val = op->u32;

	r->flags = 6;
	if (virq_lapic_get_accel(l) != VIRQ_LAPIC_ACCEL_APICV || mode == VIRQ_LAPIC_MODE_DISABLED)
		return;
	virq_lapic_hw_enter(l);
	snap_page(x);
	if (mode == VIRQ_LAPIC_MODE_X2APIC) {
		int gp;

		/* Only the ICR comes back this way in x2APIC mode. */
		val |= (uint64_t)(op->b | (uint32_t)op->h << 8) << 32;
		x->page[VIRQ_LAPIC_REG_ICR_LO >> 2] = (uint32_t)val;
		x->page[(VIRQ_LAPIC_REG_ICR_LO >> 2) + 1U] = (uint32_t)(val >> 32);
		virq_lapic_hw_write(l, VIRQ_LAPIC_REG_ICR_LO | (op->b & 0xFU));
		gp = x2_gp_expected(f, VIRQ_LAPIC_REG_ICR_LO, val, true);
		CHECK(gp >= 0);
		if (gp)
			check_changed_only(x, 0);
		else
			check_reg_written(f, x, VIRQ_LAPIC_REG_ICR_LO, val, true);
		return;
	}
	x->page[off >> 2] = (uint32_t)val;
	virq_lapic_hw_write(l, off | (op->b & 0xFU));
	check_xapic_write(f, x, off, val);
}

/* The values a VMX backend programs before an entry. */
static void do_hw_query(struct fuzz *f, struct inst *x, struct res *r)
{
	struct virq_lapic *l = &x->lapic;
	uint8_t rvi = virq_lapic_rvi(l), svi = virq_lapic_svi(l), thr;
	int irr = vec_highest(x, VIRQ_LAPIC_REG_IRR), isr = vec_highest(x, VIRQ_LAPIC_REG_ISR);
	uint32_t tpr_cls = pg(x, VIRQ_LAPIC_REG_TPR) >> 4;
	uint32_t irr_cls = irr < 0 ? 0 : (uint32_t)irr >> 4,
		 isr_cls = isr < 0 ? 0 : (uint32_t)isr >> 4;

	CHECK(rvi == (irr < 0 ? 0 : irr));
	CHECK(svi == (isr < 0 ? 0 : isr));
	thr = virq_lapic_tpr_threshold(l);
	CHECK(thr <= tpr_cls);
	if (virq_lapic_get_accel(l) == VIRQ_LAPIC_ACCEL_APICV) {
		CHECK(thr == 0);
	} else {
		/* The CPU exits on a TPR write to class c < thr: exactly the
		 * writes that make the highest IRR vector deliverable. */
		bool now = irr >= 0 && irr_cls > (isr_cls > tpr_cls ? isr_cls : tpr_cls);

		for (uint32_t c = 0; c <= tpr_cls; c++) {
			bool then = irr >= 0 && irr_cls > (isr_cls > c ? isr_cls : c);

			if (now)
				CHECK(thr == 0);
			else
				CHECK((c < thr) == then);
		}
	}
	check_eoi_exit_bitmap(f, x);
	r->val = (uint64_t)rvi | (uint64_t)svi << 8 | (uint64_t)thr << 16;
	r->aux = bm_hash(l);
}

static void world_op(struct fuzz *f, const struct op *op)
{
	struct world *w = &f->w;
	const struct env *ea = &f->a->env;
	uint64_t limit = 1ULL << 62, d;

	switch (op->code) {
	case OP_CLOCK: {
		unsigned sh = op->a & 0x3FU;

		d = (uint64_t)op->h << (sh > 40 ? 40 : sh);
		if (w->now + d >= limit)
			d = 0;
		w->now += d;
		if (op->a & 0x80U)
			w->tsc += d / 1000U * f->cfg.tsc_khz / 1000U;
		break;
	}
	case OP_TIMER_FIRE:
		/* Jump to the host deadline (a bit early or late). */
		if (!ea->host_armed || ea->host_deadline >= limit)
			break;
		d = ea->host_deadline;
		if (op->a & 0x80U)
			d = d ? d - 1 - (op->a & 0x3U) : 0;
		else
			d += (uint64_t)(op->a & 0x7FU) << ((op->a >> 5) & 3U) * 8;
		if (d > w->now && d < limit) {
			if (!(op->a & 0x40U))
				w->tsc += (d - w->now) / 1000U * f->cfg.tsc_khz / 1000U +
					  (d - w->now) % 1000U * f->cfg.tsc_khz / 1000000U + 1;
			w->now = d;
		}
		break;
	case OP_SET_TSC:
		switch (op->a & 3U) {
		case 0:
			w->tsc += op->u64 & 0xFFFFU;
			break;
		case 1:
			w->tsc = op->u64;
			break;
		case 2: {
			uint64_t dl = 0;

			if (f->cfg.tsc_deadline)
				virq_lapic_msr_read(&f->a->lapic, VIRQ_MSR_IA32_TSC_DEADLINE, &dl);
			w->tsc = dl + (uint64_t)(int64_t)(int8_t)op->h;
			break;
		}
		default:
			w->tsc -= op->u64 & 0xFFFFU;
			break;
		}
		break;
	default:
		break;
	}
}

/* Ops after which the state is checked with a full round trip. */
static bool op_owner_changes(const struct op *op)
{
	switch (op->code) {
	case OP_POST:
	case OP_POST_MSG:
	case OP_SET_LINT:
	case OP_SET_TSC:
	case OP_MATCH_DEST:
	case OP_ROUND_TRIP:
		return false;
	case OP_CLOCK:
		return (op->a & 0x40U) != 0;
	default:
		return true;
	}
}

static void exec_op(struct fuzz *f, struct inst *x, const struct op *op, struct res *r)
{
	struct virq_lapic *l = &x->lapic;
	bool x2 = mode_of(x) == VIRQ_LAPIC_MODE_X2APIC;

	uint32_t id = pg(x, VIRQ_LAPIC_REG_ID), ldr = pg(x, VIRQ_LAPIC_REG_LDR);
	uint32_t dfr = pg(x, VIRQ_LAPIC_REG_DFR);
	enum virq_lapic_mode mode = mode_of(x);

	memset(r, 0, sizeof(*r));
	x->env.log = 0;
	x->env.n_eoi = 0;
	x->env.gerr = 0;
	x->env.dest_changes = 0;

	switch (op->code) {
	case OP_MMIO_READ: {
		uint32_t off;
		unsigned size;

		mmio_args(op, &off, &size);
		do_mmio_read(f, x, off, size, r);
		break;
	}
	case OP_MMIO_WRITE: {
		uint32_t off;
		unsigned size;

		mmio_args(op, &off, &size);
		do_mmio_write(f, x, off, size, op->u32 | (uint64_t)op->u32 << 32, r);
		break;
	}
	case OP_REG_READ: {
		uint32_t off = reg_arg(op);

		if (x2)
			do_msr_read(f, x, virq_lapic_off_to_msr(off), r);
		else
			do_mmio_read(f, x, off, 4, r);
		break;
	}
	case OP_REG_WRITE: {
		uint32_t off = reg_arg(op);

		if (x2)
			do_msr_write(f, x, virq_lapic_off_to_msr(off),
				     op->u32 | (off == VIRQ_LAPIC_REG_ICR_LO || (op->b & 0x80U)
							? op->u64 << 32
							: 0),
				     r);
		else
			do_mmio_write(f, x, off, 4, op->u32, r);
		break;
	}
	case OP_MSR_READ:
		do_msr_read(f, x, msr_arg(op), r);
		break;
	case OP_MSR_WRITE:
		do_msr_write(f, x, msr_arg(op), msr_val_arg(op), r);
		break;
	case OP_APIC_BASE: {
		uint64_t v = apic_base_arg(f, op), old = virq_lapic_get_apic_base(l);
		bool host = (op->a & 8U) != 0;

		snap_page(x);
		if ((op->a & 0x80U) && !host) {
			r->rc = virq_lapic_msr_write(l, VIRQ_MSR_IA32_APIC_BASE, v);
		} else {
			r->rc = virq_lapic_set_apic_base(l, v, host);
		}
		check_apic_base_write(f, x, v, host, old, (int)r->rc);
		break;
	}
	case OP_CR8: {
		uint64_t v = (op->a & 2U) ? op->u64 : (uint64_t)(op->a >> 4);
		uint32_t tpr = pg(x, VIRQ_LAPIC_REG_TPR);

		r->rc = virq_lapic_set_cr8(l, v);
		if (v & ~0xFULL) {
			/* SDM: CR8 bits 63:4 reserved -> #GP, TPR unchanged. */
			CHECK(r->rc == VIRQ_GP && pg(x, VIRQ_LAPIC_REG_TPR) == tpr);
			CHECK(gerr_seen(f, x, VIRQ_GERR_CR8));
		} else {
			CHECK(r->rc == 0 && pg(x, VIRQ_LAPIC_REG_TPR) == (uint32_t)v << 4);
		}
		r->val = virq_lapic_get_cr8(l);
		break;
	}
	case OP_POST:
		/* b bit 1 on an edge post: the header's inline post instead. */
		if ((op->b & 3U) == 2U)
			virq_lapic_post_edge(l, op->a);
		else
			virq_lapic_post(l, op->a, op->b & 1U);
		break;
	case OP_POST_SYNC: {
		uint8_t v = op->a;
		bool lvl = op->b & 1U, got;
		bool active;

		virq_lapic_sync(l);
		active = is_active(x);
		snap_page(x);
		virq_lapic_post(l, v, lvl);
		got = virq_lapic_sync(l);
		r->rc = got;
		if (v >= 16 && active) {
			/* SDM 10.8.4 "Interrupt Acceptance for Fixed
			 * Interrupts": IRR set, TMR = trigger mode. */
			CHECK(got);
			CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, v));
			CHECK(vec_test(x, VIRQ_LAPIC_REG_TMR, v) == lvl);
			for (uint32_t i = 0; i < 8; i++) {
				uint32_t bit = (uint32_t)v >> 5 == i ? 1U << (v & 31U) : 0;

				CHECK(pg(x, VIRQ_LAPIC_REG_IRR + 16 * i) ==
				      (before(VIRQ_LAPIC_REG_IRR + 16 * i) | bit));
			}
			check_changed_only(x, S_ACCEPT);
		} else if (v < 16 && active) {
			CHECK(gerr_seen(f, x, VIRQ_GERR_RECV_ILLEGAL_VECTOR));
			check_changed_only(x, S_ACCEPT); /* LVT Error may fire */
		} else {
			check_changed_only(x, 0); /* dropped */
		}
		if (!got)
			CHECK(vec_equal(x, g_before, VIRQ_LAPIC_REG_IRR));
		break;
	}
	case OP_POST_MSG:
		if (op->msg.delivery == VIRQ_DM_NMI &&
		    (virq_lapic_get_apic_base(l) & VIRQ_APIC_BASE_EN))
			x->env.nmi_msgs++;
		virq_lapic_post_msg(l, &op->msg);
		break;
	case OP_SET_LINT: {
		unsigned pin = (op->a >> 1) & 3U;

		r->rc = virq_lapic_set_lint(l, pin, op->a & 1U);
		CHECK(r->rc == (pin <= 1 ? 0 : -VIRQ_EINVAL));
		if (pin <= 1)
			x->pin_level[pin] = op->a & 1U;
		break;
	}
	case OP_SYNC:
		snap_page(x);
		r->rc = virq_lapic_sync(l);
		/* "true when anything new was accepted into IRR" */
		if (!r->rc)
			CHECK(vec_equal(x, g_before, VIRQ_LAPIC_REG_IRR));
		check_changed_only(x, S_ACCEPT | S(VIRQ_LAPIC_REG_LVT_LINT0) |
					      S(VIRQ_LAPIC_REG_LVT_LINT1));
		break;
	case OP_PENDING:
		r->rc = virq_lapic_pending(l);
		do_pending_check(x, (int)r->rc);
		break;
	case OP_ACK: {
		uint32_t ppr = pg(x, VIRQ_LAPIC_REG_PPR);
		int v = virq_lapic_ack(l);

		r->rc = v;
		if (v == VIRQ_LAPIC_NO_VECTOR) {
			do_pending_check(x, v);
			break;
		}
		/* Its class was above the PPR read just before; now in service. */
		CHECK(v >= 16 && v <= 255);
		CHECK(((uint32_t)v >> 4) > (ppr >> 4));
		CHECK(vec_test(x, VIRQ_LAPIC_REG_ISR, (unsigned)v));
		CHECK(!vec_test(x, VIRQ_LAPIC_REG_IRR, (unsigned)v));
		CHECK(vec_highest(x, VIRQ_LAPIC_REG_IRR) < v);
		CHECK(vec_highest(x, VIRQ_LAPIC_REG_ISR) == v);
		CHECK(pg(x, VIRQ_LAPIC_REG_PPR) == ((uint32_t)v & 0xF0U));
		break;
	}
	case OP_EOI:
		do_eoi(f, x, false, 0, r);
		break;
	case OP_EOI_REG:
		do_eoi(f, x, true, op->a, r);
		break;
	case OP_TAKE_EVENTS:
		do_take_events(f, x, r);
		break;
	case OP_HAS_WORK:
		r->rc = virq_lapic_has_work(l);
		if (virq_lapic_get_mp_state(l) == VIRQ_LAPIC_MP_RUNNABLE) {
			int h = vec_highest(x, VIRQ_LAPIC_REG_IRR);

			if (mode_of(x) != VIRQ_LAPIC_MODE_DISABLED && h >= 0 &&
			    ((uint32_t)h & 0xF0U) > (pg(x, VIRQ_LAPIC_REG_PPR) & 0xF0U))
				CHECK(r->rc);
		}
		break;
	case OP_CLOCK:
		if (op->a & 0x40U)
			do_timer_expired(f, x, r);
		break;
	case OP_TIMER_FIRE:
	case OP_TIMER_EXPIRED:
		do_timer_expired(f, x, r);
		break;
	case OP_SET_TSC:
		break;
	case OP_DELIVER_LVT: {
		unsigned which = op->a % 4U;
		static const uint32_t offs[3] = { VIRQ_LAPIC_REG_LVT_CMCI,
						  VIRQ_LAPIC_REG_LVT_THERMAL,
						  VIRQ_LAPIC_REG_LVT_PMC };
		uint32_t lvt = which < 3 ? pg(x, offs[which]) : 0;
		uint32_t dm = (lvt >> 8) & 7U;
		bool active = is_active(x);
		bool delivered;

		snap_page(x);
		r->rc = virq_lapic_deliver_lvt(l, (enum virq_lapic_lvt)which);
		if (which == 3) {
			CHECK(r->rc == -VIRQ_EINVAL);
			check_changed_only(x, 0);
			break;
		}
		if (which == 0 && !has_cmci(f)) {
			CHECK(r->rc == -VIRQ_ENOTSUP);
			check_changed_only(x, 0);
			break;
		}
		CHECK(r->rc == 0);
		delivered = !(lvt & VIRQ_LVT_MASKED) && mode_of(x) != VIRQ_LAPIC_MODE_DISABLED &&
			    (dm == VIRQ_DM_FIXED || dm == VIRQ_DM_SMI || dm == VIRQ_DM_NMI);
		if (delivered && dm == VIRQ_DM_FIXED && active && (lvt & 0xFFU) >= 16)
			CHECK(vec_test(x, VIRQ_LAPIC_REG_IRR, lvt & 0xFFU));
		if (which == 2 && delivered)
			CHECK(pg(x, VIRQ_LAPIC_REG_LVT_PMC) & VIRQ_LVT_MASKED); /* PMI masks */
		if (!delivered)
			check_changed_only(x, 0);
		else
			check_changed_only(x, S_ACCEPT | S(offs[which]));
		break;
	}
	case OP_RESTORE_DAMAGED: {
		uint32_t *w = (uint32_t *)&g_tmp;
		static _Alignas(64) struct virq_lapic snap;
		unsigned arms = x->env.arms, cancels = x->env.cancels;

		CHECK(virq_lapic_save(l, &g_tmp) == 0);
		w[op->h % (sizeof(g_tmp) / 4)] ^= op->u32;
		snap_page(x);
		memcpy(&snap, l, sizeof(snap));
		r->rc = restore_into(x, &g_tmp);
		CHECK(r->rc == 0 || r->rc == -VIRQ_ESTATE || r->rc == -VIRQ_EVERSION);
		if (r->rc) {
			/* Refused without side effects. */
			CHECK(memcmp(&snap, l, sizeof(snap)) == 0);
			check_changed_only(x, 0);
			CHECK(memcmp(g_before, x->page, sizeof(g_before)) == 0);
			CHECK(x->env.arms == arms && x->env.cancels == cancels);
		}
		break;
	}
	case OP_RESET:
		virq_lapic_reset(l);
		x->env.nmi_msgs = 0; /* discarded */
		CHECK(virq_lapic_get_apic_base(l) ==
		      (VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
		       (f->cfg.bsp ? VIRQ_APIC_BASE_BSP : 0)));
		check_reset_page(f, x, f->cfg.apic_id << 24);
		CHECK(virq_lapic_get_mp_state(l) ==
		      (f->cfg.bsp ? VIRQ_LAPIC_MP_RUNNABLE : VIRQ_LAPIC_MP_WAIT_SIPI));
		break;
	case OP_SET_ACCEL: {
		unsigned m = op->a % 4U; /* 3: not a mode */
		enum virq_lapic_accel old = virq_lapic_get_accel(l);

		snap_page(x);
		r->rc = virq_lapic_set_accel(l, (enum virq_lapic_accel)m);
		if (m > VIRQ_LAPIC_ACCEL_APICV)
			CHECK(r->rc == -VIRQ_EINVAL && virq_lapic_get_accel(l) == old);
		else
			CHECK(r->rc == 0 && virq_lapic_get_accel(l) == (enum virq_lapic_accel)m);
		/* Every page the library left is consistent: the resync of the old
		 * mode changes nothing. */
		check_changed_only(x, 0);
		break;
	}
	case OP_HW:
		if (op->a >= 0xF0U)
			do_hw_write(f, x, op, r);
		else
			do_hw(f, x, op, r);
		break;
	case OP_HW_QUERY:
		do_hw_query(f, x, r);
		break;
	case OP_EOI_TWIN:
		do_eoi_twin(f, x, op, r);
		break;
	case OP_ACK_TWIN:
		do_ack_twin(f, x, op, r);
		break;
	case OP_MATCH_DEST: {
		bool logical = op->a & 1U;
		uint32_t dest = op->u32;

		if (op->a & 2U)
			dest = (op->a & 4U) ? 0xFFFFFFFFU : 0xFFU;
		else if (op->a & 4U)
			dest &= 0xFFU;
		r->rc = virq_lapic_match_dest(l, dest, logical);
		CHECK(r->rc == match_def(x, dest, logical));
		if (!logical && (op->a & 8U)) {
			/* The fused physical post: posted exactly when the
			 * destination matches and the APIC accepts fixed
			 * interrupts; the vector is then requested. */
			uint8_t v = (uint8_t)((dest * 2654435761U) >> 24);
			bool lvl = op->a & 16U, want = r->rc && is_active(x);

			CHECK(virq_lapic_post_phys(l, dest, v, lvl) == want);
			if (want)
				CHECK(lvl ? (l->post_level[v >> 6] >> (v & 63U)) & 1U
					  : (l->pi.pir[v >> 6] >> (v & 63U)) & 1U);
		}
		break;
	}
	default:
		break;
	}
	r->aux ^= (uint32_t)x->env.log ^ (uint32_t)(x->env.log >> 32);
	/* Re-enabling a disabled APIC resets it, pending events too. */
	if (mode == VIRQ_LAPIC_MODE_DISABLED && mode_of(x) != VIRQ_LAPIC_MODE_DISABLED)
		x->env.nmi_msgs = 0;

	/* lapic.h: routing maps hear of every ID, LDR, DFR or mode change. */
	if (f->ops.dest_changed &&
	    (id != pg(x, VIRQ_LAPIC_REG_ID) || ldr != pg(x, VIRQ_LAPIC_REG_LDR) ||
	     dfr != pg(x, VIRQ_LAPIC_REG_DFR) || mode != mode_of(x)))
		CHECK(x->env.dest_changes > 0);
	r->flags ^= x->env.dest_changes ? 0x80000000U : 0;
}

static void trace_op(const struct fuzz *f, const struct op *op)
{
	if (!g_trace)
		return;
	fprintf(stderr, "op %-15s a=%02x b=%02x h=%04x u32=%08x u64=%016llx now=%llu tsc=%llu\n",
		op_names[op->code], op->a, op->b, op->h, op->u32, (unsigned long long)op->u64,
		(unsigned long long)f->w.now, (unsigned long long)f->w.tsc);
}

/* Lockstep: the twin restored from a's state must behave like a. */
static void compare_twins(const struct fuzz *f, const struct res *ra, const struct res *rb)
{
	const struct inst *a = f->a, *b = f->b;

	CHECK(ra->rc == rb->rc && ra->val == rb->val && ra->flags == rb->flags &&
	      ra->aux == rb->aux);
	CHECK(memcmp(a->page, b->page, VIRQ_LAPIC_PAGE_SIZE) == 0);
	CHECK(virq_lapic_get_apic_base(&a->lapic) == virq_lapic_get_apic_base(&b->lapic));
	CHECK(virq_lapic_get_mp_state(&a->lapic) == virq_lapic_get_mp_state(&b->lapic));
	CHECK(a->env.host_armed == b->env.host_armed);
	/* Equal deadlines, or both already due (restore re-arms a due timer at now). */
	if (a->env.host_armed)
		CHECK(a->env.host_deadline == b->env.host_deadline ||
		      (a->env.host_deadline <= f->w.now && b->env.host_deadline <= f->w.now));
}

/* ---- configuration ---- */

#define HDR_SIZE 25

/*
 * Header: [0] capabilities, [1] hooks (bits 0-2, 5: without send_ipi,
 * eoi_level, guest_error, dest_changed) and harness modes (bit 3: IPIs loop
 * back, bit 4: lazy round trips), [2] version,
 * [3] max LVT, [4] MAXPHYADDR, [5..8] APIC ID, [9..12] timer tick (ps),
 * [13..16] TSC kHz, [17..20] start time / 1024, [21..24] start TSC / 1024.
 * Unless byte 0 bit 5 asks for the raw values, fields are clamped into
 * their valid ranges.
 */
static void decode_config(struct input *in, struct fuzz *f)
{
	uint8_t caps = in_u8(in), modes = in_u8(in);
	uint8_t ver = in_u8(in), maxlvt = in_u8(in), pab = in_u8(in);
	uint32_t id = in_u32(in), tick = in_u32(in), khz = in_u32(in);
	uint32_t t0 = in_u32(in), tsc0 = in_u32(in);
	struct virq_lapic_config *c = &f->cfg;
	static const uint8_t lvts[3] = { 0, 5, 6 };

	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->x2apic = caps & 1U;
	c->tsc_deadline = (caps >> 1) & 1U;
	c->directed_eoi = (caps >> 2) & 1U;
	c->xapic_id_writable = (caps >> 3) & 1U;
	c->bsp = (caps >> 4) & 1U;
	if (caps & 0x20U) {
		c->version = ver;
		c->max_lvt = maxlvt;
		c->phys_addr_bits = pab;
		c->apic_id = id;
		c->timer_tick_ps = tick;
	} else {
		c->version = (uint8_t)(ver % 7U ? 0x0FU + ver % 7U : 0);
		c->max_lvt = lvts[maxlvt % 3U];
		c->phys_addr_bits = (uint8_t)(pab % 18U ? 35U + pab % 18U : 0);
		if (!c->x2apic || (caps & 0x80U))
			id &= 0xFFU;
		if (id == 0xFFFFFFFFU)
			id--;
		c->apic_id = id;
		c->timer_tick_ps = tick % (LAPIC_TICK_PS_MAX + 1U);
		if (c->tsc_deadline && !khz)
			khz = 1;
	}
	c->tsc_khz = khz;
	/* Periodic-timer floor: default, none, 50 us, or input-chosen (raw
	 * configs may exceed the maximum and must be refused). */
	switch (modes >> 6) {
	case 0:
		c->timer_min_period_ns = 0;
		break;
	case 1:
		c->timer_min_period_ns = 1;
		break;
	case 2:
		c->timer_min_period_ns = 50000;
		break;
	default:
		c->timer_min_period_ns =
			(caps & 0x20U) ? tsc0 : 1 + tsc0 % VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX;
		break;
	}

	memset(&f->ops, 0, sizeof(f->ops));
	f->ops.size = sizeof(f->ops);
	f->ops.kick = cb_kick;
	f->ops.now_ns = cb_now;
	f->ops.timer_arm = cb_timer_arm;
	f->ops.timer_cancel = cb_timer_cancel;
	if (caps & 0x40U)
		f->ops.guest_tsc = cb_guest_tsc;
	if (!(modes & 1U))
		f->ops.send_ipi = cb_send_ipi;
	if (!(modes & 2U))
		f->ops.eoi_level = cb_eoi_level;
	if (!(modes & 4U))
		f->ops.guest_error = cb_guest_error;
	if (!(modes & 0x20U))
		f->ops.dest_changed = cb_dest_changed;
	f->loopback = (modes & 8U) != 0;
	f->lazy = (modes & 0x10U) != 0;

	f->w.now = (uint64_t)t0 << 10;
	f->w.tsc = (uint64_t)tsc0 << 10;

	f->eff = *c;
	if (!f->eff.version)
		f->eff.version = 0x14;
	if (!f->eff.max_lvt)
		f->eff.max_lvt = 6;
	if (!f->eff.phys_addr_bits)
		f->eff.phys_addr_bits = 36;
	if (!f->eff.timer_tick_ps)
		f->eff.timer_tick_ps = 1000;
	if (!f->eff.timer_min_period_ns)
		f->eff.timer_min_period_ns = VIRQ_LAPIC_TIMER_MIN_PERIOD_DEFAULT;
}

/* lapic.h: which configs init must accept. */
static bool config_valid(const struct virq_lapic_config *c)
{
	if (c->apic_id == 0xFFFFFFFFU || (c->apic_id > 0xFFU && !c->x2apic))
		return false;
	if (c->version && (c->version < 0x10U || c->version > 0x15U))
		return false;
	if (c->max_lvt && c->max_lvt != 5U && c->max_lvt != 6U)
		return false;
	if (c->phys_addr_bits && (c->phys_addr_bits < 36U || c->phys_addr_bits > 52U))
		return false;
	if (c->timer_tick_ps > 1000000U)
		return false;
	if (c->timer_min_period_ns > VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX)
		return false;
	return !(c->tsc_deadline && !c->tsc_khz);
}

static int inst_init(struct fuzz *f, struct inst *x, unsigned i, const char *name)
{
	memset(&x->env, 0, sizeof(x->env));
	x->env.w = &f->w;
	x->env.lapic = &x->lapic;
	x->env.loopback = f->loopback;
	x->page = g_pages[i];
	x->name = name;
	x->rirr_vec[0] = x->rirr_vec[1] = -1;
	x->pin_level[0] = x->pin_level[1] = false;
	return virq_lapic_init(&x->lapic, x->page, &f->cfg, &f->ops, &x->env);
}

/* Embedder mistakes at init (once per process: deterministic). */
static void check_init_errors(void)
{
	static bool done;
	static _Alignas(64) struct virq_lapic l;
	static const struct virq_lapic_ops none = { .size = sizeof(struct virq_lapic_ops) };
	static const struct virq_lapic_ops unsized; /* size 0: refused before any hook is read */
	static struct world w;
	static struct env e;
	struct virq_lapic_ops ops;
	struct virq_lapic_config cfg;

	if (done)
		return;
	done = true;
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	memset(&ops, 0, sizeof(ops));
	ops.size = sizeof(ops);
	ops.kick = cb_kick;
	ops.now_ns = cb_now;
	ops.timer_arm = cb_timer_arm;
	ops.timer_cancel = cb_timer_cancel;
	CHECK(virq_lapic_init(NULL, g_pages[0], &cfg, &ops, NULL) == -VIRQ_EINVAL);
	CHECK(virq_lapic_init(&l, NULL, &cfg, &ops, NULL) == -VIRQ_EINVAL);
	CHECK(virq_lapic_init(&l, g_pages[0], NULL, &ops, NULL) == -VIRQ_EINVAL);
	CHECK(virq_lapic_init(&l, g_pages[0], &cfg, NULL, NULL) == -VIRQ_EINVAL);
	CHECK(virq_lapic_init(&l, g_pages[0], &cfg, &none, NULL) == -VIRQ_EINVAL);
	CHECK(virq_lapic_init(&l, g_pages[0], &cfg, &unsized, NULL) == -VIRQ_EVERSION);
	CHECK(virq_lapic_init(&l, (uint8_t *)g_pages[0] + 64, &cfg, &ops, NULL) == -VIRQ_EALIGN);

	/* NULL out-parameters and states on a working LAPIC. */
	memset(&e, 0, sizeof(e));
	e.w = &w;
	e.lapic = &l;
	CHECK(virq_lapic_init(&l, g_pages[0], &cfg, &ops, &e) == 0);
	CHECK(virq_lapic_mmio_read(&l, VIRQ_LAPIC_REG_ID, 4, NULL) == -VIRQ_EINVAL);
	CHECK(virq_lapic_msr_read(&l, VIRQ_MSR_IA32_APIC_BASE, NULL) == -VIRQ_EINVAL);
	CHECK(virq_lapic_save(&l, NULL) == -VIRQ_EINVAL);
	CHECK(virq_lapic_restore(&l, NULL) == -VIRQ_EINVAL);
	CHECK(lapic_check_invariants(&l) == 0);
}

#define MAX_OPS 4096

/* What the embedder sees of a LAPIC, before an op. */
static struct {
	uint32_t page[1024];
	uint64_t base, deadline;
	bool armed;
	enum virq_lapic_mp_state mp;
} g_seen;

static void seen_before(const struct inst *x)
{
	memcpy(g_seen.page, x->page, sizeof(g_seen.page));
	g_seen.base = virq_lapic_get_apic_base(&x->lapic);
	g_seen.mp = virq_lapic_get_mp_state(&x->lapic);
	g_seen.armed = x->env.host_armed;
	g_seen.deadline = x->env.host_deadline;
}

static bool seen_changed(const struct inst *x)
{
	return memcmp(g_seen.page, x->page, sizeof(g_seen.page)) != 0 ||
	       g_seen.base != virq_lapic_get_apic_base(&x->lapic) ||
	       g_seen.mp != virq_lapic_get_mp_state(&x->lapic) ||
	       g_seen.armed != x->env.host_armed || g_seen.deadline != x->env.host_deadline;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz fz;
	struct fuzz *f = &fz;
	struct input in = { data, size };
	struct res ra, rb;
	struct op op;
	unsigned quiet = 0;
	int rc;

	g_trace = getenv("FUZZ_LAPIC_TRACE") != NULL;
	check_init_errors();
	memset(f, 0, sizeof(*f));
	memset(g_inst, 0, sizeof(g_inst));
	f->a = &g_inst[0];
	f->b = &g_inst[1];
	f->c = &g_inst[2];
	decode_config(&in, f);
	for (uint32_t off = 0; off < 0x400U; off += 16)
		if (slot_reserved(f, off))
			f->rsvd_slots |= 1ULL << SLOT(off);

	/* An invalid config is refused and leaves the object and page alone. */
	memset(&f->a->lapic, 0xA5, sizeof(f->a->lapic));
	memset(g_pages[0], 0x5A, sizeof(g_pages[0]));
	rc = inst_init(f, f->a, 0, "a");
	TRACE("config id=%#x x2=%d tscdl=%d deoi=%d idw=%d bsp=%d ver=%#x lvt=%u pab=%u tick=%u "
	      "khz=%u -> %d\n",
	      f->cfg.apic_id, f->cfg.x2apic, f->cfg.tsc_deadline, f->cfg.directed_eoi,
	      f->cfg.xapic_id_writable, f->cfg.bsp, f->cfg.version, f->cfg.max_lvt,
	      f->cfg.phys_addr_bits, f->cfg.timer_tick_ps, f->cfg.tsc_khz, rc);
	if (!config_valid(&f->cfg)) {
		const uint8_t *p = (const uint8_t *)&f->a->lapic;

		CHECK(rc == -VIRQ_EINVAL || rc == -VIRQ_ENOTSUP);
		for (size_t i = 0; i < sizeof(f->a->lapic); i++)
			CHECK(p[i] == 0xA5);
		for (size_t i = 0; i < 1024; i++)
			CHECK(g_pages[0][i] == 0x5A5A5A5AU);
		return 0;
	}
	CHECK(rc == 0);
	CHECK(inst_init(f, f->b, 1, "b") == 0);
	CHECK(inst_init(f, f->c, 2, "c") == 0);
	CHECK(virq_lapic_get_mode(&f->a->lapic) == VIRQ_LAPIC_MODE_XAPIC);
	check_reset_page(f, f->a, f->cfg.apic_id << 24);
	check_inst(f, f->a);

	for (unsigned n = 0; in.n && n < MAX_OPS; n++) {
		decode_op(&in, &op);
		trace_op(f, &op);
		world_op(f, &op);
		if (op.code == OP_ROUND_TRIP) {
			/* b becomes a's restored twin and follows it from now on. */
			check_round_trip(f, f->a, &g_sa);
			CHECK(restore_into(f->b, &g_sa) == 0);
			/* The accel mode is the host's, not in the state: the
			 * embedder sets it on the restored twin. */
			CHECK(virq_lapic_set_accel(&f->b->lapic,
						   virq_lapic_get_accel(&f->a->lapic)) == 0);
			f->lockstep = true;
			check_inst(f, f->b);
			CHECK(virq_lapic_save(&f->b->lapic, &g_sb) == 0);
			CHECK(same_state(&g_sa, &g_sb));
			continue;
		}
		seen_before(f->a);
		exec_op(f, f->a, &op, &ra);
		TRACE("  -> rc=%lld val=%#llx flags=%#x | mode=%d svr=%#x tpr=%#x ppr=%#x irrv=%d "
		      "isrv=%d timer=%s%llu\n",
		      (long long)ra.rc, (unsigned long long)ra.val, ra.flags, mode_of(f->a),
		      pg(f->a, VIRQ_LAPIC_REG_SVR), pg(f->a, VIRQ_LAPIC_REG_TPR),
		      pg(f->a, VIRQ_LAPIC_REG_PPR), vec_highest(f->a, VIRQ_LAPIC_REG_IRR),
		      vec_highest(f->a, VIRQ_LAPIC_REG_ISR), f->a->env.host_armed ? "@" : "-",
		      (unsigned long long)f->a->env.host_deadline);
		check_inst(f, f->a);
		if (f->lockstep) {
			exec_op(f, f->b, &op, &rb);
			check_inst(f, f->b);
			compare_twins(f, &ra, &rb);
		}
		/*
		 * Round trip after every owner op that changed what the embedder
		 * sees (page, base, MP state, host timer), and every 8th owner
		 * op for state kept beside the page (latched errors, events).
		 */
		if (f->lazy || !op_owner_changes(&op))
			continue;
		if (!f->lockstep && !seen_changed(f->a) && (++quiet & 7U))
			continue;
		check_round_trip(f, f->a, &g_sa);
		if (f->lockstep) {
			check_round_trip(f, f->b, &g_sb);
			CHECK(same_state(&g_sa, &g_sb));
		}
	}
	return 0;
}
