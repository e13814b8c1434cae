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

json_t *agp_json_u64_id(uint64_t id)
{
	char text[CARRIER_DIGITS_MAX + 1];
	snprintf(text, sizeof(text), "%llu", (unsigned long long)id);
	return json_string(text);
}

bool agp_json_u64_parse_digits(const char *digits, size_t length, uint64_t *count)
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
	return length >= 2 && text[0] == '\0' &&
	       agp_json_u64_parse_digits(text + 1, length - 1, count);
}

bool agp_json_u64_value(const json_t *value, uint64_t *count)
{
	if (json_is_integer(value) && json_integer_value(value) >= 0) {
		*count = (uint64_t)json_integer_value(value);
		return true;
	}
	return agp_json_u64_carrier(value, count);
}
