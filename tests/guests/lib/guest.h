/* SPDX-License-Identifier: MIT */
/*
 * Shared runtime of the guest test programs: freestanding x86-64 code that
 * boot.S enters in long mode with a flat identity map of 0-4 GiB.
 *
 * CPU numbers are APIC IDs (the VMM and QEMU give IDs 0..N-1); each CPU's
 * stack is stacks[apic_id], so cpu_id() costs no exit.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CPUS 32
#define STACK_SIZE 16384

/* Vectors the library owns. Tests use vectors 0x20-0xDF. */
#define VEC_WAKE 0xEE     /* smp_call() wake-up IPI */
#define VEC_TICK 0xEF     /* wait helpers' LAPIC one-shot timer */
#define VEC_SPURIOUS 0xFF /* SVR spurious vector */

/* ---------------------------------------------------------------------- */
/* Instructions */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/*
 * rdmsr/wrmsr that survive a fault: the exception handler finds the
 * instruction in the .ex_table section and resumes at the fixup, which sets
 * the flag. Return -1 when no fault happened, else the exception vector
 * (13 for #GP).
 */
int rdmsr_safe(uint32_t msr, uint64_t *val);
int wrmsr_safe(uint32_t msr, uint64_t val);

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
			 uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}
static inline void sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}
/* STI's one-instruction shadow covers HLT: an interrupt that became
 * pending after the caller's last check wakes the HLT instead of being
 * taken before it. Returns with IF=1. (boot.S; on a host that does not
 * honour the shadow, handler() steps over the HLT an interrupt landed on
 * and counts it in percpu[].hlt_stepped; finish() reports the count.) */
void sti_hlt(void);
static inline void pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}
static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}
static inline uint64_t read_flags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f)::"memory");
	return f;
}
static inline bool irqs_enabled(void)
{
	return read_flags() & 0x200;
}
static inline uint64_t irq_save(void)
{
	uint64_t f = read_flags();
	cli();
	return f;
}
static inline void irq_restore(uint64_t f)
{
	if (f & 0x200)
		sti();
}
static inline uint64_t read_cr8(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}
static inline void write_cr8(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

static inline uint32_t mmio_read32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}
static inline void mmio_write32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

/* ---------------------------------------------------------------------- */
/* Atomics and locks */

typedef struct {
	volatile uint32_t v;
} spinlock_t;

static inline void spin_lock(spinlock_t *l)
{
	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
			pause();
}
static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}
static inline uint32_t atomic_inc(volatile uint32_t *p)
{
	return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}
static inline uint32_t atomic_read(const volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline void atomic_set(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---------------------------------------------------------------------- */
/* Output and results */

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Formats into a buffer, writes it to COM1 under a lock. %d %i %u %x %X %p
 * %s %c %%, flags '0' '-', width, length 'l'/'ll'/'z'. */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Each check is a named test: test_begin(), any number of EXPECT()s, then
 * test_end() prints "PASS: name" or nothing more (every failed EXPECT
 * printed its own "FAIL: name ..." line). test_skip() marks a check that
 * could not run (wholly or in part): unless it failed, test_end() then
 * prints "SKIP: name: why" and counts it as skipped, never as passed.
 * test_end() returns false only for a failed check. finish() prints
 * "SUMMARY: <p> passed, <f> failed, <s> skipped" and exits through
 * isa-debug-exit: 0 when nothing failed and at least one check ended
 * (passed or skipped), 1 otherwise. Whether skips make the run a skip is
 * the runner's call (run-guest.sh: exit 77).
 */
void test_begin(const char *name);
void test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test_skip(const char *why);
bool test_end(void);
bool test_ok(void);
__attribute__((noreturn)) void finish(void);
__attribute__((noreturn)) void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define EXPECT(cond, fmt, ...)                                                                     \
	do {                                                                                       \
		if (!(cond))                                                                       \
			test_fail("line %d: %s: " fmt, __LINE__, #cond, ##__VA_ARGS__);            \
	} while (0)

#define EXPECT_EQ(got, want)                                                                       \
	do {                                                                                       \
		uint64_t got_ = (uint64_t)(got), want_ = (uint64_t)(want);                         \
		if (got_ != want_)                                                                 \
			test_fail("line %d: %s = 0x%llx, expected 0x%llx", __LINE__, #got,         \
				  (unsigned long long)got_, (unsigned long long)want_);            \
	} while (0)

/* ---------------------------------------------------------------------- */
/* Platform */

#define COM1 0x3F8
#define PORT_DEBUG_EXIT 0xF4
#define PORT_SHUTDOWN 0x8900
#define PORT_FWCFG_SEL 0x510
#define PORT_FWCFG_DATA 0x511
#define PORT_SCRATCH 0xE0
#define PORT_GSI(n) (0x2000 + (n))
#define PORT_MSI_ADDR_LO 0x2100
#define PORT_MSI_ADDR_HI 0x2104
#define PORT_MSI_DATA 0x2108
#define PORT_MSI_MAGIC 0x210C
#define MSI_MAGIC 0x76697271u /* "virq" */
/* virq-vmm's snapshot port: a write asks for a snapshot (with --save FILE
 * the VMM stops every vCPU right after the write, saves the machine and
 * exits with status 6; without it the write is ignored); a 32-bit read
 * returns how many times the guest was resumed from one (--restore). */
#define PORT_SNAPSHOT 0x2200

/* Drive GSI line n of the test device (0 low, 1 high). */
static inline void gsi_set(unsigned n, unsigned level)
{
	outb(PORT_GSI(n), level);
}
static inline void gsi_pulse(unsigned n)
{
	gsi_set(n, 1);
	gsi_set(n, 0);
}

extern unsigned nr_cpus;  /* fw_cfg key 0x05, else the module's NR_CPUS, else 1 */
extern uint64_t ram_size; /* fw_cfg key 0x03 (0 if absent) */
extern uint32_t mb_info_addr;
/* Value of KEY=VALUE in the Multiboot module text, or NULL. */
const char *mb_config(const char *key);
/*
 * The Multiboot command line is "argv[0] words...": QEMU's and virq-vmm's
 * loaders put the image's name, as they were given it, first (then a
 * space, then -append / --cmdline). mb_image_name() is that first word
 * ("" without a command line); mb_cmdline_has() looks at the words after
 * it only (space-separated).
 */
const char *mb_image_name(void);
bool mb_cmdline_has(const char *word);
/*
 * Set (true) by a program whose BSP must not touch its LAPIC: boot_main()
 * then skips apic_setup(), and none of the waits below may be used.
 */
extern const bool boot_keeps_lapic;
/*
 * Whether a known deviation of the platform is to be tolerated: name is a
 * word of the Multiboot command line or an item of the module's QUIRKS=
 * list (comma- or space-separated). Names and what they relax: README.md.
 * The first use of each name prints a "quirk:" note.
 */
bool quirk(const char *name);
unsigned long strtoul_simple(const char *s);

/* ---------------------------------------------------------------------- */
/* Interrupts */

struct frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_t)(struct frame *f);

/*
 * With no handler, a vector >= 32 is counted and gets a LAPIC EOI (but
 * not VEC_SPURIOUS); vector 2 (NMI) is counted. Any other exception
 * without a fixup or a handler fails the program (an exception with both
 * goes to the fixup). Counts are per CPU and only written by that CPU's
 * handler.
 */
void set_handler(unsigned vec, irq_handler_t h);
extern volatile uint32_t irq_count[MAX_CPUS][256];
/* Sum of irq_count[cpu][vec] over all CPUs. */
uint32_t irq_total(unsigned vec);
void irq_counts_clear(void);

/*
 * Interrupt stack table (SDM Vol. 3A "Stack Switching in IA-32e Mode",
 * "Interrupt Stack Table"): set_ist() gives vector vec's IDT gate IST
 * slot ist (1-7; 0 = no stack switch; the IDT is shared by all CPUs), and
 * ist_set_stack() puts top in this CPU's TSS as slot ist, loading this
 * CPU's 64-bit TSS (GDT selector TSS_SEL(cpu)) first if it has none yet.
 * A handler running on an IST stack outside stacks[] is still on the
 * right CPU for cpu_id(): it then reads the task register (STR).
 */
#define TSS_SEL(cpu) (0x20u + 16u * (cpu))
void set_ist(unsigned vec, unsigned ist);
void ist_set_stack(unsigned ist, uint64_t top);

static inline unsigned cpu_id(void)
{
	extern char stacks[];
	uintptr_t sp;
	uint16_t tr;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	if (sp - (uintptr_t)stacks < (uintptr_t)MAX_CPUS * STACK_SIZE)
		return (unsigned)((sp - (uintptr_t)stacks) / STACK_SIZE);
	/* On an IST stack: the TSS this CPU loaded says which CPU it is. */
	__asm__ volatile("str %0" : "=r"(tr));
	return tr >= TSS_SEL(0) && tr < TSS_SEL(MAX_CPUS) ? (tr - TSS_SEL(0)) / 16u : 0;
}

/* ---------------------------------------------------------------------- */
/* Local APIC */

#define APIC_MMIO 0xFEE00000UL
#define MSR_APIC_BASE 0x1B
#define MSR_TSC_DEADLINE 0x6E0
#define APIC_BASE_BSP (1u << 8)
#define APIC_BASE_EXTD (1u << 10)
#define APIC_BASE_EN (1u << 11)

#define APIC_ID 0x20
#define APIC_VER 0x30
#define APIC_TPR 0x80
#define APIC_APR 0x90
#define APIC_PPR 0xA0
#define APIC_EOI 0xB0
#define APIC_LDR 0xD0
#define APIC_DFR 0xE0
#define APIC_SVR 0xF0
#define APIC_ISR 0x100
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVTT 0x320
#define APIC_LVTTHMR 0x330
#define APIC_LVTPC 0x340
#define APIC_LINT0 0x350
#define APIC_LINT1 0x360
#define APIC_LVTERR 0x370
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3E0
#define APIC_SELF_IPI 0x3F0 /* x2APIC only (MSR 0x83F) */

#define SVR_ENABLE (1u << 8)
#define SVR_SUPPRESS_EOI (1u << 12)
#define LVT_MASK (1u << 16)
#define LVT_LEVEL (1u << 15)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_TIMER_TSCDEADLINE (2u << 17)

#define ICR_FIXED (0u << 8)
#define ICR_LOWEST (1u << 8)
#define ICR_SMI (2u << 8)
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_SIPI (6u << 8)
#define ICR_LOGICAL (1u << 11)
#define ICR_BUSY (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_SELF (1u << 18)
#define ICR_ALL_INC (2u << 18)
#define ICR_ALL_EXC (3u << 18)

bool cpu_has_x2apic(void);
bool cpu_has_tsc_deadline(void);
/*
 * The same from inside a check, with the platform's answer checked: the
 * command line may say what to expect (words expect-x2apic /
 * expect-no-x2apic, expect-tsc-deadline / expect-no-tsc-deadline) and a
 * CPUID that disagrees fails the current check. The checks of a missing
 * feature are real checks too (the SDM's answer for a CPU without it),
 * never skips.
 */
bool x2apic_expected(void);
bool tsc_deadline_expected(void);
uint32_t cpuid_apic_id(void); /* leaf 1 EBX[31:24] */

/* This CPU's LAPIC mode, as the helpers believe it to be. */
bool apic_x2(void);
void apic_set_x2_flag(bool x2);
/* MMIO at 0xFEE00000 + reg, or MSR 0x800 + reg/16 in x2APIC mode. */
uint32_t apic_read(uint32_t reg);
void apic_write(uint32_t reg, uint32_t val);
static inline void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}
uint32_t apic_id(void); /* ID register: xAPIC [31:24], x2APIC all 32 bits */
/* Send an IPI: dest is the 8-bit xAPIC destination or the 32-bit x2APIC
 * one. xAPIC: ICR2 then ICR, then wait until the delivery status is idle. */
void apic_icr(uint32_t low, uint32_t dest);
bool apic_reg_bit(uint32_t base, unsigned vec); /* ISR/TMR/IRR bit */
static inline bool apic_isr(unsigned vec)
{
	return apic_reg_bit(APIC_ISR, vec);
}
static inline bool apic_irr(unsigned vec)
{
	return apic_reg_bit(APIC_IRR, vec);
}
/* Software-enable the LAPIC (SVR = 0x100 | VEC_SPURIOUS), TPR 0, LVTs
 * masked, timer divide by 1. Mode unchanged. */
void apic_setup(void);
/* IA32_APIC_BASE EN|EXTD (from xAPIC or disabled). Returns false on #GP. */
bool apic_to_x2apic(void);

/* ---------------------------------------------------------------------- */
/* Time and waiting */

/* TSC ticks in one millisecond, assumed (no calibration source exists):
 * 3 GHz, so a timeout is never shorter than asked on a slower TSC. */
#define TSC_PER_MS 3000000ULL

/* Halt until an interrupt, with a VEC_TICK LAPIC one-shot armed so the
 * wait ends within ~100 us even if nothing else comes. Keeps IF as it
 * was (interrupts are taken inside). Timer use by tests: see tick_disable. */
void idle(void);
/* Stop idle() from touching the LAPIC timer (lapic_timer owns it): idle()
 * then just halts, and WAIT_UNTIL's timeout needs another wake source. */
extern bool tick_disabled;
void tick_cancel(void);

/* Evaluates cond until true or until ms milliseconds of TSC passed. */
#define WAIT_UNTIL(cond, ms)                                                                       \
	({                                                                                         \
		uint64_t dl_ = rdtsc() + (uint64_t)(ms)*TSC_PER_MS;                                \
		bool ok_;                                                                          \
		for (;;) {                                                                         \
			if (cond) {                                                                \
				ok_ = true;                                                        \
				break;                                                             \
			}                                                                          \
			if (rdtsc() > dl_) {                                                       \
				ok_ = (cond);                                                      \
				break;                                                             \
			}                                                                          \
			idle();                                                                    \
		}                                                                                  \
		tick_cancel();                                                                     \
		ok_;                                                                               \
	})

/* Spins (no halt) until cond or ms of TSC: for interrupts that arrive on
 * their own at the next instruction boundary (self-IPIs, IF=0 paths). */
#define SPIN_UNTIL(cond, ms)                                                                       \
	({                                                                                         \
		uint64_t dl_ = rdtsc() + (uint64_t)(ms)*TSC_PER_MS;                                \
		bool ok_;                                                                          \
		for (;;) {                                                                         \
			if (cond) {                                                                \
				ok_ = true;                                                        \
				break;                                                             \
			}                                                                          \
			if (rdtsc() > dl_) {                                                       \
				ok_ = (cond);                                                      \
				break;                                                             \
			}                                                                          \
			pause();                                                                   \
		}                                                                                  \
		ok_;                                                                               \
	})

/* Spin for us microseconds of TSC (interrupts as the caller has them). */
void spin_us(unsigned us);

/* Let interrupts in for about us microseconds of TSC, halting (with the
 * tick) rather than spinning. */
void settle(unsigned us);

/* ---------------------------------------------------------------------- */
/* SMP */

struct percpu {
	volatile uint32_t online;
	volatile uint32_t x2apic;
	void (*volatile fn)(void *);
	void *volatile arg;
	volatile uint32_t calls_done;
	volatile int exc_vector;
	volatile uint32_t hlt_stepped; /* see sti_hlt() */
	volatile uint32_t user[8];     /* free for tests */
} __attribute__((aligned(64)));
extern struct percpu percpu[MAX_CPUS];

/* Copy the trampoline to 0x8000 and send each AP (APIC ID 1..nr_cpus-1)
 * INIT then one SIPI, no delays. Returns how many APs came online within
 * the timeout (each AP sets percpu[id].online). */
unsigned smp_boot(void);
/* Run fn(arg) on an online AP (interrupts enabled there) and, if wait,
 * wait for it to return. Returns false on timeout. */
bool smp_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait);
bool smp_wait(unsigned cpu);
/* Optional hook each AP runs before it reports online. */
extern void (*ap_init_hook)(void);

int main(void);

#endif
