/*
 * The overall performance level, from the average coordination overhead.
 *
 * The seed's bands are EXCELLENT < 100 ms, GOOD < 150, ACCEPTABLE < 200,
 * POOR < 300, CRITICAL otherwise. agentperf ties them to the configured
 * thresholds.coordination_overhead_critical_ms (C) so that a deployment that
 * moves its threshold moves its levels with it:
 *
 *     excellent < 0.5 C <= good < 0.75 C <= acceptable < C <= poor < 1.5 C <= critical
 *
 * With the default C = 200 ms these are exactly the seed's bands. A lower
 * bound belongs to the worse level (an average of exactly 100 ms is "good").
 * With no samples the level is "unknown": no data is not excellent health.
 */
#ifndef AGP_COLLECTOR_LEVEL_H
#define AGP_COLLECTOR_LEVEL_H

#include <stdint.h>

struct agp_config;

enum agp_level {
	AGP_LEVEL_UNKNOWN = 0,
	AGP_LEVEL_EXCELLENT,
	AGP_LEVEL_GOOD,
	AGP_LEVEL_ACCEPTABLE,
	AGP_LEVEL_POOR,
	AGP_LEVEL_CRITICAL,
};

/* Upper bounds (exclusive) of the four better levels, in nanoseconds. */
struct agp_level_bands {
	double excellent_below_ns;
	double good_below_ns;
	double acceptable_below_ns;
	double poor_below_ns;
};

/* The bands for a critical threshold in milliseconds (0.5, 0.75, 1 and 1.5 times it). */
void agp_level_bands_from_critical_ms(double critical_ms, struct agp_level_bands *bands);

/* The bands from cfg->thresholds.coordination_overhead_critical_ms. */
void agp_level_bands_from_config(const struct agp_config *cfg, struct agp_level_bands *bands);

/*
 * The level of an average coordination overhead of avg_ns over sample_count
 * samples; AGP_LEVEL_UNKNOWN when sample_count is 0 or the average is not a
 * number.
 */
enum agp_level agp_level_classify(const struct agp_level_bands *bands, uint64_t sample_count,
                                  double avg_ns);

/* "excellent", "good", "acceptable", "poor", "critical" or "unknown". */
const char *agp_level_name(enum agp_level level);

/* The level of a name of agp_level_name; -EINVAL for any other text (level untouched). */
int agp_level_from_name(const char *name, enum agp_level *level);

#endif
