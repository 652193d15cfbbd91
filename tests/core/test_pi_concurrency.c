/* SPDX-License-Identifier: MIT */
/*
 * The posting protocol under contention (as KVM's
 * vmx_deliver_posted_interrupt() and vmx_sync_pir_to_irr() run it; harvest
 * order of SDM 3C 30.6 "Posted-Interrupt Processing"): poster threads post
 * distinct vectors into one descriptor while a harvester thread harvests.
 *
 *  - Exactness: a poster posts vector v again only after the harvester has
 *    taken its previous post, so every post is harvested exactly once and
 *    per-vector harvest counts equal post counts.
 *  - No lost notification: the harvester sleeps only when a harvest found
 *    nothing and no notification (a true return of virq_pi_post) arrived
 *    since it looked; posters signal only on a true return. A protocol
 *    that leaves a PIR bit behind with no notification on its way
 *    (e.g. clearing ON after reading PIR) leaves both sides waiting: the
 *    harvester's timed wait expires and the test fails instead of hanging.
 *  - No redundant notification: only a harvest clears ON, so true returns
 *    are at most harvests + 1.
 *
 * The tight-race tests below pin their threads to different CPUs: on a
 * busy machine threads that take turns on one CPU never hit the windows.
 *
 * Threads never call cmocka asserts; they record failures, the test thread
 * asserts after joining. TSan-clean: shared counters are atomics, the
 * wake-up uses a mutex and condition variable.
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

#include <virq/pi.h>

/* ThreadSanitizer slows atomics down a lot: shorter runs there. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifdef UNDER_TSAN
#define SCALE 4U
#else
#define SCALE 1U
#endif

#define MAX_POSTERS 8
#define STALL_NS (5ULL * 1000000000ULL) /* no progress this long = lost wakeup */

struct pi_world {
	struct virq_pi_desc pi;
	unsigned n_posters;
	unsigned rounds;
	bool urgent_with_sn; /* SN set for the run; posters post urgent */

	/* Wake-up channel poster -> harvester. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t notes;        /* true returns signalled (atomic) */
	unsigned posters_done; /* atomic */

	/* Accounting (atomics). */
	uint64_t posted[256];
	uint64_t harvested[256];
	uint64_t true_returns;
	uint64_t harvests; /* harvester calls of virq_pi_harvest */
	uint64_t sleeps;   /* harvester waits ended by a notification */
	int failed;        /* first failure code, 0 = none */
	unsigned fail_vector;
};

enum {
	FAIL_NONE = 0,
	FAIL_LOST_WAKEUP = 1,  /* harvester waited STALL_NS with work outstanding */
	FAIL_POSTER_STALL = 2, /* a poster's previous post was never harvested */
	FAIL_DOUBLE = 3,       /* a vector harvested more often than posted */
	FAIL_OUT_OF_SET = 4,   /* a vector nobody posted was harvested */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void record_fail(struct pi_world *w, int code, unsigned vector)
{
	int none = FAIL_NONE;

	if (__atomic_compare_exchange_n(&w->failed, &none, code, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		__atomic_store_n(&w->fail_vector, vector, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&w->lock);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static bool failed(struct pi_world *w)
{
	return __atomic_load_n(&w->failed, __ATOMIC_SEQ_CST) != FAIL_NONE;
}

struct poster_arg {
	struct pi_world *w;
	unsigned id;
};

/* Vectors of poster @id: v % n_posters == id (all 256 vectors are covered). */
static void *poster(void *p)
{
	struct poster_arg *a = p;
	struct pi_world *w = a->w;
	bool urgent = w->urgent_with_sn;

	for (unsigned r = 0; r < w->rounds && !failed(w); r++) {
		/* Post the whole set, then wait for each post to be harvested. */
		for (unsigned v = a->id; v < 256; v += w->n_posters) {
			__atomic_fetch_add(&w->posted[v], 1, __ATOMIC_SEQ_CST);
			if (virq_pi_post(&w->pi, (uint8_t)v, urgent)) {
				__atomic_fetch_add(&w->true_returns, 1, __ATOMIC_SEQ_CST);
				pthread_mutex_lock(&w->lock);
				__atomic_fetch_add(&w->notes, 1, __ATOMIC_SEQ_CST);
				pthread_cond_signal(&w->cond);
				pthread_mutex_unlock(&w->lock);
			}
		}
		for (unsigned v = a->id; v < 256; v += w->n_posters) {
			uint64_t start = now_ns();

			while (ld(&w->harvested[v]) < r + 1) {
				if (failed(w))
					return NULL;
				if (now_ns() - start > STALL_NS) {
					record_fail(w, FAIL_POSTER_STALL, v);
					return NULL;
				}
				sched_yield();
			}
		}
	}
	pthread_mutex_lock(&w->lock);
	__atomic_fetch_add(&w->posters_done, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void account(struct pi_world *w, const uint64_t out[4])
{
	for (unsigned i = 0; i < 4; i++) {
		uint64_t bits = out[i];

		while (bits) {
			unsigned v = i * 64 + (unsigned)__builtin_ctzll(bits);
			uint64_t h = __atomic_add_fetch(&w->harvested[v], 1, __ATOMIC_SEQ_CST);

			bits &= bits - 1;
			if (h > ld(&w->posted[v]))
				record_fail(w, FAIL_DOUBLE, v);
		}
	}
}

static void *harvester(void *p)
{
	struct pi_world *w = p;
	uint64_t out[4];

	while (!failed(w)) {
		uint64_t seen = ld(&w->notes);
		bool got;

		got = virq_pi_harvest(&w->pi, out);
		__atomic_fetch_add(&w->harvests, 1, __ATOMIC_SEQ_CST);
		if (got) {
			account(w, out);
			continue;
		}
		if (__atomic_load_n(&w->posters_done, __ATOMIC_SEQ_CST) == w->n_posters)
			break;
		/* Nothing harvested: sleep until a notification or the end. */
		pthread_mutex_lock(&w->lock);
		{
			uint64_t deadline = now_ns() + STALL_NS;

			while (ld(&w->notes) == seen && !failed(w) &&
			       __atomic_load_n(&w->posters_done, __ATOMIC_SEQ_CST) !=
				       w->n_posters) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 10000000; /* re-check the stall clock every 10 ms */
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&w->cond, &w->lock, &ts);
				if (now_ns() > deadline) {
					pthread_mutex_unlock(&w->lock);
					record_fail(w, FAIL_LOST_WAKEUP, 0);
					return NULL;
				}
			}
			if (ld(&w->notes) != seen)
				__atomic_fetch_add(&w->sleeps, 1, __ATOMIC_SEQ_CST);
		}
		pthread_mutex_unlock(&w->lock);
	}
	/* Final drain: everything posted is taken. */
	if (virq_pi_harvest(&w->pi, out))
		account(w, out);
	return NULL;
}

static void run_world(struct pi_world *w)
{
	pthread_t hp, pp[MAX_POSTERS];
	struct poster_arg args[MAX_POSTERS];
	uint64_t total_posts = 0;

	assert_true(w->n_posters >= 2 && w->n_posters <= MAX_POSTERS);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	assert_int_equal(pthread_create(&hp, NULL, harvester, w), 0);
	for (unsigned i = 0; i < w->n_posters; i++) {
		args[i].w = w;
		args[i].id = i;
		assert_int_equal(pthread_create(&pp[i], NULL, poster, &args[i]), 0);
	}
	for (unsigned i = 0; i < w->n_posters; i++)
		pthread_join(pp[i], NULL);
	pthread_join(hp, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);

	if (w->failed)
		print_error("failure %d at vector %u\n", w->failed, w->fail_vector);
	assert_int_equal(w->failed, FAIL_NONE);

	/* Exactly once per post-cycle, for every vector. */
	for (unsigned v = 0; v < 256; v++) {
		assert_int_equal(w->posted[v], w->rounds);
		assert_int_equal(w->harvested[v], w->rounds);
		total_posts += w->posted[v];
	}
	/* Quiescent descriptor: PIR empty; ON clear unless SN kept it quiet. */
	assert_false(virq_pi_pending(&w->pi));
	assert_int_equal(w->pi.pir[0] | w->pi.pir[1] | w->pi.pir[2] | w->pi.pir[3], 0);

	/* Notifications: at least one, never more than posts, and each true
	 * return needs ON clear, which only a harvest does. */
	assert_true(w->true_returns >= 1);
	assert_true(w->true_returns <= total_posts);
	assert_true(w->true_returns <= w->harvests + 1);
	assert_int_equal(w->notes, w->true_returns);
	/* The harvester woke only for notifications. */
	assert_true(w->sleeps <= w->true_returns);
}

static struct pi_world world; /* 64-byte aligned static, too big for the stack budget */

static void world_reset(unsigned n_posters, unsigned rounds)
{
	memset(&world, 0, sizeof(world));
	world.n_posters = n_posters;
	world.rounds = rounds;
}

static void test_distinct_vectors_two_posters(void **state)
{
	(void)state;
	world_reset(2, 400);
	run_world(&world);
}

static void test_distinct_vectors_four_posters(void **state)
{
	(void)state;
	world_reset(4, 400);
	virq_pi_set_notification(&world.pi, 0xF2, 0x100);
	run_world(&world);
	/* NV/NDST untouched by the traffic. */
	assert_int_equal(world.pi.control & ~(VIRQ_PI_CTRL_ON | VIRQ_PI_CTRL_SN),
			 (0xF2ULL << 16) | (0x100ULL << 32));
}

/* SN set for the whole run, posters post urgent (VT-d URG): same protocol. */
static void test_distinct_vectors_urgent_with_sn(void **state)
{
	(void)state;
	world_reset(3, 300);
	world.urgent_with_sn = true;
	virq_pi_set_sn(&world.pi, true);
	run_world(&world);
	assert_int_equal(world.pi.control & VIRQ_PI_CTRL_SN, VIRQ_PI_CTRL_SN);
}

/* ---- tight races ---- */

/*
 * Pins the calling thread to the @nth CPU it may run on (when there are at
 * least two), so racing threads really run at the same time on a loaded
 * machine instead of taking turns on one CPU. Best effort.
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

/*
 * The tests above check the end result; the two below aim at the two
 * windows of the protocol, with threads released together by a spinning
 * barrier so the racing instructions overlap as often as possible.
 */

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
	/* Spin briefly (the race wants threads released together), then give
	 * the CPU away: there may be more threads than CPUs. */
	for (unsigned spins = 0; __atomic_load_n(&b->gen, __ATOMIC_SEQ_CST) == gen; spins++)
		if (spins > 200)
			sched_yield();
}

#define RACE_ROUNDS (20000U / SCALE)
#define FIRST_POST_ROUNDS (100000U / SCALE)

static struct {
	struct virq_pi_desc pi;
	struct spin_barrier bar;
	unsigned n;
	uint64_t trues;     /* true returns this round (atomic) */
	uint64_t bad_trues; /* rounds without exactly one true return */
	uint64_t bad_harvests;
	unsigned first_bad;
} race;

struct race_arg {
	unsigned id;
};

/*
 * Racing first posts: every thread posts its own vector into an idle
 * descriptor at the same moment. Exactly one of them may see ON go 0 -> 1
 * (the test-and-set decides, not the earlier plain load).
 */
static void *race_first_post(void *p)
{
	unsigned id = ((struct race_arg *)p)->id;

	pin_to_nth_cpu(id);
	for (unsigned r = 0; r < FIRST_POST_ROUNDS; r++) {
		spin_wait(&race.bar); /* descriptor idle */
		/* Each thread in its own PIR word: the PIR ORs do not serialize
		 * the threads, so they reach ON together. */
		if (virq_pi_post(&race.pi, (uint8_t)(0x20 + 64 * id + (r & 7)), false))
			__atomic_fetch_add(&race.trues, 1, __ATOMIC_SEQ_CST);
		spin_wait(&race.bar); /* all posted */
		if (id == 0) {
			uint64_t out[4];

			virq_pi_harvest(&race.pi, out);
			if (out[0] != 1ULL << (0x20 + (r & 7)) ||
			    out[1] != 1ULL << (0x20 + (r & 7)) || out[2] || out[3])
				race.bad_harvests++;
			if (__atomic_load_n(&race.trues, __ATOMIC_SEQ_CST) != 1) {
				if (!race.bad_trues)
					race.first_bad = r;
				race.bad_trues++;
			}
			__atomic_store_n(&race.trues, 0, __ATOMIC_SEQ_CST);
		}
		spin_wait(&race.bar); /* harvested */
	}
	return NULL;
}

static void test_race_exactly_one_notification(void **state)
{
	pthread_t t[2];
	struct race_arg args[2];

	(void)state;
	memset(&race, 0, sizeof(race));
	race.n = 2;
	race.bar.n = race.n;
	for (unsigned i = 0; i < race.n; i++) {
		args[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, race_first_post, &args[i]), 0);
	}
	for (unsigned i = 0; i < race.n; i++)
		pthread_join(t[i], NULL);
	if (race.bad_trues)
		print_error("%u rounds (first: %u) without exactly one notification\n",
			    (unsigned)race.bad_trues, race.first_bad);
	assert_int_equal(race.bad_trues, 0);
	assert_int_equal(race.bad_harvests, 0);
	assert_false(virq_pi_pending(&race.pi));
}

/*
 * Stranded bit: a post that returned false relied on an outstanding ON.
 * Once ON reads clear again, the harvest that cleared it must have taken
 * the bit (ON is cleared before PIR is read). The poster checks, while no
 * harvest is running (harvest_seq even and unchanged around its reads),
 * that its bit is not left in PIR with ON clear. A harvest that clears ON
 * after reading PIR strands the bit and fails here.
 */
static struct {
	struct virq_pi_desc pi;
	uint64_t harvest_seq; /* odd while a harvest runs */
	unsigned stop;
	uint64_t harvested[256];
	uint64_t stranded;
	uint64_t checks;
	uint64_t stalls;
} strand;

static void *strand_harvester(void *p)
{
	uint64_t out[4];

	(void)p;
	pin_to_nth_cpu(1);
	for (unsigned idle = 0; !__atomic_load_n(&strand.stop, __ATOMIC_SEQ_CST);) {
		/* A receiver acts on a notification: wait for ON. */
		if (!(__atomic_load_n(&strand.pi.control, __ATOMIC_SEQ_CST) & VIRQ_PI_CTRL_ON)) {
			if (++idle % 256 == 0)
				sched_yield();
			continue;
		}
		idle = 0;
		__atomic_add_fetch(&strand.harvest_seq, 1, __ATOMIC_SEQ_CST);
		virq_pi_harvest(&strand.pi, out);
		__atomic_add_fetch(&strand.harvest_seq, 1, __ATOMIC_SEQ_CST);
		for (unsigned i = 0; i < 4; i++)
			for (uint64_t b = out[i]; b; b &= b - 1)
				__atomic_add_fetch(
					&strand.harvested[i * 64 + (unsigned)__builtin_ctzll(b)], 1,
					__ATOMIC_SEQ_CST);
	}
	return NULL;
}

#define STRAND_POSTS (RACE_ROUNDS * 8)
/* Post r: word 0 and word 3 in turn, 32 vectors each. */
#define STRAND_VEC(r) (((r)&1U) * 192U + (((r) >> 1) & 31U))

static void *strand_poster(void *p)
{
	(void)p;
	pin_to_nth_cpu(0);
	for (unsigned r = 0; r < STRAND_POSTS; r++) {
		unsigned v = STRAND_VEC(r);
		uint64_t bit = 1ULL << (v & 63);
		uint64_t start = now_ns();
		uint64_t want = r / 64; /* harvests of v before this post */

		/* The previous post of v must have been harvested. */
		while (__atomic_load_n(&strand.harvested[v], __ATOMIC_SEQ_CST) < want) {
			if (now_ns() - start > STALL_NS) {
				__atomic_add_fetch(&strand.stalls, 1, __ATOMIC_SEQ_CST);
				return NULL;
			}
			sched_yield();
		}
		if (virq_pi_post(&strand.pi, (uint8_t)v, false))
			continue;
		/* ON was set when we looked. Find a moment with no harvest
		 * running: then our bit must be gone, or ON still set. */
		__atomic_add_fetch(&strand.checks, 1, __ATOMIC_SEQ_CST);
		for (unsigned tries = 0; tries < 400; tries++) {
			uint64_t s1 = __atomic_load_n(&strand.harvest_seq, __ATOMIC_SEQ_CST);
			bool in_pir = __atomic_load_n(&strand.pi.pir[v >> 6], __ATOMIC_SEQ_CST) &
				      bit;
			bool on = __atomic_load_n(&strand.pi.control, __ATOMIC_SEQ_CST) &
				  VIRQ_PI_CTRL_ON;
			uint64_t s2 = __atomic_load_n(&strand.harvest_seq, __ATOMIC_SEQ_CST);

			if (!in_pir || (s1 == s2 && !(s1 & 1U) && on))
				break;
			if (s1 == s2 && !(s1 & 1U)) {
				/* Stranded. Notify by hand so the run can go on. */
				__atomic_add_fetch(&strand.stranded, 1, __ATOMIC_SEQ_CST);
				__atomic_fetch_or(&strand.pi.control, VIRQ_PI_CTRL_ON,
						  __ATOMIC_SEQ_CST);
				break;
			}
		}
	}
	return NULL;
}

/*
 * One poster and one harvester (no more threads than a small CI machine
 * has CPUs, so they really run at the same time). The poster alternates
 * between PIR words 0 and 3: a harvest that takes word 0, then exchanges
 * the busy word 3 and only then clears ON (the wrong order) leaves the
 * widest window for a word-0 post to be stranded.
 */
static void test_race_no_stranded_bit(void **state)
{
	pthread_t h, t;
	uint64_t out[4];

	(void)state;
	memset(&strand, 0, sizeof(strand));
	assert_int_equal(pthread_create(&h, NULL, strand_harvester, NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, strand_poster, NULL), 0);
	pthread_join(t, NULL);
	__atomic_store_n(&strand.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(h, NULL);
	if (strand.stranded)
		print_error("%u of %u checks found a stranded bit\n", (unsigned)strand.stranded,
			    (unsigned)strand.checks);
	assert_int_equal(strand.stranded, 0);
	assert_int_equal(strand.stalls, 0);
	/* Every post harvested exactly once (the last ones by this drain). */
	if (virq_pi_harvest(&strand.pi, out))
		for (unsigned i = 0; i < 4; i++)
			for (uint64_t b = out[i]; b; b &= b - 1)
				strand.harvested[i * 64 + (unsigned)__builtin_ctzll(b)]++;
	for (unsigned k = 0; k < 64; k++)
		assert_int_equal(strand.harvested[STRAND_VEC(k)], STRAND_POSTS / 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distinct_vectors_two_posters),
		cmocka_unit_test(test_distinct_vectors_four_posters),
		cmocka_unit_test(test_distinct_vectors_urgent_with_sn),
		cmocka_unit_test(test_race_exactly_one_notification),
		cmocka_unit_test(test_race_no_stranded_bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
