/* SPDX-License-Identifier: MIT */
/*
 * Save/restore of the vCPU policy (validate, then commit: doc/style.md
 * section 5). The state is what the policy holds between two decisions;
 * the LAPIC's own events stay in the LAPIC's state.
 */
#include "vcpu_priv.h"

#define STATE_FLAGS_VALID                                                                          \
	(VIRQ_VCPU_STATE_NMI_BLOCKED | VIRQ_VCPU_STATE_EXCEPTION | VIRQ_VCPU_STATE_REINJECT |      \
	 VIRQ_VCPU_STATE_TRIPLE_FAULT)
#define HELD_VALID                                                                                 \
	(VIRQ_LAPIC_EV_SMI | VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI | VIRQ_LAPIC_EV_EXTINT)

VIRQ_API int virq_vcpu_save(struct virq_vcpu *vcpu, struct virq_vcpu_state *out)
{
	if (!vcpu || !out)
		return -VIRQ_EINVAL;
	virq_memset(out, 0, sizeof(*out));
	out->version = VIRQ_VCPU_STATE_VERSION;
	out->size = sizeof(*out);
	if (vcpu->nmi_blocked)
		out->flags |= VIRQ_VCPU_STATE_NMI_BLOCKED;
	if (vcpu->flags & VCPU_F_EXC) {
		out->flags |= VIRQ_VCPU_STATE_EXCEPTION;
		out->exception = vcpu->exc;
	}
	if (vcpu->flags & VCPU_F_REINJ) {
		out->flags |= VIRQ_VCPU_STATE_REINJECT;
		out->reinject = vcpu->reinj;
	}
	if (vcpu->flags & VCPU_F_TRIPLE)
		out->flags |= VIRQ_VCPU_STATE_TRIPLE_FAULT;
	out->nmi_pending = vcpu->nmi_pending;
	out->held = vcpu->held;
	if (vcpu->held & VIRQ_LAPIC_EV_SIPI)
		out->sipi_vector = vcpu->sipi_vector;
	return 0;
}

static bool event_zero(const struct virq_vcpu_event *ev)
{
	return !ev->type && !ev->vector && !ev->has_error && !ev->insn_len && !ev->error_code &&
	       !ev->payload;
}

/* Reads only. */
static int vcpu_state_check(const struct virq_vcpu *v, const struct virq_vcpu_state *st)
{
	if (st->version != VIRQ_VCPU_STATE_VERSION || st->size != sizeof(*st))
		return -VIRQ_EVERSION;
	if ((st->flags & ~STATE_FLAGS_VALID) || (st->held & ~HELD_VALID))
		return -VIRQ_ESTATE;
	if (st->nmi_pending > VIRQ_VCPU_MAX_PENDING_NMI)
		return -VIRQ_ESTATE;
	if (st->sipi_vector > 0xFFU || (st->sipi_vector && !(st->held & VIRQ_LAPIC_EV_SIPI)))
		return -VIRQ_ESTATE;
	/* Without a LAPIC nothing is taken from one. */
	if (!v->lapic && (st->held || st->nmi_pending))
		return -VIRQ_ESTATE;
	if ((st->flags & VIRQ_VCPU_STATE_NMI_BLOCKED) && !(v->options & VIRQ_VCPU_OPT_NMI_BLOCKING))
		return -VIRQ_ESTATE;
	if (st->flags & VIRQ_VCPU_STATE_EXCEPTION) {
		if (!vcpu_event_ok(&st->exception) || !vcpu_type_is_exc(st->exception.type))
			return -VIRQ_ESTATE;
	} else if (!event_zero(&st->exception)) {
		return -VIRQ_ESTATE;
	}
	if (st->flags & VIRQ_VCPU_STATE_REINJECT) {
		if (!vcpu_event_ok(&st->reinject) || vcpu_type_is_exc(st->reinject.type))
			return -VIRQ_ESTATE;
	} else if (!event_zero(&st->reinject)) {
		return -VIRQ_ESTATE;
	}
	/* A triple fault takes what was in flight with it (vcpu_event.c). */
	if ((st->flags & VIRQ_VCPU_STATE_TRIPLE_FAULT) &&
	    (st->flags & (VIRQ_VCPU_STATE_EXCEPTION | VIRQ_VCPU_STATE_REINJECT)))
		return -VIRQ_ESTATE;
	return 0;
}

/* Cannot fail. */
static void vcpu_state_load(struct virq_vcpu *v, const struct virq_vcpu_state *st)
{
	vcpu_drop_events(v);
	v->nmi_pending = st->nmi_pending;
	v->held = st->held;
	v->sipi_vector = (uint8_t)st->sipi_vector;
	v->nmi_blocked = (st->flags & VIRQ_VCPU_STATE_NMI_BLOCKED) ? 1U : 0U;
	if (st->flags & VIRQ_VCPU_STATE_EXCEPTION) {
		v->flags |= VCPU_F_EXC;
		v->exc = st->exception;
	}
	if (st->flags & VIRQ_VCPU_STATE_REINJECT) {
		v->flags |= VCPU_F_REINJ;
		v->reinj = st->reinject;
	}
	if (st->flags & VIRQ_VCPU_STATE_TRIPLE_FAULT)
		v->flags |= VCPU_F_TRIPLE;
}

VIRQ_API int virq_vcpu_restore(struct virq_vcpu *vcpu, const struct virq_vcpu_state *st)
{
	int err;

	if (!vcpu || !st)
		return -VIRQ_EINVAL;
	err = vcpu_state_check(vcpu, st);
	if (err)
		return err;
	vcpu_state_load(vcpu, st);
	return 0;
}
