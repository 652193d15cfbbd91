/* SPDX-License-Identifier: MIT */
/*
 * ICR: validating and sending IPIs; destination matching
 * (SDM 10.6.1 "Interrupt Command Register (ICR)", 10.6.2 "Determining
 * IPI Destination", 10.12.9 "ICR Operation in x2APIC Mode" to 10.12.10
 * "Determining IPI Destination in x2APIC Mode").
 */
#include "lapic_priv.h"

/* SDM Table 10-3 "Valid Combinations for the Pentium 4 and Intel Xeon Processors'
 * Local xAPIC Interrupt Command Register" (P4/Xeon and later): which delivery
 * modes a shorthand allows. */
static bool icr_combination_valid(uint32_t dm, uint32_t sh)
{
	switch (sh) {
	case VIRQ_SH_SELF:
	case VIRQ_SH_ALL_INCL_SELF:
		return dm == VIRQ_DM_FIXED;
	default: /* none, all excluding self */
		return dm == VIRQ_DM_FIXED || dm == VIRQ_DM_LOWEST || dm == VIRQ_DM_SMI ||
		       dm == VIRQ_DM_NMI || dm == VIRQ_DM_INIT || dm == VIRQ_DM_STARTUP;
	}
}

/*
 * Sends the IPI described by ICR low @lo and destination @dest (8-bit xAPIC
 * or 32-bit x2APIC destination, by the current mode). Delivery is
 * synchronous, so the delivery-status bit is never seen set.
 */
void lapic_send_icr(struct virq_lapic *l, uint32_t lo, uint32_t dest)
{
	struct virq_apic_msg msg;
	uint32_t vector = lo & VIRQ_ICR_VECTOR_MASK;
	uint32_t dm = (lo & VIRQ_ICR_DM_MASK) >> VIRQ_ICR_DM_SHIFT;
	uint32_t sh = (uint32_t)((lo & VIRQ_ICR_SH_MASK) >> VIRQ_ICR_SH_SHIFT);
	bool x2 = lapic_mode(l) == VIRQ_LAPIC_MODE_X2APIC;

	/* Lowest priority is reserved in x2APIC mode: "redirectable IPI"
	 * error, which takes precedence over an illegal vector (SDM 10.5.3 "Error Handling"). */
	if (dm == VIRQ_DM_LOWEST && x2) {
		lapic_guest_error(l, VIRQ_GERR_REDIRECTABLE_IPI);
		lapic_set_error(l, VIRQ_LAPIC_ESR_REDIR_IPI);
		return;
	}
	if (!icr_combination_valid(dm, sh)) {
		lapic_guest_error(l, VIRQ_GERR_INVALID_ICR);
		return;
	}
	if ((dm == VIRQ_DM_FIXED || dm == VIRQ_DM_LOWEST) && vector < 16) {
		/* Refused at the sender, so never received: bit 5 only, also
		 * for self IPIs (SDM 10.5.3 "Error Handling", Table 10-2 "ESR Flags"). */
		lapic_guest_error(l, VIRQ_GERR_SEND_ILLEGAL_VECTOR);
		lapic_set_error(l, VIRQ_LAPIC_ESR_SEND_ILLEGAL);
		return;
	}
	/* INIT level de-assert: P4 and later neither send nor act on it. */
	if (dm == VIRQ_DM_INIT && !(lo & VIRQ_ICR_LEVEL_ASSERT) && (lo & VIRQ_ICR_TRIGGER_LEVEL))
		return;

	if (sh == VIRQ_SH_SELF) {
		/* Self IPIs are edge-triggered fixed interrupts accepted here. */
		lapic_accept_fixed(l, (uint8_t)vector, false);
		return;
	}

	if (!l->ops->send_ipi)
		return;
	msg.dest = sh == VIRQ_SH_NONE ? dest : (x2 ? 0xFFFFFFFFU : 0xFFU);
	msg.src = virq_lapic_get_id(l);
	msg.vector = (uint8_t)vector;
	msg.delivery = (uint8_t)dm;
	msg.shorthand = (uint8_t)sh;
	msg.logical = (lo & VIRQ_ICR_DEST_LOGICAL) != 0 && sh == VIRQ_SH_NONE;
	/* The APIC sends every IPI edge-triggered and asserted (SDM 10.6.1
	 * "Interrupt Command Register (ICR)"). */
	msg.level = true;
	msg.trigger_level = false;
	msg.x2apic = x2;
	msg.reserved0 = 0;
	l->ops->send_ipi(l->ctx, &msg);
}

VIRQ_API uint32_t virq_lapic_get_ppr(const struct virq_lapic *lapic)
{
	return lapic_get_shared(lapic, VIRQ_LAPIC_REG_PPR);
}

VIRQ_API bool virq_lapic_accepts_fixed(const struct virq_lapic *lapic)
{
	return __atomic_load_n(&lapic->active, __ATOMIC_RELAXED);
}

VIRQ_API uint32_t virq_lapic_read_reg(const struct virq_lapic *lapic, uint32_t offset)
{
	if (!lapic || (offset & 0xFU) || offset >= VIRQ_LAPIC_PAGE_SIZE)
		return 0;
	return lapic_get_shared(lapic, offset);
}

/* The highest requested vector waits for the TPR alone: its class is above
 * the in-service class but not above the task-priority class (SDM 10.8.3.1
 * "Task and Processor Priorities", the PPR as the larger of the two). */
VIRQ_API bool virq_lapic_tpr_blocked(struct virq_lapic *lapic)
{
	uint32_t cls, isr_cls;

	(void)virq_lapic_sync(lapic);
	if (lapic->irrv < 0)
		return false;
	cls = (uint32_t)lapic->irrv & 0xF0U;
	isr_cls = lapic->isrv < 0 ? 0 : ((uint32_t)lapic->isrv & 0xF0U);
	return cls > isr_cls && cls <= (lapic_get(lapic, VIRQ_LAPIC_REG_TPR) & 0xF0U);
}

VIRQ_API bool virq_lapic_has_posted(const struct virq_lapic *lapic)
{
	return virq_pi_pending(&lapic->pi) ||
	       __atomic_load_n(&lapic->posted_events, __ATOMIC_RELAXED) != 0;
}

VIRQ_API bool virq_lapic_has_posted_events(const struct virq_lapic *lapic)
{
	return virq_atomic_load32(&lapic->posted_events) != 0;
}

VIRQ_API bool virq_lapic_match_dest(const struct virq_lapic *lapic, uint32_t dest, bool logical)
{
	enum virq_lapic_mode mode;
	uint32_t ldr, dfr, seq;

	if (!logical)
		return lapic_match_phys(lapic, dest);
	/* A consistent snapshot of mode, LDR and DFR (see lapic_dest_begin). */
	for (;;) {
		seq = __atomic_load_n(&lapic->dest_seq, __ATOMIC_ACQUIRE);
		mode = lapic_mode_of(__atomic_load_n(&lapic->apic_base, __ATOMIC_RELAXED));
		ldr = lapic_get_shared(lapic, VIRQ_LAPIC_REG_LDR);
		dfr = lapic_get_shared(lapic, VIRQ_LAPIC_REG_DFR);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(seq & 1U) && __atomic_load_n(&lapic->dest_seq, __ATOMIC_RELAXED) == seq)
			break;
	}
	if (mode == VIRQ_LAPIC_MODE_DISABLED)
		return false;
	if (mode == VIRQ_LAPIC_MODE_X2APIC) {
		if (dest == 0xFFFFFFFFU)
			return true;
		/* Cluster in 31:16, bitmap in 15:0 (SDM 10.12.10.2
		 * "Deriving Logical x2APIC ID from the Local x2APIC
		 * ID"). */
		return (ldr >> 16) == (dest >> 16) && (ldr & dest & 0xFFFFU) != 0;
	}

	dest &= 0xFFU; /* xAPIC: only the low 8 bits are decoded */
	if (dest == 0xFFU)
		return true;
	ldr >>= 24;
	switch (dfr >> 28) {
	case 0xFU: /* flat: bitmap of up to 8 APICs */
		return (ldr & dest) != 0;
	case 0x0U: /* cluster: 4-bit cluster, 4-bit bitmap */
		return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xFU) != 0;
	default:
		return false; /* undefined model */
	}
}
