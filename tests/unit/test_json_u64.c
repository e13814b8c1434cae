/*
 * Unsigned 64-bit counts through the control protocol (common/json_u64.h):
 * a handcrafted msgpack reply holding 2^64-1 (0xcf and eight 0xff bytes)
 * decodes to that count and prints as its 20 digits; the daemon's side packs
 * a count of 2^64-1 as exactly those bytes; the boundaries around INT64_MAX;
 * and the printer rewrites nothing but the counts it carries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json_u64.h"
#include "common/protocol.h"

/* {"v": 1, "ok": true, "result": {"written": 2^64-1}} as msgpack, by hand. */
static const unsigned char reply_max[] = {
    0x83, 0xa1, 'v',  0x01, 0xa2, 'o',  'k',  0xc3, 0xa6, 'r',  'e',
    's',  'u',  'l',  't',  0x81, 0xa7, 'w',  'r',  'i',  't',  't',
    'e',  'n',  0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static void handcrafted_max_decodes_and_prints_exactly(void **state)
{
	(void)state;
	struct agp_reply reply;
	char err[256];
	assert_int_equal(
	    agp_protocol_decode_reply(reply_max, sizeof(reply_max), &reply, err, sizeof(err)), 0);
	assert_true(reply.ok);
	uint64_t count = 0;
	assert_true(agp_json_u64_value(json_object_get(reply.result, "written"), &count));
	assert_true(count == UINT64_MAX);
	char *text = agp_json_dumps(reply.result, JSON_COMPACT);
	assert_string_equal(text, "{\"written\":18446744073709551615}");
	free(text);
	json_decref(reply.result);
}

static void daemon_side_packs_max_as_msgpack_uint64(void **state)
{
	(void)state;
	json_t *result = json_pack("{s:o}", "written", agp_json_u64(UINT64_MAX));
	assert_non_null(result);
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	assert_int_equal(agp_protocol_encode_ok(&frame, result), 0);
	json_decref(result);
	/* The frame is its 4-byte length and exactly the handcrafted payload. */
	assert_int_equal(frame.size, AGP_PROTOCOL_FRAME_HEADER + sizeof(reply_max));
	assert_int_equal(agp_frame_length((const unsigned char *)frame.data), sizeof(reply_max));
	assert_memory_equal(frame.data + AGP_PROTOCOL_FRAME_HEADER, reply_max, sizeof(reply_max));
	msgpack_sbuffer_destroy(&frame);
}

/* Packs count, decodes it again and prints it; the text must be digits. */
static void round_trip(uint64_t count, const char *digits, bool plain_integer)
{
	json_t *value = agp_json_u64(count);
	assert_non_null(value);
	assert_int_equal(json_is_integer(value), plain_integer);
	json_t *result = json_pack("{s:o}", "n", value);
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	assert_int_equal(agp_protocol_encode_ok(&frame, result), 0);
	json_decref(result);
	struct agp_reply reply;
	char err[256];
	assert_int_equal(agp_protocol_decode_reply(frame.data + AGP_PROTOCOL_FRAME_HEADER,
	                                           frame.size - AGP_PROTOCOL_FRAME_HEADER, &reply,
	                                           err, sizeof(err)),
	                 0);
	msgpack_sbuffer_destroy(&frame);
	uint64_t back = 0;
	assert_true(agp_json_u64_value(json_object_get(reply.result, "n"), &back));
	assert_true(back == count);
	char *text = agp_json_dumps(reply.result, JSON_COMPACT);
	char expected[64];
	snprintf(expected, sizeof(expected), "{\"n\":%s}", digits);
	assert_string_equal(text, expected);
	free(text);
	json_decref(reply.result);
}

static void boundaries_round_trip(void **state)
{
	(void)state;
	round_trip(0, "0", true);
	round_trip(INT64_MAX, "9223372036854775807", true);
	round_trip((uint64_t)INT64_MAX + 1, "9223372036854775808", false);
	round_trip(UINT64_MAX - 1, "18446744073709551614", false);
	round_trip(UINT64_MAX, "18446744073709551615", false);
}

static void printer_rewrites_only_carriers(void **state)
{
	(void)state;
	/* Look-alikes: the text \u0000123, a quote before it, a NUL and a small count, a
	 * NUL and digits beyond 2^64-1, and a negative integer. */
	json_t *value = json_pack("{s:s, s:s, s:s%, s:s%, s:I, s:o}", "a", "\\u0000123", "b",
	                          "\"\\u0000999", "c",
	                          "\0"
	                          "5",
	                          (size_t)2, "d",
	                          "\0"
	                          "18446744073709551616",
	                          (size_t)21, "e", (json_int_t)-7, "f", agp_json_u64(UINT64_MAX));
	assert_non_null(value);
	char *plain = json_dumps(value, JSON_COMPACT);
	char *text = agp_json_dumps(value, JSON_COMPACT);
	/* Everything as jansson wrote it, but the one carrier. */
	const char *carrier = "\"\\u000018446744073709551615\"";
	char *at = strstr(plain, carrier);
	assert_non_null(at);
	char expected[512];
	snprintf(expected, sizeof(expected), "%.*s18446744073709551615%s", (int)(at - plain), plain,
	         at + strlen(carrier));
	assert_string_equal(text, expected);
	uint64_t count;
	assert_false(agp_json_u64_value(json_object_get(value, "c"), &count));
	assert_false(agp_json_u64_value(json_object_get(value, "d"), &count));
	assert_false(agp_json_u64_value(json_object_get(value, "e"), &count));
	free(plain);
	free(text);
	json_decref(value);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(handcrafted_max_decodes_and_prints_exactly),
	    cmocka_unit_test(daemon_side_packs_max_as_msgpack_uint64),
	    cmocka_unit_test(boundaries_round_trip),
	    cmocka_unit_test(printer_rewrites_only_carriers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
