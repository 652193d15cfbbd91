# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared helpers for scripts/test.sh and scripts/demo.sh. Sourced, not run.
#
#   virq_need PKG[:PROBE] ...   install the Debian packages that are missing
#   virq_kvm_hw                 is /dev/kvm usable and hardware-assisted?
#   virq_repo_root              print the repository root
#   virq_log / virq_warn        messages on stderr

virq_log()
{
	printf '%s\n' "$*" >&2
}

virq_warn()
{
	printf 'warning: %s\n' "$*" >&2
}

virq_repo_root()
{
	(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
}

# Is a Debian package installed? Falls back to the probe (a command name, or
# an absolute path) where dpkg is not available.
virq_pkg_present()
{
	local pkg=$1 probe=$2 status

	if command -v dpkg-query >/dev/null 2>&1; then
		status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)
		[ "$status" = installed ] && return 0
		# Installed some other way (pip meson, a hand-built clang): accept
		# the probe when one was given.
	fi
	if [ -n "$probe" ]; then
		case $probe in
		/*) [ -e "$probe" ] && return 0 ;;
		*) command -v "$probe" >/dev/null 2>&1 && return 0 ;;
		esac
	fi
	return 1
}

# Runs a command as root: directly, through sudo -n, or not at all.
virq_as_root()
{
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 127
	fi
}

# virq_need PKG[:PROBE] ...
#
# Installs with apt-get whatever is missing; runs apt-get update first only
# when something is missing. Returns non-zero (after a warning) when
# packages stay missing, so callers decide whether that is fatal.
virq_need()
{
	local item pkg probe missing=()

	for item in "$@"; do
		pkg=${item%%:*}
		probe=
		[ "$item" != "$pkg" ] && probe=${item#*:}
		virq_pkg_present "$pkg" "$probe" || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	virq_log "Installing missing packages: ${missing[*]}"
	if ! command -v apt-get >/dev/null 2>&1; then
		virq_warn "no apt-get here; install these yourself: ${missing[*]}"
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! virq_as_root apt-get update -qq; then
		virq_warn "cannot run apt-get as root; install these yourself: ${missing[*]}"
		return 1
	fi
	if ! virq_as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
		virq_warn "apt-get install failed for: ${missing[*]}"
		return 1
	fi
	return 0
}

# True when /dev/kvm opens read-write and is KVM on VMX or SVM. A /dev/kvm
# served by PVM (module kvm_pvm: KVM without VMX or SVM, guests run
# deprivileged) does not count: on one, RDTSC is not offset (a TSC written
# with KVM_SET_MSRS reads back as the host's, so a restored guest's clock
# has run on), a stock Linux guest did not boot and a snapshot's held IPI
# was lost in 1 of 2 runs; the scripts run the guests in an L1 there, as
# where there is no /dev/kvm. VIRQ_KVM_ANY=1 takes any /dev/kvm.
virq_kvm_hw()
{
	[ -e /dev/kvm ] || return 1
	{ exec 9<>/dev/kvm; } 2>/dev/null || return 1
	exec 9>&-
	[ "${VIRQ_KVM_ANY:-0}" = 1 ] && return 0
	[ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ] && return 0
	[ -d /sys/module/kvm_pvm ] && return 1
	grep -qwE 'vmx|svm' /proc/cpuinfo 2>/dev/null
}

# Why virq_kvm_hw said no, in a few words (for the scripts' notes).
virq_kvm_why_not()
{
	if [ ! -e /dev/kvm ]; then
		echo "no /dev/kvm"
	elif ! { exec 9<>/dev/kvm; } 2>/dev/null; then
		echo "/dev/kvm does not open read-write"
	elif [ -d /sys/module/kvm_pvm ]; then
		exec 9>&-
		echo "/dev/kvm is PVM (kvm_pvm), not VMX or SVM"
	else
		exec 9>&-
		echo "/dev/kvm has neither VMX nor SVM under it"
	fi
}
