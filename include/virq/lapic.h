/* SPDX-License-Identifier: MIT */
/**
 * @file lapic.h
 * @brief The virtual local APIC (xAPIC and x2APIC).
 *
 * A `struct virq_lapic` models what one vCPU's guest sees of its local APIC:
 * the register page (IRR/ISR/TMR, TPR/PPR, LVT, ICR, timer, ESR, SVR),
 * IA32_APIC_BASE and its mode transitions, x2APIC MSRs, CR8, the timer
 * modes, INIT/SIPI/NMI/SMI/ExtINT and lock-free posting from any thread.
 *
 * ## Embedding one LAPIC
 *
 * @code
 * static uint32_t page[1024] __attribute__((aligned(4096)));  // 4 KiB register page
 * static struct virq_lapic apic;                               // 64-byte aligned by type
 * static const struct virq_lapic_ops ops = {
 *         .size = sizeof(struct virq_lapic_ops),  // the headers built with
 *         .kick = my_kick, .now_ns = my_now, .timer_arm = my_arm,
 *         .timer_cancel = my_cancel, .send_ipi = my_route_ipi,
 * };
 * struct virq_lapic_config cfg = { .size = sizeof(cfg), .apic_id = 0, .bsp = true,
 *                                   .x2apic = true };
 * virq_lapic_init(&apic, page, &cfg, &ops, my_vcpu);
 *
 * // device thread, any time:
 * virq_lapic_post(&apic, 0x41, false);      // kicks the vCPU if it was idle
 *
 * // vCPU thread, before entering the guest:
 * struct virq_lapic_events ev;
 * if (virq_lapic_take_events(&apic, &ev)) ...;  // INIT/SIPI/NMI/SMI/ExtINT
 * if (guest_can_take_interrupt) {
 *         int v = virq_lapic_ack(&apic);     // IRR -> ISR, or -1
 *         if (v >= 0) inject(v);
 * }
 * // exits: virq_lapic_mmio_read/write, virq_lapic_msr_read/write, CR8
 * // host timer fired: virq_lapic_timer_expired(&apic);
 * @endcode
 *
 * ## Threads
 *
 * Each LAPIC has one owner thread (its vCPU thread). Every function is
 * "owner only" unless its documentation says "any thread". The any-thread
 * functions (virq_lapic_post(), virq_lapic_post_edge(), virq_lapic_post_phys(),
 * virq_lapic_post_msg(), virq_lapic_set_lint()) are lock-free and may run
 * concurrently with the owner and each other; they call `ops->kick` when
 * the LAPIC goes from "no posted work" to "posted work", never more than
 * once per such transition. Edge-triggered vectors (the
 * posted-interrupt descriptor's ON bit) and posted events (level-triggered
 * vectors, NMI, SMI, INIT, SIPI, ExtINT, LINT changes) are two channels
 * with one transition each: an edge vector and a level vector (or an NMI)
 * posted back to back may kick twice.
 *
 * Each posted vector is accepted into IRR by exactly one fold, with its own
 * trigger mode; TMR records the trigger mode of the last acceptance (SDM
 * 10.8.4 "Interrupt Acceptance for Fixed Interrupts"). A level and an
 * edge interrupt of one vector that are both pending when the owner folds
 * collapse into one IRR bit with TMR set, so the EOI reaches the level
 * source.
 *
 * ## The register page
 *
 * The caller supplies a 4 KiB, 4 KiB-aligned page that holds the
 * architectural registers at their xAPIC offsets (IRR at 0x200, ISR at 0x100,
 * TPR at 0x80, ...). The same page can serve unchanged as a VT-x
 * virtual-APIC page. In x2APIC mode the ID register holds the 32-bit ID and
 * ICR high (0x310) the 32-bit destination, as on the virtual-APIC page.
 * The page belongs to the LAPIC: the embedder reads it at will but writes it
 * only through this API, or lets a CPU write the fields ::virq_lapic_accel
 * gives it and then calls virq_lapic_hw_sync().
 *
 * ## Pending requests
 *
 * Posted vectors go to a VT-x posted-interrupt descriptor
 * (virq_lapic::pi, see pi.h), 64-byte aligned, and are folded into IRR by
 * the owner before any evaluation (virq_lapic_sync()). A later VMX backend
 * can hand the same descriptor to the processor.
 */
#ifndef VIRQ_LAPIC_H
#define VIRQ_LAPIC_H

#include <virq/error.h>
#include <virq/msg.h>
#include <virq/pi.h>
#include <virq/platform.h>
#include <virq/regs/lapic.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Size of the register page the caller supplies. */
#define VIRQ_LAPIC_PAGE_SIZE 4096U

/**
 * @brief Returned by virq_lapic_pending() and virq_lapic_ack() when nothing
 *        is deliverable: a result, not a ::virq_err (see error.h).
 */
#define VIRQ_LAPIC_NO_VECTOR (-1)

/** @brief APIC operating mode, from IA32_APIC_BASE EN and EXTD. */
enum virq_lapic_mode {
	VIRQ_LAPIC_MODE_DISABLED = 0, /**< EN=0: globally disabled. */
	VIRQ_LAPIC_MODE_XAPIC = 1,    /**< EN=1, EXTD=0. */
	VIRQ_LAPIC_MODE_X2APIC = 2    /**< EN=1, EXTD=1. */
};

/** @brief Multiprocessor state of the vCPU as far as the APIC decides it. */
enum virq_lapic_mp_state {
	VIRQ_LAPIC_MP_RUNNABLE = 0, /**< Runs (or halts; halting is the VMM's business). */
	VIRQ_LAPIC_MP_WAIT_SIPI = 1 /**< After INIT on an AP: waits for a start-up IPI. */
};

/** @name Event flags returned by virq_lapic_take_events()
 * @{ */
/** Inject an NMI; virq_lapic_events::nmi_count says whether one or two. */
#define VIRQ_LAPIC_EV_NMI (1U << 0)
#define VIRQ_LAPIC_EV_SMI (1U << 1) /**< Enter SMM. */
/** INIT was accepted: the LAPIC has reset itself (SDM "Local APIC State
 *  After an INIT Reset"); the VMM resets the vCPU. An AP is now in
 *  ::VIRQ_LAPIC_MP_WAIT_SIPI. */
#define VIRQ_LAPIC_EV_INIT (1U << 2)
/** A start-up IPI was accepted in wait-for-SIPI: start the vCPU in real mode
 *  at CS = sipi_vector << 8, IP = 0 (physical sipi_vector << 12). */
#define VIRQ_LAPIC_EV_SIPI (1U << 3)
/** An external interrupt is pending: run an INTA cycle on the 8259 for the
 *  vector. Reported while LINT0 or LINT1 is asserted with ExtINT delivery
 *  (or LINT0 as the plain INTR pin of a globally disabled APIC), and once
 *  per ExtINT message. */
#define VIRQ_LAPIC_EV_EXTINT (1U << 4)
/** @} */

/** @brief Most NMIs one virq_lapic_take_events() reports (virq_lapic_events::nmi_count). */
#define VIRQ_LAPIC_MAX_NMI 2U

/** @brief What virq_lapic_take_events() hands to the vCPU loop. */
struct virq_lapic_events {
	uint32_t flags;      /**< VIRQ_LAPIC_EV_* */
	uint8_t sipi_vector; /**< Start page, valid with ::VIRQ_LAPIC_EV_SIPI. */
	/** NMIs to deliver: 1 or 2 with ::VIRQ_LAPIC_EV_NMI, 0 without it.
	 *  NMIs that arrive before the owner takes them are counted, not
	 *  merged, up to ::VIRQ_LAPIC_MAX_NMI: one for the processor to take
	 *  and one to hold while its handler runs, as KVM does (its
	 *  nmi_queued/nmi_pending, limit 2). More merge into those two. A loop
	 *  that only tests the flag sees at least one NMI, as before this
	 *  field existed (it sat in the structure's padding). */
	uint8_t nmi_count;
};

/**
 * @brief Callbacks from a LAPIC to its embedder. Kept const; ctx comes first.
 *
 * Required hooks are checked by virq_lapic_init(). Optional hooks may be
 * NULL; the documented fallback applies.
 */
struct virq_lapic_ops {
	/** sizeof(struct virq_lapic_ops) as the caller was built: first, checked by
	 *  virq_lapic_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint32_t reserved; /**< Zero. */
	/** Required. New posted work for the owner: wake it or make it leave
	 *  guest mode. Called from the posting thread (any thread), at most once
	 *  per "no work" -> "work" transition. Must not call back into the LAPIC. */
	void (*kick)(void *ctx);
	/** Required. Monotonic host time in nanoseconds. Owner thread. */
	uint64_t (*now_ns)(void *ctx);
	/** Required. Arm the host timer for absolute time @p deadline_ns (as
	 *  returned by now_ns), replacing any earlier deadline. When it passes,
	 *  the embedder calls virq_lapic_timer_expired() on the owner thread. */
	void (*timer_arm)(void *ctx, uint64_t deadline_ns);
	/** Required. Cancel the host timer. Owner thread. */
	void (*timer_cancel)(void *ctx);
	/** Optional. An IPI the guest sent through the ICR that is not for this
	 *  APIC alone: every shorthand except "self" and every destination.
	 *  The router resolves @p msg->dest and posts to the targets, including
	 *  this APIC for "all including self" or a matching destination
	 *  (msg->src is this APIC's ID). With a shorthand, msg->dest is the
	 *  broadcast ID of the current mode (0xFF or 0xFFFFFFFF) and
	 *  msg->logical is false. NULL: such IPIs are dropped. */
	void (*send_ipi)(void *ctx, const struct virq_apic_msg *msg);
	/** Optional. EOI of a level-triggered vector (TMR set) that is to be
	 *  broadcast to the I/O APICs: not called when SVR[12] suppresses the
	 *  broadcast (directed EOI). NULL: not interested. */
	void (*eoi_level)(void *ctx, uint8_t vector);
	/** Optional. The guest did something the architecture answers quietly;
	 *  for logging. The answer has already been given. */
	void (*guest_error)(void *ctx, enum virq_guest_error code);
	/** Optional. The guest's TSC now (host TSC scaled and offset as the
	 *  guest sees it, TSC_ADJUST included), for TSC-deadline mode.
	 *  NULL: now_ns() converted at tsc_khz, i.e. a guest TSC of 0 at host
	 *  time 0. */
	uint64_t (*guest_tsc)(void *ctx);
	/** Optional. The APIC ID, LDR, DFR or mode changed (routing maps must
	 *  be refreshed, e.g. virq_vm_update_vcpu()). Owner thread. */
	void (*dest_changed)(void *ctx);
};

/** @brief The first published size of struct virq_lapic_ops: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_LAPIC_OPS_SIZE_MIN 80U

/**
 * @brief Static configuration of one LAPIC. Zero means "default" where noted.
 */
struct virq_lapic_config {
	/** sizeof(struct virq_lapic_config) as the caller was built: first, checked by
	 *  virq_lapic_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint32_t apic_id; /**< Initial (x2)APIC ID; must be < 0xFFFFFFFF; > 0xFF requires x2apic. */
	bool bsp;         /**< Bootstrap processor (IA32_APIC_BASE bit 8). */
	bool x2apic;      /**< x2APIC capable (CPUID.01H:ECX[21]). */
	bool tsc_deadline;      /**< TSC-deadline timer (CPUID.01H:ECX[24]). */
	bool directed_eoi;      /**< Advertise EOI-broadcast suppression (Version[24]). */
	bool xapic_id_writable; /**< Let the guest write the xAPIC ID (model-specific). */
	uint8_t version;        /**< Version[7:0], 0x10-0x15; 0 = 0x14. */
	uint8_t max_lvt;        /**< Max LVT entry: 5 (no CMCI) or 6 (CMCI); 0 = 6. */
	uint8_t phys_addr_bits; /**< MAXPHYADDR, 36-52, for IA32_APIC_BASE; 0 = 36. */
	uint32_t timer_tick_ps; /**< Timer input clock period in ps (before divide), 1-1000000; 0 = 1000 (1 GHz). */
	uint32_t tsc_khz; /**< Guest TSC frequency in kHz; required (non-zero) with tsc_deadline. */
	/** Shortest interval between two expiries of a periodic timer, in ns,
	 *  1-::VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX; 0 = ::VIRQ_LAPIC_TIMER_MIN_PERIOD_DEFAULT.
	 *  See virq_lapic_timer_expired(); 1 disables the floor. */
	uint32_t timer_min_period_ns;
};

/** @brief The first published size of struct virq_lapic_config: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_LAPIC_CONFIG_SIZE_MIN 28U

/**
 * @brief Default floor of the periodic timer: 200 us, the default of KVM's
 *        `min_timer_period_us` (5 kHz at most).
 *
 * A guest may program a periodic timer of 1 ns (divide by 1, count 1); each
 * expiry costs the host a timer interrupt and a guest entry, so every
 * hypervisor bounds it. The floor changes only how often the interrupt is
 * raised, never what Current Count reads: see virq_lapic_timer_expired().
 */
#define VIRQ_LAPIC_TIMER_MIN_PERIOD_DEFAULT 200000U
/** @brief Largest configurable periodic-timer floor (1 s). */
#define VIRQ_LAPIC_TIMER_MIN_PERIOD_MAX 1000000000U

/**
 * @brief One virtual local APIC. Allocated by the caller, 64-byte aligned;
 *        fields are private (use the API).
 */
struct VIRQ_ALIGNED(64) virq_lapic {
	/** Posted requests: a VT-x posted-interrupt descriptor. First, so it is
	 *  64-byte aligned; its place and the posting protocol are ABI, since
	 *  virq_lapic_post_edge() posts into it inline. */
	struct virq_pi_desc pi;
	/** @privatesection */
	uint64_t post_level[4]; /* any thread: posted level-triggered vectors */
	uint32_t posted_events; /* any thread: VIRQ_LAPIC_EV_* */
	uint32_t posted_sipi;   /* any thread: last posted SIPI vector */
	uint32_t lint;          /* any thread: LINT levels and edge latches */
	uint32_t local_events;  /* owner: events raised locally (LVT NMI, ...) */

	uint32_t *page;
	const struct virq_lapic_ops *ops;
	void *ctx;
	struct virq_lapic_config cfg;
	uint32_t hw_snap_valid; /* owner: hw_snap taken and not consumed yet (here: fills
				   the 4 bytes cfg.size took, the object stays 320) */
	uint64_t apic_base;
	uint64_t tsc_deadline;      /* IA32_TSC_DEADLINE as the guest wrote it */
	uint64_t timer_deadline_ns; /* next host expiry when timer_armed */
	uint64_t timer_period_ns;   /* one-shot/periodic: TMICT * divisor * tick */
	uint32_t esr_pending;       /* errors latched since the last ESR write */
	int16_t isrv;               /* highest ISR vector or -1; always exact */
	int16_t irrv;               /* highest IRR vector or -1; always exact */
	uint8_t mp_state;
	bool timer_armed;
	bool in_error;         /* LVT Error delivery in progress (no recursion) */
	bool active;           /* globally and software enabled; always exact */
	uint8_t irr_sum;       /* bit i: IRR register i (vectors 32i..32i+31) not 0; exact */
	uint8_t reserved0;     /* 0 */
	uint8_t tmr_sum;       /* same for TMR */
	uint8_t dest_depth;    /* nesting of dest_begin/dest_end (owner) */
	uint32_t dest_seq;     /* odd while ID/LDR/DFR/mode change (match_dest) */
	uint8_t lint_vec[2];   /* vector LINTp delivered, while its Remote IRR is set */
	uint8_t lint_rirr;     /* bit p: LVT LINTp Remote IRR set; exact */
	uint8_t accel;         /* enum virq_lapic_accel (owner) */
	uint32_t eoi_exit_gen; /* owner: bumped at every change of eoi_exit */
	uint8_t isr_count;     /* owner: ISR bits set (at most 240); exact */
	uint64_t eoi_exit[4];  /* owner: EOI-exit bitmap; always exact */
	uint32_t hw_snap[14];  /* owner: trap-written registers at virq_lapic_hw_enter() */
};

/**
 * @brief Initialises @p lapic at power-up (RESET) state.
 *
 * @param lapic  The object, 64-byte aligned.
 * @param page   The register page: ::VIRQ_LAPIC_PAGE_SIZE bytes, 4 KiB aligned.
 * @param cfg    Configuration (copied).
 * @param ops    Callbacks; the table must outlive the LAPIC (not copied).
 * @param ctx    Passed to every callback.
 * @return 0; -::VIRQ_EVERSION for a `size` of @p cfg or @p ops outside
 *         ::VIRQ_LAPIC_CONFIG_SIZE_MIN / ::VIRQ_LAPIC_OPS_SIZE_MIN to the
 *         library's sizeof; -::VIRQ_EINVAL for a NULL argument, a missing
 *         required hook, a non-zero ops->reserved or an out-of-range config
 *         field; -::VIRQ_EALIGN for a misaligned
 *         @p lapic or @p page; -::VIRQ_ENOTSUP for an APIC ID above 0xFF
 *         without x2APIC. On error @p lapic is not touched.
 * @note Before the LAPIC is shared with other threads.
 */
VIRQ_API int virq_lapic_init(struct virq_lapic *lapic, void *page,
			     const struct virq_lapic_config *cfg, const struct virq_lapic_ops *ops,
			     void *ctx);

/**
 * @brief RESET: power-up state, xAPIC mode, IA32_APIC_BASE at its reset value.
 * Pending posts and events are discarded; the host timer is cancelled.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @note Owner thread, with no concurrent posters (quiesce the VM first).
 */
VIRQ_API void virq_lapic_reset(struct virq_lapic *lapic);

/**
 * @brief Guest read of the xAPIC MMIO page.
 *
 * An access of 1, 2 or 4 bytes that stays inside bytes 0-3 of a register
 * returns those bytes of the register. Any other size or alignment (8 bytes,
 * bytes 4-15 of a slot) reads 0 (undefined in the SDM). Reserved offsets
 * read 0 and latch ESR bit 7. A globally disabled APIC, or one in x2APIC
 * mode, does not decode the page: reads return all ones.
 *
 * @param lapic   The LAPIC.
 * @param offset  Byte offset in the page, 0-0xFFF.
 * @param size    1, 2, 4 or 8.
 * @param val     Receives the value (zero-extended).
 * @return 0, or -::VIRQ_EINVAL for an offset/size outside the page or a NULL @p val.
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_mmio_read(struct virq_lapic *lapic, uint32_t offset, unsigned size,
				  uint64_t *val);

/**
 * @brief Guest write to the xAPIC MMIO page.
 *
 * Only aligned 4-byte writes to offset 0 of a 16-byte slot take effect
 * (other sizes are dropped and reported as ::VIRQ_GERR_MMIO_SIZE). Writes
 * keep only the register's writable bits; read-only registers ignore writes;
 * reserved offsets latch ESR bit 7. Writes while the page is not decoded
 * (disabled or x2APIC mode) are dropped.
 *
 * @param lapic  The LAPIC (initialised; not NULL, not checked).
 * @param offset Byte offset in the page, 0-0xFFF.
 * @param size   Access size in bytes, 1, 2, 4 or 8 (only 4 takes effect).
 * @param val    The value written; bits above @p size bytes are ignored.
 * @return 0, or -::VIRQ_EINVAL for an offset/size outside the page.
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_mmio_write(struct virq_lapic *lapic, uint32_t offset, unsigned size,
				   uint64_t val);

/**
 * @brief Guest RDMSR of an APIC MSR: IA32_APIC_BASE, IA32_TSC_DEADLINE or
 *        0x800-0xBFF.
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @param msr   The MSR number (ECX of the RDMSR).
 * @param val   Receives the 64-bit value (EDX:EAX) on 0; untouched
 *              otherwise. Not NULL.
 * @return 0 with *@p val set; ::VIRQ_GP when the architecture answers \#GP
 *         (x2APIC MSR outside x2APIC mode, non-existent or write-only
 *         register, TSC deadline not supported); -::VIRQ_ENOENT when @p msr
 *         is not an APIC MSR; -::VIRQ_EINVAL for a NULL @p val.
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_msr_read(struct virq_lapic *lapic, uint32_t msr, uint64_t *val);

/**
 * @brief Guest WRMSR of an APIC MSR: IA32_APIC_BASE, IA32_TSC_DEADLINE or
 *        0x800-0xBFF.
 *
 * x2APIC registers follow the SDM's x2APIC register address map table: reserved bits set, read-only
 * registers, non-existent registers, non-zero EOI/ESR writes → \#GP; the
 * 64-bit ICR sends in one write; SELF IPI is write-only.
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @param msr   The MSR number (ECX of the WRMSR).
 * @param val   The 64-bit value (EDX:EAX); in x2APIC mode only the ICR
 *              uses bits 63:32, other registers fault when they are set.
 * @return 0; ::VIRQ_GP when the write faults (state unchanged);
 *         -::VIRQ_ENOENT when @p msr is not an APIC MSR.
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_msr_write(struct virq_lapic *lapic, uint32_t msr, uint64_t val);

/**
 * @brief Writes IA32_APIC_BASE (also reached through virq_lapic_msr_write()).
 *
 * Applies the SDM's transition table ("x2APIC State Transitions"):
 * disabled→xAPIC, xAPIC→x2APIC, xAPIC/x2APIC→disabled are legal;
 * x2APIC→xAPIC, disabled→x2APIC and EN=0/EXTD=1 fault. Reserved bits, EXTD
 * without x2APIC support and base bits at or above MAXPHYADDR fault. BSP is
 * read-only (a differing value is ignored). Entering x2APIC derives the LDR
 * from the ID and clears ICR high; leaving the disabled state resets the
 * register file.
 *
 * @param lapic           The LAPIC.
 * @param val             New value.
 * @param host_initiated  true for a VMM write (restore, reset): the
 *                        transition table is not enforced, reserved bits are.
 * @return 0, or ::VIRQ_GP (state unchanged).
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_set_apic_base(struct virq_lapic *lapic, uint64_t val, bool host_initiated);

/**
 * @brief Current IA32_APIC_BASE.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return The MSR value: base address (bits 35:12), EN (bit 11), EXTD
 *         (bit 10), BSP (bit 8).
 * @note Owner thread.
 */
VIRQ_API uint64_t virq_lapic_get_apic_base(const struct virq_lapic *lapic);

/**
 * @brief Current mode (::virq_lapic_mode).
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return Disabled, xAPIC or x2APIC, from IA32_APIC_BASE.EN and EXTD.
 * @note Owner thread.
 */
VIRQ_API enum virq_lapic_mode virq_lapic_get_mode(const struct virq_lapic *lapic);

/**
 * @brief The APIC ID: 32-bit x2APIC ID in x2APIC mode, ID[31:24] in xAPIC mode.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return The ID as the guest sees it in the current mode.
 * @note Owner thread.
 */
VIRQ_API uint32_t virq_lapic_get_id(const struct virq_lapic *lapic);

/**
 * @brief Guest MOV from CR8: TPR[7:4].
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return TPR bits 7:4, 0-15.
 * @note Owner thread.
 */
VIRQ_API uint64_t virq_lapic_get_cr8(const struct virq_lapic *lapic);

/**
 * @brief Guest MOV to CR8: TPR = (val & 0xF) << 4.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @param val   The 64-bit source operand of the guest's MOV to CR8; only
 *              bits 3:0 may be set.
 * @return 0, or ::VIRQ_GP when bits 63:4 are set (TPR unchanged).
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_set_cr8(struct virq_lapic *lapic, uint64_t val);

/**
 * @brief Posts a fixed interrupt.
 *
 * Sets the vector in the posted-interrupt descriptor and kicks the owner if
 * no notification was outstanding. The owner accepts it into IRR (with TMR
 * from @p trigger_level) at its next virq_lapic_sync(); acceptance applies
 * the architecture: vectors 0-15 are dropped with ESR bit 6, a software- or
 * globally-disabled APIC drops it, an IRR bit already set merges it.
 *
 * @param lapic          Target LAPIC.
 * @param vector         Vector.
 * @param trigger_level  true for a level-triggered interrupt (sets TMR).
 * @note Any thread, lock-free. An edge-triggered post that finds a
 *       notification outstanding issues exactly one locked instruction.
 */
VIRQ_API void virq_lapic_post(struct virq_lapic *lapic, uint8_t vector, bool trigger_level);

/**
 * @brief Calls the owner's `kick` hook, as a post that turned ON from 0 to
 *        1 does.
 *
 * The out-of-line half of virq_lapic_post_edge(). Called on its own it
 * only costs the owner a spurious wake-up.
 *
 * @param lapic Target LAPIC.
 * @note Any thread.
 */
VIRQ_API void virq_lapic_kick(struct virq_lapic *lapic);

/**
 * @brief virq_lapic_post(@p lapic, @p vector, false), inline: posts an
 *        edge-triggered fixed interrupt without a call.
 *
 * The same effect and ordering as virq_lapic_post() for an edge vector:
 * virq_pi_post_inline() on the descriptor at the start of the object
 * (which the ABI fixes: see struct virq_lapic), then virq_lapic_kick()
 * when that post turned ON from 0 to 1. For the poster's hot path (an MSI
 * or an IPI to a vCPU); nothing else of struct virq_lapic is read.
 *
 * @param lapic  Target LAPIC.
 * @param vector Vector (0-15 are dropped at acceptance with ESR bit 6).
 * @note Any thread, lock-free. Finding a notification outstanding costs
 *       exactly one locked instruction.
 */
static inline void virq_lapic_post_edge(struct virq_lapic *lapic, uint8_t vector)
{
	if (virq_pi_post_inline(&lapic->pi, vector, false))
		virq_lapic_kick(lapic);
}

/**
 * @brief Posts a fixed interrupt if @p lapic accepts a message with
 *        physical destination @p dest: a router's three calls in one.
 *
 * The same as virq_lapic_match_dest(@p lapic, @p dest, false), then
 * virq_lapic_accepts_fixed(@p lapic), then virq_lapic_post() when both
 * hold, with one snapshot of the ID and mode.
 *
 * @param lapic         Target LAPIC (initialised; not NULL, not checked).
 * @param dest          Physical destination: 32 bits in x2APIC mode (0xFFFFFFFF
 *                      broadcast), the low 8 bits in xAPIC mode (0xFF broadcast).
 * @param vector        Vector (0-15 are dropped at acceptance with ESR bit 6).
 * @param trigger_level True for a level-triggered interrupt (TMR set on
 *                      acceptance, EOI broadcast to the level source).
 * @return true when posted; false, nothing posted, when the destination
 *         does not match or the LAPIC does not accept fixed interrupts.
 * @note Any thread, lock-free, as virq_lapic_post().
 */
VIRQ_API bool virq_lapic_post_phys(struct virq_lapic *lapic, uint32_t dest, uint8_t vector,
				   bool trigger_level);

/**
 * @brief Posts a routed message whose destination already matched this APIC.
 *
 * Fixed and lowest priority go through virq_lapic_post(); NMI, SMI, INIT,
 * SIPI and ExtINT become pending events (virq_lapic_take_events()). NMIs
 * are counted up to ::VIRQ_LAPIC_MAX_NMI, so two that race (from two
 * threads, or before the owner takes the first) are both delivered; the
 * other events merge. An INIT level de-assert message and reserved
 * delivery modes are ignored.
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @param msg   The decoded message (delivery mode, vector, trigger, level);
 *              not NULL, read during the call only.
 * @note Any thread, lock-free. An NMI post issues one locked instruction
 *       (a compare-exchange), one more each time a concurrent change of
 *       the event word makes it fail, and none when it finds two NMIs
 *       pending (the meta test post_locks counts them).
 */
VIRQ_API void virq_lapic_post_msg(struct virq_lapic *lapic, const struct virq_apic_msg *msg);

/**
 * @brief Drives the electrical level of input pin LINT0 (@p pin 0) or LINT1 (1).
 *
 * The owner applies the pin to its LVT at the next sync: Fixed edge on the
 * asserting edge, Fixed level while asserted with Remote IRR clear
 * (Remote IRR set on acceptance, cleared by its EOI), NMI/SMI/INIT on the
 * asserting edge, ExtINT while asserted. LVT polarity decides which level
 * asserts. A globally disabled APIC passes LINT0 through as INTR (ExtINT)
 * and LINT1 as NMI.
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @param pin   0 for LINT0, 1 for LINT1.
 * @param level The electrical level, true = high (before LVT polarity).
 * @return 0, or -::VIRQ_EINVAL for a pin other than 0 or 1.
 * @note Any thread, lock-free.
 */
VIRQ_API int virq_lapic_set_lint(struct virq_lapic *lapic, unsigned pin, bool level);

/**
 * @brief Folds posted requests into IRR and applies pending LINT changes.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return true when anything new was accepted into IRR.
 * @note Owner thread. Every evaluating call below syncs first.
 */
VIRQ_API bool virq_lapic_sync(struct virq_lapic *lapic);

/**
 * @brief The highest vector the APIC would deliver now.
 *
 * A vector is deliverable when it is the highest in IRR and its priority
 * class is above the PPR class (SDM "Task and Processor Priorities"). Syncs first. Vectors that
 * were in IRR when the APIC was software-disabled are held there and still
 * delivered (SDM "Local APIC State After It Has Been Software Disabled": the
 * CPU must mask or handle them); a globally
 * disabled APIC delivers nothing.
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return The vector (16-255), or ::VIRQ_LAPIC_NO_VECTOR.
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_pending(struct virq_lapic *lapic);

/**
 * @brief Acknowledges the highest deliverable vector: IRR → ISR, PPR updated.
 *
 * Call when the vector is actually injected into the guest (the INTA
 * cycle). Evaluation and acknowledge are one step, so the spurious vector
 * never needs to be synthesised.
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return The vector moved to ISR, or ::VIRQ_LAPIC_NO_VECTOR.
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_ack(struct virq_lapic *lapic);

/**
 * @brief EOI, as a guest write to the EOI register.
 *
 * Retires the highest ISR vector. If its TMR bit is set and SVR[12] does not
 * suppress the broadcast, calls `ops->eoi_level`. Clears the Remote IRR of a
 * level LINT entry with that vector. A spurious EOI (ISR empty) does nothing.
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @note Owner thread.
 */
VIRQ_API void virq_lapic_eoi(struct virq_lapic *lapic);

/**
 * @brief Takes the pending NMI/SMI/INIT/SIPI/ExtINT events.
 *
 * NMIs are counted (virq_lapic_events::nmi_count, at most
 * ::VIRQ_LAPIC_MAX_NMI), whether posted from other threads
 * (virq_lapic_post_msg()) or raised here (LVT entries with NMI delivery,
 * LINT1); the other events are flags, several arrivals being one.
 *
 * INIT is applied here (the LAPIC resets as the SDM's "Local APIC State
 * After an INIT Reset" says and an AP enters wait-for-SIPI), then a
 * start-up IPI is accepted only in wait-for-SIPI (others are dropped).
 * Events are dropped while the APIC is globally disabled, except the LINT
 * pass-through.
 *
 * @param lapic  The LAPIC.
 * @param out    Receives the events; flags 0 when none.
 * @return out->flags.
 * @note Owner thread.
 */
VIRQ_API uint32_t virq_lapic_take_events(struct virq_lapic *lapic, struct virq_lapic_events *out);

/**
 * @brief Whether this LAPIC has a reason to wake its vCPU from HLT: a
 *        deliverable vector or a pending event. Syncs first.
 *
 * For an embedder that runs the LAPIC without the vCPU policy. With the
 * policy, wait on virq_vcpu_wakes() instead: events the policy already
 * took out of the LAPIC (a held NMI) are not seen here, and RFLAGS.IF is
 * not applied.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return true when virq_lapic_pending() would return a vector or an event
 *         is pending.
 * @note Owner thread.
 */
VIRQ_API bool virq_lapic_has_work(struct virq_lapic *lapic);

/** @brief LVT entries whose interrupt the embedder raises (the sources it models). */
enum virq_lapic_lvt {
	VIRQ_LAPIC_LVT_CMCI = 0,    /**< Corrected machine-check error (needs max_lvt 6). */
	VIRQ_LAPIC_LVT_THERMAL = 1, /**< Thermal sensor. */
	VIRQ_LAPIC_LVT_PMC = 2      /**< Performance-monitoring counter overflow (PMI). */
};

/**
 * @brief Raises the interrupt of an LVT entry the embedder models.
 *
 * Delivered per the entry's delivery mode (Fixed, NMI or SMI); dropped when
 * the entry is masked. A delivered PMI sets the PMC entry's mask bit, as P4
 * and later processors do.
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @param which The entry: ::VIRQ_LAPIC_LVT_CMCI, ::VIRQ_LAPIC_LVT_THERMAL or
 *              ::VIRQ_LAPIC_LVT_PMC.
 * @return 0; -::VIRQ_ENOTSUP for CMCI when the APIC has no CMCI entry;
 *         -::VIRQ_EINVAL for an unknown @p which.
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_deliver_lvt(struct virq_lapic *lapic, enum virq_lapic_lvt which);

/**
 * @brief Current ::virq_lapic_mp_state.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return ::VIRQ_LAPIC_MP_RUNNABLE, or ::VIRQ_LAPIC_MP_WAIT_SIPI for an AP
 *         between INIT and its start-up IPI.
 * @note Owner thread.
 */
VIRQ_API enum virq_lapic_mp_state virq_lapic_get_mp_state(const struct virq_lapic *lapic);

/**
 * @brief The host timer armed through `ops->timer_arm` has fired.
 *
 * Delivers the LVT Timer interrupt if the deadline has passed (an early call
 * re-arms), reloads a periodic timer without drift (a long pause yields one
 * expiry and the next deadline in the future), disarms one-shot and
 * TSC-deadline timers (IA32_TSC_DEADLINE then reads 0).
 *
 * A TSC deadline is converted to `now_ns` time when it is armed; it is due
 * when that time passes, or earlier when `guest_tsc` already reached it. The
 * guest TSC is not required to agree at the host deadline: a guest TSC that
 * stands still while the vCPU is out of the guest (KVM on a host with an
 * unstable TSC) would otherwise hold the timer for ever.
 *
 * Periodic timers faster than virq_lapic_config::timer_min_period_ns: the
 * count runs at its architectural rate (Current Count reads exactly what it
 * would without the floor, reloading every TMICT ticks), but the interrupt
 * is raised only at every k-th reload, k being the smallest number of
 * periods that spans the floor. Each interrupt therefore coincides with a
 * reload, as if the guest had been descheduled for the reloads in between.
 * The first expiry after a write of Initial Count or Divide Configuration
 * obeys the floor too. One-shot and TSC-deadline timers have no floor: each
 * re-arm costs the guest an exit of its own.
 *
 * A guest write of LVT Timer that switches between one-shot and periodic
 * keeps the count going, as processors do (SDM "TSC-Deadline Mode" says any mode
 * change disarms; KVM follows the hardware): the current count continues
 * and the new mode applies when it reaches 0 (periodic then reloads,
 * one-shot stops). A periodic timer switched to one-shot therefore
 * expires at its next 0, before a floored deadline. Only a switch to or
 * from TSC-deadline mode disarms the timer (Initial Count and the
 * deadline then read 0).
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @note Owner thread.
 */
VIRQ_API void virq_lapic_timer_expired(struct virq_lapic *lapic);

/**
 * @brief Whether this APIC accepts destination @p dest in the given mode.
 *
 * Physical: @p dest equals the APIC ID, or is the broadcast ID (0xFF in
 * xAPIC mode, 0xFFFFFFFF in x2APIC mode). Logical: flat or cluster per DFR
 * in xAPIC mode, cluster/bitmap per the derived LDR in x2APIC mode,
 * broadcast as above. An xAPIC-mode APIC looks only at the low 8 bits of
 * @p dest (hardware aliasing). A globally disabled APIC accepts nothing.
 *
 * @param lapic   The LAPIC (initialised; not NULL, not checked).
 * @param dest    The destination field: 8 bits in xAPIC format, 32 in x2APIC
 *                format (0xFF / 0xFFFFFFFF broadcast).
 * @param logical true for logical destination mode, false for physical.
 * @return true when the APIC is a destination of the message.
 * @note Any thread (reads a snapshot of ID, LDR and DFR); exact on the owner.
 */
VIRQ_API bool virq_lapic_match_dest(const struct virq_lapic *lapic, uint32_t dest, bool logical);

/**
 * @brief PPR snapshot, for lowest-priority arbitration by a router.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return PPR, 0x00-0xFF (bits 7:4 the processor-priority class).
 * @note Any thread (an untorn read; exact on the owner).
 */
VIRQ_API uint32_t virq_lapic_get_ppr(const struct virq_lapic *lapic);

/**
 * @brief Whether the APIC accepts fixed and lowest-priority interrupts now
 *        (globally and software enabled). A snapshot, for routing.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return true when IA32_APIC_BASE.EN and SVR bit 8 are both set.
 * @note Any thread.
 */
VIRQ_API bool virq_lapic_accepts_fixed(const struct virq_lapic *lapic);

/**
 * @brief The 32-bit register at xAPIC page @p offset, as the page holds it:
 *        no side effect, no mode check (the x2APIC MSR 0x800 + offset / 16
 *        reads the same register). For diagnostics and statistics (an LVT
 *        entry, TPR, a word of IRR or ISR).
 * @param lapic  The LAPIC.
 * @param offset Byte offset, 16-byte aligned, below 0x1000.
 * @return The register, or 0 for a bad offset or a NULL @p lapic.
 * @note Owner thread; another thread gets an untorn but unsynchronised
 *       snapshot (good enough for a hang report).
 */
VIRQ_API uint32_t virq_lapic_read_reg(const struct virq_lapic *lapic, uint32_t offset);

/**
 * @brief Whether the highest requested vector is held back by the TPR alone:
 *        its priority class is above the in-service class but not above
 *        the TPR's (SDM "Task and Processor Priorities"). A lower TPR would release it; a backend
 *        that cannot see every TPR decrease (a MOV to CR8 that does not
 *        exit) polls while this holds. Syncs first.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return true when the highest IRR vector waits for the TPR alone; false
 *         when IRR is empty, the vector is deliverable now, or ISR blocks it.
 * @note Owner thread.
 */
VIRQ_API bool virq_lapic_tpr_blocked(struct virq_lapic *lapic);

/**
 * @brief Whether other threads posted work that the owner has not taken
 *        yet: vectors not folded into IRR (virq_lapic_sync()), events not
 *        taken (virq_lapic_take_events()).
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return true when a vector or event posted by another thread (or LINT
 *         change) waits for the owner; may be stale the moment it returns.
 * @note Any thread (a snapshot).
 */
VIRQ_API bool virq_lapic_has_posted(const struct virq_lapic *lapic);

/**
 * @brief Whether other threads posted work besides edge-triggered vectors:
 *        level-triggered vectors, NMI, SMI, INIT, SIPI, ExtINT or LINT
 *        changes that the owner has not taken yet.
 *
 * A CPU's posted-interrupt processing moves only the descriptor's PIR into
 * VIRR; this work needs the owner (a VM exit with VT-x posted interrupts).
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return true when such work waits; may be stale the moment it returns.
 * @note Any thread (a snapshot, sequentially consistent).
 */
VIRQ_API bool virq_lapic_has_posted_events(const struct virq_lapic *lapic);

/**
 * @brief How much of the register page a CPU reads and writes itself while
 *        the guest runs (VT-x; SDM Vol. 3C, "APIC Virtualization and
 *        Virtual Interrupts"). Set with virq_lapic_set_accel().
 *
 * The register page is the virtual-APIC page. Whatever the mode, the
 * library keeps it and its caches exact at every return; what the mode
 * says is which fields the CPU may change behind the library's back
 * between two calls, so the embedder calls virq_lapic_hw_sync() (or
 * virq_lapic_hw_eoi()) after each VM exit, before any other call.
 * Everything else on the page (ID, LDR, DFR, SVR, LVTs, TMR, ESR, timer)
 * the CPU only reads, or writes only on an exit the embedder emulates
 * through this API.
 *
 * - ::VIRQ_LAPIC_ACCEL_NONE: the CPU writes nothing. The embedder injects
 *   what virq_lapic_ack() returns.
 * - ::VIRQ_LAPIC_ACCEL_TPR_SHADOW: the CPU writes VTPR (0x80): MOV to CR8,
 *   and xAPIC writes of TPR under "virtualize APIC accesses". The embedder
 *   injects virq_lapic_ack() and programs the TPR threshold with
 *   virq_lapic_tpr_threshold() before each entry.
 * - ::VIRQ_LAPIC_ACCEL_APICV: the CPU writes VTPR, VPPR (0xA0), VEOI
 *   (0xB0), VISR (0x100-0x170), VIRR (0x200-0x270), and VICR low and high
 *   (0x300, 0x310: the guest's xAPIC ICR writes, stored before self-IPI
 *   virtualization or an APIC-write exit). The embedder programs the
 *   guest interrupt status, virq_lapic_rvi() | virq_lapic_svi() << 8, and
 *   the EOI-exit bitmap (virq_lapic_eoi_exit_bitmap()) whenever
 *   virq_lapic_eoi_exit_gen() moved, before each entry; it injects no
 *   fixed vector.
 *
 * APICv here is TPR shadow plus virtual-interrupt delivery (the CPU moves
 * the highest VIRR vector above VPPR into VISR, retires VISR bits on
 * EOI virtualization and exits for the vectors of the EOI-exit bitmap),
 * optionally with posted-interrupt processing of virq_lapic::pi (the CPU
 * moves PIR into VIRR). IPI virtualization is not covered: it keeps the
 * x2APIC ICR as one 64-bit word at 0x300, where this page keeps ICR high
 * at 0x310.
 */
enum virq_lapic_accel {
	VIRQ_LAPIC_ACCEL_NONE = 0,       /**< Software only (the default). */
	VIRQ_LAPIC_ACCEL_TPR_SHADOW = 1, /**< VMX "use TPR shadow": the CPU owns VTPR and CR8. */
	VIRQ_LAPIC_ACCEL_APICV = 2       /**< TPR shadow + virtual-interrupt delivery. */
};

/**
 * @brief Chooses which fields the CPU owns (::virq_lapic_accel).
 *
 * Leaving an accelerated mode first re-synchronises from the page
 * (virq_lapic_hw_sync() under the old mode), so the CPU's last writes are
 * kept. The mode is a property of the host, not of the guest: RESET, INIT
 * and virq_lapic_restore() keep it and the saved state does not hold it.
 *
 * @param lapic  The LAPIC.
 * @param accel  The new mode.
 * @return 0, or -::VIRQ_EINVAL for an unknown @p accel (mode unchanged).
 * @note Owner thread, while the guest does not run.
 */
VIRQ_API int virq_lapic_set_accel(struct virq_lapic *lapic, enum virq_lapic_accel accel);

/**
 * @brief The current ::virq_lapic_accel.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return The mode set by virq_lapic_set_accel(); ::VIRQ_LAPIC_ACCEL_NONE
 *         after virq_lapic_init().
 * @note Owner thread.
 */
VIRQ_API enum virq_lapic_accel virq_lapic_get_accel(const struct virq_lapic *lapic);

/**
 * @brief Re-synchronises the LAPIC with a page the CPU wrote.
 *
 * Call after every VM exit of a guest that ran with an accelerated mode,
 * before any other call on this LAPIC. Takes the page as the CPU left it:
 * a new TPR (CR8), vectors moved from IRR to ISR by virtual-interrupt
 * delivery, ISR bits retired by EOI virtualization, IRR bits set by
 * self-IPI virtualization or posted-interrupt processing. It validates
 * before it believes: the fields the CPU may write keep only their
 * architectural bits (TPR[7:0]; no IRR or ISR vector below 16; bytes 4-15
 * of those slots, VEOI and the reserved ICR bits zero; IRR and ISR empty
 * while globally disabled), PPR is recomputed from TPR and ISR whatever
 * VPPR says, and every cached summary is rebuilt, so an odd page cannot
 * break an invariant.
 *
 * An EOI needs side effects only for the vectors of the EOI-exit bitmap,
 * and the CPU exits for those (use virq_lapic_hw_eoi()). A LINT entry
 * whose delivered vector is gone from IRR and ISR was retired without an
 * exit (a bitmap the embedder did not reload): that EOI's effects run
 * here, late. A level EOI of an I/O APIC vector retired that way cannot be
 * seen and is lost; loading the bitmap whenever virq_lapic_eoi_exit_gen()
 * moves prevents it.
 *
 * The CPU does not write TMR: a vector it accepts itself (self IPI, posted
 * interrupt) keeps the trigger mode of its last acceptance by the library,
 * where an APIC would record edge. Its EOI may then be broadcast to the
 * I/O APICs as if it were level-triggered, as when an edge and a level
 * source share a vector.
 *
 * With ::VIRQ_LAPIC_ACCEL_APICV and a record of virq_lapic_hw_enter(), a
 * register APIC-register virtualization let the guest write whose page
 * value differs from the record (an APIC write whose exit never came: the
 * SDM lets an intervening VM exit cancel it) gets its side effects here,
 * as virq_lapic_hw_write() gives them; an ICR low the CPU could have
 * handled as a virtualized self IPI is kept without sending again.
 *
 * With ::VIRQ_LAPIC_ACCEL_NONE it does nothing (the CPU wrote nothing).
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @note Owner thread.
 */
VIRQ_API void virq_lapic_hw_sync(struct virq_lapic *lapic);

/**
 * @brief EOI-induced VM exit (basic exit reason 45): the CPU retired
 *        @p vector from VISR, which is in the EOI-exit bitmap; run its side
 *        effects.
 *
 * Re-synchronises first (what virq_lapic_hw_sync() does in an
 * accelerated mode, whatever the mode), then does what
 * virq_lapic_eoi() does after it clears the ISR bit: the EOI broadcast of
 * a level-triggered vector (TMR set, SVR[12] clear) through
 * `ops->eoi_level`, and the Remote IRR of a level LINT entry that
 * delivered @p vector (a pin still asserted delivers again). ISR is left
 * as the CPU wrote it. Vectors 0-15 have no side effect.
 *
 * @param lapic   The LAPIC.
 * @param vector  Exit qualification bits 7:0.
 * @note Owner thread.
 */
VIRQ_API void virq_lapic_hw_eoi(struct virq_lapic *lapic, uint8_t vector);

/**
 * @brief Right before a VM entry with ::VIRQ_LAPIC_ACCEL_APICV: records the
 *        registers APIC-register virtualization lets the guest write.
 *
 * With APIC-register virtualization the CPU stores a guest's xAPIC write
 * of ID, LDR, DFR, SVR, ESR, ICR low, an LVT entry (timer, thermal,
 * performance counter, LINT0, LINT1, error), initial count or divide
 * configuration in the page, then exits ("APIC write", trap-like) so the
 * write's side effects can run; the register's previous value is gone
 * from the page by then, and several side effects depend on it (a timer
 * mode change, the software-disable transition of SVR, a LINT entry's
 * Remote IRR, the timer's count at a new divisor). This call keeps those
 * registers; virq_lapic_hw_write() and virq_lapic_hw_sync() use the copy
 * once, at the next exit. The last call before each entry, after every
 * other call on this LAPIC. Does nothing in the other modes.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @note Owner thread.
 */
VIRQ_API void virq_lapic_hw_enter(struct virq_lapic *lapic);

/**
 * @brief APIC-write VM exit (basic exit reason 56): the CPU stored a guest
 *        write at page @p offset; run the write's side effects.
 *
 * Re-synchronises first (as virq_lapic_hw_sync()), then performs the write
 * of the value the page now holds exactly as virq_lapic_mmio_write() would
 * have, against the register's value recorded by virq_lapic_hw_enter():
 * only the writable bits are kept, a write the register ignores (ID when
 * not writable, any write outside xAPIC mode) leaves it as it was, an ICR
 * low write sends the IPI, an LVT or SVR write makes its transitions
 * (LVT CMCI, 0x2F0, too: it has no record, and needs none). In
 * x2APIC mode, offset 0x3F0 is a WRMSR to SELF IPI with a vector below 16
 * ("virtualize x2APIC mode"): the illegal-vector error is raised; offset
 * 0x300 is a WRMSR to the ICR that IPI virtualization did not take, the
 * 64-bit value at 0x300 (bits 63:32 at 0x304): it is written as
 * virq_lapic_msr_write() of MSR 0x830 would (reserved bits: dropped). An
 * x2APIC ICR value found in the page without that exit was sent by the
 * CPU itself and is only kept as the ICR's value. Offsets
 * 0x080 (TPR, virtualized) and 0x310 (ICR high, stored only) need nothing
 * beyond the resync, and neither does any offset no write reaches.
 *
 * Without a record (no virq_lapic_hw_enter() since the last exit) the
 * previous value is taken to be the written one, with the Remote IRR the
 * LAPIC knows and a reserved timer mode read as one-shot: invariants hold,
 * but a transition may be missed.
 *
 * In any mode the register values the page holds are validated before
 * they are believed, so a hostile page value breaks no invariant.
 *
 * @param lapic   The LAPIC.
 * @param offset  Exit qualification bits 11:0 (the low 4 bits are ignored).
 * @note Owner thread.
 */
VIRQ_API void virq_lapic_hw_write(struct virq_lapic *lapic, uint32_t offset);

/**
 * @brief RVI, the requesting virtual interrupt: the highest vector in IRR,
 *        0 when IRR is empty (SDM Vol. 3C, "Guest Interrupt Status"). Syncs
 *        first, so posted vectors are in IRR.
 *
 * With ::VIRQ_LAPIC_ACCEL_APICV the embedder writes it to the guest
 * interrupt status before every entry: the CPU delivers it when its class
 * is above VPPR's, instead of virq_lapic_ack() and an injection.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return The vector, 16-255, or 0.
 * @note Owner thread.
 */
VIRQ_API uint8_t virq_lapic_rvi(struct virq_lapic *lapic);

/**
 * @brief SVI, the servicing virtual interrupt: the highest vector in ISR,
 *        0 when ISR is empty. Bits 15:8 of the guest interrupt status.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return The vector, 16-255, or 0.
 * @note Owner thread.
 */
VIRQ_API uint8_t virq_lapic_svi(const struct virq_lapic *lapic);

/**
 * @brief The TPR threshold for ::VIRQ_LAPIC_ACCEL_TPR_SHADOW: the CPU exits
 *        ("TPR below threshold") when the guest lowers VTPR[7:4] below it.
 *
 * The class of the highest IRR vector when the TPR alone holds it back
 * (its class is above the ISR class but not above the TPR's:
 * virq_lapic_tpr_blocked()), else 0. The exit then comes exactly when a
 * TPR write makes that vector deliverable: VTPR[7:4] < class means PPR's
 * class is below it. A vector that is deliverable now (the embedder
 * injects it or waits for the window), or that an in-service vector of an
 * equal or higher class blocks (its EOI exits without virtual-interrupt
 * delivery, and the threshold is recomputed after it), gives 0, as does
 * an empty IRR. Never above TPR[7:4], as VM entry requires (SDM Vol. 3C,
 * "TPR Virtualization"). Syncs first.
 *
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return 0-15; 0 with ::VIRQ_LAPIC_ACCEL_APICV (the CPU then evaluates
 *         TPR itself and ignores the field).
 * @note Owner thread.
 */
VIRQ_API uint8_t virq_lapic_tpr_threshold(struct virq_lapic *lapic);

/**
 * @brief The EOI-exit bitmap: the vectors whose EOI has a side effect
 *        outside the APIC, so the CPU must exit on their virtual EOI (bit
 *        v of word v / 64 = vector v, the layout of EOI-exit bitmaps 0-3).
 *
 * Exactly the vectors for which virq_lapic_eoi() would call out: those
 * with TMR set, when `ops->eoi_level` exists and SVR[12] does not
 * suppress the broadcast, and the vector each level LINT entry with
 * Remote IRR set delivered. It is derived from the LAPIC's own state, not
 * from the I/O APIC routes (KVM scans those, because its level interrupts
 * may reach VIRR through a posted-interrupt descriptor the CPU processes):
 * here a level-triggered vector reaches IRR only through the owner's fold
 * (virq_lapic_post() with trigger_level keeps it apart from PIR), which
 * sets TMR, hence the bitmap, before the next entry. An I/O APIC entry
 * reprogrammed changes nothing until its next interrupt is accepted.
 *
 * @param lapic  The LAPIC.
 * @param out    Receives 4 words.
 * @note Owner thread.
 */
VIRQ_API void virq_lapic_eoi_exit_bitmap(const struct virq_lapic *lapic, uint64_t out[4]);

/**
 * @brief Generation of the EOI-exit bitmap: changes whenever the bitmap
 *        changes (a TMR bit, a LINT Remote IRR, SVR[12], reset, restore).
 *
 * A counter the embedder polls, not a hook: the bitmap changes deep inside
 * owner calls (a fold in virq_lapic_sync(), an EOI, an LVT write, a
 * restore), where a callback would re-enter the embedder mid-operation;
 * the VMCS fields can only be written on the owner's CPU before the next
 * entry anyway, and several changes in one exit then cost one reload.
 * Before each entry, compare with the value the loaded bitmap came with;
 * load the bitmap once before the first entry.
 * @param lapic The LAPIC (initialised; not NULL, not checked).
 * @return The generation; it wraps at 2^32, so compare for equality only.
 * @note Owner thread.
 */
VIRQ_API uint32_t virq_lapic_eoi_exit_gen(const struct virq_lapic *lapic);

/**
 * @brief Version of ::virq_lapic_state this library writes.
 *
 * Version 2 gives the former `reserved` word a meaning (lint_vectors);
 * virq_lapic_restore() also reads version 1 states, whose in-service LINT
 * vectors are taken to be the LVT entries' current vectors. Version 3
 * gives bit 8 of `events` a meaning (::VIRQ_LAPIC_STATE_EV_NMI2, a second
 * pending NMI); the layout is that of version 2, and versions 1 and 2 are
 * read with that bit clear.
 */
#define VIRQ_LAPIC_STATE_VERSION 3U

/** @name virq_lapic_state::flags
 * @{ */
#define VIRQ_LAPIC_STATE_TIMER_ARMED (1U << 0) /**< timer_remaining_ns is valid. */
#define VIRQ_LAPIC_STATE_WAIT_SIPI (1U << 1)   /**< mp_state is wait-for-SIPI. */
/** @} */

/**
 * @brief In virq_lapic_state::events (version 3 and later): a second NMI is
 *        pending, beside ::VIRQ_LAPIC_EV_NMI and never without it.
 */
#define VIRQ_LAPIC_STATE_EV_NMI2 (1U << 8)

/**
 * @brief The complete architectural state of a LAPIC, for save/restore and
 *        migration. Plain data, fixed layout, versioned.
 */
struct virq_lapic_state {
	uint32_t version;           /**< ::VIRQ_LAPIC_STATE_VERSION. */
	uint32_t size;              /**< sizeof(struct virq_lapic_state). */
	uint64_t apic_base;         /**< IA32_APIC_BASE. */
	uint64_t tsc_deadline;      /**< IA32_TSC_DEADLINE (guest TSC units), 0 when disarmed. */
	int64_t timer_remaining_ns; /**< ns to the next timer expiry, with TIMER_ARMED; negative
				      when an expiry was due but not yet processed. */
	uint32_t regs[256];   /**< Offsets 0x000-0x3FF of the register page, one u32 per 4 bytes
				   (regs[off / 4]); posted requests are folded into IRR first. */
	uint32_t esr_pending; /**< Errors latched since the last ESR write. */
	uint32_t events; /**< Pending VIRQ_LAPIC_EV_* (NMI, SMI, INIT, SIPI, ExtINT message), and
			      ::VIRQ_LAPIC_STATE_EV_NMI2 when two NMIs are pending. */
	uint32_t sipi_vector; /**< Vector of a pending SIPI. */
	uint32_t lint;        /**< LINT pin levels (bits 0-1) and unapplied edges (bits 2-5). */
	uint32_t flags;       /**< VIRQ_LAPIC_STATE_*. */
	/** For each LVT LINT entry with Remote IRR set, the vector it delivered
	 *  (the one its EOI must carry, which a rewrite of the entry does not
	 *  change): LINT0 in bits 7:0, LINT1 in bits 15:8, 0 for an entry with
	 *  Remote IRR clear; bits 31:16 zero. Version 1: zero (reserved). */
	uint32_t lint_vectors;
};

/**
 * @brief Exports the complete state. Folds posted requests into IRR first.
 * @param lapic The LAPIC (initialised; not NULL).
 * @param out   Receives the state, version ::VIRQ_LAPIC_STATE_VERSION, every
 *              reserved field zero. Not NULL.
 * @return 0, or -::VIRQ_EINVAL for a NULL @p out.
 * @note Owner thread.
 */
VIRQ_API int virq_lapic_save(struct virq_lapic *lapic, struct virq_lapic_state *out);

/**
 * @brief Imports a state saved by virq_lapic_save() (possibly on another host).
 *
 * Every field is validated against the architecture and this LAPIC's
 * configuration before anything changes (reserved bits, IRR/ISR/TMR bits
 * 0-15, PPR and LDR consistent, mode legal, LVTs masked while
 * software-disabled, a LINT Remote IRR only with its delivered vector in
 * IRR or ISR and never while globally disabled, wait-for-SIPI only on an
 * AP, ...). A refused state leaves the LAPIC untouched.
 *
 * The timer resumes from timer_remaining_ns on the destination's clock,
 * whatever its value: an expiry that was overdue at save time is overdue
 * at once (a one-shot count reads 0, a periodic one keeps its phase), even
 * when the destination's monotonic clock is younger than the overdue time.
 *
 * @param lapic The LAPIC (initialised with the configuration the state is
 *              checked against; not NULL).
 * @param st    The state, any of versions 1-3; read during the call only.
 * @return 0; -::VIRQ_EVERSION for an unknown version or size; -::VIRQ_ESTATE
 *         for a damaged state; -::VIRQ_EINVAL for a NULL @p st.
 * @note Owner thread, with no concurrent posters.
 */
VIRQ_API int virq_lapic_restore(struct virq_lapic *lapic, const struct virq_lapic_state *st);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_LAPIC_H */
