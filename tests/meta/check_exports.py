#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shared library exports only virq_ symbols.

Usage: check_exports.py NM LIBVIRQ.so

Lists the dynamic symbols the library defines (nm -D --defined-only) and
fails on any name that does not start with "virq_". Internal helpers must be
static or hidden; the library is built with hidden visibility and marks its
API with VIRQ_API.

Symbols a toolchain adds by itself are not ours and are ignored: the linker's
section markers (_init, _fini, _edata, _end, __bss_start) and, in sanitizer
builds, the instrumentation's own globals (__asan_*, __odr_asan_gen_*, ...).
"""

import subprocess
import sys

TOOLCHAIN = {'_init', '_fini', '_edata', '_end', '__bss_start'}
SANITIZER_PREFIXES = ('__asan', '__odr_asan', '__ubsan', '__tsan', '__msan', '__sancov',
                      '__sanitizer', '__llvm_')


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    nm, lib = sys.argv[1:]
    res = subprocess.run([nm, '-D', '--defined-only', lib], capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        sys.stdout.write(res.stderr)
        return 1
    ours, bad, ignored = [], [], []
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name = parts[-1].split('@')[0]
        if name.startswith('virq_'):
            ours.append(name)
        elif name in TOOLCHAIN or name.startswith(SANITIZER_PREFIXES):
            ignored.append(name)
        else:
            bad.append(line)
    print('%d virq_ symbols exported' % len(ours))
    if ignored:
        print('ignored toolchain symbols: ' + ' '.join(sorted(ignored)))
    if not ours:
        print('FAIL: no virq_ symbol exported at all (is VIRQ_API working?)')
        return 1
    for line in bad:
        print('FAIL: exported symbol without the virq_ prefix: ' + line)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
