/* SPDX-License-Identifier: MIT */
/**
 * @file virq.h
 * @brief Umbrella header: includes every public libvirq header.
 */
#ifndef VIRQ_VIRQ_H
#define VIRQ_VIRQ_H

#include <virq/error.h>
#include <virq/ioapic.h>
#include <virq/ipiv.h>
#include <virq/lapic.h>
#include <virq/msi.h>
#include <virq/msg.h>
#include <virq/passthrough.h>
#include <virq/pi.h>
#include <virq/pic.h>
#include <virq/platform.h>
#include <virq/regs/lapic.h>
#include <virq/regs/vmx.h>
#include <virq/uintr.h>
#include <virq/version.h>
#include <virq/vcpu.h>
#include <virq/vm.h>
#include <virq/vmx.h>
#include <virq/vmx_pi.h>

#endif /* VIRQ_VIRQ_H */
