#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs a guest image as two virq-vmm processes, as a meson test: the first
# boots it with --save and must exit with status 6 ("saved") once the guest
# wrote the snapshot port; the second resumes it with --restore and its
# checks decide the verdict (verdict.sh, as run-guest.sh). In between,
# negative controls, each refused (status 4, a "--restore refused" message)
# before any guest code runs: a copy of the file with one byte of libvirq's
# I/O APIC state flipped (the checksum sees it), one with a reserved IRR bit
# of a LAPIC set and the checksum fixed (libvirq's own validation sees
# it), one of another format version, a truncated one.
# The restore comes two seconds after the save: guest time must not see it.
#
#   run-snapshot.sh <vmm-binary> <smp> <image> [extra VMM args for the first run]
#
# Exit status: 0 pass, 77 skip (no read-write /dev/kvm, or skipped checks),
# 1 anything else (a timeout of 60 s per process included).
set -u

if [ $# -lt 3 ]; then
	echo "usage: $0 <vmm-binary> <smp> <image> [extra args]" >&2
	exit 2
fi
vmm=$1
smp=$2
image=$3
shift 3
name=$(basename "$image" .elf)

# shellcheck source=tests/guests/verdict.sh
. "$(dirname "${BASH_SOURCE[0]}")/verdict.sh" || exit 1

kvm_dev=${RUN_GUEST_KVM_DEV:-/dev/kvm}
if [ ! -e "$kvm_dev" ] || ! { exec 9<>"$kvm_dev"; } 2>/dev/null; then
	echo "SKIP: $kvm_dev not available (cannot open it read-write): $name not run"
	exit 77
fi
exec 9>&-

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
snap=$dir/snap

# The first process: boots the guest, saves at its request.
t0=$(date +%s%N)
timeout --kill-after=5 60 "$vmm" --irqchip=user --smp "$smp" --timeout 50 --save "$snap" \
	"$image" "$@" </dev/null >"$dir/save.out" 2>&1
status=$?
t1=$(date +%s%N)
if [ "$status" -ne 6 ] || [ ! -s "$snap" ]; then
	cat "$dir/save.out"
	echo "FAIL: $name: the --save run exited with status $status, not 6 (saved)," \
		"or wrote no snapshot"
	exit 1
fi
echo "run-snapshot: saved $(stat -c %s "$snap") bytes in $(((t1 - t0) / 1000000)) ms"

# Negative controls: nothing may run from a damaged or foreign file.
flip_byte() # file offset
{
	local b
	b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	printf '%b' "\\0$(printf %03o $((b ^ 0x10)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
refused() # what file expected-message
{
	local out=$dir/refused.out st
	timeout --kill-after=5 60 "$vmm" --restore "$2" </dev/null >"$out" 2>&1
	st=$?
	if [ "$st" -ne 4 ] || ! grep -q -- "--restore refused: .*$3" "$out" ||
		grep -q -e '^PASS' -e '^FAIL' -e '^SUMMARY' "$out"; then
		cat "$out"
		echo "FAIL: $name: restoring $1 gave status $st (want 4, \"$3\", no guest output)"
		exit 1
	fi
	echo "run-snapshot: $1 refused: $(head -n 1 "$out")"
}
# The header is 64 bytes, then the glue's VM state: 24 bytes, then the
# I/O APIC's state, whose version word is flipped here.
cp "$snap" "$dir/bad-state"
flip_byte "$dir/bad-state" 88
refused "a file with one byte of the I/O APIC state flipped" "$dir/bad-state" "damaged"
# The same flip where only libvirq's own check can see it: a bit of vector
# 0 set in vCPU 0's LAPIC IRR (vectors 0-15 are reserved), the checksum
# made right again.
cp "$snap" "$dir/bad-lapic"
python3 - "$dir/bad-lapic" <<'PY' || exit 1
import struct, sys, zlib
path = sys.argv[1]
b = bytearray(open(path, 'rb').read())
vm_size, dev_size = struct.unpack_from('<II', b, 16)
# snap_vcpu 0: struct virq_kvm_vcpu_state (16 bytes, then virq_lapic_state:
# 32 bytes, then regs[256]: IRR word 0 is regs[0x200 / 4]).
off = 64 + vm_size + dev_size + 16 + 32 + 0x200
b[off] |= 0x01
struct.pack_into('<Q', b, 56, zlib.crc32(bytes(b[64:])))
open(path, 'wb').write(b)
PY
refused "a file with vector 0 in a LAPIC's IRR (checksum fixed)" "$dir/bad-lapic" \
	"vCPU 0: the LAPIC or event policy state is refused"
cp "$snap" "$dir/bad-version"
flip_byte "$dir/bad-version" 8
refused "a file of another format version" "$dir/bad-version" "format version"
cp "$snap" "$dir/truncated"
truncate -s -1 "$dir/truncated"
refused "a truncated file" "$dir/truncated" "damaged"

sleep 2

# The second process: resumes it; the guest's checks run here.
t0=$(date +%s%N)
timeout --kill-after=5 60 "$vmm" --restore "$snap" --timeout 50 </dev/null \
	>"$dir/restore.out" 2>&1
status=$?
t1=$(date +%s%N)
echo "run-snapshot: restored run took $(((t1 - t0) / 1000000)) ms"
cat "$dir/save.out" "$dir/restore.out" >"$dir/all.out"
guest_report "$dir/all.out" "$status" "$name --irqchip=user (save, restore)"
exit $?
