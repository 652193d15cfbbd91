/* SPDX-License-Identifier: MIT */
/*
 * What the files of the KVM glue share (lib/kvm-glue only; never installed).
 *
 *   vm.c     the VM: virq_kvm_init(), the virq_vm hooks, device lines and
 *            MSIs, storm service, accessors
 *   split.c  split irqchip: I/O APIC entries mirrored into KVM GSI routes,
 *            MSIs signalled to KVM, the 8259 injected into vCPU 0
 *   vcpu.c   vCPU setup: CPUID, APIC base, the LAPIC and its hooks, the
 *            INIT and start-up states
 *   run.c    the vCPU loop: encode the policy's decision, KVM_RUN, the
 *            irqchip's exits
 *   host.c   the host side: kick signal, per-vCPU timer, halts, reports
 *   state.c  snapshots: the vCPUs' and the VM's state the glue owns
 *
 * Errors follow <virq/error.h>: -VIRQ_EINVAL for a bad argument,
 * -VIRQ_EHOST when a system call failed (errno is left as it set it).
 */
#ifndef VIRQ_KVM_GLUE_H
#define VIRQ_KVM_GLUE_H

#include <linux/kvm.h>

#include <virq/kvm.h>
#include <virq/version.h>

#define MSR_IA32_TSC 0x10U
#define MSR_IA32_APIC_BASE 0x1BU
#define MSR_IA32_TSC_DEADLINE 0x6E0U

/* vCPU loop states (virq_kvm_vcpu::state). */
enum {
	ST_OUTSIDE = 0,
	ST_RUN = 1,
	ST_WAIT = 2
};

static inline bool glue_split(const struct virq_kvm *kvm)
{
	return kvm->cfg.irqchip == VIRQ_KVM_IRQCHIP_SPLIT;
}

/* host.c */
uint64_t glue_now_ns(void);
int glue_kick_signal(const struct virq_kvm *kvm);
void glue_timer_program(struct virq_kvm_vcpu *v);

/* vm.c */
void glue_tag_vector(struct virq_kvm *kvm, uint8_t vector, enum virq_kvm_source src);
void glue_lost(void *ctx, const struct virq_apic_msg *msg);
void glue_storm_service(struct virq_kvm *kvm);

/* split.c: the virq_vm hooks of a split irqchip, and vCPU 0's 8259. */
unsigned glue_split_deliver_msi(void *ctx, uint64_t addr, uint32_t data, uint16_t sid,
				uint32_t gsi);
void glue_split_pic_intr(void *ctx, bool level);
int glue_split_prepare(struct virq_kvm_vcpu *v);
void glue_split_eoi(struct virq_kvm_vcpu *v, uint8_t vector);

/* vcpu.c */
int glue_sync_apic_base(struct virq_kvm_vcpu *v);
int glue_start_real_mode(struct virq_kvm_vcpu *v, uint16_t cs_sel, uint64_t cs_base, uint64_t ip);

#endif /* VIRQ_KVM_GLUE_H */
