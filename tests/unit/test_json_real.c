/*
 * JSON reals (common/json_real.h) and the one serialiser (common/json_dump.h):
 * about 30,000 doubles (every power of two and of ten, subnormals, integers
 * as doubles, 0.1, 0.95, 1e300, -0.0, short decimals, random bit patterns)
 * each read back to the same bits, and each written exactly as Python's
 * json.dumps writes it, the witness: its repr is the shortest text that reads
 * back (David Gay's dtoa). Node's String(x), when node is there, is a second
 * witness of the digits (ECMAScript's Number::toString is the shortest too,
 * in another layout). Then agp_json_dumps over a tree: reals shortest,
 * integers and carriers as integers, strings untouched, one layout.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/json_dump.h"
#include "common/json_real.h"
#include "common/json_u64.h"

#define RANDOM_BITS     12000
#define RANDOM_DECIMALS 12000

struct values {
	double *items;
	size_t count, capacity;
};

static void add(struct values *values, double value)
{
	if (values->count == values->capacity) {
		values->capacity = values->capacity ? values->capacity * 2 : 1024;
		values->items = realloc(values->items, values->capacity * sizeof(double));
		assert_non_null(values->items);
	}
	values->items[values->count++] = value;
}

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64*: deterministic, so a failure repeats. */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ull;
}

static double from_bits(uint64_t bits)
{
	double value;
	memcpy(&value, &bits, sizeof(value));
	return value;
}

static uint64_t to_bits(double value)
{
	uint64_t bits;
	memcpy(&bits, &value, sizeof(bits));
	return bits;
}

static struct values test_values(void)
{
	struct values values = {0};
	static const double edges[] = {0.0,
	                               -0.0,
	                               0.1,
	                               0.2,
	                               0.3,
	                               0.95,
	                               1.0 / 3,
	                               2.0 / 3,
	                               5.0805e-05,
	                               1e300,
	                               -1e300,
	                               DBL_MAX,
	                               -DBL_MAX,
	                               DBL_MIN,
	                               DBL_TRUE_MIN,
	                               1e23,
	                               1e21,
	                               1e22,
	                               1e15,
	                               1e16,
	                               1e17,
	                               1e-4,
	                               1e-5,
	                               123.456,
	                               0.5,
	                               200.0,
	                               -200.0,
	                               1e-7,
	                               9007199254740992.0,
	                               9007199254740994.0,
	                               4.35,
	                               0.01,
	                               2.5e-05,
	                               1234567890123456.0,
	                               12345678901234568.0,
	                               100.0,
	                               0.000123456789012345678,
	                               1.7976931348623157e308,
	                               2.2250738585072009e-308,
	                               4.9406564584124654e-324,
	                               5e-324,
	                               1.5,
	                               299792458.0,
	                               0.30000000000000004};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		add(&values, edges[i]);
	/* Every power of two: the double's gap below is half the gap above. */
	for (int k = -1074; k <= 1023; k++)
		add(&values, ldexp(1.0, k));
	for (int k = -323; k <= 308; k++) {
		char text[16];
		snprintf(text, sizeof(text), "1e%d", k);
		add(&values, strtod(text, NULL));
	}
	/* Integers as doubles, around 2^53 too, and their negatives. */
	for (int i = 0; i <= 1000; i++)
		add(&values, (double)i);
	for (int i = -5; i <= 5; i++)
		add(&values, 9007199254740992.0 + 2.0 * i);
	uint64_t state = 0x9e3779b97f4a7c15ull;
	/* Subnormals: the smallest and largest, and random ones. */
	add(&values, nextafter(DBL_MIN, 0));
	for (int i = 0; i < 500; i++)
		add(&values, from_bits(next_random(&state) & 0x000fffffffffffffull));
	/* Random bit patterns, the finite ones. */
	for (int i = 0; i < RANDOM_BITS; i++) {
		double value = from_bits(next_random(&state));
		if (isfinite(value))
			add(&values, value);
	}
	/* Short decimals of 1 to 17 digits at exponents -30..30: figures as they occur. */
	for (int i = 0; i < RANDOM_DECIMALS; i++) {
		uint64_t random = next_random(&state);
		int digits = 1 + (int)(random % 17);
		uint64_t mantissa = next_random(&state) % 100000000000000000ull;
		for (int d = digits; d < 17; d++)
			mantissa /= 10;
		char text[48];
		snprintf(text, sizeof(text), "%s%llue%d", random & 1 ? "-" : "",
		         (unsigned long long)mantissa, (int)(random >> 8 & 63) - 31);
		add(&values, strtod(text, NULL));
	}
	return values;
}

/* Runs the shell command with the bit patterns (hex, a line each) on its input; its output lines.
 */
static char **run_witness(const char *script, const struct values *values)
{
	char input[] = "/tmp/agp-json-real-XXXXXX";
	int fd = mkstemp(input);
	assert_true(fd >= 0);
	FILE *file = fdopen(fd, "w");
	for (size_t i = 0; i < values->count; i++)
		fprintf(file, "%016llx\n", (unsigned long long)to_bits(values->items[i]));
	fclose(file);
	char command[2048];
	snprintf(command, sizeof(command), "%s < %s", script, input);
	FILE *pipe = popen(command, "r");
	assert_non_null(pipe);
	char **lines = calloc(values->count, sizeof(char *));
	char line[128];
	size_t got = 0;
	while (got < values->count && fgets(line, sizeof(line), pipe)) {
		line[strcspn(line, "\n")] = '\0';
		lines[got++] = strdup(line);
	}
	int status = pclose(pipe);
	unlink(input);
	if (status != 0 || got != values->count)
		fail_msg("%s: status %d, %zu of %zu lines", script, status, got, values->count);
	return lines;
}

static void free_lines(char **lines, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(lines[i]);
	free(lines);
}

static bool have(const char *program)
{
	char command[128];
	snprintf(command, sizeof(command), "command -v %s >/dev/null 2>&1", program);
	return system(command) == 0;
}

static void reals_read_back_and_match_python(void **state)
{
	(void)state;
	if (!have("python3")) {
		skip(); /* the witness is missing */
		return;
	}
	struct values values = test_values();
	char **python = run_witness("python3 -c 'import json, struct, sys\n"
	                            "for line in sys.stdin:\n"
	                            "    print(json.dumps(struct.unpack(\"<d\", int(line, "
	                            "16).to_bytes(8, \"little\"))[0]))'",
	                            &values);
	size_t mismatches = 0;
	for (size_t i = 0; i < values.count; i++) {
		char text[AGP_JSON_REAL_MAX];
		size_t length = agp_json_real_format(values.items[i], text);
		assert_int_equal(length, strlen(text));
		double back = strtod(text, NULL);
		if (to_bits(back) != to_bits(values.items[i]))
			fail_msg("%a: \"%s\" reads back as %a", values.items[i], text, back);
		if (strcmp(text, python[i]) != 0 && mismatches++ < 10)
			print_error("%a (%.17g): \"%s\", Python writes \"%s\"\n", values.items[i],
			            values.items[i], text, python[i]);
	}
	print_message("%zu doubles read back; %zu differ from Python's json.dumps\n", values.count,
	              mismatches);
	assert_int_equal(mismatches, 0);
	free_lines(python, values.count);
	free(values.items);
}

/* The significant digits of a number's text ("-1.25e-05" -> "125"), and its decimal exponent. */
static void significant(const char *text, char *digits, size_t size, int *exponent)
{
	size_t used = 0;
	int point = -1, count = 0;
	const char *at = text;
	for (; *at && *at != 'e' && *at != 'E'; at++) {
		if (*at == '.')
			point = count;
		else if (*at >= '0' && *at <= '9' && used + 1 < size) {
			digits[used++] = *at;
			count++;
		}
	}
	digits[used] = '\0';
	int power = *at ? atoi(at + 1) : 0;
	if (point < 0)
		point = count;
	size_t lead = strspn(digits, "0");
	memmove(digits, digits + lead, used - lead + 1);
	used -= lead;
	while (used > 0 && digits[used - 1] == '0')
		digits[--used] = '\0';
	*exponent = power + point - (int)lead;
}

static void digits_match_node(void **state)
{
	(void)state;
	if (!have("node")) {
		skip();
		return;
	}
	struct values values = test_values();
	char **node =
	    run_witness("node -e 'const lines = require(\"fs\").readFileSync(0, "
	                "\"utf8\").trim().split(\"\\n\");"
	                "const view = new DataView(new ArrayBuffer(8)); const out = [];"
	                "for (const line of lines) { view.setBigUint64(0, BigInt(\"0x\" + line));"
	                "out.push(String(view.getFloat64(0))); } console.log(out.join(\"\\n\"));'",
	                &values);
	for (size_t i = 0; i < values.count; i++) {
		char text[AGP_JSON_REAL_MAX], ours[32], theirs[32];
		int our_exponent, their_exponent;
		agp_json_real_format(values.items[i], text);
		significant(text, ours, sizeof(ours), &our_exponent);
		significant(node[i], theirs, sizeof(theirs), &their_exponent);
		if (strcmp(ours, theirs) != 0 || (ours[0] && our_exponent != their_exponent))
			fail_msg("%a: \"%s\", node writes \"%s\"", values.items[i], text, node[i]);
	}
	free_lines(node, values.count);
	free(values.items);
}

static void not_finite_is_null(void **state)
{
	(void)state;
	char text[AGP_JSON_REAL_MAX];
	assert_int_equal(agp_json_real_format(NAN, text), 4);
	assert_string_equal(text, "null");
	agp_json_real_format(INFINITY, text);
	assert_string_equal(text, "null");
	agp_json_real_format(-INFINITY, text);
	assert_string_equal(text, "null");
}

static void dumps_writes_one_form(void **state)
{
	(void)state;
	json_t *value =
	    json_pack("{s:f, s:f, s:f, s:f, s:I, s:o, s:s, s:[f, f], s:f, s:n}",
	              "confidence_interval", 0.95, "mean", 5.0805e-05, "whole", 200.0, "huge",
	              1e300, "count", (json_int_t)-42, "big", agp_json_u64(UINT64_MAX), "text",
	              "0.94999999999999996 -1.5e-5", "list", 0.1, -0.0, "tiny", 5e-324, "none");
	assert_non_null(value);
	/* JSON_REAL_PRECISION is ignored: the shortest text is the only one. */
	char *text = agp_json_dumps(value, JSON_COMPACT | JSON_REAL_PRECISION(5));
	assert_string_equal(text,
	                    "{\"confidence_interval\":0.95,\"mean\":5.0805e-05,\"whole\":200.0,"
	                    "\"huge\":1e+300,\"count\":-42,\"big\":18446744073709551615,"
	                    "\"text\":\"0.94999999999999996 -1.5e-5\",\"list\":[0.1,-0.0],"
	                    "\"tiny\":5e-324,\"none\":null}");
	free(text);
	/* jansson's layout stays: indentation, separators, key order. */
	text = agp_json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS);
	char *plain = json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\n  \"confidence_interval\": 0.95,\n"));
	assert_non_null(strstr(plain, "\n  \"confidence_interval\": 0.94999999999999996,\n"));
	free(plain);
	free(text);
	/* Without reals or carriers, the text is jansson's, byte for byte, in every layout. */
	json_t *other =
	    json_pack("{s:[i, I, b, n, s], s:{s:s, s:i}, s:s}", "z", 1, (json_int_t)-7, 1,
	              "q\"u\\o\u00e9\n/", "a", "k", "\\u00001", "j", 0, "e", "1.5e5");
	assert_non_null(other);
	const size_t layouts[] = {0, JSON_COMPACT, JSON_INDENT(2), JSON_INDENT(3) | JSON_SORT_KEYS,
	                          JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH};
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		text = agp_json_dumps(other, layouts[i]);
		plain = json_dumps(other, layouts[i]);
		assert_string_equal(text, plain);
		free(plain);
		free(text);
	}
	json_decref(other);
	/* A bare real, as JSON_ENCODE_ANY lets jansson write one. */
	json_t *real = json_real(0.1 + 0.2);
	text = agp_json_dumps(real, JSON_ENCODE_ANY);
	assert_string_equal(text, "0.30000000000000004");
	free(text);
	json_decref(real);
	json_decref(value);
}

/* Every real of a tree reads back (jansson's reader) as the same double. */
static void dumps_reads_back_exactly(void **state)
{
	(void)state;
	struct values values = test_values();
	json_t *array = json_array();
	for (size_t i = 0; i < values.count; i++)
		json_array_append_new(array, json_real(values.items[i]));
	char *text = agp_json_dumps(array, JSON_COMPACT);
	assert_non_null(text);
	json_error_t error;
	json_t *back = json_loads(text, 0, &error);
	if (!back)
		fail_msg("jansson cannot read agp_json_dumps' text: %s", error.text);
	assert_int_equal(json_array_size(back), values.count);
	for (size_t i = 0; i < values.count; i++) {
		json_t *item = json_array_get(back, i);
		assert_true(json_is_real(item));
		if (to_bits(json_real_value(item)) != to_bits(values.items[i]))
			fail_msg("%a read back as %a", values.items[i], json_real_value(item));
	}
	json_decref(back);
	free(text);
	json_decref(array);
	free(values.items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reals_read_back_and_match_python),
	    cmocka_unit_test(digits_match_node),
	    cmocka_unit_test(not_finite_is_null),
	    cmocka_unit_test(dumps_writes_one_form),
	    cmocka_unit_test(dumps_reads_back_exactly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
