/*
 * budget: one byte budget for the daemon's state.
 *
 * Everything that grows with what the inputs send (groups, their value
 * sets, agents and their tombstones, partial lines held for socket
 * clients) charges its bytes here, and releases them when freed.  The
 * budget does not refuse anything itself: its owners look at it and
 * make room (the window store evicts, the socket input drops the
 * largest client), counting what they give up.  `used` is exported as
 * a gauge, so an operator sees how close the limit is.
 *
 * The engine owns the one budget of a process; the window store and the
 * inputs borrow it.
 */
#ifndef BURSTD_BUDGET_H
#define BURSTD_BUDGET_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

struct budget {
	size_t max;  /* limits.max_state_bytes */
	size_t used; /* bytes charged now */
	size_t peak; /* the most ever charged at once */
};

static inline void
budget_charge(struct budget *b, size_t n)
{
	b->used += n;
	if (b->used > b->peak)
		b->peak = b->used;
}

static inline void
budget_release(struct budget *b, size_t n)
{
	assert(n <= b->used);
	b->used -= n;
}

/* Whether charging n more bytes would pass the limit. */
static inline bool
budget_over(const struct budget *b, size_t n)
{
	return b->used + n > b->max;
}

#endif
