/*
 * fuzz_timefmt: timefmt_parse() on arbitrary bytes, and what its result
 * must satisfy.
 *
 * A time that parses must print (timefmt_iso) within TIMEFMT_ISO_MAX, and
 * when its year has the four digits the ISO reader takes (0000..9999),
 * the printed form must parse back to the same millisecond and print the
 * same again.  timefmt_floor() must return the largest multiple of the
 * unit not above the time, for the units the rules use and for one
 * derived from the input.  A text that is only epoch milliseconds with
 * more than TIMEFMT_EPOCH_FRACTION fraction digits must not parse.
 */
#include <string.h>

#include "fuzz.h"
#include "timefmt.h"

/* 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z in epoch ms. */
#define ISO_MIN_MS INT64_C(-62167219200000)
#define ISO_END_MS INT64_C(253402300800000)

/* Epoch millis are accepted up to this magnitude (see timefmt.c). */
#define EPOCH_MAX_MS INT64_C(8640000000000000)

static void
check_floor(int64_t ms, int64_t unit)
{
	int64_t f = timefmt_floor(ms, unit);

	FUZZ_CHECK(f <= ms);
	FUZZ_CHECK(ms - f < unit);
	FUZZ_CHECK(f % unit == 0);
	FUZZ_CHECK(timefmt_floor(f, unit) == f);
}

static void
check_iso(int64_t ms)
{
	char out[TIMEFMT_ISO_MAX], again[TIMEFMT_ISO_MAX];
	size_t len = timefmt_iso(ms, out);
	int64_t back;

	FUZZ_CHECK(len > 0 && len < TIMEFMT_ISO_MAX);
	FUZZ_CHECK(strlen(out) == len);
	if (ms < ISO_MIN_MS || ms >= ISO_END_MS)
		return;
	FUZZ_CHECK(len == 24);
	FUZZ_CHECK(out[10] == 'T' && out[23] == 'Z');
	FUZZ_CHECK(timefmt_parse(out, len, &back) == 0);
	FUZZ_CHECK(back == ms);
	FUZZ_CHECK(timefmt_iso(back, again) == len);
	FUZZ_CHECK(memcmp(out, again, len) == 0);
	/* A day boundary prints as midnight. */
	timefmt_iso(timefmt_floor(ms, 86400000), again);
	FUZZ_CHECK(memcmp(again + 10, "T00:00:00.000Z", 14) == 0);
	FUZZ_CHECK(memcmp(again, out, 10) == 0);
}

/* Whether s is -?[0-9]+ '.' and more fraction digits than allowed. */
static int
long_epoch_fraction(const char *s, size_t len)
{
	size_t i = len > 0 && s[0] == '-', int0 = i, frac;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == int0 || i == len || s[i] != '.')
		return 0;
	frac = ++i;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i == len && len - frac > TIMEFMT_EPOCH_FRACTION;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t units[] = {1, 1000, 60000, 3600000, 86400000};
	char *s = calloc(size ? size : 1, 1); /* exactly size bytes */
	int64_t ms, unit;

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	if (timefmt_parse(s, size, &ms) == 0) {
		FUZZ_CHECK(!long_epoch_fraction(s, size));
		FUZZ_CHECK(ms >= -EPOCH_MAX_MS && ms <= EPOCH_MAX_MS);
		check_iso(ms);
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			check_floor(ms, units[i]);
		unit =
		    (int64_t)(fuzz_seed(data, size) % (UINT64_C(1) << 40)) + 1;
		check_floor(ms, unit);
	}
	/* Not NUL-terminated: the parser must keep within len. */
	if (size > 1)
		(void)timefmt_parse(s + 1, size - 1, &ms);
	free(s);
	return 0;
}
