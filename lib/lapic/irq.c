/* SPDX-License-Identifier: MIT */
/*
 * IRR/ISR/TMR, PPR, acceptance, posting, acknowledge and EOI
 * (SDM 10.8.1 "Interrupt Handling with the Pentium 4 and Intel Xeon
 * Processors" to 10.8.5 "Signaling Interrupt Servicing Completion",
 * 10.5.2 "Valid Interrupt Vectors").
 */
#include "lapic_priv.h"

/* ---- any thread ---- */

/*
 * Level-triggered posts have a channel of their own: a bit in post_level
 * (a second request bitmap) and LAPIC_EV_LEVEL in posted_events as its
 * notification, with the protocol of PIR and ON. Each post is consumed by
 * exactly one fold, with its trigger mode: a level post is never accepted
 * as edge, whatever edge posts of the same vector race with it (a trigger
 * bit beside a shared PIR bit could not say which post it belonged to).
 * The owner folds PIR first and post_level second, so an edge and a level
 * interrupt of one vector that collapse into one IRR bit leave TMR set
 * (see lapic_sync_inline()).
 */
static VIRQ_NOINLINE void lapic_post_level(struct virq_lapic *l, uint8_t vector)
{
	uint64_t bit = 1ULL << (vector & 63U);

	if (virq_atomic_fetch_or64(&l->post_level[vector >> 6], bit) & bit)
		return; /* already pending: whoever set it notifies */
	/* As for ON: the owner clears the flag before it takes the bitmap. */
	if (virq_atomic_load32(&l->posted_events) & LAPIC_EV_LEVEL)
		return;
	if (virq_atomic_fetch_or32(&l->posted_events, LAPIC_EV_LEVEL) == 0)
		l->ops->kick(l->ctx);
}

VIRQ_API void virq_lapic_kick(struct virq_lapic *lapic)
{
	lapic->ops->kick(lapic->ctx);
}

/* The post itself, for virq_lapic_post() and virq_lapic_post_phys(). */
static inline void lapic_post_fixed(struct virq_lapic *lapic, uint8_t vector, bool trigger_level)
{
	if (VIRQ_UNLIKELY(trigger_level))
		lapic_post_level(lapic, vector);
	else if (virq_pi_post_inline(&lapic->pi, vector, false))
		lapic->ops->kick(lapic->ctx);
}

VIRQ_API void virq_lapic_post(struct virq_lapic *lapic, uint8_t vector, bool trigger_level)
{
	lapic_post_fixed(lapic, vector, trigger_level);
}

/*
 * The three calls a router makes for a fixed message to one physical
 * destination, in one: virq_lapic_match_dest() (physical),
 * virq_lapic_accepts_fixed(), virq_lapic_post().
 */
VIRQ_API bool virq_lapic_post_phys(struct virq_lapic *lapic, uint32_t dest, uint8_t vector,
				   bool trigger_level)
{
	if (!lapic_match_phys(lapic, dest) || !__atomic_load_n(&lapic->active, __ATOMIC_RELAXED))
		return false;
	lapic_post_fixed(lapic, vector, trigger_level);
	return true;
}

/* A globally disabled APIC receives no messages (SDM 10.4.3 "Enabling
 * or Disabling the Local APIC"). A message that races with the owner
 * disabling the APIC counts as accepted just before the disable. */
static bool lapic_receives(const struct virq_lapic *l)
{
	return (__atomic_load_n(&l->apic_base, __ATOMIC_RELAXED) & VIRQ_APIC_BASE_EN) != 0;
}

static void lapic_post_event(struct virq_lapic *l, uint32_t ev)
{
	if (!lapic_receives(l))
		return;
	if (virq_atomic_fetch_or32(&l->posted_events, ev) == 0)
		l->ops->kick(l->ctx);
}

/*
 * NMIs are counted, not merged, up to two: one the processor takes and one
 * it holds pending while NMIs are blocked in the first one's handler (SDM
 * Vol. 3A 6.7.1 "Handling Multiple NMIs": blocked until IRET; a processor
 * latches one NMI meanwhile). KVM keeps the same two (nmi_queued into
 * nmi_pending, limit 2).
 *
 * posted_events holds the count as VIRQ_LAPIC_EV_NMI and, beside it,
 * LAPIC_EV_NMI2. One compare-exchange adds the next bit, so the word never
 * holds the second bit without the first, and a post merges only when two
 * NMIs were pending at that instant; the owner takes both bits with its
 * exchange. (Two fetch-ORs, NMI then NMI2, could leave NMI2 alone after
 * the owner's exchange, and a third post would then merge with only one
 * NMI pending.)
 */
static void lapic_post_nmi(struct virq_lapic *l)
{
	uint32_t old, bit;

	if (!lapic_receives(l))
		return;
	old = virq_atomic_load32(&l->posted_events);
	do {
		if ((old & LAPIC_EV_NMIS) == LAPIC_EV_NMIS)
			return; /* two pending: merged; whoever posted them notified */
		bit = (old & VIRQ_LAPIC_EV_NMI) ? LAPIC_EV_NMI2 : VIRQ_LAPIC_EV_NMI;
	} while (!__atomic_compare_exchange_n(&l->posted_events, &old, old | bit, false,
					      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	if (old == 0)
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
		lapic_post_nmi(lapic);
		break;
	case VIRQ_DM_SMI:
		lapic_post_event(lapic, VIRQ_LAPIC_EV_SMI);
		break;
	case VIRQ_DM_INIT:
		/* INIT level de-assert: no effect on P4 and later (SDM 10.4.7.4
		 * "Local APIC State After It Receives an INIT-Deassert IPI"). */
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
 * Error latch (SDM 10.5.3 "Error Handling"): errors accumulate in esr_pending until the
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

/* Acceptance of a fixed interrupt by this APIC (SDM 10.8.1 "Interrupt
 * Handling with the Pentium 4 and Intel Xeon Processors", 10.8.4
 * "Interrupt Acceptance for Fixed Interrupts"). */
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
	/* TMR records the trigger mode of the last accepted interrupt; the
	 * EOI-exit bitmap follows it. */
	if (level != (l->tmr_sum && apicvec_test(lapic_tmr(l), vector))) {
		if (level)
			apicvec_set_sum(lapic_tmr(l), &l->tmr_sum, vector);
		else
			apicvec_clear_sum(lapic_tmr(l), &l->tmr_sum, vector);
		lapic_eoi_exit_update(l);
	}
	if ((int)vector > l->irrv)
		l->irrv = vector;
}

/* Receive-side check of harvested vectors 0-15 (SDM 10.5.2 "Valid Interrupt Vectors"). Returns
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
	uint64_t old = apicvec_pair(lapic_tmr(l), i);

	t[0] = (t[0] & ~(uint32_t)w) | (uint32_t)lvl;
	t[APICVEC_STRIDE_U32] = (t[APICVEC_STRIDE_U32] & ~(uint32_t)(w >> 32)) |
				(uint32_t)(lvl >> 32);
	l->tmr_sum = (uint8_t)((l->tmr_sum & ~(3U << (2 * i))) |
			       apicvec_sum_of_pair(apicvec_pair(lapic_tmr(l), i), i));
	if (apicvec_pair(lapic_tmr(l), i) != old)
		lapic_eoi_exit_update(l);
}

/*
 * Merges one harvested request word (pair @i) into IRR/TMR; false if
 * dropped. @level: the word came from post_level (TMR set for its
 * vectors), else from PIR (TMR cleared for them).
 */
static inline bool lapic_fold_word(struct virq_lapic *l, unsigned i, uint64_t *wp, bool level,
				   bool *illegal)
{
	uint32_t *irr = lapic_irr(l);
	uint64_t w = *wp;

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
	l->irr_sum |= apicvec_sum_of_pair(w, i);
	/* TMR records the trigger mode of the last accepted interrupt. */
	if (VIRQ_UNLIKELY(level || (l->tmr_sum & (3U << (2 * i)))))
		lapic_fold_tmr(l, i, w, level ? w : 0);
	return true;
}

/* Takes every non-zero PIR word with an atomic exchange (ON already
 * cleared by the caller); @w receives what was taken. */
static inline void lapic_take_pir(struct virq_lapic *l, uint64_t w[4])
{
	for (unsigned i = 4; i-- > 0;) {
		uint64_t t = virq_atomic_load64_relaxed(&l->pi.pir[i]);

		w[i] = t ? virq_atomic_xchg64(&l->pi.pir[i], 0) : 0;
	}
}

/*
 * Merges taken PIR words into IRR/TMR, highest word first (the first word
 * kept holds the new maximum). Returns true when IRR gained bits or an
 * illegal vector raised one through LVT Error.
 */
static inline bool lapic_fold_taken(struct virq_lapic *l, uint64_t w[4])
{
	bool illegal = false;
	int top = -1;

	for (unsigned i = 4; i-- > 0;)
		if (w[i] && lapic_fold_word(l, i, &w[i], false, &illegal) && top < 0)
			top = (int)(i * 64 + virq_fls64(w[i]));
	if (top > l->irrv)
		l->irrv = (int16_t)top;
	return top >= 0 || illegal;
}

/*
 * Moves posted requests into IRR/TMR: clear ON, then take each non-zero PIR
 * word with an atomic exchange and merge it into the page. Reached only
 * when ON or SN is set. Returns true when IRR gained bits.
 */
static VIRQ_NOINLINE bool lapic_fold_slow(struct virq_lapic *l)
{
	uint64_t w[4];

	if (virq_atomic_load64_relaxed(&l->pi.control) & VIRQ_PI_CTRL_ON)
		virq_atomic_fetch_and64(&l->pi.control, ~VIRQ_PI_CTRL_ON);
	lapic_take_pir(l, w);
	return lapic_fold_taken(l, w);
}

/*
 * Takes the level-triggered requests below word @from (LAPIC_EV_LEVEL
 * already cleared by the caller) into IRR with TMR set, after word @from
 * itself, taken already and holding @x (none when @from is 4). Returns
 * true when IRR gained bits.
 */
static bool lapic_fold_level_from(struct virq_lapic *l, unsigned from, uint64_t x)
{
	bool illegal = false, got = false;

	for (unsigned i = from < 4 ? from + 1 : 4; i-- > 0;) {
		uint64_t w = i == from ? x : virq_atomic_load64_relaxed(&l->post_level[i]);

		if (i != from && w)
			w = virq_atomic_xchg64(&l->post_level[i], 0);
		if (w && lapic_fold_word(l, i, &w, true, &illegal)) {
			int top = (int)(i * 64 + virq_fls64(w));

			got = true;
			if (top > l->irrv)
				l->irrv = (int16_t)top;
		}
	}
	return got || illegal;
}

/*
 * Takes the level-triggered requests (LAPIC_EV_LEVEL already cleared by
 * the caller) into IRR with TMR set. Returns true when IRR gained bits.
 */
bool lapic_fold_level(struct virq_lapic *l)
{
	return lapic_fold_level_from(l, 4, 0);
}

/* Drops whatever is posted (RESET, INIT). */
void lapic_discard_posted(struct virq_lapic *l)
{
	uint64_t junk[4];

	pi_harvest_inline(&l->pi, junk);
	for (unsigned i = 0; i < 4; i++)
		virq_atomic_store64(&l->post_level[i], 0);
}

/* Level posts and LINT changes, in that order. */
static VIRQ_NOINLINE bool lapic_sync_events(struct virq_lapic *l)
{
	uint32_t ev = virq_atomic_fetch_and32(&l->posted_events, ~(LAPIC_EV_LEVEL | LAPIC_EV_LINT));
	bool got = false;

	if (ev & LAPIC_EV_LEVEL)
		got = lapic_fold_level(l);
	if (ev & LAPIC_EV_LINT) {
		lapic_apply_lint(l);
		got = true;
	}
	return got;
}

/*
 * Owner sync, inlined into the evaluating calls. The common case (nothing
 * posted) costs two loads: ON|SN in the descriptor (with SN clear every
 * PIR bit is followed by ON, pi.h) and the LEVEL and LINT bits of
 * posted_events. Edge requests fold before level ones (TMR: level wins
 * when both collapse into one IRR bit in one sync).
 */
static inline bool lapic_sync_inline(struct virq_lapic *l)
{
	bool got = false;

	if (VIRQ_UNLIKELY(virq_atomic_load64_relaxed(&l->pi.control) &
			  (VIRQ_PI_CTRL_ON | VIRQ_PI_CTRL_SN)))
		got = lapic_fold_slow(l);
	if (VIRQ_UNLIKELY(virq_atomic_load32(&l->posted_events) & (LAPIC_EV_LEVEL | LAPIC_EV_LINT)))
		got |= lapic_sync_events(l);
	return got;
}

VIRQ_API bool virq_lapic_sync(struct virq_lapic *lapic)
{
	return lapic_sync_inline(lapic);
}

/*
 * Highest deliverable vector: its class must be above the PPR class (SDM
 * 10.8.3.1 "Task and Processor Priorities"). Vectors already in IRR are
 * "held" by a software-disabled APIC and still reach the core, which must
 * mask or handle them (SDM 10.4.7.2 "Local APIC State After It Has Been
 * Software Disabled"; KVM and bhyve dispatch them too); only new arrivals
 * are dropped. IRR is empty while globally disabled (cleared on disable,
 * reset on enable).
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

/* Acknowledge after the sync: the highest pending vector moves from IRR
 * to ISR (SDM 10.8.4 "Interrupt Acceptance for Fixed Interrupts"). */
static inline int lapic_ack_synced(struct virq_lapic *lapic)
{
	int v = lapic->irrv;
	uint8_t vec;

	if (v < 0 || ((uint32_t)v & 0xF0U) <= (lapic_get(lapic, VIRQ_LAPIC_REG_PPR) & 0xF0U))
		return VIRQ_LAPIC_NO_VECTOR;
	vec = (uint8_t)v;
	apicvec_clear_sum(lapic_irr(lapic), &lapic->irr_sum, vec);
	apicvec_set(lapic_isr(lapic), vec);
	lapic->isr_count++;
	/* v's class is above the PPR class, hence above TPR's and old ISRV's:
	 * it becomes ISRV and PPR becomes its class. */
	lapic->isrv = (int16_t)v;
	lapic_set_shared(lapic, VIRQ_LAPIC_REG_PPR, (uint32_t)v & 0xF0U);
	lapic->irrv = (int16_t)apicvec_highest_sum(lapic_irr(lapic), lapic->irr_sum);
	return v;
}

VIRQ_NOINLINE int lapic_ack_slow(struct virq_lapic *lapic)
{
	lapic_sync_inline(lapic);
	return lapic_ack_synced(lapic);
}

/*
 * The rest of a sync that found more than a lone vector: word @i, taken,
 * held @x; the words below it are taken now. Then the long way.
 */
static VIRQ_NOINLINE int lapic_ack_fold(struct virq_lapic *lapic, unsigned i, uint64_t x)
{
	uint64_t w[4] = { 0, 0, 0, 0 };

	w[i] = x;
	while (i-- > 0) {
		uint64_t t = virq_atomic_load64_relaxed(&lapic->pi.pir[i]);

		w[i] = t ? virq_atomic_xchg64(&lapic->pi.pir[i], 0) : 0;
	}
	lapic_fold_taken(lapic, w);
	return lapic_ack_slow(lapic);
}

/*
 * Takes the highest non-zero word of the request bitmap @w (PIR or
 * post_level) with an atomic exchange into @x; returns its index, with
 * the words below it (read, not taken) ORed in @rest; 4 when every word
 * is zero. One exchange at the computed address: no address is kept live
 * for each of the four words.
 */
static inline unsigned lapic_take_top(uint64_t *w, uint64_t *x, uint64_t *rest)
{
	uint64_t p0 = virq_atomic_load64_relaxed(&w[0]);
	uint64_t p1 = virq_atomic_load64_relaxed(&w[1]);
	uint64_t p2 = virq_atomic_load64_relaxed(&w[2]);
	unsigned i;

	if (virq_atomic_load64_relaxed(&w[3])) {
		*rest = p2 | p1 | p0;
		i = 3;
	} else if (p2) {
		*rest = p1 | p0;
		i = 2;
	} else if (p1) {
		*rest = p0;
		i = 1;
	} else if (p0) {
		*rest = 0;
		i = 0;
	} else {
		return 4;
	}
	*x = virq_atomic_xchg64(&w[i], 0);
	return i;
}

/*
 * Whether lone vector @v, just taken from the requests, is one the sync
 * and the acknowledge would move through IRR into ISR untouched: above
 * everything in IRR, above the PPR class (and so 16 or above), the APIC
 * enabled, and its TMR bit already what the acceptance writes (set for a
 * @level request, clear for an edge one), so no TMR or EOI-exit bit
 * changes.
 */
static inline bool lapic_lone_ok(struct virq_lapic *lapic, uint32_t v, bool level)
{
	uint32_t bit = 1U << (v & 31U);
	/* A word index the address needs no zero-extension for. */
	uint64_t w = (uint64_t)(v >> 5) * APICVEC_STRIDE_U32;
	if ((int)v <= lapic->irrv || v <= (lapic_get(lapic, VIRQ_LAPIC_REG_PPR) | 0xFU) ||
	    !lapic->active)
		return false;
	if (level)
		return (lapic_tmr(lapic)[w] & bit) != 0;
	/* No TMR bit at all (tmr_sum 0, the common case of edge requests)
	 * spares the load. */
	return !lapic->tmr_sum || !(lapic_tmr(lapic)[w] & bit);
}

/* Lone vector @v straight to ISR: it becomes ISRV and PPR its class; IRR,
 * irrv and TMR end as the long way leaves them (as they were). */
static inline int lapic_lone_to_isr(struct virq_lapic *lapic, uint32_t v)
{
	lapic_isr(lapic)[(uint64_t)(v >> 5) * APICVEC_STRIDE_U32] |= 1U << (v & 31U);
	lapic->isr_count++;
	lapic->isrv = (int16_t)v;
	lapic_set_shared(lapic, VIRQ_LAPIC_REG_PPR, v & 0xF0U);
	return (int)v;
}

/* The rest of a level sync that found more than a lone vector: word @i,
 * taken, held @x. Then the long way. */
static VIRQ_NOINLINE int lapic_ack_fold_level(struct virq_lapic *lapic, unsigned i, uint64_t x)
{
	lapic_fold_level_from(lapic, i, x);
	return lapic_ack_slow(lapic);
}

/*
 * The rest of both lone-vector acknowledges, after the flag that announced
 * the requests (ON or LAPIC_EV_LEVEL) was cleared: takes the highest word
 * of @words; a lone vector that lapic_lone_ok() admits (for @level
 * requests or edge ones) goes to ISR, anything else to @fold (which folds
 * what was taken and goes the long way), nothing at all the long way.
 */
static inline int lapic_ack_lone(struct virq_lapic *lapic, uint64_t *words, bool level,
				 int (*fold)(struct virq_lapic *, unsigned, uint64_t))
{
	uint64_t rest, x;
	unsigned i = lapic_take_top(words, &x, &rest);
	uint32_t v;

	if (i > 3)
		return lapic_ack_slow(lapic);
	if (VIRQ_UNLIKELY(rest | (x & (x - 1))))
		return fold(lapic, i, x);
	v = i * 64 + virq_fls64(x); /* x has one bit: its highest is its lowest */
	if (VIRQ_UNLIKELY(!lapic_lone_ok(lapic, v, level)))
		return fold(lapic, i, x);
	return lapic_lone_to_isr(lapic, v);
}

/*
 * Acknowledge with ON clear: the I/O APIC's level interrupts come this way
 * (a level post waiting, nothing in PIR: ON and SN clear, no LINT change).
 * As for a lone edge vector in virq_lapic_ack(), a lone level-triggered
 * vector that the sync and the acknowledge would move through IRR into
 * ISR untouched goes straight to ISR; here its TMR bit must already be set
 * (the vector was last accepted as level, so the acceptance changes no
 * TMR and no EOI-exit bit). Anything else folds what was taken and goes
 * the long way.
 */
static VIRQ_NOINLINE int lapic_ack_level(struct virq_lapic *lapic)
{
	if ((virq_atomic_load64_relaxed(&lapic->pi.control) & VIRQ_PI_CTRL_SN) ||
	    (virq_atomic_load32(&lapic->posted_events) & (LAPIC_EV_LEVEL | LAPIC_EV_LINT)) !=
		    LAPIC_EV_LEVEL)
		return lapic_ack_slow(lapic);
	virq_atomic_fetch_and32(&lapic->posted_events, ~(uint32_t)LAPIC_EV_LEVEL);
	/* Clearing the event came first: a level post the loads below miss
	 * raises it again. */
	return lapic_ack_lone(lapic, lapic->post_level, true, lapic_ack_fold_level);
}

/*
 * Acknowledge. With ON set and SN clear the sync takes the PIR here, and
 * when the highest non-zero PIR word holds a lone vector, nothing is in
 * the words below it, and that vector is one the sync and the acknowledge
 * would move through IRR into ISR untouched by anything else (above
 * everything in IRR, above the PPR class and so 16 or above, the APIC
 * enabled, its TMR bit clear so the edge acceptance changes no TMR, no
 * level post or LINT change waiting), it goes straight to ISR: IRR, irrv and TMR end as they
 * were, which is what the long way gives. Anything else folds what was
 * taken and goes the long way (lapic_ack_slow()).
 */
VIRQ_API int virq_lapic_ack(struct virq_lapic *lapic)
{
	/* SN does not matter here: with ON set the sync clears ON and takes
	 * every non-zero word whatever SN says, as below. */
	if (!(virq_atomic_load64_relaxed(&lapic->pi.control) & VIRQ_PI_CTRL_ON))
		return lapic_ack_level(lapic);
	if (virq_atomic_load32(&lapic->posted_events) & (LAPIC_EV_LEVEL | LAPIC_EV_LINT))
		return lapic_ack_slow(lapic);
	virq_atomic_fetch_and64(&lapic->pi.control, ~VIRQ_PI_CTRL_ON);
	/* Clearing ON came first: a post the loads below miss sets ON again. */
	return lapic_ack_lone(lapic, lapic->pi.pir, false, lapic_ack_fold);
}

/* EOI of a level-triggered vector: broadcast unless suppressed (directed
 * EOI, SDM 10.8.5 "Signaling Interrupt Servicing Completion"). */
static inline void lapic_eoi_level(struct virq_lapic *lapic, uint8_t vec)
{
	if (!(lapic_get(lapic, VIRQ_LAPIC_REG_SVR) & VIRQ_LAPIC_SVR_EOI_SUPPRESS) &&
	    lapic->ops->eoi_level)
		lapic->ops->eoi_level(lapic->ctx, vec);
}

/*
 * EOI of the interrupt a level LINT entry delivered: its Remote IRR clears
 * ("reset when an EOI command is received", SDM 10.5.1 "Local Vector Table") and a pin still
 * asserted is delivered again. The vector is the one the entry had when
 * it delivered (lint_vec), not the one it has now: a guest that rewrites
 * the entry while the interrupt is in service EOIs the old vector, as an
 * I/O APIC entry's Remote IRR clears by the vector that was sent.
 */
static VIRQ_NOINLINE void lapic_eoi_lint(struct virq_lapic *lapic, uint8_t vec)
{
	for (unsigned pin = 0; pin < 2; pin++) {
		uint32_t off = pin ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0;

		if (!(lapic->lint_rirr & (1U << pin)) || lapic->lint_vec[pin] != vec)
			continue;
		lapic_set(lapic, off, lapic_get(lapic, off) & ~VIRQ_LVT_REMOTE_IRR);
		lapic->lint_rirr &= (uint8_t) ~(1U << pin);
		lapic->lint_vec[pin] = 0;
		lapic_eoi_exit_update(lapic);
		lapic_eval_lint(lapic, pin, false, false);
	}
}

/*
 * What an EOI of @vec does beyond ISR and PPR: the level EOI broadcast and
 * the LINT Remote IRR. Exactly the vectors of the EOI-exit bitmap have an
 * effect here (lapic_eoi_exit_compute()). Out of line: virq_lapic_eoi()
 * reaches it only with TMR or a LINT Remote IRR set, by a tail call.
 */
static VIRQ_NOINLINE void lapic_eoi_effects_lint(struct virq_lapic *lapic, uint8_t vec)
{
	if (lapic->tmr_sum && apicvec_test(lapic_tmr(lapic), vec))
		lapic_eoi_level(lapic, vec);
	/* Independent of TMR: an edge interrupt of the same vector accepted
	 * after the LINT one may have cleared it. */
	lapic_eoi_lint(lapic, vec);
}

VIRQ_NOINLINE void lapic_eoi_effects(struct virq_lapic *lapic, uint8_t vec)
{
	/* With a LINT Remote IRR set, both effects in their order apart, so
	 * that the level broadcast alone ends in a tail call of the hook. */
	if (VIRQ_UNLIKELY(lapic->lint_rirr)) {
		lapic_eoi_effects_lint(lapic, vec);
		return;
	}
	if (lapic->tmr_sum && apicvec_test(lapic_tmr(lapic), vec))
		lapic_eoi_level(lapic, vec);
}

/* EOI with more than one vector in service (or none left after it: the
 * slow path of the tests): a search for the next, then the effects. */
VIRQ_NOINLINE void lapic_eoi_nested(struct virq_lapic *lapic, uint8_t vec)
{
	apicvec_clear(lapic_isr(lapic), vec);
	lapic->isr_count--;
	/* The next is below @vec: the search starts at its register. */
	lapic->isrv = (int16_t)apicvec_highest_from(lapic_isr(lapic), vec >> 5);
	lapic_update_ppr(lapic);
	if (lapic->tmr_sum | lapic->lint_rirr)
		lapic_eoi_effects(lapic, vec);
}

VIRQ_API void virq_lapic_eoi(struct virq_lapic *lapic)
{
	lapic_eoi_inline(lapic);
}

VIRQ_NOINLINE void lapic_eoi_slow(struct virq_lapic *lapic)
{
	if (lapic->isrv >= 0)
		lapic_eoi_nested(lapic, (uint8_t)lapic->isrv);
}
