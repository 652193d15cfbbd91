/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target (fuzz-vm-split): the vCPU event policy without a LAPIC
 * (virq_vcpu_init(&pol, NULL, vm), KVM's split irqchip), which decides only
 * the 8259's ExtINT from virq_vm_pic_asserted() and the window.
 *
 * The VM: two vCPUs; vCPU 0, the BSP the PIC pair is attached to, is not
 * in the vCPU table (its LAPIC lives elsewhere, so the PIC's INT goes to
 * ops->pic_intr); vCPU 1 is a real xAPIC LAPIC nothing should reach. One
 * I/O APIC (GSI base 0, sid 0xF0) whose pin 0 also sees the PIC's INT. The
 * ops have lock/unlock (a depth counter), deliver_msi (records, answers 1:
 * every MSI goes there, undecoded), pic_intr and ioapic_msg (record).
 *
 * Input: records of one op byte (taken modulo OP_COUNT) and five argument
 * bytes a[0..4]; bytes past the end read as 0. No header.
 *   OP_PIC_W     port ports[a0 % 6] (0x20 0x21 0xA0 0xA1 0x4D0 0x4D1) <- a1
 *   OP_PIC_R     IN from ports[a0 % 6] (a poll read acknowledges)
 *   OP_SET_IRQ   virq_vm_set_irq(GSI a0 % 16, source a1 % 32, op a2 % 5);
 *                op 4 is no virq_irq_op and must be refused
 *   OP_IOAPIC_W  MMIO write, IOWIN (0x10) with a0 bit 0 else IOREGSEL (0),
 *                value a1..a4 little-endian
 *   OP_IOAPIC_R  MMIO read, IOWIN with a0 bit 0 else IOREGSEL
 *   OP_DECIDE    virq_vcpu_decide() with window intr = a0 bit 0, nmi =
 *                a0 bit 1; after an INTR, with a0 bit 2 the guest's handler
 *                ends with a non-specific EOI to the master (and first to
 *                the slave with a0 bit 3)
 *   OP_WAKES     virq_vcpu_wakes(intr_enabled = a0 bit 0)
 *   OP_RESET     virq_vcpu_reset()
 *   OP_TAKE      virq_vm_pic_take() directly (another INTA consumer)
 *   OP_EOI       virq_vm_eoi() (the EOI broadcast the external LAPIC
 *                forwards) of vector a1, or with a0 bit 0 of the vector of
 *                the last MSI handed to deliver_msi
 *
 * After every op (a failed check prints the line and traps):
 *  - pic_check_invariants(), ioapic_check_invariants(),
 *    vm_check_invariants() and lapic_check_invariants() of vCPU 1 are 0;
 *  - the lock depth is 0 outside calls and 1 inside every hook; pic_intr
 *    reports changes only, and its last level equals
 *    virq_vm_pic_asserted(), which equals an independent resolution of the
 *    master's INT from its registers (fully nested priority with rotation,
 *    special mask mode, special fully nested mode) and I/O APIC pin 0's
 *    level; every ioapic_msg is followed by exactly one deliver_msi of the
 *    same message, GSI = pin, sid 0xF0, within the same call;
 *  - vCPU 1's LAPIC never sees anything (LINT pins low, nothing pending);
 *  - the policy holds nothing (no NMI, no held event); its stats count
 *    exactly the INTR decisions (intr_pic) and the window decisions
 *    (intr_windows), every other counter stays 0; set_irq answers 0, or
 *    -VIRQ_EINVAL for op 4 with the PIC untouched.
 *  After each decision: actions == return value, a subset of {INTR,
 *  INTR_WINDOW}, never both; INTR iff INT was asserted just before and
 *  w.intr, then source PIC and the vector and the PIC registers after the
 *  INTA equal what a model of the acknowledge predicts from the registers
 *  before (chip base + level, spurious IRQ15 = slave base + 7; ISR bit set
 *  unless AEOI, which may rotate; an edge request consumed; nothing else
 *  changed but the cascade input master IR2); INTR_WINDOW iff asserted and
 *  !w.intr; 0 iff not asserted; without INTR the vector, source,
 *  sipi_vector and reserved are 0 and the PIC is byte-identical. The
 *  direct virq_vm_pic_take() is checked against the same model (-1 and
 *  untouched when INT is low). wakes(e) == e && asserted and changes
 *  nothing; a reset leaves the stats alone.
 * ASan/UBSan watch the rest.
 *
 * Set FUZZ_SPLIT_TRACE=1 in the environment to print each op, decision
 * and INTA.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virq/ioapic.h>
#include <virq/lapic.h>
#include <virq/pic.h>
#include <virq/vcpu.h>
#include <virq/vm.h>

#include "ioapic/ioapic_priv.h"
#include "lapic/lapic_priv.h"
#include "pic/pic_priv.h"
#include "vm/vm_priv.h"
#include "../fuzz_common.h"

#define NV 2U
#define NGSI 24U
#define NMAP 16U
#define IOAPIC_SID 0xF0U

static bool g_trace;

#define TRACE(...)                                                                                 \
	do {                                                                                       \
		if (g_trace)                                                                       \
			fprintf(stderr, __VA_ARGS__);                                              \
	} while (0)

/* ---- the VM and its embedder ---- */

static uint32_t page[1024] __attribute__((aligned(4096)));
static struct virq_lapic ap;
static struct virq_lapic *vcpus[NV];
static uint32_t map[NMAP];
static uint64_t map_key[NV];
static struct virq_vm_gsi gsis[NGSI];
static struct virq_vm vm;
static struct virq_ioapic ioapic;
static struct virq_pic pic;
static struct virq_vcpu pol;

static unsigned lock_depth;
static bool intr_level;   /* last level ops->pic_intr reported */
static bool msg_waiting;  /* an ioapic_msg whose deliver_msi is due */
static unsigned msg_pin;  /* ... its pin */
static uint64_t msg_addr; /* ... and message */
static uint32_t msg_data;
static uint32_t last_data;     /* data of the last MSI handed to deliver_msi */
static uint64_t n_intr, n_win; /* INTR and INTR_WINDOW decisions */

static void f_lock(void *ctx)
{
	CHECK(ctx == &vm);
	CHECK(lock_depth == 0);
	lock_depth++;
}

static void f_unlock(void *ctx)
{
	CHECK(ctx == &vm);
	CHECK(lock_depth == 1);
	lock_depth--;
}

static unsigned f_deliver_msi(void *ctx, uint64_t addr, uint32_t data, uint16_t sid, uint32_t gsi)
{
	CHECK(ctx == &vm);
	CHECK(lock_depth == 1);
	/* Every MSI here comes from the I/O APIC, announced just before. */
	CHECK(msg_waiting);
	CHECK(gsi == msg_pin && addr == msg_addr && data == msg_data);
	CHECK(sid == IOAPIC_SID);
	msg_waiting = false;
	last_data = data;
	return 1;
}

static void f_pic_intr(void *ctx, bool level)
{
	CHECK(ctx == &vm);
	CHECK(lock_depth == 1);
	CHECK(level != intr_level); /* changes only */
	intr_level = level;
}

static void f_ioapic_msg(void *ctx, unsigned io, unsigned pin, uint64_t addr, uint32_t data)
{
	CHECK(ctx == &vm);
	CHECK(lock_depth == 1);
	CHECK(io == 0 && pin < NGSI);
	CHECK(!msg_waiting);
	msg_waiting = true;
	msg_pin = pin;
	msg_addr = addr;
	msg_data = data;
}

static const struct virq_vm_ops vm_ops = {
	.size = sizeof(struct virq_vm_ops),
	.lock = f_lock,
	.unlock = f_unlock,
	.deliver_msi = f_deliver_msi,
	.pic_intr = f_pic_intr,
	.ioapic_msg = f_ioapic_msg,
};

static void l_kick(void *ctx)
{
	(void)ctx;
}

static uint64_t l_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static void l_arm(void *ctx, uint64_t d)
{
	(void)ctx;
	(void)d;
}

static void l_cancel(void *ctx)
{
	(void)ctx;
}

static void l_send_ipi(void *ctx, const struct virq_apic_msg *m)
{
	(void)ctx;
	(void)m;
	CHECK(0); /* nobody programs the AP's ICR */
}

static void l_eoi_level(void *ctx, uint8_t v)
{
	(void)ctx;
	(void)v;
	CHECK(0);
}

static const struct virq_lapic_ops lapic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = l_kick,
	.now_ns = l_now,
	.timer_arm = l_arm,
	.timer_cancel = l_cancel,
	.send_ipi = l_send_ipi,
	.eoi_level = l_eoi_level,
};

/* ---- a model of the acknowledge, from the 8259A datasheet ---- */

/*
 * The level chip @c asks to have serviced, or -1: walk the priorities from
 * the highest (level prio_add) down; an in-service level at or above the
 * first request blocks it (in special mask mode only unmasked in-service
 * levels count); with special fully nested mode, on the master, IR2 in
 * service does not block a new request on IR2 itself.
 */
static int model_irq(const struct virq_pic_chip *c, bool master)
{
	uint8_t req = (uint8_t)(c->irr & ~c->imr);
	uint8_t isr = c->isr;
	bool sfnm = master && (c->flags & VIRQ_PIC_F_SFNM);
	bool blocked = false, cascade_busy = false;

	if (c->flags & VIRQ_PIC_F_SPECIAL_MASK)
		isr &= (uint8_t)~c->imr;
	for (unsigned p = 0; p < 8; p++) {
		unsigned lvl = (p + c->prio_add) & 7U;

		if (isr & (1U << lvl)) {
			if (sfnm && lvl == 2)
				cascade_busy = true;
			else
				blocked = true;
		}
		if (req & (1U << lvl)) {
			if (!blocked && (!cascade_busy || lvl == 2))
				return (int)lvl;
			return -1;
		}
	}
	return -1;
}

/* The INTA effect on one chip for level @n. */
static void model_ack(struct virq_pic_chip *c, unsigned n)
{
	uint8_t m = (uint8_t)(1U << n);
	uint8_t level = (c->flags & VIRQ_PIC_F_LTIM) ? 0xFFU : c->elcr;

	if (c->flags & VIRQ_PIC_F_AEOI) {
		if (c->flags & VIRQ_PIC_F_ROTATE_AEOI)
			c->prio_add = (uint8_t)((n + 1U) & 7U);
	} else {
		c->isr |= m;
	}
	if (!(level & m))
		c->irr &= (uint8_t)~m;
}

/* The vector an INTA on @before gives, and in @after its registers then
 * (master input 2 aside: the cascade re-arm drives it afresh). */
static uint8_t model_inta(const struct virq_pic *before, struct virq_pic_chip after[2])
{
	int n, s;

	after[0] = before->chip[0];
	after[1] = before->chip[1];
	n = model_irq(&after[0], true);
	if (n < 0)
		return (uint8_t)(after[0].base + 7U); /* spurious IRQ7 */
	if (n == 2) {
		s = model_irq(&after[1], false);
		if (s >= 0)
			model_ack(&after[1], (unsigned)s);
		model_ack(&after[0], 2);
		return (uint8_t)(after[1].base + (s >= 0 ? (unsigned)s : 7U));
	}
	model_ack(&after[0], (unsigned)n);
	return (uint8_t)(after[0].base + (unsigned)n);
}

static void check_chip(const struct virq_pic_chip *got, const struct virq_pic_chip *want,
		       uint8_t dont_care)
{
	uint8_t m = (uint8_t)~dont_care;

	CHECK((got->irr & m) == (want->irr & m));
	CHECK((got->line & m) == (want->line & m));
	CHECK((got->last_irr & m) == (want->last_irr & m));
	CHECK(got->isr == want->isr);
	CHECK(got->imr == want->imr);
	CHECK(got->elcr == want->elcr);
	CHECK(got->prio_add == want->prio_add);
	CHECK(got->base == want->base);
	CHECK(got->init_state == want->init_state);
	CHECK(got->icw3 == want->icw3);
	CHECK(got->flags == want->flags);
}

/* An INTA that gave @vec on @before: the vector and registers predicted. */
static void check_inta(const struct virq_pic *before, int vec)
{
	struct virq_pic_chip after[2];
	uint8_t want = model_inta(before, after);

	CHECK(vec == (int)want);
	check_chip(&pic.chip[PIC_MASTER], &after[0], PIC_CASCADE_BIT);
	check_chip(&pic.chip[PIC_SLAVE], &after[1], 0);
}

/* ---- invariants ---- */

static bool asserted(void)
{
	return virq_vm_pic_asserted(&vm);
}

static void check_all(void)
{
	const struct virq_vcpu_stats *s = virq_vcpu_get_stats(&pol);
	bool on;

	CHECK(lock_depth == 0);
	CHECK(!msg_waiting);
	CHECK(pic_check_invariants(&pic) == 0);
	CHECK(ioapic_check_invariants(&ioapic) == 0);
	CHECK(vm_check_invariants(&vm) == 0);
	CHECK(lapic_check_invariants(&ap) == 0);
	on = asserted();
	CHECK(on == intr_level);
	CHECK(on == (model_irq(&pic.chip[PIC_MASTER], true) >= 0));
	CHECK(((ioapic.line[0] & 1U) != 0) == on);
	/* The AP's LAPIC: nothing reaches it. */
	CHECK((ap.lint & 3U) == 0);
	CHECK(virq_lapic_pending(&ap) == VIRQ_LAPIC_NO_VECTOR);
	/* The policy: nothing held, exact counts. */
	CHECK(pol.lapic == NULL && pol.vm == &vm);
	CHECK(pol.nmi_pending == 0 && pol.held == 0);
	CHECK(s->intr_pic == n_intr && s->intr_windows == n_win);
	CHECK(s->nmi == 0 && s->nmi_dropped == 0 && s->smi == 0 && s->intr_lapic == 0 &&
	      s->init == 0 && s->sipi == 0);
}

/* ---- ops ---- */

enum {
	OP_PIC_W,
	OP_PIC_R,
	OP_SET_IRQ,
	OP_IOAPIC_W,
	OP_IOAPIC_R,
	OP_DECIDE,
	OP_WAKES,
	OP_RESET,
	OP_TAKE,
	OP_EOI,
	OP_COUNT
};

static const uint16_t ports[6] = { 0x20, 0x21, 0xA0, 0xA1, VIRQ_PIC_ELCR1, VIRQ_PIC_ELCR2 };

static void checked_decide(const struct virq_vcpu_window *w, bool eoi, bool eoi_slave)
{
	struct virq_vcpu_decision d;
	struct virq_pic before;
	bool on = asserted();
	uint32_t a;

	memcpy(&before, &pic, sizeof(before));
	memset(&d, 0xA5, sizeof(d));
	a = virq_vcpu_decide(&pol, w, &d);
	TRACE("  decide intr=%d nmi=%d asserted=%d -> actions 0x%x vector 0x%02x\n", w->intr,
	      w->nmi, on, a, d.vector);
	CHECK(a == d.actions);
	CHECK((a & ~(uint32_t)(VIRQ_VCPU_INTR | VIRQ_VCPU_INTR_WINDOW)) == 0);
	CHECK(a != (VIRQ_VCPU_INTR | VIRQ_VCPU_INTR_WINDOW));
	CHECK(d.reserved == 0 && d.sipi_vector == 0);
	CHECK(((a & VIRQ_VCPU_INTR) != 0) == (on && w->intr));
	CHECK(((a & VIRQ_VCPU_INTR_WINDOW) != 0) == (on && !w->intr));
	CHECK((a == 0) == !on);
	if (a & VIRQ_VCPU_INTR) {
		CHECK(d.source == VIRQ_VCPU_SRC_PIC);
		check_inta(&before, d.vector);
		n_intr++;
		if (eoi) {
			if (eoi_slave)
				CHECK(virq_vm_pic_write(&vm, 0xA0, 0x20) == 0);
			CHECK(virq_vm_pic_write(&vm, 0x20, 0x20) == 0);
		}
		return;
	}
	CHECK(d.vector == 0 && d.source == VIRQ_VCPU_SRC_NONE);
	CHECK(memcmp(&before, &pic, sizeof(pic)) == 0);
	if (a & VIRQ_VCPU_INTR_WINDOW)
		n_win++;
}

static void do_op(uint8_t op, const uint8_t *a)
{
	struct virq_pic before;
	uint32_t val32 = (uint32_t)a[1] | (uint32_t)a[2] << 8 | (uint32_t)a[3] << 16 |
			 (uint32_t)a[4] << 24;
	uint64_t val = 0;
	uint8_t b;
	int r;

	TRACE("op %u args %02x %02x %02x %02x %02x\n", op % OP_COUNT, a[0], a[1], a[2], a[3], a[4]);
	switch (op % OP_COUNT) {
	case OP_PIC_W:
		CHECK(virq_vm_pic_write(&vm, ports[a[0] % 6], a[1]) == 0);
		break;
	case OP_PIC_R:
		CHECK(virq_vm_pic_read(&vm, ports[a[0] % 6], &b) == 0);
		break;
	case OP_SET_IRQ:
		memcpy(&before, &pic, sizeof(before));
		r = virq_vm_set_irq(&vm, a[0] % 16U, a[1] % VIRQ_VM_GSI_SOURCES,
				    (enum virq_irq_op)(a[2] % 5U));
		if (a[2] % 5U > (unsigned)VIRQ_IRQ_FALLING_PULSE) {
			CHECK(r == -VIRQ_EINVAL);
			CHECK(memcmp(&before, &pic, sizeof(pic)) == 0);
		} else {
			CHECK(r == 0);
		}
		break;
	case OP_IOAPIC_W:
		(void)virq_vm_ioapic_write(
			&vm, 0, (a[0] & 1) ? VIRQ_IOAPIC_IOWIN : VIRQ_IOAPIC_IOREGSEL, 4, val32);
		break;
	case OP_IOAPIC_R:
		(void)virq_vm_ioapic_read(
			&vm, 0, (a[0] & 1) ? VIRQ_IOAPIC_IOWIN : VIRQ_IOAPIC_IOREGSEL, 4, &val);
		break;
	case OP_DECIDE: {
		struct virq_vcpu_window w = { .intr = a[0] & 1, .nmi = (a[0] >> 1) & 1 };

		checked_decide(&w, (a[0] >> 2) & 1, (a[0] >> 3) & 1);
		break;
	}
	case OP_WAKES: {
		bool e = a[0] & 1, on = asserted();

		memcpy(&before, &pic, sizeof(before));
		CHECK(virq_vcpu_wakes(&pol, e) == (e && on));
		CHECK(memcmp(&before, &pic, sizeof(pic)) == 0);
		break;
	}
	case OP_RESET:
		virq_vcpu_reset(&pol);
		break;
	case OP_TAKE: {
		bool on = asserted();

		memcpy(&before, &pic, sizeof(before));
		r = virq_vm_pic_take(&vm);
		TRACE("  take asserted=%d -> %d\n", on, r);
		if (on) {
			check_inta(&before, r);
		} else {
			CHECK(r == -1);
			CHECK(memcmp(&before, &pic, sizeof(pic)) == 0);
		}
		break;
	}
	case OP_EOI:
		virq_vm_eoi(&vm, (a[0] & 1) ? (uint8_t)last_data : a[1]);
		break;
	default:
		CHECK(0);
	}
}

static void setup(void)
{
	struct virq_vm_config cfg;
	struct virq_ioapic_config icfg;
	struct virq_lapic_config lcfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = NV;
	cfg.map_entries = NMAP;
	cfg.nr_gsis = NGSI;
	memset(vcpus, 0, sizeof(vcpus));
	lock_depth = 0;
	intr_level = false;
	msg_waiting = false;
	last_data = 0;
	n_intr = n_win = 0;
	CHECK(virq_vm_init(&vm, &cfg, vcpus, map, map_key, gsis, &vm_ops, &vm) == 0);
	/* vCPU 1 only: vCPU 0 (the BSP) has its LAPIC elsewhere. */
	memset(&lcfg, 0, sizeof(lcfg));
	lcfg.size = sizeof(lcfg);
	lcfg.apic_id = 1;
	CHECK(virq_lapic_init(&ap, page, &lcfg, &lapic_ops, NULL) == 0);
	CHECK(virq_vm_set_vcpu(&vm, 1, &ap) == 0);
	memset(&icfg, 0, sizeof(icfg));
	icfg.size = sizeof(icfg);
	icfg.storm_limit = 8;
	CHECK(virq_vm_attach_ioapic(&vm, &ioapic, &icfg, 0, IOAPIC_SID) == 0);
	CHECK(virq_vm_attach_pic(&vm, &pic, 0) == 0);
	CHECK(virq_vcpu_init(&pol, NULL, &vm) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint8_t a[5];

	g_trace = getenv("FUZZ_SPLIT_TRACE") != NULL;
	setup();
	check_all();
	while (in.n) {
		uint8_t op = in_u8(&in);

		for (unsigned i = 0; i < sizeof(a); i++)
			a[i] = in_u8(&in);
		do_op(op, a);
		check_all();
	}
	return 0;
}
