/*
 * libFuzzer target for the agent definitions reader (every *.json of the
 * definitions folder, written by whoever may write there): any bytes give a
 * definition or a message naming the file and key, never a crash, leak or
 * overlong read. A file that is skipped leaves the message; one that loads
 * gives one definition with every field a runner needs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/task/defs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char folder[] = "/tmp/agentperf-fuzz-defs-XXXXXX";
static char input_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!input_path[0]) {
		if (!mkdtemp(folder))
			abort();
		snprintf(input_path, sizeof(input_path), "%s/agent.json", folder);
	}
	FILE *input = fopen(input_path, "wb");
	if (!input || fwrite(data, 1, size, input) != size || fclose(input) != 0)
		abort();
	struct agp__agent_defs defs;
	if (agp__agent_defs_load(folder, &defs) != 0)
		return 0;
	/* Checked without assert(), which release builds compile out. */
	if (!defs.messages)
		abort();
	for (size_t i = 0; i < defs.count; i++) {
		const struct agp__agent_def *def = &defs.defs[i];
		if (!def->id || !def->name || !def->runner_text ||
		    agp__agent_defs_find(&defs, def->id) == NULL)
			abort();
	}
	agp__agent_defs_free(&defs);
	return 0;
}
