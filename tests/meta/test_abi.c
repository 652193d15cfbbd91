/* SPDX-License-Identifier: MIT */
/*
 * ABI pins: size, alignment and the offset of every field of every public
 * struct, the first published size of every caller-filled table
 * (VIRQ_*_SIZE_MIN) and the version of every saved-state format.
 *
 * Every check here is a compile-time assertion, so an ABI change breaks the
 * build of this test until someone updates the number on purpose. Layouts
 * fixed by hardware (the posted-interrupt descriptor) or by a save/restore
 * format (struct virq_*_state) must never move without a new
 * VIRQ_*_STATE_VERSION; the others are pinned so that a change is at least
 * deliberate (doc/abi.md says which version bump it needs).
 *
 * Objects whose fields are private (after "@privatesection": struct
 * virq_lapic, virq_vm, ...) have their size, alignment and public fields
 * pinned, not their private fields: the caller allocates them, so only their
 * size and alignment are ABI.
 *
 * How to update on purpose: decide the version bump first (doc/abi.md), then
 * print the new layout with a throwaway program that includes <virq/virq.h>
 * (and <virq/kvm.h>) and prints sizeof, _Alignof and offsetof of each field
 * of the changed struct, and write the printed numbers here as literals.
 * Never compute them from the headers in this file: a pin that follows the
 * header pins nothing. A caller-filled table may only grow at its end, so its
 * old offsets and its VIRQ_*_SIZE_MIN stay.
 *
 * The numbers are for x86-64 (LP64), the only target the library models.
 */
#include <virq/virq.h>
#if defined(__linux__) && defined(__has_include)
#if __has_include(<pthread.h>)
#include <virq/kvm.h>
#define ABI_HAVE_KVM 1
#endif
#endif

#include <stdio.h>
#include <string.h>

#define PIN_SIZE(type, size, align)                                                                \
	VIRQ_STATIC_ASSERT(sizeof(type) == (size), "sizeof(" #type ") changed");                   \
	VIRQ_STATIC_ASSERT(_Alignof(type) == (align), "alignof(" #type ") changed")

#define PIN_OFF(type, field, off)                                                                  \
	VIRQ_STATIC_ASSERT(offsetof(type, field) == (off),                                         \
			   "offsetof(" #type ", " #field ") changed")

/* First published sizes of the caller-filled tables (0.1.0): init refuses a
 * smaller `size`. They never change; a table grows past them. */
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_OPS_SIZE_MIN == 80U && VIRQ_LAPIC_CONFIG_SIZE_MIN == 28U,
		   "LAPIC first sizes");
VIRQ_STATIC_ASSERT(VIRQ_IOAPIC_OPS_SIZE_MIN == 32U && VIRQ_IOAPIC_CONFIG_SIZE_MIN == 12U,
		   "I/O APIC first sizes");
VIRQ_STATIC_ASSERT(VIRQ_PIC_OPS_SIZE_MIN == 24U, "PIC first size");
VIRQ_STATIC_ASSERT(VIRQ_VM_OPS_SIZE_MIN == 96U && VIRQ_VM_CONFIG_SIZE_MIN == 36U, "VM first sizes");
VIRQ_STATIC_ASSERT(VIRQ_IR_CONFIG_SIZE_MIN == 12U, "IR config first size");
VIRQ_STATIC_ASSERT(VIRQ_VMX_OPS_SIZE_MIN == 56U && VIRQ_VMX_CONFIG_SIZE_MIN == 48U,
		   "VMX first sizes");

/* ---- Core: the posted-interrupt descriptor and the message ---- */

/* VT-x posted-interrupt descriptor (SDM Vol. 3C, "Posted-Interrupt
 * Processing"): fixed by hardware. */
PIN_SIZE(struct virq_pi_desc, 64, 64);
PIN_OFF(struct virq_pi_desc, pir, 0);
PIN_OFF(struct virq_pi_desc, control, 32);
PIN_OFF(struct virq_pi_desc, sw, 40);
VIRQ_STATIC_ASSERT(VIRQ_PI_CTRL_ON == 1ULL << (256 - 256), "ON is bit 256");
VIRQ_STATIC_ASSERT(VIRQ_PI_CTRL_SN == 1ULL << (257 - 256), "SN is bit 257");
VIRQ_STATIC_ASSERT(VIRQ_PI_CTRL_NV_SHIFT == 272 - 256, "NV is bits 279:272");
VIRQ_STATIC_ASSERT(VIRQ_PI_CTRL_NDST_SHIFT == 288 - 256, "NDST is bits 319:288");

/* User interrupts: UPID and UITT entry (SENDUIPI instruction page), the
 * UINTR MSR state. */
PIN_SIZE(struct virq_uintr_upid, 16, 8);
PIN_OFF(struct virq_uintr_upid, control, 0);
PIN_OFF(struct virq_uintr_upid, pir, 8);
PIN_SIZE(struct virq_uintr_uitte, 16, 8);
PIN_OFF(struct virq_uintr_uitte, control, 0);
PIN_OFF(struct virq_uintr_uitte, upid_addr, 8);
VIRQ_STATIC_ASSERT(VIRQ_UINTR_UPID_ON == 1ULL && VIRQ_UINTR_UPID_SN == 2ULL, "UPID ON bit 0, SN 1");
VIRQ_STATIC_ASSERT(VIRQ_UINTR_UPID_NV_SHIFT == 16 && VIRQ_UINTR_UPID_NDST_SHIFT == 32,
		   "UPID NV 23:16, NDST 63:32");
VIRQ_STATIC_ASSERT(VIRQ_UINTR_UITTE_UV_SHIFT == 8, "UITTE UV 15:8");
PIN_SIZE(struct virq_uintr_msrs, 48, 8);
PIN_OFF(struct virq_uintr_msrs, rr, 0);
PIN_OFF(struct virq_uintr_msrs, handler, 8);
PIN_OFF(struct virq_uintr_msrs, stackadjust, 16);
PIN_OFF(struct virq_uintr_msrs, misc, 24);
PIN_OFF(struct virq_uintr_msrs, pd, 32);
PIN_OFF(struct virq_uintr_msrs, tt, 40);

/* The message every source produces and routing consumes. */
PIN_SIZE(struct virq_apic_msg, 16, 4);
PIN_OFF(struct virq_apic_msg, dest, 0);
PIN_OFF(struct virq_apic_msg, src, 4);
PIN_OFF(struct virq_apic_msg, vector, 8);
PIN_OFF(struct virq_apic_msg, delivery, 9);
PIN_OFF(struct virq_apic_msg, shorthand, 10);
PIN_OFF(struct virq_apic_msg, logical, 11);
PIN_OFF(struct virq_apic_msg, level, 12);
PIN_OFF(struct virq_apic_msg, trigger_level, 13);
PIN_OFF(struct virq_apic_msg, x2apic, 14);
PIN_OFF(struct virq_apic_msg, reserved0, 15);

/* ---- Local APIC ---- */

/* Save/restore format, version 3 (version 1 had `reserved` where
 * lint_vectors is; version 2 had bit 8 of events reserved; same layout):
 * a layout change needs a new version. */
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_STATE_VERSION == 3U, "state version changed: re-pin the layout");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_STATE_EV_NMI2 == 1U << 8, "the saved second NMI is events bit 8");
/* virq_lapic_events: nmi_count took a byte of the former padding. The
 * object virq_lapic: 256 until the APIC-write record (hw_snap), 320 since;
 * cfg.size took 4 bytes and hw_snap_valid moved into the gap after cfg. */
PIN_SIZE(struct virq_lapic_events, 8, 4);
PIN_OFF(struct virq_lapic_events, flags, 0);
PIN_OFF(struct virq_lapic_events, sipi_vector, 4);
PIN_OFF(struct virq_lapic_events, nmi_count, 5);
PIN_SIZE(struct virq_lapic_ops, 80, 8);
PIN_OFF(struct virq_lapic_ops, size, 0);
PIN_OFF(struct virq_lapic_ops, reserved, 4);
PIN_OFF(struct virq_lapic_ops, kick, 8);
PIN_OFF(struct virq_lapic_ops, now_ns, 16);
PIN_OFF(struct virq_lapic_ops, timer_arm, 24);
PIN_OFF(struct virq_lapic_ops, timer_cancel, 32);
PIN_OFF(struct virq_lapic_ops, send_ipi, 40);
PIN_OFF(struct virq_lapic_ops, eoi_level, 48);
PIN_OFF(struct virq_lapic_ops, guest_error, 56);
PIN_OFF(struct virq_lapic_ops, guest_tsc, 64);
PIN_OFF(struct virq_lapic_ops, dest_changed, 72);
PIN_SIZE(struct virq_lapic_config, 28, 4);
PIN_OFF(struct virq_lapic_config, size, 0);
PIN_OFF(struct virq_lapic_config, apic_id, 4);
PIN_OFF(struct virq_lapic_config, bsp, 8);
PIN_OFF(struct virq_lapic_config, x2apic, 9);
PIN_OFF(struct virq_lapic_config, tsc_deadline, 10);
PIN_OFF(struct virq_lapic_config, directed_eoi, 11);
PIN_OFF(struct virq_lapic_config, xapic_id_writable, 12);
PIN_OFF(struct virq_lapic_config, version, 13);
PIN_OFF(struct virq_lapic_config, max_lvt, 14);
PIN_OFF(struct virq_lapic_config, phys_addr_bits, 15);
PIN_OFF(struct virq_lapic_config, timer_tick_ps, 16);
PIN_OFF(struct virq_lapic_config, tsc_khz, 20);
PIN_OFF(struct virq_lapic_config, timer_min_period_ns, 24);
PIN_SIZE(struct virq_lapic, 320, 64);
PIN_OFF(struct virq_lapic, pi, 0);
/* Private fields of virq_lapic not pinned. */
PIN_SIZE(struct virq_lapic_state, 1080, 8);
PIN_OFF(struct virq_lapic_state, version, 0);
PIN_OFF(struct virq_lapic_state, size, 4);
PIN_OFF(struct virq_lapic_state, apic_base, 8);
PIN_OFF(struct virq_lapic_state, tsc_deadline, 16);
PIN_OFF(struct virq_lapic_state, timer_remaining_ns, 24);
PIN_OFF(struct virq_lapic_state, regs, 32);
PIN_OFF(struct virq_lapic_state, esr_pending, 1056);
PIN_OFF(struct virq_lapic_state, events, 1060);
PIN_OFF(struct virq_lapic_state, sipi_vector, 1064);
PIN_OFF(struct virq_lapic_state, lint, 1068);
PIN_OFF(struct virq_lapic_state, flags, 1072);
PIN_OFF(struct virq_lapic_state, lint_vectors, 1076);

/* Register page offsets a VT-x virtual-APIC page shares (SDM Vol. 3C,
 * "Virtual-APIC Page"). */
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_PAGE_SIZE == 4096U, "register page is 4 KiB");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_TPR == 0x80U, "TPR offset");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_PPR == 0xA0U, "PPR offset");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_ISR == 0x100U, "ISR offset");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_TMR == 0x180U, "TMR offset");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_IRR == 0x200U, "IRR offset");

/* ---- I/O APIC ---- */

VIRQ_STATIC_ASSERT(VIRQ_IOAPIC_STATE_VERSION == 1U,
		   "I/O APIC state version changed: re-pin the layout");
PIN_SIZE(struct virq_ioapic_config, 12, 4);
PIN_OFF(struct virq_ioapic_config, size, 0);
PIN_OFF(struct virq_ioapic_config, id, 4);
PIN_OFF(struct virq_ioapic_config, version, 5);
PIN_OFF(struct virq_ioapic_config, pins, 6);
PIN_OFF(struct virq_ioapic_config, reserved, 7);
PIN_OFF(struct virq_ioapic_config, storm_limit, 8);
PIN_SIZE(struct virq_ioapic_ops, 40, 8);
PIN_OFF(struct virq_ioapic_ops, size, 0);
PIN_OFF(struct virq_ioapic_ops, reserved, 4);
PIN_OFF(struct virq_ioapic_ops, deliver, 8);
PIN_OFF(struct virq_ioapic_ops, storm, 16);
PIN_OFF(struct virq_ioapic_ops, guest_error, 24);
PIN_OFF(struct virq_ioapic_ops, deliver_entry, 32);
PIN_SIZE(struct virq_ioapic, 1912, 8);
/* Private fields of virq_ioapic not pinned. */
PIN_SIZE(struct virq_ioapic_state, 1016, 8);
PIN_OFF(struct virq_ioapic_state, version, 0);
PIN_OFF(struct virq_ioapic_state, size, 4);
PIN_OFF(struct virq_ioapic_state, ioregsel, 8);
PIN_OFF(struct virq_ioapic_state, id, 12);
PIN_OFF(struct virq_ioapic_state, pins, 16);
PIN_OFF(struct virq_ioapic_state, reserved, 20);
PIN_OFF(struct virq_ioapic_state, rte, 24);
PIN_OFF(struct virq_ioapic_state, line, 984);
PIN_OFF(struct virq_ioapic_state, storm_held, 1000);

/* ---- 8259A pair + ELCR ---- */

/* Save/restore format, version 2 (version 1 had `reserved` where `line` is). */
VIRQ_STATIC_ASSERT(VIRQ_PIC_STATE_VERSION == 2U, "PIC state version changed: re-pin the layout");
PIN_SIZE(struct virq_pic_ops, 24, 8);
PIN_OFF(struct virq_pic_ops, size, 0);
PIN_OFF(struct virq_pic_ops, reserved, 4);
PIN_OFF(struct virq_pic_ops, intr, 8);
PIN_OFF(struct virq_pic_ops, guest_error, 16);
PIN_SIZE(struct virq_pic_chip, 12, 2);
/* Private fields of virq_pic_chip not pinned. */
PIN_SIZE(struct virq_pic, 48, 8);
/* Private fields of virq_pic not pinned. */
PIN_SIZE(struct virq_pic_chip_state, 12, 2);
PIN_OFF(struct virq_pic_chip_state, irr, 0);
PIN_OFF(struct virq_pic_chip_state, imr, 1);
PIN_OFF(struct virq_pic_chip_state, isr, 2);
PIN_OFF(struct virq_pic_chip_state, last_irr, 3);
PIN_OFF(struct virq_pic_chip_state, elcr, 4);
PIN_OFF(struct virq_pic_chip_state, prio_add, 5);
PIN_OFF(struct virq_pic_chip_state, base, 6);
PIN_OFF(struct virq_pic_chip_state, init_state, 7);
PIN_OFF(struct virq_pic_chip_state, icw3, 8);
PIN_OFF(struct virq_pic_chip_state, line, 9);
PIN_OFF(struct virq_pic_chip_state, flags, 10);
PIN_SIZE(struct virq_pic_state, 40, 4);
PIN_OFF(struct virq_pic_state, version, 0);
PIN_OFF(struct virq_pic_state, size, 4);
PIN_OFF(struct virq_pic_state, chip, 8);
PIN_OFF(struct virq_pic_state, intr, 32);
PIN_OFF(struct virq_pic_state, reserved, 36);

/* ---- MSI, MSI-X and interrupt remapping ---- */

PIN_SIZE(struct virq_msix_entry, 16, 4);
PIN_OFF(struct virq_msix_entry, addr_lo, 0);
PIN_OFF(struct virq_msix_entry, addr_hi, 4);
PIN_OFF(struct virq_msix_entry, data, 8);
PIN_OFF(struct virq_msix_entry, ctrl, 12);
PIN_SIZE(struct virq_msix, 24, 8);
PIN_OFF(struct virq_msix, table, 0);
PIN_OFF(struct virq_msix, pba, 8);
PIN_OFF(struct virq_msix, vectors, 16);
PIN_OFF(struct virq_msix, enabled, 18);
PIN_OFF(struct virq_msix, function_mask, 19);
PIN_SIZE(struct virq_msi_cap, 24, 4);
PIN_OFF(struct virq_msi_cap, addr_lo, 0);
PIN_OFF(struct virq_msi_cap, addr_hi, 4);
PIN_OFF(struct virq_msi_cap, mask, 8);
PIN_OFF(struct virq_msi_cap, pending, 12);
PIN_OFF(struct virq_msi_cap, data, 16);
PIN_OFF(struct virq_msi_cap, control, 18);
PIN_OFF(struct virq_msi_cap, next, 20);
PIN_SIZE(struct virq_ir_result, 40, 8);
PIN_OFF(struct virq_ir_result, kind, 0);
PIN_OFF(struct virq_ir_result, fault, 4);
PIN_OFF(struct virq_ir_result, index, 8);
PIN_OFF(struct virq_ir_result, fpd, 12);
PIN_OFF(struct virq_ir_result, urgent, 13);
PIN_OFF(struct virq_ir_result, vector, 14);
PIN_OFF(struct virq_ir_result, reserved, 15);
PIN_OFF(struct virq_ir_result, pda, 16);
PIN_OFF(struct virq_ir_result, msg, 24);
PIN_SIZE(struct virq_ir_config, 12, 4);
PIN_OFF(struct virq_ir_config, size, 0);
PIN_OFF(struct virq_ir_config, table_entries, 4);
PIN_OFF(struct virq_ir_config, eime, 8);
PIN_OFF(struct virq_ir_config, cfi, 9);
PIN_OFF(struct virq_ir_config, posting, 10);
PIN_OFF(struct virq_ir_config, reserved, 11);
PIN_SIZE(struct virq_irte_host, 16, 4);
PIN_OFF(struct virq_irte_host, size, 0);
PIN_OFF(struct virq_irte_host, dest, 4);
PIN_OFF(struct virq_irte_host, sid, 8);
PIN_OFF(struct virq_irte_host, sq, 10);
PIN_OFF(struct virq_irte_host, svt, 11);
PIN_OFF(struct virq_irte_host, vector, 12);
PIN_OFF(struct virq_irte_host, x2apic, 13);
PIN_OFF(struct virq_irte_host, fpd, 14);
PIN_OFF(struct virq_irte_host, urgent, 15);

/* ---- VM: routing, GSIs ---- */

PIN_SIZE(struct virq_gsi_route, 24, 8);
PIN_OFF(struct virq_gsi_route, ioapic, 0);
PIN_OFF(struct virq_gsi_route, pin, 1);
PIN_OFF(struct virq_gsi_route, pic_irq, 2);
PIN_OFF(struct virq_gsi_route, msi, 3);
PIN_OFF(struct virq_gsi_route, msi_addr, 8);
PIN_OFF(struct virq_gsi_route, msi_data, 16);
PIN_OFF(struct virq_gsi_route, msi_sid, 20);
PIN_OFF(struct virq_gsi_route, reserved, 22);
PIN_SIZE(struct virq_vm_gsi, 32, 8);
PIN_OFF(struct virq_vm_gsi, route, 0);
/* Private fields of virq_vm_gsi not pinned. */
PIN_SIZE(struct virq_vm_ops, 96, 8);
PIN_OFF(struct virq_vm_ops, size, 0);
PIN_OFF(struct virq_vm_ops, reserved, 4);
PIN_OFF(struct virq_vm_ops, lock, 8);
PIN_OFF(struct virq_vm_ops, unlock, 16);
PIN_OFF(struct virq_vm_ops, read_irte, 24);
PIN_OFF(struct virq_vm_ops, ir_fault, 32);
PIN_OFF(struct virq_vm_ops, pi_desc, 40);
PIN_OFF(struct virq_vm_ops, pi_notify, 48);
PIN_OFF(struct virq_vm_ops, lost, 56);
PIN_OFF(struct virq_vm_ops, storm, 64);
PIN_OFF(struct virq_vm_ops, deliver_msi, 72);
PIN_OFF(struct virq_vm_ops, pic_intr, 80);
PIN_OFF(struct virq_vm_ops, ioapic_msg, 88);
PIN_SIZE(struct virq_vm_config, 36, 4);
PIN_OFF(struct virq_vm_config, size, 0);
PIN_OFF(struct virq_vm_config, nr_vcpus, 4);
PIN_OFF(struct virq_vm_config, map_entries, 8);
PIN_OFF(struct virq_vm_config, nr_gsis, 12);
PIN_OFF(struct virq_vm_config, msi_flags, 16);
PIN_OFF(struct virq_vm_config, lowest_vector_hashing, 20);
PIN_OFF(struct virq_vm_config, ir_enabled, 21);
PIN_OFF(struct virq_vm_config, x2apic_broadcast_quirk, 22);
PIN_OFF(struct virq_vm_config, reserved, 23);
PIN_OFF(struct virq_vm_config, ir, 24);
PIN_SIZE(struct virq_vm_ioapic, 24, 8);
/* Private fields of virq_vm_ioapic not pinned. */
PIN_SIZE(struct virq_vm, 504, 8);
/* Private fields of virq_vm not pinned. */

/* The VM's own saved state (virq_vm_save()): a saved-state format. */
VIRQ_STATIC_ASSERT(VIRQ_VM_STATE_VERSION == 1U, "struct virq_vm_state: bump the version");
PIN_SIZE(struct virq_vm_gsi_state, 24, 8);
PIN_OFF(struct virq_vm_gsi_state, ioapic, 0);
PIN_OFF(struct virq_vm_gsi_state, pin, 1);
PIN_OFF(struct virq_vm_gsi_state, pic_irq, 2);
PIN_OFF(struct virq_vm_gsi_state, msi, 3);
PIN_OFF(struct virq_vm_gsi_state, msi_data, 4);
PIN_OFF(struct virq_vm_gsi_state, msi_addr, 8);
PIN_OFF(struct virq_vm_gsi_state, msi_sid, 16);
PIN_OFF(struct virq_vm_gsi_state, reserved, 18);
PIN_OFF(struct virq_vm_gsi_state, sources, 20);
PIN_SIZE(struct virq_vm_ioapic_wiring, 8, 4);
PIN_OFF(struct virq_vm_ioapic_wiring, gsi_base, 0);
PIN_OFF(struct virq_vm_ioapic_wiring, sid, 4);
PIN_OFF(struct virq_vm_ioapic_wiring, reserved, 6);
PIN_SIZE(struct virq_vm_state, 120, 4);
PIN_OFF(struct virq_vm_state, version, 0);
PIN_OFF(struct virq_vm_state, size, 4);
PIN_OFF(struct virq_vm_state, gsi_size, 8);
PIN_OFF(struct virq_vm_state, nr_gsis, 12);
PIN_OFF(struct virq_vm_state, nr_vcpus, 16);
PIN_OFF(struct virq_vm_state, msi_flags, 20);
PIN_OFF(struct virq_vm_state, cfg_flags, 24);
PIN_OFF(struct virq_vm_state, ir_flags, 28);
PIN_OFF(struct virq_vm_state, ir_table_entries, 32);
PIN_OFF(struct virq_vm_state, lowest_rr, 36);
PIN_OFF(struct virq_vm_state, nr_ioapics, 40);
PIN_OFF(struct virq_vm_state, pic_bsp, 44);
PIN_OFF(struct virq_vm_state, ioapics, 48);
PIN_OFF(struct virq_vm_state, reserved, 112);

/* ---- vCPU policy ---- */

/* Save/restore format, version 1: a layout change needs a new version. */
VIRQ_STATIC_ASSERT(VIRQ_VCPU_STATE_VERSION == 1U, "state version changed: re-pin the layout");
PIN_SIZE(struct virq_vcpu_window, 2, 1);
PIN_OFF(struct virq_vcpu_window, intr, 0);
PIN_OFF(struct virq_vcpu_window, nmi, 1);
PIN_SIZE(struct virq_vcpu_event, 16, 8);
PIN_OFF(struct virq_vcpu_event, type, 0);
PIN_OFF(struct virq_vcpu_event, vector, 1);
PIN_OFF(struct virq_vcpu_event, has_error, 2);
PIN_OFF(struct virq_vcpu_event, insn_len, 3);
PIN_OFF(struct virq_vcpu_event, error_code, 4);
PIN_OFF(struct virq_vcpu_event, payload, 8);
PIN_SIZE(struct virq_vcpu_decision, 24, 8);
PIN_OFF(struct virq_vcpu_decision, actions, 0);
PIN_OFF(struct virq_vcpu_decision, vector, 4);
PIN_OFF(struct virq_vcpu_decision, source, 5);
PIN_OFF(struct virq_vcpu_decision, sipi_vector, 6);
PIN_OFF(struct virq_vcpu_decision, reserved, 7);
PIN_OFF(struct virq_vcpu_decision, event, 8);
PIN_SIZE(struct virq_vcpu_stats, 96, 8);
PIN_OFF(struct virq_vcpu_stats, nmi, 0);
PIN_OFF(struct virq_vcpu_stats, nmi_dropped, 8);
PIN_OFF(struct virq_vcpu_stats, smi, 16);
PIN_OFF(struct virq_vcpu_stats, intr_lapic, 24);
PIN_OFF(struct virq_vcpu_stats, intr_pic, 32);
PIN_OFF(struct virq_vcpu_stats, intr_windows, 40);
PIN_OFF(struct virq_vcpu_stats, init, 48);
PIN_OFF(struct virq_vcpu_stats, sipi, 56);
PIN_OFF(struct virq_vcpu_stats, exceptions, 64);
PIN_OFF(struct virq_vcpu_stats, double_faults, 72);
PIN_OFF(struct virq_vcpu_stats, triple_faults, 80);
PIN_OFF(struct virq_vcpu_stats, reinjected, 88);
PIN_SIZE(struct virq_vcpu, 160, 8);
/* Private fields of virq_vcpu not pinned. */
PIN_SIZE(struct virq_vcpu_state, 56, 8);
PIN_OFF(struct virq_vcpu_state, version, 0);
PIN_OFF(struct virq_vcpu_state, size, 4);
PIN_OFF(struct virq_vcpu_state, flags, 8);
PIN_OFF(struct virq_vcpu_state, nmi_pending, 12);
PIN_OFF(struct virq_vcpu_state, held, 16);
PIN_OFF(struct virq_vcpu_state, sipi_vector, 20);
PIN_OFF(struct virq_vcpu_state, exception, 24);
PIN_OFF(struct virq_vcpu_state, reinject, 40);
/* VMX interruption types (SDM Vol. 3C, "VM-Entry Controls for Event Injection"). */
VIRQ_STATIC_ASSERT(VIRQ_VCPU_EV_EXTINT == 0 && VIRQ_VCPU_EV_NMI == 2 && VIRQ_VCPU_EV_HW_EXC == 3 &&
			   VIRQ_VCPU_EV_SW_INT == 4 && VIRQ_VCPU_EV_PRIV_SW_EXC == 5 &&
			   VIRQ_VCPU_EV_SW_EXC == 6,
		   "the VMX interruption-type encoding");

/* ---- VMX glue, and the SDM's encodings it names (SDM Vol. 3C Appendix B "Field
 * Encoding in VMCS") ---- */

PIN_SIZE(struct virq_vmx_ops, 56, 8);
PIN_OFF(struct virq_vmx_ops, size, 0);
PIN_OFF(struct virq_vmx_ops, reserved, 4);
PIN_OFF(struct virq_vmx_ops, vmread, 8);
PIN_OFF(struct virq_vmx_ops, vmwrite, 16);
PIN_OFF(struct virq_vmx_ops, rdmsr, 24);
PIN_OFF(struct virq_vmx_ops, read_gpr, 32);
PIN_OFF(struct virq_vmx_ops, write_gpr, 40);
PIN_OFF(struct virq_vmx_ops, write_cr2, 48);
PIN_SIZE(struct virq_vmx_config, 72, 8);
PIN_OFF(struct virq_vmx_config, size, 0);
PIN_OFF(struct virq_vmx_config, level, 4);
PIN_OFF(struct virq_vmx_config, flags, 8);
PIN_OFF(struct virq_vmx_config, vcpu_options, 12);
PIN_OFF(struct virq_vmx_config, reserved, 16);
PIN_OFF(struct virq_vmx_config, reserved2, 20);
PIN_OFF(struct virq_vmx_config, virtual_apic_addr, 24);
PIN_OFF(struct virq_vmx_config, apic_access_addr, 32);
PIN_OFF(struct virq_vmx_config, msr_bitmap, 40);
PIN_OFF(struct virq_vmx_config, pi_desc_addr, 48);
PIN_OFF(struct virq_vmx_config, pi_vector, 56);
PIN_OFF(struct virq_vmx_config, pi_wakeup_vector, 57);
PIN_OFF(struct virq_vmx_config, ipiv_last_index, 58);
PIN_OFF(struct virq_vmx_config, reserved4, 60);
PIN_OFF(struct virq_vmx_config, ipiv_table_addr, 64);
PIN_SIZE(struct virq_vmx_stats, 88, 8);
PIN_OFF(struct virq_vmx_stats, entries, 0);
PIN_OFF(struct virq_vmx_stats, exits, 8);
PIN_OFF(struct virq_vmx_stats, injected, 16);
PIN_OFF(struct virq_vmx_stats, reinjected, 24);
PIN_OFF(struct virq_vmx_stats, reinject_refused, 32);
PIN_OFF(struct virq_vmx_stats, msr, 40);
PIN_OFF(struct virq_vmx_stats, apic_access, 48);
PIN_OFF(struct virq_vmx_stats, tpr_below, 56);
PIN_OFF(struct virq_vmx_stats, apic_write, 64);
PIN_OFF(struct virq_vmx_stats, eoi_induced, 72);
PIN_OFF(struct virq_vmx_stats, mode_switches, 80);
PIN_SIZE(struct virq_vmx_vcpu, 192, 8);
/* Private fields of virq_vmx_vcpu not pinned. */
PIN_SIZE(struct virq_vmx_entry, 40, 8);
PIN_OFF(struct virq_vmx_entry, flags, 0);
PIN_OFF(struct virq_vmx_entry, sipi_vector, 4);
PIN_OFF(struct virq_vmx_entry, reserved, 5);
PIN_OFF(struct virq_vmx_entry, cr2, 8);
PIN_OFF(struct virq_vmx_entry, decision, 16);
PIN_SIZE(struct virq_vmx_exit, 24, 8);
PIN_OFF(struct virq_vmx_exit, reason, 0);
PIN_OFF(struct virq_vmx_exit, host_vector, 4);
PIN_OFF(struct virq_vmx_exit, apic_write, 6);
PIN_OFF(struct virq_vmx_exit, reserved, 7);
PIN_OFF(struct virq_vmx_exit, apic_offset, 8);
PIN_OFF(struct virq_vmx_exit, qualification, 16);
PIN_SIZE(struct virq_vmx_check_env, 72, 8);
PIN_OFF(struct virq_vmx_check_env, vmx_basic, 0);
PIN_OFF(struct virq_vmx_check_env, vmx_misc, 8);
PIN_OFF(struct virq_vmx_check_env, pin_ctls, 16);
PIN_OFF(struct virq_vmx_check_env, proc_ctls2, 20);
PIN_OFF(struct virq_vmx_check_env, interruptibility, 24);
PIN_OFF(struct virq_vmx_check_env, activity, 28);
PIN_OFF(struct virq_vmx_check_env, cr0, 32);
PIN_OFF(struct virq_vmx_check_env, mtf, 40);
PIN_OFF(struct virq_vmx_check_env, vtpr, 41);
PIN_OFF(struct virq_vmx_check_env, reserved, 42);
PIN_OFF(struct virq_vmx_check_env, proc_ctls, 44);
PIN_OFF(struct virq_vmx_check_env, tpr_threshold, 48);
PIN_OFF(struct virq_vmx_check_env, virtual_apic_addr, 56);
PIN_OFF(struct virq_vmx_check_env, apic_access_addr, 64);
VIRQ_STATIC_ASSERT(VIRQ_VMCS_ENTRY_INTR_INFO == 0x4016U &&
			   VIRQ_VMCS_ENTRY_EXC_ERROR_CODE == 0x4018U &&
			   VIRQ_VMCS_ENTRY_INSN_LEN == 0x401AU &&
			   VIRQ_VMCS_IDT_VECTORING_INFO == 0x4408U &&
			   VIRQ_VMCS_GUEST_INTERRUPTIBILITY == 0x4824U,
		   "VMCS field encodings");

/* ---- KVM glue (hosted Linux only, where <virq/kvm.h> builds) ---- */

#ifdef ABI_HAVE_KVM
VIRQ_STATIC_ASSERT(VIRQ_KVM_CONFIG_SIZE_MIN == 20U, "KVM config first size");
PIN_SIZE(struct virq_kvm_config, 20, 4);
PIN_OFF(struct virq_kvm_config, size, 0);
PIN_OFF(struct virq_kvm_config, irqchip, 4);
PIN_OFF(struct virq_kvm_config, nr_vcpus, 8);
PIN_OFF(struct virq_kvm_config, kick_signal, 12);
PIN_OFF(struct virq_kvm_config, ioapic_version, 16);
PIN_OFF(struct virq_kvm_config, no_x2apic, 17);
PIN_OFF(struct virq_kvm_config, no_tsc_deadline, 18);
PIN_OFF(struct virq_kvm_config, bsp_virtual_wire, 19);
PIN_SIZE(struct virq_kvm_stats, 152, 8);
PIN_OFF(struct virq_kvm_stats, injected, 0);
PIN_OFF(struct virq_kvm_stats, exits, 56);
PIN_OFF(struct virq_kvm_stats, runs, 128);
PIN_OFF(struct virq_kvm_stats, halts, 136);
PIN_OFF(struct virq_kvm_stats, last_vector, 144);
PIN_OFF(struct virq_kvm_stats, last_source, 146);
PIN_SIZE(struct virq_kvm_vcpu, 8192, 4096);
/* Private fields of virq_kvm_vcpu not pinned. */
PIN_SIZE(struct virq_kvm, 6496, 8);
/* Private fields of virq_kvm not pinned. */
/* The glue's saved states (virq_kvm_vcpu_save(), virq_kvm_save()). */
VIRQ_STATIC_ASSERT(VIRQ_KVM_STATE_VERSION == 1U && VIRQ_KVM_NR_GSIS == 24U,
		   "struct virq_kvm_*_state: bump the version");
PIN_SIZE(struct virq_kvm_vcpu_state, 1152, 8);
PIN_OFF(struct virq_kvm_vcpu_state, version, 0);
PIN_OFF(struct virq_kvm_vcpu_state, size, 4);
PIN_OFF(struct virq_kvm_vcpu_state, index, 8);
PIN_OFF(struct virq_kvm_vcpu_state, flags, 12);
PIN_OFF(struct virq_kvm_vcpu_state, lapic, 16);
PIN_OFF(struct virq_kvm_vcpu_state, policy, 1096);
PIN_SIZE(struct virq_kvm_state, 1776, 8);
PIN_OFF(struct virq_kvm_state, version, 0);
PIN_OFF(struct virq_kvm_state, size, 4);
PIN_OFF(struct virq_kvm_state, irqchip, 8);
PIN_OFF(struct virq_kvm_state, nr_vcpus, 12);
PIN_OFF(struct virq_kvm_state, storm_pins, 16);
PIN_OFF(struct virq_kvm_state, reserved, 20);
PIN_OFF(struct virq_kvm_state, ioapic, 24);
PIN_OFF(struct virq_kvm_state, pic, 1040);
PIN_OFF(struct virq_kvm_state, vm, 1080);
PIN_OFF(struct virq_kvm_state, gsis, 1200);
#endif

VIRQ_STATIC_ASSERT(VIRQ_VERSION_NUMBER == VIRQ_VERSION_MAJOR * 10000 + VIRQ_VERSION_MINOR * 100 +
						  VIRQ_VERSION_PATCH,
		   "version number");
VIRQ_STATIC_ASSERT(VIRQ_VERSION_AT_LEAST(VIRQ_VERSION_MAJOR, VIRQ_VERSION_MINOR,
					 VIRQ_VERSION_PATCH) &&
			   !VIRQ_VERSION_AT_LEAST(VIRQ_VERSION_MAJOR, VIRQ_VERSION_MINOR,
						  VIRQ_VERSION_PATCH + 1),
		   "VIRQ_VERSION_AT_LEAST");

int main(void)
{
	/* The library linked in is the one these headers describe. */
	if (virq_version() != VIRQ_VERSION_NUMBER) {
		printf("virq_version() %u, headers %u\n", (unsigned)virq_version(),
		       (unsigned)VIRQ_VERSION_NUMBER);
		return 1;
	}
	/* The size helpers of <virq/version.h>, on a pretend table that is
	 * shorter than today's: what a future library sees from an older
	 * caller. */
	struct virq_lapic_ops o;
	struct virq_lapic_config src, dst;
	const uint32_t short_ops = (uint32_t)offsetof(struct virq_lapic_ops, dest_changed);
	const uint32_t short_cfg = (uint32_t)offsetof(struct virq_lapic_config, tsc_khz);
	int bad = 0;

	memset(&o, 0, sizeof(o));
	o.size = short_ops;
	/* Within the first published size: present whatever size says (the
	 * init call refused anything shorter). */
	bad |= !VIRQ_FIELD_PRESENT(struct virq_lapic_ops, &o, dest_changed,
				   VIRQ_LAPIC_OPS_SIZE_MIN);
	/* Were dest_changed appended after a first size of short_ops: absent
	 * from this table, present from a full one; kick always present. */
	bad |= VIRQ_FIELD_PRESENT(struct virq_lapic_ops, &o, dest_changed, short_ops);
	bad |= !VIRQ_FIELD_PRESENT(struct virq_lapic_ops, &o, kick, short_ops);
	o.size = sizeof(o);
	bad |= !VIRQ_FIELD_PRESENT(struct virq_lapic_ops, &o, dest_changed, short_ops);
	bad |= VIRQ_SIZE_ACCEPTED(0U, VIRQ_LAPIC_OPS_SIZE_MIN, struct virq_lapic_ops);
	bad |= VIRQ_SIZE_ACCEPTED(79U, VIRQ_LAPIC_OPS_SIZE_MIN, struct virq_lapic_ops);
	bad |= VIRQ_SIZE_ACCEPTED(81U, VIRQ_LAPIC_OPS_SIZE_MIN, struct virq_lapic_ops);
	bad |= !VIRQ_SIZE_ACCEPTED(80U, VIRQ_LAPIC_OPS_SIZE_MIN, struct virq_lapic_ops);
	/* A short config is copied up to its size; the rest reads zero. */
	memset(&src, 0xEE, sizeof(src));
	src.size = short_cfg;
	memset(&dst, 0xFF, sizeof(dst));
	VIRQ_SIZED_COPY(&dst, &src);
	bad |= dst.size != short_cfg || dst.apic_id != 0xEEEEEEEEU ||
	       dst.timer_tick_ps != 0xEEEEEEEEU || dst.tsc_khz != 0 || dst.timer_min_period_ns != 0;
	if (bad) {
		printf("size helpers of <virq/version.h> wrong\n");
		return 1;
	}

	/* The assertions above did the work; print the pinned values for the log. */
	printf("virq_pi_desc      %3zu bytes, align %2zu\n", sizeof(struct virq_pi_desc),
	       _Alignof(struct virq_pi_desc));
	printf("virq_lapic_state  %3zu bytes, align %2zu\n", sizeof(struct virq_lapic_state),
	       _Alignof(struct virq_lapic_state));
	printf("virq_apic_msg     %3zu bytes, align %2zu\n", sizeof(struct virq_apic_msg),
	       _Alignof(struct virq_apic_msg));
	printf("virq_lapic_config %3zu bytes, align %2zu\n", sizeof(struct virq_lapic_config),
	       _Alignof(struct virq_lapic_config));
	printf("virq_lapic_events %3zu bytes, align %2zu\n", sizeof(struct virq_lapic_events),
	       _Alignof(struct virq_lapic_events));
	printf("virq_lapic_ops    %3zu bytes, align %2zu\n", sizeof(struct virq_lapic_ops),
	       _Alignof(struct virq_lapic_ops));
	printf("virq_lapic        %3zu bytes, align %2zu\n", sizeof(struct virq_lapic),
	       _Alignof(struct virq_lapic));
	printf("virq_vcpu_state   %3zu bytes, align %2zu\n", sizeof(struct virq_vcpu_state),
	       _Alignof(struct virq_vcpu_state));
	printf("virq_vmx_vcpu     %3zu bytes, align %2zu\n", sizeof(struct virq_vmx_vcpu),
	       _Alignof(struct virq_vmx_vcpu));
	return 0;
}
