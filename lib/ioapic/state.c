/* SPDX-License-Identifier: MIT */
/*
 * Save/restore (validate, then commit) and the invariant checker the tests
 * and fuzzers run after every operation.
 */
#include "ioapic_priv.h"

VIRQ_API int virq_ioapic_save(const struct virq_ioapic *ioapic, struct virq_ioapic_state *out)
{
	if (!ioapic || !out)
		return -VIRQ_EINVAL;
	virq_memset(out, 0, sizeof(*out));
	out->version = VIRQ_IOAPIC_STATE_VERSION;
	out->size = sizeof(*out);
	out->ioregsel = ioapic->ioregsel;
	out->id = (uint32_t)ioapic->id << IOAPIC_ID_SHIFT;
	out->pins = ioapic->cfg.pins;
	for (unsigned p = 0; p < ioapic->cfg.pins; p++)
		out->rte[p] = ioapic->rte[p];
	for (unsigned w = 0; w < 2; w++) {
		out->line[w] = ioapic->line[w];
		out->storm_held[w] = ioapic->storm_held[w];
	}
	return 0;
}

/* Checks a state against the architecture and this I/O APIC's configuration. Reads only. */
static int ioapic_state_check(const struct virq_ioapic *io, const struct virq_ioapic_state *st)
{
	if (st->version != VIRQ_IOAPIC_STATE_VERSION || st->size != sizeof(*st))
		return -VIRQ_EVERSION;
	if (st->pins != io->cfg.pins || st->reserved)
		return -VIRQ_ESTATE;
	if (st->ioregsel & ~IOAPIC_IOREGSEL_MASK)
		return -VIRQ_ESTATE;
	if (st->id & ~IOAPIC_ID_REG_MASK)
		return -VIRQ_ESTATE;
	for (unsigned p = 0; p < VIRQ_IOAPIC_MAX_PINS; p++) {
		uint64_t rte = st->rte[p];

		if (p >= st->pins) {
			if (rte)
				return -VIRQ_ESTATE;
			continue;
		}
		/* Reserved 47:17 and delivery status (always idle) are zero. */
		if (rte & ~IOAPIC_RTE_STATE_BITS)
			return -VIRQ_ESTATE;
		if ((rte & VIRQ_IOAPIC_RTE_REMOTE_IRR) && !ioapic_rte_level(rte))
			return -VIRQ_ESTATE;
	}
	for (unsigned w = 0; w < 2; w++) {
		uint64_t valid = ioapic_pins_word(st->pins, w);

		if ((st->line[w] | st->storm_held[w]) & ~valid)
			return -VIRQ_ESTATE;
	}
	return 0;
}

/* Loads a checked state. Cannot fail. The storm counts restart. */
static void ioapic_state_load(struct virq_ioapic *io, const struct virq_ioapic_state *st)
{
	io->ioregsel = st->ioregsel;
	io->id = (uint8_t)((st->id >> IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK);
	for (unsigned p = 0; p < VIRQ_IOAPIC_MAX_PINS; p++) {
		io->rte[p] = st->rte[p];
		io->eoi_count[p] = 0;
	}
	for (unsigned w = 0; w < 2; w++) {
		io->line[w] = st->line[w];
		io->storm_held[w] = st->storm_held[w];
		io->pending[w] = 0;
	}
	/* The index is not part of the state: recomputed from the entries. */
	ioapic_index_build(io, io->vec_head, io->vec_next);
}

VIRQ_API int virq_ioapic_restore(struct virq_ioapic *ioapic, const struct virq_ioapic_state *st)
{
	int err;

	if (!ioapic || !st)
		return -VIRQ_EINVAL;
	err = ioapic_state_check(ioapic, st); /* reads only */
	if (err)
		return err;
	ioapic_state_load(ioapic, st); /* cannot fail */
	return 0;
}

int ioapic_check_invariants(const struct virq_ioapic *io)
{
	unsigned pins = io->cfg.pins;

	if (io->cfg.version != IOAPIC_VERSION_82093AA && io->cfg.version != IOAPIC_VERSION_PCH)
		return 1;
	if (pins < 1U || pins > VIRQ_IOAPIC_MAX_PINS || !io->cfg.storm_limit)
		return 2;
	if (io->id > IOAPIC_ID_MASK || io->ioregsel > IOAPIC_IOREGSEL_MASK)
		return 3;
	for (unsigned p = 0; p < VIRQ_IOAPIC_MAX_PINS; p++) {
		uint64_t rte = io->rte[p];

		if (p >= pins) {
			if (rte || io->eoi_count[p])
				return 4; /* nothing past the table */
			continue;
		}
		if (rte & ~IOAPIC_RTE_STATE_BITS)
			return 5; /* reserved bits, delivery status */
		if ((rte & VIRQ_IOAPIC_RTE_REMOTE_IRR) && !ioapic_rte_level(rte))
			return 6; /* Remote IRR only on level entries */
		if (io->eoi_count[p] > io->cfg.storm_limit)
			return 7;
	}
	for (unsigned w = 0; w < 2; w++) {
		uint64_t valid = ioapic_pins_word(pins, w);

		if ((io->line[w] | io->storm_held[w] | io->pending[w]) & ~valid)
			return 8;
		if (!io->in_eoi && io->pending[w])
			return 9; /* the outermost call sent everything */
	}
	{
		uint8_t head[256], next[VIRQ_IOAPIC_MAX_PINS];

		ioapic_index_build(io, head, next);
		for (unsigned v = 0; v < 256U; v++)
			if (head[v] != io->vec_head[v])
				return 10; /* the vector index is what the entries give */
		for (unsigned p = 0; p < VIRQ_IOAPIC_MAX_PINS; p++)
			if (next[p] != io->vec_next[p])
				return 10;
	}
	return 0;
}
