/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 entry, 32-bit -> long mode switch, GDT, identity page tables
 * (0-4 GiB, 2 MiB pages, 0xFE000000+ uncached), 256 interrupt stubs, and
 * the AP trampoline. The GDT keeps a 64-bit TSS descriptor slot per CPU
 * (selector 0x20 + 16 * APIC ID), empty until lib.c's tss_load().
 *
 * Only far jumps change CS: no IRET outside 64-bit mode, no INT n.
 */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0

#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18

#define STACK_SIZE 16384
#define MAX_CPUS 32

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

/* ------------------------------------------------------------------ */
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
	mov %ax, %fs
	mov %ax, %gs
	mov %esi, mb_magic
	mov %edi, mb_info_addr

	/* Zero .bss (stacks included; nothing uses a stack yet). */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb

	/* fall through: the BSP and the APs share the mode switch */
	.globl ap_entry32
ap_entry32:
	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $0xC0000080, %ecx		/* EFER */
	rdmsr
	or $0x100, %eax			/* LME */
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
	/* Stack by APIC ID: CPUID.1:EBX[31:24]. */
	mov $1, %eax
	cpuid
	shr $24, %ebx
	cmp $MAX_CPUS, %ebx
	jae park
	mov %rbx, %rax
	inc %rax
	shl $14, %rax			/* * STACK_SIZE */
	lea stacks(%rax), %rsp
	lidt idt_desc(%rip)
	/* BSP flag: IA32_APIC_BASE bit 8 */
	mov $0x1B, %ecx
	rdmsr
	test $0x100, %eax
	jz 2f
	call boot_main
	jmp park
2:	call ap_main
park:
	cli
	hlt
	jmp park

/* ------------------------------------------------------------------ */
/* AP trampoline, copied to 0x8000 and entered at CS=0x0800, IP=0 in real
 * mode: load the GDT (32-bit base), set CR0.PE, far jump to ap_entry32. */
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

/* ------------------------------------------------------------------ */
/* Interrupt stubs: 16 bytes each, stub v at isr_stubs + 16 * v. Each
 * pushes a zero error code when the CPU does not, then the vector. */
	.text
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	cld
	mov 15*8(%rsp), %rdi		/* vector */
	mov %rsp, %rsi			/* struct frame * */
	call handler			/* frame is 176 bytes: RSP stays 16-aligned */
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

/* sti_hlt(): STI, then HLT in its interrupt shadow. The HLT has a label of
 * its own so that handler() can tell an interrupt that landed on it, before
 * it ran (a host that does not honour the shadow), and resume after it:
 * otherwise the CPU would halt with the interrupt it waited for already
 * taken. */
	.globl sti_hlt, sti_hlt_hlt
sti_hlt:
	sti
sti_hlt_hlt:
	hlt
	ret

/* ------------------------------------------------------------------ */
	.data
	.balign 8
	.globl mb_magic, mb_info_addr
mb_magic:
	.long 0
mb_info_addr:
	.long 0

	.balign 16
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF	/* 0x08: code, 32-bit */
	.quad 0x00CF92000000FFFF	/* 0x10: data */
	.quad 0x00AF9A000000FFFF	/* 0x18: code, 64-bit */
	.globl gdt_tss
gdt_tss:	/* 0x20 + 16 * cpu: 64-bit TSS descriptors, filled by tss_load() */
	.fill 2 * MAX_CPUS, 8, 0
gdt_end:
	.balign 4
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.balign 8
	.word 0, 0, 0
	.globl idt_desc
idt_desc:
	.word 256 * 16 - 1
	.quad idt

	.balign 4096
pml4:
	.quad pdpt + 0x3
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0003
	.quad pd + 0x1003
	.quad pd + 0x2003
	.quad pd + 0x3003
	.fill 508, 8, 0
pd:	/* 2048 x 2 MiB: P | RW | PS, and PWT | PCD from 0xFE000000 */
	.set pde, 0
	.rept 2032
	.quad (pde << 21) | 0x83
	.set pde, pde + 1
	.endr
	.rept 16
	.quad (pde << 21) | 0x9B
	.set pde, pde + 1
	.endr

	.bss
	.balign 16
	.globl idt
idt:
	.skip 256 * 16
	.balign STACK_SIZE
	.globl stacks
stacks:
	.skip STACK_SIZE * MAX_CPUS

	.section .note.GNU-stack, "", @progbits
