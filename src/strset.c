/*
 * strset: open addressing over 64-bit XXH3 hashes, linear probing, load
 * at most 1/2.  Slot value 0 is empty, so a hash of 0 is stored as 1.
 * Each slot points at a kept member, or at nothing for a member past the
 * cap (then only the hash stands for it).
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "strset.h"
#include "util.h"

struct member {
	uint32_t len; /* bytes of the member */
	char data[];  /* the member */
};

struct slot {
	uint64_t hash;    /* 0: empty */
	struct member *m; /* NULL: hash only, past the cap */
};

struct strset {
	struct slot *slots;   /* 2^k slots */
	size_t mask;          /* number of slots - 1 */
	size_t count;         /* distinct members */
	size_t max_kept;      /* cap on kept members */
	struct member **kept; /* kept members, insertion order */
	size_t nkept;         /* entries of kept in use */
	size_t capkept;       /* entries of kept allocated */
	size_t bytes;         /* memory held */
};

struct strset *
strset_new(size_t max_kept)
{
	struct strset *s = xcalloc(1, sizeof(*s));

	s->mask = 7;
	s->slots = xcalloc(s->mask + 1, sizeof(*s->slots));
	s->max_kept = max_kept;
	s->bytes = sizeof(*s) + (s->mask + 1) * sizeof(*s->slots);
	return s;
}

void
strset_free(struct strset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nkept; i++)
		free(s->kept[i]);
	free(s->kept);
	free(s->slots);
	free(s);
}

static void
grow(struct strset *s)
{
	size_t n = (s->mask + 1) * 2;
	struct slot *old = s->slots;
	size_t oldn = s->mask + 1;

	s->slots = xcalloc(n, sizeof(*s->slots));
	s->mask = n - 1;
	for (size_t i = 0; i < oldn; i++) {
		if (old[i].hash == 0)
			continue;
		size_t j = old[i].hash & s->mask;
		while (s->slots[j].hash != 0)
			j = (j + 1) & s->mask;
		s->slots[j] = old[i];
	}
	free(old);
	s->bytes += (n - oldn) * sizeof(*s->slots);
}

int
strset_add(struct strset *s, const char *p, size_t len)
{
	uint64_t h = XXH3_64bits(p, len);
	size_t j;

	if (h == 0)
		h = 1;
	for (j = h & s->mask; s->slots[j].hash != 0; j = (j + 1) & s->mask) {
		struct slot *sl = &s->slots[j];
		if (sl->hash != h)
			continue;
		/* Past the cap, equal hashes are taken as equal members. */
		if (sl->m == NULL ||
		    (sl->m->len == len && memcmp(sl->m->data, p, len) == 0))
			return 0;
	}
	struct member *m = NULL;
	if (s->nkept < s->max_kept && len <= UINT32_MAX) {
		m = xmalloc(sizeof(*m) + len);
		m->len = (uint32_t)len;
		memcpy(m->data, p, len);
		if (s->nkept == s->capkept) {
			s->capkept = s->capkept ? s->capkept * 2 : 4;
			s->kept = xreallocarray(s->kept, s->capkept,
						sizeof(*s->kept));
		}
		s->kept[s->nkept++] = m;
		s->bytes += sizeof(*m) + len + sizeof(*s->kept);
	}
	s->slots[j].hash = h;
	s->slots[j].m = m;
	s->count++;
	if (s->count * 2 > s->mask + 1)
		grow(s);
	return 1;
}

void
strset_foreach_hash(const struct strset *s,
		    void (*cb)(void *arg, uint64_t hash), void *arg)
{
	for (size_t i = 0; i <= s->mask; i++)
		if (s->slots[i].hash != 0 && s->slots[i].m == NULL)
			cb(arg, s->slots[i].hash);
}

int
strset_add_hash(struct strset *s, uint64_t h)
{
	size_t j;

	if (h == 0)
		h = 1;
	for (j = h & s->mask; s->slots[j].hash != 0; j = (j + 1) & s->mask)
		if (s->slots[j].hash == h)
			return 0;
	s->slots[j].hash = h;
	s->slots[j].m = NULL;
	s->count++;
	if (s->count * 2 > s->mask + 1)
		grow(s);
	return 1;
}

size_t
strset_count(const struct strset *s)
{
	return s->count;
}

size_t
strset_dropped(const struct strset *s)
{
	return s->count - s->nkept;
}

size_t
strset_kept(const struct strset *s)
{
	return s->nkept;
}

const char *
strset_get(const struct strset *s, size_t i, size_t *len)
{
	*len = s->kept[i]->len;
	return s->kept[i]->data;
}

size_t
strset_bytes(const struct strset *s)
{
	return s->bytes;
}
