/*
 * libFuzzer target for the control protocol's request decoder: any bytes
 * must give 0 or a negative errno, never a crash, leak or overlong read.
 * A decoded request is re-encoded and decoded again, and must come back equal.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agp_request request;
	char err[256];
	if (agp_protocol_decode_request(data, size, &request, err, sizeof(err)))
		return 0;
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	int encoded =
	    agp_protocol_encode_request(&frame, agp_verb_name(request.verb), request.args);
	if (encoded == 0) {
		struct agp_request again;
		int decoded = agp_protocol_decode_request(frame.data + 4, frame.size - 4, &again,
		                                          err, sizeof(err));
		/* Checked without assert(), which release builds compile out. */
		if (decoded != 0 || again.verb != request.verb ||
		    !json_equal(again.args, request.args))
			abort();
		json_decref(again.args);
	}
	msgpack_sbuffer_destroy(&frame);
	json_decref(request.args);
	return 0;
}
