/*
 * Unsigned 64-bit counts through the control protocol (common/json_u64.h):
 * a handcrafted msgpack reply holding 2^64-1 (0xcf and eight 0xff bytes)
 * decodes to that count and prints as its 20 digits; the daemon's side packs
 * a count of 2^64-1 as exactly those bytes; the boundaries around INT64_MAX;
 * the printer rewrites nothing but the counts it carries; and every JSON
 * output the collector builds from 64-bit counters (series statistics, the
 * CI export, the report, baseline.json, alerts) writes counts above 2^63 as
 * their exact digits after the socket, never as negative numbers, and a
 * task id as a string of its digits. (Validation's own counts are a
 * histogram's, which are signed 64-bit and cannot pass INT64_MAX.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/alerts/sink.h"
#include "collector/analysis/baseline.h"
#include "collector/analysis/validation.h"
#include "collector/config/config.h"
#include "collector/drain/snapshot.h"
#include "common/json_u64.h"
#include "common/protocol.h"

#define TWO_63 ((uint64_t)INT64_MAX + 1)

/* {"v": 1, "ok": true, "result": {"written": 2^64-1}} as msgpack, by hand. */
static const unsigned char reply_max[] = {
    0x83, 0xa1, 'v',  0x01, 0xa2, 'o',  'k',  0xc3, 0xa6, 'r',  'e',
    's',  'u',  'l',  't',  0x81, 0xa7, 'w',  'r',  'i',  't',  't',
    'e',  'n',  0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static void handcrafted_max_decodes_and_prints_exactly(void **state)
{
	(void)state;
	struct agp_reply reply;
	char err[256];
	assert_int_equal(
	    agp_protocol_decode_reply(reply_max, sizeof(reply_max), &reply, err, sizeof(err)), 0);
	assert_true(reply.ok);
	uint64_t count = 0;
	assert_true(agp_json_u64_value(json_object_get(reply.result, "written"), &count));
	assert_true(count == UINT64_MAX);
	char *text = agp_json_dumps(reply.result, JSON_COMPACT);
	assert_string_equal(text, "{\"written\":18446744073709551615}");
	free(text);
	json_decref(reply.result);
}

static void daemon_side_packs_max_as_msgpack_uint64(void **state)
{
	(void)state;
	json_t *result = json_pack("{s:o}", "written", agp_json_u64(UINT64_MAX));
	assert_non_null(result);
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	assert_int_equal(agp_protocol_encode_ok(&frame, result), 0);
	json_decref(result);
	/* The frame is its 4-byte length and exactly the handcrafted payload. */
	assert_int_equal(frame.size, AGP_PROTOCOL_FRAME_HEADER + sizeof(reply_max));
	assert_int_equal(agp_frame_length((const unsigned char *)frame.data), sizeof(reply_max));
	assert_memory_equal(frame.data + AGP_PROTOCOL_FRAME_HEADER, reply_max, sizeof(reply_max));
	msgpack_sbuffer_destroy(&frame);
}

/* Packs count, decodes it again and prints it; the text must be digits. */
static void round_trip(uint64_t count, const char *digits, bool plain_integer)
{
	json_t *value = agp_json_u64(count);
	assert_non_null(value);
	assert_int_equal(json_is_integer(value), plain_integer);
	json_t *result = json_pack("{s:o}", "n", value);
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	assert_int_equal(agp_protocol_encode_ok(&frame, result), 0);
	json_decref(result);
	struct agp_reply reply;
	char err[256];
	assert_int_equal(agp_protocol_decode_reply(frame.data + AGP_PROTOCOL_FRAME_HEADER,
	                                           frame.size - AGP_PROTOCOL_FRAME_HEADER, &reply,
	                                           err, sizeof(err)),
	                 0);
	msgpack_sbuffer_destroy(&frame);
	uint64_t back = 0;
	assert_true(agp_json_u64_value(json_object_get(reply.result, "n"), &back));
	assert_true(back == count);
	char *text = agp_json_dumps(reply.result, JSON_COMPACT);
	char expected[64];
	snprintf(expected, sizeof(expected), "{\"n\":%s}", digits);
	assert_string_equal(text, expected);
	free(text);
	json_decref(reply.result);
}

static void boundaries_round_trip(void **state)
{
	(void)state;
	round_trip(0, "0", true);
	round_trip(INT64_MAX, "9223372036854775807", true);
	round_trip((uint64_t)INT64_MAX + 1, "9223372036854775808", false);
	round_trip(UINT64_MAX - 1, "18446744073709551614", false);
	round_trip(UINT64_MAX, "18446744073709551615", false);
}

static void printer_rewrites_only_carriers(void **state)
{
	(void)state;
	/* Look-alikes: the text \u0000123, a quote before it, a NUL and a small count, a
	 * NUL and digits beyond 2^64-1, and a negative integer. */
	json_t *value = json_pack("{s:s, s:s, s:s%, s:s%, s:I, s:o}", "a", "\\u0000123", "b",
	                          "\"\\u0000999", "c",
	                          "\0"
	                          "5",
	                          (size_t)2, "d",
	                          "\0"
	                          "18446744073709551616",
	                          (size_t)21, "e", (json_int_t)-7, "f", agp_json_u64(UINT64_MAX));
	assert_non_null(value);
	char *plain = json_dumps(value, JSON_COMPACT);
	char *text = agp_json_dumps(value, JSON_COMPACT);
	/* Everything as jansson wrote it, but the one carrier. */
	const char *carrier = "\"\\u000018446744073709551615\"";
	char *at = strstr(plain, carrier);
	assert_non_null(at);
	char expected[512];
	snprintf(expected, sizeof(expected), "%.*s18446744073709551615%s", (int)(at - plain), plain,
	         at + strlen(carrier));
	assert_string_equal(text, expected);
	uint64_t count;
	assert_false(agp_json_u64_value(json_object_get(value, "c"), &count));
	assert_false(agp_json_u64_value(json_object_get(value, "d"), &count));
	assert_false(agp_json_u64_value(json_object_get(value, "e"), &count));
	free(plain);
	free(text);
	json_decref(value);
}

/* value's text as the CLI prints it: packed as the daemon answers, decoded, agp_json_dumps. */
static char *text_after_socket(json_t *value)
{
	assert_non_null(value);
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	assert_int_equal(agp_protocol_encode_ok(&frame, value), 0);
	json_decref(value);
	struct agp_reply reply;
	char err[256];
	assert_int_equal(agp_protocol_decode_reply(frame.data + AGP_PROTOCOL_FRAME_HEADER,
	                                           frame.size - AGP_PROTOCOL_FRAME_HEADER, &reply,
	                                           err, sizeof(err)),
	                 0);
	msgpack_sbuffer_destroy(&frame);
	char *text = agp_json_dumps(reply.result, JSON_COMPACT);
	assert_non_null(text);
	json_decref(reply.result);
	return text;
}

/* Fails unless text holds "key":digits (digits: the count as the test set it, by snprintf). */
static void assert_count(const char *text, const char *key, uint64_t count)
{
	char expected[96];
	snprintf(expected, sizeof(expected), "\"%s\":%llu", key, (unsigned long long)count);
	if (!strstr(text, expected))
		fail_msg("no %s in %s", expected, text);
}

static struct agp_snapshot *huge_snapshot(void)
{
	struct agp_snapshot *snapshot = agp_snapshot_alloc();
	assert_non_null(snapshot);
	snapshot->taken_ns = 3600ull * 1000 * 1000 * 1000;
	snapshot->taken_wall_ms = 1700000000123ll;
	snapshot->histogram_lowest = 1;
	snapshot->histogram_highest = 3600ll * 1000 * 1000 * 1000;
	snapshot->histogram_significant_figures = 3;
	snapshot->totals.aggregated = UINT64_MAX;
	snapshot->series = calloc(1, sizeof(*snapshot->series));
	assert_non_null(snapshot->series);
	snapshot->series_count = 1;
	struct agp_snapshot_series *series = &snapshot->series[0];
	snprintf(series->agent_type, sizeof(series->agent_type), "worker");
	snprintf(series->metric, sizeof(series->metric), "task_execution_time");
	series->metric_id = 1;
	series->unit = AGP_UNIT_NANOSECONDS;
	series->total_count = UINT64_MAX;
	series->failed_count = TWO_63;
	series->timeout_count = TWO_63 + 1;
	series->clamped = UINT64_MAX - 1;
	snapshot->alerts = calloc(1, sizeof(*snapshot->alerts));
	assert_non_null(snapshot->alerts);
	snapshot->alert_count = 1;
	struct agp_alert *alert = &snapshot->alerts[0];
	snprintf(alert->metric, sizeof(alert->metric), "task_execution_time");
	snprintf(alert->agent_type, sizeof(alert->agent_type), "worker");
	snprintf(alert->agent, sizeof(alert->agent), "w1");
	snprintf(alert->level, sizeof(alert->level), "critical");
	alert->unit = AGP_UNIT_NANOSECONDS;
	alert->task_id = UINT64_MAX - 2;
	alert->suppressed = UINT64_MAX;
	alert->sequence = TWO_63;
	snapshot->alerts_raised = TWO_63;
	return snapshot;
}

static void series_statistics_write_huge_counts(void **state)
{
	(void)state;
	struct agp_snapshot *snapshot = huge_snapshot();
	char *text = text_after_socket(agp_series_stats(snapshot, &snapshot->series[0], 0, false));
	assert_count(text, "total_count", UINT64_MAX);
	assert_count(text, "failed_count", TWO_63);
	assert_count(text, "timeout_count", TWO_63 + 1);
	assert_count(text, "clamped", UINT64_MAX - 1);
	free(text);
	agp_snapshot_free(snapshot);
}

static void ci_export_and_report_write_huge_counts(void **state)
{
	(void)state;
	static struct agp_config config;
	agp_config_defaults(&config);
	struct agp_snapshot *snapshot = huge_snapshot();
	char *text = text_after_socket(agp_ci_export(snapshot, &config, NULL, NULL));
	assert_count(text, "total_metrics_collected", UINT64_MAX);
	free(text);
	text = text_after_socket(agp_report(snapshot, &config, NULL));
	assert_count(text, "total_tasks_executed", UINT64_MAX);
	assert_count(text, "failed_tasks", TWO_63);
	assert_count(text, "timeout_tasks", TWO_63 + 1);
	/* 2^64-1 - 2^63 - (2^63+1): the tasks neither failed nor timed out. */
	assert_count(text, "successful_tasks", UINT64_MAX - TWO_63 - (TWO_63 + 1));
	/* The report's alert: its repeats as a count, its task id as a string. */
	assert_count(text, "suppressed", UINT64_MAX);
	assert_non_null(strstr(text, "\"task_id\":\"18446744073709551613\""));
	free(text);
	agp_snapshot_free(snapshot);
}

static void alert_writes_huge_sequence_and_task_id(void **state)
{
	(void)state;
	struct agp_snapshot *snapshot = huge_snapshot();
	/* As alerts.jsonl, the hook and `alerts --json` get it. */
	json_t *alert = agp_alert_to_json(&snapshot->alerts[0]);
	char *line = agp_json_dumps(alert, JSON_COMPACT);
	char *text = text_after_socket(alert);
	const char *const outputs[] = {line, text};
	for (size_t i = 0; i < 2; i++) {
		assert_count(outputs[i], "sequence", TWO_63);
		assert_count(outputs[i], "suppressed", UINT64_MAX);
		assert_non_null(strstr(outputs[i], "\"task_id\":\"18446744073709551613\""));
	}
	free(line);
	free(text);
	agp_snapshot_free(snapshot);
}

static void baseline_writes_huge_counts(void **state)
{
	(void)state;
	static struct agp_baseline baseline;
	baseline.established = true;
	baseline.samples_count = UINT64_MAX;
	baseline.confidence_interval = 0.95;
	baseline.metric_count = 1;
	snprintf(baseline.metrics[0].metric, sizeof(baseline.metrics[0].metric),
	         "coordination_overhead");
	baseline.metrics[0].unit = AGP_UNIT_NANOSECONDS;
	baseline.metrics[0].count = TWO_63;
	baseline.metrics[0].mean = 1e6;
	/* baseline.json is written by the same serialiser, without the socket. */
	json_t *json = agp_baseline_to_json(&baseline);
	char *file = agp_json_dumps(json, JSON_COMPACT);
	char *text = text_after_socket(json);
	const char *const outputs[] = {file, text};
	for (size_t i = 0; i < 2; i++) {
		assert_count(outputs[i], "samples_count", UINT64_MAX);
		assert_count(outputs[i], "count", TWO_63);
		assert_non_null(strstr(outputs[i], "\"confidence_interval\":0.95,"));
	}
	free(file);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(handcrafted_max_decodes_and_prints_exactly),
	    cmocka_unit_test(daemon_side_packs_max_as_msgpack_uint64),
	    cmocka_unit_test(boundaries_round_trip),
	    cmocka_unit_test(printer_rewrites_only_carriers),
	    cmocka_unit_test(series_statistics_write_huge_counts),
	    cmocka_unit_test(ci_export_and_report_write_huge_counts),
	    cmocka_unit_test(alert_writes_huge_sequence_and_task_id),
	    cmocka_unit_test(baseline_writes_huge_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
