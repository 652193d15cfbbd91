# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared helpers for scripts/test.sh and scripts/demo.sh. Sourced, not run.
#
#   virq_need PKG[:PROBE] ...   install the Debian packages that are missing
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
