/* SPDX-License-Identifier: MIT */
/*
 * virq-hv: a freestanding thin hypervisor (Multiboot kernel) that runs one
 * guest in VMX non-root operation under Bochs. What its files share: the
 * platform layout, VMCS field encodings (SDM Vol. 3C Appendix B "Field
 * Encoding in VMCS"), instruction wrappers and the cross-file prototypes.
 */
#ifndef VIRQ_HV_H
#define VIRQ_HV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "insn.h"

#include <virq/lapic.h>
#include <virq/vcpu.h>
#include <virq/vmx.h>

/* Guest RAM: guest-physical 0..GUEST_RAM_SIZE, backed by host-physical
 * GUEST_RAM_HPA.. (the hv itself lives at 1 MiB, where the guest loads). */
#define GUEST_RAM_HPA ((uint64_t)0x4000000)  /* 64 MiB */
#define GUEST_RAM_SIZE ((uint64_t)0x2000000) /* 32 MiB */
#define GUEST_MBI_GPA ((uint64_t)0x10000)    /* Multiboot information for the guest */
#define GUEST_MOD_GPA ((uint64_t)0x11000)    /* its module (KEY=VALUE text), if any */
#define GUEST_MOD_MAX ((uint64_t)0xF000)
#define GUEST_LAPIC_GPA ((uint64_t)0xFEE00000)
#define GUEST_IOAPIC_GPA ((uint64_t)0xFEC00000)

/* 16-bit, 64-bit, 32-bit and natural-width fields used here. */
enum vmcs_field {
	GUEST_ES_SELECTOR = 0x0800, /* + 2 * segment: ES CS SS DS FS GS LDTR TR */
	HOST_ES_SELECTOR = 0x0C00,  /* + 2 * segment, TR at 0x0C0C */
	HOST_TR_SELECTOR = 0x0C0C,
	MSR_BITMAP = 0x2004,
	EPT_POINTER = 0x201A,
	GUEST_PHYSICAL_ADDRESS = 0x2400,
	VMCS_LINK_POINTER = 0x2800,
	GUEST_IA32_EFER = 0x2806,
	HOST_IA32_EFER = 0x2C02,
	PIN_BASED_CONTROLS = 0x4000,
	PROC_BASED_CONTROLS = 0x4002,
	EXCEPTION_BITMAP = 0x4004,
	VM_EXIT_CONTROLS = 0x400C,
	VM_ENTRY_CONTROLS = 0x4012,
	SECONDARY_CONTROLS = 0x401E,
	VM_INSTRUCTION_ERROR = 0x4400,
	EXIT_REASON = 0x4402,
	EXIT_INTERRUPTION_INFO = 0x4404,
	EXIT_INSTRUCTION_LENGTH = 0x440C,
	VMX_PREEMPTION_TIMER = 0x482E,
	GUEST_ES_LIMIT = 0x4800, /* + 2 * segment */
	GUEST_GDTR_LIMIT = 0x4810,
	GUEST_IDTR_LIMIT = 0x4812,
	GUEST_ES_AR = 0x4814, /* + 2 * segment */
	GUEST_INTERRUPTIBILITY = 0x4824,
	GUEST_ACTIVITY_STATE = 0x4826,
	GUEST_SYSENTER_CS = 0x482A,
	HOST_SYSENTER_CS = 0x4C00,
	CR0_GUEST_HOST_MASK = 0x6000,
	CR4_GUEST_HOST_MASK = 0x6002,
	CR0_READ_SHADOW = 0x6004,
	CR4_READ_SHADOW = 0x6006,
	EXIT_QUALIFICATION = 0x6400,
	GUEST_LINEAR_ADDRESS = 0x640A,
	GUEST_CR0 = 0x6800,
	GUEST_CR3 = 0x6802,
	GUEST_CR4 = 0x6804,
	GUEST_ES_BASE = 0x6806, /* + 2 * segment */
	GUEST_GDTR_BASE = 0x6816,
	GUEST_IDTR_BASE = 0x6818,
	GUEST_DR7 = 0x681A,
	GUEST_RSP = 0x681C,
	GUEST_RIP = 0x681E,
	GUEST_RFLAGS = 0x6820,
	GUEST_PENDING_DBG = 0x6822,
	GUEST_SYSENTER_ESP = 0x6824,
	GUEST_SYSENTER_EIP = 0x6826,
	HOST_CR0 = 0x6C00,
	HOST_CR3 = 0x6C02,
	HOST_CR4 = 0x6C04,
	HOST_FS_BASE = 0x6C06,
	HOST_GS_BASE = 0x6C08,
	HOST_TR_BASE = 0x6C0A,
	HOST_GDTR_BASE = 0x6C0C,
	HOST_IDTR_BASE = 0x6C0E,
	HOST_SYSENTER_ESP = 0x6C10,
	HOST_SYSENTER_EIP = 0x6C12,
	HOST_RSP = 0x6C14,
	HOST_RIP = 0x6C16,
};

/* Pin-based control "activate VMX-preemption timer" (SDM Vol. 3C 24.6.1
 * "Pin-Based VM-Execution Controls"). */
#define PIN_PREEMPTION_TIMER (1ULL << 6)

/* Guest general registers as vmx_run (boot.S) loads and stores them. */
struct guest_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* Physical CPUs (and vCPUs: CPU n runs vCPU n); boot.S has its own copy. */
#define HV_MAX_CPUS 4

/* The host LAPIC timer's vector (virq.c; its IDT stub is in boot.S). */
#define HV_TIMER_VECTOR 0x40
/* The host IPI that kicks another CPU's vCPU out of the guest or a HLT. */
#define HV_KICK_VECTOR 0x41

/* Exit reasons counted apart (SDM Vol. 3C Appendix C "VMX Basic Exit Reasons"). */
#define HV_EXIT_REASONS 64

/* One vCPU: its LAPIC (whose register page is the first member, page
 * aligned), policy and VMX glue state, and the hv's bookkeeping. */
struct vcpu {
	uint8_t page[4096] __attribute__((aligned(4096)));
	struct virq_lapic lapic __attribute__((aligned(64)));
	struct virq_vcpu policy;
	struct virq_vmx_vcpu vx;
	struct guest_regs regs;
	uint32_t index;
	uint32_t level;        /* the VMX glue's (virq_vmx_config::level) */
	uint32_t host_apic_id; /* of the physical CPU that runs it */
	bool no_virtual_wire;
	bool preempt_armed;      /* the VMX-preemption timer is on (at 0) */
	bool apic_page_mapped;   /* the APIC-access page, from the TPR-shadow level */
	bool timer_armed;        /* the LAPIC's timer_arm/timer_cancel */
	uint64_t timer_deadline; /* TSC (= ns) */
	uint64_t host_deadline;  /* what IA32_TSC_DEADLINE holds, 0 disarmed */
	uint64_t exits, exits_io, exits_cpuid, exits_msr, exits_mmio, halts, timer_fired, inits,
		sipis;
	uint64_t by_reason[HV_EXIT_REASONS];
	uint16_t fwcfg_key;
	uint32_t fwcfg_off;
	const char *cmdline; /* the guest's Multiboot command line */
};

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* VMREAD/VMWRITE; a failure (VMfail) here is a bug in the hv: reported. */
uint64_t vmread(uint32_t field);
void vmwrite(uint32_t field, uint64_t val);

/* print.c */
void hv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__attribute__((noreturn)) void hv_exit(int status);

/* vmcs.c: per physical CPU */
int vmx_enable(unsigned cpu);
int vmcs_setup(unsigned cpu, uint32_t entry);
void vmcs_start_real_mode(uint8_t vector);
uint64_t hv_apic_access_page(void);
uint8_t *hv_msr_bitmap(unsigned cpu);
void ept_map_apic_access(unsigned cpu, bool on);
void vmcs_dump_entry_failure(void);
uint64_t *ept_guest_pd(void); /* guest-physical 0-1 GiB, 512 2 MiB entries */

/* fault.c: the fault-once test port (0x2110, 0x2114) and its EPT hook */
bool fault_port(struct vcpu *v, unsigned port, bool in, unsigned size, uint32_t *val);
bool fault_ept_hit(struct vcpu *v, uint64_t gpa);

/* guest.c */
int guest_load(const void *elf, size_t size, const char *cmdline, const void *mod, size_t mod_size,
	       uint32_t *entry);
void *guest_ptr(uint64_t gpa, uint64_t len);

/* exit.c */
__attribute__((noreturn)) void vcpu_loop(struct vcpu *v);

/* decode.c */
int mmio_decode(struct mmio_insn *out);
uint64_t *gpr_ptr(struct guest_regs *r, int reg, uint64_t *rsp);
uint64_t mmio_store_value(struct vcpu *v, const struct mmio_insn *in);
void mmio_load_result(struct vcpu *v, const struct mmio_insn *in, uint64_t val);

/* virq.c: libvirq, linked freestanding */
int hv_virq_init(unsigned nr);
void host_timer_init(void);
int hv_vcpu_init(struct vcpu *v, uint32_t index, uint32_t level);
bool hv_tsc_deadline(void);
bool hv_pio(uint16_t port, bool in, unsigned size, uint32_t *val);
int hv_ioapic_access(uint32_t offset, bool write, unsigned size, uint64_t *val);
void hv_service_storms(void);
void host_timer_program(uint64_t deadline);
void host_eoi(void);

/* boot.S */
int vmx_run(struct guest_regs *regs, int launched);
void vmx_exit(void);
__attribute__((noreturn)) void bochs_quit(void);
void hv_fault(uint64_t vector, const uint64_t *frame);
void idt_init(void);
void hv_main(void);
extern uint32_t mb_magic, mb_info;
extern uint64_t pml4[];
extern uint8_t tss[], stack_top[], fault_stubs[], host_timer_stub[], host_spurious_stub[];
extern uint8_t tramp_start[], tramp_end[], gdt[];
extern uint8_t ap_tss[HV_MAX_CPUS][128];
void ap_main(unsigned cpu);

/* main.c */
extern struct vcpu vcpus[HV_MAX_CPUS];
extern unsigned nr_vcpus;

#endif
