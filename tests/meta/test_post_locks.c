/* SPDX-License-Identifier: MIT */
/*
 * Locked instructions executed by one post, counted on the real library.
 *
 * README ("Thread rules", "Performance") and pi.h promise that a post that
 * finds a notification outstanding (ON set) issues exactly one locked
 * instruction (the PIR bit's LOCK BTS/OR), and that a post that turns ON
 * from 0 to 1 issues two (PIR, then ON) and kicks once. This program holds
 * the library to that by running it: a forked child calls virq_lapic_post()
 * (edge-triggered), the header's inline virq_lapic_post_edge() (compiled
 * here, in a function of this file) and virq_pi_post() in each descriptor
 * state, and the
 * parent single-steps (PTRACE_SINGLESTEP) every instruction the call
 * executes, from the function's first instruction until it returns to its
 * caller (RIP at the return address, RSP back above the entry frame), and
 * decodes each one at RIP for a LOCK prefix or an implicitly locked XCHG
 * with a memory operand. Callees are counted too (the kick hook, any helper
 * the library calls), so the count does not depend on how the source is
 * split into functions or inlined; only on what one call executes.
 *
 * NMI posts (virq_lapic_post_msg() with an NMI message) are counted too:
 * NMIs are counted to two with one compare-exchange on the event word, so
 * the first and the second NMI each issue one locked instruction (the
 * first kicks), and an NMI that finds two pending issues none.
 *
 * The child marks each measured call with raise(SIGSTOP) after its set-up
 * posts; the parent steps from that stop to the function's entry without
 * counting (the tail of raise(), the call), then counts. The call goes
 * through a volatile function pointer, so even an LTO build calls the
 * library's own function rather than an inlined copy. The child checks the
 * functional side (kicks, return value) and exits non-zero on a mismatch.
 *
 * Exit status: 0 all counts as expected, 1 a mismatch, 77 (with a SKIP line)
 * when ptrace is not permitted (seccomp, Yama, already being traced) or the
 * host is not x86-64. Not built in TSan builds, where atomics are calls into
 * the TSan runtime. scripts/bench.sh reports the same counts with gdb on a
 * release build (and objdump's static paths); this one fails the meta suite.
 */
#include <virq/lapic.h>
#include <virq/pi.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP 77
/* The child's exit status when PTRACE_TRACEME fails: NO_PTRACE + errno. */
#define NO_PTRACE 100
/* Instructions allowed from the SIGSTOP to the entry, and inside one call. */
#define MAX_STEPS_TO_ENTRY 100000U
#define MAX_STEPS_IN_CALL 10000U
#define MAX_LOCKED_SHOWN 8U

#if !defined(__x86_64__)
int main(void)
{
	printf("SKIP: the tracer reads x86-64 registers and decodes x86 instructions\n");
	return SKIP;
}
#else

enum target {
	T_LAPIC,
	T_LAPIC_INLINE, /* virq_lapic_post_edge(), the header's inline post */
	T_PI,
	T_LAPIC_NMI /* virq_lapic_post_msg() of an NMI message */
};

struct post_case {
	const char *name;
	enum target target;
	int setup_vector; /* posted (and not measured) first; -1: none */
	bool suppress;    /* T_PI: SN set before the measured post */
	uint8_t vector;   /* the measured post */
	unsigned locked;  /* expected locked instructions */
	unsigned kicks;   /* T_LAPIC*: expected kicks in the measured call */
	bool notify;      /* T_PI: expected return value */
	unsigned nmis;    /* T_LAPIC_NMI: NMIs posted (and not measured) first */
};

static const struct post_case cases[] = {
	{ "lapic edge post, ON clear", T_LAPIC, -1, false, 0x41, 2, 1, false, 0 },
	{ "lapic edge post, ON set", T_LAPIC, 0x30, false, 0x41, 1, 0, false, 0 },
	{ "lapic edge post, vector in PIR, ON set", T_LAPIC, 0x41, false, 0x41, 1, 0, false, 0 },
	{ "inline edge post, ON clear", T_LAPIC_INLINE, -1, false, 0x41, 2, 1, false, 0 },
	{ "inline edge post, ON set", T_LAPIC_INLINE, 0x30, false, 0x41, 1, 0, false, 0 },
	{ "inline edge post, vector in PIR, ON set", T_LAPIC_INLINE, 0x41, false, 0x41, 1, 0, false,
	  0 },
	{ "pi post, ON clear", T_PI, -1, false, 0x41, 2, 0, true, 0 },
	{ "pi post, ON set", T_PI, 0x30, false, 0x41, 1, 0, false, 0 },
	{ "pi post, vector in PIR, ON set", T_PI, 0x41, false, 0x41, 1, 0, false, 0 },
	{ "pi post, SN set, not urgent", T_PI, -1, true, 0x41, 1, 0, false, 0 },
	{ "lapic NMI post, none pending", T_LAPIC_NMI, -1, false, 0, 1, 1, false, 0 },
	{ "lapic NMI post, one pending", T_LAPIC_NMI, -1, false, 0, 1, 0, false, 1 },
	{ "lapic NMI post, two pending", T_LAPIC_NMI, -1, false, 0, 0, 0, false, 2 },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ---- child: the posts ---- */

static uint32_t page[VIRQ_LAPIC_PAGE_SIZE / 4] VIRQ_ALIGNED(4096);
static struct virq_lapic lapic;
static struct virq_pi_desc desc;
static unsigned kicks;

/* The kick hook is stepped too: a plain counter, no atomics. */
static void hook_kick(void *ctx)
{
	(void)ctx;
	kicks++;
}

static uint64_t hook_now_ns(void *ctx)
{
	(void)ctx;
	return 0;
}

static void hook_timer_arm(void *ctx, uint64_t deadline_ns)
{
	(void)ctx;
	(void)deadline_ns;
}

static void hook_timer_cancel(void *ctx)
{
	(void)ctx;
}

static const struct virq_lapic_ops ops = {
	.size = sizeof(struct virq_lapic_ops),
	.kick = hook_kick,
	.now_ns = hook_now_ns,
	.timer_arm = hook_timer_arm,
	.timer_cancel = hook_timer_cancel,
};

/* The inline post, compiled here as an embedder compiles it; a function of
 * its own, so that the tracer has an entry and a return to step between. */
static __attribute__((noinline)) void post_edge_here(struct virq_lapic *l, uint8_t v, bool level)
{
	(void)level;
	virq_lapic_post_edge(l, v);
}

/* Called through these, so the call reaches the library's own functions. */
static void (*volatile lapic_post_fn)(struct virq_lapic *, uint8_t, bool) = virq_lapic_post;
static void (*volatile lapic_post_edge_fn)(struct virq_lapic *, uint8_t, bool) = post_edge_here;
static bool (*volatile pi_post_fn)(struct virq_pi_desc *, uint8_t, bool) = virq_pi_post;
static void (*volatile lapic_post_msg_fn)(struct virq_lapic *,
					  const struct virq_apic_msg *) = virq_lapic_post_msg;

static const struct virq_apic_msg nmi_msg = { .delivery = VIRQ_DM_NMI, .level = true };

static uintptr_t target_addr(enum target t)
{
	switch (t) {
	case T_LAPIC:
		return (uintptr_t)virq_lapic_post;
	case T_LAPIC_INLINE:
		return (uintptr_t)post_edge_here;
	case T_LAPIC_NMI:
		return (uintptr_t)virq_lapic_post_msg;
	default:
		return (uintptr_t)virq_pi_post;
	}
}

static int child_case(const struct post_case *c)
{
	const struct virq_lapic_config cfg = {
		.size = sizeof(struct virq_lapic_config), .apic_id = 0, .bsp = true, .x2apic = true
	};
	unsigned before;
	bool ret = false;

	if (c->target != T_PI) {
		if (virq_lapic_init(&lapic, page, &cfg, &ops, NULL)) {
			/* The parent sees an exit where it waits for the marker. */
			fprintf(stderr, "child: virq_lapic_init failed\n");
			_exit(2);
		}
		if (c->setup_vector >= 0)
			virq_lapic_post(&lapic, (uint8_t)c->setup_vector, false);
		for (unsigned i = 0; i < c->nmis; i++)
			virq_lapic_post_msg(&lapic, &nmi_msg);
	} else {
		memset(&desc, 0, sizeof(desc));
		if (c->suppress)
			virq_pi_set_sn(&desc, true);
		if (c->setup_vector >= 0)
			virq_pi_post(&desc, (uint8_t)c->setup_vector, false);
	}
	before = kicks;

	raise(SIGSTOP); /* the parent steps from here to the entry, then counts */
	if (c->target == T_LAPIC)
		lapic_post_fn(&lapic, c->vector, false);
	else if (c->target == T_LAPIC_INLINE)
		lapic_post_edge_fn(&lapic, c->vector, false);
	else if (c->target == T_LAPIC_NMI)
		lapic_post_msg_fn(&lapic, &nmi_msg);
	else
		ret = pi_post_fn(&desc, c->vector, false);

	if (c->target != T_PI && kicks - before != c->kicks) {
		fprintf(stderr, "child: %s: %u kicks, want %u\n", c->name, kicks - before,
			c->kicks);
		return 1;
	}
	if (c->target == T_LAPIC_NMI) {
		struct virq_lapic_events ev;
		unsigned want = c->nmis + 1 < 2 ? c->nmis + 1 : 2;

		virq_lapic_take_events(&lapic, &ev);
		if (ev.flags != VIRQ_LAPIC_EV_NMI || ev.nmi_count != want) {
			fprintf(stderr, "child: %s: events %#x with %u NMIs, want %u\n", c->name,
				ev.flags, ev.nmi_count, want);
			return 1;
		}
	}
	if (c->target == T_PI && ret != c->notify) {
		fprintf(stderr, "child: %s: virq_pi_post returned %d, want %d\n", c->name, ret,
			c->notify);
		return 1;
	}
	return 0;
}

static int child(void)
{
	int bad = 0;

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
		_exit(NO_PTRACE + (errno & 0x3f));
	for (size_t i = 0; i < NCASES; i++)
		bad += child_case(&cases[i]);
	return bad ? 1 : 0;
}

/* ---- parent: the tracer ---- */

/* Legacy prefixes (SDM 2A 2.1.1 "Instruction Prefixes"); LOCK is 0xF0. */
static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0xF0:
	case 0xF2:
	case 0xF3:
	case 0x2E:
	case 0x36:
	case 0x3E:
	case 0x26:
	case 0x64:
	case 0x65:
	case 0x66:
	case 0x67:
		return true;
	default:
		return false;
	}
}

/*
 * A locked instruction: a LOCK prefix among the legacy prefixes, or XCHG
 * (0x86/0x87, after an optional REX) with a memory operand (ModRM.mod != 3),
 * which the CPU locks implicitly (SDM 3A 9.1.2.1 "Automatic Locking").
 */
static bool insn_locked(const uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i < n && is_legacy_prefix(b[i])) {
		if (b[i] == 0xF0)
			return true;
		i++;
	}
	if (i < n && (b[i] & 0xF0U) == 0x40U)
		i++; /* REX */
	return i + 1 < n && (b[i] == 0x86 || b[i] == 0x87) && (b[i + 1] >> 6) != 3;
}

/* Up to 16 bytes of the tracee at addr; returns how many could be read. */
static size_t peek_insn(pid_t pid, uintptr_t addr, uint8_t *buf)
{
	size_t got = 0;

	for (unsigned w = 0; w < 2; w++) {
		long word;

		errno = 0;
		word = ptrace(PTRACE_PEEKTEXT, pid, (void *)(addr + 8U * w), NULL);
		if (word == -1 && errno)
			break;
		memcpy(buf + got, &word, 8);
		got += 8;
	}
	return got;
}

static int wait_stop(pid_t pid, int *sig)
{
	int st;

	if (waitpid(pid, &st, 0) != pid) {
		perror("waitpid");
		return -1;
	}
	if (WIFSTOPPED(st)) {
		*sig = WSTOPSIG(st);
		return 0;
	}
	if (WIFEXITED(st))
		fprintf(stderr, "child exited early with status %d\n", WEXITSTATUS(st));
	else
		fprintf(stderr, "child killed by signal %d\n", WTERMSIG(st));
	return -1;
}

/* One single step; the child must stop again with SIGTRAP. */
static int step(pid_t pid, struct user_regs_struct *regs)
{
	int sig;

	if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0) {
		perror("PTRACE_SINGLESTEP");
		return -1;
	}
	if (wait_stop(pid, &sig))
		return -1;
	if (sig != SIGTRAP) {
		fprintf(stderr, "unexpected signal %d while stepping\n", sig);
		return -1;
	}
	if (ptrace(PTRACE_GETREGS, pid, NULL, regs) != 0) {
		perror("PTRACE_GETREGS");
		return -1;
	}
	return 0;
}

struct count {
	unsigned insns;
	unsigned locked;
	uintptr_t where[MAX_LOCKED_SHOWN];
	uint8_t bytes[MAX_LOCKED_SHOWN][16];
	size_t len[MAX_LOCKED_SHOWN];
};

/* From the child's SIGSTOP: steps to the entry of fn, then counts the call. */
static int count_call(pid_t pid, uintptr_t fn, struct count *out)
{
	struct user_regs_struct regs;
	uint64_t entry_sp;
	uintptr_t ret;
	unsigned n = 0;

	memset(out, 0, sizeof(*out));
	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0) {
		perror("PTRACE_GETREGS");
		return -1;
	}
	while (regs.rip != fn) {
		if (++n > MAX_STEPS_TO_ENTRY) {
			fprintf(stderr, "no call to %#lx within %u instructions\n",
				(unsigned long)fn, MAX_STEPS_TO_ENTRY);
			return -1;
		}
		if (step(pid, &regs))
			return -1;
	}

	/* At the entry RSP points at the return address. */
	entry_sp = regs.rsp;
	errno = 0;
	ret = (uintptr_t)ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)entry_sp, NULL);
	if (errno) {
		perror("PTRACE_PEEKDATA");
		return -1;
	}
	do {
		uint8_t buf[16];
		size_t len = peek_insn(pid, regs.rip, buf);

		if (!len) {
			fprintf(stderr, "cannot read the instruction at %#llx\n", regs.rip);
			return -1;
		}
		if (insn_locked(buf, len)) {
			if (out->locked < MAX_LOCKED_SHOWN) {
				out->where[out->locked] = regs.rip;
				memcpy(out->bytes[out->locked], buf, len);
				out->len[out->locked] = len;
			}
			out->locked++;
		}
		if (++out->insns > MAX_STEPS_IN_CALL) {
			fprintf(stderr, "the call did not return within %u instructions\n",
				MAX_STEPS_IN_CALL);
			return -1;
		}
		if (step(pid, &regs))
			return -1;
	} while (!(regs.rip == ret && regs.rsp == entry_sp + 8));
	return 0;
}

static void show_locked(const struct count *c, uintptr_t fn)
{
	unsigned shown = c->locked < MAX_LOCKED_SHOWN ? c->locked : MAX_LOCKED_SHOWN;

	for (unsigned i = 0; i < shown; i++) {
		uintptr_t at = c->where[i];

		if (at >= fn && at - fn < 4096)
			printf("      entry+%#-6lx", (unsigned long)(at - fn));
		else
			printf("      %#-12lx", (unsigned long)at);
		/* The instruction's own length is unknown here; 8 bytes suffice to see it. */
		for (size_t b = 0; b < 8 && b < c->len[i]; b++)
			printf(" %02x", c->bytes[i][b]);
		printf("\n");
	}
}

static int parent(pid_t pid)
{
	int failed = 0;
	int sig;
	int st;

	for (size_t i = 0; i < NCASES; i++) {
		const struct post_case *c = &cases[i];
		uintptr_t fn = target_addr(c->target);
		struct count cnt;

		if (waitpid(pid, &st, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		if (i == 0 && WIFEXITED(st) && WEXITSTATUS(st) >= NO_PTRACE) {
			printf("SKIP: ptrace not permitted here (PTRACE_TRACEME: %s)\n",
			       strerror(WEXITSTATUS(st) - NO_PTRACE));
			return SKIP;
		}
		if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) {
			fprintf(stderr,
				"case %zu: the child did not stop at its marker (status %#x)\n", i,
				st);
			kill(pid, SIGKILL);
			return 1;
		}
		if (i == 0)
			ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(uintptr_t)PTRACE_O_EXITKILL);
		if (count_call(pid, fn, &cnt)) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return 1;
		}
		printf("%-40s %3u instructions, %u locked (want %u)%s\n", c->name, cnt.insns,
		       cnt.locked, c->locked, cnt.locked == c->locked ? "" : "  <== MISMATCH");
		show_locked(&cnt, fn);
		if (cnt.locked != c->locked)
			failed++;
		if (ptrace(PTRACE_CONT, pid, NULL, NULL) != 0) {
			perror("PTRACE_CONT");
			return 1;
		}
	}
	if (waitpid(pid, &st, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	if (WIFSTOPPED(st)) {
		sig = WSTOPSIG(st);
		fprintf(stderr, "child stopped after the last case (signal %d)\n", sig);
		kill(pid, SIGKILL);
		return 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "child failed its functional checks (status %#x)\n", st);
		failed++;
	}
	printf("%zu cases, %d failed\n", NCASES, failed);
	return failed ? 1 : 0;
}

int main(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		_exit(child());
	return parent(pid);
}
#endif /* __x86_64__ */
