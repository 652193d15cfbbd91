/* SPDX-License-Identifier: MIT */
/*
 * What the files of lib/vm share and nobody else sees.
 *
 * Map invariants (changed only under ops->lock, inside a map_seq write
 * section; vm_check_invariants() recomputes them for tests and fuzzers):
 *  - map_key[i] is VM_KEY_NONE for an absent or globally disabled LAPIC,
 *    else VM_KEY_VALID | (xAPIC mode ? VM_KEY_XAPIC : 0) | its APIC ID as
 *    virq_lapic_get_id() returned it at its last virq_vm_update_vcpu();
 *  - for every ID k < map_entries, with h the number of vCPUs whose key
 *    has ID k (in either mode: an xAPIC ID 5 and an x2APIC ID 5 both
 *    answer physical destination 5), map[k] is VIRQ_VM_NO_VCPU when h = 0,
 *    the index of that vCPU when h = 1, and VM_SLOT_SHARED when h >= 2
 *    (readers then scan: only deliveries that look slot k up pay for it);
 *  - nr_xapic = number of vCPUs whose key has VM_KEY_XAPIC;
 *  - nr_wide = number of x2APIC-mode vCPUs with an ID of 2^20 or more
 *    (their LDR cluster, 16 bits, no longer gives back the ID).
 */
#ifndef VIRQ_LIB_VM_PRIV_H
#define VIRQ_LIB_VM_PRIV_H

#include <virq/vm.h>

/* map_key encoding */
#define VM_KEY_NONE 0ULL
#define VM_KEY_VALID (1ULL << 32)
#define VM_KEY_XAPIC (1ULL << 33)
#define VM_KEY_ID(k) ((uint32_t)(k))
/* An x2APIC ID whose logical ID does not give it back (cluster overflow). */
#define VM_KEY_WIDE(k) (!((k)&VM_KEY_XAPIC) && VM_KEY_ID(k) > 0xFFFFFU)

/* Map slot of an ID two or more enabled vCPUs hold; never a vCPU index. */
#define VM_SLOT_SHARED 0x80000000U
VIRQ_STATIC_ASSERT(VIRQ_VM_MAX_VCPUS < VM_SLOT_SHARED, "a vCPU index is never VM_SLOT_SHARED");

/* ir_word encoding: table_entries in 16:0, flags above */
#define VM_IR_ENTRIES_MASK 0x1FFFFULL
#define VM_IR_ENABLED (1ULL << 32)
#define VM_IR_EIME (1ULL << 33)
#define VM_IR_CFI (1ULL << 34)
#define VM_IR_POSTING (1ULL << 35)

/* Reader retries of the map sequence before falling back to a scan. */
#define VM_SEQ_TRIES 64U

static inline uint32_t vm_load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void vm_store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t vm_load_key(const struct virq_vm *vm, uint32_t index)
{
	return __atomic_load_n(&vm->map_key[index], __ATOMIC_RELAXED);
}

/* vCPU @index's LAPIC, or NULL; set_vcpu publishes with a release store. */
static inline struct virq_lapic *vm_vcpu(const struct virq_vm *vm, uint32_t index)
{
	return __atomic_load_n(&vm->vcpus[index], __ATOMIC_ACQUIRE);
}

static inline void vm_lock(const struct virq_vm *vm)
{
	vm->ops->lock(vm->ctx);
}

static inline void vm_unlock(const struct virq_vm *vm)
{
	vm->ops->unlock(vm->ctx);
}

uint64_t vm_ir_pack(bool enabled, const struct virq_ir_config *ir);
/* Re-keys vCPU @index from its LAPIC's current ID and mode. Under the lock. */
void vm_map_update(struct virq_vm *vm, uint32_t index);
/* Map defaults and the PC GSI layout; no validation. */
void vm_gsi_init(struct virq_vm *vm);

/* Recomputes every map invariant above; 0 when they hold. Lock held or the
 * VM quiescent. For tests and fuzzers. */
int vm_check_invariants(const struct virq_vm *vm);

#endif /* VIRQ_LIB_VM_PRIV_H */
