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
 * ## Inputs
 *
 * The pair remembers the level of every input as last driven
 * (virq_pic_set_irq()); driving an input to the level it already has does
 * nothing. Each input is edge- or level-sensitive: level when its ELCR bit
 * is set or the chip was initialised with LTIM (ICW1 bit 3), edge
 * otherwise.
 *
 * - A level input's request is its line: IRR follows it, also across ELCR
 *   and LTIM changes and ICW1, and INTA leaves it set.
 * - An edge input latches a request on a low-to-high transition of its
 *   line and keeps it until INTA even if the line drops (devices may
 *   pulse); holding the line high makes no further request. ICW1 resets
 *   the edge sense (8259A datasheet, Initialization Command Words): a
 *   line held high through ICW1 must go low and high again to request. A
 *   level input made edge by an ELCR write keeps its request as a latched
 *   one, and its high line counts as already sensed.
 * - Master input 2 is the slave's INT output, an edge input (forced-edge
 *   ELCR bit) unless the master has LTIM, which is why a slave request that
 *   vanishes before INTA answers the spurious IRQ15. The pair presents the
 *   slave's INT to it afresh (a low pulse on master IR2) after every
 *   cascaded acknowledge and after the master's ICW1, as KVM re-pulses
 *   IR2: a request the slave keeps presenting is then seen again instead
 *   of being stranded behind an INT line that never went low.
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

/** @name Mode flags of one chip (virq_pic_chip_state::flags)
 * @{ */
#define VIRQ_PIC_F_AEOI (1U << 0)         /**< ICW4 AEOI: automatic EOI. */
#define VIRQ_PIC_F_ROTATE_AEOI (1U << 1)  /**< OCW2 100: rotate in AEOI mode. */
#define VIRQ_PIC_F_SFNM (1U << 2)         /**< ICW4 SFNM (acts on the master only). */
#define VIRQ_PIC_F_SPECIAL_MASK (1U << 3) /**< OCW3 ESMM=1 SMM=1: special mask mode. */
#define VIRQ_PIC_F_POLL (1U << 4)         /**< OCW3 P=1: next read is the poll byte. */
#define VIRQ_PIC_F_READ_ISR (1U << 5)     /**< OCW3 RR=1 RIS=1: A0=0 reads ISR, else IRR. */
#define VIRQ_PIC_F_IC4 (1U << 6)          /**< ICW1 IC4: the init sequence has an ICW4. */
#define VIRQ_PIC_F_SNGL (1U << 7)         /**< ICW1 SNGL: the init sequence skips ICW3. */
#define VIRQ_PIC_F_LTIM (1U << 8)         /**< ICW1 LTIM: every input level-sensitive. */
#define VIRQ_PIC_F_VALID 0x01FFU          /**< Every defined flag. */
/** @} */

/** @name Initialization state of one chip (virq_pic_chip_state::init_state)
 * @{ */
#define VIRQ_PIC_INIT_READY 0U /**< Initialised (or never): A0=1 writes are OCW1. */
#define VIRQ_PIC_INIT_ICW2 1U  /**< After ICW1: the next A0=1 write is ICW2. */
#define VIRQ_PIC_INIT_ICW3 2U  /**< The next A0=1 write is ICW3 (SNGL=0 only). */
#define VIRQ_PIC_INIT_ICW4 3U  /**< The next A0=1 write is ICW4 (IC4=1 only). */
/** @} */

/**
 * @brief Callbacks from the PIC pair. Kept const; ctx first.
 */
struct virq_pic_ops {
	/** sizeof(struct virq_pic_ops) as the caller was built: first, checked by
	 *  virq_pic_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	uint32_t reserved; /**< Zero. */
	/** Required. The master INT output changed to @p level (called only
	 *  on a change, never with the level it already had). */
	void (*intr)(void *ctx, bool level);
	/** Optional. Guest oddities, already answered: ::VIRQ_GERR_PIC_MODE
	 *  for a mode the PC/AT wiring or this model does not provide (SNGL,
	 *  MCS-80/85 mode, ICW3 other than the slave on IR2). NULL: not
	 *  interested. */
	void (*guest_error)(void *ctx, enum virq_guest_error code);
};

/** @brief The first published size of struct virq_pic_ops: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_PIC_OPS_SIZE_MIN 24U

/** @brief One 8259A. Private; part of ::virq_pic (see ::virq_pic_chip_state). */
struct virq_pic_chip {
	/** @privatesection */
	uint8_t irr, imr, isr, last_irr, elcr, prio_add, base, init_state;
	uint8_t icw3, line; /* line: input levels as last driven */
	uint16_t flags;     /* VIRQ_PIC_F_* */
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
 *        IMR 0, ELCR 0, no init sequence pending), INT low (not reported).
 * @param pic The pair to initialise (caller-allocated).
 * @param ops Callback table; kept by pointer, must outlive @p pic.
 * @param ctx Passed back to every callback.
 * @return 0; -::VIRQ_EVERSION for an ops->size outside
 *         ::VIRQ_PIC_OPS_SIZE_MIN to the library's sizeof; -::VIRQ_EINVAL
 *         for NULL arguments, a non-zero reserved field or a missing intr
 *         hook. @p pic is not written on an error.
 * @note Before any other call on @p pic.
 */
VIRQ_API int virq_pic_init(struct virq_pic *pic, const struct virq_pic_ops *ops, void *ctx);

/**
 * @brief Machine reset: power-up state, input levels forgotten, ELCR 0.
 *
 * Every register returns to its virq_pic_init() value, and every input
 * line is taken to be low, as at power-up: the reset is of the machine,
 * whose devices reset with it. An input whose device still drives it high
 * afterwards must be driven high again (virq_pic_set_irq()); that is a
 * low-to-high transition and requests like any other.
 *
 * Reports INT going low through `ops->intr` when it was high.
 * @param pic The PIC pair (initialised; not NULL, not checked).
 * @note Serialised with every other call on @p pic (see "Threads").
 */
VIRQ_API void virq_pic_reset(struct virq_pic *pic);

/**
 * @brief Guest IN from @p port (one byte).
 *
 * A0 = 0: IRR or ISR per OCW3 (or the poll byte after a poll command,
 * which acknowledges like an INTA); A0 = 1: IMR (or the poll byte). ELCR
 * ports read the register.
 *
 * The poll byte is `0x80 | level` of the highest-priority request of that
 * chip, which is acknowledged on that chip only (ISR bit set unless AEOI,
 * edge IRR bit cleared; the master does not run a cascade cycle for level
 * 2: software polls the slave next), or 0x00 when the chip has no request
 * (QEMU's answer, not KVM's; the 8259A datasheet, Poll Command, leaves the
 * byte with no request open).
 *
 * @param pic  The PIC pair (initialised; not NULL, not checked).
 * @param port The I/O port: 0x20/0x21 (master), 0xA0/0xA1 (slave),
 *             0x4D0/0x4D1 (ELCR); any other port is -::VIRQ_ENOENT.
 * @param val  Receives the byte read. Not NULL.
 * @return 0; -::VIRQ_ENOENT when @p port is not a PIC or ELCR port;
 *         -::VIRQ_EINVAL for a NULL @p val. On error *val is not written
 *         and nothing changes.
 * @note Serialised with every other call on @p pic.
 */
VIRQ_API int virq_pic_io_read(struct virq_pic *pic, uint16_t port, uint8_t *val);

/**
 * @brief Guest OUT to @p port (one byte).
 *
 * A0 = 0: ICW1 (bit 4 set), else OCW3 (bit 3 set), else OCW2. A0 = 1:
 * ICW2/ICW3/ICW4 while an init sequence is pending, else OCW1 (IMR; also
 * before the first ICW1). ELCR ports store `val & mask` (forced-edge bits
 * read 0). Every mode is honoured except that the PC/AT wiring (slave on
 * master IR2) and 8086 mode are fixed: SNGL, MCS-80/85 mode and other ICW3
 * values are reported as ::VIRQ_GERR_PIC_MODE and otherwise ignored.
 *
 * ICW1 (8259A datasheet, Initialization Command Words; QEMU's choice where the
 * datasheet is silent) clears IMR, ISR, pending edge requests, rotation,
 * special mask mode, poll, the read selection (IRR), AEOI, rotate-in-AEOI,
 * SFNM and the vector base, and resets the edge sense (an edge input held high
 * must go low and high again); it keeps the input levels, the ELCR and the
 * requests of level inputs whose line is high, and sets LTIM from its bit 3.
 * The master's ICW1 presents the slave's INT to IR2 afresh (see "Inputs").
 *
 * OCW2 non-specific EOI (and rotate on non-specific EOI) resets the
 * highest-priority ISR bit; in special mask mode only ISR bits whose IMR
 * bit is clear are candidates (8259A datasheet, End of Interrupt: an IS
 * bit masked by an IMR bit is not cleared by a non-specific EOI in special
 * mask mode), and with none of them set nothing changes (no rotation
 * either). Specific EOI resets the named bit whatever the mode.
 *
 * @param pic  The PIC pair (initialised; not NULL, not checked).
 * @param port The I/O port, as for virq_pic_io_read().
 * @param val  The byte written.
 * @return 0, or -::VIRQ_ENOENT when @p port is not a PIC or ELCR port
 *         (nothing changes).
 * @note Serialised with every other call on @p pic.
 */
VIRQ_API int virq_pic_io_write(struct virq_pic *pic, uint16_t port, uint8_t val);

/**
 * @brief Drives input @p irq (0-15) to @p level (true = high).
 *
 * The pair keeps the level: a call with the level the input already has
 * changes nothing (it is not an edge). Edge inputs latch a low→high
 * transition in IRR; level inputs (ELCR bit set, or every input of a chip
 * initialised with LTIM) make IRR follow the line (see "Inputs"). IRQ 2 is
 * the cascade: driving it has no effect (master input 2 is the slave's
 * INT output, an edge-sensitive input per the forced-edge ELCR bit, or
 * level with LTIM).
 *
 * @param pic   The PIC pair (initialised; not NULL, not checked).
 * @param irq   The input, 0-7 on the master, 8-15 on the slave's IR0-IR7.
 * @param level The line level, true = high.
 * @return 0, or -::VIRQ_EINVAL for @p irq > 15 (nothing changes).
 * @note Serialised with every other call on @p pic.
 */
VIRQ_API int virq_pic_set_irq(struct virq_pic *pic, unsigned irq, bool level);

/**
 * @brief Current level of the master INT output: true while the master
 *        has an unmasked request of higher priority than what it has in
 *        service (the level last reported through `ops->intr`).
 * @param pic The PIC pair (initialised; not NULL, not checked).
 * @return true when INT is high.
 */
VIRQ_API bool virq_pic_get_intr(const struct virq_pic *pic);

/**
 * @brief The CPU's interrupt-acknowledge cycle: returns the vector.
 *
 * Selects the highest-priority request (through the cascade), sets ISR
 * (cleared again at once with AEOI, the level becoming lowest priority
 * with rotate-in-AEOI), clears edge IRR bits, and returns base + level.
 * With no request left it returns the spurious vector (master base + 7, or
 * slave base + 7 with master ISR bit 2 set) and sets no ISR bit of that
 * level.
 *
 * After a cascaded acknowledge master input 2 sees a low pulse and is then
 * driven with the slave's INT again: a request the slave still presents
 * raises master IR2 again (as KVM re-pulses it), so a second slave request
 * is not lost when the slave's INT stays high (an AEOI slave, say).
 *
 * @param pic The PIC pair (initialised; not NULL, not checked).
 * @return The vector, 0-255: the requesting level's base + level, or the
 *         spurious vector.
 * @note Serialised with every other call on @p pic. Called without a
 *       pending request (INT low) it is the spurious case above.
 */
VIRQ_API uint8_t virq_pic_intack(struct virq_pic *pic);

/**
 * @brief Version of ::virq_pic_state written by virq_pic_save().
 *
 * virq_pic_restore() also takes version 1, the same layout before the
 * input levels were saved (`line` zero there; see ::virq_pic_chip_state).
 */
#define VIRQ_PIC_STATE_VERSION 2U

/**
 * @brief Saved state of one 8259A (part of ::virq_pic_state).
 *
 * Bit n of each 8-bit register is input IR n of that chip (IRQ n on the
 * master, IRQ 8 + n on the slave).
 */
struct virq_pic_chip_state {
	uint8_t irr; /**< Interrupt request register. Master bit 2 is the slave's request. */
	uint8_t imr; /**< Interrupt mask register (OCW1). */
	uint8_t isr; /**< In-service register. */
	/** Edge-sense latches. An edge input's bit is set by the low-to-high
	 *  transition that latched its request, and cleared when its line goes
	 *  low or by ICW1 (so it is set only while the line is high). A level
	 *  input's bit equals its line. */
	uint8_t last_irr;
	uint8_t elcr; /**< ELCR1 (master) or ELCR2 (slave); only writable-mask bits. */
	/** Rotation: the level with the highest priority, 0-7 (the lowest
	 *  priority level + 1, mod 8; 0 after ICW1 = IR0 highest). */
	uint8_t prio_add;
	uint8_t base;       /**< Vector base from ICW2, bits 2:0 zero. */
	uint8_t init_state; /**< VIRQ_PIC_INIT_*. */
	uint8_t icw3;       /**< ICW3 as written (the wiring is fixed; kept for the record). */
	/** Input levels as last driven (virq_pic_set_irq()); master bit 2 is
	 *  the slave's INT output. Version 2; a version-1 state has zero here
	 *  and its levels are its `last_irr`, which version 1 kept as both. */
	uint8_t line;
	uint16_t flags; /**< VIRQ_PIC_F_* (no other bit). */
};

/** @brief Complete state of the pair, for save/restore. */
struct virq_pic_state {
	uint32_t version;                   /**< ::VIRQ_PIC_STATE_VERSION. */
	uint32_t size;                      /**< sizeof(struct virq_pic_state). */
	struct virq_pic_chip_state chip[2]; /**< Master, slave. */
	uint32_t intr;                      /**< INT output level (0 or 1). */
	uint32_t reserved;                  /**< Zero. */
};

/**
 * @brief Exports the state.
 * @param pic The PIC pair (initialised; not NULL, not checked).
 * @param out Receives the state, version ::VIRQ_PIC_STATE_VERSION, reserved
 *            fields zero. Not NULL.
 * @return 0, or -::VIRQ_EINVAL for a NULL @p out.
 * @note Serialised with every other call on @p pic.
 */
VIRQ_API int virq_pic_save(const struct virq_pic *pic, struct virq_pic_state *out);

/**
 * @brief Imports a state saved by virq_pic_save().
 *
 * Takes version 2 and version 1 (saved before the input levels were; its
 * `line` byte must be zero and the levels are taken from `last_irr`, what
 * version 1 meant by it). Every field is validated before anything changes:
 * version and size, reserved fields zero, no unknown flag, init state 0-3 and
 * consistent with SNGL/IC4 (ICW3 is never pending with SNGL, ICW4 only with
 * IC4), priority base 0-7, vector base bits 2:0 zero, ELCR within its writable
 * mask, IRR and edge-sense bits of level inputs equal to their lines,
 * edge-sense bits of edge inputs set only on high lines, no request on an edge
 * input that is high without its edge-sense bit (only ICW1 leaves one so, and
 * it drops the request), master input 2 and its edge-sense bit equal to the
 * slave's INT output (the cascade re-arm after the master's ICW1 senses it
 * again), and `intr` equal to the INT output the state computes. The ISR is
 * not checked against the cascade: a master ISR bit 2 without a slave ISR bit
 * (AEOI slave, spurious IRQ15) and the reverse (AEOI master, guest EOIs) are
 * both reachable. virq_pic_save() always writes version 2.
 *
 * When the INT level differs from the one before the call, `ops->intr`
 * reports the new level.
 *
 * @param pic The PIC pair (initialised; not NULL, not checked).
 * @param st  The state, version 1 or 2; read during the call only.
 * @return 0; -::VIRQ_EVERSION for a version other than 1 or 2 or a
 *         wrong size; -::VIRQ_ESTATE for a damaged state; -::VIRQ_EINVAL
 *         for a NULL @p st. Nothing changes on error.
 * @pre @p pic was initialised with virq_pic_init().
 * @note Serialised with every other call on @p pic.
 */
VIRQ_API int virq_pic_restore(struct virq_pic *pic, const struct virq_pic_state *st);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_PIC_H */
