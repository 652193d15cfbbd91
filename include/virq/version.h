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
