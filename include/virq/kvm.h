/* SPDX-License-Identifier: MIT */
/**
 * @file kvm.h
 * @brief libvirq as the irqchip of a Linux KVM virtual machine (hosted only).
 *
 * A `struct virq_kvm` is a complete interrupt controller set for one KVM VM:
 * the libvirq VM (`struct virq_vm`) with one I/O APIC at 0xFEC00000 and the
 * 8259 pair, plus, in userspace-irqchip mode, one libvirq LAPIC per vCPU.
 * The VMM keeps memory, devices and vCPU threads; it calls this glue from
 * its vCPU loop and hands it the exits that belong to the irqchip.
 *
 * It is a library of its own, `libvirq-kvm` (pkg-config `libvirq-kvm`, which
 * requires `libvirq`): libvirq needs nothing of an operating system, this
 * one needs Linux, pthreads, signals and POSIX timers. It only encodes: what
 * to inject is the vCPU event policy's decision (vcpu.h), in both modes.
 * Errors are <virq/error.h>'s: -::VIRQ_EINVAL and friends for the caller's
 * mistakes, -::VIRQ_EHOST when a system call failed (errno tells which).
 *
 * ## Modes (virq_kvm_config::irqchip)
 *
 * - ::VIRQ_KVM_IRQCHIP_USER: no KVM_CREATE_IRQCHIP. libvirq owns the LAPICs,
 *   the I/O APIC and the PIC. The glue enables KVM_CAP_X86_USER_SPACE_MSR,
 *   installs an MSR filter so IA32_APIC_BASE and IA32_TSC_DEADLINE exit,
 *   answers the x2APIC MSRs (0x800-0x8FF arrive as "invalid MSR" exits) with
 * the LAPIC's exact \#GP verdicts, decodes APIC-page MMIO, keeps `run->cr8`
 *   and the TPR in step, injects with KVM_INTERRUPT / KVM_NMI as the vCPU
 *   event policy (vcpu.h) decides, and brings APs up by INIT/SIPI.
 * - ::VIRQ_KVM_IRQCHIP_SPLIT: KVM_CAP_SPLIT_IRQCHIP. The LAPICs are KVM's;
 *   libvirq owns the I/O APIC and the PIC. I/O APIC entries are mirrored
 *   into KVM GSI routes (KVM_SET_GSI_ROUTING) and raised with KVM_IRQ_LINE;
 *   other MSIs go through KVM_SIGNAL_MSI; KVM_EXIT_IOAPIC_EOI feeds the
 *   I/O APIC's Remote IRR (unless KVM's LAPIC has EOI-broadcast
 *   suppression on, SVR bit 12: KVM exits anyway, the glue checks it with
 *   KVM_GET_LAPIC); the PIC's ExtINT vector goes in with
 *   KVM_INTERRUPT when the policy of vCPU 0 (virq_vcpu_init() without a
 *   LAPIC) decides it.
 *
 * ## Embedding (see examples/vmm/main.c)
 *
 * @code
 * static struct virq_kvm chip;                // large: static or heap
 * struct virq_kvm_config cfg = { .size = sizeof(cfg), .irqchip = VIRQ_KVM_IRQCHIP_USER,
 *                                 .nr_vcpus = n };
 * virq_kvm_init(&chip, vm_fd, &cfg);         // before creating vCPUs
 * for (i = 0; i < n; i++)
 *         virq_kvm_vcpu_init(&vcpus[i], &chip, i, vcpu_fd[i], run[i]);
 *
 * // on each vCPU thread:
 * virq_kvm_vcpu_thread_start(&vcpus[i]);
 * for (;;) {
 *         switch (virq_kvm_vcpu_run(&vcpus[i])) {
 *         case VIRQ_KVM_EXIT_IO:   my_pio(run); break;
 *         case VIRQ_KVM_EXIT_MMIO: my_mmio(run); break;
 *         case VIRQ_KVM_EXIT_HALT: virq_kvm_vcpu_wait(&vcpus[i]); break;
 *         case VIRQ_KVM_EXIT_OTHER: handle_or_die(run->exit_reason); break;
 *         default: break;                     // CONTINUE, KICKED
 *         }
 *         if (stopping) break;
 * }
 *
 * // devices, from any thread:
 * virq_kvm_set_irq(&chip, gsi, level);
 * virq_kvm_send_msi(&chip, addr, data);
 * @endcode
 *
 * ## Threads
 *
 * virq_kvm_vcpu_run(), virq_kvm_vcpu_wait() and the vCPU's LAPIC belong to
 * the vCPU's thread. virq_kvm_set_irq(), virq_kvm_send_msi() and
 * virq_kvm_vcpu_kick() may be called from any thread. A kick makes the
 * vCPU thread leave KVM_RUN (signal ::virq_kvm_config::kick_signal, whose
 * handler sets `run->immediate_exit`) or wakes it from
 * virq_kvm_vcpu_wait(); no wakeup is lost between the decision to enter
 * and KVM_RUN.
 *
 * ## Snapshots (user mode)
 *
 * What the glue owns of a VM and of each vCPU, for a VMM that stops a guest
 * and resumes it later, possibly in another process: libvirq's controllers
 * and the glue's own bookkeeping (a halted vCPU, a vector already handed to
 * KVM_INTERRUPT but not yet entered, an NMI given to KVM). KVM's own vCPU
 * state (registers, segment and control registers, FPU/XSAVE, MSRs such as
 * IA32_TSC, KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE) is the VMM's to save
 * with KVM's ioctls, as for any KVM guest (doc/kvm.md, "Snapshots").
 *
 * Saving: stop every vCPU thread (none in virq_kvm_vcpu_run() or
 * virq_kvm_vcpu_wait(), no device calling virq_kvm_set_irq() or
 * virq_kvm_send_msi()), call virq_kvm_vcpu_save() for each vCPU and only
 * then read KVM's registers (it completes the I/O or MMIO exit KVM last
 * reported), then virq_kvm_save().
 *
 * Restoring, into a ::virq_kvm set up with the same configuration and its
 * vCPUs initialised, before any vCPU thread starts: for each vCPU KVM's
 * registers (IA32_TSC before the next step) and virq_kvm_vcpu_restore(),
 * then virq_kvm_restore() (the VM rebuilds its APIC-ID map from the
 * restored LAPICs), then start the vCPU threads. Split mode is not
 * supported (KVM's LAPIC holds the vCPUs' interrupt state): the calls
 * answer -::VIRQ_ENOTSUP.
 *
 * ## KVM facts the glue relies on (measured on the development host)
 *
 * KVM_INTERRUPT without an in-kernel LAPIC delivers even with IF = 0, and a
 * second call before KVM_RUN replaces the first: the glue injects only when
 * `ready_for_interrupt_injection && if_flag`, at most once, and keeps a
 * queued vector "in flight" until a KVM_RUN has really entered the guest.
 * KVM_RUN with `immediate_exit` returns EINTR without touching
 * `exit_reason`. HLT exits with RIP past the HLT. The kernel loads
 * `run->cr8` on every entry. A guest's MOV to CR8 that lowers the TPR is
 * reported with KVM_EXIT_SET_TPR by VMX and SVM KVM, but this development
 * host's software KVM does not exit for it at all: until a SET_TPR exit has
 * been seen, a vCPU whose pending vector is held only by its TPR is polled
 * every ::VIRQ_KVM_TPR_POLL_NS (a kick re-reads `run->cr8`). In split mode,
 * level EOI exits come only for level routes on GSIs below the reserved
 * count (virq_kvm_config::split_pins).
 */
#ifndef VIRQ_KVM_H
#define VIRQ_KVM_H

#include <pthread.h>

#include <virq/ioapic.h>
#include <virq/lapic.h>
#include <virq/pic.h>
#include <virq/vcpu.h>
#include <virq/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kvm_run;

/** @brief Maximum vCPUs of one ::virq_kvm. */
#define VIRQ_KVM_MAX_VCPUS 64U
/** @brief GSIs of one ::virq_kvm (I/O APIC pins 0-23 and room for MSI routes). */
#define VIRQ_KVM_NR_GSIS 24U
/** @brief Poll period of a vCPU whose pending interrupt waits only for a
 *         CR8 decrease KVM does not report (see "KVM facts"). */
#define VIRQ_KVM_TPR_POLL_NS 100000U
/** @brief Guest-physical base of the I/O APIC window. */
#define VIRQ_KVM_IOAPIC_BASE 0xFEC00000ULL

/** @brief Who emulates what. */
enum virq_kvm_irqchip {
	VIRQ_KVM_IRQCHIP_USER = 0,  /**< LAPIC, I/O APIC and PIC in libvirq. */
	VIRQ_KVM_IRQCHIP_SPLIT = 1, /**< LAPIC in KVM; I/O APIC and PIC in libvirq. */
};

/** @brief Configuration of virq_kvm_init(). Zero means default. */
struct virq_kvm_config {
	/** sizeof(struct virq_kvm_config) as the caller was built: first, checked by
	 *  virq_kvm_init() (doc/abi.md, "Growing ops and config structures"). */
	uint32_t size;
	enum virq_kvm_irqchip irqchip; /**< Mode. */
	uint32_t nr_vcpus;             /**< vCPUs, 1-::VIRQ_KVM_MAX_VCPUS. */
	int kick_signal;        /**< Signal that kicks a vCPU out of KVM_RUN; 0 = SIGUSR1. The
				glue installs its handler. */
	uint8_t ioapic_version; /**< 0x11 or 0x20 (with the EOI register); 0 = 0x20. */
	bool no_x2apic;         /**< Hide x2APIC from CPUID (xAPIC only). */
	bool no_tsc_deadline;   /**< Hide the TSC-deadline timer from CPUID. */
	/** User mode: start the BSP's LAPIC in virtual-wire mode, as PC
	 *  firmware leaves it (MultiProcessor Specification 3.6.2.2): SVR
	 *  0x1FF (software-enabled, spurious vector 0xFF), LVT LINT0 ExtINT,
	 *  LVT LINT1 NMI, so the 8259 reaches the BSP of a firmware-less guest
	 *  that never programs its LAPIC. Off: the SDM's reset state (APIC
	 *  software-disabled, every LVT masked). Applied at virq_kvm_vcpu_init()
	 *  only, not at a later INIT. */
	bool bsp_virtual_wire;
};

/** @brief The first published size of struct virq_kvm_config: the smallest
 *  `size` accepted (0.1.0; the largest is this library's sizeof). */
#define VIRQ_KVM_CONFIG_SIZE_MIN 20U

/** @brief Where an interrupt injected into a guest came from (statistics). */
enum virq_kvm_source {
	VIRQ_KVM_SRC_TIMER = 0,  /**< LAPIC timer (LVT Timer vector). */
	VIRQ_KVM_SRC_IPI = 1,    /**< Inter-processor interrupt (or another LAPIC vector). */
	VIRQ_KVM_SRC_IOAPIC = 2, /**< I/O APIC pin. */
	VIRQ_KVM_SRC_PIC = 3,    /**< 8259 through ExtINT. */
	VIRQ_KVM_SRC_MSI = 4,    /**< MSI from a device (virq_kvm_send_msi()). */
	VIRQ_KVM_SRC_NMI = 5,    /**< NMI. */
	VIRQ_KVM_SRC_LVT = 6,    /**< Other LVT entries (LINT, error, thermal, PMI). */
	VIRQ_KVM_NR_SOURCES = 7  /**< Number of sources. */
};

/** @brief Exit reasons counted by the glue (a subset of KVM's, plus "other"). */
enum virq_kvm_exit_stat {
	VIRQ_KVM_STAT_IO = 0,         /**< KVM_EXIT_IO. */
	VIRQ_KVM_STAT_MMIO = 1,       /**< KVM_EXIT_MMIO. */
	VIRQ_KVM_STAT_MSR = 2,        /**< KVM_EXIT_X86_RDMSR/WRMSR. */
	VIRQ_KVM_STAT_HLT = 3,        /**< KVM_EXIT_HLT. */
	VIRQ_KVM_STAT_IRQ_WINDOW = 4, /**< KVM_EXIT_IRQ_WINDOW_OPEN. */
	VIRQ_KVM_STAT_INTR = 5,       /**< KVM_EXIT_INTR (a kick or the timer signal). */
	VIRQ_KVM_STAT_EOI = 6,        /**< KVM_EXIT_IOAPIC_EOI (split). */
	VIRQ_KVM_STAT_TPR = 7,        /**< KVM_EXIT_SET_TPR. */
	VIRQ_KVM_STAT_OTHER = 8,      /**< Anything else. */
	VIRQ_KVM_NR_EXIT_STATS = 9    /**< Number of counters. */
};

/** @brief Counters of one vCPU. Owner thread writes; read them after it stopped. */
struct virq_kvm_stats {
	uint64_t injected[VIRQ_KVM_NR_SOURCES]; /**< Injections by ::virq_kvm_source (user mode:
						     all; split mode: PIC, I/O APIC and MSI
						     sends, the kernel injects the rest). */
	uint64_t exits[VIRQ_KVM_NR_EXIT_STATS]; /**< Exits by ::virq_kvm_exit_stat. */
	uint64_t runs;                          /**< KVM_RUN calls that entered the guest. */
	uint64_t halts;                         /**< virq_kvm_vcpu_wait() sleeps. */
	int16_t last_vector; /**< Last event injected by the glue: its vector (2 for an
				  NMI), or -1 for none. For crash reports. */
	uint8_t last_source; /**< ::virq_kvm_source of last_vector. */
};

struct virq_kvm;

/** @brief One vCPU. Caller-allocated (4 KiB aligned: it holds the APIC page); private. */
struct virq_kvm_vcpu {
	/** @privatesection */
	uint32_t page[1024] __attribute__((aligned(4096))); /* APIC register page */
	struct virq_lapic lapic;
	struct virq_vcpu policy;
	struct virq_kvm *kvm;
	struct kvm_run *run;
	int fd;
	uint32_t index;
	pthread_t thread;
	void *timer; /* a timer_t (kvm.c checks the size), opaque here */
	bool thread_started;
	bool halted;    /* HLT taken, not yet woken */
	bool halted_if; /* RFLAGS.IF at the HLT */
	bool inflight;  /* KVM_INTERRUPT queued, guest not yet entered */
	bool timer_armed;
	bool nmi_sent; /* KVM_NMI since KVM last had no NMI queued */
	uint8_t cr8;   /* last CR8 given to the kernel */
	int state;     /* atomic: outside, in KVM_RUN, waiting */
	int kicked;    /* atomic: a kick since the last loop */
	uint64_t timer_deadline;
	uint64_t poll_deadline; /* CR8 poll (see kvm.c tpr_held), 0 = none */
	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond;
	struct virq_kvm_stats stats;
};

/** @brief The irqchip of one VM. Caller-allocated; private. */
struct virq_kvm {
	/** @privatesection */
	struct virq_kvm_config cfg;
	int vm_fd;
	struct virq_vm vm;
	struct virq_ioapic ioapic;
	struct virq_pic pic;
	struct virq_lapic *lapics[VIRQ_KVM_MAX_VCPUS];
	struct virq_kvm_vcpu *vcpus[VIRQ_KVM_MAX_VCPUS];
	uint32_t map[256];
	uint64_t map_key[VIRQ_KVM_MAX_VCPUS];
	struct virq_vm_gsi gsis[VIRQ_KVM_NR_GSIS];
	pthread_mutex_t lock;
	uint8_t vec_src[256];                  /* last known source of each vector */
	uint64_t route_addr[VIRQ_KVM_NR_GSIS]; /* split: mirrored GSI routes */
	uint32_t route_data[VIRQ_KVM_NR_GSIS];
	uint32_t route_valid;               /* bit n: GSI n has a route in KVM */
	uint64_t sent[VIRQ_KVM_NR_SOURCES]; /* split: what the glue sent to KVM */
	uint64_t lost;                      /* messages no LAPIC accepted */
	uint32_t storm_pins;                /* I/O APIC pins throttled as storms */
	uint64_t storm_at;                  /* when to service them (ns) */
	int sys_fd;                         /* /dev/kvm, for KVM_GET_SUPPORTED_CPUID */
	int seen_set_tpr;                   /* KVM reports CR8 decreases (SET_TPR exits) */
};

/**
 * @brief Sets up the irqchip of a KVM VM. Call before creating vCPUs.
 *
 * User mode: KVM_CAP_X86_USER_SPACE_MSR and an MSR filter. Split mode:
 * KVM_CAP_SPLIT_IRQCHIP with 24 reserved GSIs. Both: the I/O APIC (24
 * pins) and the 8259 pair attached in the PC layout.
 *
 * @param kvm   The irqchip (zeroed or not).
 * @param vm_fd The KVM VM file descriptor.
 * @param cfg   Configuration (copied).
 * @return 0; -::VIRQ_EVERSION for a cfg->size outside
 *         ::VIRQ_KVM_CONFIG_SIZE_MIN to the library's sizeof (nothing
 *         written); -::VIRQ_EINVAL for a bad argument or configuration;
 *         -::VIRQ_EHOST when /dev/kvm or an ioctl failed (errno says why).
 */
VIRQ_API int virq_kvm_init(struct virq_kvm *kvm, int vm_fd, const struct virq_kvm_config *cfg);

/**
 * @brief Releases what virq_kvm_init() created (not the VM fd).
 * @param kvm The glue initialised by virq_kvm_init(); NULL does nothing.
 *            Destroy its vCPUs first.
 */
VIRQ_API void virq_kvm_destroy(struct virq_kvm *kvm);

/**
 * @brief Sets up one vCPU: CPUID (APIC ID in leaves 1 and 0xB, x2APIC and
 *        TSC-deadline bits, PV features that need an in-kernel LAPIC
 *        hidden), the LAPIC (user mode) and the kernel's APIC base.
 *
 * @param v      The vCPU (4 KiB aligned).
 * @param kvm    The irqchip.
 * @param index  vCPU index = initial APIC ID; 0 is the BSP.
 * @param fd     The KVM vCPU file descriptor.
 * @param run    Its mmapped `struct kvm_run`.
 * @return 0; -::VIRQ_EINVAL for a bad argument (index out of range or
 *         taken); -::VIRQ_EALIGN when @p v is not 4 KiB aligned;
 *         -::VIRQ_EHOST when an ioctl failed (errno says why).
 */
VIRQ_API int virq_kvm_vcpu_init(struct virq_kvm_vcpu *v, struct virq_kvm *kvm, uint32_t index,
				int fd, struct kvm_run *run);

/**
 * @brief Releases the vCPU's timer and wait objects.
 * @param v The vCPU; NULL or a vCPU never initialised does nothing. Call it
 *          on the vCPU thread or after that thread has ended.
 */
VIRQ_API void virq_kvm_vcpu_destroy(struct virq_kvm_vcpu *v);

/**
 * @brief Binds @p v to the calling thread (its vCPU thread): kick signal
 *        handler and the LAPIC timer. Call once, on that thread, before
 *        virq_kvm_vcpu_run().
 * @param v The vCPU (initialised; not NULL).
 * @return 0; -::VIRQ_EINVAL if already started; -::VIRQ_EHOST when
 *         sigaction() or timer_create() failed (errno says why).
 */
VIRQ_API int virq_kvm_vcpu_thread_start(struct virq_kvm_vcpu *v);

/** @brief What virq_kvm_vcpu_run() hands back to the VMM. */
enum virq_kvm_exit {
	VIRQ_KVM_EXIT_CONTINUE = 0, /**< Handled (or nothing to do): run again. */
	VIRQ_KVM_EXIT_IO = 1,       /**< `run->io` for the VMM's devices. */
	VIRQ_KVM_EXIT_MMIO = 2,     /**< `run->mmio` outside the irqchip's pages. */
	VIRQ_KVM_EXIT_HALT = 3,     /**< Halted (HLT or waiting for SIPI): call
					 virq_kvm_vcpu_wait() or sleep until
					 virq_kvm_vcpu_halt_deadline() or a kick. */
	VIRQ_KVM_EXIT_KICKED = 4,   /**< Left KVM_RUN for a kick: check your own stop flag. */
	VIRQ_KVM_EXIT_OTHER = 5,    /**< Another exit: see `run->exit_reason`. */
	VIRQ_KVM_EXIT_ERROR = 6     /**< KVM_RUN or a glue ioctl failed: errno is set. */
};

/**
 * @brief One round of the vCPU loop: expire the LAPIC timer if due, decide
 *        and inject (user mode) or inject ExtINT (split mode), KVM_RUN, and
 *        handle the irqchip's exits.
 * @param v The vCPU, started with virq_kvm_vcpu_thread_start() on the
 *          calling thread.
 * @return ::virq_kvm_exit.
 * @note vCPU thread.
 */
VIRQ_API enum virq_kvm_exit virq_kvm_vcpu_run(struct virq_kvm_vcpu *v);

/**
 * @brief Until when a halted vCPU may sleep: the LAPIC timer's deadline
 *        (CLOCK_MONOTONIC ns), or UINT64_MAX. Anything else that wakes it
 *        arrives as a kick.
 * @param v The vCPU (initialised; not NULL).
 * @return The deadline in CLOCK_MONOTONIC nanoseconds, or UINT64_MAX when
 *         no timer is armed.
 * @note vCPU thread.
 */
VIRQ_API uint64_t virq_kvm_vcpu_halt_deadline(const struct virq_kvm_vcpu *v);

/**
 * @brief Sleeps while the vCPU is halted: returns at the timer deadline,
 *        on a kick, or at once when it has work.
 * @param v The vCPU, started on the calling thread.
 * @note vCPU thread.
 */
VIRQ_API void virq_kvm_vcpu_wait(struct virq_kvm_vcpu *v);

/**
 * @brief Makes the vCPU thread come back to its loop soon (leave KVM_RUN or
 *        virq_kvm_vcpu_wait()). Any thread; async-signal-unsafe.
 * @param v The vCPU (initialised; not NULL).
 */
VIRQ_API void virq_kvm_vcpu_kick(struct virq_kvm_vcpu *v);

/**
 * @brief Drives GSI @p gsi (0-23; ISA IRQ n is GSI n, IRQ 0 is I/O APIC pin 2)
 *        to @p level for the VMM's device source 0. Any thread.
 * @param kvm   The glue (initialised; NULL: -::VIRQ_EINVAL).
 * @param gsi   The GSI, 0 to ::VIRQ_KVM_NR_GSIS - 1.
 * @param level The line level, true = asserted.
 * @return 0 or -::VIRQ_EINVAL.
 */
VIRQ_API int virq_kvm_set_irq(struct virq_kvm *kvm, uint32_t gsi, bool level);

/**
 * @brief Sends a device MSI. Any thread.
 * @param kvm  The glue (initialised; not NULL).
 * @param addr The MSI address (0xFEExxxxx, or a remappable-format address
 *             when interrupt remapping is set up).
 * @param data The MSI data (vector, delivery mode, trigger).
 * @return LAPICs that accepted it (user mode), or 1 if KVM took it (split).
 */
VIRQ_API unsigned virq_kvm_send_msi(struct virq_kvm *kvm, uint64_t addr, uint32_t data);

/**
 * @brief The libvirq VM inside (for save/restore or extra routing).
 * @param kvm The glue (initialised; not NULL).
 * @return The embedded ::virq_vm, owned by @p kvm (valid until
 *         virq_kvm_destroy()).
 */
VIRQ_API struct virq_vm *virq_kvm_get_vm(struct virq_kvm *kvm);

/**
 * @brief The vCPU's libvirq LAPIC, or NULL in split mode.
 * @param v The vCPU (initialised; not NULL).
 * @return The LAPIC, owned by @p v (valid until virq_kvm_vcpu_destroy()),
 *         or NULL when KVM's in-kernel LAPIC is used (split mode).
 */
VIRQ_API struct virq_lapic *virq_kvm_vcpu_lapic(struct virq_kvm_vcpu *v);

/**
 * @brief The vCPU's counters.
 * @param v The vCPU (initialised; not NULL).
 * @return The counters, owned by @p v and updated by its thread while it
 *         runs (a racy snapshot from another thread).
 */
VIRQ_API const struct virq_kvm_stats *virq_kvm_vcpu_stats(const struct virq_kvm_vcpu *v);

/**
 * @brief Split mode: interrupts the glue handed to KVM from @p src.
 * @param kvm The glue (initialised; not NULL).
 * @param src ::VIRQ_KVM_SRC_IOAPIC or ::VIRQ_KVM_SRC_MSI.
 * @return The count since virq_kvm_init(); 0 in user mode.
 */
VIRQ_API uint64_t virq_kvm_sent(const struct virq_kvm *kvm, enum virq_kvm_source src);

/**
 * @brief One line describing the vCPU for a hang report: loop state,
 *        halt, timer, kicks, the LAPIC's highest IRR/ISR vectors, TPR and
 *        mode, the last injected event. A racy snapshot: any thread.
 * @param v   The vCPU (initialised; not NULL).
 * @param buf Receives the NUL-terminated line; not NULL unless @p len is 0.
 * @param len Size of @p buf in bytes; the line is truncated to fit.
 * @return @p buf.
 */
VIRQ_API const char *virq_kvm_vcpu_describe(const struct virq_kvm_vcpu *v, char *buf, unsigned len);

/**
 * @brief Messages no LAPIC accepted (user mode).
 * @param kvm The glue (initialised; not NULL).
 * @return The count since virq_kvm_init(), read atomically (a snapshot
 *         while devices keep sending).
 */
VIRQ_API uint64_t virq_kvm_lost(const struct virq_kvm *kvm);

/** @brief Version of ::virq_kvm_vcpu_state and ::virq_kvm_state this library writes and reads. */
#define VIRQ_KVM_STATE_VERSION 1U

/** @name virq_kvm_vcpu_state::flags
 * @{ */
#define VIRQ_KVM_VCPU_STATE_HALTED (1U << 0)    /**< Halted at a HLT, not yet woken. */
#define VIRQ_KVM_VCPU_STATE_HALTED_IF (1U << 1) /**< RFLAGS.IF was set at that HLT. */
/** A vector given to KVM_INTERRUPT waits in KVM (KVM_GET_VCPU_EVENTS has it)
 *  for an entry; its LAPIC ISR bit is set. */
#define VIRQ_KVM_VCPU_STATE_INFLIGHT (1U << 2)
/** An NMI given to KVM_NMI may still be pending there. */
#define VIRQ_KVM_VCPU_STATE_NMI_SENT (1U << 3)
/** @} */

/** @brief The glue's part of one vCPU. Plain data, fixed layout, versioned. */
struct virq_kvm_vcpu_state {
	uint32_t version;              /**< ::VIRQ_KVM_STATE_VERSION. */
	uint32_t size;                 /**< sizeof(struct virq_kvm_vcpu_state). */
	uint32_t index;                /**< The vCPU's index (= initial APIC ID). */
	uint32_t flags;                /**< VIRQ_KVM_VCPU_STATE_*. */
	struct virq_lapic_state lapic; /**< Its LAPIC (virq_lapic_save()). */
	struct virq_vcpu_state policy; /**< Its event policy (virq_vcpu_save()). */
};

/** @brief The glue's part of the VM. Plain data, fixed layout, versioned. */
struct virq_kvm_state {
	uint32_t version;                /**< ::VIRQ_KVM_STATE_VERSION. */
	uint32_t size;                   /**< sizeof(struct virq_kvm_state). */
	uint32_t irqchip;                /**< ::virq_kvm_irqchip (user only). */
	uint32_t nr_vcpus;               /**< virq_kvm_config::nr_vcpus. */
	uint32_t storm_pins;             /**< I/O APIC pins throttled as storms, to be
					      serviced 10 ms after the restore. */
	uint32_t reserved;               /**< Zero. */
	struct virq_ioapic_state ioapic; /**< The I/O APIC (virq_ioapic_save()). */
	struct virq_pic_state pic;       /**< The 8259 pair (virq_pic_save()). */
	struct virq_vm_state vm;         /**< The VM's own state (virq_vm_save()). */
	/** Its GSIs: routes and which sources hold each line high. */
	struct virq_vm_gsi_state gsis[VIRQ_KVM_NR_GSIS];
};

/**
 * @brief Saves the glue's part of a stopped vCPU.
 *
 * First completes the exit KVM last reported: a KVM_RUN with
 * `immediate_exit` set, which finishes an I/O or MMIO instruction (an IN's
 * data reaches its register, RIP moves past it) and enters no guest code,
 * so KVM's registers read afterwards are those after the instruction.
 *
 * @param v   The vCPU; its thread is out of virq_kvm_vcpu_run() and
 *            virq_kvm_vcpu_wait() and no other vCPU or device runs.
 * @param out Receives the state.
 * @return 0; -::VIRQ_EINVAL for a NULL argument; -::VIRQ_ENOTSUP in split
 *         mode; -::VIRQ_EHOST when KVM_RUN failed (errno says why).
 */
VIRQ_API int virq_kvm_vcpu_save(struct virq_kvm_vcpu *v, struct virq_kvm_vcpu_state *out);

/**
 * @brief Loads a state saved by virq_kvm_vcpu_save() into a vCPU that
 *        virq_kvm_vcpu_init() set up and whose thread has not started,
 *        before virq_kvm_restore(). May run on the vCPU's own thread
 *        (before virq_kvm_vcpu_thread_start()), several vCPUs at once.
 *
 * Checks version, size, index, flags (no unknown bit, HALTED_IF only with
 * HALTED, INFLIGHT not while HALTED), then the LAPIC's and the policy's
 * states by their own rules, before anything changes. Restore KVM's
 * IA32_TSC first: a TSC-deadline timer is converted with the guest TSC.
 * The LAPIC timer resumes with the remaining time it had at the save, on
 * this host's clock. Writes the LAPIC's IA32_APIC_BASE into KVM.
 *
 * @param v  The vCPU (initialised by virq_kvm_vcpu_init(), thread not
 *           started).
 * @param st The state, as virq_kvm_vcpu_save() wrote it; only read.
 * @return 0; -::VIRQ_EINVAL for a NULL argument or a vCPU whose thread
 *         started; -::VIRQ_ENOTSUP in split mode; -::VIRQ_EVERSION for an
 *         unknown version or size (its own, the LAPIC's or the policy's);
 *         -::VIRQ_ESTATE for a damaged state (nothing changed);
 *         -::VIRQ_EHOST when writing IA32_APIC_BASE into KVM failed
 *         (errno says why; the libvirq state is loaded).
 */
VIRQ_API int virq_kvm_vcpu_restore(struct virq_kvm_vcpu *v, const struct virq_kvm_vcpu_state *st);

/**
 * @brief Saves the glue's part of the VM: the I/O APIC, the 8259 pair, the
 *        VM's routes and line sources (virq_vm_save()) and the storm
 *        throttling. Call after virq_kvm_vcpu_save() for every vCPU, with
 *        nothing running.
 * @param kvm The glue (initialised).
 * @param out Receives the state.
 * @return 0; -::VIRQ_EINVAL for a NULL argument; -::VIRQ_ENOTSUP in split mode.
 */
VIRQ_API int virq_kvm_save(struct virq_kvm *kvm, struct virq_kvm_state *out);

/**
 * @brief Loads a state saved by virq_kvm_save(), after virq_kvm_vcpu_restore()
 *        for every vCPU and before any vCPU thread starts.
 *
 * Checks version, size, mode, vCPU count, reserved fields and the
 * throttled pins, then loads the I/O APIC's, the 8259's and the VM's
 * states, each checked whole by its own restore; when one is refused, those
 * already loaded are put back. Drives no line and sends nothing: the
 * controllers' states hold the line levels (vm.h, "Snapshot recipe").
 * @param kvm The glue (initialised, no vCPU thread started).
 * @param st  The state, as virq_kvm_save() wrote it; only read.
 * @return 0; -::VIRQ_EINVAL for a NULL argument; -::VIRQ_ENOTSUP in split
 *         mode; -::VIRQ_EVERSION for an unknown version or size;
 *         -::VIRQ_ESTATE for a damaged state or one of another
 *         configuration (nothing changed).
 */
VIRQ_API int virq_kvm_restore(struct virq_kvm *kvm, const struct virq_kvm_state *st);

/**
 * @brief Name of a ::virq_kvm_source, for reports.
 * @param src A source, 0 to ::VIRQ_KVM_NR_SOURCES - 1.
 * @return A static string ("LAPIC timer", "IPI", ...), "?" for a source out
 *         of range; never NULL.
 */
VIRQ_API const char *virq_kvm_source_name(enum virq_kvm_source src);

/**
 * @brief Name of a ::virq_kvm_exit_stat, for reports.
 * @param st A counter index, 0 to ::VIRQ_KVM_NR_EXIT_STATS - 1.
 * @return A static string ("io", "mmio", ...), "?" for an index out of
 *         range; never NULL.
 */
VIRQ_API const char *virq_kvm_exit_stat_name(enum virq_kvm_exit_stat st);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_KVM_H */
