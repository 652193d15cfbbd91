/* SPDX-License-Identifier: MIT */
/*
 * libvirq in the hv, linked as built freestanding: one LAPIC for the
 * guest's vCPU. It answers the guest's IA32_APIC_BASE reads; nothing posts
 * or injects interrupts yet and the LAPIC page is not mapped (an access
 * gives an EPT violation): wiring it to VM entries and exits is the VMX
 * glue's job (doc/architecture.md, part vmx-glue, planned).
 */
#include <virq/lapic.h>
#include <virq/regs/lapic.h>
#include <virq/version.h>

#include "hv.h"

static struct virq_lapic lapic __attribute__((aligned(64)));
static uint8_t lapic_page[VIRQ_LAPIC_PAGE_SIZE] __attribute__((aligned(4096)));

static void hv_kick(void *ctx)
{
	(void)ctx; /* one vCPU, run by this thread: nothing to wake */
}

/* Bochs's TSC counts guest instructions (cpu: ips=); 1 GHz is assumed. */
static uint64_t hv_now_ns(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

static void hv_timer_arm(void *ctx, uint64_t deadline_ns)
{
	(void)ctx;
	hv_printf("virq-hv: LAPIC timer armed for %lu ns: no host timer is wired yet\n",
		  deadline_ns);
}

static void hv_timer_cancel(void *ctx)
{
	(void)ctx;
}

static const struct virq_lapic_ops hv_lapic_ops = {
	.kick = hv_kick,
	.now_ns = hv_now_ns,
	.timer_arm = hv_timer_arm,
	.timer_cancel = hv_timer_cancel,
};

int hv_virq_init(void)
{
	const struct virq_lapic_config cfg = { .apic_id = 0, .bsp = true, .x2apic = true };
	uint64_t version = 0;
	int err = virq_lapic_init(&lapic, lapic_page, &cfg, &hv_lapic_ops, NULL);

	if (err) {
		hv_printf("virq-hv: FAIL: virq_lapic_init: %d\n", err);
		return err;
	}
	virq_lapic_mmio_read(&lapic, VIRQ_LAPIC_REG_VERSION, 4, &version);
	hv_printf("virq-hv: libvirq %s: LAPIC for vCPU 0, ID %u, version register %lx, "
		  "IA32_APIC_BASE %lx\n",
		  VIRQ_VERSION_STRING, virq_lapic_get_id(&lapic), version,
		  virq_lapic_get_apic_base(&lapic));
	return 0;
}

uint64_t hv_apic_base(void)
{
	return virq_lapic_get_apic_base(&lapic);
}
