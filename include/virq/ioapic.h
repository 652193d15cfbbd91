/* SPDX-License-Identifier: MIT */
/**
 * @file ioapic.h
 * @brief The virtual I/O APIC (82093AA version 0x11, or PCH-style 0x20 with
 *        an EOI register).
 *
 * A `struct virq_ioapic` models one I/O APIC: the IOREGSEL/IOWIN window,
 * the ID, version and arbitration registers, and 1-120 redirection entries
 * with their pins (edge and level, Remote IRR, masking, polarity).
 *
 * The I/O APIC speaks upstream the way the hardware does: every interrupt
 * it sends is an MSI-format write (address/data, SDM "Message Signalled Interrupts"), handed to
 * `ops->deliver`. A compatibility-format entry becomes a compatibility MSI;
 * a remappable-format entry (bit 48, VT-d) becomes a remappable MSI that
 * the interrupt-remapping layer translates (msi.h). The router decodes
 * both and reports how many LAPICs accepted the message, which decides
 * Remote IRR. An embedder that routes messages itself may set
 * `ops->deliver_entry` instead: it then gets the entry and decodes it with
 * virq_ioapic_rte_to_msg(), without the MSI write in between.
 *
 * ## Threads
 *
 * An I/O APIC has no owner thread: device threads drive pins and vCPU
 * threads access registers and broadcast EOIs. The caller serialises every
 * call on one I/O APIC (virq_vm does it with its lock). `ops->deliver` is
 * called with that serialisation held.
 *
 * ## Re-entry from hooks
 *
 * `ops->deliver` may call virq_ioapic_eoi(), virq_ioapic_set_pin() and
 * virq_ioapic_service() on the same I/O APIC (a LAPIC that EOIs at once, an
 * EOI path that raises the line again: KVM's "infinite recursion on lazy
 * EOI"). Such a nested call updates the state at once, but any message it
 * causes is only recorded; the outermost call sends it after `ops->deliver`
 * returns, iteratively, so the I/O APIC never calls `ops->deliver` from
 * within `ops->deliver`. The outermost call stops after `storm_limit` + 1
 * rounds of such follow-up messages and throttles the pins still asking
 * (as a storm, below). The other hooks (`storm`, `guest_error`) should not
 * call back; if they do, the same rules apply. No hook may call
 * virq_ioapic_init().
 *
 * ## Level-triggered storms
 *
 * A level pin whose source the guest never clears is re-delivered at every
 * EOI. After `storm_limit` successive re-deliveries without a deassert the
 * I/O APIC stops re-delivering that pin, calls `ops->storm` (if set) and
 * waits for virq_ioapic_service() (which the embedder calls after a delay
 * of its choosing; KVM and QEMU use 10 ms). The guest still gets its
 * interrupt, later.
 */
#ifndef VIRQ_IOAPIC_H
#define VIRQ_IOAPIC_H

#include <virq/error.h>
#include <virq/msg.h>
#include <virq/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Most redirection entries an I/O APIC may have (Max Redirection Entry 0x77). */
#define VIRQ_IOAPIC_MAX_PINS 120U
/** @brief Default pin count (PC/KVM/QEMU). */
#define VIRQ_IOAPIC_DEFAULT_PINS 24U
/** @brief Default base address of the first I/O APIC. */
#define VIRQ_IOAPIC_BASE_DEFAULT 0xFEC00000ULL
/** @brief Size of the MMIO window the embedder decodes. */
#define VIRQ_IOAPIC_MMIO_SIZE 0x1000U

/** @name MMIO offsets
 * @{ */
#define VIRQ_IOAPIC_IOREGSEL 0x00U /**< Register select. */
#define VIRQ_IOAPIC_IOWIN 0x10U    /**< Data window. */
#define VIRQ_IOAPIC_EOI 0x40U      /**< EOI register (version 0x20 only). */
/** @} */

/** @name Indirect register indexes
 * @{ */
#define VIRQ_IOAPIC_REG_ID 0x00U      /**< IOAPICID. */
#define VIRQ_IOAPIC_REG_VERSION 0x01U /**< IOAPICVER. */
#define VIRQ_IOAPIC_REG_ARB 0x02U     /**< IOAPICARB. */
#define VIRQ_IOAPIC_REG_RTE0 0x10U    /**< RTE n low at 0x10 + 2n, high at 0x11 + 2n. */
/** @} */

/** @name Redirection-entry fields (82093AA 3.2.4 "IOREDTBL[23:0]—I/O Redirection Table Registers")
 * @{ */
#define VIRQ_IOAPIC_RTE_VECTOR_MASK 0x00000000000000FFULL /**< Vector. */
#define VIRQ_IOAPIC_RTE_DM_SHIFT 8                        /**< Delivery mode shift. */
#define VIRQ_IOAPIC_RTE_DM_MASK 0x0000000000000700ULL     /**< Delivery mode. */
#define VIRQ_IOAPIC_RTE_DEST_LOGICAL (1ULL << 11) /**< Destination mode (IR: index bit 15). */
#define VIRQ_IOAPIC_RTE_DELIVS (1ULL << 12)       /**< Delivery status (RO). */
#define VIRQ_IOAPIC_RTE_POLARITY_LOW (1ULL << 13) /**< Active low. */
#define VIRQ_IOAPIC_RTE_REMOTE_IRR (1ULL << 14)   /**< Remote IRR (RO). */
#define VIRQ_IOAPIC_RTE_LEVEL (1ULL << 15)        /**< Level triggered. */
#define VIRQ_IOAPIC_RTE_MASKED (1ULL << 16)       /**< Masked. */
#define VIRQ_IOAPIC_RTE_REMAPPABLE (1ULL << 48)   /**< VT-d remappable format. */
#define VIRQ_IOAPIC_RTE_EXT_DEST_SHIFT 48         /**< Bits 55:48 -> MSI address 11:4. */
#define VIRQ_IOAPIC_RTE_DEST_SHIFT 56             /**< Destination (bits 63:56). */
/** Bits a guest write may change (all but delivery status and Remote IRR;
 *  47:17 are reserved and read 0). */
#define VIRQ_IOAPIC_RTE_WRITABLE 0xFFFF00000001AFFFULL
/** @} */

/** @brief Reset value of every redirection entry: masked, all else 0. */
#define VIRQ_IOAPIC_RTE_RESET VIRQ_IOAPIC_RTE_MASKED

/** @brief Default storm limit (successive EOI re-deliveries; KVM and QEMU use 10000). */
#define VIRQ_IOAPIC_STORM_LIMIT_DEFAULT 10000U

/** @brief Static configuration. Zero means "default" where noted. */
struct virq_ioapic_config {
	/** sizeof(struct virq_ioapic_config) as the caller was built: first, checked by
	 *  virq_ioapic_init() and virq_vm_add_ioapic() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint8_t id;           /**< Initial IOAPICID (bits 27:24), 0-15. */
	uint8_t version;      /**< 0x11 (82093AA, no EOI register) or 0x20; 0 = 0x20. */
	uint8_t pins;         /**< Redirection entries, 1-120; 0 = 24. */
	uint8_t reserved;     /**< Zero. */
	uint32_t storm_limit; /**< Successive level re-deliveries before throttling; 0 = 10000. */
};

/** @brief The first published size of struct virq_ioapic_config: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_IOAPIC_CONFIG_SIZE_MIN 12U

/**
 * @brief Callbacks from an I/O APIC to its embedder. Kept const; ctx first.
 */
struct virq_ioapic_ops {
	/** sizeof(struct virq_ioapic_ops) as the caller was built: first, checked by
	 *  virq_ioapic_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint32_t reserved; /**< Zero. */
	/** Required. Send the interrupt of @p pin upstream as the MSI write
	 *  @p addr / @p data (SDM "Message Signalled Interrupts"; remappable format when the
	 *  entry has bit 48 set). Returns how many LAPICs accepted it (0: none;
	 *  a level entry then leaves Remote IRR clear). While it runs, the
	 *  entry of a level pin reads with Remote IRR set, so an EOI from
	 *  inside the hook (lazy EOI) clears it. */
	unsigned (*deliver)(void *ctx, unsigned pin, uint64_t addr, uint32_t data);
	/** Optional. @p pin was throttled as a level storm; call
	 *  virq_ioapic_service() later. NULL: re-delivery resumes at the next
	 *  virq_ioapic_service() or entry write all the same. */
	void (*storm)(void *ctx, unsigned pin);
	/** Optional. Guest oddities (bad access size, write to a read-only
	 *  register); the access was already answered. */
	void (*guest_error)(void *ctx, enum virq_guest_error code);
	/** Optional. When set, used instead of `deliver`: send the interrupt
	 *  of @p pin given as the redirection entry @p rte itself, so an
	 *  embedder that routes messages can decode it with
	 *  virq_ioapic_rte_to_msg() instead of building the MSI write and
	 *  decoding it again. Same return value and Remote IRR rules as
	 *  `deliver` (@p rte is the entry before Remote IRR was set). */
	unsigned (*deliver_entry)(void *ctx, unsigned pin, uint64_t rte);
};

/** @brief The first published size of struct virq_ioapic_ops: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_IOAPIC_OPS_SIZE_MIN 32U

/**
 * @brief One virtual I/O APIC. Caller-allocated; fields are private.
 */
struct virq_ioapic {
	/** @privatesection */
	const struct virq_ioapic_ops *ops;
	void *ctx;
	struct virq_ioapic_config cfg;
	uint32_t ioregsel;
	uint8_t id;
	uint8_t reserved0[3];
	uint64_t rte[VIRQ_IOAPIC_MAX_PINS];
	uint64_t line[2];                         /* logical level of each pin (asserted = 1) */
	uint64_t storm_held[2];                   /* pins throttled, waiting for service */
	uint64_t pending[2];                      /* messages requested by nested calls */
	uint32_t eoi_count[VIRQ_IOAPIC_MAX_PINS]; /* successive EOI re-deliveries */
	uint32_t in_eoi; /* nesting depth of calls (EOI processing, hooks) */
	/* Level entries by vector, ascending pin order, as pin + 1 (0 = end):
	 * first pin of each vector and the next pin of each pin. */
	uint8_t vec_head[256];
	uint8_t vec_next[VIRQ_IOAPIC_MAX_PINS];
};

/**
 * @brief Initialises @p ioapic at reset: ID from config, every entry masked.
 * @param ioapic Caller-allocated storage for the I/O APIC; fully written on
 *               success.
 * @param cfg    The configuration; copied, so it may be freed after the call.
 * @param ops    The callbacks; `deliver` is required. Kept by pointer: must
 *               outlive @p ioapic and stay unchanged.
 * @param ctx    Passed as the first argument of every callback; may be NULL.
 * @return 0; -::VIRQ_EVERSION for a `size` of @p cfg or @p ops outside
 *         ::VIRQ_IOAPIC_CONFIG_SIZE_MIN / ::VIRQ_IOAPIC_OPS_SIZE_MIN to the
 *         library's sizeof; -::VIRQ_EINVAL for NULL arguments, a missing
 *         deliver hook, a non-zero reserved field or a config field out of
 *         range. Nothing is written on an error.
 */
VIRQ_API int virq_ioapic_init(struct virq_ioapic *ioapic, const struct virq_ioapic_config *cfg,
			      const struct virq_ioapic_ops *ops, void *ctx);

/**
 * @brief Reset: IOREGSEL 0, ID from config, every entry 0x10000, throttling
 *        cleared. Pin levels (device inputs) are kept.
 * @param ioapic The I/O APIC (initialised; not NULL, not checked).
 */
VIRQ_API void virq_ioapic_reset(struct virq_ioapic *ioapic);

/**
 * @brief Guest read of the MMIO window.
 *
 * IOREGSEL and IOWIN are 32-bit registers; an access of 1, 2 or 4 bytes
 * within one of them reads those bytes (8-byte and cross-register reads
 * return the low register's bytes zero-extended). Indirect reads: ID, VER
 * (version | (pins-1) << 16), ARB (= ID), RTE halves; any other index
 * (0x03-0x0F, past the last entry) reads all ones, as in KVM. The EOI
 * register and other offsets read 0.
 *
 * @param ioapic The I/O APIC (initialised; not NULL, not checked).
 * @param offset Byte offset in the window: 0x00 IOREGSEL, 0x10 IOWIN, 0x40
 *               EOI; 0 to ::VIRQ_IOAPIC_MMIO_SIZE - @p size.
 * @param size   Access size in bytes: 1, 2, 4 or 8.
 * @param val    Receives the value read (zero-extended). Not NULL.
 * @return 0, or -::VIRQ_EINVAL for a NULL @p val, a size not 1/2/4/8 or an
 *         access beyond ::VIRQ_IOAPIC_MMIO_SIZE.
 */
VIRQ_API int virq_ioapic_mmio_read(struct virq_ioapic *ioapic, uint32_t offset, unsigned size,
				   uint64_t *val);

/**
 * @brief Guest write to the MMIO window.
 *
 * IOREGSEL keeps bits 7:0. IOWIN writes the selected register: ID bits
 * 27:24; VER and ARB are read-only (writes ignored, reported); RTE halves
 * keep their writable bits (delivery status and Remote IRR are read-only;
 * an entry switched to edge clears Remote IRR, as Linux expects); an index
 * past the last entry is ignored. A write that unmasks or re-levels an
 * asserted level pin delivers it. The EOI register (version 0x20) acts as
 * virq_ioapic_eoi() with bits 7:0. Only 4-byte accesses to IOWIN and EOI
 * take effect (1/2/4 bytes to IOREGSEL).
 *
 * @param ioapic The I/O APIC (initialised; not NULL, not checked).
 * @param offset Byte offset in the window, as for virq_ioapic_mmio_read().
 * @param size   Access size in bytes: 1, 2, 4 or 8.
 * @param val    The value written; only its low @p size bytes count.
 * @return 0, or -::VIRQ_EINVAL as for virq_ioapic_mmio_read().
 */
VIRQ_API int virq_ioapic_mmio_write(struct virq_ioapic *ioapic, uint32_t offset, unsigned size,
				    uint64_t val);

/**
 * @brief Drives input @p pin to the logical level @p asserted (after
 *        polarity: true = asserted).
 *
 * The polarity bit (13) of the entry is storage only: device models
 * present logical levels, as in KVM and QEMU; an
 * embedder that has physical levels XORs them with bit 13 first.
 *
 * Edge entries send on a deasserted→asserted change when unmasked (an edge
 * on a masked pin is lost). Level entries send while asserted, unmasked and
 * Remote IRR clear; Remote IRR is set when at least one LAPIC accepted.
 *
 * @param ioapic   The I/O APIC (initialised; not NULL, not checked).
 * @param pin      The input, 0 to the configured pin count - 1.
 * @param asserted The logical level (after polarity).
 * @return 0, or -::VIRQ_EINVAL for @p pin >= the pin count.
 */
VIRQ_API int virq_ioapic_set_pin(struct virq_ioapic *ioapic, unsigned pin, bool asserted);

/**
 * @brief An EOI for @p vector: a LAPIC broadcast, or the EOI register.
 *
 * Clears Remote IRR of every level entry with that vector; each whose pin
 * is still asserted and unmasked is delivered again (subject to storm
 * throttling). Re-entry from within `ops->deliver` is bounded: an EOI
 * raised while one is being processed is applied, but the nested
 * re-delivery waits for the outer one to finish.
 * @param ioapic The I/O APIC (initialised; not NULL, not checked).
 * @param vector The vector the LAPIC retired (or bits 7:0 of the EOI
 *               register write), 0-255.
 */
VIRQ_API void virq_ioapic_eoi(struct virq_ioapic *ioapic, uint8_t vector);

/**
 * @brief Re-evaluates @p pin: delivers an asserted, unmasked level pin with
 *        Remote IRR clear. Ends storm throttling of that pin (an edge pin
 *        throttled with an edge held sends that edge if unmasked).
 * @param ioapic The I/O APIC (initialised; not NULL, not checked).
 * @param pin    The input, 0 to the configured pin count - 1.
 * @return 0, or -::VIRQ_EINVAL for an out-of-range pin.
 */
VIRQ_API int virq_ioapic_service(struct virq_ioapic *ioapic, unsigned pin);

/**
 * @brief Reads redirection entry @p pin (for routing mirrors such as KVM's GSI routes).
 * @param ioapic The I/O APIC (initialised).
 * @param pin    The entry, 0 to the configured pin count - 1.
 * @param rte    Receives the 64-bit entry. Not NULL.
 * @return 0, or -::VIRQ_EINVAL for a NULL argument or an out-of-range
 *         @p pin (*@p rte not written).
 */
VIRQ_API int virq_ioapic_get_rte(const struct virq_ioapic *ioapic, unsigned pin, uint64_t *rte);

/**
 * @brief The MSI write an entry produces (SDM "Message Signalled Interrupts",
 *        as QEMU's ioapic_entry_parse()).
 * @param rte  A redirection entry.
 * @param addr Receives the address (0xFEExxxxx).
 * @param data Receives the data (vector, delivery mode, level assert, trigger).
 */
VIRQ_API void virq_ioapic_rte_to_msi(uint64_t rte, uint64_t *addr, uint32_t *data);

/**
 * @brief The message an entry sends, decoded without building the MSI write:
 *        exactly what virq_msi_decode() gives for the address and data of
 *        virq_ioapic_rte_to_msi(), for every entry value.
 * @param rte   A redirection entry.
 * @param flags The virq_msi_decode() flags of msi.h (bit 0
 *              ::VIRQ_MSI_EXT_DEST, bit 1 ::VIRQ_MSI_ADDR_HI_DEST).
 * @param out   Receives the message (only when 0 is returned). Not NULL.
 * @return 0; 1 (::VIRQ_MSI_REMAPPABLE) for a remappable-format entry (bit 48),
 *         which only interrupt remapping can decode (@p out not written);
 *         -::VIRQ_EINVAL for a NULL @p out or unknown @p flags.
 */
VIRQ_API int virq_ioapic_rte_to_msg(uint64_t rte, unsigned flags, struct virq_apic_msg *out);

/** @brief Version of ::virq_ioapic_state. */
#define VIRQ_IOAPIC_STATE_VERSION 1U

/** @brief Complete architectural state of an I/O APIC, for save/restore. */
struct virq_ioapic_state {
	uint32_t version;                   /**< ::VIRQ_IOAPIC_STATE_VERSION. */
	uint32_t size;                      /**< sizeof(struct virq_ioapic_state). */
	uint32_t ioregsel;                  /**< IOREGSEL. */
	uint32_t id;                        /**< IOAPICID register value. */
	uint32_t pins;                      /**< Pin count (must match the configuration). */
	uint32_t reserved;                  /**< Zero. */
	uint64_t rte[VIRQ_IOAPIC_MAX_PINS]; /**< Entries; those past pins are zero. */
	uint64_t line[2];                   /**< Pin levels. */
	uint64_t storm_held[2];             /**< Throttled pins. */
};

/**
 * @brief Exports the state.
 * @param ioapic The I/O APIC (initialised).
 * @param out    Receives the state, version ::VIRQ_IOAPIC_STATE_VERSION,
 *               entries past the pin count zero. Not NULL.
 * @return 0, or -::VIRQ_EINVAL for a NULL argument.
 */
VIRQ_API int virq_ioapic_save(const struct virq_ioapic *ioapic, struct virq_ioapic_state *out);

/**
 * @brief Imports a state; validates everything first (reserved RTE bits,
 *        Remote IRR only on level entries, pin count, bits past the last pin).
 * @param ioapic The I/O APIC, initialised with the pin count the state
 *               has.
 * @param st     The state; read during the call only.
 * @return 0, -::VIRQ_EVERSION, -::VIRQ_ESTATE or -::VIRQ_EINVAL; nothing
 *         changes on error.
 */
VIRQ_API int virq_ioapic_restore(struct virq_ioapic *ioapic, const struct virq_ioapic_state *st);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_IOAPIC_H */
