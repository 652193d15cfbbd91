/* SPDX-License-Identifier: MIT */
/*
 * LAPIC passthrough (include/virq/passthrough.h): the exact physical ICR
 * writes and emulated INIT/SIPI a trapped guest ICR write becomes, for
 * every shorthand and destination mode, the virtual ID and LDR reads, the
 * MSR-bitmap list, and hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <virq/passthrough.h>

#include "harness.h"

#define NR 4U

/* The embedder's pinning: vCPU i runs on the physical CPU of x2APIC ID
 * phys[i]; fail (when >= 0) makes that vCPU's translation fail; broadcast
 * makes it answer 0xFFFFFFFF. */
struct pin {
	uint32_t phys[NR];
	int fail;
	int broadcast;
	unsigned calls;
};

static int pin_phys(void *ctx, uint32_t vcpu, uint32_t virtual_id, uint32_t *phys_id)
{
	struct pin *p = ctx;

	(void)virtual_id;
	p->calls++;
	if (vcpu >= NR || (int)vcpu == p->fail)
		return -1;
	*phys_id = (int)vcpu == p->broadcast ? 0xFFFFFFFFU : p->phys[vcpu];
	return 0;
}

/* ACRN's current code: virtual IDs are the physical ones. */
static int identity(void *ctx, uint32_t vcpu, uint32_t virtual_id, uint32_t *phys_id)
{
	(void)ctx;
	(void)vcpu;
	*phys_id = virtual_id;
	return 0;
}

/* Four x2APIC vCPUs with virtual IDs @ids. */
static struct vm_fixture *pt_vm(const uint32_t ids[NR])
{
	struct vm_fixture *fx = fx_new(NR, 256, 0);

	for (uint32_t i = 0; i < NR; i++)
		fx_add_x2apic(fx, i, ids[i]);
	return fx;
}

struct want {
	uint32_t vcpu, phys, action;
};

/* Runs one write from @sender and checks the exact target list: @nw
 * entries of @w, each with physical ICR phys << 32 | (@icr & keep). */
static void expect(struct vm_fixture *fx, struct pin *p, uint32_t sender, uint64_t icr,
		   const struct want *w, uint32_t nw)
{
	struct virq_pt_target out[NR];
	uint32_t n = 99;

	memset(out, 0xA5, sizeof(out));
	assert_int_equal(virq_pt_icr_write(&fx->vm, sender, icr, pin_phys, p, out, NR, &n), 0);
	assert_int_equal(n, nw);
	for (uint32_t k = 0; k < nw; k++) {
		assert_int_equal(out[k].vcpu, w[k].vcpu);
		assert_int_equal(out[k].phys_id, w[k].phys);
		assert_int_equal(out[k].action, w[k].action);
		assert_int_equal(out[k].reserved, 0);
		assert_int_equal(out[k].icr, (uint64_t)w[k].phys << 32 | (icr & 0xC7FFULL));
	}
}

static const uint32_t ids4[NR] = { 0, 1, 2, 3 };

static struct pin pin4(void)
{
	struct pin p = { { 0x20, 0x31, 0x42, 0x53 }, -1, -1, 0 };

	return p;
}

static void test_shorthands(void **state)
{
	struct vm_fixture *fx = pt_vm(ids4);
	struct pin p = pin4();
	const struct want all[] = { { 0, 0x20, VIRQ_PT_SEND },
				    { 1, 0x31, VIRQ_PT_SEND },
				    { 2, 0x42, VIRQ_PT_SEND },
				    { 3, 0x53, VIRQ_PT_SEND } };
	const struct want excl[] = { all[0], all[2], all[3] };

	(void)state;
	/* No shorthand, physical: virtual ID 2 is on physical CPU 0x42. */
	expect(fx, &p, 1, 0x0000000200000040ULL, &all[2], 1);
	/* Self (destination ignored). */
	expect(fx, &p, 1, 0x0000000700040041ULL, &all[1], 1);
	/* All including self, all excluding self: vCPU index order. */
	expect(fx, &p, 1, 0x00080042ULL, all, 4);
	expect(fx, &p, 1, 0x000C0043ULL, excl, 3);
	/* Broadcast 0xFFFFFFFF, physical and logical: everyone, self too. */
	expect(fx, &p, 1, 0xFFFFFFFF00000044ULL, all, 4);
	expect(fx, &p, 1, 0xFFFFFFFF00000845ULL, all, 4);
	/* 0xFF is APIC ID 255 in x2APIC format: nobody here. */
	expect(fx, &p, 1, 0x000000FF00000046ULL, NULL, 0);
	/* An ID nobody has. */
	expect(fx, &p, 1, 0x0000000900000047ULL, NULL, 0);
	/* x2APIC logical: cluster 0, bitmap 0101b -> virtual IDs 0 and 2. */
	{
		const struct want w[] = { all[0], all[2] };

		expect(fx, &p, 3, 0x0000000500000848ULL, w, 2);
	}
	/* Logical, cluster 1: nobody. */
	expect(fx, &p, 3, 0x0001000100000849ULL, NULL, 0);
	/* Level-triggered fixed keeps level and trigger bits. */
	expect(fx, &p, 0, 0x000000030000C04AULL, &all[3], 1);
	/* Delivery status (bit 12) is ignored: not kept, not a fault. */
	expect(fx, &p, 0, 0x000000030000104BULL, &all[3], 1);
	fx_check(fx);
	fx_free(fx);
}

static void test_nmi_init_sipi(void **state)
{
	struct vm_fixture *fx = pt_vm(ids4);
	struct pin p = pin4();
	const struct want nmi[] = { { 0, 0x20, VIRQ_PT_SEND },
				    { 2, 0x42, VIRQ_PT_SEND },
				    { 3, 0x53, VIRQ_PT_SEND } };
	const struct want init[] = { { 0, 0x20, VIRQ_PT_INIT },
				     { 2, 0x42, VIRQ_PT_INIT },
				     { 3, 0x53, VIRQ_PT_INIT } };
	const struct want sipi[] = { { 2, 0x42, VIRQ_PT_SIPI } };

	(void)state;
	/* NMI to all excluding self: sent physically. */
	expect(fx, &p, 1, 0x000C0400ULL, nmi, 3);
	/* NMI, physical destination 3. */
	expect(fx, &p, 1, 0x0000000300000400ULL, &nmi[2], 1);
	/* INIT assert to all excluding self: emulated, never sent. */
	expect(fx, &p, 1, 0x000C4500ULL, init, 3);
	/* INIT level de-assert: nothing. */
	expect(fx, &p, 1, 0x000C8500ULL, NULL, 0);
	/* Start-up, vector 9AH, to virtual ID 2. */
	expect(fx, &p, 1, 0x000000020000069AULL, sipi, 1);
	/* SMI: never the guest's to send. */
	expect(fx, &p, 1, 0x0000000200000200ULL, NULL, 0);
	/* Invalid combinations (SDM Table 10-3 "Valid Combinations for the
	 * Pentium 4 and Intel Xeon Processors' Local xAPIC Interrupt Command
	 * Register"): self or all-including-self
	 * with anything but fixed; ExtINT and reserved mode 3 anywhere. */
	expect(fx, &p, 1, 0x00040400ULL, NULL, 0);
	expect(fx, &p, 1, 0x00080500ULL, NULL, 0);
	expect(fx, &p, 1, 0x0000000200000700ULL, NULL, 0);
	expect(fx, &p, 1, 0x0000000200000340ULL, NULL, 0);
	fx_free(fx);
}

/* Errors the physical APIC latches: one VIRQ_PT_ERROR write aimed at the
 * sender's own CPU; #GP for reserved bits. */
static void test_guest_errors(void **state)
{
	struct vm_fixture *fx = pt_vm(ids4);
	struct pin p = pin4();
	const struct want err[] = { { 1, 0x31, VIRQ_PT_ERROR } };
	static const uint64_t rsvd[] = { 1ULL << 13, 1ULL << 16, 1ULL << 17, 1ULL << 20,
					 1ULL << 31 };
	struct virq_pt_target out[NR];
	uint32_t n;

	(void)state;
	/* Fixed vectors 0-15 with every destination form. */
	for (uint32_t v = 0; v < 16; v++) {
		expect(fx, &p, 1, 0x0000000200000000ULL | v, err, 1);
		expect(fx, &p, 1, 0x000C0000ULL | v, err, 1);
		expect(fx, &p, 1, 0x00040000ULL | v, err, 1);
	}
	/* Lowest priority is reserved in x2APIC mode (redirectable IPI), even
	 * with a legal vector. */
	expect(fx, &p, 1, 0x0000000200000150ULL, err, 1);
	expect(fx, &p, 1, 0xFFFFFFFF00000150ULL, err, 1);
	/* Reserved bits: the WRMSR faults, no target, no translation asked. */
	for (unsigned r = 0; r < sizeof(rsvd) / sizeof(rsvd[0]); r++) {
		p.calls = 0;
		n = 99;
		assert_int_equal(virq_pt_icr_write(&fx->vm, 1, 0x0000000200000040ULL | rsvd[r],
						   pin_phys, &p, out, NR, &n),
				 VIRQ_GP);
		assert_int_equal(n, 0);
		assert_int_equal(p.calls, 0);
	}
	fx_free(fx);
}

/* Virtual IDs that are not the vCPU indices, and the identity mapping. */
static void test_virtual_ids(void **state)
{
	static const uint32_t ids[NR] = { 0x10, 0x11, 0x25, 0x300 };
	struct vm_fixture *fx = pt_vm(ids);
	struct pin p = pin4();
	struct virq_pt_target out[NR];
	uint32_t n;

	(void)state;
	{
		const struct want w[] = { { 3, 0x53, VIRQ_PT_SEND } };

		expect(fx, &p, 0, 0x0000030000000060ULL, w, 1);
	}
	/* Logical: cluster 1 (IDs 0x10-0x1F), bits 0 and 1 -> 0x10 and 0x11. */
	{
		const struct want w[] = { { 0, 0x20, VIRQ_PT_SEND }, { 1, 0x31, VIRQ_PT_SEND } };

		expect(fx, &p, 2, 0x0001000300000861ULL, w, 2);
	}
	/* Identity translation: the physical ICR is the guest's, shorthand
	 * expanded. */
	assert_int_equal(virq_pt_icr_write(&fx->vm, 0, 0x000C0062ULL, identity, NULL, out, NR, &n),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].icr, 0x0000001100000062ULL);
	assert_int_equal(out[1].icr, 0x0000002500000062ULL);
	assert_int_equal(out[2].icr, 0x0000030000000062ULL);
	fx_free(fx);
}

static void test_id_ldr_reads(void **state)
{
	static const uint32_t ids[NR] = { 0x10, 0x11, 0x25, 0x300 };
	struct vm_fixture *fx = pt_vm(ids);
	uint64_t v = 7;

	(void)state;
	for (uint32_t i = 0; i < NR; i++) {
		assert_int_equal(virq_pt_rdmsr(&fx->apics[i], 0x802, &v), 0);
		assert_int_equal(v, ids[i]);
		assert_int_equal(virq_pt_rdmsr(&fx->apics[i], 0x80D, &v), 0);
		assert_int_equal(v, (ids[i] >> 4) << 16 | 1U << (ids[i] & 15U));
	}
	v = 7;
	assert_int_equal(virq_pt_rdmsr(&fx->apics[0], 0x808, &v), -VIRQ_ENOENT);
	assert_int_equal(virq_pt_rdmsr(&fx->apics[0], 0x830, &v), -VIRQ_ENOENT);
	assert_int_equal(virq_pt_rdmsr(NULL, 0x802, &v), -VIRQ_EINVAL);
	assert_int_equal(virq_pt_rdmsr(&fx->apics[0], 0x802, NULL), -VIRQ_EINVAL);
	assert_int_equal(v, 7);
	fx_free(fx);

	/* Still in xAPIC mode: the x2APIC MSRs fault. */
	fx = fx_new(1, 16, 0);
	fx_add_xapic(fx, 0, 3);
	assert_int_equal(virq_pt_rdmsr(&fx->apics[0], 0x802, &v), VIRQ_GP);
	fx_free(fx);
}

static void test_msr_bitmap(void **state)
{
	(void)state;
	for (uint32_t m = 0x7F0; m < 0x910; m++) {
		assert_int_equal(virq_pt_msr_intercepted(m, false), m == 0x802 || m == 0x80D);
		assert_int_equal(virq_pt_msr_intercepted(m, true), m == 0x830);
	}
}

/* Hostile embedder input: refused with *n = 0. */
static void test_bad_args(void **state)
{
	struct vm_fixture *fx = pt_vm(ids4);
	struct pin p = pin4();
	struct virq_pt_target out[NR];
	uint32_t n;

	(void)state;
#define BAD(call, err)                                                                             \
	do {                                                                                       \
		n = 99;                                                                            \
		assert_int_equal(call, err);                                                       \
		assert_int_equal(n, 0);                                                            \
	} while (0)
	BAD(virq_pt_icr_write(NULL, 0, 0x40, pin_phys, &p, out, NR, &n), -VIRQ_EINVAL);
	BAD(virq_pt_icr_write(&fx->vm, 4, 0x40, pin_phys, &p, out, NR, &n), -VIRQ_EINVAL);
	BAD(virq_pt_icr_write(&fx->vm, 0, 0x40, NULL, &p, out, NR, &n), -VIRQ_EINVAL);
	BAD(virq_pt_icr_write(&fx->vm, 0, 0x40, pin_phys, &p, NULL, NR, &n), -VIRQ_EINVAL);
	BAD(virq_pt_icr_write(&fx->vm, 0, 0x40, pin_phys, &p, out, NR - 1, &n), -VIRQ_EINVAL);
	assert_int_equal(virq_pt_icr_write(&fx->vm, 0, 0x40, pin_phys, &p, out, NR, NULL),
			 -VIRQ_EINVAL);
	/* A translation that fails, or names the physical broadcast. */
	p.fail = 2;
	BAD(virq_pt_icr_write(&fx->vm, 0, 0x00080040ULL, pin_phys, &p, out, NR, &n), -VIRQ_ENOENT);
	p.fail = -1;
	p.broadcast = 3;
	BAD(virq_pt_icr_write(&fx->vm, 0, 0x0000000300000040ULL, pin_phys, &p, out, NR, &n),
	    -VIRQ_ENOENT);
	p.broadcast = 1;
	BAD(virq_pt_icr_write(&fx->vm, 1, 0x00000005ULL, pin_phys, &p, out, NR, &n), -VIRQ_ENOENT);
	p.broadcast = -1;
	/* An absent sender; a sender not yet in x2APIC mode. */
	assert_int_equal(virq_vm_set_vcpu(&fx->vm, 3, NULL), 0);
	BAD(virq_pt_icr_write(&fx->vm, 3, 0x40, pin_phys, &p, out, NR, &n), -VIRQ_EINVAL);
	fx_free(fx);
	fx = fx_new(NR, 16, 0);
	fx_add_xapic(fx, 0, 0);
	BAD(virq_pt_icr_write(&fx->vm, 0, 0x40, pin_phys, &p, out, NR, &n), -VIRQ_ESTATEMODE);
	fx_free(fx);
#undef BAD
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shorthands),   cmocka_unit_test(test_nmi_init_sipi),
		cmocka_unit_test(test_guest_errors), cmocka_unit_test(test_virtual_ids),
		cmocka_unit_test(test_id_ldr_reads), cmocka_unit_test(test_msr_bitmap),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
