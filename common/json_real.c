#include "common/json_real.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most significant digits a double needs to read back exactly. */
#define DOUBLE_DIGITS_MAX 17

/* Whether digits x 10^exponent reads back as value (locale-free text: no decimal point). */
static bool reads_back(uint64_t digits, int exponent, double value)
{
	char text[48];
	snprintf(text, sizeof(text), "%llue%d", (unsigned long long)digits, exponent);
	return strtod(text, NULL) == value;
}

/*
 * The correctly rounded decimal of value (positive, finite) with precision
 * significant digits, as *digits x 10^*exponent, read out of printf's "%.*e"
 * text: its digits, whatever the locale's decimal point, and its exponent.
 */
static void nearest_decimal(double value, int precision, uint64_t *digits, int *exponent)
{
	char text[64];
	snprintf(text, sizeof(text), "%.*e", precision - 1, value);
	uint64_t mantissa = 0;
	const char *at = text;
	for (; *at && *at != 'e'; at++)
		if (*at >= '0' && *at <= '9')
			mantissa = mantissa * 10 + (uint64_t)(*at - '0');
	int power = *at == 'e' ? (int)strtol(at + 1, NULL, 10) : 0;
	*digits = mantissa;
	*exponent = power - (precision - 1);
}

/* The shortest decimal that reads back as value (positive, finite), without trailing zeros. */
static void shortest_decimal(double value, uint64_t *digits, int *exponent)
{
	uint64_t mantissa = 0;
	int power = 0;
	for (int precision = 1; precision <= DOUBLE_DIGITS_MAX; precision++) {
		nearest_decimal(value, precision, &mantissa, &power);
		if (reads_back(mantissa, power, value))
			break;
		if (mantissa > 1 && reads_back(mantissa - 1, power, value)) {
			mantissa--;
			break;
		}
		if (reads_back(mantissa + 1, power, value)) {
			mantissa++;
			break;
		}
		/* Seventeen digits always read back; the last round only guards the loop. */
	}
	while (mantissa % 10 == 0 && mantissa != 0) {
		mantissa /= 10;
		power++;
	}
	*digits = mantissa;
	*exponent = power;
}

size_t agp_json_real_format(double value, char *out)
{
	if (!isfinite(value))
		return (size_t)snprintf(out, AGP_JSON_REAL_MAX, "null");
	char *at = out;
	if (signbit(value))
		*at++ = '-';
	if (value < 0)
		value = -value;
	if (value == 0) {
		memcpy(at, "0.0", 4);
		return (size_t)(at + 3 - out);
	}
	uint64_t mantissa;
	int power;
	shortest_decimal(value, &mantissa, &power);
	char digits[DOUBLE_DIGITS_MAX + 4];
	int count = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)mantissa);
	int exponent = power + count - 1; /* of the first digit */
	if (exponent < -4 || exponent > 15) {
		/* 1e+16, 1.5e-05: the first digit, the others after a point, the exponent. */
		*at++ = digits[0];
		if (count > 1) {
			*at++ = '.';
			memcpy(at, digits + 1, (size_t)count - 1);
			at += count - 1;
		}
		at += sprintf(at, "e%c%02d", exponent < 0 ? '-' : '+', abs(exponent));
	} else if (exponent < 0) {
		/* 0.00012: a zero, the point, the zeros before the first digit, the digits. */
		memcpy(at, "0.", 2);
		at += 2;
		memset(at, '0', (size_t)(-exponent - 1));
		at += -exponent - 1;
		memcpy(at, digits, (size_t)count);
		at += count;
	} else if (exponent + 1 < count) {
		/* 12.5: the whole digits, the point, the rest. */
		memcpy(at, digits, (size_t)exponent + 1);
		at += exponent + 1;
		*at++ = '.';
		memcpy(at, digits + exponent + 1, (size_t)(count - exponent - 1));
		at += count - exponent - 1;
	} else {
		/* 1200.0: the digits, the zeros up to the point, ".0". */
		memcpy(at, digits, (size_t)count);
		at += count;
		memset(at, '0', (size_t)(exponent + 1 - count));
		at += exponent + 1 - count;
		memcpy(at, ".0", 2);
		at += 2;
	}
	*at = '\0';
	return (size_t)(at - out);
}
