/*
 * interrupt.c: Ctrl-C, SIGTERM, SIGHUP. The handler only sets a hook that
 * raises "interrupted" in Lua; waits for input give way to it; and a
 * watchdog ends a run that C code keeps from stopping within a second.
 */
#include "host.h"
#include "child.h"
#include "terminal.h"

#include <errno.h>
#include <lauxlib.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WATCH_GRACE_MS 1000     /* from the signal to the watchdog ending the run */
#define WATCH_ENDING_MS 3000    /* and, once the run is ending, to the process ending */

volatile sig_atomic_t host_interrupted;
static volatile sig_atomic_t interrupt_seen;   /* the run has begun to stop */
static lua_State *signal_state;      /* the handler needs it: the one C global state */

/* What the watchdog needs to record a run it ends. */
static struct {
	int on;
	sem_t wake;
	Store *store;
	int64_t run;
	volatile sig_atomic_t ending;
} watch;

/*
 * The hook a signal sets: raise "interrupted" at the next Lua instruction.
 * It stays, counting instructions only (the host's C code runs free): a
 * script that catches the error with pcall gets it again at its next
 * instruction, so no loop swallows an interruption.
 */
static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	lua_sethook(L, interrupt_hook, LUA_MASKCOUNT, 1);
	interrupt_seen = 1;
	luaL_error(L, "interrupted");
}

/* SIGINT, SIGTERM, SIGHUP: set a hook (as lua.c does); a second one exits at once. */
static void on_signal(int sig)
{
	if (host_interrupted) {
		terminal_restore();
		child_end_all();
		_exit(128 + sig);
	}
	host_interrupted = sig;
	lua_sethook(signal_state, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
	if (watch.on)
		sem_post(&watch.wake);
}

void host_signals_install(lua_State *L)
{
	struct sigaction sa;
	signal_state = L;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;            /* no SA_RESTART: a blocking call returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);   /* the terminal went away: like SIGTERM */
}

void host_signals_release(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (signal_state)
		lua_sethook(signal_state, NULL, 0, 0);   /* __gc code runs as the state closes */
	signal_state = NULL;
}

void host_interrupt_forget(lua_State *L)
{
	host_interrupted = 0;
	interrupt_seen = 0;
	lua_sethook(L, NULL, 0, 0);
}

int host_interrupt_code(void)
{
	return host_interrupted ? 128 + host_interrupted : EXIT_INTERRUPTED;
}

void host_raise_interrupt(lua_State *L, const char *fmt, ...)
{
	va_list ap;
	/* After a signal, the hook stays (see interrupt_hook); end of input is only an error. */
	lua_sethook(L, host_interrupted ? interrupt_hook : NULL, host_interrupted ? LUA_MASKCOUNT : 0, 1);
	interrupt_seen = 1;
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	host_hide_secrets(L, lua_tostring(L, -1));   /* "interrupted while running COMMAND" */
	host_raise(L, host_interrupt_code(), lua_tostring(L, -1), NULL);
}

void host_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

int host_wait2(int fd, int fd2, int64_t timeout_ms)
{
	sigset_t stop, old;
	int64_t deadline = timeout_ms >= 0 ? clock_mono_ms() + timeout_ms : -1;
	int rc;
	host_stop_signals(&stop);
	sigprocmask(SIG_BLOCK, &stop, &old);
	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { fd2, POLLIN, 0 } };
		struct timespec ts, *wait = NULL;
		if (host_interrupted) {
			rc = -1;
			break;
		}
		if (deadline >= 0) {
			int64_t left = deadline - clock_mono_ms();
			if (left <= 0) {
				rc = 0;
				break;
			}
			ts.tv_sec = (time_t)(left / 1000);
			ts.tv_nsec = (long)(left % 1000) * 1000000;
			wait = &ts;
		}
		/* The signals are let in only while ppoll waits: one that came before is seen above. A negative fd is skipped. */
		int n = ppoll(p, 2, wait, &old);
		if (n > 0 || (n < 0 && errno != EINTR)) {
			rc = n > 0 && !p[0].revents && p[1].revents ? 2 : 1;   /* a read will tell what it is */
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int host_wait(int fd, int64_t timeout_ms)
{
	return host_wait2(fd, -1, timeout_ms);
}

/* Sleep ms milliseconds, whatever signals come. */
static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* End the run from the watchdog: children, terminal, the record, the process. */
static void watchdog_end_run(int sig)
{
	char why[128];
	snprintf(why, sizeof why, "%s: the script did not stop within a second", sig == SIGTERM ? "terminated" : "interrupted");
	child_end_every();
	terminal_restore();
	dprintf(STDERR_FILENO, "\nunderstudy: %s\n", why);
	if (store_mark_interrupted(watch.store, watch.run, why) == 0)
		dprintf(STDERR_FILENO, "understudy: to go on from where it stopped: understudy resume %lld\n",
		        (long long)watch.run);
	_exit(128 + sig);
}

/*
 * The watchdog's thread, woken by the first signal. When the run has not
 * begun to stop a second later (the script is in C code: a pattern
 * match, a read of endless input; or in a coroutine, which the hook does
 * not reach), or has not reached its end a few seconds later (the script
 * caught the error), it ends the run itself, recording it and its pending
 * steps on a connection of its own.
 */
static void *watchdog(void *unused)
{
	int sig, waited = 0;
	(void)unused;
	while (sem_wait(&watch.wake) != 0)
		;
	sig = host_interrupted;
	pause_ms(WATCH_GRACE_MS);
	if (!interrupt_seen && !watch.ending)
		watchdog_end_run(sig);
	for (; !watch.ending && waited < WATCH_GRACE_MS; waited += 100)
		pause_ms(100);
	if (!watch.ending)
		watchdog_end_run(sig);
	pause_ms(WATCH_ENDING_MS);   /* the run is recorded; its process must still end (a __gc that loops) */
	child_end_every();
	_exit(128 + sig);
	return NULL;
}

void host_watchdog_start(Store *store, int64_t run)
{
	sigset_t all, old;
	pthread_t t;
	if (watch.on || sem_init(&watch.wake, 0, 0) != 0)
		return;
	watch.store = store;
	watch.run = run;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);   /* the handlers run on the main thread */
	if (pthread_create(&t, NULL, watchdog, NULL) == 0) {
		pthread_detach(t);
		watch.on = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void host_watchdog_ending(void)
{
	watch.ending = 1;
}
