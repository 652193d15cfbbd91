#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The layering holds: no include arrow goes where doc/architecture.md says it never does.

Usage: check_layers.py SRCDIR [DESCRIPTION]

DESCRIPTION (default SRCDIR/tests/meta/layers.txt) names the parts of the
library (core, each controller, vm, each glue, the umbrella header, the
examples), the files of each and the layer order, and its header comment
states the rules. This script reads every .c/.h file under lib/,
include/ and examples/, resolves each #include the way the build does
("x.h" next to the file first, then include/ and lib/, the two include
directories of the library; a name.in template counts as name),
and checks each arrow:

  layer      no include of a part of a higher layer
  sibling    no include between two parts of one layer (controller to
             controller, glue to glue)
  private    a part's lib/ files only from its own lib/ files, or from every
             part's lib/ files when the description shares the part (core)
             -- but never from a part the description calls separate (a
             library of its own, such as the KVM glue: public headers only)
  described  every scanned file, and every include target in the tree,
             belongs to exactly one part; a <virq/...> or "..." include
             that resolves to no file fails too
  computed   a computed include (#include MACRO) only where described

An include written <...> that resolves to nothing in the tree is a system
header: this check does not judge it. check_lib_includes.py (meson test
'lib_includes') does, for the library: it keeps hosted headers out of lib/
and out of the public headers. The two checks share the resolution of
"..." includes (next to the file, then relative to lib/).

Prints one FAIL line per broken rule (file:line, the include, the rule),
the arrows seen between parts, and the number of files and arrows checked.
Exit status 0 when every arrow is allowed, 1 otherwise, 2 when the
description itself is malformed.
"""

import fnmatch
import os
import re
import sys

SCANNED = ('lib/', 'include/', 'examples/')
EXTS = ('.c', '.h', '.h.in', '.S')
INCLUDE = re.compile(r'^\s*#\s*include\b\s*(.*)$')


class DescError(Exception):
    pass


class Part:
    def __init__(self, name, layer, rank, lineno):
        self.name = name
        self.layer = layer
        self.rank = rank
        self.lineno = lineno
        self.paths = []


class Description:
    def __init__(self):
        self.layers = []
        self.parts = {}
        self.shared = set()
        self.separate = set()
        self.computed = set()

    def part_of(self, rel):
        """The parts whose paths cover rel (a path relative to the source root)."""
        found = []
        for part in self.parts.values():
            for pat in part.paths:
                if path_matches(pat, rel):
                    found.append(part)
                    break
        return found


def path_matches(pat, rel):
    if pat.endswith('/'):
        pc = pat.rstrip('/').split('/')
        rc = rel.split('/')
        return len(rc) > len(pc) and all(fnmatch.fnmatchcase(r, p) for r, p in zip(rc, pc))
    pc = pat.split('/')
    rc = rel.split('/')
    return len(rc) == len(pc) and all(fnmatch.fnmatchcase(r, p) for r, p in zip(rc, pc))


def parse_description(path):
    desc = Description()
    part = None
    with open(path, encoding='utf-8') as f:
        for no, raw in enumerate(f, 1):
            line = raw.split('#', 1)[0].rstrip()
            if not line.strip():
                continue
            words = line.split()
            where = '%s:%d' % (path, no)
            if raw[0] in ' \t':
                if part is None:
                    raise DescError('%s: path outside a part' % where)
                if len(words) != 1:
                    raise DescError('%s: one path a line' % where)
                p = words[0]
                if p.startswith('/') or '..' in p.split('/'):
                    raise DescError('%s: path must be relative to the source root' % where)
                part.paths.append(p)
                continue
            part = None
            if words[0] == 'layers':
                if desc.layers or len(words) < 2:
                    raise DescError('%s: one "layers" line, with at least one layer' % where)
                desc.layers = words[1:]
                if len(set(desc.layers)) != len(desc.layers):
                    raise DescError('%s: a layer is listed twice' % where)
            elif words[0] == 'part':
                if len(words) != 3:
                    raise DescError('%s: "part NAME LAYER"' % where)
                name, layer = words[1:]
                if layer not in desc.layers:
                    raise DescError('%s: unknown layer %s (declare "layers" first)' %
                                    (where, layer))
                if name in desc.parts:
                    raise DescError('%s: part %s described twice' % (where, name))
                part = Part(name, layer, desc.layers.index(layer), no)
                desc.parts[name] = part
            elif words[0] == 'share':
                if len(words) != 3 or words[2] != 'lib':
                    raise DescError('%s: "share PART lib"' % where)
                desc.shared.add(words[1])
            elif words[0] == 'separate':
                if len(words) != 2:
                    raise DescError('%s: "separate PART"' % where)
                desc.separate.add(words[1])
            elif words[0] == 'computed':
                if len(words) != 2:
                    raise DescError('%s: "computed FILE"' % where)
                desc.computed.add(words[1])
            else:
                raise DescError('%s: unknown statement %s' % (where, words[0]))
    if not desc.parts:
        raise DescError('%s: no parts' % path)
    for name in desc.separate:
        if name not in desc.parts:
            raise DescError('%s: "separate %s": no such part' % (path, name))
    for name in desc.shared:
        if name not in desc.parts:
            raise DescError('%s: "share %s lib": no such part' % (path, name))
    for name, p in desc.parts.items():
        if not p.paths:
            raise DescError('%s:%d: part %s has no paths' % (path, p.lineno, name))
    return desc


def strip_comments(text):
    """text with /* */ and // comments blanked, newlines kept (line numbers hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '/' and i + 1 < n and text[i + 1] == '*':
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(''.join('\n' if ch == '\n' else ' ' for ch in text[i:j]))
            i = j
        elif c == '/' and i + 1 < n and text[i + 1] == '/':
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def includes(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = strip_comments(f.read())
    for no, line in enumerate(text.split('\n'), 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        arg = m.group(1).strip()
        mm = re.match(r'([<"])([^>"]+)[>"]', arg)
        if mm:
            yield no, mm.group(1), mm.group(2)
        else:
            yield no, 'macro', arg


def scanned_files(src):
    for top in SCANNED:
        base = os.path.join(src, top)
        for root, dirs, names in os.walk(base):
            dirs.sort()
            for n in sorted(names):
                if n.endswith(EXTS):
                    yield os.path.relpath(os.path.join(root, n), src).replace(os.sep, '/')


def kind_of(rel):
    if rel.startswith('lib/'):
        return 'lib'
    if rel.startswith('include/'):
        return 'public'
    return 'other'


def resolve(src, rel, kind, name):
    """The tree file an include names (relative to src), or None."""
    cands = []
    if kind == '"':
        cands.append(os.path.join(os.path.dirname(rel), name))
    cands += [os.path.join('include', name), os.path.join('lib', name)]
    for c in cands:
        c = os.path.normpath(c).replace(os.sep, '/')
        if c.startswith('../'):
            continue
        for cand in (c, c + '.in'):
            if os.path.isfile(os.path.join(src, cand)):
                return cand
    return None


def judge(desc, srel, spart, trel, tpart):
    """The rules the arrow spart:srel -> tpart:trel breaks, as (rule, why) pairs."""
    broken = []
    skind, tkind = kind_of(srel), kind_of(trel)
    if spart is not tpart:
        if tpart.rank > spart.rank:
            broken.append(('layer', '%s (layer %s) includes %s of higher layer %s' %
                           (spart.name, spart.layer, tpart.name, tpart.layer)))
        elif tpart.rank == spart.rank:
            broken.append(('sibling', '%s and %s are both in layer %s, which never include '
                           'each other' % (spart.name, tpart.name, spart.layer)))
    if tkind == 'lib':
        if skind != 'lib':
            who = 'a public header' if skind == 'public' else 'a file of part %s' % spart.name
            broken.append(('private', '%s is lib-private (part %s): %s includes public '
                           'headers only' % (trel, tpart.name, who)))
        elif spart is not tpart and spart.name in desc.separate:
            broken.append(('private', '%s is lib-private to part %s: part %s is a library '
                           'of its own and includes public headers only' %
                           (trel, tpart.name, spart.name)))
        elif spart is not tpart and tpart.name not in desc.shared:
            broken.append(('private', '%s is lib-private to part %s (not shared)' %
                           (trel, tpart.name)))
    return broken


def check(src, desc_path, out=sys.stdout):
    """Runs the check; returns the number of broken rules (DescError if malformed)."""
    desc = parse_description(desc_path)
    bad = []
    files = arrows = system = 0
    edges = {}
    used = set()

    def one_part(rel, what):
        parts = desc.part_of(rel)
        if len(parts) > 1:
            bad.append('%s: [described] %s is claimed by parts %s' %
                       (what, rel, ', '.join(p.name for p in parts)))
            return None
        if not parts:
            bad.append('%s: [described] %s belongs to no part of %s' %
                       (what, rel, os.path.basename(desc_path)))
            return None
        used.add(parts[0].name)
        return parts[0]

    for c in sorted(desc.computed):
        if not desc.part_of(c):
            bad.append('%s: [described] "computed %s" names a file of no part' %
                       (os.path.basename(desc_path), c))

    for srel in scanned_files(src):
        files += 1
        spart = one_part(srel, srel)
        if spart is None:
            continue
        for no, kind, name in includes(os.path.join(src, srel)):
            where = '%s:%d' % (srel, no)
            if kind == 'macro':
                arrows += 1
                if srel not in desc.computed:
                    bad.append('%s: [computed] #include %s: a computed include, and %s is '
                               'not described as "computed"' % (where, name, srel))
                continue
            shown = '%s%s%s' % (kind, name, '>' if kind == '<' else '"')
            trel = resolve(src, srel, kind, name)
            if trel is None:
                if kind == '<' and not name.startswith('virq/'):
                    system += 1
                    continue
                arrows += 1
                bad.append('%s: [described] #include %s resolves to no file in the tree' %
                           (where, shown))
                continue
            arrows += 1
            tpart = one_part(trel, '%s: #include %s' % (where, shown))
            if tpart is None:
                continue
            key = (spart.name, tpart.name)
            edges[key] = edges.get(key, 0) + 1
            for rule, why in judge(desc, srel, spart, trel, tpart):
                bad.append('%s: [%s] #include %s: %s' % (where, rule, shown, why))

    cross = sorted(k for k in edges if k[0] != k[1])
    if cross:
        out.write('arrows between parts (count):\n')
        for k in cross:
            out.write('  %-10s -> %-10s %d\n' % (k[0], k[1], edges[k]))
    empty = [n for n in desc.parts if n not in used]
    if empty:
        out.write('parts with no file yet: %s\n' % ', '.join(empty))
    for b in bad:
        out.write('FAIL: %s\n' % b)
    out.write('%d parts in %d layers; %d files, %d include arrows checked (%d system headers '
              'not judged), %d broken\n' %
              (len(desc.parts), len(desc.layers), files, arrows, system, len(bad)))
    return len(bad)


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    src = argv[1]
    desc = argv[2] if len(argv) == 3 else os.path.join(src, 'tests', 'meta', 'layers.txt')
    try:
        return 1 if check(src, desc) else 0
    except DescError as e:
        print('bad layer description: %s' % e)
        return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
