#!/bin/sh
# SPDX-License-Identifier: MIT
#
# LAPIC hot-path benchmark: builds a release tree, runs bench-lapic, and
# checks the figures that do not depend on the machine:
#
#   1. bench-lapic: ns/op and instructions/op (perf_event_open) per scenario,
#      posts/s from two threads into one LAPIC.
#   2. Locked instructions of virq_lapic_post, statically: objdump of the
#      release static library, every entry-to-exit path of the function with
#      the lock-prefixed (and memory xchg) instructions on it.
#   3. The same dynamically (needs gdb with Python): single-steps one post in
#      each descriptor state and counts the locked instructions it executes.
#   4. Instructions per owner cycle from callgrind (needs valgrind):
#      (Ir(K cycles) - Ir(0 cycles)) / K, independent of perf_event access,
#      with the per-function split.
#   5. The I/O APIC level cycle (bench-vm --row ioapic) from callgrind,
#      (Ir(--iters K) - Ir(--iters 0)) / K with K = cycles / 10, with its
#      ratio against the figures stored below (IOAPIC_IR_*).
#
# usage: scripts/bench.sh [-B builddir] [--cycles K] [--no-build]
#                         [--trace SCENARIO] [-- bench-lapic options]
#
#   -B DIR            build directory (default build-bench), configured
#                     --buildtype=release -Dwerror=true -Dbench=enabled
#   --cycles K        callgrind cycles (default 100000)
#   --no-build        use the build directory as it is
#   --trace SCENARIO  only print every instruction one iteration of SCENARIO
#                     executes (gdb), e.g. --trace owner1
#   CC=clang scripts/bench.sh -B build-bench-clang   builds with clang
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
builddir="build-bench"
cycles=100000
build=1
trace=

while [ $# -gt 0 ]; do
	case $1 in
	-B) builddir=$2; shift 2 ;;
	--cycles) cycles=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--trace) trace=$2; shift 2 ;;
	--) shift; break ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"
		exit 0 ;;
	*) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

case $builddir in
/*) ;;
*) builddir=$root/$builddir ;;
esac
bench=$builddir/bench/bench-lapic
# The archive bench-lapic links (libvirq.a, which only a whole build makes,
# is the same code partially linked).
lib=$builddir/libvirq-internal.a

# I/O APIC level cycle, instructions (callgrind): the issue-11 baseline and
# the last committed figure. Update IOAPIC_IR_PREV when the figure moves.
IOAPIC_IR_BASE=1526
IOAPIC_IR_PREV=1010

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ "$build" = 1 ]; then
	if [ ! -f "$builddir/build.ninja" ]; then
		meson setup "$builddir" "$root" --buildtype=release -Dwerror=true \
			-Dbench=enabled >"$tmp/setup.log" 2>&1 ||
			{ cat "$tmp/setup.log"; exit 1; }
	fi
	meson compile -C "$builddir" bench/bench-lapic >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }
fi
[ -x "$bench" ] || { echo "bench.sh: $bench not built" >&2; exit 1; }

# ---- gdb: every instruction one iteration executes ----
#
# bench-lapic --scenario S --cycles 1 calls bench_probe_point() right before
# the scenario's loop; the script steps from there until the loop function
# returns to main and prints "T <symbol+offset>\t<instruction>" per step.
cat >"$tmp/trace.py" <<'EOF'
import gdb
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("break bench_probe_point", to_string=True)
gdb.execute("run", to_string=True)
gdb.execute("finish", to_string=True)
fr = gdb.selected_frame()
arch = fr.architecture()
sp0 = int(fr.read_register("rsp"))
deeper = False
for _ in range(100000):
    fr = gdb.selected_frame()
    pc = int(fr.pc())
    sp = int(fr.read_register("rsp"))
    if sp < sp0:
        deeper = True
    elif deeper:
        break
    sym = gdb.execute("info symbol %#x" % pc, to_string=True)
    sym = sym.split(" in section")[0].replace(" + ", "+").strip()
    print("T %s\t%s" % (sym, arch.disassemble(pc)[0]["asm"]))
    gdb.execute("stepi", to_string=True)
gdb.execute("kill", to_string=True)
EOF

have_gdb=0
if command -v gdb >/dev/null 2>&1 &&
	gdb -q -batch -ex 'python print(1)' >/dev/null 2>&1; then
	have_gdb=1
fi

# gdb_trace SCENARIO: the library's and the kick hook's instructions only
# (the benchmark loop is left out).
gdb_trace() {
	gdb -q -batch -x "$tmp/trace.py" --args "$bench" --scenario "$1" --cycles 1 \
		2>/dev/null | awk -F'\t' '/^T / {
			sym = substr($1, 3)
			if (sym ~ /^(virq_|lapic_|pi_|bench_kick)/)
				print sym "\t" $2
		}'
}

# A locked instruction: lock prefix, or xchg with a memory operand (implicitly
# locked; "xchg %ax,%ax" is a 2-byte nop).
locked_awk='function is_locked(s) { return s ~ /^lock / || (s ~ /^xchg/ && s ~ /\(/) }'

if [ -n "$trace" ]; then
	[ "$have_gdb" = 1 ] || { echo "bench.sh: --trace needs gdb with Python" >&2; exit 1; }
	gdb_trace "$trace" >"$tmp/t"
	awk -F'\t' "$locked_awk"'
		{ printf "%-26s %s%s\n", $1, $2, is_locked($2) ? "    <== locked" : "" }
		{ f = $1; sub(/\+.*/, "", f); n[f]++; tot++; if (is_locked($2)) lk++ }
		END {
			printf "\n%d instructions, %d locked; per function:", tot, lk
			for (f in n)
				printf " %s %d", f, n[f]
			printf "\n"
		}' "$tmp/t"
	exit 0
fi

# ---- 1. the benchmark ----
echo "== bench-lapic ($(cd "$root" && git describe --always --dirty 2>/dev/null || echo '?'))"
"$bench" "$@"

echo
echo "== perf"
if command -v perf >/dev/null 2>&1 &&
	perf stat -x, -e instructions:u true >"$tmp/perf" 2>&1 &&
	grep -q '^[0-9]' "$tmp/perf"; then
	echo "perf stat -e instructions:u true: works ($(cut -d, -f1 "$tmp/perf" | head -1)" \
		"instructions)"
else
	echo "perf stat -e instructions:u true: does not work here" \
		"($(head -1 "$tmp/perf" 2>/dev/null || echo 'perf not installed'))"
fi

# ---- 2. static: every path through virq_lapic_post ----
#
# The function body from objdump -dr of the static library; relocations mark
# jumps that leave the function (tail calls). A depth-first walk follows both
# sides of every conditional branch and prints, per path, the branch
# decisions (address:T taken / F fall-through), the locked instructions and
# how the path leaves (ret, tail call). With gdb, the three post states are
# single-stepped first and each path that is exactly the set of offsets a
# state executed is marked with that state's name.
post_states="post-on post-dup post-empty"
traced=
if [ "$have_gdb" = 1 ]; then
	for s in $post_states; do
		gdb_trace "$s" >"$tmp/t.$s"
		traced="$traced $s:$(awk -F'\t' '$1 ~ /^virq_lapic_post(\+|$)/ {
			o = $1; sub(/^[^+]*\+?/, "", o); printf "%x,", o + 0 }' "$tmp/t.$s")"
	done
fi

echo
echo "== locked instructions in virq_lapic_post ($lib, objdump)"
objdump -dr --no-show-raw-insn "$lib" |
	awk -v fn=virq_lapic_post -v traced="$traced" "$locked_awk"'
	# Names of the traced post states whose executed offsets are this path.
	function traced_as(seen, cnt, out, k, m, st, parts, q, np, i, hit) {
		out = ""
		m = split(traced, st, " ")
		for (k = 1; k <= m; k++) {
			q = index(st[k], ":")
			np = split(substr(st[k], q + 1), parts, ",")
			hit = 0
			for (i = 1; i <= np; i++)
				if (parts[i] != "" && (parts[i] in idx) &&
				    index(seen, " " idx[parts[i]] " "))
					hit++
			if (hit == cnt && np - 1 == cnt)
				out = out " <== " substr(st[k], 1, q - 1)
		}
		return out
	}
	function emit(how, locks, nl, dec, seen, cnt) {
		npath++
		printf "path %2d: %d locked, exit %s, branches%s%s\n", npath, nl, how, dec,
		       traced_as(seen, cnt)
		if (locks != "")
			printf "         %s\n", locks
		if (nl < minl)
			minl = nl
		if (nl > maxl)
			maxl = nl
	}
	function walk(i, seen, cnt, locks, nl, dec) {
		for (;;) {
			if (i < 1 || i > n) {
				emit("(falls off the end)", locks, nl, dec, seen, cnt)
				return
			}
			if (index(seen, " " i " ")) {
				# A back edge: a retry loop (cmpxchg) repeats its
				# locked instruction under contention.
				nloop++
				emit("none, loops back to " addr[i], locks, nl, dec, seen, cnt)
				return
			}
			seen = seen " " i " "
			cnt++
			if (lk[i]) {
				locks = locks (locks == "" ? "" : "; ") addr[i] ": " text[i]
				nl++
			}
			if (kind[i] == "exit") {
				emit(addr[i] ": " mn[i], locks, nl, dec, seen, cnt)
				return
			}
			if (kind[i] == "jmp") {
				i = idx[tgt[i]]
				continue
			}
			if (kind[i] == "jcc" && ext[i])
				emit(addr[i] ": " mn[i] " (tail)", locks, nl, dec " " addr[i] ":T",
				     seen, cnt)
			else if (kind[i] == "jcc")
				walk(idx[tgt[i]], seen, cnt, locks, nl, dec " " addr[i] ":T")
			if (kind[i] == "jcc")
				dec = dec " " addr[i] ":F"
			i++
		}
	}
	$0 ~ "^[0-9a-f]+ <" fn ">:$" { infn = 1; next }
	infn && /^$/ { infn = 0 }
	infn && /^[ \t]+[0-9a-f]+: R_/ { reloc[n] = 1; next }
	infn && /^[ \t]*[0-9a-f]+:\t/ {
		line = $0
		sub(/^[ \t]+/, "", line)
		a = line
		sub(/:.*/, "", a)
		t = line
		sub(/^[0-9a-f]+:\t/, "", t)
		n++
		addr[n] = a
		text[n] = t
		idx[a] = n
	}
	END {
		if (!n) {
			print "virq_lapic_post not found"
			exit 1
		}
		total = 0
		for (i = 1; i <= n; i++) {
			split(text[i], w, /[ \t]+/)
			mn[i] = (w[1] == "lock") ? w[2] : w[1]
			lk[i] = is_locked(text[i])
			total += lk[i]
			kind[i] = "seq"
			if (mn[i] ~ /^ret/ || mn[i] ~ /^(ud2|hlt|int3)$/) {
				kind[i] = "exit"
			} else if (mn[i] ~ /^jmp/) {
				tgt[i] = w[2]
				if (text[i] ~ /\*/ || reloc[i] || !(tgt[i] in idx))
					kind[i] = "exit" # indirect or tail jump
				else
					kind[i] = "jmp"
			} else if (mn[i] ~ /^j/) {
				tgt[i] = w[2]
				kind[i] = "jcc"
				ext[i] = reloc[i] || !(tgt[i] in idx)
			}
		}
		printf "%d instructions, %d locked in the body:\n", n, total
		for (i = 1; i <= n; i++)
			if (lk[i])
				printf "  %s: %s\n", addr[i], text[i]
		minl = 1000
		maxl = 0
		walk(1, "", 0, "", 0, "")
		printf "%d paths; %d to %d locked instructions per call", npath, minl, maxl
		if (nloop)
			printf "; %d paths end in a retry loop: their locked count is a minimum", nloop
		printf "\n"
	}'

# ---- 3. dynamic: the path a post takes in each state ----
echo
echo "== locked instructions executed by one post (gdb single-step)"
if [ "$have_gdb" = 1 ]; then
	for s in $post_states; do
		awk -F'\t' -v s="$s" "$locked_awk"'
			{ tot++; f = $1; sub(/\+.*/, "", f); if (f == "virq_lapic_post") np++ }
			is_locked($2) { lk++; where = where "\n      " $1 ": " $2 }
			END {
				printf "%-10s %2d instructions (%d in virq_lapic_post), %d locked:%s\n",
				       s, tot, np, lk, where
			}' "$tmp/t.$s"
	done
	echo "(post-on: ON set, PIR bit clear; post-dup: PIR bit set; post-empty: ON 0->1,"
	echo " kick; the post-empty count includes the kick hook)"
else
	echo "skipped: gdb with Python not available"
fi

# ---- 4. callgrind: instructions per owner cycle ----
echo
echo "== callgrind: instructions per iteration, (Ir($cycles) - Ir(0)) / $cycles"
if command -v valgrind >/dev/null 2>&1; then
	# cg_total SCENARIO K [--harness]: total Ir of one bench-lapic run.
	cg_total() {
		out=$tmp/cg.$1.$2${3:+.h}
		valgrind --tool=callgrind --callgrind-out-file="$out" \
			"$bench" --scenario "$1" --cycles "$2" ${3:+"$3"} >/dev/null 2>&1
		awk '/^(summary|totals):/ { print $2; exit }' "$out"
	}
	# The figures before the EOI fast path (commit b6c7582, gcc 12 release,
	# Ir per iteration): each row prints its ratio against them, so a
	# regression shows. Update them when a change moves the figures on purpose.
	prev_figure() {
		case $1 in
		owner1) echo 211 ;;
		owner1-mmio) echo 335 ;;
		owner1-msr) echo 359 ;;
		owner-irr8) echo 212 ;;
		owner-isr4) echo 223 ;;
		owner-irr8-isr4) echo 227 ;;
		*) echo "" ;;
		esac
	}
	echo "(\"net\": minus the scenario's harness loop, run the same way with --harness;"
	echo " \"was\": the figure before the EOI fast path, and now/was)"
	for s in owner1 owner1-mmio owner1-msr owner-irr8 owner-isr4 owner-irr8-isr4 post-empty \
		post-on post-dup \
		sync-empty pending-empty; do
		i0=$(cg_total "$s" 0)
		ik=$(cg_total "$s" "$cycles")
		ih=$(cg_total "$s" "$cycles" --harness)
		awk -v s="$s" -v a="$ik" -v h="$ih" -v b="$i0" -v k="$cycles" \
			-v was="$(prev_figure "$s")" 'BEGIN {
			printf "%-16s %8.2f Ir/iteration, net %8.2f", s, (a - b) / k, (a - h) / k
			if (was != "")
				printf ", was %d, ratio %.3f", was, (a - b) / k / was
			printf "\n"
		}'
	done
	echo
	echo "owner1, per cycle and function (callgrind_annotate, K run minus 0 run):"
	callgrind_annotate --inclusive=no "$tmp/cg.owner1.0" 2>/dev/null >"$tmp/a0" || true
	callgrind_annotate --inclusive=no "$tmp/cg.owner1.$cycles" 2>/dev/null >"$tmp/ak" || true
	awk -v k="$cycles" '
		/\?\?\?:|:[a-z_]/ && $1 ~ /^[0-9,]+$/ {
			v = $1
			gsub(/,/, "", v)
			f = $0
			sub(/.*:/, "", f)
			sub(/ .*/, "", f)
			if (FILENAME == ARGV[1])
				base[f] = v
			else if (f ~ /^(virq_|lapic_|bench_kick|run_)/)
				cnt[f] = v
		}
		END {
			for (f in cnt) {
				d = (cnt[f] - base[f]) / k
				if (d >= 0.5)
					printf "  %-24s %7.2f\n", f, d
			}
		}' "$tmp/a0" "$tmp/ak" | sort -k2 -nr
else
	echo "skipped: valgrind not available"
fi

# ---- 5. callgrind: the I/O APIC level cycle ----
echo
k=$((cycles / 10))
echo "== callgrind: I/O APIC level cycle (bench-vm --row ioapic), (Ir($k) - Ir(0)) / $k"
if command -v valgrind >/dev/null 2>&1; then
	for n in 0 "$k"; do
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.ioapic.$n" \
			"$builddir/bench/bench-vm" --row ioapic --iters "$n" --runs 1 >/dev/null 2>&1
	done
	i0=$(awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.ioapic.0")
	ik=$(awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.ioapic.$k")
	awk -v a="$ik" -v b="$i0" -v k="$k" -v base="$IOAPIC_IR_BASE" -v prev="$IOAPIC_IR_PREV" 'BEGIN {
		f = (a - b) / k
		printf "ioapic           %8.2f Ir/cycle, %.3f x previous (%d), %.3f x baseline (%d)\n",
		       f, f / prev, prev, f / base, base
	}'
else
	echo "skipped: valgrind not available"
fi
