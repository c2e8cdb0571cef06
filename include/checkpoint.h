/*
 * checkpoint: the daemon's state on disk, so that a restart resumes where
 * the last checkpoint left off: no event counted twice, none skipped,
 * every alert delivered at least once.
 *
 * A checkpoint holds, taken at one instant of the loop: the committed
 * position of every followed file, the alert lines still waiting in each
 * sink, and the whole window state.  It is written to DIR/checkpoint
 * through a temporary file, fsync, rename and an fsync of DIR, so the
 * file on disk is always a complete checkpoint, old or new; a checksum
 * guards against anything else.  The window state is only restored under
 * the rule it was saved with (its fingerprint is in the file).
 *
 * The caller owns a struct checkpoint; checkpoint_clear() frees what it
 * holds and leaves it empty.
 */
#ifndef BURSTD_CHECKPOINT_H
#define BURSTD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "input.h"
#include "util.h"

struct checkpoint_sink {
	char *name;        /* sink_name() of the sink (owned) */
	struct buf lines;  /* its waiting alert lines, each ending in "\n" */
};

struct checkpoint {
	uint64_t fingerprint;         /* the rule's fingerprint */
	int64_t saved_ms;             /* wall clock (epoch ms) when taken */
	struct input_position *pos;   /* followed files' positions */
	char **paths;                 /* their paths, for logs (owned) */
	size_t npos;
	struct checkpoint_sink *sinks; /* waiting alerts, per sink */
	size_t nsinks;
	struct buf window;            /* window_save() bytes */
};

/* Adds a position (copies path). */
void checkpoint_add_position(struct checkpoint *cp, const char *path,
    const struct input_position *pos);
/* Adds a sink and returns its entry, to which lines are appended. */
struct checkpoint_sink *checkpoint_add_sink(struct checkpoint *cp,
    const char *name);

/* Writes cp to dir atomically.  Returns 0, or -1 after logging why. */
int checkpoint_save(const char *dir, const struct checkpoint *cp);
/*
 * Reads dir's checkpoint into an empty cp.  Returns 0, 1 if there is
 * none, or -1 (logged, cp left empty) if it is unreadable or corrupt.
 */
int checkpoint_load(const char *dir, struct checkpoint *cp);
void checkpoint_clear(struct checkpoint *cp);

#endif
