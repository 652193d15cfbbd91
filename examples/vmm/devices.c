/* SPDX-License-Identifier: MIT */
/*
 * devices.c: the port I/O devices of virq-vmm.
 *
 * Port reference for guest authors. Values are little-endian; "any width"
 * means 1, 2 or 4 bytes with the value zero-extended to 32 bits.
 *
 * (0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1, the 8259 pair and its ELCR, are
 * the irqchip's: libvirq's KVM glue answers them before they get here.)
 * 0x40-0x43             8254 PIT, byte-wise (Intel 8254 datasheet): counters
 *                       0-2 at 0x40-0x42, control word at 0x43 (reads 0xFF).
 *                       Input clock 1.193182 MHz from the host's monotonic
 *                       clock. Modes 0-5 (6, 7 are 2, 3), LSB / MSB / LSB
 *                       then MSB access with the read and write flip-flops,
 *                       counter latch (control word with access 00),
 *                       read-back 0xC0-0xFF (count and/or status of the
 *                       channels in bits 1-3; status first when both);
 *                       status = OUT, null count, access, mode, BCD. The
 *                       BCD bit is kept for status but counts are binary.
 *                       A count of 0 is 65536. Mode 0: the first byte of an
 *                       LSB-then-MSB count stops counting with OUT low.
 *                       Modes 2, 3: a count written while counting takes
 *                       over at the end of the current period (mode 3 too,
 *                       where the 8254 would take it at the half-period).
 *                       Modes 1, 5: a count written waits for the next
 *                       rising gate, ending a one-shot under way. GATE is
 *                       high for counters 0 and 1 and is port 0x61 bit 0
 *                       for counter 2. Counter 0's OUT rising edges
 *                       (modes 0, 1: terminal count; 2, 3: each period; 4,
 *                       5: the tick after count 0) are pulses on GSI 0
 *                       (ISA IRQ 0, edge): the VMM's timer thread delivers
 *                       them, at most one per DEV_PIT_MIN_NS (100 us).
 *                       Periodic edges missed while the host was late are
 *                       owed and delivered later, one per half period (or
 *                       DEV_PIT_MIN_NS if longer), up to one second of
 *                       them, as KVM's PIT reinjects: a guest that counts
 *                       ticks (Linux's jiffies while it verifies its LAPIC
 *                       timer against the PIT) sees them all.
 *                       At power-on no counter is programmed: mode 0,
 *                       LSB then MSB, count 0, OUT low, no interrupt.
 * 0x60                  Keyboard controller (8042) data: reads the output
 *                       buffer (clearing OBF; empty, its last byte, 0 at
 *                       first); writes are the data byte of a command
 *                       (0x60-0x7F, 0xD1-0xD4) or else go to a keyboard
 *                       that is not there (dropped).
 * 0x61                  NMI status and control: bit 0 counter 2's GATE,
 *                       bit 1 speaker data enable, bits 2-3 stored (parity
 *                       and channel check disables); bit 4 the refresh
 *                       request, toggled by every read; bit 5 counter 2's
 *                       OUT; bits 6-7 (NMI sources) 0. Writes keep bits 0-3.
 * 0x64                  Keyboard controller status: 0x14 (system flag, not
 *                       inhibited, input buffer empty) | OBF (bit 0) while
 *                       the output buffer holds a byte | AUXDATA (bit 5)
 *                       when that byte is the auxiliary side's. Commands
 *                       (8042 as the PC/AT uses it): 0x20-0x3F read RAM
 *                       (0x20 the command byte, 0x45 at power-on; the
 *                       others 0), 0x60-0x7F write it (0x60 the command
 *                       byte), 0xA7/0xA8 and 0xAD/0xAE disable/enable the
 *                       auxiliary and keyboard interfaces (command byte
 *                       bits 5 and 4), 0xA9 and 0xAB interface tests and
 *                       0xAA self-test (replies 0x00, 0x00, 0x55), 0xD1
 *                       write the output port (bit 0 clear: reset), 0xD2
 *                       and 0xD3 echo the data byte as from the keyboard or
 *                       the auxiliary device, 0xD4 sends it to an
 *                       auxiliary device that is not there (dropped);
 *                       0xF0-0xFF with bit 0 clear (0xFE) pulse the CPU
 *                       reset line. A reset stops the VM with exit status 8
 *                       (DEV_EXIT_RESET). Other commands are ignored. No
 *                       keyboard or mouse is attached, so no byte arrives
 *                       unasked and IRQ 1 and 12 never rise: a guest reads
 *                       the replies by polling OBF, as Linux's i8042
 *                       driver does for controller commands. (Without
 *                       replies, Linux polled port 0x64 for over a second
 *                       with interrupts off before "Can't read CTR".)
 * 0x70, 0x71            CMOS real-time clock (MC146818A): 0x70 the index
 *                       (bit 7, the NMI mask, kept and ignored; reads
 *                       0xFF), 0x71 the register it names: the clock
 *                       (0, 2, 4, 6-9 and the PC's century byte 0x32) is
 *                       the host's wall clock in UTC, in BCD or binary and
 *                       24- or 12-hour as register B says; register A
 *                       (0x26 at power-on; UIP always clear: the clock is
 *                       read whole), B (0x02: 24-hour BCD) read back what
 *                       was written; C reads 0 and D 0x80 (valid). No
 *                       alarm, no interrupt (IRQ 8 never rises), no RAM:
 *                       the other bytes read 0, writes to them and to the
 *                       clock are dropped. (Without it, Linux read 0xFF,
 *                       an update in progress, and polled the index and
 *                       data ports by the ten thousand with interrupts
 *                       off.)
 * 0x80                  POST code: writes ignored, reads 0xFF.
 * 0xE0, 0xE8            pc-testdev scratch: reads return the last value
 *                       written (any width).
 * 0xE4                  pc-testdev flush-page: writes ignored, reads 0.
 * 0xF4-0xF7             isa-debug-exit (QEMU -device isa-debug-exit,iobase=0xf4,
 *                       iosize=4): writing v of any width exits with status
 *                       (v << 1) | 1, so a guest can never fake "success" (0).
 *                       Reads all ones.
 * 0x3F8-0x3FF           COM1, a 16550A (PC16550D datasheet), byte-wise,
 *                       IRQ 4 on GSI 4. THR output goes to the console at
 *                       once: LSR.THRE and TEMT are always 1; LSR.DR when
 *                       the receive FIFO (16 bytes with FCR bit 0, else 1)
 *                       holds bytes from the VMM's input (dev_uart_receive);
 *                       RBR reads the next, 0 when empty. IER bits 0-3
 *                       (bits 7-4 read 0). IIR by priority: 0x04 received
 *                       data (on any byte: there is no trigger level or
 *                       timeout), 0x02 THR empty, 0x00 modem status, 0x01
 *                       none (line status, 0x06, never happens: no errors),
 *                       ORed with 0xC0 while FIFOs are on. THRE is raised
 *                       when IER.THRE goes 0 -> 1 and by every THR write
 *                       (the byte leaves at once), cleared by an IIR read
 *                       that reports it or by IER.THRE going 1 -> 0. FCR:
 *                       bit 0 FIFOs (a change empties them), bit 1 empties
 *                       the receive FIFO, bits 6-7 kept. MCR bits 0-4 (7-5
 *                       read 0). MSR = 0xB0 (DCD, DSR, CTS) plus deltas,
 *                       cleared by reading it; with MCR.LOOP, RTS, DTR,
 *                       OUT1, OUT2 drive CTS, DSR, RI, DCD and THR goes to
 *                       the receive FIFO. The IRQ 4 line is the UART's
 *                       INTR gated by MCR.OUT2 (forced off in loopback), as
 *                       on a PC; a THR write while it is high drops and
 *                       raises it (a new edge). LCR, SCR and (with
 *                       LCR.DLAB) the divisor latch read back what was
 *                       written.
 * 0x510                 fw_cfg selector: a write (16-bit; other widths use the
 *                       low 16 bits) selects an item and rewinds it. Reads 0.
 * 0x511                 fw_cfg data: each read byte is the next byte of the
 *                       item, 0 past its end; writes ignored. Items:
 *                         0x00 "QEMU"          0x01 ID, u32 1 (no DMA interface)
 *                         0x03 RAM size, u64   0x05 and 0x0F CPU count, u16
 *                       every other key reads as zeros.
 * 0x2000-0x2017         pc-testdev IRQ lines: a byte write to 0x2000 + n sets
 *                       GSI n to the level written (nonzero = high). Reads 0.
 * 0x2100, 0x2104        MSI address bits 31-0 and 63-32: a write latches, a
 *                       read returns the latch.
 * 0x2108                MSI data: a write sends an MSI with the latched address.
 *                       Reads 0.
 * 0x210C                Reads 0x76697271 ("virq"): probes for virq-vmm.
 * 0x2200-0x2203         Snapshot port. A write (any width, any value) asks
 *                       for a snapshot: with --save FILE virq-vmm stops every
 *                       vCPU right after this instruction, writes FILE and
 *                       exits with status 6; without --save the write is
 *                       ignored. A read (any width) returns how many times
 *                       this guest was resumed from a snapshot (0 in the
 *                       process that booted it, 1 after one --restore, ...).
 * 0x8900                Bochs shutdown: writing the bytes "Shutdown" in
 *                       sequence exits with status 0 (a wider write is its
 *                       bytes in order). Reads all ones.
 *
 * Anything else reads all ones (an empty ISA bus) and ignores writes.
 */
#include <string.h>
#include <time.h>

#include "devices.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "kvm_run io data is little-endian");

#define COM1_BASE 0x3F8
#define COM1_GSI 4
#define UART_LCR_DLAB 0x80
#define UART_LSR_DR 0x01
#define UART_LSR_IDLE 0x60 /* THR empty, transmitter empty */
#define UART_IER_RDA 0x01
#define UART_IER_THRE 0x02
#define UART_IER_MSI 0x08
#define UART_IIR_NONE 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRE 0x02
#define UART_IIR_RDA 0x04
#define UART_IIR_FIFO 0xC0 /* a 16550A's FIFOs are on */
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MSR_LINES 0xB0 /* DCD, DSR, CTS asserted */

#define KBC_STATUS 0x64
#define KBC_STATUS_IDLE 0x14 /* system flag, not inhibited, buffers empty */
#define KBC_ST_OBF 0x01      /* output buffer full */
#define KBC_ST_AUXDATA 0x20  /* ... with a byte from the auxiliary side */
#define KBC_CTR_KBDDIS 0x10
#define KBC_CTR_AUXDIS 0x20
/* The command byte at power-on here: keyboard interrupt enabled, system
 * flag, scan-code translation (what a PC BIOS leaves; no firmware here). */
#define KBC_CTR_RESET 0x45

#define RTC_INDEX 0x70
#define RTC_REG_A 0x0A
#define RTC_REG_B 0x0B
#define RTC_REG_C 0x0C
#define RTC_REG_D 0x0D
#define RTC_REG_CENTURY 0x32 /* the PC's convention, not the MC146818's */
#define RTC_A_RESET 0x26     /* 32.768 kHz time base, 1024 Hz rate; UIP clear */
#define RTC_B_RESET 0x02     /* 24-hour, BCD, no interrupts */
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04
#define RTC_D_VRT 0x80 /* valid RAM and time */

#define FW_CFG_SELECT 0x510
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MAX_CPUS 0x0F
#define FW_CFG_ID_TRADITIONAL 0x01 /* bit 0: the I/O port interface; bit 1 would be DMA */

#define TESTDEV_IRQ_BASE 0x2000

#define MSI_ADDR_LO 0x2100
#define MSI_ADDR_HI 0x2104
#define MSI_DATA 0x2108
#define MSI_PROBE 0x210C

static const char shutdown_str[] = "Shutdown";

/* One access as the device sees it: *val is the written value zero-extended,
 * or receives the value read. Returns whether the device took it. */
typedef bool pio_fn(struct dev_state *d, uint16_t port, bool is_write, unsigned size,
		    uint32_t *val);

static bool post_code_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size,
			 uint32_t *val)
{
	(void)d, (void)port, (void)size;
	if (!is_write)
		*val = ~0u;
	return true;
}

static bool scratch_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size,
		       uint32_t *val)
{
	uint32_t *reg = port == 0xE0 ? &d->scratch_e0 : &d->scratch_e8;

	(void)size;
	pthread_mutex_lock(&d->lock);
	if (is_write)
		*reg = *val;
	else
		*val = *reg;
	pthread_mutex_unlock(&d->lock);
	return true;
}

/* Writes ignored, reads 0. */
static bool sink_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size, uint32_t *val)
{
	(void)d, (void)port, (void)size;
	if (!is_write)
		*val = 0;
	return true;
}

static bool debug_exit_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size,
			  uint32_t *val)
{
	(void)port, (void)size;
	if (is_write)
		d->hooks.exit_vm(d->hooks.ctx, (int)((*val << 1) | 1));
	else
		*val = ~0u;
	return true;
}

/* ---- 8254 PIT (Intel 8254 Programmable Interval Timer datasheet) ---- */

enum {
	PIT_IDLE,
	PIT_WAIT_GATE,
	PIT_RUNNING,
	PIT_SUSPENDED
};

#define NS_PER_S 1000000000u

/* floor(ns * DEV_PIT_HZ / 10^9) without overflow. */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return ns / NS_PER_S * DEV_PIT_HZ + ns % NS_PER_S * DEV_PIT_HZ / NS_PER_S;
}

/* The first nanosecond at which ns_to_ticks() reaches t. */
static uint64_t ticks_to_ns(uint64_t t)
{
	return t / DEV_PIT_HZ * NS_PER_S +
	       (t % DEV_PIT_HZ * NS_PER_S + DEV_PIT_HZ - 1) / DEV_PIT_HZ;
}

static uint64_t pit_now(struct dev_state *d)
{
	return ns_to_ticks(d->hooks.now_ns(d->hooks.ctx)) + d->pit_offset;
}

static bool pit_periodic(const struct dev_pit_channel *c)
{
	return c->mode == 2 || c->mode == 3;
}

/* A count written in mode 2 or 3 while counting takes over at the end of
 * the current period. */
static void pit_sync(struct dev_pit_channel *c, uint64_t now)
{
	if (c->state == PIT_RUNNING && c->pending && now >= c->pending_at) {
		c->start = c->pending_at;
		c->n = c->pending_n;
		c->pending = 0;
		c->pending_n = 0;
		c->pending_at = 0;
		c->null_count = 0;
		c->edge_at_start = 1;
	}
}

/* The count e ticks after the counter started counting n. */
static uint16_t pit_count_at(const struct dev_pit_channel *c, uint64_t e)
{
	uint64_t n = c->n, p;

	switch (c->mode) {
	case 2:
		return (uint16_t)(n - e % n);
	case 3:
		/* Each half-period counts down by two: from n (even n) or n - 1
		 * (odd n, whose high half is one tick longer). */
		p = e % n;
		if (n % 2 == 0)
			return (uint16_t)(n - 2 * (p < n / 2 ? p : p - n / 2));
		return (uint16_t)(n - 1 - 2 * (p < (n + 1) / 2 ? p : p - (n + 1) / 2));
	default:
		return (uint16_t)(n - e); /* modes 0, 1, 4, 5 wrap past zero */
	}
}

static bool pit_out_at(const struct dev_pit_channel *c, uint64_t e)
{
	switch (c->mode) {
	case 0:
	case 1:
		return e >= c->n;
	case 2:
		return e % c->n != c->n - 1;
	case 3:
		return e % c->n < (c->n + 1) / 2;
	default:
		return e != c->n; /* modes 4, 5: low for the one tick at count 0 */
	}
}

static uint16_t pit_count(const struct dev_pit_channel *c, uint64_t now)
{
	if (c->state == PIT_RUNNING)
		return pit_count_at(c, now - c->start);
	if (c->state == PIT_SUSPENDED)
		return pit_count_at(c, c->elapsed);
	return c->frozen;
}

static bool pit_out(const struct dev_pit_channel *c, uint64_t now)
{
	switch (c->state) {
	case PIT_RUNNING:
		return pit_out_at(c, now - c->start);
	case PIT_SUSPENDED:
		return pit_out_at(c, c->elapsed);
	case PIT_WAIT_GATE:
		return true;
	default:
		return c->mode != 0; /* after the control word: low in mode 0 only */
	}
}

/* The tick of OUT's last rising edge at or before now (false: none since
 * the counter started). */
static bool pit_last_edge(const struct dev_pit_channel *c, uint64_t now, uint64_t *edge)
{
	uint64_t e, first;

	if (c->state != PIT_RUNNING)
		return false;
	e = now - c->start;
	if (pit_periodic(c)) {
		if (c->n >= 2 && e >= c->n) {
			*edge = c->start + e / c->n * c->n;
			return true;
		}
		*edge = c->start;
		return c->edge_at_start;
	}
	first = c->mode <= 1 ? c->n : c->n + 1ull;
	*edge = c->start + first;
	return e >= first;
}

/* The tick of OUT's next rising edge after now (false: none is coming). */
static bool pit_next_edge(const struct dev_pit_channel *c, uint64_t now, uint64_t *edge)
{
	uint64_t e, first;

	if (c->state != PIT_RUNNING)
		return false;
	e = now - c->start;
	if (pit_periodic(c)) {
		if (c->n < 2)
			return false;
		*edge = c->start + (e / c->n + 1) * c->n;
		return true;
	}
	first = c->mode <= 1 ? c->n : c->n + 1ull;
	*edge = c->start + first;
	return e < first;
}

/* Channel 0 is about to change: its edge not yet delivered, if any, is
 * taken now (true: the caller pulses GSI 0), so reprogramming loses none. */
static bool pit0_take_edge(struct dev_state *d, uint64_t now)
{
	uint64_t edge;

	pit_sync(&d->pit[0], now);
	struct dev_pit_channel *c = &d->pit[0];

	if (!pit_last_edge(c, now, &edge) || edge <= d->pit_last_edge)
		return false;
	/* Periodic edges between the last one delivered (on the same
	 * period grid) and this one were missed: owed. */
	if (pit_periodic(c) && c->n >= 2 && d->pit_last_edge >= c->start &&
	    (d->pit_last_edge - c->start) % c->n == 0) {
		uint64_t missed = (edge - d->pit_last_edge) / c->n - 1, max = DEV_PIT_HZ / c->n;

		d->pit_owed = (uint32_t)(d->pit_owed + missed > max ? max : d->pit_owed + missed);
	}
	d->pit_last_edge = edge;
	d->pit_pulse_ns = d->hooks.now_ns(d->hooks.ctx);
	return true;
}

/* The counter stops counting: its count is kept for reads. */
static void pit_stop(struct dev_pit_channel *c, uint64_t now)
{
	c->frozen = pit_count(c, now);
	c->state = PIT_IDLE;
	c->pending = 0;
	c->pending_n = 0;
	c->pending_at = 0;
	c->edge_at_start = 0;
	c->elapsed = 0;
	c->start = 0;
}

static void pit_start(struct dev_pit_channel *c, uint64_t now)
{
	c->state = PIT_RUNNING;
	c->start = now;
	c->elapsed = 0;
	c->null_count = 0;
	c->edge_at_start = 0;
}

/* A complete count written (0 = 65536). */
static void pit_load(struct dev_pit_channel *c, uint32_t v, uint64_t now)
{
	uint32_t n = v ? v : 65536;

	if (pit_periodic(c) && c->state == PIT_RUNNING) {
		/* Counting: the current period ends as programmed. */
		uint64_t e = now - c->start;

		if (!c->pending)
			c->pending_at = c->start + (e / c->n + 1) * c->n;
		c->pending = 1;
		c->pending_n = n;
		c->null_count = 1;
		return;
	}
	pit_stop(c, now);
	c->n = n;
	if ((c->mode == 0 || c->mode == 4 || pit_periodic(c)) && c->gate) {
		pit_start(c, now);
	} else if (c->mode == 0 || c->mode == 4) {
		c->state = PIT_SUSPENDED; /* gate low: waits with nothing counted */
		c->null_count = 0;
	} else {
		c->state = PIT_WAIT_GATE; /* modes 1, 5; 2, 3 with the gate low */
		c->null_count = 1;
		c->frozen = (uint16_t)n;
	}
}

static void pit_write_count(struct dev_pit_channel *c, uint8_t b, uint64_t now)
{
	switch (c->rw) {
	case 1:
		pit_load(c, b, now);
		break;
	case 2:
		pit_load(c, (uint32_t)b << 8, now);
		break;
	default:
		if (!c->write_msb) {
			c->lsb = b;
			c->write_msb = 1;
			if (c->mode == 0) /* the first byte stops counting, OUT low */
				pit_stop(c, now);
			break;
		}
		c->write_msb = 0;
		pit_load(c, c->lsb | (uint32_t)b << 8, now);
		break;
	}
}

static uint8_t pit_read(struct dev_pit_channel *c, uint64_t now)
{
	uint16_t v;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->latch_state) {
		v = c->latch;
		switch (c->latch_state) {
		case 1:
			c->latch_state = 0;
			return (uint8_t)v;
		case 2:
			c->latch_state = 0;
			return (uint8_t)(v >> 8);
		default:
			c->latch_state = 2;
			return (uint8_t)v;
		}
	}
	v = pit_count(c, now);
	switch (c->rw) {
	case 1:
		return (uint8_t)v;
	case 2:
		return (uint8_t)(v >> 8);
	default:
		c->read_msb ^= 1;
		return (uint8_t)(c->read_msb ? v : v >> 8);
	}
}

static void pit_latch_count(struct dev_pit_channel *c, uint64_t now)
{
	if (c->latch_state)
		return; /* the first latch holds until it is read */
	c->latch = pit_count(c, now);
	c->latch_state = c->rw;
}

static void pit_latch_status(struct dev_pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((pit_out(c, now) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
			      c->rw << 4 | c->mode << 1 | c->bcd);
	c->status_latched = 1;
}

static void pit_control(struct dev_state *d, uint8_t v, uint64_t now)
{
	struct dev_pit_channel *c;

	if ((v & 0xC0) == 0xC0) { /* read-back: bit 5 clear latches counts, bit 4 statuses */
		for (unsigned i = 0; i < 3; i++) {
			if (!(v & (2u << i)))
				continue;
			pit_sync(&d->pit[i], now);
			if (!(v & 0x10))
				pit_latch_status(&d->pit[i], now);
			if (!(v & 0x20))
				pit_latch_count(&d->pit[i], now);
		}
		return;
	}
	c = &d->pit[v >> 6];
	pit_sync(c, now);
	if (!(v & 0x30)) {
		pit_latch_count(c, now);
		return;
	}
	pit_stop(c, now);
	c->rw = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4; /* 6 and 7 are modes 2 and 3 */
	c->bcd = v & 1;       /* kept for status reads; the counter counts in binary */
	c->write_msb = 0;
	c->read_msb = 0;
	c->latch_state = 0;
	c->status_latched = 0;
	c->null_count = 1;
}

/* Channel 2's GATE input (port 0x61 bit 0). */
static void pit_set_gate(struct dev_pit_channel *c, uint8_t gate, uint64_t now)
{
	if (gate == c->gate)
		return;
	pit_sync(c, now);
	c->gate = gate;
	switch (c->mode) {
	case 0:
	case 4:
		if (!gate && c->state == PIT_RUNNING) {
			c->elapsed = now - c->start;
			c->start = 0;
			c->state = PIT_SUSPENDED;
		} else if (gate && c->state == PIT_SUSPENDED) {
			c->state = PIT_RUNNING;
			c->start = now - c->elapsed;
			c->elapsed = 0;
		}
		break;
	case 2:
	case 3:
		if (!gate && c->state == PIT_RUNNING) {
			/* Counting stops, OUT goes high; the rising gate reloads. */
			if (c->pending)
				c->n = c->pending_n;
			c->frozen = pit_count(c, now);
			c->state = PIT_WAIT_GATE;
			c->start = 0;
			c->edge_at_start = 0;
			c->pending = 0;
			c->pending_n = 0;
			c->pending_at = 0;
			c->null_count = 1;
		} else if (gate && c->state == PIT_WAIT_GATE) {
			pit_start(c, now);
		}
		break;
	default: /* 1, 5: the rising edge (re)triggers once a count is written */
		if (gate && c->state != PIT_IDLE)
			pit_start(c, now);
		break;
	}
}

/* Pulses GSI 0 (ISA IRQ 0 is edge-triggered, active high). Called with
 * d->lock held; returns with it released. */
static void pit_pulse_unlock(struct dev_state *d, bool pulse, bool changed)
{
	if (!pulse) {
		pthread_mutex_unlock(&d->lock);
	} else {
		pthread_mutex_lock(&d->irq_lock);
		pthread_mutex_unlock(&d->lock);
		d->hooks.set_gsi(d->hooks.ctx, 0, true);
		d->hooks.set_gsi(d->hooks.ctx, 0, false);
		pthread_mutex_unlock(&d->irq_lock);
	}
	if (changed && d->hooks.timer_changed)
		d->hooks.timer_changed(d->hooks.ctx);
}

static bool pit_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size, uint32_t *val)
{
	unsigned ch = port - 0x40;
	bool pulse = false, changed = false;
	uint64_t now;

	(void)size; /* always 1: the range is byte-wise */
	pthread_mutex_lock(&d->lock);
	now = pit_now(d);
	if (!is_write) {
		if (ch < 3) {
			pit_sync(&d->pit[ch], now);
			*val = pit_read(&d->pit[ch], now);
		} else {
			*val = 0xFF; /* the control register is write-only */
		}
		pthread_mutex_unlock(&d->lock);
		return true;
	}
	if (ch < 3 || (*val & 0xC0) != 0xC0) {
		unsigned target = ch < 3 ? ch : (*val >> 6);

		if (target == 0 && (ch < 3 || (*val & 0x30))) {
			pulse = pit0_take_edge(d, now);
			d->pit_owed = 0; /* a new count: the old period's debt is void */
			changed = true;
		}
	}
	if (ch < 3) {
		pit_sync(&d->pit[ch], now);
		pit_write_count(&d->pit[ch], (uint8_t)*val, now);
	} else {
		pit_control(d, (uint8_t)*val, now);
	}
	pit_pulse_unlock(d, pulse, changed);
	return true;
}

/* Spacing of owed pulses: half channel 0's period, at least DEV_PIT_MIN_NS. */
static uint64_t pit_catchup_ns(const struct dev_pit_channel *c)
{
	uint64_t half = ticks_to_ns(c->n) / 2;

	return half > DEV_PIT_MIN_NS ? half : DEV_PIT_MIN_NS;
}

uint64_t dev_pit_poll(struct dev_state *d)
{
	struct dev_pit_channel *c = &d->pit[0];
	uint64_t now_ns, now, edge, deadline = UINT64_MAX;
	bool pulse;

	pthread_mutex_lock(&d->lock);
	now_ns = d->hooks.now_ns(d->hooks.ctx);
	now = ns_to_ticks(now_ns) + d->pit_offset;
	pulse = pit0_take_edge(d, now);
	if (!pulse && d->pit_owed && now_ns >= d->pit_pulse_ns + pit_catchup_ns(c)) {
		/* One owed edge. */
		d->pit_owed--;
		d->pit_pulse_ns = now_ns;
		pulse = true;
	}
	if (pit_next_edge(c, now, &edge)) {
		if (c->pending && c->pending_at < edge)
			edge = c->pending_at;
		deadline = ticks_to_ns(edge - d->pit_offset);
		if (d->pit_pulse_ns && deadline < d->pit_pulse_ns + DEV_PIT_MIN_NS)
			deadline = d->pit_pulse_ns + DEV_PIT_MIN_NS;
	}
	if (d->pit_owed && d->pit_pulse_ns + pit_catchup_ns(c) < deadline)
		deadline = d->pit_pulse_ns + pit_catchup_ns(c);
	pit_pulse_unlock(d, pulse, false);
	return deadline;
}

/* ---- port 0x61: NMI status and control ---- */

static bool port61_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size,
		      uint32_t *val)
{
	uint64_t now;

	(void)port, (void)size;
	pthread_mutex_lock(&d->lock);
	now = pit_now(d);
	pit_sync(&d->pit[2], now);
	if (is_write) {
		d->port61 = (uint8_t)((d->port61 & 0x10) | (*val & 0x0F));
		pit_set_gate(&d->pit[2], *val & 1, now);
	} else {
		*val = d->port61 | (pit_out(&d->pit[2], now) ? 0x20u : 0);
		d->port61 ^= 0x10; /* the refresh request toggles */
	}
	pthread_mutex_unlock(&d->lock);
	return true;
}

/* ---- COM1: a 16550A (National Semiconductor PC16550D datasheet) ---- */

static unsigned uart_rx_capacity(const struct dev_state *d)
{
	return d->uart_fcr & UART_FCR_ENABLE ? DEV_UART_FIFO : 1;
}

static void uart_rx_clear(struct dev_state *d)
{
	d->uart_rx_head = 0;
	d->uart_rx_count = 0;
	pthread_cond_broadcast(&d->rx_space);
}

/* The modem status lines: DCD, DSR, CTS asserted; in loopback MCR's
 * OUT2, OUT1, DTR and RTS drive DCD, RI, DSR and CTS. */
static uint8_t uart_msr_lines(const struct dev_state *d)
{
	uint8_t m = d->uart_mcr;

	if (!(m & UART_MCR_LOOP))
		return UART_MSR_LINES;
	return (uint8_t)((m & 0x02 ? 0x10 : 0) | (m & 0x01 ? 0x20 : 0) | (m & 0x04 ? 0x40 : 0) |
			 (m & 0x08 ? 0x80 : 0));
}

/* IIR bits 3-0: the highest-priority enabled interrupt. Receiver line
 * status (0x06) never happens: no overrun, parity, framing or break. */
static uint8_t uart_reason(const struct dev_state *d)
{
	if ((d->uart_ier & UART_IER_RDA) && d->uart_rx_count)
		return UART_IIR_RDA;
	if ((d->uart_ier & UART_IER_THRE) && d->uart_thre)
		return UART_IIR_THRE;
	if ((d->uart_ier & UART_IER_MSI) && d->uart_msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NONE;
}

/* IRQ 4: INTR gated by MCR.OUT2 as on a PC; loopback forces OUT2 off. */
static uint8_t uart_level(const struct dev_state *d)
{
	return uart_reason(d) != UART_IIR_NONE && (d->uart_mcr & UART_MCR_OUT2) &&
	       !(d->uart_mcr & UART_MCR_LOOP);
}

static bool uart_rx_put(struct dev_state *d, uint8_t b)
{
	if (d->uart_rx_count >= uart_rx_capacity(d))
		return false;
	d->uart_rx[(d->uart_rx_head + d->uart_rx_count) % DEV_UART_FIFO] = b;
	d->uart_rx_count++;
	return true;
}

static uint8_t uart_read(struct dev_state *d, unsigned reg)
{
	bool dlab = d->uart_lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case 0:
		if (dlab)
			return d->uart_dll;
		if (!d->uart_rx_count)
			return 0;
		v = d->uart_rx[d->uart_rx_head];
		d->uart_rx_head = (d->uart_rx_head + 1) % DEV_UART_FIFO;
		d->uart_rx_count--;
		pthread_cond_broadcast(&d->rx_space);
		return v;
	case 1:
		return dlab ? d->uart_dlm : d->uart_ier;
	case 2:
		v = uart_reason(d);
		if (v == UART_IIR_THRE)
			d->uart_thre = 0; /* reading IIR clears THRE when it is the reason */
		return (uint8_t)(v | (d->uart_fcr & UART_FCR_ENABLE ? UART_IIR_FIFO : 0));
	case 3:
		return d->uart_lcr;
	case 4:
		return d->uart_mcr;
	case 5:
		return (uint8_t)(UART_LSR_IDLE | (d->uart_rx_count ? UART_LSR_DR : 0));
	case 6:
		v = (uint8_t)(uart_msr_lines(d) | d->uart_msr_delta);
		d->uart_msr_delta = 0;
		return v;
	default:
		return d->uart_scr;
	}
}

/* Returns true when b is a byte to transmit. */
static bool uart_write(struct dev_state *d, unsigned reg, uint8_t b)
{
	bool dlab = d->uart_lcr & UART_LCR_DLAB;
	uint8_t old;

	switch (reg) {
	case 0:
		if (dlab) {
			d->uart_dll = b;
			break;
		}
		/* Sent at once: THR is empty again, so THRE is pending again. */
		d->uart_thre = 1;
		if (d->uart_mcr & UART_MCR_LOOP) {
			(void)uart_rx_put(d, b); /* a full FIFO drops it */
			break;
		}
		return true;
	case 1:
		if (dlab) {
			d->uart_dlm = b;
			break;
		}
		old = d->uart_ier;
		d->uart_ier = b & 0x0F; /* bits 7-4 are always 0 */
		if ((old ^ d->uart_ier) & UART_IER_THRE)
			d->uart_thre = (d->uart_ier & UART_IER_THRE) != 0; /* THR is empty */
		break;
	case 2: /* FCR */
		if ((b ^ d->uart_fcr) & UART_FCR_ENABLE || (b & UART_FCR_CLEAR_RX))
			uart_rx_clear(d);
		d->uart_fcr = b & UART_FCR_ENABLE ? (uint8_t)(b & 0xC1) : 0;
		break;
	case 3:
		d->uart_lcr = b;
		break;
	case 4: {
		uint8_t before = uart_msr_lines(d), after, ch;

		d->uart_mcr = b & 0x1F; /* bits 7-5 are always 0 */
		after = uart_msr_lines(d);
		ch = before ^ after;
		d->uart_msr_delta |=
			(uint8_t)((ch & 0x10 ? 0x01 : 0) | (ch & 0x20 ? 0x02 : 0) |
				  ((before & ~after) & 0x40 ? 0x04 : 0) | (ch & 0x80 ? 0x08 : 0));
		break;
	}
	case 7:
		d->uart_scr = b;
		break;
	default:
		break; /* LSR, MSR: read-only */
	}
	return false;
}

/* Drives IRQ 4 to the UART's level if it changed; a THR write while the
 * line was high first drops it (THRE cleared by the write, set again when
 * the byte leaves): a new edge. Called with d->lock held; returns with it
 * released. */
static void uart_update_unlock(struct dev_state *d, bool thr_write)
{
	uint8_t level = uart_level(d), levels[2];
	unsigned n = 0;

	if (thr_write && d->uart_line && level)
		levels[n++] = 0;
	if (level != d->uart_line || n)
		levels[n++] = level;
	d->uart_line = level;
	if (!n) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	pthread_mutex_lock(&d->irq_lock);
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; i < n; i++)
		d->hooks.set_gsi(d->hooks.ctx, COM1_GSI, levels[i]);
	pthread_mutex_unlock(&d->irq_lock);
}

static bool com1_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size, uint32_t *val)
{
	unsigned reg = port - COM1_BASE;
	bool transmit = false, thr_write;

	(void)size; /* always 1: the range is byte-wise */
	pthread_mutex_lock(&d->lock);
	thr_write = is_write && reg == 0 && !(d->uart_lcr & UART_LCR_DLAB);
	if (is_write)
		transmit = uart_write(d, reg, (uint8_t)*val);
	else
		*val = uart_read(d, reg);
	uart_update_unlock(d, thr_write);
	if (transmit)
		d->hooks.console(d->hooks.ctx, (char)*val);
	return true;
}

size_t dev_uart_receive(struct dev_state *d, const uint8_t *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < n && uart_rx_put(d, buf[i]); i++)
		;
	uart_update_unlock(d, false);
	return i;
}

void dev_uart_wait_space(struct dev_state *d)
{
	pthread_mutex_lock(&d->lock);
	while (d->uart_rx_count >= uart_rx_capacity(d))
		pthread_cond_wait(&d->rx_space, &d->lock);
	pthread_mutex_unlock(&d->lock);
}

/* ---- the keyboard controller (8042) ---- */

/* A reply of the controller's own into the output buffer (@aux: as if
 * from the auxiliary device). Locked. */
static void kbc_reply(struct dev_state *d, uint8_t val, bool aux)
{
	d->kbc_out = val;
	d->kbc_st = (uint8_t)(KBC_ST_OBF | (aux ? KBC_ST_AUXDATA : 0));
}

/*
 * A command written to port 0x64. Returns whether it pulses the CPU reset
 * line. A command replaces one still waiting for its data byte. Locked.
 */
static bool kbc_command(struct dev_state *d, uint8_t cmd)
{
	d->kbc_cmd = 0;
	if (cmd >= 0x20 && cmd <= 0x3F) {
		/* Read controller RAM: byte 0 is the command byte; no other
		 * byte is kept. */
		kbc_reply(d, cmd == 0x20 ? d->kbc_ctr : 0, false);
		return false;
	}
	if (cmd >= 0x60 && cmd <= 0x7F) {
		/* Write controller RAM (0x60: the command byte): the data byte
		 * follows on port 0x60. */
		d->kbc_cmd = cmd;
		return false;
	}
	switch (cmd) {
	case 0xD1: /* write the output port */
	case 0xD2: /* write the output buffer as from the keyboard */
	case 0xD3: /* ... as from the auxiliary device */
	case 0xD4: /* write to the auxiliary device */
		d->kbc_cmd = cmd;
		break;
	case 0xA7:
		d->kbc_ctr |= KBC_CTR_AUXDIS;
		break;
	case 0xA8:
		d->kbc_ctr &= (uint8_t)~KBC_CTR_AUXDIS;
		break;
	case 0xA9: /* auxiliary interface test: no error */
	case 0xAB: /* keyboard interface test: no error */
		kbc_reply(d, 0x00, false);
		break;
	case 0xAA: /* controller self-test: passed */
		kbc_reply(d, 0x55, false);
		break;
	case 0xAD:
		d->kbc_ctr |= KBC_CTR_KBDDIS;
		break;
	case 0xAE:
		d->kbc_ctr &= (uint8_t)~KBC_CTR_KBDDIS;
		break;
	default:
		/* 0xF0-0xFF pulse the output port lines whose bits are clear;
		 * bit 0 is the CPU reset line (0xFE: reset). Anything else is
		 * ignored. */
		return (cmd & 0xF1) == 0xF0;
	}
	return false;
}

/*
 * A byte written to port 0x60: the data of the command waiting for one, or
 * else for the keyboard, which is not there. Returns whether it resets the
 * CPU (output port bit 0 written as 0). Locked.
 */
static bool kbc_data(struct dev_state *d, uint8_t val)
{
	uint8_t cmd = d->kbc_cmd;

	d->kbc_cmd = 0;
	if (cmd == 0x60)
		d->kbc_ctr = val;
	else if (cmd == 0xD1)
		return !(val & 1);
	else if (cmd == 0xD2 || cmd == 0xD3)
		kbc_reply(d, val, cmd == 0xD3);
	/* 0x61-0x7F (RAM not kept), 0xD4 and the keyboard: dropped. */
	return false;
}

static bool kbc_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size, uint32_t *val)
{
	bool reset = false;

	(void)size;
	pthread_mutex_lock(&d->lock);
	if (!is_write && port == KBC_STATUS) {
		*val = KBC_STATUS_IDLE | d->kbc_st;
	} else if (!is_write) {
		/* The output buffer; read empty, it still holds its last byte. */
		*val = d->kbc_out;
		d->kbc_st = 0;
	} else if (port == KBC_STATUS) {
		reset = kbc_command(d, (uint8_t)*val);
	} else {
		reset = kbc_data(d, (uint8_t)*val);
	}
	pthread_mutex_unlock(&d->lock);
	if (reset)
		d->hooks.exit_vm(d->hooks.ctx, DEV_EXIT_RESET);
	return true;
}

/* ---- the CMOS real-time clock (MC146818A datasheet) ---- */

/* @v in the data mode of register B: BCD unless DM (bit 2) is set. */
static uint8_t rtc_enc(const struct dev_state *d, unsigned v)
{
	return (uint8_t)(d->rtc_b & RTC_B_BINARY ? v : (v / 10) << 4 | v % 10);
}

/* Clock register @reg (0-9, RTC_REG_CENTURY) at the wall clock's time. */
static uint8_t rtc_clock(struct dev_state *d, uint8_t reg)
{
	int64_t now = d->hooks.wall_s ? d->hooks.wall_s(d->hooks.ctx)
				      : (int64_t)(d->hooks.now_ns(d->hooks.ctx) / NS_PER_S);
	time_t t = (time_t)now;
	struct tm tm;
	unsigned h;

	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	switch (reg) {
	case 0:
		return rtc_enc(d, (unsigned)tm.tm_sec % 60);
	case 2:
		return rtc_enc(d, (unsigned)tm.tm_min);
	case 4:
		h = (unsigned)tm.tm_hour;
		if (d->rtc_b & RTC_B_24H)
			return rtc_enc(d, h);
		/* 12-hour: 12, 1-11, bit 7 for PM. */
		return (uint8_t)(rtc_enc(d, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0));
	case 6:
		return rtc_enc(d, (unsigned)tm.tm_wday + 1); /* Sunday is 1 */
	case 7:
		return rtc_enc(d, (unsigned)tm.tm_mday);
	case 8:
		return rtc_enc(d, (unsigned)tm.tm_mon + 1);
	case 9:
		return rtc_enc(d, (unsigned)(tm.tm_year % 100));
	case RTC_REG_CENTURY:
		return rtc_enc(d, (unsigned)(1900 + tm.tm_year) / 100);
	default:
		return 0; /* the alarms (1, 3, 5) are not kept */
	}
}

static bool rtc_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size, uint32_t *val)
{
	uint8_t reg;

	(void)size;
	pthread_mutex_lock(&d->lock);
	reg = d->rtc_index & 0x7F;
	if (port == RTC_INDEX) {
		if (is_write)
			d->rtc_index = (uint8_t)*val;
		else
			*val = 0xFF; /* write-only */
	} else if (is_write) {
		/* Register A's rate and time base, register B; the clock, the
		 * alarms and the RAM are not written. */
		if (reg == RTC_REG_A)
			d->rtc_a = (uint8_t)(*val & 0x7F);
		else if (reg == RTC_REG_B)
			d->rtc_b = (uint8_t)*val;
	} else if (reg == RTC_REG_A) {
		*val = d->rtc_a; /* UIP clear: the clock is read whole */
	} else if (reg == RTC_REG_B) {
		*val = d->rtc_b;
	} else if (reg == RTC_REG_C) {
		*val = 0; /* no interrupt flags: IRQ 8 never rises */
	} else if (reg == RTC_REG_D) {
		*val = RTC_D_VRT;
	} else {
		*val = reg < 10 || reg == RTC_REG_CENTURY ? rtc_clock(d, reg) : 0;
	}
	pthread_mutex_unlock(&d->lock);
	return true;
}

/* Items are at most 8 bytes; the rest of buf reads as zeros. */
static void fw_cfg_item(const struct dev_state *d, uint16_t key, uint8_t buf[8])
{
	const uint32_t id = FW_CFG_ID_TRADITIONAL;

	memset(buf, 0, 8);
	switch (key) {
	case FW_CFG_SIGNATURE:
		memcpy(buf, "QEMU", 4);
		break;
	case FW_CFG_ID:
		memcpy(buf, &id, sizeof(id));
		break;
	case FW_CFG_RAM_SIZE:
		memcpy(buf, &d->ram_size, sizeof(d->ram_size));
		break;
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		memcpy(buf, &d->nr_cpus, sizeof(d->nr_cpus));
		break;
	default:
		break;
	}
}

static bool fw_cfg_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size,
		      uint32_t *val)
{
	uint8_t item[8];

	pthread_mutex_lock(&d->lock);
	if (port == FW_CFG_SELECT && is_write) {
		d->fw_cfg_key = (uint16_t)*val;
		d->fw_cfg_offset = 0;
	} else if (port == FW_CFG_SELECT) {
		*val = 0;
	} else if (!is_write) {
		fw_cfg_item(d, d->fw_cfg_key, item);
		*val = 0;
		for (unsigned i = 0; i < size; i++) {
			if (d->fw_cfg_offset < sizeof(item))
				*val |= (uint32_t)item[d->fw_cfg_offset++] << (8 * i);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return true;
}

static bool testdev_irq_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size,
			   uint32_t *val)
{
	unsigned gsi = port - TESTDEV_IRQ_BASE;

	(void)size; /* always 1: the range is byte-wise */
	if (!is_write) {
		*val = 0;
		return true;
	}
	/* The level is recorded for snapshots before it is driven, under the
	 * lock, so a snapshot never sees a line driven but not recorded. */
	pthread_mutex_lock(&d->lock);
	if (*val)
		d->lines |= 1U << gsi;
	else
		d->lines &= ~(1U << gsi);
	pthread_mutex_unlock(&d->lock);
	d->hooks.set_gsi(d->hooks.ctx, gsi, *val != 0);
	return true;
}

static bool snapshot_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size,
			uint32_t *val)
{
	(void)port, (void)size;
	if (!is_write) {
		pthread_mutex_lock(&d->lock);
		*val = d->restores;
		pthread_mutex_unlock(&d->lock);
	} else if (d->hooks.snapshot) {
		d->hooks.snapshot(d->hooks.ctx);
	}
	return true;
}

static bool msi_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size, uint32_t *val)
{
	unsigned shift = port == MSI_ADDR_HI ? 32 : 0;
	uint64_t addr;

	(void)size;
	switch (port) {
	case MSI_ADDR_LO:
	case MSI_ADDR_HI:
		pthread_mutex_lock(&d->lock);
		if (is_write)
			d->msi_addr = (d->msi_addr & ~(0xFFFFFFFFull << shift)) | (uint64_t)*val
											  << shift;
		else
			*val = (uint32_t)(d->msi_addr >> shift);
		pthread_mutex_unlock(&d->lock);
		return true;
	case MSI_DATA:
		if (!is_write) {
			*val = 0;
			return true;
		}
		pthread_mutex_lock(&d->lock);
		addr = d->msi_addr;
		pthread_mutex_unlock(&d->lock);
		d->hooks.send_msi(d->hooks.ctx, addr, *val);
		return true;
	case MSI_PROBE:
		if (!is_write)
			*val = DEV_VIRQ_MAGIC;
		return true;
	default:
		return false;
	}
}

/* "Shutdown" has no prefix that is also a suffix, so after a mismatch the
 * match restarts at the mismatching byte itself: "ShuShutdown" matches. */
static bool shutdown_feed(struct dev_state *d, uint8_t c)
{
	if (c == (uint8_t)shutdown_str[d->shutdown_matched])
		d->shutdown_matched++;
	else
		d->shutdown_matched = c == (uint8_t)shutdown_str[0];
	if (d->shutdown_matched < sizeof(shutdown_str) - 1)
		return false;
	d->shutdown_matched = 0;
	return true;
}

static bool shutdown_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size,
			uint32_t *val)
{
	bool matched = false;

	(void)port;
	if (!is_write) {
		*val = ~0u;
		return true;
	}
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < size; i++)
		matched |= shutdown_feed(d, (uint8_t)(*val >> (8 * i)));
	pthread_mutex_unlock(&d->lock);
	if (matched)
		d->hooks.exit_vm(d->hooks.ctx, 0);
	return true;
}

static const struct port_range {
	uint16_t first, last;
	bool bytewise; /* wider accesses become byte accesses to consecutive ports */
	pio_fn *io;
} port_map[] = {
	{ 0x0040, 0x0043, true, pit_io },         { 0x0060, 0x0060, false, kbc_io },
	{ 0x0061, 0x0061, false, port61_io },     { 0x0064, 0x0064, false, kbc_io },
	{ 0x0070, 0x0071, true, rtc_io },         { 0x0080, 0x0080, false, post_code_io },
	{ 0x00E0, 0x00E0, false, scratch_io },    { 0x00E4, 0x00E4, false, sink_io },
	{ 0x00E8, 0x00E8, false, scratch_io },    { 0x00F4, 0x00F7, false, debug_exit_io },
	{ 0x03F8, 0x03FF, true, com1_io },        { 0x0510, 0x0511, false, fw_cfg_io },
	{ 0x2000, 0x2017, true, testdev_irq_io }, { 0x2100, 0x210F, false, msi_io },
	{ 0x2200, 0x2203, false, snapshot_io },   { 0x8900, 0x8900, false, shutdown_io },
};

static const struct port_range *find_range(uint16_t port)
{
	for (size_t i = 0; i < sizeof(port_map) / sizeof(port_map[0]); i++) {
		if (port >= port_map[i].first && port <= port_map[i].last)
			return &port_map[i];
	}
	return NULL;
}

void dev_init(struct dev_state *d, const struct dev_hooks *hooks, uint16_t nr_cpus,
	      uint64_t ram_size)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->irq_lock, NULL);
	pthread_cond_init(&d->rx_space, NULL);
	d->hooks = *hooks;
	d->nr_cpus = nr_cpus;
	d->ram_size = ram_size;
	/* The PIT at power-on, as no firmware programmed it: every channel in
	 * mode 0 with LSB-then-MSB access and no count, OUT low, count 0.
	 * Channels 0 and 1 have GATE tied high; channel 2's is port 0x61 bit 0. */
	for (unsigned i = 0; i < 3; i++) {
		d->pit[i].rw = 3;
		d->pit[i].gate = i < 2;
		d->pit[i].n = 65536;
	}
	d->kbc_ctr = KBC_CTR_RESET;
	d->rtc_a = RTC_A_RESET;
	d->rtc_b = RTC_B_RESET;
}

void dev_save(struct dev_state *d, struct dev_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&d->lock);
	out->uart[0] = d->uart_lcr;
	out->uart[1] = d->uart_ier;
	out->uart[2] = d->uart_mcr;
	out->uart[3] = d->uart_scr;
	out->uart[4] = d->uart_dll;
	out->uart[5] = d->uart_dlm;
	out->fw_cfg_key = d->fw_cfg_key;
	out->fw_cfg_offset = d->fw_cfg_offset;
	out->shutdown_matched = d->shutdown_matched;
	out->scratch_e0 = d->scratch_e0;
	out->scratch_e8 = d->scratch_e8;
	out->msi_addr = d->msi_addr;
	out->lines = d->lines;
	out->restores = d->restores;
	memcpy(out->pit, d->pit, sizeof(out->pit));
	out->pit_now = pit_now(d);
	out->pit_last_edge = d->pit_last_edge;
	out->port61 = d->port61;
	out->uart2[0] = d->uart_fcr;
	out->uart2[1] = d->uart_thre;
	out->uart2[2] = d->uart_msr_delta;
	out->uart2[3] = d->uart_line;
	out->uart2[4] = d->uart_rx_head;
	out->uart2[5] = d->uart_rx_count;
	memcpy(out->uart_rx, d->uart_rx, sizeof(out->uart_rx));
	out->kbc = 1U << 31 | (uint32_t)(d->kbc_st & KBC_ST_AUXDATA ? 1U << 25 : 0) |
		   (uint32_t)(d->kbc_st & KBC_ST_OBF ? 1U << 24 : 0) | (uint32_t)d->kbc_cmd << 16 |
		   (uint32_t)d->kbc_out << 8 | d->kbc_ctr;
	out->rtc = 1U << 31 | (uint32_t)d->rtc_b << 16 | (uint32_t)d->rtc_a << 8 | d->rtc_index;
	pthread_mutex_unlock(&d->lock);
}

/* A saved 8042 state the controller can have: see struct dev_snapshot. */
static bool kbc_valid(uint32_t kbc)
{
	uint8_t cmd = (uint8_t)(kbc >> 16);

	if (!kbc)
		return true; /* a snapshot from before the 8042 was kept */
	return (kbc & 0xFC000000U) == 1U << 31 && (!(kbc & 1U << 25) || (kbc & 1U << 24)) &&
	       (cmd == 0 || (cmd >= 0x60 && cmd <= 0x7F) || (cmd >= 0xD1 && cmd <= 0xD4));
}

/* A channel state the PIT can reach at PIT tick now. */
static bool pit_valid(const struct dev_pit_channel *c, unsigned i, uint8_t port61, uint64_t now)
{
	if (c->mode > 5 || c->rw < 1 || c->rw > 3 || c->bcd > 1 || c->state > PIT_SUSPENDED ||
	    c->gate != (i < 2 ? 1 : (port61 & 1)) || c->write_msb > 1 || c->read_msb > 1 ||
	    c->latch_state > 3 ||
	    (c->latch_state && c->latch_state != c->rw && !(c->rw == 3 && c->latch_state == 2)) ||
	    c->status_latched > 1 || c->null_count > 1 || c->pending > 1 || c->edge_at_start > 1 ||
	    c->reserved || c->reserved2 || c->n < 1 || c->n > 65536 || (c->rw != 3 && c->write_msb))
		return false;
	switch (c->state) {
	case PIT_RUNNING:
		if (c->start > now || c->elapsed || (c->edge_at_start && !pit_periodic(c)))
			return false;
		break;
	case PIT_SUSPENDED:
		if ((c->mode != 0 && c->mode != 4) || c->gate || c->start)
			return false;
		break;
	case PIT_WAIT_GATE:
		if (c->mode == 0 || c->mode == 4 || c->start || c->elapsed ||
		    (pit_periodic(c) && c->gate))
			return false;
		break;
	default:
		if (c->start || c->elapsed)
			return false;
		break;
	}
	if (c->state != PIT_RUNNING && c->edge_at_start)
		return false;
	if (c->pending)
		return c->state == PIT_RUNNING && pit_periodic(c) && c->pending_n >= 1 &&
		       c->pending_n <= 65536 && c->pending_at > c->start &&
		       c->pending_at <= now + c->n;
	return !c->pending_n && !c->pending_at;
}

bool dev_restore(struct dev_state *d, const struct dev_snapshot *st)
{
	struct dev_state u; /* COM1 as restored, for its IRQ level */

	if (st->shutdown_matched >= sizeof(shutdown_str) - 1 || st->fw_cfg_offset > 8 ||
	    !kbc_valid(st->kbc) || (st->rtc && (st->rtc & 0x7F008000U) != 0) ||
	    (st->rtc && !(st->rtc >> 31)) || (st->lines >> 24) || st->reserved2 ||
	    (st->port61 & 0xE0) || st->pit_last_edge > st->pit_now)
		return false;
	for (unsigned i = 0; i < 3; i++) {
		if (!pit_valid(&st->pit[i], i, st->port61, st->pit_now))
			return false;
	}
	if ((st->uart[1] & 0xF0) || (st->uart[2] & 0xE0) ||
	    (st->uart2[0] & UART_FCR_ENABLE ? (st->uart2[0] & ~0xC1) : st->uart2[0]) ||
	    st->uart2[1] > 1 || st->uart2[2] > 0x0F || st->uart2[3] > 1 ||
	    st->uart2[4] >= DEV_UART_FIFO ||
	    st->uart2[5] > (st->uart2[0] & UART_FCR_ENABLE ? DEV_UART_FIFO : 1))
		return false;
	memset(&u, 0, sizeof(u));
	u.uart_ier = st->uart[1];
	u.uart_mcr = st->uart[2];
	u.uart_thre = st->uart2[1];
	u.uart_msr_delta = st->uart2[2];
	u.uart_rx_count = st->uart2[5];
	if (uart_level(&u) != st->uart2[3])
		return false; /* the line recorded is not the one these registers drive */
	pthread_mutex_lock(&d->lock);
	d->uart_lcr = st->uart[0];
	d->uart_ier = st->uart[1];
	d->uart_mcr = st->uart[2];
	d->uart_scr = st->uart[3];
	d->uart_dll = st->uart[4];
	d->uart_dlm = st->uart[5];
	d->fw_cfg_key = st->fw_cfg_key;
	d->fw_cfg_offset = st->fw_cfg_offset;
	d->shutdown_matched = st->shutdown_matched;
	d->scratch_e0 = st->scratch_e0;
	d->scratch_e8 = st->scratch_e8;
	d->msi_addr = st->msi_addr;
	d->lines = st->lines;
	d->restores = st->restores;
	memcpy(d->pit, st->pit, sizeof(d->pit));
	d->pit_offset = 0;
	d->pit_offset = st->pit_now - pit_now(d); /* the PIT's time goes on from pit_now */
	d->pit_last_edge = st->pit_last_edge;
	d->pit_owed = 0;
	d->port61 = st->port61;
	d->uart_fcr = st->uart2[0];
	d->uart_thre = st->uart2[1];
	d->uart_msr_delta = st->uart2[2];
	d->uart_line = st->uart2[3];
	d->uart_rx_head = st->uart2[4];
	d->uart_rx_count = st->uart2[5];
	memcpy(d->uart_rx, st->uart_rx, sizeof(d->uart_rx));
	d->kbc_ctr = st->kbc ? (uint8_t)st->kbc : KBC_CTR_RESET;
	d->kbc_out = (uint8_t)(st->kbc >> 8);
	d->kbc_cmd = (uint8_t)(st->kbc >> 16);
	d->kbc_st = (uint8_t)((st->kbc & 1U << 24 ? KBC_ST_OBF : 0) |
			      (st->kbc & 1U << 25 ? KBC_ST_AUXDATA : 0));
	d->rtc_index = (uint8_t)st->rtc;
	d->rtc_a = st->rtc ? (uint8_t)(st->rtc >> 8) : RTC_A_RESET;
	d->rtc_b = st->rtc ? (uint8_t)(st->rtc >> 16) : RTC_B_RESET;
	pthread_mutex_unlock(&d->lock);
	if (d->hooks.timer_changed)
		d->hooks.timer_changed(d->hooks.ctx);
	return true;
}

void dev_destroy(struct dev_state *d)
{
	pthread_cond_destroy(&d->rx_space);
	pthread_mutex_destroy(&d->irq_lock);
	pthread_mutex_destroy(&d->lock);
}

bool dev_pio(struct dev_state *d, uint16_t port, bool is_write, unsigned size, uint8_t *data)
{
	const struct port_range *r = find_range(port);
	bool handled = true;
	uint32_t val = 0;

	if (size != 1 && size != 2 && size != 4)
		return false;
	if (r && r->bytewise && size > 1) {
		for (unsigned i = 0; i < size; i++) {
			if (!dev_pio(d, (uint16_t)(port + i), is_write, 1, &data[i]))
				handled = false;
		}
		return handled;
	}
	if (is_write)
		memcpy(&val, data, size);
	handled = r && r->io(d, port, is_write, size, &val);
	if (!is_write) {
		if (!handled)
			val = ~0u;
		memcpy(data, &val, size);
	}
	return handled;
}
