/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: one I/O APIC driven by a stream of (op, args) records
 * that map to the public API, checked after every op.
 *
 * Input: a 4-byte header (decode_config), then records of one op byte
 * (taken modulo OP_COUNT) and fixed-size arguments (see run_op). Bytes
 * past the end read as 0; the run stops when the input is used up.
 *
 * Header: byte 0 -> pins = 1 + b % 120; byte 1 bit 0 -> version 0x11 /
 * 0x20, bits 1-3 -> storm_limit 1-8, bit 4 -> no optional hooks (storm,
 * guest_error), bit 5 -> version 0 (default), bit 6 -> pins 0 (default 24),
 * bit 7 unused; byte 2 -> ID (low 4 bits); byte 3 ->
 * initial accept count (0-3).
 *
 * The embedder is simulated: ops->deliver returns an input-chosen accept
 * count (per pin, changeable by an op) and may run a small input-chosen
 * script of re-entrant calls (virq_ioapic_eoi / set_pin / service on the
 * same I/O APIC), capped per top-level op.
 *
 * Checks (a failed check prints the line and traps):
 *  - in the deliver hook: pin < pins; never called from inside itself; the
 *    entry is unmasked and, for an edge entry, carries no Remote IRR; the
 *    message is exactly virq_ioapic_rte_to_msi() of the entry (SDM 10.11
 *    "Message Signalled Interrupts");
 *  - storm and guest_error hooks: pin < pins, codes in range;
 *  - after every op: ioapic_check_invariants() == 0 (which includes the
 *    per-vector chains of level entries equal to a recomputation from the
 *    entries, and is also run on every restored scratch), no call in progress,
 *    nothing pending; Remote IRR only on level entries; the pin levels,
 *    IOREGSEL and ID equal a shadow kept from the ops; every level pin that
 *    is asserted, unmasked, not throttled and without Remote IRR was last
 *    sent and refused by every LAPIC (accept 0) or came from a restore: a
 *    due pin is never silently forgotten;
 *  - MMIO reads: IOREGSEL, VER, ID/ARB and out-of-table indexes give the
 *    82093AA datasheet 3.1 "Memory Mapped Registers for Accessing IOAPIC
 *    Registers" to 3.2 "IOAPIC Registers" values (all-ones past the
 *    table, as KVM); return codes as documented;
 *  - save -> restore into a scratch I/O APIC -> save gives identical bytes;
 *    save never changes the object; a damaged state (op) is refused with
 *    the object byte-identical, or accepted and then saved back exactly.
 *
 * Set FUZZ_IOAPIC_TRACE=1 in the environment to print the decoded ops.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virq/ioapic.h>

#include "ioapic/ioapic_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- checks ---- */

static void check_failed(const char *what, int line) __attribute__((noreturn));

static void check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_ioapic.c:%d: check failed: %s\n", line, what);
	fflush(stderr);
	__builtin_trap();
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			check_failed(#cond, __LINE__);                                             \
	} while (0)

static bool g_trace;

#define TRACE(...)                                                                                 \
	do {                                                                                       \
		if (g_trace)                                                                       \
			fprintf(stderr, __VA_ARGS__);                                              \
	} while (0)

/* ---- input ---- */

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t in8(struct input *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static uint16_t in16(struct input *in)
{
	uint16_t lo = in8(in);

	return (uint16_t)(lo | ((uint16_t)in8(in) << 8));
}

static uint32_t in32(struct input *in)
{
	uint32_t lo = in16(in);

	return lo | ((uint32_t)in16(in) << 16);
}

static uint64_t in64(struct input *in)
{
	uint64_t lo = in32(in);

	return lo | ((uint64_t)in32(in) << 32);
}

/* ---- simulated embedder ---- */

enum act_kind {
	ACT_NONE,
	ACT_EOI_OWN,   /* EOI the vector just sent (lazy EOI, auto-EOI LAPIC) */
	ACT_EOI_VEC,   /* EOI a chosen vector */
	ACT_PIN,       /* drive a chosen pin (possibly out of range) */
	ACT_PULSE_OWN, /* low then high on the pin just sent */
	ACT_SERVICE,   /* service a chosen pin */
	ACT_KIND_COUNT,
};

#define N_ACTS 4
#define ACT_BUDGET 256U /* hook actions per top-level op */

struct act {
	uint8_t kind, arg, level;
};

struct world {
	struct virq_ioapic io;
	struct virq_ioapic_config cfg;
	const struct virq_ioapic_ops *ops;
	uint8_t accept_default;
	uint8_t accept_pin[VIRQ_IOAPIC_MAX_PINS];
	bool accept_pin_set[VIRQ_IOAPIC_MAX_PINS];
	struct act acts[N_ACTS];
	unsigned act_budget;
	bool in_deliver;
	unsigned deliveries;
	unsigned op_sent[VIRQ_IOAPIC_MAX_PINS]; /* messages per pin during this op */
	/* Shadow state. */
	uint64_t line[2];
	uint32_t ioregsel;
	uint8_t id;
	/* Last accept count returned for each pin; excused = due since a restore. */
	uint8_t last_accept[VIRQ_IOAPIC_MAX_PINS];
	bool delivered[VIRQ_IOAPIC_MAX_PINS];
	bool excused[VIRQ_IOAPIC_MAX_PINS];
};

static struct world g_w;

static bool bit(const uint64_t *bm, unsigned p)
{
	return (bm[p >> 6] >> (p & 63U)) & 1U;
}

static void shadow_pin(struct world *w, unsigned pin, bool level)
{
	if (pin >= w->cfg.pins)
		return;
	if (level)
		w->line[pin >> 6] |= 1ULL << (pin & 63U);
	else
		w->line[pin >> 6] &= ~(1ULL << (pin & 63U));
}

static void do_set_pin(struct world *w, unsigned pin, bool level)
{
	int rc;

	/* The level changes before any message goes out (and before nested
	 * calls from the hook change it again). */
	shadow_pin(w, pin, level);
	rc = virq_ioapic_set_pin(&w->io, pin, level);
	CHECK(rc == (pin < w->cfg.pins ? 0 : -VIRQ_EINVAL));
}

static void do_service(struct world *w, unsigned pin)
{
	int rc = virq_ioapic_service(&w->io, pin);

	CHECK(rc == (pin < w->cfg.pins ? 0 : -VIRQ_EINVAL));
}

static void run_action(struct world *w, const struct act *a, unsigned pin, uint64_t rte)
{
	switch (a->kind % ACT_KIND_COUNT) {
	case ACT_EOI_OWN:
		virq_ioapic_eoi(&w->io, (uint8_t)(rte & 0xFFU));
		break;
	case ACT_EOI_VEC:
		virq_ioapic_eoi(&w->io, a->arg);
		break;
	case ACT_PIN:
		do_set_pin(w, a->arg, a->level & 1U);
		break;
	case ACT_PULSE_OWN:
		do_set_pin(w, pin, false);
		do_set_pin(w, pin, true);
		break;
	case ACT_SERVICE:
		do_service(w, a->arg);
		break;
	default:
		break;
	}
}

static unsigned hook_deliver(void *ctx, unsigned pin, uint64_t addr, uint32_t data)
{
	struct world *w = ctx;
	uint64_t rte, eaddr;
	uint32_t edata;
	unsigned ret;

	CHECK(w == &g_w);
	CHECK(pin < w->cfg.pins);
	CHECK(!w->in_deliver); /* the I/O APIC never recurses into deliver */
	rte = w->io.rte[pin];
	CHECK(!(rte & VIRQ_IOAPIC_RTE_MASKED));
	CHECK((rte & VIRQ_IOAPIC_RTE_LEVEL) || !(rte & VIRQ_IOAPIC_RTE_REMOTE_IRR));
	/* A level entry is sent with Remote IRR up (ioapic.h, deliver). */
	CHECK(!(rte & VIRQ_IOAPIC_RTE_LEVEL) || (rte & VIRQ_IOAPIC_RTE_REMOTE_IRR));
	CHECK(!bit(w->io.storm_held, pin));
	virq_ioapic_rte_to_msi(rte, &eaddr, &edata);
	CHECK(addr == eaddr && data == edata);
	CHECK((addr & 0xFFF00000ULL) == 0xFEE00000ULL);
	w->deliveries++;
	w->op_sent[pin]++;
	ret = w->accept_pin_set[pin] ? w->accept_pin[pin] : w->accept_default;
	w->last_accept[pin] = (uint8_t)ret;
	w->delivered[pin] = true;
	w->excused[pin] = false;

	w->in_deliver = true;
	for (unsigned i = 0; i < N_ACTS; i++) {
		if (!w->acts[i].kind || !w->act_budget)
			continue;
		w->act_budget--;
		run_action(w, &w->acts[i], pin, rte);
	}
	w->in_deliver = false;
	return ret;
}

static void hook_storm(void *ctx, unsigned pin)
{
	struct world *w = ctx;

	CHECK(pin < w->cfg.pins);
	CHECK(bit(w->io.storm_held, pin));
}

static void hook_guest_error(void *ctx, enum virq_guest_error code)
{
	(void)ctx;
	CHECK(code == VIRQ_GERR_MMIO_SIZE || code == VIRQ_GERR_READONLY_REG ||
	      code == VIRQ_GERR_RESERVED_REG);
}

static const struct virq_ioapic_ops ops_full = {
	.size = sizeof(struct virq_ioapic_ops),
	.deliver = hook_deliver,
	.storm = hook_storm,
	.guest_error = hook_guest_error,
};

static const struct virq_ioapic_ops ops_min = {
	.size = sizeof(struct virq_ioapic_ops),
	.deliver = hook_deliver,
};

/* ---- checks after every op ---- */

static void check_roundtrip(struct world *w)
{
	static struct virq_ioapic scratch;
	static struct virq_ioapic_state a, b;
	static struct virq_ioapic before;

	before = w->io;
	CHECK(virq_ioapic_save(&w->io, &a) == 0);
	CHECK(memcmp(&before, &w->io, sizeof(before)) == 0);
	CHECK(virq_ioapic_init(&scratch, &w->cfg, &ops_min, w) == 0);
	CHECK(virq_ioapic_restore(&scratch, &a) == 0);
	CHECK(ioapic_check_invariants(&scratch) == 0);
	CHECK(virq_ioapic_save(&scratch, &b) == 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
}

static void check_state(struct world *w)
{
	const struct virq_ioapic *io = &w->io;

	CHECK(ioapic_check_invariants(io) == 0);
	CHECK(io->in_eoi == 0);
	CHECK(!io->pending[0] && !io->pending[1]);
	CHECK(!w->in_deliver);
	CHECK(io->line[0] == w->line[0] && io->line[1] == w->line[1]);
	CHECK(io->ioregsel == w->ioregsel);
	CHECK(io->id == w->id);
	for (unsigned p = 0; p < VIRQ_IOAPIC_MAX_PINS; p++) {
		uint64_t rte = io->rte[p];
		bool due;

		if (p >= w->cfg.pins) {
			CHECK(rte == 0);
			continue;
		}
		CHECK((rte & VIRQ_IOAPIC_RTE_LEVEL) || !(rte & VIRQ_IOAPIC_RTE_REMOTE_IRR));
		CHECK(!(rte & VIRQ_IOAPIC_RTE_DELIVS));
		due = (rte & VIRQ_IOAPIC_RTE_LEVEL) && bit(io->line, p) &&
		      !(rte & (VIRQ_IOAPIC_RTE_MASKED | VIRQ_IOAPIC_RTE_REMOTE_IRR)) &&
		      !bit(io->storm_held, p);
		if (due)
			CHECK(w->excused[p] || (w->delivered[p] && w->last_accept[p] == 0));
	}
	check_roundtrip(w);
}

/* After a restore or init: pins due now were not left behind by a call. */
static void excuse_due(struct world *w)
{
	for (unsigned p = 0; p < w->cfg.pins; p++)
		w->excused[p] = true;
}

static void shadow_from_object(struct world *w)
{
	w->line[0] = w->io.line[0];
	w->line[1] = w->io.line[1];
	w->ioregsel = w->io.ioregsel;
	w->id = w->io.id;
}

/* ---- MMIO with a small model ---- */

static const unsigned mmio_sizes[8] = { 1, 2, 4, 8, 4, 4, 3, 0 };

/* Offsets: mostly the registers, sometimes anywhere (including past the window). */
static uint32_t pick_offset(uint16_t raw)
{
	static const uint32_t regs[8] = { 0x00, 0x10, 0x40, 0x00, 0x10, 0x10, 0x20, 0x40 };

	if (raw & 0x8000U)
		return raw & 0x1FFFU;
	return regs[raw & 7U] + ((raw >> 3) & 3U) * ((raw & 0x20U) ? 1U : 0U);
}

static bool args_ok(uint32_t off, unsigned size)
{
	return (size == 1 || size == 2 || size == 4 || size == 8) && off < 0x1000 &&
	       off + size <= 0x1000;
}

static void op_mmio_read(struct world *w, uint32_t off, unsigned size)
{
	uint64_t v = 0xDEADBEEFULL;
	int rc = virq_ioapic_mmio_read(&w->io, off, size, &v);
	uint32_t sel = w->io.ioregsel, pins = w->cfg.pins;

	TRACE("read off=%#x size=%u -> rc=%d v=%#llx\n", off, size, rc, (unsigned long long)v);
	CHECK(rc == (args_ok(off, size) ? 0 : -VIRQ_EINVAL));
	if (rc)
		return;
	if (size < 8)
		CHECK(v < (1ULL << (8 * size)));
	else
		CHECK(v <= 0xFFFFFFFFULL);
	if (off == 0 && size >= 4)
		CHECK(v == sel);
	if (off == 0x10 && size >= 4) {
		uint32_t expect;

		if (sel == 0 || sel == 2)
			expect = (uint32_t)w->io.id << 24;
		else if (sel == 1)
			expect = w->cfg.version | ((pins - 1U) << 16);
		else if (sel >= 0x10 && sel < 0x10 + 2 * pins)
			expect = (sel & 1U) ? (uint32_t)(w->io.rte[(sel - 0x10) >> 1] >> 32)
					    : (uint32_t)w->io.rte[(sel - 0x10) >> 1];
		else
			expect = 0xFFFFFFFFU;
		CHECK(v == expect);
	}
	if ((off >= 0x04 && off < 0x10) || (off >= 0x14 && off < 0x40) || off >= 0x44)
		CHECK(v == 0);
	if (off >= 0x40 && off < 0x44)
		CHECK(v == 0);
}

static void op_mmio_write(struct world *w, uint32_t off, unsigned size, uint32_t val)
{
	int rc;
	bool ok = args_ok(off, size);
	uint32_t sel = w->io.ioregsel;

	TRACE("write off=%#x size=%u val=%#x\n", off, size, val);
	rc = virq_ioapic_mmio_write(&w->io, off, size, val);
	CHECK(rc == (ok ? 0 : -VIRQ_EINVAL));
	if (!ok)
		return;
	/* Shadow: IOREGSEL byte lanes, and the ID through IOWIN. */
	if (off < 4 && off + size <= 4) {
		uint32_t mask = size == 4 ? 0xFFFFFFFFU : (((1U << (size * 8)) - 1U) << (off * 8));

		w->ioregsel = ((w->ioregsel & ~mask) | ((val << (off * 8)) & mask)) & 0xFFU;
	}
	if (off == 0x10 && size == 4 && sel == 0)
		w->id = (uint8_t)((val >> 24) & 0xFU);
}

/* ---- per-op model (only without a hook script: nested calls change it) ---- */

static bool script_active(const struct world *w)
{
	for (unsigned i = 0; i < N_ACTS; i++)
		if (w->acts[i].kind % ACT_KIND_COUNT)
			return true;
	return false;
}

static void expect_sent_only(const struct world *w, unsigned pin, unsigned n)
{
	for (unsigned p = 0; p < VIRQ_IOAPIC_MAX_PINS; p++)
		CHECK(w->op_sent[p] == (p == pin ? n : 0U));
}

/* Edge and level pins (82093AA datasheet 3.2.4 "IOREDTBL[23:0]—I/O Redirection Table
 * Registers", as KVM and QEMU): what one set_pin sends. */
static void model_set_pin(const struct world *w, const struct virq_ioapic *pre, unsigned pin,
			  bool level)
{
	uint64_t rte = pre->rte[pin];
	bool held = bit(pre->storm_held, pin), masked = (rte & VIRQ_IOAPIC_RTE_MASKED) != 0;
	unsigned n = 0;

	if (level && !masked && !held) {
		if (rte & VIRQ_IOAPIC_RTE_LEVEL)
			n = !(rte & VIRQ_IOAPIC_RTE_REMOTE_IRR);
		else
			n = !bit(pre->line, pin);
	}
	expect_sent_only(w, pin, n);
	if (!level)
		CHECK(w->io.eoi_count[pin] == 0);
}

/* EOI (SDM 10.8.5 "Signaling Interrupt Servicing Completion", 82093AA datasheet
 * 3.2.4 "IOREDTBL[23:0]—I/O Redirection Table Registers"), with the storm rule
 * of ioapic.h. */
static void model_eoi(const struct world *w, const struct virq_ioapic *pre, uint8_t vector)
{
	for (unsigned p = 0; p < w->cfg.pins; p++) {
		uint64_t rte = pre->rte[p];
		bool match = (rte & VIRQ_IOAPIC_RTE_LEVEL) && (uint8_t)rte == vector;
		unsigned n = 0;

		if (!match) {
			CHECK(w->op_sent[p] == 0 && w->io.rte[p] == rte);
			continue;
		}
		if (!bit(pre->storm_held, p) && bit(pre->line, p) &&
		    !(rte & VIRQ_IOAPIC_RTE_MASKED)) {
			if (pre->eoi_count[p] >= w->cfg.storm_limit)
				CHECK(bit(w->io.storm_held, p));
			else
				n = 1;
		}
		CHECK(w->op_sent[p] == n);
		if (!n)
			CHECK(!(w->io.rte[p] & VIRQ_IOAPIC_RTE_REMOTE_IRR));
		CHECK((w->io.rte[p] | VIRQ_IOAPIC_RTE_REMOTE_IRR) ==
		      (rte | VIRQ_IOAPIC_RTE_REMOTE_IRR));
	}
}

static void model_service(const struct world *w, const struct virq_ioapic *pre, unsigned pin)
{
	uint64_t rte = pre->rte[pin];
	unsigned n = 0;

	if (!(rte & VIRQ_IOAPIC_RTE_MASKED)) {
		if (rte & VIRQ_IOAPIC_RTE_LEVEL)
			n = bit(pre->line, pin) && !(rte & VIRQ_IOAPIC_RTE_REMOTE_IRR);
		else
			n = bit(pre->storm_held, pin);
	}
	expect_sent_only(w, pin, n);
	CHECK(!bit(w->io.storm_held, pin) && w->io.eoi_count[pin] == 0);
}

/* ---- ops ---- */

enum op {
	OP_MMIO_WRITE,
	OP_MMIO_READ,
	OP_SET_PIN,
	OP_EOI,
	OP_SERVICE,
	OP_RTE,
	OP_RTE_HALF,
	OP_ACCEPT,
	OP_SCRIPT,
	OP_RESET,
	OP_RESTORE_SELF,
	OP_RESTORE_DAMAGED,
	OP_GET_RTE,
	OP_EOI_REG,
	OP_PULSE,
	OP_COUNT,
};

static void write_rte_half(struct world *w, unsigned pin, bool high, uint32_t val)
{
	uint32_t index = 0x10U + 2U * pin + (high ? 1U : 0U);

	op_mmio_write(w, 0x00, 4, index & 0xFFU);
	op_mmio_write(w, 0x10, 4, val);
}

static void op_restore_damaged(struct world *w, struct input *in)
{
	static struct virq_ioapic_state st, out;
	static struct virq_ioapic before;
	unsigned n = 1U + (in8(in) & 3U);
	int rc;

	CHECK(virq_ioapic_save(&w->io, &st) == 0);
	for (unsigned i = 0; i < n; i++) {
		uint16_t pos = in16(in);
		uint8_t x = in8(in);

		((uint8_t *)&st)[pos % sizeof(st)] ^= x;
	}
	before = w->io;
	rc = virq_ioapic_restore(&w->io, &st);
	TRACE("restore damaged -> %d\n", rc);
	if (rc) {
		CHECK(rc == -VIRQ_EVERSION || rc == -VIRQ_ESTATE);
		CHECK(memcmp(&before, &w->io, sizeof(before)) == 0);
		return;
	}
	CHECK(ioapic_check_invariants(&w->io) == 0);
	CHECK(virq_ioapic_save(&w->io, &out) == 0);
	CHECK(memcmp(&st, &out, sizeof(st)) == 0);
	shadow_from_object(w);
	excuse_due(w);
}

static void run_op(struct world *w, struct input *in)
{
	static struct virq_ioapic pre;
	uint8_t op = in8(in) % OP_COUNT;
	bool model = !script_active(w);

	w->act_budget = ACT_BUDGET;
	memset(w->op_sent, 0, sizeof(w->op_sent));
	pre = w->io;
	switch (op) {
	case OP_MMIO_WRITE: {
		uint32_t off = pick_offset(in16(in));
		unsigned size = mmio_sizes[in8(in) & 7U];

		op_mmio_write(w, off, size, in32(in));
		break;
	}
	case OP_MMIO_READ: {
		uint32_t off = pick_offset(in16(in));

		op_mmio_read(w, off, mmio_sizes[in8(in) & 7U]);
		break;
	}
	case OP_SET_PIN: {
		uint8_t a = in8(in);
		unsigned pin = (a & 0x7FU) < 124 ? (a & 0x7FU) : 200U;

		TRACE("set_pin %u %u\n", pin, a >> 7);
		do_set_pin(w, pin, (a >> 7) != 0);
		if (model && pin < w->cfg.pins)
			model_set_pin(w, &pre, pin, (a >> 7) != 0);
		break;
	}
	case OP_EOI: {
		uint8_t v = in8(in);

		TRACE("eoi %#x\n", v);
		virq_ioapic_eoi(&w->io, v);
		if (model)
			model_eoi(w, &pre, v);
		break;
	}
	case OP_SERVICE: {
		unsigned pin = in8(in) & 0x7FU;

		TRACE("service %u\n", pin);
		do_service(w, pin);
		if (model && pin < w->cfg.pins)
			model_service(w, &pre, pin);
		break;
	}
	case OP_RTE: {
		/* A whole entry, as Linux writes it: high half, then low. */
		unsigned pin = in8(in) % w->cfg.pins;
		uint64_t v = in64(in);

		TRACE("rte %u = %#llx\n", pin, (unsigned long long)v);
		write_rte_half(w, pin, true, (uint32_t)(v >> 32));
		write_rte_half(w, pin, false, (uint32_t)v);
		break;
	}
	case OP_RTE_HALF: {
		uint8_t a = in8(in);
		unsigned pin = (a & 0x7FU) % w->cfg.pins;
		uint16_t low = in16(in);

		/* Common low halves: vector, trigger, mask, Remote IRR / delivery status bits. */
		TRACE("rte %u low = %#x\n", pin, low);
		write_rte_half(w, pin, (a >> 7) != 0,
			       (uint32_t)(low & 0xF0FFU) | ((uint32_t)(low & 0x0100U) << 8));
		break;
	}
	case OP_ACCEPT: {
		uint8_t a = in8(in), c = in8(in);

		if (a & 0x80U) {
			w->accept_default = c & 3U;
		} else {
			unsigned pin = a % VIRQ_IOAPIC_MAX_PINS;

			w->accept_pin[pin] = c & 3U;
			w->accept_pin_set[pin] = (c & 4U) != 0;
		}
		TRACE("accept %#x %#x\n", a, c);
		break;
	}
	case OP_SCRIPT: {
		unsigned i = in8(in) % N_ACTS;

		w->acts[i].kind = in8(in) % ACT_KIND_COUNT;
		w->acts[i].arg = in8(in);
		w->acts[i].level = in8(in);
		TRACE("script[%u] = %u %#x %u\n", i, w->acts[i].kind, w->acts[i].arg,
		      w->acts[i].level);
		break;
	}
	case OP_RESET:
		TRACE("reset\n");
		virq_ioapic_reset(&w->io);
		expect_sent_only(w, ~0U, 0);
		w->ioregsel = 0;
		w->id = w->cfg.id;
		break;
	case OP_RESTORE_SELF: {
		static struct virq_ioapic_state st;

		TRACE("save/restore\n");
		CHECK(virq_ioapic_save(&w->io, &st) == 0);
		CHECK(virq_ioapic_restore(&w->io, &st) == 0);
		excuse_due(w);
		break;
	}
	case OP_RESTORE_DAMAGED:
		op_restore_damaged(w, in);
		break;
	case OP_GET_RTE: {
		unsigned pin = in8(in);
		uint64_t v = 0x1234;
		int rc = virq_ioapic_get_rte(&w->io, pin, &v);

		CHECK(rc == (pin < w->cfg.pins ? 0 : -VIRQ_EINVAL));
		CHECK(rc ? v == 0x1234 : v == w->io.rte[pin]);
		break;
	}
	case OP_EOI_REG: {
		uint32_t v = in32(in);

		op_mmio_write(w, 0x40, 4, v);
		if (w->cfg.version == 0x11)
			CHECK(memcmp(&pre, &w->io, sizeof(pre)) == 0);
		else if (model)
			model_eoi(w, &pre, (uint8_t)v);
		break;
	}
	case OP_PULSE: {
		unsigned pin = in8(in) % w->cfg.pins;

		TRACE("pulse %u\n", pin);
		do_set_pin(w, pin, true);
		do_set_pin(w, pin, false);
		break;
	}
	default:
		break;
	}
	check_state(w);
}

static void decode_config(struct world *w, struct input *in)
{
	uint8_t b0 = in8(in), b1 = in8(in), b2 = in8(in), b3 = in8(in);

	memset(&w->cfg, 0, sizeof(w->cfg));
	w->cfg.size = sizeof(w->cfg);
	w->cfg.pins = (uint8_t)(1U + b0 % 120U);
	w->cfg.version = (b1 & 1U) ? 0x20 : 0x11;
	w->cfg.storm_limit = 1U + ((b1 >> 1) & 7U);
	w->cfg.id = b2 & 0xFU;
	w->ops = (b1 & 0x10U) ? &ops_min : &ops_full;
	/* Zero fields mean "default": version 0x20, 24 pins. */
	if (b1 & 0x20U)
		w->cfg.version = 0;
	if (b1 & 0x40U)
		w->cfg.pins = 0;
	w->accept_default = b3 & 3U;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct world *w = &g_w;

	g_trace = getenv("FUZZ_IOAPIC_TRACE") != NULL;
	memset(w, 0, sizeof(*w));
	decode_config(w, &in);
	TRACE("config pins=%u version=%#x storm=%u id=%u\n", w->cfg.pins, w->cfg.version,
	      w->cfg.storm_limit, w->cfg.id);
	CHECK(virq_ioapic_init(&w->io, &w->cfg, w->ops, w) == 0);
	CHECK(w->io.cfg.version == (w->cfg.version ? w->cfg.version : 0x20));
	CHECK(w->io.cfg.pins == (w->cfg.pins ? w->cfg.pins : 24));
	w->cfg = w->io.cfg; /* defaults filled in */
	shadow_from_object(w);
	CHECK(w->id == w->cfg.id && w->ioregsel == 0);
	check_state(w);
	while (in.n)
		run_op(w, &in);
	return 0;
}
