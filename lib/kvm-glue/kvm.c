/* SPDX-License-Identifier: MIT */
/*
 * libvirq as the irqchip of a KVM VM (include/virq/kvm.h). Hosted only.
 *
 * The glue only encodes: what to inject is the vCPU event policy's
 * decision (lib/vm/vcpu.c); this file turns it into KVM ioctls and turns
 * KVM exits into calls on the controllers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <virq/kvm.h>
#include <virq/msi.h>
#include <virq/regs/lapic.h>

#include "core/bitmap.h"

#define MSR_IA32_TSC 0x10U
#define MSR_IA32_APIC_BASE 0x1BU
#define MSR_IA32_TSC_DEADLINE 0x6E0U

/* run->exit_reason before KVM_RUN: still there afterwards means the
 * guest was never entered (immediate_exit). */
#define EXIT_NOT_ENTERED 0xFFFFFFFFU

/* Paravirtual features that need KVM's in-kernel LAPIC (CPUID 0x40000001 EAX). */
#define KVM_PV_NEEDS_LAPIC                                                                         \
	((1U << 6) /* PV_EOI */ | (1U << 7) /* PV_UNHALT */ | (1U << 11) /* PV_SEND_IPI */ |       \
	 (1U << 13) /* PV_SCHED_YIELD */ | (1U << 14) /* ASYNC_PF_INT */ |                         \
	 (1U << 4) /* ASYNC_PF */ | (1U << 10) /* ASYNC_PF_VMEXIT */)

enum {
	ST_OUTSIDE = 0,
	ST_RUN = 1,
	ST_WAIT = 2
};

/* The header keeps the POSIX timer as opaque storage (a strict C11 user of
 * kvm.h has no timer_t). */
_Static_assert(sizeof(timer_t) <= sizeof(void *), "timer_t does not fit");

static timer_t vcpu_timer(const struct virq_kvm_vcpu *v)
{
	timer_t t;

	memcpy(&t, &v->timer, sizeof(t));
	return t;
}

static __thread struct virq_kvm_vcpu *tls_vcpu;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000U + (uint64_t)ts.tv_nsec;
}

static bool split(const struct virq_kvm *kvm)
{
	return kvm->cfg.irqchip == VIRQ_KVM_IRQCHIP_SPLIT;
}

static int kick_signal(const struct virq_kvm *kvm)
{
	return kvm->cfg.kick_signal ? kvm->cfg.kick_signal : SIGUSR1;
}

/* ---- the shared controllers' lock and the VM's hooks ---- */

static void vm_lock(void *ctx)
{
	pthread_mutex_lock(&((struct virq_kvm *)ctx)->lock);
}

static void vm_unlock(void *ctx)
{
	pthread_mutex_unlock(&((struct virq_kvm *)ctx)->lock);
}

static void vm_lost(void *ctx, const struct virq_apic_msg *msg)
{
	(void)msg;
	__atomic_fetch_add(&((struct virq_kvm *)ctx)->lost, 1, __ATOMIC_RELAXED);
}

/* A level line whose handler never clears it: serviced again 10 ms later
 * by vCPU 0's loop (KVM and QEMU wait as long). Called under the lock. */
static void vm_storm(void *ctx, unsigned ioapic, unsigned pin)
{
	struct virq_kvm *kvm = ctx;

	(void)ioapic;
	if (pin >= 32) /* our I/O APIC has 24 pins */
		return;
	kvm->storm_pins |= 1U << pin;
	kvm->storm_at = now_ns() + 10000000U;
}

/* Split irqchip: I/O APIC pins become KVM GSI routes raised with
 * KVM_IRQ_LINE (so KVM knows which vectors need EOI exits), other MSIs go
 * in with KVM_SIGNAL_MSI. */
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
	return ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -errno : 0;
}

static unsigned split_deliver_msi(void *ctx, uint64_t addr, uint32_t data, uint16_t sid,
				  uint32_t gsi)
{
	struct virq_kvm *kvm = ctx;
	struct kvm_irq_level line;
	struct kvm_msi msi;

	(void)sid;
	if (gsi < VIRQ_KVM_NR_GSIS) {
		/* Mirror the entry into KVM's route first (under the lock). */
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
		vm_lost(kvm, NULL);
		return 0;
	}
	__atomic_fetch_add(&kvm->sent[VIRQ_KVM_SRC_MSI], 1, __ATOMIC_RELAXED);
	return 1;
}

/* Split irqchip: the 8259's INT reaches vCPU 0 through KVM_INTERRUPT. */
static void split_pic_intr(void *ctx, bool level)
{
	struct virq_kvm *kvm = ctx;

	__atomic_store_n(&kvm->pic_intr, level ? 1 : 0, __ATOMIC_SEQ_CST);
	if (level && kvm->vcpus[0])
		virq_kvm_vcpu_kick(kvm->vcpus[0]);
}

static const struct virq_vm_ops user_vm_ops = {
	.lock = vm_lock,
	.unlock = vm_unlock,
	.lost = vm_lost,
	.storm = vm_storm,
};

static const struct virq_vm_ops split_vm_ops = {
	.lock = vm_lock,
	.unlock = vm_unlock,
	.lost = vm_lost,
	.storm = vm_storm,
	.deliver_msi = split_deliver_msi,
	.pic_intr = split_pic_intr,
};

/* ---- VM setup ---- */

static int enable_cap(int fd, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap c;

	memset(&c, 0, sizeof(c));
	c.cap = cap;
	c.args[0] = arg0;
	return ioctl(fd, KVM_ENABLE_CAP, &c) < 0 ? -errno : 0;
}

/* IA32_APIC_BASE and IA32_TSC_DEADLINE exit to userspace (the x2APIC MSRs
 * do anyway: KVM calls them invalid without its LAPIC). */
static int user_msr_setup(int vm_fd)
{
	static uint8_t deny; /* one MSR per range, bit 0 clear: denied */
	struct kvm_msr_filter f;
	int err;

	err = enable_cap(vm_fd, KVM_CAP_X86_USER_SPACE_MSR,
			 KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
				 KVM_MSR_EXIT_REASON_FILTER);
	if (err)
		return err;
	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	f.ranges[0].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
	f.ranges[0].nmsrs = 1;
	f.ranges[0].base = MSR_IA32_APIC_BASE;
	f.ranges[0].bitmap = &deny;
	f.ranges[1] = f.ranges[0];
	f.ranges[1].base = MSR_IA32_TSC_DEADLINE;
	return ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0 ? -errno : 0;
}

VIRQ_API int virq_kvm_init(struct virq_kvm *kvm, int vm_fd, const struct virq_kvm_config *cfg)
{
	struct virq_ioapic_config iocfg;
	struct virq_vm_config vcfg;
	int err;

	if (!kvm || !cfg || vm_fd < 0 || !cfg->nr_vcpus || cfg->nr_vcpus > VIRQ_KVM_MAX_VCPUS ||
	    cfg->irqchip > VIRQ_KVM_IRQCHIP_SPLIT ||
	    (cfg->ioapic_version && cfg->ioapic_version != 0x11 && cfg->ioapic_version != 0x20))
		return -EINVAL;
	memset(kvm, 0, sizeof(*kvm));
	kvm->cfg = *cfg;
	kvm->vm_fd = vm_fd;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0)
		return -errno;
	pthread_mutex_init(&kvm->lock, NULL);

	err = split(kvm) ? enable_cap(vm_fd, KVM_CAP_SPLIT_IRQCHIP, VIRQ_KVM_NR_GSIS)
			 : user_msr_setup(vm_fd);
	if (err)
		goto fail;

	memset(&vcfg, 0, sizeof(vcfg));
	vcfg.nr_vcpus = cfg->nr_vcpus;
	vcfg.map_entries = 256;
	vcfg.nr_gsis = VIRQ_KVM_NR_GSIS;
	err = virq_vm_init(&kvm->vm, &vcfg, kvm->lapics, kvm->map, kvm->map_key, kvm->gsis,
			   split(kvm) ? &split_vm_ops : &user_vm_ops, kvm);
	if (err)
		goto fail_einval;
	memset(&iocfg, 0, sizeof(iocfg));
	iocfg.version = cfg->ioapic_version;
	if (virq_vm_attach_ioapic(&kvm->vm, &kvm->ioapic, &iocfg, 0, 0) < 0 ||
	    virq_vm_attach_pic(&kvm->vm, &kvm->pic, 0))
		goto fail_einval;
	return 0;

fail_einval:
	err = -EINVAL;
fail:
	close(kvm->sys_fd);
	pthread_mutex_destroy(&kvm->lock);
	return err;
}

VIRQ_API void virq_kvm_destroy(struct virq_kvm *kvm)
{
	if (!kvm)
		return;
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->sys_fd = -1;
	pthread_mutex_destroy(&kvm->lock);
}

/* ---- the LAPIC's hooks (user mode) ---- */

static void lapic_kick(void *ctx)
{
	virq_kvm_vcpu_kick(ctx);
}

static uint64_t lapic_now(void *ctx)
{
	(void)ctx;
	return now_ns();
}

/* One host timer per vCPU serves the LAPIC timer and the CR8 poll. */
static void timer_program(struct virq_kvm_vcpu *v)
{
	struct itimerspec its;
	uint64_t d = UINT64_MAX;

	if (!v->thread_started)
		return;
	memset(&its, 0, sizeof(its));
	if (v->timer_armed)
		d = v->timer_deadline;
	if (v->poll_deadline && v->poll_deadline < d)
		d = v->poll_deadline;
	if (d != UINT64_MAX) {
		/* 0 would disarm: an overdue deadline fires in 1 ns. */
		d = d ? d : 1;

		its.it_value.tv_sec = (time_t)(d / 1000000000U);
		its.it_value.tv_nsec = (long)(d % 1000000000U);
	}
	timer_settime(vcpu_timer(v), TIMER_ABSTIME, &its, NULL);
}

static void lapic_timer_arm(void *ctx, uint64_t deadline)
{
	struct virq_kvm_vcpu *v = ctx;

	v->timer_armed = true;
	v->timer_deadline = deadline;
	timer_program(v);
}

static void lapic_timer_cancel(void *ctx)
{
	struct virq_kvm_vcpu *v = ctx;

	v->timer_armed = false;
	timer_program(v);
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

/* One host-initiated MSR access (KVM_GET_MSRS / KVM_SET_MSRS). */
static int msr_io(int fd, unsigned long req, uint32_t index, uint64_t *data)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8 + 1];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;

	memset(buf, 0, sizeof(buf));
	m->nmsrs = 1;
	m->entries[0].index = index;
	m->entries[0].data = *data;
	if (ioctl(fd, req, m) != 1)
		return -EIO;
	*data = m->entries[0].data;
	return 0;
}

/* The guest's TSC as KVM keeps it (offset and scaling included). */
static uint64_t lapic_guest_tsc(void *ctx)
{
	struct virq_kvm_vcpu *v = ctx;
	uint64_t tsc = 0;

	return msr_io(v->fd, KVM_GET_MSRS, MSR_IA32_TSC, &tsc) ? 0 : tsc;
}

static const struct virq_lapic_ops glue_lapic_ops = {
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
		if (!split(kvm))
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
	int err = 0;

	c = calloc(1, sizeof(*c) + MAX_ENT * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = MAX_ENT;
	if (ioctl(v->kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		err = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < c->nent; i++)
		cpuid_patch(v->kvm, v->index, &c->entries[i]);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		err = -errno;
out:
	free(c);
	return err;
}

/* Keeps KVM's copy of IA32_APIC_BASE in step with the LAPIC's (KVM derives
 * the CPUID APIC bit from it). Host-initiated: not filtered. */
/* What PC firmware leaves in the BSP's LAPIC (virtual-wire mode):
 * software-enabled, spurious vector 0xFF, LINT0 ExtINT, LINT1 NMI. */
static int virtual_wire(struct virq_lapic *lapic)
{
	uint32_t svr = VIRQ_LAPIC_SVR_ENABLE | 0xFFU;
	uint32_t lint0 = (uint32_t)VIRQ_DM_EXTINT << VIRQ_LVT_DM_SHIFT;
	uint32_t lint1 = (uint32_t)VIRQ_DM_NMI << VIRQ_LVT_DM_SHIFT;

	return virq_lapic_mmio_write(lapic, VIRQ_LAPIC_REG_SVR, 4, svr) ||
	       virq_lapic_mmio_write(lapic, VIRQ_LAPIC_REG_LVT_LINT0, 4, lint0) ||
	       virq_lapic_mmio_write(lapic, VIRQ_LAPIC_REG_LVT_LINT1, 4, lint1);
}

static int sync_apic_base(struct virq_kvm_vcpu *v)
{
	uint64_t base = virq_lapic_get_apic_base(&v->lapic);

	return msr_io(v->fd, KVM_SET_MSRS, MSR_IA32_APIC_BASE, &base);
}

VIRQ_API int virq_kvm_vcpu_init(struct virq_kvm_vcpu *v, struct virq_kvm *kvm, uint32_t index,
				int fd, struct kvm_run *run)
{
	struct virq_lapic_config lc;
	pthread_condattr_t ca;
	int khz, err;

	if (!v || !kvm || !run || fd < 0 || index >= kvm->cfg.nr_vcpus || kvm->vcpus[index] ||
	    ((uintptr_t)v & 4095U))
		return -EINVAL;
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

	if (!split(kvm)) {
		khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
		if (khz <= 0)
			return khz < 0 ? -errno : -EIO;
		memset(&lc, 0, sizeof(lc));
		lc.apic_id = index;
		lc.bsp = index == 0;
		lc.x2apic = !kvm->cfg.no_x2apic;
		lc.tsc_deadline = !kvm->cfg.no_tsc_deadline;
		lc.directed_eoi = true;
		/* KVM lets a guest move its xAPIC ID; so do we (aliased IDs are
		 * the VM's to deliver to, see vm.h). */
		lc.xapic_id_writable = true;
		lc.tsc_khz = (uint32_t)khz;
		if (virq_lapic_init(&v->lapic, v->page, &lc, &glue_lapic_ops, v) ||
		    virq_vm_set_vcpu(&kvm->vm, index, &v->lapic) ||
		    virq_vcpu_init(&v->policy, &v->lapic, &kvm->vm))
			return -EINVAL;
		if (index == 0 && kvm->cfg.bsp_virtual_wire && virtual_wire(&v->lapic))
			return -EINVAL;
		err = sync_apic_base(v);
		if (err)
			return err;
	}
	kvm->vcpus[index] = v;
	return 0;
}

VIRQ_API void virq_kvm_vcpu_destroy(struct virq_kvm_vcpu *v)
{
	if (!v || !v->kvm)
		return;
	if (v->thread_started)
		timer_delete(vcpu_timer(v));
	v->thread_started = false;
	v->kvm->vcpus[v->index] = NULL;
	pthread_cond_destroy(&v->wait_cond);
	pthread_mutex_destroy(&v->wait_lock);
}

/* The kick signal: make a KVM_RUN that has not entered yet return at
 * once; one in progress returns with EINTR by itself. */
static void kick_handler(int sig)
{
	struct virq_kvm_vcpu *v = tls_vcpu;

	(void)sig;
	if (v)
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELAXED);
}

VIRQ_API int virq_kvm_vcpu_thread_start(struct virq_kvm_vcpu *v)
{
	struct sigaction sa;
	struct sigevent sev;
	sigset_t set;
	timer_t t;

	if (!v || v->thread_started)
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	if (sigaction(kick_signal(v->kvm), &sa, NULL) < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, kick_signal(v->kvm));
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = kick_signal(v->kvm);
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) < 0)
		return -errno;
	memcpy(&v->timer, &t, sizeof(t));
	tls_vcpu = v;
	v->thread = pthread_self();
	__atomic_store_n(&v->thread_started, true, __ATOMIC_RELEASE);
	timer_program(v);
	return 0;
}

/* ---- kicks and halts ---- */

VIRQ_API void virq_kvm_vcpu_kick(struct virq_kvm_vcpu *v)
{
	int st;

	__atomic_store_n(&v->kicked, 1, __ATOMIC_SEQ_CST);
	st = __atomic_load_n(&v->state, __ATOMIC_SEQ_CST);
	if (st == ST_WAIT) {
		pthread_mutex_lock(&v->wait_lock);
		pthread_cond_signal(&v->wait_cond);
		pthread_mutex_unlock(&v->wait_lock);
	} else if (st == ST_RUN && __atomic_load_n(&v->thread_started, __ATOMIC_ACQUIRE) &&
		   !pthread_equal(pthread_self(), v->thread)) {
		pthread_kill(v->thread, kick_signal(v->kvm));
	}
}

VIRQ_API uint64_t virq_kvm_vcpu_halt_deadline(const struct virq_kvm_vcpu *v)
{
	/* A halted vCPU exited with its CR8: no poll needed. */
	return v->timer_armed ? v->timer_deadline : UINT64_MAX;
}

VIRQ_API void virq_kvm_vcpu_wait(struct virq_kvm_vcpu *v)
{
	uint64_t deadline = virq_kvm_vcpu_halt_deadline(v);
	struct timespec ts;

	pthread_mutex_lock(&v->wait_lock);
	__atomic_store_n(&v->state, ST_WAIT, __ATOMIC_SEQ_CST);
	/* A kick between the last check and here set `kicked`: seen now.
	 * Loops over spurious wakeups (the timer signal may cause them). */
	if (!__atomic_load_n(&v->kicked, __ATOMIC_SEQ_CST) && now_ns() < deadline)
		v->stats.halts++;
	while (!__atomic_load_n(&v->kicked, __ATOMIC_SEQ_CST) && now_ns() < deadline) {
		if (deadline == UINT64_MAX) {
			pthread_cond_wait(&v->wait_cond, &v->wait_lock);
		} else {
			ts.tv_sec = (time_t)(deadline / 1000000000U);
			ts.tv_nsec = (long)(deadline % 1000000000U);
			pthread_cond_timedwait(&v->wait_cond, &v->wait_lock, &ts);
		}
	}
	__atomic_store_n(&v->state, ST_OUTSIDE, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&v->wait_lock);
}

/* ---- injection (user mode) ---- */

static uint8_t lvt_vector(const struct virq_kvm_vcpu *v, uint32_t reg, bool *masked)
{
	uint32_t val = __atomic_load_n(&v->page[reg >> 2], __ATOMIC_RELAXED);

	*masked = (val & (1U << 16)) != 0;
	return (uint8_t)val;
}

/* Where an injected LAPIC vector came from, for the statistics: the LVT
 * entry with that vector, else the source that last sent it. */
static enum virq_kvm_source classify(const struct virq_kvm_vcpu *v, uint8_t vector)
{
	static const uint32_t lvts[] = { VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LAPIC_REG_LVT_LINT1,
					 VIRQ_LAPIC_REG_LVT_ERROR, VIRQ_LAPIC_REG_LVT_THERMAL,
					 VIRQ_LAPIC_REG_LVT_PMC,   VIRQ_LAPIC_REG_LVT_CMCI };
	uint8_t tag;
	bool masked;

	if (lvt_vector(v, VIRQ_LAPIC_REG_LVT_TIMER, &masked) == vector && !masked)
		return VIRQ_KVM_SRC_TIMER;
	tag = __atomic_load_n(&v->kvm->vec_src[vector], __ATOMIC_RELAXED);
	if (tag)
		return (enum virq_kvm_source)(tag - 1);
	for (unsigned i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++)
		if (lvt_vector(v, lvts[i], &masked) == vector && !masked)
			return VIRQ_KVM_SRC_LVT;
	return VIRQ_KVM_SRC_IPI;
}

static void tag_vector(struct virq_kvm *kvm, uint8_t vector, enum virq_kvm_source src)
{
	__atomic_store_n(&kvm->vec_src[vector], (uint8_t)(src + 1), __ATOMIC_RELAXED);
}

/* Real mode at CS = @cs_sel (base @cs_base), IP = @ip: the start of an AP
 * after a SIPI, or the INIT state (F000:FFF0, base FFFF0000). Whatever
 * KVM still had queued for the old context (a vector, an NMI) dies with it. */
static int start_real_mode(struct virq_kvm_vcpu *v, uint16_t cs_sel, uint64_t cs_base, uint64_t ip)
{
	struct kvm_vcpu_events ev;
	struct kvm_sregs s;
	struct kvm_regs r;

	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	v->inflight = false;
	v->nmi_sent = false;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cs.selector = cs_sel;
	s.cs.base = cs_base;
	s.cs.limit = 0xFFFF;
	s.cs.type = 0xB;
	s.cs.present = 1;
	s.cs.s = 1;
	s.cs.db = 0;
	s.cs.l = 0;
	s.cs.dpl = 0;
	struct kvm_segment *segs[] = { &s.ds, &s.es, &s.fs, &s.gs, &s.ss };
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
		return -errno;
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	r.rip = ip;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

/* Highest set vector of a 256-bit APIC-page register (IRR, ISR), or -1:
 * the scan the LAPIC itself uses. */
static int page_highest(const struct virq_kvm_vcpu *v, uint32_t reg)
{
	return apicvec_highest(&v->page[reg >> 2]);
}

/* Whether the highest IRR vector waits only for the TPR to drop (its class
 * is above the in-service class, not above the TPR's): a CR8 decrease that
 * KVM may not report would release it. */
static bool tpr_held(const struct virq_kvm_vcpu *v)
{
	int irr = page_highest(v, VIRQ_LAPIC_REG_IRR), isr = page_highest(v, VIRQ_LAPIC_REG_ISR);
	uint32_t tpr = __atomic_load_n(&v->page[VIRQ_LAPIC_REG_TPR >> 2], __ATOMIC_RELAXED);

	return irr >= 0 && (isr < 0 || (irr >> 4) > (isr >> 4)) &&
	       (uint32_t)(irr >> 4) <= (tpr >> 4);
}

/* Arms or ends the CR8 poll after a decision. */
static void tpr_poll(struct virq_kvm_vcpu *v, const struct virq_vcpu_decision *d)
{
	uint64_t want = 0;

	if (!__atomic_load_n(&v->kvm->seen_set_tpr, __ATOMIC_RELAXED) &&
	    !(d->actions & (VIRQ_VCPU_INTR | VIRQ_VCPU_INTR_WINDOW)) && tpr_held(v))
		want = now_ns() + VIRQ_KVM_TPR_POLL_NS;
	if (!want && !v->poll_deadline)
		return;
	v->poll_deadline = want;
	timer_program(v);
}

/* The decision for this entry, encoded. 1: do not enter (halted). */
static int user_prepare(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	struct virq_vcpu_window w;
	struct virq_vcpu_decision d;
	struct kvm_interrupt irq;

	if (v->timer_armed && now_ns() >= v->timer_deadline) {
		v->timer_armed = false;
		virq_lapic_timer_expired(&v->lapic); /* may re-arm */
	}
	if (v->halted) {
		if (!virq_vcpu_wakes(&v->policy, v->halted_if))
			return 1;
		v->halted = false;
	}
	w.intr = !v->inflight && run->ready_for_interrupt_injection && run->if_flag;
	w.nmi = true; /* KVM_NMI queues; KVM opens its own NMI window */
	virq_vcpu_decide(&v->policy, &w, &d);
	/* INIT: the INIT state (an AP then waits for its SIPI). */
	if ((d.actions & (VIRQ_VCPU_INIT | VIRQ_VCPU_SIPI)) == VIRQ_VCPU_INIT &&
	    start_real_mode(v, 0xF000, 0xFFFF0000ULL, 0xFFF0))
		return -1;
	if (d.actions & VIRQ_VCPU_SIPI) {
		if (start_real_mode(v, (uint16_t)(d.sipi_vector << 8),
				    (uint64_t)d.sipi_vector << 12, 0))
			return -1;
		run->if_flag = 0;
		run->ready_for_interrupt_injection = 0;
	}
	if (d.actions & VIRQ_VCPU_WAIT_SIPI)
		return 1;
	if ((d.actions & VIRQ_VCPU_SMI) && ioctl(v->fd, KVM_SMI, 0) < 0)
		return -1;
	if (d.actions & VIRQ_VCPU_NMI) {
		if (ioctl(v->fd, KVM_NMI, 0) < 0)
			return -1;
		v->nmi_sent = true;
		v->stats.injected[VIRQ_KVM_SRC_NMI]++;
		v->stats.last_vector = 2;
		v->stats.last_source = VIRQ_KVM_SRC_NMI;
	}
	if (d.actions & VIRQ_VCPU_INTR) {
		irq.irq = d.vector;
		if (ioctl(v->fd, KVM_INTERRUPT, &irq) < 0)
			return -1;
		v->inflight = true;
		v->stats.last_vector = d.vector;
		v->stats.last_source = (uint8_t)(d.source == VIRQ_VCPU_SRC_PIC
							 ? VIRQ_KVM_SRC_PIC
							 : classify(v, d.vector));
		v->stats.injected[v->stats.last_source]++;
	}
	run->request_interrupt_window = (d.actions & VIRQ_VCPU_INTR_WINDOW) ? 1 : 0;
	tpr_poll(v, &d);
	v->cr8 = (uint8_t)virq_lapic_get_cr8(&v->lapic);
	run->cr8 = v->cr8;
	return 0;
}

/* Split mode: only the 8259 is ours to inject, on vCPU 0. */
static int split_prepare(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_interrupt irq;
	int vec;

	run->request_interrupt_window = 0;
	if (v->index != 0 || !__atomic_load_n(&v->kvm->pic_intr, __ATOMIC_SEQ_CST) || v->inflight)
		return 0;
	if (!run->ready_for_interrupt_injection) {
		run->request_interrupt_window = 1;
		return 0;
	}
	vec = virq_vm_pic_take(&v->kvm->vm);
	if (vec < 0)
		return 0;
	irq.irq = (uint32_t)vec;
	if (ioctl(v->fd, KVM_INTERRUPT, &irq) < 0)
		return -1;
	v->inflight = true;
	v->stats.injected[VIRQ_KVM_SRC_PIC]++;
	v->stats.last_vector = (int16_t)vec;
	v->stats.last_source = VIRQ_KVM_SRC_PIC;
	return 0;
}

/* ---- exits ---- */

/* Whether KVM still holds an NMI we gave it with KVM_NMI: one that came
 * while the guest was blocking NMIs waits in KVM for the IRET, and a HLT
 * in between must not put the vCPU to sleep (KVM's own HLT would not). */
static bool kvm_nmi_queued(struct virq_kvm_vcpu *v)
{
	struct kvm_vcpu_events ev;

	if (!v->nmi_sent)
		return false;
	memset(&ev, 0, sizeof(ev));
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return true; /* cannot tell: keep running */
	if (ev.nmi.pending || ev.nmi.injected)
		return true;
	v->nmi_sent = false;
	return false;
}

static bool is_pic_port(uint16_t port)
{
	return port == 0x20 || port == 0x21 || port == 0xA0 || port == 0xA1 || port == 0x4D0 ||
	       port == 0x4D1;
}

/* The 8259 and ELCR ports, byte by byte; a wide access that runs past
 * them reads all ones there and writes nothing (an empty ISA bus). */
static void handle_pic_io(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count; i++) {
		for (uint32_t b = 0; b < run->io.size; b++) {
			uint8_t *p = data + i * run->io.size + b;
			uint16_t port = (uint16_t)(run->io.port + b);

			if (run->io.direction == KVM_EXIT_IO_OUT) {
				if (is_pic_port(port))
					(void)virq_vm_pic_write(&v->kvm->vm, port, *p);
			} else if (!is_pic_port(port) || virq_vm_pic_read(&v->kvm->vm, port, p)) {
				*p = 0xFF;
			}
		}
	}
}

/* Tags the vectors the I/O APIC's entries name (statistics). */
static void tag_ioapic_vectors(struct virq_kvm *kvm)
{
	uint64_t rte;

	for (unsigned pin = 0; pin < VIRQ_IOAPIC_DEFAULT_PINS; pin++) {
		pthread_mutex_lock(&kvm->lock);
		rte = 0;
		(void)virq_ioapic_get_rte(&kvm->ioapic, pin, &rte);
		pthread_mutex_unlock(&kvm->lock);
		if (!(rte & VIRQ_IOAPIC_RTE_MASKED))
			tag_vector(kvm, (uint8_t)rte, VIRQ_KVM_SRC_IOAPIC);
	}
}

static bool handle_mmio(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t addr = run->mmio.phys_addr, val = 0, base;
	unsigned len = run->mmio.len;
	int rc;

	if (len > 8)
		return false;
	if (addr >= VIRQ_KVM_IOAPIC_BASE && addr < VIRQ_KVM_IOAPIC_BASE + VIRQ_IOAPIC_MMIO_SIZE) {
		uint32_t off = (uint32_t)(addr - VIRQ_KVM_IOAPIC_BASE);

		if (run->mmio.is_write) {
			memcpy(&val, run->mmio.data, len);
			(void)virq_vm_ioapic_write(&v->kvm->vm, 0, off, len, val);
			tag_ioapic_vectors(v->kvm);
		} else {
			if (virq_vm_ioapic_read(&v->kvm->vm, 0, off, len, &val))
				val = ~0ULL;
			memcpy(run->mmio.data, &val, len);
		}
		return true;
	}
	if (split(v->kvm) || virq_lapic_get_mode(&v->lapic) != VIRQ_LAPIC_MODE_XAPIC)
		return false;
	base = virq_lapic_get_apic_base(&v->lapic) & ~0xFFFULL;
	if (addr < base || addr >= base + VIRQ_LAPIC_PAGE_SIZE)
		return false;
	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, len);
		rc = virq_lapic_mmio_write(&v->lapic, (uint32_t)(addr - base), len, val);
	} else {
		rc = virq_lapic_mmio_read(&v->lapic, (uint32_t)(addr - base), len, &val);
		memcpy(run->mmio.data, &val, len);
	}
	(void)rc; /* bad sizes were answered architecturally */
	return true;
}

static bool lapic_msr(uint32_t msr)
{
	return (msr >= 0x800 && msr <= 0x8FF) || msr == MSR_IA32_APIC_BASE ||
	       msr == MSR_IA32_TSC_DEADLINE;
}

static void handle_msr(struct virq_kvm_vcpu *v, bool write)
{
	struct kvm_run *run = v->run;
	uint32_t msr = run->msr.index;
	uint64_t val = 0;
	int rc;

	if (split(v->kvm) || !lapic_msr(msr)) {
		run->msr.error = 1; /* an MSR nobody emulates: #GP, as KVM */
		return;
	}
	if (msr == MSR_IA32_APIC_BASE) {
		if (write) {
			rc = virq_lapic_set_apic_base(&v->lapic, run->msr.data, false);
			if (!rc)
				(void)sync_apic_base(v);
		} else {
			run->msr.data = virq_lapic_get_apic_base(&v->lapic);
			rc = 0;
		}
	} else if (write) {
		rc = virq_lapic_msr_write(&v->lapic, msr, run->msr.data);
	} else {
		rc = virq_lapic_msr_read(&v->lapic, msr, &val);
		run->msr.data = val;
	}
	run->msr.error = rc ? 1 : 0;
}

static enum virq_kvm_exit handle_exit(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		v->stats.exits[VIRQ_KVM_STAT_IO]++;
		if (is_pic_port(run->io.port)) {
			handle_pic_io(v);
			return VIRQ_KVM_EXIT_CONTINUE;
		}
		return VIRQ_KVM_EXIT_IO;
	case KVM_EXIT_MMIO:
		v->stats.exits[VIRQ_KVM_STAT_MMIO]++;
		return handle_mmio(v) ? VIRQ_KVM_EXIT_CONTINUE : VIRQ_KVM_EXIT_MMIO;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		v->stats.exits[VIRQ_KVM_STAT_MSR]++;
		handle_msr(v, run->exit_reason == KVM_EXIT_X86_WRMSR);
		return VIRQ_KVM_EXIT_CONTINUE;
	case KVM_EXIT_HLT:
		v->stats.exits[VIRQ_KVM_STAT_HLT]++;
		v->halted = true;
		v->halted_if = run->if_flag != 0;
		if (kvm_nmi_queued(v) || virq_vcpu_wakes(&v->policy, v->halted_if)) {
			v->halted = false;
			return VIRQ_KVM_EXIT_CONTINUE;
		}
		return VIRQ_KVM_EXIT_HALT;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		v->stats.exits[VIRQ_KVM_STAT_IRQ_WINDOW]++;
		return VIRQ_KVM_EXIT_CONTINUE;
	case KVM_EXIT_SET_TPR:
		v->stats.exits[VIRQ_KVM_STAT_TPR]++;
		__atomic_store_n(&v->kvm->seen_set_tpr, 1, __ATOMIC_RELAXED);
		return VIRQ_KVM_EXIT_CONTINUE;
	case KVM_EXIT_INTR:
		v->stats.exits[VIRQ_KVM_STAT_INTR]++;
		return VIRQ_KVM_EXIT_KICKED;
	case KVM_EXIT_IOAPIC_EOI:
		v->stats.exits[VIRQ_KVM_STAT_EOI]++;
		virq_vm_eoi(&v->kvm->vm, run->eoi.vector);
		return VIRQ_KVM_EXIT_CONTINUE;
	default:
		v->stats.exits[VIRQ_KVM_STAT_OTHER]++;
		return VIRQ_KVM_EXIT_OTHER;
	}
}

/* vCPU 0 ends storm throttling once the pause is over. */
static void storm_service(struct virq_kvm *kvm)
{
	uint32_t pins;

	if (!__atomic_load_n(&kvm->storm_pins, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&kvm->lock);
	pins = now_ns() >= kvm->storm_at ? kvm->storm_pins : 0;
	kvm->storm_pins &= ~pins;
	pthread_mutex_unlock(&kvm->lock);
	for (unsigned pin = 0; pins; pin++, pins >>= 1)
		if (pins & 1U)
			(void)virq_vm_ioapic_service(&kvm->vm, 0, pin);
}

VIRQ_API enum virq_kvm_exit virq_kvm_vcpu_run(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	int rc;

	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&v->kicked, 0, __ATOMIC_SEQ_CST);
	if (v->index == 0)
		storm_service(v->kvm);
	rc = split(v->kvm) ? split_prepare(v) : user_prepare(v);
	if (rc < 0)
		return VIRQ_KVM_EXIT_ERROR;
	if (rc > 0)
		return VIRQ_KVM_EXIT_HALT;

	__atomic_store_n(&v->state, ST_RUN, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->kicked, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&v->state, ST_OUTSIDE, __ATOMIC_SEQ_CST);
		return VIRQ_KVM_EXIT_KICKED;
	}
	run->exit_reason = EXIT_NOT_ENTERED;
	rc = ioctl(v->fd, KVM_RUN, 0);
	__atomic_store_n(&v->state, ST_OUTSIDE, __ATOMIC_SEQ_CST);
	if (rc < 0 && errno == EINTR && run->exit_reason == EXIT_NOT_ENTERED)
		return VIRQ_KVM_EXIT_KICKED; /* never entered: a queued vector stays queued */
	/* An AP of KVM's LAPIC (split) woke from wait-for-SIPI: run again. */
	if (rc < 0 && errno == EAGAIN)
		return VIRQ_KVM_EXIT_CONTINUE;
	if (rc < 0 && errno != EINTR)
		return VIRQ_KVM_EXIT_ERROR;
	v->stats.runs++;
	v->inflight = false;
	if (!split(v->kvm) && run->cr8 != v->cr8)
		(void)virq_lapic_set_cr8(&v->lapic, run->cr8);
	if (rc < 0) {
		v->stats.exits[VIRQ_KVM_STAT_INTR]++;
		return VIRQ_KVM_EXIT_KICKED;
	}
	return handle_exit(v);
}

/* ---- devices ---- */

VIRQ_API int virq_kvm_set_irq(struct virq_kvm *kvm, uint32_t gsi, bool level)
{
	if (!kvm || gsi >= VIRQ_KVM_NR_GSIS)
		return -EINVAL;
	return virq_vm_set_irq(&kvm->vm, gsi, 0, level ? VIRQ_IRQ_HIGH : VIRQ_IRQ_LOW) ? -EINVAL
										       : 0;
}

VIRQ_API unsigned virq_kvm_send_msi(struct virq_kvm *kvm, uint64_t addr, uint32_t data)
{
	if (!kvm)
		return 0;
	tag_vector(kvm, (uint8_t)(data & 0xFFU), VIRQ_KVM_SRC_MSI);
	return virq_vm_send_msi(&kvm->vm, addr, data, 0);
}

/* ---- accessors ---- */

VIRQ_API struct virq_vm *virq_kvm_get_vm(struct virq_kvm *kvm)
{
	return &kvm->vm;
}

VIRQ_API struct virq_lapic *virq_kvm_vcpu_lapic(struct virq_kvm_vcpu *v)
{
	return split(v->kvm) ? NULL : &v->lapic;
}

VIRQ_API const struct virq_kvm_stats *virq_kvm_vcpu_stats(const struct virq_kvm_vcpu *v)
{
	return &v->stats;
}

VIRQ_API uint64_t virq_kvm_sent(const struct virq_kvm *kvm, enum virq_kvm_source src)
{
	return (unsigned)src < VIRQ_KVM_NR_SOURCES
		       ? __atomic_load_n(&kvm->sent[src], __ATOMIC_RELAXED)
		       : 0;
}

VIRQ_API uint64_t virq_kvm_lost(const struct virq_kvm *kvm)
{
	return __atomic_load_n(&kvm->lost, __ATOMIC_RELAXED);
}

VIRQ_API const char *virq_kvm_source_name(enum virq_kvm_source src)
{
	static const char *const names[VIRQ_KVM_NR_SOURCES] = {
		"LAPIC timer", "IPI", "IOAPIC pin", "PIC", "MSI", "NMI", "other LVT",
	};

	return (unsigned)src < VIRQ_KVM_NR_SOURCES ? names[src] : "?";
}

VIRQ_API const char *virq_kvm_exit_stat_name(enum virq_kvm_exit_stat st)
{
	static const char *const names[VIRQ_KVM_NR_EXIT_STATS] = {
		"io", "mmio", "msr", "hlt", "irq-window", "intr", "ioapic-eoi", "set-tpr", "other",
	};

	return (unsigned)st < VIRQ_KVM_NR_EXIT_STATS ? names[st] : "?";
}

VIRQ_API const char *virq_kvm_vcpu_describe(const struct virq_kvm_vcpu *v, char *buf, unsigned len)
{
	static const char *const states[] = { "outside", "in KVM_RUN", "waiting" };
	int st = __atomic_load_n(&v->state, __ATOMIC_RELAXED);
	uint64_t now = now_ns();
	long long tmo = v->timer_armed ? (long long)(v->timer_deadline - now) / 1000 : -1;

	if (split(v->kvm)) {
		snprintf(buf, len, "vCPU %u: %s, kicked %d, inflight %d, exits %llu", v->index,
			 (unsigned)st < 3 ? states[st] : "?",
			 __atomic_load_n(&v->kicked, __ATOMIC_RELAXED), v->inflight,
			 (unsigned long long)v->stats.runs);
		return buf;
	}
	snprintf(buf, len,
		 "vCPU %u: %s, halted %d (IF %d), timer %s%lld us, kicked %d, inflight %d, "
		 "IRR 0x%x ISR 0x%x TPR 0x%x PPR 0x%x, mode %d, mp %d, PIR ON %d, last 0x%x, "
		 "entries %llu",
		 v->index, (unsigned)st < 3 ? states[st] : "?", v->halted, v->halted_if,
		 v->timer_armed ? "in " : "off ", tmo,
		 __atomic_load_n(&v->kicked, __ATOMIC_RELAXED), v->inflight,
		 (unsigned)page_highest(v, VIRQ_LAPIC_REG_IRR) & 0x1FFU,
		 (unsigned)page_highest(v, VIRQ_LAPIC_REG_ISR) & 0x1FFU,
		 __atomic_load_n(&v->page[VIRQ_LAPIC_REG_TPR >> 2], __ATOMIC_RELAXED),
		 virq_lapic_get_ppr(&v->lapic), (int)virq_lapic_get_mode(&v->lapic),
		 (int)v->lapic.mp_state, virq_pi_pending(&v->lapic.pi) ? 1 : 0,
		 (unsigned)v->stats.last_vector & 0x1FFU, (unsigned long long)v->stats.runs);
	return buf;
}
