/*
 * The text of a JSON real: the shortest decimal that reads back (strtod) as
 * exactly the same double, in the form Python's repr() and json.dumps write
 * (the seed's own JSON): "0.95", "5.0805e-05", "1e+16", "200.0", "-0.0",
 * "5e-324". Fixed notation for decimal exponents -4 to 15, an exponent of at
 * least two digits otherwise; a whole number keeps ".0", so that a reader
 * that tells integers from reals (jansson, Python) reads a real back.
 *
 * How: printf gives the 17 correctly rounded digits once; the nearest
 * decimal of fewer digits is rounded from them (printf again when the
 * dropped digits are exactly 5000..., where the first rounding may have made
 * the tie), and strtod says whether it reads back as the same bits. The
 * fewest digits that do are found by halves over 1..17 (a decimal of p
 * digits that reads back is one of p + 1 digits too). At a power of two the
 * gap below the double is half the gap above, so the nearest decimal can
 * fall outside while its neighbour in the last digit is inside: there the
 * neighbours are tried too. Nothing depends on the locale: the digits are
 * read out of printf's text and strtod is given only digits and an
 * exponent.
 */
#ifndef AGP_COMMON_JSON_REAL_H
#define AGP_COMMON_JSON_REAL_H

#include <stddef.h>

/* Room for the longest text ("-2.2250738585072014e-308") and its NUL. */
#define AGP_JSON_REAL_MAX 32

/*
 * Writes the text of value into out (at least AGP_JSON_REAL_MAX bytes);
 * "null" when value is not finite, as JSON has no NaN or infinity. Returns
 * the length.
 */
size_t agp_json_real_format(double value, char *out);

#endif
