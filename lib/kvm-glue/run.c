/* SPDX-License-Identifier: MIT */
/*
 * The KVM glue's vCPU loop: the vCPU event policy (vcpu.h) decides, this
 * file encodes the decision (KVM_INTERRUPT, KVM_NMI, KVM_SMI, the real-mode
 * states of INIT and SIPI, the interrupt window, CR8), enters with KVM_RUN
 * and hands the irqchip's exits to the controllers. Hosted only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <virq/regs/lapic.h>

#include "glue.h"

/* run->exit_reason before KVM_RUN: still there afterwards means the
 * guest was never entered (immediate_exit). */
#define EXIT_NOT_ENTERED 0xFFFFFFFFU

/* ---- injection (user mode) ---- */

/* Where an injected LAPIC vector came from, for the statistics: the LVT
 * Timer, else the source that last sent it (an I/O APIC pin or an MSI,
 * tagged as they send), else another unmasked LVT entry, else an IPI. */
static enum virq_kvm_source classify(const struct virq_kvm_vcpu *v, uint8_t vector)
{
	static const uint32_t lvts[] = { VIRQ_LAPIC_REG_LVT_LINT0, VIRQ_LAPIC_REG_LVT_LINT1,
					 VIRQ_LAPIC_REG_LVT_ERROR, VIRQ_LAPIC_REG_LVT_THERMAL,
					 VIRQ_LAPIC_REG_LVT_PMC,   VIRQ_LAPIC_REG_LVT_CMCI };
	uint32_t lvt = virq_lapic_read_reg(&v->lapic, VIRQ_LAPIC_REG_LVT_TIMER);
	uint8_t tag;

	if ((uint8_t)lvt == vector && !(lvt & VIRQ_LVT_MASKED))
		return VIRQ_KVM_SRC_TIMER;
	tag = __atomic_load_n(&v->kvm->vec_src[vector], __ATOMIC_RELAXED);
	if (tag)
		return (enum virq_kvm_source)(tag - 1);
	for (unsigned i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++) {
		lvt = virq_lapic_read_reg(&v->lapic, lvts[i]);
		if ((uint8_t)lvt == vector && !(lvt & VIRQ_LVT_MASKED))
			return VIRQ_KVM_SRC_LVT;
	}
	return VIRQ_KVM_SRC_IPI;
}

/* Arms or ends the CR8 poll after a decision: while the pending vector
 * waits for the TPR alone, and KVM has not shown it reports CR8 decreases. */
static void tpr_poll(struct virq_kvm_vcpu *v, const struct virq_vcpu_decision *d)
{
	uint64_t want = 0;

	if (!__atomic_load_n(&v->kvm->seen_set_tpr, __ATOMIC_RELAXED) &&
	    !(d->actions & (VIRQ_VCPU_INTR | VIRQ_VCPU_INTR_WINDOW)) &&
	    virq_lapic_tpr_blocked(&v->lapic))
		want = glue_now_ns() + VIRQ_KVM_TPR_POLL_NS;
	if (!want && !v->poll_deadline)
		return;
	v->poll_deadline = want;
	glue_timer_program(v);
}

static void count_injection(struct virq_kvm_vcpu *v, int16_t vector, enum virq_kvm_source src)
{
	v->stats.injected[src]++;
	v->stats.last_vector = vector;
	v->stats.last_source = (uint8_t)src;
}

/* The decision for this entry, encoded. 1: do not enter (halted);
 * -VIRQ_EHOST: an ioctl failed (errno set). */
static int user_prepare(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	struct virq_vcpu_window w;
	struct virq_vcpu_decision d;
	struct kvm_interrupt irq;

	if (v->timer_armed && glue_now_ns() >= v->timer_deadline) {
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
	    glue_start_real_mode(v, 0xF000, 0xFFFF0000ULL, 0xFFF0))
		return -VIRQ_EHOST;
	if (d.actions & VIRQ_VCPU_SIPI) {
		if (glue_start_real_mode(v, (uint16_t)(d.sipi_vector << 8),
					 (uint64_t)d.sipi_vector << 12, 0))
			return -VIRQ_EHOST;
		run->if_flag = 0;
		run->ready_for_interrupt_injection = 0;
	}
	if (d.actions & VIRQ_VCPU_WAIT_SIPI)
		return 1;
	if ((d.actions & VIRQ_VCPU_SMI) && ioctl(v->fd, KVM_SMI, 0) < 0)
		return -VIRQ_EHOST;
	if (d.actions & VIRQ_VCPU_NMI) {
		if (ioctl(v->fd, KVM_NMI, 0) < 0)
			return -VIRQ_EHOST;
		v->nmi_sent = true;
		count_injection(v, 2, VIRQ_KVM_SRC_NMI);
	}
	if (d.actions & VIRQ_VCPU_INTR) {
		irq.irq = d.vector;
		if (ioctl(v->fd, KVM_INTERRUPT, &irq) < 0)
			return -VIRQ_EHOST;
		v->inflight = true;
		count_injection(v, d.vector,
				d.source == VIRQ_VCPU_SRC_PIC ? VIRQ_KVM_SRC_PIC
							      : classify(v, d.vector));
	}
	run->request_interrupt_window = (d.actions & VIRQ_VCPU_INTR_WINDOW) ? 1 : 0;
	tpr_poll(v, &d);
	v->cr8 = (uint8_t)virq_lapic_get_cr8(&v->lapic);
	run->cr8 = v->cr8;
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

static bool handle_mmio(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t addr = run->mmio.phys_addr, val = 0, base;
	unsigned len = run->mmio.len;

	if (len > 8)
		return false;
	if (addr >= VIRQ_KVM_IOAPIC_BASE && addr < VIRQ_KVM_IOAPIC_BASE + VIRQ_IOAPIC_MMIO_SIZE) {
		uint32_t off = (uint32_t)(addr - VIRQ_KVM_IOAPIC_BASE);

		if (run->mmio.is_write) {
			memcpy(&val, run->mmio.data, len);
			(void)virq_vm_ioapic_write(&v->kvm->vm, 0, off, len, val);
		} else {
			if (virq_vm_ioapic_read(&v->kvm->vm, 0, off, len, &val))
				val = ~0ULL;
			memcpy(run->mmio.data, &val, len);
		}
		return true;
	}
	if (glue_split(v->kvm) || virq_lapic_get_mode(&v->lapic) != VIRQ_LAPIC_MODE_XAPIC)
		return false;
	base = virq_lapic_get_apic_base(&v->lapic) & ~0xFFFULL;
	if (addr < base || addr >= base + VIRQ_LAPIC_PAGE_SIZE)
		return false;
	/* Bad sizes get the architectural answer inside the LAPIC. */
	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, len);
		(void)virq_lapic_mmio_write(&v->lapic, (uint32_t)(addr - base), len, val);
	} else {
		(void)virq_lapic_mmio_read(&v->lapic, (uint32_t)(addr - base), len, &val);
		memcpy(run->mmio.data, &val, len);
	}
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

	if (glue_split(v->kvm) || !lapic_msr(msr)) {
		run->msr.error = 1; /* an MSR nobody emulates: #GP, as KVM */
		return;
	}
	if (msr == MSR_IA32_APIC_BASE) {
		if (write) {
			rc = virq_lapic_set_apic_base(&v->lapic, run->msr.data, false);
			if (!rc)
				(void)glue_sync_apic_base(v);
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
		glue_split_eoi(v, run->eoi.vector);
		return VIRQ_KVM_EXIT_CONTINUE;
	default:
		v->stats.exits[VIRQ_KVM_STAT_OTHER]++;
		return VIRQ_KVM_EXIT_OTHER;
	}
}

VIRQ_API enum virq_kvm_exit virq_kvm_vcpu_run(struct virq_kvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	int rc;

	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&v->kicked, 0, __ATOMIC_SEQ_CST);
	if (v->index == 0)
		glue_storm_service(v->kvm);
	rc = glue_split(v->kvm) ? glue_split_prepare(v) : user_prepare(v);
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
	if (!glue_split(v->kvm) && run->cr8 != v->cr8)
		(void)virq_lapic_set_cr8(&v->lapic, run->cr8);
	if (rc < 0) {
		v->stats.exits[VIRQ_KVM_STAT_INTR]++;
		return VIRQ_KVM_EXIT_KICKED;
	}
	return handle_exit(v);
}
