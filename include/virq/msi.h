/* SPDX-License-Identifier: MIT */
/**
 * @file msi.h
 * @brief MSI/MSI-X message decode, PCI MSI capability and MSI-X table
 *        helpers and VT-d interrupt remapping (IRTE decode, source
 *        validation, remapped and posted formats).
 *
 * Everything here is pure decoding over caller-held state: no threads, no
 * allocation. The IOMMU's remapping table lives in guest memory and is read
 * through a callback; fault recording and the IOMMU registers stay the
 * VMM's.
 */
#ifndef VIRQ_MSI_H
#define VIRQ_MSI_H

#include <virq/error.h>
#include <virq/msg.h>
#include <virq/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name MSI address fields (SDM "Message Address Register Format")
 * @{ */
#define VIRQ_MSI_ADDR_BASE 0xFEE00000ULL      /**< Interrupt window base. */
#define VIRQ_MSI_ADDR_DEST_SHIFT 12           /**< Destination ID, bits 19:12. */
#define VIRQ_MSI_ADDR_EXT_DEST_SHIFT 5        /**< Extended destination bits 11:5. */
#define VIRQ_MSI_ADDR_REMAPPABLE (1ULL << 4)  /**< VT-d remappable format. */
#define VIRQ_MSI_ADDR_RH (1ULL << 3)          /**< Redirection hint. */
#define VIRQ_MSI_ADDR_DM_LOGICAL (1ULL << 2)  /**< Destination mode. */
#define VIRQ_MSI_ADDR_IR_SHV (1ULL << 3)      /**< Remappable: subhandle valid. */
#define VIRQ_MSI_ADDR_IR_HANDLE15 (1ULL << 2) /**< Remappable: handle bit 15. */
/** @} */

/** @name MSI data fields (SDM "Message Data Register Format")
 * @{ */
#define VIRQ_MSI_DATA_VECTOR_MASK 0xFFU        /**< Vector. */
#define VIRQ_MSI_DATA_DM_SHIFT 8               /**< Delivery mode. */
#define VIRQ_MSI_DATA_LEVEL_ASSERT (1U << 14)  /**< Level: assert. */
#define VIRQ_MSI_DATA_TRIGGER_LEVEL (1U << 15) /**< Trigger mode: level. */
/** @} */

/** @name virq_msi_decode() flags
 * @{ */
/** Bits 11:5 of the address carry destination bits 14:8 (the KVM/Xen/Hyper-V
 *  extended destination ID convention; not an Intel format). */
#define VIRQ_MSI_EXT_DEST (1U << 0)
/** Address bits 63:40 carry destination bits 31:8 (KVM_X2APIC_API_USE_32BIT_IDS:
 *  address_hi[31:8] = dest[31:8]); address bits 39:32 must then be zero, as
 *  KVM requires of such a route. */
#define VIRQ_MSI_ADDR_HI_DEST (1U << 1)
/** @} */

/** @brief virq_msi_decode() result for a remappable-format message. */
#define VIRQ_MSI_REMAPPABLE 1

/**
 * @brief Decodes a compatibility-format MSI write into a message.
 *
 * Destination bits 19:12, extended by bits 11:5 (::VIRQ_MSI_EXT_DEST) and/or
 * address bits 63:40 (::VIRQ_MSI_ADDR_HI_DEST; with both flags the two
 * sources are ORed). DM (bit 2) is honoured whatever RH says. RH=1 turns a
 * Fixed message into lowest priority, as KVM does (`msi_redir_hint`); with
 * other delivery modes RH has no effect on the message. Delivery modes 3
 * and 6 (reserved for MSI) and vectors 0-15 are passed through unchanged:
 * the receiving side judges them. msg.level is data bit 14 for a
 * level-triggered message (a level de-assert, trigger = 1 and level = 0,
 * still decodes; routing drops it) and true for an edge message, whose
 * bit 14 is "don't care" (SDM "Message Data Register Format"; Linux leaves it 0). msg.x2apic is
 * true when @p flags allow a destination wider than 8 bits; msg.src is
 * ::VIRQ_MSG_SRC_NONE and msg.shorthand ::VIRQ_SH_NONE.
 *
 * @param addr   Address written (64 bits).
 * @param data   Data written.
 * @param flags  VIRQ_MSI_* decode flags.
 * @param out    Receives the message: destination (8, 15 or 32 bits per
 *               @p flags), physical/logical, delivery mode (RH=1 with Fixed
 *               becomes lowest priority), vector, trigger and level.
 * @return 0; ::VIRQ_MSI_REMAPPABLE when bit 4 is set (translate with
 *         virq_ir_translate(); @p out untouched); -::VIRQ_ENOENT when the
 *         address is outside 0xFEE00000-0xFEEFFFFF (not an interrupt),
 *         bits 63:32 are set without ::VIRQ_MSI_ADDR_HI_DEST, or bits 39:32
 *         are set with it; -::VIRQ_EINVAL for a NULL @p out or unknown
 *         @p flags.
 * @note Any thread; pure.
 */
VIRQ_API int virq_msi_decode(uint64_t addr, uint32_t data, unsigned flags,
			     struct virq_apic_msg *out);

/**
 * @brief Encodes a message as a compatibility MSI (inverse of virq_msi_decode()).
 *
 * Lowest priority is encoded as delivery mode 001 with RH=1 (as Linux
 * did); bit 14 is msg.level. With ::VIRQ_MSI_EXT_DEST a destination up to
 * 0x7FFF goes to bits 11:5; with ::VIRQ_MSI_ADDR_HI_DEST a wider one goes
 * to address bits 63:40 (with both flags, bits 11:5 are preferred when the
 * destination fits). msg.src and msg.x2apic are not encoded.
 *
 * @param msg   The message (destination, mode, vector, trigger, level); not
 *              NULL.
 * @param flags 0, or ::VIRQ_MSI_EXT_DEST and/or ::VIRQ_MSI_ADDR_HI_DEST:
 *              the destination formats the receiver accepts.
 * @param addr  Receives the 64-bit MSI address. Not NULL.
 * @param data  Receives the 32-bit MSI data. Not NULL.
 * @return 0, or -::VIRQ_EINVAL when the destination does not fit the format
 *         selected by @p flags, the message has a shorthand or a delivery
 *         mode above 7, @p flags are unknown or a pointer is NULL.
 * @note Any thread; pure.
 */
VIRQ_API int virq_msi_encode(const struct virq_apic_msg *msg, unsigned flags, uint64_t *addr,
			     uint32_t *data);

/* ---- MSI-X table and PBA ---- */

/** @brief Size of one MSI-X table entry. */
#define VIRQ_MSIX_ENTRY_SIZE 16U
/** @brief Vector Control: per-vector mask bit. */
#define VIRQ_MSIX_CTRL_MASKED 1U
/** @brief Most vectors an MSI-X table may have (Table Size 0x7FF + 1). */
#define VIRQ_MSIX_MAX_VECTORS 2048U

/** @brief One MSI-X table entry as the guest programs it. */
struct virq_msix_entry {
	uint32_t addr_lo; /**< Message Address [31:0]. */
	uint32_t addr_hi; /**< Message Upper Address. */
	uint32_t data;    /**< Message Data. */
	uint32_t ctrl;    /**< Vector Control (bit 0 = mask). */
};

/**
 * @brief A device's MSI-X state: caller-supplied table and PBA storage.
 *
 * The device model owns it and serialises calls on it.
 */
struct virq_msix {
	struct virq_msix_entry *table; /**< @p vectors entries. */
	uint64_t *pba;                 /**< Pending bits, (vectors + 63) / 64 words. */
	uint16_t vectors;              /**< Table size, 1-2048. */
	bool enabled;                  /**< Message Control bit 15 (MSI-X Enable). */
	bool function_mask;            /**< Message Control bit 14. */
};

/**
 * @brief Where a device model sends its MSI writes.
 * @param ctx   The embedder's context.
 * @param addr  Address.
 * @param data  Data.
 */
typedef void (*virq_msi_send_fn)(void *ctx, uint64_t addr, uint32_t data);

/**
 * @brief Initialises @p msix over caller storage: every entry masked, PBA clear,
 *        MSI-X disabled.
 * @param msix    The helper object, caller-allocated; written in full.
 * @param table   Caller storage for @p vectors entries; kept by pointer
 *                (must outlive @p msix) and initialised here.
 * @param pba     Caller storage for (@p vectors + 63) / 64 pending-bit words;
 *                kept by pointer and cleared here.
 * @param vectors Table size, 1-2048.
 * @return 0, or -::VIRQ_EINVAL for NULL storage or @p vectors not 1-2048.
 */
VIRQ_API int virq_msix_init(struct virq_msix *msix, struct virq_msix_entry *table, uint64_t *pba,
			    uint16_t vectors);

/**
 * @brief Guest read of the MSI-X table (aligned 4 or 8 bytes); bytes past
 *        the table read 0.
 * @param msix   The helper, initialised by virq_msix_init() (NULL: -::VIRQ_EINVAL).
 * @param offset Byte offset in the table (16 bytes per entry), a multiple
 *               of @p size.
 * @param size   4 or 8.
 * @param val    Receives the value, little-endian. Not NULL.
 * @return 0, or -::VIRQ_EINVAL for a bad size/alignment (then *@p val = 0),
 *         NULL @p val or an uninitialised @p msix.
 */
VIRQ_API int virq_msix_table_read(const struct virq_msix *msix, uint32_t offset, unsigned size,
				  uint64_t *val);

/**
 * @brief Guest write to the MSI-X table (aligned 4 or 8 bytes). Vector
 *        Control keeps bit 0 only. Unmasking a vector whose pending bit is
 *        set sends its message through @p send and clears the bit (only
 *        while MSI-X is enabled and the function is not masked). An 8-byte
 *        write stores both dwords before the mask is evaluated; writes past
 *        the table are ignored.
 * @param msix   The helper, initialised by virq_msix_init() (NULL: -::VIRQ_EINVAL).
 * @param offset Byte offset in the table, a multiple of @p size.
 * @param size   4 or 8.
 * @param val    The value written (low @p size bytes).
 * @param send   Called for a message the write releases; not NULL.
 * @param ctx    Passed to @p send unchanged; may be NULL.
 * @return 0, or -::VIRQ_EINVAL for a bad size/alignment, a NULL @p send or
 *         an uninitialised @p msix (nothing changes).
 */
VIRQ_API int virq_msix_table_write(struct virq_msix *msix, uint32_t offset, unsigned size,
				   uint64_t val, virq_msi_send_fn send, void *ctx);

/**
 * @brief Guest read of the Pending Bit Array (read-only; aligned 4/8 bytes;
 *        bytes past the array read 0). A device model ignores PBA writes.
 * @param msix   The helper, initialised by virq_msix_init() (NULL: -::VIRQ_EINVAL).
 * @param offset Byte offset in the array (bit i of the array is vector i), a
 *               multiple of @p size.
 * @param size   4 or 8.
 * @param val    Receives the value, little-endian. Not NULL.
 * @return 0, or -::VIRQ_EINVAL as virq_msix_table_read().
 */
VIRQ_API int virq_msix_pba_read(const struct virq_msix *msix, uint32_t offset, unsigned size,
				uint64_t *val);

/**
 * @brief Guest write of the MSI-X Message Control bits (Enable, Function
 *        Mask). Clearing the function mask, or enabling MSI-X with the
 *        function unmasked, sends every pending vector whose own Mask bit
 *        is clear, in ascending index order, and clears its pending bit.
 *        Disabling keeps the pending bits (they are sent when re-enabled).
 * @param msix          The helper, initialised by virq_msix_init() (NULL: -::VIRQ_EINVAL).
 * @param enabled       Message Control bit 15, MSI-X Enable.
 * @param function_mask Message Control bit 14, Function Mask.
 * @param send          Called for each released message; not NULL.
 * @param ctx           Passed to @p send unchanged; may be NULL.
 * @return 0, or -::VIRQ_EINVAL for a NULL @p send or an uninitialised
 *         @p msix (nothing changes).
 */
VIRQ_API int virq_msix_set_control(struct virq_msix *msix, bool enabled, bool function_mask,
				   virq_msi_send_fn send, void *ctx);

/**
 * @brief The device signals vector @p index: sent through @p send when
 *        enabled and unmasked; otherwise its pending bit is set (and sent
 *        at unmask). Does nothing while MSI-X is disabled.
 *
 * Invariant kept by every call: a pending bit is set only for a vector
 * that is masked, function-masked or disabled.
 * @param msix  The helper, initialised by virq_msix_init() (NULL: -::VIRQ_EINVAL).
 * @param index The vector, 0 to virq_msix::vectors - 1.
 * @param send  Called if the message goes out now; not NULL.
 * @param ctx   Passed to @p send unchanged; may be NULL.
 * @return 0, or -::VIRQ_EINVAL for an index past the table, a NULL
 *         @p send or an uninitialised @p msix.
 */
VIRQ_API int virq_msix_notify(struct virq_msix *msix, unsigned index, virq_msi_send_fn send,
			      void *ctx);

/* ---- PCI MSI capability ---- */

/** @name PCI MSI capability (PCI Local Bus 3.0, "MSI Capability Structure")
 * @{ */
#define VIRQ_MSI_CAP_ID 0x05U            /**< Capability ID (byte +0x00). */
#define VIRQ_MSI_CTRL_ENABLE (1U << 0)   /**< MSI Enable (R/W). */
#define VIRQ_MSI_CTRL_MMC_SHIFT 1        /**< Multiple Message Capable, bits 3:1 (RO). */
#define VIRQ_MSI_CTRL_MMC_MASK (7U << 1) /**< MMC field. */
#define VIRQ_MSI_CTRL_MME_SHIFT 4        /**< Multiple Message Enable, bits 6:4 (R/W). */
#define VIRQ_MSI_CTRL_MME_MASK (7U << 4) /**< MME field. */
#define VIRQ_MSI_CTRL_64BIT (1U << 7)    /**< 64-bit address capable (RO). */
#define VIRQ_MSI_CTRL_PVM (1U << 8)      /**< Per-vector masking capable (RO). */
#define VIRQ_MSI_CAP_MAX_LOG2 5U         /**< Largest MMC/MME: 32 vectors. */
/** @} */

/**
 * @brief A function's MSI capability as the guest programs it.
 *
 * Caller-owned; set up by virq_msi_cap_init() and changed by
 * virq_msi_cap_write() and virq_msi_cap_notify(). The device model owns it
 * and serialises calls on it. Configuration-space layout, offsets from the
 * capability start (PCI capabilities are DWORD aligned):
 *
 * | Offset | 32-bit address          | 64-bit address          |
 * |--------|-------------------------|-------------------------|
 * | +0x00  | Cap ID 0x05, next ptr   | same                    |
 * | +0x02  | Message Control         | same                    |
 * | +0x04  | Message Address [31:0]  | Message Address [31:0]  |
 * | +0x08  | Message Data            | Message Upper Address   |
 * | +0x0C  | Mask Bits (PVM only)    | Message Data            |
 * | +0x10  | Pending Bits (PVM only) | Mask Bits (PVM only)    |
 * | +0x14  | -                       | Pending Bits (PVM only) |
 *
 * The capability is 0x0C, 0x10, 0x14 or 0x18 bytes (virq_msi_cap_size());
 * the two bytes after Message Data read 0. Extended Message Data (control
 * bits 10:9) is not implemented: those bits read 0.
 */
struct virq_msi_cap {
	uint32_t addr_lo; /**< Message Address [31:0]; bits 1:0 read 0. */
	uint32_t addr_hi; /**< Message Upper Address; 0 unless 64-bit capable. */
	uint32_t mask;    /**< Mask Bits: bit k masks vector k (PVM only, else 0). */
	uint32_t pending; /**< Pending Bits: bit k = vector k pending (read-only to the guest). */
	uint16_t data;    /**< Message Data. */
	uint16_t control; /**< Message Control (VIRQ_MSI_CTRL_*). */
	uint8_t next;     /**< Next capability pointer (byte +0x01); the caller sets it. */
};

/**
 * @brief Initialises @p cap at reset: MSI disabled, MME 0, address, data,
 *        mask and pending bits 0, next pointer 0.
 * @param cap             The capability.
 * @param log2_vectors    Multiple Message Capable: the function requests
 *                        2^@p log2_vectors vectors (0-5).
 * @param addr64          64-bit address capable (control bit 7).
 * @param per_vector_mask Per-vector masking capable (control bit 8): Mask
 *                        and Pending Bits exist.
 * @return 0, or -::VIRQ_EINVAL for a NULL @p cap or @p log2_vectors > 5.
 */
VIRQ_API int virq_msi_cap_init(struct virq_msi_cap *cap, unsigned log2_vectors, bool addr64,
			       bool per_vector_mask);

/**
 * @brief Size of the capability in configuration space: 0x0C (32-bit),
 *        0x10 (64-bit), 0x14 (32-bit with PVM) or 0x18 (64-bit with PVM).
 * @param cap The capability state; NULL gives 0.
 * @return That size, or 0 for a NULL or invalid @p cap.
 */
VIRQ_API unsigned virq_msi_cap_size(const struct virq_msi_cap *cap);

/**
 * @brief Guest read of the capability's configuration-space bytes.
 *
 * @p offset is from the capability start (byte 0 reads ::VIRQ_MSI_CAP_ID,
 * byte 1 virq_msi_cap::next); @p size is 1, 2 or 4 and @p offset a
 * multiple of it, and the access must lie inside virq_msi_cap_size().
 * The result is little-endian, as configuration space is; bits of a write
 * value past @p size are ignored.
 * @param cap    The capability state (caller-owned, filled by the device
 *               model; NULL: -::VIRQ_EINVAL).
 * @param offset Byte offset from the capability start.
 * @param size   1, 2 or 4.
 * @param val    Receives the value, little-endian. Not NULL.
 * @return 0, or -::VIRQ_EINVAL (then *@p val = 0) for a bad size,
 *         alignment or range, a NULL @p val or an invalid @p cap (MMC > 5,
 *         MME > MMC or reserved control bits set).
 */
VIRQ_API int virq_msi_cap_read(const struct virq_msi_cap *cap, uint32_t offset, unsigned size,
			       uint32_t *val);

/**
 * @brief Guest write of the capability's configuration-space bytes
 *        (access rules as virq_msi_cap_read()).
 *
 * Only writable bits change: Cap ID, next pointer, MMC, the capability
 * bits, Pending Bits, address bits 1:0, the reserved bytes after Message
 * Data and Mask Bits of vectors past 2^MMC keep their values. An MME above
 * MMC (including the reserved values 6 and 7) is clamped to MMC, as QEMU
 * does. Then pending bits of vectors at or past 2^MME are cleared and,
 * while MSI is enabled, every pending vector that is not masked is sent
 * through @p send, lowest first, its pending bit cleared just before the
 * call (so unmasking, or enabling MSI after unmasking, delivers a message
 * held while masked). While MSI is disabled pending bits are kept.
 * @param cap    The capability state (NULL: -::VIRQ_EINVAL).
 * @param offset Byte offset from the capability start.
 * @param size   1, 2 or 4.
 * @param val    The value written (low @p size bytes).
 * @param send   Called for each message the write releases; not NULL.
 * @param ctx    Passed to @p send unchanged; may be NULL.
 * @return 0, or -::VIRQ_EINVAL for a bad access, a NULL @p send or an
 *         invalid @p cap (nothing changes).
 */
VIRQ_API int virq_msi_cap_write(struct virq_msi_cap *cap, uint32_t offset, unsigned size,
				uint32_t val, virq_msi_send_fn send, void *ctx);

/**
 * @brief The function signals vector @p vector (0 to 2^MME - 1).
 *
 * With MSI disabled nothing happens (the function uses INTx). With the
 * vector masked (per-vector masking) its pending bit is set and the
 * message is sent at unmask. Otherwise the message is sent: address
 * addr_hi:addr_lo (addr_lo alone without 64-bit capability) and data with
 * its low MME bits replaced by @p vector (the base must be aligned to
 * 2^MME; PCI Local Bus 3.0, "Message Data for MSI").
 *
 * Invariant kept by every virq_msi_cap_* call: a pending bit is set only
 * for a vector below 2^MME that is masked or while MSI is disabled, and
 * never without per-vector masking.
 * @param cap    The capability state (NULL: -::VIRQ_EINVAL).
 * @param vector The vector the function signals, 0 to 2^MME - 1.
 * @param send   Called if the message goes out now; not NULL.
 * @param ctx    Passed to @p send unchanged; may be NULL.
 * @return 0, or -::VIRQ_EINVAL for @p vector >= 2^MME (even while
 *         disabled), a NULL @p send or an invalid @p cap.
 */
VIRQ_API int virq_msi_cap_notify(struct virq_msi_cap *cap, unsigned vector, virq_msi_send_fn send,
				 void *ctx);

/* ---- VT-d interrupt remapping ---- */

/** @brief Why a remappable request was blocked (VT-d fault reasons). */
enum virq_ir_fault {
	VIRQ_IR_OK = 0,                    /**< Not blocked. */
	VIRQ_IR_FAULT_REQ_RESERVED = 0x20, /**< Reserved bits set in the request (address/data). */
	VIRQ_IR_FAULT_INDEX = 0x21,        /**< Index beyond the table size. */
	VIRQ_IR_FAULT_NOT_PRESENT = 0x22,  /**< IRTE.P = 0. */
	VIRQ_IR_FAULT_READ = 0x23,         /**< The IRTE could not be read. */
	VIRQ_IR_FAULT_RESERVED = 0x24,     /**< Reserved bits set in the IRTE. */
	VIRQ_IR_FAULT_COMPAT =
		0x25,             /**< Compatibility format while blocked (CFI = 0 or EIME = 1). */
	VIRQ_IR_FAULT_SID = 0x26, /**< Source-ID validation failed. */
};

/** @brief Kind of a translation result. */
enum virq_ir_kind {
	VIRQ_IR_BLOCKED = 0,  /**< Dropped; see virq_ir_result::fault. */
	VIRQ_IR_REMAPPED = 1, /**< Deliver virq_ir_result::msg. */
	VIRQ_IR_POSTED = 2,   /**< Post virq_ir_result::vector into the descriptor at pda. */
	VIRQ_IR_COMPAT = 3,   /**< Compatibility format passed through (CFI): deliver msg. */
};

/** @brief Result of virq_ir_translate(). */
struct virq_ir_result {
	uint32_t kind;            /**< ::virq_ir_kind. */
	uint32_t fault;           /**< ::virq_ir_fault when blocked. */
	uint32_t index;           /**< IRTE index used (when known). */
	bool fpd;                 /**< IRTE.FPD: do not record/report this fault. */
	bool urgent;              /**< Posted: IRTE.URG. */
	uint8_t vector;           /**< Posted: virtual vector. */
	uint8_t reserved;         /**< Zero. */
	uint64_t pda;             /**< Posted: descriptor address (64-byte aligned). */
	struct virq_apic_msg msg; /**< Remapped/compat: the message to deliver. */
};

/** @brief Interrupt-remapping configuration (from the guest's IOMMU registers). */
struct virq_ir_config {
	/** sizeof(struct virq_ir_config) as the caller was built: first, checked by
	 *  virq_ir_translate(), virq_vm_set_ir() and, in virq_vm_config::ir with ir_enabled, virq_vm_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint32_t table_entries; /**< IRTA size: 2^(S+1) entries, 1-65536. */
	bool eime;              /**< Extended interrupt mode (x2APIC destinations). */
	bool cfi;               /**< Compatibility-format interrupts pass through. */
	bool posting;           /**< Posted-format IRTEs are supported. */
	uint8_t reserved;       /**< Zero (was padding). */
};

/** @brief The first published size of struct virq_ir_config: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_IR_CONFIG_SIZE_MIN 12U

/**
 * @brief Reads IRTE @p index (128 bits) from the guest's table.
 * @param ctx    The context given to virq_ir_translate().
 * @param index  Entry index, always below virq_ir_config::table_entries.
 * @param irte   Receives the entry: irte[0] = bits 63:0, irte[1] = bits 127:64.
 * @return 0, or non-zero when the read failed (fault ::VIRQ_IR_FAULT_READ).
 */
typedef int (*virq_ir_read_fn)(void *ctx, uint32_t index, uint64_t irte[2]);

/**
 * @brief Translates a write to the interrupt window under interrupt remapping.
 *
 * Remappable format: handle/subhandle → index, bounds check, IRTE read,
 * present, reserved bits, source-ID validation (SVT/SQ/SID against
 * @p requester_id), then remapped (a message) or posted (descriptor
 * address, vector, URG). Compatibility format: passed through when CFI is
 * set and EIME clear (decoded by virq_msi_decode() with no flags), else
 * blocked.
 *
 * Checks, in order, each ending in ::VIRQ_IR_BLOCKED with its fault:
 * address bits 63:32 set (either format) or, remappable, data bits 31:16
 * set: ::VIRQ_IR_FAULT_REQ_RESERVED; compatibility format not allowed:
 * ::VIRQ_IR_FAULT_COMPAT; index (handle, plus data[15:0] when SHV; never
 * wrapped) >= table_entries: ::VIRQ_IR_FAULT_INDEX; @p read failed:
 * ::VIRQ_IR_FAULT_READ; P = 0: ::VIRQ_IR_FAULT_NOT_PRESENT; reserved bits
 * (remapped: 14:12, 31:24, 127:84, DLM 3 or 6, and without EIME the DST
 * bits 39:32 and 63:48; posted: 7:2, 13:12, 37:24, 95:84, or any posted
 * entry without virq_ir_config::posting): ::VIRQ_IR_FAULT_RESERVED; SVT 11
 * or a failed SID/SQ or bus-range check: ::VIRQ_IR_FAULT_SID.
 * out->index is set once the index is known (0 before); out->fpd is IRTE.FPD
 * once the entry was read (faults 0x22, 0x24, 0x26 and successes), false
 * otherwise. A remapped message has level = true, msg.x2apic = EIME and the
 * destination DST[15:8] (xAPIC) or DST (x2APIC); RH=1 with Fixed becomes
 * lowest priority.
 *
 * @param cfg           Remapping configuration.
 * @param addr          The MSI address written (bits 31:20 must be 0xFEE;
 *                      bit 4 set for remappable format).
 * @param data          The MSI data written (bits 15:0 the subhandle when
 *                      address bit 3, SHV, is set).
 * @param requester_id  Source ID (bus:dev.fn) of the writer; for an I/O APIC
 *                      its own source ID.
 * @param read          Reads an IRTE; @p ctx is passed to it.
 * @param ctx           Context for @p read.
 * @param out           Result.
 * @return 0 (see out->kind), -::VIRQ_ENOENT for an address whose bits 31:20
 *         are not 0xFEE, -::VIRQ_EVERSION for a cfg->size outside
 *         ::VIRQ_IR_CONFIG_SIZE_MIN to the library's sizeof, -::VIRQ_EINVAL
 *         for NULL arguments, a non-zero reserved field or
 *         virq_ir_config::table_entries not 1-65536 (@p out untouched on
 *         error).
 * @note Any thread; pure but for @p read.
 */
VIRQ_API int virq_ir_translate(const struct virq_ir_config *cfg, uint64_t addr, uint32_t data,
			       uint16_t requester_id, virq_ir_read_fn read, void *ctx,
			       struct virq_ir_result *out);

/* ---- Host posted-format IRTEs (an assigned device's MSI posted into a vCPU) ---- */

/** @name Host IRTE fields written by virq_irte_posted() and virq_irte_remapped()
 *  (VT-d specification, "Interrupt Remapping Table Entry (IRTE) for Remapped
 *  Interrupts" and "... for Posted Interrupts"; entry[0] = bits 63:0,
 *  entry[1] = bits 127:64)
 * @{ */
#define VIRQ_IRTE_P (1ULL << 0)    /**< Present. */
#define VIRQ_IRTE_FPD (1ULL << 1)  /**< Fault processing disable. */
#define VIRQ_IRTE_URG (1ULL << 14) /**< Posted: urgent (notify even with SN set). */
#define VIRQ_IRTE_IM (1ULL << 15)  /**< IRTE mode: 1 = posted format. */
#define VIRQ_IRTE_VECTOR_SHIFT 16  /**< Vector (posted: the guest's), bits 23:16. */
#define VIRQ_IRTE_PDA_LO_SHIFT 38  /**< Posted: PDA bits 31:6 in bits 63:38. */
#define VIRQ_IRTE_DST_SHIFT 32     /**< Remapped: destination, bits 63:32. */
#define VIRQ_IRTE_SQ_SHIFT 16      /**< High word: SQ, bits 81:80. */
#define VIRQ_IRTE_SVT_SHIFT 18     /**< High word: SVT, bits 83:82. */
#define VIRQ_IRTE_PDA_HI_SHIFT 32  /**< High word: PDA bits 63:32 in bits 127:96. */
/** @} */

/**
 * @brief What the embedder fixes in every host IRTE it has the library build
 *        for one device interrupt: source validation, fault reporting, URG,
 *        and where a message that cannot be posted goes instead.
 *
 * A message that cannot be posted is remapped to a host vector on a host
 * CPU (physical, fixed, edge); the embedder's handler of that vector then
 * delivers the guest's message in software (virq_vm_send_msi() or its own
 * routing).
 */
struct virq_irte_host {
	/** sizeof(struct virq_irte_host) as the caller was built: first
	 *  (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	/** Remapped fallback: the host CPU's APIC ID: 32 bits with
	 *  virq_irte_host::x2apic, else 8 bits (written to DST[15:8]). */
	uint32_t dest;
	uint16_t sid;   /**< Source ID (bus:dev.fn, or a bus range with SVT 2), bits 79:64. */
	uint8_t sq;     /**< Source-ID qualifier, 0-3 (bits 81:80). */
	uint8_t svt;    /**< Source validation type, 0-2 (3 is reserved). */
	uint8_t vector; /**< Remapped fallback: the host vector, 16-255. */
	bool x2apic;    /**< The host IOMMU runs in extended interrupt mode (EIME). */
	bool fpd;       /**< Set FPD: faults of this entry are not recorded. */
	bool urgent;    /**< Posted: set URG (notify even while the vCPU's SN is set). */
};

/** @brief The first published size of struct virq_irte_host: the smallest
 *  `size` accepted. */
#define VIRQ_IRTE_HOST_SIZE_MIN 16U

/**
 * @brief Builds a posted-format IRTE that posts @p vector into the
 *        descriptor at host-physical address @p pda.
 *
 * Bits set: P, FPD (virq_irte_host::fpd), URG (virq_irte_host::urgent), IM,
 * the vector (23:16), PDA[31:6] (63:38), SID, SQ, SVT (79:64, 81:80, 83:82)
 * and PDA[63:32] (127:96); every other bit (the reserved fields and the
 * software-available bits 11:8) is 0.
 *
 * @param host   The embedder's settings (size, SID/SQ/SVT, FPD, URG); not NULL.
 * @param pda    Host-physical address of the vCPU's struct virq_pi_desc,
 *               64-byte aligned.
 * @param vector The guest vector to post, 16-255.
 * @param out    Receives the entry: out[0] = bits 63:0, out[1] = bits 127:64.
 * @return 0; -::VIRQ_EVERSION for a host->size outside
 *         ::VIRQ_IRTE_HOST_SIZE_MIN to the library's sizeof;
 *         -::VIRQ_EALIGN for a @p pda not 64-byte aligned; -::VIRQ_EINVAL
 *         for NULL pointers, @p vector below 16, SQ above 3 or SVT 3
 *         (@p out untouched on error).
 * @note Any thread; pure.
 */
VIRQ_API int virq_irte_posted(const struct virq_irte_host *host, uint64_t pda, uint8_t vector,
			      uint64_t out[2]);

/**
 * @brief Builds the remapped-format IRTE of the fallback: host->vector to
 *        host->dest, physical, fixed, edge.
 *
 * Bits set: P, FPD, the vector (23:16), DST (x2APIC: bits 63:32; xAPIC:
 * the 8-bit ID in bits 47:40, DST[15:8]), SID, SQ, SVT; DM, RH, TM, DLM,
 * IM and every reserved bit are 0.
 *
 * @param host The embedder's settings; not NULL.
 * @param out  Receives the entry: out[0] = bits 63:0, out[1] = bits 127:64.
 * @return 0; -::VIRQ_EVERSION as virq_irte_posted(); -::VIRQ_EINVAL for
 *         NULL pointers, host->vector below 16, an xAPIC host->dest above
 *         0xFF, SQ above 3 or SVT 3 (@p out untouched on error).
 * @note Any thread; pure.
 */
VIRQ_API int virq_irte_remapped(const struct virq_irte_host *host, uint64_t out[2]);

/**
 * @brief The embedder's vCPU lookup: which vCPUs a guest message targets.
 *
 * Called once per virq_irte_compose() for a fixed or lowest-priority, edge,
 * non-broadcast message. Counts every vCPU the message's destination
 * selects (physical or logical, in the guest's current APIC modes), before
 * any lowest-priority arbitration.
 *
 * @param ctx  The context given to virq_irte_compose().
 * @param msg  The guest's message (decoded, after the guest's own
 *             interrupt remapping if any).
 * @param pda  When exactly one vCPU is targeted: receives the host-physical
 *             address of its posted-interrupt descriptor.
 * @return The number of vCPUs targeted (0 or more), or a negative
 *         -VIRQ_E* code, which virq_irte_compose() returns unchanged.
 */
typedef int (*virq_irte_lookup_fn)(void *ctx, const struct virq_apic_msg *msg, uint64_t *pda);

/**
 * @brief Chooses and builds the host IRTE for a guest's device message:
 *        posted when it targets exactly one vCPU, remapped otherwise.
 *
 * Posted (virq_irte_posted() with msg->vector and the descriptor @p lookup
 * gives) when the message is fixed or lowest priority, edge-triggered,
 * its vector is 16-255, it is not a broadcast (physical destination 0xFF,
 * or 0xFFFFFFFF with msg->x2apic) and @p lookup reports exactly one vCPU.
 * Otherwise the fallback of virq_irte_remapped(): another delivery mode,
 * a level-triggered message, an illegal vector, a broadcast, no vCPU or
 * several (multicast, or lowest priority among several candidates, whose
 * arbitration stays the software path's).
 *
 * @param host   The embedder's settings; not NULL.
 * @param msg    The guest's message; shorthand must be ::VIRQ_SH_NONE and
 *               delivery 0-7.
 * @param lookup The vCPU lookup; not NULL.
 * @param ctx    Passed to @p lookup unchanged.
 * @param out    Receives the entry (out[0] = bits 63:0, out[1] = bits 127:64);
 *               install it with virq_irte_update().
 * @return ::VIRQ_IR_POSTED or ::VIRQ_IR_REMAPPED (the format built); the
 *         errors of virq_irte_posted() and virq_irte_remapped() (the
 *         fallback is validated even when the entry is posted); a negative
 *         value @p lookup returned; -::VIRQ_EINVAL for NULL pointers, a
 *         shorthand, a delivery mode above 7 or a lookup count of one with
 *         a @p pda not 64-byte aligned. @p out is untouched on error.
 * @note Any thread; pure but for @p lookup.
 */
VIRQ_API int virq_irte_compose(const struct virq_irte_host *host, const struct virq_apic_msg *msg,
			       virq_irte_lookup_fn lookup, void *ctx, uint64_t out[2]);

/**
 * @brief Invalidates the IOMMU's interrupt-entry cache for one entry.
 *
 * The embedder submits an Interrupt Entry Cache Invalidate Descriptor
 * (index granularity) followed by an Invalidation Wait Descriptor and waits
 * for its completion (VT-d specification, "Interrupt Entry Cache
 * Invalidate Descriptor"); on an IOMMU that does not snoop the table
 * (ECAP.C = 0) it first writes the entry's cache line back.
 *
 * @param ctx   The context given to virq_irte_update().
 * @param index The entry's index in the table.
 */
typedef void (*virq_irte_invalidate_fn)(void *ctx, uint32_t index);

/** @brief virq_irte_update() result: the entry already held the new value;
 *  nothing was written and nothing invalidated. */
#define VIRQ_IRTE_UNCHANGED 1

/**
 * @brief Installs @p val into the live entry @p irte of the host's
 *        interrupt-remapping table, so that the IOMMU, which reads an entry
 *        as one 128-bit access, sees the old entry or the new one and never
 *        a mix, then invalidates the entry's cached copy.
 *
 * Order of the writes (each a 64-bit atomic store or a locked 128-bit
 * compare-exchange, all sequentially consistent):
 *  - old entry not present: bits 127:64 first, then bits 63:0 (which set
 *    P); until the second store the entry is not present;
 *  - new entry not present: bits 63:0 first (which clear P), then 127:64;
 *  - both present, one half differs: that half alone, one store;
 *  - both present, both halves differ: one LOCK CMPXCHG16B (x86-64);
 *    where that instruction does not exist, -::VIRQ_ENOTSUP and nothing is
 *    written (the embedder masks the device's vector, installs a
 *    not-present entry, then the new one, then unmasks).
 *
 * Then @p invalidate(ctx, @p index), so that the IOMMU stops using a cached
 * copy of the old entry. A request the IOMMU remapped with the old entry
 * before the write posts into the old descriptor (or goes to the old
 * vector): the vCPU that owned it receives it, as if the guest's message
 * had been sent before the guest reprogrammed it.
 *
 * @param irte       The live entry, 16-byte aligned: irte[0] = bits 63:0,
 *                   irte[1] = bits 127:64. Only this function writes it
 *                   while it is live (callers serialise updates of one entry).
 * @param val        The new value (from virq_irte_compose(),
 *                   virq_irte_posted() or virq_irte_remapped()).
 * @param index      The entry's index, passed to @p invalidate.
 * @param invalidate The interrupt-entry-cache invalidation; not NULL.
 * @param ctx        Passed to @p invalidate unchanged.
 * @return 0 (written and invalidated), ::VIRQ_IRTE_UNCHANGED, -::VIRQ_EALIGN
 *         for an @p irte not 16-byte aligned, -::VIRQ_ENOTSUP as above,
 *         -::VIRQ_EINVAL for NULL pointers (nothing written on error).
 * @note Any thread; one updater per entry at a time.
 */
VIRQ_API int virq_irte_update(uint64_t *irte, const uint64_t val[2], uint32_t index,
			      virq_irte_invalidate_fn invalidate, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_MSI_H */
