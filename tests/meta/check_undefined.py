#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""libvirq needs nothing of an operating system.

Usage: check_undefined.py NM LIBRARY...

Lists the symbols each library (libvirq.a, libvirq.so) leaves undefined
(nm -u) and fails on any that is not one of memset, memcpy and memmove (the
compiler may emit calls to them; the freestanding embedder provides them).
Threads, timers, signals, allocation and I/O belong to the hosted glues
(libvirq-kvm), never to libvirq itself.

Symbols a toolchain adds by itself are not ours and are ignored: weak hooks
of the C runtime (_ITM_*, __cxa_finalize, __gmon_start__) and, in sanitizer
or coverage builds, the instrumentation's runtime (__asan_*, __ubsan_*,
__tsan_*, __sanitizer_*, __llvm_*, ...).
"""

import subprocess
import sys

ALLOWED = {'memset', 'memcpy', 'memmove'}
TOOLCHAIN = {'_ITM_deregisterTMCloneTable', '_ITM_registerTMCloneTable', '__cxa_finalize',
             '__gmon_start__', '_GLOBAL_OFFSET_TABLE_'}
SANITIZER_PREFIXES = ('__asan', '__odr_asan', '__ubsan', '__tsan', '__msan', '__sancov',
                      '__sanitizer', '__llvm_', '__gcov', '__start___sancov', '__stop___sancov')


def symbols(nm_output):
    """The symbol names of nm's output (versions stripped, member headers skipped)."""
    return {line.split()[-1].split('@')[0] for line in nm_output.splitlines()
            if line.strip() and not line.endswith(':')}


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    nm, libs = sys.argv[1], sys.argv[2:]
    bad = 0
    for lib in libs:
        res = subprocess.run([nm, '-u', lib], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            sys.stdout.write(res.stderr)
            return 1
        names = symbols(res.stdout)
        if lib.endswith('.a'):
            # An archive's members call each other: what one defines is
            # not needed from outside.
            defined = subprocess.run([nm, '--defined-only', lib], capture_output=True,
                                     text=True, check=False)
            names -= symbols(defined.stdout)
        names = sorted(names)
        ours = [n for n in names if n in ALLOWED]
        wrong = [n for n in names if n not in ALLOWED and n not in TOOLCHAIN and
                 not n.startswith(SANITIZER_PREFIXES)]
        for n in wrong:
            print('FAIL: %s needs %s' % (lib, n))
        print('%s: undefined %s; %d toolchain symbols ignored' %
              (lib, ' '.join(ours) or 'nothing of ours', len(names) - len(ours) - len(wrong)))
        bad += len(wrong)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
