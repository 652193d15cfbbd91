/* SPDX-License-Identifier: MIT */
/*
 * virq-vmm: a small KVM-based VMM whose interrupt controllers are libvirq.
 *
 * It boots Multiboot v1 images the way QEMU's -kernel does, or a Linux
 * bzImage through the Linux x86 boot protocol (--kernel, with an MP table
 * describing the interrupt controllers), offers the PC devices Linux needs
 * (8254 PIT, port 0x61, a 16550A COM1 with interrupts, the keyboard
 * controller's reset) and QEMU's debug devices (devices.c) and runs 1-64
 * vCPUs (VIRQ_KVM_MAX_VCPUS), each on its own thread, plus one for the
 * PIT's timer and one for COM1's input.
 * Everything interrupt-related is one library call away:
 *
 *   setup      virq_kvm_init() before the vCPUs exist,
 *              virq_kvm_vcpu_init() for each of them;
 *   vCPU loop  virq_kvm_vcpu_run() (decide, inject, KVM_RUN, irqchip exits)
 *              and virq_kvm_vcpu_wait() when the guest halts;
 *   devices    virq_kvm_set_irq() for lines, virq_kvm_send_msi() for MSIs.
 *
 * Read vcpu_thread() first: it is the whole integration.
 *
 * Usage: virq-vmm [--irqchip=user|split] [--smp N] [--mem MIB] [--timeout SEC]
 *                 [--cmdline STR] [--env KEY=VALUE]... [--no-virtual-wire]
 *                 [--no-x2apic] [--no-tsc-deadline] [--stats] [--save FILE]
 *                 [--serial-input FILE] IMAGE
 *        virq-vmm [machine options] --kernel BZIMAGE [--initrd FILE] [--append STR]
 *                 [--acpi]
 *        virq-vmm --restore FILE [--save FILE] [--timeout SEC] [--stats]
 *                 [--serial-input FILE]
 *        virq-vmm --help | --version
 * print_usage() is the reference. Every argument is checked before /dev/kvm or
 * IMAGE is opened; a bad one exits with EXIT_USAGE and a message naming it.
 *
 * The platform a guest finds, as QEMU's -kernel gives it: the Multiboot
 * command line is IMAGE as given, a space and the --cmdline text; with
 * --irqchip=user the BSP's LAPIC starts in virtual-wire mode (software-
 * enabled, LINT0 ExtINT, LINT1 NMI), as PC firmware leaves it, so the 8259
 * reaches a guest that never programs its LAPIC (--no-virtual-wire: the
 * SDM's reset state instead; KVM's own LAPIC, with --irqchip=split, does
 * this by itself); CPUID shows x2APIC and the TSC-deadline timer unless
 * --no-x2apic / --no-tsc-deadline hide them (and the LAPIC then refuses
 * them as a CPU without them does).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <virq/kvm.h>
#include <virq/version.h>

#include "acpi.h"
#include "devices.h"
#include "loader.h"
#include "mptable.h"
#include "snapshot.h"

#define MAX_CPUS ((int)VIRQ_KVM_MAX_VCPUS)

/* Exit statuses of our own: even, so never an isa-debug-exit status. */
#define EXIT_USAGE 2              /* bad arguments: nothing was opened or run */
#define EXIT_VMM_ERROR 4          /* VMM or guest failure */
#define EXIT_SAVED 6              /* --save: the guest asked for a snapshot, FILE holds it */
#define EXIT_RESET DEV_EXIT_RESET /* 8: the guest reset the machine (port 0x64, 0xFE) */

/* Argument limits (print_usage() explains them); the RAM bounds
 * (MEM_MIN_MIB, MEM_MAX_MIB) are in snapshot.h, which checks a restored
 * machine against them too. */
#define MEM_DEFAULT_MIB 128
/* Seconds; 0 = no timeout. A year: SEC * 10^9 ns plus the monotonic clock
 * stays far below 2^64. */
#define TIMEOUT_MAX_S (365U * 24 * 3600)
#define MODULE_MAX 1024 /* bytes of --env text, NR_CPUS line included */

/* The last exits of one vCPU, printed when it crashes: KVM resets an SVM
 * vCPU before it reports a triple fault, so its registers at the fault
 * are gone; the exits before it are what is left (KVM_SYNC_X86_* copies
 * them into kvm_run at every exit, no extra system call). */
#define FLIGHT_LEN 24
#define FLIGHT_SYNC (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

struct flight_rec {
	uint64_t rip, rsp, rflags, cr0, cr3, runs;
	uint32_t exit_reason;
	uint8_t glue_exit, if_flag, ready, nmi_pending, nmi_injected, nmi_masked, intr_nr,
		intr_injected, exc_nr, exc_injected, shadow;
	int16_t last_vector;
};

struct flight {
	unsigned next;
	struct flight_rec rec[FLIGHT_LEN];
};

struct vmm {
	int kvm_fd, vm_fd;
	int nr_cpus;
	uint64_t ram_size;
	uint8_t *ram;
	bool split;
	bool stats;
	bool no_virtual_wire;
	bool no_x2apic;
	bool no_tsc_deadline;
	bool sync_regs; /* KVM_SYNC_X86_*: the flight recorder runs */
	unsigned timeout_s;
	const char *save_path;    /* --save FILE */
	const char *restore_path; /* --restore FILE */
	const char *serial_path;  /* --serial-input FILE */
	int serial_fd;            /* COM1's input: that FILE or stdin */
	const char *kernel_path;  /* --kernel BZIMAGE (Linux boot protocol) */
	const char *initrd_path;  /* --initrd FILE, with --kernel */
	const char *append;       /* --append STR, with --kernel */
	bool acpi;                /* --acpi, with --kernel: ACPI tables too */
	/* Snapshots: the vCPU threads meet here after their loops (--save) and
	 * before them (--restore), so each saves or loads its own vCPU while
	 * no other runs. */
	pthread_barrier_t barrier;
	struct snap_image snap;      /* --restore: the file */
	struct snap_vcpu *snap_cpus; /* --save: each vCPU's record */
	int snap_failed;             /* atomic: a vCPU's save or load failed */
	char snap_err[512];          /* the first such failure (under console_lock) */

	struct virq_kvm chip;
	struct virq_kvm_vcpu *vcpus[MAX_CPUS];
	int vcpu_fd[MAX_CPUS];
	struct kvm_run *run[MAX_CPUS];
	pthread_t threads[MAX_CPUS];

	struct dev_state dev;
	pthread_mutex_t console_lock;
	struct flight flight[MAX_CPUS];

	/* The PIT's timer thread (pit_thread()) and what wakes it. */
	pthread_t pit_thread;
	pthread_mutex_t pit_lock;
	pthread_cond_t pit_cond; /* on CLOCK_MONOTONIC */
	bool pit_kicked, pit_quit, pit_running;

	int stopping;    /* atomic: set once by stop() */
	int exit_status; /* valid once stopping */
	uint64_t unhandled_pio, unhandled_mmio;
	/* Port I/O exits by port (--stats: the busiest are listed), bit 31
	 * set once a port went unhandled. */
	uint32_t *pio_exits;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000U + (uint64_t)ts.tv_nsec;
}

/* Stops every vCPU; the first status wins. */
static void stop(struct vmm *m, int status)
{
	int expected = 0;

	if (!__atomic_compare_exchange_n(&m->stopping, &expected, 1, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	m->exit_status = status;
	for (int i = 0; i < m->nr_cpus; i++)
		virq_kvm_vcpu_kick(m->vcpus[i]);
}

static bool stopping(struct vmm *m)
{
	return __atomic_load_n(&m->stopping, __ATOMIC_SEQ_CST) != 0;
}

/* ---- device hooks (devices.c calls these) ---- */

static void hook_set_gsi(void *ctx, unsigned gsi, bool level)
{
	struct vmm *m = ctx;

	(void)virq_kvm_set_irq(&m->chip, gsi, level);
}

static void hook_send_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct vmm *m = ctx;

	(void)virq_kvm_send_msi(&m->chip, addr, data);
}

static void hook_exit_vm(void *ctx, int status)
{
	stop(ctx, status);
}

/* The guest wrote the snapshot port: with --save, every vCPU stops (the
 * writer right after its OUT) and main() writes the file once all have. */
static void hook_snapshot(void *ctx)
{
	struct vmm *m = ctx;

	if (m->save_path)
		stop(m, EXIT_SAVED);
}

static uint64_t hook_now_ns(void *ctx)
{
	(void)ctx;
	return mono_ns();
}

/* The CMOS RTC's clock: the host's. */
static int64_t hook_wall_s(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

/* The guest reprogrammed the PIT: the timer thread polls again. */
static void hook_timer_changed(void *ctx)
{
	struct vmm *m = ctx;

	pthread_mutex_lock(&m->pit_lock);
	m->pit_kicked = true;
	pthread_cond_signal(&m->pit_cond);
	pthread_mutex_unlock(&m->pit_lock);
}

static void hook_console(void *ctx, char c)
{
	struct vmm *m = ctx;

	pthread_mutex_lock(&m->console_lock);
	putchar(c);
	if (c == '\n')
		fflush(stdout);
	pthread_mutex_unlock(&m->console_lock);
}

/* ---- the PIT's timer and COM1's input ---- */

/*
 * One thread sleeps until channel 0's next OUT edge (dev_pit_poll() says
 * when) or until the guest reprograms the PIT, delivers the edge as a
 * pulse on GSI 0 and sleeps again; it never spins. When the host is late
 * (the nested emulator is slow), the periodic edges it missed are owed
 * and dev_pit_poll() delivers them one per half period until none is
 * left (devices.c: at most one second of them), so a guest that counts
 * ticks keeps count.
 */
static void *pit_thread(void *p)
{
	struct vmm *m = p;
	uint64_t deadline;
	struct timespec ts;

	pthread_mutex_lock(&m->pit_lock);
	while (!m->pit_quit) {
		m->pit_kicked = false;
		pthread_mutex_unlock(&m->pit_lock);
		deadline = dev_pit_poll(&m->dev);
		pthread_mutex_lock(&m->pit_lock);
		if (m->pit_quit || m->pit_kicked)
			continue;
		if (deadline == UINT64_MAX) {
			pthread_cond_wait(&m->pit_cond, &m->pit_lock);
			continue;
		}
		ts.tv_sec = (time_t)(deadline / 1000000000U);
		ts.tv_nsec = (long)(deadline % 1000000000U);
		(void)pthread_cond_timedwait(&m->pit_cond, &m->pit_lock, &ts);
	}
	pthread_mutex_unlock(&m->pit_lock);
	return NULL;
}

static void pit_timer_init(struct vmm *m)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&m->pit_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->pit_cond, &ca);
	pthread_condattr_destroy(&ca);
}

static void pit_timer_start(struct vmm *m)
{
	if (pthread_create(&m->pit_thread, NULL, pit_thread, m)) {
		fprintf(stderr, "virq-vmm: cannot create the PIT's timer thread\n");
		stop(m, EXIT_VMM_ERROR);
		return;
	}
	m->pit_running = true;
}

/* Ends the timer thread: no GSI 0 pulse after this returns. */
static void pit_timer_stop(struct vmm *m)
{
	if (!m->pit_running)
		return;
	pthread_mutex_lock(&m->pit_lock);
	m->pit_quit = true;
	pthread_cond_signal(&m->pit_cond);
	pthread_mutex_unlock(&m->pit_lock);
	pthread_join(m->pit_thread, NULL);
	m->pit_running = false;
}

/* COM1's receiver: bytes from fd (stdin or --serial-input) into its FIFO,
 * waiting while the FIFO is full. Ends at end of file; detached. */
static void *serial_thread(void *p)
{
	struct vmm *m = p;
	int fd = m->serial_fd;
	uint8_t buf[256];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (size_t off = 0; off < (size_t)n;) {
			off += dev_uart_receive(&m->dev, buf + off, (size_t)n - off);
			if (off < (size_t)n)
				dev_uart_wait_space(&m->dev);
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return NULL;
}

/* ---- exits the irqchip leaves to us ---- */

static void handle_pio(struct vmm *m, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool handled = true;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		if (!dev_pio(&m->dev, run->io.port, run->io.direction == KVM_EXIT_IO_OUT,
			     run->io.size, data)) {
			__atomic_fetch_add(&m->unhandled_pio, 1, __ATOMIC_RELAXED);
			handled = false;
		}
	if (m->pio_exits) {
		__atomic_fetch_add(&m->pio_exits[run->io.port], 1U, __ATOMIC_RELAXED);
		if (!handled)
			__atomic_fetch_or(&m->pio_exits[run->io.port], 1U << 31, __ATOMIC_RELAXED);
	}
}

static void handle_mmio(struct vmm *m, struct kvm_run *run)
{
	/* Nothing else is mapped: reads float high, writes are dropped. */
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xFF, sizeof(run->mmio.data));
	__atomic_fetch_add(&m->unhandled_mmio, 1, __ATOMIC_RELAXED);
}

/* A guest that crashed: say where, and what we last gave it. */
static void flight_record(struct vmm *m, int cpu, enum virq_kvm_exit e)
{
	const struct kvm_run *run = m->run[cpu];
	const struct kvm_vcpu_events *ev = &run->s.regs.events;
	struct flight *f = &m->flight[cpu];
	struct flight_rec *r = &f->rec[f->next++ % FLIGHT_LEN];

	r->rip = run->s.regs.regs.rip;
	r->rsp = run->s.regs.regs.rsp;
	r->rflags = run->s.regs.regs.rflags;
	r->cr0 = run->s.regs.sregs.cr0;
	r->cr3 = run->s.regs.sregs.cr3;
	r->runs = virq_kvm_vcpu_stats(m->vcpus[cpu])->runs;
	r->exit_reason = run->exit_reason;
	r->glue_exit = (uint8_t)e;
	r->if_flag = run->if_flag;
	r->ready = run->ready_for_interrupt_injection;
	r->nmi_pending = ev->nmi.pending;
	r->nmi_injected = ev->nmi.injected;
	r->nmi_masked = ev->nmi.masked;
	r->intr_injected = ev->interrupt.injected;
	r->intr_nr = ev->interrupt.nr;
	r->shadow = ev->interrupt.shadow;
	r->exc_injected = ev->exception.injected;
	r->exc_nr = ev->exception.nr;
	r->last_vector = virq_kvm_vcpu_stats(m->vcpus[cpu])->last_vector;
}

/* The 4-level walk of @va under @cr3 in guest RAM, printed: whether the
 * guest's own page tables still map what it ran on. */
static void walk_print(struct vmm *m, const char *what, uint64_t cr3, uint64_t va)
{
	uint64_t table = cr3 & 0x000FFFFFFFFFF000ULL, e = 0;

	fprintf(stderr, "  walk of %s %#" PRIx64 " (CR3 %#" PRIx64 "):", what, va, cr3);
	for (int level = 3; level >= 0; level--) {
		uint64_t at = table + ((va >> (12 + 9 * level)) & 511) * 8;

		if (at + 8 > m->ram_size) {
			fprintf(stderr, " entry at %#" PRIx64 " outside RAM\n", at);
			return;
		}
		memcpy(&e, m->ram + at, 8);
		fprintf(stderr, " %#" PRIx64, e);
		if (!(e & 1) || (level && level < 3 && (e & 0x80)))
			break;
		table = e & 0x000FFFFFFFFFF000ULL;
	}
	fprintf(stderr, "\n");
}

static void flight_print(struct vmm *m, int cpu)
{
	struct flight *f = &m->flight[cpu];

	if (!m->sync_regs)
		return;
	fprintf(stderr,
		"virq-vmm: vCPU %d: its last exits (oldest first; registers as KVM "
		"left them at each exit):\n",
		cpu);
	for (unsigned i = f->next > FLIGHT_LEN ? f->next - FLIGHT_LEN : 0; i < f->next; i++) {
		const struct flight_rec *r = &f->rec[i % FLIGHT_LEN];

		fprintf(stderr,
			"  run %" PRIu64 " exit %u/%u rip %#" PRIx64 " rsp %#" PRIx64
			" rflags %#" PRIx64 " cr0 %#" PRIx64 " cr3 %#" PRIx64
			" if %u ready %u shadow %u"
			" nmi p%u i%u m%u intr %u:%#x exc %u:%u last %#x\n",
			r->runs, r->exit_reason, r->glue_exit, r->rip, r->rsp, r->rflags, r->cr0,
			r->cr3, r->if_flag, r->ready, r->shadow, r->nmi_pending, r->nmi_injected,
			r->nmi_masked, r->intr_injected, r->intr_nr, r->exc_injected, r->exc_nr,
			(unsigned)(uint16_t)r->last_vector);
	}
	if (f->next >= 1) {
		/* A shutdown's own record holds the registers after KVM's reset:
		 * walk the exit before it. */
		const struct flight_rec *last = &f->rec[(f->next - 1) % FLIGHT_LEN];
		const struct flight_rec *r = last->exit_reason == KVM_EXIT_SHUTDOWN && f->next >= 2
						     ? &f->rec[(f->next - 2) % FLIGHT_LEN]
						     : last;

		if (r->cr0 & 0x80000000U) {
			walk_print(m, "RIP", r->cr3, r->rip);
			walk_print(m, "RSP", r->cr3, r->rsp - 8);
		}
	}
}

static void report_crash(struct vmm *m, int cpu, const char *what)
{
	const struct virq_kvm_stats *st = virq_kvm_vcpu_stats(m->vcpus[cpu]);
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	ioctl(m->vcpu_fd[cpu], KVM_GET_REGS, &regs);
	fflush(stdout);
	fprintf(stderr, "virq-vmm: vCPU %d: %s at RIP 0x%llx", cpu, what,
		(unsigned long long)regs.rip);
	if (st->last_vector >= 0)
		fprintf(stderr, "; last injected event: vector 0x%x (%s)\n", st->last_vector,
			virq_kvm_source_name(st->last_source));
	else
		fprintf(stderr, "; no event injected yet\n");
	flight_print(m, cpu);
}

static bool handle_other(struct vmm *m, int cpu, struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_SHUTDOWN:
		report_crash(m, cpu, "triple fault (shutdown)");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		report_crash(m, cpu,
			     run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
				     ? "emulation failure"
				     : "KVM internal error");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		report_crash(m, cpu, "VM entry failed");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		stop(m, 0);
		return true;
	default:
		fprintf(stderr, "virq-vmm: vCPU %d: unexpected exit reason %u\n", cpu,
			run->exit_reason);
		return false;
	}
}

/* ---- snapshots ---- */

static struct snap_machine snap_machine_of(struct vmm *m)
{
	return (struct snap_machine){
		.kvm_fd = m->kvm_fd,
		.nr_cpus = (uint32_t)m->nr_cpus,
		.flags = (m->no_x2apic ? SNAP_F_NO_X2APIC : 0U) |
			 (m->no_tsc_deadline ? SNAP_F_NO_TSC_DEADLINE : 0U) |
			 (m->no_virtual_wire ? SNAP_F_NO_VIRTUAL_WIRE : 0U),
		.ram_size = m->ram_size,
		.ram = m->ram,
		.chip = &m->chip,
		.vcpus = m->vcpus,
		.vcpu_fd = m->vcpu_fd,
		.dev = &m->dev,
	};
}

static void snap_vcpu_failed(struct vmm *m, const char *err)
{
	pthread_mutex_lock(&m->console_lock);
	if (!__atomic_exchange_n(&m->snap_failed, 1, __ATOMIC_SEQ_CST))
		snprintf(m->snap_err, sizeof(m->snap_err), "%s", err);
	pthread_mutex_unlock(&m->console_lock);
}

/* --restore, on vCPU thread @cpu before its loop: loads its state; once
 * every vCPU's is in, vCPU 0's thread loads the I/O APIC, 8259 and VM
 * (whose APIC-ID map comes from the restored LAPICs); then all go. Returns
 * false (run nothing) if anything failed. */
static bool snap_vcpu_restore(struct vmm *m, int cpu)
{
	struct snap_machine sm = snap_machine_of(m);
	char err[512];

	if (snap_apply_vcpu(&m->snap, &sm, (uint32_t)cpu, err, sizeof(err)))
		snap_vcpu_failed(m, err);
	pthread_barrier_wait(&m->barrier);
	if (cpu == 0 && !__atomic_load_n(&m->snap_failed, __ATOMIC_SEQ_CST) &&
	    snap_apply_vm(&m->snap, &sm, err, sizeof(err)))
		snap_vcpu_failed(m, err);
	pthread_barrier_wait(&m->barrier);
	if (!__atomic_load_n(&m->snap_failed, __ATOMIC_SEQ_CST))
		return true;
	stop(m, EXIT_VMM_ERROR);
	return false;
}

/* --save, on vCPU thread @cpu after its loop: once every vCPU thread is out
 * of its loop, saves its vCPU if the stop was the guest's snapshot request. */
static void snap_vcpu_save(struct vmm *m, int cpu)
{
	struct snap_machine sm = snap_machine_of(m);
	char err[512];

	if (cpu == 0)
		pit_timer_stop(m);         /* the machine is saved with no GSI 0 pulse under way */
	pthread_barrier_wait(&m->barrier); /* also orders exit_status */
	if (m->exit_status == EXIT_SAVED &&
	    snap_save_vcpu(&sm, (uint32_t)cpu, &m->snap_cpus[cpu], err, sizeof(err)))
		snap_vcpu_failed(m, err);
}

/* ---- the vCPU loop: the whole libvirq integration ---- */

struct vcpu_arg {
	struct vmm *m;
	int cpu;
};

static void *vcpu_thread(void *p)
{
	struct vcpu_arg *a = p;
	struct vmm *m = a->m;
	struct virq_kvm_vcpu *v = m->vcpus[a->cpu];
	struct kvm_run *run = m->run[a->cpu];

	/* --restore: the vCPU's state goes in before its timer and signal
	 * exist, and no vCPU runs before all are loaded. */
	if (m->restore_path && !snap_vcpu_restore(m, a->cpu))
		return NULL;
	/* The PIT's timer runs once the machine is whole (after a restore). */
	if (a->cpu == 0)
		pit_timer_start(m);
	if (virq_kvm_vcpu_thread_start(v)) {
		perror("virq-vmm: vCPU thread setup");
		stop(m, EXIT_VMM_ERROR);
		if (m->save_path)
			snap_vcpu_save(m, a->cpu);
		return NULL;
	}
	while (!stopping(m)) {
		enum virq_kvm_exit e = virq_kvm_vcpu_run(v);

		if (m->sync_regs)
			flight_record(m, a->cpu, e);
		switch (e) {
		case VIRQ_KVM_EXIT_CONTINUE:
		case VIRQ_KVM_EXIT_KICKED:
			break;
		case VIRQ_KVM_EXIT_IO:
			handle_pio(m, run);
			break;
		case VIRQ_KVM_EXIT_MMIO:
			handle_mmio(m, run);
			break;
		case VIRQ_KVM_EXIT_HALT:
			/* Sleeps until the LAPIC timer's deadline or a kick
			 * (a posted interrupt, a SIPI, stop()). */
			virq_kvm_vcpu_wait(v);
			break;
		case VIRQ_KVM_EXIT_OTHER:
			if (!handle_other(m, a->cpu, run))
				stop(m, EXIT_VMM_ERROR);
			break;
		case VIRQ_KVM_EXIT_ERROR:
			fprintf(stderr, "virq-vmm: vCPU %d: KVM_RUN: %s\n", a->cpu,
				strerror(errno));
			stop(m, EXIT_VMM_ERROR);
			break;
		}
	}
	if (m->save_path)
		snap_vcpu_save(m, a->cpu);
	return NULL;
}

/* ---- setup ---- */

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "virq-vmm: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(EXIT_VMM_ERROR);
}

/* A glue error for a message: the system call's errno for VIRQ_EHOST. */
static const char *glue_error(int err)
{
	return err == -VIRQ_EHOST ? strerror(errno) : virq_strerror(err);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xFFFFFFFFU;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

/* The Multiboot machine state: flat 32-bit protected mode, paging off. */
static void boot_bsp(struct vmm *m, const struct mb_boot *b)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	int fd = m->vcpu_fd[0];

	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		die("KVM_GET_SREGS: %s", strerror(errno));
	set_seg(&s.cs, 0x08, 0xB);
	set_seg(&s.ds, 0x10, 0x3);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.cr0 = 0x11; /* PE, ET */
	s.cr4 = 0;
	s.efer = 0;
	/* s.apic_base keeps what virq_kvm_vcpu_init() set. */
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
		die("KVM_SET_SREGS: %s", strerror(errno));
	memset(&r, 0, sizeof(r));
	r.rip = b->entry;
	r.rax = MB_BOOT_EAX;
	r.rbx = b->info;
	r.rflags = 2;
	if (ioctl(fd, KVM_SET_REGS, &r) < 0)
		die("KVM_SET_REGS: %s", strerror(errno));
}

/* The I/O APIC version virq-vmm's irqchip reports (virq_kvm_config's
 * ioapic_version is left 0, which is 0x20); the MP table says the same. */
#define VMM_IOAPIC_VERSION 0x20u

/* The guest's CPUID leaf 1 (signature in EAX, features in EDX), for the MP
 * table's processor entries; zeros if KVM will not say. */
static void guest_cpuid1(struct vmm *m, uint32_t *eax, uint32_t *edx)
{
	enum {
		NENT = 256
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));

	*eax = *edx = 0;
	if (!c)
		return;
	c->nent = NENT;
	if (ioctl(m->vcpu_fd[0], KVM_GET_CPUID2, c) == 0)
		for (uint32_t i = 0; i < c->nent; i++)
			if (c->entries[i].function == 1) {
				*eax = c->entries[i].eax;
				*edx = c->entries[i].edx;
			}
	free(c);
}

/* --kernel: sets CPUID.1:ECX bit 31 (a hypervisor is present) on every vCPU,
 * as other VMMs do for Linux guests, so that Linux reads KVM's signature leaf
 * (0x40000000) and takes its clock from kvm-clock (KVM_FEATURE_CLOCKSOURCE2,
 * kept in the kernel by KVM, which the glue leaves in leaf 0x40000001) and
 * the TSC frequency from it. Without it Linux calibrates the TSC against the
 * PIT, polling port 0x61 for 10 ms with at least 1,000 reads of even cost:
 * a nested KVM's port exits are too slow and too uneven for that, Linux
 * marks the TSC unstable, drops the TSC-deadline timer and, checking the
 * LAPIC timer against PIT ticks, disables it too. Multiboot guests keep
 * KVM's CPUID as the glue sets it. */
static void linux_cpuid(struct vmm *m)
{
	enum {
		NENT = 256
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));

	if (!c)
		die("%s", "out of memory");
	for (int v = 0; v < m->nr_cpus; v++) {
		c->nent = NENT;
		if (ioctl(m->vcpu_fd[v], KVM_GET_CPUID2, c) < 0)
			die("KVM_GET_CPUID2: %s", strerror(errno));
		for (uint32_t i = 0; i < c->nent; i++)
			if (c->entries[i].function == 1)
				c->entries[i].ecx |= 1U << 31;
		if (ioctl(m->vcpu_fd[v], KVM_SET_CPUID2, c) < 0)
			die("KVM_SET_CPUID2: %s", strerror(errno));
	}
	free(c);
}

/* --kernel: loads the bzImage and initrd, writes the MP table and, with
 * --acpi, the ACPI tables (Linux then takes the MADT unless acpi=off), and
 * starts
 * the BSP as the Linux 32-bit boot protocol requires: flat 4 GiB segments,
 * CS BZ_BOOT_CS and DS/ES/SS BZ_BOOT_DS from the loader's GDT, CR0.PE = 1,
 * PG = 0, IF = 0, ESI = zero page, EBP = EDI = EBX = 0, EIP = code32_start. */
static void boot_linux(struct vmm *m)
{
	struct mpt_config mpt = { .nr_cpus = (unsigned)m->nr_cpus,
				  .ioapic_version = VMM_IOAPIC_VERSION };
	struct acpi_config acpi = { .nr_cpus = (unsigned)m->nr_cpus,
				    .lapic_addr = BZ_LAPIC_BASE,
				    .ioapic_addr = BZ_IOAPIC_BASE };
	struct bz_boot b;
	struct kvm_sregs s;
	struct kvm_regs r;
	char err[512];
	int fd = m->vcpu_fd[0];

	if (bz_load(m->kernel_path, m->initrd_path, m->ram, m->ram_size, m->append, &b, err,
		    sizeof(err)))
		die("%s", err);
	linux_cpuid(m);
	guest_cpuid1(m, &mpt.cpu_signature, &mpt.cpu_features);
	if (mpt_write(m->ram, m->ram_size, &mpt, err, sizeof(err)) ||
	    (m->acpi && acpi_write(m->ram, m->ram_size, &acpi, err, sizeof(err))))
		die("%s", err);
	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		die("KVM_GET_SREGS: %s", strerror(errno));
	set_seg(&s.cs, BZ_BOOT_CS, 0xB);
	set_seg(&s.ds, BZ_BOOT_DS, 0x3);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.gdt.base = BZ_GDT;
	s.gdt.limit = BZ_GDT_LIMIT;
	s.cr0 = 0x11; /* PE, ET */
	s.cr4 = 0;
	s.efer = 0;
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
		die("KVM_SET_SREGS: %s", strerror(errno));
	memset(&r, 0, sizeof(r));
	r.rip = b.entry;
	r.rsi = b.zero_page;
	r.rflags = 2;
	if (ioctl(fd, KVM_SET_REGS, &r) < 0)
		die("KVM_SET_REGS: %s", strerror(errno));
}

static void create_vm(struct vmm *m)
{
	struct kvm_userspace_memory_region mem;
	struct virq_kvm_config cfg;
	int mmap_size, err;

	m->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm_fd < 0)
		die("cannot open /dev/kvm (%s): KVM is needed to run guests", strerror(errno));
	m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		die("%s", "this KVM lacks KVM_CAP_IMMEDIATE_EXIT");
	(void)ioctl(m->vm_fd, KVM_SET_TSS_ADDR, 0xFFFBD000UL); /* Intel real mode */

	m->ram = mmap(NULL, m->ram_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED)
		die("cannot allocate guest RAM: %s", strerror(errno));
	/* RAM from 0; the APIC and I/O APIC pages stay unmapped (MMIO exits). */
	memset(&mem, 0, sizeof(mem));
	mem.slot = 0;
	mem.guest_phys_addr = 0;
	mem.memory_size = m->ram_size;
	mem.userspace_addr = (uintptr_t)m->ram;
	if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &mem) < 0)
		die("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.irqchip = m->split ? VIRQ_KVM_IRQCHIP_SPLIT : VIRQ_KVM_IRQCHIP_USER;
	cfg.nr_vcpus = (uint32_t)m->nr_cpus;
	cfg.bsp_virtual_wire = !m->no_virtual_wire; /* user mode only; see the header */
	cfg.no_x2apic = m->no_x2apic;
	cfg.no_tsc_deadline = m->no_tsc_deadline;
	err = virq_kvm_init(&m->chip, m->vm_fd, &cfg);
	if (err)
		die("irqchip setup failed: %s", glue_error(err));

	mmap_size = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	m->sync_regs = (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & FLIGHT_SYNC) ==
		       FLIGHT_SYNC;
	for (int i = 0; i < m->nr_cpus; i++) {
		m->vcpu_fd[i] = ioctl(m->vm_fd, KVM_CREATE_VCPU, i);
		if (m->vcpu_fd[i] < 0)
			die("KVM_CREATE_VCPU: %s", strerror(errno));
		m->run[i] = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				 m->vcpu_fd[i], 0);
		if (m->run[i] == MAP_FAILED)
			die("mmap of kvm_run: %s", strerror(errno));
		if (m->sync_regs)
			m->run[i]->kvm_valid_regs = FLIGHT_SYNC;
		m->vcpus[i] = aligned_alloc(4096, sizeof(struct virq_kvm_vcpu));
		if (!m->vcpus[i])
			die("%s", "out of memory");
		err = virq_kvm_vcpu_init(m->vcpus[i], &m->chip, (uint32_t)i, m->vcpu_fd[i],
					 m->run[i]);
		if (err)
			die("vCPU setup failed: %s", glue_error(err));
	}
}

/* ---- statistics ---- */

/* The ports with the most port I/O exits (those of the devices this VMM
 * does not have show what a guest probes). */
static void print_busiest_ports(const struct vmm *m)
{
	enum {
		TOP = 6
	};
	uint32_t top[TOP] = { 0 }, n[TOP] = { 0 };

	if (!m->pio_exits)
		return;
	for (uint32_t p = 0; p < 0x10000; p++) {
		uint32_t c = m->pio_exits[p] & 0x7FFFFFFFU;

		for (int i = 0; i < TOP; i++) {
			if (c <= n[i])
				continue;
			memmove(&top[i + 1], &top[i], sizeof(top[0]) * (TOP - 1 - (size_t)i));
			memmove(&n[i + 1], &n[i], sizeof(n[0]) * (TOP - 1 - (size_t)i));
			top[i] = p;
			n[i] = c;
			break;
		}
	}
	if (!n[0])
		return;
	fprintf(stderr, "busiest ports (port I/O exits):");
	for (int i = 0; i < TOP && n[i]; i++)
		fprintf(stderr, " 0x%" PRIx32 " %" PRIu32 "%s", top[i], n[i],
			m->pio_exits[top[i]] >> 31 ? " (unhandled)" : "");
	fprintf(stderr, "\n");
}

static void print_stats(struct vmm *m, double wall_s)
{
	uint64_t inj[VIRQ_KVM_NR_SOURCES] = { 0 }, ex[VIRQ_KVM_NR_EXIT_STATS] = { 0 };
	uint64_t total_inj = 0, total_ex = 0, runs = 0, halts = 0;

	for (int i = 0; i < m->nr_cpus; i++) {
		const struct virq_kvm_stats *st = virq_kvm_vcpu_stats(m->vcpus[i]);

		for (int s = 0; s < VIRQ_KVM_NR_SOURCES; s++)
			inj[s] += st->injected[s];
		for (int e = 0; e < VIRQ_KVM_NR_EXIT_STATS; e++)
			ex[e] += st->exits[e];
		runs += st->runs;
		halts += st->halts;
	}
	if (m->split) {
		inj[VIRQ_KVM_SRC_IOAPIC] += virq_kvm_sent(&m->chip, VIRQ_KVM_SRC_IOAPIC);
		inj[VIRQ_KVM_SRC_MSI] += virq_kvm_sent(&m->chip, VIRQ_KVM_SRC_MSI);
	}
	fprintf(stderr, "\n== virq-vmm stats (irqchip %s, %d vCPU%s, %.3f s wall) ==\n",
		m->split ? "split" : "user", m->nr_cpus, m->nr_cpus > 1 ? "s" : "", wall_s);
	fprintf(stderr, "interrupts %s by source:\n", m->split ? "sent to KVM" : "injected");
	for (int s = 0; s < VIRQ_KVM_NR_SOURCES; s++) {
		fprintf(stderr, "  %-12s %10" PRIu64 "\n", virq_kvm_source_name(s), inj[s]);
		total_inj += inj[s];
	}
	if (m->split)
		fprintf(stderr, "  (LAPIC timer, IPIs and NMIs are injected by KVM's LAPIC)\n");
	fprintf(stderr, "exits by reason:\n");
	for (int e = 0; e < VIRQ_KVM_NR_EXIT_STATS; e++) {
		fprintf(stderr, "  %-12s %10" PRIu64 "\n", virq_kvm_exit_stat_name(e), ex[e]);
		total_ex += ex[e];
	}
	fprintf(stderr, "  %-12s %10" PRIu64 "\n", "total", total_ex);
	fprintf(stderr,
		"entries %" PRIu64 ", halts %" PRIu64 ", lost messages %" PRIu64
		", unhandled pio %" PRIu64 ", unhandled mmio %" PRIu64 "\n",
		runs, halts, virq_kvm_lost(&m->chip), m->unhandled_pio, m->unhandled_mmio);
	print_busiest_ports(m);
	if (total_inj)
		fprintf(stderr, "exits per interrupt: %.2f\n",
			(double)total_ex / (double)total_inj);
}

/* ---- arguments ---- */

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: virq-vmm [OPTION]... IMAGE\n"
		"       virq-vmm [OPTION]... --kernel BZIMAGE [--initrd FILE] [--append STR] [--acpi]\n"
		"       virq-vmm --help | --version\n"
		"Boots the Multiboot v1 kernel IMAGE (ELF32), or a Linux bzImage with\n"
		"--kernel, on KVM with libvirq as its interrupt controllers.\n"
		"\n"
		"  --irqchip=MODE    user: LAPIC, I/O APIC and 8259 in libvirq (default);\n"
		"                    split: I/O APIC and 8259 in libvirq, LAPIC in KVM\n"
		"  --smp=N           vCPUs, 1-%d (default 1)\n"
		"  --mem=MIB         guest RAM in MiB, %d-%d (default %d)\n"
		"  --timeout=SEC     stop the VM after SEC seconds (status %d), 0-%u;\n"
		"                    0 = no timeout (default)\n"
		"  --cmdline=STR     the Multiboot command line after the image name: the\n"
		"                    guest gets IMAGE as given, a space, then STR, as with\n"
		"                    QEMU's -kernel IMAGE -append STR (default empty)\n"
		"  --env=KEY=VALUE   one line of the Multiboot module, repeatable; KEY not\n"
		"                    empty, no newline; NR_CPUS=N is added from --smp\n"
		"  --kernel=BZIMAGE  boot a Linux bzImage (boot protocol 2.10 or later,\n"
		"                    32-bit entry) instead of a Multiboot IMAGE: zero page\n"
		"                    with an e820 map, and an MP table for the CPUs, the\n"
		"                    I/O APIC and the ISA IRQs, which Linux uses (no ACPI\n"
		"                    tables unless --acpi); the IMAGE argument is then\n"
		"                    not given\n"
		"  --initrd=FILE     with --kernel: the initramfs, loaded high in RAM\n"
		"  --append=STR      with --kernel: the kernel command line (default empty)\n"
		"  --acpi            with --kernel: ACPI tables too (RSDP, RSDT, XSDT, MADT,\n"
		"                    FADT, FACS, a DSDT without AML); Linux then uses the\n"
		"                    MADT unless acpi=off. The FADT has no PM1 or PM timer\n"
		"                    blocks (virq-vmm has no such devices): Linux reports\n"
		"                    that as a firmware bug\n"
		"  --no-virtual-wire with --irqchip=user, start the BSP's LAPIC in the SDM's\n"
		"                    reset state (software-disabled, every LVT masked)\n"
		"                    instead of virtual-wire mode (SVR 0x1FF, LINT0 ExtINT,\n"
		"                    LINT1 NMI, as PC firmware leaves it: the default);\n"
		"                    with --irqchip=split KVM's LAPIC decides (no effect)\n"
		"  --no-x2apic       hide x2APIC from CPUID; the LAPIC is xAPIC only\n"
		"  --no-tsc-deadline hide the TSC-deadline timer from CPUID; the LAPIC has\n"
		"                    no TSC-deadline mode\n"
		"  --stats           print interrupt and exit statistics to stderr at the end\n"
		"                    (and the ports with the most port I/O exits)\n"
		"  --save=FILE       when the guest writes the snapshot port (0x2200), stop\n"
		"                    every vCPU after that instruction, write the whole\n"
		"                    machine to FILE and exit with status %d (--irqchip=user\n"
		"                    only); without --save such writes are ignored\n"
		"  --restore=FILE    resume the guest saved in FILE right after its write to\n"
		"                    the snapshot port, instead of booting an IMAGE; the\n"
		"                    machine (--smp, --mem, --irqchip, CPUID options) is\n"
		"                    the file's and may not be given; a damaged file or one\n"
		"                    of another format version is refused (status %d) before\n"
		"                    anything runs\n"
		"  --serial-input=FILE\n"
		"                    bytes for COM1's receiver (the guest reads them from\n"
		"                    0x3F8); without it, standard input unless that is a\n"
		"                    terminal\n"
		"  --help            print this help and exit\n"
		"  --version         print the virq-vmm and libvirq versions and exit\n"
		"\n"
		"A value follows its option as the next argument or after '='. Numbers are\n"
		"plain decimal: digits only, no sign, spaces, suffix or leading zero. An\n"
		"option given twice takes the last value (--env adds a line each time).\n"
		"\n"
		"Devices: 8254 PIT (0x40-0x43, channel 0 on GSI 0), port 0x61, COM1 16550A\n"
		"(0x3F8, IRQ 4 on GSI 4), 8042 keyboard controller (0x60, 0x64:\n"
		"its own commands and the reset; no keyboard or mouse),\n"
		"QEMU's debug devices; devices.c lists every port.\n"
		"\n"
		"Exit status: 0 after \"Shutdown\" on port 0x8900 or a guest system event;\n"
		"the guest's isa-debug-exit status ((value << 1) | 1, odd); %d on a usage\n"
		"error (nothing was opened or run); %d on a VMM or guest failure (no\n"
		"/dev/kvm, a bad IMAGE, a crashed guest, the timeout, a refused snapshot);\n"
		"%d after --save wrote FILE; %d when the guest resets the machine (command\n"
		"0xFE to the keyboard controller, as Linux's reboot=k and its reboot\n"
		"fallbacks do).\n",
		MAX_CPUS, MEM_MIN_MIB, MEM_MAX_MIB, MEM_DEFAULT_MIB, EXIT_VMM_ERROR, TIMEOUT_MAX_S,
		EXIT_SAVED, EXIT_VMM_ERROR, EXIT_USAGE, EXIT_VMM_ERROR, EXIT_SAVED, EXIT_RESET);
}

/* A bad command line: what is wrong, a hint, EXIT_USAGE. */
__attribute__((format(printf, 1, 2), noreturn)) static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("virq-vmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'virq-vmm --help' for more information.\n", stderr);
	exit(EXIT_USAGE);
}

/* --help and --version end here: status 0 only if stdout took the text. */
__attribute__((noreturn)) static void exit_after_info(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "virq-vmm: cannot write to standard output\n");
		exit(EXIT_VMM_ERROR);
	}
	exit(0);
}

/*
 * The value of a numeric option: plain decimal (no sign, space, suffix, or
 * leading zero, which strtoul() would take as octal), from min to max.
 * max is far below UINT64_MAX / 10, so v * 10 + 9 cannot wrap while v <= max.
 */
static uint64_t parse_number(const char *opt, const char *arg, uint64_t min, uint64_t max,
			     const char *unit)
{
	uint64_t v = 0;

	for (const char *p = arg; *p; p++) {
		if (*p < '0' || *p > '9' || (p == arg && *p == '0' && p[1]))
			usage_error("%s: '%s' is not a plain decimal number (want %s, %" PRIu64
				    "-%" PRIu64 ")",
				    opt, arg, unit, min, max);
		if (v <= max)
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (!*arg)
		usage_error("%s: empty value (want %s, %" PRIu64 "-%" PRIu64 ")", opt, unit, min,
			    max);
	if (v < min || v > max)
		usage_error("%s: '%s' is out of range (want %s, %" PRIu64 "-%" PRIu64 ")", opt, arg,
			    unit, min, max);
	return v;
}

/* Appends one --env line to the module text (len bytes used of MODULE_MAX). */
static void add_env(char *module, size_t *len, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t n = strlen(arg);

	if (!eq || eq == arg)
		usage_error("--env: '%s' is not KEY=VALUE with a non-empty KEY", arg);
	if (strchr(arg, '\n'))
		usage_error("--env: '%s' has a newline (one KEY=VALUE line each)", arg);
	if (eq - arg == 7 && !memcmp(arg, "NR_CPUS", 7))
		usage_error("--env: '%s': NR_CPUS is set from --smp", arg);
	if (n + 1 >= MODULE_MAX - *len)
		usage_error("--env: '%s' does not fit: the module text is at most %d bytes", arg,
			    MODULE_MAX - 1);
	memcpy(module + *len, arg, n);
	module[*len + n] = '\n';
	*len += n + 1;
	module[*len] = '\0';
}

/* The FILE argument of option @opt (optarg), refused when empty. */
static const char *file_arg(const char *opt, const char *what)
{
	if (!*optarg)
		usage_error("%s: empty %s", opt, what);
	return optarg;
}

/*
 * Fills m and the boot parameters from the command line. Returns only if
 * every argument is good, having opened nothing; --help and --version exit 0,
 * anything wrong exits EXIT_USAGE.
 */
static void parse_args(struct vmm *m, int argc, char **argv, const char **image,
		       const char **cmdline, char *module)
{
	static const struct option opts[] = {
		{ "irqchip", required_argument, NULL, 'i' },
		{ "smp", required_argument, NULL, 's' },
		{ "mem", required_argument, NULL, 'm' },
		{ "stats", no_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "env", required_argument, NULL, 'e' },
		{ "no-virtual-wire", no_argument, NULL, 'W' },
		{ "no-x2apic", no_argument, NULL, 'X' },
		{ "no-tsc-deadline", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "save", required_argument, NULL, 'a' },
		{ "restore", required_argument, NULL, 'r' },
		{ "serial-input", required_argument, NULL, 'N' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'I' },
		{ "append", required_argument, NULL, 'A' },
		{ "acpi", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	size_t modlen = 0;
	const char *machine_opt = NULL; /* an option --restore takes from the file */
	const char *mb_opt = NULL;      /* a Multiboot-only option (not with --kernel) */
	const char *linux_opt = NULL;   /* --initrd or --append (only with --kernel) */
	int c, n;

	m->nr_cpus = 1;
	m->ram_size = (uint64_t)MEM_DEFAULT_MIB << 20;
	m->timeout_s = 0;
	m->split = false;
	m->no_virtual_wire = false;
	m->no_x2apic = false;
	m->no_tsc_deadline = false;
	*cmdline = "";
	module[0] = '\0';
	/* getopt_long() itself reports unknown options and missing or extra
	 * values, naming the option, after argv[0]: make that read like our
	 * own messages. We add the hint. */
	if (argc > 0)
		argv[0] = "virq-vmm";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		static const char *const names[128] = {
			['i'] = "--irqchip",   ['s'] = "--smp",
			['m'] = "--mem",       ['c'] = "--cmdline",
			['e'] = "--env",       ['W'] = "--no-virtual-wire",
			['X'] = "--no-x2apic", ['D'] = "--no-tsc-deadline",
		};

		if (c > 0 && c < 128 && names[c])
			machine_opt = names[c];
		switch (c) {
		case 'a':
			m->save_path = file_arg("--save", "FILE");
			break;
		case 'N':
			m->serial_path = file_arg("--serial-input", "FILE");
			break;
		case 'r':
			m->restore_path = file_arg("--restore", "FILE");
			break;
		case 'i':
			if (!strcmp(optarg, "split"))
				m->split = true;
			else if (!strcmp(optarg, "user"))
				m->split = false;
			else
				usage_error("--irqchip: '%s' is not user or split", optarg);
			break;
		case 's':
			m->nr_cpus = (int)parse_number("--smp", optarg, 1, MAX_CPUS, "vCPUs");
			break;
		case 'm':
			m->ram_size = parse_number("--mem", optarg, MEM_MIN_MIB, MEM_MAX_MIB, "MiB")
				      << 20;
			break;
		case 'S':
			m->stats = true;
			break;
		case 't':
			m->timeout_s = (unsigned)parse_number("--timeout", optarg, 0, TIMEOUT_MAX_S,
							      "seconds");
			break;
		case 'c':
			*cmdline = optarg;
			mb_opt = "--cmdline";
			break;
		case 'e':
			add_env(module, &modlen, optarg);
			mb_opt = "--env";
			break;
		case 'k':
			m->kernel_path = file_arg("--kernel", "BZIMAGE");
			break;
		case 'I':
			m->initrd_path = file_arg("--initrd", "FILE");
			linux_opt = "--initrd";
			break;
		case 'A':
			m->append = optarg;
			linux_opt = "--append";
			break;
		case 'P':
			m->acpi = true;
			linux_opt = "--acpi";
			break;
		case 'W':
			m->no_virtual_wire = true;
			break;
		case 'X':
			m->no_x2apic = true;
			break;
		case 'D':
			m->no_tsc_deadline = true;
			break;
		case 'h':
			print_usage(stdout);
			exit_after_info();
		case 'V':
			printf("virq-vmm (libvirq) %s\n", VIRQ_VERSION_STRING);
			exit_after_info();
		default:
			fputs("Try 'virq-vmm --help' for more information.\n", stderr);
			exit(EXIT_USAGE);
		}
	}
	if (m->save_path && m->split)
		usage_error("--save: snapshots need --irqchip=user (with split, KVM's LAPIC holds "
			    "the vCPUs' interrupt state, which virq-vmm does not save)");
	if (m->restore_path && (m->kernel_path || linux_opt))
		usage_error("--restore: unexpected %s (the snapshot holds the guest)",
			    m->kernel_path ? "--kernel" : linux_opt);
	if (m->restore_path) {
		if (machine_opt)
			usage_error("--restore: %s is the snapshot's; it may not be given",
				    machine_opt);
		if (optind < argc)
			usage_error(
				"--restore: unexpected IMAGE '%s' (the snapshot holds the guest)",
				argv[optind]);
		if (m->save_path && !strcmp(m->save_path, m->restore_path))
			usage_error("--save and --restore name the same FILE '%s'", m->save_path);
		*image = NULL;
		return;
	}
	if (!m->kernel_path && linux_opt)
		usage_error("%s needs --kernel (a Multiboot IMAGE takes --cmdline and --env)",
			    linux_opt);
	if (m->kernel_path) {
		if (mb_opt)
			usage_error("%s is for a Multiboot IMAGE; a --kernel bzImage takes "
				    "--append",
				    mb_opt);
		if (optind < argc)
			usage_error("unexpected IMAGE '%s' with --kernel (boot one kernel)",
				    argv[optind]);
		*image = NULL;
		return;
	}
	if (optind >= argc)
		usage_error("missing IMAGE (the Multiboot kernel to boot) or --kernel BZIMAGE");
	if (optind < argc - 1)
		usage_error("unexpected argument '%s' after IMAGE '%s' (one IMAGE only)",
			    argv[optind + 1], argv[optind]);
	if (!argv[optind][0])
		usage_error("IMAGE is an empty string");
	*image = argv[optind];
	n = snprintf(module + modlen, MODULE_MAX - modlen, "NR_CPUS=%d\n", m->nr_cpus);
	if (n < 0 || (size_t)n >= MODULE_MAX - modlen)
		usage_error("--env: no room left for NR_CPUS=%d: the module text is at most %d "
			    "bytes",
			    m->nr_cpus, MODULE_MAX - 1);
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	static struct vmm vm; /* large: the irqchip lives inside */
	struct vmm *m = &vm;
	struct vcpu_arg args[MAX_CPUS];
	struct dev_hooks hooks;
	struct mb_boot boot;
	char module[MODULE_MAX], err[512];
	const char *image, *cmdline;
	uint64_t t0;

	/* Everything the command line says is checked before anything opens. */
	parse_args(m, argc, argv, &image, &cmdline, module);
	pthread_mutex_init(&m->console_lock, NULL);
	pit_timer_init(m);

	if (m->restore_path) {
		/* The machine is the snapshot's; its header and checksum are
		 * checked before anything is created. */
		if (snap_load(m->restore_path, &m->snap, err, sizeof(err)))
			die("--restore refused: %s", err);
		m->nr_cpus = (int)m->snap.nr_cpus;
		m->ram_size = m->snap.ram_size;
		m->split = false;
		m->no_x2apic = m->snap.flags & SNAP_F_NO_X2APIC;
		m->no_tsc_deadline = m->snap.flags & SNAP_F_NO_TSC_DEADLINE;
		m->no_virtual_wire = m->snap.flags & SNAP_F_NO_VIRTUAL_WIRE;
	}
	if (m->save_path) {
		m->snap_cpus = calloc((size_t)m->nr_cpus, sizeof(*m->snap_cpus));
		if (!m->snap_cpus)
			die("%s", "out of memory");
	}
	if (m->save_path || m->restore_path)
		pthread_barrier_init(&m->barrier, NULL, (unsigned)m->nr_cpus);
	create_vm(m);
	hooks = (struct dev_hooks){ .ctx = m,
				    .set_gsi = hook_set_gsi,
				    .send_msi = hook_send_msi,
				    .exit_vm = hook_exit_vm,
				    .console = hook_console,
				    .snapshot = hook_snapshot,
				    .now_ns = hook_now_ns,
				    .wall_s = hook_wall_s,
				    .timer_changed = hook_timer_changed };
	dev_init(&m->dev, &hooks, (uint16_t)m->nr_cpus, m->ram_size);
	if (m->restore_path) {
		struct snap_machine sm = snap_machine_of(m);

		/* Devices and RAM here; each vCPU, then the VM, on the vCPU
		 * threads (snap_vcpu_restore()). */
		if (snap_apply(&m->snap, &sm, err, sizeof(err)))
			die("--restore refused: %s", err);
		m->dev.restores++;
	} else if (m->kernel_path) {
		boot_linux(m); /* APs as below: Linux starts them with INIT/SIPI */
	} else {
		if (mb_load(image, m->ram, m->ram_size, cmdline, module, &boot, err, sizeof(err)))
			die("%s", err);
		boot_bsp(m, &boot);
		/* APs stay in their reset state: the guest starts them with
		 * INIT/SIPI (user irqchip: through libvirq; split: through
		 * KVM's LAPIC). */
	}

	if (m->serial_path || !isatty(STDIN_FILENO)) {
		pthread_t t;

		m->serial_fd = STDIN_FILENO;
		if (m->serial_path) {
			m->serial_fd = open(m->serial_path, O_RDONLY | O_CLOEXEC);
			if (m->serial_fd < 0) {
				snprintf(err, sizeof(err), "%s: %s", m->serial_path,
					 strerror(errno));
				die("--serial-input: %s", err);
			}
		}
		if (pthread_create(&t, NULL, serial_thread, m))
			die("%s", "cannot create COM1's input thread");
		pthread_detach(t);
	}

	if (m->stats)
		m->pio_exits = calloc(0x10000, sizeof(*m->pio_exits)); /* NULL: not listed */
	t0 = mono_ns();
	for (int i = 0; i < m->nr_cpus; i++) {
		args[i] = (struct vcpu_arg){ .m = m, .cpu = i };
		if (pthread_create(&m->threads[i], NULL, vcpu_thread, &args[i]))
			die("%s", "cannot create a vCPU thread");
	}
	if (m->timeout_s) {
		uint64_t end = t0 + (uint64_t)m->timeout_s * 1000000000U;

		while (!stopping(m) && mono_ns() < end)
			usleep(10000);
		if (!stopping(m)) {
			char line[512];

			fprintf(stderr, "virq-vmm: timeout after %u s\n", m->timeout_s);
			for (int i = 0; i < m->nr_cpus; i++)
				fprintf(stderr, "  %s\n",
					virq_kvm_vcpu_describe(m->vcpus[i], line, sizeof(line)));

			stop(m, EXIT_VMM_ERROR);
		}
	}
	for (int i = 0; i < m->nr_cpus; i++)
		pthread_join(m->threads[i], NULL);
	pit_timer_stop(m);
	fflush(stdout);
	if (m->restore_path && m->snap_failed)
		die("--restore refused: %s", m->snap_err); /* no vCPU ran */
	if (m->exit_status == EXIT_SAVED) {
		/* Every vCPU thread saved its vCPU and ended: nothing runs. */
		struct snap_machine sm = snap_machine_of(m);

		if (m->snap_failed)
			die("--save failed: %s", m->snap_err);
		if (snap_save(&sm, m->snap_cpus, m->save_path, err, sizeof(err)))
			die("--save failed: %s", err);
		fprintf(stderr, "virq-vmm: snapshot saved to %s\n", m->save_path);
	}
	if (m->restore_path)
		snap_free(&m->snap);
	if (m->stats)
		print_stats(m, (double)(mono_ns() - t0) / 1e9);
	free(m->pio_exits);
	return m->exit_status;
}
