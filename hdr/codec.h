/*
 * HdrHistogram's binary encodings, so histograms travel to and from the Java, C and JS
 * implementations (.hlog files, hdr-histogram-js, HistogramLogProcessor).
 *
 * V2 encoding (all integers big-endian):
 *   40-byte header: cookie 0x1c849313 (V2 0x1c849303 with word-size bits 0x10), payload
 *   length, normalizing index offset (0), significant figures, lowest discernible value
 *   (int64), highest trackable value (int64), integer-to-double conversion ratio (IEEE-754
 *   bits, 1.0), then the counts from index 0 to the index of the largest recorded value as
 *   ZigZag LEB128 numbers (at most 9 bytes, the ninth holding 8 bits), a negative number -N
 *   standing for N consecutive zero counts.
 * V2 compressed: cookie 0x1c849314, the length of the zlib stream, the zlib stream of the
 *   V2 encoding.
 *
 * Decoding ignores the normalizing index offset and conversion ratio fields: counts are
 * listed in logical order by every writer, and hdr-histogram-js fills both with 1.
 *
 * Decoding trusts nothing: every length, index and count is checked against the input and
 * against the memory limit, inflation stops at the length the header announces, and any
 * inconsistency is an error with a message, never a read outside the input.
 */
#ifndef AGP_COLLECTOR_HDR_CODEC_H
#define AGP_COLLECTOR_HDR_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "hdr/histogram.h"

#define AGP_HDR_V2_ENCODING_COOKIE    0x1c849313u
#define AGP_HDR_V2_COMPRESSION_COOKIE 0x1c849314u
#define AGP_HDR_V2_HEADER_SIZE        40
/* Default bound for a decoded histogram's counts memory (agp_hdr_memory_size()). */
#define AGP_HDR_DECODE_DEFAULT_MAX_MEMORY (64u << 20)

/* V2 encoding into a malloc'ed buffer (*out, *out_len). 0 or -ENOMEM; outputs untouched. */
int agp_hdr_encode(const struct agp_hdr *h, uint8_t **out, size_t *out_len);

/* V2 compressed encoding, zlib level (Z_DEFAULT_COMPRESSION = -1, or 0..9). 0, -EINVAL,
 * -ENOMEM or -EIO (zlib failed). */
int agp_hdr_encode_compressed(const struct agp_hdr *h, int level, uint8_t **out, size_t *out_len);

/*
 * Decodes a V2 or V2-compressed encoding (told apart by the cookie) into a new histogram
 * (free with agp_hdr_destroy()). max_memory bounds agp_hdr_memory_size() of the result
 * (0 = AGP_HDR_DECODE_DEFAULT_MAX_MEMORY). Returns 0, or -EBADMSG (malformed), -ENOTSUP
 * (another encoding version), -E2BIG (over the memory bound),
 * -ENOMEM; a message goes to err (errlen bytes, may be 0). *out untouched on failure.
 * The result's sums come from bucket midpoints (agp_hdr_sums_exact() is false).
 */
int agp_hdr_decode(const uint8_t *data, size_t len, size_t max_memory, struct agp_hdr **out,
                   char *err, size_t errlen);

/* Standard base64 with padding; *out is NUL-terminated, *out_len excludes the NUL. */
int agp_base64_encode(const uint8_t *data, size_t len, char **out, size_t *out_len);
/* Strict decoding: length a multiple of 4, only the alphabet, '=' only as final padding.
 * 0, -EBADMSG (message in err) or -ENOMEM. */
int agp_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len, char *err,
                      size_t errlen);

/* The .hlog form: V2 compressed, then base64. */
int agp_hdr_encode_base64(const struct agp_hdr *h, int level, char **out);
int agp_hdr_decode_base64(const char *text, size_t len, size_t max_memory, struct agp_hdr **out,
                          char *err, size_t errlen);

#endif
