/* strset: exact distinct counts, the cap, kept members. */
#include <stdio.h>

#include "check.h"
#include "strset.h"

static uint64_t collected[8];
static char b_[32];

static void
collect(void *arg, uint64_t h)
{
	size_t *n = arg;

	if (*n < 8)
		collected[*n] = h;
	(*n)++;
}

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

	/* Hash-only members survive a save and restore. */
	{
		struct strset *a = strset_new(2), *c = strset_new(2);
		uint64_t hashes[8];
		size_t nh = 0;
		for (int i = 0; i < 6; i++) {
			int n = snprintf(b_, sizeof(b_), "v%d", i);
			strset_add(a, b_, (size_t)n);
		}
		strset_foreach_hash(a, collect, &nh);
		CHECK_EQ_INT(nh, 4);
		memcpy(hashes, collected, sizeof(hashes));
		for (size_t i = 0; i < strset_kept(a); i++) {
			size_t vlen;
			const char *p = strset_get(a, i, &vlen);
			strset_add(c, p, vlen);
		}
		for (size_t i = 0; i < nh; i++)
			CHECK_EQ_INT(strset_add_hash(c, hashes[i]), 1);
		CHECK_EQ_INT(strset_add_hash(c, hashes[0]), 0);
		CHECK_EQ_INT(strset_count(c), 6);
		/* A restored hash-only member is still recognised. */
		CHECK_EQ_INT(strset_add(c, "v5", 2), 0);
		CHECK_EQ_INT(strset_add(c, "v6", 2), 1);
		strset_free(a);
		strset_free(c);
	}
	strset_free(NULL);
	return check_exit();
}
