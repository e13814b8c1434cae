#include "collector/alerts/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/append.h"
#include "common/atomic_file.h"
#include "common/json_dump.h"
#include "common/json_u64.h"
#include "common/units.h"
#include "common/write_losses.h"

#define HOOK_TIMEOUT_MS 5000

#define ALERTS_FILE_NAME "alerts.jsonl"

int agp_alert_sink_open(struct agp_alert_sink *sink, const struct agp_config *config,
                        const struct agp_storage_dir *storage)
{
	memset(sink, 0, sizeof(*sink));
	sink->jsonl = -1;
	sink->repair_to = -1;
	snprintf(sink->hook, sizeof(sink->hook), "%s", config->additions.alert_hook);
	snprintf(sink->path, sizeof(sink->path), "%s/%s", storage->path, ALERTS_FILE_NAME);
	int fd = agp_storage_open_file(storage, ALERTS_FILE_NAME, O_APPEND);
	if (fd < 0)
		return fd;
	sink->jsonl = fd;
	return 0;
}

void agp_alert_sink_close(struct agp_alert_sink *sink)
{
	if (sink->jsonl >= 0) {
		fsync(sink->jsonl);
		close(sink->jsonl);
	}
	sink->jsonl = -1;
}

/*
 * Appends one line whole or not at all: a line the disk took only part of is cut back off
 * (now, or before the next line when even that failed), so every line of the file parses.
 */
static int append_line(struct agp_alert_sink *sink, const char *text)
{
	size_t length = strlen(text);
	char *line = malloc(length + 2);
	if (!line)
		return -ENOMEM;
	memcpy(line, text, length);
	line[length] = '\n';
	int error = agp_append_whole(sink->jsonl, &sink->repair_to, line, length + 1, NULL);
	free(line);
	return error;
}

/* Stores one alert in alerts.jsonl; a failure is counted and logged once per outage. */
static void store_alert(struct agp_alert_sink *sink, const char *text)
{
	if (sink->jsonl < 0)
		return;
	int error = text ? append_line(sink, text) : -ENOMEM;
	if (error)
		agp_write_lost(AGP_WRITE_ALERTS, sink->path, error);
	else
		agp_write_succeeded(AGP_WRITE_ALERTS, sink->path);
}

/* The seed's line without the context: "Performance threshold violation: M = V (Level: L)". */
int agp_alert_format_message(const struct agp_alert *alert, char *out, size_t size)
{
	char value[AGP_UNIT_TEXT_MAX];
	agp_unit_format_seed(alert->unit, (double)alert->value, value, sizeof(value));
	return snprintf(out, size, "Performance threshold violation: %s = %s (Level: %s)",
	                alert->metric, value, alert->level);
}

int agp_alert_format_line(const struct agp_alert *alert, char *out, size_t size)
{
	char message[256], threshold[AGP_UNIT_TEXT_MAX], suppressed[64] = "";
	agp_alert_format_message(alert, message, sizeof(message));
	agp_unit_format_seed(alert->unit, (double)alert->threshold, threshold, sizeof(threshold));
	if (alert->suppressed)
		snprintf(suppressed, sizeof(suppressed), " (%llu similar alerts suppressed)",
		         (unsigned long long)alert->suppressed);
	return snprintf(out, size, "%s agent_type=%s agent=%s task_id=%llu threshold=%s%s", message,
	                alert->agent_type, alert->agent[0] ? alert->agent : "-",
	                (unsigned long long)alert->task_id, threshold, suppressed);
}

/*
 * The seed's figures beside the wire values: value_ms and threshold_ms for a
 * duration, value_mb and threshold_mb for bytes; a count has none (its value
 * is already in the seed's unit).
 */
static int add_seed_figures(json_t *object, const struct agp_alert *alert)
{
	const char *suffix = agp_unit_seed_suffix(alert->unit);
	if (!suffix[0])
		return 0;
	char key[32];
	snprintf(key, sizeof(key), "value%s", suffix);
	if (json_object_set_new(object, key,
	                        json_real(agp_unit_to_seed(alert->unit, (double)alert->value))))
		return -ENOMEM;
	snprintf(key, sizeof(key), "threshold%s", suffix);
	if (json_object_set_new(object, key,
	                        json_real(agp_unit_to_seed(alert->unit, (double)alert->threshold))))
		return -ENOMEM;
	return 0;
}

json_t *agp_alert_to_json(const struct agp_alert *alert)
{
	char message[256];
	agp_alert_format_message(alert, message, sizeof(message));
	json_t *object =
	    json_pack("{s:o, s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:s, s:o}", "sequence",
	              agp_json_u64(alert->sequence), "time_ms", (json_int_t)alert->wall_time_ms,
	              "metric", alert->metric, "agent_type", alert->agent_type, "agent",
	              alert->agent, "task_id", agp_json_u64_id(alert->task_id), "level",
	              alert->level, "unit", agp_unit_wire_name(alert->unit), "value",
	              (json_int_t)alert->value, "threshold", (json_int_t)alert->threshold,
	              "message", message, "suppressed", agp_json_u64(alert->suppressed));
	if (object && add_seed_figures(object, alert) != 0) {
		json_decref(object);
		return NULL;
	}
	return object;
}

/* Runs the hook with the alert on standard input; bounded in time, never fatal. */
static void run_hook(const char *hook, const char *json_text)
{
	int input[2];
	if (pipe2(input, O_CLOEXEC) != 0) {
		fprintf(stderr, "agentperfd: alert hook: pipe: %s\n", strerror(errno));
		return;
	}
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "agentperfd: alert hook: fork: %s\n", strerror(errno));
		close(input[0]);
		close(input[1]);
		return;
	}
	if (child == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(input[0], STDIN_FILENO);
		execl("/bin/sh", "sh", "-c", hook, (char *)NULL);
		_exit(127);
	}
	close(input[0]);
	size_t length = strlen(json_text);
	if (write(input[1], json_text, length) != (ssize_t)length)
		fprintf(stderr, "agentperfd: alert hook '%s' did not take its input: %s\n", hook,
		        strerror(errno));
	close(input[1]);
	int status = 0;
	for (int waited = 0; waited < HOOK_TIMEOUT_MS; waited += 10) {
		if (waitpid(child, &status, WNOHANG) == child)
			goto reaped;
		struct timespec pause = {0, 10 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	fprintf(stderr, "agentperfd: alert hook '%s' ran over %d ms and was killed\n", hook,
	        HOOK_TIMEOUT_MS);
	return;
reaped:
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "agentperfd: alert hook '%s' failed (%s %d)\n", hook,
		        WIFEXITED(status) ? "exit status" : "signal",
		        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

void agp_alert_sink_deliver(struct agp_alert_sink *sink, const struct agp_snapshot *snapshot)
{
	if (snapshot->alerts_raised <= sink->delivered)
		return;
	uint64_t oldest_shown =
	    snapshot->alert_count ? snapshot->alerts[0].sequence : snapshot->alerts_raised + 1;
	if (oldest_shown > sink->delivered + 1)
		fprintf(stderr,
		        "agentperfd: WARNING - %llu alerts were raised faster than they "
		        "could be logged and are missing from %s\n",
		        (unsigned long long)(oldest_shown - sink->delivered - 1), sink->path);
	for (size_t i = 0; i < snapshot->alert_count; i++) {
		const struct agp_alert *alert = &snapshot->alerts[i];
		if (alert->sequence <= sink->delivered)
			continue;
		char line[512];
		agp_alert_format_line(alert, line, sizeof(line));
		fprintf(stderr, "agentperfd: %s - %s\n",
		        strcmp(alert->level, "critical") == 0 ? "ERROR" : "WARNING", line);
		json_t *object = agp_alert_to_json(alert);
		char *text = object ? agp_json_dumps(object, JSON_COMPACT) : NULL;
		store_alert(sink, text);
		if (text && sink->hook[0])
			run_hook(sink->hook, text);
		free(text);
		json_decref(object);
		sink->delivered = alert->sequence;
	}
}
