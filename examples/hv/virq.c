/* SPDX-License-Identifier: MIT */
/*
 * libvirq in the hv, linked as built freestanding: the guest's interrupt
 * controllers (one LAPIC per vCPU, an I/O APIC with 24 pins, the 8259 pair
 * with its ELCR, the PC's GSI routing) in a struct virq_vm, the vCPU
 * policy, and the VMX glue that turns the policy's decisions into VMCS
 * fields. This file is the whole integration; exit.c calls it.
 *
 * Time: the guest's TSC is the host's (Bochs counts one per instruction;
 * the LAPIC assumes 1 GHz, so nanoseconds are TSC ticks). A LAPIC timer is
 * kept on the host's own LAPIC timer in TSC-deadline mode: when it fires
 * while the guest runs, the external-interrupt exit (acknowledged on exit)
 * brings it to the hv, which forwards it to the guest through
 * virq_lapic_timer_expired(); when the vCPU halts, the hv halts too until
 * that interrupt.
 */
#include <virq/ioapic.h>
#include <virq/lapic.h>
#include <virq/pic.h>
#include <virq/regs/lapic.h>
#include <virq/version.h>
#include <virq/vm.h>

#include "hv.h"

void *memset(void *d, int c, size_t n);

#define NR_GSIS 24U
#define HOST_APIC ((volatile uint32_t *)(uintptr_t)0xFEE00000ULL)
#define MSR_TSC_DEADLINE 0x6E0U

static struct virq_vm vm;
static struct virq_ioapic ioapic;
static struct virq_pic pic;
static struct virq_lapic *lapics[HV_MAX_CPUS];
static uint32_t vm_map[256];
static uint64_t vm_map_key[HV_MAX_CPUS];
static struct virq_vm_gsi vm_gsis[NR_GSIS];
static volatile uint32_t vm_lock_word;
static uint64_t msi_addr;
static bool host_tsc_deadline;
static uint32_t storm_pins;

/* ---------------------------------------------------------------------- */
/* The host's LAPIC timer, in TSC-deadline mode (SDM Vol. 3A "TSC-Deadline
 * Mode"): vector HV_TIMER_VECTOR. Armed for the earliest guest deadline. */

/* Each CPU's own LAPIC: software-enabled, its timer in TSC-deadline mode. */
void host_timer_init(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	host_tsc_deadline = r[2] & (1U << 24);
	HOST_APIC[0xF0 / 4] = 0x1FF; /* software-enabled, spurious 0xFF */
	HOST_APIC[0x320 / 4] = HV_TIMER_VECTOR | (host_tsc_deadline ? 2U << 17 : 0);
}

void host_timer_program(uint64_t deadline)
{
	if (host_tsc_deadline)
		wrmsr(MSR_TSC_DEADLINE, deadline);
}

void host_eoi(void)
{
	HOST_APIC[0xB0 / 4] = 0;
}

/* ---------------------------------------------------------------------- */
/* LAPIC and VM callbacks */

/* Another CPU posted to this vCPU: an IPI to the CPU that runs it ends its
 * guest run (an external-interrupt exit) or its HLT, and it looks at its
 * LAPIC before the next entry. A vCPU's own CPU looks anyway. */
static void hv_kick(void *ctx)
{
	struct vcpu *v = ctx;

	if (v->host_apic_id == HOST_APIC[0x20 / 4] >> 24)
		return;
	while (HOST_APIC[0x300 / 4] & (1U << 12)) /* delivery status: send pending */
		__asm__ volatile("pause");
	HOST_APIC[0x310 / 4] = v->host_apic_id << 24;
	HOST_APIC[0x300 / 4] = HV_KICK_VECTOR; /* fixed, physical, edge */
}

static uint64_t hv_now_ns(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

static void hv_timer_arm(void *ctx, uint64_t deadline_ns)
{
	struct vcpu *v = ctx;

	v->timer_deadline = deadline_ns;
	v->timer_armed = true;
}

static void hv_timer_cancel(void *ctx)
{
	struct vcpu *v = ctx;

	v->timer_armed = false;
}

static void hv_send_ipi(void *ctx, const struct virq_apic_msg *msg)
{
	(void)ctx;
	(void)virq_vm_send_ipi(&vm, msg);
}

static void hv_eoi_level(void *ctx, uint8_t vector)
{
	(void)ctx;
	virq_vm_eoi(&vm, vector);
}

static uint64_t hv_guest_tsc(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

static void hv_dest_changed(void *ctx)
{
	struct vcpu *v = ctx;

	(void)virq_vm_update_vcpu(&vm, v->index);
}

static const struct virq_lapic_ops hv_lapic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = hv_kick,
	.now_ns = hv_now_ns,
	.timer_arm = hv_timer_arm,
	.timer_cancel = hv_timer_cancel,
	.send_ipi = hv_send_ipi,
	.eoi_level = hv_eoi_level,
	.guest_tsc = hv_guest_tsc,
	.dest_changed = hv_dest_changed,
};

static void vm_lock(void *ctx)
{
	(void)ctx;
	while (__atomic_exchange_n(&vm_lock_word, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
}

static void vm_unlock(void *ctx)
{
	(void)ctx;
	__atomic_store_n(&vm_lock_word, 0, __ATOMIC_RELEASE);
}

static void vm_lost(void *ctx, const struct virq_apic_msg *msg)
{
	(void)ctx;
	hv_printf("virq-hv: message lost: vector %x, destination %x\n", msg->vector, msg->dest);
}

/* A level storm: the pin is served again before the next VM entry (the
 * hook runs under the VM lock, where no virq_vm call may be made). */
static void vm_storm(void *ctx, unsigned ioapic_index, unsigned pin)
{
	(void)ctx;
	(void)ioapic_index;
	__atomic_fetch_or(&storm_pins, 1U << pin, __ATOMIC_RELAXED);
}

void hv_service_storms(void)
{
	uint32_t pins = __atomic_exchange_n(&storm_pins, 0, __ATOMIC_RELAXED);

	for (unsigned pin = 0; pins; pin++, pins >>= 1)
		if (pins & 1)
			(void)virq_vm_ioapic_service(&vm, 0, pin);
}

static const struct virq_vm_ops hv_vm_ops = {
	.size = sizeof(struct virq_vm_ops),
	.lock = vm_lock,
	.unlock = vm_unlock,
	.lost = vm_lost,
	.storm = vm_storm,
};

/* VMX glue callbacks: the hv's own VMREAD/VMWRITE/RDMSR, guest registers
 * from the vCPU's save area. */
static uint64_t gl_vmread(void *ctx, uint32_t field)
{
	(void)ctx;
	return vmread(field);
}

static void gl_vmwrite(void *ctx, uint32_t field, uint64_t value)
{
	(void)ctx;
	vmwrite(field, value);
}

static uint64_t gl_rdmsr(void *ctx, uint32_t msr)
{
	(void)ctx;
	return rdmsr(msr);
}

static uint64_t gl_read_gpr(void *ctx, enum virq_vmx_gpr reg)
{
	struct vcpu *v = ctx;

	return reg == VIRQ_VMX_GPR_RAX   ? v->regs.rax
	       : reg == VIRQ_VMX_GPR_RCX ? v->regs.rcx
					 : v->regs.rdx;
}

static void gl_write_gpr(void *ctx, enum virq_vmx_gpr reg, uint64_t value)
{
	struct vcpu *v = ctx;

	if (reg == VIRQ_VMX_GPR_RAX)
		v->regs.rax = value;
	else if (reg == VIRQ_VMX_GPR_RCX)
		v->regs.rcx = value;
	else
		v->regs.rdx = value;
}

static void gl_write_cr2(void *ctx, uint64_t cr2)
{
	(void)ctx;
	__asm__ volatile("mov %0, %%cr2" : : "r"(cr2));
}

static const struct virq_vmx_ops hv_vmx_ops = {
	.size = sizeof(struct virq_vmx_ops),
	.vmread = gl_vmread,
	.vmwrite = gl_vmwrite,
	.rdmsr = gl_rdmsr,
	.read_gpr = gl_read_gpr,
	.write_gpr = gl_write_gpr,
	.write_cr2 = gl_write_cr2,
};

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

/* ---------------------------------------------------------------------- */

int hv_virq_init(unsigned nr)
{
	const struct virq_vm_config vcfg = { .size = sizeof(struct virq_vm_config),
					     .nr_vcpus = nr,
					     .map_entries = 256,
					     .nr_gsis = NR_GSIS };
	const struct virq_ioapic_config iocfg = { .size = sizeof(struct virq_ioapic_config),
						  .version = 0x20,
						  .pins = 24 };
	int err;

	host_timer_init();
	hv_printf("virq-hv: host timer: %s\n",
		  host_tsc_deadline ? "LAPIC TSC-deadline, vector 0x40"
				    : "no TSC-deadline mode: the hv polls the TSC");
	err = virq_vm_init(&vm, &vcfg, lapics, vm_map, vm_map_key, vm_gsis, &hv_vm_ops, NULL);
	if (!err)
		err = virq_vm_attach_ioapic(&vm, &ioapic, &iocfg, 0, 0);
	if (err >= 0)
		err = virq_vm_attach_pic(&vm, &pic, 0);
	if (err) {
		hv_printf("virq-hv: FAIL: libvirq VM setup: %s\n", virq_strerror(err));
		return err;
	}
	hv_printf("virq-hv: libvirq %s: I/O APIC (24 pins) at %lx, 8259 pair, PC GSI routing\n",
		  VIRQ_VERSION_STRING, GUEST_IOAPIC_GPA);
	return 0;
}

int hv_vcpu_init(struct vcpu *v, uint32_t index, uint32_t level)
{
	struct virq_lapic_config lc;
	struct virq_vmx_config xc;
	uint32_t r[4];
	int err;

	cpuid(1, 0, r);
	memset(&lc, 0, sizeof(lc));
	lc.size = sizeof(lc);
	lc.apic_id = index;
	lc.bsp = index == 0;
	lc.x2apic = r[2] & (1U << 21);
	lc.tsc_deadline = host_tsc_deadline;
	lc.directed_eoi = true;
	lc.xapic_id_writable = true;
	lc.tsc_khz = 1000000; /* nanoseconds are TSC ticks */
	v->index = index;
	v->level = level;
	v->host_apic_id = HOST_APIC[0x20 / 4] >> 24;
	err = virq_lapic_init(&v->lapic, v->page, &lc, &hv_lapic_ops, v);
	if (!err)
		err = virq_vm_set_vcpu(&vm, index, &v->lapic);
	if (!err)
		err = virq_vcpu_init(&v->policy, &v->lapic, &vm);
	if (!err && index == 0 && !v->no_virtual_wire)
		err = virtual_wire(&v->lapic);
	if (err) {
		hv_printf("virq-hv: FAIL: LAPIC %u: %s\n", index, virq_strerror(err));
		return err;
	}
	memset(&xc, 0, sizeof(xc));
	xc.size = sizeof(xc);
	xc.level = level;
	xc.virtual_apic_addr = (uint64_t)(uintptr_t)v->page; /* identity mapped */
	xc.apic_access_addr = level >= VIRQ_VMX_LEVEL_TPR_SHADOW ? hv_apic_access_page() : 0;
	xc.msr_bitmap = hv_msr_bitmap(index);
	xc.flags = VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT |
		   VIRQ_VMX_F_UNRESTRICTED_GUEST;
	err = virq_vmx_vcpu_init(&v->vx, &v->policy, &v->lapic, &hv_vmx_ops, v, &xc);
	if (err) {
		hv_printf("virq-hv: FAIL: virq_vmx_vcpu_init: %s (missing controls %x)\n",
			  virq_strerror(err), virq_vmx_missing(&v->vx));
		return err;
	}
	hv_printf("virq-hv: vCPU %u: LAPIC ID %u%s%s, IA32_APIC_BASE %lx, VMX glue level %u\n",
		  index, virq_lapic_get_id(&v->lapic), lc.x2apic ? ", x2APIC" : "",
		  lc.tsc_deadline ? ", TSC deadline" : "", virq_lapic_get_apic_base(&v->lapic),
		  level);
	return 0;
}

bool hv_tsc_deadline(void)
{
	return host_tsc_deadline;
}

/* ---------------------------------------------------------------------- */
/* Devices of the platform that are interrupt controllers or raise
 * interrupts (tests/guests/README.md, "Port and platform contract"). */

bool hv_pio(uint16_t port, bool in, unsigned size, uint32_t *val)
{
	uint8_t b = 0;

	switch (port) {
	case 0x20:
	case 0x21:
	case 0xA0:
	case 0xA1:
	case 0x4D0:
	case 0x4D1:
		if (size != 1)
			return false;
		if (in) {
			(void)virq_vm_pic_read(&vm, port, &b);
			*val = b;
		} else {
			(void)virq_vm_pic_write(&vm, port, (uint8_t)*val);
		}
		return true;
	case 0x2100:
	case 0x2104:
		if (in)
			*val = (uint32_t)(port == 0x2100 ? msi_addr : msi_addr >> 32);
		else if (port == 0x2100)
			msi_addr = (msi_addr & ~0xFFFFFFFFULL) | *val;
		else
			msi_addr = (msi_addr & 0xFFFFFFFFULL) | (uint64_t)*val << 32;
		return true;
	case 0x2108:
		if (in)
			*val = 0;
		else
			(void)virq_vm_send_msi(&vm, msi_addr, *val, 0);
		return true;
	case 0x210C:
		if (in)
			*val = 0x76697271U; /* "virq" */
		return true;
	default:
		break;
	}
	if (port >= 0x2000 && port < 0x2000 + NR_GSIS) {
		/* Test device: a write of each byte sets GSI (port - 0x2000 + i). */
		if (in) {
			*val = 0;
			return true;
		}
		for (unsigned i = 0; i < size && port + i < 0x2000 + NR_GSIS; i++)
			(void)virq_vm_set_irq(&vm, port - 0x2000 + i, 0,
					      (*val >> (8 * i) & 0xFF) ? VIRQ_IRQ_HIGH
								       : VIRQ_IRQ_LOW);
		return true;
	}
	return false;
}

int hv_ioapic_access(uint32_t offset, bool write, unsigned size, uint64_t *val)
{
	return write ? virq_vm_ioapic_write(&vm, 0, offset, size, *val)
		     : virq_vm_ioapic_read(&vm, 0, offset, size, val);
}
