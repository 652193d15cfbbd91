/* SPDX-License-Identifier: MIT */
/*
 * What the lapic files share and nobody else sees.
 *
 * Cached values kept beside the register page (each exact at every return
 * to the caller; lapic_check_invariants() recomputes them for the fuzzers):
 *  - isrv: highest vector set in ISR, or -1;
 *  - irrv: highest vector set in IRR, or -1;
 *  - irr_sum/tmr_sum: bit i set exactly when register i of IRR/TMR
 *    (vectors 32i..32i+31) holds a set bit;
 *  - isr_count: number of bits set in ISR (so an EOI knows without a
 *    search when the vector it retires was the only one in service);
 *  - active: IA32_APIC_BASE.EN && SVR bit 8;
 *  - PPR in the page: always the SDM 10.8.3.1 "Task and Processor
 *    Priorities" function of TPR and isrv;
 *  - lint_rirr bit p: LVT LINTp has Remote IRR set; then lint_vec[p] is the
 *    vector it delivered (>= 16, set in IRR or ISR until its EOI), else
 *    lint_vec[p] is 0. A globally disabled APIC has no Remote IRR set.
 *  - eoi_exit: lapic_eoi_exit_compute() of TMR, SVR[12] and the LINT Remote
 *    IRRs; eoi_exit_gen changes with every change of it
 *    (lapic_eoi_exit_update() after each change of one of those);
 *  - accel: a valid enum virq_lapic_accel.
 */
#ifndef VIRQ_LAPIC_PRIV_H
#define VIRQ_LAPIC_PRIV_H

#include <virq/lapic.h>
#include <virq/version.h>

#include "core/bitmap.h"
#include "core/pi_impl.h"

/* Internal bits of posted_events: LINT levels changed, apply at next sync;
 * level-triggered vectors posted in post_level, fold at next sync. */
#define LAPIC_EV_LINT (1U << 31)
#define LAPIC_EV_LEVEL (1U << 30)
#define LAPIC_EV_PUBLIC                                                                            \
	(VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_SMI | VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI |         \
	 VIRQ_LAPIC_EV_EXTINT)

/*
 * NMIs count to two in posted_events and in local_events: VIRQ_LAPIC_EV_NMI
 * for one, LAPIC_EV_NMI2 beside it for a second (never without the first),
 * a third merges. The saved state uses the same bit.
 */
#define LAPIC_EV_NMI2 VIRQ_LAPIC_STATE_EV_NMI2
#define LAPIC_EV_NMIS (VIRQ_LAPIC_EV_NMI | LAPIC_EV_NMI2)

/* NMIs an event word holds: 0, 1 or 2. */
static inline unsigned lapic_nmi_count(uint32_t ev)
{
	return ((ev & VIRQ_LAPIC_EV_NMI) ? 1U : 0U) + ((ev & LAPIC_EV_NMI2) ? 1U : 0U);
}

/* The event bits of @n NMIs, saturated at two. */
static inline uint32_t lapic_nmi_bits(unsigned n)
{
	return n >= 2U ? LAPIC_EV_NMIS : (n ? VIRQ_LAPIC_EV_NMI : 0U);
}

/* Owner: an NMI raised locally (an LVT entry, LINT1), counted. */
static inline void lapic_local_nmi(struct virq_lapic *l)
{
	l->local_events |= (l->local_events & VIRQ_LAPIC_EV_NMI) ? LAPIC_EV_NMI2
								 : VIRQ_LAPIC_EV_NMI;
}

/* lint word: bit p = level of LINTp; bit 2 + 2p = rose, bit 3 + 2p = fell. */
#define LINT_LEVEL(p) (1U << (p))
#define LINT_ROSE(p) (1U << (2 + 2 * (p)))
#define LINT_FELL(p) (1U << (3 + 2 * (p)))
#define LINT_VALID_MASK 0x3FU

#define LAPIC_VERSION_DEFAULT 0x14U
#define LAPIC_MAXLVT_DEFAULT 6U
#define LAPIC_PHYS_BITS_DEFAULT 36U
#define LAPIC_TICK_PS_DEFAULT 1000U
#define LAPIC_TICK_PS_MAX 1000000U

/* Writable bits, xAPIC view (SDM 10.5.1 "Local Vector Table", 10.9
 * "Spurious Interrupt", 10.6.1 "Interrupt Command Register (ICR)"). */
#define LVT_MASK_TIMER_BASE 0x000100FFU /* vector, mask; + mode bits */
#define LVT_MASK_GENERIC 0x000107FFU    /* CMCI, thermal, PMC: vector, DM, mask */
#define LVT_MASK_LINT 0x0001A7FFU       /* vector, DM, polarity, trigger, mask */
#define LVT_MASK_ERROR 0x000100FFU      /* vector, mask */
#define ICR_LO_MASK 0x000CCFFFU         /* vector, DM, dest mode, level, trigger, SH */
#define ICR_X2APIC_RSVD 0xFFF32000ULL   /* bits 31:20, 17:16, 13 (bit 12 ignored) */
#define TPR_MASK 0x000000FFU
#define LDR_XAPIC_MASK 0xFF000000U
#define ID_XAPIC_MASK 0xFF000000U
#define DFR_MODEL_MASK 0xF0000000U

static inline uint32_t *lapic_reg(struct virq_lapic *l, uint32_t off)
{
	return &l->page[off >> 2];
}

static inline uint32_t lapic_get(const struct virq_lapic *l, uint32_t off)
{
	return l->page[off >> 2];
}

static inline void lapic_set(struct virq_lapic *l, uint32_t off, uint32_t val)
{
	l->page[off >> 2] = val;
}

/* Registers that other threads may read (match_dest): untorn relaxed stores. */
static inline void lapic_set_shared(struct virq_lapic *l, uint32_t off, uint32_t val)
{
	__atomic_store_n(&l->page[off >> 2], val, __ATOMIC_RELAXED);
}

static inline uint32_t lapic_get_shared(const struct virq_lapic *l, uint32_t off)
{
	return __atomic_load_n(&l->page[off >> 2], __ATOMIC_RELAXED);
}

static inline uint32_t *lapic_isr(struct virq_lapic *l)
{
	return lapic_reg(l, VIRQ_LAPIC_REG_ISR);
}

static inline uint32_t *lapic_irr(struct virq_lapic *l)
{
	return lapic_reg(l, VIRQ_LAPIC_REG_IRR);
}

static inline uint32_t *lapic_tmr(struct virq_lapic *l)
{
	return lapic_reg(l, VIRQ_LAPIC_REG_TMR);
}

static inline enum virq_lapic_mode lapic_mode_of(uint64_t base)
{
	if (!(base & VIRQ_APIC_BASE_EN))
		return VIRQ_LAPIC_MODE_DISABLED;
	return (base & VIRQ_APIC_BASE_EXTD) ? VIRQ_LAPIC_MODE_X2APIC : VIRQ_LAPIC_MODE_XAPIC;
}

static inline enum virq_lapic_mode lapic_mode(const struct virq_lapic *l)
{
	return lapic_mode_of(l->apic_base);
}

static inline bool lapic_sw_enabled(const struct virq_lapic *l)
{
	return (lapic_get(l, VIRQ_LAPIC_REG_SVR) & VIRQ_LAPIC_SVR_ENABLE) != 0;
}

/* Accepts and delivers fixed interrupts: globally and software enabled. */
static inline bool lapic_compute_active(const struct virq_lapic *l)
{
	return (l->apic_base & VIRQ_APIC_BASE_EN) && lapic_sw_enabled(l);
}

static inline bool lapic_active(const struct virq_lapic *l)
{
	return l->active;
}

/* Call after every change of IA32_APIC_BASE.EN or SVR bit 8. */
static inline void lapic_update_active(struct virq_lapic *l)
{
	/* Read by routing threads (virq_lapic_accepts_fixed). */
	__atomic_store_n(&l->active, lapic_compute_active(l), __ATOMIC_RELAXED);
}

/* Recomputes the cached IRR/ISR summaries and highest vectors (restore). */
/* Recomputes the cached IRR/ISR (and with @tmr, TMR) summaries, the ISR
 * count and the highest vectors, and active. */
static inline void lapic_recompute_vectors(struct virq_lapic *l, bool with_tmr)
{
	const uint32_t *irr = &l->page[VIRQ_LAPIC_REG_IRR >> 2];
	const uint32_t *isr = &l->page[VIRQ_LAPIC_REG_ISR >> 2];
	const uint32_t *tmr = &l->page[VIRQ_LAPIC_REG_TMR >> 2];
	unsigned irs = 0, tms = 0, n = 0;
	int isrv = VEC_NONE;

	/* One pass over the three bitmaps, unrolled (the hardware-acceleration
	 * resync runs this after every exit). */
#define RECOMPUTE_REG(i)                                                                           \
	do {                                                                                       \
		uint32_t w = isr[(i)*APICVEC_STRIDE_U32];                                          \
                                                                                                   \
		irs |= irr[(i)*APICVEC_STRIDE_U32] ? 1U << (i) : 0;                                \
		if (with_tmr)                                                                      \
			tms |= tmr[(i)*APICVEC_STRIDE_U32] ? 1U << (i) : 0;                        \
		if (w) {                                                                           \
			if (isrv < 0)                                                              \
				isrv = (int)((i)*32 + virq_fls32(w));                              \
			n += apicvec_popcount32(w);                                                \
		}                                                                                  \
	} while (0)
	RECOMPUTE_REG(7);
	RECOMPUTE_REG(6);
	RECOMPUTE_REG(5);
	RECOMPUTE_REG(4);
	RECOMPUTE_REG(3);
	RECOMPUTE_REG(2);
	RECOMPUTE_REG(1);
	RECOMPUTE_REG(0);
#undef RECOMPUTE_REG
	l->irr_sum = (uint8_t)irs;
	if (with_tmr)
		l->tmr_sum = (uint8_t)tms;
	l->isr_count = (uint8_t)n;
	l->isrv = (int16_t)isrv;
	l->irrv = (int16_t)apicvec_highest_sum(irr, l->irr_sum);
	lapic_update_active(l);
}

/* Recomputes every cached vector value (restore, reset, INIT). */
static inline void lapic_recompute_cache(struct virq_lapic *l)
{
	lapic_recompute_vectors(l, true);
}

static inline bool lapic_has_cmci(const struct virq_lapic *l)
{
	return l->cfg.max_lvt >= 6;
}

/*
 * An optional hook of the caller's ops table, NULL when the table is too
 * short to hold it (doc/abi.md, "Growing ops and config structures"). For
 * every hook within VIRQ_LAPIC_OPS_SIZE_MIN the test is a compile-time true;
 * a hook appended later must be read through this.
 */
#define LAPIC_OP(l, f)                                                                             \
	(VIRQ_FIELD_PRESENT(struct virq_lapic_ops, (l)->ops, f, VIRQ_LAPIC_OPS_SIZE_MIN)           \
		 ? (l)->ops->f                                                                     \
		 : NULL)

/* ID, LDR, DFR or mode changed: tell the router. */
static inline void lapic_dest_changed(struct virq_lapic *l)
{
	if (LAPIC_OP(l, dest_changed))
		l->ops->dest_changed(l->ctx);
}

/*
 * ID, LDR, DFR and IA32_APIC_BASE are read together by other threads
 * (virq_lapic_match_dest). Changes happen between dest_begin and dest_end,
 * a sequence counter the readers re-check (odd while a change is under
 * way), so a reader never combines an old mode with a new ID.
 */
static inline void lapic_dest_begin(struct virq_lapic *l)
{
	if (l->dest_depth++)
		return; /* nested: one section */
	__atomic_store_n(&l->dest_seq, l->dest_seq + 1U, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void lapic_dest_end(struct virq_lapic *l)
{
	VIRQ_ASSERT(l->dest_depth > 0);
	if (--l->dest_depth)
		return;
	__atomic_store_n(&l->dest_seq, l->dest_seq + 1U, __ATOMIC_RELEASE);
	/* Outside the section, so the router may read the new values. */
	lapic_dest_changed(l);
}

/*
 * virq_lapic_match_dest() of a physical destination: a snapshot of the
 * mode and the ID alone (a logical one needs LDR and DFR instead).
 */
static inline bool lapic_match_phys(const struct virq_lapic *lapic, uint32_t dest)
{
	uint64_t base;
	uint32_t id, seq;

	for (;;) {
		seq = __atomic_load_n(&lapic->dest_seq, __ATOMIC_ACQUIRE);
		base = __atomic_load_n(&lapic->apic_base, __ATOMIC_RELAXED);
		id = lapic_get_shared(lapic, VIRQ_LAPIC_REG_ID);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(seq & 1U) && __atomic_load_n(&lapic->dest_seq, __ATOMIC_RELAXED) == seq)
			break;
	}
	if (!(base & VIRQ_APIC_BASE_EN))
		return false;
	if (base & VIRQ_APIC_BASE_EXTD)
		return dest == 0xFFFFFFFFU || dest == id;
	dest &= 0xFFU; /* xAPIC: only the low 8 bits are decoded */
	return dest == 0xFFU || dest == (id >> 24);
}

static inline void lapic_guest_error(struct virq_lapic *l, enum virq_guest_error code)
{
	if (LAPIC_OP(l, guest_error))
		l->ops->guest_error(l->ctx, code);
}

/* PPR = max(TPR, ISRV class) per SDM 10.8.3.1 "Task and Processor Priorities". */
static inline uint32_t lapic_compute_ppr(uint32_t tpr, int isrv)
{
	uint32_t isr_class = isrv < 0 ? 0 : ((uint32_t)isrv & 0xF0U);

	if ((tpr >> 4) >= (isr_class >> 4))
		return tpr & 0xFFU;
	return isr_class;
}

static inline void lapic_update_ppr(struct virq_lapic *l)
{
	lapic_set_shared(l, VIRQ_LAPIC_REG_PPR,
			 lapic_compute_ppr(lapic_get(l, VIRQ_LAPIC_REG_TPR), l->isrv));
}

/* irq.c: out of line parts of lapic_eoi_inline(). */
void lapic_eoi_effects(struct virq_lapic *l, uint8_t vec);
void lapic_eoi_nested(struct virq_lapic *lapic, uint8_t vec);
/* EOI that always searches ISR for the next vector: the rare cases of
 * lapic_eoi_inline(), and what tests and fuzzers compare it with. */
void lapic_eoi_slow(struct virq_lapic *lapic);

/*
 * EOI (virq_lapic_eoi(), and the EOI register writes, which inline it):
 * the highest ISR bit retires (SDM 10.8.5 "Signaling Interrupt Servicing
 * Completion"). The common case, nothing else in service (isr_count 1),
 * needs no search: its ISR register becomes 0, ISRV -1 and PPR is TPR.
 */
static inline void lapic_eoi_inline(struct virq_lapic *lapic)
{
	int v;

	/* isr_count 1 implies ISRV >= 0, so one test covers both rare cases:
	 * nothing in service (a spurious EOI, ignored) and nested vectors. */
	if (VIRQ_UNLIKELY(lapic->isr_count != 1)) {
		lapic_eoi_slow(lapic);
		return;
	}
	v = lapic->isrv;
	lapic_isr(lapic)[((unsigned)v >> 5) * APICVEC_STRIDE_U32] = 0;
	lapic->isr_count = 0;
	lapic->isrv = VEC_NONE;
	lapic_set_shared(lapic, VIRQ_LAPIC_REG_PPR,
			 lapic_get(lapic, VIRQ_LAPIC_REG_TPR) & TPR_MASK);
	if (VIRQ_UNLIKELY(lapic->tmr_sum | lapic->lint_rirr))
		lapic_eoi_effects(lapic, (uint8_t)v);
}

/* lapic.c */
void lapic_clear_vectors(struct virq_lapic *l);
void lapic_reset_regs(struct virq_lapic *l, bool init);
void lapic_apply_lint(struct virq_lapic *l);
void lapic_eval_lint(struct virq_lapic *l, unsigned pin, bool edge_rise, bool edge_fall);

/* accel.c */
void lapic_eoi_exit_compute(const struct virq_lapic *l, uint64_t out[4]);
void lapic_eoi_exit_update(struct virq_lapic *l);

/* irq.c */
void lapic_accept_fixed(struct virq_lapic *l, uint8_t vector, bool level);
void lapic_set_error(struct virq_lapic *l, uint32_t bits);
void lapic_discard_posted(struct virq_lapic *l);
bool lapic_fold_level(struct virq_lapic *l);
/* virq_lapic_ack() without its fast path for a lone posted vector (tests
 * and fuzzers compare the two). */
int lapic_ack_slow(struct virq_lapic *lapic);

/* lvt.c */
void lapic_fire_lvt(struct virq_lapic *l, uint32_t off);
void lapic_lvt_write(struct virq_lapic *l, uint32_t off, uint32_t val);
uint32_t lapic_lvt_writable(const struct virq_lapic *l, uint32_t off);
void lapic_mask_all_lvts(struct virq_lapic *l);
bool lapic_is_lvt(const struct virq_lapic *l, uint32_t off);

/* ipi.c */
void lapic_send_icr(struct virq_lapic *l, uint32_t lo, uint32_t dest);

/* timer.c */
void lapic_timer_stop(struct virq_lapic *l);
void lapic_timer_lvt_write(struct virq_lapic *l, uint32_t nv);
void lapic_timer_write_tmict(struct virq_lapic *l, uint32_t val);
void lapic_timer_write_tdcr(struct virq_lapic *l, uint32_t val);
uint32_t lapic_timer_read_tmcct(struct virq_lapic *l);
uint64_t lapic_timer_read_tsc_deadline(const struct virq_lapic *l);
void lapic_timer_write_tsc_deadline(struct virq_lapic *l, uint64_t val);
uint32_t lapic_timer_mode(const struct virq_lapic *l);
void lapic_timer_rearm(struct virq_lapic *l);
uint64_t lapic_timer_unit_ps(const struct virq_lapic *l);
uint64_t lapic_count_ns(uint32_t tdcr, uint32_t tick_ps, uint64_t count);

/* regs.c */
uint32_t lapic_version_value(const struct virq_lapic *l);
uint32_t lapic_svr_writable(const struct virq_lapic *l);
/* The register writes without the EOI fast path (what virq_lapic_mmio_write
 * and virq_lapic_msr_write do for every other access; tests compare them). */
int lapic_mmio_write_slow(struct virq_lapic *lapic, uint32_t offset, unsigned size, uint64_t val);
int lapic_msr_write_slow(struct virq_lapic *lapic, uint32_t msr, uint64_t val);

/*
 * Recomputes every cached value and checks the architectural invariants.
 * Returns 0 when all hold, else a distinct non-zero code. Used by fuzzers
 * and tests (not exported from the shared library).
 */
int lapic_check_invariants(const struct virq_lapic *l);

#endif /* VIRQ_LAPIC_PRIV_H */
