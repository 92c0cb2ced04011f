/*
 * percpu.h - which CPU the calling thread runs on.
 *
 * libkmm's per-CPU structures (page lists, slab magazines) are indexed by
 * the real CPU, never by the thread, so they do not grow with the number of
 * threads and nothing needs flushing at thread exit.  The CPU number comes
 * from the rseq area glibc (2.35 and later) registers for every thread:
 * one load from the thread pointer.  When rseq is not registered (an old
 * kernel, or glibc.pthread.rseq=0) cpu_id is negative and sched_getcpu()
 * (a vDSO call) answers instead.
 *
 * The answer may be stale as soon as it is read: the thread can migrate.
 * Every user either holds the per-CPU structure's lock or runs inside an
 * rseq critical section that the kernel aborts on migration.
 */
#ifndef KMM_LIB_PERCPU_H
#define KMM_LIB_PERCPU_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#define KMM_HAVE_RSEQ 1
#endif
#endif

/* Declarations hidden, as in internal.h: direct loads, no GOT. */
#pragma GCC visibility push(hidden)

extern unsigned int nr_cpu_ids;

static inline void *kmm_thread_pointer(void)
{
#if defined(__x86_64__)
	void *tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
#else
	return __builtin_thread_pointer();
#endif
}

#ifdef KMM_HAVE_RSEQ
/* The calling thread's rseq area, or NULL when glibc did not register one. */
static inline struct rseq *kmm_rseq_area(void)
{
	if (__builtin_expect(__rseq_size == 0, 0))
		return NULL;
	return (struct rseq *)(void *)((char *)kmm_thread_pointer() + __rseq_offset);
}
#endif

/*
 * Without rseq, sched_getcpu() costs a system call under valgrind and about
 * 20 ns otherwise: the answer is cached per thread and refreshed every 32
 * calls.  It is only a hint for choosing a per-CPU structure, which is
 * always locked in that mode, so a stale answer costs locality, never
 * correctness.
 */
struct kmm_cpu_hint {
	unsigned int cpu;
	unsigned int countdown;
};
extern __thread struct kmm_cpu_hint kmm_cpu_hint __attribute__((tls_model("initial-exec")));
unsigned int kmm_cpu_slow(void);

/*
 * Set at boot: the offset of the rseq area's cpu_id from the thread
 * pointer, or -1 when glibc did not register rseq (then the hint is used).
 */
extern long kmm_rseq_cpu_offset;
void kmm_cpu_detect(void);

/*
 * For fast paths that must make no calls: the CPU, or a value >=
 * nr_cpu_ids when the hint needs refreshing (the caller then takes its
 * slow path, which calls raw_smp_processor_id()).
 */
static inline unsigned int smp_processor_id_fast(void)
{
	if (__builtin_expect(kmm_rseq_cpu_offset >= 0, 1))
		return *(volatile uint32_t *)((char *)kmm_thread_pointer() + kmm_rseq_cpu_offset);
	struct kmm_cpu_hint *hint = &kmm_cpu_hint;
	if (__builtin_expect(hint->countdown != 0, 1)) {
		hint->countdown--;
		return hint->cpu;
	}
	return ~0u;
}

unsigned int kmm_detect_nr_cpus(void);

/*
 * RESTARTABLE SEQUENCES (percpu.c explains the choice made at boot).
 * kmm_rseq_off: the offset from the thread pointer of the rseq area the
 * fast paths read cpu_id from: glibc's when rseq is on, else a
 * thread-local dummy whose cpu_id is -1.  kmm_rseq_on: the sequences can
 * commit (rseq registered, or slab_rseq=2).  kmm_rseq_fence(): restart
 * every running sequence, for an owner of another CPU's state.
 */
extern bool kmm_rseq_on;
extern long kmm_rseq_off;
void kmm_rseq_fence(void);
int kmm_rseq_cpu(void);

#if defined(__x86_64__) && defined(KMM_HAVE_RSEQ)
#define KMM_RSEQ_ASM 1
#define KMM_RSEQ_SIG_X86 "0x53053053"

/*
 * The start of a critical section in inline assembly: its descriptor
 * (struct rseq_cs) and, in its own section, the abort handler (the 4-byte
 * signature, then a jump to the C label abort_label); then the store of
 * the descriptor into rseq_cs (needs operands [tmp] and [off]).  The
 * section runs from label 1 to label 2, which the caller places after its
 * committing store.
 */
#define KMM_RSEQ_CS_BEGIN(abort_label)                                   \
	".pushsection __rseq_cs, \"aw\"\n\t"                             \
	".balign 32\n\t"                                                 \
	"3:\n\t"                                                         \
	".long 0, 0\n\t"                                                 \
	".quad 1f, 2f - 1f, 4f\n\t"                                      \
	".popsection\n\t"                                                \
	".pushsection __rseq_failure, \"ax\"\n\t"                        \
	".byte 0x0f, 0xb9, 0x3d\n\t"                                     \
	".long " KMM_RSEQ_SIG_X86 "\n\t"                                 \
	"4:\n\t"                                                         \
	"jmp %l[" abort_label "]\n\t"                                    \
	".popsection\n\t"                                                \
	"leaq 3b(%%rip), %[tmp]\n\t"                                     \
	"movq %[tmp], %%fs:8(%[off])\n\t"                                \
	"1:\n\t"
#endif

/* The CPU the calling thread ran on a moment ago, below nr_cpu_ids. */
static inline unsigned int raw_smp_processor_id(void)
{
#ifdef KMM_HAVE_RSEQ
	struct rseq *rs = kmm_rseq_area();
	if (__builtin_expect(rs != NULL, 1)) {
		int cpu = (int)*(volatile uint32_t *)&rs->cpu_id;
		if (__builtin_expect(cpu >= 0 && (unsigned int)cpu < nr_cpu_ids, 1))
			return (unsigned int)cpu;
	}
#endif
	struct kmm_cpu_hint *hint = &kmm_cpu_hint;
	if (__builtin_expect(hint->countdown != 0, 1)) {
		hint->countdown--;
		return hint->cpu;
	}
	return kmm_cpu_slow();
}

#pragma GCC visibility pop

#endif /* KMM_LIB_PERCPU_H */
