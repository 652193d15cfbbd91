/* SPDX-License-Identifier: MIT */
/*
 * Save/restore (validate, then commit) and the invariant checker the
 * fuzzers run after every operation.
 */
#include "lapic_priv.h"

#define R(off) ((off) >> 2) /* index of a register in state.regs[] */
#define STATE_FLAGS_VALID (VIRQ_LAPIC_STATE_TIMER_ARMED | VIRQ_LAPIC_STATE_WAIT_SIPI)

VIRQ_API int virq_lapic_save(struct virq_lapic *lapic, struct virq_lapic_state *out)
{
	uint32_t posted;
	uint64_t now;

	if (!out)
		return -VIRQ_EINVAL;
	virq_lapic_sync(lapic);
	virq_memset(out, 0, sizeof(*out));
	out->version = VIRQ_LAPIC_STATE_VERSION;
	out->size = sizeof(*out);
	out->apic_base = lapic->apic_base;
	out->tsc_deadline = lapic->tsc_deadline;
	for (unsigned i = 0; i < 256; i++)
		out->regs[i] = lapic->page[i];
	/* Current Count is derived from the timer, not stored in the page. */
	out->regs[R(VIRQ_LAPIC_REG_TMCCT)] = lapic_timer_read_tmcct(lapic);
	out->esr_pending = lapic->esr_pending;
	posted = virq_atomic_load32(&lapic->posted_events);
	/* NMIs counted in both words add up, to two (as take_events). */
	out->events =
		((lapic->local_events | posted) & LAPIC_EV_PUBLIC & ~LAPIC_EV_NMIS) |
		lapic_nmi_bits(lapic_nmi_count(lapic->local_events) + lapic_nmi_count(posted));
	out->sipi_vector = virq_atomic_load32(&lapic->posted_sipi) & 0xFFU;
	out->lint = virq_atomic_load32(&lapic->lint) & LINT_VALID_MASK;
	out->lint_vectors = (uint32_t)lapic->lint_vec[0] | ((uint32_t)lapic->lint_vec[1] << 8);
	if (lapic->mp_state == VIRQ_LAPIC_MP_WAIT_SIPI)
		out->flags |= VIRQ_LAPIC_STATE_WAIT_SIPI;
	if (lapic->timer_armed) {
		out->flags |= VIRQ_LAPIC_STATE_TIMER_ARMED;
		now = lapic->ops->now_ns(lapic->ctx);
		/* Negative when an expiry is due but not yet processed;
		 * saturated when further than 2^63 ns away (a far TSC
		 * deadline), so the sign never lies. */
		if (lapic->timer_deadline_ns >= now)
			out->timer_remaining_ns =
				lapic->timer_deadline_ns - now > (uint64_t)INT64_MAX
					? INT64_MAX
					: (int64_t)(lapic->timer_deadline_ns - now);
		else
			out->timer_remaining_ns =
				now - lapic->timer_deadline_ns > (uint64_t)INT64_MAX
					? -INT64_MAX
					: -(int64_t)(now - lapic->timer_deadline_ns);
	}
	return 0;
}

static int highest_in_state(const uint32_t *regs, uint32_t base)
{
	return apicvec_highest(&regs[R(base)]);
}

static bool vec_in_state(const uint32_t *regs, uint32_t base, uint8_t v)
{
	return apicvec_test(&regs[R(base)], v);
}

/*
 * The delivered vectors of the LINT entries (LINT0 in bits 7:0, LINT1 in
 * 15:8). Version 1 did not save them: an entry with Remote IRR set is taken
 * to have delivered the vector it holds now.
 */
static uint32_t state_lint_vectors(const struct virq_lapic_state *st)
{
	uint32_t v = 0;

	if (st->version >= 2U)
		return st->lint_vectors;
	for (unsigned pin = 0; pin < 2; pin++) {
		uint32_t lvt =
			st->regs[R(pin ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0)];

		if (lvt & VIRQ_LVT_REMOTE_IRR)
			v |= (lvt & VIRQ_LVT_VECTOR_MASK) << (8 * pin);
	}
	return v;
}

/*
 * A LINT Remote IRR belongs to an interrupt still pending or in service:
 * set at acceptance (vector >= 16 into IRR), cleared by the EOI of that
 * vector, and never kept by a globally disabled APIC (its vectors are
 * gone). TMR is not required: an edge interrupt of the same vector
 * accepted later clears it architecturally.
 */
static int lint_state_check(const struct virq_lapic_state *st, enum virq_lapic_mode mode)
{
	uint32_t vecs = state_lint_vectors(st);

	if (st->version < 2U ? st->lint_vectors != 0 : (vecs & 0xFFFF0000U) != 0)
		return -VIRQ_ESTATE;
	for (unsigned pin = 0; pin < 2; pin++) {
		uint32_t lvt =
			st->regs[R(pin ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0)];
		uint8_t v = (uint8_t)(vecs >> (8 * pin));

		if (!(lvt & VIRQ_LVT_REMOTE_IRR)) {
			if (v)
				return -VIRQ_ESTATE;
			continue;
		}
		if (mode == VIRQ_LAPIC_MODE_DISABLED || v < 16U)
			return -VIRQ_ESTATE;
		if (!vec_in_state(st->regs, VIRQ_LAPIC_REG_IRR, v) &&
		    !vec_in_state(st->regs, VIRQ_LAPIC_REG_ISR, v))
			return -VIRQ_ESTATE;
	}
	return 0;
}

/* Checks a state against the architecture and this LAPIC's configuration. Reads only. */
static int lapic_state_check(const struct virq_lapic *l, const struct virq_lapic_state *st)
{
	const uint32_t *r = st->regs;
	enum virq_lapic_mode mode;
	uint64_t rsvd;
	uint32_t tm;
	bool x2;
	int isrv;

	if (st->version < 1U || st->version > VIRQ_LAPIC_STATE_VERSION || st->size != sizeof(*st))
		return -VIRQ_EVERSION;

	/* IA32_APIC_BASE: reserved bits, invalid EN/EXTD, BSP as configured. */
	rsvd = 0x2FFULL | ~((1ULL << l->cfg.phys_addr_bits) - 1U);
	if (!l->cfg.x2apic)
		rsvd |= VIRQ_APIC_BASE_EXTD;
	if ((st->apic_base & rsvd & ~VIRQ_APIC_BASE_BSP) ||
	    (st->apic_base & (VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD)) == VIRQ_APIC_BASE_EXTD ||
	    !(st->apic_base & VIRQ_APIC_BASE_BSP) != !l->cfg.bsp)
		return -VIRQ_ESTATE;
	mode = lapic_mode_of(st->apic_base);
	x2 = mode == VIRQ_LAPIC_MODE_X2APIC;

	/* Reserved and derived slots. */
	for (uint32_t off = 0; off < 0x400U; off += 4) {
		bool slot0 = !(off & 0xFU);
		uint32_t v = r[R(off)];

		if (!slot0 && v)
			return -VIRQ_ESTATE; /* bytes 4-15 of every slot */
	}
	if (r[R(0x000)] || r[R(0x010)] || r[R(VIRQ_LAPIC_REG_APR)] || r[R(VIRQ_LAPIC_REG_EOI)] ||
	    r[R(VIRQ_LAPIC_REG_RRD)] || r[R(VIRQ_LAPIC_REG_SELF_IPI)])
		return -VIRQ_ESTATE;
	for (uint32_t off = 0x040; off <= 0x070; off += 16)
		if (r[R(off)])
			return -VIRQ_ESTATE;
	for (uint32_t off = 0x290; off <= 0x2E0; off += 16)
		if (r[R(off)])
			return -VIRQ_ESTATE;
	for (uint32_t off = 0x3A0; off <= 0x3D0; off += 16)
		if (r[R(off)])
			return -VIRQ_ESTATE;

	/* ID, version, LDR, DFR. */
	if (x2) {
		if (r[R(VIRQ_LAPIC_REG_ID)] != l->cfg.apic_id ||
		    r[R(VIRQ_LAPIC_REG_LDR)] != virq_x2apic_ldr(l->cfg.apic_id))
			return -VIRQ_ESTATE;
	} else if (mode == VIRQ_LAPIC_MODE_DISABLED) {
		/* Not decoded; a former x2APIC keeps its 32-bit ID and LDR
		 * (SDM 10.12.5.1 "x2APIC States") until re-enable resets the page. */
		if (r[R(VIRQ_LAPIC_REG_ID)] != l->cfg.apic_id &&
		    (r[R(VIRQ_LAPIC_REG_ID)] & ~ID_XAPIC_MASK))
			return -VIRQ_ESTATE;
		if (r[R(VIRQ_LAPIC_REG_LDR)] != virq_x2apic_ldr(l->cfg.apic_id) &&
		    (r[R(VIRQ_LAPIC_REG_LDR)] & ~LDR_XAPIC_MASK))
			return -VIRQ_ESTATE;
	} else {
		if (r[R(VIRQ_LAPIC_REG_ID)] & ~ID_XAPIC_MASK)
			return -VIRQ_ESTATE;
		if (!l->cfg.xapic_id_writable && mode == VIRQ_LAPIC_MODE_XAPIC &&
		    r[R(VIRQ_LAPIC_REG_ID)] != (l->cfg.apic_id << 24))
			return -VIRQ_ESTATE;
		if (r[R(VIRQ_LAPIC_REG_LDR)] & ~LDR_XAPIC_MASK)
			return -VIRQ_ESTATE;
	}
	if (r[R(VIRQ_LAPIC_REG_VERSION)] != lapic_version_value(l))
		return -VIRQ_ESTATE;
	if ((r[R(VIRQ_LAPIC_REG_DFR)] | DFR_MODEL_MASK) != 0xFFFFFFFFU)
		return -VIRQ_ESTATE;
	/* Any model value is storable (undefined models match nothing). */

	/* Priorities and vector bitmaps. */
	if (r[R(VIRQ_LAPIC_REG_TPR)] & ~TPR_MASK)
		return -VIRQ_ESTATE;
	if ((r[R(VIRQ_LAPIC_REG_ISR)] | r[R(VIRQ_LAPIC_REG_TMR)] | r[R(VIRQ_LAPIC_REG_IRR)]) &
	    0xFFFFU)
		return -VIRQ_ESTATE; /* vectors 0-15 are never set */
	isrv = highest_in_state(r, VIRQ_LAPIC_REG_ISR);
	if (mode == VIRQ_LAPIC_MODE_DISABLED &&
	    (isrv >= 0 || highest_in_state(r, VIRQ_LAPIC_REG_IRR) >= 0 ||
	     highest_in_state(r, VIRQ_LAPIC_REG_TMR) >= 0))
		return -VIRQ_ESTATE; /* emptied by the global disable */
	if (r[R(VIRQ_LAPIC_REG_PPR)] != lapic_compute_ppr(r[R(VIRQ_LAPIC_REG_TPR)], isrv))
		return -VIRQ_ESTATE;

	/* SVR, ESR, ICR, timer. */
	if (r[R(VIRQ_LAPIC_REG_SVR)] & ~lapic_svr_writable(l))
		return -VIRQ_ESTATE;
	if ((r[R(VIRQ_LAPIC_REG_ESR)] | st->esr_pending) & ~0xF0U)
		return -VIRQ_ESTATE;
	if (r[R(VIRQ_LAPIC_REG_ICR_LO)] & ~ICR_LO_MASK)
		return -VIRQ_ESTATE;
	/* A disabled former x2APIC keeps its 32-bit ICR destination. */
	if (mode == VIRQ_LAPIC_MODE_XAPIC && (r[R(VIRQ_LAPIC_REG_ICR_HI)] & ~0xFF000000U))
		return -VIRQ_ESTATE;
	if (r[R(VIRQ_LAPIC_REG_TDCR)] & ~VIRQ_TDCR_MASK)
		return -VIRQ_ESTATE;

	/* LVTs: only their fields; masked while software-disabled. */
	for (uint32_t off = VIRQ_LAPIC_REG_LVT_CMCI; off <= VIRQ_LAPIC_REG_LVT_ERROR; off += 16) {
		uint32_t v = r[R(off)], allowed;

		if (off == VIRQ_LAPIC_REG_ICR_LO || off == VIRQ_LAPIC_REG_ICR_HI)
			continue;
		if (!lapic_is_lvt(l, off)) {
			if (v)
				return -VIRQ_ESTATE;
			continue;
		}
		allowed = lapic_lvt_writable(l, off);
		if (off == VIRQ_LAPIC_REG_LVT_LINT0 || off == VIRQ_LAPIC_REG_LVT_LINT1)
			allowed |= VIRQ_LVT_REMOTE_IRR;
		if (v & ~allowed)
			return -VIRQ_ESTATE;
		if (!(r[R(VIRQ_LAPIC_REG_SVR)] & VIRQ_LAPIC_SVR_ENABLE) && !(v & VIRQ_LVT_MASKED))
			return -VIRQ_ESTATE;
	}
	tm = (r[R(VIRQ_LAPIC_REG_LVT_TIMER)] & VIRQ_LVT_TIMER_MODE_MASK) >>
	     VIRQ_LVT_TIMER_MODE_SHIFT;
	if (tm == 3U)
		return -VIRQ_ESTATE;

	/* Timer state consistent with the mode. */
	if (st->flags & ~STATE_FLAGS_VALID)
		return -VIRQ_ESTATE;
	if (tm == VIRQ_LVT_TIMER_TSCDEADLINE) {
		if (r[R(VIRQ_LAPIC_REG_TMICT)] || r[R(VIRQ_LAPIC_REG_TMCCT)])
			return -VIRQ_ESTATE;
		if (!(st->flags & VIRQ_LAPIC_STATE_TIMER_ARMED) != !st->tsc_deadline)
			return -VIRQ_ESTATE;
	} else {
		if (st->tsc_deadline)
			return -VIRQ_ESTATE;
		if (r[R(VIRQ_LAPIC_REG_TMCCT)] > r[R(VIRQ_LAPIC_REG_TMICT)])
			return -VIRQ_ESTATE;
		if ((st->flags & VIRQ_LAPIC_STATE_TIMER_ARMED) && !r[R(VIRQ_LAPIC_REG_TMICT)])
			return -VIRQ_ESTATE;
	}
	if (mode == VIRQ_LAPIC_MODE_DISABLED && (st->flags & VIRQ_LAPIC_STATE_TIMER_ARMED))
		return -VIRQ_ESTATE;
	/*
	 * A timer remaining beyond one full period cannot come from save(),
	 * nor, for a periodic timer, beyond the whole periods that span the
	 * largest floor the saving LAPIC may have had.
	 */
	if ((st->flags & VIRQ_LAPIC_STATE_TIMER_ARMED) && tm != VIRQ_LVT_TIMER_TSCDEADLINE) {
		uint64_t period = lapic_count_ns(r[R(VIRQ_LAPIC_REG_TDCR)], l->cfg.timer_tick_ps,
						 r[R(VIRQ_LAPIC_REG_TMICT)]);

		if (tm == VIRQ_LVT_TIMER_PERIODIC)
			period += VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX;
		if (st->timer_remaining_ns > (int64_t)period)
			return -VIRQ_ESTATE;
	}

	/* Events, pins, MP state: the BSP never waits for a SIPI (SDM 8.4
	 * "Multiple-Processor (MP) Initialization"). A second NMI (version
	 * 3) only beside the first. */
	if (st->events & ~(LAPIC_EV_PUBLIC | (st->version >= 3U ? LAPIC_EV_NMI2 : 0U)))
		return -VIRQ_ESTATE;
	if ((st->events & LAPIC_EV_NMIS) == LAPIC_EV_NMI2)
		return -VIRQ_ESTATE;
	if (st->sipi_vector > 0xFFU || st->lint & ~LINT_VALID_MASK)
		return -VIRQ_ESTATE;
	if ((st->flags & VIRQ_LAPIC_STATE_WAIT_SIPI) && l->cfg.bsp)
		return -VIRQ_ESTATE;
	return lint_state_check(st, mode);
}

/*
 * Host deadline of a restored timer @rem ns from @now (negative: overdue).
 * An overdue deadline stays in the past, so the current count and the
 * period grid read as at save time and the host timer fires at once. The
 * destination's clock may be younger than the overdue time: the deadline
 * then stays overdue at the start of its clock (a one-shot count reads 0),
 * a periodic one with the phase it had, within one period, where the clock
 * allows it.
 */
static uint64_t restored_deadline(const struct virq_lapic *l, uint32_t tm, uint64_t now,
				  int64_t rem)
{
	uint64_t late;

	if (rem >= 0)
		return (uint64_t)rem > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)rem;
	late = (uint64_t)(-(rem + 1)) + 1U; /* -rem without overflow */
	if (late <= now)
		return now - late;
	if (tm == VIRQ_LVT_TIMER_PERIODIC && late % l->timer_period_ns <= now)
		return now - late % l->timer_period_ns;
	return 0;
}

/* Loads a checked state. Cannot fail. */
static void lapic_state_load(struct virq_lapic *l, const struct virq_lapic_state *st)
{
	uint32_t tm, vecs;

	lapic_timer_stop(l);
	lapic_discard_posted(l);
	lapic_dest_begin(l);
	__atomic_store_n(&l->apic_base, st->apic_base, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < 256; i++)
		__atomic_store_n(&l->page[i], st->regs[i], __ATOMIC_RELAXED);
	lapic_dest_end(l);
	virq_memset(&l->page[256], 0, VIRQ_LAPIC_PAGE_SIZE - 1024U);
	lapic_set(l, VIRQ_LAPIC_REG_TMCCT, 0);
	l->esr_pending = st->esr_pending;
	l->tsc_deadline = st->tsc_deadline;
	lapic_recompute_cache(l);
	vecs = state_lint_vectors(st);
	l->lint_rirr = 0;
	for (unsigned pin = 0; pin < 2; pin++) {
		l->lint_vec[pin] = (uint8_t)(vecs >> (8 * pin));
		if (l->lint_vec[pin])
			l->lint_rirr |= (uint8_t)(1U << pin);
	}
	lapic_eoi_exit_update(l);
	/* Saved events were accepted already: they resume as local events,
	 * which take_events honours in every mode. */
	l->local_events = st->events;
	l->in_error = false;
	virq_atomic_store32(&l->posted_sipi, st->sipi_vector);
	virq_atomic_store32(&l->lint, st->lint);
	virq_atomic_store32(&l->posted_events, st->lint & ~3U ? LAPIC_EV_LINT : 0);
	l->mp_state = (st->flags & VIRQ_LAPIC_STATE_WAIT_SIPI) ? VIRQ_LAPIC_MP_WAIT_SIPI
							       : VIRQ_LAPIC_MP_RUNNABLE;

	tm = lapic_timer_mode(l);
	if (st->flags & VIRQ_LAPIC_STATE_TIMER_ARMED) {
		uint64_t now = l->ops->now_ns(l->ctx);

		if (tm != VIRQ_LVT_TIMER_TSCDEADLINE)
			l->timer_period_ns = lapic_count_ns(lapic_get(l, VIRQ_LAPIC_REG_TDCR),
							    l->cfg.timer_tick_ps,
							    lapic_get(l, VIRQ_LAPIC_REG_TMICT));
		l->timer_armed = true;
		l->timer_deadline_ns = restored_deadline(l, tm, now, st->timer_remaining_ns);
		lapic_timer_rearm(l);
	}
}

VIRQ_API int virq_lapic_restore(struct virq_lapic *lapic, const struct virq_lapic_state *st)
{
	int err;

	if (!st)
		return -VIRQ_EINVAL;
	err = lapic_state_check(lapic, st); /* reads only */
	if (err)
		return err;
	lapic_state_load(lapic, st); /* cannot fail */
	return 0;
}

int lapic_check_invariants(const struct virq_lapic *l)
{
	const uint32_t *isr = &l->page[R(VIRQ_LAPIC_REG_ISR)];
	const uint32_t *irr = &l->page[R(VIRQ_LAPIC_REG_IRR)];
	const uint32_t *tmr = &l->page[R(VIRQ_LAPIC_REG_TMR)];
	enum virq_lapic_mode mode = lapic_mode(l);

	if ((isr[0] | irr[0] | tmr[0]) & 0xFFFFU)
		return 1; /* no IRR/ISR/TMR bit below 16 */
	if (l->isrv != apicvec_highest(isr))
		return 2;
	if (l->irrv != apicvec_highest(irr))
		return 3;
	if (l->irr_sum != apicvec_summary(irr) || l->tmr_sum != apicvec_summary(tmr) ||
	    l->isr_count != apicvec_count(isr))
		return 17;
	if (l->active != lapic_compute_active(l))
		return 18;
	if (mode == VIRQ_LAPIC_MODE_DISABLED && (l->irr_sum | l->isr_count | l->tmr_sum))
		return 19;
	if (l->dest_depth || (l->dest_seq & 1U))
		return 20;
	if (lapic_get(l, VIRQ_LAPIC_REG_PPR) !=
	    lapic_compute_ppr(lapic_get(l, VIRQ_LAPIC_REG_TPR), apicvec_highest(isr)))
		return 4;
	if (lapic_get(l, VIRQ_LAPIC_REG_TPR) & ~TPR_MASK)
		return 5;
	if (lapic_get(l, VIRQ_LAPIC_REG_VERSION) != lapic_version_value(l))
		return 6;
	if (mode == VIRQ_LAPIC_MODE_X2APIC &&
	    (lapic_get(l, VIRQ_LAPIC_REG_ID) != l->cfg.apic_id ||
	     lapic_get(l, VIRQ_LAPIC_REG_LDR) != virq_x2apic_ldr(l->cfg.apic_id)))
		return 7;
	if ((l->apic_base & (VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD)) == VIRQ_APIC_BASE_EXTD)
		return 8;
	if (!lapic_sw_enabled(l) && mode != VIRQ_LAPIC_MODE_DISABLED) {
		for (uint32_t off = VIRQ_LAPIC_REG_LVT_TIMER; off <= VIRQ_LAPIC_REG_LVT_ERROR;
		     off += 16)
			if (!(lapic_get(l, off) & VIRQ_LVT_MASKED))
				return 9;
	}
	if (lapic_timer_mode(l) == 3U)
		return 10;
	if (l->timer_armed && lapic_timer_mode(l) != VIRQ_LVT_TIMER_TSCDEADLINE &&
	    (!lapic_get(l, VIRQ_LAPIC_REG_TMICT) || !l->timer_period_ns))
		return 11;
	if (l->tsc_deadline && lapic_timer_mode(l) != VIRQ_LVT_TIMER_TSCDEADLINE)
		return 12;
	if ((l->esr_pending | lapic_get(l, VIRQ_LAPIC_REG_ESR)) & ~0xF0U)
		return 13;
	if (l->in_error)
		return 14;
	if (l->mp_state > VIRQ_LAPIC_MP_WAIT_SIPI)
		return 15;
	if (lapic_get(l, VIRQ_LAPIC_REG_SVR) & ~lapic_svr_writable(l))
		return 16;
	for (unsigned pin = 0; pin < 2; pin++) {
		uint32_t lvt =
			lapic_get(l, pin ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0);
		bool rirr = (lvt & VIRQ_LVT_REMOTE_IRR) != 0;
		uint8_t v = l->lint_vec[pin];

		if (rirr != ((l->lint_rirr >> pin) & 1U) || (l->lint_rirr & ~3U))
			return 21;
		if (!rirr && v)
			return 22;
		if (rirr && (mode == VIRQ_LAPIC_MODE_DISABLED || v < 16U ||
			     !(apicvec_test(irr, v) || apicvec_test(isr, v))))
			return 23;
	}
	if (l->mp_state == VIRQ_LAPIC_MP_WAIT_SIPI && l->cfg.bsp)
		return 24;
	if (l->accel > VIRQ_LAPIC_ACCEL_APICV)
		return 25;
	{
		uint64_t bm[4];

		lapic_eoi_exit_compute(l, bm);
		for (unsigned i = 0; i < 4; i++)
			if (bm[i] != l->eoi_exit[i])
				return 26;
	}
	return 0;
}
