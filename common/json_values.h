/*
 * Values as the collector's JSON outputs write them: times in ISO 8601 UTC
 * (the form Python's datetime.fromisoformat reads), and figures that do not
 * exist (a deviation of one sample) as null rather than a flattering 0.
 */
#ifndef AGP_COLLECTOR_JSON_VALUES_H
#define AGP_COLLECTOR_JSON_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Unix milliseconds as ISO 8601 UTC ("2026-11-30T00:48:16.123000+00:00"). */
void agp_format_iso8601(int64_t unix_ms, char *out, size_t size);
/* Parses ISO 8601 (fraction and zone optional; no zone = local time). 0 or -EINVAL. */
int agp_parse_iso8601(const char *text, int64_t *unix_ms);
/* The same to the microsecond (baseline timestamps keep what the seed wrote). */
void agp_format_iso8601_us(int64_t unix_us, char *out, size_t size);
int agp_parse_iso8601_us(const char *text, int64_t *unix_us);

/* A new JSON string of agp_format_iso8601(unix_ms). */
json_t *agp_json_iso_time(int64_t unix_ms);
json_t *agp_json_iso_time_us(int64_t unix_us);
/* A new JSON real, or null when value is not finite. */
json_t *agp_json_number_or_null(double value);

#endif
