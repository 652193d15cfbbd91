/* SPDX-License-Identifier: MIT */
/*
 * pic: the 8259 pair behind LAPIC LINT0 in ExtINT mode. ICW1-4 with vector
 * bases 0x20/0x28; IRQs on the master and, through the cascade, on the
 * slave arrive as base + n with the right ISR bits; priority order;
 * masking with IRR still latching; non-specific and specific EOI; ELCR
 * level mode re-delivers while the line is high; AEOI leaves ISR clear;
 * a request withdrawn before the acknowledge gives nothing or a spurious
 * IRQ7 (vector base + 7 with ISR bit 7 clear).
 *
 * Lines are raised and kept high until the handler runs (the 8259 wants the
 * request held until INTA), and the handler drops them.
 */
#include "guest.h"

#define MCMD 0x20
#define MDATA 0x21
#define SCMD 0xA0
#define SDATA 0xA1
#define ELCR0 0x4D0
#define ELCR1 0x4D1

static bool aeoi_mode, specific_eoi;
static volatile unsigned level_keep; /* ELCR test: keep the line until this count */
static volatile uint8_t order[16];
static volatile unsigned norder;
static volatile uint8_t misr_seen[16], sisr_seen[16];

static uint8_t pic_isr(uint16_t cmd)
{
	outb(cmd, 0x0B);
	return inb(cmd);
}

static uint8_t pic_irr(uint16_t cmd)
{
	outb(cmd, 0x0A);
	return inb(cmd);
}

static void pic_init(bool aeoi)
{
	outb(MCMD, 0x11);                /* ICW1: edge, cascade, ICW4 */
	outb(MDATA, 0x20);               /* ICW2: base 0x20 */
	outb(MDATA, 0x04);               /* ICW3: slave on IR2 */
	outb(MDATA, aeoi ? 0x03 : 0x01); /* ICW4: 8086, AEOI */
	outb(SCMD, 0x11);
	outb(SDATA, 0x28);
	outb(SDATA, 0x02);
	outb(SDATA, aeoi ? 0x03 : 0x01);
	outb(MDATA, 0xFB); /* all masked but the cascade */
	outb(SDATA, 0xFF);
	aeoi_mode = aeoi;
}

static void unmask(unsigned irq, bool on)
{
	uint16_t port = irq < 8 ? MDATA : SDATA;
	uint8_t bit = (uint8_t)(1u << (irq & 7));
	uint8_t m = inb(port);

	outb(port, on ? (uint8_t)(m & ~bit) : (uint8_t)(m | bit));
}

static void pic_handler(struct frame *f)
{
	unsigned irq = (unsigned)f->vector - 0x20;
	uint8_t misr = pic_isr(MCMD), sisr = pic_isr(SCMD);

	misr_seen[irq] = misr;
	sisr_seen[irq] = sisr;
	if (norder < 16)
		order[norder++] = (uint8_t)irq;
	if (irq == 7 && !(misr & 0x80))
		return; /* spurious: no EOI */
	if (!level_keep || irq_count[0][f->vector] >= level_keep)
		gsi_set(irq, 0);
	if (aeoi_mode)
		return;
	if (irq >= 8)
		outb(SCMD, specific_eoi ? (uint8_t)(0x60 | (irq & 7)) : 0x20);
	outb(MCMD, specific_eoi ? (uint8_t)(0x60 | (irq < 8 ? irq : 2)) : 0x20);
}

static uint32_t count(unsigned irq)
{
	return irq_count[0][0x20 + irq];
}

/* Raise the line of irq, expect exactly one interrupt with vector
 * 0x20 + irq and the given ISR contents in the handler. */
static void one_irq(unsigned irq, uint8_t want_misr, uint8_t want_sisr)
{
	uint32_t n = count(irq);

	unmask(irq, true);
	gsi_set(irq, 1);
	EXPECT(WAIT_UNTIL(count(irq) >= n + 1, 1000), "IRQ %u: no vector 0x%x", irq, 0x20 + irq);
	settle(1000);
	EXPECT(count(irq) == n + 1, "IRQ %u taken %u times", irq, count(irq) - n);
	EXPECT(misr_seen[irq] == want_misr, "IRQ %u: master ISR 0x%02x in handler, expected 0x%02x",
	       irq, misr_seen[irq], want_misr);
	EXPECT(sisr_seen[irq] == want_sisr, "IRQ %u: slave ISR 0x%02x in handler, expected 0x%02x",
	       irq, sisr_seen[irq], want_sisr);
	EXPECT_EQ(pic_isr(MCMD), 0);
	EXPECT_EQ(pic_isr(SCMD), 0);
	unmask(irq, false);
	gsi_set(irq, 0);
}

int main(void)
{
	for (unsigned v = 0x20; v < 0x30; v++)
		set_handler(v, pic_handler);

	test_begin("pic_init");
	pic_init(false);
	EXPECT_EQ(inb(MDATA), 0xFB);
	EXPECT_EQ(inb(SDATA), 0xFF);
	EXPECT_EQ(pic_isr(MCMD), 0);
	EXPECT_EQ(pic_isr(SCMD), 0);
	EXPECT_EQ(pic_irr(SCMD), 0);
	apic_write(APIC_LINT0, 0x700); /* ExtINT, unmasked */
	EXPECT_EQ(apic_read(APIC_LINT0), 0x700);
	sti();
	test_end();

	test_begin("pic_master_irqs");
	one_irq(1, 0x02, 0x00);
	one_irq(3, 0x08, 0x00);
	one_irq(6, 0x40, 0x00);
	test_end();

	test_begin("pic_slave_irqs_cascade");
	one_irq(10, 0x04, 0x04);
	one_irq(12, 0x04, 0x10);
	test_end();

	test_begin("pic_specific_eoi");
	specific_eoi = true;
	one_irq(4, 0x10, 0x00);
	one_irq(11, 0x04, 0x08);
	specific_eoi = false;
	test_end();

	test_begin("pic_mask_keeps_irr");
	gsi_set(3, 1);
	settle(2000);
	EXPECT_EQ(count(3), 1); /* from pic_master_irqs */
	EXPECT(pic_irr(MCMD) & 0x08, "IRR bit 3 clear for a masked, raised line: 0x%02x",
	       pic_irr(MCMD));
	unmask(3, true);
	EXPECT(WAIT_UNTIL(count(3) == 2, 1000), "not delivered on unmask");
	settle(1000);
	EXPECT_EQ(count(3), 2);
	EXPECT_EQ(pic_irr(MCMD) & 0x08, 0);
	unmask(3, false);
	test_end();

	test_begin("pic_priority_order");
	norder = 0;
	cli();
	unmask(1, true);
	unmask(3, true);
	unmask(10, true);
	gsi_set(3, 1);
	gsi_set(10, 1);
	gsi_set(1, 1);
	sti();
	WAIT_UNTIL(norder >= 3, 1000);
	settle(1000);
	EXPECT_EQ(norder, 3);
	EXPECT_EQ(order[0], 1);
	EXPECT_EQ(order[1], 10);
	EXPECT_EQ(order[2], 3);
	unmask(1, false);
	unmask(3, false);
	unmask(10, false);
	test_end();

	test_begin("pic_elcr_level");
	outb(ELCR1, 0x04); /* IRQ 10 level-triggered */
	EXPECT_EQ(inb(ELCR1), 0x04);
	EXPECT_EQ(inb(ELCR0), 0x00);
	{
		uint32_t n = count(10);

		level_keep = n + 3;
		unmask(10, true);
		gsi_set(10, 1);
		WAIT_UNTIL(count(10) >= n + 3, 1000);
		settle(2000);
		EXPECT(count(10) == n + 3, "level IRQ 10 taken %u times, expected 3",
		       count(10) - n);
		level_keep = 0;
		unmask(10, false);
	}
	gsi_set(10, 0);
	outb(ELCR1, 0x00);
	test_end();

	test_begin("pic_aeoi");
	cli();
	pic_init(true);
	sti();
	for (int i = 0; i < 2; i++) {
		one_irq(5, 0x00, 0x00);
		one_irq(9, 0x00, 0x00);
	}
	cli();
	pic_init(false);
	sti();
	test_end();

	test_begin("pic_spurious_irq7");
	unmask(7, true);
	cli();
	gsi_set(7, 1);
	gsi_set(7, 0);
	sti();
	settle(3000);
	if (count(7) == 0) {
		printf("spurious IRQ7: withdrawn request gave no interrupt\n");
	} else {
		EXPECT_EQ(count(7), 1);
		if (misr_seen[7] & 0x80) {
			if (quirk("pic-latch"))
				printf("spurious IRQ7: the withdrawn edge was acknowledged as IRQ7 "
				       "(ISR bit 7 set)\n");
			else
				test_fail("IRQ7 delivered with ISR bit 7 set (0x%02x) after the "
					  "request was withdrawn",
					  misr_seen[7]);
		} else {
			printf("spurious IRQ7: vector 0x27 with ISR bit 7 clear\n");
		}
	}
	unmask(7, false);
	EXPECT_EQ(pic_isr(MCMD), 0);
	test_end();

	/* The same with IRQ 7 level-triggered (ELCR): dropping the line takes
	 * the request back in every 8259 model, so only an acknowledge done
	 * while IF was 0 (too early) could give a real IRQ7. */
	test_begin("pic_spurious_irq7_level");
	{
		uint32_t n = count(7);

		outb(ELCR0, 0x80);
		misr_seen[7] = 0;
		unmask(7, true);
		cli();
		gsi_set(7, 1);
		gsi_set(7, 0);
		sti();
		settle(3000);
		EXPECT(count(7) <= n + 1, "IRQ7 taken %u times", count(7) - n);
		if (count(7) == n) {
			printf("spurious IRQ7 (level): withdrawn request gave no interrupt\n");
		} else {
			EXPECT(!(misr_seen[7] & 0x80),
			       "level IRQ7 delivered with ISR bit 7 set (0x%02x) after the request "
			       "was withdrawn",
			       misr_seen[7]);
			if (!(misr_seen[7] & 0x80))
				printf("spurious IRQ7 (level): vector 0x27 with ISR bit 7 clear\n");
		}
		unmask(7, false);
		outb(ELCR0, 0x00);
		EXPECT_EQ(pic_isr(MCMD), 0);
	}
	test_end();

	test_begin("pic_all_masked_quiet");
	{
		uint32_t n = 0, m = 0;

		for (unsigned irq = 0; irq < 16; irq++)
			n += count(irq);
		outb(MDATA, 0xFF);
		gsi_set(1, 1);
		gsi_set(10, 1);
		settle(2000);
		gsi_set(1, 0);
		gsi_set(10, 0);
		for (unsigned irq = 0; irq < 16; irq++)
			m += count(irq);
		EXPECT(m == n, "%u interrupts with every IRQ masked", m - n);
	}
	test_end();

	cli();
	apic_write(APIC_LINT0, LVT_MASK | 0x700);
	return 0;
}
