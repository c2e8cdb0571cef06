/*
 * check: the smallest test harness.  CHECK() records a failure with its
 * location and goes on; a test's main() returns check_exit().
 */
#ifndef BURSTD_CHECK_H
#define BURSTD_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			check_failures++;                                      \
		}                                                              \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                    \
	do {                                                                  \
		long long check_a = (long long)(a), check_b = (long long)(b); \
		if (check_a != check_b) {                                     \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
				__FILE__, __LINE__, #a, check_a, check_b);    \
			check_failures++;                                     \
		}                                                             \
	} while (0)

#define CHECK_STR(a, b)                                                    \
	do {                                                               \
		const char *check_a = (a), *check_b = (b);                 \
		if (strcmp(check_a, check_b) != 0) {                       \
			fprintf(stderr,                                    \
				"%s:%d: %s == \"%s\", expected "           \
				"\"%s\"\n",                                \
				__FILE__, __LINE__, #a, check_a, check_b); \
			check_failures++;                                  \
		}                                                          \
	} while (0)

static inline int
check_exit(void)
{
	if (check_failures > 0)
		fprintf(stderr, "%d check(s) failed\n", check_failures);
	return check_failures > 0 ? 1 : 0;
}

#endif
