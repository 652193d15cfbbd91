/* SPDX-License-Identifier: MIT */
/*
 * The guest's MMIO instructions, fetched and applied: an EPT violation on
 * the LAPIC or I/O APIC page (and an APIC-access exit) names the address
 * but not the data, so the hv reads the instruction at the guest's RIP,
 * decodes it with insn_decode() (insn.c: the MOV forms compilers emit for
 * volatile accesses; anything else is refused and reported, never
 * guessed) and emulates it on the guest's registers.
 *
 * The instruction bytes are fetched through the guest's own translation:
 * 4-level paging when CR0.PG and EFER.LMA are set (4 KiB, 2 MiB and 1 GiB
 * pages; SDM Vol. 3A "4-Level Paging and 5-Level Paging"), none when CR0.PG
 * is clear. 32-bit paging and PAE without long mode are not walked.
 */
#include "hv.h"

#define PTE_P 1ULL
#define PTE_PS 0x80ULL
#define PTE_ADDR 0x000FFFFFFFFFF000ULL

/* Guest linear -> guest physical, or ~0 when not mapped or not walked. */
static uint64_t guest_linear_to_phys(uint64_t la)
{
	uint64_t cr0 = vmread(GUEST_CR0), table, e = 0;
	const uint64_t *t;

	if (!(cr0 & 0x80000000ULL))
		return la & 0xFFFFFFFFULL;
	if (!(vmread(GUEST_IA32_EFER) & 0x400)) /* EFER.LMA */
		return ~0ULL;
	table = vmread(GUEST_CR3) & PTE_ADDR;
	for (int level = 3; level >= 0; level--) {
		unsigned idx = (unsigned)(la >> (12 + 9 * level)) & 511;

		t = guest_ptr(table, 4096);
		if (!t)
			return ~0ULL;
		e = t[idx];
		if (!(e & PTE_P))
			return ~0ULL;
		if (level && level < 3 && (e & PTE_PS)) {
			uint64_t size = 1ULL << (12 + 9 * level);

			return (e & PTE_ADDR & ~(size - 1)) | (la & (size - 1));
		}
		table = e & PTE_ADDR;
	}
	return table | (la & 0xFFF);
}

/* Copies up to n instruction bytes from guest linear address la. */
static unsigned fetch(uint64_t la, uint8_t *buf, unsigned n)
{
	unsigned got = 0;

	while (got < n) {
		uint64_t pa = guest_linear_to_phys(la + got);
		unsigned chunk = 4096 - (unsigned)((la + got) & 0xFFF);
		const uint8_t *p;

		if (chunk > n - got)
			chunk = n - got;
		p = pa == ~0ULL ? NULL : guest_ptr(pa, chunk);
		if (!p)
			break;
		for (unsigned i = 0; i < chunk; i++)
			buf[got + i] = p[i];
		got += chunk;
	}
	return got;
}

int mmio_decode(struct mmio_insn *out)
{
	uint8_t b[INSN_MAX_LEN];
	uint64_t cs_ar = vmread(GUEST_ES_AR + 2);
	bool is64 = cs_ar & (1U << 13); /* CS.L */
	unsigned n;

	/* 16-bit code (real mode, or CS.D clear outside 64-bit mode) has other
	 * default operand and address sizes: not decoded. */
	if (!is64 && !(cs_ar & (1U << 14)))
		return -1;
	n = fetch(vmread(GUEST_ES_BASE + 2) + vmread(GUEST_RIP), b, sizeof(b));
	return insn_decode(b, n, is64, out);
}

/* x86 register number -> its slot (RSP is the VMCS's). */
uint64_t *gpr_ptr(struct guest_regs *r, int reg, uint64_t *rsp)
{
	uint64_t *const slots[16] = {
		&r->rax, &r->rcx, &r->rdx, &r->rbx, rsp,     &r->rbp, &r->rsi, &r->rdi,
		&r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
	};

	return slots[reg & 15];
}

uint64_t mmio_store_value(struct vcpu *v, const struct mmio_insn *in)
{
	uint64_t rsp = vmread(GUEST_RSP);

	return insn_store_value(in->reg < 0 ? 0 : *gpr_ptr(&v->regs, in->reg, &rsp), in);
}

void mmio_load_result(struct vcpu *v, const struct mmio_insn *in, uint64_t val)
{
	uint64_t rsp = vmread(GUEST_RSP);

	insn_load_result(gpr_ptr(&v->regs, in->reg, &rsp), in, val);
	if (in->reg == 4)
		vmwrite(GUEST_RSP, rsp);
}
