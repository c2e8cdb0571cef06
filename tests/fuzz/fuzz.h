/*
 * fuzz: what every fuzz target shares.
 *
 * A target is one LLVMFuzzerTestOneInput(): libFuzzer calls it in a
 * fuzz build (-Dfuzz=true, clang), and replay.c's main() calls it once
 * per corpus file in every other build, so the corpora run as ordinary
 * tests.  A target returns 0; it reports a broken invariant with
 * FUZZ_CHECK(), which aborts whatever NDEBUG says, so that libFuzzer
 * keeps the input as a crasher and the replay test fails.
 */
#ifndef BURSTD_FUZZ_H
#define BURSTD_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline _Noreturn void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

#define FUZZ_CHECK(cond)                                      \
	do {                                                  \
		if (!(cond))                                  \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

/*
 * Whether p[0..len) is UTF-8 as RFC 3629 defines it: shortest forms
 * only, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 */
static inline bool
fuzz_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p++;
		unsigned lo = 0x80, hi = 0xBF;
		int more;

		if (c < 0x80)
			continue;
		if (c >= 0xC2 && c <= 0xDF) {
			more = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			more = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			more = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return false;
		}
		if (end - p < more)
			return false;
		if (*p < lo || *p > hi)
			return false;
		p++;
		for (int i = 1; i < more; i++, p++)
			if (*p < 0x80 || *p > 0xBF)
				return false;
	}
	return true;
}

/*
 * A small deterministic generator seeded from the input, for targets that
 * derive choices (chunk boundaries) from the bytes they are given.
 */
static inline uint64_t
fuzz_seed(const uint8_t *data, size_t size)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */

	for (size_t i = 0; i < size; i++) {
		h ^= data[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h | 1;
}

static inline uint64_t
fuzz_next(uint64_t *state)
{
	uint64_t x = *state; /* xorshift64 */

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif
