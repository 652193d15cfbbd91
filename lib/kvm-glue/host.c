/* SPDX-License-Identifier: MIT */
/*
 * The host side of the KVM glue: the kick signal that gets a vCPU thread
 * out of KVM_RUN, the per-vCPU POSIX timer behind the LAPIC timer and the
 * CR8 poll, halts, and the reports (names, one-line vCPU description).
 * Hosted Linux only: pthreads, signals, POSIX timers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <virq/regs/lapic.h>

#include "glue.h"

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

uint64_t glue_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000U + (uint64_t)ts.tv_nsec;
}

int glue_kick_signal(const struct virq_kvm *kvm)
{
	return kvm->cfg.kick_signal ? kvm->cfg.kick_signal : SIGUSR1;
}

/* One host timer per vCPU serves the LAPIC timer and the CR8 poll. */
void glue_timer_program(struct virq_kvm_vcpu *v)
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
		return -VIRQ_EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	if (sigaction(glue_kick_signal(v->kvm), &sa, NULL) < 0)
		return -VIRQ_EHOST;
	sigemptyset(&set);
	sigaddset(&set, glue_kick_signal(v->kvm));
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = glue_kick_signal(v->kvm);
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) < 0)
		return -VIRQ_EHOST;
	memcpy(&v->timer, &t, sizeof(t));
	tls_vcpu = v;
	v->thread = pthread_self();
	__atomic_store_n(&v->thread_started, true, __ATOMIC_RELEASE);
	glue_timer_program(v);
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
		pthread_kill(v->thread, glue_kick_signal(v->kvm));
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
	if (!__atomic_load_n(&v->kicked, __ATOMIC_SEQ_CST) && glue_now_ns() < deadline)
		v->stats.halts++;
	while (!__atomic_load_n(&v->kicked, __ATOMIC_SEQ_CST) && glue_now_ns() < deadline) {
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

/* ---- reports ---- */

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

/* Highest vector of a 256-bit register (IRR, ISR) of the LAPIC, or -1. */
static int reg_highest(const struct virq_lapic *lapic, uint32_t reg)
{
	for (int w = 7; w >= 0; w--) {
		uint32_t bits = virq_lapic_read_reg(lapic, reg + (uint32_t)w * 0x10U);

		if (bits)
			return w * 32 + 31 - __builtin_clz(bits);
	}
	return -1;
}

VIRQ_API const char *virq_kvm_vcpu_describe(const struct virq_kvm_vcpu *v, char *buf, unsigned len)
{
	static const char *const states[] = { "outside", "in KVM_RUN", "waiting" };
	int st = __atomic_load_n(&v->state, __ATOMIC_RELAXED);
	uint64_t now = glue_now_ns();
	long long tmo = v->timer_armed ? (long long)(v->timer_deadline - now) / 1000 : -1;

	if (glue_split(v->kvm)) {
		snprintf(buf, len, "vCPU %u: %s, kicked %d, inflight %d, exits %llu", v->index,
			 (unsigned)st < 3 ? states[st] : "?",
			 __atomic_load_n(&v->kicked, __ATOMIC_RELAXED), v->inflight,
			 (unsigned long long)v->stats.runs);
		return buf;
	}
	snprintf(buf, len,
		 "vCPU %u: %s, halted %d (IF %d), timer %s%lld us, kicked %d, inflight %d, "
		 "IRR 0x%x ISR 0x%x TPR 0x%x PPR 0x%x, mode %d, mp %d, posted %d, last 0x%x, "
		 "entries %llu",
		 v->index, (unsigned)st < 3 ? states[st] : "?", v->halted, v->halted_if,
		 v->timer_armed ? "in " : "off ", tmo,
		 __atomic_load_n(&v->kicked, __ATOMIC_RELAXED), v->inflight,
		 (unsigned)reg_highest(&v->lapic, VIRQ_LAPIC_REG_IRR) & 0x1FFU,
		 (unsigned)reg_highest(&v->lapic, VIRQ_LAPIC_REG_ISR) & 0x1FFU,
		 virq_lapic_read_reg(&v->lapic, VIRQ_LAPIC_REG_TPR), virq_lapic_get_ppr(&v->lapic),
		 (int)virq_lapic_get_mode(&v->lapic), (int)virq_lapic_get_mp_state(&v->lapic),
		 virq_lapic_has_posted(&v->lapic) ? 1 : 0, (unsigned)v->stats.last_vector & 0x1FFU,
		 (unsigned long long)v->stats.runs);
	return buf;
}
