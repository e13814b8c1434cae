/*
 * agentperfd: the collector daemon of one deployment.
 *
 * Configuration is applied in this order, each step checked whole: the
 * seed's defaults, an optional preset, the config file (missing is fine,
 * broken is fatal), the CODEX_* environment, then command-line options.
 * The main thread owns signals (SIGTERM/SIGINT stop cleanly, with a final
 * drain and flushed files) and runs the periodic services between them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "collector/export/http_metrics.h"
#include "collector/export/prometheus.h"
#include "collector/control/server.h"
#include "collector/services.h"
#include "common/deployment.h"
#include "common/error.h"
#include "common/storage_dir.h"

#define SERVICE_TICK_MS 100

struct daemon_options {
	const char *deployment;
	const char *config_path;
	const char *preset;
	const char *pidfile;
	const char *http_listen;
	const char *http_buckets;
	bool http_per_agent;
	const char *socket_path;
	const char *log_path;
	bool daemonize;
	bool unlink_on_exit;
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: agentperfd [OPTION]...\n"
	    "Collects the samples of every agent of a deployment into histograms, baselines,\n"
	    "validations and alerts, and serves them to `agentperf` and Prometheus.\n\n"
	    "  -n, --name NAME        deployment name (default: $AGENTPERF_NAME, then 'default')\n"
	    "  -c, --config FILE      config file (default: %s)\n"
	    "  -p, --preset NAME      apply the 'development' or 'production' preset first\n"
	    "      --http ADDR:PORT   serve Prometheus /metrics (overrides "
	    "monitoring.http_listen)\n"
	    "      --http-per-agent   also export per-agent series (label agent)\n"
	    "      --http-buckets S,S,...  duration bucket bounds in seconds\n"
	    "      --socket PATH      control socket (default: per deployment, see agentperf(1))\n"
	    "  -d, --daemon           detach and run in the background (with --log, or with\n"
	    "                         standard error already away from a terminal)\n"
	    "      --log FILE         append the log to FILE (0600, never through a link)\n"
	    "                         instead of standard error\n"
	    "      --pidfile FILE     write the daemon's pid to FILE (0600, never through a link)\n"
	    "      --unlink-on-exit   remove the shared segment when stopping\n"
	    "  -h, --help             show this help\n"
	    "      --version          show the version\n\n"
	    "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad options or\n"
	    "configuration.\n",
	    AGP_CONFIG_DEFAULT_PATH);
}

static int parse_options(int argc, char **argv, struct daemon_options *options)
{
	enum {
		OPT_HTTP = 256,
		OPT_PIDFILE,
		OPT_UNLINK,
		OPT_HTTP_PER_AGENT,
		OPT_HTTP_BUCKETS,
		OPT_SOCKET,
		OPT_LOG,
		OPT_VERSION
	};
	static const struct option longs[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"config", required_argument, NULL, 'c'},
	    {"preset", required_argument, NULL, 'p'},
	    {"http", required_argument, NULL, OPT_HTTP},
	    {"http-per-agent", no_argument, NULL, OPT_HTTP_PER_AGENT},
	    {"http-buckets", required_argument, NULL, OPT_HTTP_BUCKETS},
	    {"socket", required_argument, NULL, OPT_SOCKET},
	    {"daemon", no_argument, NULL, 'd'},
	    {"pidfile", required_argument, NULL, OPT_PIDFILE},
	    {"log", required_argument, NULL, OPT_LOG},
	    {"unlink-on-exit", no_argument, NULL, OPT_UNLINK},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	int option;
	while ((option = getopt_long(argc, argv, "n:c:p:dh", longs, NULL)) != -1) {
		switch (option) {
		case 'n':
			options->deployment = optarg;
			break;
		case 'c':
			options->config_path = optarg;
			break;
		case 'p':
			options->preset = optarg;
			break;
		case OPT_HTTP:
			options->http_listen = optarg;
			break;
		case OPT_HTTP_PER_AGENT:
			options->http_per_agent = true;
			break;
		case OPT_HTTP_BUCKETS:
			options->http_buckets = optarg;
			break;
		case 'd':
			options->daemonize = true;
			break;
		case OPT_SOCKET:
			options->socket_path = optarg;
			break;
		case OPT_PIDFILE:
			options->pidfile = optarg;
			break;
		case OPT_LOG:
			options->log_path = optarg;
			break;
		case OPT_UNLINK:
			options->unlink_on_exit = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION: /* the form of `agentperf --version` */
			printf("agentperfd %d.%d\n", AGENTPERF_VERSION_MAJOR,
			       AGENTPERF_VERSION_MINOR);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "agentperfd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int load_config(const struct daemon_options *options, struct agp_config *config,
                       gid_t *segment_group)
{
	char error[4096];
	agp_config_defaults(config);
	if (options->preset && agp_config_preset(config, options->preset, error, sizeof(error))) {
		fprintf(stderr, "agentperfd: %s\n", error);
		return -EINVAL;
	}
	const char *path = options->config_path ? options->config_path : AGP_CONFIG_DEFAULT_PATH;
	int result = agp_config_load_file(path, config, error, sizeof(error));
	if (result == -ENOENT && options->config_path) {
		fprintf(stderr, "agentperfd: config file %s does not exist\n", path);
		return result;
	}
	if (result && result != -ENOENT) {
		fprintf(stderr, "agentperfd: refusing to start with a broken config:\n%s\n", error);
		return result;
	}
	if (agp_config_apply_env(config, error, sizeof(error))) {
		fprintf(stderr, "agentperfd: %s\n", error);
		return -EINVAL;
	}
	bool has_group;
	gid_t group;
	if (agp_config_resolve_group(config, path, &has_group, &group, error, sizeof(error))) {
		fprintf(stderr, "agentperfd: refusing to start: %s\n", error);
		return -EINVAL;
	}
	*segment_group = has_group ? group : (gid_t)-1; /* the segment is shared with the group */
	if (options->http_listen) {
		size_t length = strlen(options->http_listen);
		if (length >= sizeof(config->additions.http_listen)) {
			fprintf(stderr, "agentperfd: --http '%s' is too long\n",
			        options->http_listen);
			return -EINVAL;
		}
		memcpy(config->additions.http_listen, options->http_listen, length + 1);
	}
	/* Bad export options are configuration errors (exit 2), found before anything starts. */
	if (config->additions.http_listen[0]) {
		struct sockaddr_storage address;
		socklen_t address_len;
		if (agp_http_parse_listen(config->additions.http_listen, &address, &address_len,
		                          error, sizeof(error))) {
			fprintf(stderr, "agentperfd: %s\n", error);
			return -EINVAL;
		}
	}
	if (options->http_buckets) {
		struct agp_prom_bounds bounds;
		if (agp_prom_parse_bounds(options->http_buckets, &bounds, error, sizeof(error))) {
			fprintf(stderr, "agentperfd: --http-buckets: %s\n", error);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The pidfile is opened like the storage files (storage_dir.h): never through a link, only a
 * regular file of our own uid with one link, 0600 (0640 with monitoring.group).
 */
static int write_pidfile(const char *path, const struct agp_config *config)
{
	gid_t group;
	int error = agp_storage_resolve_group(config->additions.group, &group);
	int fd = error ? error : agp_open_owned_file(path, O_TRUNC, group);
	if (fd < 0) {
		fprintf(stderr, "agentperfd: pidfile: %s\n", agp_last_error());
		return fd;
	}
	char text[32];
	int length = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	ssize_t written = write(fd, text, (size_t)length);
	error = written == length ? 0 : written < 0 ? -errno : -ENOSPC;
	if (close(fd) != 0 && !error)
		error = -errno;
	if (error)
		fprintf(stderr, "agentperfd: writing pidfile %s: %s\n", path, strerror(-error));
	return error;
}

/*
 * Where the log goes: FILE of --log (appended; opened like the pidfile), else
 * standard error as it is (the journal under systemd). A daemon that would
 * leave its log on a terminal it detaches from is refused instead of
 * logging nowhere. 0, or the exit status.
 */
static int redirect_log(const struct daemon_options *options, const struct agp_config *config)
{
	if (!options->log_path) {
		if (options->daemonize && isatty(STDERR_FILENO)) {
			fprintf(stderr,
			        "agentperfd: --daemon: standard error is a terminal, which the "
			        "daemon leaves: give --log FILE, or redirect standard error\n");
			return 2;
		}
		return 0;
	}
	gid_t group;
	int error = agp_storage_resolve_group(config->additions.group, &group);
	int fd = error ? error : agp_open_owned_file(options->log_path, O_APPEND, group);
	if (fd < 0) {
		fprintf(stderr, "agentperfd: --log %s: %s\n", options->log_path, agp_last_error());
		return 1;
	}
	if (dup2(fd, STDERR_FILENO) < 0) {
		fprintf(stderr, "agentperfd: --log %s: %s\n", options->log_path, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	setvbuf(stderr, NULL, _IOLBF, 0); /* whole lines, as they come */
	return 0;
}

/* Into the background, keeping standard error (the log) and nothing else of the terminal. */
static int detach(void)
{
	if (daemon(1, 1) != 0) {
		fprintf(stderr, "agentperfd: daemon(): %s\n", strerror(errno));
		return -errno;
	}
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
		close(null_fd);
	}
	return 0;
}

/* The control socket reaches the baseline through the daemon's baseline keeper. */
static int control_establish(void *context, double hours, int64_t min_samples, double confidence,
                             struct agp_baseline *out, char *err, size_t errlen)
{
	return agp_baseline_service_establish(context, hours, min_samples, confidence, out, err,
	                                      errlen);
}

static int control_baseline(void *context, struct agp_baseline *out)
{
	return agp_baseline_service_get(context, out);
}

/* Tells systemd (Type=notify) that we are ready, when it started us. */
static void notify_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	size_t length = strlen(path);
	if (length >= sizeof(address.sun_path))
		return;
	memcpy(address.sun_path, path, length);
	if (address.sun_path[0] == '@')
		address.sun_path[0] = '\0'; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, state, strlen(state), 0, (struct sockaddr *)&address,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length));
	close(fd);
}

/* Blocks the stop signals in every thread; the main thread takes them with sigtimedwait. */
static void block_stop_signals(sigset_t *signals)
{
	sigemptyset(signals);
	sigaddset(signals, SIGTERM);
	sigaddset(signals, SIGINT);
	sigaddset(signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, signals, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The control socket reads snapshots only; it starts once the first one is published. */
static int start_control(struct agp_collector *collector, const struct daemon_options *options,
                         struct agp_services *services, struct agp_control_server **control)
{
	struct agp_control_options control_options;
	agp_control_options_default(&control_options);
	control_options.socket_path = options->socket_path;
	control_options.baseline = (struct agp_control_baseline_ops){.context = &services->baseline,
	                                                             .establish = control_establish,
	                                                             .get = control_baseline};
	return agp_control_server_start(collector, &control_options, control);
}

/* Runs the periodic services until SIGTERM or SIGINT. */
static void serve_until_stopped(const sigset_t *signals, struct agp_services *services)
{
	for (;;) {
		struct timespec tick = {0, SERVICE_TICK_MS * 1000000L};
		int signal_number = sigtimedwait(signals, NULL, &tick);
		if (signal_number == SIGTERM || signal_number == SIGINT)
			return;
		agp_services_tick(services);
	}
}

int main(int argc, char **argv)
{
	struct daemon_options options = {0};
	if (parse_options(argc, argv, &options))
		return 2;
	char deployment[AGP_DEPLOYMENT_NAME_MAX + 1];
	if (agp_deployment_resolve(options.deployment, deployment)) {
		fprintf(stderr, "agentperfd: %s\n", agp_last_error()); /* an empty name, too */
		return 2;
	}
	static struct agp_config config;
	gid_t segment_group;
	if (load_config(&options, &config, &segment_group))
		return 2;

	int log_status = redirect_log(&options, &config);
	if (log_status)
		return log_status;
	if (options.daemonize && detach() != 0)
		return 1;
	sigset_t signals;
	block_stop_signals(&signals);

	struct agp_collector_options collector_options;
	agp_collector_options_default(&collector_options);
	collector_options.deployment = options.deployment;
	collector_options.layout.group = segment_group;
	static struct agp_collector collector;
	if (agp_collector_open(&collector, &collector_options, &config)) {
		fprintf(stderr, "agentperfd: %s\n", agp_last_error());
		if (collector.created_segment) /* a failed start leaves no segment behind */
			agp_segment_unlink(options.deployment);
		return 1;
	}
	int status = 1;
	if (options.pidfile && write_pidfile(options.pidfile, &config))
		goto close_collector;
	struct agp_services services = {0};
	services.export_options.per_agent = options.http_per_agent;
	services.export_options.duration_buckets_s = options.http_buckets;
	if (agp_services_start(&services, &collector)) {
		fprintf(stderr, "agentperfd: %s\n", agp_last_error());
		goto remove_pidfile;
	}
	if (agp_collector_start(&collector)) {
		fprintf(stderr, "agentperfd: %s\n", agp_last_error());
		goto stop_services;
	}
	struct agp_control_server *control = NULL;
	if (start_control(&collector, &options, &services, &control)) {
		fprintf(stderr, "agentperfd: control socket: %s\n", agp_last_error());
		agp_collector_stop(&collector);
		goto stop_services;
	}
	fprintf(stderr,
	        "agentperfd: serving deployment '%s' (segment %s, %u slots, control socket %s), "
	        "pid %d\n",
	        collector.segment.deployment, collector.segment.shm_name,
	        collector.segment.slot_count, agp_control_server_path(control), (int)getpid());
	notify_systemd("READY=1");

	serve_until_stopped(&signals, &services);
	notify_systemd("STOPPING=1");
	fprintf(stderr, "agentperfd: stopping: final drain\n");
	agp_control_server_stop(control);
	agp_collector_stop(&collector);
	status = 0;
stop_services:
	agp_services_stop(&services); /* a last tick flushes alerts and files */
remove_pidfile:
	if (options.pidfile)
		unlink(options.pidfile);
close_collector:
	/*
	 * A start that failed (a port in use, a storage folder refused) removes the segment it
	 * created, so that the next start, or `agentperf cleanup`, finds nothing stale; one it
	 * adopted stays for its agents.
	 */
	agp_collector_close(&collector,
	                    options.unlink_on_exit || (status != 0 && collector.created_segment));
	return status;
}
