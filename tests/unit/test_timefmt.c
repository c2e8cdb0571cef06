/* timefmt: ISO 8601 forms, offsets, fractions, epoch millis, floors. */
#include <stdint.h>

#include "check.h"
#include "timefmt.h"

static int64_t
ms(const char *s)
{
	int64_t v = INT64_MIN;

	if (timefmt_parse(s, strlen(s), &v) < 0)
		return INT64_MIN;
	return v;
}

#define T0 INT64_C(1714564800000) /* 2024-05-01T12:00:00Z */

int
main(void)
{
	char buf[TIMEFMT_ISO_MAX];

	CHECK_EQ_INT(ms("2024-05-01T12:00:00Z"), T0);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00.000Z"), T0);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00.1Z"), T0 + 100);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00.12Z"), T0 + 120);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00.123Z"), T0 + 123);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00.1239Z"), T0 + 123);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00.123456789Z"), T0 + 123);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00.999999999Z"), T0 + 999);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00.1234567890Z"), INT64_MIN);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00,5Z"), T0 + 500);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00.Z"), INT64_MIN);
	/* Offsets move the instant; no zone is UTC. */
	CHECK_EQ_INT(ms("2024-05-01T14:00:00+02:00"), T0);
	CHECK_EQ_INT(ms("2024-05-01T14:00:00+0200"), T0);
	CHECK_EQ_INT(ms("2024-05-01T14:00:00+02"), T0);
	CHECK_EQ_INT(ms("2024-05-01T06:30:00-05:30"), T0);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00"), T0);
	CHECK_EQ_INT(ms("2024-05-01T12:00"), T0);
	CHECK_EQ_INT(ms("2024-05-01T12"), T0);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00+19:00"), INT64_MIN);
	/* Dates without time. */
	CHECK_EQ_INT(ms("2024-05-01"), T0 - 12 * 3600 * 1000);
	CHECK_EQ_INT(ms("2024-05"), ms("2024-05-01"));
	CHECK_EQ_INT(ms("2024"), ms("2024-01-01"));
	/* Calendar checks. */
	CHECK(ms("2024-02-29") != INT64_MIN);
	CHECK_EQ_INT(ms("2023-02-29"), INT64_MIN);
	CHECK_EQ_INT(ms("2100-02-29"), INT64_MIN);
	CHECK(ms("2000-02-29") != INT64_MIN);
	CHECK_EQ_INT(ms("2024-13-01"), INT64_MIN);
	CHECK_EQ_INT(ms("2024-04-31"), INT64_MIN);
	CHECK_EQ_INT(ms("2024-05-01T24:00:00Z"), INT64_MIN);
	CHECK_EQ_INT(ms("2024-05-01T12:60:00Z"), INT64_MIN);
	CHECK_EQ_INT(ms("2024-05-01 12:00:00Z"), INT64_MIN);
	CHECK_EQ_INT(ms("2024-05-01T12:00:00Zjunk"), INT64_MIN);
	CHECK_EQ_INT(ms("1970-01-01T00:00:00Z"), 0);
	CHECK_EQ_INT(ms("1969-12-31T23:59:59.999Z"), -1);
	/* Epoch milliseconds when the text is not ISO. */
	CHECK_EQ_INT(ms("1714564800000"), T0);
	CHECK_EQ_INT(ms("1714564800123.9"), T0 + 123);
	CHECK_EQ_INT(ms("-1000"), -1000);
	CHECK_EQ_INT(ms("12345"), 12345);
	CHECK_EQ_INT(ms(""), INT64_MIN);
	CHECK_EQ_INT(ms("abc"), INT64_MIN);
	CHECK_EQ_INT(ms("1e3"), INT64_MIN);
	CHECK_EQ_INT(ms("99999999999999999999999"), INT64_MIN);

	/* Floors round toward minus infinity. */
	CHECK_EQ_INT(timefmt_floor(T0 + 59999, 60000), T0);
	CHECK_EQ_INT(timefmt_floor(T0 + 60000, 60000), T0 + 60000);
	CHECK_EQ_INT(timefmt_floor(-1, 60000), -60000);
	CHECK_EQ_INT(timefmt_floor(-60000, 60000), -60000);

	timefmt_iso(T0 + 7, buf);
	CHECK_STR(buf, "2024-05-01T12:00:00.007Z");
	timefmt_iso(-1, buf);
	CHECK_STR(buf, "1969-12-31T23:59:59.999Z");
	timefmt_iso(ms("2000-02-29T23:59:59.5Z"), buf);
	CHECK_STR(buf, "2000-02-29T23:59:59.500Z");
	return check_exit();
}
