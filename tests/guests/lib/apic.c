/* SPDX-License-Identifier: MIT */
/* Local APIC access (xAPIC MMIO or x2APIC MSRs), waiting, and SMP start. */
#include "guest.h"

/* ~1 ms at the usual 1 GHz timer clock, divide by 1. Not shorter: on a
 * host whose interrupt-window exits lag behind an IRETQ, a tick that fires
 * before every HLT would keep winning over a lower pending vector. */
#define TICK_COUNT 1000000

bool tick_disabled;
void (*ap_init_hook)(void);

bool cpu_has_x2apic(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return c & (1u << 21);
}

bool cpu_has_tsc_deadline(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return c & (1u << 24);
}

uint32_t cpuid_apic_id(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

bool apic_x2(void)
{
	return percpu[cpu_id()].x2apic;
}

void apic_set_x2_flag(bool x2)
{
	percpu[cpu_id()].x2apic = x2;
}

uint32_t apic_read(uint32_t reg)
{
	if (apic_x2())
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return mmio_read32(APIC_MMIO + reg);
}

void apic_write(uint32_t reg, uint32_t val)
{
	if (apic_x2())
		wrmsr(0x800 + (reg >> 4), val);
	else
		mmio_write32(APIC_MMIO + reg, val);
}

uint32_t apic_id(void)
{
	uint32_t id = apic_read(APIC_ID);

	return apic_x2() ? id : id >> 24;
}

void apic_icr(uint32_t low, uint32_t dest)
{
	uint64_t f = irq_save();

	if (apic_x2()) {
		wrmsr(0x830, ((uint64_t)dest << 32) | low);
	} else {
		uint64_t dl = rdtsc() + 100 * TSC_PER_MS;

		apic_write(APIC_ICR2, dest << 24);
		apic_write(APIC_ICR, low);
		while (apic_read(APIC_ICR) & ICR_BUSY) {
			if (rdtsc() > dl)
				panic("ICR delivery status stuck busy (ICR 0x%x)", low);
			pause();
		}
	}
	irq_restore(f);
}

bool apic_reg_bit(uint32_t base, unsigned vec)
{
	return (apic_read(base + 0x10 * (vec / 32)) >> (vec % 32)) & 1;
}

void apic_setup(void)
{
	apic_write(APIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	apic_write(APIC_TPR, 0);
	apic_write(APIC_LVTT, LVT_MASK | VEC_TICK);
	apic_write(APIC_LVTERR, LVT_MASK | 0xFE);
	apic_write(APIC_TDCR, 0xB); /* divide by 1 */
	apic_write(APIC_TMICT, 0);
}

bool apic_to_x2apic(void)
{
	uint64_t b = rdmsr(MSR_APIC_BASE);

	if (wrmsr_safe(MSR_APIC_BASE, b | APIC_BASE_EN | APIC_BASE_EXTD) >= 0)
		return false;
	apic_set_x2_flag(true);
	return true;
}

/* ---------------------------------------------------------------------- */

void idle(void)
{
	uint64_t f = read_flags();

	/* Interrupts off from before the tick is armed until the HLT (STI's
	 * shadow covers it): a tick, or any interrupt, that arrives in
	 * between stays pending and ends the HLT at once. With IF=1 here it
	 * could be taken before the HLT, which then slept with no tick armed
	 * and nothing left to wake it. */
	cli();
	if (!tick_disabled) {
		apic_write(APIC_LVTT, VEC_TICK);
		apic_write(APIC_TMICT, TICK_COUNT);
	}
	sti_hlt();
	if (!(f & 0x200))
		cli();
}

void tick_cancel(void)
{
	if (!tick_disabled)
		apic_write(APIC_TMICT, 0);
}

void spin_us(unsigned us)
{
	uint64_t dl = rdtsc() + us * TSC_PER_MS / 1000;

	while (rdtsc() < dl)
		pause();
}

void settle(unsigned us)
{
	uint64_t dl = rdtsc() + us * TSC_PER_MS / 1000;

	while (rdtsc() < dl)
		idle();
	tick_cancel();
}

/* ---------------------------------------------------------------------- */
/* SMP */

extern const char tramp_start[], tramp_end[];

#define TRAMPOLINE 0x8000

void ap_main(void);
void ap_main(void)
{
	struct percpu *me = &percpu[cpu_id()];

	apic_set_x2_flag(rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD);
	apic_setup();
	if (ap_init_hook)
		ap_init_hook();
	atomic_set(&me->online, 1);
	for (;;) {
		void (*fn)(void *);

		cli();
		while (!(fn = me->fn)) {
			sti_hlt();
			cli();
		}
		sti();
		fn(me->arg);
		cli();
		__atomic_store_n(&me->fn, NULL, __ATOMIC_RELEASE);
		atomic_inc(&me->calls_done);
	}
}

static bool all_online(void)
{
	for (unsigned i = 1; i < nr_cpus; i++)
		if (!atomic_read(&percpu[i].online))
			return false;
	return true;
}

unsigned smp_boot(void)
{
	unsigned n = 0;

	memcpy((void *)TRAMPOLINE, tramp_start, (size_t)(tramp_end - tramp_start));
	for (unsigned i = 1; i < nr_cpus; i++) {
		apic_icr(ICR_INIT | ICR_ASSERT, i);
		apic_icr(ICR_SIPI | ICR_ASSERT | (TRAMPOLINE >> 12), i);
	}
	WAIT_UNTIL(all_online(), 2000);
	for (unsigned i = 1; i < nr_cpus; i++)
		n += atomic_read(&percpu[i].online) ? 1 : 0;
	return n;
}

bool smp_wait(unsigned cpu)
{
	return WAIT_UNTIL(!__atomic_load_n(&percpu[cpu].fn, __ATOMIC_ACQUIRE), 2000);
}

bool smp_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait)
{
	struct percpu *p = &percpu[cpu];

	if (cpu >= MAX_CPUS || !atomic_read(&p->online) || !smp_wait(cpu))
		return false;
	p->arg = arg;
	__atomic_store_n(&p->fn, fn, __ATOMIC_RELEASE);
	apic_icr(ICR_FIXED | ICR_ASSERT | VEC_WAKE, cpu);
	return wait ? smp_wait(cpu) : true;
}
