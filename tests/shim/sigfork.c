/*
 * sigfork - fork() from a signal handler that may have interrupted malloc
 * or free (what glibc's tst-mallocfork2 checks): a helper process sends
 * SIGUSR1 as fast as it can; the handler pauses it, forks a child that
 * exits at once, and waits for it; the main loop keeps 1009 blocks of up to
 * 70000 bytes churning with malloc and free until 1000 signals have landed
 * (or -n COUNT).  Exit 0 when done; a deadlock or livelock is caught by the
 * caller's timeout.  With -m the handler also calls malloc and free.
 */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t sender;
static volatile sig_atomic_t received;
static int handler_mallocs;

static void on_usr1(int sig)
{
	(void)sig;
	if (received)
		return;
	received = 1;
	if (sender > 0)
		kill(sender, SIGSTOP);
	if (handler_mallocs)
		free(malloc(100));
	pid_t pid = fork();
	if (pid < 0) {
		write(2, "sigfork: fork failed\n", 21);
		abort();
	}
	if (pid == 0)
		_exit(0);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	if (status != 0)
		abort();
}

int main(int argc, char **argv)
{
	unsigned long want = 1000, got = 0;
	int opt;
	while ((opt = getopt(argc, argv, "n:m")) != -1) {
		if (opt == 'n')
			want = strtoul(optarg, NULL, 10);
		else if (opt == 'm')
			handler_mallocs = 1;
		else
			return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	pid_t parent = getpid();
	sender = fork();
	if (sender == 0) {
		for (;;)
			if (kill(parent, SIGUSR1) != 0)
				_exit(0);
	}
	static void *slot[1009];
	unsigned int seed = 1;
	while (got < want) {
		kill(sender, SIGCONT);
		received = 0;
		int s = rand_r(&seed) % 1009;
		free(slot[s]);
		slot[s] = malloc((size_t)(rand_r(&seed) % 70000));
		if (received)
			got++;
	}
	signal(SIGUSR1, SIG_IGN);
	kill(sender, SIGKILL);
	waitpid(sender, NULL, 0);
	for (int s = 0; s < 1009; s++)
		free(slot[s]);
	printf("sigfork: %lu forks from a signal handler\n", got);
	return 0;
}
