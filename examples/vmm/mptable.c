/* SPDX-License-Identifier: MIT */
/*
 * mptable.c: the MP floating pointer and configuration table (Intel
 * MultiProcessor Specification 1.4, sections 4.1 "MP Floating Pointer
 * Structure", 4.2 "MP Configuration Table Header" and 4.3 "Base MP
 * Configuration Table Entries"). mptable.h says what the table describes.
 *
 * The table is built in a local buffer and copied to guest RAM in one go
 * after the checks, so a refusal writes nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mptable.h"
#include "util.h"

#define MPT_OEM_ID "VIRQ    "         /* 8 bytes, space-padded */
#define MPT_PRODUCT_ID "VIRQ-VMM    " /* 12 bytes */
#define MPT_ISA_BUS_ID 0u
#define MPT_DEST_ALL_LAPICS 0xFFu
#define MPT_FLOAT_LEN 16u

/* The largest table: header, MPT_MAX_CPUS processors, bus, I/O APIC,
 * I/O and local interrupt entries. */
#define MPT_BUF_LEN                                                                                \
	(MPT_FLOAT_LEN + MPT_HEADER_LEN + MPT_MAX_CPUS * MPT_PROCESSOR_LEN +                       \
	 (2u + MPT_NR_IOINTS + MPT_NR_LINTS) * MPT_OTHER_LEN)

size_t mpt_config_len(unsigned nr_cpus)
{
	return MPT_HEADER_LEN + (size_t)nr_cpus * MPT_PROCESSOR_LEN +
	       (2u + MPT_NR_IOINTS + MPT_NR_LINTS) * MPT_OTHER_LEN;
}

/* One 8-byte I/O (type 3) or local (type 4) interrupt entry. */
static uint8_t *put_int(uint8_t *p, uint8_t entry, uint8_t type, uint8_t src_irq, uint8_t dest,
			uint8_t pin)
{
	p[0] = entry;
	p[1] = type;
	vmm_put16(p + 2, 0); /* polarity and trigger conform to the bus */
	p[4] = MPT_ISA_BUS_ID;
	p[5] = src_irq;
	p[6] = dest;
	p[7] = pin;
	return p + MPT_OTHER_LEN;
}

static size_t build(uint8_t *buf, const struct mpt_config *cfg)
{
	uint8_t *cfgt = buf + MPT_FLOAT_LEN, *p = cfgt + MPT_HEADER_LEN;
	const uint8_t ioapic_id = (uint8_t)cfg->nr_cpus;
	size_t len = mpt_config_len(cfg->nr_cpus);

	for (unsigned i = 0; i < cfg->nr_cpus; i++, p += MPT_PROCESSOR_LEN) {
		p[0] = MPT_ENTRY_PROCESSOR;
		p[1] = (uint8_t)i; /* local APIC ID */
		p[2] = MPT_LAPIC_VERSION;
		p[3] = MPT_CPU_EN | (i == 0 ? MPT_CPU_BP : 0u);
		vmm_put32(p + 4, cfg->cpu_signature);
		vmm_put32(p + 8, cfg->cpu_features);
		/* 12-19 reserved: zero */
	}
	p[0] = MPT_ENTRY_BUS;
	p[1] = MPT_ISA_BUS_ID;
	memcpy(p + 2, "ISA   ", 6);
	p += MPT_OTHER_LEN;
	p[0] = MPT_ENTRY_IOAPIC;
	p[1] = ioapic_id;
	p[2] = cfg->ioapic_version;
	p[3] = 1; /* enabled */
	vmm_put32(p + 4, MPT_IOAPIC_ADDR);
	p += MPT_OTHER_LEN;
	p = put_int(p, MPT_ENTRY_IOINT, MPT_EXTINT, 0, ioapic_id, 0);
	p = put_int(p, MPT_ENTRY_IOINT, MPT_INT, 0, ioapic_id, 2);
	for (uint8_t irq = 1; irq < 16; irq++)
		if (irq != 2)
			p = put_int(p, MPT_ENTRY_IOINT, MPT_INT, irq, ioapic_id, irq);
	p = put_int(p, MPT_ENTRY_LINT, MPT_EXTINT, 0, MPT_DEST_ALL_LAPICS, 0);
	p = put_int(p, MPT_ENTRY_LINT, MPT_NMI, 0, MPT_DEST_ALL_LAPICS, 1);

	/* Configuration table header (section 4.2, table 4-2). */
	memcpy(cfgt, "PCMP", 4);
	vmm_put16(cfgt + 4, (uint16_t)len);
	cfgt[6] = MPT_SPEC_REV;
	memcpy(cfgt + 8, MPT_OEM_ID, 8);
	memcpy(cfgt + 16, MPT_PRODUCT_ID, 12);
	/* 28: OEM table pointer, 32: its size: none */
	vmm_put16(cfgt + 34, (uint16_t)(cfg->nr_cpus + 2u + MPT_NR_IOINTS + MPT_NR_LINTS));
	vmm_put32(cfgt + 36, MPT_LAPIC_ADDR);
	/* 40: extended table length, 42: its checksum, 43: reserved */
	cfgt[7] = vmm_checksum8(cfgt, len);

	/* Floating pointer structure (section 4.1, table 4-1). */
	memcpy(buf, "_MP_", 4);
	vmm_put32(buf + 4, MPT_CONFIG_ADDR);
	buf[8] = 1; /* length in 16-byte paragraphs */
	buf[9] = MPT_SPEC_REV;
	/* 11: feature byte 1 = 0: the configuration table is present;
	 * 12: feature byte 2, bit 7 (IMCRP) clear: virtual-wire mode. */
	buf[10] = vmm_checksum8(buf, MPT_FLOAT_LEN);
	return MPT_FLOAT_LEN + len;
}

int mpt_write(void *ram, uint64_t ram_size, const struct mpt_config *cfg, char *err, size_t errlen)
{
	uint8_t buf[MPT_BUF_LEN];
	size_t len;

	if (cfg->nr_cpus < 1 || cfg->nr_cpus > MPT_MAX_CPUS)
		return vmm_fail(err, errlen, "MP table: %u processors (want 1-%u)", cfg->nr_cpus,
				MPT_MAX_CPUS);
	if (cfg->ioapic_version != 0x11u && cfg->ioapic_version != 0x20u)
		return vmm_fail(err, errlen, "MP table: I/O APIC version 0x%x (want 0x11 or 0x20)",
				cfg->ioapic_version);
	if (ram_size < MPT_FLOAT_ADDR + MPT_BUF_LEN)
		return vmm_fail(err, errlen, "MP table: guest RAM ends below 0x%x",
				MPT_FLOAT_ADDR + MPT_BUF_LEN);
	memset(buf, 0, sizeof(buf));
	len = build(buf, cfg);
	memcpy((uint8_t *)ram + MPT_FLOAT_ADDR, buf, len);
	return 0;
}
