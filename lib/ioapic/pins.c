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
 * Sends one pending pin if it is still due. Edge: a latched edge, sent if
 * unmasked (an edge on a masked pin is lost). Level: asserted, unmasked,
 * Remote IRR clear.
 */
static void ioapic_send(struct virq_ioapic *io, unsigned pin)
{
	uint64_t rte = io->rte[pin], addr = 0;
	uint32_t data = 0;
	unsigned accepted;
	unsigned (*entry)(void *ctx, unsigned pin, uint64_t rte);
	bool level = ioapic_rte_level(rte);

	if (ioapic_bit(io->storm_held, pin) || ioapic_rte_masked(rte))
		return;
	if (level && (!ioapic_bit(io->line, pin) || (rte & VIRQ_IOAPIC_RTE_REMOTE_IRR)))
		return;
	/* With deliver_entry the embedder decodes the entry itself. */
	entry = VIRQ_FIELD_PRESENT(struct virq_ioapic_ops, io->ops, deliver_entry,
				   VIRQ_IOAPIC_OPS_SIZE_MIN)
			? io->ops->deliver_entry
			: NULL;
	if (!entry)
		virq_ioapic_rte_to_msi(rte, &addr, &data);
	/*
	 * Remote IRR goes up before the message leaves and comes down again if
	 * nobody accepted it. A LAPIC that EOIs from inside deliver (lazy EOI)
	 * then finds it set and clears it; set afterwards, it would stick
	 * forever.
	 */
	if (level)
		io->rte[pin] |= VIRQ_IOAPIC_RTE_REMOTE_IRR;
	if (entry)
		accepted = entry(io->ctx, pin, rte);
	else
		accepted = io->ops->deliver(io->ctx, pin, addr, data);
	if (level && !accepted)
		io->rte[pin] &= ~VIRQ_IOAPIC_RTE_REMOTE_IRR;
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

VIRQ_API int virq_ioapic_set_pin(struct virq_ioapic *ioapic, unsigned pin, bool asserted)
{
	uint64_t rte;
	bool old, outer;

	if (pin >= ioapic->cfg.pins)
		return -VIRQ_EINVAL;
	if (!asserted) {
		/*
		 * Sends nothing, so no enter/leave: an outermost call would
		 * find nothing pending to drain.
		 */
		ioapic_bit_clear(ioapic->line, pin);
		/* The guest cleared the source: the storm count restarts. */
		ioapic->eoi_count[pin] = 0;
		return 0;
	}
	outer = ioapic_enter(ioapic);
	old = ioapic_bit(ioapic->line, pin);
	rte = ioapic->rte[pin];
	ioapic_bit_set(ioapic->line, pin);
	/*
	 * Level: sent if unmasked and Remote IRR clear (checked at send).
	 * Edge: a rising edge on an unmasked pin; on a masked pin it is lost
	 * (82093AA mask bit), on a throttled one it merges with the edge
	 * already held.
	 */
	if (!ioapic_rte_level(rte) &&
	    (old || ioapic_rte_masked(rte) || ioapic_bit(ioapic->storm_held, pin))) {
		ioapic_leave(ioapic, outer);
		return 0;
	}
	if (!outer) {
		ioapic_request(ioapic, pin);
		ioapic_leave(ioapic, false);
		return 0;
	}
	/*
	 * Outermost: nothing is pending (ioapic_priv.h), so the drain's first
	 * round would send this pin alone. It is sent here, and the drain
	 * goes on from round 2 with whatever the hooks asked for meanwhile.
	 */
	ioapic_send(ioapic, pin);
	if (ioapic->pending[0] | ioapic->pending[1])
		ioapic_drain(ioapic, 1);
	VIRQ_ASSERT(ioapic->in_eoi == 1);
	ioapic->in_eoi = 0;
	return 0;
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
	bool outer;

	/* No level entry has the vector: nothing to clear, nothing to send. */
	if (!ioapic->vec_head[vector])
		return;
	outer = ioapic_enter(ioapic);
	/* Only the level entries of the vector, in ascending pin order. */
	for (unsigned n = ioapic->vec_head[vector]; n;
	     n = ioapic_index_after(ioapic, vector, n - 1U)) {
		unsigned pin = n - 1U;
		uint64_t rte = ioapic->rte[pin];

		ioapic->rte[pin] = rte & ~VIRQ_IOAPIC_RTE_REMOTE_IRR;
		if (ioapic_bit(ioapic->storm_held, pin))
			continue;
		if (!ioapic_bit(ioapic->line, pin) || ioapic_rte_masked(rte)) {
			ioapic->eoi_count[pin] = 0;
			continue;
		}
		if (ioapic->eoi_count[pin] >= ioapic->cfg.storm_limit) {
			/* KVM and QEMU defer the re-delivery by 10 ms here. */
			ioapic_hold(ioapic, pin);
			continue;
		}
		ioapic->eoi_count[pin]++;
		ioapic_request(ioapic, pin);
	}
	ioapic_leave(ioapic, outer);
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
