#include "common/json_u64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A carrier: NUL, then the digits of a count above INT64_MAX (19 or 20 of them). */
#define CARRIER_DIGITS_MAX 20

json_t *agp_json_u64(uint64_t count)
{
	if (count <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)count);
	char text[CARRIER_DIGITS_MAX + 2];
	int length = snprintf(text, sizeof(text), "%c%llu", '\0', (unsigned long long)count);
	return json_stringn(text, (size_t)length);
}

/* The count of carrier digits of the given length; false when they are not one. */
static bool parse_carrier(const char *digits, size_t length, uint64_t *count)
{
	if (length == 0 || length > CARRIER_DIGITS_MAX || digits[0] == '0')
		return false;
	uint64_t value = 0;
	for (size_t i = 0; i < length; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return false;
		unsigned digit = (unsigned)(digits[i] - '0');
		if (value > (UINT64_MAX - digit) / 10)
			return false; /* above 2^64-1 */
		value = value * 10 + digit;
	}
	if (value <= (uint64_t)INT64_MAX)
		return false; /* such a count is a plain integer */
	*count = value;
	return true;
}

bool agp_json_u64_carrier(const json_t *value, uint64_t *count)
{
	if (!json_is_string(value))
		return false;
	const char *text = json_string_value(value);
	size_t length = json_string_length(value);
	return length >= 2 && text[0] == '\0' && parse_carrier(text + 1, length - 1, count);
}

bool agp_json_u64_value(const json_t *value, uint64_t *count)
{
	if (json_is_integer(value) && json_integer_value(value) >= 0) {
		*count = (uint64_t)json_integer_value(value);
		return true;
	}
	return agp_json_u64_carrier(value, count);
}

/*
 * jansson writes a carrier as the string token "\u0000DIGITS" (quote,
 * backslash, u0000, the digits, quote). This walks the text's string tokens
 * (escapes skipped, so an escaped quote or backslash never starts or ends
 * one) and writes each token that is exactly a carrier as its digits.
 */
char *agp_json_dumps(const json_t *value, size_t flags)
{
	char *text = json_dumps(value, flags);
	if (!text)
		return NULL;
	static const char prefix[] = "\"\\u0000";
	size_t prefix_length = sizeof(prefix) - 1;
	char *out = text; /* the result is never longer: written over the text */
	const char *in = text;
	while (*in) {
		if (*in != '"') {
			*out++ = *in++;
			continue;
		}
		const char *end = in + 1; /* the closing quote */
		while (*end && *end != '"')
			end += end[0] == '\\' && end[1] ? 2 : 1;
		uint64_t count;
		if (*end && strncmp(in, prefix, prefix_length) == 0 &&
		    parse_carrier(in + prefix_length, (size_t)(end - in - prefix_length), &count)) {
			size_t digits = (size_t)(end - in - prefix_length);
			memmove(out, in + prefix_length, digits);
			out += digits;
		} else {
			size_t token = (size_t)(end - in) + (*end ? 1 : 0);
			memmove(out, in, token);
			out += token;
		}
		in = *end ? end + 1 : end;
	}
	*out = '\0';
	return text;
}
