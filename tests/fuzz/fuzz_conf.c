/*
 * fuzz_conf - libFuzzer target for the KMM_CONF parser: any bytes are a
 * settings string; the parser must never crash, overrun or accept an
 * out-of-range value.
 */
#include "config.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../lib/internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Reports go to stderr, which run-fuzzers.sh closes for the target
	 * (-close_fd_mask=2); libFuzzer keeps its own copy. */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[4096];
	struct kmm_config conf;
	unsigned long v;
	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	kmm_config_defaults(&conf);
	int bad = kmm_config_parse(&conf, text);
	if (bad < 0 || conf.nr_errors != bad)
		abort();
	if (conf.mem < KMM_MEM_MIN || conf.mem > KMM_MEM_MAX)
		abort();
	if (conf.lowmem && (conf.lowmem < KMM_MEM_MIN || conf.lowmem > KMM_MEM_MAX))
		abort();
	if (conf.fail_page_alloc.probability > 100 || conf.failslab.probability > 100)
		abort();
	if (conf.fail_page_alloc.interval < 1 || conf.fail_page_alloc.times < -1)
		abort();
	if (memchr(conf.slub_debug, '\0', sizeof(conf.slub_debug)) == NULL)
		abort();
	(void)kmm_parse_size(text, size, &v);
	return 0;
}
