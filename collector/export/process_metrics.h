/*
 * The collector process's own figures for /metrics, under the names every
 * Prometheus client library gives them (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds), read from
 * the kernel: /proc/self/stat, /proc/self/fd, RLIMIT_NOFILE and /proc/stat's
 * boot time.
 */
#ifndef AGP_COLLECTOR_EXPORT_PROCESS_METRICS_H
#define AGP_COLLECTOR_EXPORT_PROCESS_METRICS_H

#include <stdbool.h>

struct agp_process_metrics {
	double cpu_seconds; /* user + system time */
	double resident_bytes;
	double virtual_bytes;
	double open_fds;
	double max_fds;            /* the soft RLIMIT_NOFILE */
	double start_time_seconds; /* Unix time */
};

/* Reads them; false (nothing set) where /proc cannot be read. */
bool agp_process_metrics_read(struct agp_process_metrics *out);

#endif
