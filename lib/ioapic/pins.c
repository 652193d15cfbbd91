/* SPDX-License-Identifier: MIT */
/*
 * Pins and messages: input levels, edge and level delivery, Remote IRR,
 * EOI, storm throttling (82093AA datasheet 3.2.4 "IOREDTBL[23:0]—I/O
 * Redirection Table Registers"; SDM 10.8.4 "Interrupt Acceptance for
 * Fixed Interrupts", 10.8.5 "Signaling Interrupt Servicing Completion";
 * the storm throttle and the edge cases follow KVM and QEMU).
 *
 * Every message goes through one place, ioapic_drain(), run only by the
 * outermost public call. A call that wants a pin sent sets its bit in
 * pending; the drain sends pending pins in rounds, re-checking each one at
 * send time. A hook that calls back (a LAPIC that EOIs from inside
 * deliver, an EOI path that raises the line again) therefore only adds
 * bits for the next round: the I/O APIC never recurses into
 * ops->deliver, and the number of rounds is capped. (An outermost assert
 * sends its own pin, the first round's only one, without going through
 * pending, then drains from round 2: the same messages in the same order.)
 */
#include "ioapic_priv.h"

/* Storm report and hold. The hook runs with in_eoi > 0, so whatever it
 * calls back only records. */
static void ioapic_hold(struct virq_ioapic *io, unsigned pin)
{
	ioapic_bit_set(io->storm_held, pin);
	io->eoi_count[pin] = 0;
	if (io->ops->storm)
		io->ops->storm(io->ctx, pin);
}

void ioapic_request(struct virq_ioapic *io, unsigned pin)
{
	ioapic_bit_set(io->pending, pin);
}

/*
 * Sends entry @rte of @pin, which is due (the caller checked): Remote IRR
 * goes up before the message leaves and comes down again if nobody
 * accepted it. A LAPIC that EOIs from inside deliver (lazy EOI) then
 * finds it set and clears it; set afterwards, it would stick forever.
 */
static inline void ioapic_emit(struct virq_ioapic *io, unsigned pin, uint64_t rte)
{
	unsigned accepted;
	bool level = ioapic_rte_level(rte);

	if (level)
		io->rte[pin] = rte | VIRQ_IOAPIC_RTE_REMOTE_IRR;
	/* With deliver_entry the embedder decodes the entry itself. */
	if (IOAPIC_OP(io, deliver_entry)) {
		accepted = io->ops->deliver_entry(io->ctx, pin, rte);
	} else {
		uint64_t addr;
		uint32_t data;

		virq_ioapic_rte_to_msi(rte, &addr, &data);
		accepted = io->ops->deliver(io->ctx, pin, addr, data);
	}
	if (level && !accepted)
		io->rte[pin] &= ~VIRQ_IOAPIC_RTE_REMOTE_IRR;
}

/*
 * Sends one pending pin if it is still due. Edge: a latched edge, sent if
 * unmasked (an edge on a masked pin is lost). Level: asserted, unmasked,
 * Remote IRR clear.
 */
static void ioapic_send(struct virq_ioapic *io, unsigned pin)
{
	uint64_t rte = io->rte[pin];

	if (ioapic_bit(io->storm_held, pin) || ioapic_rte_masked(rte))
		return;
	if (ioapic_rte_level(rte) &&
	    (!ioapic_bit(io->line, pin) || (rte & VIRQ_IOAPIC_RTE_REMOTE_IRR)))
		return;
	ioapic_emit(io, pin, rte);
}

/*
 * Sends everything pending, in rounds, @rounds of them already done. A round takes the pending set and
 * sends each pin once; whatever the hooks ask for meanwhile forms the next
 * round. Level pins re-asked by EOIs stop at storm_limit through
 * eoi_count; anything else that keeps asking (an edge raised again from
 * inside every delivery) is throttled after storm_limit + 1 rounds.
 */
static void ioapic_drain(struct virq_ioapic *io, uint64_t rounds)
{
	while (io->pending[0] | io->pending[1]) {
		uint64_t todo[2] = { io->pending[0], io->pending[1] };

		io->pending[0] = 0;
		io->pending[1] = 0;
		if (rounds > io->cfg.storm_limit) {
			for (unsigned w = 0; w < 2; w++)
				for (uint64_t m = todo[w]; m; m &= m - 1U)
					ioapic_hold(io, w * 64U + virq_ffs64(m));
			/* Whatever the storm hooks asked for waits for service too. */
			for (unsigned w = 0; w < 2; w++) {
				io->storm_held[w] |= io->pending[w];
				io->pending[w] = 0;
			}
			break;
		}
		rounds++;
		for (unsigned w = 0; w < 2; w++)
			for (uint64_t m = todo[w]; m; m &= m - 1U)
				ioapic_send(io, w * 64U + virq_ffs64(m));
	}
}

void ioapic_leave(struct virq_ioapic *io, bool outer)
{
	/* Most calls leave nothing pending: no call. */
	if (outer && (io->pending[0] | io->pending[1]))
		ioapic_drain(io, 0);
	VIRQ_ASSERT(io->in_eoi > 0);
	io->in_eoi--;
}

/*
 * After a guest wrote either half of an entry: throttling ends and the
 * storm count restarts (QEMU resets it on any entry write), and a level
 * entry is re-evaluated, so unmasking or re-levelling an asserted pin
 * delivers it (as KVM does for level entries; QEMU services on every write).
 */
void ioapic_rte_changed(struct virq_ioapic *io, unsigned pin)
{
	ioapic_bit_clear(io->storm_held, pin);
	io->eoi_count[pin] = 0;
	if (ioapic_rte_level(io->rte[pin]))
		ioapic_request(io, pin);
}

/* ---- level entries by vector ---- */

static void ioapic_index_unlink(struct virq_ioapic *io, unsigned pin, uint8_t vector)
{
	uint8_t *link = &io->vec_head[vector];

	while (*link && *link != pin + 1U)
		link = &io->vec_next[*link - 1U];
	VIRQ_ASSERT(*link == pin + 1U);
	*link = io->vec_next[pin];
	io->vec_next[pin] = 0;
}

static void ioapic_index_link(struct virq_ioapic *io, unsigned pin, uint8_t vector)
{
	uint8_t *link = &io->vec_head[vector];

	while (*link && *link < pin + 1U)
		link = &io->vec_next[*link - 1U];
	io->vec_next[pin] = *link;
	*link = (uint8_t)(pin + 1U);
}

void ioapic_index_update(struct virq_ioapic *io, unsigned pin, uint64_t old)
{
	uint64_t nv = io->rte[pin];
	bool was = ioapic_rte_level(old), is = ioapic_rte_level(nv);

	if (was && is && ioapic_rte_vector(old) == ioapic_rte_vector(nv))
		return;
	if (was)
		ioapic_index_unlink(io, pin, ioapic_rte_vector(old));
	if (is)
		ioapic_index_link(io, pin, ioapic_rte_vector(nv));
}

void ioapic_index_build(const struct virq_ioapic *io, uint8_t head[256],
			uint8_t next[VIRQ_IOAPIC_MAX_PINS])
{
	virq_memset(head, 0, 256);
	virq_memset(next, 0, VIRQ_IOAPIC_MAX_PINS);
	/* Descending, each pushed in front: every chain ends up ascending. */
	for (unsigned p = io->cfg.pins; p-- > 0;) {
		uint64_t rte = io->rte[p];

		if (!ioapic_rte_level(rte))
			continue;
		next[p] = head[ioapic_rte_vector(rte)];
		head[ioapic_rte_vector(rte)] = (uint8_t)(p + 1U);
	}
}

/*
 * The pin after @pin (as pin + 1, 0: none) among the level entries of
 * @vector. A storm hook may have rewritten entries meanwhile: if @pin
 * left the chain, the first one above it is looked up from the head.
 */
static unsigned ioapic_index_after(const struct virq_ioapic *io, uint8_t vector, unsigned pin)
{
	uint64_t rte = io->rte[pin];
	unsigned n;

	if (ioapic_rte_level(rte) && ioapic_rte_vector(rte) == vector)
		return io->vec_next[pin];
	for (n = io->vec_head[vector]; n && n <= pin + 1U; n = io->vec_next[n - 1U])
		;
	return n;
}

/*
 * The outermost assert of @pin, whose entry @rte is due: sent at once, then
 * the drain from round 2. Apart from virq_ioapic_set_pin() so that its
 * other paths (deassert, nothing to send, nested) save no registers.
 */
static VIRQ_NOINLINE void ioapic_assert_send(struct virq_ioapic *io, unsigned pin, uint64_t rte)
{
	io->in_eoi = 1;
	ioapic_emit(io, pin, rte);
	if (io->pending[0] | io->pending[1])
		ioapic_drain(io, 1);
	VIRQ_ASSERT(io->in_eoi == 1);
	io->in_eoi = 0;
}

VIRQ_API int virq_ioapic_set_pin(struct virq_ioapic *ioapic, unsigned pin, bool asserted)
{
	uint64_t rte, bit, old;
	unsigned w;

	if (pin >= ioapic->cfg.pins)
		return -VIRQ_EINVAL;
	w = pin >> 6;
	bit = 1ULL << (pin & 63U);
	if (!asserted) {
		/*
		 * Sends nothing, so no enter/leave: an outermost call would
		 * find nothing pending to drain.
		 */
		ioapic->line[w] &= ~bit;
		/* The guest cleared the source: the storm count restarts. */
		ioapic->eoi_count[pin] = 0;
		return 0;
	}
	old = ioapic->line[w] & bit;
	rte = ioapic->rte[pin];
	ioapic->line[w] |= bit;
	/*
	 * Edge: a rising edge on an unmasked pin; on a masked pin it is lost
	 * (82093AA mask bit), on a throttled one it merges with the edge
	 * already held.
	 */
	if (!ioapic_rte_level(rte) &&
	    (old || ioapic_rte_masked(rte) || (ioapic->storm_held[w] & bit)))
		return 0;
	if (ioapic->in_eoi) {
		/* Nested in a hook: the outermost call sends it, if still due. */
		ioapic_request(ioapic, pin);
		return 0;
	}
	/*
	 * Outermost: nothing is pending (ioapic_priv.h), so the drain's first
	 * round would send this pin alone, checked as ioapic_send() checks
	 * it. It is sent here (a level pin when unmasked, not throttled and
	 * Remote IRR clear; the line is up), and the drain goes on from round
	 * 2 with whatever the hooks asked for meanwhile.
	 */
	if ((rte & (VIRQ_IOAPIC_RTE_MASKED | VIRQ_IOAPIC_RTE_REMOTE_IRR)) ||
	    (ioapic->storm_held[w] & bit))
		return 0;
	ioapic_assert_send(ioapic, pin, rte);
	return 0;
}

/*
 * virq_ioapic_eoi() from chain link @n of @vector on (a pin + 1: the first
 * pin to send again or to throttle), for what may call a hook, with the
 * nesting depth already taken: a pin that reached the storm limit is held
 * (the storm hook may rewrite entries, so each next pin is looked up
 * again), then the outermost call (@outer) sends what was asked for.
 */
static VIRQ_NOINLINE void ioapic_eoi_slow(struct virq_ioapic *io, uint8_t vector, unsigned n,
					  bool outer)
{
	for (; n; n = ioapic_index_after(io, vector, n - 1U)) {
		unsigned pin = n - 1U;
		uint64_t rte = io->rte[pin];

		io->rte[pin] = rte & ~VIRQ_IOAPIC_RTE_REMOTE_IRR;
		if (ioapic_bit(io->storm_held, pin))
			continue;
		if (!ioapic_bit(io->line, pin) || ioapic_rte_masked(rte)) {
			io->eoi_count[pin] = 0;
			continue;
		}
		if (io->eoi_count[pin] >= io->cfg.storm_limit) {
			/* KVM and QEMU defer the re-delivery by 10 ms here. */
			ioapic_hold(io, pin);
			continue;
		}
		io->eoi_count[pin]++;
		ioapic_request(io, pin);
	}
	ioapic_leave(io, outer);
}

/*
 * SDM 10.8.5 "Signaling Interrupt Servicing Completion", 82093AA datasheet
 * 3.2.4 "IOREDTBL[23:0]—I/O Redirection Table Registers": an EOI clears Remote
 * IRR of every level entry with the vector, not just the first (KVM once
 * stopped at the first); each still asserted and unmasked is sent again, up to
 * storm_limit successive times without a deassert.
 */
VIRQ_API void virq_ioapic_eoi(struct virq_ioapic *ioapic, uint8_t vector)
{
	/*
	 * Only the level entries of the vector, in ascending pin order. A pin
	 * that is not sent again (its line low, masked, or throttled) only has
	 * its Remote IRR cleared and, unless throttled, its storm count reset:
	 * no hook runs and nothing is asked for, so the chain stands and no
	 * nesting depth is needed (an outermost call finds nothing pending,
	 * ioapic_priv.h). From the first pin to send again or to throttle on,
	 * ioapic_eoi_slow() goes on, as a call that may run hooks.
	 */
	for (unsigned n = ioapic->vec_head[vector]; n;) {
		unsigned pin = n - 1U, w = pin >> 6;
		uint64_t rte = ioapic->rte[pin], bit = 1ULL << (pin & 63U);

		if ((ioapic->line[w] & ~ioapic->storm_held[w] & bit) && !ioapic_rte_masked(rte)) {
			ioapic_eoi_slow(ioapic, vector, n, ioapic_enter(ioapic));
			return;
		}
		ioapic->rte[pin] = rte & ~VIRQ_IOAPIC_RTE_REMOTE_IRR;
		n = ioapic->vec_next[pin];
		if (!(ioapic->storm_held[w] & bit))
			ioapic->eoi_count[pin] = 0;
	}
}

VIRQ_API int virq_ioapic_service(struct virq_ioapic *ioapic, unsigned pin)
{
	bool held, outer;

	if (pin >= ioapic->cfg.pins)
		return -VIRQ_EINVAL;
	outer = ioapic_enter(ioapic);
	held = ioapic_bit(ioapic->storm_held, pin);
	ioapic_bit_clear(ioapic->storm_held, pin);
	ioapic->eoi_count[pin] = 0;
	/* A level pin is re-checked; an edge pin sends the edge it held. */
	if (ioapic_rte_level(ioapic->rte[pin]) || held)
		ioapic_request(ioapic, pin);
	ioapic_leave(ioapic, outer);
	return 0;
}
