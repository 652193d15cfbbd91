#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails on an SDM or datasheet citation by number without its title.

Section numbers move between editions of the Intel SDM (the APIC chapter was
10 and is 11 in recent ones), so a number alone misleads a reader with
another edition. doc/style.md ("Comments") asks for the number followed by
the section's title in double quotes:

    SDM 10.8.5 "Signaling Interrupt Servicing Completion"
    82093AA datasheet 3.2.3 "IOAPICARB—IOAPIC Arbitration Register"
    Table 6-4 "Interrupt and Exception Classes"

A citation is a number after an anchor naming the document: "SDM", "SDM Vol.
3C", "SDM 3C", "Vol. 3A", "SDM Vol. 2,", "82093AA", "datasheet", "PCI 3.0",
"PCI Local Bus 3.0", "VT-d", "VT-d spec"; and each number continuing its
list (after ",", ";", "/", "and", "or", or a line break inside a comment).
"Table N-M" and "Figure N-M" are anchors of their own. A number passes when
a double quote follows it (after an optional comma), so
'10.6.2 "Determining IPI Destination", 10.12.10 "..."' passes, and the list
'10.8.4, 10.8.5 "..."' after the anchor fails on 10.8.4. In .c/.h/.S files only comments
are read. Every tracked .c .h .S .md .py .sh .build .txt file is scanned
(git ls-files, or a walk of the tree that skips .git and meson build
directories), CHANGELOG.md aside.

    check_citations.py SRCDIR [BUILDDIR]
    check_citations.py --selftest

Exit status 0 when every citation has its title, 1 otherwise.
"""

import os
import re
import sys

from srcfiles import tracked_files, walked_files

EXTS = ('.c', '.h', '.md', '.py', '.sh', '.build', '.S', '.txt')
C_EXTS = ('.c', '.h', '.S')
EXEMPT = {'CHANGELOG.md'}

# White space that may hold one line break and a comment prefix (" * ", "# ").
WS = r'(?:[ \t]*\n[ \t]*(?:\*(?![/*])|#)?[ \t]*|[ \t]+)'
WSO = '(?:' + WS + ')?'

ANCHOR = re.compile(
    r'(?P<doc>\bSDM(?:[ \t]+Vol\.)?[ \t]+2[A-D]?\b,?'
    r'|\b(?:SDM(?:\'s)?(?:[ \t]+Vol\.[ \t]*3[A-D]?\b|[ \t]+3[A-D]\b)?|Vol\.[ \t]*3[A-D]?\b)'
    r'|\b82093AA(?:' + WS + r'datasheet)?|\bdatasheet'
    r'|\bPCI(?:' + WS + r'Local' + WS + r'Bus)?(?:' + WS + r'Spec(?:ification)?)?' + WS +
    r'3\.0,?'
    r'|\bVT-d(?:' + WS + r'spec(?:ification)?)?,?)'
    r'|(?P<tab>(?=\b(?:Tables?|Figures?)[ \t]+\d{1,2}-\d))')
NUM = r'(?:\d{1,2}(?:\.\d{1,2}){1,4}|[A-C](?:\.\d{1,2}){1,3}|Appendix[ \t]+[A-C])'
END = r'(?![\w.]?\d)(?![\w-])'
ITEM = re.compile(
    r'(?P<tab>(?P<kind>Table|Figure)s?' + WS + r'\d{1,2}-\d{1,3}(?:/\d{1,2}-\d{1,3})?' + END +
    r')|' + NUM + r'(?:[ \t]*[-–][ \t]*' + NUM + r')?' + END)
TCONT = re.compile(r'\d{1,2}-\d{1,3}' + END)
SEP = re.compile(r'(?:' + WSO + r'(?:,|;|/|\band\b|\bor\b)' + WSO + '|' + WS +
                 r'(?=(?:Tables?|Figures?)[ \t]+\d))')
TITLED = re.compile(WSO + r',?' + WSO + r'["“]')


def comment_spans(text):
    """(start, end) of every comment of C text; strings and chars skipped."""
    spans, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            spans.append((i, j))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            spans.append((i, j))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            i = j + 1
        else:
            i += 1
    return spans


def untitled(text, c_source):
    """(offset, cited text) of every citation in text that lacks its title."""
    regions = comment_spans(text) if c_source else [(0, len(text))]
    bad = {}
    for (a, b) in regions:
        for am in ANCHOR.finditer(text, a, b):
            pos, first, kind = am.end(), True, None
            while True:
                if first and am.group('tab') is not None:
                    p = pos
                else:
                    sm = (re.compile(WS) if first else SEP).match(text, pos)
                    if not sm:
                        break
                    p = sm.end()
                im = ITEM.match(text, p, b)
                if im:
                    kind = im.group('kind')
                elif kind:
                    im = TCONT.match(text, p, b)
                if not im:
                    break
                first = False
                tm = TITLED.match(text, im.end())
                if tm:
                    # step over the quoted title to the list's next number
                    q = text.find('"', tm.end())
                    pos = q + 1 if q >= 0 else len(text)
                    if q >= 0 and text[tm.end():q].count('(') > text[tm.end():q].count(')'):
                        q2 = text.find('"', text.find('"', q + 1) + 1)
                        pos = q2 + 1 if q2 >= 0 else pos
                else:
                    bad.setdefault(im.start(), im.group(0))
                    pos = im.end()
    return sorted(bad.items())


def selftest():
    """The check finds what it must and passes what it must."""
    # Spelled with placeholders, so that this file stays clean itself.
    words = {'S': 'SD' + 'M', 'V': 'Vo' + 'l.', 'T': 'Tab' + 'le', 'F': 'Fig' + 'ure',
             'A': '82093' + 'AA', 'D': 'data' + 'sheet', 'P': 'P' + 'CI', 'VT': 'VT' + '-d',
             't': ' "' + 'Title' + '"'}
    cases = [
        # (text, C source?, the citations that must be reported)
        ('/* {S} 10.8.5: EOI */', True, ['10.8.5']),
        ('/* {S} 10.8.5{t}: EOI */', True, []),
        ('/* {S} 10.8.4, 10.8.5{t} */', True, ['10.8.4']),
        ('/* {S} 10.8.4{t}, 10.8.5 */', True, ['10.8.5']),
        ('/* ({S}\n * 10.8.4) */', True, ['10.8.4']),
        ('/* {S} 10.6.2{t}, 10.12.10{t} */', True, []),
        ('/* {S} {V} 3C 26.2.1.1 and 26.3.1.5 */', True, ['26.2.1.1', '26.3.1.5']),
        ('/* {S} 3C 30.6 */', True, ['30.6']),
        ('/* {S} 10.8.1-10.8.5 */', True, ['10.8.1-10.8.5']),
        ('/* {T} 6-4: classes */', True, ['{T} 6-4']),
        ('/* {T}s 6-4 and 6-5 */', True, ['{T}s 6-4', '6-5']),
        ('/* {F} 10-10{t} */', True, []),
        ('/* {A} {D} 3.2.4 */', True, ['3.2.4']),
        ('/* {A} 3.2.1, 3.2.3{t} */', True, ['3.2.1']),
        ('/* {P} 3.0 6.8.2 */', True, ['6.8.2']),
        ('/* {VT} spec 5.1.3 */', True, ['5.1.3']),
        ('x = {S}_10_8_5; /* none */ s = "{S} 10.8.5";', True, []),
        ('{S} 10.8.5 in a page', False, ['10.8.5']),
        ('KVM 6.1 and QEMU 7.2, section 3.2', False, []),
        ('/* {S} 10.4.7.3 "Local APIC State After an INIT Reset ("Wait-for-SIPI" State)", '
         '10.4.7.4 */', True, ['10.4.7.4']),
    ]
    cases = [(x.format(**words), c, [w.format(**words) for w in want]) for x, c, want in cases]
    fails = 0
    for text, c_source, want in cases:
        got = [s for _, s in untitled(text, c_source)]
        if got != want:
            print('FAIL: %r: reported %r, expected %r' % (text, got, want))
            fails += 1
    if fails:
        return 1
    print('ok: %d cases' % len(cases))
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == '--selftest':
        return selftest()
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[0])
        print('usage: check_citations.py SRCDIR [BUILDDIR] | --selftest')
        return 2
    src = argv[1]
    build = argv[2] if len(argv) == 3 else None
    files = tracked_files(src)
    how = 'git ls-files'
    if files is None:
        files, how = walked_files(src, build), 'walk'
    hits = scanned = 0
    for rel in files:
        rel_posix = rel.replace(os.sep, '/')
        if rel_posix in EXEMPT or not rel.endswith(EXTS):
            continue
        path = os.path.join(src, rel)
        if not os.path.isfile(path):
            continue
        with open(path, 'rb') as fh:
            data = fh.read()
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError:
            continue
        scanned += 1
        for off, cited in untitled(text, rel.endswith(C_EXTS)):
            line = text.count('\n', 0, off) + 1
            print('%s:%d: %s' % (rel_posix, line, re.sub(r'\s+', ' ', cited)))
            hits += 1
    if hits:
        print('FAIL: %d citation(s) by number without the section title (doc/style.md, '
              '"Comments": the number, then the title in double quotes)' % hits)
        return 1
    if scanned == 0:
        print('FAIL: no file scanned (%s of %s)' % (how, src))
        return 1
    print('ok: %d text files (%s), every SDM/datasheet citation has its title' % (scanned, how))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
