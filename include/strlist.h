/*
 * strlist: a growable list of owned C strings (the rule's literals, an
 * input's glob patterns).
 *
 * A zeroed struct strlist is an empty list.  The list owns its array and
 * every string in it; strlist_clear() frees them and leaves it empty.
 */
#ifndef BURSTD_STRLIST_H
#define BURSTD_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
	char **v; /* owned strings */
	size_t n; /* count */
};

/* Appends a copy of s. */
void strlist_add(struct strlist *l, const char *s);
/* Appends copies of the strings of v, which ends with NULL. */
void strlist_add_all(struct strlist *l, const char *const *v);
/* Frees every string and the array; l is then empty. */
void strlist_clear(struct strlist *l);
/* Makes dst a copy of src (dst's old contents are freed). */
void strlist_copy(struct strlist *dst, const struct strlist *src);
/* Whether a and b hold equal strings in the same order. */
bool strlist_equal(const struct strlist *a, const struct strlist *b);

#endif
