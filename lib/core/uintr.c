/* SPDX-License-Identifier: MIT */
/*
 * User interrupts: the UPID and UITT entry helpers, SENDUIPI's posting rule,
 * user-interrupt notification processing and the UINTR MSR checks.
 *
 * Follows SDM Vol. 2 "SENDUIPI—Send User Interprocessor Interrupt" (UITTE
 * and UPID formats, the posting operation) and SDM Vol. 3A chapter "User
 * Interrupts" ("User-Interrupt State and User-Interrupt MSRs",
 * "User-Interrupt Notification Processing"). The UPID's control word has
 * the posted-interrupt descriptor's ON, SN, NV and NDST bits, so the
 * control-word steps are those of lib/core/pi_impl.h.
 */
#include <virq/uintr.h>

#include "pi_impl.h"

VIRQ_STATIC_ASSERT(VIRQ_UINTR_UPID_ON == VIRQ_PI_CTRL_ON && VIRQ_UINTR_UPID_SN == VIRQ_PI_CTRL_SN,
		   "UPID ON and SN sit where the PID's control word has them");
VIRQ_STATIC_ASSERT(VIRQ_UINTR_UPID_NV_MASK == VIRQ_PI_CTRL_NV_MASK &&
			   VIRQ_UINTR_UPID_NDST_MASK == VIRQ_PI_CTRL_NDST_MASK,
		   "UPID NV and NDST sit where the PID's control word has them");
VIRQ_STATIC_ASSERT(__builtin_offsetof(struct virq_uintr_upid, control) == 0 &&
			   __builtin_offsetof(struct virq_uintr_upid, pir) == 8,
		   "UPID: control word at bytes 7:0, PIR at bytes 15:8");
VIRQ_STATIC_ASSERT(__builtin_offsetof(struct virq_uintr_uitte, control) == 0 &&
			   __builtin_offsetof(struct virq_uintr_uitte, upid_addr) == 8,
		   "UITTE: V and UV at bytes 7:0, UPIDADDR at bytes 15:8");

VIRQ_API int virq_uintr_upid_init(struct virq_uintr_upid *upid, uint8_t nv, uint32_t ndst)
{
	if (!upid)
		return -VIRQ_EINVAL;
	if ((uintptr_t)upid & (VIRQ_UINTR_UPID_ALIGN - 1U))
		return -VIRQ_EALIGN;
	virq_atomic_store64(&upid->pir, 0);
	virq_atomic_store64(&upid->control, (uint64_t)nv << VIRQ_UINTR_UPID_NV_SHIFT |
						    (uint64_t)ndst << VIRQ_UINTR_UPID_NDST_SHIFT);
	return 0;
}

VIRQ_API int virq_uintr_upid_set_notification(struct virq_uintr_upid *upid, uint8_t nv,
					      uint32_t ndst)
{
	if (!upid)
		return -VIRQ_EINVAL;
	pi_ctrl_set_notification(&upid->control, nv, ndst);
	return 0;
}

VIRQ_API int virq_uintr_upid_set_sn(struct virq_uintr_upid *upid, bool suppress)
{
	if (!upid)
		return -VIRQ_EINVAL;
	return pi_ctrl_set_sn(&upid->control, &upid->pir, 1, suppress) ? 1 : 0;
}

VIRQ_API int virq_uintr_uitte_set(struct virq_uintr_uitte *e, uint8_t uv, uint64_t upid_addr)
{
	if (!e || uv >= VIRQ_UINTR_VECTORS || (upid_addr & VIRQ_UINTR_UITTE_ADDR_RSVD))
		return -VIRQ_EINVAL;
	/* Invalid first, so a concurrent SENDUIPI never pairs the old vector
	 * with the new address or the other way round. */
	virq_atomic_store64(&e->control, 0);
	virq_atomic_store64(&e->upid_addr, upid_addr);
	virq_atomic_store64(&e->control,
			    VIRQ_UINTR_UITTE_V | (uint64_t)uv << VIRQ_UINTR_UITTE_UV_SHIFT);
	return 0;
}

VIRQ_API int virq_uintr_uitte_clear(struct virq_uintr_uitte *e)
{
	if (!e)
		return -VIRQ_EINVAL;
	virq_atomic_store64(&e->control, 0);
	virq_atomic_store64(&e->upid_addr, 0);
	return 0;
}

VIRQ_API int virq_uintr_uitte_read(const struct virq_uintr_uitte *uitt, uint32_t uittsz,
				   uint64_t index, uint8_t *uv, uint64_t *upid_addr)
{
	uint64_t w0, addr;

	if (!uitt || !uv || !upid_addr)
		return -VIRQ_EINVAL;
	/* SENDUIPI: reg > UITTSZ is #GP(0). */
	if (index > uittsz)
		return -VIRQ_EINVAL;
	w0 = virq_atomic_load64(&uitt[index].control);
	addr = virq_atomic_load64(&uitt[index].upid_addr);
	/* V = 0, or any reserved bit (7:1, 15:14, 63:16, 69:64) set: #GP(0). */
	if (!(w0 & VIRQ_UINTR_UITTE_V) || (w0 & VIRQ_UINTR_UITTE_RSVD) ||
	    (addr & VIRQ_UINTR_UITTE_ADDR_RSVD))
		return -VIRQ_EINVAL;
	*uv = (uint8_t)((w0 & VIRQ_UINTR_UITTE_UV_MASK) >> VIRQ_UINTR_UITTE_UV_SHIFT);
	*upid_addr = addr;
	return 0;
}

VIRQ_API int virq_uintr_post(struct virq_uintr_upid *upid, uint8_t uv, uint64_t *control)
{
	if (!upid || uv >= VIRQ_UINTR_VECTORS)
		return -VIRQ_EINVAL;
	/* SENDUIPI reads the UPID first and faults on a reserved bit without
	 * writing it. */
	if (virq_atomic_load64(&upid->control) & VIRQ_UINTR_UPID_RSVD)
		return -VIRQ_EINVAL;
	/*
	 * PIR[uv] = 1 with a locked instruction (a full barrier), then the ON
	 * step of the posted-interrupt protocol. SENDUIPI applies the ON rule
	 * whether or not PIR[uv] was already set, so there is no early return
	 * for an already pending vector as in virq_pi_post_inline(): the receiver's
	 * OS may have cleared SN with a plain store, and the next SENDUIPI
	 * must then notify.
	 */
	(void)virq_atomic_test_and_set_bit64(&upid->pir, uv);
	if (!virq_pi_ctrl_arm_(&upid->control, false))
		return 0;
	if (control)
		*control = virq_atomic_load64(&upid->control);
	return 1;
}

VIRQ_API int virq_uintr_senduipi(const struct virq_uintr_uitte *uitt, uint32_t uittsz,
				 uint64_t index, virq_uintr_map_fn map, void *ctx,
				 uint64_t *control)
{
	struct virq_uintr_upid *upid;
	uint64_t addr;
	uint8_t uv;
	int rc;

	if (!map)
		return -VIRQ_EINVAL;
	rc = virq_uintr_uitte_read(uitt, uittsz, index, &uv, &addr);
	if (rc < 0)
		return rc;
	upid = map(ctx, addr);
	if (!upid || ((uintptr_t)upid & 7U))
		return -VIRQ_ENOENT;
	return virq_uintr_post(upid, uv, control);
}

VIRQ_API uint32_t virq_uintr_notify_dest(uint64_t control, bool x2apic)
{
	uint32_t ndst = (uint32_t)(control >> VIRQ_UINTR_UPID_NDST_SHIFT);

	return x2apic ? ndst : (ndst >> 8) & 0xFFU;
}

VIRQ_API int virq_uintr_notify_process(struct virq_uintr_upid *upid, uint64_t *uirr)
{
	if (!upid || !uirr)
		return -VIRQ_EINVAL;
	/* Step order of "User-Interrupt Notification Processing": clear ON,
	 * then read and clear PIR in one locked operation. */
	pi_ctrl_clear_on(&upid->control);
	*uirr |= pi_take_word(&upid->pir);
	return *uirr != 0;
}

/* @addr is canonical for a @la_bits-wide linear address: bits 63:la_bits-1
 * all equal. */
static bool uintr_canonical(uint64_t addr, unsigned la_bits)
{
	uint64_t top = addr >> (la_bits - 1U);

	return top == 0 || top == (~0ULL >> (la_bits - 1U));
}

VIRQ_API int virq_uintr_msr_check(uint32_t msr, uint64_t val, unsigned la_bits)
{
	if (la_bits != 48U && la_bits != 57U)
		return -VIRQ_EINVAL;
	switch (msr) {
	case VIRQ_MSR_IA32_UINTR_RR:
		return 0; /* UIRR: any value */
	case VIRQ_MSR_IA32_UINTR_HANDLER:
	case VIRQ_MSR_IA32_UINTR_STACKADJUST:
		return uintr_canonical(val, la_bits) ? 0 : -VIRQ_EINVAL;
	case VIRQ_MSR_IA32_UINTR_MISC:
		return (val & VIRQ_UINTR_MISC_RSVD) ? -VIRQ_EINVAL : 0;
	case VIRQ_MSR_IA32_UINTR_PD:
		if (val & VIRQ_UINTR_PD_RSVD)
			return -VIRQ_EINVAL;
		return uintr_canonical(val, la_bits) ? 0 : -VIRQ_EINVAL;
	case VIRQ_MSR_IA32_UINTR_TT:
		if (val & VIRQ_UINTR_TT_RSVD)
			return -VIRQ_EINVAL;
		/* UITTADDR is bits 63:4; bit 0 is the valid flag. */
		return uintr_canonical(val & ~0xFULL, la_bits) ? 0 : -VIRQ_EINVAL;
	default:
		return -VIRQ_ENOENT;
	}
}

VIRQ_API int virq_uintr_msrs_restore(struct virq_uintr_msrs *dst, const struct virq_uintr_msrs *src,
				     unsigned la_bits)
{
	uint64_t v[6];

	if (!dst || !src)
		return -VIRQ_EINVAL;
	/* Read once, check what was read, then store exactly that. */
	v[0] = src->rr;
	v[1] = src->handler;
	v[2] = src->stackadjust;
	v[3] = src->misc;
	v[4] = src->pd;
	v[5] = src->tt;
	for (uint32_t i = 0; i < 6U; i++)
		if (virq_uintr_msr_check(VIRQ_MSR_IA32_UINTR_RR + i, v[i], la_bits) < 0)
			return -VIRQ_EINVAL;
	dst->rr = v[0];
	dst->handler = v[1];
	dst->stackadjust = v[2];
	dst->misc = v[3];
	dst->pd = v[4];
	dst->tt = v[5];
	return 0;
}
