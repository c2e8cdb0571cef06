/*
 * casemap: one code point's case mappings.  Sources of the expectations:
 *   UD  = UnicodeData.txt fields 12 and 13 (simple upper, lower)
 *   SC  = SpecialCasing.txt, unconditional entries
 *   DCP = DerivedCoreProperties.txt, Cased and Case_Ignorable
 * and the bound include/casemap.h states, checked over every code point.
 */
#include <stdint.h>

#include "casemap.h"
#include "check.h"
#include "prefilter.h"

/* Whether c is one of include/prefilter.h's PREFILTER_FOLDS. */
static bool
in_folds(uint32_t c)
{
	for (size_t i = 0; i < PREFILTER_NFOLDS; i++)
		if (PREFILTER_FOLDS[i] == c)
			return true;
	return false;
}

static size_t
utf8_len(uint32_t c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

int
main(void)
{
	uint32_t m[CASEMAP_MAX];

	/* UD: a stride-2 run (0100..012F), a stride-1 run (0410..042F),
	 * astral (10400 DESERET), KELVIN SIGN, LATIN CAPITAL SHARP S */
	CHECK_EQ_INT(casemap_lower(0x100, m), 1);
	CHECK_EQ_INT(m[0], 0x101);
	CHECK_EQ_INT(casemap_lower(0x101, m), 1);
	CHECK_EQ_INT(m[0], 0x101);
	CHECK_EQ_INT(casemap_upper(0x12f, m), 1);
	CHECK_EQ_INT(m[0], 0x12e);
	CHECK_EQ_INT(casemap_lower(0x42f, m), 1);
	CHECK_EQ_INT(m[0], 0x44f);
	CHECK_EQ_INT(casemap_upper(0x10428, m), 1);
	CHECK_EQ_INT(m[0], 0x10400);
	CHECK_EQ_INT(casemap_lower(0x212a, m), 1);
	CHECK_EQ_INT(m[0], 'k');
	CHECK_EQ_INT(casemap_lower(0x1e9e, m), 1);
	CHECK_EQ_INT(m[0], 0xdf);
	/* no mapping: CJK, digits, the end of the range */
	CHECK_EQ_INT(casemap_upper(0x4e2d, m), 1);
	CHECK_EQ_INT(m[0], 0x4e2d);
	CHECK_EQ_INT(casemap_lower(0x10ffff, m), 1);
	CHECK_EQ_INT(m[0], 0x10ffff);
	/* capital sigma out of context is U+03C3 */
	CHECK_EQ_INT(casemap_lower(0x3a3, m), 1);
	CHECK_EQ_INT(m[0], 0x3c3);
	/* SC: 0130 lowers to 0069 0307; 00DF uppers to 0053 0053; 1FB7
	 * uppers to 0391 0342 0399 */
	CHECK_EQ_INT(casemap_lower(0x130, m), 2);
	CHECK(m[0] == 0x69 && m[1] == 0x307);
	CHECK_EQ_INT(casemap_upper(0xdf, m), 2);
	CHECK(m[0] == 'S' && m[1] == 'S');
	CHECK_EQ_INT(casemap_upper(0x1fb7, m), 3);
	CHECK(m[0] == 0x391 && m[1] == 0x342 && m[2] == 0x399);
	/* DCP: Case_Ignorable in ASCII is exactly ' . : ^ ` (esql_func.c's
	 * ascii_ignorable()), Cased exactly the letters */
	for (uint32_t c = 0; c < 0x80; c++) {
		bool ign =
		    c == '\'' || c == '.' || c == ':' || c == '^' || c == '`';
		bool letter = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';

		CHECK(casemap_ignorable(c) == ign);
		CHECK(casemap_cased(c) == letter);
	}
	/* DCP: combining acute 0301 and soft hyphen 00AD are ignorable,
	 * modifier letter small h 02B0 is both (ignorable wins) */
	CHECK(casemap_ignorable(0x301));
	CHECK(casemap_ignorable(0xad));
	CHECK(casemap_ignorable(0x2b0) && !casemap_cased(0x2b0));
	CHECK(casemap_cased(0x3a3) && casemap_cased(0x1d400));
	CHECK(!casemap_cased(0x4e2d) && !casemap_ignorable(0x4e2d));
	/* casemap.h's bound: 3 code points, 3 times the UTF-8 bytes */
	for (uint32_t c = 0; c < 0x110000; c++) {
		for (int up = 0; up < 2; up++) {
			size_t n =
			    up ? casemap_upper(c, m) : casemap_lower(c, m);
			size_t b = 0;

			CHECK(n >= 1 && n <= CASEMAP_MAX);
			for (size_t i = 0; i < n; i++)
				b += utf8_len(m[i]);
			if (b > 3 * utf8_len(c)) {
				CHECK(b <= 3 * utf8_len(c));
				break;
			}
		}
	}
	/* the prefilter's soundness (include/prefilter.h): a code point
	 * outside ASCII that TO_LOWER or TO_UPPER takes to an ASCII letter
	 * is one of PREFILTER_FOLDS */
	for (uint32_t c = 0x80; c < 0x110000; c++) {
		for (int up = 0; up < 2; up++) {
			size_t n =
			    up ? casemap_upper(c, m) : casemap_lower(c, m);

			for (size_t i = 0; i < n; i++)
				if (m[i] < 0x80 && !in_folds(c)) {
					fprintf(stderr, "U+%04X not in FOLDS\n",
						(unsigned)c);
					check_failures++;
				}
		}
	}
	CHECK(casemap_unicode_version[0] != '\0');
	return check_exit();
}
