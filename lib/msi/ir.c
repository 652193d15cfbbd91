/* SPDX-License-Identifier: MIT */
/*
 * VT-d interrupt remapping of a write to the interrupt window: handle and
 * subhandle to an IRTE index, the IRTE read through the embedder, its
 * checks, and the remapped or posted result (VT-d spec 5.1.2.2, 5.1.3,
 * 5.1.5.1, and the IRTE formats for remapped and posted interrupts).
 *
 * Order of the checks follows QEMU's vtd_interrupt_remap_msi/vtd_irte_get:
 * request, index, read, present, reserved bits, source ID. The faults
 * detected after the entry was read (0x22 not present, 0x24 reserved,
 * 0x26 source ID) are the "qualified" ones that IRTE.FPD suppresses, so
 * out->fpd is reported for them only (and for successes).
 */
#include "msi_priv.h"

#define IR_ADDR_WINDOW_MASK 0xFFF00000ULL
#define IR_ADDR_HANDLE_SHIFT 5
#define IR_ADDR_HANDLE_MASK 0x7FFFULL
#define IR_DATA_SUBHANDLE_MASK 0xFFFFU
#define IR_DATA_RSVD 0xFFFF0000U
#define IR_MAX_ENTRIES 65536U

/* SQ: requester-ID bits compared for SVT = 01 (QEMU vtd_irte_get). */
static const uint16_t ir_sq_mask[4] = { 0xFFFFU, 0xFFFBU, 0xFFF9U, 0xFFF8U };

static void ir_block(struct virq_ir_result *out, enum virq_ir_fault fault)
{
	out->kind = VIRQ_IR_BLOCKED;
	out->fault = fault;
}

/* Source validation (VT-d spec, IRTE for Remapped Interrupts: SID, SQ, SVT;
 * the SQ masks are QEMU's vtd_irte_get()). true when the requester passes. */
static bool ir_sid_ok(uint64_t hi, uint16_t requester_id)
{
	uint16_t sid = (uint16_t)(hi & IRTE_SID_MASK);
	unsigned sq = (unsigned)(hi >> IRTE_SQ_SHIFT) & 3U;
	unsigned svt = (unsigned)(hi >> IRTE_SVT_SHIFT) & 3U;
	unsigned bus = requester_id >> 8;

	switch (svt) {
	case IRTE_SVT_NONE:
		return true;
	case IRTE_SVT_SID:
		return ((requester_id ^ sid) & ir_sq_mask[sq]) == 0;
	case IRTE_SVT_BUS:
		/*
		 * Start bus in SID[15:8], end bus in SID[7:0], as Linux
		 * set_irte_verify_bus() and Xen write it (QEMU reads it the
		 * other way round, a QEMU deviation not copied here).
		 */
		return (unsigned)(sid >> 8) <= bus && bus <= (unsigned)(sid & 0xFFU);
	default:
		return false; /* SVT = 11 is reserved; QEMU fails it too */
	}
}

/* Reserved-bit check of an IRTE with P = 1 (VT-d spec, IRTE for Remapped
 * Interrupts and IRTE for Posted Interrupts). */
static bool ir_irte_reserved(const struct virq_ir_config *cfg, uint64_t lo, uint64_t hi)
{
	unsigned dlm;

	if (lo & IRTE_IM) {
		/* IM is reserved when the IOMMU cannot post (CAP.PI = 0). */
		if (!cfg->posting)
			return true;
		return (lo & IRTE_POST_RSVD_LO) || (hi & IRTE_POST_RSVD_HI);
	}
	if ((lo & IRTE_REMAP_RSVD_LO) || (hi & IRTE_REMAP_RSVD_HI))
		return true;
	if (!cfg->eime && (lo & IRTE_REMAP_RSVD_LO_XAPIC))
		return true;
	/* DLM 011 and 110 are reserved encodings. */
	dlm = (unsigned)(lo >> IRTE_DLM_SHIFT) & IRTE_DLM_MASK;
	return dlm == VIRQ_DM_RESERVED3 || dlm == VIRQ_DM_STARTUP;
}

static void ir_remapped(const struct virq_ir_config *cfg, uint64_t lo, struct virq_ir_result *out)
{
	struct virq_apic_msg *m = &out->msg;
	uint32_t dst = (uint32_t)(lo >> IRTE_DST_SHIFT);
	unsigned dlm = (unsigned)(lo >> IRTE_DLM_SHIFT) & IRTE_DLM_MASK;

	/* Same RH rule as a compatibility MSI (see decode.c). */
	if ((lo & IRTE_RH) && dlm == VIRQ_DM_FIXED)
		dlm = VIRQ_DM_LOWEST;
	out->kind = VIRQ_IR_REMAPPED;
	/* xAPIC mode: the 8-bit APIC ID sits in DST[15:8] (Linux IRTE_DEST). */
	m->dest = cfg->eime ? dst : (dst >> 8) & 0xFFU;
	m->vector = (uint8_t)((lo >> IRTE_VECTOR_SHIFT) & IRTE_VECTOR_MASK);
	m->delivery = (uint8_t)dlm;
	m->logical = (lo & IRTE_DM) != 0;
	m->trigger_level = (lo & IRTE_TM) != 0;
	m->level = true; /* remapped requests are asserts */
	m->x2apic = cfg->eime;
}

static void ir_posted(uint64_t lo, uint64_t hi, struct virq_ir_result *out)
{
	out->kind = VIRQ_IR_POSTED;
	out->vector = (uint8_t)((lo >> IRTE_VECTOR_SHIFT) & IRTE_VECTOR_MASK);
	out->urgent = (lo & IRTE_URG) != 0;
	/* PDA_L (bits 63:38) is address bits 31:6, PDA_H (127:96) bits 63:32. */
	out->pda = ((hi >> IRTE_PDA_H_SHIFT) << 32) | ((lo >> IRTE_PDA_L_SHIFT) << 6);
}

static void ir_remappable(const struct virq_ir_config *cfg, uint64_t addr, uint32_t data,
			  uint16_t requester_id, virq_ir_read_fn read, void *ctx,
			  struct virq_ir_result *out)
{
	uint64_t irte[2] = { 0, 0 };
	uint32_t index;

	if (data & IR_DATA_RSVD) {
		ir_block(out, VIRQ_IR_FAULT_REQ_RESERVED);
		return;
	}
	/*
	 * VT-d 5.1.3: handle = addr[19:5] | addr[2] << 15; with SHV the
	 * subhandle is added. The sum is up to 17 bits and is not wrapped:
	 * anything past the table faults rather than aliasing a low entry.
	 */
	index = (uint32_t)((addr >> IR_ADDR_HANDLE_SHIFT) & IR_ADDR_HANDLE_MASK);
	if (addr & VIRQ_MSI_ADDR_IR_HANDLE15)
		index |= 1U << 15;
	if (addr & VIRQ_MSI_ADDR_IR_SHV)
		index += data & IR_DATA_SUBHANDLE_MASK;
	out->index = index;
	if (index >= cfg->table_entries) {
		ir_block(out, VIRQ_IR_FAULT_INDEX);
		return;
	}
	if (read(ctx, index, irte) != 0) {
		ir_block(out, VIRQ_IR_FAULT_READ);
		return;
	}
	out->fpd = (irte[0] & IRTE_FPD) != 0;
	if (!(irte[0] & IRTE_P)) {
		ir_block(out, VIRQ_IR_FAULT_NOT_PRESENT);
		return;
	}
	if (ir_irte_reserved(cfg, irte[0], irte[1])) {
		ir_block(out, VIRQ_IR_FAULT_RESERVED);
		return;
	}
	if (!ir_sid_ok(irte[1], requester_id)) {
		ir_block(out, VIRQ_IR_FAULT_SID);
		return;
	}
	if (irte[0] & IRTE_IM)
		ir_posted(irte[0], irte[1], out);
	else
		ir_remapped(cfg, irte[0], out);
}

int virq_ir_translate(const struct virq_ir_config *cfg, uint64_t addr, uint32_t data,
		      uint16_t requester_id, virq_ir_read_fn read, void *ctx,
		      struct virq_ir_result *out)
{
	if (!cfg || !read || !out)
		return -VIRQ_EINVAL;
	if (!VIRQ_SIZE_ACCEPTED(cfg->size, VIRQ_IR_CONFIG_SIZE_MIN, struct virq_ir_config))
		return -VIRQ_EVERSION;
	if (cfg->reserved || cfg->table_entries < 1 || cfg->table_entries > IR_MAX_ENTRIES)
		return -VIRQ_EINVAL;
	if ((addr & IR_ADDR_WINDOW_MASK) != VIRQ_MSI_ADDR_BASE)
		return -VIRQ_ENOENT;

	virq_memset(out, 0, sizeof(*out));
	out->msg.src = VIRQ_MSG_SRC_NONE;
	out->msg.shorthand = VIRQ_SH_NONE;

	/* Interrupt requests carry a 32-bit address (QEMU checks this first). */
	if (addr >> 32) {
		ir_block(out, VIRQ_IR_FAULT_REQ_RESERVED);
		return 0;
	}
	if (addr & VIRQ_MSI_ADDR_REMAPPABLE) {
		ir_remappable(cfg, addr, data, requester_id, read, ctx, out);
		return 0;
	}
	/*
	 * Compatibility format: passed through only with GCMD.CFI set and
	 * extended interrupt mode off (VT-d spec, Global Command Register, CFI);
	 * otherwise blocked.
	 */
	if (!cfg->cfi || cfg->eime) {
		ir_block(out, VIRQ_IR_FAULT_COMPAT);
		return 0;
	}
	if (virq_msi_decode(addr, data, 0, &out->msg) != 0) {
		/* Unreachable: window, high bits and format were checked above. */
		VIRQ_ASSERT(0);
		ir_block(out, VIRQ_IR_FAULT_REQ_RESERVED);
		return 0;
	}
	out->kind = VIRQ_IR_COMPAT;
	return 0;
}
