/* SPDX-License-Identifier: MIT */
/*
 * PCI MSI capability (PCI 3.0 6.8.1 "MSI Capability Structure"): configuration
 * space access with per-register write masks, Multiple Message Enable,
 * per-vector Mask and Pending Bits and delivery of a held message at
 * unmask.
 *
 * Invariant after every call: a pending bit is set only with per-vector
 * masking, for a vector below 2^MME, that is masked or while MSI is
 * disabled. notify sets a bit only on a masked vector of an enabled
 * function; every write first drops the bits at or past 2^MME (MME may
 * have shrunk) and then, when enabled, sends and clears the bits of the
 * vectors that are no longer masked.
 */
#include "msi_priv.h"

/* DWORD indices inside the capability. */
enum msicap_reg {
	REG_HEADER,  /* Cap ID, next pointer, Message Control */
	REG_ADDR_LO, /* Message Address [31:0] */
	REG_ADDR_HI, /* Message Upper Address (64-bit only) */
	REG_DATA,    /* Message Data (bits 15:0), bits 31:16 read 0 */
	REG_MASK,    /* Mask Bits (PVM only) */
	REG_PENDING, /* Pending Bits (PVM only) */
	REG_NONE,
};

#define MSICAP_CTRL_RW (VIRQ_MSI_CTRL_ENABLE | VIRQ_MSI_CTRL_MME_MASK)
#define MSICAP_CTRL_KNOWN                                                                          \
	(MSICAP_CTRL_RW | VIRQ_MSI_CTRL_MMC_MASK | VIRQ_MSI_CTRL_64BIT | VIRQ_MSI_CTRL_PVM)

static unsigned msicap_mmc(const struct virq_msi_cap *cap)
{
	return (cap->control & VIRQ_MSI_CTRL_MMC_MASK) >> VIRQ_MSI_CTRL_MMC_SHIFT;
}

static unsigned msicap_mme(const struct virq_msi_cap *cap)
{
	return (cap->control & VIRQ_MSI_CTRL_MME_MASK) >> VIRQ_MSI_CTRL_MME_SHIFT;
}

/* Bits 0 to 2^log2 - 1 (log2 at most 5). */
static uint32_t msicap_vec_bits(unsigned log2)
{
	return log2 >= 5U ? 0xFFFFFFFFU : (1U << (1U << log2)) - 1U;
}

static bool msicap_valid(const struct virq_msi_cap *cap)
{
	return cap && (cap->control & ~MSICAP_CTRL_KNOWN) == 0 &&
	       msicap_mmc(cap) <= VIRQ_MSI_CAP_MAX_LOG2 && msicap_mme(cap) <= msicap_mmc(cap);
}

static bool msicap_64(const struct virq_msi_cap *cap)
{
	return cap->control & VIRQ_MSI_CTRL_64BIT;
}

static bool msicap_pvm(const struct virq_msi_cap *cap)
{
	return cap->control & VIRQ_MSI_CTRL_PVM;
}

static unsigned msicap_bytes(const struct virq_msi_cap *cap)
{
	return 0x0CU + (msicap_64(cap) ? 4U : 0U) + (msicap_pvm(cap) ? 8U : 0U);
}

/* Which register DWORD @dw is; REG_NONE past the capability. */
static enum msicap_reg msicap_reg_at(const struct virq_msi_cap *cap, uint32_t dw)
{
	/* Without the upper address every register past it moves down one DWORD. */
	if (dw >= REG_ADDR_HI && !msicap_64(cap))
		dw++;
	if (dw >= REG_MASK && !msicap_pvm(cap))
		return REG_NONE;
	return dw < REG_NONE ? (enum msicap_reg)dw : REG_NONE;
}

/* Naturally aligned 1, 2 or 4 bytes inside the capability. */
static bool msicap_access_ok(const struct virq_msi_cap *cap, uint32_t offset, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && (offset & (size - 1U)) == 0 &&
	       offset < msicap_bytes(cap) && msicap_bytes(cap) - offset >= size;
}

static uint32_t msicap_reg_read(const struct virq_msi_cap *cap, enum msicap_reg reg)
{
	switch (reg) {
	case REG_HEADER:
		return VIRQ_MSI_CAP_ID | (uint32_t)cap->next << 8 | (uint32_t)cap->control << 16;
	case REG_ADDR_LO:
		return cap->addr_lo & ~3U;
	case REG_ADDR_HI:
		return cap->addr_hi;
	case REG_DATA:
		return cap->data;
	case REG_MASK:
		return cap->mask;
	case REG_PENDING:
		return cap->pending;
	default:
		return 0;
	}
}

/* Stores a merged DWORD, keeping every read-only bit. */
static void msicap_reg_write(struct virq_msi_cap *cap, enum msicap_reg reg, uint32_t v)
{
	uint32_t rw;
	unsigned mme;

	switch (reg) {
	case REG_HEADER:
		rw = (v >> 16) & MSICAP_CTRL_RW;
		mme = (rw & VIRQ_MSI_CTRL_MME_MASK) >> VIRQ_MSI_CTRL_MME_SHIFT;
		if (mme > msicap_mmc(cap))
			mme = msicap_mmc(cap);
		rw = (rw & ~VIRQ_MSI_CTRL_MME_MASK) | mme << VIRQ_MSI_CTRL_MME_SHIFT;
		cap->control = (uint16_t)((cap->control & ~MSICAP_CTRL_RW) | rw);
		break;
	case REG_ADDR_LO:
		cap->addr_lo = v & ~3U;
		break;
	case REG_ADDR_HI:
		cap->addr_hi = v;
		break;
	case REG_DATA:
		cap->data = (uint16_t)v;
		break;
	case REG_MASK:
		rw = msicap_vec_bits(msicap_mmc(cap));
		cap->mask = (cap->mask & ~rw) | (v & rw);
		break;
	default:
		/* Pending Bits are read-only. */
		break;
	}
}

static bool msicap_masked(const struct virq_msi_cap *cap, unsigned vector)
{
	return msicap_pvm(cap) && ((cap->mask >> vector) & 1U);
}

static void msicap_send(const struct virq_msi_cap *cap, unsigned vector, virq_msi_send_fn send,
			void *ctx)
{
	uint32_t low = (1U << msicap_mme(cap)) - 1U; /* the low MME bits */
	uint64_t addr = cap->addr_lo & ~3U;

	if (msicap_64(cap))
		addr |= (uint64_t)cap->addr_hi << 32;
	send(ctx, addr, ((uint32_t)cap->data & ~low) | (vector & low));
}

/*
 * Drops pending bits past 2^MME, then sends the unmasked pending vectors
 * while enabled. State is re-read per vector and each bit cleared before
 * its send, as a send hook may re-enter.
 */
static void msicap_flush(struct virq_msi_cap *cap, virq_msi_send_fn send, void *ctx)
{
	cap->pending &= msicap_vec_bits(msicap_mme(cap));
	for (unsigned k = 0; k < 32U; k++) {
		if (!(cap->control & VIRQ_MSI_CTRL_ENABLE) || !cap->pending)
			return;
		if (!((cap->pending >> k) & 1U) || msicap_masked(cap, k))
			continue;
		cap->pending &= ~(1U << k);
		msicap_send(cap, k, send, ctx);
	}
}

int virq_msi_cap_init(struct virq_msi_cap *cap, unsigned log2_vectors, bool addr64,
		      bool per_vector_mask)
{
	if (!cap || log2_vectors > VIRQ_MSI_CAP_MAX_LOG2)
		return -VIRQ_EINVAL;
	cap->addr_lo = 0;
	cap->addr_hi = 0;
	cap->mask = 0;
	cap->pending = 0;
	cap->data = 0;
	cap->control = (uint16_t)(log2_vectors << VIRQ_MSI_CTRL_MMC_SHIFT);
	if (addr64)
		cap->control |= VIRQ_MSI_CTRL_64BIT;
	if (per_vector_mask)
		cap->control |= VIRQ_MSI_CTRL_PVM;
	cap->next = 0;
	return 0;
}

unsigned virq_msi_cap_size(const struct virq_msi_cap *cap)
{
	return msicap_valid(cap) ? msicap_bytes(cap) : 0U;
}

int virq_msi_cap_read(const struct virq_msi_cap *cap, uint32_t offset, unsigned size, uint32_t *val)
{
	unsigned shift = (offset & 3U) * 8U;
	uint32_t v;

	if (!val)
		return -VIRQ_EINVAL;
	*val = 0;
	if (!msicap_valid(cap) || !msicap_access_ok(cap, offset, size))
		return -VIRQ_EINVAL;
	v = msicap_reg_read(cap, msicap_reg_at(cap, offset / 4U)) >> shift;
	if (size < 4)
		v &= (1U << (size * 8U)) - 1U;
	*val = v;
	return 0;
}

int virq_msi_cap_write(struct virq_msi_cap *cap, uint32_t offset, unsigned size, uint32_t val,
		       virq_msi_send_fn send, void *ctx)
{
	unsigned shift = (offset & 3U) * 8U;
	enum msicap_reg reg;
	uint32_t be, v;

	if (!msicap_valid(cap) || !msicap_access_ok(cap, offset, size) || !send)
		return -VIRQ_EINVAL;
	reg = msicap_reg_at(cap, offset / 4U);
	/* The access lies inside one DWORD: merge its enabled bytes. */
	be = (size == 4 ? 0xFFFFFFFFU : (1U << (size * 8U)) - 1U) << shift;
	v = (msicap_reg_read(cap, reg) & ~be) | ((val << shift) & be);
	msicap_reg_write(cap, reg, v);
	msicap_flush(cap, send, ctx);
	return 0;
}

int virq_msi_cap_notify(struct virq_msi_cap *cap, unsigned vector, virq_msi_send_fn send, void *ctx)
{
	if (!msicap_valid(cap) || !send || vector >= (1U << msicap_mme(cap)))
		return -VIRQ_EINVAL;
	if (!(cap->control & VIRQ_MSI_CTRL_ENABLE))
		return 0; /* the function uses INTx (PCI 3.0 6.8.1.3 "Message Control for MSI") */
	if (msicap_masked(cap, vector)) {
		cap->pending |= 1U << vector;
		return 0;
	}
	msicap_send(cap, vector, send, ctx);
	return 0;
}
