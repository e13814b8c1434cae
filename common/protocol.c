#include "common/protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/json_u64.h"

static const char *const verb_names[AGP_VERB_COUNT] = {
    [AGP_VERB_STATUS] = "status",
    [AGP_VERB_AGENTS] = "agents",
    [AGP_VERB_STATS] = "stats",
    [AGP_VERB_PERCENTILES] = "percentiles",
    [AGP_VERB_BASELINE_ESTABLISH] = "baseline.establish",
    [AGP_VERB_BASELINE_SHOW] = "baseline.show",
    [AGP_VERB_VALIDATE] = "validate",
    [AGP_VERB_EXPORT_CI] = "export.ci",
    [AGP_VERB_REPORT] = "report",
    [AGP_VERB_ALERTS] = "alerts",
    [AGP_VERB_CONFIG_SHOW] = "config.show",
    [AGP_VERB_HLOG] = "hlog",
    [AGP_VERB_COMPARE] = "compare",
};

const char *agp_verb_name(enum agp_verb verb)
{
	return (unsigned)verb < AGP_VERB_COUNT ? verb_names[verb] : NULL;
}

int agp_verb_from_name(const char *name, size_t length, enum agp_verb *verb)
{
	for (unsigned v = 0; v < AGP_VERB_COUNT; v++) {
		if (strlen(verb_names[v]) == length && memcmp(verb_names[v], name, length) == 0) {
			*verb = (enum agp_verb)v;
			return 0;
		}
	}
	return -EINVAL;
}

uint32_t agp_frame_length(const unsigned char header[AGP_PROTOCOL_FRAME_HEADER])
{
	return (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 |
	       (uint32_t)header[3];
}

/* ---- bounded well-formedness walk ---- */

static uint64_t read_be(const unsigned char *p, unsigned bytes)
{
	uint64_t value = 0;
	for (unsigned i = 0; i < bytes; i++)
		value = value << 8 | p[i];
	return value;
}

/* Bytes of the fixed-size body after types 0xca..0xd8 (floats, ints, fixext). */
static const unsigned char fixed_body[] = {
    [0xca - 0xca] = 4, [0xcb - 0xca] = 8, [0xcc - 0xca] = 1, [0xcd - 0xca] = 2, [0xce - 0xca] = 4,
    [0xcf - 0xca] = 8, [0xd0 - 0xca] = 1, [0xd1 - 0xca] = 2, [0xd2 - 0xca] = 4, [0xd3 - 0xca] = 8,
    [0xd4 - 0xca] = 2, [0xd5 - 0xca] = 3, [0xd6 - 0xca] = 5, [0xd7 - 0xca] = 9, [0xd8 - 0xca] = 17,
};

/* Bytes of the big-endian length or count after a type byte (bin, ext, str, array, map); 0: none.
 */
static unsigned length_header(unsigned char type)
{
	switch (type) {
	case 0xc4: /* bin 8 */
	case 0xc7: /* ext 8 */
	case 0xd9: /* str 8 */
		return 1;
	case 0xc5:
	case 0xc8:
	case 0xda:
	case 0xdc: /* array 16 */
	case 0xde: /* map 16 */
		return 2;
	case 0xc6:
	case 0xc9:
	case 0xdb:
	case 0xdd: /* array 32 */
	case 0xdf: /* map 32 */
		return 4;
	default:
		return 0;
	}
}

/*
 * Returns the position after one object starting at p, or NULL. Every
 * element of a container takes at least one byte, so a declared count larger
 * than the bytes left is refused before anything is read or reserved.
 */
static const unsigned char *walk(const unsigned char *p, const unsigned char *end, int depth)
{
	if (p >= end)
		return NULL;
	unsigned char type = *p++;
	size_t left = (size_t)(end - p);
	uint64_t length = 0;   /* bytes of a str/bin/ext body */
	uint64_t elements = 0; /* objects inside a container */
	bool container = false;

	if (type <= 0x7f || type >= 0xe0 || type == 0xc0 || type == 0xc2 || type == 0xc3)
		return p;
	if (type >= 0x80 && type <= 0x8f) {
		elements = 2u * (type & 0x0fu);
		container = true;
	} else if (type >= 0x90 && type <= 0x9f) {
		elements = type & 0x0fu;
		container = true;
	} else if (type >= 0xa0 && type <= 0xbf) {
		length = type & 0x1fu;
	} else if (type >= 0xca && type <= 0xd8) {
		return left < fixed_body[type - 0xca] ? NULL : p + fixed_body[type - 0xca];
	} else {
		unsigned header = length_header(type);
		if (header == 0 || left < header) /* 0xc1 is never used */
			return NULL;
		uint64_t n = read_be(p, header);
		p += header;
		left -= header;
		if (type == 0xdc || type == 0xdd) {
			elements = n;
			container = true;
		} else if (type == 0xde || type == 0xdf) {
			elements = 2 * n;
			container = true;
		} else {
			length = n + (type >= 0xc7 && type <= 0xc9 ? 1 : 0); /* ext: type byte */
		}
	}
	if (!container)
		return length <= left ? p + length : NULL;
	if (elements > left || depth <= 0)
		return NULL;
	for (uint64_t i = 0; i < elements; i++) {
		p = walk(p, end, depth - 1);
		if (!p)
			return NULL;
	}
	return p;
}

int agp_msgpack_check(const unsigned char *data, size_t length, int depth_max)
{
	const unsigned char *end = walk(data, data + length, depth_max);
	return end == data + length ? 0 : -EPROTO;
}

/* ---- json_t <-> msgpack ---- */

int agp_msgpack_pack_json(msgpack_packer *packer, const json_t *value, int depth)
{
	if (!value || depth < 0)
		return -EINVAL;
	int error = 0;
	switch (json_typeof(value)) {
	case JSON_NULL:
		error = msgpack_pack_nil(packer);
		break;
	case JSON_TRUE:
		error = msgpack_pack_true(packer);
		break;
	case JSON_FALSE:
		error = msgpack_pack_false(packer);
		break;
	case JSON_INTEGER:
		error = msgpack_pack_int64(packer, (int64_t)json_integer_value(value));
		break;
	case JSON_REAL:
		error = msgpack_pack_double(packer, json_real_value(value));
		break;
	case JSON_STRING: {
		uint64_t count;
		if (agp_json_u64_carrier(value, &count)) {
			error = msgpack_pack_uint64(packer, count);
			break;
		}
		size_t length = json_string_length(value);
		error = msgpack_pack_str(packer, length) ||
		        msgpack_pack_str_body(packer, json_string_value(value), length);
		break;
	}
	case JSON_ARRAY: {
		size_t count = json_array_size(value);
		if (msgpack_pack_array(packer, count))
			return -ENOMEM;
		for (size_t i = 0; i < count; i++) {
			int result =
			    agp_msgpack_pack_json(packer, json_array_get(value, i), depth - 1);
			if (result)
				return result;
		}
		return 0;
	}
	case JSON_OBJECT: {
		if (msgpack_pack_map(packer, json_object_size(value)))
			return -ENOMEM;
		const char *key;
		size_t key_length;
		json_t *member;
		json_object_keylen_foreach((json_t *)value, key, key_length, member)
		{
			if (msgpack_pack_str(packer, key_length) ||
			    msgpack_pack_str_body(packer, key, key_length))
				return -ENOMEM;
			int result = agp_msgpack_pack_json(packer, member, depth - 1);
			if (result)
				return result;
		}
		return 0;
	}
	}
	return error ? -ENOMEM : 0;
}

static int array_to_json(const msgpack_object_array *array, int depth, json_t **out)
{
	json_t *value = json_array();
	if (!value)
		return -ENOMEM;
	for (uint32_t i = 0; i < array->size; i++) {
		json_t *element;
		int error = agp_msgpack_to_json(&array->ptr[i], depth - 1, &element);
		if (!error && json_array_append_new(value, element))
			error = -ENOMEM;
		if (error) {
			json_decref(value);
			return error;
		}
	}
	*out = value;
	return 0;
}

static int map_to_json(const msgpack_object_map *map, int depth, json_t **out)
{
	json_t *value = json_object();
	if (!value)
		return -ENOMEM;
	for (uint32_t i = 0; i < map->size; i++) {
		const msgpack_object_kv *pair = &map->ptr[i];
		int error = 0;
		json_t *member = NULL;
		/* msgpack-c may leave ptr NULL for an empty string. */
		size_t key_size = pair->key.type == MSGPACK_OBJECT_STR ? pair->key.via.str.size : 0;
		const char *key = key_size ? pair->key.via.str.ptr : "";
		if (pair->key.type != MSGPACK_OBJECT_STR || memchr(key, 0, key_size))
			error = -EPROTO; /* JSON keys are strings, read as C strings */
		else if (json_object_getn(value, key, key_size))
			error = -EPROTO; /* a duplicate key would silently hide a value */
		if (!error)
			error = agp_msgpack_to_json(&pair->val, depth - 1, &member);
		if (!error && json_object_setn_new(value, key, key_size, member))
			error = -EPROTO; /* invalid UTF-8 in the key */
		if (error) {
			json_decref(value);
			return error;
		}
	}
	*out = value;
	return 0;
}

static int string_to_json(const msgpack_object_str *string, json_t **out)
{
	/*
	 * jansson accepts valid UTF-8 only, which is what a string should be. A NUL
	 * inside would make C-string readers see a different (shorter) text than
	 * the one checked, so it is refused.
	 */
	if (string->size && memchr(string->ptr, 0, string->size))
		return -EPROTO;
	/* msgpack-c may leave ptr NULL for an empty string. */
	*out = json_stringn(string->size ? string->ptr : "", string->size);
	return *out ? 0 : -EPROTO;
}

int agp_msgpack_to_json(const msgpack_object *object, int depth, json_t **out)
{
	if (depth < 0)
		return -EPROTO;
	json_t *value = NULL;
	switch (object->type) {
	case MSGPACK_OBJECT_NIL:
		value = json_null();
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		value = json_boolean(object->via.boolean);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		/* Above INT64_MAX, jansson's signed integer cannot hold it: a carrier can. */
		value = agp_json_u64(object->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		value = json_integer((json_int_t)object->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		/* JSON has no NaN or infinity; jansson refuses them. */
		value = json_real(object->via.f64);
		if (!value)
			return -EPROTO;
		break;
	case MSGPACK_OBJECT_STR:
		return string_to_json(&object->via.str, out);
	case MSGPACK_OBJECT_ARRAY:
		return array_to_json(&object->via.array, depth, out);
	case MSGPACK_OBJECT_MAP:
		return map_to_json(&object->via.map, depth, out);
	default: /* bin and ext have no JSON form */
		return -EPROTO;
	}
	if (!value)
		return -ENOMEM;
	*out = value;
	return 0;
}

/* ---- frames ---- */

static int begin_frame(msgpack_sbuffer *out, size_t *start)
{
	*start = out->size;
	static const char placeholder[AGP_PROTOCOL_FRAME_HEADER] = {0};
	return msgpack_sbuffer_write(out, placeholder, sizeof(placeholder)) ? -ENOMEM : 0;
}

static int end_frame(msgpack_sbuffer *out, size_t start, int error, size_t limit)
{
	size_t length = out->size - start - AGP_PROTOCOL_FRAME_HEADER;
	if (!error && length > limit)
		error = -EMSGSIZE;
	if (error) {
		out->size = start; /* drop the partial frame */
		return error;
	}
	unsigned char *header = (unsigned char *)out->data + start;
	header[0] = (unsigned char)(length >> 24);
	header[1] = (unsigned char)(length >> 16);
	header[2] = (unsigned char)(length >> 8);
	header[3] = (unsigned char)length;
	return 0;
}

static int pack_key(msgpack_packer *packer, const char *key)
{
	size_t length = strlen(key);
	return msgpack_pack_str(packer, length) || msgpack_pack_str_body(packer, key, length);
}

int agp_protocol_encode_request(msgpack_sbuffer *out, const char *verb, const json_t *args)
{
	size_t start;
	if (begin_frame(out, &start))
		return -ENOMEM;
	msgpack_packer packer;
	msgpack_packer_init(&packer, out, msgpack_sbuffer_write);
	int error = 0;
	if (msgpack_pack_map(&packer, 3) || pack_key(&packer, "v") ||
	    msgpack_pack_int(&packer, AGP_PROTOCOL_VERSION) || pack_key(&packer, "verb") ||
	    pack_key(&packer, verb) || pack_key(&packer, "args"))
		error = -ENOMEM;
	if (!error && args)
		error = agp_msgpack_pack_json(&packer, args, AGP_PROTOCOL_DEPTH_MAX - 1);
	else if (!error && msgpack_pack_map(&packer, 0))
		error = -ENOMEM;
	return end_frame(out, start, error, AGP_PROTOCOL_REQUEST_MAX);
}

int agp_protocol_encode_ok(msgpack_sbuffer *out, const json_t *result)
{
	size_t start;
	if (begin_frame(out, &start))
		return -ENOMEM;
	msgpack_packer packer;
	msgpack_packer_init(&packer, out, msgpack_sbuffer_write);
	int error = 0;
	if (msgpack_pack_map(&packer, 3) || pack_key(&packer, "v") ||
	    msgpack_pack_int(&packer, AGP_PROTOCOL_VERSION) || pack_key(&packer, "ok") ||
	    msgpack_pack_true(&packer) || pack_key(&packer, "result"))
		error = -ENOMEM;
	if (!error && result)
		error = agp_msgpack_pack_json(&packer, result, AGP_PROTOCOL_DEPTH_MAX - 1);
	else if (!error && msgpack_pack_nil(&packer))
		error = -ENOMEM;
	return end_frame(out, start, error, AGP_PROTOCOL_REPLY_MAX);
}

int agp_protocol_encode_error(msgpack_sbuffer *out, int code, const char *message)
{
	size_t start;
	if (begin_frame(out, &start))
		return -ENOMEM;
	msgpack_packer packer;
	msgpack_packer_init(&packer, out, msgpack_sbuffer_write);
	int error = 0;
	if (msgpack_pack_map(&packer, 4) || pack_key(&packer, "v") ||
	    msgpack_pack_int(&packer, AGP_PROTOCOL_VERSION) || pack_key(&packer, "ok") ||
	    msgpack_pack_false(&packer) || pack_key(&packer, "error") ||
	    pack_key(&packer, message) || pack_key(&packer, "code") ||
	    msgpack_pack_int(&packer, code < 0 ? -code : code))
		error = -ENOMEM;
	return end_frame(out, start, error, AGP_PROTOCOL_REPLY_MAX);
}

/* ---- decoders ---- */

/* Unpacks exactly one checked object from payload into a json object. */
static int decode_map(const void *payload, size_t length, size_t limit, json_t **out, char *err,
                      size_t errlen)
{
	if (length > limit)
		return agp__error_into(err, errlen, -EMSGSIZE,
		                       "message of %zu bytes exceeds the limit of %zu", length,
		                       limit);
	if (length == 0)
		return agp__error_into(err, errlen, -EPROTO, "empty message");
	if (agp_msgpack_check(payload, length, AGP_PROTOCOL_DEPTH_MAX))
		return agp__error_into(err, errlen, -EPROTO,
		                       "malformed or truncated msgpack (or nested deeper than %d)",
		                       AGP_PROTOCOL_DEPTH_MAX);
	msgpack_unpacked unpacked;
	msgpack_unpacked_init(&unpacked);
	size_t offset = 0;
	int error = 0;
	msgpack_unpack_return result = msgpack_unpack_next(&unpacked, payload, length, &offset);
	if (result != MSGPACK_UNPACK_SUCCESS || offset != length)
		error = agp__error_into(err, errlen, -EPROTO, "malformed msgpack");
	else if (unpacked.data.type != MSGPACK_OBJECT_MAP)
		error = agp__error_into(err, errlen, -EPROTO, "the message is not a map");
	json_t *map = NULL;
	if (!error && (error = agp_msgpack_to_json(&unpacked.data, AGP_PROTOCOL_DEPTH_MAX, &map)))
		error = agp__error_into(
		    err, errlen, error == -ENOMEM ? -ENOMEM : -EPROTO,
		    "the message holds a value JSON cannot carry (non-string key, duplicate "
		    "key, invalid UTF-8, binary)");
	msgpack_unpacked_destroy(&unpacked);
	if (error)
		return error;
	json_t *version = json_object_get(map, "v");
	if (!json_is_integer(version)) {
		json_decref(map);
		return agp__error_into(err, errlen, -EPROTO,
		                       "the message has no integer protocol version \"v\"");
	}
	if (json_integer_value(version) != AGP_PROTOCOL_VERSION) {
		long long v = (long long)json_integer_value(version);
		json_decref(map);
		return agp__error_into(
		    err, errlen, -EPROTONOSUPPORT,
		    "protocol version %lld is not supported (this side speaks %d)", v,
		    AGP_PROTOCOL_VERSION);
	}
	*out = map;
	return 0;
}

int agp_protocol_decode_request(const void *payload, size_t length, struct agp_request *out,
                                char *err, size_t errlen)
{
	json_t *map;
	int error = decode_map(payload, length, AGP_PROTOCOL_REQUEST_MAX, &map, err, errlen);
	if (error)
		return error;
	const char *key;
	json_t *value;
	json_object_foreach(map, key, value)
	{
		if (strcmp(key, "v") && strcmp(key, "verb") && strcmp(key, "args")) {
			error = agp__error_into(err, errlen, -EPROTO,
			                        "unknown request key \"%.64s\"", key);
			goto out;
		}
	}
	json_t *verb_value = json_object_get(map, "verb");
	if (!json_is_string(verb_value)) {
		error = agp__error_into(err, errlen, -EPROTO, "the request has no string \"verb\"");
		goto out;
	}
	enum agp_verb verb;
	if (agp_verb_from_name(json_string_value(verb_value), json_string_length(verb_value),
	                       &verb)) {
		error = agp__error_into(err, errlen, -EOPNOTSUPP, "unknown verb \"%.64s\"",
		                        json_string_value(verb_value));
		goto out;
	}
	json_t *args = json_object_get(map, "args");
	if (args && !json_is_object(args)) {
		error = agp__error_into(err, errlen, -EPROTO, "\"args\" of verb %s is not a map",
		                        agp_verb_name(verb));
		goto out;
	}
	args = args ? json_incref(args) : json_object();
	if (!args) {
		error = -ENOMEM;
		goto out;
	}
	out->verb = verb;
	out->args = args;
out:
	json_decref(map);
	return error;
}

int agp_protocol_decode_reply(const void *payload, size_t length, struct agp_reply *out, char *err,
                              size_t errlen)
{
	json_t *map;
	int error = decode_map(payload, length, AGP_PROTOCOL_REPLY_MAX, &map, err, errlen);
	if (error)
		return error;
	json_t *ok = json_object_get(map, "ok");
	if (!json_is_boolean(ok)) {
		json_decref(map);
		return agp__error_into(err, errlen, -EPROTO, "the reply has no boolean \"ok\"");
	}
	struct agp_reply reply = {.ok = json_is_true(ok)};
	if (reply.ok) {
		json_t *result = json_object_get(map, "result");
		reply.result = result ? json_incref(result) : json_null();
	} else {
		json_t *message = json_object_get(map, "error");
		json_t *code = json_object_get(map, "code");
		snprintf(reply.error, sizeof(reply.error), "%s",
		         json_is_string(message) ? json_string_value(message) : "(no message)");
		/* A positive errno, as the encoder sends it; anything else: a broken peer. */
		json_int_t number = json_is_integer(code) ? json_integer_value(code) : 0;
		reply.code = number > 0 && number < 4096 ? (int)number : EPROTO;
	}
	json_decref(map);
	*out = reply;
	return 0;
}
