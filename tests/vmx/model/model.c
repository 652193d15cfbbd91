/* SPDX-License-Identifier: MIT */
/*
 * The model of the hardware's posting rules (model.h). Each processing step
 * is one function that follows the pseudo-code of its SDM or VT-d section,
 * named in the comment above it; where the manuals leave a case open, the
 * comment says which reading the model takes (tests/vmx/model/README.md
 * collects them).
 */
#include "model.h"

#include <string.h>

/* ---- model memory ---- */

bool vmx_model_mem_ok(const struct vmx_model_sys *sys, uint64_t addr, uint64_t len)
{
	if (!sys || !sys->mem || len > sys->size)
		return false;
	if (sys->maxphyaddr < 64 && (addr >> sys->maxphyaddr) != 0)
		return false;
	return addr <= sys->size - len;
}

/* Every access goes through these two, a last line of defence: the public
 * accessors and the steps check whole structures first (vmx_model_mem_ok,
 * which also refuses an address range that wraps). */
static uint8_t rd8(const struct vmx_model_sys *sys, uint64_t addr)
{
	return addr < sys->size ? sys->mem[addr] : 0;
}

static void wr8(struct vmx_model_sys *sys, uint64_t addr, uint8_t v)
{
	if (addr < sys->size)
		sys->mem[addr] = v;
}

static void zero(struct vmx_model_sys *sys, uint64_t addr, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		wr8(sys, addr + i, 0);
}

uint64_t vmx_model_rd64(const struct vmx_model_sys *sys, uint64_t addr)
{
	uint64_t v = 0;

	if (!vmx_model_mem_ok(sys, addr, 8))
		return 0;
	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)rd8(sys, addr + i) << (8 * i);
	return v;
}

void vmx_model_wr64(struct vmx_model_sys *sys, uint64_t addr, uint64_t val)
{
	if (!vmx_model_mem_ok(sys, addr, 8))
		return;
	for (unsigned i = 0; i < 8; i++)
		wr8(sys, addr + i, (uint8_t)(val >> (8 * i)));
}

static void wr32(struct vmx_model_sys *sys, uint64_t addr, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		wr8(sys, addr + i, (uint8_t)(v >> (8 * i)));
}

static bool mem_bit(const struct vmx_model_sys *sys, uint64_t addr, unsigned bit)
{
	return (rd8(sys, addr + bit / 8U) >> (bit % 8U)) & 1U;
}

static void mem_set_bit(struct vmx_model_sys *sys, uint64_t addr, unsigned bit, bool on)
{
	uint8_t b = rd8(sys, addr + bit / 8U);
	uint8_t m = (uint8_t)(1U << (bit % 8U));

	wr8(sys, addr + bit / 8U, on ? (uint8_t)(b | m) : (uint8_t)(b & ~m));
}

/* ---- the record ---- */

static void log_ev(struct vmx_model_log *log, enum vmx_model_ev_kind kind, uint32_t a, uint64_t b,
		   uint32_t c)
{
	if (!log)
		return;
	if (log->n >= VMX_MODEL_LOG_MAX) {
		log->lost++;
		return;
	}
	log->ev[log->n].kind = kind;
	log->ev[log->n].a = a;
	log->ev[log->n].b = b;
	log->ev[log->n].c = c;
	log->n++;
}

/* The physical IPI a notification becomes: vector NV, fixed, physical, to
 * NDST read in the host's APIC mode (SDM Vol. 3C 30.1.6 "IPI
 * Virtualization": xAPIC writes NDST[15:8] to ICR_HI[31:24], x2APIC
 * writes NDST to EDX of WRMSR 830H; VT-d 9.12 "Posted Interrupt Descriptor
 * (PID)" gives NDST the same two formats). */
static void notify(const struct vmx_model_sys *sys, struct vmx_model_log *log, uint8_t nv,
		   uint32_t ndst)
{
	uint32_t dest = sys->host_x2apic ? ndst : (ndst >> 8) & 0xFFU;

	log_ev(log, VMX_MODEL_EV_NOTIFY, nv, dest, ndst);
}

/* ---- posted-interrupt descriptor: bytes 0-31 PIR, byte 32 bit 0 ON and
 * bit 1 SN, byte 34 NV, bytes 36-39 NDST ---- */

#define PID_CTL 32U
#define PID_NV 34U
#define PID_NDST 36U

void vmx_model_pid_init(struct vmx_model_sys *sys, uint64_t addr, uint8_t nv, uint32_t ndst)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_PID_SIZE))
		return;
	zero(sys, addr, VMX_MODEL_PID_SIZE);
	wr8(sys, addr + PID_NV, nv);
	wr32(sys, addr + PID_NDST, ndst);
}

/*
 * The PID is shared with other agents (posting software, the IOMMU, other
 * processors), so the processor accesses it as the SDM and VT-d describe:
 * 64-bit loads, locked OR/AND of single bits (ON, SN, PIR[v]) and an atomic
 * read-and-clear of each PIR word (SDM Vol. 3C 30.6 "Posted-Interrupt
 * Processing": "no other agent can read or write a PIR bit" between the
 * read and the clear; VT-d 9.12 "Posted Interrupt Descriptor (PID)":
 * "atomic read-modify-write"). The value each accessor computes is that
 * of the byte accessors above; a word whose host address is not 8-byte
 * aligned falls back to them (only ever used single-threaded).
 */
static uint64_t *pid_word(const struct vmx_model_sys *sys, uint64_t addr)
{
	uint8_t *p = sys->mem + addr;

	return ((uintptr_t)p & 7U) ? NULL : (uint64_t *)(void *)p;
}

static uint64_t pid_load(const struct vmx_model_sys *sys, uint64_t addr)
{
	uint64_t *w = pid_word(sys, addr);

	return w ? __atomic_load_n(w, __ATOMIC_SEQ_CST) : vmx_model_rd64(sys, addr);
}

/* Locked OR (set) or AND (clear) of @mask; returns the old word. */
static uint64_t pid_rmw(struct vmx_model_sys *sys, uint64_t addr, uint64_t mask, bool set)
{
	uint64_t *w = pid_word(sys, addr);
	uint64_t old;

	if (w)
		return set ? __atomic_fetch_or(w, mask, __ATOMIC_SEQ_CST)
			   : __atomic_fetch_and(w, ~mask, __ATOMIC_SEQ_CST);
	old = vmx_model_rd64(sys, addr);
	vmx_model_wr64(sys, addr, set ? old | mask : old & ~mask);
	return old;
}

/* Atomic read-and-clear of one PIR word. */
static uint64_t pid_take(struct vmx_model_sys *sys, uint64_t addr)
{
	uint64_t *w = pid_word(sys, addr);
	uint64_t old;

	if (w)
		return __atomic_exchange_n(w, 0, __ATOMIC_SEQ_CST);
	old = vmx_model_rd64(sys, addr);
	vmx_model_wr64(sys, addr, 0);
	return old;
}

bool vmx_model_pid_pir(const struct vmx_model_sys *sys, uint64_t addr, unsigned v)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_PID_SIZE))
		return false;
	v &= 0xFFU;
	return (pid_load(sys, addr + (v / 64U) * 8U) >> (v % 64U)) & 1U;
}

void vmx_model_pid_set_pir(struct vmx_model_sys *sys, uint64_t addr, unsigned v)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_PID_SIZE))
		return;
	v &= 0xFFU;
	pid_rmw(sys, addr + (v / 64U) * 8U, 1ULL << (v % 64U), true);
}

bool vmx_model_pid_on(const struct vmx_model_sys *sys, uint64_t addr)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_PID_SIZE))
		return false;
	return pid_load(sys, addr + PID_CTL) & 1U;
}

bool vmx_model_pid_sn(const struct vmx_model_sys *sys, uint64_t addr)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_PID_SIZE))
		return false;
	return (pid_load(sys, addr + PID_CTL) >> 1) & 1U;
}

void vmx_model_pid_set_on(struct vmx_model_sys *sys, uint64_t addr, bool on)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_PID_SIZE))
		return;
	pid_rmw(sys, addr + PID_CTL, 1ULL << 0, on);
}

void vmx_model_pid_set_sn(struct vmx_model_sys *sys, uint64_t addr, bool sn)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_PID_SIZE))
		return;
	pid_rmw(sys, addr + PID_CTL, 1ULL << 1, sn);
}

/* NV is byte 34 and NDST bytes 36-39: bits 23:16 and 63:32 of the word at byte 32. */
uint8_t vmx_model_pid_nv(const struct vmx_model_sys *sys, uint64_t addr)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_PID_SIZE))
		return 0;
	return (uint8_t)(pid_load(sys, addr + PID_CTL) >> ((PID_NV - PID_CTL) * 8U));
}

uint32_t vmx_model_pid_ndst(const struct vmx_model_sys *sys, uint64_t addr)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_PID_SIZE))
		return 0;
	return (uint32_t)(pid_load(sys, addr + PID_CTL) >> ((PID_NDST - PID_CTL) * 8U));
}

/* Sets PIR[@v] and, when ON is clear and @may_notify, ON, as one decision on
 * the old ON: true when this call turned ON from 0 to 1 (a notification is due). */
static bool pid_post(struct vmx_model_sys *sys, uint64_t addr, unsigned v, bool may_notify)
{
	vmx_model_pid_set_pir(sys, addr, v);
	if (!may_notify)
		return false;
	return !(pid_rmw(sys, addr + PID_CTL, 1ULL << 0, true) & 1U);
}

/* ---- user posted-interrupt descriptor: byte 0 bit 0 ON and bit 1 SN,
 * byte 2 NV, bytes 4-7 NDST, bytes 8-15 PIR ---- */

#define UPID_NV 2U
#define UPID_NDST 4U
#define UPID_PIR 8U
#define UPID_RSVD 0x00000000FF00FFFCULL /* bits 15:2 and 31:24 */

void vmx_model_upid_init(struct vmx_model_sys *sys, uint64_t addr, uint8_t nv, uint32_t ndst)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_UPID_SIZE))
		return;
	zero(sys, addr, VMX_MODEL_UPID_SIZE);
	wr8(sys, addr + UPID_NV, nv);
	wr32(sys, addr + UPID_NDST, ndst);
}

uint64_t vmx_model_upid_pir(const struct vmx_model_sys *sys, uint64_t addr)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_UPID_SIZE))
		return 0;
	return vmx_model_rd64(sys, addr + UPID_PIR);
}

bool vmx_model_upid_on(const struct vmx_model_sys *sys, uint64_t addr)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_UPID_SIZE))
		return false;
	return mem_bit(sys, addr, 0);
}

bool vmx_model_upid_sn(const struct vmx_model_sys *sys, uint64_t addr)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_UPID_SIZE))
		return false;
	return mem_bit(sys, addr, 1);
}

void vmx_model_upid_set_on(struct vmx_model_sys *sys, uint64_t addr, bool on)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_UPID_SIZE))
		return;
	mem_set_bit(sys, addr, 0, on);
}

void vmx_model_upid_set_sn(struct vmx_model_sys *sys, uint64_t addr, bool sn)
{
	if (!vmx_model_mem_ok(sys, addr, VMX_MODEL_UPID_SIZE))
		return;
	mem_set_bit(sys, addr, 1, sn);
}

void vmx_model_uitte_set(struct vmx_model_sys *sys, uint64_t table, uint32_t index, bool valid,
			 uint8_t uv, uint64_t upid_addr)
{
	uint64_t e = table + (uint64_t)index * VMX_MODEL_UITTE_SIZE;

	if (e < table || !vmx_model_mem_ok(sys, e, VMX_MODEL_UITTE_SIZE))
		return;
	vmx_model_wr64(sys, e, (valid ? 1ULL : 0ULL) | (uint64_t)uv << 8);
	vmx_model_wr64(sys, e + 8, upid_addr);
}

/* ---- VT-d posting ---- */

uint64_t vmx_model_irte_lo(uint8_t vv, bool urg, uint64_t pid_addr)
{
	return VMX_MODEL_IRTE_P | VMX_MODEL_IRTE_IM | (urg ? VMX_MODEL_IRTE_URG : 0) |
	       (uint64_t)vv << VMX_MODEL_IRTE_VV_SHIFT |
	       ((pid_addr >> 6) & 0x3FFFFFFULL) << 38; /* PDA[31:6] in bits 63:38 */
}

uint64_t vmx_model_irte_hi(uint16_t sid, uint64_t pid_addr)
{
	return (uint64_t)sid | (pid_addr >> 32) << 32; /* PDA[63:32] in bits 127:96 */
}

/*
 * VT-d 5.2 "Interrupt Posting" (hardware operation for a posted-format IRTE,
 * 9.11 "Interrupt Remapping Table Entry (IRTE) for Posted Interrupts"): the
 * remapping unit checks the entry, then in one atomic update of the
 * descriptor sets PIR[VV] and, when ON is clear and either URG is set or SN
 * is clear, sets ON and sends the notification (NV to NDST). Only the vector
 * comes from the IRTE. ON already set means a notification is outstanding:
 * no second one. SN set suppresses it unless the IRTE is urgent; with SN
 * set and URG clear ON stays clear. Source-ID validation and the fault
 * record are not modelled: a fault is the return value.
 */
enum vmx_model_vtd vmx_model_vtd_post(struct vmx_model_sys *sys, struct vmx_model_log *log,
				      uint64_t irte_lo, uint64_t irte_hi)
{
	uint64_t pda;
	uint8_t vv;
	bool send;

	if (!(irte_lo & VMX_MODEL_IRTE_P))
		return VMX_MODEL_VTD_NOT_PRESENT;
	if (!(irte_lo & VMX_MODEL_IRTE_IM))
		return VMX_MODEL_VTD_REMAPPED;
	if ((irte_lo & VMX_MODEL_IRTE_LO_RSVD) || (irte_hi & VMX_MODEL_IRTE_HI_RSVD))
		return VMX_MODEL_VTD_RESERVED;
	pda = (irte_hi & 0xFFFFFFFF00000000ULL) | ((irte_lo >> 38) << 6);
	if (!vmx_model_mem_ok(sys, pda, VMX_MODEL_PID_SIZE))
		return VMX_MODEL_VTD_PID_ERROR;
	vv = (uint8_t)(irte_lo >> VMX_MODEL_IRTE_VV_SHIFT);

	/* One locked read-modify-write of the descriptor. */
	send = pid_post(sys, pda, vv,
			(irte_lo & VMX_MODEL_IRTE_URG) || !vmx_model_pid_sn(sys, pda));
	if (send)
		notify(sys, log, vmx_model_pid_nv(sys, pda), vmx_model_pid_ndst(sys, pda));
	return VMX_MODEL_VTD_POSTED;
}

/* ---- the virtual-APIC page ---- */

static uint32_t vreg_rd(const struct vmx_model_cpu *cpu, uint32_t off)
{
	const uint8_t *p = &cpu->vapic[off];

	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void vreg_wr(struct vmx_model_cpu *cpu, uint32_t off, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		cpu->vapic[off + i] = (uint8_t)(v >> (8 * i));
}

uint32_t vmx_model_reg(const struct vmx_model_cpu *cpu, uint32_t off)
{
	return vreg_rd(cpu, off & 0xFFCU);
}

void vmx_model_set_reg(struct vmx_model_cpu *cpu, uint32_t off, uint32_t val)
{
	vreg_wr(cpu, off & 0xFFCU, val);
}

/* SDM Vol. 3C 30.1.1 "Virtualized APIC Registers": VISR, VTMR and VIRR are
 * eight 32-bit fields at 16-byte strides; vector v is bit (v & 1FH) of the
 * field at base + ((v & E0H) >> 1). */
bool vmx_model_bit(const struct vmx_model_cpu *cpu, uint32_t base, unsigned v)
{
	v &= 0xFFU;
	return (vreg_rd(cpu, base + ((v & 0xE0U) >> 1)) >> (v & 0x1FU)) & 1U;
}

void vmx_model_set_bit(struct vmx_model_cpu *cpu, uint32_t base, unsigned v, bool on)
{
	uint32_t off, w;

	v &= 0xFFU;
	off = base + ((v & 0xE0U) >> 1);
	w = vreg_rd(cpu, off);
	w = on ? (w | (1U << (v & 0x1FU))) : (w & ~(1U << (v & 0x1FU)));
	vreg_wr(cpu, off, w);
}

int vmx_model_highest(const struct vmx_model_cpu *cpu, uint32_t base)
{
	for (int v = 255; v >= 0; v--) {
		if (vmx_model_bit(cpu, base, (unsigned)v))
			return v;
	}
	return -1;
}

static uint8_t vtpr(const struct vmx_model_cpu *cpu)
{
	return cpu->vapic[VMX_MODEL_VTPR];
}

static uint8_t vppr(const struct vmx_model_cpu *cpu)
{
	return cpu->vapic[VMX_MODEL_VPPR];
}

void vmx_model_init(struct vmx_model_cpu *cpu, struct vmx_model_sys *sys)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->sys = sys;
}

/* ---- VM exits ---- */

static void vm_exit(struct vmx_model_cpu *cpu, uint32_t reason, uint64_t qual, uint32_t info)
{
	log_ev(&cpu->log, VMX_MODEL_EV_EXIT, reason, qual, info);
	cpu->in_guest = false;
	cpu->recognized = false;
}

static void fault(struct vmx_model_cpu *cpu, uint32_t vector)
{
	log_ev(&cpu->log, VMX_MODEL_EV_FAULT, vector, 0, 0);
}

/*
 * VM entry, as far as the model's controls go (SDM Vol. 3C 27.2.1.1
 * "VM-Execution Control Fields" for the checks, 27.3.2.5 "Updating
 * Non-Register State" for what follows a successful entry):
 * - "process posted interrupts" needs virtual-interrupt delivery,
 *   notification vector bits 15:8 clear, and a 64-byte aligned descriptor
 *   inside the physical-address width (here: inside model memory);
 * - IPI virtualization needs virtual-interrupt delivery (the model's
 *   reading; the manuals read here do not list it) and a PID-pointer table
 *   8-byte aligned inside memory;
 * - with VID = 0 and TPR threshold[3:0] > VTPR[7:4], entry fails when APIC
 *   accesses are not virtualized, else a TPR-below-threshold exit follows
 *   the entry at once (SDM Vol. 3C 27.7.7 "VM Exits Induced by the TPR
 *   Threshold").
 * With VID = 1 the processor performs PPR virtualization and then evaluates
 * pending virtual interrupts.
 */
int vmx_model_vmentry(struct vmx_model_cpu *cpu)
{
	if (!cpu || !cpu->sys)
		return -VMX_MODEL_EINVAL;
	if (cpu->in_guest)
		return -VMX_MODEL_ESTATE;
	if (cpu->posted) {
		if (!cpu->vid || (cpu->nv & 0xFF00U) || (cpu->pid_addr & 0x3FU) ||
		    !vmx_model_mem_ok(cpu->sys, cpu->pid_addr, VMX_MODEL_PID_SIZE))
			return -VMX_MODEL_EENTRY;
	}
	if (cpu->ipiv) {
		uint64_t len = ((uint64_t)cpu->last_pid_index + 1U) * 8U;

		if (!cpu->vid || (cpu->pid_table & 0x7U) ||
		    !vmx_model_mem_ok(cpu->sys, cpu->pid_table, len))
			return -VMX_MODEL_EENTRY;
	}
	if (cpu->tpr_threshold & 0xF0U)
		return -VMX_MODEL_EENTRY;
	if (!cpu->vid && cpu->x2apic_virt && cpu->tpr_threshold > (vtpr(cpu) >> 4))
		return -VMX_MODEL_EENTRY;

	cpu->in_guest = true;
	cpu->recognized = false;
	if (cpu->vid) {
		vmx_model_ppr_virt(cpu);
		vmx_model_evaluate(cpu);
	} else if (cpu->tpr_threshold > (vtpr(cpu) >> 4)) {
		vm_exit(cpu, VMX_MODEL_EXIT_TPR_BELOW, 0, 0);
	}
	return 0;
}

/*
 * SDM Vol. 3C 30.1.3 "PPR Virtualization": VPPR = VTPR & FFH when
 * VTPR[7:4] >= SVI[7:4], else SVI & F0H; bytes 3:1 of VPPR are cleared.
 */
void vmx_model_ppr_virt(struct vmx_model_cpu *cpu)
{
	uint8_t tpr = vtpr(cpu);
	uint8_t ppr = (tpr >> 4) >= (cpu->svi >> 4) ? tpr : (uint8_t)(cpu->svi & 0xF0U);

	vreg_wr(cpu, VMX_MODEL_VPPR, ppr);
}

/*
 * SDM Vol. 3C 30.2.1 "Evaluation of Pending Virtual Interrupts": a virtual
 * interrupt is recognized when interrupt-window exiting is 0 and
 * RVI[7:4] > VPPR[7:4]; otherwise none is. Only priority classes compare:
 * RVI 35H against VPPR 30H is not recognized, and RVI 0-15 never is.
 */
void vmx_model_evaluate(struct vmx_model_cpu *cpu)
{
	cpu->recognized = !cpu->intr_window_exiting && (cpu->rvi >> 4) > (vppr(cpu) >> 4);
}

/*
 * SDM Vol. 3C 30.1.2 "TPR Virtualization": with VID = 0, a trap-like
 * TPR-below-threshold exit when VTPR[7:4] < TPR threshold[3:0]; with VID = 1,
 * PPR virtualization and then evaluation.
 */
void vmx_model_tpr_virt(struct vmx_model_cpu *cpu)
{
	if (!cpu->vid) {
		if ((vtpr(cpu) >> 4) < (cpu->tpr_threshold & 0xFU))
			vm_exit(cpu, VMX_MODEL_EXIT_TPR_BELOW, 0, 0);
		return;
	}
	vmx_model_ppr_virt(cpu);
	vmx_model_evaluate(cpu);
}

/*
 * SDM Vol. 3C 30.1.4 "EOI Virtualization": V = SVI; VISR[V] = 0; SVI = the
 * highest vector left in VISR, or 0; PPR virtualization; then a trap-like
 * EOI-induced exit with V as its qualification when EOI_exit_bitmap[V] is
 * set, else evaluation. With VISR empty V is 0, and bit 0 of the bitmap
 * still decides.
 */
void vmx_model_eoi_virt(struct vmx_model_cpu *cpu)
{
	uint8_t v = cpu->svi;
	int h;

	vmx_model_set_bit(cpu, VMX_MODEL_VISR, v, false);
	h = vmx_model_highest(cpu, VMX_MODEL_VISR);
	cpu->svi = h < 0 ? 0 : (uint8_t)h;
	vmx_model_ppr_virt(cpu);
	if ((cpu->eoi_exit[v / 64U] >> (v % 64U)) & 1U)
		vm_exit(cpu, VMX_MODEL_EXIT_EOI_INDUCED, v, 0);
	else
		vmx_model_evaluate(cpu);
}

/*
 * SDM Vol. 3C 30.1.5 "Self-IPI Virtualization": VIRR[V] = 1;
 * RVI = max(RVI, V); evaluation.
 */
void vmx_model_self_ipi_virt(struct vmx_model_cpu *cpu, uint8_t vector)
{
	vmx_model_set_bit(cpu, VMX_MODEL_VIRR, vector, true);
	if (vector > cpu->rvi)
		cpu->rvi = vector;
	vmx_model_evaluate(cpu);
}

static void apic_write_exit(struct vmx_model_cpu *cpu, uint32_t off)
{
	vm_exit(cpu, VMX_MODEL_EXIT_APIC_WRITE, off, 0);
}

/*
 * SDM Vol. 3C 30.1.6 "IPI Virtualization", for vector V and virtual APIC ID
 * T:
 * - V < 16: APIC-write exit (offset 300H), illegal vector;
 * - T > last PID-pointer index: APIC-write exit;
 * - PID_ADDR = the 8 bytes at PID-pointer table + T * 8; bits beyond the
 *   physical-address width set, or PID_ADDR[5:0] != 000001b (not valid, or
 *   reserved bits set): APIC-write exit;
 * - else, under lock: PIR[V] = 1; then, under lock, when ON = 0 and SN = 0,
 *   ON = 1 and the notification (NV to NDST) is sent. ON already set: no
 *   second notification. SN set: PIR only, ON stays clear.
 * Every APIC-write exit here is as if the guest had written offset 300H.
 */
void vmx_model_ipi_virt(struct vmx_model_cpu *cpu, uint8_t vector, uint32_t dest)
{
	struct vmx_model_sys *sys = cpu->sys;
	uint64_t entry, pid;
	bool send;

	if (vector < 16U || dest > cpu->last_pid_index) {
		apic_write_exit(cpu, VMX_MODEL_VICR_LO);
		return;
	}
	/* The table was checked at VM entry; a table moved since then (which
	 * the VMM cannot do in non-root operation) reads as an invalid entry. */
	if (!vmx_model_mem_ok(sys, cpu->pid_table + (uint64_t)dest * 8U, 8U)) {
		apic_write_exit(cpu, VMX_MODEL_VICR_LO);
		return;
	}
	entry = vmx_model_rd64(sys, cpu->pid_table + (uint64_t)dest * 8U);
	pid = entry & ~0x3FULL;
	if ((entry & 0x3FU) != 1U || !vmx_model_mem_ok(sys, pid, VMX_MODEL_PID_SIZE)) {
		apic_write_exit(cpu, VMX_MODEL_VICR_LO);
		return;
	}
	send = pid_post(sys, pid, vector, !vmx_model_pid_sn(sys, pid));
	if (send) {
		notify(sys, &cpu->log, vmx_model_pid_nv(sys, pid), vmx_model_pid_ndst(sys, pid));
	}
}

/*
 * SDM Vol. 3C 30.6 "Posted-Interrupt Processing", steps 3-7 (steps 1-2,
 * the acknowledge and the vector check, are in vmx_model_ext_intr()):
 * 3. clear ON in the descriptor, leaving the rest;
 * 4. write 0 to the local APIC's EOI register (dismisses the notification);
 * 5. OR PIR into VIRR and clear PIR, no agent touching PIR in between;
 * 6. RVI = max(old RVI, highest vector that was in PIR); unchanged when
 *    PIR was empty;
 * 7. evaluate pending virtual interrupts.
 */
void vmx_model_posted_processing(struct vmx_model_cpu *cpu)
{
	struct vmx_model_sys *sys = cpu->sys;
	uint64_t pid = cpu->pid_addr;
	int high = -1;

	vmx_model_pid_set_on(sys, pid, false);
	log_ev(&cpu->log, VMX_MODEL_EV_LAPIC_EOI, 0, 0, 0);
	for (unsigned i = 0; i < 4U; i++) {
		uint64_t w = pid_take(sys, pid + i * 8U);

		for (unsigned b = 0; b < 64U; b++) {
			if (!((w >> b) & 1U))
				continue;
			vmx_model_set_bit(cpu, VMX_MODEL_VIRR, i * 64U + b, true);
			high = (int)(i * 64U + b);
		}
	}
	if (high > (int)cpu->rvi)
		cpu->rvi = (uint8_t)high;
	vmx_model_evaluate(cpu);
}

/*
 * SDM Vol. 3C 30.2.2 "Virtual-Interrupt Delivery" (the caller checked the
 * conditions: recognized, RFLAGS.IF = 1, no STI or MOV-SS blocking,
 * interrupt-window exiting 0): V = RVI; VISR[V] = 1; SVI = V;
 * VPPR = V & F0H; VIRR[V] = 0; RVI = highest vector left in VIRR, or 0;
 * recognition ceases; then, when CR4.UINTR = 1, IA32_EFER.LMA = 1 and
 * V = UINV, user-interrupt notification processing instead of delivery
 * through the IDT.
 */
void vmx_model_vintr_deliver(struct vmx_model_cpu *cpu)
{
	uint8_t v = cpu->rvi;
	int h;

	vmx_model_set_bit(cpu, VMX_MODEL_VISR, v, true);
	cpu->svi = v;
	vreg_wr(cpu, VMX_MODEL_VPPR, v & 0xF0U);
	vmx_model_set_bit(cpu, VMX_MODEL_VIRR, v, false);
	h = vmx_model_highest(cpu, VMX_MODEL_VIRR);
	cpu->rvi = h < 0 ? 0 : (uint8_t)h;
	cpu->recognized = false;
	cpu->hlt = false;

	if (cpu->cr4_uintr && cpu->lma && v == cpu->uinv) {
		/*
		 * SDM Vol. 3C 30.2.3 "Virtualizing User-Interrupt
		 * Notifications": the model dismisses the virtual interrupt as
		 * Bochs does (VISR[V] = 0, SVI recomputed, PPR virtualization;
		 * no EOI-exit bitmap check and no evaluation), then performs
		 * notification processing on the guest's UPID.
		 */
		vmx_model_set_bit(cpu, VMX_MODEL_VISR, v, false);
		h = vmx_model_highest(cpu, VMX_MODEL_VISR);
		cpu->svi = h < 0 ? 0 : (uint8_t)h;
		vmx_model_ppr_virt(cpu);
		log_ev(&cpu->log, VMX_MODEL_EV_UNOTIFY, v, 0, 0);
		vmx_model_uintr_notify_processing(cpu);
		return;
	}
	log_ev(&cpu->log, VMX_MODEL_EV_DELIVER, v, 0, 0);
}

/*
 * SDM Vol. 3A "User-Interrupt Notification Processing", after the
 * notification was identified (the EOI of step 3 is the dismissal done by
 * the caller): clear UPID.ON; read and clear UPID.PIR in one locked
 * operation; UIRR |= that value; a user interrupt is recognized when UIRR
 * is not 0. The UPID address is a linear address the model maps one to one
 * onto memory; outside it, a #PF.
 */
void vmx_model_uintr_notify_processing(struct vmx_model_cpu *cpu)
{
	struct vmx_model_sys *sys = cpu->sys;
	uint64_t u = cpu->upid_addr;

	if (!vmx_model_mem_ok(sys, u, VMX_MODEL_UPID_SIZE)) {
		fault(cpu, VMX_MODEL_PF);
		return;
	}
	vmx_model_upid_set_on(sys, u, false);
	cpu->uirr |= vmx_model_rd64(sys, u + UPID_PIR);
	vmx_model_wr64(sys, u + UPID_PIR, 0);
}

/*
 * SDM Vol. 3A "User-Interrupt Delivery" (the caller checked UIRR != 0,
 * UIF = 1, CPL = 3, CR4.UINTR = 1, 64-bit mode): V = highest bit of UIRR;
 * UIRR[V] = 0; UIF = 0; control goes to UIHANDLER with V pushed. The stack
 * frame is not modelled.
 */
void vmx_model_uintr_deliver(struct vmx_model_cpu *cpu)
{
	unsigned v = 63U - (unsigned)__builtin_clzll(cpu->uirr);

	cpu->uirr &= ~(1ULL << v);
	cpu->uif = false;
	log_ev(&cpu->log, VMX_MODEL_EV_UINTR, v, 0, 0);
}

/* ---- events and guest operations ---- */

/*
 * SDM Vol. 3C 30.6 "Posted-Interrupt Processing", steps 1-2, for an
 * unmasked external interrupt the local APIC delivers to the core. In VMX
 * non-root operation external-interrupt exiting is 1 (VID requires it), so
 * RFLAGS.IF does not matter: the notification vector with "process posted
 * interrupts" is processed; any other vector is an external-interrupt exit
 * with the vector in the exit interruption information (acknowledge
 * interrupt on exit: valid, type 0). From HLT the processor goes back to
 * HLT unless a virtual interrupt is then delivered. In VMX root operation
 * the interrupt is the host's.
 */
int vmx_model_ext_intr(struct vmx_model_cpu *cpu, uint8_t vector)
{
	if (!cpu || !cpu->sys)
		return -VMX_MODEL_EINVAL;
	if (!cpu->in_guest) {
		log_ev(&cpu->log, VMX_MODEL_EV_HOST_INTR, vector, 0, 0);
		return 0;
	}
	if (cpu->posted && vector == (cpu->nv & 0xFFU)) {
		/* Checked at VM entry; changed since, the model was misused. */
		if (!vmx_model_mem_ok(cpu->sys, cpu->pid_addr, VMX_MODEL_PID_SIZE))
			return -VMX_MODEL_EINVAL;
		vmx_model_posted_processing(cpu);
		return 0;
	}
	vm_exit(cpu, VMX_MODEL_EXIT_EXT_INTR, 0, 0x80000000U | vector);
	return 0;
}

int vmx_model_boundary(struct vmx_model_cpu *cpu)
{
	if (!cpu || !cpu->sys)
		return -VMX_MODEL_EINVAL;
	if (!cpu->in_guest)
		return -VMX_MODEL_ESTATE;
	/* SDM Vol. 3C 30.2.2 "Virtual-Interrupt Delivery": the conditions. */
	if (cpu->vid && cpu->recognized && cpu->rflags_if &&
	    !(cpu->interruptibility & (VMX_MODEL_BLOCK_STI | VMX_MODEL_BLOCK_MOVSS)) &&
	    !cpu->intr_window_exiting) {
		vmx_model_vintr_deliver(cpu);
		return 1;
	}
	/* SDM Vol. 3A "User-Interrupt Recognition and Delivery": below
	 * ordinary interrupts; a halted processor executes nothing at CPL 3. */
	if (!cpu->hlt && cpu->uirr && cpu->uif && cpu->cpl == 3U && cpu->cr4_uintr && cpu->lma) {
		vmx_model_uintr_deliver(cpu);
		return 1;
	}
	return 0;
}

/*
 * SDM Vol. 3C 30.3 "Virtualizing CR8-Based TPR Accesses": MOV to CR8 with
 * bits 63:4 of the source set is a #GP; else VTPR[7:4] = source[3:0] and
 * the rest of VTPR is cleared, then TPR virtualization.
 */
int vmx_model_mov_cr8(struct vmx_model_cpu *cpu, uint64_t val)
{
	if (!cpu || !cpu->sys)
		return -VMX_MODEL_EINVAL;
	if (!cpu->in_guest)
		return -VMX_MODEL_ESTATE;
	if (val & ~0xFULL) {
		fault(cpu, VMX_MODEL_GP);
		return 0;
	}
	vreg_wr(cpu, VMX_MODEL_VTPR, (uint32_t)val << 4);
	vmx_model_tpr_virt(cpu);
	return 0;
}

/* The ICR conditions of SDM Vol. 3C 30.4.3.2 "APIC-Write Emulation" for
 * offset 300H: reserved bits 31:20, 17:16, 13 and delivery status (12)
 * clear, edge (15 = 0), fixed (10:8 = 0), and the shorthand given. */
#define ICR_RSVD_DS 0xFFF33000U
#define ICR_SHORTHAND 0x000C0000U
#define ICR_SELF 0x00040000U
#define ICR_TRIGGER 0x00008000U
#define ICR_DESTMODE 0x00000800U
#define ICR_DM 0x00000700U

static bool icr_self_ok(uint32_t lo)
{
	return !(lo & (ICR_RSVD_DS | ICR_TRIGGER | ICR_DM)) && (lo & ICR_SHORTHAND) == ICR_SELF &&
	       (lo & 0xF0U) != 0;
}

static bool icr_ipiv_ok(uint32_t lo)
{
	return !(lo & (ICR_RSVD_DS | ICR_TRIGGER | ICR_DM | ICR_DESTMODE | ICR_SHORTHAND));
}

/* Writes the model virtualizes on the APIC-access page (SDM Vol. 3C 30.4.3.1
 * "Determining Whether a Write Access is Virtualized"). */
static bool write_virtualized(const struct vmx_model_cpu *cpu, uint32_t off)
{
	if (off == VMX_MODEL_VTPR)
		return true;
	if (cpu->apic_reg_virt) {
		switch (off) {
		case 0x020U:
		case 0x0B0U:
		case 0x0D0U:
		case 0x0E0U:
		case 0x0F0U:
		case 0x280U:
		case 0x300U:
		case 0x310U:
		case 0x380U:
		case 0x3E0U:
			return true;
		default:
			return off >= 0x320U && off <= 0x370U;
		}
	}
	return cpu->vid && (off == VMX_MODEL_VEOI || off == VMX_MODEL_VICR_LO);
}

/*
 * A guest 32-bit write to the APIC-access page ("virtualize APIC
 * accesses", xAPIC). SDM Vol. 3C 30.4.3 "Virtualizing Writes to the
 * APIC-Access Page": a write that is not virtualized, or not inside the low
 * 4 bytes of a 16-byte field, is a fault-like APIC-access exit; a
 * virtualized write lands in the virtual-APIC page and then APIC-write
 * emulation (30.4.3.2) acts by offset:
 * - 080H: clear bytes 3:1 of VTPR; TPR virtualization;
 * - 0B0H: EOI virtualization with VID, else an APIC-write exit;
 * - 300H: with VID, self-IPI virtualization when the ICR names a fixed,
 *   edge self-IPI with vector 16-255 and clean reserved bits; else, with
 *   IPI virtualization, a fixed, edge, physical, no-shorthand IPI is
 *   virtualized with destination VICR_HI[31:24]; anything else is an
 *   APIC-write exit;
 * - 310H: clear bytes 2:0 of VICR_HI, nothing else;
 * - any other offset: an APIC-write exit with that offset.
 */
int vmx_model_mmio_write(struct vmx_model_cpu *cpu, uint32_t off, uint32_t val)
{
	uint32_t lo;

	if (!cpu || !cpu->sys || off > VMX_MODEL_PAGE - 4U || cpu->x2apic_virt)
		return -VMX_MODEL_EINVAL;
	if (!cpu->in_guest)
		return -VMX_MODEL_ESTATE;
	if ((off & 0xFU) || !write_virtualized(cpu, off)) {
		vm_exit(cpu, VMX_MODEL_EXIT_APIC_ACCESS, VMX_MODEL_ACCESS_LINEAR_WRITE | off, 0);
		return 0;
	}
	vreg_wr(cpu, off, val);
	switch (off) {
	case VMX_MODEL_VTPR:
		vreg_wr(cpu, VMX_MODEL_VTPR, val & 0xFFU);
		vmx_model_tpr_virt(cpu);
		break;
	case VMX_MODEL_VEOI:
		if (cpu->vid)
			vmx_model_eoi_virt(cpu);
		else
			apic_write_exit(cpu, off);
		break;
	case VMX_MODEL_VICR_LO:
		lo = val;
		if (cpu->vid && icr_self_ok(lo))
			vmx_model_self_ipi_virt(cpu, (uint8_t)lo);
		else if (cpu->vid && cpu->ipiv && icr_ipiv_ok(lo))
			vmx_model_ipi_virt(cpu, (uint8_t)lo, vreg_rd(cpu, VMX_MODEL_VICR_HI) >> 24);
		else
			apic_write_exit(cpu, off);
		break;
	case VMX_MODEL_VICR_HI:
		vreg_wr(cpu, VMX_MODEL_VICR_HI, val & 0xFF000000U);
		break;
	default:
		apic_write_exit(cpu, off);
		break;
	}
	return 0;
}

/*
 * WRMSR with ECX in 800H-8FFH. SDM Vol. 3C 30.5 "Virtualizing MSR-Based
 * APIC Accesses", with "virtualize x2APIC mode":
 * - 808H: EDX = 0 and EAX[31:8] = 0, else #GP; VTPR = EAX; TPR
 *   virtualization;
 * - 80BH with VID: EDX:EAX = 0, else #GP; EOI virtualization;
 * - 83FH with VID: EDX = 0 and EAX[31:8] = 0, else #GP; vector 16-255:
 *   self-IPI virtualization; 0-15: APIC-write exit with offset 3F0H;
 * - 830H with IPI virtualization: EDX:EAX is written to offset 300H; a
 *   fixed, edge, physical, no-shorthand ICR with clean reserved bits is
 *   virtualized with destination EDX (30.1.6 "IPI Virtualization"), any
 *   other value is an APIC-write exit with offset 300H (the model's
 *   reading: the self-IPI path of offset 300H is the xAPIC one, x2APIC has
 *   83FH);
 * - anything else operates normally, i.e. on the physical x2APIC: the VMM
 *   must intercept it, and the model records the WRMSR exit it requires.
 * Without "virtualize x2APIC mode" none of these MSRs is virtualized: a
 * WRMSR exit.
 */
int vmx_model_wrmsr(struct vmx_model_cpu *cpu, uint32_t msr, uint64_t val)
{
	uint32_t eax = (uint32_t)val, edx = (uint32_t)(val >> 32);

	if (!cpu || !cpu->sys || msr < 0x800U || msr > 0x8FFU)
		return -VMX_MODEL_EINVAL;
	if (!cpu->in_guest)
		return -VMX_MODEL_ESTATE;
	if (!cpu->x2apic_virt) {
		vm_exit(cpu, VMX_MODEL_EXIT_WRMSR, 0, 0);
		return 0;
	}
	if (msr == VMX_MODEL_MSR_TPR) {
		if (edx || (eax & 0xFFFFFF00U)) {
			fault(cpu, VMX_MODEL_GP);
			return 0;
		}
		vreg_wr(cpu, VMX_MODEL_VTPR, eax);
		vmx_model_tpr_virt(cpu);
	} else if (msr == VMX_MODEL_MSR_EOI && cpu->vid) {
		if (val) {
			fault(cpu, VMX_MODEL_GP);
			return 0;
		}
		vmx_model_eoi_virt(cpu);
	} else if (msr == VMX_MODEL_MSR_SELF_IPI && cpu->vid) {
		if (edx || (eax & 0xFFFFFF00U)) {
			fault(cpu, VMX_MODEL_GP);
			return 0;
		}
		if (eax & 0xF0U)
			vmx_model_self_ipi_virt(cpu, (uint8_t)eax);
		else
			apic_write_exit(cpu, VMX_MODEL_SELF_IPI);
	} else if (msr == VMX_MODEL_MSR_ICR && cpu->ipiv) {
		vreg_wr(cpu, VMX_MODEL_VICR_LO, eax);
		vreg_wr(cpu, VMX_MODEL_VICR_LO + 4U, edx);
		if (icr_ipiv_ok(eax))
			vmx_model_ipi_virt(cpu, (uint8_t)eax, edx);
		else
			apic_write_exit(cpu, VMX_MODEL_VICR_LO);
	} else {
		vm_exit(cpu, VMX_MODEL_EXIT_WRMSR, 0, 0);
	}
	return 0;
}

/* UITT entry: bits 7:1, 15:14 (UV above 63) and 63:16 reserved; UPIDADDR
 * bits 5:0 reserved. */
#define UITTE_RSVD 0xFFFFFFFFFFFFC0FEULL

/*
 * SDM Vol. 2 "SENDUIPI—Send User Interprocessor Interrupt" and SDM Vol. 3A
 * "User-Interrupt Notification" / "IPI Virtualization" for the notification
 * in VMX non-root operation:
 * - #UD unless CR4.UINTR = 1, 64-bit mode and IA32_UINTR_TT[0] = 1;
 * - #GP(0) when the index exceeds UITTSZ, the entry is not valid or has a
 *   reserved bit set, or the UPID has a reserved bit set;
 * - locked: UPID.PIR[UV] = 1; when SN = 0 and ON = 0, ON = 1 and a
 *   notification is due; otherwise none (SN set leaves ON clear);
 * - the notification is an IPI with vector UPID.NV to UPID.NDST. In VMX
 *   non-root operation ("use TPR shadow" = 1) it is virtualized: with IPI
 *   virtualization, 30.1.6 "IPI Virtualization" with V = NV and
 *   T = NDST (x2APIC virtualization) or NDST[15:8] (xAPIC); without it,
 *   the ICR image goes to the virtual-APIC page (x2APIC: NDST << 32 | NV at
 *   300H; xAPIC: VICR_HI = NDST[15:8] << 24, VICR_LO = NV) and an
 *   APIC-write exit with offset 300H follows (as Bochs does it).
 * Table and UPID addresses are linear; the model maps them one to one onto
 * memory, and an access outside it is a #PF.
 */
int vmx_model_senduipi(struct vmx_model_cpu *cpu, uint64_t index)
{
	struct vmx_model_sys *sys;
	uint64_t e, w0, upid, u0;
	uint8_t uv, nv;
	uint32_t ndst, t;
	bool send;

	if (!cpu || !cpu->sys)
		return -VMX_MODEL_EINVAL;
	if (!cpu->in_guest)
		return -VMX_MODEL_ESTATE;
	sys = cpu->sys;
	if (!cpu->cr4_uintr || !cpu->lma || !(cpu->uintr_tt & 1U)) {
		fault(cpu, VMX_MODEL_UD);
		return 0;
	}
	if (index > cpu->uittsz) {
		fault(cpu, VMX_MODEL_GP);
		return 0;
	}
	e = (cpu->uintr_tt & ~0xFULL) + index * VMX_MODEL_UITTE_SIZE;
	if (!vmx_model_mem_ok(sys, e, VMX_MODEL_UITTE_SIZE)) {
		fault(cpu, VMX_MODEL_PF);
		return 0;
	}
	w0 = vmx_model_rd64(sys, e);
	upid = vmx_model_rd64(sys, e + 8U);
	if (!(w0 & 1U) || (w0 & UITTE_RSVD) || (upid & 0x3FU)) {
		fault(cpu, VMX_MODEL_GP);
		return 0;
	}
	if (!vmx_model_mem_ok(sys, upid, VMX_MODEL_UPID_SIZE)) {
		fault(cpu, VMX_MODEL_PF);
		return 0;
	}
	u0 = vmx_model_rd64(sys, upid);
	if (u0 & UPID_RSVD) {
		fault(cpu, VMX_MODEL_GP);
		return 0;
	}
	uv = (uint8_t)(w0 >> 8);
	mem_set_bit(sys, upid + UPID_PIR, uv, true);
	send = !(u0 & 1U) && !(u0 & 2U);
	if (!send)
		return 0;
	vmx_model_upid_set_on(sys, upid, true);

	nv = (uint8_t)(u0 >> 16);
	ndst = (uint32_t)(u0 >> 32);
	if (cpu->ipiv) {
		t = cpu->x2apic_virt ? ndst : (ndst >> 8) & 0xFFU;
		vmx_model_ipi_virt(cpu, nv, t);
		return 0;
	}
	if (cpu->x2apic_virt) {
		vreg_wr(cpu, VMX_MODEL_VICR_LO, nv);
		vreg_wr(cpu, VMX_MODEL_VICR_LO + 4U, ndst);
	} else {
		vreg_wr(cpu, VMX_MODEL_VICR_HI, ((ndst >> 8) & 0xFFU) << 24);
		vreg_wr(cpu, VMX_MODEL_VICR_LO, nv);
	}
	apic_write_exit(cpu, VMX_MODEL_VICR_LO);
	return 0;
}
