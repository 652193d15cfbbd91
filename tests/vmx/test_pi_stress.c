/* SPDX-License-Identifier: MIT */
/*
 * Posting under threads against the executable model of the hardware
 * (tests/vmx/model): the library posts, the model's processor consumes.
 *
 * One LAPIC; its pending descriptor (struct virq_lapic, member pi) is the
 * posted-interrupt descriptor of a model processor in VMX non-root
 * operation with virtual-interrupt delivery and posted-interrupt
 * processing: the model's memory is the bytes of the struct virq_lapic and
 * its PID address is the offset of pi, so the model reads and clears the
 * very words the library writes, through its own accessors (SDM Vol. 3C
 * 30.6 "Posted-Interrupt Processing").
 *
 *  - POSTERS threads post edge vectors, each from its own range of RANGE
 *    vectors. A vector is posted again only after the model delivered and
 *    EOIed it (a per-vector claim, set by its poster, released by the
 *    consumer), so every post must give exactly one delivery: two posts
 *    of a pending vector merge by design and are never made. A poster
 *    has at most INFLIGHT posts in flight, so posts, notifications and
 *    harvests interleave finely instead of in bursts. A random
 *    half of the posts go through virq_lapic_post() (notification = the
 *    kick hook), the others through virq_pi_post() on the same descriptor (notification = its
 *    return value).
 *  - The consumer thread is the model's processor: for each notification
 *    it receives the notification vector (vmx_model_ext_intr(): clear ON,
 *    EOI, PIR -> VIRR word by word with an atomic read-and-clear, RVI,
 *    evaluation), then runs instruction boundaries (virtual-interrupt
 *    delivery) and virtualized x2APIC EOIs until nothing is recognized.
 *  - A third thread toggles SN (virq_pi_set_sn()): while SN is set posts
 *    raise no notification; clearing it applies the owner's rule (PIR not
 *    empty and ON clear: set ON, notify itself).
 *
 * Checked exactly: every post delivered exactly once (per vector, posts ==
 * deliveries; a delivery of a vector with no post in flight is a
 * duplicate); a notification is sent only by the agent that turned ON
 * from 0 to 1, so at most one is ever outstanding ("no notification while
 * ON was already set") and ON is set whenever one arrives; nothing is left
 * behind (the final PID and the model's VIRR and VISR are empty). A lost
 * notification leaves posts in flight with none outstanding: the consumer
 * calls that a failure after STALL_NS instead of hanging. Threads never
 * call cmocka asserts; the first failure is recorded and asserted after
 * the join. Must be TSan-clean (suite 'concurrency').
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <virq/lapic.h>
#include <virq/pi.h>

#include "model.h"

#define POSTERS 3U
#define RANGE 64U /* vectors per poster: 32 + t * RANGE .. */
#define POSTS_PER_POSTER 30000U
#define RUN_CAP_NS (2500ULL * 1000000ULL) /* posters stop early past this */
#define STALL_NS (2ULL * 1000000000ULL)   /* work in flight, nothing outstanding */
#define INFLIGHT 4U                       /* posts a poster has in flight at most */
#define NV 0xF2U

struct world {
	struct virq_lapic apic;
	uint32_t page[1024] __attribute__((aligned(4096)));

	struct vmx_model_sys sys; /* the model's memory: the bytes of apic */
	struct vmx_model_cpu cpu; /* consumer thread only */
	uint64_t pid;             /* offsetof(struct virq_lapic, pi) */

	uint32_t claim[256];       /* 1: posted, not yet delivered and EOIed */
	uint64_t posted[256];      /* poster of the vector's range only */
	uint64_t delivered[256];   /* consumer only */
	uint64_t retired[POSTERS]; /* deliveries per poster's range (atomic) */

	/* Notifications sent and not yet received by the model's processor. */
	uint32_t outstanding;

	/* figures (atomics) */
	uint64_t notif_lapic;  /* kick hook calls */
	uint64_t notif_pi;     /* virq_pi_post() returned true */
	uint64_t notif_sn;     /* virq_pi_set_sn(false) returned true */
	uint64_t quiet;        /* posts that sent no notification */
	uint64_t quiet_sn;     /* of those, SN read as set right after the post */
	uint64_t processed;    /* notifications the model processed */
	uint64_t empty;        /* of those, with PIR found empty */
	uint64_t sn_toggles;   /* SN set/clear pairs */
	uint32_t posters_done; /* posters that finished */
	uint32_t sn_done;

	uint32_t failed;
	char why[200];
};

static struct world W;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool failed(void)
{
	return __atomic_load_n(&W.failed, __ATOMIC_SEQ_CST) != 0;
}

static void record_fail(const char *fmt, unsigned a, unsigned b)
{
	uint32_t zero = 0;

	if (__atomic_compare_exchange_n(&W.failed, &zero, 1, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		snprintf(W.why, sizeof(W.why), fmt, a, b);
}

static void add(uint64_t *p)
{
	__atomic_fetch_add(p, 1, __ATOMIC_SEQ_CST);
}

/* A notification (NV to NDST) from the agent that just turned ON from 0 to 1. */
static void notify(void)
{
	if (!vmx_model_pid_on(&W.sys, W.pid))
		record_fail("notification sent with ON clear in the descriptor", 0, 0);
	if (__atomic_fetch_add(&W.outstanding, 1, __ATOMIC_SEQ_CST) != 0)
		record_fail("notification sent while one was outstanding (ON already set)", 0, 0);
}

static _Thread_local bool kicked_here;

static void w_kick(void *ctx)
{
	(void)ctx;
	kicked_here = true;
	add(&W.notif_lapic);
	notify();
}

static uint64_t w_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static void w_timer_arm(void *ctx, uint64_t deadline)
{
	(void)ctx;
	(void)deadline;
}

static void w_timer_cancel(void *ctx)
{
	(void)ctx;
}

static const struct virq_lapic_ops w_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = w_kick,
	.now_ns = w_now,
	.timer_arm = w_timer_arm,
	.timer_cancel = w_timer_cancel,
};

static void *poster(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	unsigned base = 32U + t * RANGE;
	uint64_t start = now_ns();
	uint64_t seed = 0x9E3779B97F4A7C15ULL * (t + 1U);
	unsigned next = 0;

	for (unsigned n = 0; n < POSTS_PER_POSTER && !failed(); n++) {
		uint64_t wait_from = 0;
		unsigned v = 0;
		bool sent;

		if ((n & 255U) == 0 && now_ns() - start > RUN_CAP_NS)
			break;
		/* The next free vector of the range: one post in flight each. */
		for (;;) {
			unsigned i;

			for (i = 0; i < RANGE; i++) {
				v = base + (next + i) % RANGE;
				if (!__atomic_load_n(&W.claim[v], __ATOMIC_SEQ_CST))
					break;
			}
			if (i < RANGE &&
			    n - __atomic_load_n(&W.retired[t], __ATOMIC_SEQ_CST) < INFLIGHT)
				break;
			if (!wait_from)
				wait_from = now_ns();
			else if (now_ns() - wait_from > STALL_NS) {
				record_fail("poster %u: no vector delivered for 2 s (%u lost?)", t,
					    v);
				goto out;
			}
			if (failed())
				goto out;
			sched_yield();
		}
		next = (v - base + 1U) % RANGE;
		__atomic_store_n(&W.claim[v], 1, __ATOMIC_SEQ_CST);
		W.posted[v]++;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (seed & 0x100U) {
			sent = virq_pi_post(&W.apic.pi, (uint8_t)v, false);
			if (sent) {
				add(&W.notif_pi);
				notify();
			}
		} else {
			kicked_here = false;
			virq_lapic_post(&W.apic, (uint8_t)v, false);
			sent = kicked_here;
		}
		if (!sent) {
			add(&W.quiet);
			if (vmx_model_pid_sn(&W.sys, W.pid))
				add(&W.quiet_sn);
		}
		/* Pace near the consumer's rate so the threads really overlap. */
		for (volatile unsigned s = 0; s < (unsigned)(seed % 64U); s++)
			;
	}
out:
	__atomic_fetch_add(&W.posters_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *sn_toggler(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&W.posters_done, __ATOMIC_SEQ_CST) < POSTERS && !failed()) {
		virq_pi_set_sn(&W.apic.pi, true);
		for (unsigned i = 0; i < 3; i++)
			sched_yield();
		/* The owner's rule on clearing SN: posts made meanwhile raised
		 * no notification; if PIR holds any and ON was clear, notify. */
		if (virq_pi_set_sn(&W.apic.pi, false)) {
			add(&W.notif_sn);
			notify();
		}
		add(&W.sn_toggles);
		for (unsigned i = 0; i < 3; i++)
			sched_yield();
	}
	__atomic_store_n(&W.sn_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool any_claim(void)
{
	for (unsigned v = 32; v < 32U + POSTERS * RANGE; v++)
		if (__atomic_load_n(&W.claim[v], __ATOMIC_SEQ_CST))
			return true;
	return false;
}

/* The model's processor: one notification received, then every recognized
 * virtual interrupt delivered and EOIed, in the model's order. */
static void consume_one(void)
{
	struct vmx_model_cpu *cpu = &W.cpu;
	uint64_t harvested = 0;

	if (!vmx_model_pid_on(&W.sys, W.pid))
		record_fail("a notification arrived with ON clear", 0, 0);
	__atomic_fetch_sub(&W.outstanding, 1, __ATOMIC_SEQ_CST);
	cpu->log.n = 0;
	if (vmx_model_ext_intr(cpu, NV) != 0 || cpu->log.n != 1 ||
	    cpu->log.ev[0].kind != VMX_MODEL_EV_LAPIC_EOI) {
		record_fail("posted-interrupt processing: %u events, first kind %u", cpu->log.n,
			    cpu->log.n ? (unsigned)cpu->log.ev[0].kind : 0U);
		return;
	}
	add(&W.processed);
	for (;;) {
		unsigned v;

		cpu->log.n = 0;
		if (vmx_model_boundary(cpu) != 1)
			break;
		if (cpu->log.n != 1 || cpu->log.ev[0].kind != VMX_MODEL_EV_DELIVER) {
			record_fail("delivery: %u events, first kind %u", cpu->log.n,
				    (unsigned)cpu->log.ev[0].kind);
			return;
		}
		v = cpu->log.ev[0].a;
		harvested++;
		if (v < 32U || v >= 32U + POSTERS * RANGE ||
		    !__atomic_load_n(&W.claim[v], __ATOMIC_SEQ_CST)) {
			record_fail("vector %u delivered with no post in flight (duplicate), %u", v,
				    0);
			return;
		}
		W.delivered[v]++;
		cpu->log.n = 0;
		if (vmx_model_wrmsr(cpu, VMX_MODEL_MSR_EOI, 0) != 0 || cpu->log.n != 0 ||
		    vmx_model_bit(cpu, VMX_MODEL_VISR, v)) {
			record_fail("EOI virtualization of %u: %u events", v, cpu->log.n);
			return;
		}
		__atomic_store_n(&W.claim[v], 0, __ATOMIC_SEQ_CST);
		add(&W.retired[(v - 32U) / RANGE]);
	}
	if (!harvested)
		add(&W.empty);
}

static void *consumer(void *arg)
{
	uint64_t idle_from = 0;

	(void)arg;
	while (!failed()) {
		if (__atomic_load_n(&W.outstanding, __ATOMIC_SEQ_CST)) {
			consume_one();
			idle_from = 0;
			continue;
		}
		if (__atomic_load_n(&W.posters_done, __ATOMIC_SEQ_CST) == POSTERS &&
		    __atomic_load_n(&W.sn_done, __ATOMIC_SEQ_CST) && !any_claim() &&
		    !__atomic_load_n(&W.outstanding, __ATOMIC_SEQ_CST))
			break;
		if (any_claim()) {
			/* Posts in flight, no notification outstanding: fine while
			 * SN holds them back, a lost notification if it lasts. */
			if (!idle_from)
				idle_from = now_ns();
			else if (now_ns() - idle_from > STALL_NS)
				record_fail("posts in flight and no notification for 2 s (lost)", 0,
					    0);
		} else {
			idle_from = 0;
		}
		sched_yield();
	}
	return NULL;
}

static void test_posting_against_model(void **state)
{
	struct virq_lapic_config cfg;
	pthread_t th[POSTERS + 2];
	uint64_t posts = 0, deliveries = 0, notifs;
	uint64_t out[4];

	(void)state;
	memset(&W, 0, sizeof(W));
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.bsp = true;
	cfg.x2apic = true;
	assert_int_equal(virq_lapic_init(&W.apic, W.page, &cfg, &w_ops, &W), 0);

	/* The model's memory is the LAPIC; its PID is the LAPIC's descriptor. */
	W.sys.mem = (uint8_t *)&W.apic;
	W.sys.size = sizeof(W.apic);
	W.sys.maxphyaddr = 46;
	W.sys.host_x2apic = true;
	W.pid = offsetof(struct virq_lapic, pi);
	assert_int_equal(W.pid % 64U, 0);
	vmx_model_init(&W.cpu, &W.sys);
	W.cpu.vid = true;
	W.cpu.x2apic_virt = true;
	W.cpu.posted = true;
	W.cpu.nv = NV;
	W.cpu.pid_addr = W.pid;
	W.cpu.rflags_if = true;
	assert_int_equal(vmx_model_vmentry(&W.cpu), 0);
	assert_true(W.cpu.in_guest);

	for (unsigned t = 0; t < POSTERS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, poster, (void *)(uintptr_t)t), 0);
	assert_int_equal(pthread_create(&th[POSTERS], NULL, sn_toggler, NULL), 0);
	assert_int_equal(pthread_create(&th[POSTERS + 1], NULL, consumer, NULL), 0);
	for (unsigned t = 0; t < POSTERS + 2; t++)
		pthread_join(th[t], NULL);

	if (W.failed)
		fail_msg("%s", W.why);

	for (unsigned v = 0; v < 256; v++) {
		if (W.posted[v] != W.delivered[v])
			fail_msg("vector %u: %llu posts, %llu deliveries", v,
				 (unsigned long long)W.posted[v],
				 (unsigned long long)W.delivered[v]);
		posts += W.posted[v];
		deliveries += W.delivered[v];
	}
	notifs = W.notif_lapic + W.notif_pi + W.notif_sn;
	print_message("posts %llu (lapic_post %llu kicks, pi_post %llu notifications), "
		      "deliveries %llu, lost 0, duplicated 0\n",
		      (unsigned long long)posts, (unsigned long long)W.notif_lapic,
		      (unsigned long long)W.notif_pi, (unsigned long long)deliveries);
	print_message("notifications %llu (posts %llu + SN clears %llu), processed %llu "
		      "(PIR empty %llu); posts without notification (ON already set or SN) %llu, "
		      "SN seen set %llu; SN toggles %llu\n",
		      (unsigned long long)notifs, (unsigned long long)(W.notif_lapic + W.notif_pi),
		      (unsigned long long)W.notif_sn, (unsigned long long)W.processed,
		      (unsigned long long)W.empty, (unsigned long long)W.quiet,
		      (unsigned long long)W.quiet_sn, (unsigned long long)W.sn_toggles);

	assert_int_equal(deliveries, posts);
	assert_true(posts >= 1000);
	/* Every post either notified or found a notification outstanding /
	 * SN set; every notification was received exactly once. */
	assert_int_equal(W.notif_lapic + W.notif_pi + W.quiet, posts);
	assert_int_equal(W.processed, notifs);
	assert_int_equal(W.outstanding, 0);
	/* Nothing left: ON, SN and PIR clear; the model's VIRR and VISR empty. */
	assert_false(vmx_model_pid_on(&W.sys, W.pid));
	assert_false(vmx_model_pid_sn(&W.sys, W.pid));
	assert_false(virq_pi_harvest(&W.apic.pi, out));
	assert_int_equal(vmx_model_highest(&W.cpu, VMX_MODEL_VIRR), -1);
	assert_int_equal(vmx_model_highest(&W.cpu, VMX_MODEL_VISR), -1);
	assert_int_equal(W.cpu.rvi, 0);
	assert_int_equal(W.cpu.svi, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posting_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
