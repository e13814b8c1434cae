/*
 * The collector's guard against an agent that truncates the shared segment.
 *
 * Any process that may open the segment (same uid, or the configured group)
 * can ftruncate() it; every later read of a page beyond the new end raises
 * SIGBUS in the reader. Without a guard that is the collector's death, and
 * a collector must survive anything an agent can do to shared memory.
 *
 * The guard is a process-wide SIGBUS handler that knows the address ranges
 * of the watched segments. For a fault inside one (si_code BUS_ADRERR, not
 * a signal someone sent), it maps private anonymous zero pages over the
 * whole watched range with MAP_FIXED (one atomic mmap, so no other thread
 * ever sees a hole), counts the fault, and returns: the interrupted read
 * completes and reads zeros, which every consumer of agent-writable memory
 * already treats as untrusted (a free slot, a tail behind the head, an
 * unregistered metric). The drain thread polls agp_segment_guard_faults()
 * and replaces the segment (segment_replace.c). Any other SIGBUS takes the
 * action that was installed before the guard (by default: the process
 * dies with SIGBUS, as without a guard).
 *
 * A fresh segment that replaces a truncated one (segment_replace.c) is
 * mapped anywhere before it moves over the watched range, and an agent can
 * truncate it too while the collector writes its header or reads one an
 * agent made. For that time the replacing thread asks the guard to absorb
 * every such fault of its own (agp_segment_guard_absorb_begin/end): the
 * faulting page becomes one private zero page, the fault is counted, and
 * the caller, seeing a count above zero, throws the fresh segment away and
 * tries again. Only the thread that asked, and only between begin and end:
 * any other SIGBUS of any thread still ends the process.
 *
 * mmap is not on POSIX's list of async-signal-safe functions, but on Linux
 * it is a single system call with no user-space lock; this is the same
 * technique language runtimes use for guard pages.
 */
#ifndef AGP_COLLECTOR_SEGMENT_GUARD_H
#define AGP_COLLECTOR_SEGMENT_GUARD_H

#include <stddef.h>
#include <stdint.h>

#define AGP_SEGMENT_GUARD_MAX 8 /* segments watched at once in one process */

/*
 * Installs the handler (once per process) and watches [base, base + size).
 * Returns a guard id >= 0, or -ENOSPC (too many watched), or the errno of
 * a failed sigaction.
 */
int agp_segment_guard_watch(void *base, size_t size);

/* Stops watching; the handler stays installed (other ranges may use it). */
void agp_segment_guard_unwatch(int id);

/*
 * Faults absorbed in range id since it was watched, a count that only
 * grows (the caller remembers how many it has handled), and the offset in
 * the range of the latest one. Cheap: two loads.
 */
uint64_t agp_segment_guard_faults(int id, uint64_t *last_offset);

/*
 * From begin to end, a BUS_ADRERR fault of the calling thread anywhere
 * outside the watched ranges maps a private zero page over the faulting
 * page, is counted, and the read or write completes on that page. One
 * thread at a time (-EBUSY for a second one; the handler is installed as
 * for watch). End returns the faults absorbed since begin.
 */
int agp_segment_guard_absorb_begin(void);
uint64_t agp_segment_guard_absorbed(void); /* so far, from the absorbing thread */
uint64_t agp_segment_guard_absorb_end(void);

#endif
