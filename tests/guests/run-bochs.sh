#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs one guest image under virq-hv (examples/hv) under Bochs, as a meson
# test (suite 'vmx'):
#
#   run-bochs.sh <virq-hv.elf> <image> [guest command-line words]
#
# scripts/bochs.sh boots virq-hv with the image as its Multiboot module,
# whose string ("<image> words") is the guest's command line. virq-hv's
# result is the guest's isa-debug-exit status as QEMU's ((value << 1) | 1,
# so 1 when nothing failed) or 2 when the hv itself failed; bochs.sh adds
# 124 (timeout) and 125 (Bochs could not run: not installed and not
# installable, say). The verdict is verdict.sh's: pass (0), skip (77, when
# checks skipped) or fail (1, any status but 1 included). Bochs missing is
# a failure, never a skip.
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 <virq-hv.elf> <image> [guest words]" >&2
	exit 2
fi
hv=$1
image=$2
shift 2
name=$(basename "$image" .elf)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# shellcheck source=tests/guests/verdict.sh
. "$(dirname "${BASH_SOURCE[0]}")/verdict.sh" || exit 1

case $image in
*' '*)
	echo "run-bochs: $image: the image path must not contain a space" >&2
	exit 2
	;;
esac

out=$(mktemp)
trap 'rm -f "$out"' EXIT
bash "$root/scripts/bochs.sh" --timeout "${RUN_BOCHS_TIMEOUT:-240}" "$hv" "$image${*:+ $*}" \
	>"$out" 2>&1
status=$?
guest_report "$out" "$status" "$name under virq-hv (Bochs)"
exit $?
