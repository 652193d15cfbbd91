/* SPDX-License-Identifier: MIT */
/* util.c: see util.h. */
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

int vmm_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}
