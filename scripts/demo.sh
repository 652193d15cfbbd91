#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/demo.sh: the main demonstration.
#
#   bash scripts/demo.sh
#
# Installs what is missing (meson, ninja, pkg-config, a C compiler) on
# Debian, builds libvirq in release mode and runs examples/minimal-embedder:
# one virtual LAPIC walked through acceptance, evaluation, delivery and EOI
# with nested priorities, printing IRR/ISR/TPR/PPR after every step.
#
# Environment: VIRQ_DEMO_DIR (build directory, default build/demo),
# VIRQ_NO_INSTALL=1 (do not install packages).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

DIR=${VIRQ_DEMO_DIR:-build/demo}

if [ "${VIRQ_NO_INSTALL:-0}" != 1 ]; then
	cc_pkg=gcc:gcc
	# Any working C compiler will do: keep clang if that is what is there.
	if command -v cc >/dev/null 2>&1 || command -v clang >/dev/null 2>&1; then
		cc_pkg=
	fi
	virq_need meson:meson ninja-build:ninja pkg-config:pkg-config \
		libc6-dev:/usr/include/stdio.h ${cc_pkg:+"$cc_pkg"} ||
		virq_warn "continuing; the build may fail"
fi

opts=(--buildtype=release -Dtests=disabled -Dfuzz=disabled -Dbench=disabled
      -Ddocs=disabled -Dexamples=enabled)
if [ -f "$DIR/build.ninja" ]; then
	meson setup --reconfigure "$DIR" "${opts[@]}" >/dev/null ||
		meson setup --wipe "$DIR" "${opts[@]}" >/dev/null
else
	meson setup "$DIR" "${opts[@]}" >/dev/null
fi
ninja -C "$DIR" examples/minimal-embedder >/dev/null

echo "libvirq $(meson introspect --projectinfo "$DIR" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])'):" \
	"examples/minimal-embedder (source: examples/minimal-embedder/main.c)"
echo
exec "$DIR/examples/minimal-embedder"
