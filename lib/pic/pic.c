/* SPDX-License-Identifier: MIT */
/*
 * Life cycle and port decoding of the 8259A pair and the ELCR: ICW1-ICW4,
 * OCW1-OCW3, register reads, input pins.
 */
#include "pic_priv.h"

VIRQ_API int virq_pic_init(struct virq_pic *pic, const struct virq_pic_ops *ops, void *ctx)
{
	if (!pic || !ops)
		return -VIRQ_EINVAL;
	if (!VIRQ_SIZE_ACCEPTED(ops->size, VIRQ_PIC_OPS_SIZE_MIN, struct virq_pic_ops))
		return -VIRQ_EVERSION;
	if (ops->reserved || !ops->intr)
		return -VIRQ_EINVAL;
	virq_memset(pic, 0, sizeof(*pic));
	pic->ops = ops;
	pic->ctx = ctx;
	return 0;
}

/*
 * Power-up values (emulators start from all-zero), INT low. The input
 * lines are forgotten too (all low): a machine reset resets the devices
 * that drive them, and one that still drives its line high says so again
 * with a low-to-high transition.
 */
void pic_reset_chips(struct virq_pic *pic)
{
	virq_memset(pic->chip, 0, sizeof(pic->chip));
}

VIRQ_API void virq_pic_reset(struct virq_pic *pic)
{
	pic_reset_chips(pic);
	pic_update(pic);
}

/*
 * ICW1. 8259A datasheet, Initialization Command Words: the edge sense
 * circuit is reset (after it an input must make a low-to-high transition
 * to request), IMR cleared, IR7 lowest priority, special mask mode
 * cleared, status read set to IRR, ICW4 functions cleared. Where the
 * datasheet is silent this follows QEMU's pic_reset_common(): ISR, pending
 * edge requests, poll, AEOI/SFNM (always; ICW4 sets them again),
 * rotate-in-AEOI and the vector base are cleared, level requests stay
 * (QEMU and KVM: irr &= elcr), and the ELCR is not touched.
 *
 * The input levels are not touched either: a line held high through ICW1
 * stays high. An edge input's sense is reset, so that line requests only
 * after it went low and high again; a level input requests while its line
 * is high. LTIM (bit 3), which QEMU and KVM only log, is modelled: it
 * makes every input of this chip level-sensitive, so the set of level
 * inputs is taken after this ICW1. The master's IR2 is re-armed by the
 * caller (pic_cascade_rearm()).
 */
static void pic_icw1(struct virq_pic *pic, struct virq_pic_chip *c, uint8_t val)
{
	uint16_t flags = 0;
	uint8_t level;

	if (val & PIC_ICW1_IC4)
		flags |= VIRQ_PIC_F_IC4;
	if (val & PIC_ICW1_SNGL)
		flags |= VIRQ_PIC_F_SNGL;
	if (val & PIC_ICW1_LTIM)
		flags |= VIRQ_PIC_F_LTIM;
	c->flags = flags;
	level = pic_level_mask(c);
	c->irr = (uint8_t)(c->line & level);
	c->last_irr = (uint8_t)(c->line & level);
	c->imr = 0;
	c->isr = 0;
	c->prio_add = 0;
	c->base = 0;
	c->icw3 = 0;
	c->init_state = VIRQ_PIC_INIT_ICW2;

	/*
	 * The wiring is the PC/AT cascade in 8086 mode. A single 8259 and
	 * MCS-80/85 mode (no ICW4 means uPM = 0) are answered as that
	 * anyway, and reported.
	 */
	if ((val & PIC_ICW1_SNGL) || !(val & PIC_ICW1_IC4))
		pic_guest_error(pic, VIRQ_GERR_PIC_MODE);
}

/* A0 = 1 during the init sequence: ICW2, ICW3, ICW4 (8259A datasheet,
 * Initialization Command Words). */
static void pic_icw_data(struct virq_pic *pic, unsigned idx, uint8_t val)
{
	struct virq_pic_chip *c = &pic->chip[idx];
	uint8_t next_after_icw3 = pic_flag(c, VIRQ_PIC_F_IC4) ? (uint8_t)VIRQ_PIC_INIT_ICW4
							      : (uint8_t)VIRQ_PIC_INIT_READY;

	switch (c->init_state) {
	case VIRQ_PIC_INIT_ICW2:
		/* 8086 mode: T7-T3; bits 2:0 become the level at INTA. */
		c->base = (uint8_t)(val & 0xF8U);
		c->init_state = pic_flag(c, VIRQ_PIC_F_SNGL) ? next_after_icw3
							     : (uint8_t)VIRQ_PIC_INIT_ICW3;
		break;
	case VIRQ_PIC_INIT_ICW3:
		c->icw3 = val;
		c->init_state = next_after_icw3;
		if (val != (idx == PIC_MASTER ? PIC_ICW3_MASTER : PIC_ICW3_SLAVE))
			pic_guest_error(pic, VIRQ_GERR_PIC_MODE);
		break;
	default: /* VIRQ_PIC_INIT_ICW4 */
		if (val & PIC_ICW4_AEOI)
			c->flags |= VIRQ_PIC_F_AEOI;
		if (val & PIC_ICW4_SFNM)
			c->flags |= VIRQ_PIC_F_SFNM;
		c->init_state = VIRQ_PIC_INIT_READY;
		/* BUF and M/S (buffered mode) change nothing a guest sees. */
		if (!(val & PIC_ICW4_UPM))
			pic_guest_error(pic, VIRQ_GERR_PIC_MODE);
		break;
	}
}

/*
 * OCW2 (8259A datasheet, Operation Command Words): R, SL, EOI in bits 7:5,
 * level L in bits 2:0. The "highest" ISR bit of a non-specific EOI is
 * found with the current rotation. In special mask mode it is the highest
 * among the ISR bits whose IMR bit is clear (8259A datasheet, End of
 * Interrupt: an IS bit that is masked by an IMR bit will not be cleared by
 * a non-specific EOI if the 8259A is in the special mask mode); with none
 * of those set the command does nothing, rotation included. Specific EOI
 * names its bit and clears it in every mode. SFNM hides nothing from
 * either: software checks the slave's ISR before it EOIs the master.
 * (QEMU looks at the whole ISR in special mask mode too, which the
 * datasheet contradicts.)
 */
static void pic_ocw2(struct virq_pic_chip *c, uint8_t val)
{
	unsigned l = val & 7U;
	uint8_t eligible;
	unsigned p;

	switch (val >> 5) {
	case 1: /* 001 non-specific EOI */
	case 5: /* 101 rotate on non-specific EOI */
		eligible = c->isr;
		if (pic_flag(c, VIRQ_PIC_F_SPECIAL_MASK))
			eligible &= (uint8_t)~c->imr;
		p = pic_prio(c, eligible);
		if (p == PIC_PRIO_NONE)
			break;
		l = pic_prio_level(c, p);
		c->isr &= (uint8_t) ~(1U << l);
		if (val >> 5 == 5)
			c->prio_add = (uint8_t)((l + 1U) & 7U);
		break;
	case 3: /* 011 specific EOI */
		c->isr &= (uint8_t) ~(1U << l);
		break;
	case 7: /* 111 rotate on specific EOI: L becomes lowest */
		c->isr &= (uint8_t) ~(1U << l);
		c->prio_add = (uint8_t)((l + 1U) & 7U);
		break;
	case 4: /* 100 set rotate in AEOI mode */
		c->flags |= VIRQ_PIC_F_ROTATE_AEOI;
		break;
	case 0: /* 000 clear rotate in AEOI mode */
		c->flags &= (uint16_t)~VIRQ_PIC_F_ROTATE_AEOI;
		break;
	case 6: /* 110 set priority: L becomes lowest */
		c->prio_add = (uint8_t)((l + 1U) & 7U);
		break;
	default: /* 010 no operation */
		break;
	}
}

/* OCW3: poll, read selection (with RR), special mask (with ESMM). */
static void pic_ocw3(struct virq_pic_chip *c, uint8_t val)
{
	if (val & PIC_OCW3_P)
		c->flags |= VIRQ_PIC_F_POLL;
	if (val & PIC_OCW3_RR) {
		if (val & PIC_OCW3_RIS)
			c->flags |= VIRQ_PIC_F_READ_ISR;
		else
			c->flags &= (uint16_t)~VIRQ_PIC_F_READ_ISR;
	}
	if (val & PIC_OCW3_ESMM) {
		if (val & PIC_OCW3_SMM)
			c->flags |= VIRQ_PIC_F_SPECIAL_MASK;
		else
			c->flags &= (uint16_t)~VIRQ_PIC_F_SPECIAL_MASK;
	}
}

/*
 * After the set of level inputs changed (ELCR write): a level input's
 * request and edge sense follow its line, so an input made level requests
 * exactly while its line is high. An input made edge keeps a pending
 * request as a latched one and its sense (equal to its line while it was
 * level): a high line counts as already sensed and requests again only
 * after it went low and high.
 */
static void pic_sync_level_inputs(struct virq_pic_chip *c)
{
	uint8_t level = pic_level_mask(c);

	c->irr = (uint8_t)((c->irr & ~level) | (c->line & level));
	c->last_irr = (uint8_t)((c->last_irr & ~level) | (c->line & level));
}

/* Which chip and A0 a port decodes to; false when it is not ours. */
static bool pic_decode(uint16_t port, unsigned *idx, unsigned *a0)
{
	switch (port) {
	case VIRQ_PIC_MASTER_CMD:
	case VIRQ_PIC_MASTER_DATA:
		*idx = PIC_MASTER;
		break;
	case VIRQ_PIC_SLAVE_CMD:
	case VIRQ_PIC_SLAVE_DATA:
		*idx = PIC_SLAVE;
		break;
	case VIRQ_PIC_ELCR1:
		*idx = PIC_MASTER;
		*a0 = 2; /* ELCR */
		return true;
	case VIRQ_PIC_ELCR2:
		*idx = PIC_SLAVE;
		*a0 = 2;
		return true;
	default:
		return false;
	}
	*a0 = port & 1U;
	return true;
}

VIRQ_API int virq_pic_io_write(struct virq_pic *pic, uint16_t port, uint8_t val)
{
	struct virq_pic_chip *c;
	unsigned idx, a0;

	if (!pic_decode(port, &idx, &a0))
		return -VIRQ_ENOENT;
	c = &pic->chip[idx];

	if (a0 == 2) {
		c->elcr = (uint8_t)(val & pic_elcr_mask(idx));
		pic_sync_level_inputs(c);
	} else if (a0 == 1) {
		if (c->init_state != VIRQ_PIC_INIT_READY)
			pic_icw_data(pic, idx, val);
		else
			c->imr = val; /* OCW1, also before the first ICW1 */
	} else if (val & PIC_ICW1_ID) {
		pic_icw1(pic, c, val);
		if (idx == PIC_MASTER)
			pic_cascade_rearm(c);
	} else if (val & 0x08U) {
		pic_ocw3(c, val);
	} else {
		pic_ocw2(c, val);
	}
	pic_update(pic);
	return 0;
}

VIRQ_API int virq_pic_io_read(struct virq_pic *pic, uint16_t port, uint8_t *val)
{
	struct virq_pic_chip *c;
	unsigned idx, a0;

	if (!val)
		return -VIRQ_EINVAL;
	if (!pic_decode(port, &idx, &a0))
		return -VIRQ_ENOENT;
	c = &pic->chip[idx];

	if (a0 == 2) {
		*val = c->elcr;
		return 0;
	}
	if (pic_flag(c, VIRQ_PIC_F_POLL)) {
		/* Either port (8259A datasheet, Poll Command); acknowledges, so INT may change. */
		*val = pic_chip_poll(c, idx == PIC_MASTER);
		pic_update(pic);
		return 0;
	}
	if (a0 == 1)
		*val = c->imr;
	else
		*val = pic_flag(c, VIRQ_PIC_F_READ_ISR) ? c->isr : c->irr;
	return 0;
}

VIRQ_API int virq_pic_set_irq(struct virq_pic *pic, unsigned irq, bool level)
{
	if (irq > 15U)
		return -VIRQ_EINVAL;
	if (irq == PIC_CASCADE_IR)
		return 0; /* master IR2 is the slave's INT output */
	/* An unchanged level is no transition: nothing changes, INT included. */
	pic_chip_set_input(&pic->chip[irq >> 3], irq & 7U, level);
	pic_update(pic);
	return 0;
}
