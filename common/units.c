/* How a wire unit is shown to people, in the seed's JSON and to Prometheus (see units.h). */
#include "common/units.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct unit_views {
	const char *wire_name;
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
    [AGP_UNIT_NANOSECONDS] = {"nanoseconds", "ms", 1e6, "ms", "_ms", 1e6, 1e9, "seconds", 1e9},
    [AGP_UNIT_BYTES] = {"bytes", "MiB", 1048576.0, "MB", "_mb", 1048576.0, 1e9, "bytes", 1.0},
    [AGP_UNIT_COUNT] = {"count", "count", 1.0, "count", "", 1.0, 9007199254740992.0, "", 1.0},
};

/* Values come from files and agents' registrations: anything out of the enum is a count. */
static const struct unit_views *view(enum agp_unit unit)
{
	return (unsigned)unit <= AGP_UNIT_COUNT ? &views[unit] : &views[AGP_UNIT_COUNT];
}

const char *agp_unit_wire_name(enum agp_unit unit)
{
	return view(unit)->wire_name;
}

int agp_unit_parse(const char *name, enum agp_unit *unit)
{
	for (unsigned u = 0; name && u < sizeof(views) / sizeof(views[0]); u++)
		if (strcmp(name, views[u].wire_name) == 0) {
			*unit = (enum agp_unit)u;
			return 0;
		}
	return -EINVAL;
}

/*
 * One step of a scale: values below `below` (in wire units) are shown as
 * wire / divisor with `decimals` decimals and the name. Each `below` is where
 * the rounded figure would reach the next step's first figure (999.995 us
 * prints as 1000.00 us, so it is shown as 1.00 ms instead).
 */
struct scale_step {
	double below;
	double divisor;
	int decimals;
	const char *name;
};

static const struct scale_step duration_steps[] = {
    {999.5, 1.0, 0, "ns"},
    {999995.0, 1e3, 2, "us"},
    {999995000.0, 1e6, 2, "ms"},
    {INFINITY, 1e9, 3, "s"},
};

static const struct scale_step byte_steps[] = {
    {1023.5, 1.0, 0, "B"},
    {1048576.0 - 51.2, 1024.0, 1, "KiB"},
    {1073741824.0 - 52428.8, 1048576.0, 1, "MiB"},
    {INFINITY, 1073741824.0, 2, "GiB"},
};

static int format_scaled(const struct scale_step *steps, double wire, char *out, size_t size)
{
	const struct scale_step *step = steps;
	while (step->below != INFINITY && !(fabs(wire) < step->below))
		step++; /* the last step takes everything, infinities too */
	return snprintf(out, size, "%.*f %s", step->decimals, wire / step->divisor, step->name);
}

/* Whole numbers up to 2^53 (every one of them exact in a double) print without decimals. */
static bool is_whole(double value)
{
	return fabs(value) <= 9007199254740992.0 && value == floor(value);
}

int agp_unit_format(enum agp_unit unit, double wire, char *out, size_t size)
{
	if (isnan(wire))
		return snprintf(out, size, "-");
	switch (view(unit) - views) {
	case AGP_UNIT_NANOSECONDS:
		return format_scaled(duration_steps, wire, out, size);
	case AGP_UNIT_BYTES:
		return format_scaled(byte_steps, wire, out, size);
	default:
		return is_whole(wire) ? snprintf(out, size, "%.0f", wire)
		                      : snprintf(out, size, "%.2f", wire);
	}
}

/* value with up to 6 decimals, trailing zeros dropped down to one: "250.5", "0.000401". */
static void format_decimals(double value, char *out, size_t size)
{
	snprintf(out, size, "%.6f", value);
	size_t length = strlen(out);
	while (length > 2 && out[length - 1] == '0' && out[length - 2] != '.')
		out[--length] = '\0';
}

int agp_unit_format_seed(enum agp_unit unit, double wire, char *out, size_t size)
{
	if (isnan(wire))
		return snprintf(out, size, "-");
	const struct unit_views *v = view(unit);
	bool count = v == &views[AGP_UNIT_COUNT];
	if (count && is_whole(wire))
		return snprintf(out, size, "%.0f", wire);
	char number[400]; /* %.6f of the largest double: 309 digits and 7 more */
	format_decimals(wire / v->seed_divisor, number, sizeof(number));
	return snprintf(out, size, "%s%s", number, count ? "" : v->seed_name);
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
