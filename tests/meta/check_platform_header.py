#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The VIRQ_PLATFORM_HEADER contract of doc/freestanding.md is complete.

Usage: check_platform_header.py NM HEADER_DIR SRC_ROOT WORK_DIR -- CC... -- SOURCE...

Compiles every library source (the freestanding build's `virq_sources`)
with -DVIRQ_PLATFORM_HEADER naming HEADER_DIR/min_platform.h, a replacement
written from the doc alone, with the freestanding flags, -nostdinc and
-Werror, once without and once with VIRQ_DEBUG. Then links each set of
objects into one relocatable object (-r) and fails on any undefined symbol
but memset, memcpy and memmove (nm -u).

A failure to compile means the doc's list misses something the library
uses (or min_platform.h misses something the doc lists): fix the doc first,
then the header, from the doc's words.
"""

import concurrent.futures
import os
import subprocess
import sys

ALLOWED = {'memset', 'memcpy', 'memmove'}
FLAGS = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-Wshadow', '-Wstrict-prototypes',
         '-Wmissing-prototypes', '-Wvla', '-Wpointer-arith', '-Wcast-qual',
         '-Wno-missing-field-initializers', '-ffreestanding', '-nostdlib', '-nostdinc',
         '-mno-red-zone', '-mgeneral-regs-only', '-fno-stack-protector', '-fno-pic',
         '-fno-asynchronous-unwind-tables', '-fvisibility=hidden', '-DVIRQ_BUILDING_LIBRARY',
         '-DVIRQ_PLATFORM_HEADER="min_platform.h"']


def main():
    argv = sys.argv[1:]
    try:
        first = argv.index('--')
        second = argv.index('--', first + 1)
    except ValueError:
        print(__doc__, file=sys.stderr)
        return 2
    if first != 4 or second == first + 1 or second == len(argv) - 1:
        print(__doc__, file=sys.stderr)
        return 2
    nm, header_dir, src_root, work = argv[:4]
    cc = argv[first + 1:second]
    sources = argv[second + 1:]
    incs = ['-I' + header_dir, '-I' + os.path.join(src_root, 'include'),
            '-I' + os.path.join(src_root, 'lib')]
    bad = 0
    for name, extra in (('release', []), ('debug', ['-DVIRQ_DEBUG'])):
        outdir = os.path.join(work, name)
        os.makedirs(outdir, exist_ok=True)
        objs = []
        jobs = [(src, os.path.join(outdir, '%02d_%s.o' % (i, os.path.basename(src)[:-2])))
                for i, src in enumerate(sources)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            results = list(pool.map(
                lambda job: subprocess.run(cc + FLAGS + extra + incs + ['-c', job[0], '-o', job[1]],
                                           capture_output=True, text=True, check=False), jobs))
        for (src, obj), res in zip(jobs, results):
            if res.returncode != 0:
                print('FAIL (%s): %s does not compile with min_platform.h' % (name, src))
                sys.stdout.write(res.stderr)
                bad += 1
            else:
                objs.append(obj)
        if bad:
            continue
        whole = os.path.join(outdir, 'virq.o')
        res = subprocess.run(cc + ['-nostdlib', '-r', '-o', whole] + objs,
                             capture_output=True, text=True, check=False)
        if res.returncode != 0:
            print('FAIL (%s): relocatable link' % name)
            sys.stdout.write(res.stderr)
            bad += 1
            continue
        res = subprocess.run([nm, '-u', whole], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            sys.stdout.write(res.stderr)
            return 1
        undef = sorted({line.split()[-1] for line in res.stdout.splitlines() if line.strip()})
        wrong = [s for s in undef if s not in ALLOWED]
        for s in wrong:
            print('FAIL (%s): the library built with min_platform.h needs %s' % (name, s))
        bad += len(wrong)
        print('%s: %d sources compiled, undefined: %s' %
              (name, len(objs), ' '.join(undef) or 'nothing'))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
