#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/test.sh: the whole libvirq test suite, as CI runs it.
#
#   bash scripts/test.sh
#
# On Debian (12 or later) it first installs whatever it needs that is
# missing (apt-get, as root or through sudo -n). Then it runs these steps,
# each recorded as passed or failed (with its skips counted apart); a
# failing step does not stop the others:
#
#   gcc         gcc, -Dwerror=true (warning_level=2), every meson test but
#               the 'kvm', 'vmx' and 'linux' suites
#   kvm         the gcc build's 'kvm' suite (the KVM glue, the guest programs
#               under virq-vmm in both irqchip modes)
#   linux       the gcc build's 'linux' suite: Debian's kernel booted SMP on
#               virq-vmm, four boots; without /dev/kvm each in an L1 of its
#               own (see step_linux)
#   vmx         the gcc build's 'vmx' suite: guest programs under virq-hv,
#               the freestanding example hypervisor, under Bochs (VMX)
#   asan        clang, ASan+UBSan, -Dfuzz=enabled, every meson test but
#               'vmx' and 'linux'
#   tsan        clang, TSan, the 'concurrency' suite (threads, the KVM glue, SMP guests)
#   free-gcc    freestanding build with gcc: the archive may reference no
#   free-clang  symbol but memset/memcpy/memmove, objects built with
#               -ffreestanding -nostdlib -mno-red-zone -mgeneral-regs-only
#               (and it defines no global symbol but virq_: check_exports.py)
#   lockcount   release builds (gcc, clang) of the library and benchmarks: a
#               post that finds ON set executes exactly one locked
#               instruction, counted by gdb and on objdump's path
#               (scripts/lockcount.sh --check), and each build's negative
#               control (one more locked op in the post) is reported
#   adopt       the documents followed as written (scripts/adopt.sh), one
#               check per path: README.md's install with pkg-config (shared
#               and static), README.md's meson subproject through
#               doc/libvirq.wrap, doc/freestanding.md's raw-source build
#               linked into a kernel-style static ELF
#   doxygen     API reference for include/virq, zero warnings
#   fuzz        a libFuzzer smoke run of every fuzz target of the asan build
#               (corpus replay itself is the 'fuzz-replay' meson suite)
#   demo        the README's demonstration command, scripts/demo.sh
#   format      clang-format --dry-run -Werror over all C sources
#
# Without a usable /dev/kvm here, whatever needs KVM runs inside a
# throwaway Linux with KVM under QEMU's emulator (scripts/nested-kvm.sh,
# about 20 s to boot, each time): the kvm step, each boot of the linux
# step (an L1 each), the asan build's 'kvm' suite, the tests of the tsan
# build in both 'concurrency' and 'kvm', and the demo's guest programs. The
# other tests of those builds run here.
#
# Counting: every meson test run in every build is one test, counted as
# passed, failed or skipped by its result in meson-logs/testlog.json, here
# or in that L1. SKIP is exit status 77: a cmocka binary whose cases
# skipped (through tests/virq_test.h), a guest program that did not run or
# whose checks skipped (tests/guests/run-guest.sh; the LAPIC-only programs
# skip with --irqchip=split, where the LAPIC is KVM's). Every other check
# (each freestanding build, each lockcount check and negative control,
# doxygen, each fuzz smoke run, the demo, clang-format) is one more pass or
# failure.
# A skip is not a pass: skips are counted apart, per step and in total,
# and listed at the end, each with its reason (the first line of the
# test's output that starts with "SKIP", or "no reason given"). Skips do
# not fail the run; these do, one failure each:
#
#   - a build that does not configure or compile;
#   - an L1 that gave no result (hung, panicked, over its time limit) or
#     could not start: one failure, its console's last lines shown (in
#     the linux step, one Linux boot's L1 that gave no result runs that
#     boot once more in a new L1 first, said in the step's note);
#   - a meson test step in which no test passed (all skipped, or none ran),
#     a tsan step whose 'concurrency' suite is empty, and a linux step in
#     which no boot passed (or whose suite has no test);
#   - the fuzz step without the asan build; each fuzz/<name>/ directory
#     that holds C sources but gave the asan build no fuzz-<name> or
#     fuzz-<name>-* libFuzzer binary; fewer smoke runs than such
#     directories or than binaries.
#
# The output ends with the summary table (passed, failed, skipped and time
# per step), the "failed:" list when something failed ("step: what"), the
# "skipped:" list ("step: suite / test: reason"), and the
# last line "N passed, N failed, N skipped". The exit status is non-zero
# when anything failed.
#
# Environment:
#   VIRQ_CI_DIR         where the build directories go (default: build),
#                       as $VIRQ_CI_DIR/ci-gcc, ci-asan, ...
#   VIRQ_FUZZ_SECONDS   length of each libFuzzer smoke run (default: 20)
#   VIRQ_FUZZ_SEED      libFuzzer seed of the smoke runs (default: 1, so a CI run is
#                       reproducible; long exploratory runs belong in fuzz/README.md)
#   VIRQ_CI_STEPS       the steps to run, by name, space-separated (default:
#                       all; a partial run is for development, not CI: the
#                       steps left out are not listed or counted)
#   VIRQ_NO_INSTALL=1   do not try to install missing packages
#   VIRQ_NESTED_TIMEOUT limit of each L1 run in seconds (default here: 600; the
#                       runs take 2-3 minutes, and a hung L1 must not hold CI
#                       for long)

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

CI_BASE=${VIRQ_CI_DIR:-build}
CI=$CI_BASE/ci
LOGS=$CI-logs
FUZZ_SECONDS=${VIRQ_FUZZ_SECONDS:-20}
JOBS=$(nproc 2>/dev/null || echo 2)
T_START=$(date +%s)

TOTAL_PASS=0
TOTAL_FAIL=0
TOTAL_SKIP=0
SUMMARY=()
# "step: test: reason" for every skip, listed at the end.
SKIPPED=()
# Every failed check, "step: what", listed again at the end (the end of a
# long log is what a CI page keeps).
FAILS=()

# Per-step results, set by the step functions.
STEP=
STEP_PASS=0
STEP_FAIL=0
STEP_SKIP=0
STEP_NOTE=

mkdir -p "$LOGS"

# ---- packages ----------------------------------------------------------

install_tools()
{
	local rt_ver rt_pkg

	[ "${VIRQ_NO_INSTALL:-0}" = 1 ] && return 0
	virq_need meson:meson ninja-build:ninja pkg-config:pkg-config python3:python3 \
		gcc:gcc libc6-dev:/usr/include/stdio.h g++:g++ binutils:nm git:git \
		libcmocka-dev:/usr/include/cmocka.h clang:clang llvm:llvm-symbolizer \
		doxygen:doxygen clang-format:clang-format valgrind:valgrind gdb:gdb \
		bochs:bochs bochsbios:/usr/share/bochs/BIOS-bochs-latest \
		vgabios:/usr/share/vgabios/vgabios.bin || true
	# The 'linux' suite's initramfs, where it runs (here, on /dev/kvm).
	if [ "$HAVE_KVM" = 1 ]; then
		virq_need busybox-static:/bin/busybox cpio:cpio || true
	fi

	# Sanitizer and libFuzzer runtimes: a separate package since Debian 12,
	# named after the clang version.
	if command -v clang >/dev/null 2>&1; then
		rt_ver=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
		rt_pkg=libclang-rt-$rt_ver-dev
		if [ ! -e "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)" ] &&
		   apt-cache show "$rt_pkg" >/dev/null 2>&1; then
			virq_need "$rt_pkg" || true
		fi
	fi
}

# ---- bookkeeping -------------------------------------------------------

# run_step NAME FUNCTION [ARGS...]
run_step()
{
	local name=$1 t0 t1 verdict
	shift

	# VIRQ_CI_STEPS: only the steps named (the others are not listed).
	case " ${VIRQ_CI_STEPS:-$name} " in
	*" $name "*) ;;
	*) return 0 ;;
	esac
	STEP=$name
	STEP_PASS=0
	STEP_FAIL=0
	STEP_SKIP=0
	STEP_NOTE=
	printf '\n==> %s\n' "$name"
	t0=$(date +%s)
	"$@"
	t1=$(date +%s)
	TOTAL_PASS=$((TOTAL_PASS + STEP_PASS))
	TOTAL_FAIL=$((TOTAL_FAIL + STEP_FAIL))
	TOTAL_SKIP=$((TOTAL_SKIP + STEP_SKIP))
	verdict=PASS
	[ "$STEP_FAIL" -gt 0 ] && verdict=FAIL
	SUMMARY+=("$(printf '%-4s  %-11s %4d passed %3d failed %3d skipped %5ss  %s' "$verdict" \
		"$name" "$STEP_PASS" "$STEP_FAIL" "$STEP_SKIP" "$((t1 - t0))" "$STEP_NOTE")")
	printf '<== %s: %s (%d passed, %d failed, %d skipped, %ss)%s\n' "$name" "$verdict" \
		"$STEP_PASS" "$STEP_FAIL" "$STEP_SKIP" "$((t1 - t0))" "${STEP_NOTE:+ - $STEP_NOTE}"
}

check_ok()
{
	STEP_PASS=$((STEP_PASS + 1))
	printf '  ok    %s\n' "$1"
}

check_fail()
{
	STEP_FAIL=$((STEP_FAIL + 1))
	FAILS+=("$STEP: $1")
	printf '  FAIL  %s\n' "$1"
}

note()
{
	STEP_NOTE=${STEP_NOTE:+$STEP_NOTE; }$1
}

# Prints the last lines of a log, indented.
show_log()
{
	printf '  --- %s (last %s lines) ---\n' "$1" "${2:-40}"
	tail -n "${2:-40}" "$1" | sed 's/^/  | /'
}

# ---- meson helpers -----------------------------------------------------

# meson_build DIR CC [MESON OPTIONS...]: configure (or reconfigure) and
# compile. On failure counts one failed check and returns 1.
meson_build()
{
	local dir=$1 cc=$2 log rc
	shift 2
	log=$LOGS/$(basename "$dir").build.log

	if [ -f "$dir/build.ninja" ]; then
		CC=$cc meson setup --reconfigure "$dir" "$@" >"$log" 2>&1 ||
			CC=$cc meson setup --wipe "$dir" "$@" >>"$log" 2>&1
		rc=$?
	else
		CC=$cc meson setup "$dir" "$@" >"$log" 2>&1
		rc=$?
	fi
	if [ "$rc" -ne 0 ]; then
		check_fail "configure $dir ($cc $*)"
		show_log "$log"
		return 1
	fi
	# -k 0: build every target that can be built, so one broken file does
	# not hide the results of every other test.
	if ! ninja -C "$dir" -k 0 >>"$log" 2>&1; then
		check_fail "build $dir"
		grep -E '^FAILED:|error:|warning:|undefined reference' "$log" | head -n 20 |
			cut -c 1-300 | sed 's/^/  | /'
		echo "  full log: $log"
		# Go on only when the library itself is built and up to date.
		ninja -C "$dir" -n libvirq.a 2>/dev/null | grep 'no work to do' >/dev/null ||
			return 1
		note "partial build: running the tests that built"
		return 0
	fi
	printf '  built %s\n' "$dir"
	return 0
}

# Counts the results of the last `meson test` in DIR from testlog.json:
# T_PASS, T_FAIL, T_SKIP; T_BAD, a line "suite / test (RESULT)" per failed
# test; T_SKIPPED, a line "suite / test: reason" per skipped test, the
# reason being the first line of its stdout (else stderr) that starts with
# "SKIP", less that word and a colon, or "no reason given".
count_tests()
{
	local dir=$1 out

	out=$(python3 - "$dir/meson-logs/testlog.json" <<'EOF'
import json, sys
passed = failed = skipped = 0
bad = []
skips = []
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    lines = []
for line in lines:
    if not line.strip():
        continue
    t = json.loads(line)
    r = t.get('result', '')
    suite = (t.get('suite') or ['?'])[0].split(':')[-1]
    name = t.get('name', '?')
    if ' / ' in name:  # "project:suite+suite / test": drop the project
        where, _, test = name.partition(' / ')
        name = where.split(':')[-1] + ' / ' + test
    else:
        name = suite + ' / ' + name
    if r in ('OK', 'EXPECTEDFAIL'):
        passed += 1
    elif r == 'SKIP':
        skipped += 1
        why = ''
        for key in ('stdout', 'stderr'):
            hit = [l for l in (t.get(key) or '').splitlines() if l.startswith('SKIP')]
            if hit:
                why = hit[0][4:].lstrip(':').strip() or hit[0].strip()
                break
        skips.append('%s: %s' % (name, why or 'no reason given'))
    else:
        failed += 1
        bad.append('%s (%s)' % (name, r))
print(passed, failed, skipped)
for b in bad:
    print('F', b)
for s in skips:
    print('S', s)
EOF
	)
	read -r T_PASS T_FAIL T_SKIP <<<"$(head -n 1 <<<"$out")"
	T_BAD=$(sed -n 's/^F //p' <<<"$out")
	T_SKIPPED=$(sed -n 's/^S //p' <<<"$out")
}

# meson_tests DIR LABEL [MESON TEST OPTIONS...]: meson test here.
meson_tests()
{
	run_meson_tests here "$@"
}

# l1_tests DIR LABEL [MESON TEST OPTIONS...]: meson test inside an L1 with
# KVM (scripts/nested-kvm.sh), counted the same way. The L1 writes meson's
# logs to its tmpfs and copies them back at the end (VIRQ_NESTED_TMPFS).
l1_tests()
{
	run_meson_tests l1 "$@"
}

# run_meson_tests here|l1 DIR LABEL [MESON TEST OPTIONS...]
run_meson_tests()
{
	local where=$1 dir=$2 label=$3 log rc b runner=() tag=${RUN_TAG:-} tries=1
	shift 3
	log=$LOGS/$(basename "$dir")$tag.test.log

	if [ "$where" = l1 ]; then
		log=$LOGS/$(basename "$dir")$tag.test-l1.log
		runner=(env VIRQ_NESTED_SHARE="$L1_SHARE" VIRQ_NESTED_TMPFS="$dir/meson-logs"
			VIRQ_NESTED_CONSOLE_LOG="$LOGS/$(basename "$dir")$tag.l1-console.log"
			bash "$ROOT/scripts/nested-kvm.sh")
		[ "${L1_RETRY:-0}" = 1 ] && tries=2
	fi
	while :; do
		rm -f "$dir/meson-logs/testlog.json"
		"${runner[@]}" meson test -C "$dir" --no-rebuild --print-errorlogs \
			--num-processes "$JOBS" "$@" >"$log" 2>&1
		rc=$?
		tries=$((tries - 1))
		# L1_RETRY: an L1 that gave no result at all (124: it hung or
		# its kernel panicked; never a test's status) runs the tests
		# once more in a new L1. Said, with the first L1's last lines.
		[ "$where" = l1 ] && [ "$rc" = 124 ] && [ "$tries" -gt 0 ] || break
		printf '  NOTE  %s: the L1 gave no result (nested-kvm exit 124); once more in a new L1:\n' \
			"$label"
		tail -n 12 "$log" | sed 's/^/  | /'
		cp "$log" "$log.lost"
		note "L1 gave no result once, rerun: $label"
	done
	if [ "$where" = l1 ] && { [ "$rc" = 124 ] || [ "$rc" = 125 ]; }; then
		# No result from the L1 at all: one failure, not one per test.
		check_fail "$label: the L1 gave no result (nested-kvm exit $rc)"
		show_log "$log" 100
		note "L1 failed"
		return
	fi
	if [ "$where" = l1 ] && grep -q 'running the command again in a new L1' "$log"; then
		# The L1 went away once (not the tests: they leave a status);
		# these results are the second L1's. Said, never hidden.
		printf '  NOTE  %s: the first L1 went away while the tests ran; they ran again:\n' \
			"$label"
		grep -A 16 'nested-kvm: the L1 went away' "$log" | sed 's/^/  | /'
		note "L1 reset once, rerun"
	fi
	count_tests "$dir"
	# A run of one test (RUN_TAG) keeps its meson log: the next run's
	# replaces the build directory's.
	[ -z "$tag" ] || cp "$dir/meson-logs/testlog.txt" "$LOGS/$(basename "$dir")$tag.testlog.txt" \
		2>/dev/null
	STEP_PASS=$((STEP_PASS + T_PASS))
	STEP_FAIL=$((STEP_FAIL + T_FAIL))
	STEP_SKIP=$((STEP_SKIP + T_SKIP))
	printf '  %s: %d tests passed, %d failed, %d skipped\n' "$label" "$T_PASS" "$T_FAIL" \
		"$T_SKIP"
	if [ -n "$T_BAD" ]; then
		while IFS= read -r b; do
			printf '  FAIL  %s\n' "$b"
			FAILS+=("$STEP: $b")
		done <<<"$T_BAD"
		note "$T_FAIL tests failed"
	fi
	if [ -n "$T_SKIPPED" ]; then
		while IFS= read -r b; do
			printf '  SKIP  %s\n' "$b"
			SKIPPED+=("$STEP: $b")
		done <<<"$T_SKIPPED"
	fi
	if [ "$rc" -ne 0 ] && [ "$T_FAIL" -eq 0 ]; then
		# meson test failed without a failing test: count it.
		check_fail "meson test in $dir (exit $rc)"
	fi
	if [ "$T_PASS" -eq 0 ] && [ -z "$tag" ]; then
		# Skips are no evidence: a step in which nothing passed tested
		# nothing. (A run of one test, RUN_TAG, leaves that to its step.)
		check_fail "$label: no test passed ($T_FAIL failed, $T_SKIP skipped)"
	fi
	if [ "$rc" -ne 0 ]; then
		show_log "$log" 60
	fi
}

# Number of tests of DIR in SUITE.
suite_size()
{
	meson introspect --tests "$1" 2>/dev/null | python3 -c '
import json, sys
suite = sys.argv[1]
tests = json.load(sys.stdin)
print(sum(1 for t in tests if any(s.split(":")[-1] == suite for s in t["suite"])))
' "$2"
}

# Names of the tests of DIR in SUITE.
suite_names()
{
	meson introspect --tests "$1" 2>/dev/null | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if sys.argv[1] in [x.split(":")[-1] for x in t["suite"]]:
        print(t["name"])
' "$2"
}

# Names of the tests of DIR in both suites A and B (meson test selects a
# union of suites, never an intersection).
suite_both()
{
	meson introspect --tests "$1" 2>/dev/null | python3 -c '
import json, sys
a, b = sys.argv[1:]
for t in json.load(sys.stdin):
    s = [x.split(":")[-1] for x in t["suite"]]
    if a in s and b in s:
        print(t["name"])
' "$2" "$3"
}

# ---- KVM -----------------------------------------------------------------

# A /dev/kvm that opens read-write, as run-guest.sh requires.
# The shortest directory holding both the repository and the build
# directories: the L1 gets it read-write (the rest of / is read-only there).
l1_share()
{
	local a=$ROOT b

	b=$(mkdir -p "$CI_BASE" && cd "$CI_BASE" && pwd -P) || return 1
	a=$(cd "$a" && pwd -P)
	while [ "$a" != / ]; do
		case $b/ in
		"$a"/*) break ;;
		esac
		a=$(dirname "$a")
	done
	echo "$a"
}

HAVE_KVM=0
virq_kvm_hw && HAVE_KVM=1
KVM_WHY_NOT=$(virq_kvm_why_not)
export VIRQ_NESTED_TIMEOUT=${VIRQ_NESTED_TIMEOUT:-600}
L1_SHARE=$(l1_share)
if [ "$HAVE_KVM" = 0 ] && [ "$L1_SHARE" = / ]; then
	virq_warn "$CI_BASE and $ROOT share no directory but /: the L1 runs will fail"
fi

# ---- the steps ---------------------------------------------------------

GCC_OK=0
step_gcc()
{
	meson_build "$CI-gcc" gcc -Dwerror=true -Dtests=enabled -Dexamples=enabled \
		-Ddocs=auto || return
	GCC_OK=1
	# The 'kvm', 'linux' and 'vmx' suites are the kvm and vmx steps'.
	meson_tests "$CI-gcc" "gcc" --no-suite kvm --no-suite vmx --no-suite linux
}

# The gcc build's 'vmx' suite: virq-hv (examples/hv, freestanding) under
# Bochs, which the packages step installed (missing Bochs fails, never skips).
step_vmx()
{
	if [ "$GCC_OK" != 1 ]; then
		check_fail "vmx: the gcc build failed"
		return
	fi
	meson_tests "$CI-gcc" "gcc, suite vmx (Bochs)" --suite vmx
}

# The gcc build's 'kvm' suite (the guest programs under virq-vmm): here
# with /dev/kvm, else inside one L1.
step_kvm()
{
	if [ "$GCC_OK" != 1 ]; then
		check_fail "no gcc build: the 'kvm' suite did not run"
		return
	fi
	if [ "$HAVE_KVM" = 1 ]; then
		meson_tests "$CI-gcc" "gcc, suite kvm" --suite kvm
	else
		note "in an L1 Linux with KVM under QEMU TCG ($KVM_WHY_NOT here)"
		l1_tests "$CI-gcc" "gcc, suite kvm (L1)" --suite kvm
	fi
}

# The gcc build's 'linux' suite: Debian's kernel booted on virq-vmm (four
# boots, tests/linux/run-linux.sh). Here with /dev/kvm; else each boot in
# an L1 of its own: with the four in one L1, that L1 failed in 2 of 3
# clean-clone runs here (its own kernel panicked, "corrupted stack end
# detected inside scheduler" in virq-vmm's thread, in a user-mode 4-vCPU
# boot; it hung in a split 4-vCPU one), and an L1 that fails takes every
# result it held with it. An L1 that gives no result runs its boot once
# more in a new one (L1_RETRY, said in the step note); a boot that failed
# or skipped has a status and is never run again.
step_linux()
{
	local t n=0 pass0=$STEP_PASS

	if [ "$GCC_OK" != 1 ]; then
		check_fail "no gcc build: the 'linux' suite did not run"
		return
	fi
	if [ "$HAVE_KVM" = 1 ]; then
		meson_tests "$CI-gcc" "gcc, suite linux" --suite linux
		return
	fi
	note "each boot in an L1 of its own ($KVM_WHY_NOT here)"
	for t in $(suite_names "$CI-gcc" linux); do
		n=$((n + 1))
		RUN_TAG=-$t L1_RETRY=1 l1_tests "$CI-gcc" "gcc, $t (L1)" "$t"
	done
	if [ "$n" -eq 0 ]; then
		check_fail "suite linux has no tests in $CI-gcc"
	elif [ "$STEP_PASS" -eq "$pass0" ]; then
		check_fail "suite linux: no boot passed"
	fi
}

ASAN_OK=0
step_asan()
{
	meson_build "$CI-asan" clang -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtests=enabled -Dfuzz=enabled -Dexamples=enabled \
		-Ddocs=disabled || return
	ASAN_OK=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1
	if [ "$HAVE_KVM" = 1 ]; then
		meson_tests "$CI-asan" "clang asan+ubsan" --no-suite vmx --no-suite linux \
			--timeout-multiplier 3
	else
		meson_tests "$CI-asan" "clang asan+ubsan" --no-suite kvm --no-suite vmx \
			--no-suite linux --timeout-multiplier 3
		note "suite kvm in an L1"
		l1_tests "$CI-asan" "clang asan+ubsan, suite kvm (L1)" --suite kvm \
			--timeout-multiplier 3
	fi
	unset UBSAN_OPTIONS ASAN_OPTIONS
}

# TSan (clang 14) cannot map its shadow with the high ASLR entropy of
# recent kernels; run it without ASLR when a probe says so.
tsan_wrapper()
{
	local probe=$LOGS/tsan-probe

	printf 'int main(void) { return 0; }\n' >"$probe.c"
	clang -fsanitize=thread "$probe.c" -o "$probe" 2>/dev/null || return 0
	"$probe" >/dev/null 2>&1 && return 0
	if command -v setarch >/dev/null 2>&1 &&
	   setarch "$(uname -m)" -R "$probe" >/dev/null 2>&1; then
		echo "setarch $(uname -m) -R"
	fi
}

step_tsan()
{
	local n wrap both=()

	meson_build "$CI-tsan" clang -Dwerror=true -Db_sanitize=thread -Db_lundef=false \
		-Dtests=enabled -Dfuzz=disabled -Dbench=disabled -Dexamples=enabled \
		-Ddocs=disabled || return
	n=$(suite_size "$CI-tsan" concurrency)
	if [ "${n:-0}" -eq 0 ]; then
		# This step must run something: an empty suite is a failure.
		check_fail "clang tsan: no test in suite 'concurrency'"
		return
	fi
	wrap=$(tsan_wrapper)
	[ -n "$wrap" ] && note "run under '$wrap' (TSan vs ASLR)"
	export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
	if [ "$HAVE_KVM" = 1 ]; then
		meson_tests "$CI-tsan" "clang tsan" --suite concurrency --timeout-multiplier 3 \
			${wrap:+--wrapper "$wrap"}
	else
		# What needs no KVM here, the rest (the KVM glue, the SMP
		# guests) in an L1, under the same wrapper.
		mapfile -t both < <(suite_both "$CI-tsan" concurrency kvm)
		meson_tests "$CI-tsan" "clang tsan" --suite concurrency --no-suite kvm \
			--timeout-multiplier 3 ${wrap:+--wrapper "$wrap"}
		if [ ${#both[@]} -gt 0 ]; then
			note "${#both[@]} concurrency+kvm tests in an L1"
			l1_tests "$CI-tsan" "clang tsan, suites concurrency+kvm (L1)" \
				--timeout-multiplier 3 ${wrap:+--wrapper "$wrap"} "${both[@]}"
		fi
	fi
	unset TSAN_OPTIONS
}

# Checks the compile commands of the library objects of DIR for the
# freestanding flags. Prints offending objects; returns non-zero on any.
check_free_flags()
{
	python3 - "$1/compile_commands.json" <<'EOF'
import json, sys
need = ['-ffreestanding', '-nostdlib', '-mno-red-zone', '-mgeneral-regs-only']
cmds = [c for c in json.load(open(sys.argv[1])) if 'libvirq-internal.a.p' in c.get('output', c['command'])]
bad = 0
for c in cmds:
    args = c['command'].split()
    miss = [f for f in need if f not in args]
    if miss:
        bad += 1
        print('  %s: missing %s' % (c['file'], ' '.join(miss)))
if not cmds:
    print('  no library objects in compile_commands.json')
    bad = 1
print('  %d library objects checked for %s' % (len(cmds), ' '.join(need)))
sys.exit(1 if bad else 0)
EOF
}

step_free()
{
	local cc=$1 dir=$CI-free-$1 undef extra sse ok=1

	meson_build "$dir" "$cc" -Dfreestanding=true -Dwerror=true || return
	if ! ld -r --whole-archive "$dir/libvirq.a" -o "$dir/all.o"; then
		check_fail "freestanding ($cc): ld -r --whole-archive"
		return
	fi
	undef=$(nm -u "$dir/all.o" | awk '{ print $NF }' | sort -u)
	extra=$(grep -vxE 'memset|memcpy|memmove' <<<"$undef" | grep -v '^$')
	printf '  undefined symbols: %s\n' "$(tr '\n' ' ' <<<"${undef:-none}")"
	if [ -n "$extra" ]; then
		echo "  not allowed: $(tr '\n' ' ' <<<"$extra")"
		ok=0
	fi
	check_free_flags "$dir" || ok=0
	# The installed archive defines only the virq_ API (meta test 'exports',
	# which hosted builds run).
	python3 "$ROOT/tests/meta/check_exports.py" nm "$ROOT" "$dir" | sed 's/^/  /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || ok=0
	# -mgeneral-regs-only: no SSE/AVX register anywhere in the code.
	sse=$(objdump -d "$dir/all.o" | grep -cE '%[xyz]mm[0-9]')
	if [ "$sse" -ne 0 ]; then
		echo "  $sse instructions use vector registers"
		ok=0
	fi
	if [ "$ok" = 1 ]; then
		check_ok "freestanding ($cc): only memset/memcpy/memmove undefined, flags present, only virq_ global"
	else
		check_fail "freestanding ($cc)"
	fi
}

# The post that finds ON set executes exactly one locked instruction, in a
# release build (library and benchmarks only) with each compiler:
# scripts/lockcount.sh --check counts it with gdb and on the static path
# objdump gives. Then its negative control, a bench-lapic whose post has one
# more locked instruction (lockcount.sh --control), must be reported by both
# counts, or the check proves nothing. Two checks per compiler.
step_lockcount()
{
	local cc dir ctl log rc
	local opts=(--buildtype=release -Dwerror=true -Dbench=enabled -Dtests=disabled
		-Dexamples=disabled -Dfuzz=disabled -Ddocs=disabled)

	for cc in gcc clang; do
		dir=$CI-lock-$cc
		ctl=$dir/control
		log=$LOGS/lockcount-$cc.log
		# bench-lapic and the archive it links, nothing else.
		if [ -f "$dir/build.ninja" ]; then
			CC=$cc meson setup --reconfigure "$dir" "${opts[@]}" >"$log" 2>&1 ||
				CC=$cc meson setup --wipe "$dir" "${opts[@]}" >>"$log" 2>&1
		else
			CC=$cc meson setup "$dir" "${opts[@]}" >"$log" 2>&1
		fi &&
			ninja -C "$dir" bench/bench-lapic >>"$log" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ]; then
			check_fail "lockcount: $cc release build of bench-lapic"
			show_log "$log" 30
			continue
		fi
		sh scripts/lockcount.sh --check "$dir/bench/bench-lapic" >>"$log" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ]; then
			check_ok "lockcount ($cc release): a post finding ON set executes 1 locked instruction (gdb), 1 on its static path (objdump)"
		else
			check_fail "lockcount ($cc release): exit $rc"
			show_log "$log" 30
		fi
		rm -rf "$ctl"
		if ! sh scripts/lockcount.sh --control "$dir" "$ctl" >"$log.control" 2>&1; then
			check_fail "lockcount ($cc release): the negative control did not build"
			show_log "$log.control" 20
			continue
		fi
		sh scripts/lockcount.sh --check --lib "$ctl/irq.o" "$ctl/bench-lapic" \
			>>"$log.control" 2>&1
		rc=$?
		if [ "$rc" -eq 1 ] &&
		   grep -q '^lockcount: FAIL post-on executes 2 locked instructions (gdb)' \
			"$log.control" &&
		   grep -q "^lockcount: FAIL post-on's static path holds 2 locked instructions" \
			"$log.control"; then
			check_ok "lockcount ($cc release) negative control: one more locked op in the post is reported (gdb 2, objdump 2)"
		else
			check_fail "lockcount ($cc release) negative control: not reported as 2 locked by both counts (exit $rc)"
			show_log "$log.control" 30
		fi
	done
}

# The documents' recipes, run as written by scripts/adopt.sh in a copy of
# the tree: one check per path (install, subproject, freestanding), from
# its "adopt: PASS|FAIL PATH (Ns)" line; a path without a line fails.
step_adopt()
{
	local log=$LOGS/adopt.log p line

	VIRQ_NO_INSTALL=1 bash scripts/adopt.sh >"$log" 2>&1
	for p in install subproject freestanding; do
		line=$(grep -E "^adopt: (PASS|FAIL) $p " "$log" | tail -n 1)
		case $line in
		"adopt: PASS "*) check_ok "adopt: ${line#adopt: PASS }" ;;
		"adopt: FAIL "*) check_fail "adopt: ${line#adopt: FAIL }" ;;
		*) check_fail "adopt: $p gave no result" ;;
		esac
	done
	if [ "$STEP_FAIL" -gt 0 ]; then
		show_log "$log" 40
	fi
}

step_doxygen()
{
	local dir=$CI-gcc/doc log=$LOGS/doxygen.log

	if ! command -v doxygen >/dev/null 2>&1; then
		check_fail "doxygen is not installed"
		return
	fi
	if [ ! -f "$dir/Doxyfile" ]; then
		check_fail "doxygen: $dir/Doxyfile missing (gcc build not configured?)"
		return
	fi
	rm -rf "$dir/html"
	if (cd "$dir" && doxygen Doxyfile) >"$log" 2>&1 && ! grep -qE 'warning:|error:' "$log"
	then
		check_ok "doxygen: include/virq, zero warnings -> $dir/html/index.html"
	else
		check_fail "doxygen: $(grep -cE 'warning:|error:' "$log") warnings"
		grep -E 'warning:|error:' "$log" | head -n 30 | sed 's/^/  | /'
	fi
}

# The checked-in corpus of a libFuzzer target: fuzz-AREA[-VARIANT].
corpus_for()
{
	local base area rest d

	base=${1#fuzz[-_]}
	area=${base%%[-_]*}
	rest=${base#"$area"}
	rest=${rest#[-_]}
	for d in "fuzz/$area/corpus/$base" ${rest:+"fuzz/$area/corpus/$rest"} \
		 ${rest:+"fuzz/$area/corpus-$rest"} ${rest:+"fuzz/$area/corpus_$rest"} \
		 ${rest:+"fuzz/$area/$rest/corpus"} "fuzz/$area/corpus-$base" \
		 "fuzz/corpus/$base" "fuzz/$base/corpus" "fuzz/$area/corpus"; do
		if [ -d "$d" ]; then
			echo "$d"
			return
		fi
	done
}

# fuzz_one BINARY RESULTFILE: one smoke run in a scratch directory.
fuzz_one()
{
	local bin=$1 res=$2 name tmp corpus rc
	name=$(basename "$bin")
	# VIRQ_CI_DIR may be relative (to $ROOT) or absolute.
	case $bin in
	/*) ;;
	*) bin=$ROOT/$bin ;;
	esac
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/virq-fuzz-$name.XXXXXX")
	mkdir -p "$tmp/corpus"
	corpus=$(corpus_for "$name")
	[ -n "$corpus" ] && cp -R "$corpus/." "$tmp/corpus/"
	(
		cd "$tmp" &&
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		timeout $((FUZZ_SECONDS * 3 + 60)) "$bin" -max_total_time="$FUZZ_SECONDS" \
			-seed="${VIRQ_FUZZ_SEED:-1}" -jobs=1 -timeout=10 -print_final_stats=1 \
			-artifact_prefix="$tmp/" "$tmp/corpus"
	) >"$tmp/driver.log" 2>&1
	rc=$?
	echo "$rc $tmp ${corpus:-<none>}" >"$res"
}

# The fuzz target directories: every fuzz/<name>/ holding a .c file.
fuzz_dirs()
{
	find fuzz -mindepth 2 -maxdepth 2 -type f -name '*.c' 2>/dev/null |
		awk -F/ '{ print $2 }' | sort -u
}

step_fuzz()
{
	local bins=() dirs=() b d i res rc tmp corpus name execs found runs=0

	mapfile -t dirs < <(fuzz_dirs)
	if [ "$ASAN_OK" != 1 ]; then
		# Counted here too: the smoke runs must run.
		check_fail "no clang asan build: none of ${#dirs[@]} fuzz targets ran"
		return
	fi
	while IFS= read -r b; do
		# libFuzzer binaries only (replay mains are plain programs).
		nm "$b" 2>/dev/null | grep ' LLVMFuzzerRunDriver$' >/dev/null && bins+=("$b")
	done < <(find "$CI-asan/fuzz" -type f -perm -u+x \( -name 'fuzz-*' -o -name 'fuzz_*' \) \
		 ! -name '*.p' 2>/dev/null | sort)
	printf '  %d fuzz target directories (%s), %d libFuzzer binaries\n' "${#dirs[@]}" \
		"${dirs[*]:-none}" "${#bins[@]}"
	# Every target directory must have given at least one binary
	# fuzz-<dir> or fuzz-<dir>-<variant> (fuzz_ spelt either way).
	for d in "${dirs[@]}"; do
		found=0
		for b in "${bins[@]}"; do
			name=$(basename "$b" | tr _ -)
			case $name in
			"fuzz-$(tr _ - <<<"$d")" | "fuzz-$(tr _ - <<<"$d")"-*) found=1 ;;
			esac
		done
		if [ "$found" = 0 ]; then
			name="fuzz/$d: no fuzz-$d libFuzzer binary in $CI-asan/fuzz"
			check_fail "$name (is it wired into fuzz/meson.build?)"
		fi
	done
	if [ ${#bins[@]} -eq 0 ]; then
		check_fail "no libFuzzer binary in $CI-asan/fuzz: nothing to run"
		return
	fi
	# Run as many at once as there are CPUs, each with -jobs=1.
	rm -f "$LOGS"/fuzz.*.res
	for ((i = 0; i < ${#bins[@]}; i++)); do
		fuzz_one "${bins[$i]}" "$LOGS/fuzz.$i.res" &
		if (((i + 1) % JOBS == 0)); then
			wait
		fi
	done
	wait
	for ((i = 0; i < ${#bins[@]}; i++)); do
		name=$(basename "${bins[$i]}")
		if [ ! -s "$LOGS/fuzz.$i.res" ]; then
			check_fail "$name: the smoke run left no result"
			continue
		fi
		runs=$((runs + 1))
		read -r rc tmp corpus <"$LOGS/fuzz.$i.res"
		cat "$tmp"/fuzz-*.log "$tmp/driver.log" >"$LOGS/fuzz-$name.log" 2>/dev/null
		execs=$(grep -hoE 'stat::number_of_executed_units: *[0-9]+' "$LOGS/fuzz-$name.log" |
			awk '{ print $NF }' | tail -n 1)
		if [ "$rc" -eq 0 ] && ! ls "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* \
			>/dev/null 2>&1; then
			check_ok "$name: ${FUZZ_SECONDS}s, ${execs:-?} execs, corpus $corpus"
			rm -rf "$tmp"
		else
			check_fail "$name: exit $rc, corpus $corpus"
			mkdir -p "$CI-fuzz-artifacts/$name"
			cp "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* \
				"$CI-fuzz-artifacts/$name/" 2>/dev/null
			echo "  artifacts: $CI-fuzz-artifacts/$name/"
			show_log "$LOGS/fuzz-$name.log" 40
			rm -rf "$tmp"
		fi
	done
	echo "  $runs smoke runs, ${#bins[@]} libFuzzer binaries, ${#dirs[@]} target directories"
	if [ "$runs" -lt "${#bins[@]}" ] || [ "$runs" -lt "${#dirs[@]}" ]; then
		check_fail "fuzz: $runs smoke runs, ${#bins[@]} binaries, ${#dirs[@]} directories"
	fi
}

# The README's other command: scripts/demo.sh must build (tests off, as it
# configures) and run to its end: the guest programs in both irqchip modes,
# inside an L1 without /dev/kvm (each run is also a test of the kvm step;
# here the demo is one check).
step_demo()
{
	local log=$LOGS/demo.log

	# One virq-hv mode here: the vmx step ran every program in every mode.
	# Without the Linux finale: the linux step booted Linux four times.
	if VIRQ_NO_INSTALL=1 VIRQ_DEMO_DIR="$CI-demo" VIRQ_DEMO_HV_MODES=apicv VIRQ_DEMO_LINUX=0 \
		bash scripts/demo.sh >"$log" 2>&1; then
		check_ok "scripts/demo.sh: $(tail -n 1 "$log" | cut -c 1-100)"
	else
		# What failed first (demo_exit's list), then the log's end: the
		# list names the run even where only part of this output is kept.
		check_fail "scripts/demo.sh failed: $(sed -n '/^demo: failed/,$p' "$log" |
			sed -n '2,4p' | sed 's/^ *//' | tr '\n' ';' | cut -c 1-300)"
		show_log "$log" 30
	fi
}

step_format()
{
	local files=() f out bad

	if ! command -v clang-format >/dev/null 2>&1; then
		check_fail "clang-format is not installed"
		return
	fi
	while IFS= read -r f; do
		files+=("$f")
	done < <( (find lib include tests fuzz bench examples -type f \
		   \( -name '*.c' -o -name '*.h' \) 2>/dev/null; ls ./*.c ./*.h 2>/dev/null) | sort)
	out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1)
	bad=$(grep -oE '^[^:]+:[0-9]+:[0-9]+: (error|warning)' <<<"$out" | cut -d: -f1 |
	      sort | uniq -c)
	if [ -z "$out" ]; then
		check_ok "clang-format: ${#files[@]} files formatted ($(clang-format --version |
			grep -oE '[0-9]+\.[0-9.]+' | head -n 1))"
	else
		check_fail "clang-format: $(wc -l <<<"$bad") of ${#files[@]} files need formatting"
		awk '{ printf "  | %s (%s places)\n", $2, $1 }' <<<"$bad"
		echo "  fix: clang-format -i <files>"
		note "$(wc -l <<<"$bad") files unformatted"
	fi
}

# ---- main --------------------------------------------------------------

install_tools
printf 'libvirq test suite: %s, %s CPUs, build dirs %s-*\n' "$(git -C "$ROOT" describe \
	--always --dirty 2>/dev/null || echo 'no git')" "$JOBS" "$CI"

run_step gcc step_gcc
run_step kvm step_kvm
run_step linux step_linux
run_step vmx step_vmx
run_step asan step_asan
run_step tsan step_tsan
run_step free-gcc step_free gcc
run_step free-clang step_free clang
run_step lockcount step_lockcount
run_step adopt step_adopt
run_step doxygen step_doxygen
run_step fuzz step_fuzz
run_step demo step_demo
run_step format step_format

T_END=$(date +%s)
printf '\n==== summary (%ss) ====\n' "$((T_END - T_START))"
printf '%s\n' "${SUMMARY[@]}"
printf 'logs: %s\n\n' "$LOGS"
if [ ${#FAILS[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${FAILS[@]}" | cut -c 1-400
fi
if [ ${#SKIPPED[@]} -eq 0 ]; then
	echo "skipped: none"
else
	echo "skipped:"
	printf '  %s\n' "${SKIPPED[@]}"
fi
printf '%d passed, %d failed, %d skipped\n' "$TOTAL_PASS" "$TOTAL_FAIL" "$TOTAL_SKIP"
[ "$TOTAL_FAIL" -eq 0 ]
