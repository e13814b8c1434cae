/*
 * libFuzzer target for the HdrHistogram decoder: arbitrary bytes as a binary encoding and as
 * base64 text. Whatever decodes must re-encode and decode to the same counts, and must
 * answer queries without touching memory outside the histogram.
 * Run: ./fuzz_hdr_decode -max_len=4096 CORPUS_DIR (seed it with the shared vector, both the
 * base64 text and its decoded bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdr/codec.h"
#include "hdr/histogram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that a hostile header cannot make each run allocate much. */
#define FUZZ_MAX_MEMORY (4u << 20)

static void exercise(struct agp_hdr *h)
{
	struct agp_hdr *back = NULL;
	uint8_t *bin;
	size_t len;

	(void)agp_hdr_value_at_percentile(h, 99.9);
	(void)agp_hdr_mean_equivalent(h);
	(void)agp_hdr_stddev(h);
	if (agp_hdr_encode(h, &bin, &len) == 0) {
		if (agp_hdr_decode(bin, len, FUZZ_MAX_MEMORY, &back, NULL, 0) != 0)
			abort();
		if (memcmp(back->counts, h->counts, (size_t)h->cfg.counts_len * sizeof(int64_t)))
			abort();
		agp_hdr_destroy(back);
		free(bin);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agp_hdr *h = NULL;
	char err[256];

	if (agp_hdr_decode(data, size, FUZZ_MAX_MEMORY, &h, err, sizeof(err)) == 0) {
		exercise(h);
		agp_hdr_destroy(h);
	}
	if (agp_hdr_decode_base64((const char *)data, size, FUZZ_MAX_MEMORY, &h, err,
	                          sizeof(err)) == 0) {
		exercise(h);
		agp_hdr_destroy(h);
	}
	return 0;
}
