/* SPDX-License-Identifier: MIT */
/*
 * What the msi files share and nobody else sees: the VT-d IRTE field layout
 * (VT-d spec, IRTE for Remapped Interrupts and IRTE for Posted Interrupts).
 * An IRTE is read as two 64-bit words, irte[0] = bits 63:0 and irte[1] =
 * bits 127:64.
 */
#ifndef VIRQ_MSI_PRIV_H
#define VIRQ_MSI_PRIV_H

#include <virq/msi.h>
#include <virq/version.h>

/* ---- both formats, low word ---- */
#define IRTE_P (1ULL << 0)
#define IRTE_FPD (1ULL << 1)
#define IRTE_IM (1ULL << 15)
#define IRTE_VECTOR_SHIFT 16
#define IRTE_VECTOR_MASK 0xFFULL

/* ---- remapped format (IM = 0), low word ---- */
#define IRTE_DM (1ULL << 2)
#define IRTE_RH (1ULL << 3)
#define IRTE_TM (1ULL << 4)
#define IRTE_DLM_SHIFT 5
#define IRTE_DLM_MASK 0x7ULL
#define IRTE_DST_SHIFT 32
/* Bits 14:12 and 31:24. */
#define IRTE_REMAP_RSVD_LO 0x00000000FF007000ULL
/* xAPIC mode (EIME = 0): DST bits 7:0 and 31:16 (IRTE bits 39:32, 63:48). */
#define IRTE_REMAP_RSVD_LO_XAPIC 0xFFFF00FF00000000ULL

/* ---- posted format (IM = 1), low word ---- */
#define IRTE_URG (1ULL << 14)
/* Bits 7:2, 13:12 and 37:24. */
#define IRTE_POST_RSVD_LO 0x0000003FFF0030FCULL
#define IRTE_PDA_L_SHIFT 38 /* bits 63:38 = address bits 31:6 */

/* ---- high word (bits 127:64) ---- */
#define IRTE_SID_MASK 0xFFFFULL /* bits 79:64 */
#define IRTE_SQ_SHIFT 16        /* bits 81:80 */
#define IRTE_SVT_SHIFT 18       /* bits 83:82 */
/* Remapped: bits 127:84. Posted: bits 95:84 (127:96 = PDA_H). */
#define IRTE_REMAP_RSVD_HI 0xFFFFFFFFFFF00000ULL
#define IRTE_POST_RSVD_HI 0x00000000FFF00000ULL
#define IRTE_PDA_H_SHIFT 32

/* Source-validation types (VT-d spec, IRTE for Remapped Interrupts: SVT). */
#define IRTE_SVT_NONE 0U
#define IRTE_SVT_SID 1U
#define IRTE_SVT_BUS 2U

#endif /* VIRQ_MSI_PRIV_H */
