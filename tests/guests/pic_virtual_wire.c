/* SPDX-License-Identifier: MIT */
/*
 * pic_virtual_wire: the 8259 reaches a BSP that never programs its LAPIC.
 * PC firmware leaves the BSP's LAPIC in virtual-wire mode (MultiProcessor
 * Specification, "Virtual Wire Mode": LINT0 programmed as ExtINT, the APIC
 * enabled), so a DOS-era guest that only knows the 8259 still gets its
 * interrupts. This program writes no LAPIC register (no SVR, no LVT, no
 * EOI: boot_keeps_lapic) and no I/O APIC register; it initializes the 8259
 * pair, unmasks IRQ 3, raises that line through the test device and must
 * take exactly vector 0x23 (base 0x20 + 3), with master ISR bit 3 set in
 * the handler, then ends it with a non-specific EOI to the 8259 only. An
 * ExtINT vector is not recorded in the LAPIC's ISR, so no LAPIC EOI is due.
 *
 * With the LAPIC in the SDM's reset state instead (software-disabled,
 * LINT0 masked), nothing arrives: the first check fails after 1 s and the
 * halting one is not tried (it would sleep for ever: nothing else can wake
 * a CPU whose LAPIC timer is not set up).
 *
 * The library's waits arm the LAPIC timer, so none is used here: the first
 * check spins on the TSC with IF=1, the second halts in "sti; hlt" with the
 * request already pending (sti_hlt()). On a host that does not honour the
 * STI interrupt shadow (KVM on AMD without NRIPS) the interrupt can land on
 * the HLT itself, before it executes; the library's handler then resumes
 * after the HLT, which would otherwise halt with nothing left to wake it,
 * and the check says so on a line of its own (the vector is still checked;
 * where it landed is the host's business).
 */
#include "guest.h"

#define MCMD 0x20
#define MDATA 0x21
#define SCMD 0xA0
#define SDATA 0xA1

#define IRQ 3
#define VEC (0x20 + IRQ)

const bool boot_keeps_lapic = true;

extern const char sti_hlt_hlt[];

static volatile uint8_t isr_in_handler;
static volatile uint64_t rip_in_handler;

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

/* Vectors 0x20-0x2F: the 8259's. Drops the line (it is held high until the
 * acknowledge, as the 8259 wants) and sends the master a non-specific EOI. */
static void pic_handler(struct frame *f)
{
	isr_in_handler = pic_isr(MCMD);
	rip_in_handler = f->rip;
	gsi_set(IRQ, 0);
	outb(MCMD, 0x20);
}

/* Interrupts taken on any vector since boot but v. */
static uint32_t others(unsigned v)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < 256; i++)
		if (i != v)
			n += irq_count[0][i];
	return n;
}

static void expect_one(uint32_t before)
{
	EXPECT(irq_count[0][VEC] == before + 1, "vector 0x%x taken %u times, expected once", VEC,
	       irq_count[0][VEC] - before);
	EXPECT(others(VEC) == 0, "%u interrupts on other vectors", others(VEC));
	EXPECT(isr_in_handler == (1u << IRQ), "master ISR 0x%02x in the handler, expected 0x%02x",
	       isr_in_handler, 1u << IRQ);
	EXPECT_EQ(pic_isr(MCMD), 0);
	EXPECT_EQ(pic_irr(MCMD) & (1u << IRQ), 0);
}

int main(void)
{
	uint32_t before, stepped;
	uint64_t dl;

	for (unsigned v = 0x20; v < 0x30; v++)
		set_handler(v, pic_handler);

	test_begin("pic_init_no_lapic");
	outb(MCMD, 0x11);  /* ICW1: edge, cascade, ICW4 */
	outb(MDATA, 0x20); /* ICW2: vectors 0x20-0x27 */
	outb(MDATA, 0x04); /* ICW3: slave on IR2 */
	outb(MDATA, 0x01); /* ICW4: 8086 mode, normal EOI */
	outb(SCMD, 0x11);
	outb(SDATA, 0x28);
	outb(SDATA, 0x02);
	outb(SDATA, 0x01);
	outb(MDATA, (uint8_t) ~(1u << IRQ)); /* IRQ 3 only */
	outb(SDATA, 0xFF);
	EXPECT_EQ(inb(MDATA), (uint8_t) ~(1u << IRQ));
	EXPECT_EQ(inb(SDATA), 0xFF);
	EXPECT_EQ(pic_isr(MCMD), 0);
	EXPECT_EQ(pic_irr(MCMD), 0);
	test_end();

	/* IF=1, spinning: delivered within 1 s, or never. */
	test_begin("virtual_wire_irq3");
	before = irq_count[0][VEC];
	sti();
	gsi_set(IRQ, 1);
	dl = rdtsc() + 1000 * TSC_PER_MS;
	while (irq_count[0][VEC] == before && rdtsc() < dl)
		pause();
	spin_us(2000); /* a second delivery would come now */
	cli();
	if (irq_count[0][VEC] == before) {
		test_fail("no vector 0x%x within 1 s (IRR 0x%02x): the 8259's INT does not reach "
			  "the BSP; is LINT0 in ExtINT mode (virtual wire)?",
			  VEC, pic_irr(MCMD));
		gsi_set(IRQ, 0);
		test_end();
		printf("virtual_wire_irq3_in_hlt not run: the HLT would never end\n");
		return 0;
	}
	expect_one(before);
	test_end();

	/* Pending before STI; "sti; hlt" must end in its handler. */
	test_begin("virtual_wire_irq3_in_hlt");
	before = irq_count[0][VEC];
	stepped = percpu[0].hlt_stepped;
	gsi_set(IRQ, 1);
	sti_hlt();
	cli();
	expect_one(before);
	/* In the HLT or on it (stepped over): the return address is the same. */
	EXPECT(rip_in_handler == (uintptr_t)sti_hlt_hlt + 1,
	       "interrupted at rip 0x%llx, expected just after the HLT at %p",
	       (unsigned long long)rip_in_handler, (const void *)sti_hlt_hlt);
	if (percpu[0].hlt_stepped != stepped)
		printf("virtual_wire_irq3_in_hlt: the interrupt landed on the HLT right after STI "
		       "(this host does not honour the STI shadow)\n");
	test_end();

	outb(MDATA, 0xFF);
	return 0;
}
