#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Each public header compiles on its own.

Usage: check_headers.py MODE SRCDIR BUILDDIR -- COMPILER...

MODE is one of
  c11           -std=c11 -Wall -Wextra -Werror -pedantic
  freestanding  the same plus -ffreestanding -nostdlib, and -nostdinc with
                only the compiler's own include directory, so a header that
                reaches for a C library header fails here
  cxx           -std=c++11 -Wall -Wextra -Werror -pedantic (COMPILER is C++)

Every header under SRCDIR/include/virq (and any generated one under
BUILDDIR/include/virq) gets a translation unit that includes it twice (the
include guard must hold) and nothing else. New headers are picked up
without touching meson.build. Hosted-only headers (kvm.h: Linux KVM) are
left out of the freestanding mode.
"""

import os
import subprocess
import sys
import tempfile

WARN = ['-Wall', '-Wextra', '-Werror', '-pedantic']
HOSTED_ONLY = {'virq/kvm.h'}


def headers(srcdir, builddir):
    found = []
    for base in (os.path.join(srcdir, 'include'), os.path.join(builddir, 'include')):
        top = os.path.join(base, 'virq')
        if not os.path.isdir(top):
            continue
        for root, _, names in os.walk(top):
            for n in sorted(names):
                if n.endswith('.h'):
                    rel = os.path.relpath(os.path.join(root, n), base)
                    if rel not in found:
                        found.append(rel)
    return sorted(found)


def compiler_include_dir(cc):
    out = subprocess.run(cc + ['-print-file-name=include'], capture_output=True,
                         text=True, check=False)
    path = out.stdout.strip()
    return path if out.returncode == 0 and os.path.isdir(path) else None


def main():
    if len(sys.argv) < 6 or sys.argv[4] != '--':
        print(__doc__, file=sys.stderr)
        return 2
    mode, srcdir, builddir = sys.argv[1:4]
    cc = sys.argv[5:]
    incs = ['-I' + os.path.join(srcdir, 'include'), '-I' + os.path.join(builddir, 'include')]

    if mode == 'c11':
        lang, flags = 'c', ['-std=c11'] + WARN
    elif mode == 'freestanding':
        lang, flags = 'c', ['-std=c11', '-ffreestanding', '-nostdlib'] + WARN
        own = compiler_include_dir(cc)
        if own is None:
            print('cannot find the compiler include directory', file=sys.stderr)
            return 1
        flags += ['-nostdinc', '-isystem', own]
    elif mode == 'cxx':
        lang, flags = 'c++', ['-std=c++11'] + WARN
    else:
        print('unknown mode ' + mode, file=sys.stderr)
        return 2

    hdrs = headers(srcdir, builddir)
    if mode == 'freestanding':
        hdrs = [h for h in hdrs if h not in HOSTED_ONLY]
    if not hdrs:
        print('no public headers found', file=sys.stderr)
        return 1

    failed = 0
    with tempfile.TemporaryDirectory(prefix='virq-hdr-') as tmp:
        for h in hdrs:
            tu = os.path.join(tmp, 'tu.' + ('cc' if lang == 'c++' else 'c'))
            with open(tu, 'w') as f:
                f.write('#include <%s>\n#include <%s>\n' % (h, h))
                f.write('int virq_meta_dummy;\n')
            cmd = cc + ['-x', lang] + flags + incs + ['-c', tu, '-o', os.path.join(tmp, 'tu.o')]
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if res.returncode == 0:
                print('ok    %-24s %s' % (h, mode))
            else:
                failed += 1
                print('FAIL  %-24s %s' % (h, mode))
                print('      ' + ' '.join(cmd))
                sys.stdout.write(res.stdout + res.stderr)
    print('%d of %d headers failed (%s)' % (failed, len(hdrs), mode))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
