/* SPDX-License-Identifier: MIT */
/**
 * @file passthrough.h
 * @brief LAPIC passthrough (ACRN's model): the guest drives the physical
 *        x2APIC; its APIC ID, LDR and ICR writes stay virtual.
 *
 * A real-time guest on dedicated physical CPUs gets the physical local
 * APIC once it switches to x2APIC mode: its interrupts go straight to its
 * IDT, its EOIs, TPR, timer and LVT writes to the hardware. Two things
 * cannot be passed through, because the guest's view of the topology is
 * virtual:
 *  - the APIC ID (802H) and the LDR (80DH) it reads: the embedder traps
 *    those reads in the MSR bitmap and answers them from the vCPU's
 *    emulated LAPIC with virq_pt_rdmsr() (the IDs the guest saw in its
 *    xAPIC phase and in the ACPI tables);
 *  - the ICR (830H) it writes: its destination names virtual APIC IDs.
 *    The embedder traps the write and calls virq_pt_icr_write(), which
 *    resolves the destination (physical, x2APIC logical, the shorthands
 *    self, all including self and all excluding self, the broadcast
 *    0xFFFFFFFF) against the emulated LAPICs' virtual IDs and LDRs, in
 *    vCPU index order, and returns one physical ICR value per target:
 *    the same vector, delivery mode, level and trigger, with no
 *    shorthand, physical destination mode and the target's physical
 *    x2APIC ID from the embedder's callback. INIT and start-up IPIs are
 *    returned as actions to emulate (a vCPU reset or start), never sent
 *    to a physical CPU. virq_pt_msr_intercepted() lists the accesses of
 *    800H-8FFH that must exit.
 *
 * The emulated LAPIC is the library's struct virq_lapic of that vCPU, in
 * the VM's table: its ID and LDR are what the guest reads, and its mode
 * says whether the vCPU has switched to x2APIC (passthrough) mode. Its
 * other registers are not used while the physical LAPIC is the guest's.
 *
 * ## Threads
 *
 * virq_pt_icr_write() runs on the sender's thread, lock-free (it reads the
 * emulated LAPICs' IDs and modes as virq_vm_deliver() does); the callback
 * is called from it and must not call back into the VM.
 */
#ifndef VIRQ_PASSTHROUGH_H
#define VIRQ_PASSTHROUGH_H

#include <virq/error.h>
#include <virq/lapic.h>
#include <virq/platform.h>
#include <virq/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief The embedder's virtual-to-physical APIC ID translation.
 * @param ctx        The context given to virq_pt_icr_write().
 * @param vcpu       The target vCPU's index in the VM.
 * @param virtual_id Its virtual x2APIC ID (what the guest reads).
 * @param phys_id    Receives the x2APIC ID of the physical CPU it runs on
 *                   (the identity when virtual IDs are the physical ones,
 *                   as current ACRN sets them).
 * @return 0, or a negative value when the vCPU has no physical CPU (the
 *         whole ICR write then fails with -::VIRQ_ENOENT).
 */
typedef int (*virq_pt_phys_id_fn)(void *ctx, uint32_t vcpu, uint32_t virtual_id, uint32_t *phys_id);

/** @brief What the embedder does with one target of a passthrough ICR write. */
enum virq_pt_action {
	/** Write virq_pt_target::icr to the physical ICR (WRMSR 830H). */
	VIRQ_PT_SEND = 0,
	/** Emulate INIT on vCPU virq_pt_target::vcpu (a vCPU reset). */
	VIRQ_PT_INIT = 1,
	/** Emulate a start-up IPI on vCPU virq_pt_target::vcpu, start page
	 *  virq_pt_target::icr bits 7:0. */
	VIRQ_PT_SIPI = 2,
	/** Write virq_pt_target::icr to the physical ICR: it names the
	 *  sender's own physical CPU and carries the guest's invalid vector
	 *  or delivery mode, so the physical APIC refuses it and latches the
	 *  ESR bit the guest reads (SDM 10.5.3 "Error Handling": send illegal
	 *  vector, redirectable IPI). Nothing is delivered. */
	VIRQ_PT_ERROR = 3,
};

/** @brief One target of a passthrough ICR write. */
struct virq_pt_target {
	/** The physical ICR value: physical x2APIC ID in 63:32, no shorthand,
	 *  physical mode; vector, delivery mode, level and trigger as written. */
	uint64_t icr;
	uint32_t vcpu;     /**< Target vCPU index. */
	uint32_t phys_id;  /**< Its physical x2APIC ID (icr bits 63:32). */
	uint32_t action;   /**< ::virq_pt_action. */
	uint32_t reserved; /**< Zero. */
};

/**
 * @brief Translates a guest's x2APIC ICR write (WRMSR 830H, trapped) into
 *        physical ICR writes and emulated INIT/SIPI.
 *
 * Follows SDM 10.12.9 "ICR Operation in x2APIC Mode" and 10.12.10
 * "Determining IPI Destination in x2APIC Mode" against the virtual IDs:
 *  - bits 31:20, 17:16 or 13 set: ::VIRQ_GP (the guest's WRMSR faults),
 *    no target; bit 12 is ignored;
 *  - lowest priority (reserved in x2APIC mode) or a fixed vector below 16:
 *    one ::VIRQ_PT_ERROR target, the sender;
 *  - a delivery mode the shorthand does not allow (SDM Table 10-3 "Valid
 *    Combinations for the Pentium 4 and Intel Xeon Processors' Local xAPIC
 *    Interrupt Command Register": self
 *    and all including self take fixed only), SMI (the host's SMM is not
 *    the guest's), an INIT level de-assert: no target;
 *  - otherwise every enabled emulated LAPIC the destination selects, in
 *    vCPU index order: fixed and NMI as ::VIRQ_PT_SEND, INIT as
 *    ::VIRQ_PT_INIT, start-up as ::VIRQ_PT_SIPI. Destination 0xFF is APIC
 *    ID 255 in x2APIC format, not a broadcast.
 * @param vm      The VM (initialised; NULL: -::VIRQ_EINVAL).
 * @param sender  The writing vCPU's index; its emulated LAPIC must be in
 *                the table.
 * @param icr     EDX:EAX of the guest's WRMSR.
 * @param phys_id The translation (not NULL).
 * @param ctx     Passed to @p phys_id.
 * @param out     At least @p max entries; receives the targets.
 * @param max     Entries of @p out: at least virq_vm_config::nr_vcpus.
 * @param n       Receives the number of targets (0 on any error or verdict).
 * @return 0; ::VIRQ_GP (a verdict: inject \#GP, nothing to send);
 *         -::VIRQ_EINVAL for a NULL @p vm, @p phys_id, @p out or @p n, a
 *         @p sender out of range or absent, @p max below nr_vcpus;
 *         -::VIRQ_ESTATEMODE when the sender's LAPIC is not in x2APIC
 *         mode (no passthrough yet: its writes go to the emulated LAPIC);
 *         -::VIRQ_ENOENT when @p phys_id fails for a target or returns
 *         0xFFFFFFFF (a physical broadcast is never produced).
 * @note Sender's thread; lock-free.
 */
VIRQ_API int virq_pt_icr_write(struct virq_vm *vm, uint32_t sender, uint64_t icr,
			       virq_pt_phys_id_fn phys_id, void *ctx, struct virq_pt_target *out,
			       uint32_t max, uint32_t *n);

/**
 * @brief A trapped RDMSR of the x2APIC ID (802H) or LDR (80DH): the virtual
 *        values, from the vCPU's emulated LAPIC.
 * @param vlapic The vCPU's emulated LAPIC (initialised; NULL: -::VIRQ_EINVAL).
 * @param msr    802H or 80DH.
 * @param val    Receives the value (not NULL).
 * @return 0; ::VIRQ_GP when the emulated LAPIC is not in x2APIC mode (the
 *         RDMSR faults); -::VIRQ_ENOENT for another MSR (not virtual under
 *         passthrough); -::VIRQ_EINVAL for a NULL argument.
 * @note Owner thread of @p vlapic.
 */
VIRQ_API int virq_pt_rdmsr(struct virq_lapic *vlapic, uint32_t msr, uint64_t *val);

/**
 * @brief Whether an x2APIC MSR access must exit under passthrough (the MSR
 *        bitmap's bit for it).
 * @param msr   The MSR.
 * @param write true for WRMSR, false for RDMSR.
 * @return true for RDMSR of 802H and 80DH and WRMSR of 830H; false for
 *         every other access of 800H-8FFH (the physical x2APIC answers) and
 *         for MSRs outside that range (not this helper's decision).
 * @note Any thread.
 */
VIRQ_API bool virq_pt_msr_intercepted(uint32_t msr, bool write);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_PASSTHROUGH_H */
