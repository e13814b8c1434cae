#include "hdr/sparse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hdr/histogram.h"

#define VARINT_MAX  10
#define SUMMARY_MAX (8 * VARINT_MAX)

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

/* Reads one varint at *offset; false when the encoding ends inside it or it is too long. */
static bool get_varint(const struct agp_sparse_hist *window, size_t *offset, uint64_t *value)
{
	uint64_t result = 0;
	for (size_t i = 0; i < VARINT_MAX && *offset + i < window->encoded_length; i++) {
		uint8_t byte = window->encoded[*offset + i];
		result |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			*value = result;
			*offset += i + 1;
			return true;
		}
	}
	return false;
}

static size_t put_u128(uint8_t *out, unsigned __int128 value)
{
	size_t length = put_varint(out, (uint64_t)value);
	return length + put_varint(out + length, (uint64_t)(value >> 64));
}

static bool get_u128(const struct agp_sparse_hist *window, size_t *offset, unsigned __int128 *value)
{
	uint64_t low, high;
	if (!get_varint(window, offset, &low) || !get_varint(window, offset, &high))
		return false;
	*value = (unsigned __int128)high << 64 | low;
	return true;
}

int agp_sparse_hist_encode(const struct agp_hdr *histogram, struct agp_sparse_hist **out)
{
	/* First pass counts the occupied entries to size the allocation once. */
	struct agp_hdr_iter it;
	size_t entries = 0;
	agp_hdr_iter_init(&it, histogram);
	while (agp_hdr_iter_next(&it))
		entries++;

	size_t bound = SUMMARY_MAX + entries * 2 * VARINT_MAX;
	struct agp_sparse_hist *window = malloc(sizeof(*window) + bound);
	if (!window)
		return -ENOMEM;
	atomic_init(&window->references, 1);

	bool empty = histogram->total_count == 0;
	uint64_t min = empty ? 0 : (uint64_t)histogram->min_value;
	size_t length = put_varint(window->encoded, (uint64_t)histogram->total_count);
	length += put_varint(window->encoded + length, (uint64_t)histogram->clamped_count);
	length += put_varint(window->encoded + length, min);
	length += put_varint(window->encoded + length, (uint64_t)histogram->max_value - min);
	length += put_u128(window->encoded + length, histogram->sum);
	length += put_u128(window->encoded + length, histogram->sum_squares);

	int32_t previous = 0;
	agp_hdr_iter_init(&it, histogram);
	while (agp_hdr_iter_next(&it)) {
		uint64_t gap = (uint64_t)(it.index - previous);
		bool single = it.count == 1;
		length += put_varint(window->encoded + length, gap << 1 | (single ? 0 : 1));
		if (!single)
			length += put_varint(window->encoded + length, (uint64_t)it.count);
		previous = it.index;
	}
	window->encoded_length = (uint32_t)length;
	struct agp_sparse_hist *shrunk = realloc(window, sizeof(*window) + length);
	*out = shrunk ? shrunk : window;
	return 0;
}

static int read_summary(const struct agp_sparse_hist *window, size_t *offset,
                        struct agp_sparse_summary *summary)
{
	uint64_t total, clamped, min, spread;
	if (!get_varint(window, offset, &total) || !get_varint(window, offset, &clamped) ||
	    !get_varint(window, offset, &min) || !get_varint(window, offset, &spread) ||
	    !get_u128(window, offset, &summary->sum) ||
	    !get_u128(window, offset, &summary->sum_squares) || total > INT64_MAX ||
	    clamped > total || min > INT64_MAX || spread > INT64_MAX - min)
		return -EPROTO;
	summary->total_count = (int64_t)total;
	summary->clamped_count = (int64_t)clamped;
	summary->min_value = total ? (int64_t)min : INT64_MAX;
	summary->max_value = (int64_t)(min + spread);
	return 0;
}

int agp_sparse_hist_summary(const struct agp_sparse_hist *window,
                            struct agp_sparse_summary *summary)
{
	size_t offset = 0;
	return read_summary(window, &offset, summary);
}

int agp_sparse_hist_merge_into(const struct agp_sparse_hist *window, struct agp_hdr *histogram)
{
	size_t offset = 0;
	struct agp_sparse_summary summary;
	if (read_summary(window, &offset, &summary) != 0)
		return -EPROTO;
	int64_t index = 0;
	int32_t counts_len = histogram->cfg.counts_len;
	while (offset < window->encoded_length) {
		uint64_t entry, count = 1;
		if (!get_varint(window, &offset, &entry))
			return -EPROTO;
		if ((entry & 1) && (!get_varint(window, &offset, &count) || count > INT64_MAX))
			return -EPROTO;
		index += (int64_t)(entry >> 1);
		if (index >= counts_len)
			return -EPROTO;
		agp__hdr_count_at(histogram, (int32_t)index, (int64_t)count);
	}
	histogram->clamped_count += summary.clamped_count;
	histogram->sum += summary.sum;
	histogram->sum_squares += summary.sum_squares;
	if (summary.total_count > 0) {
		if (summary.min_value < histogram->min_value)
			histogram->min_value = summary.min_value;
		if (summary.max_value > histogram->max_value)
			histogram->max_value = summary.max_value;
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
