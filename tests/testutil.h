/*
 * testutil.h - helpers shared by the Check suites.
 *
 * Check runs every test in a fork()ed child, so each test boots its own
 * machine: call kmm_test_boot("mem=64M ...") first.  The suite's parent
 * never touches the allocator.
 */
#ifndef KMM_TESTUTIL_H
#define KMM_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <kmm/kmm.h>

static inline void kmm_test_boot(const char *conf)
{
	int ret = kmm_init(conf);
	ck_assert_msg(ret == 0, "kmm_init(\"%s\") = %d", conf, ret);
}

/* xorshift64*: deterministic, fast test randomness. */
static inline uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#define ck_assert_kmm_clean() \
	ck_assert_msg(kmm_check() == 0, "kmm_check() found problems (see stderr)")

static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* KMM_TESTUTIL_H */
