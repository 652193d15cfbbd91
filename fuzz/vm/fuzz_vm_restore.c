/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: virq_vm_restore() of input-chosen bytes into a small
 * VM (4 LAPICs, 0-2 I/O APICs, the PIC or not, 12 GSIs) that the input
 * first moved away from its init state.
 *
 * Input (bytes past the end read as 0):
 *  - byte 0, the VM: bit 0 lowest_vector_hashing, bit 1 the x2APIC
 *    broadcast quirk, bit 2 VIRQ_MSI_EXT_DEST, bit 3 ops->read_irte
 *    present, bit 4 the PIC attached (BSP = bit 7 ? 1 : 0), bits 6:5 the
 *    number of I/O APICs (3 reads as 2; the second at GSI 8, sid 0x0102);
 *  - byte 1, how the state is made (modulo 3): 0 raw bytes; 1 a state
 *    saved from this VM, then up to 15 XOR patches (u16 offset modulo the
 *    state's size, u8 value); 2 raw bytes with version, size, gsi_size and
 *    nr_gsis set right;
 *  - byte 2: up to 15 ops before the save/restore, byte 3: up to 15 ops
 *    after an accepted restore; each op is 12 bytes: kind (modulo 4) then
 *    arguments: a line change (virq_vm_set_irq, GSI possibly out of
 *    range), a route (virq_vm_set_gsi_route, fields as given), a remapping
 *    change (virq_vm_set_ir) or a lowest-priority delivery to all vCPUs;
 *  - the state: struct virq_vm_state, then 12 struct virq_vm_gsi_state
 *    (raw modes only).
 *
 * Checks: restore returns exactly what an independent reading of vm.h's
 * rules predicts (doc_verdict()). Refused: the VM, its GSI table, map and
 * keys, every LAPIC (object and page), the I/O APICs and the PIC are
 * byte-identical. Accepted: the controllers are byte-identical still (the
 * restore drives no line), vm_check_invariants() holds, every map key is
 * its LAPIC's current ID and mode, and a re-save gives back the input
 * exactly (an accepted state is already in the normal form save writes).
 * After every later op: every controller's invariants and the lock depth.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <virq/vm.h>

#include "../fuzz_common.h"
#include "ioapic/ioapic_priv.h"
#include "lapic/lapic_priv.h"
#include "pic/pic_priv.h"
#include "vm/vm_priv.h"
#include "vm_keys.h"

#define NV 4U
#define NMAP 16U
#define NGSI 12U
#define NIO 2U

static uint32_t pages[NV][1024] __attribute__((aligned(4096)));
static struct virq_lapic apics[NV];
static struct virq_lapic_config lcfg[NV];
static uint32_t idx[NV];
static struct virq_lapic *vcpus[NV];
static uint32_t map[NMAP];
static uint64_t map_key[NV];
static struct virq_vm_gsi gsis[NGSI];
static struct virq_vm vm;
static struct virq_ioapic ioapics[NIO];
static struct virq_pic pic;
static unsigned lock_depth;
static bool vm_ready;

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

static int f_read_irte(void *ctx, uint32_t index, uint64_t irte[2])
{
	(void)ctx;
	(void)index;
	irte[0] = 0;
	irte[1] = 0;
	return 0;
}

static const struct virq_vm_ops ops_plain = {
	.size = sizeof(struct virq_vm_ops),
	.lock = f_lock,
	.unlock = f_unlock,
};

static const struct virq_vm_ops ops_ir = {
	.size = sizeof(struct virq_vm_ops),
	.lock = f_lock,
	.unlock = f_unlock,
	.read_irte = f_read_irte,
};

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
	(void)virq_vm_send_ipi(&vm, m);
}

static void l_eoi_level(void *ctx, uint8_t v)
{
	(void)ctx;
	virq_vm_eoi(&vm, v);
}

static void l_dest_changed(void *ctx)
{
	if (!vm_ready)
		return; /* virq_vm_init() reads the IDs itself */
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

/* Everything a restore may or may not change, as bytes. */
struct snapshot {
	struct virq_vm vm;
	struct virq_vm_gsi gsis[NGSI];
	uint32_t map[NMAP];
	uint64_t map_key[NV];
	struct virq_lapic apics[NV];
	uint32_t pages[NV][1024];
	struct virq_ioapic ioapics[NIO];
	struct virq_pic pic;
};

static struct snapshot before, after;

static void take(struct snapshot *s)
{
	memcpy(&s->vm, &vm, sizeof(vm));
	memcpy(s->gsis, gsis, sizeof(gsis));
	memcpy(s->map, map, sizeof(map));
	memcpy(s->map_key, map_key, sizeof(map_key));
	memcpy(s->apics, apics, sizeof(apics));
	memcpy(s->pages, pages, sizeof(pages));
	memcpy(s->ioapics, ioapics, sizeof(ioapics));
	memcpy(&s->pic, &pic, sizeof(pic));
}

static bool controllers_equal(const struct snapshot *a, const struct snapshot *b)
{
	return !memcmp(a->apics, b->apics, sizeof(a->apics)) &&
	       !memcmp(a->pages, b->pages, sizeof(a->pages)) &&
	       !memcmp(a->ioapics, b->ioapics, sizeof(a->ioapics)) &&
	       !memcmp(&a->pic, &b->pic, sizeof(a->pic));
}

static void check_all(void)
{
	CHECK(lock_depth == 0);
	CHECK(vm_check_invariants(&vm) == 0);
	for (unsigned i = 0; i < NV; i++) {
		enum virq_lapic_mode mode = virq_lapic_get_mode(&apics[i]);
		uint64_t k = map_key[i] & VM_KEY_DEST_MASK;

		CHECK(lapic_check_invariants(&apics[i]) == 0);
		if (mode == VIRQ_LAPIC_MODE_DISABLED) {
			CHECK(k == VM_KEY_NONE);
			continue;
		}
		CHECK(k == expected_key(&apics[i]));
	}
	for (unsigned i = 0; i < vm.nr_ioapics; i++)
		CHECK(ioapic_check_invariants(&ioapics[i]) == 0);
	if (vm.pic)
		CHECK(pic_check_invariants(&pic) == 0);
}

/* One op of 12 input bytes; return codes are checked against the rules. */
static void do_op(struct input *in)
{
	uint8_t kind = in_u8(in) % 4U;
	uint8_t a = in_u8(in), b = in_u8(in), c = in_u8(in);
	uint64_t w = in_u64(in);

	switch (kind) {
	case 0: { /* line */
		uint32_t gsi = a % (NGSI + 2U);
		int rc = virq_vm_set_irq(&vm, gsi, b % 33U, (enum virq_irq_op)(c % 4U));

		CHECK(rc == (gsi < NGSI && b % 33U < 32U ? 0 : -VIRQ_EINVAL));
		break;
	}
	case 1: { /* route */
		struct virq_gsi_route r;
		uint32_t gsi = a % (NGSI + 1U);
		bool ok;
		int rc;

		memset(&r, 0, sizeof(r));
		r.ioapic = (b & 0x80U) ? VIRQ_VM_NO_ROUTE : (uint8_t)(b % 10U);
		r.pin = (uint8_t)(w % 125U);
		r.pic_irq = (c & 0x80U) ? VIRQ_VM_NO_ROUTE : (uint8_t)(c % 18U);
		r.msi = (w >> 8) & 1U;
		r.msi_addr = 0xFEE00000ULL | ((w >> 16) & 0xFF000ULL);
		r.msi_data = (uint32_t)(w >> 32) & 0xC7FFU;
		r.msi_sid = (uint16_t)(w >> 48);
		r.reserved = (uint16_t)((w >> 9) & 1U);
		ok = gsi < NGSI && !r.reserved &&
		     (r.ioapic == VIRQ_VM_NO_ROUTE ||
		      (r.ioapic < VIRQ_VM_MAX_IOAPICS && r.pin < VIRQ_IOAPIC_MAX_PINS)) &&
		     (r.pic_irq == VIRQ_VM_NO_ROUTE || r.pic_irq <= 15U);
		rc = virq_vm_set_gsi_route(&vm, gsi, &r);
		CHECK(rc == (ok ? 0 : -VIRQ_EINVAL));
		break;
	}
	case 2: { /* remapping */
		struct virq_ir_config ir;
		bool en = a & 1U;
		int rc;

		memset(&ir, 0, sizeof(ir));
		ir.size = sizeof(ir);
		ir.table_entries = (uint32_t)(w % 70000U);
		ir.eime = b & 1U;
		ir.cfi = b & 2U;
		ir.posting = b & 4U;
		rc = virq_vm_set_ir(&vm, en, &ir);
		CHECK(rc == (!en || (vm.ops->read_irte && ir.table_entries >= 1U &&
				     ir.table_entries <= 65536U)
				     ? 0
				     : -VIRQ_EINVAL));
		break;
	}
	default: { /* lowest priority, flat logical to all: moves the cursor */
		struct virq_apic_msg m;

		memset(&m, 0, sizeof(m));
		m.dest = 0x0F;
		m.logical = true;
		m.src = VIRQ_MSG_SRC_NONE;
		m.delivery = VIRQ_DM_LOWEST;
		m.vector = (uint8_t)(0x20U + a % 0xD0U);
		m.level = true;
		(void)virq_vm_deliver(&vm, &m);
		break;
	}
	}
	check_all();
}

/* The verdict vm.h's rules give for (@st, @g) against this VM. */
static int doc_verdict(const struct virq_vm_state *st, const struct virq_vm_gsi_state *g)
{
	uint32_t bsp = vm.pic ? vm.bsp : VIRQ_VM_NO_VCPU;
	uint32_t cfg = (vm.cfg.lowest_vector_hashing ? 1U : 0U) |
		       (vm.cfg.x2apic_broadcast_quirk ? 2U : 0U);
	bool en = st->ir_flags & VIRQ_VM_STATE_IR_ENABLED;

	if (st->nr_gsis != NGSI)
		return -VIRQ_EINVAL; /* the array has NGSI entries */
	if (st->version != VIRQ_VM_STATE_VERSION || st->size != sizeof(*st) ||
	    st->gsi_size != sizeof(*g))
		return -VIRQ_EVERSION;
	if (st->reserved[0] || st->reserved[1] || st->nr_vcpus != NV ||
	    st->msi_flags != vm.cfg.msi_flags || st->cfg_flags != cfg ||
	    st->nr_ioapics != vm.nr_ioapics || st->pic_bsp != bsp)
		return -VIRQ_ESTATE;
	for (unsigned i = 0; i < VIRQ_VM_MAX_IOAPICS; i++) {
		const struct virq_vm_ioapic_wiring *x = &st->ioapics[i];

		if (x->reserved)
			return -VIRQ_ESTATE;
		if (i < vm.nr_ioapics
			    ? (x->gsi_base != vm.ioapics[i].gsi_base || x->sid != vm.ioapics[i].sid)
			    : (x->gsi_base || x->sid))
			return -VIRQ_ESTATE;
	}
	if (st->ir_flags > 15U)
		return -VIRQ_ESTATE;
	if (en ? (!vm.ops->read_irte || !st->ir_table_entries || st->ir_table_entries > 65536U)
	       : (st->ir_flags || st->ir_table_entries))
		return -VIRQ_ESTATE;
	for (unsigned n = 0; n < NGSI; n++) {
		if (g[n].reserved || g[n].msi > 1U)
			return -VIRQ_ESTATE;
		if (g[n].ioapic != 0xFFU && (g[n].ioapic >= 8U || g[n].pin >= 120U))
			return -VIRQ_ESTATE;
		if (g[n].pic_irq != 0xFFU && g[n].pic_irq > 15U)
			return -VIRQ_ESTATE;
	}
	return 0;
}

static void setup(uint8_t vmb)
{
	struct virq_vm_config cfg;
	struct virq_ioapic_config icfg;
	unsigned nio = (vmb >> 5) & 3U;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = NV;
	cfg.map_entries = NMAP;
	cfg.nr_gsis = NGSI;
	cfg.lowest_vector_hashing = vmb & 1U;
	cfg.x2apic_broadcast_quirk = (vmb >> 1) & 1U;
	cfg.msi_flags = (vmb & 4U) ? VIRQ_MSI_EXT_DEST : 0U;
	memset(pages, 0, sizeof(pages));
	for (unsigned i = 0; i < NV; i++) {
		memset(&lcfg[i], 0, sizeof(lcfg[i]));
		lcfg[i].size = sizeof(lcfg[i]);
		lcfg[i].apic_id = i;
		lcfg[i].bsp = i == 0;
		lcfg[i].x2apic = true;
		idx[i] = i;
		CHECK(virq_lapic_init(&apics[i], pages[i], &lcfg[i], &lapic_ops, &idx[i]) == 0);
		vcpus[i] = &apics[i];
	}
	CHECK(virq_vm_init(&vm, &cfg, vcpus, map, map_key, gsis, (vmb & 8U) ? &ops_ir : &ops_plain,
			   NULL) == 0);
	vm_ready = true;
	for (unsigned i = 0; i < NV; i++) {
		/* Software-enabled, flat logical ID bit i. */
		CHECK(virq_lapic_mmio_write(&apics[i], VIRQ_LAPIC_REG_SVR, 4, 0x1FF) == 0);
		CHECK(virq_lapic_mmio_write(&apics[i], VIRQ_LAPIC_REG_LDR, 4, 1U << (24 + i)) == 0);
	}
	memset(&icfg, 0, sizeof(icfg));
	icfg.size = sizeof(icfg);
	icfg.version = 0x20;
	if (nio > NIO)
		nio = NIO;
	for (unsigned i = 0; i < nio; i++)
		CHECK(virq_vm_attach_ioapic(&vm, &ioapics[i], &icfg, i ? 8U : 0U,
					    i ? 0x0102U : 0xF0F8U) == (int)i);
	if (vmb & 0x10U)
		CHECK(virq_vm_attach_pic(&vm, &pic, (vmb & 0x80U) ? 1U : 0U) == 0);
	check_all();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct virq_vm_state st, st2;
	struct virq_vm_gsi_state g[NGSI], g2[NGSI];
	uint8_t vmb = in_u8(&in), mode = in_u8(&in) % 3U;
	unsigned pre = in_u8(&in) % 16U, post = in_u8(&in) % 16U;
	int want, rc;

	memset(&vm, 0, sizeof(vm));
	memset(ioapics, 0, sizeof(ioapics));
	memset(&pic, 0, sizeof(pic));
	lock_depth = 0;
	vm_ready = false;
	setup(vmb);
	for (unsigned k = 0; k < pre; k++)
		do_op(&in);

	if (mode == 1) {
		unsigned patches = in_u8(&in) % 16U;

		CHECK(virq_vm_save(&vm, &st, g, NGSI) == 0);
		CHECK(doc_verdict(&st, g) == 0);
		for (unsigned k = 0; k < patches; k++) {
			size_t off = in_u16(&in) % (sizeof(st) + sizeof(g));
			uint8_t x = in_u8(&in);

			if (off < sizeof(st))
				((uint8_t *)&st)[off] ^= x;
			else
				((uint8_t *)g)[off - sizeof(st)] ^= x;
		}
	} else {
		for (size_t k = 0; k < sizeof(st); k++)
			((uint8_t *)&st)[k] = in_u8(&in);
		for (size_t k = 0; k < sizeof(g); k++)
			((uint8_t *)g)[k] = in_u8(&in);
		if (mode == 2) {
			st.version = VIRQ_VM_STATE_VERSION;
			st.size = sizeof(st);
			st.gsi_size = sizeof(g[0]);
			st.nr_gsis = NGSI;
		}
	}

	want = doc_verdict(&st, g);
	take(&before);
	rc = virq_vm_restore(&vm, &st, g, NGSI);
	take(&after);
	CHECK(rc == want);
	CHECK(lock_depth == 0);
	CHECK(controllers_equal(&before, &after));
	if (rc) {
		CHECK(!memcmp(&before, &after, sizeof(before)));
		return 0;
	}
	check_all();
	CHECK(virq_vm_save(&vm, &st2, g2, NGSI) == 0);
	CHECK(!memcmp(&st2, &st, sizeof(st)));
	CHECK(!memcmp(g2, g, sizeof(g)));
	for (unsigned k = 0; k < post; k++)
		do_op(&in);
	return 0;
}
