/*
 * capture.h - capture what the library writes on stderr (reports go out
 * with write(2) on fd 2) into a temporary file, for tests that check the
 * text of a report.
 */
#ifndef KMM_TEST_CAPTURE_H
#define KMM_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
	int saved_fd;
	FILE *file;
	char text[65536];
};

static inline void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	c->saved_fd = dup(2);
	dup2(fileno(c->file), 2);
}

/* Stop capturing; the text is in c->text (also echoed to the real stderr). */
static inline const char *capture_end(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved_fd, 2);
	close(c->saved_fd);
	rewind(c->file);
	size_t n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
	c->text[n] = '\0';
	fclose(c->file);
	if (getenv("KMM_TEST_VERBOSE"))
		fputs(c->text, stderr);
	return c->text;
}

#define ck_assert_contains(text, needle) \
	ck_assert_msg(strstr((text), (needle)) != NULL, \
		      "expected \"%s\" in:\n%s", (needle), (text))

#endif /* KMM_TEST_CAPTURE_H */
