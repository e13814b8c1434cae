/*
 * The control protocol between agentperfd and its clients (the agentperf
 * command line), over a Unix stream socket.
 *
 * A frame is a 4-byte big-endian payload length followed by the payload, one
 * msgpack map. Every map carries the protocol version "v":
 *   request  {"v": 1, "verb": "stats", "args": {...}}
 *   reply    {"v": 1, "ok": true, "result": ...}
 *            {"v": 1, "ok": false, "error": "text", "code": N}   (N: a positive errno)
 *
 * Values travel as generic msgpack (maps with string keys, arrays, strings,
 * integers, floats, booleans, nil), converted to and from jansson's json_t,
 * so the analyses' JSON results cross the socket unchanged. Counts above
 * INT64_MAX, which jansson's signed integers cannot hold, travel as msgpack
 * unsigned integers and are carriers in json_t (common/json_u64.h).
 *
 * The request decoder trusts nothing: before msgpack-c sees the bytes, a
 * bounded walk checks that the payload is exactly one well-formed object of
 * limited depth whose every declared length fits in the bytes that remain,
 * so a five-byte frame cannot make the unpacker reserve gigabytes. Then the
 * shape is checked: a map with string keys, "v" == 1, a known "verb", "args"
 * a map (or absent), and no other key.
 */
#ifndef AGP_COLLECTOR_PROTOCOL_H
#define AGP_COLLECTOR_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#define AGP_PROTOCOL_VERSION 1
/* Largest request payload the daemon reads; a larger declared length is refused unread. */
#define AGP_PROTOCOL_REQUEST_MAX (1u << 20)
/* Largest reply payload a client accepts (reports with many series are big). */
#define AGP_PROTOCOL_REPLY_MAX (64u << 20)
/* Deepest nesting of maps and arrays accepted in either direction. */
#define AGP_PROTOCOL_DEPTH_MAX    32
#define AGP_PROTOCOL_FRAME_HEADER 4

enum agp_verb {
	AGP_VERB_STATUS,
	AGP_VERB_AGENTS,
	AGP_VERB_STATS,
	AGP_VERB_PERCENTILES,
	AGP_VERB_BASELINE_ESTABLISH,
	AGP_VERB_BASELINE_SHOW,
	AGP_VERB_VALIDATE,
	AGP_VERB_EXPORT_CI,
	AGP_VERB_REPORT,
	AGP_VERB_ALERTS,
	AGP_VERB_CONFIG_SHOW,
	AGP_VERB_HLOG,
	AGP_VERB_COMPARE,
	AGP_VERB_COUNT,
};

/* "status", "baseline.establish", ...; NULL out of range. */
const char *agp_verb_name(enum agp_verb verb);
/* The verb of a name; -EINVAL when unknown (verb untouched). */
int agp_verb_from_name(const char *name, size_t length, enum agp_verb *verb);

struct agp_request {
	enum agp_verb verb;
	json_t *args; /* an object, never NULL after a successful decode; the caller decrefs */
};

struct agp_reply {
	bool ok;
	json_t *result; /* ok: the result (may be JSON null); the caller decrefs */
	int code;       /* !ok: a positive errno */
	char error[512];
};

/* Payload length of a frame header. */
uint32_t agp_frame_length(const unsigned char header[AGP_PROTOCOL_FRAME_HEADER]);

/*
 * Decodes a request payload (without its frame header). 0, or a negative
 * errno with the reason in err: -EMSGSIZE oversized, -EPROTO malformed or
 * truncated or of the wrong shape, -EPROTONOSUPPORT another version,
 * -EOPNOTSUPP an unknown verb. out untouched on failure.
 */
int agp_protocol_decode_request(const void *payload, size_t length, struct agp_request *out,
                                char *err, size_t errlen);

/* Decodes a reply payload; same errors as the request decoder (without the verb). */
int agp_protocol_decode_reply(const void *payload, size_t length, struct agp_reply *out, char *err,
                              size_t errlen);

/*
 * Encoders append one whole frame (header and payload) to out, which the
 * caller initialised with msgpack_sbuffer_init. args NULL sends {}.
 * 0, -EINVAL for a value msgpack cannot carry, -ENOMEM, -EMSGSIZE.
 */
int agp_protocol_encode_request(msgpack_sbuffer *out, const char *verb, const json_t *args);
int agp_protocol_encode_ok(msgpack_sbuffer *out, const json_t *result);
int agp_protocol_encode_error(msgpack_sbuffer *out, int code, const char *message);

/* json_t -> msgpack and back (depth-limited); 0 or a negative errno. */
int agp_msgpack_pack_json(msgpack_packer *packer, const json_t *value, int depth);
int agp_msgpack_to_json(const msgpack_object *object, int depth, json_t **out);

/*
 * Checks that data holds exactly one well-formed msgpack object nested at
 * most depth_max deep, with every length within the data. 0 or -EPROTO.
 */
int agp_msgpack_check(const unsigned char *data, size_t length, int depth_max);

#endif
