/* SPDX-License-Identifier: MIT */
/*
 * virq_strerror(): one fixed string per enum virq_err code, the same for the
 * code and its negation (functions return codes negated), and
 * "not a libvirq error code" for every value outside the enum: a raw
 * -errno, a private code, INT_MIN and INT_MAX included.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <virq/error.h>

static const struct {
	int code;
	const char *text;
} known[] = {
	{ VIRQ_OK, "success" },
	{ VIRQ_EINVAL, "invalid argument" },
	{ VIRQ_EALIGN, "misaligned object or page" },
	{ VIRQ_ENOTSUP, "unsupported configuration" },
	{ VIRQ_ENOENT, "access not handled by this object" },
	{ VIRQ_EVERSION, "saved state or table of unknown version or size" },
	{ VIRQ_ESTATE, "damaged or inconsistent saved state" },
	{ VIRQ_ESTATEMODE, "call not valid in the current mode" },
	{ VIRQ_EHOST, "host system call failed (see errno)" },
};

#define N_KNOWN (sizeof(known) / sizeof(known[0]))

/* What virq_strerror() says for an int that is no code of the enum. */
#define NOT_OURS "not a libvirq error code"

/* The table above covers the whole enum: a new code must be added here. */
static void test_table_covers_enum(void **state)
{
	(void)state;
	assert_int_equal(N_KNOWN, VIRQ_ERR_COUNT);
	for (unsigned i = 0; i < N_KNOWN; i++)
		assert_int_equal(known[i].code, (int)i);
}

static void test_every_code_positive(void **state)
{
	(void)state;
	for (unsigned i = 0; i < N_KNOWN; i++) {
		const char *s = virq_strerror(known[i].code);

		assert_non_null(s);
		assert_string_equal(s, known[i].text);
	}
}

static void test_every_code_negated(void **state)
{
	(void)state;
	for (unsigned i = 0; i < N_KNOWN; i++) {
		const char *s = virq_strerror(-known[i].code);

		assert_non_null(s);
		assert_string_equal(s, known[i].text);
		/* Same static string, not a copy. */
		assert_ptr_equal(s, virq_strerror(known[i].code));
	}
}

/* Every code has its own text, none of them the fallback. */
static void test_codes_distinct(void **state)
{
	(void)state;
	for (unsigned i = 0; i < N_KNOWN; i++) {
		assert_string_not_equal(virq_strerror(known[i].code), NOT_OURS);
		assert_true(strlen(virq_strerror(known[i].code)) > 0);
		for (unsigned j = i + 1; j < N_KNOWN; j++)
			assert_string_not_equal(virq_strerror(known[i].code),
						virq_strerror(known[j].code));
	}
}

static void test_out_of_range(void **state)
{
	static const int bad[] = {
		VIRQ_ERR_COUNT,
		-VIRQ_ERR_COUNT,
		VIRQ_ERR_COUNT + 1,
		-(VIRQ_ERR_COUNT + 1),
		100,
		-100,
		0x7FFF,
		-0x8000,
		0x10000 + VIRQ_EINVAL,
		-(0x10000 + VIRQ_EINVAL),
		INT_MAX,
		INT_MAX - 1,
		INT_MIN,
		INT_MIN + 1,
		/* Raw -errno values (Linux EBADF, ENOMEM, EFAULT, EBUSY,
		 * EEXIST, EINVAL, ENOSYS, EOPNOTSUPP) are named as not ours.
		 * (Smaller ones, EPERM to EIO, would alias a code: why no call
		 * returns a raw -errno; the glues return -VIRQ_EHOST.) */
		-9,
		-12,
		-14,
		-16,
		-17,
		-22,
		-38,
		-95,
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *s = virq_strerror(bad[i]);

		assert_non_null(s);
		assert_string_equal(s, NOT_OURS);
	}
	/* A sweep around the enum: exactly the codes 0..COUNT-1 are known. */
	for (int e = -1000; e <= 1000; e++) {
		int mag = e < 0 ? -e : e;
		const char *s = virq_strerror(e);

		if (mag < VIRQ_ERR_COUNT)
			assert_string_equal(s, known[mag].text);
		else
			assert_string_equal(s, NOT_OURS);
	}
}

/* Every int of the form 2^k - 1, 2^k, 2^k + 1 and its negation, up to the
 * ends of int: the magnitude is computed without signed overflow, and no
 * large value wraps into the table. */
static void test_extremes(void **state)
{
	(void)state;
	for (unsigned k = 0; k < 31; k++) {
		int p = (int)(1U << k);
		int vals[] = { p - 1, p, p + 1, -(p - 1), -p, -(p + 1) };

		for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			int v = vals[i];
			unsigned mag = v < 0 ? 0U - (unsigned)v : (unsigned)v;

			if (mag < N_KNOWN)
				assert_string_equal(virq_strerror(v), known[mag].text);
			else
				assert_string_equal(virq_strerror(v), NOT_OURS);
		}
	}
	assert_string_equal(virq_strerror(INT_MIN), NOT_OURS);
	assert_string_equal(virq_strerror(INT_MAX), NOT_OURS);
	assert_string_equal(virq_strerror(-INT_MAX), NOT_OURS);
	/* The fallback is one static string, and no code's text. */
	assert_ptr_equal(virq_strerror(INT_MIN), virq_strerror(VIRQ_ERR_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_covers_enum),
		cmocka_unit_test(test_every_code_positive),
		cmocka_unit_test(test_every_code_negated),
		cmocka_unit_test(test_codes_distinct),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_extremes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
