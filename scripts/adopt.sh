#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/adopt.sh: follows the documents as a new user would, so that they
# cannot drift from what works.
#
#   bash scripts/adopt.sh [install] [subproject] [freestanding]
#
# (all three when none is named). The shell blocks it runs are the ones
# marked in the documents with an HTML comment on the line before the fence,
# `<!-- ci:NAME -->`; each is taken from the document as it stands and run
# as written (bash -e -u -o pipefail -x), with HOME set to a scratch home.
# Nothing else is run but a fixed consumer program (myvmm.c, written below)
# and the checks named here. The source tree is a copy of the repository as
# a fresh clone would have it: HEAD, or a commit of the working tree's
# tracked files when they have uncommitted changes (`git stash create`),
# checked out as branch main of a local `git clone`, in a scratch directory
# outside the source tree (${TMPDIR:-/tmp}/libvirq-adopt.*).
#
#   install       README.md ci:install (meson setup --prefix "$HOME/.local",
#                 meson install) from the source copy, then ci:pkg-config
#                 in an empty directory with myvmm.c: built against the
#                 installed libvirq.pc, shared and -static, and run. Checks:
#                 the shared myvmm needs libvirq.so.0, the static one needs
#                 no libvirq at all, the installed library's soname is
#                 libvirq.so.0.
#   subproject    doc/libvirq.wrap copied to subprojects/ of an empty
#                 project with its url set to the source copy (as README.md
#                 says to), README.md ci:subproject-meson as that project's
#                 meson.build, then ci:subproject (setup, compile, run).
#                 Checks: libvirq came from the wrap (subprojects/libvirq
#                 was cloned), myvmm needs no libvirq shared library.
#   freestanding  doc/freestanding.md ci:freestanding-raw (section 3: its
#                 source list, flags and include directories) in the source
#                 copy, then a kernel-style link of the objects with
#                 kernel.c (below: _start, memset, memcpy, memmove and
#                 nothing else) by `ld -nostdlib -static -e _start`. Checks:
#                 the link succeeds, `nm -u` of the result is empty, `nm -u`
#                 of `ld -r` of the objects names only memset/memcpy/memmove,
#                 after `objcopy --localize-hidden` only virq_* are global,
#                 the objects are exactly meson's `virq_sources` (so the
#                 doc's source list has not drifted), and the kernel runs
#                 (it is a static x86-64 ELF: its _start calls the library,
#                 then the exit system call) and exits 0.
#
# Each path prints "adopt: PASS NAME (Ns)" or "adopt: FAIL NAME (Ns): why",
# and the last lines of its log when it fails; the exit status is non-zero
# when any path failed. scripts/test.sh runs this as its 'adopt' step.
#
# Environment:
#   VIRQ_NO_INSTALL=1   do not install missing Debian packages
#   VIRQ_ADOPT_KEEP=1   keep the scratch directory (its path is printed)

# The path_* functions are called as "path_$p", and the rest from them.
# shellcheck disable=SC2317

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

PATHS=("$@")
[ ${#PATHS[@]} -eq 0 ] && PATHS=(install subproject freestanding)
for p in "${PATHS[@]}"; do
	case $p in
	install | subproject | freestanding) ;;
	*)
		echo "usage: $0 [install] [subproject] [freestanding]" >&2
		exit 2
		;;
	esac
done

if [ "${VIRQ_NO_INSTALL:-0}" != 1 ]; then
	virq_need meson:meson ninja-build:ninja pkg-config:pkg-config gcc:gcc \
		libc6-dev:/usr/lib/x86_64-linux-gnu/libc.a binutils:ld git:git || true
fi

SCR=$(mktemp -d "${TMPDIR:-/tmp}/libvirq-adopt.XXXXXX") || exit 1
if [ "${VIRQ_ADOPT_KEEP:-0}" = 1 ]; then
	echo "adopt: scratch directory $SCR (kept)"
else
	trap 'rm -rf "$SCR"' EXIT
fi
SRC=$SCR/libvirq
mkdir -p "$SCR/home" "$SCR/tmp" "$SCR/logs"

# ---- the source copy ---------------------------------------------------

# git on the repository, which a CI container may have checked out as
# another user (git refuses such a repository unless told it is safe).
rgit()
{
	git -c safe.directory='*' -C "$ROOT" "$@"
}

snapshot()
{
	local rev what

	rev=$(rgit stash create 2>/dev/null)
	what="working tree (uncommitted changes of tracked files included)"
	if [ -z "$rev" ]; then
		rev=$(rgit rev-parse HEAD) || return 1
		what="HEAD"
	fi
	# A local clone takes every object, the stash's too; branch main is
	# the snapshot (doc/libvirq.wrap's revision).
	git -c safe.directory='*' clone -q --no-checkout "$ROOT" "$SRC" &&
		git -C "$SRC" checkout -q -B main "$rev" || return 1
	echo "adopt: source $what, $(rgit rev-parse --short HEAD), copied to $SRC"
}

# ---- the documents' blocks ---------------------------------------------

# doc_block FILE NAME: prints the fenced block that follows the line
# `<!-- ci:NAME -->` in FILE (the fence must be the next line). Fails
# unless there is exactly one such marker, followed by a closed fence.
doc_block()
{
	awk -v marker="<!-- ci:$2 -->" '
		$0 == marker { found++; state = 1; next }
		state == 1 {
			if ($0 ~ /^```[a-z]+$/) { state = 2; next }
			bad = 1; state = 0
		}
		state == 2 {
			if ($0 == "```") { state = 0; next }
			print
		}
		END { exit (found == 1 && !bad && state == 0) ? 0 : 1 }
	' "$1"
}

# run_doc DIR FILE NAME [FOLLOW-UP]: runs block NAME of FILE (relative to
# the source copy) in DIR, in a clean environment, then FOLLOW-UP (more
# shell text) in the same shell.
run_doc()
{
	local dir=$1 file=$2 name=$3 more=${4:-} text

	if ! text=$(doc_block "$SRC/$file" "$name"); then
		echo "no single <!-- ci:$name --> block followed by a fence in $file"
		WHY="$file has no ci:$name block"
		return 1
	fi
	printf '# %s, ci:%s, in %s\n' "$file" "$name" "$dir"
	if ! (cd "$dir" && env -i PATH="$PATH" HOME="$SCR/home" TMPDIR="$SCR/tmp" LANG=C.UTF-8 \
		bash -euxo pipefail -c "$text
$more"); then
		WHY="$file ci:$name failed"
		return 1
	fi
}

# ---- the fixed programs ------------------------------------------------

# A hosted consumer: needs no ops table and no config struct. Each check
# pins an exact value; the exit status is the number of the first failed
# check.
write_consumer()
{
	cat >"$1/myvmm.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <virq/virq.h>

static int check(int n, int ok, const char *what)
{
	printf("myvmm: check %d %s: %s\n", n, ok ? "ok" : "FAILED", what);
	return ok ? 0 : n;
}

int main(void)
{
	static struct virq_pi_desc pi;
	struct virq_apic_msg msg;
	uint64_t pir[4];
	int bad = 0, rc;

	bad = bad ? bad : check(1, virq_version() == VIRQ_VERSION_NUMBER,
				"virq_version() matches <virq/version.h>");
	bad = bad ? bad : check(2, strcmp(virq_strerror(-VIRQ_EINVAL), "invalid argument") == 0,
				"virq_strerror(-VIRQ_EINVAL)");
	/* Logical destination 3, vector 0x41, fixed, level-triggered, asserted. */
	rc = virq_msi_decode(0xFEE03004ULL, 0xC041, 0, &msg);
	bad = bad ? bad : check(3, rc == 0 && msg.dest == 3 && msg.logical && msg.vector == 0x41 &&
				       msg.delivery == VIRQ_DM_FIXED && msg.trigger_level &&
				       msg.level && !msg.x2apic,
				"virq_msi_decode() of 0xFEE03004/0xC041");
	bad = bad ? bad : check(4, virq_msi_decode(0xFEF00000ULL, 0x41, 0, &msg) == -VIRQ_ENOENT,
				"virq_msi_decode() outside the interrupt window");
	/* The first post turns ON from 0 to 1, the second finds it set. */
	rc = virq_pi_post(&pi, 0x41, false) && !virq_pi_post(&pi, 0x42, false);
	bad = bad ? bad : check(5, rc && virq_pi_harvest(&pi, pir) && pir[0] == 0 &&
				       pir[1] == 0x6 && pir[2] == 0 && pir[3] == 0 &&
				       !virq_pi_pending(&pi),
				"virq_pi_post() 0x41, 0x42, virq_pi_harvest()");
	if (!bad)
		printf("myvmm: libvirq %s, 5 checks passed\n", VIRQ_VERSION_STRING);
	return bad;
}
EOF
}

# The smallest kernel: the three functions the library may call, and a
# _start that runs the same checks as myvmm.c (no libc) and leaves through
# the exit system call with the number of the first failed check.
write_kernel()
{
	cat >"$1/kernel.c" <<'EOF'
#include <virq/virq.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int kmain(void);

/* volatile: the compiler must not turn these loops back into calls. */
void *memset(void *d, int c, size_t n)
{
	volatile unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	volatile unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	volatile unsigned char *p = d;
	const unsigned char *q = s;

	if (p < q) {
		while (n--)
			*p++ = *q++;
	} else {
		while (n--)
			p[n] = q[n];
	}
	return d;
}

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

int kmain(void)
{
	static struct virq_pi_desc pi;
	struct virq_apic_msg msg;
	uint64_t pir[4];

	if (virq_version() != VIRQ_VERSION_NUMBER)
		return 1;
	if (!same(virq_strerror(-VIRQ_EINVAL), "invalid argument"))
		return 2;
	if (virq_msi_decode(0xFEE03004ULL, 0xC041, 0, &msg) != 0 || msg.dest != 3 ||
	    !msg.logical || msg.vector != 0x41 || msg.delivery != VIRQ_DM_FIXED ||
	    !msg.trigger_level || !msg.level || msg.x2apic)
		return 3;
	if (virq_msi_decode(0xFEF00000ULL, 0x41, 0, &msg) != -VIRQ_ENOENT)
		return 4;
	if (!virq_pi_post(&pi, 0x41, false) || virq_pi_post(&pi, 0x42, false) ||
	    !virq_pi_harvest(&pi, pir) || pir[0] != 0 || pir[1] != 0x6 || pir[2] != 0 ||
	    pir[3] != 0 || virq_pi_pending(&pi))
		return 5;
	return 0;
}

__asm__(".globl _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	and $-16, %rsp\n"
	"	call kmain\n"
	"	mov %eax, %edi\n"
	"	mov $60, %eax\n" /* exit */
	"	syscall\n"
	"	hlt\n");
EOF
}

# ---- the paths ---------------------------------------------------------

path_install()
{
	local pfx=$SCR/home/.local dir=$SCR/pc soname

	run_doc "$SRC" README.md install || return 1
	mkdir -p "$dir" && write_consumer "$dir"
	run_doc "$dir" README.md pkg-config || return 1
	soname=$(readelf -d "$pfx/lib/libvirq.so.0" 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
	echo "installed libvirq.so.0: soname ${soname:-none}"
	if [ "$soname" != libvirq.so.0 ]; then
		WHY="the installed libvirq.so.0 has soname '${soname:-none}'"
		return 1
	fi
	if ! readelf -d "$dir/myvmm" | grep -q 'NEEDED.*\[libvirq\.so\.0\]'; then
		WHY="myvmm (pkg-config --libs) does not need libvirq.so.0"
		return 1
	fi
	if readelf -d "$dir/myvmm-static" 2>/dev/null | grep -q 'NEEDED.*libvirq'; then
		WHY="myvmm-static needs a libvirq shared library"
		return 1
	fi
	WHY=
}

path_subproject()
{
	local dir=$SCR/sp

	mkdir -p "$dir/subprojects" && write_consumer "$dir"
	if [ "$(grep -c '^url = ' "$SRC/doc/libvirq.wrap")" != 1 ]; then
		WHY="doc/libvirq.wrap has no single 'url = ' line to set"
		return 1
	fi
	# What README.md tells the reader to do: copy the wrap, set its url.
	sed "s|^url = .*|url = $SRC|" "$SRC/doc/libvirq.wrap" >"$dir/subprojects/libvirq.wrap"
	if ! doc_block "$SRC/README.md" subproject-meson >"$dir/meson.build"; then
		WHY="README.md has no ci:subproject-meson block"
		return 1
	fi
	echo "# meson.build (README.md ci:subproject-meson):"
	cat "$dir/meson.build"
	run_doc "$dir" README.md subproject || return 1
	if [ ! -d "$dir/subprojects/libvirq/.git" ]; then
		WHY="subprojects/libvirq was not cloned from the wrap"
		return 1
	fi
	if readelf -d "$dir/build/myvmm" 2>/dev/null | grep -q 'NEEDED.*libvirq'; then
		WHY="build/myvmm needs a libvirq shared library (not the subproject's)"
		return 1
	fi
	WHY=
}

path_freestanding()
{
	local k=$SCR/kernel undef extra want have rc

	mkdir -p "$k" && write_kernel "$k"
	# The kernel-style link, in the shell that ran the recipe ($CFLAGS).
	run_doc "$SRC" doc/freestanding.md freestanding-raw "
cc \$CFLAGS -c '$k/kernel.c' -o '$k/kernel.o'
ld -nostdlib -static -e _start -o '$k/kernel.elf' '$k/kernel.o' obj/*.o
ld -r obj/*.o -o '$k/virq.o'" || return 1
	undef=$(nm -u "$k/kernel.elf" | awk '{ print $NF }' | tr '\n' ' ')
	echo "nm -u kernel.elf: ${undef:-nothing}"
	if [ -n "$undef" ]; then
		WHY="kernel.elf has undefined symbols: $undef"
		return 1
	fi
	undef=$(nm -u "$k/virq.o" | awk '{ print $NF }' | sort -u | tr '\n' ' ')
	echo "nm -u of the objects (ld -r): ${undef:-nothing}"
	if grep -qvxE 'memset|memcpy|memmove' < <(tr ' ' '\n' <<<"$undef" | grep -v '^$'); then
		WHY="the objects need more than memset/memcpy/memmove: $undef"
		return 1
	fi
	# The namespace the doc promises: after objcopy --localize-hidden only
	# virq_* stay global.
	objcopy --localize-hidden "$k/virq.o" || return 1
	extra=$(nm -g --defined-only "$k/virq.o" | awk '{ print $NF }' | grep -v '^virq_' |
		tr '\n' ' ')
	echo "global after objcopy --localize-hidden, other than virq_*: ${extra:-none}"
	if [ -n "$extra" ]; then
		WHY="objcopy --localize-hidden leaves non-virq_ globals: $extra"
		return 1
	fi
	# The doc's list against meson's: lib/lapic/state.c <-> obj/lapic-state.o.
	if ! (cd "$SRC" && meson setup "$SCR/introspect" -Dfreestanding=true \
		--auto-features=disabled >"$SCR/logs/introspect.log" 2>&1); then
		WHY="meson setup for introspection failed"
		return 1
	fi
	want=$(meson introspect "$SCR/introspect" --targets | python3 -c '
import json, sys
root = sys.argv[1] + "/lib/"
for t in json.load(sys.stdin):
    if t["name"] == "virq-internal" and t["type"] == "static library":
        for ts in t["target_sources"]:
            for s in ts["sources"]:
                print(s[len(root):-2].replace("/", "-") if s.startswith(root) else s)
' "$SRC" | sort)
	have=$(cd "$SRC/obj" && find . -maxdepth 1 -name '*.o' | sed 's|^\./||; s/\.o$//' | sort)
	if [ -z "$want" ] || [ "$want" != "$have" ]; then
		echo "meson's virq_sources against the doc's objects (< meson, > doc):"
		diff <(echo "$want") <(echo "$have")
		WHY="doc/freestanding.md's source list is not meson's virq_sources"
		return 1
	fi
	echo "objects: $(wc -l <<<"$have"), exactly meson's virq_sources"
	"$k/kernel.elf"
	rc=$?
	echo "kernel.elf exit status: $rc"
	if [ "$rc" -ne 0 ]; then
		WHY="kernel.elf failed check $rc"
		return 1
	fi
	WHY=
}

# ---- main --------------------------------------------------------------

t0=$(date +%s)
if ! snapshot >"$SCR/logs/snapshot.log" 2>&1; then
	cat "$SCR/logs/snapshot.log"
	for p in "${PATHS[@]}"; do
		echo "adopt: FAIL $p (0s): no copy of the source tree"
	done
	exit 1
fi
echo "$(cat "$SCR/logs/snapshot.log") ($(($(date +%s) - t0))s)"

failed=0
for p in "${PATHS[@]}"; do
	log=$SCR/logs/$p.log
	WHY="failed"
	t0=$(date +%s)
	"path_$p" >"$log" 2>&1
	rc=$?
	t=$(($(date +%s) - t0))
	if [ "$rc" -eq 0 ] && [ -z "$WHY" ]; then
		echo "adopt: PASS $p (${t}s)"
	else
		failed=$((failed + 1))
		echo "adopt: FAIL $p (${t}s): $WHY"
		tail -n 30 "$log" | sed 's/^/  | /'
	fi
done
exit $((failed > 0))
