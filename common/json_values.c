#include "common/json_values.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void agp_format_iso8601(int64_t unix_ms, char *out, size_t size)
{
	agp_format_iso8601_us(unix_ms * 1000, out, size);
}

void agp_format_iso8601_us(int64_t unix_us, char *out, size_t size)
{
	time_t seconds = (time_t)(unix_us / 1000000);
	int microseconds = (int)(unix_us % 1000000);
	if (microseconds < 0) {
		microseconds += 1000000;
		seconds--;
	}
	struct tm utc;
	gmtime_r(&seconds, &utc);
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &utc);
	/* Microseconds and +00:00 rather than Z: Python's datetime.fromisoformat reads this form.
	 */
	snprintf(out, size, "%s.%06d+00:00", date, microseconds);
}

int agp_parse_iso8601(const char *text, int64_t *unix_ms)
{
	int64_t unix_us;
	int error = agp_parse_iso8601_us(text, &unix_us);
	if (error)
		return error;
	/* Rounded towards the past, as the digits beyond the milliseconds are cut. */
	*unix_ms = unix_us >= 0 ? unix_us / 1000 : -((-unix_us + 999) / 1000);
	return 0;
}

int agp_parse_iso8601_us(const char *text, int64_t *unix_us)
{
	struct tm fields = {0};
	const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &fields);
	if (!rest)
		return -EINVAL;
	/* Digits beyond the microsecond are cut. */
	int64_t fraction_us = 0;
	if (*rest == '.') {
		rest++;
		int64_t scale = 100000;
		if (*rest < '0' || *rest > '9')
			return -EINVAL;
		for (; *rest >= '0' && *rest <= '9'; rest++) {
			fraction_us += (*rest - '0') * scale;
			scale /= 10;
		}
	}
	time_t seconds;
	if (*rest == '\0') {
		/* No zone: the seed wrote datetime.now().isoformat(), which is local time. */
		fields.tm_isdst = -1;
		seconds = mktime(&fields);
	} else {
		int offset_minutes = 0;
		if (*rest == 'Z') {
			rest++;
		} else if (*rest == '+' || *rest == '-') {
			int sign = *rest == '-' ? -1 : 1;
			unsigned hours, minutes;
			int used = 0;
			if (sscanf(rest + 1, "%2u:%2u%n", &hours, &minutes, &used) != 2 ||
			    used != 5)
				return -EINVAL;
			offset_minutes = sign * (int)(hours * 60 + minutes);
			rest += 1 + used;
		}
		if (*rest != '\0')
			return -EINVAL;
		seconds = timegm(&fields) - (time_t)offset_minutes * 60;
	}
	if (seconds == (time_t)-1 && fields.tm_year != 69)
		return -EINVAL;
	*unix_us = (int64_t)seconds * 1000000 + fraction_us;
	return 0;
}

json_t *agp_json_iso_time(int64_t unix_ms)
{
	char text[64];
	agp_format_iso8601(unix_ms, text, sizeof(text));
	return json_string(text);
}

json_t *agp_json_iso_time_us(int64_t unix_us)
{
	char text[64];
	agp_format_iso8601_us(unix_us, text, sizeof(text));
	return json_string(text);
}

json_t *agp_json_number_or_null(double value)
{
	return isfinite(value) ? json_real(value) : json_null();
}
