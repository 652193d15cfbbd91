# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# The verdict on one guest program's run, shared by run-guest.sh and
# run-qemu.sh (sourced, not run; test-run-guest.sh checks it).
#
#   guest_verdict OUTPUT STATUS LABEL   prints the verdict lines, returns it
#   guest_report OUTPUT STATUS LABEL    prints OUTPUT and the verdict lines
#                                       (a skip's "SKIP:" line first), returns it
#
# OUTPUT is the file holding everything the program printed, STATUS the
# exit status of the VMM (1 is isa-debug-exit value 0: nothing failed) or
# of timeout(1) (124, 137), LABEL names the run. The verdict:
#
#   1   fail: a timeout, a VMM status other than 1, any "FAIL:" line, no
#       "SUMMARY: <p> passed, <f> failed, <s> skipped" line, f > 0,
#       p + s = 0 (no check ran), or PASS:/SKIP: lines that disagree with
#       p and s. Every reason gets a "<runner>: LABEL: FAIL: ..." line.
#   77  skip (meson: SKIP): none of that, but s > 0. A check that did not
#       run is not a pass. The first line is "SKIP: LABEL: <s> of <p+s>
#       checks skipped: <check>: <why>; ..." (three at most, then "and N
#       more"), the last lines list every skipped check.
#
# Verdict lines start with the runner's name ("run-guest:", "run-qemu:").
#   0   pass: p > 0 checks passed, none skipped or failed.

guest_verdict()
{
	local out=$1 status=$2 label=$3 summary p='' f='' s='' n_pass n_skip n_fail why
	local bad=() me=${0##*/} re

	me=${me%.sh}

	n_fail=$(grep -c '^FAIL:' "$out")
	n_pass=$(grep -c '^PASS:' "$out")
	n_skip=$(grep -c '^SKIP:' "$out")
	summary=$(grep -E '^SUMMARY:' "$out" | tail -n 1)
	re='^SUMMARY: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$'
	if [[ $summary =~ $re ]]; then
		p=${BASH_REMATCH[1]}
		f=${BASH_REMATCH[2]}
		s=${BASH_REMATCH[3]}
	fi

	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		bad+=("timed out")
	elif [ "$status" -ne 1 ]; then
		bad+=("VMM exit status $status, expected 1 (isa-debug-exit 0)")
	fi
	[ "$n_fail" -gt 0 ] && bad+=("$n_fail FAIL lines")
	if [ -z "$p" ]; then
		why="no 'SUMMARY: N passed, N failed, N skipped' line"
		[ -n "$summary" ] && why="$why (got: $summary)"
		bad+=("$why")
	else
		[ "$f" -gt 0 ] && bad+=("$f checks failed")
		[ $((p + s)) -eq 0 ] && bad+=("no check ran")
		if [ "$n_pass" -ne "$p" ] || [ "$n_skip" -ne "$s" ]; then
			bad+=("$n_pass PASS lines and $n_skip SKIP lines disagree with '$summary'")
		fi
	fi
	if [ ${#bad[@]} -gt 0 ]; then
		for why in "${bad[@]}"; do
			echo "$me: $label: FAIL: $why"
		done
		return 1
	fi
	if [ "$s" -gt 0 ]; then
		why=$(sed -n 's/^SKIP: //p' "$out" | head -n 3 |
			awk 'NR > 1 { printf "; " } { printf "%s", $0 }')
		[ "$s" -gt 3 ] && why="$why; and $((s - 3)) more"
		echo "SKIP: $label: $s of $((p + s)) checks skipped: $why"
		echo "$me: $label: $p passed, 0 failed, $s skipped: SKIP (exit 77), not a pass;" \
			"skipped checks:"
		sed -n "s/^SKIP: /$me:   /p" "$out"
		return 77
	fi
	echo "$me: $label: PASS: $p checks passed"
	return 0
}

guest_report()
{
	local out=$1 verdict rc

	verdict=$(guest_verdict "$@")
	rc=$?
	if [ "$rc" -eq 77 ]; then
		# The reason first: logs that keep one line of a skipped test
		# (scripts/test.sh) keep the first one starting with "SKIP".
		head -n 1 <<<"$verdict"
		cat "$out"
		tail -n +2 <<<"$verdict"
	else
		cat "$out"
		printf '%s\n' "$verdict"
	fi
	return "$rc"
}
