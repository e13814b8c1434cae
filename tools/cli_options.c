/* The one option parser of the subcommands (cli_options.h): a table turned into getopt_long's. */
#include "tools/cli_options.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* More than any command has: a longer table is a programming error, refused loudly. */
#define OPTIONS_MAX 16
/* getopt_long's value of table entry i without a letter (above every character). */
#define ENTRY_VALUE 256

static int has_argument(enum cli_option_kind kind)
{
	switch (kind) {
	case CLI_OPTION_TEXT:
	case CLI_OPTION_VALUE:
		return required_argument;
	case CLI_OPTION_JSON_OR_FILE:
		return optional_argument;
	case CLI_OPTION_FLAG:
	case CLI_OPTION_JSON:
		break;
	}
	return no_argument;
}

/* getopt_long's tables for spec: longs (help included) and the short letters. */
static int build_tables(const struct cli_options *spec, struct option *longs, char *letters)
{
	size_t count = 0, letter_count = 0;
	if (spec->stop_at_operand)
		letters[letter_count++] = '+';
	/* ':' first: a missing value comes back as ':', told apart from an unknown option. */
	letters[letter_count++] = ':';
	for (const struct cli_option *entry = spec->options; entry && entry->name; entry++) {
		if (count == OPTIONS_MAX)
			return -1;
		int argument = has_argument(entry->kind);
		longs[count] =
		    (struct option){entry->name, argument, NULL,
		                    entry->letter ? entry->letter : ENTRY_VALUE + (int)count};
		count++;
		if (entry->letter) {
			letters[letter_count++] = entry->letter;
			if (argument == required_argument)
				letters[letter_count++] = ':';
		}
	}
	longs[count++] = (struct option){"help", no_argument, NULL, 'h'};
	longs[count] = (struct option){NULL, 0, NULL, 0};
	letters[letter_count++] = 'h';
	letters[letter_count] = '\0';
	return 0;
}

/* The entry getopt_long answered with value, NULL for none of the table's. */
static const struct cli_option *entry_of(const struct cli_options *spec, int value)
{
	if (value >= ENTRY_VALUE)
		return &spec->options[value - ENTRY_VALUE];
	for (const struct cli_option *entry = spec->options; entry && entry->name; entry++)
		if (entry->letter && entry->letter == value)
			return entry;
	return NULL;
}

/* Applies one option with its value (optarg); CLI_PARSED, or CLI_USAGE after the message. */
static int apply(struct cli *cli, const struct cli_options *spec, const struct cli_option *entry,
                 int argc, char **argv)
{
	const char *complaint;
	switch (entry->kind) {
	case CLI_OPTION_FLAG:
		*(bool *)entry->target = true;
		break;
	case CLI_OPTION_TEXT:
		*(const char **)entry->target = optarg;
		break;
	case CLI_OPTION_VALUE:
		if ((complaint = entry->parse(optarg, entry->target)))
			return cli_usage_error(spec->command, "--%s '%s' %s", entry->name, optarg,
			                       complaint);
		break;
	case CLI_OPTION_JSON:
		cli->json = true;
		break;
	case CLI_OPTION_JSON_OR_FILE:
		/* "--json FILE" and "--json=FILE" name a file; a bare --json prints. */
		if (optarg)
			*(const char **)entry->target = optarg;
		else if (optind < argc && argv[optind][0] != '-')
			*(const char **)entry->target = argv[optind++];
		else
			cli->json = true;
		break;
	}
	return CLI_PARSED;
}

int cli_parse_options(struct cli *cli, const struct cli_options *spec, int argc, char **argv,
                      int *first_operand)
{
	struct option longs[OPTIONS_MAX + 2];
	char letters[2 * OPTIONS_MAX + 4];
	if (build_tables(spec, longs, letters)) {
		fprintf(stderr, "agentperf %s: more than %d options in its table\n", spec->command,
		        OPTIONS_MAX);
		abort();
	}
	/* AGENTPERF_LIST_OPTIONS=1: the options the table takes, for test_help_options. */
	const char *list = getenv("AGENTPERF_LIST_OPTIONS");
	if (list && strcmp(list, "1") == 0) {
		for (const struct cli_option *entry = spec->options; entry && entry->name; entry++)
			printf("--%s\n", entry->name);
		return CLI_OK;
	}
	int value;
	opterr = 0; /* one message, ours, naming the option */
	while ((value = getopt_long(argc, argv, letters, longs, NULL)) != -1) {
		if (value == 'h') {
			fputs(spec->help, stdout);
			return CLI_OK;
		}
		if (value == ':')
			return cli_usage_error(spec->command, "option '%s' needs a value",
			                       argv[optind - 1]);
		const struct cli_option *entry = value == '?' ? NULL : entry_of(spec, value);
		if (!entry)
			return cli_usage_error(spec->command, "unknown option '%s'",
			                       optopt && optopt < ENTRY_VALUE && value == '?' &&
			                               argv[optind - 1][1] != '-'
			                           ? (char[]){'-', (char)optopt, '\0'}
			                           : argv[optind - 1]);
		int status = apply(cli, spec, entry, argc, argv);
		if (status != CLI_PARSED)
			return status;
	}
	if (spec->max_operands >= 0 && argc - optind > spec->max_operands)
		return cli_usage_error(spec->command, "unexpected argument '%s'",
		                       argv[optind + spec->max_operands]);
	if (first_operand)
		*first_operand = optind;
	return CLI_PARSED;
}

const char *cli_option_positive(const char *value, void *number)
{
	char *end;
	double parsed = strtod(value, &end);
	if (end == value || *end || !(parsed > 0))
		return "is not a positive number";
	*(double *)number = parsed;
	return NULL;
}

const char *cli_option_sequence(const char *value, void *number)
{
	char *end;
	double parsed = strtod(value, &end);
	if (end == value || *end || parsed < 0)
		return "is not a sequence number";
	*(double *)number = parsed;
	return NULL;
}

const char *cli_option_duration(const char *value, void *seconds)
{
	return cli_parse_duration(value, seconds) ? "is not a duration (30s, 5m, 2h)" : NULL;
}
