/*
 * Fault injection for tests: AGP_FAULT_POINT("slot.claiming") marks a
 * state transition where a test may kill the process (SIGKILL, no
 * clean-up: what a crash or the OOM killer does). Compiled in only where
 * the build defines AGP_FAULT_INJECTION (the tests' own copy of shm/, see
 * tests/CMakeLists.txt); everywhere else it is nothing at all.
 */
#ifndef AGP_SHM_FAULT_H
#define AGP_SHM_FAULT_H

#ifdef AGP_FAULT_INJECTION
/* The point to die at, or NULL; a test sets it in a child before the call it wants killed. */
extern const char *agp__fault_kill_at;
void agp__fault_point(const char *point);
#define AGP_FAULT_POINT(point) agp__fault_point(point)
#else
#define AGP_FAULT_POINT(point) ((void)0)
#endif

#endif
