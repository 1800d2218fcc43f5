/* child.h: child processes: started clean, tracked, and ended with the host. */
#ifndef UNDERSTUDY_CHILD_H
#define UNDERSTUDY_CHILD_H

#include <sys/types.h>

typedef struct ChildSpec {
	char *const *argv;         /* argv[0] is looked up in PATH */
	char *const *envp;         /* NULL: the host's environment */
	const char *cwd;           /* NULL: the host's folder */
	int in, out, err;          /* descriptors that become 0, 1, 2; -1: the host's own */
	/*
	 * A process group of its own, led by a keeper process that kills the
	 * whole group when the host dies, even by kill -9. The command is the
	 * keeper's child; the keeper ends as the command did.
	 */
	int group;
} ChildSpec;

/* Start a child. Returns its pid, or -1 with errno set when it could not start. */
pid_t child_start(const ChildSpec *c);

/*
 * Wait for a child to end and forget it; the wait status. When the host
 * is interrupted meanwhile, the child is killed first (its group too).
 */
int child_wait(pid_t pid);

/* Send sig to a child, and to its group when it has one. */
void child_signal(pid_t pid, int sig);

/* Forget a child that was waited for elsewhere. */
void child_forget(pid_t pid);

/* SIGKILL a child and everything it started: its group, or the processes below it. */
void child_end(pid_t pid);

/* The same for every child still running. */
void child_end_every(void);

/* Is the process pid (of this host) still running? A zombie is not. */
int process_alive(pid_t pid);

/* SIGKILL every child still running, with its group; safe in a signal handler. */
void child_end_all(void);

#endif
