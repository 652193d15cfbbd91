/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target (fuzz-hv_decode): virq-hv's MMIO instruction decoder
 * (examples/hv/insn.c), whose input is the guest's instruction bytes.
 *
 * Input: byte 0 bit 0 picks 64-bit mode (else 32-bit), byte 0 bits 7:1
 * and byte 1 are a register value for the load/store arithmetic (seeded
 * into a 64-bit pattern); the rest are the instruction bytes, handed to
 * insn_decode() as an exact-size heap copy, so ASan sees any read past n.
 *
 * Invariants (a failed check prints the line and traps):
 *  - on success len <= n and len <= 15, size is 1, 2, 4 or 8, dest_size is
 *    one of those and >= size, reg is -1..15 (-1 only for a store, with an
 *    immediate that fits size bytes, sign-extended when size is 8), a
 *    load never carries an immediate, high_byte only with a byte register
 *    0..3, and a destination wider than the access only with zero_extend
 *    (MOVZX) on a load;
 *  - decoding is deterministic, and the same bytes followed by more bytes
 *    decode the same (an accepted instruction with its own length; a
 *    refusal of 15 bytes or more stays a refusal);
 *  - the first len bytes alone decode the same;
 *  - insn_store_value() fits in size bytes; insn_load_result() changes
 *    only the destination's bits (bits 15:8 for AH..BH, the low 8/16
 *    bits of an 8/16-bit destination, all 64 for 32/64 bits, the upper
 *    32 then 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz-hv_decode: %s:%d: %s\n", __FILE__, __LINE__, #c);    \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

static bool same(const struct mmio_insn *a, const struct mmio_insn *b)
{
	return a->len == b->len && a->size == b->size && a->dest_size == b->dest_size &&
	       a->reg == b->reg && a->write == b->write && a->zero_extend == b->zero_extend &&
	       a->high_byte == b->high_byte && a->imm == b->imm;
}

static bool valid_size(unsigned s)
{
	return s == 1 || s == 2 || s == 4 || s == 8;
}

static uint64_t mask_of(unsigned s)
{
	return s >= 8 ? ~0ULL : (1ULL << (8 * s)) - 1;
}

static void check_insn(const struct mmio_insn *in, unsigned n)
{
	CHECK(in->len >= 1 && in->len <= n && in->len <= INSN_MAX_LEN);
	CHECK(valid_size(in->size) && valid_size(in->dest_size));
	CHECK(in->dest_size >= in->size);
	CHECK(in->reg >= -1 && in->reg <= 15);
	if (in->reg < 0) {
		CHECK(in->write);
		CHECK(!in->zero_extend && !in->high_byte);
		if (in->size == 8)
			CHECK((in->imm >> 31) == 0 || (in->imm >> 31) == 0x1FFFFFFFFULL);
		else
			CHECK((in->imm & ~mask_of(in->size)) == 0);
	} else {
		CHECK(in->imm == 0);
	}
	if (!in->write)
		CHECK(in->imm == 0);
	if (in->write)
		CHECK(in->dest_size == in->size && !in->zero_extend);
	if (in->high_byte)
		CHECK(in->size == 1 && in->dest_size == 1 && in->reg >= 0 && in->reg <= 3);
	if (in->dest_size > in->size)
		CHECK(in->zero_extend);
}

static void check_apply(const struct mmio_insn *in, uint64_t reg, uint64_t val)
{
	uint64_t v = insn_store_value(reg, in), r = reg, changed;

	CHECK((v & ~mask_of(in->size)) == 0);
	if (in->reg < 0)
		CHECK(v == (in->imm & mask_of(in->size)));
	if (in->write)
		return;
	insn_load_result(&r, in, val);
	changed = r ^ reg;
	if (in->high_byte) {
		CHECK((changed & ~0xFF00ULL) == 0);
		CHECK(((r >> 8) & 0xFF) == (val & 0xFF));
	} else if (in->dest_size >= 4) {
		CHECK(r == (val & mask_of(in->size)));
	} else {
		CHECK((changed & ~mask_of(in->dest_size)) == 0);
		CHECK((r & mask_of(in->dest_size)) == (val & mask_of(in->size)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmio_insn a, b;
	uint8_t *copy, *longer;
	unsigned n;
	bool is64;
	uint64_t reg;
	int ra, rb;

	if (size < 2 || size > 64)
		return 0;
	is64 = data[0] & 1;
	reg = 0x0101010101010101ULL * (uint64_t)(data[0] | 1) ^ ((uint64_t)data[1] << 29);
	data += 2;
	n = (unsigned)(size - 2);

	copy = malloc(n ? n : 1);
	longer = malloc(n + 16);
	CHECK(copy && longer);
	memcpy(copy, data, n);

	ra = insn_decode(copy, n, is64, &a);
	CHECK(ra == 0 || ra == -1);
	rb = insn_decode(copy, n, is64, &b);
	CHECK(ra == rb);
	if (ra == 0) {
		CHECK(same(&a, &b));
		check_insn(&a, n);
		check_apply(&a, reg, ~reg);
		check_apply(&a, ~reg, reg);
	}

	/* The same bytes with more after them (0xFF, then 0x00). */
	for (int fill = 0; fill < 2; fill++) {
		memcpy(longer, data, n);
		memset(longer + n, fill ? 0x00 : 0xFF, 16);
		rb = insn_decode(longer, n + 16, is64, &b);
		if (ra == 0)
			CHECK(rb == 0 && same(&a, &b));
		else if (n >= INSN_MAX_LEN)
			CHECK(rb == -1);
	}

	/* Exactly its own bytes. */
	if (ra == 0) {
		uint8_t *own = malloc(a.len);

		CHECK(own);
		memcpy(own, data, a.len);
		CHECK(insn_decode(own, a.len, is64, &b) == 0 && same(&a, &b));
		free(own);
	}

	free(longer);
	free(copy);
	return 0;
}
