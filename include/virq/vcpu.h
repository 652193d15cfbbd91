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
 * The order is the architecture's (SDM 6.9, Table 6-2):
 * INIT (and a start-up IPI) first, then SMI, then NMI, then a maskable
 * external interrupt. Of the external interrupts, the 8259's ExtINT (through
 * LINT0 or an ExtINT message) comes before the LAPIC's fixed vectors, as the
 * INTA cycle of the INTR pin bypasses the LAPIC's IRR and PPR.
 *
 * At most one event is injected per entry. An interrupt that cannot be
 * injected now turns into a window request; an NMI that cannot be injected
 * is held (up to two, like KVM: one being delivered, one latched) and asks
 * for an NMI window. Two NMIs the LAPIC took at once
 * (virq_lapic_events::nmi_count) are two held NMIs.
 *
 * A vector chosen for injection is acknowledged at once (LAPIC IRR → ISR,
 * or the 8259's INTA cycle), because both KVM_INTERRUPT and a VMCS
 * injection commit to it. A backend whose injection did not happen (VMX:
 * IDT-vectoring information after an exit) re-injects the same vector
 * itself; it must not ask the policy again for it.
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
 *         if (d.actions & VIRQ_VCPU_INTR_WINDOW) request_irq_window();
 *         run_guest();
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
	 *  KVM_NMI) passes true. */
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
/** @} */

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
};

/** @brief Maximum NMIs held by the policy (one in delivery, one latched). */
#define VIRQ_VCPU_MAX_PENDING_NMI 2U

/** @brief Injection counts kept by the policy. */
struct virq_vcpu_stats {
	uint64_t nmi;          /**< NMIs injected. */
	uint64_t nmi_dropped;  /**< NMIs merged because two were already held. */
	uint64_t smi;          /**< SMIs reported. */
	uint64_t intr_lapic;   /**< LAPIC vectors injected. */
	uint64_t intr_pic;     /**< 8259 vectors injected. */
	uint64_t intr_windows; /**< Decisions that asked for an interrupt window. */
	uint64_t init;         /**< INITs reported. */
	uint64_t sipi;         /**< Start-up IPIs reported. */
};

/**
 * @brief Per-vCPU policy state. Caller-allocated; fields are private.
 */
struct virq_vcpu {
	/** @privatesection */
	struct virq_lapic *lapic;
	struct virq_vm *vm;
	uint32_t nmi_pending;
	uint32_t held;       /* INIT/SIPI/SMI/ExtINT taken from the LAPIC, not yet decided */
	uint8_t sipi_vector; /* with held SIPI */
	uint8_t reserved[3];
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
 * and/or SIPI (nothing else that entry), or the wait for a SIPI; else an
 * SMI; else an NMI if the window allows it (an NMI also closes the
 * interrupt window for this entry); else an external interrupt if
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
 * @note Owner thread. Does not consume anything.
 */
VIRQ_API bool virq_vcpu_wakes(struct virq_vcpu *vcpu, bool intr_enabled);

/** @brief Forgets held NMIs and ExtINT requests (a vCPU reset by the embedder). */
VIRQ_API void virq_vcpu_reset(struct virq_vcpu *vcpu);

/** @brief Injection counts since init. @note Owner thread. */
VIRQ_API const struct virq_vcpu_stats *virq_vcpu_get_stats(const struct virq_vcpu *vcpu);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_VCPU_H */
