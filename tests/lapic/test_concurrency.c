/* SPDX-License-Identifier: MIT */
/*
 * One LAPIC, several poster threads, one owner thread (doc/architecture.md "Ownership
 * and threads"; lapic.h "Threads").
 *
 * Posters call virq_lapic_post() (fixed vectors 32-255, some of them
 * level-triggered) from their own threads. The owner loops the way a vCPU
 * thread does: ack + EOI everything deliverable, and when
 * virq_lapic_has_work() says there is nothing to do it blocks until the
 * kick hook bumps a counter. A post whose kick is lost therefore leaves the
 * owner asleep with work outstanding: the owner's timed wait turns that
 * into a test failure instead of a hang.
 *
 * Exact counts: vector v has at most one post in flight. A poster claims v
 * (0 -> 1 on a per-vector flag) before posting it and the owner releases
 * the claim when it acknowledges v, so each post is delivered exactly once
 * (IRR holds it while the previous one may still sit in ISR). Posters pick
 * vectors from the same pool, so every vector is posted by several threads
 * over the run. The phased test posts genuine duplicates (every poster, the
 * same vectors, at once) and checks they merge into one delivery and one
 * kick per channel (edge posts notify through ON, level posts through their
 * own flag); the racing test checks that two simultaneous first posts kick
 * once.
 *
 * Races are only found when the threads really overlap: racing threads are
 * pinned to different CPUs when there are two, posters are paced near the
 * owner's rate, and a poster whose post did not kick checks that its bit
 * is not left behind with no notification outstanding (a wrong clear-ON /
 * harvest order shows up there long before it causes a hang). Measured
 * against deliberately broken copies of the library: ON cleared after the
 * PIR harvest, a non-atomic PIR read-and-clear, a double notification and
 * a missing kick were each caught in (nearly) every run.
 *
 * NMIs from two threads (the last test) are counted, not merged: the owner,
 * running the vCPU policy (vcpu.h), must inject every one of them.
 *
 * Threads never call cmocka asserts; they record the first failure and the
 * test thread asserts after joining. Must be TSan-clean.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <virq/lapic.h>
#include <virq/vcpu.h>

#include "lapic/lapic_priv.h"

#define MAX_POSTERS 8
#define OWNER_STALL_NS (5ULL * 1000000000ULL)   /* owner asleep with work: lost wakeup */
#define POSTER_STALL_NS (15ULL * 1000000000ULL) /* no claim possible for this long */
/*
 * Soft cap on posts in flight. Most vectors stay free, so posters keep
 * posting while the owner folds and acks (with every vector claimed they
 * would only post right after a release, never during a fold).
 */
#define INFLIGHT_CAP 6U
#define PACE 1000U

enum {
	FAIL_NONE = 0,
	FAIL_LOST_WAKEUP,  /* owner slept OWNER_STALL_NS although posts were outstanding */
	FAIL_LOST_POST,    /* posters done, owner drained, a post never arrived */
	FAIL_DOUBLE,       /* a vector delivered more often than posted */
	FAIL_UNPOSTED,     /* a vector nobody posted was delivered */
	FAIL_TMR,          /* TMR of a delivered vector disagrees with its trigger mode */
	FAIL_POSTER_STALL, /* a poster could not claim any vector for POSTER_STALL_NS */
	FAIL_PHASE_KICKS,  /* phased test: not exactly one kick for a burst */
	FAIL_PHASE_ORDER,  /* phased test: wrong vector, order or count */
	FAIL_STRANDED,     /* a post that did not kick left its bit with no notification */
	FAIL_MIXED_TMR,    /* a level post was accepted as edge */
	FAIL_NMI_COUNT,    /* NMI test: not exactly two NMIs injected in a round */
};

struct world {
	uint32_t page[1024] __attribute__((aligned(4096)));
	struct virq_lapic apic;

	unsigned n_posters;
	unsigned posts_per_poster;
	unsigned pace; /* posters spin 0..pace-1 iterations between posts */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t kicks;        /* bumped by the kick hook (atomic, under lock) */
	unsigned posters_done; /* atomic, under lock */

	uint8_t inflight[256];   /* claim flags (atomic) */
	unsigned n_inflight;     /* claims held (atomic); posters keep it near INFLIGHT_CAP */
	uint64_t posts[256];     /* atomic */
	uint64_t total_posts;    /* atomic */
	uint64_t delivered[256]; /* atomic */
	uint64_t total_delivered;
	uint64_t level_eois[256];
	uint64_t harvest_calls; /* owner calls that may fold posted work (ack, has_work) */
	uint64_t fold_seq;      /* odd while the owner is inside such a call (atomic) */
	uint64_t quiet_posts;   /* posts that did not kick (atomic) */

	/* phased test */
	pthread_barrier_t barrier;
	unsigned rounds;

	int failed;
	unsigned fail_vector;
};

static struct world W;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t ld64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static bool is_failed(void)
{
	return __atomic_load_n(&W.failed, __ATOMIC_SEQ_CST) != FAIL_NONE;
}

static void record_fail(int code, unsigned vector)
{
	int none = FAIL_NONE;

	if (__atomic_compare_exchange_n(&W.failed, &none, code, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		__atomic_store_n(&W.fail_vector, vector, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&W.lock);
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.lock);
}

/* Level-triggered vectors: a fixed subset, never posted edge. */
static bool vec_is_level(unsigned v)
{
	return v % 5 == 0;
}

/* ---- embedder hooks ---- */

/* Set by the kick hook on the posting thread: did my post kick? */
static __thread bool kicked_here;

static void w_kick(void *ctx)
{
	struct world *w = ctx;

	kicked_here = true;
	pthread_mutex_lock(&w->lock);
	__atomic_fetch_add(&w->kicks, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
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

static void w_eoi_level(void *ctx, uint8_t vector)
{
	struct world *w = ctx;

	__atomic_fetch_add(&w->level_eois[vector], 1, __ATOMIC_SEQ_CST);
}

static const struct virq_lapic_ops w_ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = w_kick,
	.now_ns = w_now,
	.timer_arm = w_timer_arm,
	.timer_cancel = w_timer_cancel,
	.eoi_level = w_eoi_level,
};

static void world_init(unsigned n_posters, unsigned posts_per_poster)
{
	struct virq_lapic_config cfg;
	uint64_t junk = 0;

	memset(&W, 0, sizeof(W));
	W.n_posters = n_posters;
	W.posts_per_poster = posts_per_poster;
	pthread_mutex_init(&W.lock, NULL);
	pthread_cond_init(&W.cond, NULL);

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	cfg.apic_id = 0;
	cfg.bsp = true;
	cfg.x2apic = true;
	assert_int_equal(virq_lapic_init(&W.apic, W.page, &cfg, &w_ops, &W), 0);
	/* Software-enable (SVR = 0x1FF) before the threads start. */
	assert_int_equal(virq_lapic_mmio_write(&W.apic, VIRQ_LAPIC_REG_SVR, 4, 0x1FF), 0);
	assert_int_equal(virq_lapic_mmio_read(&W.apic, VIRQ_LAPIC_REG_SVR, 4, &junk), 0);
	assert_int_equal(junk, 0x1FF);
}

static void world_fini(void)
{
	pthread_cond_destroy(&W.cond);
	pthread_mutex_destroy(&W.lock);
}

/*
 * Pins the calling thread to the @nth CPU it may run on (when there are at
 * least two), so the owner and the posters really run at the same time on
 * a loaded machine instead of taking turns on one CPU. Best effort.
 */
static void pin_to_nth_cpu(unsigned nth)
{
	cpu_set_t allowed, one;
	unsigned seen = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) || CPU_COUNT(&allowed) < 2)
		return;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &allowed))
			continue;
		if (seen++ == nth % (unsigned)CPU_COUNT(&allowed)) {
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
			return;
		}
	}
}

/* TMR bit of @v on the register page (owner thread). */
static bool page_tmr(unsigned v)
{
	return (W.page[(VIRQ_LAPIC_REG_TMR >> 2) + (v >> 5) * 4] >> (v & 31U)) & 1U;
}

/* ---- free-running test ---- */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * A post that did not kick relied on a notification already outstanding
 * (ON set). If ON later reads clear, the fold that cleared it must have
 * taken our bit, since ON is cleared before PIR is read. So: our bit still
 * in PIR, ON clear, and the owner not inside a folding call around the
 * reads means the bit is stranded (only the next unrelated post would
 * bring it in). The poster looks for such a quiet moment for a while,
 * until its post has been delivered; the bit cannot be somebody else's
 * meanwhile, since we hold the vector's claim until its delivery.
 */
static void check_not_stranded(unsigned v, uint64_t my_post)
{
	uint64_t bit = 1ULL << (v & 63U);
	bool level = vec_is_level(v);

	__atomic_fetch_add(&W.quiet_posts, 1, __ATOMIC_SEQ_CST);
	for (unsigned tries = 0; tries < 400; tries++) {
		uint64_t s1, s2, pir, ctl;

		if (ld64(&W.delivered[v]) >= my_post)
			return; /* delivered: fine */
		/* Level posts: post_level, notified by LAPIC_EV_LEVEL. */
		s1 = ld64(&W.fold_seq);
		pir = ld64(level ? &W.apic.post_level[v >> 6] : &W.apic.pi.pir[v >> 6]);
		ctl = level ? ((__atomic_load_n(&W.apic.posted_events, __ATOMIC_SEQ_CST) &
				LAPIC_EV_LEVEL)
				       ? VIRQ_PI_CTRL_ON
				       : 0)
			    : ld64(&W.apic.pi.control);
		s2 = ld64(&W.fold_seq);
		if (!(pir & bit))
			return; /* folded */
		/* The bit may be another poster's: once this post was delivered
		 * the owner releases v and a new post of it can have set PIR but
		 * not yet ON. Delivered before that release, so seen here. */
		if (ld64(&W.delivered[v]) >= my_post)
			return;
		if (s1 == s2 && !(s1 & 1U)) {
			if (!(ctl & VIRQ_PI_CTRL_ON))
				record_fail(FAIL_STRANDED, v);
			if (tries > 8)
				return; /* owner idle with the bit notified: fine */
		}
		if ((tries & 63U) == 63U)
			sched_yield();
	}
}

static void *free_poster(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t seed = 0x9E3779B97F4A7C15ULL * (id + 1);
	unsigned done = 0;
	uint64_t last_claim = mono_ns();

	/* Owner on CPU 1; posters on CPU 0 (two posters) or spread. */
	pin_to_nth_cpu(W.n_posters > 2 ? id : 0);

	while (done < W.posts_per_poster && !is_failed()) {
		unsigned v = 32 + (unsigned)(xorshift(&seed) % 224);
		uint8_t zero = 0;
		uint64_t my_post;

		if (__atomic_load_n(&W.n_inflight, __ATOMIC_SEQ_CST) >= INFLIGHT_CAP ||
		    !__atomic_compare_exchange_n(&W.inflight[v], &zero, 1, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST)) {
			/* In flight: try another one; give way when everything is. */
			if (mono_ns() - last_claim > POSTER_STALL_NS) {
				record_fail(FAIL_POSTER_STALL, v);
				break;
			}
			if ((xorshift(&seed) & 7U) == 0)
				sched_yield();
			continue;
		}
		last_claim = mono_ns();
		__atomic_fetch_add(&W.n_inflight, 1, __ATOMIC_SEQ_CST);
		my_post = __atomic_add_fetch(&W.posts[v], 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&W.total_posts, 1, __ATOMIC_SEQ_CST);
		kicked_here = false;
		virq_lapic_post(&W.apic, (uint8_t)v, vec_is_level(v));
		done++;
		if (!kicked_here)
			check_not_stranded(v, my_post);
		/* Pace the posters near the owner's rate, so posts keep arriving
		 * while the owner folds instead of saturating the cap and then
		 * waiting in lockstep with the owner's releases. */
		for (volatile unsigned spin = (unsigned)(xorshift(&seed) % W.pace); spin; spin--)
			;
	}
	pthread_mutex_lock(&W.lock);
	__atomic_fetch_add(&W.posters_done, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.lock);
	return NULL;
}

/* Acks and EOIs everything deliverable. */
static void owner_drain(void)
{
	int v;

	for (;;) {
		__atomic_fetch_add(&W.harvest_calls, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&W.fold_seq, 1, __ATOMIC_SEQ_CST);
		v = virq_lapic_ack(&W.apic);
		__atomic_fetch_add(&W.fold_seq, 1, __ATOMIC_SEQ_CST);
		if (v < 0)
			break;
		if (v < 32 || ld64(&W.posts[v]) == 0) {
			record_fail(FAIL_UNPOSTED, (unsigned)v);
			return;
		}
		if (page_tmr((unsigned)v) != vec_is_level((unsigned)v)) {
			record_fail(FAIL_TMR, (unsigned)v);
			return;
		}
		__atomic_fetch_add(&W.delivered[v], 1, __ATOMIC_SEQ_CST); /* posters read it */
		W.total_delivered++;
		if (ld64(&W.delivered[v]) > ld64(&W.posts[v])) {
			record_fail(FAIL_DOUBLE, (unsigned)v);
			return;
		}
		/* Release the claim: a new post of v may now land in IRR while v
		 * is still in ISR (queued twice at most, SDM 10.8.4). */
		__atomic_store_n(&W.inflight[v], 0, __ATOMIC_SEQ_CST);
		__atomic_fetch_sub(&W.n_inflight, 1, __ATOMIC_SEQ_CST);
		virq_lapic_eoi(&W.apic);
	}
}

static void *free_owner(void *arg)
{
	(void)arg;
	pin_to_nth_cpu(1);
	while (!is_failed()) {
		uint64_t seen = ld64(&W.kicks);
		bool done = __atomic_load_n(&W.posters_done, __ATOMIC_SEQ_CST) == W.n_posters;
		uint64_t deadline;
		bool work;

		owner_drain();
		if (is_failed())
			break;
		if (done) {
			/* Every post happened before `done` was read, and the
			 * drain synced after it: nothing may be missing. */
			if (W.total_delivered != ld64(&W.total_posts))
				record_fail(FAIL_LOST_POST, 0);
			break;
		}
		__atomic_fetch_add(&W.harvest_calls, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&W.fold_seq, 1, __ATOMIC_SEQ_CST);
		work = virq_lapic_has_work(&W.apic);
		__atomic_fetch_add(&W.fold_seq, 1, __ATOMIC_SEQ_CST);
		if (work)
			continue;

		/* Halt: sleep until kicked (or the posters finish). */
		deadline = mono_ns() + OWNER_STALL_NS;
		pthread_mutex_lock(&W.lock);
		while (ld64(&W.kicks) == seen && !is_failed() &&
		       __atomic_load_n(&W.posters_done, __ATOMIC_SEQ_CST) != W.n_posters) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&W.cond, &W.lock, &ts);
			if (mono_ns() > deadline)
				break;
		}
		pthread_mutex_unlock(&W.lock);
		if (mono_ns() > deadline && ld64(&W.kicks) == seen && !is_failed())
			record_fail(FAIL_LOST_WAKEUP, 0);
	}
	return NULL;
}

static void run_free(unsigned n_posters, unsigned posts_per_poster, unsigned pace)
{
	pthread_t owner, posters[MAX_POSTERS];
	uint64_t sum = 0;

	world_init(n_posters, posts_per_poster);
	W.pace = pace;
	assert_int_equal(pthread_create(&owner, NULL, free_owner, NULL), 0);
	for (unsigned i = 0; i < n_posters; i++)
		assert_int_equal(
			pthread_create(&posters[i], NULL, free_poster, (void *)(uintptr_t)i), 0);
	for (unsigned i = 0; i < n_posters; i++)
		pthread_join(posters[i], NULL);
	pthread_join(owner, NULL);
	world_fini();

	if (W.failed)
		print_error("failure %d at vector %u\n", W.failed, W.fail_vector);
	assert_int_equal(W.failed, FAIL_NONE);

	/* Every post delivered exactly once; level EOIs exactly for level vectors. */
	assert_int_equal(W.total_posts, (uint64_t)n_posters * posts_per_poster);
	for (unsigned v = 0; v < 256; v++) {
		assert_int_equal(W.delivered[v], W.posts[v]);
		assert_int_equal(W.level_eois[v], vec_is_level(v) ? W.posts[v] : 0);
		assert_int_equal(W.inflight[v], 0);
		assert_int_equal(W.n_inflight, 0);
		sum += W.delivered[v];
	}
	assert_int_equal(sum, W.total_posts);
	for (unsigned v = 0; v < 32; v++)
		assert_int_equal(W.posts[v], 0);

	/* Kicks only on "no posted work" -> "posted work": at least one, never
	 * more than posts, and each needs a fold in between (only the owner
	 * clears the outstanding notification). */
	assert_true(W.kicks >= 1);
	assert_true(W.kicks <= W.total_posts);
	assert_true(W.kicks <= W.harvest_calls + 1);

	/* Quiescent APIC: nothing pending, nothing in service, invariants hold. */
	assert_false(virq_lapic_has_work(&W.apic));
	assert_int_equal(virq_lapic_ack(&W.apic), VIRQ_LAPIC_NO_VECTOR);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(W.page[(VIRQ_LAPIC_REG_IRR >> 2) + 4 * i], 0);
		assert_int_equal(W.page[(VIRQ_LAPIC_REG_ISR >> 2) + 4 * i], 0);
	}
}

static void test_two_posters_every_post_delivered(void **state)
{
	(void)state;
	run_free(2, 60000, PACE);
}

static void test_four_posters_every_post_delivered(void **state)
{
	(void)state;
	run_free(4, 30000, PACE * 2);
}

/* ---- phased test: duplicates merge, one kick per burst ---- */

/* Delivered highest first, one ack + EOI at a time; 0xFF, 0xE6, 0x64 and 0x41 are
 * level-triggered. */
static const uint8_t burst[] = { 0xE6, 0xA7, 0x7E, 0x64, 0x41, 0x3B, 0x21, 0xFF };

static void *phased_poster(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	for (unsigned r = 0; r < W.rounds; r++) {
		pthread_barrier_wait(&W.barrier); /* A: owner is idle */
		if (!is_failed()) {
			/* Each poster walks the burst from its own start: the
			 * same vectors race from every thread. */
			for (unsigned i = 0; i < sizeof(burst); i++) {
				uint8_t v = burst[(i + id) % sizeof(burst)];

				virq_lapic_post(&W.apic, v, vec_is_level(v));
			}
		}
		pthread_barrier_wait(&W.barrier); /* B: burst complete */
		pthread_barrier_wait(&W.barrier); /* C: owner drained */
	}
	return NULL;
}

static void *phased_owner(void *arg)
{
	uint8_t sorted[sizeof(burst)];

	(void)arg;
	/* Expected delivery order: by vector, highest first. */
	memcpy(sorted, burst, sizeof(burst));
	for (unsigned i = 0; i < sizeof(sorted); i++)
		for (unsigned j = i + 1; j < sizeof(sorted); j++)
			if (sorted[j] > sorted[i]) {
				uint8_t t = sorted[i];

				sorted[i] = sorted[j];
				sorted[j] = t;
			}

	for (unsigned r = 0; r < W.rounds; r++) {
		uint64_t k0 = ld64(&W.kicks);

		pthread_barrier_wait(&W.barrier); /* A */
		pthread_barrier_wait(&W.barrier); /* B */
		if (!is_failed()) {
			/* Nobody folded during the burst: exactly one 0 -> 1 of
			 * each channel, ON (edge) and LAPIC_EV_LEVEL (level). */
			if (ld64(&W.kicks) != k0 + 2)
				record_fail(FAIL_PHASE_KICKS, r);
			for (unsigned i = 0; i < sizeof(sorted) && !is_failed(); i++) {
				int v = virq_lapic_ack(&W.apic);

				if (v != sorted[i]) {
					record_fail(FAIL_PHASE_ORDER, (unsigned)(v < 0 ? 0 : v));
					break;
				}
				if (page_tmr((unsigned)v) != vec_is_level((unsigned)v)) {
					record_fail(FAIL_TMR, (unsigned)v);
					break;
				}
				W.delivered[v]++;
				virq_lapic_eoi(&W.apic);
			}
			/* Duplicates merged: nothing left. */
			if (!is_failed() && virq_lapic_ack(&W.apic) != VIRQ_LAPIC_NO_VECTOR)
				record_fail(FAIL_PHASE_ORDER, 1);
			if (!is_failed() && virq_lapic_has_work(&W.apic))
				record_fail(FAIL_PHASE_ORDER, 0);
		}
		pthread_barrier_wait(&W.barrier); /* C */
	}
	return NULL;
}

static void run_phased(unsigned n_posters, unsigned rounds)
{
	pthread_t owner, posters[MAX_POSTERS];

	world_init(n_posters, 0);
	W.rounds = rounds;
	pthread_barrier_init(&W.barrier, NULL, n_posters + 1);
	assert_int_equal(pthread_create(&owner, NULL, phased_owner, NULL), 0);
	for (unsigned i = 0; i < n_posters; i++)
		assert_int_equal(
			pthread_create(&posters[i], NULL, phased_poster, (void *)(uintptr_t)i), 0);
	for (unsigned i = 0; i < n_posters; i++)
		pthread_join(posters[i], NULL);
	pthread_join(owner, NULL);
	pthread_barrier_destroy(&W.barrier);
	world_fini();

	if (W.failed)
		print_error("failure %d at %u\n", W.failed, W.fail_vector);
	assert_int_equal(W.failed, FAIL_NONE);
	assert_int_equal(W.kicks, 2 * rounds);
	for (unsigned i = 0; i < sizeof(burst); i++) {
		assert_int_equal(W.delivered[burst[i]], rounds);
		assert_int_equal(W.level_eois[burst[i]], vec_is_level(burst[i]) ? rounds : 0);
	}
}

static void test_duplicate_posts_merge_one_kick_per_burst(void **state)
{
	(void)state;
	run_phased(4, 2000);
}

/* ---- racing first posts: exactly one kick ---- */

/*
 * Two threads post at the same moment into an idle LAPIC, each its own
 * vector in its own PIR word (so they reach the notification step
 * together). Only one of them may kick. Threads are released by a
 * spinning barrier to make the posts overlap; thread 0 is also the owner.
 */
#define RACE_ROUNDS 50000U

struct spin_barrier {
	unsigned count;
	unsigned gen;
	unsigned n;
};

static void spin_wait(struct spin_barrier *b)
{
	unsigned gen = __atomic_load_n(&b->gen, __ATOMIC_SEQ_CST);

	if (__atomic_add_fetch(&b->count, 1, __ATOMIC_SEQ_CST) == b->n) {
		__atomic_store_n(&b->count, 0, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&b->gen, 1, __ATOMIC_SEQ_CST);
		return;
	}
	for (unsigned spins = 0; __atomic_load_n(&b->gen, __ATOMIC_SEQ_CST) == gen; spins++)
		if (spins > 200)
			sched_yield();
}

static struct spin_barrier race_bar;

static void *race_thread(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint8_t mine = id ? 0xC1 : 0x41;

	pin_to_nth_cpu(id);

	for (unsigned r = 0; r < RACE_ROUNDS && !is_failed(); r++) {
		uint64_t k0 = ld64(&W.kicks);

		spin_wait(&race_bar); /* A: idle, nothing posted */
		virq_lapic_post(&W.apic, mine, false);
		spin_wait(&race_bar); /* B: both posted */
		if (id == 0) {
			if (ld64(&W.kicks) != k0 + 1)
				record_fail(FAIL_PHASE_KICKS, r);
			if (virq_lapic_ack(&W.apic) != 0xC1 ||
			    (virq_lapic_eoi(&W.apic), virq_lapic_ack(&W.apic)) != 0x41)
				record_fail(FAIL_PHASE_ORDER, r);
			virq_lapic_eoi(&W.apic);
		}
		spin_wait(&race_bar); /* C: drained */
	}
	return NULL;
}

static void test_racing_first_posts_one_kick(void **state)
{
	pthread_t t[2];

	(void)state;
	world_init(2, 0);
	memset(&race_bar, 0, sizeof(race_bar));
	race_bar.n = 2;
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_thread, (void *)(uintptr_t)i), 0);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	world_fini();
	if (W.failed)
		print_error("failure %d in round %u\n", W.failed, W.fail_vector);
	assert_int_equal(W.failed, FAIL_NONE);
	assert_int_equal(W.kicks, RACE_ROUNDS);
}

/* ---- level and edge posts of one vector racing (review) ---- */

/*
 * Architectural answer: the LAPIC accepts messages one at a time and TMR
 * records the trigger mode of the last one accepted (SDM 10.8.4), so a
 * level and an edge interrupt of one vector that race may end either way,
 * as one serial order or the other would, but a level interrupt is never
 * accepted as edge at its own acceptance. libvirq's serial order is its
 * folds: each post is accepted by exactly one fold with its own trigger
 * mode, and in one fold edge requests come before level ones, so a level
 * and an edge interrupt that collapse into one IRR bit leave TMR set (the
 * EOI is broadcast, which the level source needs and the edge one does
 * not mind).
 *
 * Before, the trigger mode travelled in a bit beside the shared PIR bit,
 * and an edge post cleared it: between a level post's two steps, or
 * between the fold's PIR exchange and its read of the bit, a racing edge
 * post made the fold accept the level interrupt as edge. Its EOI was then
 * not broadcast and a level-triggered I/O APIC entry stayed in Remote IRR
 * for ever.
 *
 * Round shape: thread 0 posts 0x65 level, thread 1 posts 0x65 edge, at
 * the same moment. collapse: the owner (thread 0) syncs only once both
 * posted: TMR must be set, one IRR bit, two kicks (ON, level flag).
 * concurrent: thread 2 syncs in a loop while they post, noting whether any
 * sync left TMR set; after both posts a final sync. TMR may end clear only
 * if an earlier sync had already accepted the level post (TMR seen set),
 * i.e. the edge one came later.
 */
#define MIX_VEC 0x65U
#define MIX_ROUNDS 2000U

static struct spin_barrier mix_bar;
static unsigned mix_syncing; /* concurrent mode: thread 2 syncs while set */

static void *mix_poster(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	pin_to_nth_cpu(id);
	for (unsigned r = 0; r < W.rounds; r++) {
		spin_wait(&mix_bar); /* A: idle, IRR empty */
		virq_lapic_post(&W.apic, MIX_VEC, id == 0);
		spin_wait(&mix_bar); /* B: both posted */
		spin_wait(&mix_bar); /* C: checked and drained */
	}
	return NULL;
}

static void *mix_syncer(void *arg)
{
	bool tmr_seen = false;

	(void)arg;
	for (unsigned r = 0; r < W.rounds; r++) {
		spin_wait(&mix_bar); /* A */
		tmr_seen = false;
		/* Sync while the posts race (never ack: IRR keeps the vector). */
		while (__atomic_load_n(&mix_bar.count, __ATOMIC_SEQ_CST) < 2 &&
		       __atomic_load_n(&mix_syncing, __ATOMIC_SEQ_CST)) {
			virq_lapic_sync(&W.apic);
			tmr_seen |= page_tmr(MIX_VEC);
		}
		spin_wait(&mix_bar); /* B */
		virq_lapic_sync(&W.apic);
		tmr_seen |= page_tmr(MIX_VEC);
		if (!is_failed()) {
			bool irr = (W.page[(VIRQ_LAPIC_REG_IRR >> 2) + (MIX_VEC >> 5) * 4] >>
				    (MIX_VEC & 31U)) &
				   1U;

			if (!irr)
				record_fail(FAIL_LOST_POST, r);
			else if (!__atomic_load_n(&mix_syncing, __ATOMIC_SEQ_CST) &&
				 !page_tmr(MIX_VEC))
				record_fail(FAIL_MIXED_TMR, r); /* collapsed: level wins */
			else if (!page_tmr(MIX_VEC) && !tmr_seen)
				record_fail(FAIL_MIXED_TMR, r); /* level accepted as edge */
		}
		/* Drain: the vector once (merged), then nothing. */
		if (virq_lapic_ack(&W.apic) != (int)MIX_VEC)
			record_fail(FAIL_PHASE_ORDER, r);
		virq_lapic_eoi(&W.apic);
		if (virq_lapic_ack(&W.apic) != VIRQ_LAPIC_NO_VECTOR)
			record_fail(FAIL_PHASE_ORDER, r);
		spin_wait(&mix_bar); /* C */
	}
	return NULL;
}

static void run_mixed(bool concurrent)
{
	pthread_t t[3];

	world_init(2, 0);
	W.rounds = MIX_ROUNDS;
	memset(&mix_bar, 0, sizeof(mix_bar));
	mix_bar.n = 3;
	__atomic_store_n(&mix_syncing, concurrent ? 1U : 0U, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, mix_poster, (void *)(uintptr_t)i), 0);
	assert_int_equal(pthread_create(&t[2], NULL, mix_syncer, NULL), 0);
	for (unsigned i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	world_fini();
	if (W.failed)
		print_error("failure %d in round %u\n", W.failed, W.fail_vector);
	assert_int_equal(W.failed, FAIL_NONE);
	if (!concurrent)
		assert_int_equal(W.kicks, 2ULL * MIX_ROUNDS); /* one per channel */
	/* Every round ended with one EOI of the vector: broadcast when TMR
	 * was set; always so when the posts collapsed. */
	if (!concurrent)
		assert_int_equal(W.level_eois[MIX_VEC], MIX_ROUNDS);
}

static void test_level_edge_same_vector_collapse(void **state)
{
	(void)state;
	run_mixed(false);
}

static void test_level_edge_same_vector_concurrent_folds(void **state)
{
	(void)state;
	run_mixed(true);
}

/* ---- NMIs from two threads: two injected, never merged (review) ---- */

/*
 * Round shape: the owner (thread 0, which runs the vCPU policy) posts
 * itself an NMI, as its own NMI IPI comes back through a router, while
 * thread 1 posts an NMI and then the fixed vector NMI_VEC (both with
 * virq_lapic_post_msg(), as virq_vm_deliver() does). The owner then
 * decides entries with both windows open until it has injected NMI_VEC
 * and a later decision finds nothing left: thread 1's NMI was posted
 * before NMI_VEC, so the decision after the one that acknowledged NMI_VEC
 * takes it, if none did before. Every round must inject exactly two NMIs,
 * however the posts and the owner's takes interleave: both NMIs pending
 * at one take (they used to merge into one), one taken before the other
 * arrives, or thread 1's arriving while the owner's own is still being
 * posted. Each thread waits a random few spins after the start barrier so
 * every order occurs; the run stops after NMI_ROUNDS or NMI_TIME_NS.
 */
#define NMI_ROUNDS 20000U
#define NMI_TIME_NS (1000ULL * 1000000ULL)
#define NMI_VEC 0x51U
#define NMI_DECISIONS_MAX 10000000U /* per round: thread 1's posts never arrived */

static struct spin_barrier nmi_bar;
static unsigned nmi_stop;        /* set by the owner before barrier A */
static unsigned nmi_rounds_done; /* atomic */
static unsigned nmi_bad_count;   /* NMIs injected in the failing round */
static struct virq_vcpu nmi_pol;

static struct virq_apic_msg nmi_msg(unsigned dm, uint8_t vec)
{
	struct virq_apic_msg m;

	memset(&m, 0, sizeof(m));
	m.src = VIRQ_MSG_SRC_NONE;
	m.vector = vec;
	m.delivery = (uint8_t)dm;
	m.level = true;
	return m;
}

static void nmi_skew(uint64_t *seed)
{
	for (unsigned i = (unsigned)(xorshift(seed) & 63U); i; i--)
		__asm__ volatile("" ::: "memory");
}

static void *nmi_poster(void *arg)
{
	struct virq_apic_msg nmi = nmi_msg(VIRQ_DM_NMI, 0);
	struct virq_apic_msg fixed = nmi_msg(VIRQ_DM_FIXED, NMI_VEC);
	uint64_t seed = 0x9E3779B97F4A7C15ULL;

	(void)arg;
	pin_to_nth_cpu(1);
	for (;;) {
		spin_wait(&nmi_bar); /* A: start (or stop) */
		if (__atomic_load_n(&nmi_stop, __ATOMIC_SEQ_CST))
			return NULL;
		nmi_skew(&seed);
		virq_lapic_post_msg(&W.apic, &nmi);
		virq_lapic_post_msg(&W.apic, &fixed);
		spin_wait(&nmi_bar); /* B: the owner has drained the round */
	}
}

/* One round on the owner: its own NMI, then entries until all is taken. */
static void nmi_owner_round(unsigned r, uint64_t *seed)
{
	const struct virq_vcpu_window open = { .intr = true, .nmi = true };
	struct virq_apic_msg nmi = nmi_msg(VIRQ_DM_NMI, 0);
	struct virq_vcpu_decision d;
	unsigned nmis = 0;
	bool got_vec = false;

	nmi_skew(seed);
	virq_lapic_post_msg(&W.apic, &nmi);
	for (unsigned n = 0;; n++) {
		bool vec_before = got_vec;
		uint32_t a = virq_vcpu_decide(&nmi_pol, &open, &d);

		if (a & VIRQ_VCPU_NMI)
			nmis++;
		if (a & VIRQ_VCPU_INTR) {
			if (d.vector != NMI_VEC || d.source != VIRQ_VCPU_SRC_LAPIC)
				record_fail(FAIL_UNPOSTED, d.vector);
			got_vec = true;
			virq_lapic_eoi(&W.apic);
		}
		/* Done: nothing injected or waiting in an entry that began
		 * after NMI_VEC was injected. */
		if (vec_before && !(a & (VIRQ_VCPU_NMI | VIRQ_VCPU_NMI_WINDOW | VIRQ_VCPU_INTR |
					 VIRQ_VCPU_INTR_WINDOW)))
			break;
		if (n == NMI_DECISIONS_MAX) {
			record_fail(FAIL_LOST_POST, r);
			return;
		}
	}
	if (nmis != 2) {
		__atomic_store_n(&nmi_bad_count, nmis, __ATOMIC_SEQ_CST);
		record_fail(FAIL_NMI_COUNT, r);
	}
}

static void *nmi_owner(void *arg)
{
	uint64_t seed = 0xD1B54A32D192ED03ULL, t0 = mono_ns();
	unsigned r;

	(void)arg;
	pin_to_nth_cpu(0);
	for (r = 0;; r++) {
		if (r == NMI_ROUNDS || mono_ns() - t0 > NMI_TIME_NS || is_failed())
			__atomic_store_n(&nmi_stop, 1U, __ATOMIC_SEQ_CST);
		spin_wait(&nmi_bar); /* A */
		if (__atomic_load_n(&nmi_stop, __ATOMIC_SEQ_CST))
			break;
		nmi_owner_round(r, &seed);
		spin_wait(&nmi_bar); /* B */
	}
	__atomic_store_n(&nmi_rounds_done, r, __ATOMIC_SEQ_CST);
	return NULL;
}

static void test_nmis_from_two_threads_both_injected(void **state)
{
	const struct virq_vcpu_stats *s;
	pthread_t t[2];
	unsigned rounds;

	(void)state;
	world_init(1, 0);
	memset(&nmi_bar, 0, sizeof(nmi_bar));
	nmi_bar.n = 2;
	nmi_stop = 0;
	assert_int_equal(virq_vcpu_init(&nmi_pol, &W.apic, NULL), 0);
	assert_int_equal(pthread_create(&t[0], NULL, nmi_owner, NULL), 0);
	assert_int_equal(pthread_create(&t[1], NULL, nmi_poster, NULL), 0);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	world_fini();
	rounds = nmi_rounds_done;
	if (W.failed)
		print_error("failure %d in round %u (%u NMIs injected)\n", W.failed, W.fail_vector,
			    nmi_bad_count);
	assert_int_equal(W.failed, FAIL_NONE);
	s = virq_vcpu_get_stats(&nmi_pol);
	assert_int_equal(s->nmi, 2ULL * rounds);
	assert_int_equal(s->nmi_dropped, 0);
	assert_int_equal(s->intr_lapic, rounds);
	assert_true(rounds >= 100U);
	/* Each round notifies both channels at least once: the event word
	 * (the first NMI) and ON (NMI_VEC). */
	assert_true(W.kicks >= 2ULL * rounds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_posters_every_post_delivered),
		cmocka_unit_test(test_four_posters_every_post_delivered),
		cmocka_unit_test(test_duplicate_posts_merge_one_kick_per_burst),
		cmocka_unit_test(test_racing_first_posts_one_kick),
		cmocka_unit_test(test_level_edge_same_vector_collapse),
		cmocka_unit_test(test_level_edge_same_vector_concurrent_folds),
		cmocka_unit_test(test_nmis_from_two_threads_both_injected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
