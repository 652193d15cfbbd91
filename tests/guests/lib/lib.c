/* SPDX-License-Identifier: MIT */
/*
 * Guest runtime: C entry, IDT and interrupt dispatch, fault fixups,
 * formatted output on COM1, test bookkeeping, fw_cfg and Multiboot info.
 */
#include "guest.h"

extern const char isr_stubs[];
extern const char sti_hlt_hlt[];
extern uint8_t idt[];
extern uint32_t mb_magic;
extern const struct ex_entry {
	uint64_t insn, fixup;
} __ex_table_start[], __ex_table_end[];

struct percpu percpu[MAX_CPUS];
volatile uint32_t irq_count[MAX_CPUS][256];
unsigned nr_cpus = 1;
uint64_t ram_size;

static irq_handler_t handlers[256];

/* ---------------------------------------------------------------------- */
/* Memory and strings (the compiler may emit calls to these) */

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

unsigned long strtoul_simple(const char *s)
{
	unsigned long v = 0;
	unsigned base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		v = v * base + d;
	}
	return v;
}

/* ---------------------------------------------------------------------- */
/* Formatting */

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, unsigned long long v, unsigned base, bool neg, int width,
		    bool zero, bool left, bool upper)
{
	char tmp[24];
	int n = 0, pad;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	pad = width - n - (neg ? 1 : 0);
	if (!left && !zero)
		for (; pad > 0; pad--)
			put(o, ' ');
	if (neg)
		put(o, '-');
	if (!left && zero)
		for (; pad > 0; pad--)
			put(o, '0');
	while (n)
		put(o, tmp[--n]);
	if (left)
		for (; pad > 0; pad--)
			put(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		bool zero = false, left = false;
		int width = 0, lng = 0;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				zero = true;
			else if (*fmt == '-')
				left = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
			bool neg = v < 0;

			put_num(&o, neg ? 0ULL - (unsigned long long)v : (unsigned long long)v, 10,
				neg, width, zero, left, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v = lng ? va_arg(ap, unsigned long long)
						   : va_arg(ap, unsigned int);

			put_num(&o, v, *fmt == 'u' ? 10 : 16, false, width, zero, left,
				*fmt == 'X');
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, width, zero, left,
				false);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n;

			if (!s)
				s = "(null)";
			n = (int)strlen(s);
			if (!left)
				for (; width > n; width--)
					put(&o, ' ');
			while (*s)
				put(&o, *s++);
			for (; width > n; width--)
				put(&o, ' ');
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static spinlock_t print_lock;

/* COM1 THR; the VMM's and QEMU's UARTs are always ready (LSR 0x60), so the
 * LSR is not polled: one exit per byte instead of two. */
static void serial_write(const char *s)
{
	for (; *s; s++)
		outb(COM1, (uint8_t)*s);
}

static void vprint(const char *fmt, va_list ap)
{
	char buf[256];
	uint64_t f;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	f = irq_save();
	spin_lock(&print_lock);
	serial_write(buf);
	spin_unlock(&print_lock);
	irq_restore(f);
}

void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------------- */
/* Test bookkeeping (BSP only) */

static unsigned n_passed, n_failed, n_skipped;
static const char *cur_name;
static bool cur_failed, cur_skipped;
static const char *cur_skip;

void test_begin(const char *name)
{
	cur_name = name;
	cur_failed = false;
	cur_skipped = false;
}

void test_fail(const char *fmt, ...)
{
	char buf[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("FAIL: %s %s\n", cur_name ? cur_name : "?", buf);
	cur_failed = true;
}

void test_skip(const char *why)
{
	cur_skipped = true;
	cur_skip = why;
}

bool test_ok(void)
{
	return !cur_failed;
}

bool test_end(void)
{
	bool ok = !cur_failed;

	if (!ok) {
		n_failed++; /* its FAIL: lines are out already */
	} else if (cur_skipped) {
		/* A skip is not a pass: counted apart, never as PASS. */
		n_skipped++;
		printf("SKIP: %s: %s\n", cur_name, cur_skip);
	} else {
		n_passed++;
		printf("PASS: %s\n", cur_name);
	}
	cur_name = NULL;
	return ok;
}

static volatile uint32_t finishing;

void finish(void)
{
	if (__atomic_exchange_n(&finishing, 1, __ATOMIC_SEQ_CST)) {
		for (;;) {
			cli();
			__asm__ volatile("hlt");
		}
	}
	if (cur_name) /* a test left open by panic() */
		test_end();
	{
		uint32_t n = 0;

		for (unsigned c = 0; c < MAX_CPUS; c++)
			n += percpu[c].hlt_stepped;
		if (n)
			printf("note: %u interrupts landed on the HLT right after STI (this host does "
			       "not honour the STI interrupt shadow); the handler resumed after "
			       "those HLTs\n",
			       n);
	}
	printf("SUMMARY: %u passed, %u failed, %u skipped\n", n_passed, n_failed, n_skipped);
	/* 0: nothing failed and some check ended; the runner tells a run with
	 * skipped checks from a pass by the SUMMARY line. */
	outb(PORT_DEBUG_EXIT, n_failed || !(n_passed + n_skipped) ? 1 : 0);
	/* No isa-debug-exit: try the Bochs/QEMU shutdown port, then park. */
	for (const char *s = "Shutdown"; *s; s++)
		outb(PORT_SHUTDOWN, (uint8_t)*s);
	for (;;) {
		cli();
		__asm__ volatile("hlt");
	}
}

void panic(const char *fmt, ...)
{
	char buf[200];
	va_list ap;

	cli();
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Print without the lock: the lock holder may be this CPU. */
	serial_write("FAIL: ");
	serial_write(cur_name ? cur_name : "panic");
	serial_write(" ");
	serial_write(buf);
	serial_write("\n");
	if (cur_name)
		cur_failed = true;
	else
		n_failed++;
	finish();
}

/* ---------------------------------------------------------------------- */
/* Faults */

int rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;
	int faulted = 0;

	__asm__ volatile("1: rdmsr\n"
			 "2:\n"
			 ".pushsection .fixup, \"ax\"\n"
			 "3: movl $1, %[f]\n"
			 "jmp 2b\n"
			 ".popsection\n"
			 ".pushsection .ex_table, \"a\"\n"
			 ".quad 1b, 3b\n"
			 ".popsection\n"
			 : "+a"(lo), "+d"(hi), [f] "+r"(faulted)
			 : "c"(msr)
			 : "memory");
	if (faulted)
		return percpu[cpu_id()].exc_vector;
	*val = ((uint64_t)hi << 32) | lo;
	return -1;
}

int wrmsr_safe(uint32_t msr, uint64_t val)
{
	int faulted = 0;

	__asm__ volatile("1: wrmsr\n"
			 "2:\n"
			 ".pushsection .fixup, \"ax\"\n"
			 "3: movl $1, %[f]\n"
			 "jmp 2b\n"
			 ".popsection\n"
			 ".pushsection .ex_table, \"a\"\n"
			 ".quad 1b, 3b\n"
			 ".popsection\n"
			 : [f] "+r"(faulted)
			 : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
			 : "memory");
	return faulted ? percpu[cpu_id()].exc_vector : -1;
}

/* ---------------------------------------------------------------------- */
/* Interrupts */

void set_handler(unsigned vec, irq_handler_t h)
{
	handlers[vec & 0xFF] = h;
}

uint32_t irq_total(unsigned vec)
{
	uint32_t n = 0;

	for (unsigned c = 0; c < MAX_CPUS; c++)
		n += irq_count[c][vec];
	return n;
}

void irq_counts_clear(void)
{
	for (unsigned c = 0; c < MAX_CPUS; c++)
		for (unsigned v = 0; v < 256; v++)
			irq_count[c][v] = 0;
}

void handler(uint64_t vector, struct frame *f);
void handler(uint64_t vector, struct frame *f)
{
	unsigned cpu = cpu_id();

	/* Taken on sti_hlt()'s HLT, which has not run: the STI shadow was not
	 * honoured. This interrupt is the wake-up the HLT waited for. */
	if (f->rip == (uintptr_t)sti_hlt_hlt) {
		f->rip++; /* HLT is one byte */
		percpu[cpu].hlt_stepped++;
	}
	if (vector < 32 && vector != 2) {
		for (const struct ex_entry *e = __ex_table_start; e < __ex_table_end; e++) {
			if (e->insn == f->rip) {
				percpu[cpu].exc_vector = (int)vector;
				f->rip = e->fixup;
				return;
			}
		}
		if (!handlers[vector])
			panic("unexpected exception %u on cpu %u: rip 0x%llx error 0x%llx",
			      (unsigned)vector, cpu, (unsigned long long)f->rip,
			      (unsigned long long)f->error);
	}
	irq_count[cpu][vector]++;
	if (handlers[vector])
		handlers[vector](f);
	else if (vector != 2 && vector != VEC_SPURIOUS)
		apic_eoi();
}

static void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)(uintptr_t)(isr_stubs + 16 * v);
		uint8_t *e = idt + 16 * v;

		e[0] = (uint8_t)a;
		e[1] = (uint8_t)(a >> 8);
		e[2] = 0x18; /* 64-bit code selector */
		e[3] = 0;
		e[4] = 0;    /* IST */
		e[5] = 0x8E; /* present, DPL 0, interrupt gate */
		e[6] = (uint8_t)(a >> 16);
		e[7] = (uint8_t)(a >> 24);
		e[8] = (uint8_t)(a >> 32);
		e[9] = (uint8_t)(a >> 40);
		e[10] = (uint8_t)(a >> 48);
		e[11] = (uint8_t)(a >> 56);
		e[12] = e[13] = e[14] = e[15] = 0;
	}
}

/* 64-bit TSS (SDM Vol. 3A "Task Management in 64-bit Mode", "64-Bit
 * Task State Segment (TSS)"): RSP0-2 unused (everything runs at CPL 0),
 * IST1-7, no I/O permission bitmap (its offset is the TSS limit + 1). */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static struct tss64 tss[MAX_CPUS] __attribute__((aligned(64)));
static bool tss_loaded[MAX_CPUS];

/* This CPU's TSS descriptor (SDM Vol. 3A "TSS Descriptor in 64-bit
 * Mode": 16 bytes, type 9 = available 64-bit TSS, present), then LTR,
 * which marks it busy. */
static void tss_load(unsigned cpu)
{
	extern uint64_t gdt_tss[];
	uint64_t base = (uint64_t)(uintptr_t)&tss[cpu], limit = sizeof(tss[cpu]) - 1;
	uint16_t sel = (uint16_t)TSS_SEL(cpu);

	tss[cpu].iomap_base = sizeof(tss[cpu]);
	gdt_tss[2 * cpu] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | 0x89ULL << 40 |
			   (limit >> 16 & 0xF) << 48 | (base >> 24 & 0xFF) << 56;
	gdt_tss[2 * cpu + 1] = base >> 32;
	__asm__ volatile("ltr %0" : : "r"(sel) : "memory");
	tss_loaded[cpu] = true;
}

void ist_set_stack(unsigned ist, uint64_t top)
{
	unsigned cpu = cpu_id();

	if (ist < 1 || ist > 7)
		panic("IST slot %u (1-7)", ist);
	if (!tss_loaded[cpu])
		tss_load(cpu);
	tss[cpu].ist[ist - 1] = top;
}

void set_ist(unsigned vec, unsigned ist)
{
	idt[16 * (vec & 0xFF) + 4] = (uint8_t)(ist & 7);
}

/* ---------------------------------------------------------------------- */
/* Configuration: fw_cfg and the Multiboot module */

static char mb_text[4096];
static char mb_cmdline[256]; /* the words after argv[0] */
static char mb_argv0[128];

static void fwcfg_read(uint16_t key, void *buf, size_t n)
{
	uint8_t *p = buf;

	outw(PORT_FWCFG_SEL, key);
	while (n--)
		*p++ = inb(PORT_FWCFG_DATA);
}

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};
struct mb_mod {
	uint32_t start, end, string, reserved;
};

static void mb_parse(void)
{
	const struct mb_info *mi = (const struct mb_info *)(uintptr_t)mb_info_addr;
	const struct mb_mod *m;
	size_t n;

	if (mb_magic != 0x2BADB002 || !mi)
		return;
	if ((mi->flags & (1u << 2)) && mi->cmdline) {
		/* The loader's own first word (QEMU and virq-vmm: the image
		 * as named to them), then the words given to the guest. */
		const char *c = (const char *)(uintptr_t)mi->cmdline;

		while (*c == ' ')
			c++;
		for (n = 0; *c && *c != ' '; c++)
			if (n < sizeof(mb_argv0) - 1)
				mb_argv0[n++] = *c;
		mb_argv0[n] = '\0';
		for (n = 0; n < sizeof(mb_cmdline) - 1 && c[n]; n++)
			mb_cmdline[n] = c[n];
		mb_cmdline[n] = '\0';
	}
	if (!(mi->flags & (1u << 3)) || !mi->mods_count)
		return;
	m = (const struct mb_mod *)(uintptr_t)mi->mods_addr;
	if (m->end <= m->start)
		return;
	n = m->end - m->start;
	if (n > sizeof(mb_text) - 1)
		n = sizeof(mb_text) - 1;
	memcpy(mb_text, (const void *)(uintptr_t)m->start, n);
	mb_text[n] = '\0';
}

const char *mb_config(const char *key)
{
	static char val[64];
	size_t kl = strlen(key);

	for (const char *p = mb_text; *p;) {
		const char *eol = p;

		while (*eol && *eol != '\n')
			eol++;
		if ((size_t)(eol - p) > kl && !memcmp(p, key, kl) && p[kl] == '=') {
			size_t n = (size_t)(eol - p) - kl - 1;

			if (n >= sizeof(val))
				n = sizeof(val) - 1;
			memcpy(val, p + kl + 1, n);
			while (n && (val[n - 1] == '\r' || val[n - 1] == ' '))
				n--;
			val[n] = '\0';
			return val;
		}
		p = *eol ? eol + 1 : eol;
	}
	return NULL;
}

const char *mb_image_name(void)
{
	return mb_argv0;
}

bool mb_cmdline_has(const char *word)
{
	size_t wl = strlen(word);

	if (!wl)
		return false;
	for (const char *p = mb_cmdline; *p;) {
		const char *e = p;

		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) == wl && !memcmp(p, word, wl))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

/* CPUID's word on a feature, which the command line may state in advance:
 * "expect-NAME" or "expect-no-NAME". */
static bool cpu_feature(const char *name, unsigned bit, bool has)
{
	char yes[40], no[40];

	snprintf(yes, sizeof(yes), "expect-%s", name);
	snprintf(no, sizeof(no), "expect-no-%s", name);
	if (has && mb_cmdline_has(no))
		test_fail("CPUID.1:ECX[%u] set (%s) but the command line says %s", bit, name, no);
	if (!has && mb_cmdline_has(yes))
		test_fail("CPUID.1:ECX[%u] clear (no %s) but the command line says %s", bit, name,
			  yes);
	return has;
}

bool x2apic_expected(void)
{
	return cpu_feature("x2apic", 21, cpu_has_x2apic());
}

bool tsc_deadline_expected(void)
{
	return cpu_feature("tsc-deadline", 24, cpu_has_tsc_deadline());
}

bool quirk(const char *name)
{
	static const char *noted[8];
	const char *q = mb_config("QUIRKS");
	size_t nl = strlen(name);
	bool on = mb_cmdline_has(name);

	for (const char *p = q; p && *p && !on;) {
		const char *e = p;

		while (*e && *e != ',' && *e != ' ')
			e++;
		on = (size_t)(e - p) == nl && !memcmp(p, name, nl);
		p = *e ? e + 1 : e;
	}
	if (on) {
		unsigned i;

		for (i = 0; i < 8 && noted[i] && noted[i] != name; i++)
			;
		if (i < 8 && !noted[i]) {
			noted[i] = name;
			printf("quirk: %s tolerated\n", name);
		}
	}
	return on;
}

static void config_init(void)
{
	uint16_t cpus = 0;
	const char *s;

	mb_parse();
	fwcfg_read(0x05, &cpus, sizeof(cpus));
	fwcfg_read(0x03, &ram_size, sizeof(ram_size));
	if (ram_size == ~0ULL)
		ram_size = 0;
	if (cpus && cpus != 0xFFFF)
		nr_cpus = cpus;
	else if ((s = mb_config("NR_CPUS")) != NULL)
		nr_cpus = (unsigned)strtoul_simple(s);
	if (nr_cpus < 1)
		nr_cpus = 1;
	if (nr_cpus > MAX_CPUS)
		nr_cpus = MAX_CPUS;
}

/* ---------------------------------------------------------------------- */

#ifndef GUEST_NAME
#define GUEST_NAME "guest"
#endif

/* Overridden (true) by a program whose BSP must find its LAPIC as the
 * platform left it. Read through a volatile access: gcc 12 -O2 folds a
 * weak const's initializer into its readers, so the program's definition
 * was never read and apic_setup() always ran. */
__attribute__((weak)) const bool boot_keeps_lapic = false;

void boot_main(void);
void boot_main(void)
{
	idt_init();
	/* The 8259s stay masked unless a test programs them (OCW1 only). */
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
	config_init();
	apic_set_x2_flag(rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD);
	if (!*(const volatile bool *)&boot_keeps_lapic)
		apic_setup();
	printf("\nguest %s: %u cpu(s), bsp apic id %u\n", GUEST_NAME, nr_cpus, cpu_id());
	main();
	finish();
}
