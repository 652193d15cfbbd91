/* SPDX-License-Identifier: MIT */
/*
 * devices.h: the port I/O devices of virq-vmm: the PC devices a Linux
 * kernel needs (8254 PIT, port 0x61, a 16550 COM1 with interrupts, an
 * 8042 keyboard controller with nothing attached, answering its own
 * commands, and its reset line, a CMOS real-time clock), the debug devices QEMU offers
 * kvm-unit-tests style guests (isa-debug-exit, fw_cfg, pc-testdev, the
 * bochs "Shutdown" port) plus an MSI port of our own.
 * The port list is at the top of devices.c.
 */
#ifndef VIRQ_VMM_DEVICES_H
#define VIRQ_VMM_DEVICES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read from port 0x210C: "virq" in ASCII, so a guest can tell it runs on virq-vmm. */
#define DEV_VIRQ_MAGIC 0x76697271u

/* The exit status of a keyboard-controller reset (port 0x64 command 0xFE):
 * even, so never an isa-debug-exit status; virq-vmm's own statuses are 2, 4
 * and 6 (main.c). */
#define DEV_EXIT_RESET 8

/* The 8254's input clock, Hz (the PC's 14.31818 MHz crystal / 12). */
#define DEV_PIT_HZ 1193182u

/* The shortest interval between two PIT interrupts the devices deliver:
 * a guest programming a shorter period gets fewer interrupts, not a host
 * thread busy delivering them (dev_pit_poll()). */
#define DEV_PIT_MIN_NS 100000u

/* COM1's receive FIFO, bytes (the 16550A's; one byte with FIFOs off). */
#define DEV_UART_FIFO 16u

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
	/* The clock of the PIT: monotonic nanoseconds (CLOCK_MONOTONIC in
	 * virq-vmm, a fake clock in the tests). Called with the device lock
	 * held: it must not call back into the devices. */
	uint64_t (*now_ns)(void *ctx);
	/* Optional: the wall clock of the CMOS RTC, seconds since
	 * 1970-01-01 00:00:00 UTC (time() in virq-vmm). Without it the RTC
	 * counts from that date on the PIT's clock. Called with the device
	 * lock held. */
	int64_t (*wall_s)(void *ctx);
	/* Optional: the guest reprogrammed the PIT, so the deadline
	 * dev_pit_poll() last returned may be stale: the VMM's timer should
	 * poll again. */
	void (*timer_changed)(void *ctx);
};

/* One 8254 counter (the datasheet's CR, CE, OL and status latch). Times
 * are PIT ticks of the clock hook (nanoseconds * DEV_PIT_HZ / 10^9). */
struct dev_pit_channel {
	uint8_t mode;        /* 0-5 (6 and 7 are written as 2 and 3) */
	uint8_t rw;          /* access: 1 LSB, 2 MSB, 3 LSB then MSB */
	uint8_t bcd;         /* the control word's BCD bit, kept for status reads */
	uint8_t state;       /* PIT_IDLE, PIT_WAIT_GATE, PIT_RUNNING, PIT_SUSPENDED (devices.c) */
	uint8_t gate;        /* GATE input: 1 for channels 0 and 1, port 0x61 bit 0 for 2 */
	uint8_t write_msb;   /* rw 3: the next count byte written is the MSB */
	uint8_t read_msb;    /* rw 3: the next unlatched read returns the MSB */
	uint8_t lsb;         /* rw 3: the LSB written, waiting for the MSB */
	uint8_t latch_state; /* count latch: 0 none, 1 LSB next, 2 MSB next, 3 LSB then MSB */
	uint8_t status_latched;
	uint8_t status;
	uint8_t null_count;    /* a count was written and is not in the counter yet */
	uint8_t pending;       /* modes 2, 3: a new count starts at the period's end */
	uint8_t edge_at_start; /* OUT rose at `start` (a new count took over there) */
	uint16_t latch;
	uint16_t frozen;   /* the count while the counter does not count */
	uint16_t reserved; /* zero */
	uint32_t n;        /* the count in the counter, 1-65536 (a written 0 is 65536) */
	uint32_t pending_n;
	uint32_t reserved2;  /* zero */
	uint64_t start;      /* PIT_RUNNING: tick when it began counting n */
	uint64_t elapsed;    /* PIT_SUSPENDED in modes 0 and 4: ticks counted so far */
	uint64_t pending_at; /* tick when pending_n takes over */
};

struct dev_state {
	pthread_mutex_t lock; /* guards every field below; vCPU threads share the devices */
	struct dev_hooks hooks;
	uint16_t nr_cpus;
	uint64_t ram_size;

	pthread_mutex_t irq_lock; /* orders the devices' set_gsi() calls (taken inside lock) */
	pthread_cond_t rx_space;  /* signalled when COM1's receive FIFO drains */

	/* COM1 16550 registers that read back what was written. */
	uint8_t uart_lcr, uart_ier, uart_mcr, uart_scr, uart_dll, uart_dlm;
	/* COM1 state: FCR bits 0, 6-7; the THRE interrupt is pending; the MSR
	 * delta bits (3-0); the IRQ 4 level last driven; the receive FIFO. */
	uint8_t uart_fcr, uart_thre, uart_msr_delta, uart_line;
	uint8_t uart_rx[DEV_UART_FIFO];
	uint8_t uart_rx_head, uart_rx_count;

	struct dev_pit_channel pit[3];
	uint64_t pit_last_edge; /* tick of channel 0's last OUT rising edge delivered */
	uint64_t pit_offset;    /* PIT tick = clock ticks + pit_offset (a restore sets it) */
	uint64_t pit_pulse_ns;  /* clock time of the last GSI 0 pulse (0: none yet) */
	/* Periodic edges of channel 0 the host was late for, still owed as
	 * pulses (at most one second of them; not in snapshots). */
	uint32_t pit_owed;
	uint8_t port61; /* bits 0-3 as written; bit 4 the refresh toggle */

	/* The 8042: command byte, output buffer, its status bits (OBF and
	 * AUXDATA), the command waiting for its data byte (0: none). */
	uint8_t kbc_ctr, kbc_out, kbc_st, kbc_cmd;

	/* The CMOS RTC: the index port's last write (bit 7 the NMI mask, as
	 * written), registers A (bits 6:0) and B. */
	uint8_t rtc_index, rtc_a, rtc_b;

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
	/* The 8042 (0 in a snapshot that predates it: its power-on state):
	 * bits 7:0 the command byte, 15:8 the output buffer, 23:16 the command
	 * waiting for data, 24 OBF, 25 AUXDATA, 31 set. */
	uint32_t kbc;
	/* The CMOS RTC (0 in a snapshot that predates it: its power-on
	 * state): bits 7:0 the index port, 14:8 register A, 23:16 register B,
	 * 31 set. Its clock is the host's wall clock, saved nowhere. */
	uint32_t rtc;
	/* The PIT: its channels, the PIT tick at the save and channel 0's
	 * last edge delivered. A restore continues the PIT's time from
	 * pit_now, so the guest sees no time pass in between. */
	struct dev_pit_channel pit[3];
	uint64_t pit_now;
	uint64_t pit_last_edge;
	uint8_t port61;
	/* COM1: FCR, THRE pending, MSR deltas, IRQ line, FIFO head and count. */
	uint8_t uart2[6];
	uint8_t uart_rx[DEV_UART_FIFO];
	uint8_t reserved2; /* zero */
};

void dev_init(struct dev_state *d, const struct dev_hooks *hooks, uint16_t nr_cpus,
	      uint64_t ram_size);
void dev_destroy(struct dev_state *d);

/*
 * The PIT's timer, run by the VMM: delivers channel 0's latest OUT rising
 * edge not yet delivered as a pulse on GSI 0 (set_gsi high, then low) and
 * returns the clock time (ns) at which to call again: channel 0's next
 * rising edge, but no sooner than DEV_PIT_MIN_NS after the last pulse; UINT64_MAX
 * when none is due (call again after timer_changed). Catch-up: edges
 * missed while the VMM was late become one pulse, not a burst.
 */
uint64_t dev_pit_poll(struct dev_state *d);

/*
 * COM1's receiver: takes up to n bytes into the receive FIFO (the guest
 * reads them from RBR) and returns how many it took; 0 when the FIFO is
 * full. dev_uart_wait_space() blocks until the FIFO has room.
 */
size_t dev_uart_receive(struct dev_state *d, const uint8_t *buf, size_t n);
void dev_uart_wait_space(struct dev_state *d);

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
