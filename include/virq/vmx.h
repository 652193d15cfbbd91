/* SPDX-License-Identifier: MIT */
/**
 * @file vmx.h
 * @brief The VMX glue: encodes the vCPU policy's decisions into a VMCS and
 *        decodes the VM exits that belong to the interrupt controllers.
 *
 * Freestanding, part of libvirq. The policy (vcpu.h) decides what to
 * inject; this glue only reads the guest's interruptibility through
 * `ops->vmread`, encodes the decision (VM-entry interruption information,
 * error code, instruction length, CR2, the interrupt-window and NMI-window
 * controls) and, after an exit, hands an interrupted event back to the
 * policy and serves the LAPIC's exits. VMREAD, VMWRITE and RDMSR are the
 * embedder's callbacks, so a test can run it against a field store.
 *
 * @code
 * static const struct virq_vmx_ops ops = { .vmread = my_vmread,
 *         .vmwrite = my_vmwrite, .rdmsr = my_rdmsr,
 *         .read_gpr = my_read_gpr, .write_gpr = my_write_gpr };
 * struct virq_vmx_config cfg = { .level = VIRQ_VMX_LEVEL_INJECT,
 *         .flags = VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT };
 * virq_vcpu_init(&pol, &lapic, vm);
 * // the vCPU's VMCS is current (VMPTRLD): init writes its controls
 * if (virq_vmx_vcpu_init(&vx, &pol, &lapic, &ops, ctx, &cfg)) refuse();
 * for (;;) {
 *         struct virq_vmx_entry e;
 *         struct virq_vmx_exit x;
 *         uint32_t f = virq_vmx_prepare_entry(&vx, &e);
 *         if (f & VIRQ_VMX_ENTRY_INIT) reset_to_wait_for_sipi();  // then prepare again
 *         if (f & VIRQ_VMX_ENTRY_SIPI) start_at(e.sipi_vector << 12);
 *         if (f & VIRQ_VMX_ENTRY_TRIPLE_FAULT) shut_down();
 *         if (f & VIRQ_VMX_ENTRY_NO_ENTRY) { wait_for_kick(); continue; }
 *         if (f & VIRQ_VMX_ENTRY_CR2) write_cr2(e.cr2);
 *         if (f & VIRQ_VMX_ENTRY_IMMEDIATE_EXIT) arm_preemption_timer(0);
 *         vmresume();
 *         switch (virq_vmx_handle_exit(&vx, &x)) { ... }
 * }
 * @endcode
 *
 * Levels (virq_vmx_config::level): ::VIRQ_VMX_LEVEL_INJECT is the only one
 * implemented: every interrupt is injected through the VM-entry
 * interruption-information field. ::VIRQ_VMX_LEVEL_TPR_SHADOW (TPR shadow,
 * TPR threshold) and ::VIRQ_VMX_LEVEL_APICV (virtual-interrupt delivery,
 * RVI/SVI, EOI-exit bitmap) are reserved and refused for now.
 *
 * ## Threads
 *
 * Everything here runs on the vCPU's owner thread (the LAPIC's), with the
 * vCPU's VMCS current. Other threads post to the LAPIC and kick.
 */
#ifndef VIRQ_VMX_H
#define VIRQ_VMX_H

#include <virq/lapic.h>
#include <virq/platform.h>
#include <virq/vcpu.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name VMCS field encodings (SDM Vol. 3C Appendix B "Field Encoding in VMCS")
 * @{ */
#define VIRQ_VMCS_PIN_BASED_CTLS 0x4000U       /**< Pin-based VM-execution controls. */
#define VIRQ_VMCS_PROC_BASED_CTLS 0x4002U      /**< Primary processor-based controls. */
#define VIRQ_VMCS_EXCEPTION_BITMAP 0x4004U     /**< Exception bitmap. */
#define VIRQ_VMCS_EXIT_CTLS 0x400CU            /**< VM-exit controls. */
#define VIRQ_VMCS_ENTRY_CTLS 0x4012U           /**< VM-entry controls. */
#define VIRQ_VMCS_ENTRY_INTR_INFO 0x4016U      /**< VM-entry interruption-information. */
#define VIRQ_VMCS_ENTRY_EXC_ERROR_CODE 0x4018U /**< VM-entry exception error code. */
#define VIRQ_VMCS_ENTRY_INSN_LEN 0x401AU       /**< VM-entry instruction length. */
#define VIRQ_VMCS_TPR_THRESHOLD 0x401CU        /**< TPR threshold (level TPR_SHADOW, reserved). */
#define VIRQ_VMCS_PROC_BASED_CTLS2 0x401EU     /**< Secondary processor-based controls. */
#define VIRQ_VMCS_VM_INSN_ERROR 0x4400U        /**< VM-instruction error. */
#define VIRQ_VMCS_EXIT_REASON 0x4402U          /**< Exit reason. */
#define VIRQ_VMCS_EXIT_INTR_INFO 0x4404U       /**< VM-exit interruption information. */
#define VIRQ_VMCS_EXIT_INTR_ERROR_CODE 0x4406U /**< VM-exit interruption error code. */
#define VIRQ_VMCS_IDT_VECTORING_INFO 0x4408U   /**< IDT-vectoring information. */
#define VIRQ_VMCS_IDT_VECTORING_ERROR_CODE 0x440AU /**< IDT-vectoring error code. */
#define VIRQ_VMCS_EXIT_INSN_LEN 0x440CU            /**< VM-exit instruction length. */
#define VIRQ_VMCS_GUEST_INTERRUPTIBILITY 0x4824U   /**< Guest interruptibility state. */
#define VIRQ_VMCS_GUEST_ACTIVITY_STATE 0x4826U     /**< Guest activity state. */
#define VIRQ_VMCS_EXIT_QUALIFICATION 0x6400U       /**< Exit qualification. */
#define VIRQ_VMCS_GUEST_CR0 0x6800U                /**< Guest CR0. */
#define VIRQ_VMCS_GUEST_RIP 0x681EU                /**< Guest RIP. */
#define VIRQ_VMCS_GUEST_RFLAGS 0x6820U             /**< Guest RFLAGS. */
#define VIRQ_VMCS_GUEST_INTR_STATUS                                                                \
	0x0810U /**< Guest interrupt status, RVI/SVI (APICV, reserved). */
#define VIRQ_VMCS_VIRTUAL_APIC_ADDR 0x2012U /**< Virtual-APIC address (TPR_SHADOW, reserved). */
#define VIRQ_VMCS_APIC_ACCESS_ADDR 0x2014U  /**< APIC-access address (APICV, reserved). */
#define VIRQ_VMCS_EOI_EXIT_BITMAP0                                                                 \
	0x201CU /**< EOI-exit bitmap 0; 1-3 follow by 2 (APICV, reserved). */
/** @} */

/** @name Control bits (SDM Vol. 3C 24.6.1, 24.6.2, 24.7.1, 24.8.1)
 * @{ */
#define VIRQ_VMX_PIN_EXT_INTR_EXITING (1U << 0)     /**< Pin-based: external-interrupt exiting. */
#define VIRQ_VMX_PIN_NMI_EXITING (1U << 3)          /**< Pin-based: NMI exiting. */
#define VIRQ_VMX_PIN_VIRTUAL_NMIS (1U << 5)         /**< Pin-based: virtual NMIs. */
#define VIRQ_VMX_PROC_INTR_WINDOW_EXITING (1U << 2) /**< Primary: interrupt-window exiting. */
#define VIRQ_VMX_PROC_HLT_EXITING (1U << 7)         /**< Primary: HLT exiting. */
#define VIRQ_VMX_PROC_USE_TPR_SHADOW (1U << 21)     /**< Primary: use TPR shadow (reserved). */
#define VIRQ_VMX_PROC_NMI_WINDOW_EXITING (1U << 22) /**< Primary: NMI-window exiting. */
#define VIRQ_VMX_PROC_MONITOR_TRAP_FLAG (1U << 27)  /**< Primary: monitor trap flag. */
#define VIRQ_VMX_PROC_USE_MSR_BITMAPS (1U << 28)    /**< Primary: use MSR bitmaps. */
#define VIRQ_VMX_PROC_SECONDARY_CTLS (1U << 31)     /**< Primary: activate secondary controls. */
#define VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES (1U << 0) /**< Secondary: virtualize APIC accesses. */
#define VIRQ_VMX_PROC2_UNRESTRICTED_GUEST (1U << 7) /**< Secondary: unrestricted guest. */
#define VIRQ_VMX_EXIT_ACK_INTR_ON_EXIT (1U << 15)   /**< VM-exit: acknowledge interrupt on exit. */
/** @} */

/** @name Capability MSRs and their bits (SDM Vol. 3C Appendix A)
 * @{ */
#define VIRQ_MSR_IA32_VMX_BASIC 0x480U               /**< IA32_VMX_BASIC. */
#define VIRQ_MSR_IA32_VMX_PINBASED_CTLS 0x481U       /**< Allowed pin-based settings. */
#define VIRQ_MSR_IA32_VMX_PROCBASED_CTLS 0x482U      /**< Allowed primary settings. */
#define VIRQ_MSR_IA32_VMX_EXIT_CTLS 0x483U           /**< Allowed VM-exit control settings. */
#define VIRQ_MSR_IA32_VMX_MISC 0x485U                /**< IA32_VMX_MISC. */
#define VIRQ_MSR_IA32_VMX_PROCBASED_CTLS2 0x48BU     /**< Allowed secondary settings. */
#define VIRQ_MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48DU  /**< TRUE pin-based (BASIC bit 55). */
#define VIRQ_MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48EU /**< TRUE primary (BASIC bit 55). */
#define VIRQ_MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48FU      /**< TRUE VM-exit (BASIC bit 55). */
#define VIRQ_VMX_BASIC_TRUE_CTLS (1ULL << 55)        /**< BASIC: the TRUE_* MSRs exist. */
#define VIRQ_VMX_BASIC_NO_HW_ERROR_CODE (1ULL << 56) /**< BASIC: any type-3 error code. */
#define VIRQ_VMX_MISC_ZERO_LEN_INJECT (1ULL << 30)   /**< MISC: instruction length 0 allowed. */
/** @} */

/** @name Interruption information (entry 0x4016, exit 0x4404, IDT-vectoring 0x4408;
 *        SDM Vol. 3C 24.8.3, 24.9.2, 24.9.3)
 * @{ */
#define VIRQ_VMX_INTR_VECTOR_MASK 0xFFU           /**< Bits 7:0: vector. */
#define VIRQ_VMX_INTR_TYPE_SHIFT 8U               /**< Bits 10:8: ::virq_vcpu_event_type. */
#define VIRQ_VMX_INTR_TYPE_MASK (7U << 8)         /**< Interruption type field. */
#define VIRQ_VMX_INTR_TYPE_OTHER 7U               /**< Type 7: other event (MTF). */
#define VIRQ_VMX_INTR_ERROR_CODE (1U << 11)       /**< Deliver / valid error code. */
#define VIRQ_VMX_INTR_NMI_UNBLOCK_IRET (1U << 12) /**< Exit info: NMI unblocking due to IRET. */
#define VIRQ_VMX_INTR_ENTRY_RESERVED 0x7FFFF000U  /**< Entry info bits 30:12, zero. */
#define VIRQ_VMX_INTR_VALID (1U << 31)            /**< Valid. */
/** @} */

/** @name Guest interruptibility state (0x4824; SDM Vol. 3C 24.4.2) and RFLAGS
 * @{ */
#define VIRQ_VMX_INTERRUPTIBILITY_STI (1U << 0)    /**< Blocking by STI. */
#define VIRQ_VMX_INTERRUPTIBILITY_MOV_SS (1U << 1) /**< Blocking by MOV SS. */
#define VIRQ_VMX_INTERRUPTIBILITY_SMI (1U << 2)    /**< Blocking by SMI. */
#define VIRQ_VMX_INTERRUPTIBILITY_NMI (1U << 3)    /**< Blocking by (virtual) NMI. */
#define VIRQ_VMX_ACTIVITY_ACTIVE 0U                /**< Activity state: active. */
#define VIRQ_VMX_ACTIVITY_HLT 1U                   /**< Activity state: HLT. */
#define VIRQ_VMX_ACTIVITY_SHUTDOWN 2U              /**< Activity state: shutdown. */
#define VIRQ_VMX_ACTIVITY_WAIT_SIPI 3U             /**< Activity state: wait-for-SIPI. */
#define VIRQ_VMX_RFLAGS_IF (1ULL << 9)             /**< RFLAGS.IF. */
#define VIRQ_VMX_CR0_PE (1ULL << 0)                /**< CR0.PE. */
/** @} */

/** @name Basic exit reasons (bits 15:0 of 0x4402; SDM Vol. 3C Appendix C)
 * @{ */
#define VIRQ_VMX_EXIT_REASON_EXCEPTION_NMI 0U         /**< Exception or NMI. */
#define VIRQ_VMX_EXIT_REASON_EXT_INTR 1U              /**< External interrupt. */
#define VIRQ_VMX_EXIT_REASON_TRIPLE_FAULT 2U          /**< Triple fault. */
#define VIRQ_VMX_EXIT_REASON_INTR_WINDOW 7U           /**< Interrupt window. */
#define VIRQ_VMX_EXIT_REASON_NMI_WINDOW 8U            /**< NMI window. */
#define VIRQ_VMX_EXIT_REASON_HLT 12U                  /**< HLT. */
#define VIRQ_VMX_EXIT_REASON_RDMSR 31U                /**< RDMSR. */
#define VIRQ_VMX_EXIT_REASON_WRMSR 32U                /**< WRMSR. */
#define VIRQ_VMX_EXIT_REASON_APIC_ACCESS 44U          /**< APIC access. */
#define VIRQ_VMX_EXIT_REASON_EPT_VIOLATION 48U        /**< EPT violation. */
#define VIRQ_VMX_EXIT_REASON_ENTRY_FAILURE (1U << 31) /**< Bit 31: VM-entry failure. */
/** @} */

/** @brief Guest registers the embedder keeps (not in the VMCS). */
enum virq_vmx_gpr {
	VIRQ_VMX_GPR_RAX = 0, /**< RAX (EDX:EAX carries MSR values). */
	VIRQ_VMX_GPR_RCX = 1, /**< RCX (ECX: the MSR index). */
	VIRQ_VMX_GPR_RDX = 2, /**< RDX. */
};

/** @brief The embedder's VMX instructions. ctx first; const table. */
struct virq_vmx_ops {
	/** Required. VMREAD of @p field in the current VMCS. */
	uint64_t (*vmread)(void *ctx, uint32_t field);
	/** Required. VMWRITE of @p value to @p field in the current VMCS. */
	void (*vmwrite)(void *ctx, uint32_t field, uint64_t value);
	/** Required. RDMSR of a VMX capability MSR (VIRQ_MSR_IA32_VMX_*); init only. */
	uint64_t (*rdmsr)(void *ctx, uint32_t msr);
	/** Optional. Reads a guest register. NULL: MSR exits are the embedder's. */
	uint64_t (*read_gpr)(void *ctx, enum virq_vmx_gpr reg);
	/** Optional (required with read_gpr). Writes a guest register. */
	void (*write_gpr)(void *ctx, enum virq_vmx_gpr reg, uint64_t value);
	/** Optional. Loads CR2 for a \#PF injection. NULL: ::VIRQ_VMX_ENTRY_CR2. */
	void (*write_cr2)(void *ctx, uint64_t cr2);
};

/** @brief How much of the LAPIC the CPU accelerates. */
enum virq_vmx_level {
	VIRQ_VMX_LEVEL_INJECT = 0,     /**< Injection through 0x4016 only (implemented). */
	VIRQ_VMX_LEVEL_TPR_SHADOW = 1, /**< + TPR shadow and threshold (coming; refused). */
	VIRQ_VMX_LEVEL_APICV = 2,      /**< + virtual-interrupt delivery (coming; refused). */
};

/** @name Configuration flags (virq_vmx_config::flags)
 * @{ */
/** Use virtual NMIs (NMI exiting, virtual NMIs, NMI-window exiting). Without
 *  it the policy tracks NMI blocking (::VIRQ_VCPU_OPT_NMI_BLOCKING). */
#define VIRQ_VMX_F_VIRTUAL_NMIS (1U << 0)
/** Set "acknowledge interrupt on exit": a host interrupt's vector is read at the exit. */
#define VIRQ_VMX_F_ACK_INTR_ON_EXIT (1U << 1)
/** The VMCS runs with "unrestricted guest": a real-mode event gets no error code. */
#define VIRQ_VMX_F_UNRESTRICTED_GUEST (1U << 2)
/** @} */

/** @brief virq_vmx_vcpu_init() configuration. */
struct virq_vmx_config {
	uint32_t level;        /**< ::virq_vmx_level. */
	uint32_t flags;        /**< VIRQ_VMX_F_*. */
	uint32_t vcpu_options; /**< Policy options (VIRQ_VCPU_OPT_*) init sets. */
};

/** @name Controls virq_vmx_missing() reports
 * @{ */
#define VIRQ_VMX_MISSING_EXT_INTR_EXITING (1U << 0) /**< External-interrupt exiting. */
#define VIRQ_VMX_MISSING_INTR_WINDOW (1U << 1)      /**< Interrupt-window exiting. */
#define VIRQ_VMX_MISSING_VIRTUAL_NMIS (1U << 2)     /**< NMI exiting, virtual NMIs or NMI window. */
#define VIRQ_VMX_MISSING_ACK_INTR_ON_EXIT (1U << 3) /**< Acknowledge interrupt on exit. */
/** @} */

/** @brief Counters of the glue. */
struct virq_vmx_stats {
	uint64_t entries;          /**< virq_vmx_prepare_entry() calls that let the guest run. */
	uint64_t exits;            /**< virq_vmx_handle_exit() calls. */
	uint64_t injected;         /**< Events written to 0x4016. */
	uint64_t reinjected;       /**< IDT-vectoring events handed to the policy. */
	uint64_t reinject_refused; /**< IDT-vectoring events the policy refused (dropped). */
	uint64_t msr;              /**< x2APIC MSR exits served. */
	uint64_t apic_access;      /**< virq_vmx_apic_access() calls. */
};

/** @brief Per-vCPU glue state. Caller-allocated; fields are private. */
struct virq_vmx_vcpu {
	/** @privatesection */
	const struct virq_vmx_ops *ops;
	void *ctx;
	struct virq_vcpu *policy;
	struct virq_lapic *lapic;
	uint64_t basic, misc;
	uint32_t flags, missing, proc_ctls;
	uint8_t halted, halted_if, reinj_pf, reserved;
	struct virq_vmx_stats stats;
};

/**
 * @brief Binds the glue to a policy and its LAPIC, checks the capability
 *        MSRs and writes the controls it owns into the current VMCS.
 *
 * Required: external-interrupt exiting and interrupt-window exiting (and
 * the latter may be 0); with ::VIRQ_VMX_F_VIRTUAL_NMIS NMI exiting, virtual
 * NMIs and NMI-window exiting; with ::VIRQ_VMX_F_ACK_INTR_ON_EXIT that
 * control. Allowed settings come from the TRUE_* MSRs when IA32_VMX_BASIC
 * bit 55 says they exist. Init sets the pin-based and VM-exit bits, clears
 * both window bits, and sets the policy's options to
 * virq_vmx_config::vcpu_options, plus ::VIRQ_VCPU_OPT_NMI_BLOCKING without
 * virtual NMIs. The embedder owns every other control.
 *
 * @param vx     The glue state.
 * @param policy The vCPU's policy, initialised (virq_vcpu_init()).
 * @param lapic  Its LAPIC (x2APIC MSR and APIC-access exits), or NULL.
 * @param ops    vmread, vmwrite and rdmsr required.
 * @param ctx    Passed to @p ops.
 * @param cfg    The configuration.
 * @return 0; -::VIRQ_EINVAL for NULL arguments, a missing required hook, an
 *         unknown flag or option; -::VIRQ_ENOTSUP for a level other than
 *         ::VIRQ_VMX_LEVEL_INJECT, or a control the CPU lacks (which:
 *         virq_vmx_missing()). Nothing is written on an error.
 * @note Owner thread, VMCS current.
 */
VIRQ_API int virq_vmx_vcpu_init(struct virq_vmx_vcpu *vx, struct virq_vcpu *policy,
				struct virq_lapic *lapic, const struct virq_vmx_ops *ops, void *ctx,
				const struct virq_vmx_config *cfg);

/** @brief The VIRQ_VMX_MISSING_* controls the last virq_vmx_vcpu_init() lacked. */
VIRQ_API uint32_t virq_vmx_missing(const struct virq_vmx_vcpu *vx);

/** @name virq_vmx_prepare_entry() flags (virq_vmx_entry::flags)
 * @{ */
#define VIRQ_VMX_ENTRY_INIT (1U << 0)         /**< INIT: put the vCPU in its INIT state. */
#define VIRQ_VMX_ENTRY_SIPI (1U << 1)         /**< Start at virq_vmx_entry::sipi_vector << 12. */
#define VIRQ_VMX_ENTRY_SMI (1U << 2)          /**< Enter SMM (the embedder's job). */
#define VIRQ_VMX_ENTRY_TRIPLE_FAULT (1U << 3) /**< Shut the vCPU down; do not enter. */
#define VIRQ_VMX_ENTRY_WAIT_SIPI (1U << 4)    /**< Waits for a start-up IPI; do not enter. */
#define VIRQ_VMX_ENTRY_HALTED (1U << 5)       /**< Halted, nothing wakes it; do not enter. */
/** Do not enter: wait for a kick (or reset), then prepare again. */
#define VIRQ_VMX_ENTRY_NO_ENTRY                                                                    \
	(VIRQ_VMX_ENTRY_TRIPLE_FAULT | VIRQ_VMX_ENTRY_WAIT_SIPI | VIRQ_VMX_ENTRY_HALTED)
#define VIRQ_VMX_ENTRY_IMMEDIATE_EXIT (1U << 6) /**< Exit right after entry (timer 0, self-IPI). */
#define VIRQ_VMX_ENTRY_CR2 (1U << 7)      /**< Load virq_vmx_entry::cr2 into CR2 (no write_cr2). */
#define VIRQ_VMX_ENTRY_INJECTED (1U << 8) /**< An event was written to 0x4016. */
/** An NMI waits and there are no virtual NMIs: arrange an exit soon. */
#define VIRQ_VMX_ENTRY_NMI_PENDING (1U << 9)
/** @} */

/** @brief What virq_vmx_prepare_entry() leaves to the embedder. */
struct virq_vmx_entry {
	uint32_t flags;                     /**< VIRQ_VMX_ENTRY_*. */
	uint8_t sipi_vector;                /**< With ::VIRQ_VMX_ENTRY_SIPI. */
	uint8_t reserved[3];                /**< Zero. */
	uint64_t cr2;                       /**< With ::VIRQ_VMX_ENTRY_CR2. */
	struct virq_vcpu_decision decision; /**< The policy's decision, for logging. */
};

/**
 * @brief Before VMRESUME: decides and encodes this entry's event.
 *
 * Reads guest RFLAGS and interruptibility (and CR0 with
 * ::VIRQ_VMX_F_UNRESTRICTED_GUEST), calls virq_vcpu_decide() and writes
 * 0x4016 (and 0x4018 with an error code, 0x401A for types 4-6) for the
 * event it decided, CR2 for a \#PF, and the interrupt-window and NMI-window
 * bits of the primary controls exactly while something waits for them.
 * Call once per entry: the vector it writes is acknowledged already.
 *
 * @return out->flags (0: enter, nothing else to do).
 * @note Owner thread, VMCS current.
 */
VIRQ_API uint32_t virq_vmx_prepare_entry(struct virq_vmx_vcpu *vx, struct virq_vmx_entry *out);

/** @brief What virq_vmx_handle_exit() answers. */
enum virq_vmx_exit_action {
	VIRQ_VMX_EXIT_CONTINUE = 0,     /**< Handled: prepare and enter again. */
	VIRQ_VMX_EXIT_HOST_INTR = 1,    /**< The host's interrupt (virq_vmx_exit::host_vector). */
	VIRQ_VMX_EXIT_HOST_NMI = 2,     /**< The host's NMI: run the host's NMI handler. */
	VIRQ_VMX_EXIT_HALT = 3,         /**< HLT, nothing wakes it: wait for a kick. */
	VIRQ_VMX_EXIT_TRIPLE_FAULT = 4, /**< The guest shut down. */
	/** xAPIC page access (virq_vmx_exit::apic_offset, apic_write): decode the
	 *  instruction, call virq_vmx_apic_access(), advance RIP. */
	VIRQ_VMX_EXIT_APIC_ACCESS = 5,
	VIRQ_VMX_EXIT_ENTRY_FAILED = 6, /**< VM entry failed (exit reason bit 31). */
	VIRQ_VMX_EXIT_UNHANDLED = 7,    /**< Not the glue's exit: the embedder's. */
};

/** @brief Details of an exit for the embedder. */
struct virq_vmx_exit {
	uint32_t reason;        /**< The exit reason field (0x4402). */
	int16_t host_vector;    /**< ::VIRQ_VMX_EXIT_HOST_INTR: the vector; -1 unacknowledged. */
	uint8_t apic_write;     /**< ::VIRQ_VMX_EXIT_APIC_ACCESS: 1 write, 0 read. */
	uint8_t reserved;       /**< Zero. */
	uint32_t apic_offset;   /**< ::VIRQ_VMX_EXIT_APIC_ACCESS: offset in the page. */
	uint64_t qualification; /**< Exit qualification (0x6400), when the glue read it. */
};

/**
 * @brief After a VM exit: takes the interrupted event, then decodes the exit.
 *
 * First, always, valid IDT-vectoring information (with its error code and,
 * for types 4-6, the exit instruction length) goes to virq_vcpu_reinject(),
 * and a re-injected NMI clears blocking by NMI. Then: external interrupt
 * (the host's), NMI (the host's), interrupt and NMI windows, HLT (skipped;
 * the policy's wake rule), RDMSR/WRMSR of 0x800-0x8FF (LAPIC, skipped; its
 * \#GP queued with virq_vcpu_inject_gp()), APIC access, triple fault. An
 * "NMI unblocking due to IRET" bit re-sets blocking by NMI (the IRET runs
 * again).
 *
 * @return A ::virq_vmx_exit_action.
 * @note Owner thread, VMCS current.
 */
VIRQ_API enum virq_vmx_exit_action virq_vmx_handle_exit(struct virq_vmx_vcpu *vx,
							struct virq_vmx_exit *out);

/**
 * @brief An xAPIC MMIO access the embedder decoded after
 *        ::VIRQ_VMX_EXIT_APIC_ACCESS (the embedder advances RIP).
 * @param vx       The glue state.
 * @param offset   Offset in the APIC page.
 * @param is_write Write *@p value, or read into it.
 * @param size     1, 2, 4 or 8 (the LAPIC answers odd sizes architecturally).
 * @param value    The data.
 * @return 0; -::VIRQ_EINVAL for NULL, no LAPIC, or an offset/size outside the page.
 * @note Owner thread.
 */
VIRQ_API int virq_vmx_apic_access(struct virq_vmx_vcpu *vx, uint32_t offset, bool is_write,
				  unsigned size, uint64_t *value);

/** @brief Counters since init. @note Owner thread. */
VIRQ_API const struct virq_vmx_stats *virq_vmx_get_stats(const struct virq_vmx_vcpu *vx);

/** @brief What an entry check needs to know of the CPU and the guest. */
struct virq_vmx_check_env {
	uint64_t vmx_basic;        /**< IA32_VMX_BASIC. */
	uint64_t vmx_misc;         /**< IA32_VMX_MISC. */
	uint32_t pin_ctls;         /**< Pin-based controls (virtual NMIs). */
	uint32_t proc_ctls2;       /**< Secondary controls (unrestricted guest), or 0. */
	uint32_t interruptibility; /**< Guest interruptibility state. */
	uint32_t activity;         /**< Guest activity state. */
	uint64_t cr0;              /**< Guest CR0. */
	bool mtf;                  /**< The CPU supports the monitor trap flag. */
};

/** @brief Which VM-entry check failed (virq_vmx_check_entry_event()). */
enum virq_vmx_check {
	VIRQ_VMX_CHECK_OK = 0,         /**< Passes. */
	VIRQ_VMX_CHECK_TYPE = 1,       /**< Type 1, or 7 without MTF. */
	VIRQ_VMX_CHECK_VECTOR = 2,     /**< Vector wrong for the type. */
	VIRQ_VMX_CHECK_ERROR_CODE = 3, /**< Bit 11 wrong for type, vector or CR0.PE. */
	VIRQ_VMX_CHECK_RESERVED = 4,   /**< Bits 30:12 set, or error code bits 31:16. */
	VIRQ_VMX_CHECK_INSN_LEN = 5,   /**< Types 4-6: length not 1-15 (0 per MISC[30]). */
	VIRQ_VMX_CHECK_BLOCKING = 6,   /**< STI/MOV-SS/NMI blocking forbids the type. */
	VIRQ_VMX_CHECK_ACTIVITY = 7,   /**< The activity state forbids the event. */
};

/**
 * @brief The VM-entry checks on event injection (SDM Vol. 3C 26.2.1.3
 *        "Checks on VM-Entry Control Fields", 26.3.1.5 "Checks on Guest
 *        Non-Register State"), for a debug-time check of what was written.
 * @param env        The CPU and guest state.
 * @param info       0x4016 (nothing is checked unless valid).
 * @param error_code 0x4018.
 * @param insn_len   0x401A.
 * @return A ::virq_vmx_check; 0 when VM entry would accept the event.
 * @note Any thread; pure.
 */
VIRQ_API int virq_vmx_check_entry_event(const struct virq_vmx_check_env *env, uint32_t info,
					uint32_t error_code, uint32_t insn_len);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_VMX_H */
