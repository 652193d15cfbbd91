#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_layers.py can fail: it rejects each forbidden arrow in a synthetic tree.

Usage: test_check_layers.py DESCRIPTION

Builds a small tree in a temporary directory (core, two controllers, vm,
both glues, the umbrella header, one example) whose includes follow the
rules, checks that check_layers.py accepts it with DESCRIPTION (the real
tests/meta/layers.txt), then breaks it one include at a time and checks
that each break is rejected, with the expected rule, at the expected
file. The clean tree has lib/vmx-glue/ and include/virq/vmx.h, a glue
built into libvirq that still keeps to public headers ('separate').
"""

import io
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_layers  # noqa: E402

CLEAN = {
    'include/virq/platform.h': '#ifdef VIRQ_PLATFORM_HEADER\n#include VIRQ_PLATFORM_HEADER\n'
                               '#else\n#include <stdint.h>\n#endif\n',
    'include/virq/pi.h': '#include <virq/platform.h>\n',
    'include/virq/regs/lapic.h': '#include <virq/platform.h>\n',
    'include/virq/lapic.h': '#include <virq/pi.h>\n#include <virq/regs/lapic.h>\n',
    'include/virq/ioapic.h': '#include <virq/platform.h>\n',
    'include/virq/vm.h': '#include <virq/ioapic.h>\n#include <virq/lapic.h>\n',
    'include/virq/vcpu.h': '#include <virq/vm.h>\n',
    'include/virq/kvm.h': '#include <pthread.h>\n#include <virq/vcpu.h>\n',
    'include/virq/vmx.h': '#include <virq/vcpu.h>\n',
    'include/virq/virq.h': '#include <virq/vm.h>\n#include <virq/vmx.h>\n',
    'include/virq/version.h': '#define VIRQ_VERSION_MAJOR 0\n',
    'lib/core/bitmap.h': '#include <virq/platform.h>\n',
    'lib/core/pi.c': '#include "bitmap.h"\n#include <virq/pi.h>\n#include <virq/version.h>\n',
    'lib/lapic/lapic_priv.h': '#include <virq/lapic.h>\n#include "core/bitmap.h"\n',
    'lib/lapic/irq.c': '#include "lapic_priv.h"\n/* #include <virq/vm.h> */\n'
                       '// #include "vm/vm_priv.h"\n',
    'lib/ioapic/ioapic_priv.h': '#include <virq/ioapic.h>\n',
    'lib/ioapic/pins.c': '#include "ioapic_priv.h"\n#include "core/bitmap.h"\n',
    'lib/vm/vm_priv.h': '#include <virq/vm.h>\n#include "core/bitmap.h"\n',
    'lib/vm/vm.c': '#include "vm_priv.h"\n#include <virq/vcpu.h>\n',
    'lib/kvm-glue/glue.h': '#include <linux/kvm.h>\n#include <virq/kvm.h>\n',
    'lib/kvm-glue/kvm.c': '#include <stdio.h>\n#include "glue.h"\n'
                          '#include <virq/regs/lapic.h>\n',
    'lib/vmx-glue/vmx.c': '#include <virq/vmx.h>\n',
    'examples/e/local.h': '#include <stdio.h>\n',
    'examples/e/main.c': '#include <virq/virq.h>\n#include <virq/kvm.h>\n#include "local.h"\n',
}

# (name, file, text appended (or the whole file when new), rule, file of the FAIL line)
BREAKS = [
    ('controller includes another controller\'s public header',
     'lib/lapic/irq.c', '#include <virq/ioapic.h>\n', 'sibling', 'lib/lapic/irq.c'),
    ('controller includes another controller\'s lib file',
     'lib/ioapic/pins.c', '#include "lapic/lapic_priv.h"\n', 'sibling', 'lib/ioapic/pins.c'),
    ('... and that lib file is private too',
     'lib/ioapic/pins.c', '#include "lapic/lapic_priv.h"\n', 'private', 'lib/ioapic/pins.c'),
    ('controller public header includes another controller',
     'include/virq/lapic.h', '#include <virq/ioapic.h>\n', 'sibling', 'include/virq/lapic.h'),
    ('core lib file includes lapic.h',
     'lib/core/pi.c', '#include <virq/lapic.h>\n', 'layer', 'lib/core/pi.c'),
    ('core public header includes lapic.h',
     'include/virq/pi.h', '#include <virq/lapic.h>\n', 'layer', 'include/virq/pi.h'),
    ('core includes the LAPIC register header',
     'lib/core/bitmap.h', '#include <virq/regs/lapic.h>\n', 'layer', 'lib/core/bitmap.h'),
    ('controller includes vm',
     'lib/lapic/irq.c', '#include <virq/vm.h>\n', 'layer', 'lib/lapic/irq.c'),
    ('controller includes vm/vm_priv.h by a relative path',
     'lib/lapic/irq.c', '#include "../vm/vm_priv.h"\n', 'layer', 'lib/lapic/irq.c'),
    ('controller includes a glue',
     'lib/ioapic/pins.c', '#include <virq/kvm.h>\n', 'layer', 'lib/ioapic/pins.c'),
    ('vm includes kvm.h',
     'lib/vm/vm.c', '#include <virq/kvm.h>\n', 'layer', 'lib/vm/vm.c'),
    ('vm includes vmx.h (a glue)',
     'lib/vm/vm_priv.h', '#include <virq/vmx.h>\n', 'layer', 'lib/vm/vm_priv.h'),
    ('vm public header includes a glue',
     'include/virq/vcpu.h', '#include <virq/kvm.h>\n', 'layer', 'include/virq/vcpu.h'),
    ('library part includes the umbrella header',
     'lib/vm/vm.c', '#include <virq/virq.h>\n', 'layer', 'lib/vm/vm.c'),
    ('glue includes vm/vm_priv.h',
     'lib/kvm-glue/kvm.c', '#include "vm/vm_priv.h"\n', 'private', 'lib/kvm-glue/kvm.c'),
    ('the KVM glue (a separate library) includes a core lib-private header',
     'lib/kvm-glue/kvm.c', '#include "core/bitmap.h"\n', 'private', 'lib/kvm-glue/kvm.c'),
    ('the VMX glue (public headers only) includes a core lib-private header',
     'lib/vmx-glue/vmx.c', '#include "core/bitmap.h"\n', 'private', 'lib/vmx-glue/vmx.c'),
    ('glue includes lapic/lapic_priv.h',
     'lib/vmx-glue/vmx.c', '#include "lapic/lapic_priv.h"\n', 'private', 'lib/vmx-glue/vmx.c'),
    ('glue includes another glue',
     'lib/vmx-glue/vmx.c', '#include <virq/kvm.h>\n', 'sibling', 'lib/vmx-glue/vmx.c'),
    ('glue public header includes another glue',
     'include/virq/kvm.h', '#include <virq/vmx.h>\n', 'sibling', 'include/virq/kvm.h'),
    ('example includes a controller\'s lib-private header',
     'examples/e/main.c', '#include "lapic/lapic_priv.h"\n', 'private', 'examples/e/main.c'),
    ('example includes a core lib-private header',
     'examples/e/main.c', '#include <core/bitmap.h>\n', 'private', 'examples/e/main.c'),
    ('public header includes a lib-private header',
     'include/virq/lapic.h', '#include "core/bitmap.h"\n', 'private', 'include/virq/lapic.h'),
    ('public header includes its own part\'s lib-private header',
     'include/virq/lapic.h', '#include "lapic/lapic_priv.h"\n', 'private',
     'include/virq/lapic.h'),
    ('undescribed folder under lib/',
     'lib/newctl/new.c', '#include <virq/platform.h>\n', 'described', 'lib/newctl/new.c'),
    ('undescribed public header',
     'include/virq/new.h', '#include <virq/platform.h>\n', 'described', 'include/virq/new.h'),
    ('undescribed header outside include/virq/',
     'include/stray.h', '#include <virq/platform.h>\n', 'described', 'include/stray.h'),
    ('include of a file outside every part',
     'lib/lapic/irq.c', '#include "../../tests/helper.h"\n', 'described', 'lib/lapic/irq.c'),
    ('quoted include that resolves to nothing',
     'lib/lapic/irq.c', '#include "nothere.h"\n', 'described', 'lib/lapic/irq.c'),
    ('<virq/...> include that resolves to nothing',
     'lib/lapic/irq.c', '#include <virq/nothere.h>\n', 'described', 'lib/lapic/irq.c'),
    ('computed include outside platform.h',
     'lib/lapic/irq.c', '#include LAPIC_EXTRA_HEADER\n', 'computed', 'lib/lapic/irq.c'),
]


def write_tree(top, files):
    for rel, text in files.items():
        path = os.path.join(top, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)


def run(files, desc):
    with tempfile.TemporaryDirectory(prefix='virq-layers-') as top:
        write_tree(top, files)
        out = io.StringIO()
        try:
            n = check_layers.check(top, desc, out)
        except check_layers.DescError as e:
            return -1, str(e)
        return n, out.getvalue()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    desc = sys.argv[1]
    failed = 0
    total = 0

    def report(ok, name, detail=''):
        nonlocal failed, total
        total += 1
        print('%s %d - %s' % ('ok' if ok else 'not ok', total, name))
        if not ok:
            failed += 1
            for line in detail.rstrip().splitlines():
                print('    ' + line)

    files = dict(CLEAN)
    files['tests/helper.h'] = '/* not a part: tests may include anything */\n'
    n, out = run(files, desc)
    report(n == 0, 'clean tree accepted (vmx-glue files included)', out)

    for name, rel, text, rule, where in BREAKS:
        broken = dict(files)
        broken[rel] = broken.get(rel, '') + text
        n, out = run(broken, desc)
        tag = 'FAIL: %s:' % where
        hit = [ln for ln in out.splitlines() if ln.startswith(tag) and '[%s]' % rule in ln]
        report(n > 0 and hit, '%s: [%s] at %s' % (name, rule, where), out)

    # A malformed description is refused, not silently read.
    with tempfile.TemporaryDirectory(prefix='virq-layers-desc-') as tmp:
        bad = os.path.join(tmp, 'layers.txt')
        with open(desc, encoding='utf-8') as f:
            text = f.read()
        with open(bad, 'w', encoding='utf-8') as f:
            f.write(text + '\npart late nosuchlayer\n\tlib/late/\n')
        n, out = run(files, bad)
        report(n == -1 and 'unknown layer' in out, 'description with an unknown layer refused',
               out)

    print('%d of %d checks failed' % (failed, total))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
