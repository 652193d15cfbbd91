/* SPDX-License-Identifier: MIT */
/*
 * The vCPU policy's exception queue and re-injection (vcpu.h, "Exceptions
 * and re-injection"): which vectors are exceptions and push an error code
 * (SDM Vol. 3A Table 6-1 "Protected-Mode Exceptions and
 * Interrupts"), how a second exception merges with the first (SDM Vol. 3A
 * 6.15 "Interrupt 8—Double Fault Exception (#DF)", Table 6-4 "Interrupt
 * and Exception Classes", Table 6-5 "Conditions for Generating a Double
 * Fault"; KVM's kvm_multiple_exception() where the SDM leaves a choice),
 * and what an interrupted event handed back may be (SDM Vol. 3C,
 * "VM-Entry Controls for Event Injection" and the VM-entry checks on the
 * event-injection fields).
 */
#include "vcpu_priv.h"

enum exc_class {
	EXC_BENIGN,
	EXC_CONTRIBUTORY,
	EXC_PAGE_FAULT,
};

/* Reserved vectors 15 and 22-31 (Table 6-1 "Protected-Mode Exceptions and
 * Interrupts"), but AMD's 28 #HV, 29 #VC and 30 #SX (AMD APM Vol. 2,
 * "Exceptions and Interrupts"), which an SVM backend injects. */
#define VEC_RESERVED ((1U << 15) | 0xFFC00000U)
#define VEC_AMD ((1U << 28) | (1U << 29) | (1U << 30))
/* Table 6-1 "Protected-Mode Exceptions and Interrupts": #DF, #TS, #NP,
 * #SS, #GP, #PF, #AC, #CP; AMD #VC, #SX. */
#define VEC_ERROR_CODE                                                                             \
	((1U << 8) | (1U << 10) | (1U << 11) | (1U << 12) | (1U << 13) | (1U << 14) | (1U << 17) | \
	 (1U << 21) | (1U << 29) | (1U << 30))
/* Table 6-4 "Interrupt and Exception Classes": #DE, #TS, #NP, #SS, #GP
 * and (CET-era editions) #CP. */
#define VEC_CONTRIBUTORY                                                                           \
	((1U << 0) | (1U << 10) | (1U << 11) | (1U << 12) | (1U << 13) | (1U << 21))
/* Table 6-4 "Interrupt and Exception Classes": #PF and #VE (KVM counts
 * only #PF; it never injects #VE). */
#define VEC_PAGE_FAULT ((1U << 14) | (1U << 20))

/* VM entry checks bits 31:16 of a delivered error code (15 in old SDM
 * editions; bit 15 is #PF's SGX bit now). */
#define ERROR_CODE_MASK 0xFFFFU
/* VM-entry instruction length: 1-15, 0 where IA32_VMX_MISC bit 30 allows it. */
#define INSN_LEN_MAX 15U

bool vcpu_exc_vector_ok(uint8_t vector)
{
	if (vector >= 32U || vector == VCPU_VEC_NMI)
		return false;
	return !((VEC_RESERVED & ~VEC_AMD) & (1U << vector));
}

bool vcpu_exc_has_error(uint8_t vector)
{
	return vector < 32U && (VEC_ERROR_CODE & (1U << vector));
}

/* Table 6-4 "Interrupt and Exception Classes". #DF itself is benign as
 * a second exception, as in KVM's exception_class() (the table has no
 * row or column for it). */
static enum exc_class exc_class(uint8_t vector)
{
	if (vector >= 32U)
		return EXC_BENIGN;
	if (VEC_CONTRIBUTORY & (1U << vector))
		return EXC_CONTRIBUTORY;
	if (VEC_PAGE_FAULT & (1U << vector))
		return EXC_PAGE_FAULT;
	return EXC_BENIGN;
}

/* The error-code rules of a hardware exception, with the error code
 * optional (@strict false: a real-mode guest's exception has none). */
static bool error_ok(uint8_t vector, bool has_error, uint32_t ec, bool strict)
{
	if (!has_error)
		return ec == 0 && (!strict || !vcpu_exc_has_error(vector));
	if (!vcpu_exc_has_error(vector) || (ec & ~ERROR_CODE_MASK))
		return false;
	/* #DF and #AC push 0 (Table 6-1 "Protected-Mode Exceptions and
	 * Interrupts"; SDM Vol. 3A 6.15, "Interrupt 8" and "Interrupt
	 * 17"). */
	return !((vector == VCPU_VEC_DF || vector == VCPU_VEC_AC) && ec);
}

bool vcpu_event_ok(const struct virq_vcpu_event *ev)
{
	bool soft = false;

	if (ev->has_error > 1U)
		return false;
	switch (ev->type) {
	case VIRQ_VCPU_EV_EXTINT:
		break;
	case VIRQ_VCPU_EV_NMI:
		if (ev->vector != VCPU_VEC_NMI)
			return false;
		break;
	case VIRQ_VCPU_EV_HW_EXC:
		if (!vcpu_exc_vector_ok(ev->vector) ||
		    !error_ok(ev->vector, ev->has_error, ev->error_code, false))
			return false;
		/* CR2 travels with a #PF only. */
		return ev->insn_len == 0 && (ev->vector == VCPU_VEC_PF || ev->payload == 0);
	case VIRQ_VCPU_EV_SW_INT:
		soft = true;
		break;
	case VIRQ_VCPU_EV_PRIV_SW_EXC:
		if (ev->vector != VCPU_VEC_DB)
			return false;
		soft = true;
		break;
	case VIRQ_VCPU_EV_SW_EXC:
		if (ev->vector != VCPU_VEC_BP && ev->vector != VCPU_VEC_OF)
			return false;
		soft = true;
		break;
	default:
		return false;
	}
	/* Every type but 3: no error code (VM-entry check), no payload. */
	if (ev->has_error || ev->error_code || ev->payload)
		return false;
	return soft ? ev->insn_len <= INSN_LEN_MAX : ev->insn_len == 0;
}

/*
 * Table 6-5 "Conditions for Generating a Double Fault", second
 * exception @ev while v->exc (queued, or re-injected: being delivered)
 * is the first. A first of type 5 or 6 is #DB, #BP or #OF: benign.
 */
static void exc_merge(struct virq_vcpu *v, const struct virq_vcpu_event *ev)
{
	enum exc_class first, second = exc_class(ev->vector);

	if (!(v->flags & VCPU_F_EXC)) {
		v->exc = *ev;
		v->flags |= VCPU_F_EXC;
		return;
	}
	if (v->exc.type == VIRQ_VCPU_EV_HW_EXC && v->exc.vector == VCPU_VEC_DF) {
		/* 6.15 "Exception and Interrupt Reference": a contributory
		 * or page-fault exception while calling the #DF handler
		 * means shutdown; a benign one is handled serially in the
		 * current text, shutdown in the older one ("another
		 * exception") and in KVM. */
		if (second != EXC_BENIGN || (v->options & VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY)) {
			/* The vCPU shuts down: what was in flight goes with it. */
			v->flags = VCPU_F_TRIPLE;
			virq_memset(&v->exc, 0, sizeof(v->exc));
			virq_memset(&v->reinj, 0, sizeof(v->reinj));
			return;
		}
		v->exc = *ev;
		return;
	}
	first = v->exc.type == VIRQ_VCPU_EV_HW_EXC ? exc_class(v->exc.vector) : EXC_BENIGN;
	if ((first == EXC_CONTRIBUTORY && second == EXC_CONTRIBUTORY) ||
	    (first == EXC_PAGE_FAULT && second != EXC_BENIGN)) {
		/* Both are replaced by #DF(0); a #PF's CR2 is never written. */
		virq_memset(&v->exc, 0, sizeof(v->exc));
		v->exc.type = VIRQ_VCPU_EV_HW_EXC;
		v->exc.vector = VCPU_VEC_DF;
		v->exc.has_error = 1;
		v->stats.double_faults++;
		return;
	}
	/* Handled serially: the second is delivered; the first is raised
	 * again when its instruction re-executes. */
	v->exc = *ev;
}

static int queue(struct virq_vcpu *v, uint8_t vector, bool has_error, uint32_t ec, uint64_t payload)
{
	struct virq_vcpu_event ev;

	if (!v || !vcpu_exc_vector_ok(vector) || !error_ok(vector, has_error, ec, true))
		return -VIRQ_EINVAL;
	/* Shutting down already: nothing more is delivered. */
	if (v->flags & VCPU_F_TRIPLE)
		return 0;
	virq_memset(&ev, 0, sizeof(ev));
	ev.type = VIRQ_VCPU_EV_HW_EXC;
	ev.vector = vector;
	ev.has_error = has_error ? 1U : 0U;
	ev.error_code = ec;
	ev.payload = payload;
	exc_merge(v, &ev);
	return 0;
}

VIRQ_API int virq_vcpu_queue_exception(struct virq_vcpu *vcpu, uint8_t vector, bool has_error,
				       uint32_t error_code)
{
	return queue(vcpu, vector, has_error, error_code, 0);
}

VIRQ_API int virq_vcpu_inject_gp(struct virq_vcpu *vcpu, uint32_t ec)
{
	return queue(vcpu, 13, true, ec, 0);
}

VIRQ_API int virq_vcpu_inject_ss(struct virq_vcpu *vcpu, uint32_t ec)
{
	return queue(vcpu, 12, true, ec, 0);
}

VIRQ_API int virq_vcpu_inject_ud(struct virq_vcpu *vcpu)
{
	return queue(vcpu, 6, false, 0, 0);
}

VIRQ_API int virq_vcpu_inject_pf(struct virq_vcpu *vcpu, uint64_t cr2, uint32_t ec)
{
	return queue(vcpu, VCPU_VEC_PF, true, ec, cr2);
}

VIRQ_API int virq_vcpu_reinject(struct virq_vcpu *vcpu, const struct virq_vcpu_event *ev)
{
	struct virq_vcpu *v = vcpu;
	bool exc;

	if (!v || !ev || !vcpu_event_ok(ev))
		return -VIRQ_EINVAL;
	exc = vcpu_type_is_exc(ev->type);
	/* One event is in flight per entry: an exception held (queued
	 * before the exit was reported, or not delivered at all) or a
	 * second interrupted interrupt means the backend lost track. */
	if ((v->flags & (VCPU_F_EXC | VCPU_F_TRIPLE)) || (!exc && (v->flags & VCPU_F_REINJ)))
		return -VIRQ_ESTATEMODE;
	if (exc) {
		v->exc = *ev;
		v->flags |= VCPU_F_EXC;
	} else {
		v->reinj = *ev;
		v->flags |= VCPU_F_REINJ;
	}
	v->stats.reinjected++;
	return 0;
}

VIRQ_API int virq_vcpu_set_options(struct virq_vcpu *vcpu, uint32_t options)
{
	if (!vcpu || (options & ~VCPU_OPT_VALID))
		return -VIRQ_EINVAL;
	vcpu->options = (uint8_t)options;
	if (!(options & VIRQ_VCPU_OPT_NMI_BLOCKING))
		vcpu->nmi_blocked = 0;
	return 0;
}

VIRQ_API void virq_vcpu_nmi_unblocked(struct virq_vcpu *vcpu)
{
	if (vcpu)
		vcpu->nmi_blocked = 0;
}

VIRQ_API bool virq_vcpu_nmi_blocked(const struct virq_vcpu *vcpu)
{
	return vcpu && vcpu->nmi_blocked;
}
