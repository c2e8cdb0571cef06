/*
 * strlist: owned strings in a growable array.
 */
#include <stdlib.h>
#include <string.h>

#include "strlist.h"
#include "util.h"

void
strlist_add(struct strlist *l, const char *s)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

void
strlist_add_all(struct strlist *l, const char *const *v)
{
	for (; *v != NULL; v++)
		strlist_add(l, *v);
}

void
strlist_clear(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
strlist_copy(struct strlist *dst, const struct strlist *src)
{
	struct strlist l = {0};

	/* Built apart first: src may share strings with dst. */
	for (size_t i = 0; i < src->n; i++)
		strlist_add(&l, src->v[i]);
	strlist_clear(dst);
	*dst = l;
}

bool
strlist_equal(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}
