/* SPDX-License-Identifier: MIT */
/*
 * The guest's MMIO instructions, decoded: an EPT violation on the LAPIC or
 * I/O APIC page (and an APIC-access exit) names the address but not the
 * data, so the hv reads the instruction at the guest's RIP and emulates it.
 * Only what compilers emit for a volatile 8/16/32/64-bit load or store is
 * decoded (SDM Vol. 2, "Instruction Format" and the MOV, MOVZX pages):
 *
 *   88 /r, 89 /r      MOV r/m, r        (store)
 *   8A /r, 8B /r      MOV r, r/m        (load)
 *   C6 /0, C7 /0      MOV r/m, imm      (store)
 *   0F B6, 0F B7      MOVZX r, r/m8/16  (load)
 *   A0, A1 / A2, A3   MOV AL/eAX, moffs / MOV moffs, AL/eAX
 *
 * with the 66 (operand size) and REX prefixes, any ModRM/SIB/displacement
 * form (RIP-relative included). Anything else is refused, and the hv
 * reports it; an access the hv cannot emulate is never guessed.
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

/* Length of the ModRM operand (ModRM, SIB, displacement) in 32/64-bit
 * addressing (SDM Vol. 2, Tables 2-2 and 2-3), or 0 if it runs past n. */
static unsigned modrm_len(const uint8_t *b, unsigned n)
{
	unsigned mod, rm, len = 1;

	if (n < 1)
		return 0;
	mod = b[0] >> 6;
	rm = b[0] & 7;
	if (mod == 3)
		return len;
	if (rm == 4) { /* SIB */
		if (n < 2)
			return 0;
		len++;
		if (mod == 0 && (b[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		len += 4; /* disp32 (RIP-relative in 64-bit mode) */
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len <= n ? len : 0;
}

int mmio_decode(struct mmio_insn *out)
{
	uint8_t b[15];
	unsigned n, i = 0, ml, opsize = 4;
	uint8_t rex = 0, op;
	bool is64 = vmread(GUEST_ES_AR + 2) & (1U << 13); /* CS.L */

	n = fetch(vmread(GUEST_ES_BASE + 2) + vmread(GUEST_RIP), b, sizeof(b));
	for (; i < n && (b[i] == 0x66 || (is64 && (b[i] & 0xF0) == 0x40)); i++) {
		if (b[i] == 0x66) {
			opsize = 2;
			rex = 0; /* a REX prefix counts only right before the opcode */
		} else {
			rex = b[i];
		}
	}
	if (rex & 8)
		opsize = 8;
	if (i >= n)
		return -1;
	op = b[i++];
	out->reg = -1;
	out->write = false;
	out->zero_extend = false;
	out->high_byte = false;
	if (op >= 0xA0 && op <= 0xA3) {
		/* The offset is 8 bytes in 64-bit mode, 4 otherwise (no 67). */
		unsigned alen = is64 ? 8 : 4;

		if (i + alen > n)
			return -1;
		out->size = op & 1 ? opsize : 1;
		out->dest_size = out->size;
		out->reg = 0; /* AL, AX, EAX or RAX */
		out->write = op >= 0xA2;
		out->len = i + alen;
		return 0;
	}
	if (op == 0x0F) {
		if (i >= n || (b[i] != 0xB6 && b[i] != 0xB7))
			return -1;
		out->size = b[i] == 0xB6 ? 1 : 2;
		out->zero_extend = true;
		i++;
	} else if (op == 0x88 || op == 0x8A || op == 0xC6) {
		out->size = 1;
	} else if (op == 0x89 || op == 0x8B || op == 0xC7) {
		out->size = opsize;
	} else {
		return -1;
	}
	ml = modrm_len(b + i, n - i);
	if (!ml || (b[i] >> 6) == 3)
		return -1; /* a register operand is no memory access */
	out->dest_size = op == 0x0F ? opsize : out->size;
	if (op == 0xC6 || op == 0xC7) {
		unsigned isz = op == 0xC6 ? 1 : (opsize == 2 ? 2 : 4);

		if ((b[i] >> 3 & 7) != 0 || i + ml + isz > n)
			return -1;
		out->write = true;
		out->imm = 0;
		for (unsigned k = 0; k < isz; k++)
			out->imm |= (uint64_t)b[i + ml + k] << (8 * k);
		if (isz == 4 && opsize == 8 && (out->imm & 0x80000000ULL))
			out->imm |= 0xFFFFFFFF00000000ULL; /* imm32 sign-extended */
		out->len = i + ml + isz;
		return 0;
	}
	out->reg = (b[i] >> 3 & 7) | (rex & 4 ? 8 : 0);
	/* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
	if (out->size == 1 && out->dest_size == 1 && !rex && out->reg >= 4) {
		out->reg -= 4;
		out->high_byte = true;
	}
	out->write = op == 0x88 || op == 0x89;
	out->len = i + ml;
	return 0;
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
	uint64_t rsp = vmread(GUEST_RSP), val;

	if (in->reg < 0)
		return in->imm;
	val = *gpr_ptr(&v->regs, in->reg, &rsp);
	if (in->high_byte)
		val >>= 8;
	return in->size == 8 ? val : val & ((1ULL << (8 * in->size)) - 1);
}

void mmio_load_result(struct vcpu *v, const struct mmio_insn *in, uint64_t val)
{
	uint64_t rsp = vmread(GUEST_RSP), *slot = gpr_ptr(&v->regs, in->reg, &rsp), mask;

	if (in->size < 8)
		val &= (1ULL << (8 * in->size)) - 1;
	if (in->high_byte) {
		*slot = (*slot & ~0xFF00ULL) | (val & 0xFF) << 8;
	} else if (in->dest_size >= 4) {
		*slot = val; /* a 32-bit destination zero-extends to 64 bits */
	} else {
		mask = (1ULL << (8 * in->dest_size)) - 1;
		*slot = (*slot & ~mask) | (val & mask);
	}
	if (in->reg == 4)
		vmwrite(GUEST_RSP, rsp);
}
