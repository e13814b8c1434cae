#include "series.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t key_hash(const char *agent_type, const char *agent, uint16_t metric_id)
{
	uint32_t hash = 2166136261u ^ metric_id;
	for (const char *c = agent_type; *c; c++)
		hash = (hash ^ (uint8_t)*c) * 16777619u;
	hash = (hash ^ 0xff) * 16777619u;
	for (const char *c = agent; *c; c++)
		hash = (hash ^ (uint8_t)*c) * 16777619u;
	return hash;
}

int agp_series_table_init(struct agp_series_table *table, const struct agp_series_params *params,
                          uint64_t now_ns)
{
	struct agp_hdr_config check;
	if (params->window_ns == 0 || params->window_capacity == 0 ||
	    agp_hdr_config_init(params->lowest, params->highest, params->significant_figures,
	                        &check) != 0)
		return -EINVAL;
	memset(table, 0, sizeof(*table));
	table->params = *params;
	table->bucket_count = 1024;
	table->buckets = calloc(table->bucket_count, sizeof(*table->buckets));
	if (!table->buckets)
		return -ENOMEM;
	table->window_start_ns = now_ns;
	return 0;
}

static void release_window(struct agp_series_window *window)
{
	agp_sparse_hist_unref(window->raw);
	agp_sparse_hist_unref(window->corrected);
	memset(window, 0, sizeof(*window));
}

static void series_destroy(struct agp_series *series, size_t capacity)
{
	for (size_t i = 0; i < series->window_count; i++)
		release_window(&series->windows[(series->first_window + i) % capacity]);
	free(series->windows);
	agp_hdr_destroy(series->current_corrected);
	agp_hdr_destroy(series->current);
	free(series);
}

void agp_series_table_destroy(struct agp_series_table *table)
{
	for (size_t b = 0; b < table->bucket_count; b++) {
		struct agp_series *series = table->buckets[b];
		while (series) {
			struct agp_series *next = series->hash_next;
			series_destroy(series, table->params.window_capacity);
			series = next;
		}
	}
	free(table->buckets);
	memset(table, 0, sizeof(*table));
}

struct agp_series *agp_series_get(struct agp_series_table *table, const char *agent_type,
                                  const char *agent, uint16_t metric_id, enum agp_unit unit,
                                  const char *metric, uint64_t expected_interval_ns)
{
	size_t bucket = key_hash(agent_type, agent, metric_id) % table->bucket_count;
	for (struct agp_series *s = table->buckets[bucket]; s; s = s->hash_next)
		if (s->metric_id == metric_id && strcmp(s->agent_type, agent_type) == 0 &&
		    strcmp(s->agent, agent) == 0)
			return s;

	const struct agp_series_params *p = &table->params;
	struct agp_series *series = calloc(1, sizeof(*series));
	if (!series)
		return NULL;
	series->windows = calloc(p->window_capacity, sizeof(*series->windows));
	if (!series->windows)
		goto fail_series;
	if (agp_hdr_create(p->lowest, p->highest, p->significant_figures, &series->current) != 0)
		goto fail_windows;
	if (expected_interval_ns && agp_hdr_create(p->lowest, p->highest, p->significant_figures,
	                                           &series->current_corrected) != 0)
		goto fail_current;
	strncpy(series->agent_type, agent_type, sizeof(series->agent_type) - 1);
	strncpy(series->agent, agent, sizeof(series->agent) - 1);
	strncpy(series->metric, metric, sizeof(series->metric) - 1);
	series->metric_id = metric_id;
	series->unit = unit;
	series->expected_interval_ns = expected_interval_ns;
	series->hash_next = table->buckets[bucket];
	table->buckets[bucket] = series;
	table->count++;
	return series;

fail_current:
	agp_hdr_destroy(series->current);
fail_windows:
	free(series->windows);
fail_series:
	free(series);
	return NULL;
}

/* Appends the open window to the ring (dropping the oldest when full) and resets it. */
static int close_window(struct agp_series *series, const struct agp_series_params *params,
                        uint64_t start_ns, uint64_t end_ns)
{
	/* An empty window keeps NULL histograms: idle series cost no allocation per window. */
	struct agp_series_window closed = {start_ns, end_ns, NULL, NULL};
	bool empty = agp_hdr_count(series->current) == 0;
	if (!empty && agp_sparse_hist_encode(series->current, &closed.raw) != 0)
		return -ENOMEM;
	if (!empty && series->current_corrected &&
	    agp_sparse_hist_encode(series->current_corrected, &closed.corrected) != 0) {
		agp_sparse_hist_unref(closed.raw);
		return -ENOMEM;
	}
	if (series->window_count == params->window_capacity) {
		release_window(&series->windows[series->first_window]);
		series->first_window = (series->first_window + 1) % params->window_capacity;
		series->window_count--;
	}
	size_t slot = (series->first_window + series->window_count) % params->window_capacity;
	series->windows[slot] = closed;
	series->window_count++;
	if (!empty) {
		agp_hdr_reset(series->current);
		if (series->current_corrected)
			agp_hdr_reset(series->current_corrected);
	}
	return 0;
}

int agp_series_table_rotate(struct agp_series_table *table, uint64_t now_ns)
{
	const struct agp_series_params *p = &table->params;
	uint64_t end_ns = table->window_start_ns + p->window_ns;
	if (now_ns < end_ns)
		return 0;
	uint64_t retention_ns = p->window_ns * p->window_capacity;
	int closed = 0;
	for (size_t b = 0; b < table->bucket_count; b++) {
		struct agp_series **link = &table->buckets[b];
		while (*link) {
			struct agp_series *series = *link;
			bool idle =
			    series->agent[0] && now_ns - series->last_sample_ns > retention_ns;
			if (idle) {
				*link = series->hash_next;
				series_destroy(series, p->window_capacity);
				table->count--;
				continue;
			}
			if (close_window(series, p, table->window_start_ns, end_ns) != 0)
				return -ENOMEM;
			closed++;
			link = &series->hash_next;
		}
	}
	/* Windows stay aligned to the window length even after an idle stretch. */
	table->window_start_ns = end_ns + (now_ns - end_ns) / p->window_ns * p->window_ns;
	return closed;
}

int agp_series_table_visit(struct agp_series_table *table,
                           int (*visit)(struct agp_series *series, void *context), void *context)
{
	for (size_t b = 0; b < table->bucket_count; b++)
		for (struct agp_series *s = table->buckets[b]; s; s = s->hash_next) {
			int result = visit(s, context);
			if (result)
				return result;
		}
	return 0;
}
