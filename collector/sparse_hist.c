#include "sparse_hist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hdr_histogram.h"

static size_t put_varint(uint8_t *out, uint64_t value)
{
	size_t length = 0;
	while (value >= 0x80) {
		out[length++] = (uint8_t)(value | 0x80);
		value >>= 7;
	}
	out[length++] = (uint8_t)value;
	return length;
}

static size_t get_varint(const uint8_t *in, size_t available, uint64_t *value)
{
	uint64_t result = 0;
	for (size_t i = 0; i < available && i < 10; i++) {
		result |= (uint64_t)(in[i] & 0x7f) << (7 * i);
		if (!(in[i] & 0x80)) {
			*value = result;
			return i + 1;
		}
	}
	return 0;
}

int agp_sparse_hist_encode(const struct agp_hdr *histogram, struct agp_sparse_hist **out)
{
	/* First pass counts the occupied entries to size the allocation exactly once. */
	struct agp_hdr_iter it;
	size_t entries = 0;
	agp_hdr_iter_init(&it, histogram);
	while (agp_hdr_iter_next(&it))
		entries++;

	size_t bound = entries * 2 * 10;
	struct agp_sparse_hist *window = malloc(sizeof(*window) + bound);
	if (!window)
		return -ENOMEM;
	atomic_init(&window->references, 1);
	window->entries = (uint32_t)entries;
	window->total_count = histogram->total_count;
	window->clamped_count = histogram->clamped_count;
	window->min_value = histogram->min_value;
	window->max_value = histogram->max_value;
	window->sum = histogram->sum;
	window->sum_squares = histogram->sum_squares;

	size_t length = 0;
	int32_t previous = 0;
	agp_hdr_iter_init(&it, histogram);
	while (agp_hdr_iter_next(&it)) {
		length += put_varint(window->encoded + length, (uint64_t)(it.index - previous));
		length += put_varint(window->encoded + length, (uint64_t)it.count);
		previous = it.index;
	}
	window->encoded_length = length;
	struct agp_sparse_hist *shrunk = realloc(window, sizeof(*window) + length);
	*out = shrunk ? shrunk : window;
	return 0;
}

int agp_sparse_hist_merge_into(const struct agp_sparse_hist *window, struct agp_hdr *histogram)
{
	size_t offset = 0;
	int64_t index = 0;
	int32_t counts_len = histogram->cfg.counts_len;
	while (offset < window->encoded_length) {
		uint64_t delta, count;
		size_t used =
		    get_varint(window->encoded + offset, window->encoded_length - offset, &delta);
		if (!used)
			return -EPROTO;
		offset += used;
		used =
		    get_varint(window->encoded + offset, window->encoded_length - offset, &count);
		if (!used || count > INT64_MAX)
			return -EPROTO;
		offset += used;
		index += (int64_t)delta;
		if (index >= counts_len)
			return -EPROTO;
		agp__hdr_count_at(histogram, (int32_t)index, (int64_t)count);
	}
	histogram->clamped_count += window->clamped_count;
	histogram->sum += window->sum;
	histogram->sum_squares += window->sum_squares;
	if (window->total_count > 0) {
		if (window->min_value < histogram->min_value)
			histogram->min_value = window->min_value;
		if (window->max_value > histogram->max_value)
			histogram->max_value = window->max_value;
	}
	return 0;
}

size_t agp_sparse_hist_footprint(const struct agp_sparse_hist *window)
{
	return sizeof(*window) + window->encoded_length;
}

struct agp_sparse_hist *agp_sparse_hist_ref(const struct agp_sparse_hist *window)
{
	struct agp_sparse_hist *mutable_window = (struct agp_sparse_hist *)window;
	/* Relaxed: taking a reference needs no ordering; the caller already holds one. */
	atomic_fetch_add_explicit(&mutable_window->references, 1, memory_order_relaxed);
	return mutable_window;
}

void agp_sparse_hist_unref(const struct agp_sparse_hist *window)
{
	if (!window)
		return;
	struct agp_sparse_hist *mutable_window = (struct agp_sparse_hist *)window;
	/* Acq_rel: the last dropper must see every other holder's reads finished before free. */
	if (atomic_fetch_sub_explicit(&mutable_window->references, 1, memory_order_acq_rel) == 1)
		free(mutable_window);
}
