/* SPDX-License-Identifier: MIT */
/*
 * acpi.h: the ACPI tables virq-vmm writes for a Linux guest (ACPI 6.0):
 * RSDP, RSDT and XSDT, MADT, FADT, FACS and a DSDT without AML.
 *
 * MADT ("Multiple APIC Description Table"): PCAT_COMPAT (an 8259 pair is
 * present), one Processor Local APIC per vCPU (processor UID and APIC ID =
 * vCPU index, enabled), the I/O APIC (ID = nr_cpus, as in the MP table, GSI
 * base 0), the interrupt source override ISA IRQ 0 -> GSI 2 (conforming
 * polarity and trigger), and a Local APIC NMI on LINT1 of every processor
 * (UID 0xFF).
 *
 * FADT: fixed-hardware ACPI without PM1, PM timer or GPE blocks (virq-vmm
 * has none of those devices), SMI_CMD 0 (always in ACPI mode), SCI_INT 9,
 * IAPC_BOOT_ARCH "legacy devices" (the ISA ones), no C2/C3, power and
 * sleep buttons not fixed features. The DSDT is an AML header only.
 *
 * Everything lives in the BIOS area [ACPI_BASE, ACPI_BASE + ACPI_AREA_LEN),
 * which the e820 map of loader.h reserves; the RSDP is at ACPI_BASE, where
 * Linux's scan of 0xE0000-0xFFFFF finds it.
 */
#ifndef VIRQ_VMM_ACPI_H
#define VIRQ_VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_BASE 0xE0000u
#define ACPI_AREA_LEN 0x1000u
#define ACPI_MAX_CPUS 64u

/* Where each table sits (offsets from ACPI_BASE are fixed: the largest
 * MADT, for ACPI_MAX_CPUS, ends below the FADT). */
#define ACPI_RSDP_ADDR (ACPI_BASE + 0x000u)
#define ACPI_RSDT_ADDR (ACPI_BASE + 0x040u)
#define ACPI_XSDT_ADDR (ACPI_BASE + 0x080u)
#define ACPI_FACS_ADDR (ACPI_BASE + 0x0C0u) /* 64-byte aligned */
#define ACPI_MADT_ADDR (ACPI_BASE + 0x100u)
#define ACPI_FADT_ADDR (ACPI_BASE + 0x400u)
#define ACPI_DSDT_ADDR (ACPI_BASE + 0x540u)

#define ACPI_HEADER_LEN 36u
#define ACPI_RSDP_LEN 36u
#define ACPI_FACS_LEN 64u
#define ACPI_FADT_LEN 276u /* ACPI 6.0, FADT revision 6 */
#define ACPI_SCI_IRQ 9u

/* MADT structure types (ACPI 6.0, table 5-45). */
#define ACPI_MADT_LAPIC 0u
#define ACPI_MADT_IOAPIC 1u
#define ACPI_MADT_ISO 2u
#define ACPI_MADT_LAPIC_NMI 4u

struct acpi_config {
	unsigned nr_cpus;     /* 1-ACPI_MAX_CPUS */
	uint32_t lapic_addr;  /* 0xFEE00000 */
	uint32_t ioapic_addr; /* 0xFEC00000 */
};

/* Bytes of the MADT for nr_cpus processors. */
size_t acpi_madt_len(unsigned nr_cpus);

/*
 * Writes every table, with its checksum, into ram[0..ram_size) (guest-
 * physical 0 on). Checks cfg and RAM first and writes nothing on an error.
 * Returns 0, or -1 with a message in err (errlen bytes, may be 0).
 */
int acpi_write(void *ram, uint64_t ram_size, const struct acpi_config *cfg, char *err,
	       size_t errlen);

#endif /* VIRQ_VMM_ACPI_H */
