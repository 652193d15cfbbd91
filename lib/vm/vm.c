/* SPDX-License-Identifier: MIT */
/*
 * virq_vm life cycle: init, the vCPU table, and the APIC-ID map, the xAPIC
 * logical map and the xAPIC list with their sequence counter (the write side; route.c has the
 * read side).
 */
#include "vm_priv.h"

#define VM_MSI_FLAGS_KNOWN (VIRQ_MSI_EXT_DEST | VIRQ_MSI_ADDR_HI_DEST)

bool vm_ir_config_ok(const struct virq_vm_ops *ops, bool enabled, const struct virq_ir_config *ir)
{
	if (!enabled)
		return true;
	return ops->read_irte && ir && !ir->reserved && ir->table_entries >= 1U &&
	       ir->table_entries <= 65536U;
}

uint64_t vm_ir_pack(bool enabled, const struct virq_ir_config *ir)
{
	uint64_t w;

	if (!enabled)
		return 0;
	w = VM_IR_ENABLED | ((uint64_t)ir->table_entries & VM_IR_ENTRIES_MASK);
	if (ir->eime)
		w |= VM_IR_EIME;
	if (ir->cfi)
		w |= VM_IR_CFI;
	if (ir->posting)
		w |= VM_IR_POSTING;
	return w;
}

/*
 * The key of LAPIC @l: its mode and ID and, in xAPIC mode, its logical ID
 * (LDR bits 31:24) and DFR model (SDM 10.6.2.2 "Logical Destination
 * Mode"), the registers virq_lapic_match_dest() decides by. Read with
 * virq_lapic_read_reg(): the callers run on @l's owner thread (its
 * dest_changed hook) or before it runs, so the registers are stable.
 */
static uint64_t vm_key_of(const struct virq_lapic *l)
{
	enum virq_lapic_mode mode;
	uint64_t key;
	uint32_t model;

	if (!l)
		return VM_KEY_NONE;
	mode = virq_lapic_get_mode(l);
	if (mode == VIRQ_LAPIC_MODE_DISABLED)
		return VM_KEY_NONE;
	key = VM_KEY_VALID | (uint64_t)virq_lapic_get_id(l);
	if (mode != VIRQ_LAPIC_MODE_XAPIC)
		return key;
	switch (virq_lapic_read_reg(l, VIRQ_LAPIC_REG_DFR) >> 28) {
	case 0xFU:
		model = VM_MODEL_FLAT;
		break;
	case 0x0U:
		model = VM_MODEL_CLUSTER;
		break;
	default:
		model = 0; /* undefined: matches no logical destination */
		break;
	}
	return key | VM_KEY_XAPIC | (uint64_t)model << VM_KEY_MODEL_SHIFT |
	       (uint64_t)(virq_lapic_read_reg(l, VIRQ_LAPIC_REG_LDR) >> 24) << VM_KEY_LDR_SHIFT;
}

/*
 * The xAPIC logical map slots key @key occupies, as a bitmap over
 * VM_XLOG_SLOTS (at most 8 are set): one per set bit of a flat logical ID,
 * one per member bit of a cluster one. None for other keys.
 */
static void vm_xlog_slots(uint64_t key, uint64_t slots[2])
{
	uint32_t ldr = VM_KEY_LDR(key);

	slots[0] = slots[1] = 0;
	if (!(key & VM_KEY_XAPIC))
		return;
	if (VM_KEY_MODEL(key) == VM_MODEL_FLAT) {
		slots[0] = ldr;
	} else if (VM_KEY_MODEL(key) == VM_MODEL_CLUSTER) {
		uint32_t first = VM_XLOG_CLUSTER + (ldr >> 4) * 4U;

		slots[first / 64U] |= (uint64_t)(ldr & 0xFU) << (first % 64U);
	}
}

/*
 * What xlog[@slot] must hold according to the keys: VM_XLOG_NONE, the one
 * vCPU whose key occupies it, or VM_XLOG_SHARED. O(nr_vcpus), like
 * vm_slot_of(): only when a shared slot loses a holder.
 */
static uint16_t vm_xlog_of(const struct virq_vm *vm, uint32_t slot)
{
	uint16_t v = VM_XLOG_NONE;

	for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++) {
		uint64_t s[2];

		vm_xlog_slots(vm->map_key[i], s);
		if (!(s[slot / 64U] >> (slot % 64U) & 1U))
			continue;
		if (v != VM_XLOG_NONE)
			return VM_XLOG_SHARED;
		v = (uint16_t)i;
	}
	return v;
}

/* Sets xlog[@slot] to @v, and its bit of xlog_on. In a write section. */
static void vm_xlog_set(struct virq_vm *vm, uint32_t slot, uint16_t v)
{
	uint64_t bit = 1ULL << (slot % 64U), on = vm->xlog_on[slot / 64U];

	__atomic_store_n(&vm->xlog[slot], v, __ATOMIC_RELAXED);
	__atomic_store_n(&vm->xlog_on[slot / 64U], v == VM_XLOG_NONE ? on & ~bit : on | bit,
			 __ATOMIC_RELAXED);
}

/*
 * What map[@id] must hold according to the keys: VIRQ_VM_NO_VCPU, the one
 * vCPU whose key has ID @id, or VM_SLOT_SHARED. O(nr_vcpus): the writers
 * need it only when a shared slot loses a holder (updates are rare).
 */
static uint32_t vm_slot_of(const struct virq_vm *vm, uint32_t id)
{
	uint32_t slot = VIRQ_VM_NO_VCPU;

	for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++) {
		uint64_t k = vm->map_key[i];

		if (!(k & VM_KEY_VALID) || VM_KEY_ID(k) != id)
			continue;
		if (slot != VIRQ_VM_NO_VCPU)
			return VM_SLOT_SHARED;
		slot = i;
	}
	return slot;
}

static void vm_store_key(struct virq_vm *vm, uint32_t index, uint64_t key)
{
	__atomic_store_n(&vm->map_key[index], key, __ATOMIC_RELAXED);
}

/*
 * Unlinks xAPIC-mode vCPU @index (its key @key) from the xAPIC list. In a
 * write section. O(nr_xapic): the predecessor is found by walking from
 * the head (updates are rare; a singly linked list is what fits the 16
 * spare bits of a key).
 */
static void vm_xlist_remove(struct virq_vm *vm, uint32_t index, uint64_t key)
{
	uint32_t next = VM_KEY_NEXT(key), at = vm->xapic_head;

	if (at == index + 1U) {
		vm_store32(&vm->xapic_head, next);
		return;
	}
	for (uint32_t n = 0; at && n < vm->nr_xapic; n++) {
		uint64_t k = vm->map_key[at - 1U];

		if (VM_KEY_NEXT(k) == index + 1U) {
			vm_store_key(vm, at - 1U,
				     (k & ~VM_KEY_NEXT_MASK) |
					     ((uint64_t)next << VM_KEY_NEXT_SHIFT));
			return;
		}
		at = VM_KEY_NEXT(k);
	}
	VIRQ_ASSERT(0 && "an xAPIC-mode vCPU is missing from the xAPIC list");
}

/* Drops vCPU @index (currently keyed @key) from the map. In a write section. */
static void vm_map_remove(struct virq_vm *vm, uint32_t index, uint64_t key)
{
	uint32_t id = VM_KEY_ID(key);

	if (key & VM_KEY_XAPIC)
		vm_xlist_remove(vm, index, key);
	vm_store_key(vm, index, VM_KEY_NONE);
	if (id < vm->cfg.map_entries) {
		uint32_t slot = vm->map[id];

		/* Sole holder: O(1). A shared slot is recounted without @index:
		 * it stays shared, or goes back to its last holder's index. */
		VIRQ_ASSERT(slot == index || slot == VM_SLOT_SHARED);
		vm_store32(&vm->map[id],
			   slot == VM_SLOT_SHARED ? vm_slot_of(vm, id) : VIRQ_VM_NO_VCPU);
	}
	if (key & VM_KEY_XAPIC) {
		uint64_t s[2];

		vm_store32(&vm->nr_xapic, vm->nr_xapic - 1U);
		/* Its logical slots, the same way (its key is NONE already). */
		vm_xlog_slots(key, s);
		for (uint32_t w = 0; w < 2U; w++) {
			for (uint64_t b = s[w]; b; b &= b - 1U) {
				uint32_t slot = w * 64U + (uint32_t)__builtin_ctzll(b);
				uint16_t v = vm->xlog[slot];

				VIRQ_ASSERT(v == index || v == VM_XLOG_SHARED);
				vm_xlog_set(vm, slot,
					    v == VM_XLOG_SHARED ? vm_xlog_of(vm, slot)
								: VM_XLOG_NONE);
			}
		}
	} else
		vm_store32(&vm->nr_x2apic, vm->nr_x2apic - 1U);
	if (VM_KEY_WIDE(key))
		vm_store32(&vm->nr_wide, vm->nr_wide - 1U);
}

/* Adds vCPU @index with key @key to the map. In a write section. */
static void vm_map_insert(struct virq_vm *vm, uint32_t index, uint64_t key)
{
	uint32_t id = VM_KEY_ID(key);

	if (id < vm->cfg.map_entries)
		vm_store32(&vm->map[id], vm->map[id] == VIRQ_VM_NO_VCPU ? index : VM_SLOT_SHARED);
	if (key & VM_KEY_XAPIC) {
		uint64_t s[2];

		vm_xlog_slots(key, s);
		for (uint32_t w = 0; w < 2U; w++) {
			for (uint64_t b = s[w]; b; b &= b - 1U) {
				uint32_t slot = w * 64U + (uint32_t)__builtin_ctzll(b);

				vm_xlog_set(vm, slot,
					    vm->xlog[slot] == VM_XLOG_NONE ? (uint16_t)index
									   : VM_XLOG_SHARED);
			}
		}
		/* Pushed on the xAPIC list: it links the old head. */
		key |= (uint64_t)vm->xapic_head << VM_KEY_NEXT_SHIFT;
		vm_store32(&vm->xapic_head, index + 1U);
		vm_store32(&vm->nr_xapic, vm->nr_xapic + 1U);
	} else {
		vm_store32(&vm->nr_x2apic, vm->nr_x2apic + 1U);
	}
	if (VM_KEY_WIDE(key))
		vm_store32(&vm->nr_wide, vm->nr_wide + 1U);
	vm_store_key(vm, index, key);
}

/*
 * Writer side of the sequence counter: map_seq odd while the map is being
 * changed. Only lock holders write, so a plain increment is enough; the
 * release fence orders the odd value before the entry stores, the release
 * store of the even value orders the entries before it (the readers'
 * acquire load and fence pair with them).
 */
static void vm_seq_begin(struct virq_vm *vm)
{
	vm_store32(&vm->map_seq, vm->map_seq + 1U);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void vm_seq_end(struct virq_vm *vm)
{
	__atomic_store_n(&vm->map_seq, vm->map_seq + 1U, __ATOMIC_RELEASE);
}

void vm_map_update(struct virq_vm *vm, uint32_t index)
{
	uint64_t old = vm->map_key[index];
	uint64_t key = vm_key_of(vm_vcpu(vm, index));

	if ((old & VM_KEY_DEST_MASK) == key)
		return;
	vm_seq_begin(vm);
	if (old & VM_KEY_VALID)
		vm_map_remove(vm, index, old);
	if (key & VM_KEY_VALID)
		vm_map_insert(vm, index, key);
	vm_seq_end(vm);
	/* The PID-pointer table follows the map it is derived from. */
	ipiv_refresh_key(vm, old & VM_KEY_DEST_MASK);
	ipiv_refresh_key(vm, key);
}

/*
 * Rebuilds the map, the keys, the xAPIC logical map and the xAPIC list
 * from scratch from the LAPICs in the vCPU table (restore: the LAPICs were
 * restored without telling the VM). One write section; the xAPIC list ends
 * up in a canonical order (vCPU index order from the head), whatever order
 * the original's was built in.
 * Under the lock.
 */
void vm_map_rebuild(struct virq_vm *vm)
{
	vm_seq_begin(vm);
	for (uint32_t k = 0; k < vm->cfg.map_entries; k++)
		vm_store32(&vm->map[k], VIRQ_VM_NO_VCPU);
	for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++)
		vm_store_key(vm, i, VM_KEY_NONE);
	vm_store32(&vm->xapic_head, 0);
	vm_store32(&vm->nr_xapic, 0);
	vm_store32(&vm->nr_wide, 0);
	vm_store32(&vm->nr_x2apic, 0);
	for (uint32_t k = 0; k < VM_XLOG_SLOTS; k++)
		vm_xlog_set(vm, k, VM_XLOG_NONE);
	/* Pushed newest first: inserting from the last index leaves the list
	 * in ascending index order. */
	for (uint32_t i = vm->cfg.nr_vcpus; i-- > 0;) {
		uint64_t key = vm_key_of(vm_vcpu(vm, i));

		if (key & VM_KEY_VALID)
			vm_map_insert(vm, i, key);
	}
	vm_seq_end(vm);
	ipiv_refresh_all(vm);
}

VIRQ_API int virq_vm_init(struct virq_vm *vm, const struct virq_vm_config *cfg,
			  struct virq_lapic **vcpus, uint32_t *map, uint64_t *map_key,
			  struct virq_vm_gsi *gsis, const struct virq_vm_ops *ops, void *ctx)
{
	struct virq_vm_config c;

	/* Validate everything first: an error leaves @vm untouched. */
	if (!vm || !cfg || !vcpus || !map_key || !ops)
		return -VIRQ_EINVAL;
	/* The sizes first: nothing past them is the caller's. */
	if (!VIRQ_SIZE_ACCEPTED(cfg->size, VIRQ_VM_CONFIG_SIZE_MIN, struct virq_vm_config) ||
	    !VIRQ_SIZE_ACCEPTED(ops->size, VIRQ_VM_OPS_SIZE_MIN, struct virq_vm_ops))
		return -VIRQ_EVERSION;
	VIRQ_SIZED_COPY(&c, cfg);
	cfg = &c;
	/* The embedded remapping geometry counts only with ir_enabled. */
	if (cfg->ir_enabled &&
	    !VIRQ_SIZE_ACCEPTED(cfg->ir.size, VIRQ_IR_CONFIG_SIZE_MIN, struct virq_ir_config))
		return -VIRQ_EVERSION;
	if (ops->reserved || !ops->lock || !ops->unlock)
		return -VIRQ_EINVAL;
	if (!cfg->nr_vcpus || cfg->nr_vcpus > VIRQ_VM_MAX_VCPUS)
		return -VIRQ_EINVAL;
	if ((cfg->map_entries && !map) || (cfg->nr_gsis && !gsis))
		return -VIRQ_EINVAL;
	if ((cfg->msi_flags & ~VM_MSI_FLAGS_KNOWN) || cfg->reserved)
		return -VIRQ_EINVAL;
	if (!vm_ir_config_ok(ops, cfg->ir_enabled, &cfg->ir))
		return -VIRQ_EINVAL;

	virq_memset(vm, 0, sizeof(*vm));
	vm->ops = ops;
	vm->ctx = ctx;
	vm->cfg = *cfg;
	vm->vcpus = vcpus;
	vm->map = map;
	vm->map_key = map_key;
	vm->gsis = gsis;
	vm->ir_word = vm_ir_pack(cfg->ir_enabled, &cfg->ir);
	for (uint32_t k = 0; k < cfg->map_entries; k++)
		map[k] = VIRQ_VM_NO_VCPU;
	for (uint32_t i = 0; i < cfg->nr_vcpus; i++)
		map_key[i] = VM_KEY_NONE;
	for (uint32_t k = 0; k < VM_XLOG_SLOTS; k++)
		vm->xlog[k] = VM_XLOG_NONE; /* xlog_on: 0 from the memset */
	for (uint32_t i = 0; i < cfg->nr_vcpus; i++)
		vm_map_update(vm, i);
	vm_gsi_init(vm);
	return 0;
}

VIRQ_API int virq_vm_set_vcpu(struct virq_vm *vm, uint32_t index, struct virq_lapic *lapic)
{
	if (!vm || index >= vm->cfg.nr_vcpus)
		return -VIRQ_EINVAL;
	vm_lock(vm);
	__atomic_store_n(&vm->vcpus[index], lapic, __ATOMIC_RELEASE);
	vm_map_update(vm, index);
	vm_unlock(vm);
	return 0;
}

VIRQ_API int virq_vm_update_vcpu(struct virq_vm *vm, uint32_t index)
{
	if (!vm || index >= vm->cfg.nr_vcpus)
		return -VIRQ_EINVAL;
	vm_lock(vm);
	vm_map_update(vm, index);
	vm_unlock(vm);
	return 0;
}

VIRQ_API uint64_t virq_vm_scan_count(const struct virq_vm *vm)
{
	return vm ? __atomic_load_n(&vm->nr_scans, __ATOMIC_RELAXED) : 0;
}

VIRQ_API int virq_vm_set_ir(struct virq_vm *vm, bool enabled, const struct virq_ir_config *ir)
{
	if (!vm || (enabled && !ir))
		return -VIRQ_EINVAL;
	if (enabled &&
	    !VIRQ_SIZE_ACCEPTED(ir->size, VIRQ_IR_CONFIG_SIZE_MIN, struct virq_ir_config))
		return -VIRQ_EVERSION;
	if (!vm_ir_config_ok(vm->ops, enabled, ir))
		return -VIRQ_EINVAL;
	/* One 64-bit word: a racing MSI sees the old or the new configuration. */
	__atomic_store_n(&vm->ir_word, vm_ir_pack(enabled, ir), __ATOMIC_RELAXED);
	return 0;
}

int vm_check_invariants(const struct virq_vm *vm)
{
	uint32_t nx = 0, nw = 0, n2 = 0, held = 0, used = 0;

	for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++) {
		uint64_t link = vm->map_key[i] & ~VM_KEY_DEST_MASK;
		uint64_t k = vm->map_key[i] & VM_KEY_DEST_MASK;
		uint32_t id = VM_KEY_ID(k), holders = 0, first = VIRQ_VM_NO_VCPU;

		/* Only the link field above the key, and only in xAPIC keys. */
		if (link & ~VM_KEY_NEXT_MASK || (link && !(k & VM_KEY_XAPIC)))
			return -1;
		if (k == VM_KEY_NONE)
			continue;
		if (!(k & VM_KEY_VALID))
			return -1;
		/* A logical ID and model in xAPIC keys only. */
		if (!(k & VM_KEY_XAPIC) && (k >> VM_KEY_LDR_SHIFT))
			return -1;
		if (k & VM_KEY_XAPIC)
			nx++;
		else
			n2++;
		if (VM_KEY_WIDE(k))
			nw++;
		if (id >= vm->cfg.map_entries)
			continue;
		/* The slot of this key's ID, from scratch: its one holder, or shared. */
		for (uint32_t j = 0; j < vm->cfg.nr_vcpus; j++) {
			uint64_t o = vm->map_key[j];

			if ((o & VM_KEY_VALID) && VM_KEY_ID(o) == id && !holders++)
				first = j;
		}
		if (vm->map[id] != (holders > 1U ? VM_SLOT_SHARED : first))
			return -2;
		held += first == i; /* each held ID once */
	}
	/* Every other slot is empty. */
	for (uint32_t id = 0; id < vm->cfg.map_entries; id++)
		used += vm->map[id] != VIRQ_VM_NO_VCPU;
	if (used != held)
		return -3;
	if (nx != vm->nr_xapic || nw != vm->nr_wide || n2 != vm->nr_x2apic)
		return -5;
	/*
	 * The xAPIC list: a walk of at most nx links from the head meets only
	 * xAPIC keys and ends after exactly nx of them. A vCPU met twice would
	 * mean a cycle (each link is fixed), which never ends: so the walk met
	 * nx distinct xAPIC-mode vCPUs, i.e. every one of them, once.
	 */
	for (uint32_t at = vm->xapic_head, n = 0;; n++) {
		if (!at) {
			if (n != nx)
				return -7;
			break;
		}
		if (n == nx || at > vm->cfg.nr_vcpus || !(vm->map_key[at - 1U] & VM_KEY_XAPIC))
			return -7;
		at = VM_KEY_NEXT(vm->map_key[at - 1U]);
	}
	/* The xAPIC logical map, each slot from scratch from the keys. */
	for (uint32_t slot = 0; slot < VM_XLOG_SLOTS; slot++) {
		uint32_t holders = 0, first = VM_XLOG_NONE;

		for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++) {
			uint64_t k = vm->map_key[i], s[2];
			uint32_t ldr = VM_KEY_LDR(k);
			bool in = false;

			/* Restated from the key, not through vm_xlog_slots(). */
			if (k & VM_KEY_XAPIC) {
				if (VM_KEY_MODEL(k) == VM_MODEL_FLAT)
					in = slot < VM_XLOG_CLUSTER && (ldr >> slot & 1U);
				else if (VM_KEY_MODEL(k) == VM_MODEL_CLUSTER)
					in = slot >= VM_XLOG_CLUSTER &&
					     (slot - VM_XLOG_CLUSTER) / 4U == ldr >> 4 &&
					     (ldr >> ((slot - VM_XLOG_CLUSTER) % 4U) & 1U);
			}
			vm_xlog_slots(k, s);
			if (in != ((s[slot / 64U] >> (slot % 64U) & 1U) != 0))
				return -8;
			if (in && !holders++)
				first = i;
		}
		if (vm->xlog[slot] != (holders > 1U ? VM_XLOG_SHARED : first))
			return -8;
		if (((vm->xlog_on[slot / 64U] >> (slot % 64U)) & 1U) != (holders != 0))
			return -8;
	}
	if (vm->map_seq & 1U)
		return -6;
	if (ipiv_check(vm))
		return -9;
	return 0;
}
