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
 * The registers APIC-register virtualization lets a guest's xAPIC write
 * reach, with an APIC-write exit after it (SDM Vol. 3C "Virtualizing
 * Writes to the APIC-Access Page", "APIC-Write Emulation"), in the order
 * of hw_snap. TPR is virtualized, ICR high only stored, EOI virtualized
 * with virtual-interrupt delivery: none of them is here.
 */
static const uint16_t hw_trap_regs[14] = {
	VIRQ_LAPIC_REG_ID,        VIRQ_LAPIC_REG_LDR,         VIRQ_LAPIC_REG_DFR,
	VIRQ_LAPIC_REG_SVR,       VIRQ_LAPIC_REG_ESR,         VIRQ_LAPIC_REG_ICR_LO,
	VIRQ_LAPIC_REG_LVT_TIMER, VIRQ_LAPIC_REG_LVT_THERMAL, VIRQ_LAPIC_REG_LVT_PMC,
	VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LAPIC_REG_LVT_LINT1,   VIRQ_LAPIC_REG_LVT_ERROR,
	VIRQ_LAPIC_REG_TMICT,     VIRQ_LAPIC_REG_TDCR,
};

VIRQ_STATIC_ASSERT(sizeof(hw_trap_regs) / sizeof(hw_trap_regs[0]) ==
			   sizeof(((struct virq_lapic *)0)->hw_snap) / sizeof(uint32_t),
		   "one record per trap-written register");

/*
 * The value @off may have had before a guest write of @v, when no record
 * says: @v within what the LAPIC itself could have stored (writable bits,
 * the Remote IRR and software-enable bit it knows, a legal timer mode, an
 * xAPIC ID the configuration fixes).
 */
static uint32_t hw_guess_old(const struct virq_lapic *l, uint32_t off, uint32_t v)
{
	switch (off) {
	case VIRQ_LAPIC_REG_ID:
		if (lapic_mode(l) == VIRQ_LAPIC_MODE_X2APIC)
			return l->cfg.apic_id;
		return l->cfg.xapic_id_writable ? v & ID_XAPIC_MASK : l->cfg.apic_id << 24;
	case VIRQ_LAPIC_REG_LDR:
		return lapic_mode(l) == VIRQ_LAPIC_MODE_X2APIC ? virq_x2apic_ldr(l->cfg.apic_id)
							       : v & LDR_XAPIC_MASK;
	case VIRQ_LAPIC_REG_DFR:
		return (v & DFR_MODEL_MASK) | ~DFR_MODEL_MASK;
	case VIRQ_LAPIC_REG_SVR:
		return (v & lapic_svr_writable(l) & ~VIRQ_LAPIC_SVR_ENABLE) |
		       (l->active ? VIRQ_LAPIC_SVR_ENABLE : 0U);
	case VIRQ_LAPIC_REG_ESR:
		return v & 0xF0U; /* a write replaces it with the latched errors */
	case VIRQ_LAPIC_REG_ICR_LO:
		return v & ICR_LO_MASK;
	case VIRQ_LAPIC_REG_TMICT:
		return v;
	case VIRQ_LAPIC_REG_TDCR:
		return v & VIRQ_TDCR_MASK;
	default:
		break;
	}
	/* An LVT entry. */
	v &= lapic_lvt_writable(l, off);
	if (off == VIRQ_LAPIC_REG_LVT_LINT0 || off == VIRQ_LAPIC_REG_LVT_LINT1) {
		unsigned pin = off == VIRQ_LAPIC_REG_LVT_LINT1;

		if (l->lint_rirr & (1U << pin))
			v |= VIRQ_LVT_REMOTE_IRR;
	}
	if (off == VIRQ_LAPIC_REG_LVT_TIMER &&
	    (v & VIRQ_LVT_TIMER_MODE_MASK) == VIRQ_LVT_TIMER_MODE_MASK)
		v &= ~VIRQ_LVT_TIMER_MODE_MASK;
	if (!l->active)
		v |= VIRQ_LVT_MASKED;
	return v;
}

/* Self-IPI virtualization takes this ICR low without an exit (SDM Vol. 3C
 * "APIC-Write Emulation"): fixed, edge, shorthand self, vector 16-255, no
 * reserved bit or delivery status set. */
static bool hw_self_ipi(uint32_t icr)
{
	return !(icr & 0xFFF3B700U) && ((icr >> VIRQ_ICR_SH_SHIFT) & 3U) == VIRQ_SH_SELF &&
	       (icr & 0xF0U);
}

/*
 * Takes the trap-written registers out of the page before anything reads
 * it: each goes back to its recorded value (or a checked guess, see
 * hw_guess_old()), and the page values to apply as writes are returned in
 * @written with a bit in the result for each: the one at @write_off, and
 * with a record every one that changed.
 */
static uint32_t hw_take_writes(struct virq_lapic *l, int write_off, uint32_t written[14])
{
	bool snap = l->hw_snap_valid != 0;
	uint32_t apply = 0;

	for (unsigned i = 0; i < 14; i++) {
		uint32_t off = hw_trap_regs[i];
		uint32_t old;

		written[i] = lapic_get(l, off);
		if ((int)off == write_off || (snap && written[i] != l->hw_snap[i]))
			apply |= 1U << i;
		else if (!snap)
			continue; /* unrecorded: taken as it is (virq_lapic_hw_enter()) */
		old = snap ? l->hw_snap[i] : hw_guess_old(l, off, written[i]);
		if (old != written[i])
			lapic_set_shared(l, off, old); /* ID, LDR, DFR: match_dest */
	}
	l->hw_snap_valid = 0;
	return apply;
}

/*
 * Runs the writes hw_take_writes() took, as the MMIO path would. In x2APIC
 * mode the ICR is the CPU's only under IPI virtualization (a WRMSR to 830H
 * exits otherwise), which stores the whole 64-bit value at 300H, bits
 * 63:32 at 304H (@icr_hi: read before the page was cleaned): at an
 * APIC-write exit for 300H it is sent as the MSR write would; without one
 * the CPU posted it itself, so it is only kept as the ICR's value.
 */
static void hw_apply_writes(struct virq_lapic *l, int write_off, uint32_t apply,
			    const uint32_t written[14], uint32_t icr_hi)
{
	/* The set bits only, in register order (most exits apply nothing). */
	for (; apply; apply &= apply - 1U) {
		unsigned i = virq_ffs64(apply);
		uint32_t off = hw_trap_regs[i];

		if (off == VIRQ_LAPIC_REG_ICR_LO && lapic_mode(l) == VIRQ_LAPIC_MODE_X2APIC) {
			if ((int)off == write_off) {
				/* Reserved bits set: refused as the WRMSR is
				 * (a trap-like exit has no #GP to give). */
				(void)virq_lapic_msr_write(l, 0x830,
							   (uint64_t)icr_hi << 32 | written[i]);
			} else {
				lapic_set(l, off, written[i] & ICR_LO_MASK);
				lapic_set(l, VIRQ_LAPIC_REG_ICR_HI, icr_hi);
			}
			continue;
		}
		/* Not trapped: virtual-interrupt delivery may have taken it as
		 * a self IPI already (VIRR); keep it, do not send twice. */
		if (off == VIRQ_LAPIC_REG_ICR_LO && (int)off != write_off &&
		    l->accel == VIRQ_LAPIC_ACCEL_APICV && hw_self_ipi(written[i])) {
			if (lapic_mode(l) == VIRQ_LAPIC_MODE_XAPIC)
				lapic_set(l, off, written[i] & ICR_LO_MASK);
			continue;
		}
		(void)virq_lapic_mmio_write(l, off, 4, written[i]);
	}
}

/*
 * LVT CMCI, which hw_snap has no room for (the object's 320 bytes end with
 * its 14 records): an APIC-write exit at 2F0H applies the page's value as
 * the MMIO write would, which needs no record (no transition of an LVT
 * CMCI write depends on its old value; without CMCI the offset is
 * reserved). Otherwise only the CPU's stores reach the slot, and only by
 * that exit: it is kept valid (writable bits, masked while software
 * disabled; 0 without CMCI).
 */
static VIRQ_NOINLINE void hw_cmci_fix(struct virq_lapic *l, uint32_t keep)
{
	uint32_t *w = lapic_reg(l, VIRQ_LAPIC_REG_LVT_CMCI);

	hw_clean_slot(l, VIRQ_LAPIC_REG_LVT_CMCI, keep);
	if (keep && !lapic_sw_enabled(l))
		w[0] |= VIRQ_LVT_MASKED;
}

static inline void hw_cmci_clean(struct virq_lapic *l)
{
	const uint32_t *w = lapic_reg(l, VIRQ_LAPIC_REG_LVT_CMCI);
	uint32_t keep = lapic_has_cmci(l) ? LVT_MASK_GENERIC : 0;

	/* Valid and masked (the common case), or valid with the APIC
	 * software enabled: nothing to do. */
	if (VIRQ_UNLIKELY((w[0] & ~keep) | w[1] | w[2] | w[3]) ||
	    (!(w[0] & VIRQ_LVT_MASKED) && keep && !lapic_sw_enabled(l)))
		hw_cmci_fix(l, keep);
}

/*
 * Validates what the CPU may have written and rebuilds every cache from
 * the page. @eoi_vec (>= 16, or -1): the vector of an EOI-induced exit,
 * whose effects run before the LINT check below, so that an EOI is never
 * run twice. @write_off (or -1): the offset of an APIC-write exit.
 */
static void lapic_hw_resync(struct virq_lapic *l, int eoi_vec, int write_off)
{
	enum virq_lapic_mode mode = lapic_mode(l);
	uint32_t written[14], apply;
	uint32_t self = lapic_get(l, VIRQ_LAPIC_REG_SELF_IPI);
	/* x2APIC ICR bits 63:32 as IPI virtualization stores them; the LVT
	 * CMCI value of an APIC-write exit at 2F0H. */
	uint32_t icr_hi = lapic_get(l, VIRQ_LAPIC_REG_ICR_LO + 4U);
	uint32_t cmci = lapic_get(l, VIRQ_LAPIC_REG_LVT_CMCI);

	apply = hw_take_writes(l, write_off, written);
	/* SELF IPI under "virtualize x2APIC mode" stores EAX at 0x3F0 before
	 * its APIC-write exit; the slot holds nothing for the LAPIC. */
	hw_clean_slot(l, VIRQ_LAPIC_REG_SELF_IPI, 0);

	/* TPR Virtualization clears VTPR bytes 3:1; a MOV to CR8 writes
	 * bits 7:4 only, an xAPIC write bits 7:0. */
	hw_clean_slot(l, VIRQ_LAPIC_REG_TPR, TPR_MASK);
	/* VPPR: bytes 4-15 here; word 0 is rewritten below with the untorn
	 * store other threads' virq_lapic_get_ppr() expects. */
	hw_clean_slot(l, VIRQ_LAPIC_REG_PPR, 0xFFFFFFFFU);
	/* VEOI keeps the guest's last EOI value; it reads 0 here. */
	hw_clean_slot(l, VIRQ_LAPIC_REG_EOI, 0);
	for (uint32_t i = 0; i < 8; i++) {
		/* No vector 0-15 (they are never accepted, SDM 10.5.2
		 * "Valid Interrupt Vectors") and none at all while
		 * globally disabled. */
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
	hw_cmci_clean(l);

	/* TMR is not the CPU's (virtual-interrupt delivery and EOI
	 * virtualization leave it alone, and no guest access writes it):
	 * tmr_sum stays exact. */
	lapic_recompute_vectors(l, false);
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

	/* Then the guest's writes, on a page that is whole again. */
	hw_apply_writes(l, write_off, apply, written, icr_hi);
	if (write_off == VIRQ_LAPIC_REG_LVT_CMCI && mode == VIRQ_LAPIC_MODE_XAPIC)
		(void)virq_lapic_mmio_write(l, VIRQ_LAPIC_REG_LVT_CMCI, 4, cmci);
	if (write_off == VIRQ_LAPIC_REG_SELF_IPI && mode == VIRQ_LAPIC_MODE_X2APIC)
		lapic_send_icr(l, (self & 0xFFU) | ((uint32_t)VIRQ_SH_SELF << VIRQ_ICR_SH_SHIFT),
			       0);
	else if (write_off == VIRQ_LAPIC_REG_EOI && mode == VIRQ_LAPIC_MODE_XAPIC)
		virq_lapic_eoi(l); /* without virtual-interrupt delivery */
}

VIRQ_API int virq_lapic_set_accel(struct virq_lapic *lapic, enum virq_lapic_accel accel)
{
	if ((unsigned)accel > VIRQ_LAPIC_ACCEL_APICV)
		return -VIRQ_EINVAL;
	/* The CPU's last writes under the old mode count. */
	virq_lapic_hw_sync(lapic);
	lapic->accel = (uint8_t)accel;
	lapic->hw_snap_valid = 0;
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
	lapic_hw_resync(lapic, -1, -1);
}

VIRQ_API void virq_lapic_hw_eoi(struct virq_lapic *lapic, uint8_t vector)
{
	lapic_hw_resync(lapic, vector >= 16 ? (int)vector : -1, -1);
}

VIRQ_API void virq_lapic_hw_enter(struct virq_lapic *lapic)
{
	lapic->hw_snap_valid = lapic->accel == VIRQ_LAPIC_ACCEL_APICV;
	if (!lapic->hw_snap_valid)
		return;
	for (unsigned i = 0; i < 14; i++)
		lapic->hw_snap[i] = lapic_get(lapic, hw_trap_regs[i]);
}

VIRQ_API void virq_lapic_hw_write(struct virq_lapic *lapic, uint32_t offset)
{
	lapic_hw_resync(lapic, -1, (int)(offset & 0xFF0U));
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
