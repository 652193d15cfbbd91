/* SPDX-License-Identifier: MIT */
/*
 * What the vCPU policy's files share (vcpu.c decides, vcpu_event.c queues
 * exceptions and re-injections, vcpu_state.c saves and restores).
 */
#ifndef VIRQ_LIB_VCPU_PRIV_H
#define VIRQ_LIB_VCPU_PRIV_H

#include <virq/vcpu.h>

/* virq_vcpu::flags */
#define VCPU_F_EXC (1U << 0)    /* exc holds an exception (type 3, 5 or 6) */
#define VCPU_F_REINJ (1U << 1)  /* reinj holds an event to re-inject (type 0, 2 or 4) */
#define VCPU_F_TRIPLE (1U << 2) /* a triple fault waits to be reported */

#define VCPU_OPT_VALID (VIRQ_VCPU_OPT_NMI_BLOCKING | VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY)

/* Exception vectors named in the SDM's Table 6-1 "Protected-Mode Exceptions and Interrupts". */
#define VCPU_VEC_DB 1U
#define VCPU_VEC_NMI 2U
#define VCPU_VEC_BP 3U
#define VCPU_VEC_OF 4U
#define VCPU_VEC_DF 8U
#define VCPU_VEC_PF 14U
#define VCPU_VEC_AC 17U

/* Whether @vector (0-31) may be delivered as a hardware exception. */
bool vcpu_exc_vector_ok(uint8_t vector);

/* Whether hardware exception @vector pushes an error code (Table 6-1
 * "Protected-Mode Exceptions and Interrupts"). */
bool vcpu_exc_has_error(uint8_t vector);

/* Whether @ev may be handed back for re-injection (vcpu.h, virq_vcpu_reinject()). */
bool vcpu_event_ok(const struct virq_vcpu_event *ev);

/* Whether an event of @type belongs in the exception slot (3, 5, 6). */
static inline bool vcpu_type_is_exc(uint8_t type)
{
	return type == VIRQ_VCPU_EV_HW_EXC || type == VIRQ_VCPU_EV_PRIV_SW_EXC ||
	       type == VIRQ_VCPU_EV_SW_EXC;
}

/* Forgets the exception, the re-injection, a pending triple fault and NMI
 * blocking: the vCPU resets (INIT, virq_vcpu_reset()). */
static inline void vcpu_drop_events(struct virq_vcpu *v)
{
	v->flags = 0;
	v->nmi_blocked = 0;
	virq_memset(&v->exc, 0, sizeof(v->exc));
	virq_memset(&v->reinj, 0, sizeof(v->reinj));
}

#endif /* VIRQ_LIB_VCPU_PRIV_H */
