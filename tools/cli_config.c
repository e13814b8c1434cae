/* `agentperf config show | check [FILE] | preset NAME`. check needs no daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/cli_options.h"
#include "collector/config/config.h"

static const char help[] =
    "Usage: agentperf config show [--json]\n"
    "       agentperf config check [FILE] [--json]\n"
    "       agentperf config preset development|production\n"
    "show prints the running collector's configuration. check validates FILE (default\n"
    ".codexplus/performance/config.json) and the CODEX_* environment without a daemon and\n"
    "prints every problem with its file or variable and key; monitoring.group must name a\n"
    "group this machine knows. preset prints the defaults\n"
    "with a preset applied, as a config file.\n"
    "Exit status: 0 ok, 2 usage error or problems found (as agentperfd exits for a bad\n"
    "configuration), 3 collector unreachable (show).\n";

static int check(struct cli *cli, const char *file)
{
	const char *path = file ? file : AGP_CONFIG_DEFAULT_PATH;
	static struct agp_config config;
	static char error[16384];
	agp_config_defaults(&config);
	int result = agp_config_load_file(path, &config, error, sizeof(error));
	bool missing = result == -ENOENT;
	if (!result || missing) {
		if (missing)
			error[0] = '\0';
		int env = agp_config_apply_env(&config, error + strlen(error),
		                               sizeof(error) - strlen(error));
		result = env ? env : missing && file ? -ENOENT : 0;
	}
	if (result == 0) {
		/* As the daemon does before it starts: an unknown group is bad configuration. */
		bool has_group;
		gid_t gid;
		result =
		    agp_config_resolve_group(&config, path, &has_group, &gid, error, sizeof(error));
	}
	if (missing && file && !error[0])
		snprintf(error, sizeof(error), "%s: file does not exist", path);
	bool ok = result == 0;
	if (cli->json) {
		json_t *problems = json_array();
		for (char *line = strtok(error, "\n"); !ok && line; line = strtok(NULL, "\n"))
			json_array_append_new(problems, json_string(line));
		json_t *out = json_pack("{s:s, s:b, s:b, s:o}", "file", path, "exists", !missing,
		                        "valid", ok, "problems", problems);
		cli_print_json(out);
		json_decref(out);
	} else if (ok) {
		printf("%s: %s\n", path,
		       missing ? "does not exist; the defaults (and environment) are valid"
		               : "valid");
	} else {
		fprintf(stdout, "%s\n", error);
	}
	return ok ? CLI_OK : CLI_BAD_CONFIG;
}

static int preset(const char *name)
{
	static struct agp_config config;
	char error[512];
	agp_config_defaults(&config);
	if (agp_config_preset(&config, name, error, sizeof(error))) {
		fprintf(stderr, "agentperf config: %s\n", error);
		return CLI_USAGE;
	}
	char *text = agp_config_to_string(&config, 0);
	if (!text)
		return CLI_VIOLATED;
	fputs(text, stdout);
	free(text);
	return CLI_OK;
}

int cli_config(struct cli *cli, int argc, char **argv)
{
	static const struct cli_option options[] = {CLI_OPTION_JSON_ENTRY, CLI_OPTION_END};
	const struct cli_options spec = {"config", help, options, -1, false};
	int action = 0;
	int status = cli_parse_options(cli, &spec, argc, argv, &action);
	if (status != CLI_PARSED)
		return status;
	int left = argc - action;
	const char *verb = left ? argv[action] : "";
	if (strcmp(verb, "check") == 0 && left <= 2)
		return check(cli, left == 2 ? argv[action + 1] : NULL);
	if (strcmp(verb, "preset") == 0 && left == 2)
		return preset(argv[action + 1]);
	if (strcmp(verb, "show") == 0 && left == 1) {
		json_t *result;
		status = cli_request(cli, "config.show", NULL, &result, NULL);
		if (status)
			return status;
		cli_print_json(result); /* the config is JSON; tables would only hide keys */
		json_decref(result);
		return CLI_OK;
	}
	return cli_usage_error("config", "say 'show', 'check [FILE]' or 'preset NAME'");
}
