#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Self-test of run-guest.sh and its verdict (verdict.sh), with no KVM: a
# fake VMM prints canned guest output and exits with a chosen status, and
# each case checks run-guest.sh's exit status (0 pass, 1 fail, 77 skip)
# and, for a skip, that its first line starting with "SKIP" (the line
# scripts/test.sh reports as the reason) is the reason expected.
#
#   test-run-guest.sh <path to run-guest.sh>
#
# A meson test (tests/meson.build, suite 'guests'). RUN_GUEST_KVM_DEV
# points run-guest.sh's device probe at /dev/null, which opens read-write
# anywhere.
set -u

runner=${1:?usage: test-run-guest.sh <run-guest.sh>}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/fake-vmm" <<'EOF'
#!/usr/bin/env bash
cat "$FAKE_OUT"
exit "$FAKE_STATUS"
EOF
chmod +x "$tmp/fake-vmm"

passed=0
failed=0

# check NAME MODE PROGRAM STATUS WANT [FIRST-SKIP-LINE-REGEX] < canned output
check()
{
	local name=$1 mode=$2 prog=$3 status=$4 want=$5 first=${6:-} rc log

	cat >"$tmp/canned"
	log=$tmp/log
	FAKE_OUT=$tmp/canned FAKE_STATUS=$status RUN_GUEST_KVM_DEV=/dev/null \
		bash "$runner" "$tmp/fake-vmm" "$mode" 2 "$tmp/$prog.elf" >"$log" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $name: exit $rc, expected $want"
		sed 's/^/  | /' "$log"
		failed=$((failed + 1))
		return
	fi
	if [ -n "$first" ] && ! grep -m 1 '^SKIP' "$log" | grep -Eq "$first"; then
		echo "FAIL: $name: first SKIP line '$(grep -m 1 '^SKIP' "$log")' does not match" \
			"'$first'"
		sed 's/^/  | /' "$log"
		failed=$((failed + 1))
		return
	fi
	echo "PASS: $name (exit $rc)"
	passed=$((passed + 1))
}

check "every check passed" user ioapic 1 0 <<'EOF'
guest ioapic: 2 cpu(s), bsp apic id 0
PASS: ioapic_regs
PASS: ioapic_edge
SUMMARY: 2 passed, 0 failed, 0 skipped
EOF

want='^SKIP: ioapic --irqchip=split: 1 of 3 checks skipped: ioapic_level: quirk lapic-isr-hidden$'
check "a skipped check makes the run a skip" split ioapic 1 77 "$want" <<'EOF'
guest ioapic: 2 cpu(s), bsp apic id 0
PASS: ioapic_regs
quirk: lapic-isr-hidden tolerated
SKIP: ioapic_level: quirk lapic-isr-hidden
PASS: ioapic_edge
SUMMARY: 2 passed, 0 failed, 1 skipped
EOF

check "every check skipped" user msi 1 77 '^SKIP: msi --irqchip=user: 2 of 2 ' <<'EOF'
SKIP: msi_port_probe: no MSI test port (not virq-vmm)
SKIP: msi_physical_ap: 1 cpu
SUMMARY: 0 passed, 0 failed, 2 skipped
EOF

check "a failure wins over a skip" user ioapic 3 1 <<'EOF'
PASS: ioapic_regs
SKIP: ioapic_level: quirk lapic-isr-hidden
FAIL: ioapic_edge line 12: count = 0x0, expected 0x1
SUMMARY: 1 passed, 1 failed, 1 skipped
EOF

check "FAIL line with status 1" user ioapic 1 1 <<'EOF'
PASS: ioapic_regs
FAIL: ioapic_edge line 12: count = 0x0, expected 0x1
SUMMARY: 2 passed, 0 failed, 0 skipped
EOF

check "failed count with status 1" user ioapic 1 1 <<'EOF'
PASS: ioapic_regs
SUMMARY: 1 passed, 1 failed, 0 skipped
EOF

check "status 3 without FAIL lines" user ioapic 3 1 <<'EOF'
PASS: ioapic_regs
SUMMARY: 1 passed, 0 failed, 0 skipped
EOF

check "VMM crashed" user ioapic 139 1 <<'EOF'
PASS: ioapic_regs
EOF

check "timeout" user ioapic 124 1 <<'EOF'
PASS: ioapic_regs
SUMMARY: 1 passed, 0 failed, 0 skipped
EOF

check "no check ran" user ioapic 1 1 <<'EOF'
SUMMARY: 0 passed, 0 failed, 0 skipped
EOF

check "no SUMMARY line" user ioapic 1 1 <<'EOF'
PASS: ioapic_regs
EOF

check "old SUMMARY without a skipped count" user ioapic 1 1 <<'EOF'
PASS: ioapic_regs
PASS: ioapic_level (skipped: quirk lapic-isr-hidden)
SUMMARY: 2 passed, 0 failed
EOF

check "SKIP line counted as passed" user ioapic 1 1 <<'EOF'
PASS: ioapic_regs
SKIP: ioapic_level: quirk lapic-isr-hidden
SUMMARY: 2 passed, 0 failed, 0 skipped
EOF

check "skipped count without SKIP lines" user ioapic 1 1 <<'EOF'
PASS: ioapic_regs
SUMMARY: 1 passed, 0 failed, 1 skipped
EOF

check "LAPIC-only program in split mode" split lapic_timer 1 77 \
	"^SKIP: lapic_timer tests only the LAPIC" </dev/null

check "LAPIC-only program in user mode runs" user lapic_timer 1 0 <<'EOF'
PASS: timer_oneshot
SUMMARY: 1 passed, 0 failed, 0 skipped
EOF

# No KVM device: skipped before the VMM runs.
rc=0
RUN_GUEST_KVM_DEV=$tmp/no-such-device bash "$runner" "$tmp/fake-vmm" user 2 "$tmp/ioapic.elf" \
	>"$tmp/log" 2>&1 || rc=$?
if [ "$rc" -eq 77 ] &&
   grep -m 1 '^SKIP' "$tmp/log" | grep -q "^SKIP: $tmp/no-such-device not available"; then
	echo "PASS: no KVM device (exit 77)"
	passed=$((passed + 1))
else
	echo "FAIL: no KVM device: exit $rc"
	sed 's/^/  | /' "$tmp/log"
	failed=$((failed + 1))
fi

echo "SUMMARY: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
