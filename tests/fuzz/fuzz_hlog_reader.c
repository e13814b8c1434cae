/*
 * libFuzzer target for the interval-log (.hlog) reader that `agentperf hlog
 * --files` and the tests run on logs of any origin: any bytes give intervals
 * or a negative errno naming the line, never a crash, leak, overlong read or
 * a histogram beyond the memory bound. Every interval read must encode again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hdr/codec.h"
#include "hdr/histogram.h"
#include "hdr/interval_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEMORY_BOUND (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	struct agp_hlog_reader reader;
	agp_hlog_reader_init(&reader, in, MEMORY_BOUND);
	struct agp_hlog_entry entry;
	while (agp_hlog_reader_next(&reader, &entry) == 1) {
		/* A histogram the reader accepted is one the writer can write back. */
		FILE *out = fopen("/dev/null", "w");
		if (!out ||
		    agp_hlog_write_interval(out, entry.has_tag ? entry.tag : NULL, entry.start_s,
		                            entry.length_s, entry.h, 1.0) != 0)
			abort();
		fclose(out);
		agp_hdr_destroy(entry.h);
	}
	agp_hlog_reader_destroy(&reader);
	fclose(in);
	return 0;
}
