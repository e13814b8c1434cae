#include "collector/drain/series.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The table's key: zeroed whole, so that padding and the bytes after each string compare equal. */
struct series_key {
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
	char agent[AGP_AGENT_NAME_MAX + 1];
	uint16_t metric_id;
};

static struct series_key series_key(const char *agent_type, const char *agent, uint16_t metric_id)
{
	struct series_key key;
	memset(&key, 0, sizeof(key));
	agp_map_key_string(key.agent_type, sizeof(key.agent_type), agent_type);
	agp_map_key_string(key.agent, sizeof(key.agent), agent);
	key.metric_id = metric_id;
	return key;
}

static struct agp_series *series_at(const struct agp_series_table *table, size_t i)
{
	struct agp_series *series;
	memcpy(&series, agp_map_value_at(&table->map, i), sizeof(series));
	return series;
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
	/* Room for 64 series to begin with; the map doubles as the deployment grows. */
	int error =
	    agp_map_init(&table->map, sizeof(struct series_key), sizeof(struct agp_series *), 64);
	if (error)
		return error;
	/* Aligned to the window length, so that a timestamp alone says which window it is in. */
	table->window_start_ns = now_ns - now_ns % params->window_ns;
	if (agp_hdr_create(params->lowest, params->highest, params->significant_figures,
	                   &table->scratch) != 0) {
		agp_map_destroy(&table->map);
		return -ENOMEM;
	}
	return 0;
}

static void release_window(struct agp_series_window *window)
{
	agp_sparse_hist_unref(window->raw);
	agp_sparse_hist_unref(window->corrected);
	if (window->parts) {
		size_t n = window->parts->count * (window->parts->corrected ? 2u : 1u);
		for (size_t i = 0; i < n; i++)
			agp_sparse_hist_unref(window->parts->hist[i]);
		free(window->parts);
	}
	memset(window, 0, sizeof(*window));
}

int agp_series_window_merge(const struct agp_series_window *window, bool corrected,
                            struct agp_hdr *histogram)
{
	const struct agp_series_parts *parts = window->parts;
	if (!parts) {
		const struct agp_sparse_hist *hist = corrected ? window->corrected : window->raw;
		return hist ? agp_sparse_hist_merge_into(hist, histogram) : 0;
	}
	if (corrected && !parts->corrected)
		return 0;
	size_t first = corrected ? parts->count : 0;
	for (size_t i = 0; i < parts->count; i++) {
		int error = agp_sparse_hist_merge_into(parts->hist[first + i], histogram);
		if (error)
			return error;
	}
	return 0;
}

static void series_destroy(struct agp_series *series, size_t capacity)
{
	for (size_t i = 0; i < series->window_count; i++)
		release_window(&series->windows[(series->first_window + i) % capacity]);
	free(series->windows);
	free(series->amendments);
	agp_hdr_destroy(series->current_corrected);
	agp_hdr_destroy(series->current);
	free(series->staged);
	free(series);
}

void agp_series_table_destroy(struct agp_series_table *table)
{
	for (size_t i = 0; i < agp_map_count(&table->map); i++)
		series_destroy(series_at(table, i), table->params.window_capacity);
	agp_map_destroy(&table->map);
	agp_hdr_destroy(table->scratch);
	free(table->amended);
	memset(table, 0, sizeof(*table));
}

struct agp_series *agp_series_find(const struct agp_series_table *table, const char *agent_type,
                                   const char *agent, uint16_t metric_id)
{
	struct series_key key = series_key(agent_type, agent, metric_id);
	struct agp_series *const *found = agp_map_find(&table->map, &key);
	return found ? *found : NULL;
}

struct agp_series *agp_series_get(struct agp_series_table *table, const char *agent_type,
                                  const char *agent, uint16_t metric_id, enum agp_unit unit,
                                  const char *metric, uint64_t expected_interval_ns)
{
	struct agp_series *found = agp_series_find(table, agent_type, agent, metric_id);
	if (found)
		return found;

	const struct agp_series_params *p = &table->params;
	struct agp_series *series = calloc(1, sizeof(*series));
	if (!series)
		return NULL;
	series->windows = calloc(p->window_capacity, sizeof(*series->windows));
	if (!series->windows)
		goto fail_series;
	if (expected_interval_ns && agp_hdr_create(p->lowest, p->highest, p->significant_figures,
	                                           &series->current_corrected) != 0)
		goto fail_windows;
	strncpy(series->agent_type, agent_type, sizeof(series->agent_type) - 1);
	strncpy(series->agent, agent, sizeof(series->agent) - 1);
	strncpy(series->metric, metric, sizeof(series->metric) - 1);
	series->metric_id = metric_id;
	series->unit = unit;
	series->expected_interval_ns = expected_interval_ns;
	struct series_key key = series_key(agent_type, agent, metric_id);
	if (agp_map_insert(&table->map, &key, &series, NULL) != 0)
		goto fail_corrected;
	return series;

fail_corrected:
	agp_hdr_destroy(series->current_corrected);
fail_windows:
	free(series->windows);
fail_series:
	free(series);
	return NULL;
}

void agp__series_record_slow(struct agp_series_table *table, struct agp_series *series,
                             int64_t value)
{
	if (!series->staged && !series->current) {
		series->staged = malloc(AGP_SERIES_STAGED_MAX * sizeof(*series->staged));
		if (series->staged) {
			series->staged[series->staged_count++] = value;
			return;
		}
	}
	/* The window outgrew its staging array: replay it into a dense histogram. */
	const struct agp_series_params *p = &table->params;
	if (agp_hdr_create(p->lowest, p->highest, p->significant_figures, &series->current) != 0) {
		series->lost++;
		return;
	}
	for (uint32_t i = 0; i < series->staged_count; i++)
		agp_hdr_record(series->current, series->staged[i]);
	series->staged_count = 0;
	agp_hdr_record(series->current, value);
}

/* The open raw window as a histogram: the dense one, or the staged values replayed into scratch. */
static const struct agp_hdr *open_histogram(struct agp_series_table *table,
                                            const struct agp_series *series)
{
	if (series->current)
		return series->current;
	agp_hdr_reset(table->scratch);
	for (uint32_t i = 0; i < series->staged_count; i++)
		agp_hdr_record(table->scratch, series->staged[i]);
	return table->scratch;
}

int agp_series_encode_open(struct agp_series_table *table, struct agp_series *series,
                           struct agp_sparse_hist **raw, struct agp_sparse_hist **corrected)
{
	*raw = *corrected = NULL;
	if (series->window_count_open == 0)
		return 0;
	if (agp_sparse_hist_encode(open_histogram(table, series), raw) != 0)
		return -ENOMEM;
	if (series->current_corrected &&
	    agp_sparse_hist_encode(series->current_corrected, corrected) != 0) {
		agp_sparse_hist_unref(*raw);
		*raw = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Appends a closed window to the ring (dropping the oldest when full) and empties the open one. */
static void append_window(struct agp_series_table *table, struct agp_series *series,
                          const struct agp_series_window *closed)
{
	const struct agp_series_params *params = &table->params;
	if (series->window_count == params->window_capacity) {
		release_window(&series->windows[series->first_window]);
		series->first_window = (series->first_window + 1) % params->window_capacity;
		series->window_count--;
	}
	size_t slot = (series->first_window + series->window_count) % params->window_capacity;
	series->windows[slot] = *closed;
	series->window_count++;
	if (series->window_count_open) {
		series->staged_count = 0;
		if (series->current)
			agp_hdr_reset(series->current);
		if (series->current_corrected)
			agp_hdr_reset(series->current_corrected);
		series->window_count_open = 0;
	}
}

/* Closes the open window as an encoding of its own. */
static int close_window(struct agp_series_table *table, struct agp_series *series,
                        uint64_t start_ns, uint64_t end_ns)
{
	struct agp_series_window closed = {start_ns, end_ns, NULL, NULL, NULL};
	if (agp_series_encode_open(table, series, &closed.raw, &closed.corrected) != 0)
		return -ENOMEM;
	append_window(table, series, &closed);
	return 0;
}

/*
 * Closes a type series' open window as references to its agents' windows
 * just closed (chained by the first pass of the rotation) when those hold
 * exactly its samples; otherwise as an encoding of its own.
 */
static int close_type_window(struct agp_series_table *table, struct agp_series *series,
                             uint64_t start_ns, uint64_t end_ns)
{
	if (series->window_count_open == 0 || series->rotate_mismatch ||
	    series->rotate_samples != series->window_count_open || series->rotate_parts == 0)
		return close_window(table, series, start_ns, end_ns);
	uint32_t n = series->rotate_parts;
	bool corrected = series->expected_interval_ns != 0;
	struct agp_series_parts *parts =
	    malloc(sizeof(*parts) + (corrected ? 2u : 1u) * n * sizeof(parts->hist[0]));
	if (!parts)
		return -ENOMEM;
	parts->count = n;
	parts->corrected = corrected;
	uint32_t i = 0;
	for (struct agp_series *agent = series->rotate_first; agent; agent = agent->rotate_next) {
		const struct agp_series_window *window =
		    agp_series_window_at(table, agent, agent->window_count - 1);
		parts->hist[i] = agp_sparse_hist_ref(window->raw);
		if (corrected)
			parts->hist[n + i] = agp_sparse_hist_ref(window->corrected);
		i++;
	}
	struct agp_series_window closed = {start_ns, end_ns, NULL, NULL, parts};
	append_window(table, series, &closed);
	return 0;
}

/* Chains an agent's series, whose window was just closed, onto its type series (if any). */
static void chain_to_type(struct agp_series_table *table, struct agp_series *series,
                          uint64_t samples)
{
	struct agp_series *type = agp_series_find(table, series->agent_type, "", series->metric_id);
	if (!type || samples == 0)
		return;
	const struct agp_series_window *window =
	    agp_series_window_at(table, series, series->window_count - 1);
	if (type->expected_interval_ns != series->expected_interval_ns || !window->raw ||
	    (type->expected_interval_ns && !window->corrected)) {
		type->rotate_mismatch = true;
		return;
	}
	series->rotate_next = type->rotate_first;
	type->rotate_first = series;
	type->rotate_samples += samples;
	type->rotate_parts++;
}

/* Closed windows that receive samples after closing ----------------------------------- */

void agp_series_record_closed(struct agp_series_table *table, struct agp_series *series,
                              int64_t value, uint64_t timestamp_ns, uint64_t now_ns)
{
	struct agp_series_amendments *list = series->amendments;
	if (!list || list->count == list->capacity) {
		uint32_t capacity = list ? list->capacity * 2 : 64;
		struct agp_series_amendments *grown =
		    realloc(list, sizeof(*grown) + capacity * sizeof(grown->entry[0]));
		if (!grown) {
			series->lost++;
			return;
		}
		if (!list) {
			grown->count = 0;
			/* Listed once, when its first amendment comes. */
			if (table->amended_count == table->amended_capacity) {
				size_t more =
				    table->amended_capacity ? table->amended_capacity * 2 : 16;
				struct agp_series **amended =
				    realloc(table->amended, more * sizeof(*amended));
				if (!amended) {
					free(grown);
					series->lost++;
					return;
				}
				table->amended = amended;
				table->amended_capacity = more;
			}
			table->amended[table->amended_count++] = series;
		}
		grown->capacity = capacity;
		series->amendments = list = grown;
	}
	uint64_t window_ns = table->params.window_ns;
	list->entry[list->count++] =
	    (struct agp_series_amendment){timestamp_ns - timestamp_ns % window_ns, value};
	series->total_count++;
	series->clamped += (uint64_t)value > (uint64_t)table->params.highest;
	series->last_sample_ns = now_ns;
}

static struct agp_series_window *window_slot(const struct agp_series_table *table,
                                             struct agp_series *series, size_t i)
{
	return &series->windows[(series->first_window + i) % table->params.window_capacity];
}

/*
 * The closed window that starts at start_ns, inserted in time order (empty)
 * when the series has none. A full ring then gives up its oldest window,
 * which is older than the retention whenever start_ns lies within it (the
 * ring's windows are distinct multiples of the window length); NULL when
 * start_ns is older than every window of a full ring.
 */
static struct agp_series_window *closed_window_at(struct agp_series_table *table,
                                                  struct agp_series *series, uint64_t start_ns)
{
	size_t at = series->window_count; /* windows older than start_ns, once the loop ends */
	for (; at > 0; at--) {
		struct agp_series_window *window = window_slot(table, series, at - 1);
		if (window->start_ns == start_ns)
			return window;
		if (window->start_ns < start_ns)
			break;
	}
	size_t capacity = table->params.window_capacity;
	if (series->window_count == capacity) {
		if (at == 0)
			return NULL;
		release_window(&series->windows[series->first_window]);
		series->first_window = (series->first_window + 1) % capacity;
		series->window_count--;
		at--;
	}
	for (size_t i = series->window_count; i > at; i--)
		*window_slot(table, series, i) = *window_slot(table, series, i - 1);
	struct agp_series_window *window = window_slot(table, series, at);
	*window = (struct agp_series_window){start_ns, start_ns + table->params.window_ns, NULL,
	                                     NULL, NULL};
	series->window_count++;
	return window;
}

/* The window's samples and the n amendments, as one new encoding (raw and corrected). */
static int fold_window(struct agp_series_table *table, const struct agp_series *series,
                       struct agp_series_window *window,
                       const struct agp_series_amendment *amendment, size_t n)
{
	struct agp_hdr *scratch = table->scratch;
	struct agp_sparse_hist *raw = NULL, *corrected = NULL;
	agp_hdr_reset(scratch);
	int error = agp_series_window_merge(window, false, scratch);
	if (error)
		return error;
	for (size_t i = 0; i < n; i++)
		agp_hdr_record(scratch, amendment[i].value);
	if (agp_sparse_hist_encode(scratch, &raw) != 0)
		return -ENOMEM;
	if (series->expected_interval_ns) {
		agp_hdr_reset(scratch);
		error = agp_series_window_merge(window, true, scratch);
		for (size_t i = 0; !error && i < n; i++)
			agp_hdr_record_corrected(scratch, amendment[i].value,
			                         (int64_t)series->expected_interval_ns);
		if (!error && agp_sparse_hist_encode(scratch, &corrected) != 0)
			error = -ENOMEM;
		if (error) {
			agp_sparse_hist_unref(raw);
			return error;
		}
	}
	struct agp_series_window folded = {window->start_ns, window->end_ns, raw, corrected, NULL};
	release_window(window);
	*window = folded;
	return 0;
}

static int compare_amendments(const void *a, const void *b)
{
	const struct agp_series_amendment *x = a, *y = b;
	return (x->window_start_ns > y->window_start_ns) -
	       (x->window_start_ns < y->window_start_ns);
}

static void fold_series(struct agp_series_table *table, struct agp_series *series)
{
	struct agp_series_amendments *list = series->amendments;
	series->amendments = NULL;
	qsort(list->entry, list->count, sizeof(list->entry[0]), compare_amendments);
	for (uint32_t first = 0, end; first < list->count; first = end) {
		uint64_t start_ns = list->entry[first].window_start_ns;
		for (end = first + 1;
		     end < list->count && list->entry[end].window_start_ns == start_ns; end++)
			;
		struct agp_series_window *window = closed_window_at(table, series, start_ns);
		if (!window || fold_window(table, series, window, &list->entry[first], end - first))
			series->lost += end - first;
	}
	free(list);
}

void agp_series_table_fold(struct agp_series_table *table)
{
	for (size_t i = 0; i < table->amended_count; i++)
		fold_series(table, table->amended[i]);
	table->amended_count = 0;
}

/* Rotation --------------------------------------------------------------------------------- */

int agp_series_table_rotate(struct agp_series_table *table, uint64_t now_ns)
{
	const struct agp_series_params *p = &table->params;
	uint64_t end_ns = table->window_start_ns + p->window_ns;
	if (now_ns < end_ns)
		return 0;
	/* Amendments first: they belong to windows of the retention as it stands now. */
	agp_series_table_fold(table);
	uint64_t retention_ns = p->window_ns * p->window_capacity;
	int closed = 0;
	int error = 0;
	/* First the per-agent series: the type series' windows refer to what they close. */
	for (size_t i = 0; i < agp_map_count(&table->map);) {
		struct agp_series *series = series_at(table, i);
		if (!series->agent[0]) {
			i++;
			continue;
		}
		if (now_ns - series->last_sample_ns > retention_ns) {
			/* The last series moves into place i: look at i again. */
			agp_map_remove_at(&table->map, i);
			series_destroy(series, p->window_capacity);
			table->removals++;
			continue;
		}
		uint64_t samples = series->window_count_open;
		if (close_window(table, series, table->window_start_ns, end_ns) != 0) {
			error = -ENOMEM;
			break;
		}
		chain_to_type(table, series, samples);
		closed++;
		i++;
	}
	/*
	 * Then the type series. Each undoes its own chain (even after a failure),
	 * after using it: an agent's series may come before its type's in the table.
	 */
	for (size_t i = 0; i < agp_map_count(&table->map); i++) {
		struct agp_series *series = series_at(table, i);
		if (series->agent[0])
			continue;
		if (!error) {
			if (close_type_window(table, series, table->window_start_ns, end_ns) != 0)
				error = -ENOMEM;
			else
				closed++;
		}
		while (series->rotate_first) {
			struct agp_series *agent = series->rotate_first;
			series->rotate_first = agent->rotate_next;
			agent->rotate_next = NULL;
		}
		series->rotate_samples = 0;
		series->rotate_parts = 0;
		series->rotate_mismatch = false;
	}
	if (error)
		return error;
	/* Windows stay aligned to the window length even after an idle stretch. */
	table->window_start_ns = end_ns + (now_ns - end_ns) / p->window_ns * p->window_ns;
	return closed;
}

int agp_series_table_visit(struct agp_series_table *table,
                           int (*visit)(struct agp_series *series, void *context), void *context)
{
	for (size_t i = 0; i < agp_map_count(&table->map); i++) {
		int result = visit(series_at(table, i), context);
		if (result)
			return result;
	}
	return 0;
}
