/* SPDX-License-Identifier: MIT */
/*
 * IRR/ISR/TMR, PPR, acceptance, posting, acknowledge and EOI
 * (SDM 10.8.1-10.8.5; lapic digest section 6).
 */
#include "lapic_priv.h"

/* ---- any thread ---- */

VIRQ_API void virq_lapic_post(struct virq_lapic *lapic, uint8_t vector, bool trigger_level)
{
	uint64_t bit = 1ULL << (vector & 63U);
	uint64_t *lvl = &lapic->post_level[vector >> 6];

	/*
	 * The trigger mode travels in post_level, written before the PIR bit
	 * (both seq_cst RMWs) so the harvest, which reads post_level after
	 * taking PIR, sees it. Edge posts touch post_level only when a level
	 * post left the bit set, keeping the common post at one locked op.
	 */
	if (trigger_level) {
		if (!(virq_atomic_load64_relaxed(lvl) & bit))
			virq_atomic_fetch_or64(lvl, bit);
	} else if (VIRQ_UNLIKELY(virq_atomic_load64_relaxed(lvl) & bit)) {
		virq_atomic_fetch_and64(lvl, ~bit);
	}
	if (pi_post_inline(&lapic->pi, vector, false))
		lapic->ops->kick(lapic->ctx);
}

static void lapic_post_event(struct virq_lapic *l, uint32_t ev)
{
	/* A globally disabled APIC receives no messages (SDM 10.4.3). A
	 * message that races with the owner disabling the APIC counts as
	 * accepted just before the disable. */
	if (!(__atomic_load_n(&l->apic_base, __ATOMIC_RELAXED) & VIRQ_APIC_BASE_EN))
		return;
	if (virq_atomic_fetch_or32(&l->posted_events, ev) == 0)
		l->ops->kick(l->ctx);
}

VIRQ_API void virq_lapic_post_msg(struct virq_lapic *lapic, const struct virq_apic_msg *msg)
{
	switch (msg->delivery) {
	case VIRQ_DM_FIXED:
	case VIRQ_DM_LOWEST:
		virq_lapic_post(lapic, msg->vector, msg->trigger_level);
		break;
	case VIRQ_DM_NMI:
		lapic_post_event(lapic, VIRQ_LAPIC_EV_NMI);
		break;
	case VIRQ_DM_SMI:
		lapic_post_event(lapic, VIRQ_LAPIC_EV_SMI);
		break;
	case VIRQ_DM_INIT:
		/* INIT level de-assert: no effect on P4 and later (SDM 10.4.7.4). */
		if (!msg->level && msg->trigger_level)
			break;
		lapic_post_event(lapic, VIRQ_LAPIC_EV_INIT);
		break;
	case VIRQ_DM_STARTUP:
		/* Latch the vector before the flag: the owner reads it after. */
		virq_atomic_store32(&lapic->posted_sipi, msg->vector);
		lapic_post_event(lapic, VIRQ_LAPIC_EV_SIPI);
		break;
	case VIRQ_DM_EXTINT:
		lapic_post_event(lapic, VIRQ_LAPIC_EV_EXTINT);
		break;
	default:
		break; /* reserved delivery mode: nothing is accepted */
	}
}

/* ---- owner ---- */

/*
 * Error latch (SDM 10.5.3): errors accumulate in esr_pending until the
 * next ESR write, whatever the LVT Error mask; an unmasked LVT Error raises
 * its interrupt. in_error stops the recursion an LVT Error with an illegal
 * vector would cause (Xen XSA-462).
 */
void lapic_set_error(struct virq_lapic *l, uint32_t bits)
{
	l->esr_pending |= bits;
	if (l->in_error)
		return;
	l->in_error = true;
	lapic_fire_lvt(l, VIRQ_LAPIC_REG_LVT_ERROR);
	l->in_error = false;
}

/* Acceptance of a fixed interrupt by this APIC (digest section 6). */
void lapic_accept_fixed(struct virq_lapic *l, uint8_t vector, bool level)
{
	if (!lapic_active(l))
		return; /* disabled APICs drop fixed interrupts (KVM, bhyve) */
	if (vector < 16) {
		lapic_guest_error(l, VIRQ_GERR_RECV_ILLEGAL_VECTOR);
		lapic_set_error(l, VIRQ_LAPIC_ESR_RECV_ILLEGAL);
		return;
	}
	apicvec_set_sum(lapic_irr(l), &l->irr_sum, vector);
	/* TMR records the trigger mode of the last accepted interrupt. */
	if (level)
		apicvec_set_sum(lapic_tmr(l), &l->tmr_sum, vector);
	else if (l->tmr_sum)
		apicvec_clear_sum(lapic_tmr(l), &l->tmr_sum, vector);
	if ((int)vector > l->irrv)
		l->irrv = vector;
}

/* Receive-side check of harvested vectors 0-15 (SDM 10.5.2). Returns
 * true when an unmasked LVT Error raised a new vector into IRR. */
static VIRQ_NOINLINE bool lapic_fold_illegal(struct virq_lapic *l)
{
	uint8_t ev = (uint8_t)lapic_get(l, VIRQ_LAPIC_REG_LVT_ERROR);
	bool had = apicvec_test(lapic_irr(l), ev);

	lapic_guest_error(l, VIRQ_GERR_RECV_ILLEGAL_VECTOR);
	lapic_set_error(l, VIRQ_LAPIC_ESR_RECV_ILLEGAL);
	return !had && apicvec_test(lapic_irr(l), ev);
}

/* TMR of vectors @w in pair @i: set for @lvl, clear for the rest. */
static VIRQ_NOINLINE void lapic_fold_tmr(struct virq_lapic *l, unsigned i, uint64_t w, uint64_t lvl)
{
	uint32_t *t = &lapic_tmr(l)[2 * i * APICVEC_STRIDE_U32];

	t[0] = (t[0] & ~(uint32_t)w) | (uint32_t)lvl;
	t[APICVEC_STRIDE_U32] = (t[APICVEC_STRIDE_U32] & ~(uint32_t)(w >> 32)) |
				(uint32_t)(lvl >> 32);
	if (apicvec_pair(lapic_tmr(l), i))
		l->tmr_sum |= (uint8_t)(1U << i);
	else
		l->tmr_sum &= (uint8_t)(~(1U << i));
}

/* Merges one harvested PIR word (pair @i) into IRR/TMR; false if dropped. */
static inline bool lapic_fold_word(struct virq_lapic *l, unsigned i, uint64_t *wp, bool *illegal)
{
	uint32_t *irr = lapic_irr(l);
	uint64_t w = *wp, lvl;

	if (VIRQ_UNLIKELY(!l->active))
		return false; /* disabled: dropped after being taken */
	if (VIRQ_UNLIKELY(i == 0 && (w & 0xFFFFU))) {
		*wp = w &= ~0xFFFFULL;
		*illegal |= lapic_fold_illegal(l);
		if (!w)
			return false;
	}
	irr[2 * i * APICVEC_STRIDE_U32] |= (uint32_t)w;
	irr[(2 * i + 1) * APICVEC_STRIDE_U32] |= (uint32_t)(w >> 32);
	l->irr_sum |= (uint8_t)(1U << i);
	/* Level posts record their vectors in post_level before PIR. */
	lvl = virq_atomic_load64(&l->post_level[i]) & w;
	if (VIRQ_UNLIKELY(lvl || (l->tmr_sum & (1U << i))))
		lapic_fold_tmr(l, i, w, lvl);
	return true;
}

/*
 * Moves posted requests into IRR/TMR: clear ON, then take each non-zero PIR
 * word with an atomic exchange and merge it straight into the page.
 * Reached only when ON or SN is set. Returns true when IRR gained bits.
 */
static VIRQ_NOINLINE bool lapic_fold_slow(struct virq_lapic *l)
{
	bool illegal = false;
	int top = -1;
	uint64_t w;

	if (virq_atomic_load64_relaxed(&l->pi.control) & VIRQ_PI_CTRL_ON)
		virq_atomic_fetch_and64(&l->pi.control, ~VIRQ_PI_CTRL_ON);
		/* Unrolled, highest word first: the first hit holds the maximum. */
#define FOLD_WORD(i)                                                                               \
	w = virq_atomic_load64_relaxed(&l->pi.pir[i]);                                             \
	if (w) {                                                                                   \
		w = virq_atomic_xchg64(&l->pi.pir[i], 0);                                          \
		if (lapic_fold_word(l, i, &w, &illegal) && top < 0)                                \
			top = (int)(i * 64 + virq_fls64(w));                                       \
	}
	FOLD_WORD(3)
	FOLD_WORD(2)
	FOLD_WORD(1)
	FOLD_WORD(0)
#undef FOLD_WORD
	if (top > l->irrv)
		l->irrv = (int16_t)top;
	return top >= 0 || illegal;
}

/* Drops whatever is posted (RESET, INIT). */
void lapic_discard_posted(struct virq_lapic *l)
{
	uint64_t junk[4];

	pi_harvest_inline(&l->pi, junk);
	for (unsigned i = 0; i < 4; i++)
		virq_atomic_store64(&l->post_level[i], 0);
}

static VIRQ_NOINLINE bool lapic_sync_lint(struct virq_lapic *l)
{
	virq_atomic_fetch_and32(&l->posted_events, ~LAPIC_EV_LINT);
	lapic_apply_lint(l);
	return true;
}

/*
 * Owner sync, inlined into the evaluating calls. The common case (nothing
 * posted) costs two loads: ON|SN in the descriptor (with SN clear every
 * PIR bit is followed by ON, pi.h) and the LINT bit of posted_events.
 */
static inline bool lapic_sync_inline(struct virq_lapic *l)
{
	bool got = false;

	if (VIRQ_UNLIKELY(virq_atomic_load64_relaxed(&l->pi.control) &
			  (VIRQ_PI_CTRL_ON | VIRQ_PI_CTRL_SN)))
		got = lapic_fold_slow(l);
	if (VIRQ_UNLIKELY(virq_atomic_load32(&l->posted_events) & LAPIC_EV_LINT))
		got = lapic_sync_lint(l);
	return got;
}

VIRQ_API bool virq_lapic_sync(struct virq_lapic *lapic)
{
	return lapic_sync_inline(lapic);
}

/*
 * Highest deliverable vector: its class must be above the PPR class (SDM
 * 10.8.3.1). Vectors already in IRR are "held" by a software-disabled APIC
 * and still reach the core, which must mask or handle them (SDM 10.4.7.2;
 * KVM and bhyve dispatch them too); only new arrivals are dropped. IRR is
 * empty while globally disabled (cleared on disable, reset on enable).
 */
static inline int lapic_pending_inline(struct virq_lapic *l)
{
	int v;

	lapic_sync_inline(l);
	v = l->irrv;
	if (v < 0 || ((uint32_t)v & 0xF0U) <= (lapic_get(l, VIRQ_LAPIC_REG_PPR) & 0xF0U))
		return VIRQ_LAPIC_NO_VECTOR;
	return v;
}

VIRQ_API int virq_lapic_pending(struct virq_lapic *lapic)
{
	return lapic_pending_inline(lapic);
}

VIRQ_API int virq_lapic_ack(struct virq_lapic *lapic)
{
	int v = lapic_pending_inline(lapic);
	uint8_t vec;

	if (v < 0)
		return VIRQ_LAPIC_NO_VECTOR;
	vec = (uint8_t)v;
	apicvec_clear_sum(lapic_irr(lapic), &lapic->irr_sum, vec);
	apicvec_set_sum(lapic_isr(lapic), &lapic->isr_sum, vec);
	/* v's class is above the PPR class, hence above TPR's and old ISRV's:
	 * it becomes ISRV and PPR becomes its class. */
	lapic->isrv = (int16_t)v;
	lapic_set_shared(lapic, VIRQ_LAPIC_REG_PPR, (uint32_t)v & 0xF0U);
	lapic->irrv = (int16_t)apicvec_highest_sum(lapic_irr(lapic), lapic->irr_sum);
	return v;
}

/* EOI of a level-triggered vector: broadcast, LINT Remote IRR. */
static VIRQ_NOINLINE void lapic_eoi_level(struct virq_lapic *lapic, uint8_t vec)
{
	/* Broadcast unless suppressed (directed EOI, SDM 10.8.5). */
	if (!(lapic_get(lapic, VIRQ_LAPIC_REG_SVR) & VIRQ_LAPIC_SVR_EOI_SUPPRESS) &&
	    lapic->ops->eoi_level)
		lapic->ops->eoi_level(lapic->ctx, vec);
	/* A level LINT entry with this vector: Remote IRR clears; a pin still
	 * asserted is delivered again. */
	for (unsigned pin = 0; pin < 2; pin++) {
		uint32_t off = pin ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0;
		uint32_t lvt = lapic_get(lapic, off);

		if ((lvt & VIRQ_LVT_REMOTE_IRR) && (lvt & VIRQ_LVT_VECTOR_MASK) == vec) {
			lapic_set(lapic, off, lvt & ~VIRQ_LVT_REMOTE_IRR);
			lapic_eval_lint(lapic, pin, false, false);
		}
	}
}

VIRQ_API void virq_lapic_eoi(struct virq_lapic *lapic)
{
	int v = lapic->isrv;
	uint8_t vec;

	if (v < 0)
		return; /* spurious EOI: ignored */
	vec = (uint8_t)v;
	apicvec_clear_sum(lapic_isr(lapic), &lapic->isr_sum, vec);
	lapic->isrv = (int16_t)apicvec_highest_sum(lapic_isr(lapic), lapic->isr_sum);
	lapic_update_ppr(lapic);
	if (VIRQ_UNLIKELY(lapic->tmr_sum) && apicvec_test(lapic_tmr(lapic), vec))
		lapic_eoi_level(lapic, vec);
}
