/* SPDX-License-Identifier: MIT */
/*
 * devices.c: the port I/O devices of virq-vmm.
 *
 * Port reference for guest authors. Values are little-endian; "any width"
 * means 1, 2 or 4 bytes with the value zero-extended to 32 bits.
 *
 * (0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1, the 8259 pair and its ELCR, are
 * the irqchip's: libvirq's KVM glue answers them before they get here.)
 * 0x80                  POST code: writes ignored, reads 0xFF.
 * 0xE0, 0xE8            pc-testdev scratch: reads return the last value
 *                       written (any width).
 * 0xE4                  pc-testdev flush-page: writes ignored, reads 0.
 * 0xF4-0xF7             isa-debug-exit (QEMU -device isa-debug-exit,iobase=0xf4,
 *                       iosize=4): writing v of any width exits with status
 *                       (v << 1) | 1, so a guest can never fake "success" (0).
 *                       Reads all ones.
 * 0x3F8-0x3FF           COM1, a polled 16550 without interrupts: THR output
 *                       goes to the console; LSR = 0x60 (transmitter empty),
 *                       IIR = 0x01, MSR = 0xB0, RBR = 0 (no input); LCR, IER,
 *                       MCR, SCR and (with LCR.DLAB) the divisor latch read
 *                       back what was written.
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

#include "devices.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "kvm_run io data is little-endian");

#define COM1_BASE 0x3F8
#define UART_LCR_DLAB 0x80
#define UART_LSR_IDLE 0x60 /* THR empty, transmitter empty */
#define UART_IIR_NONE 0x01
#define UART_MSR_LINES 0xB0 /* DCD, DSR, CTS asserted */

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

static uint8_t uart_read(const struct dev_state *d, unsigned reg)
{
	bool dlab = d->uart_lcr & UART_LCR_DLAB;

	switch (reg) {
	case 0:
		return dlab ? d->uart_dll : 0; /* RBR: no input ever arrives */
	case 1:
		return dlab ? d->uart_dlm : d->uart_ier;
	case 2:
		return UART_IIR_NONE;
	case 3:
		return d->uart_lcr;
	case 4:
		return d->uart_mcr;
	case 5:
		return UART_LSR_IDLE;
	case 6:
		return UART_MSR_LINES;
	default:
		return d->uart_scr;
	}
}

/* Returns true when b is a byte to transmit. */
static bool uart_write(struct dev_state *d, unsigned reg, uint8_t b)
{
	bool dlab = d->uart_lcr & UART_LCR_DLAB;

	switch (reg) {
	case 0:
		if (!dlab)
			return true;
		d->uart_dll = b;
		break;
	case 1:
		*(dlab ? &d->uart_dlm : &d->uart_ier) = b;
		break;
	case 3:
		d->uart_lcr = b;
		break;
	case 4:
		d->uart_mcr = b;
		break;
	case 7:
		d->uart_scr = b;
		break;
	default:
		break; /* FCR, LSR, MSR: nothing to do without FIFOs or a line */
	}
	return false;
}

static bool com1_io(struct dev_state *d, uint16_t port, bool is_write, unsigned size, uint32_t *val)
{
	unsigned reg = port - COM1_BASE;
	bool transmit = false;

	(void)size; /* always 1: the range is byte-wise */
	pthread_mutex_lock(&d->lock);
	if (is_write)
		transmit = uart_write(d, reg, (uint8_t)*val);
	else
		*val = uart_read(d, reg);
	pthread_mutex_unlock(&d->lock);
	if (transmit)
		d->hooks.console(d->hooks.ctx, (char)*val);
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
	{ 0x0080, 0x0080, false, post_code_io },  { 0x00E0, 0x00E0, false, scratch_io },
	{ 0x00E4, 0x00E4, false, sink_io },       { 0x00E8, 0x00E8, false, scratch_io },
	{ 0x00F4, 0x00F7, false, debug_exit_io }, { 0x03F8, 0x03FF, true, com1_io },
	{ 0x0510, 0x0511, false, fw_cfg_io },     { 0x2000, 0x2017, true, testdev_irq_io },
	{ 0x2100, 0x210F, false, msi_io },        { 0x2200, 0x2203, false, snapshot_io },
	{ 0x8900, 0x8900, false, shutdown_io },
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
	d->hooks = *hooks;
	d->nr_cpus = nr_cpus;
	d->ram_size = ram_size;
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
	pthread_mutex_unlock(&d->lock);
}

bool dev_restore(struct dev_state *d, const struct dev_snapshot *st)
{
	if (st->shutdown_matched >= sizeof(shutdown_str) - 1 || st->fw_cfg_offset > 8 ||
	    st->reserved[0] || st->reserved[1] || (st->lines >> 24))
		return false;
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
	pthread_mutex_unlock(&d->lock);
	return true;
}

void dev_destroy(struct dev_state *d)
{
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
