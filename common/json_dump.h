/*
 * The one JSON serialiser of agentperf: every JSON text the project writes
 * (the CLI's --json of every command, config show and config files,
 * alerts.jsonl and the alert hook's input, baseline.json, the CI export, the
 * report, task results) is agp_json_dumps' text, so that a number reads the
 * same in all of them:
 *   - a real is the shortest decimal that reads back as the same double, in
 *     Python's repr form (common/json_real.h): 0.95, not 0.94999999999999996;
 *   - an integer is an integer, and a count above INT64_MAX (the carrier of
 *     common/json_u64.h) its exact digits: 18446744073709551615;
 *   - a figure that is not finite is null: jansson cannot hold one, and
 *     agp_json_number_or_null (common/json_values.h) makes it null before.
 *
 * jansson writes the text (its layout, escapes and key order, as flags say)
 * with 17 significant digits, which read back exactly; one pass then
 * rewrites two kinds of tokens: each real as its shortest text, and each
 * carrier string as its digits. JSON_REAL_PRECISION in flags is ignored.
 */
#ifndef AGP_COMMON_JSON_DUMP_H
#define AGP_COMMON_JSON_DUMP_H

#include <stddef.h>

#include <jansson.h>

/* The text of value (json_dumps' flags); NULL when out of memory. free() the text. */
char *agp_json_dumps(const json_t *value, size_t flags);

#endif
