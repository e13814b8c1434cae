/*
 * The seed's capability gate: a task whose text asks for something the
 * agent may not do is refused before any worker sees it.
 *
 * Words are matched whole and case-insensitively ("run" matches "Run" and
 * "run," but not "prune" or "run_all"), over the prompt and the description together.
 * Writing to files needs READ_FILES and WRITE_FILES, as in the original.
 */
#include "agents/task/defs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *word;
	unsigned needs;
} gate_words[] = {
    {"file", AGP__CAP_READ_FILES},
    {"files", AGP__CAP_READ_FILES},
    {"read", AGP__CAP_READ_FILES},
    {"write", AGP__CAP_READ_FILES | AGP__CAP_WRITE_FILES},
    {"modify", AGP__CAP_READ_FILES | AGP__CAP_WRITE_FILES},
    {"delete", AGP__CAP_READ_FILES | AGP__CAP_WRITE_FILES},
    {"run", AGP__CAP_EXECUTE_COMMANDS},
    {"execute", AGP__CAP_EXECUTE_COMMANDS},
    {"shell", AGP__CAP_EXECUTE_COMMANDS},
    {"command", AGP__CAP_EXECUTE_COMMANDS},
    {"bash", AGP__CAP_EXECUTE_COMMANDS},
    {"fetch", AGP__CAP_NETWORK_ACCESS},
    {"download", AGP__CAP_NETWORK_ACCESS},
    {"api", AGP__CAP_NETWORK_ACCESS},
    {"http", AGP__CAP_NETWORK_ACCESS},
    {"https", AGP__CAP_NETWORK_ACCESS},
    {"request", AGP__CAP_NETWORK_ACCESS},
};

static unsigned gate_text(unsigned capabilities, const char *text, char *why, size_t why_len)
{
	if (!text)
		return 0;
	const char *cursor = text;
	while (*cursor) {
		while (*cursor && !isalnum((unsigned char)*cursor) && *cursor != '_')
			cursor++;
		const char *start = cursor;
		while (isalnum((unsigned char)*cursor) || *cursor == '_')
			cursor++;
		size_t length = (size_t)(cursor - start);
		if (length == 0)
			continue;
		for (size_t i = 0; i < sizeof(gate_words) / sizeof(gate_words[0]); i++) {
			if (strlen(gate_words[i].word) != length ||
			    strncasecmp(gate_words[i].word, start, length) != 0)
				continue;
			unsigned missing = gate_words[i].needs & ~capabilities;
			if (!missing)
				continue;
			unsigned first = missing & -missing;
			snprintf(why, why_len,
			         "the task asks for '%.*s', which needs the capability %s that the "
			         "agent lacks",
			         (int)length, start, agp__capability_name(first));
			return first;
		}
	}
	return 0;
}

unsigned agp__capability_gate(unsigned capabilities, const char *prompt, const char *description,
                              char *why, size_t why_len)
{
	unsigned missing = gate_text(capabilities, prompt, why, why_len);
	return missing ? missing : gate_text(capabilities, description, why, why_len);
}
