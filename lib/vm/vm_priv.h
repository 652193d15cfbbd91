/* SPDX-License-Identifier: MIT */
/*
 * What the files of lib/vm share and nobody else sees.
 *
 * Map invariants (changed only under ops->lock, inside a map_seq write
 * section; vm_check_invariants() recomputes them for tests and fuzzers):
 *  - map_key[i] (the key; below, its list link aside) is VM_KEY_NONE for
 *    an absent or globally disabled LAPIC, else VM_KEY_VALID | (xAPIC mode
 *    ? VM_KEY_XAPIC : 0) | its APIC ID as virq_lapic_get_id() returned it
 *    at its last virq_vm_update_vcpu(), and in xAPIC mode also its logical
 *    ID (LDR bits 31:24) and DFR model (flat, cluster, or 0 for any other
 *    value) as the LAPIC's registers held them then; bits 43:34 are 0 in
 *    an x2APIC key;
 *  - for every ID k < map_entries, with h the number of vCPUs whose key
 *    has ID k (in either mode: an xAPIC ID 5 and an x2APIC ID 5 both
 *    answer physical destination 5), map[k] is VIRQ_VM_NO_VCPU when h = 0,
 *    the index of that vCPU when h = 1, and VM_SLOT_SHARED when h >= 2
 *    (readers then scan: only deliveries that look slot k up pay for it);
 *  - nr_xapic = number of vCPUs whose key has VM_KEY_XAPIC;
 *  - the xAPIC list holds exactly those vCPUs, each once: xapic_head is 0
 *    when nr_xapic is 0, else the index of one of them plus one, and the
 *    VM_KEY_NEXT() field of each of them names the next one the same way,
 *    0 in the last; the walk from xapic_head visits nr_xapic vCPUs and
 *    ends (no cycle). VM_KEY_NEXT() is 0 in every other key, and bits
 *    47:44 of every key are 0 (map_key[i] & VM_KEY_DEST_MASK is the key
 *    proper). The order is that of insertion, newest first; removal
 *    walks the list (O(nr_xapic), updates are rare);
 *  - nr_wide = number of x2APIC-mode vCPUs with an ID of 2^20 or more
 *    (their LDR cluster, 16 bits, no longer gives back the ID);
 *    nr_x2apic = number of vCPUs whose key is valid without VM_KEY_XAPIC;
 *  - the xAPIC logical map: for each slot s of xlog (VM_XLOG_SLOTS), with
 *    h the number of xAPIC keys that occupy s (flat model: slot b < 8 for
 *    each set bit b of the logical ID; cluster model: slot VM_XLOG_CLUSTER
 *    + cluster * 4 + m for each set member bit m; other models: none),
 *    xlog[s] is VM_XLOG_NONE when h = 0, that vCPU's index when h = 1,
 *    VM_XLOG_SHARED when h >= 2 (deliveries naming s then take the list,
 *    or scan); bit s of xlog_on (word s / 64, bit s % 64) is set exactly
 *    when xlog[s] is not VM_XLOG_NONE, so a reader looks up only the
 *    slots that hold something. A key with several bits occupies several
 *    slots; a reader appends its vCPU from the slot of its lowest bit in
 *    the destination only, so it is a candidate once.
 *
 * Readers (route.c) load map, map_key, nr_xapic, nr_wide, nr_x2apic, xlog,
 * xlog_on and xapic_head (relaxed atomics) between an acquire load of
 * map_seq and an acquire fence followed by a second load, and keep the
 * result only when both loads saw the same even value. No write section
 * then overlapped their loads (vm.c pairs the odd store with a release
 * fence, the even one is a release store), so all of them come from the
 * state between two sections, where every invariant above holds at once.
 * In such a snapshot the xAPIC list is complete: a walk of nr_xapic links
 * from xapic_head finds every vCPU whose key says xAPIC mode, which is
 * what lets a logical delivery or an xAPIC broadcast check those vCPUs
 * instead of all of them (a vCPU joins the list when virq_vm_update_vcpu()
 * follows its mode change, as it joins the map). Loads from a torn
 * snapshot are bounded (indices against nr_vcpus, walks against nr_xapic)
 * and thrown away. A physical broadcast takes its targets from one
 * snapshot (the valid keys, or the list and slot 0xFF) and posts to them
 * without asking each LAPIC to match: the keys are its match.
 */
#ifndef VIRQ_LIB_VM_PRIV_H
#define VIRQ_LIB_VM_PRIV_H

#include <virq/vm.h>
#include <virq/version.h>

/* map_key encoding */
#define VM_KEY_NONE 0ULL
#define VM_KEY_VALID (1ULL << 32)
#define VM_KEY_XAPIC (1ULL << 33)
#define VM_KEY_ID(k) ((uint32_t)(k))
/* xAPIC keys only: the logical APIC ID, LDR bits 31:24, and the DFR model. */
#define VM_KEY_LDR_SHIFT 34
#define VM_KEY_LDR(k) ((uint32_t)((k) >> VM_KEY_LDR_SHIFT) & 0xFFU)
#define VM_KEY_MODEL_SHIFT 42
#define VM_KEY_MODEL(k) ((uint32_t)((k) >> VM_KEY_MODEL_SHIFT) & 3U)
#define VM_MODEL_FLAT 1U    /* DFR[31:28] = 0xF */
#define VM_MODEL_CLUSTER 2U /* DFR[31:28] = 0x0 */
/* 0: any other model (no logical destination matches) */
/* The key proper (ID, VM_KEY_VALID, VM_KEY_XAPIC, LDR, model), without the
 * list link. */
#define VM_KEY_DEST_MASK ((1ULL << 44) - 1U)
/* xAPIC list link of an xAPIC-mode key: next vCPU index + 1, 0 for none. */
#define VM_KEY_NEXT_SHIFT 48
#define VM_KEY_NEXT_MASK (0xFFFFULL << VM_KEY_NEXT_SHIFT)
#define VM_KEY_NEXT(k) ((uint32_t)((k) >> VM_KEY_NEXT_SHIFT))
VIRQ_STATIC_ASSERT(VIRQ_VM_MAX_VCPUS < 0xFFFFU, "a vCPU index + 1 fits VM_KEY_NEXT");
/* An x2APIC ID whose logical ID does not give it back (cluster overflow). */
#define VM_KEY_WIDE(k) (!((k)&VM_KEY_XAPIC) && VM_KEY_ID(k) > 0xFFFFFU)

/*
 * xAPIC logical map (vm->xlog): slot b (0-7) for flat-model vCPUs whose
 * logical ID has bit b, slot VM_XLOG_CLUSTER + c * 4 + m for cluster-model
 * vCPUs of cluster c (0-15) whose logical ID has member bit m (0-3). Each
 * slot a vCPU index, VM_XLOG_NONE or VM_XLOG_SHARED.
 */
#define VM_XLOG_CLUSTER 8U
#define VM_XLOG_SLOTS (VM_XLOG_CLUSTER + 16U * 4U)
#define VM_XLOG_NONE 0xFFFFU
#define VM_XLOG_SHARED 0xFFFEU
VIRQ_STATIC_ASSERT(VIRQ_VM_MAX_VCPUS < VM_XLOG_SHARED, "a vCPU index fits an xlog slot");
VIRQ_STATIC_ASSERT(sizeof(((struct virq_vm *)0)->xlog) == VM_XLOG_SLOTS * 2U,
		   "vm.h sizes xlog for VM_XLOG_SLOTS");

/* Map slot of an ID two or more enabled vCPUs hold; never a vCPU index. */
#define VM_SLOT_SHARED 0x80000000U
VIRQ_STATIC_ASSERT(VIRQ_VM_MAX_VCPUS < VM_SLOT_SHARED, "a vCPU index is never VM_SLOT_SHARED");

/* ir_word encoding: table_entries in 16:0, flags above */
#define VM_IR_ENTRIES_MASK 0x1FFFFULL
#define VM_IR_ENABLED (1ULL << 32)
#define VM_IR_EIME (1ULL << 33)
#define VM_IR_CFI (1ULL << 34)
#define VM_IR_POSTING (1ULL << 35)

/*
 * Most xAPIC-mode vCPUs for which a logical destination the xAPIC logical
 * map cannot answer (low byte 0xFF, or a shared slot) and a physical one
 * whose low 8 bits are 0xFF outside a broadcast take the xAPIC list as
 * their candidates; with more, they scan every vCPU. Bounds the walk and
 * the candidate array on the stack of every delivery.
 */
#define VM_XAPIC_LIST_MAX 16U /* vm.h, "Destination maps", gives the value */

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

/* What virq_vm_init() and virq_vm_set_ir() accept as a remapping config. */
bool vm_ir_config_ok(const struct virq_vm_ops *ops, bool enabled, const struct virq_ir_config *ir);
uint64_t vm_ir_pack(bool enabled, const struct virq_ir_config *ir);
/* Re-keys vCPU @index from its LAPIC's current ID and mode. Under the lock. */
void vm_map_update(struct virq_vm *vm, uint32_t index);
/* Rebuilds the map, keys, xAPIC logical map and xAPIC list from the vCPU
 * table's LAPICs. Under the lock. */
void vm_map_rebuild(struct virq_vm *vm);
/* Map defaults and the PC GSI layout; no validation. */
void vm_gsi_init(struct virq_vm *vm);

/* IPI virtualization (ipiv.c), under the lock, after the map changed:
 * rewrites the PID-pointer table entries whose holder key @key (a key a
 * vCPU left or took; VM_KEY_NONE does nothing) can change, or every entry. */
void ipiv_refresh_key(struct virq_vm *vm, uint64_t key);
void ipiv_refresh_all(struct virq_vm *vm);
/* Recomputes every entry of an attached table from the keys; 0 when all
 * agree. Lock held or the VM quiescent. */
int ipiv_check(const struct virq_vm *vm);

/* Recomputes every map invariant above; 0 when they hold. Lock held or the
 * VM quiescent. For tests and fuzzers. */
int vm_check_invariants(const struct virq_vm *vm);

#endif /* VIRQ_LIB_VM_PRIV_H */
