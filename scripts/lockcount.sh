#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Locked instructions of virq_lapic_post, counted two ways; scripts/bench.sh
# prints this report and scripts/test.sh (step "lockcount") runs --check:
#
#   static   objdump -dr of the library (or of one object): every
#            entry-to-exit path of virq_lapic_post with the lock-prefixed
#            (and memory xchg) instructions on it.
#   dynamic  gdb (with Python) single-steps one post of bench-lapic in each
#            descriptor state (post-on, post-dup, post-empty) and counts the
#            locked instructions it executes; the static path that is
#            exactly the offsets a state executed is marked with its name.
#
# usage: scripts/lockcount.sh [--check] [--lib FILE] BENCH-LAPIC
#        scripts/lockcount.sh --trace SCENARIO BENCH-LAPIC
#        scripts/lockcount.sh --control BUILDDIR OUTDIR
#
#   --lib FILE        the archive or object holding virq_lapic_post (default:
#                     libvirq-internal.a of the build tree of BENCH-LAPIC,
#                     the archive bench-lapic links)
#   --check           also judge the post that finds ON set (post-on): it
#                     must execute exactly one locked instruction (gdb) and
#                     the static path gdb saw must hold exactly one; prints
#                     "lockcount: PASS ..." or "lockcount: FAIL ..." lines
#                     and exits 0 (both hold), 1 (either fails) or 2 (could
#                     not count: no gdb with Python, function not found)
#   --trace SCENARIO  print every instruction of the library and the kick
#                     hook that one iteration of SCENARIO executes (gdb),
#                     e.g. --trace owner1
#   --control BUILDDIR OUTDIR
#                     the negative control of --check: compiles
#                     lib/lapic/irq.c as BUILDDIR compiles it, but against a
#                     copy of include/virq/pi.h whose load of the control
#                     word is a locked compare-exchange (one more locked
#                     instruction on a post past its PIR bit), to
#                     OUTDIR/irq.o, and links
#                     OUTDIR/bench-lapic from BUILDDIR's bench-lapic object,
#                     that irq.o and BUILDDIR's libvirq-internal.a. Then
#                     "--check --lib OUTDIR/irq.o OUTDIR/bench-lapic" must
#                     fail.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
check=0
lib=
trace=
control=

while [ $# -gt 0 ]; do
	case $1 in
	--check) check=1; shift ;;
	--lib) lib=$2; shift 2 ;;
	--trace) trace=$2; shift 2 ;;
	--control) control=1; shift ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"
		exit 0 ;;
	-*) echo "lockcount.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done

# ---- the negative control (--control BUILDDIR OUTDIR) ----
if [ -n "$control" ]; then
	[ $# -eq 2 ] || { echo "usage: lockcount.sh --control BUILDDIR OUTDIR" >&2; exit 2; }
	bdir=$(cd "$1" && pwd)
	mkdir -p "$2/inc/virq"
	out=$(cd "$2" && pwd)
	# The post's plain load of the control word becomes a locked read (a
	# compare-exchange of 0 with 0, which stores nothing new and leaves the
	# value in ctrl): every post that gets that far, post-on included,
	# executes one more locked instruction. (A fetch-or of 0 would not do:
	# clang turns an idempotent read-modify-write into a plain load.)
	sed 's/uint64_t ctrl = virq_atomic_load64(control);/uint64_t ctrl = 0;\n\t(void)virq_atomic_cmpxchg64(control, \&ctrl, 0);/' \
		"$root/include/virq/pi.h" >"$out/inc/virq/pi.h"
	if cmp -s "$root/include/virq/pi.h" "$out/inc/virq/pi.h"; then
		echo "lockcount.sh: --control: the load of the control word in" \
			"include/virq/pi.h is not where the control patches it" >&2
		exit 2
	fi
	# irq.c as the build tree compiles it (compile_commands.json), the
	# patched copy first on the include path (irq.c reaches it as
	# <virq/pi.h>, through lib/core/pi_impl.h); then bench-lapic linked
	# with that object ahead of the archive, whose own irq.c object the
	# link no longer pulls in.
	python3 - "$bdir" "$out" <<'EOF'
import json, os, shlex, subprocess, sys
bdir, out = sys.argv[1:]
cmds = json.load(open(os.path.join(bdir, 'compile_commands.json')))
hit = [c for c in cmds if c['file'].endswith('lib/lapic/irq.c')
       and 'libvirq-internal.a.p' in c.get('output', c['command'])]
if not hit:
    sys.exit('lockcount.sh: --control: no libvirq-internal.a compile of lib/lapic/irq.c in '
             + bdir)
args = shlex.split(hit[0]['command'])
cc, rest, argv = [], [], iter(args)
for a in argv:
    if a in ('-o', '-MF', '-MQ'):
        next(argv)
    elif a in ('-MD', '-MMD'):
        pass
    elif not cc or (not rest and not a.startswith('-')):
        cc.append(a)   # the compiler (and a launcher such as ccache)
    else:
        rest.append(a)
obj = os.path.join(out, 'irq.o')
subprocess.run(cc + ['-I' + os.path.join(out, 'inc')] + rest + ['-o', obj],
               cwd=hit[0]['directory'], check=True)
subprocess.run(cc + ['-o', os.path.join(out, 'bench-lapic'),
                     os.path.join(bdir, 'bench', 'bench-lapic.p', 'lapic.c.o'), obj,
                     os.path.join(bdir, 'libvirq-internal.a'), '-pthread'],
               check=True)
EOF
	echo "$out/bench-lapic $out/irq.o"
	exit 0
fi

[ $# -eq 1 ] || { echo "usage: lockcount.sh [--check] [--lib FILE] BENCH-LAPIC" >&2; exit 2; }
bench=$1
[ -x "$bench" ] || { echo "lockcount.sh: $bench is not an executable" >&2; exit 2; }
[ -n "$lib" ] || lib=$(dirname "$(dirname "$bench")")/libvirq-internal.a
[ -n "$trace" ] || [ -f "$lib" ] || { echo "lockcount.sh: $lib not found" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

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
	[ "$have_gdb" = 1 ] || { echo "lockcount.sh: --trace needs gdb with Python" >&2; exit 2; }
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

# ---- static: every path through virq_lapic_post ----
#
# The function body from objdump -dr of the library (or object); relocations mark
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
if ! objdump -dr --no-show-raw-insn "$lib" |
	awk -v fn=virq_lapic_post -v traced="$traced" "$locked_awk"'
	# Names of the traced post states whose executed offsets are this path.
	function hex(s, v, i) {
		v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	function traced_as(seen, cnt, out, k, m, st, parts, q, np, i, hit) {
		out = ""
		m = split(traced, st, " ")
		for (k = 1; k <= m; k++) {
			q = index(st[k], ":")
			np = split(substr(st[k], q + 1), parts, ",")
			hit = 0
			for (i = 1; i <= np; i++)
				if (parts[i] != "" && (parts[i] in offidx) &&
				    index(seen, " " offidx[parts[i]] " "))
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
	# gdb gives offsets from the symbol, objdump addresses in the section.
	$0 ~ "^[0-9a-f]+ <" fn ">:$" { infn = 1; base = hex($1); next }
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
		offidx[sprintf("%x", hex(a) - base)] = n
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
	}' >"$tmp/static"; then
	cat "$tmp/static"
	exit 2
fi
cat "$tmp/static"

# ---- dynamic: the path a post takes in each state ----
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

# ---- --check: the post that finds ON set ----
[ "$check" = 1 ] || exit 0
echo
if [ "$have_gdb" != 1 ]; then
	echo "lockcount: FAIL gdb with Python is not available: post-on not counted"
	exit 2
fi
counts=$(awk -F'\t' "$locked_awk"'
	{ f = $1; sub(/\+.*/, "", f); if (f == "virq_lapic_post") np++ }
	is_locked($2) { lk++ }
	END { print np + 0, lk + 0 }' "$tmp/t.post-on")
np=${counts% *}
lk=${counts#* }
if [ "$np" -eq 0 ]; then
	echo "lockcount: FAIL post-on: gdb stepped no instruction of virq_lapic_post"
	exit 2
fi
rc=0
if [ "$lk" -eq 1 ]; then
	echo "lockcount: PASS post-on executes 1 locked instruction (gdb)"
else
	echo "lockcount: FAIL post-on executes $lk locked instructions (gdb), not 1"
	rc=1
fi
# The static path marked post-on: exactly one, with exactly one lock.
counts=$(awk '/<== post-on( |$)/ { n++; l = $3 } END { print n + 0, l + 0 }' "$tmp/static")
npath=${counts% *}
lk=${counts#* }
if [ "$npath" -ne 1 ]; then
	echo "lockcount: FAIL post-on: $npath static paths are the path gdb saw, not 1"
	rc=1
elif [ "$lk" -eq 1 ]; then
	echo "lockcount: PASS post-on's static path holds 1 locked instruction (objdump)"
else
	echo "lockcount: FAIL post-on's static path holds $lk locked instructions (objdump), not 1"
	rc=1
fi
exit $rc
