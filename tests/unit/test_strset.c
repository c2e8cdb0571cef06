/* strset: exact distinct counts, the cap, kept members. */
#include <stdio.h>

#include "check.h"
#include "strset.h"

int
main(void)
{
	struct strset *s = strset_new(3);
	char b[32];
	size_t len;

	CHECK_EQ_INT(strset_add(s, "a", 1), 1);
	CHECK_EQ_INT(strset_add(s, "a", 1), 0);
	CHECK_EQ_INT(strset_add(s, "", 0), 1);
	CHECK_EQ_INT(strset_add(s, "ab", 2), 1);
	CHECK_EQ_INT(strset_count(s), 3);
	CHECK_EQ_INT(strset_kept(s), 3);
	/* Past the cap: counted, not kept. */
	CHECK_EQ_INT(strset_add(s, "c", 1), 1);
	CHECK_EQ_INT(strset_add(s, "c", 1), 0);
	CHECK_EQ_INT(strset_count(s), 4);
	CHECK_EQ_INT(strset_kept(s), 3);
	CHECK_EQ_INT(strset_dropped(s), 1);
	CHECK(memcmp(strset_get(s, 2, &len), "ab", 2) == 0 && len == 2);
	strset_free(s);

	/* Many members, with growth: the count stays exact. */
	s = strset_new(100000);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 50000; i++) {
			int n = snprintf(b, sizeof(b), "cmd %d", i);
			strset_add(s, b, (size_t)n);
		}
	CHECK_EQ_INT(strset_count(s), 50000);
	CHECK_EQ_INT(strset_dropped(s), 0);
	strset_free(s);
	strset_free(NULL);
	return check_exit();
}
