/*
 * libagentperf's own last error message. The extension links the control
 * client with common/ (for the socket path and the protocol), and with it a
 * second copy of common/error.c, whose per-thread message buffer is not the
 * one libagentperf.so writes: agp_last_error() called from here would read
 * the extension's copy. So the library's function is looked up in the
 * library itself, found by the address of one of its functions.
 */
#include <dlfcn.h>
#include <stddef.h>

#include "python/module.h"

typedef const char *(*last_error_fn)(void);

static last_error_fn library_last_error(void)
{
	static last_error_fn found;
	if (found)
		return found;
	Dl_info info;
	if (dladdr((void *)&agp_agent_open, &info) && info.dli_fname) {
		void *library = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
		if (library) {
			/* The handle stays open: the library is loaded for the process's life
			 * anyway. */
			found = (last_error_fn)dlsym(library, "agp_last_error");
		}
	}
	if (!found)
		found = agp_last_error;
	return found;
}

const char *agp_py_library_error(void)
{
	const char *message = library_last_error()();
	return message && message[0] ? message : "no reason given";
}
