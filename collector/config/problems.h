/*
 * The configuration's problem list and the words its messages use for values.
 *
 * Problems are collected, not returned at the first one: a user who fixes a
 * config file wants the whole list in one go. A message names where the value
 * came from (the file or variable), the key path, the value found and what was
 * expected; the helpers here phrase the value found (json_brief, the shortest
 * exact number) and a "did you mean" for a misspelt key.
 */
#ifndef AGP_COLLECTOR_CONFIG_PROBLEMS_H
#define AGP_COLLECTOR_CONFIG_PROBLEMS_H

#include <stddef.h>

#include <jansson.h>

#include "common/error.h" /* agp__error_into: messages into err */

/*
 * Problem messages in the caller's buffer, one per line. When the buffer runs
 * out, later messages are counted, and a final line says how many were left
 * out, so the reader knows the list is not complete.
 */
struct agp__config_problems {
	char *buf;
	size_t cap; /* bytes usable for messages (the rest is kept for the tail line) */
	size_t full_cap;
	size_t len;
	unsigned count;
	unsigned omitted;
};

void agp__config_problems_init(struct agp__config_problems *p, char *buf, size_t len);

/* Adds one message (without a newline). */
void agp__config_problem(struct agp__config_problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes the "(N more problems)" line if needed; 0 without problems, else -EINVAL. */
int agp__config_problems_finish(struct agp__config_problems *p);

/* The fewest significant digits (15..17) that give x back exactly. */
int agp__config_exact_precision(double x);

/* x in its shortest exact form ("0.95", "1000000000"). */
void agp__config_format_double(char *out, size_t len, double x);

/* The kind of a JSON value in words: "a string", "an object", ... */
const char *agp__config_json_kind(const json_t *v);

/* A JSON value as short text for a message ("-5", "\"abc\"", "[1, 2]"). */
void agp__config_json_brief(const json_t *v, char *out, size_t len);

/* " (did you mean \"x\"?)" when one of the n candidates is close to name, else "". */
void agp__config_suggestion(const char *name, const char *const *candidates, size_t n, char *out,
                            size_t len);

#endif
