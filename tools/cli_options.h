/*
 * The options of a subcommand, parsed in one place: a table says each
 * option's name, what it takes and where it goes; the parser adds --help
 * (and -h), refuses unknown options and stray operands with a usage error
 * that names them, and checks each value with the option's parser, whose
 * complaint is printed as "--NAME 'VALUE' <complaint>".
 */
#ifndef AGP_TOOLS_CLI_OPTIONS_H
#define AGP_TOOLS_CLI_OPTIONS_H

#include <stdbool.h>

#include "tools/cli.h"

enum cli_option_kind {
	CLI_OPTION_FLAG,         /* no value; sets *(bool *)target */
	CLI_OPTION_TEXT,         /* a value; *(const char **)target = it */
	CLI_OPTION_VALUE,        /* a value, checked and stored by parse(value, target) */
	CLI_OPTION_JSON,         /* --json: sets cli->json (no target) */
	CLI_OPTION_JSON_OR_FILE, /* --json [FILE]: a FILE (not starting with '-') goes to
	                          * *(const char **)target, a bare --json sets cli->json */
};

struct cli_option {
	const char *name; /* the long name without "--"; NULL ends the table */
	char letter;      /* the short option, 0 for none */
	enum cli_option_kind kind;
	void *target;
	/* CLI_OPTION_VALUE: stores the value and returns NULL, or says what is wrong with it. */
	const char *(*parse)(const char *value, void *target);
};

/* The table entry every command that prints JSON lists, and the one that ends a table. */
#define CLI_OPTION_JSON_ENTRY                                                                      \
	{                                                                                          \
		"json", 0, CLI_OPTION_JSON, NULL, NULL                                             \
	}
#define CLI_OPTION_END                                                                             \
	{                                                                                          \
		NULL, 0, CLI_OPTION_FLAG, NULL, NULL                                               \
	}

struct cli_options {
	const char *command; /* for messages: "agentperf COMMAND: ..." */
	const char *help;    /* printed on stdout by --help */
	const struct cli_option *options;
	int max_operands;     /* -1: any number */
	bool stop_at_operand; /* the first operand ends the options (run's CMD has its own) */
};

/* What cli_parse_options returns when the command should go on. */
#define CLI_PARSED (-1)

/*
 * Parses argv (argv[0] is the command; getopt's optind must have been reset).
 * Returns CLI_PARSED with the index of the first operand in *first_operand
 * (may be NULL), CLI_OK after printing the help, or CLI_USAGE after printing
 * what was wrong.
 */
int cli_parse_options(struct cli *cli, const struct cli_options *spec, int argc, char **argv,
                      int *first_operand);

/* Value parsers for CLI_OPTION_VALUE. */
/* A number > 0 into a double. */
const char *cli_option_positive(const char *value, void *seconds);
/* A number >= 0 into a double (an alert sequence number). */
const char *cli_option_sequence(const char *value, void *number);
/* A duration ("30s", "5m", "2h", cli_parse_duration) into a double of seconds. */
const char *cli_option_duration(const char *value, void *seconds);

#endif
