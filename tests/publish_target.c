/*
 * publish_target - a program for tests/publish.sh: boots libkmm with the
 * settings given, allocates, says "ready", and waits for its stdin to
 * close, then exits normally.
 */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>
#include <kmm/kmm.h>

int main(int argc, char **argv)
{
	char c;
	if (kmm_init(argc > 1 ? argv[1] : NULL) != 0)
		return 1;
	void *p = kmalloc(1000, GFP_KERNEL);
	void *v = vmalloc(1 << 20);
	struct page *pg = alloc_pages(GFP_KERNEL, 3);
	printf("ready\n");
	fflush(stdout);
	/* Wake up now and then: a ThreadSanitizer build delivers signals only
	 * when a call returns. */
	for (;;) {
		struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
		if (poll(&pfd, 1, 100) > 0 && read(STDIN_FILENO, &c, 1) <= 0)
			break;
	}
	kfree(p);
	vfree(v);
	__free_pages(pg, 3);
	return 0;
}
