/* SPDX-License-Identifier: MIT */
/*
 * SENDUIPI's posting rule under contention: sender threads post distinct
 * user vectors into one UPID with virq_uintr_post() while a receiver
 * thread runs notification processing (virq_uintr_notify_process(), the
 * order of SDM Vol. 3A "User-Interrupt Notification Processing") and
 * consumes its UIRR.
 *
 *  - Exactness: a sender posts vector v again only after the receiver has
 *    consumed its previous post, so every post is consumed exactly once:
 *    per-vector counts of the receiver equal the senders'.
 *  - No lost notification: the receiver processes only after a
 *    notification (a return of 1) arrived and never sweeps; the senders
 *    post in rounds, one post each, and wait for the round to be
 *    consumed. A protocol that leaves a PIR bit behind
 *    with nobody notified (e.g. processing that takes PIR before it
 *    clears ON) leaves that post unconsumed: the run ends in a stall and
 *    the test fails.
 *  - No notification while ON was set: only processing clears ON, so the
 *    number of 1 returns is at most the number of processings + 1.
 *  - SN: one sender toggles SN as an OS would around a context switch;
 *    clearing it notifies when PIR is not empty.
 *
 * Threads never call cmocka asserts; the test thread asserts after
 * joining. TSan-clean: shared counters are atomics, the wake-up uses a
 * mutex and a condition variable.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <virq/uintr.h>

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifdef UNDER_TSAN
#define ROUNDS 1000U
#else
#define ROUNDS 10000U
#endif

#define SENDERS 4U
#define PER_SENDER (VIRQ_UINTR_VECTORS / SENDERS)
#define STALL_S 3

struct world {
	_Alignas(64) struct virq_uintr_upid upid;
	bool toggle_sn;
	uint64_t posted[VIRQ_UINTR_VECTORS];   /* atomic: per vector, by its sender */
	uint64_t consumed[VIRQ_UINTR_VECTORS]; /* atomic: per vector, by the receiver */
	uint64_t notifies;                     /* atomic: returns of 1 */
	uint64_t processings;                  /* atomic */
	uint64_t duplicates;                   /* atomic: a vector consumed twice */
	uint64_t stalls;                       /* atomic */
	unsigned senders_done;                 /* atomic */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t pending_notes; /* under lock */
};

struct sender_arg {
	struct world *w;
	unsigned id;
};

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_ACQ_REL);
}

static void notify(struct world *w)
{
	add(&w->notifies, 1);
	pthread_mutex_lock(&w->lock);
	w->pending_notes++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static uint64_t total_consumed(struct world *w)
{
	uint64_t t = 0;

	for (unsigned v = 0; v < VIRQ_UINTR_VECTORS; v++)
		t += ld(&w->consumed[v]);
	return t;
}

static void *sender(void *p)
{
	struct sender_arg *a = p;
	struct world *w = a->w;
	unsigned base = a->id * PER_SENDER;

	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned v = base + r % PER_SENDER;
		time_t t0 = time(NULL);
		int rc;

		/* Rounds: every sender posts once, then all wait until the
		 * round's posts are consumed. Nobody posts again before that,
		 * so a post left in PIR with nobody notified is never swept
		 * by a later notification: the round stalls. */
		while (total_consumed(w) < (uint64_t)r * SENDERS) {
			if (time(NULL) - t0 > STALL_S ||
			    __atomic_load_n(&w->stalls, __ATOMIC_ACQUIRE)) {
				add(&w->stalls, 1);
				goto out;
			}
			sched_yield();
		}
		add(&w->posted[v], 1);
		rc = virq_uintr_post(&w->upid, (uint8_t)v, NULL);
		if (rc == 1)
			notify(w);
		else if (rc != 0)
			add(&w->stalls, 1000);
		if (w->toggle_sn && a->id == 0 && (r & 7U) == 0) {
			virq_uintr_upid_set_sn(&w->upid, true);
			sched_yield();
			if (virq_uintr_upid_set_sn(&w->upid, false) == 1)
				notify(w);
		}
	}
out:
	__atomic_fetch_add(&w->senders_done, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

/* Processes only after a notification: never sweeps, so a post that no
 * notification covers is never consumed and the run ends in a stall. */
static void *receiver(void *p)
{
	struct world *w = p;
	const uint64_t target = (uint64_t)ROUNDS * SENDERS;
	uint64_t uirr = 0, last = 0;
	time_t t_last = time(NULL);

	while (total_consumed(w) < target) {
		/* Read before the notes: when every sender was done, every
		 * notification they sent is in pending_notes below. */
		bool done = __atomic_load_n(&w->senders_done, __ATOMIC_ACQUIRE) == SENDERS;
		struct timespec ts;
		uint64_t notes;

		pthread_mutex_lock(&w->lock);
		if (!w->pending_notes && !done) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
		notes = w->pending_notes;
		w->pending_notes = 0;
		pthread_mutex_unlock(&w->lock);

		if (notes) {
			add(&w->processings, 1);
			virq_uintr_notify_process(&w->upid, &uirr);
			while (uirr) {
				unsigned v = (unsigned)__builtin_ctzll(uirr);

				uirr &= uirr - 1;
				if (ld(&w->consumed[v]) + 1 != ld(&w->posted[v]))
					add(&w->duplicates, 1);
				add(&w->consumed[v], 1);
			}
		} else if (done) {
			/* Nobody will post or notify again: what is left in
			 * PIR was never notified. */
			add(&w->stalls, 1);
			return NULL;
		}
		if (total_consumed(w) != last) {
			last = total_consumed(w);
			t_last = time(NULL);
		} else if (time(NULL) - t_last > STALL_S) {
			add(&w->stalls, 1);
			return NULL;
		}
	}
	return NULL;
}

static void run(bool toggle_sn)
{
	static struct world w;
	pthread_t s[SENDERS], r;
	struct sender_arg a[SENDERS];
	uint64_t total = 0;

	memset(&w, 0, sizeof(w));
	w.toggle_sn = toggle_sn;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	assert_int_equal(virq_uintr_upid_init(&w.upid, 0xEC, 1), 0);

	assert_int_equal(pthread_create(&r, NULL, receiver, &w), 0);
	for (unsigned i = 0; i < SENDERS; i++) {
		a[i] = (struct sender_arg){ &w, i };
		assert_int_equal(pthread_create(&s[i], NULL, sender, &a[i]), 0);
	}
	for (unsigned i = 0; i < SENDERS; i++)
		pthread_join(s[i], NULL);
	pthread_join(r, NULL);

	/* A notification may still be pending whose vectors an earlier
	 * processing already took (posted between its ON clear and its PIR
	 * exchange): processing it finds nothing and clears ON. */
	if (w.pending_notes) {
		uint64_t u = 0;

		w.processings++;
		assert_int_equal(virq_uintr_notify_process(&w.upid, &u), 0);
		assert_int_equal(u, 0);
	}
	assert_int_equal(w.stalls, 0);
	assert_int_equal(w.duplicates, 0);
	for (unsigned v = 0; v < VIRQ_UINTR_VECTORS; v++) {
		assert_int_equal(w.consumed[v], w.posted[v]);
		total += w.posted[v];
	}
	assert_int_equal(total, (uint64_t)ROUNDS * SENDERS);
	assert_true(w.notifies >= 1);
	assert_true(w.notifies <= w.processings + 1);
	/* The UPID ends empty: ON clear, PIR 0, SN clear, NV/NDST kept. */
	assert_int_equal(w.upid.pir, 0);
	assert_int_equal(w.upid.control, 0xECULL << 16 | 1ULL << 32);
	print_message("uintr stress%s: %llu posts, %llu consumed, 0 lost, 0 duplicated, "
		      "%llu notifications, %llu processings\n",
		      toggle_sn ? " (SN toggled)" : "", (unsigned long long)total,
		      (unsigned long long)total, (unsigned long long)w.notifies,
		      (unsigned long long)w.processings);
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cond);
}

static void test_stress(void **state)
{
	(void)state;
	run(false);
}

static void test_stress_sn(void **state)
{
	(void)state;
	run(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
		cmocka_unit_test(test_stress_sn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
