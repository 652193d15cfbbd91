/* SPDX-License-Identifier: MIT */
/*
 * Priority resolution, inputs, the acknowledge cycle (INTA and poll), the
 * cascade through master IR2 and the master INT output. The functions on
 * one chip are shaped like QEMU's i8259 (pic_get_irq, pic_intack,
 * pic_read_irq), with the differences noted below.
 */
#include "pic_priv.h"

/*
 * Priority (0 = highest, 7 = lowest) of the highest-priority bit of @mask,
 * PIC_PRIO_NONE when @mask is empty. Level n has priority (n - prio_add) & 7
 * (QEMU's and KVM's encoding of the 8259A datasheet's rotation): rotating
 * the mask right by prio_add puts the highest-priority level at bit 0.
 */
unsigned pic_prio(const struct virq_pic_chip *c, uint8_t mask)
{
	unsigned rot;

	if (!mask)
		return PIC_PRIO_NONE;
	rot = ((unsigned)mask >> c->prio_add) | ((unsigned)mask << (8U - c->prio_add));
	return (unsigned)__builtin_ctz(rot & 0xFFU);
}

/* The level that has priority @prio (0-7) under the current rotation. */
unsigned pic_prio_level(const struct virq_pic_chip *c, unsigned prio)
{
	return (prio + c->prio_add) & 7U;
}

/*
 * The level the chip asks to have serviced, or PIC_NO_IRQ: the
 * highest-priority unmasked request when it has strictly higher priority
 * than everything in service that still counts (8259A datasheet, Fully
 * Nested Mode). Special mask mode drops in-service levels masked in IMR.
 * Special fully nested mode (8259A datasheet): a slave in service does not
 * lock the slave out, so a new request on the master's cascade input is
 * recognised although IR2 is in service; every other master input stays
 * blocked by it. (QEMU drops the cascade ISR bit for all inputs, letting
 * lower master levels through.)
 */
int pic_chip_get_irq(const struct virq_pic_chip *c, bool master)
{
	unsigned p = pic_prio(c, (uint8_t)(c->irr & ~c->imr));
	uint8_t in_service = c->isr;

	if (p == PIC_PRIO_NONE)
		return PIC_NO_IRQ;
	if (pic_flag(c, VIRQ_PIC_F_SPECIAL_MASK))
		in_service &= (uint8_t)~c->imr;
	if (p < pic_prio(c, in_service))
		return (int)pic_prio_level(c, p);
	if (master && pic_flag(c, VIRQ_PIC_F_SFNM) && pic_prio_level(c, p) == 2 &&
	    p < pic_prio(c, (uint8_t)(in_service & ~PIC_CASCADE_BIT)))
		return 2;
	return PIC_NO_IRQ;
}

/*
 * Input @n driven to @level (8259A datasheet, Edge and Level Triggered
 * Modes). Only a change of the line is a transition: the same level again
 * changes nothing. Level inputs: IRR (and the sense, kept equal) follows
 * the line. Edge inputs: a low-to-high transition latches IRR and sets the
 * edge sense; going low clears the sense but leaves a latched request
 * pending until INTA (the emulators' model: a pulsed edge is delivered).
 * The sense is always clear on a low line (pic_priv.h fact 3), so every
 * rising edge finds it armed.
 */
void pic_chip_set_input(struct virq_pic_chip *c, unsigned n, bool level)
{
	uint8_t m = (uint8_t)(1U << n);

	if (!(c->line & m) == !level)
		return;
	if (level) {
		VIRQ_ASSERT(!(c->last_irr & m));
		c->line |= m;
		c->irr |= m;
		c->last_irr |= m;
		return;
	}
	c->line &= (uint8_t)~m;
	c->last_irr &= (uint8_t)~m;
	if (pic_level_mask(c) & m)
		c->irr &= (uint8_t)~m;
}

/*
 * The cascade re-arm (pic_priv.h): master IR2 goes low, so that
 * pic_update(), driving it with the slave's INT next, latches a request
 * the slave still presents as a new rising edge, as KVM's pulse on IR2
 * does. Without it an AEOI slave with a second request, or a slave request
 * pending across the master's ICW1, would keep INT high and never be seen.
 */
void pic_cascade_rearm(struct virq_pic_chip *master)
{
	pic_chip_set_input(master, PIC_CASCADE_IR, false);
}

/*
 * First and second INTA on one chip for level @n (8259A datasheet,
 * Interrupt Sequence and Automatic End of Interrupt Mode): ISR bit set, or
 * with AEOI cleared at once (the level becoming the lowest priority in
 * rotate-in-AEOI mode); an edge request is consumed, a level request stays
 * while its line is high.
 */
void pic_chip_intack(struct virq_pic_chip *c, unsigned n)
{
	uint8_t m = (uint8_t)(1U << n);

	if (pic_flag(c, VIRQ_PIC_F_AEOI)) {
		if (pic_flag(c, VIRQ_PIC_F_ROTATE_AEOI))
			c->prio_add = (uint8_t)((n + 1U) & 7U);
	} else {
		c->isr |= m;
	}
	if (!(pic_level_mask(c) & m))
		c->irr &= (uint8_t)~m;
}

/*
 * A read after OCW3 P=1 (8259A datasheet, Poll Command): acknowledges the
 * chip's request like an INTA and returns 0x80 | level, or 0x00 with
 * nothing pending (QEMU's answer; KVM's bare level / 0x07 is not copied).
 * Only this chip takes part: polling the master for level 2 does not
 * acknowledge the slave, software polls the slave next.
 */
uint8_t pic_chip_poll(struct virq_pic_chip *c, bool master)
{
	int n = pic_chip_get_irq(c, master);

	c->flags &= (uint16_t)~VIRQ_PIC_F_POLL;
	if (n == PIC_NO_IRQ)
		return 0x00U;
	pic_chip_intack(c, (unsigned)n);
	return (uint8_t)(PIC_POLL_INT | (unsigned)n);
}

/*
 * INT of the master given both chips, as pic_update() would leave it:
 * master input 2 driven with the slave's INT first. Reads only (restore
 * validation and the invariant checker use it on copies).
 */
bool pic_compute_intr(const struct virq_pic_chip *master, const struct virq_pic_chip *slave)
{
	struct virq_pic_chip m = *master;

	pic_chip_set_input(&m, PIC_CASCADE_IR, pic_chip_get_irq(slave, false) != PIC_NO_IRQ);
	return pic_chip_get_irq(&m, true) != PIC_NO_IRQ;
}

/*
 * After every change: the slave's INT drives master input 2 as a signal
 * (edge-sensitive per the forced-edge ELCR bit 2, level with LTIM), then
 * the master's INT goes to ops->intr when it changed. Re-driving an
 * unchanged level does nothing (pic_chip_set_input()).
 */
void pic_update(struct virq_pic *pic)
{
	struct virq_pic_chip *master = &pic->chip[PIC_MASTER];
	bool slave_int = pic_chip_get_irq(&pic->chip[PIC_SLAVE], false) != PIC_NO_IRQ;
	bool intr;

	pic_chip_set_input(master, PIC_CASCADE_IR, slave_int);
	intr = pic_chip_get_irq(master, true) != PIC_NO_IRQ;
	if (intr != pic->intr) {
		pic->intr = intr;
		pic->ops->intr(pic->ctx, intr);
	}
}

VIRQ_API bool virq_pic_get_intr(const struct virq_pic *pic)
{
	return pic->intr;
}

/*
 * The master-side INTA, as QEMU's pic_read_irq(), with the two spurious
 * cases (8259A datasheet, Edge and Level Triggered Modes: default IR7): no
 * master request answers master base + 7; a cascade request whose slave
 * request vanished answers slave base + 7 while the master still
 * acknowledges IR2 (ISR bit 2 set, so software EOIs the master).
 */
VIRQ_API uint8_t virq_pic_intack(struct virq_pic *pic)
{
	struct virq_pic_chip *master = &pic->chip[PIC_MASTER];
	struct virq_pic_chip *slave = &pic->chip[PIC_SLAVE];
	int n = pic_chip_get_irq(master, true);
	uint8_t vector;

	if (n == PIC_NO_IRQ)
		return (uint8_t)(master->base + 7U); /* spurious IRQ7: no ISR change */

	if ((unsigned)n == PIC_CASCADE_IR) {
		int m = pic_chip_get_irq(slave, false);

		if (m != PIC_NO_IRQ)
			pic_chip_intack(slave, (unsigned)m);
		else
			m = 7; /* spurious IRQ15 */
		vector = (uint8_t)(slave->base + (unsigned)m);
	} else {
		vector = (uint8_t)(master->base + (unsigned)n);
	}
	pic_chip_intack(master, (unsigned)n);
	if ((unsigned)n == PIC_CASCADE_IR) {
		/*
		 * A request the slave still presents (an AEOI slave with a
		 * second request, say) must raise IR2 again: a low pulse on
		 * IR2, then pic_update() drives it with the slave's INT.
		 */
		pic_cascade_rearm(master);
	}
	pic_update(pic);
	return vector;
}
