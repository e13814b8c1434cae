/*
 * How a wire unit (enum agp_unit: nanoseconds, bytes, counts) is shown to
 * each of its audiences. One table, three views:
 *
 *   view        nanoseconds   bytes            count   used by
 *   people      ms            MiB (1048576 B)  count   the control socket's display_unit and
 *                                                      display_scale (plot axes)
 *   people, as  ns/us/ms/s    B/KiB/MiB/GiB    42      the CLI's tables, top, the HTML report,
 *   text        by magnitude  by magnitude     plain   `agentperf alerts` (agp_unit_format)
 *   seed JSON   ms            MB (1048576 B)   count   validation, CI export, report, alerts,
 *                                                      config thresholds (*_ms, *_mb keys)
 *   Prometheus  seconds       bytes            (none)  /metrics bucket bounds and sums
 *
 * The seed calls 1048576 bytes "MB", and its JSON keeps that name so that
 * existing dashboards read the same keys; text meant for people says MiB.
 * The seed's alert line shows ms and MB with up to 6 decimals and a count as
 * a plain number (agp_unit_format_seed).
 *
 * A divisor is "wire units per shown unit": shown = wire / divisor. Callers
 * divide (never multiply by a reciprocal) so that a figure is the correctly
 * rounded quotient, the same double on every path.
 */
#ifndef AGP_COMMON_UNITS_H
#define AGP_COMMON_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include <agentperf/metrics.h>

/* The wire unit's name, as agp_unit_name says it: "nanoseconds", "bytes", "count". */
const char *agp_unit_wire_name(enum agp_unit unit);
/* The unit of a wire name ("nanoseconds", "bytes", "count"): 0, or -EINVAL for other text. */
int agp_unit_parse(const char *name, enum agp_unit *unit);

/*
 * A wire value as text for people, its scale chosen by its magnitude so that
 * the number reads below 1000 (1024 for bytes) after rounding:
 *   nanoseconds  "850 ns", "12.35 us", "250.50 ms", "1.500 s"
 *   bytes        "512 B", "1.5 KiB", "600.0 MiB", "2.00 GiB"
 *   count        "42" (a whole number), "42.25" (two decimals otherwise)
 * NaN (no value) is "-". Returns what snprintf returns.
 */
int agp_unit_format(enum agp_unit unit, double wire, char *out, size_t size);
/* Room for the text agp_unit_format or agp_unit_format_seed writes for any 64-bit wire value. */
#define AGP_UNIT_TEXT_MAX 48

/*
 * A wire value in the seed's unit for the seed's alert line, number and unit
 * without a space: "250.5ms", "600.0MB", a count plain "42". ms and MB keep
 * up to 6 decimals (a nanosecond is 0.000001 ms), trailing zeros dropped down
 * to one. NaN is "-". Returns what snprintf returns.
 */
int agp_unit_format_seed(enum agp_unit unit, double wire, char *out, size_t size);

/* For people: "ms", "MiB", "count"; an unknown unit is a count. */
const char *agp_unit_display_name(enum agp_unit unit);
/* Wire units per display unit: 1e6, 1048576, 1. */
double agp_unit_display_divisor(enum agp_unit unit);

/* In the seed's JSON: "ms", "MB", "count". */
const char *agp_unit_seed_name(enum agp_unit unit);
/* The seed's key suffix: "_ms", "_mb", "" (a count's key has none). */
const char *agp_unit_seed_suffix(enum agp_unit unit);
/* Wire units per seed unit: 1e6, 1048576, 1. */
double agp_unit_seed_divisor(enum agp_unit unit);
/* A wire value in the seed's unit (ns to ms, bytes to MB). */
double agp_unit_to_seed(enum agp_unit unit, double wire);
/* A positive seed value on the wire, rounded to the nearest unit; 0 for <= 0 (none). */
uint64_t agp_unit_from_seed(enum agp_unit unit, double seed);
/*
 * The largest seed value whose wire value stays exact: 1e9 ms and 1e9 MB fit
 * 64-bit nanoseconds and bytes; counts up to 2^53 are exact in a double.
 */
double agp_unit_seed_max(enum agp_unit unit);

/* Prometheus's base unit: "seconds", "bytes", "" (a plain value). */
const char *agp_unit_prometheus_name(enum agp_unit unit);
/* Wire units per base unit: 1e9, 1, 1. */
double agp_unit_prometheus_divisor(enum agp_unit unit);

#endif
