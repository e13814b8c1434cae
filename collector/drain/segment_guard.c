#include "collector/drain/segment_guard.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"

/*
 * A watched range. The handler reads these from any thread at any moment,
 * so every field is a lock-free atomic (checked below) and a range is
 * published by its base: size first, then base with release; the handler
 * loads base with acquire and sees the size that goes with it.
 */
struct guarded_range {
	_Atomic uintptr_t base; /* 0: unused entry */
	_Atomic uintptr_t size;
	_Atomic uint64_t faults;
	_Atomic uint64_t last_offset; /* where in the range the latest fault was */
};

_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2 &&
                   ATOMIC_LONG_LOCK_FREE == 2,
               "the SIGBUS handler may only touch lock-free atomics");

static struct guarded_range ranges[AGP_SEGMENT_GUARD_MAX];

/*
 * The thread that absorbs its faults anywhere (0: none), by kernel thread id,
 * which the handler gets with one system call. Relaxed everywhere: the
 * handler runs in the faulting thread itself (SIGBUS of a fault is
 * synchronous), so it compares against a value that thread stored.
 */
static _Atomic long absorbing_thread;
static _Atomic uint64_t absorbed_faults;
static _Atomic uintptr_t page_size;      /* read by sysconf in begin, not in the handler */
static struct sigaction previous_action; /* written once, before the handler can run */
static bool installed;                   /* under install_lock */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

/* Hands a signal that is not a truncation of ours to whatever handled SIGBUS before the guard. */
static void pass_on(int signal_number, siginfo_t *info, void *context)
{
	if ((previous_action.sa_flags & SA_SIGINFO) && previous_action.sa_sigaction) {
		previous_action.sa_sigaction(signal_number, info, context);
		return;
	}
	if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
		previous_action.sa_handler(signal_number);
		return;
	}
	/*
	 * The default action: restore it; a fault re-executes the instruction
	 * on return and dies of it, a signal that was sent is raised again
	 * (pending until we return, since SIGBUS is blocked in its handler).
	 */
	sigaction(SIGBUS, &previous_action, NULL);
	if (info->si_code <= 0)
		raise(signal_number);
}

static void on_sigbus(int signal_number, siginfo_t *info, void *context)
{
	int saved_errno = errno;
	/* BUS_ADRERR: the kernel's "no page behind this address" (a read past a truncated file). */
	if (info->si_code == BUS_ADRERR) {
		uintptr_t address = (uintptr_t)info->si_addr;
		for (int i = 0; i < AGP_SEGMENT_GUARD_MAX; i++) {
			/* Acquire: pairs with the release of base in watch; the size is its own. */
			uintptr_t base =
			    atomic_load_explicit(&ranges[i].base, memory_order_acquire);
			uintptr_t size =
			    atomic_load_explicit(&ranges[i].size, memory_order_relaxed);
			if (!base || address - base >= size)
				continue;
			/* One call replaces the whole range: no thread ever finds it unmapped. */
			void *zeros = mmap((void *)base, size, PROT_READ | PROT_WRITE,
			                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (zeros == MAP_FAILED)
				break;
			/* Relaxed: the drain reads it after the acquire of faults below. */
			atomic_store_explicit(&ranges[i].last_offset, address - base,
			                      memory_order_relaxed);
			/* Release: a drain that sees the count sees the offset stored above. */
			atomic_fetch_add_explicit(&ranges[i].faults, 1, memory_order_release);
			errno = saved_errno;
			return;
		}
		if (atomic_load_explicit(&absorbing_thread, memory_order_relaxed) ==
		    syscall(SYS_gettid)) {
			/* Relaxed: stored by this thread in absorb_begin. */
			uintptr_t page = atomic_load_explicit(&page_size, memory_order_relaxed);
			if (mmap((void *)(address & ~(page - 1)), page, PROT_READ | PROT_WRITE,
			         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
				/* Relaxed: read by this same thread in absorb_end. */
				atomic_fetch_add_explicit(&absorbed_faults, 1,
				                          memory_order_relaxed);
				errno = saved_errno;
				return;
			}
		}
	}
	pass_on(signal_number, info, context);
	errno = saved_errno;
}

static int install(void)
{
	if (installed)
		return 0;
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_sigaction = on_sigbus;
	action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&action.sa_mask);
	if (sigaction(SIGBUS, &action, &previous_action) != 0)
		return agp__error(-errno, "installing the SIGBUS guard (sigaction): %s",
		                  strerror(errno));
	installed = true;
	return 0;
}

int agp_segment_guard_watch(void *base, size_t size)
{
	pthread_mutex_lock(&install_lock);
	int result = install();
	if (result)
		goto unlock;
	result = agp__error(-ENOSPC, "guarding a segment: %d segments are guarded already",
	                    AGP_SEGMENT_GUARD_MAX);
	for (int i = 0; i < AGP_SEGMENT_GUARD_MAX; i++) {
		/* Relaxed: entries are taken and freed only under install_lock. */
		if (atomic_load_explicit(&ranges[i].base, memory_order_relaxed) != 0)
			continue;
		atomic_store_explicit(&ranges[i].faults, 0, memory_order_relaxed);
		atomic_store_explicit(&ranges[i].last_offset, 0, memory_order_relaxed);
		atomic_store_explicit(&ranges[i].size, size, memory_order_relaxed);
		/* Release: the handler that acquires the base sees the size and counters above. */
		atomic_store_explicit(&ranges[i].base, (uintptr_t)base, memory_order_release);
		result = i;
		break;
	}
unlock:
	pthread_mutex_unlock(&install_lock);
	return result;
}

void agp_segment_guard_unwatch(int id)
{
	if (id < 0 || id >= AGP_SEGMENT_GUARD_MAX)
		return;
	pthread_mutex_lock(&install_lock);
	/* Relaxed: a fault racing with unwatch is a bug of the caller (it unmaps after this). */
	atomic_store_explicit(&ranges[id].base, 0, memory_order_relaxed);
	pthread_mutex_unlock(&install_lock);
}

uint64_t agp_segment_guard_faults(int id, uint64_t *last_offset)
{
	if (id < 0 || id >= AGP_SEGMENT_GUARD_MAX)
		return 0;
	/* Acquire: pairs with the handler's release; the offset is visible with the count. */
	uint64_t faults = atomic_load_explicit(&ranges[id].faults, memory_order_acquire);
	if (last_offset)
		*last_offset = atomic_load_explicit(&ranges[id].last_offset, memory_order_relaxed);
	return faults;
}

int agp_segment_guard_absorb_begin(void)
{
	pthread_mutex_lock(&install_lock);
	int result = install();
	long self = syscall(SYS_gettid);
	long none = 0;
	/* Relaxed: see absorbing_thread; the lock already orders us against another begin. */
	if (!result &&
	    !atomic_compare_exchange_strong_explicit(&absorbing_thread, &none, self,
	                                             memory_order_relaxed, memory_order_relaxed))
		result =
		    agp__error(-EBUSY, "absorbing segment faults: thread %ld does already", none);
	if (!result) {
		atomic_store_explicit(&absorbed_faults, 0, memory_order_relaxed);
		atomic_store_explicit(&page_size, (uintptr_t)sysconf(_SC_PAGESIZE),
		                      memory_order_relaxed);
	}
	pthread_mutex_unlock(&install_lock);
	return result;
}

uint64_t agp_segment_guard_absorbed(void)
{
	/* Relaxed: only this thread's handler writes the count (see absorbing_thread). */
	return atomic_load_explicit(&absorbed_faults, memory_order_relaxed);
}

uint64_t agp_segment_guard_absorb_end(void)
{
	/* Relaxed: only this thread's handler wrote the count (see absorbing_thread). */
	uint64_t absorbed = atomic_load_explicit(&absorbed_faults, memory_order_relaxed);
	atomic_store_explicit(&absorbing_thread, 0, memory_order_relaxed);
	return absorbed;
}
