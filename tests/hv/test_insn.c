/* SPDX-License-Identifier: MIT */
/*
 * virq-hv's MMIO instruction decoder (examples/hv/insn.c), compiled hosted:
 * a table of real encodings (bytes from GNU as, objdump -d, in 64-bit and
 * 32-bit mode) with what each must decode to, the forms that must be
 * refused, every truncation of every accepted encoding, and the register
 * arithmetic of loads and stores.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virq_test.h"

#include "insn.h"

#define NO_REG (-1)

struct enc {
	const char *text; /* the AT&T syntax as fed to as */
	bool is64;
	uint8_t b[16];
	unsigned n;
	unsigned size, dest_size;
	int reg;
	bool write, zero_extend, high_byte;
	uint64_t imm;
};

#define B(...) { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ })

static const struct enc good[] = {
	/* 64-bit mode */
	{ "movl %eax,(%rdi)", true, B(0x89, 0x07), 4, 4, 0, true, false, false, 0 },
	{ "movl (%rdi),%eax", true, B(0x8b, 0x07), 4, 4, 0, false, false, false, 0 },
	{ "movb %al,(%rdi)", true, B(0x88, 0x07), 1, 1, 0, true, false, false, 0 },
	{ "movb (%rdi),%al", true, B(0x8a, 0x07), 1, 1, 0, false, false, false, 0 },
	{ "movb (%rdi),%ah", true, B(0x8a, 0x27), 1, 1, 0, false, false, true, 0 },
	{ "movb %bh,0x10(%rbx)", true, B(0x88, 0x7b, 0x10), 1, 1, 3, true, false, true, 0 },
	{ "movb %sil,(%rax)", true, B(0x40, 0x88, 0x30), 1, 1, 6, true, false, false, 0 },
	{ "movb (%rax),%dil", true, B(0x40, 0x8a, 0x38), 1, 1, 7, false, false, false, 0 },
	{ "movw %ax,(%rdi)", true, B(0x66, 0x89, 0x07), 2, 2, 0, true, false, false, 0 },
	{ "movw (%rdi),%r9w", true, B(0x66, 0x44, 0x8b, 0x0f), 2, 2, 9, false, false, false, 0 },
	{ "movq %rax,(%rdi)", true, B(0x48, 0x89, 0x07), 8, 8, 0, true, false, false, 0 },
	{ "movq (%rdi),%r15", true, B(0x4c, 0x8b, 0x3f), 8, 8, 15, false, false, false, 0 },
	{ "movl 0xb0,%ecx (SIB, no base)", true, B(0x8b, 0x0c, 0x25, 0xb0, 0x00, 0x00, 0x00), 4, 4,
	  1, false, false, false, 0 },
	{ "movl %edx,0x12345678(%rip)", true, B(0x89, 0x15, 0x78, 0x56, 0x34, 0x12), 4, 4, 2, true,
	  false, false, 0 },
	{ "movl (%rax,%rbx,4),%esi", true, B(0x8b, 0x34, 0x98), 4, 4, 6, false, false, false, 0 },
	{ "movl 0x10(%rsp),%eax", true, B(0x8b, 0x44, 0x24, 0x10), 4, 4, 0, false, false, false,
	  0 },
	{ "movl 0x100(%rbp),%eax", true, B(0x8b, 0x85, 0x00, 0x01, 0x00, 0x00), 4, 4, 0, false,
	  false, false, 0 },
	{ "movl 0x0(,%rcx,8),%eax", true, B(0x8b, 0x04, 0xcd, 0x00, 0x00, 0x00, 0x00), 4, 4, 0,
	  false, false, false, 0 },
	{ "movl 0x20(%r13),%eax", true, B(0x41, 0x8b, 0x45, 0x20), 4, 4, 0, false, false, false,
	  0 },
	{ "movl (%r12),%r8d", true, B(0x45, 0x8b, 0x04, 0x24), 4, 4, 8, false, false, false, 0 },
	{ "movl $0x12345678,(%rdi)", true, B(0xc7, 0x07, 0x78, 0x56, 0x34, 0x12), 4, 4, NO_REG,
	  true, false, false, 0x12345678 },
	{ "movq $-1,(%rdi)", true, B(0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff), 8, 8, NO_REG, true,
	  false, false, ~0ULL },
	{ "movq $0x7fffffff,8(%rdi)", true, B(0x48, 0xc7, 0x47, 0x08, 0xff, 0xff, 0xff, 0x7f), 8, 8,
	  NO_REG, true, false, false, 0x7fffffff },
	{ "movq $-0x80000000,(%rdi)", true, B(0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80), 8, 8,
	  NO_REG, true, false, false, 0xffffffff80000000ULL },
	{ "movl $0x80000000,(%rdi) (no sign extension)", true,
	  B(0xc7, 0x07, 0x00, 0x00, 0x00, 0x80), 4, 4, NO_REG, true, false, false, 0x80000000ULL },
	{ "movw $0xbeef,(%rdi)", true, B(0x66, 0xc7, 0x07, 0xef, 0xbe), 2, 2, NO_REG, true, false,
	  false, 0xbeef },
	{ "movb $0x5a,(%rdi)", true, B(0xc6, 0x07, 0x5a), 1, 1, NO_REG, true, false, false, 0x5a },
	{ "movb $0x80,(%rdi) with REX.W", true, B(0x48, 0xc6, 0x07, 0x80), 1, 1, NO_REG, true,
	  false, false, 0x80 },
	{ "movzbl (%rdi),%eax", true, B(0x0f, 0xb6, 0x07), 1, 4, 0, false, true, false, 0 },
	{ "movzwl (%rdi),%eax", true, B(0x0f, 0xb7, 0x07), 2, 4, 0, false, true, false, 0 },
	{ "movzbq (%rdi),%r10", true, B(0x4c, 0x0f, 0xb6, 0x17), 1, 8, 10, false, true, false, 0 },
	{ "movzbw (%rdi),%ax", true, B(0x66, 0x0f, 0xb6, 0x07), 1, 2, 0, false, true, false, 0 },
	{ "movzbl (%rdi),%esp (reg 4, not AH)", true, B(0x0f, 0xb6, 0x27), 1, 4, 4, false, true,
	  false, 0 },
	{ "movzwq 0x40(%rsi),%rdx", true, B(0x48, 0x0f, 0xb7, 0x56, 0x40), 2, 8, 2, false, true,
	  false, 0 },
	{ "movabs 0xfee00020,%eax", true, B(0xa1, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), 4, 4, 0,
	  false, false, false, 0 },
	{ "movabs 0xfee00020,%al", true, B(0xa0, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), 1, 1, 0,
	  false, false, false, 0 },
	{ "movabs %rax,0xfec00010", true, B(0x48, 0xa3, 0x10, 0x00, 0xc0, 0xfe, 0, 0, 0, 0), 8, 8,
	  0, true, false, false, 0 },
	{ "movabs 0xfee00020,%ax", true, B(0x66, 0xa1, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), 2, 2, 0,
	  false, false, false, 0 },
	{ "movabs %al,0xfec00000", true, B(0xa2, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0), 1, 1, 0, true,
	  false, false, 0 },
	/* Prefix order (SDM Vol. 2, 2.2.1 "REX Prefixes"): REX.W wins over 66; a REX
	 * followed by 66 is not right before the opcode and is ignored; of
	 * two REX prefixes, the last counts. */
	{ "66 REX.W 89 07: movq %rax,(%rdi)", true, B(0x66, 0x48, 0x89, 0x07), 8, 8, 0, true, false,
	  false, 0 },
	{ "REX.W 66 89 07: movw %ax,(%rdi)", true, B(0x48, 0x66, 0x89, 0x07), 2, 2, 0, true, false,
	  false, 0 },
	{ "REX.R 66 8a 27: movb (%rdi),%ah", true, B(0x44, 0x66, 0x8a, 0x27), 1, 1, 0, false, false,
	  true, 0 },
	{ "REX.R REX.W 8b 07: movq (%rdi),%rax", true, B(0x44, 0x48, 0x8b, 0x07), 8, 8, 0, false,
	  false, false, 0 },
	{ "66 REX.W c7: imm32 sign-extended", true,
	  B(0x66, 0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff), 8, 8, NO_REG, true, false, false,
	  0xfffffffffffffffeULL },
	{ "13 x 66, 89 07: 15 bytes", true,
	  B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x89,
	    0x07),
	  2, 2, 0, true, false, false, 0 },
	/* 32-bit mode */
	{ "movl %eax,(%edi)", false, B(0x89, 0x07), 4, 4, 0, true, false, false, 0 },
	{ "movl 0xfee000b0,%ecx", false, B(0x8b, 0x0d, 0xb0, 0x00, 0xe0, 0xfe), 4, 4, 1, false,
	  false, false, 0 },
	{ "movb (%ebx),%ah", false, B(0x8a, 0x23), 1, 1, 0, false, false, true, 0 },
	{ "movw %ax,4(%esi)", false, B(0x66, 0x89, 0x46, 0x04), 2, 2, 0, true, false, false, 0 },
	{ "movl $0x80000001,(%edi)", false, B(0xc7, 0x07, 0x01, 0x00, 0x00, 0x80), 4, 4, NO_REG,
	  true, false, false, 0x80000001 },
	{ "movw $0x1234,(%edi)", false, B(0x66, 0xc7, 0x07, 0x34, 0x12), 2, 2, NO_REG, true, false,
	  false, 0x1234 },
	{ "movzbl (%edi),%eax", false, B(0x0f, 0xb6, 0x07), 1, 4, 0, false, true, false, 0 },
	{ "movzwl 8(%esp),%ecx", false, B(0x0f, 0xb7, 0x4c, 0x24, 0x08), 2, 4, 1, false, true,
	  false, 0 },
	{ "movl 0xfee00020,%eax", false, B(0xa1, 0x20, 0x00, 0xe0, 0xfe), 4, 4, 0, false, false,
	  false, 0 },
	{ "movl %eax,0xfec00010", false, B(0xa3, 0x10, 0x00, 0xc0, 0xfe), 4, 4, 0, true, false,
	  false, 0 },
	{ "movb 0xfee00000,%al", false, B(0xa0, 0x00, 0x00, 0xe0, 0xfe), 1, 1, 0, false, false,
	  false, 0 },
	{ "movl (%eax,%ebx,2),%edx", false, B(0x8b, 0x14, 0x58), 4, 4, 2, false, false, false, 0 },
	{ "movl 0x0(,%ebx,4),%edx", false, B(0x8b, 0x14, 0x9d, 0x00, 0x00, 0x00, 0x00), 4, 4, 2,
	  false, false, false, 0 },
};

/* An encoding that must be refused. */
struct raw {
	const char *text;
	bool is64;
	uint8_t b[16];
	unsigned n;
};

static const struct raw bad[] = {
	/* register operands (mod = 3) */
	{ "movl %eax,%ebx", true, B(0x89, 0xc3) },
	{ "movl %eax,%eax", false, B(0x8b, 0xc0) },
	{ "movb %al,%ah", true, B(0x88, 0xc4) },
	{ "movl $1,%eax (c7 /0 register)", true, B(0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00) },
	{ "movzbl %al,%eax", true, B(0x0f, 0xb6, 0xc0) },
	/* C6/C7 with reg != 0 */
	{ "c7 /1", true, B(0xc7, 0x4f, 0x08, 0x01, 0x00, 0x00, 0x00) },
	{ "c6 /7", true, B(0xc6, 0x38, 0x01) },
	{ "xbegin (c7 f8)", true, B(0xc7, 0xf8, 0x00, 0x00, 0x00, 0x00) },
	/* other opcodes */
	{ "addl %eax,(%rdi)", true, B(0x01, 0x07) },
	{ "movsbl (%rdi),%eax", true, B(0x0f, 0xbe, 0x07) },
	{ "0f alone", true, B(0x0f) },
	{ "0f 0b (ud2)", true, B(0x0f, 0x0b) },
	{ "movl (%esi),%es", true, B(0x8e, 0x06) },
	{ "movsl", true, B(0xa5) },
	{ "xchg %eax,(%rdi)", true, B(0x87, 0x07) },
	/* other prefixes */
	{ "lock movl", true, B(0xf0, 0x89, 0x07) },
	{ "addr32 movl %eax,(%edi)", true, B(0x67, 0x89, 0x07) },
	{ "movl %fs:(%rdi),%eax", true, B(0x64, 0x8b, 0x07) },
	{ "rep movl", true, B(0xf3, 0x89, 0x07) },
	{ "66 REX 0f 66 b6: prefix between 0f and b6", true, B(0x0f, 0x66, 0xb6, 0x07) },
	{ "REX between 0f and b6", true, B(0x0f, 0x48, 0xb6, 0x07) },
	/* 40-4f are INC/DEC outside 64-bit mode */
	{ "48 89 07 in 32-bit mode", false, B(0x48, 0x89, 0x07) },
	{ "40 8a 38 in 32-bit mode", false, B(0x40, 0x8a, 0x38) },
	/* 16 bytes: longer than an instruction may be */
	{ "14 x 66, 89 07", true,
	  B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	    0x89, 0x07) },
	{ "REX prefixes only", true, B(0x48, 0x48, 0x48) },
	{ "nothing", true, { 0 }, 0 },
};

static void check_good(const struct enc *e, const uint8_t *b, unsigned n)
{
	struct mmio_insn in;

	if (insn_decode(b, n, e->is64, &in) != 0)
		fail_msg("%s (%s, %u bytes given): refused", e->text, e->is64 ? "64" : "32", n);
	assert_int_equal(in.len, e->n);
	assert_int_equal(in.size, e->size);
	assert_int_equal(in.dest_size, e->dest_size);
	assert_int_equal(in.reg, e->reg);
	assert_int_equal(in.write, e->write);
	assert_int_equal(in.zero_extend, e->zero_extend);
	assert_int_equal(in.high_byte, e->high_byte);
	assert_int_equal(in.imm, e->imm);
}

static void test_encodings(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct enc *e = &good[i];
		uint8_t buf[32];

		check_good(e, e->b, e->n);
		/* Trailing bytes change nothing. */
		memset(buf, 0xcc, sizeof(buf));
		memcpy(buf, e->b, e->n);
		check_good(e, buf, sizeof(buf));
		memset(buf + e->n, 0x00, sizeof(buf) - e->n);
		check_good(e, buf, sizeof(buf));
	}
}

/* Every proper prefix of an accepted encoding is refused, whatever the
 * bytes past it hold: they are never read (an exact-size heap copy, so
 * ASan builds catch a read past n). */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct enc *e = &good[i];

		for (unsigned n = 0; n < e->n; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			struct mmio_insn in;

			assert_non_null(copy);
			memcpy(copy, e->b, n);
			if (insn_decode(copy, n, e->is64, &in) != -1)
				fail_msg("%s: accepted truncated to %u bytes", e->text, n);
			free(copy);
		}
	}
}

static void test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct raw *e = &bad[i];
		uint8_t buf[32];
		struct mmio_insn in;

		if (insn_decode(e->b, e->n, e->is64, &in) != -1)
			fail_msg("%s: accepted", e->text);
		memset(buf, 0x00, sizeof(buf));
		memcpy(buf, e->b, e->n);
		if (insn_decode(buf, sizeof(buf), e->is64, &in) != -1)
			fail_msg("%s: accepted with trailing bytes", e->text);
	}
}

static struct mmio_insn decode(bool is64, const uint8_t *b, unsigned n)
{
	struct mmio_insn in;

	assert_int_equal(insn_decode(b, n, is64, &in), 0);
	return in;
}

#define DECODE(is64, ...)                                                                          \
	decode(is64, (const uint8_t[]){ __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }))

static void test_load_result(void **state)
{
	const uint64_t old = 0x1122334455667788ULL;
	struct mmio_insn in;
	uint64_t r;

	(void)state;
	/* movl (%rdi),%eax: a 32-bit destination zero-extends */
	in = DECODE(true, 0x8b, 0x07);
	r = old;
	insn_load_result(&r, &in, 0xFFFFFFFFAABBCCDDULL);
	assert_int_equal(r, 0xAABBCCDDULL);
	/* movq (%rdi),%r15 */
	in = DECODE(true, 0x4c, 0x8b, 0x3f);
	r = old;
	insn_load_result(&r, &in, 0x8877665544332211ULL);
	assert_int_equal(r, 0x8877665544332211ULL);
	/* movw (%rdi),%r9w: the upper 48 bits stay */
	in = DECODE(true, 0x66, 0x44, 0x8b, 0x0f);
	r = old;
	insn_load_result(&r, &in, 0xFFFFABCDULL);
	assert_int_equal(r, 0x112233445566ABCDULL);
	/* movb (%rdi),%al: the upper 56 bits stay */
	in = DECODE(true, 0x8a, 0x07);
	r = old;
	insn_load_result(&r, &in, 0x1EE);
	assert_int_equal(r, 0x11223344556677EEULL);
	/* movb (%rdi),%ah: bits 15:8 only */
	in = DECODE(true, 0x8a, 0x27);
	r = old;
	insn_load_result(&r, &in, 0xFFEE);
	assert_int_equal(r, 0x112233445566EE88ULL);
	/* movzbl (%rdi),%eax: one byte, zero-extended to 64 */
	in = DECODE(true, 0x0f, 0xb6, 0x07);
	r = old;
	insn_load_result(&r, &in, 0xFFFFFF80ULL);
	assert_int_equal(r, 0x80ULL);
	/* movzbw (%rdi),%ax: one byte into 16 bits, the rest stays */
	in = DECODE(true, 0x66, 0x0f, 0xb6, 0x07);
	r = old;
	insn_load_result(&r, &in, 0xFFFFFF80ULL);
	assert_int_equal(r, 0x1122334455660080ULL);
	/* movzwq 0x40(%rsi),%rdx */
	in = DECODE(true, 0x48, 0x0f, 0xb7, 0x56, 0x40);
	r = old;
	insn_load_result(&r, &in, 0xFFFF8001ULL);
	assert_int_equal(r, 0x8001ULL);
	/* movabs 0xfee00020,%ax (66 a1) */
	in = DECODE(true, 0x66, 0xa1, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0);
	r = old;
	insn_load_result(&r, &in, 0x12345678);
	assert_int_equal(r, 0x1122334455665678ULL);
	/* 32-bit mode: movl 0xfee00020,%eax */
	in = DECODE(false, 0xa1, 0x20, 0x00, 0xe0, 0xfe);
	r = old;
	insn_load_result(&r, &in, 0xDEADBEEF);
	assert_int_equal(r, 0xDEADBEEFULL);
}

static void test_store_value(void **state)
{
	const uint64_t src = 0x1122334455667788ULL;
	struct mmio_insn in;

	(void)state;
	in = DECODE(true, 0x89, 0x07); /* movl %eax,(%rdi) */
	assert_int_equal(insn_store_value(src, &in), 0x55667788ULL);
	in = DECODE(true, 0x48, 0x89, 0x07); /* movq %rax,(%rdi) */
	assert_int_equal(insn_store_value(src, &in), src);
	in = DECODE(true, 0x66, 0x89, 0x07); /* movw %ax,(%rdi) */
	assert_int_equal(insn_store_value(src, &in), 0x7788ULL);
	in = DECODE(true, 0x88, 0x07); /* movb %al,(%rdi) */
	assert_int_equal(insn_store_value(src, &in), 0x88ULL);
	in = DECODE(true, 0x88, 0x7b, 0x10); /* movb %bh,0x10(%rbx) */
	assert_int_equal(insn_store_value(src, &in), 0x77ULL);
	in = DECODE(true, 0x40, 0x88, 0x30); /* movb %sil,(%rax) */
	assert_int_equal(in.reg, 6);
	assert_int_equal(insn_store_value(src, &in), 0x88ULL);
	/* immediates: the register is ignored */
	in = DECODE(true, 0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80);
	assert_int_equal(insn_store_value(src, &in), 0xFFFFFFFF80000000ULL);
	in = DECODE(true, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80);
	assert_int_equal(insn_store_value(src, &in), 0x80000000ULL);
	in = DECODE(true, 0x66, 0xc7, 0x07, 0xef, 0xbe);
	assert_int_equal(insn_store_value(src, &in), 0xBEEFULL);
	in = DECODE(false, 0xc6, 0x07, 0x5a);
	assert_int_equal(insn_store_value(src, &in), 0x5AULL);
	/* movabs %rax,0xfec00010 */
	in = DECODE(true, 0x48, 0xa3, 0x10, 0x00, 0xc0, 0xfe, 0, 0, 0, 0);
	assert_int_equal(insn_store_value(src, &in), src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encodings),   cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_refused),     cmocka_unit_test(test_load_result),
		cmocka_unit_test(test_store_value),
	};

	return virq_run_group_tests(tests);
}
