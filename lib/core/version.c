/* SPDX-License-Identifier: MIT */
/* The runtime version query (version.h). */
#include <virq/version.h>

VIRQ_API uint32_t virq_version(void)
{
	return VIRQ_VERSION_NUMBER;
}
