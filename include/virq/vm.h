/* SPDX-License-Identifier: MIT */
/**
 * @file vm.h
 * @brief virq_vm: delivery between the controllers of one VM.
 *
 * A `struct virq_vm` owns no controller; it wires those the embedder
 * allocated: a table of vCPU LAPICs, up to ::VIRQ_VM_MAX_IOAPICS I/O APICs,
 * one 8259 pair and a GSI router. It resolves the destination of every
 * interrupt message (ICR, I/O APIC entry, MSI) and posts it to the matching
 * LAPICs, reporting how many accepted.
 *
 * ## Wiring
 *
 * - LAPICs stay the embedder's (their ops carry kick, timers...). Their
 *   `send_ipi` hook calls virq_vm_send_ipi(), `eoi_level` calls
 *   virq_vm_eoi(), and `dest_changed` calls virq_vm_update_vcpu().
 * - I/O APICs and the PIC pair are initialised by virq_vm_attach_ioapic()
 *   and virq_vm_attach_pic() with the VM's own ops, so their deliveries,
 *   storms and INT output go through the VM.
 * - Devices raise lines with virq_vm_set_irq() and send MSIs with
 *   virq_vm_send_msi().
 *
 * ## Threads
 *
 * Delivery (virq_vm_deliver(), virq_vm_send_msi(), virq_vm_send_ipi()) is
 * lock-free: any thread, concurrently. The shared controllers (I/O APICs,
 * PIC, GSI line state) are serialised with `ops->lock`/`ops->unlock`, taken
 * by the virq_vm functions that touch them; never call those controllers
 * directly once attached.
 *
 * ## Destination maps
 *
 * Physical destinations resolve through a caller-supplied map indexed by
 * APIC ID (O(1) for IDs below its size; larger IDs fall back to a scan),
 * x2APIC logical destinations through the same map (the logical ID is
 * derived from the APIC ID, one lookup per bit of the 16-bit bitmap; none
 * while no LAPIC is in x2APIC mode). The LAPICs in xAPIC mode have 8-bit
 * flat or cluster logical IDs that are not derived from their IDs (SDM
 * 10.6.2.2 "Logical Destination Mode"): the VM keeps an xAPIC logical map
 * of its own inside struct virq_vm, 8 flat slots (one per bit of a flat
 * logical ID) and 16 clusters of 4 member slots, each naming the one
 * LAPIC that holds it, none, or "shared" (two or more hold it; a LAPIC
 * whose logical ID has several bits holds several slots). A logical destination
 * looks up one slot per set bit of its low byte: O(1), whatever the
 * number of vCPUs. The xAPIC-mode LAPICs are also kept on a list: a
 * logical destination whose low byte is 0xFF (every xAPIC-mode LAPIC
 * matches) or names a shared slot, and a physical one whose low 8 bits
 * are 0xFF in an x2APIC-format message (the xAPIC broadcast, which they
 * all accept), take them from the list while there are at most 16 of
 * them, and scan with more. The maps and the list are updated under the
 * lock when a LAPIC's ID, LDR, DFR or mode changes, from what the LAPIC
 * reports at virq_vm_update_vcpu(); readers use a sequence counter, so a
 * delivery racing with an update never sees a half-written map and never
 * locks (after a bounded number of retries a reader scans the vCPU
 * table).
 *
 * The maps are a shortcut for single destinations: every candidate they
 * yield is confirmed with virq_lapic_match_dest(), which has the final
 * word (including the xAPIC low-8-bit aliasing of wide destinations:
 * while a LAPIC is in xAPIC mode, a physical destination above 0xFF also
 * looks up the slot of its low 8 bits). Physical broadcasts, 0xFFFFFFFF
 * and 0xFF in an xAPIC-format message, take the vCPUs they reach from
 * one map snapshot (every enabled LAPIC; every xAPIC-mode LAPIC plus an
 * x2APIC-mode one with ID 0xFF), in vCPU index order, without a match
 * per target: the map's keys are the mode, ID, LDR and DFR each LAPIC
 * had at its last virq_vm_update_vcpu(), so a LAPIC whose change the
 * embedder has not reported yet is reached as before the change. A
 * delivery scans every vCPU exactly when one of these holds:
 *  - it uses a shorthand, or is a logical 0xFFFFFFFF;
 *  - physical: the destination is at or above the map size, or names an
 *    APIC ID two or more enabled LAPICs share; or, while a LAPIC is in
 *    xAPIC mode, the destination is above 0xFF and its low 8 bits are an
 *    APIC ID the map cannot answer (at or above the map size, or shared);
 *    or it is 0xFF in an x2APIC-format message, or has low 8 bits 0xFF
 *    above 0xFF, while more than 16 LAPICs are in xAPIC mode; or it is a
 *    broadcast 0xFF while slot 0xFF cannot answer (past the map, shared);
 *  - logical: a LAPIC has an x2APIC ID of 2^20 or more (its 16-bit LDR
 *    cluster no longer gives the ID back); or, while a LAPIC is in x2APIC
 *    mode, the x2APIC cluster and bitmap name an APIC ID (the cluster
 *    times 16 plus a set bit) at or above the map size or shared; or,
 *    while more than 16 LAPICs are in xAPIC mode, the low byte is 0xFF or
 *    names a flat bit or cluster member that two or more xAPIC-mode
 *    LAPICs share (of the same DFR model; its cluster, bits 7:4, for the
 *    cluster model);
 *  - the map kept changing under the lookup.
 *
 * A guest can make LAPICs share an ID by writing the xAPIC ID register, or,
 * in a VM of more than 256 vCPUs, by taking an x2APIC LAPIC back to xAPIC
 * mode (x2APIC, disabled, xAPIC): its 8-bit xAPIC ID is then the low byte
 * of its x2APIC ID, which another LAPIC may hold; and share a logical ID
 * by writing the same LDR bits. Only the deliveries that name a shared ID
 * scan (the cases above); every other destination keeps its map lookup,
 * and the ID resolves through the map again as soon as at most one
 * enabled LAPIC holds it. virq_vm_scan_count() counts the deliveries that
 * scanned, for any reason.
 *
 * ## Lowest priority
 *
 * Candidates are the matched LAPICs that accept fixed interrupts (globally
 * and software enabled). The one whose PPR class (PPR[7:4]) is lowest wins;
 * ties go round-robin over the tied candidates in vCPU index order (a
 * VM-wide relaxed atomic cursor, so repeated deliveries to the same tied
 * set spread over it; saved by virq_vm_save(), and the order does not
 * depend on history, so a restored VM picks as the original would). With
 * virq_vm_config::lowest_vector_hashing the PPR is ignored and the
 * (vector mod n)-th of the n candidates, counted in vCPU table order, wins
 * (KVM's vector hashing). No focus-processor check (P4 and later do not do
 * it). A physical broadcast with lowest priority is delivered as a fixed
 * broadcast, as KVM does.
 */
#ifndef VIRQ_VM_H
#define VIRQ_VM_H

#include <virq/error.h>
#include <virq/ioapic.h>
#include <virq/lapic.h>
#include <virq/msg.h>
#include <virq/msi.h>
#include <virq/pic.h>
#include <virq/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Most vCPUs one VM may have. */
#define VIRQ_VM_MAX_VCPUS 16384U
/** @brief Most I/O APICs one VM may have. */
#define VIRQ_VM_MAX_IOAPICS 8U
/** @brief Most level sources sharing one GSI (wired-OR). */
#define VIRQ_VM_GSI_SOURCES 32U
/** @brief Value of a map entry with no vCPU. */
#define VIRQ_VM_NO_VCPU 0xFFFFFFFFU
/** @brief virq_gsi_route::ioapic and virq_gsi_route::pic_irq value for "not routed there". */
#define VIRQ_VM_NO_ROUTE 0xFFU
/** @brief GSI argument of virq_vm_ops::deliver_msi for an MSI with no GSI. */
#define VIRQ_VM_NO_GSI 0xFFFFFFFFU

/** @brief Line operations of virq_vm_set_irq() (the interface ACRN exposes). */
enum virq_irq_op {
	VIRQ_IRQ_LOW = 0,           /**< Source deasserts. */
	VIRQ_IRQ_HIGH = 1,          /**< Source asserts. */
	VIRQ_IRQ_RAISING_PULSE = 2, /**< Low, high, low: one edge. */
	VIRQ_IRQ_FALLING_PULSE = 3, /**< High, low, high. */
};

/** @brief Where a GSI goes (several may be set). */
struct virq_gsi_route {
	uint8_t ioapic;    /**< I/O APIC index, or 0xFF for none. */
	uint8_t pin;       /**< Pin on that I/O APIC. */
	uint8_t pic_irq;   /**< 8259 input 0-15, or 0xFF for none. */
	bool msi;          /**< Send msi_addr/msi_data on each rising edge. */
	uint64_t msi_addr; /**< MSI address (with msi). */
	uint32_t msi_data; /**< MSI data (with msi). */
	uint16_t msi_sid;  /**< Requester ID for interrupt remapping (with msi). */
	uint16_t reserved; /**< Zero. */
};

/** @brief State of one GSI: its route and the wired-OR of its sources. */
struct virq_vm_gsi {
	struct virq_gsi_route route; /**< Where the line goes. */
	/** @privatesection */
	uint32_t sources; /* bit s: source s holds the line high */
	uint32_t reserved;
};

/** @brief Callbacks from the VM to its embedder. Kept const; ctx first. */
struct virq_vm_ops {
	/** sizeof(struct virq_vm_ops) as the caller was built: first, checked by
	 *  virq_vm_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint32_t reserved; /**< Zero. */
	/** Required. Serialise the shared controllers (a mutex or spinlock).
	 *  It is held while an I/O APIC or the PIC delivers, so a LAPIC's
	 *  `kick` and the `pi_notify`, `lost`, `ir_fault` and `storm` hooks
	 *  may run under it: none of them may take it again. Not recursive:
	 *  never call a locking virq_vm function from those hooks. */
	void (*lock)(void *ctx);
	/** Required. Release ops->lock. */
	void (*unlock)(void *ctx);
	/** Optional. Read IRTE @p index of the guest's remapping table (see
	 *  virq_ir_read_fn). NULL: interrupt remapping is off. */
	int (*read_irte)(void *ctx, uint32_t index, uint64_t irte[2]);
	/** Optional. A remapping fault to record (not called when the IRTE's
	 *  FPD bit is set). */
	void (*ir_fault)(void *ctx, uint16_t sid, uint32_t reason, uint32_t index);
	/** Optional. The posted-interrupt descriptor at guest-programmed address
	 *  @p pda (a posted-format IRTE), or NULL if none is there. */
	struct virq_pi_desc *(*pi_desc)(void *ctx, uint64_t pda);
	/** Optional. Notify the owner of @p desc after a post that set ON. */
	void (*pi_notify)(void *ctx, struct virq_pi_desc *desc);
	/** Optional. A message no LAPIC accepted (lost or misrouted). For an
	 *  MSI that could not be decoded (outside the interrupt window, a
	 *  remappable MSI without remapping, a posted IRTE without a
	 *  descriptor) @p msg is synthesised: vector and delivery mode from the
	 *  data, destination from address bits 19:12, src ::VIRQ_MSG_SRC_NONE.
	 *  Not called for a level de-assert message (nothing to deliver) nor
	 *  for a remapping fault (`ir_fault` reports it). */
	void (*lost)(void *ctx, const struct virq_apic_msg *msg);
	/** Optional. I/O APIC @p ioapic pin @p pin is a level storm: call
	 *  virq_vm_ioapic_service() later (KVM and QEMU wait 10 ms). */
	void (*storm)(void *ctx, unsigned ioapic, unsigned pin);
	/** Optional. The LAPICs live outside this VM (KVM's in-kernel LAPICs
	 *  under a split irqchip): every MSI this VM would resolve (from
	 *  virq_vm_send_msi(), a GSI's MSI route or an I/O APIC pin) is handed
	 *  here undecoded instead, and interrupt remapping is not applied.
	 *  @p gsi is the GSI of the I/O APIC pin, or ::VIRQ_VM_NO_GSI for an
	 *  MSI that has none. Called under ops->lock for I/O APIC pins. Return
	 *  the number of LAPICs that accepted it (1 when unknown). NULL: the
	 *  vCPU table. */
	unsigned (*deliver_msi)(void *ctx, uint64_t addr, uint32_t data, uint16_t sid,
				uint32_t gsi);
	/** Optional. The 8259 INT output changed and the BSP's LAPIC is not in
	 *  the vCPU table (split irqchip: the embedder injects the ExtINT
	 *  vector, e.g. with KVM_INTERRUPT). Called under ops->lock. */
	void (*pic_intr)(void *ctx, bool level);
	/** Optional. I/O APIC @p ioapic pin @p pin is about to send the message
	 *  (@p addr, @p data): for statistics and tracing (which vectors come
	 *  from pins). Called under ops->lock, before the delivery. */
	void (*ioapic_msg)(void *ctx, unsigned ioapic, unsigned pin, uint64_t addr, uint32_t data);
};

/** @brief The first published size of struct virq_vm_ops: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_VM_OPS_SIZE_MIN 96U

/** @brief VM configuration. */
struct virq_vm_config {
	/** sizeof(struct virq_vm_config) as the caller was built: first, checked by
	 *  virq_vm_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint32_t nr_vcpus;    /**< Entries of the vCPU table, 1-::VIRQ_VM_MAX_VCPUS. */
	uint32_t map_entries; /**< Entries of the APIC-ID map (IDs below it resolve in O(1)). */
	uint32_t nr_gsis;     /**< Entries of the GSI table. */
	uint32_t msi_flags;   /**< VIRQ_MSI_* decode flags (extended destination ID). */
	bool lowest_vector_hashing;  /**< Lowest priority: pick by vector hash, not by PPR. */
	bool ir_enabled;             /**< Interrupt remapping on at init (needs ops->read_irte);
					  changed later with virq_vm_set_ir(). */
	bool x2apic_broadcast_quirk; /**< KVM quirk: 0xFF from an IOAPIC/MSI is a broadcast
					  to x2APIC-mode LAPICs. */
	uint8_t reserved;            /**< Zero. */
	struct virq_ir_config ir;    /**< Remapping table geometry (with ir_enabled). */
};

/** @brief The first published size of struct virq_vm_config: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_VM_CONFIG_SIZE_MIN 36U

struct virq_ipiv;

/** @brief One I/O APIC attached to a VM. Private. */
struct virq_vm_ioapic {
	/** @privatesection */
	struct virq_vm *vm;
	struct virq_ioapic *ioapic;
	uint32_t gsi_base;
	uint16_t sid;
	uint8_t index;
	uint8_t reserved;
};

/**
 * @brief One VM. Caller-allocated; fields are private.
 */
struct virq_vm {
	/** @privatesection */
	const struct virq_vm_ops *ops;
	void *ctx;
	struct virq_vm_config cfg;
	/* The vCPUs in xAPIC mode: the first one's index + 1, 0 for none;
	 * each one's map_key links the next (in the padding after cfg). */
	uint32_t xapic_head;
	struct virq_lapic **vcpus; /* nr_vcpus entries, NULL = absent */
	uint32_t *map;             /* map_entries: APIC ID -> vCPU index or shared */
	struct virq_vm_gsi *gsis;  /* nr_gsis */
	uint64_t *map_key;         /* nr_vcpus: key each vCPU occupies in map */
	uint32_t map_seq;          /* sequence counter, odd while rebuilding */
	uint32_t lowest_rr;        /* round-robin cursor for lowest priority */
	uint32_t nr_xapic;         /* enabled vCPUs in xAPIC mode */
	uint32_t nr_wide;          /* enabled x2APIC vCPUs with IDs >= 2^20 */
	uint64_t ir_word;          /* remapping config, packed for atomic reads */
	/* xAPIC logical IDs -> vCPU index, none or shared: 8 flat bits, then
	 * 16 clusters x 4 members. */
	uint16_t xlog[72];
	uint32_t nr_x2apic;  /* enabled vCPUs in x2APIC mode */
	uint64_t xlog_on[2]; /* bit s: xlog[s] holds a vCPU or is shared */
	struct virq_vm_ioapic ioapics[VIRQ_VM_MAX_IOAPICS];
	uint32_t nr_ioapics;
	uint32_t bsp; /* vCPU index whose LINT0 the PIC drives */
	struct virq_pic *pic;
	/* Deliveries that scanned every vCPU. Written by scanning deliveries
	 * only, far from the fields every delivery reads (map, map_seq,
	 * nr_xapic...), so it does not bounce their cache line. */
	uint64_t nr_scans;
	/* PID-pointer table kept from the map (virq_vm_attach_ipiv()), or
	 * NULL; written under the lock. */
	struct virq_ipiv *ipiv;
};

/**
 * @brief Initialises @p vm over caller storage.
 *
 * @param vm      The VM.
 * @param cfg     Configuration (copied).
 * @param vcpus   nr_vcpus LAPIC pointers (NULL for vCPUs not yet created).
 * @param map     map_entries words of map storage.
 * @param map_key nr_vcpus 64-bit words of storage (the key and mode each
 *                vCPU has in the map, and the list of xAPIC-mode vCPUs).
 * @param gsis    nr_gsis GSI entries, initialised here to the PC layout for
 *                GSI 0-23 (ISA IRQ n -> PIC n and I/O APIC 0 pin n, IRQ 0 ->
 *                pin 2, PIC INT -> pin 0) and unrouted above.
 * @param ops     Callbacks.
 * @param ctx     Passed to every callback.
 * @return 0; -::VIRQ_EVERSION (nothing written) for a `size` of @p cfg or
 *         @p ops outside ::VIRQ_VM_CONFIG_SIZE_MIN / ::VIRQ_VM_OPS_SIZE_MIN
 *         to the library's sizeof, or with ir_enabled a cfg->ir.size outside
 *         ::VIRQ_IR_CONFIG_SIZE_MIN to its sizeof (ir is ignored without
 *         ir_enabled); -::VIRQ_EINVAL (nothing written) for a NULL pointer (map
 *         may be NULL with map_entries 0, gsis with nr_gsis 0), a missing
 *         lock/unlock hook, nr_vcpus out of range, unknown msi_flags, a
 *         non-zero reserved field (ops, cfg, cfg->ir), ir_enabled without ops->read_irte or
 *         with ir.table_entries not 1-65536.
 * @note Before the VM is shared. Reads the present LAPICs' IDs and modes
 *       (their owners must not run yet).
 */
VIRQ_API int virq_vm_init(struct virq_vm *vm, const struct virq_vm_config *cfg,
			  struct virq_lapic **vcpus, uint32_t *map, uint64_t *map_key,
			  struct virq_vm_gsi *gsis, const struct virq_vm_ops *ops, void *ctx);

/**
 * @brief Sets vCPU @p index's LAPIC (hotplug; NULL removes) and updates the map.
 * @param vm    The VM (initialised; NULL: -::VIRQ_EINVAL).
 * @param index The vCPU, below virq_vm_config::nr_vcpus.
 * @param lapic Its LAPIC, kept by pointer (must stay valid while set), or
 *              NULL to remove it.
 * @return 0, or -::VIRQ_EINVAL for an index out of range.
 * @note Takes the lock. Reads the new LAPIC's ID and mode: call it before
 *       that vCPU runs (or from its owner thread). Deliveries on other
 *       threads may still reach a removed LAPIC until they return.
 */
VIRQ_API int virq_vm_set_vcpu(struct virq_vm *vm, uint32_t index, struct virq_lapic *lapic);

/**
 * @brief Re-reads vCPU @p index's APIC ID, LDR, DFR and mode into the maps.
 *        Call from the LAPIC's `dest_changed` hook.
 * @param vm    The VM (initialised; NULL: -::VIRQ_EINVAL).
 * @param index The vCPU, below virq_vm_config::nr_vcpus.
 * @return 0, or -::VIRQ_EINVAL.
 * @note Owner thread of that LAPIC; takes the lock.
 */
VIRQ_API int virq_vm_update_vcpu(struct virq_vm *vm, uint32_t index);

/**
 * @brief Resolves and delivers one message.
 *
 * Physical, logical (flat, cluster, x2APIC cluster), broadcast, the ICR
 * shorthands (relative to msg->src), every delivery mode. Lowest priority
 * picks one matched, software-enabled LAPIC with the lowest PPR; ties are
 * broken round-robin (or by vector hash with lowest_vector_hashing).
 *
 * @param vm  The VM (initialised; NULL gives 0).
 * @param msg The decoded message; NULL gives 0. Read during the call only.
 * @return How many LAPICs accepted it (0: lost; `ops->lost` is called).
 * @note Any thread, lock-free.
 */
VIRQ_API unsigned virq_vm_deliver(struct virq_vm *vm, const struct virq_apic_msg *msg);

/**
 * @brief An MSI write from a device (or an I/O APIC) with requester ID @p sid:
 *        decoded (through interrupt remapping when enabled) and delivered.
 * @param vm   The VM (initialised; NULL gives 0).
 * @param addr The MSI address (compatibility 0xFEExxxxx, or remappable
 *             format with interrupt remapping enabled).
 * @param data The MSI data.
 * @param sid  Requester ID of the writer, for the remapping table's source
 *             validation.
 * @return LAPICs that accepted (a posted interrupt counts 1).
 * @note Any thread, lock-free.
 */
VIRQ_API unsigned virq_vm_send_msi(struct virq_vm *vm, uint64_t addr, uint32_t data, uint16_t sid);

/**
 * @brief For a LAPIC's `send_ipi` hook: virq_vm_deliver() of an ICR message.
 *
 * The shorthands "self" and "all excluding self" identify the sender by
 * msg->src and msg->x2apic (its APIC ID and mode): with duplicate APIC IDs
 * every enabled LAPIC with the sender's ID and mode counts as the sender.
 * @param vm  The VM (initialised; NULL gives 0).
 * @param msg The ICR message the LAPIC built, with msg->src and msg->x2apic
 *            naming the sender; NULL gives 0.
 * @return How many LAPICs accepted it (0: lost; `ops->lost` is called).
 * @note Any thread.
 */
VIRQ_API unsigned virq_vm_send_ipi(struct virq_vm *vm, const struct virq_apic_msg *msg);

/**
 * @brief How many deliveries resolved their destination by scanning every
 *        vCPU instead of the APIC-ID map.
 *
 * A delivery (virq_vm_deliver(), virq_vm_send_ipi(), virq_vm_send_msi(),
 * an I/O APIC entry or a GSI's MSI route) looks its destination up in the
 * map when it can, and otherwise checks every vCPU of the table: for a
 * shorthand, an ID at or above virq_vm_config::map_entries, a destination
 * that names an APIC ID or an xAPIC logical ID two or more enabled LAPICs
 * share (logical IDs: only while more than 16 LAPICs are in xAPIC mode),
 * or a map that kept changing under the lookup (the file comment,
 * "Destination maps", lists every case). Physical broadcasts resolve
 * through the map and do not count. Each delivery that scanned adds one,
 * whatever the reason. A count that climbs with the interrupt rate of a
 * large VM whose guest uses physical or x2APIC cluster destinations means
 * its deliveries cost O(vCPUs) each: look for shared APIC IDs. Messages
 * handed to virq_vm_ops::deliver_msi, posted (VT-d posting) or dropped
 * before resolution (a level de-assert, a failed decode) do not count.
 *
 * @param vm The VM.
 * @return The number of scanning deliveries since virq_vm_init() (modulo
 *         2^64); 0 for a NULL @p vm.
 * @note Any thread, lock-free. A relaxed read: deliveries still running
 *       on other threads may or may not be counted yet.
 */
VIRQ_API uint64_t virq_vm_scan_count(const struct virq_vm *vm);

/**
 * @brief For a LAPIC's `eoi_level` hook: EOI broadcast to every I/O APIC.
 * @param vm     The VM (NULL does nothing).
 * @param vector The vector whose level EOI the LAPIC broadcast, 0-255.
 * @note Takes the lock.
 */
VIRQ_API void virq_vm_eoi(struct virq_vm *vm, uint8_t vector);

/**
 * @brief Attaches (and initialises) I/O APIC @p ioapic for GSIs
 *        gsi_base..gsi_base+pins-1, requester ID @p sid.
 *
 * The I/O APIC's messages go to virq_vm_send_msi() with @p sid, its storms
 * to ops->storm. GSIs of that range that have no I/O APIC route yet get
 * (this I/O APIC, gsi - gsi_base); the default PC layout of I/O APIC 0
 * (virq_vm_init()) is kept. Lines already high are presented to the pins.
 * @param vm       The VM (initialised; NULL: -::VIRQ_EINVAL).
 * @param ioapic   Caller storage for the I/O APIC; initialised here with the
 *                 VM's own ops, and kept by pointer: it must outlive @p vm.
 * @param cfg      Its configuration (pin count, ID, version); copied.
 * @param gsi_base First GSI of its pins; gsi_base + pins must not exceed the
 *                 GSI table.
 * @param sid      Requester ID (bus:device.function) of its MSIs, as
 *                 interrupt remapping sees it.
 * @return Its index, or -::VIRQ_EVERSION (cfg->size outside
 *         ::VIRQ_IOAPIC_CONFIG_SIZE_MIN to the library's sizeof) /
 *         -::VIRQ_EINVAL (NULL argument, bad config, GSI range overflow) /
 *         -::VIRQ_ENOTSUP (::VIRQ_VM_MAX_IOAPICS attached); nothing is
 *         attached on an error.
 * @note Takes the lock.
 */
VIRQ_API int virq_vm_attach_ioapic(struct virq_vm *vm, struct virq_ioapic *ioapic,
				   const struct virq_ioapic_config *cfg, uint32_t gsi_base,
				   uint16_t sid);

/**
 * @brief Attaches (and initialises) the 8259 pair, whose INT drives LINT0 of
 *        vCPU @p bsp (when present) and pin 0 of I/O APIC 0 (when attached).
 * @param vm  The VM (initialised; NULL: -::VIRQ_EINVAL).
 * @param pic Caller storage for the 8259 pair; initialised here, kept by
 *            pointer (must outlive @p vm).
 * @param bsp Index of the vCPU whose LINT0 the INT output drives, below
 *            virq_vm_config::nr_vcpus.
 * @return 0, or -::VIRQ_EINVAL (NULL argument, @p bsp out of range, a PIC
 *         already attached).
 * @note Takes the lock.
 */
VIRQ_API int virq_vm_attach_pic(struct virq_vm *vm, struct virq_pic *pic, uint32_t bsp);

/**
 * @brief Source @p source (0-31) drives GSI @p gsi; the line is the OR of
 *        its sources.
 * @param vm     The VM (initialised; NULL: -::VIRQ_EINVAL).
 * @param gsi    The GSI, below virq_vm_config::nr_gsis.
 * @param source The device source, 0-31: each owns one bit of the line.
 * @param op     ::VIRQ_IRQ_LOW, ::VIRQ_IRQ_HIGH or a pulse.
 * @return 0, or -::VIRQ_EINVAL for a GSI, source or op out of range.
 * @note Any thread; takes the lock.
 */
VIRQ_API int virq_vm_set_irq(struct virq_vm *vm, uint32_t gsi, unsigned source,
			     enum virq_irq_op op);

/**
 * @brief Replaces the route of GSI @p gsi.
 *
 * While the line is high, the old I/O APIC pin and PIC input are lowered
 * and the new ones raised (an MSI route does not fire on a route change).
 * @param vm    The VM (initialised; NULL: -::VIRQ_EINVAL).
 * @param gsi   The GSI, below virq_vm_config::nr_gsis.
 * @param route The new route (an I/O APIC pin, an 8259 input, an MSI, any
 *              combination, ::VIRQ_VM_NO_ROUTE where unused); copied.
 *              Not NULL.
 * @return 0, or -::VIRQ_EINVAL for a GSI out of range, an ioapic index
 *         ::VIRQ_VM_MAX_IOAPICS or above (other than ::VIRQ_VM_NO_ROUTE), a
 *         pin ::VIRQ_IOAPIC_MAX_PINS or above, a pic_irq above 15 (other
 *         than ::VIRQ_VM_NO_ROUTE) or a non-zero reserved field.
 * @note Takes the lock.
 */
VIRQ_API int virq_vm_set_gsi_route(struct virq_vm *vm, uint32_t gsi,
				   const struct virq_gsi_route *route);

/**
 * @brief MMIO read in an attached I/O APIC's window.
 * @param vm     The VM (initialised).
 * @param ioapic The I/O APIC's index, as virq_vm_attach_ioapic() returned it.
 * @param offset Byte offset in its MMIO window.
 * @param size   1, 2, 4 or 8.
 * @param val    Receives the value. Not NULL.
 * @return 0, or -::VIRQ_EINVAL for a NULL @p vm, an @p ioapic index not
 *         attached, or what virq_ioapic_mmio_read() refuses.
 */
VIRQ_API int virq_vm_ioapic_read(struct virq_vm *vm, unsigned ioapic, uint32_t offset,
				 unsigned size, uint64_t *val);
/**
 * @brief MMIO write in an attached I/O APIC's window.
 * @param vm     The VM (initialised).
 * @param ioapic The I/O APIC's index, as virq_vm_attach_ioapic() returned it.
 * @param offset Byte offset in its MMIO window.
 * @param size   1, 2, 4 or 8.
 * @param val    The value written.
 * @return 0, or -::VIRQ_EINVAL for a NULL @p vm, an @p ioapic index not
 *         attached, or what virq_ioapic_mmio_write() refuses.
 */
VIRQ_API int virq_vm_ioapic_write(struct virq_vm *vm, unsigned ioapic, uint32_t offset,
				  unsigned size, uint64_t val);
/**
 * @brief Ends storm throttling of a pin (after ops->storm).
 * @param vm     The VM (initialised).
 * @param ioapic The I/O APIC's index, as virq_vm_attach_ioapic() returned it.
 * @param pin    The pin ops->storm named.
 * @return 0 or -::VIRQ_EINVAL.
 */
VIRQ_API int virq_vm_ioapic_service(struct virq_vm *vm, unsigned ioapic, unsigned pin);

/**
 * @brief Port read of the PIC pair or ELCR.
 * @param vm   The VM (initialised).
 * @param port 0x20/0x21, 0xA0/0xA1 or 0x4D0/0x4D1.
 * @param val  Receives the byte. Not NULL.
 * @return 0; -::VIRQ_ENOENT when no PIC is attached or @p port is not a
 *         PIC or ELCR port; -::VIRQ_EINVAL for a NULL @p vm or @p val.
 */
VIRQ_API int virq_vm_pic_read(struct virq_vm *vm, uint16_t port, uint8_t *val);
/**
 * @brief Port write of the PIC pair or ELCR.
 * @param vm   The VM (initialised).
 * @param port 0x20/0x21, 0xA0/0xA1 or 0x4D0/0x4D1.
 * @param val  The byte written.
 * @return 0; -::VIRQ_ENOENT when no PIC is attached or @p port is not a
 *         PIC or ELCR port; -::VIRQ_EINVAL for a NULL @p vm.
 */
VIRQ_API int virq_vm_pic_write(struct virq_vm *vm, uint16_t port, uint8_t val);
/**
 * @brief INTA cycle on the PIC (a vCPU takes an ExtINT).
 * @param vm The VM (NULL gives 0xFF).
 * @return The vector; 0xFF (an open bus) when no PIC is attached.
 */
VIRQ_API uint8_t virq_vm_pic_intack(struct virq_vm *vm);
/**
 * @brief INTA cycle on the PIC only while its INT output is asserted, in
 *        one locked step (INT may drop before a vCPU gets to it).
 * @param vm The VM (NULL gives -1).
 * @return The vector (0-255), or -1 when INT is low, no PIC is attached or
 *         @p vm is NULL: a result, not a ::virq_err (see error.h).
 */
VIRQ_API int virq_vm_pic_take(struct virq_vm *vm);
/**
 * @brief Whether the PIC's INT output is asserted now (false without a PIC).
 * @param vm The VM (NULL gives false).
 * @return true while INT is high.
 * @note Any thread (takes ops->lock).
 */
VIRQ_API bool virq_vm_pic_asserted(struct virq_vm *vm);

/**
 * @brief Turns interrupt remapping on or off (the guest programmed the
 *        IOMMU's global command register) with a new table geometry.
 * @param vm      The VM (initialised; NULL: -::VIRQ_EINVAL).
 * @param enabled true to translate every MSI through the remapping table.
 * @param ir      The table geometry and features; copied. May be NULL only
 *                when @p enabled is false.
 * @return 0; -::VIRQ_EVERSION for @p enabled with an ir->size outside
 *         ::VIRQ_IR_CONFIG_SIZE_MIN to the library's sizeof; -::VIRQ_EINVAL
 *         for @p enabled without ops->read_irte, with a non-zero reserved
 *         field or with table_entries not 1-65536. Nothing changes on an
 *         error.
 * @note Any thread; an MSI racing with the change is translated with either
 *       the old or the new configuration, never a mix.
 */
VIRQ_API int virq_vm_set_ir(struct virq_vm *vm, bool enabled, const struct virq_ir_config *ir);

/**
 * @name Whole-VM save and restore
 *
 * A VM's interrupt state is spread over several saved states: each LAPIC
 * (virq_lapic_save()), each I/O APIC (virq_ioapic_save()), the PIC pair
 * (virq_pic_save()), each vCPU policy (virq_vcpu_save(), the events it
 * holds between two decisions) and the VM itself (virq_vm_save(), below):
 * what belongs to no controller.
 *
 * ### What ::virq_vm_state holds, and what it does not
 *
 * - Every GSI: its route and the wired-OR of its sources (which source
 *   holds the line high), in a caller-provided array of
 *   ::virq_vm_gsi_state, one per GSI.
 * - The interrupt-remapping configuration as virq_vm_set_ir() last set it
 *   (or virq_vm_init() when it was never called).
 * - The lowest-priority round-robin cursor, so that the next tie goes to
 *   the same vCPU in the restored VM.
 * - What the VM must have been built with for the state to fit: nr_vcpus,
 *   nr_gsis, msi_flags, lowest_vector_hashing, x2apic_broadcast_quirk, the
 *   attached I/O APICs (GSI base and requester ID each, in attach order)
 *   and the PIC's BSP. Restore only compares these; it changes none.
 *
 * Not saved: the APIC-ID map, the xAPIC logical map and the xAPIC list
 * (derived from the LAPICs:
 * virq_vm_restore() rebuilds them from the restored LAPICs, so they can
 * never disagree with them), and virq_vm_scan_count() (a statistic of
 * this VM object, which restarts from 0; it does not change delivery).
 *
 * ### Why the GSIs are a separate array
 *
 * The number of GSIs is the embedder's (virq_vm_config::nr_gsis, any
 * 32-bit count, caller storage like the GSI table itself). A fixed maximum
 * would either cap that count or make every state as large as the largest
 * VM (24 bytes per GSI); a flexible array member is not valid C++. So the
 * fixed-layout header ::virq_vm_state records the count and the entry size
 * (::virq_vm_state::gsi_size), and the entries go in an array the caller
 * sizes to virq_vm_config::nr_gsis. Both are plain data without pointers:
 * a byte copy of the header followed by the array is a complete snapshot.
 *
 * ### Snapshot recipe
 *
 * Save, with the VM quiescent (every vCPU out of guest mode and stopped,
 * devices paused, so that nothing is delivered between two saves): each
 * LAPIC, each attached I/O APIC, the PIC, the VM, each vCPU policy, in any
 * order.
 *
 * Restore into a twin built exactly as the original was: the same
 * ::virq_vm_config, the same LAPIC configurations in the same vCPU slots,
 * the same virq_vm_attach_ioapic() calls in the same order, the same
 * virq_vm_attach_pic() BSP, each policy initialised with the same options
 * (virq_vcpu_set_options()). Nothing runs yet. Then, in this order:
 *
 * 1. **LAPICs** (virq_lapic_restore()): IRR, ISR, TMR, LVTs (with their
 *    Remote IRR), the LINT input levels, pending events; armed timers are
 *    re-armed through the `timer_arm` hook with their remaining time.
 *    Each reports its ID and mode through `dest_changed`; step 4 rebuilds
 *    the VM's map from the LAPICs anyway, so it is right even if that
 *    hook was not wired yet.
 * 2. **I/O APICs** (virq_ioapic_restore()): redirection entries with their
 *    Remote IRR, and the pin levels. Nothing is sent.
 * 3. **PIC** (virq_pic_restore()): if its INT output is asserted in the
 *    state, the VM's wiring presents it to LINT0 of the BSP and pin 0 of
 *    I/O APIC 0, which already hold that level from steps 1 and 2: no new
 *    edge, so nothing is delivered twice.
 * 4. **VM** (virq_vm_restore()): routes, source bits, remapping, the
 *    round-robin cursor; the map is rebuilt from the LAPICs restored in
 *    step 1 (hence after them). It drives no line and sends nothing: the
 *    levels the sources imply are already in the I/O APIC and PIC states
 *    (pin levels, IRR, Remote IRR), and presenting a level-triggered line
 *    again would send its vector a second time, or an edge-triggered one
 *    an edge that never happened. A line high in the original is high in
 *    the twin, and a later virq_vm_set_irq() that lowers its last source
 *    lowers the pin exactly as it would have in the original.
 * 5. **vCPU policies** (virq_vcpu_restore()): held NMIs, SMI/INIT/SIPI/
 *    ExtINT taken from the LAPIC, the queued exception, the event waiting
 *    for re-injection. After their LAPICs, whose events they complement.
 *
 * Only then start the vCPU threads and the devices. Every restore
 * validates its whole state before changing anything, so a refused one
 * (-::VIRQ_EVERSION, -::VIRQ_ESTATE) leaves that object as it was; the
 * embedder then discards the twin.
 * @{
 */

/** @brief Version of ::virq_vm_state and ::virq_vm_gsi_state (bumped on any layout change). */
#define VIRQ_VM_STATE_VERSION 1U

/** @brief ::virq_vm_state::ir_flags: interrupt remapping is on. */
#define VIRQ_VM_STATE_IR_ENABLED (1U << 0)
/** @brief ::virq_vm_state::ir_flags: virq_ir_config::eime (only with IR_ENABLED). */
#define VIRQ_VM_STATE_IR_EIME (1U << 1)
/** @brief ::virq_vm_state::ir_flags: virq_ir_config::cfi (only with IR_ENABLED). */
#define VIRQ_VM_STATE_IR_CFI (1U << 2)
/** @brief ::virq_vm_state::ir_flags: virq_ir_config::posting (only with IR_ENABLED). */
#define VIRQ_VM_STATE_IR_POSTING (1U << 3)

/** @brief ::virq_vm_state::cfg_flags: virq_vm_config::lowest_vector_hashing. */
#define VIRQ_VM_STATE_CFG_VECTOR_HASHING (1U << 0)
/** @brief ::virq_vm_state::cfg_flags: virq_vm_config::x2apic_broadcast_quirk. */
#define VIRQ_VM_STATE_CFG_X2APIC_BCAST_QUIRK (1U << 1)

/** @brief Saved state of one GSI: ::virq_gsi_route with integer flags, and its sources. */
struct virq_vm_gsi_state {
	uint8_t ioapic;    /**< virq_gsi_route::ioapic. */
	uint8_t pin;       /**< virq_gsi_route::pin. */
	uint8_t pic_irq;   /**< virq_gsi_route::pic_irq (0-15, or 0xFF). */
	uint8_t msi;       /**< virq_gsi_route::msi: 0 or 1. */
	uint32_t msi_data; /**< virq_gsi_route::msi_data. */
	uint64_t msi_addr; /**< virq_gsi_route::msi_addr. */
	uint16_t msi_sid;  /**< virq_gsi_route::msi_sid. */
	uint16_t reserved; /**< Zero. */
	uint32_t sources;  /**< Bit s: source s holds the line high (virq_vm_set_irq()). */
};

/** @brief Saved wiring of one attached I/O APIC (compared on restore, never loaded). */
struct virq_vm_ioapic_wiring {
	uint32_t gsi_base; /**< First GSI (virq_vm_attach_ioapic()). */
	uint16_t sid;      /**< Requester ID (virq_vm_attach_ioapic()). */
	uint16_t reserved; /**< Zero. */
};

/**
 * @brief Saved state of a ::virq_vm (its GSI entries go in a separate
 *        array of ::virq_vm_gsi_state: see "Why the GSIs are a separate
 *        array" above). Fixed layout, no pointers.
 */
struct virq_vm_state {
	uint32_t version;          /**< ::VIRQ_VM_STATE_VERSION. */
	uint32_t size;             /**< sizeof(struct virq_vm_state). */
	uint32_t gsi_size;         /**< sizeof(struct virq_vm_gsi_state). */
	uint32_t nr_gsis;          /**< Entries of the GSI array: virq_vm_config::nr_gsis. */
	uint32_t nr_vcpus;         /**< virq_vm_config::nr_vcpus (must match). */
	uint32_t msi_flags;        /**< virq_vm_config::msi_flags (must match). */
	uint32_t cfg_flags;        /**< VIRQ_VM_STATE_CFG_* (must match the configuration). */
	uint32_t ir_flags;         /**< VIRQ_VM_STATE_IR_*: the remapping configuration in force. */
	uint32_t ir_table_entries; /**< With ::VIRQ_VM_STATE_IR_ENABLED: 1-65536; else 0. */
	uint32_t lowest_rr;        /**< Lowest-priority round-robin cursor. */
	uint32_t nr_ioapics;       /**< I/O APICs attached (must match). */
	/** BSP given to virq_vm_attach_pic(), ::VIRQ_VM_NO_VCPU without a PIC (must match). */
	uint32_t pic_bsp;
	/** The attached I/O APICs, in attach order (must match); zero past nr_ioapics. */
	struct virq_vm_ioapic_wiring ioapics[VIRQ_VM_MAX_IOAPICS];
	uint32_t reserved[2]; /**< Zero. */
};

/**
 * @brief Exports the VM's own state: the header into @p out and GSI n into
 *        @p gsis[n].
 *
 * @param vm      The VM.
 * @param out     Receives the header (every byte written, padding-free).
 * @param gsis    Receives @p nr_gsis entries (may be NULL when 0).
 * @param nr_gsis Entries of @p gsis: must be virq_vm_config::nr_gsis.
 * @return 0, or -::VIRQ_EINVAL (nothing written) for a NULL @p vm or
 *         @p out, a NULL @p gsis with @p nr_gsis above 0, or @p nr_gsis
 *         not the VM's.
 * @note Takes ops->lock (the GSI sources change under it). Save every part
 *       of a VM while it is quiescent (see the recipe above), or the
 *       states are not one snapshot.
 */
VIRQ_API int virq_vm_save(struct virq_vm *vm, struct virq_vm_state *out,
			  struct virq_vm_gsi_state *gsis, uint32_t nr_gsis);

/**
 * @brief Imports a state saved by virq_vm_save(): step 4 of the recipe
 *        above (after the LAPICs, I/O APICs and PIC, before the vCPU
 *        policies).
 *
 * Everything is checked before anything changes: version, size and entry
 * size; that the VM was built as the saved one (nr_vcpus, nr_gsis,
 * msi_flags, cfg_flags, the attached I/O APICs' GSI bases and requester
 * IDs, the PIC's BSP); reserved fields zero; each route as
 * virq_vm_set_gsi_route() checks it, with msi 0 or 1; the remapping
 * configuration as virq_vm_set_ir() checks it (ops->read_irte present,
 * 1-65536 entries), with every IR field zero when remapping is off. Then,
 * under ops->lock, the routes, sources, remapping configuration and
 * cursor are loaded and the APIC-ID map is rebuilt from the vCPU table's
 * LAPICs as they are now. No line is driven and no message is sent: the
 * controllers' own states already hold the line levels.
 *
 * @param vm      The VM.
 * @param st      The header.
 * @param gsis    @p nr_gsis entries (may be NULL when 0).
 * @param nr_gsis Entries of @p gsis: must equal @p st->nr_gsis.
 * @return 0; -::VIRQ_EVERSION for an unknown version, size or entry size;
 *         -::VIRQ_ESTATE for a damaged state or one that does not fit this
 *         VM (a different configuration or wiring, remapping on without
 *         ops->read_irte); -::VIRQ_EINVAL for a NULL @p vm or @p st, a
 *         NULL @p gsis with @p nr_gsis above 0, or @p nr_gsis not
 *         @p st->nr_gsis. A refused state changes nothing.
 * @note Takes ops->lock. Before the vCPUs and devices run (the recipe).
 */
VIRQ_API int virq_vm_restore(struct virq_vm *vm, const struct virq_vm_state *st,
			     const struct virq_vm_gsi_state *gsis, uint32_t nr_gsis);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_VM_H */
