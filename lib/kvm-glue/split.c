/* SPDX-License-Identifier: MIT */
/*
 * Split irqchip (KVM_CAP_SPLIT_IRQCHIP): KVM's LAPICs, libvirq's I/O APIC
 * and 8259. I/O APIC entries become KVM GSI routes raised with
 * KVM_IRQ_LINE, so KVM knows which vectors need KVM_EXIT_IOAPIC_EOI; other
 * MSIs go in with KVM_SIGNAL_MSI; the 8259 reaches vCPU 0 through
 * KVM_INTERRUPT, as the policy decides. Hosted only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <virq/msi.h>

#include "glue.h"

/* Replaces KVM's routing table with the mirrored I/O APIC entries. */
static int push_routes(struct virq_kvm *kvm)
{
	uint64_t buf[(sizeof(struct kvm_irq_routing) +
		      VIRQ_KVM_NR_GSIS * sizeof(struct kvm_irq_routing_entry)) /
			     8 +
		     1];
	struct kvm_irq_routing *r = (struct kvm_irq_routing *)buf;
	unsigned n = 0;

	memset(buf, 0, sizeof(buf));
	for (unsigned gsi = 0; gsi < VIRQ_KVM_NR_GSIS; gsi++) {
		if (!(kvm->route_valid & (1U << gsi)))
			continue;
		r->entries[n].gsi = gsi;
		r->entries[n].type = KVM_IRQ_ROUTING_MSI;
		r->entries[n].u.msi.address_lo = (uint32_t)kvm->route_addr[gsi];
		r->entries[n].u.msi.address_hi = (uint32_t)(kvm->route_addr[gsi] >> 32);
		r->entries[n].u.msi.data = kvm->route_data[gsi];
		n++;
	}
	r->nr = n;
	return ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -VIRQ_EHOST : 0;
}

/* An I/O APIC pin's message (under the lock) raises its GSI in KVM, its
 * route mirrored first; any other MSI is signalled. */
unsigned glue_split_deliver_msi(void *ctx, uint64_t addr, uint32_t data, uint16_t sid, uint32_t gsi)
{
	struct virq_kvm *kvm = ctx;
	struct kvm_irq_level line;
	struct kvm_msi msi;

	(void)sid;
	if (gsi < VIRQ_KVM_NR_GSIS) {
		if (!(kvm->route_valid & (1U << gsi)) || kvm->route_addr[gsi] != addr ||
		    kvm->route_data[gsi] != data) {
			kvm->route_addr[gsi] = addr;
			kvm->route_data[gsi] = data;
			kvm->route_valid |= 1U << gsi;
			if (push_routes(kvm))
				return 0;
		}
		line.irq = gsi;
		line.level = 1;
		if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &line) < 0)
			return 0;
		if (!(data & VIRQ_MSI_DATA_TRIGGER_LEVEL)) {
			line.level = 0;
			(void)ioctl(kvm->vm_fd, KVM_IRQ_LINE, &line);
		}
		__atomic_fetch_add(&kvm->sent[VIRQ_KVM_SRC_IOAPIC], 1, __ATOMIC_RELAXED);
		return 1;
	}
	memset(&msi, 0, sizeof(msi));
	msi.address_lo = (uint32_t)addr;
	msi.address_hi = (uint32_t)(addr >> 32);
	msi.data = data;
	if (ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) <= 0) {
		glue_lost(kvm, NULL);
		return 0;
	}
	__atomic_fetch_add(&kvm->sent[VIRQ_KVM_SRC_MSI], 1, __ATOMIC_RELAXED);
	return 1;
}

/* The 8259's INT rose: vCPU 0 comes back to its loop to decide. */
void glue_split_pic_intr(void *ctx, bool level)
{
	struct virq_kvm *kvm = ctx;

	if (level && kvm->vcpus[0])
		virq_kvm_vcpu_kick(kvm->vcpus[0]);
}

/* vCPU 0's entry: the policy decides the 8259's interrupt (the LAPIC is
 * KVM's, so `ready_for_interrupt_injection` already says whether KVM's
 * LAPIC takes the INTR pin); the glue encodes it. */
int glue_split_prepare(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	struct virq_vcpu_window w = { .intr = false, .nmi = false };
	struct virq_vcpu_decision d;
	struct kvm_interrupt irq;

	run->request_interrupt_window = 0;
	if (v->index != 0)
		return 0;
	w.intr = !v->inflight && run->ready_for_interrupt_injection;
	virq_vcpu_decide(&v->policy, &w, &d);
	if (d.actions & VIRQ_VCPU_INTR) {
		irq.irq = d.vector;
		if (ioctl(v->fd, KVM_INTERRUPT, &irq) < 0)
			return -VIRQ_EHOST;
		v->inflight = true;
		v->stats.injected[VIRQ_KVM_SRC_PIC]++;
		v->stats.last_vector = d.vector;
		v->stats.last_source = VIRQ_KVM_SRC_PIC;
	}
	/* While a vector is in flight, KVM owns the next window. */
	if ((d.actions & VIRQ_VCPU_INTR_WINDOW) && !v->inflight)
		run->request_interrupt_window = 1;
	return 0;
}

/* KVM_EXIT_IOAPIC_EOI: KVM's LAPIC took an EOI for a vector its routes mark
 * level-triggered. KVM offers directed EOI when the I/O APIC is in
 * userspace, but (6.1 at least) exits for the EOI even when the guest set
 * SVR bit 12, EOI-broadcast suppression (SDM 10.8.5 "Signaling Interrupt
 * Servicing Completion"): such an EOI is no broadcast, and the guest ends
 * the I/O APIC's Remote IRR through its EOI register instead. One
 * KVM_GET_LAPIC per level EOI tells. */
void glue_split_eoi(struct virq_kvm_vcpu *v, uint8_t vector)
{
	struct kvm_lapic_state st;
	uint32_t svr;

	if (ioctl(v->fd, KVM_GET_LAPIC, &st) == 0) {
		memcpy(&svr, &st.regs[0xF0], sizeof(svr));
		if (svr & (1U << 12))
			return;
	}
	virq_vm_eoi(&v->kvm->vm, vector);
}
