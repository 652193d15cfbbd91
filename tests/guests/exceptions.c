/* SPDX-License-Identifier: MIT */
/*
 * exceptions: exception delivery that itself faults, on one vCPU.
 *
 * - df_pf_during_pf: the #PF gate's IST stack is an unmapped linear
 *   address, so delivering a #PF page-faults again; a #PF during the
 *   delivery of a #PF is a double fault (SDM Vol. 3A "Interrupt 8--Double
 *   Fault Exception (#DF)", Table "Conditions for Generating a Double
 *   Fault"). The #DF handler runs on a valid IST stack with error code 0,
 *   CR2 holds the address of the second fault (in the bad IST stack), the
 *   #PF handler never runs. #DF is an abort (its saved CS:RIP is undefined),
 *   so the handler resumes the program at a recovery point of its own.
 * - reinject_interrupt_stack_ept: virq-hv's fault-once port 0x2110 takes a
 *   page out of EPT until its next EPT violation. A self-IPI whose gate's
 *   IST stack is that page exits in the middle of its delivery; the exit
 *   records the event as IDT-vectoring information (SDM Vol. 3C
 *   "Information for VM Exits During Event Delivery") and the VMX glue must
 *   deliver it again: the handler runs exactly once, on that page, and the
 *   hv saw IDT-vectoring information 0x80000061 (valid, external
 *   interrupt, vector 0x61).
 *   Under virtual-interrupt delivery (virq-hv mode=apicv) the CPU delivers
 *   the self-IPI itself; Bochs 2.7 then records no IDT-vectoring
 *   information for it (the EPT violation comes back as a #DF being
 *   delivered), so with the quirk `bochs-vid-vectoring` that part is a
 *   skip, never a pass.
 * - reinject_nmi_stack_ept: the same with an NMI to the CPU itself, which
 *   the VMX glue injects at every level (0x80000202: valid, NMI, vector 2):
 *   the handler runs once, and the NMI is not blocked afterwards (a second
 *   round gets through).
 * - reinject_exception_ept: the same with real exceptions (no INT n): #UD
 *   from UD2 (0x80000306: valid, hardware exception, vector 6), #GP from a
 *   selector beyond the GDT limit (0x80000B0D: with an error code, which
 *   the handler must see again) and a single-step #DB (0x80000301), a
 *   trap: a fault dropped instead of re-injected would be raised again
 *   when the guest resumed at the faulting instruction, so only the trap
 *   shows a lost exception (the handler then sees the wrong RIP).
 *
 * Without the port (virq-vmm, QEMU: IN 0x2110 reads all ones) the last two
 * checks still deliver the events through the IST page, unarmed, and check
 * their handlers, but they are skips, never passes.
 */
#include "guest.h"

#define PORT_FAULT_ONCE 0x2110 /* OUT: arm a page; IN: exits seen with IDT-vectoring */
#define PORT_FAULT_LAST 0x2114 /* IN: the last one's IDT-vectoring information */

#define V_TEST 0x61
#define ROUNDS 2

/* IST slots */
#define IST_PF_BAD 1
#define IST_DF 2
#define IST_FAULT_PAGE 3

/* Linear addresses above the 4 GiB identity map (boot.S maps PDPT entries
 * 0-3 only): canonical, not present. */
#define UNMAPPED_READ 0x200000000ULL /* 8 GiB: the first #PF */
#define BAD_IST_TOP 0x100002000ULL   /* 4 GiB + 8 KiB: the #PF gate's stack */
#define IST_FRAME_BYTES (6 * 8)      /* SS RSP RFLAGS CS RIP error code */

/* The page virq-hv unmaps: nothing but the IST stack lives there. */
static uint8_t fault_page[4096] __attribute__((aligned(4096)));
static uint8_t df_stack[4096] __attribute__((aligned(16)));

/* What the handlers saw. */
static volatile uint32_t runs;
static volatile uint64_t seen_frame, seen_error, seen_rip, seen_cr2;
/* Where the faulting instruction is and where to resume. */
static volatile uint64_t fault_rip, resume_rip, resume_rsp;
static volatile bool cur_trap;

static uint64_t read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static bool in_fault_page(uint64_t a)
{
	return a >= (uintptr_t)fault_page && a < (uintptr_t)fault_page + sizeof(fault_page);
}

/* ---------------------------------------------------------------------- */
/* df_pf_during_pf */

static void on_pf(struct frame *f)
{
	/* Never expected: make sure the program still ends sanely. */
	seen_rip = f->rip;
	f->rip = resume_rip;
	f->rsp = resume_rsp;
}

static void on_df(struct frame *f)
{
	runs++;
	seen_frame = (uintptr_t)f;
	seen_error = f->error;
	seen_cr2 = read_cr2();
	/* Abort class: the saved CS:RIP need not be the faulting instruction's
	 * (SDM "Interrupt 8", "Saved Instruction Pointer"). */
	f->rip = resume_rip;
	f->rsp = resume_rsp;
}

/* Reads UNMAPPED_READ; a handler resumes after the read with the stack
 * pointer the read had. noinline: one copy of the labels. */
static __attribute__((noinline)) void read_unmapped(void)
{
	uint64_t t;

	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %1\n\t"
			 "lea 2f(%%rip), %0\n\t"
			 "mov %0, %2\n\t"
			 "mov %%rsp, %3\n\t"
			 "mov %4, %0\n\t"
			 "1: mov (%0), %0\n\t"
			 "2:"
			 : "=&r"(t), "=m"(fault_rip), "=m"(resume_rip), "=m"(resume_rsp)
			 : "i"(UNMAPPED_READ)
			 : "memory");
}

static void df_pf_during_pf(void)
{
	uint64_t f = irq_save();

	test_begin("df_pf_during_pf");
	runs = 0;
	seen_rip = 0;
	irq_count[cpu_id()][8] = irq_count[cpu_id()][14] = 0;
	ist_set_stack(IST_PF_BAD, BAD_IST_TOP);
	ist_set_stack(IST_DF, (uintptr_t)df_stack + sizeof(df_stack));
	set_handler(14, on_pf);
	set_handler(8, on_df);
	set_ist(14, IST_PF_BAD);
	set_ist(8, IST_DF);

	read_unmapped();

	set_ist(14, 0);
	set_ist(8, 0);
	set_handler(14, NULL);
	set_handler(8, NULL);
	irq_restore(f);

	EXPECT_EQ(irq_count[cpu_id()][14], 0);
	if (irq_count[cpu_id()][14])
		test_fail("the #PF handler ran (rip 0x%llx)", (unsigned long long)seen_rip);
	EXPECT_EQ(irq_count[cpu_id()][8], 1);
	EXPECT_EQ(runs, 1);
	if (runs) {
		/* #DF's error code is always 0 ("Interrupt 8", "Exception Error
		 * Code"). */
		EXPECT_EQ(seen_error, 0);
		/* On its own stack, not the bad one. */
		EXPECT(seen_frame >= (uintptr_t)df_stack &&
			       seen_frame < (uintptr_t)df_stack + sizeof(df_stack),
		       "#DF frame at 0x%llx", (unsigned long long)seen_frame);
		/* The second #PF loaded CR2 with the stack address its push
		 * faulted on ("Interrupt 14--Page-Fault Exception (#PF)",
		 * "Contents of CR2 Register"), which replaced the first one's
		 * UNMAPPED_READ: somewhere in the frame below the IST top. The
		 * SDM does not order the pushes; Bochs 2.7 and QEMU 7.2 TCG
		 * both fault on the first, SS at top - 8. */
		EXPECT(seen_cr2 >= BAD_IST_TOP - IST_FRAME_BYTES && seen_cr2 < BAD_IST_TOP,
		       "CR2 0x%llx, expected in [0x%llx, 0x%llx)", (unsigned long long)seen_cr2,
		       BAD_IST_TOP - IST_FRAME_BYTES, BAD_IST_TOP);
	}
	test_end();
}

/* ---------------------------------------------------------------------- */
/* Events delivered on the fault-once page */

static void on_test_vector(struct frame *f)
{
	runs++;
	seen_frame = (uintptr_t)f;
	apic_eoi();
}

static void on_nmi(struct frame *f)
{
	runs++;
	seen_frame = (uintptr_t)f;
}

static void on_fault(struct frame *f)
{
	runs++;
	seen_frame = (uintptr_t)f;
	seen_error = f->error;
	seen_rip = f->rip;
	/* A fault's saved RIP is the faulting instruction: resume past it. A
	 * trap's is already past its instruction; and should the single step
	 * be lost, the step after it traps here with a RIP the check rejects,
	 * and TF is cleared all the same. */
	if (!cur_trap)
		f->rip = resume_rip;
	f->rflags &= ~0x100ULL; /* TF */
}

static __attribute__((noinline)) void raise_ud(void)
{
	uint64_t t;

	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %1\n\t"
			 "lea 2f(%%rip), %0\n\t"
			 "mov %0, %2\n\t"
			 "1: ud2\n\t"
			 "2:"
			 : "=&r"(t), "=m"(fault_rip), "=m"(resume_rip)
			 :
			 : "memory");
}

/* MOV to FS with a selector beyond the GDT limit: #GP(selector) ("MOV--Move",
 * "64-Bit Mode Exceptions"); the error code is the selector with its
 * EXT/IDT/TI bits ("Error Code"), here 0xFFF8. */
#define BAD_SELECTOR 0xFFF8u

static __attribute__((noinline)) void raise_gp(void)
{
	uint64_t t;

	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %1\n\t"
			 "lea 2f(%%rip), %0\n\t"
			 "mov %0, %2\n\t"
			 "1: mov %k3, %%fs\n\t"
			 "2:"
			 : "=&r"(t), "=m"(fault_rip), "=m"(resume_rip)
			 : "r"(BAD_SELECTOR)
			 : "memory");
}

/* Single step (RFLAGS.TF set by POPF): a trap after the NOP that follows
 * ("Single-Step Exception Condition"), whose saved RIP is the next
 * instruction. A trap is not raised again by re-executing anything: if the
 * event whose delivery exited were dropped instead of re-injected, no
 * handler would run. (A dropped #UD or #GP would come back by itself when
 * the guest resumed at the faulting instruction.) */
static __attribute__((noinline)) void raise_db(void)
{
	uint64_t t;

	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %1\n\t"
			 "lea 2f(%%rip), %0\n\t"
			 "mov %0, %2\n\t"
			 "pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"
			 "1: nop\n\t"
			 "2:"
			 : "=&r"(t), "=m"(fault_rip), "=m"(resume_rip)
			 :
			 : "memory", "cc");
}

static void raise_test_vector(void)
{
	apic_icr(ICR_FIXED | ICR_ASSERT | ICR_SELF | V_TEST, 0);
	WAIT_UNTIL(runs, 100);
}

static void raise_nmi(void)
{
	apic_icr(ICR_NMI | ICR_ASSERT, apic_id());
	WAIT_UNTIL(runs, 100);
}

struct event {
	const char *what;
	unsigned vec;
	void (*raise)(void);
	uint32_t idt_info; /* IDT-vectoring information the hv must record */
	bool exception;    /* on_fault(): no EOI, resumes at resume_rip */
	bool nmi;          /* on_nmi(): no EOI */
	bool trap;         /* saved RIP after the instruction (resume_rip) */
	bool has_error;
	uint32_t error;
};

/* Delivers ev ROUNDS times through an IST stack on fault_page, each time
 * with the page armed when armed; checks the handler and the hv's word. */
static void event_on_fault_page(const struct event *ev, bool armed)
{
	uint64_t flags = read_flags();

	ist_set_stack(IST_FAULT_PAGE, (uintptr_t)fault_page + sizeof(fault_page));
	set_handler(ev->vec, ev->exception ? on_fault : ev->nmi ? on_nmi : on_test_vector);
	set_ist(ev->vec, IST_FAULT_PAGE);
	cur_trap = ev->trap;
	for (unsigned r = 0; r < ROUNDS; r++) {
		uint32_t before = armed ? inl(PORT_FAULT_ONCE) : 0;

		runs = 0;
		seen_frame = seen_error = seen_rip = 0;
		if (armed)
			outl(PORT_FAULT_ONCE, (uint32_t)(uintptr_t)fault_page);
		sti(); /* the interrupt is taken with IF=1, the faults either way */
		ev->raise();
		settle(1000); /* a second delivery would show up here */
		cli();
		if (runs != 1)
			test_fail("%s round %u: the handler ran %u times, expected once", ev->what,
				  r, runs);
		if (runs && !in_fault_page(seen_frame))
			test_fail("%s round %u: handler frame at 0x%llx, not on the IST page",
				  ev->what, r, (unsigned long long)seen_frame);
		if (runs && ev->trap && seen_rip != resume_rip)
			test_fail("%s round %u: saved RIP 0x%llx, expected 0x%llx after the "
				  "stepped instruction",
				  ev->what, r, (unsigned long long)seen_rip,
				  (unsigned long long)resume_rip);
		if (runs && ev->exception && !ev->trap && seen_rip != fault_rip)
			test_fail("%s round %u: saved RIP 0x%llx, the fault is at 0x%llx", ev->what,
				  r, (unsigned long long)seen_rip, (unsigned long long)fault_rip);
		if (runs && ev->has_error && seen_error != ev->error)
			test_fail("%s round %u: error code 0x%llx, expected 0x%x", ev->what, r,
				  (unsigned long long)seen_error, ev->error);
		if (!ev->exception && (apic_isr(ev->vec) || apic_irr(ev->vec)))
			test_fail("%s round %u: vector 0x%x still pending (ISR %u, IRR %u)",
				  ev->what, r, ev->vec, apic_isr(ev->vec), apic_irr(ev->vec));
		if (armed) {
			uint32_t after = inl(PORT_FAULT_ONCE), last = inl(PORT_FAULT_LAST);

			if (after - before != 1)
				test_fail("%s round %u: %u EPT violations with IDT-vectoring "
					  "information, expected 1",
					  ev->what, r, after - before);
			if (last != ev->idt_info)
				test_fail("%s round %u: IDT-vectoring information 0x%x, expected "
					  "0x%x",
					  ev->what, r, last, ev->idt_info);
		}
	}
	set_ist(ev->vec, 0);
	set_handler(ev->vec, NULL);
	if (flags & 0x200)
		sti();
}

/* Whether virq-hv's fault-once port answers (it reads all ones elsewhere). */
static bool fault_port_present(void)
{
	return inl(PORT_FAULT_ONCE) != 0xFFFFFFFFu;
}

static void reinject_interrupt_stack_ept(void)
{
	static const struct event ev = {
		.what = "self-IPI 0x61",
		.vec = V_TEST,
		.raise = raise_test_vector,
		.idt_info = 0x80000000u | (0u << 8) | V_TEST, /* valid, external interrupt */
	};
	bool armed = fault_port_present();

	test_begin("reinject_interrupt_stack_ept");
	if (armed && quirk("bochs-vid-vectoring")) {
		test_skip("under virtual-interrupt delivery Bochs records no IDT-vectoring "
			  "information for the interrupt (quirk bochs-vid-vectoring)");
		test_end();
		return;
	}
	event_on_fault_page(&ev, armed);
	if (!armed)
		test_skip("no fault-once port 0x2110 (virq-hv only): delivered through the "
			  "IST page without an EPT violation");
	test_end();
}

static void reinject_nmi_stack_ept(void)
{
	static const struct event ev = {
		.what = "self NMI",
		.vec = 2,
		.raise = raise_nmi,
		.idt_info = 0x80000000u | (2u << 8) | 2, /* valid, NMI */
		.nmi = true,
	};
	bool armed = fault_port_present();

	test_begin("reinject_nmi_stack_ept");
	event_on_fault_page(&ev, armed);
	if (!armed)
		test_skip("no fault-once port 0x2110 (virq-hv only): delivered through the "
			  "IST page without an EPT violation");
	test_end();
}

static void reinject_exception_ept(void)
{
	static const struct event ud = {
		.what = "#UD (ud2)",
		.vec = 6,
		.raise = raise_ud,
		.idt_info = 0x80000000u | (3u << 8) | 6, /* valid, hardware exception */
		.exception = true,
	};
	static const struct event gp = {
		.what = "#GP (mov to fs)",
		.vec = 13,
		.raise = raise_gp,
		/* valid, error code valid (bit 11), hardware exception */
		.idt_info = 0x80000000u | (1u << 11) | (3u << 8) | 13,
		.exception = true,
		.has_error = true,
		.error = BAD_SELECTOR,
	};
	static const struct event db = {
		.what = "#DB (single step)",
		.vec = 1,
		.raise = raise_db,
		.idt_info = 0x80000000u | (3u << 8) | 1, /* valid, hardware exception */
		.exception = true,
		.trap = true,
	};
	bool armed = fault_port_present();

	test_begin("reinject_exception_ept");
	event_on_fault_page(&ud, armed);
	event_on_fault_page(&gp, armed);
	event_on_fault_page(&db, armed);
	if (!armed)
		test_skip("no fault-once port 0x2110 (virq-hv only): delivered through the "
			  "IST page without an EPT violation");
	test_end();
}

int main(void)
{
	df_pf_during_pf();
	reinject_interrupt_stack_ept();
	reinject_nmi_stack_ept();
	reinject_exception_ept();
	return 0;
}
