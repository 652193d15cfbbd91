/* SPDX-License-Identifier: MIT */
/*
 * The fault-once page: a test port that takes one 4 KiB guest page out of
 * EPT until the next EPT violation on it, so that a guest can make an
 * event's delivery exit halfway (its IST stack on that page) and check that
 * the event is delivered again (tests/guests/exceptions.c).
 *
 *   OUT 0x2110 (32-bit)  guest-physical address (its 4 KiB page) to unmap;
 *                        outside guest RAM: ignored
 *   IN  0x2110 (32-bit)  fault-once EPT violations seen with valid
 *                        IDT-vectoring information (SDM Vol. 3C
 *                        "Information for VM Exits During Event Delivery")
 *   IN  0x2114 (32-bit)  the last one's IDT-vectoring information field
 *
 * Arming splits the 2 MiB EPT page that maps the address into 512 4 KiB
 * pages with its attributes (SDM Vol. 3C "EPT Translation Mechanism":
 * a PDE with bit 7 clear references an EPT page table) and clears the
 * page's read/write/execute bits, then invalidates the EPT-derived
 * mappings with INVEPT ("Invalidation of TLBs and Paging-Structure
 * Caches", "INVEPT--Invalidate Translations Derived from EPT"). The
 * violation puts the 2 MiB PDE back, invalidates again and resumes the
 * guest where it was: the VMX glue has already handed the interrupted
 * event to the vCPU policy (virq_vmx_handle_exit runs before the exit
 * reason is looked at), which injects it at the next VM entry.
 */
#include "hv.h"

#define PORT_FAULT_ONCE 0x2110
#define PORT_FAULT_LAST 0x2114

#define IDT_VECTORING_INFO 0x4408 /* VMCS: IDT-vectoring information field */
#define IDT_VECTORING_VALID (1U << 31)

#define EPT_RWX 7ULL
#define EPT_LARGE (1ULL << 7)
#define EPT_ADDR_2M 0x000FFFFFFFE00000ULL
#define EPT_LEAF_ATTR 0x7FULL /* R W X, memory type 5:3, ignore PAT 6 */

/* IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D Appendix A.10 "VPID and EPT
 * Capabilities"): INVEPT (bit 20), single-context (25), all-context (26). */
#define MSR_VMX_EPT_VPID_CAP 0x48CU
#define CAP_INVEPT (1ULL << 20)
#define CAP_INVEPT_SINGLE (1ULL << 25)
#define CAP_INVEPT_ALL (1ULL << 26)

static uint64_t fault_pt[512] __attribute__((aligned(4096)));
static uint64_t armed_gpa = ~0ULL; /* the unmapped page, ~0 when none */
static uint64_t saved_pde;
static uint32_t seen_count, seen_last;

/* INVEPT all-context (type 2), else single-context (type 1) for the
 * current EPTP; the descriptor is 16 bytes: EPTP, then reserved 0. */
static bool invept(void)
{
	uint64_t cap = rdmsr(MSR_VMX_EPT_VPID_CAP), type;
	struct {
		uint64_t eptp, reserved;
	} desc = { vmread(EPT_POINTER), 0 };
	bool bad;

	if (!(cap & CAP_INVEPT))
		return false;
	if (cap & CAP_INVEPT_ALL)
		type = 2;
	else if (cap & CAP_INVEPT_SINGLE)
		type = 1;
	else
		return false;
	__asm__ volatile("invept %1, %2; setna %0"
			 : "=qm"(bad)
			 : "m"(desc), "r"(type)
			 : "cc", "memory");
	if (bad)
		hv_printf("virq-hv: INVEPT type %lu failed\n", type);
	return !bad;
}

static void disarm(void)
{
	if (armed_gpa == ~0ULL)
		return;
	ept_guest_pd()[armed_gpa >> 21] = saved_pde;
	armed_gpa = ~0ULL;
	(void)invept();
}

static void arm(uint64_t gpa)
{
	uint64_t page = gpa & ~0xFFFULL, idx = gpa >> 21, pde;

	disarm();
	if (gpa >= GUEST_RAM_SIZE) {
		hv_printf("virq-hv: fault-once: %lx is outside guest RAM, ignored\n", gpa);
		return;
	}
	pde = ept_guest_pd()[idx];
	if (!(pde & EPT_LARGE) || !(pde & EPT_RWX)) {
		hv_printf("virq-hv: fault-once: EPT PDE %lx for %lx is not a 2 MiB page\n", pde,
			  gpa);
		return;
	}
	for (uint64_t i = 0; i < 512; i++)
		fault_pt[i] = ((pde & EPT_ADDR_2M) + (i << 12)) | (pde & EPT_LEAF_ATTR);
	fault_pt[(page >> 12) & 511] &= ~EPT_RWX;
	saved_pde = pde;
	armed_gpa = page;
	ept_guest_pd()[idx] = (uint64_t)(uintptr_t)fault_pt | EPT_RWX; /* host: identity map */
	if (!invept()) {
		hv_printf("virq-hv: fault-once: no usable INVEPT, page not unmapped\n");
		disarm();
	}
}

bool fault_port(struct vcpu *v, unsigned port, bool in, unsigned size, uint32_t *val)
{
	(void)v;
	if ((port != PORT_FAULT_ONCE && port != PORT_FAULT_LAST) || size != 4)
		return false;
	if (in)
		*val = port == PORT_FAULT_ONCE ? seen_count : seen_last;
	else if (port == PORT_FAULT_ONCE)
		arm(*val);
	return true;
}

bool fault_ept_hit(struct vcpu *v, uint64_t gpa)
{
	uint32_t idt;

	(void)v;
	if (armed_gpa == ~0ULL || (gpa & ~0xFFFULL) != armed_gpa)
		return false;
	disarm();
	idt = (uint32_t)vmread(IDT_VECTORING_INFO);
	if (idt & IDT_VECTORING_VALID) {
		seen_count++;
		seen_last = idt;
	}
	return true;
}
