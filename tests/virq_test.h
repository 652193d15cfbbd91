/* SPDX-License-Identifier: MIT */
/*
 * Skips that meson sees, for the cmocka tests.
 *
 * cmocka 1.1.5 returns only the number of failed tests from
 * cmocka_run_group_tests(), so a binary whose cases all called skip()
 * exits 0 and meson reports it as passed. A skip is not a pass: a test
 * that cannot run says why and the binary exits 77, meson's SKIP.
 *
 *	virq_skip("no /dev/kvm (%s)", strerror(errno));
 *		in a test case: prints "SKIP: <test>: <reason>" on stdout,
 *		counts the skip, then leaves the case through cmocka's skip().
 *	return virq_run_group_tests(tests);
 *		in main(): runs the group and returns the number of failed
 *		cases (at most 76), else 77 if any case skipped, else 0.
 *	return virq_run_group_tests_name("name", tests);
 *		the same with a group name.
 *
 * Include it after <cmocka.h>. Calling cmocka's skip() directly from a
 * file that includes it does not compile: such a skip would not count.
 */
#ifndef VIRQ_TEST_H
#define VIRQ_TEST_H

#include <stdarg.h>
#include <stdio.h>

#ifndef cmocka_run_group_tests
#error "include <cmocka.h> before virq_test.h"
#endif

/* Exit status meson reads as SKIP. */
#define VIRQ_TEST_EXIT_SKIP 77

static unsigned virq_test_skipped;

static inline void __attribute__((format(printf, 2, 3)))
virq_test_note_skip(const char *test, const char *fmt, ...)
{
	va_list ap;

	virq_test_skipped++;
	printf("SKIP: %s: ", test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Records the skip of the calling test case with a printf-style reason
 * and ends the case as skipped. */
#define virq_skip(...)                                                                             \
	do {                                                                                       \
		virq_test_note_skip(__func__, __VA_ARGS__);                                        \
		_skip(__FILE__, __LINE__);                                                         \
	} while (0)

#undef skip
#define skip()                                                                                     \
	do {                                                                                       \
		_Static_assert(0, "cmocka's skip() does not reach meson: use virq_skip()");        \
	} while (0)

/* The exit status of a test binary from cmocka's failure count. */
static inline int virq_test_result(int failed)
{
	if (failed > 0) {
		/* 77 would read as a skip, 99 as a harness error. */
		return failed < VIRQ_TEST_EXIT_SKIP ? failed : VIRQ_TEST_EXIT_SKIP - 1;
	}
	if (failed < 0)
		return 1;
	if (virq_test_skipped) {
		printf("virq_test: %u test(s) skipped, none failed: exit %d (SKIP)\n",
		       virq_test_skipped, VIRQ_TEST_EXIT_SKIP);
		fflush(stdout);
		return VIRQ_TEST_EXIT_SKIP;
	}
	return 0;
}

#define virq_run_group_tests(group)                                                                \
	virq_test_result(_cmocka_run_group_tests(#group, group,                                    \
						 sizeof(group) / sizeof((group)[0]), NULL, NULL))

#define virq_run_group_tests_name(name, group)                                                     \
	virq_test_result(_cmocka_run_group_tests(name, group, sizeof(group) / sizeof((group)[0]),  \
						 NULL, NULL))

#endif /* VIRQ_TEST_H */
