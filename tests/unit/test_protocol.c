/* The control protocol: frames, the strict request decoder, json <-> msgpack. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/protocol.h"

/* Encodes a request frame and decodes its payload back. */
static int round_trip(const char *verb, json_t *args, struct agp_request *out)
{
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	assert_int_equal(agp_protocol_encode_request(&frame, verb, args), 0);
	assert_int_equal(agp_frame_length((unsigned char *)frame.data), frame.size - 4);
	char err[256];
	int result =
	    agp_protocol_decode_request(frame.data + 4, frame.size - 4, out, err, sizeof(err));
	msgpack_sbuffer_destroy(&frame);
	return result;
}

static void request_round_trip(void **state)
{
	(void)state;
	json_t *args =
	    json_pack("{s:s, s:f, s:b, s:[i, n, {s:I}]}", "metric", "coordination_overhead",
	              "window_s", 1800.5, "corrected", 1, "list", -3, "big", (json_int_t)INT64_MAX);
	struct agp_request request;
	assert_int_equal(round_trip("stats", args, &request), 0);
	assert_int_equal(request.verb, AGP_VERB_STATS);
	assert_true(json_equal(request.args, args));
	json_decref(request.args);
	json_decref(args);
	assert_int_equal(round_trip("status", NULL, &request), 0);
	assert_int_equal(json_object_size(request.args), 0);
	json_decref(request.args);
	for (unsigned v = 0; v < AGP_VERB_COUNT; v++) {
		assert_int_equal(round_trip(agp_verb_name((enum agp_verb)v), NULL, &request), 0);
		assert_int_equal(request.verb, v);
		json_decref(request.args);
	}
}

static void reply_round_trip(void **state)
{
	(void)state;
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	json_t *result = json_pack("{s:[f, s], s:o}", "a", 0.25, "x", "nested", json_object());
	assert_int_equal(agp_protocol_encode_ok(&frame, result), 0);
	struct agp_reply reply;
	char err[256];
	assert_int_equal(
	    agp_protocol_decode_reply(frame.data + 4, frame.size - 4, &reply, err, sizeof(err)), 0);
	assert_true(reply.ok);
	assert_true(json_equal(reply.result, result));
	json_decref(reply.result);
	json_decref(result);
	frame.size = 0;
	assert_int_equal(agp_protocol_encode_error(&frame, -ENOENT, "no baseline"), 0);
	assert_int_equal(
	    agp_protocol_decode_reply(frame.data + 4, frame.size - 4, &reply, err, sizeof(err)), 0);
	assert_false(reply.ok);
	assert_int_equal(reply.code, ENOENT);
	assert_string_equal(reply.error, "no baseline");
	msgpack_sbuffer_destroy(&frame);
}

/* An error reply whose code is not a positive errno reads as EPROTO, as the fuzzer found. */
static void reply_bad_code(void **state)
{
	(void)state;
	/* {"v":1,"ok":false,"error":"x","code":-32}, then "code":2^40, hand-packed. */
	static const unsigned char negative[] = {0x84, 0xa1, 'v', 0x01, 0xa2, 'o', 'k',  0xc2,
	                                         0xa5, 'e',  'r', 'r',  'o',  'r', 0xa1, 'x',
	                                         0xa4, 'c',  'o', 'd',  'e',  0xe0};
	static const unsigned char huge[] = {
	    0x84, 0xa1, 'v', 0x01, 0xa2, 'o', 'k',  0xc2, 0xa5, 'e', 'r', 'r', 'o', 'r', 0xa1,
	    'x',  0xa4, 'c', 'o',  'd',  'e', 0xcf, 0,    0,    1,   0,   0,   0,   0,   0};
	struct agp_reply reply;
	char err[256];
	assert_int_equal(
	    agp_protocol_decode_reply(negative, sizeof(negative), &reply, err, sizeof(err)), 0);
	assert_false(reply.ok);
	assert_int_equal(reply.code, EPROTO);
	assert_int_equal(agp_protocol_decode_reply(huge, sizeof(huge), &reply, err, sizeof(err)),
	                 0);
	assert_int_equal(reply.code, EPROTO);
}

static int decode(const void *bytes, size_t length)
{
	struct agp_request request = {.verb = AGP_VERB_COUNT, .args = NULL};
	char err[256];
	int result = agp_protocol_decode_request(bytes, length, &request, err, sizeof(err));
	if (result == 0)
		json_decref(request.args);
	else
		assert_null(request.args); /* untouched on failure */
	return result;
}

/* Packs a map built by the caller's packer calls into buf. */
static void bad_requests(void **state)
{
	(void)state;
	msgpack_sbuffer b;
	msgpack_sbuffer_init(&b);
	msgpack_packer p;
	msgpack_packer_init(&p, &b, msgpack_sbuffer_write);
#define KEY(s) (msgpack_pack_str(&p, strlen(s)), msgpack_pack_str_body(&p, s, strlen(s)))

	/* A valid one, then every way of breaking it. */
	msgpack_pack_map(&p, 2);
	KEY("v");
	msgpack_pack_int(&p, 1);
	KEY("verb");
	KEY("status");
	assert_int_equal(decode(b.data, b.size), 0);
	/* Truncated at every length. */
	for (size_t n = 0; n < b.size; n++)
		assert_int_not_equal(decode(b.data, n), 0);
	/* Trailing bytes. */
	msgpack_pack_nil(&p);
	assert_int_equal(decode(b.data, b.size), -EPROTO);

	b.size = 0; /* unknown version */
	msgpack_pack_map(&p, 2);
	KEY("v");
	msgpack_pack_int(&p, 2);
	KEY("verb");
	KEY("status");
	assert_int_equal(decode(b.data, b.size), -EPROTONOSUPPORT);

	b.size = 0; /* no version */
	msgpack_pack_map(&p, 1);
	KEY("verb");
	KEY("status");
	assert_int_equal(decode(b.data, b.size), -EPROTO);

	b.size = 0; /* unknown verb */
	msgpack_pack_map(&p, 2);
	KEY("v");
	msgpack_pack_int(&p, 1);
	KEY("verb");
	KEY("shutdown");
	assert_int_equal(decode(b.data, b.size), -EOPNOTSUPP);

	b.size = 0; /* args not a map */
	msgpack_pack_map(&p, 3);
	KEY("v");
	msgpack_pack_int(&p, 1);
	KEY("verb");
	KEY("stats");
	KEY("args");
	msgpack_pack_array(&p, 0);
	assert_int_equal(decode(b.data, b.size), -EPROTO);

	b.size = 0; /* unknown top-level key */
	msgpack_pack_map(&p, 3);
	KEY("v");
	msgpack_pack_int(&p, 1);
	KEY("verb");
	KEY("stats");
	KEY("extra");
	msgpack_pack_nil(&p);
	assert_int_equal(decode(b.data, b.size), -EPROTO);

	b.size = 0; /* duplicate key */
	msgpack_pack_map(&p, 3);
	KEY("v");
	msgpack_pack_int(&p, 1);
	KEY("verb");
	KEY("stats");
	KEY("verb");
	KEY("status");
	assert_int_equal(decode(b.data, b.size), -EPROTO);

	b.size = 0; /* non-string key inside args */
	msgpack_pack_map(&p, 3);
	KEY("v");
	msgpack_pack_int(&p, 1);
	KEY("verb");
	KEY("stats");
	KEY("args");
	msgpack_pack_map(&p, 1);
	msgpack_pack_int(&p, 7);
	msgpack_pack_nil(&p);
	assert_int_equal(decode(b.data, b.size), -EPROTO);

	b.size = 0; /* binary value */
	msgpack_pack_map(&p, 3);
	KEY("v");
	msgpack_pack_int(&p, 1);
	KEY("verb");
	KEY("stats");
	KEY("args");
	msgpack_pack_map(&p, 1);
	KEY("metric");
	msgpack_pack_bin(&p, 2);
	msgpack_pack_bin_body(&p, "ab", 2);
	assert_int_equal(decode(b.data, b.size), -EPROTO);

	b.size = 0; /* a NUL inside a key: C-string readers would see another key */
	msgpack_pack_map(&p, 3);
	KEY("v");
	msgpack_pack_int(&p, 1);
	KEY("verb");
	KEY("stats");
	KEY("args");
	msgpack_pack_map(&p, 1);
	msgpack_pack_str(&p, 8);
	msgpack_pack_str_body(&p, "metric\0x", 8);
	KEY("a");
	assert_int_equal(decode(b.data, b.size), -EPROTO);

	b.size = 0; /* a NUL inside a string value */
	msgpack_pack_map(&p, 2);
	KEY("v");
	msgpack_pack_int(&p, 1);
	KEY("verb");
	msgpack_pack_str(&p, 7);
	msgpack_pack_str_body(&p, "status\0", 7);
	assert_int_equal(decode(b.data, b.size), -EPROTO);

	b.size = 0; /* not a map at all */
	msgpack_pack_array(&p, 1);
	msgpack_pack_int(&p, 1);
	assert_int_equal(decode(b.data, b.size), -EPROTO);
#undef KEY
	msgpack_sbuffer_destroy(&b);

	/* Declared sizes far beyond the bytes: refused before anything is reserved. */
	static const unsigned char huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
	static const unsigned char huge_map[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0};
	static const unsigned char huge_str[] = {0x81, 0xdb, 0xff, 0xff, 0xff, 0xf0, 0x00};
	static const unsigned char never_used[] = {0xc1};
	assert_int_equal(decode(huge_array, sizeof(huge_array)), -EPROTO);
	assert_int_equal(decode(huge_map, sizeof(huge_map)), -EPROTO);
	assert_int_equal(decode(huge_str, sizeof(huge_str)), -EPROTO);
	assert_int_equal(decode(never_used, sizeof(never_used)), -EPROTO);
	assert_int_equal(decode("", 0), -EPROTO);

	/* Nesting deeper than allowed. */
	unsigned char deep[AGP_PROTOCOL_DEPTH_MAX + 8];
	memset(deep, 0x91, sizeof(deep)); /* [[[[...]]]] */
	deep[sizeof(deep) - 1] = 0xc0;
	assert_int_equal(agp_msgpack_check(deep, sizeof(deep), AGP_PROTOCOL_DEPTH_MAX), -EPROTO);
	assert_int_equal(agp_msgpack_check(deep + sizeof(deep) - 4, 4, AGP_PROTOCOL_DEPTH_MAX), 0);

	/* Oversized: refused by length alone. */
	static unsigned char big[AGP_PROTOCOL_REQUEST_MAX + 1];
	assert_int_equal(decode(big, sizeof(big)), -EMSGSIZE);
}

static void invalid_utf8_and_nan(void **state)
{
	(void)state;
	msgpack_sbuffer b;
	msgpack_sbuffer_init(&b);
	msgpack_packer p;
	msgpack_packer_init(&p, &b, msgpack_sbuffer_write);
	msgpack_pack_str(&p, 2);
	msgpack_pack_str_body(&p, "\xff\xfe", 2);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t offset = 0;
	assert_int_equal(msgpack_unpack_next(&u, b.data, b.size, &offset), MSGPACK_UNPACK_SUCCESS);
	json_t *out = NULL;
	assert_int_equal(agp_msgpack_to_json(&u.data, 4, &out), -EPROTO);
	assert_null(out);
	b.size = 0;
	offset = 0;
	msgpack_pack_double(&p, 0.0 / 0.0);
	assert_int_equal(msgpack_unpack_next(&u, b.data, b.size, &offset), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(agp_msgpack_to_json(&u.data, 4, &out), -EPROTO);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(request_round_trip),   cmocka_unit_test(reply_round_trip),
	    cmocka_unit_test(reply_bad_code),       cmocka_unit_test(bad_requests),
	    cmocka_unit_test(invalid_utf8_and_nan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
