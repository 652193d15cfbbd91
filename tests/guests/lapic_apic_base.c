/* SPDX-License-Identifier: MIT */
/*
 * lapic_apic_base: IA32_APIC_BASE. Disabling the APIC (EN=0) makes its page
 * read all ones; re-enabling brings it back (self-IPI delivered once the SVR
 * enables it again). xAPIC -> x2APIC (EXTD with EN): MSR ID = CPUID.0B:EDX,
 * LDR derived. Invalid transitions and reserved bits #GP. x2APIC MSRs: the
 * read-only, write-only and missing registers #GP, ICR 0x830 takes 64 bits,
 * 0x831 does not exist, non-zero EOI #GP; all x2APIC MSRs #GP outside
 * x2APIC mode. On a CPU without x2APIC (CPUID.1:ECX[21] clear) EXTD is a
 * reserved bit of IA32_APIC_BASE instead: setting it #GPs from every state
 * and the x2APIC MSRs do not exist.
 */
#include "guest.h"

#define V_SELF 0x50

static uint64_t base0;

static void expect_gp_rd(uint32_t msr, const char *what)
{
	uint64_t v = 0;
	int r = rdmsr_safe(msr, &v);

	if (r != 13)
		test_fail("rdmsr 0x%x (%s): %s%d, value 0x%llx", msr, what,
			  r < 0 ? "no fault" : "vector ", r, (unsigned long long)v);
}

static void expect_gp_wr(uint32_t msr, uint64_t val, const char *what)
{
	int r = wrmsr_safe(msr, val);

	if (r != 13)
		test_fail("wrmsr 0x%x = 0x%llx (%s): %s%d", msr, (unsigned long long)val, what,
			  r < 0 ? "no fault" : "vector ", r);
}

static void expect_ok_wr(uint32_t msr, uint64_t val, const char *what)
{
	int r = wrmsr_safe(msr, val);

	if (r >= 0)
		test_fail("wrmsr 0x%x = 0x%llx (%s): vector %d", msr, (unsigned long long)val, what,
			  r);
}

static bool self_ipi_works(void)
{
	uint32_t n = irq_count[0][V_SELF];

	if (apic_x2())
		wrmsr(0x83F, V_SELF);
	else
		apic_icr(ICR_SELF | ICR_ASSERT | V_SELF, 0);
	SPIN_UNTIL(irq_count[0][V_SELF] == n + 1, 100);
	spin_us(200);
	return irq_count[0][V_SELF] == n + 1;
}

static uint32_t x2apic_id_cpuid(void)
{
	uint32_t a, b, c, d;

	cpuid(0, 0, &a, &b, &c, &d);
	if (a < 0xB)
		return ~0u;
	cpuid(0xB, 0, &a, &b, &c, &d);
	return d;
}

int main(void)
{
	uint32_t ver, id;
	bool x2;
	uint64_t v;

	sti();
	base0 = rdmsr(MSR_APIC_BASE);
	ver = apic_read(APIC_VER);
	id = apic_id();

	test_begin("apic_base_at_boot");
	x2 = x2apic_expected();
	EXPECT_EQ(base0 & ~0xFFFULL, APIC_MMIO);
	EXPECT_EQ(base0 & (APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP),
		  APIC_BASE_EN | APIC_BASE_BSP);
	EXPECT(self_ipi_works(), "self-IPI not delivered");
	test_end();

	if (quirk("tcg")) {
		/* QEMU 7.2 TCG: no #GP for x2APIC MSRs or IA32_APIC_BASE misuse, the
		 * disabled APIC page still answers, and a disabled APIC can never
		 * be enabled again. */
		static const char *const names[] = { "x2apic_msrs_gp_in_xapic_mode",
						     "apic_base_reserved_bits_gp",
						     "apic_disable_reads_ones",
						     "apic_disabled_invalid_transitions_gp",
						     "apic_reenable" };

		for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			test_begin(names[i]);
			test_skip("quirk tcg: not modelled");
			test_end();
		}
		return 0;
	}

	test_begin("x2apic_msrs_gp_in_xapic_mode");
	expect_gp_rd(0x802, "ID");
	expect_gp_rd(0x803, "version");
	expect_gp_rd(0x808, "TPR");
	expect_gp_wr(0x808, 0, "TPR");
	expect_gp_wr(0x80B, 0, "EOI");
	expect_gp_wr(0x830, ICR_SELF | V_SELF, "ICR");
	expect_gp_wr(0x83F, V_SELF, "SELF IPI");
	EXPECT_EQ(irq_count[0][V_SELF], 1);
	test_end();

	test_begin("apic_base_reserved_bits_gp");
	expect_gp_wr(MSR_APIC_BASE, base0 | (1u << 9), "bit 9");
	expect_gp_wr(MSR_APIC_BASE, base0 | 1, "bit 0");
	if (!x2)
		expect_gp_wr(MSR_APIC_BASE, base0 | APIC_BASE_EXTD, "EXTD without x2APIC");
	EXPECT_EQ(rdmsr(MSR_APIC_BASE), base0);
	test_end();

	test_begin("apic_disable_reads_ones");
	cli();
	wrmsr(MSR_APIC_BASE, base0 & ~(uint64_t)APIC_BASE_EN);
	EXPECT_EQ(rdmsr(MSR_APIC_BASE) & (APIC_BASE_EN | APIC_BASE_EXTD), 0);
	EXPECT_EQ(mmio_read32(APIC_MMIO + APIC_ID), 0xFFFFFFFF);
	EXPECT_EQ(mmio_read32(APIC_MMIO + APIC_VER), 0xFFFFFFFF);
	EXPECT_EQ(mmio_read32(APIC_MMIO + APIC_SVR), 0xFFFFFFFF);
	expect_gp_rd(0x802, "ID while disabled");
	test_end();

	test_begin("apic_disabled_invalid_transitions_gp");
	expect_gp_wr(MSR_APIC_BASE, (base0 & ~(uint64_t)APIC_BASE_EN) | APIC_BASE_EXTD,
		     "EXTD without EN");
	if (x2)
		expect_gp_wr(MSR_APIC_BASE, base0 | APIC_BASE_EXTD, "disabled -> x2APIC");
	EXPECT_EQ(rdmsr(MSR_APIC_BASE) & (APIC_BASE_EN | APIC_BASE_EXTD), 0);
	test_end();

	test_begin("apic_reenable");
	wrmsr(MSR_APIC_BASE, base0);
	EXPECT_EQ(rdmsr(MSR_APIC_BASE), base0);
	EXPECT_EQ(apic_id(), id);
	EXPECT_EQ(apic_read(APIC_VER), ver);
	apic_setup(); /* the SDM lets a re-enabled APIC lose its state */
	sti();
	EXPECT(self_ipi_works(), "self-IPI not delivered after re-enable");
	test_end();

	if (!x2) {
		/* IA32_APIC_BASE bit 10 is reserved without x2APIC support
		 * (SDM "Local APIC Status and Location"): #GP from xAPIC mode
		 * and from the disabled state, with or without EN; the MSRs
		 * 0x800-0x8FF do not exist. */
		test_begin("x2apic_absent");
		expect_gp_wr(MSR_APIC_BASE, base0 | APIC_BASE_EXTD, "xAPIC -> EXTD");
		expect_gp_wr(MSR_APIC_BASE, (base0 & ~(uint64_t)APIC_BASE_EN) | APIC_BASE_EXTD,
			     "xAPIC -> EN=0 EXTD=1");
		EXPECT_EQ(rdmsr(MSR_APIC_BASE), base0);
		cli();
		wrmsr(MSR_APIC_BASE, base0 & ~(uint64_t)APIC_BASE_EN);
		expect_gp_wr(MSR_APIC_BASE, base0 | APIC_BASE_EXTD, "disabled -> EN=1 EXTD=1");
		expect_gp_wr(MSR_APIC_BASE, (base0 & ~(uint64_t)APIC_BASE_EN) | APIC_BASE_EXTD,
			     "disabled -> EN=0 EXTD=1");
		EXPECT_EQ(rdmsr(MSR_APIC_BASE), base0 & ~(uint64_t)APIC_BASE_EN);
		wrmsr(MSR_APIC_BASE, base0);
		apic_setup();
		sti();
		EXPECT_EQ(rdmsr(MSR_APIC_BASE), base0);
		expect_gp_rd(0x802, "ID");
		expect_gp_rd(0x80D, "LDR");
		expect_gp_rd(0x80F, "SVR");
		expect_gp_rd(0x830, "ICR");
		expect_gp_wr(0x830, ICR_SELF | ICR_ASSERT | V_SELF, "ICR");
		expect_gp_wr(0x83F, V_SELF, "SELF IPI");
		EXPECT_EQ(apic_id(), id);
		EXPECT_EQ(apic_read(APIC_VER), ver);
		EXPECT(self_ipi_works(), "xAPIC self-IPI not delivered after the refused writes");
		test_end();
		return 0;
	}

	test_begin("xapic_extd_without_en_gp");
	expect_gp_wr(MSR_APIC_BASE, (base0 & ~(uint64_t)APIC_BASE_EN) | APIC_BASE_EXTD,
		     "xAPIC -> EN=0 EXTD=1");
	EXPECT_EQ(rdmsr(MSR_APIC_BASE), base0);
	test_end();

	test_begin("xapic_to_x2apic");
	EXPECT(apic_to_x2apic(), "#GP setting EXTD with EN");
	EXPECT_EQ(rdmsr(MSR_APIC_BASE), base0 | APIC_BASE_EXTD);
	if (apic_x2()) {
		uint32_t xid = (uint32_t)rdmsr(0x802);

		EXPECT_EQ(xid, x2apic_id_cpuid());
		EXPECT_EQ(xid, id);
		EXPECT_EQ(rdmsr(0x80D), ((xid >> 4) << 16) | (1u << (xid & 15)));
		EXPECT_EQ(rdmsr(0x803), ver);
		EXPECT(self_ipi_works(), "SELF IPI MSR not delivered");
	}
	test_end();
	if (!apic_x2())
		return 0;

	test_begin("x2apic_msr_gp");
	expect_gp_wr(0x802, id, "ID is read-only");
	expect_gp_wr(0x803, ver, "version is read-only");
	expect_gp_rd(0x80B, "EOI is write-only");
	expect_gp_rd(0x83F, "SELF IPI is write-only");
	expect_gp_rd(0x809, "no APR in x2APIC mode");
	expect_gp_wr(0x809, 0, "no APR in x2APIC mode");
	expect_gp_rd(0x80E, "no DFR in x2APIC mode");
	expect_gp_wr(0x80D, 0, "LDR is read-only");
	expect_gp_rd(0x831, "no ICR high in x2APIC mode");
	expect_gp_wr(0x831, 0, "no ICR high in x2APIC mode");
	expect_gp_wr(0x80A, 0, "PPR is read-only");
	expect_gp_wr(0x839, 0, "TMCCT is read-only");
	if (!quirk("x2apic-eoi-nonzero"))
		expect_gp_wr(0x80B, 1, "non-zero EOI");
	EXPECT(rdmsr_safe(0x808, &v) < 0, "TPR read faulted");
	EXPECT(rdmsr_safe(0x80F, &v) < 0, "SVR read faulted");
	EXPECT(rdmsr_safe(0x830, &v) < 0, "ICR read faulted");
	EXPECT(rdmsr_safe(0x839, &v) < 0, "TMCCT read faulted");
	EXPECT_EQ(rdmsr(0x802), id); /* unchanged */
	test_end();

	test_begin("x2apic_icr_64bit");
	{
		uint32_t n = irq_count[0][V_SELF];

		expect_ok_wr(0x830, ((uint64_t)id << 32) | ICR_ASSERT | V_SELF,
			     "ICR physical self");
		SPIN_UNTIL(irq_count[0][V_SELF] == n + 1, 100);
		spin_us(200);
		EXPECT_EQ(irq_count[0][V_SELF], n + 1);
		/* No destination there: nobody gets it. */
		expect_ok_wr(0x830, ((uint64_t)(id + 0x100) << 32) | ICR_ASSERT | V_SELF,
			     "ICR to a missing ID");
		spin_us(500);
		EXPECT_EQ(irq_count[0][V_SELF], n + 1);
	}
	test_end();

	test_begin("x2apic_invalid_transitions_gp");
	cli();
	expect_gp_wr(MSR_APIC_BASE, base0, "x2APIC -> xAPIC");
	expect_gp_wr(MSR_APIC_BASE, (base0 & ~(uint64_t)APIC_BASE_EN) | APIC_BASE_EXTD,
		     "x2APIC -> EN=0 EXTD=1");
	EXPECT_EQ(rdmsr(MSR_APIC_BASE), base0 | APIC_BASE_EXTD);
	EXPECT_EQ(rdmsr(0x802), id); /* still x2APIC */
	test_end();

	test_begin("x2apic_disable_then_xapic");
	wrmsr(MSR_APIC_BASE, base0 & ~(uint64_t)(APIC_BASE_EN | APIC_BASE_EXTD));
	apic_set_x2_flag(false);
	expect_gp_rd(0x802, "ID while disabled");
	EXPECT_EQ(mmio_read32(APIC_MMIO + APIC_VER), 0xFFFFFFFF);
	wrmsr(MSR_APIC_BASE, base0);
	EXPECT_EQ(rdmsr(MSR_APIC_BASE), base0);
	EXPECT_EQ(apic_id(), id);
	apic_setup();
	sti();
	EXPECT(self_ipi_works(), "self-IPI not delivered back in xAPIC mode");
	test_end();
	return 0;
}
