#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs one guest image under the example VMM, as a meson test.
#
#   run-guest.sh <vmm-binary> <irqchip user|split> <smp> <image> [extra VMM args]
#
# Exit 77 (meson: skipped) when /dev/kvm cannot be opened read-write.
# Exit 0 only when the VMM exits with status 1 (isa-debug-exit value 0:
# every check passed), the output has "SUMMARY: N passed, 0 failed" with
# N > 0, and no "FAIL:" line. Anything else, a timeout (60 s) included,
# exits non-zero.
set -u

if [ $# -lt 4 ]; then
	echo "usage: $0 <vmm-binary> <irqchip user|split> <smp> <image> [extra args]" >&2
	exit 2
fi
vmm=$1
irqchip=$2
smp=$3
image=$4
shift 4

if [ ! -e /dev/kvm ] || ! { exec 9<>/dev/kvm; } 2>/dev/null; then
	echo "SKIP: /dev/kvm not available"
	exit 77
fi
exec 9>&-

name=$(basename "$image" .elf)
case "$irqchip:$name" in
split:lapic_timer | split:lapic_tpr | split:lapic_nested | split:lapic_apic_base)
	# These test nothing but the LAPIC, which split mode leaves to KVM.
	echo "SKIP: $name tests only the LAPIC; with --irqchip=split that is KVM's"
	exit 77
	;;
esac
# libvirq's 8259 keeps an edge request latched until INTA even if the line
# drops first, as QEMU and KVM do (device models pulse their lines); the
# datasheet would answer a spurious IRQ7 instead.
if [ "$name" = pic ]; then
	set -- "$@" --cmdline=pic-latch
fi

# Split irqchip leaves the LAPIC to KVM. The software-virtualization KVM of
# our development hosts (module kvm_pvm) has a LAPIC that reads ISR and PPR
# as 0 in handlers and ends level interrupts at delivery, accepts non-zero
# x2APIC EOI writes and sends lowest-priority x2APIC IPIs: tolerate exactly
# those there (tests/guests/README.md), nowhere else.
if [ "$irqchip" = split ] && [ -d /sys/module/kvm_pvm ]; then
	set -- "$@" --env QUIRKS=lapic-isr-hidden,x2apic-eoi-nonzero,x2apic-lowest-ipi
	echo "run-guest: split irqchip on kvm_pvm: KVM's LAPIC quirks tolerated"
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# The VMM's own timeout comes first: it reports what each vCPU was doing.
timeout --kill-after=5 60 "$vmm" --irqchip="$irqchip" --smp "$smp" --timeout 50 "$image" "$@" \
	</dev/null \
	>"$out" 2>&1
status=$?
cat "$out"

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "run-guest: timed out after 60 s"
	exit 1
fi
if [ "$status" -ne 1 ]; then
	echo "run-guest: VMM exit status $status, expected 1 (isa-debug-exit 0)"
	exit 1
fi
if grep -q '^FAIL:' "$out"; then
	echo "run-guest: FAIL lines in the output"
	exit 1
fi
if ! grep -Eq '^SUMMARY: [1-9][0-9]* passed, 0 failed' "$out"; then
	echo "run-guest: no 'SUMMARY: N passed, 0 failed' line with N > 0"
	exit 1
fi
exit 0
