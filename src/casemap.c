/*
 * casemap: TO_LOWER and TO_UPPER's mappings by binary search over the
 * generated runs.  See include/casemap.h.
 */
#include "casemap.h"
#include "casemap_tables.h"

static const struct casemap_run *
find_run(const struct casemap_run *r, size_t n, uint32_t c)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c < r[mid].first)
			hi = mid;
		else if (c > r[mid].last)
			lo = mid + 1;
		else
			return (c - r[mid].first) % (uint32_t)r[mid].step == 0
				   ? &r[mid]
				   : NULL;
	}
	return NULL;
}

static const struct casemap_multi *
find_multi(const struct casemap_multi *m, size_t n, uint32_t c)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c < m[mid].c)
			hi = mid;
		else if (c > m[mid].c)
			lo = mid + 1;
		else
			return &m[mid];
	}
	return NULL;
}

static bool
in_set(const struct casemap_set *s, size_t n, uint32_t c)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c < s[mid].first)
			hi = mid;
		else if (c > s[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static size_t
map(const struct casemap_run *r, size_t rn, const struct casemap_multi *m,
    size_t mn, uint32_t c, uint32_t out[CASEMAP_MAX])
{
	const struct casemap_run *run = find_run(r, rn, c);
	const struct casemap_multi *mu;

	if (run != NULL) {
		out[0] = (uint32_t)((int32_t)c + run->delta);
		return 1;
	}
	mu = find_multi(m, mn, c);
	if (mu != NULL) {
		for (uint32_t i = 0; i < mu->n; i++)
			out[i] = mu->out[i];
		return mu->n;
	}
	out[0] = c;
	return 1;
}

size_t
casemap_lower(uint32_t c, uint32_t out[CASEMAP_MAX])
{
	if (c == 0x3a3) {
		out[0] = 0x3c3;
		return 1;
	}
	return map(casemap_lower_runs, casemap_lower_runs_n,
		   casemap_lower_multi, casemap_lower_multi_n, c, out);
}

size_t
casemap_upper(uint32_t c, uint32_t out[CASEMAP_MAX])
{
	return map(casemap_upper_runs, casemap_upper_runs_n,
		   casemap_upper_multi, casemap_upper_multi_n, c, out);
}

bool
casemap_cased(uint32_t c)
{
	return in_set(casemap_cased_set, casemap_cased_set_n, c);
}

bool
casemap_ignorable(uint32_t c)
{
	return in_set(casemap_ignorable_set, casemap_ignorable_set_n, c);
}
