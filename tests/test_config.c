/*
 * test_config.c - the KMM_CONF parser: sizes, booleans, lists, and bad
 * settings reported (once, naming the setting) and ignored.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include "testutil.h"
#include "../lib/internal.h"

/* Run parse with stderr captured into buf. */
static int parse_capture(struct kmm_config *c, const char *text, char *buf, size_t size)
{
	char path[] = "/tmp/kmm-conf-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	int bad = kmm_config_parse(c, text);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return bad;
}

START_TEST(test_sizes)
{
	unsigned long v;
	ck_assert(kmm_parse_size("4096", 4, &v) && v == 4096);
	ck_assert(kmm_parse_size("64M", 3, &v) && v == 64UL << 20);
	ck_assert(kmm_parse_size("2G", 2, &v) && v == 2UL << 30);
	ck_assert(kmm_parse_size("896MiB", 6, &v) && v == 896UL << 20);
	ck_assert(kmm_parse_size("1k", 2, &v) && v == 1024);
	ck_assert(!kmm_parse_size("", 0, &v));
	ck_assert(!kmm_parse_size("G", 1, &v));
	ck_assert(!kmm_parse_size("12X", 3, &v));
	ck_assert(!kmm_parse_size("99999999999999999999", 20, &v));
	ck_assert(!kmm_parse_size("99999999999T", 12, &v));
}
END_TEST

START_TEST(test_good_settings)
{
	struct kmm_config c;
	char err[1024];
	kmm_config_defaults(&c);
	ck_assert_int_eq(parse_capture(&c, "mem=2G lowmem=896M,verbose phys=memfd "
				       "slub_debug=FZP,kmalloc-64,kmalloc-128 stats=0", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	/* The shim's namespace is skipped, not reported. */
	ck_assert_int_eq(parse_capture(&c, "malloc.anything=1", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(c.mem, 2UL << 30);
	ck_assert_uint_eq(c.lowmem, 896UL << 20);
	ck_assert(c.verbose);
	ck_assert(!c.stats);
	ck_assert(c.phys_memfd);
	ck_assert_str_eq(c.slub_debug, "FZP,kmalloc-64,kmalloc-128");
}
END_TEST

START_TEST(test_bad_settings_reported_and_ignored)
{
	struct kmm_config c;
	char err[2048];
	kmm_config_defaults(&c);
	unsigned long default_mem = c.mem;
	int bad = parse_capture(&c, "mem=banana frobnicate=1 mem=1K verbose=maybe "
				"phys=disk lowmem= page_reporting.delay=-5 mem=128M", err, sizeof(err));
	ck_assert_int_eq(bad, 7);
	ck_assert_ptr_nonnull(strstr(err, "'mem=banana': expected a size"));
	ck_assert_ptr_nonnull(strstr(err, "'frobnicate=1': unknown setting"));
	ck_assert_ptr_nonnull(strstr(err, "'mem=1K'"));
	ck_assert_ptr_nonnull(strstr(err, "'verbose=maybe'"));
	ck_assert_ptr_nonnull(strstr(err, "'phys=disk': expected 'anon' or 'memfd'"));
	ck_assert_ptr_nonnull(strstr(err, "'page_reporting.delay=-5'"));
	/* The good one still applies; bad ones left the default alone. */
	ck_assert_uint_eq(c.mem, 128UL << 20);
	ck_assert_uint_ne(default_mem, 0);
	ck_assert(!c.verbose);
	ck_assert(!c.phys_memfd);
}
END_TEST

START_TEST(test_kmm_init_rejects_bad_then_boots)
{
	char err[1024];
	struct kmm_config c;
	kmm_config_defaults(&c);
	(void)parse_capture(&c, "", err, sizeof(err));
	int saved = dup(STDERR_FILENO);
	int devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDERR_FILENO);
	ck_assert_int_eq(kmm_init("mem=lots"), -EINVAL);
	dup2(saved, STDERR_FILENO);
	ck_assert_int_eq(kmm_init("mem=64M"), 0);
	ck_assert_int_eq(kmm_init("mem=64M"), -EBUSY);
	ck_assert_uint_eq(totalram_pages(), (64UL << 20) >> PAGE_SHIFT);
}
END_TEST

START_TEST(test_env_bad_setting_boots_anyway)
{
	char path[] = "/tmp/kmm-conf-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	setenv("KMM_CONF", "mem=64M bogus", 1);
	dup2(fd, STDERR_FILENO);
	ck_assert_uint_gt(nr_free_pages(), 0);   /* boots from KMM_CONF */
	dup2(saved, STDERR_FILENO);
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	ck_assert_ptr_nonnull(strstr(buf, "'bogus': unknown setting"));
	ck_assert_uint_eq(totalram_pages(), (64UL << 20) >> PAGE_SHIFT);
}
END_TEST

START_TEST(test_lowmem_above_mem_ignored)
{
	int saved = dup(STDERR_FILENO);
	int devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDERR_FILENO);
	ck_assert_int_eq(kmm_init("mem=128M lowmem=1G"), 0);
	dup2(saved, STDERR_FILENO);
	ck_assert_uint_eq(totalhigh_pages(), 0);
	ck_assert_kmm_clean();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_good_settings);
	tcase_add_test(tc, test_bad_settings_reported_and_ignored);
	tcase_add_test(tc, test_kmm_init_rejects_bad_then_boots);
	tcase_add_test(tc, test_env_bad_setting_boots_anyway);
	tcase_add_test(tc, test_lowmem_above_mem_ignored);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
