/* Output helpers of the command line: units, durations, tables, files. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli.h"

#include "common/json_u64.h"
#include "common/units.h"

bool cli_json_printed;

void cli_print_json(const json_t *value)
{
	cli_json_printed = true;
	/* The one serialiser: shortest reals, counts above INT64_MAX as their digits. */
	char *text = agp_json_dumps(value, JSON_INDENT(2));
	if (text) {
		puts(text);
		free(text);
	}
}

void cli_format_value(double value, const char *unit, char *out, size_t size)
{
	enum agp_unit parsed = AGP_UNIT_COUNT; /* an unknown unit name: the plain number */
	agp_unit_parse(unit, &parsed);
	if (isnan(value)) {
		snprintf(out, size, "-");
	} else {
		agp_unit_format(parsed, value, out, size);
	}
}

int cli_parse_duration(const char *text, double *seconds)
{
	char *end;
	errno = 0;
	double value = strtod(text, &end);
	if (end == text || errno || !(value >= 0) || !isfinite(value))
		return -EINVAL;
	double scale;
	if (!*end || strcmp(end, "s") == 0)
		scale = 1;
	else if (strcmp(end, "ms") == 0)
		scale = 1e-3;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		scale = 60;
	else if (strcmp(end, "h") == 0)
		scale = 3600;
	else if (strcmp(end, "d") == 0)
		scale = 86400;
	else
		return -EINVAL;
	*seconds = value * scale;
	return 0;
}

struct cli_table {
	int columns;
	size_t rows, capacity;
	char **cells; /* rows * columns, row 0 the header */
};

struct cli_table *cli_table_new(int columns, const char *const *header)
{
	struct cli_table *table = calloc(1, sizeof(*table));
	if (!table)
		return NULL;
	table->columns = columns;
	cli_table_add(table, header);
	return table;
}

void cli_table_add(struct cli_table *table, const char *const *cells)
{
	if (!table)
		return;
	if (table->rows == table->capacity) {
		size_t capacity = table->capacity ? 2 * table->capacity : 16;
		char **grown =
		    realloc(table->cells, capacity * (size_t)table->columns * sizeof(char *));
		if (!grown)
			return;
		table->cells = grown;
		table->capacity = capacity;
	}
	for (int c = 0; c < table->columns; c++)
		table->cells[table->rows * (size_t)table->columns + (size_t)c] =
		    strdup(cells[c] ? cells[c] : "");
	table->rows++;
}

void cli_table_print(struct cli_table *table, FILE *out)
{
	if (!table)
		return;
	int width[32] = {0};
	for (size_t r = 0; r < table->rows; r++)
		for (int c = 0; c < table->columns && c < 32; c++) {
			const char *cell = table->cells[r * (size_t)table->columns + (size_t)c];
			int length = cell ? (int)strlen(cell) : 0;
			if (length > width[c])
				width[c] = length;
		}
	for (size_t r = 0; r < table->rows; r++) {
		for (int c = 0; c < table->columns && c < 32; c++) {
			const char *cell = table->cells[r * (size_t)table->columns + (size_t)c];
			/* Text columns left, numbers right: the first column is always a name. */
			bool left = c == 0 || (cell && cell[0] && !strchr("0123456789-.", cell[0]));
			fprintf(out, c ? "  " : "");
			fprintf(out, left ? "%-*s" : "%*s",
			        c == table->columns - 1 && left ? 0 : width[c], cell ? cell : "");
		}
		fputc('\n', out);
	}
}

void cli_table_free(struct cli_table *table)
{
	if (!table)
		return;
	for (size_t i = 0; i < table->rows * (size_t)table->columns; i++)
		free(table->cells[i]);
	free(table->cells);
	free(table);
}

double cli_num(const json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	uint64_t count;
	if (agp_json_u64_carrier(value, &count))
		return (double)count; /* a count above INT64_MAX, for display */
	return json_is_number(value) ? json_number_value(value) : NAN;
}

const char *cli_str(const json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	return json_is_string(value) ? json_string_value(value) : "";
}

int cli_write_file(const char *path, const char *text, size_t length)
{
	size_t size = strlen(path) + 16;
	char *temporary = malloc(size);
	if (!temporary)
		return -ENOMEM;
	snprintf(temporary, size, "%s.tmpXXXXXX", path);
	int fd = mkstemp(temporary);
	int error = 0;
	if (fd < 0) {
		error = -errno;
		goto free_name;
	}
	fchmod(fd, 0644);
	size_t done = 0;
	while (done < length) {
		ssize_t n = write(fd, text + done, length - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = -errno;
			break;
		}
		done += (size_t)n;
	}
	if (!error && fsync(fd))
		error = -errno;
	close(fd);
	if (!error && rename(temporary, path))
		error = -errno;
	if (error)
		unlink(temporary);
free_name:
	free(temporary);
	return error;
}

int cli_usage_error(const char *command, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fprintf(stderr, "agentperf %s: ", command);
	vfprintf(stderr, format, args);
	fprintf(stderr, "\nTry 'agentperf %s --help'.\n", command);
	va_end(args);
	return CLI_USAGE;
}

void cli_statistic_cells(const json_t *statistics, const char *unit, const char *const *keys,
                         size_t key_count, char (*cells)[CLI_CELL_MAX])
{
	snprintf(cells[0], CLI_CELL_MAX, "%.0f", cli_num(statistics, "count"));
	for (size_t k = 0; k < key_count; k++)
		cli_format_value(cli_num(statistics, keys[k]), unit, cells[k + 1], CLI_CELL_MAX);
}

void cli_alert_value(const json_t *alert, const char *key, char *out, size_t size)
{
	cli_format_value(cli_num(alert, key), cli_str(alert, "unit"), out, size);
}

void cli_alert_time(const json_t *alert, char *out, size_t size)
{
	double ms = cli_num(alert, "time_ms");
	time_t seconds = isnan(ms) ? 0 : (time_t)(ms / 1000);
	struct tm utc;
	if (isnan(ms) || !gmtime_r(&seconds, &utc) ||
	    !strftime(out, size, "%Y-%m-%d %H:%M:%S", &utc))
		snprintf(out, size, "-");
}

void cli_format_ms(const json_t *object, const char *key, const char *absent, char *out,
                   size_t size)
{
	double value = cli_num(object, key);
	if (value == value) /* not NAN: the key holds a number */
		snprintf(out, size, "%.3f ms", value);
	else
		snprintf(out, size, "%s", absent);
}
