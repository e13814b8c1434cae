/*
 * Per-thread error messages: the one error convention of every layer.
 * Functions return 0 or a negative errno value; before returning an error
 * they leave a sentence here that names what was wrong (the name, field,
 * file or value), which agp_last_error() returns. The recording calls are
 * the exception: they never fail loudly (a closed agent is a no-op, a full
 * ring drops and counts). Programs turn the sentence into one stderr line
 * and an exit status. docs/architecture.md says the same for each layer.
 */
#ifndef AGP_COMMON_ERROR_H
#define AGP_COMMON_ERROR_H

#include <stddef.h>

/* Sets this thread's message and returns error (a negative errno value). */
int agp__error(int error, const char *format, ...) __attribute__((format(printf, 2, 3)));

/*
 * For the interfaces that hand the message back in a caller's buffer
 * (char *err, size_t errlen) instead: formats into err when it is given and
 * returns error (0 or a negative errno), so that `return agp__error_into(err,
 * errlen, -EINVAL, "...")` reads like agp__error().
 */
int agp__error_into(char *err, size_t errlen, int error, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* This thread's last message, "" when none. */
const char *agp__error_message(void);

#endif
