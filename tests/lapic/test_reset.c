/* SPDX-License-Identifier: MIT */
#include "harness.h"

static void test_smoke(void **state)
{
	struct lapic_fixture fx;

	(void)state;
	fixture_init(&fx, NULL);
	fixture_sw_enable(&fx);
	virq_lapic_post(&fx.apic, 0x41, false);
	assert_int_equal(fx.f.kicks, 1);
	assert_int_equal(virq_lapic_ack(&fx.apic), 0x41);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0x40);
	virq_lapic_eoi(&fx.apic);
	assert_int_equal(mmio_r(&fx, VIRQ_LAPIC_REG_PPR), 0);
	assert_invariants(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_smoke) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
