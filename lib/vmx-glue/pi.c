/* SPDX-License-Identifier: MIT */
/*
 * VT-x posted interrupts: the vCPU's scheduling state in the LAPIC's
 * posted-interrupt descriptor (SDM Vol. 3C "Posted-Interrupt Processing":
 * the CPU notified with NV in VMX non-root operation clears ON, moves PIR
 * into VIRR, raises RVI and evaluates; a poster sends NV to NDST only when
 * it turned ON from 0 to 1, and none while SN is set), and the decision a
 * poster's kick takes (<virq/vmx_pi.h>). NV and NDST change together in one
 * compare-exchange (virq_pi_set_notification()), SN with a locked AND or OR
 * (virq_pi_set_sn()), so ON and PIR bits a concurrent poster sets are kept.
 */
#include "vmx_glue.h"

#include <virq/vmx_pi.h>

static bool pi_on(const struct virq_vmx_vcpu *vx)
{
	return vx->pi_vector != 0;
}

/* NDST in the host's format (SDM Vol. 3C "Posted-Interrupt Processing":
 * xAPIC mode reads the destination from NDST[15:8], x2APIC from all 32
 * bits). */
static uint32_t pi_ndst(const struct virq_vmx_vcpu *vx, uint32_t id)
{
	return (vx->flags & VIRQ_VMX_F_HOST_X2APIC) ? id : (id & 0xFFU) << 8;
}

static uint32_t pi_dest(const struct virq_vmx_vcpu *vx, uint64_t control)
{
	uint32_t ndst = (uint32_t)((control & VIRQ_PI_CTRL_NDST_MASK) >> VIRQ_PI_CTRL_NDST_SHIFT);

	return (vx->flags & VIRQ_VMX_F_HOST_X2APIC) ? ndst : (ndst >> 8) & 0xFFU;
}

static void pi_set_state(struct virq_vmx_vcpu *vx, enum virq_vmx_pi_state st)
{
	virq_atomic_store32(&vx->pi_state, (uint32_t)st);
}

/* NV back to the notification vector with NDST kept, SN clear: what
 * virq_vmx_pi_load() does for the CPU NDST already names. */
static void pi_rearm(struct virq_vmx_vcpu *vx, uint32_t ndst)
{
	virq_pi_set_notification(&vx->lapic->pi, vx->pi_vector, ndst);
	/* A PIR that filled while SN was set leaves ON set (pi.h): the fold
	 * before the next entry takes it, so the return value is not needed. */
	(void)virq_pi_set_sn(&vx->lapic->pi, false);
}

VIRQ_API int virq_vmx_pi_load(struct virq_vmx_vcpu *vx, uint32_t host_apic_id)
{
	if (!vx)
		return -VIRQ_EINVAL;
	if ((vx->flags & VIRQ_VMX_F_HOST_X2APIC) ? host_apic_id == 0xFFFFFFFFU
						 : host_apic_id > 0xFFU)
		return -VIRQ_EINVAL;
	if (pi_on(vx))
		pi_rearm(vx, pi_ndst(vx, host_apic_id));
	pi_set_state(vx, VIRQ_VMX_PI_ROOT);
	return 0;
}

VIRQ_API int virq_vmx_pi_put(struct virq_vmx_vcpu *vx)
{
	if (!vx)
		return -VIRQ_EINVAL;
	if (virq_atomic_load32(&vx->pi_state) == VIRQ_VMX_PI_BLOCKED)
		return 0;
	if (pi_on(vx))
		(void)virq_pi_set_sn(&vx->lapic->pi, true);
	pi_set_state(vx, VIRQ_VMX_PI_PREEMPTED);
	return 0;
}

VIRQ_API int virq_vmx_pi_block(struct virq_vmx_vcpu *vx)
{
	uint64_t ctrl;

	if (!vx)
		return -VIRQ_EINVAL;
	if (pi_on(vx)) {
		ctrl = virq_atomic_load64(&vx->lapic->pi.control);
		virq_pi_set_notification(&vx->lapic->pi, vx->pi_wakeup,
					 (uint32_t)((ctrl & VIRQ_PI_CTRL_NDST_MASK) >>
						    VIRQ_PI_CTRL_NDST_SHIFT));
		(void)virq_pi_set_sn(&vx->lapic->pi, false);
	}
	/*
	 * The state first, then the check (sequentially consistent both, as
	 * the poster's ON and its read of the state): a post either finds
	 * ::VIRQ_VMX_PI_BLOCKED and wakes, or is seen here.
	 */
	(void)virq_atomic_xchg32(&vx->pi_state, VIRQ_VMX_PI_BLOCKED);
	if (!vx->lapic)
		return 0;
	return virq_pi_pending(&vx->lapic->pi) || virq_lapic_has_posted_events(vx->lapic) ? 1 : 0;
}

VIRQ_API enum virq_vmx_pi_action virq_vmx_pi_kick(const struct virq_vmx_vcpu *vx, uint32_t *dest)
{
	switch (virq_atomic_load32(&vx->pi_state)) {
	case VIRQ_VMX_PI_GUEST:
		if (!pi_on(vx) || !vx->lapic)
			return VIRQ_VMX_PI_EXIT;
		*dest = pi_dest(vx, virq_atomic_load64(&vx->lapic->pi.control));
		/* Only PIR rides on the notification. */
		return virq_lapic_has_posted_events(vx->lapic) ? VIRQ_VMX_PI_EXIT
							       : VIRQ_VMX_PI_NOTIFY;
	case VIRQ_VMX_PI_BLOCKED:
		return VIRQ_VMX_PI_WAKE;
	default:
		return VIRQ_VMX_PI_NONE;
	}
}

VIRQ_API bool virq_vmx_pi_should_wake(const struct virq_vmx_vcpu *vx)
{
	return virq_atomic_load32(&vx->pi_state) == VIRQ_VMX_PI_BLOCKED && vx->lapic &&
	       virq_lapic_has_posted(vx->lapic);
}

VIRQ_API enum virq_vmx_pi_state virq_vmx_pi_get_state(const struct virq_vmx_vcpu *vx)
{
	return (enum virq_vmx_pi_state)virq_atomic_load32(&vx->pi_state);
}

/*
 * virq_vmx_prepare_entry(), before anything folds PIR: the state goes to
 * ::VIRQ_VMX_PI_GUEST (an exchange, a full barrier), then a sequentially
 * consistent read of the control word, so the fold that follows sees every
 * PIR bit whose poster read the old state. A descriptor left blocked or
 * suppressed (no virq_vmx_pi_load() since) is re-armed for the CPU NDST
 * names: entering with SN set would make the CPU's own posters silent.
 */
void vmx_pi_enter(struct virq_vmx_vcpu *vx)
{
	uint32_t old = virq_atomic_xchg32(&vx->pi_state, VIRQ_VMX_PI_GUEST);
	uint64_t ctrl;

	if (!vx->lapic)
		return;
	ctrl = virq_atomic_load64(&vx->lapic->pi.control);
	if (pi_on(vx) && old != VIRQ_VMX_PI_ROOT && old != VIRQ_VMX_PI_GUEST)
		pi_rearm(vx,
			 (uint32_t)((ctrl & VIRQ_PI_CTRL_NDST_MASK) >> VIRQ_PI_CTRL_NDST_SHIFT));
}

/* virq_vmx_prepare_entry() did not enter, or the guest exited. */
void vmx_pi_leave(struct virq_vmx_vcpu *vx)
{
	pi_set_state(vx, VIRQ_VMX_PI_ROOT);
}
