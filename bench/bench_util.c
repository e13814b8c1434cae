#include "bench/bench_util.h"

#include <ck_ring.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t agp_bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double agp_bench_median(double *values, int count)
{
	qsort(values, (size_t)count, sizeof(*values), compare_double);
	return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

double agp_bench_percentile(double *values, int count, double p)
{
	qsort(values, (size_t)count, sizeof(*values), compare_double);
	return values[(int)(p * (count - 1) + 0.5)];
}

/* The same 32 bytes as struct agp_record. */
struct floor_record {
	uint64_t timestamp, value, task, sequence;
};

CK_RING_PROTOTYPE(floor, floor_record)

#define FLOOR_RING 8192

struct floor_shared {
	_Atomic int ready;
	_Atomic int stop;
	struct ck_ring ring;
	struct floor_record buffer[FLOOR_RING];
};

double agp_bench_ck_ring_cross_process(uint64_t duration_ns)
{
	struct floor_shared *shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
	                                   MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (shared == MAP_FAILED) {
		perror("bench: mmap");
		exit(1);
	}
	ck_ring_init(&shared->ring, FLOOR_RING);
	pid_t producer = fork();
	if (producer == 0) {
		struct floor_record record = {0};
		/* Release: the consumer starts its clock once we run. */
		atomic_store_explicit(&shared->ready, 1, memory_order_release);
		while (!atomic_load_explicit(&shared->stop, memory_order_relaxed)) {
			record.sequence++;
			record.timestamp = record.sequence;
			while (
			    !ck_ring_enqueue_spsc_floor(&shared->ring, shared->buffer, &record) &&
			    !atomic_load_explicit(&shared->stop, memory_order_relaxed))
				;
		}
		_exit(0);
	}
	/* Acquire: pairs with the producer's ready store. */
	while (!atomic_load_explicit(&shared->ready, memory_order_acquire))
		;
	struct floor_record out;
	uint64_t received = 0, checksum = 0, start = agp_bench_now_ns(), elapsed;
	while ((elapsed = agp_bench_now_ns() - start) < duration_ns)
		for (int i = 0;
		     i < 512 && ck_ring_dequeue_spsc_floor(&shared->ring, shared->buffer, &out);
		     i++) {
			checksum += out.sequence;
			received++;
		}
	/* Relaxed: a flag the producer polls; nothing else is published through it. */
	atomic_store_explicit(&shared->stop, 1, memory_order_relaxed);
	waitpid(producer, NULL, 0);
	munmap(shared, sizeof(*shared));
	if (checksum == 0 && received)
		fprintf(stderr, "bench: impossible checksum\n");
	return (double)received * 1e9 / (double)elapsed;
}

uint64_t agp_bench_rss_bytes(void)
{
	FILE *statm = fopen("/proc/self/statm", "re");
	unsigned long long size = 0, resident = 0;
	if (!statm)
		return 0;
	if (fscanf(statm, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(statm);
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}
