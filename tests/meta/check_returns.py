#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every public call that returns int documents its codes.

For each declaration `VIRQ_API int name(` in include/virq/*.h (and
include/virq/regs/*.h), the Doxygen block right above it must hold an
@return (or @retval) line. Usage: check_returns.py SOURCE_ROOT
"""
import pathlib
import re
import sys

DECL = re.compile(r'^\s*VIRQ_API\s+int\s+(virq_\w+)\s*\(', re.M)


def doc_block_before(text, pos):
    """The /** ... */ block ending just before pos (only blanks between), or None."""
    head = text[:pos].rstrip()
    if not head.endswith('*/'):
        return None
    start = head.rfind('/*')
    if start < 0 or not head.startswith('/**', start):
        return None
    return head[start:]


def main():
    root = pathlib.Path(sys.argv[1]) / 'include' / 'virq'
    headers = sorted(root.glob('*.h')) + sorted(root.glob('regs/*.h'))
    bad, seen = [], 0
    for h in headers:
        text = h.read_text()
        for m in DECL.finditer(text):
            seen += 1
            line = text.count('\n', 0, m.start()) + 1
            block = doc_block_before(text, m.start())
            if block is None:
                bad.append(f'{h.name}:{line}: {m.group(1)}() has no /** */ block right above it')
            elif not re.search(r'[@\\](return|retval)\b', block):
                bad.append(f'{h.name}:{line}: {m.group(1)}() documents no @return')
    for b in bad:
        print(b)
    if seen == 0:
        print('no VIRQ_API int declaration found: the pattern no longer matches the headers')
        return 1
    print(f'{seen} int-returning public calls, {len(bad)} without @return')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
