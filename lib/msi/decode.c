/* SPDX-License-Identifier: MIT */
/*
 * Compatibility-format MSI: address/data to a virq_apic_msg and back
 * (SDM 3A 10.11.1 "Message Address Register Format" to 10.11.2 "Message Data
 * Register Format"; the extended destination ID is the KVM/Xen/Hyper-V
 * convention, not Intel's).
 */
#include "msi_priv.h"

#define MSI_FLAGS_ALL (VIRQ_MSI_EXT_DEST | VIRQ_MSI_ADDR_HI_DEST)

#define MSI_ADDR_WINDOW_MASK 0xFFF00000ULL
#define MSI_ADDR_DEST_MASK 0xFFULL
#define MSI_ADDR_EXT_DEST_MASK 0x7FULL
/* address_hi[31:8] = dest[31:8]; address_hi[7:0] must be zero. */
#define MSI_ADDR_HI_DEST_SHIFT 40
#define MSI_ADDR_HI_RSVD 0x000000FF00000000ULL
#define MSI_DATA_DLM_MASK 0x7U

int virq_msi_decode(uint64_t addr, uint32_t data, unsigned flags, struct virq_apic_msg *out)
{
	uint32_t dest, dlm;

	if (!out || (flags & ~MSI_FLAGS_ALL))
		return -VIRQ_EINVAL;
	if ((addr & MSI_ADDR_WINDOW_MASK) != VIRQ_MSI_ADDR_BASE)
		return -VIRQ_ENOENT;
	if (flags & VIRQ_MSI_ADDR_HI_DEST) {
		/* KVM refuses such a route (kvm_msi_route_invalid). */
		if (addr & MSI_ADDR_HI_RSVD)
			return -VIRQ_ENOENT;
	} else if (addr >> 32) {
		return -VIRQ_ENOENT; /* a memory write above 4 GiB, not an interrupt */
	}
	if (addr & VIRQ_MSI_ADDR_REMAPPABLE)
		return VIRQ_MSI_REMAPPABLE;

	dest = (uint32_t)((addr >> VIRQ_MSI_ADDR_DEST_SHIFT) & MSI_ADDR_DEST_MASK);
	if (flags & VIRQ_MSI_EXT_DEST)
		dest |= (uint32_t)((addr >> VIRQ_MSI_ADDR_EXT_DEST_SHIFT) & MSI_ADDR_EXT_DEST_MASK)
			<< 8;
	if (flags & VIRQ_MSI_ADDR_HI_DEST)
		dest |= (uint32_t)(addr >> MSI_ADDR_HI_DEST_SHIFT) << 8;

	dlm = (data >> VIRQ_MSI_DATA_DM_SHIFT) & MSI_DATA_DLM_MASK;
	/*
	 * SDM 10.11.1 "Message Address Register Format" calls RH=1
	 * "lowest-priority redirection among the destinations"; KVM
	 * (kvm_lowest_prio_delivery via msi_redir_hint) arbitrates such a
	 * Fixed message as lowest priority. The message has no RH field,
	 * so that is the only mode it changes.
	 */
	if ((addr & VIRQ_MSI_ADDR_RH) && dlm == VIRQ_DM_FIXED)
		dlm = VIRQ_DM_LOWEST;

	virq_memset(out, 0, sizeof(*out));
	out->dest = dest;
	out->src = VIRQ_MSG_SRC_NONE;
	out->vector = (uint8_t)(data & VIRQ_MSI_DATA_VECTOR_MASK);
	out->delivery = (uint8_t)dlm;
	out->shorthand = VIRQ_SH_NONE;
	/* The SDM says DM is ignored when RH=0; every implementation honours it. */
	out->logical = (addr & VIRQ_MSI_ADDR_DM_LOGICAL) != 0;
	out->trigger_level = (data & VIRQ_MSI_DATA_TRIGGER_LEVEL) != 0;
	/*
	 * Bit 14 only means something for a level-triggered message (SDM
	 * 10.11.2 "Message Data Register Format"); Linux leaves it 0 for edge
	 * MSIs, so an edge message is an assert. A level de-assert still
	 * decodes: routing drops it, as KVM's __apic_accept_irq drops
	 * trig_mode && !level.
	 */
	out->level = out->trigger_level ? (data & VIRQ_MSI_DATA_LEVEL_ASSERT) != 0 : true;
	out->x2apic = (flags & MSI_FLAGS_ALL) != 0;
	return 0;
}

int virq_msi_encode(const struct virq_apic_msg *msg, unsigned flags, uint64_t *addr, uint32_t *data)
{
	uint64_t a = VIRQ_MSI_ADDR_BASE;
	uint32_t d, dest;
	uint32_t dlm;

	if (!msg || !addr || !data || (flags & ~MSI_FLAGS_ALL))
		return -VIRQ_EINVAL;
	if (msg->shorthand != VIRQ_SH_NONE || msg->delivery > MSI_DATA_DLM_MASK)
		return -VIRQ_EINVAL;

	dest = msg->dest;
	if (dest > 0xFFU) {
		if ((flags & VIRQ_MSI_EXT_DEST) && dest <= 0x7FFFU)
			a |= (uint64_t)(dest >> 8) << VIRQ_MSI_ADDR_EXT_DEST_SHIFT;
		else if (flags & VIRQ_MSI_ADDR_HI_DEST)
			a |= (uint64_t)(dest >> 8) << MSI_ADDR_HI_DEST_SHIFT;
		else
			return -VIRQ_EINVAL;
	}
	a |= (uint64_t)(dest & 0xFFU) << VIRQ_MSI_ADDR_DEST_SHIFT;
	if (msg->logical)
		a |= VIRQ_MSI_ADDR_DM_LOGICAL;
	dlm = msg->delivery;
	if (dlm == VIRQ_DM_LOWEST)
		a |= VIRQ_MSI_ADDR_RH;

	d = msg->vector | (dlm << VIRQ_MSI_DATA_DM_SHIFT);
	if (msg->level)
		d |= VIRQ_MSI_DATA_LEVEL_ASSERT;
	if (msg->trigger_level)
		d |= VIRQ_MSI_DATA_TRIGGER_LEVEL;
	*addr = a;
	*data = d;
	return 0;
}
