/* SPDX-License-Identifier: MIT */
/*
 * What fuzz-vm and fuzz-vm-restore expect the VM's destination map to hold
 * for a LAPIC (lib/vm/vm_priv.h, "Map invariants"), restated here from the
 * LAPIC's registers rather than taken from the library.
 */
#ifndef VIRQ_FUZZ_VM_KEYS_H
#define VIRQ_FUZZ_VM_KEYS_H

#include <virq/lapic.h>

#include "vm/vm_priv.h"

/* The map key of enabled LAPIC @l, restated from its registers: ID and
 * mode, and in xAPIC mode its logical ID (LDR 31:24) and DFR model. */
static inline uint64_t expected_key(const struct virq_lapic *l)
{
	uint32_t dfr = virq_lapic_read_reg(l, VIRQ_LAPIC_REG_DFR) >> 28;
	uint64_t key = VM_KEY_VALID | virq_lapic_get_id(l);

	if (virq_lapic_get_mode(l) != VIRQ_LAPIC_MODE_XAPIC)
		return key;
	key |= VM_KEY_XAPIC | (uint64_t)(virq_lapic_read_reg(l, VIRQ_LAPIC_REG_LDR) >> 24)
				      << VM_KEY_LDR_SHIFT;
	if (dfr == 0xFU)
		key |= (uint64_t)VM_MODEL_FLAT << VM_KEY_MODEL_SHIFT;
	else if (dfr == 0U)
		key |= (uint64_t)VM_MODEL_CLUSTER << VM_KEY_MODEL_SHIFT;
	return key;
}

#endif /* VIRQ_FUZZ_VM_KEYS_H */
