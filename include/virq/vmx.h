/* SPDX-License-Identifier: MIT */
/**
 * @file vmx.h
 * @brief The VMX glue: encodes the vCPU policy's decisions into a VMCS and
 *        decodes the VM exits that belong to the interrupt controllers.
 *
 * Freestanding, part of libvirq. The architectural constants (VMCS field
 * encodings, control bits, exit reasons) are in <virq/regs/vmx.h>. The
 * policy (vcpu.h) decides what to inject; this glue only reads the guest's
 * interruptibility through `ops->vmread`, encodes the decision (VM-entry
 * interruption information, error code, instruction length, CR2, the
 * interrupt-window and NMI-window controls) and, after an exit, hands an
 * interrupted event back to the policy and serves the LAPIC's exits.
 * VMREAD, VMWRITE and RDMSR are the embedder's callbacks, so a test can run
 * it against a field store.
 *
 * @code
 * static const struct virq_vmx_ops ops = { .size = sizeof(struct virq_vmx_ops),
 *         .vmread = my_vmread,
 *         .vmwrite = my_vmwrite, .rdmsr = my_rdmsr,
 *         .read_gpr = my_read_gpr, .write_gpr = my_write_gpr };
 * struct virq_vmx_config cfg = { .size = sizeof(cfg), .level = VIRQ_VMX_LEVEL_INJECT,
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
 * Levels (virq_vmx_config::level): at ::VIRQ_VMX_LEVEL_INJECT every
 * interrupt is injected through the VM-entry interruption-information
 * field. ::VIRQ_VMX_LEVEL_TPR_SHADOW adds the TPR shadow: the LAPIC's
 * register page is the virtual-APIC page, MOV to/from CR8 (and, with an
 * APIC-access page, xAPIC TPR accesses) run without exits, the glue
 * programs the TPR threshold before each entry and resynchronises the
 * LAPIC after each exit (virq_lapic_hw_sync()). ::VIRQ_VMX_LEVEL_APICV
 * adds APIC-register virtualization and virtual-interrupt delivery: the
 * CPU delivers and retires the LAPIC's vectors itself from RVI/SVI, which
 * the glue writes with the EOI-exit bitmap before each entry; it serves
 * EOI-induced and APIC-write exits; "virtualize APIC accesses" and
 * "virtualize x2APIC mode" follow the LAPIC's mode, as do the x2APIC bits
 * of the MSR bitmap. doc/vmx.md describes what each level writes.
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
#include <virq/regs/vmx.h>
#include <virq/vcpu.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Guest registers the embedder keeps (not in the VMCS). */
enum virq_vmx_gpr {
	VIRQ_VMX_GPR_RAX = 0, /**< RAX (EDX:EAX carries MSR values). */
	VIRQ_VMX_GPR_RCX = 1, /**< RCX (ECX: the MSR index). */
	VIRQ_VMX_GPR_RDX = 2, /**< RDX. */
};

/** @brief The embedder's VMX instructions. ctx first; const table. */
struct virq_vmx_ops {
	/** sizeof(struct virq_vmx_ops) as the caller was built: first, checked by
	 *  virq_vmx_vcpu_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint32_t reserved; /**< Zero. */
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

/** @brief The first published size of struct virq_vmx_ops: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_VMX_OPS_SIZE_MIN 56U

/** @brief How much of the LAPIC the CPU accelerates. */
enum virq_vmx_level {
	/** Injection through 0x4016 only; the LAPIC is not accelerated. */
	VIRQ_VMX_LEVEL_INJECT = 0,
	/** + "use TPR shadow" (CR8 exits off), the TPR threshold, and with an
	 *  APIC-access page "virtualize APIC accesses" in xAPIC mode; the
	 *  LAPIC runs with ::VIRQ_LAPIC_ACCEL_TPR_SHADOW. Interrupts are still
	 *  injected through 0x4016. */
	VIRQ_VMX_LEVEL_TPR_SHADOW = 1,
	/** + APIC-register virtualization and virtual-interrupt delivery
	 *  (external-interrupt exiting is always on), "virtualize x2APIC mode"
	 *  in x2APIC mode; the LAPIC runs with ::VIRQ_LAPIC_ACCEL_APICV and the
	 *  CPU delivers its fixed vectors (RVI/SVI); the policy injects only
	 *  ExtINT, NMI and exceptions. */
	VIRQ_VMX_LEVEL_APICV = 2,
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
/** Posted-interrupt processing (::VIRQ_VMX_LEVEL_APICV and
 *  ::VIRQ_VMX_F_ACK_INTR_ON_EXIT only): the LAPIC's descriptor
 *  (virq_lapic::pi) is the CPU's posted-interrupt descriptor, at
 *  virq_vmx_config::pi_desc_addr, notified with virq_vmx_config::pi_vector.
 *  See <virq/vmx_pi.h> and doc/vmx.md "Posted interrupts (VT-x)". */
#define VIRQ_VMX_F_POSTED_INTR (1U << 3)
/** With ::VIRQ_VMX_F_POSTED_INTR: the host's local APICs run in x2APIC
 *  mode, so NDST holds the 32-bit APIC ID; without it NDST[15:8] holds
 *  the 8-bit xAPIC ID. */
#define VIRQ_VMX_F_HOST_X2APIC (1U << 4)
/** IPI virtualization (with ::VIRQ_VMX_F_POSTED_INTR): the glue sets
 *  "activate tertiary controls" and the tertiary control "IPI
 *  virtualization", writes virq_vmx_config::ipiv_table_addr and
 *  virq_vmx_config::ipiv_last_index to the VMCS and, in x2APIC mode, lets
 *  writes of the ICR (MSR 830H) through the MSR bitmap. The CPU then posts
 *  fixed physical IPIs itself; the rest come back as APIC-write exits at
 *  300H, which virq_vmx_handle_exit() sends. See <virq/ipiv.h> for the
 *  table and doc/vmx.md "IPI virtualization". */
#define VIRQ_VMX_F_IPIV (1U << 5)
/** @} */

/** @brief virq_vmx_vcpu_init() configuration. Zero every field you do not use. */
struct virq_vmx_config {
	/** sizeof(struct virq_vmx_config) as the caller was built: first, checked by
	 *  virq_vmx_vcpu_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint32_t level;        /**< ::virq_vmx_level. */
	uint32_t flags;        /**< VIRQ_VMX_F_*. */
	uint32_t vcpu_options; /**< Policy options (VIRQ_VCPU_OPT_*) init sets. */
	uint32_t reserved;     /**< Zero. */
	uint32_t reserved2;    /**< Zero (was padding). */
	/** From ::VIRQ_VMX_LEVEL_TPR_SHADOW: the host-physical address of the
	 *  LAPIC's register page (the virtual-APIC page, VMCS 0x2012). Non-zero,
	 *  4 KiB aligned (below 4 GiB when IA32_VMX_BASIC[48] says so). Ignored
	 *  at ::VIRQ_VMX_LEVEL_INJECT. */
	uint64_t virtual_apic_addr;
	/** Optional, from ::VIRQ_VMX_LEVEL_TPR_SHADOW: the host-physical address
	 *  of an APIC-access page (VMCS 0x2014), 4 KiB aligned, that the
	 *  embedder's EPT maps at the guest's xAPIC base; 0 for none. With one
	 *  the glue sets "virtualize APIC accesses" while the LAPIC is in xAPIC
	 *  mode. Ignored at ::VIRQ_VMX_LEVEL_INJECT. */
	uint64_t apic_access_addr;
	/** Optional: the embedder's 4 KiB MSR bitmap (SDM layout, the page
	 *  VMCS 0x2004 names), or NULL. The glue owns its bits for MSRs
	 *  0x800-0x8FF, reads and writes, and keeps them right for the level
	 *  and the LAPIC's mode (doc/vmx.md "MSR bitmap"); the embedder owns
	 *  the rest, "use MSR bitmaps" and 0x2004. */
	uint8_t *msr_bitmap;
	/** With ::VIRQ_VMX_F_POSTED_INTR: the host-physical address of the
	 *  LAPIC's descriptor virq_lapic::pi (VMCS 0x2016), non-zero, 64-byte
	 *  aligned (below 4 GiB when IA32_VMX_BASIC[48] says so). Ignored
	 *  without the flag. */
	uint64_t pi_desc_addr;
	/** With ::VIRQ_VMX_F_POSTED_INTR: the posted-interrupt notification
	 *  vector (VMCS 0x0002), 32-255, the host's vector for it. */
	uint8_t pi_vector;
	/** With ::VIRQ_VMX_F_POSTED_INTR: the wakeup vector, 32-255 and not
	 *  pi_vector: NV while the vCPU is blocked (virq_vmx_pi_block()). */
	uint8_t pi_wakeup_vector;
	/** With ::VIRQ_VMX_F_IPIV: the last PID-pointer index (VMCS 0x0008),
	 *  virq_ipiv_last_index() of the VM's table; zero without the flag. */
	uint16_t ipiv_last_index;
	uint32_t reserved4; /**< Zero. */
	/** With ::VIRQ_VMX_F_IPIV: the host-physical address of the VM's
	 *  PID-pointer table (VMCS 0x2042, <virq/ipiv.h>), non-zero, 8-byte
	 *  aligned (below 4 GiB when IA32_VMX_BASIC[48] says so); zero without
	 *  the flag. (The field that grew the structure to 72 bytes: a caller
	 *  built with the 64-byte one cannot ask for IPI virtualization.) */
	uint64_t ipiv_table_addr;
};

/** @brief The first published size of struct virq_vmx_config: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_VMX_CONFIG_SIZE_MIN 48U

/** @name Controls virq_vmx_missing() reports
 * @{ */
#define VIRQ_VMX_MISSING_EXT_INTR_EXITING (1U << 0) /**< External-interrupt exiting. */
#define VIRQ_VMX_MISSING_INTR_WINDOW (1U << 1)      /**< Interrupt-window exiting. */
#define VIRQ_VMX_MISSING_VIRTUAL_NMIS (1U << 2)     /**< NMI exiting, virtual NMIs or NMI window. */
#define VIRQ_VMX_MISSING_ACK_INTR_ON_EXIT (1U << 3) /**< Acknowledge interrupt on exit. */
/** Use TPR shadow (settable), CR8-load and CR8-store exiting (clearable). */
#define VIRQ_VMX_MISSING_TPR_SHADOW (1U << 4)
/** Activate secondary controls and "virtualize APIC accesses" (settable and
 *  clearable), with an APIC-access page. */
#define VIRQ_VMX_MISSING_VIRT_APIC_ACCESSES (1U << 5)
/** APIC-register virtualization and virtual-interrupt delivery (settable). */
#define VIRQ_VMX_MISSING_APICV (1U << 6)
/** Virtualize x2APIC mode (settable and clearable). */
#define VIRQ_VMX_MISSING_VIRT_X2APIC (1U << 7)
/** Process posted interrupts (pin-based bit 7, settable). */
#define VIRQ_VMX_MISSING_POSTED_INTR (1U << 8)
/** "Activate tertiary controls" (primary bit 17) and the tertiary control
 *  "IPI virtualization" (IA32_VMX_PROCBASED_CTLS3 bit 4), settable. */
#define VIRQ_VMX_MISSING_IPIV (1U << 9)
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
	uint64_t tpr_below;        /**< TPR-below-threshold exits. */
	uint64_t apic_write;       /**< APIC-write exits served. */
	uint64_t eoi_induced;      /**< EOI-induced exits served. */
	uint64_t mode_switches;    /**< LAPIC mode changes the controls followed. */
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
	uint8_t halted, halted_if, reinj_pf, level;
	uint64_t apic_access_addr;
	uint8_t *msr_bitmap;
	uint32_t proc_ctls2;   /* the secondary controls as last written */
	uint32_t eoi_exit_gen; /* of the loaded EOI-exit bitmap */
	uint16_t reserved16;
	uint8_t tpr_threshold; /* as last written */
	uint8_t mode;          /* LAPIC mode the controls follow */
	uint8_t loaded;        /* VMX_LOADED_*: which cached fields are in the VMCS */
	uint8_t pi_vector;     /* posted-interrupt notification vector (0: no PI) */
	uint8_t pi_wakeup;     /* wakeup vector */
	uint8_t pad;
	uint32_t pi_state; /* enum virq_vmx_pi_state: owner writes, any thread reads */
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
 * virtual NMIs.
 *
 * From ::VIRQ_VMX_LEVEL_TPR_SHADOW: also "use TPR shadow" (allowed 1),
 * CR8-load and CR8-store exiting (allowed 0) set and cleared, the
 * virtual-APIC address written (0x2012), and with an APIC-access page
 * 0x2014, "activate secondary controls" and "virtualize APIC accesses"
 * (allowed both ways: it follows the LAPIC's mode), the embedder's other
 * secondary controls read back and kept. The LAPIC goes to
 * ::VIRQ_LAPIC_ACCEL_TPR_SHADOW. At ::VIRQ_VMX_LEVEL_APICV also
 * APIC-register virtualization and virtual-interrupt delivery (allowed
 * 1) and "virtualize x2APIC mode" (allowed both ways) in the secondary
 * controls, and the LAPIC goes to ::VIRQ_LAPIC_ACCEL_APICV. With
 * virq_vmx_config::msr_bitmap the bits of MSRs 0x800-0x8FF are written for
 * the level and mode. With ::VIRQ_VMX_F_POSTED_INTR also "process posted
 * interrupts" (pin-based bit 7, allowed 1), the notification vector
 * (0x0002) and the descriptor address (0x2016); the LAPIC's descriptor
 * gets NV and SN set (<virq/vmx_pi.h>: ::VIRQ_VMX_PI_PREEMPTED until
 * virq_vmx_pi_load()). The embedder owns every other control.
 *
 * @param vx     The glue state.
 * @param policy The vCPU's policy, initialised (virq_vcpu_init()).
 * @param lapic  Its LAPIC (x2APIC MSR and APIC-access exits), or NULL at
 *               ::VIRQ_VMX_LEVEL_INJECT only.
 * @param ops    vmread, vmwrite and rdmsr required.
 * @param ctx    Passed to @p ops.
 * @param cfg    The configuration.
 * @return 0; -::VIRQ_EVERSION for a `size` of @p cfg or @p ops outside
 *         ::VIRQ_VMX_CONFIG_SIZE_MIN / ::VIRQ_VMX_OPS_SIZE_MIN to the
 *         library's sizeof; -::VIRQ_EINVAL for NULL arguments, a missing required hook, an
 *         unknown flag or option, a non-zero reserved field, from TPR
 *         shadow on no LAPIC, a zero or misaligned page address, or one
 *         above 4 GiB when IA32_VMX_BASIC[48] limits addresses; with
 *         ::VIRQ_VMX_F_POSTED_INTR a level below ::VIRQ_VMX_LEVEL_APICV,
 *         no ::VIRQ_VMX_F_ACK_INTR_ON_EXIT, a vector below 32 or two
 *         equal ones, a zero or misaligned (64 bytes) descriptor address,
 *         one above 4 GiB as before; ::VIRQ_VMX_F_HOST_X2APIC without it;
 *         -::VIRQ_ENOTSUP for a control the CPU lacks (which:
 *         virq_vmx_missing()). Nothing is written on an error.
 * @note Owner thread, VMCS current.
 */
VIRQ_API int virq_vmx_vcpu_init(struct virq_vmx_vcpu *vx, struct virq_vcpu *policy,
				struct virq_lapic *lapic, const struct virq_vmx_ops *ops, void *ctx,
				const struct virq_vmx_config *cfg);

/**
 * @brief The VIRQ_VMX_MISSING_* controls the last virq_vmx_vcpu_init() lacked.
 * @param vx The vCPU's glue state (NULL gives 0).
 * @return An OR of VIRQ_VMX_MISSING_* bits, 0 when nothing the configured
 *         level wants is missing.
 */
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
 * ::VIRQ_VMX_F_UNRESTRICTED_GUEST), calls virq_vcpu_decide(); from TPR
 * shadow on, when the vCPU enters, rewrites the controls that follow the
 * LAPIC's mode if it changed and the TPR threshold (0x401C) if it changed
 * (always at the first entry); at APICv level the guest interrupt status
 * (0x0810, RVI | SVI << 8) when it differs from the VMCS's, the EOI-exit
 * bitmap (0x201C-0x2022) when virq_lapic_eoi_exit_gen() moved (always at
 * the first entry), and last virq_lapic_hw_enter(); then writes
 * 0x4016 (and 0x4018 with an error code, 0x401A for types 4-6) for the
 * event it decided, CR2 for a \#PF, and the interrupt-window and NMI-window
 * bits of the primary controls exactly while something waits for them.
 * Call once per entry: the vector it writes is acknowledged already.
 *
 * @param vx  The vCPU's glue state (initialised with virq_vmx_vcpu_init();
 *            not NULL), its VMCS current on this CPU.
 * @param out Receives what the embedder still does before entry (a SIPI, a
 *            CR2 write, ...) and the decision; written in full. Not NULL.
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
 * From TPR shadow on, first virq_lapic_hw_sync(): the CPU may have written
 * the page; at APICv level an EOI-induced exit (reason 45) goes to
 * virq_lapic_hw_eoi() and an APIC-write exit (56) to virq_lapic_hw_write()
 * instead, and both answer ::VIRQ_VMX_EXIT_CONTINUE (trap-like, RIP
 * already past the instruction). Then, always, valid IDT-vectoring
 * information (with its error code and,
 * for types 4-6, the exit instruction length) goes to virq_vcpu_reinject(),
 * and a re-injected NMI clears blocking by NMI. Then: external interrupt
 * (the host's), NMI (the host's), interrupt and NMI windows, HLT (skipped;
 * the policy's wake rule), RDMSR/WRMSR of 0x800-0x8FF (LAPIC, skipped; its
 * \#GP queued with virq_vcpu_inject_gp()), APIC access, triple fault, and
 * at TPR shadow level TPR below threshold (trap-like: nothing to do). An
 * "NMI unblocking due to IRET" bit re-sets blocking by NMI (the IRET runs
 * again).
 *
 * @param vx  The vCPU's glue state (initialised; not NULL), its VMCS current
 *            on this CPU.
 * @param out Receives the exit's details (reason, host vector, APIC access
 *            offset, qualification); written in full. Not NULL.
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

/**
 * @brief Counters since init.
 * @param vx The vCPU's glue state (initialised; not NULL).
 * @return The counters, owned by @p vx and valid as long as it is.
 * @note Owner thread.
 */
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
	uint8_t vtpr;              /**< VTPR, byte 0x80 of the virtual-APIC page. */
	uint16_t reserved;         /**< Zero. */
	/** Primary controls. 0 (as older callers leave it): the APIC
	 *  virtualization controls are not checked. */
	uint32_t proc_ctls;
	uint32_t tpr_threshold;     /**< TPR threshold (0x401C). */
	uint64_t virtual_apic_addr; /**< Virtual-APIC address (0x2012). */
	uint64_t apic_access_addr;  /**< APIC-access address (0x2014). */
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
	/** TPR shadow without virtual-interrupt delivery: threshold bits 31:4
	 *  set, or (without "virtualize APIC accesses") threshold[3:0] above
	 *  VTPR[7:4]. */
	VIRQ_VMX_CHECK_TPR_THRESHOLD = 8,
	/** APIC controls that do not go together: x2APIC virtualization,
	 *  register virtualization or virtual-interrupt delivery without TPR
	 *  shadow; virtualize x2APIC mode with virtualize APIC accesses;
	 *  virtual-interrupt delivery without external-interrupt exiting. */
	VIRQ_VMX_CHECK_APIC_CTLS = 9,
	/** The virtual-APIC or APIC-access address is not 4 KiB aligned (or
	 *  above 4 GiB with IA32_VMX_BASIC[48]). */
	VIRQ_VMX_CHECK_APIC_ADDR = 10,
};

/**
 * @brief The VM-entry checks on event injection (SDM Vol. 3C 26.2.1.3
 *        "Checks on VM-Entry Control Fields", 26.3.1.5 "Checks on Guest
 *        Non-Register State"), for a debug-time check of what was written.
 *
 * With virq_vmx_check_env::proc_ctls non-zero, first the checks of SDM Vol.
 * 3C 26.2.1.1 "VM-Execution Control Fields" on the APIC virtualization
 * controls the TPR-shadow and APICv levels write (TPR threshold, control
 * combinations, page addresses), whether or not an event is injected.
 *
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
