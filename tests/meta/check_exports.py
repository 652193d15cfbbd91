#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every installed library defines the virq_ API and no other global symbol.

Usage: check_exports.py NM SRCDIR BUILDDIR [TARGET...]

Checks each static archive and shared library that `meson install` would
install from BUILDDIR (meson-info/intro-installed.json: libvirq.a,
libvirq.so, libvirq-kvm.a, libvirq-kvm.so, or only libvirq.a in the
freestanding configuration). TARGETs are the same files named by meson.build
so that they are built before the test runs; each must be one of them.

For each library:
- nm -g --defined-only (an archive) or nm -D --defined-only (a shared
  library) lists the global symbols it defines (T, D, B, R, W, V, i, u...);
  any name without the "virq_" prefix fails;
- each function a public header declares with VIRQ_API must be among them
  (the functions of <virq/kvm.h> in libvirq-kvm, all others in libvirq), and
  each virq_ symbol defined must be one of those declarations;
- an archive holds exactly one object (the partial link of the library with
  its hidden symbols made local: lib/ and top-level meson.build).

Symbols a toolchain adds by itself are not ours and are ignored: the linker's
section markers (_init, _fini, _edata, _end, __bss_start) and, in sanitizer
and coverage builds, the instrumentation's own globals (__asan_*,
__odr_asan_gen_*, __gcov_*, ...).
"""

import json
import os
import re
import subprocess
import sys

TOOLCHAIN = {'_init', '_fini', '_edata', '_end', '__bss_start'}
SANITIZER_PREFIXES = ('__asan', '__odr_asan', '__ubsan', '__tsan', '__msan', '__sancov',
                      '__sanitizer', '__llvm_', '__gcov', '__profc', '__profd')
LIBRARY_RE = re.compile(r'^lib(.+?)\.(a|so(\.[0-9]+)*)$')
# Header (relative to include/virq) whose API lives in a library of its own.
HEADER_LIBRARY = {'kvm.h': 'virq-kvm'}


def declared_api(srcdir):
    """{library name: set of virq_ functions declared VIRQ_API} from include/virq."""
    api = {}
    top = os.path.join(srcdir, 'include', 'virq')
    for root, _, files in os.walk(top):
        for f in sorted(files):
            if not f.endswith('.h'):
                continue
            path = os.path.join(root, f)
            text = open(path, encoding='utf-8').read()
            text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
            text = re.sub(r'//[^\n]*', ' ', text)
            text = re.sub(r'^\s*#[^\n]*(\\\n[^\n]*)*', ' ', text, flags=re.M)
            lib = HEADER_LIBRARY.get(os.path.relpath(path, top), 'virq')
            names = api.setdefault(lib, set())
            for m in re.finditer(r'\bVIRQ_API\b([^;{}()]*?)\b(\w+)\s*\(', text):
                names.add(m.group(2))
    return api


def installed_libraries(builddir):
    path = os.path.join(builddir, 'meson-info', 'intro-installed.json')
    with open(path, encoding='utf-8') as f:
        installed = json.load(f)
    libs = []
    for src in installed:
        if os.path.isabs(src) and LIBRARY_RE.match(os.path.basename(src)):
            libs.append(os.path.realpath(src))
    return sorted(set(libs))


def defined_globals(nm, lib):
    """(list of (type, name), number of archive members or None) or an error string."""
    shared = '.so' in os.path.basename(lib)
    args = [nm, '-D' if shared else '-g', '--defined-only', lib]
    res = subprocess.run(args, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return res.stderr.strip() or 'nm failed', None
    syms, members = [], 0
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 1 and line.endswith(':'):
            members += 1
            continue
        if len(parts) < 2:
            continue
        syms.append((parts[-2], parts[-1].split('@')[0]))
    return syms, None if shared else members


def check(nm, lib, api):
    errors = []
    name = LIBRARY_RE.match(os.path.basename(lib)).group(1)
    want = api.get(name)
    if want is None:
        return ['%s: no public header declares its API (HEADER_LIBRARY)' % lib]
    syms, members = defined_globals(nm, lib)
    if members is None and isinstance(syms, str):
        return ['%s: %s' % (lib, syms)]
    ours, ignored = set(), set()
    for kind, sym in syms:
        if sym.startswith('virq_'):
            ours.add(sym)
        elif sym in TOOLCHAIN or sym.startswith(SANITIZER_PREFIXES):
            ignored.add(sym)
        else:
            errors.append('%s: defines global symbol %s (%s) without the virq_ prefix'
                          % (lib, sym, kind))
    for sym in sorted(want - ours):
        errors.append('%s: %s (VIRQ_API in a public header) is not defined' % (lib, sym))
    for sym in sorted(ours - want):
        errors.append('%s: defines %s, which no public header declares VIRQ_API' % (lib, sym))
    if members is not None and members != 1:
        errors.append('%s: %d objects, not the one partially linked object' % (lib, members))
    print('%s: %d virq_ symbols of %d declared%s%s' % (
        lib, len(ours & want), len(want),
        '' if members is None else ', %d object%s' % (members, '' if members == 1 else 's'),
        ('; ignored toolchain symbols: ' + ' '.join(sorted(ignored))) if ignored else ''))
    return errors


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    nm, srcdir, builddir = sys.argv[1:4]
    targets = {os.path.realpath(t) for t in sys.argv[4:]}
    api = declared_api(srcdir)
    if not api.get('virq'):
        print('FAIL: no VIRQ_API declaration found under %s/include/virq' % srcdir)
        return 1
    libs = installed_libraries(builddir)
    errors = []
    if not any(os.path.basename(lib) == 'libvirq.a' for lib in libs):
        errors.append('libvirq.a is not among the installed files of %s' % builddir)
    for t in sorted(targets - set(libs)):
        errors.append('%s: named by meson.build but not installed' % t)
    for lib in libs:
        if not os.path.exists(lib):
            errors.append('%s: installed but not built' % lib)
            continue
        errors += check(nm, lib, api)
    for e in errors:
        print('FAIL: ' + e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
