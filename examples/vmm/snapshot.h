/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h: virq-vmm's snapshot files (--save FILE, --restore FILE).
 * The format is at the top of snapshot.c.
 */
#ifndef VIRQ_VMM_SNAPSHOT_H
#define VIRQ_VMM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include <virq/kvm.h>

#include "devices.h"

/* The machine a snapshot is taken from or restored into (main.c's VM). */
struct snap_machine {
	int kvm_fd;
	uint32_t nr_cpus;
	uint32_t flags; /* SNAP_F_* */
	uint64_t ram_size;
	uint8_t *ram;
	struct virq_kvm *chip;
	struct virq_kvm_vcpu *const *vcpus;
	const int *vcpu_fd;
	struct dev_state *dev;
};

/* RAM bounds, for --mem and for a snapshot's header. RAM is one slot from
 * 0: the loader needs 1 MiB and guests load at 1 MiB; the maximum keeps the
 * PC's 3-4 GiB hole (I/O APIC at 0xFEC00000, LAPIC at 0xFEE00000) unmapped,
 * and MiB << 20 as well as the loader's 32-bit mem_upper far from overflow. */
#define MEM_MIN_MIB 2
#define MEM_MAX_MIB 3072

/* The machine options a snapshot records (and a restore takes from it). */
#define SNAP_F_NO_X2APIC (1U << 0)
#define SNAP_F_NO_TSC_DEADLINE (1U << 1)
#define SNAP_F_NO_VIRTUAL_WIRE (1U << 2)
#define SNAP_F_KNOWN (SNAP_F_NO_X2APIC | SNAP_F_NO_TSC_DEADLINE | SNAP_F_NO_VIRTUAL_WIRE)

#define MAX_MSRS 16U

/* One vCPU in a snapshot: the glue's state and KVM's. */
struct snap_vcpu {
	struct virq_kvm_vcpu_state glue;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint32_t xsave[1024]; /* struct kvm_xsave (KVM_GET_XSAVE's 4 KiB) */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	uint32_t nr_msrs;
	uint32_t has_xsave; /* 1: xsave and xcrs hold KVM_GET_XSAVE/XCRS; 0: xsave holds kvm_fpu */
	struct kvm_msr_entry msrs[MAX_MSRS];
};

/* A snapshot file read into memory, its header and checksum checked. */
struct snap_image {
	uint8_t *buf;
	size_t len;
	uint32_t nr_cpus;
	uint32_t flags;
	uint64_t ram_size;
};

/* Every vCPU thread stopped: saves vCPU i (on its own thread: KVM then
 * need not move the vCPU to another task, which costs guest time). 0 or -1
 * with a message in err. */
int snap_save_vcpu(const struct snap_machine *sm, uint32_t i, struct snap_vcpu *out, char *err,
		   size_t errlen);

/* Nothing running, every vCPU saved into cpus: writes the whole machine
 * to path. 0 or -1 with a message in err. */
int snap_save(const struct snap_machine *sm, const struct snap_vcpu *cpus, const char *path,
	      char *err, size_t errlen);

/* Reads path and checks its header, sizes and checksum: 0 or -1 with a
 * message in err. */
int snap_load(const char *path, struct snap_image *img, char *err, size_t errlen);

/* Restoring: snap_apply() loads img's devices and RAM into a machine
 * created with img's configuration, its vCPUs initialised and not started;
 * then snap_apply_vcpu() loads each vCPU (on its own thread, before
 * virq_kvm_vcpu_thread_start()), then snap_apply_vm() the I/O APIC, the
 * 8259 and the VM (after every LAPIC: the VM rebuilds its APIC-ID map from
 * them). Each returns 0 or -1 with a message in err. */
int snap_apply(const struct snap_image *img, const struct snap_machine *sm, char *err,
	       size_t errlen);

int snap_apply_vcpu(const struct snap_image *img, const struct snap_machine *sm, uint32_t i,
		    char *err, size_t errlen);
int snap_apply_vm(const struct snap_image *img, const struct snap_machine *sm, char *err,
		  size_t errlen);

void snap_free(struct snap_image *img);

#endif /* VIRQ_VMM_SNAPSHOT_H */
