/* SPDX-License-Identifier: MIT */
/*
 * The vCPU event policy (vcpu.h) over a real VM: LAPICs, the 8259 pair
 * through LINT0 ExtINT, the I/O APIC. Every decision is pinned exactly:
 * the actions bitmask, vector and source, the LAPIC's IRR/ISR (and the
 * PIC's) afterwards, the stats. Also the VM hooks the split irqchip uses:
 * deliver_msi, pic_intr and virq_vm_pic_take().
 */
#include "harness.h"

#include <virq/vcpu.h>

#define RTE_LEVEL VIRQ_IOAPIC_RTE_LEVEL
#define RTE_DEST(d) ((uint64_t)(d) << 56)

#define A_INIT VIRQ_VCPU_INIT
#define A_SIPI VIRQ_VCPU_SIPI
#define A_SMI VIRQ_VCPU_SMI
#define A_NMI VIRQ_VCPU_NMI
#define A_INTR VIRQ_VCPU_INTR
#define A_IWIN VIRQ_VCPU_INTR_WINDOW
#define A_NWIN VIRQ_VCPU_NMI_WINDOW
#define A_WAIT VIRQ_VCPU_WAIT_SIPI

/* ---- helpers ---- */

/* One decision with window (@intr, @nmi); checks the return value, the
 * reserved byte and that vector/source are only set with INTR. */
static uint32_t dec(struct virq_vcpu *p, bool intr, bool nmi, struct virq_vcpu_decision *d)
{
	struct virq_vcpu_window w = { .intr = intr, .nmi = nmi };
	uint32_t a;

	memset(d, 0xA5, sizeof(*d));
	a = virq_vcpu_decide(p, &w, d);
	assert_int_equal(a, d->actions);
	assert_int_equal(d->reserved, 0);
	if (!(a & A_INTR)) {
		assert_int_equal(d->vector, 0);
		assert_int_equal(d->source, VIRQ_VCPU_SRC_NONE);
	}
	if (!(a & A_SIPI))
		assert_int_equal(d->sipi_vector, 0);
	return a;
}

/* Decision that must be exactly @want with no interrupt. */
static void expect(struct virq_vcpu *p, bool intr, bool nmi, uint32_t want)
{
	struct virq_vcpu_decision d;

	assert_int_equal(dec(p, intr, nmi, &d), want);
}

/* Decision that must be exactly @want (which has INTR) with @vec from @src. */
static void expect_intr(struct virq_vcpu *p, bool nmi, uint32_t want, uint8_t vec, uint8_t src)
{
	struct virq_vcpu_decision d;

	assert_int_equal(dec(p, true, nmi, &d), want);
	assert_int_equal(d.vector, vec);
	assert_int_equal(d.source, src);
}

static bool isr_has(struct vm_fixture *fx, uint32_t i, uint8_t v)
{
	return (fx->pages[i][(VIRQ_LAPIC_REG_ISR >> 2) + (v >> 5) * 4] >> (v & 31)) & 1U;
}

/* Raw IRR bit, without folding posted requests first. */
static bool irr_raw(struct vm_fixture *fx, uint32_t i, uint8_t v)
{
	return (fx->pages[i][(VIRQ_LAPIC_REG_IRR >> 2) + (v >> 5) * 4] >> (v & 31)) & 1U;
}

static unsigned isr_count(struct vm_fixture *fx, uint32_t i)
{
	unsigned n = 0;

	for (unsigned r = 0; r < 8; r++)
		n += (unsigned)__builtin_popcount(fx->pages[i][(VIRQ_LAPIC_REG_ISR >> 2) + r * 4]);
	return n;
}

struct want_stats {
	uint64_t nmi, nmi_dropped, smi, intr_lapic, intr_pic, intr_windows, init, sipi;
};

static void expect_stats(const struct virq_vcpu *p, struct want_stats w)
{
	const struct virq_vcpu_stats *s = virq_vcpu_get_stats(p);

	assert_int_equal(s->nmi, w.nmi);
	assert_int_equal(s->nmi_dropped, w.nmi_dropped);
	assert_int_equal(s->smi, w.smi);
	assert_int_equal(s->intr_lapic, w.intr_lapic);
	assert_int_equal(s->intr_pic, w.intr_pic);
	assert_int_equal(s->intr_windows, w.intr_windows);
	assert_int_equal(s->init, w.init);
	assert_int_equal(s->sipi, w.sipi);
}

static void post(struct vm_fixture *fx, uint32_t dest, uint8_t dm, uint8_t vec)
{
	assert_int_equal(fx_send(fx, dest, false, dm, vec), 1);
}

/* A two-vCPU VM: BSP 0 (ID 0), AP 1 (ID 1, in wait-for-SIPI), both
 * software-enabled xAPICs; policy p[i] for each. */
static struct vm_fixture *vcpu_fixture(struct virq_vcpu p[2])
{
	struct vm_fixture *fx = fx_new(2, 256, 24);

	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	assert_int_equal(virq_vcpu_init(&p[0], fx_apic(fx, 0), &fx->vm), 0);
	assert_int_equal(virq_vcpu_init(&p[1], fx_apic(fx, 1), &fx->vm), 0);
	return fx;
}

static void pic_init(struct vm_fixture *fx)
{
	/* As test_e2e.c: master base 0x08, slave base 0x70, all unmasked. */
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x20, 0x11), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x08), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x04), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x01), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA0, 0x11), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA1, 0x70), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA1, 0x02), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA1, 0x01), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x00), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0xA1, 0x00), 0);
}

/* vcpu_fixture plus the PIC on the BSP's LINT0 (virtual wire, ExtINT). */
static struct vm_fixture *pic_fixture(struct virq_vcpu p[2])
{
	struct vm_fixture *fx = vcpu_fixture(p);

	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 0), 0);
	pic_init(fx);
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_LVT_LINT0, 0x700);
	return fx;
}

static void fx_done(struct vm_fixture *fx)
{
	fx_check(fx);
	if (fx->vm.pic)
		assert_int_equal(pic_check_invariants(&fx->pic), 0);
	if (fx->vm.nr_ioapics)
		assert_int_equal(ioapic_check_invariants(&fx->ioapic), 0);
	fx_free(fx);
}

/* ---- init, reset ---- */

static void test_init_rejects_null(void **state)
{
	struct vm_fixture *fx = fx_new(1, 256, 0);
	struct virq_lapic *l = fx_add_xapic(fx, 0, 0);
	struct virq_vcpu p;

	(void)state;
	memset(&p, 0x5A, sizeof(p));
	assert_int_equal(virq_vcpu_init(NULL, l, &fx->vm), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_init(&p, NULL, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_vcpu_init(NULL, NULL, NULL), -VIRQ_EINVAL);
	/* A LAPIC elsewhere with an 8259 here is a mode of its own. */
	assert_int_equal(virq_vcpu_init(&p, NULL, &fx->vm), 0);
	/* No VM (no 8259) is fine; init zeroes the stats. */
	assert_int_equal(virq_vcpu_init(&p, l, NULL), 0);
	expect_stats(&p, (struct want_stats){ 0 });
	virq_vcpu_reset(NULL);
	expect(&p, true, true, 0);
	fx_free(fx);
}

static void test_nothing_pending(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	for (unsigned w = 0; w < 4; w++)
		expect(&p[0], w & 1, w & 2, 0);
	expect_stats(&p[0], (struct want_stats){ 0 });
	assert_false(virq_vcpu_wakes(&p[0], false));
	assert_false(virq_vcpu_wakes(&p[0], true));
	fx_done(fx);
}

static void test_reset_forgets_nmis_keeps_stats(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	virq_vcpu_reset(&p[0]);
	assert_false(virq_vcpu_wakes(&p[0], true));
	expect(&p[0], true, true, 0);
	/* Counts are since init, not since reset. */
	expect_stats(&p[0], (struct want_stats){ 0 });
	post(fx, 0, VIRQ_DM_SMI, 0);
	expect(&p[0], true, true, A_SMI);
	virq_vcpu_reset(&p[0]);
	expect_stats(&p[0], (struct want_stats){ .smi = 1 });
	fx_done(fx);
}

/* ---- maskable interrupts from the LAPIC ---- */

static void test_fixed_window_open(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	expect_intr(&p[0], true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	assert_true(isr_has(fx, 0, 0x41));
	assert_false(fx_irr(fx, 0, 0x41));
	assert_int_equal(isr_count(fx, 0), 1);
	assert_int_equal(fx_mmio_r(fx, 0, VIRQ_LAPIC_REG_PPR), 0x40);
	expect_stats(&p[0], (struct want_stats){ .intr_lapic = 1 });
	/* Taken: nothing more, whatever the window. */
	expect(&p[0], true, true, 0);
	expect(&p[0], false, true, 0);
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_EOI, 0);
	assert_false(isr_has(fx, 0, 0x41));
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .intr_lapic = 1 });
	fx_done(fx);
}

static void test_fixed_window_closed(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	expect(&p[0], false, true, A_IWIN);
	/* Not acknowledged. */
	assert_true(fx_irr(fx, 0, 0x41));
	assert_false(isr_has(fx, 0, 0x41));
	expect_stats(&p[0], (struct want_stats){ .intr_windows = 1 });
	expect(&p[0], false, false, A_IWIN);
	expect_stats(&p[0], (struct want_stats){ .intr_windows = 2 });
	/* The window opens. */
	expect_intr(&p[0], true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	assert_true(isr_has(fx, 0, 0x41));
	assert_false(fx_irr(fx, 0, 0x41));
	expect_stats(&p[0], (struct want_stats){ .intr_lapic = 1, .intr_windows = 2 });
	fx_done(fx);
}

static void test_priority_highest_first(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	post(fx, 0, VIRQ_DM_FIXED, 0x91);
	post(fx, 0, VIRQ_DM_FIXED, 0x35);
	expect_intr(&p[0], true, A_INTR, 0x91, VIRQ_VCPU_SRC_LAPIC);
	assert_true(isr_has(fx, 0, 0x91));
	assert_true(irr_raw(fx, 0, 0x41));
	assert_true(irr_raw(fx, 0, 0x35));
	assert_int_equal(isr_count(fx, 0), 1);
	/* 0x41 and 0x35 are below the in-service class: not deliverable, so
	 * neither injected nor a window. */
	expect(&p[0], true, true, 0);
	expect(&p[0], false, true, 0);
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_EOI, 0);
	expect_intr(&p[0], true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	assert_true(isr_has(fx, 0, 0x41));
	assert_false(irr_raw(fx, 0, 0x41));
	assert_true(irr_raw(fx, 0, 0x35));
	expect(&p[0], true, true, 0);
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_EOI, 0);
	expect_intr(&p[0], true, A_INTR, 0x35, VIRQ_VCPU_SRC_LAPIC);
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_EOI, 0);
	expect(&p[0], true, true, 0);
	assert_int_equal(isr_count(fx, 0), 0);
	expect_stats(&p[0], (struct want_stats){ .intr_lapic = 3 });
	fx_done(fx);
}

static void test_tpr_blocks_then_drops(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_TPR, 0x50);
	post(fx, 0, VIRQ_DM_FIXED, 0x45); /* class 4 < 5 */
	post(fx, 0, VIRQ_DM_FIXED, 0x5F); /* class 5 = PPR class 5 */
	expect(&p[0], true, true, 0);
	expect(&p[0], false, true, 0);
	assert_false(virq_vcpu_wakes(&p[0], true));
	assert_true(irr_raw(fx, 0, 0x45));
	assert_true(irr_raw(fx, 0, 0x5F));
	assert_int_equal(isr_count(fx, 0), 0);
	expect_stats(&p[0], (struct want_stats){ 0 });
	/* TPR 0x40: 0x5F (class 5) goes; 0x45 (class 4) still waits. */
	assert_int_equal(virq_lapic_set_cr8(fx_apic(fx, 0), 4), 0);
	assert_true(virq_vcpu_wakes(&p[0], true));
	expect(&p[0], false, true, A_IWIN);
	expect_intr(&p[0], true, A_INTR, 0x5F, VIRQ_VCPU_SRC_LAPIC);
	assert_true(isr_has(fx, 0, 0x5F));
	assert_true(irr_raw(fx, 0, 0x45));
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_EOI, 0);
	expect(&p[0], true, true, 0);
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_TPR, 0);
	expect_intr(&p[0], true, A_INTR, 0x45, VIRQ_VCPU_SRC_LAPIC);
	assert_false(irr_raw(fx, 0, 0x45));
	expect_stats(&p[0], (struct want_stats){ .intr_lapic = 2, .intr_windows = 1 });
	fx_done(fx);
}

/* ---- NMI ---- */

static void test_nmi_through_vm_deliver(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, true, A_NMI);
	expect(&p[0], true, true, 0);
	/* With the interrupt window closed an NMI still goes. */
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], false, true, A_NMI);
	expect_stats(&p[0], (struct want_stats){ .nmi = 2 });
	/* The AP (which waits for a SIPI) and its policy saw nothing. */
	expect_stats(&p[1], (struct want_stats){ 0 });
	fx_done(fx);
}

static void test_nmi_through_lint1(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);
	struct virq_lapic *l = fx_apic(fx, 0);

	(void)state;
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_LVT_LINT1, 0x400); /* NMI, edge, unmasked */
	assert_int_equal(virq_lapic_set_lint(l, 1, true), 0);
	expect(&p[0], true, true, A_NMI);
	/* Edge-sensitive: the pin staying high is no new NMI. */
	expect(&p[0], true, true, 0);
	assert_int_equal(virq_lapic_set_lint(l, 1, false), 0);
	expect(&p[0], true, true, 0);
	assert_int_equal(virq_lapic_set_lint(l, 1, true), 0);
	expect(&p[0], true, true, A_NMI);
	expect_stats(&p[0], (struct want_stats){ .nmi = 2 });
	fx_done(fx);
}

static void test_nmi_and_intr_one_event_per_entry(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, true, A_NMI | A_IWIN);
	assert_true(irr_raw(fx, 0, 0x41));
	assert_false(isr_has(fx, 0, 0x41));
	expect_intr(&p[0], true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	assert_true(isr_has(fx, 0, 0x41));
	expect_stats(&p[0], (struct want_stats){ .nmi = 1, .intr_lapic = 1, .intr_windows = 1 });
	fx_done(fx);
}

static void test_nmi_blocked_window(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	expect(&p[0], false, false, A_NWIN);
	/* NMIs blocked do not block a maskable interrupt. */
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	expect_intr(&p[0], false, A_NWIN | A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	assert_true(isr_has(fx, 0, 0x41));
	expect(&p[0], true, true, A_NMI);
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .nmi = 1, .intr_lapic = 1 });
	fx_done(fx);
}

static void test_nmi_at_most_two_held(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	/* Three NMIs, each taken by a decision while NMIs are blocked. */
	for (unsigned i = 0; i < 3; i++) {
		post(fx, 0, VIRQ_DM_NMI, 0);
		expect(&p[0], true, false, A_NWIN);
	}
	expect_stats(&p[0], (struct want_stats){ .nmi_dropped = 1 });
	expect(&p[0], true, true, A_NMI | A_NWIN);
	expect(&p[0], true, true, A_NMI);
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .nmi = 2, .nmi_dropped = 1 });

	/* The LAPIC counts two: three posted between two decisions are two
	 * NMIs (the third merges in the LAPIC, which the policy never sees). */
	for (unsigned i = 0; i < 3; i++)
		post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	expect(&p[0], true, true, A_NMI | A_NWIN);
	expect(&p[0], true, true, A_NMI);
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .nmi = 4, .nmi_dropped = 1 });
	fx_done(fx);
}

/*
 * Two NMIs that reach the LAPIC before the policy takes its events are two
 * NMIs, injected at two entries (the NMI window open each time), as KVM
 * delivers them; before the LAPIC counted them they merged into one (the
 * first decision asked for no NMI window, the second injected nothing).
 * An NMI message (virq_vm_deliver()) and an NMI on LINT1 add up the same
 * way. A third NMI while the policy holds two is dropped and counted.
 */
static void test_two_nmis_before_one_take(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);
	struct virq_lapic *l = fx_apic(fx, 0);

	(void)state;
	post(fx, 0, VIRQ_DM_NMI, 0);
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, true, A_NMI | A_NWIN);
	expect(&p[0], true, true, A_NMI);
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .nmi = 2 });

	/* A message and a LINT1 edge (LVT LINT1: NMI, edge). */
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_LVT_LINT1, 0x400);
	post(fx, 0, VIRQ_DM_NMI, 0);
	assert_int_equal(virq_lapic_set_lint(l, 1, true), 0);
	assert_true(virq_vcpu_wakes(&p[0], false));
	expect(&p[0], false, true, A_NMI | A_NWIN);
	expect(&p[0], false, true, A_NMI);
	expect(&p[0], false, true, 0);
	expect_stats(&p[0], (struct want_stats){ .nmi = 4 });

	/* Two held behind a closed NMI window; a third is dropped, counted. */
	post(fx, 0, VIRQ_DM_NMI, 0);
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	expect_stats(&p[0], (struct want_stats){ .nmi = 4, .nmi_dropped = 1 });
	expect(&p[0], true, true, A_NMI | A_NWIN);
	expect(&p[0], true, true, A_NMI);
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .nmi = 6, .nmi_dropped = 1 });

	/* One held, then two more arrive together: one of them is dropped. */
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	post(fx, 0, VIRQ_DM_NMI, 0);
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	expect_stats(&p[0], (struct want_stats){ .nmi = 6, .nmi_dropped = 2 });
	expect(&p[0], true, true, A_NMI | A_NWIN);
	expect(&p[0], true, true, A_NMI);
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .nmi = 8, .nmi_dropped = 2 });
	fx_done(fx);
}

/* ---- SMI ---- */

static void test_smi(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	/* Alone: taken whatever the windows. */
	post(fx, 0, VIRQ_DM_SMI, 0);
	expect(&p[0], false, false, A_SMI);
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .smi = 1 });

	/* With an NMI and a vector waiting: SMI alone is this entry's event;
	 * the other two wait and ask for their windows. */
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	post(fx, 0, VIRQ_DM_NMI, 0);
	post(fx, 0, VIRQ_DM_SMI, 0);
	expect(&p[0], true, true, A_SMI | A_NWIN | A_IWIN);
	assert_true(irr_raw(fx, 0, 0x41));
	assert_int_equal(isr_count(fx, 0), 0);
	expect(&p[0], true, true, A_NMI | A_IWIN);
	expect_intr(&p[0], true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	expect(&p[0], true, true, 0);
	expect_stats(&p[0],
		     (struct want_stats){ .nmi = 1, .smi = 2, .intr_lapic = 1, .intr_windows = 2 });
	fx_done(fx);
}

/* ---- INIT, SIPI ---- */

static void test_ap_power_up_wait_sipi(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	assert_int_equal(virq_lapic_get_mp_state(fx_apic(fx, 1)), VIRQ_LAPIC_MP_WAIT_SIPI);
	expect(&p[1], true, true, A_WAIT);
	/* Power-up wait with a software-enabled APIC: the vector is accepted
	 * into IRR but not injected; an NMI is held by the LAPIC. */
	post(fx, 1, VIRQ_DM_FIXED, 0x41);
	post(fx, 1, VIRQ_DM_NMI, 0);
	assert_false(virq_vcpu_wakes(&p[1], true));
	expect(&p[1], true, true, A_WAIT);
	expect(&p[1], false, false, A_WAIT);
	assert_true(irr_raw(fx, 1, 0x41));
	assert_int_equal(isr_count(fx, 1), 0);
	/* SIPI: start; nothing else that entry. */
	post(fx, 1, VIRQ_DM_STARTUP, 0x9A);
	assert_true(virq_vcpu_wakes(&p[1], false));
	{
		struct virq_vcpu_decision d;

		assert_int_equal(dec(&p[1], true, true, &d), A_SIPI);
		assert_int_equal(d.sipi_vector, 0x9A);
	}
	assert_int_equal(virq_lapic_get_mp_state(fx_apic(fx, 1)), VIRQ_LAPIC_MP_RUNNABLE);
	/* Then what waited: the NMI, then the vector. */
	expect(&p[1], true, true, A_NMI | A_IWIN);
	expect_intr(&p[1], true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	assert_true(isr_has(fx, 1, 0x41));
	/* A second SIPI while running is dropped by the LAPIC. */
	post(fx, 1, VIRQ_DM_STARTUP, 0x10);
	expect(&p[1], true, true, 0);
	expect_stats(&p[1], (struct want_stats){
				    .nmi = 1, .intr_lapic = 1, .intr_windows = 1, .sipi = 1 });
	fx_done(fx);
}

static void test_init_ap(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);
	struct virq_vcpu_decision d;

	(void)state;
	/* Start the AP and give it an interrupt in service and one waiting. */
	post(fx, 1, VIRQ_DM_STARTUP, 0x20);
	assert_int_equal(dec(&p[1], true, true, &d), A_SIPI);
	post(fx, 1, VIRQ_DM_FIXED, 0x61);
	expect_intr(&p[1], true, A_INTR, 0x61, VIRQ_VCPU_SRC_LAPIC);
	post(fx, 1, VIRQ_DM_FIXED, 0x51);
	/* An NMI held by the policy (blocked). */
	post(fx, 1, VIRQ_DM_NMI, 0);
	expect(&p[1], true, false, A_NWIN);

	post(fx, 1, VIRQ_DM_INIT, 0);
	assert_true(virq_vcpu_wakes(&p[1], false));
	expect(&p[1], true, true, A_INIT | A_WAIT);
	assert_int_equal(virq_lapic_get_mp_state(fx_apic(fx, 1)), VIRQ_LAPIC_MP_WAIT_SIPI);
	/* The LAPIC reset itself: IRR/ISR empty, software-disabled. */
	assert_int_equal(isr_count(fx, 1), 0);
	assert_false(irr_raw(fx, 1, 0x51));
	assert_int_equal(fx_mmio_r(fx, 1, VIRQ_LAPIC_REG_SVR) & 0x100U, 0);

	/* Waiting: no injection. A fixed vector is refused by the router and
	 * dropped by the LAPIC (software-disabled); an NMI stays pending in
	 * the LAPIC. */
	assert_int_equal(fx_send(fx, 1, false, VIRQ_DM_FIXED, 0x42), 0);
	virq_lapic_post(fx_apic(fx, 1), 0x42, false);
	post(fx, 1, VIRQ_DM_NMI, 0);
	expect(&p[1], true, true, A_WAIT);
	expect(&p[1], false, false, A_WAIT);
	assert_false(fx_irr(fx, 1, 0x42));
	assert_false(virq_vcpu_wakes(&p[1], true));
	assert_false(virq_vcpu_wakes(&p[1], false));

	post(fx, 1, VIRQ_DM_STARTUP, 0x9B);
	assert_int_equal(dec(&p[1], true, true, &d), A_SIPI);
	assert_int_equal(d.sipi_vector, 0x9B);
	/* The NMI held before INIT is gone; the one sent while waiting
	 * comes now, once. */
	expect(&p[1], true, true, A_NMI);
	expect(&p[1], true, true, 0);
	expect_stats(&p[1], (struct want_stats){ .nmi = 1, .intr_lapic = 1, .init = 1, .sipi = 2 });
	fx_done(fx);
}

static void test_init_bsp_drops_held_nmis(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, false, A_NWIN);
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	post(fx, 0, VIRQ_DM_INIT, 0);
	/* The BSP does not wait for a SIPI; INIT is the whole decision. */
	expect(&p[0], true, true, A_INIT);
	assert_int_equal(virq_lapic_get_mp_state(fx_apic(fx, 0)), VIRQ_LAPIC_MP_RUNNABLE);
	assert_false(irr_raw(fx, 0, 0x41));
	assert_false(virq_vcpu_wakes(&p[0], true));
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .init = 1 });
	fx_done(fx);
}

static void test_init_and_sipi_in_one_decision(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);
	struct virq_vcpu_decision d;

	(void)state;
	post(fx, 1, VIRQ_DM_INIT, 0);
	post(fx, 1, VIRQ_DM_STARTUP, 0x77);
	assert_int_equal(dec(&p[1], true, true, &d), A_INIT | A_SIPI);
	assert_int_equal(d.sipi_vector, 0x77);
	assert_int_equal(virq_lapic_get_mp_state(fx_apic(fx, 1)), VIRQ_LAPIC_MP_RUNNABLE);
	expect(&p[1], true, true, 0);
	expect_stats(&p[1], (struct want_stats){ .init = 1, .sipi = 1 });
	fx_done(fx);
}

/* ---- ExtINT (8259) ---- */

static void test_extint_through_lint0(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = pic_fixture(p);

	(void)state;
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_true(virq_pic_get_intr(&fx->pic));
	expect_intr(&p[0], true, A_INTR, 0x08 + 1, VIRQ_VCPU_SRC_PIC);
	/* The INTA cycle ran: PIC ISR bit 1, IRR clear, INT low; the LAPIC
	 * saw no vector. */
	assert_int_equal(fx->pic.chip[0].isr, 0x02);
	assert_int_equal(fx->pic.chip[0].irr, 0x00);
	assert_false(virq_pic_get_intr(&fx->pic));
	assert_int_equal(isr_count(fx, 0), 0);
	expect(&p[0], true, true, 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x20, 0x20), 0);
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	/* Slave IRQ 12 through the cascade. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 12, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	expect_intr(&p[0], true, A_INTR, 0x70 + 4, VIRQ_VCPU_SRC_PIC);
	assert_int_equal(fx->pic.chip[1].isr, 0x10);
	assert_int_equal(fx->pic.chip[0].isr, 0x04);
	expect_stats(&p[0], (struct want_stats){ .intr_pic = 2 });
	/* The AP never saw any of it. */
	expect(&p[1], true, true, A_WAIT);
	expect_stats(&p[1], (struct want_stats){ 0 });
	fx_done(fx);
}

static void test_extint_beats_lapic(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = pic_fixture(p);

	(void)state;
	post(fx, 0, VIRQ_DM_FIXED, 0xE1);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	/* The 8259 first; the LAPIC vector still waits, so the window is
	 * asked for. */
	expect_intr(&p[0], true, A_INTR | A_IWIN, 0x09, VIRQ_VCPU_SRC_PIC);
	assert_true(irr_raw(fx, 0, 0xE1));
	assert_int_equal(isr_count(fx, 0), 0);
	assert_int_equal(fx->pic.chip[0].isr, 0x02);
	expect_intr(&p[0], true, A_INTR, 0xE1, VIRQ_VCPU_SRC_LAPIC);
	assert_true(isr_has(fx, 0, 0xE1));
	expect(&p[0], true, true, 0);
	expect_stats(&p[0],
		     (struct want_stats){ .intr_lapic = 1, .intr_pic = 1, .intr_windows = 1 });
	fx_done(fx);
}

static void test_extint_window_closed_then_open(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = pic_fixture(p);

	(void)state;
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	expect(&p[0], false, true, A_IWIN);
	/* No INTA yet. */
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	assert_int_equal(fx->pic.chip[0].irr, 0x02);
	assert_true(virq_pic_get_intr(&fx->pic));
	expect_intr(&p[0], true, A_INTR, 0x09, VIRQ_VCPU_SRC_PIC);
	assert_int_equal(fx->pic.chip[0].isr, 0x02);
	expect_stats(&p[0], (struct want_stats){ .intr_pic = 1, .intr_windows = 1 });
	fx_done(fx);
}

static void test_extint_level_line_drops_before_window(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = pic_fixture(p);

	(void)state;
	assert_int_equal(virq_vm_pic_write(&fx->vm, VIRQ_PIC_ELCR1, 0x20), 0); /* IRQ 5 level */
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_HIGH), 0);
	assert_true(virq_pic_get_intr(&fx->pic));
	expect(&p[0], false, true, A_IWIN);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_LOW), 0);
	assert_false(virq_pic_get_intr(&fx->pic));
	/* The request went with the line: the LAPIC vector instead, and no
	 * INTA (no spurious IRQ 7 either). */
	expect_intr(&p[0], true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	assert_int_equal(fx->pic.chip[1].isr, 0x00);
	assert_true(isr_has(fx, 0, 0x41));
	expect(&p[0], true, true, 0);
	expect_stats(&p[0], (struct want_stats){ .intr_lapic = 1, .intr_windows = 1 });

	/* Same without a LAPIC vector: nothing at all. */
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_EOI, 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_HIGH), 0);
	expect(&p[0], false, true, A_IWIN);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_LOW), 0);
	expect(&p[0], true, true, 0);
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	assert_int_equal(isr_count(fx, 0), 0);
	expect_stats(&p[0], (struct want_stats){ .intr_lapic = 1, .intr_windows = 2 });
	fx_done(fx);
}

static void test_extint_masked_before_window(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = pic_fixture(p);

	(void)state;
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	expect(&p[0], false, true, A_IWIN);
	/* OCW1 masks IRQ 1: INT drops, the edge stays in the PIC's IRR. */
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x02), 0);
	assert_false(virq_pic_get_intr(&fx->pic));
	expect(&p[0], true, true, 0);
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	assert_int_equal(fx->pic.chip[0].irr, 0x02);
	/* Unmasked: INT again, the vector goes. */
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x21, 0x00), 0);
	expect_intr(&p[0], true, A_INTR, 0x09, VIRQ_VCPU_SRC_PIC);
	expect_stats(&p[0], (struct want_stats){ .intr_pic = 1, .intr_windows = 1 });
	fx_done(fx);
}

static void test_extint_message(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = pic_fixture(p);

	(void)state;
	/* LINT0 masked; the I/O APIC's pin 0 sends ExtINT messages. */
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_LVT_LINT0, 0x10700);
	fx_attach_ioapic(fx);
	fx_rte(fx, 0, RTE_DEST(0) | (7ULL << 8));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 4, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	expect_intr(&p[0], true, A_INTR, 0x0C, VIRQ_VCPU_SRC_PIC);
	assert_int_equal(fx->pic.chip[0].isr, 0x10);
	/* An ExtINT message while INT is low: no INTA, nothing injected. */
	post(fx, 0, VIRQ_DM_EXTINT, 0);
	expect(&p[0], true, true, 0);
	assert_int_equal(fx->pic.chip[0].isr, 0x10);
	expect_stats(&p[0], (struct want_stats){ .intr_pic = 1 });
	fx_done(fx);
}

static void test_extint_without_vm(void **state)
{
	struct virq_vcpu p[2], q;
	struct vm_fixture *fx = pic_fixture(p);

	(void)state;
	/* A policy without a VM cannot run an INTA: the request is dropped
	 * and the LAPIC's vector goes instead. */
	assert_int_equal(virq_vcpu_init(&q, fx_apic(fx, 0), NULL), 0);
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	expect_intr(&q, true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	expect_stats(&q, (struct want_stats){ .intr_lapic = 1 });
	fx_done(fx);
}

/* ---- wakes ---- */

static void test_wakes(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = pic_fixture(p);
	struct virq_vcpu_decision d;

	(void)state;
	/* A deliverable vector: only with IF=1; not consumed. */
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	assert_false(virq_vcpu_wakes(&p[0], false));
	assert_true(virq_vcpu_wakes(&p[0], true));
	assert_true(virq_vcpu_wakes(&p[0], true));
	assert_true(irr_raw(fx, 0, 0x41));
	expect_intr(&p[0], true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	assert_false(virq_vcpu_wakes(&p[0], true));
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_EOI, 0);

	/* NMI, SMI, INIT: always. */
	post(fx, 0, VIRQ_DM_NMI, 0);
	assert_true(virq_vcpu_wakes(&p[0], false));
	assert_true(virq_vcpu_wakes(&p[0], false));
	expect(&p[0], false, true, A_NMI);
	post(fx, 0, VIRQ_DM_SMI, 0);
	assert_true(virq_vcpu_wakes(&p[0], false));
	expect(&p[0], false, true, A_SMI);
	assert_false(virq_vcpu_wakes(&p[0], false));

	/* ExtINT: only with IF=1; not consumed (no INTA). */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_false(virq_vcpu_wakes(&p[0], false));
	assert_true(virq_vcpu_wakes(&p[0], true));
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	expect_intr(&p[0], true, A_INTR, 0x09, VIRQ_VCPU_SRC_PIC);
	assert_false(virq_vcpu_wakes(&p[0], true));

	post(fx, 0, VIRQ_DM_INIT, 0);
	assert_true(virq_vcpu_wakes(&p[0], false));
	expect(&p[0], true, true, A_INIT);

	/* The AP waits for a SIPI: vector and NMI do not wake it, SIPI does. */
	post(fx, 1, VIRQ_DM_FIXED, 0x41);
	post(fx, 1, VIRQ_DM_NMI, 0);
	assert_int_equal(fx_send(fx, 1, false, VIRQ_DM_SMI, 0), 1);
	assert_false(virq_vcpu_wakes(&p[1], true));
	assert_false(virq_vcpu_wakes(&p[1], false));
	post(fx, 1, VIRQ_DM_STARTUP, 0x12);
	assert_true(virq_vcpu_wakes(&p[1], false));
	assert_true(virq_vcpu_wakes(&p[1], false));
	assert_int_equal(dec(&p[1], true, true, &d), A_SIPI);
	assert_int_equal(d.sipi_vector, 0x12);
	/* INIT wakes it too (back into the wait). */
	post(fx, 1, VIRQ_DM_INIT, 0);
	assert_true(virq_vcpu_wakes(&p[1], false));
	expect(&p[1], true, true, A_INIT | A_WAIT);
	assert_false(virq_vcpu_wakes(&p[1], true));
	fx_done(fx);
}

/* ---- VM hooks: deliver_msi, pic_intr, pic_take ---- */

struct msi_call {
	uint64_t addr;
	uint32_t data;
	uint16_t sid;
	uint32_t gsi;
	unsigned lock_depth;
};

static struct msi_call msi_calls[8];
static unsigned n_msi_calls;
static unsigned msi_ret;
static bool intr_calls[8];
static unsigned intr_lock_depth[8];
static unsigned n_intr_calls;

static unsigned hook_deliver_msi(void *ctx, uint64_t addr, uint32_t data, uint16_t sid,
				 uint32_t gsi)
{
	struct vm_fixture *fx = ctx;

	assert_true(n_msi_calls < 8);
	msi_calls[n_msi_calls++] = (struct msi_call){ addr, data, sid, gsi, fx->lock_depth };
	return msi_ret;
}

static void hook_pic_intr(void *ctx, bool level)
{
	struct vm_fixture *fx = ctx;

	assert_true(n_intr_calls < 8);
	intr_lock_depth[n_intr_calls] = fx->lock_depth;
	intr_calls[n_intr_calls++] = level;
}

/* ioapic_msg calls: what, under the lock or not, and how many deliveries
 * had been made before it (it must come before its own). */
struct pin_msg {
	unsigned ioapic, pin;
	uint64_t addr;
	uint32_t data;
	unsigned lock_depth, msi_before;
};

static struct pin_msg pin_msgs[8];
static unsigned n_pin_msgs;

static void hook_ioapic_msg(void *ctx, unsigned ioapic, unsigned pin, uint64_t addr, uint32_t data)
{
	struct vm_fixture *fx = ctx;

	assert_true(n_pin_msgs < 8);
	pin_msgs[n_pin_msgs++] =
		(struct pin_msg){ ioapic, pin, addr, data, fx->lock_depth, n_msi_calls };
}

static void expect_pin_msg(unsigned i, unsigned pin, uint64_t addr, uint32_t data)
{
	assert_true(i < n_pin_msgs);
	assert_int_equal(pin_msgs[i].ioapic, 0);
	assert_int_equal(pin_msgs[i].pin, pin);
	assert_int_equal(pin_msgs[i].addr, addr);
	assert_int_equal(pin_msgs[i].data, data);
	assert_int_equal(pin_msgs[i].lock_depth, 1);
	assert_int_equal(pin_msgs[i].msi_before, i);
}

static const struct virq_vm_ops split_ops = {
	.size = sizeof(struct virq_vm_ops),
	.ioapic_msg = hook_ioapic_msg,
	.lock = fx_lock,
	.unlock = fx_unlock,
	.read_irte = fx_read_irte,
	.ir_fault = fx_ir_fault,
	.lost = fx_lost,
	.storm = fx_storm,
	.deliver_msi = hook_deliver_msi,
	.pic_intr = hook_pic_intr,
};

/* A fixture whose VM uses split_ops (re-initialised before any vCPU). */
static struct vm_fixture *split_fixture(uint32_t nr, uint32_t nr_gsis, bool ir)
{
	struct virq_vm_config cfg;
	struct vm_fixture *fx;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = nr;
	cfg.map_entries = 256;
	cfg.nr_gsis = nr_gsis;
	cfg.ir_enabled = ir;
	cfg.ir.size = sizeof(cfg.ir);
	cfg.ir.table_entries = ir ? 16 : 0;
	fx = fx_new_cfg(&cfg);
	assert_int_equal(virq_vm_init(&fx->vm, &fx->cfg, fx->vcpus, fx->map, fx->map_key, fx->gsis,
				      &split_ops, fx),
			 0);
	memset(msi_calls, 0, sizeof(msi_calls));
	n_msi_calls = 0;
	n_pin_msgs = 0;
	msi_ret = 1;
	n_intr_calls = 0;
	return fx;
}

static void expect_msi_call(unsigned i, uint64_t addr, uint32_t data, uint16_t sid, uint32_t gsi,
			    unsigned lock_depth)
{
	assert_true(i < n_msi_calls);
	assert_int_equal(msi_calls[i].addr, addr);
	assert_int_equal(msi_calls[i].data, data);
	assert_int_equal(msi_calls[i].sid, sid);
	assert_int_equal(msi_calls[i].gsi, gsi);
	assert_int_equal(msi_calls[i].lock_depth, lock_depth);
}

/* Nothing reached the table's LAPICs. */
static void expect_lapics_untouched(struct vm_fixture *fx)
{
	struct virq_lapic_events ev;

	for (uint32_t i = 0; i < fx->cfg.nr_vcpus; i++) {
		if (!fx->vcpus[i])
			continue;
		assert_false(virq_lapic_sync(fx_apic(fx, i)));
		assert_int_equal(virq_lapic_pending(fx_apic(fx, i)), VIRQ_LAPIC_NO_VECTOR);
		for (unsigned r = 0; r < 8; r++)
			assert_int_equal(fx->pages[i][(VIRQ_LAPIC_REG_IRR >> 2) + r * 4], 0);
		assert_int_equal(virq_lapic_take_events(fx_apic(fx, i), &ev), 0);
	}
	assert_int_equal(fx->n_lost, 0);
	assert_int_equal(fx->n_faults, 0);
}

static void test_deliver_msi_send_msi(void **state)
{
	struct vm_fixture *fx = split_fixture(2, 0, false);

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	msi_ret = 3;
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE01000ULL, 0x41, 0x1234), 3);
	assert_int_equal(n_msi_calls, 1);
	expect_msi_call(0, 0xFEE01000ULL, 0x41, 0x1234, VIRQ_VM_NO_GSI, 0);
	/* Undecoded: even an address outside the interrupt window. */
	msi_ret = 0;
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0x12345678ULL, 0xC7FF, 0xFFFF), 0);
	assert_int_equal(n_msi_calls, 2);
	expect_msi_call(1, 0x12345678ULL, 0xC7FF, 0xFFFF, VIRQ_VM_NO_GSI, 0);
	expect_lapics_untouched(fx);
	fx_check(fx);
	fx_free(fx);
}

static void test_deliver_msi_bypasses_remapping(void **state)
{
	struct vm_fixture *fx = split_fixture(1, 0, true);
	uint64_t remappable = 0xFEE00000ULL | (5ULL << 5) | (1ULL << 4) | (1ULL << 3);

	(void)state;
	fx_add_xapic(fx, 0, 0);
	/* Remappable format with an empty table, compatibility format with
	 * CFI clear: both would fault or be blocked; here they are handed
	 * over as written. */
	assert_int_equal(virq_vm_send_msi(&fx->vm, remappable, 0, 0x10), 1);
	assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE00000ULL, 0x44, 0x10), 1);
	assert_int_equal(n_msi_calls, 2);
	expect_msi_call(0, remappable, 0, 0x10, VIRQ_VM_NO_GSI, 0);
	expect_msi_call(1, 0xFEE00000ULL, 0x44, 0x10, VIRQ_VM_NO_GSI, 0);
	expect_lapics_untouched(fx);
	fx_free(fx);
}

static void test_deliver_msi_ioapic_pin(void **state)
{
	struct vm_fixture *fx = split_fixture(2, 24, false);

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	fx_attach_ioapic(fx); /* sid 0xF0F8, GSI base 0 */
	/* Level pin 16, vCPU 1, vector 0x4B: data has level + assert. */
	fx_rte(fx, 16, RTE_DEST(1) | RTE_LEVEL | 0x4B);
	assert_int_equal(n_msi_calls, 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 16, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(n_msi_calls, 1);
	expect_msi_call(0, 0xFEE01000ULL, 0xC04B, 0xF0F8, 16, 1);
	/* The statistics hook saw the pin's message first, under the lock. */
	assert_int_equal(n_pin_msgs, 1);
	expect_pin_msg(0, 16, 0xFEE01000ULL, 0xC04B);
	/* Accepted (1): Remote IRR set until the EOI. */
	assert_true(fx_get_rte(fx, 16) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	virq_vm_eoi(&fx->vm, 0x4B);
	/* Line still high: sent again; this time nobody accepts. */
	assert_int_equal(n_msi_calls, 2);
	expect_msi_call(1, 0xFEE01000ULL, 0xC04B, 0xF0F8, 16, 1);
	assert_true(fx_get_rte(fx, 16) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	msi_ret = 0;
	virq_vm_eoi(&fx->vm, 0x4B);
	assert_int_equal(n_msi_calls, 3);
	assert_false(fx_get_rte(fx, 16) & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 16, 0, VIRQ_IRQ_LOW), 0);
	msi_ret = 1;

	/* ISA IRQ 0 goes to pin 2 (the override): the GSI reported is the
	 * pin's, 2. Edge, physical dest 0, logical flag, vector 0x30. */
	fx_rte(fx, 2, RTE_DEST(3) | VIRQ_IOAPIC_RTE_DEST_LOGICAL | 0x30);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 0, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(n_msi_calls, 4);
	expect_msi_call(3, 0xFEE03004ULL, 0x30, 0xF0F8, 2, 1);
	assert_int_equal(n_pin_msgs, 4);
	expect_pin_msg(3, 2, 0xFEE03004ULL, 0x30);
	expect_lapics_untouched(fx);
	fx_check(fx);
	assert_int_equal(ioapic_check_invariants(&fx->ioapic), 0);
	fx_free(fx);
}

static void test_deliver_msi_second_ioapic_gsi(void **state)
{
	struct vm_fixture *fx = split_fixture(1, 48, false);
	struct virq_ioapic io2;
	struct virq_ioapic_config c;

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_attach_ioapic(fx);
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.version = 0x20;
	assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &io2, &c, 24, 0xF0F0), 1);
	/* GSI 29 = I/O APIC 1 pin 5: RTE through the second window. */
	assert_int_equal(virq_vm_ioapic_write(&fx->vm, 1, VIRQ_IOAPIC_IOREGSEL, 4,
					      VIRQ_IOAPIC_REG_RTE0 + 2 * 5),
			 0);
	assert_int_equal(virq_vm_ioapic_write(&fx->vm, 1, VIRQ_IOAPIC_IOWIN, 4, 0x66), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 29, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(n_msi_calls, 1);
	expect_msi_call(0, 0xFEE00000ULL, 0x66, 0xF0F0, 29, 1);
	expect_lapics_untouched(fx);
	fx_free(fx);
}

static void test_deliver_msi_gsi_route(void **state)
{
	struct vm_fixture *fx = split_fixture(1, 32, false);
	struct virq_gsi_route r;

	(void)state;
	fx_add_xapic(fx, 0, 0);
	memset(&r, 0, sizeof(r));
	r.ioapic = VIRQ_VM_NO_ROUTE;
	r.pic_irq = VIRQ_VM_NO_ROUTE;
	r.msi = true;
	r.msi_addr = 0xFEE02000ULL;
	r.msi_data = 0x55;
	r.msi_sid = 0x00A0;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 30, &r), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 30, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(n_msi_calls, 1);
	expect_msi_call(0, 0xFEE02000ULL, 0x55, 0x00A0, VIRQ_VM_NO_GSI, 1);
	/* One message per rising edge of the wired-OR line. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 30, 1, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 30, 0, VIRQ_IRQ_LOW), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 30, 1, VIRQ_IRQ_LOW), 0);
	assert_int_equal(n_msi_calls, 1);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 30, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(n_msi_calls, 2);
	expect_msi_call(1, 0xFEE02000ULL, 0x55, 0x00A0, VIRQ_VM_NO_GSI, 1);
	expect_lapics_untouched(fx);
	fx_free(fx);
}

/* The policy of a vCPU whose LAPIC is elsewhere (split irqchip): it
 * decides the 8259's ExtINT only, from the PIC's INT output and the
 * backend's window (whether that LAPIC takes the INTR pin now). */
static void test_external_lapic_extint(void **state)
{
	struct vm_fixture *fx = split_fixture(2, 24, false);
	struct virq_vcpu p;

	(void)state;
	fx_add_xapic(fx, 1, 1); /* an AP only; the BSP's LAPIC is elsewhere */
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 0), 0);
	pic_init(fx);
	assert_int_equal(virq_vcpu_init(&p, NULL, &fx->vm), 0);
	assert_false(virq_vm_pic_asserted(&fx->vm));
	expect(&p, true, true, 0);
	assert_false(virq_vcpu_wakes(&p, true));

	/* IRQ1 (edge): INT up; a closed window asks for one, INTA waits. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_true(virq_vm_pic_asserted(&fx->vm));
	assert_false(virq_vcpu_wakes(&p, false));
	assert_true(virq_vcpu_wakes(&p, true));
	expect(&p, false, true, A_IWIN);
	assert_int_equal(fx->pic.chip[0].irr, 0x02);
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	/* The window opens: vector 0x09, acknowledged (IRR -> ISR), INT down. */
	expect_intr(&p, true, A_INTR, 0x09, VIRQ_VCPU_SRC_PIC);
	assert_int_equal(fx->pic.chip[0].irr, 0x00);
	assert_int_equal(fx->pic.chip[0].isr, 0x02);
	assert_false(virq_vm_pic_asserted(&fx->vm));
	expect(&p, true, true, 0);
	expect_stats(&p, (struct want_stats){ .intr_pic = 1, .intr_windows = 1 });

	/* A level request withdrawn before the window opens: nothing owed. */
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x20, 0x20), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, VIRQ_PIC_ELCR1, 0x20), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_HIGH), 0);
	expect(&p, false, true, A_IWIN);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_LOW), 0);
	expect(&p, true, true, 0);
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	expect_stats(&p, (struct want_stats){ .intr_pic = 1, .intr_windows = 2 });
	fx_free(fx);
}

static void test_pic_intr_hook_without_bsp(void **state)
{
	struct vm_fixture *fx = split_fixture(2, 24, false);
	struct virq_lapic_events ev;

	(void)state;
	fx_add_xapic(fx, 1, 1); /* an AP only; the BSP (vCPU 0) is elsewhere */
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 0), 0);
	pic_init(fx);
	assert_int_equal(n_intr_calls, 0);
	assert_int_equal(virq_vm_pic_take(&fx->vm), -1);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(n_intr_calls, 1);
	assert_true(intr_calls[0]);
	assert_int_equal(intr_lock_depth[0], 1);
	assert_int_equal(virq_vm_pic_take(&fx->vm), 0x09);
	assert_int_equal(n_intr_calls, 2);
	assert_false(intr_calls[1]);
	assert_int_equal(intr_lock_depth[1], 1);
	assert_int_equal(virq_vm_pic_take(&fx->vm), -1);
	assert_int_equal(fx->pic.chip[0].isr, 0x02);
	/* A level input: up with the line, down with it (no INTA). */
	assert_int_equal(virq_vm_pic_write(&fx->vm, 0x20, 0x20), 0);
	assert_int_equal(virq_vm_pic_write(&fx->vm, VIRQ_PIC_ELCR1, 0x20), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_LOW), 0);
	assert_int_equal(n_intr_calls, 4);
	assert_true(intr_calls[2]);
	assert_false(intr_calls[3]);
	assert_int_equal(virq_vm_pic_take(&fx->vm), -1);
	assert_int_equal(fx->pic.chip[0].isr, 0x00);
	/* The AP's LINT0 was never driven. */
	assert_int_equal(virq_lapic_take_events(fx_apic(fx, 1), &ev), 0);
	assert_int_equal(fx->apics[1].lint, 0);
	assert_int_equal(n_msi_calls, 0);
	fx_free(fx);
}

static void test_pic_intr_hook_not_called_with_bsp(void **state)
{
	struct vm_fixture *fx = split_fixture(1, 24, false);
	struct virq_vcpu p;

	(void)state;
	fx_add_xapic(fx, 0, 0);
	assert_int_equal(virq_vcpu_init(&p, fx_apic(fx, 0), &fx->vm), 0);
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 0), 0);
	pic_init(fx);
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_LVT_LINT0, 0x700);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	expect_intr(&p, true, A_INTR, 0x09, VIRQ_VCPU_SRC_PIC);
	assert_int_equal(n_intr_calls, 0);
	fx_free(fx);
}

static void test_pic_take_without_pic(void **state)
{
	struct vm_fixture *fx = fx_new(1, 256, 24);

	(void)state;
	assert_int_equal(virq_vm_pic_take(NULL), -1);
	assert_int_equal(virq_vm_pic_take(&fx->vm), -1);
	assert_int_equal(fx->lock_depth, 0);
	fx_free(fx);
}

/* ---- APICv: the CPU delivers the LAPIC's vectors ---- */

/* A fixed vector is neither acknowledged nor injected, and asks for no
 * window, open or closed; HLT still wakes for it with IF = 1, and not
 * when PPR masks it. */
static void test_apicv_lapic_vectors_left_to_cpu(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = vcpu_fixture(p);

	(void)state;
	assert_int_equal(virq_lapic_set_accel(fx_apic(fx, 0), VIRQ_LAPIC_ACCEL_APICV), 0);
	post(fx, 0, VIRQ_DM_FIXED, 0x41);
	expect(&p[0], true, true, 0);
	expect(&p[0], false, true, 0);
	assert_true(irr_raw(fx, 0, 0x41));
	assert_int_equal(isr_count(fx, 0), 0);
	assert_int_equal(virq_lapic_rvi(fx_apic(fx, 0)), 0x41);
	assert_true(virq_vcpu_wakes(&p[0], true));
	assert_false(virq_vcpu_wakes(&p[0], false));
	/* TPR 4 masks class 4: no wake-up. */
	assert_int_equal(virq_lapic_set_cr8(fx_apic(fx, 0), 4), 0);
	assert_false(virq_vcpu_wakes(&p[0], true));
	assert_int_equal(virq_lapic_set_cr8(fx_apic(fx, 0), 0), 0);
	/* Back to injection: the same vector is acknowledged and injected. */
	assert_int_equal(virq_lapic_set_accel(fx_apic(fx, 0), VIRQ_LAPIC_ACCEL_NONE), 0);
	expect_intr(&p[0], true, A_INTR, 0x41, VIRQ_VCPU_SRC_LAPIC);
	expect_stats(&p[0], (struct want_stats){ .intr_lapic = 1 });
	fx_done(fx);
}

/* The 8259's ExtINT is still injected (and windowed), NMIs still decided;
 * a LAPIC vector beside them asks for no window. */
static void test_apicv_extint_nmi_still_decided(void **state)
{
	struct virq_vcpu p[2];
	struct vm_fixture *fx = pic_fixture(p);

	(void)state;
	assert_int_equal(virq_lapic_set_accel(fx_apic(fx, 0), VIRQ_LAPIC_ACCEL_APICV), 0);
	post(fx, 0, VIRQ_DM_FIXED, 0xE1);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	expect(&p[0], false, true, A_IWIN);
	expect_intr(&p[0], true, A_INTR, 0x09, VIRQ_VCPU_SRC_PIC);
	assert_true(irr_raw(fx, 0, 0xE1));
	assert_int_equal(isr_count(fx, 0), 0);
	expect(&p[0], true, true, 0);
	post(fx, 0, VIRQ_DM_NMI, 0);
	expect(&p[0], true, true, A_NMI);
	expect_stats(&p[0], (struct want_stats){ .nmi = 1, .intr_pic = 1, .intr_windows = 1 });
	fx_done(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_null),
		cmocka_unit_test(test_nothing_pending),
		cmocka_unit_test(test_reset_forgets_nmis_keeps_stats),
		cmocka_unit_test(test_fixed_window_open),
		cmocka_unit_test(test_fixed_window_closed),
		cmocka_unit_test(test_priority_highest_first),
		cmocka_unit_test(test_tpr_blocks_then_drops),
		cmocka_unit_test(test_nmi_through_vm_deliver),
		cmocka_unit_test(test_nmi_through_lint1),
		cmocka_unit_test(test_nmi_and_intr_one_event_per_entry),
		cmocka_unit_test(test_nmi_blocked_window),
		cmocka_unit_test(test_nmi_at_most_two_held),
		cmocka_unit_test(test_two_nmis_before_one_take),
		cmocka_unit_test(test_smi),
		cmocka_unit_test(test_ap_power_up_wait_sipi),
		cmocka_unit_test(test_init_ap),
		cmocka_unit_test(test_init_bsp_drops_held_nmis),
		cmocka_unit_test(test_init_and_sipi_in_one_decision),
		cmocka_unit_test(test_extint_through_lint0),
		cmocka_unit_test(test_extint_beats_lapic),
		cmocka_unit_test(test_extint_window_closed_then_open),
		cmocka_unit_test(test_extint_level_line_drops_before_window),
		cmocka_unit_test(test_extint_masked_before_window),
		cmocka_unit_test(test_extint_message),
		cmocka_unit_test(test_extint_without_vm),
		cmocka_unit_test(test_wakes),
		cmocka_unit_test(test_deliver_msi_send_msi),
		cmocka_unit_test(test_deliver_msi_bypasses_remapping),
		cmocka_unit_test(test_deliver_msi_ioapic_pin),
		cmocka_unit_test(test_deliver_msi_second_ioapic_gsi),
		cmocka_unit_test(test_deliver_msi_gsi_route),
		cmocka_unit_test(test_pic_intr_hook_without_bsp),
		cmocka_unit_test(test_external_lapic_extint),
		cmocka_unit_test(test_pic_intr_hook_not_called_with_bsp),
		cmocka_unit_test(test_pic_take_without_pic),
		cmocka_unit_test(test_apicv_lapic_vectors_left_to_cpu),
		cmocka_unit_test(test_apicv_extint_nmi_still_decided),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
