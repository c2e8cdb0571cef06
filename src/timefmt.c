/*
 * timefmt: a strict ISO 8601 reader with no locale, no libc time zone
 * state and no allocation; days from civil dates by Howard Hinnant's
 * algorithm, valid for every proleptic Gregorian year.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "timefmt.h"

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int64_t y, unsigned m)
{
	static const unsigned char n[] = {31, 28, 31, 30, 31, 30,
					  31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : n[m - 1];
}

/* Reads exactly n digits at *p; returns -1 if they are not there. */
static int
digits(const char **p, const char *end, int n)
{
	int v = 0;

	if (end - *p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

static int
parse_iso(const char *s, size_t len, int64_t *out)
{
	const char *p = s, *end = s + len;
	int year, mon = 1, day = 1, hour = 0, min = 0, sec = 0, msec = 0;
	int off = 0;

	if ((year = digits(&p, end, 4)) < 0)
		return -1;
	if (p < end && *p == '-') {
		p++;
		if ((mon = digits(&p, end, 2)) < 1 || mon > 12)
			return -1;
		if (p < end && *p == '-') {
			p++;
			if ((day = digits(&p, end, 2)) < 1 ||
			    day > (int)month_days(year, (unsigned)mon))
				return -1;
			if (p < end && *p == 'T') {
				p++;
				if ((hour = digits(&p, end, 2)) < 0 ||
				    hour > 23)
					return -1;
				if (p < end && *p == ':') {
					p++;
					if ((min = digits(&p, end, 2)) < 0 ||
					    min > 59)
						return -1;
					if (p < end && *p == ':') {
						p++;
						if ((sec = digits(&p, end, 2)) <
							0 ||
						    sec > 59)
							return -1;
						if (p < end &&
						    (*p == '.' || *p == ',')) {
							int nd = 0;
							p++;
							while (p < end &&
							       *p >= '0' &&
							       *p <= '9' &&
							       nd < 9) {
								if (nd < 3)
									msec =
									    msec *
										10 +
									    (*p -
									     '0');
								nd++;
								p++;
							}
							if (nd == 0)
								return -1;
							for (int k = nd; k < 3;
							     k++)
								msec *= 10;
						}
					}
				}
				/* A zone only follows a time. */
				if (p < end && *p == 'Z') {
					p++;
				} else if (p < end &&
					   (*p == '+' || *p == '-')) {
					int sign = *p == '-' ? -1 : 1, oh,
					    om = 0;
					p++;
					if ((oh = digits(&p, end, 2)) < 0 ||
					    oh > 18)
						return -1;
					if (p < end && *p == ':') {
						p++;
						if ((om = digits(&p, end, 2)) <
						    0)
							return -1;
					} else if (p < end) {
						if ((om = digits(&p, end, 2)) <
						    0)
							return -1;
					}
					if (om > 59 || oh * 60 + om > 18 * 60)
						return -1;
					off = sign * (oh * 3600 + om * 60);
				}
			}
		}
	}
	if (p != end)
		return -1;
	int64_t days = days_from_civil(year, (unsigned)mon, (unsigned)day);
	int64_t secs = days * 86400 + hour * 3600 + min * 60 + sec - off;
	*out = secs * 1000 + msec;
	return 0;
}

/*
 * Epoch milliseconds: -?digits, optionally '.' and at most
 * TIMEFMT_EPOCH_FRACTION digits (possibly none).  The instant is floored
 * to the millisecond, as Elasticsearch places it: "-0.5" is
 * 1969-12-31T23:59:59.999.
 */
static int
parse_epoch_ms(const char *s, size_t len, int64_t *out)
{
	const char *p = s, *end = s + len;
	bool neg = false, frac = false;
	int64_t v = 0;
	int nd = 0, nf = 0;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++, nd++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (nd == 0)
		return -1;
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, nf++)
			frac |= *p != '0';
		if (nf > TIMEFMT_EPOCH_FRACTION)
			return -1;
	}
	if (p != end)
		return -1;
	v = neg ? -v - frac : v;
	if (v < TIMEFMT_MIN_MS || v > TIMEFMT_MAX_MS)
		return -1;
	*out = v;
	return 0;
}

int
timefmt_parse(const char *s, size_t len, int64_t *ms)
{
	if (parse_iso(s, len, ms) == 0)
		return 0;
	return parse_epoch_ms(s, len, ms);
}

int64_t
timefmt_floor(int64_t ms, int64_t unit_ms)
{
	int64_t q = ms / unit_ms;

	if (ms % unit_ms != 0 && ms < 0)
		q--;
	return q * unit_ms;
}

size_t
timefmt_iso(int64_t ms, char *out)
{
	int64_t days = timefmt_floor(ms, 86400000) / 86400000;
	int64_t rem = ms - days * 86400000;
	int64_t y;
	unsigned m, d;
	int n;

	civil_from_days(days, &y, &m, &d);
	n = snprintf(out, TIMEFMT_ISO_MAX,
		     "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
		     (int)(rem / 3600000), (int)(rem / 60000 % 60),
		     (int)(rem / 1000 % 60), (int)(rem % 1000));
	return n < 0 ? 0 : (size_t)n;
}
