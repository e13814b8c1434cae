/*
 * The collector's configuration: `.codexplus/performance/config.json`.
 *
 * The first three sections (thresholds, baseline, monitoring) are the seed's
 * schema, key for key and default for default (docs/config.md), so a
 * deployment's existing file keeps working. agentperf adds, clearly apart:
 *   - monitoring.http_listen, monitoring.group and
 *     monitoring.aggregation_window_seconds (see struct agp_config_additions);
 *   - a fourth top-level section `metrics`: per metric name an expected
 *     interval (coordinated-omission correction) and warning/critical
 *     thresholds, so that any metric, not only the seed's four, can alert.
 *
 * The order of application is: defaults (agp_config_defaults), optionally a
 * preset (agp_config_preset), the file (agp_config_load_file), the CODEX_*
 * environment (agp_config_apply_env). Each step checks the whole result
 * (agp_config_check) and, on any problem, leaves the caller's config
 * untouched and reports every problem, one per line, naming the file or
 * variable, the key path, the value found and what was expected. Nothing is
 * ever silently replaced by a default.
 *
 * The full key list with defaults and ranges is in docs/config.md.
 */
#ifndef AGP_COLLECTOR_CONFIG_H
#define AGP_COLLECTOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include <agentperf/metrics.h>

/* Where the config lives relative to the working folder, as in the seed. */
#define AGP_CONFIG_DEFAULT_PATH ".codexplus/performance/config.json"

/* Longest storage_dir / ci_export_file, without the terminating NUL. */
#define AGP_CONFIG_PATH_MAX 1023
/* Longest monitoring.http_listen ("[host:]port"), without the NUL. */
#define AGP_CONFIG_LISTEN_MAX 255
/* Longest monitoring.group (a group name or a numeric gid), without the NUL. */
#define AGP_CONFIG_GROUP_MAX 32
/* Most entries of the `metrics` section. */
#define AGP_CONFIG_METRICS_MAX 128

/* Seed section `thresholds`: durations in milliseconds, memory in MiB. */
struct agp_config_thresholds {
	double coordination_overhead_warning_ms;
	double coordination_overhead_critical_ms;
	double coordination_overhead_max_acceptable_ms;
	double task_execution_warning_ms;
	double task_execution_critical_ms;
	double agent_init_warning_ms;
	double agent_init_critical_ms;
	double memory_usage_warning_mb;
	double memory_usage_critical_mb;
	/* Upper limit of the sample standard deviation of coordination overhead, ms. */
	double coordination_variance_threshold;
};

/* Seed section `baseline`. */
struct agp_config_baseline {
	double measurement_period_hours;
	int64_t min_samples_for_baseline;
	double confidence_interval;
	bool auto_update_baseline;
	double update_frequency_hours;
	int64_t baseline_retention_days;
	double min_success_rate;
	double max_variance_coefficient;
};

/* Seed section `monitoring`. */
struct agp_config_monitoring {
	bool enabled;
	bool real_time_monitoring;
	bool background_monitoring;
	int64_t max_metrics_in_memory;
	double metric_retention_hours;
	int64_t aggregation_window_minutes;
	char storage_dir[AGP_CONFIG_PATH_MAX + 1];
	bool export_metrics_to_file;
	int64_t export_frequency_minutes;
	bool enable_threshold_alerts;
	bool enable_performance_degradation_alerts;
	int64_t alert_cooldown_minutes;
	bool ci_export_enabled;
	char ci_export_file[AGP_CONFIG_PATH_MAX + 1];
	bool ci_fail_on_threshold_violation;
};

/*
 * agentperf's own keys of the `monitoring` section (not in the seed). They
 * are written to a file only when they differ from their default, so a file
 * written with defaults has exactly the seed's schema.
 */
struct agp_config_additions {
	/* "[host:]port" of the Prometheus /metrics endpoint; "" = no HTTP server. */
	char http_listen[AGP_CONFIG_LISTEN_MAX + 1];
	/* Group allowed to use the segment and socket; "" = owner only. */
	char group[AGP_CONFIG_GROUP_MAX + 1];
	/*
	 * Window length in seconds, finer than aggregation_window_minutes (for
	 * tests and short runs). 0 = not set; when set it wins over the minutes.
	 */
	double aggregation_window_seconds;
	/* Shell command run with each alert's JSON on standard input; "" = none. */
	char alert_hook[AGP_CONFIG_PATH_MAX + 1];
};

/* The unit family a `metrics` entry's thresholds were written in. */
enum agp_config_threshold_unit {
	AGP_CONFIG_UNIT_NONE = 0, /* no thresholds given */
	AGP_CONFIG_UNIT_MS,       /* warning_ms / critical_ms: a duration metric */
	AGP_CONFIG_UNIT_MB,       /* warning_mb / critical_mb: a memory metric (MiB) */
	AGP_CONFIG_UNIT_COUNT,    /* warning / critical: a plain count */
};

/* The wire unit of a threshold unit: nanoseconds for MS, bytes for MB, a count otherwise. */
enum agp_unit agp_config_threshold_wire_unit(enum agp_config_threshold_unit unit);

/* One entry of the `metrics` section. Every value 0 means "not set". */
struct agp_config_metric {
	char name[AGP_METRIC_NAME_MAX + 1];
	double expected_interval_ms;
	enum agp_config_threshold_unit unit;
	double warning; /* in `unit` (ms, MiB or count) */
	double critical;
};

struct agp_config {
	struct agp_config_thresholds thresholds;
	struct agp_config_baseline baseline;
	struct agp_config_monitoring monitoring;
	struct agp_config_additions additions; /* agentperf's keys of `monitoring` */
	unsigned metric_count;
	struct agp_config_metric metrics[AGP_CONFIG_METRICS_MAX];
};

/* The seed's defaults (docs/config.md) and agentperf's: no HTTP, owner only, no metrics. */
void agp_config_defaults(struct agp_config *cfg);

/*
 * Applies "development" or "production" (docs/config.md) over cfg. Returns 0, or
 * -EINVAL for another name (message in err).
 */
int agp_config_preset(struct agp_config *cfg, const char *name, char *err, size_t errlen);

/*
 * Reads path over the values already in cfg (keys the file omits keep them).
 * Returns 0; -ENOENT when the file does not exist (the caller then uses
 * defaults; cfg untouched, a message in err); -EACCES, -EISDIR, -EFBIG, -EIO
 * ... when it cannot be read; -EINVAL when it is not JSON or has any unknown
 * section or key, wrong type or out-of-range value: err then lists every
 * problem, one per line. On failure cfg is untouched.
 */
int agp_config_load_file(const char *path, struct agp_config *cfg, char *err, size_t errlen);

/*
 * Applies the six CODEX_* variables (docs/config.md) that are set. Returns 0, or
 * -EINVAL when any is unparsable or out of range (each problem names its
 * variable and value) or when the result is inconsistent (for example a
 * CODEX_COORDINATION_THRESHOLD_MS below the warning threshold). On failure cfg
 * is untouched.
 */
int agp_config_apply_env(struct agp_config *cfg, char *err, size_t errlen);

/*
 * Checks every range and cross-key rule (warning <= critical, window within
 * retention, ...). source names where the values came from (a file path) and
 * starts each message. Returns 0, or -EINVAL with every problem in err, one a
 * line (with "(N more problems)" when err is too small).
 */
int agp_config_check(const struct agp_config *cfg, const char *source, char *err, size_t errlen);

/*
 * Resolves monitoring.group on this machine: "" is owner only (*has_group
 * false); digits are a numeric gid, taken as they are (below 4294967295);
 * any other name is looked up in the group database. Returns 0, -ENOENT when
 * no group has that name, -ERANGE for a gid out of range, or another negative
 * errno when the lookup itself failed; the message in err starts with source
 * (the config file) and names the key and the value. Outputs untouched on
 * failure.
 */
int agp_config_resolve_group(const struct agp_config *cfg, const char *source, bool *has_group,
                             gid_t *gid, char *err, size_t errlen);

/* Include agentperf's additions in the JSON even when they have their default value. */
#define AGP_CONFIG_JSON_ALL 0x1u

/*
 * The config as a new JSON object (the caller owns the reference) in the
 * seed's schema; NULL on allocation failure. flags: 0 or AGP_CONFIG_JSON_ALL.
 */
json_t *agp_config_to_json(const struct agp_config *cfg, unsigned flags);

/*
 * The config as text, indent 2, numbers in their shortest exact form, newline
 * at the end; malloc'ed (the caller frees), NULL on allocation failure.
 */
char *agp_config_to_string(const struct agp_config *cfg, unsigned flags);

/*
 * Writes the config to path atomically: a temporary file in the same folder,
 * fsync, rename over path, fsync of the folder. Missing parent folders are
 * created (mode 0700). A reader sees the old file or the new one, never a
 * mixture. Returns 0 or a negative errno (message in err).
 */
int agp_config_write_file(const char *path, const struct agp_config *cfg, char *err, size_t errlen);

/*
 * Warning and critical thresholds of a metric in its wire unit (nanoseconds
 * for durations, bytes for memory, the count itself otherwise); 0 = none.
 * The seed's metrics take them from `thresholds` (coordination_overhead,
 * task_execution_time, agent_initialization, memory_usage), every other
 * metric from its `metrics` entry. Returns 0 when the metric has at least one
 * threshold, -ENOENT when it has none (outputs untouched).
 */
int agp_config_metric_thresholds(const struct agp_config *cfg, const char *metric, uint64_t *warn,
                                 uint64_t *crit);

/* The `metrics` entry of a metric, or NULL. */
const struct agp_config_metric *agp_config_metric_find(const struct agp_config *cfg,
                                                       const char *metric);

/* A metric's expected interval in nanoseconds from its `metrics` entry; 0 = none. */
uint64_t agp_config_expected_interval_ns(const struct agp_config *cfg, const char *metric);

/* The aggregation window: aggregation_window_seconds when set, else the minutes. */
uint64_t agp_config_window_ns(const struct agp_config *cfg);

/* alert_cooldown_minutes in nanoseconds (0 = every violation alerts). */
uint64_t agp_config_cooldown_ns(const struct agp_config *cfg);

#endif
