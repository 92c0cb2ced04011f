/*
 * forkstress.c - fork() from a multi-threaded parent whose threads keep
 * allocating: 100 forks, each child allocates at once (small, large,
 * aligned) and exits.  A lock left held across fork() deadlocks the child;
 * the script bounds the run with timeout(1).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4
#define FORKS 100

static volatile int stop;

static void *allocator(void *arg)
{
	unsigned seed = (unsigned)(unsigned long)arg;
	void *keep[256] = { 0 };
	while (!stop) {
		unsigned k = (unsigned)rand_r(&seed) % 256;
		size_t n = (size_t)rand_r(&seed) % 2000;
		if (rand_r(&seed) % 64 == 0)
			n += 100000;        /* vmalloc now and then */
		free(keep[k]);
		keep[k] = malloc(n);
		if (keep[k] && n)
			memset(keep[k], (int)k, n < 64 ? n : 64);
	}
	for (int i = 0; i < 256; i++)
		free(keep[i]);
	return NULL;
}

static int child(void)
{
	void *a = malloc(24), *b = malloc(300000), *c = NULL;
	if (!a || !b || posix_memalign(&c, 1 << 16, 100))
		return 1;
	memset(b, 1, 300000);
	char *s = strdup("child");
	free(a);
	free(b);
	free(c);
	free(s);
	return 0;
}

int main(void)
{
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, allocator, (void *)(i + 1)))
			return 1;
	for (int i = 0; i < FORKS; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(child());
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "forkstress: child %d failed (status %#x)\n", i, st);
			return 1;
		}
	}
	stop = 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("forkstress: %d forks from %d allocating threads: ok\n", FORKS, THREADS);
	return 0;
}
