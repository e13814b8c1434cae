/*
 * libFuzzer target for the CLI's side of the control protocol: the reply
 * decoder and the --json printer. Any bytes must give 0 or a negative errno,
 * never a crash, leak or overlong read. A decoded result printed with
 * agp_json_dumps (counts above INT64_MAX as bare digits) must still be JSON
 * that jansson reads; a decoded reply, result or refusal, encoded again and
 * decoded once more must come back equal.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_u64.h"
#include "common/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checked without assert(), which release builds compile out. */
static void check(int condition)
{
	if (!condition)
		abort();
}

static void check_printed(const json_t *result)
{
	char *text = agp_json_dumps(result, JSON_ENCODE_ANY | JSON_INDENT(2));
	check(text != NULL);
	json_error_t error;
	/* Integers as reals: jansson's own reader refuses integers beyond 2^63. */
	json_t *read = json_loads(text, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &error);
	check(read != NULL);
	json_decref(read);
	free(text);
}

static void check_round_trip(const struct agp_reply *reply)
{
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	int encoded = reply->ok ? agp_protocol_encode_ok(&frame, reply->result)
	                        : agp_protocol_encode_error(&frame, reply->code, reply->error);
	if (encoded == 0) {
		struct agp_reply again;
		char err[256];
		check(agp_protocol_decode_reply(frame.data + AGP_PROTOCOL_FRAME_HEADER,
		                                frame.size - AGP_PROTOCOL_FRAME_HEADER, &again, err,
		                                sizeof(err)) == 0);
		check(again.ok == reply->ok);
		if (reply->ok)
			check(json_equal(again.result, reply->result));
		else
			check(again.code == reply->code && strcmp(again.error, reply->error) == 0);
		json_decref(again.result);
	}
	msgpack_sbuffer_destroy(&frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agp_reply reply;
	char err[256];
	if (agp_protocol_decode_reply(data, size, &reply, err, sizeof(err)))
		return 0;
	if (reply.ok)
		check_printed(reply.result);
	check_round_trip(&reply);
	json_decref(reply.result);
	return 0;
}
