/* SPDX-License-Identifier: MIT */
/*
 * IPI virtualization in a closed loop: the library (lib/vm/ipiv.c) fills
 * the PID-pointer table from the VM's APIC-ID map; the executable SDM
 * model (tests/vmx/model) plays the sending processor: it reads the table
 * and the target's descriptor as bytes through its own accessors, posts
 * into the descriptor (the `pi` field of the library's struct virq_lapic)
 * and sends the notification; the target LAPIC's sync takes the vector.
 *
 * Model memory is the VM fixture itself (tests/vm/harness.h): host-physical
 * address = offset in the fixture, so the LAPICs, their descriptors and the
 * table (the register page of vCPU slot FX_MAX_VCPUS - 1, which no test
 * creates) are all "physical memory" the model can read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <virq/ipiv.h>

#include "vm/harness.h"
#include "model.h"

#define NV 0xF2U
#define TABLE_SLOT (FX_MAX_VCPUS - 1U)

struct world {
	struct vm_fixture *fx;
	struct virq_ipiv ipiv;
	uint64_t pids[FX_MAX_VCPUS];
	uint64_t *table;
	struct vmx_model_sys sys;
	struct vmx_model_cpu cpu;
};

static uint64_t pa_of(const struct world *w, const void *p)
{
	return (uint64_t)((const uint8_t *)p - (const uint8_t *)w->fx);
}

/* The descriptor address of vCPU @i: its LAPIC's first field. */
static uint64_t pid_pa(const struct world *w, uint32_t i)
{
	return pa_of(w, &w->fx->apics[i].pi);
}

static void world_init(struct world *w, uint32_t nr, uint32_t entries)
{
	memset(w, 0, sizeof(*w));
	w->fx = fx_new(nr, 256, 0);
	w->table = (uint64_t *)(void *)w->fx->pages[TABLE_SLOT];
	assert_true(entries <= 512U);
	assert_int_equal(virq_ipiv_init(&w->ipiv, w->table, entries, w->pids, nr), 0);
	assert_int_equal(virq_vm_attach_ipiv(&w->fx->vm, &w->ipiv), 0);
	w->sys.mem = (uint8_t *)w->fx;
	w->sys.size = sizeof(*w->fx);
	w->sys.maxphyaddr = 46;
	w->sys.host_x2apic = true;
}

/* vCPU @i's descriptor: address registered, notification NV to host CPU
 * 0x40 + i (x2APIC NDST). */
static void world_pid(struct world *w, uint32_t i)
{
	virq_pi_set_notification(&w->fx->apics[i].pi, NV, 0x40U + i);
	assert_int_equal(virq_ipiv_set_pid(&w->ipiv, i, pid_pa(w, i)), 0);
}

/* The model processor runs vCPU @sender with IPI virtualization. */
static void world_enter(struct world *w, uint32_t sender, bool x2apic)
{
	struct vmx_model_cpu *c = &w->cpu;

	vmx_model_init(c, &w->sys);
	c->vid = true;
	c->posted = true;
	c->nv = NV;
	c->pid_addr = pid_pa(w, sender);
	c->ipiv = true;
	c->pid_table = pa_of(w, w->table);
	c->last_pid_index = virq_ipiv_last_index(&w->ipiv);
	c->x2apic_virt = x2apic;
	c->apic_reg_virt = true;
	c->rflags_if = true;
	assert_int_equal(vmx_model_vmentry(c), 0);
}

/* The VMM's answer to an exit: back into the guest. */
static void reenter(struct world *w)
{
	if (!w->cpu.in_guest)
		assert_int_equal(vmx_model_vmentry(&w->cpu), 0);
}

static void world_free(struct world *w)
{
	fx_check(w->fx);
	assert_int_equal(virq_vm_attach_ipiv(&w->fx->vm, NULL), 0);
	fx_free(w->fx);
}

static unsigned count_ev(const struct vmx_model_cpu *c, enum vmx_model_ev_kind k)
{
	unsigned n = 0;

	for (unsigned e = 0; e < c->log.n; e++)
		n += c->log.ev[e].kind == k;
	return n;
}

/* The model's verdict on the last guest write: an APIC-write exit at 300H. */
static bool model_exited(const struct vmx_model_cpu *c)
{
	for (unsigned e = 0; e < c->log.n; e++)
		if (c->log.ev[e].kind == VMX_MODEL_EV_EXIT && c->log.ev[e].a == 56U &&
		    c->log.ev[e].b == 0x300U)
			return true;
	return false;
}

/* Takes every vector vCPU @i has (sync, ack, EOI), in order, into @out;
 * returns how many. */
static unsigned take_all(struct world *w, uint32_t i, int *out, unsigned max)
{
	struct virq_lapic *l = &w->fx->apics[i];
	unsigned n = 0;
	int v;

	(void)virq_lapic_sync(l);
	while ((v = virq_lapic_ack(l)) >= 0) {
		if (n < max)
			out[n] = v;
		n++;
		virq_lapic_eoi(l);
	}
	return n;
}

static bool pid_empty(const struct world *w, uint32_t i)
{
	uint64_t pa = pid_pa(w, i);

	for (unsigned v = 0; v < 256U; v++)
		if (vmx_model_pid_pir(&w->sys, pa, v))
			return false;
	return !vmx_model_pid_on(&w->sys, pa);
}

static uint64_t xicr(uint32_t dest, uint32_t lo)
{
	return (uint64_t)dest << 32 | lo;
}

/* The table the library keeps, entry by entry, as the map changes. */
static void test_table_follows_map(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, 4, 16);
	assert_int_equal(virq_ipiv_last_index(&w.ipiv), 15);
	for (uint32_t i = 0; i < 4; i++)
		fx_add_xapic(w.fx, i, i);
	/* No descriptor registered yet: every entry invalid. */
	for (uint32_t k = 0; k < 16; k++)
		assert_int_equal(w.table[k], 0);
	for (uint32_t i = 0; i < 4; i++)
		world_pid(&w, i);
	for (uint32_t k = 0; k < 16; k++)
		assert_int_equal(w.table[k], k < 4 ? (pid_pa(&w, k) | 1U) : 0U);
	fx_check(w.fx);

	/* vCPU 2 takes xAPIC ID 9: entry 2 invalid, entry 9 names its PID. */
	fx_mmio_w(w.fx, 2, VIRQ_LAPIC_REG_ID, 9U << 24);
	assert_int_equal(w.table[2], 0);
	assert_int_equal(w.table[9], pid_pa(&w, 2) | 1U);
	fx_check(w.fx);
	/* vCPU 3 takes 9 too: a shared ID never names one descriptor. */
	fx_mmio_w(w.fx, 3, VIRQ_LAPIC_REG_ID, 9U << 24);
	assert_int_equal(w.table[3], 0);
	assert_int_equal(w.table[9], 0);
	fx_check(w.fx);
	/* vCPU 3 goes back: 9 is vCPU 2's again, 3 is vCPU 3's. */
	fx_mmio_w(w.fx, 3, VIRQ_LAPIC_REG_ID, 3U << 24);
	assert_int_equal(w.table[9], pid_pa(&w, 2) | 1U);
	assert_int_equal(w.table[3], pid_pa(&w, 3) | 1U);
	/* vCPU 2 switches to x2APIC mode: its ID is its initial APIC ID, 2,
	 * again (the xAPIC ID write does not survive, SDM 10.12.5.1 "x2APIC
	 * States"). */
	assert_int_equal(virq_lapic_set_apic_base(&w.fx->apics[2],
						  VIRQ_APIC_BASE_ADDR_DEFAULT | VIRQ_APIC_BASE_EN |
							  VIRQ_APIC_BASE_EXTD,
						  false),
			 0);
	assert_int_equal(w.table[9], 0);
	assert_int_equal(w.table[2], pid_pa(&w, 2) | 1U);
	fx_check(w.fx);
	/* Globally disabled LAPIC (IA32_APIC_BASE.EN = 0): invalid. */
	assert_int_equal(
		virq_lapic_set_apic_base(&w.fx->apics[1], VIRQ_APIC_BASE_ADDR_DEFAULT, false), 0);
	assert_int_equal(w.table[1], 0);
	/* Hot-unplug and the descriptor address withdrawn. */
	assert_int_equal(virq_vm_set_vcpu(&w.fx->vm, 0, NULL), 0);
	assert_int_equal(w.table[0], 0);
	assert_int_equal(virq_ipiv_set_pid(&w.ipiv, 3, 0), 0);
	assert_int_equal(w.table[3], 0);
	fx_check(w.fx);
	/* Detach: every entry invalid. */
	assert_int_equal(virq_vm_attach_ipiv(&w.fx->vm, NULL), 0);
	for (uint32_t k = 0; k < 16; k++)
		assert_int_equal(w.table[k], 0);
	assert_int_equal(virq_vm_attach_ipiv(&w.fx->vm, &w.ipiv), 0);
	for (uint32_t k = 0; k < 16; k++)
		assert_int_equal(w.table[k], k == 2 ? (pid_pa(&w, 2) | 1U) : 0U);
	world_free(&w);
}

/* A whole-VM restore rebuilds the map from the LAPICs, and the table with
 * it: a LAPIC restored with another APIC ID is found under the new one. */
static void test_table_restore(void **state)
{
	struct world w;
	struct virq_lapic_state ls;
	struct virq_vm_state vs;

	(void)state;
	world_init(&w, 3, 16);
	for (uint32_t i = 0; i < 3; i++) {
		fx_add_xapic(w.fx, i, i);
		world_pid(&w, i);
	}
	fx_mmio_w(w.fx, 2, VIRQ_LAPIC_REG_ID, 9U << 24);
	assert_int_equal(virq_lapic_save(&w.fx->apics[2], &ls), 0);
	fx_mmio_w(w.fx, 2, VIRQ_LAPIC_REG_ID, 2U << 24);
	assert_int_equal(w.table[2], pid_pa(&w, 2) | 1U);
	assert_int_equal(virq_vm_save(&w.fx->vm, &vs, NULL, 0), 0);
	/* The LAPIC comes back with ID 9; then the VM's own state. */
	assert_int_equal(virq_lapic_restore(&w.fx->apics[2], &ls), 0);
	assert_int_equal(virq_vm_restore(&w.fx->vm, &vs, NULL, 0), 0);
	assert_int_equal(w.table[2], 0);
	assert_int_equal(w.table[9], pid_pa(&w, 2) | 1U);
	assert_int_equal(w.table[0], pid_pa(&w, 0) | 1U);
	assert_int_equal(w.table[1], pid_pa(&w, 1) | 1U);
	world_free(&w);
}

/* x2APIC IDs beyond 0xFF: index 0xFF is never valid; with an xAPIC-mode
 * vCPU present, an index above 0xFF aliasing its 8-bit ID is invalid too
 * (the software path delivers to both). */
static void test_table_aliases(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, 4, 512);
	fx_add_x2apic(w.fx, 0, 0x105);
	fx_add_x2apic(w.fx, 1, 0xFF);
	fx_add_x2apic(w.fx, 2, 0x1FF);
	for (uint32_t i = 0; i < 3; i++)
		world_pid(&w, i);
	assert_int_equal(w.table[0x105], pid_pa(&w, 0) | 1U);
	assert_int_equal(w.table[0xFF], 0);
	assert_int_equal(w.table[0x1FF], pid_pa(&w, 2) | 1U);
	fx_check(w.fx);
	/* An xAPIC-mode vCPU with ID 5 joins: 0x105 answers two LAPICs and
	 * 0x1FF is an xAPIC broadcast alias. */
	fx_add_xapic(w.fx, 3, 5);
	world_pid(&w, 3);
	assert_int_equal(w.table[5], pid_pa(&w, 3) | 1U);
	assert_int_equal(w.table[0x105], 0);
	assert_int_equal(w.table[0x1FF], 0);
	fx_check(w.fx);
	/* It leaves: both come back. */
	assert_int_equal(virq_vm_set_vcpu(&w.fx->vm, 3, NULL), 0);
	assert_int_equal(w.table[5], 0);
	assert_int_equal(w.table[0x105], pid_pa(&w, 0) | 1U);
	assert_int_equal(w.table[0x1FF], pid_pa(&w, 2) | 1U);
	world_free(&w);
}

/* Closed loop, xAPIC: the guest writes 310H then 300H on the model; the
 * model posts through the library's table into the library's LAPIC; the
 * target's sync sees the vector exactly once. Then an APIC ID change, and
 * the same write exits where the library's query says it does. */
static void test_loop_xapic_id_change(void **state)
{
	struct world w;
	int got[8];

	(void)state;
	world_init(&w, 4, 16);
	for (uint32_t i = 0; i < 4; i++) {
		fx_add_xapic(w.fx, i, i);
		world_pid(&w, i);
	}
	world_enter(&w, 0, false);

	/* vCPU 0 -> APIC ID 2, vector 0x61: posted, one notification. */
	assert_false(virq_ipiv_icr_exits(&w.ipiv, (uint64_t)2U << 56 | 0x61U, false));
	assert_int_equal(vmx_model_mmio_write(&w.cpu, 0x310, 2U << 24), 0);
	assert_int_equal(vmx_model_mmio_write(&w.cpu, 0x300, 0x61U), 0);
	assert_int_equal(w.cpu.log.n, 1);
	assert_int_equal(w.cpu.log.ev[0].kind, VMX_MODEL_EV_NOTIFY);
	assert_int_equal(w.cpu.log.ev[0].a, NV);
	assert_int_equal(w.cpu.log.ev[0].b, 0x42U);
	assert_true(vmx_model_pid_pir(&w.sys, pid_pa(&w, 2), 0x61));
	assert_true(vmx_model_pid_on(&w.sys, pid_pa(&w, 2)));
	/* Second vector before the target ran: PIR only, no notification
	 * (ON already set). */
	assert_int_equal(vmx_model_mmio_write(&w.cpu, 0x300, 0x51U), 0);
	assert_int_equal(count_ev(&w.cpu, VMX_MODEL_EV_NOTIFY), 1);
	/* The target takes both, highest first, exactly once each. */
	assert_int_equal(take_all(&w, 2, got, 8), 2);
	assert_int_equal(got[0], 0x61);
	assert_int_equal(got[1], 0x51);
	assert_true(pid_empty(&w, 2));
	assert_int_equal(take_all(&w, 2, got, 8), 0);
	for (uint32_t i = 0; i < 4; i++)
		assert_true(pid_empty(&w, i));

	/* vCPU 2 changes its APIC ID to 7 (guest xAPIC ID write). */
	fx_mmio_w(w.fx, 2, VIRQ_LAPIC_REG_ID, 7U << 24);
	w.cpu.log.n = 0;
	/* To 2: nobody has it now; the library says slow path, the model exits. */
	assert_true(virq_ipiv_icr_exits(&w.ipiv, (uint64_t)2U << 56 | 0x62U, false));
	assert_int_equal(vmx_model_mmio_write(&w.cpu, 0x300, 0x62U), 0);
	assert_int_equal(w.cpu.log.n, 1);
	assert_int_equal(w.cpu.log.ev[0].kind, VMX_MODEL_EV_EXIT);
	assert_int_equal(w.cpu.log.ev[0].a, 56);
	assert_int_equal(w.cpu.log.ev[0].b, 0x300);
	for (uint32_t i = 0; i < 4; i++)
		assert_true(pid_empty(&w, i));
	/* To 7: vCPU 2 again, exactly once. */
	reenter(&w);
	w.cpu.log.n = 0;
	assert_false(virq_ipiv_icr_exits(&w.ipiv, (uint64_t)7U << 56 | 0x63U, false));
	assert_int_equal(vmx_model_mmio_write(&w.cpu, 0x310, 7U << 24), 0);
	assert_int_equal(vmx_model_mmio_write(&w.cpu, 0x300, 0x63U), 0);
	assert_int_equal(count_ev(&w.cpu, VMX_MODEL_EV_NOTIFY), 1);
	assert_int_equal(w.cpu.log.ev[0].b, 0x42U);
	assert_int_equal(take_all(&w, 2, got, 8), 1);
	assert_int_equal(got[0], 0x63);
	for (uint32_t i = 0; i < 4; i++) {
		assert_true(pid_empty(&w, i));
		assert_int_equal(take_all(&w, i, got, 8), 0);
	}
	world_free(&w);
}

/* Closed loop, x2APIC: a hot-added vCPU becomes reachable without an exit
 * the moment virq_vm_set_vcpu() returns. */
static void test_loop_x2apic_hotplug(void **state)
{
	struct world w;
	int got[4];

	(void)state;
	world_init(&w, 4, 8);
	fx_add_x2apic(w.fx, 0, 0);
	world_pid(&w, 0);
	world_pid(&w, 3); /* the descriptor exists before the vCPU */
	world_enter(&w, 0, true);
	assert_int_equal(vmx_model_wrmsr(&w.cpu, 0x830, xicr(5, 0x70)), 0);
	assert_true(model_exited(&w.cpu));
	assert_true(virq_ipiv_icr_exits(&w.ipiv, xicr(5, 0x70), true));
	assert_true(pid_empty(&w, 3));

	/* The ordering ipiv.h asks for: LAPIC initialised, its descriptor's
	 * NV and NDST set, then virq_vm_set_vcpu() publishes it. */
	{
		struct virq_lapic_config *c = &w.fx->lcfg[3];
		struct virq_lapic *l = &w.fx->apics[3];

		memset(c, 0, sizeof(*c));
		c->size = sizeof(*c);
		c->apic_id = 5;
		c->x2apic = true;
		assert_int_equal(
			virq_lapic_init(l, w.fx->pages[3], c, &fx_lapic_ops, &w.fx->env[3]), 0);
		virq_pi_set_notification(&l->pi, NV, 0x43U);
		assert_int_equal(w.table[5], 0);
		assert_int_equal(virq_vm_set_vcpu(&w.fx->vm, 3, l), 0);
		/* Power-up state: xAPIC mode, ID 5, globally enabled: valid. */
		assert_int_equal(w.table[5], pid_pa(&w, 3) | 1U);
		assert_int_equal(virq_lapic_set_apic_base(l,
							  VIRQ_APIC_BASE_ADDR_DEFAULT |
								  VIRQ_APIC_BASE_EN |
								  VIRQ_APIC_BASE_EXTD,
							  false),
				 0);
		assert_int_equal(virq_lapic_msr_write(l, 0x80F, 0x1FF), 0);
	}
	assert_int_equal(w.table[5], pid_pa(&w, 3) | 1U);
	reenter(&w);
	w.cpu.log.n = 0;
	assert_false(virq_ipiv_icr_exits(&w.ipiv, xicr(5, 0x71), true));
	assert_int_equal(vmx_model_wrmsr(&w.cpu, 0x830, xicr(5, 0x71)), 0);
	assert_int_equal(w.cpu.log.n, 1);
	assert_int_equal(w.cpu.log.ev[0].kind, VMX_MODEL_EV_NOTIFY);
	assert_int_equal(w.cpu.log.ev[0].b, 0x43U);
	assert_int_equal(take_all(&w, 3, got, 4), 1);
	assert_int_equal(got[0], 0x71);
	assert_true(pid_empty(&w, 3));
	world_free(&w);
}

/*
 * Every ICR shape: the model exits exactly when the library's query says
 * slow path, and each write the model virtualizes lands in exactly the
 * vCPU the software path would pick (the one with that APIC ID), exactly
 * once, with one notification.
 */
static void sweep(bool x2apic)
{
	static const uint32_t vectors[] = { 0x00, 0x0F, 0x10, 0x41, 0xFF };
	static const uint32_t rsvd[] = { 0, 1U << 12, 1U << 13, 1U << 16, 1U << 20, 1U << 31 };
	static const uint32_t dests[] = { 0, 1, 2, 3, 6, 7, 8, 0xFF, 0x100, 0xFFFFFFFF };
	struct world w;
	unsigned posted = 0, exits = 0, selfs = 0;

	world_init(&w, 4, 8);
	for (uint32_t i = 0; i < 4; i++) {
		/* IDs 0, 1, 2 and 7; vCPU 1 has no descriptor. */
		if (x2apic)
			fx_add_x2apic(w.fx, i, i == 3 ? 7 : i);
		else
			fx_add_xapic(w.fx, i, i == 3 ? 7 : i);
		if (i != 1)
			world_pid(&w, i);
	}
	world_enter(&w, 0, x2apic);
	for (unsigned a = 0; a < sizeof(vectors) / sizeof(vectors[0]); a++)
		for (uint32_t dm = 0; dm < 8; dm++)
			for (uint32_t bits = 0; bits < 32; bits++)
				for (unsigned r = 0; r < sizeof(rsvd) / sizeof(rsvd[0]); r++)
					for (unsigned d = 0; d < sizeof(dests) / sizeof(dests[0]);
					     d++) {
						/* bits: dest mode, level, trigger, shorthand */
						uint32_t lo = vectors[a] | dm << 8 |
							      (bits & 1U) << 11 |
							      (bits >> 1 & 1U) << 14 |
							      (bits >> 2 & 1U) << 15 |
							      (bits >> 3 & 3U) << 18 | rsvd[r];
						uint32_t dest = x2apic ? dests[d]
								       : dests[d] & 0xFFU;
						uint64_t icr = x2apic ? xicr(dest, lo)
								      : (uint64_t)dest << 56 | lo;
						bool lib =
							virq_ipiv_icr_exits(&w.ipiv, icr, x2apic);
						bool ex;
						int got[4];

						w.cpu.log.n = 0;
						if (x2apic) {
							assert_int_equal(
								vmx_model_wrmsr(&w.cpu, 0x830, icr),
								0);
						} else {
							assert_int_equal(
								vmx_model_mmio_write(&w.cpu, 0x310,
										     dest << 24),
								0);
							assert_int_equal(vmx_model_mmio_write(
										 &w.cpu, 0x300, lo),
									 0);
						}
						ex = model_exited(&w.cpu);
						assert_int_equal(ex, lib);
						if (ex) {
							exits++;
							assert_int_equal(w.cpu.log.n, 1);
							reenter(&w);
						} else if (!x2apic && (bits >> 3) == 1U) {
							/* Self-IPI virtualization: the
							 * model's own VIRR. */
							selfs++;
							assert_int_equal(w.cpu.log.n, 0);
							assert_true(vmx_model_bit(&w.cpu,
										  VMX_MODEL_VIRR,
										  vectors[a]));
							vmx_model_set_bit(&w.cpu, VMX_MODEL_VIRR,
									  vectors[a], false);
							w.cpu.rvi = 0;
						} else {
							uint32_t who = dest == 7 ? 3 : dest;

							posted++;
							assert_true(dest == 0 || dest == 2 ||
								    dest == 7);
							assert_int_equal(
								count_ev(&w.cpu,
									 VMX_MODEL_EV_NOTIFY),
								1);
							assert_int_equal(w.cpu.log.ev[0].b,
									 0x40U + who);
							assert_int_equal(take_all(&w, who, got, 4),
									 1);
							assert_int_equal(got[0], vectors[a]);
						}
						for (uint32_t i = 0; i < 4; i++)
							assert_true(pid_empty(&w, i));
					}
	/* Virtualized: 3 vectors x the destinations 0, 2 and 7 x (lo clean:
	 * fixed, edge, physical, no shorthand, level assert either way). */
	assert_int_equal(posted, x2apic ? 3 * 3 * 2 : 3 * 4 * 2); /* xAPIC: 0x100 is 0 */
	if (!x2apic)
		assert_int_equal(selfs, 3 * 2 * 2 * 10); /* dest mode, level: any dest */
	assert_int_equal(posted + selfs + exits, 5 * 8 * 32 * 6 * 10);
	world_free(&w);
}

static void test_sweep_x2apic(void **state)
{
	(void)state;
	sweep(true);
}

static void test_sweep_xapic(void **state)
{
	(void)state;
	sweep(false);
}

/* Hostile embedder input: refused, nothing changed. */
static void test_bad_args(void **state)
{
	struct world w;
	struct virq_ipiv other;
	uint64_t t2[4], p2[4];

	(void)state;
	world_init(&w, 4, 16);
	fx_add_x2apic(w.fx, 0, 0);
	world_pid(&w, 0);
	assert_int_equal(virq_ipiv_init(NULL, t2, 4, p2, 4), -VIRQ_EINVAL);
	assert_int_equal(virq_ipiv_init(&other, NULL, 4, p2, 4), -VIRQ_EINVAL);
	assert_int_equal(virq_ipiv_init(&other, t2, 0, p2, 4), -VIRQ_EINVAL);
	assert_int_equal(virq_ipiv_init(&other, t2, 65537, p2, 4), -VIRQ_EINVAL);
	assert_int_equal(virq_ipiv_init(&other, t2, 4, p2, 0), -VIRQ_EINVAL);
	assert_int_equal(virq_ipiv_init(&other, (uint64_t *)(void *)((uint8_t *)t2 + 4), 2, p2, 4),
			 -VIRQ_EALIGN);
	assert_int_equal(virq_ipiv_set_pid(&w.ipiv, 4, 0x1000), -VIRQ_EINVAL);
	assert_int_equal(virq_ipiv_set_pid(&w.ipiv, 0, 0x1020), -VIRQ_EALIGN);
	assert_int_equal(virq_ipiv_set_pid(&w.ipiv, 0, 1ULL << 52), -VIRQ_EINVAL);
	assert_int_equal(virq_ipiv_set_pid(NULL, 0, 0x1000), -VIRQ_EINVAL);
	assert_int_equal(w.table[0], pid_pa(&w, 0) | 1U);
	/* A table for another vCPU count, or one attached elsewhere. */
	assert_int_equal(virq_ipiv_init(&other, t2, 4, p2, 3), 0);
	assert_int_equal(virq_vm_attach_ipiv(&w.fx->vm, &other), -VIRQ_EINVAL);
	assert_int_equal(virq_vm_attach_ipiv(NULL, &w.ipiv), -VIRQ_EINVAL);
	{
		struct vm_fixture *fx2 = fx_new(4, 16, 0);

		assert_int_equal(virq_vm_attach_ipiv(&fx2->vm, &w.ipiv), -VIRQ_EINVAL);
		fx_free(fx2);
	}
	assert_int_equal(w.table[0], pid_pa(&w, 0) | 1U);
	assert_true(virq_ipiv_icr_exits(NULL, xicr(0, 0x40), true));
	assert_int_equal(virq_ipiv_last_index(NULL), 0);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_follows_map),
		cmocka_unit_test(test_table_restore),
		cmocka_unit_test(test_table_aliases),
		cmocka_unit_test(test_loop_xapic_id_change),
		cmocka_unit_test(test_loop_x2apic_hotplug),
		cmocka_unit_test(test_sweep_x2apic),
		cmocka_unit_test(test_sweep_xapic),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
