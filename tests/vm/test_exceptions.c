/* SPDX-License-Identifier: MIT */
/*
 * The vCPU policy's exceptions, re-injections, NMI blocking and saved
 * state (vcpu.h, "Exceptions and re-injection", "NMI blocking"). Every
 * decision is pinned exactly: actions, the whole event, the LAPIC's ISR and
 * IRR around a re-injection (read with virq_lapic_read_reg()), the stats.
 *
 * The double-fault expectations are written here from SDM Vol. 3A 6.15
 * "Exception and Interrupt Reference", Tables 6-4 "Interrupt and
 * Exception Classes" and 6-5 "Conditions for Generating a Double
 * Fault", independently of lib/vm/vcpu_event.c.
 */
#include "harness.h"

#include <virq/vcpu.h>

#define A_SMI VIRQ_VCPU_SMI
#define A_NMI VIRQ_VCPU_NMI
#define A_INTR VIRQ_VCPU_INTR
#define A_IWIN VIRQ_VCPU_INTR_WINDOW
#define A_NWIN VIRQ_VCPU_NMI_WINDOW
#define A_INIT VIRQ_VCPU_INIT
#define A_EV VIRQ_VCPU_EVENT
#define A_TF VIRQ_VCPU_TRIPLE_FAULT
#define A_NOW VIRQ_VCPU_IMMEDIATE_EXIT

#define T_EXT VIRQ_VCPU_EV_EXTINT
#define T_NMI VIRQ_VCPU_EV_NMI
#define T_HW VIRQ_VCPU_EV_HW_EXC
#define T_SWINT VIRQ_VCPU_EV_SW_INT
#define T_PRIV VIRQ_VCPU_EV_PRIV_SW_EXC
#define T_SWEXC VIRQ_VCPU_EV_SW_EXC

/* ---- the SDM's tables, restated ---- */

enum cls {
	BENIGN,
	CONTRIB,
	PF
};

/* Table 6-1 "Protected-Mode Exceptions and Interrupts" (protected mode), plus AMD's 28-30. */
static bool valid_vec(unsigned v)
{
	return v < 32 && v != 2 && v != 15 && !(v >= 22 && v <= 27) && v != 31;
}

static bool ec_vec(unsigned v)
{
	switch (v) {
	case 8:
	case 10:
	case 11:
	case 12:
	case 13:
	case 14:
	case 17:
	case 21:
	case 29:
	case 30:
		return true;
	default:
		return false;
	}
}

/* Table 6-4 "Interrupt and Exception Classes". */
static enum cls cls_of(unsigned v)
{
	switch (v) {
	case 0:
	case 10:
	case 11:
	case 12:
	case 13:
	case 21:
		return CONTRIB;
	case 14:
	case 20:
		return PF;
	default:
		return BENIGN;
	}
}

/* ---- helpers ---- */

static struct vm_fixture *fixture(struct virq_vcpu *p)
{
	struct vm_fixture *fx = fx_new(2, 256, 0);

	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	assert_int_equal(virq_vcpu_init(p, fx_apic(fx, 0), &fx->vm), 0);
	return fx;
}

static void done(struct vm_fixture *fx)
{
	fx_check(fx);
	fx_free(fx);
}

static uint32_t dec(struct virq_vcpu *p, bool intr, bool nmi, struct virq_vcpu_decision *d)
{
	struct virq_vcpu_window w = { .intr = intr, .nmi = nmi };
	uint32_t a;

	memset(d, 0xA5, sizeof(*d));
	a = virq_vcpu_decide(p, &w, d);
	assert_int_equal(a, d->actions);
	assert_int_equal(d->reserved, 0);
	if (!(a & (A_EV | A_NMI | A_INTR))) {
		struct virq_vcpu_event z;

		memset(&z, 0, sizeof(z));
		assert_memory_equal(&d->event, &z, sizeof(z));
	}
	return a;
}

static void expect(struct virq_vcpu *p, uint32_t want)
{
	struct virq_vcpu_decision d;

	assert_int_equal(dec(p, true, true, &d), want);
}

/* A decision (windows open) that is exactly @want and carries event
 * (type, vector, has_error, ec, len, payload). */
static void expect_ev(struct virq_vcpu *p, uint32_t want, uint8_t type, uint8_t vec, bool has_ec,
		      uint32_t ec, uint8_t len, uint64_t payload)
{
	struct virq_vcpu_decision d;

	assert_int_equal(dec(p, true, true, &d), want);
	assert_int_equal(d.event.type, type);
	assert_int_equal(d.event.vector, vec);
	assert_int_equal(d.event.has_error, has_ec);
	assert_int_equal(d.event.error_code, ec);
	assert_int_equal(d.event.insn_len, len);
	assert_int_equal(d.event.payload, payload);
	assert_int_equal(d.vector, 0);
	assert_int_equal(d.source, VIRQ_VCPU_SRC_NONE);
}

static void expect_exc(struct virq_vcpu *p, uint32_t want, uint8_t vec, uint32_t ec)
{
	expect_ev(p, want, T_HW, vec, ec_vec(vec), ec, 0, 0);
}

static int queue(struct virq_vcpu *p, unsigned v, uint32_t ec)
{
	return virq_vcpu_queue_exception(p, (uint8_t)v, ec_vec(v), ec_vec(v) ? ec : 0);
}

static struct virq_vcpu_event ev(uint8_t type, uint8_t vec, bool has_ec, uint32_t ec, uint8_t len,
				 uint64_t payload)
{
	struct virq_vcpu_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.vector = vec;
	e.has_error = has_ec;
	e.error_code = ec;
	e.insn_len = len;
	e.payload = payload;
	return e;
}

static void post(struct vm_fixture *fx, uint8_t dm, uint8_t vec)
{
	assert_int_equal(fx_send(fx, 0, false, dm, vec), 1);
}

/* ISR and IRR of vCPU 0 after folding posted requests. */
struct irr_isr {
	uint32_t isr[8], irr[8];
};

static struct irr_isr snap(struct vm_fixture *fx)
{
	struct irr_isr s;

	(void)virq_lapic_sync(fx_apic(fx, 0));
	for (unsigned i = 0; i < 8; i++) {
		s.isr[i] = virq_lapic_read_reg(fx_apic(fx, 0), VIRQ_LAPIC_REG_ISR + 16 * i);
		s.irr[i] = virq_lapic_read_reg(fx_apic(fx, 0), VIRQ_LAPIC_REG_IRR + 16 * i);
	}
	return s;
}

static bool isr_has(struct vm_fixture *fx, uint8_t v)
{
	return (virq_lapic_read_reg(fx_apic(fx, 0), VIRQ_LAPIC_REG_ISR + 16 * (v >> 5)) >>
		(v & 31)) &
	       1U;
}

/* ---- queueing ---- */

static void test_single_exception(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);

	(void)state;
	assert_int_equal(virq_vcpu_inject_gp(&p, 0x18), 0);
	assert_true(virq_vcpu_wakes(&p, false));
	expect_exc(&p, A_EV, 13, 0x18);
	expect(&p, 0);
	assert_int_equal(virq_vcpu_inject_ss(&p, 0), 0);
	expect_exc(&p, A_EV, 12, 0);
	assert_int_equal(virq_vcpu_inject_ud(&p), 0);
	expect_exc(&p, A_EV, 6, 0);
	assert_int_equal(virq_vcpu_inject_pf(&p, 0xFFFF800012345678ULL, 0x6), 0);
	expect_ev(&p, A_EV, T_HW, 14, true, 6, 0, 0xFFFF800012345678ULL);
	/* Injected whatever the windows say. */
	assert_int_equal(queue(&p, 0, 0), 0);
	{
		struct virq_vcpu_decision d;

		assert_int_equal(dec(&p, false, false, &d), A_EV);
		assert_int_equal(d.event.vector, 0);
	}
	assert_int_equal(virq_vcpu_get_stats(&p)->exceptions, 5);
	assert_int_equal(virq_vcpu_get_stats(&p)->double_faults, 0);
	done(fx);
}

/* Every ordered pair of exception vectors: Table 6-5 "Conditions for
 * Generating a Double Fault", both readings of the #DF row. */
static void test_double_fault_table_all_pairs(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);
	unsigned pairs = 0;

	(void)state;
	for (unsigned any = 0; any < 2; any++) {
		for (unsigned a = 0; a < 32; a++) {
			if (!valid_vec(a))
				continue;
			for (unsigned b = 0; b < 32; b++) {
				uint64_t df0, tf0;
				/* The error code queued with b, as delivered. */
				uint32_t ecb = (ec_vec(b) && b != 8 && b != 17) ? 0x20 : 0;

				if (!valid_vec(b))
					continue;
				assert_int_equal(virq_vcpu_init(&p, fx_apic(fx, 0), &fx->vm), 0);
				assert_int_equal(virq_vcpu_set_options(
							 &p,
							 any ? VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY : 0),
						 0);
				assert_int_equal(queue(&p, a, 0x10 * (a != 8 && a != 17)), 0);
				assert_int_equal(queue(&p, b, 0x20 * (b != 8 && b != 17)), 0);
				df0 = virq_vcpu_get_stats(&p)->double_faults;
				tf0 = virq_vcpu_get_stats(&p)->triple_faults;
				if (a == 8) {
					/* #DF row: contributory or #PF class: shutdown;
					 * benign: serial (current text) or shutdown. */
					if (cls_of(b) != BENIGN || any)
						expect(&p, A_TF);
					else
						expect_exc(&p, A_EV, (uint8_t)b, ecb);
				} else if ((cls_of(a) == CONTRIB && cls_of(b) == CONTRIB) ||
					   (cls_of(a) == PF && cls_of(b) != BENIGN)) {
					assert_int_equal(df0, 1);
					expect_exc(&p, A_EV, 8, 0);
				} else {
					assert_int_equal(df0, 0);
					expect_exc(&p, A_EV, (uint8_t)b, ecb);
				}
				assert_int_equal(virq_vcpu_get_stats(&p)->triple_faults,
						 tf0 + (a == 8 && (cls_of(b) != BENIGN || any)));
				expect(&p, 0);
				pairs++;
			}
		}
	}
	assert_int_equal(pairs, 2 * 23 * 23);
	done(fx);
}

/* The table's rows by name, with the payloads. */
static void test_double_fault_rows(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);

	(void)state;
	/* Contributory + contributory: #DF(0). */
	assert_int_equal(virq_vcpu_inject_gp(&p, 0x8), 0);
	assert_int_equal(virq_vcpu_queue_exception(&p, 11, true, 0x30), 0);
	expect_exc(&p, A_EV, 8, 0);
	/* #PF + #PF: #DF(0), neither CR2 delivered. */
	assert_int_equal(virq_vcpu_inject_pf(&p, 0x1000, 0x2), 0);
	assert_int_equal(virq_vcpu_inject_pf(&p, 0x2000, 0x4), 0);
	expect_ev(&p, A_EV, T_HW, 8, true, 0, 0, 0);
	/* #PF + contributory: #DF(0). */
	assert_int_equal(virq_vcpu_inject_pf(&p, 0x3000, 0x0), 0);
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	expect_ev(&p, A_EV, T_HW, 8, true, 0, 0, 0);
	/* Contributory + #PF: serial, the #PF with its own CR2. */
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	assert_int_equal(virq_vcpu_inject_pf(&p, 0x4000, 0x1), 0);
	expect_ev(&p, A_EV, T_HW, 14, true, 1, 0, 0x4000);
	/* #PF + benign: serial, the #PF (and its CR2) dropped. */
	assert_int_equal(virq_vcpu_inject_pf(&p, 0x5000, 0x1), 0);
	assert_int_equal(virq_vcpu_inject_ud(&p), 0);
	expect_exc(&p, A_EV, 6, 0);
	/* Benign + anything: serial. */
	assert_int_equal(virq_vcpu_inject_ud(&p), 0);
	assert_int_equal(virq_vcpu_inject_pf(&p, 0x6000, 0x3), 0);
	expect_ev(&p, A_EV, T_HW, 14, true, 3, 0, 0x6000);
	/* #VE is in the page-fault class (Table 6-4 "Interrupt and
	 * Exception Classes"), #CP contributory. */
	assert_int_equal(virq_vcpu_queue_exception(&p, 20, false, 0), 0);
	assert_int_equal(virq_vcpu_queue_exception(&p, 21, true, 3), 0);
	expect_exc(&p, A_EV, 8, 0);
	assert_int_equal(virq_vcpu_get_stats(&p)->double_faults, 4);
	done(fx);
}

static void test_triple_fault(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);

	(void)state;
	/* #GP, #GP: #DF; a third #GP: shutdown. */
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	/* Nothing more is delivered once shutting down. */
	assert_int_equal(virq_vcpu_inject_ud(&p), 0);
	assert_true(virq_vcpu_wakes(&p, false));
	post(fx, VIRQ_DM_FIXED, 0x41);
	post(fx, VIRQ_DM_NMI, 0);
	/* Alone in its decision: no window, the vector not acknowledged. */
	expect(&p, A_TF);
	assert_false(isr_has(fx, 0x41));
	assert_int_equal(virq_vcpu_get_stats(&p)->triple_faults, 1);
	assert_int_equal(virq_vcpu_get_stats(&p)->exceptions, 0);
	/* The embedder resets the vCPU (or the VM); the NMI and the vector
	 * were the LAPIC's and stay. */
	expect(&p, A_NMI | A_IWIN);
	/* #PF on a #DF: shutdown too. */
	assert_int_equal(virq_vcpu_inject_pf(&p, 1, 0), 0);
	assert_int_equal(virq_vcpu_inject_pf(&p, 2, 0), 0);
	assert_int_equal(virq_vcpu_inject_pf(&p, 3, 0), 0);
	expect(&p, A_TF);
	done(fx);
}

static void test_benign_during_df_both_readings(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);

	(void)state;
	/* Current SDM text (default): the benign one is handled serially. */
	assert_int_equal(virq_vcpu_queue_exception(&p, 8, true, 0), 0);
	assert_int_equal(virq_vcpu_inject_ud(&p), 0);
	expect_exc(&p, A_EV, 6, 0);
	assert_int_equal(virq_vcpu_queue_exception(&p, 8, true, 0), 0);
	assert_int_equal(virq_vcpu_queue_exception(&p, 1, false, 0), 0);
	expect_exc(&p, A_EV, 1, 0);
	assert_int_equal(virq_vcpu_get_stats(&p)->triple_faults, 0);
	/* Older text / KVM: any exception is a triple fault. */
	assert_int_equal(virq_vcpu_set_options(&p, VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY), 0);
	assert_int_equal(virq_vcpu_queue_exception(&p, 8, true, 0), 0);
	assert_int_equal(virq_vcpu_inject_ud(&p), 0);
	expect(&p, A_TF);
	assert_int_equal(virq_vcpu_get_stats(&p)->triple_faults, 1);
	/* #DF during a #DF: benign (KVM's class), so serial by default. */
	assert_int_equal(virq_vcpu_set_options(&p, 0), 0);
	assert_int_equal(virq_vcpu_queue_exception(&p, 8, true, 0), 0);
	assert_int_equal(virq_vcpu_queue_exception(&p, 8, true, 0), 0);
	expect_exc(&p, A_EV, 8, 0);
	assert_int_equal(virq_vcpu_set_options(&p, 4), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_set_options(NULL, 0), -VIRQ_EINVAL);
	done(fx);
}

static void test_error_code_per_vector(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);

	(void)state;
	for (unsigned v = 0; v < 32; v++) {
		if (!valid_vec(v))
			continue;
		/* The wrong presence is refused, nothing queued. */
		assert_int_equal(virq_vcpu_queue_exception(&p, (uint8_t)v, !ec_vec(v), 0),
				 -VIRQ_EINVAL);
		expect(&p, 0);
		assert_int_equal(virq_vcpu_queue_exception(&p, (uint8_t)v, ec_vec(v), 0), 0);
		expect_exc(&p, A_EV, (uint8_t)v, 0);
		/* Without an error code, none may be given. */
		if (!ec_vec(v))
			assert_int_equal(virq_vcpu_queue_exception(&p, (uint8_t)v, false, 1),
					 -VIRQ_EINVAL);
	}
	/* #DF and #AC push 0. */
	assert_int_equal(virq_vcpu_queue_exception(&p, 8, true, 1), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_queue_exception(&p, 17, true, 0x8000), -VIRQ_EINVAL);
	/* Bits 31:16 are zero (VM-entry check); bit 15 (#PF SGX) is fine. */
	assert_int_equal(virq_vcpu_inject_gp(&p, 0x10000), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_inject_pf(&p, 0, 0x80000000U), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_inject_pf(&p, 0x77, 0x8000), 0);
	expect_ev(&p, A_EV, T_HW, 14, true, 0x8000, 0, 0x77);
	expect(&p, 0);
	done(fx);
}

static void test_invalid_vectors(void **state)
{
	static const unsigned bad[] = { 2, 15, 22, 23, 24, 25, 26, 27, 31, 32, 0x80, 255 };
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);

	(void)state;
	assert_int_equal(virq_vcpu_inject_gp(&p, 0x10), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(virq_vcpu_queue_exception(&p, (uint8_t)bad[i], false, 0),
				 -VIRQ_EINVAL);
		assert_int_equal(virq_vcpu_queue_exception(&p, (uint8_t)bad[i], true, 0),
				 -VIRQ_EINVAL);
	}
	assert_int_equal(virq_vcpu_queue_exception(NULL, 13, true, 0), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_inject_gp(NULL, 0), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_inject_ud(NULL), -VIRQ_EINVAL);
	/* The refusals changed nothing: the #GP is intact. */
	expect_exc(&p, A_EV, 13, 0x10);
	/* AMD's #HV (no error code), #VC and #SX (error code). */
	assert_int_equal(virq_vcpu_queue_exception(&p, 28, false, 0), 0);
	expect_exc(&p, A_EV, 28, 0);
	assert_int_equal(virq_vcpu_queue_exception(&p, 29, true, 0x81), 0);
	expect_exc(&p, A_EV, 29, 0x81);
	assert_int_equal(virq_vcpu_queue_exception(&p, 30, true, 1), 0);
	expect_exc(&p, A_EV, 30, 1);
	done(fx);
}

/* ---- re-injection ---- */

static void test_reinject_intr_before_nmi_and_lapic(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);
	struct virq_vcpu_event e = ev(T_EXT, 0x41, false, 0, 0, 0);
	struct irr_isr before, after;
	struct virq_vcpu_decision d;

	(void)state;
	post(fx, VIRQ_DM_FIXED, 0x41);
	assert_int_equal(dec(&p, true, true, &d), A_INTR);
	assert_int_equal(d.vector, 0x41);
	assert_int_equal(d.event.type, T_EXT);
	assert_int_equal(d.event.vector, 0x41);
	/* The entry's delivery was interrupted (IDT-vectoring valid);
	 * meanwhile an NMI and a higher vector arrived. */
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	post(fx, VIRQ_DM_NMI, 0);
	post(fx, VIRQ_DM_FIXED, 0x51);
	before = snap(fx);
	assert_true(isr_has(fx, 0x41));
	expect_ev(&p, A_EV | A_NWIN | A_IWIN, T_EXT, 0x41, false, 0, 0, 0);
	after = snap(fx);
	/* Not acknowledged again: ISR and IRR as they were. */
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(virq_vcpu_get_stats(&p)->intr_lapic, 1);
	assert_int_equal(virq_vcpu_get_stats(&p)->reinjected, 1);
	assert_int_equal(virq_vcpu_get_stats(&p)->nmi, 0);
	/* Then the NMI, then 0x51. */
	assert_int_equal(dec(&p, true, true, &d), A_NMI | A_IWIN);
	assert_int_equal(d.event.type, T_NMI);
	assert_int_equal(d.event.vector, 2);
	assert_int_equal(dec(&p, true, true, &d), A_INTR);
	assert_int_equal(d.vector, 0x51);
	assert_true(isr_has(fx, 0x41) && isr_has(fx, 0x51));
	expect(&p, 0);
	done(fx);
}

static void test_reinject_nmi_keeps_held_nmi(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);
	struct virq_vcpu_event e = ev(T_NMI, 2, false, 0, 0, 0);

	(void)state;
	post(fx, VIRQ_DM_NMI, 0);
	expect(&p, A_NMI);
	post(fx, VIRQ_DM_NMI, 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	/* Re-delivered first; the held NMI still waits. */
	expect_ev(&p, A_EV | A_NWIN, T_NMI, 2, false, 0, 0, 0);
	expect(&p, A_NMI);
	expect(&p, 0);
	assert_int_equal(virq_vcpu_get_stats(&p)->nmi, 2);
	assert_int_equal(virq_vcpu_get_stats(&p)->reinjected, 1);
	done(fx);
}

/* An exception raised while delivering an interrupt: delivered first
 * (benign first event: serial), the interrupt right after, not acked. */
static void test_exception_during_reinjected_intr(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);
	struct virq_vcpu_event e = ev(T_EXT, 0x61, false, 0, 0, 0);
	struct irr_isr before, after;

	(void)state;
	post(fx, VIRQ_DM_FIXED, 0x61);
	expect(&p, A_INTR);
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	assert_int_equal(virq_vcpu_inject_gp(&p, 0x61 * 8 + 2 + 1), 0); /* IDT, EXT */
	before = snap(fx);
	expect_exc(&p, A_EV | A_NOW, 13, 0x30B);
	expect_ev(&p, A_EV, T_EXT, 0x61, false, 0, 0, 0);
	after = snap(fx);
	assert_memory_equal(&before, &after, sizeof(before));
	expect(&p, 0);
	/* The same behind a software interrupt and an NMI. */
	e = ev(T_SWINT, 0x80, false, 0, 2, 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	assert_int_equal(virq_vcpu_inject_pf(&p, 0xABC, 0), 0);
	expect_ev(&p, A_EV | A_NOW, T_HW, 14, true, 0, 0, 0xABC);
	expect_ev(&p, A_EV, T_SWINT, 0x80, false, 0, 2, 0);
	e = ev(T_NMI, 2, false, 0, 0, 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	assert_int_equal(virq_vcpu_inject_ud(&p), 0);
	expect_exc(&p, A_EV | A_NOW, 6, 0);
	/* Its delivery was interrupted too: handed back, it goes first. */
	e = ev(T_HW, 6, false, 0, 0, 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	expect_exc(&p, A_EV | A_NOW, 6, 0);
	expect_ev(&p, A_EV, T_NMI, 2, false, 0, 0, 0);
	expect(&p, 0);
	done(fx);
}

/* A re-injected exception is the first exception of Table 6-5
 * "Conditions for Generating a Double Fault". */
static void test_exception_during_reinjected_exception(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);
	struct virq_vcpu_decision d;
	struct virq_vcpu_event e;

	(void)state;
	assert_int_equal(virq_vcpu_inject_pf(&p, 0xDEAD000, 0x2), 0);
	assert_int_equal(dec(&p, true, true, &d), A_EV);
	/* An EPT violation while delivering it; handing it back. */
	assert_int_equal(virq_vcpu_reinject(&p, &d.event), 0);
	/* The exit handler finds the IDT entry bad: #PF + #GP = #DF. */
	assert_int_equal(virq_vcpu_inject_gp(&p, 14 * 8 + 2), 0);
	assert_int_equal(dec(&p, true, true, &d), A_EV);
	assert_int_equal(d.event.vector, 8);
	assert_int_equal(d.event.payload, 0);
	/* The #DF's delivery is interrupted and hits a #NP: triple fault. */
	assert_int_equal(virq_vcpu_reinject(&p, &d.event), 0);
	assert_int_equal(virq_vcpu_queue_exception(&p, 11, true, 0x42), 0);
	expect(&p, A_TF);
	/* A real-mode guest's #GP has no error code in IDT-vectoring. */
	e = ev(T_HW, 13, false, 0, 0, 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	expect_exc(&p, A_EV, 8, 0);
	/* A software exception is benign: a new #GP replaces it. */
	e = ev(T_SWEXC, 3, false, 0, 1, 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	expect_exc(&p, A_EV, 13, 0);
	assert_int_equal(virq_vcpu_get_stats(&p)->double_faults, 2);
	assert_int_equal(virq_vcpu_get_stats(&p)->triple_faults, 1);
	done(fx);
}

static void test_reinject_soft_events_keep_length(void **state)
{
	static const struct {
		uint8_t type, vec, len;
	} t
		[] = {
			{ T_SWINT, 0x80, 2 }, { T_SWINT, 0x03, 3 }, { T_SWINT, 0x21, 15 },
			{ T_PRIV, 1, 1 },     { T_SWEXC, 3, 1 },    { T_SWEXC, 4, 1 },
			{ T_SWINT, 0x40, 0 }, /* length 0: where IA32_VMX_MISC[30] allows it */
		};
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct virq_vcpu_event e = ev(t[i].type, t[i].vec, false, 0, t[i].len, 0);

		assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
		expect_ev(&p, A_EV, t[i].type, t[i].vec, false, 0, t[i].len, 0);
		expect(&p, 0);
	}
	done(fx);
}

static void test_reinject_refused(void **state)
{
	struct virq_vcpu_event bad[] = {
		ev(1, 0x20, false, 0, 0, 0),        /* type 1 reserved */
		ev(7, 0, false, 0, 0, 0),           /* other event: not ours */
		ev(8, 0x20, false, 0, 0, 0),        /* beyond 3 bits */
		ev(T_NMI, 3, false, 0, 0, 0),       /* NMI is vector 2 */
		ev(T_HW, 2, false, 0, 0, 0),        /* not an exception */
		ev(T_HW, 15, false, 0, 0, 0),       /* reserved */
		ev(T_HW, 32, false, 0, 0, 0),       /* type 3 needs <= 31 */
		ev(T_HW, 6, true, 0, 0, 0),         /* #UD has no error code */
		ev(T_HW, 8, true, 1, 0, 0),         /* #DF(0) */
		ev(T_HW, 13, true, 0x10000, 0, 0),  /* bits 31:16 */
		ev(T_HW, 13, false, 5, 0, 0),       /* an error code without the bit */
		ev(T_HW, 13, true, 0, 1, 0),        /* length only for 4/5/6 */
		ev(T_HW, 13, true, 0, 0, 0x1000),   /* payload only for #PF */
		ev(T_EXT, 0x41, true, 0, 0, 0),     /* error code on an interrupt */
		ev(T_EXT, 0x41, false, 0, 1, 0),    /* length on an interrupt */
		ev(T_EXT, 0x41, false, 0, 0, 1),    /* payload on an interrupt */
		ev(T_SWINT, 0x80, false, 0, 16, 0), /* length 1-15 */
		ev(T_SWINT, 0x80, true, 0, 2, 0),   /* no error code */
		ev(T_PRIV, 3, false, 0, 1, 0),      /* INT1 is vector 1 */
		ev(T_SWEXC, 1, false, 0, 1, 0),     /* INT3 / INTO: 3 or 4 */
		ev(T_SWEXC, 14, false, 0, 1, 0),
	};
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);
	struct virq_vcpu_event e = ev(T_EXT, 0x41, false, 0, 0, 0);

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(virq_vcpu_reinject(&p, &bad[i]), -VIRQ_EINVAL);
	e.has_error = 2;
	assert_int_equal(virq_vcpu_reinject(&p, &e), -VIRQ_EINVAL);
	e.has_error = 0;
	assert_int_equal(virq_vcpu_reinject(NULL, &e), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_reinject(&p, NULL), -VIRQ_EINVAL);
	expect(&p, 0);
	assert_int_equal(virq_vcpu_get_stats(&p)->reinjected, 0);

	/* Two interrupted interrupts, or one after a queued exception. */
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), -VIRQ_ESTATEMODE);
	e = ev(T_NMI, 2, false, 0, 0, 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), -VIRQ_ESTATEMODE);
	assert_int_equal(virq_vcpu_inject_ud(&p), 0);
	e = ev(T_HW, 13, true, 0, 0, 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), -VIRQ_ESTATEMODE);
	/* Unchanged by the refusals. */
	expect_exc(&p, A_EV | A_NOW, 6, 0);
	expect_ev(&p, A_EV, T_EXT, 0x41, false, 0, 0, 0);
	/* Nor while a triple fault waits. */
	assert_int_equal(virq_vcpu_queue_exception(&p, 8, true, 0), 0);
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), -VIRQ_ESTATEMODE);
	expect(&p, A_TF);
	done(fx);
}

/* ---- NMI blocking ---- */

static void test_nmi_blocking_until_unblocked(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);

	(void)state;
	/* Default: the backend's window alone decides. */
	post(fx, VIRQ_DM_NMI, 0);
	expect(&p, A_NMI);
	post(fx, VIRQ_DM_NMI, 0);
	expect(&p, A_NMI);
	assert_false(virq_vcpu_nmi_blocked(&p));

	assert_int_equal(virq_vcpu_set_options(&p, VIRQ_VCPU_OPT_NMI_BLOCKING), 0);
	post(fx, VIRQ_DM_NMI, 0);
	expect(&p, A_NMI);
	assert_true(virq_vcpu_nmi_blocked(&p));
	/* Blocked until the IRET, whatever the window says. */
	post(fx, VIRQ_DM_NMI, 0);
	expect(&p, A_NWIN);
	expect(&p, A_NWIN);
	/* A blocked NMI does not wake a halted vCPU. */
	assert_false(virq_vcpu_wakes(&p, true));
	/* Interrupts still go. */
	post(fx, VIRQ_DM_FIXED, 0x41);
	{
		struct virq_vcpu_decision d;

		assert_int_equal(dec(&p, true, true, &d), A_INTR | A_NWIN);
		assert_int_equal(d.vector, 0x41);
	}
	virq_vcpu_nmi_unblocked(&p);
	assert_false(virq_vcpu_nmi_blocked(&p));
	assert_true(virq_vcpu_wakes(&p, false));
	expect(&p, A_NMI);
	assert_true(virq_vcpu_nmi_blocked(&p));
	/* A re-injected NMI keeps it blocked (the same NMI, still in
	 * delivery); its re-delivery blocks anew. */
	{
		struct virq_vcpu_event e = ev(T_NMI, 2, false, 0, 0, 0);

		assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
		virq_vcpu_nmi_unblocked(&p);
		expect_ev(&p, A_EV, T_NMI, 2, false, 0, 0, 0);
		assert_true(virq_vcpu_nmi_blocked(&p));
	}
	/* Clearing the option clears the blocking. */
	assert_int_equal(virq_vcpu_set_options(&p, 0), 0);
	assert_false(virq_vcpu_nmi_blocked(&p));
	virq_vcpu_nmi_unblocked(NULL);
	assert_false(virq_vcpu_nmi_blocked(NULL));
	assert_int_equal(virq_vcpu_get_stats(&p)->nmi, 4);
	done(fx);
}

/* ---- what else goes with them ---- */

static void test_smi_and_init_with_exceptions(void **state)
{
	struct virq_vcpu p;
	struct vm_fixture *fx = fixture(&p);
	struct virq_vcpu_event e = ev(T_EXT, 0x41, false, 0, 0, 0);

	(void)state;
	/* An SMI waits behind the exception and asks to come back at once. */
	post(fx, VIRQ_DM_SMI, 0);
	assert_int_equal(virq_vcpu_inject_ud(&p), 0);
	expect_exc(&p, A_EV | A_NOW, 6, 0);
	expect(&p, A_SMI);
	/* INIT resets the vCPU: exception, re-injection and blocking go. */
	assert_int_equal(virq_vcpu_set_options(&p, VIRQ_VCPU_OPT_NMI_BLOCKING), 0);
	post(fx, VIRQ_DM_NMI, 0);
	expect(&p, A_NMI);
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	post(fx, VIRQ_DM_INIT, 0);
	expect(&p, A_INIT);
	assert_false(virq_vcpu_nmi_blocked(&p));
	expect(&p, 0);
	/* virq_vcpu_reset() too, keeping the options. */
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), -VIRQ_ESTATEMODE);
	virq_vcpu_reset(&p);
	assert_false(virq_vcpu_wakes(&p, true));
	expect(&p, 0);
	post(fx, VIRQ_DM_NMI, 0);
	post(fx, VIRQ_DM_NMI, 0);
	expect(&p, A_NMI | A_NWIN);
	expect(&p, A_NWIN);
	done(fx);
}

/* Without a LAPIC (split irqchip) the queue works the same. */
static void test_without_lapic(void **state)
{
	struct vm_fixture *fx = fx_new(1, 256, 0);
	struct virq_vcpu p;
	struct virq_vcpu_event e = ev(T_EXT, 0x08, false, 0, 0, 0);
	struct virq_vcpu_state st;

	(void)state;
	assert_int_equal(virq_vcpu_init(&p, NULL, &fx->vm), 0);
	assert_false(virq_vcpu_wakes(&p, true));
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	assert_true(virq_vcpu_wakes(&p, false));
	assert_int_equal(virq_vcpu_reinject(&p, &e), -VIRQ_ESTATEMODE);
	expect_exc(&p, A_EV, 13, 0);
	assert_int_equal(virq_vcpu_reinject(&p, &e), 0);
	expect_ev(&p, A_EV, T_EXT, 0x08, false, 0, 0, 0);
	expect(&p, 0);
	/* Nothing is taken from a LAPIC it does not have. */
	assert_int_equal(virq_vcpu_save(&p, &st), 0);
	st.nmi_pending = 1;
	assert_int_equal(virq_vcpu_restore(&p, &st), -VIRQ_ESTATE);
	st.nmi_pending = 0;
	st.held = VIRQ_LAPIC_EV_EXTINT;
	assert_int_equal(virq_vcpu_restore(&p, &st), -VIRQ_ESTATE);
	fx_free(fx);
}

/* ---- save / restore ---- */

/* A policy mid-way: blocking on, an NMI decided (blocked), one held, a #PF
 * queued over a re-injected interrupt, an SMI held. */
static void mid_state(struct vm_fixture *fx, struct virq_vcpu *p)
{
	struct virq_vcpu_event e = ev(T_EXT, 0x41, false, 0, 0, 0);

	assert_int_equal(virq_vcpu_set_options(p, VIRQ_VCPU_OPT_NMI_BLOCKING), 0);
	post(fx, VIRQ_DM_FIXED, 0x41);
	expect(p, A_INTR);
	post(fx, VIRQ_DM_NMI, 0);
	expect(p, A_NMI);
	post(fx, VIRQ_DM_NMI, 0);
	assert_int_equal(virq_vcpu_reinject(p, &e), 0);
	assert_int_equal(virq_vcpu_inject_pf(p, 0xC0FFEE000ULL, 0x7), 0);
	post(fx, VIRQ_DM_SMI, 0);
	/* The LAPIC hands its events over at the next decision or wake
	 * query; the state has what the policy holds by then. */
	assert_true(virq_vcpu_wakes(p, false));
}

/* The decisions that drain @p, pinned, each as (actions, event). */
static void drain_mid(struct virq_vcpu *p)
{
	expect_ev(p, A_EV | A_NOW | A_NWIN, T_HW, 14, true, 7, 0, 0xC0FFEE000ULL);
	expect_ev(p, A_EV | A_NOW | A_NWIN, T_EXT, 0x41, false, 0, 0, 0);
	expect(p, A_SMI | A_NWIN);
	expect(p, A_NWIN);
	virq_vcpu_nmi_unblocked(p);
	expect(p, A_NMI);
	expect(p, 0);
}

static void test_save_restore_round_trip(void **state)
{
	struct virq_vcpu p, q;
	struct vm_fixture *fx = fixture(&p);
	struct virq_vcpu_state st, st2;
	struct irr_isr lapic, now;

	(void)state;
	mid_state(fx, &p);
	memset(&st, 0xEE, sizeof(st));
	assert_int_equal(virq_vcpu_save(&p, &st), 0);
	assert_int_equal(st.version, VIRQ_VCPU_STATE_VERSION);
	assert_int_equal(st.size, sizeof(st));
	assert_int_equal(st.flags, VIRQ_VCPU_STATE_NMI_BLOCKED | VIRQ_VCPU_STATE_EXCEPTION |
					   VIRQ_VCPU_STATE_REINJECT);
	assert_int_equal(st.nmi_pending, 1);
	assert_int_equal(st.held, VIRQ_LAPIC_EV_SMI);
	assert_int_equal(st.exception.payload, 0xC0FFEE000ULL);
	assert_int_equal(st.reinject.vector, 0x41);
	/* Into a fresh policy on the same LAPIC: same bytes, same decisions. */
	assert_int_equal(virq_vcpu_init(&q, fx_apic(fx, 0), &fx->vm), 0);
	assert_int_equal(virq_vcpu_set_options(&q, VIRQ_VCPU_OPT_NMI_BLOCKING), 0);
	assert_int_equal(virq_vcpu_restore(&q, &st), 0);
	memset(&st2, 0x11, sizeof(st2));
	assert_int_equal(virq_vcpu_save(&q, &st2), 0);
	assert_memory_equal(&st, &st2, sizeof(st));
	lapic = snap(fx);
	drain_mid(&q);
	now = snap(fx);
	assert_memory_equal(&lapic, &now, sizeof(lapic));
	/* And the original, restored over its own later state, the same. */
	assert_int_equal(virq_vcpu_restore(&p, &st), 0);
	drain_mid(&p);
	/* A triple fault waiting is saved as well. */
	assert_int_equal(virq_vcpu_queue_exception(&p, 8, true, 0), 0);
	assert_int_equal(virq_vcpu_inject_gp(&p, 0), 0);
	assert_int_equal(virq_vcpu_save(&p, &st), 0);
	assert_int_equal(st.flags, VIRQ_VCPU_STATE_TRIPLE_FAULT | VIRQ_VCPU_STATE_NMI_BLOCKED);
	assert_int_equal(virq_vcpu_restore(&q, &st), 0);
	expect(&q, A_TF);
	expect(&q, 0);
	assert_int_equal(virq_vcpu_save(NULL, &st), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_save(&p, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_restore(NULL, &st), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_restore(&p, NULL), -VIRQ_EINVAL);
	done(fx);
}

enum damage {
	D_VERSION_0,
	D_VERSION_2,
	D_SIZE_SMALL,
	D_SIZE_BIG,
	D_FLAGS_RESERVED,
	D_HELD_NMI,
	D_HELD_RESERVED,
	D_NMI_COUNT,
	D_SIPI_UNHELD,
	D_SIPI_WIDE,
	D_BLOCKED_NO_OPT,
	D_EXC_SLOT_TYPE,
	D_EXC_VECTOR_NMI,
	D_EXC_VECTOR_RESERVED,
	D_EXC_VECTOR_WIDE,
	D_EXC_HAS_ERROR_2,
	D_EXC_ERROR_UD,
	D_EXC_DF_CODE,
	D_EXC_ERROR_WIDE,
	D_EXC_PAYLOAD_GP,
	D_EXC_LEN_HW,
	D_EXC_TYPE_7,
	D_EXC_STALE,
	D_REINJ_SLOT_TYPE,
	D_REINJ_NMI_VECTOR,
	D_REINJ_LEN,
	D_REINJ_ERROR,
	D_REINJ_STALE,
	D_TRIPLE_WITH_EXC,
	D_TRIPLE_WITH_REINJ,
	D_COUNT
};

static void damage(struct virq_vcpu_state *st, enum damage d)
{
	switch (d) {
	case D_VERSION_0:
		st->version = 0;
		break;
	case D_VERSION_2:
		st->version = 2;
		break;
	case D_SIZE_SMALL:
		st->size--;
		break;
	case D_SIZE_BIG:
		st->size++;
		break;
	case D_FLAGS_RESERVED:
		st->flags |= 1U << 4;
		break;
	case D_HELD_NMI:
		st->held |= VIRQ_LAPIC_EV_NMI;
		break;
	case D_HELD_RESERVED:
		st->held |= 1U << 5;
		break;
	case D_NMI_COUNT:
		st->nmi_pending = 3;
		break;
	case D_SIPI_UNHELD:
		st->sipi_vector = 0x12;
		break;
	case D_SIPI_WIDE:
		st->held |= VIRQ_LAPIC_EV_SIPI;
		st->sipi_vector = 0x100;
		break;
	case D_BLOCKED_NO_OPT:
		break; /* restored into a policy without the option */
	case D_EXC_SLOT_TYPE:
		st->exception = ev(T_EXT, 0x41, false, 0, 0, 0);
		break;
	case D_EXC_VECTOR_NMI:
		st->exception = ev(T_HW, 2, false, 0, 0, 0);
		break;
	case D_EXC_VECTOR_RESERVED:
		st->exception = ev(T_HW, 22, false, 0, 0, 0);
		break;
	case D_EXC_VECTOR_WIDE:
		st->exception = ev(T_HW, 0x40, false, 0, 0, 0);
		break;
	case D_EXC_HAS_ERROR_2:
		st->exception.has_error = 2;
		break;
	case D_EXC_ERROR_UD:
		st->exception = ev(T_HW, 6, true, 0, 0, 0);
		break;
	case D_EXC_DF_CODE:
		st->exception = ev(T_HW, 8, true, 4, 0, 0);
		break;
	case D_EXC_ERROR_WIDE:
		st->exception.error_code = 0x10007;
		break;
	case D_EXC_PAYLOAD_GP:
		st->exception = ev(T_HW, 13, true, 0, 0, 0x1000);
		break;
	case D_EXC_LEN_HW:
		st->exception.insn_len = 1;
		break;
	case D_EXC_TYPE_7:
		st->exception.type = 7;
		break;
	case D_EXC_STALE:
		st->flags &= ~VIRQ_VCPU_STATE_EXCEPTION;
		break;
	case D_REINJ_SLOT_TYPE:
		st->reinject = ev(T_SWEXC, 3, false, 0, 1, 0);
		break;
	case D_REINJ_NMI_VECTOR:
		st->reinject = ev(T_NMI, 0x41, false, 0, 0, 0);
		break;
	case D_REINJ_LEN:
		st->reinject = ev(T_SWINT, 0x80, false, 0, 16, 0);
		break;
	case D_REINJ_ERROR:
		st->reinject.has_error = 1;
		break;
	case D_REINJ_STALE:
		st->flags &= ~VIRQ_VCPU_STATE_REINJECT;
		break;
	case D_TRIPLE_WITH_EXC:
		st->flags &= ~VIRQ_VCPU_STATE_REINJECT;
		memset(&st->reinject, 0, sizeof(st->reinject));
		st->flags |= VIRQ_VCPU_STATE_TRIPLE_FAULT;
		break;
	case D_TRIPLE_WITH_REINJ:
		st->flags &= ~VIRQ_VCPU_STATE_EXCEPTION;
		memset(&st->exception, 0, sizeof(st->exception));
		st->flags |= VIRQ_VCPU_STATE_TRIPLE_FAULT;
		break;
	default:
		fail();
	}
}

static void test_restore_refuses_damage(void **state)
{
	struct virq_vcpu p, q;
	struct vm_fixture *fx = fixture(&p);
	struct virq_vcpu_state good, st, before, after;

	(void)state;
	mid_state(fx, &p);
	assert_int_equal(virq_vcpu_save(&p, &good), 0);
	/* The victim holds a state of its own, to be left untouched. */
	assert_int_equal(virq_vcpu_init(&q, fx_apic(fx, 1), &fx->vm), 0);
	assert_int_equal(virq_vcpu_set_options(&q, VIRQ_VCPU_OPT_NMI_BLOCKING), 0);
	assert_int_equal(virq_vcpu_queue_exception(&q, 0, false, 0), 0);
	for (unsigned d = 0; d < D_COUNT; d++) {
		int want = d <= D_SIZE_BIG ? -VIRQ_EVERSION : -VIRQ_ESTATE;

		st = good;
		damage(&st, (enum damage)d);
		if (d == D_BLOCKED_NO_OPT)
			assert_int_equal(virq_vcpu_set_options(&q, 0), 0);
		assert_int_equal(virq_vcpu_save(&q, &before), 0);
		assert_int_equal(virq_vcpu_restore(&q, &st), want);
		assert_int_equal(virq_vcpu_save(&q, &after), 0);
		assert_memory_equal(&before, &after, sizeof(before));
		if (d == D_BLOCKED_NO_OPT)
			assert_int_equal(virq_vcpu_set_options(&q, VIRQ_VCPU_OPT_NMI_BLOCKING), 0);
	}
	/* The undamaged state is taken. */
	assert_int_equal(virq_vcpu_restore(&q, &good), 0);
	assert_int_equal(virq_vcpu_save(&q, &after), 0);
	assert_memory_equal(&good, &after, sizeof(good));
	/* A held SIPI with its vector is fine. */
	st = good;
	st.held |= VIRQ_LAPIC_EV_SIPI;
	st.sipi_vector = 0x9A;
	assert_int_equal(virq_vcpu_restore(&q, &st), 0);
	done(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_exception),
		cmocka_unit_test(test_double_fault_table_all_pairs),
		cmocka_unit_test(test_double_fault_rows),
		cmocka_unit_test(test_triple_fault),
		cmocka_unit_test(test_benign_during_df_both_readings),
		cmocka_unit_test(test_error_code_per_vector),
		cmocka_unit_test(test_invalid_vectors),
		cmocka_unit_test(test_reinject_intr_before_nmi_and_lapic),
		cmocka_unit_test(test_reinject_nmi_keeps_held_nmi),
		cmocka_unit_test(test_exception_during_reinjected_intr),
		cmocka_unit_test(test_exception_during_reinjected_exception),
		cmocka_unit_test(test_reinject_soft_events_keep_length),
		cmocka_unit_test(test_reinject_refused),
		cmocka_unit_test(test_nmi_blocking_until_unblocked),
		cmocka_unit_test(test_smi_and_init_with_exceptions),
		cmocka_unit_test(test_without_lapic),
		cmocka_unit_test(test_save_restore_round_trip),
		cmocka_unit_test(test_restore_refuses_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
