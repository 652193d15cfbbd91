/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: the failed-check trap and the input cursor
 * (little-endian reads; an exhausted input reads zeros, so every input
 * decodes to some operation stream).
 */
#ifndef VIRQ_FUZZ_COMMON_H
#define VIRQ_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failed(const char *file, const char *what, int line) __attribute__((noreturn));

static void check_failed(const char *file, const char *what, int line)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	fflush(stderr);
	__builtin_trap();
}

/* The file name without its directory, as the messages always printed. */
#define FUZZ_FILE                                                                                  \
	(__builtin_strrchr(__FILE__, '/') ? __builtin_strrchr(__FILE__, '/') + 1 : __FILE__)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			check_failed(FUZZ_FILE, #cond, __LINE__);                                  \
	} while (0)

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t in_u8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t in_u16(struct input *in)
{
	uint16_t lo = in_u8(in);

	return (uint16_t)(lo | (uint16_t)in_u8(in) << 8);
}

static inline uint32_t in_u32(struct input *in)
{
	uint32_t lo = in_u16(in);

	return lo | (uint32_t)in_u16(in) << 16;
}

static inline uint64_t in_u64(struct input *in)
{
	uint64_t lo = in_u32(in);

	return lo | (uint64_t)in_u32(in) << 32;
}

#endif /* VIRQ_FUZZ_COMMON_H */
