/* SPDX-License-Identifier: MIT */
/*
 * Hardware acceleration: the register page as the VT-x virtual-APIC page
 * a CPU writes while the guest runs (TPR shadow, virtual-interrupt
 * delivery), the resync after it ran, and the values a VMX backend
 * programs from the LAPIC (RVI, SVI, TPR threshold, EOI-exit bitmap).
 * SDM Vol. 3C, "APIC Virtualization and Virtual Interrupts": "Virtualized
 * APIC Registers", "TPR Virtualization", "Virtual-Interrupt Delivery",
 * "EOI Virtualization".
 */
#include "lapic_priv.h"

/*
 * The vectors whose EOI does more than clear ISR (lapic_eoi_effects()):
 * TMR when a level EOI is broadcast (a hook to hear it, SVR[12] clear),
 * and the vector each level LINT entry with Remote IRR delivered (its EOI
 * clears Remote IRR whatever TMR says).
 */
void lapic_eoi_exit_compute(const struct virq_lapic *l, uint64_t out[4])
{
	const uint32_t *tmr = &l->page[VIRQ_LAPIC_REG_TMR >> 2];
	bool bcast = l->ops->eoi_level &&
		     !(lapic_get(l, VIRQ_LAPIC_REG_SVR) & VIRQ_LAPIC_SVR_EOI_SUPPRESS);

	for (unsigned i = 0; i < 4; i++)
		out[i] = bcast ? apicvec_pair(tmr, i) : 0;
	for (unsigned pin = 0; pin < 2; pin++) {
		uint8_t v = l->lint_vec[pin];

		if (l->lint_rirr & (1U << pin))
			out[v >> 6] |= 1ULL << (v & 63U);
	}
}

/* After a change of TMR, SVR[12] or a LINT Remote IRR: a new generation
 * only when the bitmap itself changed. */
void lapic_eoi_exit_update(struct virq_lapic *l)
{
	uint64_t bm[4];
	bool changed = false;

	lapic_eoi_exit_compute(l, bm);
	for (unsigned i = 0; i < 4; i++) {
		if (bm[i] != l->eoi_exit[i]) {
			l->eoi_exit[i] = bm[i];
			changed = true;
		}
	}
	if (changed)
		l->eoi_exit_gen++;
}

/* One 16-byte slot the CPU may write: bits @keep of its register, bytes
 * 4-15 zero (the CPU uses only bytes 0-3 of VISR/VIRR words). */
static void hw_clean_slot(struct virq_lapic *l, uint32_t off, uint32_t keep)
{
	uint32_t *w = lapic_reg(l, off);

	if (w[0] & ~keep)
		w[0] &= keep;
	if (w[1] | w[2] | w[3])
		w[1] = w[2] = w[3] = 0;
}

/*
 * Validates what the CPU may have written and rebuilds every cache from
 * the page. @eoi_vec (>= 16, or -1): the vector of an EOI-induced exit,
 * whose effects run before the LINT check below, so that an EOI is never
 * run twice.
 */
static void lapic_hw_resync(struct virq_lapic *l, int eoi_vec)
{
	enum virq_lapic_mode mode = lapic_mode(l);

	/* TPR Virtualization clears VTPR bytes 3:1; a MOV to CR8 writes
	 * bits 7:4 only, an xAPIC write bits 7:0. */
	hw_clean_slot(l, VIRQ_LAPIC_REG_TPR, TPR_MASK);
	/* VPPR: bytes 4-15 here; word 0 is rewritten below with the untorn
	 * store other threads' virq_lapic_get_ppr() expects. */
	hw_clean_slot(l, VIRQ_LAPIC_REG_PPR, 0xFFFFFFFFU);
	/* VEOI keeps the guest's last EOI value; it reads 0 here. */
	hw_clean_slot(l, VIRQ_LAPIC_REG_EOI, 0);
	for (uint32_t i = 0; i < 8; i++) {
		/* No vector 0-15 (they are never accepted, SDM 10.5.2) and
		 * none at all while globally disabled. */
		uint32_t keep = mode == VIRQ_LAPIC_MODE_DISABLED ? 0 : (i ? ~0U : ~0xFFFFU);

		hw_clean_slot(l, VIRQ_LAPIC_REG_ISR + 16U * i, keep);
		hw_clean_slot(l, VIRQ_LAPIC_REG_IRR + 16U * i, keep);
	}
	/* The guest's xAPIC ICR writes land in the page before self-IPI
	 * virtualization or the APIC-write exit; the CPU clears VICR_HI
	 * bytes 2:0 itself. */
	hw_clean_slot(l, VIRQ_LAPIC_REG_ICR_LO, ICR_LO_MASK);
	hw_clean_slot(l, VIRQ_LAPIC_REG_ICR_HI,
		      mode == VIRQ_LAPIC_MODE_XAPIC ? 0xFF000000U : 0xFFFFFFFFU);

	lapic_recompute_cache(l);
	/* VPPR is the CPU's (PPR virtualization); ours is the same function
	 * of TPR and ISR, recomputed so a wrong VPPR cannot stay. */
	lapic_update_ppr(l);

	if (eoi_vec >= 16)
		lapic_eoi_effects(l, (uint8_t)eoi_vec);
	/*
	 * A LINT entry's delivered vector stays in IRR or ISR until its EOI.
	 * Gone without an exit (an EOI-exit bitmap not reloaded): that EOI
	 * happened; run it now, late rather than never.
	 */
	for (unsigned pin = 0; pin < 2; pin++) {
		uint8_t v = l->lint_vec[pin];

		if ((l->lint_rirr & (1U << pin)) && !apicvec_test(lapic_irr(l), v) &&
		    !apicvec_test(lapic_isr(l), v))
			lapic_eoi_effects(l, v);
	}
}

VIRQ_API int virq_lapic_set_accel(struct virq_lapic *lapic, enum virq_lapic_accel accel)
{
	if ((unsigned)accel > VIRQ_LAPIC_ACCEL_APICV)
		return -VIRQ_EINVAL;
	/* The CPU's last writes under the old mode count. */
	virq_lapic_hw_sync(lapic);
	lapic->accel = (uint8_t)accel;
	return 0;
}

VIRQ_API enum virq_lapic_accel virq_lapic_get_accel(const struct virq_lapic *lapic)
{
	return (enum virq_lapic_accel)lapic->accel;
}

VIRQ_API void virq_lapic_hw_sync(struct virq_lapic *lapic)
{
	if (lapic->accel == VIRQ_LAPIC_ACCEL_NONE)
		return; /* nobody else wrote the page */
	lapic_hw_resync(lapic, -1);
}

VIRQ_API void virq_lapic_hw_eoi(struct virq_lapic *lapic, uint8_t vector)
{
	lapic_hw_resync(lapic, vector >= 16 ? (int)vector : -1);
}

VIRQ_API uint8_t virq_lapic_rvi(struct virq_lapic *lapic)
{
	(void)virq_lapic_sync(lapic);
	return lapic->irrv < 0 ? 0 : (uint8_t)lapic->irrv;
}

VIRQ_API uint8_t virq_lapic_svi(const struct virq_lapic *lapic)
{
	return lapic->isrv < 0 ? 0 : (uint8_t)lapic->isrv;
}

/*
 * Without virtual-interrupt delivery the CPU exits when VTPR[7:4] drops
 * below the threshold (SDM Vol. 3C, "TPR Virtualization"). The exit is
 * wanted exactly when a TPR write makes the highest IRR vector
 * deliverable, i.e. when the TPR alone holds it (virq_lapic_tpr_blocked):
 * its class c is above the ISR class and at most TPR[7:4]. Then
 * VTPR[7:4] < c puts PPR's class below c. KVM and Xen use the IRR class
 * whenever TPR masks it, ISR aside; a vector an in-service one blocks
 * waits for that EOI, which exits without virtual-interrupt delivery.
 */
VIRQ_API uint8_t virq_lapic_tpr_threshold(struct virq_lapic *lapic)
{
	if (lapic->accel == VIRQ_LAPIC_ACCEL_APICV)
		return 0; /* ignored with virtual-interrupt delivery */
	if (!virq_lapic_tpr_blocked(lapic))
		return 0;
	return (uint8_t)((uint32_t)lapic->irrv >> 4);
}

VIRQ_API void virq_lapic_eoi_exit_bitmap(const struct virq_lapic *lapic, uint64_t out[4])
{
	for (unsigned i = 0; i < 4; i++)
		out[i] = lapic->eoi_exit[i];
}

VIRQ_API uint32_t virq_lapic_eoi_exit_gen(const struct virq_lapic *lapic)
{
	return lapic->eoi_exit_gen;
}
