/* SPDX-License-Identifier: MIT */
/*
 * A replacement VIRQ_PLATFORM_HEADER written from doc/freestanding.md
 * ("Replacing platform.h") alone, for the meta test 'platform_header'.
 *
 * It defines exactly the required list of that section and nothing else,
 * and on purpose not the way include/virq/platform.h does: no system header
 * at all (the types come from the compiler's predefined macros, the test
 * compiles with -nostdinc), no inline assembly, the generic forms of the
 * __atomic builtins. If the library starts to use something the doc does not
 * list, or this header is missing something the doc lists, the test fails.
 */
#ifndef MIN_PLATFORM_H
#define MIN_PLATFORM_H

/* Types and limits. */
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINTPTR_TYPE__ uintptr_t;
#define INT64_MAX __INT64_MAX__
#define UINT64_MAX __UINT64_MAX__
#define NULL ((void *)0)
#define bool _Bool
#define true 1
#define false 0

/* Macros. */
#define VIRQ_API __attribute__((__visibility__("default")))
#ifdef VIRQ_DEBUG
#define VIRQ_ASSERT(cond) ((cond) ? (void)0 : __builtin_trap())
#else
#define VIRQ_ASSERT(cond) ((void)sizeof(cond))
#endif
#define VIRQ_STATIC_ASSERT(cond, msg) _Static_assert((cond), msg)
#define VIRQ_ALIGNED(n) __attribute__((__aligned__(n)))
#define VIRQ_UNLIKELY(x) __builtin_expect((x) != 0, 0)
#define VIRQ_NOINLINE __attribute__((__noinline__))
#define virq_memset __builtin_memset

/* Bit scans (x != 0). */
static __inline__ unsigned virq_fls64(uint64_t x)
{
	return (unsigned)(__builtin_clzll(x) ^ 63);
}

static __inline__ unsigned virq_fls32(uint32_t x)
{
	return (unsigned)(__builtin_clz(x) ^ 31);
}

static __inline__ unsigned virq_ffs64(uint64_t x)
{
	return (unsigned)(__builtin_ffsll((long long)x) - 1);
}

/* Atomics: sequentially consistent unless the name says relaxed. */
static __inline__ uint64_t virq_atomic_load64(const uint64_t *p)
{
	uint64_t v;

	__atomic_load(p, &v, __ATOMIC_SEQ_CST);
	return v;
}

static __inline__ uint64_t virq_atomic_load64_relaxed(const uint64_t *p)
{
	uint64_t v;

	__atomic_load(p, &v, __ATOMIC_RELAXED);
	return v;
}

static __inline__ void virq_atomic_store64(uint64_t *p, uint64_t v)
{
	__atomic_store(p, &v, __ATOMIC_SEQ_CST);
}

static __inline__ uint64_t virq_atomic_fetch_or64(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}

static __inline__ uint64_t virq_atomic_fetch_and64(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
}

static __inline__ uint64_t virq_atomic_xchg64(uint64_t *p, uint64_t v)
{
	uint64_t old;

	__atomic_exchange(p, &v, &old, __ATOMIC_SEQ_CST);
	return old;
}

static __inline__ _Bool virq_atomic_cmpxchg64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
	return __atomic_compare_exchange(p, expected, &desired, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST);
}

static __inline__ _Bool virq_atomic_test_and_set_bit64(uint64_t *p, unsigned bit)
{
	return (__atomic_fetch_or(p, (uint64_t)1 << bit, __ATOMIC_SEQ_CST) >> bit) & 1U;
}

static __inline__ uint32_t virq_atomic_load32(const uint32_t *p)
{
	uint32_t v;

	__atomic_load(p, &v, __ATOMIC_SEQ_CST);
	return v;
}

static __inline__ void virq_atomic_store32(uint32_t *p, uint32_t v)
{
	__atomic_store(p, &v, __ATOMIC_SEQ_CST);
}

static __inline__ uint32_t virq_atomic_fetch_or32(uint32_t *p, uint32_t v)
{
	return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}

static __inline__ uint32_t virq_atomic_fetch_and32(uint32_t *p, uint32_t v)
{
	return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
}

static __inline__ uint32_t virq_atomic_xchg32(uint32_t *p, uint32_t v)
{
	uint32_t old;

	__atomic_exchange(p, &v, &old, __ATOMIC_SEQ_CST);
	return old;
}

#endif /* MIN_PLATFORM_H */
