/*
 * agg: ES|QL aggregate semantics per group, the value cap, checkpoints.
 *
 * Expectations follow the Elasticsearch ES|QL reference,
 * docs/reference/esql/functions/aggregation-functions (COUNT, COUNT_DISTINCT,
 * VALUES, MIN, MAX, SUM, AVG), cited next to each case.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "check.h"

static struct esql_val
kw(const char *s)
{
	struct esql_val v = {.type = ESQL_T_KEYWORD, .n = 1};

	v.one.u.s.p = s;
	v.one.u.s.len = strlen(s);
	return v;
}

static struct esql_val
num(enum esql_type t, int64_t l)
{
	struct esql_val v = {.type = t, .n = 1};

	v.one.u.l = l;
	return v;
}

static struct esql_val
dbl(double d)
{
	struct esql_val v = {.type = ESQL_T_DOUBLE, .n = 1};

	v.one.u.d = d;
	return v;
}

static struct esql_val
multi(enum esql_type t, const struct esql_scalar *items, size_t n)
{
	struct esql_val v = {.type = t, .n = n, .many = items};

	return v;
}

static struct esql_val
null(enum esql_type t)
{
	struct esql_val v;

	esql_val_null(&v, t);
	return v;
}

/* The i-th result as a long, or LLONG_MIN if null. */
static long long
res_long(struct agg_def *d, struct agg_state *st, size_t i)
{
	struct esql_val v;
	struct esql_arena a = {0};
	long long r;

	agg_result(d, st, i, &v, &a);
	CHECK_EQ_INT(v.type, agg_result_type(&d->specs[i]));
	r = v.n == 0 ? LLONG_MIN : (long long)esql_val_items(&v)[0].u.l;
	esql_arena_free(&a);
	return r;
}

/* Whether a VALUES result holds exactly the given keywords (any order). */
static int
values_are(struct esql_val *v, const char *const *want, size_t n)
{
	const struct esql_scalar *it = esql_val_items(v);

	if (v->type != ESQL_T_KEYWORD || v->n != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t hits = 0;

		for (size_t j = 0; j < n; j++)
			if (it[j].u.s.len == strlen(want[i]) &&
			    memcmp(it[j].u.s.p, want[i], it[j].u.s.len) == 0)
				hits++;
		if (hits != 1)
			return 0;
	}
	return 1;
}

static void
test_count(void)
{
	/*
	 * COUNT(*) counts rows; COUNT(field) counts values, each element
	 * of a multivalued field, nulls not counted (reference, COUNT:
	 * "ROW words=... | STATS word_count = COUNT(SPLIT(words, ";"))"
	 * gives the number of elements).
	 */
	static const struct agg_spec specs[] = {
	    {AGG_COUNT_ALL, ESQL_T_NULL, -1},
	    {AGG_COUNT, ESQL_T_LONG, -1},
	};
	struct agg_def d = {.specs = specs, .n = 2, .max_values = 10};
	struct esql_scalar two[2] = {{.u.l = 1}, {.u.l = 2}};
	struct esql_val in[2];
	struct agg_state *st;
	char err[128];

	CHECK_EQ_INT(agg_def_check(&d, err, sizeof(err)), 0);
	st = agg_new(&d);
	CHECK_EQ_INT(res_long(&d, st, 0), 0);
	CHECK_EQ_INT(res_long(&d, st, 1), 0); /* COUNT is never null */
	in[1] = multi(ESQL_T_LONG, two, 2);
	agg_update(&d, st, in, NULL);
	in[1] = null(ESQL_T_LONG);
	agg_update(&d, st, in, NULL);
	in[1] = num(ESQL_T_LONG, 3);
	agg_update(&d, st, in, NULL);
	CHECK_EQ_INT(res_long(&d, st, 0), 3);
	CHECK_EQ_INT(res_long(&d, st, 1), 3);
	agg_free(&d, st);
	agg_def_fini(&d);
}

static void
test_distinct_values(void)
{
	/*
	 * COUNT_DISTINCT and VALUES over one input share a set.  VALUES
	 * returns each distinct value once, without nulls, multivalued
	 * inputs contributing every element (reference, VALUES: "Returns
	 * all values in a group as a multivalued field"; COUNT_DISTINCT:
	 * approximate in Elasticsearch above its precision threshold, exact
	 * here, which agrees below it).
	 */
	static const struct agg_spec specs[] = {
	    {AGG_COUNT_DISTINCT, ESQL_T_KEYWORD, 0},
	    {AGG_VALUES, ESQL_T_KEYWORD, 0},
	};
	struct agg_def d = {.specs = specs,
			    .n = 2,
			    .nsets = 1,
			    .max_values = 10};
	struct esql_scalar ca[2];
	struct esql_val in[2], v;
	struct esql_arena a = {0};
	struct agg_state *st = agg_new(&d);
	static const char *const want[] = {"a", "b", "c"};
	size_t before = agg_bytes(&d, st);

	ca[0] = kw("c").one;
	ca[0].u.s.p = "c";
	ca[1].u.s.p = "a";
	ca[1].u.s.len = 1;
	in[0] = in[1] = null(ESQL_T_KEYWORD);
	agg_result(&d, st, 1, &v, &a);
	CHECK_EQ_INT(v.n, 0); /* no value: VALUES is null */
	CHECK_EQ_INT(res_long(&d, st, 0), 0);
	in[0] = in[1] = kw("b");
	agg_update(&d, st, in, NULL);
	in[0] = in[1] = kw("a");
	agg_update(&d, st, in, NULL);
	agg_update(&d, st, in, NULL);
	in[0] = in[1] = multi(ESQL_T_KEYWORD, ca, 2);
	agg_update(&d, st, in, NULL);
	in[0] = in[1] = null(ESQL_T_KEYWORD);
	agg_update(&d, st, in, NULL);
	CHECK_EQ_INT(res_long(&d, st, 0), 3);
	agg_result(&d, st, 1, &v, &a);
	CHECK(values_are(&v, want, 3));
	CHECK_EQ_INT(agg_values_dropped(&d, st, 1), 0);
	CHECK_EQ_INT(agg_set_count(st, 0), 3);
	CHECK(agg_bytes(&d, st) > before);
	agg_free(&d, st);
	esql_arena_free(&a);
	agg_def_fini(&d);
}

static void
test_cap(void)
{
	/* Past max_values the count stays exact, VALUES keeps the first. */
	static const struct agg_spec specs[] = {
	    {AGG_VALUES, ESQL_T_LONG, 0},
	    {AGG_COUNT_DISTINCT, ESQL_T_LONG, 0},
	};
	struct agg_def d = {.specs = specs,
			    .n = 2,
			    .nsets = 1,
			    .max_values = 2};
	struct agg_state *st = agg_new(&d);
	struct esql_val in[2], v;
	struct esql_arena a = {0};

	for (int64_t i = 10; i < 15; i++) {
		in[0] = in[1] = num(ESQL_T_LONG, i);
		agg_update(&d, st, in, NULL);
		agg_update(&d, st, in, NULL);
	}
	CHECK_EQ_INT(res_long(&d, st, 1), 5);
	agg_result(&d, st, 0, &v, &a);
	CHECK_EQ_INT(v.n, 2);
	CHECK_EQ_INT(esql_val_items(&v)[0].u.l, 10);
	CHECK_EQ_INT(esql_val_items(&v)[1].u.l, 11);
	CHECK_EQ_INT(agg_values_dropped(&d, st, 0), 3);
	agg_free(&d, st);
	esql_arena_free(&a);
	agg_def_fini(&d);
}

static void
test_min_max(void)
{
	/*
	 * MIN and MAX of keywords compare bytes (reference, MIN/MAX:
	 * supported types include keyword; ordering as SORT, by UTF-8
	 * bytes); multivalued inputs contribute every element.
	 */
	static const struct agg_spec specs[] = {
	    {AGG_MIN, ESQL_T_KEYWORD, -1},
	    {AGG_MAX, ESQL_T_KEYWORD, -1},
	    {AGG_MIN, ESQL_T_LONG, -1},
	    {AGG_MAX, ESQL_T_LONG, -1},
	};
	struct agg_def d = {.specs = specs, .n = 4, .max_values = 4};
	struct agg_state *st = agg_new(&d);
	struct esql_scalar longs[3] = {{.u.l = 5}, {.u.l = -7}, {.u.l = 9}};
	struct esql_val in[4], v;
	struct esql_arena a = {0};
	char buf[8];

	CHECK_EQ_INT(res_long(&d, st, 2), LLONG_MIN); /* no value: null */
	strcpy(buf, "b");
	in[0] = in[1] = kw(buf);
	in[2] = in[3] = multi(ESQL_T_LONG, longs, 3);
	agg_update(&d, st, in, NULL);
	strcpy(buf, "abc");
	in[0] = in[1] = kw(buf);
	in[2] = in[3] = null(ESQL_T_LONG);
	agg_update(&d, st, in, NULL);
	strcpy(buf, "ab");
	in[0] = in[1] = kw(buf);
	in[2] = in[3] = num(ESQL_T_LONG, 0);
	agg_update(&d, st, in, NULL);
	strcpy(buf, "zzz"); /* the state holds copies */
	agg_result(&d, st, 0, &v, &a);
	CHECK(v.n == 1 && v.one.u.s.len == 2 &&
	      memcmp(v.one.u.s.p, "ab", 2) == 0);
	agg_result(&d, st, 1, &v, &a);
	CHECK(v.n == 1 && v.one.u.s.len == 1 && v.one.u.s.p[0] == 'b');
	CHECK_EQ_INT(res_long(&d, st, 2), -7);
	CHECK_EQ_INT(res_long(&d, st, 3), 9);
	agg_free(&d, st);
	esql_arena_free(&a);
	agg_def_fini(&d);
}

static void
test_sum_avg(void)
{
	/*
	 * SUM of integers is a long; a long overflow makes it null with a
	 * warning (reference, SUM; Elasticsearch SumLongAggregator adds
	 * with Math.addExact).  AVG is a double, SUM / COUNT.  A double SUM
	 * is compensated (Elasticsearch SumDoubleAggregator uses
	 * CompensatedSum), so ten times 0.1 is 1.0 exactly.
	 */
	static const struct agg_spec specs[] = {
	    {AGG_SUM, ESQL_T_INTEGER, -1}, {AGG_AVG, ESQL_T_INTEGER, -1},
	    {AGG_SUM, ESQL_T_DOUBLE, -1},  {AGG_AVG, ESQL_T_DOUBLE, -1},
	    {AGG_SUM, ESQL_T_LONG, -1},
	};
	struct agg_def d = {.specs = specs, .n = 5, .max_values = 4};
	struct agg_state *st = agg_new(&d);
	struct esql_scalar ints[2] = {{.u.l = 1}, {.u.l = 2}};
	struct esql_val in[5], v;
	struct esql_arena a = {0};

	CHECK_EQ_INT(agg_result(&d, st, 1, &v, &a), 0);
	CHECK_EQ_INT(v.n, 0); /* AVG of nothing is null */
	CHECK_EQ_INT(agg_result_type(&specs[0]), ESQL_T_LONG);
	in[0] = in[1] = multi(ESQL_T_INTEGER, ints, 2);
	in[2] = in[3] = dbl(0.1);
	in[4] = num(ESQL_T_LONG, INT64_MAX);
	agg_update(&d, st, in, NULL);
	in[0] = in[1] = num(ESQL_T_INTEGER, 4);
	in[4] = num(ESQL_T_LONG, 1);
	agg_update(&d, st, in, NULL);
	in[0] = in[1] = null(ESQL_T_INTEGER);
	in[4] = null(ESQL_T_LONG);
	for (int i = 0; i < 8; i++)
		agg_update(&d, st, in, NULL);
	CHECK_EQ_INT(res_long(&d, st, 0), 7);
	CHECK_EQ_INT(agg_result(&d, st, 1, &v, &a), 0);
	CHECK(v.type == ESQL_T_DOUBLE && v.n == 1 && v.one.u.d == 7.0 / 3.0);
	agg_result(&d, st, 2, &v, &a);
	CHECK(v.n == 1 && v.one.u.d == 1.0);
	agg_result(&d, st, 3, &v, &a);
	CHECK(v.n == 1 && v.one.u.d == 0.1);
	CHECK_EQ_INT(agg_result(&d, st, 4, &v, &a), 1);
	CHECK_EQ_INT(v.n, 0);
	agg_free(&d, st);
	esql_arena_free(&a);
	agg_def_fini(&d);
}

static void
test_where(void)
{
	/*
	 * agg WHERE: "the condition that must be met for a row to be
	 * included in the evaluation of" that aggregate (reference, STATS:
	 * `STATS under_40K = COUNT(*) WHERE Ks < 40, ..., total =
	 * COUNT(*)`).  A set shared by a VALUES and a COUNT_DISTINCT of the
	 * same condition is filled by the first; values past its cap are
	 * what agg_update() returns.
	 */
	static const struct agg_spec specs[] = {
	    {AGG_COUNT_ALL, ESQL_T_NULL, -1},
	    {AGG_COUNT_ALL, ESQL_T_NULL, -1},
	    {AGG_SUM, ESQL_T_LONG, -1},
	    {AGG_VALUES, ESQL_T_LONG, 0},
	    {AGG_COUNT_DISTINCT, ESQL_T_LONG, 0},
	};
	struct agg_def d = {.specs = specs,
			    .n = 5,
			    .nsets = 1,
			    .max_values = 2};
	struct agg_state *st = agg_new(&d);
	struct esql_val in[5];
	bool on[5] = {true, true, true, true, true};
	/* Rows 1, 2, 3, 4, 4; row 2 fails the WHERE of 1 and 2, row 3 that
	 * of the set. */
	static const size_t want_dropped[] = {0, 0, 0, 1, 0};

	for (int64_t r = 1; r <= 5; r++) {
		int64_t v = r < 5 ? r : 4;
		in[2] = in[3] = in[4] = num(ESQL_T_LONG, v);
		on[1] = on[2] = r != 2;
		on[3] = on[4] = r != 3;
		CHECK_EQ_INT(agg_update(&d, st, in, on), want_dropped[r - 1]);
	}
	CHECK_EQ_INT(res_long(&d, st, 0), 5); /* COUNT(*) */
	CHECK_EQ_INT(res_long(&d, st, 1), 4); /* COUNT(*) WHERE */
	CHECK_EQ_INT(res_long(&d, st, 2), 1 + 3 + 4 + 4);
	CHECK_EQ_INT(res_long(&d, st, 4), 3); /* 1, 2, 4 */
	CHECK_EQ_INT(agg_set_kept(st, 0), 2); /* 1, 2; 4 by hash */
	CHECK_EQ_INT(agg_values_dropped(&d, st, 3), 1);
	agg_free(&d, st);
	agg_def_fini(&d);
}

static void
test_def_check(void)
{
	static const struct agg_spec sum_kw[] = {
	    {AGG_SUM, ESQL_T_KEYWORD, -1},
	};
	static const struct agg_spec bad_set[] = {
	    {AGG_VALUES, ESQL_T_KEYWORD, 1},
	};
	static const struct agg_spec mixed[] = {
	    {AGG_VALUES, ESQL_T_KEYWORD, 0},
	    {AGG_COUNT_DISTINCT, ESQL_T_LONG, 0},
	};
	struct agg_def d = {.specs = sum_kw, .n = 1};
	char err[128];

	CHECK_EQ_INT(agg_def_check(&d, err, sizeof(err)), -1);
	CHECK_STR(err, "aggregate 0: SUM does not take a keyword");
	d.specs = bad_set;
	d.nsets = 1;
	CHECK_EQ_INT(agg_def_check(&d, err, sizeof(err)), -1);
	CHECK_STR(err, "aggregate 0: VALUES has set 1, not in [0, 1)");
	d.specs = mixed;
	d.n = 2;
	CHECK_EQ_INT(agg_def_check(&d, err, sizeof(err)), -1);
	CHECK_STR(err, "aggregate 1: set 0 is shared by inputs of types "
		       "keyword and long");
	d.n = 1;
	d.nsets = 2;
	CHECK_EQ_INT(agg_def_check(&d, err, sizeof(err)), -1);
	CHECK_STR(err, "set 1 is used by no aggregate");
}

static void
test_save_load(void)
{
	static const struct agg_spec specs[] = {
	    {AGG_COUNT_ALL, ESQL_T_NULL, -1},
	    {AGG_MIN, ESQL_T_KEYWORD, -1},
	    {AGG_SUM, ESQL_T_LONG, -1},
	    {AGG_AVG, ESQL_T_DOUBLE, -1},
	    {AGG_VALUES, ESQL_T_KEYWORD, 0},
	    {AGG_COUNT_DISTINCT, ESQL_T_KEYWORD, 0},
	};
	struct agg_def d = {.specs = specs,
			    .n = 6,
			    .nsets = 1,
			    .max_values = 2};
	struct agg_state *st = agg_new(&d), *back;
	static const char *const words[] = {"x", "yy", "zzz", "x"};
	struct esql_val in[6], v;
	struct esql_arena a = {0};
	struct buf out = {0}, again = {0};
	struct cursor c;

	for (size_t i = 0; i < 4; i++) {
		in[1] = in[4] = in[5] = kw(words[i]);
		in[2] = num(ESQL_T_LONG, (int64_t)i * 10);
		in[3] = dbl(0.5 * (double)i);
		agg_update(&d, st, in, NULL);
	}
	agg_save(&d, st, &out);
	back = agg_new(&d);
	c = (struct cursor){out.data, out.data + out.len, 0};
	CHECK_EQ_INT(agg_load(&d, back, &c), 0);
	CHECK(c.p == c.end);
	agg_save(&d, back, &again);
	CHECK(again.len == out.len &&
	      memcmp(again.data, out.data, out.len) == 0);
	CHECK_EQ_INT(res_long(&d, back, 0), 4);
	CHECK_EQ_INT(res_long(&d, back, 2), 60);
	CHECK_EQ_INT(res_long(&d, back, 5), 3);
	agg_result(&d, back, 1, &v, &a);
	CHECK(v.n == 1 && v.one.u.s.len == 1 && v.one.u.s.p[0] == 'x');
	agg_result(&d, back, 3, &v, &a);
	CHECK(v.n == 1 && v.one.u.d == 0.75);
	CHECK_EQ_INT(agg_values_dropped(&d, back, 4), 1);
	agg_free(&d, back);

	/* Every truncation is refused. */
	for (size_t cut = 0; cut < out.len; cut++) {
		back = agg_new(&d);
		c = (struct cursor){out.data, out.data + cut, 0};
		CHECK_EQ_INT(agg_load(&d, back, &c), -1);
		agg_free(&d, back);
	}
	/* A keyword that is not UTF-8 is refused: the MIN's "x", then the
	 * set's (the only bytes 'x' of the data). */
	for (int k = 0; k < 2; k++) {
		struct buf bad = {0};
		char *x;

		buf_append(&bad, out.data, out.len);
		x = memchr(bad.data, 'x', bad.len);
		if (k == 1 && x != NULL)
			x = memchr(x + 1, 'x',
				   bad.len - (size_t)(x + 1 - bad.data));
		CHECK(x != NULL);
		if (x != NULL)
			*x = (char)0xff;
		back = agg_new(&d);
		c = (struct cursor){bad.data, bad.data + bad.len, 0};
		CHECK_EQ_INT(agg_load(&d, back, &c), -1);
		agg_free(&d, back);
		buf_free(&bad);
	}
	/* An overflow flag other than 0 or 1 is refused. */
	out.data[4 * 8] = 2;
	back = agg_new(&d);
	c = (struct cursor){out.data, out.data + out.len, 0};
	CHECK_EQ_INT(agg_load(&d, back, &c), -1);
	agg_free(&d, back);

	agg_free(&d, st);
	buf_free(&out);
	buf_free(&again);
	esql_arena_free(&a);
	agg_def_fini(&d);
}

int
main(void)
{
	test_count();
	test_distinct_values();
	test_cap();
	test_min_max();
	test_sum_avg();
	test_where();
	test_def_check();
	test_save_load();
	return check_exit();
}
