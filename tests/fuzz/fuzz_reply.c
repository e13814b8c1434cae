/*
 * libFuzzer target for the CLI's side of the control protocol: the reply
 * decoder and the --json printer. Any bytes must give 0 or a negative errno,
 * never a crash, leak or overlong read. A decoded result printed with
 * agp_json_dumps (counts above INT64_MAX as bare digits) must still be JSON
 * that jansson reads, and re-encoded and decoded again it must come back
 * equal.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/json_u64.h"
#include "common/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checked without assert(), which release builds compile out. */
static void check(int condition)
{
	if (!condition)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agp_reply reply;
	char err[256];
	if (agp_protocol_decode_reply(data, size, &reply, err, sizeof(err)) || !reply.ok)
		return 0;
	char *text = agp_json_dumps(reply.result, JSON_ENCODE_ANY | JSON_INDENT(2));
	check(text != NULL);
	json_error_t error;
	/* Integers as reals: jansson's own reader refuses integers beyond 2^63. */
	json_t *read = json_loads(text, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &error);
	check(read != NULL);
	json_decref(read);
	free(text);
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	if (agp_protocol_encode_ok(&frame, reply.result) == 0) {
		struct agp_reply again;
		check(agp_protocol_decode_reply(frame.data + AGP_PROTOCOL_FRAME_HEADER,
		                                frame.size - AGP_PROTOCOL_FRAME_HEADER, &again, err,
		                                sizeof(err)) == 0);
		check(again.ok && json_equal(again.result, reply.result));
		json_decref(again.result);
	}
	msgpack_sbuffer_destroy(&frame);
	json_decref(reply.result);
	return 0;
}
