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

/* value's 17 correctly rounded significant digits (one printf), from which fewer are rounded. */
struct decimal17 {
	double value;
	char digits[DOUBLE_DIGITS_MAX]; /* '0'..'9' */
	int exponent;                   /* of the first digit */
};

static void decimal17(double value, struct decimal17 *out)
{
	uint64_t digits;
	int exponent;
	nearest_decimal(value, DOUBLE_DIGITS_MAX, &digits, &exponent);
	out->value = value;
	out->exponent = exponent + DOUBLE_DIGITS_MAX - 1;
	for (int i = DOUBLE_DIGITS_MAX - 1; i >= 0; i--, digits /= 10)
		out->digits[i] = (char)('0' + digits % 10);
}

/*
 * The nearest decimal of precision digits, rounded from the 17: the same as
 * rounding value itself, unless the digits dropped are exactly 5000...,
 * where the first rounding may have made the tie; printf decides that one.
 */
static void nearest(const struct decimal17 *d, int precision, uint64_t *digits, int *exponent)
{
	uint64_t mantissa = 0;
	for (int i = 0; i < precision; i++)
		mantissa = mantissa * 10 + (uint64_t)(d->digits[i] - '0');
	*exponent = d->exponent - (precision - 1);
	if (precision < DOUBLE_DIGITS_MAX) {
		char first = d->digits[precision];
		bool rest_zero = true;
		for (int i = precision + 1; i < DOUBLE_DIGITS_MAX; i++)
			rest_zero &= d->digits[i] == '0';
		if (first == '5' && rest_zero) {
			nearest_decimal(d->value, precision, digits, exponent);
			return;
		}
		mantissa += first >= '5';
	}
	*digits = mantissa;
}

/*
 * Whether value is a power of two above the smallest normal double: the gap
 * to the next double below is then half the gap above, and the nearest
 * decimal may fall outside below while its neighbour above is inside.
 */
static bool gap_below_is_half(double value)
{
	uint64_t bits;
	memcpy(&bits, &value, sizeof(bits));
	return (bits & 0x000fffffffffffffull) == 0 && (bits >> 52 & 0x7ff) > 1;
}

/*
 * Whether a decimal of precision digits reads back as value; which one in
 * *digits x 10^*exponent. Only the nearest can, or at a power of two its
 * neighbour in the last digit (any other is farther than the larger gap).
 */
static bool reads_back_with(const struct decimal17 *d, int precision, uint64_t *digits,
                            int *exponent)
{
	nearest(d, precision, digits, exponent);
	if (reads_back(*digits, *exponent, d->value))
		return true;
	if (!gap_below_is_half(d->value))
		return false;
	for (int step = -1; step <= 1; step += 2) {
		uint64_t neighbour = *digits + (uint64_t)(int64_t)step;
		if (neighbour > 0 && reads_back(neighbour, *exponent, d->value)) {
			*digits = neighbour;
			return true;
		}
	}
	return false;
}

/*
 * The shortest decimal that reads back as value (positive, finite), without
 * trailing zeros. A search by halves over 1..17 digits: if some decimal of
 * p digits reads back, one of p + 1 does too (the same with a 0 appended).
 */
static void shortest_decimal(double value, uint64_t *digits, int *exponent)
{
	struct decimal17 d;
	decimal17(value, &d);
	uint64_t mantissa = 0;
	int power = 0;
	nearest(&d, DOUBLE_DIGITS_MAX, &mantissa, &power); /* 17 digits always read back */
	int low = 1, high = DOUBLE_DIGITS_MAX;             /* the answer is in [low, high] */
	while (low < high) {
		int middle = (low + high) / 2;
		uint64_t candidate;
		int candidate_power;
		if (reads_back_with(&d, middle, &candidate, &candidate_power)) {
			high = middle;
			mantissa = candidate;
			power = candidate_power;
		} else {
			low = middle + 1;
		}
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
