/* SPDX-License-Identifier: MIT */
/*
 * The GSI router: PC layout, wired-OR sources, pulses, MSI routes, route
 * changes and range checks.
 */
#include "harness.h"

static bool pin_level(struct vm_fixture *fx, unsigned pin)
{
	return (fx->ioapic.line[pin / 64] >> (pin % 64)) & 1U;
}

static struct vm_fixture *gsi_fixture(void)
{
	struct vm_fixture *fx = fx_new(2, 256, 32);

	fx_add_xapic(fx, 0, 0);
	fx_add_xapic(fx, 1, 1);
	fx_attach_ioapic(fx);
	return fx;
}

static void test_pc_layout(void **state)
{
	struct vm_fixture *fx = fx_new(1, 256, 32);

	(void)state;
	assert_int_equal(fx->gsis[0].route.ioapic, 0);
	assert_int_equal(fx->gsis[0].route.pin, 2);
	assert_int_equal(fx->gsis[0].route.pic_irq, 0);
	assert_int_equal(fx->gsis[2].route.pin, 2);
	assert_int_equal(fx->gsis[2].route.pic_irq, VIRQ_VM_NO_ROUTE);
	for (unsigned n = 1; n < 24; n++) {
		if (n == 2)
			continue;
		assert_int_equal(fx->gsis[n].route.ioapic, 0);
		assert_int_equal(fx->gsis[n].route.pin, n);
		assert_int_equal(fx->gsis[n].route.pic_irq, n < 16 ? n : VIRQ_VM_NO_ROUTE);
		assert_false(fx->gsis[n].route.msi);
	}
	for (unsigned n = 24; n < 32; n++) {
		assert_int_equal(fx->gsis[n].route.ioapic, VIRQ_VM_NO_ROUTE);
		assert_int_equal(fx->gsis[n].route.pic_irq, VIRQ_VM_NO_ROUTE);
	}
	fx_free(fx);
}

static void test_irq0_override(void **state)
{
	struct vm_fixture *fx = gsi_fixture();

	(void)state;
	assert_int_equal(virq_vm_set_irq(&fx->vm, 0, 0, VIRQ_IRQ_HIGH), 0);
	assert_true(pin_level(fx, 2));
	assert_false(pin_level(fx, 0));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 0, 0, VIRQ_IRQ_LOW), 0);
	assert_false(pin_level(fx, 2));
	fx_free(fx);
}

/* KVM row: several sources on one GSI need a wired-OR kept under one lock. */
static void test_wired_or_two_sources(void **state)
{
	struct vm_fixture *fx = gsi_fixture();

	(void)state;
	assert_int_equal(virq_vm_set_irq(&fx->vm, 10, 3, VIRQ_IRQ_HIGH), 0);
	assert_true(pin_level(fx, 10));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 10, 17, VIRQ_IRQ_HIGH), 0);
	assert_true(pin_level(fx, 10));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 10, 3, VIRQ_IRQ_LOW), 0);
	assert_true(pin_level(fx, 10)); /* source 17 still holds it */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 10, 3, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 10, 17, VIRQ_IRQ_LOW), 0);
	assert_true(pin_level(fx, 10));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 10, 3, VIRQ_IRQ_LOW), 0);
	assert_false(pin_level(fx, 10));
	/* Lowering a source that is not high changes nothing. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 10, 31, VIRQ_IRQ_LOW), 0);
	assert_false(pin_level(fx, 10));
	fx_free(fx);
}

static void test_pulses(void **state)
{
	struct vm_fixture *fx = gsi_fixture();

	(void)state;
	/* Edge RTE on pin 5 to vCPU 1, vector 0x35. */
	fx_rte(fx, 5, ((uint64_t)1 << 56) | 0x35);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_false(pin_level(fx, 5));
	assert_int_equal(fx_who(fx, 0x35), 0x2);
	fx_drain_all(fx);
	/* A falling pulse on a high line: low then high, one new edge. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(fx_who(fx, 0x35), 0x2);
	fx_drain_all(fx);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 0, VIRQ_IRQ_FALLING_PULSE), 0);
	assert_true(pin_level(fx, 5));
	assert_int_equal(fx_who(fx, 0x35), 0x2);
	fx_drain_all(fx);
	/* A raising pulse while another source holds the line: no edge. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 5, 1, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_true(pin_level(fx, 5));
	assert_int_equal(fx_who(fx, 0x35), 0);
	fx_free(fx);
}

static void test_msi_route(void **state)
{
	struct vm_fixture *fx = gsi_fixture();
	struct virq_gsi_route r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.ioapic = VIRQ_VM_NO_ROUTE;
	r.pic_irq = VIRQ_VM_NO_ROUTE;
	r.msi = true;
	r.msi_addr = 0xFEE01000ULL; /* physical dest 1 */
	r.msi_data = 0x66;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 28, &r), 0);
	/* One MSI per rising edge of the line. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 28, 0, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(fx_who(fx, 0x66), 0x2);
	fx_drain_all(fx);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 28, 1, VIRQ_IRQ_HIGH), 0);
	assert_int_equal(fx_who(fx, 0x66), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 28, 0, VIRQ_IRQ_LOW), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 28, 1, VIRQ_IRQ_LOW), 0);
	assert_int_equal(fx_who(fx, 0x66), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 28, 1, VIRQ_IRQ_RAISING_PULSE), 0);
	assert_int_equal(fx_who(fx, 0x66), 0x2);
	fx_free(fx);
}

static void test_route_change_while_high(void **state)
{
	struct vm_fixture *fx = gsi_fixture();
	struct virq_gsi_route r;

	(void)state;
	assert_int_equal(virq_vm_set_irq(&fx->vm, 9, 0, VIRQ_IRQ_HIGH), 0);
	assert_true(pin_level(fx, 9));
	r = fx->gsis[9].route;
	r.pin = 20;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 9, &r), 0);
	assert_false(pin_level(fx, 9));
	assert_true(pin_level(fx, 20));
	assert_int_equal(virq_vm_set_irq(&fx->vm, 9, 0, VIRQ_IRQ_LOW), 0);
	assert_false(pin_level(fx, 20));
	fx_free(fx);
}

/* KVM CVE-2017-1000252: an out-of-range GSI reached a table unchecked. */
static void test_gsi_out_of_range(void **state)
{
	struct vm_fixture *fx = gsi_fixture();
	struct virq_gsi_route r;

	(void)state;
	assert_int_equal(virq_vm_set_irq(&fx->vm, 32, 0, VIRQ_IRQ_HIGH), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 0xFFFFFFFFU, 0, VIRQ_IRQ_HIGH), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 32, VIRQ_IRQ_HIGH), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, (enum virq_irq_op)4), -VIRQ_EINVAL);
	assert_int_equal(fx->gsis[1].sources, 0);
	r = fx->gsis[1].route;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 32, &r), -VIRQ_EINVAL);
	r.ioapic = VIRQ_VM_MAX_IOAPICS;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 1, &r), -VIRQ_EINVAL);
	r.ioapic = 0;
	r.pin = VIRQ_IOAPIC_MAX_PINS;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 1, &r), -VIRQ_EINVAL);
	r.pin = 1;
	r.pic_irq = 16;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 1, &r), -VIRQ_EINVAL);
	r.pic_irq = 1;
	r.reserved = 1;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 1, &r), -VIRQ_EINVAL);
	/* A route to an I/O APIC that is not attached, or a pin it lacks:
	 * accepted, and the line goes nowhere there. */
	r.reserved = 0;
	r.ioapic = 3;
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 1, &r), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_HIGH), 0);
	r.ioapic = 0;
	r.pin = 100; /* the I/O APIC has 24 pins */
	assert_int_equal(virq_vm_set_gsi_route(&fx->vm, 1, &r), 0);
	assert_int_equal(virq_vm_set_irq(&fx->vm, 1, 0, VIRQ_IRQ_LOW), 0);
	/* Wrappers: indexes of controllers that do not exist. */
	{
		uint64_t v;
		uint8_t b;

		assert_int_equal(virq_vm_ioapic_read(&fx->vm, 1, 0, 4, &v), -VIRQ_EINVAL);
		assert_int_equal(virq_vm_ioapic_write(&fx->vm, 8, 0, 4, 0), -VIRQ_EINVAL);
		assert_int_equal(virq_vm_ioapic_service(&fx->vm, 1, 0), -VIRQ_EINVAL);
		assert_int_equal(virq_vm_ioapic_service(&fx->vm, 0, 24), -VIRQ_EINVAL);
		assert_int_equal(virq_vm_pic_read(&fx->vm, 0x20, &b), -VIRQ_ENOENT);
		assert_int_equal(virq_vm_pic_intack(&fx->vm), 0xFF);
	}
	fx_free(fx);
}

static void test_attach_limits(void **state)
{
	struct vm_fixture *fx = fx_new(1, 16, 8);
	static struct virq_ioapic io[VIRQ_VM_MAX_IOAPICS + 1];
	struct virq_ioapic_config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.pins = 4;
	for (unsigned i = 0; i < VIRQ_VM_MAX_IOAPICS; i++)
		assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &io[i], &c, 24 + 4 * i, 0), (int)i);
	assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &io[VIRQ_VM_MAX_IOAPICS], &c, 0, 0),
			 -VIRQ_ENOTSUP);
	assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &io[0], &c, 0xFFFFFFFEU, 0), -VIRQ_EINVAL);
	c.pins = 200;
	assert_int_equal(virq_vm_attach_ioapic(&fx->vm, NULL, &c, 0, 0), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 1), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 0), 0);
	assert_int_equal(virq_vm_attach_pic(&fx->vm, &fx->pic, 0), -VIRQ_EINVAL);
	fx_free(fx);
}

static void test_second_ioapic_range(void **state)
{
	struct vm_fixture *fx = fx_new(1, 16, 48);
	static struct virq_ioapic io2;
	struct virq_ioapic_config c;

	(void)state;
	fx_add_xapic(fx, 0, 0);
	fx_attach_ioapic(fx);
	/* A device line raised before its I/O APIC exists. */
	assert_int_equal(virq_vm_set_irq(&fx->vm, 30, 0, VIRQ_IRQ_HIGH), 0);
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	assert_int_equal(virq_vm_attach_ioapic(&fx->vm, &io2, &c, 24, 0x1234), 1);
	assert_int_equal(fx->gsis[30].route.ioapic, 1);
	assert_int_equal(fx->gsis[30].route.pin, 6);
	assert_true((io2.line[0] >> 6) & 1U);
	/* GSI 0-23 keep the PC layout on I/O APIC 0. */
	assert_int_equal(fx->gsis[0].route.ioapic, 0);
	assert_int_equal(fx->gsis[0].route.pin, 2);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pc_layout),
		cmocka_unit_test(test_irq0_override),
		cmocka_unit_test(test_wired_or_two_sources),
		cmocka_unit_test(test_pulses),
		cmocka_unit_test(test_msi_route),
		cmocka_unit_test(test_route_change_while_high),
		cmocka_unit_test(test_gsi_out_of_range),
		cmocka_unit_test(test_attach_limits),
		cmocka_unit_test(test_second_ioapic_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
