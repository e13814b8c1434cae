/*
 * ThreadSanitizer cannot see the ordering that liburcu's grace periods
 * provide (the library is not instrumented), so it would report every
 * snapshot freed after a grace period as racing with its readers. These
 * annotations state that ordering: a reader "releases" the object when it
 * leaves its read-side section; the deferred free "acquires" it first.
 * They compile to nothing outside TSan builds.
 */
#ifndef AGP_COLLECTOR_TSAN_H
#define AGP_COLLECTOR_TSAN_H

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AGP_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define AGP_TSAN 1
#endif

#ifdef AGP_TSAN
void __tsan_acquire(void *address);
void __tsan_release(void *address);
#define AGP_TSAN_ACQUIRE(address) __tsan_acquire((void *)(address))
#define AGP_TSAN_RELEASE(address) __tsan_release((void *)(address))
#else
#define AGP_TSAN_ACQUIRE(address) ((void)(address))
#define AGP_TSAN_RELEASE(address) ((void)(address))
#endif

#endif
