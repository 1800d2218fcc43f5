/*
 * benchrun.c: times commands, interleaved (A B A B ...), for make bench.
 * usage: benchrun [-r REPS] -- CMD1 ARGS... [-- CMD2 ARGS...]...
 * Prints, for each command in order, one line: "MEDIAN_SECONDS MAX_RSS_KB".
 * A command's output goes to /dev/null; a failing command ends the run (exit 1).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_COMMANDS 8
#define MAX_REPS 101

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Run argv once; its wall time and peak RSS. */
static int run(char **argv, double *seconds, long *rss_kb)
{
	struct rusage ru;
	int status;
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return -1;
	*seconds = now() - t0;
	*rss_kb = ru.ru_maxrss;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	char **cmds[MAX_COMMANDS];
	double times[MAX_COMMANDS][MAX_REPS];
	long rss[MAX_COMMANDS] = { 0 };
	int ncmds = 0, reps = 5;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && ncmds < MAX_COMMANDS) {
			argv[i] = NULL;   /* ends the previous command */
			cmds[ncmds++] = argv + i + 1;
		}
	}
	if (ncmds == 0 || reps < 1 || reps > MAX_REPS) {
		fputs("usage: benchrun [-r REPS] -- CMD ARGS... [-- CMD ARGS...]...\n", stderr);
		return 2;
	}
	for (int r = 0; r < reps; r++) {
		for (int c = 0; c < ncmds; c++) {
			long kb;
			if (run(cmds[c], &times[c][r], &kb) != 0) {
				fprintf(stderr, "benchrun: %s failed\n", cmds[c][0]);
				return 1;
			}
			if (kb > rss[c])
				rss[c] = kb;
		}
	}
	for (int c = 0; c < ncmds; c++) {
		qsort(times[c], (size_t)reps, sizeof times[c][0], compare);
		printf("%.6f %ld\n", times[c][reps / 2], rss[c]);
	}
	return 0;
}
