/* child.c: child processes: started clean, tracked, and ended with the host. */
#include "child.h"
#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_TRACKED 64

/*
 * The children running now: a pid, or minus a process group's id. A
 * signal handler and the watchdog read it, so it is plain memory.
 */
static volatile sig_atomic_t tracked[MAX_TRACKED];

static void track(pid_t pid, int group)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked[i] == 0) {
			tracked[i] = group ? -pid : pid;
			return;
		}
}

void child_forget(pid_t pid)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked[i] == pid || tracked[i] == -pid)
			tracked[i] = 0;
}

void child_signal(pid_t pid, int sig)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked[i] == -pid) {
			kill(-pid, sig);
			return;
		}
	kill(pid, sig);
}

void child_end_all(void)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked[i])
			kill(tracked[i], SIGKILL);
}

/*
 * The state letter and parent of pid, from /proc/PID/stat ("pid (comm)
 * state ppid ..."); 0, or -1 when there is no such process.
 */
static int process_stat(pid_t pid, char *state, pid_t *parent)
{
	char path[64], text[512], *close_paren;
	ssize_t n;
	int fd, ppid = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	if (!(close_paren = strrchr(text, ')')) || sscanf(close_paren + 1, " %c %d", state, &ppid) != 2)
		return -1;
	*parent = ppid;
	return 0;
}

/* The parent of pid, or 0. */
static pid_t parent_of(pid_t pid)
{
	char state;
	pid_t ppid;
	return process_stat(pid, &state, &ppid) == 0 ? ppid : 0;
}

int process_alive(pid_t pid)
{
	char state;
	pid_t ppid;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 0;
	return process_stat(pid, &state, &ppid) != 0 || state != 'Z';   /* a zombie has ended */
}

/*
 * Kill pid and every process below it. A command of os.execute or
 * io.popen shares the host's process group (a terminal's Ctrl-C reaches
 * it, as under lua), so what it started is found through /proc.
 */
static void kill_tree(pid_t root)
{
	pid_t found[256];
	size_t n = 0;
	found[n++] = root;
	for (int pass = 0; pass < 3; pass++) {   /* a child with a smaller pid than its parent, too */
		DIR *d = opendir("/proc");
		struct dirent *e;
		if (!d)
			break;
		while ((e = readdir(d)) && n < sizeof found / sizeof found[0]) {
			pid_t pid = (pid_t)atoi(e->d_name), ppid, seen = 0;
			if (pid <= 0 || !(ppid = parent_of(pid)))
				continue;
			for (size_t i = 0; i < n && !seen; i++)
				seen = found[i] == pid;
			for (size_t i = 0; i < n && !seen; i++)
				if (found[i] == ppid) {
					found[n++] = pid;
					kill(pid, SIGSTOP);   /* it forks no more while we look */
					break;
				}
		}
		closedir(d);
	}
	for (size_t i = 0; i < n; i++)
		kill(found[i], SIGKILL);
}

void child_end(pid_t pid)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked[i] == -pid) {
			kill(-pid, SIGKILL);
			return;
		}
	kill_tree(pid);
}

void child_end_every(void)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked[i])
			child_end(tracked[i] < 0 ? -tracked[i] : tracked[i]);
}

/* Make fd the descriptor target in a child about to exec. */
static int child_dup(int fd, int target)
{
	if (fd < 0)
		return 0;
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);   /* keep it open across exec */
	return dup2(fd, target) < 0 ? -1 : 0;
}

/* In a child that cannot start the command: errno to the host through report, then exit. */
static void child_give_up(int report)
{
	int e = errno;
	ssize_t written = write(report, &e, sizeof e);   /* the host gone too: nobody to tell */
	(void)written;
	_exit(127);
}

/*
 * In the child: descriptors, folder, signal mask, then the program. An
 * errno goes back through report when it cannot start. Only
 * async-signal-safe calls here: the host may have other threads.
 */
static void child_exec(const ChildSpec *c, int report)
{
	sigset_t none;
	if (child_dup(c->in, 0) || child_dup(c->out, 1) || child_dup(c->err, 2))
		goto fail;
	if (c->cwd && chdir(c->cwd) != 0)
		goto fail;
	/* The host's handlers must not run here between the unblocking and the exec. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvpe(c->argv[0], c->argv, c->envp ? c->envp : environ);
fail:
	child_give_up(report);
}

/* The keeper's answer to the host's death: end the whole group, itself included. */
static void keeper_on_host_death(int sig)
{
	(void)sig;
	kill(0, SIGKILL);
}

/*
 * In the keeper: lead a new process group, learn of the host's death,
 * start the command in the group, and end as it ended.
 */
static void child_keep(const ChildSpec *c, int report, pid_t host)
{
	struct sigaction sa;
	sigset_t none;
	pid_t command;
	int status;

	setpgid(0, 0);
	/*
	 * Not the host's handlers: a timeout's SIGTERM to the group is for the
	 * command, and Ctrl-C is the host's to pass on. The command gets the
	 * defaults back before its exec.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = keeper_on_host_death;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGHUP);
	if (getppid() != host)
		_exit(127);   /* the host died before we could watch it */
	command = fork();
	if (command == 0)
		child_exec(c, report);
	if (command < 0)
		child_give_up(report);
	/*
	 * Hold nothing of the host's: a pipe end kept open here would keep the
	 * command from seeing the end of its input.
	 */
	if (close_range(0, ~0U, 0) != 0)
		for (int fd = 0; fd < 1024; fd++)
			close(fd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	while (waitpid(command, &status, 0) < 0)
		if (errno != EINTR)
			_exit(127);
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	/* Die of the command's signal, without a core of our own. */
	struct rlimit none_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none_core);
	signal(WTERMSIG(status), SIG_DFL);
	raise(WTERMSIG(status));
	_exit(128 + WTERMSIG(status));
}

pid_t child_start(const ChildSpec *c)
{
	int report[2], e = 0;
	pid_t host = getpid(), pid;
	sigset_t all, old;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) != 0)
		return -1;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);   /* none of the host's handlers runs in the child */
	pid = fork();
	if (pid == 0) {
		close(report[0]);
		if (c->group)
			child_keep(c, report[1], host);
		child_exec(c, report[1]);
	}
	e = errno;
	if (pid > 0)
		track(pid, c->group);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(report[1]);
	if (pid < 0) {
		close(report[0]);
		errno = e;
		return -1;
	}
	/* The report pipe closes at exec; an errno comes through it when the command cannot start. */
	while ((n = read(report[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(report[0]);
	if (n == (ssize_t)sizeof e) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		child_forget(pid);
		errno = e;
		return -1;
	}
	return pid;
}

int child_wait(pid_t pid)
{
	int status = 0;
	int fd = pidfd_open(pid, 0);
	for (;;) {
		pid_t got = waitpid(pid, &status, WNOHANG);
		if (got == pid || (got < 0 && errno != EINTR))
			break;
		if (host_interrupted) {
			child_end(pid);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		/* The pidfd turns readable when the child ends; without one, look again soon. */
		host_wait(fd, fd >= 0 ? -1 : 20);
	}
	if (fd >= 0)
		close(fd);
	child_forget(pid);
	return status;
}
