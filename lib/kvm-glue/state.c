/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of what the KVM glue owns (user mode): each vCPU's LAPIC,
 * event policy and injection bookkeeping, and the VM's I/O APIC and 8259
 * pair. KVM's own vCPU state is the VMM's (include/virq/kvm.h,
 * "Snapshots"). Every state is checked whole before anything changes.
 * Hosted only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "glue.h"

#define VCPU_FLAGS_KNOWN                                                                           \
	(VIRQ_KVM_VCPU_STATE_HALTED | VIRQ_KVM_VCPU_STATE_HALTED_IF |                              \
	 VIRQ_KVM_VCPU_STATE_INFLIGHT | VIRQ_KVM_VCPU_STATE_NMI_SENT)

/* The exit KVM last reported, completed without entering the guest (the
 * KVM API's way to make the registers consistent before a save). */
static int complete_exit(struct virq_kvm_vcpu *v)
{
	int rc;

	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELAXED);
	rc = ioctl(v->fd, KVM_RUN, 0);
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
	if (rc < 0 && errno != EINTR && errno != EAGAIN)
		return -VIRQ_EHOST;
	return 0;
}

VIRQ_API int virq_kvm_vcpu_save(struct virq_kvm_vcpu *v, struct virq_kvm_vcpu_state *out)
{
	int err;

	if (!v || !out || !v->kvm)
		return -VIRQ_EINVAL;
	if (glue_split(v->kvm))
		return -VIRQ_ENOTSUP;
	err = complete_exit(v);
	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->version = VIRQ_KVM_STATE_VERSION;
	out->size = sizeof(*out);
	out->index = v->index;
	if (v->halted)
		out->flags |= VIRQ_KVM_VCPU_STATE_HALTED;
	if (v->halted && v->halted_if)
		out->flags |= VIRQ_KVM_VCPU_STATE_HALTED_IF;
	if (v->inflight)
		out->flags |= VIRQ_KVM_VCPU_STATE_INFLIGHT;
	if (v->nmi_sent)
		out->flags |= VIRQ_KVM_VCPU_STATE_NMI_SENT;
	if (virq_lapic_save(&v->lapic, &out->lapic) || virq_vcpu_save(&v->policy, &out->policy))
		return -VIRQ_EINVAL;
	return 0;
}

VIRQ_API int virq_kvm_vcpu_restore(struct virq_kvm_vcpu *v, const struct virq_kvm_vcpu_state *st)
{
	struct virq_lapic_state before;
	int err;

	if (!v || !st || !v->kvm || __atomic_load_n(&v->thread_started, __ATOMIC_ACQUIRE))
		return -VIRQ_EINVAL;
	if (glue_split(v->kvm))
		return -VIRQ_ENOTSUP;
	if (st->version != VIRQ_KVM_STATE_VERSION || st->size != sizeof(*st))
		return -VIRQ_EVERSION;
	if (st->index != v->index || (st->flags & ~VCPU_FLAGS_KNOWN))
		return -VIRQ_ESTATE;
	if ((st->flags & VIRQ_KVM_VCPU_STATE_HALTED_IF) &&
	    !(st->flags & VIRQ_KVM_VCPU_STATE_HALTED))
		return -VIRQ_ESTATE;
	/* A vector waits in KVM only for an entry, which a halted vCPU does not make. */
	if ((st->flags & VIRQ_KVM_VCPU_STATE_INFLIGHT) && (st->flags & VIRQ_KVM_VCPU_STATE_HALTED))
		return -VIRQ_ESTATE;
	/* The LAPIC, then the policy; a policy state refused puts the LAPIC back. */
	if (virq_lapic_save(&v->lapic, &before))
		return -VIRQ_EINVAL;
	err = virq_lapic_restore(&v->lapic, &st->lapic);
	if (err)
		return err;
	err = virq_vcpu_restore(&v->policy, &st->policy);
	if (err) {
		(void)virq_lapic_restore(&v->lapic, &before);
		return err;
	}
	v->halted = (st->flags & VIRQ_KVM_VCPU_STATE_HALTED) != 0;
	v->halted_if = (st->flags & VIRQ_KVM_VCPU_STATE_HALTED_IF) != 0;
	v->inflight = (st->flags & VIRQ_KVM_VCPU_STATE_INFLIGHT) != 0;
	v->nmi_sent = (st->flags & VIRQ_KVM_VCPU_STATE_NMI_SENT) != 0;
	v->poll_deadline = 0;
	return glue_sync_apic_base(v);
}

VIRQ_API int virq_kvm_save(struct virq_kvm *kvm, struct virq_kvm_state *out)
{
	int err;

	if (!kvm || !out)
		return -VIRQ_EINVAL;
	if (glue_split(kvm))
		return -VIRQ_ENOTSUP;
	memset(out, 0, sizeof(*out));
	out->version = VIRQ_KVM_STATE_VERSION;
	out->size = sizeof(*out);
	out->irqchip = (uint32_t)kvm->cfg.irqchip;
	out->nr_vcpus = kvm->cfg.nr_vcpus;
	pthread_mutex_lock(&kvm->lock);
	out->storm_pins = kvm->storm_pins;
	err = virq_ioapic_save(&kvm->ioapic, &out->ioapic) || virq_pic_save(&kvm->pic, &out->pic)
		      ? -VIRQ_EINVAL
		      : 0;
	pthread_mutex_unlock(&kvm->lock);
	/* virq_vm_save() takes the lock itself. */
	if (!err && virq_vm_save(&kvm->vm, &out->vm, out->gsis, VIRQ_KVM_NR_GSIS))
		err = -VIRQ_EINVAL;
	return err;
}

VIRQ_API int virq_kvm_restore(struct virq_kvm *kvm, const struct virq_kvm_state *st)
{
	struct virq_ioapic_state io_before;
	struct virq_pic_state pic_before;
	int err;

	if (!kvm || !st)
		return -VIRQ_EINVAL;
	if (glue_split(kvm))
		return -VIRQ_ENOTSUP;
	if (st->version != VIRQ_KVM_STATE_VERSION || st->size != sizeof(*st))
		return -VIRQ_EVERSION;
	if (st->irqchip != (uint32_t)kvm->cfg.irqchip || st->nr_vcpus != kvm->cfg.nr_vcpus ||
	    st->reserved || (VIRQ_KVM_NR_GSIS < 32 && (st->storm_pins >> VIRQ_KVM_NR_GSIS)))
		return -VIRQ_ESTATE;
	/* A throttled pin is one the I/O APIC holds. */
	if (st->storm_pins & ~(uint32_t)st->ioapic.storm_held[0])
		return -VIRQ_ESTATE;
	/* The order of vm.h's recipe: I/O APIC, 8259, then the VM (whose
	 * restore takes the lock itself and rebuilds the APIC-ID map from the
	 * LAPICs restored before). */
	pthread_mutex_lock(&kvm->lock);
	(void)virq_ioapic_save(&kvm->ioapic, &io_before);
	(void)virq_pic_save(&kvm->pic, &pic_before);
	err = virq_ioapic_restore(&kvm->ioapic, &st->ioapic);
	if (!err) {
		err = virq_pic_restore(&kvm->pic, &st->pic);
		if (err)
			(void)virq_ioapic_restore(&kvm->ioapic, &io_before);
	}
	pthread_mutex_unlock(&kvm->lock);
	if (err)
		return err;
	err = virq_vm_restore(&kvm->vm, &st->vm, st->gsis, VIRQ_KVM_NR_GSIS);
	pthread_mutex_lock(&kvm->lock);
	if (err) {
		(void)virq_pic_restore(&kvm->pic, &pic_before);
		(void)virq_ioapic_restore(&kvm->ioapic, &io_before);
	} else {
		kvm->storm_pins = st->storm_pins;
		kvm->storm_at = glue_now_ns() + 10000000U;
	}
	pthread_mutex_unlock(&kvm->lock);
	return err == -VIRQ_EINVAL ? -VIRQ_ESTATE : err;
}
