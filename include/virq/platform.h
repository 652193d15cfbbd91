/* SPDX-License-Identifier: MIT */
/**
 * @file platform.h
 * @brief The one header through which libvirq reaches its environment.
 *
 * Everything the library takes from its surroundings lives here: the
 * freestanding integer types, assertions, alignment, atomics (compiler
 * `__atomic` builtins), bit scans and the mem* builtins. No other libvirq
 * file includes a C library header.
 *
 * A kernel that wants its own definitions compiles the library with
 * `-DVIRQ_PLATFORM_HEADER="my_env.h"`; that header must then provide the
 * list of doc/freestanding.md ("Replacing platform.h"), which is everything
 * below but VIRQ_LIKELY, virq_memcpy and virq_popcount64 (the easiest way
 * is to copy this file and change what differs). The meta test
 * platform_header builds the library with a header written from that list.
 */
#ifndef VIRQ_PLATFORM_H
#define VIRQ_PLATFORM_H

#ifdef VIRQ_PLATFORM_HEADER
#include VIRQ_PLATFORM_HEADER
#else

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @def VIRQ_API
 * @brief Marks a symbol exported from the shared library.
 *
 * The library is built with hidden visibility; only symbols carrying this
 * mark are visible to the embedder.
 */
#if defined(VIRQ_BUILDING_LIBRARY) && defined(__GNUC__)
#define VIRQ_API __attribute__((visibility("default")))
#else
#define VIRQ_API
#endif

/**
 * @def VIRQ_ASSERT
 * @brief Checks an internal invariant of the library.
 *
 * Active when `VIRQ_DEBUG` is defined (debug and fuzz builds); it traps.
 * It is never used on a value a guest or an embedder can choose: those get
 * an architectural answer or an error code.
 */
#ifdef VIRQ_DEBUG
#define VIRQ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)
#else
#define VIRQ_ASSERT(cond) ((void)sizeof(cond))
#endif

/** @brief Compile-time assertion (C11 `_Static_assert`, also valid in C++11). */
#ifdef __cplusplus
#define VIRQ_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define VIRQ_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/** @brief Aligns a type or object to @p n bytes. */
#define VIRQ_ALIGNED(n) __attribute__((aligned(n)))

/** @brief Branch hint: @p x is expected to be true. */
#define VIRQ_LIKELY(x) __builtin_expect(!!(x), 1)
/** @brief Keeps a function out of line (cold or rarely taken paths). */
#define VIRQ_NOINLINE __attribute__((noinline))

/** @brief Branch hint: @p x is expected to be false. */
#define VIRQ_UNLIKELY(x) __builtin_expect(!!(x), 0)

/** @brief memset as a compiler builtin (a kernel always provides memset). */
#define virq_memset(d, c, n) __builtin_memset((d), (c), (n))
/** @brief memcpy as a compiler builtin (a kernel always provides memcpy). */
#define virq_memcpy(d, s, n) __builtin_memcpy((d), (s), (n))

/**
 * @brief Index of the most significant set bit of a non-zero 64-bit word.
 * @param x The word; must not be 0 (the result is undefined for 0).
 * @return The bit index, 0 (bit 0 only) to 63.
 * @pre @p x != 0.
 */
static inline unsigned virq_fls64(uint64_t x)
{
	return 63U ^ (unsigned)__builtin_clzll(x); /* = 63 - clz: one BSR */
}

/**
 * @brief Index of the most significant set bit of a non-zero 32-bit word.
 * @param x The word; must not be 0 (the result is undefined for 0).
 * @return The bit index, 0 to 31.
 * @pre @p x != 0.
 */
static inline unsigned virq_fls32(uint32_t x)
{
	return 31U ^ (unsigned)__builtin_clz(x); /* = 31 - clz: one BSR */
}

/**
 * @brief Index of the least significant set bit of a non-zero 64-bit word.
 * @param x The word; must not be 0 (the result is undefined for 0).
 * @return The bit index, 0 to 63.
 * @pre @p x != 0.
 */
static inline unsigned virq_ffs64(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);
}

/**
 * @brief Number of set bits in a 64-bit word.
 * @param x Any value, 0 included.
 * @return 0 to 64.
 */
static inline unsigned virq_popcount64(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

/**
 * @brief Sequentially consistent 64-bit load.
 * @param p The word, naturally (8-byte) aligned; not NULL.
 * @return Its value.
 */
static inline uint64_t virq_atomic_load64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

/**
 * @brief Relaxed 64-bit load (a plain, untorn read).
 * @param p The word, naturally (8-byte) aligned; not NULL.
 * @return Its value; no ordering with other memory accesses.
 */
static inline uint64_t virq_atomic_load64_relaxed(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/**
 * @brief Sequentially consistent 64-bit store.
 * @param p The word, naturally (8-byte) aligned; not NULL.
 * @param v The value stored.
 */
static inline void virq_atomic_store64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

/**
 * @brief Atomic OR, returns the old value (a LOCK OR / LOCK BTS on x86).
 * @param p The word, naturally (8-byte) aligned; not NULL.
 * @param v The bits to set.
 * @return *p before the OR.
 */
static inline uint64_t virq_atomic_fetch_or64(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}

/**
 * @brief Atomic AND, returns the old value.
 * @param p The word, naturally (8-byte) aligned; not NULL.
 * @param v The mask: bits clear in @p v are cleared in *p.
 * @return *p before the AND.
 */
static inline uint64_t virq_atomic_fetch_and64(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
}

/**
 * @brief Atomic exchange, returns the old value (XCHG on x86).
 * @param p The word, naturally (8-byte) aligned; not NULL.
 * @param v The value stored.
 * @return *p before the exchange.
 */
static inline uint64_t virq_atomic_xchg64(uint64_t *p, uint64_t v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

/**
 * @brief Atomic compare-and-exchange.
 * @param p        The word, naturally (8-byte) aligned; not NULL.
 * @param expected In: the value *p must hold; out, on failure: the value it
 *                 held. Not NULL.
 * @param desired  The value stored on success.
 * @return true when *p held *expected and now holds @p desired; otherwise
 *         *expected receives the current value.
 */
static inline bool virq_atomic_cmpxchg64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
	return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

/** @cond INTERNAL */
#if defined(__SANITIZE_THREAD__)
#define VIRQ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VIRQ_TSAN 1
#endif
#endif
/** @endcond */

/**
 * @brief Atomically sets bit @p bit (0-63) of *p; returns its old value.
 *
 * @param p   The word, naturally (8-byte) aligned; not NULL.
 * @param bit Bit index, 0 to 63 (a larger index is undefined: LOCK BTS
 *            would address memory past the word).
 * @return The bit's value before the call (true: it was already set).
 *
 * One `LOCK BTS` on x86-64 with every compiler (some compilers turn the
 * generic fetch-or into a compare-exchange loop); the generic builtin
 * elsewhere and under ThreadSanitizer, which must see the access.
 */
static inline bool virq_atomic_test_and_set_bit64(uint64_t *p, unsigned bit)
{
#if defined(__x86_64__) && !defined(VIRQ_TSAN)
	bool old;

	__asm__ volatile("lock btsq %2, %0"
			 : "+m"(*p), "=@ccc"(old)
			 : "r"((uint64_t)bit)
			 : "memory");
	return old;
#else
	uint64_t m = 1ULL << (bit & 63U);

	return (__atomic_fetch_or(p, m, __ATOMIC_SEQ_CST) & m) != 0;
#endif
}

/**
 * @brief Sequentially consistent 32-bit load.
 * @param p The word, naturally (4-byte) aligned; not NULL.
 * @return Its value.
 */
static inline uint32_t virq_atomic_load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

/**
 * @brief Sequentially consistent 32-bit store.
 * @param p The word, naturally (4-byte) aligned; not NULL.
 * @param v The value stored.
 */
static inline void virq_atomic_store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

/**
 * @brief Atomic 32-bit OR, returns the old value.
 * @param p The word, naturally (4-byte) aligned; not NULL.
 * @param v The bits to set.
 * @return *p before the OR.
 */
static inline uint32_t virq_atomic_fetch_or32(uint32_t *p, uint32_t v)
{
	return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}

/**
 * @brief Atomic 32-bit AND, returns the old value.
 * @param p The word, naturally (4-byte) aligned; not NULL.
 * @param v The mask: bits clear in @p v are cleared in *p.
 * @return *p before the AND.
 */
static inline uint32_t virq_atomic_fetch_and32(uint32_t *p, uint32_t v)
{
	return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
}

/**
 * @brief Atomic 32-bit exchange, returns the old value.
 * @param p The word, naturally (4-byte) aligned; not NULL.
 * @param v The value stored.
 * @return *p before the exchange.
 */
static inline uint32_t virq_atomic_xchg32(uint32_t *p, uint32_t v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

#endif /* VIRQ_PLATFORM_HEADER */
#endif /* VIRQ_PLATFORM_H */
