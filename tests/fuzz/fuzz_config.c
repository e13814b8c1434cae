/*
 * libFuzzer target for the configuration file reader
 * (.codexplus/performance/config.json): any bytes give a configuration or a
 * message, never a crash, leak or overlong read. An accepted configuration
 * that passes the checks is written out with every key, read back, and written
 * again: the two texts must be equal (the reader and the writer agree on every key).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char folder[] = "/tmp/agentperf-fuzz-config-XXXXXX";
static char input_path[64], once_path[64];

static void check_round_trip(const struct agp_config *cfg)
{
	char err[512];
	char *once = agp_config_to_string(cfg, AGP_CONFIG_JSON_ALL);
	FILE *out = fopen(once_path, "wb");
	if (!once || !out || fputs(once, out) < 0 || fclose(out) != 0)
		abort();
	struct agp_config again;
	agp_config_defaults(&again);
	if (agp_config_load_file(once_path, &again, err, sizeof(err)) != 0)
		abort();
	char *twice = agp_config_to_string(&again, AGP_CONFIG_JSON_ALL);
	/* Checked without assert(), which release builds compile out. */
	if (!twice || strcmp(once, twice) != 0)
		abort();
	free(once);
	free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!input_path[0]) {
		if (!mkdtemp(folder))
			abort();
		snprintf(input_path, sizeof(input_path), "%s/config.json", folder);
		snprintf(once_path, sizeof(once_path), "%s/once.json", folder);
	}
	FILE *input = fopen(input_path, "wb");
	if (!input || fwrite(data, 1, size, input) != size || fclose(input) != 0)
		abort();
	struct agp_config cfg;
	char err[512];
	agp_config_defaults(&cfg);
	if (agp_config_load_file(input_path, &cfg, err, sizeof(err)) == 0 &&
	    agp_config_check(&cfg, input_path, err, sizeof(err)) == 0)
		check_round_trip(&cfg);
	return 0;
}
