/* SPDX-License-Identifier: MIT */
/*
 * APIC timer: one-shot, periodic, TSC-deadline (SDM 10.5.4 "APIC
 * Timer", 10.5.4.1 "TSC-Deadline Mode", Figure 10-10 "Divide
 * Configuration Register").
 *
 * Host time comes from ops->now_ns; the embedder's host timer is armed with
 * ops->timer_arm and reports back through virq_lapic_timer_expired().
 * One-shot/periodic state: timer_period_ns is one full count (TMICT *
 * divisor * tick) and timer_deadline_ns the next expiry, always a point
 * where the count reaches 0 (reloads, when periodic); the current count is
 * derived from the two, never stored. A periodic timer faster than the
 * configured floor expires every timer_interval() ns, a whole number of
 * periods, so the count keeps its architectural rate and phase. A switch
 * between one-shot and periodic keeps the count (lapic_timer_lvt_write()).
 */
#include "lapic_priv.h"

static uint32_t lvt_timer_mode(uint32_t lvt)
{
	return (lvt & VIRQ_LVT_TIMER_MODE_MASK) >> VIRQ_LVT_TIMER_MODE_SHIFT;
}

uint32_t lapic_timer_mode(const struct virq_lapic *l)
{
	return lvt_timer_mode(lapic_get(l, VIRQ_LAPIC_REG_LVT_TIMER));
}

/* Picoseconds per current-count decrement: divisor * input tick. */
uint64_t lapic_timer_unit_ps(const struct virq_lapic *l)
{
	return (uint64_t)virq_lapic_tdcr_divisor(lapic_get(l, VIRQ_LAPIC_REG_TDCR)) *
	       l->cfg.timer_tick_ps;
}

/*
 * ns of @count decrements at Divide Configuration @tdcr and an input tick
 * of @tick_ps: never 0 (no zero-length period). count <= 2^32, divisor *
 * tick <= 128e6 ps: the product fits 64 bits. Also used on a saved state.
 */
uint64_t lapic_count_ns(uint32_t tdcr, uint32_t tick_ps, uint64_t count)
{
	uint64_t ns = count * ((uint64_t)virq_lapic_tdcr_divisor(tdcr) * tick_ps) / 1000U;

	return ns ? ns : 1;
}

static uint64_t count_to_ns(const struct virq_lapic *l, uint64_t count)
{
	return lapic_count_ns(lapic_get(l, VIRQ_LAPIC_REG_TDCR), l->cfg.timer_tick_ps, count);
}

void lapic_timer_stop(struct virq_lapic *l)
{
	if (l->timer_armed)
		l->ops->timer_cancel(l->ctx);
	l->timer_armed = false;
	l->timer_deadline_ns = 0;
	l->timer_period_ns = 0;
}

static void timer_arm_at(struct virq_lapic *l, uint64_t deadline)
{
	l->timer_armed = true;
	l->timer_deadline_ns = deadline;
	l->ops->timer_arm(l->ctx, deadline);
}

/*
 * Whole periods of @period that span the floor @floor: the interval
 * between two interrupts of a periodic timer. @period >= 1 and
 * @floor <= 1e9, so the result is below 2 * 1e9 + period.
 */
static uint64_t interval_of(uint64_t period, uint64_t floor)
{
	if (period >= floor)
		return period;
	return (floor + period - 1) / period * period;
}

/* ns between two host expiries: one period, or whole periods spanning the
 * floor for a periodic timer (KVM's min_timer_period_us, 200 us). */
static uint64_t lapic_timer_interval(const struct virq_lapic *l)
{
	if (lapic_timer_mode(l) != VIRQ_LVT_TIMER_PERIODIC)
		return l->timer_period_ns;
	return interval_of(l->timer_period_ns, l->cfg.timer_min_period_ns);
}

/*
 * First expiry of a count that reaches 0 in @first ns from now and then
 * every period: a periodic timer skips the reloads that come sooner than
 * the floor, staying on the count's grid.
 */
static uint64_t first_expiry(const struct virq_lapic *l, uint64_t now, uint64_t first)
{
	uint64_t floor = l->cfg.timer_min_period_ns, p = l->timer_period_ns;

	if (lapic_timer_mode(l) == VIRQ_LVT_TIMER_PERIODIC && first < floor)
		first += (floor - first + p - 1) / p * p;
	return now + first;
}

/* Starts a one-shot/periodic count of TMICT from now. */
static void timer_start_count(struct virq_lapic *l)
{
	uint32_t tmict = lapic_get(l, VIRQ_LAPIC_REG_TMICT);
	uint64_t now;

	if (!tmict) {
		lapic_timer_stop(l); /* writing 0 stops the timer */
		return;
	}
	l->timer_period_ns = count_to_ns(l, tmict);
	now = l->ops->now_ns(l->ctx);
	timer_arm_at(l, first_expiry(l, now, l->timer_period_ns));
}

void lapic_timer_write_tmict(struct virq_lapic *l, uint32_t val)
{
	/* TSC-deadline mode ignores Initial Count writes (SDM 10.5.4.1 "TSC-Deadline Mode"). */
	if (lapic_timer_mode(l) == VIRQ_LVT_TIMER_TSCDEADLINE)
		return;
	lapic_set(l, VIRQ_LAPIC_REG_TMICT, val);
	timer_start_count(l);
}

/*
 * Current Count, from the time left to the next expiry: the deadline is a
 * point where the count reaches 0, and a periodic count reloads every
 * period before and after it (also between the expiries of a floored
 * timer), so only the position within one period matters.
 */
uint32_t lapic_timer_read_tmcct(struct virq_lapic *l)
{
	uint32_t tmict = lapic_get(l, VIRQ_LAPIC_REG_TMICT);
	uint64_t now, period = l->timer_period_ns, left, elapsed, ticks;
	bool periodic = lapic_timer_mode(l) == VIRQ_LVT_TIMER_PERIODIC;

	if (!l->timer_armed || lapic_timer_mode(l) == VIRQ_LVT_TIMER_TSCDEADLINE || !tmict)
		return 0;
	now = l->ops->now_ns(l->ctx);
	if (now >= l->timer_deadline_ns) {
		/* Expiry not yet processed. One-shot: at 0. Periodic: it has
		 * reloaded; position within the current period. */
		if (!periodic)
			return 0;
		elapsed = (now - l->timer_deadline_ns) % period;
	} else {
		left = l->timer_deadline_ns - now;
		if (periodic)
			left %= period;
		else if (left >= period)
			return tmict; /* not started counting yet (restore) */
		elapsed = left ? period - left : 0;
	}
	/* elapsed < period <= 2^39 * 1e3 ns: elapsed * 1000 fits in 64 bits. */
	ticks = elapsed * 1000U / lapic_timer_unit_ps(l);
	return ticks >= tmict ? 0 : tmict - (uint32_t)ticks;
}

void lapic_timer_write_tdcr(struct virq_lapic *l, uint32_t val)
{
	uint32_t remaining;

	if (!l->timer_armed || lapic_timer_mode(l) == VIRQ_LVT_TIMER_TSCDEADLINE) {
		lapic_set(l, VIRQ_LAPIC_REG_TDCR, val & VIRQ_TDCR_MASK);
		return;
	}
	/* Counting: the remaining count continues at the new rate (as KVM;
	 * the SDM leaves it open). */
	remaining = lapic_timer_read_tmcct(l);
	lapic_set(l, VIRQ_LAPIC_REG_TDCR, val & VIRQ_TDCR_MASK);
	l->timer_period_ns = count_to_ns(l, lapic_get(l, VIRQ_LAPIC_REG_TMICT));
	timer_arm_at(l, first_expiry(l, l->ops->now_ns(l->ctx),
				     remaining ? count_to_ns(l, remaining) : 0));
}

/* Guest TSC now: the embedder's view, or now_ns at tsc_khz. */
static uint64_t guest_tsc(const struct virq_lapic *l)
{
	uint64_t ns;

	if (l->ops->guest_tsc)
		return l->ops->guest_tsc(l->ctx);
	ns = l->ops->now_ns(l->ctx);
	/* ns * khz / 1e6 without overflowing: split ns into seconds and rest. */
	return (ns / 1000000000U) * l->cfg.tsc_khz * 1000U +
	       (ns % 1000000000U) * l->cfg.tsc_khz / 1000000U;
}

/* TSC cycles -> ns, rounded up so the host timer never fires early. */
static uint64_t tsc_delta_to_ns(const struct virq_lapic *l, uint64_t delta)
{
	uint64_t khz = l->cfg.tsc_khz;
	uint64_t whole = delta / khz, rest = delta % khz;

	if (whole > UINT64_MAX / 1000000U)
		return UINT64_MAX / 2; /* centuries away */
	return whole * 1000000U + (rest * 1000000U + khz - 1) / khz;
}

/* A TSC deadline is reached: the interrupt, and IA32_TSC_DEADLINE reads 0
 * (SDM 10.5.4.1 "TSC-Deadline Mode"). */
static void timer_fire_tsc(struct virq_lapic *l)
{
	lapic_timer_stop(l);
	l->tsc_deadline = 0;
	lapic_fire_lvt(l, VIRQ_LAPIC_REG_LVT_TIMER);
}

static void timer_arm_tsc(struct virq_lapic *l)
{
	uint64_t tsc = guest_tsc(l);
	uint64_t now, delta;

	if (l->tsc_deadline <= tsc) {
		/* Already past: fires at once and disarms (SDM 10.5.4.1 "TSC-Deadline Mode"). */
		timer_fire_tsc(l);
		return;
	}
	now = l->ops->now_ns(l->ctx);
	delta = tsc_delta_to_ns(l, l->tsc_deadline - tsc);
	/* At most 2^63 - 1 ns (292 years) ahead: the saved remaining time
	 * (signed) then holds the deadline exactly and a restored LAPIC
	 * arms the same one. */
	if (delta > (uint64_t)INT64_MAX)
		delta = (uint64_t)INT64_MAX;
	timer_arm_at(l, delta > UINT64_MAX - now ? UINT64_MAX : now + delta);
}

uint64_t lapic_timer_read_tsc_deadline(const struct virq_lapic *l)
{
	if (lapic_timer_mode(l) != VIRQ_LVT_TIMER_TSCDEADLINE ||
	    lapic_mode(l) == VIRQ_LAPIC_MODE_DISABLED)
		return 0;
	return l->tsc_deadline;
}

void lapic_timer_write_tsc_deadline(struct virq_lapic *l, uint64_t val)
{
	/* Ignored unless the LVT timer is in TSC-deadline mode (SDM 10.5.4.1 "TSC-Deadline Mode")
	 * and the APIC is globally enabled (no APIC, no timer). */
	if (lapic_timer_mode(l) != VIRQ_LVT_TIMER_TSCDEADLINE ||
	    lapic_mode(l) == VIRQ_LAPIC_MODE_DISABLED)
		return;
	l->tsc_deadline = val;
	if (!val) {
		lapic_timer_stop(l); /* writing 0 disarms */
		return;
	}
	timer_arm_tsc(l);
}

/*
 * A one-shot/periodic count reached 0 at the deadline (@now is at or past
 * it): deliver the LVT Timer interrupt (a masked entry drops it; the count
 * goes on), then stop a one-shot count at 0 or reload a periodic one.
 */
static void timer_expire(struct virq_lapic *l, uint64_t now)
{
	uint64_t late, periods, interval;

	lapic_fire_lvt(l, VIRQ_LAPIC_REG_LVT_TIMER);
	if (lapic_timer_mode(l) != VIRQ_LVT_TIMER_PERIODIC) {
		l->timer_armed = false; /* one-shot: current count stays 0 */
		return;
	}
	/*
	 * Periodic: next deadline on the original grid (no drift), at least
	 * one floored interval later. After a long pause, one expiry is
	 * delivered and the missed ones are skipped in O(1) (KVM
	 * CVE-2025-71104 caught up one period at a time).
	 */
	interval = lapic_timer_interval(l);
	late = now - l->timer_deadline_ns;
	periods = late / interval + 1;
	l->timer_deadline_ns += periods * interval;
	l->ops->timer_arm(l->ctx, l->timer_deadline_ns);
}

/*
 * A write of the LVT Timer entry, @nv already reduced to its writable
 * bits. A write that keeps the mode changes only the vector and the mask,
 * which the next expiry reads: the count is not disturbed.
 *
 * Entering or leaving TSC-deadline mode disarms the timer ("a write to
 * the LVT Timer Register that changes the timer mode disarms the local
 * APIC timer", SDM 10.5.4.1 "TSC-Deadline Mode") and clears Initial Count and the deadline,
 * whose meaning changes with the mode (KVM does the same).
 *
 * Between one-shot and periodic the count goes on, as processors do
 * (KVM keeps it too, and only disarms on TSC-deadline transitions): the
 * current count continues from where it is, and the new mode applies
 * when it reaches 0. One-shot to periodic: it then reloads from Initial
 * Count and keeps counting; a one-shot count already at 0 stays there
 * until Initial Count is written. Periodic to one-shot: it expires once
 * more, at its next 0, and stops. An expiry that was due before the write
 * but not yet processed (the host timer fired late) happened in the old
 * mode, with the old entry, and is delivered first.
 */
void lapic_timer_lvt_write(struct virq_lapic *l, uint32_t nv)
{
	uint32_t om = lvt_timer_mode(lapic_get(l, VIRQ_LAPIC_REG_LVT_TIMER));
	uint32_t nm = lvt_timer_mode(nv);
	uint64_t now, left, next;

	if (om == nm) {
		lapic_set(l, VIRQ_LAPIC_REG_LVT_TIMER, nv);
		return;
	}
	if (om == VIRQ_LVT_TIMER_TSCDEADLINE || nm == VIRQ_LVT_TIMER_TSCDEADLINE) {
		lapic_set(l, VIRQ_LAPIC_REG_LVT_TIMER, nv);
		lapic_timer_stop(l);
		l->tsc_deadline = 0;
		lapic_set(l, VIRQ_LAPIC_REG_TMICT, 0);
		return;
	}
	if (!l->timer_armed) {
		lapic_set(l, VIRQ_LAPIC_REG_LVT_TIMER, nv);
		return; /* stopped, or a one-shot count at 0: stays 0 */
	}
	now = l->ops->now_ns(l->ctx);
	if (now >= l->timer_deadline_ns) {
		timer_expire(l, now);
		if (!l->timer_armed)
			l->ops->timer_cancel(l->ctx); /* due, not fired yet */
	}
	lapic_set(l, VIRQ_LAPIC_REG_LVT_TIMER, nv);
	if (!l->timer_armed || nm != VIRQ_LVT_TIMER_ONESHOT)
		return; /* to periodic: reloads at the deadline, a point where it reaches 0 */
	/*
	 * To one-shot: the next 0 of the count, which may come before the
	 * deadline of a periodic timer faster than the floor (that deadline
	 * is the k-th reload). A count that reloads right now has a full
	 * period to go. The deadline is past now here.
	 */
	left = (l->timer_deadline_ns - now) % l->timer_period_ns;
	next = now + (left ? left : l->timer_period_ns);
	if (next != l->timer_deadline_ns)
		timer_arm_at(l, next);
}

/* Re-arms the host timer after a restore. */
void lapic_timer_rearm(struct virq_lapic *l)
{
	uint64_t now;

	if (!l->timer_armed)
		return;
	/* An overdue deadline (kept in the past for the count) fires now:
	 * the host timer is never handed a time already gone. */
	now = l->ops->now_ns(l->ctx);
	l->ops->timer_arm(l->ctx, l->timer_deadline_ns < now ? now : l->timer_deadline_ns);
}

VIRQ_API void virq_lapic_timer_expired(struct virq_lapic *lapic)
{
	uint64_t now;

	if (!lapic->timer_armed)
		return;

	now = lapic->ops->now_ns(lapic->ctx);
	if (lapic_timer_mode(lapic) == VIRQ_LVT_TIMER_TSCDEADLINE) {
		/*
		 * Due once the embedder's clock passes the deadline converted at
		 * arming, or earlier if the guest TSC already reached it. The
		 * guest TSC is not asked to agree at the host deadline: one
		 * that stands still while the vCPU is out of the guest (KVM
		 * with an unstable host TSC catches it up only at the next
		 * entry) would hold the timer for ever. KVM's LAPIC also fires
		 * on its host timer. An early wake re-arms the same deadline.
		 */
		if (now >= lapic->timer_deadline_ns || guest_tsc(lapic) >= lapic->tsc_deadline)
			timer_fire_tsc(lapic);
		else
			lapic->ops->timer_arm(lapic->ctx, lapic->timer_deadline_ns);
		return;
	}

	if (now < lapic->timer_deadline_ns) {
		lapic->ops->timer_arm(lapic->ctx, lapic->timer_deadline_ns);
		return;
	}
	timer_expire(lapic, now);
}
