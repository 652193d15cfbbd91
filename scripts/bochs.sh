#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/bochs.sh: runs a Multiboot v1 kernel under Bochs (headless, VMX
# CPU model) and reports.
#
#   scripts/bochs.sh [options] KERNEL ['MODULE [words]']...
#
#   --smp N          CPUs (default 1)
#   --megs N         RAM in MiB (default 128)
#   --timeout S      outer timeout in seconds (default 60)
#   --cmdline TEXT   the kernel's command line after its own name: the
#                    kernel gets "KERNEL TEXT", as from QEMU -kernel/-append
#   --cpu MODEL      Bochs CPU model (default corei7_skylake_x: VMX with
#                    EPT, unrestricted guest, APIC virtualization)
#   --keep           keep the work directory (disk image, bochsrc, log) and
#                    print its path
#
# Each MODULE argument is one Multiboot module: the first word is the file,
# the whole argument its string (QEMU -initrd style), so a guest loaded by a
# hypervisor kernel reads "FILE words" as its own command line.
#
# KERNEL is an ELF file (ELF32 or ELF64) whose lowest load address is
# 1 MiB. It is laid out as a raw disk image: a boot sector
# (scripts/bochs-boot.S, assembled here with gcc and ld) that loads the rest
# to 1 MiB and enters the kernel as a Multiboot loader does; the kernel as a
# flat binary padded with zeros to the end of its .bss; each module at the
# next 4 KiB boundary; a 4 KiB page with the Multiboot information
# (flags: mem, cmdline, mods).
#
# Bochs runs with `-q -unlock -f bochsrc -rc rc </dev/null` (rc answers the
# debugger Bochs starts in: `c`, then `quit`), the rfb display with
# timeout=0 (no client needed), `info: action=ignore` and its log in the
# work directory. Port 0xE9 output is streamed to stdout as it comes.
#
# The kernel reports its result with a line "bochs-exit: N" (0 <= N <= 123)
# on port 0xE9 and then ends the run: `xchg %bx,%bx` (magic breakpoint: the
# debugger runs `quit`), or "Shutdown" written to port 0x8900.
#
# Exit status:
#   N     the N of the last "bochs-exit: N" line (0 = pass for a test
#         kernel; a hypervisor may pass on its guest's status)
#   1     Bochs ended without such a line (triple fault, shutdown, panic):
#         the last lines of its log are printed
#   124   timeout (the outer timeout killed Bochs)
#   125   could not run: Bochs missing and not installable, no gcc/ld/
#         objcopy/readelf, a bad KERNEL or MODULE, Bochs failing before the
#         boot sector ran, or the boot sector failing to load the image
#
# Bochs is installed with apt-get (bochs bochsbios vgabios) when missing and
# this runs as root; otherwise the run fails with 125 and says why. Each run
# has its own work directory and disk image; Bochs's rfb display takes the
# next free TCP port from 5900, so runs can go in parallel. Lines of the
# Bochs log naming a failed VMX instruction or VM entry (VMFAIL, VMENTER
# FAIL) or a panic are always copied to stderr. The last line on stderr
# gives the status, wall and CPU seconds of the Bochs run.
set -u

me=bochs.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
smp=1 megs=128 tmo=60 cmdline='' cpu=corei7_skylake_x keep=0

die() # status message
{
	echo "$me: $2" >&2
	exit "$1"
}

while [ $# -gt 0 ]; do
	case $1 in
	--smp) smp=${2:?}; shift 2 ;;
	--megs) megs=${2:?}; shift 2 ;;
	--timeout) tmo=${2:?}; shift 2 ;;
	--cmdline) cmdline=${2?}; shift 2 ;;
	--cpu) cpu=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	--) shift; break ;;
	-*) die 125 "unknown option $1 (see the comment at the top of $0)" ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || die 125 "usage: $me [--smp N] [--megs N] [--timeout S] [--cmdline TEXT] [--cpu MODEL] [--keep] KERNEL ['MODULE [words]']..."
for n in "$smp" "$megs" "$tmo"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die 125 "not a positive number: $n"
done
kernel=$1
shift

if ! command -v bochs >/dev/null; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		echo "$me: bochs missing: apt-get install -y bochs bochsbios vgabios" >&2
		{ apt-get update && apt-get install -y bochs bochsbios vgabios; } >/dev/null 2>&1 ||
			die 125 "apt-get could not install bochs"
	else
		die 125 "bochs is not installed; as root: apt-get install -y bochs bochsbios vgabios"
	fi
fi
for t in gcc ld objcopy readelf timeout; do
	command -v $t >/dev/null || die 125 "$t not found (needed to build the disk image)"
done
bios=/usr/share/bochs/BIOS-bochs-latest
vgabios=/usr/share/bochs/VGABIOS-lgpl-latest
{ [ -r "$bios" ] && [ -r "$vgabios" ]; } || die 125 "$bios or $vgabios missing (packages bochsbios, vgabios)"

work=$(mktemp -d "${TMPDIR:-/tmp}/bochs.XXXXXX") || die 125 "mktemp failed"
if [ $keep -eq 1 ]; then
	echo "$me: work directory $work" >&2
else
	trap 'rm -rf "$work"' EXIT
fi

# Little-endian 32-bit value as printf escapes.
le32()
{
	printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
		$(($1 >> 16 & 255)) $(($1 >> 24 & 255))
}
# Append zeros to FILE up to a multiple of ALIGN bytes.
pad()
{
	local size
	size=$(stat -c %s "$1")
	truncate -s $(((size + $2 - 1) / $2 * $2)) "$1"
}

# --- the image ---------------------------------------------------------
load=$((0x100000))
readelf -h "$kernel" >/dev/null 2>&1 || die 125 "$kernel: not an ELF file"
entry=$(readelf -h "$kernel" | awk '/Entry point/ { print $NF }')
lo='' hi=0
while read -r _ _ _ pa _ msz _; do
	[ -z "$lo" ] || [ $((pa)) -lt "$lo" ] && lo=$((pa))
	[ $((pa + msz)) -gt $hi ] && hi=$((pa + msz))
done < <(readelf -lW "$kernel" | awk '$1 == "LOAD"')
[ "${lo:-0}" -eq $load ] || die 125 "$kernel: lowest load address is not 1 MiB"
objcopy -O binary "$kernel" "$work/image" || die 125 "$kernel: objcopy -O binary failed"
truncate -s $((hi - load)) "$work/image" # the .bss, as zeros
pad "$work/image" 4096

[ $# -le 8 ] || die 125 "at most 8 modules"
mods=() strs=()
for m in "$@"; do
	f=${m%% *}
	[ -f "$f" ] || die 125 "module $f: no such file"
	mods+=($(($(stat -c %s "$work/image") + load)))
	cat "$f" >>"$work/image"
	mods+=($(($(stat -c %s "$work/image") + load)))
	pad "$work/image" 4096
	strs+=("$m")
done

# Multiboot information (Multiboot Specification 3.3 "Boot information format"): the structure at
# +0, the module list at +0x80, strings from +0x200.
info=$(($(stat -c %s "$work/image") + load))
[ $((info + 4096)) -le $((megs << 20)) ] || die 125 "the image does not fit in $megs MiB"
s=$((info + 0x200))
strtab=$kernel${cmdline:+ $cmdline}
cmd_at=$s
s=$((s + ${#strtab} + 1))
modtab=''
for i in "${!strs[@]}"; do
	modtab+=$(le32 "${mods[$((2 * i))]}")$(le32 "${mods[$((2 * i + 1))]}")$(le32 $s)$(le32 0)
	strtab+=$'\n'${strs[$i]}
	s=$((s + ${#strs[$i]} + 1))
done
[ $((s - info)) -le 4096 ] || die 125 "command lines too long"
{
	printf %b "$(le32 $((1 | 4 | 8)))$(le32 639)$(le32 $(((megs - 1) * 1024)))"
	printf %b "$(le32 0)$(le32 $cmd_at)$(le32 $#)$(le32 $((info + 0x80)))"
} >"$work/info"
truncate -s $((0x80)) "$work/info"
printf %b "$modtab" >>"$work/info"
truncate -s $((0x200)) "$work/info"
printf '%s' "$strtab" | tr '\n' '\0' >>"$work/info"
printf '\0' >>"$work/info"
truncate -s 4096 "$work/info"
cat "$work/info" >>"$work/image"
sectors=$(($(stat -c %s "$work/image") / 512))

{ gcc -c -m32 "$here/bochs-boot.S" -o "$work/boot.o" &&
	ld -m elf_i386 -Ttext=0x7c00 --oformat=binary -o "$work/boot.bin" "$work/boot.o"; } ||
	die 125 "could not assemble $here/bochs-boot.S"
printf %b "$(le32 $((entry)))$(le32 $info)$(le32 $sectors)" |
	dd of="$work/boot.bin" bs=1 seek=$((0x1f0)) conv=notrunc status=none
# Geometry: 16 heads, 63 sectors a track, as many cylinders as needed.
cyl=$(((sectors + 1 + 1007) / 1008))
cat "$work/boot.bin" "$work/image" >"$work/disk.img"
truncate -s $((cyl * 1008 * 512)) "$work/disk.img"

cat >"$work/bochsrc" <<EOF
megs: $megs
romimage: file=$bios
vgaromimage: file=$vgabios
cpu: model=$cpu, count=$smp, ips=10000000, reset_on_triple_fault=0
ata0-master: type=disk, path=$work/disk.img, mode=flat, cylinders=$cyl, heads=16, spt=63
boot: disk
display_library: rfb, options="timeout=0"
port_e9_hack: enabled=1
magic_break: enabled=1
info: action=ignore
sound: driver=dummy
speaker: enabled=0
mouse: enabled=0
log: $work/bochs.log
EOF
printf 'c\nquit\n' >"$work/rc"

# --- the run -----------------------------------------------------------
# Bochs's stdout holds the debugger's lines ("Next at t=...", "(0) [0x...]",
# "<bochs:N>" prompts) and the port 0xE9 bytes: the filter drops the first
# kind and the boot sector's "bochs-boot:" lines (kept in $work/boot), and
# streams the rest.
filter()
{
	awk -v boot="$work/boot" '
	{ sub(/^(<bochs:[0-9]+> )+/, "") }
	/^bochs-boot: / { print > boot; fflush(boot); next }
	/^Next at t=/ || /^\([0-9]+\)\.?\[[0-9]+\] \[0x[0-9a-f]+\] / || /^\([0-9]+\) \[0x[0-9a-f]+\] / ||
	/^\([0-9]+\) Magic breakpoint$/ || /^<bochs:[0-9]+> *$/ { next }
	/^=+$/ || /^ +Bochs x86 Emulator/ || /^ +Built from/ || /^ +Compiled on/ ||
	/^ +Timestamp: / { next }
	{ print; fflush() }' | tee "$work/out"
}

# CPU seconds (user + system) of this shell's reaped children so far; `times`
# must run in this shell, not in a command substitution's subshell.
child_cpu()
{
	times >"$work/times"
	awk 'NR == 2 { gsub(/[ms]/, " "); printf "%.3f", $1 * 60 + $2 + $3 * 60 + $4 }' "$work/times"
}

t0=$(date +%s.%N)
child_cpu >"$work/c0"
timeout --kill-after=5 "$tmo" bochs -q -unlock -f "$work/bochsrc" -rc "$work/rc" \
	</dev/null 2>"$work/stderr" | filter
st=("${PIPESTATUS[@]}")
t1=$(date +%s.%N)
child_cpu >"$work/c1"
cpu_s=$(awk -v a="$(cat "$work/c0")" -v b="$(cat "$work/c1")" 'BEGIN { printf "%.2f", b - a }')
bst=${st[0]}

res=$(sed -n 's/^bochs-exit: \([0-9][0-9]*\)\r\{0,1\}$/\1/p' "$work/out" | tail -n 1)
if [ "$bst" -eq 124 ] || [ "$bst" -eq 137 ]; then
	rc=124 why="timeout after $tmo s"
elif ! grep -q '^bochs-boot: loading' "$work/boot" 2>/dev/null; then
	rc=125 why="Bochs (status $bst) did not reach the boot sector"
elif grep -q '^bochs-boot: .*error' "$work/boot"; then
	rc=125 why="$(grep '^bochs-boot: .*error' "$work/boot" | head -n 1)"
elif [ -n "$res" ] && [ "$res" -le 123 ]; then
	rc=$res why="kernel result line"
else
	rc=1 why="Bochs ended (status $bst) without a 'bochs-exit: N' line with N <= 123"
fi
if { [ "$rc" -eq 1 ] && [ -z "$res" ]; } || [ "$rc" -ge 124 ]; then
	echo "$me: $why; last lines of the Bochs log and stderr:" >&2
	grep -v '^$' "$work/bochs.log" 2>/dev/null | tail -n 15 | sed "s/^/$me:   /" >&2
	tail -n 5 "$work/stderr" | sed "s/^/$me:   /" >&2
fi
# Bochs names a failed VMX instruction or VM entry exactly: always shown.
grep -E 'VMFAIL|VMENTER FAIL|VMEXIT: .*[Ff]ail|>>PANIC<<' "$work/bochs.log" 2>/dev/null |
	head -n 10 | sed "s/^/$me: Bochs log: /" >&2
awk -v t0="$t0" -v t1="$t1" -v rc="$rc" -v why="$why" -v cpu="$cpu_s" -v me="$me" \
	'BEGIN { printf "%s: status %d (%s), wall %.2f s, cpu %s s\n", me, rc, why, t1 - t0, cpu }' >&2
exit "$rc"
