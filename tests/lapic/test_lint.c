/* SPDX-License-Identifier: MIT */
/*
 * LINT0/LINT1 input pins through virq_lapic_set_lint(): Fixed edge and level
 * (Remote IRR), polarity, NMI/SMI/INIT, ExtINT, masking, the globally
 * disabled APIC's pass-through, and the kick protocol.
 * SDM 10.5.1 "Local Vector Table" (LVT trigger/polarity/Remote IRR;
 * ExtINT), 10.4.3 "Enabling or Disabling the Local APIC" (EN=0: LINT0 is
 * INTR, LINT1 is NMI, as bhyve does). Regression (peer bug): ACRN lost and
 * duplicate interrupts from polarity and initial pin state.
 */
#include "harness.h"

#define LINT0 VIRQ_LAPIC_REG_LVT_LINT0
#define LINT1 VIRQ_LAPIC_REG_LVT_LINT1
#define LVL VIRQ_LVT_LEVEL
#define LOW VIRQ_LVT_POLARITY_LOW
#define RIRR VIRQ_LVT_REMOTE_IRR
#define MASKED VIRQ_LVT_MASKED
#define DM_NMI 0x400U
#define DM_SMI 0x200U
#define DM_INIT 0x500U
#define DM_EXTINT 0x700U

static uint32_t lvt_off(unsigned pin)
{
	return pin ? LINT1 : LINT0;
}

static uint32_t events(struct lapic_fixture *fx)
{
	struct virq_lapic_events ev;
	uint32_t f = virq_lapic_take_events(&fx->apic, &ev);

	assert_int_equal(f, ev.flags);
	return f;
}

static void pin(struct lapic_fixture *fx, unsigned p, bool level)
{
	assert_int_equal(virq_lapic_set_lint(&fx->apic, p, level), 0);
}

static unsigned irr_count(struct lapic_fixture *fx)
{
	unsigned n = 0;

	for (unsigned w = 0; w < 8; w++)
		n += (unsigned)__builtin_popcount(fx->page[(VIRQ_LAPIC_REG_IRR >> 2) + w * 4]);
	return n;
}

static void setup(struct lapic_fixture *fx)
{
	fixture_init(fx, NULL);
	fixture_sw_enable(fx);
}

/* ---- argument check and kick protocol (lapic.h) ---- */

static void test_lint_bad_pin(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic saved;

	(void)state;
	setup(&fx);
	memcpy(&saved, &fx.apic, sizeof(saved));
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 2, true), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 2, false), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 3, true), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 0xFFFFFFFFU, true), -VIRQ_EINVAL);
	assert_memory_equal(&saved, &fx.apic, sizeof(saved));
	assert_int_equal(fx.f.kicks, 0);
	assert_invariants(&fx);
}

static void test_lint_kick_once(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	pin(&fx, 0, false); /* no change: no kick */
	assert_int_equal(fx.f.kicks, 0);
	pin(&fx, 0, true);
	assert_int_equal(fx.f.kicks, 1);
	pin(&fx, 0, true);
	pin(&fx, 1, true);
	pin(&fx, 0, false);
	pin(&fx, 1, false);
	assert_int_equal(fx.f.kicks, 1); /* notification already outstanding */
	virq_lapic_sync(&fx.apic);
	pin(&fx, 1, false);
	assert_int_equal(fx.f.kicks, 1);
	pin(&fx, 1, true);
	assert_int_equal(fx.f.kicks, 2);
	assert_int_equal(events(&fx), 0);
	pin(&fx, 1, false);
	assert_int_equal(fx.f.kicks, 3);
	assert_invariants(&fx);
}

/* ---- Fixed, edge ---- */

static void test_lint_fixed_edge(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned p = 0; p < 2; p++) {
		uint8_t vec = (uint8_t)(0x31 + p);

		setup(&fx);
		mmio_w(&fx, lvt_off(p), vec);
		pin(&fx, p, true);
		assert_true(virq_lapic_sync(&fx.apic));
		assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, vec));
		assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, vec));
		assert_int_equal(mmio_r(&fx, lvt_off(p)), vec); /* no Remote IRR for edge */
		assert_int_equal(virq_lapic_ack(&fx.apic), vec);
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(fx.f.n_eois, 0);
		/* Held high: no new edge, nothing. */
		virq_lapic_sync(&fx.apic);
		assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		/* Falling edge: nothing. */
		pin(&fx, p, false);
		assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		/* Next rising edge: delivered again. */
		pin(&fx, p, true);
		assert_int_equal(virq_lapic_ack(&fx.apic), vec);
		virq_lapic_eoi(&fx.apic);
		/* A pulse between two syncs is one edge. */
		pin(&fx, p, false);
		virq_lapic_sync(&fx.apic);
		pin(&fx, p, true);
		pin(&fx, p, false);
		virq_lapic_sync(&fx.apic);
		assert_int_equal(irr_count(&fx), 1);
		assert_int_equal(virq_lapic_ack(&fx.apic), vec);
		assert_int_equal(virq_lapic_ack(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(events(&fx), 0);
		assert_invariants(&fx);
	}
}

/* Active-low edge: the falling edge asserts. */
static void test_lint_fixed_edge_active_low(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	pin(&fx, 1, true); /* idle level of an active-low line */
	virq_lapic_sync(&fx.apic);
	mmio_w(&fx, LINT1, LOW | 0x44);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	pin(&fx, 1, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x44);
	virq_lapic_eoi(&fx.apic);
	pin(&fx, 1, true);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
	pin(&fx, 1, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x44);
	assert_invariants(&fx);
}

/* ---- Fixed, level, Remote IRR ---- */

static void test_lint_fixed_level_remote_irr(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned p = 0; p < 2; p++) {
		uint8_t vec = (uint8_t)(0x52 + p);
		uint32_t lvt = LVL | vec;

		setup(&fx);
		mmio_w(&fx, lvt_off(p), lvt);
		assert_int_equal(mmio_r(&fx, lvt_off(p)), lvt);
		pin(&fx, p, true);
		assert_true(virq_lapic_sync(&fx.apic));
		assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, vec));
		assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, vec));
		assert_int_equal(mmio_r(&fx, lvt_off(p)), lvt | RIRR);
		assert_int_equal(virq_lapic_ack(&fx.apic), vec);
		/* Asserted with Remote IRR set: no second delivery, whatever makes
		 * the owner re-evaluate the pin (a sync after the other pin moved,
		 * a rewrite of the entry). */
		virq_lapic_sync(&fx.apic);
		pin(&fx, !p, true);
		virq_lapic_sync(&fx.apic);
		pin(&fx, !p, false);
		virq_lapic_sync(&fx.apic);
		mmio_w(&fx, lvt_off(p), lvt);
		assert_int_equal(mmio_r(&fx, lvt_off(p)), lvt | RIRR);
		assert_int_equal(irr_count(&fx), 0);
		assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		/* EOI: broadcast (TMR set), Remote IRR clears, and the still
		 * asserted pin delivers again at once. */
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(fx.f.n_eois, 1);
		assert_int_equal(fx.f.eois[0], vec);
		assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, vec));
		assert_int_equal(mmio_r(&fx, lvt_off(p)), lvt | RIRR);
		assert_int_equal(virq_lapic_ack(&fx.apic), vec);
		/* Deassert, then EOI: Remote IRR clears, nothing new. */
		pin(&fx, p, false);
		virq_lapic_sync(&fx.apic);
		virq_lapic_eoi(&fx.apic);
		assert_int_equal(fx.f.n_eois, 2);
		assert_int_equal(mmio_r(&fx, lvt_off(p)), lvt);
		assert_int_equal(irr_count(&fx), 0);
		assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);
		/* Deassert before EOI without a sync in between: still nothing. */
		pin(&fx, p, true);
		assert_int_equal(virq_lapic_ack(&fx.apic), vec);
		pin(&fx, p, false);
		virq_lapic_eoi(&fx.apic);
		virq_lapic_sync(&fx.apic);
		assert_int_equal(irr_count(&fx), 0);
		assert_int_equal(mmio_r(&fx, lvt_off(p)), lvt);
		assert_invariants(&fx);
	}
}

/* Remote IRR is cleared only by the EOI of its own vector. */
static void test_lint_remote_irr_other_vector_eoi(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	mmio_w(&fx, LINT0, LVL | 0x40);
	pin(&fx, 0, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x40);
	virq_lapic_post(&fx.apic, 0x90, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x90);
	virq_lapic_eoi(&fx.apic); /* retires 0x90 */
	assert_int_equal(mmio_r(&fx, LINT0), LVL | RIRR | 0x40);
	assert_int_equal(irr_count(&fx), 0);
	virq_lapic_eoi(&fx.apic);                                /* retires 0x40 */
	assert_int_equal(mmio_r(&fx, LINT0), LVL | RIRR | 0x40); /* re-delivered */
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x40));
	assert_invariants(&fx);
}

/* Active-low level: low asserts, high deasserts. */
static void test_lint_fixed_level_active_low(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	pin(&fx, 0, true); /* idle */
	virq_lapic_sync(&fx.apic);
	mmio_w(&fx, LINT0, LVL | LOW | 0x61);
	virq_lapic_sync(&fx.apic);
	assert_int_equal(irr_count(&fx), 0);
	assert_int_equal(mmio_r(&fx, LINT0), LVL | LOW | 0x61);
	pin(&fx, 0, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x61));
	assert_int_equal(mmio_r(&fx, LINT0), LVL | LOW | RIRR | 0x61);
	pin(&fx, 0, true);
	virq_lapic_sync(&fx.apic);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(mmio_r(&fx, LINT0), LVL | LOW | 0x61);
	assert_int_equal(irr_count(&fx), 0);
	/* Polarity inverted while the pin is high: now asserted. */
	mmio_w(&fx, LINT0, LVL | 0x61);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x61);
	assert_invariants(&fx);
}

/* ---- NMI, SMI, INIT on the asserting edge ---- */

static void test_lint_nmi_edge(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned p = 0; p < 2; p++) {
		setup(&fx);
		mmio_w(&fx, lvt_off(p), DM_NMI);
		assert_int_equal(events(&fx), 0);
		pin(&fx, p, true);
		assert_int_equal(events(&fx), VIRQ_LAPIC_EV_NMI);
		assert_int_equal(events(&fx), 0); /* held: one NMI per edge */
		pin(&fx, p, false);
		assert_int_equal(events(&fx), 0);
		pin(&fx, p, true);
		assert_int_equal(events(&fx), VIRQ_LAPIC_EV_NMI);
		/* A pulse between two polls is one NMI. */
		pin(&fx, p, false);
		pin(&fx, p, true);
		pin(&fx, p, false);
		assert_int_equal(events(&fx), VIRQ_LAPIC_EV_NMI);
		assert_int_equal(irr_count(&fx), 0);
		assert_int_equal(mmio_r(&fx, lvt_off(p)), DM_NMI);
		assert_invariants(&fx);
	}
	/* Active-low NMI: falling edge. */
	setup(&fx);
	pin(&fx, 1, true);
	mmio_w(&fx, LINT1, LOW | DM_NMI);
	assert_int_equal(events(&fx), 0);
	pin(&fx, 1, false);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_NMI);
	pin(&fx, 1, true);
	assert_int_equal(events(&fx), 0);
	assert_invariants(&fx);
}

static void test_lint_smi_init_edge(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	mmio_w(&fx, LINT1, DM_SMI);
	pin(&fx, 1, true);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_SMI);
	assert_int_equal(events(&fx), 0);
	assert_invariants(&fx);
	/* INIT: the LAPIC resets (LVTs masked again, SVR 0xFF). */
	setup(&fx);
	mmio_w(&fx, LINT0, DM_INIT);
	mmio_w(&fx, VIRQ_LAPIC_REG_TPR, 0x20);
	pin(&fx, 0, true);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_INIT);
	assert_int_equal(mmio_r(&fx, LINT0), MASKED);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_SVR), 0xFF);
	assert_int_equal(events(&fx), 0);
	assert_invariants(&fx);
}

/* ---- ExtINT (lapic.h EV_EXTINT: reported while LINT0 is asserted) ---- */

static void test_lint_extint_level(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	mmio_w(&fx, LINT0, DM_EXTINT);
	assert_int_equal(events(&fx), 0);
	pin(&fx, 0, true);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT); /* while asserted */
	assert_int_equal(irr_count(&fx), 0);
	pin(&fx, 0, false);
	assert_int_equal(events(&fx), 0);
	/* Masked: not reported even while asserted. */
	pin(&fx, 0, true);
	mmio_w(&fx, LINT0, MASKED | DM_EXTINT);
	assert_int_equal(events(&fx), 0);
	mmio_w(&fx, LINT0, DM_EXTINT);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT);
	/* Active low: high is deasserted, low asserted. */
	mmio_w(&fx, LINT0, LOW | DM_EXTINT);
	assert_int_equal(events(&fx), 0);
	pin(&fx, 0, false);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT);
	assert_int_equal(irr_count(&fx), 0);
	assert_invariants(&fx);
}

/*
 * Review finding 6: SDM 10.5.1 "Local Vector Table" lists ExtINT among the delivery modes of
 * both LINT entries (the LVT accepts it, lapic.h documents it), but only
 * LINT0 was ever looked at: LINT1 programmed ExtINT never asked for an
 * INTA. ExtINT is level-sensitive on LINT1 too, with its polarity, mask
 * and has_work() wake-up; LINT0 is unaffected by LINT1's pin.
 */
static void test_lint_extint_lint1_reported(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	mmio_w(&fx, LINT1, DM_EXTINT);
	assert_int_equal(mmio_r(&fx, LINT1), DM_EXTINT);
	assert_false(virq_lapic_has_work(&fx.apic));
	pin(&fx, 1, true);
	assert_true(virq_lapic_has_work(&fx.apic));
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT); /* level: while asserted */
	assert_int_equal(irr_count(&fx), 0);
	pin(&fx, 1, false);
	assert_int_equal(events(&fx), 0);
	assert_false(virq_lapic_has_work(&fx.apic));
	/* Active low. */
	mmio_w(&fx, LINT1, LOW | DM_EXTINT);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT);
	pin(&fx, 1, true);
	assert_int_equal(events(&fx), 0);
	/* Masked: nothing. */
	pin(&fx, 1, false);
	mmio_w(&fx, LINT1, MASKED | LOW | DM_EXTINT);
	assert_int_equal(events(&fx), 0);
	/* LINT0 (masked at reset) high does not make LINT1 report. */
	mmio_w(&fx, LINT1, DM_EXTINT);
	pin(&fx, 0, true);
	assert_int_equal(events(&fx), 0);
	assert_int_equal(mmio_r(&fx, LINT0), MASKED);
	assert_invariants(&fx);
}

/*
 * Review finding 3: a level LINT0 entry rewritten (vector 0x50 -> 0x60)
 * while its interrupt is in service. The EOI carries 0x50, the vector that
 * was delivered; Remote IRR ("reset when an EOI command is received", SDM
 * 10.5.1 "Local Vector Table") must clear on it, as an I/O APIC entry's does when the guest
 * moves it in flight. It stayed set forever (only INIT, reset or a disable
 * cycle cleared it) and LINT0 was dead. After the fix: cleared by the EOI
 * of 0x50, the still-asserted pin is delivered again with the new vector.
 */
static void test_lint_remote_irr_vector_rewritten_in_service(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	mmio_w(&fx, LINT0, LVL | 0x50);
	pin(&fx, 0, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x50);
	assert_int_equal(mmio_r(&fx, LINT0), LVL | RIRR | 0x50);
	/* The guest moves the interrupt to 0x60 while 0x50 is in service. */
	mmio_w(&fx, LINT0, LVL | 0x60);
	assert_int_equal(mmio_r(&fx, LINT0), LVL | RIRR | 0x60);
	assert_int_equal(irr_count(&fx), 0); /* Remote IRR holds it */
	virq_lapic_eoi(&fx.apic);            /* EOI of 0x50 */
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_ISR, 0x50));
	/* Cleared, and the asserted pin delivered again with 0x60. */
	assert_int_equal(mmio_r(&fx, LINT0), LVL | RIRR | 0x60);
	assert_int_equal(irr_count(&fx), 1);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x60));
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x60));
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.eois[0], 0x50);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x60);
	virq_lapic_eoi(&fx.apic); /* EOI of 0x60: once more while asserted */
	assert_int_equal(mmio_r(&fx, LINT0), LVL | RIRR | 0x60);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x60);
	pin(&fx, 0, false);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(mmio_r(&fx, LINT0), LVL | 0x60);
	assert_int_equal(irr_count(&fx), 0);
	assert_invariants(&fx);

	/* Same with LINT1 and a rewrite to another delivery mode (NMI): the
	 * EOI of the delivered vector still clears Remote IRR. */
	setup(&fx);
	mmio_w(&fx, LINT1, LVL | 0x51);
	pin(&fx, 1, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x51);
	mmio_w(&fx, LINT1, DM_NMI);
	assert_int_equal(mmio_r(&fx, LINT1), RIRR | DM_NMI);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(mmio_r(&fx, LINT1), DM_NMI);
	assert_int_equal(irr_count(&fx), 0);
	assert_invariants(&fx);
}

/*
 * The delivered vector clears Remote IRR even when TMR no longer says
 * level: an edge interrupt of the same vector accepted while the LINT one
 * is in service clears TMR (SDM 10.8.4 "Interrupt Acceptance for Fixed
 * Interrupts": TMR follows the last acceptance), so that EOI is not
 * broadcast, but it still ends the LINT interrupt.
 */
static void test_lint_remote_irr_cleared_after_edge_same_vector(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	mmio_w(&fx, LINT0, LVL | 0x52);
	pin(&fx, 0, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x52);
	virq_lapic_post(&fx.apic, 0x52, false); /* edge, same vector */
	virq_lapic_sync(&fx.apic);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x52));
	pin(&fx, 0, false);
	virq_lapic_eoi(&fx.apic); /* the LINT one, from ISR */
	assert_int_equal(fx.f.n_eois, 0);
	assert_int_equal(mmio_r(&fx, LINT0), LVL | 0x52);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x52); /* the edge one */
	virq_lapic_eoi(&fx.apic);
	pin(&fx, 0, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x52);
	assert_int_equal(mmio_r(&fx, LINT0), LVL | RIRR | 0x52);
	assert_invariants(&fx);
}

/* A global disable takes the in-service LINT interrupt and its Remote IRR. */
static void test_lint_remote_irr_cleared_by_global_disable(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_state st;

	(void)state;
	setup(&fx);
	mmio_w(&fx, LINT0, LVL | 0x53);
	pin(&fx, 0, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x53);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, 0xFEE00100ULL, false), 0);
	assert_int_equal(fx.page[LINT0 >> 2], LVL | 0x53);
	assert_int_equal(virq_lapic_save(&fx.apic, &st), 0);
	assert_int_equal(st.lint_vectors, 0);
	assert_int_equal(virq_lapic_restore(&fx.apic, &st), 0);
	assert_invariants(&fx);
}

/* ---- masked pins lose their edges (SDM 10.5.1 "Local Vector Table") ---- */

static void test_lint_masked_edges_lost(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	/* Fixed edge. */
	setup(&fx);
	mmio_w(&fx, LINT0, MASKED | 0x35);
	pin(&fx, 0, true);
	virq_lapic_sync(&fx.apic);
	assert_int_equal(irr_count(&fx), 0);
	mmio_w(&fx, LINT0, 0x35); /* unmask while high: the edge is gone */
	virq_lapic_sync(&fx.apic);
	assert_int_equal(irr_count(&fx), 0);
	pin(&fx, 0, false);
	pin(&fx, 0, true);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x35);
	assert_invariants(&fx);
	/* An edge the owner has not applied yet when the guest unmasks: pins are
	 * applied at the next sync (lapic.h virq_lapic_set_lint), i.e. after the
	 * unmask, so it is delivered exactly once. */
	setup(&fx);
	mmio_w(&fx, LINT0, MASKED | 0x35);
	pin(&fx, 0, true);
	mmio_w(&fx, LINT0, 0x35);
	virq_lapic_sync(&fx.apic);
	assert_int_equal(irr_count(&fx), 1);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x35);
	virq_lapic_eoi(&fx.apic);
	virq_lapic_sync(&fx.apic);
	assert_int_equal(irr_count(&fx), 0);
	assert_invariants(&fx);
	/* NMI. */
	setup(&fx);
	mmio_w(&fx, LINT1, MASKED | DM_NMI);
	pin(&fx, 1, true);
	assert_int_equal(events(&fx), 0);
	mmio_w(&fx, LINT1, DM_NMI);
	assert_int_equal(events(&fx), 0);
	pin(&fx, 1, false);
	pin(&fx, 1, true);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_NMI);
	assert_invariants(&fx);
	/* Level: not an edge; unmasking while asserted delivers. */
	setup(&fx);
	mmio_w(&fx, LINT1, MASKED | LVL | 0x36);
	pin(&fx, 1, true);
	virq_lapic_sync(&fx.apic);
	assert_int_equal(irr_count(&fx), 0);
	assert_int_equal(mmio_r(&fx, LINT1), MASKED | LVL | 0x36);
	mmio_w(&fx, LINT1, LVL | 0x36);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x36);
	assert_int_equal(mmio_r(&fx, LINT1), LVL | RIRR | 0x36);
	assert_invariants(&fx);
}

/* ---- globally disabled APIC: LINT0 = INTR, LINT1 = NMI (SDM 10.4.3 "Enabling or
 * Disabling the Local APIC"; bhyve) ---- */

static void test_lint_globally_disabled(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, 0xFEE00100ULL, false), 0);
	assert_int_equal(events(&fx), 0);
	/* LINT0 level: ExtINT while high. */
	pin(&fx, 0, true);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT);
	pin(&fx, 0, false);
	assert_int_equal(events(&fx), 0);
	/* LINT1 rising edge: one NMI per edge. */
	pin(&fx, 1, true);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_NMI);
	assert_int_equal(events(&fx), 0);
	pin(&fx, 1, false);
	assert_int_equal(events(&fx), 0);
	pin(&fx, 1, true);
	pin(&fx, 0, true);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_NMI | VIRQ_LAPIC_EV_EXTINT);
	assert_int_equal(events(&fx), VIRQ_LAPIC_EV_EXTINT);
	assert_int_equal(irr_count(&fx), 0);
	/* Back to xAPIC: LVTs at reset (masked), the pins do nothing. */
	pin(&fx, 1, false);
	assert_int_equal(virq_lapic_set_apic_base(&fx.apic, 0xFEE00900ULL, false), 0);
	assert_int_equal(events(&fx), 0);
	pin(&fx, 1, true);
	assert_int_equal(events(&fx), 0);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lint_bad_pin),
		cmocka_unit_test(test_lint_kick_once),
		cmocka_unit_test(test_lint_fixed_edge),
		cmocka_unit_test(test_lint_fixed_edge_active_low),
		cmocka_unit_test(test_lint_fixed_level_remote_irr),
		cmocka_unit_test(test_lint_remote_irr_other_vector_eoi),
		cmocka_unit_test(test_lint_fixed_level_active_low),
		cmocka_unit_test(test_lint_nmi_edge),
		cmocka_unit_test(test_lint_smi_init_edge),
		cmocka_unit_test(test_lint_extint_level),
		cmocka_unit_test(test_lint_extint_lint1_reported),
		cmocka_unit_test(test_lint_remote_irr_vector_rewritten_in_service),
		cmocka_unit_test(test_lint_remote_irr_cleared_after_edge_same_vector),
		cmocka_unit_test(test_lint_remote_irr_cleared_by_global_disable),
		cmocka_unit_test(test_lint_masked_edges_lost),
		cmocka_unit_test(test_lint_globally_disabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
