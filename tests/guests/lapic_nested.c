/* SPDX-License-Identifier: MIT */
/*
 * lapic_nested: nesting and EOI order. Inside the handler of vector 0x40
 * (interrupts re-enabled there) vector 0x80 preempts, and inside 0x80 (also
 * with STI) 0xC0 preempts again, while 0x48 (same class as 0x40) and 0x30
 * (lower class) wait in IRR. Each EOI retires the highest in-service vector;
 * after the last one the waiting vectors come in priority order. The event
 * sequence and the complete ISR/IRR contents at each step are compared
 * with the expected ones.
 */
#include "guest.h"

enum {
	E_ENTER = 0x100,
	E_EOI = 0x200,
	E_RET = 0x300
};

static uint32_t log_[32];
static unsigned nlog;
static uint32_t isr_snap[8][8], irr_snap[8][8];
static uint32_t ppr_snap[8];
static unsigned nsnap;

static void ev(uint32_t e)
{
	if (nlog < 32)
		log_[nlog++] = e;
}

static void snap(void)
{
	if (nsnap < 8) {
		for (unsigned i = 0; i < 8; i++) {
			isr_snap[nsnap][i] = apic_read(APIC_ISR + 0x10 * i);
			irr_snap[nsnap][i] = apic_read(APIC_IRR + 0x10 * i);
		}
		ppr_snap[nsnap] = apic_read(APIC_PPR);
		nsnap++;
	}
}

static void self_ipi(unsigned v)
{
	apic_icr(ICR_SELF | ICR_ASSERT | v, 0);
}

static void eoi(unsigned v)
{
	ev(E_EOI | v);
	apic_eoi();
}

static void h40(struct frame *f)
{
	(void)f;
	ev(E_ENTER | 0x40);
	snap();         /* 0: ISR {40} */
	self_ipi(0x48); /* same class: waits */
	self_ipi(0x30); /* lower class: waits */
	self_ipi(0x80); /* higher: preempts once IF=1 */
	sti();
	SPIN_UNTIL(irq_count[0][0x80] == 1, 100);
	cli();
	snap(); /* 3: back in 0x40: ISR {40}, IRR {30, 48} */
	eoi(0x40);
	sti(); /* 0x48 then 0x30 come here */
	SPIN_UNTIL(irq_count[0][0x30] == 1, 100);
	cli();
	ev(E_RET | 0x40);
}

static void h80(struct frame *f)
{
	(void)f;
	ev(E_ENTER | 0x80);
	snap(); /* 1: ISR {40, 80} */
	self_ipi(0xC0);
	sti();
	SPIN_UNTIL(irq_count[0][0xC0] == 1, 100);
	cli();
	eoi(0x80);
	ev(E_RET | 0x80);
}

static void hC0(struct frame *f)
{
	(void)f;
	ev(E_ENTER | 0xC0);
	snap(); /* 2: ISR {40, 80, C0} */
	eoi(0xC0);
	ev(E_RET | 0xC0);
}

static void h48(struct frame *f)
{
	(void)f;
	ev(E_ENTER | 0x48);
	snap(); /* 4: ISR {48}, IRR {30} */
	eoi(0x48);
	ev(E_RET | 0x48);
}

static void h30(struct frame *f)
{
	(void)f;
	ev(E_ENTER | 0x30);
	snap(); /* 5: ISR {30}, IRR {} */
	eoi(0x30);
	ev(E_RET | 0x30);
}

static void bits_of(uint32_t out[8], const uint8_t *v, unsigned n)
{
	for (unsigned i = 0; i < 8; i++)
		out[i] = 0;
	for (unsigned i = 0; i < n; i++)
		out[v[i] / 32] |= 1u << (v[i] % 32);
}

static void expect_regs(unsigned s, const char *reg, uint32_t got[8], const uint8_t *v, unsigned n)
{
	uint32_t want[8];

	bits_of(want, v, n);
	for (unsigned i = 0; i < 8; i++)
		if (got[i] != want[i])
			test_fail("step %u: %s[%u] = 0x%08x, expected 0x%08x", s, reg, i, got[i],
				  want[i]);
}

int main(void)
{
	static const uint32_t want_log[] = {
		E_ENTER | 0x40, E_ENTER | 0x80, E_ENTER | 0xC0, E_EOI | 0xC0,   E_RET | 0xC0,
		E_EOI | 0x80,   E_RET | 0x80,   E_EOI | 0x40,   E_ENTER | 0x48, E_EOI | 0x48,
		E_RET | 0x48,   E_ENTER | 0x30, E_EOI | 0x30,   E_RET | 0x30,   E_RET | 0x40,
	};
	static const struct {
		uint8_t isr[3], nisr, irr[2], nirr, ppr;
	} want_snap[] = {
		{ { 0x40 }, 1, { 0 }, 0, 0x40 },
		{ { 0x40, 0x80 }, 2, { 0x30, 0x48 }, 2, 0x80 },
		{ { 0x40, 0x80, 0xC0 }, 3, { 0x30, 0x48 }, 2, 0xC0 },
		{ { 0x40 }, 1, { 0x30, 0x48 }, 2, 0x40 },
		{ { 0x48 }, 1, { 0x30 }, 1, 0x40 },
		{ { 0x30 }, 1, { 0 }, 0, 0x30 },
	};
	const unsigned nwant = sizeof(want_log) / sizeof(want_log[0]);

	set_handler(0x40, h40);
	set_handler(0x80, h80);
	set_handler(0xC0, hC0);
	set_handler(0x48, h48);
	set_handler(0x30, h30);

	test_begin("nested_eoi_order");
	cli();
	self_ipi(0x40);
	EXPECT(apic_irr(0x40), "0x40 not pending with IF=0");
	sti();
	SPIN_UNTIL(irq_count[0][0x30] == 1 && nlog >= nwant, 500);
	cli();
	EXPECT_EQ(nlog, nwant);
	for (unsigned i = 0; i < nlog && i < nwant; i++)
		if (log_[i] != want_log[i])
			test_fail("event %u: 0x%03x, expected 0x%03x", i, log_[i], want_log[i]);
	if (!test_ok()) {
		printf("events:");
		for (unsigned i = 0; i < nlog; i++)
			printf(" %03x", log_[i]);
		printf("\n");
	}
	test_end();

	test_begin("nested_isr_irr_ppr");
	if (quirk("lapic-isr-hidden")) {
		nsnap = 0;
		test_skip("quirk lapic-isr-hidden");
	} else {
		EXPECT_EQ(nsnap, 6);
	}
	for (unsigned s = 0; s < nsnap && s < 6; s++) {
		expect_regs(s, "ISR", isr_snap[s], want_snap[s].isr, want_snap[s].nisr);
		expect_regs(s, "IRR", irr_snap[s], want_snap[s].irr, want_snap[s].nirr);
		if (ppr_snap[s] != want_snap[s].ppr)
			test_fail("step %u: PPR 0x%x, expected 0x%x", s, ppr_snap[s],
				  want_snap[s].ppr);
	}
	test_end();

	test_begin("nested_all_retired");
	for (unsigned i = 0; i < 8; i++) {
		EXPECT_EQ(apic_read(APIC_ISR + 0x10 * i), 0);
		EXPECT_EQ(apic_read(APIC_IRR + 0x10 * i), 0);
	}
	EXPECT_EQ(apic_read(APIC_PPR), 0);
	EXPECT_EQ(irq_count[0][0x40] + irq_count[0][0x80] + irq_count[0][0xC0] +
			  irq_count[0][0x48] + irq_count[0][0x30],
		  5);
	test_end();
	return 0;
}
