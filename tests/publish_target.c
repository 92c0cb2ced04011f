/*
 * publish_target - a program for tests/publish.sh: boots libkmm with the
 * settings given, allocates, says "ready", and waits for its stdin to
 * close, then exits normally.
 */
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
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	kfree(p);
	vfree(v);
	__free_pages(pg, 3);
	return 0;
}
