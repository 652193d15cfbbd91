/* SPDX-License-Identifier: MIT */
/*
 * minimal-embedder: the smallest integration of one libvirq LAPIC.
 *
 * A real VMM has a vCPU thread (the LAPIC's owner), device threads that post
 * interrupts, and a host timer. Here one thread plays every part, in order,
 * and prints the APIC state after each step: what is posted but not yet
 * seen by the owner (the posted-interrupt descriptor's PIR), IRR, ISR, TPR
 * and PPR. Everything goes through the public API in <virq/lapic.h>; the
 * register page is read directly, which the API allows (the embedder may
 * read it at will, and writes it only through the API).
 *
 * The program checks what it expects at each step and exits non-zero if the
 * library disagrees, so it doubles as a smoke test.
 */
#include <inttypes.h>
#include <stdio.h>

#include <virq/lapic.h>

/* The embedder's context: handed to every callback as ctx. */
struct demo_env {
	uint64_t now_ns;  /* a fake monotonic clock, advanced by hand */
	unsigned kicks;   /* how often a poster had to wake the owner */
	bool timer_armed; /* the host timer the LAPIC asked for */
	uint64_t timer_deadline;
};

/* Any thread, on the "no posted work -> posted work" transition only. A
 * VMM wakes the halted vCPU thread or IPIs the CPU that runs it in guest mode. */
static void demo_kick(void *ctx)
{
	((struct demo_env *)ctx)->kicks++;
}

static uint64_t demo_now(void *ctx)
{
	return ((struct demo_env *)ctx)->now_ns;
}

/* Arm the host timer (hrtimer, timerfd, ...) for an absolute deadline. */
static void demo_timer_arm(void *ctx, uint64_t deadline_ns)
{
	struct demo_env *env = ctx;

	env->timer_armed = true;
	env->timer_deadline = deadline_ns;
	printf("    [timer_arm] host timer armed for t=%" PRIu64 " ns\n", deadline_ns);
}

static void demo_timer_cancel(void *ctx)
{
	((struct demo_env *)ctx)->timer_armed = false;
}

/* An IPI from the guest's ICR: a router would post it to the target LAPICs. */
static void demo_send_ipi(void *ctx, const struct virq_apic_msg *msg)
{
	(void)ctx;
	printf("    [send_ipi] vector 0x%02x delivery %u to %s APIC 0x%x (from 0x%x)\n",
	       msg->vector, msg->delivery, msg->logical ? "logical" : "physical", msg->dest,
	       msg->src);
}

/* Level-triggered EOI: an I/O APIC would clear Remote IRR for this vector. */
static void demo_eoi_level(void *ctx, uint8_t vector)
{
	(void)ctx;
	printf("    [eoi_level] vector 0x%02x: tell the I/O APIC (Remote IRR)\n", vector);
}

static const struct virq_lapic_ops demo_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = demo_kick,
	.now_ns = demo_now,
	.timer_arm = demo_timer_arm,
	.timer_cancel = demo_timer_cancel,
	.send_ipi = demo_send_ipi,
	.eoi_level = demo_eoi_level,
};

/* The caller allocates everything: a 4 KiB-aligned register page (the same
 * page can later serve as the VT-x virtual-APIC page) and the LAPIC. */
static uint32_t page[VIRQ_LAPIC_PAGE_SIZE / 4] VIRQ_ALIGNED(4096);
static struct virq_lapic apic;
static struct demo_env env;
static int failures;

/* Lists the set vectors of a 256-bit register: 8 x 32 bits, 16 bytes apart. */
static void fmt_vectors(char *buf, size_t len, uint32_t base)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned v = 0; v < 256 && n + 6 < len; v++)
		if (page[(base + (v / 32) * 16) / 4] & (1U << (v % 32)))
			n += (size_t)snprintf(buf + n, len - n, "%s0x%02x", n ? " " : "", v);
}

/* Posted vectors the owner has not folded into IRR yet (read-only peek). */
static void fmt_posted(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned v = 0; v < 256 && n + 6 < len; v++)
		if (__atomic_load_n(&apic.pi.pir[v / 64], __ATOMIC_RELAXED) & (1ULL << (v % 64)))
			n += (size_t)snprintf(buf + n, len - n, "%s0x%02x", n ? " " : "", v);
}

static void show(const char *step)
{
	char pir[64], irr[64], isr[64];

	fmt_posted(pir, sizeof(pir));
	fmt_vectors(irr, sizeof(irr), VIRQ_LAPIC_REG_IRR);
	fmt_vectors(isr, sizeof(isr), VIRQ_LAPIC_REG_ISR);
	printf("%-38s %-15s %-15s %-10s 0x%02x 0x%02x %5u\n", step, pir, irr, isr,
	       page[VIRQ_LAPIC_REG_TPR / 4], page[VIRQ_LAPIC_REG_PPR / 4], env.kicks);
}

static void expect(int got, int want, const char *what)
{
	if (got != want) {
		printf("!!! %s: got %d, expected %d\n", what, got, want);
		failures++;
	}
}

/* A guest MMIO write exit: aligned 32-bit store to the xAPIC page. */
static void guest_write(uint32_t reg, uint32_t val)
{
	expect(virq_lapic_mmio_write(&apic, reg, 4, val), 0, "mmio write");
}

/* The vCPU loop's injection point: acknowledge = IRR -> ISR. */
static int deliver(int want)
{
	int v = virq_lapic_ack(&apic);

	expect(v, want, "ack");
	return v;
}

int main(void)
{
	struct virq_lapic_config cfg = {
		.size = sizeof(struct virq_lapic_config), .apic_id = 0, .bsp = true, .x2apic = true
	};
	char buf[64];

	if (virq_lapic_init(&apic, page, &cfg, &demo_ops, &env) != 0) {
		printf("virq_lapic_init failed\n");
		return 1;
	}
	printf("PPR = max(TPR, class of the highest ISR vector); a vector is delivered\n"
	       "only when its class (high nibble) is above the PPR class. EOI retires\n"
	       "the highest ISR vector. Vector lists are in hex.\n\n");
	printf("%-38s %-15s %-15s %-10s %-4s %-4s %5s\n", "step", "posted (PIR)", "IRR", "ISR",
	       "TPR", "PPR", "kicks");
	show("init: xAPIC, software-disabled");

	/* The guest enables the APIC: SVR bit 8, spurious vector 0xFF. */
	guest_write(VIRQ_LAPIC_REG_SVR, VIRQ_LAPIC_SVR_ENABLE | 0xFFU);
	show("guest: SVR = 0x1ff (enable)");

	/* Device threads post; only the first post kicks the owner. */
	virq_lapic_post(&apic, 0x41, false);
	virq_lapic_post(&apic, 0x61, false);
	virq_lapic_post(&apic, 0x35, false);
	show("post 0x41, 0x61, 0x35 (edge)");

	/* The owner evaluates: posted requests are folded into IRR first. */
	snprintf(buf, sizeof(buf), "pending -> 0x%02x", virq_lapic_pending(&apic));
	show(buf);
	deliver(0x61);
	show("ack -> 0x61 (inject it)");
	expect(virq_lapic_pending(&apic), VIRQ_LAPIC_NO_VECTOR, "pending under 0x61");
	show("pending -> none (0x41 <= PPR class)");

	/* A higher class arrives while 0x61 is in service: it nests. */
	virq_lapic_post(&apic, 0x81, false);
	show("post 0x81 (kicks: ON was clear)");
	deliver(0x81);
	show("ack -> 0x81 (nested over 0x61)");

	/* EOIs retire the highest ISR vector first: 0x81, then 0x61. */
	guest_write(VIRQ_LAPIC_REG_EOI, 0);
	show("guest: EOI (retires 0x81)");
	guest_write(VIRQ_LAPIC_REG_EOI, 0);
	show("guest: EOI (retires 0x61)");

	/* The guest raises TPR to class 5: 0x41 and 0x35 are held in IRR. */
	guest_write(VIRQ_LAPIC_REG_TPR, 0x50);
	expect(virq_lapic_pending(&apic), VIRQ_LAPIC_NO_VECTOR, "pending under TPR 0x50");
	show("guest: TPR = 0x50 -> none pending");
	/* MOV CR8 is the same register: CR8 = TPR[7:4]. */
	expect(virq_lapic_set_cr8(&apic, 0), 0, "set_cr8");
	snprintf(buf, sizeof(buf), "guest: CR8 = 0 -> pending 0x%02x", virq_lapic_pending(&apic));
	show(buf);
	deliver(0x41);
	guest_write(VIRQ_LAPIC_REG_EOI, 0);
	deliver(0x35);
	guest_write(VIRQ_LAPIC_REG_EOI, 0);
	show("ack+EOI 0x41, ack+EOI 0x35");

	/* A level-triggered interrupt (an I/O APIC pin): TMR is set, and its
	 * EOI is reported through ops->eoi_level. */
	virq_lapic_post(&apic, 0x92, true);
	deliver(0x92);
	show("post 0x92 (level), ack");
	guest_write(VIRQ_LAPIC_REG_EOI, 0);
	show("guest: EOI (level -> eoi_level)");

	/* The APIC timer: one-shot, divide by 1, 1000 ticks of 1 ns. The LAPIC
	 * asks for a host timer; when it fires, the owner reports expiry. */
	guest_write(VIRQ_LAPIC_REG_LVT_TIMER, 0xEF);
	guest_write(VIRQ_LAPIC_REG_TDCR, 0xB);
	guest_write(VIRQ_LAPIC_REG_TMICT, 1000);
	env.now_ns = env.timer_deadline;
	virq_lapic_timer_expired(&apic);
	show("timer expired -> 0xef in IRR");
	deliver(0xEF);
	guest_write(VIRQ_LAPIC_REG_EOI, 0);
	show("ack+EOI 0xef");

	/* The guest sends an IPI (fixed, vector 0x50) to APIC 1 through the
	 * ICR: the LAPIC hands the decoded message to send_ipi. */
	guest_write(VIRQ_LAPIC_REG_ICR_HI, 1U << 24);
	guest_write(VIRQ_LAPIC_REG_ICR_LO, 0x50);
	show("guest: ICR -> IPI 0x50 to APIC 1");

	/* HLT: nothing to wake for. */
	expect(virq_lapic_has_work(&apic), false, "has_work");
	show("idle: has_work = false");

	if (failures) {
		printf("%d unexpected results\n", failures);
		return 1;
	}
	printf("minimal-embedder: all steps behaved as the SDM says\n");
	return 0;
}
