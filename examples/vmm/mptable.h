/* SPDX-License-Identifier: MIT */
/*
 * mptable.h: the MP table (Intel MultiProcessor Specification 1.4, chapter
 * 4 "MP Configuration Table") virq-vmm writes for a Linux guest, so that it
 * finds its processors, the I/O APIC and the ISA interrupt wiring the way
 * it does on a PC without ACPI (acpi=off, or no RSDP found).
 *
 * What it describes, all from libvirq's PC wiring (virq_vm_attach_pic(),
 * the GSI router's ISA layout):
 *   - one processor entry per vCPU: local APIC ID = vCPU index, version
 *     MPT_LAPIC_VERSION, enabled, BSP flag on vCPU 0;
 *   - bus 0, "ISA   ";
 *   - the I/O APIC: ID = nr_cpus (the first after the CPUs), its version,
 *     enabled, at MPT_IOAPIC_ADDR;
 *   - I/O interrupt entries: ExtINT on pin 0 (the 8259's INT output), ISA
 *     IRQ 0 on pin 2, ISA IRQs 1 and 3-15 on the pin of the same number,
 *     all "conforms to the bus" (edge, active high for ISA);
 *   - local interrupt entries for every local APIC (destination 0xFF):
 *     ExtINT on LINT0, NMI on LINT1.
 * The floating pointer structure says "configuration table present"
 * (feature byte 1 = 0) and virtual-wire mode (IMCRP clear: no IMCR).
 *
 * Both structures live in the BIOS area at MPT_FLOAT_ADDR, which the e820
 * map of loader.h reserves; Linux scans 0xF0000-0xFFFFF for "_MP_".
 */
#ifndef VIRQ_VMM_MPTABLE_H
#define VIRQ_VMM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPT_FLOAT_ADDR 0xF0000u  /* floating pointer structure, 16 bytes */
#define MPT_CONFIG_ADDR 0xF0010u /* configuration table, right after it */
#define MPT_MAX_CPUS 64u
#define MPT_LAPIC_ADDR 0xFEE00000u
#define MPT_IOAPIC_ADDR 0xFEC00000u
#define MPT_LAPIC_VERSION 0x14u /* libvirq's and KVM's LAPIC version register */
#define MPT_SPEC_REV 4u         /* MPS 1.4 */

/* Entry types and lengths (MPS 1.4, table 4-3). */
#define MPT_ENTRY_PROCESSOR 0u
#define MPT_ENTRY_BUS 1u
#define MPT_ENTRY_IOAPIC 2u
#define MPT_ENTRY_IOINT 3u
#define MPT_ENTRY_LINT 4u
#define MPT_PROCESSOR_LEN 20u
#define MPT_OTHER_LEN 8u
#define MPT_HEADER_LEN 44u

/* Interrupt types of I/O and local interrupt entries (table 4-8). */
#define MPT_INT 0u
#define MPT_NMI 1u
#define MPT_SMI 2u
#define MPT_EXTINT 3u

/* Processor entry CPU flags (table 4-5). */
#define MPT_CPU_EN 0x01u
#define MPT_CPU_BP 0x02u

/* I/O interrupt entries: ExtINT on pin 0, ISA IRQ 0 and 1, 3-15. */
#define MPT_NR_IOINTS 16u
#define MPT_NR_LINTS 2u

struct mpt_config {
	unsigned nr_cpus;       /* 1-MPT_MAX_CPUS */
	uint8_t ioapic_version; /* the I/O APIC's version register: 0x11 or 0x20 */
	uint32_t cpu_signature; /* CPUID.1:EAX (family, model, stepping) */
	uint32_t cpu_features;  /* CPUID.1:EDX */
};

/* Bytes of the configuration table for nr_cpus processors. */
size_t mpt_config_len(unsigned nr_cpus);

/*
 * Writes the floating pointer at MPT_FLOAT_ADDR and the configuration table
 * at MPT_CONFIG_ADDR into ram[0..ram_size) (guest-physical 0 on), each with
 * its checksum. Checks cfg and RAM first and writes nothing on an error.
 * Returns 0, or -1 with a message in err (errlen bytes, may be 0).
 */
int mpt_write(void *ram, uint64_t ram_size, const struct mpt_config *cfg, char *err, size_t errlen);

#endif /* VIRQ_VMM_MPTABLE_H */
