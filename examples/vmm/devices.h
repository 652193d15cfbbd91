/* SPDX-License-Identifier: MIT */
/*
 * devices.h: the port I/O devices of virq-vmm, the debug devices QEMU
 * offers kvm-unit-tests style guests (COM1, isa-debug-exit, fw_cfg,
 * pc-testdev, the bochs "Shutdown" port) plus an MSI port of our own.
 * The port list is at the top of devices.c.
 */
#ifndef VIRQ_VMM_DEVICES_H
#define VIRQ_VMM_DEVICES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Read from port 0x210C: "virq" in ASCII, so a guest can tell it runs on virq-vmm. */
#define DEV_VIRQ_MAGIC 0x76697271u

/*
 * Implemented by main.c. All are required. They are called from the vCPU
 * thread doing the access, never with the device lock held, so they may
 * block or take their own locks; several vCPUs may call them at once.
 */
struct dev_hooks {
	void *ctx;
	void (*set_gsi)(void *ctx, unsigned gsi, bool level);      /* test device line */
	void (*send_msi)(void *ctx, uint64_t addr, uint32_t data); /* MSI port */
	/* isa-debug-exit / "Shutdown": stop the VM with this exit status. */
	void (*exit_vm)(void *ctx, int status);
	void (*console)(void *ctx, char c); /* COM1 output byte */
	/* Optional: the guest wrote the snapshot port (0x2200). */
	void (*snapshot)(void *ctx);
};

struct dev_state {
	pthread_mutex_t lock; /* guards every field below; vCPU threads share the devices */
	struct dev_hooks hooks;
	uint16_t nr_cpus;
	uint64_t ram_size;

	/* COM1 16550 registers that read back what was written. */
	uint8_t uart_lcr, uart_ier, uart_mcr, uart_scr, uart_dll, uart_dlm;

	uint16_t fw_cfg_key;    /* selected item */
	uint32_t fw_cfg_offset; /* next byte of it the data port returns */

	unsigned shutdown_matched; /* bytes of "Shutdown" seen in sequence on 0x8900 */

	uint32_t scratch_e0, scratch_e8; /* pc-testdev scratch ports */

	uint64_t msi_addr; /* latched by 0x2100/0x2104, used by the 0x2108 write */

	uint32_t lines;    /* bit n: the test device drives GSI n high (0x2000 + n) */
	uint32_t restores; /* snapshots this guest was resumed from (read at 0x2200) */
};

/* What a snapshot keeps of the devices: plain data, fixed layout. */
struct dev_snapshot {
	uint8_t uart[6]; /* LCR, IER, MCR, SCR, DLL, DLM */
	uint16_t fw_cfg_key;
	uint32_t fw_cfg_offset;
	uint32_t shutdown_matched;
	uint32_t scratch_e0, scratch_e8;
	uint64_t msi_addr;
	uint32_t lines;
	uint32_t restores;
	uint32_t reserved[2]; /* zero */
};

void dev_init(struct dev_state *d, const struct dev_hooks *hooks, uint16_t nr_cpus,
	      uint64_t ram_size);
void dev_destroy(struct dev_state *d);

/* Snapshots: the device registers and the test device's line levels. The
 * levels are not driven again by dev_restore(): the irqchip's own state
 * holds them. dev_restore() refuses (false, nothing changed) values the
 * devices could not have. */
void dev_save(struct dev_state *d, struct dev_snapshot *out);
bool dev_restore(struct dev_state *d, const struct dev_snapshot *st);

/*
 * One port access of size 1, 2 or 4 (a KVM_EXIT_IO with count > 1 is
 * count calls). data: the bytes in little-endian order, as in KVM's kvm_run
 * io area; filled on reads. Returns true if the port is ours. Unhandled
 * reads are filled with all ones (what an empty ISA bus returns) and return
 * false, for the caller to count. A wide access to a byte-register device
 * (COM1, test device) is split into byte accesses to consecutive
 * ports; it is handled only if every byte is. Any other size: false, data
 * untouched.
 */
bool dev_pio(struct dev_state *d, uint16_t port, bool is_write, unsigned size, uint8_t *data);

#endif /* VIRQ_VMM_DEVICES_H */
