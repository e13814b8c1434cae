/*
 * The command line's one option parser (tools/cli_options.c): flags, texts,
 * checked values with their complaint, --json in both forms, --help, the
 * short letters, unknown options, stray operands and stopping at the first
 * operand. What it prints on stderr goes to a file the test reads back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli_options.h"

struct parsed {
	bool flag;
	const char *text;
	double seconds;
	const char *json_file;
};

static char stderr_text[4096];
static char stdout_text[4096];

/* Reads what fd held since it was made, then closes it and restores target. */
static void take_back(int fd, int saved, int target, char *text, size_t max)
{
	fflush(target == 1 ? stdout : stderr);
	dup2(saved, target);
	close(saved);
	ssize_t length = pread(fd, text, max - 1, 0);
	text[length > 0 ? length : 0] = '\0';
	close(fd);
}

/* Parses a NULL-terminated argument list (the command first) against a fixed table. */
static int parse(struct cli *cli, struct parsed *out, bool stop_at_operand, int max_operands,
                 int *first_operand, ...)
{
	char *argv[16];
	int argc = 0;
	va_list args;
	va_start(args, first_operand);
	for (char *arg; (arg = va_arg(args, char *));)
		argv[argc++] = arg;
	va_end(args);
	argv[argc] = NULL;
	memset(out, 0, sizeof(*out));
	out->seconds = -1;
	const struct cli_option options[] = {
	    {"flag", 'f', CLI_OPTION_FLAG, &out->flag, NULL},
	    {"text", 't', CLI_OPTION_TEXT, &out->text, NULL},
	    {"window", 0, CLI_OPTION_VALUE, &out->seconds, cli_option_duration},
	    {"json", 0, CLI_OPTION_JSON_OR_FILE, &out->json_file, NULL},
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"probe", "Usage: agentperf probe\n", options, max_operands,
	                                 stop_at_operand};
	char err_path[] = "/tmp/agp-cli-options-XXXXXX", out_path[] = "/tmp/agp-cli-options-XXXXXX";
	int err_fd = mkstemp(err_path), out_fd = mkstemp(out_path);
	assert_true(err_fd >= 0 && out_fd >= 0);
	unlink(err_path);
	unlink(out_path);
	fflush(stderr);
	fflush(stdout);
	int saved_err = dup(2), saved_out = dup(1);
	dup2(err_fd, 2);
	dup2(out_fd, 1);
	optind = 0; /* as agentperf.c leaves it for a command */
	int status = cli_parse_options(cli, &spec, argc, argv, first_operand);
	take_back(err_fd, saved_err, 2, stderr_text, sizeof(stderr_text));
	take_back(out_fd, saved_out, 1, stdout_text, sizeof(stdout_text));
	return status;
}

static void values_reach_their_targets(void **state)
{
	(void)state;
	struct cli cli = {.fd = -1};
	struct parsed got;
	int first = -1;
	assert_int_equal(parse(&cli, &got, false, 1, &first, "probe", "--flag", "--text", "abc",
	                       "--window=2m", "operand", NULL),
	                 CLI_PARSED);
	assert_true(got.flag);
	assert_string_equal(got.text, "abc");
	assert_true(got.seconds == 120);
	assert_false(cli.json);
	assert_int_equal(first, 5);
	assert_string_equal(stderr_text, "");

	/* The short letters, a value glued to its letter. */
	assert_int_equal(parse(&cli, &got, false, 0, NULL, "probe", "-f", "-tx", NULL), CLI_PARSED);
	assert_true(got.flag);
	assert_string_equal(got.text, "x");
}

static void json_alone_prints_json_with_a_file_names_it(void **state)
{
	(void)state;
	struct cli cli = {.fd = -1};
	struct parsed got;
	assert_int_equal(parse(&cli, &got, false, 0, NULL, "probe", "--json", NULL), CLI_PARSED);
	assert_true(cli.json);
	assert_null(got.json_file);

	cli.json = false;
	assert_int_equal(parse(&cli, &got, false, 0, NULL, "probe", "--json", "out.json", NULL),
	                 CLI_PARSED);
	assert_false(cli.json);
	assert_string_equal(got.json_file, "out.json");
	assert_int_equal(parse(&cli, &got, false, 0, NULL, "probe", "--json=o2.json", NULL),
	                 CLI_PARSED);
	assert_string_equal(got.json_file, "o2.json");
	/* An option after a bare --json is not its file. */
	assert_int_equal(parse(&cli, &got, false, 0, NULL, "probe", "--json", "--flag", NULL),
	                 CLI_PARSED);
	assert_true(cli.json && got.flag);
	assert_null(got.json_file);
}

static void help_prints_and_ends_with_ok(void **state)
{
	(void)state;
	struct cli cli = {.fd = -1};
	struct parsed got;
	assert_int_equal(
	    parse(&cli, &got, false, 0, NULL, "probe", "--flag", "--help", "--bogus", NULL),
	    CLI_OK);
	assert_string_equal(stdout_text, "Usage: agentperf probe\n");
	assert_int_equal(parse(&cli, &got, false, 0, NULL, "probe", "-h", NULL), CLI_OK);
}

static void bad_input_is_a_usage_error_that_names_it(void **state)
{
	(void)state;
	struct cli cli = {.fd = -1};
	struct parsed got;
	assert_int_equal(parse(&cli, &got, false, 0, NULL, "probe", "--window", "forever", NULL),
	                 CLI_USAGE);
	assert_non_null(
	    strstr(stderr_text, "agentperf probe: --window 'forever' is not a duration"));
	assert_non_null(strstr(stderr_text, "Try 'agentperf probe --help'."));
	assert_true(got.seconds == -1); /* untouched */

	/* One message each, ours, naming the option (getopt's own stays silent). */
	assert_int_equal(parse(&cli, &got, false, 0, NULL, "probe", "--bogus", NULL), CLI_USAGE);
	assert_string_equal(stderr_text, "agentperf probe: unknown option '--bogus'\n"
	                                 "Try 'agentperf probe --help'.\n");

	assert_int_equal(parse(&cli, &got, false, 0, NULL, "probe", "--text", NULL), CLI_USAGE);
	assert_string_equal(stderr_text, "agentperf probe: option '--text' needs a value\n"
	                                 "Try 'agentperf probe --help'.\n");

	assert_int_equal(parse(&cli, &got, false, 1, NULL, "probe", "one", "two", NULL), CLI_USAGE);
	assert_non_null(strstr(stderr_text, "unexpected argument 'two'"));
}

static void stopping_at_the_first_operand_leaves_its_options(void **state)
{
	(void)state;
	struct cli cli = {.fd = -1};
	struct parsed got;
	int first = -1;
	assert_int_equal(
	    parse(&cli, &got, true, -1, &first, "probe", "-f", "ls", "--flag", "-l", NULL),
	    CLI_PARSED);
	assert_int_equal(first, 2);
	assert_true(got.flag);
	/* Without stopping, getopt takes the operand's options as ours (and moves it last). */
	assert_int_equal(parse(&cli, &got, false, -1, &first, "probe", "ls", "--text", "y", NULL),
	                 CLI_PARSED);
	assert_string_equal(got.text, "y");
	assert_int_equal(first, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(values_reach_their_targets),
	    cmocka_unit_test(json_alone_prints_json_with_a_file_names_it),
	    cmocka_unit_test(help_prints_and_ends_with_ok),
	    cmocka_unit_test(bad_input_is_a_usage_error_that_names_it),
	    cmocka_unit_test(stopping_at_the_first_operand_leaves_its_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
