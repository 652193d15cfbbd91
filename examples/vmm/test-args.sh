#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# virq-vmm's command line, as a meson test (vmm-args, suite examples):
#
#   test-args.sh <virq-vmm binary> <libvirq version>
#
# Needs no /dev/kvm and no guest image: virq-vmm checks every argument
# before it opens either.
#
#   - A bad command line exits 2, prints nothing on stdout, and on stderr
#     names the option and the bad value, hints at --help and opens nothing
#     (no word of /dev/kvm, no "cannot open").
#   - --help: the usage on stdout, nothing on stderr, status 0 (4 when stdout
#     cannot be written). --version: "virq-vmm (libvirq) <version>", status 0.
#   - Good values, at the edges of each range, get past parsing: the run
#     then stops at the first thing that needs the machine and exits 4 with
#     that message and no hint. Without a usable /dev/kvm that is "cannot
#     open /dev/kvm"; with one, the image, which never exists.
#
# Prints one line per failed check and "N checks, N failed"; exits 1 if any
# check failed.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 <virq-vmm binary> <libvirq version>" >&2
	exit 2
fi
vmm=$1
version=$2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
image=$tmp/no-such-image.elf # never created
kimage=$tmp/no-such-bzImage  # never created

if [ -e /dev/kvm ] && { exec 9<>/dev/kvm; } 2>/dev/null; then
	exec 9>&-
	runtime_error="virq-vmm: cannot open $image: "
	kernel_error="virq-vmm: cannot open $kimage: "
else
	runtime_error="virq-vmm: cannot open /dev/kvm ("
	kernel_error=$runtime_error
fi

checks=0
failed=0
out=
err=
status=

run()
{
	"$vmm" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	status=$?
	out=$(<"$tmp/out")
	err=$(<"$tmp/err")
}

# TEST...; check WHAT ARGS...: counts one check of the last run (virq-vmm
# ARGS), passed if TEST succeeded.
check()
{
	local ok=$? what=$1

	shift
	checks=$((checks + 1))
	if [ "$ok" -ne 0 ]; then
		failed=$((failed + 1))
		printf 'FAIL: virq-vmm'
		printf ' %q' "$@"
		printf ': %s\n' "$what"
		printf '  status %s\n' "$status"
		[ -z "$out" ] || printf '  stdout: %s\n' "${out:0:400}"
		[ -z "$err" ] || printf '  stderr: %s\n' "${err:0:400}"
	fi
}

has() { [[ $1 == *"$2"* ]]; }
hasnt() { [[ $1 != *"$2"* ]]; }
starts() { [[ $1 == "$2"* ]]; }
is() { [ "$1" = "$2" ]; }

# bad OPTION VALUE ARGS...: a usage error that names OPTION and VALUE
# (VALUE may be empty: not checked).
bad()
{
	local opt=$1 value=$2

	shift 2
	run "$@"
	is "$status" 2
	check "want status 2 (usage error)" "$@"
	is "$out" ""
	check "want nothing on stdout" "$@"
	has "$err" "$opt"
	check "want stderr naming '$opt'" "$@"
	if [ -n "$value" ]; then
		has "$err" "'$value'"
		check "want stderr naming '$value'" "$@"
	fi
	has "$err" "Try 'virq-vmm --help' for more information."
	check "want the hint 'Try 'virq-vmm --help''" "$@"
	hasnt "$err" /dev/kvm
	check "want nothing opened (no word of /dev/kvm)" "$@"
	hasnt "$err" "cannot open"
	check "want nothing opened (no 'cannot open')" "$@"
}

# good ARGS...: parses; the run fails at /dev/kvm or at the image (status 4).
good()
{
	run "$@" "$image"
	is "$status" 4
	check "want status 4 (VMM error: parsing passed)" "$@" "$image"
	is "$out" ""
	check "want nothing on stdout" "$@" "$image"
	starts "$err" "$runtime_error"
	check "want stderr to start with '$runtime_error'" "$@" "$image"
	hasnt "$err" "--help"
	check "want no usage hint" "$@" "$image"
}

# The external review's cases, in both forms.
for form in space equals; do
	while read -r opt value; do
		if [ $form = space ]; then
			bad "$opt" "$value" "$opt" "$value" "$image"
		else
			bad "$opt" "$value" "$opt=$value" "$image"
		fi
	done <<'EOF'
--mem 17592186044418
--smp 4294967297
--smp 1abc
--mem 64abc
--timeout -1
--smp 0
--smp 65
--smp +4
--smp 04
--smp 0x4
--smp 18446744073709551616
--smp 18446744073709551617
--smp 4.0
--mem 0
--mem 1
--mem 3073
--mem 4096
--mem 64M
--mem 0x40
--mem 010
--mem -64
--mem 18446744073709551615
--timeout 31536001
--timeout 4294967296
--timeout 18446744073709551616
--timeout 1.5
--timeout 10s
--timeout +5
--timeout 00
--irqchip foo
--irqchip USER
--irqchip user,split
--irqchip kernel
EOF
done

# Values read wrongly by a sloppy parser: spaces, empty.
bad --smp " 4" --smp " 4" "$image"
bad --smp "4 " --smp "4 " "$image"
bad --smp "" --smp "" "$image"
bad --smp "" --smp= "$image"
bad --mem "" --mem= "$image"
bad --timeout "" --timeout= "$image"
bad --irqchip "" --irqchip= "$image"
bad --irqchip "" --irqchip "" "$image"

# --env: KEY=VALUE, one line, NR_CPUS is --smp's, 1023 bytes of module text.
bad --env FOO --env FOO "$image"
bad --env =x --env =x "$image"
bad --env "" --env= "$image"
bad --env $'A=1\nB=2' --env $'A=1\nB=2' "$image"
bad --env NR_CPUS=4 --env NR_CPUS=4 "$image"
long=$(printf 'K=%01010d' 0) # 1012 bytes: with "NR_CPUS=64\n", one too many
bad --env "" --smp 64 --env "$long" "$image"
bad --env "" --env "$(printf 'K=%01030d' 0)" "$image"

# Options that do not exist or take no value; values that are missing.
bad --foo "" --foo "$image"
bad --mem-size "" --mem-size 64 "$image"
bad "'--s' is ambiguous" "" --s 2 "$image"
bad "'h'" "" -h
bad "'x'" "" -x "$image"
bad --stats "" --stats=yes "$image"
bad --no-virtual-wire "" --no-virtual-wire=1 "$image"
bad --no-x2apic "" --no-x2apic=yes "$image"
bad --no-tsc-deadline "" --no-tsc-deadline=0 "$image"
bad "'--no' is ambiguous" "" --no "$image"
bad --virtual-wire "" --virtual-wire "$image"
bad --x2apic "" --x2apic "$image"
bad --help "" --help=1
bad --version "" --version=1
bad --smp "" "$image" --smp
bad --timeout "" "$image" --timeout
bad --env "" "$image" --env

# IMAGE: exactly one, not empty.
bad IMAGE ""
bad IMAGE "" --smp 2
bad "one IMAGE only" stray "$image" stray
bad "one IMAGE only" stray --smp 2 "$image" stray --mem 64
bad IMAGE "" ""

# --kernel (a bzImage), --initrd, --append and --acpi: not with IMAGE,
# --cmdline, --env or --restore; --initrd, --append and --acpi only with
# --kernel.
bad --kernel "" --kernel ""
bad --kernel "" --kernel=
bad --initrd "" --kernel "$kimage" --initrd ""
bad --initrd "" --initrd "$tmp/rd" "$image"
bad --initrd "" --initrd="$tmp/rd"
bad --append "" --append "console=ttyS0" "$image"
bad --append "" --append=
bad --cmdline "" --kernel "$kimage" --cmdline x
bad --env "" --env A=1 --kernel "$kimage"
bad IMAGE "$image" --kernel "$kimage" "$image"
bad IMAGE "$image" "$image" --kernel="$kimage" --append=quiet
bad --kernel "" --restore "$tmp/snap" --kernel "$kimage"
bad --initrd "" --restore "$tmp/snap" --initrd "$tmp/rd"
bad --append "" --restore "$tmp/snap" --append ""
bad "or --kernel BZIMAGE" "" --smp 2
bad --acpi "" --acpi "$image"
bad --acpi "" --kernel "$kimage" --acpi=1
bad --acpi "" --restore "$tmp/snap" --acpi

# --help and --version: stdout, status 0.
for line in "--help" "--smp 2 --help" "--help --bogus"; do
	read -ra args <<<"$line"
	run "${args[@]}"
	is "$status" 0
	check "want status 0" "${args[@]}"
	is "$err" ""
	check "want nothing on stderr" "${args[@]}"
	has "$out" "usage: virq-vmm [OPTION]... IMAGE"
	check "want the usage on stdout" "${args[@]}"
	has "$out" "       virq-vmm [OPTION]... --kernel BZIMAGE [--initrd FILE] [--append STR] [--acpi]"
	check "want the --kernel usage on stdout" "${args[@]}"
	for opt in --irqchip=MODE --smp=N --mem=MIB --timeout=SEC --cmdline=STR --env=KEY=VALUE \
		--kernel=BZIMAGE --initrd=FILE --append=STR --acpi "no ACPI" \
		--no-virtual-wire --no-x2apic --no-tsc-deadline --stats --serial-input=FILE \
		--help --version "1-64" \
		"2-3072" "0-31536000" "2 on a usage" "IMAGE as given, a space, then STR"; do
		has "$out" "$opt"
		check "want '$opt' in the usage" "${args[@]}"
	done
done
run --version
is "$status" 0
check "want status 0" --version
is "$err" ""
check "want nothing on stderr" --version
is "$out" "virq-vmm (libvirq) $version"
check "want 'virq-vmm (libvirq) $version'" --version
if [ -w /dev/full ]; then
	"$vmm" --help >/dev/full 2>"$tmp/err"
	status=$?
	out=
	err=$(<"$tmp/err")
	is "$status" 4
	check "want status 4 when stdout cannot be written" --help ">/dev/full"
	has "$err" "cannot write"
	check "want a message" --help ">/dev/full"
fi

# Good values at both ends of every range, both forms.
good --smp 1
good --smp 64
good --smp=64
good --mem 2
good --mem 3072
good --mem=3072
good --timeout 0
good --timeout=0
good --timeout 31536000
good --timeout=31536000
good --irqchip user
good --irqchip=split
good --irqchip=split --irqchip=user
good --stats
good --cmdline ""
good --cmdline="a b --smp 0"
good --env A=
good --env A=b=c --env B=1
good --smp 64 --env "$(printf 'K=%01009d' 0)" # 1011 bytes: exactly full
good --smp 1 --env "$long"                    # 1012 bytes and "NR_CPUS=1\n"
good --smp 2 --smp 3
good --no-virtual-wire
good --no-x2apic
good --no-tsc-deadline
good --no-x2apic --no-tsc-deadline --no-virtual-wire --irqchip=split
good --no-x2apic --no-x2apic
good --no-v --no-x --no-t # unique abbreviations, as for every long option
good --irqchip=split --smp=64 --mem=3072 --timeout=31536000 --stats --cmdline=x --env=Q=1
good --smp 2 --
run "$image" --smp 2 --mem 64
is "$status" 4
check "want status 4 with options after IMAGE" "$image" --smp 2 --mem 64
starts "$err" "$runtime_error"
check "want stderr to start with '$runtime_error'" "$image" --smp 2 --mem 64

# goodk ARGS...: a --kernel command line that parses; the run fails at
# /dev/kvm or at the bzImage, which never exists (status 4).
goodk()
{
	run "$@"
	is "$status" 4
	check "want status 4 (VMM error: parsing passed)" "$@"
	is "$out" ""
	check "want nothing on stdout" "$@"
	starts "$err" "$kernel_error"
	check "want stderr to start with '$kernel_error'" "$@"
	hasnt "$err" "--help"
	check "want no usage hint" "$@"
}
goodk --kernel "$kimage"
goodk --acpi --kernel "$kimage" --acpi
goodk --kernel="$kimage" --initrd "$tmp/rd" --append "console=ttyS0 acpi=off"
goodk --append "" --kernel "$kimage" --initrd="$tmp/rd"
goodk --irqchip=split --smp=64 --mem=3072 --timeout=5 --stats --kernel "$kimage" --append=x
goodk --save "$tmp/snap" --kernel "$kimage" --smp 2 --
goodk --kernel "$tmp/other" --kernel "$kimage" # the last one counts

# Snapshots: --save needs the user irqchip; --restore takes the machine
# from the file (no IMAGE, no machine option) and checks the file before
# anything else opens.
bad --save "" --irqchip=split --save "$tmp/snap" "$image"
bad --save "" --save "" "$image"
bad --restore "" --restore=
bad --restore "$image" --restore "$tmp/snap" "$image"
for opt in --smp=2 --mem=64 --irqchip=user --no-x2apic --no-tsc-deadline --no-virtual-wire \
	--cmdline=x --env=A=1; do
	bad "${opt%%=*}" "" --restore "$tmp/snap" "$opt"
done
bad --save "$tmp/snap" --save "$tmp/snap" --restore "$tmp/snap"
good --save "$tmp/snap"
bad --serial-input "" "$image" --serial-input=
good --serial-input "$tmp/snap"
good --save="$tmp/snap" --irqchip=user --smp 64
printf 'not a snapshot at all, just some bytes of text' >"$tmp/garbage"
# A header of format version 1 (before the PIT and COM1's interrupts).
{ printf 'VIRQSNAP\001\000\000\000'; head -c 52 /dev/zero; } >"$tmp/version1"
for f in "$tmp/none" "$tmp/garbage" "$tmp/version1"; do
	run --restore "$f" --timeout 5 --stats --save "$tmp/snap2"
	is "$status" 4
	check "want status 4 (refused)" --restore "$f"
	starts "$err" "virq-vmm: --restore refused: $f: "
	check "want stderr to start with 'virq-vmm: --restore refused: $f: '" --restore "$f"
	hasnt "$err" /dev/kvm
	check "want nothing opened (no word of /dev/kvm)" --restore "$f"
done
has "$err" "format version 1: this virq-vmm reads version 2 only"
check "want 'format version 1: this virq-vmm reads version 2 only'" --restore "$tmp/version1"
run --restore "$tmp/garbage"
has "$err" "not a virq-vmm snapshot"
check "want 'not a virq-vmm snapshot'" --restore "$tmp/garbage"

echo "$checks checks, $failed failed"
[ "$failed" -eq 0 ]
