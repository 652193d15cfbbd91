/* SPDX-License-Identifier: MIT */
/*
 * The VMX glue's setup: the capability MSRs say which controls the CPU
 * allows (SDM Vol. 3C Appendix A.3 "VM-Execution Controls", A.4 "VM-Exit
 * Controls": bits 31:0 are the allowed 0-settings, a 1 there means the
 * control must be 1; bits 63:32 the allowed 1-settings), then the glue
 * writes the controls it owns.
 */
#include "vmx_glue.h"

#include <virq/vmx_pi.h>

#define VMX_F_ALL                                                                                  \
	(VIRQ_VMX_F_VIRTUAL_NMIS | VIRQ_VMX_F_ACK_INTR_ON_EXIT | VIRQ_VMX_F_UNRESTRICTED_GUEST |   \
	 VIRQ_VMX_F_POSTED_INTR | VIRQ_VMX_F_HOST_X2APIC | VIRQ_VMX_F_IPIV)
#define VCPU_OPT_ALL (VIRQ_VCPU_OPT_NMI_BLOCKING | VIRQ_VCPU_OPT_DF_SHUTDOWN_ANY)

static bool can_set(uint64_t cap, uint32_t bit)
{
	return ((cap >> 32) & bit) == bit;
}

static bool can_clear(uint64_t cap, uint32_t bit)
{
	return ((uint32_t)cap & bit) == 0;
}

/*
 * TPR shadow: "use TPR shadow" set, CR8-load and CR8-store exiting clear
 * (MOV to and from CR8 then use VTPR: SDM Vol. 3C "Virtualizing CR8-Based
 * TPR Accesses"). An APIC-access page: "virtualize APIC accesses", set in
 * xAPIC mode and clear in the others. APICv: APIC-register virtualization
 * and virtual-interrupt delivery, and "virtualize x2APIC mode", set in
 * x2APIC mode and clear in the others. The secondary controls' MSR
 * (A.3.3 "Secondary Processor-Based VM-Execution Controls") exists only
 * when "activate secondary controls" may be 1; all its bits may be 0.
 */
static uint32_t check_apic_caps(const struct virq_vmx_ops *ops, void *ctx, uint64_t proc,
				const struct virq_vmx_config *cfg)
{
	bool sec_ok = can_set(proc, VIRQ_VMX_PROC_SECONDARY_CTLS);
	uint64_t sec = 0;
	uint32_t missing = 0;

	if (!can_set(proc, VIRQ_VMX_PROC_USE_TPR_SHADOW) ||
	    !can_clear(proc, VIRQ_VMX_PROC_CR8_LOAD_EXITING | VIRQ_VMX_PROC_CR8_STORE_EXITING))
		missing |= VIRQ_VMX_MISSING_TPR_SHADOW;
	if (sec_ok && (cfg->apic_access_addr || cfg->level == VIRQ_VMX_LEVEL_APICV))
		sec = ops->rdmsr(ctx, VIRQ_MSR_IA32_VMX_PROCBASED_CTLS2);
	if (cfg->apic_access_addr && (!sec_ok || !can_set(sec, VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES) ||
				      !can_clear(sec, VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES)))
		missing |= VIRQ_VMX_MISSING_VIRT_APIC_ACCESSES;
	if (cfg->level != VIRQ_VMX_LEVEL_APICV)
		return missing;
	if (!sec_ok ||
	    !can_set(sec, VIRQ_VMX_PROC2_APIC_REG_VIRT | VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY))
		missing |= VIRQ_VMX_MISSING_APICV;
	if (!sec_ok || !can_set(sec, VIRQ_VMX_PROC2_VIRT_X2APIC_MODE) ||
	    !can_clear(sec, VIRQ_VMX_PROC2_VIRT_X2APIC_MODE))
		missing |= VIRQ_VMX_MISSING_VIRT_X2APIC;
	return missing;
}

/* SDM Vol. 3C A.3.1 "Pin-Based VM-Execution Controls" to A.3.2 "Primary
 * Processor-Based VM-Execution Controls", A.4 "VM-Exit Controls": with
 * IA32_VMX_BASIC bit 55 the TRUE_* MSRs report the controls of the
 * default-1 class that may be 0 too. */
static uint32_t check_caps(const struct virq_vmx_ops *ops, void *ctx, uint64_t basic,
			   const struct virq_vmx_config *cfg)
{
	uint32_t flags = cfg->flags;
	bool tru = (basic & VIRQ_VMX_BASIC_TRUE_CTLS) != 0;
	uint64_t pin = ops->rdmsr(ctx, tru ? VIRQ_MSR_IA32_VMX_TRUE_PINBASED_CTLS
					   : VIRQ_MSR_IA32_VMX_PINBASED_CTLS);
	uint64_t proc = ops->rdmsr(ctx, tru ? VIRQ_MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					    : VIRQ_MSR_IA32_VMX_PROCBASED_CTLS);
	uint32_t missing = 0;

	if (!can_set(pin, VIRQ_VMX_PIN_EXT_INTR_EXITING))
		missing |= VIRQ_VMX_MISSING_EXT_INTR_EXITING;
	/* Set while an interrupt waits, clear otherwise. */
	if (!can_set(proc, VIRQ_VMX_PROC_INTR_WINDOW_EXITING) ||
	    !can_clear(proc, VIRQ_VMX_PROC_INTR_WINDOW_EXITING))
		missing |= VIRQ_VMX_MISSING_INTR_WINDOW;
	if ((flags & VIRQ_VMX_F_VIRTUAL_NMIS) &&
	    (!can_set(pin, VIRQ_VMX_PIN_NMI_EXITING | VIRQ_VMX_PIN_VIRTUAL_NMIS) ||
	     !can_set(proc, VIRQ_VMX_PROC_NMI_WINDOW_EXITING) ||
	     !can_clear(proc, VIRQ_VMX_PROC_NMI_WINDOW_EXITING)))
		missing |= VIRQ_VMX_MISSING_VIRTUAL_NMIS;
	if (flags & VIRQ_VMX_F_ACK_INTR_ON_EXIT) {
		uint64_t ex = ops->rdmsr(ctx, tru ? VIRQ_MSR_IA32_VMX_TRUE_EXIT_CTLS
						  : VIRQ_MSR_IA32_VMX_EXIT_CTLS);

		if (!can_set(ex, VIRQ_VMX_EXIT_ACK_INTR_ON_EXIT))
			missing |= VIRQ_VMX_MISSING_ACK_INTR_ON_EXIT;
	}
	if (cfg->level >= VIRQ_VMX_LEVEL_TPR_SHADOW)
		missing |= check_apic_caps(ops, ctx, proc, cfg);
	if ((flags & VIRQ_VMX_F_POSTED_INTR) && !can_set(pin, VIRQ_VMX_PIN_POSTED_INTR))
		missing |= VIRQ_VMX_MISSING_POSTED_INTR;
	/* A.3.4 "Tertiary Processor-Based VM-Execution Controls": the MSR
	 * exists when "activate tertiary controls" may be 1 and holds the
	 * allowed 1-settings only (every bit may be 0). */
	if ((flags & VIRQ_VMX_F_IPIV) &&
	    (!can_set(proc, VIRQ_VMX_PROC_TERTIARY_CTLS) ||
	     !(ops->rdmsr(ctx, VIRQ_VMX_MSR_PROCBASED_CTLS3) & VIRQ_VMX_PROC3_IPI_VIRT)))
		missing |= VIRQ_VMX_MISSING_IPIV;
	return missing;
}

/* SDM 26.2.1.1 "VM-Execution Control Fields": both pages 4 KiB aligned;
 * the virtual-APIC page is the LAPIC's, so a LAPIC is needed from TPR
 * shadow on. */
static bool apic_cfg_ok(const struct virq_vmx_config *cfg, const struct virq_lapic *lapic)
{
	if (cfg->level == VIRQ_VMX_LEVEL_INJECT)
		return true;
	return lapic && cfg->virtual_apic_addr && !(cfg->virtual_apic_addr & 0xFFFU) &&
	       !(cfg->apic_access_addr & 0xFFFU);
}

/*
 * SDM Vol. 3C 26.2.1.1 "VM-Execution Control Fields": "process posted
 * interrupts" needs virtual-interrupt delivery and "acknowledge interrupt
 * on exit", a notification vector of 0-255 and a descriptor address with
 * bits 5:0 clear. Host policy on top: both vectors outside the exceptions
 * (32-255) and apart, a non-zero address. Without the flag the fields are
 * ignored; the reserved ones are zero always.
 */
static bool pi_cfg_ok(const struct virq_vmx_config *cfg)
{
	if (cfg->reserved4 ||
	    ((cfg->flags & VIRQ_VMX_F_HOST_X2APIC) && !(cfg->flags & VIRQ_VMX_F_POSTED_INTR)))
		return false;
	/* IPI virtualization posts into descriptors: it needs "process posted
	 * interrupts" (KVM enables it only with APICv and posted interrupts);
	 * the table's entries are 8 bytes, the table 8-byte aligned. */
	if (cfg->flags & VIRQ_VMX_F_IPIV) {
		if (!(cfg->flags & VIRQ_VMX_F_POSTED_INTR) || !cfg->ipiv_table_addr ||
		    (cfg->ipiv_table_addr & 0x7U))
			return false;
	} else if (cfg->ipiv_last_index || cfg->ipiv_table_addr) {
		return false;
	}
	if (!(cfg->flags & VIRQ_VMX_F_POSTED_INTR))
		return true;
	return cfg->level == VIRQ_VMX_LEVEL_APICV && (cfg->flags & VIRQ_VMX_F_ACK_INTR_ON_EXIT) &&
	       cfg->pi_vector >= 32 && cfg->pi_wakeup_vector >= 32 &&
	       cfg->pi_vector != cfg->pi_wakeup_vector && cfg->pi_desc_addr &&
	       !(cfg->pi_desc_addr & 0x3FU);
}

/* The x2APIC MSRs a guest in x2APIC mode reads from the virtual-APIC page
 * at APICv level (SDM Vol. 3C "Virtualizing MSR-Based APIC Accesses": the
 * CPU returns the 8 bytes at offset (ECX & 0xFF) << 4 for any ECX, so only
 * registers whose page bytes are exactly the MSR's value pass). Not
 * passed: ICR (0x830; the page keeps ICR high at 0x310, not 0x304),
 * current count (0x839; the page's is stale), the write-only EOI and
 * SELF IPI and every reserved MSR, which must \#GP. */
static bool x2apic_read_passes(const struct virq_vmx_vcpu *vx, uint32_t msr)
{
	uint32_t maxlvt;

	switch (msr) {
	case 0x802: /* ID */
	case 0x803: /* version */
	case 0x808: /* TPR */
	case 0x80A: /* PPR: the CPU keeps VPPR with virtual-interrupt delivery */
	case 0x80D: /* LDR */
	case 0x80F: /* SVR */
	case 0x828: /* ESR */
	case 0x838: /* initial count */
	case 0x83E: /* divide configuration */
		return true;
	case 0x82F: /* LVT CMCI, when the LAPIC has one */
		maxlvt = virq_lapic_read_reg(vx->lapic, VIRQ_LAPIC_REG_VERSION) >>
			 VIRQ_LAPIC_VERSION_MAXLVT_SHIFT;
		return (maxlvt & 0xFFU) >= 6U;
	default:
		/* ISR, TMR, IRR; LVT timer to error. */
		return (msr >= 0x810 && msr <= 0x827) || (msr >= 0x832 && msr <= 0x837);
	}
}

static void msr_bit(uint8_t *bm, uint32_t base, uint32_t msr, bool intercept)
{
	uint8_t *b = &bm[base + (msr >> 3)];
	uint8_t m = (uint8_t)(1U << (msr & 7U));

	*b = intercept ? (uint8_t)(*b | m) : (uint8_t)(*b & ~m);
}

/*
 * The bits of MSRs 0x800-0x8FF: every read and write exits, except in
 * x2APIC mode at APICv level, where the reads of the page's registers
 * (x2apic_read_passes) and the writes the CPU virtualizes with
 * virtual-interrupt delivery (TPR, EOI, SELF IPI; ICR with IPI
 * virtualization) pass. A pass-through
 * outside x2APIC mode would reach the host's own x2APIC (the "virtualize
 * x2APIC mode" control is clear then), as in CVE-2016-4440.
 */
static void msr_bitmap_fill(struct virq_vmx_vcpu *vx, enum virq_lapic_mode mode)
{
	uint8_t *bm = vx->msr_bitmap;

	virq_memset(&bm[VIRQ_VMX_MSR_BITMAP_READ_LOW + 0x100U], 0xFF, 32);
	virq_memset(&bm[VIRQ_VMX_MSR_BITMAP_WRITE_LOW + 0x100U], 0xFF, 32);
	if (vx->level != VIRQ_VMX_LEVEL_APICV || mode != VIRQ_LAPIC_MODE_X2APIC)
		return;
	for (uint32_t msr = 0x800; msr <= 0x8FF; msr++)
		if (x2apic_read_passes(vx, msr))
			msr_bit(bm, VIRQ_VMX_MSR_BITMAP_READ_LOW, msr, false);
	msr_bit(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x808, false);
	msr_bit(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x80B, false);
	msr_bit(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x83F, false);
	/* With IPI virtualization the CPU takes ICR writes: it posts the
	 * fixed physical ones, the rest are APIC-write exits at 300H with the
	 * 64-bit value in the page (virq_lapic_hw_write()). */
	if (vx->flags & VIRQ_VMX_F_IPIV)
		msr_bit(bm, VIRQ_VMX_MSR_BITMAP_WRITE_LOW, 0x830, false);
}

/*
 * "Virtualize APIC accesses" only in xAPIC mode, "virtualize x2APIC mode"
 * only in x2APIC mode (SDM 26.2.1.1 "VM-Execution Control Fields": never both): each virtualizes an
 * interface the guest's APIC decodes in that mode only. Disabled mode
 * gets neither.
 */
void vmx_follow_mode(struct virq_vmx_vcpu *vx, bool force)
{
	enum virq_lapic_mode mode = virq_lapic_get_mode(vx->lapic);
	uint32_t sec;

	if (!force && (uint8_t)mode == vx->mode)
		return;
	if (!force)
		vx->stats.mode_switches++;
	vx->mode = (uint8_t)mode;
	if (vmx_uses_secondary(vx)) {
		sec = vx->proc_ctls2 &
		      ~(VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES | VIRQ_VMX_PROC2_VIRT_X2APIC_MODE);
		if (mode == VIRQ_LAPIC_MODE_XAPIC && vx->apic_access_addr)
			sec |= VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES;
		if (mode == VIRQ_LAPIC_MODE_X2APIC && vx->level == VIRQ_VMX_LEVEL_APICV)
			sec |= VIRQ_VMX_PROC2_VIRT_X2APIC_MODE;
		if (force || sec != vx->proc_ctls2) {
			vx->proc_ctls2 = sec;
			vmx_write(vx, VIRQ_VMCS_PROC_BASED_CTLS2, sec);
		}
	}
	if (vx->msr_bitmap)
		msr_bitmap_fill(vx, mode);
}

/* TPR shadow and above: the primary and secondary controls, the page
 * addresses, the LAPIC's acceleration mode. */
static void init_apic(struct virq_vmx_vcpu *vx, const struct virq_vmx_config *cfg)
{
	vx->proc_ctls = (vx->proc_ctls | VIRQ_VMX_PROC_USE_TPR_SHADOW) &
			~(VIRQ_VMX_PROC_CR8_LOAD_EXITING | VIRQ_VMX_PROC_CR8_STORE_EXITING);
	if (vmx_uses_secondary(vx)) {
		vx->proc_ctls |= VIRQ_VMX_PROC_SECONDARY_CTLS;
		/* The embedder's secondary controls stay; ours are set below. */
		vx->proc_ctls2 =
			(uint32_t)vmx_read(vx, VIRQ_VMCS_PROC_BASED_CTLS2) &
			~(VIRQ_VMX_PROC2_VIRT_APIC_ACCESSES | VIRQ_VMX_PROC2_VIRT_X2APIC_MODE |
			  VIRQ_VMX_PROC2_APIC_REG_VIRT | VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY);
		if (vx->level == VIRQ_VMX_LEVEL_APICV)
			vx->proc_ctls2 |= VIRQ_VMX_PROC2_APIC_REG_VIRT |
					  VIRQ_VMX_PROC2_VIRT_INTR_DELIVERY;
	}
	vmx_write(vx, VIRQ_VMCS_VIRTUAL_APIC_ADDR, cfg->virtual_apic_addr);
	if (cfg->apic_access_addr)
		vmx_write(vx, VIRQ_VMCS_APIC_ACCESS_ADDR, cfg->apic_access_addr);
	(void)virq_lapic_set_accel(vx->lapic, vx->level == VIRQ_VMX_LEVEL_APICV
						      ? VIRQ_LAPIC_ACCEL_APICV
						      : VIRQ_LAPIC_ACCEL_TPR_SHADOW);
}

/*
 * Posted interrupts: the notification vector and the descriptor's address
 * in the VMCS; the descriptor itself notifies with the same vector, and
 * starts suppressed (SN set, state preempted, as KVM's vCPU creation does)
 * until virq_vmx_pi_load() names the physical CPU. Posts made before
 * stay in PIR: the first entry folds them.
 */
static void init_pi(struct virq_vmx_vcpu *vx, const struct virq_vmx_config *cfg)
{
	uint64_t ctrl = virq_atomic_load64(&vx->lapic->pi.control);

	vx->pi_vector = cfg->pi_vector;
	vx->pi_wakeup = cfg->pi_wakeup_vector;
	vmx_write(vx, VIRQ_VMCS_POSTED_INTR_NV, cfg->pi_vector);
	vmx_write(vx, VIRQ_VMCS_POSTED_INTR_DESC_ADDR, cfg->pi_desc_addr);
	(void)virq_pi_set_sn(&vx->lapic->pi, true);
	virq_pi_set_notification(&vx->lapic->pi, cfg->pi_vector,
				 (uint32_t)((ctrl & VIRQ_PI_CTRL_NDST_MASK) >>
					    VIRQ_PI_CTRL_NDST_SHIFT));
	virq_atomic_store32(&vx->pi_state, VIRQ_VMX_PI_PREEMPTED);
}

/*
 * IPI virtualization (SDM Vol. 3C "IPI Virtualization"): "activate
 * tertiary controls" in the primary controls (written by the caller with
 * the rest), the tertiary control on top of the embedder's bits, the
 * table and its last index. The MSR bitmap follows the mode
 * (msr_bitmap_fill()).
 */
static void init_ipiv(struct virq_vmx_vcpu *vx, const struct virq_vmx_config *cfg)
{
	vx->proc_ctls |= VIRQ_VMX_PROC_TERTIARY_CTLS;
	vmx_write(vx, VIRQ_VMCS_TERTIARY_PROC_BASED_CTLS,
		  vmx_read(vx, VIRQ_VMCS_TERTIARY_PROC_BASED_CTLS) | VIRQ_VMX_PROC3_IPI_VIRT);
	vmx_write(vx, VIRQ_VMCS_PID_POINTER_TABLE, cfg->ipiv_table_addr);
	vmx_write(vx, VIRQ_VMCS_LAST_PID_POINTER_INDEX, cfg->ipiv_last_index);
}

VIRQ_API int virq_vmx_vcpu_init(struct virq_vmx_vcpu *vx, struct virq_vcpu *policy,
				struct virq_lapic *lapic, const struct virq_vmx_ops *ops, void *ctx,
				const struct virq_vmx_config *cfg)
{
	struct virq_vmx_config c;
	uint32_t opts, pin;
	uint64_t basic;

	if (!vx || !policy || !ops || !cfg)
		return -VIRQ_EINVAL;
	/* The sizes first: nothing past them is the caller's. */
	if (!VIRQ_SIZE_ACCEPTED(cfg->size, VIRQ_VMX_CONFIG_SIZE_MIN, struct virq_vmx_config) ||
	    !VIRQ_SIZE_ACCEPTED(ops->size, VIRQ_VMX_OPS_SIZE_MIN, struct virq_vmx_ops))
		return -VIRQ_EVERSION;
	VIRQ_SIZED_COPY(&c, cfg);
	cfg = &c;
	if (ops->reserved || !ops->vmread || !ops->vmwrite || !ops->rdmsr ||
	    (ops->read_gpr && !ops->write_gpr) || (cfg->flags & ~VMX_F_ALL) ||
	    (cfg->vcpu_options & ~VCPU_OPT_ALL) || cfg->level > VIRQ_VMX_LEVEL_APICV ||
	    cfg->reserved || cfg->reserved2 || !apic_cfg_ok(cfg, lapic) || !pi_cfg_ok(cfg))
		return -VIRQ_EINVAL;
	virq_memset(vx, 0, sizeof(*vx));
	basic = ops->rdmsr(ctx, VIRQ_MSR_IA32_VMX_BASIC);
	if (cfg->level >= VIRQ_VMX_LEVEL_TPR_SHADOW && (basic & VIRQ_VMX_BASIC_ADDR_32BIT) &&
	    ((cfg->virtual_apic_addr | cfg->apic_access_addr) >> 32))
		return -VIRQ_EINVAL; /* SDM 26.2.1.1 "VM-Execution Control Fields": within the
		                      * address width */
	if ((cfg->flags & VIRQ_VMX_F_POSTED_INTR) && (basic & VIRQ_VMX_BASIC_ADDR_32BIT) &&
	    ((cfg->pi_desc_addr | cfg->ipiv_table_addr) >> 32))
		return -VIRQ_EINVAL;
	vx->missing = check_caps(ops, ctx, basic, cfg);
	if (vx->missing)
		return -VIRQ_ENOTSUP;

	/* Validated: from here on nothing fails. */
	vx->ops = ops;
	vx->ctx = ctx;
	vx->policy = policy;
	vx->lapic = lapic;
	vx->basic = basic;
	vx->misc = ops->rdmsr(ctx, VIRQ_MSR_IA32_VMX_MISC);
	vx->flags = cfg->flags;
	opts = cfg->vcpu_options;
	if (!(cfg->flags & VIRQ_VMX_F_VIRTUAL_NMIS))
		opts |= VIRQ_VCPU_OPT_NMI_BLOCKING; /* vcpu.h "NMI blocking" */
	(void)virq_vcpu_set_options(policy, opts);

	pin = (uint32_t)vmx_read(vx, VIRQ_VMCS_PIN_BASED_CTLS) | VIRQ_VMX_PIN_EXT_INTR_EXITING;
	if (cfg->flags & VIRQ_VMX_F_VIRTUAL_NMIS)
		pin |= VIRQ_VMX_PIN_NMI_EXITING | VIRQ_VMX_PIN_VIRTUAL_NMIS;
	else
		pin &= ~VIRQ_VMX_PIN_VIRTUAL_NMIS;
	if (cfg->flags & VIRQ_VMX_F_POSTED_INTR)
		pin |= VIRQ_VMX_PIN_POSTED_INTR;
	else
		pin &= ~VIRQ_VMX_PIN_POSTED_INTR;
	vmx_write(vx, VIRQ_VMCS_PIN_BASED_CTLS, pin);
	if (cfg->flags & VIRQ_VMX_F_POSTED_INTR)
		init_pi(vx, cfg);
	if (cfg->flags & VIRQ_VMX_F_ACK_INTR_ON_EXIT)
		vmx_write(vx, VIRQ_VMCS_EXIT_CTLS,
			  vmx_read(vx, VIRQ_VMCS_EXIT_CTLS) | VIRQ_VMX_EXIT_ACK_INTR_ON_EXIT);
	vx->proc_ctls = (uint32_t)vmx_read(vx, VIRQ_VMCS_PROC_BASED_CTLS) &
			~(VIRQ_VMX_PROC_INTR_WINDOW_EXITING | VIRQ_VMX_PROC_NMI_WINDOW_EXITING);
	if (cfg->flags & VIRQ_VMX_F_IPIV)
		init_ipiv(vx, cfg);
	vx->level = (uint8_t)cfg->level;
	vx->msr_bitmap = cfg->msr_bitmap;
	if (cfg->level >= VIRQ_VMX_LEVEL_TPR_SHADOW) {
		vx->apic_access_addr = cfg->apic_access_addr;
		init_apic(vx, cfg);
	}
	vmx_write(vx, VIRQ_VMCS_PROC_BASED_CTLS, vx->proc_ctls);
	if (cfg->level >= VIRQ_VMX_LEVEL_TPR_SHADOW)
		vmx_follow_mode(vx, true);
	else if (vx->msr_bitmap)
		msr_bitmap_fill(vx, VIRQ_LAPIC_MODE_DISABLED); /* all exit */
	return 0;
}

VIRQ_API uint32_t virq_vmx_missing(const struct virq_vmx_vcpu *vx)
{
	return vx ? vx->missing : 0;
}

VIRQ_API const struct virq_vmx_stats *virq_vmx_get_stats(const struct virq_vmx_vcpu *vx)
{
	return &vx->stats;
}
