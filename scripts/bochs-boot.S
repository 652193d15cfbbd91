/* SPDX-License-Identifier: MIT */
/*
 * Boot sector for scripts/bochs.sh: loads a Multiboot v1 kernel, already laid
 * out as a flat image (kernel, its .bss as zeros, modules, Multiboot
 * information), from the disk sectors after this one to 1 MiB, then enters
 * it as a Multiboot loader does (Multiboot Specification 0.6.96, 3.2
 * "Machine state"): 32-bit protected mode, flat CS and data segments,
 * A20 on, paging off, interrupts off, EAX = 0x2BADB002, EBX = the
 * information structure.
 *
 * bochs.sh patches the parameter block at 0x1F0 (entry point, information
 * address, sector count). Chunks of 64 sectors are read with INT 13h
 * AH=42h (EDD extended read) to 0x10000 and copied above 1 MiB with
 * INT 15h AH=87h (block move), so this code never leaves real mode until
 * the jump. Progress and errors go to port 0xE9 as lines starting with
 * "bochs-boot:", which bochs.sh reads and does not forward.
 *
 * Built with: gcc -c -m32 bochs-boot.S; ld -m elf_i386 -Ttext=0x7c00
 * --oformat=binary.
 */

#define BUF_SEG 0x1000 /* chunk buffer at 0x10000 */
#define CHUNK 64       /* sectors per read: 32 KiB, 16384 words */
#define LOAD_ADDR 0x100000

	.code16
	.text
	.globl _start
_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7c00, %sp
	ljmp $0, $1f
1:	mov %dl, drive
	cld

	/* A20 through the "fast A20" bit of port 0x92 (Bochs emulates it). */
	inb $0x92, %al
	or $2, %al
	and $0xfe, %al
	outb %al, $0x92

	mov $msg_start, %si
	call puts

next_chunk:
	mov p_sectors, %eax
	test %eax, %eax
	jz enter_kernel
	mov $CHUNK, %ecx
	cmp %ecx, %eax
	jae 2f
	mov %eax, %ecx
2:	mov %cx, dap_count
	mov $0x42, %ah
	mov drive, %dl
	mov $dap, %si
	int $0x13
	jc disk_error

	/* Block move: source 0x10000, destination dest; CX = words. */
	mov dest, %eax
	mov %ax, gdt87 + 3 * 8 + 2
	shr $16, %eax
	mov %al, gdt87 + 3 * 8 + 4
	mov %ah, gdt87 + 3 * 8 + 7
	movzwl dap_count, %ecx
	shl $8, %cx
	push %ecx
	mov $gdt87, %si
	mov $0x87, %ah
	int $0x15
	pop %ecx
	jc move_error

	shl $1, %ecx		/* bytes */
	add %ecx, dest
	shr $9, %ecx		/* sectors */
	add %ecx, dap_lba
	sub %ecx, p_sectors
	jmp next_chunk

enter_kernel:
	cli
	lgdtl gdtr
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $pm32

	.code32
pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov $0x2BADB002, %eax
	mov p_mbinfo, %ebx
	jmp *p_entry

	.code16
disk_error:
	mov $msg_disk, %si
	jmp fatal
move_error:
	mov $msg_move, %si
fatal:
	call puts
	/* Ends Bochs (status 1) at once; bochs.sh reports the line above. */
	mov $msg_shutdown, %si
	mov $0x8900, %dx
3:	lodsb
	test %al, %al
	jz 4f
	outb %al, %dx
	jmp 3b
4:	hlt
	jmp 4b

puts:
	lodsb
	test %al, %al
	jz 5f
	outb %al, $0xe9
	jmp puts
5:	ret

msg_start:	.asciz "bochs-boot: loading\n"
msg_disk:	.asciz "bochs-boot: disk read error (INT 13h AH=42h)\n"
msg_move:	.asciz "bochs-boot: block move error (INT 15h AH=87h)\n"
msg_shutdown:	.asciz "Shutdown"

drive:	.byte 0x80
	.balign 4
dest:	.long LOAD_ADDR
/* EDD disk address packet */
dap:	.byte 16, 0
dap_count:
	.word 0
	.word 0, BUF_SEG	/* offset, segment */
dap_lba:
	.long 1, 0

/* INT 15h AH=87h descriptor table: dummy, GDT, source, destination, BIOS CS,
 * BIOS SS (the BIOS fills entries 1, 4 and 5). */
	.balign 8
gdt87:
	.quad 0, 0
	.word 0xffff, 0x0000		/* source: base 0x010000 */
	.byte 0x01, 0x93, 0x00, 0x00
	.word 0xffff, 0x0000		/* destination: base patched */
	.byte 0x00, 0x93, 0x00, 0x00
	.quad 0, 0

/* Flat GDT for the kernel: 0x08 code, 0x10 data, 4 GiB each. */
	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
gdtr:
	.word gdtr - gdt - 1
	.long gdt

/* Parameter block, patched by bochs.sh. */
	.org 0x1f0
p_entry:	.long 0
p_mbinfo:	.long 0
p_sectors:	.long 0
	.word 0
	.word 0xaa55
