/* SPDX-License-Identifier: MIT */
/*
 * PCI MSI capability (PCI 3.0 6.8.1 "MSI Capability Structure"): reset state,
 * the 32- and 64-bit layouts with and without per-vector masking, Message
 * Control read-only and writable bits, MME clamping, the data sent for
 * each vector under MME 0-5, Mask and Pending Bits and delivery at unmask,
 * the Enable bit and bad accesses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <virq/msi.h>

#define LOG_MAX 64

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

static void cap_init(struct virq_msi_cap *cap, unsigned log2, bool a64, bool pvm)
{
	memset(cap, 0x5A, sizeof(*cap));
	assert_int_equal(virq_msi_cap_init(cap, log2, a64, pvm), 0);
}

static uint32_t rd(const struct virq_msi_cap *cap, uint32_t off, unsigned size)
{
	uint32_t v = 0xDEADBEEF;

	assert_int_equal(virq_msi_cap_read(cap, off, size, &v), 0);
	return v;
}

static void wr(struct virq_msi_cap *cap, uint32_t off, unsigned size, uint32_t v, struct rec *r)
{
	assert_int_equal(virq_msi_cap_write(cap, off, size, v, rec_send, r), 0);
}

static uint16_t ctrl(const struct virq_msi_cap *cap)
{
	return (uint16_t)rd(cap, 2, 2);
}

/* Offsets of Message Data, Mask and Pending for a layout. */
static uint32_t data_off(bool a64)
{
	return a64 ? 0x0C : 0x08;
}

static void assert_sent(const struct rec *r, unsigned i, uint64_t addr, uint32_t data)
{
	assert_true(i < r->n);
	assert_int_equal(r->log[i].addr, addr);
	assert_int_equal(r->log[i].data, data);
}

static void test_init(void **state)
{
	struct virq_msi_cap cap;

	(void)state;
	assert_int_equal(virq_msi_cap_init(NULL, 0, false, false), -VIRQ_EINVAL);
	memset(&cap, 0x5A, sizeof(cap));
	assert_int_equal(virq_msi_cap_init(&cap, 6, true, true), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_cap_init(&cap, 100, false, false), -VIRQ_EINVAL);

	for (unsigned log2 = 0; log2 <= 5; log2++) {
		for (unsigned l = 0; l < 4; l++) {
			bool a64 = l & 1, pvm = l & 2;
			uint16_t exp = (uint16_t)(log2 << 1 | (a64 ? 0x80 : 0) | (pvm ? 0x100 : 0));
			unsigned size = 0x0C + (a64 ? 4 : 0) + (pvm ? 8 : 0);

			cap_init(&cap, log2, a64, pvm);
			assert_int_equal(cap.control, exp);
			assert_int_equal(cap.addr_lo, 0);
			assert_int_equal(cap.addr_hi, 0);
			assert_int_equal(cap.data, 0);
			assert_int_equal(cap.mask, 0);
			assert_int_equal(cap.pending, 0);
			assert_int_equal(cap.next, 0);
			assert_int_equal(virq_msi_cap_size(&cap), size);
			assert_int_equal(rd(&cap, 0, 4), 0x05U | (uint32_t)exp << 16);
			for (uint32_t off = 4; off < size; off += 4)
				assert_int_equal(rd(&cap, off, 4), 0);
		}
	}
	assert_int_equal(virq_msi_cap_size(NULL), 0);
}

static void test_sizes(void **state)
{
	struct virq_msi_cap cap;

	(void)state;
	cap_init(&cap, 0, false, false);
	assert_int_equal(virq_msi_cap_size(&cap), 0x0C);
	cap_init(&cap, 0, true, false);
	assert_int_equal(virq_msi_cap_size(&cap), 0x10);
	cap_init(&cap, 0, false, true);
	assert_int_equal(virq_msi_cap_size(&cap), 0x14);
	cap_init(&cap, 0, true, true);
	assert_int_equal(virq_msi_cap_size(&cap), 0x18);
	cap.control |= 0x200; /* EMDC: not implemented, invalid state */
	assert_int_equal(virq_msi_cap_size(&cap), 0);
}

static void test_header(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 3, true, true);
	cap.next = 0x48;
	assert_int_equal(rd(&cap, 0, 1), 0x05);
	assert_int_equal(rd(&cap, 1, 1), 0x48);
	assert_int_equal(rd(&cap, 0, 2), 0x4805);
	assert_int_equal(rd(&cap, 0, 4), 0x01864805U);
	/* Cap ID and next pointer are read-only. */
	wr(&cap, 0, 1, 0xFF, &r);
	wr(&cap, 1, 1, 0xFF, &r);
	wr(&cap, 0, 2, 0xFFFF, &r);
	assert_int_equal(rd(&cap, 0, 2), 0x4805);
	assert_int_equal(cap.next, 0x48);
	assert_int_equal(cap.control, 0x0186);
	/* A DWORD write at +0 changes only the control's writable bits. */
	wr(&cap, 0, 4, 0xFFFFFFFFU, &r);
	assert_int_equal(rd(&cap, 0, 4), 0x01B74805U);
	assert_int_equal(r.n, 0);
}

static void test_control_bits(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	/* Every bit written as 1: Enable and MME (clamped to MMC) stick. */
	cap_init(&cap, 5, true, true);
	wr(&cap, 2, 2, 0xFFFF, &r);
	assert_int_equal(ctrl(&cap), 0x01DB); /* PVM, 64, MME 5, MMC 5, EN */
	wr(&cap, 2, 2, 0x0000, &r);
	assert_int_equal(ctrl(&cap), 0x018A);

	cap_init(&cap, 0, false, false);
	wr(&cap, 2, 2, 0xFFFF, &r);
	assert_int_equal(ctrl(&cap), 0x0001);
	/* RO bits written as 1 stay 0, RO bits written as 0 stay 1. */
	wr(&cap, 2, 2, 0xFE8E, &r);
	assert_int_equal(ctrl(&cap), 0x0000);
	cap_init(&cap, 2, true, true);
	wr(&cap, 2, 2, 0x0000, &r);
	assert_int_equal(ctrl(&cap), 0x0184);

	/* Each bit on its own. */
	cap_init(&cap, 3, false, true);
	for (unsigned b = 0; b < 16; b++) {
		wr(&cap, 2, 2, 1U << b, &r);
		if (b == 0)
			assert_int_equal(ctrl(&cap), 0x0107);
		else if (b == 4 || b == 5)
			assert_int_equal(ctrl(&cap), 0x0106 | (1U << b));
		else if (b == 6) /* MME 4 > MMC 3: clamped to 3 */
			assert_int_equal(ctrl(&cap), 0x0136);
		else
			assert_int_equal(ctrl(&cap), 0x0106);
	}

	/* MME 0-7 against MMC 0-5: min(MME, MMC). */
	for (unsigned mmc = 0; mmc <= 5; mmc++) {
		for (unsigned mme = 0; mme <= 7; mme++) {
			unsigned exp = mme < mmc ? mme : mmc;

			cap_init(&cap, mmc, false, false);
			wr(&cap, 2, 2, mme << 4, &r);
			assert_int_equal(ctrl(&cap), mmc << 1 | exp << 4);
			assert_int_equal(cap.control, mmc << 1 | exp << 4);
		}
	}

	/* Byte writes: +2 holds Enable/MME, +3 holds only RO/reserved bits. */
	cap_init(&cap, 4, true, true);
	wr(&cap, 2, 1, 0x31, &r);
	assert_int_equal(ctrl(&cap), 0x01B9);
	wr(&cap, 3, 1, 0x00, &r);
	assert_int_equal(ctrl(&cap), 0x01B9);
	wr(&cap, 3, 1, 0xFF, &r);
	assert_int_equal(ctrl(&cap), 0x01B9);
	assert_int_equal(rd(&cap, 2, 1), 0xB9);
	assert_int_equal(rd(&cap, 3, 1), 0x01);
	assert_int_equal(r.n, 0);
}

static void test_layout32(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 5, false, true);
	wr(&cap, 4, 4, 0xFEE01237U, &r);
	assert_int_equal(rd(&cap, 4, 4), 0xFEE01234U);
	assert_int_equal(cap.addr_lo, 0xFEE01234U);
	wr(&cap, 8, 4, 0xABCD4321U, &r);
	assert_int_equal(rd(&cap, 8, 4), 0x4321);
	assert_int_equal(cap.data, 0x4321);
	assert_int_equal(cap.addr_hi, 0);
	/* The two bytes after Message Data are reserved. */
	wr(&cap, 0x0A, 2, 0xFFFF, &r);
	assert_int_equal(rd(&cap, 0x0A, 2), 0);
	assert_int_equal(rd(&cap, 8, 4), 0x4321);
	wr(&cap, 0x0C, 4, 0x80000001U, &r);
	assert_int_equal(rd(&cap, 0x0C, 4), 0x80000001U);
	assert_int_equal(cap.mask, 0x80000001U);
	assert_int_equal(rd(&cap, 0x10, 4), 0);

	/* Partial accesses. */
	assert_int_equal(rd(&cap, 4, 1), 0x34);
	assert_int_equal(rd(&cap, 5, 1), 0x12);
	assert_int_equal(rd(&cap, 6, 2), 0xFEE0);
	wr(&cap, 5, 1, 0x56, &r);
	assert_int_equal(cap.addr_lo, 0xFEE05634U);
	wr(&cap, 4, 1, 0xFF, &r);
	assert_int_equal(cap.addr_lo, 0xFEE056FCU);
	wr(&cap, 6, 2, 0xFEEF, &r);
	assert_int_equal(cap.addr_lo, 0xFEEF56FCU);
	wr(&cap, 9, 1, 0x77, &r);
	assert_int_equal(cap.data, 0x7721);
	wr(&cap, 0x0E, 2, 0x1234, &r);
	assert_int_equal(cap.mask, 0x12340001U);
	wr(&cap, 0x0D, 1, 0x80, &r);
	assert_int_equal(rd(&cap, 0x0C, 4), 0x12348001U);
	/* Pending Bits are read-only. */
	wr(&cap, 0x10, 4, 0xFFFFFFFFU, &r);
	assert_int_equal(rd(&cap, 0x10, 4), 0);
	assert_int_equal(cap.pending, 0);
	assert_int_equal(r.n, 0);

	/* Without per-vector masking the capability ends after Message Data. */
	cap_init(&cap, 5, false, false);
	wr(&cap, 8, 2, 0x1111, &r);
	assert_int_equal(rd(&cap, 8, 4), 0x1111);
	assert_int_equal(rd(&cap, 0x0A, 2), 0);
}

static void test_layout64(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 2, true, true);
	wr(&cap, 4, 4, 0xFEE00002U, &r);
	wr(&cap, 8, 4, 0x87654321U, &r);
	wr(&cap, 0x0C, 4, 0xFFFF5678U, &r);
	assert_int_equal(rd(&cap, 4, 4), 0xFEE00000U);
	assert_int_equal(rd(&cap, 8, 4), 0x87654321U);
	assert_int_equal(cap.addr_hi, 0x87654321U);
	assert_int_equal(rd(&cap, 0x0C, 4), 0x5678);
	assert_int_equal(rd(&cap, 0x0E, 2), 0);
	/* Mask Bits: only the 2^MMC = 4 implemented bits are writable. */
	wr(&cap, 0x10, 4, 0xFFFFFFFFU, &r);
	assert_int_equal(rd(&cap, 0x10, 4), 0xF);
	wr(&cap, 0x10, 1, 0x0A, &r);
	assert_int_equal(rd(&cap, 0x10, 4), 0xA);
	assert_int_equal(rd(&cap, 0x14, 4), 0);
	wr(&cap, 0x0B, 1, 0x01, &r);
	assert_int_equal(cap.addr_hi, 0x01654321U);
	wr(&cap, 0x0C, 1, 0x00, &r);
	assert_int_equal(cap.data, 0x5600);
	assert_int_equal(r.n, 0);

	/* 64-bit without masking: ends after Message Data at 0x0C. */
	cap_init(&cap, 0, true, false);
	wr(&cap, 0x0C, 2, 0xBEEF, &r);
	assert_int_equal(rd(&cap, 0x0C, 4), 0xBEEF);
}

static void test_mask_bits_per_mmc(void **state)
{
	static const uint32_t exp[6] = { 0x1, 0x3, 0xF, 0xFF, 0xFFFF, 0xFFFFFFFFU };
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	for (unsigned mmc = 0; mmc <= 5; mmc++) {
		cap_init(&cap, mmc, false, true);
		wr(&cap, 0x0C, 4, 0xFFFFFFFFU, &r);
		assert_int_equal(rd(&cap, 0x0C, 4), exp[mmc]);
		wr(&cap, 0x0C, 4, 0, &r);
		assert_int_equal(rd(&cap, 0x0C, 4), 0);
	}
}

static void test_bad_access(void **state)
{
	static const unsigned bad_sizes[] = { 0, 3, 5, 8, 16 };
	struct virq_msi_cap cap, before;
	struct rec r = { .n = 0 };
	uint32_t v;

	(void)state;
	for (unsigned l = 0; l < 4; l++) {
		bool a64 = l & 1, pvm = l & 2;
		uint32_t end = 0x0C + (a64 ? 4 : 0) + (pvm ? 8 : 0);
		static const uint32_t far[] = { 0x18, 0x1C, 0x100, 0xFFFFFFFCU, 0xFFFFFFFFU };

		cap_init(&cap, 3, a64, pvm);
		cap.next = 0x40;
		before = cap;
		for (uint32_t off = end; off < end + 8; off++) {
			for (unsigned size = 1; size <= 4; size <<= 1) {
				v = 0x1234;
				assert_int_equal(virq_msi_cap_read(&cap, off, size, &v),
						 -VIRQ_EINVAL);
				assert_int_equal(v, 0);
				assert_int_equal(virq_msi_cap_write(&cap, off, size, 0xFFFFFFFFU,
								    rec_send, &r),
						 -VIRQ_EINVAL);
			}
		}
		for (unsigned i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
			if (far[i] < end)
				continue;
			v = 0x1234;
			assert_int_equal(virq_msi_cap_read(&cap, far[i], 1, &v), -VIRQ_EINVAL);
			assert_int_equal(v, 0);
			assert_int_equal(virq_msi_cap_write(&cap, far[i], 1, 1, rec_send, &r),
					 -VIRQ_EINVAL);
		}
		/* Misaligned and odd sizes. */
		for (uint32_t off = 0; off < end; off++) {
			for (unsigned i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
				v = 0x1234;
				assert_int_equal(virq_msi_cap_read(&cap, off, bad_sizes[i], &v),
						 -VIRQ_EINVAL);
				assert_int_equal(v, 0);
				assert_int_equal(virq_msi_cap_write(&cap, off, bad_sizes[i],
								    0xFFFFFFFFU, rec_send, &r),
						 -VIRQ_EINVAL);
			}
			if (off & 1) {
				assert_int_equal(virq_msi_cap_read(&cap, off, 2, &v), -VIRQ_EINVAL);
				assert_int_equal(virq_msi_cap_write(&cap, off, 2, 0xFFFF, rec_send,
								    &r),
						 -VIRQ_EINVAL);
			}
			if (off & 3) {
				assert_int_equal(virq_msi_cap_read(&cap, off, 4, &v), -VIRQ_EINVAL);
				assert_int_equal(virq_msi_cap_write(&cap, off, 4, 0xFFFFFFFFU,
								    rec_send, &r),
						 -VIRQ_EINVAL);
			}
		}
		assert_int_equal(memcmp(&cap, &before, sizeof(cap)), 0);
		/* The last DWORD is valid. */
		assert_int_equal(rd(&cap, end - 4, 4), 0);
	}

	cap_init(&cap, 0, false, false);
	assert_int_equal(virq_msi_cap_read(&cap, 0, 4, NULL), -VIRQ_EINVAL);
	v = 0x1234;
	assert_int_equal(virq_msi_cap_read(NULL, 0, 4, &v), -VIRQ_EINVAL);
	assert_int_equal(v, 0);
	assert_int_equal(virq_msi_cap_write(NULL, 2, 2, 1, rec_send, &r), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_cap_write(&cap, 2, 2, 1, NULL, &r), -VIRQ_EINVAL);
	assert_int_equal(cap.control, 0);
	assert_int_equal(r.n, 0);
}

static void test_invalid_state(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };
	uint32_t v = 0x1234;

	(void)state;
	cap_init(&cap, 0, false, false);
	cap.control = 6 << 1; /* MMC 6 */
	assert_int_equal(virq_msi_cap_read(&cap, 0, 4, &v), -VIRQ_EINVAL);
	assert_int_equal(v, 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 0, rec_send, &r), -VIRQ_EINVAL);
	cap.control = 1 << 1 | 2 << 4 | 1; /* MME 2 > MMC 1 */
	assert_int_equal(virq_msi_cap_write(&cap, 2, 2, 0, rec_send, &r), -VIRQ_EINVAL);
	assert_int_equal(cap.control, 1 << 1 | 2 << 4 | 1);
	assert_int_equal(virq_msi_cap_notify(&cap, 0, rec_send, &r), -VIRQ_EINVAL);
	cap.control = 0x8001; /* reserved bit 15 */
	assert_int_equal(virq_msi_cap_notify(&cap, 0, rec_send, &r), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_cap_size(&cap), 0);
	assert_int_equal(r.n, 0);
}

/* The data sent for each vector under MME 0-5, base aligned to 32. */
static void test_notify_data_per_mme(void **state)
{
	struct virq_msi_cap cap;
	struct rec r;

	(void)state;
	for (unsigned mme = 0; mme <= 5; mme++) {
		unsigned n = 1U << mme;

		cap_init(&cap, 5, false, false);
		r.n = 0;
		wr(&cap, 4, 4, 0xFEE01000U, &r);
		wr(&cap, 8, 2, 0x40A0, &r);
		wr(&cap, 2, 2, 1U | mme << 4, &r);
		for (unsigned k = 0; k < n; k++)
			assert_int_equal(virq_msi_cap_notify(&cap, k, rec_send, &r), 0);
		assert_int_equal(r.n, n);
		for (unsigned k = 0; k < n; k++)
			assert_sent(&r, k, 0xFEE01000U, 0x40A0U + k);
		assert_int_equal(virq_msi_cap_notify(&cap, n, rec_send, &r), -VIRQ_EINVAL);
		assert_int_equal(virq_msi_cap_notify(&cap, 32, rec_send, &r), -VIRQ_EINVAL);
		assert_int_equal(virq_msi_cap_notify(&cap, 0xFFFFFFFFU, rec_send, &r),
				 -VIRQ_EINVAL);
		assert_int_equal(r.n, n);
	}
}

/* The function replaces the low MME bits, whatever software left there. */
static void test_notify_unaligned_base(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 3, false, false);
	wr(&cap, 4, 4, 0xFEE00000U, &r);
	wr(&cap, 8, 2, 0x00FF, &r);
	wr(&cap, 2, 2, 0x21, &r); /* MME 2 */
	assert_int_equal(virq_msi_cap_notify(&cap, 0, rec_send, &r), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 1, rec_send, &r), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 2, rec_send, &r), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 3, rec_send, &r), 0);
	assert_int_equal(r.n, 4);
	assert_sent(&r, 0, 0xFEE00000U, 0xFC);
	assert_sent(&r, 1, 0xFEE00000U, 0xFD);
	assert_sent(&r, 2, 0xFEE00000U, 0xFE);
	assert_sent(&r, 3, 0xFEE00000U, 0xFF);
	/* MME 0: the data goes out as programmed. */
	wr(&cap, 2, 2, 0x01, &r);
	assert_int_equal(virq_msi_cap_notify(&cap, 0, rec_send, &r), 0);
	assert_sent(&r, 4, 0xFEE00000U, 0xFF);
	assert_int_equal(virq_msi_cap_notify(&cap, 1, rec_send, &r), -VIRQ_EINVAL);
	assert_int_equal(r.n, 5);
}

static void test_notify_address_width(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 0, true, false);
	wr(&cap, 4, 4, 0xFEE0F00CU, &r);
	wr(&cap, 8, 4, 0x00000A00U, &r);
	wr(&cap, 0x0C, 2, 0x0031, &r);
	wr(&cap, 2, 2, 1, &r);
	assert_int_equal(virq_msi_cap_notify(&cap, 0, rec_send, &r), 0);
	assert_sent(&r, 0, 0x00000A00FEE0F00CULL, 0x31);

	/* 32-bit: an upper word the caller left in the state is not used. */
	cap_init(&cap, 0, false, false);
	cap.addr_hi = 0x12345678U;
	wr(&cap, 4, 4, 0xFEE0F00CU, &r);
	wr(&cap, 8, 2, 0x0031, &r);
	wr(&cap, 2, 2, 1, &r);
	assert_int_equal(virq_msi_cap_notify(&cap, 0, rec_send, &r), 0);
	assert_sent(&r, 1, 0xFEE0F00CULL, 0x31);
	assert_int_equal(r.n, 2);
}

static void test_notify_disabled(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 2, false, true);
	wr(&cap, 2, 2, 0x20, &r); /* MME 2, disabled */
	for (unsigned k = 0; k < 4; k++)
		assert_int_equal(virq_msi_cap_notify(&cap, k, rec_send, &r), 0);
	wr(&cap, 0x0C, 4, 0xF, &r);
	for (unsigned k = 0; k < 4; k++)
		assert_int_equal(virq_msi_cap_notify(&cap, k, rec_send, &r), 0);
	assert_int_equal(cap.pending, 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 4, rec_send, &r), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_cap_notify(&cap, 0, NULL, &r), -VIRQ_EINVAL);
	assert_int_equal(virq_msi_cap_notify(NULL, 0, rec_send, &r), -VIRQ_EINVAL);
	/* Enabling later sends nothing: nothing was held. */
	wr(&cap, 0x0C, 4, 0, &r);
	wr(&cap, 2, 2, 0x21, &r);
	assert_int_equal(r.n, 0);
}

static void test_mask_pending_unmask(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 3, true, true);
	wr(&cap, 4, 4, 0xFEE02000U, &r);
	wr(&cap, 0x0C, 2, 0x0050, &r);
	wr(&cap, 2, 2, 0x31, &r);    /* MME 3: 8 vectors, enabled */
	wr(&cap, 0x10, 4, 0x24, &r); /* mask 2 and 5 */
	assert_int_equal(virq_msi_cap_notify(&cap, 2, rec_send, &r), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 5, rec_send, &r), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 5, rec_send, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(rd(&cap, 0x14, 4), 0x24);
	assert_int_equal(rd(&cap, 0x14, 1), 0x24);
	assert_int_equal(virq_msi_cap_notify(&cap, 3, rec_send, &r), 0);
	assert_int_equal(r.n, 1);
	assert_sent(&r, 0, 0xFEE02000U, 0x53);

	/* Unmask 5 only: it is sent once, 2 stays pending. */
	wr(&cap, 0x10, 4, 0x04, &r);
	assert_int_equal(r.n, 2);
	assert_sent(&r, 1, 0xFEE02000U, 0x55);
	assert_int_equal(rd(&cap, 0x14, 4), 0x04);
	/* Re-masking 5 and writing again sends nothing. */
	wr(&cap, 0x10, 4, 0x24, &r);
	wr(&cap, 0x10, 4, 0x24, &r);
	assert_int_equal(r.n, 2);
	/* Data changed while held: the new data goes out. */
	wr(&cap, 0x0C, 2, 0x0060, &r);
	wr(&cap, 0x10, 1, 0x00, &r);
	assert_int_equal(r.n, 3);
	assert_sent(&r, 2, 0xFEE02000U, 0x62);
	assert_int_equal(rd(&cap, 0x14, 4), 0);
	assert_int_equal(cap.mask, 0);
	/* Unmasked: sent immediately. */
	assert_int_equal(virq_msi_cap_notify(&cap, 2, rec_send, &r), 0);
	assert_sent(&r, 3, 0xFEE02000U, 0x62);
	assert_int_equal(r.n, 4);
}

static void test_unmask_order(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 5, false, true);
	wr(&cap, 4, 4, 0xFEE00000U, &r);
	wr(&cap, 8, 2, 0x0020, &r);
	wr(&cap, 0x0C, 4, 0xFFFFFFFFU, &r);
	wr(&cap, 2, 2, 0x51, &r); /* MME 5 */
	assert_int_equal(virq_msi_cap_notify(&cap, 31, rec_send, &r), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 0, rec_send, &r), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 17, rec_send, &r), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 8, rec_send, &r), 0);
	assert_int_equal(rd(&cap, 0x10, 4), 0x80020101U);
	assert_int_equal(r.n, 0);
	wr(&cap, 0x0C, 4, 0, &r);
	assert_int_equal(r.n, 4);
	assert_sent(&r, 0, 0xFEE00000U, 0x20);
	assert_sent(&r, 1, 0xFEE00000U, 0x28);
	assert_sent(&r, 2, 0xFEE00000U, 0x31);
	assert_sent(&r, 3, 0xFEE00000U, 0x3F);
	assert_int_equal(cap.pending, 0);
}

static void test_pending_across_disable(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 1, false, true);
	wr(&cap, 4, 4, 0xFEE00000U, &r);
	wr(&cap, 8, 2, 0x0040, &r);
	wr(&cap, 0x0C, 4, 0x3, &r);
	wr(&cap, 2, 2, 0x11, &r);
	assert_int_equal(virq_msi_cap_notify(&cap, 1, rec_send, &r), 0);
	assert_int_equal(cap.pending, 0x2);
	/* Disable, unmask: held, not sent. */
	wr(&cap, 2, 2, 0x10, &r);
	wr(&cap, 0x0C, 4, 0, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(rd(&cap, 0x10, 4), 0x2);
	/* Enable: sent, cleared. */
	wr(&cap, 2, 1, 0x11, &r);
	assert_int_equal(r.n, 1);
	assert_sent(&r, 0, 0xFEE00000U, 0x41);
	assert_int_equal(rd(&cap, 0x10, 4), 0);
}

static void test_mme_shrink_drops_pending(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 3, false, true);
	wr(&cap, 0x0C, 4, 0xFF, &r);
	wr(&cap, 2, 2, 0x31, &r); /* MME 3 */
	for (unsigned k = 0; k < 8; k++)
		assert_int_equal(virq_msi_cap_notify(&cap, k, rec_send, &r), 0);
	assert_int_equal(rd(&cap, 0x10, 4), 0xFF);
	wr(&cap, 2, 2, 0x11, &r); /* MME 1: vectors 2-7 gone */
	assert_int_equal(rd(&cap, 0x10, 4), 0x03);
	assert_int_equal(virq_msi_cap_notify(&cap, 2, rec_send, &r), -VIRQ_EINVAL);
	wr(&cap, 2, 2, 0x01, &r); /* MME 0 */
	assert_int_equal(rd(&cap, 0x10, 4), 0x01);
	wr(&cap, 2, 2, 0x31, &r); /* back to 8: nothing comes back */
	assert_int_equal(rd(&cap, 0x10, 4), 0x01);
	wr(&cap, 0x0C, 4, 0, &r);
	assert_int_equal(r.n, 1);
	assert_sent(&r, 0, 0, 0);
	assert_int_equal(rd(&cap, 0x10, 4), 0);
}

/* Without per-vector masking nothing is held, whatever the state says. */
static void test_no_pvm(void **state)
{
	struct virq_msi_cap cap;
	struct rec r = { .n = 0 };

	(void)state;
	cap_init(&cap, 1, false, false);
	cap.mask = 0x3; /* ignored: not mask-capable */
	wr(&cap, 8, 2, 0x0070, &r);
	wr(&cap, 2, 2, 0x11, &r);
	assert_int_equal(virq_msi_cap_notify(&cap, 1, rec_send, &r), 0);
	assert_int_equal(r.n, 1);
	assert_sent(&r, 0, 0, 0x71);
	assert_int_equal(cap.pending, 0);
}

struct reenter {
	struct virq_msi_cap *cap;
	struct rec rec;
	uint32_t pending_seen;
};

static void reenter_send(void *ctx, uint64_t addr, uint32_t data)
{
	struct reenter *re = ctx;

	re->pending_seen = re->cap->pending;
	rec_send(&re->rec, addr, data);
}

/* The pending bit is already clear when the send hook runs. */
static void test_pending_cleared_before_send(void **state)
{
	struct virq_msi_cap cap;
	struct reenter re;

	(void)state;
	memset(&re, 0, sizeof(re));
	re.cap = &cap;
	cap_init(&cap, 1, false, true);
	assert_int_equal(virq_msi_cap_write(&cap, 0x0C, 4, 0x3, reenter_send, &re), 0);
	assert_int_equal(virq_msi_cap_write(&cap, 2, 2, 0x11, reenter_send, &re), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 0, reenter_send, &re), 0);
	assert_int_equal(virq_msi_cap_notify(&cap, 1, reenter_send, &re), 0);
	assert_int_equal(virq_msi_cap_write(&cap, 0x0C, 4, 0, reenter_send, &re), 0);
	assert_int_equal(re.rec.n, 2);
	assert_int_equal(re.pending_seen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_control_bits),
		cmocka_unit_test(test_layout32),
		cmocka_unit_test(test_layout64),
		cmocka_unit_test(test_mask_bits_per_mmc),
		cmocka_unit_test(test_bad_access),
		cmocka_unit_test(test_invalid_state),
		cmocka_unit_test(test_notify_data_per_mme),
		cmocka_unit_test(test_notify_unaligned_base),
		cmocka_unit_test(test_notify_address_width),
		cmocka_unit_test(test_notify_disabled),
		cmocka_unit_test(test_mask_pending_unmask),
		cmocka_unit_test(test_unmask_order),
		cmocka_unit_test(test_pending_across_disable),
		cmocka_unit_test(test_mme_shrink_drops_pending),
		cmocka_unit_test(test_no_pvm),
		cmocka_unit_test(test_pending_cleared_before_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
