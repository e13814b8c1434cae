/* Performance levels from the average coordination overhead (see level.h). */
#include "collector/analysis/level.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "collector/config/config.h"

/* The seed's bands divided by its critical threshold of 200 ms. */
#define EXCELLENT_FRACTION  0.5
#define GOOD_FRACTION       0.75
#define ACCEPTABLE_FRACTION 1.0
#define POOR_FRACTION       1.5

void agp_level_bands_from_critical_ms(double critical_ms, struct agp_level_bands *bands)
{
	double critical_ns = critical_ms * 1e6;
	bands->excellent_below_ns = critical_ns * EXCELLENT_FRACTION;
	bands->good_below_ns = critical_ns * GOOD_FRACTION;
	bands->acceptable_below_ns = critical_ns * ACCEPTABLE_FRACTION;
	bands->poor_below_ns = critical_ns * POOR_FRACTION;
}

void agp_level_bands_from_config(const struct agp_config *cfg, struct agp_level_bands *bands)
{
	agp_level_bands_from_critical_ms(cfg->thresholds.coordination_overhead_critical_ms, bands);
}

enum agp_level agp_level_classify(const struct agp_level_bands *bands, uint64_t sample_count,
                                  double avg_ns)
{
	if (sample_count == 0 || isnan(avg_ns))
		return AGP_LEVEL_UNKNOWN;
	if (avg_ns < bands->excellent_below_ns)
		return AGP_LEVEL_EXCELLENT;
	if (avg_ns < bands->good_below_ns)
		return AGP_LEVEL_GOOD;
	if (avg_ns < bands->acceptable_below_ns)
		return AGP_LEVEL_ACCEPTABLE;
	if (avg_ns < bands->poor_below_ns)
		return AGP_LEVEL_POOR;
	return AGP_LEVEL_CRITICAL;
}

static const char *const names[] = {
    [AGP_LEVEL_UNKNOWN] = "unknown", [AGP_LEVEL_EXCELLENT] = "excellent",
    [AGP_LEVEL_GOOD] = "good",       [AGP_LEVEL_ACCEPTABLE] = "acceptable",
    [AGP_LEVEL_POOR] = "poor",       [AGP_LEVEL_CRITICAL] = "critical",
};

const char *agp_level_name(enum agp_level level)
{
	if ((unsigned)level < sizeof(names) / sizeof(names[0]))
		return names[level];
	return "unknown";
}

int agp_level_from_name(const char *name, enum agp_level *level)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i], name) == 0) {
			*level = (enum agp_level)i;
			return 0;
		}
	}
	return -EINVAL;
}
