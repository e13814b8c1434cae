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

/* Sets this thread's message and returns error (a negative errno value). */
int agp__error(int error, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* This thread's last message, "" when none. */
const char *agp__error_message(void);

#endif
