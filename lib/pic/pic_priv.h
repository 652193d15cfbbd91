/* SPDX-License-Identifier: MIT */
/*
 * What the pic files share and nobody else sees.
 *
 * The pair is two struct virq_pic_chip (0 master, 1 slave) in the layout of
 * QEMU's per-chip i8259 state, with the mode bits gathered in one flags
 * word (VIRQ_PIC_F_*, the same bits the saved state uses). Per chip, bit
 * n of each register is input IR n:
 *  - line: the input level as last driven (virq_pic_set_irq(); master
 *    bit 2 by pic_update() with the slave's INT output). Only a change of
 *    it is a transition.
 *  - last_irr: the edge-sense latch of an edge input, set by the
 *    low-to-high transition that latched IRR and cleared when the line
 *    goes low or by ICW1 (8259A datasheet, Initialization Command Words:
 *    the edge sense circuit is reset, so an input held high must go low
 *    and high again). For a level input it is kept equal to the line, so
 *    an input the ELCR turns edge starts with its high line sensed.
 *  - irr: a level input's bit is its line; an edge input's bit is latched
 *    on a low-to-high transition and consumed by INTA (or poll), or
 *    dropped by ICW1; it survives the line going low (devices pulse).
 *
 * Facts kept exact at every return to the caller, checked by
 * pic_check_invariants() and by restore validation (L = pic_level_mask()):
 *  1. level inputs: irr & L == line & L (the request follows the line);
 *  2. level inputs: last_irr & L == line & L;
 *  3. edge inputs: last_irr & ~L & ~line == 0 (going low clears the sense,
 *     so it is set only on a high line);
 *  4. edge inputs: irr & ~L & line & ~last_irr == 0 (a high edge input
 *     without its sense is one held through ICW1, which dropped its
 *     request; every later request comes with the transition that sets
 *     the sense, and turning a level input edge keeps sense = line);
 *  5. master line bit 2 is the slave's INT output (pic_update() drives
 *     master input 2 after every change of the slave), and master last_irr
 *     bit 2 equals it: the cascade re-arm after the master's ICW1 senses a
 *     high INT again, so IR2 is never held high unsensed;
 *  6. pic->intr is the master's INT output (pic_chip_get_irq() >= 0) and is
 *     the level last reported through ops->intr;
 *  7. ELCR within its writable mask, ICW2 base bits 2:0 zero, prio_add 0-7,
 *     init_state 0-3 (2 never with SNGL, 3 only with IC4), no unknown flag.
 * Master irr bit 2 may be set while the slave's INT is low (the latched
 * edge of a request that vanished: spurious IRQ15), and the ISRs are not
 * tied to each other (AEOI on one chip, spurious IRQ15).
 *
 * The cascade re-arm: after a cascaded INTA and after the master's ICW1,
 * master IR2 sees a low pulse before pic_update() drives it with the
 * slave's INT again (pic_cascade_rearm()), as KVM re-pulses IR2; a request
 * the slave still presents is latched again.
 */
#ifndef VIRQ_PIC_PRIV_H
#define VIRQ_PIC_PRIV_H

#include <virq/pic.h>
#include <virq/version.h>

#define PIC_MASTER 0U
#define PIC_SLAVE 1U
#define PIC_CASCADE_IR 2U /* master input wired to the slave's INT (PC/AT) */
#define PIC_CASCADE_BIT (1U << PIC_CASCADE_IR)
#define PIC_NO_IRQ (-1)
#define PIC_PRIO_NONE 8U /* pic_prio() of an empty mask */

/* OCW3 fields (8259A datasheet, Operation Command Words). */
#define PIC_OCW3_RIS 0x01U
#define PIC_OCW3_RR 0x02U
#define PIC_OCW3_P 0x04U
#define PIC_OCW3_SMM 0x20U
#define PIC_OCW3_ESMM 0x40U

/* ICW1 and ICW4 fields (8259A datasheet, Initialization Command Words). */
#define PIC_ICW1_IC4 0x01U
#define PIC_ICW1_SNGL 0x02U
#define PIC_ICW1_LTIM 0x08U
#define PIC_ICW1_ID 0x10U
#define PIC_ICW4_UPM 0x01U
#define PIC_ICW4_AEOI 0x02U
#define PIC_ICW4_SFNM 0x10U

/* ICW3 of the PC/AT wiring: slave on master IR2, slave ID 2. */
#define PIC_ICW3_MASTER PIC_CASCADE_BIT
#define PIC_ICW3_SLAVE PIC_CASCADE_IR

#define PIC_POLL_INT 0x80U /* poll byte bit 7: a request was pending */

static inline bool pic_flag(const struct virq_pic_chip *c, uint16_t f)
{
	return (c->flags & f) != 0;
}

static inline uint8_t pic_elcr_mask(unsigned idx)
{
	return idx == PIC_MASTER ? (uint8_t)VIRQ_PIC_ELCR1_MASK : (uint8_t)VIRQ_PIC_ELCR2_MASK;
}

/* Inputs the chip treats as level-sensitive: all of them with LTIM, else the ELCR. */
static inline uint8_t pic_level_mask(const struct virq_pic_chip *c)
{
	return pic_flag(c, VIRQ_PIC_F_LTIM) ? 0xFFU : c->elcr;
}

/*
 * An optional hook of the caller's ops table, NULL when the table is too
 * short to hold it (doc/abi.md, "Growing ops and config structures"):
 * compile-time true for every hook within VIRQ_PIC_OPS_SIZE_MIN.
 */
#define PIC_OP(pic, f)                                                                             \
	(VIRQ_FIELD_PRESENT(struct virq_pic_ops, (pic)->ops, f, VIRQ_PIC_OPS_SIZE_MIN)             \
		 ? (pic)->ops->f                                                                   \
		 : NULL)

static inline void pic_guest_error(const struct virq_pic *pic, enum virq_guest_error code)
{
	if (PIC_OP(pic, guest_error))
		pic->ops->guest_error(pic->ctx, code);
}

/* prio.c: priority resolution, acknowledge, cascade and INT output. */
unsigned pic_prio(const struct virq_pic_chip *c, uint8_t mask);
unsigned pic_prio_level(const struct virq_pic_chip *c, unsigned prio);
int pic_chip_get_irq(const struct virq_pic_chip *c, bool master);
void pic_chip_set_input(struct virq_pic_chip *c, unsigned n, bool level);
void pic_cascade_rearm(struct virq_pic_chip *master);
void pic_chip_intack(struct virq_pic_chip *c, unsigned n);
uint8_t pic_chip_poll(struct virq_pic_chip *c, bool master);
bool pic_compute_intr(const struct virq_pic_chip *master, const struct virq_pic_chip *slave);
void pic_update(struct virq_pic *pic);

/* pic.c: ICW/OCW decoding. */
void pic_reset_chips(struct virq_pic *pic);

/*
 * state.c: 0 when every fact listed at the top of this file holds,
 * otherwise a number naming the first one that broke (1-19 the master,
 * 21-39 the slave, 41 and up the pair). For tests and fuzzers; reads only.
 */
int pic_check_invariants(const struct virq_pic *pic);

#endif /* VIRQ_PIC_PRIV_H */
