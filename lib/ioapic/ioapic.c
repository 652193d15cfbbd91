/* SPDX-License-Identifier: MIT */
/*
 * I/O APIC life cycle and register decode: init, reset, the MMIO window
 * (IOREGSEL, IOWIN, EOI register) and the indirect registers (82093AA
 * datasheet 3.1 "Memory Mapped Registers for Accessing IOAPIC
 * Registers" to 3.2 "IOAPIC Registers"; the EOI register per the
 * ICH/PCH datasheets).
 */
#include "ioapic_priv.h"

static int ioapic_config_check(const struct virq_ioapic_config *cfg)
{
	if (cfg->version && cfg->version != IOAPIC_VERSION_82093AA &&
	    cfg->version != IOAPIC_VERSION_PCH)
		return -VIRQ_EINVAL;
	if (cfg->pins > VIRQ_IOAPIC_MAX_PINS)
		return -VIRQ_EINVAL;
	if (cfg->id > IOAPIC_ID_MASK || cfg->reserved)
		return -VIRQ_EINVAL;
	return 0;
}

VIRQ_API int virq_ioapic_init(struct virq_ioapic *ioapic, const struct virq_ioapic_config *cfg,
			      const struct virq_ioapic_ops *ops, void *ctx)
{
	struct virq_ioapic_config c;
	int err;

	if (!ioapic || !cfg || !ops)
		return -VIRQ_EINVAL;
	/* The sizes first: nothing past them is the caller's. */
	if (!VIRQ_SIZE_ACCEPTED(cfg->size, VIRQ_IOAPIC_CONFIG_SIZE_MIN,
				struct virq_ioapic_config) ||
	    !VIRQ_SIZE_ACCEPTED(ops->size, VIRQ_IOAPIC_OPS_SIZE_MIN, struct virq_ioapic_ops))
		return -VIRQ_EVERSION;
	if (ops->reserved || !ops->deliver)
		return -VIRQ_EINVAL;
	VIRQ_SIZED_COPY(&c, cfg);
	err = ioapic_config_check(&c);
	if (err)
		return err;

	virq_memset(ioapic, 0, sizeof(*ioapic));
	ioapic->ops = ops;
	ioapic->ctx = ctx;
	ioapic->cfg = c;
	if (!ioapic->cfg.version)
		ioapic->cfg.version = IOAPIC_VERSION_PCH;
	if (!ioapic->cfg.pins)
		ioapic->cfg.pins = VIRQ_IOAPIC_DEFAULT_PINS;
	if (!ioapic->cfg.storm_limit)
		ioapic->cfg.storm_limit = VIRQ_IOAPIC_STORM_LIMIT_DEFAULT;
	virq_ioapic_reset(ioapic);
	return 0;
}

/*
 * 82093AA reset: ID 0 (here: the configured ID), IOREGSEL 0, every entry
 * masked with its other bits undefined; like QEMU and KVM we clear them
 * (82093AA datasheet 3.2.4 "IOREDTBL[23:0]—I/O Redirection Table
 * Registers"). Pins are device inputs and keep their levels. Nested in a
 * hook (in_eoi > 0) the outer call finds nothing pending.
 */
VIRQ_API void virq_ioapic_reset(struct virq_ioapic *ioapic)
{
	ioapic->ioregsel = 0;
	ioapic->id = ioapic->cfg.id;
	for (unsigned p = 0; p < VIRQ_IOAPIC_MAX_PINS; p++) {
		ioapic->rte[p] = p < ioapic->cfg.pins ? VIRQ_IOAPIC_RTE_RESET : 0;
		ioapic->eoi_count[p] = 0;
	}
	for (unsigned w = 0; w < 2; w++) {
		ioapic->line[w] &= ioapic_pins_word(ioapic->cfg.pins, w);
		ioapic->storm_held[w] = 0;
		ioapic->pending[w] = 0;
	}
	/* Every entry is edge now: no chain. */
	ioapic_index_build(ioapic, ioapic->vec_head, ioapic->vec_next);
}

/* ---- indirect registers ---- */

static uint32_t ioapic_version_value(const struct virq_ioapic *io)
{
	return io->cfg.version | ((uint32_t)(io->cfg.pins - 1U) << IOAPIC_VER_MRE_SHIFT);
}

/* RTE n low half at 0x10 + 2n, high half at 0x11 + 2n. */
static bool ioapic_index_rte(const struct virq_ioapic *io, uint32_t index, unsigned *pin)
{
	if (index < VIRQ_IOAPIC_REG_RTE0)
		return false;
	index -= VIRQ_IOAPIC_REG_RTE0;
	if ((index >> 1) >= io->cfg.pins)
		return false;
	*pin = index >> 1;
	return true;
}

static uint32_t ioapic_read_indirect(struct virq_ioapic *io)
{
	uint32_t index = io->ioregsel & IOAPIC_IOREGSEL_MASK;
	unsigned pin;

	switch (index) {
	case VIRQ_IOAPIC_REG_ID:
	case VIRQ_IOAPIC_REG_ARB:
		/*
		 * ARB is loaded from the ID on every ID write and only
		 * rotates on the long-gone APIC bus; KVM and QEMU read it as
		 * the ID (82093AA datasheet 3.2.3 "IOAPICARB—IOAPIC Arbitration Register").
		 */
		return (uint32_t)io->id << IOAPIC_ID_SHIFT;
	case VIRQ_IOAPIC_REG_VERSION:
		return ioapic_version_value(io);
	default:
		break;
	}
	if (!ioapic_index_rte(io, index, &pin)) {
		/* CVE-2013-1798: nothing is read outside the table. */
		ioapic_guest_error(io, VIRQ_GERR_RESERVED_REG);
		return IOAPIC_REG_NONE;
	}
	if (index & 1U)
		return (uint32_t)(io->rte[pin] >> 32);
	return (uint32_t)io->rte[pin];
}

/*
 * One half of an entry. Delivery status and Remote IRR are read-only,
 * 47:17 reserved (dropped); bits 55:48 are storage, as KVM and QEMU keep
 * them (82093AA datasheet 3.2.4 "IOREDTBL[23:0]—I/O Redirection Table
 * Registers" has them reserved).
 */
static void ioapic_write_rte(struct virq_ioapic *io, unsigned pin, bool high, uint32_t val)
{
	uint64_t old = io->rte[pin], nv;

	if (high)
		nv = (old & 0x00000000FFFFFFFFULL) | ((uint64_t)val << 32);
	else
		nv = (old & 0xFFFFFFFF00000000ULL) | val;
	nv = (nv & VIRQ_IOAPIC_RTE_WRITABLE) | (old & VIRQ_IOAPIC_RTE_REMOTE_IRR);
	/*
	 * Remote IRR means nothing for edge entries. Linux's
	 * __eoi_ioapic_pin() clears a stuck Remote IRR on IOAPICs without an
	 * EOI register by switching the entry to edge and back, so writing
	 * edge clears it, as KVM and QEMU do.
	 */
	if (!ioapic_rte_level(nv))
		nv &= ~VIRQ_IOAPIC_RTE_REMOTE_IRR;
	io->rte[pin] = nv;
	ioapic_index_update(io, pin, old);
	ioapic_rte_changed(io, pin);
}

static void ioapic_write_indirect(struct virq_ioapic *io, uint32_t val)
{
	uint32_t index = io->ioregsel & IOAPIC_IOREGSEL_MASK;
	unsigned pin;

	switch (index) {
	case VIRQ_IOAPIC_REG_ID:
		io->id = (uint8_t)((val >> IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK);
		return;
	case VIRQ_IOAPIC_REG_VERSION:
	case VIRQ_IOAPIC_REG_ARB:
		/* Read-only; Windows writes 0 to VER (cloud-hypervisor #1791). */
		ioapic_guest_error(io, VIRQ_GERR_READONLY_REG);
		return;
	default:
		break;
	}
	if (!ioapic_index_rte(io, index, &pin)) {
		ioapic_guest_error(io, VIRQ_GERR_RESERVED_REG);
		return;
	}
	ioapic_write_rte(io, pin, (index & 1U) != 0, val);
}

/* ---- MMIO window ---- */

enum mmio_reg {
	MMIO_NONE,
	MMIO_IOREGSEL,
	MMIO_IOWIN,
	MMIO_EOI,
};

/* The 32-bit register the access starts in; *in receives the byte offset in it. */
static enum mmio_reg ioapic_mmio_decode(const struct virq_ioapic *io, uint32_t offset, uint32_t *in)
{
	*in = offset & 3U;
	switch (offset & ~3U) {
	case VIRQ_IOAPIC_IOREGSEL:
		return MMIO_IOREGSEL;
	case VIRQ_IOAPIC_IOWIN:
		return MMIO_IOWIN;
	case VIRQ_IOAPIC_EOI:
		/* Absent on the 82093AA (datasheet 3.1 "Memory Mapped Registers
		 * for Accessing IOAPIC Registers"); ICH/PCH parts have it. */
		return io->cfg.version >= IOAPIC_VERSION_PCH ? MMIO_EOI : MMIO_NONE;
	default:
		return MMIO_NONE;
	}
}

static bool mmio_args_ok(uint32_t offset, unsigned size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	return offset < VIRQ_IOAPIC_MMIO_SIZE && size <= VIRQ_IOAPIC_MMIO_SIZE - offset;
}

VIRQ_API int virq_ioapic_mmio_read(struct virq_ioapic *ioapic, uint32_t offset, unsigned size,
				   uint64_t *val)
{
	uint32_t in, v, bytes;
	enum mmio_reg reg;

	if (!val || !mmio_args_ok(offset, size))
		return -VIRQ_EINVAL;
	*val = 0;
	reg = ioapic_mmio_decode(ioapic, offset, &in);
	switch (reg) {
	case MMIO_IOREGSEL:
		v = ioapic->ioregsel;
		break;
	case MMIO_IOWIN:
		v = ioapic_read_indirect(ioapic);
		break;
	case MMIO_EOI:
		return 0; /* write-only */
	default:
		ioapic_guest_error(ioapic, VIRQ_GERR_RESERVED_REG);
		return 0;
	}
	/*
	 * Only aligned 32-bit accesses are defined. Narrower ones read the
	 * bytes they cover (KVM accepts them); 8-byte or cross-register ones
	 * read what lies in the first register, zero-extended.
	 */
	bytes = 4U - in;
	if (size < bytes)
		bytes = size;
	v >>= in * 8U;
	*val = bytes == 4U ? v : (v & ((1U << (bytes * 8U)) - 1U));
	if (in + size > 4U || (reg == MMIO_IOWIN && size != 4U))
		ioapic_guest_error(ioapic, VIRQ_GERR_MMIO_SIZE);
	return 0;
}

VIRQ_API int virq_ioapic_mmio_write(struct virq_ioapic *ioapic, uint32_t offset, unsigned size,
				    uint64_t val)
{
	uint32_t in, mask;
	bool outer;

	if (!mmio_args_ok(offset, size))
		return -VIRQ_EINVAL;
	outer = ioapic_enter(ioapic);
	switch (ioapic_mmio_decode(ioapic, offset, &in)) {
	case MMIO_IOREGSEL:
		if (in + size > 4U) {
			ioapic_guest_error(ioapic, VIRQ_GERR_MMIO_SIZE);
			break;
		}
		/* Byte lanes merge; only bits 7:0 are kept (31:8 reserved). */
		mask = size == 4U ? 0xFFFFFFFFU : (((1U << (size * 8U)) - 1U) << (in * 8U));
		ioapic->ioregsel =
			((ioapic->ioregsel & ~mask) | (((uint32_t)val << (in * 8U)) & mask)) &
			IOAPIC_IOREGSEL_MASK;
		break;
	case MMIO_IOWIN:
		if (size != 4U || in) {
			/* QEMU ignores IOWIN accesses of size != 4. */
			ioapic_guest_error(ioapic, VIRQ_GERR_MMIO_SIZE);
			break;
		}
		ioapic_write_indirect(ioapic, (uint32_t)val);
		break;
	case MMIO_EOI:
		if (size != 4U || in) {
			ioapic_guest_error(ioapic, VIRQ_GERR_MMIO_SIZE);
			break;
		}
		/* PCH datasheet, EOI register: "checks the lower 8 bits written". */
		virq_ioapic_eoi(ioapic, (uint8_t)(val & 0xFFU));
		break;
	default:
		ioapic_guest_error(ioapic, VIRQ_GERR_RESERVED_REG);
		break;
	}
	ioapic_leave(ioapic, outer);
	return 0;
}

VIRQ_API int virq_ioapic_get_rte(const struct virq_ioapic *ioapic, unsigned pin, uint64_t *rte)
{
	if (!ioapic || !rte || pin >= ioapic->cfg.pins)
		return -VIRQ_EINVAL;
	*rte = ioapic->rte[pin];
	return 0;
}

/*
 * SDM 10.11 "Message Signalled Interrupts" (as QEMU's ioapic_entry_parse): the
 * entry becomes the MSI write the hardware forwards. A remappable entry (bit
 * 48) is sent the same way: its bits 63:49 and 11 then hold the IRTE handle,
 * and the address carries it exactly where the VT-d remappable MSI format
 * expects it (handle[14:0] in address 19:5, format bit 4, handle[15] in bit 2).
 */
VIRQ_API void virq_ioapic_rte_to_msi(uint64_t rte, uint64_t *addr, uint32_t *data)
{
	uint64_t a = 0xFEE00000ULL;
	uint32_t d;

	a |= ((rte >> VIRQ_IOAPIC_RTE_DEST_SHIFT) & 0xFFU) << 12;
	a |= ((rte >> VIRQ_IOAPIC_RTE_EXT_DEST_SHIFT) & 0xFFU) << 4;
	if (rte & VIRQ_IOAPIC_RTE_DEST_LOGICAL)
		a |= 1ULL << 2;
	d = (uint32_t)(rte & (VIRQ_IOAPIC_RTE_VECTOR_MASK | VIRQ_IOAPIC_RTE_DM_MASK));
	if (rte & VIRQ_IOAPIC_RTE_LEVEL)
		d |= (1U << 15) | (1U << 14); /* level trigger, assert */
	if (addr)
		*addr = a;
	if (data)
		*data = d;
}

/*
 * The same message as virq_msi_decode() of virq_ioapic_rte_to_msi(), read
 * straight from the entry: the address is always below 4 GiB, in the window,
 * with RH clear (entry bits 55:48 land in address bits 11:4), so only the
 * format bit (48) and the extended destination (55:49, address 11:5) depend
 * on @flags; the data of a level entry always asserts.
 */
VIRQ_API int virq_ioapic_rte_to_msg(uint64_t rte, unsigned flags, struct virq_apic_msg *out)
{
	uint32_t dest;

	if (!out || (flags & ~(IOAPIC_MSI_EXT_DEST | IOAPIC_MSI_ADDR_HI_DEST)))
		return -VIRQ_EINVAL;
	if (rte & VIRQ_IOAPIC_RTE_REMAPPABLE)
		return IOAPIC_MSI_REMAPPABLE;
	dest = (uint32_t)(rte >> VIRQ_IOAPIC_RTE_DEST_SHIFT);
	if (flags & IOAPIC_MSI_EXT_DEST)
		dest |= (uint32_t)((rte >> (VIRQ_IOAPIC_RTE_EXT_DEST_SHIFT + 1)) & 0x7FU) << 8;
	virq_memset(out, 0, sizeof(*out));
	out->dest = dest;
	out->src = VIRQ_MSG_SRC_NONE;
	out->vector = (uint8_t)(rte & VIRQ_IOAPIC_RTE_VECTOR_MASK);
	out->delivery = (uint8_t)((rte & VIRQ_IOAPIC_RTE_DM_MASK) >> VIRQ_IOAPIC_RTE_DM_SHIFT);
	out->shorthand = VIRQ_SH_NONE;
	out->logical = (rte & VIRQ_IOAPIC_RTE_DEST_LOGICAL) != 0;
	out->level = true;
	out->trigger_level = (rte & VIRQ_IOAPIC_RTE_LEVEL) != 0;
	out->x2apic = flags != 0;
	return 0;
}
