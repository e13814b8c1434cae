#include "collector/export/process_metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Seconds since the epoch the machine booted (the btime line of /proc/stat). */
static bool boot_time(double *seconds)
{
	FILE *file = fopen("/proc/stat", "re");
	if (!file)
		return false;
	char line[256];
	bool found = false;
	unsigned long long btime;
	while (!found && fgets(line, sizeof(line), file))
		found = sscanf(line, "btime %llu", &btime) == 1;
	fclose(file);
	if (found)
		*seconds = (double)btime;
	return found;
}

static double open_descriptors(void)
{
	DIR *folder = opendir("/proc/self/fd");
	if (!folder)
		return -1;
	double count = 0;
	for (struct dirent *entry; (entry = readdir(folder));)
		if (entry->d_name[0] != '.')
			count++;
	closedir(folder);
	return count - 1; /* the descriptor of the listing itself */
}

bool agp_process_metrics_read(struct agp_process_metrics *out)
{
	FILE *file = fopen("/proc/self/stat", "re");
	if (!file)
		return false;
	char text[1024];
	size_t length = fread(text, 1, sizeof(text) - 1, file);
	fclose(file);
	text[length] = '\0';
	/* The command name may hold spaces and parentheses: the fields start after the last ')'. */
	const char *fields = strrchr(text, ')');
	unsigned long long utime, stime, start_ticks, vsize;
	long long rss_pages;
	if (!fields ||
	    sscanf(fields + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
	           "%*d %llu %llu %lld",
	           &utime, &stime, &start_ticks, &vsize, &rss_pages) != 5)
		return false;
	double ticks = (double)sysconf(_SC_CLK_TCK), boot;
	if (ticks <= 0 || !boot_time(&boot))
		return false;
	struct rlimit files;
	if (getrlimit(RLIMIT_NOFILE, &files) != 0)
		return false;
	out->cpu_seconds = (double)(utime + stime) / ticks;
	out->resident_bytes = (double)rss_pages * (double)sysconf(_SC_PAGESIZE);
	out->virtual_bytes = (double)vsize;
	out->open_fds = open_descriptors();
	out->max_fds = files.rlim_cur == RLIM_INFINITY ? -1 : (double)files.rlim_cur;
	out->start_time_seconds = boot + (double)start_ticks / ticks;
	return out->open_fds >= 0;
}
