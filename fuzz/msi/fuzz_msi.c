/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for lib/msi: compatibility MSI decode/encode, VT-d
 * interrupt remapping over an input-provided IRTE table, and an MSI-X
 * table and a PCI MSI capability driven by an op stream against shadow
 * models.
 *
 * Input (bytes past the end read as 0; integers little-endian):
 *   header, HDR_SIZE bytes:
 *     [0]    bit 0 EIME, bit 1 CFI, bit 2 posting supported
 *     [1..2] IRTE table size - 1 (1-65536 entries)
 *     [3]    K: number of IRTE slots that follow (0-255)
 *     [4..5] MSI-X table size - 1, modulo 2048 (1-2048 vectors)
 *     [6]    MSI capability: bits 2:0 MMC modulo 6, bit 3 64-bit address,
 *            bit 4 per-vector masking
 *     [7]    MSI capability next pointer
 *   K slots of 17 bytes: a control byte (bit 0: the read of this slot
 *     fails) and the 16-byte IRTE (bits 63:0 then 127:64). IRTE index i is
 *     slot i % K; with K = 0 every entry reads as zero (not present).
 *   then records: an op byte (modulo OP_COUNT) and its arguments, see
 *     run_op().
 *
 * Checks (a failed check prints the line and traps):
 *  - decode: the return value is one of the documented ones; a decoded
 *    message has its fields in range for the flags; decode -> encode ->
 *    decode gives the same message and encoding it again the same bytes;
 *    out is untouched unless 0 is returned;
 *  - encode of an arbitrary message: refused exactly when the destination
 *    does not fit, else decodes back to the same fields;
 *  - translate: -ENOENT exactly outside the window; kind and fault codes
 *    in range and consistent; the index recomputed here from address and
 *    data; the read hook called at most once, with that index, and only
 *    when it is below the table size; FPD only from an entry that was
 *    read; posted results carry the IRTE's vector, URG and a 64-byte
 *    aligned descriptor address, and only with posting supported;
 *    remapped messages carry the IRTE's fields, a legal delivery mode,
 *    8-bit destinations without EIME; source validation agrees with a
 *    reference written from the VT-d IRTE fields (SQ masks as QEMU, SVT=10
 *    bus order as Linux and Xen); compatibility pass-through equals
 *    virq_msi_decode(); the same request translates the same way twice;
 *  - MSI-X: after every op the table, the PBA and the sent messages equal
 *    the shadow model's, Vector Control keeps only bit 0, no pending bit
 *    past the table, and a pending bit only on a vector that is masked,
 *    function-masked or disabled; storage past the table is untouched;
 *  - MSI capability: after every op every DWORD read back, the control
 *    word and the sent messages equal a byte-level shadow (per-byte write
 *    masks, MME clamped to MMC); no pending bit without per-vector
 *    masking or at/past 2^MME, and with MSI enabled none on an unmasked
 *    vector; the send hook checks that MSI is enabled and the vector it
 *    carries is neither masked nor still pending; bad accesses return
 *    -EINVAL and change nothing; notify refuses exactly vectors >= 2^MME.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virq/msi.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failed(const char *what, int line) __attribute__((noreturn));

static void check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_msi.c:%d: check failed: %s\n", line, what);
	fflush(stderr);
	__builtin_trap();
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			check_failed(#cond, __LINE__);                                             \
	} while (0)

#define HDR_SIZE 8U
#define SLOT_SIZE 17U
#define FEE 0xFEE00000ULL

/* ---- input reader ---- */

struct in {
	const uint8_t *p;
	size_t n, pos;
};

static uint8_t get8(struct in *in)
{
	return in->pos < in->n ? in->p[in->pos++] : 0;
}

static uint16_t get16(struct in *in)
{
	uint16_t v = get8(in);

	return (uint16_t)(v | (uint16_t)get8(in) << 8);
}

static uint32_t get32(struct in *in)
{
	uint32_t v = get16(in);

	return v | (uint32_t)get16(in) << 16;
}

static uint64_t get64(struct in *in)
{
	uint64_t v = get32(in);

	return v | (uint64_t)get32(in) << 32;
}

/* ---- the IRTE table ---- */

struct irt {
	const uint8_t *slots; /* K * SLOT_SIZE bytes inside the input */
	unsigned k;
	uint32_t entries;
	unsigned reads;
	uint32_t last_index;
	bool last_failed;
	uint64_t last[2];
};

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int irt_read(void *ctx, uint32_t index, uint64_t irte[2])
{
	struct irt *t = ctx;
	const uint8_t *s;

	CHECK(index < t->entries);
	t->reads++;
	t->last_index = index;
	t->last_failed = false;
	if (t->k == 0) {
		t->last[0] = t->last[1] = 0;
	} else {
		s = t->slots + (size_t)(index % t->k) * SLOT_SIZE;
		if (s[0] & 1) {
			t->last_failed = true;
			/* A failing read may have scribbled on the buffer. */
			irte[0] = irte[1] = 0xDEADBEEFDEADBEEFULL;
			return -1;
		}
		t->last[0] = le64(s + 1);
		t->last[1] = le64(s + 9);
	}
	irte[0] = t->last[0];
	irte[1] = t->last[1];
	return 0;
}

/* ---- decode / encode ---- */

static void check_msg_common(const struct virq_apic_msg *m)
{
	CHECK(m->src == VIRQ_MSG_SRC_NONE);
	CHECK(m->shorthand == VIRQ_SH_NONE);
	CHECK(m->delivery <= 7);
	CHECK(m->reserved0 == 0);
	CHECK(m->trigger_level || m->level); /* edge messages are asserts */
}

static void check_decode(uint64_t addr, uint32_t data, unsigned flags)
{
	struct virq_apic_msg m, m2, pat;
	uint64_t a2, a3;
	uint32_t d2, d3;
	int rc;

	memset(&m, 0x5C, sizeof(m));
	pat = m;
	rc = virq_msi_decode(addr, data, flags, &m);
	if (flags & ~3U) {
		CHECK(rc == -VIRQ_EINVAL);
		CHECK(memcmp(&m, &pat, sizeof(m)) == 0);
		return;
	}
	if (((addr >> 20) & 0xFFF) != 0xFEE ||
	    ((flags & VIRQ_MSI_ADDR_HI_DEST) ? (addr >> 32) & 0xFF : addr >> 32) != 0) {
		CHECK(rc == -VIRQ_ENOENT);
		CHECK(memcmp(&m, &pat, sizeof(m)) == 0);
		return;
	}
	if (addr & 0x10) {
		CHECK(rc == VIRQ_MSI_REMAPPABLE);
		CHECK(memcmp(&m, &pat, sizeof(m)) == 0);
		return;
	}
	CHECK(rc == 0);
	check_msg_common(&m);
	CHECK(m.vector == (data & 0xFF));
	CHECK(m.logical == ((addr >> 2) & 1));
	CHECK(m.trigger_level == ((data >> 15) & 1));
	CHECK(m.x2apic == (flags != 0));
	if (!flags)
		CHECK(m.dest <= 0xFF);
	else if (flags == VIRQ_MSI_EXT_DEST)
		CHECK(m.dest <= 0x7FFF);
	CHECK((m.dest & 0xFF) == ((addr >> 12) & 0xFF));
	CHECK(m.delivery == (((data >> 8) & 7) == 0 && (addr & 8) ? 1U : (data >> 8) & 7));

	rc = virq_msi_encode(&m, flags, &a2, &d2);
	CHECK(rc == 0);
	CHECK(virq_msi_decode(a2, d2, flags, &m2) == 0);
	CHECK(memcmp(&m, &m2, sizeof(m)) == 0);
	CHECK(virq_msi_encode(&m2, flags, &a3, &d3) == 0);
	CHECK(a3 == a2 && d3 == d2);
}

static void check_encode(struct in *in, unsigned flags)
{
	struct virq_apic_msg m, m2;
	uint64_t a = 0x1111, a0;
	uint32_t d = 0x2222, d0;
	uint8_t b = get8(in);
	bool fits;
	int rc;

	memset(&m, 0, sizeof(m));
	m.dest = get32(in);
	if (b & 0x80)
		m.dest &= 0xFF;
	else if (b & 0x40)
		m.dest &= 0x7FFF;
	m.vector = get8(in);
	m.delivery = b & 0x7;
	m.logical = (b >> 3) & 1;
	m.level = (b >> 4) & 1;
	m.trigger_level = (b >> 5) & 1;
	m.src = get8(in);
	m.x2apic = get8(in) & 1;
	if ((b & 0xC0) == 0xC0)
		m.shorthand = 1;
	if ((b & 0xC7) == 0x47)
		m.delivery = 9;
	fits = m.dest <= 0xFF || ((flags & VIRQ_MSI_EXT_DEST) && m.dest <= 0x7FFF) ||
	       (flags & VIRQ_MSI_ADDR_HI_DEST);
	a0 = a;
	d0 = d;
	rc = virq_msi_encode(&m, flags, &a, &d);
	if (!fits || m.shorthand || m.delivery > 7) {
		CHECK(rc == -VIRQ_EINVAL);
		CHECK(a == a0 && d == d0);
		return;
	}
	CHECK(rc == 0);
	CHECK(virq_msi_decode(a, d, flags, &m2) == 0);
	CHECK(m2.dest == m.dest);
	CHECK(m2.vector == m.vector);
	CHECK(m2.delivery == m.delivery);
	CHECK(m2.logical == m.logical);
	CHECK(m2.trigger_level == m.trigger_level);
	CHECK(m2.level == (m.trigger_level ? m.level : true));
	CHECK(m2.x2apic == (flags != 0));
}

/* ---- translate ---- */

static bool ref_sid_ok(uint64_t hi, uint16_t rid)
{
	static const uint16_t mask[4] = { 0xFFFF, 0xFFFB, 0xFFF9, 0xFFF8 };
	uint16_t sid = (uint16_t)hi;
	unsigned sq = (hi >> 16) & 3, svt = (hi >> 18) & 3;

	if (svt == 0)
		return true;
	if (svt == 1)
		return (rid & mask[sq]) == (sid & mask[sq]);
	if (svt == 2)
		return (sid >> 8) <= (rid >> 8) && (rid >> 8) <= (sid & 0xFF);
	return false;
}

static void check_translate(const struct virq_ir_config *cfg, struct irt *t, uint64_t addr,
			    uint32_t data, uint16_t rid)
{
	struct virq_ir_result r, r2, pat;
	struct virq_apic_msg zero;
	uint32_t exp_index;
	int rc;

	memset(&r, 0x7E, sizeof(r));
	pat = r;
	t->reads = 0;
	rc = virq_ir_translate(cfg, addr, data, rid, irt_read, t, &r);
	if (((addr >> 20) & 0xFFF) != 0xFEE) {
		CHECK(rc == -VIRQ_ENOENT);
		CHECK(t->reads == 0);
		CHECK(memcmp(&r, &pat, sizeof(r)) == 0);
		return;
	}
	CHECK(rc == 0);
	CHECK(r.reserved == 0);
	CHECK(r.kind <= VIRQ_IR_COMPAT);
	CHECK(t->reads <= 1);
	if (r.kind == VIRQ_IR_BLOCKED)
		CHECK(r.fault >= VIRQ_IR_FAULT_REQ_RESERVED && r.fault <= VIRQ_IR_FAULT_SID);
	else
		CHECK(r.fault == VIRQ_IR_OK);
	if (r.kind != VIRQ_IR_POSTED) {
		CHECK(r.pda == 0 && r.vector == 0 && !r.urgent);
	}
	memset(&zero, 0, sizeof(zero));
	zero.src = VIRQ_MSG_SRC_NONE;
	if (r.kind != VIRQ_IR_REMAPPED && r.kind != VIRQ_IR_COMPAT)
		CHECK(memcmp(&r.msg, &zero, sizeof(zero)) == 0);

	/* The same request, the same answer (the table is deterministic). */
	memset(&r2, 0, sizeof(r2));
	{
		unsigned reads = t->reads;

		CHECK(virq_ir_translate(cfg, addr, data, rid, irt_read, t, &r2) == 0);
		CHECK(memcmp(&r, &r2, sizeof(r)) == 0);
		t->reads = reads;
	}

	if (addr >> 32) {
		CHECK(r.kind == VIRQ_IR_BLOCKED && r.fault == VIRQ_IR_FAULT_REQ_RESERVED);
		CHECK(t->reads == 0 && r.index == 0 && !r.fpd);
		return;
	}
	if (!(addr & 0x10)) {
		CHECK(t->reads == 0 && r.index == 0 && !r.fpd);
		if (cfg->cfi && !cfg->eime) {
			struct virq_apic_msg m;

			CHECK(r.kind == VIRQ_IR_COMPAT);
			CHECK(virq_msi_decode(addr, data, 0, &m) == 0);
			CHECK(memcmp(&m, &r.msg, sizeof(m)) == 0);
		} else {
			CHECK(r.kind == VIRQ_IR_BLOCKED && r.fault == VIRQ_IR_FAULT_COMPAT);
		}
		return;
	}
	if (data >> 16) {
		CHECK(r.kind == VIRQ_IR_BLOCKED && r.fault == VIRQ_IR_FAULT_REQ_RESERVED);
		CHECK(t->reads == 0 && r.index == 0 && !r.fpd);
		return;
	}
	exp_index = (uint32_t)((addr >> 5) & 0x7FFF) | (uint32_t)((addr >> 2) & 1) << 15;
	if (addr & 8)
		exp_index += data & 0xFFFF;
	CHECK(r.index == exp_index);
	if (exp_index >= cfg->table_entries) {
		CHECK(r.kind == VIRQ_IR_BLOCKED && r.fault == VIRQ_IR_FAULT_INDEX);
		CHECK(t->reads == 0 && !r.fpd);
		return;
	}
	CHECK(t->reads == 1 && t->last_index == exp_index);
	if (t->last_failed) {
		CHECK(r.kind == VIRQ_IR_BLOCKED && r.fault == VIRQ_IR_FAULT_READ && !r.fpd);
		return;
	}
	CHECK(r.fpd == ((t->last[0] >> 1) & 1));
	if (!(t->last[0] & 1)) {
		CHECK(r.kind == VIRQ_IR_BLOCKED && r.fault == VIRQ_IR_FAULT_NOT_PRESENT);
		return;
	}
	CHECK(r.kind == VIRQ_IR_REMAPPED || r.kind == VIRQ_IR_POSTED ||
	      (r.kind == VIRQ_IR_BLOCKED &&
	       (r.fault == VIRQ_IR_FAULT_RESERVED || r.fault == VIRQ_IR_FAULT_SID)));
	if ((t->last[0] >> 15) & 1 && !cfg->posting)
		CHECK(r.fault == VIRQ_IR_FAULT_RESERVED);
	if (r.fault == VIRQ_IR_FAULT_SID || r.kind != VIRQ_IR_BLOCKED)
		CHECK(ref_sid_ok(t->last[1], rid) == (r.kind != VIRQ_IR_BLOCKED));
	if (r.kind == VIRQ_IR_POSTED) {
		uint64_t pda = (t->last[1] >> 32) << 32 | (t->last[0] >> 38) << 6;

		CHECK(cfg->posting && ((t->last[0] >> 15) & 1));
		CHECK(r.vector == ((t->last[0] >> 16) & 0xFF));
		CHECK(r.urgent == ((t->last[0] >> 14) & 1));
		CHECK((r.pda & 63) == 0);
		CHECK(r.pda == pda);
		CHECK((t->last[0] & 0x3FFF0030FCULL) == 0);
	}
	if (r.kind == VIRQ_IR_REMAPPED) {
		unsigned dlm = (t->last[0] >> 5) & 7;

		CHECK(!((t->last[0] >> 15) & 1));
		check_msg_common(&r.msg);
		CHECK(r.msg.vector == ((t->last[0] >> 16) & 0xFF));
		CHECK(dlm != 3 && dlm != 6);
		CHECK(r.msg.delivery == (dlm == 0 && ((t->last[0] >> 3) & 1) ? 1U : dlm));
		CHECK(r.msg.logical == ((t->last[0] >> 2) & 1));
		CHECK(r.msg.trigger_level == ((t->last[0] >> 4) & 1));
		CHECK(r.msg.level);
		CHECK(r.msg.x2apic == cfg->eime);
		if (cfg->eime)
			CHECK(r.msg.dest == (uint32_t)(t->last[0] >> 32));
		else
			CHECK(r.msg.dest == ((t->last[0] >> 40) & 0xFF));
		CHECK((t->last[0] & 0xFF007000ULL) == 0 && (t->last[1] >> 20) == 0);
	}
}

/* ---- MSI-X with a shadow model ---- */

#define MSIX_MAX VIRQ_MSIX_MAX_VECTORS
#define SENT_MAX 4096

struct sent {
	uint64_t addr;
	uint32_t data;
};

struct msix_fx {
	struct virq_msix msix;
	struct virq_msix_entry table[MSIX_MAX + 1]; /* + guard */
	uint64_t pba[MSIX_MAX / 64 + 1];            /* + guard */
	/* shadow */
	struct virq_msix_entry sh[MSIX_MAX];
	uint64_t sh_pba[MSIX_MAX / 64];
	bool sh_en, sh_fm;
	unsigned vectors;
	/* messages */
	struct sent got[SENT_MAX], exp[SENT_MAX];
	unsigned n_got, n_exp;
};

static struct msix_fx g_fx;

static void fx_send(void *ctx, uint64_t addr, uint32_t data)
{
	struct msix_fx *fx = ctx;

	CHECK(fx->n_got < SENT_MAX);
	fx->got[fx->n_got].addr = addr;
	fx->got[fx->n_got].data = data;
	fx->n_got++;
}

static void sh_expect(struct msix_fx *fx, unsigned i)
{
	CHECK(fx->n_exp < SENT_MAX);
	fx->exp[fx->n_exp].addr = (uint64_t)fx->sh[i].addr_hi << 32 | fx->sh[i].addr_lo;
	fx->exp[fx->n_exp].data = fx->sh[i].data;
	fx->n_exp++;
}

static bool sh_masked(const struct msix_fx *fx, unsigned i)
{
	return !fx->sh_en || fx->sh_fm || (fx->sh[i].ctrl & 1);
}

static bool sh_pending(const struct msix_fx *fx, unsigned i)
{
	return (fx->sh_pba[i / 64] >> (i % 64)) & 1;
}

static void sh_flush(struct msix_fx *fx, unsigned i)
{
	if (sh_pending(fx, i) && !sh_masked(fx, i)) {
		fx->sh_pba[i / 64] &= ~(1ULL << (i % 64));
		sh_expect(fx, i);
	}
}

static void fx_init(struct msix_fx *fx, unsigned vectors)
{
	memset(fx->table, 0xA7, sizeof(fx->table));
	memset(fx->pba, 0xA7, sizeof(fx->pba));
	CHECK(virq_msix_init(&fx->msix, fx->table, fx->pba, (uint16_t)vectors) == 0);
	fx->vectors = vectors;
	for (unsigned i = 0; i < vectors; i++) {
		memset(&fx->sh[i], 0, sizeof(fx->sh[i]));
		fx->sh[i].ctrl = 1;
	}
	memset(fx->sh_pba, 0, sizeof(fx->sh_pba));
	fx->sh_en = fx->sh_fm = false;
	fx->n_got = fx->n_exp = 0;
}

static void fx_check(struct msix_fx *fx)
{
	struct virq_msix_entry guard;
	unsigned words = (fx->vectors + 63) / 64;

	CHECK(fx->n_got == fx->n_exp);
	CHECK(memcmp(fx->got, fx->exp, fx->n_got * sizeof(fx->got[0])) == 0);
	fx->n_got = fx->n_exp = 0;
	CHECK(fx->msix.enabled == fx->sh_en && fx->msix.function_mask == fx->sh_fm);
	CHECK(fx->msix.vectors == fx->vectors);
	CHECK(memcmp(fx->table, fx->sh, fx->vectors * sizeof(fx->sh[0])) == 0);
	CHECK(memcmp(fx->pba, fx->sh_pba, words * sizeof(uint64_t)) == 0);
	for (unsigned i = 0; i < fx->vectors; i++) {
		CHECK((fx->table[i].ctrl & ~1U) == 0);
		if (sh_pending(fx, i))
			CHECK(sh_masked(fx, i));
	}
	if (fx->vectors % 64)
		CHECK((fx->pba[words - 1] >> (fx->vectors % 64)) == 0);
	memset(&guard, 0xA7, sizeof(guard));
	CHECK(memcmp(&fx->table[fx->vectors], &guard, sizeof(guard)) == 0);
	CHECK(fx->pba[words] == 0xA7A7A7A7A7A7A7A7ULL);
}

static const unsigned sizes[8] = { 4, 8, 4, 8, 1, 2, 0, 16 };

static uint32_t fx_offset(struct in *in, uint32_t span)
{
	uint32_t raw = get32(in);

	return (raw & 0x80000000U) ? raw : raw % (span + 32U);
}

static void sh_set_dword(struct virq_msix_entry *e, unsigned dw, uint32_t v)
{
	switch (dw) {
	case 0:
		e->addr_lo = v;
		break;
	case 1:
		e->addr_hi = v;
		break;
	case 2:
		e->data = v;
		break;
	default:
		e->ctrl = v & 1;
		break;
	}
}

static uint32_t sh_get_dword(const struct virq_msix_entry *e, unsigned dw)
{
	return dw == 0 ? e->addr_lo : dw == 1 ? e->addr_hi : dw == 2 ? e->data : e->ctrl;
}

static void op_msix_write(struct msix_fx *fx, struct in *in)
{
	uint32_t off = fx_offset(in, fx->vectors * 16U);
	unsigned size = sizes[get8(in) & 7];
	uint64_t val = get64(in);
	bool ok = (size == 4 || size == 8) && off % size == 0;
	int rc = virq_msix_table_write(&fx->msix, off, size, val, fx_send, fx);

	CHECK(rc == (ok ? 0 : -VIRQ_EINVAL));
	if (!ok || off / 16 >= fx->vectors)
		return;
	sh_set_dword(&fx->sh[off / 16], (off % 16) / 4, (uint32_t)val);
	if (size == 8)
		sh_set_dword(&fx->sh[off / 16], (off % 16) / 4 + 1, (uint32_t)(val >> 32));
	sh_flush(fx, off / 16);
}

static void op_msix_read(struct msix_fx *fx, struct in *in, bool pba)
{
	uint32_t off = fx_offset(in, pba ? (fx->vectors + 63) / 64 * 8 : fx->vectors * 16U);
	unsigned size = sizes[get8(in) & 7];
	bool ok = (size == 4 || size == 8) && off % size == 0;
	uint64_t v = 0x1234, exp = 0;
	int rc;

	rc = pba ? virq_msix_pba_read(&fx->msix, off, size, &v)
		 : virq_msix_table_read(&fx->msix, off, size, &v);
	CHECK(rc == (ok ? 0 : -VIRQ_EINVAL));
	if (ok && pba && off / 8 < (fx->vectors + 63) / 64) {
		exp = fx->sh_pba[off / 8];
		if (size == 4)
			exp = (off & 4) ? exp >> 32 : exp & 0xFFFFFFFFULL;
	} else if (ok && !pba && off / 16 < fx->vectors) {
		exp = sh_get_dword(&fx->sh[off / 16], (off % 16) / 4);
		if (size == 8)
			exp |= (uint64_t)sh_get_dword(&fx->sh[off / 16], (off % 16) / 4 + 1) << 32;
	}
	CHECK(v == exp);
}

static void op_msix_control(struct msix_fx *fx, struct in *in)
{
	uint8_t b = get8(in);

	CHECK(virq_msix_set_control(&fx->msix, b & 1, (b >> 1) & 1, fx_send, fx) == 0);
	fx->sh_en = b & 1;
	fx->sh_fm = (b >> 1) & 1;
	if (fx->sh_en && !fx->sh_fm)
		for (unsigned i = 0; i < fx->vectors; i++)
			sh_flush(fx, i);
}

static void op_msix_notify(struct msix_fx *fx, struct in *in)
{
	uint16_t raw = get16(in);
	unsigned idx = (raw & 0x8000) ? raw : raw % fx->vectors;
	int rc = virq_msix_notify(&fx->msix, idx, fx_send, fx);

	if (idx >= fx->vectors) {
		CHECK(rc == -VIRQ_EINVAL);
		return;
	}
	CHECK(rc == 0);
	if (!fx->sh_en)
		return;
	if (sh_masked(fx, idx))
		fx->sh_pba[idx / 64] |= 1ULL << (idx % 64);
	else
		sh_expect(fx, idx);
}

/* ---- PCI MSI capability with a byte-level shadow ---- */

#define MC_LEN_MAX 0x18U

struct msicap_fx {
	struct {
		struct virq_msi_cap cap;
		uint8_t guard[16];
	} s;
	/* shadow: the capability's bytes and the writable bits of each */
	uint8_t cfg[MC_LEN_MAX], wm[MC_LEN_MAX];
	unsigned len, mmc, data_off;
	bool a64, pvm;
	struct sent got[64], exp[64];
	unsigned n_got, n_exp;
};

static struct msicap_fx g_mc;

static uint32_t mc_vec_bits(unsigned log2)
{
	return log2 >= 5 ? 0xFFFFFFFFU : (1U << (1U << log2)) - 1U;
}

static uint32_t mc_u32(const struct msicap_fx *fx, unsigned off)
{
	return (uint32_t)fx->cfg[off] | (uint32_t)fx->cfg[off + 1] << 8 |
	       (uint32_t)fx->cfg[off + 2] << 16 | (uint32_t)fx->cfg[off + 3] << 24;
}

static void mc_set_u32(struct msicap_fx *fx, unsigned off, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		fx->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static unsigned mc_mme(const struct msicap_fx *fx)
{
	return (fx->cfg[2] >> 4) & 7;
}

static bool mc_en(const struct msicap_fx *fx)
{
	return fx->cfg[2] & 1;
}

static uint32_t mc_mask(const struct msicap_fx *fx)
{
	return fx->pvm ? mc_u32(fx, fx->data_off + 4) : 0;
}

static uint32_t mc_pending(const struct msicap_fx *fx)
{
	return fx->pvm ? mc_u32(fx, fx->data_off + 8) : 0;
}

static void mc_send(void *ctx, uint64_t addr, uint32_t data)
{
	struct msicap_fx *fx = ctx;
	const struct virq_msi_cap *cap = &fx->s.cap;
	unsigned mme = (cap->control >> 4) & 7;
	unsigned v = data & ((1U << mme) - 1U);

	CHECK(cap->control & VIRQ_MSI_CTRL_ENABLE);
	if (cap->control & VIRQ_MSI_CTRL_PVM)
		CHECK(!((cap->mask >> v) & 1));
	CHECK(!((cap->pending >> v) & 1));
	CHECK(fx->n_got < 64);
	fx->got[fx->n_got].addr = addr;
	fx->got[fx->n_got].data = data;
	fx->n_got++;
}

static void mc_expect(struct msicap_fx *fx, unsigned k)
{
	uint32_t low = (1U << mc_mme(fx)) - 1U;
	uint32_t data = (uint32_t)fx->cfg[fx->data_off] | (uint32_t)fx->cfg[fx->data_off + 1] << 8;

	CHECK(fx->n_exp < 64);
	fx->exp[fx->n_exp].addr = mc_u32(fx, 4) | (fx->a64 ? (uint64_t)mc_u32(fx, 8) << 32 : 0);
	fx->exp[fx->n_exp].data = (data & ~low) | k;
	fx->n_exp++;
}

static void mc_init(struct msicap_fx *fx, uint8_t b, uint8_t next)
{
	unsigned log2 = b & 7;
	bool a64 = (b >> 3) & 1, pvm = (b >> 4) & 1;

	if (log2 > 5) {
		struct virq_msi_cap before = fx->s.cap;

		CHECK(virq_msi_cap_init(&fx->s.cap, log2, a64, pvm) == -VIRQ_EINVAL);
		CHECK(memcmp(&before, &fx->s.cap, sizeof(before)) == 0);
		return;
	}
	memset(&fx->s, 0xA5, sizeof(fx->s));
	CHECK(virq_msi_cap_init(&fx->s.cap, log2, a64, pvm) == 0);
	fx->s.cap.next = next;
	fx->mmc = log2;
	fx->a64 = a64;
	fx->pvm = pvm;
	fx->len = 0x0C + (a64 ? 4U : 0U) + (pvm ? 8U : 0U);
	fx->data_off = a64 ? 0x0C : 0x08;
	memset(fx->cfg, 0, sizeof(fx->cfg));
	memset(fx->wm, 0, sizeof(fx->wm));
	fx->cfg[0] = 0x05;
	fx->cfg[1] = next;
	fx->cfg[2] = (uint8_t)(log2 << 1 | (a64 ? 0x80U : 0U));
	fx->cfg[3] = pvm ? 1 : 0;
	fx->wm[2] = 0x71; /* Enable, MME */
	fx->wm[4] = 0xFC; /* address bits 1:0 read 0 */
	fx->wm[5] = fx->wm[6] = fx->wm[7] = 0xFF;
	if (a64)
		for (unsigned i = 8; i < 12; i++)
			fx->wm[i] = 0xFF;
	fx->wm[fx->data_off] = fx->wm[fx->data_off + 1] = 0xFF;
	if (pvm)
		for (unsigned i = 0; i < 4; i++)
			fx->wm[fx->data_off + 4 + i] = (uint8_t)(mc_vec_bits(log2) >> (8 * i));
	fx->n_got = fx->n_exp = 0;
}

static void mc_check(struct msicap_fx *fx)
{
	const struct virq_msi_cap *cap = &fx->s.cap;
	uint32_t nvec_bits = mc_vec_bits(mc_mme(fx)), v;
	uint8_t guard[16];

	CHECK(fx->n_got == fx->n_exp);
	CHECK(memcmp(fx->got, fx->exp, fx->n_got * sizeof(fx->got[0])) == 0);
	fx->n_got = fx->n_exp = 0;
	CHECK(virq_msi_cap_size(cap) == fx->len);
	for (unsigned off = 0; off < fx->len; off += 4) {
		v = 0x5EED;
		CHECK(virq_msi_cap_read(cap, off, 4, &v) == 0);
		CHECK(v == mc_u32(fx, off));
	}
	CHECK(cap->control == (fx->cfg[2] | fx->cfg[3] << 8));
	CHECK(cap->next == fx->cfg[1]);
	CHECK(((cap->control >> 4) & 7) <= ((cap->control >> 1) & 7));
	if (!fx->pvm)
		CHECK(cap->pending == 0);
	CHECK((cap->pending & ~nvec_bits) == 0);
	if (mc_en(fx))
		CHECK((cap->pending & cap->mask) == cap->pending);
	CHECK(cap->pending == mc_pending(fx));
	memset(guard, 0xA5, sizeof(guard));
	CHECK(memcmp(fx->s.guard, guard, sizeof(guard)) == 0);
}

static uint32_t mc_offset(struct in *in)
{
	uint8_t raw = get8(in);

	return (raw & 0x80) ? get32(in) : raw % 0x20U;
}

static bool mc_access_ok(const struct msicap_fx *fx, uint32_t off, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && off % size == 0 && off < fx->len &&
	       fx->len - off >= size;
}

static void op_msicap_read(struct msicap_fx *fx, struct in *in)
{
	uint32_t off = mc_offset(in);
	unsigned size = sizes[get8(in) & 7];
	bool ok = mc_access_ok(fx, off, size);
	uint32_t v = 0x1234, exp = 0;

	CHECK(virq_msi_cap_read(&fx->s.cap, off, size, &v) == (ok ? 0 : -VIRQ_EINVAL));
	if (ok)
		for (unsigned i = 0; i < size; i++)
			exp |= (uint32_t)fx->cfg[off + i] << (8 * i);
	CHECK(v == exp);
}

static void op_msicap_write(struct msicap_fx *fx, struct in *in)
{
	uint32_t off = mc_offset(in);
	unsigned size = sizes[get8(in) & 7];
	uint32_t val = get32(in), pending, mask;
	bool ok = mc_access_ok(fx, off, size);
	unsigned mme;

	CHECK(virq_msi_cap_write(&fx->s.cap, off, size, val, mc_send, fx) ==
	      (ok ? 0 : -VIRQ_EINVAL));
	if (!ok)
		return;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));

		fx->cfg[off + i] =
			(uint8_t)((fx->cfg[off + i] & ~fx->wm[off + i]) | (b & fx->wm[off + i]));
	}
	mme = mc_mme(fx);
	if (mme > fx->mmc)
		fx->cfg[2] = (uint8_t)((fx->cfg[2] & ~0x70U) | fx->mmc << 4);
	if (!fx->pvm)
		return;
	pending = mc_pending(fx) & mc_vec_bits(mc_mme(fx));
	mask = mc_mask(fx);
	if (mc_en(fx)) {
		for (unsigned k = 0; k < 32; k++) {
			if (((pending & ~mask) >> k) & 1) {
				pending &= ~(1U << k);
				mc_expect(fx, k);
			}
		}
	}
	mc_set_u32(fx, fx->data_off + 8, pending);
}

static void op_msicap_notify(struct msicap_fx *fx, struct in *in)
{
	uint8_t raw = get8(in);
	unsigned n = 1U << mc_mme(fx);
	unsigned vec = raw == 0xFF ? 0xFFFFFFFFU : (raw & 0x80) ? raw & 0x7FU : raw % n;
	int rc = virq_msi_cap_notify(&fx->s.cap, vec, mc_send, fx);

	if (vec >= n) {
		CHECK(rc == -VIRQ_EINVAL);
		return;
	}
	CHECK(rc == 0);
	if (!mc_en(fx))
		return;
	if ((mc_mask(fx) >> vec) & 1)
		mc_set_u32(fx, fx->data_off + 8, mc_pending(fx) | 1U << vec);
	else
		mc_expect(fx, vec);
}

/* ---- driver ---- */

enum {
	OP_DECODE,
	OP_DECODE_WINDOW,
	OP_ENCODE,
	OP_TRANSLATE,
	OP_TRANSLATE_REMAP,
	OP_TRANSLATE_WINDOW,
	OP_MSIX_WRITE,
	OP_MSIX_READ,
	OP_PBA_READ,
	OP_MSIX_CONTROL,
	OP_MSIX_NOTIFY,
	OP_MSIX_INIT,
	OP_MSICAP_WRITE,
	OP_MSICAP_READ,
	OP_MSICAP_NOTIFY,
	OP_MSICAP_INIT,
	OP_COUNT
};

static void run_op(uint8_t op, struct in *in, const struct virq_ir_config *cfg, struct irt *t,
		   struct msix_fx *fx, struct msicap_fx *mc)
{
	switch (op % OP_COUNT) {
	case OP_DECODE: { /* addr u64, data u32, flags u8 (bit 2 = invalid flag) */
		uint64_t addr = get64(in);
		uint32_t data = get32(in);

		check_decode(addr, data, get8(in) & 7);
		break;
	}
	case OP_DECODE_WINDOW: { /* low 20 bits u32, data u32, flags u8, address_hi u32 */
		uint64_t addr = FEE | (get32(in) & 0xFFFFFU);
		uint32_t data = get32(in);
		uint8_t f = get8(in);
		uint32_t hi = get32(in);

		if (f & 0x80)
			addr |= (uint64_t)(hi & 0xFFFFFF00U) << 32;
		check_decode(addr, data, f & 3);
		break;
	}
	case OP_ENCODE: /* flags u8, then the message fields */
		check_encode(in, get8(in) & 3);
		break;
	case OP_TRANSLATE: { /* addr u64, data u32, requester u16 */
		uint64_t addr = get64(in);
		uint32_t data = get32(in);

		check_translate(cfg, t, addr, data, get16(in));
		break;
	}
	case OP_TRANSLATE_REMAP: { /* handle u16, bits u8, subhandle u16, requester u16 */
		uint16_t h = get16(in);
		uint8_t b = get8(in);
		uint32_t data = get16(in);
		uint16_t rid = get16(in);
		uint64_t addr = FEE | (uint64_t)(h & 0x7FFF) << 5 | 0x10 |
				(uint64_t)((h >> 15) & 1) << 2 | (b & 8) | (b & 3);

		if (b & 0x10)
			data |= (uint32_t)get16(in) << 16;
		if (b & 0x20)
			addr |= (uint64_t)get8(in) << 32;
		check_translate(cfg, t, addr, data, rid);
		break;
	}
	case OP_TRANSLATE_WINDOW: { /* low 20 bits u32, data u32, requester u16 */
		uint64_t addr = FEE | (get32(in) & 0xFFFFFU);
		uint32_t data = get32(in);

		check_translate(cfg, t, addr, data, get16(in));
		break;
	}
	case OP_MSIX_WRITE:
		op_msix_write(fx, in);
		break;
	case OP_MSIX_READ:
		op_msix_read(fx, in, false);
		break;
	case OP_PBA_READ:
		op_msix_read(fx, in, true);
		break;
	case OP_MSIX_CONTROL:
		op_msix_control(fx, in);
		break;
	case OP_MSIX_NOTIFY:
		op_msix_notify(fx, in);
		break;
	case OP_MSIX_INIT: /* vectors - 1 u16 */
		fx_init(fx, (get16(in) % MSIX_MAX) + 1U);
		break;
	case OP_MSICAP_WRITE: /* offset u8 (bit 7: u32 follows), size u8, value u32 */
		op_msicap_write(mc, in);
		break;
	case OP_MSICAP_READ: /* offset as for write, size u8 */
		op_msicap_read(mc, in);
		break;
	case OP_MSICAP_NOTIFY: /* vector u8: 0xFF huge, bit 7 raw, else modulo 2^MME */
		op_msicap_notify(mc, in);
		break;
	default: { /* OP_MSICAP_INIT: layout u8 as header byte 6 (MMC 6/7 refused), next u8 */
		uint8_t b = get8(in);

		mc_init(mc, b, get8(in));
		break;
	}
	}
	fx_check(fx);
	mc_check(mc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { .p = data, .n = size, .pos = 0 };
	struct virq_ir_config cfg;
	struct irt t;
	uint8_t b0 = get8(&in);
	unsigned ops = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.eime = b0 & 1;
	cfg.cfi = (b0 >> 1) & 1;
	cfg.posting = (b0 >> 2) & 1;
	cfg.table_entries = (uint32_t)get16(&in) + 1U;
	memset(&t, 0, sizeof(t));
	t.entries = cfg.table_entries;
	t.k = get8(&in);
	fx_init(&g_fx, (get16(&in) % MSIX_MAX) + 1U);
	{
		uint8_t b = get8(&in);

		mc_init(&g_mc, (uint8_t)((b & 0x18) | ((b & 7) % 6)), get8(&in));
	}
	in.pos = HDR_SIZE;
	/* Slots that the input does not fully hold are dropped. */
	if (in.pos < size) {
		size_t avail = (size - in.pos) / SLOT_SIZE;

		if (t.k > avail)
			t.k = (unsigned)avail;
	} else {
		t.k = 0;
	}
	t.slots = data + (in.pos < size ? in.pos : 0);
	in.pos += (size_t)t.k * SLOT_SIZE;

	while (in.pos < in.n && ops++ < 4096)
		run_op(get8(&in), &in, &cfg, &t, &g_fx, &g_mc);
	return 0;
}
