/*
 * alerts.jsonl on a failing disk: a line the file takes only part of (RLIMIT_FSIZE here, a full
 * disk in production) is cut back off and counted as lost, and the next alert is a whole line
 * again; the file is created 0600 whatever the umask, and a link in its place is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <agentperf/agent.h>

#include "collector/alerts/sink.h"
#include "common/storage_dir.h"
#include "common/write_losses.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A snapshot carrying alerts 1..count (critical task_execution_time of agent type worker). */
static struct agp_snapshot *snapshot_with_alerts(uint64_t count)
{
	struct agp_snapshot *snapshot = agp_snapshot_alloc();
	assert_non_null(snapshot);
	snapshot->alerts = calloc(count, sizeof(*snapshot->alerts));
	assert_non_null(snapshot->alerts);
	for (uint64_t i = 0; i < count; i++) {
		struct agp_alert *alert = &snapshot->alerts[i];
		alert->sequence = i + 1;
		alert->metric_id = 1;
		snprintf(alert->metric, sizeof(alert->metric), "task_execution_time");
		snprintf(alert->agent_type, sizeof(alert->agent_type), "worker");
		snprintf(alert->agent, sizeof(alert->agent), "w1");
		snprintf(alert->level, sizeof(alert->level), "critical");
		alert->task_id = i + 1;
		alert->value = 3000000000 + (int64_t)i;
		alert->threshold = 2000000000;
	}
	snapshot->alert_count = count;
	snapshot->alerts_raised = count;
	return snapshot;
}

static void test_partial_line_is_cut_back(void **state)
{
	(void)state;
	char folder[] = "/tmp/agp-sink-test.XXXXXX";
	assert_non_null(mkdtemp(folder));
	static struct agp_config config;
	agp_config_defaults(&config);
	struct agp_storage_dir storage;
	assert_int_equal(agp_storage_dir_open(&storage, folder, AGP_STORAGE_NO_GROUP), 0);
	mode_t old_umask = umask(0);
	struct agp_alert_sink sink;
	assert_int_equal(agp_alert_sink_open(&sink, &config, &storage), 0);
	umask(old_umask);
	char path[600];
	snprintf(path, sizeof(path), "%s/alerts.jsonl", folder);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	struct agp_snapshot *one = snapshot_with_alerts(1);
	agp_alert_sink_deliver(&sink, one);
	assert_int_equal(stat(path, &st), 0);
	off_t first_line = st.st_size;
	assert_true(first_line > 100);

	/* Room for 20 more bytes: the second line is cut short by the kernel, then cut back. */
	struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
	assert_int_equal(sigaction(SIGXFSZ, &ignore, &previous), 0);
	struct rlimit unlimited, small;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &unlimited), 0);
	small = unlimited;
	small.rlim_cur = (rlim_t)first_line + 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	uint64_t lost_before = agp_write_losses(AGP_WRITE_ALERTS);
	struct agp_snapshot *two = snapshot_with_alerts(2);
	agp_alert_sink_deliver(&sink, two);
	assert_int_equal(agp_write_losses(AGP_WRITE_ALERTS), lost_before + 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, first_line);

	/* Space again: alert 3 is a whole line; alert 2 stays lost (counted once). */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &unlimited), 0);
	assert_int_equal(sigaction(SIGXFSZ, &previous, NULL), 0);
	struct agp_snapshot *three = snapshot_with_alerts(3);
	agp_alert_sink_deliver(&sink, three);
	assert_int_equal(agp_write_losses(AGP_WRITE_ALERTS), lost_before + 1);
	agp_alert_sink_close(&sink);

	FILE *in = fopen(path, "r");
	assert_non_null(in);
	char line[1024];
	uint64_t sequences[4] = {0};
	size_t lines = 0;
	while (fgets(line, sizeof(line), in)) {
		json_t *object = json_loads(line, 0, NULL);
		assert_non_null(object); /* every line is whole */
		assert_true(lines < 4);
		sequences[lines++] =
		    (uint64_t)json_integer_value(json_object_get(object, "sequence"));
		json_decref(object);
	}
	fclose(in);
	assert_int_equal(lines, 2);
	assert_int_equal(sequences[0], 1);
	assert_int_equal(sequences[1], 3);

	agp_snapshot_free(one);
	agp_snapshot_free(two);
	agp_snapshot_free(three);
	agp_storage_dir_close(&storage);
	nftw(folder, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_link_is_refused(void **state)
{
	(void)state;
	char folder[] = "/tmp/agp-sink-test.XXXXXX";
	assert_non_null(mkdtemp(folder));
	char target[600], link[600];
	snprintf(target, sizeof(target), "%s/target", folder);
	snprintf(link, sizeof(link), "%s/alerts.jsonl", folder);
	FILE *file = fopen(target, "w");
	assert_non_null(file);
	fclose(file);
	assert_int_equal(symlink(target, link), 0);
	static struct agp_config config;
	agp_config_defaults(&config);
	struct agp_storage_dir storage;
	assert_int_equal(agp_storage_dir_open(&storage, folder, AGP_STORAGE_NO_GROUP), 0);
	struct agp_alert_sink sink;
	assert_int_equal(agp_alert_sink_open(&sink, &config, &storage), -ELOOP);
	assert_non_null(strstr(agp_last_error(), link));
	agp_storage_dir_close(&storage);
	nftw(folder, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The keys an alert's JSON must not have, by the unit it must be in. */
static void assert_no_key(const json_t *object, const char *key)
{
	if (json_object_get(object, key))
		fail_msg("alert JSON has %s", key);
}

static void test_regression_of_a_count_is_a_count(void **state)
{
	(void)state;
	struct agp_alert alert = {.metric_id = 9,
	                          .unit = AGP_UNIT_COUNT,
	                          .value = 1234567,
	                          .threshold = 1000,
	                          .sequence = 4};
	snprintf(alert.metric, sizeof(alert.metric), "queue_depth");
	snprintf(alert.agent_type, sizeof(alert.agent_type), "worker");
	snprintf(alert.level, sizeof(alert.level), "regression");
	char line[512];
	agp_alert_format_line(&alert, line, sizeof(line));
	assert_string_equal(line, "Performance threshold violation: queue_depth = 1234567 (Level: "
	                          "regression) agent_type=worker agent=- task_id=0 threshold=1000");
	json_t *object = agp_alert_to_json(&alert);
	assert_non_null(object);
	assert_string_equal(json_string_value(json_object_get(object, "unit")), "count");
	assert_int_equal(json_integer_value(json_object_get(object, "value")), 1234567);
	assert_int_equal(json_integer_value(json_object_get(object, "threshold")), 1000);
	static const char *const seed_keys[] = {"value_ms", "threshold_ms", "value_mb",
	                                        "threshold_mb"};
	for (size_t k = 0; k < 4; k++)
		assert_no_key(object, seed_keys[k]);
	json_decref(object);

	/* The same figures as a duration: ns on the wire, the seed's ms beside them. */
	alert.unit = AGP_UNIT_NANOSECONDS;
	object = agp_alert_to_json(&alert);
	assert_non_null(object);
	assert_string_equal(json_string_value(json_object_get(object, "unit")), "nanoseconds");
	assert_true(json_real_value(json_object_get(object, "value_ms")) == 1.234567);
	assert_true(json_real_value(json_object_get(object, "threshold_ms")) == 0.001);
	assert_no_key(object, "value_mb");
	assert_string_equal(json_string_value(json_object_get(object, "message")),
	                    "Performance threshold violation: queue_depth = 1.234567ms (Level: "
	                    "regression)");
	json_decref(object);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_partial_line_is_cut_back),
	    cmocka_unit_test(test_link_is_refused),
	    cmocka_unit_test(test_regression_of_a_count_is_a_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
