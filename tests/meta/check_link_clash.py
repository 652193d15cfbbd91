#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The namespace test's control: its kernel clashes with the archive as compiled.

Usage: check_link_clash.py SOURCE ARCHIVE OUTDIR INCDIR -- CC...

test_namespace.c defines functions named like the library's internal ones
("int NAME(int x);" prototypes) and links against libvirq.a. This links the
same file against ARCHIVE (libvirq-internal.a, where those functions are
still global) and passes only if that link fails with a duplicate-symbol
error for exactly those names (GNU ld "multiple definition of", lld
"duplicate symbol"). So the names are real internal symbols of the library,
and the namespace test passing means libvirq.a hid them.
"""

import os
import re
import subprocess
import sys


def main():
    if '--' not in sys.argv or sys.argv.index('--') != 5:
        print(__doc__, file=sys.stderr)
        return 2
    source, archive, outdir, incdir = sys.argv[1:5]
    cc = sys.argv[6:]
    want = set(re.findall(r'^int (\w+)\(int x\);', open(source, encoding='utf-8').read(), re.M))
    if len(want) < 5:
        print('FAIL: %s declares %d kernel functions, expected at least 5' % (source, len(want)))
        return 1
    os.makedirs(outdir, exist_ok=True)
    obj = os.path.join(outdir, 'clash.o')
    res = subprocess.run(cc + ['-std=c11', '-I', incdir, '-c', source, '-o', obj],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print('FAIL: compiling %s:\n%s' % (source, res.stderr))
        return 1
    res = subprocess.run(cc + [obj, archive, '-o', os.path.join(outdir, 'clash')],
                         capture_output=True, text=True, check=False)
    out = res.stdout + res.stderr
    got = set(re.findall(r"multiple definition of [`'](\w+)'", out))
    got |= set(re.findall(r'duplicate symbol: (\w+)', out))
    if res.returncode == 0:
        print('FAIL: the kernel linked against %s: no clash to control' % archive)
        return 1
    print('link against %s fails; duplicate symbols: %s' % (archive, ' '.join(sorted(got))))
    if got != want:
        print('FAIL: expected duplicates %s' % ' '.join(sorted(want)))
        print(out[:3000])
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
