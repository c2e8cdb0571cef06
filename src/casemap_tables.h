/*
 * casemap_tables: the generated tables of casemap.c (src/casemap_tables.c,
 * written by scripts/gen-casemap).
 */
#ifndef BURSTD_CASEMAP_TABLES_H
#define BURSTD_CASEMAP_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* Code points first..last, every step-th, map to c + delta. */
struct casemap_run {
	uint32_t first, last;
	int32_t step, delta;
};

/* c maps to n code points (n >= 2). */
struct casemap_multi {
	uint32_t c, n;
	uint32_t out[3];
};

/* Code points first..last. */
struct casemap_set {
	uint32_t first, last;
};

extern const struct casemap_run casemap_lower_runs[], casemap_upper_runs[];
extern const size_t casemap_lower_runs_n, casemap_upper_runs_n;
extern const struct casemap_multi casemap_lower_multi[], casemap_upper_multi[];
extern const size_t casemap_lower_multi_n, casemap_upper_multi_n;
extern const struct casemap_set casemap_ignorable_set[], casemap_cased_set[];
extern const size_t casemap_ignorable_set_n, casemap_cased_set_n;

#endif
