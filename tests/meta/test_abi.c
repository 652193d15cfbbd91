/* SPDX-License-Identifier: MIT */
/*
 * ABI pins: sizes, alignments and field offsets of the public structs.
 *
 * Every check here is a compile-time assertion, so an ABI change breaks the
 * build of this test until someone updates the number on purpose (and bumps
 * VIRQ_LAPIC_STATE_VERSION or the soversion when the change demands it).
 * Layouts fixed by hardware (the posted-interrupt descriptor) or by the
 * save/restore format (struct virq_lapic_state) must never move; the
 * others are pinned so that a change is at least deliberate.
 *
 * The numbers are for x86-64 (LP64), the only target the library models.
 */
#include <virq/lapic.h>
#include <virq/msg.h>
#include <virq/pi.h>
#include <virq/pic.h>
#include <virq/vcpu.h>
#include <virq/version.h>
#include <virq/vmx.h>

#include <stdio.h>

#define PIN_SIZE(type, size, align)                                                                \
	VIRQ_STATIC_ASSERT(sizeof(type) == (size), "sizeof(" #type ") changed");                   \
	VIRQ_STATIC_ASSERT(_Alignof(type) == (align), "alignof(" #type ") changed")

#define PIN_OFF(type, field, off)                                                                  \
	VIRQ_STATIC_ASSERT(offsetof(type, field) == (off),                                         \
			   "offsetof(" #type ", " #field ") changed")

/* VT-x posted-interrupt descriptor (SDM 3C 30.6): fixed by hardware. */
PIN_SIZE(struct virq_pi_desc, 64, 64);
PIN_OFF(struct virq_pi_desc, pir, 0);
PIN_OFF(struct virq_pi_desc, control, 32);
PIN_OFF(struct virq_pi_desc, sw, 40);
VIRQ_STATIC_ASSERT(VIRQ_PI_CTRL_ON == 1ULL << (256 - 256), "ON is bit 256");
VIRQ_STATIC_ASSERT(VIRQ_PI_CTRL_SN == 1ULL << (257 - 256), "SN is bit 257");
VIRQ_STATIC_ASSERT(VIRQ_PI_CTRL_NV_SHIFT == 272 - 256, "NV is bits 279:272");
VIRQ_STATIC_ASSERT(VIRQ_PI_CTRL_NDST_SHIFT == 288 - 256, "NDST is bits 319:288");

/* Save/restore format, version 3 (version 1 had `reserved` where
 * lint_vectors is; version 2 had bit 8 of events reserved; same layout):
 * a layout change needs a new version. */
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_STATE_VERSION == 3U, "state version changed: re-pin the layout");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_STATE_EV_NMI2 == 1U << 8, "the saved second NMI is events bit 8");
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

/* LAPIC configuration, as the embedder fills it in. */
PIN_SIZE(struct virq_lapic_config, 24, 4);
PIN_OFF(struct virq_lapic_config, apic_id, 0);
PIN_OFF(struct virq_lapic_config, bsp, 4);
PIN_OFF(struct virq_lapic_config, x2apic, 5);
PIN_OFF(struct virq_lapic_config, tsc_deadline, 6);
PIN_OFF(struct virq_lapic_config, directed_eoi, 7);
PIN_OFF(struct virq_lapic_config, xapic_id_writable, 8);
PIN_OFF(struct virq_lapic_config, version, 9);
PIN_OFF(struct virq_lapic_config, max_lvt, 10);
PIN_OFF(struct virq_lapic_config, phys_addr_bits, 11);
PIN_OFF(struct virq_lapic_config, timer_tick_ps, 12);
PIN_OFF(struct virq_lapic_config, tsc_khz, 16);
PIN_OFF(struct virq_lapic_config, timer_min_period_ns, 20);

/* Events handed to the vCPU loop. nmi_count took a byte of the former
 * padding: the size, and what older callers read, stay. */
PIN_SIZE(struct virq_lapic_events, 8, 4);
PIN_OFF(struct virq_lapic_events, flags, 0);
PIN_OFF(struct virq_lapic_events, sipi_vector, 4);
PIN_OFF(struct virq_lapic_events, nmi_count, 5);

/* Ops table: hooks are only ever appended (doc/style.md), so offsets stay. */
PIN_SIZE(struct virq_lapic_ops, 72, 8);
PIN_OFF(struct virq_lapic_ops, kick, 0);
PIN_OFF(struct virq_lapic_ops, now_ns, 8);
PIN_OFF(struct virq_lapic_ops, timer_arm, 16);
PIN_OFF(struct virq_lapic_ops, timer_cancel, 24);
PIN_OFF(struct virq_lapic_ops, send_ipi, 32);
PIN_OFF(struct virq_lapic_ops, eoi_level, 40);
PIN_OFF(struct virq_lapic_ops, guest_error, 48);
PIN_OFF(struct virq_lapic_ops, guest_tsc, 56);
PIN_OFF(struct virq_lapic_ops, dest_changed, 64);

/* The LAPIC object: caller-allocated, so its size is ABI too. */
PIN_SIZE(struct virq_lapic, 320, 64); /* 256 until the APIC-write record (hw_snap) */
PIN_OFF(struct virq_lapic, pi, 0);

/* Register page offsets a VT-x virtual-APIC page shares (SDM 3C 30.1). */
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_PAGE_SIZE == 4096U, "register page is 4 KiB");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_TPR == 0x80U, "TPR offset");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_PPR == 0xA0U, "PPR offset");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_ISR == 0x100U, "ISR offset");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_TMR == 0x180U, "TMR offset");
VIRQ_STATIC_ASSERT(VIRQ_LAPIC_REG_IRR == 0x200U, "IRR offset");

/* ---- 8259A pair + ELCR (lib/pic) ---- */

/* Save/restore format, version 2 (version 1 had `reserved` where `line` is). */
VIRQ_STATIC_ASSERT(VIRQ_PIC_STATE_VERSION == 2U, "PIC state version changed: re-pin the layout");
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

/* Ops table (hooks only appended) and the caller-allocated pair. */
PIN_SIZE(struct virq_pic_ops, 16, 8);
PIN_OFF(struct virq_pic_ops, intr, 0);
PIN_OFF(struct virq_pic_ops, guest_error, 8);
PIN_SIZE(struct virq_pic, 48, 8);

/* vCPU policy: the event (the VMX injection fields, CR2 payload) and the
 * save/restore format, version 1: a layout change needs a new version. */
VIRQ_STATIC_ASSERT(VIRQ_VCPU_STATE_VERSION == 1U, "state version changed: re-pin the layout");
PIN_SIZE(struct virq_vcpu_event, 16, 8);
PIN_OFF(struct virq_vcpu_event, type, 0);
PIN_OFF(struct virq_vcpu_event, vector, 1);
PIN_OFF(struct virq_vcpu_event, has_error, 2);
PIN_OFF(struct virq_vcpu_event, insn_len, 3);
PIN_OFF(struct virq_vcpu_event, error_code, 4);
PIN_OFF(struct virq_vcpu_event, payload, 8);
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

/* The VMX glue's embedder-facing structs, and the SDM's encodings it
 * names (SDM Vol. 3C Appendix B, 24.8.3). */
PIN_SIZE(struct virq_vmx_ops, 48, 8);
PIN_SIZE(struct virq_vmx_config, 40, 8);
PIN_OFF(struct virq_vmx_config, virtual_apic_addr, 16);
PIN_OFF(struct virq_vmx_config, apic_access_addr, 24);
PIN_OFF(struct virq_vmx_config, msr_bitmap, 32);
PIN_SIZE(struct virq_vmx_entry, 40, 8);
PIN_OFF(struct virq_vmx_entry, cr2, 8);
PIN_OFF(struct virq_vmx_entry, decision, 16);
PIN_SIZE(struct virq_vmx_exit, 24, 8);
PIN_OFF(struct virq_vmx_exit, apic_offset, 8);
PIN_OFF(struct virq_vmx_exit, qualification, 16);
PIN_SIZE(struct virq_vmx_check_env, 72, 8);
PIN_OFF(struct virq_vmx_check_env, proc_ctls, 44);
PIN_OFF(struct virq_vmx_check_env, virtual_apic_addr, 56);
VIRQ_STATIC_ASSERT(VIRQ_VMCS_ENTRY_INTR_INFO == 0x4016U &&
			   VIRQ_VMCS_ENTRY_EXC_ERROR_CODE == 0x4018U &&
			   VIRQ_VMCS_ENTRY_INSN_LEN == 0x401AU &&
			   VIRQ_VMCS_IDT_VECTORING_INFO == 0x4408U &&
			   VIRQ_VMCS_GUEST_INTERRUPTIBILITY == 0x4824U,
		   "VMCS field encodings");

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
