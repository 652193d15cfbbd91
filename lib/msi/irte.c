/* SPDX-License-Identifier: MIT */
/*
 * Host interrupt-remapping table entries for an assigned device's
 * interrupts: the posted format that makes the IOMMU post the guest's
 * vector into a vCPU's posted-interrupt descriptor, the remapped format of
 * the fallback, the choice between them, and the update of a live entry
 * (VT-d specification 5.1.3 "Interrupt Remapping Table", 5.2 "Interrupt
 * Posting", 9.10 "Interrupt Remapping Table Entry (IRTE) for Remapped
 * Interrupts", 9.11 "Interrupt Remapping Table Entry (IRTE) for Posted
 * Interrupts").
 *
 * The field layout is the one lib/msi/ir.c decodes (msi_priv.h); the
 * public VIRQ_IRTE_* names repeat it for embedders and are checked
 * against it below.
 */
#include "msi_priv.h"

VIRQ_STATIC_ASSERT(VIRQ_IRTE_P == IRTE_P && VIRQ_IRTE_FPD == IRTE_FPD && VIRQ_IRTE_IM == IRTE_IM &&
			   VIRQ_IRTE_URG == IRTE_URG,
		   "public and private IRTE bits agree");
VIRQ_STATIC_ASSERT(VIRQ_IRTE_VECTOR_SHIFT == IRTE_VECTOR_SHIFT &&
			   VIRQ_IRTE_PDA_LO_SHIFT == IRTE_PDA_L_SHIFT &&
			   VIRQ_IRTE_PDA_HI_SHIFT == IRTE_PDA_H_SHIFT &&
			   VIRQ_IRTE_DST_SHIFT == IRTE_DST_SHIFT &&
			   VIRQ_IRTE_SQ_SHIFT == IRTE_SQ_SHIFT &&
			   VIRQ_IRTE_SVT_SHIFT == IRTE_SVT_SHIFT,
		   "public and private IRTE shifts agree");

#define IRTE_PDA_ALIGN 64U
#define IRTE_VECTOR_MIN 16U
#define IRTE_XAPIC_DEST_MAX 0xFFU
#define IRTE_XAPIC_BROADCAST 0xFFU
#define IRTE_X2APIC_BROADCAST 0xFFFFFFFFU

/* Checks the embedder's settings; 0 or a negative error. */
static int irte_host_check(const struct virq_irte_host *host)
{
	if (!VIRQ_SIZE_ACCEPTED(host->size, VIRQ_IRTE_HOST_SIZE_MIN, struct virq_irte_host))
		return -VIRQ_EVERSION;
	/* SVT 11 is reserved (9.10, SVT); SQ is two bits. */
	if (host->sq > 3U || host->svt > IRTE_SVT_BUS)
		return -VIRQ_EINVAL;
	return 0;
}

/* Bits 83:64, common to both formats: SID, SQ, SVT. */
static uint64_t irte_source(const struct virq_irte_host *host)
{
	return (uint64_t)host->sid | (uint64_t)host->sq << IRTE_SQ_SHIFT |
	       (uint64_t)host->svt << IRTE_SVT_SHIFT;
}

/* The checks both formats start with: arguments, the embedder's settings,
 * a vector of 16 or above. */
static int irte_args(const struct virq_irte_host *host, uint8_t vector, const uint64_t *out)
{
	int rc;

	if (!host || !out)
		return -VIRQ_EINVAL;
	rc = irte_host_check(host);
	if (rc)
		return rc;
	return vector < IRTE_VECTOR_MIN ? -VIRQ_EINVAL : 0;
}

int virq_irte_posted(const struct virq_irte_host *host, uint64_t pda, uint8_t vector,
		     uint64_t out[2])
{
	uint64_t lo;
	int rc;

	rc = irte_args(host, vector, out);
	if (rc)
		return rc;
	if (pda & (IRTE_PDA_ALIGN - 1U))
		return -VIRQ_EALIGN;

	/* 9.11: P, FPD, URG 14, IM 15, VV 23:16, PDA[31:6] in 63:38. */
	lo = IRTE_P | IRTE_IM | (uint64_t)vector << IRTE_VECTOR_SHIFT |
	     ((pda & 0xFFFFFFFFULL) >> 6) << IRTE_PDA_L_SHIFT;
	if (host->fpd)
		lo |= IRTE_FPD;
	if (host->urgent)
		lo |= IRTE_URG;
	out[0] = lo;
	/* SID/SQ/SVT in 83:64, PDA[63:32] in 127:96. */
	out[1] = irte_source(host) | (pda >> 32) << IRTE_PDA_H_SHIFT;
	return 0;
}

int virq_irte_remapped(const struct virq_irte_host *host, uint64_t out[2])
{
	uint64_t lo;
	uint64_t dst;
	int rc;

	rc = irte_args(host, host ? host->vector : 0, out);
	if (rc)
		return rc;
	if (!host->x2apic && host->dest > IRTE_XAPIC_DEST_MAX)
		return -VIRQ_EINVAL;

	/* 9.10: xAPIC mode takes the 8-bit APIC ID from DST[15:8]. */
	dst = host->x2apic ? host->dest : (uint64_t)host->dest << 8;
	/* DM = 0 (physical), RH = 0, TM = 0 (edge), DLM = 000 (fixed), IM = 0. */
	lo = IRTE_P | (uint64_t)host->vector << IRTE_VECTOR_SHIFT | dst << IRTE_DST_SHIFT;
	if (host->fpd)
		lo |= IRTE_FPD;
	out[0] = lo;
	out[1] = irte_source(host);
	return 0;
}

/* Whether the message can be posted at all, before asking which vCPUs it
 * targets: the IOMMU posts one vector, edge, into one descriptor (5.2). */
static bool irte_postable(const struct virq_apic_msg *msg)
{
	uint32_t bcast = msg->x2apic ? IRTE_X2APIC_BROADCAST : IRTE_XAPIC_BROADCAST;

	if (msg->delivery != VIRQ_DM_FIXED && msg->delivery != VIRQ_DM_LOWEST)
		return false;
	if (msg->trigger_level || msg->vector < IRTE_VECTOR_MIN)
		return false;
	return msg->logical || msg->dest != bcast;
}

int virq_irte_compose(const struct virq_irte_host *host, const struct virq_apic_msg *msg,
		      virq_irte_lookup_fn lookup, void *ctx, uint64_t out[2])
{
	uint64_t fallback[2];
	uint64_t posted[2];
	uint64_t pda = 0;
	int n;
	int rc;

	if (!host || !msg || !lookup || !out)
		return -VIRQ_EINVAL;
	if (msg->shorthand != VIRQ_SH_NONE || msg->delivery > VIRQ_DM_EXTINT)
		return -VIRQ_EINVAL;
	/* The fallback must be valid whatever the choice: a later retarget may need it. */
	rc = virq_irte_remapped(host, fallback);
	if (rc)
		return rc;
	if (irte_postable(msg)) {
		n = lookup(ctx, msg, &pda);
		if (n < 0)
			return n;
		if (n == 1) {
			rc = virq_irte_posted(host, pda, msg->vector, posted);
			if (rc == -VIRQ_EALIGN)
				return -VIRQ_EINVAL;
			if (rc)
				return rc;
			out[0] = posted[0];
			out[1] = posted[1];
			return VIRQ_IR_POSTED;
		}
	}
	out[0] = fallback[0];
	out[1] = fallback[1];
	return VIRQ_IR_REMAPPED;
}

#if defined(__x86_64__)
/* LOCK CMPXCHG16B: one 128-bit locked read-modify-write (SDM Vol. 2,
 * "CMPXCHG8B/CMPXCHG16B"; the operand must be 16-byte aligned). Returns
 * true when @p p held @p old and now holds @p val; else @p old receives
 * what @p p held. */
static bool irte_cas128(uint64_t *p, uint64_t old[2], const uint64_t val[2])
{
	uint64_t lo = old[0];
	uint64_t hi = old[1];
	bool ok;

	__asm__ __volatile__("lock cmpxchg16b %1"
			     : "=@ccz"(ok), "+m"(*(volatile uint64_t(*)[2])p), "+a"(lo), "+d"(hi)
			     : "b"(val[0]), "c"(val[1])
			     : "memory");
	old[0] = lo;
	old[1] = hi;
	return ok;
}
#endif

int virq_irte_update(uint64_t *irte, const uint64_t val[2], uint32_t index,
		     virq_irte_invalidate_fn invalidate, void *ctx)
{
	uint64_t old[2];

	if (!irte || !val || !invalidate)
		return -VIRQ_EINVAL;
	if ((uintptr_t)irte & 15U)
		return -VIRQ_EALIGN;

	old[0] = virq_atomic_load64(&irte[0]);
	old[1] = virq_atomic_load64(&irte[1]);
	if (old[0] == val[0] && old[1] == val[1])
		return VIRQ_IRTE_UNCHANGED;

	if (!(old[0] & IRTE_P)) {
		/* Not present until the low half, which holds P, lands last. */
		virq_atomic_store64(&irte[1], val[1]);
		virq_atomic_store64(&irte[0], val[0]);
	} else if (!(val[0] & IRTE_P)) {
		/* Not present from the first store on. */
		virq_atomic_store64(&irte[0], val[0]);
		virq_atomic_store64(&irte[1], val[1]);
	} else if (old[1] == val[1]) {
		virq_atomic_store64(&irte[0], val[0]);
	} else if (old[0] == val[0]) {
		virq_atomic_store64(&irte[1], val[1]);
	} else {
#if defined(__x86_64__)
		/* Only updaters write a live entry, and they are serialised:
		 * the first attempt succeeds; the loop covers a caller that
		 * broke that rule without tearing the entry. */
		while (!irte_cas128(irte, old, val)) {
		}
#else
		return -VIRQ_ENOTSUP;
#endif
	}
	invalidate(ctx, index);
	return 0;
}
