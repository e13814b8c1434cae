/*
 * HdrHistogram interchange: the shared vector (V2 compressed, base64) decodes to the counts
 * of its input, our encodings round-trip and match the reference's bytes, the .hgrm table is
 * byte-identical to the reference's, malformed encodings are refused with a message, and
 * .hlog files read back what was written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hdr/codec.h"
#include "hdr/histogram.h"
#include "hdr/interval_log.h"
#include "hdr/hgrm.h"

#define HOUR_NS INT64_C(3600000000000)

static char *read_file(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", AGP_TEST_VECTORS, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct agp_hdr *vector_histogram(void)
{
	struct agp_hdr *h = NULL;

	assert_int_equal(agp_hdr_create(1, HOUR_NS, 3, &h), 0);
	for (int64_t i = 1; i <= 10000; i++)
		agp_hdr_record(h, i * 1000);
	return h;
}

static struct agp_hdr *random_histogram(int64_t lowest, int64_t highest, int figures, int n,
                                        unsigned seed)
{
	struct agp_hdr *h = NULL;

	srand(seed);
	assert_int_equal(agp_hdr_create(lowest, highest, figures, &h), 0);
	for (int i = 0; i < n; i++) {
		double u = (rand() + 1.0) / (RAND_MAX + 2.0);
		agp_hdr_record_n(h, (int64_t)(exp(8 + 8 * u * u)), 1 + rand() % 3);
	}
	agp_hdr_record_n(h, 0, 2);                               /* index 0 */
	agp_hdr_record_n(h, INT64_C(1) << 40, INT64_C(1) << 40); /* a large count */
	return h;
}

static void assert_same_counts(const struct agp_hdr *a, const struct agp_hdr *b)
{
	assert_int_equal(a->cfg.lowest_discernible_value, b->cfg.lowest_discernible_value);
	assert_int_equal(a->cfg.highest_trackable_value, b->cfg.highest_trackable_value);
	assert_int_equal(a->cfg.significant_figures, b->cfg.significant_figures);
	assert_int_equal(a->cfg.counts_len, b->cfg.counts_len);
	assert_memory_equal(a->counts, b->counts, (size_t)a->cfg.counts_len * sizeof(int64_t));
	assert_memory_equal(a->block_counts, b->block_counts, (size_t)a->cfg.block_count * 8);
	assert_memory_equal(a->occupied, b->occupied, (size_t)a->cfg.bitmap_words * 8);
	assert_int_equal(agp_hdr_count(a), agp_hdr_count(b));
	assert_int_equal(agp_hdr_max_equivalent(a), agp_hdr_max_equivalent(b));
	assert_int_equal(agp_hdr_min_equivalent(a), agp_hdr_min_equivalent(b));
	for (int p = 0; p <= 100; p += 5)
		assert_int_equal(agp_hdr_value_at_percentile(a, p),
		                 agp_hdr_value_at_percentile(b, p));
}

static void test_vector_decode(void **state)
{
	size_t len;
	char *text = read_file("hdr_i1000_n10000_v2.b64", &len);
	struct agp_hdr *decoded = NULL, *built = vector_histogram();
	char err[256] = "";
	(void)state;

	assert_int_equal(len, 296);
	assert_int_equal(agp_hdr_decode_base64(text, len, 0, &decoded, err, sizeof(err)), 0);
	assert_int_equal(decoded->cfg.bucket_count, 32);
	assert_int_equal(decoded->cfg.sub_bucket_count, 2048);
	assert_int_equal(decoded->cfg.counts_len, 33792);
	assert_same_counts(decoded, built);
	assert_int_equal(agp_hdr_count(decoded), 10000);
	assert_int_equal(agp_hdr_value_at_percentile(decoded, 99.9), 9994239);
	assert_int_equal(agp_hdr_max(decoded), 10002431);
	assert_false(agp_hdr_sums_exact(decoded));
	assert_true(fabs(agp_hdr_mean(decoded) - 5000504.758) < 0.0005);
	agp_hdr_destroy(decoded);
	agp_hdr_destroy(built);
	free(text);
}

/* Our V2 bytes equal the reference's: inflate the vector and compare. */
static void test_vector_bytes(void **state)
{
	size_t len, bin_len, plain_len;
	char *text = read_file("hdr_i1000_n10000_v2.b64", &len);
	uint8_t *bin, *plain, inflated[8192];
	uLongf inflated_len = sizeof(inflated);
	struct agp_hdr *built = vector_histogram();
	char *ours;
	(void)state;

	assert_int_equal(agp_base64_decode(text, len, &bin, &bin_len, NULL, 0), 0);
	assert_int_equal(bin_len, 8 + 214);
	assert_int_equal(uncompress(inflated, &inflated_len, bin + 8, 214), Z_OK);
	assert_int_equal(inflated_len, 5398);
	assert_int_equal(agp_hdr_encode(built, &plain, &plain_len), 0);
	assert_int_equal(plain_len, 5398);
	assert_memory_equal(plain, inflated, plain_len);
	/* With the generator's zlib (1.2.13) and its default level the text is identical. */
	assert_int_equal(agp_hdr_encode_base64(built, Z_DEFAULT_COMPRESSION, &ours), 0);
	if (strcmp(zlibVersion(), "1.2.13") == 0)
		assert_string_equal(ours, text);
	free(ours);
	free(plain);
	free(bin);
	free(text);
	agp_hdr_destroy(built);
}

static void test_round_trip(void **state)
{
	static const struct {
		int64_t lowest, highest;
		int figures;
	} layouts[] = {
	    {1, HOUR_NS, 3}, {1, HOUR_NS, 2}, {1000, INT64_C(1) << 50, 4}, {1, 1 << 20, 1}};
	(void)state;

	for (size_t k = 0; k < sizeof(layouts) / sizeof(layouts[0]); k++) {
		struct agp_hdr *h = random_histogram(layouts[k].lowest, layouts[k].highest,
		                                     layouts[k].figures, 20000, (unsigned)k + 1);
		struct agp_hdr *back = NULL, *empty = NULL, *empty_back = NULL;
		uint8_t *bin;
		size_t bin_len;
		char *text;
		char err[256];

		assert_int_equal(agp_hdr_encode(h, &bin, &bin_len), 0);
		assert_int_equal(agp_hdr_decode(bin, bin_len, 0, &back, err, sizeof(err)), 0);
		assert_same_counts(h, back);
		agp_hdr_destroy(back);
		free(bin);

		assert_int_equal(agp_hdr_encode_compressed(h, 9, &bin, &bin_len), 0);
		assert_int_equal(agp_hdr_decode(bin, bin_len, 0, &back, err, sizeof(err)), 0);
		assert_same_counts(h, back);
		agp_hdr_destroy(back);
		free(bin);

		assert_int_equal(agp_hdr_encode_base64(h, 1, &text), 0);
		assert_int_equal(
		    agp_hdr_decode_base64(text, strlen(text), 0, &back, err, sizeof(err)), 0);
		assert_same_counts(h, back);
		agp_hdr_destroy(back);
		free(text);

		/* An empty histogram has a header and no payload. */
		assert_int_equal(agp_hdr_create(layouts[k].lowest, layouts[k].highest,
		                                layouts[k].figures, &empty),
		                 0);
		assert_int_equal(agp_hdr_encode_base64(empty, -1, &text), 0);
		assert_int_equal(
		    agp_hdr_decode_base64(text, strlen(text), 0, &empty_back, err, sizeof(err)), 0);
		assert_same_counts(empty, empty_back);
		free(text);
		agp_hdr_destroy(empty);
		agp_hdr_destroy(empty_back);
		agp_hdr_destroy(h);
	}
}

static char *print_to_string(const struct agp_hdr *h, int ticks, double scale, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*rc = agp_hdr_print_percentiles(h, f, ticks, scale);
	fclose(f);
	return buf;
}

static void test_hgrm_identical(void **state)
{
	size_t len;
	char *expected = read_file("hdr_i1000_n10000.hgrm", &len);
	char *text = read_file("hdr_i1000_n10000_v2.b64", &len);
	struct agp_hdr *built = vector_histogram(), *decoded = NULL;
	char *out;
	int rc;
	(void)state;

	out = print_to_string(built, 5, 1.0, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, expected);
	free(out);

	assert_int_equal(agp_hdr_decode_base64(text, strlen(text), 0, &decoded, NULL, 0), 0);
	out = print_to_string(decoded, 5, 1.0, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, expected);
	free(out);

	/* Milliseconds: the first value 1000 ns prints as 0.001, the max as 10.002. */
	out = print_to_string(built, 5, 1e6, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\n       0.001     0.000000            1         1.00\n"));
	assert_non_null(strstr(out, "#[Max     =       10.002, Total count    =        10000]\n"));
	free(out);
	out = print_to_string(built, 5, 0.0, &rc);
	assert_int_equal(rc, -EINVAL);
	free(out);

	agp_hdr_destroy(decoded);
	agp_hdr_destroy(built);
	free(expected);
	free(text);
}

static void expect_refused(const uint8_t *bin, size_t len, size_t max_memory, int want,
                           const char *needle)
{
	struct agp_hdr *h = (struct agp_hdr *)0x1; /* must stay untouched */
	char err[256] = "";
	int rc = agp_hdr_decode(bin, len, max_memory, &h, err, sizeof(err));

	if (rc != want)
		fail_msg("decode of %zu bytes returned %d (%s), expected %d (%s)", len, rc, err,
		         want, needle ? needle : "");
	assert_ptr_equal(h, (struct agp_hdr *)0x1);
	if (needle && !strstr(err, needle))
		fail_msg("message '%s' does not contain '%s'", err, needle);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* A V2 header for 1..1h, 3 figures, with the given payload appended. */
static size_t plain_with(uint8_t *buf, const uint8_t *payload, size_t n)
{
	put32(buf, AGP_HDR_V2_ENCODING_COOKIE);
	put32(buf + 4, (uint32_t)n);
	put32(buf + 8, 0);
	put32(buf + 12, 3);
	put64(buf + 16, 1);
	put64(buf + 24, (uint64_t)HOUR_NS);
	put64(buf + 32, 0x3ff0000000000000ull);
	memcpy(buf + 40, payload, n);
	return 40 + n;
}

static size_t compressed_of(uint8_t *out, size_t cap, const uint8_t *plain, size_t n)
{
	uLongf zlen = cap - 8;

	assert_int_equal(compress(out + 8, &zlen, plain, n), Z_OK);
	put32(out, AGP_HDR_V2_COMPRESSION_COOKIE);
	put32(out + 4, (uint32_t)zlen);
	return 8 + zlen;
}

static void test_malformed(void **state)
{
	size_t len, bin_len;
	char *text = read_file("hdr_i1000_n10000_v2.b64", &len);
	uint8_t *bin, buf[4096], z[4096], *bomb, *bomb_z;
	struct agp_hdr *h = NULL;
	char err[256];
	(void)state;

	assert_int_equal(agp_base64_decode(text, len, &bin, &bin_len, NULL, 0), 0);
	/* Every truncation of the compressed vector is refused. */
	for (size_t n = 0; n < bin_len; n++)
		expect_refused(bin, n, 0, -EBADMSG, NULL);
	/* Bad cookies. */
	memcpy(buf, bin, bin_len);
	buf[3] ^= 0x01; /* 0x1c849315: not a known cookie */
	expect_refused(buf, bin_len, 0, -EBADMSG, "cookie");
	put32(buf, 0x1c849301); /* V1 */
	expect_refused(buf, bin_len, 0, -EBADMSG, "neither V2");
	/* Compressed length field off by one either way, and a trailing byte. */
	memcpy(buf, bin, bin_len);
	put32(buf + 4, 215);
	expect_refused(buf, bin_len, 0, -EBADMSG, "length field 215");
	put32(buf + 4, 213);
	expect_refused(buf, bin_len, 0, -EBADMSG, "length field 213");
	buf[bin_len] = 0;
	put32(buf + 4, 215);
	expect_refused(buf, bin_len + 1, 0, -EBADMSG, "follow the end");
	/* A corrupt zlib byte. */
	memcpy(buf, bin, bin_len);
	buf[8 + 100] ^= 0xff;
	expect_refused(buf, bin_len, 0, -EBADMSG, NULL);

	/* Plain encodings: payload length disagreeing with the bytes present. */
	{
		const uint8_t one[] = {0x02}; /* count 1 at index 0 */
		size_t n = plain_with(buf, one, 1);

		assert_int_equal(agp_hdr_decode(buf, n, 0, &h, err, sizeof(err)), 0);
		assert_int_equal(agp_hdr_count(h), 1);
		agp_hdr_destroy(h);
		put32(buf + 4, 2);
		expect_refused(buf, n, 0, -EBADMSG, "payload length 2");
		put32(buf + 4, 0xffffffffu);
		expect_refused(buf, n, 0, -EBADMSG, "payload length");
	}
	/* A number cut in the middle. */
	{
		const uint8_t cut[] = {0x82};
		expect_refused(buf, plain_with(buf, cut, 1), 0, -EBADMSG, "inside a number");
	}
	/* Counts beyond counts_len: a zero run of 33792, then a count. */
	{
		uint8_t p[16];
		size_t n = 0;
		uint64_t zz = ((uint64_t)33792 << 1) - 1; /* ZigZag of -33792 */
		while (zz >= 0x80) {
			p[n++] = (uint8_t)(zz | 0x80);
			zz >>= 7;
		}
		p[n++] = (uint8_t)zz;
		p[n++] = 0x02;
		expect_refused(buf, plain_with(buf, p, n), 0, -EBADMSG, "beyond counts length");
		/* A run that alone passes the end. */
		p[0] = 0x81, p[1] = 0x90, p[2] = 0x04; /* ZigZag of -33793 = 67585 */
		expect_refused(buf, plain_with(buf, p, 3), 0, -EBADMSG, "zero run");
	}
	/* INT64_MIN as a zero run, and counts whose total overflows. */
	{
		uint8_t p[18];
		memset(p, 0xff, 8);
		p[8] = 0xff; /* ZigZag all ones = INT64_MIN */
		expect_refused(buf, plain_with(buf, p, 9), 0, -EBADMSG, "zero run");
		memset(p, 0xff, 8);
		p[8] = 0x7f; /* ZigZag 2^63-2 -> INT64_MAX (even) */
		p[7] = 0xff;
		memcpy(p + 9, p, 9);
		expect_refused(buf, plain_with(buf, p, 18), 0, -EBADMSG, NULL);
	}
	/* Header values that make no histogram, or too large a one. */
	{
		const uint8_t one[] = {0x02};
		size_t n = plain_with(buf, one, 1);
		put64(buf + 16, 0);
		expect_refused(buf, n, 0, -EBADMSG, "lowest 0");
		plain_with(buf, one, 1);
		put32(buf + 12, 9);
		expect_refused(buf, n, 0, -EBADMSG, "significant figures 9");
		plain_with(buf, one, 1);
		put64(buf + 24, (uint64_t)INT64_MAX);
		put32(buf + 12, 5);
		expect_refused(buf, n, 1 << 20, -E2BIG, "over the limit");
		/* The normalizing offset (hdr-histogram-js writes 1) and the conversion ratio do
		 * not change the logical counts. */
		plain_with(buf, one, 1);
		put32(buf + 8, 1);
		put64(buf + 32, 1);
		assert_int_equal(agp_hdr_decode(buf, n, 0, &h, err, sizeof(err)), 0);
		assert_int_equal(agp_hdr_count_at_value(h, 0), 1);
		agp_hdr_destroy(h);
	}
	/* zlib bomb: a header promising 1 byte, a stream inflating to 8 MiB. */
	{
		size_t big = 8u << 20; /* far beyond the 33792 * 9 bytes any payload may have */
		uLongf zlen = compressBound(big);

		bomb = calloc(1, big);
		bomb_z = malloc(8 + zlen);
		plain_with(bomb, (const uint8_t *)"\x02", 1);
		assert_int_equal(compress(bomb_z + 8, &zlen, bomb, big), Z_OK);
		put32(bomb_z, AGP_HDR_V2_COMPRESSION_COOKIE);
		put32(bomb_z + 4, (uint32_t)zlen);
		expect_refused(bomb_z, 8 + zlen, 0, -EBADMSG, "more than the 1-byte payload");
		/* Promising the maximum for its layout (33792 * 9) is still bounded by it. */
		put32(bomb + 4, 33792 * 9);
		zlen = compressBound(big);
		assert_int_equal(compress(bomb_z + 8, &zlen, bomb, big), Z_OK);
		put32(bomb_z + 4, (uint32_t)zlen);
		expect_refused(bomb_z, 8 + zlen, 0, -EBADMSG, NULL);
		put32(bomb + 4, 33792 * 9 + 1);
		zlen = compressBound(big);
		assert_int_equal(compress(bomb_z + 8, &zlen, bomb, big), Z_OK);
		put32(bomb_z + 4, (uint32_t)zlen);
		expect_refused(bomb_z, 8 + zlen, 0, -EBADMSG, "exceeds");
		free(bomb);
		free(bomb_z);
	}
	/* A compressed stream ending before the payload it promises. */
	{
		const uint8_t one[] = {0x02};
		size_t n = plain_with(buf, one, 1);
		put32(buf + 4, 5);
		expect_refused(z, compressed_of(z, sizeof(z), buf, n), 0, -EBADMSG,
		               "short of the payload");
		/* A compressed payload inside a compressed one is not a V2 encoding. */
		expect_refused(z, compressed_of(z, sizeof(z), bin, bin_len), 0, -EBADMSG, "cookie");
	}
	/* Random corruption never crashes (run under ASan/UBSan in the sanitizer build). */
	srand(7);
	for (int i = 0; i < 3000; i++) {
		memcpy(buf, bin, bin_len);
		for (int k = 0; k < 1 + i % 4; k++)
			buf[rand() % bin_len] ^= (uint8_t)(1 + rand() % 255);
		if (agp_hdr_decode(buf, bin_len, 0, &h, err, sizeof(err)) == 0)
			agp_hdr_destroy(h);
	}
	free(bin);
	free(text);
}

static void test_base64(void **state)
{
	static const char *cases[][2] = {{"", ""},
	                                 {"f", "Zg=="},
	                                 {"fo", "Zm8="},
	                                 {"foo", "Zm9v"},
	                                 {"foob", "Zm9vYg=="},
	                                 {"fooba", "Zm9vYmE="},
	                                 {"foobar", "Zm9vYmFy"}};
	char err[128];
	uint8_t *bin;
	size_t n;
	char *text;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    agp_base64_encode((const uint8_t *)cases[i][0], strlen(cases[i][0]), &text, &n),
		    0);
		assert_string_equal(text, cases[i][1]);
		free(text);
		assert_int_equal(
		    agp_base64_decode(cases[i][1], strlen(cases[i][1]), &bin, &n, err, sizeof(err)),
		    0);
		assert_int_equal(n, strlen(cases[i][0]));
		assert_memory_equal(bin, cases[i][0], n);
		free(bin);
	}
	assert_int_equal(agp_base64_decode("Zm9", 3, &bin, &n, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "multiple of 4"));
	assert_int_equal(agp_base64_decode("Zm9v\n", 5, &bin, &n, err, sizeof(err)), -EBADMSG);
	assert_int_equal(agp_base64_decode("Zm=v", 4, &bin, &n, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "offset 2"));
	assert_int_equal(agp_base64_decode("Z===", 4, &bin, &n, err, sizeof(err)), -EBADMSG);
	assert_int_equal(agp_base64_decode("Zg==Zg==", 8, &bin, &n, err, sizeof(err)), -EBADMSG);
}

static void test_hlog_round_trip(void **state)
{
	struct agp_hdr *a = vector_histogram(), *b = random_histogram(1, HOUR_NS, 3, 5000, 3);
	struct agp_hlog_reader r;
	struct agp_hlog_entry e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	(void)state;

	assert_int_equal(agp_hlog_write_header(f, "[agentperf test]", 1764463130123, 1764463130000),
	                 0);
	assert_int_equal(agp_hlog_write_interval(f, "code-reviewer.coordination_overhead", 0.0,
	                                         10.0, a, AGP_HLOG_NS_TO_MS),
	                 0);
	assert_int_equal(agp_hlog_write_interval(f, NULL, 10.0, 10.5, b, AGP_HLOG_NS_TO_MS), 0);
	assert_int_equal(agp_hlog_write_interval(f, "bad,tag", 0, 1, a, 1e6), -EINVAL);
	assert_int_equal(agp_hlog_write_interval(f, "bad tag", 0, 1, a, 1e6), -EINVAL);
	assert_int_equal(agp_hlog_write_interval(f, "t", 0, 1, a, 0), -EINVAL);
	fclose(f);

	assert_non_null(strstr(buf,
	                       "#[Histogram log format version 1.3]\n#[agentperf test]\n"
	                       "#[StartTime: 1764463130.123 (seconds since epoch), Sun Nov 30 "
	                       "00:38:50 UTC 2025]\n#[BaseTime: 1764463130.000 (seconds since "
	                       "epoch)]\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
	                       "\"Interval_Compressed_Histogram\"\n"));
	assert_non_null(
	    strstr(buf, "\nTag=code-reviewer.coordination_overhead,0.000,10.000,10.002,HISTF"));
	assert_non_null(strstr(buf, "\n10.000,10.500,"));

	f = fmemopen(buf, len, "r");
	agp_hlog_reader_init(&r, f, 0);
	assert_int_equal(agp_hlog_reader_next(&r, &e), 1);
	assert_true(e.has_tag);
	assert_string_equal(e.tag, "code-reviewer.coordination_overhead");
	assert_true(e.start_s == 0.0 && e.length_s == 10.0 && e.max == 10.002);
	assert_same_counts(e.h, a);
	assert_true(r.has_base_time && r.base_time_s == 1764463130.0);
	assert_true(r.has_start_time && r.start_time_s == 1764463130.123);
	assert_true(agp_hlog_absolute_start(&r, &e) == 1764463130.0);
	agp_hdr_destroy(e.h);
	assert_int_equal(agp_hlog_reader_next(&r, &e), 1);
	assert_false(e.has_tag);
	assert_true(e.start_s == 10.0 && e.length_s == 10.5);
	assert_same_counts(e.h, b);
	agp_hdr_destroy(e.h);
	assert_int_equal(agp_hlog_reader_next(&r, &e), 0);
	agp_hlog_reader_destroy(&r);
	fclose(f);
	free(buf);
	agp_hdr_destroy(a);
	agp_hdr_destroy(b);
}

static void expect_bad_log(const char *text, const char *needle)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct agp_hlog_reader r;
	struct agp_hlog_entry e;
	int rc;

	agp_hlog_reader_init(&r, f, 0);
	rc = agp_hlog_reader_next(&r, &e);
	if (rc >= 0)
		fail_msg("log accepted: %s", text);
	if (!strstr(r.error, needle))
		fail_msg("message '%s' does not contain '%s'", r.error, needle);
	agp_hlog_reader_destroy(&r);
	fclose(f);
}

static void test_hlog_malformed(void **state)
{
	(void)state;
	expect_bad_log("#[Histogram log format version 1.3]\n1.0,2.0\n", "line 2: Interval_Length");
	expect_bad_log("x,1,2,HISTF\n", "line 1: StartTimestamp");
	expect_bad_log("Tag=abc\n", "Tag= without a comma");
	expect_bad_log("Tag=,1,2,3,AAAA\n", "tag is empty");
	/* The writer refuses such tags, so the reader does too (found by fuzz_hlog_reader). */
	expect_bad_log("Tag=a b,1,2,3,AAAA\n", "tag has a blank");
	expect_bad_log("Tag=a\x0f"
	               "b,1,2,3,AAAA\n",
	               "control character");
	expect_bad_log("1.0,2.0,3.0,HISTFAAAAA\n", "line 1: histogram: base64");
	expect_bad_log("1.0,2.0,3.0,AAAAAAAA\n", "line 1: histogram: cookie");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector_decode),   cmocka_unit_test(test_vector_bytes),
	    cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_hgrm_identical),
	    cmocka_unit_test(test_malformed),       cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_hlog_round_trip), cmocka_unit_test(test_hlog_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
