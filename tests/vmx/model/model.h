/* SPDX-License-Identifier: MIT */
/*
 * An executable model of the hardware rules for posted interrupts, written
 * from the Intel SDM and the VT-d specification only, never from libvirq's
 * VMX glue: a model logical processor in VMX non-root operation with
 * virtual-interrupt delivery, posted-interrupt processing, IPI
 * virtualization and user interrupts, a model IOMMU posting through
 * posted-format IRTEs, and a record of everything the processor did.
 *
 * The model keeps its own representation of hardware state: its own
 * 4 KiB virtual-APIC page (a byte array read and written little-endian),
 * and descriptors (PID, UPID, UITT entries, PID-pointer table) as bytes in a
 * model physical memory, with bit accessors of its own. It includes no
 * libvirq header, so a layout bug in the library cannot hide in a shared
 * definition. A later fuzz target drives the library and this model with
 * the same input and compares them.
 *
 * Sections cited (SDM Vol. 3C, chapter "APIC Virtualization and Virtual
 * Interrupts"; numbers as in the 2023+ editions, the 2016-2022 ones are one
 * less): 30.1.1 "Virtualized APIC Registers", 30.1.2 "TPR Virtualization",
 * 30.1.3 "PPR Virtualization", 30.1.4 "EOI Virtualization", 30.1.5
 * "Self-IPI Virtualization", 30.1.6 "IPI Virtualization", 30.2.1
 * "Evaluation of Pending Virtual Interrupts", 30.2.2 "Virtual-Interrupt
 * Delivery", 30.4.3 "Virtualizing Writes to the APIC-Access Page", 30.5
 * "Virtualizing MSR-Based APIC Accesses", 30.6 "Posted-Interrupt
 * Processing"; SDM Vol. 3A chapter "User Interrupts" and the SENDUIPI
 * instruction page of SDM Vol. 2; VT-d specification 5.2 "Interrupt
 * Posting" and 9.11 "Interrupt Remapping Table Entry (IRTE) for Posted
 * Interrupts". tests/vmx/model/README.md lists what is not modelled.
 *
 * Use:
 *
 *	uint8_t mem[...];
 *	struct vmx_model_sys sys = { mem, sizeof(mem), 46, true };
 *	struct vmx_model_cpu cpu;
 *	vmx_model_init(&cpu, &sys);
 *	cpu.vid = cpu.posted = true; cpu.nv = 0xF2; cpu.pid_addr = 0x1000;
 *	vmx_model_vmentry(&cpu);           // 0, or -VMX_MODEL_EENTRY
 *	vmx_model_ext_intr(&cpu, 0xF2);    // the notification arrives
 *	vmx_model_boundary(&cpu);          // an instruction boundary
 *	cpu.log.ev[0] ...                  // what the processor did, in order
 */
#ifndef VIRQ_TEST_VMX_MODEL_H
#define VIRQ_TEST_VMX_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- virtual-APIC page (SDM Vol. 3C 30.1.1 "Virtualized APIC Registers") ---- */

#define VMX_MODEL_PAGE 4096U
#define VMX_MODEL_VTPR 0x080U
#define VMX_MODEL_VPPR 0x0A0U
#define VMX_MODEL_VEOI 0x0B0U
#define VMX_MODEL_VISR 0x100U
#define VMX_MODEL_VTMR 0x180U
#define VMX_MODEL_VIRR 0x200U
#define VMX_MODEL_VICR_LO 0x300U
#define VMX_MODEL_VICR_HI 0x310U
#define VMX_MODEL_SELF_IPI 0x3F0U /* exit qualification only */

/* ---- x2APIC MSRs the model virtualizes ---- */

#define VMX_MODEL_MSR_TPR 0x808U
#define VMX_MODEL_MSR_EOI 0x80BU
#define VMX_MODEL_MSR_ICR 0x830U
#define VMX_MODEL_MSR_SELF_IPI 0x83FU

/* ---- basic exit reasons (SDM Vol. 3D Appendix C "VMX Basic Exit Reasons") ---- */

#define VMX_MODEL_EXIT_EXT_INTR 1U
#define VMX_MODEL_EXIT_WRMSR 32U
#define VMX_MODEL_EXIT_TPR_BELOW 43U
#define VMX_MODEL_EXIT_APIC_ACCESS 44U
#define VMX_MODEL_EXIT_EOI_INDUCED 45U
#define VMX_MODEL_EXIT_APIC_WRITE 56U

/* Exit qualification of an APIC-access exit: offset, access type 1 (linear write). */
#define VMX_MODEL_ACCESS_LINEAR_WRITE (1U << 12)

/* ---- exceptions the model raises in the guest ---- */

#define VMX_MODEL_UD 6U
#define VMX_MODEL_GP 13U
#define VMX_MODEL_PF 14U

/* ---- interruptibility state (guest-state field) ---- */

#define VMX_MODEL_BLOCK_STI 0x1U
#define VMX_MODEL_BLOCK_MOVSS 0x2U

/* ---- errors: the model was misused (never a guest action) ---- */

enum vmx_model_err {
	VMX_MODEL_EINVAL = 1, /* NULL, offset or MSR outside what is modelled */
	VMX_MODEL_ESTATE = 2, /* guest operation while not in VMX non-root operation */
	VMX_MODEL_EENTRY = 3, /* VM entry failed its checks; nothing changed */
};

/* ---- the record of what the hardware did ---- */

enum vmx_model_ev_kind {
	/* a: vector delivered through the guest IDT (virtual-interrupt delivery) */
	VMX_MODEL_EV_DELIVER = 1,
	/* a: basic exit reason, b: exit qualification, c: VM-exit interruption info */
	VMX_MODEL_EV_EXIT,
	/* a: notification vector, b: physical destination APIC ID, c: raw NDST */
	VMX_MODEL_EV_NOTIFY,
	/* the processor wrote 0 to its local APIC's EOI register */
	VMX_MODEL_EV_LAPIC_EOI,
	/* a: exception vector delivered in the guest, c: error code */
	VMX_MODEL_EV_FAULT,
	/* a: vector of a user-interrupt notification processed instead of an IDT delivery */
	VMX_MODEL_EV_UNOTIFY,
	/* a: user vector delivered to the user-interrupt handler */
	VMX_MODEL_EV_UINTR,
	/* a: vector of an interrupt that arrived in VMX root operation (the host's) */
	VMX_MODEL_EV_HOST_INTR,
};

struct vmx_model_ev {
	enum vmx_model_ev_kind kind;
	uint32_t a;
	uint64_t b;
	uint32_t c;
};

#define VMX_MODEL_LOG_MAX 128U

struct vmx_model_log {
	struct vmx_model_ev ev[VMX_MODEL_LOG_MAX];
	unsigned n;    /* events recorded */
	unsigned lost; /* events past VMX_MODEL_LOG_MAX, not recorded */
};

/*
 * The platform: host-physical memory (caller-owned bytes at address 0), the
 * physical-address width, and the mode of the physical local APICs, which
 * decides how a notification's NDST is read (SDM Vol. 3C 30.1.6 "IPI
 * Virtualization": xAPIC sends to NDST[15:8], x2APIC to all 32 bits).
 * User-interrupt structures hold linear addresses; the model maps them
 * one to one onto this memory.
 */
struct vmx_model_sys {
	uint8_t *mem;
	uint64_t size;
	unsigned maxphyaddr; /* 32..52 */
	bool host_x2apic;
};

/* ---- descriptors in model memory (bytes, little-endian) ----
 * An accessor whose whole structure (8 bytes for rd64/wr64) is not inside
 * memory reads 0 and writes nothing. */

/* Posted-interrupt descriptor: PIR bits 255:0, ON 256, SN 257, NV 279:272,
 * NDST 319:288 (SDM Vol. 3C 30.6 "Posted-Interrupt Processing", VT-d 9.12
 * "Posted Interrupt Descriptor (PID)"). */
#define VMX_MODEL_PID_SIZE 64U
/* User posted-interrupt descriptor: ON bit 0, SN bit 1, NV 23:16, NDST 63:32,
 * PIR 127:64 (SDM Vol. 3A "User Posted-Interrupt Descriptor"). */
#define VMX_MODEL_UPID_SIZE 16U
/* User-interrupt target table entry: V bit 0, UV 15:8, UPIDADDR 127:64. */
#define VMX_MODEL_UITTE_SIZE 16U

bool vmx_model_mem_ok(const struct vmx_model_sys *sys, uint64_t addr, uint64_t len);
uint64_t vmx_model_rd64(const struct vmx_model_sys *sys, uint64_t addr);
void vmx_model_wr64(struct vmx_model_sys *sys, uint64_t addr, uint64_t val);

/* PID at @addr (must lie in memory). */
void vmx_model_pid_init(struct vmx_model_sys *sys, uint64_t addr, uint8_t nv, uint32_t ndst);
bool vmx_model_pid_pir(const struct vmx_model_sys *sys, uint64_t addr, unsigned v);
void vmx_model_pid_set_pir(struct vmx_model_sys *sys, uint64_t addr, unsigned v);
bool vmx_model_pid_on(const struct vmx_model_sys *sys, uint64_t addr);
bool vmx_model_pid_sn(const struct vmx_model_sys *sys, uint64_t addr);
void vmx_model_pid_set_on(struct vmx_model_sys *sys, uint64_t addr, bool on);
void vmx_model_pid_set_sn(struct vmx_model_sys *sys, uint64_t addr, bool sn);
uint8_t vmx_model_pid_nv(const struct vmx_model_sys *sys, uint64_t addr);
uint32_t vmx_model_pid_ndst(const struct vmx_model_sys *sys, uint64_t addr);

/* UPID at @addr. */
void vmx_model_upid_init(struct vmx_model_sys *sys, uint64_t addr, uint8_t nv, uint32_t ndst);
uint64_t vmx_model_upid_pir(const struct vmx_model_sys *sys, uint64_t addr);
bool vmx_model_upid_on(const struct vmx_model_sys *sys, uint64_t addr);
bool vmx_model_upid_sn(const struct vmx_model_sys *sys, uint64_t addr);
void vmx_model_upid_set_on(struct vmx_model_sys *sys, uint64_t addr, bool on);
void vmx_model_upid_set_sn(struct vmx_model_sys *sys, uint64_t addr, bool sn);

/* UITT entry @index of the table at @table. */
void vmx_model_uitte_set(struct vmx_model_sys *sys, uint64_t table, uint32_t index, bool valid,
			 uint8_t uv, uint64_t upid_addr);

/* ---- VT-d posting (VT-d 5.2 "Interrupt Posting") ---- */

/* Posted-format IRTE, bits 63:0 (lo) and 127:64 (hi), VT-d 9.11 "Interrupt Remapping
 * Table Entry (IRTE) for Posted Interrupts". */
#define VMX_MODEL_IRTE_P (1ULL << 0)
#define VMX_MODEL_IRTE_FPD (1ULL << 1)
#define VMX_MODEL_IRTE_URG (1ULL << 14)
#define VMX_MODEL_IRTE_IM (1ULL << 15)
#define VMX_MODEL_IRTE_VV_SHIFT 16
#define VMX_MODEL_IRTE_LO_RSVD 0x0000003FFF0030FCULL /* 7:2, 13:12, 37:24 */
#define VMX_MODEL_IRTE_HI_RSVD 0x00000000FFF00000ULL /* 95:84 */

uint64_t vmx_model_irte_lo(uint8_t vv, bool urg, uint64_t pid_addr);
uint64_t vmx_model_irte_hi(uint16_t sid, uint64_t pid_addr);

enum vmx_model_vtd {
	VMX_MODEL_VTD_POSTED = 0,  /* PIR set; a notification may have been sent */
	VMX_MODEL_VTD_NOT_PRESENT, /* P = 0: fault */
	VMX_MODEL_VTD_RESERVED,    /* a reserved field set: fault */
	VMX_MODEL_VTD_REMAPPED,    /* IM = 0: remapped format, outside the model */
	VMX_MODEL_VTD_PID_ERROR,   /* PDA beyond the address width or memory: fault */
};

enum vmx_model_vtd vmx_model_vtd_post(struct vmx_model_sys *sys, struct vmx_model_log *log,
				      uint64_t irte_lo, uint64_t irte_hi);

/* ---- the logical processor ---- */

struct vmx_model_cpu {
	struct vmx_model_sys *sys;
	uint8_t vapic[VMX_MODEL_PAGE]; /* the virtual-APIC page */

	/* guest interrupt status */
	uint8_t rvi;
	uint8_t svi;

	/* VM-execution controls ("use TPR shadow" is always 1 in the model) */
	bool vid;                 /* virtual-interrupt delivery */
	bool apic_reg_virt;       /* APIC-register virtualization */
	bool x2apic_virt;         /* virtualize x2APIC mode; else virtualize APIC accesses */
	bool posted;              /* process posted interrupts */
	bool ipiv;                /* IPI virtualization (tertiary control) */
	bool intr_window_exiting; /* interrupt-window exiting */
	uint8_t tpr_threshold;    /* bits 3:0; used when vid = 0 */
	uint64_t eoi_exit[4];     /* EOI-exit bitmaps 0-3 */
	uint16_t nv;              /* posted-interrupt notification vector (16-bit field) */
	uint64_t pid_addr;        /* posted-interrupt descriptor address */
	uint64_t pid_table;       /* PID-pointer table address */
	uint16_t last_pid_index;  /* last PID-pointer index */

	/* guest state */
	bool rflags_if;
	uint32_t interruptibility; /* VMX_MODEL_BLOCK_* */
	bool hlt;                  /* activity state HLT */

	/* user interrupts (guest state) */
	bool cr4_uintr;
	bool lma;     /* IA32_EFER.LMA (and CS.L: 64-bit mode) */
	unsigned cpl; /* 0-3 */
	uint64_t uirr;
	bool uif;
	uint8_t uinv;       /* IA32_UINTR_MISC[39:32] */
	uint32_t uittsz;    /* IA32_UINTR_MISC[31:0] */
	uint64_t upid_addr; /* IA32_UINTR_PD */
	uint64_t uintr_tt;  /* IA32_UINTR_TT: bit 0 valid, 63:4 UITT address */

	/* processor state the model derives */
	bool in_guest;   /* in VMX non-root operation */
	bool recognized; /* a pending virtual interrupt is recognized */

	struct vmx_model_log log;
};

void vmx_model_init(struct vmx_model_cpu *cpu, struct vmx_model_sys *sys);

/* Virtual-APIC page accessors (bit v of the 256-bit VISR/VTMR/VIRR). */
uint32_t vmx_model_reg(const struct vmx_model_cpu *cpu, uint32_t off);
void vmx_model_set_reg(struct vmx_model_cpu *cpu, uint32_t off, uint32_t val);
bool vmx_model_bit(const struct vmx_model_cpu *cpu, uint32_t base, unsigned v);
void vmx_model_set_bit(struct vmx_model_cpu *cpu, uint32_t base, unsigned v, bool on);
/* Highest vector set in VISR/VIRR, or -1 when none. */
int vmx_model_highest(const struct vmx_model_cpu *cpu, uint32_t base);

/* VM entry: the checks the model's controls need, then (VID) PPR
 * virtualization and evaluation. 0, or -VMX_MODEL_EENTRY with nothing changed. */
int vmx_model_vmentry(struct vmx_model_cpu *cpu);

/* The processing steps, each as its SDM section gives it. They act on the
 * processor as it is and are also called by the operations below. */
void vmx_model_ppr_virt(struct vmx_model_cpu *cpu);
void vmx_model_evaluate(struct vmx_model_cpu *cpu);
void vmx_model_tpr_virt(struct vmx_model_cpu *cpu);
void vmx_model_eoi_virt(struct vmx_model_cpu *cpu);
void vmx_model_self_ipi_virt(struct vmx_model_cpu *cpu, uint8_t vector);
void vmx_model_ipi_virt(struct vmx_model_cpu *cpu, uint8_t vector, uint32_t dest);
void vmx_model_posted_processing(struct vmx_model_cpu *cpu);
void vmx_model_vintr_deliver(struct vmx_model_cpu *cpu);
void vmx_model_uintr_notify_processing(struct vmx_model_cpu *cpu);
void vmx_model_uintr_deliver(struct vmx_model_cpu *cpu);

/* Events and guest operations. Each returns 0, or a negative
 * enum vmx_model_err with nothing changed; what the guest did wrong is
 * recorded in the log (faults, exits), never returned. */

/* An unmasked external interrupt from the local APIC reaches the core. */
int vmx_model_ext_intr(struct vmx_model_cpu *cpu, uint8_t vector);
/* An instruction boundary: delivers a recognized virtual interrupt, else a
 * pending user interrupt. Returns 1 when something was delivered, else 0. */
int vmx_model_boundary(struct vmx_model_cpu *cpu);
/* MOV to CR8. */
int vmx_model_mov_cr8(struct vmx_model_cpu *cpu, uint64_t val);
/* A 32-bit linear write to the APIC-access page (virtualize APIC accesses). */
int vmx_model_mmio_write(struct vmx_model_cpu *cpu, uint32_t off, uint32_t val);
/* WRMSR with ECX in 800H-8FFH. */
int vmx_model_wrmsr(struct vmx_model_cpu *cpu, uint32_t msr, uint64_t val);
/* SENDUIPI with @index in its register operand. */
int vmx_model_senduipi(struct vmx_model_cpu *cpu, uint64_t index);

#endif
