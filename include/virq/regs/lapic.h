/* SPDX-License-Identifier: MIT */
/**
 * @file regs/lapic.h
 * @brief Local APIC architectural constants: register offsets, MSRs, fields.
 *
 * Names follow the SDM (Vol 3A, APIC chapter). Offsets are byte offsets in
 * the 4 KiB xAPIC register page; the x2APIC MSR of a register is
 * `VIRQ_X2APIC_MSR_BASE + (offset >> 4)`.
 */
#ifndef VIRQ_REGS_LAPIC_H
#define VIRQ_REGS_LAPIC_H

#include <virq/platform.h>

/** @name Register page offsets (SDM "Local APIC Register Address Map")
 * @{ */
#define VIRQ_LAPIC_REG_ID 0x020U          /**< Local APIC ID. */
#define VIRQ_LAPIC_REG_VERSION 0x030U     /**< Version. */
#define VIRQ_LAPIC_REG_TPR 0x080U         /**< Task priority. */
#define VIRQ_LAPIC_REG_APR 0x090U         /**< Arbitration priority (xAPIC only). */
#define VIRQ_LAPIC_REG_PPR 0x0A0U         /**< Processor priority. */
#define VIRQ_LAPIC_REG_EOI 0x0B0U         /**< End of interrupt. */
#define VIRQ_LAPIC_REG_RRD 0x0C0U         /**< Remote read (reserved on modern CPUs). */
#define VIRQ_LAPIC_REG_LDR 0x0D0U         /**< Logical destination. */
#define VIRQ_LAPIC_REG_DFR 0x0E0U         /**< Destination format (xAPIC only). */
#define VIRQ_LAPIC_REG_SVR 0x0F0U         /**< Spurious-interrupt vector. */
#define VIRQ_LAPIC_REG_ISR 0x100U         /**< In-service, 8 registers. */
#define VIRQ_LAPIC_REG_TMR 0x180U         /**< Trigger mode, 8 registers. */
#define VIRQ_LAPIC_REG_IRR 0x200U         /**< Interrupt request, 8 registers. */
#define VIRQ_LAPIC_REG_ESR 0x280U         /**< Error status. */
#define VIRQ_LAPIC_REG_LVT_CMCI 0x2F0U    /**< LVT corrected machine-check. */
#define VIRQ_LAPIC_REG_ICR_LO 0x300U      /**< Interrupt command, bits 31:0. */
#define VIRQ_LAPIC_REG_ICR_HI 0x310U      /**< Interrupt command, bits 63:32 (xAPIC). */
#define VIRQ_LAPIC_REG_LVT_TIMER 0x320U   /**< LVT timer. */
#define VIRQ_LAPIC_REG_LVT_THERMAL 0x330U /**< LVT thermal sensor. */
#define VIRQ_LAPIC_REG_LVT_PMC 0x340U     /**< LVT performance counter. */
#define VIRQ_LAPIC_REG_LVT_LINT0 0x350U   /**< LVT LINT0. */
#define VIRQ_LAPIC_REG_LVT_LINT1 0x360U   /**< LVT LINT1. */
#define VIRQ_LAPIC_REG_LVT_ERROR 0x370U   /**< LVT error. */
#define VIRQ_LAPIC_REG_TMICT 0x380U       /**< Timer initial count. */
#define VIRQ_LAPIC_REG_TMCCT 0x390U       /**< Timer current count. */
#define VIRQ_LAPIC_REG_TDCR 0x3E0U        /**< Timer divide configuration. */
#define VIRQ_LAPIC_REG_SELF_IPI 0x3F0U    /**< SELF IPI (x2APIC only). */
/** @} */

/** @name MSRs
 * @{ */
#define VIRQ_MSR_IA32_APIC_BASE 0x01BU    /**< IA32_APIC_BASE. */
#define VIRQ_MSR_IA32_TSC_DEADLINE 0x6E0U /**< IA32_TSC_DEADLINE. */
#define VIRQ_X2APIC_MSR_BASE 0x800U       /**< First x2APIC MSR. */
#define VIRQ_X2APIC_MSR_LAST 0xBFFU       /**< Last MSR reserved for the x2APIC. */
/** @} */

/** @name IA32_APIC_BASE fields (SDM "Local APIC Status and Location")
 * EXTD: SDM "Detecting and Enabling x2APIC Mode".
 * @{ */
#define VIRQ_APIC_BASE_BSP (1ULL << 8)            /**< Bootstrap processor (read-only). */
#define VIRQ_APIC_BASE_EXTD (1ULL << 10)          /**< x2APIC mode enable. */
#define VIRQ_APIC_BASE_EN (1ULL << 11)            /**< APIC global enable. */
#define VIRQ_APIC_BASE_ADDR_DEFAULT 0xFEE00000ULL /**< Default xAPIC page. */
/** @} */

/** @name SVR fields (SDM "Spurious Interrupt")
 * @{ */
#define VIRQ_LAPIC_SVR_VECTOR_MASK 0x0FFU      /**< Spurious vector. */
#define VIRQ_LAPIC_SVR_ENABLE (1U << 8)        /**< APIC software enable. */
#define VIRQ_LAPIC_SVR_FOCUS_DISABLE (1U << 9) /**< Focus checking disable (P6). */
#define VIRQ_LAPIC_SVR_EOI_SUPPRESS (1U << 12) /**< EOI-broadcast suppression. */
/** @} */

/** @name Version fields (SDM "Local APIC Version Register")
 * @{ */
#define VIRQ_LAPIC_VERSION_MAXLVT_SHIFT 16         /**< Max LVT entry. */
#define VIRQ_LAPIC_VERSION_EOI_SUPPRESS (1U << 24) /**< Directed EOI supported. */
/** @} */

/** @name ESR bits (SDM "Error Handling")
 * @{ */
#define VIRQ_LAPIC_ESR_REDIR_IPI (1U << 4)    /**< Redirectable (lowest-priority) IPI. */
#define VIRQ_LAPIC_ESR_SEND_ILLEGAL (1U << 5) /**< Send illegal vector. */
#define VIRQ_LAPIC_ESR_RECV_ILLEGAL (1U << 6) /**< Receive illegal vector. */
#define VIRQ_LAPIC_ESR_ILLEGAL_REG (1U << 7)  /**< Illegal register address. */
/** @} */

/** @name LVT fields (SDM "Local Vector Table")
 * @{ */
#define VIRQ_LVT_VECTOR_MASK 0x000000FFU    /**< Vector. */
#define VIRQ_LVT_DM_SHIFT 8                 /**< Delivery mode shift. */
#define VIRQ_LVT_DM_MASK 0x00000700U        /**< Delivery mode. */
#define VIRQ_LVT_DELIVS (1U << 12)          /**< Delivery status (read-only). */
#define VIRQ_LVT_POLARITY_LOW (1U << 13)    /**< Input polarity active low (LINT). */
#define VIRQ_LVT_REMOTE_IRR (1U << 14)      /**< Remote IRR (LINT, read-only). */
#define VIRQ_LVT_LEVEL (1U << 15)           /**< Level trigger (LINT). */
#define VIRQ_LVT_MASKED (1U << 16)          /**< Masked. */
#define VIRQ_LVT_TIMER_MODE_SHIFT 17        /**< Timer mode shift. */
#define VIRQ_LVT_TIMER_MODE_MASK (3U << 17) /**< Timer mode. */
#define VIRQ_LVT_TIMER_ONESHOT 0U           /**< Timer mode: one-shot. */
#define VIRQ_LVT_TIMER_PERIODIC 1U          /**< Timer mode: periodic. */
#define VIRQ_LVT_TIMER_TSCDEADLINE 2U       /**< Timer mode: TSC deadline. */
#define VIRQ_LVT_RESET 0x00010000U          /**< Reset value of every LVT. */
/** @} */

/** @name ICR fields (SDM "Interrupt Command Register (ICR)")
 * @{ */
#define VIRQ_ICR_VECTOR_MASK 0x000000FFULL  /**< Vector. */
#define VIRQ_ICR_DM_SHIFT 8                 /**< Delivery mode shift. */
#define VIRQ_ICR_DM_MASK 0x00000700ULL      /**< Delivery mode. */
#define VIRQ_ICR_DEST_LOGICAL (1ULL << 11)  /**< Destination mode logical. */
#define VIRQ_ICR_DELIVS (1ULL << 12)        /**< Delivery status (xAPIC). */
#define VIRQ_ICR_LEVEL_ASSERT (1ULL << 14)  /**< Level assert. */
#define VIRQ_ICR_TRIGGER_LEVEL (1ULL << 15) /**< Trigger mode level. */
#define VIRQ_ICR_SH_SHIFT 18                /**< Shorthand shift. */
#define VIRQ_ICR_SH_MASK (3ULL << 18)       /**< Shorthand. */
#define VIRQ_ICR_DEST_SHIFT_XAPIC 56        /**< xAPIC destination shift (bits 63:56). */
#define VIRQ_ICR_DEST_SHIFT_X2APIC 32       /**< x2APIC destination shift (bits 63:32). */
/** @} */

/** @name Timer divide configuration
 * @{ */
#define VIRQ_TDCR_MASK 0x0000000BU /**< Writable bits 0, 1, 3. */
/** @} */

/**
 * @brief Register offset -> x2APIC MSR number.
 * @param off An xAPIC register offset, 0x000 to 0x3F0, 16-byte aligned (the
 *            low 4 bits are dropped).
 * @return The MSR, 0x800 + @p off / 16 (e.g. 0x830 for the ICR at 0x300).
 *         Not every result is an x2APIC register: the caller checks.
 */
static inline uint32_t virq_lapic_off_to_msr(uint32_t off)
{
	return VIRQ_X2APIC_MSR_BASE + (off >> 4);
}

/**
 * @brief x2APIC MSR number -> register offset.
 * @param msr An MSR in the x2APIC range 0x800 to 0xBFF (outside it the
 *            result is meaningless; the caller checks first).
 * @return The xAPIC register offset, (@p msr - 0x800) * 16.
 */
static inline uint32_t virq_lapic_msr_to_off(uint32_t msr)
{
	return (msr - VIRQ_X2APIC_MSR_BASE) << 4;
}

/**
 * @brief Divisor selected by a Divide Configuration value (SDM Vol. 3A,
 *        "APIC Timer", Divide Configuration Register figure).
 * @param tdcr The register value; bits 0, 1 and 3 count, others are ignored.
 * @return 2, 4, 8, 16, 32, 64, 128 or 1 (value 1011b).
 */
static inline uint32_t virq_lapic_tdcr_divisor(uint32_t tdcr)
{
	uint32_t t = ((tdcr & 3U) | ((tdcr & 8U) >> 1)) + 1U;
	return 1U << (t & 7U);
}

/**
 * @brief x2APIC logical ID derived from an x2APIC ID (SDM Vol. 3A,
 *        "Logical Destination Mode in x2APIC Mode").
 * @param x2apic_id The 32-bit x2APIC ID.
 * @return The LDR: cluster ID (@p x2apic_id bits 31:4) in bits 31:16, and
 *         bit (@p x2apic_id & 0xF) set in bits 15:0.
 */
static inline uint32_t virq_x2apic_ldr(uint32_t x2apic_id)
{
	return ((x2apic_id >> 4) << 16) | (1U << (x2apic_id & 0xFU));
}

#endif /* VIRQ_REGS_LAPIC_H */
