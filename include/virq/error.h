/* SPDX-License-Identifier: MIT */
/**
 * @file error.h
 * @brief Error codes for embedder mistakes, and the guest-error report codes.
 *
 * libvirq separates three kinds of outcome:
 *  - the embedder made a mistake (bad config, NULL ops, damaged saved state):
 *    the call returns a negative ::virq_err and changes nothing;
 *  - the guest did something odd: that is a result, not an error. The call
 *    returns the architectural verdict (for example ::VIRQ_GP) and, when the
 *    embedder supplied a `guest_error` hook, reports a ::virq_guest_error;
 *  - an internal invariant broke: VIRQ_ASSERT (debug and fuzz builds only).
 *
 * One convention covers every public call that returns `int`, in the core,
 * the controllers, the VM layer and the glues alike:
 *  - 0 is success;
 *  - a negative value is always a negated ::virq_err (-::VIRQ_EINVAL, ...),
 *    never a raw -errno, -1 or another private code; each call's `@return`
 *    lists the codes it can return, and virq_strerror() names every one;
 *  - a positive value is a documented result, not an error: a verdict such
 *    as ::VIRQ_GP or ::VIRQ_MSI_REMAPPABLE, an index, a vector;
 *  - a host failure in a hosted glue (kvm.h: a system call or allocation)
 *    is -::VIRQ_EHOST, with errno left as the failing call set it; the
 *    freestanding core never returns it.
 *
 * Two calls that return a vector say "no vector" with -1 instead:
 * virq_lapic_pending(), virq_lapic_ack() (::VIRQ_LAPIC_NO_VECTOR) and
 * virq_vm_pic_take(). That -1 is a result, not an error; do not pass it
 * to virq_strerror(). Calls returning other types (an enum, a pointer,
 * `bool`, `uint32_t`) document their own values.
 */
#ifndef VIRQ_ERROR_H
#define VIRQ_ERROR_H

#include <virq/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Embedder-mistake error codes. Functions return them negated.
 */
enum virq_err {
	VIRQ_OK = 0,       /**< Success (functions return 0). */
	VIRQ_EINVAL = 1,   /**< An argument is NULL or out of its documented range. */
	VIRQ_EALIGN = 2,   /**< An object or page is not aligned as documented. */
	VIRQ_ENOTSUP = 3,  /**< The configuration asks for something not supported. */
	VIRQ_ENOENT = 4,   /**< The access is not for this object (e.g. an MSR it does not own). */
	VIRQ_EVERSION = 5, /**< A saved state has an unknown version or size, or a caller-filled
			     ops or config table an unknown `size` (doc/abi.md). */
	VIRQ_ESTATE = 6,   /**< A saved state is damaged or inconsistent; nothing was loaded. */
	VIRQ_ESTATEMODE = 7, /**< The call is not valid in the object's current mode. */
	VIRQ_EHOST = 8,      /**< A host service failed (hosted glues only: a system call;
				  errno says which and why). */
	VIRQ_ERR_COUNT       /**< Number of codes; not an error. */
};

/**
 * @brief Verdict of a guest register access that the architecture answers
 *        with a general-protection fault.
 *
 * Returned (positive) by MSR and CR8 accessors. The embedder injects \#GP(0)
 * into the guest and does not advance RIP. A verdict, not a ::virq_err:
 * do not pass it to virq_strerror() (which would read it as ::VIRQ_EINVAL).
 */
#define VIRQ_GP 1

/**
 * @brief Reasons reported through a controller's optional `guest_error` hook.
 *
 * Each one is the guest doing something the architecture answers quietly
 * (ignores, masks, \#GP, ESR bit); the hook exists so a VMM can log or
 * police a misbehaving guest. The library has already given the
 * architectural answer when the hook runs.
 */
enum virq_guest_error {
	VIRQ_GERR_MMIO_SIZE = 1, /**< LAPIC MMIO access of a size/alignment the APIC ignores. */
	VIRQ_GERR_RESERVED_REG,  /**< Access to a reserved register offset (ESR bit 7). */
	VIRQ_GERR_READONLY_REG,  /**< Write to a read-only register (ignored in xAPIC mode). */
	VIRQ_GERR_MSR_GP,        /**< An x2APIC MSR access answered with \#GP. */
	VIRQ_GERR_APIC_BASE,     /**< Illegal IA32_APIC_BASE write (\#GP). */
	VIRQ_GERR_CR8,           /**< MOV to CR8 with reserved bits set (\#GP). */
	VIRQ_GERR_SEND_ILLEGAL_VECTOR, /**< IPI or SELF IPI with vector 0-15 (ESR bit 5). */
	VIRQ_GERR_RECV_ILLEGAL_VECTOR, /**< Vector 0-15 received or raised by an LVT (ESR bit 6). */
	VIRQ_GERR_REDIRECTABLE_IPI,    /**< Lowest-priority IPI where unsupported (ESR bit 4). */
	VIRQ_GERR_INVALID_ICR,         /**< ICR combination the APIC does not send (Table 10-3). */
	VIRQ_GERR_LVT_MODE,            /**< LVT programmed with a reserved delivery mode. */
	VIRQ_GERR_TIMER_MODE,          /**< LVT Timer programmed with a reserved timer mode. */
	VIRQ_GERR_PIC_MODE,            /**< 8259 SNGL, MCS-80/85 mode or other ICW3. */
	VIRQ_GERR_COUNT                /**< Number of codes + 1; not a code. */
};

/**
 * @brief Human-readable name of an error code.
 *
 * Functions return the codes negated; both forms give the same string, so
 * `virq_strerror(err)` works on a return value as is. Freestanding: uses no
 * libc (for the text of errno after -::VIRQ_EHOST, call strerror(errno)).
 * @param err A ::virq_err value, negated or not (any `int` is accepted).
 * @return A static string, never NULL: the code's description for
 *         0 to ::VIRQ_ERR_COUNT - 1 and their negations, else
 *         "not a libvirq error code" (for example -22, a raw -EINVAL, or
 *         INT_MIN).
 * @note Any thread.
 */
VIRQ_API const char *virq_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_ERROR_H */
