/*
 * libFuzzer target for the reply decoder the command line runs on whatever
 * comes back over the control socket: any bytes give 0 or a negative errno,
 * never a crash, leak or overlong read. A decoded reply is encoded again and
 * decoded once more, and must come back equal.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct agp_reply *reply)
{
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	int encoded = reply->ok ? agp_protocol_encode_ok(&frame, reply->result)
	                        : agp_protocol_encode_error(&frame, reply->code, reply->error);
	if (encoded == 0) {
		struct agp_reply again;
		char err[256];
		int decoded = agp_protocol_decode_reply(frame.data + AGP_PROTOCOL_FRAME_HEADER,
		                                        frame.size - AGP_PROTOCOL_FRAME_HEADER,
		                                        &again, err, sizeof(err));
		/* Checked without assert(), which release builds compile out. */
		if (decoded != 0 || again.ok != reply->ok)
			abort();
		if (reply->ok ? !json_equal(again.result, reply->result)
		              : again.code != reply->code || strcmp(again.error, reply->error) != 0)
			abort();
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
	check_round_trip(&reply);
	json_decref(reply.result);
	return 0;
}
