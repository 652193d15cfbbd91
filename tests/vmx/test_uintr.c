/* SPDX-License-Identifier: MIT */
/*
 * User interrupts, closed loop: the library builds the UPIDs and UITT
 * entries (<virq/uintr.h>) in the model's memory, the model's processors
 * (tests/vmx/model) execute SENDUIPI, posted-interrupt processing,
 * virtual-interrupt delivery, user-interrupt notification processing and
 * delivery on those bytes, and the library's software SENDUIPI and
 * notification processing run on a twin copy of the same memory. Every
 * scenario pins the UPID bytes, the notifications (vector, destination),
 * the exits, UIRR and the user vectors delivered, in order, once, and
 * requires the library's twin to end with the same bytes and the same
 * notification decisions as the model.
 *
 * Layout of the model memory (linear = physical, one to one):
 * UPID of the receiver at 0x1000, the sender's UITT at 0x2000, the
 * receiving vCPU's posted-interrupt descriptor at 0x3000, the sender's
 * PID-pointer table (IPI virtualization) at 0x4000.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "virq_test.h"

#include <virq/pi.h>
#include <virq/uintr.h>

#include "model.h"

#define MEM_SIZE 0x10000U
#define UPID 0x1000U
#define UITT 0x2000U
#define PID_R 0x3000U
#define PID_TABLE 0x4000U
#define NV 0xF2U    /* the receiving vCPU's posted-interrupt notification vector */
#define UINV 0xECU  /* the receiver's user-interrupt notification vector */
#define WAKEV 0xEBU /* the guest OS's wakeup vector for a blocked receiver task */
#define R_VID 1U    /* the receiver's virtual APIC ID */
#define R_PID 5U    /* the physical APIC ID the receiving vCPU runs on */

static _Alignas(4096) uint8_t mem[MEM_SIZE];  /* what the model executes on */
static _Alignas(4096) uint8_t twin[MEM_SIZE]; /* what the library's software SENDUIPI runs on */

struct fx {
	struct vmx_model_sys sys;
	struct vmx_model_cpu s; /* the sender */
	struct vmx_model_cpu r; /* the receiver */
};

static struct virq_uintr_upid *upid_at(uint8_t *base)
{
	return (struct virq_uintr_upid *)(void *)(base + UPID);
}

static struct virq_uintr_uitte *uitt_at(uint8_t *base)
{
	return (struct virq_uintr_uitte *)(void *)(base + UITT);
}

static struct virq_pi_desc *pid_r(void)
{
	return (struct virq_pi_desc *)(void *)(mem + PID_R);
}

/* virq_uintr_map_fn over one of the two memories. */
static struct virq_uintr_upid *map_twin(void *ctx, uint64_t addr)
{
	uint8_t *base = ctx;

	if (addr > MEM_SIZE - sizeof(struct virq_uintr_upid))
		return NULL;
	return (struct virq_uintr_upid *)(void *)(base + addr);
}

/*
 * The library builds everything: UPID (NV = UINV, NDST = the receiver's
 * virtual APIC ID in x2APIC format), UITT entries 0 (UV 5) and 1 (UV 40),
 * the receiving vCPU's PID (NV, NDST = its physical APIC ID). The
 * PID-pointer table entry 1 -> PID_R is written through the model (it is
 * the IPI-virtualization feature's table, not this one's).
 */
static void fx_init(struct fx *f, bool ipiv, bool x2apic)
{
	memset(mem, 0, sizeof(mem));
	f->sys = (struct vmx_model_sys){ mem, MEM_SIZE, 46, true };
	assert_int_equal(virq_uintr_upid_init(upid_at(mem), UINV, x2apic ? R_VID : R_VID << 8), 0);
	assert_int_equal(virq_uintr_uitte_set(&uitt_at(mem)[0], 5, UPID), 0);
	assert_int_equal(virq_uintr_uitte_set(&uitt_at(mem)[1], 40, UPID), 0);
	virq_pi_set_notification(pid_r(), NV, R_PID);
	vmx_model_wr64(&f->sys, PID_TABLE + 8U * R_VID, PID_R | 1U);

	vmx_model_init(&f->s, &f->sys);
	f->s.vid = true;
	f->s.x2apic_virt = x2apic;
	f->s.ipiv = ipiv;
	f->s.pid_table = PID_TABLE;
	f->s.last_pid_index = 3;
	f->s.cr4_uintr = f->s.lma = true;
	f->s.cpl = 3;
	f->s.uittsz = 1;
	f->s.uintr_tt = UITT | VIRQ_UINTR_TT_VALID;

	vmx_model_init(&f->r, &f->sys);
	f->r.vid = f->r.posted = true;
	f->r.x2apic_virt = x2apic;
	f->r.nv = NV;
	f->r.pid_addr = PID_R;
	f->r.rflags_if = true;
	f->r.cr4_uintr = f->r.lma = true;
	f->r.cpl = 3;
	f->r.uif = true;
	f->r.uinv = UINV;
	f->r.upid_addr = UPID;

	memcpy(twin, mem, sizeof(mem));
}

static uint64_t upid_ctl(uint8_t nv, uint32_t ndst, uint64_t bits)
{
	return bits | (uint64_t)nv << VIRQ_UINTR_UPID_NV_SHIFT |
	       (uint64_t)ndst << VIRQ_UINTR_UPID_NDST_SHIFT;
}

/* The UPID as the model reads it equals @ctl and @pir, and the twin's UPID
 * (the library's software SENDUIPI) has the same 16 bytes. */
static void check_upid(struct fx *f, uint64_t ctl, uint64_t pir)
{
	assert_int_equal(vmx_model_rd64(&f->sys, UPID), ctl);
	assert_int_equal(vmx_model_upid_pir(&f->sys, UPID), pir);
	assert_int_equal(vmx_model_upid_on(&f->sys, UPID), (ctl & VIRQ_UINTR_UPID_ON) != 0);
	assert_int_equal(vmx_model_upid_sn(&f->sys, UPID), (ctl & VIRQ_UINTR_UPID_SN) != 0);
	assert_memory_equal(mem + UPID, twin + UPID, sizeof(struct virq_uintr_upid));
}

static void check_ev(const struct vmx_model_cpu *c, unsigned i, enum vmx_model_ev_kind kind,
		     uint32_t a, uint64_t b)
{
	assert_true(i < c->log.n);
	assert_int_equal(c->log.ev[i].kind, kind);
	assert_int_equal(c->log.ev[i].a, a);
	assert_int_equal(c->log.ev[i].b, b);
}

/* SENDUIPI @index on the model sender and, in software, on the twin: the
 * model's notification (an event in the sender's log, or an APIC-write
 * exit) happens exactly when the library says 1. Returns the library's
 * result; *ctl gets its control word when it is 1. */
static int send_both(struct fx *f, uint64_t index, uint64_t *ctl)
{
	unsigned n0 = f->s.log.n;
	int rc;

	if (!f->s.in_guest)
		assert_int_equal(vmx_model_vmentry(&f->s), 0);
	assert_int_equal(vmx_model_senduipi(&f->s, index), 0);
	rc = virq_uintr_senduipi(uitt_at(twin), f->s.uittsz, index, map_twin, twin, ctl);
	assert_true(rc == 0 || rc == 1);
	assert_int_equal(f->s.log.n - n0, (unsigned)rc);
	if (rc == 1)
		assert_int_not_equal(f->s.log.ev[n0].kind, VMX_MODEL_EV_FAULT);
	return rc;
}

/* ---- layouts: library builders against the model's accessors ---- */

static void test_layouts(void **state)
{
	struct vmx_model_sys sys = { mem, MEM_SIZE, 46, true };
	struct virq_uintr_uitte *e = uitt_at(mem);
	uint8_t before[16], uv = 0xFF;
	uint64_t addr = 0;
	(void)state;

	memset(mem, 0xA5, sizeof(mem));
	/* UPID: NV byte 2, NDST bytes 7:4, PIR bytes 15:8; the model's own
	 * initialiser writes the same 16 bytes. */
	assert_int_equal(virq_uintr_upid_init(upid_at(mem), 0xEC, 0x12345678U), 0);
	assert_int_equal(vmx_model_rd64(&sys, UPID), 0x1234567800EC0000ULL);
	assert_int_equal(vmx_model_upid_pir(&sys, UPID), 0);
	assert_false(vmx_model_upid_on(&sys, UPID));
	assert_false(vmx_model_upid_sn(&sys, UPID));
	vmx_model_upid_init(&sys, UPID + 0x40U, 0xEC, 0x12345678U);
	assert_memory_equal(mem + UPID, mem + UPID + 0x40U, 16);
	assert_int_equal(virq_uintr_upid_set_sn(upid_at(mem), true), 0);
	assert_true(vmx_model_upid_sn(&sys, UPID));
	assert_false(vmx_model_upid_on(&sys, UPID));
	assert_int_equal(virq_uintr_upid_set_notification(upid_at(mem), 0x21, 0x0300U), 0);
	assert_int_equal(vmx_model_rd64(&sys, UPID), 0x0000030000210002ULL);
	assert_int_equal(virq_uintr_upid_init((struct virq_uintr_upid *)(void *)(mem + UPID + 16U),
					      1, 1),
			 -VIRQ_EALIGN);
	assert_int_equal(virq_uintr_upid_init(NULL, 1, 1), -VIRQ_EINVAL);

	/* UITT entries: byte-for-byte what the model writes for the same
	 * (V, UV, UPIDADDR), and read back as SENDUIPI reads them. */
	for (unsigned uvv = 0; uvv < 64U; uvv += 21U) {
		uint64_t a = 0x00007FFFFFFFFFC0ULL - uvv * 0x40ULL;

		assert_int_equal(virq_uintr_uitte_set(&e[0], (uint8_t)uvv, a), 0);
		vmx_model_uitte_set(&sys, UITT, 1, true, (uint8_t)uvv, a);
		assert_memory_equal(&e[0], &e[1], 16);
		assert_int_equal(e[0].control, 1ULL | (uint64_t)uvv << 8);
		assert_int_equal(virq_uintr_uitte_read(e, 1, 1, &uv, &addr), 0);
		assert_int_equal(uv, uvv);
		assert_int_equal(addr, a);
	}
	/* Bad input: nothing written. */
	memcpy(before, &e[0], 16);
	assert_int_equal(virq_uintr_uitte_set(&e[0], 64, 0x1000), -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_uitte_set(&e[0], 3, 0x1020), -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_uitte_set(NULL, 3, 0x1000), -VIRQ_EINVAL);
	assert_memory_equal(before, &e[0], 16);

	/* SENDUIPI's #GP(0) cases on the read: index > UITTSZ, V = 0, each
	 * reserved bit (7:1, 15:14, 63:16 of the first qword, 69:64). */
	uv = 0x77;
	addr = 0x77;
	assert_int_equal(virq_uintr_uitte_read(e, 0, 1, &uv, &addr), -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_uitte_clear(&e[1]), 0);
	assert_int_equal(virq_uintr_uitte_read(e, 1, 1, &uv, &addr), -VIRQ_EINVAL);
	for (unsigned b = 1; b < 64U; b++) {
		int want = (b >= 8U && b <= 13U) ? 0 : -VIRQ_EINVAL;

		assert_int_equal(virq_uintr_uitte_set(&e[1], 0, 0x1000), 0);
		e[1].control |= 1ULL << b;
		assert_int_equal(virq_uintr_uitte_read(e, 1, 1, &uv, &addr), want);
	}
	for (unsigned b = 0; b < 6U; b++) {
		assert_int_equal(virq_uintr_uitte_set(&e[1], 0, 0x1000), 0);
		e[1].upid_addr |= 1ULL << b;
		uv = 0x77;
		addr = 0x77;
		assert_int_equal(virq_uintr_uitte_read(e, 1, 1, &uv, &addr), -VIRQ_EINVAL);
		assert_int_equal(uv, 0x77);
		assert_int_equal(addr, 0x77);
	}
}

/* ---- SENDUIPI to a running receiver ---- */

/*
 * x2APIC, IPI virtualization: the sender's SENDUIPI posts UV 5 into the
 * library-built UPID (PIR bit 5, ON), and the notification (UINV to virtual
 * APIC ID 1) is virtualized into the receiving vCPU's PID (PIR[ECH], ON,
 * a physical notification NV = F2H to APIC ID 5). The second SENDUIPI (UV
 * 40) finds ON set: PIR only, no notification. The receiver processes the
 * PID, delivers ECH as a user-interrupt notification (UIRR = bits 5 and
 * 40, UPID ON and PIR cleared) and then the user vectors 40 and 5, once
 * each, highest first.
 */
static void test_running(void **state)
{
	struct fx f;
	uint64_t ctl = 0, uirr_twin = 0;
	(void)state;

	fx_init(&f, true, true);
	assert_int_equal(vmx_model_vmentry(&f.r), 0);

	assert_int_equal(send_both(&f, 0, &ctl), 1);
	assert_int_equal(ctl, upid_ctl(UINV, R_VID, VIRQ_UINTR_UPID_ON));
	assert_int_equal(virq_uintr_notify_dest(ctl, true), R_VID);
	check_upid(&f, upid_ctl(UINV, R_VID, VIRQ_UINTR_UPID_ON), 1ULL << 5);
	assert_int_equal(f.s.log.n, 1);
	check_ev(&f.s, 0, VMX_MODEL_EV_NOTIFY, NV, R_PID);
	/* The receiving vCPU's PID, read through the library. */
	assert_int_equal(pid_r()->pir[UINV / 64U], 1ULL << (UINV % 64U));
	assert_int_equal(pid_r()->control & VIRQ_PI_CTRL_ON, VIRQ_PI_CTRL_ON);

	assert_int_equal(send_both(&f, 1, &ctl), 0);
	check_upid(&f, upid_ctl(UINV, R_VID, VIRQ_UINTR_UPID_ON), 1ULL << 5 | 1ULL << 40);
	assert_int_equal(f.s.log.n, 1);

	/* The receiver: the physical notification, then three boundaries. */
	assert_int_equal(vmx_model_ext_intr(&f.r, NV), 0);
	assert_false(virq_pi_pending(pid_r()));
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	assert_int_equal(f.r.uirr, 1ULL << 5 | 1ULL << 40);
	/* The library's notification processing on the twin: same UIRR,
	 * same UPID bytes (ON and PIR clear). */
	assert_int_equal(virq_uintr_notify_process(upid_at(twin), &uirr_twin), 1);
	assert_int_equal(uirr_twin, f.r.uirr);
	check_upid(&f, upid_ctl(UINV, R_VID, 0), 0);

	assert_int_equal(vmx_model_boundary(&f.r), 1);
	f.r.uif = true; /* the handler's UIRET */
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	f.r.uif = true;
	assert_int_equal(vmx_model_boundary(&f.r), 0);
	assert_int_equal(f.r.uirr, 0);
	assert_int_equal(f.r.log.n, 4);
	check_ev(&f.r, 0, VMX_MODEL_EV_LAPIC_EOI, 0, 0);
	check_ev(&f.r, 1, VMX_MODEL_EV_UNOTIFY, UINV, 0);
	check_ev(&f.r, 2, VMX_MODEL_EV_UINTR, 40, 0);
	check_ev(&f.r, 3, VMX_MODEL_EV_UINTR, 5, 0);

	/* A third SENDUIPI after processing notifies again. */
	assert_int_equal(send_both(&f, 0, &ctl), 1);
	check_ev(&f.s, 1, VMX_MODEL_EV_NOTIFY, NV, R_PID);
	check_upid(&f, upid_ctl(UINV, R_VID, VIRQ_UINTR_UPID_ON), 1ULL << 5);
}

/*
 * xAPIC, no IPI virtualization: the notification becomes an APIC-write
 * exit with the ICR image VICR_HI = NDST[15:8] << 24, VICR_LO = NV. The
 * library's software SENDUIPI gives the same vector and destination
 * (virq_uintr_notify_dest() in xAPIC format); the hypervisor then posts
 * the vector into the receiving vCPU's PID with virq_pi_post(), which asks
 * for exactly one notification, and the receiver ends with user vector 5
 * delivered once.
 */
static void test_running_exit_path(void **state)
{
	struct fx f;
	uint64_t ctl = 0;
	(void)state;

	fx_init(&f, false, false);
	assert_int_equal(vmx_model_vmentry(&f.r), 0);
	assert_int_equal(send_both(&f, 0, &ctl), 1);
	check_ev(&f.s, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, VMX_MODEL_VICR_LO);
	assert_int_equal(vmx_model_reg(&f.s, VMX_MODEL_VICR_LO), UINV);
	assert_int_equal(vmx_model_reg(&f.s, VMX_MODEL_VICR_HI), R_VID << 24);
	assert_int_equal((ctl & VIRQ_UINTR_UPID_NV_MASK) >> VIRQ_UINTR_UPID_NV_SHIFT, UINV);
	assert_int_equal(virq_uintr_notify_dest(ctl, false), R_VID);
	check_upid(&f, upid_ctl(UINV, R_VID << 8, VIRQ_UINTR_UPID_ON), 1ULL << 5);

	/* The hypervisor emulates the ICR write: fixed IPI, vector UINV, to
	 * the vCPU with APIC ID 1. */
	assert_true(virq_pi_post(pid_r(), (uint8_t)vmx_model_reg(&f.s, VMX_MODEL_VICR_LO), false));
	assert_false(virq_pi_post(pid_r(), UINV, false));
	assert_int_equal(vmx_model_ext_intr(&f.r, NV), 0);
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	assert_int_equal(vmx_model_boundary(&f.r), 0);
	assert_int_equal(f.r.log.n, 3);
	check_ev(&f.r, 1, VMX_MODEL_EV_UNOTIFY, UINV, 0);
	check_ev(&f.r, 2, VMX_MODEL_EV_UINTR, 5, 0);
	assert_int_equal(vmx_model_rd64(&f.sys, UPID), upid_ctl(UINV, R_VID << 8, 0));
	assert_int_equal(vmx_model_upid_pir(&f.sys, UPID), 0);
}

/* ---- SENDUIPI to a suppressed receiver ---- */

/*
 * The receiver's OS set SN (library) while the receiver task is switched
 * out: SENDUIPI sets PIR only; ON stays clear, no notification, twice.
 * When the task is switched back in, virq_uintr_upid_set_sn(false) finds
 * PIR non-empty and returns 1 (ON now set): the caller sends UINV, and the
 * receiver takes user vectors 40 and 5 once each.
 */
static void test_suppressed(void **state)
{
	struct fx f;
	uint64_t ctl = 0, uirr_twin = 0;
	(void)state;

	fx_init(&f, true, true);
	assert_int_equal(virq_uintr_upid_set_sn(upid_at(mem), true), 0);
	assert_int_equal(virq_uintr_upid_set_sn(upid_at(twin), true), 0);
	assert_int_equal(send_both(&f, 0, &ctl), 0);
	assert_int_equal(send_both(&f, 1, &ctl), 0);
	assert_int_equal(send_both(&f, 0, &ctl), 0);
	check_upid(&f, upid_ctl(UINV, R_VID, VIRQ_UINTR_UPID_SN), 1ULL << 5 | 1ULL << 40);
	assert_int_equal(f.s.log.n, 0);
	assert_false(virq_pi_pending(pid_r()));

	assert_int_equal(virq_uintr_upid_set_sn(upid_at(mem), false), 1);
	assert_int_equal(virq_uintr_upid_set_sn(upid_at(twin), false), 1);
	check_upid(&f, upid_ctl(UINV, R_VID, VIRQ_UINTR_UPID_ON), 1ULL << 5 | 1ULL << 40);
	/* Clearing SN again with ON set asks for nothing more. */
	assert_int_equal(virq_uintr_upid_set_sn(upid_at(mem), false), 0);

	/* The notification the caller sends: UINV to the receiver. */
	assert_true(virq_pi_post(pid_r(), UINV, false));
	assert_int_equal(vmx_model_vmentry(&f.r), 0);
	assert_int_equal(vmx_model_ext_intr(&f.r, NV), 0);
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	assert_int_equal(virq_uintr_notify_process(upid_at(twin), &uirr_twin), 1);
	assert_int_equal(uirr_twin, f.r.uirr);
	check_upid(&f, upid_ctl(UINV, R_VID, 0), 0);
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	f.r.uif = true;
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	f.r.uif = true;
	assert_int_equal(vmx_model_boundary(&f.r), 0);
	assert_int_equal(f.r.log.n, 4);
	check_ev(&f.r, 1, VMX_MODEL_EV_UNOTIFY, UINV, 0);
	check_ev(&f.r, 2, VMX_MODEL_EV_UINTR, 40, 0);
	check_ev(&f.r, 3, VMX_MODEL_EV_UINTR, 5, 0);
}

/*
 * The OS clears SN with a plain store (not through the library) while
 * PIR[5] is still set from a suppressed post. SENDUIPI of the same vector
 * then finds SN = ON = 0 and notifies, although PIR[5] was already set:
 * the library's software SENDUIPI must say 1 as well (a post that stopped
 * at "PIR bit already set", as the VT-x descriptor's fast path does, would
 * lose this notification).
 */
static void test_suppressed_plain_clear(void **state)
{
	struct fx f;
	uint64_t ctl = 0;
	(void)state;

	fx_init(&f, true, true);
	vmx_model_upid_set_sn(&f.sys, UPID, true);
	vmx_model_upid_set_sn(&(struct vmx_model_sys){ twin, MEM_SIZE, 46, true }, UPID, true);
	assert_int_equal(send_both(&f, 0, &ctl), 0);
	check_upid(&f, upid_ctl(UINV, R_VID, VIRQ_UINTR_UPID_SN), 1ULL << 5);

	vmx_model_upid_set_sn(&f.sys, UPID, false);
	vmx_model_upid_set_sn(&(struct vmx_model_sys){ twin, MEM_SIZE, 46, true }, UPID, false);
	assert_int_equal(send_both(&f, 0, &ctl), 1);
	check_upid(&f, upid_ctl(UINV, R_VID, VIRQ_UINTR_UPID_ON), 1ULL << 5);
	assert_int_equal(f.s.log.n, 1);
	check_ev(&f.s, 0, VMX_MODEL_EV_NOTIFY, NV, R_PID);

	assert_int_equal(vmx_model_vmentry(&f.r), 0);
	assert_int_equal(vmx_model_ext_intr(&f.r, NV), 0);
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	assert_int_equal(vmx_model_boundary(&f.r), 0);
	check_ev(&f.r, 2, VMX_MODEL_EV_UINTR, 5, 0);
	assert_int_equal(f.r.log.n, 3);
}

/* ---- SENDUIPI to a blocked receiver ---- */

/*
 * The receiver task blocks: its OS switches the UPID's NV to a wakeup
 * vector (library, NDST kept) and the vCPU halts at CPL 0. SENDUIPI posts
 * UV 5 and notifies with the wakeup vector; the receiving vCPU takes it
 * through the IDT (not as a user-interrupt notification: EBH is not
 * UINV), which wakes it from HLT; PIR[5] and ON stay in the UPID. The OS
 * restores NV = UINV, EOIs and sends itself UINV: notification processing
 * at CPL 0 moves PIR into UIRR; back at CPL 3 user vector 5 is delivered,
 * once.
 */
static void test_blocked_wakeup_vector(void **state)
{
	struct fx f;
	uint64_t ctl = 0;
	(void)state;

	fx_init(&f, true, true);
	assert_int_equal(virq_uintr_upid_set_notification(upid_at(mem), WAKEV, R_VID), 0);
	assert_int_equal(virq_uintr_upid_set_notification(upid_at(twin), WAKEV, R_VID), 0);
	f.r.hlt = true;
	f.r.cpl = 0;
	assert_int_equal(vmx_model_vmentry(&f.r), 0);

	assert_int_equal(send_both(&f, 0, &ctl), 1);
	assert_int_equal(ctl, upid_ctl(WAKEV, R_VID, VIRQ_UINTR_UPID_ON));
	check_upid(&f, upid_ctl(WAKEV, R_VID, VIRQ_UINTR_UPID_ON), 1ULL << 5);
	check_ev(&f.s, 0, VMX_MODEL_EV_NOTIFY, NV, R_PID);

	assert_int_equal(vmx_model_ext_intr(&f.r, NV), 0);
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	assert_false(f.r.hlt);
	check_ev(&f.r, 1, VMX_MODEL_EV_DELIVER, WAKEV, 0);
	assert_int_equal(f.r.uirr, 0);
	check_upid(&f, upid_ctl(WAKEV, R_VID, VIRQ_UINTR_UPID_ON), 1ULL << 5);

	/* The wakeup path: NV back to UINV, EOI, self-IPI UINV. */
	assert_int_equal(virq_uintr_upid_set_notification(upid_at(mem), UINV, R_VID), 0);
	assert_int_equal(virq_uintr_upid_set_notification(upid_at(twin), UINV, R_VID), 0);
	vmx_model_eoi_virt(&f.r);
	vmx_model_self_ipi_virt(&f.r, UINV);
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	check_ev(&f.r, 2, VMX_MODEL_EV_UNOTIFY, UINV, 0);
	assert_int_equal(f.r.uirr, 1ULL << 5);
	assert_int_equal(vmx_model_boundary(&f.r), 0); /* CPL 0: no user delivery */
	f.r.cpl = 3;
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	assert_int_equal(vmx_model_boundary(&f.r), 0);
	assert_int_equal(f.r.log.n, 4);
	check_ev(&f.r, 3, VMX_MODEL_EV_UINTR, 5, 0);
	assert_int_equal(vmx_model_rd64(&f.sys, UPID), upid_ctl(UINV, R_VID, 0));
	assert_int_equal(vmx_model_upid_pir(&f.sys, UPID), 0);
}

/*
 * The receiving vCPU is blocked in the hypervisor (not in VMX non-root
 * operation): the virtualized notification reaches the host. The
 * hypervisor harvests the vCPU's PID (virq_pi_harvest: UINV), sees the
 * guest's UINV with CR4.UINTR = 1 and performs the notification
 * processing in software (virq_uintr_notify_process) instead of
 * injecting. A second processor running the same guest state on the twin
 * memory does it in hardware: same UIRR, same UPID bytes. After VM entry
 * at CPL 3, user vectors 40 and 5 are delivered once each.
 */
static void test_blocked_in_hypervisor(void **state)
{
	struct fx f;
	struct vmx_model_sys tsys = { twin, MEM_SIZE, 46, true };
	struct vmx_model_cpu hw;
	uint64_t ctl = 0, pir[4];
	(void)state;

	fx_init(&f, true, true);
	hw = f.r;
	hw.sys = &tsys;
	assert_int_equal(send_both(&f, 0, &ctl), 1);
	assert_int_equal(send_both(&f, 1, &ctl), 0);
	check_ev(&f.s, 0, VMX_MODEL_EV_NOTIFY, NV, R_PID);
	assert_int_equal(vmx_model_ext_intr(&f.r, NV), 0);
	check_ev(&f.r, 0, VMX_MODEL_EV_HOST_INTR, NV, 0);

	/* The hypervisor's software side. */
	assert_true(virq_pi_harvest(pid_r(), pir));
	assert_int_equal(pir[0] | pir[1] | pir[2], 0);
	assert_int_equal(pir[3], 1ULL << (UINV % 64U));
	assert_int_equal(virq_uintr_notify_process(upid_at(mem), &f.r.uirr), 1);
	assert_int_equal(f.r.uirr, 1ULL << 5 | 1ULL << 40);

	/* The hardware side on the twin: the same notification, processed by
	 * the model's CPU (the twin's PID got no post: give it one). */
	memcpy(twin + PID_R, mem + PID_R, VMX_MODEL_PID_SIZE);
	vmx_model_pid_set_pir(&tsys, PID_R, UINV);
	assert_int_equal(vmx_model_vmentry(&hw), 0);
	assert_int_equal(vmx_model_ext_intr(&hw, NV), 0);
	assert_int_equal(vmx_model_boundary(&hw), 1);
	check_ev(&hw, 1, VMX_MODEL_EV_UNOTIFY, UINV, 0);
	assert_int_equal(hw.uirr, f.r.uirr);
	check_upid(&f, upid_ctl(UINV, R_VID, 0), 0);

	assert_int_equal(vmx_model_vmentry(&f.r), 0);
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	f.r.uif = true;
	assert_int_equal(vmx_model_boundary(&f.r), 1);
	f.r.uif = true;
	assert_int_equal(vmx_model_boundary(&f.r), 0);
	assert_int_equal(f.r.log.n, 3);
	check_ev(&f.r, 1, VMX_MODEL_EV_UINTR, 40, 0);
	check_ev(&f.r, 2, VMX_MODEL_EV_UINTR, 5, 0);
}

/* ---- SENDUIPI's faults: the model raises #GP, the library refuses ---- */

/*
 * Index above UITTSZ, an invalid entry, a reserved UPID bit: the model
 * raises #GP(0) and writes nothing; the library's software SENDUIPI
 * returns -VIRQ_EINVAL and writes nothing. An unmapped UPID: the library
 * returns -VIRQ_ENOENT (the embedder raises the fault).
 */
static void test_faults(void **state)
{
	struct fx f;
	uint64_t ctl = 0x77;
	(void)state;

	fx_init(&f, true, true);
	assert_int_equal(vmx_model_vmentry(&f.s), 0);
	/* index 2 > UITTSZ 1 */
	assert_int_equal(vmx_model_senduipi(&f.s, 2), 0);
	check_ev(&f.s, 0, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0);
	assert_int_equal(virq_uintr_senduipi(uitt_at(twin), 1, 2, map_twin, twin, &ctl),
			 -VIRQ_EINVAL);
	/* invalid entry 1 */
	assert_int_equal(virq_uintr_uitte_clear(&uitt_at(mem)[1]), 0);
	assert_int_equal(virq_uintr_uitte_clear(&uitt_at(twin)[1]), 0);
	assert_int_equal(vmx_model_senduipi(&f.s, 1), 0);
	check_ev(&f.s, 1, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0);
	assert_int_equal(virq_uintr_senduipi(uitt_at(twin), 1, 1, map_twin, twin, &ctl),
			 -VIRQ_EINVAL);
	/* a reserved UPID bit (bit 24) */
	upid_at(mem)->control |= 1ULL << 24;
	upid_at(twin)->control |= 1ULL << 24;
	assert_int_equal(vmx_model_senduipi(&f.s, 0), 0);
	check_ev(&f.s, 2, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0);
	assert_int_equal(virq_uintr_senduipi(uitt_at(twin), 1, 0, map_twin, twin, &ctl),
			 -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_post(upid_at(twin), 5, &ctl), -VIRQ_EINVAL);
	check_upid(&f, upid_ctl(UINV, R_VID, 1ULL << 24), 0);
	assert_int_equal(f.s.log.n, 3);
	assert_int_equal(ctl, 0x77);
	/* an unmapped UPID */
	assert_int_equal(virq_uintr_uitte_set(&uitt_at(twin)[1], 3, 0x20000), 0);
	assert_int_equal(virq_uintr_senduipi(uitt_at(twin), 1, 1, map_twin, twin, &ctl),
			 -VIRQ_ENOENT);
	assert_int_equal(virq_uintr_senduipi(uitt_at(twin), 1, 1, NULL, twin, &ctl), -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_post(upid_at(twin), 64, &ctl), -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_notify_process(NULL, &ctl), -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_notify_process(upid_at(twin), NULL), -VIRQ_EINVAL);
}

/* ---- the UINTR MSR state ---- */

static void test_msr_check(void **state)
{
	(void)state;

	/* UIRR: any value. */
	assert_int_equal(virq_uintr_msr_check(0x985, ~0ULL, 48), 0);
	/* HANDLER, STACKADJUST: canonical for the width. */
	for (uint32_t m = 0x986; m <= 0x987; m++) {
		assert_int_equal(virq_uintr_msr_check(m, 0x00007FFFFFFFFFFFULL, 48), 0);
		assert_int_equal(virq_uintr_msr_check(m, 0xFFFF800000000000ULL, 48), 0);
		assert_int_equal(virq_uintr_msr_check(m, 0x0000800000000000ULL, 48), -VIRQ_EINVAL);
		assert_int_equal(virq_uintr_msr_check(m, 0xFFFF7FFFFFFFFFFFULL, 48), -VIRQ_EINVAL);
		assert_int_equal(virq_uintr_msr_check(m, 0x0000800000000001ULL, 57), 0);
		assert_int_equal(virq_uintr_msr_check(m, 0x00FFFFFFFFFFFFFFULL, 57), 0);
		assert_int_equal(virq_uintr_msr_check(m, 0xFF00000000000000ULL, 57), 0);
		assert_int_equal(virq_uintr_msr_check(m, 0x0100000000000000ULL, 57), -VIRQ_EINVAL);
		assert_int_equal(virq_uintr_msr_check(m, 0xFEFFFFFFFFFFFFFFULL, 57), -VIRQ_EINVAL);
	}
	/* STACKADJUST bit 0 (load/subtract) is a value bit. */
	assert_int_equal(virq_uintr_msr_check(0x987, 0x1001, 48), 0);
	/* MISC: 63:40 reserved; UITTSZ and UINV free. */
	assert_int_equal(virq_uintr_msr_check(0x988, 0x000000FFFFFFFFFFULL, 48), 0);
	for (unsigned b = 40; b < 64U; b++)
		assert_int_equal(virq_uintr_msr_check(0x988, 1ULL << b, 48), -VIRQ_EINVAL);
	/* PD: 5:0 reserved, canonical. */
	assert_int_equal(virq_uintr_msr_check(0x989, 0x1040, 48), 0);
	for (unsigned b = 0; b < 6U; b++)
		assert_int_equal(virq_uintr_msr_check(0x989, 0x1000ULL | 1ULL << b, 48),
				 -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_msr_check(0x989, 0x0000800000000000ULL, 48), -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_msr_check(0x989, 0xFFFFFFFFFFFFFFC0ULL, 48), 0);
	/* TT: bit 0 valid, 3:1 reserved, 63:4 canonical. */
	assert_int_equal(virq_uintr_msr_check(0x98A, 0x2001, 48), 0);
	assert_int_equal(virq_uintr_msr_check(0x98A, 0x2010, 48), 0);
	for (unsigned b = 1; b < 4U; b++)
		assert_int_equal(virq_uintr_msr_check(0x98A, 0x2001ULL | 1ULL << b, 48),
				 -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_msr_check(0x98A, 0xFFFF800000000001ULL, 48), 0);
	assert_int_equal(virq_uintr_msr_check(0x98A, 0x0000800000000001ULL, 48), -VIRQ_EINVAL);
	/* Not a UINTR MSR; bad width. */
	assert_int_equal(virq_uintr_msr_check(0x984, 0, 48), -VIRQ_ENOENT);
	assert_int_equal(virq_uintr_msr_check(0x98B, 0, 48), -VIRQ_ENOENT);
	assert_int_equal(virq_uintr_msr_check(0x985, 0, 47), -VIRQ_EINVAL);
}

static void test_msrs_restore(void **state)
{
	const struct virq_uintr_msrs good = {
		.rr = 1ULL << 63 | 1ULL << 5,
		.handler = 0x0000000000401000ULL,
		.stackadjust = 0x81,
		.misc = (uint64_t)UINV << 32 | 15U,
		.pd = 0xFFFF888000001040ULL,
		.tt = 0x0000000000602001ULL,
	};
	struct virq_uintr_msrs dst, bad, sentinel;
	uint64_t *const fields[6] = { &bad.rr,   &bad.handler, &bad.stackadjust,
				      &bad.misc, &bad.pd,      &bad.tt };
	const uint64_t poison[6] = {
		0, 0x0000800000000000ULL, 0x0000800000000000ULL, 1ULL << 40, 0x1001, 0x2009
	};
	(void)state;

	memset(&sentinel, 0x5A, sizeof(sentinel));
	dst = sentinel;
	assert_int_equal(virq_uintr_msrs_restore(&dst, &good, 48), 0);
	assert_memory_equal(&dst, &good, sizeof(good));

	/* Each field made bad in turn (RR has no bad value): -EINVAL, dst
	 * untouched. */
	for (unsigned i = 1; i < 6U; i++) {
		bad = good;
		*fields[i] = poison[i];
		dst = sentinel;
		assert_int_equal(virq_uintr_msrs_restore(&dst, &bad, 48), -VIRQ_EINVAL);
		assert_memory_equal(&dst, &sentinel, sizeof(dst));
	}
	/* A 57-bit handler is refused at 48 bits, accepted at 57. */
	bad = good;
	bad.handler = 0x00FF000000000000ULL;
	assert_int_equal(virq_uintr_msrs_restore(&dst, &bad, 48), -VIRQ_EINVAL);
	assert_memory_equal(&dst, &sentinel, sizeof(dst));
	assert_int_equal(virq_uintr_msrs_restore(&dst, &bad, 57), 0);
	assert_memory_equal(&dst, &bad, sizeof(dst));
	assert_int_equal(virq_uintr_msrs_restore(NULL, &good, 48), -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_msrs_restore(&dst, NULL, 48), -VIRQ_EINVAL);
	assert_int_equal(virq_uintr_msrs_restore(&dst, &good, 52), -VIRQ_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_running),
		cmocka_unit_test(test_running_exit_path),
		cmocka_unit_test(test_suppressed),
		cmocka_unit_test(test_suppressed_plain_clear),
		cmocka_unit_test(test_blocked_wakeup_vector),
		cmocka_unit_test(test_blocked_in_hypervisor),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_msr_check),
		cmocka_unit_test(test_msrs_restore),
	};

	return virq_run_group_tests(tests);
}
