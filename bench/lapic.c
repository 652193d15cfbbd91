/* SPDX-License-Identifier: MIT */
/*
 * LAPIC hot-path micro-benchmark.
 *
 * Measures the owner cycle (post, find pending, acknowledge, EOI) with one
 * and with several pending / in-service vectors, the parts of the cycle
 * separately, and the posting rate of several threads into one LAPIC while
 * its owner drains.
 *
 * Each single-thread scenario runs a fixed number of iterations several
 * times and keeps the best run: ns/op from CLOCK_MONOTONIC, instructions/op
 * from a user-only PERF_COUNT_HW_INSTRUCTIONS counter when the kernel lets
 * us open one. "net" subtracts the scenario's harness loop (the same loop
 * without the library calls), so it is the cost an embedder pays per op,
 * call and argument set-up included.
 *
 *	bench-lapic                              full table and threaded run
 *	bench-lapic --scenario owner1            one scenario
 *	bench-lapic --scenario owner1 --cycles K exactly K iterations, untimed
 *	                                         (for callgrind and gdb)
 *	bench-lapic --scenario S --cycles K --harness   the same loop without
 *	                                         the library calls
 *	bench-lapic --list                       scenario names
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_HAVE_PERF
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#endif

#include <virq/lapic.h>

#include "lapic/lapic_priv.h"

/* Keeps @x alive and opaque to the optimiser at zero instruction cost. */
#define SINK(x) __asm__ volatile("" : : "r"(x))
#define BARRIER() __asm__ volatile("" : : : "memory")

/* ---- embedder hooks: a no-op counter and a constant clock ---- */

/* Per thread, so concurrent posters never share (or lock) a counter. */
static _Thread_local uint64_t tls_kicks;

static void bench_kick(void *ctx)
{
	(void)ctx;
	tls_kicks++;
}

static uint64_t bench_now(void *ctx)
{
	(void)ctx;
	return 1000000000ULL;
}

static void bench_timer_arm(void *ctx, uint64_t deadline_ns)
{
	(void)ctx;
	(void)deadline_ns;
}

static void bench_timer_cancel(void *ctx)
{
	(void)ctx;
}

static const struct virq_lapic_ops bench_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = bench_kick,
	.now_ns = bench_now,
	.timer_arm = bench_timer_arm,
	.timer_cancel = bench_timer_cancel,
};

/* ---- the LAPIC under test ---- */

struct bench {
	uint32_t page[1024] __attribute__((aligned(4096)));
	struct virq_lapic apic;
	/* Snapshot of ISR, TMR, IRR and PPR taken after set-up. */
	uint32_t snap[3 * 32 + 1];
	uint8_t cycled; /* the vector an owner scenario cycles */
};

static struct bench g_bench;

static void die(const char *what)
{
	fprintf(stderr, "bench-lapic: %s\n", what);
	exit(1);
}

static void bench_init(struct bench *b)
{
	struct virq_lapic_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.bsp = true;
	cfg.x2apic = true;
	if (virq_lapic_init(&b->apic, b->page, &cfg, &bench_ops, NULL))
		die("virq_lapic_init failed");
	/* Software-enable, spurious vector 0xFF; TPR stays 0. */
	if (virq_lapic_mmio_write(&b->apic, VIRQ_LAPIC_REG_SVR, 4, 0x1FF))
		die("SVR write failed");
	tls_kicks = 0;
}

static void snap_take(const struct bench *b, uint32_t *out)
{
	for (unsigned i = 0; i < 3 * 32; i++)
		out[i] = b->page[(VIRQ_LAPIC_REG_ISR >> 2) + i];
	out[3 * 32] = b->page[VIRQ_LAPIC_REG_PPR >> 2];
}

static void post_ack(struct bench *b, uint8_t v)
{
	virq_lapic_post(&b->apic, v, false);
	if (virq_lapic_ack(&b->apic) != v)
		die("set-up: ack did not return the posted vector");
}

static void post_sync(struct bench *b, uint8_t v)
{
	virq_lapic_post(&b->apic, v, false);
	virq_lapic_sync(&b->apic);
}

/* Pending below the cycled vector, spread over IRR registers 1-6. */
static const uint8_t irr8[8] = { 0x22, 0x3A, 0x45, 0x67, 0x88, 0x9C, 0xB3, 0xD0 };
/* Nested in service, acknowledged lowest first (ISRV = 0x94, PPR = 0x90). */
static const uint8_t isr4[4] = { 0x31, 0x52, 0x73, 0x94 };

/* ---- set-ups ---- */

static void setup_plain(struct bench *b)
{
	bench_init(b);
	b->cycled = 0x61;
}

static void setup_irr8(struct bench *b)
{
	bench_init(b);
	for (unsigned i = 0; i < 8; i++)
		post_sync(b, irr8[i]);
	b->cycled = 0xE1;
}

static void setup_isr4(struct bench *b)
{
	bench_init(b);
	for (unsigned i = 0; i < 4; i++)
		post_ack(b, isr4[i]);
	b->cycled = 0xE1;
}

static void setup_irr8_isr4(struct bench *b)
{
	bench_init(b);
	for (unsigned i = 0; i < 4; i++)
		post_ack(b, isr4[i]);
	for (unsigned i = 0; i < 8; i++)
		post_sync(b, irr8[i]);
	b->cycled = 0xE1;
}

/* ON set, PIR empty: the state a busy vCPU's descriptor is in between folds. */
static void setup_on(struct bench *b)
{
	bench_init(b);
	virq_lapic_post(&b->apic, 0xF0, false);
	for (unsigned i = 0; i < 4; i++)
		__atomic_store_n(&b->apic.pi.pir[i], 0, __ATOMIC_RELAXED);
	b->cycled = 0x61;
}

/* x2APIC mode (xAPIC -> x2APIC, as a guest's WRMSR does), software-enabled. */
static void setup_x2apic(struct bench *b)
{
	bench_init(b);
	if (virq_lapic_msr_write(&b->apic, VIRQ_MSR_IA32_APIC_BASE,
				 b->apic.apic_base | VIRQ_APIC_BASE_EXTD))
		die("x2APIC enable failed");
	if (virq_lapic_msr_write(&b->apic, VIRQ_X2APIC_MSR_BASE + (VIRQ_LAPIC_REG_SVR >> 4), 0x1FF))
		die("x2APIC SVR write failed");
	b->cycled = 0x61;
}

/* PIR bit of the cycled vector (and ON) already set. */
static void setup_dup(struct bench *b)
{
	bench_init(b);
	b->cycled = 0x61;
	virq_lapic_post(&b->apic, b->cycled, false);
}

/* ---- loops (noinline: one body shared by the timed, callgrind and gdb modes) ---- */

#define NOINLINE __attribute__((noinline))

static NOINLINE void run_loop(struct bench *b, uint64_t n)
{
	(void)b;
	for (uint64_t i = 0; i < n; i++)
		BARRIER();
}

/* post(v) (the header's inline edge post); ack() (sync + find pending +
 * IRR->ISR); eoi(). */
static NOINLINE void run_owner(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;
	uint8_t v = b->cycled;

	for (uint64_t i = 0; i < n; i++) {
		virq_lapic_post_edge(l, v);
		SINK(virq_lapic_ack(l));
		virq_lapic_eoi(l);
	}
}

/* The same cycle, the post by the exported call virq_lapic_post(). */
static NOINLINE void run_owner_call(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;
	uint8_t v = b->cycled;

	for (uint64_t i = 0; i < n; i++) {
		virq_lapic_post(l, v, false);
		SINK(virq_lapic_ack(l));
		virq_lapic_eoi(l);
	}
}

/* The same cycle, the EOI written as a guest does: the xAPIC EOI register. */
static NOINLINE void run_owner_mmio(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;
	uint8_t v = b->cycled;

	for (uint64_t i = 0; i < n; i++) {
		virq_lapic_post_edge(l, v);
		SINK(virq_lapic_ack(l));
		SINK(virq_lapic_mmio_write(l, VIRQ_LAPIC_REG_EOI, 4, 0));
	}
}

/* The same cycle, the EOI a WRMSR of 0 to the x2APIC EOI MSR (0x80B). */
static NOINLINE void run_owner_msr(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;
	uint8_t v = b->cycled;

	for (uint64_t i = 0; i < n; i++) {
		virq_lapic_post_edge(l, v);
		SINK(virq_lapic_ack(l));
		SINK(virq_lapic_msr_write(l, VIRQ_X2APIC_MSR_BASE + (VIRQ_LAPIC_REG_EOI >> 4), 0));
	}
}

/* Harness of post-empty: put the descriptor back to empty after each post. */
static inline void pi_clear(struct virq_lapic *l, uint8_t v)
{
	__atomic_store_n(&l->pi.pir[v >> 6], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->pi.control, 0, __ATOMIC_RELAXED);
}

static NOINLINE void run_post_empty(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;
	uint8_t v = b->cycled;

	for (uint64_t i = 0; i < n; i++) {
		virq_lapic_post(l, v, false);
		pi_clear(l, v);
	}
}

static NOINLINE void base_post_empty(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;
	uint8_t v = b->cycled;

	for (uint64_t i = 0; i < n; i++) {
		BARRIER();
		pi_clear(l, v);
	}
}

/*
 * post-on: every post sets a PIR bit that was clear while ON stays set.
 * Vectors 32-223 in turn; PIR is emptied (ON kept) once per 192 posts.
 */
#define ON_FIRST 32U
#define ON_END 224U

static inline void pir_clear(struct virq_lapic *l)
{
	for (unsigned w = 0; w < 4; w++)
		__atomic_store_n(&l->pi.pir[w], 0, __ATOMIC_RELAXED);
}

static NOINLINE void run_post_on(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;
	unsigned v = ON_FIRST;

	for (uint64_t i = 0; i < n; i++) {
		virq_lapic_post(l, (uint8_t)v, false);
		if (++v == ON_END) {
			v = ON_FIRST;
			pir_clear(l);
		}
	}
}

static NOINLINE void base_post_on(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;
	unsigned v = ON_FIRST;

	for (uint64_t i = 0; i < n; i++) {
		SINK(v);
		if (++v == ON_END) {
			v = ON_FIRST;
			pir_clear(l);
		}
	}
}

static NOINLINE void run_post_dup(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;
	uint8_t v = b->cycled;

	for (uint64_t i = 0; i < n; i++)
		virq_lapic_post(l, v, false);
}

static NOINLINE void run_sync(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;

	for (uint64_t i = 0; i < n; i++)
		SINK(virq_lapic_sync(l));
}

static NOINLINE void run_pending(struct bench *b, uint64_t n)
{
	struct virq_lapic *l = &b->apic;

	for (uint64_t i = 0; i < n; i++)
		SINK(virq_lapic_pending(l));
}

/* ---- checks: the run left the state it started from ---- */

static const char *check_same(struct bench *b, uint64_t n)
{
	uint32_t now[3 * 32 + 1];

	(void)n;
	snap_take(b, now);
	if (memcmp(now, b->snap, sizeof(now)))
		return "ISR/TMR/IRR/PPR changed";
	if (virq_pi_pending(&b->apic.pi))
		return "descriptor not empty";
	return NULL;
}

static const char *check_kicked(struct bench *b, uint64_t n)
{
	if (tls_kicks != n)
		return "post to an empty descriptor did not kick exactly once";
	return check_same(b, n);
}

static const char *check_no_kick(struct bench *b, uint64_t n)
{
	(void)n;
	if (tls_kicks)
		return "post with ON set kicked";
	if (!(b->apic.pi.control & VIRQ_PI_CTRL_ON))
		return "ON clear";
	return NULL;
}

static const char *check_none(struct bench *b, uint64_t n)
{
	(void)n;
	if (virq_lapic_pending(&b->apic) != VIRQ_LAPIC_NO_VECTOR)
		return "a vector is pending";
	return check_same(b, n);
}

/* ---- scenario table ---- */

struct scenario {
	const char *name;
	const char *what;
	void (*setup)(struct bench *b);
	void (*run)(struct bench *b, uint64_t n);
	void (*base)(struct bench *b, uint64_t n); /* harness only; NULL: run_loop */
	const char *(*check)(struct bench *b, uint64_t n);
};

static const struct scenario scenarios[] = {
	{ "loop", "empty loop (harness of the rows without their own)", setup_plain, run_loop,
	  run_loop, NULL },
	{ "owner1", "owner cycle post+ack+eoi, nothing else pending", setup_plain, run_owner, NULL,
	  check_same },
	{ "owner1-call", "owner1, the post by the call virq_lapic_post()", setup_plain,
	  run_owner_call, NULL, check_same },
	{ "owner1-mmio", "owner1, the EOI by MMIO write (offset 0xB0, 4 bytes)", setup_plain,
	  run_owner_mmio, NULL, check_same },
	{ "owner1-msr", "owner1 in x2APIC mode, the EOI by WRMSR 0x80B", setup_x2apic,
	  run_owner_msr, NULL, check_same },
	{ "owner-irr8", "owner cycle, 8 lower vectors pending in IRR", setup_irr8, run_owner, NULL,
	  check_same },
	{ "owner-isr4", "owner cycle, 4 lower vectors nested in ISR", setup_isr4, run_owner, NULL,
	  check_same },
	{ "owner-irr8-isr4", "owner cycle, 8 pending in IRR + 4 in ISR", setup_irr8_isr4, run_owner,
	  NULL, check_same },
	{ "post-empty", "post, descriptor empty (ON 0->1, kick)", setup_plain, run_post_empty,
	  base_post_empty, check_kicked },
	{ "post-on", "post, ON already set, PIR bit clear", setup_on, run_post_on, base_post_on,
	  check_no_kick },
	{ "post-dup", "post, PIR bit already set", setup_dup, run_post_dup, NULL, check_no_kick },
	{ "sync-empty", "sync(), nothing posted", setup_plain, run_sync, NULL, check_none },
	{ "pending-empty", "pending(), nothing pending", setup_plain, run_pending, NULL,
	  check_none },
};

#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static const struct scenario *scenario_find(const char *name)
{
	for (size_t i = 0; i < N_SCENARIOS; i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

/* ---- clock and instruction counter ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int perf_fd = -1;
static char perf_why[128];

static void perf_open(void)
{
#ifdef BENCH_HAVE_PERF
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_HARDWARE;
	a.size = sizeof(a);
	a.config = PERF_COUNT_HW_INSTRUCTIONS;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	perf_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (perf_fd < 0)
		snprintf(perf_why, sizeof(perf_why), "perf_event_open: %s", strerror(errno));
#else
	snprintf(perf_why, sizeof(perf_why), "perf_event_open: %s", strerror(ENOSYS));
#endif
}

static void perf_start(void)
{
#ifdef BENCH_HAVE_PERF
	if (perf_fd >= 0) {
		ioctl(perf_fd, PERF_EVENT_IOC_RESET, 0);
		ioctl(perf_fd, PERF_EVENT_IOC_ENABLE, 0);
	}
#endif
}

/* Instructions since perf_start(), or UINT64_MAX without a counter. */
static uint64_t perf_stop(void)
{
#ifdef BENCH_HAVE_PERF
	uint64_t v;

	if (perf_fd < 0)
		return UINT64_MAX;
	ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0);
	if (read(perf_fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return UINT64_MAX;
	return v;
#else
	return UINT64_MAX;
#endif
}

/* ---- timed runs ---- */

struct result {
	double ns;   /* per op, best run */
	double insn; /* per op, fewest; < 0 without a counter */
};

static struct result measure(const struct scenario *s, void (*fn)(struct bench *, uint64_t),
			     uint64_t iters, unsigned runs)
{
	struct bench *b = &g_bench;
	struct result r = { 1e30, -1.0 };
	uint64_t best_ns = UINT64_MAX, best_insn = UINT64_MAX;
	const char *err;

	for (unsigned k = 0; k <= runs; k++) {
		uint64_t t0, t1, insn;

		s->setup(b);
		snap_take(b, b->snap);
		tls_kicks = 0;
		t0 = mono_ns();
		perf_start();
		fn(b, iters);
		insn = perf_stop();
		t1 = mono_ns();
		if (fn == s->run && s->check && (err = s->check(b, iters))) {
			fprintf(stderr, "bench-lapic: %s: %s\n", s->name, err);
			exit(1);
		}
		if (k == 0)
			continue; /* warm-up */
		if (t1 - t0 < best_ns)
			best_ns = t1 - t0;
		if (insn < best_insn)
			best_insn = insn;
	}
	if (lapic_check_invariants(&b->apic))
		die("LAPIC invariants broken after a run");
	r.ns = (double)best_ns / (double)iters;
	if (best_insn != UINT64_MAX)
		r.insn = (double)best_insn / (double)iters;
	return r;
}

static void print_insn(double v)
{
	if (v < 0)
		printf(" %8s", "n/a");
	else
		printf(" %8.2f", v);
}

static void table(const struct scenario *only, uint64_t iters, unsigned runs)
{
	printf("%-16s %8s %8s %8s %8s  %s\n", "scenario", "ns/op", "insn/op", "net ns", "net insn",
	       "what");
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		const struct scenario *s = &scenarios[i];
		struct result r, base;

		if (only && only != s && s->run != run_loop)
			continue;
		r = measure(s, s->run, iters, runs);
		base = measure(s, s->base ? s->base : run_loop, iters, runs);
		printf("%-16s %8.2f", s->name, r.ns);
		print_insn(r.insn);
		if (s->run == run_loop) {
			printf(" %8s %8s", "-", "-");
		} else {
			printf(" %8.2f", r.ns - base.ns);
			print_insn(r.insn < 0 ? -1.0 : r.insn - base.insn);
		}
		printf("  %s\n", s->what);
	}
}

/* ---- several posters, one owner ---- */

struct poster {
	pthread_t tid;
	struct virq_lapic *l;
	unsigned first; /* posts vectors first .. first + 63 in turn */
	const int *go, *stop;
	uint64_t posts, kicks, cpu_ns;
};

#define POST_BATCH 64U

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	uint64_t n = 0, c0;

	tls_kicks = 0;
	while (!__atomic_load_n(p->go, __ATOMIC_ACQUIRE))
		;
	c0 = thread_cpu_ns();
	while (!__atomic_load_n(p->stop, __ATOMIC_RELAXED)) {
		for (unsigned k = 0; k < POST_BATCH; k++)
			virq_lapic_post(p->l, (uint8_t)(p->first + k), false);
		n += POST_BATCH;
	}
	p->cpu_ns = thread_cpu_ns() - c0;
	p->posts = n;
	p->kicks = tls_kicks;
	return NULL;
}

static void threaded(unsigned nposters, double seconds)
{
	struct bench *b = &g_bench;
	struct virq_lapic *l = &b->apic;
	struct poster p[8];
	int go = 0, stop = 0;
	uint64_t t0, t1, dur = (uint64_t)(seconds * 1e9), acks = 0, polls = 0, folds = 0;
	uint64_t posts = 0, kicks = 0, c0, cpu;
	int v;

	if (nposters < 1 || nposters > 8)
		die("--posters takes 1-8");
	setup_plain(b);
	for (unsigned i = 0; i < nposters; i++) {
		p[i].l = l;
		p[i].first = 0x40U + 0x40U * (i % 3U);
		p[i].go = &go;
		p[i].stop = &stop;
		if (pthread_create(&p[i].tid, NULL, poster_main, &p[i]))
			die("pthread_create failed");
	}
	t0 = mono_ns();
	c0 = thread_cpu_ns();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (;;) {
		for (unsigned k = 0; k < 256; k++) {
			folds += virq_lapic_sync(l);
			while ((v = virq_lapic_ack(l)) >= 0) {
				virq_lapic_eoi(l);
				acks++;
			}
			polls++;
		}
		t1 = mono_ns();
		if (t1 - t0 >= dur)
			break;
	}
	cpu = thread_cpu_ns() - c0;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < nposters; i++) {
		pthread_join(p[i].tid, NULL);
		posts += p[i].posts;
		kicks += p[i].kicks;
	}
	/* Drain what the posters left behind. */
	while ((v = virq_lapic_ack(l)) >= 0) {
		virq_lapic_eoi(l);
		acks++;
	}
	if (lapic_check_invariants(l))
		die("threaded: LAPIC invariants broken");
	if (virq_pi_pending(&l->pi) || l->isrv >= 0 || l->irrv >= 0)
		die("threaded: work left after the drain");
	if (acks > posts || kicks > posts)
		die("threaded: more deliveries or kicks than posts");

	printf("\n%u poster threads -> 1 LAPIC, owner thread draining (sync/ack/eoi), %.2f s, "
	       "%ld CPUs online\n",
	       nposters, (double)(t1 - t0) / 1e9, sysconf(_SC_NPROCESSORS_ONLN));
	for (unsigned i = 0; i < nposters; i++)
		printf("  poster %u (vectors 0x%02X-0x%02X): %12.0f posts/s  %10" PRIu64
		       " kicks  %.2f s CPU\n",
		       i, p[i].first, p[i].first + POST_BATCH - 1,
		       (double)p[i].posts * 1e9 / (double)(t1 - t0), p[i].kicks,
		       (double)p[i].cpu_ns / 1e9);
	printf("  total: %.0f posts/s, %" PRIu64 " posts, %" PRIu64 " kicks (%.4f per post)\n",
	       (double)posts * 1e9 / (double)(t1 - t0), posts, kicks,
	       posts ? (double)kicks / (double)posts : 0.0);
	printf("  owner: %" PRIu64 " vectors delivered (%.0f/s), %" PRIu64 " posts merged "
	       "into a pending bit\n",
	       acks, (double)acks * 1e9 / (double)(t1 - t0), posts - acks);
	printf("  owner: %" PRIu64 " polls, %" PRIu64 " of them folded posted vectors, "
	       "%.2f s CPU\n",
	       polls, folds, (double)cpu / 1e9);
}

/* ---- main ---- */

/* gdb breaks here (scripts/bench.sh): the next library call is the probed one. */
NOINLINE void bench_probe_point(void);
NOINLINE void bench_probe_point(void)
{
	BARRIER();
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-lapic [--scenario NAME|threads] [--cycles K [--harness]]\n"
		"                   [--iters N] [--runs N] [--seconds S] [--posters N] [--list]\n");
}

static uint64_t num_arg(int argc, char **argv, int i)
{
	char *end;
	unsigned long long v;

	if (i >= argc)
		die("option needs a value");
	errno = 0;
	v = strtoull(argv[i], &end, 0);
	if (errno || *end)
		die("bad number");
	return (uint64_t)v;
}

int main(int argc, char **argv)
{
	const struct scenario *only = NULL;
	bool threads_only = false, have_cycles = false, harness = false;
	uint64_t cycles = 0, iters = 2000000;
	unsigned runs = 7, posters = 2;
	double seconds = 1.0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scenario")) {
			if (++i >= argc)
				die("--scenario needs a name");
			if (!strcmp(argv[i], "threads"))
				threads_only = true;
			else if (!(only = scenario_find(argv[i])))
				die("unknown scenario (see --list)");
		} else if (!strcmp(argv[i], "--cycles")) {
			cycles = num_arg(argc, argv, ++i);
			have_cycles = true;
		} else if (!strcmp(argv[i], "--harness")) {
			harness = true;
		} else if (!strcmp(argv[i], "--iters")) {
			iters = num_arg(argc, argv, ++i);
		} else if (!strcmp(argv[i], "--runs")) {
			runs = (unsigned)num_arg(argc, argv, ++i);
		} else if (!strcmp(argv[i], "--seconds")) {
			char *end;

			if (++i >= argc)
				die("--seconds needs a value");
			seconds = strtod(argv[i], &end);
			if (*end || !(seconds >= 0 && seconds <= 3600))
				die("bad --seconds");
		} else if (!strcmp(argv[i], "--posters")) {
			posters = (unsigned)num_arg(argc, argv, ++i);
		} else if (!strcmp(argv[i], "--list")) {
			for (size_t k = 0; k < N_SCENARIOS; k++)
				printf("%-16s %s\n", scenarios[k].name, scenarios[k].what);
			printf("%-16s %s\n", "threads",
			       "posters -> one LAPIC while the owner drains");
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!iters || !runs)
		die("--iters and --runs must be non-zero");

	if (have_cycles) {
		/* Exactly @cycles iterations, no clock, no counter: for callgrind
		 * (Ir(K) - Ir(0)) and for gdb (break at bench_probe_point).
		 * --harness runs the scenario's loop without the library calls. */
		struct bench *b = &g_bench;
		const char *err;

		if (!only)
			die("--cycles needs --scenario (not threads)");
		only->setup(b);
		snap_take(b, b->snap);
		tls_kicks = 0;
		bench_probe_point();
		if (harness) {
			(only->base ? only->base : run_loop)(b, cycles);
		} else {
			only->run(b, cycles);
			if (only->check && (err = only->check(b, cycles)))
				die(err);
		}
		if (lapic_check_invariants(&b->apic))
			die("LAPIC invariants broken");
		printf("%s: %" PRIu64 " cycles\n", only->name, cycles);
		return 0;
	}

	perf_open();
	if (!threads_only) {
		printf("bench-lapic: best of %u runs x %" PRIu64 " iterations; instructions: %s\n",
		       runs, iters, perf_fd >= 0 ? "perf_event_open, user-only" : "n/a");
		if (perf_fd < 0)
			printf("instructions: n/a (%s)\n", perf_why);
		table(only, iters, runs);
	}
	if (!only)
		threaded(posters, seconds);
	return 0;
}
