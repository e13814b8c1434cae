#include "collector/analysis/baseline_service.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shm/clock.h"
#include "common/error.h"
#include "shm/registry.h"
#include "common/atomic_file.h"
#include "common/json_dump.h"
#include "common/write_losses.h"
#include "collector/analysis/validation.h"

/* How long an establish request waits for the drain thread's fresh snapshot. */
#define REFRESH_TIMEOUT_MS 2000

static uint64_t hours_ns(double hours)
{
	double ns = hours * 3600e9;
	return ns >= 1.8e19 ? UINT64_MAX : (uint64_t)ns;
}

/* Both periodic jobs are monitoring.background_monitoring's (docs/config.md). */
static uint64_t update_period_ns(const struct agp_config *config)
{
	return config->baseline.auto_update_baseline && config->monitoring.background_monitoring
	           ? hours_ns(config->baseline.update_frequency_hours)
	           : 0;
}

static uint64_t export_period_ns(const struct agp_config *config)
{
	return config->monitoring.ci_export_enabled && config->monitoring.background_monitoring
	           ? (uint64_t)config->monitoring.export_frequency_minutes * 60000000000ull
	           : 0;
}

_Static_assert(AGP_REGRESSION_LIMITS_MAX >= AGP_BASELINE_METRICS_MAX,
               "every baseline entry fits in the regression limits");

struct agp_regression_limits *agp_baseline_regression_limits(const struct agp_baseline *baseline,
                                                             const struct agp_segment *segment,
                                                             size_t *unresolved)
{
	struct agp_regression_limits *limits = calloc(1, sizeof(*limits));
	if (!limits)
		return NULL;
	size_t missing = 0;
	for (size_t i = 0; i < baseline->metric_count; i++) {
		const struct agp_baseline_metric *entry = &baseline->metrics[i];
		struct agp_quantile_reference reference;
		/* Entries without percentiles (a seed import) have nothing to test against. */
		if (agp_quantile_reference_from_baseline(entry, baseline->confidence_interval,
		                                         &reference) != 0)
			continue;
		uint16_t id;
		if (agp_registry_find(segment, entry->metric, &id) != 0 ||
		    id >= AGP_REGISTRY_CAPACITY) {
			missing++;
			continue;
		}
		struct agp_regression_limit *limit = &limits->limit[limits->count++];
		limit->metric_id = id;
		snprintf(limit->agent_type, sizeof(limit->agent_type), "%s", entry->agent_type);
		limit->reference = reference;
	}
	*unresolved = missing;
	return limits;
}

/* Under the lock: gives the drain thread the current baseline's limits. */
static void publish_limits(struct agp_baseline_service *service)
{
	size_t unresolved = 0;
	struct agp_regression_limits *limits = agp_baseline_regression_limits(
	    service->baseline, &service->collector->segment, &unresolved);
	if (!limits) {
		service->limits_unresolved = true; /* out of memory: the next tick tries again */
		return;
	}
	agp_collector_set_regression_limits(service->collector, limits);
	service->limits_unresolved = unresolved > 0;
}

/* Reads baseline.json from the storage folder's fd, never through a link. */
static int load_at(const struct agp_storage_dir *storage, struct agp_baseline *out, char *err,
                   size_t errlen)
{
	int fd = openat(storage->fd, AGP_BASELINE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int error = -errno;
		snprintf(err, errlen, "baseline file %s/%s: %s", storage->path, AGP_BASELINE_FILE,
		         error == -ELOOP ? "is a symbolic link, refusing to follow it"
		                         : strerror(-error));
		return error;
	}
	json_error_t parse_error;
	json_t *json = json_loadfd(fd, JSON_REJECT_DUPLICATES, &parse_error);
	close(fd);
	if (!json) {
		snprintf(err, errlen,
		         "baseline file %s/%s: not valid JSON at line %d, column %d: %s",
		         storage->path, AGP_BASELINE_FILE, parse_error.line, parse_error.column,
		         parse_error.text);
		return -EINVAL;
	}
	char detail[512];
	int error = agp_baseline_from_json(json, out, detail, sizeof(detail));
	json_decref(json);
	if (error)
		snprintf(err, errlen, "baseline file %s/%s: %s", storage->path, AGP_BASELINE_FILE,
		         detail);
	return error;
}

/* Replaces baseline.json in the storage folder (0600, or 0640 with a group); counts a loss. */
static int save(const struct agp_baseline_service *service, const struct agp_baseline *baseline,
                char *err, size_t errlen)
{
	const struct agp_config *config = &service->collector->config;
	char path[AGP_CONFIG_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", config->monitoring.storage_dir, AGP_BASELINE_FILE);
	if (!service->storage) {
		int error =
		    agp_baseline_save(baseline, config->monitoring.storage_dir, err, errlen);
		if (error)
			agp_write_lost(AGP_WRITE_BASELINE, path, error);
		return error;
	}
	json_t *json = agp_baseline_to_json(baseline);
	char *text = json ? agp_json_dumps(json, JSON_INDENT(2)) : NULL;
	json_decref(json);
	size_t length = text ? strlen(text) : 0;
	/* A trailing newline, as the seed's json.dump(..., indent=2) files and editors expect. */
	char *line = text ? realloc(text, length + 2) : NULL;
	if (!line) {
		free(text);
		snprintf(err, errlen, "writing %s: out of memory", path);
		return -ENOMEM;
	}
	line[length] = '\n';
	int error = agp_storage_write_file(service->storage, AGP_BASELINE_FILE, line, length + 1,
	                                   err, errlen);
	free(line);
	if (error)
		agp_write_lost(AGP_WRITE_BASELINE, path, error);
	else
		agp_write_succeeded(AGP_WRITE_BASELINE, path);
	return error;
}

int agp_baseline_service_start(struct agp_baseline_service *service,
                               struct agp_collector *collector, struct agp_exports *exports,
                               const struct agp_storage_dir *storage)
{
	memset(service, 0, sizeof(*service));
	service->collector = collector;
	service->exports = exports;
	service->storage = storage;
	service->baseline = calloc(1, sizeof(*service->baseline));
	if (!service->baseline)
		return agp__error(-ENOMEM, "baseline keeper: out of memory");
	const struct agp_config *config = &collector->config;
	char err[2048];
	int error = storage ? load_at(storage, service->baseline, err, sizeof(err))
	                    : agp_baseline_load(config->monitoring.storage_dir, service->baseline,
	                                        err, sizeof(err));
	if (error && error != -ENOENT) {
		free(service->baseline);
		service->baseline = NULL;
		return agp__error(error, "refusing to start with a broken baseline: %s", err);
	}
	if (error == -ENOENT)
		memset(service->baseline, 0, sizeof(*service->baseline));
	else
		publish_limits(service);
	pthread_mutex_init(&service->lock, NULL);
	uint64_t now = agp_monotonic_ns();
	uint64_t update = update_period_ns(config), export = export_period_ns(config);
	service->next_update_ns = update ? now + update : UINT64_MAX;
	service->next_export_ns = export ? now + export : UINT64_MAX;
	return 0;
}

/* Under the lock: establishes from the newest snapshot, saves, publishes. */
static int establish_locked(struct agp_baseline_service *service, bool auto_update, double hours,
                            int64_t min_samples, double confidence, char *err, size_t errlen)
{
	const struct agp_config *config = &service->collector->config;
	struct agp_baseline *fresh = malloc(sizeof(*fresh));
	if (!fresh) {
		snprintf(err, errlen, "establishing a baseline: out of memory");
		return -ENOMEM;
	}
	int error = -EAGAIN;
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(service->collector);
	if (snapshot)
		error = agp_baseline_establish(snapshot, hours, min_samples, confidence, fresh, err,
		                               errlen);
	else
		snprintf(err, errlen, "the collector has not published a snapshot yet");
	agp_snapshot_read_end(snapshot);
	/* An automatic update refreshes the baseline: established_at stays, last_updated moves. */
	if (error == 0 && auto_update && service->baseline->established)
		fresh->established_at_us = service->baseline->established_at_us;
	if (error == 0)
		error = save(service, fresh, err, errlen);
	if (error == 0) {
		memcpy(service->baseline, fresh, sizeof(*fresh));
		publish_limits(service);
		uint64_t update = update_period_ns(config);
		service->next_update_ns = update ? agp_monotonic_ns() + update : UINT64_MAX;
	}
	free(fresh);
	return error;
}

int agp_baseline_service_establish(struct agp_baseline_service *service,
                                   double measurement_period_hours, int64_t min_samples,
                                   double confidence, struct agp_baseline *out, char *err,
                                   size_t errlen)
{
	const struct agp_config_baseline *defaults = &service->collector->config.baseline;
	if (measurement_period_hours <= 0)
		measurement_period_hours = defaults->measurement_period_hours;
	if (min_samples <= 0)
		min_samples = defaults->min_samples_for_baseline;
	if (confidence <= 0)
		confidence = defaults->confidence_interval;
	/* Everything recorded before the request is in the baseline: ask for a fresh snapshot. */
	if (agp_collector_refresh(service->collector, REFRESH_TIMEOUT_MS) != 0) {
		snprintf(err, errlen, "the collector's drain thread did not answer within %d ms",
		         REFRESH_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	pthread_mutex_lock(&service->lock);
	int error = establish_locked(service, false, measurement_period_hours, min_samples,
	                             confidence, err, errlen);
	if (error == 0)
		memcpy(out, service->baseline, sizeof(*out));
	pthread_mutex_unlock(&service->lock);
	return error;
}

int agp_baseline_service_get(struct agp_baseline_service *service, struct agp_baseline *out)
{
	pthread_mutex_lock(&service->lock);
	int error = service->baseline->established ? 0 : -ENOENT;
	if (error == 0)
		memcpy(out, service->baseline, sizeof(*out));
	pthread_mutex_unlock(&service->lock);
	return error;
}

/* Under the lock: writes the CI JSON of the newest snapshot. */
static int export_locked(struct agp_baseline_service *service, char *err, size_t errlen)
{
	const struct agp_config *config = &service->collector->config;
	const char *path = config->monitoring.ci_export_file;
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(service->collector);
	bool published = snapshot != NULL;
	json_t *json = published ? agp_ci_export(snapshot, config, service->baseline, NULL) : NULL;
	agp_snapshot_read_end(snapshot);
	if (!json) {
		snprintf(err, errlen, "CI export %s: %s", path,
		         published ? "out of memory" : "no snapshot published yet");
		return published ? -ENOMEM : -EAGAIN;
	}
	char *text = agp_json_dumps(json, JSON_INDENT(2));
	json_decref(json);
	if (!text) {
		snprintf(err, errlen, "CI export %s: out of memory", path);
		return -ENOMEM;
	}
	int error = agp_atomic_write_file(path, text, strlen(text), err, errlen);
	free(text);
	if (error == 0) {
		service->ci_exports_written++;
		agp_write_succeeded(AGP_WRITE_CI_EXPORT, path);
	} else {
		agp_write_lost(AGP_WRITE_CI_EXPORT, path, error);
	}
	return error;
}

int agp_baseline_service_export_ci(struct agp_baseline_service *service, char *err, size_t errlen)
{
	pthread_mutex_lock(&service->lock);
	int error = export_locked(service, err, errlen);
	pthread_mutex_unlock(&service->lock);
	return error;
}

void agp_baseline_service_tick(struct agp_baseline_service *service)
{
	if (!service->baseline)
		return;
	const struct agp_config *config = &service->collector->config;
	uint64_t now = agp_monotonic_ns();
	char err[1024];
	pthread_mutex_lock(&service->lock);
	if (service->limits_unresolved)
		publish_limits(service);
	if (now >= service->next_update_ns) {
		/* The periodic snapshot (at most publish_interval old) is fresh enough here. */
		int error =
		    establish_locked(service, true, config->baseline.measurement_period_hours,
		                     config->baseline.min_samples_for_baseline,
		                     config->baseline.confidence_interval, err, sizeof(err));
		if (error == 0) {
			service->updates++;
		} else {
			fprintf(
			    stderr, "agentperfd: baseline auto-update: %s (keeping the %s)\n", err,
			    service->baseline->established ? "previous baseline" : "lack of one");
			uint64_t update = update_period_ns(config);
			service->next_update_ns = update ? now + update : UINT64_MAX;
		}
	}
	/* The /metrics gauges follow the baseline (a copy is made only when it changed). */
	if (service->exports &&
	    agp_exports_set_baseline(
	        service->exports, service->baseline->established ? service->baseline : NULL) != 0)
		fprintf(stderr, "agentperfd: showing the baseline on /metrics: out of memory\n");
	if (now >= service->next_export_ns) {
		/* A failed write is logged once per outage by write_losses; other failures here. */
		int error = export_locked(service, err, sizeof(err));
		if (error == -ENOMEM || error == -EAGAIN)
			fprintf(stderr, "agentperfd: %s\n", err);
		service->next_export_ns = now + export_period_ns(config);
	}
	pthread_mutex_unlock(&service->lock);
}

void agp_baseline_service_stop(struct agp_baseline_service *service)
{
	if (!service->baseline)
		return;
	char err[1024];
	if (service->collector->config.monitoring.ci_export_enabled &&
	    agp_baseline_service_export_ci(service, err, sizeof(err)) != 0)
		fprintf(stderr, "agentperfd: %s\n", err);
	pthread_mutex_destroy(&service->lock);
	free(service->baseline);
	service->baseline = NULL;
}
