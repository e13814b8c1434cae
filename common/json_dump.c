#include "common/json_dump.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_real.h"
#include "common/json_u64.h"

/* The longest real token jansson writes with 17 digits ("-2.2250738585072014e-308"), with room. */
#define REAL_TOKEN_MAX 40

/* A growing text. */
struct text {
	char *data;
	size_t length, capacity;
	bool failed;
};

static void append(struct text *out, const char *bytes, size_t length)
{
	if (out->failed)
		return;
	if (out->length + length + 1 > out->capacity) {
		size_t capacity = out->capacity ? out->capacity : 256;
		while (out->length + length + 1 > capacity)
			capacity *= 2;
		char *grown = realloc(out->data, capacity);
		if (!grown) {
			out->failed = true;
			return;
		}
		out->data = grown;
		out->capacity = capacity;
	}
	memcpy(out->data + out->length, bytes, length);
	out->length += length;
	out->data[out->length] = '\0';
}

/*
 * The double of a real token as jansson writes it ("-12.5", "1.0000000000000001e-5"),
 * read without the locale: its digits and exponent only, given to strtod as DIGITSeN.
 * False when the token is not one (it is then copied as it is).
 */
static bool read_real(const char *token, size_t length, double *value)
{
	char digits[REAL_TOKEN_MAX + 24];
	size_t used = 0;
	size_t i = 0;
	if (i < length && token[i] == '-')
		digits[used++] = token[i++];
	long fraction = 0; /* digits after the point */
	bool point = false, any = false;
	for (; i < length && token[i] != 'e' && token[i] != 'E'; i++) {
		if (token[i] == '.' && !point) {
			point = true;
		} else if (token[i] >= '0' && token[i] <= '9') {
			digits[used++] = token[i];
			fraction += point;
			any = true;
		} else {
			return false;
		}
	}
	long exponent = 0;
	if (i < length) {
		char *end;
		char copy[16];
		size_t rest = length - i - 1;
		if (rest == 0 || rest >= sizeof(copy))
			return false;
		memcpy(copy, token + i + 1, rest);
		copy[rest] = '\0';
		exponent = strtol(copy, &end, 10);
		if (*end)
			return false;
	}
	if (!any)
		return false;
	snprintf(digits + used, sizeof(digits) - used, "e%ld", exponent - fraction);
	*value = strtod(digits, NULL);
	return true;
}

/* Copies the number token at in (integer or real) to out; returns its end. */
static const char *number_token(struct text *out, const char *in)
{
	const char *end = in;
	bool real = false;
	while (*end && strchr("0123456789+-.eE", *end)) {
		real |= *end == '.' || *end == 'e' || *end == 'E';
		end++;
	}
	size_t length = (size_t)(end - in);
	double value;
	if (real && length <= REAL_TOKEN_MAX && read_real(in, length, &value)) {
		char shortest[AGP_JSON_REAL_MAX];
		append(out, shortest, agp_json_real_format(value, shortest));
	} else {
		append(out, in, length);
	}
	return end;
}

/* Copies the string token at in (an opening quote) to out, a carrier as its digits; its end. */
static const char *string_token(struct text *out, const char *in)
{
	static const char prefix[] = "\"\\u0000";
	size_t prefix_length = sizeof(prefix) - 1;
	const char *end = in + 1; /* the closing quote; escapes are skipped */
	while (*end && *end != '"')
		end += end[0] == '\\' && end[1] ? 2 : 1;
	uint64_t count;
	if (*end && strncmp(in, prefix, prefix_length) == 0 &&
	    agp_json_u64_parse_digits(in + prefix_length, (size_t)(end - in) - prefix_length,
	                              &count))
		append(out, in + prefix_length, (size_t)(end - in) - prefix_length);
	else
		append(out, in, (size_t)(end - in) + (*end ? 1 : 0));
	return *end ? end + 1 : end;
}

char *agp_json_dumps(const json_t *value, size_t flags)
{
	/* jansson's default precision is 17 digits: every real reads back exactly. */
	char *text = json_dumps(value, flags & ~(size_t)JSON_REAL_PRECISION(0x1F));
	if (!text)
		return NULL;
	struct text out = {0};
	append(&out, "", 0); /* an empty text is "" still */
	const char *in = text;
	while (*in && !out.failed) {
		if (*in == '"') {
			in = string_token(&out, in);
		} else if (*in == '-' || (*in >= '0' && *in <= '9')) {
			in = number_token(&out, in);
		} else {
			const char *run = in;
			while (*in && *in != '"' && *in != '-' && (*in < '0' || *in > '9'))
				in++;
			append(&out, run, (size_t)(in - run));
		}
	}
	free(text);
	if (out.failed) {
		free(out.data);
		return NULL;
	}
	return out.data;
}
