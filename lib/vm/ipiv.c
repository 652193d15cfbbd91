/* SPDX-License-Identifier: MIT */
/*
 * IPI virtualization: the PID-pointer table, rewritten from the VM's
 * APIC-ID map keys (SDM Vol. 3C 30.1.6 "IPI Virtualization", the
 * PID-pointer table and last PID-pointer index of 25.6.2 "Processor-Based
 * VM-Execution Controls"; the ICR conditions of 30.4.3.2 "APIC-Write
 * Emulation" and 30.5 "Virtualizing MSR-Based APIC Accesses").
 *
 * include/virq/ipiv.h states when entry k is valid. The writers (vm.c,
 * under the lock) call ipiv_refresh_key() for a key a vCPU leaves and the
 * key it takes, and ipiv_refresh_all() after a rebuild; each entry is
 * recomputed from the keys, never patched, so it cannot drift from them.
 */
#include <virq/ipiv.h>

#include "vm_priv.h"

/* ICR bits the processor requires clear for self-IPI or IPI
 * virtualization: reserved 31:20, 17:16, 13 and delivery status 12. */
#define IPIV_ICR_RSVD 0xFFF33000ULL
/* ...and for IPI virtualization also level trigger, delivery mode,
 * logical destination mode and shorthand. */
#define IPIV_ICR_NOT_VIRT                                                                          \
	(IPIV_ICR_RSVD | VIRQ_ICR_TRIGGER_LEVEL | VIRQ_ICR_DM_MASK | VIRQ_ICR_DEST_LOGICAL |       \
	 VIRQ_ICR_SH_MASK)
#define IPIV_PID_MAX (1ULL << 52)

/*
 * The vCPU that alone answers physical destination @k according to the
 * keys, or VIRQ_VM_NO_VCPU when none or several do (or @k is a broadcast
 * or an alias of one). Holders of ID @k come from the map when @k is
 * inside it, else from a scan; for @k above 0xFF the xAPIC-mode vCPUs
 * whose 8-bit ID is @k's low byte also answer (they match the low 8 bits
 * only), found on the xAPIC list.
 */
static uint32_t ipiv_holder(const struct virq_vm *vm, uint32_t k)
{
	uint32_t who = VIRQ_VM_NO_VCPU, n = 0;

	if (k == 0xFFU || (k > 0xFFU && (k & 0xFFU) == 0xFFU && vm->nr_xapic))
		return VIRQ_VM_NO_VCPU;
	if (k < vm->cfg.map_entries) {
		who = vm->map[k];
		if (who == VM_SLOT_SHARED)
			return VIRQ_VM_NO_VCPU;
		n = who != VIRQ_VM_NO_VCPU;
	} else {
		for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++) {
			uint64_t key = vm->map_key[i];

			if (!(key & VM_KEY_VALID) || VM_KEY_ID(key) != k)
				continue;
			if (n++)
				return VIRQ_VM_NO_VCPU;
			who = i;
		}
	}
	if (k > 0xFFU && vm->nr_xapic) {
		uint32_t at = vm->xapic_head;

		for (uint32_t s = 0; at && s < vm->nr_xapic; s++) {
			uint64_t key = vm->map_key[at - 1U];

			if (VM_KEY_ID(key) == (k & 0xFFU)) {
				if (n++)
					return VIRQ_VM_NO_VCPU;
				who = at - 1U;
			}
			at = VM_KEY_NEXT(key);
		}
	}
	return who;
}

static uint64_t ipiv_entry_of(const struct virq_vm *vm, const struct virq_ipiv *t, uint32_t k)
{
	uint32_t who = ipiv_holder(vm, k);

	if (who == VIRQ_VM_NO_VCPU || !t->pid_addr[who])
		return 0;
	return t->pid_addr[who] | VIRQ_IPIV_ENTRY_VALID;
}

static void ipiv_refresh(struct virq_vm *vm, struct virq_ipiv *t, uint32_t k)
{
	uint64_t e = ipiv_entry_of(vm, t, k);

	/* Release: the descriptor the entry names is initialised before a
	 * processor can follow it. */
	if (t->table[k] != e)
		__atomic_store_n(&t->table[k], e, __ATOMIC_RELEASE);
}

void ipiv_refresh_key(struct virq_vm *vm, uint64_t key)
{
	struct virq_ipiv *t = vm->ipiv;
	uint32_t id = VM_KEY_ID(key);

	if (!t || !(key & VM_KEY_VALID))
		return;
	if (id < t->entries)
		ipiv_refresh(vm, t, id);
	if (!(key & VM_KEY_XAPIC))
		return;
	/* An xAPIC-mode vCPU also answers every index with its low byte, and
	 * its mode decides the indices with low byte 0xFF. */
	for (uint32_t k = 0x100U; k < t->entries; k += 0x100U) {
		if ((k | id) < t->entries)
			ipiv_refresh(vm, t, k | id);
		if ((k | 0xFFU) < t->entries)
			ipiv_refresh(vm, t, k | 0xFFU);
	}
}

void ipiv_refresh_all(struct virq_vm *vm)
{
	struct virq_ipiv *t = vm->ipiv;

	if (!t)
		return;
	for (uint32_t k = 0; k < t->entries; k++)
		ipiv_refresh(vm, t, k);
}

/*
 * What entry @k must hold by the rule of ipiv.h, from scratch with a scan
 * of the keys (not through the map, as ipiv_holder() goes); *@who gets the
 * one vCPU that answers @k, or VIRQ_VM_NO_VCPU.
 */
static uint64_t ipiv_want(const struct virq_vm *vm, const struct virq_ipiv *t, uint32_t k,
			  uint32_t *who)
{
	uint32_t n = 0;

	*who = VIRQ_VM_NO_VCPU;
	for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++) {
		uint64_t key = vm->map_key[i];

		if (!(key & VM_KEY_VALID))
			continue;
		if (VM_KEY_ID(key) == k ||
		    (k > 0xFFU && (key & VM_KEY_XAPIC) && VM_KEY_ID(key) == (k & 0xFFU))) {
			n++;
			*who = i;
		}
	}
	if (n != 1U || k == 0xFFU || (k > 0xFFU && (k & 0xFFU) == 0xFFU && vm->nr_xapic) ||
	    !t->pid_addr[*who]) {
		*who = VIRQ_VM_NO_VCPU;
		return 0;
	}
	return t->pid_addr[*who] | VIRQ_IPIV_ENTRY_VALID;
}

/* Entry @k against the rule; counts it in *@valid when vCPU @i holds it. */
static bool ipiv_entry_ok(const struct virq_vm *vm, const struct virq_ipiv *t, uint32_t k,
			  uint32_t i, uint32_t *valid)
{
	uint32_t who;

	if (k >= t->entries)
		return true;
	if (t->table[k] != ipiv_want(vm, t, k, &who))
		return false;
	*valid += who == i;
	return true;
}

/*
 * Every entry a key can make valid (its ID, and for an xAPIC key the
 * indices above 0xFF with its ID as low byte) is compared with the rule;
 * every other entry must be 0, which counting shows: the non-zero entries
 * are exactly the valid ones found, each counted once (by its holder).
 * O(entries + nr_vcpus^2 * entries / 256).
 */
int ipiv_check(const struct virq_vm *vm)
{
	const struct virq_ipiv *t = vm->ipiv;
	uint32_t nonzero = 0, valid = 0;

	if (!t)
		return 0;
	if (t->vm != vm || t->nr_vcpus != vm->cfg.nr_vcpus)
		return -1;
	for (uint32_t k = 0; k < t->entries; k++)
		nonzero += t->table[k] != 0;
	for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++) {
		uint64_t key = vm->map_key[i];
		uint32_t id = VM_KEY_ID(key);

		if (!(key & VM_KEY_VALID))
			continue;
		if (!ipiv_entry_ok(vm, t, id, i, &valid))
			return -2;
		if (!(key & VM_KEY_XAPIC))
			continue;
		for (uint32_t k = 0x100U | id; k < t->entries; k += 0x100U)
			if (!ipiv_entry_ok(vm, t, k, i, &valid))
				return -2;
	}
	return nonzero == valid ? 0 : -3;
}

VIRQ_API int virq_ipiv_init(struct virq_ipiv *ipiv, uint64_t *table, uint32_t entries,
			    uint64_t *pid_addr, uint32_t nr_vcpus)
{
	if (!ipiv || !table || !pid_addr || !entries || entries > VIRQ_IPIV_MAX_ENTRIES ||
	    !nr_vcpus || nr_vcpus > VIRQ_VM_MAX_VCPUS)
		return -VIRQ_EINVAL;
	if ((uintptr_t)table & 7U)
		return -VIRQ_EALIGN;
	virq_memset(ipiv, 0, sizeof(*ipiv));
	virq_memset(table, 0, sizeof(*table) * entries);
	virq_memset(pid_addr, 0, sizeof(*pid_addr) * nr_vcpus);
	ipiv->table = table;
	ipiv->pid_addr = pid_addr;
	ipiv->entries = entries;
	ipiv->nr_vcpus = nr_vcpus;
	return 0;
}

VIRQ_API uint16_t virq_ipiv_last_index(const struct virq_ipiv *ipiv)
{
	return ipiv ? (uint16_t)(ipiv->entries - 1U) : 0;
}

VIRQ_API int virq_ipiv_set_pid(struct virq_ipiv *ipiv, uint32_t index, uint64_t pid_addr)
{
	struct virq_vm *vm;

	if (!ipiv || index >= ipiv->nr_vcpus || pid_addr >= IPIV_PID_MAX)
		return -VIRQ_EINVAL;
	if (pid_addr & 63U)
		return -VIRQ_EALIGN;
	/* The attachment changes under the lock of the VM it names; an
	 * attach or detach racing with this call is the embedder's bug. */
	vm = ipiv->vm;
	if (!vm) {
		ipiv->pid_addr[index] = pid_addr;
		return 0;
	}
	vm_lock(vm);
	ipiv->pid_addr[index] = pid_addr;
	ipiv_refresh_key(vm, vm->map_key[index] & VM_KEY_DEST_MASK);
	vm_unlock(vm);
	return 0;
}

VIRQ_API int virq_vm_attach_ipiv(struct virq_vm *vm, struct virq_ipiv *ipiv)
{
	struct virq_ipiv *old;

	if (!vm)
		return -VIRQ_EINVAL;
	if (ipiv && (ipiv->nr_vcpus != vm->cfg.nr_vcpus || (ipiv->vm && ipiv->vm != vm)))
		return -VIRQ_EINVAL;
	vm_lock(vm);
	old = vm->ipiv;
	if (old && old != ipiv) {
		for (uint32_t k = 0; k < old->entries; k++)
			__atomic_store_n(&old->table[k], 0, __ATOMIC_RELAXED);
		old->vm = NULL;
	}
	vm->ipiv = ipiv;
	if (ipiv) {
		ipiv->vm = vm;
		ipiv_refresh_all(vm);
	}
	vm_unlock(vm);
	return 0;
}

VIRQ_API bool virq_ipiv_icr_exits(const struct virq_ipiv *ipiv, uint64_t icr, bool x2apic)
{
	uint32_t lo = (uint32_t)icr, dest;
	uint64_t e;

	if (!ipiv)
		return true;
	/* xAPIC: self-IPI virtualization (30.1.5 "Self-IPI Virtualization")
	 * has the write at 300H first. */
	if (!x2apic && !(lo & (IPIV_ICR_RSVD | VIRQ_ICR_TRIGGER_LEVEL | VIRQ_ICR_DM_MASK)) &&
	    (lo & VIRQ_ICR_SH_MASK) == (uint64_t)VIRQ_SH_SELF << VIRQ_ICR_SH_SHIFT && (lo & 0xF0U))
		return false;
	if ((lo & IPIV_ICR_NOT_VIRT) || (lo & 0xFFU) < 16U)
		return true;
	dest = x2apic ? (uint32_t)(icr >> VIRQ_ICR_DEST_SHIFT_X2APIC)
		      : (uint32_t)(icr >> VIRQ_ICR_DEST_SHIFT_XAPIC);
	if (dest >= ipiv->entries)
		return true;
	e = __atomic_load_n(&ipiv->table[dest], __ATOMIC_ACQUIRE);
	return (e & 0x3FU) != VIRQ_IPIV_ENTRY_VALID;
}
