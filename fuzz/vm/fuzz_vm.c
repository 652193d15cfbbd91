/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a whole VM (6 LAPICs, or 20 in "MANY" mode, one I/O
 * APIC, the PIC pair, 26 GSIs) driven by a stream of (op, args) records:
 * guest register traffic on every controller (LAPIC MMIO/MSR including
 * ICR sends and APIC base changes, I/O APIC MMIO, PIC ports), device
 * lines, MSIs, raw messages, acknowledges, EOIs and events.
 *
 * Input: one header byte (bit 0 lowest_vector_hashing, bit 1 the x2APIC
 * broadcast quirk, bit 2 extended destination IDs, bits 7:3 initial APIC
 * ID spread), then records of one op byte (modulo OP_COUNT) and 8 argument
 * bytes. Bytes past the end read as 0.
 *
 * vCPU policy mode: an input that starts with the four bytes "VCPU" is
 * decoded the same way after them, except that the op byte is taken
 * modulo OP_VCPU_COUNT, which adds ops after OP_ROUTE: decisions of the
 * vCPU policy (vcpu.h) with input-chosen windows, wake queries, policy
 * resets and LINT pin levels. Every vCPU has a policy (vCPU 0 with the
 * PIC on its LINT0), which is then the only consumer of its LAPIC's
 * events: OP_EVENTS becomes a wake query instead of a direct
 * virq_lapic_take_events(). An input without the prefix decodes exactly as
 * before (no committed corpus file starts with it), so the corpus keeps
 * its meaning.
 *
 * Exception mode: "EXCP" in place of "VCPU" is vCPU policy mode with the
 * op byte taken modulo OP_EXC_COUNT, which adds ops after OP_LINT: queued
 * exceptions (virq_vcpu_queue_exception() and the #GP/#SS/#UD/#PF
 * helpers, with vectors, error codes and presence chosen by the input,
 * valid or not), re-injections (the event the vCPU's last decision
 * injected, as a backend hands back IDT-vectoring information, or an
 * input-made event, valid or not), virq_vcpu_nmi_unblocked(), options
 * (NMI blocking, the #DF reading) and policy save/restore (round trip, and
 * an input-damaged copy restored into a scratch policy). VCPU inputs decode
 * as before.
 *
 * Wide mode: an input that starts with the four bytes "WIDE" and two more
 * bytes w (little-endian) ORs bits 2i+1:2i of w into bits 9:8 of vCPU i's
 * initial APIC ID (IDs up to 0x3FF) and gives the map 0x100 * (1 + w bits
 * 13:12) entries, so it covers the 8-bit xAPIC aliases and some of the wide
 * IDs; with w bit 14 the low bytes of the initial IDs come in pairs (vCPUs
 * 2k and 2k+1 share the k-th, the spread applying to k). A vCPU taken
 * x2APIC -> disabled -> xAPIC gets the low byte of its x2APIC ID as xAPIC
 * ID, which another vCPU may hold: the alias a VM of more than 256 vCPUs
 * allows (equal bits 9:8 in a pair give two x2APIC LAPICs one ID, which
 * only an embedder can configure). The rest of the input follows and may
 * itself start with "VCPU". Without the prefix the map has 64 entries and
 * every initial ID is below 0x100, as before.
 *
 * Many mode: an input that starts with the four bytes "MANY" has NV_MAX
 * (20) vCPUs instead of 6, more than the bound of the xAPIC list
 * (VM_XAPIC_LIST_MAX, 16): they all start in xAPIC mode, so logical
 * destinations scan until the input takes enough of them to x2APIC mode
 * or disables them, and switch back when it brings them back. The rest of
 * the input follows and may start with "WIDE" (vCPU i takes the ID bits
 * of vCPU i mod 6) and then "VCPU". Inputs without it decode as before.
 *
 * Logical mode: an input that starts with the four bytes "XLOG" has NV_MAX
 * vCPUs, as "MANY" (which may follow, then "WIDE", then "VCPU"), and two
 * ops aimed at the xAPIC logical map: a LAPIC MMIO write whose a[1] has
 * bits 7:6 set writes the LDR (logical ID a[2]) or, with bit 5, the DFR
 * (flat, cluster, or a[4..7] as any other value), and a raw message whose
 * a[1] has bit 3 is an xAPIC logical message to the 8-bit a[2]. With 20
 * vCPUs and 256 logical IDs, shared flat bits and cluster members are
 * common, and so are mixed models. Inputs without it decode as before.
 *
 * After every op (a failed check prints the line and traps):
 *  - lapic_check_invariants(), ioapic_check_invariants(),
 *    pic_check_invariants() and vm_check_invariants() (map slots, counts,
 *    the xAPIC list, the xAPIC logical map) are 0, and each vCPU's map key
 *    (its list link aside) is the ID and mode its LAPIC has now, and in
 *    xAPIC mode its logical ID and DFR model; vm_check_invariants() also
 *    recomputes every entry of the attached PID-pointer table
 *    (<virq/ipiv.h>) from the keys with a scan;
 *  - every message the fuzzer sends itself (raw messages, MSIs it decodes
 *    the same way, IPIs from the LAPICs' send_ipi hook) is checked against
 *    an independent resolution that asks virq_lapic_match_dest() of every
 *    vCPU without the map: the accepted count is exact, and a vector that
 *    newly appears in a LAPIC's posted-interrupt descriptor appears only in
 *    a LAPIC that matched (for lowest priority: one of the lowest class);
 *  - and virq_vm_scan_count() moves by exactly one when the message had to
 *    scan, by none when the map could answer it (expect_scan(): the rules
 *    of vm.h "Destination maps", with the holders of each APIC ID and the
 *    xAPIC-mode LAPICs counted from the LAPICs themselves, so a shared ID
 *    scans only the deliveries that name it; an xAPIC logical destination
 *    only when it names a flat bit or cluster member two xAPIC-mode
 *    LAPICs share, or 0xFF, while more than VM_XAPIC_LIST_MAX LAPICs are
 *    in xAPIC mode; a physical broadcast never, unless slot 0xFF cannot
 *    answer for an xAPIC-format 0xFF).
 *  - in vCPU mode, after each decision (checked_decide()): at most one of
 *    NMI/INTR/SMI; INTR only with the interrupt window open, NMI only
 *    with the NMI window open; a LAPIC vector is >= 16, now the highest
 *    ISR bit of that LAPIC; no NMI/INTR/SMI/window with INIT, SIPI or
 *    WAIT_SIPI; WAIT_SIPI exactly when the LAPIC waits for a SIPI; the
 *    NMI window exactly while NMIs are held (at most 2); no deliverable
 *    LAPIC vector left without INTR_WINDOW; an open, unused interrupt
 *    window leaves nothing deliverable and asks for no window; every
 *    stats counter moves by exactly what the decision reports, NMIs
 *    conserved (held before + the 0-2 the LAPIC hands over = held after
 *    + injected + dropped, dropped only when full, not across INIT). Wake
 *    queries agree with themselves (IF=0 implies IF=1) and with the
 *    decision that follows them.
 *  - in exception mode, a shadow of the exception slot, the re-injection
 *    slot, the pending triple fault, the options and the policy's NMI
 *    blocking, written from SDM Vol. 3A 6.15 "Exception and Interrupt
 *    Reference" Tables 6-4 "Interrupt and Exception Classes" and 6-5
 *    "Conditions for Generating a Double Fault" and the VMX
 *    event-injection rules apart from lib/vm/vcpu_event.c: every
 *    queue/reinject return code, every #DF merge (stats.double_faults)
 *    and every decision's event are predicted exactly and the policy's
 *    slots compared with the shadow after every op; at most one of
 *    NMI/INTR/SMI/EVENT/TRIPLE_FAULT per decision, a #DF always with
 *    error code 0, a triple fault only where the shadow put one (only
 *    from a #DF), never an NMI while the policy blocks NMIs; a decision
 *    that re-delivers an event or reports a triple fault leaves the
 *    LAPIC's ISR and IRR and the whole PIC unchanged and counts no
 *    acknowledge, so an external interrupt is acknowledged once however
 *    often it is re-injected; a saved policy restores to identical
 *    bytes, a damaged copy is either refused with the scratch policy
 *    untouched or accepted and saved back identically.
 * ASan/UBSan watch every index (vCPU, map, GSI, pin).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virq/ipiv.h>
#include <virq/vcpu.h>
#include <virq/vm.h>

#include "ioapic/ioapic_priv.h"
#include "lapic/lapic_priv.h"
#include "pic/pic_priv.h"
#include "vm/vcpu_priv.h"
#include "vm/vm_priv.h"
#include "vm_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NV 6U
/* vCPUs in "MANY" mode: more than the xAPIC list's bound, with room. */
#define NV_MAX 20U
VIRQ_STATIC_ASSERT(NV_MAX > VM_XAPIC_LIST_MAX + 2U, "MANY mode crosses the xAPIC list bound");
#define NMAP 64U
#define NMAP_WIDE_MAX 0x400U
#define NGSI 26U

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_vm.c:%d: check failed: %s\n", __LINE__, #c);         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static uint32_t pages[NV_MAX][1024] __attribute__((aligned(4096)));
static struct virq_lapic apics[NV_MAX];
static struct virq_lapic_config lcfg[NV_MAX];
static uint32_t idx[NV_MAX];
static struct virq_lapic *vcpus[NV_MAX];
static uint32_t map[NMAP_WIDE_MAX];
/* IPI virtualization's PID-pointer table, attached to every VM: one entry
 * per ID the wide mode can give (0x3FF), so every alias is covered. */
static uint64_t ipiv_table[NMAP_WIDE_MAX];
static uint64_t ipiv_pids[NV_MAX];
static struct virq_ipiv ipiv;
static uint64_t map_key[NV_MAX];
static struct virq_vm_gsi gsis[NGSI];
static struct virq_vm vm;
static struct virq_ioapic ioapic;
static struct virq_pic pic;
static struct virq_vcpu pol[NV_MAX];
static unsigned nv = NV; /* vCPUs of this input: NV, or NV_MAX with "MANY" */
static unsigned lock_depth;
static bool ipi_depth;

static const uint8_t vcpu_magic[4] = { 'V', 'C', 'P', 'U' };
static const uint8_t excp_magic[4] = { 'E', 'X', 'C', 'P' };
static const uint8_t wide_magic[4] = { 'W', 'I', 'D', 'E' };
static const uint8_t many_magic[4] = { 'M', 'A', 'N', 'Y' };
static const uint8_t xlog_magic[4] = { 'X', 'L', 'O', 'G' };
/* "XLOG" input: logical IDs and models, logical messages (see the top). */
static bool xlog_mode;

static void f_lock(void *ctx)
{
	(void)ctx;
	CHECK(lock_depth == 0);
	lock_depth++;
}

static void f_unlock(void *ctx)
{
	(void)ctx;
	CHECK(lock_depth == 1);
	lock_depth--;
}

static const struct virq_vm_ops vm_ops = {
	.size = sizeof(struct virq_vm_ops),
	.lock = f_lock,
	.unlock = f_unlock,
};

/* ---- independent resolution ---- */

static bool enabled(const struct virq_lapic *l)
{
	return virq_lapic_get_mode(l) != VIRQ_LAPIC_MODE_DISABLED;
}

static bool is_src(const struct virq_lapic *l, const struct virq_apic_msg *m)
{
	return virq_lapic_get_id(l) == m->src &&
	       (virq_lapic_get_mode(l) == VIRQ_LAPIC_MODE_X2APIC) == m->x2apic;
}

static bool shadow_match(const struct virq_lapic *l, const struct virq_apic_msg *m, uint32_t dest)
{
	switch (m->shorthand) {
	case VIRQ_SH_NONE:
		return virq_lapic_match_dest(l, dest, m->logical);
	case VIRQ_SH_SELF:
		return enabled(l) && is_src(l, m);
	case VIRQ_SH_ALL_INCL_SELF:
		return enabled(l);
	default:
		return enabled(l) && !is_src(l, m);
	}
}

/* Whether the map answers for APIC ID @id: in it, and held by at most one
 * enabled LAPIC (in either mode). */
static bool slot_ok(uint32_t id)
{
	unsigned holders = 0;

	if (id >= vm.cfg.map_entries)
		return false;
	for (unsigned i = 0; i < nv; i++)
		if (vcpus[i] && enabled(vcpus[i]) && virq_lapic_get_id(vcpus[i]) == id)
			holders++;
	return holders <= 1;
}

/* Whether the xAPIC logical map answers for bits 7:0 @d of a logical
 * destination: each flat bit of @d, and each member bit of its cluster,
 * held by at most one enabled xAPIC-mode LAPIC of that DFR model. */
static bool xlog_ok(uint32_t d)
{
	for (uint32_t b = 0; b < 12U; b++) {
		unsigned holders = 0;
		bool flat = b < 8U;

		if (!((flat ? d : d & 0xFU) >> (b & 7U) & 1U))
			continue;
		for (unsigned i = 0; i < nv; i++) {
			const struct virq_lapic *l = vcpus[i];
			uint32_t ldr, dfr;

			if (!l || !enabled(l) || virq_lapic_get_mode(l) != VIRQ_LAPIC_MODE_XAPIC)
				continue;
			ldr = virq_lapic_read_reg(l, VIRQ_LAPIC_REG_LDR) >> 24;
			dfr = virq_lapic_read_reg(l, VIRQ_LAPIC_REG_DFR) >> 28;
			if (flat && dfr == 0xFU && (ldr >> b & 1U))
				holders++;
			if (!flat && dfr == 0U && ldr >> 4 == d >> 4 && (ldr >> (b - 8U) & 1U))
				holders++;
		}
		if (holders > 1U)
			return false;
	}
	return true;
}

/* Whether delivering @m (destination @dest after the broadcast quirk) must
 * scan every vCPU rather than look the map up: vm.h, "Destination maps". */
static bool expect_scan(const struct virq_apic_msg *m, uint32_t dest)
{
	unsigned nx = 0, nw = 0, n2 = 0;

	if (m->trigger_level && !m->level)
		return false; /* never resolved */
	/* Physical broadcasts come from the keys (0xFFFFFFFF) or the xAPIC
	 * list and slot 0xFF (0xFF, xAPIC format). */
	if (m->shorthand == VIRQ_SH_NONE && !m->logical && dest == 0xFFFFFFFFU)
		return false;
	if (m->shorthand == VIRQ_SH_NONE && !m->logical && dest == 0xFFU && !m->x2apic)
		return !slot_ok(0xFFU);
	if (m->shorthand != VIRQ_SH_NONE || dest == 0xFFFFFFFFU)
		return true;
	for (unsigned i = 0; i < nv; i++) {
		if (!vcpus[i] || !enabled(vcpus[i]))
			continue;
		if (virq_lapic_get_mode(vcpus[i]) == VIRQ_LAPIC_MODE_XAPIC)
			nx++;
		else
			n2++;
		if (virq_lapic_get_mode(vcpus[i]) == VIRQ_LAPIC_MODE_X2APIC &&
		    virq_lapic_get_id(vcpus[i]) > 0xFFFFFU)
			nw++;
	}
	if (!m->logical) {
		if (!slot_ok(dest))
			return true;
		/* The xAPIC broadcast (low 8 bits 0xFF): every xAPIC-mode LAPIC
		 * matches, taken from the xAPIC list up to its bound. */
		if (nx && (dest & 0xFFU) == 0xFFU)
			return nx > VM_XAPIC_LIST_MAX;
		/* xAPIC-mode LAPICs see the low 8 bits: that slot too. */
		return nx && dest > 0xFFU && !slot_ok(dest & 0xFFU);
	}
	if (nw)
		return true;
	/* x2APIC-mode LAPICs from the map, when there are any. */
	for (uint32_t bits = n2 ? dest & 0xFFFFU : 0; bits; bits &= bits - 1U)
		if (!slot_ok(((dest >> 16) << 4) | (uint32_t)__builtin_ctz(bits)))
			return true;
	/* xAPIC-mode LAPICs: from the xAPIC logical map, or (0xFF, or a
	 * logical ID two of them share) the xAPIC list up to its bound. */
	if ((dest & 0xFFU) == 0xFFU || !xlog_ok(dest & 0xFFU))
		return nx > VM_XAPIC_LIST_MAX;
	return false;
}

static bool pir_has(const struct virq_lapic *l, uint8_t v)
{
	return (__atomic_load_n(&l->pi.pir[v >> 6], __ATOMIC_RELAXED) >> (v & 63)) & 1U;
}

/* Delivers @m through virq_vm_deliver() (or, with @msi, sends the MSI
 * @msi_addr/@msi_data that decodes to @m) and checks it against the shadow. */
static unsigned checked_send(const struct virq_apic_msg *m, bool msi, uint64_t msi_addr,
			     uint32_t msi_data)
{
	bool match[NV_MAX], before[NV_MAX];
	uint32_t dest = m->dest;
	unsigned want = 0, got, cands = 0, min = 16;
	bool fixed = m->delivery == VIRQ_DM_FIXED || m->delivery == VIRQ_DM_LOWEST;
	bool bcast, scan;
	uint64_t scans;

	if (vm.cfg.x2apic_broadcast_quirk && m->src == VIRQ_MSG_SRC_NONE &&
	    m->shorthand == VIRQ_SH_NONE && dest == 0xFFU)
		dest = 0xFFFFFFFFU;
	bcast = m->shorthand == VIRQ_SH_NONE && !m->logical &&
		(dest == 0xFFFFFFFFU || (dest == 0xFFU && !m->x2apic));
	for (unsigned i = 0; i < nv; i++) {
		const struct virq_lapic *l = vcpus[i];

		match[i] = l && shadow_match(l, m, dest);
		before[i] = l && pir_has(l, m->vector);
		if (!match[i] || (fixed && !virq_lapic_accepts_fixed(l)))
			continue;
		want++;
		if (fixed) {
			unsigned c = (virq_lapic_get_ppr(l) >> 4) & 0xFU;

			cands++;
			min = c < min ? c : min;
		}
	}
	if (m->delivery == VIRQ_DM_LOWEST && !bcast)
		want = cands ? 1 : 0;
	if (m->trigger_level && !m->level)
		want = 0;
	scan = expect_scan(m, dest);
	scans = virq_vm_scan_count(&vm);

	got = msi ? virq_vm_send_msi(&vm, msi_addr, msi_data, 0) : virq_vm_deliver(&vm, m);
	CHECK(got == want);
	CHECK(virq_vm_scan_count(&vm) - scans == (scan ? 1U : 0U));
	for (unsigned i = 0; i < nv; i++) {
		const struct virq_lapic *l = vcpus[i];

		if (!l || before[i] || !pir_has(l, m->vector))
			continue;
		/* Newly posted: only to a matched LAPIC. */
		CHECK(match[i]);
		if (m->delivery == VIRQ_DM_LOWEST && !bcast && !vm.cfg.lowest_vector_hashing)
			CHECK(((virq_lapic_get_ppr(l) >> 4) & 0xFU) == min);
	}
	return got;
}

static unsigned checked_deliver(const struct virq_apic_msg *m)
{
	return checked_send(m, false, 0, 0);
}

/* ---- LAPIC hooks ---- */

static void l_kick(void *ctx)
{
	(void)ctx;
}

static uint64_t l_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static void l_arm(void *ctx, uint64_t d)
{
	(void)ctx;
	(void)d;
}

static void l_cancel(void *ctx)
{
	(void)ctx;
}

static void l_send_ipi(void *ctx, const struct virq_apic_msg *m)
{
	(void)ctx;
	CHECK(!ipi_depth);
	ipi_depth = true;
	(void)checked_deliver(m);
	ipi_depth = false;
}

static void l_eoi_level(void *ctx, uint8_t v)
{
	(void)ctx;
	virq_vm_eoi(&vm, v);
}

static void l_dest_changed(void *ctx)
{
	CHECK(virq_vm_update_vcpu(&vm, *(const uint32_t *)ctx) == 0);
}

static const struct virq_lapic_ops lapic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = l_kick,
	.now_ns = l_now,
	.timer_arm = l_arm,
	.timer_cancel = l_cancel,
	.send_ipi = l_send_ipi,
	.eoi_level = l_eoi_level,
	.dest_changed = l_dest_changed,
};

/* ---- invariants ---- */

static void check_all(void)
{
	CHECK(lock_depth == 0);
	for (unsigned i = 0; i < nv; i++) {
		uint64_t key = VM_KEY_NONE;

		CHECK(lapic_check_invariants(&apics[i]) == 0);
		if (enabled(&apics[i]))
			key = expected_key(&apics[i]);
		CHECK((map_key[i] & VM_KEY_DEST_MASK) == key);
	}
	CHECK(vm_check_invariants(&vm) == 0);
	CHECK(ioapic_check_invariants(&ioapic) == 0);
	CHECK(pic_check_invariants(&pic) == 0);
}

/* ---- ops ---- */

enum {
	OP_LAPIC_MMIO_W,
	OP_LAPIC_MMIO_R,
	OP_LAPIC_MSR_W,
	OP_LAPIC_MSR_R,
	OP_ICR,
	OP_APIC_BASE,
	OP_IOAPIC_W,
	OP_IOAPIC_R,
	OP_PIC_W,
	OP_PIC_R,
	OP_SET_IRQ,
	OP_MSI,
	OP_MSG,
	OP_ACK_EOI,
	OP_EVENTS,
	OP_SERVICE,
	OP_ROUTE,
	OP_COUNT,
	/* vCPU policy mode only (the "VCPU" prefix). */
	OP_DECIDE = OP_COUNT,
	OP_WAKES,
	OP_VCPU_RESET,
	OP_LINT,
	OP_VCPU_COUNT,
	/* Exception mode only (the "EXCP" prefix). */
	OP_QUEUE_EXC = OP_VCPU_COUNT,
	OP_REINJECT,
	OP_NMI_UNBLOCK,
	OP_OPTIONS,
	OP_POLICY_SAVE,
	OP_EXC_COUNT
};

/* ---- shadow of the exception queue (exception mode) ---- */

struct shadow {
	bool exc, reinj, triple, nmi_blocked;
	struct virq_vcpu_event exc_ev, reinj_ev;
	uint32_t options;
	uint64_t double_faults, reinjected;
	bool last_valid; /* the event the last decision injected */
	struct virq_vcpu_event last;
};

static struct shadow sh[NV_MAX];
static bool exc_mode;

/* SDM Vol. 3A Table 6-1 "Protected-Mode Exceptions and Interrupts"
 * (protected mode), AMD's 28-30 too. */
static bool m_vec_ok(unsigned v)
{
	return v < 32 && v != 2 && v != 15 && !(v >= 22 && v <= 27) && v != 31;
}

static bool m_has_ec(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

/* Table 6-4 "Interrupt and Exception Classes": 0 benign, 1 contributory, 2 page fault. */
static unsigned m_class(unsigned v)
{
	if (v == 0 || (v >= 10 && v <= 13) || v == 21)
		return 1;
	if (v == 14 || v == 20)
		return 2;
	return 0;
}

static bool m_ec_ok(unsigned v, unsigned has, uint32_t ec, bool strict)
{
	if (has > 1)
		return false;
	if (!has)
		return ec == 0 && (!strict || !m_has_ec(v));
	return m_has_ec(v) && ec <= 0xFFFFU && !((v == 8 || v == 17) && ec);
}

/* vcpu.h, virq_vcpu_reinject(). */
static bool m_event_ok(const struct virq_vcpu_event *e)
{
	switch (e->type) {
	case 0:
	case 4:
		break;
	case 2:
		if (e->vector != 2)
			return false;
		break;
	case 3:
		return m_vec_ok(e->vector) &&
		       m_ec_ok(e->vector, e->has_error, e->error_code, false) && e->insn_len == 0 &&
		       (e->vector == 14 || e->payload == 0);
	case 5:
		if (e->vector != 1)
			return false;
		break;
	case 6:
		if (e->vector != 3 && e->vector != 4)
			return false;
		break;
	default:
		return false;
	}
	if (e->has_error || e->error_code || e->payload)
		return false;
	return e->insn_len <= ((e->type == 4 || e->type == 5 || e->type == 6) ? 15U : 0U);
}

static bool m_is_exc(uint8_t type)
{
	return type == 3 || type == 5 || type == 6;
}

/* Table 6-5 "Conditions for Generating a Double Fault" and the #DF row
 * (vcpu.h: serial by default, shutdown with
 * VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY). */
static void m_merge(struct shadow *m, const struct virq_vcpu_event *e)
{
	unsigned c1, c2 = m_class(e->vector);

	if (m->triple)
		return;
	if (!m->exc) {
		m->exc = true;
		m->exc_ev = *e;
		return;
	}
	if (m->exc_ev.type == 3 && m->exc_ev.vector == 8) {
		if (c2 != 0 || (m->options & VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY)) {
			m->exc = m->reinj = false;
			memset(&m->exc_ev, 0, sizeof(m->exc_ev));
			memset(&m->reinj_ev, 0, sizeof(m->reinj_ev));
			m->triple = true;
		} else {
			m->exc_ev = *e;
		}
		return;
	}
	c1 = m->exc_ev.type == 3 ? m_class(m->exc_ev.vector) : 0;
	if ((c1 == 1 && c2 == 1) || (c1 == 2 && c2 != 0)) {
		memset(&m->exc_ev, 0, sizeof(m->exc_ev));
		m->exc_ev.type = 3;
		m->exc_ev.vector = 8;
		m->exc_ev.has_error = 1;
		m->double_faults++;
		return;
	}
	m->exc_ev = *e;
}

static void m_drop(struct shadow *m)
{
	m->exc = m->reinj = m->triple = m->nmi_blocked = false;
	memset(&m->exc_ev, 0, sizeof(m->exc_ev));
	memset(&m->reinj_ev, 0, sizeof(m->reinj_ev));
}

/* The policy's slots are the shadow's. */
static void check_shadow(unsigned v)
{
	const struct virq_vcpu *p = &pol[v];
	const struct shadow *m = &sh[v];

	if (!exc_mode)
		return;
	CHECK(!!(p->flags & VCPU_F_EXC) == m->exc);
	CHECK(!!(p->flags & VCPU_F_REINJ) == m->reinj);
	CHECK(!!(p->flags & VCPU_F_TRIPLE) == m->triple);
	CHECK((p->flags & ~(VCPU_F_EXC | VCPU_F_REINJ | VCPU_F_TRIPLE)) == 0);
	CHECK(memcmp(&p->exc, &m->exc_ev, sizeof(m->exc_ev)) == 0);
	CHECK(memcmp(&p->reinj, &m->reinj_ev, sizeof(m->reinj_ev)) == 0);
	CHECK(p->options == m->options);
	CHECK(virq_vcpu_nmi_blocked(p) == m->nmi_blocked);
	CHECK(p->stats.double_faults == m->double_faults);
	CHECK(p->stats.reinjected == m->reinjected);
	/* Never an exception slot holding a non-exception, and the reverse. */
	if (m->exc)
		CHECK(m_is_exc(p->exc.type) && m_event_ok(&p->exc));
	if (m->reinj)
		CHECK(!m_is_exc(p->reinj.type) && m_event_ok(&p->reinj));
}

/* Whether taking the LAPIC's events now brings an INIT (which drops the
 * policy's exception state). Folds posted work first. */
static bool init_coming(unsigned v)
{
	struct virq_lapic *l = &apics[v];

	(void)virq_lapic_sync(l);
	return ((__atomic_load_n(&l->posted_events, __ATOMIC_RELAXED) | l->local_events) &
		VIRQ_LAPIC_EV_INIT) != 0;
}

/* ---- vCPU policy ---- */

static bool isr_has(unsigned v, uint8_t vec)
{
	return (pages[v][(VIRQ_LAPIC_REG_ISR >> 2) + (vec >> 5) * 4] >> (vec & 31)) & 1U;
}

#define EVENT_ACTIONS                                                                              \
	(VIRQ_VCPU_NMI | VIRQ_VCPU_INTR | VIRQ_VCPU_SMI | VIRQ_VCPU_EVENT | VIRQ_VCPU_TRIPLE_FAULT)
#define ALL_ACTIONS 0x7FFU

struct lapic_vecs {
	uint32_t isr[8], irr[8];
};

static void lapic_vecs(unsigned v, struct lapic_vecs *out)
{
	for (unsigned i = 0; i < 8; i++) {
		out->isr[i] = pages[v][(VIRQ_LAPIC_REG_ISR >> 2) + i * 4];
		out->irr[i] = pages[v][(VIRQ_LAPIC_REG_IRR >> 2) + i * 4];
	}
}
#define START_ACTIONS (VIRQ_VCPU_INIT | VIRQ_VCPU_SIPI | VIRQ_VCPU_WAIT_SIPI)

/* One decision of vCPU @v's policy with window @w into @out, checked. */
static uint32_t checked_decide(unsigned v, const struct virq_vcpu_window *w,
			       struct virq_vcpu_decision *out)
{
	struct virq_vcpu *p = &pol[v];
	struct virq_lapic *l = &apics[v];
	struct virq_vcpu_stats s0 = p->stats;
	const struct virq_vcpu_stats *s = virq_vcpu_get_stats(p);
	struct virq_vcpu_decision d;
	struct shadow *m = &sh[v];
	struct virq_vcpu_event zero;
	struct lapic_vecs vecs0, vecs1;
	struct virq_pic pic0;
	bool lapic_intr, pic_intr, blocked0, init, held_init;
	unsigned events, nmi_held;
	uint64_t dropped, added;
	uint32_t a;

	/* Fold first, so the decision's own fold changes nothing and the
	 * LAPIC's vectors can be compared around it. */
	init = init_coming(v);
	held_init = (p->held & VIRQ_LAPIC_EV_INIT) != 0;
	nmi_held = p->nmi_pending;
	lapic_vecs(v, &vecs0);
	memcpy(&pic0, &pic, sizeof(pic));
	if (init)
		m_drop(m);
	blocked0 = m->nmi_blocked;
	memset(&zero, 0, sizeof(zero));
	memset(&d, 0xA5, sizeof(d));
	a = virq_vcpu_decide(p, w, &d);
	*out = d;
	CHECK(a == d.actions);
	CHECK((a & ~ALL_ACTIONS) == 0);
	CHECK(d.reserved == 0);
	events = !!(a & VIRQ_VCPU_NMI) + !!(a & VIRQ_VCPU_INTR) + !!(a & VIRQ_VCPU_SMI) +
		 !!(a & VIRQ_VCPU_EVENT) + !!(a & VIRQ_VCPU_TRIPLE_FAULT);
	CHECK(events <= 1);
	/* INIT taken now, or by a wake query before (then held). */
	CHECK(!(a & VIRQ_VCPU_INIT) || init || held_init);
	if (a & VIRQ_VCPU_NMI) {
		CHECK(w->nmi);
		CHECK(!blocked0);
		CHECK(d.event.type == VIRQ_VCPU_EV_NMI && d.event.vector == 2);
	}
	if (a & VIRQ_VCPU_INTR)
		CHECK(d.event.type == VIRQ_VCPU_EV_EXTINT && d.event.vector == d.vector);
	if (a & (VIRQ_VCPU_NMI | VIRQ_VCPU_INTR)) {
		CHECK(!d.event.has_error && !d.event.error_code && !d.event.insn_len &&
		      !d.event.payload);
		if ((a & VIRQ_VCPU_NMI) && (m->options & VIRQ_VCPU_OPT_NMI_BLOCKING))
			m->nmi_blocked = true;
	}
	if (!(a & (VIRQ_VCPU_NMI | VIRQ_VCPU_INTR | VIRQ_VCPU_EVENT)))
		CHECK(memcmp(&d.event, &zero, sizeof(zero)) == 0);
	/* A #DF always pushes 0. */
	if ((a & VIRQ_VCPU_EVENT) && d.event.type == VIRQ_VCPU_EV_HW_EXC && d.event.vector == 8)
		CHECK(d.event.has_error == 1 && d.event.error_code == 0 && d.event.payload == 0);
	if (a & (VIRQ_VCPU_EVENT | VIRQ_VCPU_TRIPLE_FAULT)) {
		/* Nothing acknowledged: not the LAPIC, not the 8259. */
		lapic_vecs(v, &vecs1);
		CHECK(memcmp(&vecs0, &vecs1, sizeof(vecs0)) == 0);
		CHECK(memcmp(&pic0, &pic, sizeof(pic)) == 0);
	}
	if (a & VIRQ_VCPU_TRIPLE_FAULT)
		CHECK(a == VIRQ_VCPU_TRIPLE_FAULT);
	/* The shadow's prediction (what goes before SMI, NMI and INTR). */
	if (!(a & START_ACTIONS)) {
		uint32_t now = (p->held & VIRQ_LAPIC_EV_SMI) ? VIRQ_VCPU_IMMEDIATE_EXIT : 0;

		if (m->triple) {
			CHECK(a == VIRQ_VCPU_TRIPLE_FAULT);
			m->triple = false;
		} else if (m->exc) {
			CHECK(a & VIRQ_VCPU_EVENT);
			CHECK(memcmp(&d.event, &m->exc_ev, sizeof(d.event)) == 0);
			if (m->reinj)
				now = VIRQ_VCPU_IMMEDIATE_EXIT;
			CHECK((a & VIRQ_VCPU_IMMEDIATE_EXIT) == now);
			m->exc = false;
			memset(&m->exc_ev, 0, sizeof(m->exc_ev));
		} else if (m->reinj) {
			CHECK(a & VIRQ_VCPU_EVENT);
			CHECK(memcmp(&d.event, &m->reinj_ev, sizeof(d.event)) == 0);
			CHECK((a & VIRQ_VCPU_IMMEDIATE_EXIT) == now);
			if (d.event.type == VIRQ_VCPU_EV_NMI &&
			    (m->options & VIRQ_VCPU_OPT_NMI_BLOCKING))
				m->nmi_blocked = true;
			m->reinj = false;
			memset(&m->reinj_ev, 0, sizeof(m->reinj_ev));
		} else {
			CHECK(!(a & (VIRQ_VCPU_EVENT | VIRQ_VCPU_TRIPLE_FAULT |
				     VIRQ_VCPU_IMMEDIATE_EXIT)));
		}
	} else {
		CHECK(!(a & (VIRQ_VCPU_EVENT | VIRQ_VCPU_TRIPLE_FAULT | VIRQ_VCPU_IMMEDIATE_EXIT)));
	}
	/* What a backend could hand back after this entry. */
	m->last_valid = (a & (VIRQ_VCPU_NMI | VIRQ_VCPU_INTR | VIRQ_VCPU_EVENT)) != 0;
	m->last = d.event;
	lapic_intr = (a & VIRQ_VCPU_INTR) && d.source == VIRQ_VCPU_SRC_LAPIC;
	pic_intr = (a & VIRQ_VCPU_INTR) && d.source == VIRQ_VCPU_SRC_PIC;
	if (a & VIRQ_VCPU_INTR) {
		CHECK(w->intr);
		CHECK(lapic_intr || pic_intr);
		/* An 8259 vector may be below 16 (real-mode BIOS bases 0x08). */
		if (lapic_intr) {
			CHECK(d.vector >= 16);
			CHECK(isr_has(v, d.vector));
			CHECK(l->isrv == d.vector);
		}
	} else {
		CHECK(d.vector == 0 && d.source == VIRQ_VCPU_SRC_NONE);
	}
	if (!(a & VIRQ_VCPU_SIPI))
		CHECK(d.sipi_vector == 0);
	CHECK(((a & VIRQ_VCPU_WAIT_SIPI) != 0) ==
	      (virq_lapic_get_mp_state(l) == VIRQ_LAPIC_MP_WAIT_SIPI));
	if (a & VIRQ_VCPU_WAIT_SIPI)
		CHECK(!(a & (EVENT_ACTIONS | VIRQ_VCPU_SIPI)));
	if (a & START_ACTIONS)
		CHECK(!(a & (EVENT_ACTIONS | VIRQ_VCPU_INTR_WINDOW | VIRQ_VCPU_NMI_WINDOW)));
	CHECK(p->nmi_pending <= VIRQ_VCPU_MAX_PENDING_NMI);
	if (!(a & (START_ACTIONS | VIRQ_VCPU_TRIPLE_FAULT))) {
		bool deliverable = virq_lapic_pending(l) != VIRQ_LAPIC_NO_VECTOR;

		CHECK(((a & VIRQ_VCPU_NMI_WINDOW) != 0) == (p->nmi_pending != 0));
		/* Nothing deliverable is left without a window. */
		if (deliverable)
			CHECK(a & VIRQ_VCPU_INTR_WINDOW);
		/* An open window nothing else used: all taken, none asked. */
		if (w->intr && !(a & EVENT_ACTIONS))
			CHECK(!deliverable && !(a & VIRQ_VCPU_INTR_WINDOW));
	}
	CHECK(s->nmi == s0.nmi + !!(a & VIRQ_VCPU_NMI));
	CHECK(s->smi == s0.smi + !!(a & VIRQ_VCPU_SMI));
	CHECK(s->init == s0.init + !!(a & VIRQ_VCPU_INIT));
	CHECK(s->sipi == s0.sipi + !!(a & VIRQ_VCPU_SIPI));
	CHECK(s->intr_lapic == s0.intr_lapic + lapic_intr);
	CHECK(s->intr_pic == s0.intr_pic + pic_intr);
	CHECK(s->intr_windows == s0.intr_windows + !!(a & VIRQ_VCPU_INTR_WINDOW));
	CHECK(s->exceptions == s0.exceptions + ((a & VIRQ_VCPU_EVENT) && m_is_exc(d.event.type)));
	CHECK(s->triple_faults == s0.triple_faults + !!(a & VIRQ_VCPU_TRIPLE_FAULT));
	CHECK(s->double_faults == s0.double_faults && s->reinjected == s0.reinjected);
	check_shadow(v);
	/*
	 * NMIs: the LAPIC hands over 0, 1 or 2 (virq_lapic_events::nmi_count);
	 * the policy holds two at most and counts the rest as dropped, so what
	 * it held, plus what came, is what it holds, injected or dropped now
	 * (not checked across an INIT, which empties it: the vCPU resets).
	 */
	dropped = s->nmi_dropped - s0.nmi_dropped;
	CHECK(dropped <= VIRQ_LAPIC_MAX_NMI);
	if (!(a & VIRQ_VCPU_INIT)) {
		added = p->nmi_pending + !!(a & VIRQ_VCPU_NMI) + dropped - nmi_held;
		CHECK(added <= VIRQ_LAPIC_MAX_NMI);
		if (dropped)
			CHECK(p->nmi_pending + !!(a & VIRQ_VCPU_NMI) == VIRQ_VCPU_MAX_PENDING_NMI);
	}
	return a;
}

/* Wake queries of vCPU @v, then (with @then) a decision they must predict. */
static void checked_wakes(unsigned v, bool then, const struct virq_vcpu_window *w)
{
	struct virq_vcpu *p = &pol[v];
	bool w0, w1, extint_held, blocked;
	struct virq_vcpu_decision d;
	uint32_t a;

	if (init_coming(v))
		m_drop(&sh[v]);
	w0 = virq_vcpu_wakes(p, false);
	w1 = virq_vcpu_wakes(p, true);
	check_shadow(v);
	extint_held = (p->held & VIRQ_LAPIC_EV_EXTINT) != 0;
	blocked = virq_vcpu_nmi_blocked(p);
	CHECK(!w0 || w1);
	/* Waiting for a SIPI: only INIT or SIPI. */
	if (virq_lapic_get_mp_state(&apics[v]) == VIRQ_LAPIC_MP_WAIT_SIPI)
		CHECK(w1 == ((p->held & (VIRQ_LAPIC_EV_INIT | VIRQ_LAPIC_EV_SIPI)) != 0));
	if (!then)
		return;
	a = checked_decide(v, w, &d);
	/* An NMI the policy blocks wakes nothing but still asks its window. */
	if (!w1)
		CHECK((a & ~(VIRQ_VCPU_WAIT_SIPI | (blocked ? VIRQ_VCPU_NMI_WINDOW : 0))) == 0);
	if (w0)
		CHECK(a & (VIRQ_VCPU_INIT | VIRQ_VCPU_SIPI | VIRQ_VCPU_SMI | VIRQ_VCPU_NMI |
			   VIRQ_VCPU_NMI_WINDOW | VIRQ_VCPU_EVENT | VIRQ_VCPU_TRIPLE_FAULT));
	else
		CHECK(!(a & (VIRQ_VCPU_INIT | VIRQ_VCPU_SIPI | VIRQ_VCPU_SMI | VIRQ_VCPU_NMI |
			     VIRQ_VCPU_EVENT | VIRQ_VCPU_TRIPLE_FAULT |
			     (blocked ? 0 : VIRQ_VCPU_NMI_WINDOW))));
	/* Woken for an interrupt only: the decision injects it or asks for
	 * the window. Not checked for a held ExtINT request, which the 8259
	 * may have withdrawn since (then nothing is injected). */
	if (w1 && !w0 && !extint_held)
		CHECK(a & (VIRQ_VCPU_INTR | VIRQ_VCPU_INTR_WINDOW));
}

static uint32_t u32(const uint8_t *a)
{
	return (uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16 | (uint32_t)a[3] << 24;
}

/* a[1] bits 2:0: queue_exception (vector a[2] % 34, presence from a[3]
 * bit 0 or, with bit 1, the right one; error code a[4..5], widened by
 * a[3] bit 2), #GP, #SS, #UD, #PF (CR2 a[6..7] << 12 | a[2]); else the
 * same as 0 with a valid vector. */
static void op_queue_exc(unsigned v, const uint8_t *a)
{
	struct virq_vcpu *p = &pol[v];
	struct shadow *m = &sh[v];
	struct virq_vcpu_event e;
	unsigned vec = a[2] % 34U, kind = a[1] & 7U;
	uint32_t ec = (uint32_t)a[4] | (uint32_t)a[5] << 8;
	bool has;
	uint64_t cr2 = 0;
	int r, want;

	if (a[3] & 4)
		ec |= 0x10000U;
	if (kind >= 5) {
		kind = 0;
		while (!m_vec_ok(vec))
			vec = (vec + 1U) % 32U;
	}
	has = (a[3] & 2) ? m_has_ec(vec) : (a[3] & 1);
	switch (kind) {
	case 1:
		vec = 13, has = true;
		r = virq_vcpu_inject_gp(p, ec);
		break;
	case 2:
		vec = 12, has = true;
		r = virq_vcpu_inject_ss(p, ec);
		break;
	case 3:
		vec = 6, has = false, ec = 0;
		r = virq_vcpu_inject_ud(p);
		break;
	case 4:
		vec = 14, has = true;
		cr2 = ((uint64_t)a[6] << 12 | (uint64_t)a[7] << 20) | a[2];
		r = virq_vcpu_inject_pf(p, cr2, ec);
		break;
	default:
		r = virq_vcpu_queue_exception(p, (uint8_t)vec, has, ec);
		break;
	}
	want = m_vec_ok(vec) && m_ec_ok(vec, has, ec, true) ? 0 : -VIRQ_EINVAL;
	CHECK(r == want);
	if (!r) {
		memset(&e, 0, sizeof(e));
		e.type = 3;
		e.vector = (uint8_t)vec;
		e.has_error = has;
		e.error_code = ec;
		e.payload = cr2;
		m_merge(m, &e);
	}
	check_shadow(v);
}

/* a[1] bit 0 clear: hand back the event the last decision injected, as a
 * backend reports IDT-vectoring information (a[1] bit 1: and then raise
 * an exception as an exit handler would, a[2..] as OP_QUEUE_EXC's a[1..]).
 * Set: an event made of a[2] (type, bits 2:0; has_error bits 4:3),
 * a[3] (vector), a[4..5] (error code), a[6] (length, bits 4:0), a[7]
 * (payload << 12, with a[2] bit 7). */
static void op_reinject(unsigned v, const uint8_t *a)
{
	struct virq_vcpu *p = &pol[v];
	struct shadow *m = &sh[v];
	struct virq_vcpu_event e;
	bool ok, exc;
	int r, want;

	memset(&e, 0, sizeof(e));
	if (!(a[1] & 1)) {
		if (!m->last_valid)
			return;
		e = m->last;
	} else {
		e.type = a[2] & 7U;
		e.has_error = (a[2] >> 3) & 3U;
		e.vector = a[3];
		e.error_code = (uint32_t)a[4] | (uint32_t)a[5] << 8;
		e.insn_len = a[6] & 0x1FU;
		e.payload = (a[2] & 0x80U) ? (uint64_t)a[7] << 12 : 0;
	}
	ok = m_event_ok(&e);
	exc = m_is_exc(e.type);
	if (!ok)
		want = -VIRQ_EINVAL;
	else if (m->exc || m->triple || (!exc && m->reinj))
		want = -VIRQ_ESTATEMODE;
	else
		want = 0;
	r = virq_vcpu_reinject(p, &e);
	CHECK(r == want);
	if (!r) {
		m->last_valid = false;
		m->reinjected++;
		if (exc) {
			m->exc = true;
			m->exc_ev = e;
		} else {
			m->reinj = true;
			m->reinj_ev = e;
		}
	}
	check_shadow(v);
	if (!(a[1] & 1) && (a[1] & 2)) {
		uint8_t next[8] = { 0 };

		memcpy(next, a + 1, 7);
		op_queue_exc(v, next);
	}
}

/* Save, restore into itself (identical bytes); then a copy of the state
 * with byte a[1] % size XORed with a[2] (and byte a[3] % size with a[4])
 * restored into a scratch copy of the policy. */
static void op_policy_save(unsigned v, const uint8_t *a)
{
	struct virq_vcpu *p = &pol[v];
	struct virq_vcpu_state st, st2, bad;
	struct virq_vcpu tmp;
	uint8_t *b = (uint8_t *)&bad;
	int r;

	memset(&st, 0x5A, sizeof(st));
	CHECK(virq_vcpu_save(p, &st) == 0);
	CHECK(st.version == VIRQ_VCPU_STATE_VERSION && st.size == sizeof(st));
	CHECK(!!(st.flags & VIRQ_VCPU_STATE_EXCEPTION) == sh[v].exc);
	CHECK(!!(st.flags & VIRQ_VCPU_STATE_REINJECT) == sh[v].reinj);
	CHECK(!!(st.flags & VIRQ_VCPU_STATE_TRIPLE_FAULT) == sh[v].triple);
	CHECK(st.nmi_pending == p->nmi_pending && st.held == p->held);
	CHECK(virq_vcpu_restore(p, &st) == 0);
	memset(&st2, 0xA5, sizeof(st2));
	CHECK(virq_vcpu_save(p, &st2) == 0);
	CHECK(memcmp(&st, &st2, sizeof(st)) == 0);
	check_shadow(v);

	bad = st;
	b[a[1] % sizeof(bad)] ^= a[2];
	b[a[3] % sizeof(bad)] ^= a[4];
	memcpy(&tmp, p, sizeof(tmp));
	r = virq_vcpu_restore(&tmp, &bad);
	CHECK(r == 0 || r == -VIRQ_EVERSION || r == -VIRQ_ESTATE);
	memset(&st2, 0xA5, sizeof(st2));
	CHECK(virq_vcpu_save(&tmp, &st2) == 0);
	if (r) {
		CHECK(memcmp(&tmp, p, sizeof(tmp)) == 0);
	} else {
		/* Accepted: exactly what was given, and sound. */
		CHECK(memcmp(&st2, &bad, sizeof(bad)) == 0);
		CHECK(bad.nmi_pending <= VIRQ_VCPU_MAX_PENDING_NMI);
		if (bad.flags & VIRQ_VCPU_STATE_EXCEPTION)
			CHECK(m_event_ok(&bad.exception) && m_is_exc(bad.exception.type));
		if (bad.flags & VIRQ_VCPU_STATE_REINJECT)
			CHECK(m_event_ok(&bad.reinject) && !m_is_exc(bad.reinject.type));
		if (bad.flags & VIRQ_VCPU_STATE_TRIPLE_FAULT)
			CHECK(!(bad.flags &
				(VIRQ_VCPU_STATE_EXCEPTION | VIRQ_VCPU_STATE_REINJECT)));
	}
}

static void do_op(uint8_t op, const uint8_t *a, unsigned op_count)
{
	unsigned v = a[0] % nv;
	struct virq_lapic *l = &apics[v];
	struct virq_vcpu_window w = { .intr = a[1] & 1, .nmi = (a[1] >> 1) & 1 };
	uint64_t val = 0;
	uint8_t b;

	switch (op % op_count) {
	case OP_LAPIC_MMIO_W:
		if (xlog_mode && (a[1] & 0xC0U) == 0xC0U) {
			/* A logical ID (a[2]), or a DFR model: flat, cluster, or
			 * any other value. */
			static const uint32_t dfr[4] = { 0xFFFFFFFFU, 0x0FFFFFFFU, 0xFFFFFFFFU, 0 };
			uint32_t model = dfr[a[3] & 3U];

			if (!(a[1] & 0x20U))
				(void)virq_lapic_mmio_write(l, VIRQ_LAPIC_REG_LDR, 4,
							    (uint32_t)a[2] << 24);
			else
				(void)virq_lapic_mmio_write(l, VIRQ_LAPIC_REG_DFR, 4,
							    (a[3] & 3U) == 3U ? u32(a + 4) : model);
			break;
		}
		(void)virq_lapic_mmio_write(l, ((uint32_t)a[1] << 4) & 0x3F0U, 4, u32(a + 2));
		break;
	case OP_LAPIC_MMIO_R:
		(void)virq_lapic_mmio_read(l, ((uint32_t)a[1] << 4) & 0x3F0U, 4, &val);
		break;
	case OP_LAPIC_MSR_W:
		(void)virq_lapic_msr_write(l, 0x800U + (a[1] & 0x3FU),
					   u32(a + 2) | ((uint64_t)u32(a + 4) << 32 &
							 (a[7] & 1 ? ~0ULL : 0)));
		break;
	case OP_LAPIC_MSR_R:
		(void)virq_lapic_msr_read(l, 0x800U + (a[1] & 0x3FU), &val);
		break;
	case OP_ICR:
		if (virq_lapic_get_mode(l) == VIRQ_LAPIC_MODE_X2APIC) {
			uint32_t dest = a[6] & 1 ? u32(a + 2) : a[2];

			(void)virq_lapic_msr_write(
				l, 0x830, ((uint64_t)dest << 32) | (u32(a + 4) & 0xCFFFFU) | a[1]);
		} else {
			(void)virq_lapic_mmio_write(l, VIRQ_LAPIC_REG_ICR_HI, 4,
						    (uint32_t)a[2] << 24);
			(void)virq_lapic_mmio_write(l, VIRQ_LAPIC_REG_ICR_LO, 4,
						    (u32(a + 4) & 0xCFF00U) | a[1]);
		}
		break;
	case OP_APIC_BASE: {
		static const uint64_t modes[4] = { 0, VIRQ_APIC_BASE_EN,
						   VIRQ_APIC_BASE_EN | VIRQ_APIC_BASE_EXTD,
						   VIRQ_APIC_BASE_EXTD };

		(void)virq_lapic_set_apic_base(l,
					       VIRQ_APIC_BASE_ADDR_DEFAULT | modes[a[1] & 3] |
						       (v == 0 ? VIRQ_APIC_BASE_BSP : 0),
					       (a[1] & 4) != 0);
		break;
	}
	case OP_IOAPIC_W: {
		static const uint32_t offs[4] = { 0x00, 0x10, 0x40, 0x10 };

		(void)virq_vm_ioapic_write(&vm, 0, offs[a[1] & 3], 4, u32(a + 2));
		break;
	}
	case OP_IOAPIC_R:
		(void)virq_vm_ioapic_read(&vm, a[1] & 1, (a[1] & 2) ? 0x10 : 0, 4, &val);
		break;
	case OP_PIC_W: {
		static const uint16_t ports[8] = {
			0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1, 0x22, 0x21
		};

		(void)virq_vm_pic_write(&vm, ports[a[1] & 7], a[2]);
		break;
	}
	case OP_PIC_R: {
		static const uint16_t ports[4] = { 0x20, 0x21, 0xA0, 0xA1 };

		(void)virq_vm_pic_read(&vm, ports[a[1] & 3], &b);
		break;
	}
	case OP_SET_IRQ:
		(void)virq_vm_set_irq(&vm, a[1] % (NGSI + 2), a[2] % 34,
				      (enum virq_irq_op)(a[3] % 5));
		break;
	case OP_MSI: {
		uint64_t addr = 0xFEE00000ULL | ((uint64_t)a[1] << 12) | (a[2] & 0xFCU) |
				((uint64_t)(a[3] & 0x7U) << 8);
		uint32_t d = u32(a + 4) & 0xC7FFU;
		struct virq_apic_msg m;

		if (a[3] & 0x80U)
			addr ^= 1ULL << 32; /* outside the window */
		if (virq_msi_decode(addr, d, vm.cfg.msi_flags, &m) == 0)
			(void)checked_send(&m, true, addr, d);
		else
			CHECK(virq_vm_send_msi(&vm, addr, d, 0) == 0);
		break;
	}
	case OP_MSG: {
		struct virq_apic_msg m;

		memset(&m, 0, sizeof(m));
		m.dest = a[1] & 1 ? u32(a + 2) : a[2];
		m.vector = a[6];
		m.delivery = a[7] & 7;
		m.shorthand = (a[7] >> 3) & 3;
		m.logical = (a[7] >> 5) & 1;
		m.trigger_level = (a[7] >> 6) & 1;
		m.level = !((a[7] >> 7) & 1) || !m.trigger_level;
		m.x2apic = m.dest > 0xFFU || (a[1] & 2);
		m.src = m.shorthand ? (a[1] & 4 ? a[0] : u32(a + 2)) : VIRQ_MSG_SRC_NONE;
		if (xlog_mode && (a[1] & 8U)) {
			/* An xAPIC logical message to the 8-bit a[2]. */
			m.dest = a[2];
			m.logical = true;
			m.shorthand = VIRQ_SH_NONE;
			m.x2apic = false;
			m.src = VIRQ_MSG_SRC_NONE;
		}
		(void)checked_deliver(&m);
		break;
	}
	case OP_ACK_EOI: {
		int vec = virq_lapic_ack(l);

		if (vec >= 0 && (a[1] & 1))
			virq_lapic_eoi(l);
		break;
	}
	case OP_EVENTS: {
		struct virq_lapic_events ev;

		/* With a policy, it alone takes the LAPIC's events (taking them
		 * behind its back would leave it holding a stale SIPI). */
		if (op_count >= OP_VCPU_COUNT) {
			checked_wakes(v, false, &w);
			break;
		}
		if (virq_lapic_take_events(l, &ev) & VIRQ_LAPIC_EV_EXTINT)
			(void)virq_vm_pic_intack(&vm);
		/* lapic.h: 1 or 2 NMIs with the flag, none without. */
		CHECK((ev.flags & VIRQ_LAPIC_EV_NMI)
			      ? ev.nmi_count >= 1 && ev.nmi_count <= VIRQ_LAPIC_MAX_NMI
			      : ev.nmi_count == 0);
		break;
	}
	case OP_SERVICE:
		(void)virq_vm_ioapic_service(&vm, 0, a[1] % 26);
		break;
	case OP_ROUTE: {
		struct virq_gsi_route r;

		memset(&r, 0, sizeof(r));
		r.ioapic = a[2] & 1 ? 0 : (a[2] & 2 ? 9 : VIRQ_VM_NO_ROUTE);
		r.pin = a[3] % 30;
		r.pic_irq = a[4] & 0x10 ? VIRQ_VM_NO_ROUTE : (a[4] & 0x1F);
		r.msi = a[5] & 1;
		r.msi_addr = 0xFEE00000ULL | ((uint64_t)a[6] << 12);
		r.msi_data = a[7];
		(void)virq_vm_set_gsi_route(&vm, a[1] % (NGSI + 1), &r);
		break;
	}
	case OP_DECIDE: {
		struct virq_vcpu_decision d;

		/* The guest's handler ends with an EOI (LAPIC or 8259). */
		if ((checked_decide(v, &w, &d) & VIRQ_VCPU_INTR) && (a[1] & 4)) {
			if (d.source == VIRQ_VCPU_SRC_LAPIC) {
				virq_lapic_eoi(l);
			} else {
				if (a[1] & 8)
					(void)virq_vm_pic_write(&vm, 0xA0, 0x20);
				(void)virq_vm_pic_write(&vm, 0x20, 0x20);
			}
		}
		break;
	}
	case OP_WAKES:
		checked_wakes(v, a[1] & 4, &w);
		break;
	case OP_VCPU_RESET:
		virq_vcpu_reset(&pol[v]);
		CHECK(pol[v].nmi_pending == 0 && pol[v].held == 0);
		m_drop(&sh[v]);
		check_shadow(v);
		break;
	case OP_QUEUE_EXC:
		op_queue_exc(v, a);
		break;
	case OP_REINJECT:
		op_reinject(v, a);
		break;
	case OP_NMI_UNBLOCK:
		virq_vcpu_nmi_unblocked(&pol[v]);
		sh[v].nmi_blocked = false;
		check_shadow(v);
		break;
	case OP_OPTIONS: {
		uint32_t o = a[1] & 7U;

		CHECK(virq_vcpu_set_options(&pol[v], o) == ((o & 4U) ? -VIRQ_EINVAL : 0));
		if (!(o & 4U)) {
			sh[v].options = o;
			if (!(o & VIRQ_VCPU_OPT_NMI_BLOCKING))
				sh[v].nmi_blocked = false;
		}
		check_shadow(v);
		break;
	}
	case OP_POLICY_SAVE:
		op_policy_save(v, a);
		break;
	case OP_LINT:
		CHECK(virq_lapic_set_lint(l, a[1] & 1, (a[1] >> 1) & 1) == 0);
		break;
	default:
		CHECK(0);
	}
}

/* Set in wide mode: the two "WIDE" bytes, with bit 16 for "on". */
#define WIDE_ON 0x10000U
#define WIDE_PAIRS 0x4000U

static void setup(uint8_t hdr, uint32_t wide)
{
	struct virq_vm_config cfg;
	struct virq_ioapic_config icfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = nv;
	cfg.map_entries = wide ? ((wide >> 12 & 3U) + 1U) * 0x100U : NMAP;
	cfg.nr_gsis = NGSI;
	cfg.lowest_vector_hashing = hdr & 1;
	cfg.x2apic_broadcast_quirk = (hdr >> 1) & 1;
	cfg.msi_flags = (hdr >> 2) & 1 ? VIRQ_MSI_EXT_DEST : 0;
	memset(vcpus, 0, sizeof(vcpus));
	lock_depth = 0;
	ipi_depth = false;
	CHECK(virq_vm_init(&vm, &cfg, vcpus, map, map_key, gsis, &vm_ops, NULL) == 0);
	/* Attached before the vCPUs exist, so creation fills it too. */
	CHECK(virq_ipiv_init(&ipiv, ipiv_table, NMAP_WIDE_MAX, ipiv_pids, nv) == 0);
	for (unsigned i = 0; i < nv; i++)
		CHECK(virq_ipiv_set_pid(&ipiv, i, 0x1000U + 64U * i) == 0);
	CHECK(virq_vm_attach_ipiv(&vm, &ipiv) == 0);
	for (unsigned i = 0; i < nv; i++) {
		memset(&lcfg[i], 0, sizeof(lcfg[i]));
		lcfg[i].size = sizeof(lcfg[i]);
		/* Spread 0 gives IDs 0-5; others reach past the map and collide. */
		lcfg[i].apic_id = (i * (1U + (hdr >> 3))) & 0xFFU;
		if (wide & WIDE_PAIRS)
			lcfg[i].apic_id = ((i >> 1) * (1U + (hdr >> 3))) & 0xFFU;
		if (wide)
			lcfg[i].apic_id |= (wide >> (2 * (i % NV)) & 3U) << 8;
		lcfg[i].bsp = i == 0;
		lcfg[i].x2apic = true;
		lcfg[i].xapic_id_writable = true;
		lcfg[i].directed_eoi = true;
		idx[i] = i;
		CHECK(virq_lapic_init(&apics[i], pages[i], &lcfg[i], &lapic_ops, &idx[i]) == 0);
		CHECK(virq_vm_set_vcpu(&vm, i, &apics[i]) == 0);
		CHECK(virq_vcpu_init(&pol[i], &apics[i], &vm) == 0);
	}
	memset(sh, 0, sizeof(sh));
	memset(&icfg, 0, sizeof(icfg));
	icfg.size = sizeof(icfg);
	icfg.storm_limit = 8;
	CHECK(virq_vm_attach_ioapic(&vm, &ioapic, &icfg, 0, 0xF0) == 0);
	CHECK(virq_vm_attach_pic(&vm, &pic, 0) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned op_count = OP_COUNT;
	uint32_t wide = 0;
	uint8_t rec[9];

	nv = NV;
	xlog_mode = false;
	if (size >= sizeof(xlog_magic) && memcmp(data, xlog_magic, sizeof(xlog_magic)) == 0) {
		xlog_mode = true;
		nv = NV_MAX;
		data += sizeof(xlog_magic);
		size -= sizeof(xlog_magic);
	}
	if (size >= sizeof(many_magic) && memcmp(data, many_magic, sizeof(many_magic)) == 0) {
		nv = NV_MAX;
		data += sizeof(many_magic);
		size -= sizeof(many_magic);
	}
	if (size >= sizeof(wide_magic) + 2 && memcmp(data, wide_magic, sizeof(wide_magic)) == 0) {
		wide = WIDE_ON | data[4] | (uint32_t)data[5] << 8;
		data += sizeof(wide_magic) + 2;
		size -= sizeof(wide_magic) + 2;
	}
	exc_mode = false;
	if (size >= sizeof(vcpu_magic) && memcmp(data, vcpu_magic, sizeof(vcpu_magic)) == 0) {
		op_count = OP_VCPU_COUNT;
		data += sizeof(vcpu_magic);
		size -= sizeof(vcpu_magic);
	} else if (size >= sizeof(excp_magic) &&
		   memcmp(data, excp_magic, sizeof(excp_magic)) == 0) {
		op_count = OP_EXC_COUNT;
		exc_mode = true;
		data += sizeof(excp_magic);
		size -= sizeof(excp_magic);
	}
	setup(size ? data[0] : 0, wide);
	check_all();
	for (size_t p = 1; p < size; p += sizeof(rec)) {
		memset(rec, 0, sizeof(rec));
		memcpy(rec, data + p, size - p < sizeof(rec) ? size - p : sizeof(rec));
		do_op(rec[0], rec + 1, op_count);
		check_all();
	}
	return 0;
}
