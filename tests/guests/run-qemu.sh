#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs one guest image under QEMU for comparison with virq-vmm.
#
#   run-qemu.sh <image> [smp (default 2)] [tcg|kvm|kvm-split (default tcg)] [extra QEMU args]
#
# tcg:       QEMU's own LAPIC/IOAPIC/8259 (-cpu max; QEMU 7.2 TCG has no
#            x2APIC and no TSC-deadline mode, those checks are skipped).
# kvm:       KVM's in-kernel irqchip (-cpu 'qemu64,+x2apic,+tsc-deadline').
# kvm-split: KVM's LAPIC, QEMU's I/O APIC and 8259.
# The PIT is switched off (it shares ISA IRQ0 / pin 2 with the test
# device). QEMU's Multiboot command line is "IMAGE -append-text": the guest
# takes IMAGE (as given here) as argv[0] and reads the words after it, the
# quirks to tolerate and what CPUID must show (expect-x2apic / expect-no-...),
# the same words run-guest.sh gives virq-vmm with --cmdline. Same
# verdict rules as run-guest.sh (verdict.sh): exit 0 when every check
# passed, 77 when nothing failed but checks skipped (listed, the first line
# starting "SKIP:"), 1 otherwise.
set -u

# shellcheck source=tests/guests/verdict.sh
. "$(dirname "${BASH_SOURCE[0]}")/verdict.sh" || exit 1

if [ $# -lt 1 ]; then
	echo "usage: $0 <image> [smp] [tcg|kvm|kvm-split] [extra QEMU args]" >&2
	exit 2
fi
image=$1
smp=${2:-2}
accel=${3:-tcg}
shift $(($# < 3 ? $# : 3))

case $image in
*' '*)
	echo "run-qemu: $image: the image path must not contain a space" >&2
	exit 2
	;;
esac

# Quirks (README.md) of each configuration: QEMU's 8259 (userspace and
# KVM's) acknowledges a withdrawn edge; TCG lacks several IA32_APIC_BASE and
# x2APIC details; KVM accepts non-zero x2APIC EOI writes; on hosts with the
# kvm_pvm module only, its in-kernel LAPIC hides ISR/PPR in handlers and
# ends level interrupts at delivery. Then the CPU model's features.
kvm_words="pic-latch x2apic-eoi-nonzero"
[ -d /sys/module/kvm_pvm ] && kvm_words="$kvm_words lapic-isr-hidden"
kvm_words="$kvm_words expect-x2apic expect-tsc-deadline"
case $accel in
tcg)
	acc=(-accel tcg -cpu max)
	words="pic-latch tcg expect-no-x2apic expect-no-tsc-deadline"
	;;
kvm)
	acc=(-accel kvm -cpu 'qemu64,+x2apic,+tsc-deadline')
	words=$kvm_words
	;;
kvm-split)
	acc=(-accel kvm -M kernel-irqchip=split -cpu 'qemu64,+x2apic,+tsc-deadline')
	words=$kvm_words
	;;
*)
	echo "unknown accelerator $accel" >&2
	exit 2
	;;
esac

out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout --kill-after=5 120 qemu-system-x86_64 -M pc,pit=off "${acc[@]}" -m 128 -smp "$smp" \
	-nographic -no-reboot -serial stdio -monitor none -display none -net none \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -device pc-testdev \
	-kernel "$image" -append "$words" "$@" </dev/null 2>&1 | tr -d '\r' |
	sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' |
	grep -v -e '^SeaBIOS' -e '^Booting from' -e '^$' >"$out"
status=${PIPESTATUS[0]}
guest_report "$out" "$status" "$(basename "$image" .elf) qemu $accel"
exit $?
