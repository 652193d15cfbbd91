/* SPDX-License-Identifier: MIT */
/**
 * @file pic.h
 * @brief The cascaded 8259A pair with its ELCR (PC/AT wiring).
 *
 * A `struct virq_pic` is the master (ports 0x20/0x21, IRQ 0-7) and the
 * slave (0xA0/0xA1, IRQ 8-15) cascaded on master input 2, plus the
 * edge/level control registers at 0x4D0/0x4D1. It implements the whole
 * command set (ICW1-ICW4, OCW1-OCW3): every EOI kind, automatic and
 * specific rotation, set-priority, IRR/ISR reads, poll mode, special mask
 * mode, special fully nested mode, automatic EOI, spurious IRQ7/IRQ15.
 *
 * Its output, the master INT line, goes to `ops->intr`. A VMM wires it to
 * the BSP LAPIC's LINT0 (virtual wire through the LAPIC: virq_lapic_set_lint())
 * and/or I/O APIC pin 0 (virtual wire through the I/O APIC), and runs
 * virq_pic_intack() when the CPU takes the ExtINT interrupt.
 *
 * ## Threads
 *
 * One PIC pair is shared by device threads (virq_pic_set_irq()) and vCPU
 * threads (port I/O, INTA). The caller serialises every call on one pair
 * (virq_vm does it with its lock). `ops->intr` is called with that
 * serialisation held and must not call back into the PIC.
 */
#ifndef VIRQ_PIC_H
#define VIRQ_PIC_H

#include <virq/error.h>
#include <virq/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name I/O ports
 * @{ */
#define VIRQ_PIC_MASTER_CMD 0x20U  /**< Master, A0 = 0. */
#define VIRQ_PIC_MASTER_DATA 0x21U /**< Master, A0 = 1. */
#define VIRQ_PIC_SLAVE_CMD 0xA0U   /**< Slave, A0 = 0. */
#define VIRQ_PIC_SLAVE_DATA 0xA1U  /**< Slave, A0 = 1. */
#define VIRQ_PIC_ELCR1 0x4D0U      /**< Edge/level control, IRQ 0-7. */
#define VIRQ_PIC_ELCR2 0x4D1U      /**< Edge/level control, IRQ 8-15. */
/** @} */

/** @name ELCR writable masks (IRQ 0, 1, 2, 8, 13 are forced edge)
 * @{ */
#define VIRQ_PIC_ELCR1_MASK 0xF8U /**< ELCR1 writable bits. */
#define VIRQ_PIC_ELCR2_MASK 0xDEU /**< ELCR2 writable bits. */
/** @} */

/**
 * @brief Callbacks from the PIC pair. Kept const; ctx first.
 */
struct virq_pic_ops {
	/** Required. The master INT output changed to @p level. */
	void (*intr)(void *ctx, bool level);
	/** Optional. Guest oddities (unsupported mode bits such as LTIM, SNGL,
	 *  MCS-80 mode; bad access size); already answered. */
	void (*guest_error)(void *ctx, enum virq_guest_error code);
};

/** @brief One 8259A. Private; part of ::virq_pic. */
struct virq_pic_chip {
	/** @privatesection */
	uint8_t irr, imr, isr, last_irr, elcr, prio_add, base, init_state;
	uint8_t icw4_needed, single, aeoi, rotate_aeoi, sfnm, special_mask, poll, read_isr;
	uint8_t ltim, icw3, reserved[6];
};

/** @brief The cascaded pair. Caller-allocated; fields are private. */
struct virq_pic {
	/** @privatesection */
	struct virq_pic_chip chip[2]; /* 0 master, 1 slave */
	const struct virq_pic_ops *ops;
	void *ctx;
	bool intr; /* last level reported through ops->intr */
	uint8_t reserved[7];
};

/**
 * @brief Initialises the pair at power-up: everything 0 (vector bases 0,
 *        IMR 0, ELCR 0), INT low.
 * @return 0, or -::VIRQ_EINVAL for NULL arguments or a missing intr hook.
 */
VIRQ_API int virq_pic_init(struct virq_pic *pic, const struct virq_pic_ops *ops, void *ctx);

/** @brief Machine reset: power-up state, input levels forgotten, ELCR 0. */
VIRQ_API void virq_pic_reset(struct virq_pic *pic);

/**
 * @brief Guest IN from @p port (one byte).
 *
 * A0 = 0: IRR or ISR per OCW3 (or the poll byte after a poll command,
 * which acknowledges like an INTA); A0 = 1: IMR (or the poll byte). ELCR
 * ports read the register.
 *
 * @return 0; -::VIRQ_ENOENT when @p port is not a PIC or ELCR port;
 *         -::VIRQ_EINVAL for a NULL @p val.
 */
VIRQ_API int virq_pic_io_read(struct virq_pic *pic, uint16_t port, uint8_t *val);

/**
 * @brief Guest OUT to @p port (one byte).
 * @return 0, or -::VIRQ_ENOENT when @p port is not a PIC or ELCR port.
 */
VIRQ_API int virq_pic_io_write(struct virq_pic *pic, uint16_t port, uint8_t val);

/**
 * @brief Drives input @p irq (0-15) to @p level (true = high).
 *
 * Edge inputs latch a low→high transition in IRR; level inputs (ELCR) make
 * IRR follow the line. IRQ 2 is the cascade: driving it has no effect.
 *
 * @return 0, or -::VIRQ_EINVAL for @p irq > 15.
 */
VIRQ_API int virq_pic_set_irq(struct virq_pic *pic, unsigned irq, bool level);

/** @brief Current level of the master INT output. */
VIRQ_API bool virq_pic_get_intr(const struct virq_pic *pic);

/**
 * @brief The CPU's interrupt-acknowledge cycle: returns the vector.
 *
 * Selects the highest-priority request (through the cascade), sets ISR
 * (cleared again at once with AEOI), clears edge IRR bits, and returns
 * base + level. With no request left it returns the spurious vector
 * (master base + 7, or slave base + 7 with master ISR bit 2 set) and sets
 * no ISR bit of that level.
 */
VIRQ_API uint8_t virq_pic_intack(struct virq_pic *pic);

/** @brief Version of ::virq_pic_state. */
#define VIRQ_PIC_STATE_VERSION 1U

/** @brief Complete state of the pair, for save/restore. */
struct virq_pic_state {
	uint32_t version;             /**< ::VIRQ_PIC_STATE_VERSION. */
	uint32_t size;                /**< sizeof(struct virq_pic_state). */
	struct virq_pic_chip chip[2]; /**< Master, slave. */
	uint32_t intr;                /**< INT output level (0 or 1). */
	uint32_t reserved;            /**< Zero. */
};

/** @brief Exports the state. @return 0 or -::VIRQ_EINVAL. */
VIRQ_API int virq_pic_save(const struct virq_pic *pic, struct virq_pic_state *out);

/**
 * @brief Imports a state; every field validated first (flags 0/1, init
 *        state, priority base, ELCR masks, ISR consistent with the cascade).
 * @return 0, -::VIRQ_EVERSION, -::VIRQ_ESTATE or -::VIRQ_EINVAL; nothing
 *         changes on error.
 */
VIRQ_API int virq_pic_restore(struct virq_pic *pic, const struct virq_pic_state *st);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_PIC_H */
