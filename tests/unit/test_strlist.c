/* strlist: add, add_all, copy (also onto itself), equal, clear. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "strlist.h"

int
main(void)
{
	struct strlist a = {0}, b = {0};
	static const char *const abc[] = {"a", "b", "c", NULL};
	char s[] = "x";

	CHECK(strlist_equal(&a, &b));
	strlist_add(&a, s);
	s[0] = 'y'; /* the list holds a copy */
	CHECK_STR(a.v[0], "x");
	strlist_add_all(&a, abc);
	CHECK_EQ_INT(a.n, 4);
	CHECK_STR(a.v[3], "c");
	CHECK(!strlist_equal(&a, &b));

	strlist_add(&b, "old");
	strlist_copy(&b, &a);
	CHECK_EQ_INT(b.n, 4);
	CHECK(strlist_equal(&a, &b));
	CHECK(a.v[1] != b.v[1]); /* copies, not shared */
	free(b.v[3]);
	b.v[3] = strdup("d");
	CHECK(!strlist_equal(&a, &b));
	b.n--;
	CHECK(!strlist_equal(&a, &b));
	b.n++;

	/* Copying a list onto itself keeps it. */
	strlist_copy(&a, &a);
	CHECK_EQ_INT(a.n, 4);
	CHECK_STR(a.v[0], "x");
	CHECK_STR(a.v[3], "c");

	strlist_clear(&a);
	CHECK(a.v == NULL && a.n == 0);
	strlist_clear(&a);
	strlist_clear(&b);
	return check_exit();
}
