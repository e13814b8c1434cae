/*
 * How a wire unit (enum agp_unit: nanoseconds, bytes, counts) is shown to
 * each of its audiences. One table, three views:
 *
 *   view        nanoseconds   bytes            count   used by
 *   people      ms            MiB (1048576 B)  count   the control socket's display_unit and
 *                                                      display_scale, the CLI's tables
 *   seed JSON   ms            MB (1048576 B)   count   validation, CI export, report, alerts,
 *                                                      config thresholds (*_ms, *_mb keys)
 *   Prometheus  seconds       bytes            (none)  /metrics bucket bounds and sums
 *
 * The seed calls 1048576 bytes "MB", and its JSON keeps that name so that
 * existing dashboards read the same keys; text meant for people says MiB.
 * A divisor is "wire units per shown unit": shown = wire / divisor. Callers
 * divide (never multiply by a reciprocal) so that a figure is the correctly
 * rounded quotient, the same double on every path.
 */
#ifndef AGP_COMMON_UNITS_H
#define AGP_COMMON_UNITS_H

#include <stdint.h>

#include <agentperf/metrics.h>

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
