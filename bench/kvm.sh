#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end interrupt benchmarks: the guests of bench/guests/ under the
# example VMM (virq-vmm), in both irqchip modes, on this machine's KVM.
#
#   1. Table of interrupt rates: per benchmark and mode, the guest's
#      interrupts per second and microseconds per interrupt (guest TSC,
#      calibrated against the LAPIC timer), and the VMM's exits per
#      interrupt: (total exits - total exits of a BENCH_MS=0 run of the same
#      guest) / (interrupts - interrupts of that run), so boot, calibration
#      and printing are not charged to the interrupts.
#   2. Where the VMM's time goes (needs perf): its user CPU time as a share
#      of wall time (perf stat: task-clock x cycles:u / (cycles:u +
#      cycles:k) / elapsed; the rusage user time alongside), and libvirq's
#      share of its user time (perf record -e cycles:u: samples every N
#      user-mode cycles of all VMM threads, attributed by address to
#      libvirq's functions, the kvm glue apart from the device models).
#      Without a usable perf, callgrind (if installed) measures the share
#      of user-mode instructions instead.
#   3. What the host charges for a port I/O exit, a LAPIC register read,
#      RDTSC and CLI+STI (guest exit_cost), to read the rest against.
#
# usage: bench/kvm.sh [-B builddir] [--no-build] [--ms N] [--no-profile]
#                     [--callgrind] [--only NAME[,NAME...]] [--keep DIR]
#
#   -B DIR        build directory (default build-e2e), configured if needed
#                 with --buildtype=release -Dbench=enabled -Dexamples=enabled
#   --no-build    use the build directory as it is
#   --ms N        guest run length per benchmark in ms (default 1000)
#   --no-profile  skip perf record (table 2 keeps the user-time share)
#   --callgrind   also measure libvirq's share of the VMM's user-mode
#                 instructions with callgrind (user irqchip; slow)
#   --only LIST   only these benchmarks (names as in the table)
#   --keep DIR    keep every run's output, stats and profile in DIR
#
# Exits 0 with a message when /dev/kvm cannot be opened read-write; 1 when
# a run failed (VMM status other than isa-debug-exit 0, a FAIL line, no
# BENCH line, a timeout).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
builddir="build-e2e"
build=1
ms=1000
profile=1
callgrind=0
only=
keep=
period=20000 # perf record: one sample per this many user-mode cycles

while [ $# -gt 0 ]; do
	case $1 in
	-B) builddir=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--ms) ms=$2; shift 2 ;;
	--no-profile) profile=0; shift ;;
	--callgrind) callgrind=1; shift ;;
	--only) only=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h|--help) awk 'NR > 3 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"
		exit 0 ;;
	*) echo "kvm.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

if [ ! -e /dev/kvm ] || ! { exec 9<>/dev/kvm; } 2>/dev/null; then
	echo "kvm.sh: SKIP: /dev/kvm not available (read-write), no KVM benchmarks"
	exit 0
fi
exec 9>&-

case $builddir in
/*) ;;
*) builddir=$root/$builddir ;;
esac

if [ -n "$keep" ]; then
	mkdir -p "$keep"
	tmp=$(cd "$keep" && pwd)
else
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
fi
trap 'echo "kvm.sh: interrupted" >&2; exit 130' INT TERM

images="self_ipi lapic_timer ioapic_level ipi_pingpong exit_cost"
if [ "$build" = 1 ]; then
	if [ ! -f "$builddir/build.ninja" ]; then
		meson setup "$builddir" "$root" --buildtype=release -Dbench=enabled \
			-Dexamples=enabled >"$tmp/setup.log" 2>&1 ||
			{ cat "$tmp/setup.log"; exit 1; }
	fi
	targets="examples/virq-vmm"
	for i in $images; do
		targets="$targets bench-guest-$i"
	done
	# shellcheck disable=SC2086
	meson compile -C "$builddir" $targets >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }
fi
vmm=$builddir/examples/virq-vmm
gdir=$builddir/bench/guests
[ -x "$vmm" ] || { echo "kvm.sh: $vmm not built (-Dexamples=enabled, KVM headers?)" >&2; exit 1; }
for i in $images; do
	[ -f "$gdir/$i.elf" ] ||
		{ echo "kvm.sh: $gdir/$i.elf not built (needs an x86-64 gcc)" >&2; exit 1; }
done

have_perf=0
if command -v perf >/dev/null 2>&1 &&
	perf stat -e cycles:u -o /dev/null true >/dev/null 2>&1; then
	have_perf=1
fi
if [ "$have_perf" = 0 ]; then
	profile=0
	echo "kvm.sh: perf missing or refused (perf stat -e cycles:u), no CPU time table" >&2
	if command -v valgrind >/dev/null 2>&1 && [ "$callgrind" = 0 ]; then
		echo "kvm.sh: measuring libvirq's share with callgrind instead" >&2
		callgrind=1
	fi
fi

# name image variant smp
benches="self_ipi self_ipi xapic 1
self_ipi_x2apic self_ipi x2apic 1
lapic_timer lapic_timer oneshot 1
lapic_timer_deadline lapic_timer deadline 1
ioapic_level ioapic_level - 1
ipi_pingpong ipi_pingpong xapic 2
ipi_pingpong_x2apic ipi_pingpong x2apic 2
nmi_pingpong ipi_pingpong nmi 2
nmi_pingpong_x2apic ipi_pingpong nmi_x2apic 2"

selected()
{
	[ -z "$only" ] && return 0
	case ",$only," in
	*",$1,"*) return 0 ;;
	esac
	return 1
}

failures=0
fail()
{
	echo "kvm.sh: FAILED: $*" >&2
	failures=$((failures + 1))
}

# run TAG MODE SMP IMAGE VARIANT MS [wrapper...]: one VMM run, output in
# $tmp/TAG.out (guest) and $tmp/TAG.err (VMM stats). Returns 1 (after
# reporting) unless the guest passed and printed its BENCH line.
run_vmm()
{
	local tag=$1 mode=$2 smp=$3 image=$4 variant=$5 runms=$6 rc=0
	local -a env=(--env "BENCH_MS=$runms")

	shift 6
	[ "$variant" = - ] || env+=(--env "VARIANT=$variant")
	# Split irqchip: KVM may report a LAPIC EOI before the exit of an
	# earlier port write (bench/guests/ioapic_level.c); counted, not fatal.
	[ "$mode" = split ] && env+=(--env "QUIRKS=eoi-exit-early")
	timeout --kill-after=5 60 "$@" "$vmm" --irqchip="$mode" --smp "$smp" --stats \
		--timeout 45 "${env[@]}" "$gdir/$image.elf" </dev/null \
		>"$tmp/$tag.out" 2>"$tmp/$tag.err" || rc=$?
	if [ "$rc" -ne 1 ] || grep -q '^FAIL:' "$tmp/$tag.out" ||
		! grep -Eq '^SUMMARY: [1-9][0-9]* passed, 0 failed, 0 skipped' "$tmp/$tag.out" ||
		! grep -q '^BENCH:' "$tmp/$tag.out"; then
		fail "$tag: VMM status $rc (want 1)$(grep -m3 -E '^FAIL:|virq-vmm:' \
			"$tmp/$tag.out" "$tmp/$tag.err" | sed 's/^[^:]*:/; /' | tr -d '\n')"
		return 1
	fi
	return 0
}

# Field KEY of the BENCH line NAME in FILE.
bench_field()
{
	awk -v n="name=$2" -v k="$3" '$1 == "BENCH:" && $2 == n {
		for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2)
	}' "$1"
}

# Exit counters of a VMM stats block: "reason count" lines, total last.
exit_counts()
{
	awk '/^exits by reason:/ { on = 1; next } on && /^  / { print $1, $2; next } { on = 0 }' "$1"
}

# ---- symbol map for the profile: "start end component" per function ----
#
# The binary's functions (nm -S) are matched by name and size to the
# objects they come from: libvirq-kvm.a (the KVM glue: ioctls, exits,
# timers), libvirq.a (the device models: LAPIC, I/O APIC, PIC, MSI, VM
# routing, vCPU policy) or the
# example VMM's own objects. Static functions are in the lists too (nm
# --defined-only), so an inlined or duplicate name cannot mislead.
symmap=$tmp/symmap.txt
make_symmap()
{
	{
		nm -S --defined-only "$builddir/libvirq.a" 2>/dev/null | awk '
			NF == 4 && $3 ~ /^[tTwW]$/ { print "O", $4, $2, "models" }'
		nm -S --defined-only "$builddir/lib/kvm-glue/libvirq-kvm.a" 2>/dev/null | awk '
			NF == 4 && $3 ~ /^[tTwW]$/ { print "O", $4, $2, "glue" }'
		for o in "$builddir"/examples/virq-vmm.p/*.o; do
			nm -S --defined-only "$o" | awk 'NF == 4 && $3 ~ /^[tTwW]$/ {
				print "O", $4, $2, "vmm" }'
		done
		nm -S --defined-only "$vmm" | awk 'NF == 4 && $3 ~ /^[tTwW]$/ {
			print "B", $4, $2, $1 }'
	} | awk '
		function hex(s,    i, c, v) {
			v = 0; s = tolower(s)
			for (i = 1; i <= length(s); i++) {
				c = index("0123456789abcdef", substr(s, i, 1)) - 1
				v = v * 16 + c
			}
			return v
		}
		$1 == "O" { comp[$2 " " hex($3)] = $4; next }
		$1 == "B" {
			k = $2 " " hex($3)
			c = (k in comp) ? comp[k] : "runtime"
			printf "%.0f %.0f %s %s\n", hex($4), hex($4) + hex($3), c, $2
		}' >"$symmap"
}

# profile_split DATA: "total glue models vmm libc kernel other" sample counts
# of a perf.data (cycles:u), attributed by address with $symmap.
profile_split()
{
	perf report -i "$1" --stdio --sort dso,sym -F sample,dso,sym -v 2>/dev/null |
		awk -v map="$symmap" '
		function hex(s,    i, c, v) {
			v = 0; s = tolower(s); sub(/^0x/, "", s)
			for (i = 1; i <= length(s); i++) {
				c = index("0123456789abcdef", substr(s, i, 1)) - 1
				v = v * 16 + c
			}
			return v
		}
		BEGIN {
			while ((getline l < map) > 0) {
				split(l, f, " "); n++; lo[n] = f[1] + 0; hi[n] = f[2] + 0; cp[n] = f[3]
			}
		}
		/^#/ || NF < 5 { next }
		{
			s = $1 + 0; dso = $2; t = 0
			tot += s
			if (dso ~ /\/virq-vmm$/) {
				a = hex($3); c = "other"
				for (i = 1; i <= n; i++) if (a >= lo[i] && a < hi[i]) { c = cp[i]; break }
				if (c == "runtime") c = "other"
				cnt[c] += s
			} else if (dso ~ /libc|libpthread|ld-linux/) {
				cnt["libc"] += s
			} else if ($5 == "[k]" || dso == "[unknown]" || dso ~ /kernel/) {
				cnt["kernel"] += s
			} else {
				cnt["other"] += s
			}
		}
		END {
			printf "%d %d %d %d %d %d %d\n", tot, cnt["glue"], cnt["models"], cnt["vmm"],
				cnt["libc"], cnt["kernel"], cnt["other"]
		}'
}

# ---- runs ----

echo "libvirq end-to-end benchmarks: $vmm"
echo "host: $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
echo "guest run length ${ms} ms per benchmark; perf: $([ "$have_perf" = 1 ] && echo yes || echo no)"
[ "$profile" = 1 ] && make_symmap

# One line per benchmark and mode in $rows, KEY=VALUE words:
#   name mode count irqs ns extra   the guest's BENCH line (measured run)
#   irqs0 exits0             the BENCH_MS=0 run: interrupts, total exits
#   exits mix                measured run: total exits; net exits per
#                            interrupt by reason ("mmio:2.00,hlt:0.89")
#   lost                     the VMM's "lost messages"
#   user_s elapsed_s task_ms ucyc kcyc   perf stat of the measured run
#   p_* / p0_*               profile samples (tot glue models vmm libc
#                            kernel other) of a profiled run / of the
#                            BENCH_MS=0 run; p_irqs, period
rows=$tmp/rows.txt
: >"$rows"
prof_keys="tot glue models vmm libc kernel other"
for mode in user split; do
	while read -r name image variant smp; do
		selected "$name" || continue
		tag=$name-$mode
		printf '  %-24s %s\n' "$name" "$mode" >&2
		rec=()
		[ "$profile" = 1 ] &&
			rec=(perf record -q -e cycles:u -c "$period" -o "$tmp/$tag-base.perf" --)
		run_vmm "$tag-base" "$mode" "$smp" "$image" "$variant" 0 ${rec[@]+"${rec[@]}"} || continue
		stat=()
		[ "$have_perf" = 1 ] &&
			stat=(perf stat -e "task-clock,cycles:u,cycles:k" -o "$tmp/$tag.stat" --)
		run_vmm "$tag" "$mode" "$smp" "$image" "$variant" "$ms" ${stat[@]+"${stat[@]}"} || continue
		line="name=$name mode=$mode"
		for k in count irqs ns extra; do
			line="$line $k=$(bench_field "$tmp/$tag.out" "$name" $k)"
		done
		i0=$(bench_field "$tmp/$tag-base.out" "$name" irqs)
		line="$line irqs0=$i0"
		line="$line exits0=$(exit_counts "$tmp/$tag-base.err" | awk '$1 == "total" { print $2 }')"
		line="$line exits=$(exit_counts "$tmp/$tag.err" | awk '$1 == "total" { print $2 }')"
		line="$line mix=$(paste -d' ' <(exit_counts "$tmp/$tag-base.err") \
			<(exit_counts "$tmp/$tag.err") | awk -v i="$(bench_field "$tmp/$tag.out" \
			"$name" irqs)" -v i0="$i0" '
			$1 != "total" && i > i0 && ($4 - $2) / (i - i0) >= 0.01 {
				s = s sprintf("%s%s:%.2f", s == "" ? "" : ",", $1, ($4 - $2) / (i - i0))
			} END { print s == "" ? "-" : s }')"
		line="$line lost=$(sed -n 's/.*lost messages \([0-9]*\).*/\1/p' "$tmp/$tag.err")"
		if [ -f "$tmp/$tag.stat" ]; then
			line="$line $(awk '
				{ gsub(/,/, "", $1) }
				$2 == "seconds" && $3 == "user" { printf "user_s=%s ", $1 }
				$2 == "seconds" && $3 == "time" { printf "elapsed_s=%s ", $1 }
				$2 == "msec" && $3 == "task-clock" { printf "task_ms=%s ", $1 }
				$2 == "cycles:u" { printf "ucyc=%s ", $1 }
				$2 == "cycles:k" { printf "kcyc=%s ", $1 }' "$tmp/$tag.stat")"
		fi
		if [ "$profile" = 1 ]; then
			line="$line period=$period"
			# shellcheck disable=SC2046
			set -- $(profile_split "$tmp/$tag-base.perf")
			for k in $prof_keys; do
				line="$line p0_$k=$1"
				shift
			done
			if run_vmm "$tag-prof" "$mode" "$smp" "$image" "$variant" "$ms" \
				perf record -q -e cycles:u -c "$period" -o "$tmp/$tag.perf" --; then
				# shellcheck disable=SC2046
				set -- $(profile_split "$tmp/$tag.perf")
				for k in $prof_keys; do
					line="$line p_$k=$1"
					shift
				done
				line="$line p_irqs=$(bench_field "$tmp/$tag-prof.out" "$name" irqs)"
			fi
		fi
		echo "$line" >>"$rows"
	done <<<"$benches"
done

# exit_cost: one run per mode, each op for a quarter of the run length.
costs=$tmp/costs.txt
: >"$costs"
if selected exit_cost; then
	for mode in user split; do
		printf '  %-24s %s\n' exit_cost "$mode" >&2
		run_vmm "exit_cost-$mode" "$mode" 1 exit_cost - $((ms / 4)) || continue
		awk -v m="$mode" '$1 == "BENCH:" {
			for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			print f["name"], m, f["count"], f["ns"]
		}' "$tmp/exit_cost-$mode.out" >>"$costs"
	done
fi

# ---- tables ----

# rows_awk PROGRAM: PROGRAM over $rows with f[KEY] set from the KEY=VALUE
# words (numbers as numbers).
rows_awk()
{
	awk '{ split("", f); for (i = 1; i <= NF; i++) { e = index($i, "=");
		v = substr($i, e + 1); if (v ~ /^[0-9.]+$/) v += 0; f[substr($i, 1, e - 1)] = v } }
	'"$1" "$rows"
}

echo
echo "Interrupts (guest TSC time; exits per interrupt net of a BENCH_MS=0 run)"
rows_awk '
	NR == 1 {
		printf "%-21s %-5s %10s %9s %8s %9s %5s %4s %5s  %s\n", "benchmark", "mode",
			"interrupts", "irqs/s", "us/irq", "exits/irq", "(raw)", "lost", "extra",
			"exits/irq by reason"
	}
	{
		irqs = f["irqs"]; i0 = f["irqs0"]
		epi = irqs > i0 ? sprintf("%.2f", (f["exits"] - f["exits0"]) / (irqs - i0)) : "-"
		mix = f["mix"]; gsub(/:/, " ", mix); gsub(/,/, ", ", mix)
		printf "%-21s %-5s %10d %9.0f %8.1f %9s %5.2f %4s %5s  %s\n", f["name"], f["mode"],
			irqs, irqs / (f["ns"] / 1e9), f["ns"] / 1e3 / irqs, epi, f["exits"] / irqs,
			f["lost"], f["extra"] == "" ? "-" : f["extra"], mix
	}'
cat <<EOF
  interrupts: taken by the guest (ipi_pingpong: 2 per round trip)
  (raw)     : all exits of the run / interrupts, boot and printing included
  lost      : the VMM's "lost messages" (no LAPIC accepted an interrupt message)
  extra     : ioapic_level: interrupts beyond the raises of the line (must be 0; in
              split mode tolerated as quirk eoi-exit-early, see ioapic_level.c)
EOF

if [ "$have_perf" = 1 ]; then
	echo
	echo "VMM process CPU time (all threads)"
	rows_awk '
	NR == 1 {
		printf "%-21s %-5s %5s %7s %7s %6s %8s %6s %7s %8s %8s %8s\n", "benchmark",
			"mode", "cpu%", "user ms", "cyc ms", "user%", "libvirq%", "glue%", "models%",
			"net lib%", "ucyc/irq", "lib/irq"
	}
	{
		el = f["elapsed_s"]; uc = f["ucyc"]; kc = f["kcyc"]
		ums = f["user_s"] != "" ? sprintf("%.1f", f["user_s"] * 1000) : "-"
		cms = cp = cpu = "-"
		if (el > 0 && f["task_ms"] > 0)
			cpu = sprintf("%.0f", f["task_ms"] / 10 / el)
		if (uc > 0 && kc > 0 && f["task_ms"] > 0) {
			c = f["task_ms"] * uc / (uc + kc)
			cms = sprintf("%.1f", c)
			if (el > 0)
				cp = sprintf("%.2f", c / 10 / el)
		}
		lp = gp = mp = np = cpi = lpi = "-"
		t = f["p_tot"]; t0 = f["p0_tot"]; P = f["period"]
		if (t != "" && t > 0) {
			l = f["p_glue"] + f["p_models"]; l0 = f["p0_glue"] + f["p0_models"]
			lp = sprintf("%.1f", 100 * l / t)
			gp = sprintf("%.1f", 100 * f["p_glue"] / t)
			mp = sprintf("%.1f", 100 * f["p_models"] / t)
			# Net figures only from 100 samples up: split mode has a few.
			if (t - t0 >= 100)
				np = sprintf("%.1f", 100 * (l - l0) / (t - t0))
			if (t - t0 >= 100 && f["p_irqs"] > f["irqs0"]) {
				cpi = sprintf("%.0f", (t - t0) * P / (f["p_irqs"] - f["irqs0"]))
				lpi = sprintf("%.0f", (l - l0) * P / (f["p_irqs"] - f["irqs0"]))
			}
		}
		printf "%-21s %-5s %5s %7s %7s %6s %8s %6s %7s %8s %8s %8s\n", f["name"],
			f["mode"], cpu, ums, cms, cp, lp, gp, mp, np, cpi, lpi
	}'
	cat <<EOF
  cpu%     : task-clock / elapsed wall time (perf stat): about 100 for one busy vCPU;
             less: the threads were starved by other load, or a vCPU halted (split
             irqchip: inside KVM_RUN; ipi_pingpong: the idle side)
  user ms  : rusage user CPU time (perf stat "seconds user"; tick-sampled)
  cyc ms   : task-clock x cycles:u / (cycles:u + cycles:k) (perf stat); the guest's
             own execution is kernel time (it runs inside KVM_RUN)
  user%    : cyc ms / elapsed wall time of the process
  libvirq% : share of the process's cycles:u samples (perf record, one sample per
             $period user-mode cycles, a separate run) in libvirq's functions, by
             address: glue% (lib/kvm-glue/kvm.c) + models% (LAPIC, I/O APIC, PIC,
             MSI, VM routing, vCPU policy). The rest: examples/vmm, libc and ld.so,
             kernel-entry skid. Whole run: process start and guest boot included.
  net lib% : the same net of a profiled BENCH_MS=0 run: (lib - lib0) / (all - all0)
  ucyc/irq : VMM user cycles per interrupt, net: (all - all0) x $period / (irqs - irqs0)
  lib/irq  : libvirq user cycles per interrupt, net
EOF
fi

if [ -s "$costs" ]; then
	echo
	echo "Host cost of guest operations (exit_cost guest, TSC-loop reads included)"
	awk 'BEGIN { printf "%-22s %-6s %10s %10s\n", "operation", "mode", "count", "us/op" }
	{ printf "%-22s %-6s %10d %10.1f\n", $1, $2, $3, $4 / 1e3 / $3 }' "$costs"
fi

# ---- callgrind: libvirq's share of user-mode instructions ----

# cg_split FILE: "total glue models" instructions (Ir) of a callgrind profile,
# by function name in the virq-vmm object ($libsyms: name component).
cg_split()
{
	callgrind_annotate --threshold=100 --inclusive=no "$1" 2>/dev/null | awk -v syms="$libsyms" '
		BEGIN { while ((getline l < syms) > 0) { split(l, f, " ");
			v = f[2]; if ((f[1] in c) && c[f[1]] != v) v = "lib"; c[f[1]] = v } }
		/PROGRAM TOTALS/ { gsub(/,/, "", $1); tot = $1 }
		/^ *[0-9,]+ .*:[^ ]+ \[/ {
			v = $1; gsub(/,/, "", v)
			fn = $0; sub(/ \[.*/, "", fn); sub(/.*:/, "", fn)
			obj = $0; sub(/.*\[/, "", obj); sub(/\].*/, "", obj)
			if (obj !~ /virq-vmm$/ || !(fn in c)) next
			if (c[fn] == "glue") g += v; else m += v
		}
		END { printf "%d %d %d\n", tot, g, m }'
}

if [ "$callgrind" = 1 ]; then
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "kvm.sh: --callgrind: valgrind not found" >&2
	else
		libsyms=$tmp/libsyms.txt
		{
			nm --defined-only "$builddir/libvirq.a" 2>/dev/null | awk '
				NF == 3 && $2 ~ /^[tTwW]$/ { print $3, "models" }'
			nm --defined-only "$builddir/lib/kvm-glue/libvirq-kvm.a" 2>/dev/null | awk '
				NF == 3 && $2 ~ /^[tTwW]$/ { print $3, "glue" }'
		} >"$libsyms"
		cgrows=$tmp/cgrows.txt
		: >"$cgrows"
		while read -r name image variant smp; do
			selected "$name" || continue
			tag=$name-user-cg
			printf '  %-24s %s\n' "$name" "user (callgrind)" >&2
			for r in base run; do
				runms=$ms
				[ "$r" = base ] && runms=0
				run_vmm "$tag-$r" user "$smp" "$image" "$variant" "$runms" valgrind -q \
					--tool=callgrind --callgrind-out-file="$tmp/$tag-$r.cg" || continue 2
			done
			echo "$name $(bench_field "$tmp/$tag-base.out" "$name" irqs)" \
				"$(cg_split "$tmp/$tag-base.cg")" \
				"$(bench_field "$tmp/$tag-run.out" "$name" irqs)" \
				"$(cg_split "$tmp/$tag-run.cg")" >>"$cgrows"
		done <<<"$benches"
		echo
		echo "libvirq share of VMM user-mode instructions (callgrind, irqchip user)"
		awk 'BEGIN { printf "%-21s %10s %9s %8s %8s %9s %9s %9s\n", "benchmark", "Ir",
			"libvirq%", "glue%", "models%", "net lib%", "Ir/irq", "lib Ir/irq" }
		{
			i0 = $2; t0 = $3; l0 = $4 + $5; i = $6; t = $7; g = $8; m = $9
			printf "%-21s %10d %8.1f%% %7.1f%% %7.1f%% %8.1f%% %9.0f %9.0f\n", $1, t,
				100 * (g + m) / t, 100 * g / t, 100 * m / t,
				100 * (g + m - l0) / (t - t0), (t - t0) / (i - i0), (g + m - l0) / (i - i0)
		}' "$cgrows"
		cat <<EOF
  Ir       : instructions of the whole VMM process (all threads, user mode)
  libvirq% : share of Ir in libvirq functions (by name; a static name libvirq defines
             twice counts as models): glue% + models%, as in the perf table
  net ...  : net of a BENCH_MS=0 run, per interrupt the guest took
EOF
	fi
fi

[ -n "$keep" ] && echo "outputs kept in $tmp"
if [ "$failures" -gt 0 ]; then
	echo "kvm.sh: $failures run(s) failed" >&2
	exit 1
fi
exit 0
