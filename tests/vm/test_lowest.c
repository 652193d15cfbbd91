/* SPDX-License-Identifier: MIT */
/*
 * Lowest-priority arbitration (SDM 10.6.2.4):
 * lowest PPR class wins, ties spread round-robin, vector hashing, only
 * enabled candidates, physical broadcast becomes fixed.
 */
#include "harness.h"

#define V 0x51

/* Delivers @n lowest-priority messages and counts who took each. */
static void spread(struct vm_fixture *fx, uint32_t dest, bool logical, unsigned n, unsigned hits[])
{
	for (unsigned k = 0; k < n; k++) {
		uint32_t who;

		assert_int_equal(fx_send(fx, dest, logical, VIRQ_DM_LOWEST, V), 1);
		who = fx_who(fx, V);
		assert_int_equal(__builtin_popcount(who), 1);
		hits[__builtin_ctz(who)]++;
		fx_drain_all(fx);
	}
}

static void test_ties_spread_flat(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);
	unsigned hits[4] = { 0 };

	(void)state;
	for (uint32_t i = 0; i < 4; i++) {
		fx_add_xapic(fx, i, i);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_LDR, (1U << i) << 24);
	}
	spread(fx, 0x0F, true, 400, hits);
	/* Round-robin over four tied candidates: exactly N/M each. */
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(hits[i], 100);
	fx_free(fx);
}

static void test_ties_spread_x2apic_cluster(void **state)
{
	struct vm_fixture *fx = fx_new(8, 256, 0);
	unsigned hits[8] = { 0 };

	(void)state;
	for (uint32_t i = 0; i < 8; i++)
		fx_add_x2apic(fx, i, 0x20 + i);
	/* Cluster 2, members 0, 2, 4 (vCPUs 0, 2, 4). */
	spread(fx, 0x00020015U, true, 300, hits);
	assert_int_equal(hits[0], 100);
	assert_int_equal(hits[2], 100);
	assert_int_equal(hits[4], 100);
	assert_int_equal(hits[1] + hits[3] + hits[5] + hits[6] + hits[7], 0);
	fx_free(fx);
}

static void test_lower_ppr_wins(void **state)
{
	struct vm_fixture *fx = fx_new(4, 256, 0);
	unsigned hits[4] = { 0 };

	(void)state;
	for (uint32_t i = 0; i < 4; i++) {
		fx_add_xapic(fx, i, i);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_LDR, (1U << i) << 24);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_TPR, i == 2 ? 0x10 : 0x30);
	}
	spread(fx, 0x0F, true, 50, hits);
	assert_int_equal(hits[2], 50);
	/* Same class (TPR 0x30 and 0x3F): tied, spread between them. */
	fx_mmio_w(fx, 2, VIRQ_LAPIC_REG_TPR, 0x3F);
	memset(hits, 0, sizeof(hits));
	spread(fx, 0x0F, true, 40, hits);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(hits[i], 10);
	/* A vector in service raises PPR: vCPU 1 with 0xE0 in ISR drops out. */
	fx_mmio_w(fx, 1, VIRQ_LAPIC_REG_TPR, 0);
	assert_int_equal(fx_send(fx, 1, false, VIRQ_DM_FIXED, 0xE0), 1);
	assert_int_equal(virq_lapic_ack(fx_apic(fx, 1)), 0xE0);
	for (unsigned k = 0; k < 30; k++) {
		assert_int_equal(fx_send(fx, 0x0F, true, VIRQ_DM_LOWEST, V), 1);
		assert_int_equal(fx_who(fx, V) & 0x2, 0);
		(void)fx_drain(fx, 0);
		(void)fx_drain(fx, 2);
		(void)fx_drain(fx, 3);
	}
	fx_free(fx);
}

static void test_disabled_not_candidates(void **state)
{
	struct vm_fixture *fx = fx_new(3, 256, 0);
	unsigned hits[3] = { 0 };

	(void)state;
	for (uint32_t i = 0; i < 3; i++) {
		fx_add_xapic(fx, i, i);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_LDR, (1U << i) << 24);
	}
	/* Software-disable vCPU 1 (it has the lowest priority class). */
	fx_mmio_w(fx, 0, VIRQ_LAPIC_REG_TPR, 0x20);
	fx_mmio_w(fx, 2, VIRQ_LAPIC_REG_TPR, 0x20);
	fx_mmio_w(fx, 1, VIRQ_LAPIC_REG_SVR, 0xFF);
	spread(fx, 0x07, true, 20, hits);
	assert_int_equal(hits[1], 0);
	assert_int_equal(hits[0], 10);
	assert_int_equal(hits[2], 10);
	/* Nobody enabled among the matched: lost. */
	assert_int_equal(fx_send(fx, 0x02, true, VIRQ_DM_LOWEST, V), 0);
	assert_int_equal(fx->n_lost, 1);
	fx_free(fx);
}

static void test_vector_hashing(void **state)
{
	struct virq_vm_config cfg;
	struct vm_fixture *fx;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = 4;
	cfg.map_entries = 256;
	cfg.lowest_vector_hashing = true;
	fx = fx_new_cfg(&cfg);
	for (uint32_t i = 0; i < 4; i++) {
		fx_add_xapic(fx, i, i);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_LDR, (1U << i) << 24);
	}
	/* PPR is ignored: even a raised TPR does not move the choice. */
	fx_mmio_w(fx, 1, VIRQ_LAPIC_REG_TPR, 0x90);
	for (unsigned v = 0x40; v < 0x48; v++) {
		for (unsigned rep = 0; rep < 3; rep++) {
			assert_int_equal(fx_send(fx, 0x0F, true, VIRQ_DM_LOWEST, (uint8_t)v), 1);
			/* Candidates 0-3 in vCPU order: the (v mod 4)-th wins. */
			assert_true(fx_irr(fx, v % 4, (uint8_t)v));
			assert_int_equal(fx_who(fx, (uint8_t)v), 1U << (v % 4));
		}
	}
	/* Among the 3 matched of 0x0B (vCPUs 0, 1, 3): (v mod 3)-th. */
	assert_int_equal(fx_send(fx, 0x0B, true, VIRQ_DM_LOWEST, 0x62), 1);
	assert_int_equal(fx_who(fx, 0x62), 1U << 3); /* 0x62 % 3 == 2 -> third: vCPU 3 */
	fx_free(fx);
}

static void test_physical_broadcast_is_fixed(void **state)
{
	struct vm_fixture *fx = fx_new(3, 256, 0);

	(void)state;
	for (uint32_t i = 0; i < 3; i++)
		fx_add_xapic(fx, i, i);
	assert_int_equal(fx_send(fx, 0xFF, false, VIRQ_DM_LOWEST, V), 3);
	assert_int_equal(fx_who(fx, V), 0x7);
	fx_drain_all(fx);
	/* A physical single destination: that one. */
	assert_int_equal(fx_send(fx, 2, false, VIRQ_DM_LOWEST, V), 1);
	assert_int_equal(fx_who(fx, V), 0x4);
	fx_free(fx);
}

static void test_msi_redirection_hint(void **state)
{
	struct vm_fixture *fx = fx_new(2, 256, 0);
	unsigned hits[2] = { 0 };

	(void)state;
	for (uint32_t i = 0; i < 2; i++) {
		fx_add_xapic(fx, i, i);
		fx_mmio_w(fx, i, VIRQ_LAPIC_REG_LDR, (1U << i) << 24);
	}
	/* RH=1, DM=1 (logical), dest 0x03, fixed: lowest priority. */
	for (unsigned k = 0; k < 10; k++) {
		uint32_t who;

		assert_int_equal(virq_vm_send_msi(&fx->vm, 0xFEE0300CULL, V, 0), 1);
		who = fx_who(fx, V);
		assert_int_equal(__builtin_popcount(who), 1);
		hits[__builtin_ctz(who)]++;
		fx_drain_all(fx);
	}
	assert_int_equal(hits[0], 5);
	assert_int_equal(hits[1], 5);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ties_spread_flat),
		cmocka_unit_test(test_ties_spread_x2apic_cluster),
		cmocka_unit_test(test_lower_ppr_wins),
		cmocka_unit_test(test_disabled_not_candidates),
		cmocka_unit_test(test_vector_hashing),
		cmocka_unit_test(test_physical_broadcast_is_fixed),
		cmocka_unit_test(test_msi_redirection_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
