/* SPDX-License-Identifier: MIT */
/**
 * @file vmx_pi.h
 * @brief VT-x posted interrupts in the VMX glue: the vCPU's scheduling
 *        state in the LAPIC's descriptor, and what a poster's kick does.
 *
 * With ::VIRQ_VMX_F_POSTED_INTR the LAPIC's posted-interrupt descriptor
 * (virq_lapic::pi, <virq/pi.h>) is the CPU's (SDM Vol. 3C
 * "Posted-Interrupt Processing"): a poster on any thread sets the PIR bit
 * and ON with virq_lapic_post(), and when that turned ON from 0 to 1 the
 * LAPIC calls `kick`. The kick hook asks virq_vmx_pi_kick() what to do:
 *
 * | vCPU state (set by)                               | NV        | SN | kick answer          |
 * |---------------------------------------------------|-----------|----|----------------------|
 * | ::VIRQ_VMX_PI_ROOT (virq_vmx_pi_load(), exits)     | notify    | 0  | ::VIRQ_VMX_PI_NONE   |
 * | ::VIRQ_VMX_PI_GUEST (virq_vmx_prepare_entry())     | notify    | 0  | ::VIRQ_VMX_PI_NOTIFY |
 * | ::VIRQ_VMX_PI_PREEMPTED (virq_vmx_pi_put(), init)  | notify    | 1  | ::VIRQ_VMX_PI_NONE   |
 * | ::VIRQ_VMX_PI_BLOCKED (virq_vmx_pi_block())        | wakeup    | 0  | ::VIRQ_VMX_PI_WAKE   |
 *
 * In ::VIRQ_VMX_PI_GUEST, posted work the notification does not carry (a
 * level-triggered vector, NMI, SMI, INIT, SIPI, ExtINT, a LINT change:
 * virq_lapic_has_posted_events()) answers ::VIRQ_VMX_PI_EXIT instead: the
 * CPU moves only PIR into VIRR, so the embedder sends its ordinary kick
 * IPI, which makes the guest exit.
 *
 * The owner's transitions and the poster's decision are ordered like the
 * two sides of KVM's vcpu->mode handshake: virq_vmx_prepare_entry() stores
 * ::VIRQ_VMX_PI_GUEST before it folds PIR into IRR and writes RVI, and a
 * poster sets PIR and ON before it reads the state, so a post that the
 * fold misses sees ::VIRQ_VMX_PI_GUEST and notifies. The embedder calls
 * virq_vmx_prepare_entry() with the host's interrupts disabled and keeps
 * them disabled until VMRESUME, so the notification stays pending in the
 * physical APIC and the CPU processes it in VMX non-root operation.
 *
 * Without ::VIRQ_VMX_F_POSTED_INTR the same states and answers hold, with
 * ::VIRQ_VMX_PI_EXIT in place of ::VIRQ_VMX_PI_NOTIFY, and the descriptor's
 * NV, NDST and SN are left alone.
 */
#ifndef VIRQ_VMX_PI_H
#define VIRQ_VMX_PI_H

#include <virq/vmx.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Where the vCPU is, as the posters see it. */
enum virq_vmx_pi_state {
	/** On a physical CPU in VMX root operation: it folds PIR before its
	 *  next entry. NV = notification vector, SN = 0. */
	VIRQ_VMX_PI_ROOT = 0,
	/** From virq_vmx_prepare_entry() to the next exit: in (or entering)
	 *  VMX non-root operation on the CPU NDST names. */
	VIRQ_VMX_PI_GUEST = 1,
	/** Descheduled while runnable (or never loaded yet): SN = 1, posts
	 *  raise no notification; virq_vmx_pi_load() re-arms. */
	VIRQ_VMX_PI_PREEMPTED = 2,
	/** Waiting for an interrupt: NV = wakeup vector, SN = 0. */
	VIRQ_VMX_PI_BLOCKED = 3,
};

/** @brief What the kick hook does (virq_vmx_pi_kick()). */
enum virq_vmx_pi_action {
	/** Nothing: the owner folds PIR and takes events before its next
	 *  entry (it runs in root mode, or is preempted). */
	VIRQ_VMX_PI_NONE = 0,
	/** Send the notification vector (virq_vmx_config::pi_vector) to the
	 *  physical APIC ID written to *dest. */
	VIRQ_VMX_PI_NOTIFY = 1,
	/** Make the guest exit: the embedder's ordinary kick IPI (any vector
	 *  but the notification vector) to the vCPU's physical CPU. */
	VIRQ_VMX_PI_EXIT = 2,
	/** Wake the blocked vCPU thread. */
	VIRQ_VMX_PI_WAKE = 3,
};

/**
 * @brief The vCPU runs on the physical CPU with APIC ID @p host_apic_id
 *        (scheduled in, woken, or migrated): NV = notification vector,
 *        NDST = @p host_apic_id, SN = 0, state ::VIRQ_VMX_PI_ROOT.
 *
 * NDST is written in the host's format (::VIRQ_VMX_F_HOST_X2APIC: the
 * 32-bit ID; else the ID in bits 15:8) together with NV in one
 * compare-exchange, then SN is cleared; a PIR that filled while SN was set
 * or NV was the wakeup vector leaves ON set, and the next
 * virq_vmx_prepare_entry() folds it. Without ::VIRQ_VMX_F_POSTED_INTR only
 * the state changes.
 *
 * @param vx           The vCPU's glue state (initialised).
 * @param host_apic_id The physical CPU's APIC ID: at most 0xFF without
 *                     ::VIRQ_VMX_F_HOST_X2APIC, below 0xFFFFFFFF with it.
 * @return 0; -::VIRQ_EINVAL for a NULL @p vx or an ID the host's APIC mode
 *         cannot name (nothing changed).
 * @note Owner thread; concurrent posters are safe.
 */
VIRQ_API int virq_vmx_pi_load(struct virq_vmx_vcpu *vx, uint32_t host_apic_id);

/**
 * @brief The vCPU thread is descheduled while runnable: SN = 1 and state
 *        ::VIRQ_VMX_PI_PREEMPTED, so posts set PIR without notifying.
 *
 * A blocked vCPU stays blocked (NV the wakeup vector, SN clear): it must
 * still be woken.
 *
 * @param vx The vCPU's glue state (initialised).
 * @return 0; -::VIRQ_EINVAL for a NULL @p vx.
 * @note Owner thread (or the scheduler on its behalf, while it does not run).
 */
VIRQ_API int virq_vmx_pi_put(struct virq_vmx_vcpu *vx);

/**
 * @brief The vCPU is about to wait for an interrupt (HLT, wait-for-SIPI:
 *        ::VIRQ_VMX_ENTRY_NO_ENTRY): NV = wakeup vector, SN = 0, state
 *        ::VIRQ_VMX_PI_BLOCKED.
 *
 * From now on a post answers ::VIRQ_VMX_PI_WAKE, and a device posting
 * through the IOMMU sends the wakeup vector to NDST, whose handler asks
 * virq_vmx_pi_should_wake(). Work posted before the state was visible is
 * checked after it: then the vCPU must not sleep.
 *
 * @param vx The vCPU's glue state (initialised).
 * @return 1 when posted work is already waiting (do not sleep: call
 *         virq_vmx_pi_load() and prepare again), 0 when the thread may
 *         sleep until woken; -::VIRQ_EINVAL for a NULL @p vx.
 * @note Owner thread.
 */
VIRQ_API int virq_vmx_pi_block(struct virq_vmx_vcpu *vx);

/**
 * @brief The kick hook's decision (struct virq_lapic_ops::kick): what the
 *        posting thread does so the vCPU sees the new work.
 *
 * @param vx   The vCPU's glue state (initialised; not NULL).
 * @param dest Receives, with posted interrupts in ::VIRQ_VMX_PI_GUEST
 *             (::VIRQ_VMX_PI_NOTIFY, ::VIRQ_VMX_PI_EXIT), the physical APIC
 *             ID the descriptor's NDST names (decoded from the host's
 *             format); untouched otherwise. Not NULL.
 * @return A ::virq_vmx_pi_action.
 * @note Any thread, lock-free; reads the state after the caller's post.
 */
VIRQ_API enum virq_vmx_pi_action virq_vmx_pi_kick(const struct virq_vmx_vcpu *vx, uint32_t *dest);

/**
 * @brief For the host's handler of the wakeup vector: whether this
 *        vCPU is blocked and has posted work (ON set, or any posted
 *        vector or event), so its thread is to be woken.
 * @param vx The vCPU's glue state (initialised; not NULL).
 * @return true to wake it.
 * @note Any thread; a snapshot.
 */
VIRQ_API bool virq_vmx_pi_should_wake(const struct virq_vmx_vcpu *vx);

/**
 * @brief The vCPU's state as the posters see it.
 * @param vx The vCPU's glue state (initialised; not NULL).
 * @return A ::virq_vmx_pi_state.
 * @note Any thread; a snapshot.
 */
VIRQ_API enum virq_vmx_pi_state virq_vmx_pi_get_state(const struct virq_vmx_vcpu *vx);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_VMX_PI_H */
