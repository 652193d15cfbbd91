/* SPDX-License-Identifier: MIT */
/*
 * MSI-X table and Pending Bit Array (PCI 3.0 6.8.2 "MSI-X Capability and Table Structure").
 *
 * A vector is "masked" while its own Mask bit or the Function Mask is set,
 * and this model also treats MSI-X Enable = 0 as masked for the pending
 * logic (QEMU does the same), except that a disabled function signals
 * nothing at all: virq_msix_notify() then returns without setting a bit.
 *
 * Invariant after every call: a pending bit is set only for a vector that
 * is masked in that sense, and no bit at or past msix->vectors is set. It
 * holds because a bit is set only by notify on a masked vector, and every
 * call that can unmask a vector (Vector Control write, Message Control
 * write) sends and clears the pending bits of the vectors it unmasked.
 */
#include "msi_priv.h"

#define MSIX_DWORD_ADDR_LO 0U
#define MSIX_DWORD_ADDR_HI 1U
#define MSIX_DWORD_DATA 2U
#define MSIX_DWORD_CTRL 3U

static unsigned msix_pba_words(const struct virq_msix *msix)
{
	return ((unsigned)msix->vectors + 63U) / 64U;
}

static bool msix_valid(const struct virq_msix *msix)
{
	return msix && msix->table && msix->pba && msix->vectors >= 1 &&
	       msix->vectors <= VIRQ_MSIX_MAX_VECTORS;
}

/* Aligned DWORD or QWORD (PCI 3.0 6.8.2 "MSI-X Capability and Table
 * Structure": anything else is undefined). */
static bool msix_access_ok(uint32_t offset, unsigned size)
{
	return (size == 4 || size == 8) && (offset & (size - 1U)) == 0;
}

static bool msix_masked(const struct virq_msix *msix, unsigned i)
{
	return !msix->enabled || msix->function_mask ||
	       (msix->table[i].ctrl & VIRQ_MSIX_CTRL_MASKED);
}

static bool msix_pending(const struct virq_msix *msix, unsigned i)
{
	return (msix->pba[i / 64U] >> (i % 64U)) & 1U;
}

static void msix_send(const struct virq_msix *msix, unsigned i, virq_msi_send_fn send, void *ctx)
{
	const struct virq_msix_entry *e = &msix->table[i];

	send(ctx, ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data);
}

/*
 * Sends vector @i if it is pending and no longer masked. The bit is
 * cleared before the call, so a send hook that re-enters sees the state
 * the invariant describes.
 */
static void msix_flush_one(struct virq_msix *msix, unsigned i, virq_msi_send_fn send, void *ctx)
{
	if (!msix_pending(msix, i) || msix_masked(msix, i))
		return;
	msix->pba[i / 64U] &= ~(1ULL << (i % 64U));
	msix_send(msix, i, send, ctx);
}

static uint32_t msix_entry_dword(const struct virq_msix_entry *e, unsigned dw)
{
	switch (dw) {
	case MSIX_DWORD_ADDR_LO:
		return e->addr_lo;
	case MSIX_DWORD_ADDR_HI:
		return e->addr_hi;
	case MSIX_DWORD_DATA:
		return e->data;
	default:
		return e->ctrl;
	}
}

static void msix_entry_set_dword(struct virq_msix_entry *e, unsigned dw, uint32_t v)
{
	switch (dw) {
	case MSIX_DWORD_ADDR_LO:
		e->addr_lo = v;
		break;
	case MSIX_DWORD_ADDR_HI:
		e->addr_hi = v;
		break;
	case MSIX_DWORD_DATA:
		e->data = v;
		break;
	default:
		/* Bits 31:1 are reserved: read 0, writes ignored. */
		e->ctrl = v & VIRQ_MSIX_CTRL_MASKED;
		break;
	}
}

int virq_msix_init(struct virq_msix *msix, struct virq_msix_entry *table, uint64_t *pba,
		   uint16_t vectors)
{
	if (!msix || !table || !pba || vectors < 1 || vectors > VIRQ_MSIX_MAX_VECTORS)
		return -VIRQ_EINVAL;
	msix->table = table;
	msix->pba = pba;
	msix->vectors = vectors;
	msix->enabled = false;
	msix->function_mask = false;
	for (unsigned i = 0; i < vectors; i++) {
		table[i].addr_lo = 0;
		table[i].addr_hi = 0;
		table[i].data = 0;
		table[i].ctrl = VIRQ_MSIX_CTRL_MASKED; /* PCI 3.0: Mask is 1 after reset */
	}
	for (unsigned w = 0; w < msix_pba_words(msix); w++)
		pba[w] = 0;
	return 0;
}

int virq_msix_table_read(const struct virq_msix *msix, uint32_t offset, unsigned size,
			 uint64_t *val)
{
	uint32_t entry = offset / VIRQ_MSIX_ENTRY_SIZE;
	unsigned dw = (offset % VIRQ_MSIX_ENTRY_SIZE) / 4U;
	const struct virq_msix_entry *e;
	uint64_t v;

	if (!val)
		return -VIRQ_EINVAL;
	*val = 0;
	if (!msix_valid(msix) || !msix_access_ok(offset, size))
		return -VIRQ_EINVAL;
	if (entry >= msix->vectors)
		return 0;
	e = &msix->table[entry];
	v = msix_entry_dword(e, dw);
	/* An aligned QWORD covers dwords 0-1 or 2-3 of one entry. */
	if (size == 8)
		v |= (uint64_t)msix_entry_dword(e, dw + 1U) << 32;
	*val = v;
	return 0;
}

int virq_msix_table_write(struct virq_msix *msix, uint32_t offset, unsigned size, uint64_t val,
			  virq_msi_send_fn send, void *ctx)
{
	uint32_t entry = offset / VIRQ_MSIX_ENTRY_SIZE;
	unsigned dw = (offset % VIRQ_MSIX_ENTRY_SIZE) / 4U;
	struct virq_msix_entry *e;

	if (!msix_valid(msix) || !msix_access_ok(offset, size) || !send)
		return -VIRQ_EINVAL;
	if (entry >= msix->vectors)
		return 0;
	e = &msix->table[entry];
	msix_entry_set_dword(e, dw, (uint32_t)val);
	if (size == 8)
		msix_entry_set_dword(e, dw + 1U, (uint32_t)(val >> 32));
	/* Pending implies masked before the write, so this sends only on unmask. */
	msix_flush_one(msix, entry, send, ctx);
	return 0;
}

int virq_msix_pba_read(const struct virq_msix *msix, uint32_t offset, unsigned size, uint64_t *val)
{
	uint32_t word = offset / 8U;
	uint64_t w;

	if (!val)
		return -VIRQ_EINVAL;
	*val = 0;
	if (!msix_valid(msix) || !msix_access_ok(offset, size))
		return -VIRQ_EINVAL;
	if (word >= msix_pba_words(msix))
		return 0;
	w = msix->pba[word];
	if (size == 4)
		w = (offset & 4U) ? w >> 32 : w & 0xFFFFFFFFULL;
	*val = w;
	return 0;
}

int virq_msix_set_control(struct virq_msix *msix, bool enabled, bool function_mask,
			  virq_msi_send_fn send, void *ctx)
{
	if (!msix_valid(msix) || !send)
		return -VIRQ_EINVAL;
	msix->enabled = enabled;
	msix->function_mask = function_mask;
	if (!enabled || function_mask)
		return 0;
	/*
	 * Every vector is now masked only by its own bit: send the pending
	 * ones that bit does not hold back, lowest index first. Each word is
	 * re-read per bit because a send hook may change the table.
	 */
	for (unsigned w = 0; w < msix_pba_words(msix); w++) {
		uint64_t todo = msix->pba[w];

		while (todo) {
			unsigned b = virq_ffs64(todo);

			todo &= todo - 1U;
			/* Bits past the table are never set; do not trust the caller's array. */
			if (w * 64U + b < msix->vectors)
				msix_flush_one(msix, w * 64U + b, send, ctx);
		}
	}
	return 0;
}

int virq_msix_notify(struct virq_msix *msix, unsigned index, virq_msi_send_fn send, void *ctx)
{
	if (!msix_valid(msix) || !send || index >= msix->vectors)
		return -VIRQ_EINVAL;
	if (!msix->enabled)
		return 0; /* the function signals INTx or MSI instead (PCI 3.0 6.8.2 "MSI-X
		           * Capability and Table Structure") */
	if (msix_masked(msix, index)) {
		msix->pba[index / 64U] |= 1ULL << (index % 64U);
		return 0;
	}
	msix_send(msix, index, send, ctx);
	return 0;
}
