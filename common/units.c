/* How a wire unit is shown to people, in the seed's JSON and to Prometheus (see units.h). */
#include "common/units.h"

#include <math.h>

struct unit_views {
	const char *display_name;
	double display_divisor;
	const char *seed_name;
	const char *seed_suffix;
	double seed_divisor;
	double seed_max;
	const char *prometheus_name;
	double prometheus_divisor;
};

static const struct unit_views views[] = {
    [AGP_UNIT_NANOSECONDS] = {"ms", 1e6, "ms", "_ms", 1e6, 1e9, "seconds", 1e9},
    [AGP_UNIT_BYTES] = {"MiB", 1048576.0, "MB", "_mb", 1048576.0, 1e9, "bytes", 1.0},
    [AGP_UNIT_COUNT] = {"count", 1.0, "count", "", 1.0, 9007199254740992.0, "", 1.0},
};

/* Values come from files and agents' registrations: anything out of the enum is a count. */
static const struct unit_views *view(enum agp_unit unit)
{
	return (unsigned)unit <= AGP_UNIT_COUNT ? &views[unit] : &views[AGP_UNIT_COUNT];
}

const char *agp_unit_display_name(enum agp_unit unit)
{
	return view(unit)->display_name;
}

double agp_unit_display_divisor(enum agp_unit unit)
{
	return view(unit)->display_divisor;
}

const char *agp_unit_seed_name(enum agp_unit unit)
{
	return view(unit)->seed_name;
}

const char *agp_unit_seed_suffix(enum agp_unit unit)
{
	return view(unit)->seed_suffix;
}

double agp_unit_seed_divisor(enum agp_unit unit)
{
	return view(unit)->seed_divisor;
}

double agp_unit_to_seed(enum agp_unit unit, double wire)
{
	return wire / view(unit)->seed_divisor;
}

uint64_t agp_unit_from_seed(enum agp_unit unit, double seed)
{
	return seed > 0 ? (uint64_t)llround(seed * view(unit)->seed_divisor) : 0;
}

double agp_unit_seed_max(enum agp_unit unit)
{
	return view(unit)->seed_max;
}

const char *agp_unit_prometheus_name(enum agp_unit unit)
{
	return view(unit)->prometheus_name;
}

double agp_unit_prometheus_divisor(enum agp_unit unit)
{
	return view(unit)->prometheus_divisor;
}
