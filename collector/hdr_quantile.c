#include "hdr_quantile.h"

#include <math.h>

int64_t agp_hdr_value_at_percentile_ceil(const struct agp_hdr *h, double percentile)
{
	if (agp_hdr_count(h) == 0)
		return 0;
	double requested = nextafter(percentile, -INFINITY);
	requested = requested < 0 ? 0 : requested > 100 ? 100 : requested;
	int64_t target = (int64_t)ceil(requested / 100.0 * (double)agp_hdr_count(h));
	if (target < 1)
		target = 1;
	struct agp_hdr_iter it;
	agp_hdr_iter_init(&it, h);
	int64_t cumulative = 0;
	while (agp_hdr_iter_next(&it)) {
		cumulative += it.count;
		if (cumulative >= target)
			return percentile == 0.0 ? it.value : it.highest_equivalent_value;
	}
	return agp_hdr_max_equivalent(h);
}
