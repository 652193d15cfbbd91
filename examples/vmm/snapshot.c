/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c: virq-vmm's snapshot files (--save FILE, --restore FILE).
 *
 * A file is a header, then a body the header's checksum covers:
 *
 *   struct snap_header         magic "VIRQSNAP", format version, the record
 *                              sizes, the machine (vCPUs, RAM, CPUID
 *                              options, guest TSC kHz), body size, CRC-32
 *                              of the body
 *   struct virq_kvm_state      the glue's VM: I/O APIC, 8259 pair
 *   struct dev_snapshot        virq-vmm's devices (the PIT with its time,
 *                              port 0x61, COM1 with its receive FIFO and
 *                              IRQ 4 level), test device lines
 *   struct snap_vcpu x N       per vCPU: the glue's state (LAPIC, event
 *                              policy, halt and injection bookkeeping) and
 *                              KVM's (registers, segment and control
 *                              registers, XSAVE area, XCRs, debug
 *                              registers, pending events, MP state, MSRs
 *                              with IA32_TSC)
 *   page bitmap                one bit per 4 KiB page of RAM: stored
 *   pages                      the pages whose bit is set (the others are
 *                              zero), in address order
 *
 * All little-endian host structures: a file is for this VMM build on an
 * x86-64 host. Anything unexpected in a file (magic, version, a size, the
 * checksum, a configuration this build cannot create, a state libvirq or
 * KVM refuses) is refused with a message before any vCPU runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "snapshot.h"
#include "util.h"

#define SNAP_MAGIC "VIRQSNAP"
/* 2: the PIT, port 0x61 and COM1's interrupt and receive state in
 * struct dev_snapshot. */
#define SNAP_VERSION 2U
#define PAGE 4096U

/* MSRs KVM keeps that a guest may have written. IA32_APIC_BASE and
 * IA32_TSC_DEADLINE are the LAPIC's (libvirq's state); EFER is in the
 * segment registers. */
static const uint32_t msr_list[] = {
	0x10,       /* IA32_TSC */
	0x3B,       /* IA32_TSC_ADJUST */
	0x174,      /* IA32_SYSENTER_CS */
	0x175,      /* IA32_SYSENTER_ESP */
	0x176,      /* IA32_SYSENTER_EIP */
	0x1A0,      /* IA32_MISC_ENABLE */
	0x277,      /* IA32_PAT */
	0xC0000081, /* STAR */
	0xC0000082, /* LSTAR */
	0xC0000083, /* CSTAR */
	0xC0000084, /* SFMASK */
	0xC0000102, /* KERNEL_GS_BASE */
	0xC0000103, /* TSC_AUX */
};
_Static_assert(sizeof(msr_list) / sizeof(msr_list[0]) <= MAX_MSRS, "MSR list too long");

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t vm_size;   /* sizeof(struct virq_kvm_state) */
	uint32_t dev_size;  /* sizeof(struct dev_snapshot) */
	uint32_t vcpu_size; /* sizeof(struct snap_vcpu) */
	uint32_t nr_cpus;
	uint32_t flags; /* SNAP_F_* */
	uint32_t tsc_khz;
	uint64_t ram_size;
	uint64_t body_size;
	uint64_t checksum; /* CRC-32 of the body (zlib's), zero-extended */
};

_Static_assert(sizeof(struct kvm_fpu) <= 4096, "kvm_fpu does not fit the XSAVE area");

/* CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, as zlib's crc32()),
 * continued from @crc (0 to start). */
static uint32_t crc32_update(uint32_t crc, const void *p, size_t n)
{
	static uint32_t table[256];
	const uint8_t *b = p;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ b[i]) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

static const char *glue_err(int e)
{
	return e == -VIRQ_EHOST ? strerror(errno) : virq_strerror(e);
}

/* The guest TSC frequency KVM gives vCPU 0 (every vCPU has the VM's). */
static uint32_t tsc_khz(const struct snap_machine *sm)
{
	int khz = ioctl(sm->vcpu_fd[0], KVM_GET_TSC_KHZ, 0);

	return khz > 0 ? (uint32_t)khz : 0;
}

static bool has_xsave(const struct snap_machine *sm)
{
	return ioctl(sm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0 &&
	       ioctl(sm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
}

/* ---- saving ---- */

int snap_save_vcpu(const struct snap_machine *sm, uint32_t i, struct snap_vcpu *s, char *err,
		   size_t len)
{
	int fd = sm->vcpu_fd[i], e;
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8 + 1];
	struct kvm_msrs *one = (struct kvm_msrs *)buf;

	memset(s, 0, sizeof(*s));
	/* First: it completes the exit KVM last reported (an OUT to the
	 * snapshot port moves RIP past the OUT), so KVM's registers are read
	 * after it. */
	e = virq_kvm_vcpu_save(sm->vcpus[i], &s->glue);
	if (e)
		return vmm_fail(err, len, "vCPU %u: saving the irqchip's state: %s", i,
				glue_err(e));
	if (ioctl(fd, KVM_GET_REGS, &s->regs) < 0 || ioctl(fd, KVM_GET_SREGS, &s->sregs) < 0 ||
	    ioctl(fd, KVM_GET_DEBUGREGS, &s->dregs) < 0 ||
	    ioctl(fd, KVM_GET_VCPU_EVENTS, &s->events) < 0 ||
	    ioctl(fd, KVM_GET_MP_STATE, &s->mp) < 0)
		return vmm_fail(err, len, "vCPU %u: reading KVM's registers: %s", i,
				strerror(errno));
	s->has_xsave = has_xsave(sm);
	if (s->has_xsave ? ioctl(fd, KVM_GET_XSAVE, s->xsave) < 0 ||
				   ioctl(fd, KVM_GET_XCRS, &s->xcrs) < 0
			 : ioctl(fd, KVM_GET_FPU, s->xsave) < 0)
		return vmm_fail(err, len, "vCPU %u: reading KVM's FPU state: %s", i,
				strerror(errno));
	/* One by one: an MSR this KVM does not have is left out. */
	for (size_t k = 0; k < sizeof(msr_list) / sizeof(msr_list[0]); k++) {
		memset(buf, 0, sizeof(buf));
		one->nmsrs = 1;
		one->entries[0].index = msr_list[k];
		if (ioctl(fd, KVM_GET_MSRS, one) == 1)
			s->msrs[s->nr_msrs++] = one->entries[0];
	}
	if (!s->nr_msrs || s->msrs[0].index != 0x10)
		return vmm_fail(err, len, "vCPU %u: KVM does not give IA32_TSC", i);
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static bool page_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return !memcmp(p, zero, PAGE);
}

int snap_save(const struct snap_machine *sm, const struct snap_vcpu *cpus, const char *path,
	      char *err, size_t errlen)
{
	struct snap_header h;
	struct virq_kvm_state vm;
	struct dev_snapshot dev;
	uint64_t pages = sm->ram_size / PAGE, stored = 0;
	uint32_t sum = 0;
	size_t bitmap_len = (size_t)((pages + 7) / 8);
	uint8_t *bitmap;
	char tmp[4096];
	int fd = -1, rc = -1, e;

	bitmap = calloc(1, bitmap_len);
	if (!bitmap) {
		vmm_fail(err, errlen, "out of memory");
		goto out;
	}
	e = virq_kvm_save(sm->chip, &vm);
	if (e) {
		vmm_fail(err, errlen, "saving the I/O APIC and 8259: %s", glue_err(e));
		goto out;
	}
	dev_save(sm->dev, &dev);
	for (uint64_t p = 0; p < pages; p++)
		if (!page_zero(sm->ram + p * PAGE)) {
			bitmap[p / 8] |= (uint8_t)(1U << (p % 8));
			stored++;
		}

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SNAP_MAGIC, 8);
	h.version = SNAP_VERSION;
	h.header_size = sizeof(h);
	h.vm_size = sizeof(vm);
	h.dev_size = sizeof(dev);
	h.vcpu_size = sizeof(struct snap_vcpu);
	h.nr_cpus = sm->nr_cpus;
	h.flags = sm->flags;
	h.tsc_khz = tsc_khz(sm);
	h.ram_size = sm->ram_size;
	h.body_size = sizeof(vm) + sizeof(dev) + (uint64_t)sm->nr_cpus * sizeof(*cpus) +
		      bitmap_len + stored * PAGE;
	sum = crc32_update(sum, &vm, sizeof(vm));
	sum = crc32_update(sum, &dev, sizeof(dev));
	sum = crc32_update(sum, cpus, sm->nr_cpus * sizeof(*cpus));
	sum = crc32_update(sum, bitmap, bitmap_len);
	for (uint64_t p = 0; p < pages; p++)
		if (bitmap[p / 8] & (1U << (p % 8)))
			sum = crc32_update(sum, sm->ram + p * PAGE, PAGE);
	h.checksum = sum;

	/* Written beside FILE, then renamed: FILE is whole or absent. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		vmm_fail(err, errlen, "%s: path too long", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		vmm_fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, &h, sizeof(h)) || write_all(fd, &vm, sizeof(vm)) ||
	    write_all(fd, &dev, sizeof(dev)) || write_all(fd, cpus, sm->nr_cpus * sizeof(*cpus)) ||
	    write_all(fd, bitmap, bitmap_len)) {
		vmm_fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	for (uint64_t p = 0; p < pages; p++)
		if ((bitmap[p / 8] & (1U << (p % 8))) && write_all(fd, sm->ram + p * PAGE, PAGE)) {
			vmm_fail(err, errlen, "%s: %s", tmp, strerror(errno));
			goto out;
		}
	if (close(fd) < 0) {
		fd = -1;
		vmm_fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		vmm_fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(bitmap);
	return rc;
}

/* ---- loading ---- */

void snap_free(struct snap_image *img)
{
	free(img->buf);
	memset(img, 0, sizeof(*img));
}

int snap_load(const char *path, struct snap_image *img, char *err, size_t errlen)
{
	struct snap_header h;
	struct stat st;
	uint64_t pages, bitmap_len, stored = 0, body;
	const uint8_t *bitmap;
	size_t got = 0;
	int fd;

	memset(img, 0, sizeof(*img));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size < 0) {
		close(fd);
		return vmm_fail(err, errlen, "%s: %s", path, strerror(errno));
	}
	img->len = (size_t)st.st_size;
	img->buf = malloc(img->len ? img->len : 1);
	if (!img->buf) {
		close(fd);
		return vmm_fail(err, errlen, "%s: out of memory", path);
	}
	while (got < img->len) {
		ssize_t r = read(fd, img->buf + got, img->len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != img->len)
		goto bad_read;
	if (img->len < sizeof(h) || memcmp(img->buf, SNAP_MAGIC, 8))
		return vmm_fail(err, errlen, "%s: not a virq-vmm snapshot", path);
	memcpy(&h, img->buf, sizeof(h));
	if (h.version != SNAP_VERSION)
		return vmm_fail(err, errlen,
				"%s: snapshot format version %" PRIu32
				": this virq-vmm reads version "
				"%u only (files of version 1, saved before the PIT and COM1's "
				"interrupts were saved, cannot be resumed)",
				path, h.version, SNAP_VERSION);
	if (h.header_size != sizeof(h) || h.vm_size != sizeof(struct virq_kvm_state) ||
	    h.dev_size != sizeof(struct dev_snapshot) || h.vcpu_size != sizeof(struct snap_vcpu))
		return vmm_fail(err, errlen,
				"%s: snapshot format version %" PRIu32 " with other record sizes: "
				"this virq-vmm reads version %u only",
				path, h.version, SNAP_VERSION);
	if (h.nr_cpus < 1 || h.nr_cpus > VIRQ_KVM_MAX_VCPUS || (h.flags & ~SNAP_F_KNOWN) ||
	    h.ram_size < ((uint64_t)MEM_MIN_MIB << 20) ||
	    h.ram_size > ((uint64_t)MEM_MAX_MIB << 20) || h.ram_size % PAGE)
		return vmm_fail(err, errlen, "%s: damaged: impossible machine in the header", path);
	body = img->len - sizeof(h);
	if (h.body_size != body)
		return vmm_fail(err, errlen,
				"%s: damaged: %" PRIu64 " bytes after the header, %" PRIu64
				" expected (truncated?)",
				path, body, h.body_size);
	if (crc32_update(0, img->buf + sizeof(h), body) != h.checksum)
		return vmm_fail(err, errlen, "%s: damaged: checksum mismatch", path);
	pages = h.ram_size / PAGE;
	bitmap_len = (pages + 7) / 8;
	if (body < h.vm_size + h.dev_size + (uint64_t)h.nr_cpus * h.vcpu_size + bitmap_len)
		return vmm_fail(err, errlen, "%s: damaged: too short", path);
	bitmap = img->buf + sizeof(h) + h.vm_size + h.dev_size + (uint64_t)h.nr_cpus * h.vcpu_size;
	for (uint64_t p = 0; p < pages; p++)
		stored += (bitmap[p / 8] >> (p % 8)) & 1U;
	if (body !=
	    h.vm_size + h.dev_size + (uint64_t)h.nr_cpus * h.vcpu_size + bitmap_len + stored * PAGE)
		return vmm_fail(err, errlen, "%s: damaged: page count disagrees with the size",
				path);
	img->nr_cpus = h.nr_cpus;
	img->flags = h.flags;
	img->ram_size = h.ram_size;
	return 0;

bad_read:
	return vmm_fail(err, errlen, "%s: cannot read it whole", path);
}

static int set_msrs(int fd, const struct snap_vcpu *s)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + MAX_MSRS * sizeof(struct kvm_msr_entry)) / 8 + 1];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;

	memset(buf, 0, sizeof(buf));
	m->nmsrs = s->nr_msrs;
	memcpy(m->entries, s->msrs, s->nr_msrs * sizeof(s->msrs[0]));
	return ioctl(fd, KVM_SET_MSRS, m) == (int)s->nr_msrs ? 0 : -1;
}

/* KVM's part of vCPU i. IA32_TSC goes in here, before the glue's state:
 * the LAPIC converts a TSC deadline with the guest TSC. */
static int apply_kvm_vcpu(const struct snap_machine *sm, uint32_t i, const struct snap_vcpu *s,
			  char *err, size_t len)
{
	int fd = sm->vcpu_fd[i];

	if (s->nr_msrs < 1 || s->nr_msrs > MAX_MSRS || s->msrs[0].index != 0x10 || s->has_xsave > 1)
		return vmm_fail(err, len, "vCPU %u: damaged: MSR list", i);
	if (s->has_xsave && !has_xsave(sm))
		return vmm_fail(err, len, "vCPU %u: saved with XSAVE, which this KVM lacks", i);
	if (ioctl(fd, KVM_SET_REGS, &s->regs) < 0)
		return vmm_fail(err, len, "vCPU %u: KVM_SET_REGS: %s", i, strerror(errno));
	if (s->has_xsave ? ioctl(fd, KVM_SET_XSAVE, s->xsave) < 0 ||
				   ioctl(fd, KVM_SET_XCRS, &s->xcrs) < 0
			 : ioctl(fd, KVM_SET_FPU, s->xsave) < 0)
		return vmm_fail(err, len, "vCPU %u: restoring the FPU state: %s", i,
				strerror(errno));
	if (ioctl(fd, KVM_SET_SREGS, &s->sregs) < 0)
		return vmm_fail(err, len, "vCPU %u: KVM_SET_SREGS: %s", i, strerror(errno));
	if (set_msrs(fd, s))
		return vmm_fail(err, len, "vCPU %u: KVM refused a saved MSR", i);
	if (ioctl(fd, KVM_SET_MP_STATE, &s->mp) < 0)
		return vmm_fail(err, len, "vCPU %u: KVM_SET_MP_STATE: %s", i, strerror(errno));
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &s->events) < 0)
		return vmm_fail(err, len, "vCPU %u: KVM_SET_VCPU_EVENTS: %s", i, strerror(errno));
	if (ioctl(fd, KVM_SET_DEBUGREGS, &s->dregs) < 0)
		return vmm_fail(err, len, "vCPU %u: KVM_SET_DEBUGREGS: %s", i, strerror(errno));
	return 0;
}

/* Where vCPU i's record starts in a loaded image. */
static const uint8_t *vcpu_record(const struct snap_image *img, uint32_t i)
{
	return img->buf + sizeof(struct snap_header) + sizeof(struct virq_kvm_state) +
	       sizeof(struct dev_snapshot) + (size_t)i * sizeof(struct snap_vcpu);
}

int snap_apply_vcpu(const struct snap_image *img, const struct snap_machine *sm, uint32_t i,
		    char *err, size_t errlen)
{
	struct snap_vcpu *s = malloc(sizeof(*s));
	int e, rc = -1;

	if (!s)
		return vmm_fail(err, errlen, "out of memory");
	memcpy(s, vcpu_record(img, i), sizeof(*s));
	if (apply_kvm_vcpu(sm, i, s, err, errlen))
		goto out;
	e = virq_kvm_vcpu_restore(sm->vcpus[i], &s->glue);
	if (e) {
		vmm_fail(err, errlen, "vCPU %u: the LAPIC or event policy state is refused: %s", i,
			 glue_err(e));
		goto out;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

int snap_apply(const struct snap_image *img, const struct snap_machine *sm, char *err,
	       size_t errlen)
{
	struct snap_header h;
	struct dev_snapshot dev;
	const uint8_t *p = img->buf;
	const uint8_t *bitmap;
	uint64_t pages = sm->ram_size / PAGE;
	uint32_t khz;

	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	if (h.nr_cpus != sm->nr_cpus || h.ram_size != sm->ram_size)
		return vmm_fail(err, errlen, "the machine differs from the snapshot's");
	khz = tsc_khz(sm);
	if (khz != h.tsc_khz)
		return vmm_fail(err, errlen,
				"the guest TSC runs at %" PRIu32 " kHz here, %" PRIu32
				" kHz in the snapshot: its LAPIC timers and TSC would not agree",
				khz, h.tsc_khz);
	p += sizeof(struct virq_kvm_state);
	memcpy(&dev, p, sizeof(dev));
	p += sizeof(dev);
	p += sm->nr_cpus * sizeof(struct snap_vcpu);
	bitmap = p;
	p += (pages + 7) / 8;

	if (!dev_restore(sm->dev, &dev))
		return vmm_fail(err, errlen, "the device state is refused");
	for (uint64_t pg = 0; pg < pages; pg++)
		if (bitmap[pg / 8] & (1U << (pg % 8))) {
			memcpy(sm->ram + pg * PAGE, p, PAGE);
			p += PAGE;
		}
	return 0;
}

int snap_apply_vm(const struct snap_image *img, const struct snap_machine *sm, char *err,
		  size_t errlen)
{
	struct virq_kvm_state *vm = malloc(sizeof(*vm));
	int e;

	if (!vm)
		return vmm_fail(err, errlen, "out of memory");
	memcpy(vm, img->buf + sizeof(struct snap_header), sizeof(*vm));
	e = virq_kvm_restore(sm->chip, vm);
	free(vm);
	if (e)
		return vmm_fail(err, errlen, "the I/O APIC, 8259 or VM state is refused: %s",
				glue_err(e));
	return 0;
}
