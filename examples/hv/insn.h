/* SPDX-License-Identifier: MIT */
/*
 * The MMIO instruction decoder of virq-hv, without VMX: bytes in, a
 * struct mmio_insn out, and the register arithmetic of a decoded load or
 * store. Needs only <stdint.h> and <stdbool.h>, so the unit tests
 * (tests/hv) and the fuzz target (fuzz/hv_decode) compile insn.c hosted.
 */
#ifndef VIRQ_HV_INSN_H
#define VIRQ_HV_INSN_H

#include <stdbool.h>
#include <stdint.h>

/* The longest x86 instruction (SDM Vol. 2, 2.3.11 "AVX Instruction Length"
 * and 2.1 "Instruction Format": a longer one raises #GP). */
#define INSN_MAX_LEN 15

/* One decoded MMIO instruction. */
struct mmio_insn {
	unsigned len;       /* instruction length */
	unsigned size;      /* bytes accessed: 1, 2, 4 or 8 */
	unsigned dest_size; /* a load's destination register width (>= size) */
	int reg;            /* x86 register number, -1 for an immediate store */
	bool write;
	bool zero_extend; /* MOVZX */
	bool high_byte;   /* AH, CH, DH or BH */
	uint64_t imm;     /* an immediate store's value (sign-extended), else 0 */
};

/*
 * Decodes the instruction at b[0..n) (at most INSN_MAX_LEN bytes are
 * looked at) in 64-bit mode (is64) or 32-bit protected mode (default
 * operand and address size 32; 16-bit code is not decoded). Returns 0 and
 * fills *out, or -1 when the bytes are not one of the supported MOV forms
 * with a memory operand, or are truncated (*out is then unspecified).
 */
int insn_decode(const uint8_t *b, unsigned n, bool is64, struct mmio_insn *out);

/* The value a decoded store writes, given its source register's contents
 * (ignored for an immediate store): the low size bytes, or AH..BH. */
uint64_t insn_store_value(uint64_t reg, const struct mmio_insn *in);

/* A decoded load's effect on its destination register *reg, val being the
 * bytes read: a 32- or 64-bit destination is replaced (zero-extended), an
 * 8- or 16-bit one keeps the register's other bits, AH..BH bits 15:8. */
void insn_load_result(uint64_t *reg, const struct mmio_insn *in, uint64_t val);

#endif
