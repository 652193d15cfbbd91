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
	if (level)
		apicvec_set(lapic_tmr(l), vector);
	else
		apicvec_clear(lapic_tmr(l), vector);
	if ((int)vector > l->irrv)
		l->irrv = vector;
}

/* Receive-side check of harvested vectors 0-15 (SDM 10.5.2). */
static void lapic_fold_illegal(struct virq_lapic *l)
{
	lapic_guest_error(l, VIRQ_GERR_RECV_ILLEGAL_VECTOR);
	lapic_set_error(l, VIRQ_LAPIC_ESR_RECV_ILLEGAL);
}

/*
 * Moves posted requests into IRR/TMR: clear ON, then take each non-zero PIR
 * word with an atomic exchange and merge it straight into the page (one
 * pass, no copy). Returns true when IRR gained bits.
 */
bool lapic_fold(struct virq_lapic *l)
{
	uint32_t *irr = lapic_irr(l), *tmr = lapic_tmr(l);
	uint64_t ctrl = virq_atomic_load64_relaxed(&l->pi.control);
	bool got = false, illegal = false;

	/* With SN clear every PIR bit is followed by ON (pi.h protocol). */
	if (VIRQ_LIKELY(!(ctrl & (VIRQ_PI_CTRL_ON | VIRQ_PI_CTRL_SN))))
		return false;
	if (ctrl & VIRQ_PI_CTRL_ON)
		virq_atomic_fetch_and64(&l->pi.control, ~VIRQ_PI_CTRL_ON);
	for (int i = 3; i >= 0; i--) {
		uint64_t w = virq_atomic_load64_relaxed(&l->pi.pir[i]), lvl;
		uint32_t lo, hi, *ti;
		unsigned k = 2 * (unsigned)i;

		if (!w)
			continue;
		w = virq_atomic_xchg64(&l->pi.pir[i], 0);
		if (VIRQ_UNLIKELY(!l->active))
			continue; /* disabled: dropped (after being taken) */
		if (VIRQ_UNLIKELY(i == 0 && (w & 0xFFFFU))) {
			w &= ~0xFFFFULL;
			uint8_t ev = (uint8_t)lapic_get(l, VIRQ_LAPIC_REG_LVT_ERROR);
			bool had = apicvec_test(irr, ev);

			lapic_fold_illegal(l);
			/* An unmasked LVT Error may have raised a new vector. */
			illegal = !had && apicvec_test(irr, ev);
		}
		if (!w)
			continue;
		lvl = virq_atomic_load64(&l->post_level[i]) & w;
		lo = (uint32_t)w;
		hi = (uint32_t)(w >> 32);
		irr[k * APICVEC_STRIDE_U32] |= lo;
		irr[(k + 1) * APICVEC_STRIDE_U32] |= hi;
		ti = &tmr[k * APICVEC_STRIDE_U32];
		ti[0] = (ti[0] & ~lo) | (uint32_t)lvl;
		ti[APICVEC_STRIDE_U32] = (ti[APICVEC_STRIDE_U32] & ~hi) | (uint32_t)(lvl >> 32);
		l->irr_sum |= (uint8_t)(((lo != 0) << k) | ((hi != 0) << (k + 1)));
		if (!got) {
			/* Highest word first: the first hit holds the new maximum. */
			int top = (int)((unsigned)i * 64 + virq_fls64(w));

			if (top > l->irrv)
				l->irrv = (int16_t)top;
			got = true;
		}
	}
	return got || illegal;
}

/* Drops whatever is posted (RESET, INIT). */
void lapic_discard_posted(struct virq_lapic *l)
{
	uint64_t junk[4];

	pi_harvest_inline(&l->pi, junk);
	for (unsigned i = 0; i < 4; i++)
		virq_atomic_store64(&l->post_level[i], 0);
}

VIRQ_API bool virq_lapic_sync(struct virq_lapic *lapic)
{
	bool got = lapic_fold(lapic);

	if (VIRQ_UNLIKELY(virq_atomic_load32(&lapic->posted_events) & LAPIC_EV_LINT)) {
		virq_atomic_fetch_and32(&lapic->posted_events, ~LAPIC_EV_LINT);
		lapic_apply_lint(lapic);
		got = true;
	}
	return got;
}

VIRQ_API int virq_lapic_pending(struct virq_lapic *lapic)
{
	int v;

	virq_lapic_sync(lapic);
	v = lapic->irrv;
	/*
	 * Vectors already in IRR are "held" by a software-disabled APIC and
	 * still reach the core, which must mask or handle them (SDM 10.4.7.2;
	 * KVM and bhyve dispatch them too). Only new arrivals are dropped
	 * (lapic_accept_fixed). A globally disabled APIC delivers nothing.
	 */
	if (v < 0 || !(lapic->apic_base & VIRQ_APIC_BASE_EN))
		return VIRQ_LAPIC_NO_VECTOR;
	/* Deliverable only if its class is above the PPR class (SDM 10.8.3.1). */
	if (((uint32_t)v & 0xF0U) <= (lapic_get(lapic, VIRQ_LAPIC_REG_PPR) & 0xF0U))
		return VIRQ_LAPIC_NO_VECTOR;
	return v;
}

VIRQ_API int virq_lapic_ack(struct virq_lapic *lapic)
{
	int v = virq_lapic_pending(lapic);
	uint8_t vec;

	if (v < 0)
		return VIRQ_LAPIC_NO_VECTOR;
	vec = (uint8_t)v;
	apicvec_clear_sum(lapic_irr(lapic), &lapic->irr_sum, vec);
	apicvec_set_sum(lapic_isr(lapic), &lapic->isr_sum, vec);
	/* v's class is above the PPR class, hence above TPR's and old ISRV's:
	 * it becomes ISRV and PPR becomes its class. */
	lapic->isrv = (int16_t)v;
	lapic_set(lapic, VIRQ_LAPIC_REG_PPR, (uint32_t)v & 0xF0U);
	lapic->irrv = (int16_t)apicvec_highest_sum(lapic_irr(lapic), lapic->irr_sum);
	return v;
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

	if (!apicvec_test(lapic_tmr(lapic), vec))
		return;
	/* Level-triggered: broadcast unless suppressed (directed EOI, SDM 10.8.5). */
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
