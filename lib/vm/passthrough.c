/* SPDX-License-Identifier: MIT */
/*
 * LAPIC passthrough as ACRN does it (hypervisor/arch/x86/guest/vlapic.c,
 * vlapic_x2apic_pt_icr_access): the guest's x2APIC ICR writes, trapped,
 * resolved against the virtual IDs of the emulated LAPICs and rewritten
 * with physical destinations (SDM 10.12.9 "ICR Operation in x2APIC Mode",
 * 10.12.10 "Determining IPI Destination in x2APIC Mode", 10.6.1
 * "Interrupt Command Register (ICR)"); the virtual ID and LDR reads.
 */
#include <virq/passthrough.h>

#include "vm_priv.h"

/* x2APIC ICR bits 31:20, 17:16 and 13: a WRMSR setting one faults. */
#define PT_ICR_RSVD 0xFFF32000ULL
/* What a target's physical ICR keeps of the guest's: vector, delivery
 * mode, level, trigger (no shorthand, physical destination mode). */
#define PT_ICR_KEEP                                                                                \
	(VIRQ_ICR_VECTOR_MASK | VIRQ_ICR_DM_MASK | VIRQ_ICR_LEVEL_ASSERT | VIRQ_ICR_TRIGGER_LEVEL)

#define PT_MSR_ID 0x802U
#define PT_MSR_LDR 0x80DU
#define PT_MSR_ICR 0x830U

/* SDM Table 10-3 "Valid Combinations for the Pentium 4 and Intel Xeon
 * Processors' Local xAPIC Interrupt Command Register", as the LAPIC's own
 * ICR path applies it (lib/lapic/ipi.c). */
static bool pt_combination_valid(uint32_t dm, uint32_t sh)
{
	if (sh == VIRQ_SH_SELF || sh == VIRQ_SH_ALL_INCL_SELF)
		return dm == VIRQ_DM_FIXED;
	return dm == VIRQ_DM_FIXED || dm == VIRQ_DM_LOWEST || dm == VIRQ_DM_SMI ||
	       dm == VIRQ_DM_NMI || dm == VIRQ_DM_INIT || dm == VIRQ_DM_STARTUP;
}

/* Fills @t for vCPU @i with virtual ID @vid; false when the translation
 * fails or names the physical broadcast. */
static bool pt_target(struct virq_pt_target *t, uint32_t i, uint32_t vid, uint64_t keep,
		      uint32_t action, virq_pt_phys_id_fn phys_id, void *ctx)
{
	uint32_t p = 0xFFFFFFFFU;

	if (phys_id(ctx, i, vid, &p) < 0 || p == 0xFFFFFFFFU)
		return false;
	t->icr = (uint64_t)p << 32 | keep;
	t->vcpu = i;
	t->phys_id = p;
	t->action = action;
	t->reserved = 0;
	return true;
}

VIRQ_API int virq_pt_icr_write(struct virq_vm *vm, uint32_t sender, uint64_t icr,
			       virq_pt_phys_id_fn phys_id, void *ctx, struct virq_pt_target *out,
			       uint32_t max, uint32_t *n)
{
	const struct virq_lapic *self;
	uint64_t keep = icr & PT_ICR_KEEP;
	uint32_t dm = (uint32_t)((icr & VIRQ_ICR_DM_MASK) >> VIRQ_ICR_DM_SHIFT);
	uint32_t sh = (uint32_t)((icr & VIRQ_ICR_SH_MASK) >> VIRQ_ICR_SH_SHIFT);
	uint32_t vector = (uint32_t)(icr & VIRQ_ICR_VECTOR_MASK);
	uint32_t dest = (uint32_t)(icr >> VIRQ_ICR_DEST_SHIFT_X2APIC), count = 0, action;
	bool logical = (icr & VIRQ_ICR_DEST_LOGICAL) != 0;

	if (n)
		*n = 0;
	if (!vm || !phys_id || !out || !n || sender >= vm->cfg.nr_vcpus || max < vm->cfg.nr_vcpus)
		return -VIRQ_EINVAL;
	self = vm_vcpu(vm, sender);
	if (!self)
		return -VIRQ_EINVAL;
	if (virq_lapic_get_mode(self) != VIRQ_LAPIC_MODE_X2APIC)
		return -VIRQ_ESTATEMODE;
	if (icr & PT_ICR_RSVD)
		return VIRQ_GP;

	/* Errors the sending APIC detects (SDM 10.5.3 "Error Handling"): the
	 * physical one latches them in the ESR the guest reads, so the write
	 * goes to it, aimed at the sender's own CPU; nothing is delivered.
	 * Lowest priority first: it takes precedence over an illegal vector. */
	if (dm == VIRQ_DM_LOWEST || (dm == VIRQ_DM_FIXED && vector < 16U)) {
		if (!pt_target(&out[0], sender, virq_lapic_get_id(self), keep, VIRQ_PT_ERROR,
			       phys_id, ctx))
			return -VIRQ_ENOENT;
		*n = 1;
		return 0;
	}
	/* Ignored: an invalid combination, SMI (not the guest's to send), an
	 * INIT level de-assert (P4 and later neither send nor act on it). */
	if (!pt_combination_valid(dm, sh) || dm == VIRQ_DM_SMI ||
	    (dm == VIRQ_DM_INIT && !(icr & VIRQ_ICR_LEVEL_ASSERT) &&
	     (icr & VIRQ_ICR_TRIGGER_LEVEL)))
		return 0;
	action = dm == VIRQ_DM_INIT      ? VIRQ_PT_INIT
		 : dm == VIRQ_DM_STARTUP ? VIRQ_PT_SIPI
					 : VIRQ_PT_SEND;

	for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++) {
		const struct virq_lapic *l = vm_vcpu(vm, i);
		bool hit;

		if (!l || virq_lapic_get_mode(l) == VIRQ_LAPIC_MODE_DISABLED)
			continue;
		switch (sh) {
		case VIRQ_SH_SELF:
			hit = i == sender;
			break;
		case VIRQ_SH_ALL_INCL_SELF:
			hit = true;
			break;
		case VIRQ_SH_ALL_EXCL_SELF:
			hit = i != sender;
			break;
		default:
			hit = virq_lapic_match_dest(l, dest, logical);
			break;
		}
		if (!hit)
			continue;
		if (!pt_target(&out[count], i, virq_lapic_get_id(l), keep, action, phys_id, ctx))
			return -VIRQ_ENOENT;
		count++;
	}
	*n = count;
	return 0;
}

VIRQ_API int virq_pt_rdmsr(struct virq_lapic *vlapic, uint32_t msr, uint64_t *val)
{
	if (!vlapic || !val)
		return -VIRQ_EINVAL;
	if (msr != PT_MSR_ID && msr != PT_MSR_LDR)
		return -VIRQ_ENOENT;
	/* The emulated LAPIC's own x2APIC MSR read: its ID and derived LDR,
	 * #GP outside x2APIC mode. */
	return virq_lapic_msr_read(vlapic, msr, val);
}

VIRQ_API bool virq_pt_msr_intercepted(uint32_t msr, bool write)
{
	if (write)
		return msr == PT_MSR_ICR;
	return msr == PT_MSR_ID || msr == PT_MSR_LDR;
}
