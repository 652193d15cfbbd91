/* SPDX-License-Identifier: MIT */
/*
 * The KVM glue's vCPUs: CPUID and APIC base as the irqchip needs them, the
 * libvirq LAPIC and its hooks (user mode), and the real-mode states INIT
 * and a start-up IPI leave a vCPU in. Hosted only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <virq/regs/lapic.h>

#include "glue.h"

/* Paravirtual features that need KVM's in-kernel LAPIC (CPUID 0x40000001 EAX). */
#define KVM_PV_NEEDS_LAPIC                                                                         \
	((1U << 6) /* PV_EOI */ | (1U << 7) /* PV_UNHALT */ | (1U << 11) /* PV_SEND_IPI */ |       \
	 (1U << 13) /* PV_SCHED_YIELD */ | (1U << 14) /* ASYNC_PF_INT */ |                         \
	 (1U << 4) /* ASYNC_PF */ | (1U << 10) /* ASYNC_PF_VMEXIT */)

/* One host-initiated MSR access (KVM_GET_MSRS / KVM_SET_MSRS). */
static int msr_io(int fd, unsigned long req, uint32_t index, uint64_t *data)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8 + 1];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;
	int rc;

	memset(buf, 0, sizeof(buf));
	m->nmsrs = 1;
	m->entries[0].index = index;
	m->entries[0].data = *data;
	rc = ioctl(fd, req, m);
	if (rc != 1) {
		if (rc >= 0) /* the MSR was refused: no errno of its own */
			errno = EIO;
		return -VIRQ_EHOST;
	}
	*data = m->entries[0].data;
	return 0;
}

/* ---- the LAPIC's hooks (user mode) ---- */

static void lapic_kick(void *ctx)
{
	virq_kvm_vcpu_kick(ctx);
}

static uint64_t lapic_now(void *ctx)
{
	(void)ctx;
	return glue_now_ns();
}

static void lapic_timer_arm(void *ctx, uint64_t deadline)
{
	struct virq_kvm_vcpu *v = ctx;

	v->timer_armed = true;
	v->timer_deadline = deadline;
	glue_timer_program(v);
}

static void lapic_timer_cancel(void *ctx)
{
	struct virq_kvm_vcpu *v = ctx;

	v->timer_armed = false;
	glue_timer_program(v);
}

static void lapic_send_ipi(void *ctx, const struct virq_apic_msg *msg)
{
	struct virq_kvm_vcpu *v = ctx;

	(void)virq_vm_send_ipi(&v->kvm->vm, msg);
}

static void lapic_eoi_level(void *ctx, uint8_t vector)
{
	struct virq_kvm_vcpu *v = ctx;

	virq_vm_eoi(&v->kvm->vm, vector);
}

static void lapic_dest_changed(void *ctx)
{
	struct virq_kvm_vcpu *v = ctx;

	(void)virq_vm_update_vcpu(&v->kvm->vm, v->index);
}

/* The guest's TSC as KVM keeps it (offset and scaling included). */
static uint64_t lapic_guest_tsc(void *ctx)
{
	struct virq_kvm_vcpu *v = ctx;
	uint64_t tsc = 0;

	return msr_io(v->fd, KVM_GET_MSRS, MSR_IA32_TSC, &tsc) ? 0 : tsc;
}

static const struct virq_lapic_ops glue_lapic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = lapic_kick,
	.now_ns = lapic_now,
	.timer_arm = lapic_timer_arm,
	.timer_cancel = lapic_timer_cancel,
	.send_ipi = lapic_send_ipi,
	.eoi_level = lapic_eoi_level,
	.guest_tsc = lapic_guest_tsc,
	.dest_changed = lapic_dest_changed,
};

/* ---- vCPU setup ---- */

static void cpuid_patch(const struct virq_kvm *kvm, uint32_t index, struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x00FFFFFFU) | (index << 24);
		e->edx |= 1U << 9; /* APIC */
		if (kvm->cfg.no_x2apic)
			e->ecx &= ~(1U << 21);
		else
			e->ecx |= 1U << 21;
		if (kvm->cfg.no_tsc_deadline)
			e->ecx &= ~(1U << 24);
		else
			e->ecx |= 1U << 24;
		break;
	case 0xB:
	case 0x1F:
		e->edx = index;
		break;
	case 0x40000001:
		if (!glue_split(kvm))
			e->eax &= ~KVM_PV_NEEDS_LAPIC;
		break;
	default:
		break;
	}
}

static int set_cpuid(struct virq_kvm_vcpu *v)
{
	enum {
		MAX_ENT = 256
	};
	struct kvm_cpuid2 *c;
	int err = 0, saved;

	c = calloc(1, sizeof(*c) + MAX_ENT * sizeof(c->entries[0]));
	if (!c)
		return -VIRQ_EHOST;
	c->nent = MAX_ENT;
	if (ioctl(v->kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		err = -VIRQ_EHOST;
		goto out;
	}
	for (uint32_t i = 0; i < c->nent; i++)
		cpuid_patch(v->kvm, v->index, &c->entries[i]);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		err = -VIRQ_EHOST;
out:
	saved = errno;
	free(c);
	errno = saved;
	return err;
}

/* Keeps KVM's copy of IA32_APIC_BASE in step with the LAPIC's (KVM derives
 * the CPUID APIC bit from it). Host-initiated: not filtered. */
int glue_sync_apic_base(struct virq_kvm_vcpu *v)
{
	uint64_t base = virq_lapic_get_apic_base(&v->lapic);

	return msr_io(v->fd, KVM_SET_MSRS, MSR_IA32_APIC_BASE, &base);
}

/* What PC firmware leaves in the BSP's LAPIC, virtual-wire mode
 * (MultiProcessor Specification 1.4, 3.6.2.2): software-enabled, spurious
 * vector 0xFF, LINT0 ExtINT, LINT1 NMI. */
static int virtual_wire(struct virq_lapic *lapic)
{
	uint32_t svr = VIRQ_LAPIC_SVR_ENABLE | 0xFFU;
	uint32_t lint0 = (uint32_t)VIRQ_DM_EXTINT << VIRQ_LVT_DM_SHIFT;
	uint32_t lint1 = (uint32_t)VIRQ_DM_NMI << VIRQ_LVT_DM_SHIFT;

	return virq_lapic_mmio_write(lapic, VIRQ_LAPIC_REG_SVR, 4, svr) ||
	       virq_lapic_mmio_write(lapic, VIRQ_LAPIC_REG_LVT_LINT0, 4, lint0) ||
	       virq_lapic_mmio_write(lapic, VIRQ_LAPIC_REG_LVT_LINT1, 4, lint1);
}

/* User mode: the vCPU's libvirq LAPIC, in the VM's table, with its policy. */
static int user_lapic_init(struct virq_kvm_vcpu *v)
{
	struct virq_kvm *kvm = v->kvm;
	struct virq_lapic_config lc;
	int khz;

	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0) {
		if (!khz)
			errno = EIO;
		return -VIRQ_EHOST;
	}
	memset(&lc, 0, sizeof(lc));
	lc.size = sizeof(lc);
	lc.apic_id = v->index;
	lc.bsp = v->index == 0;
	lc.x2apic = !kvm->cfg.no_x2apic;
	lc.tsc_deadline = !kvm->cfg.no_tsc_deadline;
	lc.directed_eoi = true;
	/* KVM lets a guest move its xAPIC ID; so do we (the VM delivers to
	 * aliased IDs, see vm.h). */
	lc.xapic_id_writable = true;
	lc.tsc_khz = (uint32_t)khz;
	if (virq_lapic_init(&v->lapic, v->page, &lc, &glue_lapic_ops, v) ||
	    virq_vm_set_vcpu(&kvm->vm, v->index, &v->lapic) ||
	    virq_vcpu_init(&v->policy, &v->lapic, &kvm->vm))
		return -VIRQ_EINVAL;
	if (v->index == 0 && kvm->cfg.bsp_virtual_wire && virtual_wire(&v->lapic))
		return -VIRQ_EINVAL;
	return glue_sync_apic_base(v);
}

VIRQ_API int virq_kvm_vcpu_init(struct virq_kvm_vcpu *v, struct virq_kvm *kvm, uint32_t index,
				int fd, struct kvm_run *run)
{
	pthread_condattr_t ca;
	int err;

	if (!v || !kvm || !run || fd < 0 || index >= kvm->cfg.nr_vcpus || kvm->vcpus[index])
		return -VIRQ_EINVAL;
	if ((uintptr_t)v & 4095U)
		return -VIRQ_EALIGN;
	memset(v, 0, sizeof(*v));
	v->kvm = kvm;
	v->fd = fd;
	v->run = run;
	v->index = index;
	v->stats.last_vector = -1;
	err = set_cpuid(v);
	if (err)
		return err;
	pthread_mutex_init(&v->wait_lock, NULL);
	/* Deadlines are CLOCK_MONOTONIC (the LAPIC's now_ns): so is the wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->wait_cond, &ca);
	pthread_condattr_destroy(&ca);

	if (glue_split(kvm))
		/* KVM's LAPIC: the policy decides vCPU 0's 8259 only. */
		err = index == 0 && virq_vcpu_init(&v->policy, NULL, &kvm->vm) ? -VIRQ_EINVAL : 0;
	else
		err = user_lapic_init(v);
	if (err)
		return err;
	kvm->vcpus[index] = v;
	return 0;
}

/* Real mode at CS = @cs_sel (base @cs_base), IP = @ip: the start of an AP
 * after a SIPI, or the INIT state (F000:FFF0, base FFFF0000). Whatever
 * KVM still had queued for the old context (a vector, an NMI) dies with it. */
int glue_start_real_mode(struct virq_kvm_vcpu *v, uint16_t cs_sel, uint64_t cs_base, uint64_t ip)
{
	struct kvm_segment *segs[5];
	struct kvm_vcpu_events ev;
	struct kvm_sregs s;
	struct kvm_regs r;

	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return -VIRQ_EHOST;
	v->inflight = false;
	v->nmi_sent = false;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -VIRQ_EHOST;
	s.cs.selector = cs_sel;
	s.cs.base = cs_base;
	s.cs.limit = 0xFFFF;
	s.cs.type = 0xB;
	s.cs.present = 1;
	s.cs.s = 1;
	s.cs.db = 0;
	s.cs.l = 0;
	s.cs.dpl = 0;
	segs[0] = &s.ds;
	segs[1] = &s.es;
	segs[2] = &s.fs;
	segs[3] = &s.gs;
	segs[4] = &s.ss;
	for (unsigned i = 0; i < 5; i++) {
		segs[i]->selector = 0;
		segs[i]->base = 0;
		segs[i]->limit = 0xFFFF;
		segs[i]->type = 0x3;
		segs[i]->present = 1;
		segs[i]->s = 1;
		segs[i]->db = 0;
		segs[i]->l = 0;
		segs[i]->dpl = 0;
	}
	s.cr0 = 0x60000010ULL;
	s.cr4 = 0;
	s.efer = 0;
	s.apic_base = virq_lapic_get_apic_base(&v->lapic);
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return -VIRQ_EHOST;
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	r.rip = ip;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -VIRQ_EHOST;
	return 0;
}

/* ---- accessors ---- */

VIRQ_API struct virq_lapic *virq_kvm_vcpu_lapic(struct virq_kvm_vcpu *v)
{
	return glue_split(v->kvm) ? NULL : &v->lapic;
}

VIRQ_API const struct virq_kvm_stats *virq_kvm_vcpu_stats(const struct virq_kvm_vcpu *v)
{
	return &v->stats;
}
