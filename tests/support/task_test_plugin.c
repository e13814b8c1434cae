/* Plugin runners for the Task API tests: loaded with dlopen into the workers. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

int agp_test_upper(const char *prompt, const char *description, char *output, size_t output_max,
                   size_t *output_len);
int agp_test_refuse(const char *prompt, const char *description, char *output, size_t output_max,
                    size_t *output_len);

/* The prompt in capitals, then " / " and the description. */
int agp_test_upper(const char *prompt, const char *description, char *output, size_t output_max,
                   size_t *output_len)
{
	size_t length = 0;
	for (; prompt[length] && length < output_max; length++)
		output[length] = (char)toupper((unsigned char)prompt[length]);
	int more = snprintf(output + length, output_max - length, " / %s", description);
	*output_len = length + (more > 0 ? (size_t)more : 0);
	return 0;
}

/* Fails with a reason, as a handler that cannot do the task would. */
int agp_test_refuse(const char *prompt, const char *description, char *output, size_t output_max,
                    size_t *output_len)
{
	(void)description;
	*output_len = (size_t)snprintf(output, output_max, "cannot handle '%s'", prompt);
	return 7;
}
