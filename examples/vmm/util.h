/* SPDX-License-Identifier: MIT */
/*
 * util.h: the small helpers virq-vmm's loaders and table builders share:
 * error messages for the user, little-endian stores, table checksums.
 */
#ifndef VIRQ_VMM_UTIL_H
#define VIRQ_VMM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Formats a message into err (errlen bytes, may be 0) and returns -1. */
int vmm_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Little-endian stores at p (x86: a copy of the value's bytes). */
static inline void vmm_put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void vmm_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void vmm_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* The byte that makes p[0..len) sum to zero (MP and ACPI tables). */
static inline uint8_t vmm_checksum8(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

#endif /* VIRQ_VMM_UTIL_H */
