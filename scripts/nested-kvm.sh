#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/nested-kvm.sh: runs a command where /dev/kvm exists, on a machine
# without one.
#
#   bash scripts/nested-kvm.sh [--] CMD [ARG...]
#   bash scripts/nested-kvm.sh --help
#
# It boots a throwaway Linux (the "L1") under QEMU's TCG emulator with
# `-cpu max`, which emulates AMD SVM, loads kvm and kvm_amd there, and runs
# CMD in it as root, with /dev/kvm (mode 0666). The L1's root file system is
# this machine's, shared read-only over 9p, and the work tree is shared
# read-write at the same absolute path, so CMD runs the very binaries built
# here, in the caller's working directory. CMD's standard output and error
# are printed here when it ends (stdin is /dev/null), and the exit status is
# CMD's. Booting takes about 20 s on a 2-core machine; KVM exits in the L1
# are slow (TCG emulates the hypervisor), so CMD should not expect
# bare-metal timing. There is no network in the L1.
#
# The L1: Debian's kernel (the package linux-image-amd64 points to, taken
# apart with apt-get download + dpkg-deb, never installed) and its kvm,
# kvm_amd, virtio and 9p modules, a busybox initramfs built here, 2 vCPUs
# (-smp 2), 3 GiB. kvm_amd is loaded with nested=0: the L1 runs KVM guests
# but no guest needs SVM itself (set VIRQ_NESTED_KVM_AMD to change that).
# In the L1, /tmp, /run, /var/tmp and /dev/shm are empty tmpfs mounts; the
# rest of the host's root is read-only.
#
# Exit status: CMD's, or
#   124  the L1 gave no result: CMD did not end within the time limit, the
#        L1 hung, panicked or powered off early, or did not reach CMD in
#        three boots. (An L1 that went away while CMD ran, with no result
#        and no kernel panic, as QEMU does on a triple fault of the L1
#        under -no-reboot, runs CMD again in a new L1, once, with a
#        warning; the lost console is kept beside the final one, with
#        suffix .lost, and QEMU's CPU-reset log is shown.) The last 80 lines of its serial console (kernel
#        messages and CMD's output as it ran; on a timeout, the kernel's
#        dump of blocked tasks and CPU backtraces, asked for with SysRq,
#        and where QEMU's vCPUs are) are printed on stderr, and the whole
#        console is kept (VIRQ_NESTED_CONSOLE_LOG, else console-failed.log
#        in the cache).
#   125  nested-kvm could not run CMD: a package cannot be installed, no
#        kernel package, QEMU missing, no /dev/kvm in the L1, the working
#        directory missing there, a bad argument. Says why on stderr.
#
# Environment:
#   VIRQ_NESTED_TIMEOUT      limit in seconds for the whole run, boot
#                            included (default 1200)
#   VIRQ_NESTED_SHARE        the read-write tree (default: the git top
#                            level of the working directory, else the
#                            working directory itself)
#   VIRQ_NESTED_CACHE        where the kernel package, the kernel and the
#                            initramfs are kept between runs (default
#                            build/nested-kvm in this repository)
#   VIRQ_NESTED_TMPFS        colon-separated directories (relative to the
#                            working directory, or absolute) under the share
#                            that live on the L1's tmpfs while CMD runs and
#                            are copied back when it ends: for logs written
#                            while the L1 is busy (see "Why" below), e.g.
#                            meson's BUILD/meson-logs
#   VIRQ_NESTED_MEM          L1 memory in MiB (default 3072)
#   VIRQ_NESTED_SMP          L1 vCPUs (default 2)
#   VIRQ_NESTED_KVM_AMD      kvm_amd module parameters (default nested=0)
#   VIRQ_NESTED_ACCEL        QEMU's -accel (default tcg,thread=multi,tb-size=1024)
#   VIRQ_NESTED_BOOT_LIMIT   seconds for a boot to reach CMD (default 120)
#   VIRQ_NESTED_CONSOLE=1    also show the L1's console on stderr as it runs
#   VIRQ_NESTED_CONSOLE_LOG  save the L1's whole console to this file
#   VIRQ_NO_INSTALL=1        do not install missing packages
# CMD sees the caller's exported environment (but PWD, OLDPWD, SHLVL and
# HOSTNAME; TMPDIR only if it exists in the L1) plus VIRQ_NESTED_L1=1.
#
# Why it works this way:
#   - CMD's output goes to the L1's tmpfs and is copied to the share once,
#     at the end: writing to a 9p share from a busy L1 is known to have
#     crashed the L1 kernel once (a 9p write corrupted its stack). The console gets a copy as it
#     runs, for the diagnosis of a hang.
#   - The job (environment, directory, CMD's words, each quoted) and its
#     results go through a private directory of its own, shared as a third
#     9p export, so nothing is left in the work tree.
#   - Packages come from Debian only (qemu-system-x86, busybox-static, cpio,
#     the kernel image), installed with apt-get when missing.
#   - Under QEMU's multi-threaded TCG, the L1 kernel hung when KVM patched
#     kernel code to flip its static keys (at the first or last vCPU or
#     LAPIC of a kind, so in every guest program's run); a small Python
#     program in the L1 (the host's /usr/bin/python3) holds a vCPU and
#     LAPICs of each kind while CMD runs, so that the patching happens
#     before CMD. A boot that does not reach CMD within 120 s is retried,
#     twice at most.
#   - The kernel is booted uncompressed through its PVH entry point: the
#     bzImage took 10-14 s more under TCG (firmware, decompression).

set -uo pipefail

NK_SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
# shellcheck source=scripts/lib.sh
. "$(dirname "$NK_SELF")/lib.sh"

NK_TIMEOUT=${VIRQ_NESTED_TIMEOUT:-1200}
NK_MEM=${VIRQ_NESTED_MEM:-3072}
NK_SMP=${VIRQ_NESTED_SMP:-2}
NK_KVM_AMD=${VIRQ_NESTED_KVM_AMD:-nested=0}
NK_ACCEL=${VIRQ_NESTED_ACCEL:-tcg,thread=multi,tb-size=1024}
# Boot messages, the ready line and CMD's output are in the console; this
# many of its last lines are shown when the L1 gives no result.
NK_TAIL=80
# A boot that has not reached the command after this many seconds (it
# takes 5-25) is taken for hung, and retried.
NK_BOOT_LIMIT=${VIRQ_NESTED_BOOT_LIMIT:-120}
# Modules the L1 needs, by module name; their dependencies come from the
# modules' own "depends=" fields (the package has no modules.dep).
NK_MODS_BASE="virtio_pci 9pnet_virtio 9p"
NK_MODS_KVM="kvm_amd"

nk_die()
{
	printf 'nested-kvm: %s\n' "$*" >&2
	exit 125
}

nk_usage()
{
	sed -n '4,/^$/{s/^# \{0,1\}//;p}' "$NK_SELF"
}

# Quotes a string for sh (and bash): 'it'\''s'.
nk_quote()
{
	local s=$1
	printf "'%s'" "${s//\'/\'\\\'\'}"
}

# QEMU option values: a comma is written twice.
nk_qemu_escape()
{
	printf '%s' "${1//,/,,}"
}

# ---- tools -------------------------------------------------------------

nk_tools()
{
	if [ "${VIRQ_NO_INSTALL:-0}" != 1 ]; then
		virq_need qemu-system-x86:qemu-system-x86_64 busybox-static cpio:cpio ||
			virq_warn "continuing without some packages"
	fi
	command -v qemu-system-x86_64 >/dev/null 2>&1 ||
		nk_die "qemu-system-x86_64 not found (Debian package qemu-system-x86)"
	command -v cpio >/dev/null 2>&1 || nk_die "cpio not found (Debian package cpio)"
	# The initramfs has no C library: busybox must be the static one.
	NK_BUSYBOX=
	if virq_pkg_present busybox-static ""; then
		NK_BUSYBOX=$(dpkg -L busybox-static 2>/dev/null | grep -m 1 '/busybox$')
	fi
	if [ -z "$NK_BUSYBOX" ] || [ ! -x "$NK_BUSYBOX" ]; then
		nk_die "no static busybox (Debian package busybox-static)"
	fi
}

# ---- the kernel --------------------------------------------------------

# Prints the package linux-image-amd64 depends on (linux-image-VERSION-amd64).
nk_kernel_package()
{
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

# Leaves the kernel package (.deb) in $NK_CACHE/kernel/ unless one is there.
nk_fetch_kernel()
{
	local pkg dir=$NK_CACHE/kernel tmp

	NK_DEB=$(find "$dir" -maxdepth 1 -name 'linux-image-*.deb' 2>/dev/null | sort | tail -n 1)
	[ -n "$NK_DEB" ] && return 0

	pkg=$(nk_kernel_package)
	if [ -z "$pkg" ]; then
		# Package lists not there yet (a fresh container).
		virq_as_root apt-get update -qq >&2 || true
		pkg=$(nk_kernel_package)
	fi
	[ -n "$pkg" ] || nk_die "apt-cache knows no linux-image-amd64: no kernel package"
	virq_log "nested-kvm: fetching the kernel package $pkg (apt-get download, once)"
	mkdir -p "$dir" || nk_die "cannot create $dir"
	tmp=$(mktemp -d "$dir/download.XXXXXX") || nk_die "cannot write in $dir"
	# apt's sandbox user cannot write here: the warning that it downloads
	# as root is expected.
	if ! (cd "$tmp" && apt-get download "$pkg" >download.log 2>&1); then
		cat "$tmp/download.log" >&2
		rm -rf "$tmp"
		nk_die "apt-get download $pkg failed"
	fi
	mv "$tmp"/*.deb "$dir/" && rm -rf "$tmp"
	NK_DEB=$(find "$dir" -maxdepth 1 -name 'linux-image-*.deb' | sort | tail -n 1)
	[ -n "$NK_DEB" ] || nk_die "no .deb after apt-get download $pkg"
}

# A module file's contents, whatever its compression.
nk_mod_cat()
{
	case $1 in
	*.ko.xz) xz -dc "$1" ;;
	*.ko.zst) zstd -dcq "$1" ;;
	*.ko.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# nk_mod_order TREE NAME...: prints the module files (paths under TREE)
# to load for NAMEs, each after its dependencies, each once.
nk_mod_order()
{
	local tree=$1 f n
	shift
	declare -gA NK_MOD_PATH=() NK_MOD_DONE=()
	# Some 4000 modules: no process per module.
	while IFS= read -r f; do
		n=${f##*/}
		n=${n%%.ko*}
		NK_MOD_PATH[${n//-/_}]=$f
	done < <(find "$tree" -name '*.ko*')
	for n in "$@"; do
		nk_mod_visit "$n" || return 1
	done
}

nk_mod_visit()
{
	local n=${1//-/_} f deps d

	[ -n "${NK_MOD_DONE[$n]:-}" ] && return 0
	f=${NK_MOD_PATH[$n]:-}
	if [ -z "$f" ]; then
		virq_warn "nested-kvm: module $n is not in the kernel package"
		return 1
	fi
	NK_MOD_DONE[$n]=1
	deps=$(nk_mod_cat "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1)
	for d in ${deps//,/ }; do
		nk_mod_visit "$d" || return 1
	done
	printf '%s\n' "$f"
}

# Writes the L1's /init, a busybox script. It reads its settings from the
# job share (so they change without a rebuild) and reports through it.
nk_write_init()
{
	cat >"$1" <<'EOF'
#!/bin/busybox sh
# PID 1 of the nested-kvm L1 (written by scripts/nested-kvm.sh).
/bin/busybox mkdir -p /bin /dev /proc /sys /host /job
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
# Every SysRq function: the host asks for task and CPU dumps on a timeout.
echo 1 >/proc/sys/kernel/sysrq

say() { echo "nested-kvm-init: $*"; }
# A failure before CMD runs: reported as such (the host exits 125).
fail()
{
	say "$*"
	mountpoint -q /job && { echo "$*" >/job/error; sync; }
	poweroff -f
}
load()
{
	m=$1
	shift
	insmod "/modules/$m" "$@" || fail "insmod $m $* failed"
}
p9="trans=virtio,version=9p2000.L,msize=512000"

for m in $(cat /modules/base.list); do load "$m"; done
mount -t 9p -o "$p9" job /job || fail "cannot mount the job share"
# WORK (the read-write tree) and KVM_AMD (kvm_amd's parameters).
. /job/setup
for m in $(cat /modules/kvm.list); do
	case $m in
	kvm-amd.ko* | kvm_amd.ko*) load "$m" $KVM_AMD ;;
	*) load "$m" ;;
	esac
done
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm_amd (no SVM in the L1 CPU?)"
# Symbols for the diagnosis of a hang, once per kernel (before CMD runs:
# the L1 is not busy yet).
[ "$KALLSYMS" = 1 ] && grep -i ' t ' /proc/kallsyms >/job/kallsyms
chmod 0666 /dev/kvm

# The host's root, read-only: it changes under us only by its owner's
# doing, so the page cache may keep what it read (cache=loose).
mount -t 9p -o "$p9,ro,cache=loose" root /host || fail "cannot mount the root share"
for d in tmp run var/tmp; do
	[ -d "/host/$d" ] && mount -t tmpfs -o mode=1777 tmpfs "/host/$d"
done
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
# What udev would add, for bash's process substitution and the like.
ln -sf /proc/self/fd /host/dev/fd
ln -sf /proc/self/fd/0 /host/dev/stdin
ln -sf /proc/self/fd/1 /host/dev/stdout
ln -sf /proc/self/fd/2 /host/dev/stderr
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
# The work tree (no cache: the host reads what is written here).
mkdir -p "/host$WORK" 2>/dev/null
mount -t 9p -o "$p9" work "/host$WORK" || fail "cannot mount the work share at $WORK"
mkdir -p /host/run/nested-kvm/job /host/run/nested-kvm/out
mount -o bind /job /host/run/nested-kvm/job || fail "cannot bind the job share"

# KVM's static keys held on while CMD runs (see nk_write_pin).
pinpid=
if [ -f /job/pin.py ] && [ -x /host/usr/bin/python3 ]; then
	chroot /host /usr/bin/python3 /run/nested-kvm/job/pin.py &
	pinpid=$!
	i=0
	while [ ! -e /host/run/nested-kvm/pinned ] && [ $i -lt 600 ] &&
	      kill -0 $pinpid 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e /host/run/nested-kvm/pinned ] || say "KVM's static keys not pinned (ignored)"
fi

out=/host/run/nested-kvm/out
: >"$out/stdout"
: >"$out/stderr"
say "L1 ready after $(cut -d ' ' -f 1 /proc/uptime) s, running the command"
# A copy of CMD's output on the console, for the diagnosis of a hang.
tail -f "$out/stdout" &
tailpids=$!
tail -f "$out/stderr" &
tailpids="$tailpids $!"
chroot /host "$SHELL_PATH" /run/nested-kvm/job/job.sh </dev/null >"$out/stdout" 2>"$out/stderr"
rc=$?
[ -n "$pinpid" ] && kill $pinpid
sleep 1
kill $tailpids
# The results, once: stdout, stderr, then the status that marks them done.
cp "$out/stdout" "$out/stderr" /job/ || fail "cannot copy the output to the job share"
echo "$rc" >/job/status
sync
say "command exited with status $rc"
poweroff -f
EOF
	chmod 0755 "$1"
}

# nk_extract_vmlinux BZIMAGE VMLINUX: the kernel ELF inside a Debian
# (xz-compressed) bzImage, if it has a PVH entry point. Under TCG the
# bzImage's own boot path (SeaBIOS, then decompressing 60 MB) takes 10 s
# and more; QEMU starts a PVH ELF directly, in about a second.
nk_extract_vmlinux()
{
	local off

	off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "$1" | head -n 1 | cut -d: -f1)
	[ -n "$off" ] && command -v xz >/dev/null 2>&1 || return 1
	tail -c +$((off + 1)) "$1" | xz -dc --single-stream >"$2" 2>/dev/null
	[ "${PIPESTATUS[1]}" = 0 ] || return 1
	# The ELF note XEN_ELFNOTE_PHYS32_ENTRY (type 18, name "Xen").
	LC_ALL=C grep -qaP '\x12\x00\x00\x00Xen\x00' "$2"
}

# Builds (if needed) the initramfs for the cached kernel package; sets
# NK_KERNEL and NK_INITRD.
nk_prepare()
{
	local key dir tmp list f

	nk_fetch_kernel
	# The initramfs depends on this script, the kernel and busybox.
	key=$({ sha256sum "$NK_SELF" "$NK_BUSYBOX"; basename "$NK_DEB"; } | sha256sum | cut -c 1-16)
	dir=$NK_CACHE/boot-$key
	NK_INITRD=$dir/initrd.gz
	NK_KERNEL=$dir/vmlinux
	[ -f "$NK_KERNEL" ] || NK_KERNEL=$dir/vmlinuz
	[ -f "$NK_KERNEL" ] && [ -f "$NK_INITRD" ] && return 0

	virq_log "nested-kvm: building the L1's initramfs (once per kernel and script version)"
	# Left by an interrupted build.
	rm -rf "$NK_CACHE"/build.*
	tmp=$(mktemp -d "$NK_CACHE/build.XXXXXX") || nk_die "cannot write in $NK_CACHE"
	dpkg-deb -x "$NK_DEB" "$tmp/deb" || nk_die "dpkg-deb -x $NK_DEB failed"
	f=$(find "$tmp/deb/boot" -name 'vmlinuz-*' | head -n 1)
	[ -n "$f" ] || nk_die "no boot/vmlinuz-* in $NK_DEB"
	mkdir -p "$tmp/root/bin" "$tmp/root/modules"
	if nk_extract_vmlinux "$f" "$tmp/vmlinux"; then
		NK_KERNEL=$dir/vmlinux
	else
		rm -f "$tmp/vmlinux"
		cp "$f" "$tmp/vmlinuz"
		NK_KERNEL=$dir/vmlinuz
	fi
	cp "$NK_BUSYBOX" "$tmp/root/bin/busybox"
	nk_write_init "$tmp/root/init"
	# Two lists: what mounts the job share, then kvm (its parameters are
	# in the job's settings).
	for list in base kvm; do
		if [ $list = base ]; then
			# shellcheck disable=SC2086
			nk_mod_order "$tmp/deb/lib/modules" $NK_MODS_BASE >"$tmp/$list.paths"
		else
			# shellcheck disable=SC2086
			nk_mod_order "$tmp/deb/lib/modules" $NK_MODS_KVM >"$tmp/$list.paths"
		fi || nk_die "missing modules in $NK_DEB"
		: >"$tmp/root/modules/$list.list"
		while IFS= read -r f; do
			# Uncompressed: busybox's insmod reads plain ELF.
			nk_mod_cat "$f" >"$tmp/root/modules/$(basename "${f%.ko*}").ko"
			basename "${f%.ko*}.ko" >>"$tmp/root/modules/$list.list"
		done <"$tmp/$list.paths"
	done
	(cd "$tmp/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) \
		>"$tmp/initrd.gz" || nk_die "cpio failed"
	rm -rf "$NK_CACHE"/boot-*
	mkdir -p "$dir"
	mv "$tmp"/vmlinu[xz] "$tmp/initrd.gz" "$dir/"
	rm -rf "$tmp"
}

# ---- the job -------------------------------------------------------------

# nk_write_job DIR CMD...: the settings for /init and the script run in the
# chroot: the environment, the working directory, the tmpfs directories,
# CMD.
nk_write_job()
{
	local job=$1 v d
	shift

	{
		printf 'WORK=%s\n' "$(nk_quote "$NK_SHARE")"
		printf 'KVM_AMD=%s\n' "$(nk_quote "$NK_KVM_AMD")"
		printf 'SHELL_PATH=%s\n' "$(nk_quote "$BASH")"
		if [ -f "${NK_KERNEL%/*}/kallsyms" ]; then
			echo KALLSYMS=0
		else
			echo KALLSYMS=1
		fi
	} >"$job/setup"

	{
		printf '# nested-kvm job, run by %s in the L1\n' "$BASH"
		for v in $(compgen -e); do
			case $v in
			PWD | OLDPWD | SHLVL | HOSTNAME | _) continue ;;
			esac
			printf 'export %s=%s\n' "$v" "$(nk_quote "${!v}")"
		done
		echo 'export VIRQ_NESTED_L1=1'
		# shellcheck disable=SC2016 # expanded in the L1
		echo '[ -n "${TMPDIR:-}" ] && [ ! -d "$TMPDIR" ] && unset TMPDIR'
		cat <<'EOF'
nk_error()
{
	echo "$*" >/run/nested-kvm/job/job-error
	exit 125
}
EOF
		printf 'nk_cwd=%s\n' "$(nk_quote "$PWD")"
		# shellcheck disable=SC2016 # expanded in the L1
		printf '%s\n' 'cd -- "$nk_cwd" ||' \
			'	nk_error "the working directory $nk_cwd is not there in the L1 (outside the share, under a tmpfs?)"'
		# Volatile directories: a tmpfs copy bound over each while CMD runs.
		printf 'set --'
		for d in "${NK_TMPFS_DIRS[@]}"; do
			printf ' %s' "$(nk_quote "$d")"
		done
		printf '\n'
		cat <<'EOF'
i=0
for d in "$@"; do
	i=$((i + 1))
	mkdir -p "$d" /run/nested-kvm/tmpfs/$i || nk_error "cannot create $d"
	cp -R --preserve=mode,timestamps "$d/." /run/nested-kvm/tmpfs/$i/ &&
		mount --bind /run/nested-kvm/tmpfs/$i "$d" || nk_error "cannot put $d on tmpfs"
done
volatile=("$@")
EOF
		printf 'set --'
		for v in "$@"; do
			printf ' %s' "$(nk_quote "$v")"
		done
		printf '\n'
		cat <<'EOF'
"$@"
rc=$?
i=0
for d in "${volatile[@]}"; do
	i=$((i + 1))
	umount "$d" &&
		cp -R --preserve=mode,timestamps /run/nested-kvm/tmpfs/$i/. "$d/" ||
		echo "nested-kvm: could not copy $d back from the L1's tmpfs" >&2
done
exit $rc
EOF
	} >"$job/job.sh"
}

# ---- running the L1 ----------------------------------------------------

# The program /init runs before CMD and stops after it. Under multi-threaded
# TCG, the L1 hung (one vCPU looping in the int3 handler, the other
# spinning on a lock) when KVM flipped its static keys, which the kernel
# does by patching its own code through int3: on the first and last
# vCPU without an in-kernel LAPIC (kvm_has_noapic_vcpu) and the first and
# last LAPIC disabled in hardware or software (apic_hw_disabled,
# apic_sw_disabled). This program holds one of each for the whole run, so
# the keys stay on and the code is patched only here, before CMD; a hang
# here is a boot that does not reach the command, which is retried.
# (Ioctl numbers from linux/kvm.h.)
nk_write_pin()
{
	cat >"$1" <<'EOF'
import ctypes, fcntl, mmap, os, signal, struct

KVM_CREATE_VM = 0xAE01
KVM_CREATE_VCPU = 0xAE41
KVM_RUN = 0xAE80
KVM_CREATE_IRQCHIP = 0xAE60
KVM_SET_USER_MEMORY_REGION = 0x4020AE46
KVM_SET_MSRS = 0x4008AE89
MSR_IA32_APICBASE = 0x1B

kvm = os.open("/dev/kvm", os.O_RDWR)
keep = []

def vm(irqchip, vcpus):
    fd = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    if irqchip:
        fcntl.ioctl(fd, KVM_CREATE_IRQCHIP, 0)
    # 64 KiB below 4 GiB, a HLT at the reset vector 0xfffffff0.
    mem = mmap.mmap(-1, 0x10000)
    mem[0xFFF0] = 0xF4
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    fcntl.ioctl(fd, KVM_SET_USER_MEMORY_REGION,
                struct.pack("IIQQQ", 0, 0, 0xFFFF0000, 0x10000, addr))
    keep.extend([fd, mem])
    return [fcntl.ioctl(fd, KVM_CREATE_VCPU, i) for i in range(vcpus)]

# Without an in-kernel irqchip: two vCPUs (the SMP path too) run to HLT;
# one stays, holding kvm_has_noapic_vcpu.
cpus = vm(False, 2)
for cpu in cpus:
    fcntl.ioctl(cpu, KVM_RUN, 0)
os.close(cpus[1])
# With KVM's LAPIC: one never enabled by software (apic_sw_disabled) and
# one disabled in IA32_APIC_BASE too (apic_hw_disabled).
cpus += vm(True, 2)
fcntl.ioctl(cpus[3], KVM_SET_MSRS,
            struct.pack("IIIIQ", 1, 0, MSR_IA32_APICBASE, 0, 0xFEE00000))
keep.extend(cpus)
open("/run/nested-kvm/pinned", "w").close()
signal.pause()
EOF
}

NK_QEMU_PID=
NK_JOB=
# shellcheck disable=SC2317 # run by the EXIT trap
nk_cleanup()
{
	[ -n "$NK_QEMU_PID" ] && kill "$NK_QEMU_PID" 2>/dev/null
	[ -n "$NK_JOB" ] && rm -rf "$NK_JOB"
}

# The last lines of the console, carriage returns removed; the whole of it
# is kept where VIRQ_NESTED_CONSOLE_LOG says, else in the cache.
nk_console_tail()
{
	local keep=${VIRQ_NESTED_CONSOLE_LOG:-$NK_CACHE/console-failed.log}

	[ -n "${VIRQ_NESTED_CONSOLE_LOG:-}" ] || tr -d '\r' <"$NK_JOB/console.log" >"$keep"
	printf 'nested-kvm: last %d lines of the L1 console (all of it: %s):\n' "$NK_TAIL" \
		"$keep" >&2
	tr -d '\r' <"$NK_JOB/console.log" | tail -n "$NK_TAIL" | sed 's/^/  | /' >&2
	if [ -s "$NK_JOB/monitor.log" ]; then
		echo "nested-kvm: QEMU's vCPUs (RIP in the L1 kernel, else in a guest of the L1):" >&2
		grep -E '^RIP|^CS =' "$NK_JOB/monitor.log" | nk_symbolize | sed 's/^/  | /' >&2
	fi
	if [ -s "$NK_JOB/qemu.log" ]; then
		echo "nested-kvm: QEMU said:" >&2
		sed 's/^/  | /' "$NK_JOB/qemu.log" >&2
	fi
}

# nk_monitor COMMAND: one command to QEMU's monitor.
nk_monitor()
{
	# shellcheck disable=SC2016 # sh's arguments
	timeout 5 sh -c 'printf "%s\n" "$1" >"$2"' sh "$1" "$NK_JOB/monitor.in" 2>/dev/null
}

# Adds the kernel symbol to each "RIP=..." line, from the L1's own
# /proc/kallsyms (saved by its first boot: Debian's System.map is a
# placeholder; PVH boot leaves the kernel unrelocated).
nk_symbolize()
{
	local map=${NK_KERNEL%/*}/kallsyms

	if [ ! -f "$map" ]; then
		cat
		return
	fi
	awk -v map="$map" '
		BEGIN { while ((getline l < map) > 0) { split(l, f, " "); a[++n] = f[1]; s[n] = f[3] } }
		/^RIP=/ {
			rip = tolower(substr($1, 5)); best = 0
			for (i = 1; i <= n; i++) if (a[i] <= rip) best = i; else break
			if (best && length(rip) == 16 && substr(rip, 1, 8) == "ffffffff")
				$0 = $0 "  " s[best]
		}
		{ print }'
}

# Asks the hung L1's kernel, through a SysRq key press on its keyboard,
# for the blocked tasks (w) and every CPU's backtrace (l), into the console;
# then QEMU where its vCPUs are (for an L1 too stuck to answer).
nk_dump_tasks()
{
	local key

	for key in w l; do
		nk_monitor "sendkey alt-sysrq-$key"
		sleep 3
	done
	nk_monitor "info cpus"
	nk_monitor "info registers -a"
	sleep 1
	timeout 2 cat "$NK_JOB/monitor.out" | tr -d '\r' >"$NK_JOB/monitor.log" 2>/dev/null
}

# nk_boot CMD...: one L1, until it powers off, stops reaching the command
# within NK_BOOT_LIMIT seconds, or the time limit (NK_DEADLINE) passes.
# Sets NK_OUTCOME: finished, boot-hung or timeout.
nk_boot()
{
	local qemu t0 now ready=0 watcher=

	qemu=(qemu-system-x86_64 -accel "$NK_ACCEL" -cpu max
	      -smp "$NK_SMP" -m "$NK_MEM" -nodefaults -no-reboot -display none
	      -d cpu_reset -D "$NK_JOB/qemu-debug.log"
	      -monitor "pipe:$(nk_qemu_escape "$NK_JOB/monitor")"
	      -chardev "file,id=console,path=$(nk_qemu_escape "$NK_JOB/console.log")"
	      -serial chardev:console
	      -kernel "$NK_KERNEL" -initrd "$NK_INITRD"
	      -append "console=ttyS0 panic=-1 oops=panic mitigations=off rdinit=/init"
	      -virtfs "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap"
	      -virtfs "local,path=$(nk_qemu_escape "$NK_SHARE"),mount_tag=work,security_model=none"
	      -virtfs "local,path=$(nk_qemu_escape "$NK_JOB"),mount_tag=job,security_model=none")
	: >"$NK_JOB/console.log"
	rm -f "$NK_JOB/monitor.in" "$NK_JOB/monitor.out" "$NK_JOB/monitor.log" \
		"$NK_JOB/qemu-debug.log"
	# The monitor: two FIFOs (QEMU opens both read-write, so nothing
	# blocks while nobody reads the answers).
	mkfifo "$NK_JOB/monitor.in" "$NK_JOB/monitor.out" || nk_die "mkfifo failed"
	t0=$SECONDS
	"${qemu[@]}" </dev/null >"$NK_JOB/qemu.log" 2>&1 &
	NK_QEMU_PID=$!
	if [ "${VIRQ_NESTED_CONSOLE:-0}" = 1 ]; then
		tail -f "$NK_JOB/console.log" >&2 &
		watcher=$!
	fi
	NK_OUTCOME=finished
	while kill -0 "$NK_QEMU_PID" 2>/dev/null; do
		now=$SECONDS
		if [ $ready = 0 ] && grep -q 'nested-kvm-init: L1 ready' "$NK_JOB/console.log"; then
			ready=1
			virq_log "nested-kvm: L1 up in $((now - t0)) s, running: ${*@Q}"
		fi
		if [ $ready = 0 ] && [ $((now - t0)) -ge "$NK_BOOT_LIMIT" ]; then
			NK_OUTCOME=boot-hung
		elif [ "$now" -ge "$NK_DEADLINE" ]; then
			NK_OUTCOME=timeout
		fi
		if [ $NK_OUTCOME != finished ]; then
			nk_dump_tasks
			kill "$NK_QEMU_PID" 2>/dev/null
			break
		fi
		sleep 0.5
	done
	wait "$NK_QEMU_PID"
	NK_QEMU_RC=$?
	NK_QEMU_PID=
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
	if [ -s "$NK_JOB/kallsyms" ] && [ ! -f "${NK_KERNEL%/*}/kallsyms" ]; then
		LC_ALL=C sort "$NK_JOB/kallsyms" >"${NK_KERNEL%/*}/kallsyms.tmp" &&
			mv "${NK_KERNEL%/*}/kallsyms.tmp" "${NK_KERNEL%/*}/kallsyms"
	fi
	if [ -n "${VIRQ_NESTED_CONSOLE_LOG:-}" ]; then
		tr -d '\r' <"$NK_JOB/console.log" >"$VIRQ_NESTED_CONSOLE_LOG"
	fi
}

# The registers QEMU logged at the last two CPU resets (-d cpu_reset): for
# a triple fault, where the L1 was.
nk_resets()
{
	grep -E '^(CPU Reset|EAX=|ESI=|EIP=|CS =|CR0=|EFER=)' "$NK_JOB/qemu-debug.log" |
		tail -n 14 | sed 's/^/  | /' >&2
}

# The last non-empty line of the L1's console.
nk_last_line()
{
	tr -d '\r' <"$NK_JOB/console.log" | grep -v '^ *$' | tail -n 1
}

# Keeps the console of an L1 that went away (nk_run runs the command again)
# next to the final one, and shows where QEMU says its CPUs were reset.
nk_keep_lost_console()
{
	local lost

	lost=${VIRQ_NESTED_CONSOLE_LOG:-$NK_CACHE/console-failed.log}.lost
	tr -d '\r' <"$NK_JOB/console.log" >"$lost" 2>/dev/null
	virq_warn "nested-kvm: that L1's console is in $lost; its last lines:"
	tail -n 15 "$lost" | sed 's/^/  | /' >&2
	if [ -s "$NK_JOB/qemu-debug.log" ]; then
		virq_warn "nested-kvm: QEMU's CPU resets (-d cpu_reset), last lines:"
		nk_resets
	fi
}

nk_run()
{
	local t0=$SECONDS attempt=1

	NK_RESTARTS=0

	NK_DEADLINE=$((SECONDS + NK_TIMEOUT))
	while :; do
		nk_boot "$@"
		# A boot that never reached the command ran nothing: boot again,
		# within the time limit, twice at most.
		if [ "$NK_OUTCOME" = boot-hung ] && [ $attempt -lt 3 ] &&
		   [ $((SECONDS + NK_BOOT_LIMIT)) -lt "$NK_DEADLINE" ]; then
			attempt=$((attempt + 1))
			virq_warn "nested-kvm: the L1 did not reach the command in $NK_BOOT_LIMIT s" \
				"(last console line: $(nk_last_line)); booting again, attempt $attempt of 3"
			continue
		fi
		# An L1 that went away while the command ran, without a result
		# and without an error of ours (a reset: QEMU under -no-reboot
		# exits 0 on a triple fault of the L1, the emulated SVM's doing,
		# not the command's), ran it again, once, if time is left. The
		# command's own failures always leave a status.
		if [ "$NK_OUTCOME" = finished ] && [ "$NK_RESTARTS" -lt 1 ] &&
		   [ ! -s "$NK_JOB/status" ] && [ ! -s "$NK_JOB/error" ] &&
		   [ ! -s "$NK_JOB/job-error" ] &&
		   grep -q 'nested-kvm-init: L1 ready' "$NK_JOB/console.log" &&
		   ! grep -q 'Kernel panic' "$NK_JOB/console.log" &&
		   [ $((SECONDS + (SECONDS - t0) + NK_BOOT_LIMIT)) -lt "$NK_DEADLINE" ]; then
			NK_RESTARTS=$((NK_RESTARTS + 1))
			nk_keep_lost_console
			virq_warn "nested-kvm: the L1 went away after $((SECONDS - t0)) s" \
				"while the command ran, without a result and without a panic" \
				"(QEMU status $NK_QEMU_RC; last console line: $(nk_last_line));" \
				"running the command again in a new L1 (once)"
			t0=$SECONDS
			continue
		fi
		break
	done

	if [ -s "$NK_JOB/job-error" ]; then
		printf 'nested-kvm: %s\n' "$(cat "$NK_JOB/job-error")" >&2
		return 125
	fi
	if [ -s "$NK_JOB/error" ]; then
		printf 'nested-kvm: %s\n' "$(cat "$NK_JOB/error")" >&2
		nk_console_tail
		return 125
	fi
	case $NK_OUTCOME in
	boot-hung)
		printf 'nested-kvm: the L1 did not reach the command in %s s, %d times\n' \
			"$NK_BOOT_LIMIT" "$attempt" >&2
		nk_console_tail
		return 124
		;;
	timeout)
		printf 'nested-kvm: no result after %s s (VIRQ_NESTED_TIMEOUT): L1 stopped\n' \
			"$NK_TIMEOUT" >&2
		nk_console_tail
		return 124
		;;
	esac
	if [ ! -s "$NK_JOB/status" ]; then
		printf 'nested-kvm: the L1 stopped after %s s without a result (QEMU status %s)\n' \
			"$((SECONDS - t0))" "$NK_QEMU_RC" >&2
		nk_console_tail
		if [ -s "$NK_JOB/qemu-debug.log" ]; then
			printf "nested-kvm: QEMU's CPU resets (-d cpu_reset), last lines:\n" >&2
			nk_resets
		fi
		return 124
	fi
	cat "$NK_JOB/stdout" 2>/dev/null
	cat "$NK_JOB/stderr" >&2 2>/dev/null
	return "$(cat "$NK_JOB/status")"
}

# ---- main --------------------------------------------------------------

case ${1:-} in
-h | --help)
	nk_usage
	exit 0
	;;
--) shift ;;
esac
if [ $# -eq 0 ]; then
	nk_usage >&2
	exit 125
fi
[ "$(uname -m)" = x86_64 ] || nk_die "x86-64 hosts only"
case $NK_TIMEOUT$NK_MEM$NK_SMP$NK_BOOT_LIMIT in
*[!0-9]*) nk_die "VIRQ_NESTED_TIMEOUT, _MEM, _SMP and _BOOT_LIMIT are numbers" ;;
esac

NK_SHARE=${VIRQ_NESTED_SHARE:-$(git rev-parse --show-toplevel 2>/dev/null || pwd)}
NK_SHARE=$(cd "$NK_SHARE" 2>/dev/null && pwd -P) || nk_die "no directory $NK_SHARE"
[ "$NK_SHARE" != / ] || nk_die "the read-write share cannot be /"
NK_CACHE=${VIRQ_NESTED_CACHE:-$(virq_repo_root)/build/nested-kvm}
NK_TMPFS_DIRS=()
if [ -n "${VIRQ_NESTED_TMPFS:-}" ]; then
	IFS=: read -r -a nk_dirs <<<"$VIRQ_NESTED_TMPFS"
	for d in "${nk_dirs[@]}"; do
		[ -n "$d" ] || continue
		case $d in
		/*) ;;
		*) d=$PWD/$d ;;
		esac
		case $d/ in
		"$NK_SHARE"/*) NK_TMPFS_DIRS+=("$d") ;;
		*) nk_die "VIRQ_NESTED_TMPFS: $d is not under the share $NK_SHARE" ;;
		esac
	done
fi

virq_log "nested-kvm: booting an L1 Linux under QEMU TCG for /dev/kvm (about 20 s)..."
nk_tools
mkdir -p "$NK_CACHE" || nk_die "cannot create $NK_CACHE"
# One preparation at a time per cache.
exec 8>"$NK_CACHE/.lock"
flock 8 || nk_die "cannot lock $NK_CACHE"
nk_prepare
exec 8>&-

trap nk_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
NK_JOB=$(mktemp -d "${TMPDIR:-/tmp}/nested-kvm.XXXXXX") || nk_die "mktemp failed"
nk_write_job "$NK_JOB" "$@"
nk_write_pin "$NK_JOB/pin.py"
nk_run "$@"
exit $?
