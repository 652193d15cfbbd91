/* SPDX-License-Identifier: MIT */
/*
 * LAPIC life cycle: init, RESET and INIT state, events (NMI, SMI, INIT,
 * SIPI, ExtINT), LINT input pins.
 */
#include "lapic_priv.h"

static int lapic_config_check(const struct virq_lapic_config *cfg)
{
	if (cfg->apic_id == 0xFFFFFFFFU)
		return -VIRQ_EINVAL; /* never a valid x2APIC ID (SDM 10.12.1.3) */
	if (cfg->apic_id > 0xFFU && !cfg->x2apic)
		return -VIRQ_ENOTSUP;
	if (cfg->version && (cfg->version < 0x10U || cfg->version > 0x15U))
		return -VIRQ_EINVAL;
	if (cfg->max_lvt && cfg->max_lvt != 5U && cfg->max_lvt != 6U)
		return -VIRQ_EINVAL;
	if (cfg->phys_addr_bits && (cfg->phys_addr_bits < 36U || cfg->phys_addr_bits > 52U))
		return -VIRQ_EINVAL;
	if (cfg->timer_tick_ps > LAPIC_TICK_PS_MAX)
		return -VIRQ_EINVAL;
	if (cfg->tsc_deadline && !cfg->tsc_khz)
		return -VIRQ_EINVAL;
	if (cfg->timer_min_period_ns > VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX)
		return -VIRQ_EINVAL;
	return 0;
}

VIRQ_API int virq_lapic_init(struct virq_lapic *lapic, void *page,
			     const struct virq_lapic_config *cfg, const struct virq_lapic_ops *ops,
			     void *ctx)
{
	struct virq_lapic_config c;
	int err;

	if (!lapic || !page || !cfg || !ops)
		return -VIRQ_EINVAL;
	/* The sizes first: nothing past them is the caller's. */
	if (!VIRQ_SIZE_ACCEPTED(cfg->size, VIRQ_LAPIC_CONFIG_SIZE_MIN, struct virq_lapic_config) ||
	    !VIRQ_SIZE_ACCEPTED(ops->size, VIRQ_LAPIC_OPS_SIZE_MIN, struct virq_lapic_ops))
		return -VIRQ_EVERSION;
	if (ops->reserved)
		return -VIRQ_EINVAL;
	if (!ops->kick || !ops->now_ns || !ops->timer_arm || !ops->timer_cancel)
		return -VIRQ_EINVAL;
	if (((uintptr_t)lapic & 63U) || ((uintptr_t)page & (VIRQ_LAPIC_PAGE_SIZE - 1U)))
		return -VIRQ_EALIGN;
	VIRQ_SIZED_COPY(&c, cfg);
	err = lapic_config_check(&c);
	if (err)
		return err;

	virq_memset(lapic, 0, sizeof(*lapic));
	lapic->eoi_exit_gen = 1; /* so an embedder's 0 means "never loaded" */
	lapic->page = (uint32_t *)page;
	lapic->ops = ops;
	lapic->ctx = ctx;
	lapic->cfg = c;
	if (!lapic->cfg.version)
		lapic->cfg.version = LAPIC_VERSION_DEFAULT;
	if (!lapic->cfg.max_lvt)
		lapic->cfg.max_lvt = LAPIC_MAXLVT_DEFAULT;
	if (!lapic->cfg.phys_addr_bits)
		lapic->cfg.phys_addr_bits = LAPIC_PHYS_BITS_DEFAULT;
	if (!lapic->cfg.timer_tick_ps)
		lapic->cfg.timer_tick_ps = LAPIC_TICK_PS_DEFAULT;
	if (!lapic->cfg.timer_min_period_ns)
		lapic->cfg.timer_min_period_ns = VIRQ_LAPIC_TIMER_MIN_PERIOD_DEFAULT;
	virq_lapic_reset(lapic);
	return 0;
}

/*
 * Register file at RESET (init == false) or INIT (init == true),
 * SDM 10.4.7.1 and 10.4.7.3: INIT keeps the ID, IA32_APIC_BASE and the
 * x2APIC mode (with its derived LDR); everything else takes its power-up
 * value. The timer stops, pending posted requests are discarded.
 */
void lapic_reset_regs(struct virq_lapic *l, bool init)
{
	bool x2 = lapic_mode(l) == VIRQ_LAPIC_MODE_X2APIC;
	uint32_t id = x2 ? l->cfg.apic_id : (l->cfg.apic_id << 24);

	if (init)
		id = lapic_get(l, VIRQ_LAPIC_REG_ID);

	lapic_timer_stop(l);
	lapic_dest_begin(l);
	/* Not a memset: other threads read ID, LDR, DFR and PPR (untorn
	 * atomic accesses on those words, plain stores elsewhere). */
	for (uint32_t off = 0; off < VIRQ_LAPIC_PAGE_SIZE; off += 4) {
		if (off == VIRQ_LAPIC_REG_ID || off == VIRQ_LAPIC_REG_LDR ||
		    off == VIRQ_LAPIC_REG_DFR || off == VIRQ_LAPIC_REG_PPR)
			lapic_set_shared(l, off, 0);
		else
			lapic_set(l, off, 0);
	}
	lapic_set_shared(l, VIRQ_LAPIC_REG_ID, id);
	lapic_set(l, VIRQ_LAPIC_REG_VERSION, lapic_version_value(l));
	lapic_set_shared(l, VIRQ_LAPIC_REG_DFR, 0xFFFFFFFFU);
	lapic_set_shared(l, VIRQ_LAPIC_REG_LDR, x2 ? virq_x2apic_ldr(l->cfg.apic_id) : 0);
	lapic_set(l, VIRQ_LAPIC_REG_SVR, 0xFFU);
	if (lapic_has_cmci(l))
		lapic_set(l, VIRQ_LAPIC_REG_LVT_CMCI, VIRQ_LVT_RESET);
	for (uint32_t off = VIRQ_LAPIC_REG_LVT_TIMER; off <= VIRQ_LAPIC_REG_LVT_ERROR; off += 16)
		lapic_set(l, off, VIRQ_LVT_RESET);
	lapic_dest_end(l);

	lapic_recompute_cache(l); /* empty IRR/ISR, software-disabled */
	l->lint_rirr = 0;
	l->lint_vec[0] = 0;
	l->lint_vec[1] = 0;
	lapic_eoi_exit_update(l); /* TMR, SVR and the LINT entries reset */
	l->esr_pending = 0;
	l->local_events = 0;
	l->in_error = false;
	l->tsc_deadline = 0;
	lapic_discard_posted(l);
}

/*
 * Global disable: IRR, ISR and TMR are not preserved (SDM 10.12.5.1) and the
 * page is reset on re-enable; emptying them now means a disabled APIC has
 * nothing to deliver without a test on the hot path. The LINT interrupts
 * in service go with them, and so does their Remote IRR.
 */
void lapic_clear_vectors(struct virq_lapic *l)
{
	for (uint32_t off = VIRQ_LAPIC_REG_ISR; off < VIRQ_LAPIC_REG_ESR; off += 16)
		lapic_set(l, off, 0);
	lapic_set(l, VIRQ_LAPIC_REG_LVT_LINT0,
		  lapic_get(l, VIRQ_LAPIC_REG_LVT_LINT0) & ~VIRQ_LVT_REMOTE_IRR);
	lapic_set(l, VIRQ_LAPIC_REG_LVT_LINT1,
		  lapic_get(l, VIRQ_LAPIC_REG_LVT_LINT1) & ~VIRQ_LVT_REMOTE_IRR);
	l->lint_rirr = 0;
	l->lint_vec[0] = 0;
	l->lint_vec[1] = 0;
	lapic_recompute_cache(l);
	lapic_update_ppr(l);
	lapic_eoi_exit_update(l);
}

VIRQ_API void virq_lapic_reset(struct virq_lapic *lapic)
{
	lapic_dest_begin(lapic);
	__atomic_store_n(&lapic->apic_base,
			 VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
				 (lapic->cfg.bsp ? VIRQ_APIC_BASE_BSP : 0),
			 __ATOMIC_RELAXED);
	lapic_reset_regs(lapic, false);
	lapic_dest_end(lapic);
	virq_atomic_store32(&lapic->posted_events, 0);
	virq_atomic_store32(&lapic->posted_sipi, 0);
	/* Pin levels are electrical inputs: RESET keeps them, drops edges. */
	virq_atomic_fetch_and32(&lapic->lint, LINT_LEVEL(0) | LINT_LEVEL(1));
	lapic->mp_state = lapic->cfg.bsp ? VIRQ_LAPIC_MP_RUNNABLE : VIRQ_LAPIC_MP_WAIT_SIPI;
}

VIRQ_API uint64_t virq_lapic_get_apic_base(const struct virq_lapic *lapic)
{
	return lapic->apic_base;
}

VIRQ_API enum virq_lapic_mode virq_lapic_get_mode(const struct virq_lapic *lapic)
{
	return lapic_mode(lapic);
}

VIRQ_API uint32_t virq_lapic_get_id(const struct virq_lapic *lapic)
{
	uint32_t id = lapic_get(lapic, VIRQ_LAPIC_REG_ID);

	return lapic_mode(lapic) == VIRQ_LAPIC_MODE_X2APIC ? id : id >> 24;
}

VIRQ_API enum virq_lapic_mp_state virq_lapic_get_mp_state(const struct virq_lapic *lapic)
{
	return (enum virq_lapic_mp_state)lapic->mp_state;
}

/* ---- LINT pins ---- */

VIRQ_API int virq_lapic_set_lint(struct virq_lapic *lapic, unsigned pin, bool level)
{
	uint32_t old, val;

	if (pin > 1)
		return -VIRQ_EINVAL;
	old = virq_atomic_load32(&lapic->lint);
	do {
		bool was = (old & LINT_LEVEL(pin)) != 0;

		if (was == level)
			return 0;
		val = level ? (old | LINT_LEVEL(pin) | LINT_ROSE(pin))
			    : ((old & ~LINT_LEVEL(pin)) | LINT_FELL(pin));
	} while (!__atomic_compare_exchange_n(&lapic->lint, &old, val, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	if (virq_atomic_fetch_or32(&lapic->posted_events, LAPIC_EV_LINT) == 0)
		lapic->ops->kick(lapic->ctx);
	return 0;
}

/*
 * Applies one pin to its LVT entry. @edge_rise/@edge_fall: electrical edges
 * seen since the last application. SDM 10.5.1: NMI, SMI and INIT are edge
 * sensitive, ExtINT is level (reported by take_events while asserted),
 * Fixed follows the trigger bit; level Fixed uses Remote IRR.
 */
void lapic_eval_lint(struct virq_lapic *l, unsigned pin, bool edge_rise, bool edge_fall)
{
	uint32_t off = pin ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0;
	uint32_t lvt = lapic_get(l, off);
	bool level = (virq_atomic_load32(&l->lint) & LINT_LEVEL(pin)) != 0;
	bool low = (lvt & VIRQ_LVT_POLARITY_LOW) != 0;
	bool asserted = level != low;
	bool edge = low ? edge_fall : edge_rise;
	uint32_t dm = (lvt & VIRQ_LVT_DM_MASK) >> VIRQ_LVT_DM_SHIFT;

	if (lapic_mode(l) == VIRQ_LAPIC_MODE_DISABLED) {
		/* No APIC: LINT1 is the NMI pin (LINT0 = INTR, see take_events). */
		if (pin == 1 && edge_rise)
			lapic_local_nmi(l);
		return;
	}
	if (lvt & VIRQ_LVT_MASKED)
		return; /* not latched: the edge is lost */

	switch (dm) {
	case VIRQ_DM_FIXED:
		if (lvt & VIRQ_LVT_LEVEL) {
			if (asserted && !(lvt & VIRQ_LVT_REMOTE_IRR) && lapic_active(l)) {
				uint8_t vec = (uint8_t)(lvt & VIRQ_LVT_VECTOR_MASK);

				lapic_accept_fixed(l, vec, true);
				if (vec >= 16) {
					/* Remote IRR until the EOI of this vector. */
					lapic_set(l, off, lvt | VIRQ_LVT_REMOTE_IRR);
					l->lint_rirr |= (uint8_t)(1U << pin);
					l->lint_vec[pin] = vec;
					lapic_eoi_exit_update(l);
				}
			}
		} else if (edge) {
			lapic_accept_fixed(l, (uint8_t)(lvt & VIRQ_LVT_VECTOR_MASK), false);
		}
		break;
	case VIRQ_DM_NMI:
		if (edge)
			lapic_local_nmi(l);
		break;
	case VIRQ_DM_SMI:
		if (edge)
			l->local_events |= VIRQ_LAPIC_EV_SMI;
		break;
	case VIRQ_DM_INIT:
		if (edge)
			l->local_events |= VIRQ_LAPIC_EV_INIT;
		break;
	default:
		break; /* ExtINT: level, reported by take_events; others reserved */
	}
}

void lapic_apply_lint(struct virq_lapic *l)
{
	uint32_t old = virq_atomic_load32(&l->lint);

	/* Consume the edge latches, keep the levels. */
	while (!__atomic_compare_exchange_n(&l->lint, &old, old & (LINT_LEVEL(0) | LINT_LEVEL(1)),
					    false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	for (unsigned pin = 0; pin < 2; pin++)
		lapic_eval_lint(l, pin, old & LINT_ROSE(pin), old & LINT_FELL(pin));
}

/*
 * An INTR source right now: LINT0 or LINT1 asserted with ExtINT delivery
 * (SDM 10.5.1 allows ExtINT on both entries; ExtINT is level-sensitive),
 * or with no APIC LINT0 as the INTR pin (LINT1 is then NMI).
 */
static bool lapic_lint_extint(const struct virq_lapic *l)
{
	uint32_t levels = virq_atomic_load32(&l->lint);

	if (lapic_mode(l) == VIRQ_LAPIC_MODE_DISABLED)
		return (levels & LINT_LEVEL(0)) != 0;
	for (unsigned pin = 0; pin < 2; pin++) {
		uint32_t lvt =
			lapic_get(l, pin ? VIRQ_LAPIC_REG_LVT_LINT1 : VIRQ_LAPIC_REG_LVT_LINT0);
		bool level = (levels & LINT_LEVEL(pin)) != 0;

		if (lvt & VIRQ_LVT_MASKED)
			continue;
		if (((lvt & VIRQ_LVT_DM_MASK) >> VIRQ_LVT_DM_SHIFT) != VIRQ_DM_EXTINT)
			continue;
		if (level != ((lvt & VIRQ_LVT_POLARITY_LOW) != 0))
			return true;
	}
	return false;
}

/* ---- events ---- */

VIRQ_API uint32_t virq_lapic_take_events(struct virq_lapic *lapic, struct virq_lapic_events *out)
{
	uint32_t posted, ev;

	virq_lapic_sync(lapic);
	posted = virq_atomic_xchg32(&lapic->posted_events, 0);
	if (posted & LAPIC_EV_LEVEL)
		lapic_fold_level(lapic); /* posted since the sync above */
	if (posted & LAPIC_EV_LINT)
		lapic_apply_lint(lapic);
	/* Posted events were accepted when posted (a disabled APIC refuses
	 * them at post time), so they stand whatever the mode is now. NMIs
	 * from both words add up, to two at most. */
	ev = ((posted & LAPIC_EV_PUBLIC) | lapic->local_events) & ~LAPIC_EV_NMIS;
	ev |= lapic_nmi_bits(lapic_nmi_count(posted) + lapic_nmi_count(lapic->local_events));
	lapic->local_events = 0;

	out->flags = 0;
	out->sipi_vector = 0;
	out->nmi_count = 0;

	if (ev & VIRQ_LAPIC_EV_INIT) {
		/* INIT resets the APIC (not the ID, base or mode) and parks an AP
		 * in wait-for-SIPI; pending NMIs and ExtINT die with the reset. */
		lapic_reset_regs(lapic, true);
		lapic->mp_state = lapic->cfg.bsp ? VIRQ_LAPIC_MP_RUNNABLE : VIRQ_LAPIC_MP_WAIT_SIPI;
		ev &= ~(LAPIC_EV_NMIS | VIRQ_LAPIC_EV_EXTINT);
		out->flags |= VIRQ_LAPIC_EV_INIT;
	}
	if (ev & VIRQ_LAPIC_EV_SIPI) {
		/* Honoured only in wait-for-SIPI; otherwise dropped, not latched. */
		if (lapic->mp_state == VIRQ_LAPIC_MP_WAIT_SIPI) {
			lapic->mp_state = VIRQ_LAPIC_MP_RUNNABLE;
			out->flags |= VIRQ_LAPIC_EV_SIPI;
			out->sipi_vector = (uint8_t)virq_atomic_load32(&lapic->posted_sipi);
		}
	}
	if (lapic->mp_state == VIRQ_LAPIC_MP_WAIT_SIPI) {
		/* Waiting for SIPI: NMIs, SMI and ExtINT messages stay pending. */
		lapic->local_events |= ev &
				       (LAPIC_EV_NMIS | VIRQ_LAPIC_EV_SMI | VIRQ_LAPIC_EV_EXTINT);
		return out->flags;
	}
	out->flags |= ev & (VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_SMI | VIRQ_LAPIC_EV_EXTINT);
	out->nmi_count = (uint8_t)lapic_nmi_count(ev);
	if (lapic_lint_extint(lapic))
		out->flags |= VIRQ_LAPIC_EV_EXTINT;
	return out->flags;
}

VIRQ_API bool virq_lapic_has_work(struct virq_lapic *lapic)
{
	uint32_t ev;

	if (virq_atomic_load32(&lapic->posted_events) & LAPIC_EV_LINT) {
		virq_atomic_fetch_and32(&lapic->posted_events, ~LAPIC_EV_LINT);
		lapic_apply_lint(lapic);
	}
	ev = (virq_atomic_load32(&lapic->posted_events) | lapic->local_events) & LAPIC_EV_PUBLIC;
	/* Waiting for SIPI: only INIT and SIPI wake the vCPU. */
	if (lapic->mp_state == VIRQ_LAPIC_MP_WAIT_SIPI)
		return (ev & (VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI)) != 0;
	if (ev || lapic_lint_extint(lapic))
		return true;
	return virq_lapic_pending(lapic) != VIRQ_LAPIC_NO_VECTOR;
}
