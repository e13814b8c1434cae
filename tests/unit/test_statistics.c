/*
 * Statistics: Welford and sums against values computed by hand, t quantiles
 * against published table values and a 40-digit reference (mpmath inversion
 * of the regularized incomplete beta, generated once, listed below), and the
 * confidence interval of a known data set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "collector/analysis/statistics.h"

static void assert_rel(double got, double want, double rel)
{
	double err = fabs(got - want) / fabs(want);
	if (!(err <= rel)) {
		print_error("got %.17g, want %.17g, relative error %.3g > %.3g\n", got, want, err,
		            rel);
		fail();
	}
}

static void test_welford_known_set(void **state)
{
	(void)state;
	/* 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squared deviations 32, sample variance 32/7. */
	const double values[] = {2, 4, 4, 4, 5, 5, 7, 9};
	struct agp_stats s;
	agp_stats_init(&s);
	assert_true(isnan(agp_stats_mean(&s)));
	for (size_t i = 0; i < 8; i++)
		agp_stats_add(&s, values[i]);
	assert_int_equal(s.count, 8);
	assert_rel(agp_stats_mean(&s), 5.0, 1e-15);
	assert_rel(agp_stats_variance(&s), 32.0 / 7.0, 1e-15);
	assert_rel(agp_stats_stddev(&s), sqrt(32.0 / 7.0), 1e-15);
	assert_true(s.min == 2 && s.max == 9);
}

static void test_welford_single_sample(void **state)
{
	(void)state;
	struct agp_stats s;
	agp_stats_init(&s);
	agp_stats_add(&s, 42);
	assert_rel(agp_stats_mean(&s), 42, 0);
	assert_true(isnan(agp_stats_variance(&s)));
}

static void test_welford_large_offset(void **state)
{
	(void)state;
	/*
	 * 100 ms +- 1 ns in nanoseconds: the naive sum-of-squares formula loses
	 * every digit here (1e16 squared against a spread of 1), Welford keeps it.
	 */
	struct agp_stats s;
	agp_stats_init(&s);
	for (int i = 0; i < 1000; i++)
		agp_stats_add(&s, 1e8 + (i % 2 ? 1.0 : -1.0));
	assert_rel(agp_stats_mean(&s), 1e8, 1e-15);
	assert_rel(agp_stats_variance(&s), 1000.0 / 999.0, 1e-9);
}

static void test_merge_equals_sequential(void **state)
{
	(void)state;
	struct agp_stats all, a, b;
	agp_stats_init(&all);
	agp_stats_init(&a);
	agp_stats_init(&b);
	for (int i = 0; i < 1000; i++) {
		double v = (double)((i * 7919) % 1013) * 1.5 + 3;
		agp_stats_add(&all, v);
		agp_stats_add(i < 300 ? &a : &b, v);
	}
	struct agp_stats empty;
	agp_stats_init(&empty);
	agp_stats_merge(&a, &empty);
	agp_stats_merge(&a, &b);
	assert_int_equal(a.count, 1000);
	assert_rel(a.mean, all.mean, 1e-14);
	assert_rel(agp_stats_variance(&a), agp_stats_variance(&all), 1e-12);
	assert_true(a.min == all.min && a.max == all.max);
	agp_stats_merge(&empty, &all);
	assert_rel(empty.mean, all.mean, 0);
}

static void test_from_sums(void **state)
{
	(void)state;
	double mean = -1, var = -1;
	assert_int_equal(agp_stats_from_sums(0, 0, 0, &mean, &var), -EINVAL);
	assert_true(mean == -1 && var == -1); /* untouched on failure */
	/* 2,4,4,4,5,5,7,9: sum 40, sum of squares 232. */
	assert_int_equal(agp_stats_from_sums(8, 40, 232, &mean, &var), 0);
	assert_rel(mean, 5, 1e-15);
	assert_rel(var, 32.0 / 7.0, 1e-15);
	assert_int_equal(agp_stats_from_sums(1, 7, 49, &mean, &var), 0);
	assert_rel(mean, 7, 0);
	assert_true(isnan(var));
	/* Identical values: rounding may not make the variance negative. */
	long double v = 123456789.123L;
	assert_int_equal(agp_stats_from_sums(3, 3 * v, 3 * v * v, &mean, &var), 0);
	assert_true(var >= 0 && var < 1e-3);
}

static void test_t_table_values(void **state)
{
	(void)state;
	/* The brief's table values (9 or 10 significant digits). */
	assert_rel(agp_student_t_two_sided(0.95, 1), 12.706204736, 1e-9);
	assert_rel(agp_student_t_two_sided(0.95, 9), 2.262157163, 1e-9);
	assert_rel(agp_student_t_two_sided(0.99, 29), 2.756385904, 1e-9);
	assert_rel(agp_student_t_quantile(0.975, 1), 12.706204736, 1e-9);
	assert_rel(agp_student_t_quantile(0.995, 29), 2.756385904, 1e-9);
	assert_rel(agp_normal_quantile(0.975), 1.959963985, 1e-9);
	assert_rel(-agp_normal_quantile(0.025), 1.959963985, 1e-9);
	assert_rel(agp_student_t_two_sided(0.95, INFINITY), 1.959963985, 1e-9);
}

struct t_case {
	double df, level, t;
};

/* 40-digit reference: t with P(|T| <= t) = level (mpmath betainc inversion). */
static const struct t_case reference[] = {
    {1.0, 0.5, 1.0},
    {1.0, 0.9, 6.3137515146750431},
    {1.0, 0.95, 12.706204736174705},
    {1.0, 0.99, 63.656741162871581},
    {1.0, 0.999, 636.61924876871962},
    {1.0, 0.999999, 636619.77236705774},
    {2.0, 0.5, 0.81649658092772603},
    {2.0, 0.9, 2.9199855803537257},
    {2.0, 0.95, 4.3026527297494639},
    {2.0, 0.99, 9.9248432009182931},
    {2.0, 0.999, 31.599054576443621},
    {2.0, 0.999999, 999.99924999984375},
    {3.0, 0.5, 0.76489232840434528},
    {3.0, 0.9, 2.3533634348018239},
    {3.0, 0.95, 3.1824463052837096},
    {3.0, 0.99, 5.8409093097333573},
    {3.0, 0.999, 12.923978636687483},
    {3.0, 0.999999, 130.15458955835795},
    {5.0, 0.5, 0.72668684380042265},
    {5.0, 0.9, 2.0150483733330242},
    {5.0, 0.95, 2.5705818356363155},
    {5.0, 0.99, 4.0321429835552281},
    {5.0, 0.999, 6.8688266258811102},
    {5.0, 0.999999, 28.47847346298421},
    {9.0, 0.5, 0.70272214675132637},
    {9.0, 0.9, 1.8331129326562372},
    {9.0, 0.95, 2.2621571627982055},
    {9.0, 0.99, 3.2498355415921263},
    {9.0, 0.999, 4.7809125859311391},
    {9.0, 0.999999, 11.63678202732889},
    {10.0, 0.5, 0.69981206131243163},
    {10.0, 0.9, 1.8124611228116764},
    {10.0, 0.95, 2.2281388519862747},
    {10.0, 0.99, 3.1692726726169512},
    {10.0, 0.999, 4.5868938587026359},
    {10.0, 0.999999, 10.516489956914905},
    {29.0, 0.5, 0.68304386082161315},
    {29.0, 0.9, 1.6991270265334978},
    {29.0, 0.95, 2.0452296421327043},
    {29.0, 0.99, 2.7563859036706055},
    {29.0, 0.999, 3.6594050194663329},
    {29.0, 0.999999, 6.1700561014188312},
    {30.0, 0.5, 0.68275569332129255},
    {30.0, 0.9, 1.6972608865939578},
    {30.0, 0.95, 2.0422724563012383},
    {30.0, 0.99, 2.7499956535672253},
    {30.0, 0.999, 3.6459586350420218},
    {30.0, 0.999999, 6.1190756203842168},
    {100.0, 0.5, 0.67695104301147148},
    {100.0, 0.9, 1.6602343260853396},
    {100.0, 0.95, 1.9839715185235523},
    {100.0, 0.99, 2.6258905214380179},
    {100.0, 0.999, 3.3904913111642299},
    {100.0, 0.999999, 5.2137275742300774},
    {1000.0, 0.5, 0.67473516460700944},
    {1000.0, 0.9, 1.6463788172854647},
    {1000.0, 0.95, 1.9623390808264085},
    {1000.0, 0.99, 2.5807546980659511},
    {1000.0, 0.999, 3.3002826484239129},
    {1000.0, 0.999999, 4.922289523429588},
    {10000.0, 0.5, 0.67451428448359243},
    {10000.0, 0.9, 1.645006018069243},
    {10000.0, 0.95, 1.9602012398906263},
    {10000.0, 0.99, 2.5763210466685289},
    {10000.0, 0.999, 3.2914999659416047},
    {10000.0, 0.999999, 4.8946886163156061},
    {99999.0, 0.5, 0.6744922035778261},
    {99999.0, 0.9, 1.644868864937351},
    {99999.0, 0.95, 1.9599877077718448},
    {99999.0, 0.99, 2.5758784704000527},
    {99999.0, 0.999, 3.2906240323849177},
    {99999.0, 0.999999, 4.8919433437639574},
    {100000.0, 0.5, 0.67449220355329221},
    {100000.0, 0.9, 1.6448688647849697},
    {100000.0, 0.95, 1.9599877075346096},
    {100000.0, 0.99, 2.5758784699083753},
    {100000.0, 0.999, 3.2906240314118827},
    {100000.0, 0.999999, 4.8919433407151112},
    {1000000.0, 0.5, 0.67448999553108738},
    {1000000.0, 0.9, 1.6448551507220405},
    {1000000.0, 0.95, 1.959966356814107},
    {1000000.0, 0.99, 2.5758342201053342},
    {1000000.0, 0.999, 3.2905364612486911},
    {1000000.0, 0.999999, 4.8916689607103853},
    {0.5, 0.5, 1.5537739740300373},
    {0.5, 0.9, 41.136000092878275},
    {0.5, 0.95, 164.55767348048853},
    {0.5, 0.99, 4113.9645888041812},
    {0.5, 0.999, 411396.46252617139},
    {0.5, 0.999999, 411396462526.536},
    {2.5, 0.5, 0.7850136829923011},
    {2.5, 0.9, 2.5582186141359366},
    {2.5, 0.95, 3.5746548420036832},
    {2.5, 0.99, 7.1637281389487855},
    {2.5, 0.999, 18.277893528130648},
    {2.5, 0.999999, 290.52306159901499},
};

static void test_t_reference(void **state)
{
	(void)state;
	double worst = 0;
	for (size_t i = 0; i < sizeof(reference) / sizeof(reference[0]); i++) {
		const struct t_case *c = &reference[i];
		double got = agp_student_t_two_sided(c->level, c->df);
		double err = fabs(got - c->t) / c->t;
		if (!(err <= 1e-9)) {
			print_error("df %g level %g: got %.17g, want %.17g (error %.3g)\n", c->df,
			            c->level, got, c->t, err);
			fail();
		}
		if (err > worst)
			worst = err;
		/* The one-sided quantile at (1 + level) / 2 is the same number, with sign by
		 * symmetry. */
		assert_rel(agp_student_t_quantile((1 + c->level) / 2, c->df), c->t, 1e-8);
		assert_rel(-agp_student_t_quantile((1 - c->level) / 2, c->df), c->t, 1e-8);
	}
	print_message("worst relative error against the reference: %.3g\n", worst);
}

static void test_t_monotone_and_limits(void **state)
{
	(void)state;
	/* More freedom, narrower interval, towards the normal quantile. */
	double previous = INFINITY;
	for (double df = 1; df <= 1e7; df *= 1.7) {
		double t = agp_student_t_two_sided(0.95, df);
		assert_true(t < previous);
		assert_true(t > 1.959963984540054);
		previous = t;
	}
	assert_true(agp_student_t_quantile(0.5, 7) == 0);
	assert_true(isnan(agp_student_t_quantile(0, 5)));
	assert_true(isnan(agp_student_t_quantile(1, 5)));
	assert_true(isnan(agp_student_t_quantile(0.9, 0)));
	assert_true(isnan(agp_student_t_quantile(0.9, -1)));
	assert_true(isnan(agp_student_t_two_sided(1.0, 5)));
	assert_true(isnan(agp_student_t_two_sided(0.0, 5)));
	assert_true(isnan(agp_normal_quantile(0)));
}

static void test_normal_quantile(void **state)
{
	(void)state;
	/* Published values of the standard normal quantile. */
	assert_rel(agp_normal_quantile(0.5) + 1, 1, 1e-15);
	assert_rel(agp_normal_quantile(0.95), 1.6448536269514722, 1e-13);
	assert_rel(agp_normal_quantile(0.995), 2.5758293035489004, 1e-13);
	assert_rel(agp_normal_quantile(1e-10), -6.3613409024040557, 1e-12);
	assert_rel(agp_normal_quantile(0.01), -2.3263478740408408, 1e-13);
}

static void test_confidence_interval(void **state)
{
	(void)state;
	/* 10 values, mean 5.5, sample sd sqrt(55/6): half width t(0.975, 9) * sd / sqrt(10). */
	struct agp_stats s;
	agp_stats_init(&s);
	for (int i = 1; i <= 10; i++)
		agp_stats_add(&s, i);
	struct agp_confidence_interval ci = {0};
	assert_int_equal(
	    agp_confidence_interval(s.count, agp_stats_mean(&s), agp_stats_stddev(&s), 0.95, &ci),
	    0);
	double half = 2.2621571627982055 * sqrt(55.0 / 6.0) / sqrt(10.0);
	assert_rel(ci.half_width, half, 1e-10);
	assert_rel(ci.lower, 5.5 - half, 1e-10);
	assert_rel(ci.upper, 5.5 + half, 1e-10);
	assert_rel(ci.t, 2.2621571627982055, 1e-10);

	struct agp_confidence_interval untouched = {1, 2, 3, 4};
	assert_int_equal(agp_confidence_interval(1, 5, 1, 0.95, &untouched), -EINVAL);
	assert_int_equal(agp_confidence_interval(10, 5, 1, 1.5, &untouched), -EINVAL);
	assert_int_equal(agp_confidence_interval(10, 5, -1, 0.95, &untouched), -EINVAL);
	assert_true(untouched.lower == 1 && untouched.t == 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_welford_known_set),
	    cmocka_unit_test(test_welford_single_sample),
	    cmocka_unit_test(test_welford_large_offset),
	    cmocka_unit_test(test_merge_equals_sequential),
	    cmocka_unit_test(test_from_sums),
	    cmocka_unit_test(test_t_table_values),
	    cmocka_unit_test(test_t_reference),
	    cmocka_unit_test(test_t_monotone_and_limits),
	    cmocka_unit_test(test_normal_quantile),
	    cmocka_unit_test(test_confidence_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
