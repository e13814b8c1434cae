/*
 * Per-thread error messages. Functions return 0 or a negative errno value;
 * before returning an error they leave a sentence here that names what was
 * wrong (the name, field, file or value), which agp_last_error() returns.
 */
#ifndef AGP_SHM_ERROR_H
#define AGP_SHM_ERROR_H

/* Sets this thread's message and returns error (a negative errno value). */
int agp__error(int error, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* This thread's last message, "" when none. */
const char *agp__error_message(void);

#endif
