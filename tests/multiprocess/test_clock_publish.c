/*
 * The published clock conversion across processes: a writer re-anchoring
 * in a tight loop while reader processes (real agents) read the clock.
 *
 * Every conversion the writer publishes is the same line (the creation
 * calibration) written through another point of it, so a whole one reads
 * what the calibration reads, within a nanosecond or two of rounding; but
 * the points alternate between 10^12 ticks before and after now, with
 * every other one through now and a millionth slower, so that a reader mixing
 * the fields of two conversions (a torn read) would be off by at least
 * 300 µs (mixed mult) or minutes (mixed base): time would jump. The readers'
 * witness is CLOCK_MONOTONIC read just before and after each reading, and
 * their own previous reading. The writer's witness is the count it reports
 * over a pipe against the count the header shows.
 *
 * Then: a writer killed at a random point of a publish leaves readers a
 * whole conversion (they never wait for it), and agents of a segment whose
 * writer is gone keep its last conversion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "shm/clock.h"
#include "shm/segment.h"
#include "tests/support/test_util.h"

#define READERS      2
#define RUN_MS       1500
#define TOLERANCE_NS 50000 /* a torn read is off by 300 µs or more */
#define FAR_TICKS    1000000000000ll

struct reader_report {
	uint64_t reads;
	uint64_t backwards;
	uint64_t outside; /* readings off CLOCK_MONOTONIC by more than TOLERANCE_NS */
	int64_t worst_ns;
};

struct start_line {
	_Atomic int ready; /* readers open and waiting; relaxed: no data is handed over */
	_Atomic int go;
};

static void write_all(int fd, const void *data, size_t size)
{
	if (write(fd, data, size) != (ssize_t)size)
		_exit(5);
}

/* A reader: an agent reading its clock flat out until told to stop, then reporting. */
static void reader(const char *deployment, int fd, struct start_line *start, _Atomic int *stop)
{
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	if (agp_agent_open("reader", "clock", &options, &agent) != 0)
		_exit(2);
	atomic_fetch_add_explicit(&start->ready, 1, memory_order_relaxed);
	while (!atomic_load_explicit(&start->go, memory_order_relaxed))
		;
	struct reader_report report = {0};
	uint64_t last = 0;
	while (!atomic_load_explicit(stop, memory_order_relaxed)) {
		uint64_t before = agp_monotonic_ns();
		uint64_t ours = agp_clock_now_ns(agent);
		uint64_t after = agp_monotonic_ns();
		report.reads++;
		if (ours < last)
			report.backwards++;
		last = ours;
		int64_t error = ours + TOLERANCE_NS < before  ? (int64_t)(ours - before)
		                : ours > after + TOLERANCE_NS ? (int64_t)(ours - after)
		                                              : 0;
		if (error) {
			report.outside++;
			int64_t magnitude = error < 0 ? -error : error;
			if (magnitude > report.worst_ns)
				report.worst_ns = magnitude;
		}
	}
	agp_agent_close(agent);
	write_all(fd, &report, sizeof(report));
	_exit(0);
}

/* The writer: publishes the calibration's line through alternating far points, flat out. */
static void writer(struct agp_segment *segment, int fd, struct start_line *start, _Atomic int *stop)
{
	struct agp_shm_clock_published *published = &agp_segment_header(segment)->clock_published;
	const struct agp_clock_line calibration = agp_clock_published_line(published);
	const uint32_t shift = published->shift;
	while (!atomic_load_explicit(&start->go, memory_order_relaxed))
		;
	uint64_t publishes = 0;
	while (!atomic_load_explicit(stop, memory_order_relaxed)) {
		uint64_t now = agp_tsc_read();
		struct agp_clock_line line;
		if (publishes % 2 == 0) {
			line.base_tsc =
			    now + (uint64_t)(publishes % 4 == 0 ? FAR_TICKS : -FAR_TICKS);
			line.mult = calibration.mult;
		} else {
			/*
			 * Through now, a millionth slower: a whole one reads right
			 * nearby, and never ahead of the calibration's line after now,
			 * so that switching between the two never goes back (as the
			 * discipline's lines are made to meet, clock.h).
			 */
			line.base_tsc = now;
			line.mult = calibration.mult - calibration.mult / 1000000;
		}
		line.base_ns = agp_clock_line_convert(&calibration, shift, line.base_tsc);
		agp_clock_publish(published, &line);
		publishes++;
	}
	write_all(fd, &publishes, sizeof(publishes));
	_exit(0);
}

static void *shared_page(void)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	memset(page, 0, 4096);
	return page;
}

static void wait_ok(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static bool make_tsc_segment(const char *deployment, struct agp_segment *segment)
{
	unsetenv("AGENTPERF_CLOCK");
	struct agp_segment_layout layout = {8, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, segment), 0);
	if (segment->clock.use_tsc)
		return true;
	agp_segment_detach(segment);
	agp_segment_unlink(deployment);
	return false;
}

static void test_no_torn_conversion(void **state)
{
	(void)state;
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "clockpub");
	struct agp_segment segment;
	if (!make_tsc_segment(deployment, &segment))
		skip(); /* the deployment clock is CLOCK_MONOTONIC here: nothing is published */
	struct start_line *start = shared_page();
	_Atomic int *stop = shared_page();
	int pipes[READERS + 1][2];
	pid_t pids[READERS + 1];
	for (int r = 0; r <= READERS; r++) {
		assert_int_equal(pipe(pipes[r]), 0);
		pids[r] = fork();
		assert_true(pids[r] >= 0);
		if (pids[r] == 0) {
			close(pipes[r][0]);
			if (r == READERS)
				writer(&segment, pipes[r][1], start, stop);
			reader(deployment, pipes[r][1], start, stop);
		}
		close(pipes[r][1]);
	}
	while (atomic_load_explicit(&start->ready, memory_order_relaxed) < READERS)
		usleep(1000);
	uint32_t first = atomic_load(&agp_segment_header(&segment)->clock_published.sequence);
	atomic_store_explicit(&start->go, 1, memory_order_relaxed);
	struct timespec run = {RUN_MS / 1000, (RUN_MS % 1000) * 1000000l};
	nanosleep(&run, NULL);
	atomic_store_explicit(stop, 1, memory_order_relaxed);

	uint64_t publishes = 0;
	assert_int_equal(read(pipes[READERS][0], &publishes, sizeof(publishes)), sizeof(publishes));
	wait_ok(pids[READERS]);
	uint32_t last = atomic_load(&agp_segment_header(&segment)->clock_published.sequence);
	assert_int_equal((uint32_t)(last - first), (uint32_t)publishes);
	assert_true(publishes > 10000);
	for (int r = 0; r < READERS; r++) {
		struct reader_report report;
		assert_int_equal(read(pipes[r][0], &report, sizeof(report)), sizeof(report));
		wait_ok(pids[r]);
		print_message("reader %d: %llu reads while %llu publishes, %llu backwards, %llu "
		              "outside (worst %lld ns)\n",
		              r, (unsigned long long)report.reads, (unsigned long long)publishes,
		              (unsigned long long)report.backwards,
		              (unsigned long long)report.outside, (long long)report.worst_ns);
		assert_true(report.reads > 10000);
		assert_int_equal(report.backwards, 0);
		assert_int_equal(report.outside, 0);
		close(pipes[r][0]);
	}
	close(pipes[READERS][0]);
	munmap(start, 4096);
	munmap(stop, 4096);
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

/*
 * A writer killed anywhere in a publish: the reader after it gets a whole
 * conversion at once. And the last one published stays: here a line 10 ms
 * ahead of the calibration, which the agents keep reading after the writer
 * is gone (not the calibration).
 */
static void test_writer_gone(void **state)
{
	(void)state;
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "clockgone");
	struct agp_segment segment;
	if (!make_tsc_segment(deployment, &segment))
		skip();
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	assert_int_equal(agp_agent_open("survivor", "clock", &options, &agent), 0);
	struct start_line *start = shared_page();
	_Atomic int *stop = shared_page();
	atomic_store(&start->go, 1);
	for (int round = 0; round < 20; round++) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			writer(&segment, fds[1], start, stop);
		close(fds[1]);
		usleep(1000 + (useconds_t)(rand() % 3000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(fds[0]);
		uint64_t before = agp_monotonic_ns(), ours = agp_clock_now_ns(agent),
		         after = agp_monotonic_ns();
		assert_true(ours + TOLERANCE_NS >= before && ours <= after + TOLERANCE_NS);
	}

	struct agp_shm_clock_published *published = &agp_segment_header(&segment)->clock_published;
	struct agp_clock_line ahead = agp_clock_published_line(published);
	ahead.base_ns += 10 * 1000 * 1000;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		agp_clock_publish(published, &ahead);
		_exit(0);
	}
	wait_ok(pid);
	uint64_t before = agp_monotonic_ns(), ours = agp_clock_now_ns(agent),
	         after = agp_monotonic_ns();
	assert_true(ours >= before + 10 * 1000 * 1000 - TOLERANCE_NS);
	assert_true(ours <= after + 10 * 1000 * 1000 + TOLERANCE_NS);
	agp_agent_close(agent);
	munmap(start, 4096);
	munmap(stop, 4096);
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_torn_conversion),
	    cmocka_unit_test(test_writer_gone),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
