/*
 * The interval log from snapshots: agp_hlog_export() text read back by agentperf's reader
 * (tags, start times relative to BaseTime, counts, open window included, metric and since
 * selection), and the log service (each closed window written once, the open one only at
 * the final tick, rotation by size keeping `keep` files).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hdr/histogram.h"
#include "hdr/interval_log.h"
#include "collector/export/hlog_export.h"
#include "collector/export/hlog_service.h"
#include "hdr/sparse.h"
#include "common/storage_dir.h"
#include "common/write_losses.h"
#include <agentperf/agent.h>

#define MS     INT64_C(1000000)
#define SECOND UINT64_C(1000000000)
#define LAYOUT 1, INT64_C(3600000000000), 3

static struct agp_sparse_hist *window_of(int64_t value, int64_t count)
{
	struct agp_hdr *h;
	assert_int_equal(agp_hdr_create(LAYOUT, &h), 0);
	assert_int_equal(agp_hdr_record_n(h, value, count), 0);
	struct agp_sparse_hist *out;
	assert_int_equal(agp_sparse_hist_encode(h, &out), 0);
	agp_hdr_destroy(h);
	return out;
}

/*
 * A snapshot taken at 100 s (wall 1764463230.000) with series of one-second windows starting
 * at first_s; window i holds `count` samples of (i + 1) ms; the last window is the open one.
 */
static struct agp_snapshot *snapshot_new(uint64_t generation, uint64_t first_s, size_t windows,
                                         int64_t count)
{
	struct agp_snapshot *s = agp_snapshot_alloc();
	s->generation = generation;
	s->taken_ns = 100 * SECOND;
	s->taken_wall_ms = INT64_C(1764463230000);
	s->series = calloc(3, sizeof(*s->series));
	const char *types[] = {"worker", "worker", "reviewer"};
	const char *metrics[] = {"coordination_overhead", "task_execution_time",
	                         "coordination_overhead"};
	for (size_t k = 0; k < 3; k++) {
		struct agp_snapshot_series *series = &s->series[s->series_count++];
		snprintf(series->agent_type, sizeof(series->agent_type), "%s", types[k]);
		snprintf(series->metric, sizeof(series->metric), "%s", metrics[k]);
		series->unit = AGP_UNIT_NANOSECONDS;
		series->windows = calloc(windows, sizeof(*series->windows));
		series->window_count = windows;
		for (size_t i = 0; i < windows; i++) {
			series->windows[i].start_ns = (first_s + i) * SECOND;
			series->windows[i].end_ns = (first_s + i + 1) * SECOND;
			series->windows[i].raw = window_of((int64_t)(i + 1) * MS, count);
		}
	}
	return s;
}

struct read_back {
	size_t lines;
	int64_t total;
	char tags[16][AGP_HLOG_TAG_MAX];
	double starts[16];
	double base_s;
};

static void read_text(const char *text, size_t length, struct read_back *out)
{
	memset(out, 0, sizeof(*out));
	FILE *in = fmemopen((void *)text, length, "r");
	assert_non_null(in);
	struct agp_hlog_reader reader;
	agp_hlog_reader_init(&reader, in, 0);
	struct agp_hlog_entry entry;
	int result;
	while ((result = agp_hlog_reader_next(&reader, &entry)) == 1) {
		assert_true(entry.has_tag);
		assert_true(out->lines < 16);
		snprintf(out->tags[out->lines], AGP_HLOG_TAG_MAX, "%s", entry.tag);
		out->starts[out->lines++] = entry.start_s;
		out->total += agp_hdr_count(entry.h);
		assert_float_equal(entry.length_s, 1.0, 1e-9);
		agp_hdr_destroy(entry.h);
	}
	assert_int_equal(result, 0);
	assert_true(reader.has_base_time);
	out->base_s = reader.base_time_s;
	agp_hlog_reader_destroy(&reader);
	fclose(in);
}

static void test_export_text(void **state)
{
	(void)state;
	struct agp_snapshot *s = snapshot_new(1, 90, 3, 5);
	size_t length = 0;
	char *text = agp_hlog_export(s, "coordination_overhead", 0, &length);
	assert_non_null(text);
	assert_int_equal(strlen(text), length);
	assert_non_null(strstr(text, "#[Histogram log format version 1.3]\n"));
	struct read_back back;
	read_text(text, length, &back);
	/* Two series of the metric, three windows each (the open one included), time order. */
	assert_int_equal(back.lines, 6);
	assert_int_equal(back.total, 30);
	for (size_t i = 0; i < back.lines; i++) {
		assert_true(strcmp(back.tags[i], "worker/coordination_overhead") == 0 ||
		            strcmp(back.tags[i], "reviewer/coordination_overhead") == 0);
		assert_float_equal(back.starts[i], (double)(i / 2), 1e-9);
	}
	/* BaseTime is the wall time of the first window: 10 s before the snapshot. */
	assert_float_equal(back.base_s, 1764463220.0, 1e-6);
	free(text);

	/* since: windows from 91 s on; every metric. */
	text = agp_hlog_export(s, NULL, 91 * SECOND, &length);
	read_text(text, length, &back);
	assert_int_equal(back.lines, 6); /* 3 series x 2 windows */
	assert_float_equal(back.starts[0], 0.0, 1e-9);
	assert_float_equal(back.base_s, 1764463221.0, 1e-6);
	free(text);

	/* An unknown metric gives a log with a header and no interval. */
	text = agp_hlog_export(s, "no_such_metric", 0, &length);
	read_text(text, length, &back);
	assert_int_equal(back.lines, 0);
	free(text);
	agp_snapshot_free(s);
}

/*
 * A metric with an expected interval: each window's corrected line, tagged ...:corrected,
 * right after its raw line, with the corrected count (HdrHistogram's rule, counted here: a
 * 35 ms sample at a 10 ms interval also counts 25, 15 ms, so 3 each); the other series raw.
 */
static void test_export_corrected_lines(void **state)
{
	(void)state;
	struct agp_snapshot *s = snapshot_new(1, 90, 2, 4);
	struct agp_snapshot_series *worker = &s->series[0]; /* worker/coordination_overhead */
	worker->expected_interval_ns = 10 * MS;
	for (size_t w = 0; w < worker->window_count; w++) {
		struct agp_hdr *h;
		assert_int_equal(agp_hdr_create(LAYOUT, &h), 0);
		struct agp_sparse_hist *raw, *corrected;
		assert_int_equal(agp_hdr_record_n(h, 35 * MS, 4), 0);
		assert_int_equal(agp_sparse_hist_encode(h, &raw), 0);
		agp_hdr_reset(h);
		assert_int_equal(agp_hdr_record_corrected_n(h, 35 * MS, 4, 10 * MS), 0);
		assert_int_equal(agp_sparse_hist_encode(h, &corrected), 0);
		agp_hdr_destroy(h);
		agp_sparse_hist_unref(worker->windows[w].raw);
		worker->windows[w].raw = raw;
		worker->windows[w].corrected = corrected;
	}
	size_t length = 0;
	char *text = agp_hlog_export(s, "coordination_overhead", 0, &length);
	assert_non_null(text);
	assert_non_null(strstr(text, "<metric>:corrected the coordinated-omission corrected"));
	FILE *in = fmemopen(text, length, "r");
	struct agp_hlog_reader reader;
	agp_hlog_reader_init(&reader, in, 0);
	struct agp_hlog_entry entry;
	static const char *const tags[] = {
	    "worker/coordination_overhead",           "worker/coordination_overhead:corrected",
	    "reviewer/coordination_overhead",         "worker/coordination_overhead",
	    "worker/coordination_overhead:corrected", "reviewer/coordination_overhead"};
	static const int64_t counts[] = {4, 12, 4, 4, 12, 4};
	size_t lines = 0;
	while (agp_hlog_reader_next(&reader, &entry) == 1) {
		assert_true(lines < 6);
		assert_string_equal(entry.tag, tags[lines]);
		assert_int_equal(agp_hdr_count(entry.h), counts[lines]);
		lines++;
		agp_hdr_destroy(entry.h);
	}
	assert_int_equal(lines, 6);
	agp_hlog_reader_destroy(&reader);
	fclose(in);
	free(text);
	agp_snapshot_free(s);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static char *slurp(const char *path, size_t *length)
{
	FILE *in = fopen(path, "r");
	if (!in)
		return NULL;
	char *text = NULL;
	size_t cap = 0;
	FILE *out = open_memstream(&text, &cap);
	char buffer[4096];
	size_t n;
	while ((n = fread(buffer, 1, sizeof(buffer), in)) > 0)
		fwrite(buffer, 1, n, out);
	fclose(in);
	fclose(out);
	*length = cap;
	return text;
}

static void test_service_writes_each_window_once_and_rotates(void **state)
{
	(void)state;
	char folder[] = "/tmp/agp-hlog-test.XXXXXX";
	assert_non_null(mkdtemp(folder));
	struct agp_hlog_service service;
	/* Small files: each tick of 3 lines (~400 bytes) rotates. */
	struct agp_storage_dir storage;
	assert_int_equal(agp_storage_dir_open(&storage, folder, AGP_STORAGE_NO_GROUP), 0);
	assert_int_equal(agp_hlog_service_open(&service, &storage, 300, 2, LAYOUT), 0);
	char path[512];
	snprintf(path, sizeof(path), "%s/hlog/agentperf.hlog", folder);

	/* Windows 90 and 91 closed, 92 open. The same snapshot twice writes nothing new. */
	struct agp_snapshot *s1 = snapshot_new(1, 90, 3, 1);
	assert_int_equal(agp_hlog_service_tick(&service, s1, false), 0);
	assert_int_equal(agp_hlog_service_tick(&service, s1, false), 0);
	/* Window 92 closed, 93 open; then the final tick adds the open 93. */
	struct agp_snapshot *s2 = snapshot_new(2, 90, 4, 1);
	assert_int_equal(agp_hlog_service_tick(&service, s2, false), 0);
	assert_int_equal(agp_hlog_service_tick(&service, s2, true), 0);
	agp_hlog_service_close(&service);
	agp_storage_dir_close(&storage);

	/* Files, oldest first: .2, .1, current (maybe empty of intervals after a rotation). */
	const char *suffixes[] = {".2", ".1", ""};
	size_t lines = 0;
	int64_t total = 0;
	double previous_absolute = 0, first_absolute = 0;
	for (size_t f = 0; f < 3; f++) {
		char name[600];
		snprintf(name, sizeof(name), "%s%s", path, suffixes[f]);
		size_t length = 0;
		char *text = slurp(name, &length);
		if (!text)
			continue;
		struct read_back back;
		read_text(text, length, &back);
		for (size_t i = 0; i < back.lines; i++) {
			double absolute = back.base_s + back.starts[i];
			if (first_absolute == 0)
				first_absolute = absolute;
			assert_true(absolute >= previous_absolute);
			previous_absolute = absolute;
		}
		lines += back.lines;
		total += back.total;
		free(text);
	}
	/*
	 * Every tick that wrote lines rotated (a header is ~270 bytes, three lines ~300 more):
	 * windows 90-91 went to .1, then .2, then fell off (keep = 2); 92 is in .2, the final
	 * open window 93 in .1, and no current file was started after the last rotation.
	 */
	char name[600];
	snprintf(name, sizeof(name), "%s.3", path);
	assert_int_equal(access(name, F_OK), -1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(lines, 6);
	assert_int_equal(total, 6);
	assert_true(first_absolute > 1764463222.0 - 1e-6 && first_absolute < 1764463222.0 + 1e-6);
	assert_true(previous_absolute > 1764463223.0 - 1e-6);

	agp_snapshot_free(s1);
	agp_snapshot_free(s2);
	nftw(folder, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_service_without_rotation_has_every_window(void **state)
{
	(void)state;
	char folder[] = "/tmp/agp-hlog-test.XXXXXX";
	assert_non_null(mkdtemp(folder));
	struct agp_hlog_service service;
	struct agp_storage_dir storage;
	assert_int_equal(agp_storage_dir_open(&storage, folder, AGP_STORAGE_NO_GROUP), 0);
	assert_int_equal(agp_hlog_service_open(&service, &storage, 0, 0, LAYOUT), 0);
	struct agp_snapshot *s1 = snapshot_new(1, 90, 3, 2);
	struct agp_snapshot *s2 = snapshot_new(2, 91, 3, 2); /* 90 expired, 92 closed, 93 open */
	assert_int_equal(agp_hlog_service_tick(&service, s1, false), 0);
	assert_int_equal(agp_hlog_service_tick(&service, s2, false), 0);
	agp_hlog_service_close(&service);
	agp_storage_dir_close(&storage);
	char path[512];
	snprintf(path, sizeof(path), "%s/hlog/agentperf.hlog", folder);
	size_t length = 0;
	char *text = slurp(path, &length);
	assert_non_null(text);
	struct read_back back;
	read_text(text, length, &back);
	/* Windows 90, 91, 92 of three series, each once; the open 93 not (no final tick). */
	assert_int_equal(back.lines, 9);
	assert_int_equal(back.total, 18);
	assert_float_equal(back.starts[0], 0.0, 1e-9);
	assert_float_equal(back.starts[8], 2.0, 1e-9);
	free(text);
	agp_snapshot_free(s1);
	agp_snapshot_free(s2);
	nftw(folder, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * A write the file takes only part of (RLIMIT_FSIZE here, a full disk in production) is cut back
 * off, and the same windows are written whole at the next tick: nothing is lost or counted.
 */
static void test_service_cuts_back_a_partial_write(void **state)
{
	(void)state;
	char folder[] = "/tmp/agp-hlog-test.XXXXXX";
	assert_non_null(mkdtemp(folder));
	struct agp_storage_dir storage;
	assert_int_equal(agp_storage_dir_open(&storage, folder, AGP_STORAGE_NO_GROUP), 0);
	struct agp_hlog_service service;
	assert_int_equal(agp_hlog_service_open(&service, &storage, 0, 0, LAYOUT), 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/hlog/%s", folder, AGP_HLOG_FILE_NAME);

	/* Beyond the limit write() stops short, then fails with EFBIG (SIGXFSZ ignored). */
	struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
	assert_int_equal(sigaction(SIGXFSZ, &ignore, &previous), 0);
	struct rlimit unlimited, small;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &unlimited), 0);
	small = unlimited;
	small.rlim_cur = 200; /* less than the header block alone */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	uint64_t lost_before = agp_write_losses(AGP_WRITE_HLOG);
	struct agp_snapshot *s1 = snapshot_new(1, 90, 3, 2); /* 90, 91 closed, 92 open */
	assert_int_equal(agp_hlog_service_tick(&service, s1, false), 0);
	assert_int_equal(agp_write_losses(AGP_WRITE_HLOG), lost_before);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0); /* the 200 bytes the file took are cut back off */

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &unlimited), 0);
	assert_int_equal(agp_hlog_service_tick(&service, s1, false), 0);
	assert_int_equal(agp_write_losses(AGP_WRITE_HLOG), lost_before);
	agp_hlog_service_close(&service);
	agp_storage_dir_close(&storage);
	assert_int_equal(sigaction(SIGXFSZ, &previous, NULL), 0);

	size_t length = 0;
	char *text = slurp(path, &length);
	assert_non_null(text);
	struct read_back back;
	read_text(text, length, &back); /* one header, every line whole */
	assert_int_equal(back.lines, 6);
	assert_int_equal(back.total, 12);
	free(text);
	agp_snapshot_free(s1);
	nftw(folder, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * An outage longer than the retention: the windows that left it before a write succeeded are
 * counted as lost (lost_writes.hlog), the retained ones written.
 */
static void test_service_counts_windows_that_expired_unwritten(void **state)
{
	(void)state;
	char folder[] = "/tmp/agp-hlog-test.XXXXXX";
	assert_non_null(mkdtemp(folder));
	struct agp_storage_dir storage;
	assert_int_equal(agp_storage_dir_open(&storage, folder, AGP_STORAGE_NO_GROUP), 0);
	struct agp_hlog_service service;
	assert_int_equal(agp_hlog_service_open(&service, &storage, 0, 0, LAYOUT), 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/hlog/%s", folder, AGP_HLOG_FILE_NAME);
	uint64_t lost_before = agp_write_losses(AGP_WRITE_HLOG);
	struct agp_snapshot *s1 = snapshot_new(1, 90, 3, 2); /* 90, 91 written; 92 open */
	assert_int_equal(agp_hlog_service_tick(&service, s1, false), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);

	struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
	assert_int_equal(sigaction(SIGXFSZ, &ignore, &previous), 0);
	struct rlimit unlimited, small;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &unlimited), 0);
	small = unlimited;
	small.rlim_cur = (rlim_t)st.st_size + 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	struct agp_snapshot *s2 = snapshot_new(2, 91, 3, 2); /* 92 closed: refused */
	assert_int_equal(agp_hlog_service_tick(&service, s2, false), 0);
	assert_int_equal(agp_write_losses(AGP_WRITE_HLOG), lost_before);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &unlimited), 0);
	assert_int_equal(sigaction(SIGXFSZ, &previous, NULL), 0);

	/* Space again, but the retention now starts at 95: 92, 93 and 94 are gone. */
	struct agp_snapshot *s3 = snapshot_new(3, 95, 3, 2); /* 95, 96 closed; 97 open */
	assert_int_equal(agp_hlog_service_tick(&service, s3, false), 0);
	assert_int_equal(agp_write_losses(AGP_WRITE_HLOG), lost_before + 3);
	agp_hlog_service_close(&service);
	agp_storage_dir_close(&storage);

	size_t length = 0;
	char *text = slurp(path, &length);
	assert_non_null(text);
	struct read_back back;
	read_text(text, length, &back);
	assert_int_equal(back.lines, 12); /* 90, 91, 95, 96 of three series */
	assert_int_equal(back.total, 24);
	free(text);
	agp_snapshot_free(s1);
	agp_snapshot_free(s2);
	agp_snapshot_free(s3);
	nftw(folder, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* A link planted in place of hlog/ or of the log itself is refused, and its target untouched. */
static void test_service_refuses_links(void **state)
{
	(void)state;
	char folder[] = "/tmp/agp-hlog-test.XXXXXX";
	assert_non_null(mkdtemp(folder));
	char target[600], link[600];
	snprintf(target, sizeof(target), "%s/elsewhere", folder);
	assert_int_equal(mkdir(target, 0700), 0);
	snprintf(link, sizeof(link), "%s/hlog", folder);
	assert_int_equal(symlink(target, link), 0);
	struct agp_storage_dir storage;
	assert_int_equal(agp_storage_dir_open(&storage, folder, AGP_STORAGE_NO_GROUP), 0);
	struct agp_hlog_service service;
	assert_int_equal(agp_hlog_service_open(&service, &storage, 0, 0, LAYOUT), -ELOOP);
	assert_non_null(strstr(agp_last_error(), "symbolic link"));
	assert_int_equal(unlink(link), 0);

	assert_int_equal(mkdir(link, 0700), 0);
	snprintf(target, sizeof(target), "%s/elsewhere/file", folder);
	FILE *file = fopen(target, "w");
	assert_non_null(file);
	fclose(file);
	snprintf(link, sizeof(link), "%s/hlog/%s", folder, AGP_HLOG_FILE_NAME);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(agp_hlog_service_open(&service, &storage, 0, 0, LAYOUT), -ELOOP);
	assert_non_null(strstr(agp_last_error(), link));
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	agp_storage_dir_close(&storage);
	nftw(folder, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_export_text),
	    cmocka_unit_test(test_export_corrected_lines),
	    cmocka_unit_test(test_service_writes_each_window_once_and_rotates),
	    cmocka_unit_test(test_service_without_rotation_has_every_window),
	    cmocka_unit_test(test_service_cuts_back_a_partial_write),
	    cmocka_unit_test(test_service_counts_windows_that_expired_unwritten),
	    cmocka_unit_test(test_service_refuses_links),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
