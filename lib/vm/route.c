/* SPDX-License-Identifier: MIT */
/*
 * Destination resolution and delivery (SDM 10.6.2 "Determining IPI
 * Destination", 10.12.10 "Determining IPI Destination in x2APIC Mode"):
 * the map read side, lowest-priority arbitration, MSI decode with
 * interrupt remapping and posting (SDM 10.11 "Message Signalled
 * Interrupts"; the VT-d specification, "Interrupt Remapping" and
 * "Interrupt Posting").
 */
#include "vm_priv.h"

/* Most candidates the map yields: 16 members of an x2APIC cluster, plus
 * the xAPIC-mode vCPUs of the xAPIC list (or, for a logical destination,
 * at most 8 flat and 4 cluster ones from the xAPIC logical map). */
#define VM_LIST_MAX (16U + VM_XAPIC_LIST_MAX)
VIRQ_STATIC_ASSERT(VM_XAPIC_LIST_MAX >= 8U + 4U, "the xAPIC logical map's candidates fit");

/* Lowest-priority candidates cached by the first pass. */
#define VM_LOWEST_CACHE 32U
VIRQ_STATIC_ASSERT(VM_LOWEST_CACHE >= VM_LIST_MAX,
		   "lowest priority over map candidates needs one pass only");

/*
 * The candidate vCPUs of one message: either a short list from the map or
 * "every vCPU" (scan). Each is confirmed with virq_lapic_match_dest().
 */
struct vm_dests {
	bool scan;
	uint32_t n;
	uint32_t idx[VM_LIST_MAX];
};

static inline uint32_t dests_count(const struct virq_vm *vm, const struct vm_dests *d)
{
	return d->scan ? vm->cfg.nr_vcpus : d->n;
}

static inline uint32_t dests_index(const struct vm_dests *d, uint32_t k)
{
	return d->scan ? k : d->idx[k];
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Which holder of a slot dests_add_id() appends. */
enum dests_mode {
	DESTS_ANY,    /* whatever its mode */
	DESTS_XAPIC,  /* only in xAPIC mode (the 8-bit alias of a wide ID) */
	DESTS_X2APIC, /* only in x2APIC mode (xAPIC ones come from the list) */
};

/*
 * Appends the vCPU holding APIC ID @id (an O(1) lookup) if @mode wants
 * it. False when the map cannot answer: @id is past the map, or several
 * enabled LAPICs share it (each of them matches, and the slot does not say
 * which). Only the deliveries that look such a slot up scan.
 */
static bool dests_add_id(const struct virq_vm *vm, struct vm_dests *d, uint32_t id,
			 enum dests_mode mode)
{
	uint32_t i;

	if (id >= vm->cfg.map_entries)
		return false;
	i = vm_load32(&vm->map[id]);
	if (i == VM_SLOT_SHARED)
		return false;
	if (i == VIRQ_VM_NO_VCPU)
		return true;
	/* The key is read in the same map snapshot (bounded: caller storage). */
	if (mode != DESTS_ANY) {
		if (i >= vm->cfg.nr_vcpus)
			return true;
		if (!(vm_load_key(vm, i) & VM_KEY_XAPIC) != (mode == DESTS_X2APIC))
			return true;
	}
	if (d->n >= VM_LIST_MAX)
		return false; /* never: callers add at most VM_LIST_MAX */
	d->idx[d->n++] = i;
	return true;
}

/* What one map snapshot says about a destination. */
enum dests_map {
	MAP_OK,   /* the candidates are in the vm_dests */
	MAP_SCAN, /* the map cannot answer: scan every vCPU */
	MAP_TORN, /* the xAPIC list disagreed with nr_xapic: a torn snapshot */
};

/*
 * Appends every xAPIC-mode vCPU: the @nx (nr_xapic of this snapshot, at
 * most VM_XAPIC_LIST_MAX) vCPUs of the xAPIC list. In a snapshot that
 * map_seq validates, the list holds exactly those vCPUs (vm_priv.h), so
 * no xAPIC-mode target is missed. A walk that does not end after exactly
 * @nx links can only come from a torn snapshot, which the caller throws
 * away: MAP_TORN (it would scan all the same, never use a short list).
 */
static enum dests_map dests_add_xapic(const struct virq_vm *vm, struct vm_dests *d, uint32_t nx)
{
	uint32_t at = vm_load32(&vm->xapic_head), n = 0;

	for (; at && n < nx; n++) {
		if (at > vm->cfg.nr_vcpus || d->n >= VM_LIST_MAX)
			return MAP_TORN;
		d->idx[d->n++] = at - 1U;
		at = VM_KEY_NEXT(vm_load_key(vm, at - 1U));
	}
	return at || n != nx ? MAP_TORN : MAP_OK;
}

/*
 * Appends the xAPIC-mode vCPUs of xAPIC logical slot @slot whose logical ID
 * has bit @bit of @mask as its lowest set bit (a vCPU whose logical ID has
 * several bits of @mask sits in several slots: it is appended once, from
 * the first). False when the map cannot answer: two or more vCPUs share
 * the slot.
 */
static bool dests_add_xlog(const struct virq_vm *vm, struct vm_dests *d, uint32_t slot,
			   uint32_t bit, uint32_t mask)
{
	uint32_t i = __atomic_load_n(&vm->xlog[slot], __ATOMIC_RELAXED);

	if (i == VM_XLOG_SHARED)
		return false;
	if (i >= vm->cfg.nr_vcpus) /* VM_XLOG_NONE, or a torn snapshot */
		return true;
	if ((uint32_t)__builtin_ctz((VM_KEY_LDR(vm_load_key(vm, i)) & mask) | 1U << 8) != bit)
		return true;
	if (d->n >= VM_LIST_MAX)
		return false; /* never: at most 8 + 4 besides 16 from the map */
	d->idx[d->n++] = i;
	return true;
}

/*
 * The xAPIC-mode vCPUs logical destination @dest (bits 7:0, not 0xFF)
 * names, from the xAPIC logical map in O(1): flat-model ones whose logical
 * ID shares a bit with it, cluster-model ones of its cluster (bits 7:4)
 * sharing a member bit (SDM 10.6.2.2 "Logical Destination Mode"; a vCPU
 * of another DFR model matches nothing and sits in no slot). MAP_SCAN when
 * a slot it looks up is shared.
 */
static enum dests_map dests_add_xlogical(const struct virq_vm *vm, struct vm_dests *d,
					 uint32_t dest)
{
	uint32_t first = VM_XLOG_CLUSTER + (dest >> 4) * 4U;
	uint64_t on = __atomic_load_n(&vm->xlog_on[first / 64U], __ATOMIC_RELAXED);
	uint32_t members = (uint32_t)(on >> (first % 64U)) & dest & 0xFU;

	/* Only the slots that hold a vCPU (xlog_on, same snapshot). */
	if (first / 64U)
		on = __atomic_load_n(&vm->xlog_on[0], __ATOMIC_RELAXED);
	for (uint32_t bits = dest & (uint32_t)on; bits; bits &= bits - 1U) {
		uint32_t b = (uint32_t)__builtin_ctz(bits);

		if (!dests_add_xlog(vm, d, b, b, dest))
			return MAP_SCAN;
	}
	for (uint32_t bits = members; bits; bits &= bits - 1U) {
		uint32_t b = (uint32_t)__builtin_ctz(bits);

		if (!dests_add_xlog(vm, d, first + b, b, dest & 0xFU))
			return MAP_SCAN;
	}
	return MAP_OK;
}

/*
 * One snapshot of the map for physical or x2APIC-logical destination @dest
 * (not a broadcast, no shorthand): MAP_OK with the candidates in @d, or
 * MAP_SCAN (or MAP_TORN) when the map cannot answer exactly and every vCPU
 * must be scanned.
 *
 * An xAPIC-mode LAPIC decodes only bits 7:0 of a destination (SDM 10.6.2.1
 * "Physical Destination Mode", 10.6.2.2 "Logical Destination Mode"), a
 * logical one with its own flat or cluster LDR, which is not derived from
 * its ID: for a logical destination, and for a physical one whose low 8
 * bits are 0xFF (the xAPIC broadcast, SDM 10.6.2.3 "Broadcast/Self
 * Delivery Mode", which every xAPIC-mode LAPIC accepts), each of them is
 * a candidate. With at most VM_XAPIC_LIST_MAX of them they come from the
 * xAPIC list, beside the x2APIC-mode holders the map yields;
 * virq_lapic_match_dest() then keeps those that match. With more, scan.
 * A logical destination whose low byte is not 0xFF first asks the xAPIC
 * logical map, which answers in O(1) for any number of them unless a
 * slot it names is shared.
 */
static enum dests_map dests_from_map(const struct virq_vm *vm, uint32_t dest, bool logical,
				     struct vm_dests *d)
{
	uint32_t nx = vm_load32(&vm->nr_xapic);

	d->n = 0;
	if (!logical) {
		if (nx && (dest & 0xFFU) == 0xFFU) {
			/* Every xAPIC-mode LAPIC matches: from the list. */
			if (nx > VM_XAPIC_LIST_MAX || !dests_add_id(vm, d, dest, DESTS_X2APIC))
				return MAP_SCAN;
			return dests_add_xapic(vm, d, nx);
		}
		if (!dests_add_id(vm, d, dest, DESTS_ANY))
			return MAP_SCAN;
		/* An xAPIC-mode LAPIC holding the slot of the low 8 bits matches
		 * too (aliasing); an x2APIC-mode holder of that slot cannot. */
		if (nx && dest > 0xFFU && !dests_add_id(vm, d, dest & 0xFFU, DESTS_XAPIC))
			return MAP_SCAN;
		return MAP_OK;
	}
	/* x2APIC IDs whose 16-bit LDR cluster wrapped cannot be mapped; bits
	 * 7:0 of 0xFF name every xAPIC-mode LAPIC, too many for the list. */
	if (vm_load32(&vm->nr_wide) || (nx > VM_XAPIC_LIST_MAX && (dest & 0xFFU) == 0xFFU))
		return MAP_SCAN;
	/* x2APIC: LDR = (ID >> 4) << 16 | 1 << (ID & 0xF) (SDM 10.12.10.2
	 * "Deriving Logical x2APIC ID from the Local x2APIC ID"); none in a
	 * VM of xAPIC-mode LAPICs only. */
	for (uint32_t bits = vm_load32(&vm->nr_x2apic) ? dest & 0xFFFFU : 0; bits;
	     bits &= bits - 1U) {
		uint32_t id = ((dest >> 16) << 4) | (uint32_t)__builtin_ctz(bits);

		if (!dests_add_id(vm, d, id, nx ? DESTS_X2APIC : DESTS_ANY))
			return MAP_SCAN;
	}
	if (!nx)
		return MAP_OK;
	if ((dest & 0xFFU) != 0xFFU) {
		/* xAPIC: bits 7:0 against each one's flat or cluster logical
		 * ID, from the logical map; a shared slot takes the list
		 * instead while it is short enough, else scans. */
		uint32_t n2 = d->n;

		if (dests_add_xlogical(vm, d, dest & 0xFFU) == MAP_OK)
			return MAP_OK;
		if (nx > VM_XAPIC_LIST_MAX)
			return MAP_SCAN;
		d->n = n2;
	}
	return dests_add_xapic(vm, d, nx);
}

/*
 * Reader side of the map sequence counter: retry while a writer is active
 * or the counter moved; after VM_SEQ_TRIES give up and scan (never block).
 */
static void vm_resolve(const struct virq_vm *vm, const struct virq_apic_msg *msg, uint32_t dest,
		       struct vm_dests *d)
{
	d->scan = true;
	d->n = 0;
	if (msg->shorthand != VIRQ_SH_NONE || dest == 0xFFFFFFFFU)
		return;
	for (unsigned t = 0; t < VM_SEQ_TRIES; t++) {
		uint32_t s1 = __atomic_load_n(&vm->map_seq, __ATOMIC_ACQUIRE);
		enum dests_map r;

		if (s1 & 1U) {
			cpu_relax();
			continue;
		}
		r = dests_from_map(vm, dest, msg->logical, d);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (vm_load32(&vm->map_seq) != s1)
			continue;
		/* A validated snapshot holds the whole xAPIC list (vm_priv.h). */
		VIRQ_ASSERT(r != MAP_TORN);
		d->scan = r != MAP_OK;
		return;
	}
	d->n = 0;
}

/* 64-bit words of a set of vCPUs (a bit per vCPU index). */
#define VM_SET_WORDS ((VIRQ_VM_MAX_VCPUS + 63U) / 64U)

/*
 * One map snapshot for a physical broadcast (SDM 10.6.2.3
 * "Broadcast/Self Delivery Mode", 10.12.9 "ICR Operation in x2APIC
 * Mode"): the vCPUs it reaches, by index, into @set. @dest 0xFFFFFFFF
 * reaches every enabled LAPIC (every valid key); 0xFF in an xAPIC-format
 * message every xAPIC-mode LAPIC (the xAPIC list) and an x2APIC-mode one
 * whose ID is 0xFF (the map). MAP_SCAN when the map cannot answer (slot
 * 0xFF shared or past the map), MAP_TORN for a list walk of a torn
 * snapshot.
 */
static enum dests_map bcast_from_map(const struct virq_vm *vm, uint32_t dest, uint64_t *set)
{
	uint32_t n = vm->cfg.nr_vcpus, nx, at, k = 0;
	struct vm_dests d;

	for (uint32_t w = 0; w < (n + 63U) / 64U; w++)
		set[w] = 0;
	if (dest == 0xFFFFFFFFU) {
		for (uint32_t i = 0; i < n; i++)
			set[i / 64U] |= (uint64_t)(vm_load_key(vm, i) >> 32 & 1U) << (i % 64U);
		VIRQ_STATIC_ASSERT(VM_KEY_VALID == 1ULL << 32, "the valid bit is bit 32");
		return MAP_OK;
	}
	d.n = 0;
	if (!dests_add_id(vm, &d, dest, DESTS_X2APIC))
		return MAP_SCAN;
	if (d.n)
		set[d.idx[0] / 64U] |= 1ULL << (d.idx[0] % 64U);
	nx = vm_load32(&vm->nr_xapic);
	for (at = vm_load32(&vm->xapic_head); at && k < nx; k++) {
		if (at > n)
			return MAP_TORN;
		set[(at - 1U) / 64U] |= 1ULL << ((at - 1U) % 64U);
		at = VM_KEY_NEXT(vm_load_key(vm, at - 1U));
	}
	return at || k != nx ? MAP_TORN : MAP_OK;
}

/*
 * The vCPUs physical broadcast @dest reaches, from one validated map
 * snapshot: false when the map cannot answer or kept changing (the caller
 * scans).
 */
static bool vm_resolve_bcast(const struct virq_vm *vm, uint32_t dest, uint64_t *set)
{
	for (unsigned t = 0; t < VM_SEQ_TRIES; t++) {
		uint32_t s1 = __atomic_load_n(&vm->map_seq, __ATOMIC_ACQUIRE);
		enum dests_map r;

		if (s1 & 1U) {
			cpu_relax();
			continue;
		}
		r = bcast_from_map(vm, dest, set);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (vm_load32(&vm->map_seq) != s1)
			continue;
		VIRQ_ASSERT(r != MAP_TORN);
		return r == MAP_OK;
	}
	return false;
}

/*
 * Delivers broadcast @msg to the vCPUs of @set, in index order. The map
 * snapshot has decided who matches (a key is what virq_lapic_match_dest()
 * would read, as of the LAPIC's last virq_vm_update_vcpu()): per target
 * only the LAPIC, whether it accepts a fixed interrupt, and the post.
 */
static unsigned deliver_set(const struct virq_vm *vm, const uint64_t *set,
			    const struct virq_apic_msg *msg, bool fixed)
{
	uint32_t n = vm->cfg.nr_vcpus;
	unsigned count = 0;

	for (uint32_t w = 0; w < (n + 63U) / 64U; w++) {
		for (uint64_t b = set[w]; b; b &= b - 1U) {
			struct virq_lapic *l = vm_vcpu(vm, w * 64U + (uint32_t)__builtin_ctzll(b));

			if (!l)
				continue;
			if (!fixed) {
				virq_lapic_post_msg(l, msg);
				count++;
			} else if (virq_lapic_accepts_fixed(l)) {
				virq_lapic_post(l, msg->vector, msg->trigger_level);
				count++;
			}
		}
	}
	return count;
}

/* Whether map key @key is the sender of @msg (same ID, same mode). */
static bool key_is_src(uint64_t key, const struct virq_apic_msg *msg)
{
	return (key & VM_KEY_VALID) && VM_KEY_ID(key) == msg->src &&
	       !(key & VM_KEY_XAPIC) == msg->x2apic;
}

/* Final arbiter for one candidate: shorthands, else virq_lapic_match_dest(). */
static bool vm_match(const struct virq_vm *vm, uint32_t index, const struct virq_lapic *l,
		     const struct virq_apic_msg *msg, uint32_t dest)
{
	switch (msg->shorthand) {
	case VIRQ_SH_NONE:
		return virq_lapic_match_dest(l, dest, msg->logical);
	case VIRQ_SH_SELF:
		return virq_lapic_match_dest(l, 0xFFFFFFFFU, false) &&
		       key_is_src(vm_load_key(vm, index), msg);
	case VIRQ_SH_ALL_INCL_SELF:
		return virq_lapic_match_dest(l, 0xFFFFFFFFU, false);
	default:
		return virq_lapic_match_dest(l, 0xFFFFFFFFU, false) &&
		       !key_is_src(vm_load_key(vm, index), msg);
	}
}

/* The matched LAPIC number @k of @d, or NULL (absent vCPU, no match). */
static struct virq_lapic *vm_target(const struct virq_vm *vm, const struct vm_dests *d, uint32_t k,
				    const struct virq_apic_msg *msg, uint32_t dest)
{
	uint32_t index = dests_index(d, k);
	struct virq_lapic *l;

	/* Map entries are ours, but the storage is the caller's: bound them. */
	if (index >= vm->cfg.nr_vcpus)
		return NULL;
	l = vm_vcpu(vm, index);
	if (!l || !vm_match(vm, index, l, msg, dest))
		return NULL;
	return l;
}

static unsigned deliver_fixed(const struct virq_vm *vm, const struct vm_dests *d,
			      const struct virq_apic_msg *msg, uint32_t dest)
{
	uint32_t n = dests_count(vm, d);
	unsigned count = 0;

	for (uint32_t k = 0; k < n; k++) {
		struct virq_lapic *l = vm_target(vm, d, k, msg, dest);

		if (l && virq_lapic_accepts_fixed(l)) {
			virq_lapic_post(l, msg->vector, msg->trigger_level);
			count++;
		}
	}
	return count;
}

/*
 * Puts the candidates of a map lookup in vCPU index order, the order of a
 * scan (cluster bits, then the xAPIC list, come in another): with vector
 * hashing the winner is the (vector mod n)-th, and with round-robin the
 * (cursor mod ties)-th tie, whichever path found them. The xAPIC list's
 * order is the history of mode changes, which a restored VM does not
 * share (virq_vm_restore() rebuilds the list): in index order the saved
 * cursor picks the same vCPU in the twin as in the original.
 * Insertion sort of at most VM_LIST_MAX entries.
 */
static void dests_sort(struct vm_dests *d)
{
	for (uint32_t k = 1; k < d->n; k++) {
		uint32_t v = d->idx[k], j = k;

		for (; j && d->idx[j - 1U] > v; j--)
			d->idx[j] = d->idx[j - 1U];
		d->idx[j] = v;
	}
}

/*
 * SDM 10.6.2.4 "Lowest Priority Delivery Mode" leaves the choice among
 * equal priorities to the chipset.
 * Pass 1 finds the lowest PPR class, the number of candidates and of ties,
 * caching the first few; the winner is then the rr-th tie (or the
 * (vector mod n)-th candidate with hashing), taken from the cache or found
 * again by a second pass. A PPR that changes between the passes can only
 * make the second pass come up short; the first-found best then wins.
 */
static unsigned deliver_lowest(struct virq_vm *vm, struct vm_dests *d,
			       const struct virq_apic_msg *msg, uint32_t dest)
{
	struct virq_lapic *cache[VM_LOWEST_CACHE];
	uint8_t cls[VM_LOWEST_CACHE];
	struct virq_lapic *best = NULL, *pick = NULL;
	uint32_t n = dests_count(vm, d);
	uint32_t cands = 0, ties = 0, min = 0x10U, want, seen = 0;
	bool hashing = vm->cfg.lowest_vector_hashing;

	if (!d->scan)
		dests_sort(d);

	for (uint32_t k = 0; k < n; k++) {
		struct virq_lapic *l = vm_target(vm, d, k, msg, dest);
		uint32_t c;

		if (!l || !virq_lapic_accepts_fixed(l))
			continue;
		c = (virq_lapic_get_ppr(l) >> 4) & 0xFU;
		if (cands < VM_LOWEST_CACHE) {
			cache[cands] = l;
			cls[cands] = (uint8_t)c;
		}
		cands++;
		if (c < min) {
			min = c;
			ties = 1;
			best = l;
		} else if (c == min) {
			ties++;
		}
	}
	if (!cands)
		return 0;

	if (hashing)
		want = msg->vector % cands;
	else
		want = __atomic_fetch_add(&vm->lowest_rr, 1U, __ATOMIC_RELAXED) % ties;

	if (cands <= VM_LOWEST_CACHE) {
		for (uint32_t k = 0; k < cands && !pick; k++) {
			if (!hashing && cls[k] != min)
				continue;
			if (seen++ == want)
				pick = cache[k];
		}
	} else {
		for (uint32_t k = 0; k < n && !pick; k++) {
			struct virq_lapic *l = vm_target(vm, d, k, msg, dest);

			if (!l || !virq_lapic_accepts_fixed(l))
				continue;
			if (!hashing && ((virq_lapic_get_ppr(l) >> 4) & 0xFU) > min)
				continue;
			if (seen++ == want)
				pick = l;
		}
	}
	if (!pick)
		pick = best;
	virq_lapic_post(pick, msg->vector, msg->trigger_level);
	return 1;
}

static unsigned deliver_event(const struct virq_vm *vm, const struct vm_dests *d,
			      const struct virq_apic_msg *msg, uint32_t dest)
{
	uint32_t n = dests_count(vm, d);
	unsigned count = 0;

	for (uint32_t k = 0; k < n; k++) {
		struct virq_lapic *l = vm_target(vm, d, k, msg, dest);

		if (l) {
			virq_lapic_post_msg(l, msg);
			count++;
		}
	}
	return count;
}

static void vm_lost(const struct virq_vm *vm, const struct virq_apic_msg *msg)
{
	if (vm->ops->lost)
		vm->ops->lost(vm->ctx, msg);
}

VIRQ_API unsigned virq_vm_deliver(struct virq_vm *vm, const struct virq_apic_msg *msg)
{
	struct vm_dests d;
	uint32_t dest;
	unsigned count;
	bool bcast;

	if (!vm || !msg)
		return 0;
	/* A level de-assert carries no interrupt (KVM drops it too). */
	if (msg->trigger_level && !msg->level)
		return 0;
	dest = msg->dest;
	/* KVM x2APIC broadcast quirk: 0xFF from an I/O APIC or MSI also
	 * reaches x2APIC-mode LAPICs; every enabled LAPIC matches 0xFFFFFFFF. */
	if (vm->cfg.x2apic_broadcast_quirk && msg->src == VIRQ_MSG_SRC_NONE &&
	    msg->shorthand == VIRQ_SH_NONE && dest == 0xFFU)
		dest = 0xFFFFFFFFU;
	bcast = msg->shorthand == VIRQ_SH_NONE && !msg->logical &&
		(dest == 0xFFFFFFFFU || (dest == 0xFFU && !msg->x2apic));

	if (bcast) {
		uint64_t set[VM_SET_WORDS];
		bool fixed = msg->delivery == VIRQ_DM_FIXED || msg->delivery == VIRQ_DM_LOWEST;

		if (vm_resolve_bcast(vm, dest, set)) {
			count = deliver_set(vm, set, msg, fixed);
			if (!count)
				vm_lost(vm, msg);
			return count;
		}
	}
	vm_resolve(vm, msg, dest, &d);
	if (d.scan) /* the slow path only: map lookups stay free of it */
		__atomic_fetch_add(&vm->nr_scans, 1U, __ATOMIC_RELAXED);
	switch (msg->delivery) {
	case VIRQ_DM_FIXED:
		count = deliver_fixed(vm, &d, msg, dest);
		break;
	case VIRQ_DM_LOWEST:
		/* Lowest priority to a physical broadcast: fixed broadcast (KVM). */
		count = bcast ? deliver_fixed(vm, &d, msg, dest)
			      : deliver_lowest(vm, &d, msg, dest);
		break;
	default:
		count = deliver_event(vm, &d, msg, dest);
		break;
	}
	if (!count)
		vm_lost(vm, msg);
	return count;
}

VIRQ_API unsigned virq_vm_send_ipi(struct virq_vm *vm, const struct virq_apic_msg *msg)
{
	return virq_vm_deliver(vm, msg);
}

/* A message for ops->lost when an MSI could not be decoded into one. */
static void msi_lost(const struct virq_vm *vm, uint64_t addr, uint32_t data)
{
	struct virq_apic_msg m;

	if (!vm->ops->lost)
		return;
	virq_memset(&m, 0, sizeof(m));
	m.dest = (uint32_t)(addr >> VIRQ_MSI_ADDR_DEST_SHIFT) & 0xFFU;
	m.src = VIRQ_MSG_SRC_NONE;
	m.vector = (uint8_t)(data & VIRQ_MSI_DATA_VECTOR_MASK);
	m.delivery = (uint8_t)((data >> VIRQ_MSI_DATA_DM_SHIFT) & 7U);
	m.logical = (addr & VIRQ_MSI_ADDR_DM_LOGICAL) != 0;
	m.trigger_level = (data & VIRQ_MSI_DATA_TRIGGER_LEVEL) != 0;
	m.level = true;
	vm->ops->lost(vm->ctx, &m);
}

/*
 * VT-d posting (posted-format IRTE): the IRTE names one descriptor, i.e.
 * one vCPU, so a posted interrupt is single-destination by construction
 * (ACRN's rule that posting is only valid for single-destination
 * interrupts holds without a check here; a multi-destination interrupt is
 * programmed in remapped format and resolved like any message).
 */
static unsigned msi_post(const struct virq_vm *vm, uint64_t addr, uint32_t data,
			 const struct virq_ir_result *r)
{
	struct virq_pi_desc *desc = vm->ops->pi_desc ? vm->ops->pi_desc(vm->ctx, r->pda) : NULL;

	if (!desc) {
		msi_lost(vm, addr, data);
		return 0;
	}
	if (virq_pi_post(desc, r->vector, r->urgent) && vm->ops->pi_notify)
		vm->ops->pi_notify(vm->ctx, desc);
	return 1;
}

VIRQ_API unsigned virq_vm_send_msi(struct virq_vm *vm, uint64_t addr, uint32_t data, uint16_t sid)
{
	struct virq_apic_msg msg;
	uint64_t ir;
	int err;

	if (!vm)
		return 0;
	if (vm->ops->deliver_msi)
		return vm->ops->deliver_msi(vm->ctx, addr, data, sid, VIRQ_VM_NO_GSI);
	ir = __atomic_load_n(&vm->ir_word, __ATOMIC_RELAXED);
	if (ir & VM_IR_ENABLED) {
		struct virq_ir_config cfg = { .size = sizeof(cfg) };
		struct virq_ir_result r;

		cfg.table_entries = (uint32_t)(ir & VM_IR_ENTRIES_MASK);
		cfg.eime = (ir & VM_IR_EIME) != 0;
		cfg.cfi = (ir & VM_IR_CFI) != 0;
		cfg.posting = (ir & VM_IR_POSTING) != 0;
		err = virq_ir_translate(&cfg, addr, data, sid, vm->ops->read_irte, vm->ctx, &r);
		if (err) {
			msi_lost(vm, addr, data);
			return 0;
		}
		switch (r.kind) {
		case VIRQ_IR_REMAPPED:
		case VIRQ_IR_COMPAT:
			return virq_vm_deliver(vm, &r.msg);
		case VIRQ_IR_POSTED:
			return msi_post(vm, addr, data, &r);
		default: /* blocked: a fault for the IOMMU model, not a loss */
			if (!r.fpd && vm->ops->ir_fault)
				vm->ops->ir_fault(vm->ctx, sid, r.fault, r.index);
			return 0;
		}
	}
	err = virq_msi_decode(addr, data, vm->cfg.msi_flags, &msg);
	if (err) {
		/* Not an interrupt, or remappable without remapping. */
		msi_lost(vm, addr, data);
		return 0;
	}
	return virq_vm_deliver(vm, &msg);
}
