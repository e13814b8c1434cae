#include "tests/support/task_test_util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/clock.h"
#include "shm/abi.h"
#include "shm/ownership.h"

static unsigned sequence;
static struct tt *active;

const char *tt_self(void)
{
	static char path[4096];
	ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
	path[length > 0 ? length : 0] = '\0';
	return path;
}

static int attach(struct tt *t)
{
	if (t->attached)
		return 0;
	int error = agp_segment_attach(t->deployment, &t->segment);
	if (error)
		return error;
	t->attached = true;
	t->consumers = calloc(t->segment.slot_count, sizeof(*t->consumers));
	t->following = calloc(t->segment.slot_count, sizeof(*t->following));
	/* Agents must not reclaim slots behind our back: we drain, as a collector would. */
	return agp_collector_presence_take(&t->segment);
}

int tt_start(struct tt *t, const struct tt_file *files, size_t file_count, unsigned max_concurrency)
{
	memset(t, 0, sizeof(*t));
	active = t;
	snprintf(t->deployment, sizeof(t->deployment), "t%d_%u", (int)getpid(), sequence++);
	setenv("AGENTPERF_NAME", t->deployment, 1);
	snprintf(t->dir, sizeof(t->dir), "/tmp/agp-task-%s", t->deployment);
	if (file_count) {
		mkdir(t->dir, 0700);
		for (size_t i = 0; i < file_count; i++) {
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", t->dir, files[i].name);
			FILE *file = fopen(path, "w");
			if (!file)
				return -errno;
			fputs(files[i].json, file);
			fclose(file);
		}
	}
	struct agp_task_options options = {
	    .agents_dir = t->dir,
	    .deployment = t->deployment,
	    .max_concurrency = max_concurrency,
	};
	int error = agp_task_init(&options);
	if (!error)
		error = attach(t);
	return error;
}

size_t tt_drain(struct tt *t)
{
	if (attach(t) != 0)
		return 0;
	size_t fresh = 0;
	struct agp_record batch[256];
	for (uint32_t i = 0; i < t->segment.slot_count; i++) {
		struct agp_slot *slot = agp_segment_slot(&t->segment, i);
		/* Acquire: pairs with the claimant's release of LIVE; the identity is complete. */
		uint32_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
		if (state != AGP_SLOT_LIVE && state != AGP_SLOT_CLOSED)
			continue;
		uint32_t generation = atomic_load_explicit(&slot->generation, memory_order_relaxed);
		if (!t->following[i] || t->consumers[i].generation != generation) {
			agp_ring_consumer_init(&t->consumers[i], i, generation);
			t->following[i] = true;
		}
		size_t got;
		while ((got = agp_ring_drain_spsc(&t->segment, &t->metrics, &t->consumers[i],
		                                  agp_monotonic_ns() + 1000000000ull, batch, 256)) >
		       0) {
			for (size_t k = 0; k < got; k++) {
				if (batch[k].metric_id < 7)
					t->count[batch[k].metric_id]++;
				if (t->record_count < TT_MAX_RECORDS) {
					t->records[t->record_count] = batch[k];
					snprintf(t->record_type[t->record_count], 32, "%s",
					         slot->type);
					t->record_count++;
				}
			}
			fresh += got;
		}
	}
	return fresh;
}

size_t tt_count(const struct tt *t, unsigned metric, const char *type)
{
	size_t count = 0;
	for (size_t i = 0; i < t->record_count; i++)
		if (t->records[i].metric_id == metric &&
		    (!type || strcmp(t->record_type[i], type) == 0))
			count++;
	return count;
}

void tt_stop(struct tt *t)
{
	if (active == t)
		active = NULL;
	agp_task_shutdown();
	tt_drain(t);
	if (t->attached) {
		agp_segment_detach(&t->segment);
		t->attached = false;
	}
	agp_segment_unlink(t->deployment);
	free(t->consumers);
	free(t->following);
	t->consumers = NULL;
	t->following = NULL;
	char command[400];
	snprintf(command, sizeof(command), "rm -rf '%s'", t->dir);
	if (strncmp(t->dir, "/tmp/agp-task-", 14) == 0)
		(void)!system(command);
}

int tt_teardown(void **state)
{
	(void)state;
	if (active)
		tt_stop(active);
	agp_task_shutdown();
	return 0;
}
