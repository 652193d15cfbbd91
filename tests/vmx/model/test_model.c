/* SPDX-License-Identifier: MIT */
/*
 * Tests of the posting model itself (model.h), from worked examples derived
 * by hand from the SDM's and the VT-d specification's pseudo-code: the
 * exact VIRR, VISR, RVI, SVI and VPPR after each step, the exact order of
 * the vectors delivered, the exact exit reasons and qualifications, the
 * exact descriptor bits and notifications. Each expected value is worked
 * out in the comment above its check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "virq_test.h"

#include "model.h"

#define MEM_SIZE 0x10000U
#define PID_A 0x1000U /* virtual APIC ID 0 */
#define PID_B 0x1040U /* virtual APIC ID 1 */
#define PID_TABLE 0x2000U
#define UITT 0x3000U
#define UPID 0x4000U
#define NV 0xF2U
#define UINV 0xECU

static uint8_t mem[MEM_SIZE];
static uint8_t snap[MEM_SIZE];

struct fx {
	struct vmx_model_sys sys;
	struct vmx_model_cpu cpu;
};

static void fx_init(struct fx *f, bool host_x2apic)
{
	memset(mem, 0, sizeof(mem));
	f->sys.mem = mem;
	f->sys.size = MEM_SIZE;
	f->sys.maxphyaddr = 39;
	f->sys.host_x2apic = host_x2apic;
	vmx_model_init(&f->cpu, &f->sys);
}

/* APICv with posted interrupts, xAPIC guest (virtualize APIC accesses),
 * IF = 1, descriptor at @pid with notification vector NV. */
static void fx_apicv(struct fx *f, struct vmx_model_cpu *c, uint64_t pid, uint32_t ndst)
{
	vmx_model_init(c, &f->sys);
	c->vid = true;
	c->posted = true;
	c->nv = NV;
	c->pid_addr = pid;
	c->rflags_if = true;
	vmx_model_pid_init(&f->sys, pid, NV, ndst);
}

static void enter(struct vmx_model_cpu *c)
{
	assert_int_equal(vmx_model_vmentry(c), 0);
	assert_true(c->in_guest);
}

static void ev(const struct vmx_model_cpu *c, unsigned i, enum vmx_model_ev_kind kind, uint32_t a,
	       uint64_t b, uint32_t cc)
{
	assert_true(i < c->log.n);
	assert_int_equal(c->log.ev[i].kind, kind);
	assert_int_equal(c->log.ev[i].a, a);
	assert_int_equal(c->log.ev[i].b, b);
	assert_int_equal(c->log.ev[i].c, cc);
}

static void nlog(const struct vmx_model_cpu *c, unsigned n)
{
	assert_int_equal(c->log.lost, 0);
	assert_int_equal(c->log.n, n);
}

/* Checks the interrupt state: RVI, SVI, VPPR, and VIRR / VISR as the lists
 * of their set vectors, highest first, ended by -1. */
static void state(const struct vmx_model_cpu *c, unsigned rvi, unsigned svi, unsigned ppr,
		  const int *irr, const int *isr)
{
	assert_int_equal(c->rvi, rvi);
	assert_int_equal(c->svi, svi);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VPPR), ppr);
	for (unsigned k = 0; k < 2; k++) {
		const int *want = k ? isr : irr;
		uint32_t base = k ? VMX_MODEL_VISR : VMX_MODEL_VIRR;
		unsigned i = 0;

		for (int v = 255; v >= 0; v--) {
			if (!vmx_model_bit(c, base, (unsigned)v))
				continue;
			assert_int_equal(v, want[i]);
			i++;
		}
		assert_int_equal(want[i], -1);
	}
}

static const int none[] = { -1 };

/* ---- posted-interrupt processing, delivery, priority classes, EOI ---- */

static void test_pi_worked_example(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0x7);
	vmx_model_set_reg(c, VMX_MODEL_VTPR, 0x40);
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x31);
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x45);
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x52);
	vmx_model_pid_set_on(&f.sys, PID_A, true);

	/* Entry: PPR virtualization, VTPR[7:4] 4 >= SVI[7:4] 0: VPPR = 40H;
	 * RVI 0 is not above class 4: nothing recognized. */
	enter(c);
	state(c, 0, 0, 0x40, none, none);
	assert_false(c->recognized);
	assert_int_equal(vmx_model_boundary(c), 0);

	/* The notification: ON cleared, EOI to the local APIC, PIR into VIRR
	 * and cleared, RVI = max(0, 52H), class 5 > 4: recognized. */
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	assert_false(vmx_model_pid_on(&f.sys, PID_A));
	for (unsigned v = 0; v < 256; v++)
		assert_false(vmx_model_pid_pir(&f.sys, PID_A, v));
	state(c, 0x52, 0, 0x40, (const int[]){ 0x52, 0x45, 0x31, -1 }, none);
	assert_true(c->recognized);
	nlog(c, 1);
	ev(c, 0, VMX_MODEL_EV_LAPIC_EOI, 0, 0, 0);

	/* Delivery of 52H: VISR 52H, SVI 52H, VPPR 50H, RVI = 45H. */
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 0x45, 0x52, 0x50, (const int[]){ 0x45, 0x31, -1 }, (const int[]){ 0x52, -1 });
	assert_false(c->recognized);
	/* Recognition ceased: nothing at the next boundary. */
	assert_int_equal(vmx_model_boundary(c), 0);

	/* EOI: VISR empty, SVI 0, VPPR = VTPR 40H; evaluation: 45H's class 4
	 * is not above 4, the TPR holds it back. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), 0);
	state(c, 0x45, 0, 0x40, (const int[]){ 0x45, 0x31, -1 }, none);
	assert_false(c->recognized);
	assert_int_equal(vmx_model_boundary(c), 0);

	/* CR8 = 3: VTPR 30H, VPPR 30H, 4 > 3: 45H delivered; VPPR 40H,
	 * RVI 31H. */
	assert_int_equal(vmx_model_mov_cr8(c, 3), 0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VTPR), 0x30);
	assert_true(c->recognized);
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 0x31, 0x45, 0x40, (const int[]){ 0x31, -1 }, (const int[]){ 0x45, -1 });

	/* EOI: VPPR back to 30H; 31H is class 3, not above 3. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), 0);
	state(c, 0x31, 0, 0x30, (const int[]){ 0x31, -1 }, none);
	assert_false(c->recognized);

	/* CR8 = 2: 31H goes; RVI 0 after it. */
	assert_int_equal(vmx_model_mov_cr8(c, 2), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 0, 0x31, 0x30, none, (const int[]){ 0x31, -1 });

	nlog(c, 4);
	ev(c, 1, VMX_MODEL_EV_DELIVER, 0x52, 0, 0);
	ev(c, 2, VMX_MODEL_EV_DELIVER, 0x45, 0, 0);
	ev(c, 3, VMX_MODEL_EV_DELIVER, 0x31, 0, 0);
	assert_true(c->in_guest);
}

/* Nested delivery: a higher class preempts, EOIs unwind in order. */
static void test_pi_nested(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	enter(c);
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x61);
	vmx_model_pid_set_on(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 0, 0x61, 0x60, none, (const int[]){ 0x61, -1 });

	/* 65H (class 6, not above VPPR 60H) and 82H (class 8) posted. */
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x65);
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x82);
	vmx_model_pid_set_on(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 0x65, 0x82, 0x80, (const int[]){ 0x65, -1 }, (const int[]){ 0x82, 0x61, -1 });

	/* EOI of 82H: SVI 61H, VPPR 60H; 65H is class 6: held. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), 0);
	state(c, 0x65, 0x61, 0x60, (const int[]){ 0x65, -1 }, (const int[]){ 0x61, -1 });
	assert_int_equal(vmx_model_boundary(c), 0);
	/* EOI of 61H: VPPR 0, 65H delivered. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 0, 0x65, 0x60, none, (const int[]){ 0x65, -1 });

	nlog(c, 5);
	ev(c, 0, VMX_MODEL_EV_LAPIC_EOI, 0, 0, 0);
	ev(c, 1, VMX_MODEL_EV_DELIVER, 0x61, 0, 0);
	ev(c, 2, VMX_MODEL_EV_LAPIC_EOI, 0, 0, 0);
	ev(c, 3, VMX_MODEL_EV_DELIVER, 0x82, 0, 0);
	ev(c, 4, VMX_MODEL_EV_DELIVER, 0x65, 0, 0);
}

static void test_pi_other_vector_exits(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	enter(c);
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x40);
	vmx_model_pid_set_on(&f.sys, PID_A, true);

	/* Vector 30H is not NV: external-interrupt exit (reason 1), the vector
	 * in the interruption information (valid, type external); the
	 * descriptor is not touched, VIRR neither. */
	assert_int_equal(vmx_model_ext_intr(c, 0x30), 0);
	nlog(c, 1);
	ev(c, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR, 0, 0x80000030U);
	assert_false(c->in_guest);
	assert_true(vmx_model_pid_on(&f.sys, PID_A));
	assert_true(vmx_model_pid_pir(&f.sys, PID_A, 0x40));
	state(c, 0, 0, 0, none, none);

	/* Out of the guest: guest operations are refused, nothing changes. */
	assert_int_equal(vmx_model_boundary(c), -VMX_MODEL_ESTATE);
	assert_int_equal(vmx_model_mov_cr8(c, 1), -VMX_MODEL_ESTATE);
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), -VMX_MODEL_ESTATE);
	assert_int_equal(vmx_model_senduipi(c, 0), -VMX_MODEL_ESTATE);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VTPR), 0);
	/* The notification vector arriving in root operation is the host's. */
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	nlog(c, 2);
	ev(c, 1, VMX_MODEL_EV_HOST_INTR, NV, 0, 0);
	assert_true(vmx_model_pid_on(&f.sys, PID_A));

	/* "Process posted interrupts" = 0: NV too is an ordinary exit. */
	c->posted = false;
	enter(c);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	ev(c, 2, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EXT_INTR, 0, 0x80000000U | NV);
	assert_true(vmx_model_pid_pir(&f.sys, PID_A, 0x40));
}

/* Vectors 0-15 reach VIRR and RVI but never a priority class above 0. */
static void test_pi_vectors_below_16(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	enter(c);
	vmx_model_pid_set_pir(&f.sys, PID_A, 3);
	vmx_model_pid_set_pir(&f.sys, PID_A, 15);
	vmx_model_pid_set_on(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	state(c, 15, 0, 0, (const int[]){ 15, 3, -1 }, none);
	assert_false(c->recognized);
	assert_int_equal(vmx_model_boundary(c), 0);

	/* 20H arrives: delivered, and RVI falls back to 0FH. */
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x20);
	vmx_model_pid_set_on(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 15, 0x20, 0x20, (const int[]){ 15, 3, -1 }, (const int[]){ 0x20, -1 });

	/* A notification with PIR empty: ON cleared, EOI, RVI unchanged. */
	vmx_model_pid_set_on(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	assert_false(vmx_model_pid_on(&f.sys, PID_A));
	state(c, 15, 0x20, 0x20, (const int[]){ 15, 3, -1 }, (const int[]){ 0x20, -1 });
	nlog(c, 4);
	ev(c, 2, VMX_MODEL_EV_DELIVER, 0x20, 0, 0);
	ev(c, 3, VMX_MODEL_EV_LAPIC_EOI, 0, 0, 0);
}

/* RVI = max(old RVI, highest PIR bit); delivery waits for IF, blocking and
 * the interrupt window; the recognition survives until delivered. */
static void test_pi_rvi_max_and_blocking(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	c->rflags_if = false;
	vmx_model_set_bit(c, VMX_MODEL_VIRR, 0x90, true);
	c->rvi = 0x90;
	enter(c);
	assert_true(c->recognized); /* VM entry evaluates */
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x41);
	vmx_model_pid_set_on(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	state(c, 0x90, 0, 0, (const int[]){ 0x90, 0x41, -1 }, none);

	assert_int_equal(vmx_model_boundary(c), 0); /* IF = 0 */
	c->rflags_if = true;
	c->interruptibility = VMX_MODEL_BLOCK_STI;
	assert_int_equal(vmx_model_boundary(c), 0);
	c->interruptibility = VMX_MODEL_BLOCK_MOVSS;
	assert_int_equal(vmx_model_boundary(c), 0);
	c->interruptibility = 0;
	c->intr_window_exiting = true;
	assert_int_equal(vmx_model_boundary(c), 0);
	c->intr_window_exiting = false;
	assert_true(c->recognized);
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 0x41, 0x90, 0x90, (const int[]){ 0x41, -1 }, (const int[]){ 0x90, -1 });

	/* With interrupt-window exiting set, evaluation recognizes nothing. */
	c->intr_window_exiting = true;
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), 0);
	assert_false(c->recognized);
	c->intr_window_exiting = false;
	assert_int_equal(vmx_model_boundary(c), 0);
	nlog(c, 2);
	ev(c, 1, VMX_MODEL_EV_DELIVER, 0x90, 0, 0);
}

/* HLT: the processor goes back to HLT unless a virtual interrupt is
 * delivered. */
static void test_pi_hlt(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	vmx_model_set_reg(c, VMX_MODEL_VTPR, 0x50);
	enter(c);
	c->hlt = true;
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x44);
	vmx_model_pid_set_on(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	assert_int_equal(vmx_model_boundary(c), 0);
	assert_true(c->hlt);
	vmx_model_pid_set_pir(&f.sys, PID_A, 0x64);
	vmx_model_pid_set_on(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	assert_false(c->hlt);
	ev(c, 2, VMX_MODEL_EV_DELIVER, 0x64, 0, 0);
}

/* ---- EOI virtualization and the EOI-exit bitmap ---- */

static void test_eoi_exit_bitmap(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	c->x2apic_virt = true;
	c->eoi_exit[0x61 / 64] = 1ULL << (0x61 % 64);
	enter(c);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_SELF_IPI, 0x61), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_SELF_IPI, 0x35), 0);
	state(c, 0x35, 0x61, 0x60, (const int[]){ 0x35, -1 }, (const int[]){ 0x61, -1 });

	/* EOI of 61H with its bitmap bit set: VISR, SVI and VPPR updated
	 * first, then the trap-like EOI-induced exit, qualification 61H; no
	 * evaluation, nothing recognized. */
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_EOI, 0), 0);
	state(c, 0x35, 0, 0, (const int[]){ 0x35, -1 }, none);
	assert_false(c->in_guest);
	assert_false(c->recognized);
	nlog(c, 2);
	ev(c, 0, VMX_MODEL_EV_DELIVER, 0x61, 0, 0);
	ev(c, 1, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EOI_INDUCED, 0x61, 0);

	/* Re-entry evaluates: 35H delivered; its EOI has no bitmap bit. */
	enter(c);
	assert_int_equal(vmx_model_boundary(c), 1);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_EOI, 0), 0);
	assert_true(c->in_guest);
	state(c, 0, 0, 0, none, none);

	/* EOI with VISR empty: vector 0, and bit 0 of the bitmap decides. */
	c->eoi_exit[0] = 1;
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_EOI, 0), 0);
	nlog(c, 4);
	ev(c, 2, VMX_MODEL_EV_DELIVER, 0x35, 0, 0);
	ev(c, 3, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_EOI_INDUCED, 0, 0);

	/* WRMSR 80BH with a non-zero value: #GP, no EOI. */
	enter(c);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_SELF_IPI, 0x70), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_EOI, 1ULL << 32), 0);
	state(c, 0, 0x70, 0x70, none, (const int[]){ 0x70, -1 });
	ev(c, 5, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0, 0);
}

/* ---- TPR virtualization ---- */

static void test_tpr_virt(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	c->posted = false;
	c->apic_reg_virt = true;
	enter(c);

	/* xAPIC write of FFFFFF25H to 080H: bytes 3:1 cleared. VPPR = 25H
	 * (PPR virtualization keeps VTPR[3:0]). */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VTPR, 0xFFFFFF25U), 0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VTPR), 0x25);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VPPR), 0x25);
	/* MOV to CR8 with bits 63:4 set: #GP, VTPR unchanged. */
	assert_int_equal(vmx_model_mov_cr8(c, 0x10), 0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VTPR), 0x25);
	assert_int_equal(vmx_model_mov_cr8(c, 0xA), 0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VTPR), 0xA0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VPPR), 0xA0);
	nlog(c, 1);
	ev(c, 0, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0, 0);

	/* x2APIC: WRMSR 808H with EAX[31:8] set or EDX set: #GP. */
	vmx_model_init(c, &f.sys);
	c->vid = true;
	c->x2apic_virt = true;
	enter(c);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_TPR, 0x100), 0);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_TPR, 1ULL << 32), 0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VTPR), 0);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_TPR, 0x3C), 0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VTPR), 0x3C);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VPPR), 0x3C);
	nlog(c, 2);
	ev(c, 1, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0, 0);
}

/* VID = 0: the TPR threshold. */
static void test_tpr_threshold(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	c->tpr_threshold = 5;
	vmx_model_set_reg(c, VMX_MODEL_VTPR, 0x60);
	enter(c);
	/* VTPR[7:4] 5 is not below 5: no exit. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VTPR, 0x5F), 0);
	assert_true(c->in_guest);
	/* 4 < 5: trap-like TPR-below-threshold exit. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VTPR, 0x4F), 0);
	assert_false(c->in_guest);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VTPR), 0x4F);
	nlog(c, 1);
	ev(c, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_TPR_BELOW, 0, 0);

	/* Entry with threshold 5 > VTPR[7:4] 4: with APIC accesses
	 * virtualized, an exit right after the entry. */
	assert_int_equal(vmx_model_vmentry(c), 0);
	assert_false(c->in_guest);
	ev(c, 1, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_TPR_BELOW, 0, 0);
	/* Without ("virtualize x2APIC mode"): the entry fails. */
	c->x2apic_virt = true;
	assert_int_equal(vmx_model_vmentry(c), -VMX_MODEL_EENTRY);
	nlog(c, 2);
	/* Threshold bits 7:4 set: fails. */
	c->x2apic_virt = false;
	c->tpr_threshold = 0x10;
	assert_int_equal(vmx_model_vmentry(c), -VMX_MODEL_EENTRY);
	assert_false(c->in_guest);
}

/* ---- self-IPI virtualization and APIC-write emulation ---- */

static void test_self_ipi(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	enter(c);
	/* xAPIC 300H: fixed, edge, shorthand self, vector 51H. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_LO, 0x00040051U), 0);
	state(c, 0x51, 0, 0, (const int[]){ 0x51, -1 }, none);
	assert_true(c->recognized);
	/* Level-triggered self-IPI: stored, then an APIC-write exit 300H. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_LO, 0x0004C052U), 0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_LO), 0x0004C052U);
	ev(c, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0x300, 0);
	/* Vector 0FH: bits 7:4 zero, an exit too. */
	enter(c);
	assert_int_equal(vmx_model_boundary(c), 1); /* 51H, evaluated at entry */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_LO, 0x0004000FU), 0);
	ev(c, 2, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0x300, 0);
	/* Without IPI virtualization a no-shorthand IPI exits as well. */
	enter(c);
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_LO, 0x00000051U), 0);
	ev(c, 3, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0x300, 0);
	nlog(c, 4);
	ev(c, 1, VMX_MODEL_EV_DELIVER, 0x51, 0, 0);

	/* x2APIC 83FH. */
	vmx_model_init(c, &f.sys);
	c->vid = true;
	c->x2apic_virt = true;
	c->rflags_if = true;
	enter(c);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_SELF_IPI, 0x10), 0);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_SELF_IPI, 0x1FF), 0);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_SELF_IPI, 0x2ULL << 32), 0);
	state(c, 0x10, 0, 0, (const int[]){ 0x10, -1 }, none);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_SELF_IPI, 0x0E), 0);
	state(c, 0x10, 0, 0, (const int[]){ 0x10, -1 }, none);
	nlog(c, 3);
	ev(c, 0, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0, 0);
	ev(c, 1, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0, 0);
	ev(c, 2, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, VMX_MODEL_SELF_IPI, 0);
}

static void test_apic_access_exits(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	enter(c); /* TPR shadow only */
	/* 0B0H is not virtualized without VID or register virtualization. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), 0);
	ev(c, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_ACCESS, 0x10B0, 0);
	enter(c);
	/* 084H: not within the low 4 bytes of its field. */
	assert_int_equal(vmx_model_mmio_write(c, 0x084, 0), 0);
	ev(c, 1, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_ACCESS, 0x1084, 0);

	/* Register virtualization, VID = 0: EOI and LVT writes trap. */
	c->apic_reg_virt = true;
	enter(c);
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), 0);
	ev(c, 2, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0xB0, 0);
	enter(c);
	assert_int_equal(vmx_model_mmio_write(c, 0x350, 0x10000), 0);
	assert_int_equal(vmx_model_reg(c, 0x350), 0x10000);
	ev(c, 3, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0x350, 0);
	/* 310H: bytes 2:0 cleared, no exit. */
	enter(c);
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_HI, 0x01ABCDEFU), 0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_HI), 0x01000000U);
	assert_true(c->in_guest);
	/* 0A0H (PPR) is never virtualized. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VPPR, 0), 0);
	ev(c, 4, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_ACCESS, 0x10A0, 0);
	nlog(c, 5);

	/* x2APIC MSRs without "virtualize x2APIC mode": WRMSR exits. */
	enter(c);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_TPR, 0), 0);
	ev(c, 5, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_WRMSR, 0, 0);
	/* With it but without VID, 80BH is not virtualized either. */
	c->x2apic_virt = true;
	enter(c);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_EOI, 0), 0);
	ev(c, 6, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_WRMSR, 0, 0);
	/* 830H without IPI virtualization. */
	c->vid = true;
	enter(c);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_ICR, 0x41), 0);
	ev(c, 7, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_WRMSR, 0, 0);
	nlog(c, 8);
}

/* ---- IPI virtualization ---- */

/* PID-pointer table: 0 -> PID_A, 1 -> PID_B, 2 not valid, 3 valid bit
 * with a reserved bit; last index 3. */
static void fx_ipiv(struct fx *f, struct vmx_model_cpu *c, bool x2apic)
{
	fx_apicv(f, c, PID_A, 0);
	c->x2apic_virt = x2apic;
	c->apic_reg_virt = true;
	c->ipiv = true;
	c->pid_table = PID_TABLE;
	c->last_pid_index = 3;
	vmx_model_pid_init(&f->sys, PID_B, 0xF3, x2apic ? 0x11 : 0x0500);
	vmx_model_wr64(&f->sys, PID_TABLE + 0, PID_A | 1);
	vmx_model_wr64(&f->sys, PID_TABLE + 8, PID_B | 1);
	vmx_model_wr64(&f->sys, PID_TABLE + 16, PID_B);
	vmx_model_wr64(&f->sys, PID_TABLE + 24, PID_B | 3);
}

static void test_ipiv_x2apic(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	struct vmx_model_cpu t;
	(void)s;

	fx_init(&f, true);
	fx_ipiv(&f, c, true);
	enter(c);

	/* Fixed, edge, physical, to APIC ID 1, vector 41H: PIR[41H] and ON in
	 * PID_B, notification F3H to NDST 11H. The sender stays in the guest. */
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_ICR, (1ULL << 32) | 0x41), 0);
	assert_true(vmx_model_pid_pir(&f.sys, PID_B, 0x41));
	assert_true(vmx_model_pid_on(&f.sys, PID_B));
	assert_true(c->in_guest);
	/* 42H: ON already set, no second notification. */
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_ICR, (1ULL << 32) | 0x42), 0);
	assert_true(vmx_model_pid_pir(&f.sys, PID_B, 0x42));
	nlog(c, 1);
	ev(c, 0, VMX_MODEL_EV_NOTIFY, 0xF3, 0x11, 0x11);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_LO), 0x42);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_LO + 4), 1);

	/* The target takes the notification: 42H, then after its EOI 41H. */
	fx_apicv(&f, &t, PID_B, 0x11);
	t.nv = 0xF3;
	vmx_model_pid_set_pir(&f.sys, PID_B, 0x41);
	vmx_model_pid_set_pir(&f.sys, PID_B, 0x42);
	vmx_model_pid_set_on(&f.sys, PID_B, true);
	enter(&t);
	assert_int_equal(vmx_model_ext_intr(&t, (uint8_t)c->log.ev[0].a), 0);
	state(&t, 0x42, 0, 0, (const int[]){ 0x42, 0x41, -1 }, none);
	assert_int_equal(vmx_model_boundary(&t), 1);
	assert_int_equal(vmx_model_mmio_write(&t, VMX_MODEL_VEOI, 0), 0);
	assert_int_equal(vmx_model_boundary(&t), 1);
	state(&t, 0, 0x41, 0x40, none, (const int[]){ 0x41, -1 });
	nlog(&t, 3);
	ev(&t, 1, VMX_MODEL_EV_DELIVER, 0x42, 0, 0);
	ev(&t, 2, VMX_MODEL_EV_DELIVER, 0x41, 0, 0);

	/* SN set in PID_A: PIR[50H] set, ON stays clear, no notification. */
	vmx_model_pid_set_sn(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_ICR, 0x50), 0);
	assert_true(vmx_model_pid_pir(&f.sys, PID_A, 0x50));
	assert_false(vmx_model_pid_on(&f.sys, PID_A));
	assert_true(c->in_guest);
	nlog(c, 1);
}

/* Every IPI virtualization cannot take: an APIC-write exit with offset
 * 300H, the descriptors untouched, the ICR in the page. */
static void test_ipiv_exits(void **s)
{
	static const struct {
		uint64_t icr;
	} t[] = {
		{ (4ULL << 32) | 0x41 },          /* index 4 > last index 3 */
		{ (0xFFFFFFFFULL << 32) | 0x41 }, /* broadcast ID: beyond too */
		{ (1ULL << 32) | 0x0F },          /* vector below 16 */
		{ (2ULL << 32) | 0x41 },          /* entry 2 not valid */
		{ (3ULL << 32) | 0x41 },          /* entry 3: bit 1 set */
		{ (1ULL << 32) | 0x841 },         /* logical destination mode */
		{ (1ULL << 32) | 0xC0041 },       /* shorthand all but self */
		{ (1ULL << 32) | 0x40041 },       /* shorthand self (x2APIC has 83FH) */
		{ (1ULL << 32) | 0x441 },         /* NMI delivery mode */
		{ (1ULL << 32) | 0x141 },         /* lowest priority */
		{ (1ULL << 32) | 0x8041 },        /* level */
		{ (1ULL << 32) | 0x1041 },        /* delivery status bit */
		{ (1ULL << 32) | 0x100041 },      /* reserved bit 20 */
	};
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fx_init(&f, true);
		fx_ipiv(&f, c, true);
		enter(c);
		memcpy(snap, mem, sizeof(mem));
		assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_ICR, t[i].icr), 0);
		nlog(c, 1);
		ev(c, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0x300, 0);
		assert_false(c->in_guest);
		assert_memory_equal(snap, mem, sizeof(mem));
		assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_LO), (uint32_t)t[i].icr);
		assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_LO + 4),
				 (uint32_t)(t[i].icr >> 32));
	}

	/* A pointer beyond the physical-address width: not valid either. */
	fx_init(&f, true);
	fx_ipiv(&f, c, true);
	vmx_model_wr64(&f.sys, PID_TABLE + 8, (1ULL << 39) | PID_B | 1);
	enter(c);
	assert_int_equal(vmx_model_wrmsr(c, VMX_MODEL_MSR_ICR, (1ULL << 32) | 0x41), 0);
	ev(c, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0x300, 0);
	assert_false(vmx_model_pid_pir(&f.sys, PID_B, 0x41));
}

static void test_ipiv_xapic(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	/* Host LAPICs in xAPIC mode: NDST 0500H names APIC ID 5. */
	fx_init(&f, false);
	fx_ipiv(&f, c, false);
	enter(c);
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_HI, 0x01000000U), 0);
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_LO, 0x00000061U), 0);
	assert_true(vmx_model_pid_pir(&f.sys, PID_B, 0x61));
	assert_true(vmx_model_pid_on(&f.sys, PID_B));
	nlog(c, 1);
	ev(c, 0, VMX_MODEL_EV_NOTIFY, 0xF3, 5, 0x0500);
	/* The self-IPI form still goes to this processor's VIRR. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_LO, 0x00040062U), 0);
	state(c, 0x62, 0, 0, (const int[]){ 0x62, -1 }, none);
	assert_false(vmx_model_pid_pir(&f.sys, PID_A, 0x62));
	/* Destination 4 > last index: exit. */
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_HI, 0x04000000U), 0);
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VICR_LO, 0x00000063U), 0);
	nlog(c, 2);
	ev(c, 1, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0x300, 0);
}

/* ---- VT-d posting ---- */

static void test_vtd_post(void **s)
{
	struct fx f;
	struct vmx_model_log log;
	uint64_t hi = vmx_model_irte_hi(0x00F8, PID_A);
	(void)s;

	fx_init(&f, true);
	memset(&log, 0, sizeof(log));
	vmx_model_pid_init(&f.sys, PID_A, 0xE5, 0x23);

	/* The IRTE fields land where VT-d puts them. */
	assert_int_equal(vmx_model_irte_lo(0x55, true, PID_A),
			 0x1ULL | 1ULL << 15 | 1ULL << 14 | 0x55ULL << 16 |
				 (uint64_t)(PID_A >> 6) << 38);
	assert_int_equal(hi, 0x00F8);

	/* ON and SN clear: PIR[55H], ON, notification E5H to 23H. */
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, vmx_model_irte_lo(0x55, false, PID_A),
					    hi),
			 VMX_MODEL_VTD_POSTED);
	assert_true(vmx_model_pid_pir(&f.sys, PID_A, 0x55));
	assert_true(vmx_model_pid_on(&f.sys, PID_A));
	/* ON set: PIR[56H], no second notification, even urgent. */
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, vmx_model_irte_lo(0x56, true, PID_A), hi),
			 VMX_MODEL_VTD_POSTED);
	assert_true(vmx_model_pid_pir(&f.sys, PID_A, 0x56));
	assert_int_equal(log.n, 1);
	assert_int_equal(log.ev[0].kind, VMX_MODEL_EV_NOTIFY);
	assert_int_equal(log.ev[0].a, 0xE5);
	assert_int_equal(log.ev[0].b, 0x23);

	/* SN set, URG clear: PIR only, ON stays clear. */
	vmx_model_pid_init(&f.sys, PID_A, 0xE5, 0x23);
	vmx_model_pid_set_sn(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, vmx_model_irte_lo(0x57, false, PID_A),
					    hi),
			 VMX_MODEL_VTD_POSTED);
	assert_true(vmx_model_pid_pir(&f.sys, PID_A, 0x57));
	assert_false(vmx_model_pid_on(&f.sys, PID_A));
	assert_int_equal(log.n, 1);
	/* SN set, URG set: notified all the same. */
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, vmx_model_irte_lo(0x58, true, PID_A), hi),
			 VMX_MODEL_VTD_POSTED);
	assert_true(vmx_model_pid_on(&f.sys, PID_A));
	assert_true(vmx_model_pid_sn(&f.sys, PID_A));
	assert_int_equal(log.n, 2);
	assert_int_equal(log.ev[1].a, 0xE5);

	/* PIR[57H] already set and ON clear (SN cleared by software without a
	 * re-check): the hardware sets ON and notifies; it does not look at
	 * the old PIR bit. */
	vmx_model_pid_set_on(&f.sys, PID_A, false);
	vmx_model_pid_set_sn(&f.sys, PID_A, false);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, vmx_model_irte_lo(0x57, false, PID_A),
					    hi),
			 VMX_MODEL_VTD_POSTED);
	assert_true(vmx_model_pid_on(&f.sys, PID_A));
	assert_int_equal(log.n, 3);
	assert_int_equal(log.lost, 0);
	/* NV, NDST and the bits around the control word untouched. */
	assert_int_equal(vmx_model_pid_nv(&f.sys, PID_A), 0xE5);
	assert_int_equal(vmx_model_pid_ndst(&f.sys, PID_A), 0x23);
	assert_int_equal(mem[PID_A + 33], 0);
	assert_int_equal(mem[PID_A + 35], 0);

	/* xAPIC host: NDST 0700H is APIC ID 7. */
	f.sys.host_x2apic = false;
	vmx_model_pid_init(&f.sys, PID_B, 0xE6, 0x0700);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, vmx_model_irte_lo(0x30, false, PID_B),
					    vmx_model_irte_hi(0, PID_B)),
			 VMX_MODEL_VTD_POSTED);
	assert_int_equal(log.n, 4);
	assert_int_equal(log.ev[3].a, 0xE6);
	assert_int_equal(log.ev[3].b, 7);
	assert_int_equal(log.ev[3].c, 0x0700);
}

/* Entries the remapping unit refuses: a fault, nothing in memory changed. */
static void test_vtd_faults(void **s)
{
	struct fx f;
	struct vmx_model_log log;
	uint64_t lo = vmx_model_irte_lo(0x55, true, PID_A);
	uint64_t hi = vmx_model_irte_hi(0, PID_A);
	(void)s;

	fx_init(&f, true);
	memset(&log, 0, sizeof(log));
	vmx_model_pid_init(&f.sys, PID_A, 0xE5, 0x23);
	memcpy(snap, mem, sizeof(mem));
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, lo & ~VMX_MODEL_IRTE_P, hi),
			 VMX_MODEL_VTD_NOT_PRESENT);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, lo & ~VMX_MODEL_IRTE_IM, hi),
			 VMX_MODEL_VTD_REMAPPED);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, lo | 1ULL << 2, hi),
			 VMX_MODEL_VTD_RESERVED);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, lo | 1ULL << 12, hi),
			 VMX_MODEL_VTD_RESERVED);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, lo | 1ULL << 37, hi),
			 VMX_MODEL_VTD_RESERVED);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, lo, hi | 1ULL << 20),
			 VMX_MODEL_VTD_RESERVED);
	/* PDA beyond memory, and beyond the address width. */
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, vmx_model_irte_lo(0x55, true, MEM_SIZE),
					    hi),
			 VMX_MODEL_VTD_PID_ERROR);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &log, lo, vmx_model_irte_hi(0, 1ULL << 40)),
			 VMX_MODEL_VTD_PID_ERROR);
	assert_memory_equal(snap, mem, sizeof(mem));
	assert_int_equal(log.n, 0);
}

/* A device interrupt end to end: the remapping unit posts 71H and 33H
 * (the second finds ON set), its one notification reaches the processor,
 * which delivers 71H, then 33H after the EOI. */
static void test_vtd_to_cpu(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	struct vmx_model_log iommu;
	uint64_t hi = vmx_model_irte_hi(0, PID_A);
	(void)s;

	fx_init(&f, true);
	memset(&iommu, 0, sizeof(iommu));
	fx_apicv(&f, c, PID_A, 2);
	enter(c);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &iommu, vmx_model_irte_lo(0x71, false, PID_A),
					    hi),
			 VMX_MODEL_VTD_POSTED);
	assert_int_equal(vmx_model_vtd_post(&f.sys, &iommu, vmx_model_irte_lo(0x33, false, PID_A),
					    hi),
			 VMX_MODEL_VTD_POSTED);
	assert_int_equal(iommu.n, 1);
	assert_int_equal(iommu.ev[0].kind, VMX_MODEL_EV_NOTIFY);
	assert_int_equal(iommu.ev[0].a, NV);
	assert_int_equal(iommu.ev[0].b, 2);

	assert_int_equal(vmx_model_ext_intr(c, (uint8_t)iommu.ev[0].a), 0);
	state(c, 0x71, 0, 0, (const int[]){ 0x71, 0x33, -1 }, none);
	assert_int_equal(vmx_model_boundary(c), 1);
	assert_int_equal(vmx_model_boundary(c), 0);
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VEOI, 0), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 0, 0x33, 0x30, none, (const int[]){ 0x33, -1 });
	nlog(c, 3);
	ev(c, 0, VMX_MODEL_EV_LAPIC_EOI, 0, 0, 0);
	ev(c, 1, VMX_MODEL_EV_DELIVER, 0x71, 0, 0);
	ev(c, 2, VMX_MODEL_EV_DELIVER, 0x33, 0, 0);
}

/* The descriptor accessors on a structure not wholly inside memory (or
 * whose address range wraps): reads give 0, writes change nothing. */
static void test_accessors_outside_memory(void **s)
{
	struct fx f;
	(void)s;

	fx_init(&f, true);
	memset(mem, 0xA5, sizeof(mem));
	memcpy(snap, mem, sizeof(mem));
	vmx_model_pid_init(&f.sys, MEM_SIZE - 32, 0xF2, 0x12345678);
	vmx_model_pid_set_on(&f.sys, UINT64_MAX - 31, true);
	vmx_model_pid_set_pir(&f.sys, MEM_SIZE - 63, 0);
	vmx_model_upid_init(&f.sys, MEM_SIZE - 8, 1, 2);
	vmx_model_upid_set_sn(&f.sys, UINT64_MAX, true);
	vmx_model_uitte_set(&f.sys, UINT64_MAX - 15, 0, true, 1, 0);
	vmx_model_uitte_set(&f.sys, 0, UINT32_MAX, true, 1, 0);
	vmx_model_wr64(&f.sys, MEM_SIZE - 4, 0);
	assert_memory_equal(snap, mem, sizeof(mem));
	assert_int_equal(vmx_model_rd64(&f.sys, MEM_SIZE - 4), 0);
	assert_int_equal(vmx_model_rd64(&f.sys, UINT64_MAX - 3), 0);
	assert_false(vmx_model_pid_on(&f.sys, MEM_SIZE - 32));
	assert_int_equal(vmx_model_pid_ndst(&f.sys, UINT64_MAX), 0);
	assert_int_equal(vmx_model_pid_nv(&f.sys, UINT64_MAX - 40), 0);
	assert_int_equal(vmx_model_upid_pir(&f.sys, MEM_SIZE - 8), 0);
	assert_false(vmx_model_mem_ok(&f.sys, MEM_SIZE - 8, 16));
	assert_false(vmx_model_mem_ok(&f.sys, UINT64_MAX - 7, 16));
	assert_true(vmx_model_mem_ok(&f.sys, MEM_SIZE - 16, 16));
	/* Inside, the same calls act. */
	assert_int_equal(vmx_model_pid_nv(&f.sys, MEM_SIZE - 64), 0xA5);
	vmx_model_pid_init(&f.sys, MEM_SIZE - 64, 0xF2, 0x12345678);
	assert_int_equal(vmx_model_pid_ndst(&f.sys, MEM_SIZE - 64), 0x12345678);
}

/* ---- user interrupts ---- */

/* The sender: UITT at UITT with UITTSZ 2; entry 0 -> UPID, vector 5;
 * entry 1 not valid; entry 2 with UV 47H (bits 15:14 reserved); entry 3
 * valid but beyond UITTSZ. The
 * receiver's UPID: NV UINV, NDST 1 (its virtual APIC ID). */
static void fx_uintr_sender(struct fx *f, struct vmx_model_cpu *c, bool ipiv, bool x2apic)
{
	if (ipiv)
		fx_ipiv(f, c, x2apic);
	else
		fx_apicv(f, c, PID_A, 0);
	c->x2apic_virt = x2apic;
	c->cr4_uintr = true;
	c->lma = true;
	c->cpl = 3;
	c->uintr_tt = UITT | 1;
	c->uittsz = 2;
	vmx_model_uitte_set(&f->sys, UITT, 0, true, 5, UPID);
	vmx_model_uitte_set(&f->sys, UITT, 1, false, 6, UPID);
	vmx_model_uitte_set(&f->sys, UITT, 2, true, 0x47, UPID);
	/* Beyond UITTSZ, and valid: only the size check refuses it. */
	vmx_model_uitte_set(&f->sys, UITT, 3, true, 7, UPID);
	vmx_model_upid_init(&f->sys, UPID, UINV, x2apic ? 1 : 0x0100);
}

static void test_senduipi(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_uintr_sender(&f, c, true, true);
	enter(c);
	/* UPID.PIR[5], ON; the notification ECH to APIC ID 1 is virtualized:
	 * PID_B gets PIR[ECH] and ON, and PID_B's own notification goes. */
	assert_int_equal(vmx_model_senduipi(c, 0), 0);
	assert_int_equal(vmx_model_upid_pir(&f.sys, UPID), 1ULL << 5);
	assert_true(vmx_model_upid_on(&f.sys, UPID));
	assert_true(vmx_model_pid_pir(&f.sys, PID_B, UINV));
	assert_true(vmx_model_pid_on(&f.sys, PID_B));
	nlog(c, 1);
	ev(c, 0, VMX_MODEL_EV_NOTIFY, 0xF3, 0x11, 0x11);
	/* Again: UPID.ON set, no notification at all. */
	vmx_model_pid_set_on(&f.sys, PID_B, false);
	assert_int_equal(vmx_model_senduipi(c, 0), 0);
	assert_false(vmx_model_pid_on(&f.sys, PID_B));
	nlog(c, 1);
	/* SN set, ON clear: PIR only. */
	vmx_model_upid_set_on(&f.sys, UPID, false);
	vmx_model_upid_set_sn(&f.sys, UPID, true);
	mem[UITT] = 1;
	mem[UITT + 1] = 9;
	assert_int_equal(vmx_model_senduipi(c, 0), 0);
	assert_int_equal(vmx_model_upid_pir(&f.sys, UPID), (1ULL << 5) | (1ULL << 9));
	assert_false(vmx_model_upid_on(&f.sys, UPID));
	nlog(c, 1);

	/* Faults, nothing written: index beyond UITTSZ, invalid entry,
	 * reserved UV bits, reserved UPID bits; #UD without CR4.UINTR, outside
	 * 64-bit mode, or with IA32_UINTR_TT[0] clear. */
	vmx_model_upid_set_sn(&f.sys, UPID, false);
	memcpy(snap, mem, sizeof(mem));
	assert_int_equal(vmx_model_senduipi(c, 3), 0);
	assert_int_equal(vmx_model_senduipi(c, 1), 0);
	assert_int_equal(vmx_model_senduipi(c, 2), 0);
	mem[UPID + 3] = 0x80;
	assert_int_equal(vmx_model_senduipi(c, 0), 0);
	mem[UPID + 3] = 0;
	c->cr4_uintr = false;
	assert_int_equal(vmx_model_senduipi(c, 0), 0);
	c->cr4_uintr = true;
	c->lma = false;
	assert_int_equal(vmx_model_senduipi(c, 0), 0);
	c->lma = true;
	c->uintr_tt = UITT;
	assert_int_equal(vmx_model_senduipi(c, 0), 0);
	assert_memory_equal(snap, mem, sizeof(mem));
	nlog(c, 8);
	ev(c, 1, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0, 0);
	ev(c, 2, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0, 0);
	ev(c, 3, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0, 0);
	ev(c, 4, VMX_MODEL_EV_FAULT, VMX_MODEL_GP, 0, 0);
	ev(c, 5, VMX_MODEL_EV_FAULT, VMX_MODEL_UD, 0, 0);
	ev(c, 6, VMX_MODEL_EV_FAULT, VMX_MODEL_UD, 0, 0);
	ev(c, 7, VMX_MODEL_EV_FAULT, VMX_MODEL_UD, 0, 0);
	assert_true(c->in_guest);
}

/* Without IPI virtualization the notification becomes the ICR image in the
 * virtual-APIC page and an APIC-write exit with offset 300H. */
static void test_senduipi_no_ipiv(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_uintr_sender(&f, c, false, true);
	enter(c);
	assert_int_equal(vmx_model_senduipi(c, 0), 0);
	assert_true(vmx_model_upid_on(&f.sys, UPID));
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_LO), UINV);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_LO + 4), 1);
	nlog(c, 1);
	ev(c, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0x300, 0);

	/* xAPIC: VICR_HI = NDST[15:8] << 24, VICR_LO = NV. */
	fx_init(&f, true);
	fx_uintr_sender(&f, c, false, false);
	enter(c);
	assert_int_equal(vmx_model_senduipi(c, 0), 0);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_LO), UINV);
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VICR_HI), 0x01000000U);
	ev(c, 0, VMX_MODEL_EV_EXIT, VMX_MODEL_EXIT_APIC_WRITE, 0x300, 0);
}

/* The receiver: UINV delivered by virtual-interrupt delivery becomes
 * user-interrupt notification processing, then user-interrupt delivery
 * when UIF = 1 and CPL = 3. */
static void test_uintr_receive(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_B, 0x11);
	c->x2apic_virt = true;
	c->cr4_uintr = true;
	c->lma = true;
	c->cpl = 3;
	c->uif = false;
	c->uinv = UINV;
	c->upid_addr = UPID;
	vmx_model_upid_init(&f.sys, UPID, UINV, 1);
	vmx_model_upid_set_on(&f.sys, UPID, true);
	mem[UPID + 8] = (1U << 5) | (1U << 2);
	vmx_model_pid_set_pir(&f.sys, PID_B, UINV);
	vmx_model_pid_set_pir(&f.sys, PID_B, 0x30);
	vmx_model_pid_set_on(&f.sys, PID_B, true);
	enter(c);

	/* Posted-interrupt processing: VIRR ECH and 30H, RVI ECH. */
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	state(c, UINV, 0, 0, (const int[]){ UINV, 0x30, -1 }, none);
	/* Delivery of ECH = UINV: VISR set then cleared, SVI 0, VPPR by PPR
	 * virtualization 0; UPID.ON cleared, PIR moved into UIRR. RVI 30H. */
	assert_int_equal(vmx_model_boundary(c), 1);
	state(c, 0x30, 0, 0, (const int[]){ 0x30, -1 }, none);
	assert_false(vmx_model_upid_on(&f.sys, UPID));
	assert_int_equal(vmx_model_upid_pir(&f.sys, UPID), 0);
	assert_int_equal(c->uirr, (1ULL << 5) | (1ULL << 2));
	/* Nothing re-evaluated: 30H waits although class 3 > 0. */
	assert_false(c->recognized);
	/* UIF = 0: no user interrupt. */
	assert_int_equal(vmx_model_boundary(c), 0);
	/* STUI: vector 5 first (highest), UIF cleared again by delivery. */
	c->uif = true;
	assert_int_equal(vmx_model_boundary(c), 1);
	assert_int_equal(c->uirr, 1ULL << 2);
	assert_false(c->uif);
	/* CPL 0: not delivered. */
	c->uif = true;
	c->cpl = 0;
	assert_int_equal(vmx_model_boundary(c), 0);
	c->cpl = 3;
	/* A recognized virtual interrupt goes before the user interrupt. */
	assert_int_equal(vmx_model_mov_cr8(c, 0), 0); /* TPR virt.: evaluates */
	assert_true(c->recognized);
	assert_int_equal(vmx_model_boundary(c), 1);
	assert_int_equal(vmx_model_boundary(c), 1);
	assert_int_equal(c->uirr, 0);
	nlog(c, 5);
	ev(c, 0, VMX_MODEL_EV_LAPIC_EOI, 0, 0, 0);
	ev(c, 1, VMX_MODEL_EV_UNOTIFY, UINV, 0, 0);
	ev(c, 2, VMX_MODEL_EV_UINTR, 5, 0, 0);
	ev(c, 3, VMX_MODEL_EV_DELIVER, 0x30, 0, 0);
	ev(c, 4, VMX_MODEL_EV_UINTR, 2, 0, 0);

	/* CR4.UINTR = 0: UINV is an ordinary vector through the IDT. */
	c->cr4_uintr = false;
	vmx_model_pid_set_pir(&f.sys, PID_B, UINV);
	vmx_model_pid_set_on(&f.sys, PID_B, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), 0);
	assert_int_equal(vmx_model_boundary(c), 1);
	ev(c, 6, VMX_MODEL_EV_DELIVER, UINV, 0, 0);
	state(c, 0, UINV, 0xE0, none, (const int[]){ UINV, 0x30, -1 });
}

/* ---- VM entry checks and misuse ---- */

static void test_vmentry_checks(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	c->vid = false;
	assert_int_equal(vmx_model_vmentry(c), -VMX_MODEL_EENTRY);
	c->vid = true;
	c->nv = 0x1F2;
	assert_int_equal(vmx_model_vmentry(c), -VMX_MODEL_EENTRY);
	c->nv = NV;
	c->pid_addr = PID_A + 8;
	assert_int_equal(vmx_model_vmentry(c), -VMX_MODEL_EENTRY);
	c->pid_addr = MEM_SIZE;
	assert_int_equal(vmx_model_vmentry(c), -VMX_MODEL_EENTRY);
	c->pid_addr = PID_A;
	c->ipiv = true;
	c->pid_table = MEM_SIZE - 8;
	c->last_pid_index = 1;
	assert_int_equal(vmx_model_vmentry(c), -VMX_MODEL_EENTRY);
	c->pid_table = PID_TABLE + 4;
	assert_int_equal(vmx_model_vmentry(c), -VMX_MODEL_EENTRY);
	assert_false(c->in_guest);
	nlog(c, 0);
	c->pid_table = PID_TABLE;
	enter(c);
	assert_int_equal(vmx_model_vmentry(c), -VMX_MODEL_ESTATE);
}

static void test_misuse(void **s)
{
	struct fx f;
	struct vmx_model_cpu *c = &f.cpu;
	(void)s;

	fx_init(&f, true);
	fx_apicv(&f, c, PID_A, 0);
	enter(c);
	assert_int_equal(vmx_model_vmentry(NULL), -VMX_MODEL_EINVAL);
	assert_int_equal(vmx_model_ext_intr(NULL, NV), -VMX_MODEL_EINVAL);
	assert_int_equal(vmx_model_boundary(NULL), -VMX_MODEL_EINVAL);
	assert_int_equal(vmx_model_mmio_write(c, 0xFFE, 0), -VMX_MODEL_EINVAL);
	assert_int_equal(vmx_model_wrmsr(c, 0x900, 0), -VMX_MODEL_EINVAL);
	assert_int_equal(vmx_model_wrmsr(c, 0x7FF, 0), -VMX_MODEL_EINVAL);
	/* MMIO while "virtualize x2APIC mode" is on: not an APIC-access page
	 * access the model can represent. */
	c->x2apic_virt = true;
	assert_int_equal(vmx_model_mmio_write(c, VMX_MODEL_VTPR, 0x20), -VMX_MODEL_EINVAL);
	/* The descriptor moved outside memory while in the guest. */
	c->pid_addr = MEM_SIZE;
	vmx_model_pid_set_on(&f.sys, PID_A, true);
	assert_int_equal(vmx_model_ext_intr(c, NV), -VMX_MODEL_EINVAL);
	assert_true(vmx_model_pid_on(&f.sys, PID_A));
	assert_int_equal(vmx_model_reg(c, VMX_MODEL_VTPR), 0);
	nlog(c, 0);
	assert_true(c->in_guest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pi_worked_example),
		cmocka_unit_test(test_pi_nested),
		cmocka_unit_test(test_pi_other_vector_exits),
		cmocka_unit_test(test_pi_vectors_below_16),
		cmocka_unit_test(test_pi_rvi_max_and_blocking),
		cmocka_unit_test(test_pi_hlt),
		cmocka_unit_test(test_eoi_exit_bitmap),
		cmocka_unit_test(test_tpr_virt),
		cmocka_unit_test(test_tpr_threshold),
		cmocka_unit_test(test_self_ipi),
		cmocka_unit_test(test_apic_access_exits),
		cmocka_unit_test(test_ipiv_x2apic),
		cmocka_unit_test(test_ipiv_exits),
		cmocka_unit_test(test_ipiv_xapic),
		cmocka_unit_test(test_vtd_post),
		cmocka_unit_test(test_vtd_faults),
		cmocka_unit_test(test_vtd_to_cpu),
		cmocka_unit_test(test_accessors_outside_memory),
		cmocka_unit_test(test_senduipi),
		cmocka_unit_test(test_senduipi_no_ipiv),
		cmocka_unit_test(test_uintr_receive),
		cmocka_unit_test(test_vmentry_checks),
		cmocka_unit_test(test_misuse),
	};

	return virq_run_group_tests(tests);
}
