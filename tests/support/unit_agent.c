/*
 * A test agent for the unit tests of the outputs: registers metric NAME with
 * unit UNIT (nanoseconds, bytes, count; a built-in name must have its own
 * unit and is used by its fixed id), records each VALUE given (task ids
 * 1, 2, ...), prints "recorded METRIC VALUE" for each sample the ring took
 * (the test's witness of what was sent) and stays open HOLD_MS milliseconds.
 * Usage: unit_agent DEPLOYMENT TYPE AGENT METRIC UNIT HOLD_MS VALUE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <agentperf/agent.h>

static int parse_unit(const char *text, enum agp_unit *unit)
{
	static const enum agp_unit units[] = {AGP_UNIT_NANOSECONDS, AGP_UNIT_BYTES, AGP_UNIT_COUNT};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(text, agp_unit_name(units[i])) == 0) {
			*unit = units[i];
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	if (argc < 8) {
		fprintf(stderr, "usage: %s DEPLOYMENT TYPE AGENT METRIC UNIT HOLD_MS VALUE...\n",
		        argv[0]);
		return 2;
	}
	enum agp_unit unit;
	if (parse_unit(argv[5], &unit)) {
		fprintf(stderr, "unit_agent: unit '%s' is not nanoseconds, bytes or count\n",
		        argv[5]);
		return 2;
	}
	struct agp_agent_options options = {.deployment = argv[1]};
	agp_agent *agent;
	if (agp_agent_open(argv[3], argv[2], &options, &agent)) {
		fprintf(stderr, "unit_agent: %s\n", agp_last_error());
		return 1;
	}
	uint16_t id = AGP_METRIC_FIRST_CUSTOM;
	for (unsigned b = 0; b < AGP_METRIC_FIRST_CUSTOM; b++)
		if (strcmp(argv[4], agp_builtin_metric_name(b)) == 0 &&
		    agp_builtin_metric_unit(b) == unit)
			id = (uint16_t)b;
	int error =
	    id < AGP_METRIC_FIRST_CUSTOM ? 0 : agp_metric_register(agent, argv[4], unit, 0, &id);
	if (error) {
		fprintf(stderr, "unit_agent: register %s: %s\n", argv[4], agp_last_error());
		agp_agent_close(agent);
		return 1;
	}
	for (int i = 7; i < argc; i++) {
		long long value = strtoll(argv[i], NULL, 10);
		if (agp_record(agent, id, value, (uint64_t)(i - 6)))
			printf("recorded %s %lld\n", argv[4], value);
	}
	fflush(stdout);
	long hold_ms = strtol(argv[6], NULL, 10);
	struct timespec hold = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
	nanosleep(&hold, NULL);
	agp_agent_close(agent);
	return 0;
}
