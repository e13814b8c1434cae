/*
 * Unsigned 64-bit counts in jansson values, whose integers are signed
 * (json_int_t, 63 bits): a count up to INT64_MAX is a plain JSON integer;
 * above it, a carrier that only these functions and the control protocol
 * know: a JSON string holding a NUL byte and the decimal digits. Why a
 * carrier and not a real: a double keeps 53 bits, so 2^64-1 would come out
 * as 18446744073709551616. Why a string with a NUL: no other string of the
 * collector or the protocol can be one (the protocol's decoder refuses NUL
 * in strings), so nothing else is mistaken for a count.
 *
 * agp_msgpack_pack_json packs a carrier as a msgpack unsigned integer and
 * agp_msgpack_to_json turns one above INT64_MAX back into a carrier, so
 * 2^64-1 crosses the socket exactly; agp_json_dumps (common/json_dump.h, the
 * one serialiser, included here for its callers) prints it as its digits.
 */
#ifndef AGP_COMMON_JSON_U64_H
#define AGP_COMMON_JSON_U64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/json_dump.h"

/* A new JSON value of count: an integer up to INT64_MAX, a carrier above. */
json_t *agp_json_u64(uint64_t count);

/*
 * A new JSON value of an identifier (a task id): a string of its decimal
 * digits, in every output (docs/cli.md, "JSON"). Not a number: task ids are
 * (pid << 32) | sequence, above 2^53 once the pid passes 2^21 (pid_max is
 * 4194304 on many machines), and a JavaScript reader turns such a number
 * into another one; the seed's task results carry metadata.task_id as a
 * string too.
 */
json_t *agp_json_u64_id(uint64_t id);

/* Whether value is a carrier (of a count above INT64_MAX); its count in *count. */
bool agp_json_u64_carrier(const json_t *value, uint64_t *count);

/* Whether value is a non-negative integer or a carrier; its count in *count. */
bool agp_json_u64_value(const json_t *value, uint64_t *count);

/*
 * The count of a carrier's digits (length of them, no NUL): true for the
 * decimal digits, without a leading zero, of a count above INT64_MAX.
 */
bool agp_json_u64_parse_digits(const char *digits, size_t length, uint64_t *count);

#endif
