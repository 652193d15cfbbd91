/* SPDX-License-Identifier: MIT */
/*
 * virq-hv output and the end of a run: printf to port 0xE9 (Bochs's
 * port_e9_hack) and COM1, the "bochs-exit: N" result line scripts/bochs.sh
 * reads, the host exception report, and the memory functions the compiler
 * and libvirq (built freestanding) call.
 */
#include "hv.h"

#define COM1 0x3F8

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);

/* REP STOSB / MOVSB: one instruction for Bochs to emulate, not a loop. */
void *memset(void *d, int c, size_t n)
{
	void *p = d;

	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *p = d;

	__asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

static void putc_out(char c)
{
	/* COM1: wait (bounded) for THR empty, LSR bit 5. */
	for (unsigned i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
	outb(0xE9, (uint8_t)c);
}

static size_t emit(char *buf, size_t size, size_t n, char c)
{
	if (n + 1 < size)
		buf[n] = c;
	return n + 1;
}

/* %c %s %d %u %x %p with l/ll, a width and the 0 flag: what the hv prints. */
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t n = 0;

	for (; *fmt; fmt++) {
		char tmp[24], pad = ' ';
		unsigned width = 0, longs = 0, base = 10, len = 0;
		uint64_t u;
		const char *s;
		bool neg = false;

		if (*fmt != '%') {
			n = emit(buf, size, n, *fmt);
			continue;
		}
		if (*++fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l')
			longs++, fmt++;
		switch (*fmt) {
		case 'c':
			n = emit(buf, size, n, (char)va_arg(ap, int));
			continue;
		case 's':
			s = va_arg(ap, const char *);
			for (len = 0; s[len]; len++)
				;
			while (width-- > len)
				n = emit(buf, size, n, ' ');
			while (*s)
				n = emit(buf, size, n, *s++);
			continue;
		case 'd': {
			int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);

			neg = v < 0;
			u = neg ? -(uint64_t)v : (uint64_t)v;
			break;
		}
		case 'p':
			longs = 1;
			n = emit(buf, size, n, '0');
			n = emit(buf, size, n, 'x');
			/* fall through */
		case 'x':
			base = 16;
			/* fall through */
		case 'u':
			u = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			break;
		default:
			n = emit(buf, size, n, *fmt ? *fmt : '%');
			if (!*fmt)
				fmt--;
			continue;
		}
		do {
			tmp[len++] = "0123456789abcdef"[u % base];
			u /= base;
		} while (u);
		if (neg)
			tmp[len++] = '-';
		while (width-- > len)
			n = emit(buf, size, n, pad);
		while (len)
			n = emit(buf, size, n, tmp[--len]);
	}
	if (size)
		buf[n < size ? n : size - 1] = '\0';
	return (int)n;
}

static volatile uint32_t print_lock;

void hv_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One line at a time across CPUs. */
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	for (const char *p = buf; *p; p++)
		putc_out(*p);
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

/* The result line for scripts/bochs.sh, then the end of the Bochs run. */
void hv_exit(int status)
{
	hv_printf("bochs-exit: %d\n", status);
	bochs_quit();
}

/* Host exceptions: the hv has no use for any, so each is fatal. */
void hv_fault(uint64_t vector, const uint64_t *frame)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	hv_printf("virq-hv: FATAL: host exception %u, error code %lx, RIP %lx, CR2 %lx\n",
		  (unsigned)vector, frame[0], frame[1], cr2);
	hv_exit(2);
}

static uint64_t idt[256 * 2];
static struct __attribute__((packed)) {
	uint16_t limit;
	uint64_t base;
} idt_desc_s;

static void idt_gate(unsigned v, const uint8_t *stub)
{
	uint64_t a = (uint64_t)(uintptr_t)stub;

	idt[2 * v] = (a & 0xFFFFULL) | (0x08ULL << 16) | (0x8EULL << 40) |
		     ((a >> 16 & 0xFFFFULL) << 48);
	idt[2 * v + 1] = a >> 32;
}

/* 64-bit interrupt gates (SDM Vol. 3A 6.14.1 "64-Bit Mode IDT"): the
 * exceptions, the host timer and the spurious vector; any other vector
 * finds a not-present gate and is reported as a host fault. */
void idt_init(void)
{
	for (unsigned v = 0; v < 32; v++)
		idt_gate(v, fault_stubs + 16 * v);
	idt_gate(HV_TIMER_VECTOR, host_timer_stub);
	idt_gate(HV_KICK_VECTOR, host_timer_stub); /* EOI and return: the loop looks again */
	idt_gate(0xFF, host_spurious_stub);
	idt_desc_s.limit = sizeof(idt) - 1;
	idt_desc_s.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(idt_desc_s));
}
