/* SPDX-License-Identifier: MIT */
/*
 * A "kernel" that links libvirq.a statically and has functions of its own
 * named like the library's internal ones: pic_update and pic_prio (lib/pic),
 * lapic_set_error and lapic_send_icr (lib/lapic), ioapic_request
 * (lib/ioapic), vm_map_update (lib/vm). Against the archive as compiled
 * (libvirq-internal.a, where those are global) the link fails with
 * "multiple definition"; against libvirq.a, where only virq_ is global, it
 * links, and each side keeps its own functions: the kernel's return what
 * the kernel's do and are called only by the kernel, and the library's
 * controllers still do their work through their own internals (an 8259
 * that raises INTR and resolves priorities, an ICR that sends and flags an
 * illegal vector, an I/O APIC entry that delivers, a VM that routes an MSI
 * through its APIC-ID map).
 *
 * Exit status 0 when every check holds, 1 otherwise (each failure printed).
 */
#include <stdio.h>

#include <virq/ioapic.h>
#include <virq/lapic.h>
#include <virq/pic.h>
#include <virq/regs/lapic.h>
#include <virq/vm.h>

/* The kernel's own functions, with its own meanings and signatures. */
int pic_update(int x);
int pic_prio(int x);
int lapic_set_error(int x);
int lapic_send_icr(int x);
int ioapic_request(int x);
int vm_map_update(int x);

enum {
	K_PIC_UPDATE,
	K_PIC_PRIO,
	K_LAPIC_SET_ERROR,
	K_LAPIC_SEND_ICR,
	K_IOAPIC_REQUEST,
	K_VM_MAP_UPDATE,
	K_NR
};
static const char *const k_names[K_NR] = { "pic_update",     "pic_prio",       "lapic_set_error",
					   "lapic_send_icr", "ioapic_request", "vm_map_update" };
static unsigned k_calls[K_NR];

int pic_update(int x)
{
	k_calls[K_PIC_UPDATE]++;
	return x + 1000;
}

int pic_prio(int x)
{
	k_calls[K_PIC_PRIO]++;
	return x * 2;
}

int lapic_set_error(int x)
{
	k_calls[K_LAPIC_SET_ERROR]++;
	return -x;
}

int lapic_send_icr(int x)
{
	k_calls[K_LAPIC_SEND_ICR]++;
	return x ^ 0x55;
}

int ioapic_request(int x)
{
	k_calls[K_IOAPIC_REQUEST]++;
	return x + 7;
}

int vm_map_update(int x)
{
	k_calls[K_VM_MAP_UPDATE]++;
	return x - 3;
}

static int failures;

static void check(long long got, long long want, const char *what)
{
	if (got != want) {
		printf("FAIL: %s: got %lld (0x%llx), expected %lld (0x%llx)\n", what, got,
		       (unsigned long long)got, want, (unsigned long long)want);
		failures++;
	}
}

/* Calls every kernel function once: each must answer with its own value. */
static void kernel_round(unsigned round)
{
	check(pic_update(1), 1001, "kernel pic_update(1)");
	check(pic_prio(21), 42, "kernel pic_prio(21)");
	check(lapic_set_error(9), -9, "kernel lapic_set_error(9)");
	check(lapic_send_icr(0x0f), 0x5a, "kernel lapic_send_icr(0x0f)");
	check(ioapic_request(3), 10, "kernel ioapic_request(3)");
	check(vm_map_update(8), 5, "kernel vm_map_update(8)");
	for (unsigned i = 0; i < K_NR; i++)
		if (k_calls[i] != round) {
			printf("FAIL: kernel %s called %u times, expected %u (only the kernel "
			       "calls it)\n",
			       k_names[i], k_calls[i], round);
			failures++;
		}
}

/* ---- 8259: INTR output (pic_update) and priority resolution (pic_prio) ---- */

static int pic_log[8];
static unsigned pic_log_len;

static void pic_intr(void *ctx, bool level)
{
	(void)ctx;
	if (pic_log_len < 8)
		pic_log[pic_log_len] = level;
	pic_log_len++;
}

static const struct virq_pic_ops pic_ops = { .size = sizeof(struct virq_pic_ops),
					     .intr = pic_intr };

static void pic_part(void)
{
	static struct virq_pic pic;
	static const uint8_t init[][2] = {
		{ 0x20, 0x11 }, /* ICW1: edge, cascade, ICW4 follows */
		{ 0x21, 0x20 }, /* ICW2: vectors 0x20-0x27 */
		{ 0x21, 0x04 }, /* ICW3: slave on IR2 */
		{ 0x21, 0x01 }, /* ICW4: 8086 mode, normal EOI */
	};
	static const int want_log[] = { 1, 0, 1, 0 };

	check(virq_pic_init(&pic, &pic_ops, NULL), 0, "virq_pic_init");
	for (unsigned i = 0; i < 4; i++)
		check(virq_pic_io_write(&pic, init[i][0], init[i][1]), 0, "8259 ICW write");
	check(virq_pic_set_irq(&pic, 5, true), 0, "8259 IRQ5 edge");
	check(virq_pic_set_irq(&pic, 1, true), 0, "8259 IRQ1 edge");
	check(virq_pic_get_intr(&pic), 1, "8259 INTR with IRQ1 and IRQ5 requested");
	check(virq_pic_intack(&pic), 0x21, "8259 INTA: IR1 before IR5");
	check(virq_pic_get_intr(&pic), 0, "8259 INTR while IR1 is in service");
	check(virq_pic_io_write(&pic, 0x20, 0x20), 0, "8259 OCW2 non-specific EOI");
	check(virq_pic_intack(&pic), 0x25, "8259 INTA after EOI: IR5");
	check(pic_log_len, 4, "8259 intr hook calls");
	for (unsigned i = 0; i < 4 && i < pic_log_len; i++)
		check(pic_log[i], want_log[i], "8259 intr hook level");
}

/* ---- LAPIC: ICR send (lapic_send_icr) and ESR (lapic_set_error) ---- */

static uint32_t apic_page[VIRQ_LAPIC_PAGE_SIZE / 4] VIRQ_ALIGNED(4096);
static struct virq_lapic apic;
static struct virq_apic_msg ipi_last;
static unsigned ipi_count;

static void apic_kick(void *ctx)
{
	(void)ctx;
}

static uint64_t apic_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static void apic_timer_arm(void *ctx, uint64_t deadline_ns)
{
	(void)ctx;
	(void)deadline_ns;
}

static void apic_timer_cancel(void *ctx)
{
	(void)ctx;
}

static void apic_send_ipi(void *ctx, const struct virq_apic_msg *msg)
{
	(void)ctx;
	ipi_last = *msg;
	ipi_count++;
}

static void apic_eoi_level(void *ctx, uint8_t vector)
{
	(void)ctx;
	(void)vector;
}

static const struct virq_lapic_ops apic_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = apic_kick,
	.now_ns = apic_now,
	.timer_arm = apic_timer_arm,
	.timer_cancel = apic_timer_cancel,
	.send_ipi = apic_send_ipi,
	.eoi_level = apic_eoi_level,
};

static uint64_t apic_read(uint32_t reg)
{
	uint64_t v = 0xdeadbeef;

	check(virq_lapic_mmio_read(&apic, reg, 4, &v), 0, "LAPIC MMIO read");
	return v;
}

static void apic_write(uint32_t reg, uint32_t val)
{
	check(virq_lapic_mmio_write(&apic, reg, 4, val), 0, "LAPIC MMIO write");
}

static void lapic_part(void)
{
	struct virq_lapic_config cfg = { .size = sizeof(struct virq_lapic_config),
					 .apic_id = 0,
					 .bsp = true };

	check(virq_lapic_init(&apic, apic_page, &cfg, &apic_ops, NULL), 0, "virq_lapic_init");
	apic_write(VIRQ_LAPIC_REG_SVR, VIRQ_LAPIC_SVR_ENABLE | 0xff);
	/* Fixed IPI, physical destination 2, vector 0x55. */
	apic_write(VIRQ_LAPIC_REG_ICR_HI, 2U << 24);
	apic_write(VIRQ_LAPIC_REG_ICR_LO, (uint32_t)VIRQ_ICR_LEVEL_ASSERT | 0x55);
	check(ipi_count, 1, "IPIs sent by the ICR write");
	check(ipi_last.vector, 0x55, "IPI vector");
	check(ipi_last.dest, 2, "IPI destination");
	check(ipi_last.src, 0, "IPI source APIC ID");
	check(ipi_last.delivery, VIRQ_DM_FIXED, "IPI delivery mode");
	check(ipi_last.logical, 0, "IPI destination mode");
	/* Vector 5 is illegal: not sent, ESR bit 5 after the next ESR write. */
	apic_write(VIRQ_LAPIC_REG_ICR_LO, (uint32_t)VIRQ_ICR_LEVEL_ASSERT | 0x05);
	check(ipi_count, 1, "IPIs sent after the illegal vector");
	apic_write(VIRQ_LAPIC_REG_ESR, 0);
	check(apic_read(VIRQ_LAPIC_REG_ESR), VIRQ_LAPIC_ESR_SEND_ILLEGAL,
	      "ESR after an illegal vector");
}

/* ---- I/O APIC: an unmasked edge entry delivers (ioapic_request) ---- */

static unsigned io_count, io_pin;
static uint64_t io_addr;
static uint32_t io_data;

static unsigned io_deliver(void *ctx, unsigned pin, uint64_t addr, uint32_t data)
{
	(void)ctx;
	io_count++;
	io_pin = pin;
	io_addr = addr;
	io_data = data;
	return 1;
}

static const struct virq_ioapic_ops io_ops = { .size = sizeof(struct virq_ioapic_ops),
					       .deliver = io_deliver };

static void io_write(struct virq_ioapic *io, uint32_t reg, uint32_t val)
{
	check(virq_ioapic_mmio_write(io, 0x00, 4, reg), 0, "IOREGSEL write");
	check(virq_ioapic_mmio_write(io, 0x10, 4, val), 0, "IOWIN write");
}

static void ioapic_part(void)
{
	static struct virq_ioapic io;
	struct virq_ioapic_config cfg = { .size = sizeof(struct virq_ioapic_config), .id = 1 };

	check(virq_ioapic_init(&io, &cfg, &io_ops, NULL), 0, "virq_ioapic_init");
	/* Entry 3: vector 0x33, fixed, physical, edge, unmasked, to APIC 1. */
	io_write(&io, 0x10 + 2 * 3 + 1, 1U << 24);
	io_write(&io, 0x10 + 2 * 3, 0x33);
	check(io_count, 0, "I/O APIC deliveries before the edge");
	check(virq_ioapic_set_pin(&io, 3, true), 0, "virq_ioapic_set_pin(3)");
	check(io_count, 1, "I/O APIC deliveries after the edge");
	check(io_pin, 3, "I/O APIC delivered pin");
	check((long long)io_addr, 0xfee01000, "I/O APIC MSI address");
	check(io_data, 0x33, "I/O APIC MSI data");
}

/* ---- VM: the APIC-ID map (vm_map_update) routes an MSI ---- */

static void vm_lock(void *ctx)
{
	(void)ctx;
}

static void vm_unlock(void *ctx)
{
	(void)ctx;
}

static const struct virq_vm_ops vm_ops = { .size = sizeof(struct virq_vm_ops),
					   .lock = vm_lock,
					   .unlock = vm_unlock };

static void vm_part(void)
{
	static struct virq_vm vm;
	static struct virq_lapic *vcpus[1];
	static uint32_t map[4];
	static uint64_t map_key[1];
	struct virq_vm_config cfg = { .size = sizeof(struct virq_vm_config),
				      .nr_vcpus = 1,
				      .map_entries = 4 };

	/* The LAPIC of lapic_part(), enabled, APIC ID 0, nothing pending. */
	check(virq_lapic_pending(&apic), VIRQ_LAPIC_NO_VECTOR, "LAPIC pending before the MSI");
	check(virq_vm_init(&vm, &cfg, vcpus, map, map_key, NULL, &vm_ops, NULL), 0, "virq_vm_init");
	check(virq_vm_send_msi(&vm, 0xfee00000, 0x45, 0), 0, "MSI accepted by an empty VM");
	check(virq_vm_set_vcpu(&vm, 0, &apic), 0, "virq_vm_set_vcpu(0)");
	check(virq_vm_send_msi(&vm, 0xfee00000, 0x45, 0), 1, "MSI to APIC 0 accepted");
	check(virq_vm_send_msi(&vm, 0xfee03000, 0x46, 0), 0, "MSI to absent APIC 3 accepted");
	check(virq_lapic_pending(&apic), 0x45, "LAPIC pending after the MSI");
}

int main(void)
{
	kernel_round(1);
	pic_part();
	lapic_part();
	ioapic_part();
	vm_part();
	kernel_round(2);
	if (failures) {
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("kernel and libvirq functions of the same names stay apart: %d names, "
	       "8259, LAPIC, I/O APIC and VM checked\n",
	       K_NR);
	return 0;
}
