/* `agentperf validate` and `agentperf export --ci`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/cli_options.h"

static void print_validation(const json_t *validation)
{
	bool validated = json_is_true(json_object_get(validation, "validated"));
	printf("validated                 %s\n", validated ? "yes" : "NO");
	printf("avg coordination overhead %.3f ms\n",
	       cli_num(validation, "avg_coordination_overhead_ms"));
	printf("p95 coordination overhead %.3f ms\n",
	       cli_num(validation, "p95_coordination_overhead_ms"));
	printf("samples analyzed          %.0f\n", cli_num(validation, "samples_analyzed"));
	printf("baseline overhead         %.3f ms\n", cli_num(validation, "baseline_overhead_ms"));
	printf("sub-200ms requirement     %s\n",
	       json_is_true(json_object_get(validation, "meets_sub_200ms_requirement"))
	           ? "met"
	           : "NOT met");
	printf("consistency requirement   %s\n",
	       json_is_true(json_object_get(validation, "meets_consistency_requirement"))
	           ? "met"
	           : "NOT met");
	const char *error = cli_str(validation, "error");
	if (error[0])
		printf("error                     %s\n", error);
	size_t index;
	json_t *line;
	json_array_foreach(json_object_get(validation, "recommendations"), index, line)
	    printf("  - %s\n", json_string_value(line) ? json_string_value(line) : "");
}

static const char validate_help[] =
    "Usage: agentperf validate [--fail-on-violation] [--json]\n"
    "Validates the performance requirements over the last 30 minutes of\n"
    "coordination_overhead: average below the critical threshold, p95 below\n"
    "max_acceptable, standard deviation below the variance threshold, and a\n"
    "baseline established.\n"
    "Exit status: 0 ok (or violated without --fail-on-violation), 1 violated\n"
    "with --fail-on-violation, 2 usage error, 3 collector unreachable.\n";

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
	bool validated = json_is_true(json_object_get(result, "validated"));
	if (cli->json)
		cli_print_json(result);
	else
		print_validation(result);
	json_decref(result);
	return fail && !validated ? CLI_VIOLATED : CLI_OK;
}

/* Fetches the CI export and writes it to file (NULL: CODEX_CI_EXPORT_FILE, then the config's). */
static int export_ci(struct cli *cli, const char *file, bool print, bool *violated)
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
	char *text = json_dumps(export, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
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
	if (strcmp(path, "-") == 0 || print)
		puts(text);
	else
		fprintf(stderr, "agentperf: CI export written to %s\n", path);
	free(text);
	bool meets = json_is_true(json_object_get(result, "meets_requirements"));
	*violated =
	    !meets && json_is_true(json_object_get(result, "ci_fail_on_threshold_violation"));
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
    "is printed).\n";

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
	bool violated = false;
	status = export_ci(cli, file < argc ? argv[file] : NULL, cli->json, &violated);
	if (status)
		return status;
	return violated ? CLI_VIOLATED : CLI_OK;
}

int cli_validate_and_export(struct cli *cli, const char *ci_file, const char *html_file, bool quiet)
{
	json_t *validation;
	int status = cli_request(cli, "validate", NULL, &validation, NULL);
	if (status)
		return status;
	bool validated = json_is_true(json_object_get(validation, "validated"));
	if (!quiet)
		print_validation(validation);
	json_decref(validation);
	bool violated = false;
	status = export_ci(cli, ci_file, false, &violated);
	if (status)
		return status;
	status = cli_write_report(cli, NULL, html_file);
	if (status)
		return status;
	return validated ? CLI_OK : CLI_VIOLATED;
}
