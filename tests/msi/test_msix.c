/* SPDX-License-Identifier: MIT */
/*
 * MSI-X table and Pending Bit Array (PCI 3.0 6.8.2 "MSI-X Capability and Table Structure"):
 * reset state, aligned DWORD/QWORD access, Vector Control, per-vector and
 * function masking, pending bits and their delivery at unmask, Enable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <virq/msi.h>

#define MAXV VIRQ_MSIX_MAX_VECTORS
#define LOG_MAX 4096

struct sent {
	uint64_t addr;
	uint32_t data;
};

struct rec {
	struct sent log[LOG_MAX];
	unsigned n;
};

static void rec_send(void *ctx, uint64_t addr, uint32_t data)
{
	struct rec *r = ctx;

	assert_true(r->n < LOG_MAX);
	r->log[r->n].addr = addr;
	r->log[r->n].data = data;
	r->n++;
}

/* Storage with a guard entry / word after the table and PBA. */
struct dev {
	struct virq_msix msix;
	struct virq_msix_entry table[MAXV + 1];
	uint64_t pba[MAXV / 64 + 1];
	struct rec rec;
};

static struct dev g_dev;

static struct dev *dev_init(uint16_t vectors)
{
	struct dev *d = &g_dev;

	memset(d, 0x5A, sizeof(*d));
	d->rec.n = 0;
	assert_int_equal(virq_msix_init(&d->msix, d->table, d->pba, vectors), 0);
	return d;
}

static uint32_t tread32(struct dev *d, uint32_t off)
{
	uint64_t v = 0xDEAD;

	assert_int_equal(virq_msix_table_read(&d->msix, off, 4, &v), 0);
	assert_true(v <= 0xFFFFFFFFULL);
	return (uint32_t)v;
}

static void twrite32(struct dev *d, uint32_t off, uint32_t v)
{
	assert_int_equal(virq_msix_table_write(&d->msix, off, 4, v, rec_send, &d->rec), 0);
}

static uint64_t pba_read64(struct dev *d, uint32_t off)
{
	uint64_t v = 0xDEAD;

	assert_int_equal(virq_msix_pba_read(&d->msix, off, 8, &v), 0);
	return v;
}

static bool pending(struct dev *d, unsigned i)
{
	return (pba_read64(d, (i / 64) * 8) >> (i % 64)) & 1;
}

/* Programs entry i with an address/data derived from i, left masked. */
static void program(struct dev *d, unsigned i)
{
	twrite32(d, i * 16 + 0, 0xFEE00000U | (i & 0xFF) << 12);
	twrite32(d, i * 16 + 4, 0);
	twrite32(d, i * 16 + 8, 0x20 + (i & 0xBF));
}

static void unmask(struct dev *d, unsigned i)
{
	twrite32(d, i * 16 + 12, 0);
}

static void mask(struct dev *d, unsigned i)
{
	twrite32(d, i * 16 + 12, 1);
}

static void notify(struct dev *d, unsigned i)
{
	assert_int_equal(virq_msix_notify(&d->msix, i, rec_send, &d->rec), 0);
}

static void control(struct dev *d, bool en, bool fm)
{
	assert_int_equal(virq_msix_set_control(&d->msix, en, fm, rec_send, &d->rec), 0);
}

static void assert_sent(struct dev *d, unsigned k, unsigned i)
{
	assert_true(k < d->rec.n);
	assert_int_equal(d->rec.log[k].addr, 0xFEE00000U | (i & 0xFF) << 12);
	assert_int_equal(d->rec.log[k].data, 0x20 + (i & 0xBF));
}

static void test_init(void **state)
{
	struct dev *d;
	struct virq_msix m;
	struct virq_msix_entry t[2];
	uint64_t p[1];

	(void)state;
	d = dev_init(MAXV);
	assert_int_equal(d->msix.vectors, MAXV);
	assert_false(d->msix.enabled);
	assert_false(d->msix.function_mask);
	for (unsigned i = 0; i < MAXV; i++) {
		assert_int_equal(d->table[i].addr_lo, 0);
		assert_int_equal(d->table[i].addr_hi, 0);
		assert_int_equal(d->table[i].data, 0);
		assert_int_equal(d->table[i].ctrl, VIRQ_MSIX_CTRL_MASKED); /* masked at reset */
	}
	for (unsigned w = 0; w < MAXV / 64; w++)
		assert_int_equal(d->pba[w], 0);
	/* Storage is touched only within the sizes given. */
	assert_int_equal(d->pba[MAXV / 64], 0x5A5A5A5A5A5A5A5AULL);
	assert_int_equal(d->table[MAXV].ctrl, 0x5A5A5A5AU);

	d = dev_init(1);
	assert_int_equal(d->pba[0], 0);
	assert_int_equal(d->pba[1], 0x5A5A5A5A5A5A5A5AULL);
	assert_int_equal(d->table[1].ctrl, 0x5A5A5A5AU);
	d = dev_init(65);
	assert_int_equal(d->pba[1], 0);
	assert_int_equal(d->pba[2], 0x5A5A5A5A5A5A5A5AULL);

	assert_int_equal(virq_msix_init(NULL, t, p, 1), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_init(&m, NULL, p, 1), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_init(&m, t, NULL, 1), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_init(&m, t, p, 0), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_init(&m, t, p, MAXV + 1), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_init(&m, t, p, 0xFFFF), -VIRQ_EINVAL);
}

static void test_table_dwords(void **state)
{
	struct dev *d = dev_init(4);

	(void)state;
	twrite32(d, 0x10, 0xFEE01004U);
	twrite32(d, 0x14, 0x12345678U);
	twrite32(d, 0x18, 0xABCD4041U);
	assert_int_equal(d->table[1].addr_lo, 0xFEE01004U);
	assert_int_equal(d->table[1].addr_hi, 0x12345678U);
	assert_int_equal(d->table[1].data, 0xABCD4041U);
	assert_int_equal(tread32(d, 0x10), 0xFEE01004U);
	assert_int_equal(tread32(d, 0x14), 0x12345678U);
	assert_int_equal(tread32(d, 0x18), 0xABCD4041U);
	assert_int_equal(tread32(d, 0x1C), 1);
	/* Vector Control keeps bit 0 only. */
	twrite32(d, 0x1C, 0xFFFFFFFEU);
	assert_int_equal(tread32(d, 0x1C), 0);
	twrite32(d, 0x1C, 0xFFFFFFFFU);
	assert_int_equal(tread32(d, 0x1C), 1);
	assert_int_equal(d->table[1].ctrl, 1);
	/* Neighbours untouched. */
	assert_int_equal(tread32(d, 0x0C), 1);
	assert_int_equal(tread32(d, 0x20), 0);
	assert_int_equal(d->rec.n, 0);
}

static void test_table_qwords(void **state)
{
	struct dev *d = dev_init(4);
	uint64_t v;

	(void)state;
	/* A QWORD at +0 covers address low and high. */
	assert_int_equal(virq_msix_table_write(&d->msix, 0x20, 8, 0x00000001FEE0200CULL, rec_send,
					       &d->rec),
			 0);
	assert_int_equal(d->table[2].addr_lo, 0xFEE0200CU);
	assert_int_equal(d->table[2].addr_hi, 1);
	/* At +8: data and Vector Control (reserved bits dropped). */
	assert_int_equal(virq_msix_table_write(&d->msix, 0x28, 8, 0xFFFFFFFE00004055ULL, rec_send,
					       &d->rec),
			 0);
	assert_int_equal(d->table[2].data, 0x4055);
	assert_int_equal(d->table[2].ctrl, 0);
	assert_int_equal(virq_msix_table_read(&d->msix, 0x20, 8, &v), 0);
	assert_int_equal(v, 0x00000001FEE0200CULL);
	assert_int_equal(virq_msix_table_read(&d->msix, 0x28, 8, &v), 0);
	assert_int_equal(v, 0x0000000000004055ULL);
	assert_int_equal(virq_msix_table_write(&d->msix, 0x28, 8, 0x0000000100000000ULL, rec_send,
					       &d->rec),
			 0);
	assert_int_equal(virq_msix_table_read(&d->msix, 0x28, 8, &v), 0);
	assert_int_equal(v, 0x0000000100000000ULL);
}

/* Sizes other than 4/8 and misaligned offsets are refused; nothing changes. */
static void test_table_bad_access(void **state)
{
	struct dev *d = dev_init(4);
	static const unsigned sizes[] = { 0, 1, 2, 3, 5, 6, 7, 16 };
	struct virq_msix_entry before[5];
	uint64_t v;

	(void)state;
	program(d, 0);
	memcpy(before, d->table, sizeof(before));
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (uint32_t off = 0; off < 0x48; off++) {
			v = 0x1234;
			assert_int_equal(virq_msix_table_read(&d->msix, off, sizes[s], &v),
					 -VIRQ_EINVAL);
			assert_int_equal(v, 0);
			assert_int_equal(virq_msix_table_write(&d->msix, off, sizes[s], ~0ULL,
							       rec_send, &d->rec),
					 -VIRQ_EINVAL);
		}
	for (uint32_t off = 0; off < 0x48; off++) {
		if (off % 4) {
			v = 0x1234;
			assert_int_equal(virq_msix_table_read(&d->msix, off, 4, &v), -VIRQ_EINVAL);
			assert_int_equal(v, 0);
			assert_int_equal(virq_msix_table_write(&d->msix, off, 4, 0, rec_send,
							       &d->rec),
					 -VIRQ_EINVAL);
		}
		if (off % 8) {
			assert_int_equal(virq_msix_table_read(&d->msix, off, 8, &v), -VIRQ_EINVAL);
			assert_int_equal(virq_msix_table_write(&d->msix, off, 8, 0, rec_send,
							       &d->rec),
					 -VIRQ_EINVAL);
		}
	}
	assert_int_equal(virq_msix_table_read(&d->msix, 0, 4, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_table_write(&d->msix, 0x0C, 4, 0, NULL, NULL), -VIRQ_EINVAL);
	assert_memory_equal(before, d->table, sizeof(before));
	assert_int_equal(d->rec.n, 0);
}

/* Past the last entry: reads 0, writes ignored, nothing outside touched. */
static void test_table_out_of_range(void **state)
{
	static const uint32_t offs[] = { 0x40,        0x44,        0x48,       0x4C,
					 0x50,        0x1000,      0x7FF0,     0x8000,
					 0xFFFFFFF0U, 0xFFFFFFFCU, 0xFFFFFFF8U };
	struct dev *d = dev_init(4);
	struct virq_msix_entry guard;
	uint64_t v;

	(void)state;
	guard = d->table[4];
	for (unsigned k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		v = 0x77;
		assert_int_equal(virq_msix_table_read(&d->msix, offs[k], 4, &v), 0);
		assert_int_equal(v, 0);
		twrite32(d, offs[k], 0);
		if (offs[k] % 8 == 0) {
			v = 0x77;
			assert_int_equal(virq_msix_table_read(&d->msix, offs[k], 8, &v), 0);
			assert_int_equal(v, 0);
			assert_int_equal(virq_msix_table_write(&d->msix, offs[k], 8, 0, rec_send,
							       &d->rec),
					 0);
		}
	}
	assert_memory_equal(&guard, &d->table[4], sizeof(guard));
	/* The last entry of a full table is reachable, the next is not. */
	d = dev_init(MAXV);
	twrite32(d, (MAXV - 1) * 16 + 8, 0x99);
	assert_int_equal(tread32(d, (MAXV - 1) * 16 + 8), 0x99);
	assert_int_equal(tread32(d, MAXV * 16 + 12), 0);
	twrite32(d, MAXV * 16 + 12, 0);
	assert_int_equal(d->table[MAXV].ctrl, 0x5A5A5A5AU);
}

static void test_notify_disabled(void **state)
{
	struct dev *d = dev_init(8);

	(void)state;
	program(d, 3);
	unmask(d, 3);
	notify(d, 3); /* MSI-X disabled: nothing, not even a pending bit */
	assert_int_equal(d->rec.n, 0);
	assert_false(pending(d, 3));
	mask(d, 3);
	notify(d, 3);
	assert_false(pending(d, 3));
	control(d, false, true);
	notify(d, 3);
	assert_false(pending(d, 3));
	assert_int_equal(d->rec.n, 0);
}

static void test_notify_unmasked_sends(void **state)
{
	struct dev *d = dev_init(8);

	(void)state;
	control(d, true, false);
	twrite32(d, 0x50, 0xFEE0300CU);
	twrite32(d, 0x54, 0x00000102U);
	twrite32(d, 0x58, 0x0000C071U);
	unmask(d, 5);
	assert_int_equal(d->rec.n, 0);
	notify(d, 5);
	assert_int_equal(d->rec.n, 1);
	assert_int_equal(d->rec.log[0].addr, 0x00000102FEE0300CULL); /* address_hi included */
	assert_int_equal(d->rec.log[0].data, 0xC071);
	assert_false(pending(d, 5));
	notify(d, 5);
	assert_int_equal(d->rec.n, 2);
	assert_int_equal(virq_msix_notify(&d->msix, 8, rec_send, &d->rec), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_notify(&d->msix, 0xFFFFFFFFU, rec_send, &d->rec), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_notify(&d->msix, 5, NULL, NULL), -VIRQ_EINVAL);
	assert_int_equal(d->rec.n, 2);
}

/* Per-vector mask: pending while masked, sent once at unmask, bit cleared. */
static void test_vector_mask_pending(void **state)
{
	struct dev *d = dev_init(8);

	(void)state;
	control(d, true, false);
	program(d, 2);
	notify(d, 2);
	notify(d, 2); /* several events while masked: one pending bit */
	assert_int_equal(d->rec.n, 0);
	assert_true(pending(d, 2));
	assert_int_equal(pba_read64(d, 0), 1ULL << 2);
	/* Rewrite the message while masked: the new one is sent. */
	twrite32(d, 0x28, 0x77);
	unmask(d, 2);
	assert_int_equal(d->rec.n, 1);
	assert_int_equal(d->rec.log[0].data, 0x77);
	assert_false(pending(d, 2));
	/* Unmasking again sends nothing. */
	unmask(d, 2);
	assert_int_equal(d->rec.n, 1);
	/* Writing the other dwords of an unmasked entry sends nothing. */
	twrite32(d, 0x20, 0xFEE00000U);
	assert_int_equal(d->rec.n, 1);
}

/* An 8-byte write of data + Vector Control sends with the new data. */
static void test_qword_unmask_uses_new_data(void **state)
{
	struct dev *d = dev_init(8);

	(void)state;
	control(d, true, false);
	program(d, 1);
	notify(d, 1);
	assert_int_equal(virq_msix_table_write(&d->msix, 0x18, 8, 0x0000000000000099ULL, rec_send,
					       &d->rec),
			 0);
	assert_int_equal(d->rec.n, 1);
	assert_int_equal(d->rec.log[0].data, 0x99);
	assert_false(pending(d, 1));
	/* Writing 8 bytes that keep the mask set sends nothing. */
	mask(d, 1);
	notify(d, 1);
	assert_int_equal(virq_msix_table_write(&d->msix, 0x18, 8, 0x00000001000000AAULL, rec_send,
					       &d->rec),
			 0);
	assert_int_equal(d->rec.n, 1);
	assert_true(pending(d, 1));
}

static void test_function_mask(void **state)
{
	struct dev *d = dev_init(8);

	(void)state;
	control(d, true, true);
	program(d, 4);
	unmask(d, 4);
	notify(d, 4); /* function-masked: pending */
	assert_int_equal(d->rec.n, 0);
	assert_true(pending(d, 4));
	/* Unmasking the vector while the function is masked sends nothing. */
	mask(d, 4);
	unmask(d, 4);
	assert_int_equal(d->rec.n, 0);
	assert_true(pending(d, 4));
	/* Clearing the function mask sends it. */
	control(d, true, false);
	assert_int_equal(d->rec.n, 1);
	assert_sent(d, 0, 4);
	assert_false(pending(d, 4));
	/* Function mask clear with a vector still individually masked. */
	control(d, true, true);
	mask(d, 4);
	notify(d, 4);
	control(d, true, false);
	assert_int_equal(d->rec.n, 1);
	assert_true(pending(d, 4));
	unmask(d, 4);
	assert_int_equal(d->rec.n, 2);
	assert_false(pending(d, 4));
}

/* Pending vectors are sent lowest index first when the function unmasks. */
static void test_unmask_order(void **state)
{
	static const unsigned fire[] = { 70, 3, 2047, 64, 1, 127, 128, 0, 1000 };
	static const unsigned order[] = { 0, 1, 3, 64, 70, 128, 1000, 2047 };
	struct dev *d = dev_init(MAXV);

	(void)state;
	control(d, true, true);
	for (unsigned k = 0; k < 9; k++) {
		program(d, fire[k]);
		if (fire[k] != 127)
			unmask(d, fire[k]); /* 127 keeps its own mask */
		notify(d, fire[k]);
	}
	assert_int_equal(d->rec.n, 0);
	assert_int_equal(pba_read64(d, 0), 1ULL << 0 | 1ULL << 1 | 1ULL << 3);
	assert_int_equal(pba_read64(d, 8), 1ULL << 0 | 1ULL << 6 | 1ULL << 63);
	control(d, true, false);
	assert_int_equal(d->rec.n, 8);
	for (unsigned k = 0; k < 8; k++)
		assert_sent(d, k, order[k]);
	assert_int_equal(pba_read64(d, 8), 1ULL << 63); /* 127 still pending */
	for (unsigned w = 2; w < MAXV / 64; w++)
		assert_int_equal(pba_read64(d, w * 8), 0);
}

/* Enable: disabling keeps pending bits, enabling sends the unmasked ones. */
static void test_enable_transitions(void **state)
{
	struct dev *d = dev_init(8);

	(void)state;
	control(d, true, false);
	program(d, 6);
	program(d, 7);
	notify(d, 6);
	notify(d, 7);
	assert_true(pending(d, 6));
	control(d, false, false);
	unmask(d, 6); /* disabled: counts as masked, stays pending */
	assert_int_equal(d->rec.n, 0);
	assert_true(pending(d, 6));
	notify(d, 6);
	assert_int_equal(d->rec.n, 0);
	/* Enabling with the function masked sends nothing. */
	control(d, true, true);
	assert_int_equal(d->rec.n, 0);
	control(d, false, false);
	control(d, true, false);
	assert_int_equal(d->rec.n, 1);
	assert_sent(d, 0, 6);
	assert_false(pending(d, 6));
	assert_true(pending(d, 7)); /* own mask set */
	/* Same control written again: nothing more. */
	control(d, true, false);
	assert_int_equal(d->rec.n, 1);
	assert_int_equal(virq_msix_set_control(&d->msix, true, false, NULL, NULL), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_set_control(NULL, true, false, rec_send, &d->rec), -VIRQ_EINVAL);
}

static void test_pba_read(void **state)
{
	struct dev *d = dev_init(MAXV);
	uint64_t v;

	(void)state;
	control(d, true, true);
	notify(d, 100);
	notify(d, 2047);
	assert_int_equal(pba_read64(d, 8), 1ULL << 36);
	v = 7;
	assert_int_equal(virq_msix_pba_read(&d->msix, 8, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(virq_msix_pba_read(&d->msix, 12, 4, &v), 0);
	assert_int_equal(v, 1U << 4);
	assert_int_equal(virq_msix_pba_read(&d->msix, 31 * 8 + 4, 4, &v), 0);
	assert_int_equal(v, 0x80000000U);
	/* Past the array: 0. */
	assert_int_equal(virq_msix_pba_read(&d->msix, 32 * 8, 8, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(virq_msix_pba_read(&d->msix, 0xFFFFFFF8U, 8, &v), 0);
	assert_int_equal(v, 0);
	/* Bad sizes and alignment. */
	for (uint32_t off = 0; off < 16; off++)
		for (unsigned size = 0; size <= 16; size++) {
			bool ok = (size == 4 || size == 8) && off % size == 0;

			v = 5;
			assert_int_equal(virq_msix_pba_read(&d->msix, off, size, &v),
					 ok ? 0 : -VIRQ_EINVAL);
			if (!ok)
				assert_int_equal(v, 0);
		}
	assert_int_equal(virq_msix_pba_read(&d->msix, 0, 8, NULL), -VIRQ_EINVAL);
	/* A one-vector table has one PBA word. */
	d = dev_init(1);
	control(d, true, true);
	notify(d, 0);
	assert_int_equal(pba_read64(d, 0), 1);
	assert_int_equal(pba_read64(d, 8), 0);
}

/* A zeroed (never initialised) object is refused by every entry point. */
static void test_uninitialised(void **state)
{
	struct virq_msix m;
	struct rec r = { .n = 0 };
	uint64_t v = 1;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(virq_msix_table_read(&m, 0, 4, &v), -VIRQ_EINVAL);
	assert_int_equal(v, 0);
	assert_int_equal(virq_msix_table_write(&m, 0, 4, 0, rec_send, &r), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_pba_read(&m, 0, 4, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_set_control(&m, true, false, rec_send, &r), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_notify(&m, 0, rec_send, &r), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_table_read(NULL, 0, 4, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_table_write(NULL, 0, 4, 0, rec_send, &r), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_pba_read(NULL, 0, 4, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_msix_notify(NULL, 0, rec_send, &r), -VIRQ_EINVAL);
	assert_false(m.enabled);
	assert_int_equal(r.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_table_dwords),
		cmocka_unit_test(test_table_qwords),
		cmocka_unit_test(test_table_bad_access),
		cmocka_unit_test(test_table_out_of_range),
		cmocka_unit_test(test_notify_disabled),
		cmocka_unit_test(test_notify_unmasked_sends),
		cmocka_unit_test(test_vector_mask_pending),
		cmocka_unit_test(test_qword_unmask_uses_new_data),
		cmocka_unit_test(test_function_mask),
		cmocka_unit_test(test_unmask_order),
		cmocka_unit_test(test_enable_transitions),
		cmocka_unit_test(test_pba_read),
		cmocka_unit_test(test_uninitialised),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
