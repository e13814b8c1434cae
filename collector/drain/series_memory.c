#include "collector/drain/series_memory.h"

struct tally {
	const struct agp_series_table *table;
	uint64_t bytes;
};

static int add_series(struct agp_series *series, void *context)
{
	struct tally *tally = context;
	for (size_t i = 0; i < series->window_count; i++) {
		const struct agp_series_window *window =
		    agp_series_window_at(tally->table, series, i);
		/* A derived window only refers to its agents' encodings, counted with theirs. */
		if (window->raw)
			tally->bytes += agp_sparse_hist_footprint(window->raw);
		if (window->corrected)
			tally->bytes += agp_sparse_hist_footprint(window->corrected);
		if (window->parts)
			tally->bytes += sizeof(*window->parts) +
			                (window->parts->corrected ? 2u : 1u) *
			                    window->parts->count * sizeof(window->parts->hist[0]);
	}
	return 0;
}

uint64_t agp_series_retained_bytes(struct agp_series_table *table)
{
	struct tally tally = {table, 0};
	agp_series_table_visit(table, add_series, &tally);
	return tally.bytes;
}
