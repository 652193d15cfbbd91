/* SPDX-License-Identifier: MIT */
/*
 * The KVM glue's VM (include/virq/kvm.h): one libvirq VM with the I/O APIC
 * and the 8259 pair in the PC layout, the hooks libvirq calls back, and
 * what devices drive. Hosted only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "glue.h"

/* ---- the shared controllers' lock and the VM's hooks ---- */

static void vm_lock(void *ctx)
{
	pthread_mutex_lock(&((struct virq_kvm *)ctx)->lock);
}

static void vm_unlock(void *ctx)
{
	pthread_mutex_unlock(&((struct virq_kvm *)ctx)->lock);
}

void glue_lost(void *ctx, const struct virq_apic_msg *msg)
{
	(void)msg;
	__atomic_fetch_add(&((struct virq_kvm *)ctx)->lost, 1, __ATOMIC_RELAXED);
}

/* A level line whose handler never clears it: serviced again 10 ms later
 * by vCPU 0's loop (KVM and QEMU wait as long). Called under the lock. */
static void vm_storm(void *ctx, unsigned ioapic, unsigned pin)
{
	struct virq_kvm *kvm = ctx;

	(void)ioapic;
	if (pin >= 32) /* our I/O APIC has 24 pins */
		return;
	kvm->storm_pins |= 1U << pin;
	kvm->storm_at = glue_now_ns() + 10000000U;
}

/* The statistics' source of a vector: the last one that sent it. */
void glue_tag_vector(struct virq_kvm *kvm, uint8_t vector, enum virq_kvm_source src)
{
	__atomic_store_n(&kvm->vec_src[vector], (uint8_t)(src + 1), __ATOMIC_RELAXED);
}

static void vm_ioapic_msg(void *ctx, unsigned ioapic, unsigned pin, uint64_t addr, uint32_t data)
{
	(void)ioapic;
	(void)pin;
	(void)addr;
	glue_tag_vector(ctx, (uint8_t)data, VIRQ_KVM_SRC_IOAPIC);
}

static const struct virq_vm_ops user_vm_ops = {
	.size = sizeof(struct virq_vm_ops),
	.lock = vm_lock,
	.unlock = vm_unlock,
	.lost = glue_lost,
	.storm = vm_storm,
	.ioapic_msg = vm_ioapic_msg,
};

static const struct virq_vm_ops split_vm_ops = {
	.size = sizeof(struct virq_vm_ops),
	.lock = vm_lock,
	.unlock = vm_unlock,
	.lost = glue_lost,
	.storm = vm_storm,
	.ioapic_msg = vm_ioapic_msg,
	.deliver_msi = glue_split_deliver_msi,
	.pic_intr = glue_split_pic_intr,
};

/* ---- VM setup ---- */

static int enable_cap(int fd, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap c;

	memset(&c, 0, sizeof(c));
	c.cap = cap;
	c.args[0] = arg0;
	return ioctl(fd, KVM_ENABLE_CAP, &c) < 0 ? -VIRQ_EHOST : 0;
}

/* IA32_APIC_BASE and IA32_TSC_DEADLINE exit to userspace (the x2APIC MSRs
 * do anyway: KVM calls them invalid without its LAPIC). */
static int user_msr_setup(int vm_fd)
{
	static uint8_t deny; /* one MSR per range, bit 0 clear: denied */
	struct kvm_msr_filter f;
	int err;

	err = enable_cap(vm_fd, KVM_CAP_X86_USER_SPACE_MSR,
			 KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
				 KVM_MSR_EXIT_REASON_FILTER);
	if (err)
		return err;
	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	f.ranges[0].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
	f.ranges[0].nmsrs = 1;
	f.ranges[0].base = MSR_IA32_APIC_BASE;
	f.ranges[0].bitmap = &deny;
	f.ranges[1] = f.ranges[0];
	f.ranges[1].base = MSR_IA32_TSC_DEADLINE;
	return ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0 ? -VIRQ_EHOST : 0;
}

static bool config_ok(const struct virq_kvm_config *cfg)
{
	return cfg->nr_vcpus && cfg->nr_vcpus <= VIRQ_KVM_MAX_VCPUS &&
	       cfg->irqchip <= VIRQ_KVM_IRQCHIP_SPLIT &&
	       (!cfg->ioapic_version || cfg->ioapic_version == 0x11 || cfg->ioapic_version == 0x20);
}

VIRQ_API int virq_kvm_init(struct virq_kvm *kvm, int vm_fd, const struct virq_kvm_config *cfg)
{
	struct virq_ioapic_config iocfg;
	struct virq_vm_config vcfg;
	int err, saved;

	struct virq_kvm_config c;

	if (!kvm || !cfg || vm_fd < 0)
		return -VIRQ_EINVAL;
	/* The size first: nothing past it is the caller's. */
	if (!VIRQ_SIZE_ACCEPTED(cfg->size, VIRQ_KVM_CONFIG_SIZE_MIN, struct virq_kvm_config))
		return -VIRQ_EVERSION;
	VIRQ_SIZED_COPY(&c, cfg);
	cfg = &c;
	if (!config_ok(cfg))
		return -VIRQ_EINVAL;
	memset(kvm, 0, sizeof(*kvm));
	kvm->cfg = *cfg;
	kvm->vm_fd = vm_fd;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0)
		return -VIRQ_EHOST;
	pthread_mutex_init(&kvm->lock, NULL);

	err = glue_split(kvm) ? enable_cap(vm_fd, KVM_CAP_SPLIT_IRQCHIP, VIRQ_KVM_NR_GSIS)
			      : user_msr_setup(vm_fd);
	if (err)
		goto fail;

	memset(&vcfg, 0, sizeof(vcfg));
	vcfg.size = sizeof(vcfg);
	vcfg.nr_vcpus = cfg->nr_vcpus;
	vcfg.map_entries = 256;
	vcfg.nr_gsis = VIRQ_KVM_NR_GSIS;
	memset(&iocfg, 0, sizeof(iocfg));
	iocfg.size = sizeof(iocfg);
	iocfg.version = cfg->ioapic_version;
	err = -VIRQ_EINVAL;
	if (virq_vm_init(&kvm->vm, &vcfg, kvm->lapics, kvm->map, kvm->map_key, kvm->gsis,
			 glue_split(kvm) ? &split_vm_ops : &user_vm_ops, kvm) ||
	    virq_vm_attach_ioapic(&kvm->vm, &kvm->ioapic, &iocfg, 0, 0) < 0 ||
	    virq_vm_attach_pic(&kvm->vm, &kvm->pic, 0))
		goto fail;
	return 0;

fail:
	saved = errno;
	close(kvm->sys_fd);
	pthread_mutex_destroy(&kvm->lock);
	errno = saved;
	return err;
}

VIRQ_API void virq_kvm_destroy(struct virq_kvm *kvm)
{
	if (!kvm)
		return;
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->sys_fd = -1;
	pthread_mutex_destroy(&kvm->lock);
}

/* vCPU 0 ends storm throttling once the pause is over. */
void glue_storm_service(struct virq_kvm *kvm)
{
	uint32_t pins;

	if (!__atomic_load_n(&kvm->storm_pins, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&kvm->lock);
	pins = glue_now_ns() >= kvm->storm_at ? kvm->storm_pins : 0;
	kvm->storm_pins &= ~pins;
	pthread_mutex_unlock(&kvm->lock);
	for (unsigned pin = 0; pins; pin++, pins >>= 1)
		if (pins & 1U)
			(void)virq_vm_ioapic_service(&kvm->vm, 0, pin);
}

/* ---- devices ---- */

VIRQ_API int virq_kvm_set_irq(struct virq_kvm *kvm, uint32_t gsi, bool level)
{
	if (!kvm || gsi >= VIRQ_KVM_NR_GSIS)
		return -VIRQ_EINVAL;
	return virq_vm_set_irq(&kvm->vm, gsi, 0, level ? VIRQ_IRQ_HIGH : VIRQ_IRQ_LOW)
		       ? -VIRQ_EINVAL
		       : 0;
}

VIRQ_API unsigned virq_kvm_send_msi(struct virq_kvm *kvm, uint64_t addr, uint32_t data)
{
	if (!kvm)
		return 0;
	glue_tag_vector(kvm, (uint8_t)(data & 0xFFU), VIRQ_KVM_SRC_MSI);
	return virq_vm_send_msi(&kvm->vm, addr, data, 0);
}

/* ---- accessors ---- */

VIRQ_API struct virq_vm *virq_kvm_get_vm(struct virq_kvm *kvm)
{
	return &kvm->vm;
}

VIRQ_API uint64_t virq_kvm_sent(const struct virq_kvm *kvm, enum virq_kvm_source src)
{
	return (unsigned)src < VIRQ_KVM_NR_SOURCES
		       ? __atomic_load_n(&kvm->sent[src], __ATOMIC_RELAXED)
		       : 0;
}

VIRQ_API uint64_t virq_kvm_lost(const struct virq_kvm *kvm)
{
	return __atomic_load_n(&kvm->lost, __ATOMIC_RELAXED);
}
