/* SPDX-License-Identifier: MIT */
/*
 * acpi.c: the ACPI tables of acpi.h (ACPI Specification 6.0, sections 5.2.5
 * "Root System Description Pointer", 5.2.6 "System Description Table
 * Header", 5.2.7 "RSDT", 5.2.8 "XSDT", 5.2.9 "FADT", 5.2.10 "FACS", 5.2.11.1
 * "DSDT", 5.2.12 "MADT").
 *
 * Built in a local copy of the area and copied to guest RAM in one go after
 * the checks, so a refusal writes nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "util.h"

#define ACPI_OEM_ID "VIRQ  "         /* 6 bytes */
#define ACPI_OEM_TABLE_ID "VIRQ-VMM" /* 8 bytes */
#define ACPI_CREATOR_ID "VIRQ"
#define ACPI_OEM_REVISION 1u
#define ACPI_CREATOR_REVISION 1u

/* FADT fields (ACPI 6.0, table 5-34). */
#define FADT_FIRMWARE_CTRL 36u
#define FADT_DSDT 40u
#define FADT_SCI_INT 46u
#define FADT_P_LVL2_LAT 96u
#define FADT_P_LVL3_LAT 98u
#define FADT_IAPC_BOOT_ARCH 109u
#define FADT_FLAGS 112u
#define FADT_MINOR_VERSION 131u
#define FADT_X_DSDT 140u
#define FADT_BOOT_LEGACY_DEVICES 0x0001u
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4) /* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5) /* no fixed-feature sleep button */
#define FADT_NO_C2_C3_LAT 0x0FFFu /* > 100 / > 1000 us: not supported */

#define MADT_PCAT_COMPAT 1u
#define MADT_ENABLED 1u
#define MADT_ALL_PROCESSORS 0xFFu

size_t acpi_madt_len(unsigned nr_cpus)
{
	return ACPI_HEADER_LEN + 8u + (size_t)nr_cpus * 8u + 12u + 10u + 6u;
}

/* The common header; the checksum is set by seal() once the body is in. */
static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	vmm_put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	vmm_put32(t + 24, ACPI_OEM_REVISION);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	vmm_put32(t + 32, ACPI_CREATOR_REVISION);
}

static void seal(uint8_t *t, uint32_t len)
{
	t[9] = vmm_checksum8(t, len);
}

static void build_madt(uint8_t *t, const struct acpi_config *cfg)
{
	uint32_t len = (uint32_t)acpi_madt_len(cfg->nr_cpus);
	uint8_t *p = t + ACPI_HEADER_LEN + 8;

	header(t, "APIC", len, 4);
	vmm_put32(t + 36, cfg->lapic_addr);
	vmm_put32(t + 40, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < cfg->nr_cpus; i++, p += 8) {
		p[0] = ACPI_MADT_LAPIC;
		p[1] = 8;
		p[2] = (uint8_t)i; /* ACPI processor UID */
		p[3] = (uint8_t)i; /* APIC ID */
		vmm_put32(p + 4, MADT_ENABLED);
	}
	p[0] = ACPI_MADT_IOAPIC;
	p[1] = 12;
	p[2] = (uint8_t)cfg->nr_cpus; /* I/O APIC ID, as in the MP table */
	vmm_put32(p + 4, cfg->ioapic_addr);
	vmm_put32(p + 8, 0); /* GSI base */
	p += 12;
	p[0] = ACPI_MADT_ISO;
	p[1] = 10;
	p[2] = 0; /* bus: ISA */
	p[3] = 0; /* source: IRQ 0 */
	vmm_put32(p + 4, 2);
	vmm_put16(p + 8, 0); /* conforms to the bus */
	p += 10;
	p[0] = ACPI_MADT_LAPIC_NMI;
	p[1] = 6;
	p[2] = MADT_ALL_PROCESSORS;
	vmm_put16(p + 3, 0); /* conforms */
	p[5] = 1;            /* LINT1 */
	seal(t, len);
}

static void build_fadt(uint8_t *t)
{
	header(t, "FACP", ACPI_FADT_LEN, 6);
	vmm_put32(t + FADT_FIRMWARE_CTRL, ACPI_FACS_ADDR);
	vmm_put32(t + FADT_DSDT, ACPI_DSDT_ADDR);
	vmm_put16(t + FADT_SCI_INT, ACPI_SCI_IRQ);
	vmm_put16(t + FADT_P_LVL2_LAT, FADT_NO_C2_C3_LAT);
	vmm_put16(t + FADT_P_LVL3_LAT, FADT_NO_C2_C3_LAT);
	vmm_put16(t + FADT_IAPC_BOOT_ARCH, FADT_BOOT_LEGACY_DEVICES);
	vmm_put32(t + FADT_FLAGS, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON);
	t[FADT_MINOR_VERSION] = 0;
	vmm_put64(t + FADT_X_DSDT, ACPI_DSDT_ADDR);
	seal(t, ACPI_FADT_LEN);
}

static void build(uint8_t *a, const struct acpi_config *cfg)
{
	uint8_t *rsdp = a + (ACPI_RSDP_ADDR - ACPI_BASE);
	uint8_t *rsdt = a + (ACPI_RSDT_ADDR - ACPI_BASE);
	uint8_t *xsdt = a + (ACPI_XSDT_ADDR - ACPI_BASE);
	uint8_t *facs = a + (ACPI_FACS_ADDR - ACPI_BASE);

	build_madt(a + (ACPI_MADT_ADDR - ACPI_BASE), cfg);
	build_fadt(a + (ACPI_FADT_ADDR - ACPI_BASE));
	header(a + (ACPI_DSDT_ADDR - ACPI_BASE), "DSDT", ACPI_HEADER_LEN, 2);
	seal(a + (ACPI_DSDT_ADDR - ACPI_BASE), ACPI_HEADER_LEN);

	memcpy(facs, "FACS", 4);
	vmm_put32(facs + 4, ACPI_FACS_LEN);
	facs[32] = 2; /* version */

	header(rsdt, "RSDT", ACPI_HEADER_LEN + 8, 1);
	vmm_put32(rsdt + 36, ACPI_FADT_ADDR);
	vmm_put32(rsdt + 40, ACPI_MADT_ADDR);
	seal(rsdt, ACPI_HEADER_LEN + 8);
	header(xsdt, "XSDT", ACPI_HEADER_LEN + 16, 1);
	vmm_put64(xsdt + 36, ACPI_FADT_ADDR);
	vmm_put64(xsdt + 44, ACPI_MADT_ADDR);
	seal(xsdt, ACPI_HEADER_LEN + 16);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, ACPI_OEM_ID, 6);
	rsdp[15] = 2; /* revision: ACPI 2.0 and later, XSDT present */
	vmm_put32(rsdp + 16, ACPI_RSDT_ADDR);
	vmm_put32(rsdp + 20, ACPI_RSDP_LEN);
	vmm_put64(rsdp + 24, ACPI_XSDT_ADDR);
	rsdp[8] = vmm_checksum8(rsdp, 20);             /* ACPI 1.0 part */
	rsdp[32] = vmm_checksum8(rsdp, ACPI_RSDP_LEN); /* extended checksum: all 36 */
}

int acpi_write(void *ram, uint64_t ram_size, const struct acpi_config *cfg, char *err,
	       size_t errlen)
{
	uint8_t area[ACPI_AREA_LEN];

	_Static_assert(ACPI_MADT_ADDR + ACPI_HEADER_LEN + 8u + ACPI_MAX_CPUS * 8u + 28u <=
			       ACPI_FADT_ADDR,
		       "the largest MADT ends below the FADT");
	_Static_assert(ACPI_FADT_ADDR + ACPI_FADT_LEN <= ACPI_DSDT_ADDR, "FADT below DSDT");
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > ACPI_MAX_CPUS)
		return vmm_fail(err, errlen, "ACPI tables: %u processors (want 1-%u)", cfg->nr_cpus,
				ACPI_MAX_CPUS);
	if (ram_size < ACPI_BASE + ACPI_AREA_LEN)
		return vmm_fail(err, errlen, "ACPI tables: guest RAM ends below 0x%x",
				ACPI_BASE + ACPI_AREA_LEN);
	memset(area, 0, sizeof(area));
	build(area, cfg);
	memcpy((uint8_t *)ram + ACPI_BASE, area, sizeof(area));
	return 0;
}
