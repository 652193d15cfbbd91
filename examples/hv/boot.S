/* SPDX-License-Identifier: MIT */
/*
 * virq-hv entry: Multiboot v1 header, 32-bit entry, switch to long mode
 * (SDM Vol. 3A 9.8.5 "Initializing IA-32e Mode"), GDT with a 64-bit TSS
 * (VM exits load TR from the host-state area and its selector must not be
 * 0: SDM Vol. 3C 26.2.3 "Checks on Host Segment and Descriptor-Table
 * Registers"), an IDT that reports any host exception, and the VM
 * entry/exit path (vmx_run).
 */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0

#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
#define SEL_CODE32 0x28
#define HV_MAX_CPUS 4

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	mov %eax, %esi
	mov %ebx, %edi
	lgdtl gdt_desc
	ljmp $SEL_CODE32, $1f
1:	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $stack_top, %esp

	/* .bss is zeroed by the loader (bochs.sh pads it); keep magic/info. */
	mov %esi, mb_magic
	mov %edi, mb_info

	/* Identity map 0-4 GiB with 2 MiB pages: pml4 -> pdpt -> 4 PDs. */
	mov $pdpt, %eax
	or $3, %eax
	mov %eax, pml4
	mov $pd, %eax
	or $3, %eax
	xor %ecx, %ecx
2:	mov %eax, pdpt(, %ecx, 8)
	add $4096, %eax
	inc %ecx
	cmp $4, %ecx
	jne 2b
	xor %ecx, %ecx
3:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax			/* P | RW | PS */
	cmp $0x7f0, %ecx		/* 0xFE000000 and up: PCD | PWT */
	jb 4f
	or $0x18, %eax
4:	mov %eax, pd(, %ecx, 8)
	inc %ecx
	cmp $2048, %ecx
	jne 3b

	jmp enable_long_mode

/* An AP, from the trampoline: flat 32-bit protected mode, the BSP's GDT. */
	.globl ap_entry32
ap_entry32:
	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	movl $1, ap_in_long_mode_path
enable_long_mode:
	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $0xC0000080, %ecx		/* IA32_EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* PG | PE */
	mov %eax, %cr0
	ljmp $SEL_CODE64, $long_entry

	.code64
long_entry:
	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	cmpl $0, ap_in_long_mode_path
	jne ap_long
	mov $stack_top, %rsp
	/* TSS descriptor base (bits 15:0 at +2, 23:16 at +4, 31:24 at +7). */
	mov $tss, %rax
	mov %ax, gdt + SEL_TSS + 2
	shr $16, %rax
	mov %al, gdt + SEL_TSS + 4
	mov %ah, gdt + SEL_TSS + 7
	mov $SEL_TSS, %ax
	ltr %ax
	call idt_init
	call hv_main
5:	cli
	hlt
	jmp 5b

/* An AP in long mode: take the next CPU number (the BSP is 0), its stack
 * (ap_stacks, 16 KiB each) and run ap_main(n) (main.c), which loads its
 * own TSS. ap_in_long_mode_path stays set once the BSP is past it. */
ap_long:
	mov $1, %eax
	lock xadd %eax, ap_next
	cmp $HV_MAX_CPUS, %eax
	jae 5b
	mov %eax, %edi
	mov %eax, %ecx
	inc %ecx
	shl $14, %ecx
	lea ap_stacks(%rcx), %rsp
	call ap_main
	jmp 5b

/* AP trampoline, copied to 0x8000 and entered at CS=0x0800, IP=0 in real
 * mode (start-up IPI vector 0x08): load the GDT (32-bit base), set CR0.PE,
 * far jump to ap_entry32. */
	.section .rodata
	.code16
	.globl tramp_start, tramp_end
tramp_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl tramp_gdt - tramp_start
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $SEL_CODE32, $ap_entry32
	.balign 4
tramp_gdt:
	.word gdt_end - gdt - 1
	.long gdt
tramp_end:
	.code64
	.text

/* Host exceptions: stub v pushes a zero error code where the CPU does not,
 * then v, and calls hv_fault(vector, frame). */
	.text
	.balign 16
	.globl fault_stubs
fault_stubs:
	.set vec, 0
	.rept 32
	.balign 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp fault_common
	.set vec, vec + 1
	.endr
fault_common:
	mov (%rsp), %rdi		/* vector */
	lea 8(%rsp), %rsi		/* error code, RIP, CS, RFLAGS, ... */
	and $-16, %rsp
	call hv_fault			/* does not return */

/* The host LAPIC timer (vector 0x40, virq.c): it only has to end a HLT of
 * the hv; the hv looks at the time itself. EOI, then return. */
	.balign 16
	.globl host_timer_stub
host_timer_stub:
	push %rax
	mov $0xFEE000B0, %eax
	movl $0, (%rax)
	pop %rax
	iretq

/* The host LAPIC's spurious vector (0xFF): no EOI (SDM Vol. 3A "Spurious
 * Interrupt"). */
	.balign 16
	.globl host_spurious_stub
host_spurious_stub:
	iretq

/*
 * int vmx_run(struct guest_regs *regs, int launched): loads the guest's
 * general registers, VMLAUNCH (or VMRESUME), and on VM exit stores them
 * back and returns 0. Returns 1 when the instruction itself fails (VMfail:
 * SDM Vol. 3C 30.2 "Conventions"; the reason is in the VM-instruction
 * error field). HOST_RSP is written here, so the exit lands on this
 * frame; HOST_RIP is vmx_exit.
 */
	.globl vmx_run
vmx_run:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi			/* regs, found again at exit */
	mov $0x6C14, %eax		/* HOST_RSP */
	vmwrite %rsp, %rax
	mov %esi, %eax
	mov %rdi, %rsi
	test %eax, %eax
	mov 0*8(%rsi), %rax
	mov 1*8(%rsi), %rcx
	mov 2*8(%rsi), %rdx
	mov 3*8(%rsi), %rbx
	mov 4*8(%rsi), %rbp
	mov 6*8(%rsi), %rdi
	mov 7*8(%rsi), %r8
	mov 8*8(%rsi), %r9
	mov 9*8(%rsi), %r10
	mov 10*8(%rsi), %r11
	mov 11*8(%rsi), %r12
	mov 12*8(%rsi), %r13
	mov 13*8(%rsi), %r14
	mov 14*8(%rsi), %r15
	mov 5*8(%rsi), %rsi		/* MOVs leave ZF from the TEST above */
	jnz 6f
	vmlaunch
	jmp 7f
6:	vmresume
7:	/* VMfail: still on our frame; the pops restore what the guest's
	 * values overwrote. */
	pop %rdi
	mov $1, %eax
	jmp 8f

	.globl vmx_exit
vmx_exit:
	push %rsi
	mov 8(%rsp), %rsi		/* regs */
	mov %rax, 0*8(%rsi)
	mov %rcx, 1*8(%rsi)
	mov %rdx, 2*8(%rsi)
	mov %rbx, 3*8(%rsi)
	mov %rbp, 4*8(%rsi)
	pop %rax
	mov %rax, 5*8(%rsi)
	mov %rdi, 6*8(%rsi)
	mov %r8, 7*8(%rsi)
	mov %r9, 8*8(%rsi)
	mov %r10, 9*8(%rsi)
	mov %r11, 10*8(%rsi)
	mov %r12, 11*8(%rsi)
	mov %r13, 12*8(%rsi)
	mov %r14, 13*8(%rsi)
	mov %r15, 14*8(%rsi)
	pop %rdi
	xor %eax, %eax
8:	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

/* Ends the Bochs run: magic breakpoint (the debugger then runs `quit`). */
	.globl bochs_quit
bochs_quit:
	xchg %bx, %bx
9:	cli
	hlt
	jmp 9b

	.data
	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10 data */
	.quad 0x0000890000000067	/* 0x18 64-bit TSS (available), base patched */
	.quad 0				/*      TSS base 63:32 */
	.quad 0x00cf9a000000ffff	/* 0x28 32-bit code, for the switch */
	/* 0x30 + 16 * (n - 1): the 64-bit TSS of AP n, filled by ap_main */
	.fill 2 * (HV_MAX_CPUS - 1), 8, 0
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
	.globl ap_next, ap_in_long_mode_path
ap_next: .long 1
ap_in_long_mode_path: .long 0

	.bss
	.balign 4096
	.globl pml4
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096
	.globl tss
tss:	.skip 104
	.balign 16
	.skip 16384
	.globl stack_top
stack_top:
	.balign 16
	.globl ap_stacks
ap_stacks:
	.skip 16384 * HV_MAX_CPUS
	.balign 128
	.globl ap_tss
ap_tss:	.skip 128 * HV_MAX_CPUS
	.globl mb_magic, mb_info
mb_magic: .long 0
mb_info: .long 0
