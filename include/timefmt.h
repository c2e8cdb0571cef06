/*
 * timefmt: event time as Elasticsearch reads a date field, and back.
 *
 * Parsing follows the "strict_date_optional_time||epoch_millis" format of
 * the Defend mappings: first ISO 8601 (yyyy[-MM[-dd]] then optionally
 * 'T' HH[:mm[:ss[.f]]] with 1 to 9 fraction digits after '.' or ',',
 * then optionally 'Z', +hh:mm, +hhmm or +hh; no zone means UTC), and
 * only if that fails, epoch milliseconds (an optionally signed integer,
 * optionally with a fraction of at most TIMEFMT_EPOCH_FRACTION digits).
 * Times are kept as milliseconds since the Unix epoch, UTC, floored to
 * the millisecond.
 */
#ifndef BURSTD_TIMEFMT_H
#define BURSTD_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Epoch milliseconds are accepted for the years 0000 to 9999, the range
 * the alert's ISO window column can print.
 */
#define TIMEFMT_MIN_MS INT64_C(-62167219200000) /* 0000-01-01T00:00:00Z */
#define TIMEFMT_MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

/*
 * Fraction digits of epoch milliseconds, at most: Elasticsearch's
 * epoch_millis reads nanoseconds of the millisecond (EpochTime.java,
 * appendFraction(NANOS_OF_MILLI, 0, 6)) and refuses the document when
 * more digits follow.
 */
#define TIMEFMT_EPOCH_FRACTION 6

/* Returns 0 and sets *ms, or -1 if s is not a date in either format. */
int timefmt_parse(const char *s, size_t len, int64_t *ms);

/* Largest multiple of unit_ms <= ms (rounds toward minus infinity). */
int64_t timefmt_floor(int64_t ms, int64_t unit_ms);

/*
 * Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes and a NUL) into out,
 * which must hold TIMEFMT_ISO_MAX bytes.  Returns the length.
 */
#define TIMEFMT_ISO_MAX 40
size_t timefmt_iso(int64_t ms, char *out);

#endif
