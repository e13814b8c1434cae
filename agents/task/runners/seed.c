/*
 * The five seed agents' runners (in the runners module, see module.h). They
 * are deliberately small, but each does the real thing its name promises on
 * local text, inside the worker:
 *
 *   code-review   line statistics of the prompt, or of a file it names
 *   test-run      runs the command after "$ " or in backquotes, without a shell
 *   doc-outline   a markdown outline of the prompt
 *   debug-trace   file:line locations and messages parsed from an error text
 *   refactor      whitespace and indentation normalised
 */
#include "agents/task/runners/module.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agents/task/worker/exec.h"

#define LONG_LINE       100
#define REVIEW_FILE_MAX (4u << 20)
#define TEST_ARGS_MAX   32

/* The first whitespace-separated word of text that names a readable regular file. */
static char *find_named_file(const char *text)
{
	const char *cursor = text;
	while (*cursor) {
		while (*cursor && isspace((unsigned char)*cursor))
			cursor++;
		const char *start = cursor;
		while (*cursor && !isspace((unsigned char)*cursor))
			cursor++;
		size_t length = (size_t)(cursor - start);
		/* Quotes and trailing punctuation around a path are not part of it. */
		while (length && strchr("\"'`([", *start)) {
			start++;
			length--;
		}
		while (length && strchr("\"'`)],.:;", start[length - 1]))
			length--;
		if (length == 0 || length > 4095)
			continue;
		char path[4096];
		memcpy(path, start, length);
		path[length] = '\0';
		struct stat info;
		if (stat(path, &info) == 0 && S_ISREG(info.st_mode) && access(path, R_OK) == 0)
			return strdup(path);
	}
	return NULL;
}

static char *read_file_bounded(const char *path, size_t max, size_t *length_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buffer = malloc(max + 1);
	size_t length = 0;
	while (buffer && length < max) {
		ssize_t got = read(fd, buffer + length, max - length);
		if (got <= 0)
			break;
		length += (size_t)got;
	}
	close(fd);
	if (buffer) {
		buffer[length] = '\0';
		*length_out = length;
	}
	return buffer;
}

static bool contains_word_ci(const char *line, size_t length, const char *word)
{
	size_t word_length = strlen(word);
	for (size_t i = 0; i + word_length <= length; i++)
		if (strncasecmp(line + i, word, word_length) == 0 &&
		    (i == 0 || !isalnum((unsigned char)line[i - 1])) &&
		    (i + word_length == length || !isalnum((unsigned char)line[i + word_length])))
			return true;
	return false;
}

void agp__runner_code_review(struct agp__run *run)
{
	char *path = find_named_file(run->prompt);
	size_t length = run->prompt_length;
	char *owned = NULL;
	const char *text = run->prompt;
	if (path) {
		owned = read_file_bounded(path, REVIEW_FILE_MAX, &length);
		if (!owned) {
			agp__run_fail(run, AGP_TASK_FAILED, "code-review: cannot read '%s'", path);
			free(path);
			return;
		}
		text = owned;
	}
	size_t lines = 0, long_lines = 0, markers = 0, trailing = 0, mixed = 0, blank = 0;
	size_t first_long = 0, longest = 0;
	char marker_lines[256] = "";
	const char *line = text;
	while (line < text + length) {
		const char *end = memchr(line, '\n', (size_t)(text + length - line));
		size_t line_length = end ? (size_t)(end - line) : (size_t)(text + length - line);
		lines++;
		if (line_length > longest)
			longest = line_length;
		if (line_length > LONG_LINE && long_lines++ == 0)
			first_long = lines;
		if (contains_word_ci(line, line_length, "TODO") ||
		    contains_word_ci(line, line_length, "FIXME") ||
		    contains_word_ci(line, line_length, "XXX")) {
			if (markers++ < 10) {
				size_t used = strlen(marker_lines);
				snprintf(marker_lines + used, sizeof(marker_lines) - used, "%s%zu",
				         used ? "," : "", lines);
			}
		}
		if (line_length && (line[line_length - 1] == ' ' || line[line_length - 1] == '\t'))
			trailing++;
		size_t indent = 0;
		bool tab = false, space = false;
		while (indent < line_length && (line[indent] == ' ' || line[indent] == '\t')) {
			tab |= line[indent] == '\t';
			space |= line[indent] == ' ';
			indent++;
		}
		if (tab && space)
			mixed++;
		if (indent == line_length)
			blank++;
		line += line_length + 1;
	}
	agp__run_printf(run, "review of %s\n", path ? path : "the prompt text");
	agp__run_printf(run, "lines: %zu (blank %zu), longest: %zu characters\n", lines, blank,
	                longest);
	agp__run_printf(run, "long lines (> %d): %zu", LONG_LINE, long_lines);
	if (long_lines)
		agp__run_printf(run, ", first at line %zu", first_long);
	agp__run_printf(run, "\nTODO/FIXME/XXX markers: %zu%s%s\n", markers,
	                markers ? " at lines " : "", marker_lines);
	agp__run_printf(run,
	                "trailing whitespace: %zu lines\nmixed tab/space indentation: %zu lines\n",
	                trailing, mixed);
	agp__run_printf(run, "verdict: %s\n",
	                long_lines + markers + trailing + mixed == 0 ? "clean" : "needs attention");
	free(owned);
	free(path);
}

/* The command after "$ " at a line start, else the first `backquoted` text. */
static char *find_command(const char *text)
{
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *start = line;
		while (*start == ' ' || *start == '\t')
			start++;
		if (start[0] == '$' && start[1] == ' ') {
			const char *end = strchr(start, '\n');
			size_t length = end ? (size_t)(end - start - 2) : strlen(start + 2);
			return strndup(start + 2, length);
		}
	}
	const char *open_quote = strchr(text, '`');
	const char *close_quote = open_quote ? strchr(open_quote + 1, '`') : NULL;
	if (close_quote && close_quote > open_quote + 1)
		return strndup(open_quote + 1, (size_t)(close_quote - open_quote - 1));
	return NULL;
}

/* Splits a command into words: blanks separate, '...' and "..." group; no other shell syntax. */
static int split_words(char *command, char **words, int max)
{
	int count = 0;
	char *read = command, *write = command;
	while (*read) {
		while (*read == ' ' || *read == '\t')
			read++;
		if (!*read)
			break;
		if (count == max - 1)
			return -1;
		words[count++] = write;
		char quote = 0;
		while (*read && (quote || (*read != ' ' && *read != '\t'))) {
			if (!quote && (*read == '\'' || *read == '"'))
				quote = *read++;
			else if (quote && *read == quote) {
				quote = 0;
				read++;
			} else
				*write++ = *read++;
		}
		if (*read)
			read++;
		*write++ = '\0';
	}
	words[count] = NULL;
	return count;
}

static size_t count_lines_with(const char *text, const char *const *words)
{
	size_t count = 0;
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		size_t length = end ? (size_t)(end - line) : strlen(line);
		for (const char *const *word = words; *word; word++)
			if (contains_word_ci(line, length, *word)) {
				count++;
				break;
			}
		line += length + (end ? 1 : 0);
	}
	return count;
}

void agp__runner_test_run(struct agp__run *run)
{
	char *command = find_command(run->prompt);
	if (!command) {
		agp__run_fail(run, AGP_TASK_FAILED,
		              "test-run: no command in the prompt (write it after '$ ' at a line "
		              "start, or in `backquotes`)");
		return;
	}
	if (!(run->def->capabilities & AGP__CAP_EXECUTE_COMMANDS)) {
		agp__run_fail(run, AGP_TASK_FAILED,
		              "test-run: not running '%s': the agent lacks EXECUTE_COMMANDS",
		              command);
		free(command);
		return;
	}
	char *display = strdup(command);
	char *words[TEST_ARGS_MAX + 1];
	if (!display || split_words(command, words, TEST_ARGS_MAX + 1) <= 0) {
		agp__run_fail(run, AGP_TASK_FAILED,
		              "test-run: the command is empty or has more "
		              "than %d words",
		              TEST_ARGS_MAX);
		goto out;
	}
	size_t capture_max = 64u << 10;
	char *output = malloc(capture_max), *error = malloc(8192);
	if (!output || !error) {
		agp__run_fail(run, AGP_TASK_FAILED, "test-run: out of memory");
		free(output);
		free(error);
		goto out;
	}
	struct agp__exec_request request = {
	    .argv = words,
	    .input = "",
	    .input_length = 0,
	    /* Finish before the worker's own alarm so the group is reaped here, not orphaned. */
	    .deadline_ns = run->deadline_ns > 50000000u ? run->deadline_ns - 50000000u : 1,
	    .memory_limit_mb = run->def->memory_limit_mb,
	    .pgid_out = run->runner_pgid,
	};
	size_t output_length, error_length;
	struct agp__exec_outcome outcome;
	if (agp__exec_run(&request, output, capture_max, &output_length, error, 8192, &error_length,
	                  &outcome) != 0) {
		agp__run_fail(run, AGP_TASK_FAILED, "test-run: %s", error);
	} else {
		char how[96];
		agp__describe_wait_status(outcome.wait_status, how, sizeof(how));
		static const char *const pass_words[] = {"pass", "passed", "ok", NULL};
		static const char *const fail_words[] = {"fail", "failed", "error", NULL};
		agp__run_printf(run, "$ %s\n%s\nlines reporting a pass: %zu, a failure: %zu\n",
		                display, how, count_lines_with(output, pass_words),
		                count_lines_with(output, fail_words));
		agp__run_printf(run, "--- output%s ---\n%s",
		                outcome.output_truncated ? " (cut)" : "", output);
		if (outcome.timed_out)
			agp__run_fail(run, AGP_TASK_TIMEOUT, "test-run: '%s' passed its deadline",
			              display);
		else if (outcome.memory_exceeded)
			agp__run_fail(run, AGP_TASK_FAILED,
			              "test-run: '%s' exceeded memory_limit_mb %u (%s)", display,
			              run->def->memory_limit_mb,
			              outcome.memory_kills ? "held by a memory cgroup"
			                                   : "resident size polled");
		else if (!WIFEXITED(outcome.wait_status) || WEXITSTATUS(outcome.wait_status) != 0)
			agp__run_fail(run, AGP_TASK_FAILED, "test-run: '%s' %s: %s", display, how,
			              error);
		if (outcome.kill_ns)
			run->recovery_ns = outcome.kill_ns;
	}
	free(output);
	free(error);
out:
	free(display);
	free(command);
}

void agp__runner_doc_outline(struct agp__run *run)
{
	const char *text = run->prompt;
	const char *first_end = strpbrk(text, ".\n");
	int title_length = first_end ? (int)(first_end - text) : (int)strlen(text);
	if (title_length > 80)
		title_length = 80;
	agp__run_printf(run, "# %s\n\n",
	                run->description && *run->description ? run->description : "Outline");
	agp__run_printf(run, "## Summary\n\n%.*s.\n\n## Sections\n\n", title_length, text);
	/* One section per paragraph: its first sentence names it. */
	size_t paragraphs = 0;
	for (const char *paragraph = text; *paragraph;) {
		while (*paragraph == '\n')
			paragraph++;
		if (!*paragraph)
			break;
		const char *end = strstr(paragraph, "\n\n");
		size_t length = end ? (size_t)(end - paragraph) : strlen(paragraph);
		const char *sentence_end = paragraph;
		while (sentence_end < paragraph + length && *sentence_end != '.' &&
		       *sentence_end != '\n')
			sentence_end++;
		int shown =
		    (int)(sentence_end - paragraph) > 100 ? 100 : (int)(sentence_end - paragraph);
		agp__run_printf(run, "%zu. %.*s\n", ++paragraphs, shown, paragraph);
		paragraph += length;
	}
	/* Identifiers: words with an underscore, or followed by "(". */
	agp__run_printf(run, "\n## Identifiers\n\n");
	size_t identifiers = 0;
	for (const char *cursor = text; *cursor && identifiers < 20;) {
		while (*cursor && !(isalnum((unsigned char)*cursor) || *cursor == '_'))
			cursor++;
		const char *start = cursor;
		while (isalnum((unsigned char)*cursor) || *cursor == '_')
			cursor++;
		size_t length = (size_t)(cursor - start);
		if (length && (memchr(start, '_', length) || *cursor == '(')) {
			agp__run_printf(run, "- `%.*s%s`\n", (int)length, start,
			                *cursor == '(' ? "()" : "");
			identifiers++;
		}
	}
	if (!identifiers)
		agp__run_printf(run, "(none)\n");
}

void agp__runner_debug_trace(struct agp__run *run)
{
	size_t found = 0;
	for (const char *line = run->prompt; *line;) {
		const char *end = strchr(line, '\n');
		size_t length = end ? (size_t)(end - line) : strlen(line);
		char copy[1024];
		size_t keep = length < sizeof(copy) - 1 ? length : sizeof(copy) - 1;
		memcpy(copy, line, keep);
		copy[keep] = '\0';
		char file[512], message[512] = "";
		unsigned number;
		/* Python: File "x.py", line 12, in f */
		const char *python = strstr(copy, "File \"");
		if (python && sscanf(python, "File \"%511[^\"]\", line %u", file, &number) == 2) {
			agp__run_printf(run, "%s:%u: (traceback frame)%s\n", file, number,
			                strstr(copy, ", in ") ? strstr(copy, ", in ") + 1 : "");
			found++;
		} else {
			/* Compilers, sanitizers, assertions: path:line[:col]: message, anywhere in
			 * the line. */
			for (char *cursor = copy; *cursor; cursor++) {
				if (cursor != copy && !isspace((unsigned char)cursor[-1]) &&
				    cursor[-1] != '(')
					continue;
				int consumed = 0;
				if (sscanf(cursor, "%511[^: \t()]:%u%n", file, &number,
				           &consumed) == 2 &&
				    strchr(file, '.')) {
					const char *rest = cursor + consumed;
					unsigned column;
					int more = 0;
					if (sscanf(rest, ":%u%n", &column, &more) == 1)
						rest += more;
					while (*rest == ':' || *rest == ' ')
						rest++;
					snprintf(message, sizeof(message), "%s", rest);
					agp__run_printf(run, "%s:%u: %s\n", file, number,
					                *message ? message : "(location)");
					found++;
					break;
				}
			}
		}
		line += length + (end ? 1 : 0);
	}
	if (!found)
		agp__run_fail(run, AGP_TASK_FAILED,
		              "debug-trace: no file:line location in the error text");
	else
		agp__run_printf(run, "%zu location%s found\n", found, found == 1 ? "" : "s");
}

void agp__runner_refactor(struct agp__run *run)
{
	size_t blank_run = 0;
	bool any = false;
	for (const char *line = run->prompt; *line;) {
		const char *end = strchr(line, '\n');
		size_t length = end ? (size_t)(end - line) : strlen(line);
		size_t trimmed = length;
		while (trimmed && (line[trimmed - 1] == ' ' || line[trimmed - 1] == '\t' ||
		                   line[trimmed - 1] == '\r'))
			trimmed--;
		if (trimmed == 0) {
			if (any && blank_run++ == 0)
				agp__run_printf(run, "\n");
		} else {
			blank_run = 0;
			any = true;
			size_t indent = 0, column = 0;
			while (indent < trimmed && (line[indent] == ' ' || line[indent] == '\t')) {
				if (line[indent] == '\t')
					column = (column / 4 + 1) * 4;
				else
					column++;
				indent++;
			}
			agp__run_printf(run, "%*s%.*s\n", (int)column, "", (int)(trimmed - indent),
			                line + indent);
		}
		line += length + (end ? 1 : 0);
	}
	/* No blank lines at the end: trim what a trailing run left. */
	while (run->output_length >= 2 && run->output[run->output_length - 1] == '\n' &&
	       run->output[run->output_length - 2] == '\n')
		run->output[--run->output_length] = '\0';
}
