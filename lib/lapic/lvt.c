/* SPDX-License-Identifier: MIT */
/*
 * Local Vector Table: writable fields per entry, software-disable masking,
 * raising an LVT interrupt (SDM 10.5.1 "Local Vector Table", 10.4.7.2
 * "Local APIC State After It Has Been Software Disabled").
 */
#include "lapic_priv.h"

bool lapic_is_lvt(const struct virq_lapic *l, uint32_t off)
{
	if (off == VIRQ_LAPIC_REG_LVT_CMCI)
		return lapic_has_cmci(l);
	return off >= VIRQ_LAPIC_REG_LVT_TIMER && off <= VIRQ_LAPIC_REG_LVT_ERROR && !(off & 0xFU);
}

/* Bits a write may set; DS and Remote IRR are read-only and not included. */
uint32_t lapic_lvt_writable(const struct virq_lapic *l, uint32_t off)
{
	switch (off) {
	case VIRQ_LAPIC_REG_LVT_TIMER:
		/* Bit 18 (TSC deadline) exists only with CPUID.01H:ECX[24]. */
		return LVT_MASK_TIMER_BASE | (1U << 17) | (l->cfg.tsc_deadline ? (1U << 18) : 0);
	case VIRQ_LAPIC_REG_LVT_LINT0:
	case VIRQ_LAPIC_REG_LVT_LINT1:
		return LVT_MASK_LINT;
	case VIRQ_LAPIC_REG_LVT_ERROR:
		return LVT_MASK_ERROR;
	default:
		return LVT_MASK_GENERIC; /* CMCI, thermal, performance counter */
	}
}

/* Delivery modes an entry supports (SDM 10.5.1 "Local Vector Table": "not supported" otherwise). */
static bool lvt_mode_valid(uint32_t off, uint32_t dm)
{
	switch (off) {
	case VIRQ_LAPIC_REG_LVT_TIMER:
	case VIRQ_LAPIC_REG_LVT_ERROR:
		return true; /* no delivery-mode field: always Fixed */
	case VIRQ_LAPIC_REG_LVT_LINT0:
	case VIRQ_LAPIC_REG_LVT_LINT1:
		return dm == VIRQ_DM_FIXED || dm == VIRQ_DM_SMI || dm == VIRQ_DM_NMI ||
		       dm == VIRQ_DM_INIT || dm == VIRQ_DM_EXTINT;
	default:
		return dm == VIRQ_DM_FIXED || dm == VIRQ_DM_SMI || dm == VIRQ_DM_NMI;
	}
}

void lapic_lvt_write(struct virq_lapic *l, uint32_t off, uint32_t val)
{
	uint32_t old = lapic_get(l, off);
	uint32_t nv = val & lapic_lvt_writable(l, off);

	if (off == VIRQ_LAPIC_REG_LVT_LINT0 || off == VIRQ_LAPIC_REG_LVT_LINT1)
		nv |= old & VIRQ_LVT_REMOTE_IRR;
	if (off == VIRQ_LAPIC_REG_LVT_TIMER &&
	    ((nv & VIRQ_LVT_TIMER_MODE_MASK) >> VIRQ_LVT_TIMER_MODE_SHIFT) == 3U) {
		/* Reserved timer mode: the mode field keeps its value. */
		lapic_guest_error(l, VIRQ_GERR_TIMER_MODE);
		nv = (nv & ~VIRQ_LVT_TIMER_MODE_MASK) | (old & VIRQ_LVT_TIMER_MODE_MASK);
	}
	if (!lvt_mode_valid(off, (nv & VIRQ_LVT_DM_MASK) >> VIRQ_LVT_DM_SHIFT))
		lapic_guest_error(l, VIRQ_GERR_LVT_MODE);
	/* Software-disabled: mask bits cannot be cleared (SDM 10.4.7.2
	 * "Local APIC State After It Has Been Software Disabled"). */
	if (!lapic_sw_enabled(l))
		nv |= VIRQ_LVT_MASKED;
	if (off == VIRQ_LAPIC_REG_LVT_TIMER) {
		lapic_timer_lvt_write(l, nv); /* the count may need the old entry */
		return;
	}
	lapic_set(l, off, nv);

	if (off == VIRQ_LAPIC_REG_LVT_LINT0)
		lapic_eval_lint(l, 0, false, false);
	else if (off == VIRQ_LAPIC_REG_LVT_LINT1)
		lapic_eval_lint(l, 1, false, false);
}

void lapic_mask_all_lvts(struct virq_lapic *l)
{
	if (lapic_has_cmci(l))
		*lapic_reg(l, VIRQ_LAPIC_REG_LVT_CMCI) |= VIRQ_LVT_MASKED;
	for (uint32_t off = VIRQ_LAPIC_REG_LVT_TIMER; off <= VIRQ_LAPIC_REG_LVT_ERROR; off += 16)
		*lapic_reg(l, off) |= VIRQ_LVT_MASKED;
}

/*
 * Raises the interrupt of one LVT entry (timer expiry, error, CMCI,
 * thermal, PMI). Masked entries drop the event. Timer and Error are always
 * Fixed/edge.
 */
void lapic_fire_lvt(struct virq_lapic *l, uint32_t off)
{
	uint32_t lvt = lapic_get(l, off);
	uint32_t dm = (lvt & VIRQ_LVT_DM_MASK) >> VIRQ_LVT_DM_SHIFT;

	if ((lvt & VIRQ_LVT_MASKED) || lapic_mode(l) == VIRQ_LAPIC_MODE_DISABLED)
		return;
	if (off == VIRQ_LAPIC_REG_LVT_TIMER || off == VIRQ_LAPIC_REG_LVT_ERROR)
		dm = VIRQ_DM_FIXED;
	if (!lvt_mode_valid(off, dm))
		return;
	switch (dm) {
	case VIRQ_DM_FIXED:
		lapic_accept_fixed(l, (uint8_t)(lvt & VIRQ_LVT_VECTOR_MASK), false);
		break;
	case VIRQ_DM_NMI:
		lapic_local_nmi(l);
		break;
	case VIRQ_DM_SMI:
		l->local_events |= VIRQ_LAPIC_EV_SMI;
		break;
	default:
		break;
	}
	/* P4 and later set the PMI entry's mask on delivery (SDM 10.5.1 "Local Vector Table"). */
	if (off == VIRQ_LAPIC_REG_LVT_PMC)
		lapic_set(l, off, lvt | VIRQ_LVT_MASKED);
}

VIRQ_API int virq_lapic_deliver_lvt(struct virq_lapic *lapic, enum virq_lapic_lvt which)
{
	switch (which) {
	case VIRQ_LAPIC_LVT_CMCI:
		if (!lapic_has_cmci(lapic))
			return -VIRQ_ENOTSUP;
		lapic_fire_lvt(lapic, VIRQ_LAPIC_REG_LVT_CMCI);
		return 0;
	case VIRQ_LAPIC_LVT_THERMAL:
		lapic_fire_lvt(lapic, VIRQ_LAPIC_REG_LVT_THERMAL);
		return 0;
	case VIRQ_LAPIC_LVT_PMC:
		lapic_fire_lvt(lapic, VIRQ_LAPIC_REG_LVT_PMC);
		return 0;
	default:
		return -VIRQ_EINVAL;
	}
}
