/* SPDX-License-Identifier: MIT */
/*
 * The guest's MMIO instructions, decoded (SDM Vol. 2, 2.1 "Instruction
 * Format", 2.2.1 "REX Prefixes", and the MOV and MOVZX pages). Only what
 * compilers emit for a volatile 8/16/32/64-bit load or store:
 *
 *   88 /r, 89 /r      MOV r/m, r        (store)
 *   8A /r, 8B /r      MOV r, r/m        (load)
 *   C6 /0, C7 /0      MOV r/m, imm      (store)
 *   0F B6, 0F B7      MOVZX r, r/m8/16  (load)
 *   A0, A1 / A2, A3   MOV AL/eAX, moffs / MOV moffs, AL/eAX
 *
 * with the 66 (operand size) and, in 64-bit mode, REX prefixes, and any
 * ModRM/SIB/displacement form (RIP-relative included). Anything else is
 * refused: other prefixes (67 would change the addressing, segment
 * overrides, LOCK, REP), a register operand (mod = 3), C6/C7 with a reg
 * field other than 0, an instruction longer than 15 bytes, truncated bytes.
 * The bytes are the guest's: nothing past n is read.
 */
#include "insn.h"

/* Length of the ModRM operand (ModRM, SIB, displacement) in 32/64-bit
 * addressing (SDM Vol. 2, Tables 2-2 "32-Bit Addressing Forms with the
 * ModR/M Byte" and 2-3 "32-Bit Addressing Forms with the SIB Byte"), or 0
 * if it runs past n. */
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
			len += 4; /* no base: disp32 */
	} else if (mod == 0 && rm == 5) {
		len += 4; /* disp32 (RIP-relative in 64-bit mode) */
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len <= n ? len : 0;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

int insn_decode(const uint8_t *b, unsigned n, bool is64, struct mmio_insn *out)
{
	unsigned i = 0, ml, opsize = 4;
	uint8_t rex = 0, op;

	if (n > INSN_MAX_LEN)
		n = INSN_MAX_LEN;
	out->len = 0;
	out->size = 0;
	out->dest_size = 0;
	out->reg = -1;
	out->write = false;
	out->zero_extend = false;
	out->high_byte = false;
	out->imm = 0;
	for (; i < n && (b[i] == 0x66 || (is64 && (b[i] & 0xF0) == 0x40)); i++) {
		if (b[i] == 0x66) {
			opsize = 2;
			rex = 0; /* a REX prefix counts only right before the opcode */
		} else {
			rex = b[i]; /* of several, the last one */
		}
	}
	if (rex & 8)
		opsize = 8; /* REX.W wins over 66 */
	if (i >= n)
		return -1;
	op = b[i++];
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
		return -1; /* truncated, or a register operand: no memory access */
	out->dest_size = op == 0x0F ? opsize : out->size;
	if (op == 0xC6 || op == 0xC7) {
		unsigned isz = op == 0xC6 ? 1 : (opsize == 2 ? 2 : 4);

		if ((b[i] >> 3 & 7) != 0 || i + ml + isz > n)
			return -1;
		out->write = true;
		for (unsigned k = 0; k < isz; k++)
			out->imm |= (uint64_t)b[i + ml + k] << (8 * k);
		if (isz == 4 && opsize == 8 && (out->imm & 0x80000000ULL))
			out->imm |= 0xFFFFFFFF00000000ULL; /* imm32 sign-extended */
		out->len = i + ml + isz;
		return 0;
	}
	out->reg = (b[i] >> 3 & 7) | (rex & 4 ? 8 : 0);
	/* Without REX, byte registers 4-7 are AH, CH, DH, BH (with one, SPL,
	 * BPL, SIL, DIL). MOVZX's byte is the memory operand, never these. */
	if (out->dest_size == 1 && !rex && out->reg >= 4) {
		out->reg -= 4;
		out->high_byte = true;
	}
	out->write = op == 0x88 || op == 0x89;
	out->len = i + ml;
	return 0;
}

uint64_t insn_store_value(uint64_t reg, const struct mmio_insn *in)
{
	if (in->reg < 0)
		return in->imm & size_mask(in->size);
	if (in->high_byte)
		reg >>= 8;
	return reg & size_mask(in->size);
}

void insn_load_result(uint64_t *reg, const struct mmio_insn *in, uint64_t val)
{
	uint64_t mask;

	val &= size_mask(in->size); /* MOVZX: the bytes read, zero-extended */
	if (in->high_byte) {
		*reg = (*reg & ~0xFF00ULL) | (val & 0xFF) << 8;
	} else if (in->dest_size >= 4) {
		*reg = val; /* a 32-bit destination zero-extends to 64 bits */
	} else {
		mask = size_mask(in->dest_size);
		*reg = (*reg & ~mask) | (val & mask);
	}
}
