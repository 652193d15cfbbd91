/* SPDX-License-Identifier: MIT */
/*
 * ICR and SELF IPI: the message handed to send_ipi for every delivery mode
 * and shorthand, Table 10-3 "Valid Combinations for the Pentium 4 and
 * Intel Xeon Processors' Local xAPIC Interrupt Command Register" validity,
 * illegal vectors, register masks; and the destination matcher (physical,
 * logical flat/cluster, x2APIC cluster, broadcast, disabled APICs).
 * Written from SDM 10.5.3 "Error Handling", 10.6.1 "Interrupt Command
 * Register (ICR)", 10.6.2 "Determining IPI Destination" and 10.12.9 "ICR
 * Operation in x2APIC Mode" to 10.12.11 "SELF IPI Register" (and the peer
 * bugs the tests cite).
 */
#include "harness.h"

#define XAPIC_ID 3U
#define X2APIC_ID 0x12345U

/* ---- helpers ---- */

static void setup(struct lapic_fixture *fx, bool x2)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.apic_id = x2 ? X2APIC_ID : XAPIC_ID;
	fixture_init(fx, &cfg);
	if (x2)
		fixture_x2apic_enable(fx);
	else
		fixture_sw_enable(fx);
}

static void setup_id(struct lapic_fixture *fx, uint32_t id, bool x2)
{
	struct virq_lapic_config cfg = fixture_default_config();

	cfg.apic_id = id;
	fixture_init(fx, &cfg);
	if (x2)
		fixture_x2apic_enable(fx);
	else
		fixture_sw_enable(fx);
}

static bool is_x2(struct lapic_fixture *fx)
{
	return virq_lapic_get_mode(&fx->apic) == VIRQ_LAPIC_MODE_X2APIC;
}

/* xAPIC: ICR high, then ICR low (which sends). x2APIC: one WRMSR 0x830. */
static void send_icr(struct lapic_fixture *fx, uint32_t lo, uint32_t dest)
{
	if (is_x2(fx)) {
		assert_int_equal(msr_w(fx, 0x830, ((uint64_t)dest << 32) | lo), 0);
	} else {
		mmio_w(fx, VIRQ_LAPIC_REG_ICR_HI, dest << 24);
		mmio_w(fx, VIRQ_LAPIC_REG_ICR_LO, lo);
	}
}

static uint32_t icr_lo(uint8_t vec, unsigned dm, unsigned sh, bool logical)
{
	return vec | (dm << 8) | (logical ? (1U << 11) : 0U) | (1U << 14) | (sh << 18);
}

/* Publishes and reads ESR (write-then-read), in either mode. */
static uint32_t esr_publish(struct lapic_fixture *fx)
{
	uint64_t v = 0;

	if (is_x2(fx)) {
		assert_int_equal(msr_w(fx, 0x828, 0), 0);
		assert_int_equal(msr_r(fx, 0x828, &v), 0);
		return (uint32_t)v;
	}
	mmio_w(fx, VIRQ_LAPIC_REG_ESR, 0);
	return mmio_r(fx, VIRQ_LAPIC_REG_ESR);
}

static bool irr_empty(struct lapic_fixture *fx)
{
	for (unsigned i = 0; i < 8; i++)
		if (fx->page[(VIRQ_LAPIC_REG_IRR >> 2) + 4 * i])
			return false;
	return true;
}

static bool irr_only(struct lapic_fixture *fx, uint8_t v)
{
	for (unsigned i = 0; i < 8; i++) {
		uint32_t want = (v >> 5) == i ? (1U << (v & 31U)) : 0U;

		if (fx->page[(VIRQ_LAPIC_REG_IRR >> 2) + 4 * i] != want)
			return false;
	}
	return true;
}

static void expect_msg(const struct virq_apic_msg *m, uint32_t dest, uint32_t src, uint8_t vec,
		       unsigned dm, unsigned sh, bool logical, bool x2)
{
	assert_int_equal(m->dest, dest);
	assert_int_equal(m->src, src);
	assert_int_equal(m->vector, vec);
	assert_int_equal(m->delivery, dm);
	assert_int_equal(m->shorthand, sh);
	assert_int_equal(m->logical, logical);
	assert_true(m->level);
	assert_false(m->trigger_level);
	assert_int_equal(m->x2apic, x2);
	assert_int_equal(m->reserved0, 0);
}

/* SDM Table 10-3 "Valid Combinations for the Pentium 4 and Intel Xeon
 * Processors' Local xAPIC Interrupt Command Register" (P4/Xeon and
 * later). */
static bool table_10_3_valid(unsigned dm, unsigned sh)
{
	switch (sh) {
	case VIRQ_SH_NONE:
	case VIRQ_SH_ALL_EXCL_SELF:
		return dm == VIRQ_DM_FIXED || dm == VIRQ_DM_LOWEST || dm == VIRQ_DM_SMI ||
		       dm == VIRQ_DM_NMI || dm == VIRQ_DM_INIT || dm == VIRQ_DM_STARTUP;
	default: /* self, all including self */
		return dm == VIRQ_DM_FIXED;
	}
}

/* ---- SDM 10.6.1 "Interrupt Command Register (ICR)", Table 10-3 "Valid
 * Combinations for the Pentium 4 and Intel Xeon Processors' Local xAPIC
 * Interrupt Command Register": every delivery mode x every shorthand ---- */

/*
 * The message handed to send_ipi, or the local delivery, or the refusal,
 * for every delivery mode, shorthand and destination mode, in xAPIC and
 * x2APIC mode. With a shorthand the destination field and mode are ignored
 * (SDM 10.6.1 "Interrupt Command Register (ICR)"); the library then
 * reports the broadcast destination of the mode, physical.
 */
static void test_icr_mode_x_shorthand_matrix(void **state)
{
	(void)state;
	for (unsigned x2 = 0; x2 < 2; x2++) {
		for (unsigned dm = 0; dm < 8; dm++) {
			for (unsigned sh = 0; sh < 4; sh++) {
				for (unsigned lg = 0; lg < 2; lg++) {
					struct lapic_fixture fx;
					uint32_t dest = x2 ? 0x00050003U : 0x0CU;
					uint32_t bcast = x2 ? 0xFFFFFFFFU : 0xFFU;

					setup(&fx, x2);
					send_icr(&fx, icr_lo(0x40, dm, sh, lg), dest);

					if (x2 && dm == VIRQ_DM_LOWEST) {
						/* Reserved in x2APIC: "redirectable IPI". */
						assert_int_equal(fx.f.n_ipis, 0);
						assert_int_equal(
							fx.f.gerr[VIRQ_GERR_REDIRECTABLE_IPI], 1);
						assert_int_equal(fx.f.n_gerr, 1);
						assert_int_equal(esr_publish(&fx),
								 VIRQ_LAPIC_ESR_REDIR_IPI);
						assert_true(irr_empty(&fx));
					} else if (!table_10_3_valid(dm, sh)) {
						assert_int_equal(fx.f.n_ipis, 0);
						assert_int_equal(fx.f.gerr[VIRQ_GERR_INVALID_ICR],
								 1);
						assert_int_equal(fx.f.n_gerr, 1);
						assert_int_equal(esr_publish(&fx), 0);
						assert_true(irr_empty(&fx));
					} else if (sh == VIRQ_SH_SELF) {
						assert_int_equal(fx.f.n_ipis, 0);
						assert_int_equal(fx.f.n_gerr, 0);
						assert_true(irr_only(&fx, 0x40));
						assert_int_equal(virq_lapic_ack(&fx.apic), 0x40);
					} else {
						assert_int_equal(fx.f.n_ipis, 1);
						assert_int_equal(fx.f.n_gerr, 0);
						expect_msg(&fx.f.ipis[0],
							   sh == VIRQ_SH_NONE ? dest : bcast,
							   x2 ? X2APIC_ID : XAPIC_ID, 0x40, dm, sh,
							   sh == VIRQ_SH_NONE && lg, x2);
						/* The router delivers to self too (incl-self):
						 * nothing is accepted locally here. */
						assert_true(irr_empty(&fx));
						assert_int_equal(esr_publish(&fx), 0);
					}
					assert_int_equal(fx.f.kicks, 0);
					assert_invariants(&fx);
				}
			}
		}
	}
}

/* Level-triggered IPIs are sent edge, asserted (SDM 10.6.1 "Interrupt Command Register (ICR)"). */
static void test_icr_trigger_and_level_bits_normalised(void **state)
{
	static const unsigned dms[] = { VIRQ_DM_FIXED, VIRQ_DM_LOWEST, VIRQ_DM_SMI,
					VIRQ_DM_NMI,   VIRQ_DM_INIT,   VIRQ_DM_STARTUP };

	(void)state;
	for (unsigned i = 0; i < sizeof(dms) / sizeof(dms[0]); i++) {
		for (unsigned bits = 0; bits < 4; bits++) {
			struct lapic_fixture fx;
			uint32_t lo = 0x52U | (dms[i] << 8) | ((bits & 1U) << 14) |
				      ((bits & 2U) << 14);
			bool deassert = dms[i] == VIRQ_DM_INIT && bits == 2; /* level 0, trig 1 */

			setup(&fx, false);
			send_icr(&fx, lo, 0x01);
			if (deassert) {
				assert_int_equal(fx.f.n_ipis, 0);
				continue;
			}
			assert_int_equal(fx.f.n_ipis, 1);
			expect_msg(&fx.f.ipis[0], 0x01, XAPIC_ID, 0x52, dms[i], VIRQ_SH_NONE, false,
				   false);
			assert_invariants(&fx);
		}
	}
}

/* INIT level de-assert is neither sent nor acted on (SDM 10.4.7.4 "Local APIC State
 * After It Receives an INIT-Deassert IPI"; as KVM, bhyve). */
static void test_icr_init_deassert_not_sent(void **state)
{
	(void)state;
	for (unsigned x2 = 0; x2 < 2; x2++) {
		for (unsigned sh = 0; sh < 4; sh++) {
			struct lapic_fixture fx;
			uint32_t lo = (VIRQ_DM_INIT << 8) | (1U << 15) | (sh << 18);

			setup(&fx, x2);
			send_icr(&fx, lo, 0x01);
			assert_int_equal(fx.f.n_ipis, 0);
			assert_true(irr_empty(&fx));
			assert_int_equal(esr_publish(&fx), 0);
			/* Self and all-incl are invalid for INIT anyway. */
			assert_int_equal(fx.f.gerr[VIRQ_GERR_INVALID_ICR],
					 table_10_3_valid(VIRQ_DM_INIT, sh) ? 0U : 1U);
			assert_invariants(&fx);
		}
	}
}

/* ---- SDM 10.5.2 "Valid Interrupt Vectors", 10.5.3 "Error Handling": illegal vectors ---- */

static void test_icr_illegal_vectors(void **state)
{
	static const uint8_t vecs[] = { 0, 1, 7, 15, 16 };

	(void)state;
	for (unsigned x2 = 0; x2 < 2; x2++) {
		for (unsigned dm = 0; dm < 8; dm++) {
			for (unsigned sh = 0; sh < 4; sh++) {
				for (unsigned i = 0; i < sizeof(vecs); i++) {
					struct lapic_fixture fx;
					uint8_t v = vecs[i];
					bool redir = x2 && dm == VIRQ_DM_LOWEST;
					bool valid = table_10_3_valid(dm, sh);
					bool needs_vec = dm == VIRQ_DM_FIXED ||
							 dm == VIRQ_DM_LOWEST;

					if (!redir && !valid)
						continue; /* covered by the matrix */
					setup(&fx, x2);
					send_icr(&fx, icr_lo(v, dm, sh, false), 0x02);
					if (redir) {
						/* Bit 4 wins over bit 5 (SDM 10.5.3
						 * "Error Handling"). */
						assert_int_equal(esr_publish(&fx),
								 VIRQ_LAPIC_ESR_REDIR_IPI);
						assert_int_equal(fx.f.n_ipis, 0);
					} else if (needs_vec && v < 16) {
						assert_int_equal(fx.f.n_ipis, 0);
						assert_true(irr_empty(&fx));
						assert_int_equal(
							fx.f.gerr[VIRQ_GERR_SEND_ILLEGAL_VECTOR],
							1);
						/* Bit 5; a self IPI may also report bit 6 on
						 * the receive side (SDM 10.5.3 "Error
						 * Handling" wording). */
						assert_int_equal(
							esr_publish(&fx) &
								~VIRQ_LAPIC_ESR_RECV_ILLEGAL,
							VIRQ_LAPIC_ESR_SEND_ILLEGAL);
					} else if (sh == VIRQ_SH_SELF) {
						assert_true(irr_only(&fx, v));
						assert_int_equal(esr_publish(&fx), 0);
					} else {
						/* SIPI: the vector is a page number; NMI,
						 * SMI, INIT ignore it. Sent as is. */
						assert_int_equal(fx.f.n_ipis, 1);
						assert_int_equal(fx.f.ipis[0].vector, v);
						assert_int_equal(fx.f.ipis[0].delivery, dm);
						assert_int_equal(esr_publish(&fx), 0);
						assert_int_equal(fx.f.n_gerr, 0);
					}
					if (!(needs_vec && v < 16) && !redir && sh != VIRQ_SH_SELF)
						assert_int_equal(fx.f.n_ipis, 1);
					assert_invariants(&fx);
				}
			}
		}
	}
}

/* SIPI with a page number below 16 is sent (SDM 10.6.1 "Interrupt Command
 * Register (ICR)": vector = start page). */
static void test_icr_sipi_low_vector_sent(void **state)
{
	(void)state;
	for (unsigned x2 = 0; x2 < 2; x2++) {
		for (unsigned v = 0; v < 16; v++) {
			struct lapic_fixture fx;

			setup(&fx, x2);
			send_icr(&fx, icr_lo((uint8_t)v, VIRQ_DM_STARTUP, VIRQ_SH_NONE, false),
				 0x09);
			assert_int_equal(fx.f.n_ipis, 1);
			expect_msg(&fx.f.ipis[0], 0x09, x2 ? X2APIC_ID : XAPIC_ID, (uint8_t)v,
				   VIRQ_DM_STARTUP, VIRQ_SH_NONE, false, x2);
			assert_int_equal(esr_publish(&fx), 0);
			assert_invariants(&fx);
		}
	}
}

/* ---- SDM 10.6.1 "Interrupt Command Register (ICR)": self IPIs ---- */

/* Self shorthand: accepted locally as edge Fixed; ICR high and mode ignored. */
static void test_icr_self_shorthand_local(void **state)
{
	(void)state;
	for (unsigned x2 = 0; x2 < 2; x2++) {
		struct lapic_fixture fx;

		setup(&fx, x2);
		/* Trigger bit set, logical, random destination: still local edge. */
		send_icr(&fx, icr_lo(0x61, VIRQ_DM_FIXED, VIRQ_SH_SELF, true) | (1U << 15), 0xEE);
		assert_int_equal(fx.f.n_ipis, 0);
		assert_true(irr_only(&fx, 0x61));
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x61));
		assert_int_equal(fx.f.kicks, 0);
		assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(fx.f.n_eois, 0);
		assert_invariants(&fx);
	}
}

/* x2APIC SELF IPI MSR 0x83F: local Fixed edge; write-only; bits 31:8 reserved. */
static void test_x2apic_self_ipi_msr(void **state)
{
	static const uint8_t vecs[] = { 0x10, 0x55, 0xFF };
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	for (unsigned i = 0; i < sizeof(vecs); i++) {
		setup(&fx, true);
		assert_int_equal(msr_w(&fx, 0x83F, vecs[i]), 0);
		assert_int_equal(fx.f.n_ipis, 0);
		assert_true(irr_only(&fx, vecs[i]));
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, vecs[i]));
		assert_int_equal(virq_lapic_ack(&fx.apic), vecs[i]);
		assert_int_equal(esr_publish(&fx), 0);
		assert_invariants(&fx);
	}

	setup(&fx, true);
	assert_int_equal(msr_w(&fx, 0x83F, 0x05), 0);
	assert_true(irr_empty(&fx));
	assert_int_equal(fx.f.gerr[VIRQ_GERR_SEND_ILLEGAL_VECTOR], 1);
	assert_int_equal(esr_publish(&fx) & ~VIRQ_LAPIC_ESR_RECV_ILLEGAL,
			 VIRQ_LAPIC_ESR_SEND_ILLEGAL);
	assert_int_equal(msr_w(&fx, 0x83F, 0x141), VIRQ_GP);
	assert_int_equal(msr_w(&fx, 0x83F, 1ULL << 32 | 0x41), VIRQ_GP);
	assert_true(irr_empty(&fx));
	assert_int_equal(msr_r(&fx, 0x83F, &v), VIRQ_GP);
	assert_int_equal(fx.f.n_ipis, 0);
	assert_invariants(&fx);

	/* Not in xAPIC mode: the MSR faults, the MMIO offset is reserved. */
	setup(&fx, false);
	assert_int_equal(msr_w(&fx, 0x83F, 0x41), VIRQ_GP);
	mmio_w(&fx, VIRQ_LAPIC_REG_SELF_IPI, 0x41);
	assert_true(irr_empty(&fx));
	assert_int_equal(esr_publish(&fx), VIRQ_LAPIC_ESR_ILLEGAL_REG);
	assert_invariants(&fx);
}

/* A software-disabled APIC still sends IPIs; its own self IPI is dropped (SDM 10.4.7.2
 * "Local APIC State After It Has Been Software Disabled"). */
static void test_icr_sends_while_sw_disabled(void **state)
{
	(void)state;
	for (unsigned x2 = 0; x2 < 2; x2++) {
		struct lapic_fixture fx;

		setup(&fx, x2);
		if (x2)
			assert_int_equal(msr_w(&fx, 0x80F, 0xFF), 0);
		else
			mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0xFF);
		send_icr(&fx, icr_lo(0x70, VIRQ_DM_FIXED, VIRQ_SH_NONE, false), 0x04);
		send_icr(&fx, icr_lo(0x00, VIRQ_DM_INIT, VIRQ_SH_ALL_EXCL_SELF, false), 0);
		assert_int_equal(fx.f.n_ipis, 2);
		expect_msg(&fx.f.ipis[0], 0x04, x2 ? X2APIC_ID : XAPIC_ID, 0x70, VIRQ_DM_FIXED,
			   VIRQ_SH_NONE, false, x2);
		expect_msg(&fx.f.ipis[1], x2 ? 0xFFFFFFFFU : 0xFFU, x2 ? X2APIC_ID : XAPIC_ID, 0,
			   VIRQ_DM_INIT, VIRQ_SH_ALL_EXCL_SELF, false, x2);
		send_icr(&fx, icr_lo(0x71, VIRQ_DM_FIXED, VIRQ_SH_SELF, false), 0);
		assert_true(irr_empty(&fx));
		assert_int_equal(fx.f.n_ipis, 2);
		assert_invariants(&fx);
	}
}

/* ---- SDM 10.6.1 "Interrupt Command Register (ICR)", 10.12.9 "ICR
 * Operation in x2APIC Mode": register read-back ---- */

static void test_icr_xapic_readback_masked(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, false);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0xFFFFFFFFU);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_HI), 0xFF000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x00FFFFFFU);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_HI), 0);

	/* All ones: reserved delivery mode 111 with a shorthand, not sent. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0xFFFFFFFFU);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_LO), 0x000CCFFFU);
	assert_int_equal(fx.f.n_ipis, 0);

	/* Reserved bits 13, 16, 17, 20-31 and the busy bit 12 read back 0;
	 * the send itself happens (Fixed 0x40 to APIC 2). */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x02000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0xFFF33040U);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_LO), 0x40U);
	assert_int_equal(fx.f.n_ipis, 1);
	expect_msg(&fx.f.ipis[0], 0x02, XAPIC_ID, 0x40, VIRQ_DM_FIXED, VIRQ_SH_NONE, false, false);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_HI), 0x02000000U);

	/* Delivery status reads 0 right after a send (synchronous). */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x000048F3U);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_LO) & (1U << 12), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_LO), 0x000048F3U);
	assert_int_equal(fx.f.n_ipis, 2);
	expect_msg(&fx.f.ipis[1], 0x02, XAPIC_ID, 0xF3, VIRQ_DM_FIXED, VIRQ_SH_NONE, true, false);

	/* Writing ICR high alone sends nothing. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x05000000U);
	assert_int_equal(fx.f.n_ipis, 2);
	assert_invariants(&fx);
}

static void test_icr_x2apic_readback_and_reserved(void **state)
{
	static const unsigned rsvd[] = { 13, 16, 17, 20, 21, 25, 31 };
	struct lapic_fixture fx;
	uint64_t v;
	const uint64_t good = 0xABCD1234000040F7ULL; /* Fixed 0xF7, physical, dest 0xABCD1234 */

	(void)state;
	setup(&fx, true);
	assert_int_equal(msr_w(&fx, 0x830, good), 0);
	assert_int_equal(msr_r(&fx, 0x830, &v), 0);
	assert_int_equal(v, good); /* read back as written */
	assert_int_equal(fx.f.n_ipis, 1);
	expect_msg(&fx.f.ipis[0], 0xABCD1234U, X2APIC_ID, 0xF7, VIRQ_DM_FIXED, VIRQ_SH_NONE, false,
		   true);

	/* Bit 12 (busy) is ignored: no #GP, sent, reads back without it. */
	assert_int_equal(msr_w(&fx, 0x830, 0x0000000700004853ULL | (1ULL << 12)), 0);
	assert_int_equal(msr_r(&fx, 0x830, &v), 0);
	assert_int_equal(v, 0x0000000700004853ULL);
	assert_int_equal(fx.f.n_ipis, 2);
	expect_msg(&fx.f.ipis[1], 7, X2APIC_ID, 0x53, VIRQ_DM_FIXED, VIRQ_SH_NONE, true, true);

	/* Reserved bits fault: nothing sent, ICR unchanged. */
	for (unsigned i = 0; i < sizeof(rsvd) / sizeof(rsvd[0]); i++) {
		assert_int_equal(msr_w(&fx, 0x830, 0x0000000900004060ULL | (1ULL << rsvd[i])),
				 VIRQ_GP);
		assert_int_equal(msr_r(&fx, 0x830, &v), 0);
		assert_int_equal(v, 0x0000000700004853ULL);
	}
	assert_int_equal(fx.f.n_ipis, 2);
	/* ICR high (0x831) does not exist in x2APIC mode. */
	assert_int_equal(msr_r(&fx, 0x831, &v), VIRQ_GP);
	assert_int_equal(msr_w(&fx, 0x831, 0), VIRQ_GP);
	assert_invariants(&fx);
}

/*
 * Regression (KVM CVE-2013-6376: crafted x2APIC ICR destinations hit a
 * BUG_ON in the map rebuild): destinations 0, 0xFFFFFFFF, cluster 0xFFFF
 * and map boundaries travel to send_ipi unchanged.
 */
static void test_x2apic_icr_dest_boundaries_cve_2013_6376(void **state)
{
	static const uint32_t dests[] = { 0,           1,           0xFF,       0x100,
					  0xFFFF,      0x10000,     0xFFFF0000, 0xFFFF0001,
					  0xFFFF8000U, 0xFFFFFFFEU, 0xFFFFFFFFU };
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, true);
	for (unsigned i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
		for (unsigned lg = 0; lg < 2; lg++) {
			unsigned n = fx.f.n_ipis;

			send_icr(&fx, icr_lo(0x44, VIRQ_DM_FIXED, VIRQ_SH_NONE, lg), dests[i]);
			assert_int_equal(fx.f.n_ipis, n + 1);
			expect_msg(&fx.f.ipis[n], dests[i], X2APIC_ID, 0x44, VIRQ_DM_FIXED,
				   VIRQ_SH_NONE, lg, true);
		}
	}
	assert_true(irr_empty(&fx));
	assert_invariants(&fx);
}

/* ---- SDM 10.6.2.1 "Physical Destination Mode" to 10.6.2.3
 * "Broadcast/Self Delivery Mode", 10.12.10 "Determining IPI Destination
 * in x2APIC Mode": destination matching ---- */

static void test_match_physical_xapic(void **state)
{
	static const uint32_t ids[] = { 0, 5, 0x7F, 0xFE };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		setup_id(&fx, ids[i], false);
		for (uint32_t d = 0; d < 0x100; d++)
			assert_int_equal(virq_lapic_match_dest(&fx.apic, d, false),
					 d == ids[i] || d == 0xFF);
		/* Only the low 8 bits are decoded (documented aliasing). */
		assert_true(virq_lapic_match_dest(&fx.apic, 0x100 | ids[i], false));
		assert_true(virq_lapic_match_dest(&fx.apic, 0xABCDEF00U | ids[i], false));
		assert_true(virq_lapic_match_dest(&fx.apic, 0x1FF, false));
		assert_int_equal(virq_lapic_match_dest(&fx.apic, 0x100 | (ids[i] ^ 1U), false),
				 (ids[i] ^ 1U) == 0xFF);
		assert_invariants(&fx);
	}
}

/* A guest-written xAPIC ID (when writable) is what physical mode matches. */
static void test_match_physical_written_id(void **state)
{
	struct virq_lapic_config cfg = fixture_default_config();
	struct lapic_fixture fx;

	(void)state;
	cfg.apic_id = 5;
	cfg.xapic_id_writable = true;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_ID, 0x07000000U);
	assert_true(virq_lapic_match_dest(&fx.apic, 7, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 5, false));
	assert_invariants(&fx);
}

/* Regression (ACRN: physical broadcast 0xFF in x2APIC mode): 0xFF is an ID there. */
static void test_match_physical_x2apic(void **state)
{
	static const uint32_t ids[] = { 0, 5, 0xFF, 0x100, X2APIC_ID, 0xFFFF0, 0xFFFFFFFEU };
	static const uint32_t probes[] = { 0,         1,       5,           0xFE,
					   0xFF,      0x100,   0x105,       X2APIC_ID & 0xFF,
					   X2APIC_ID, 0xFFFF0, 0xFFFFFFFEU, 0xFFFFFFFFU };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		setup_id(&fx, ids[i], true);
		for (unsigned p = 0; p < sizeof(probes) / sizeof(probes[0]); p++)
			assert_int_equal(virq_lapic_match_dest(&fx.apic, probes[p], false),
					 probes[p] == ids[i] || probes[p] == 0xFFFFFFFFU);
		assert_invariants(&fx);
	}
}

static void test_match_logical_flat(void **state)
{
	static const uint32_t ldrs[] = { 0x00, 0x01, 0x24, 0x80, 0xFF };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(ldrs) / sizeof(ldrs[0]); i++) {
		setup(&fx, false);
		mmio_w(&fx, VIRQ_LAPIC_REG_DFR, 0xFFFFFFFFU);
		mmio_w(&fx, VIRQ_LAPIC_REG_LDR, ldrs[i] << 24);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LDR), ldrs[i] << 24);
		for (uint32_t d = 0; d < 0x100; d++)
			assert_int_equal(virq_lapic_match_dest(&fx.apic, d, true),
					 (d & ldrs[i]) != 0 || d == 0xFF);
		/* Low 8 bits only. */
		assert_int_equal(virq_lapic_match_dest(&fx.apic, 0x300 | ldrs[i], true),
				 ldrs[i] != 0);
		assert_false(virq_lapic_match_dest(&fx.apic, 0x300, true));
		assert_invariants(&fx);
	}
}

static void test_match_logical_cluster(void **state)
{
	static const uint32_t ldrs[] = { 0x00, 0x01, 0x52, 0x5F, 0xE8, 0xF1 };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(ldrs) / sizeof(ldrs[0]); i++) {
		setup(&fx, false);
		mmio_w(&fx, VIRQ_LAPIC_REG_DFR, 0x0FFFFFFFU);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_DFR), 0x0FFFFFFFU);
		mmio_w(&fx, VIRQ_LAPIC_REG_LDR, ldrs[i] << 24);
		for (uint32_t d = 0; d < 0x100; d++) {
			bool want = d == 0xFF ||
				    ((d >> 4) == (ldrs[i] >> 4) && (d & ldrs[i] & 0xFU) != 0);

			assert_int_equal(virq_lapic_match_dest(&fx.apic, d, true), want);
		}
		assert_invariants(&fx);
	}
}

/* DFR model other than flat (1111b) or cluster (0000b): logical matches nothing. */
static void test_match_logical_undefined_model(void **state)
{
	static const uint32_t models[] = { 0x1, 0x7, 0x8, 0xE };
	struct lapic_fixture fx;

	(void)state;
	for (unsigned i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		setup(&fx, false);
		mmio_w(&fx, VIRQ_LAPIC_REG_DFR, models[i] << 28);
		assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_DFR), (models[i] << 28) | 0x0FFFFFFFU);
		mmio_w(&fx, VIRQ_LAPIC_REG_LDR, 0xFF000000U);
		/* 0xFF (broadcast) is left out: what an undefined model does with
		 * it is not specified. */
		for (uint32_t d = 0; d < 0xFF; d++)
			assert_false(virq_lapic_match_dest(&fx.apic, d, true));
		assert_true(virq_lapic_match_dest(&fx.apic, XAPIC_ID, false));
		assert_invariants(&fx);
	}
}

/*
 * x2APIC logical: cluster LDR[31:16] == MDA[31:16] and a common bit in 15:0,
 * or 0xFFFFFFFF. IDs at cluster boundaries and at the top of the range
 * (regression KVM CVE-2013-6376; Xen 2023: LDR from the APIC ID).
 */
static void test_match_logical_x2apic_cluster(void **state)
{
	static const uint32_t ids[] = { 0,         1,       0xF,     0x10,        0x1F,
					X2APIC_ID, 0xFFFF0, 0xFFFFF, 0xFFFFFFF0U, 0xFFFFFFFEU };
	struct lapic_fixture fx;
	uint64_t v;

	(void)state;
	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		uint32_t id = ids[i];
		uint32_t cl = (id >> 4) & 0xFFFFU, bit = 1U << (id & 0xFU);
		uint32_t ldr = (cl << 16) | bit;
		const struct {
			uint32_t mda;
			bool want;
		} t[] = {
			{ ldr, true },
			{ (cl << 16) | 0xFFFFU, true },
			{ (cl << 16) | (bit ^ 0xFFFFU), false },
			{ (cl << 16), false },
			{ ((cl ^ 1U) << 16) | bit, false },
			{ ((cl ^ 0x8000U) << 16) | 0xFFFFU, false },
			{ 0xFFFFFFFFU, true },
			{ 0, false },
			{ id, (id >> 16) == cl && (id & bit) != 0 }, /* ID used as MDA */
		};

		setup_id(&fx, id, true);
		assert_int_equal(msr_r(&fx, 0x80D, &v), 0);
		assert_int_equal(v, ldr);
		for (unsigned k = 0; k < sizeof(t) / sizeof(t[0]); k++)
			assert_int_equal(virq_lapic_match_dest(&fx.apic, t[k].mda, true),
					 t[k].want);
		assert_invariants(&fx);
	}
}

/* A globally disabled APIC matches nothing; a software-disabled one still
 * matches (it accepts INIT, NMI, SMI and SIPI, SDM 10.4.7.2 "Local APIC
 * State After It Has Been Software Disabled"). */
static void test_match_disabled_apic(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, false);
	mmio_w(&fx, VIRQ_LAPIC_REG_LDR, 0x01000000U);
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0xFF);
	assert_true(virq_lapic_match_dest(&fx.apic, XAPIC_ID, false));
	assert_true(virq_lapic_match_dest(&fx.apic, 0x01, true));
	assert_true(virq_lapic_match_dest(&fx.apic, 0xFF, false));

	assert_int_equal(
		virq_lapic_set_apic_base(&fx.apic, 0xFEE00000ULL | VIRQ_APIC_BASE_BSP, false), 0);
	for (uint32_t d = 0; d < 0x100; d++) {
		assert_false(virq_lapic_match_dest(&fx.apic, d, false));
		assert_false(virq_lapic_match_dest(&fx.apic, d, true));
	}
	assert_false(virq_lapic_match_dest(&fx.apic, 0xFFFFFFFFU, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 0xFFFFFFFFU, true));
	assert_invariants(&fx);

	/* Same from x2APIC mode. */
	setup(&fx, true);
	assert_int_equal(
		virq_lapic_set_apic_base(&fx.apic, 0xFEE00000ULL | VIRQ_APIC_BASE_BSP, false), 0);
	assert_false(virq_lapic_match_dest(&fx.apic, X2APIC_ID, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 0xFFFFFFFFU, false));
	assert_false(virq_lapic_match_dest(&fx.apic, 0xFFFFFFFFU, true));
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icr_mode_x_shorthand_matrix),
		cmocka_unit_test(test_icr_trigger_and_level_bits_normalised),
		cmocka_unit_test(test_icr_init_deassert_not_sent),
		cmocka_unit_test(test_icr_illegal_vectors),
		cmocka_unit_test(test_icr_sipi_low_vector_sent),
		cmocka_unit_test(test_icr_self_shorthand_local),
		cmocka_unit_test(test_x2apic_self_ipi_msr),
		cmocka_unit_test(test_icr_sends_while_sw_disabled),
		cmocka_unit_test(test_icr_xapic_readback_masked),
		cmocka_unit_test(test_icr_x2apic_readback_and_reserved),
		cmocka_unit_test(test_x2apic_icr_dest_boundaries_cve_2013_6376),
		cmocka_unit_test(test_match_physical_xapic),
		cmocka_unit_test(test_match_physical_written_id),
		cmocka_unit_test(test_match_physical_x2apic),
		cmocka_unit_test(test_match_logical_flat),
		cmocka_unit_test(test_match_logical_cluster),
		cmocka_unit_test(test_match_logical_undefined_model),
		cmocka_unit_test(test_match_logical_x2apic_cluster),
		cmocka_unit_test(test_match_disabled_apic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
