/* The empty plugin task of bench/tasks: does nothing, so only the trip is measured. */
#include <stddef.h>

int agp_bench_empty(const char *prompt, const char *description, char *output, size_t output_max,
                    size_t *output_len);

int agp_bench_empty(const char *prompt, const char *description, char *output, size_t output_max,
                    size_t *output_len)
{
	(void)prompt;
	(void)description;
	(void)output;
	(void)output_max;
	*output_len = 0;
	return 0;
}
