/*
 * The control socket's thread.
 *
 * One poll() loop owns the listening socket, a wake pipe (for stop) and up
 * to max_clients connections. Every client socket is non-blocking. A client
 * is in one of three phases: reading a frame (header, then payload into a
 * buffer sized by the header, never above AGP_PROTOCOL_REQUEST_MAX),
 * writing a reply (the loop stops reading from it until the reply is out, so
 * a client that never reads can pin at most one reply), or idle between
 * requests. Each phase has a deadline; a client past it is closed. Nothing a
 * client does can block the loop, so one client never delays another beyond
 * the time the loop spends answering a request.
 *
 * Requests are answered from RCU snapshots of the collector. Verbs whose
 * answer should include the newest samples first ask the drain thread for a
 * fresh snapshot (agp_collector_refresh, bounded wait): the drain thread
 * answers between drains, and never waits for this thread.
 */
#include "collector/control/server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/alerts/sink.h"
#include "common/control_path.h"
#include "hdr/histogram.h"
#include "collector/export/hlog_export.h"
#include "collector/analysis/level.h"
#include "common/protocol.h"
#include "common/error.h"
#include "common/write_losses.h"
#include "collector/analysis/validation.h"

#define REFRESH_WAIT_MS 500
#define STRINGIFY_(x)   #x
#define STRINGIFY(x)    STRINGIFY_(x)
#define AGP_COLLECTOR_VERSION                                                                      \
	STRINGIFY(AGENTPERF_VERSION_MAJOR) "." STRINGIFY(AGENTPERF_VERSION_MINOR)

struct client {
	int fd;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int64_t deadline_ms;
	unsigned char header[AGP_PROTOCOL_FRAME_HEADER];
	size_t header_got;
	unsigned char *payload; /* NULL until the header is complete */
	uint32_t payload_length;
	uint32_t payload_got;
	msgpack_sbuffer reply;
	size_t reply_sent;
	bool close_after_reply;
};

struct agp_control_server {
	struct agp_collector *collector;
	struct agp_control_options options;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int wake[2];
	pthread_t thread;
	bool has_group;
	gid_t group;
	char group_name[AGP_CONFIG_GROUP_MAX + 1];
	unsigned client_count;
	struct client *clients;
};

void agp_control_options_default(struct agp_control_options *options)
{
	memset(options, 0, sizeof(*options));
	options->request_timeout_ms = 5000;
	options->idle_timeout_ms = 60000;
	options->max_clients = 64;
}

const char *agp_control_server_path(const struct agp_control_server *server)
{
	return server->path;
}

static int64_t now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- access */

static int resolve_group(struct agp_control_server *server)
{
	const char *name = server->collector->config.additions.group;
	if (!name[0])
		return 0;
	char *end;
	errno = 0;
	unsigned long number = strtoul(name, &end, 10);
	if (!*end && !errno) {
		server->group = (gid_t)number;
	} else {
		struct group *entry = getgrnam(name);
		if (!entry)
			return agp__error(-ENOENT, "monitoring.group '%s' is not a known group",
			                  name);
		server->group = entry->gr_gid;
	}
	server->has_group = true;
	snprintf(server->group_name, sizeof(server->group_name), "%s", name);
	return 0;
}

/* Whether uid (primary group gid) belongs to the configured group. */
static bool in_group(const struct agp_control_server *server, uid_t uid, gid_t gid)
{
	if (!server->has_group)
		return false;
	if (gid == server->group)
		return true;
	struct passwd *user = getpwuid(uid);
	if (!user)
		return false;
	gid_t groups[256];
	int count = 256;
	if (getgrouplist(user->pw_name, gid, groups, &count) < 0)
		return false;
	for (int i = 0; i < count; i++)
		if (groups[i] == server->group)
			return true;
	return false;
}

/* Makes the socket's folder private (or group-traversable), refusing a folder someone else owns. */
static int prepare_folder(struct agp_control_server *server)
{
	char folder[sizeof(server->path)];
	snprintf(folder, sizeof(folder), "%s", server->path);
	char *slash = strrchr(folder, '/');
	if (!slash || slash == folder)
		return agp__error(-EINVAL, "socket path %s has no folder", server->path);
	*slash = '\0';
	mode_t mode = server->has_group ? 0710 : 0700;
	if (mkdir(folder, mode) && errno != EEXIST)
		return agp__error(-errno, "creating socket folder %s: %s", folder, strerror(errno));
	struct stat info;
	if (lstat(folder, &info))
		return agp__error(-errno, "socket folder %s: %s", folder, strerror(errno));
	if (!S_ISDIR(info.st_mode) || info.st_uid != geteuid())
		return agp__error(-EPERM,
		                  "socket folder %s is not a folder owned by uid %u: refusing it",
		                  folder, (unsigned)geteuid());
	if (server->has_group && chown(folder, (uid_t)-1, server->group))
		return agp__error(-errno, "giving socket folder %s to group %s: %s", folder,
		                  server->group_name, strerror(errno));
	if (chmod(folder, mode))
		return agp__error(-errno, "chmod of socket folder %s: %s", folder, strerror(errno));
	return 0;
}

/* -EADDRINUSE when a daemon answers on path; otherwise removes a stale socket. */
static int clear_stale_socket(const char *path, const struct sockaddr_un *address)
{
	struct stat info;
	if (lstat(path, &info))
		return 0;
	if (!S_ISSOCK(info.st_mode))
		return agp__error(-EEXIST, "%s exists and is not a socket: refusing to replace it",
		                  path);
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	int answered = connect(probe, (const struct sockaddr *)address, sizeof(*address)) == 0;
	close(probe);
	if (answered)
		return agp__error(-EADDRINUSE, "another agentperfd serves control socket %s", path);
	unlink(path);
	return 0;
}

/* ---------------------------------------------------------------- arguments */

struct args_error {
	char message[256];
};

/* Strict arguments: every key of args must be in allowed (NULL-terminated). */
static int check_arg_keys(const json_t *args, const char *const *allowed, const char *verb,
                          struct args_error *err)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)args, key, value)
	{
		bool known = false;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, key) == 0;
		if (!known) {
			snprintf(err->message, sizeof(err->message),
			         "verb %s takes no argument \"%.64s\"", verb, key);
			return -EINVAL;
		}
	}
	return 0;
}

static int arg_string(const json_t *args, const char *key, const char **out, struct args_error *err)
{
	json_t *value = json_object_get(args, key);
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_string(value)) {
		snprintf(err->message, sizeof(err->message), "argument %s must be a string", key);
		return -EINVAL;
	}
	*out = json_string_value(value);
	return 0;
}

static int arg_number(const json_t *args, const char *key, double min, double *out,
                      struct args_error *err)
{
	json_t *value = json_object_get(args, key);
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_number(value) || !(json_number_value(value) >= min) ||
	    !isfinite(json_number_value(value))) {
		snprintf(err->message, sizeof(err->message), "argument %s must be a number >= %g",
		         key, min);
		return -EINVAL;
	}
	*out = json_number_value(value);
	return 0;
}

static int arg_bool(const json_t *args, const char *key, bool *out, struct args_error *err)
{
	json_t *value = json_object_get(args, key);
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_boolean(value)) {
		snprintf(err->message, sizeof(err->message), "argument %s must be true or false",
		         key);
		return -EINVAL;
	}
	*out = json_is_true(value);
	return 0;
}

/* ---------------------------------------------------------------- verbs */

struct answer {
	json_t *result; /* set on success */
	int code;       /* negative errno on failure */
	char message[512];
};

static void answer_error(struct answer *answer, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void answer_error(struct answer *answer, int code, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(answer->message, sizeof(answer->message), format, args);
	va_end(args);
	answer->code = code;
}

static double metric_display_scale(enum agp_unit unit)
{
	return unit == AGP_UNIT_NANOSECONDS ? 1e-6 : unit == AGP_UNIT_BYTES ? 1.0 / 1048576 : 1.0;
}

static const char *metric_display_unit(enum agp_unit unit)
{
	return unit == AGP_UNIT_NANOSECONDS ? "ms" : unit == AGP_UNIT_BYTES ? "MiB" : "count";
}

/* Merges every matching series' windows of [since, ∞) into a new histogram. */
static int merge_matching(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                          const char *metric, const char *agent_type, const char *agent,
                          uint64_t since_ns, bool corrected, struct agp_hdr **out,
                          enum agp_unit *unit, size_t *matched)
{
	const struct agp_collector_options *o = &server->collector->options;
	struct agp_hdr *histogram;
	int error = agp_hdr_create(o->histogram_lowest, o->histogram_highest,
	                           o->histogram_significant_figures, &histogram);
	if (error)
		return error;
	*matched = 0;
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (strcmp(series->metric, metric))
			continue;
		if (agent ? strcmp(series->agent, agent) : series->agent[0] != '\0')
			continue;
		if (agent_type && strcmp(series->agent_type, agent_type))
			continue;
		error =
		    agp_snapshot_merge_windows(series, since_ns, UINT64_MAX, corrected, histogram);
		if (error) {
			agp_hdr_destroy(histogram);
			return error;
		}
		*unit = series->unit;
		(*matched)++;
	}
	*out = histogram;
	return 0;
}

static uint64_t window_since(const struct agp_snapshot *snapshot, double window_s)
{
	if (window_s <= 0)
		return 0;
	double window_ns = window_s * 1e9;
	return window_ns >= (double)snapshot->taken_ns ? 0
	                                               : snapshot->taken_ns - (uint64_t)window_ns;
}

static json_t *overall_health(struct agp_control_server *server,
                              const struct agp_snapshot *snapshot)
{
	struct agp_hdr *histogram;
	enum agp_unit unit = AGP_UNIT_NANOSECONDS;
	size_t matched;
	if (merge_matching(server, snapshot, "coordination_overhead", NULL, NULL,
	                   window_since(snapshot, AGP_VALIDATION_WINDOW_NS / 1e9), false,
	                   &histogram, &unit, &matched))
		return json_string("unknown");
	struct agp_level_bands bands;
	agp_level_bands_from_config(&server->collector->config, &bands);
	enum agp_level level =
	    agp_level_classify(&bands, (uint64_t)histogram->total_count, agp_hdr_mean(histogram));
	agp_hdr_destroy(histogram);
	return json_string(agp_level_name(level));
}

static void verb_status(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                        const json_t *args, struct answer *answer)
{
	(void)args;
	const struct agp_snapshot_totals *t = &snapshot->totals;
	answer->result = json_pack(
	    "{s:s, s:i, s:s, s:i, s:f, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:o, s:s, s:I}",
	    "deployment", snapshot->deployment, "pid", (int)snapshot->collector_pid, "version",
	    AGP_COLLECTOR_VERSION, "protocol", AGP_PROTOCOL_VERSION, "uptime_s",
	    (double)(snapshot->taken_ns - snapshot->collector_started_ns) / 1e9, "agents_live",
	    (json_int_t)t->agents_live, "agents", (json_int_t)snapshot->agent_count,
	    "samples_per_second", t->samples_per_second, "written", (json_int_t)t->written,
	    "aggregated", (json_int_t)t->aggregated, "invalid", (json_int_t)t->invalid, "dropped",
	    (json_int_t)t->dropped, "pending", (json_int_t)t->pending, "earlier",
	    (json_int_t)t->earlier, "alerts", (json_int_t)t->alerts, "quarantined_slots",
	    (json_int_t)t->quarantined_slots, "snapshot_generation",
	    (json_int_t)snapshot->generation, "health", overall_health(server, snapshot), "socket",
	    server->path, "taken_wall_ms", (json_int_t)snapshot->taken_wall_ms);
	if (answer->result) /* writes the disk refused, per destination (write_losses.h) */
		json_object_set_new(answer->result, "lost_writes", agp_write_losses_json());
}

static void verb_agents(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                        const json_t *args, struct answer *answer)
{
	(void)server;
	(void)args;
	json_t *list = json_array();
	for (size_t a = 0; list && a < snapshot->agent_count; a++) {
		const struct agp_snapshot_agent *agent = &snapshot->agents[a];
		json_array_append_new(
		    list,
		    json_pack(
		        "{s:s, s:s, s:i, s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}",
		        "name", agent->name, "type", agent->type, "pid", (int)agent->pid, "slot",
		        (int)agent->slot, "state", agp_agent_state_name(agent->state),
		        "quarantined", agent->quarantined, "samples", (json_int_t)agent->written,
		        "aggregated", (json_int_t)agent->aggregated, "invalid",
		        (json_int_t)agent->invalid, "dropped", (json_int_t)agent->dropped,
		        "pending", (json_int_t)agent->pending, "earlier",
		        (json_int_t)agent->earlier, "rate", agent->samples_per_second, "age_s",
		        agent->first_seen_ns && snapshot->taken_ns > agent->first_seen_ns
		            ? (double)(snapshot->taken_ns - agent->first_seen_ns) / 1e9
		            : 0.0));
	}
	answer->result = json_pack("{s:o}", "agents", list);
}

static void verb_stats(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                       const json_t *args, struct answer *answer)
{
	(void)server;
	static const char *const allowed[] = {"metric",   "agent_type", "agent",
	                                      "window_s", "corrected",  NULL};
	struct args_error err = {{0}};
	const char *metric = NULL, *agent_type = NULL, *agent = NULL;
	double window_s = 0;
	bool corrected = false;
	if (check_arg_keys(args, allowed, "stats", &err) ||
	    arg_string(args, "metric", &metric, &err) ||
	    arg_string(args, "agent_type", &agent_type, &err) ||
	    arg_string(args, "agent", &agent, &err) ||
	    arg_number(args, "window_s", 0, &window_s, &err) ||
	    arg_bool(args, "corrected", &corrected, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	uint64_t since_ns = window_since(snapshot, window_s);
	json_t *list = json_array();
	for (size_t s = 0; list && s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (metric && strcmp(series->metric, metric))
			continue;
		if (agent_type && strcmp(series->agent_type, agent_type))
			continue;
		if (agent ? strcmp(series->agent, agent) : series->agent[0] != '\0')
			continue;
		if (corrected && !series->expected_interval_ns)
			continue;
		json_t *stats = agp_series_stats(snapshot, series, since_ns, corrected);
		if (!stats)
			continue;
		json_object_set_new(stats, "metric", json_string(series->metric));
		json_object_set_new(stats, "agent_type", json_string(series->agent_type));
		json_object_set_new(stats, "agent", json_string(series->agent));
		json_object_set_new(stats, "unit", json_string(agp_unit_name(series->unit)));
		json_object_set_new(stats, "display_unit",
		                    json_string(metric_display_unit(series->unit)));
		json_object_set_new(stats, "display_scale",
		                    json_real(metric_display_scale(series->unit)));
		json_object_set_new(stats, "corrected", json_boolean(corrected));
		json_object_set_new(stats, "total_count",
		                    json_integer((json_int_t)series->total_count));
		json_array_append_new(list, stats);
	}
	answer->result = json_pack("{s:o, s:f}", "series", list, "window_s", window_s);
}

static void verb_percentiles(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                             const json_t *args, struct answer *answer)
{
	static const char *const allowed[] = {"metric",    "agent_type", "agent", "window_s",
	                                      "corrected", "ticks",      NULL};
	struct args_error err = {{0}};
	const char *metric = NULL, *agent_type = NULL, *agent = NULL;
	double window_s = 0, ticks = 5;
	bool corrected = false;
	if (check_arg_keys(args, allowed, "percentiles", &err) ||
	    arg_string(args, "metric", &metric, &err) ||
	    arg_string(args, "agent_type", &agent_type, &err) ||
	    arg_string(args, "agent", &agent, &err) ||
	    arg_number(args, "window_s", 0, &window_s, &err) ||
	    arg_bool(args, "corrected", &corrected, &err) ||
	    arg_number(args, "ticks", 1, &ticks, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	if (!metric) {
		answer_error(answer, -EINVAL, "verb percentiles needs argument metric");
		return;
	}
	if (ticks > 100)
		ticks = 100;
	struct agp_hdr *histogram;
	enum agp_unit unit = AGP_UNIT_NANOSECONDS;
	size_t matched;
	int error = merge_matching(server, snapshot, metric, agent_type, agent,
	                           window_since(snapshot, window_s), corrected, &histogram, &unit,
	                           &matched);
	if (error) {
		answer_error(answer, error, "merging the windows of %s: %s", metric,
		             error == -ENOENT ? "no corrected histograms (no expected interval)"
		                              : strerror(-error));
		return;
	}
	if (!matched) {
		agp_hdr_destroy(histogram);
		answer_error(answer, -ENOENT, "no series of metric %s matches", metric);
		return;
	}
	json_t *points = json_array();
	if (histogram->total_count > 0) {
		struct agp_hdr_iter it;
		agp_hdr_iter_percentile_init(&it, histogram, (int32_t)ticks);
		while (points && agp_hdr_iter_percentile_next(&it))
			json_array_append_new(
			    points, json_pack("{s:f, s:I, s:I}", "percentile", it.percentile,
			                      "value", (json_int_t)it.highest_equivalent_value,
			                      "count", (json_int_t)it.cumulative_count));
	}
	bool any = histogram->total_count > 0;
	answer->result = json_pack(
	    "{s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:f, s:o}", "metric", metric, "unit",
	    agp_unit_name(unit), "display_unit", metric_display_unit(unit), "display_scale",
	    metric_display_scale(unit), "count", (json_int_t)histogram->total_count, "min",
	    (json_int_t)(any ? agp_hdr_min(histogram) : 0), "max",
	    (json_int_t)(any ? agp_hdr_max(histogram) : 0), "mean",
	    any ? agp_hdr_mean(histogram) : 0.0, "points", points);
	agp_hdr_destroy(histogram);
}

static int baseline_get(struct agp_control_server *server, struct agp_baseline *out, char *err,
                        size_t errlen)
{
	if (server->options.baseline.get)
		return server->options.baseline.get(server->options.baseline.context, out);
	return agp_baseline_load(server->collector->config.monitoring.storage_dir, out, err,
	                         errlen);
}

static void verb_baseline_establish(struct agp_control_server *server,
                                    const struct agp_snapshot *snapshot, const json_t *args,
                                    struct answer *answer)
{
	static const char *const allowed[] = {"hours", "min_samples", "confidence", NULL};
	const struct agp_config_baseline *defaults = &server->collector->config.baseline;
	struct args_error err = {{0}};
	double hours = defaults->measurement_period_hours;
	double min_samples = (double)defaults->min_samples_for_baseline;
	double confidence = defaults->confidence_interval;
	if (check_arg_keys(args, allowed, "baseline.establish", &err) ||
	    arg_number(args, "hours", 0, &hours, &err) ||
	    arg_number(args, "min_samples", 1, &min_samples, &err) ||
	    arg_number(args, "confidence", 0, &confidence, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	if (hours <= 0 || confidence <= 0 || confidence >= 1) {
		answer_error(
		    answer, -EINVAL,
		    "baseline.establish needs hours > 0 and 0 < confidence < 1 (got %g, %g)", hours,
		    confidence);
		return;
	}
	struct agp_baseline *baseline = malloc(sizeof(*baseline));
	if (!baseline) {
		answer_error(answer, -ENOMEM, "out of memory");
		return;
	}
	char message[512] = "";
	int error;
	if (server->options.baseline.establish) {
		error = server->options.baseline.establish(server->options.baseline.context, hours,
		                                           (int64_t)min_samples, confidence,
		                                           baseline, message, sizeof(message));
	} else {
		error = agp_baseline_establish(snapshot, hours, (int64_t)min_samples, confidence,
		                               baseline, message, sizeof(message));
		if (!error)
			error = agp_baseline_save(baseline,
			                          server->collector->config.monitoring.storage_dir,
			                          message, sizeof(message));
	}
	if (error)
		answer_error(answer, error, "%s", message[0] ? message : strerror(-error));
	else
		answer->result = agp_baseline_to_json(baseline);
	free(baseline);
}

static void verb_baseline_show(struct agp_control_server *server,
                               const struct agp_snapshot *snapshot, const json_t *args,
                               struct answer *answer)
{
	(void)snapshot;
	(void)args;
	struct agp_baseline *baseline = malloc(sizeof(*baseline));
	if (!baseline) {
		answer_error(answer, -ENOMEM, "out of memory");
		return;
	}
	char message[512] = "";
	int error = baseline_get(server, baseline, message, sizeof(message));
	if (error == -ENOENT)
		answer_error(answer, error,
		             "no baseline established yet (run `agentperf baseline establish`)");
	else if (error)
		answer_error(answer, error, "%s", message[0] ? message : strerror(-error));
	else
		answer->result = agp_baseline_to_json(baseline);
	free(baseline);
}

/* The baseline when there is one; NULL otherwise (the analyses handle "no baseline"). */
static struct agp_baseline *baseline_or_null(struct agp_control_server *server)
{
	struct agp_baseline *baseline = malloc(sizeof(*baseline));
	char message[512];
	if (baseline && baseline_get(server, baseline, message, sizeof(message))) {
		free(baseline);
		baseline = NULL;
	}
	return baseline;
}

static void verb_validate(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                          const json_t *args, struct answer *answer)
{
	(void)args;
	struct agp_baseline *baseline = baseline_or_null(server);
	bool validated = false;
	answer->result = agp_validate(snapshot, &server->collector->config, baseline, &validated);
	free(baseline);
}

static void verb_export_ci(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                           const json_t *args, struct answer *answer)
{
	(void)args;
	const struct agp_config_monitoring *m = &server->collector->config.monitoring;
	struct agp_baseline *baseline = baseline_or_null(server);
	bool meets = false;
	json_t *export = agp_ci_export(snapshot, &server->collector->config, baseline, &meets);
	free(baseline);
	if (export)
		answer->result = json_pack(
		    "{s:o, s:b, s:s, s:b, s:b}", "export", export, "meets_requirements", meets,
		    "ci_export_file", m->ci_export_file, "ci_fail_on_threshold_violation",
		    m->ci_fail_on_threshold_violation, "ci_export_enabled", m->ci_export_enabled);
}

static void verb_report(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                        const json_t *args, struct answer *answer)
{
	(void)args;
	struct agp_baseline *baseline = baseline_or_null(server);
	answer->result = agp_report(snapshot, &server->collector->config, baseline);
	free(baseline);
}

static void verb_alerts(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                        const json_t *args, struct answer *answer)
{
	(void)server;
	static const char *const allowed[] = {"since", NULL};
	struct args_error err = {{0}};
	double since = 0;
	if (check_arg_keys(args, allowed, "alerts", &err) ||
	    arg_number(args, "since", 0, &since, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	uint64_t after = since >= 9e18 ? UINT64_MAX : (uint64_t)since;
	json_t *list = json_array();
	uint64_t oldest = snapshot->alert_count ? snapshot->alerts[0].sequence : 0;
	for (size_t a = 0; list && a < snapshot->alert_count; a++)
		if (snapshot->alerts[a].sequence > after)
			json_array_append_new(list, agp_alert_to_json(&snapshot->alerts[a]));
	/* Alerts raised after `since` but already gone from the snapshot's recent list. */
	uint64_t missed = oldest > after + 1 ? oldest - after - 1 : 0;
	answer->result =
	    json_pack("{s:o, s:I, s:I}", "alerts", list, "newest",
	              (json_int_t)snapshot->alerts_raised, "missed", (json_int_t)missed);
}

static void verb_config_show(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                             const json_t *args, struct answer *answer)
{
	(void)snapshot;
	(void)args;
	answer->result = agp_config_to_json(&server->collector->config, AGP_CONFIG_JSON_ALL);
}

/*
 * The interval log of the running collector: every window of the (agent type, metric) series
 * in [now - window_s, now], the open one included, as one .hlog text (hlog_export.h). Unlike the
 * files the log service writes, this covers the window that has not closed yet.
 */
static void verb_hlog(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                      const json_t *args, struct answer *answer)
{
	static const char *const allowed[] = {"metric", "window_s", NULL};
	struct args_error err = {{0}};
	const char *metric = NULL;
	double window_s = 0;
	if (check_arg_keys(args, allowed, "hlog", &err) ||
	    arg_string(args, "metric", &metric, &err) ||
	    arg_number(args, "window_s", 0, &window_s, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	const struct agp_collector_options *o = &server->collector->options;
	size_t length = 0;
	char *text = agp_hlog_export_layout(snapshot, metric, window_since(snapshot, window_s),
	                                    o->histogram_lowest, o->histogram_highest,
	                                    o->histogram_significant_figures, &length);
	if (!text) {
		answer_error(answer, -ENOMEM, "%s", agp_last_error());
		return;
	}
	size_t intervals = 0;
	for (const char *line = text; (line = strstr(line, "\nTag=")) != NULL; line++)
		intervals++;
	answer->result = json_pack("{s:s%, s:I, s:f}", "hlog", text, length, "intervals",
	                           (json_int_t)intervals, "window_s", window_s);
	free(text);
}

typedef void (*verb_handler)(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                             const json_t *args, struct answer *answer);

static const struct {
	verb_handler handler;
	bool refresh; /* ask the drain thread for everything drained up to now first */
} verbs[AGP_VERB_COUNT] = {
    [AGP_VERB_STATUS] = {verb_status, true},
    [AGP_VERB_AGENTS] = {verb_agents, true},
    [AGP_VERB_STATS] = {verb_stats, true},
    [AGP_VERB_PERCENTILES] = {verb_percentiles, true},
    [AGP_VERB_BASELINE_ESTABLISH] = {verb_baseline_establish, true},
    [AGP_VERB_BASELINE_SHOW] = {verb_baseline_show, false},
    [AGP_VERB_VALIDATE] = {verb_validate, true},
    [AGP_VERB_EXPORT_CI] = {verb_export_ci, true},
    [AGP_VERB_REPORT] = {verb_report, true},
    [AGP_VERB_ALERTS] = {verb_alerts, true},
    [AGP_VERB_CONFIG_SHOW] = {verb_config_show, false},
    [AGP_VERB_HLOG] = {verb_hlog, true},
};

static void answer_request(struct agp_control_server *server, const struct agp_request *request,
                           struct answer *answer)
{
	if (verbs[request->verb].refresh)
		(void)agp_collector_refresh(server->collector, REFRESH_WAIT_MS); /* stale is fine */
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(server->collector);
	if (snapshot)
		verbs[request->verb].handler(server, snapshot, request->args, answer);
	else
		answer_error(answer, -EAGAIN, "the collector has published no snapshot yet");
	agp_snapshot_read_end(snapshot);
	if (!answer->result && !answer->code)
		answer_error(answer, -ENOMEM, "verb %s: could not build its result",
		             agp_verb_name(request->verb));
}

/* ---------------------------------------------------------------- clients */

static void client_close(struct agp_control_server *server, unsigned index)
{
	struct client *client = &server->clients[index];
	close(client->fd);
	free(client->payload);
	msgpack_sbuffer_destroy(&client->reply);
	server->clients[index] = server->clients[--server->client_count];
}

static void client_reset_request(struct client *client)
{
	free(client->payload);
	client->payload = NULL;
	client->header_got = 0;
	client->payload_length = client->payload_got = 0;
}

/* Queues an error reply, after which the connection closes. */
static void client_fail(struct agp_control_server *server, struct client *client, int code,
                        const char *message)
{
	fprintf(stderr, "agentperfd: control: client pid %d uid %u: %s\n", (int)client->pid,
	        (unsigned)client->uid, message);
	(void)server;
	agp_protocol_encode_error(&client->reply, code, message);
	client->close_after_reply = true;
	client_reset_request(client);
}

static void client_handle_payload(struct agp_control_server *server, struct client *client)
{
	char message[512];
	struct agp_request request;
	int error = agp_protocol_decode_request(client->payload, client->payload_length, &request,
	                                        message, sizeof(message));
	client_reset_request(client);
	if (error) {
		client_fail(server, client, error, message);
		return;
	}
	struct answer answer = {0};
	answer_request(server, &request, &answer);
	json_decref(request.args);
	if (answer.result) {
		error = agp_protocol_encode_ok(&client->reply, answer.result);
		json_decref(answer.result);
		if (error)
			agp_protocol_encode_error(&client->reply, error,
			                          "the reply cannot be encoded (too large?)");
	} else {
		agp_protocol_encode_error(&client->reply, answer.code, answer.message);
	}
}

/* Reads what is there; false when the client is to be closed now. */
static bool client_read(struct agp_control_server *server, struct client *client)
{
	for (;;) {
		ssize_t got;
		if (client->header_got < AGP_PROTOCOL_FRAME_HEADER)
			got = read(client->fd, client->header + client->header_got,
			           AGP_PROTOCOL_FRAME_HEADER - client->header_got);
		else
			got = read(client->fd, client->payload + client->payload_got,
			           client->payload_length - client->payload_got);
		if (got < 0)
			return errno == EAGAIN || errno == EINTR;
		if (got == 0) {
			if (client->header_got)
				fprintf(
				    stderr,
				    "agentperfd: control: client pid %d closed in the middle of a "
				    "request (truncated)\n",
				    (int)client->pid);
			return false;
		}
		if (client->header_got == 0 && client->payload == NULL)
			client->deadline_ms = now_ms() + server->options.request_timeout_ms;
		if (client->header_got < AGP_PROTOCOL_FRAME_HEADER) {
			client->header_got += (size_t)got;
			if (client->header_got < AGP_PROTOCOL_FRAME_HEADER)
				continue;
			uint32_t length = agp_frame_length(client->header);
			if (length == 0 || length > AGP_PROTOCOL_REQUEST_MAX) {
				char message[128];
				snprintf(message, sizeof(message),
				         "request of %u bytes refused (1 to %u bytes allowed)",
				         length, AGP_PROTOCOL_REQUEST_MAX);
				client_fail(server, client, length ? -EMSGSIZE : -EPROTO, message);
				return true;
			}
			client->payload = malloc(length);
			if (!client->payload) {
				client_fail(server, client, -ENOMEM, "out of memory");
				return true;
			}
			client->payload_length = length;
			continue;
		}
		client->payload_got += (uint32_t)got;
		if (client->payload_got == client->payload_length) {
			client_handle_payload(server, client);
			client->deadline_ms = now_ms() + server->options.request_timeout_ms;
			return true; /* the reply goes out before anything more is read */
		}
	}
}

/* Writes what the socket takes; false when the client is to be closed now. */
static bool client_write(struct agp_control_server *server, struct client *client)
{
	while (client->reply_sent < client->reply.size) {
		ssize_t sent = send(client->fd, client->reply.data + client->reply_sent,
		                    client->reply.size - client->reply_sent, MSG_NOSIGNAL);
		if (sent < 0)
			return errno == EAGAIN || errno == EINTR;
		client->reply_sent += (size_t)sent;
	}
	client->reply.size = 0;
	client->reply_sent = 0;
	client->deadline_ms = now_ms() + server->options.idle_timeout_ms;
	return !client->close_after_reply;
}

static void accept_clients(struct agp_control_server *server)
{
	for (;;) {
		int fd = accept4(server->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ucred credentials;
		socklen_t length = sizeof(credentials);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length)) {
			close(fd);
			continue;
		}
		char message[256] = "";
		if (credentials.uid != geteuid() &&
		    !in_group(server, credentials.uid, credentials.gid))
			snprintf(message, sizeof(message),
			         "refused: uid %u is neither the daemon's uid %u nor in %s%s",
			         (unsigned)credentials.uid, (unsigned)geteuid(),
			         server->has_group ? "group " : "a configured group",
			         server->has_group ? server->group_name : "");
		else if (server->client_count >= server->options.max_clients)
			snprintf(message, sizeof(message), "refused: %u clients connected already",
			         server->client_count);
		if (message[0]) {
			fprintf(stderr, "agentperfd: control: client pid %d uid %u gid %u %s\n",
			        (int)credentials.pid, (unsigned)credentials.uid,
			        (unsigned)credentials.gid, message);
			/* One try at telling it why, without waiting for it. */
			msgpack_sbuffer reply;
			msgpack_sbuffer_init(&reply);
			if (!agp_protocol_encode_error(&reply, EACCES, message))
				(void)!send(fd, reply.data, reply.size,
				            MSG_NOSIGNAL | MSG_DONTWAIT);
			msgpack_sbuffer_destroy(&reply);
			close(fd);
			continue;
		}
		struct client *client = &server->clients[server->client_count++];
		memset(client, 0, sizeof(*client));
		client->fd = fd;
		client->pid = credentials.pid;
		client->uid = credentials.uid;
		client->gid = credentials.gid;
		client->deadline_ms = now_ms() + server->options.idle_timeout_ms;
		msgpack_sbuffer_init(&client->reply);
	}
}

static void *server_thread(void *argument)
{
	struct agp_control_server *server = argument;
	struct pollfd *fds = calloc(server->options.max_clients + 2, sizeof(*fds));
	if (!fds) {
		fprintf(stderr, "agentperfd: control: out of memory; control socket disabled\n");
		return NULL;
	}
	for (;;) {
		fds[0] = (struct pollfd){.fd = server->wake[0], .events = POLLIN};
		fds[1] = (struct pollfd){.fd = server->listen_fd, .events = POLLIN};
		int64_t now = now_ms();
		int64_t next_deadline = now + 1000;
		for (unsigned i = 0; i < server->client_count; i++) {
			struct client *client = &server->clients[i];
			bool writing = client->reply.size > 0;
			fds[i + 2] =
			    (struct pollfd){.fd = client->fd, .events = writing ? POLLOUT : POLLIN};
			if (client->deadline_ms < next_deadline)
				next_deadline = client->deadline_ms;
		}
		int timeout = next_deadline > now ? (int)(next_deadline - now) : 0;
		unsigned polled = server->client_count;
		if (poll(fds, polled + 2, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		/* Walk backwards: client_close moves the last client into the freed place. */
		now = now_ms();
		for (unsigned i = polled; i-- > 0;) {
			struct client *client = &server->clients[i];
			short revents = fds[i + 2].revents;
			bool keep = true;
			if (revents & (POLLERR | POLLNVAL)) {
				keep = false;
			} else if (client->reply.size > 0) {
				if (revents & (POLLOUT | POLLHUP))
					keep = client_write(server, client);
			} else if (revents & (POLLIN | POLLHUP)) {
				keep = client_read(server, client);
				if (keep && client->reply.size > 0)
					keep = client_write(server, client);
			}
			if (keep && now >= client->deadline_ms) {
				fprintf(
				    stderr,
				    "agentperfd: control: client pid %d timed out (%s); closing "
				    "it\n",
				    (int)client->pid,
				    client->reply.size   ? "not reading its reply"
				    : client->header_got ? "request incomplete"
				                         : "idle");
				keep = false;
			}
			if (!keep)
				client_close(server, i);
		}
		if (fds[1].revents & POLLIN)
			accept_clients(server);
	}
	while (server->client_count)
		client_close(server, server->client_count - 1);
	free(fds);
	return NULL;
}

/* ---------------------------------------------------------------- life */

int agp_control_server_start(struct agp_collector *collector,
                             const struct agp_control_options *options,
                             struct agp_control_server **out)
{
	struct agp_control_server *server = calloc(1, sizeof(*server));
	if (!server)
		return -ENOMEM;
	server->collector = collector;
	server->listen_fd = server->wake[0] = server->wake[1] = -1;
	if (options)
		server->options = *options;
	else
		agp_control_options_default(&server->options);
	int error;
	server->clients = calloc(server->options.max_clients, sizeof(*server->clients));
	if (!server->clients) {
		error = -ENOMEM;
		goto free_server;
	}
	if (server->options.socket_path) {
		if (strlen(server->options.socket_path) >= sizeof(server->path)) {
			error = agp__error(-ENAMETOOLONG, "socket path %s is too long",
			                   server->options.socket_path);
			goto free_clients;
		}
		snprintf(server->path, sizeof(server->path), "%s", server->options.socket_path);
	} else if ((error = agp_control_socket_path(collector->segment.deployment, server->path,
	                                            sizeof(server->path)))) {
		goto free_clients;
	}
	if ((error = resolve_group(server)) || (error = prepare_folder(server)))
		goto free_clients;
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	memcpy(address.sun_path, server->path, strlen(server->path) + 1);
	if ((error = clear_stale_socket(server->path, &address)))
		goto free_clients;
	server->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (server->listen_fd < 0) {
		error = agp__error(-errno, "socket(): %s", strerror(errno));
		goto free_clients;
	}
	/* The folder is private, so nobody reaches the socket before its mode is set. */
	if (bind(server->listen_fd, (struct sockaddr *)&address, sizeof(address))) {
		error = agp__error(-errno, "binding control socket %s: %s", server->path,
		                   strerror(errno));
		goto close_listen;
	}
	if (chmod(server->path, server->has_group ? 0660 : 0600) ||
	    (server->has_group && chown(server->path, (uid_t)-1, server->group)) ||
	    listen(server->listen_fd, 64)) {
		error = agp__error(-errno, "setting up control socket %s: %s", server->path,
		                   strerror(errno));
		goto unlink_socket;
	}
	if (pipe2(server->wake, O_CLOEXEC)) {
		error = agp__error(-errno, "pipe2(): %s", strerror(errno));
		goto unlink_socket;
	}
	error = -pthread_create(&server->thread, NULL, server_thread, server);
	if (error) {
		agp__error(error, "starting the control thread: %s", strerror(-error));
		goto close_pipe;
	}
	*out = server;
	return 0;
close_pipe:
	close(server->wake[0]);
	close(server->wake[1]);
unlink_socket:
	unlink(server->path);
close_listen:
	close(server->listen_fd);
free_clients:
	free(server->clients);
free_server:
	free(server);
	return error;
}

void agp_control_server_stop(struct agp_control_server *server)
{
	if (!server)
		return;
	(void)!write(server->wake[1], "x", 1);
	pthread_join(server->thread, NULL);
	close(server->wake[0]);
	close(server->wake[1]);
	close(server->listen_fd);
	unlink(server->path);
	free(server->clients);
	free(server);
}
