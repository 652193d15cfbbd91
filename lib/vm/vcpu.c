/* SPDX-License-Identifier: MIT */
/*
 * The vCPU event policy (doc/architecture.md: the policy decides, a glue
 * encodes; SDM 6.9, "Priority Among Concurrent Exceptions and Interrupts",
 * for the order; one event injected per VM entry, SDM Vol. 3C, "Event
 * Injection").
 */
#include <virq/vcpu.h>

#include "vm_priv.h"

#define WAKE_ALWAYS (VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI | VIRQ_LAPIC_EV_SMI)

VIRQ_API int virq_vcpu_init(struct virq_vcpu *vcpu, struct virq_lapic *lapic, struct virq_vm *vm)
{
	if (!vcpu || (!lapic && !vm))
		return -VIRQ_EINVAL;
	virq_memset(vcpu, 0, sizeof(*vcpu));
	vcpu->lapic = lapic;
	vcpu->vm = vm;
	return 0;
}

VIRQ_API void virq_vcpu_reset(struct virq_vcpu *vcpu)
{
	if (!vcpu)
		return;
	vcpu->nmi_pending = 0;
	vcpu->held = 0;
	vcpu->sipi_vector = 0;
}

VIRQ_API const struct virq_vcpu_stats *virq_vcpu_get_stats(const struct virq_vcpu *vcpu)
{
	return &vcpu->stats;
}

/* Moves the LAPIC's new events into the policy: NMIs are counted, the rest
 * held until decided. INIT discards what was held (the vCPU resets). */
static void take(struct virq_vcpu *v)
{
	struct virq_lapic_events ev;

	if (!virq_lapic_take_events(v->lapic, &ev))
		return;
	if (ev.flags & VIRQ_LAPIC_EV_INIT) {
		v->nmi_pending = 0;
		v->held = 0;
	}
	if (ev.flags & VIRQ_LAPIC_EV_NMI) {
		/* One or two NMIs (nmi_count), added up to the two held. */
		unsigned n = ev.nmi_count > 1U ? 2U : 1U;

		while (n--) {
			if (v->nmi_pending < VIRQ_VCPU_MAX_PENDING_NMI)
				v->nmi_pending++;
			else
				v->stats.nmi_dropped++;
		}
	}
	if (ev.flags & VIRQ_LAPIC_EV_SIPI)
		v->sipi_vector = ev.sipi_vector;
	v->held |= ev.flags & ~VIRQ_LAPIC_EV_NMI;
}

/* The external interrupt to inject now, acknowledged, or false. */
static bool take_intr(struct virq_vcpu *v, struct virq_vcpu_decision *d)
{
	int vec;

	if (v->held & VIRQ_LAPIC_EV_EXTINT) {
		v->held &= ~VIRQ_LAPIC_EV_EXTINT;
		/* INTA only while INT is still asserted: a request whose
		 * line dropped meanwhile is gone, as on the INTR pin. */
		vec = v->vm ? virq_vm_pic_take(v->vm) : -1;
		if (vec >= 0) {
			d->vector = (uint8_t)vec;
			d->source = VIRQ_VCPU_SRC_PIC;
			v->stats.intr_pic++;
			return true;
		}
	}
	vec = virq_lapic_ack(v->lapic);
	if (vec == VIRQ_LAPIC_NO_VECTOR)
		return false;
	d->vector = (uint8_t)vec;
	d->source = VIRQ_VCPU_SRC_LAPIC;
	v->stats.intr_lapic++;
	return true;
}

static bool intr_waiting(struct virq_vcpu *v)
{
	return (v->held & VIRQ_LAPIC_EV_EXTINT) || virq_lapic_pending(v->lapic) >= 0;
}

/* The LAPIC lives elsewhere (KVM's split irqchip): the backend's LAPIC took
 * the INTR pin (its LINT0 in virtual wire, which the backend folds into
 * w->intr); only the 8259's ExtINT is ours to decide. */
static uint32_t decide_extint(struct virq_vcpu *v, const struct virq_vcpu_window *w,
			      struct virq_vcpu_decision *d)
{
	int vec;

	if (!virq_vm_pic_asserted(v->vm))
		return 0;
	if (w->intr) {
		/* INT may drop before the INTA cycle: then nothing is owed. */
		vec = virq_vm_pic_take(v->vm);
		if (vec >= 0) {
			d->actions = VIRQ_VCPU_INTR;
			d->vector = (uint8_t)vec;
			d->source = VIRQ_VCPU_SRC_PIC;
			v->stats.intr_pic++;
		}
		return d->actions;
	}
	d->actions = VIRQ_VCPU_INTR_WINDOW;
	v->stats.intr_windows++;
	return d->actions;
}

VIRQ_API uint32_t virq_vcpu_decide(struct virq_vcpu *vcpu, const struct virq_vcpu_window *w,
				   struct virq_vcpu_decision *d)
{
	struct virq_vcpu *v = vcpu;
	bool intr_open = w->intr;

	virq_memset(d, 0, sizeof(*d));
	if (!v->lapic)
		return decide_extint(v, w, d);
	(void)virq_lapic_sync(v->lapic);
	take(v);

	/* INIT and SIPI: the vCPU restarts; nothing is injected with them. */
	if (v->held & (VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI)) {
		if (v->held & VIRQ_LAPIC_EV_INIT) {
			d->actions |= VIRQ_VCPU_INIT;
			v->stats.init++;
		}
		if (v->held & VIRQ_LAPIC_EV_SIPI) {
			d->actions |= VIRQ_VCPU_SIPI;
			d->sipi_vector = v->sipi_vector;
			v->stats.sipi++;
		}
		v->held &= ~(VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI);
		if (!(d->actions & VIRQ_VCPU_SIPI) &&
		    virq_lapic_get_mp_state(v->lapic) == VIRQ_LAPIC_MP_WAIT_SIPI)
			d->actions |= VIRQ_VCPU_WAIT_SIPI;
		return d->actions;
	}
	if (virq_lapic_get_mp_state(v->lapic) == VIRQ_LAPIC_MP_WAIT_SIPI) {
		d->actions = VIRQ_VCPU_WAIT_SIPI;
		return d->actions;
	}
	if (v->held & VIRQ_LAPIC_EV_SMI) {
		v->held &= ~VIRQ_LAPIC_EV_SMI;
		d->actions |= VIRQ_VCPU_SMI;
		v->stats.smi++;
		/* SMM entry is this entry's event. */
		intr_open = false;
	} else if (v->nmi_pending && w->nmi) {
		v->nmi_pending--;
		d->actions |= VIRQ_VCPU_NMI;
		v->stats.nmi++;
		intr_open = false; /* one event per entry */
	}
	/* An NMI still held (behind an SMI, blocked, or a second one). */
	if (v->nmi_pending)
		d->actions |= VIRQ_VCPU_NMI_WINDOW;
	if (intr_open && take_intr(v, d))
		d->actions |= VIRQ_VCPU_INTR;
	/* Re-checked after an injection: an 8259 vector leaves the LAPIC's
	 * vector waiting (KVM asks for the window again there too). */
	if (intr_waiting(v)) {
		d->actions |= VIRQ_VCPU_INTR_WINDOW;
		v->stats.intr_windows++;
	}
	return d->actions;
}

VIRQ_API bool virq_vcpu_wakes(struct virq_vcpu *vcpu, bool intr_enabled)
{
	struct virq_vcpu *v = vcpu;

	if (!v->lapic)
		return intr_enabled && virq_vm_pic_asserted(v->vm);
	(void)virq_lapic_sync(v->lapic);
	take(v);
	if (v->held & (VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI))
		return true;
	if (virq_lapic_get_mp_state(v->lapic) == VIRQ_LAPIC_MP_WAIT_SIPI)
		return false;
	if ((v->held & WAKE_ALWAYS) || v->nmi_pending)
		return true;
	return intr_enabled && intr_waiting(v);
}
