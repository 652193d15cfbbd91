/* SPDX-License-Identifier: MIT */
#include <virq/error.h>

static const char *const err_names[VIRQ_ERR_COUNT] = {
	[VIRQ_OK] = "success",
	[VIRQ_EINVAL] = "invalid argument",
	[VIRQ_EALIGN] = "misaligned object or page",
	[VIRQ_ENOTSUP] = "unsupported configuration",
	[VIRQ_ENOENT] = "access not handled by this object",
	[VIRQ_EVERSION] = "saved state or table of unknown version or size",
	[VIRQ_ESTATE] = "damaged or inconsistent saved state",
	[VIRQ_ESTATEMODE] = "call not valid in the current mode",
	[VIRQ_EHOST] = "host system call failed (see errno)",
};

VIRQ_API const char *virq_strerror(int err)
{
	/* The magnitude, computed unsigned: -INT_MIN does not overflow. */
	unsigned e = err < 0 ? 0U - (unsigned)err : (unsigned)err;

	if (e >= VIRQ_ERR_COUNT)
		return "not a libvirq error code";
	return err_names[e];
}
