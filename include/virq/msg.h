/* SPDX-License-Identifier: MIT */
/**
 * @file msg.h
 * @brief The interrupt message every source produces and routing consumes.
 *
 * An ICR write, an I/O APIC redirection entry and an MSI all decode into the
 * same ::virq_apic_msg: a vector, a delivery mode, a destination and its
 * mode. The LAPIC hands IPIs to its `send_ipi` hook in this form; routing
 * (virq_vm) resolves the destination and posts the result.
 */
#ifndef VIRQ_MSG_H
#define VIRQ_MSG_H

#include <virq/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Delivery modes (ICR/RTE/MSI bits 10:8), SDM "Interrupt Command
 *  Register (ICR)". */
enum virq_delivery_mode {
	VIRQ_DM_FIXED = 0,     /**< Fixed: the vector through IRR/ISR. */
	VIRQ_DM_LOWEST = 1,    /**< Lowest priority among the destinations. */
	VIRQ_DM_SMI = 2,       /**< System management interrupt. */
	VIRQ_DM_RESERVED3 = 3, /**< Reserved encoding. */
	VIRQ_DM_NMI = 4,       /**< Non-maskable interrupt. */
	VIRQ_DM_INIT = 5,      /**< INIT (assert) or INIT level de-assert. */
	VIRQ_DM_STARTUP = 6,   /**< Start-up IPI (SIPI); vector = start page. */
	VIRQ_DM_EXTINT = 7     /**< External interrupt: the vector comes from the 8259. */
};

/** @brief ICR destination shorthand (bits 19:18). */
enum virq_shorthand {
	VIRQ_SH_NONE = 0,          /**< Use the destination field. */
	VIRQ_SH_SELF = 1,          /**< The sending APIC only. */
	VIRQ_SH_ALL_INCL_SELF = 2, /**< Every APIC, the sender included. */
	VIRQ_SH_ALL_EXCL_SELF = 3  /**< Every APIC but the sender. */
};

/** @brief Value of virq_apic_msg::src when the message does not come from a LAPIC. */
#define VIRQ_MSG_SRC_NONE 0xFFFFFFFFU

/**
 * @brief One interrupt message on the (virtual) APIC bus.
 */
struct virq_apic_msg {
	uint32_t dest;      /**< Destination: 8-bit xAPIC MDA or 32-bit x2APIC MDA. */
	uint32_t src;       /**< Sender's APIC ID, or ::VIRQ_MSG_SRC_NONE (IOAPIC, MSI). */
	uint8_t vector;     /**< Vector (SIPI: start page; ignored for NMI/SMI/INIT/ExtINT). */
	uint8_t delivery;   /**< ::virq_delivery_mode. */
	uint8_t shorthand;  /**< ::virq_shorthand (ICR only; ::VIRQ_SH_NONE otherwise). */
	bool logical;       /**< Destination mode: true = logical, false = physical. */
	bool level;         /**< Level: true = assert (false only for INIT level de-assert). */
	bool trigger_level; /**< Trigger mode: true = level-triggered. */
	bool x2apic;        /**< Destination is a 32-bit x2APIC destination. */
	uint8_t reserved0;  /**< Zero. */
};

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_MSG_H */
