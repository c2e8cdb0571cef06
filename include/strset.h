/*
 * strset: a set of byte strings that counts distinct members exactly and
 * keeps at most `max_kept` of them.
 *
 * Members up to the cap are stored (copied) and compared byte for byte.
 * Past the cap a member is remembered only by its 64-bit hash: it still
 * counts toward strset_count(), its bytes are dropped and counted by
 * strset_dropped().  The set owns its copies.
 */
#ifndef BURSTD_STRSET_H
#define BURSTD_STRSET_H

#include <stddef.h>
#include <stdint.h>

struct strset;

struct strset *strset_new(size_t max_kept);
void strset_free(struct strset *s);

/* Returns 1 if the member is new, 0 if it was already in the set. */
int strset_add(struct strset *s, const char *p, size_t len);
/* Distinct members ever added. */
size_t strset_count(const struct strset *s);
/* Members whose bytes were not kept because of the cap. */
size_t strset_dropped(const struct strset *s);
/* Members kept, and the i-th of them (in insertion order). */
size_t strset_kept(const struct strset *s);
const char *strset_get(const struct strset *s, size_t i, size_t *len);
/*
 * Members remembered by their hash only (past the cap), for saving a set:
 * calls cb(arg, hash) for each.
 */
void strset_foreach_hash(const struct strset *s,
			 void (*cb)(void *arg, uint64_t hash), void *arg);
/*
 * Restores a member saved by its hash only.  Returns 1 if it was new, 0
 * if the set already had a member with that hash.
 */
int strset_add_hash(struct strset *s, uint64_t hash);

/* Bytes of memory the set holds, for accounting. */
size_t strset_bytes(const struct strset *s);

#endif
