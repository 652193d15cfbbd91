#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs one guest image under virq-hv (examples/hv) under Bochs, as a meson
# test (suite 'vmx'):
#
#   run-bochs.sh [--mode M] [--smp N] [--hv-args WORDS] <virq-hv.elf> <image> [guest command-line words]
#
# --mode M is virq-hv's delivery level (inject, tpr-shadow, apicv; default
# inject), given to virq-hv as the word mode=M of its command line;
# --hv-args WORDS adds more words there (no-virtual-wire); --smp N runs
# Bochs with N CPUs and virq-hv with N vCPUs (smp=N, 1-4, default 1).
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

mode=inject
hv_args=
smp=1
while [ $# -ge 2 ]; do
	case $1 in
	--mode) mode=$2 ;;
	--smp) smp=$2 ;;
	--hv-args) hv_args=" $2" ;;
	*) break ;;
	esac
	shift 2
done
case $smp in
[1-4]) ;;
*)
	echo "run-bochs: --smp $smp: 1 to 4" >&2
	exit 2
	;;
esac
case $mode in
inject | tpr-shadow | apicv) ;;
*)
	echo "run-bochs: unknown mode '$mode' (inject, tpr-shadow, apicv)" >&2
	exit 2
	;;
esac
if [ $# -lt 2 ]; then
	echo "usage: $0 [--mode M] <virq-hv.elf> <image> [guest words]" >&2
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

# libvirq's 8259 keeps an edge request latched until INTA even if the line
# drops first (run-guest.sh says why): the pic program's quirk.
if [ "$name" = pic ]; then
	set -- "$@" pic-latch
fi

# Bochs 2.7's virtual-interrupt delivery records no IDT-vectoring
# information when the delivery exits (it enters the guest's IDT without
# the event bookkeeping its injected and external interrupts get; the exit
# then reports a #DF being delivered): the part of exceptions that needs it
# is a skip under mode=apicv.
if [ "$name" = exceptions ] && [ "$mode" = apicv ]; then
	set -- "$@" bochs-vid-vectoring
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
bash "$root/scripts/bochs.sh" --timeout "${RUN_BOCHS_TIMEOUT:-240}" --smp "$smp" \
	--cmdline "mode=$mode smp=$smp$hv_args" \
	"$hv" "$image${*:+ $*}" \
	>"$out" 2>&1
status=$?
guest_report "$out" "$status" "$name under virq-hv (Bochs, $mode, $smp vCPU)"
exit $?
