/* SPDX-License-Identifier: MIT */
/*
 * The KVM glue against the real /dev/kvm, without a guest: configuration
 * checks, the CPUID and IA32_APIC_BASE KVM ends up with, the MSR filter,
 * and the kick/wait protocol between threads. Guest-visible behaviour is
 * tested by tests/guests under virq-vmm (suite kvm).
 *
 * Two groups, two meson tests (tests/kvm/meson.build): with no argument
 * the cases that need no /dev/kvm (test_glue, must pass anywhere); with
 * the argument "kvm" the cases that open /dev/kvm (test_glue_kvm), each of
 * which skips without it, so that binary exits 77 (meson: SKIP).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "virq_test.h"

#include <virq/kvm.h>

struct rig {
	int kvm_fd, vm_fd;
	int fd[2];
	struct kvm_run *run[2];
	struct virq_kvm chip;
	struct virq_kvm_vcpu *v[2];
};

/* 0 when /dev/kvm opens read-write, else the errno of the attempt. */
static int kvm_unavailable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

#define NEED_KVM()                                                                                 \
	do {                                                                                       \
		int kvm_err_ = kvm_unavailable();                                                  \
                                                                                                   \
		if (kvm_err_)                                                                      \
			virq_skip("no /dev/kvm (%s)", strerror(kvm_err_));                         \
	} while (0)

/* A VM with cfg->nr_vcpus vCPUs (1-2) and the glue configured by @cfg. */
static struct rig *rig_new_cfg(const struct virq_kvm_config *cfg)
{
	struct rig *r = calloc(1, sizeof(*r));
	unsigned n = cfg->nr_vcpus;
	int sz;

	assert_non_null(r);
	r->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	assert_true(r->kvm_fd >= 0);
	r->vm_fd = ioctl(r->kvm_fd, KVM_CREATE_VM, 0);
	assert_true(r->vm_fd >= 0);
	assert_int_equal(virq_kvm_init(&r->chip, r->vm_fd, cfg), 0);
	sz = ioctl(r->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	for (unsigned i = 0; i < n; i++) {
		r->fd[i] = ioctl(r->vm_fd, KVM_CREATE_VCPU, i);
		assert_true(r->fd[i] >= 0);
		r->run[i] = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd[i], 0);
		assert_true(r->run[i] != MAP_FAILED);
		r->v[i] = aligned_alloc(4096, sizeof(struct virq_kvm_vcpu));
		assert_non_null(r->v[i]);
		assert_int_equal(virq_kvm_vcpu_init(r->v[i], &r->chip, i, r->fd[i], r->run[i]), 0);
	}
	return r;
}

/* A VM with @n vCPUs (1-2) and the glue in @mode. */
static struct rig *rig_new(enum virq_kvm_irqchip mode, unsigned n, bool no_x2apic)
{
	struct virq_kvm_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.irqchip = mode;
	cfg.nr_vcpus = n;
	cfg.no_x2apic = no_x2apic;
	return rig_new_cfg(&cfg);
}

static void rig_free(struct rig *r)
{
	for (unsigned i = 0; i < 2; i++) {
		if (!r->v[i])
			continue;
		virq_kvm_vcpu_destroy(r->v[i]);
		free(r->v[i]);
		close(r->fd[i]);
	}
	virq_kvm_destroy(&r->chip);
	close(r->vm_fd);
	close(r->kvm_fd);
	free(r);
}

static struct kvm_cpuid_entry2 *find_leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static struct kvm_cpuid2 *get_cpuid(int fd)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = 256;
	assert_int_equal(ioctl(fd, KVM_GET_CPUID2, c), 0);
	return c;
}

static struct kvm_cpuid2 *get_cpuid_supported(int kvm_fd)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = 256;
	assert_int_equal(ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c), 0);
	return c;
}

static uint64_t get_msr(int fd, uint32_t msr)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8 + 1];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;

	memset(buf, 0, sizeof(buf));
	m->nmsrs = 1;
	m->entries[0].index = msr;
	assert_int_equal(ioctl(fd, KVM_GET_MSRS, m), 1);
	return m->entries[0].data;
}

static void test_config_refused(void **state)
{
	struct virq_kvm_config cfg;
	static struct virq_kvm chip;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = 0;
	assert_int_equal(virq_kvm_init(&chip, 3, &cfg), -VIRQ_EINVAL);
	cfg.nr_vcpus = VIRQ_KVM_MAX_VCPUS + 1;
	assert_int_equal(virq_kvm_init(&chip, 3, &cfg), -VIRQ_EINVAL);
	cfg.nr_vcpus = 1;
	cfg.irqchip = (enum virq_kvm_irqchip)2;
	assert_int_equal(virq_kvm_init(&chip, 3, &cfg), -VIRQ_EINVAL);
	cfg.irqchip = VIRQ_KVM_IRQCHIP_USER;
	cfg.ioapic_version = 0x15;
	assert_int_equal(virq_kvm_init(&chip, 3, &cfg), -VIRQ_EINVAL);
	cfg.ioapic_version = 0;
	assert_int_equal(virq_kvm_init(&chip, -1, &cfg), -VIRQ_EINVAL);
	assert_int_equal(virq_kvm_init(NULL, 3, &cfg), -VIRQ_EINVAL);
}

/*
 * cfg->size (doc/abi.md, "Growing ops and config structures"): 0,
 * sizeof - 1 and sizeof + 1 are refused with -VIRQ_EVERSION before any
 * system call (errno unchanged) and nothing is written; sizeof, today also
 * the first published size, passes it: the next verdict is the
 * configuration's own (accepted: every /dev/kvm case, built on rig_new()).
 */
static void test_config_size_checked(void **state)
{
	static struct virq_kvm chip, before;
	union {
		struct virq_kvm_config c;
		unsigned char room[sizeof(struct virq_kvm_config) + 1];
	} cfg;
	const uint32_t bad[3] = { 0, sizeof(struct virq_kvm_config) - 1,
				  sizeof(struct virq_kvm_config) + 1 };

	(void)state;
	assert_int_equal(VIRQ_KVM_CONFIG_SIZE_MIN, sizeof(struct virq_kvm_config));
	memset(&chip, 0x4D, sizeof(chip));
	before = chip;
	for (unsigned i = 0; i < 3; i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.c.size = bad[i];
		cfg.c.nr_vcpus = 1;
		errno = 1234;
		assert_int_equal(virq_kvm_init(&chip, 3, &cfg.c), -VIRQ_EVERSION);
		assert_int_equal(errno, 1234);
		/* A bad field behind a bad size: the size is the verdict. */
		cfg.c.nr_vcpus = 0;
		assert_int_equal(virq_kvm_init(&chip, 3, &cfg.c), -VIRQ_EVERSION);
		assert_memory_equal(&chip, &before, sizeof(chip));
	}
	cfg.c.size = sizeof(cfg.c);
	assert_int_equal(virq_kvm_init(&chip, -1, &cfg.c), -VIRQ_EINVAL);
	cfg.c.nr_vcpus = 0;
	assert_int_equal(virq_kvm_init(&chip, 3, &cfg.c), -VIRQ_EINVAL);
	assert_memory_equal(&chip, &before, sizeof(chip));
}

/* A system call that fails is -VIRQ_EHOST with errno kept: without
 * /dev/kvm, the open of it (ENOENT or EACCES); with it, the first ioctl on
 * a descriptor that is no KVM VM (/dev/null: ENOTTY). Either mode. */
static void test_host_error(void **state)
{
	struct virq_kvm_config cfg;
	static struct virq_kvm chip;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC), dev = kvm_unavailable();

	(void)state;
	assert_true(fd >= 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.nr_vcpus = 1;
	for (int mode = VIRQ_KVM_IRQCHIP_USER; mode <= VIRQ_KVM_IRQCHIP_SPLIT; mode++) {
		cfg.irqchip = (enum virq_kvm_irqchip)mode;
		errno = 0;
		assert_int_equal(virq_kvm_init(&chip, fd, &cfg), -VIRQ_EHOST);
		assert_int_equal(errno, dev ? dev : ENOTTY);
	}
	close(fd);
}

/* CPUID: APIC IDs in leaves 1 and 0xB, APIC/x2APIC/TSC-deadline bits. */
static void check_cpuid(enum virq_kvm_irqchip mode)
{
	struct rig *r = rig_new(mode, 2, false);
	struct kvm_cpuid2 *sup = get_cpuid_supported(r->kvm_fd);
	struct kvm_cpuid_entry2 *sup_pv = find_leaf(sup, 0x40000001, 0);

	for (unsigned i = 0; i < 2; i++) {
		struct kvm_cpuid2 *c = get_cpuid(r->fd[i]);
		struct kvm_cpuid_entry2 *l1 = find_leaf(c, 1, 0), *lb = find_leaf(c, 0xB, 0);
		struct kvm_cpuid_entry2 *pv = find_leaf(c, 0x40000001, 0);

		assert_non_null(l1);
		assert_int_equal(l1->ebx >> 24, i);
		assert_true(l1->edx & (1U << 9));
		assert_true(l1->ecx & (1U << 21));
		assert_true(l1->ecx & (1U << 24));
		assert_non_null(lb); /* KVM lists leaf 0xB; the glue must patch it */
		assert_int_equal(lb->edx, i);
		/* Paravirtual features: what KVM supports, less (user mode) PV
		 * EOI, unhalt, send-IPI, sched yield and async PF. */
		assert_non_null(pv);
		assert_non_null(sup_pv);
		assert_int_equal(pv->eax, mode == VIRQ_KVM_IRQCHIP_USER ? sup_pv->eax & ~0x6CD0U
									: sup_pv->eax);
		free(c);
	}
	free(sup);
	rig_free(r);
}

static void test_cpuid_user(void **state)
{
	(void)state;
	NEED_KVM();
	check_cpuid(VIRQ_KVM_IRQCHIP_USER);
}

static void test_cpuid_split(void **state)
{
	(void)state;
	NEED_KVM();
	check_cpuid(VIRQ_KVM_IRQCHIP_SPLIT);
}

static void test_cpuid_no_x2apic(void **state)
{
	struct rig *r;
	struct kvm_cpuid2 *c;

	(void)state;
	NEED_KVM();
	r = rig_new(VIRQ_KVM_IRQCHIP_USER, 1, true);
	c = get_cpuid(r->fd[0]);
	assert_false(find_leaf(c, 1, 0)->ecx & (1U << 21));
	free(c);
	/* The LAPIC refuses EXTD too. */
	assert_int_equal(virq_lapic_set_apic_base(virq_kvm_vcpu_lapic(r->v[0]),
						  0xFEE00000U | (1U << 11) | (1U << 10) | (1U << 8),
						  false),
			 VIRQ_GP);
	rig_free(r);
}

/* User mode: KVM's IA32_APIC_BASE is the LAPIC's (BSP bit on vCPU 0 only). */
static void test_apic_base_in_kvm(void **state)
{
	struct rig *r;

	(void)state;
	NEED_KVM();
	r = rig_new(VIRQ_KVM_IRQCHIP_USER, 2, false);
	assert_int_equal(get_msr(r->fd[0], 0x1B), 0xFEE00900U);
	assert_int_equal(get_msr(r->fd[1], 0x1B), 0xFEE00800U);
	assert_int_equal(virq_lapic_get_apic_base(virq_kvm_vcpu_lapic(r->v[0])), 0xFEE00900U);
	assert_non_null(virq_kvm_vcpu_lapic(r->v[1]));
	rig_free(r);
}

static void test_split_has_no_lapic(void **state)
{
	struct rig *r;

	(void)state;
	NEED_KVM();
	r = rig_new(VIRQ_KVM_IRQCHIP_SPLIT, 1, false);
	assert_null(virq_kvm_vcpu_lapic(r->v[0]));
	rig_free(r);
}

/* bsp_virtual_wire: the BSP's LAPIC as PC firmware leaves it (SVR 0x1FF,
 * LINT0 ExtINT, LINT1 NMI), the AP's at its SDM reset state; without the
 * option both are at reset (SVR 0xFF, LVTs masked). The LAPICs also take
 * a guest write of their xAPIC ID (the glue enables xapic_id_writable). */
static void test_virtual_wire(void **state)
{
	struct virq_kvm_config cfg;
	struct virq_lapic *bsp, *ap;
	uint64_t val;
	struct rig *r;

	(void)state;
	NEED_KVM();
	for (int on = 0; on <= 1; on++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.size = sizeof(cfg);
		cfg.nr_vcpus = 2;
		cfg.bsp_virtual_wire = on;
		r = rig_new_cfg(&cfg);
		bsp = virq_kvm_vcpu_lapic(r->v[0]);
		ap = virq_kvm_vcpu_lapic(r->v[1]);
		assert_int_equal(virq_lapic_read_reg(bsp, VIRQ_LAPIC_REG_SVR), on ? 0x1FFU : 0xFFU);
		assert_int_equal(virq_lapic_read_reg(bsp, VIRQ_LAPIC_REG_LVT_LINT0),
				 on ? 0x700U : 0x10000U);
		assert_int_equal(virq_lapic_read_reg(bsp, VIRQ_LAPIC_REG_LVT_LINT1),
				 on ? 0x400U : 0x10000U);
		assert_int_equal(virq_lapic_read_reg(ap, VIRQ_LAPIC_REG_SVR), 0xFFU);
		assert_int_equal(virq_lapic_read_reg(ap, VIRQ_LAPIC_REG_LVT_LINT0), 0x10000U);
		assert_int_equal(virq_lapic_read_reg(ap, VIRQ_LAPIC_REG_LVT_LINT1), 0x10000U);
		/* The AP moves itself to xAPIC ID 5. */
		assert_int_equal(virq_lapic_mmio_write(ap, VIRQ_LAPIC_REG_ID, 4, 5U << 24), 0);
		assert_int_equal(virq_lapic_mmio_read(ap, VIRQ_LAPIC_REG_ID, 4, &val), 0);
		assert_int_equal(val, 5U << 24);
		assert_int_equal(virq_lapic_get_id(ap), 5);
		rig_free(r);
	}
}

static void test_vcpu_init_refused(void **state)
{
	struct rig *r;
	struct virq_kvm_vcpu *v;

	(void)state;
	NEED_KVM();
	r = rig_new(VIRQ_KVM_IRQCHIP_USER, 1, false);
	v = aligned_alloc(4096, sizeof(*v));
	/* Index out of range, already taken. */
	assert_int_equal(virq_kvm_vcpu_init(v, &r->chip, 1, r->fd[0], r->run[0]), -VIRQ_EINVAL);
	assert_int_equal(virq_kvm_vcpu_init(v, &r->chip, 0, r->fd[0], r->run[0]), -VIRQ_EINVAL);
	assert_int_equal(virq_kvm_vcpu_init(v, &r->chip, 0, -1, r->run[0]), -VIRQ_EINVAL);
	free(v);
	rig_free(r);
	/* Not 4 KiB aligned (it holds the APIC page): the alignment error, for
	 * a free index (vCPU 1's, released). */
	r = rig_new(VIRQ_KVM_IRQCHIP_USER, 2, false);
	virq_kvm_vcpu_destroy(r->v[1]);
	v = aligned_alloc(4096, sizeof(*v) + 4096);
	assert_int_equal(virq_kvm_vcpu_init((struct virq_kvm_vcpu *)((char *)v + 64), &r->chip, 1,
					    r->fd[1], r->run[1]),
			 -VIRQ_EALIGN);
	assert_int_equal(virq_kvm_vcpu_init(r->v[1], &r->chip, 1, r->fd[1], r->run[1]), 0);
	free(v);
	rig_free(r);
}

/* ---- kick / wait ---- */

struct waiter {
	struct virq_kvm_vcpu *v;
	int woke;
};

static void *wait_thread(void *p)
{
	struct waiter *w = p;

	assert_int_equal(virq_kvm_vcpu_thread_start(w->v), 0);
	virq_kvm_vcpu_wait(w->v);
	__atomic_store_n(&w->woke, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

/* A kick wakes a vCPU sleeping in virq_kvm_vcpu_wait() (no timer armed). */
static void test_kick_wakes_waiter(void **state)
{
	struct rig *r;
	struct waiter w;
	pthread_t t;
	uint64_t t0;

	(void)state;
	NEED_KVM();
	r = rig_new(VIRQ_KVM_IRQCHIP_USER, 1, false);
	w.v = r->v[0];
	w.woke = 0;
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	usleep(50000);
	assert_int_equal(__atomic_load_n(&w.woke, __ATOMIC_SEQ_CST), 0); /* it sleeps */
	t0 = now_ms();
	virq_kvm_vcpu_kick(r->v[0]);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.woke, 1);
	assert_true(now_ms() - t0 < 1000);
	rig_free(r);
}

/* A kick that comes before the sleep is not lost: wait returns at once. */
static void test_kick_before_wait(void **state)
{
	struct rig *r;
	uint64_t t0;

	(void)state;
	NEED_KVM();
	r = rig_new(VIRQ_KVM_IRQCHIP_USER, 1, false);
	assert_int_equal(virq_kvm_vcpu_thread_start(r->v[0]), 0);
	virq_kvm_vcpu_kick(r->v[0]);
	t0 = now_ms();
	virq_kvm_vcpu_wait(r->v[0]);
	assert_true(now_ms() - t0 < 500);
	rig_free(r);
}

/* A post from another thread (the LAPIC's kick hook) wakes the waiter. */
static void test_post_wakes_waiter(void **state)
{
	struct rig *r;
	struct waiter w;
	pthread_t t;

	(void)state;
	NEED_KVM();
	r = rig_new(VIRQ_KVM_IRQCHIP_USER, 1, false);
	w.v = r->v[0];
	w.woke = 0;
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	usleep(50000);
	virq_lapic_post(virq_kvm_vcpu_lapic(r->v[0]), 0x40, false);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.woke, 1);
	rig_free(r);
}

/* The halt deadline is the LAPIC timer's: wait returns when it passes. */
static void test_wait_until_timer(void **state)
{
	struct rig *r;
	struct virq_lapic *l;
	uint64_t t0, dl;

	(void)state;
	NEED_KVM();
	r = rig_new(VIRQ_KVM_IRQCHIP_USER, 1, false);
	l = virq_kvm_vcpu_lapic(r->v[0]);
	assert_int_equal(virq_kvm_vcpu_thread_start(r->v[0]), 0);
	assert_int_equal(virq_kvm_vcpu_halt_deadline(r->v[0]), UINT64_MAX);
	/* Software-enable, one-shot timer of 30 ms at the 1 GHz default clock. */
	assert_int_equal(virq_lapic_mmio_write(l, 0xF0, 4, 0x1FF), 0);
	assert_int_equal(virq_lapic_mmio_write(l, 0x3E0, 4, 0xB), 0);
	assert_int_equal(virq_lapic_mmio_write(l, 0x320, 4, 0x40), 0);
	t0 = now_ms();
	assert_int_equal(virq_lapic_mmio_write(l, 0x380, 4, 30000000), 0);
	dl = virq_kvm_vcpu_halt_deadline(r->v[0]);
	assert_true(dl != UINT64_MAX);
	virq_kvm_vcpu_wait(r->v[0]);
	assert_true(now_ms() - t0 >= 29);
	assert_true(now_ms() - t0 < 1000);
	rig_free(r);
}

static uint64_t thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000U + (uint64_t)ts.tv_nsec / 1000U;
}

/* Regression: the wait slept on CLOCK_REALTIME with a CLOCK_MONOTONIC
 * deadline, returned at once and spun until the deadline, starving the
 * other vCPU threads on a small host. It must sleep. */
static void test_wait_sleeps(void **state)
{
	struct rig *r;
	struct virq_lapic *l;
	uint64_t cpu0;

	(void)state;
	NEED_KVM();
	r = rig_new(VIRQ_KVM_IRQCHIP_USER, 1, false);
	l = virq_kvm_vcpu_lapic(r->v[0]);
	assert_int_equal(virq_kvm_vcpu_thread_start(r->v[0]), 0);
	assert_int_equal(virq_lapic_mmio_write(l, 0xF0, 4, 0x1FF), 0);
	assert_int_equal(virq_lapic_mmio_write(l, 0x3E0, 4, 0xB), 0);
	assert_int_equal(virq_lapic_mmio_write(l, 0x320, 4, 0x40), 0);
	assert_int_equal(virq_lapic_mmio_write(l, 0x380, 4, 100000000), 0); /* 100 ms */
	cpu0 = thread_cpu_us();
	virq_kvm_vcpu_wait(r->v[0]);
	assert_true(thread_cpu_us() - cpu0 < 20000);
	rig_free(r);
}

/* Source and exit names for reports. */
static void test_names(void **state)
{
	(void)state;
	assert_string_equal(virq_kvm_source_name(VIRQ_KVM_SRC_TIMER), "LAPIC timer");
	assert_string_equal(virq_kvm_source_name(VIRQ_KVM_SRC_IOAPIC), "IOAPIC pin");
	assert_string_equal(virq_kvm_source_name(VIRQ_KVM_NR_SOURCES), "?");
	assert_string_equal(virq_kvm_exit_stat_name(VIRQ_KVM_STAT_HLT), "hlt");
	assert_string_equal(virq_kvm_exit_stat_name(VIRQ_KVM_NR_EXIT_STATS), "?");
}

int main(int argc, char **argv)
{
	/* No /dev/kvm needed: these must pass on any Linux host. */
	const struct CMUnitTest no_kvm[] = {
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test(test_config_size_checked),
		cmocka_unit_test(test_host_error),
		cmocka_unit_test(test_names),
	};
	/* Against /dev/kvm; each skips without it. */
	const struct CMUnitTest kvm[] = {
		cmocka_unit_test(test_cpuid_user),         cmocka_unit_test(test_cpuid_split),
		cmocka_unit_test(test_cpuid_no_x2apic),    cmocka_unit_test(test_apic_base_in_kvm),
		cmocka_unit_test(test_split_has_no_lapic), cmocka_unit_test(test_vcpu_init_refused),
		cmocka_unit_test(test_kick_wakes_waiter),  cmocka_unit_test(test_kick_before_wait),
		cmocka_unit_test(test_post_wakes_waiter),  cmocka_unit_test(test_wait_until_timer),
		cmocka_unit_test(test_wait_sleeps),        cmocka_unit_test(test_virtual_wire),
	};

	if (argc == 1)
		return virq_run_group_tests_name("glue", no_kvm);
	if (argc == 2 && strcmp(argv[1], "kvm") == 0)
		return virq_run_group_tests_name("glue_kvm", kvm);
	fprintf(stderr, "usage: %s [kvm]\n", argv[0]);
	return 2;
}
