/* SPDX-License-Identifier: MIT */
/*
 * What the ioapic files share and nobody else sees.
 *
 * State kept beside the architectural registers (each exact at every return
 * to the caller; ioapic_check_invariants() checks them for the fuzzers):
 *  - cfg: the configuration with defaults filled in (version 0x11 or 0x20,
 *    pins 1-120, storm_limit >= 1);
 *  - id: the 4-bit IOAPICID (the register reads id << 24);
 *  - line: logical level of each pin (bit p, p < pins);
 *  - storm_held: pins throttled until virq_ioapic_service() or an entry
 *    write. A level pin is not sent while held; an edge pin held carries one
 *    latched edge, sent by virq_ioapic_service() if unmasked;
 *  - eoi_count: successive EOI re-deliveries of a pin, <= storm_limit;
 *  - pending: messages asked for while a call was in progress (in_eoi > 0);
 *    the outermost call sends them before it returns, so pending is empty
 *    whenever in_eoi is 0;
 *  - in_eoi: nesting depth of the public calls that may deliver;
 *  - vec_head/vec_next: the level entries of each vector, a chain in
 *    ascending pin order (pin + 1, 0 ends it), always equal to what the
 *    entries give (ioapic_index_build() recomputes it), so an EOI visits
 *    only the pins of its vector.
 *
 * Entries keep only the bits VIRQ_IOAPIC_RTE_WRITABLE | Remote IRR; Remote
 * IRR only on level entries; delivery status always 0 (messages are sent
 * synchronously); entries, line, storm_held and pending past the pin count
 * are zero.
 */
#ifndef VIRQ_IOAPIC_PRIV_H
#define VIRQ_IOAPIC_PRIV_H

#include <virq/ioapic.h>
#include <virq/version.h>

/* IOAPICID and IOAPICARB: 4-bit ID in bits 27:24 (82093AA 3.2.1
 * "IOAPICID—IOAPIC Identification Register", 3.2.3 "IOAPICARB—IOAPIC
 * Arbitration Register"). */
#define IOAPIC_ID_SHIFT 24
#define IOAPIC_ID_MASK 0x0FU
#define IOAPIC_ID_REG_MASK 0x0F000000U
/* IOAPICVER: Maximum Redirection Entry in bits 23:16 (82093AA 3.2.2
 * "IOAPICVER—IOAPIC Version Register"). */
#define IOAPIC_VER_MRE_SHIFT 16
#define IOAPIC_VERSION_82093AA 0x11U
#define IOAPIC_VERSION_PCH 0x20U
/* IOREGSEL keeps bits 7:0 (82093AA 3.1.1 "IOREGSEL—I/O Register Select Register"). */
#define IOAPIC_IOREGSEL_MASK 0xFFU
/* What a stored entry may hold. */
#define IOAPIC_RTE_STATE_BITS (VIRQ_IOAPIC_RTE_WRITABLE | VIRQ_IOAPIC_RTE_REMOTE_IRR)
/* virq_msi_decode() flags and result, as msi.h defines them (the layers
 * keep ioapic from including msi.h; tests/ioapic compare the values). */
#define IOAPIC_MSI_EXT_DEST (1U << 0)
#define IOAPIC_MSI_ADDR_HI_DEST (1U << 1)
#define IOAPIC_MSI_REMAPPABLE 1
/* Value read from an index that is no register (KVM ioapic_read_indirect). */
#define IOAPIC_REG_NONE 0xFFFFFFFFU

static inline bool ioapic_bit(const uint64_t *bm, unsigned pin)
{
	return (bm[pin >> 6] >> (pin & 63U)) & 1U;
}

static inline void ioapic_bit_set(uint64_t *bm, unsigned pin)
{
	bm[pin >> 6] |= 1ULL << (pin & 63U);
}

static inline void ioapic_bit_clear(uint64_t *bm, unsigned pin)
{
	bm[pin >> 6] &= ~(1ULL << (pin & 63U));
}

/* Bits of word w (0 or 1) of a pin bitmap that name an existing pin. */
static inline uint64_t ioapic_pins_word(unsigned pins, unsigned w)
{
	unsigned lo = w * 64U;

	if (pins <= lo)
		return 0;
	if (pins - lo >= 64U)
		return ~0ULL;
	return (1ULL << (pins - lo)) - 1U;
}

static inline bool ioapic_rte_level(uint64_t rte)
{
	return (rte & VIRQ_IOAPIC_RTE_LEVEL) != 0;
}

static inline bool ioapic_rte_masked(uint64_t rte)
{
	return (rte & VIRQ_IOAPIC_RTE_MASKED) != 0;
}

/*
 * An optional hook of the caller's ops table, NULL when the table is too
 * short to hold it (doc/abi.md, "Growing ops and config structures"):
 * compile-time true for every hook within VIRQ_IOAPIC_OPS_SIZE_MIN.
 */
#define IOAPIC_OP(io, f)                                                                           \
	(VIRQ_FIELD_PRESENT(struct virq_ioapic_ops, (io)->ops, f, VIRQ_IOAPIC_OPS_SIZE_MIN)        \
		 ? (io)->ops->f                                                                    \
		 : NULL)

static inline void ioapic_guest_error(struct virq_ioapic *io, enum virq_guest_error code)
{
	if (IOAPIC_OP(io, guest_error))
		io->ops->guest_error(io->ctx, code);
}

/*
 * Every public call that may send a message brackets its work with
 * ioapic_enter()/ioapic_leave(). Only the outermost one (enter returned
 * true) sends: nested calls (from a hook) record what to send in pending.
 */
static inline bool ioapic_enter(struct virq_ioapic *io)
{
	return io->in_eoi++ == 0;
}

void ioapic_leave(struct virq_ioapic *io, bool outer);

static inline uint8_t ioapic_rte_vector(uint64_t rte)
{
	return (uint8_t)(rte & VIRQ_IOAPIC_RTE_VECTOR_MASK);
}

/* pins.c */
void ioapic_request(struct virq_ioapic *io, unsigned pin);
void ioapic_rte_changed(struct virq_ioapic *io, unsigned pin);
/* Entry @pin changes from @old to io->rte[pin]: moves it between chains. */
void ioapic_index_update(struct virq_ioapic *io, unsigned pin, uint64_t old);
/* Recomputes every chain from the entries into @head / @next. */
void ioapic_index_build(const struct virq_ioapic *io, uint8_t head[256],
			uint8_t next[VIRQ_IOAPIC_MAX_PINS]);

/* Checks every invariant listed above. 0 = ok, else the number of the one broken. */
int ioapic_check_invariants(const struct virq_ioapic *io);

#endif /* VIRQ_IOAPIC_PRIV_H */
