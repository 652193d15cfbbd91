/* SPDX-License-Identifier: MIT */
/**
 * @file regs/vmx.h
 * @brief VMX architectural constants the VMX glue uses: VMCS field
 *        encodings, control bits, capability MSRs, interruption
 *        information, interruptibility state, exit reasons.
 *
 * Names follow the SDM (Vol. 3C, the VMCS chapter and Appendices A-C),
 * prefixed VIRQ_VMCS_ for field encodings and VIRQ_VMX_ for the rest.
 * The TPR-shadow and APICv levels (<virq/vmx.h>) use the APIC
 * virtualization fields and controls (SDM Vol. 3C, "APIC Virtualization
 * and Virtual Interrupts").
 */
#ifndef VIRQ_REGS_VMX_H
#define VIRQ_REGS_VMX_H

#include <virq/platform.h>

/** @name VMCS field encodings (SDM Vol. 3C Appendix B "Field Encoding in VMCS")
 * @{ */
#define VIRQ_VMCS_PIN_BASED_CTLS 0x4000U           /**< Pin-based VM-execution controls. */
#define VIRQ_VMCS_PROC_BASED_CTLS 0x4002U          /**< Primary processor-based controls. */
#define VIRQ_VMCS_EXCEPTION_BITMAP 0x4004U         /**< Exception bitmap. */
#define VIRQ_VMCS_EXIT_CTLS 0x400CU                /**< VM-exit controls. */
#define VIRQ_VMCS_ENTRY_CTLS 0x4012U               /**< VM-entry controls. */
#define VIRQ_VMCS_ENTRY_INTR_INFO 0x4016U          /**< VM-entry interruption-information. */
#define VIRQ_VMCS_ENTRY_EXC_ERROR_CODE 0x4018U     /**< VM-entry exception error code. */
#define VIRQ_VMCS_ENTRY_INSN_LEN 0x401AU           /**< VM-entry instruction length. */
#define VIRQ_VMCS_TPR_THRESHOLD 0x401CU            /**< TPR threshold. */
#define VIRQ_VMCS_PROC_BASED_CTLS2 0x401EU         /**< Secondary processor-based controls. */
#define VIRQ_VMCS_VM_INSN_ERROR 0x4400U            /**< VM-instruction error. */
#define VIRQ_VMCS_EXIT_REASON 0x4402U              /**< Exit reason. */
#define VIRQ_VMCS_EXIT_INTR_INFO 0x4404U           /**< VM-exit interruption information. */
#define VIRQ_VMCS_EXIT_INTR_ERROR_CODE 0x4406U     /**< VM-exit interruption error code. */
#define VIRQ_VMCS_IDT_VECTORING_INFO 0x4408U       /**< IDT-vectoring information. */
#define VIRQ_VMCS_IDT_VECTORING_ERROR_CODE 0x440AU /**< IDT-vectoring error code. */
#define VIRQ_VMCS_EXIT_INSN_LEN 0x440CU            /**< VM-exit instruction length. */
#define VIRQ_VMCS_GUEST_INTERRUPTIBILITY 0x4824U   /**< Guest interruptibility state. */
#define VIRQ_VMCS_GUEST_ACTIVITY_STATE 0x4826U     /**< Guest activity state. */
#define VIRQ_VMCS_EXIT_QUALIFICATION 0x6400U       /**< Exit qualification. */
#define VIRQ_VMCS_GUEST_CR0 0x6800U                /**< Guest CR0. */
#define VIRQ_VMCS_GUEST_RIP 0x681EU                /**< Guest RIP. */
#define VIRQ_VMCS_GUEST_RFLAGS 0x6820U             /**< Guest RFLAGS. */
#define VIRQ_VMCS_GUEST_INTR_STATUS 0x0810U /**< Guest interrupt status: RVI 7:0, SVI 15:8. */
#define VIRQ_VMCS_MSR_BITMAP_ADDR 0x2004U   /**< MSR-bitmap address (the embedder's). */
#define VIRQ_VMCS_VIRTUAL_APIC_ADDR 0x2012U /**< Virtual-APIC address. */
#define VIRQ_VMCS_APIC_ACCESS_ADDR 0x2014U  /**< APIC-access address. */
#define VIRQ_VMCS_EOI_EXIT_BITMAP0 0x201CU  /**< EOI-exit bitmap 0 (vectors 0-63). */
#define VIRQ_VMCS_EOI_EXIT_BITMAP1 0x201EU  /**< EOI-exit bitmap 1 (vectors 64-127). */
#define VIRQ_VMCS_EOI_EXIT_BITMAP2 0x2020U  /**< EOI-exit bitmap 2 (vectors 128-191). */
#define VIRQ_VMCS_EOI_EXIT_BITMAP3 0x2022U  /**< EOI-exit bitmap 3 (vectors 192-255). */
/** @} */

/** @name Control bits
 *  (SDM Vol. 3C 24.6.1 "Pin-Based VM-Execution Controls", 24.6.2
 *  "Processor-Based VM-Execution Controls", 24.7.1 "VM-Exit Controls",
 *  24.8.1 "VM-Entry Controls")
 * @{ */
#define VIRQ_VMX_PIN_EXT_INTR_EXITING (1U << 0)     /**< Pin-based: external-interrupt exiting. */
#define VIRQ_VMX_PIN_NMI_EXITING (1U << 3)          /**< Pin-based: NMI exiting. */
#define VIRQ_VMX_PIN_VIRTUAL_NMIS (1U << 5)         /**< Pin-based: virtual NMIs. */
#define VIRQ_VMX_PROC_INTR_WINDOW_EXITING (1U << 2) /**< Primary: interrupt-window exiting. */
#define VIRQ_VMX_PROC_HLT_EXITING (1U << 7)         /**< Primary: HLT exiting. */
#define VIRQ_VMX_PROC_CR8_LOAD_EXITING (1U << 19)   /**< Primary: CR8-load exiting. */
#define VIRQ_VMX_PROC_CR8_STORE_EXITING (1U << 20)  /**< Primary: CR8-store exiting. */
#define VIRQ_VMX_PROC_USE_TPR_SHADOW (1U << 21)     /**< Primary: use TPR shadow. */
#define VIRQ_VMX_PROC_NMI_WINDOW_EXITING (1U << 22) /**< Primary: NMI-window exiting. */
#define VIRQ_VMX_PROC_MONITOR_TRAP_FLAG (1U << 27)  /**< Primary: monitor trap flag. */
#define VIRQ_VMX_PROC_USE_MSR_BITMAPS (1U << 28)    /**< Primary: use MSR bitmaps. */
#define VIRQ_VMX_PROC_SECONDARY_CTLS (1U << 31)     /**< Primary: activate secondary controls. */
#define VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES (1U << 0) /**< Secondary: virtualize APIC accesses. */
#define VIRQ_VMX_PROC2_VIRT_X2APIC_MODE (1U << 4)   /**< Secondary: virtualize x2APIC mode. */
#define VIRQ_VMX_PROC2_UNRESTRICTED_GUEST (1U << 7) /**< Secondary: unrestricted guest. */
#define VIRQ_VMX_PROC2_APIC_REG_VIRT (1U << 8)      /**< Secondary: APIC-register virtualization. */
#define VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY (1U << 9) /**< Secondary: virtual-interrupt delivery. */
#define VIRQ_VMX_EXIT_ACK_INTR_ON_EXIT (1U << 15)   /**< VM-exit: acknowledge interrupt on exit. */
/** @} */

/** @name Capability MSRs and their bits
 *  (SDM Vol. 3C Appendix A "VMX Capability Reporting Facility")
 * @{ */
#define VIRQ_MSR_IA32_VMX_BASIC 0x480U               /**< IA32_VMX_BASIC. */
#define VIRQ_MSR_IA32_VMX_PINBASED_CTLS 0x481U       /**< Allowed pin-based settings. */
#define VIRQ_MSR_IA32_VMX_PROCBASED_CTLS 0x482U      /**< Allowed primary settings. */
#define VIRQ_MSR_IA32_VMX_EXIT_CTLS 0x483U           /**< Allowed VM-exit control settings. */
#define VIRQ_MSR_IA32_VMX_MISC 0x485U                /**< IA32_VMX_MISC. */
#define VIRQ_MSR_IA32_VMX_PROCBASED_CTLS2 0x48BU     /**< Allowed secondary settings. */
#define VIRQ_MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48DU  /**< TRUE pin-based (BASIC bit 55). */
#define VIRQ_MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48EU /**< TRUE primary (BASIC bit 55). */
#define VIRQ_MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48FU      /**< TRUE VM-exit (BASIC bit 55). */
#define VIRQ_VMX_BASIC_ADDR_32BIT (1ULL << 48)       /**< BASIC: VMX addresses below 4 GiB. */
#define VIRQ_VMX_BASIC_TRUE_CTLS (1ULL << 55)        /**< BASIC: the TRUE_* MSRs exist. */
#define VIRQ_VMX_BASIC_NO_HW_ERROR_CODE (1ULL << 56) /**< BASIC: any type-3 error code. */
#define VIRQ_VMX_MISC_ZERO_LEN_INJECT (1ULL << 30)   /**< MISC: instruction length 0 allowed. */
/** @} */

/** @name MSR bitmap (SDM Vol. 3C 24.6.9 "MSR-Bitmap Address"): bit (msr & 0x1FFF)
 *        of the part for its range and direction; 1 = the access exits
 * @{ */
#define VIRQ_VMX_MSR_BITMAP_SIZE 4096U        /**< One 4 KiB page. */
#define VIRQ_VMX_MSR_BITMAP_READ_LOW 0x000U   /**< Reads of MSRs 0-0x1FFF. */
#define VIRQ_VMX_MSR_BITMAP_READ_HIGH 0x400U  /**< Reads of MSRs 0xC0000000-0xC0001FFF. */
#define VIRQ_VMX_MSR_BITMAP_WRITE_LOW 0x800U  /**< Writes of MSRs 0-0x1FFF. */
#define VIRQ_VMX_MSR_BITMAP_WRITE_HIGH 0xC00U /**< Writes of MSRs 0xC0000000-0xC0001FFF. */
/** @} */

/** @name Interruption information (entry 0x4016, exit 0x4404, IDT-vectoring 0x4408;
 *        SDM Vol. 3C 24.8.3 "VM-Entry Controls for Event Injection",
 *        24.9.2 "Information for VM Exits Due to Vectored Events",
 *        24.9.3 "Information for VM Exits That Occur During Event
 *        Delivery")
 * @{ */
#define VIRQ_VMX_INTR_VECTOR_MASK 0xFFU           /**< Bits 7:0: vector. */
#define VIRQ_VMX_INTR_TYPE_SHIFT 8U               /**< Bits 10:8: ::virq_vcpu_event_type. */
#define VIRQ_VMX_INTR_TYPE_MASK (7U << 8)         /**< Interruption type field. */
#define VIRQ_VMX_INTR_TYPE_OTHER 7U               /**< Type 7: other event (MTF). */
#define VIRQ_VMX_INTR_ERROR_CODE (1U << 11)       /**< Deliver / valid error code. */
#define VIRQ_VMX_INTR_NMI_UNBLOCK_IRET (1U << 12) /**< Exit info: NMI unblocking due to IRET. */
#define VIRQ_VMX_INTR_ENTRY_RESERVED 0x7FFFF000U  /**< Entry info bits 30:12, zero. */
#define VIRQ_VMX_INTR_VALID (1U << 31)            /**< Valid. */
/** @} */

/** @name Guest interruptibility state
 *  (0x4824; SDM Vol. 3C 24.4.2 "Guest Non-Register State") and RFLAGS
 * @{ */
#define VIRQ_VMX_INTERRUPTIBILITY_STI (1U << 0)    /**< Blocking by STI. */
#define VIRQ_VMX_INTERRUPTIBILITY_MOV_SS (1U << 1) /**< Blocking by MOV SS. */
#define VIRQ_VMX_INTERRUPTIBILITY_SMI (1U << 2)    /**< Blocking by SMI. */
#define VIRQ_VMX_INTERRUPTIBILITY_NMI (1U << 3)    /**< Blocking by (virtual) NMI. */
#define VIRQ_VMX_ACTIVITY_ACTIVE 0U                /**< Activity state: active. */
#define VIRQ_VMX_ACTIVITY_HLT 1U                   /**< Activity state: HLT. */
#define VIRQ_VMX_ACTIVITY_SHUTDOWN 2U              /**< Activity state: shutdown. */
#define VIRQ_VMX_ACTIVITY_WAIT_SIPI 3U             /**< Activity state: wait-for-SIPI. */
#define VIRQ_VMX_RFLAGS_IF (1ULL << 9)             /**< RFLAGS.IF. */
#define VIRQ_VMX_CR0_PE (1ULL << 0)                /**< CR0.PE. */
/** @} */

/** @name Basic exit reasons (bits 15:0 of 0x4402; SDM Vol. 3C Appendix C "VMX Basic Exit Reasons")
 * @{ */
#define VIRQ_VMX_EXIT_REASON_EXCEPTION_NMI 0U         /**< Exception or NMI. */
#define VIRQ_VMX_EXIT_REASON_EXT_INTR 1U              /**< External interrupt. */
#define VIRQ_VMX_EXIT_REASON_TRIPLE_FAULT 2U          /**< Triple fault. */
#define VIRQ_VMX_EXIT_REASON_INTR_WINDOW 7U           /**< Interrupt window. */
#define VIRQ_VMX_EXIT_REASON_NMI_WINDOW 8U            /**< NMI window. */
#define VIRQ_VMX_EXIT_REASON_HLT 12U                  /**< HLT. */
#define VIRQ_VMX_EXIT_REASON_RDMSR 31U                /**< RDMSR. */
#define VIRQ_VMX_EXIT_REASON_WRMSR 32U                /**< WRMSR. */
#define VIRQ_VMX_EXIT_REASON_TPR_BELOW_THRESHOLD 43U  /**< TPR below threshold. */
#define VIRQ_VMX_EXIT_REASON_APIC_ACCESS 44U          /**< APIC access. */
#define VIRQ_VMX_EXIT_REASON_VIRTUALIZED_EOI 45U      /**< Virtualized EOI (EOI-induced). */
#define VIRQ_VMX_EXIT_REASON_EPT_VIOLATION 48U        /**< EPT violation. */
#define VIRQ_VMX_EXIT_REASON_APIC_WRITE 56U           /**< APIC write. */
#define VIRQ_VMX_EXIT_REASON_ENTRY_FAILURE (1U << 31) /**< Bit 31: VM-entry failure. */
/** @} */

/** @name Posted-interrupt processing (SDM Vol. 3C "Posted-Interrupt Processing")
 * @{ */
#define VIRQ_VMCS_POSTED_INTR_NV 0x0002U        /**< Posted-interrupt notification vector. */
#define VIRQ_VMCS_POSTED_INTR_DESC_ADDR 0x2016U /**< Posted-interrupt descriptor address. */
#define VIRQ_VMX_PIN_POSTED_INTR (1U << 7)      /**< Pin-based: process posted interrupts. */
/** @} */

/** @name IPI virtualization (SDM Vol. 3C 25.6.2 "Processor-Based VM-Execution Controls",
 *  30.1.6 "IPI Virtualization"; the table itself: <virq/ipiv.h>)
 * @{ */
#define VIRQ_VMCS_LAST_PID_POINTER_INDEX 0x0008U   /**< Last PID-pointer index (16 bits). */
#define VIRQ_VMCS_TERTIARY_PROC_BASED_CTLS 0x2034U /**< Tertiary processor-based controls. */
#define VIRQ_VMCS_PID_POINTER_TABLE 0x2042U        /**< PID-pointer table address. */
#define VIRQ_VMX_PROC_TERTIARY_CTLS (1U << 17)     /**< Primary: activate tertiary controls. */
#define VIRQ_VMX_PROC3_IPI_VIRT (1ULL << 4)        /**< Tertiary: IPI virtualization. */
#define VIRQ_VMX_MSR_PROCBASED_CTLS3 0x492U        /**< IA32_VMX_PROCBASED_CTLS3 (allowed 1s). */
/** @} */

#endif /* VIRQ_REGS_VMX_H */
