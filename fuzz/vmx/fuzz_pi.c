/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target (fuzz-vmx-pi): the library's posting protocol
 * (<virq/pi.h>) meets the executable model of the hardware
 * (tests/vmx/model). One posted-interrupt descriptor, written by the
 * library, is the PID of a model processor in VMX non-root operation
 * (virtual-interrupt delivery, posted-interrupt processing, x2APIC
 * virtualization) and the PID a model IOMMU posts into through a
 * posted-format IRTE: the model's memory is the bytes that hold the
 * library's descriptor, read through the model's own accessors.
 *
 * Other CPUs are simulated by interleaving whole operations (a post cannot
 * be split into its locked steps here; tests/vmx/test_pi_stress.c runs
 * real threads). Input: byte 0: bit 0 the host's local APICs in x2APIC
 * mode (else xAPIC, NDST in bits 15:8), bits 7:4 pick NV = 0xE0 + that;
 * bytes 1-4 NDST. Then records of one op byte (modulo OP_COUNT) and three
 * argument bytes a[0..2]; bytes past the end read 0. Vectors are
 * 32 + a0 % 224.
 *   OP_POST     another CPU: virq_pi_post(vector, urgent = a1 bit 0); a
 *               true return sends the notification (NV to NDST)
 *   OP_VTD      the model's IOMMU posts vector through a posted IRTE (URG
 *               a1 bit 0) pointing at the descriptor
 *   OP_SN       the owner: virq_pi_set_sn(a0 bit 0); a true return is its
 *               self-notification
 *   OP_NOTIFY   the oldest notification in flight reaches the model's
 *               processor: posted-interrupt processing in non-root
 *               operation, a host interrupt (the wakeup of the halted or
 *               preempted vCPU) in root operation
 *   OP_BOUNDARY an instruction boundary in the guest (virtual-interrupt
 *               delivery when one is recognized)
 *   OP_EOI      the guest writes the x2APIC EOI MSR (EOI virtualization)
 *   OP_EXIT     VM exit: the vCPU is in root operation (halted, blocked or
 *               preempted) until OP_ENTER
 *   OP_ENTER    the owner's entry path: PIR -> VIRR/RVI sync with
 *               virq_pi_harvest(), then VM entry
 *   OP_NDST     the owner re-targets notifications to NDST a0 | a1 << 8
 *               (virq_pi_set_notification(): a vCPU moved to another CPU)
 *
 * Invariants, checked after every op against a shadow:
 *  - conservation: a shadow of PIR (a post sets its bit; a post that
 *    finds it set merges by design) and of VIRR (posted-interrupt
 *    processing and the owner's sync fold PIR into it, a bit already
 *    there merging; a delivery clears it) equals the PID's PIR, the
 *    harvest the owner gets and the model's VIRR bit for bit: nothing
 *    lost, nothing invented; a delivery of a vector not in the shadow VIRR
 *    is a duplicate, and each delivery is the highest VIRR vector;
 *  - a notification only from the agent that turned ON from 0 to 1: the
 *    model's IOMMU by VT-d's rule (!ON && (!SN || URG)), the library by its
 *    documented one (also !PIR[v] before the post), both computed from the
 *    bytes before the op; they differ only for a non-urgent post of a
 *    vector already pending with SN and ON clear (see post());
 *    never one while ON was already set; the model's notification carries
 *    the NV and NDST the library wrote, in the host's format;
 *  - no stranded post: with SN clear a non-empty PIR has ON set, and ON
 *    set means a notification is in flight or reached the halted vCPU
 *    since its last sync (so a blocked vCPU is always woken when something
 *    was posted); clearing SN notifies exactly when PIR is non-empty and
 *    ON was clear;
 *  - at the end, after SN is cleared, every notification delivered and the
 *    guest run to idle: deliveries == posts that found PIR clear - merges
 *    into VIRR (every post delivered exactly once), the PID empty.
 * A failed check prints the line and traps. With FUZZ_PI_TRACE=1 in the
 * environment every op is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virq/pi.h>

#include "../../tests/vmx/model/model.h"

enum {
	OP_POST,
	OP_VTD,
	OP_SN,
	OP_NOTIFY,
	OP_BOUNDARY,
	OP_EOI,
	OP_EXIT,
	OP_ENTER,
	OP_NDST,
	/* Migrations, blocks and preemption through the glue's VT-x
	 * posted-interrupt calls: fuzz_pi_glue.c. */
	OP_COUNT
};

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_pi.c:%d: %s\n", __LINE__, #c);                       \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

#define PID 64U
#define IRTE_SID 0x10U
#define MAX_FLIGHT 64U

struct box {
	struct virq_pi_desc d[4]; /* the library's descriptor is d[1], at byte PID */
};

static struct box B;

struct fz {
	struct virq_pi_desc *pi;
	struct vmx_model_sys sys;
	struct vmx_model_cpu cpu;
	struct vmx_model_log iommu;
	uint8_t nv;
	uint32_t ndst;
	bool pir[256];        /* shadow of the PID's PIR */
	bool virr[256];       /* shadow of the model's VIRR */
	unsigned in_flight;   /* notifications sent, not yet arrived */
	bool host_seen;       /* one arrived in root operation since the last sync */
	unsigned long posts;  /* posts that found their PIR bit clear */
	unsigned long merged; /* PIR bits folded into a VIRR bit already set */
	unsigned long delivered;
};

static struct fz F;

static bool pir_any(void)
{
	for (unsigned v = 0; v < 256; v++)
		if (vmx_model_pid_pir(&F.sys, PID, v))
			return true;
	return false;
}

static uint32_t dest_of(uint32_t ndst)
{
	return F.sys.host_x2apic ? ndst : (ndst >> 8) & 0xFFU;
}

static void check_all(void)
{
	bool on = vmx_model_pid_on(&F.sys, PID);
	bool sn = vmx_model_pid_sn(&F.sys, PID);
	bool any = pir_any();

	for (unsigned v = 0; v < 256; v++) {
		CHECK(F.pir[v] == vmx_model_pid_pir(&F.sys, PID, v));
		CHECK(F.virr[v] == vmx_model_bit(&F.cpu, VMX_MODEL_VIRR, v));
	}
	if (any && !sn)
		CHECK(on);
	if (on)
		CHECK(F.in_flight > 0 || F.host_seen);
	/* The library and the model read the same descriptor. */
	CHECK(virq_pi_pending(F.pi) == (on || any));
	CHECK(vmx_model_pid_nv(&F.sys, PID) == F.nv);
	CHECK(vmx_model_pid_ndst(&F.sys, PID) == F.ndst);
	CHECK(F.cpu.log.lost == 0 && F.iommu.lost == 0);
}

static void sent(void)
{
	CHECK(F.in_flight < MAX_FLIGHT);
	F.in_flight++;
}

static void post(uint8_t v, bool urgent, bool vtd)
{
	bool pir = vmx_model_pid_pir(&F.sys, PID, v);
	bool on = vmx_model_pid_on(&F.sys, PID);
	bool sn = vmx_model_pid_sn(&F.sys, PID);
	/* VT-d 5.2.3 "Interrupt-Posting Hardware Operation": PIR[v] = 1, then
	 * a notification iff ON was clear and (URG or SN clear). */
	bool hw = !on && (!sn || urgent);
	/* <virq/pi.h>: a non-urgent post of a vector already pending does
	 * not notify either (KVM's software sender returns there too): the
	 * poster that set the bit notifies, or the receiver is taking it.
	 * The two differ only there (SN and ON clear, PIR[v] set), where the
	 * bit is seen without a second notification. */
	bool expect = vtd ? hw : (hw && (urgent || !pir));
	bool got;

	if (vtd) {
		uint64_t lo = vmx_model_irte_lo(v, urgent, PID);
		uint64_t hi = vmx_model_irte_hi(IRTE_SID, PID);

		F.iommu.n = 0;
		CHECK(vmx_model_vtd_post(&F.sys, &F.iommu, lo, hi) == VMX_MODEL_VTD_POSTED);
		got = F.iommu.n == 1;
		CHECK(F.iommu.n <= 1);
		if (got) {
			CHECK(F.iommu.ev[0].kind == VMX_MODEL_EV_NOTIFY);
			CHECK(F.iommu.ev[0].a == F.nv);
			CHECK(F.iommu.ev[0].b == dest_of(F.ndst));
			CHECK(F.iommu.ev[0].c == F.ndst);
		}
	} else {
		got = virq_pi_post(F.pi, v, urgent);
	}
	/* Each agent follows its rule, read from the bytes before the post;
	 * a notification only where ON was clear before. */
	CHECK(got == expect);
	CHECK(vtd || got == hw || (pir && !urgent && !sn && !on));
	CHECK(!got || !on);
	CHECK(vmx_model_pid_pir(&F.sys, PID, v));
	CHECK(vmx_model_pid_on(&F.sys, PID) == (on || got));
	if (got)
		sent();
	if (!F.pir[v]) {
		F.pir[v] = true;
		F.posts++;
	}
}

static void set_sn(bool suppress)
{
	bool on = vmx_model_pid_on(&F.sys, PID);
	bool any = pir_any();
	bool got = virq_pi_set_sn(F.pi, suppress);

	CHECK(vmx_model_pid_sn(&F.sys, PID) == suppress);
	CHECK(got == (!suppress && any && !on));
	CHECK(vmx_model_pid_on(&F.sys, PID) == (on || got));
	if (got)
		sent();
}

/* PIR into VIRR, as the processor's processing and the owner's sync do:
 * a vector already in VIRR merges (one delivery for both). */
static void shadow_fold(void)
{
	for (unsigned v = 0; v < 256; v++) {
		if (!F.pir[v])
			continue;
		if (F.virr[v])
			F.merged++;
		F.virr[v] = true;
		F.pir[v] = false;
	}
}

static void notify_arrives(void)
{
	if (!F.in_flight)
		return;
	F.in_flight--;
	F.cpu.log.n = 0;
	CHECK(vmx_model_ext_intr(&F.cpu, F.nv) == 0);
	CHECK(F.cpu.log.n == 1);
	if (F.cpu.in_guest) {
		/* Posted-interrupt processing: ON cleared, PIR emptied. */
		CHECK(F.cpu.log.ev[0].kind == VMX_MODEL_EV_LAPIC_EOI);
		shadow_fold();
		CHECK(!vmx_model_pid_on(&F.sys, PID));
		CHECK(!pir_any());
	} else {
		CHECK(F.cpu.log.ev[0].kind == VMX_MODEL_EV_HOST_INTR);
		CHECK(F.cpu.log.ev[0].a == F.nv);
		F.host_seen = true; /* the host wakes the vCPU */
	}
}

static bool boundary(void)
{
	int high = vmx_model_highest(&F.cpu, VMX_MODEL_VIRR);
	unsigned v;

	if (!F.cpu.in_guest)
		return false;
	F.cpu.log.n = 0;
	if (vmx_model_boundary(&F.cpu) != 1) {
		CHECK(F.cpu.log.n == 0);
		return false;
	}
	CHECK(F.cpu.log.n == 1 && F.cpu.log.ev[0].kind == VMX_MODEL_EV_DELIVER);
	v = F.cpu.log.ev[0].a;
	CHECK((int)v == high);
	CHECK(F.virr[v]); /* else delivered twice */
	F.virr[v] = false;
	F.delivered++;
	return true;
}

static bool eoi(void)
{
	if (!F.cpu.in_guest || vmx_model_highest(&F.cpu, VMX_MODEL_VISR) < 0)
		return false;
	F.cpu.log.n = 0;
	CHECK(vmx_model_wrmsr(&F.cpu, VMX_MODEL_MSR_EOI, 0) == 0);
	CHECK(F.cpu.log.n == 0);
	return true;
}

static void enter(void)
{
	uint64_t pir[4];
	int high = -1;
	bool any, want = false;

	if (F.cpu.in_guest)
		return;
	/* The owner's sync before every entry: clears ON, takes PIR, which
	 * must be exactly the shadow's. */
	any = virq_pi_harvest(F.pi, pir);

	for (unsigned v = 0; v < 256; v++) {
		CHECK(F.pir[v] == ((pir[v / 64] >> (v % 64)) & 1U));
		want |= F.pir[v];
		if (!F.pir[v])
			continue;
		vmx_model_set_bit(&F.cpu, VMX_MODEL_VIRR, v, true);
		high = (int)v;
	}
	CHECK(any == want);
	shadow_fold();
	if (high > (int)F.cpu.rvi)
		F.cpu.rvi = (uint8_t)high;
	CHECK(!vmx_model_pid_on(&F.sys, PID));
	F.host_seen = false;
	CHECK(vmx_model_vmentry(&F.cpu) == 0);
	CHECK(F.cpu.in_guest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int trace = -1;
	size_t pos;
	unsigned spin;

	if (trace < 0) {
		const char *t = getenv("FUZZ_PI_TRACE");

		trace = t && t[0] == '1';
	}

	memset(&B, 0, sizeof(B));
	memset(&F, 0, sizeof(F));
	F.pi = &B.d[1];
	F.sys.mem = (uint8_t *)&B;
	F.sys.size = sizeof(B);
	F.sys.maxphyaddr = 46;
	F.sys.host_x2apic = size > 0 && (data[0] & 1U);
	F.nv = (uint8_t)(0xE0U + (size > 0 ? data[0] >> 4 : 0U));
	F.ndst = 0;
	for (unsigned i = 1; i < 5 && i < size; i++)
		F.ndst |= (uint32_t)data[i] << (8 * (i - 1));
	virq_pi_set_notification(F.pi, F.nv, F.ndst);

	vmx_model_init(&F.cpu, &F.sys);
	F.cpu.vid = true;
	F.cpu.x2apic_virt = true;
	F.cpu.posted = true;
	F.cpu.nv = F.nv;
	F.cpu.pid_addr = PID;
	F.cpu.rflags_if = true;
	CHECK(vmx_model_vmentry(&F.cpu) == 0);
	check_all();

	for (pos = 5; pos < size; pos += 4) {
		uint8_t op = data[pos];
		uint8_t a[3] = { 0, 0, 0 };

		for (unsigned i = 0; i < 3 && pos + 1 + i < size; i++)
			a[i] = data[pos + 1 + i];
		if (trace)
			fprintf(stderr, "op %u a %02x %02x %02x | ON %d SN %d guest %d flight %u\n",
				op % OP_COUNT, a[0], a[1], a[2], vmx_model_pid_on(&F.sys, PID),
				vmx_model_pid_sn(&F.sys, PID), F.cpu.in_guest, F.in_flight);
		switch (op % OP_COUNT) {
		case OP_POST:
			post((uint8_t)(32U + a[0] % 224U), a[1] & 1U, false);
			break;
		case OP_VTD:
			post((uint8_t)(32U + a[0] % 224U), a[1] & 1U, true);
			break;
		case OP_SN:
			set_sn(a[0] & 1U);
			break;
		case OP_NOTIFY:
			notify_arrives();
			break;
		case OP_BOUNDARY:
			boundary();
			break;
		case OP_EOI:
			eoi();
			break;
		case OP_EXIT:
			F.cpu.in_guest = false;
			break;
		case OP_ENTER:
			enter();
			break;
		case OP_NDST:
			F.ndst = (uint32_t)a[0] | (uint32_t)a[1] << 8;
			virq_pi_set_notification(F.pi, F.nv, F.ndst);
			break;
		default:
			break;
		}
		check_all();
	}

	/* Drain: SN cleared with the owner's rule, every notification
	 * delivered, the guest run to idle. */
	if (vmx_model_pid_sn(&F.sys, PID))
		set_sn(false);
	enter();
	for (spin = 0; spin < 4 * 256 + MAX_FLIGHT; spin++) {
		if (F.in_flight) {
			notify_arrives();
		} else if (!boundary() && !eoi()) {
			break;
		}
		check_all();
	}
	CHECK(spin < 4 * 256 + MAX_FLIGHT);
	CHECK(F.in_flight == 0);
	CHECK(F.delivered == F.posts - F.merged);
	for (unsigned v = 0; v < 256; v++)
		CHECK(!F.pir[v] && !F.virr[v]);
	CHECK(!virq_pi_pending(F.pi));
	CHECK(vmx_model_highest(&F.cpu, VMX_MODEL_VIRR) < 0);
	CHECK(vmx_model_highest(&F.cpu, VMX_MODEL_VISR) < 0);
	return 0;
}
