/* SPDX-License-Identifier: MIT */
/**
 * @file vcpu.h
 * @brief The vCPU event policy: what to deliver at the next VM entry.
 *
 * Backend-neutral. A backend (the KVM glue, a VMX or SVM hypervisor) asks
 * the policy before each entry what to do with the vCPU, telling it what
 * the guest can take right now; the policy answers with one decision and
 * the backend only encodes it (KVM_INTERRUPT, the VMCS VM-entry
 * interruption-information field, ...).
 *
 * The order is the architecture's (SDM Vol. 3A, "Priority Among Concurrent
 * Exceptions and Interrupts"):
 * INIT (and a start-up IPI) first, then SMI, then NMI, then a maskable
 * external interrupt. Of the external interrupts, the 8259's ExtINT (through
 * LINT0 or an ExtINT message) comes before the LAPIC's fixed vectors, as the
 * INTA cycle of the INTR pin bypasses the LAPIC's IRR and PPR.
 *
 * Before all of these come the events of the instruction stream and of the
 * last exit (SDM Vol. 3C, "Event Injection"; KVM's order): a triple fault
 * the exception queue raised, then an exception queued by the backend
 * (virq_vcpu_queue_exception(), merged by the double-fault rules), then an
 * event whose delivery the last exit interrupted (virq_vcpu_reinject()).
 * See "Exceptions and re-injection" below.
 *
 * At most one event is injected per entry. An interrupt that cannot be
 * injected now turns into a window request; an NMI that cannot be injected
 * is held (up to two, like KVM: one being delivered, one latched) and asks
 * for an NMI window. Two NMIs the LAPIC took at once
 * (virq_lapic_events::nmi_count) are two held NMIs.
 *
 * With a LAPIC in ::VIRQ_LAPIC_ACCEL_APICV (virtual-interrupt delivery)
 * the policy neither acknowledges nor injects the LAPIC's fixed vectors,
 * nor asks an interrupt window for them: the CPU delivers them from RVI.
 * ExtINT (8259), NMI, SMI, INIT/SIPI and exceptions are still decided
 * here, and virq_vcpu_wakes() still wakes a halted vCPU for a LAPIC
 * vector above PPR.
 *
 * A vector chosen for injection is acknowledged at once (LAPIC IRR → ISR,
 * or the 8259's INTA cycle), because both KVM_INTERRUPT and a VMCS
 * injection commit to it. A backend whose injection did not happen (VMX:
 * IDT-vectoring information after an exit) hands the event back with
 * virq_vcpu_reinject(); the policy re-delivers it without acknowledging
 * anything again.
 *
 * ## Exceptions and re-injection
 *
 * The policy holds one exception (SDM Vol. 3A 6.15, "Interrupt 8—Double
 * Fault Exception (\#DF)"): a second one queued while the first waits or is
 * being delivered (re-injected) is merged by Table 6-5 "Conditions for
 * Generating a Double Fault" over the classes of Table 6-4 "Interrupt and
 * Exception Classes": contributory on contributory, and a page fault or
 * contributory exception on a page fault, become \#DF(0); a contributory
 * or page-fault exception on a \#DF is a triple fault, reported as
 * ::VIRQ_VCPU_TRIPLE_FAULT (the backend shuts the vCPU down:
 * KVM_EXIT_SHUTDOWN, a platform reset); every other
 * pair is handled serially, the second replacing the first (which the
 * re-executed instruction raises again), as KVM's kvm_multiple_exception().
 * A benign exception on a \#DF is handled serially by default (the current
 * SDM text of 6.15 "Exception and Interrupt Reference": only a contributory
 * or page-fault exception while calling the \#DF handler means shutdown);
 * ::VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY selects the older text (and the VMX
 * triple-fault exit, and KVM): any exception means shutdown.
 *
 * A re-injected hardware, software or privileged software exception
 * (types 3, 6, 5) takes the exception slot: an exception the exit handler
 * queues after it merges with it as above. A re-injected external
 * interrupt, NMI or software interrupt (types 0, 2, 4) waits in a slot of
 * its own: an exception queued after it is delivered first (benign first
 * event: handled serially) and the interrupted event right after it, at the
 * next entry, as KVM does (its interrupt.injected and nmi_injected
 * survive a new exception); the decision asks for
 * ::VIRQ_VCPU_IMMEDIATE_EXIT so that entry comes at once. Nothing else is
 * injected at an entry that carries an exception or a re-injection. INIT
 * (and virq_vcpu_reset()) drops the exception, the re-injection, a pending
 * triple fault and the policy's NMI blocking with the rest of the vCPU's
 * state.
 *
 * ## NMI blocking
 *
 * A backend with virtual NMIs (VMX "virtual NMIs", SVM vNMI, KVM's
 * KVM_NMI) knows when the guest blocks NMIs and passes it in
 * virq_vcpu_window::nmi. A backend without them sets
 * ::VIRQ_VCPU_OPT_NMI_BLOCKING: the policy then blocks NMIs itself from the
 * NMI it decides until the backend reports the guest's IRET with
 * virq_vcpu_nmi_unblocked() (SDM Vol. 3A 6.7.1 "Handling Multiple NMIs"),
 * and treats virq_vcpu_window::nmi as the rest of the condition (no
 * MOV SS shadow, no other event queued).
 *
 * ## Embedding
 *
 * @code
 * struct virq_vcpu pol;
 * virq_vcpu_init(&pol, lapic, vm);   // vm may be NULL (no 8259)
 * for (;;) {
 *         struct virq_vcpu_window w = { .intr = if_flag && !shadow && !queued,
 *                                       .nmi = !nmi_blocked };
 *         struct virq_vcpu_decision d;
 *         virq_vcpu_decide(&pol, &w, &d);
 *         if (d.actions & VIRQ_VCPU_INIT) reset_vcpu();
 *         if (d.actions & VIRQ_VCPU_SIPI) start_at(d.sipi_vector << 12);
 *         if (d.actions & VIRQ_VCPU_NMI) inject_nmi();
 *         if (d.actions & VIRQ_VCPU_INTR) inject(d.vector);
 *         if (d.actions & VIRQ_VCPU_EVENT) inject_event(&d.event);
 *         if (d.actions & VIRQ_VCPU_TRIPLE_FAULT) shut_down();
 *         if (d.actions & VIRQ_VCPU_INTR_WINDOW) request_irq_window();
 *         run_guest();
 *         if (idt_vectoring_valid) virq_vcpu_reinject(&pol, &ev);
 *         if (iret_seen) virq_vcpu_nmi_unblocked(&pol);   // without vNMIs
 * }
 * @endcode
 *
 * ## Threads
 *
 * Owner thread of the LAPIC only. Other threads reach the vCPU by posting
 * to its LAPIC (virq_lapic_post(), virq_vm_deliver()), whose `kick` makes
 * the owner come back here.
 */
#ifndef VIRQ_VCPU_H
#define VIRQ_VCPU_H

#include <virq/lapic.h>
#include <virq/platform.h>
#include <virq/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief What the guest can take at this entry (the backend knows). */
struct virq_vcpu_window {
	/** A maskable interrupt can be injected: RFLAGS.IF = 1, no STI or
	 *  MOV SS shadow, and no other event already queued for this entry. */
	bool intr;
	/** An NMI can be injected: no NMI blocking, no shadow that blocks it,
	 *  no other event queued. A backend that queues NMIs itself (KVM's
	 *  KVM_NMI) passes true. With ::VIRQ_VCPU_OPT_NMI_BLOCKING the policy
	 *  adds its own NMI blocking to this (the backend leaves it out). */
	bool nmi;
};

/** @name Actions of a decision (virq_vcpu_decision::actions)
 * @{ */
/** INIT was accepted: reset the vCPU (the LAPIC has reset itself already);
 *  an AP then waits for a start-up IPI. */
#define VIRQ_VCPU_INIT (1U << 0)
/** Start the vCPU in real mode at CS = sipi_vector << 8, IP = 0. */
#define VIRQ_VCPU_SIPI (1U << 1)
/** Enter SMM. */
#define VIRQ_VCPU_SMI (1U << 2)
/** Inject an NMI at this entry. */
#define VIRQ_VCPU_NMI (1U << 3)
/** Inject external interrupt virq_vcpu_decision::vector at this entry. */
#define VIRQ_VCPU_INTR (1U << 4)
/** An interrupt waits but the window is closed: exit when it opens. */
#define VIRQ_VCPU_INTR_WINDOW (1U << 5)
/** An NMI waits but NMIs are blocked: exit when they are not. */
#define VIRQ_VCPU_NMI_WINDOW (1U << 6)
/** The vCPU waits for a start-up IPI: do not run it. */
#define VIRQ_VCPU_WAIT_SIPI (1U << 7)
/** Inject virq_vcpu_decision::event at this entry: an exception, or an
 *  event handed back by virq_vcpu_reinject(). Never with ::VIRQ_VCPU_NMI,
 *  ::VIRQ_VCPU_INTR or ::VIRQ_VCPU_SMI. */
#define VIRQ_VCPU_EVENT (1U << 8)
/** An exception while a \#DF was held or being delivered: the vCPU shuts
 *  down (SDM Vol. 3A 6.15 "Exception and Interrupt Reference"; VMX exit
 *  reason "triple fault"). Alone in its decision; the exception state is
 *  gone. */
#define VIRQ_VCPU_TRIPLE_FAULT (1U << 9)
/** Something else waits only because this entry already carries an event
 *  (a re-injection behind an exception, an SMI behind either): exit right
 *  after this entry delivered it (KVM's immediate exit; VMX: a zero
 *  preemption timer or a self-IPI). */
#define VIRQ_VCPU_IMMEDIATE_EXIT (1U << 10)
/** @} */

/**
 * @brief Interruption types of an event (SDM Vol. 3C, "VM-Entry Controls
 *        for Event Injection", Table "Format of the VM-Entry
 *        Interruption-Information Field"; the IDT-vectoring information
 *        field uses the same encoding).
 */
enum virq_vcpu_event_type {
	VIRQ_VCPU_EV_EXTINT = 0,      /**< External interrupt. */
	VIRQ_VCPU_EV_NMI = 2,         /**< NMI (vector 2). */
	VIRQ_VCPU_EV_HW_EXC = 3,      /**< Hardware exception (vector 0-31). */
	VIRQ_VCPU_EV_SW_INT = 4,      /**< Software interrupt (INT n). */
	VIRQ_VCPU_EV_PRIV_SW_EXC = 5, /**< Privileged software exception (INT1). */
	VIRQ_VCPU_EV_SW_EXC = 6,      /**< Software exception (INT3, INTO). */
};

/**
 * @brief One event to deliver through the guest's IDT.
 *
 * What VMX writes to the VM-entry interruption-information field, error
 * code and instruction length, and reads back from the IDT-vectoring
 * information. Unused fields are zero.
 */
struct virq_vcpu_event {
	uint8_t type;        /**< ::virq_vcpu_event_type. */
	uint8_t vector;      /**< IDT vector. */
	uint8_t has_error;   /**< 1: deliver error_code (0 or 1). */
	uint8_t insn_len;    /**< Types 4, 5, 6: length of the instruction (1-15;
				  0 where the CPU allows it); else 0. */
	uint32_t error_code; /**< With has_error: bits 15:0 (31:16 are zero). */
	/** \#PF (vector 14, type 3): the faulting linear address, which the
	 *  backend writes to CR2 before the entry; else 0. */
	uint64_t payload;
};

/** @brief Where an injected external interrupt came from. */
enum virq_vcpu_source {
	VIRQ_VCPU_SRC_NONE = 0,  /**< No interrupt. */
	VIRQ_VCPU_SRC_LAPIC = 1, /**< A LAPIC vector (fixed, lowest priority, LVT, IPI, MSI). */
	VIRQ_VCPU_SRC_PIC = 2,   /**< The 8259 through ExtINT. */
};

/** @brief One decision of virq_vcpu_decide(). */
struct virq_vcpu_decision {
	uint32_t actions;    /**< VIRQ_VCPU_* */
	uint8_t vector;      /**< With ::VIRQ_VCPU_INTR: the vector, already acknowledged. */
	uint8_t source;      /**< With ::VIRQ_VCPU_INTR: ::virq_vcpu_source. */
	uint8_t sipi_vector; /**< With ::VIRQ_VCPU_SIPI: the start page. */
	uint8_t reserved;    /**< Zero. */
	/** With ::VIRQ_VCPU_EVENT: the event to inject. With ::VIRQ_VCPU_NMI
	 *  or ::VIRQ_VCPU_INTR it describes that injection too (type 2 vector
	 *  2, or type 0 and the vector), so a VMX backend may encode every
	 *  injection from it. Zero otherwise. */
	struct virq_vcpu_event event;
};

/** @name Options (virq_vcpu_set_options())
 * @{ */
/** The policy tracks NMI blocking (a backend without virtual NMIs): set
 *  when it decides an NMI, cleared by virq_vcpu_nmi_unblocked(). */
#define VIRQ_VCPU_OPT_NMI_BLOCKING (1U << 0)
/** Any exception, benign ones too, while a \#DF is held or being delivered
 *  is a triple fault (older SDM text of 6.15 "Exception and Interrupt
 *  Reference", KVM). Default: only a contributory or page-fault one
 *  (current SDM text). */
#define VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY (1U << 1)
/** @} */

/** @brief Maximum NMIs held by the policy (one in delivery, one latched). */
#define VIRQ_VCPU_MAX_PENDING_NMI 2U

/** @brief Injection counts kept by the policy. */
struct virq_vcpu_stats {
	uint64_t nmi;           /**< NMIs injected. */
	uint64_t nmi_dropped;   /**< NMIs merged because two were already held. */
	uint64_t smi;           /**< SMIs reported. */
	uint64_t intr_lapic;    /**< LAPIC vectors injected. */
	uint64_t intr_pic;      /**< 8259 vectors injected. */
	uint64_t intr_windows;  /**< Decisions that asked for an interrupt window. */
	uint64_t init;          /**< INITs reported. */
	uint64_t sipi;          /**< Start-up IPIs reported. */
	uint64_t exceptions;    /**< Exceptions injected (queued ones and re-injected ones). */
	uint64_t double_faults; /**< Exception pairs merged into \#DF. */
	uint64_t triple_faults; /**< Triple faults reported. */
	uint64_t reinjected;    /**< Events re-injected (virq_vcpu_reinject(), any type). */
};

/**
 * @brief Per-vCPU policy state. Caller-allocated; fields are private.
 */
struct virq_vcpu {
	/** @privatesection */
	struct virq_lapic *lapic;
	struct virq_vm *vm;
	uint32_t nmi_pending;
	uint32_t held;              /* INIT/SIPI/SMI/ExtINT taken from the LAPIC, not yet decided */
	uint8_t sipi_vector;        /* with held SIPI */
	uint8_t nmi_blocked;        /* OPT_NMI_BLOCKING: an NMI decided, no IRET reported yet */
	uint8_t options;            /* VIRQ_VCPU_OPT_* */
	uint8_t flags;              /* VCPU_F_*: which of exc/reinj hold an event, triple fault */
	struct virq_vcpu_event exc; /* with VCPU_F_EXC: type 3, 5 or 6 */
	struct virq_vcpu_event reinj; /* with VCPU_F_REINJ: type 0, 2 or 4 */
	struct virq_vcpu_stats stats;
};

/**
 * @brief Initialises the policy of one vCPU.
 *
 * With @p lapic NULL the vCPU's LAPIC is emulated elsewhere (KVM's
 * in-kernel LAPIC under a split irqchip): the policy then decides only the
 * 8259's interrupts for the vCPU wired to its INT output, through that
 * LAPIC's LINT0 in virtual-wire mode. The backend folds whether that LAPIC
 * takes an interrupt through the INTR pin now into virq_vcpu_window::intr
 * (KVM: `ready_for_interrupt_injection`); virq_vcpu_decide() answers
 * ::VIRQ_VCPU_INTR with the 8259's vector (acknowledged), a window request
 * while INT is asserted and the window is closed, or nothing.
 *
 * @param vcpu  The policy state.
 * @param lapic The vCPU's LAPIC, or NULL (see above).
 * @param vm    The VM whose 8259 answers ExtINT, or NULL (no 8259).
 * @return 0, or -::VIRQ_EINVAL for a NULL @p vcpu, or both @p lapic and
 *         @p vm NULL.
 */
VIRQ_API int virq_vcpu_init(struct virq_vcpu *vcpu, struct virq_lapic *lapic, struct virq_vm *vm);

/**
 * @brief Decides what to do at the next VM entry.
 *
 * Folds posted work, takes the LAPIC's events, then fills @p d: INIT
 * and/or SIPI (nothing else that entry), or the wait for a SIPI; else a
 * triple fault (alone); else the held exception, or else the event handed
 * back by virq_vcpu_reinject(), as ::VIRQ_VCPU_EVENT (nothing new is
 * injected with it; what waits asks for its window or
 * ::VIRQ_VCPU_IMMEDIATE_EXIT); else an SMI; else an NMI if the window
 * allows it (an NMI also closes the interrupt window for this entry); else
 * an external interrupt if
 * `w->intr`, acknowledged here: the 8259's vector while its INT output is
 * asserted and LINT0 (or a message) asked for ExtINT, otherwise the LAPIC's
 * highest deliverable vector. Whatever waits and cannot go now sets a
 * window action.
 *
 * @param vcpu The policy state.
 * @param w    What the guest can take now.
 * @param d    Receives the decision.
 * @return d->actions.
 * @note Owner thread.
 */
VIRQ_API uint32_t virq_vcpu_decide(struct virq_vcpu *vcpu, const struct virq_vcpu_window *w,
				   struct virq_vcpu_decision *d);

/**
 * @brief Whether a halted vCPU wakes up (HLT ends).
 *
 * NMI, SMI, INIT and SIPI always wake it; a maskable interrupt (a
 * deliverable LAPIC vector or an ExtINT request) only when
 * @p intr_enabled (RFLAGS.IF = 1). A vCPU waiting for a start-up IPI wakes
 * only for INIT or SIPI.
 *
 * @param vcpu         The policy state (initialised; not NULL).
 * @param intr_enabled The guest's RFLAGS.IF at the HLT.
 * @return true when HLT ends now.
 * @note Owner thread. Does not consume anything.
 */
VIRQ_API bool virq_vcpu_wakes(struct virq_vcpu *vcpu, bool intr_enabled);

/**
 * @brief Forgets held NMIs and ExtINT requests, NMI blocking, the exception
 *        and any re-injection (a vCPU reset by the embedder). Keeps the
 *        options and the stats.
 * @param vcpu The policy state; NULL does nothing.
 */
VIRQ_API void virq_vcpu_reset(struct virq_vcpu *vcpu);

/**
 * @brief Sets the options (VIRQ_VCPU_OPT_*), replacing the previous ones.
 *
 * Clearing ::VIRQ_VCPU_OPT_NMI_BLOCKING also clears the NMI blocking the
 * policy tracked.
 *
 * @param vcpu    The policy state (NULL: -::VIRQ_EINVAL).
 * @param options 0 or an OR of ::VIRQ_VCPU_OPT_NMI_BLOCKING and
 *                ::VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY.
 * @return 0, or -::VIRQ_EINVAL for an unknown bit.
 * @note Owner thread.
 */
VIRQ_API int virq_vcpu_set_options(struct virq_vcpu *vcpu, uint32_t options);

/**
 * @brief Queues a hardware exception (type 3) for the next entry.
 *
 * Merged with an exception already held (queued or re-injected) by the
 * double-fault rules (see "Exceptions and re-injection" above): the result
 * is one exception, \#DF(0), or a triple fault. The error code follows SDM
 * Vol. 3A Table 6-1 "Protected-Mode Exceptions and Interrupts":
 * @p has_error must be true exactly for \#DF (8), \#TS (10), \#NP (11),
 * \#SS (12), \#GP (13), \#PF (14), \#AC (17) and \#CP (21), and AMD's
 * \#VC (29) and \#SX (30); \#DF and \#AC take 0; bits 31:16 are zero
 * (the VMX entry check). A mismatch is refused, not fixed: it is the
 * embedder's mistake, and VM entry would fail on it. A backend running a
 * real-mode guest drops the error code when it encodes the event (no error
 * code is pushed there), as KVM does.
 *
 * Use virq_vcpu_inject_pf() for \#PF, which carries CR2.
 *
 * @param vcpu       The policy state.
 * @param vector     0-31, but not 2 (NMI is no exception), 15 or 22-31
 *                   (reserved; AMD's 28 \#HV, 29 \#VC and 30 \#SX are
 *                   taken, as benign).
 * @param has_error  Whether the exception pushes @p error_code.
 * @param error_code The error code; 0 without @p has_error.
 * @return 0 (also when the result is a triple fault, or when a triple
 *         fault is already pending: then the exception is dropped), or
 *         -::VIRQ_EINVAL for a NULL @p vcpu, a refused vector, or an
 *         error code that breaks the rules above (nothing changed).
 * @note Owner thread.
 */
VIRQ_API int virq_vcpu_queue_exception(struct virq_vcpu *vcpu, uint8_t vector, bool has_error,
				       uint32_t error_code);

/**
 * @brief Queues \#GP(@p ec) (vector 13).
 * @param vcpu The policy state (NULL: -::VIRQ_EINVAL).
 * @param ec   The error code: a segment selector index or 0; bits 31:16
 *             must be zero.
 * @return As virq_vcpu_queue_exception().
 */
VIRQ_API int virq_vcpu_inject_gp(struct virq_vcpu *vcpu, uint32_t ec);

/**
 * @brief Queues \#SS(@p ec) (vector 12).
 * @param vcpu The policy state (NULL: -::VIRQ_EINVAL).
 * @param ec   The error code: a segment selector index or 0; bits 31:16
 *             must be zero.
 * @return As virq_vcpu_queue_exception().
 */
VIRQ_API int virq_vcpu_inject_ss(struct virq_vcpu *vcpu, uint32_t ec);

/**
 * @brief Queues \#UD (vector 6).
 * @param vcpu The policy state (NULL: -::VIRQ_EINVAL).
 * @return As virq_vcpu_queue_exception().
 */
VIRQ_API int virq_vcpu_inject_ud(struct virq_vcpu *vcpu);

/**
 * @brief Queues \#PF(@p ec) (vector 14) with @p cr2 as its payload.
 *
 * The decision that injects it carries @p cr2 in virq_vcpu_event::payload;
 * the backend writes CR2 then, not now (a \#PF merged into \#DF never
 * writes CR2, as KVM defers the payload).
 *
 * @param vcpu The policy state (NULL: -::VIRQ_EINVAL).
 * @param cr2  The faulting linear address, written to CR2 at injection.
 * @param ec   The page-fault error code (P, W/R, U/S, RSVD, I/D, PK, SS,
 *             SGX bits); bits 31:16 must be zero.
 * @return As virq_vcpu_queue_exception().
 */
VIRQ_API int virq_vcpu_inject_pf(struct virq_vcpu *vcpu, uint64_t cr2, uint32_t ec);

/**
 * @brief Hands back an event whose delivery the last exit interrupted
 *        (VMX: valid IDT-vectoring information; SVM: EXITINTINFO).
 *
 * The next decision re-delivers it first, unless an exception queued
 * after it goes first (see "Exceptions and re-injection" above); nothing
 * else is injected at that entry. A re-injected external interrupt is not
 * acknowledged again (its vector is already in the LAPIC's ISR, or the
 * 8259 already ran its INTA cycle); a re-injected NMI is not taken from the
 * held ones. Call it right after the exit, before queueing the exit
 * handler's exceptions.
 *
 * Rules (SDM Vol. 3C, "VM-Entry Controls for Event Injection" and the
 * entry checks on them): type 0, 2, 3, 4, 5 or 6; type 2 only with vector
 * 2; type 3 with a vector virq_vcpu_queue_exception() takes; type 5 only
 * with vector 1 (INT1), type 6 only with 3 (INT3) or 4 (INTO); an error code
 * only with type 3 and a vector of Table 6-1 "Protected-Mode Exceptions and
 * Interrupts" that has one (it may be absent: a real-mode guest's exception
 * has none), bits 31:16 zero, 0 for \#DF and \#AC; insn_len 0-15 with types
 * 4, 5 and 6 and 0 otherwise; payload only with a type-3 \#PF (the CR2 value
 * to write again, or 0 to leave CR2).
 *
 * @param vcpu The policy state.
 * @param ev   The interrupted event, as the exit reported it (type, vector,
 *             error code, instruction length, payload); copied.
 * @return 0; -::VIRQ_EINVAL for NULL or an event that breaks the rules;
 *         -::VIRQ_ESTATEMODE when an exception is already held, or an
 *         external interrupt, NMI or software interrupt already waits for
 *         re-injection (two events in flight at one exit cannot be).
 *         Nothing changes on an error.
 * @note Owner thread.
 */
VIRQ_API int virq_vcpu_reinject(struct virq_vcpu *vcpu, const struct virq_vcpu_event *ev);

/**
 * @brief The guest executed IRET (or the NMI window the backend watched
 *        opened): NMIs are no longer blocked.
 *
 * Only with ::VIRQ_VCPU_OPT_NMI_BLOCKING; without it the call does
 * nothing.
 *
 * @param vcpu The policy state (initialised; not NULL).
 * @note Owner thread.
 */
VIRQ_API void virq_vcpu_nmi_unblocked(struct virq_vcpu *vcpu);

/**
 * @brief Whether the policy blocks NMIs now (::VIRQ_VCPU_OPT_NMI_BLOCKING).
 * @param vcpu The policy state; NULL gives false.
 * @return true from the injection of an NMI to virq_vcpu_nmi_unblocked();
 *         always false without ::VIRQ_VCPU_OPT_NMI_BLOCKING.
 * @note Owner thread.
 */
VIRQ_API bool virq_vcpu_nmi_blocked(const struct virq_vcpu *vcpu);

/** @brief Version of ::virq_vcpu_state this library writes and reads. */
#define VIRQ_VCPU_STATE_VERSION 1U

/** @name virq_vcpu_state::flags
 * @{ */
#define VIRQ_VCPU_STATE_NMI_BLOCKED (1U << 0)  /**< The policy blocks NMIs (needs the option). */
#define VIRQ_VCPU_STATE_EXCEPTION (1U << 1)    /**< virq_vcpu_state::exception holds one. */
#define VIRQ_VCPU_STATE_REINJECT (1U << 2)     /**< virq_vcpu_state::reinject holds one. */
#define VIRQ_VCPU_STATE_TRIPLE_FAULT (1U << 3) /**< A triple fault waits to be reported. */
/** @} */

/**
 * @brief What the policy holds between two decisions, for save/restore and
 *        migration. Plain data, fixed layout, versioned.
 *
 * Save it together with the LAPIC's state: a re-injected external
 * interrupt's vector is in that LAPIC's ISR.
 */
struct virq_vcpu_state {
	uint32_t version;     /**< ::VIRQ_VCPU_STATE_VERSION. */
	uint32_t size;        /**< sizeof(struct virq_vcpu_state). */
	uint32_t flags;       /**< VIRQ_VCPU_STATE_*. */
	uint32_t nmi_pending; /**< NMIs held, 0 to ::VIRQ_VCPU_MAX_PENDING_NMI. */
	/** Events taken from the LAPIC and not yet decided: ::VIRQ_LAPIC_EV_SMI,
	 *  ::VIRQ_LAPIC_EV_INIT, ::VIRQ_LAPIC_EV_SIPI, ::VIRQ_LAPIC_EV_EXTINT. */
	uint32_t held;
	uint32_t sipi_vector; /**< With ::VIRQ_LAPIC_EV_SIPI in held: the start page; else 0. */
	/** With ::VIRQ_VCPU_STATE_EXCEPTION: type 3, 5 or 6, queued or re-injected. */
	struct virq_vcpu_event exception;
	/** With ::VIRQ_VCPU_STATE_REINJECT: type 0, 2 or 4, waiting for re-injection. */
	struct virq_vcpu_event reinject;
};

/**
 * @brief Exports what the policy holds. Events the LAPIC has not handed
 *        over yet are not taken: they stay in the LAPIC's own state
 *        (virq_lapic_save()), so saving both never counts one twice.
 * @param vcpu The policy state.
 * @param out  Receives the state, version ::VIRQ_VCPU_STATE_VERSION, unused
 *             fields zero.
 * @return 0, or -::VIRQ_EINVAL for a NULL argument.
 * @note Owner thread.
 */
VIRQ_API int virq_vcpu_save(struct virq_vcpu *vcpu, struct virq_vcpu_state *out);

/**
 * @brief Imports a state saved by virq_vcpu_save().
 *
 * Every field is checked before anything changes: version and size,
 * reserved flag and held bits, NMI count, SIPI vector only with a held
 * SIPI, no held event or NMI for a policy without a LAPIC, NMI blocking
 * only with ::VIRQ_VCPU_OPT_NMI_BLOCKING set (set the options first), each
 * event by the rules of virq_vcpu_reinject() and its slot's types, unused
 * events all zero. The stats and options are kept.
 *
 * @param vcpu The policy state, initialised (with its LAPIC and VM) and
 *             with its options set.
 * @param st   The state, version ::VIRQ_VCPU_STATE_VERSION; read during
 *             the call only.
 * @return 0; -::VIRQ_EVERSION for an unknown version or size;
 *         -::VIRQ_ESTATE for a damaged state; -::VIRQ_EINVAL for a NULL
 *         argument. A refused state leaves the policy untouched.
 * @note Owner thread.
 */
VIRQ_API int virq_vcpu_restore(struct virq_vcpu *vcpu, const struct virq_vcpu_state *st);

/**
 * @brief Injection counts since init.
 * @param vcpu The policy state (initialised; not NULL).
 * @return The counters, owned by @p vcpu (valid as long as it is); they
 *         survive virq_vcpu_reset() and restore.
 * @note Owner thread.
 */
VIRQ_API const struct virq_vcpu_stats *virq_vcpu_get_stats(const struct virq_vcpu *vcpu);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_VCPU_H */
