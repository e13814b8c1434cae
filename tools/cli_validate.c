/* `agentperf validate` and `agentperf export --ci`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/cli_options.h"
#include "common/json_dump.h"

/* A figure in ms, or what stands for its absence (null in the JSON). */
static void print_ms(const char *label, const json_t *validation, const char *key,
                     const char *absent)
{
	char text[64];
	cli_format_ms(validation, key, absent, text, sizeof(text));
	printf("%-26s%s\n", label, text);
}

/* true: met, false: NOT met, null (no samples): no data. */
static void print_requirement(const char *label, const json_t *validation, const char *key)
{
	const json_t *value = json_object_get(validation, key);
	printf("%-26s%s\n", label,
	       json_is_true(value)    ? "met"
	       : json_is_false(value) ? "NOT met"
	                              : "no data");
}

static void print_validation(const json_t *validation)
{
	bool validated = json_is_true(json_object_get(validation, "validated"));
	bool has_data = json_is_true(json_object_get(validation, "has_data"));
	printf("validated                 %s\n", validated  ? "yes"
	                                         : has_data ? "NO"
	                                                    : "NO (no data)");
	print_ms("avg coordination overhead", validation, "avg_coordination_overhead_ms",
	         "no data");
	print_ms("p95 coordination overhead", validation, "p95_coordination_overhead_ms",
	         "no data");
	printf("samples analyzed          %.0f\n", cli_num(validation, "samples_analyzed"));
	printf("histogram                 raw (as recorded, not corrected for coordinated "
	       "omission)\n");
	print_ms("baseline overhead", validation, "baseline_overhead_ms", "no baseline");
	print_requirement("sub-200ms requirement", validation, "meets_sub_200ms_requirement");
	print_requirement("p95 requirement", validation, "meets_p95_requirement");
	print_requirement("consistency requirement", validation, "meets_consistency_requirement");
	const char *error = cli_str(validation, "error");
	if (error[0])
		printf("error                     %s\n", error);
	size_t index;
	json_t *line;
	json_array_foreach(json_object_get(validation, "recommendations"), index, line)
	    printf("  - %s\n", json_string_value(line) ? json_string_value(line) : "");
}

/* What a validation means for an exit status that fails on violations. */
static int verdict_status(const json_t *validation)
{
	if (!json_is_true(json_object_get(validation, "has_data")))
		return CLI_NO_DATA;
	return json_is_true(json_object_get(validation, "validated")) ? CLI_OK : CLI_VIOLATED;
}

static const char validate_help[] =
    "Usage: agentperf validate [--fail-on-violation] [--json]\n"
    "Validates the performance requirements over the last 30 minutes of\n"
    "coordination_overhead: average below the critical threshold, p95 below\n"
    "max_acceptable, standard deviation below the variance threshold, and a\n"
    "baseline established. Without samples in the window a requirement is\n"
    "neither met nor violated: \"no data\" (null in --json, has_data false).\n"
    "Exit status: 0 ok (or not validated without --fail-on-violation), 1 not\n"
    "validated (a requirement violated, or no baseline) with --fail-on-violation,\n"
    "2 usage error, 3 collector unreachable, 5 no samples to judge with\n"
    "--fail-on-violation.\n";

int cli_validate(struct cli *cli, int argc, char **argv)
{
	bool fail = false;
	const struct cli_option options[] = {
	    {"fail-on-violation", 0, CLI_OPTION_FLAG, &fail, NULL},
	    CLI_OPTION_JSON_ENTRY,
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"validate", validate_help, options, 0, false};
	int status = cli_parse_options(cli, &spec, argc, argv, NULL);
	if (status != CLI_PARSED)
		return status;
	json_t *result;
	status = cli_request(cli, "validate", NULL, &result, NULL);
	if (status)
		return status;
	int verdict = verdict_status(result);
	if (cli->json)
		cli_print_json(result);
	else
		print_validation(result);
	json_decref(result);
	return fail ? verdict : CLI_OK;
}

/*
 * Fetches the CI export and writes it to file (NULL: CODEX_CI_EXPORT_FILE, then the config's).
 * *failing: what ci_fail_on_threshold_violation makes of it (CLI_OK when it is off).
 */
static int export_ci(struct cli *cli, const char *file, bool print, int *failing)
{
	json_t *result;
	int status = cli_request(cli, "export.ci", NULL, &result, NULL);
	if (status)
		return status;
	json_t *export = json_object_get(result, "export");
	const char *path = file;
	if (!path)
		path = getenv("CODEX_CI_EXPORT_FILE");
	if (!path || !path[0])
		path = cli_str(result, "ci_export_file");
	char *text = agp_json_dumps(export, JSON_INDENT(2));
	int error = !text               ? -ENOMEM
	            : strcmp(path, "-") ? cli_write_file(path, text, strlen(text))
	                                : 0;
	if (error) {
		/* Not "requirements violated": CI must tell a full disk from a failed validation.
		 */
		fprintf(stderr, "agentperf export: cannot write %s: %s\n", path, strerror(-error));
		free(text);
		json_decref(result);
		return CLI_WRITE_FAILED;
	}
	if (strcmp(path, "-") == 0 || print) {
		puts(text);
		cli_json_printed = true;
	} else
		fprintf(stderr, "agentperf: CI export written to %s\n", path);
	free(text);
	bool fail_on = json_is_true(json_object_get(result, "ci_fail_on_threshold_violation"));
	*failing =
	    fail_on ? verdict_status(json_object_get(export, "performance_validation")) : CLI_OK;
	json_decref(result);
	return CLI_OK;
}

static const char export_help[] =
    "Usage: agentperf export --ci [FILE] [--json]\n"
    "Writes the CI JSON (performance_validation, coordination_overhead_ms,\n"
    "p95_coordination_overhead_ms, overall_health, baseline_established,\n"
    "total_metrics_collected, export_timestamp, meets_requirements,\n"
    "validation_passed) to FILE ('-': standard output; default:\n"
    "$CODEX_CI_EXPORT_FILE, then monitoring.ci_export_file). --json also\n"
    "prints it.\n"
    "Exit status: 0 ok, 1 requirements not met while\n"
    "monitoring.ci_fail_on_threshold_violation is on, 2 usage error,\n"
    "3 collector unreachable, 4 FILE could not be written (the reason\n"
    "is printed), 5 no samples to judge while\n"
    "monitoring.ci_fail_on_threshold_violation is on.\n";

int cli_export(struct cli *cli, int argc, char **argv)
{
	bool ci = false;
	const struct cli_option options[] = {
	    {"ci", 0, CLI_OPTION_FLAG, &ci, NULL},
	    CLI_OPTION_JSON_ENTRY,
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"export", export_help, options, -1, false};
	int file = 0;
	int status = cli_parse_options(cli, &spec, argc, argv, &file);
	if (status != CLI_PARSED)
		return status;
	if (!ci)
		return cli_usage_error("export", "say --ci (the only export format here)");
	if (argc - file > 1)
		return cli_usage_error("export", "more than one FILE");
	int failing = CLI_OK;
	status = export_ci(cli, file < argc ? argv[file] : NULL, cli->json, &failing);
	return status ? status : failing;
}

int cli_validate_and_export(struct cli *cli, const char *ci_file, const char *html_file, bool quiet)
{
	json_t *validation;
	int status = cli_request(cli, "validate", NULL, &validation, NULL);
	if (status)
		return status;
	int verdict = verdict_status(validation);
	if (!quiet)
		print_validation(validation);
	json_decref(validation);
	int failing = CLI_OK;
	status = export_ci(cli, ci_file, false, &failing);
	if (status)
		return status;
	status = cli_write_report(cli, NULL, html_file);
	if (status)
		return status;
	return verdict;
}
