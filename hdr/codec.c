/*
 * HdrHistogram V2 encodings and base64. See hdr_codec.h for the byte layout.
 *
 * Decoding is written for hostile input (files from other hosts, fuzzing): a cursor over
 * [pos, end) is checked before every byte, the header's numbers are validated by the same
 * layout calculation the histogram uses, zero runs and counts are checked against
 * counts_len, totals against overflow, and inflation writes into buffers sized by the
 * header (itself bounded by counts_len * 9 bytes), so a zlib bomb cannot grow memory.
 */
#include "hdr/codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/error.h"

#define V2_COOKIE_BASE            0x1c849303u
#define V2_COMPRESSED_COOKIE_BASE 0x1c849304u
#define COOKIE_WORD_SIZE_BITS     0xf0u
#define MAX_ZIGZAG_BYTES          9

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ------------------------------------------------------------------ ZigZag */

static size_t zigzag_put(uint8_t *p, int64_t signed_value)
{
	/* All ones for a negative value, zero otherwise: no implementation-defined signed shift. */
	uint64_t sign = signed_value < 0 ? UINT64_MAX : 0;
	uint64_t v = ((uint64_t)signed_value << 1) ^ sign;
	size_t n = 0;

	/* Eight 7-bit groups with continuation bits; a ninth byte carries the last 8 bits. */
	while (n < 8 && v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Reads one number from [*pos, end); false when the input ends inside it. */
static bool zigzag_get(const uint8_t **pos, const uint8_t *end, int64_t *out)
{
	const uint8_t *p = *pos;
	uint64_t v = 0;

	for (int n = 0; n < MAX_ZIGZAG_BYTES; n++) {
		uint8_t byte;

		if (p >= end)
			return false;
		byte = *p++;
		if (n == 8) {
			v |= (uint64_t)byte << 56;
			break;
		}
		v |= (uint64_t)(byte & 0x7f) << (7 * n);
		if (!(byte & 0x80))
			break;
	}
	*pos = p;
	*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
	return true;
}

/* ---------------------------------------------------------------- encoding */

int agp_hdr_encode(const struct agp_hdr *h, uint8_t **out, size_t *out_len)
{
	struct agp_hdr_iter it;
	int32_t next_index = 0;
	size_t cap = AGP_HDR_V2_HEADER_SIZE, pos = AGP_HDR_V2_HEADER_SIZE;
	uint8_t *buf;
	union {
		double d;
		uint64_t u;
	} ratio = {.d = 1.0};

	/* Each non-empty entry costs at most one zero run and one count. */
	agp_hdr_iter_init(&it, h);
	while (agp_hdr_iter_next(&it))
		cap += 2 * MAX_ZIGZAG_BYTES;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;

	agp_hdr_iter_init(&it, h);
	while (agp_hdr_iter_next(&it)) {
		if (it.index > next_index)
			pos += zigzag_put(buf + pos, -(int64_t)(it.index - next_index));
		pos += zigzag_put(buf + pos, it.count);
		next_index = it.index + 1;
	}
	put_be32(buf, AGP_HDR_V2_ENCODING_COOKIE);
	put_be32(buf + 4, (uint32_t)(pos - AGP_HDR_V2_HEADER_SIZE));
	put_be32(buf + 8, 0); /* normalizing index offset: we never shift */
	put_be32(buf + 12, (uint32_t)h->cfg.significant_figures);
	put_be64(buf + 16, (uint64_t)h->cfg.lowest_discernible_value);
	put_be64(buf + 24, (uint64_t)h->cfg.highest_trackable_value);
	put_be64(buf + 32, ratio.u);
	*out = buf;
	*out_len = pos;
	return 0;
}

int agp_hdr_encode_compressed(const struct agp_hdr *h, int level, uint8_t **out, size_t *out_len)
{
	uint8_t *plain, *buf;
	size_t plain_len;
	uLongf zlen;
	int rc;

	if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION)
		return -EINVAL;
	rc = agp_hdr_encode(h, &plain, &plain_len);
	if (rc)
		return rc;
	zlen = compressBound(plain_len);
	buf = malloc(8 + zlen);
	if (!buf) {
		rc = -ENOMEM;
		goto free_plain;
	}
	if (compress2(buf + 8, &zlen, plain, plain_len, level) != Z_OK || zlen > UINT32_MAX) {
		rc = -EIO;
		goto free_buf;
	}
	put_be32(buf, AGP_HDR_V2_COMPRESSION_COOKIE);
	put_be32(buf + 4, (uint32_t)zlen);
	free(plain);
	*out = buf;
	*out_len = 8 + zlen;
	return 0;

free_buf:
	free(buf);
free_plain:
	free(plain);
	return rc;
}

/* ---------------------------------------------------------------- decoding */

struct v2_header {
	uint32_t payload_len;
	int32_t significant_figures;
	int64_t lowest;
	int64_t highest;
};

static int parse_header(const uint8_t *p, struct agp_hdr_config *cfg, struct v2_header *hd,
                        size_t max_memory, char *err, size_t errlen)
{
	uint32_t cookie = get_be32(p);
	int rc;

	if ((cookie & ~COOKIE_WORD_SIZE_BITS) != V2_COOKIE_BASE)
		return agp__error_into(
		    err, errlen, cookie == AGP_HDR_V2_COMPRESSION_COOKIE ? -EBADMSG : -ENOTSUP,
		    "encoding cookie 0x%08x is not the V2 encoding cookie 0x%08x", cookie,
		    AGP_HDR_V2_ENCODING_COOKIE);
	hd->payload_len = get_be32(p + 4);
	hd->significant_figures = (int32_t)get_be32(p + 12);
	hd->lowest = (int64_t)get_be64(p + 16);
	hd->highest = (int64_t)get_be64(p + 24);
	/* The normalizing index offset and the conversion ratio are not checked: the payload
	 * lists counts in logical index order whatever the writer's storage rotation (Java
	 * encodes getCountAtIndex()), and hdr-histogram-js writes 1 and the int64 1 there. */
	rc = agp_hdr_config_init(hd->lowest, hd->highest, hd->significant_figures, cfg);
	if (rc)
		return agp__error_into(
		    err, errlen, -EBADMSG,
		    "header values lowest %lld, highest %lld, significant figures %d do not "
		    "make a histogram (need lowest >= 1, highest >= 2 * lowest, figures 1..5)",
		    (long long)hd->lowest, (long long)hd->highest, hd->significant_figures);
	if (agp_hdr_memory_size(cfg) > max_memory)
		return agp__error_into(
		    err, errlen, -E2BIG,
		    "histogram of %d counts needs %zu bytes, over the limit of %zu",
		    cfg->counts_len, agp_hdr_memory_size(cfg), max_memory);
	if ((uint64_t)hd->payload_len > (uint64_t)cfg->counts_len * MAX_ZIGZAG_BYTES)
		return agp__error_into(
		    err, errlen, -EBADMSG,
		    "payload length %u exceeds the %d counts' maximum of %llu bytes",
		    hd->payload_len, cfg->counts_len,
		    (unsigned long long)cfg->counts_len * MAX_ZIGZAG_BYTES);
	return 0;
}

static int decode_counts(struct agp_hdr *h, const uint8_t *p, const uint8_t *end, char *err,
                         size_t errlen)
{
	int32_t index = 0;
	int64_t total = 0;

	while (p < end) {
		int64_t v;

		if (!zigzag_get(&p, end, &v))
			return agp__error_into(err, errlen, -EBADMSG,
			                       "payload ends inside a number after count index %d",
			                       index);
		if (v < 0) {
			/* -v zeros; INT64_MIN has no positive counterpart. */
			if (v == INT64_MIN || -v > (int64_t)(h->cfg.counts_len - index))
				return agp__error_into(
				    err, errlen, -EBADMSG,
				    "zero run of %llu at count index %d passes counts length %d",
				    0ull - (unsigned long long)v, index, h->cfg.counts_len);
			index += (int32_t)-v;
			continue;
		}
		if (index >= h->cfg.counts_len)
			return agp__error_into(err, errlen, -EBADMSG,
			                       "count at index %d is beyond counts length %d",
			                       index, h->cfg.counts_len);
		if (__builtin_add_overflow(total, v, &total))
			return agp__error_into(err, errlen, -EBADMSG,
			                       "counts overflow a 64-bit total at index %d", index);
		if (v) { /* the blocks agp__hdr_sums_from_buckets() reads */
			int32_t block = index >> AGP_HDR_BLOCK_SHIFT;
			h->occupied[block >> 6] |= UINT64_C(1) << (block & 63);
		}
		h->counts[index++] = v;
	}
	agp__hdr_sums_from_buckets(h);
	return 0;
}

static int new_histogram(const struct agp_hdr_config *cfg, struct agp_hdr **out, char *err,
                         size_t errlen)
{
	int rc = agp_hdr_create(cfg->lowest_discernible_value, cfg->highest_trackable_value,
	                        cfg->significant_figures, out);

	if (rc)
		return agp__error_into(err, errlen, rc, "cannot allocate a histogram of %d counts",
		                       cfg->counts_len);
	return 0;
}

static int decode_plain(const uint8_t *data, size_t len, size_t max_memory, struct agp_hdr **out,
                        char *err, size_t errlen)
{
	struct agp_hdr_config cfg;
	struct v2_header hd;
	struct agp_hdr *h;
	int rc;

	if (len < AGP_HDR_V2_HEADER_SIZE)
		return agp__error_into(err, errlen, -EBADMSG,
		                       "encoding of %zu bytes is shorter than the %d-byte header",
		                       len, AGP_HDR_V2_HEADER_SIZE);
	rc = parse_header(data, &cfg, &hd, max_memory, err, errlen);
	if (rc)
		return rc;
	if (hd.payload_len != len - AGP_HDR_V2_HEADER_SIZE)
		return agp__error_into(err, errlen, -EBADMSG,
		                       "payload length %u does not match the %zu bytes present",
		                       hd.payload_len, len - AGP_HDR_V2_HEADER_SIZE);
	rc = new_histogram(&cfg, &h, err, errlen);
	if (rc)
		return rc;
	rc = decode_counts(h, data + AGP_HDR_V2_HEADER_SIZE, data + len, err, errlen);
	if (rc) {
		agp_hdr_destroy(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* Inflates exactly want bytes into dst; false (with a message) when the stream ends early or
 * is corrupt. *ended tells whether zlib reached the end of the stream. */
static int inflate_exact(z_stream *zs, uint8_t *dst, size_t want, bool *ended, const char *what,
                         char *err, size_t errlen)
{
	zs->next_out = dst;
	zs->avail_out = (uInt)want;
	while (zs->avail_out > 0) {
		int zrc;

		if (*ended)
			return agp__error_into(err, errlen, -EBADMSG,
			                       "zlib stream ends %u bytes short of the %s",
			                       zs->avail_out, what);
		zrc = inflate(zs, Z_NO_FLUSH);
		if (zrc == Z_STREAM_END)
			*ended = true;
		else if (zrc != Z_OK)
			return agp__error_into(err, errlen, -EBADMSG,
			                       "zlib stream is truncated or corrupt in the %s: %s",
			                       what, zs->msg ? zs->msg : "input ended");
	}
	return 0;
}

static int decode_compressed(const uint8_t *data, size_t len, size_t max_memory,
                             struct agp_hdr **out, char *err, size_t errlen)
{
	uint8_t header[AGP_HDR_V2_HEADER_SIZE];
	struct agp_hdr_config cfg;
	struct v2_header hd;
	struct agp_hdr *h = NULL;
	uint8_t *payload = NULL;
	z_stream zs;
	bool ended = false;
	uint32_t zlen;
	int rc;

	if (len < 8)
		return agp__error_into(err, errlen, -EBADMSG,
		                       "compressed encoding of %zu bytes has no length field", len);
	zlen = get_be32(data + 4);
	if (zlen != len - 8)
		return agp__error_into(
		    err, errlen, -EBADMSG,
		    "compressed length field %u does not match the %zu bytes present", zlen,
		    len - 8);
	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return agp__error_into(err, errlen, -ENOMEM, "cannot start zlib");
	zs.next_in = (Bytef *)(uintptr_t)(data + 8);
	zs.avail_in = zlen;

	rc = inflate_exact(&zs, header, sizeof(header), &ended, "header", err, errlen);
	if (rc)
		goto end_zlib;
	rc = parse_header(header, &cfg, &hd, max_memory, err, errlen);
	if (rc)
		goto end_zlib;
	payload = malloc(hd.payload_len ? hd.payload_len : 1);
	if (!payload) {
		rc = agp__error_into(err, errlen, -ENOMEM, "cannot allocate a %u-byte payload",
		                     hd.payload_len);
		goto end_zlib;
	}
	rc = inflate_exact(&zs, payload, hd.payload_len, &ended, "payload", err, errlen);
	if (rc)
		goto free_payload;
	if (!ended) {
		/* The stream must end where the header says; one probe byte decides. */
		uint8_t probe;
		int zrc;

		zs.next_out = &probe;
		zs.avail_out = 1;
		zrc = inflate(&zs, Z_NO_FLUSH);
		if (zrc != Z_STREAM_END || zs.avail_out == 0) {
			rc = agp__error_into(
			    err, errlen, -EBADMSG,
			    "zlib stream holds more than the %u-byte payload or does not end",
			    hd.payload_len);
			goto free_payload;
		}
	}
	if (zs.avail_in != 0) {
		rc = agp__error_into(err, errlen, -EBADMSG,
		                     "%u bytes follow the end of the zlib stream", zs.avail_in);
		goto free_payload;
	}
	rc = new_histogram(&cfg, &h, err, errlen);
	if (rc)
		goto free_payload;
	rc = decode_counts(h, payload, payload + hd.payload_len, err, errlen);
	if (rc) {
		agp_hdr_destroy(h);
		goto free_payload;
	}
	*out = h;

free_payload:
	free(payload);
end_zlib:
	inflateEnd(&zs);
	return rc;
}

int agp_hdr_decode(const uint8_t *data, size_t len, size_t max_memory, struct agp_hdr **out,
                   char *err, size_t errlen)
{
	uint32_t cookie;

	if (!max_memory)
		max_memory = AGP_HDR_DECODE_DEFAULT_MAX_MEMORY;
	if (len < 4)
		return agp__error_into(err, errlen, -EBADMSG, "encoding of %zu bytes has no cookie",
		                       len);
	cookie = get_be32(data);
	switch (cookie & ~COOKIE_WORD_SIZE_BITS) {
	case V2_COOKIE_BASE:
		return decode_plain(data, len, max_memory, out, err, errlen);
	case V2_COMPRESSED_COOKIE_BASE:
		return decode_compressed(data, len, max_memory, out, err, errlen);
	default:
		return agp__error_into(
		    err, errlen, -EBADMSG,
		    "cookie 0x%08x is neither V2 (0x%08x) nor V2 compressed (0x%08x)", cookie,
		    AGP_HDR_V2_ENCODING_COOKIE, AGP_HDR_V2_COMPRESSION_COOKIE);
	}
}

/* ------------------------------------------------------------------ base64 */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int agp_base64_encode(const uint8_t *data, size_t len, char **out, size_t *out_len)
{
	size_t n = (len + 2) / 3 * 4;
	char *text = malloc(n + 1);
	size_t o = 0;

	if (!text)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t group = (uint32_t)data[i] << 16;
		size_t left = len - i;

		if (left > 1)
			group |= (uint32_t)data[i + 1] << 8;
		if (left > 2)
			group |= data[i + 2];
		text[o++] = b64_alphabet[group >> 18];
		text[o++] = b64_alphabet[(group >> 12) & 63];
		text[o++] = left > 1 ? b64_alphabet[(group >> 6) & 63] : '=';
		text[o++] = left > 2 ? b64_alphabet[group & 63] : '=';
	}
	text[o] = '\0';
	*out = text;
	*out_len = o;
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int agp_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len, char *err,
                      size_t errlen)
{
	size_t padding = 0, o = 0;
	uint8_t *buf;

	if (len % 4)
		return agp__error_into(err, errlen, -EBADMSG,
		                       "base64 text of %zu characters is not a multiple of 4", len);
	if (len && text[len - 1] == '=')
		padding = (len >= 2 && text[len - 2] == '=') ? 2 : 1;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t group = 0;
		size_t last = (i + 4 == len) ? padding : 0;

		for (size_t k = 0; k < 4; k++) {
			int v = b64_value((unsigned char)text[i + k]);

			if (k >= 4 - last)
				v = 0; /* padding position, checked below */
			else if (v < 0) {
				free(buf);
				return agp__error_into(
				    err, errlen, -EBADMSG,
				    "base64 character 0x%02x at offset %zu is not in the alphabet",
				    (unsigned char)text[i + k], i + k);
			}
			group = group << 6 | (uint32_t)v;
		}
		buf[o++] = (uint8_t)(group >> 16);
		if (last < 2)
			buf[o++] = (uint8_t)(group >> 8);
		if (last < 1)
			buf[o++] = (uint8_t)group;
	}
	*out = buf;
	*out_len = o;
	return 0;
}

int agp_hdr_encode_base64(const struct agp_hdr *h, int level, char **out)
{
	uint8_t *bin;
	size_t bin_len, text_len;
	int rc = agp_hdr_encode_compressed(h, level, &bin, &bin_len);

	if (rc)
		return rc;
	rc = agp_base64_encode(bin, bin_len, out, &text_len);
	free(bin);
	return rc;
}

int agp_hdr_decode_base64(const char *text, size_t len, size_t max_memory, struct agp_hdr **out,
                          char *err, size_t errlen)
{
	uint8_t *bin;
	size_t bin_len;
	int rc = agp_base64_decode(text, len, &bin, &bin_len, err, errlen);

	if (rc)
		return rc;
	rc = agp_hdr_decode(bin, bin_len, max_memory, out, err, errlen);
	free(bin);
	return rc;
}
