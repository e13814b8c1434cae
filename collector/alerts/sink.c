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

/*
 * The unit an alert's values are shown in, in the seed's units (ms, MB).
 * memory_usage is the one built-in metric in bytes; every other metric is
 * shown as a duration, custom metrics included, whatever their registered
 * unit (a count shows as ms: kept as it is until counts get their own display).
 */
static enum agp_unit shown_unit(const struct agp_alert *alert)
{
	return strcmp(alert->metric, "memory_usage") == 0 ? AGP_UNIT_BYTES : AGP_UNIT_NANOSECONDS;
}

static double display_value(const struct agp_alert *alert, int64_t value)
{
	return agp_unit_to_seed(shown_unit(alert), (double)value);
}

static const char *display_unit(const struct agp_alert *alert)
{
	return agp_unit_seed_name(shown_unit(alert));
}

int agp_alert_format_line(const struct agp_alert *alert, char *out, size_t size)
{
	char suppressed[64] = "";
	if (alert->suppressed)
		snprintf(suppressed, sizeof(suppressed), " (%llu similar alerts suppressed)",
		         (unsigned long long)alert->suppressed);
	return snprintf(out, size,
	                "Performance threshold violation: %s = %.1f%s (Level: %s) agent_type=%s "
	                "agent=%s task_id=%llu threshold=%.1f%s%s",
	                alert->metric, display_value(alert, alert->value), display_unit(alert),
	                alert->level, alert->agent_type, alert->agent[0] ? alert->agent : "-",
	                (unsigned long long)alert->task_id, display_value(alert, alert->threshold),
	                display_unit(alert), suppressed);
}

json_t *agp_alert_to_json(const struct agp_alert *alert)
{
	return json_pack(
	    "{s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:s, s:s, s:I}", "sequence",
	    (json_int_t)alert->sequence, "time_ms", (json_int_t)alert->wall_time_ms, "metric",
	    alert->metric, "agent_type", alert->agent_type, "agent", alert->agent, "task_id",
	    (json_int_t)alert->task_id, "value", (json_int_t)alert->value, "threshold",
	    (json_int_t)alert->threshold, "value_display", display_value(alert, alert->value),
	    "threshold_display", display_value(alert, alert->threshold), "display_unit",
	    display_unit(alert), "level", alert->level, "suppressed",
	    (json_int_t)alert->suppressed);
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
		char *text = object ? json_dumps(object, JSON_COMPACT) : NULL;
		store_alert(sink, text);
		if (text && sink->hook[0])
			run_hook(sink->hook, text);
		free(text);
		json_decref(object);
		sink->delivered = alert->sequence;
	}
}
