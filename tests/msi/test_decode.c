/* SPDX-License-Identifier: MIT */
/*
 * Compatibility-format MSI decode and encode (SDM 10.11.1 "Message
 * Address Register Format" to 10.11.2 "Message Data Register Format";
 * the extended destination ID of the KVM/Xen/Hyper-V convention): every
 * field combination, the window, the remappable-format hand-off, the
 * extended destination flags and the encode/decode round trip.
 *
 * The expected values are computed here from the SDM's layouts, field
 * by field, not by calling the library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <virq/msi.h>

#define FEE 0xFEE00000ULL

static const unsigned all_flags[4] = { 0, VIRQ_MSI_EXT_DEST, VIRQ_MSI_ADDR_HI_DEST,
				       VIRQ_MSI_EXT_DEST | VIRQ_MSI_ADDR_HI_DEST };

static void fill(struct virq_apic_msg *m)
{
	memset(m, 0xA5, sizeof(*m));
}

static void assert_msg(const struct virq_apic_msg *m, uint32_t dest, uint8_t vector,
		       uint8_t delivery, bool logical, bool trig, bool level, bool x2apic)
{
	assert_int_equal(m->dest, dest);
	assert_int_equal(m->src, VIRQ_MSG_SRC_NONE);
	assert_int_equal(m->vector, vector);
	assert_int_equal(m->delivery, delivery);
	assert_int_equal(m->shorthand, VIRQ_SH_NONE);
	assert_int_equal(m->logical, logical);
	assert_int_equal(m->trigger_level, trig);
	assert_int_equal(m->level, level);
	assert_int_equal(m->x2apic, x2apic);
	assert_int_equal(m->reserved0, 0);
}

/* Linux's usual single-vector MSI: physical APIC 1, vector 0x41, fixed, edge. */
static void test_decode_linux_typical(void **state)
{
	struct virq_apic_msg m;

	(void)state;
	fill(&m);
	assert_int_equal(virq_msi_decode(0xFEE01000ULL, 0x0041, 0, &m), 0);
	assert_msg(&m, 1, 0x41, VIRQ_DM_FIXED, false, false, true, false);
	/* Old Linux: logical, RH=1, lowest priority, bit 14 set. */
	fill(&m);
	assert_int_equal(virq_msi_decode(0xFEE0F00CULL, 0x4131, 0, &m), 0);
	assert_msg(&m, 0x0F, 0x31, VIRQ_DM_LOWEST, true, false, true, false);
}

/*
 * Every combination of dest (bits 19:12), ext dest (11:5), address_hi
 * dest (63:40), DM, RH, delivery mode, trigger, level, vector, the
 * ignored bits (address 1:0, data 13:11 and 31:16) and the four flag sets.
 */
static void test_decode_all_fields(void **state)
{
	static const uint32_t dests[] = { 0x00, 0x01, 0x55, 0xAA, 0xFE, 0xFF };
	static const uint32_t exts[] = { 0x00, 0x01, 0x2A, 0x7F };
	static const uint32_t his[] = { 0x000000, 0x000001, 0x123456, 0xFFFFFF };
	static const uint32_t vectors[] = { 0x00, 0x0F, 0x10, 0x31, 0x80, 0xFE, 0xFF };
	unsigned long checked = 0;

	(void)state;
	for (unsigned f = 0; f < 4; f++) {
		unsigned flags = all_flags[f];
		bool ext = flags & VIRQ_MSI_EXT_DEST, hiflag = flags & VIRQ_MSI_ADDR_HI_DEST;

		for (unsigned di = 0; di < 6; di++)
			for (unsigned ei = 0; ei < 4; ei++)
				for (unsigned hi = 0; hi < 4; hi++)
					for (unsigned dm = 0; dm < 2; dm++)
						for (unsigned rh = 0; rh < 2; rh++)
							for (unsigned dlm = 0; dlm < 8; dlm++)
								for (unsigned trig = 0; trig < 2;
								     trig++)
									for (unsigned lvl = 0;
									     lvl < 2; lvl++)
										for (unsigned vi =
											     0;
										     vi < 7; vi++)
											for (unsigned junk =
												     0;
											     junk <
											     4;
											     junk++) {
												uint64_t addr =
													FEE |
													(uint64_t)dests[di]
														<< 12 |
													(uint64_t)exts[ei]
														<< 5 |
													(uint64_t)his[hi]
														<< 40 |
													(uint64_t)dm
														<< 2 |
													(uint64_t)rh
														<< 3 |
													((junk &
													  1)
														 ? 3U
														 : 0U);
												uint32_t data =
													vectors[vi] |
													dlm << 8 |
													lvl << 14 |
													trig << 15 |
													((junk &
													  2)
														 ? 0xABCD3800U
														 : 0U);
												struct virq_apic_msg
													m;
												uint32_t edest;
												uint8_t edlm;
												int rc;

												fill(&m);
												rc = virq_msi_decode(
													addr,
													data,
													flags,
													&m);
												if (his[hi] &&
												    !hiflag) {
													/* bits 63:32 set without the flag: not an interrupt */
													assert_int_equal(
														rc,
														-VIRQ_ENOENT);
													continue;
												}
												assert_int_equal(
													rc,
													0);
												edest = dests
													[di];
												if (ext)
													edest |=
														exts[ei]
														<< 8;
												if (hiflag)
													edest |=
														his[hi]
														<< 8;
												edlm = (uint8_t)
													dlm;
												if (rh &&
												    dlm == 0)
													edlm = VIRQ_DM_LOWEST;
												if (m.dest !=
													    edest ||
												    m.vector !=
													    vectors[vi] ||
												    m.delivery !=
													    edlm ||
												    m.logical !=
													    (dm ==
													     1) ||
												    m.trigger_level !=
													    (trig ==
													     1) ||
												    m.level !=
													    (trig ? lvl == 1
														  : true) ||
												    m.x2apic !=
													    (flags !=
													     0) ||
												    m.src !=
													    VIRQ_MSG_SRC_NONE ||
												    m.shorthand !=
													    VIRQ_SH_NONE ||
												    m.reserved0 !=
													    0) {
													print_error(
														"addr %#llx data %#x flags %u: dest %#x/%#x vec %#x "
														"dlm %u/%u\n",
														(unsigned long long)
															addr,
														data,
														flags,
														m.dest,
														edest,
														m.vector,
														m.delivery,
														edlm);
													fail();
												}
												checked++;
											}
	}
	assert_true(checked > 500000);
}

/* Each 1 MiB region of the 4 GiB space: only 0xFEE is the interrupt window. */
static void test_decode_window(void **state)
{
	struct virq_apic_msg m;

	(void)state;
	for (uint64_t region = 0; region < 0x1000; region++) {
		uint64_t addr = region << 20 | 0x1000;

		for (unsigned f = 0; f < 4; f++) {
			int rc = virq_msi_decode(addr, 0x30, all_flags[f], &m);

			assert_int_equal(rc, region == 0xFEE ? 0 : -VIRQ_ENOENT);
		}
	}
	/* Ends of the window. */
	assert_int_equal(virq_msi_decode(0xFEE00000ULL, 0x30, 0, &m), 0);
	assert_int_equal(virq_msi_decode(0xFEEFFFE3ULL, 0x30, 0, &m), 0); /* bit 4 clear */
	assert_int_equal(virq_msi_decode(0xFEDFFFFFULL, 0x30, 0, &m), -VIRQ_ENOENT);
	assert_int_equal(virq_msi_decode(0xFEF00000ULL, 0x30, 0, &m), -VIRQ_ENOENT);
	/* Above 4 GiB: without the flag every high bit makes it a memory write. */
	for (unsigned b = 32; b < 64; b++) {
		uint64_t addr = FEE | 1ULL << b;

		assert_int_equal(virq_msi_decode(addr, 0x30, 0, &m), -VIRQ_ENOENT);
		assert_int_equal(virq_msi_decode(addr, 0x30, VIRQ_MSI_EXT_DEST, &m), -VIRQ_ENOENT);
		/* With it, address_hi[7:0] must be zero (KVM kvm_msi_route_invalid). */
		fill(&m);
		assert_int_equal(virq_msi_decode(addr, 0x30, VIRQ_MSI_ADDR_HI_DEST, &m),
				 b < 40 ? -VIRQ_ENOENT : 0);
		if (b >= 40)
			assert_int_equal(m.dest, 1U << (b - 32));
	}
	/* 0xFEE window in address_hi itself is not the window. */
	assert_int_equal(virq_msi_decode(0xFEE0000000000000ULL, 0x30, VIRQ_MSI_ADDR_HI_DEST, &m),
			 -VIRQ_ENOENT);
}

/* Bit 4 = remappable format: handed to virq_ir_translate, out untouched. */
static void test_decode_remappable(void **state)
{
	struct virq_apic_msg m, before;

	(void)state;
	for (unsigned f = 0; f < 4; f++) {
		fill(&m);
		before = m;
		assert_int_equal(virq_msi_decode(FEE | 0x10, 0, all_flags[f], &m),
				 VIRQ_MSI_REMAPPABLE);
		assert_memory_equal(&m, &before, sizeof(m));
		assert_int_equal(virq_msi_decode(0xFEEFFFFFULL, 0xFFFFFFFFU, all_flags[f], &m),
				 VIRQ_MSI_REMAPPABLE);
		assert_memory_equal(&m, &before, sizeof(m));
	}
	/* The window is checked first. */
	assert_int_equal(virq_msi_decode(0xFED00010ULL, 0, 0, &m), -VIRQ_ENOENT);
	assert_int_equal(virq_msi_decode(0x1FEE00010ULL, 0, 0, &m), -VIRQ_ENOENT);
	assert_int_equal(virq_msi_decode(0x100FEE00010ULL, 0, VIRQ_MSI_ADDR_HI_DEST, &m),
			 VIRQ_MSI_REMAPPABLE);
}

static void test_decode_bad_args(void **state)
{
	struct virq_apic_msg m, before;

	(void)state;
	assert_int_equal(virq_msi_decode(FEE, 0x30, 0, NULL), -VIRQ_EINVAL);
	fill(&m);
	before = m;
	assert_int_equal(virq_msi_decode(FEE, 0x30, 1U << 2, &m), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_decode(FEE, 0x30, 0x80000000U, &m), -VIRQ_EINVAL);
	assert_memory_equal(&m, &before, sizeof(m));
	/* Outside the window, out is untouched too. */
	assert_int_equal(virq_msi_decode(0, 0x30, 0, &m), -VIRQ_ENOENT);
	assert_memory_equal(&m, &before, sizeof(m));
}

/* RH and DM per SDM 10.11.1 "Message Address Register Format" as KVM reads
 * them (DM honoured with RH = 0). */
static void test_decode_rh_dm(void **state)
{
	struct virq_apic_msg m;

	(void)state;
	/* RH=0 DM=1: still logical (the SDM's "DM ignored" is not followed). */
	assert_int_equal(virq_msi_decode(FEE | 0x03000 | 0x4, 0x30, 0, &m), 0);
	assert_msg(&m, 0x03, 0x30, VIRQ_DM_FIXED, true, false, true, false);
	/* RH=1 DM=0 Fixed: lowest priority, physical. */
	assert_int_equal(virq_msi_decode(FEE | 0x05000 | 0x8, 0x30, 0, &m), 0);
	assert_msg(&m, 0x05, 0x30, VIRQ_DM_LOWEST, false, false, true, false);
	/* RH=1 DM=1 Fixed: lowest priority among the logical group. */
	assert_int_equal(virq_msi_decode(FEE | 0x05000 | 0xC, 0x30, 0, &m), 0);
	assert_msg(&m, 0x05, 0x30, VIRQ_DM_LOWEST, true, false, true, false);
	/* RH=1 with NMI/SMI/INIT/ExtINT: the mode stays. */
	assert_int_equal(virq_msi_decode(FEE | 0x05000 | 0xC, 0x0400, 0, &m), 0);
	assert_int_equal(m.delivery, VIRQ_DM_NMI);
	assert_int_equal(virq_msi_decode(FEE | 0x05000 | 0xC, 0x0200, 0, &m), 0);
	assert_int_equal(m.delivery, VIRQ_DM_SMI);
	assert_int_equal(virq_msi_decode(FEE | 0x05000 | 0xC, 0x0500, 0, &m), 0);
	assert_int_equal(m.delivery, VIRQ_DM_INIT);
	assert_int_equal(virq_msi_decode(FEE | 0x05000 | 0xC, 0x0700, 0, &m), 0);
	assert_int_equal(m.delivery, VIRQ_DM_EXTINT);
	/* Reserved modes 3 and 6 are passed through. */
	assert_int_equal(virq_msi_decode(FEE, 0x0330, 0, &m), 0);
	assert_int_equal(m.delivery, VIRQ_DM_RESERVED3);
	assert_int_equal(virq_msi_decode(FEE, 0x0630, 0, &m), 0);
	assert_int_equal(m.delivery, VIRQ_DM_STARTUP);
}

/* Data bit 14 only matters for level-triggered messages. */
static void test_decode_trigger_level(void **state)
{
	struct virq_apic_msg m;

	(void)state;
	assert_int_equal(virq_msi_decode(FEE, 0x0041, 0, &m), 0); /* edge, bit14 = 0 */
	assert_msg(&m, 0, 0x41, 0, false, false, true, false);
	assert_int_equal(virq_msi_decode(FEE, 0x4041, 0, &m), 0); /* edge, bit14 = 1 */
	assert_msg(&m, 0, 0x41, 0, false, false, true, false);
	assert_int_equal(virq_msi_decode(FEE, 0xC041, 0, &m), 0); /* level assert */
	assert_msg(&m, 0, 0x41, 0, false, true, true, false);
	/* Level de-assert decodes; routing drops it. */
	assert_int_equal(virq_msi_decode(FEE, 0x8041, 0, &m), 0);
	assert_msg(&m, 0, 0x41, 0, false, true, false, false);
	/* INIT level de-assert. */
	assert_int_equal(virq_msi_decode(FEE | 0xFF000, 0x8500, 0, &m), 0);
	assert_msg(&m, 0xFF, 0, VIRQ_DM_INIT, false, true, false, false);
}

/* Extended destination: bits 11:5 = dest 14:8; address_hi[31:8] = dest 31:8. */
static void test_decode_ext_dest(void **state)
{
	struct virq_apic_msg m;
	/* APIC ID 0x7FFF as Linux virt_destid_8_14 writes it. */
	uint64_t a = FEE | 0xFFULL << 12 | 0x7FULL << 5;

	(void)state;
	assert_int_equal(virq_msi_decode(a, 0x30, VIRQ_MSI_EXT_DEST, &m), 0);
	assert_msg(&m, 0x7FFF, 0x30, 0, false, false, true, true);
	/* Without the flag bits 11:5 are reserved and ignored. */
	assert_int_equal(virq_msi_decode(a, 0x30, 0, &m), 0);
	assert_msg(&m, 0xFF, 0x30, 0, false, false, true, false);
	/* APIC ID 0x100: bit 5 set. */
	assert_int_equal(virq_msi_decode(FEE | 0x20, 0x30, VIRQ_MSI_EXT_DEST, &m), 0);
	assert_int_equal(m.dest, 0x100);
	/* address_hi dest: x2APIC ID 0x12345678. */
	a = FEE | 0x78ULL << 12 | 0x123456ULL << 40;
	assert_int_equal(virq_msi_decode(a, 0x30, VIRQ_MSI_ADDR_HI_DEST, &m), 0);
	assert_msg(&m, 0x12345678, 0x30, 0, false, false, true, true);
	a = FEE | 0xFFULL << 12 | 0xFFFFFFULL << 40;
	assert_int_equal(virq_msi_decode(a, 0x30, VIRQ_MSI_ADDR_HI_DEST, &m), 0);
	assert_int_equal(m.dest, 0xFFFFFFFFU);
	/* Even a small destination is an x2APIC-format one under a flag. */
	assert_int_equal(virq_msi_decode(FEE | 0x01000, 0x30, VIRQ_MSI_ADDR_HI_DEST, &m), 0);
	assert_msg(&m, 1, 0x30, 0, false, false, true, true);
	/* Both flags: the two sources are ORed. */
	a = FEE | 0x01ULL << 12 | 0x01ULL << 5 | 0x000100ULL << 40;
	assert_int_equal(virq_msi_decode(a, 0x30, VIRQ_MSI_EXT_DEST | VIRQ_MSI_ADDR_HI_DEST, &m),
			 0);
	assert_int_equal(m.dest, 0x10101);
}

/*
 * An IOAPIC entry forwarded as an MSI (include/virq/ioapic.h
 * virq_ioapic_rte_to_msi): addr = 0xFEE00000 | rte[63:56] << 12 |
 * rte[55:48] << 4 | rte[11] << 2. Compatibility-format entries decode
 * with RTE bit 11 as DM and bits 55:49 as the extended destination.
 */
static void test_decode_ioapic_rte_address(void **state)
{
	struct virq_apic_msg m;
	uint64_t rte = 0x5AULL << 56 | 0x7FULL << 49 | 1ULL << 11 | 1ULL << 15 | 0x0100 | 0x61;
	uint64_t addr = FEE | (rte >> 56) << 12 | ((rte >> 48) & 0xFF) << 4 |
			((rte >> 11) & 1) << 2;
	uint32_t data = (uint32_t)(rte & 0x7FF) | 1U << 14 | (uint32_t)((rte >> 15) & 1) << 15;

	(void)state;
	assert_int_equal(addr, 0xFEE5AFE4ULL);
	assert_int_equal(virq_msi_decode(addr, data, 0, &m), 0);
	assert_msg(&m, 0x5A, 0x61, VIRQ_DM_LOWEST, true, true, true, false);
	assert_int_equal(virq_msi_decode(addr, data, VIRQ_MSI_EXT_DEST, &m), 0);
	assert_int_equal(m.dest, 0x7F5A);
	/* RTE bit 48 set: the remappable format goes to the IOMMU. */
	rte |= 1ULL << 48;
	addr = FEE | (rte >> 56) << 12 | ((rte >> 48) & 0xFF) << 4 | ((rte >> 11) & 1) << 2;
	assert_int_equal(virq_msi_decode(addr, data, 0, &m), VIRQ_MSI_REMAPPABLE);
}

static void test_encode_values(void **state)
{
	struct virq_apic_msg m;
	uint64_t a;
	uint32_t d;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.dest = 1;
	m.vector = 0x41;
	m.level = true;
	m.src = VIRQ_MSG_SRC_NONE;
	assert_int_equal(virq_msi_encode(&m, 0, &a, &d), 0);
	assert_int_equal(a, 0xFEE01000ULL);
	assert_int_equal(d, 0x4041);
	/* Lowest priority, logical, level: RH=1, DLM=1. */
	m.dest = 0x0F;
	m.logical = true;
	m.delivery = VIRQ_DM_LOWEST;
	m.trigger_level = true;
	assert_int_equal(virq_msi_encode(&m, 0, &a, &d), 0);
	assert_int_equal(a, 0xFEE0F00CULL);
	assert_int_equal(d, 0xC141);
	/* Level de-assert. */
	m.level = false;
	assert_int_equal(virq_msi_encode(&m, 0, &a, &d), 0);
	assert_int_equal(d, 0x8141);
	/* Destination widths. */
	m.level = true;
	m.trigger_level = false;
	m.logical = false;
	m.delivery = VIRQ_DM_FIXED;
	m.dest = 0x100;
	assert_int_equal(virq_msi_encode(&m, 0, &a, &d), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_encode(&m, VIRQ_MSI_EXT_DEST, &a, &d), 0);
	assert_int_equal(a, 0xFEE00020ULL);
	m.dest = 0x7FFF;
	assert_int_equal(virq_msi_encode(&m, VIRQ_MSI_EXT_DEST, &a, &d), 0);
	assert_int_equal(a, 0xFEEFFFE0ULL);
	m.dest = 0x8000;
	assert_int_equal(virq_msi_encode(&m, VIRQ_MSI_EXT_DEST, &a, &d), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_encode(&m, VIRQ_MSI_ADDR_HI_DEST, &a, &d), 0);
	assert_int_equal(a, 0x0000800000000000ULL | 0xFEE00000ULL);
	m.dest = 0xFFFFFFFFU;
	assert_int_equal(virq_msi_encode(&m, VIRQ_MSI_ADDR_HI_DEST, &a, &d), 0);
	assert_int_equal(a, 0xFFFFFF00FEEFF000ULL);
	/* Both flags: bits 11:5 when it fits, address_hi beyond. */
	m.dest = 0x1234;
	assert_int_equal(virq_msi_encode(&m, VIRQ_MSI_EXT_DEST | VIRQ_MSI_ADDR_HI_DEST, &a, &d), 0);
	assert_int_equal(a, 0xFEE34000ULL | 0x12ULL << 5);
	m.dest = 0x12345;
	assert_int_equal(virq_msi_encode(&m, VIRQ_MSI_EXT_DEST | VIRQ_MSI_ADDR_HI_DEST, &a, &d), 0);
	assert_int_equal(a, 0xFEE45000ULL | 0x123ULL << 40);
}

static void test_encode_bad_args(void **state)
{
	struct virq_apic_msg m;
	uint64_t a = 7;
	uint32_t d = 7;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(virq_msi_encode(NULL, 0, &a, &d), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_encode(&m, 0, NULL, &d), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_encode(&m, 0, &a, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_encode(&m, 4, &a, &d), -VIRQ_EINVAL);
	m.shorthand = VIRQ_SH_SELF;
	assert_int_equal(virq_msi_encode(&m, 0, &a, &d), -VIRQ_EINVAL);
	m.shorthand = VIRQ_SH_NONE;
	m.delivery = 8;
	assert_int_equal(virq_msi_encode(&m, 0, &a, &d), -VIRQ_EINVAL);
	/* Nothing written on error. */
	assert_int_equal(a, 7);
	assert_int_equal(d, 7);
}

static uint64_t lcg_state = 0x9E3779B97F4A7C15ULL;

static uint64_t lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return lcg_state ^ (lcg_state >> 29);
}

/* decode -> encode -> decode gives the same message, for every flag set. */
static void test_round_trip(void **state)
{
	unsigned ok = 0;

	(void)state;
	for (unsigned i = 0; i < 400000; i++) {
		uint64_t addr = FEE | (lcg() & 0xFFFEFULL); /* bit 4 clear */
		uint32_t data = (uint32_t)lcg();
		unsigned flags = all_flags[i & 3];
		struct virq_apic_msg m1, m2;
		uint64_t a2;
		uint32_t d2;

		if (flags & VIRQ_MSI_ADDR_HI_DEST)
			addr |= (lcg() & 0xFFFFFFULL) << 40;
		assert_int_equal(virq_msi_decode(addr, data, flags, &m1), 0);
		assert_int_equal(virq_msi_encode(&m1, flags, &a2, &d2), 0);
		assert_int_equal(virq_msi_decode(a2, d2, flags, &m2), 0);
		assert_memory_equal(&m1, &m2, sizeof(m1));
		/* The encoding is canonical: encoding again is identical. */
		{
			uint64_t a3;
			uint32_t d3;

			assert_int_equal(virq_msi_encode(&m2, flags, &a3, &d3), 0);
			assert_int_equal(a3, a2);
			assert_int_equal(d3, d2);
		}
		ok++;
	}
	assert_int_equal(ok, 400000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_linux_typical),
		cmocka_unit_test(test_decode_all_fields),
		cmocka_unit_test(test_decode_window),
		cmocka_unit_test(test_decode_remappable),
		cmocka_unit_test(test_decode_bad_args),
		cmocka_unit_test(test_decode_rh_dm),
		cmocka_unit_test(test_decode_trigger_level),
		cmocka_unit_test(test_decode_ext_dest),
		cmocka_unit_test(test_decode_ioapic_rte_address),
		cmocka_unit_test(test_encode_values),
		cmocka_unit_test(test_encode_bad_args),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
