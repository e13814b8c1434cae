/*
 * libFuzzer target for the baseline.json reader (the daemon loads the file at
 * start, and a baseline imported from the original system is also read here):
 * any bytes give a baseline or an error, never a crash, leak or overlong
 * read. An accepted baseline written out and read back must write out the
 * same JSON again (the reader and the writer agree on every field).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "collector/analysis/baseline.h"
#include "common/json_dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct agp_baseline first, second;

static char *written(const struct agp_baseline *baseline)
{
	json_t *json = agp_baseline_to_json(baseline);
	if (!json)
		abort();
	char *text = agp_json_dumps(json, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(json);
	if (!text)
		abort();
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *json = json_loadb((const char *)data, size, 0, NULL);
	if (!json)
		return 0;
	char err[512];
	int rc = agp_baseline_from_json(json, &first, err, sizeof(err));
	json_decref(json);
	if (rc != 0)
		return 0;
	char *once = written(&first);
	json_t *again = json_loads(once, 0, NULL);
	/* Checked without assert(), which release builds compile out. */
	if (!again || agp_baseline_from_json(again, &second, err, sizeof(err)) != 0)
		abort();
	json_decref(again);
	char *twice = written(&second);
	if (strcmp(once, twice) != 0)
		abort();
	free(once);
	free(twice);
	return 0;
}
