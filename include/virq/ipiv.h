/* SPDX-License-Identifier: MIT */
/**
 * @file ipiv.h
 * @brief IPI virtualization: the PID-pointer table, kept current by the VM.
 *
 * With the tertiary processor-based control "IPI virtualization" (SDM Vol.
 * 3C, "IPI Virtualization" in the chapter "APIC Virtualization and Virtual
 * Interrupts"), the processor handles a guest's fixed, edge, physical,
 * no-shorthand IPI without a VM exit: it reads the 8-byte entry of the
 * PID-pointer table indexed by the destination (a virtual APIC ID), and
 * when that entry is valid posts the vector into the posted-interrupt
 * descriptor it names and notifies its owner. Everything else is an
 * APIC-write VM exit (trap-like, offset 300H): the slow path, which goes
 * through virq_lapic_hw_write() or virq_lapic_msr_write() and
 * virq_vm_send_ipi() as before.
 *
 * ## The table
 *
 * The embedder allocates the table (`entries` 64-bit words, 8-byte aligned;
 * its host-physical address goes to the VMCS field "PID-pointer table
 * address", 2042H, and virq_ipiv_last_index() to "last PID-pointer index",
 * 0008H) and an array of `nr_vcpus` host-physical addresses, one per vCPU of
 * the VM: the address of that vCPU's posted-interrupt descriptor (the
 * `pi` field at the start of its struct virq_lapic), set with
 * virq_ipiv_set_pid(). After virq_vm_attach_ipiv(), the VM rewrites the
 * entries every time its APIC-ID map changes (virq_vm_set_vcpu(),
 * virq_vm_update_vcpu() after an xAPIC ID write, an x2APIC switch or a
 * disable, virq_vm_restore()). Entry @c k holds `pid | 1` (bit 0: valid)
 * exactly when all of these hold, and is 0 otherwise:
 *  - @c k is not 0xFF (an xAPIC destination 0xFF is a broadcast, so the
 *    index never names one vCPU), and, while some LAPIC is in xAPIC mode,
 *    @c k is not above 0xFF with low byte 0xFF;
 *  - exactly one enabled LAPIC of the VM answers physical destination
 *    @c k: the one whose APIC ID is @c k, and for @c k above 0xFF no
 *    xAPIC-mode LAPIC whose 8-bit ID is @c k's low byte (an xAPIC-mode
 *    LAPIC looks at the low 8 bits only, virq_lapic_match_dest());
 *  - that vCPU has a descriptor address (virq_ipiv_set_pid()).
 * So the processor virtualizes an IPI only where the software path would
 * deliver it to that one LAPIC: a shared ID, a broadcast, an absent or
 * disabled LAPIC all exit and take the software path, which handles them.
 *
 * ## Threads
 *
 * The table is written under the VM's ops->lock, each entry with one
 * atomic 64-bit release store (the processor reads the old or the new
 * entry, never a torn one). An IPI racing with an APIC ID change reaches
 * the LAPIC that held the ID before or after it, as a software delivery
 * racing with virq_vm_update_vcpu() does. virq_ipiv_icr_exits() reads the
 * entries lock-free from any thread.
 *
 * An entry is valid from the virq_vm_set_vcpu() (or virq_ipiv_set_pid())
 * that makes it so: the vCPU's descriptor must be complete by then, its
 * NV and NDST set with virq_pi_set_notification() after virq_lapic_init()
 * (which clears the descriptor) and before virq_vm_set_vcpu().
 *
 * ## The VMCS
 *
 * The VMX glue programs it with ::VIRQ_VMX_F_IPIV (<virq/vmx.h>): the
 * table address (virq_vmx_config::ipiv_table_addr), the last index
 * (virq_vmx_config::ipiv_last_index, from virq_ipiv_last_index()), the
 * tertiary control "IPI virtualization" (bit 4 at 2034H, activated by bit
 * 17 of the primary controls), x2APIC MSR 830H writes passed in the MSR
 * bitmap, and the APIC-write exits at 300H sent through the LAPIC. It
 * needs posted interrupts: a posted vector reaches a vCPU in the state it
 * is in (running, blocked, preempted), and the notification vector, the
 * wakeup vector and SN are those of the descriptor, which the VT-x posting
 * code keeps. An embedder without the glue writes the same fields itself.
 */
#ifndef VIRQ_IPIV_H
#define VIRQ_IPIV_H

#include <virq/error.h>
#include <virq/platform.h>
#include <virq/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Bit 0 of a PID-pointer table entry: the entry is valid. */
#define VIRQ_IPIV_ENTRY_VALID 1ULL
/** @brief Most table entries: the last PID-pointer index is a 16-bit field. */
#define VIRQ_IPIV_MAX_ENTRIES 65536U

/**
 * @brief The PID-pointer table of one VM. Caller-allocated; fields are
 *        private (use the API).
 */
struct virq_ipiv {
	/** @privatesection */
	uint64_t *table;    /* entries: what the processor reads; vm.c writes it */
	uint64_t *pid_addr; /* nr_vcpus: host-physical PID address, 0 = none */
	struct virq_vm *vm; /* the VM it is attached to, or NULL */
	uint32_t entries;   /* 1-VIRQ_IPIV_MAX_ENTRIES */
	uint32_t nr_vcpus;
};

/**
 * @brief Initialises @p ipiv over caller storage; every entry invalid.
 * @param ipiv     The object.
 * @param table    @p entries 64-bit words, 8-byte aligned: the PID-pointer
 *                 table the processor reads (zeroed here). Must stay valid
 *                 while the VMCS points at it.
 * @param entries  Table entries, 1-::VIRQ_IPIV_MAX_ENTRIES: the highest
 *                 APIC ID IPI virtualization handles plus one.
 * @param pid_addr @p nr_vcpus 64-bit words (zeroed here): the host-physical
 *                 address of each vCPU's descriptor, set with
 *                 virq_ipiv_set_pid().
 * @param nr_vcpus vCPUs of the VM it will be attached to.
 * @return 0; -::VIRQ_EINVAL (nothing written) for a NULL pointer, @p entries
 *         0 or above ::VIRQ_IPIV_MAX_ENTRIES, @p nr_vcpus 0 or above
 *         ::VIRQ_VM_MAX_VCPUS; -::VIRQ_EALIGN for a @p table not 8-byte
 *         aligned.
 * @note Before the object is shared.
 */
VIRQ_API int virq_ipiv_init(struct virq_ipiv *ipiv, uint64_t *table, uint32_t entries,
			    uint64_t *pid_addr, uint32_t nr_vcpus);

/**
 * @brief The value of the VMCS field "last PID-pointer index" (0008H).
 * @param ipiv The object (initialised; NULL gives 0).
 * @return entries - 1.
 * @note Any thread.
 */
VIRQ_API uint16_t virq_ipiv_last_index(const struct virq_ipiv *ipiv);

/**
 * @brief Sets the host-physical address of vCPU @p index's posted-interrupt
 *        descriptor, and its table entry when the table is attached.
 * @param ipiv     The object (initialised; NULL: -::VIRQ_EINVAL).
 * @param index    The vCPU, below the nr_vcpus given to virq_ipiv_init().
 * @param pid_addr The descriptor's host-physical address, 64-byte aligned,
 *                 below 2^52; 0 for none (its entry becomes invalid).
 * @return 0; -::VIRQ_EINVAL for an index out of range or an address at or
 *         above 2^52; -::VIRQ_EALIGN for an address not 64-byte aligned.
 *         Nothing changes on an error.
 * @note Takes the VM's lock while attached.
 */
VIRQ_API int virq_ipiv_set_pid(struct virq_ipiv *ipiv, uint32_t index, uint64_t pid_addr);

/**
 * @brief Attaches @p ipiv to @p vm (or detaches, with NULL): from now on
 *        every change of the VM's APIC-ID map rewrites the table.
 *
 * Attaching fills every entry from the map; detaching makes every entry of
 * the table that was attached invalid.
 * @param vm   The VM (initialised; NULL: -::VIRQ_EINVAL).
 * @param ipiv The table, initialised with the VM's nr_vcpus, not attached to
 *             another VM; kept by pointer (must outlive the attachment). NULL
 *             detaches.
 * @return 0; -::VIRQ_EINVAL for a NULL @p vm, an @p ipiv of another vCPU
 *         count or attached to another VM. Nothing changes on an error.
 * @note Takes the lock.
 */
VIRQ_API int virq_vm_attach_ipiv(struct virq_vm *vm, struct virq_ipiv *ipiv);

/**
 * @brief Whether a guest ICR write causes an APIC-write VM exit (the slow
 *        path) with IPI virtualization on, given the table as it is now.
 *
 * x2APIC (WRMSR 830H, @p icr = EDX:EAX): virtualized, hence false, exactly
 * when ICR bits 31:20, 17:16, 13 and 12 are clear, the delivery mode is
 * fixed, the trigger edge, the destination mode physical, there is no
 * shorthand, the vector is 16 or more, and the entry of destination
 * @p icr[63:32] exists (at most the last index) and is valid. xAPIC (the
 * write of ICR low at 300H, @p icr = VICR_HI:VICR_LO, destination in bits
 * 63:56): the same with an 8-bit destination, and also false for a self
 * IPI that self-IPI virtualization handles (shorthand self, fixed, edge,
 * vector 16 or more, the same reserved bits clear).
 * @param ipiv   The table (initialised; NULL: every write exits).
 * @param icr    The 64-bit ICR value, as above.
 * @param x2apic true for the sender's x2APIC mode (MSR write), false for
 *               xAPIC (APIC-access page write).
 * @return true when the write exits to the embedder.
 * @note Any thread, lock-free; a snapshot of the table.
 */
VIRQ_API bool virq_ipiv_icr_exits(const struct virq_ipiv *ipiv, uint64_t icr, bool x2apic);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_IPIV_H */
