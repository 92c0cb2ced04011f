/*
 * percpu.c - which CPU a thread runs on, and the restartable sequences
 * (rseq) that the per-CPU fast paths are built of.
 *
 * Two layers keep per-CPU state that the calling thread changes without a
 * lock: the slab magazines (magazine.c, slab.h) and the order-0 page stacks
 * (pcp.c, page_alloc.c).  Both fast paths are rseq critical sections in
 * inline assembly (percpu.h: KMM_RSEQ_CS_BEGIN) that read the CPU number
 * from an rseq area at kmm_rseq_off from the thread pointer and end in a
 * single committing store.  This file chooses that area at boot:
 *
 *   slab_rseq=1 (default) with rseq registered by glibc and
 *     membarrier(REGISTER_PRIVATE_EXPEDITED_RSEQ) accepted: glibc's area;
 *     kmm_rseq_on and remote owners fence with kmm_rseq_fence().
 *   otherwise: kmm_rseq_dummy, a thread-local area whose cpu_id is -1.  The
 *     same instructions then index entry -1 of every per-CPU array, which
 *     is permanently owned, so every fast path misses and the locked slow
 *     paths do the work.  No "is rseq on" test on the fast path.
 *   slab_rseq=2: the booting thread's dummy area says CPU 0 and the
 *     sequences run unregistered (kmm_rseq_on, no fence): the same
 *     instructions as with rseq, for counting them under valgrind, which
 *     has no rseq.  One thread only; other threads find -1.
 *
 * INVARIANT: kmm_rseq_off is set before the first per-CPU structure is
 * created (kmm_cpu_detect runs before every layer's init) and never changes.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "internal.h"

#ifndef MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ (1 << 7)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ (1 << 8)
#endif

unsigned int nr_cpu_ids = 1;

__thread struct kmm_cpu_hint kmm_cpu_hint __attribute__((tls_model("initial-exec")));

long kmm_rseq_cpu_offset = -1;

bool kmm_rseq_on;
long kmm_rseq_off;
static bool rseq_fence_needed;

/* The rseq area of the fast paths when rseq is off: cpu_id -1. */
static __thread struct kmm_rseq_dummy {
	uint32_t cpu_id_start;
	int32_t cpu_id;
	uint64_t rseq_cs;
} kmm_rseq_dummy __attribute__((tls_model("initial-exec"), aligned(32))) = { 0, -1, 0 };

static long membarrier(int cmd, unsigned int flags, int cpu)
{
	return syscall(__NR_membarrier, cmd, flags, cpu);
}

static void rseq_setup(unsigned long mode)
{
	kmm_rseq_on = false;
	rseq_fence_needed = false;
	kmm_rseq_off = (long)((char *)&kmm_rseq_dummy - (char *)kmm_thread_pointer());
#ifdef KMM_RSEQ_ASM
	if (mode == 1 && __rseq_size >= 8 && kmm_rseq_cpu_offset >= 0 &&
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0) {
		kmm_rseq_off = (long)__rseq_offset;
		kmm_rseq_on = true;
		rseq_fence_needed = true;
	} else if (mode == 2) {
		kmm_rseq_dummy.cpu_id = 0;
		kmm_rseq_on = true;
	}
#else
	(void)mode;
#endif
}

void kmm_cpu_detect(void)
{
	kmm_rseq_cpu_offset = -1;
#ifdef KMM_HAVE_RSEQ
	struct rseq *rs = kmm_rseq_area();
	if (rs && (int)rs->cpu_id >= 0)
		kmm_rseq_cpu_offset = (long)((char *)&rs->cpu_id - (char *)kmm_thread_pointer());
#endif
	rseq_setup(machine.conf.slab_rseq);
}

/* Restart every rseq critical section running in the process: when it
 * returns, a fast path that read per-CPU state before the call has
 * committed or aborted. */
void kmm_rseq_fence(void)
{
	if (!rseq_fence_needed)
		return;
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0)
		return;
	/* A forked child's mm is not registered: register and retry. */
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0 &&
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0)
		return;
	kmm_printk("libkmm: membarrier(RSEQ) failed (%s): per-CPU fast paths may "
		   "race with a remote flush\n", strerror(errno));
}

/* The CPU the calling thread's fast paths use now: its rseq cpu_id, or -1
 * when they always miss (rseq off, or slab_rseq=2 in another thread). */
int kmm_rseq_cpu(void)
{
	return *(volatile int32_t *)((char *)kmm_thread_pointer() + kmm_rseq_off + 4);
}

unsigned int kmm_cpu_slow(void)
{
	int cpu = sched_getcpu();
	unsigned int c = cpu < 0 ? 0 : (unsigned int)cpu % nr_cpu_ids;
	kmm_cpu_hint.cpu = c;
	kmm_cpu_hint.countdown = 31;
	return c;
}

/* The possible CPUs, from sysfs, without stdio or malloc: "0-3" gives 4. */
unsigned int kmm_detect_nr_cpus(void)
{
	char buf[256];
	unsigned int last = 0, v = 0;
	bool digits = false;
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 64;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 64;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] >= '0' && buf[i] <= '9') {
			v = v * 10 + (unsigned int)(buf[i] - '0');
			digits = true;
		} else {
			if (digits && v > last)
				last = v;
			v = 0;
			digits = false;
		}
	}
	if (digits && v > last)
		last = v;
	return last + 1 > 4096 ? 4096 : last + 1;
}
