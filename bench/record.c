/*
 * bench/record: what one sample costs an agent, and how many samples per
 * second one agent process can hand to a draining consumer process, each
 * beside a floor measured in the same run.
 *
 *   - ns per agp_record(), per AGP_TIMER_SCOPE, per bare rdtsc and per bare
 *     clock_gettime(CLOCK_MONOTONIC), and the ratios to rdtsc. agp_record
 *     is called through libagentperf.so, as an agent calls it; the ring is
 *     drained between timed batches so that every timed call stores.
 *   - samples/s from a producer process recording flat out (a full ring
 *     drops) to a consumer process draining with agp_ring_drain_spsc,
 *     beside raw ck_ring_enqueue_spsc/ck_ring_dequeue_spsc of a 32-byte
 *     record (stamped with rdtsc, as agp_record stamps its samples) in
 *     MAP_SHARED memory, same capacity, same protocol: producer flat out,
 *     full ring drops, the consumer counts what it receives in a fixed time.
 *
 * Every figure is the median of TRIALS trials. Meanwhile the deployment
 * clock is re-anchored as agentperfd does it (collector/clock_service.c),
 * and between timed batches a second attachment of the segment (reading
 * the header's conversion, as agents do) compares it with
 * CLOCK_MONOTONIC: the worst difference seen is printed.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <ck_ring.h>

#include <agentperf/agentperf.h>

#include "bench/bench_util.h"

#include "collector/clock_service.h"
#include "shm/clock.h"
#include "shm/ring_consumer.h"
#include "common/error.h"
#include "shm/segment.h"
#include "shm/slot.h"

#define TRIALS        11
#define BATCH         4096 /* records per timed batch: half the default ring */
#define BATCHES       64
#define FLOOR_OPS     (BATCH * BATCHES)
#define CROSS_NS      (200ull * 1000 * 1000)
#define RING_CAPACITY 8192u
#define DRAIN_BATCH   1024

static void die(const char *what, int error)
{
	fprintf(stderr, "bench/record: %s: %s (%s)\n", what, strerror(-error),
	        agp__error_message());
	exit(1);
}

/* Keeps a value alive without a store the compiler could drop. */
/* Keeps a computed value alive so the compiler cannot drop the loop that made it. */
static inline void keep(uint64_t value)
{
	__asm__ volatile("" : : "r"(value) : "memory");
}

/* The deployment clock as agents read it, against CLOCK_MONOTONIC (outside timed regions). */
static struct agp_segment observer;
static int64_t clock_worst_ns;
static uint64_t clock_readings;

static void check_clock(void)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		uint64_t before = agp_monotonic_ns();
		uint64_t ours = agp_clock_read(&observer.clock);
		uint64_t after = agp_monotonic_ns();
		if (after - before > 4000)
			continue; /* preempted in between: not a fair comparison */
		int64_t difference = (int64_t)(ours - (before + (after - before) / 2));
		if (difference < 0)
			difference = -difference;
		if (difference > clock_worst_ns)
			clock_worst_ns = difference;
		clock_readings++;
		return;
	}
}

static double trial_rdtsc(void)
{
	uint64_t sum = 0, start = agp_bench_now_ns();
	for (int i = 0; i < FLOOR_OPS; i++)
		sum += __rdtsc();
	uint64_t elapsed = agp_bench_now_ns() - start;
	keep(sum);
	return (double)elapsed / FLOOR_OPS;
}

static double trial_clock_gettime(void)
{
	uint64_t sum = 0, start = agp_bench_now_ns();
	for (int i = 0; i < FLOOR_OPS; i++) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		sum += (uint64_t)ts.tv_nsec;
	}
	uint64_t elapsed = agp_bench_now_ns() - start;
	keep(sum);
	return (double)elapsed / FLOOR_OPS;
}

/* The one-process floor of the ring mechanics: ck_ring enqueue of a 32-byte record stamped with
 * rdtsc. */
struct bench_record {
	uint64_t timestamp;
	int64_t value;
	uint64_t task_id;
	uint32_t sequence;
	uint16_t metric_id;
	uint16_t flags;
};
_Static_assert(sizeof(struct bench_record) == sizeof(struct agp_record), "same record size");
CK_RING_PROTOTYPE(bench, bench_record)

static double trial_ck_enqueue(struct ck_ring *ring, struct bench_record *buffer)
{
	uint64_t elapsed = 0;
	struct bench_record record = {0}, out;
	for (int b = 0; b < BATCHES; b++) {
		uint64_t start = agp_bench_now_ns();
		for (int i = 0; i < BATCH; i++) {
			record.timestamp = __rdtsc();
			record.value = i;
			record.sequence = (uint32_t)i;
			ck_ring_enqueue_spsc_bench(ring, buffer, &record);
		}
		elapsed += agp_bench_now_ns() - start;
		while (ck_ring_dequeue_spsc_bench(ring, buffer, &out))
			;
	}
	return (double)elapsed / FLOOR_OPS;
}

struct local_consumer {
	struct agp_segment segment;
	struct agp_ring_consumer consumer;
	struct agp_metric_cache metrics;
	struct agp_record out[DRAIN_BATCH];
};

static uint64_t drain_all(struct local_consumer *c)
{
	uint64_t total = 0, limit = agp_clock_read(&c->segment.clock) + 1000000000ull;
	size_t n;
	while ((n = agp_ring_drain_spsc(&c->segment, &c->metrics, &c->consumer, limit, c->out,
	                                DRAIN_BATCH)) > 0)
		total += n;
	return total;
}

static uint32_t slot_of(const struct agp_segment *segment, pid_t pid)
{
	for (uint32_t i = 0; i < segment->slot_count; i++) {
		struct agp_slot *slot = agp_segment_slot(segment, i);
		if (atomic_load_explicit(&slot->state, memory_order_acquire) == AGP_SLOT_LIVE &&
		    slot->pid == pid)
			return i;
	}
	fprintf(stderr, "bench/record: no live slot for pid %d\n", (int)pid);
	exit(1);
}

static double trial_record(agp_agent *agent, struct local_consumer *c)
{
	uint64_t elapsed = 0;
	for (int b = 0; b < BATCHES; b++) {
		uint64_t start = agp_bench_now_ns();
		for (int i = 0; i < BATCH; i++)
			agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, i, 1);
		elapsed += agp_bench_now_ns() - start;
		drain_all(c);
		check_clock();
	}
	return (double)elapsed / FLOOR_OPS;
}

static double trial_timer(agp_agent *agent, struct local_consumer *c)
{
	uint64_t elapsed = 0;
	for (int b = 0; b < BATCHES; b++) {
		uint64_t start = agp_bench_now_ns();
		for (int i = 0; i < BATCH; i++) {
			AGP_TIMER_SCOPE(agent, AGP_METRIC_COORDINATION_OVERHEAD, 1);
		}
		elapsed += agp_bench_now_ns() - start;
		drain_all(c);
		check_clock();
	}
	return (double)elapsed / FLOOR_OPS;
}

/* Shared between the consumer (parent) and a producer process. */
struct control {
	_Atomic int ready;
	_Atomic int stop;
	int retry; /* 1: the producer repeats a refused sample until the ring takes it */
	struct ck_ring ring;
	struct bench_record buffer[RING_CAPACITY];
};

static pid_t start_agp_producer(const char *deployment, struct control *control)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	if (agp_agent_open("producer", "bench", &options, &agent) != 0)
		_exit(2);
	/* Release/acquire: the consumer finds our slot LIVE once it sees ready. */
	atomic_store_explicit(&control->ready, 1, memory_order_release);
	int64_t value = 0;
	while (!atomic_load_explicit(&control->stop, memory_order_relaxed))
		for (int i = 0; i < 256; i++, value++)
			while (!agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, value, 1) &&
			       control->retry &&
			       !atomic_load_explicit(&control->stop, memory_order_relaxed))
				;
	agp_agent_close(agent);
	_exit(0);
}

static pid_t start_ck_producer(struct control *control)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	struct bench_record record = {0};
	atomic_store_explicit(&control->ready, 1, memory_order_release);
	while (!atomic_load_explicit(&control->stop, memory_order_relaxed))
		for (int i = 0; i < 256; i++) {
			record.timestamp = __rdtsc();
			record.value++;
			record.sequence++;
			while (
			    !ck_ring_enqueue_spsc_bench(&control->ring, control->buffer, &record) &&
			    control->retry &&
			    !atomic_load_explicit(&control->stop, memory_order_relaxed))
				;
		}
	_exit(0);
}

static void wait_ready(struct control *control)
{
	while (!atomic_load_explicit(&control->ready, memory_order_acquire))
		sched_yield();
}

static void stop_producer(struct control *control, pid_t pid)
{
	atomic_store_explicit(&control->stop, 1, memory_order_relaxed);
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench/record: producer failed (status 0x%x)\n", status);
		exit(1);
	}
}

/* Samples per second the consumer receives from a producer process via agentperf. */
static double trial_cross_agp(const char *deployment, struct local_consumer *c,
                              struct control *control, int retry)
{
	memset(control, 0, sizeof(*control));
	control->retry = retry;
	pid_t pid = start_agp_producer(deployment, control);
	wait_ready(control);
	uint32_t index = slot_of(&c->segment, pid);
	struct agp_slot *slot = agp_segment_slot(&c->segment, index);
	agp_ring_consumer_init(&c->consumer, index,
	                       atomic_load_explicit(&slot->generation, memory_order_relaxed));
	uint64_t limit = UINT64_MAX, received = 0, start = agp_bench_now_ns(), elapsed;
	while ((elapsed = agp_bench_now_ns() - start) < CROSS_NS)
		received += agp_ring_drain_spsc(&c->segment, &c->metrics, &c->consumer, limit,
		                                c->out, DRAIN_BATCH);
	check_clock();
	stop_producer(control, pid);
	drain_all(c);
	agp_slot_release(&c->segment, index, c->consumer.generation);
	if (c->consumer.invalid)
		fprintf(stderr, "bench/record: %llu invalid records!\n",
		        (unsigned long long)c->consumer.invalid);
	return (double)received * 1e9 / (double)elapsed;
}

/* The same with raw ck_ring in shared memory. */
static double trial_cross_ck(struct control *control, int retry)
{
	memset(control, 0, sizeof(*control));
	control->retry = retry;
	ck_ring_init(&control->ring, RING_CAPACITY);
	pid_t pid = start_ck_producer(control);
	wait_ready(control);
	struct bench_record out;
	uint64_t received = 0, start = agp_bench_now_ns(), elapsed, sum = 0;
	while ((elapsed = agp_bench_now_ns() - start) < CROSS_NS) {
		/* Dequeue up to DRAIN_BATCH at a time, checking the clock as often as the agp loop.
		 */
		for (int i = 0; i < DRAIN_BATCH; i++) {
			if (!ck_ring_dequeue_spsc_bench(&control->ring, control->buffer, &out))
				break;
			sum += out.sequence;
			received++;
		}
	}
	keep(sum);
	stop_producer(control, pid);
	return (double)received * 1e9 / (double)elapsed;
}

/* Prints the median cost and its median ratio to the floor of the same rounds (not sorted yet). */
static void print_cost(const char *what, const double *values, const double *floor, double target)
{
	double sorted[TRIALS], ratio[TRIALS];
	for (int t = 0; t < TRIALS; t++) {
		sorted[t] = values[t];
		ratio[t] = floor ? values[t] / floor[t] : 1;
	}
	double m_value = agp_bench_median(sorted, TRIALS),
	       m_ratio = agp_bench_median(ratio, TRIALS);
	printf("  %-44s %8.2f ns", what, m_value);
	if (floor)
		printf("  %.2fx rdtsc", m_ratio);
	if (target > 0)
		printf(" (target <= %.1f): %s", target, m_ratio <= target ? "met" : "MISSED");
	printf("\n");
}

/* Prints medians and ranges of paired agentperf/ck_ring trials and the median of their ratios. */
static void print_rates(double *agp, double *ck, const char *target)
{
	double ratio[TRIALS];
	for (int t = 0; t < TRIALS; t++)
		ratio[t] = agp[t] / ck[t];
	double m_ratio = agp_bench_median(ratio, TRIALS);
	double m_agp = agp_bench_median(agp, TRIALS), m_ck = agp_bench_median(ck, TRIALS);
	printf("    %-42s %8.1f M samples/s  (trials %.1f..%.1f)\n",
	       "agp_record -> agp_ring_drain_spsc", m_agp / 1e6, agp[0] / 1e6,
	       agp[TRIALS - 1] / 1e6);
	printf("    %-42s %8.1f M samples/s  (trials %.1f..%.1f)\n",
	       "ck_ring_enqueue_spsc -> dequeue_spsc", m_ck / 1e6, ck[0] / 1e6,
	       ck[TRIALS - 1] / 1e6);
	if (target)
		printf("    %-42s %8.2f  (%s): %s\n", "ratio agentperf / ck_ring", m_ratio, target,
		       m_ratio >= 0.8 ? "met" : "MISSED");
	else
		printf("    %-42s %8.2f\n", "ratio agentperf / ck_ring", m_ratio);
}

int main(void)
{
	char deployment[64];
	snprintf(deployment, sizeof(deployment), "bench%ld", (long)getpid());
	struct agp_segment_layout layout;
	agp_segment_layout_default(&layout);
	layout.ring_capacity = RING_CAPACITY;
	static struct local_consumer consumer;
	int error = agp_segment_create(deployment, &layout, &consumer.segment);
	if (error)
		die("creating the segment", error);
	/* We serve as the collector of this deployment, re-anchoring its clock as agentperfd does.
	 */
	atomic_store_explicit(&agp_segment_header(&consumer.segment)->collector_pid, getpid(),
	                      memory_order_relaxed);
	struct agp_clock_service *clock_service;
	error = agp_clock_service_open(&consumer.segment, -1, &clock_service);
	if (!error)
		error = agp_clock_service_start(clock_service);
	if (!error)
		error = agp_segment_attach(deployment, &observer);
	if (error)
		die("re-anchoring the clock", error);

	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	error = agp_agent_open("bench", "bench", &options, &agent);
	if (error)
		die("opening the agent", error);
	uint32_t index = slot_of(&consumer.segment, getpid());
	agp_ring_consumer_init(
	    &consumer.consumer, index,
	    atomic_load(&agp_segment_slot(&consumer.segment, index)->generation));

	struct control *control = mmap(NULL, sizeof(struct control), PROT_READ | PROT_WRITE,
	                               MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (control == MAP_FAILED)
		die("mapping the control block", -errno);
	static struct {
		struct ck_ring ring;
		struct bench_record buffer[RING_CAPACITY];
	} local;
	ck_ring_init(&local.ring, RING_CAPACITY);

	double rdtsc[TRIALS], gettime[TRIALS], record[TRIALS], timer[TRIALS], ck_one[TRIALS];
	double cross_agp[TRIALS], cross_ck[TRIALS], retry_agp[TRIALS], retry_ck[TRIALS];
	/* Interleave the kinds within each round, so that drift hits them all alike. */
	for (int t = 0; t < TRIALS; t++) {
		rdtsc[t] = trial_rdtsc();
		gettime[t] = trial_clock_gettime();
		record[t] = trial_record(agent, &consumer);
		timer[t] = trial_timer(agent, &consumer);
		ck_one[t] = trial_ck_enqueue(&local.ring, local.buffer);
	}
	agp_agent_close(agent);
	agp_slot_release(&consumer.segment, index, consumer.consumer.generation);
	for (int t = 0; t < TRIALS; t++) {
		cross_agp[t] = trial_cross_agp(deployment, &consumer, control, 0);
		cross_ck[t] = trial_cross_ck(control, 0);
		retry_agp[t] = trial_cross_agp(deployment, &consumer, control, 1);
		retry_ck[t] = trial_cross_ck(control, 1);
	}

	struct agp_clock_status clock;
	agp_clock_service_status(clock_service, &clock);
	printf("bench/record: medians of %d trials; ratios are medians of the ratios within each\n"
	       "round of trials (each round runs every kind once); deployment clock: %s (%s)\n",
	       TRIALS, clock.clock, clock.reason);
	printf("  deployment clock - CLOCK_MONOTONIC: worst %.2f µs in %llu readings between "
	       "batches, %llu re-anchors\n",
	       (double)clock_worst_ns / 1e3, (unsigned long long)clock_readings,
	       (unsigned long long)clock.reanchors);
	print_cost("bare rdtsc", rdtsc, NULL, 0);
	print_cost("bare clock_gettime(CLOCK_MONOTONIC)", gettime, rdtsc, 0);
	print_cost("ck_ring_enqueue_spsc + rdtsc, one process", ck_one, rdtsc, 0);
	print_cost("agp_record", record, rdtsc, 1.5);
	print_cost("AGP_TIMER_SCOPE", timer, rdtsc, 2.5);
	printf("  cross-process, %u-record ring, 32-byte records; each agentperf trial is paired "
	       "with a\n"
	       "  ck_ring trial run right after it, and the ratio is the median of the paired "
	       "ratios:\n",
	       RING_CAPACITY);
	printf("  producer flat out, a full ring drops:\n");
	print_rates(cross_agp, cross_ck, "target >= 0.8");
	printf("  producer retries a refused sample until the ring takes it:\n");
	print_rates(retry_agp, retry_ck, NULL);

	munmap(control, sizeof(*control));
	agp_segment_detach(&observer);
	agp_clock_service_stop(clock_service);
	agp_segment_detach(&consumer.segment);
	agp_clock_service_close(clock_service);
	agp_segment_unlink(deployment);
	return 0;
}
