/* SPDX-License-Identifier: MIT */
/**
 * @file uintr.h
 * @brief User interrupts: the UPID and UITT entry layouts, the SENDUIPI
 *        posting rule, user-interrupt notification processing and the
 *        validation of the UINTR MSR state.
 *
 * User interrupts (SDM Vol. 3A chapter "User Interrupts", SDM Vol. 2
 * "SENDUIPI—Send User Interprocessor Interrupt") post a user vector (0-63)
 * into the receiver's user posted-interrupt descriptor (UPID) and send an
 * ordinary IPI with the UPID's notification vector NV; the receiving
 * processor recognises NV as its UINV, moves the UPID's PIR into its
 * user-interrupt request register UIRR and delivers to the user handler.
 *
 * This header serves a hypervisor that runs such guests: the hardware
 * layouts (the guest's UPIDs and UITTs live in guest memory), the SENDUIPI
 * posting rule for a hypervisor that emulates or traps SENDUIPI, the
 * notification processing for a vCPU whose notification the hypervisor
 * handles in software, and the checks of the six UINTR MSRs on restore or
 * WRMSR. The posting rule shares the posted-interrupt descriptor's
 * protocol (<virq/pi.h>): ON and SN sit at the same bits of the control
 * word, a poster sets PIR with a locked instruction before it looks at ON,
 * the receiver clears ON before it takes PIR.
 *
 * UPID, 16 bytes at a 64-byte aligned address:
 *
 * | bits    | field | meaning                                          |
 * |---------|-------|--------------------------------------------------|
 * | 0       | ON    | outstanding notification                         |
 * | 1       | SN    | suppress notification                            |
 * | 23:16   | NV    | notification vector                              |
 * | 63:32   | NDST  | notification destination (x2APIC: 32-bit APIC ID; xAPIC: the 8-bit ID in bits 47:40) |
 * | 127:64  | PIR   | one bit per user vector 0-63                     |
 *
 * Bits 15:2 and 31:24 are reserved: SENDUIPI faults (\#GP) on a UPID that
 * sets one.
 *
 * UITT entry (UITTE), 16 bytes, UITTSZ + 1 entries at UITTADDR:
 *
 * | bits    | field    | meaning                                        |
 * |---------|----------|------------------------------------------------|
 * | 0       | V        | valid                                          |
 * | 15:8    | UV       | user vector (0-63: bits 15:14 must be 0)       |
 * | 127:64  | UPIDADDR | linear address of the receiver's UPID (bits 69:64 must be 0) |
 *
 * Bits 7:1 and 63:16 are reserved.
 */
#ifndef VIRQ_UINTR_H
#define VIRQ_UINTR_H

#include <virq/error.h>
#include <virq/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of user vectors (UIRR and UPID.PIR have one bit each). */
#define VIRQ_UINTR_VECTORS 64U

/** @brief UPID ON: outstanding notification (bit 0). */
#define VIRQ_UINTR_UPID_ON (1ULL << 0)
/** @brief UPID SN: suppress notification (bit 1). */
#define VIRQ_UINTR_UPID_SN (1ULL << 1)
/** @brief Shift of UPID NV (bits 23:16). */
#define VIRQ_UINTR_UPID_NV_SHIFT 16
/** @brief Mask of UPID NV in the control word. */
#define VIRQ_UINTR_UPID_NV_MASK (0xFFULL << VIRQ_UINTR_UPID_NV_SHIFT)
/** @brief Shift of UPID NDST (bits 63:32). */
#define VIRQ_UINTR_UPID_NDST_SHIFT 32
/** @brief Mask of UPID NDST in the control word. */
#define VIRQ_UINTR_UPID_NDST_MASK (0xFFFFFFFFULL << VIRQ_UINTR_UPID_NDST_SHIFT)
/** @brief Reserved bits of the UPID control word (15:2 and 31:24). */
#define VIRQ_UINTR_UPID_RSVD 0x00000000FF00FFFCULL
/** @brief Alignment of a UPID (UPIDADDR bits 5:0 are 0). */
#define VIRQ_UINTR_UPID_ALIGN 64U

/**
 * @brief User posted-interrupt descriptor (SENDUIPI instruction page).
 *
 * The structure is 16 bytes; a UPID must sit at a 64-byte aligned address.
 * Once a sender may use it, it is written only with the functions below
 * (or by the hardware).
 */
struct virq_uintr_upid {
	uint64_t control; /**< ON, SN, NV, NDST (see VIRQ_UINTR_UPID_*). */
	uint64_t pir;     /**< Posted user-interrupt requests, bit v = user vector v. */
};

VIRQ_STATIC_ASSERT(sizeof(struct virq_uintr_upid) == 16, "UPID is 16 bytes");

/** @brief UITTE V: the entry is valid (bit 0). */
#define VIRQ_UINTR_UITTE_V (1ULL << 0)
/** @brief Shift of UITTE UV (bits 15:8). */
#define VIRQ_UINTR_UITTE_UV_SHIFT 8
/** @brief Mask of the architectural UV values (0-63) in the first qword. */
#define VIRQ_UINTR_UITTE_UV_MASK (0x3FULL << VIRQ_UINTR_UITTE_UV_SHIFT)
/** @brief Reserved bits of the first qword: 7:1, 15:14 (UV above 63), 63:16. */
#define VIRQ_UINTR_UITTE_RSVD 0xFFFFFFFFFFFFC0FEULL
/** @brief Reserved bits of UPIDADDR (entry bits 69:64: the UPID is 64-byte aligned). */
#define VIRQ_UINTR_UITTE_ADDR_RSVD 0x3FULL

/**
 * @brief User-interrupt target table entry (SENDUIPI instruction page).
 */
struct virq_uintr_uitte {
	uint64_t control;   /**< V and UV (see VIRQ_UINTR_UITTE_*). */
	uint64_t upid_addr; /**< UPIDADDR: linear address of the receiver's UPID. */
};

VIRQ_STATIC_ASSERT(sizeof(struct virq_uintr_uitte) == 16, "UITT entry is 16 bytes");

/** @brief IA32_UINTR_RR: UIRR. */
#define VIRQ_MSR_IA32_UINTR_RR 0x985U
/** @brief IA32_UINTR_HANDLER: UIHANDLER (canonical). */
#define VIRQ_MSR_IA32_UINTR_HANDLER 0x986U
/** @brief IA32_UINTR_STACKADJUST: UISTACKADJUST (canonical; bit 0 load/subtract). */
#define VIRQ_MSR_IA32_UINTR_STACKADJUST 0x987U
/** @brief IA32_UINTR_MISC: UITTSZ (31:0), UINV (39:32); 63:40 reserved. */
#define VIRQ_MSR_IA32_UINTR_MISC 0x988U
/** @brief IA32_UINTR_PD: UPIDADDR (canonical; 5:0 reserved). */
#define VIRQ_MSR_IA32_UINTR_PD 0x989U
/** @brief IA32_UINTR_TT: bit 0 valid, UITTADDR (63:4, canonical); 3:1 reserved. */
#define VIRQ_MSR_IA32_UINTR_TT 0x98AU

/** @brief Shift of UINV in IA32_UINTR_MISC. */
#define VIRQ_UINTR_MISC_UINV_SHIFT 32
/** @brief Reserved bits of IA32_UINTR_MISC (63:40). */
#define VIRQ_UINTR_MISC_RSVD 0xFFFFFF0000000000ULL
/** @brief Reserved bits of IA32_UINTR_PD (5:0). */
#define VIRQ_UINTR_PD_RSVD 0x3FULL
/** @brief IA32_UINTR_TT bit 0: SENDUIPI enabled (the UITT is valid). */
#define VIRQ_UINTR_TT_VALID 0x1ULL
/** @brief Reserved bits of IA32_UINTR_TT (3:1). */
#define VIRQ_UINTR_TT_RSVD 0xEULL

/**
 * @brief The six UINTR MSRs of one logical processor, as saved and restored.
 */
struct virq_uintr_msrs {
	uint64_t rr;          /**< IA32_UINTR_RR (985H): UIRR. */
	uint64_t handler;     /**< IA32_UINTR_HANDLER (986H). */
	uint64_t stackadjust; /**< IA32_UINTR_STACKADJUST (987H). */
	uint64_t misc;        /**< IA32_UINTR_MISC (988H): UITTSZ, UINV. */
	uint64_t pd;          /**< IA32_UINTR_PD (989H): UPIDADDR. */
	uint64_t tt;          /**< IA32_UINTR_TT (98AH): UITTADDR and valid. */
};

/**
 * @brief Translates a guest linear address of a UPID into the host pointer.
 *
 * @param ctx   The embedder's context.
 * @param addr  Linear address, 64-byte aligned (UITTE.UPIDADDR).
 * @return The UPID's host address (8-byte aligned at least), or NULL when
 *         the address is not mapped (the embedder raises the \#PF or \#GP).
 */
typedef struct virq_uintr_upid *(*virq_uintr_map_fn)(void *ctx, uint64_t addr);

/**
 * @brief Initialises a UPID before any sender can see it: ON = SN = 0,
 *        PIR = 0, NV and NDST as given, reserved bits 0.
 *
 * @param upid  The descriptor.
 * @param nv    Notification vector (the receiver's UINV).
 * @param ndst  Notification destination, already in the NDST format
 *              (x2APIC: the 32-bit APIC ID; xAPIC: the 8-bit ID in bits 15:8).
 * @return 0; -::VIRQ_EINVAL when @p upid is NULL; -::VIRQ_EALIGN when it is
 *         not 64-byte aligned (nothing written).
 */
VIRQ_API int virq_uintr_upid_init(struct virq_uintr_upid *upid, uint8_t nv, uint32_t ndst);

/**
 * @brief Sets NV and NDST together, leaving ON, SN, PIR and the other bits
 *        as they are (a vCPU or task moved, or a blocked receiver's
 *        notification switched to a wakeup vector and back).
 *
 * @param upid  The descriptor.
 * @param nv    Notification vector.
 * @param ndst  Notification destination in the NDST format.
 * @return 0; -::VIRQ_EINVAL when @p upid is NULL.
 * @note Owner of the descriptor; concurrent senders are safe.
 */
VIRQ_API int virq_uintr_upid_set_notification(struct virq_uintr_upid *upid, uint8_t nv,
					      uint32_t ndst);

/**
 * @brief Sets or clears SN.
 *
 * Clearing SN re-arms notification: when PIR is non-empty afterwards and ON
 * was clear, ON is set and 1 is returned so that the caller sends NV to
 * NDST (posts made while SN was set raised no notification).
 *
 * @param upid      The descriptor.
 * @param suppress  New value of SN.
 * @return 1 when the caller must send the notification, 0 when not;
 *         -::VIRQ_EINVAL when @p upid is NULL.
 * @note Owner of the descriptor; concurrent senders are safe.
 */
VIRQ_API int virq_uintr_upid_set_sn(struct virq_uintr_upid *upid, bool suppress);

/**
 * @brief Fills a UITT entry: V = 1, UV = @p uv, UPIDADDR = @p upid_addr.
 *
 * The entry is made invalid first, then the address and the valid word are
 * stored, so a concurrent SENDUIPI sees the old entry, an invalid one, or
 * the new one.
 *
 * @param e          The entry.
 * @param uv         User vector, 0-63.
 * @param upid_addr  Linear address of the receiver's UPID, 64-byte aligned.
 * @return 0; -::VIRQ_EINVAL when @p e is NULL, @p uv > 63 or @p upid_addr
 *         sets bits 5:0 (nothing written).
 */
VIRQ_API int virq_uintr_uitte_set(struct virq_uintr_uitte *e, uint8_t uv, uint64_t upid_addr);

/**
 * @brief Makes a UITT entry invalid (V = 0, the rest 0).
 * @param e The entry.
 * @return 0; -::VIRQ_EINVAL when @p e is NULL.
 */
VIRQ_API int virq_uintr_uitte_clear(struct virq_uintr_uitte *e);

/**
 * @brief Reads UITT entry @p index as SENDUIPI does, with its checks.
 *
 * @param uitt       The table (UITTADDR translated by the caller).
 * @param uittsz     UITTSZ (IA32_UINTR_MISC[31:0]): the highest valid index.
 * @param index      SENDUIPI's register operand.
 * @param uv         Receives the entry's user vector.
 * @param upid_addr  Receives the entry's UPIDADDR.
 * @return 0; -::VIRQ_EINVAL when a pointer is NULL, @p index > @p uittsz,
 *         or the entry is not valid or sets a reserved bit (SENDUIPI's
 *         \#GP(0) cases; nothing written to @p uv or @p upid_addr).
 * @note Any thread; the entry is read with atomic loads.
 */
VIRQ_API int virq_uintr_uitte_read(const struct virq_uintr_uitte *uitt, uint32_t uittsz,
				   uint64_t index, uint8_t *uv, uint64_t *upid_addr);

/**
 * @brief Posts user vector @p uv into @p upid by SENDUIPI's rule.
 *
 * Checks the control word's reserved bits, sets PIR[uv] with a locked
 * instruction, then sets ON when SN and ON are both clear. Unlike
 * virq_pi_post(), ON is considered even when PIR[uv] was already set: SENDUIPI
 * notifies whenever it finds SN = ON = 0 (the receiver's OS may have cleared
 * SN with a plain store).
 *
 * @param upid     The receiver's UPID.
 * @param uv       User vector, 0-63.
 * @param control  When not NULL and the call returns 1, receives the
 *                 control word read after ON was set (NV and NDST of the
 *                 notification: see virq_uintr_notify_dest()).
 * @return 1 when this call set ON: the caller sends an IPI with NV to NDST;
 *         0 when no notification is due; -::VIRQ_EINVAL when @p upid is
 *         NULL, @p uv > 63 or the control word sets a reserved bit
 *         (SENDUIPI's \#GP(0); nothing written).
 * @note Any thread, lock-free; the receiver may process notifications
 *       concurrently.
 */
VIRQ_API int virq_uintr_post(struct virq_uintr_upid *upid, uint8_t uv, uint64_t *control);

/**
 * @brief SENDUIPI in software: virq_uintr_uitte_read(), the UPID through
 *        @p map, then virq_uintr_post().
 *
 * @param uitt     The sender's UITT (UITTADDR translated by the caller).
 * @param uittsz   UITTSZ.
 * @param index    SENDUIPI's register operand.
 * @param map      Translates UPIDADDR into a host pointer.
 * @param ctx      Passed to @p map.
 * @param control  As for virq_uintr_post().
 * @return 1 when a notification is due, 0 when not; -::VIRQ_EINVAL for a
 *         NULL argument or any of SENDUIPI's \#GP(0) cases (index above
 *         UITTSZ, invalid or reserved UITTE, reserved UPID bits);
 *         -::VIRQ_ENOENT when @p map returned NULL or a pointer that is not
 *         8-byte aligned. Nothing is written on error.
 */
VIRQ_API int virq_uintr_senduipi(const struct virq_uintr_uitte *uitt, uint32_t uittsz,
				 uint64_t index, virq_uintr_map_fn map, void *ctx,
				 uint64_t *control);

/**
 * @brief The physical APIC ID a notification goes to (SENDUIPI: x2APIC
 *        mode sends to all 32 bits of NDST, xAPIC mode to NDST[15:8]).
 * @param control  A UPID control word.
 * @param x2apic   Whether the sending local APIC is in x2APIC mode.
 * @return The destination APIC ID.
 */
VIRQ_API uint32_t virq_uintr_notify_dest(uint64_t control, bool x2apic);

/**
 * @brief User-interrupt notification processing in software (SDM Vol. 3A
 *        "User-Interrupt Notification Processing"), for a hypervisor that
 *        handles a notification for a vCPU itself (the vCPU was not
 *        running, or its notifications are emulated).
 *
 * Clears ON, then atomically reads and clears PIR, and ORs what it read
 * into @p *uirr. The caller has already identified the notification (the
 * vector equals the vCPU's UINV with CR4.UINTR = 1) and dismissed it from
 * the virtual local APIC instead of delivering it through the IDT.
 *
 * @param upid  The receiver's UPID (UPIDADDR translated by the caller).
 * @param uirr  The vCPU's UIRR, updated.
 * @return 1 when UIRR is non-zero afterwards (a user interrupt is
 *         recognised), 0 when it is zero; -::VIRQ_EINVAL when an argument
 *         is NULL (nothing changed).
 * @note Receiver only; concurrent senders are safe: a vector they post
 *       after ON was cleared is taken now or notified anew.
 */
VIRQ_API int virq_uintr_notify_process(struct virq_uintr_upid *upid, uint64_t *uirr);

/**
 * @brief Checks a value for one UINTR MSR as WRMSR does: reserved bits
 *        (MISC 63:40, PD 5:0, TT 3:1) and canonical addresses (HANDLER,
 *        STACKADJUST, PD, TT's address bits 63:4).
 *
 * @param msr      An MSR index, 985H-98AH.
 * @param val      The value.
 * @param la_bits  Linear-address width: 48 (4-level paging) or 57 (LA57).
 * @return 0 when WRMSR would accept it; -::VIRQ_EINVAL when it would raise
 *         \#GP(0), or @p la_bits is neither 48 nor 57; -::VIRQ_ENOENT when
 *         @p msr is not a UINTR MSR.
 */
VIRQ_API int virq_uintr_msr_check(uint32_t msr, uint64_t val, unsigned la_bits);

/**
 * @brief Restores the UINTR MSR state: checks every value with
 *        virq_uintr_msr_check() and copies @p src to @p dst only when all
 *        pass.
 *
 * @param dst      Receives the state.
 * @param src      The state to restore (for example from a migration
 *                 stream).
 * @param la_bits  Linear-address width of the vCPU: 48 or 57.
 * @return 0; -::VIRQ_EINVAL when a pointer is NULL, @p la_bits is invalid,
 *         or any value would fault on WRMSR (@p dst unchanged).
 */
VIRQ_API int virq_uintr_msrs_restore(struct virq_uintr_msrs *dst, const struct virq_uintr_msrs *src,
				     unsigned la_bits);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_UINTR_H */
