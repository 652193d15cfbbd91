/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: virq_lapic_restore() on states the input chooses.
 *
 * Input: a HDR_SIZE-byte header (the LAPIC's config, as in fuzz_lapic.c but
 * shorter), a "pre" program that brings the LAPIC into some state before
 * the restore (pre_state), a mode byte, then a payload that becomes the
 * struct virq_lapic_state:
 *   mode 0: the payload bytes, zero-padded or cut to the struct size;
 *   mode 1: the same, with size and version fixed up (version 1 when bit
 *           2 of the mode byte is set, else version 2 when bit 3 is, else
 *           the current version);
 *   mode 2: the LAPIC's own saved state, XORed with the payload;
 *   mode 3: the LAPIC's own saved state, patched by (u16 word index,
 *           u32 value) pairs from the payload.
 *
 * Set FUZZ_LAPIC_TRACE=1 to print the verdict.
 *
 * Checked (a failed check prints the line and traps):
 *  - a refused state returns -VIRQ_EVERSION (exactly when the version is
 *    not 1 to 3 or the size is wrong) or -VIRQ_ESTATE, and leaves the
 *    LAPIC byte-identical (the
 *    object, the page, the save output) with no host-timer callbacks;
 *  - states the documentation says are damaged are refused (IRR/ISR/TMR
 *    bits 0-15, PPR inconsistent, EN=0/EXTD=1, EXTD without x2APIC, LVTs
 *    unmasked while software-disabled, x2APIC ID/LDR not the config's,
 *    reserved fields and bytes, a LINT Remote IRR without its delivered
 *    vector in IRR or ISR or while globally disabled, a BSP waiting for a
 *    SIPI, a second NMI without the first or before version 3);
 *  - an accepted state: the register page holds what was given,
 *    lapic_check_invariants() and the page checks hold, save gives a state
 *    that restore accepts and that saves identically again, and the LAPIC
 *    keeps its invariants through a few owner operations afterwards, the
 *    first of which takes the events: as many NMIs as the state holds.
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

/* ---- the simulated embedder ---- */

struct env {
	uint64_t now, tsc;
	bool host_armed;
	uint64_t host_deadline;
	unsigned calls; /* timer_arm + timer_cancel + kick + send_ipi + eoi_level */
};

static struct env *env_of(void *ctx)
{
	return (struct env *)ctx;
}

static void cb_kick(void *ctx)
{
	env_of(ctx)->calls++;
}

static uint64_t cb_now(void *ctx)
{
	return env_of(ctx)->now;
}

static uint64_t cb_guest_tsc(void *ctx)
{
	return env_of(ctx)->tsc;
}

static void cb_timer_arm(void *ctx, uint64_t deadline)
{
	struct env *e = env_of(ctx);

	CHECK(deadline >= e->now);
	e->host_armed = true;
	e->host_deadline = deadline;
	e->calls++;
}

static void cb_timer_cancel(void *ctx)
{
	struct env *e = env_of(ctx);

	e->host_armed = false;
	e->calls++;
}

static void cb_send_ipi(void *ctx, const struct virq_apic_msg *m)
{
	CHECK(m->shorthand != VIRQ_SH_SELF && m->reserved0 == 0);
	env_of(ctx)->calls++;
}

static void cb_eoi_level(void *ctx, uint8_t vector)
{
	CHECK(vector >= 16);
	env_of(ctx)->calls++;
}

static void cb_guest_error(void *ctx, enum virq_guest_error code)
{
	(void)ctx;
	CHECK((int)code >= 1 && (int)code < VIRQ_GERR_COUNT);
}

/* ---- configuration ---- */

struct fuzz {
	struct virq_lapic_config cfg;
	struct virq_lapic_ops ops;
	unsigned max_lvt, phys_bits;
	uint8_t version;
};

#define HDR_SIZE 16

/*
 * [0] capabilities (x2apic, tsc_deadline, directed_eoi, xapic_id_writable,
 * bsp, guest_tsc hook, no optional hooks), [1] version, [2] max LVT,
 * [3] MAXPHYADDR, [4..7] APIC ID, [8..11] timer tick (ps), [12..15] TSC kHz.
 * Always clamped into valid ranges: this target is about the state.
 */
static void decode_config(struct input *in, struct fuzz *f)
{
	uint8_t caps = in_u8(in), ver = in_u8(in), lvt = in_u8(in), pab = in_u8(in);
	uint32_t id = in_u32(in), tick = in_u32(in), khz = in_u32(in);
	struct virq_lapic_config *c = &f->cfg;

	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->x2apic = caps & 1U;
	c->tsc_deadline = (caps >> 1) & 1U;
	c->directed_eoi = (caps >> 2) & 1U;
	c->xapic_id_writable = (caps >> 3) & 1U;
	c->bsp = (caps >> 4) & 1U;
	c->version = (uint8_t)(ver % 7U ? 0x0FU + ver % 7U : 0);
	c->max_lvt = (uint8_t)(lvt % 3U ? 4U + lvt % 3U : 0);
	c->phys_addr_bits = (uint8_t)(pab % 18U ? 35U + pab % 18U : 0);
	if (!c->x2apic || (caps & 0x80U))
		id &= 0xFFU;
	c->apic_id = id == 0xFFFFFFFFU ? 0 : id;
	c->timer_tick_ps = tick % 1000001U;
	c->tsc_khz = khz ? khz : 1;

	memset(&f->ops, 0, sizeof(f->ops));
	f->ops.size = sizeof(f->ops);
	f->ops.kick = cb_kick;
	f->ops.now_ns = cb_now;
	f->ops.timer_arm = cb_timer_arm;
	f->ops.timer_cancel = cb_timer_cancel;
	if (caps & 0x20U)
		f->ops.guest_tsc = cb_guest_tsc;
	if (!(caps & 0x40U)) {
		f->ops.send_ipi = cb_send_ipi;
		f->ops.eoi_level = cb_eoi_level;
		f->ops.guest_error = cb_guest_error;
	}
	f->version = c->version ? c->version : 0x14U;
	f->max_lvt = c->max_lvt ? c->max_lvt : 6U;
	f->phys_bits = c->phys_addr_bits ? c->phys_addr_bits : 36U;
}

/* ---- state helpers ---- */

#define R(off) ((off) >> 2)
#define N_WORDS (sizeof(struct virq_lapic_state) / 4)

static _Alignas(4096) uint32_t g_pages[2][1024];
static _Alignas(64) struct virq_lapic g_lapic[2];
static _Alignas(64) struct virq_lapic g_snap;
static uint32_t g_page_snap[1024];
static struct env g_env[2];
static struct virq_lapic_state g_st, g_s0, g_s1, g_s2, g_s3;

static bool has_cmci(const struct fuzz *f)
{
	return f->max_lvt >= 6;
}

static bool is_lvt(const struct fuzz *f, uint32_t off)
{
	if (off == VIRQ_LAPIC_REG_LVT_CMCI)
		return has_cmci(f);
	return off >= VIRQ_LAPIC_REG_LVT_TIMER && off <= VIRQ_LAPIC_REG_LVT_ERROR;
}

/* Bits an LVT may hold (SDM 10.5.1 Figure 10-8, Remote IRR on LINT included). */
static uint32_t lvt_bits(const struct fuzz *f, uint32_t off)
{
	switch (off) {
	case VIRQ_LAPIC_REG_LVT_TIMER:
		return 0x100FFU | (1U << 17) | (f->cfg.tsc_deadline ? 1U << 18 : 0);
	case VIRQ_LAPIC_REG_LVT_LINT0:
	case VIRQ_LAPIC_REG_LVT_LINT1:
		return 0x1A7FFU | VIRQ_LVT_REMOTE_IRR;
	case VIRQ_LAPIC_REG_LVT_ERROR:
		return 0x100FFU;
	default:
		return 0x107FFU;
	}
}

static uint32_t svr_bits(const struct fuzz *f)
{
	return 0x3FFU | (f->cfg.directed_eoi ? VIRQ_LAPIC_SVR_EOI_SUPPRESS : 0);
}

static int highest(const uint32_t *regs, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = regs[R(base) + 4U * (uint32_t)i];

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

static uint32_t ppr_def(uint32_t tpr, int isrv)
{
	uint32_t v = isrv < 0 ? 0 : (uint32_t)isrv;

	return (tpr >> 4) >= (v >> 4) ? (tpr & 0xFFU) : (v & 0xF0U);
}

static uint32_t x2apic_ldr_def(uint32_t id)
{
	return ((id >> 4) << 16) | (1U << (id & 0xFU));
}

/*
 * Damage the documentation (lapic.h, virq_lapic_restore) says must be
 * refused. Written from the spec, not from state.c; not exhaustive.
 */
static const char *must_refuse(const struct fuzz *f, const struct virq_lapic_state *st)
{
	const uint32_t *r = st->regs;
	uint64_t rsvd = (0x2FFULL & ~VIRQ_APIC_BASE_BSP) | (~0ULL << f->phys_bits);
	bool en = (st->apic_base & VIRQ_APIC_BASE_EN) != 0;
	bool x2 = en && (st->apic_base & VIRQ_APIC_BASE_EXTD);
	bool sw = (r[R(VIRQ_LAPIC_REG_SVR)] & VIRQ_LAPIC_SVR_ENABLE) != 0;

	if (!f->cfg.x2apic)
		rsvd |= VIRQ_APIC_BASE_EXTD;
	if (st->apic_base & rsvd)
		return "IA32_APIC_BASE reserved bits";
	if (!en && (st->apic_base & VIRQ_APIC_BASE_EXTD))
		return "EN=0 EXTD=1";
	if (!(st->apic_base & VIRQ_APIC_BASE_BSP) != !f->cfg.bsp)
		return "BSP differs from the config";
	for (uint32_t off = 0; off < 0x400U; off += 4)
		if ((off & 0xFU) && r[R(off)])
			return "bytes 4-15 of a register slot";
	if ((r[R(VIRQ_LAPIC_REG_IRR)] | r[R(VIRQ_LAPIC_REG_ISR)] | r[R(VIRQ_LAPIC_REG_TMR)]) &
	    0xFFFFU)
		return "vector 0-15 in IRR/ISR/TMR";
	if (r[R(VIRQ_LAPIC_REG_TPR)] > 0xFFU)
		return "TPR reserved bits";
	if (r[R(VIRQ_LAPIC_REG_PPR)] !=
	    ppr_def(r[R(VIRQ_LAPIC_REG_TPR)], highest(r, VIRQ_LAPIC_REG_ISR)))
		return "PPR inconsistent";
	if (x2 && (r[R(VIRQ_LAPIC_REG_ID)] != f->cfg.apic_id ||
		   r[R(VIRQ_LAPIC_REG_LDR)] != x2apic_ldr_def(f->cfg.apic_id)))
		return "x2APIC ID/LDR not derived from the config";
	if (r[R(VIRQ_LAPIC_REG_SVR)] & ~svr_bits(f))
		return "SVR reserved bits";
	for (uint32_t off = VIRQ_LAPIC_REG_LVT_CMCI; off <= VIRQ_LAPIC_REG_LVT_ERROR; off += 16) {
		if (off == VIRQ_LAPIC_REG_ICR_LO || off == VIRQ_LAPIC_REG_ICR_HI)
			continue;
		if (!is_lvt(f, off)) {
			if (r[R(off)])
				return "a missing LVT is not 0";
			continue;
		}
		if (r[R(off)] & ~lvt_bits(f, off))
			return "LVT reserved bits";
		if (!sw && !(r[R(off)] & VIRQ_LVT_MASKED))
			return "LVT unmasked while software-disabled";
	}
	if (((r[R(VIRQ_LAPIC_REG_LVT_TIMER)] >> 17) & 3U) == 3U)
		return "reserved timer mode";
	if ((r[R(VIRQ_LAPIC_REG_ESR)] | st->esr_pending) & ~0xF0U)
		return "ESR reserved bits";
	if (r[R(VIRQ_LAPIC_REG_TDCR)] & ~0xBU)
		return "TDCR reserved bits";
	if ((st->flags & ~3U) ||
	    (st->events & ~(0x1FU | (st->version >= 3U ? VIRQ_LAPIC_STATE_EV_NMI2 : 0U))) ||
	    st->sipi_vector > 0xFFU || (st->lint & ~0x3FU))
		return "reserved state fields";
	if ((st->events & VIRQ_LAPIC_STATE_EV_NMI2) && !(st->events & VIRQ_LAPIC_EV_NMI))
		return "a second NMI without the first";
	if (st->version == 1U ? st->lint_vectors != 0 : (st->lint_vectors >> 16) != 0)
		return "lint_vectors reserved bits (or set in version 1)";
	if ((st->flags & VIRQ_LAPIC_STATE_WAIT_SIPI) && f->cfg.bsp)
		return "the BSP waits for a SIPI";
	/* Remote IRR: only for an interrupt pending or in service, with an
	 * enabled APIC (version 1: the entry's vector is the delivered one). */
	for (unsigned pin = 0; pin < 2; pin++) {
		uint32_t lvt = r[R(pin ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0)];
		uint32_t v = st->version == 1U ? (lvt & 0xFFU)
					       : (st->lint_vectors >> (8 * pin)) & 0xFFU;

		if (!(lvt & VIRQ_LVT_REMOTE_IRR)) {
			if (st->version != 1U && v)
				return "a LINT vector without Remote IRR";
			continue;
		}
		if (!en)
			return "Remote IRR while globally disabled";
		if (v < 16 || !((r[R(VIRQ_LAPIC_REG_IRR) + 4 * (v >> 5)] |
				 r[R(VIRQ_LAPIC_REG_ISR) + 4 * (v >> 5)]) >>
					(v & 31) &
				1U))
			return "Remote IRR without its vector in IRR or ISR";
	}
	return NULL;
}

static void check_page(const struct fuzz *f, const struct virq_lapic *l, const uint32_t *p)
{
	uint32_t svr = p[R(VIRQ_LAPIC_REG_SVR)], dfr = p[R(VIRQ_LAPIC_REG_DFR)];
	uint32_t ver = f->version | (uint32_t)f->max_lvt << 16 |
		       (f->cfg.directed_eoi ? VIRQ_LAPIC_VERSION_EOI_SUPPRESS : 0);
	enum virq_lapic_mode mode = virq_lapic_get_mode(l);
	int inv = lapic_check_invariants(l);

	if (inv) {
		fprintf(stderr, "lapic_check_invariants() = %d\n", inv);
		CHECK(inv == 0);
	}
	for (uint32_t i = 0; i < 1024; i++)
		if (i >= 256 || (i & 3U))
			CHECK(p[i] == 0);
	CHECK(((p[R(VIRQ_LAPIC_REG_IRR)] | p[R(VIRQ_LAPIC_REG_ISR)] | p[R(VIRQ_LAPIC_REG_TMR)]) &
	       0xFFFFU) == 0);
	CHECK(p[R(VIRQ_LAPIC_REG_PPR)] ==
	      ppr_def(p[R(VIRQ_LAPIC_REG_TPR)], highest(p, VIRQ_LAPIC_REG_ISR)));
	CHECK(p[R(VIRQ_LAPIC_REG_VERSION)] == ver);
	CHECK((svr & ~svr_bits(f)) == 0);
	CHECK((dfr & 0x0FFFFFFFU) == 0x0FFFFFFFU);
	CHECK((p[R(VIRQ_LAPIC_REG_ESR)] & ~0xF0U) == 0);
	CHECK(p[R(VIRQ_LAPIC_REG_TMCCT)] == 0 && p[R(VIRQ_LAPIC_REG_SELF_IPI)] == 0);
	for (uint32_t off = VIRQ_LAPIC_REG_LVT_CMCI; off <= VIRQ_LAPIC_REG_LVT_ERROR; off += 16) {
		if (!is_lvt(f, off))
			continue;
		CHECK((p[R(off)] & ~lvt_bits(f, off)) == 0);
		if (!(svr & VIRQ_LAPIC_SVR_ENABLE) && mode != VIRQ_LAPIC_MODE_DISABLED)
			CHECK(p[R(off)] & VIRQ_LVT_MASKED);
	}
	if (mode == VIRQ_LAPIC_MODE_X2APIC)
		CHECK(p[R(VIRQ_LAPIC_REG_ID)] == f->cfg.apic_id &&
		      p[R(VIRQ_LAPIC_REG_LDR)] == x2apic_ldr_def(f->cfg.apic_id));
	CHECK(!(virq_lapic_get_apic_base(l) & VIRQ_APIC_BASE_BSP) == !f->cfg.bsp);
}

/* Save, restore into the other LAPIC, save again: identical. */
static void check_round_trip(const struct fuzz *f, unsigned i, struct virq_lapic_state *out)
{
	unsigned j = i ^ 1U;
	bool armed;

	CHECK(virq_lapic_save(&g_lapic[i], out) == 0);
	check_page(f, &g_lapic[i], g_pages[i]);
	armed = (out->flags & VIRQ_LAPIC_STATE_TIMER_ARMED) != 0;
	CHECK(armed == g_env[i].host_armed);
	if (armed)
		CHECK(g_env[i].host_deadline > g_env[i].now
			      ? out->timer_remaining_ns ==
					(int64_t)(g_env[i].host_deadline - g_env[i].now)
			      : out->timer_remaining_ns <= 0);
	g_env[j].now = g_env[i].now;
	g_env[j].tsc = g_env[i].tsc;
	CHECK(virq_lapic_restore(&g_lapic[j], out) == 0);
	check_page(f, &g_lapic[j], g_pages[j]);
	CHECK(virq_lapic_save(&g_lapic[j], &g_s3) == 0);
	CHECK(memcmp(out, &g_s3, sizeof(g_s3)) == 0);
}

/* ---- the LAPIC before the restore ---- */

static void reg_write(struct virq_lapic *l, uint32_t off, uint32_t val)
{
	if (virq_lapic_get_mode(l) == VIRQ_LAPIC_MODE_X2APIC)
		virq_lapic_msr_write(l, virq_lapic_off_to_msr(off), val);
	else
		virq_lapic_mmio_write(l, off, 4, val);
}

/*
 * [0] program bits, [1] vector, [2] second vector, [3] TPR, [4..7] timer
 * count. Uses the API only; whatever the guest-visible result, it is a
 * reachable state.
 */
static void pre_state(const struct fuzz *f, struct input *in, struct virq_lapic *l, struct env *e)
{
	uint8_t prog = in_u8(in), v1 = in_u8(in), v2 = in_u8(in), tpr = in_u8(in);
	uint32_t count = in_u32(in);
	struct virq_apic_msg msg;
	uint64_t base = VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
			(f->cfg.bsp ? VIRQ_APIC_BASE_BSP : 0);

	if ((prog & 2U) && f->cfg.x2apic)
		virq_lapic_set_apic_base(l, base | VIRQ_APIC_BASE_EXTD, false);
	if (prog & 1U)
		reg_write(l, VIRQ_LAPIC_REG_SVR, 0x100U | v2 | (prog & 0x80U ? 0x1000U : 0));
	if (prog & 4U) {
		virq_lapic_post(l, v1, prog & 0x40U);
		virq_lapic_post(l, v2, false);
		virq_lapic_ack(l);
		virq_lapic_post(l, (uint8_t)(v1 ^ 0x20U), prog & 0x20U);
		reg_write(l, VIRQ_LAPIC_REG_TPR, tpr);
		virq_lapic_sync(l);
	}
	if (prog & 8U) {
		uint32_t mode = (prog >> 4) & 3U;

		reg_write(l, VIRQ_LAPIC_REG_LVT_TIMER, (mode == 3 ? 0 : mode << 17) | v1);
		reg_write(l, VIRQ_LAPIC_REG_TDCR, tpr & 0xBU);
		if (mode == 2 && f->cfg.tsc_deadline)
			virq_lapic_msr_write(l, VIRQ_MSR_IA32_TSC_DEADLINE, e->tsc + count + 1);
		else
			reg_write(l, VIRQ_LAPIC_REG_TMICT, count);
		e->now += count / 3U;
	}
	if (prog & 0x10U) {
		reg_write(l, VIRQ_LAPIC_REG_LVT_LINT0, 0x8000U | v1);
		virq_lapic_set_lint(l, 0, true);
		virq_lapic_set_lint(l, 1, (tpr & 1U) != 0);
		if (tpr & 2U) {
			/* Rewritten while in service: the EOI will carry v1. */
			virq_lapic_ack(l);
			reg_write(l, VIRQ_LAPIC_REG_LVT_LINT0, 0x8000U | v2);
		}
	}
	if (prog & 0x40U) {
		memset(&msg, 0, sizeof(msg));
		msg.delivery = (uint8_t)(tpr >> 5);
		msg.vector = v2;
		msg.level = true;
		virq_lapic_post_msg(l, &msg);
	}
	if ((prog & 0x20U) && (prog & 0x80U))
		reg_write(l, VIRQ_LAPIC_REG_ESR, 0); /* and leave errors latched */
	if ((prog & 0xC0U) == 0xC0U)
		virq_lapic_set_apic_base(l, base & ~VIRQ_APIC_BASE_EN, false);
}

/* A few owner operations on the restored LAPIC, checked after each. */
static void exercise(const struct fuzz *f, struct input *in)
{
	struct virq_lapic *l = &g_lapic[0];
	struct virq_lapic_events ev;
	uint64_t v;
	int vec;

	virq_lapic_take_events(l, &ev);
	check_page(f, l, g_pages[0]);
	/* The saved NMIs are all reported (LINT edges in the state may add
	 * more), unless INIT discards them or the AP still waits for a SIPI. */
	CHECK(ev.nmi_count <= VIRQ_LAPIC_MAX_NMI);
	CHECK(((ev.flags & VIRQ_LAPIC_EV_NMI) != 0) == (ev.nmi_count != 0));
	if (!(ev.flags & VIRQ_LAPIC_EV_INIT) &&
	    virq_lapic_get_mp_state(l) == VIRQ_LAPIC_MP_RUNNABLE)
		CHECK(ev.nmi_count >= ((g_st.events & VIRQ_LAPIC_EV_NMI) ? 1U : 0U) +
					      ((g_st.events & VIRQ_LAPIC_STATE_EV_NMI2) ? 1U : 0U));
	vec = virq_lapic_ack(l);
	check_page(f, l, g_pages[0]);
	if (vec >= 0)
		CHECK(vec >= 16 && (g_pages[0][R(VIRQ_LAPIC_REG_ISR) + 4U * ((unsigned)vec >> 5)] >>
				    (vec & 31)) &
					   1U);
	virq_lapic_eoi(l);
	check_page(f, l, g_pages[0]);
	for (uint32_t off = 0; off < 0x400U; off += 16) {
		if (virq_lapic_get_mode(l) == VIRQ_LAPIC_MODE_X2APIC)
			virq_lapic_msr_read(l, virq_lapic_off_to_msr(off), &v);
		else
			virq_lapic_mmio_read(l, off, 4, &v);
	}
	virq_lapic_msr_read(l, VIRQ_MSR_IA32_TSC_DEADLINE, &v);
	check_page(f, l, g_pages[0]);
	if (g_env[0].host_armed) {
		uint64_t d = g_env[0].host_deadline;

		if (d < (1ULL << 62)) {
			g_env[0].tsc += (d > g_env[0].now ? d - g_env[0].now : 0) + in_u8(in);
			g_env[0].now = d > g_env[0].now ? d : g_env[0].now;
		}
		if (g_env[0].now >= g_env[0].host_deadline)
			g_env[0].host_armed = false;
		virq_lapic_timer_expired(l);
		if (g_env[0].host_armed)
			CHECK(g_env[0].host_deadline > g_env[0].now);
		check_page(f, l, g_pages[0]);
	}
	virq_lapic_has_work(l);
	virq_lapic_pending(l);
	check_page(f, l, g_pages[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	static struct fuzz fz;
	struct fuzz *f = &fz;
	uint32_t *w = (uint32_t *)&g_st;
	const char *why;
	unsigned calls;
	uint8_t mode, mode_byte;
	int rc;

	decode_config(&in, f);
	memset(g_env, 0, sizeof(g_env));
	g_env[0].now = g_env[1].now = 1000000000ULL;
	g_env[0].tsc = g_env[1].tsc = 5000000000ULL;
	for (unsigned i = 0; i < 2; i++)
		CHECK(virq_lapic_init(&g_lapic[i], g_pages[i], &f->cfg, &f->ops, &g_env[i]) == 0);
	pre_state(f, &in, &g_lapic[0], &g_env[0]);

	/* The LAPIC as it is before the restore (save syncs it first). */
	CHECK(virq_lapic_save(&g_lapic[0], &g_s0) == 0);
	check_page(f, &g_lapic[0], g_pages[0]);

	mode_byte = in_u8(&in);
	mode = mode_byte & 3U;
	memset(&g_st, 0, sizeof(g_st));
	switch (mode) {
	case 0:
	case 1:
		memcpy(&g_st, in.p, in.n < sizeof(g_st) ? in.n : sizeof(g_st));
		if (mode == 1) {
			/* Every version restores (version 1: no lint_vectors;
			 * before 3: one NMI at most). */
			g_st.version = (mode_byte & 4U)   ? 1U
				       : (mode_byte & 8U) ? 2U
							  : VIRQ_LAPIC_STATE_VERSION;
			g_st.size = sizeof(g_st);
		}
		break;
	case 2:
		g_st = g_s0;
		for (size_t i = 0; i < in.n && i < sizeof(g_st); i++)
			((uint8_t *)&g_st)[i] ^= in.p[i];
		break;
	default:
		g_st = g_s0;
		while (in.n) {
			uint16_t idx = in_u16(&in);

			w[idx % N_WORDS] = in_u32(&in);
		}
		break;
	}

	memcpy(&g_snap, &g_lapic[0], sizeof(g_snap));
	memcpy(g_page_snap, g_pages[0], sizeof(g_page_snap));
	calls = g_env[0].calls;
	why = must_refuse(f, &g_st);
	rc = virq_lapic_restore(&g_lapic[0], &g_st);
	if (getenv("FUZZ_LAPIC_TRACE"))
		fprintf(stderr, "mode %u: restore = %d (spec: %s)\n", mode, rc,
			why ? why : "valid");
	if (g_st.version < 1U || g_st.version > VIRQ_LAPIC_STATE_VERSION ||
	    g_st.size != sizeof(g_st)) {
		CHECK(rc == -VIRQ_EVERSION);
	} else if (why && rc == 0) {
		fprintf(stderr, "accepted a damaged state: %s\n", why);
		CHECK(rc != 0);
	}
	if (rc) {
		CHECK(rc == -VIRQ_EVERSION || rc == -VIRQ_ESTATE);
		/* Refused without side effects. */
		CHECK(memcmp(&g_snap, &g_lapic[0], sizeof(g_snap)) == 0);
		CHECK(memcmp(g_page_snap, g_pages[0], sizeof(g_page_snap)) == 0);
		CHECK(g_env[0].calls == calls);
		CHECK(virq_lapic_save(&g_lapic[0], &g_s1) == 0);
		CHECK(memcmp(&g_s0, &g_s1, sizeof(g_s1)) == 0);
		return 0;
	}

	/* Accepted: the page holds what was given (TMCCT is derived). */
	check_page(f, &g_lapic[0], g_pages[0]);
	for (uint32_t i = 0; i < 256; i++)
		if (i != R(VIRQ_LAPIC_REG_TMCCT))
			CHECK(g_pages[0][i] == g_st.regs[i]);
	CHECK(virq_lapic_get_apic_base(&g_lapic[0]) == g_st.apic_base);
	CHECK(virq_lapic_get_mp_state(&g_lapic[0]) == ((g_st.flags & VIRQ_LAPIC_STATE_WAIT_SIPI)
							       ? VIRQ_LAPIC_MP_WAIT_SIPI
							       : VIRQ_LAPIC_MP_RUNNABLE));
	CHECK(g_env[0].host_armed == ((g_st.flags & VIRQ_LAPIC_STATE_TIMER_ARMED) != 0));
	if (g_env[0].host_armed)
		CHECK(g_env[0].host_deadline ==
		      g_env[0].now + (g_st.timer_remaining_ns > 0
					      ? (uint64_t)g_st.timer_remaining_ns
					      : 0));

	/* A state from save() is accepted and saves identically; twice. */
	check_round_trip(f, 0, &g_s1);
	check_round_trip(f, 1, &g_s2);
	CHECK(memcmp(&g_s1, &g_s2, sizeof(g_s1)) == 0);

	exercise(f, &in);
	check_round_trip(f, 0, &g_s1);
	return 0;
}
