/* SPDX-License-Identifier: MIT */
/*
 * Hardware acceleration (lib/lapic/accel.c): the accel modes, the resync
 * after the CPU wrote the register page as a virtual-APIC page (SDM Vol.
 * 3C, "Virtual-Interrupt Delivery", "EOI Virtualization", "TPR
 * Virtualization"), RVI/SVI, the TPR threshold, the EOI-exit bitmap and
 * its generation, EOI-induced exits, and hostile page contents.
 *
 * The tests play the CPU: they write the page the way virtual-interrupt
 * delivery, EOI virtualization and TPR virtualization do, then call
 * virq_lapic_hw_sync() or virq_lapic_hw_eoi() as a VMX backend would.
 */
#include "harness.h"

/* ---- the CPU, as the SDM describes it ---- */

static uint32_t *pw(struct lapic_fixture *fx, uint32_t off)
{
	return &fx->page[off >> 2];
}

static void pv_set(struct lapic_fixture *fx, uint32_t base, uint8_t v)
{
	*pw(fx, base + 16U * (v >> 5)) |= 1U << (v & 31U);
}

static void pv_clear(struct lapic_fixture *fx, uint32_t base, uint8_t v)
{
	*pw(fx, base + 16U * (v >> 5)) &= ~(1U << (v & 31U));
}

static int pv_highest(struct lapic_fixture *fx, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = *pw(fx, base + 16U * (uint32_t)i);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

/* PPR virtualization. */
static void cpu_ppr(struct lapic_fixture *fx)
{
	uint32_t tpr = *pw(fx, VIRQ_LAPIC_REG_TPR) & 0xFFU;
	int svi = pv_highest(fx, VIRQ_LAPIC_REG_ISR);
	uint32_t s = svi < 0 ? 0 : (uint32_t)svi;

	*pw(fx, VIRQ_LAPIC_REG_PPR) = (tpr >> 4) >= (s >> 4) ? tpr : (s & 0xF0U);
}

/* Virtual-interrupt delivery of RVI if its class beats VPPR's; the vector or -1. */
static int cpu_deliver(struct lapic_fixture *fx, uint8_t rvi)
{
	if (!rvi || (rvi >> 4) <= (*pw(fx, VIRQ_LAPIC_REG_PPR) >> 4 & 0xFU))
		return -1;
	pv_clear(fx, VIRQ_LAPIC_REG_IRR, rvi);
	pv_set(fx, VIRQ_LAPIC_REG_ISR, rvi);
	*pw(fx, VIRQ_LAPIC_REG_PPR) = rvi & 0xF0U;
	return rvi;
}

/* EOI virtualization of SVI; the guest's EOI write lands in VEOI first. */
static int cpu_eoi(struct lapic_fixture *fx, uint8_t svi)
{
	*pw(fx, VIRQ_LAPIC_REG_EOI) = 0;
	if (!svi)
		return -1;
	pv_clear(fx, VIRQ_LAPIC_REG_ISR, svi);
	cpu_ppr(fx);
	return svi;
}

/* MOV to CR8 under TPR shadow. */
static void cpu_cr8(struct lapic_fixture *fx, unsigned cls)
{
	*pw(fx, VIRQ_LAPIC_REG_TPR) = (cls & 0xFU) << 4;
	cpu_ppr(fx);
}

static void setup(struct lapic_fixture *fx, enum virq_lapic_accel accel)
{
	fixture_init(fx, NULL);
	fixture_sw_enable(fx);
	assert_int_equal(virq_lapic_set_accel(&fx->apic, accel), 0);
	assert_int_equal(virq_lapic_get_accel(&fx->apic), accel);
}

static void bitmap_of(struct lapic_fixture *fx, uint64_t bm[4])
{
	virq_lapic_eoi_exit_bitmap(&fx->apic, bm);
}

static bool bm_test(const uint64_t bm[4], uint8_t v)
{
	return (bm[v >> 6] >> (v & 63U)) & 1U;
}

static unsigned bm_count(const uint64_t bm[4])
{
	return (unsigned)(__builtin_popcountll(bm[0]) + __builtin_popcountll(bm[1]) +
			  __builtin_popcountll(bm[2]) + __builtin_popcountll(bm[3]));
}

/* ---- modes ---- */

static void test_accel_modes(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_state st;

	(void)state;
	fixture_init(&fx, NULL);
	assert_int_equal(virq_lapic_get_accel(&fx.apic), VIRQ_LAPIC_ACCEL_NONE);
	assert_int_equal(virq_lapic_set_accel(&fx.apic, (enum virq_lapic_accel)3), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_get_accel(&fx.apic), VIRQ_LAPIC_ACCEL_NONE);
	assert_int_equal(virq_lapic_set_accel(&fx.apic, VIRQ_LAPIC_ACCEL_TPR_SHADOW), 0);
	assert_int_equal(virq_lapic_set_accel(&fx.apic, (enum virq_lapic_accel) - 1), -VIRQ_EINVAL);
	assert_int_equal(virq_lapic_get_accel(&fx.apic), VIRQ_LAPIC_ACCEL_TPR_SHADOW);
	assert_int_equal(virq_lapic_set_accel(&fx.apic, VIRQ_LAPIC_ACCEL_APICV), 0);
	/* A host property: RESET, INIT and restore keep it; the state lacks it. */
	virq_lapic_reset(&fx.apic);
	assert_int_equal(virq_lapic_get_accel(&fx.apic), VIRQ_LAPIC_ACCEL_APICV);
	assert_int_equal(virq_lapic_save(&fx.apic, &st), 0);
	assert_int_equal(virq_lapic_set_accel(&fx.apic, VIRQ_LAPIC_ACCEL_NONE), 0);
	assert_int_equal(virq_lapic_restore(&fx.apic, &st), 0);
	assert_int_equal(virq_lapic_get_accel(&fx.apic), VIRQ_LAPIC_ACCEL_NONE);
	assert_int_equal(st.version, VIRQ_LAPIC_STATE_VERSION);
	assert_invariants(&fx);
}

/* Mode none: the page has no other writer, hw_sync leaves it alone and
 * software delivery works as before. */
static void test_none_hw_sync_noop(void **state)
{
	struct lapic_fixture fx;
	uint32_t before[1024];

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_NONE);
	virq_lapic_post(&fx.apic, 0x51, false);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x51);
	memcpy(before, fx.page, sizeof(before));
	*pw(&fx, VIRQ_LAPIC_REG_TPR) = 0x1234; /* nobody may do this in mode none */
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_TPR), 0x1234);
	*pw(&fx, VIRQ_LAPIC_REG_TPR) = 0;
	assert_memory_equal(before, fx.page, sizeof(before));
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x51);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0x51);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0);
	assert_invariants(&fx);
}

/* ---- RVI / SVI with virtual-interrupt delivery ---- */

static void test_rvi_svi_delivery(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0);

	/* Posted vectors fold into IRR; RVI is the highest. */
	virq_lapic_post(&fx.apic, 0x41, false);
	virq_lapic_post(&fx.apic, 0x35, false);
	virq_lapic_post(&fx.apic, 0x92, false);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x92);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_IRR, 0x92));

	/* The CPU delivers 0x92; 0x41 (class 4) stays below VPPR 0x90. */
	assert_int_equal(cpu_deliver(&fx, 0x92), 0x92);
	assert_int_equal(cpu_deliver(&fx, 0x41), -1);
	virq_lapic_hw_sync(&fx.apic);
	assert_invariants(&fx);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x41);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0x92);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x90);
	assert_int_equal(virq_lapic_pending(&fx.apic), VIRQ_LAPIC_NO_VECTOR);

	/* A higher post nests: delivered above 0x92. */
	virq_lapic_post(&fx.apic, 0xA7, false);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0xA7);
	assert_int_equal(cpu_deliver(&fx, 0xA7), 0xA7);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0xA7);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x41);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0xA0);

	/* Two virtual EOIs (edge vectors: no exit); then 0x41 and 0x35 go. */
	assert_int_equal(cpu_eoi(&fx, 0xA7), 0xA7);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0x92);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x90);
	assert_int_equal(cpu_eoi(&fx, 0x92), 0x92);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0);
	assert_int_equal(virq_lapic_pending(&fx.apic), 0x41);
	assert_int_equal(cpu_deliver(&fx, virq_lapic_rvi(&fx.apic)), 0x41);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x35);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0x41);
	/* 0x35 is class 3, below 0x41's class 4. */
	assert_int_equal(cpu_deliver(&fx, 0x35), -1);
	assert_int_equal(cpu_eoi(&fx, 0x41), 0x41);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(cpu_deliver(&fx, virq_lapic_rvi(&fx.apic)), 0x35);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0x35);
	assert_int_equal(cpu_eoi(&fx, 0x35), 0x35);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0);
	assert_int_equal(fx.f.n_eois, 0); /* all edge: no level EOI */
	assert_invariants(&fx);
}

/* Self-IPI virtualization: the guest's ICR write in the page, VIRR set. */
static void test_self_ipi_virtualized(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	*pw(&fx, VIRQ_LAPIC_REG_ICR_LO) = 0x00044063U; /* self, fixed, 0x63, + bits 12 and 14 */
	*pw(&fx, VIRQ_LAPIC_REG_ICR_HI) = 0xAB123456U; /* the CPU clears bytes 2:0 */
	pv_set(&fx, VIRQ_LAPIC_REG_IRR, 0x63);
	virq_lapic_hw_sync(&fx.apic);
	assert_invariants(&fx);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_ICR_LO), 0x00044063U & 0x000CCFFFU);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_ICR_HI), 0xAB000000U);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x63);
	assert_int_equal(virq_lapic_pending(&fx.apic), 0x63);
	assert_int_equal(fx.f.n_ipis, 0);
}

/* ---- TPR shadow and the TPR threshold ---- */

static void test_tpr_shadow_cr8(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_TPR_SHADOW);
	cpu_cr8(&fx, 3);
	*pw(&fx, VIRQ_LAPIC_REG_PPR) = 0x77; /* VPPR is not maintained without VID */
	virq_lapic_hw_sync(&fx.apic);
	assert_invariants(&fx);
	assert_int_equal(virq_lapic_get_cr8(&fx.apic), 3);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x30);
	/* An xAPIC TPR write (virtualize APIC accesses) keeps bits 3:0. */
	*pw(&fx, VIRQ_LAPIC_REG_TPR) = 0x4B;
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), 0x4B);
	assert_int_equal(virq_lapic_get_ppr(&fx.apic), 0x4B);
	/* Leaving the mode keeps what the CPU wrote last. */
	cpu_cr8(&fx, 9);
	assert_int_equal(virq_lapic_set_accel(&fx.apic, VIRQ_LAPIC_ACCEL_NONE), 0);
	assert_int_equal(virq_lapic_get_ppr(&fx.apic), 0x90);
	assert_invariants(&fx);
}

static void test_tpr_threshold_cases(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_TPR_SHADOW);
	/* Nothing pending. */
	cpu_cr8(&fx, 0xF);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_tpr_threshold(&fx.apic), 0);

	/* 0x51 pending, masked by TPR 0x60 and by TPR 0x50: its class. */
	virq_lapic_post(&fx.apic, 0x51, false);
	assert_int_equal(virq_lapic_tpr_threshold(&fx.apic), 5); /* syncs the post */
	cpu_cr8(&fx, 6);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_tpr_threshold(&fx.apic), 5);
	cpu_cr8(&fx, 5);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_tpr_threshold(&fx.apic), 5);
	/* Unmasked: deliverable now, 0. */
	cpu_cr8(&fx, 4);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_pending(&fx.apic), 0x51);
	assert_int_equal(virq_lapic_tpr_threshold(&fx.apic), 0);

	/* ISR: 0x71 in service; 0x61 pending is blocked by it whatever the TPR. */
	cpu_cr8(&fx, 0);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x51);
	virq_lapic_eoi(&fx.apic);
	virq_lapic_post(&fx.apic, 0x71, false);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x71);
	virq_lapic_post(&fx.apic, 0x61, false);
	cpu_cr8(&fx, 8);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_tpr_threshold(&fx.apic), 0);
	/* 0x81 above the ISR class, masked by TPR 0x90: class 8. */
	virq_lapic_post(&fx.apic, 0x81, false);
	cpu_cr8(&fx, 9);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_tpr_threshold(&fx.apic), 8);
	/* Under APICv the field is ignored: 0. */
	assert_int_equal(virq_lapic_set_accel(&fx.apic, VIRQ_LAPIC_ACCEL_APICV), 0);
	assert_int_equal(virq_lapic_tpr_threshold(&fx.apic), 0);
	assert_invariants(&fx);
}

/*
 * The threshold's promise, over every (IRR, ISR, TPR) class: the CPU exits
 * (VTPR[7:4] < threshold) on exactly those TPR writes that make the
 * highest IRR vector deliverable; never above the TPR class (VM entry).
 */
static void test_tpr_threshold_exact(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	for (unsigned irr = 0; irr < 16; irr++) {
		for (unsigned isr = 0; isr < 16; isr++) {
			for (unsigned tpr = 0; tpr < 16; tpr++) {
				uint8_t t;

				setup(&fx, VIRQ_LAPIC_ACCEL_TPR_SHADOW);
				if (isr) {
					virq_lapic_post(&fx.apic, (uint8_t)(isr << 4 | 3), false);
					assert_int_equal(virq_lapic_ack(&fx.apic), isr << 4 | 3);
				}
				if (irr)
					virq_lapic_post(&fx.apic, (uint8_t)(irr << 4 | 5), false);
				cpu_cr8(&fx, tpr);
				virq_lapic_hw_sync(&fx.apic);
				t = virq_lapic_tpr_threshold(&fx.apic);
				assert_true(t <= tpr);
				for (unsigned c = 0; c < 16; c++) {
					bool now = irr && irr > (isr > tpr ? isr : tpr);
					bool then = irr && irr > (isr > c ? isr : c);
					bool exits = c < t;

					if (now)
						assert_int_equal(t, 0);
					else
						assert_int_equal(exits, then);
				}
				assert_invariants(&fx);
			}
		}
	}
}

/* ---- EOI-exit bitmap ---- */

static void test_eoi_exit_level_edge(void **state)
{
	struct lapic_fixture fx;
	uint64_t bm[4];
	uint32_t g0, g1;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	bitmap_of(&fx, bm);
	assert_int_equal(bm_count(bm), 0);
	g0 = virq_lapic_eoi_exit_gen(&fx.apic);
	assert_int_not_equal(g0, 0);

	/* Edge: no EOI exit, no new generation. */
	virq_lapic_post(&fx.apic, 0x52, false);
	(void)virq_lapic_sync(&fx.apic);
	assert_int_equal(virq_lapic_eoi_exit_gen(&fx.apic), g0);

	/* Level (an I/O APIC pin routed here): its vector. */
	virq_lapic_post(&fx.apic, 0x61, true);
	virq_lapic_post(&fx.apic, 0xC4, true);
	(void)virq_lapic_sync(&fx.apic);
	g1 = virq_lapic_eoi_exit_gen(&fx.apic);
	assert_int_not_equal(g1, g0);
	bitmap_of(&fx, bm);
	assert_int_equal(bm_count(bm), 2);
	assert_true(bm_test(bm, 0x61) && bm_test(bm, 0xC4));
	assert_int_equal(bm[1], 1ULL << (0x61 - 64));
	assert_int_equal(bm[3], 1ULL << (0xC4 - 192));

	/* The same level vector again: no change, no new generation. */
	virq_lapic_post(&fx.apic, 0x61, true);
	(void)virq_lapic_sync(&fx.apic);
	assert_int_equal(virq_lapic_eoi_exit_gen(&fx.apic), g1);

	/* Accepted as edge later: TMR clears, so does the bit. */
	virq_lapic_post(&fx.apic, 0xC4, false);
	(void)virq_lapic_sync(&fx.apic);
	assert_int_not_equal(virq_lapic_eoi_exit_gen(&fx.apic), g1);
	bitmap_of(&fx, bm);
	assert_int_equal(bm_count(bm), 1);
	assert_true(bm_test(bm, 0x61));

	/* RESET empties it. */
	g1 = virq_lapic_eoi_exit_gen(&fx.apic);
	virq_lapic_reset(&fx.apic);
	bitmap_of(&fx, bm);
	assert_int_equal(bm_count(bm), 0);
	assert_int_not_equal(virq_lapic_eoi_exit_gen(&fx.apic), g1);
	assert_invariants(&fx);
}

/* Directed EOI (SVR[12]) and a LAPIC without eoi_level: no broadcast, no exit. */
static void test_eoi_exit_suppressed(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();
	struct virq_lapic_ops ops = fake_ops;
	uint64_t bm[4];
	uint32_t g;

	(void)state;
	cfg.directed_eoi = true;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	virq_lapic_post(&fx.apic, 0x61, true);
	(void)virq_lapic_sync(&fx.apic);
	bitmap_of(&fx, bm);
	assert_true(bm_test(bm, 0x61));
	g = virq_lapic_eoi_exit_gen(&fx.apic);
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x1FFU | VIRQ_LAPIC_SVR_EOI_SUPPRESS);
	bitmap_of(&fx, bm);
	assert_int_equal(bm_count(bm), 0);
	assert_int_not_equal(virq_lapic_eoi_exit_gen(&fx.apic), g);
	g = virq_lapic_eoi_exit_gen(&fx.apic);
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x1FFU);
	bitmap_of(&fx, bm);
	assert_true(bm_test(bm, 0x61));
	assert_int_not_equal(virq_lapic_eoi_exit_gen(&fx.apic), g);
	assert_invariants(&fx);

	ops.eoi_level = NULL;
	memset(&fx.f, 0, sizeof(fx.f));
	assert_int_equal(virq_lapic_init(&fx.apic, fx.page, &fx.cfg, &ops, &fx.f), 0);
	fixture_sw_enable(&fx);
	virq_lapic_post(&fx.apic, 0x61, true);
	(void)virq_lapic_sync(&fx.apic);
	assert_true(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x61));
	bitmap_of(&fx, bm);
	assert_int_equal(bm_count(bm), 0);
	assert_invariants(&fx);
}

/* A level LINT entry's vector is in the bitmap while its Remote IRR is set. */
static void test_eoi_exit_lint(void **state)
{
	struct lapic_fixture fx;
	uint64_t bm[4];
	uint32_t g;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LVT_LEVEL | 0x70);
	g = virq_lapic_eoi_exit_gen(&fx.apic);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 0, true), 0);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x70);
	assert_int_not_equal(virq_lapic_eoi_exit_gen(&fx.apic), g);
	bitmap_of(&fx, bm);
	assert_int_equal(bm_count(bm), 1);
	assert_true(bm_test(bm, 0x70));
	/* Later accepted as edge (a self IPI): TMR clears, the LINT EOI still counts. */
	mmio_w(&fx, VIRQ_LAPIC_REG_ICR_LO, (VIRQ_SH_SELF << VIRQ_ICR_SH_SHIFT) | 0x70);
	assert_false(page_vec(&fx, VIRQ_LAPIC_REG_TMR, 0x70));
	bitmap_of(&fx, bm);
	assert_true(bm_test(bm, 0x70));
	assert_invariants(&fx);
}

/* ---- EOI-induced exits and their side effects ---- */

static void test_hw_eoi_level(void **state)
{
	struct lapic_fixture fx;
	uint64_t bm[4];

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	virq_lapic_post(&fx.apic, 0x61, true);  /* level: an I/O APIC pin */
	virq_lapic_post(&fx.apic, 0x52, false); /* edge */
	bitmap_of(&fx, bm);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x61);
	bitmap_of(&fx, bm);
	assert_true(bm_test(bm, 0x61) && !bm_test(bm, 0x52));

	assert_int_equal(cpu_deliver(&fx, 0x61), 0x61);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0x61);
	/* The guest EOIs 0x61: in the bitmap, so the CPU exits (reason 45). */
	assert_int_equal(cpu_eoi(&fx, 0x61), 0x61);
	virq_lapic_hw_eoi(&fx.apic, 0x61);
	assert_int_equal(fx.f.n_eois, 1);
	assert_int_equal(fx.f.eois[0], 0x61);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x52);
	assert_invariants(&fx);

	/* The edge vector: EOI without exit, no side effect. */
	assert_int_equal(cpu_deliver(&fx, 0x52), 0x52);
	assert_int_equal(cpu_eoi(&fx, 0x52), 0x52);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);
	/* Vectors 0-15 have no EOI: nothing. */
	virq_lapic_hw_eoi(&fx.apic, 7);
	assert_int_equal(fx.f.n_eois, 1);
	assert_invariants(&fx);
}

/* Directed EOI: the exit reaches the library, the broadcast does not. */
static void test_hw_eoi_suppressed(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	cfg.directed_eoi = true;
	fixture_init(&fx, &cfg);
	mmio_w(&fx, VIRQ_LAPIC_REG_SVR, 0x1FFU | VIRQ_LAPIC_SVR_EOI_SUPPRESS);
	assert_int_equal(virq_lapic_set_accel(&fx.apic, VIRQ_LAPIC_ACCEL_APICV), 0);
	virq_lapic_post(&fx.apic, 0x61, true);
	assert_int_equal(cpu_deliver(&fx, virq_lapic_rvi(&fx.apic)), 0x61);
	assert_int_equal(cpu_eoi(&fx, 0x61), 0x61);
	virq_lapic_hw_eoi(&fx.apic, 0x61);
	assert_int_equal(fx.f.n_eois, 0);
	assert_invariants(&fx);
}

/* A level LINT: the EOI exit clears Remote IRR; a pin still asserted
 * delivers again. */
static void test_hw_eoi_lint(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LVT_LEVEL | 0x70);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 0, true), 0);
	assert_int_equal(cpu_deliver(&fx, virq_lapic_rvi(&fx.apic)), 0x70);
	virq_lapic_hw_sync(&fx.apic);
	assert_true(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_LINT0) & VIRQ_LVT_REMOTE_IRR);
	assert_int_equal(cpu_eoi(&fx, virq_lapic_svi(&fx.apic)), 0x70);
	virq_lapic_hw_eoi(&fx.apic, 0x70);
	assert_int_equal(fx.f.n_eois, 1); /* TMR set: broadcast too */
	/* Still asserted: accepted again, Remote IRR set again. */
	assert_true(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_LINT0) & VIRQ_LVT_REMOTE_IRR);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x70);
	assert_invariants(&fx);

	/* De-asserted, then the EOI: Remote IRR clears, nothing new. */
	assert_int_equal(cpu_deliver(&fx, 0x70), 0x70);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 0, false), 0);
	(void)virq_lapic_sync(&fx.apic);
	assert_int_equal(cpu_eoi(&fx, 0x70), 0x70);
	virq_lapic_hw_eoi(&fx.apic, 0x70);
	assert_int_equal(fx.f.n_eois, 2);
	assert_false(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_LINT0) & VIRQ_LVT_REMOTE_IRR);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0);
	assert_invariants(&fx);
}

/* A LINT vector retired without an exit (stale bitmap): the EOI runs late,
 * once, at the next resync. */
static void test_hw_sync_missed_lint_eoi(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT1, VIRQ_LVT_LEVEL | 0x90);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, true), 0);
	assert_int_equal(cpu_deliver(&fx, virq_lapic_rvi(&fx.apic)), 0x90);
	assert_int_equal(virq_lapic_set_lint(&fx.apic, 1, false), 0);
	assert_int_equal(cpu_eoi(&fx, 0x90), 0x90);
	virq_lapic_hw_sync(&fx.apic);
	assert_false(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_LINT1) & VIRQ_LVT_REMOTE_IRR);
	assert_int_equal(fx.f.n_eois, 1);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(fx.f.n_eois, 1);
	assert_invariants(&fx);
}

/* ---- hostile pages ---- */

static void test_hw_sync_hostile(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	virq_lapic_post(&fx.apic, 0x61, true);
	(void)virq_lapic_sync(&fx.apic);
	*pw(&fx, VIRQ_LAPIC_REG_TPR) = 0xFFFFFF55U;
	*pw(&fx, VIRQ_LAPIC_REG_TPR + 4) = 0x1U;
	*pw(&fx, VIRQ_LAPIC_REG_PPR) = 0xDEADBEEFU;
	*pw(&fx, VIRQ_LAPIC_REG_PPR + 8) = 0x5U; /* bytes 8-11 of the slot */
	*pw(&fx, VIRQ_LAPIC_REG_EOI) = 0x12345678U;
	*pw(&fx, VIRQ_LAPIC_REG_IRR) |= 0xFFFFU; /* vectors 0-15 */
	*pw(&fx, VIRQ_LAPIC_REG_ISR) |= 0x8001U;
	*pw(&fx, VIRQ_LAPIC_REG_IRR + 0x74) = 0xFFFFFFFFU; /* bytes 4-7 of a slot */
	*pw(&fx, VIRQ_LAPIC_REG_ISR + 0x3C) = 0x1U;
	*pw(&fx, VIRQ_LAPIC_REG_ICR_LO) = 0xFFFFFFFFU;
	*pw(&fx, VIRQ_LAPIC_REG_ICR_HI) = 0xFFFFFFFFU;
	virq_lapic_hw_sync(&fx.apic);
	assert_invariants(&fx);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TPR), 0x55);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_TPR + 4), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x55);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_PPR + 8), 0);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_EOI), 0);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_IRR) & 0xFFFFU, 0);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_IRR + 0x74), 0);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_ICR_LO), 0x000CCFFFU);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_ICR_HI), 0xFF000000U);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x61);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0);

	/* A globally disabled APIC holds no vectors, whatever the page says. */
	assert_int_equal(virq_lapic_set_apic_base(
				 &fx.apic, VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_BSP, false),
			 0);
	*pw(&fx, VIRQ_LAPIC_REG_IRR + 0x30) = 0x10U;
	*pw(&fx, VIRQ_LAPIC_REG_ISR + 0x70) = 0x80000000U;
	virq_lapic_hw_sync(&fx.apic);
	assert_invariants(&fx);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0);
	assert_int_equal(virq_lapic_svi(&fx.apic), 0);
}

/* Random junk in every field the CPU may write, in both modes, with LINT
 * entries in service: invariants hold after each resync. */
static void test_hw_sync_random_pages(void **state)
{
	static const uint32_t offs[] = { VIRQ_LAPIC_REG_TPR, VIRQ_LAPIC_REG_PPR, VIRQ_LAPIC_REG_EOI,
					 VIRQ_LAPIC_REG_ICR_LO, VIRQ_LAPIC_REG_ICR_HI };
	struct lapic_fixture fx;
	uint64_t x = 0x9E3779B97F4A7C15ULL;

	(void)state;
	for (unsigned round = 0; round < 200; round++) {
		setup(&fx, round & 1 ? VIRQ_LAPIC_ACCEL_APICV : VIRQ_LAPIC_ACCEL_TPR_SHADOW);
		if (round & 2)
			fixture_x2apic_enable(&fx);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LVT_LEVEL | 0x70);
		(void)virq_lapic_set_lint(&fx.apic, 0, true);
		(void)virq_lapic_msr_write(&fx.apic, 0x835, VIRQ_LVT_LEVEL | 0x70);
		virq_lapic_post(&fx.apic, (uint8_t)(0x20 + round), round & 4);
		(void)virq_lapic_sync(&fx.apic);
		for (unsigned step = 0; step < 50; step++) {
			unsigned n = (unsigned)(x >> 60) % 4 + 1;

			for (unsigned k = 0; k < n; k++) {
				uint32_t off;

				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				switch (x & 3U) {
				case 0: /* any word of those slots */
					off = offs[(x >> 8) % 5] + 4U * ((x >> 11) & 3U);
					break;
				case 1:
					off = VIRQ_LAPIC_REG_IRR + 16U * ((x >> 8) & 7U);
					break;
				case 2:
					off = VIRQ_LAPIC_REG_ISR + 16U * ((x >> 8) & 7U);
					break;
				default: /* any word of the ISR or IRR slots */
					off = ((x >> 8) & 1U ? VIRQ_LAPIC_REG_IRR
							     : VIRQ_LAPIC_REG_ISR) +
					      4U * ((x >> 9) & 31U);
					break;
				}
				*pw(&fx, off) ^= (uint32_t)(x >> 32);
			}
			if (step & 1)
				virq_lapic_hw_eoi(&fx.apic, (uint8_t)(x >> 16));
			else
				virq_lapic_hw_sync(&fx.apic);
			assert_invariants(&fx);
			(void)virq_lapic_ack(&fx.apic);
			virq_lapic_eoi(&fx.apic);
			assert_invariants(&fx);
		}
	}
}

/* ---- APIC-write exits (virq_lapic_hw_enter(), virq_lapic_hw_write()) ---- */

/* The CPU's APIC-register virtualization: the guest's xAPIC write stored. */
static void cpu_store(struct lapic_fixture *fx, uint32_t off, uint32_t v)
{
	*pw(fx, off) = v;
}

static void setup_apicv_write(struct lapic_fixture *fx)
{
	setup(fx, VIRQ_LAPIC_ACCEL_APICV);
	virq_lapic_hw_enter(&fx->apic);
}

/* ICR low sends, every time (the same value twice sends twice); ICR high
 * was only stored. */
static void test_hw_write_icr(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup_apicv_write(&fx);
	cpu_store(&fx, VIRQ_LAPIC_REG_ICR_HI, 0x03000000U);
	cpu_store(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x000000A1U);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_ICR_LO);
	assert_int_equal(fx.f.n_ipis, 1);
	assert_int_equal(fx.f.ipis[0].vector, 0xA1);
	assert_int_equal(fx.f.ipis[0].dest, 3);
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x000000A1U);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_ICR_LO | 4U);
	assert_int_equal(fx.f.n_ipis, 2);
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);
}

/*
 * LVT CMCI (2F0H) is an APIC-write exit too (SDM Vol. 3C "APIC-Write
 * Emulation": 2F0H-370H): the CPU's store is applied as the MMIO write
 * would, writable bits only; without CMCI the offset is reserved. A value
 * the CPU could not have stored without that exit is not believed.
 */
static void test_hw_write_cmci(void **state)
{
	struct lapic_fixture fx;
	struct virq_lapic_config cfg = fixture_default_config();

	(void)state;
	cfg.max_lvt = 6;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	assert_int_equal(virq_lapic_set_accel(&fx.apic, VIRQ_LAPIC_ACCEL_APICV), 0);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_CMCI), VIRQ_LVT_MASKED);
	virq_lapic_hw_enter(&fx.apic);
	/* Vector F5H, fixed, unmasked (bit 16 clear in 0xABCC....), delivery
	 * status and reserved bits set: only vector, mode and mask stay. */
	cpu_store(&fx, VIRQ_LAPIC_REG_LVT_CMCI, 0xABCC10F5U);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_LVT_CMCI);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_CMCI), 0xF5);
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);
	/* No exit for 2F0H: a changed slot is not the guest's write; it is
	 * cut back to the writable bits. */
	cpu_store(&fx, VIRQ_LAPIC_REG_LVT_CMCI, 0xFFFFFFFFU);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_CMCI), 0x000107FFU);
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);

	/* Without CMCI (max_lvt 5): 2F0H is reserved. */
	cfg.max_lvt = 5;
	fixture_init(&fx, &cfg);
	fixture_sw_enable(&fx);
	assert_int_equal(virq_lapic_set_accel(&fx.apic, VIRQ_LAPIC_ACCEL_APICV), 0);
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_LVT_CMCI, 0x000000F5U);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_LVT_CMCI);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_LVT_CMCI), 0);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_RESERVED_REG], 1);
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);
}

/* A timer-mode change needs the old mode: periodic -> TSC deadline stops
 * the count; the reserved mode keeps the old one. */
static void test_hw_write_lvt_timer(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, (1U << 17) | 0x40);
	mmio_w(&fx, VIRQ_LAPIC_REG_TMICT, 1000);
	assert_true(fx.f.timer_armed);
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_LVT_TIMER, (3U << 17) | 0x41);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_LVT_TIMER);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_TIMER), (1U << 17) | 0x41);
	assert_int_equal(fx.f.gerr[VIRQ_GERR_TIMER_MODE], 1);
	assert_true(fx.f.timer_armed);
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_LVT_TIMER, (2U << 17) | 0x41);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_LVT_TIMER);
	assert_false(fx.f.timer_armed);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_TMICT), 0);
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);
}

/* TMICT arms the timer; TDCR keeps the remaining count at the new rate. */
static void test_hw_write_timer_counts(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup_apicv_write(&fx);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_TIMER, 0x40);
	mmio_w(&fx, VIRQ_LAPIC_REG_TDCR, 0xB); /* divide by 1 */
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_TMICT, 1000);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_TMICT);
	assert_true(fx.f.timer_armed);
	assert_int_equal(fx.f.timer_deadline, 1000);
	fx.f.now = 400;
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_TDCR, 0x0); /* divide by 2 */
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_TDCR);
	/* 600 counts left at 2 ns each. */
	assert_int_equal(fx.f.timer_deadline, 400 + 1200);
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);
}

/* Software disable masks the LVTs: the transition needs the old SVR. */
static void test_hw_write_svr(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	mmio_w(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0x33);
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_SVR, 0xFFU);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_SVR);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_SVR), 0xFF);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_ERROR), VIRQ_LVT_MASKED | 0x33);
	assert_false(virq_lapic_accepts_fixed(&fx.apic));
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);
}

/* ID is read-only here: the stored write is undone. LDR keeps its bits. */
static void test_hw_write_id_ldr(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup_apicv_write(&fx);
	cpu_store(&fx, VIRQ_LAPIC_REG_ID, 0x05000000U);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_ID);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ID), 0);
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_LDR, 0x02FFFFFFU);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_LDR);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LDR), 0x02000000U);
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);
}

/* A write whose APIC-write exit never came (an intervening exit): the
 * next resync applies it, except an ICR low that self-IPI virtualization
 * took already. */
static void test_hw_sync_late_write(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup_apicv_write(&fx);
	cpu_store(&fx, VIRQ_LAPIC_REG_LVT_ERROR, 0xFFFF0033U);
	cpu_store(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00040051U); /* self, 0x51 */
	pv_set(&fx, VIRQ_LAPIC_REG_IRR, 0x51);              /* what VID did */
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_LVT_ERROR), VIRQ_LVT_MASKED | 0x33);
	assert_int_equal(fx.f.n_ipis, 0);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0x51);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_ICR_LO), 0x00040051U);
	/* Not a self IPI: the exit that would have sent it was lost. */
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_ICR_LO, 0x00000062U);
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(fx.f.n_ipis, 1);
	/* Consumed: a second resync sends nothing more. */
	virq_lapic_hw_sync(&fx.apic);
	assert_int_equal(fx.f.n_ipis, 1);
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);
}

/* x2APIC: WRMSR SELF IPI with a vector below 16 exits at offset 0x3F0. */
static void test_hw_write_x2apic_self_ipi(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
	fixture_x2apic_enable(&fx);
	virq_lapic_hw_enter(&fx.apic);
	cpu_store(&fx, VIRQ_LAPIC_REG_SELF_IPI, 0x05);
	virq_lapic_hw_write(&fx.apic, VIRQ_LAPIC_REG_SELF_IPI);
	assert_int_equal(*pw(&fx, VIRQ_LAPIC_REG_SELF_IPI), 0);
	assert_int_equal(virq_lapic_rvi(&fx.apic), 0);
	assert_int_not_equal(fx.apic.esr_pending, 0);
	assert_int_equal(lapic_check_invariants(&fx.apic), 0);
}

/* Without a record, and with random stores at random offsets: every
 * invariant holds whatever the page says. */
static void test_hw_write_hostile(void **state)
{
	static const uint32_t offs[] = {
		VIRQ_LAPIC_REG_ID,        VIRQ_LAPIC_REG_LDR,       VIRQ_LAPIC_REG_DFR,
		VIRQ_LAPIC_REG_SVR,       VIRQ_LAPIC_REG_ESR,       VIRQ_LAPIC_REG_ICR_LO,
		VIRQ_LAPIC_REG_ICR_HI,    VIRQ_LAPIC_REG_LVT_TIMER, VIRQ_LAPIC_REG_LVT_THERMAL,
		VIRQ_LAPIC_REG_LVT_PMC,   VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LAPIC_REG_LVT_LINT1,
		VIRQ_LAPIC_REG_LVT_ERROR, VIRQ_LAPIC_REG_TMICT,     VIRQ_LAPIC_REG_TDCR,
		VIRQ_LAPIC_REG_EOI,       VIRQ_LAPIC_REG_SELF_IPI,  VIRQ_LAPIC_REG_TPR,
	};
	struct lapic_fixture fx;
	uint64_t x = 0x2545F4914F6CDD1DULL;

	(void)state;
	for (unsigned round = 0; round < 100; round++) {
		setup(&fx, VIRQ_LAPIC_ACCEL_APICV);
		if (round & 1)
			fixture_x2apic_enable(&fx);
		mmio_w(&fx, VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LVT_LEVEL | 0x70);
		(void)virq_lapic_set_lint(&fx.apic, 0, true);
		(void)virq_lapic_sync(&fx.apic);
		for (unsigned step = 0; step < 40; step++) {
			uint32_t off;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* With a record anything; without one only what the CPU
			 * may store: the trapped register in xAPIC mode, in
			 * x2APIC mode TPR, EOI and SELF IPI. */
			off = offs[(x >> 8) % (sizeof(offs) / sizeof(offs[0]))];
			if (x & 1U)
				virq_lapic_hw_enter(&fx.apic);
			else if (round & 1)
				off = offs[15 + (x >> 8) % 3];
			cpu_store(&fx, off, (uint32_t)(x >> 32));
			if ((x & 2U) || !(x & 1U))
				virq_lapic_hw_write(&fx.apic, off);
			else
				virq_lapic_hw_sync(&fx.apic);
			assert_int_equal(lapic_check_invariants(&fx.apic), 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accel_modes),
		cmocka_unit_test(test_none_hw_sync_noop),
		cmocka_unit_test(test_rvi_svi_delivery),
		cmocka_unit_test(test_self_ipi_virtualized),
		cmocka_unit_test(test_tpr_shadow_cr8),
		cmocka_unit_test(test_tpr_threshold_cases),
		cmocka_unit_test(test_tpr_threshold_exact),
		cmocka_unit_test(test_eoi_exit_level_edge),
		cmocka_unit_test(test_eoi_exit_suppressed),
		cmocka_unit_test(test_eoi_exit_lint),
		cmocka_unit_test(test_hw_eoi_level),
		cmocka_unit_test(test_hw_eoi_suppressed),
		cmocka_unit_test(test_hw_eoi_lint),
		cmocka_unit_test(test_hw_sync_missed_lint_eoi),
		cmocka_unit_test(test_hw_sync_hostile),
		cmocka_unit_test(test_hw_sync_random_pages),
		cmocka_unit_test(test_hw_write_icr),
		cmocka_unit_test(test_hw_write_cmci),
		cmocka_unit_test(test_hw_write_lvt_timer),
		cmocka_unit_test(test_hw_write_timer_counts),
		cmocka_unit_test(test_hw_write_svr),
		cmocka_unit_test(test_hw_write_id_ldr),
		cmocka_unit_test(test_hw_sync_late_write),
		cmocka_unit_test(test_hw_write_x2apic_self_ipi),
		cmocka_unit_test(test_hw_write_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
