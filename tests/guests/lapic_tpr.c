/* SPDX-License-Identifier: MIT */
/*
 * lapic_tpr: task priority. A self-IPI whose priority class is not above
 * TPR[7:4] stays in IRR and is delivered once TPR drops below it; CR8 and
 * TPR are the same state (CR8 = TPR[7:4]); PPR = max(TPR, ISRV class) as
 * the SDM defines it; the same masking through CR8 and the x2APIC TPR MSR,
 * or, on a CPU without x2APIC, that MSR's #GP (TPR untouched).
 */
#include "guest.h"

#define V_LOW 0x45
#define V_HIGH 0x65
#define V_PPR 0x61

static volatile uint32_t ppr_in_handler[4];
static volatile uint32_t order[8];
static volatile unsigned norder;

static void log_handler(struct frame *f)
{
	if (norder < 8)
		order[norder++] = (uint32_t)f->vector;
	apic_eoi();
}

static void ppr_handler(struct frame *f)
{
	(void)f;
	ppr_in_handler[0] = apic_read(APIC_PPR);
	apic_write(APIC_TPR, 0x75); /* above the in-service class */
	ppr_in_handler[1] = apic_read(APIC_PPR);
	apic_write(APIC_TPR, 0x20);
	ppr_in_handler[2] = apic_read(APIC_PPR);
	apic_eoi();
	ppr_in_handler[3] = apic_read(APIC_PPR);
}

static void self_ipi(unsigned v)
{
	if (apic_x2())
		wrmsr(0x83F, v);
	else
		apic_icr(ICR_SELF | ICR_ASSERT | v, 0);
}

/* Pending-then-delivered sequence for vector V_LOW with the priority set
 * through set(): 0x50 and 0x40 hold it, 0x30 lets it through. */
static void masking(void (*set)(uint32_t tpr), const char *how)
{
	uint32_t n0 = irq_count[0][V_LOW];

	set(0x50);
	self_ipi(V_LOW);
	spin_us(1000);
	EXPECT(irq_count[0][V_LOW] == n0, "%s: vector 0x45 delivered at TPR 0x50", how);
	EXPECT(apic_irr(V_LOW), "%s: vector 0x45 not pending in IRR", how);
	EXPECT_EQ(apic_read(APIC_PPR), 0x50);
	set(0x40); /* same class: still held */
	spin_us(1000);
	EXPECT(irq_count[0][V_LOW] == n0, "%s: vector 0x45 delivered at TPR 0x40", how);
	EXPECT(apic_irr(V_LOW), "%s: vector 0x45 left IRR at TPR 0x40", how);
	set(0x30);
	EXPECT(SPIN_UNTIL(irq_count[0][V_LOW] == n0 + 1, 100),
	       "%s: vector 0x45 not delivered at TPR 0x30", how);
	spin_us(500);
	EXPECT_EQ(irq_count[0][V_LOW], n0 + 1);
	EXPECT(!apic_irr(V_LOW), "%s: IRR still set", how);
	set(0);
}

static void set_tpr_reg(uint32_t v)
{
	apic_write(APIC_TPR, v);
}
static void set_tpr_cr8(uint32_t v)
{
	write_cr8(v >> 4);
}

int main(void)
{
	set_handler(V_LOW, log_handler);
	set_handler(V_HIGH, log_handler);
	set_handler(V_PPR, ppr_handler);
	sti();

	test_begin("tpr_masks_self_ipi");
	masking(set_tpr_reg, "TPR");
	test_end();

	test_begin("tpr_higher_class_passes");
	norder = 0;
	apic_write(APIC_TPR, 0x50);
	self_ipi(V_LOW);
	self_ipi(V_HIGH);
	SPIN_UNTIL(norder >= 1, 100);
	spin_us(500);
	EXPECT_EQ(norder, 1);
	EXPECT_EQ(order[0], V_HIGH);
	apic_write(APIC_TPR, 0);
	SPIN_UNTIL(norder >= 2, 100);
	EXPECT_EQ(norder, 2);
	EXPECT_EQ(order[1], V_LOW);
	test_end();

	test_begin("ppr");
	apic_write(APIC_TPR, 0x5F);
	EXPECT_EQ(apic_read(APIC_TPR), 0x5F);
	EXPECT_EQ(apic_read(APIC_PPR), 0x5F); /* nothing in service: PPR = TPR */
	apic_write(APIC_TPR, 0x20);
	EXPECT_EQ(apic_read(APIC_PPR), 0x20);
	self_ipi(V_PPR);
	SPIN_UNTIL(irq_count[0][V_PPR] == 1, 100);
	EXPECT_EQ(irq_count[0][V_PPR], 1);
	if (!quirk("lapic-isr-hidden")) {
		EXPECT_EQ(ppr_in_handler[0], 0x60); /* ISRV class 6 > TPR class 2 */
		EXPECT_EQ(ppr_in_handler[2], 0x60);
	}
	EXPECT_EQ(ppr_in_handler[1], 0x75); /* TPR class 7 > ISRV class 6 */
	EXPECT_EQ(ppr_in_handler[3], 0x20); /* after EOI */
	EXPECT_EQ(apic_read(APIC_PPR), 0x20);
	apic_write(APIC_TPR, 0);
	EXPECT_EQ(apic_read(APIC_PPR), 0);
	test_end();

	test_begin("cr8_is_tpr");
	write_cr8(5);
	EXPECT_EQ(apic_read(APIC_TPR), 0x50);
	EXPECT_EQ(read_cr8(), 5);
	apic_write(APIC_TPR, 0x7A);
	EXPECT_EQ(read_cr8(), 7);
	EXPECT_EQ(apic_read(APIC_TPR), 0x7A);
	write_cr8(0xF);
	EXPECT_EQ(apic_read(APIC_TPR), 0xF0);
	EXPECT_EQ(apic_read(APIC_PPR), 0xF0);
	write_cr8(0);
	EXPECT_EQ(apic_read(APIC_TPR), 0);
	EXPECT_EQ(read_cr8(), 0);
	test_end();

	test_begin("cr8_masks_self_ipi");
	masking(set_tpr_cr8, "CR8");
	test_end();

	if (!cpu_has_x2apic()) {
		/* No x2APIC: MSR 0x808 does not exist (#GP both ways) and the
		 * refused write leaves TPR and CR8 alone. */
		uint64_t v = 0;
		int r;

		test_begin("x2apic_tpr_msr_absent");
		x2apic_expected();
		write_cr8(2);
		r = wrmsr_safe(0x808, 0x30);
		if (quirk("tcg")) {
			test_skip("quirk tcg: no #GP for x2APIC MSRs");
		} else {
			EXPECT(r == 13, "wrmsr 0x808: %s%d", r < 0 ? "no fault" : "vector ", r);
			r = rdmsr_safe(0x808, &v);
			EXPECT(r == 13, "rdmsr 0x808: %s%d, value 0x%llx",
			       r < 0 ? "no fault" : "vector ", r, (unsigned long long)v);
		}
		EXPECT_EQ(read_cr8(), 2);
		EXPECT_EQ(apic_read(APIC_TPR), 0x20);
		write_cr8(0);
		masking(set_tpr_reg, "TPR after the refused MSR writes");
		test_end();
		cli();
		return 0;
	}
	test_begin("x2apic_tpr_msr");
	x2apic_expected();
	if (!apic_to_x2apic()) {
		test_fail("#GP entering x2APIC mode");
	} else {
		wrmsr(0x808, 0x30);
		EXPECT_EQ(read_cr8(), 3);
		EXPECT_EQ(rdmsr(0x808), 0x30);
		EXPECT_EQ(rdmsr(0x80A), 0x30); /* PPR */
		wrmsr(0x808, 0);
		masking(set_tpr_reg, "x2APIC TPR");
	}
	test_end();
	cli();
	return 0;
}
