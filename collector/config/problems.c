/* The configuration's problem list and the words for values in it (see problems.h). */
#include "collector/config/problems.h"
#include "common/json_dump.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void agp__config_problems_init(struct agp__config_problems *p, char *buf, size_t len)
{
	p->buf = buf;
	p->full_cap = buf ? len : 0;
	p->cap = p->full_cap > 160 ? p->full_cap - 40 : p->full_cap;
	p->len = 0;
	p->count = 0;
	p->omitted = 0;
	if (p->buf && p->full_cap)
		p->buf[0] = '\0';
}

void agp__config_problem(struct agp__config_problems *p, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p->count++;
	size_t need = strlen(line) + (p->len ? 1 : 0);
	if (!p->buf || p->len + need + 1 > p->cap) {
		/* A lone first message is still shown, truncated, rather than omitted. */
		if (p->buf && p->len == 0 && p->full_cap) {
			snprintf(p->buf, p->cap, "%s", line);
			p->len = strlen(p->buf);
			return;
		}
		p->omitted++;
		return;
	}
	if (p->len)
		p->buf[p->len++] = '\n';
	memcpy(p->buf + p->len, line, strlen(line) + 1);
	p->len += strlen(line);
}

int agp__config_problems_finish(struct agp__config_problems *p)
{
	if (p->omitted && p->buf && p->full_cap > p->len + 1)
		snprintf(p->buf + p->len, p->full_cap - p->len, "%s(%u more problems)",
		         p->len ? "\n" : "", p->omitted);
	return p->count ? -EINVAL : 0;
}

int agp__config_exact_precision(double x)
{
	char text[40];
	for (int digits = 15; digits < 17; digits++) {
		snprintf(text, sizeof(text), "%.*g", digits, x);
		if (strtod(text, NULL) == x)
			return digits;
	}
	return 17;
}

void agp__config_format_double(char *out, size_t len, double x)
{
	snprintf(out, len, "%.*g", agp__config_exact_precision(x), x);
}

const char *agp__config_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

void agp__config_json_brief(const json_t *v, char *out, size_t len)
{
	char *text = agp_json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!text) {
		snprintf(out, len, "(%s)", agp__config_json_kind(v));
		return;
	}
	if (json_is_real(v)) {
		char num[40];
		agp__config_format_double(num, sizeof(num), json_real_value(v));
		snprintf(out, len, "%s", num);
	} else if (strlen(text) > 80) {
		snprintf(out, len, "%.77s...", text);
	} else {
		snprintf(out, len, "%s", text);
	}
	free(text);
}

/* Levenshtein distance, for "did you mean" on unknown keys; names are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return SIZE_MAX;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

void agp__config_suggestion(const char *name, const char *const *candidates, size_t n, char *out,
                            size_t len)
{
	size_t best = SIZE_MAX;
	const char *best_name = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(name, candidates[i]);
		if (d < best) {
			best = d;
			best_name = candidates[i];
		}
	}
	size_t limit = strlen(name) / 3 > 2 ? strlen(name) / 3 : 2;
	if (best_name && best <= limit)
		snprintf(out, len, " (did you mean \"%s\"?)", best_name);
	else
		out[0] = '\0';
}
