/* SPDX-License-Identifier: MIT */
/**
 * @file version.h
 * @brief libvirq version: compile-time macros and the runtime query.
 *
 * A plain header (not generated), so every build has it: meson, the
 * freestanding recipes of doc/freestanding.md, a kernel's own rules. The
 * meta test `version_header` checks it against meson's project version.
 * Compare the library an embedder runs with the one it was built for:
 * @code
 * #if !VIRQ_VERSION_AT_LEAST(0, 1, 0)
 * #error "libvirq 0.1.0 or later needed"
 * #endif
 * if (virq_version() / 10000 != VIRQ_VERSION_MAJOR) refuse();
 * @endcode
 * doc/abi.md says what a version number promises.
 */
#ifndef VIRQ_VERSION_H
#define VIRQ_VERSION_H

#include <virq/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Major version: incompatible API or ABI changes. */
#define VIRQ_VERSION_MAJOR 0
/** @brief Minor version: compatible additions. */
#define VIRQ_VERSION_MINOR 1
/** @brief Patch version: fixes. */
#define VIRQ_VERSION_PATCH 0
/** @brief The version as a string. */
#define VIRQ_VERSION_STRING "0.1.0"
/** @brief The version as one number: major * 10000 + minor * 100 + patch. */
#define VIRQ_VERSION_NUMBER                                                                        \
	(VIRQ_VERSION_MAJOR * 10000 + VIRQ_VERSION_MINOR * 100 + VIRQ_VERSION_PATCH)
/** @brief True when the headers are version @p maj.@p min.@p pat or later. */
#define VIRQ_VERSION_AT_LEAST(maj, min, pat)                                                       \
	(VIRQ_VERSION_NUMBER >= (maj)*10000 + (min)*100 + (pat))

/**
 * @brief Whether a caller-filled table's `size` field is one this library
 *        accepts: at least the table's first published size, at most the
 *        size this library was built with.
 *
 * Every ops table and configuration structure an init call takes starts
 * with `uint32_t size`, which the caller sets to `sizeof` the structure it
 * was compiled with (doc/abi.md, "Growing ops and config structures"). A
 * size outside this range (0 included) is refused with -::VIRQ_EVERSION.
 * @param size   The table's `size` field.
 * @param first  The table's first published size (its `VIRQ_*_SIZE_MIN`).
 * @param type   The table's type, e.g. `struct virq_lapic_ops`.
 */
#define VIRQ_SIZE_ACCEPTED(size, first, type) ((size) >= (first) && (size) <= sizeof(type))

/**
 * @brief Whether @p field of the caller's table @p p is within the `size`
 *        the caller set, i.e. was known to the headers it was built with.
 *
 * A field past `size` is absent and reads as zero (an optional hook: NULL;
 * a setting: its default). A field within @p first is present in every
 * table an init call accepted, and the test folds to a compile-time true:
 * reading such a field costs nothing more than before.
 * @param type   The table's type, e.g. `struct virq_lapic_ops`.
 * @param p      The caller's table (already accepted by its init call).
 * @param field  The field.
 * @param first  The table's first published size (its `VIRQ_*_SIZE_MIN`).
 */
#define VIRQ_FIELD_PRESENT(type, p, field, first)                                                  \
	(__builtin_offsetof(type, field) + sizeof(((type *)0)->field) <= (first) ||                \
	 (p)->size >= __builtin_offsetof(type, field) + sizeof(((type *)0)->field))

/**
 * @brief Copies the caller's table @p src into @p dst (the library's own
 *        copy, of the library's type): `src->size` bytes, the rest zero.
 *
 * For configurations an object keeps a copy of: the fields an older caller
 * did not know read as zero, their default. Use after VIRQ_SIZE_ACCEPTED().
 * @param dst  The library's copy (a pointer to the full structure).
 * @param src  The caller's table.
 */
#define VIRQ_SIZED_COPY(dst, src)                                                                  \
	do {                                                                                       \
		virq_memset((dst), 0, sizeof(*(dst)));                                             \
		__builtin_memcpy((dst), (src), (src)->size);                                       \
	} while (0)

/**
 * @brief The version of the library linked in, as ::VIRQ_VERSION_NUMBER
 *        (which gives the headers' version).
 * @return major * 10000 + minor * 100 + patch.
 * @note Any thread.
 */
VIRQ_API uint32_t virq_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VIRQ_VERSION_H */
