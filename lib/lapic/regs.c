/* SPDX-License-Identifier: MIT */
/*
 * Register decode: xAPIC MMIO, x2APIC MSRs, IA32_APIC_BASE, CR8
 * (SDM 10.4 "Local APIC", 10.8.3 "Interrupt, Task, and Processor
 * Priority", 10.8.6 "Task Priority in IA-32e Mode", 10.12 "Extended
 * XAPIC (x2APIC)").
 */
#include "lapic_priv.h"

uint32_t lapic_version_value(const struct virq_lapic *l)
{
	return l->cfg.version | ((uint32_t)(l->cfg.max_lvt) << VIRQ_LAPIC_VERSION_MAXLVT_SHIFT) |
	       (l->cfg.directed_eoi ? VIRQ_LAPIC_VERSION_EOI_SUPPRESS : 0);
}

uint32_t lapic_svr_writable(const struct virq_lapic *l)
{
	/* Vector, enable, focus (kept writable as KVM does; no effect), and
	 * EOI-broadcast suppression only when Version[24] says so. */
	return 0x3FFU | (l->cfg.directed_eoi ? VIRQ_LAPIC_SVR_EOI_SUPPRESS : 0);
}

enum reg_class {
	REG_RESERVED, /* not a register in this mode */
	REG_RW,
	REG_RO,
	REG_WO,
};

/* Register classes shared by both modes; mode differences applied by callers. */
static enum reg_class reg_classify(const struct virq_lapic *l, uint32_t off, bool x2)
{
	if (off >= VIRQ_LAPIC_REG_ISR && off < VIRQ_LAPIC_REG_ESR)
		return REG_RO; /* ISR, TMR, IRR */
	if (lapic_is_lvt(l, off))
		return REG_RW;
	switch (off) {
	case VIRQ_LAPIC_REG_ID:
		return x2 ? REG_RO : REG_RW; /* xAPIC writes are filtered by config */
	case VIRQ_LAPIC_REG_VERSION:
	case VIRQ_LAPIC_REG_PPR:
	case VIRQ_LAPIC_REG_TMCCT:
		return REG_RO;
	case VIRQ_LAPIC_REG_TPR:
	case VIRQ_LAPIC_REG_SVR:
	case VIRQ_LAPIC_REG_ESR:
	case VIRQ_LAPIC_REG_ICR_LO:
	case VIRQ_LAPIC_REG_TMICT:
	case VIRQ_LAPIC_REG_TDCR:
		return REG_RW;
	case VIRQ_LAPIC_REG_EOI:
		return REG_WO;
	case VIRQ_LAPIC_REG_LDR:
		return x2 ? REG_RO : REG_RW;
	case VIRQ_LAPIC_REG_APR:
	case VIRQ_LAPIC_REG_RRD:
		return x2 ? REG_RESERVED : REG_RO;
	case VIRQ_LAPIC_REG_DFR:
	case VIRQ_LAPIC_REG_ICR_HI:
		return x2 ? REG_RESERVED : REG_RW;
	case VIRQ_LAPIC_REG_SELF_IPI:
		return x2 ? REG_WO : REG_RESERVED;
	default:
		return REG_RESERVED;
	}
}

/* Value of a readable register (32 bits; the x2APIC ICR is assembled by the MSR path). */
static uint32_t reg_read(struct virq_lapic *l, uint32_t off)
{
	switch (off) {
	case VIRQ_LAPIC_REG_TMCCT:
		return lapic_timer_read_tmcct(l);
	case VIRQ_LAPIC_REG_APR:
	case VIRQ_LAPIC_REG_RRD:
	case VIRQ_LAPIC_REG_EOI:
		/* APR is P6-era arbitration state; like KVM we read it as 0. */
		return 0;
	default:
		return lapic_get(l, off);
	}
}

static void svr_write(struct virq_lapic *l, uint32_t val)
{
	uint32_t old = lapic_get(l, VIRQ_LAPIC_REG_SVR);
	uint32_t nv = val & lapic_svr_writable(l);

	lapic_set(l, VIRQ_LAPIC_REG_SVR, nv);
	lapic_update_active(l);
	if ((old ^ nv) & VIRQ_LAPIC_SVR_EOI_SUPPRESS)
		lapic_eoi_exit_update(l); /* level EOIs broadcast or not */
	/* Software disable masks every LVT (SDM 10.4.7.2 "Local APIC
	 * State After It Has Been Software Disabled"); enabling does not
	 * unmask them. */
	if ((old & VIRQ_LAPIC_SVR_ENABLE) && !(nv & VIRQ_LAPIC_SVR_ENABLE))
		lapic_mask_all_lvts(l);
}

/* A register write after mode-specific validation (xAPIC semantics). */
static void reg_write(struct virq_lapic *l, uint32_t off, uint32_t val)
{
	bool x2 = lapic_mode(l) == VIRQ_LAPIC_MODE_X2APIC;

	if (lapic_is_lvt(l, off)) {
		lapic_lvt_write(l, off, val);
		return;
	}
	switch (off) {
	case VIRQ_LAPIC_REG_ID:
		if (!x2 && l->cfg.xapic_id_writable) {
			lapic_set_shared(l, off, val & ID_XAPIC_MASK);
			lapic_dest_changed(l);
		}
		break;
	case VIRQ_LAPIC_REG_TPR:
		lapic_set(l, off, val & TPR_MASK);
		lapic_update_ppr(l);
		break;
	case VIRQ_LAPIC_REG_EOI:
		virq_lapic_eoi(l);
		break;
	case VIRQ_LAPIC_REG_LDR:
		lapic_set_shared(l, off, val & LDR_XAPIC_MASK);
		lapic_dest_changed(l);
		break;
	case VIRQ_LAPIC_REG_DFR:
		lapic_set_shared(l, off, (val & DFR_MODEL_MASK) | ~DFR_MODEL_MASK);
		lapic_dest_changed(l);
		break;
	case VIRQ_LAPIC_REG_SVR:
		svr_write(l, val);
		break;
	case VIRQ_LAPIC_REG_ESR:
		/* Write-then-read: the write publishes the latched errors. */
		lapic_set(l, off, l->esr_pending);
		l->esr_pending = 0;
		break;
	case VIRQ_LAPIC_REG_ICR_LO:
		lapic_set(l, off, val & ICR_LO_MASK);
		lapic_send_icr(l, val & ICR_LO_MASK,
			       x2 ? lapic_get(l, VIRQ_LAPIC_REG_ICR_HI)
				  : lapic_get(l, VIRQ_LAPIC_REG_ICR_HI) >> 24);
		break;
	case VIRQ_LAPIC_REG_ICR_HI:
		lapic_set(l, off, val & 0xFF000000U);
		break;
	case VIRQ_LAPIC_REG_TMICT:
		lapic_timer_write_tmict(l, val);
		break;
	case VIRQ_LAPIC_REG_TDCR:
		lapic_timer_write_tdcr(l, val);
		break;
	case VIRQ_LAPIC_REG_SELF_IPI:
		lapic_send_icr(l, (val & 0xFFU) | ((uint32_t)VIRQ_SH_SELF << VIRQ_ICR_SH_SHIFT), 0);
		break;
	default:
		break;
	}
}

/* ---- xAPIC MMIO ---- */

static bool mmio_decoded(const struct virq_lapic *l)
{
	return lapic_mode(l) == VIRQ_LAPIC_MODE_XAPIC;
}

VIRQ_API int virq_lapic_mmio_read(struct virq_lapic *lapic, uint32_t offset, unsigned size,
				  uint64_t *val)
{
	uint32_t reg_off = offset & ~0xFU, in = offset & 0xFU;
	uint32_t v;

	if (!val || offset >= VIRQ_LAPIC_PAGE_SIZE ||
	    (size != 1 && size != 2 && size != 4 && size != 8) ||
	    offset + size > VIRQ_LAPIC_PAGE_SIZE)
		return -VIRQ_EINVAL;
	if (!mmio_decoded(lapic)) {
		/* Not decoded (disabled, or x2APIC mode): all ones. */
		*val = size == 8 ? ~0ULL : ((1ULL << (size * 8)) - 1U);
		return 0;
	}
	*val = 0;
	if (in + size > 4) {
		/* Bytes 4-15 of a slot, or a wider access: undefined; reads 0. */
		lapic_guest_error(lapic, VIRQ_GERR_MMIO_SIZE);
		return 0;
	}
	switch (reg_classify(lapic, reg_off, false)) {
	case REG_RESERVED:
		lapic_guest_error(lapic, VIRQ_GERR_RESERVED_REG);
		lapic_set_error(lapic, VIRQ_LAPIC_ESR_ILLEGAL_REG);
		return 0;
	case REG_WO:
		return 0; /* EOI reads 0 */
	default:
		break;
	}
	v = reg_read(lapic, reg_off) >> (in * 8);
	*val = size == 4 ? v : (v & ((1U << (size * 8)) - 1U));
	return 0;
}

/*
 * Every MMIO write but the fast EOI below: bounds, decode (xAPIC mode
 * only), the aligned 32-bit rule, the register class, then the write.
 */
VIRQ_NOINLINE int lapic_mmio_write_slow(struct virq_lapic *lapic, uint32_t offset, unsigned size,
					uint64_t val)
{
	uint32_t reg_off = offset & ~0xFU;

	if (offset >= VIRQ_LAPIC_PAGE_SIZE || (size != 1 && size != 2 && size != 4 && size != 8) ||
	    offset + size > VIRQ_LAPIC_PAGE_SIZE)
		return -VIRQ_EINVAL;
	if (!mmio_decoded(lapic))
		return 0;
	if (size != 4 || (offset & 0xFU)) {
		/* Only aligned 32-bit stores are defined (SDM 10.4.1 "The
		 * Local APIC Block Diagram"). */
		lapic_guest_error(lapic, VIRQ_GERR_MMIO_SIZE);
		return 0;
	}
	switch (reg_classify(lapic, reg_off, false)) {
	case REG_RESERVED:
		lapic_guest_error(lapic, VIRQ_GERR_RESERVED_REG);
		lapic_set_error(lapic, VIRQ_LAPIC_ESR_ILLEGAL_REG);
		return 0;
	case REG_RO:
		if (reg_off != VIRQ_LAPIC_REG_ID)
			lapic_guest_error(lapic, VIRQ_GERR_READONLY_REG);
		return 0;
	default:
		break;
	}
	reg_write(lapic, reg_off, (uint32_t)val);
	return 0;
}

/*
 * The EOI is the register a guest writes after every interrupt: an aligned
 * 32-bit store to offset 0xB0 in xAPIC mode goes straight to the EOI (the
 * value is ignored, SDM 10.8.5 "Signaling Interrupt Servicing Completion").
 * Its outcome is the slow path's exactly: the bounds hold, the page is
 * decoded, the access is aligned and 32 bits wide, and the EOI register is
 * write-only, so nothing is reported. Every other access takes the slow
 * path.
 */
VIRQ_API int virq_lapic_mmio_write(struct virq_lapic *lapic, uint32_t offset, unsigned size,
				   uint64_t val)
{
	if (offset == VIRQ_LAPIC_REG_EOI && size == 4 &&
	    (lapic->apic_base & (VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD)) == VIRQ_APIC_BASE_EN) {
		lapic_eoi_inline(lapic);
		return 0;
	}
	return lapic_mmio_write_slow(lapic, offset, size, val);
}

/* ---- x2APIC MSRs ---- */

/*
 * Bits of a 32-bit x2APIC register a WRMSR may set to 1 without #GP:
 * writable bits plus read-only status bits that software may write back
 * (LVT delivery status and Remote IRR are ignored, as on xAPIC).
 */
static uint32_t x2apic_write_allowed(const struct virq_lapic *l, uint32_t off)
{
	if (lapic_is_lvt(l, off))
		return lapic_lvt_writable(l, off) | VIRQ_LVT_DELIVS |
		       ((off == VIRQ_LAPIC_REG_LVT_LINT0 || off == VIRQ_LAPIC_REG_LVT_LINT1)
				? VIRQ_LVT_REMOTE_IRR
				: 0);
	switch (off) {
	case VIRQ_LAPIC_REG_TPR:
		return TPR_MASK;
	case VIRQ_LAPIC_REG_SVR:
		return lapic_svr_writable(l);
	case VIRQ_LAPIC_REG_TMICT:
		return 0xFFFFFFFFU;
	case VIRQ_LAPIC_REG_TDCR:
		return VIRQ_TDCR_MASK;
	case VIRQ_LAPIC_REG_SELF_IPI:
		return 0xFFU;
	default:
		return 0; /* EOI and ESR: only 0 may be written */
	}
}

static int x2apic_gp(struct virq_lapic *l)
{
	lapic_guest_error(l, VIRQ_GERR_MSR_GP);
	return VIRQ_GP;
}

/*
 * The register offset of x2APIC MSR @msr, or -1 when the access faults:
 * not in x2APIC mode, past the register range, a reserved register, or a
 * register of class @refused (write-only for reads, read-only for writes).
 */
static int x2apic_decode(const struct virq_lapic *l, uint32_t msr, enum reg_class refused)
{
	uint32_t off = virq_lapic_msr_to_off(msr);
	enum reg_class c;

	if (lapic_mode(l) != VIRQ_LAPIC_MODE_X2APIC || off >= 0x400U)
		return -1;
	c = reg_classify(l, off, true);
	if (c == REG_RESERVED || c == refused)
		return -1;
	return (int)off;
}

static int x2apic_read(struct virq_lapic *l, uint32_t msr, uint64_t *val)
{
	int d = x2apic_decode(l, msr, REG_WO);
	uint32_t off;

	if (d < 0)
		return x2apic_gp(l);
	off = (uint32_t)d;
	if (off == VIRQ_LAPIC_REG_ICR_LO)
		*val = (uint64_t)lapic_get(l, VIRQ_LAPIC_REG_ICR_LO) |
		       ((uint64_t)lapic_get(l, VIRQ_LAPIC_REG_ICR_HI) << 32);
	else
		*val = reg_read(l, off);
	return 0;
}

static int x2apic_write(struct virq_lapic *l, uint32_t msr, uint64_t val)
{
	int d = x2apic_decode(l, msr, REG_RO);
	uint32_t off;

	if (d < 0)
		return x2apic_gp(l);
	off = (uint32_t)d;
	if (off == VIRQ_LAPIC_REG_ICR_LO) {
		/* One 64-bit write sends; bit 12 is ignored (SDM 10.12.9 "ICR
		 * Operation in x2APIC Mode"). */
		if (val & ICR_X2APIC_RSVD)
			return x2apic_gp(l);
		lapic_set(l, VIRQ_LAPIC_REG_ICR_LO, (uint32_t)val & ICR_LO_MASK);
		lapic_set(l, VIRQ_LAPIC_REG_ICR_HI, (uint32_t)(val >> 32));
		lapic_send_icr(l, (uint32_t)val & ICR_LO_MASK, (uint32_t)(val >> 32));
		return 0;
	}
	/* Bits 63:32 of every other register, and reserved bits, fault. */
	if ((val >> 32) || ((uint32_t)val & ~x2apic_write_allowed(l, off)))
		return x2apic_gp(l);
	if (off == VIRQ_LAPIC_REG_LVT_TIMER &&
	    (((uint32_t)val & VIRQ_LVT_TIMER_MODE_MASK) >> VIRQ_LVT_TIMER_MODE_SHIFT) == 3U)
		return x2apic_gp(l); /* reserved timer mode */
	reg_write(l, off, (uint32_t)val);
	return 0;
}

VIRQ_API int virq_lapic_msr_read(struct virq_lapic *lapic, uint32_t msr, uint64_t *val)
{
	if (!val)
		return -VIRQ_EINVAL;
	switch (msr) {
	case VIRQ_MSR_IA32_APIC_BASE:
		*val = lapic->apic_base;
		return 0;
	case VIRQ_MSR_IA32_TSC_DEADLINE:
		if (!lapic->cfg.tsc_deadline)
			return x2apic_gp(lapic);
		*val = lapic_timer_read_tsc_deadline(lapic);
		return 0;
	default:
		break;
	}
	if (msr < VIRQ_X2APIC_MSR_BASE || msr > VIRQ_X2APIC_MSR_LAST)
		return -VIRQ_ENOENT;
	*val = 0;
	return x2apic_read(lapic, msr, val);
}

/* Every MSR write but the fast EOI below (out of line: the fast path
 * needs no stack frame). */
VIRQ_NOINLINE int lapic_msr_write_slow(struct virq_lapic *lapic, uint32_t msr, uint64_t val)
{
	switch (msr) {
	case VIRQ_MSR_IA32_APIC_BASE:
		return virq_lapic_set_apic_base(lapic, val, false);
	case VIRQ_MSR_IA32_TSC_DEADLINE:
		if (!lapic->cfg.tsc_deadline)
			return x2apic_gp(lapic);
		lapic_timer_write_tsc_deadline(lapic, val);
		return 0;
	default:
		break;
	}
	if (msr < VIRQ_X2APIC_MSR_BASE || msr > VIRQ_X2APIC_MSR_LAST)
		return -VIRQ_ENOENT;
	return x2apic_write(lapic, msr, val);
}

/*
 * x2APIC EOI (MSR 0x80B) with the value 0 in x2APIC mode goes straight to
 * the EOI: the slow path decodes it to the write-only EOI register, whose
 * only writable value is 0 (SDM 10.12.1.2 "x2APIC Register Address
 * Space"), and writes it. A non-zero
 * value (#GP), xAPIC or disabled mode (#GP) and every other MSR take the
 * slow path.
 */
VIRQ_API int virq_lapic_msr_write(struct virq_lapic *lapic, uint32_t msr, uint64_t val)
{
	if (msr == VIRQ_X2APIC_MSR_BASE + (VIRQ_LAPIC_REG_EOI >> 4) && val == 0 &&
	    (lapic->apic_base & (VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD)) ==
		    (VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD)) {
		lapic_eoi_inline(lapic);
		return 0;
	}
	return lapic_msr_write_slow(lapic, msr, val);
}

/* ---- IA32_APIC_BASE ---- */

static uint64_t apic_base_reserved(const struct virq_lapic *l)
{
	/* Bits 7:0, 9, EXTD without x2APIC, and MAXPHYADDR and above. */
	uint64_t rsvd = 0x2FFULL | ~((1ULL << l->cfg.phys_addr_bits) - 1U);

	if (!l->cfg.x2apic)
		rsvd |= VIRQ_APIC_BASE_EXTD;
	return rsvd & ~VIRQ_APIC_BASE_BSP;
}

VIRQ_API int virq_lapic_set_apic_base(struct virq_lapic *lapic, uint64_t val, bool host_initiated)
{
	enum virq_lapic_mode from = lapic_mode(lapic);
	enum virq_lapic_mode to;

	/* Validate (no state change before this point). */
	if (val & apic_base_reserved(lapic))
		goto gp;
	if ((val & (VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD)) == VIRQ_APIC_BASE_EXTD)
		goto gp; /* EN=0, EXTD=1: invalid state */
	to = lapic_mode_of(val);
	if (!host_initiated) {
		/* SDM 10.12.5 "x2APIC State Transitions" Figure 10-27
		 * "Local x2APIC State Transitions with IA32_APIC_BASE,
		 * INIT, and RESET". */
		if (from == VIRQ_LAPIC_MODE_DISABLED && to == VIRQ_LAPIC_MODE_X2APIC)
			goto gp;
		if (from == VIRQ_LAPIC_MODE_X2APIC && to == VIRQ_LAPIC_MODE_XAPIC)
			goto gp;
	}

	/* Commit. BSP is fixed at reset; the written bit is ignored. */
	val = (val & ~VIRQ_APIC_BASE_BSP) | (lapic->apic_base & VIRQ_APIC_BASE_BSP);
	if (from == to) {
		/* Base address only: one untorn store, matching unaffected. */
		__atomic_store_n(&lapic->apic_base, val, __ATOMIC_RELAXED);
		return 0;
	}
	/* Mode and the ID/LDR it implies change in one section. */
	lapic_dest_begin(lapic);
	__atomic_store_n(&lapic->apic_base, val, __ATOMIC_RELAXED);
	lapic_update_active(lapic);

	if (from == VIRQ_LAPIC_MODE_DISABLED) {
		/* Re-enable: the APIC returns to its power-up state (the
		 * conservative reading of SDM 10.4.3 "Enabling or Disabling
		 * the Local APIC"), pending events too. */
		lapic_reset_regs(lapic, false);
		/* Keep the internal notifications: a request posted after the
		 * discard above must not be stranded without one. */
		virq_atomic_fetch_and32(&lapic->posted_events, LAPIC_EV_LINT | LAPIC_EV_LEVEL);
	} else if (to == VIRQ_LAPIC_MODE_DISABLED) {
		/* As if there were no APIC: the timer stops, posted requests
		 * are dropped; registers are reset on re-enable. */
		lapic_timer_stop(lapic);
		lapic->tsc_deadline = 0;
		lapic_discard_posted(lapic);
		lapic_clear_vectors(lapic);
	} else if (to == VIRQ_LAPIC_MODE_X2APIC) {
		/* SDM 10.12.5.1 "x2APIC States": the hardware ID replaces a written xAPIC ID,
		 * LDR is derived from it, ICR high is not preserved. */
		lapic_set_shared(lapic, VIRQ_LAPIC_REG_ID, lapic->cfg.apic_id);
		lapic_set_shared(lapic, VIRQ_LAPIC_REG_LDR, virq_x2apic_ldr(lapic->cfg.apic_id));
		lapic_set(lapic, VIRQ_LAPIC_REG_ICR_HI, 0);
	} else {
		/* x2APIC -> xAPIC (host-initiated only). */
		lapic_set_shared(lapic, VIRQ_LAPIC_REG_ID, lapic->cfg.apic_id << 24);
		lapic_set_shared(lapic, VIRQ_LAPIC_REG_LDR, 0);
		lapic_set(lapic, VIRQ_LAPIC_REG_ICR_HI, 0);
	}
	lapic_dest_end(lapic);
	return 0;
gp:
	lapic_guest_error(lapic, VIRQ_GERR_APIC_BASE);
	return VIRQ_GP;
}

/* ---- CR8 ---- */

VIRQ_API uint64_t virq_lapic_get_cr8(const struct virq_lapic *lapic)
{
	return (lapic_get(lapic, VIRQ_LAPIC_REG_TPR) >> 4) & 0xFU;
}

VIRQ_API int virq_lapic_set_cr8(struct virq_lapic *lapic, uint64_t val)
{
	if (val & ~0xFULL) {
		lapic_guest_error(lapic, VIRQ_GERR_CR8);
		return VIRQ_GP;
	}
	lapic_set(lapic, VIRQ_LAPIC_REG_TPR, (uint32_t)val << 4);
	lapic_update_ppr(lapic);
	return 0;
}
