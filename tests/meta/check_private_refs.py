#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails if a source file cites the maintainers' private notes.

The code, headers, tests and doc/ cite the Intel SDM and the datasheets by
section name; notes kept outside this repository are never named, since a
reader of the tree cannot open them. This script scans every tracked file
(git ls-files when the source directory is a git tree, else a walk of it
that skips .git and meson build directories), skips binary
files and CHANGELOG.md (history may name what was there), and reports each
line that matches one of the patterns below, as file:line: text.

    check_private_refs.py SRCDIR [BUILDDIR]

Exit status 0 when no line matches, 1 otherwise.
"""

import os
import re
import sys

from srcfiles import tracked_files, walked_files

# Spelled in pieces so that this file does not match itself.
_WORDS = ['dig' + 'est', 'DES' + 'IGN' + r'\.md', 'shared' + '/' + 'spec']
PATTERNS = [
    # Case-insensitive: the note names and their folder.
    re.compile('|'.join(_WORDS), re.IGNORECASE),
    # A path like <folder>/<name>.md inside the notes' folder.
    re.compile(r'(?<![A-Za-z0-9_])' + 'sp' + r'ec/[A-Za-z0-9_.-]+\.md', re.IGNORECASE),
    # The design notes cited by their short name in capitals, as in a
    # parenthesised "(<NAME>, section)": upper case only, so the English
    # word "design" stays usable.
    re.compile(r'\b' + 'DES' + r'IGN\b'),
]

EXEMPT = {'CHANGELOG.md'}


def read_text(path):
    """The file's text, or None for a binary file."""
    with open(path, 'rb') as fh:
        data = fh.read()
    if b'\0' in data:
        return None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return None


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[0])
        print('usage: check_private_refs.py SRCDIR [BUILDDIR]')
        return 2
    src = argv[1]
    build = argv[2] if len(argv) == 3 else None
    files = tracked_files(src)
    how = 'git ls-files'
    if files is None:
        files = walked_files(src, build)
        how = 'walk'
    hits = 0
    scanned = 0
    for rel in files:
        if rel.replace(os.sep, '/') in EXEMPT:
            continue
        path = os.path.join(src, rel)
        if not os.path.isfile(path):
            continue  # tracked but deleted in the working tree
        text = read_text(path)
        if text is None:
            continue
        scanned += 1
        for n, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in PATTERNS):
                print('%s:%d: %s' % (rel, n, line.strip()))
                hits += 1
    if hits:
        print('FAIL: %d line(s) cite notes outside the repository; cite the SDM or '
              'datasheet by section name instead' % hits)
        return 1
    if scanned == 0:
        print('FAIL: no file scanned (%s of %s)' % (how, src))
        return 1
    print('ok: %d text files (%s), no citation of notes outside the repository' %
          (scanned, how))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
