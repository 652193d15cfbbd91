#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""No library source reaches for a hosted header.

Usage: check_lib_includes.py SRCDIR

Rules (doc/architecture.md "Hosted and freestanding"; doc/style.md "The
environment lives in platform.h"):
  - a file under lib/ includes only <virq/...> public headers and "..."
    headers that exist in lib/ (next to the file, or relative to lib/);
  - among the public headers, only include/virq/platform.h includes a
    system header, and only <stdint.h>, <stddef.h>, <stdbool.h> or
    <stdatomic.h>; every other public header includes <virq/...> only.

Hosted-only parts (doc/architecture.md: they sit in their own folders and
are not built in the freestanding configuration) are exempt: lib/kvm-glue/ and its
header include/virq/kvm.h talk to Linux.

check_layers.py (meson test 'layers') is the other half: it resolves the
in-tree includes as this script does ("..." next to the file, then relative
to include/ and lib/) and checks which part may include which (layers.txt);
the system headers it leaves alone are judged here.
"""

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
PLATFORM_ALLOWED = {'stdint.h', 'stddef.h', 'stdbool.h', 'stdatomic.h'}
HOSTED_ONLY_DIRS = ('kvm-glue',)
HOSTED_ONLY_HEADERS = ('kvm.h',)


def sources(top, exts):
    for root, _, names in os.walk(top):
        for n in sorted(names):
            if n.endswith(exts):
                yield os.path.join(root, n)


def includes(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        for no, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield no, m.group(1), m.group(2)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src = sys.argv[1]
    lib = os.path.join(src, 'lib')
    pub = os.path.join(src, 'include')
    bad = []
    checked = 0

    for path in sources(lib, ('.c', '.h')):
        rel = os.path.relpath(path, src)
        if os.path.relpath(path, lib).split(os.sep)[0] in HOSTED_ONLY_DIRS:
            continue
        checked += 1
        for no, kind, name in includes(path):
            if kind == '<':
                if not name.startswith('virq/'):
                    bad.append('%s:%d: hosted header <%s>' % (rel, no, name))
                elif not os.path.isfile(os.path.join(pub, name)) and name != 'virq/version.h':
                    bad.append('%s:%d: <%s> is not a public header' % (rel, no, name))
            else:
                here = os.path.join(os.path.dirname(path), name)
                under_lib = os.path.join(lib, name)
                if not (os.path.isfile(here) or os.path.isfile(under_lib)):
                    bad.append('%s:%d: "%s" is not a file in lib/' % (rel, no, name))

    for path in sources(os.path.join(pub, 'virq'), ('.h', '.h.in')):
        if os.path.basename(path) in HOSTED_ONLY_HEADERS:
            continue
        checked += 1
        rel = os.path.relpath(path, src)
        is_platform = os.path.basename(path) == 'platform.h' and \
            os.path.dirname(path) == os.path.join(pub, 'virq')
        for no, kind, name in includes(path):
            if kind == '<' and name.startswith('virq/'):
                continue
            if is_platform and (kind == '<' and name in PLATFORM_ALLOWED):
                continue
            bad.append('%s:%d: public header includes %s%s%s' %
                       (rel, no, kind, name, '>' if kind == '<' else '"'))

    for b in bad:
        print('FAIL: ' + b)
    print('%d files checked, %d bad includes' % (checked, len(bad)))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
