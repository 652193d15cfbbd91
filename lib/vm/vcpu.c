/* SPDX-License-Identifier: MIT */
/*
 * The vCPU event policy (doc/architecture.md: the policy decides, a glue
 * encodes; SDM 6.9, "Priority Among Concurrent Exceptions and Interrupts",
 * for the order; one event injected per VM entry, SDM Vol. 3C, "Event
 * Injection"). Exceptions and re-injections are queued in vcpu_event.c;
 * here they are delivered before anything new, as KVM's
 * kvm_check_and_inject_events() does: an event that must complete first,
 * then the faults of the instruction stream, then SMI, NMI, INTR.
 */
#include "vcpu_priv.h"
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
	vcpu_drop_events(vcpu);
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
		vcpu_drop_events(v);
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

/* An injected external interrupt, in the fields of both ways to encode it. */
static void set_intr(struct virq_vcpu_decision *d, uint8_t vec, uint8_t src)
{
	d->actions |= VIRQ_VCPU_INTR;
	d->vector = vec;
	d->source = src;
	d->event.type = VIRQ_VCPU_EV_EXTINT;
	d->event.vector = vec;
}

static bool nmi_blocked(const struct virq_vcpu *v)
{
	return (v->options & VIRQ_VCPU_OPT_NMI_BLOCKING) && v->nmi_blocked;
}

/* An NMI leaves the policy: with its own blocking, NMIs are blocked until
 * the guest's IRET (SDM Vol. 3A 6.7.1 "Handling Multiple NMIs"). */
static void nmi_delivered(struct virq_vcpu *v)
{
	if (v->options & VIRQ_VCPU_OPT_NMI_BLOCKING)
		v->nmi_blocked = 1;
}

/*
 * What must go before anything new: a triple fault (alone: the vCPU shuts
 * down), then the exception (merged by vcpu_event.c, so one), then an
 * interrupted external interrupt, NMI or INT n, which is not acknowledged
 * or taken from the held NMIs again. True when this entry is taken.
 */
static bool decide_owed(struct virq_vcpu *v, struct virq_vcpu_decision *d)
{
	if (v->flags & VCPU_F_TRIPLE) {
		v->flags &= ~VCPU_F_TRIPLE;
		d->actions = VIRQ_VCPU_TRIPLE_FAULT;
		v->stats.triple_faults++;
		return true;
	}
	if (v->flags & VCPU_F_EXC) {
		d->actions = VIRQ_VCPU_EVENT;
		d->event = v->exc;
		v->flags &= ~VCPU_F_EXC;
		virq_memset(&v->exc, 0, sizeof(v->exc));
		v->stats.exceptions++;
		/* The interrupted event follows at the very next entry. */
		if (v->flags & VCPU_F_REINJ)
			d->actions |= VIRQ_VCPU_IMMEDIATE_EXIT;
		return true;
	}
	if (v->flags & VCPU_F_REINJ) {
		d->actions = VIRQ_VCPU_EVENT;
		d->event = v->reinj;
		v->flags &= ~VCPU_F_REINJ;
		virq_memset(&v->reinj, 0, sizeof(v->reinj));
		if (d->event.type == VIRQ_VCPU_EV_NMI)
			nmi_delivered(v);
		return true;
	}
	return false;
}

/* The LAPIC runs with APICv: its fixed vectors are the CPU's to deliver. */
static bool lapic_cpu_delivers(const struct virq_vcpu *v)
{
	return virq_lapic_get_accel(v->lapic) == VIRQ_LAPIC_ACCEL_APICV;
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
			set_intr(d, (uint8_t)vec, VIRQ_VCPU_SRC_PIC);
			v->stats.intr_pic++;
			return true;
		}
	}
	/* With virtual-interrupt delivery the CPU takes the LAPIC's vectors
	 * from RVI itself (SDM Vol. 3C "Virtual-Interrupt Delivery"). */
	if (lapic_cpu_delivers(v))
		return false;
	vec = virq_lapic_ack(v->lapic);
	if (vec == VIRQ_LAPIC_NO_VECTOR)
		return false;
	set_intr(d, (uint8_t)vec, VIRQ_VCPU_SRC_LAPIC);
	v->stats.intr_lapic++;
	return true;
}

/* An interrupt waits for the guest's IF. A LAPIC vector counts for the
 * window only when the policy injects it: the CPU evaluates it under
 * APICv, and an interrupt-window exit would even hold its delivery back.
 * It always counts for waking a halted vCPU (@wake). */
static bool intr_waiting(struct virq_vcpu *v, bool wake)
{
	if (v->held & VIRQ_LAPIC_EV_EXTINT)
		return true;
	if (!wake && lapic_cpu_delivers(v))
		return false;
	return virq_lapic_pending(v->lapic) >= 0;
}

/* The LAPIC lives elsewhere (KVM's split irqchip): the backend's LAPIC took
 * the INTR pin (its LINT0 in virtual wire, which the backend folds into
 * w->intr); only the 8259's ExtINT is ours to decide. */
static uint32_t decide_extint(struct virq_vcpu *v, const struct virq_vcpu_window *w,
			      struct virq_vcpu_decision *d)
{
	int vec;

	if (decide_owed(v, d)) {
		if (!(d->actions & VIRQ_VCPU_TRIPLE_FAULT) && virq_vm_pic_asserted(v->vm)) {
			d->actions |= VIRQ_VCPU_INTR_WINDOW;
			v->stats.intr_windows++;
		}
		return d->actions;
	}
	if (!virq_vm_pic_asserted(v->vm))
		return 0;
	if (w->intr) {
		/* INT may drop before the INTA cycle: then nothing is owed. */
		vec = virq_vm_pic_take(v->vm);
		if (vec >= 0) {
			set_intr(d, (uint8_t)vec, VIRQ_VCPU_SRC_PIC);
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
	if (decide_owed(v, d)) {
		if (d->actions & VIRQ_VCPU_TRIPLE_FAULT)
			return d->actions;
		/* One event per entry: the rest waits and asks to come back. */
		intr_open = false;
		if (v->held & VIRQ_LAPIC_EV_SMI)
			d->actions |= VIRQ_VCPU_IMMEDIATE_EXIT;
	} else if (v->held & VIRQ_LAPIC_EV_SMI) {
		v->held &= ~VIRQ_LAPIC_EV_SMI;
		d->actions |= VIRQ_VCPU_SMI;
		v->stats.smi++;
		/* SMM entry is this entry's event. */
		intr_open = false;
	} else if (v->nmi_pending && w->nmi && !nmi_blocked(v)) {
		v->nmi_pending--;
		d->actions |= VIRQ_VCPU_NMI;
		d->event.type = VIRQ_VCPU_EV_NMI;
		d->event.vector = 2;
		v->stats.nmi++;
		nmi_delivered(v);
		intr_open = false; /* one event per entry */
	}
	/* An NMI still held (behind an SMI, blocked, or a second one). */
	if (v->nmi_pending)
		d->actions |= VIRQ_VCPU_NMI_WINDOW;
	if (intr_open)
		(void)take_intr(v, d);
	/* Re-checked after an injection: an 8259 vector leaves the LAPIC's
	 * vector waiting (KVM asks for the window again there too). */
	if (intr_waiting(v, false)) {
		d->actions |= VIRQ_VCPU_INTR_WINDOW;
		v->stats.intr_windows++;
	}
	return d->actions;
}

VIRQ_API bool virq_vcpu_wakes(struct virq_vcpu *vcpu, bool intr_enabled)
{
	struct virq_vcpu *v = vcpu;

	if (!v->lapic)
		return v->flags || (intr_enabled && virq_vm_pic_asserted(v->vm));
	(void)virq_lapic_sync(v->lapic);
	take(v);
	if (v->held & (VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI))
		return true;
	if (virq_lapic_get_mp_state(v->lapic) == VIRQ_LAPIC_MP_WAIT_SIPI)
		return false;
	/* An exception, a re-injection or a triple fault is this vCPU's
	 * next step whatever RFLAGS.IF says; an NMI only when not blocked. */
	if ((v->held & WAKE_ALWAYS) || v->flags || (v->nmi_pending && !nmi_blocked(v)))
		return true;
	return intr_enabled && intr_waiting(v, true);
}
