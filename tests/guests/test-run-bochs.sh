#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Self-test of scripts/bochs.sh's exit statuses (meson test 'bochs-script',
# suite 'vmx'), with virq-hv as the kernel:
#
#   test-run-bochs.sh <virq-hv.elf> <guest image>
#
#   125  a kernel that does not exist, and one that is not an ELF file
#        (nothing is run)
#   2    virq-hv's own failure line: no module, then a module that is not
#        an ELF file (Bochs runs; the kernel's result line decides)
#   1    the guest image passes: isa-debug-exit 0 is status 1 ((0 << 1) | 1)
#
# A timeout (124) is not provoked here: it would cost the time limit on
# every run (checked by hand: `--timeout 3` on a kernel that halts).
set -u

hv=${1:?usage: test-run-bochs.sh <virq-hv.elf> <guest image>}
image=${2:?usage: test-run-bochs.sh <virq-hv.elf> <guest image>}
bochs_sh=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/bochs.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "not an ELF file" >"$tmp/text"
failed=0

# check NAME WANT-STATUS WANT-LINE-REGEX bochs.sh-args...
check()
{
	local name=$1 want=$2 line=$3 rc
	shift 3

	bash "$bochs_sh" --timeout 120 "$@" >"$tmp/log" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ] || ! grep -qE "$line" "$tmp/log"; then
		echo "FAIL: $name: status $rc (want $want), line /$line/ $(grep -cE "$line" "$tmp/log") times; output:"
		sed 's/^/  /' "$tmp/log"
		failed=$((failed + 1))
	else
		echo "ok: $name: status $rc"
	fi
}

check missing-kernel 125 'not an ELF file' "$tmp/nothing"
check text-kernel 125 'not an ELF file' "$tmp/text"
check no-module 2 '^virq-hv: FAIL: no guest' "$hv"
check text-module 2 '^virq-hv: FAIL: the guest module is not' "$hv" "$tmp/text"
check guest-passes 1 '^SUMMARY: [1-9][0-9]* passed, 0 failed' "$hv" "$image"
[ $failed -eq 0 ]
