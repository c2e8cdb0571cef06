/*
 * checkpoint: the daemon's state on disk, so that a restart resumes where
 * the last checkpoint left off: no event counted twice, none skipped,
 * every alert delivered at least once.
 *
 * A checkpoint holds, taken at one instant of the loop: the committed
 * position of every followed file, the alert lines still waiting in each
 * sink, and the whole window state.  The waiting alerts are not in the
 * checkpoint file itself but spooled apart, one file per sink,
 * DIR/pending.<gen>.<n>, named by the checkpoint's generation and
 * referenced from DIR/checkpoint with their size and checksum.  Every
 * file is written through a temporary (O_EXCL|O_NOFOLLOW), fsync, rename
 * and an fsync of DIR, the spool files before the checkpoint that names
 * them, so the checkpoint on disk is always complete, old or new, and so
 * are the files it names; older generations are removed only after the
 * new checkpoint is durable.  A checksum guards against anything else.
 * The window state is only restored under the rule it was saved with
 * (its fingerprint is in the file).
 *
 * A corrupt checkpoint is kept aside as DIR/checkpoint.corrupt-<epoch
 * seconds> for inspection, never read again nor overwritten, with the
 * spool files that were beside it (DIR/checkpoint.corrupt-<s>.pending.*).
 *
 * DIR/lock is flock()ed for the life of the process that owns DIR, so
 * that two daemons never share a state directory.
 *
 * The caller owns a struct checkpoint; checkpoint_clear() frees what it
 * holds and leaves it empty.
 */
#ifndef BURSTD_CHECKPOINT_H
#define BURSTD_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input.h"
#include "util.h"

struct checkpoint_sink {
	char *name;       /* sink_name() of the sink (owned) */
	struct buf lines; /* its waiting alert lines, each ending in "\n" */
	bool lost;        /* load: its spool was missing or corrupt */
};

struct checkpoint {
	uint64_t fingerprint;       /* the rule's fingerprint */
	int64_t saved_ms;           /* wall clock (epoch ms) when taken */
	uint64_t gen;               /* generation, names the spool files */
	struct input_position *pos; /* followed files' positions */
	char **paths;               /* their paths, for logs (owned) */
	size_t npos;
	struct checkpoint_sink *sinks; /* waiting alerts, per sink */
	size_t nsinks;
	struct buf window; /* window_save() bytes */
	bool corrupt;      /* load: the file was corrupt and kept
				       * aside (everything else empty) */
};

/* Adds a position (copies path). */
void checkpoint_add_position(struct checkpoint *cp, const char *path,
			     const struct input_position *pos);
/* Adds a sink and returns its entry, to which lines are appended. */
struct checkpoint_sink *
checkpoint_add_sink(struct checkpoint *cp, const char *name);

/*
 * Writes cp to dir atomically: the spool files of generation cp->gen,
 * then the checkpoint, then removes the spool files of other
 * generations.  Sets *bytes (if not NULL) to the bytes written.  Returns
 * 0, or -1 after logging why (the previous checkpoint stays in force).
 */
int
checkpoint_save(const char *dir, const struct checkpoint *cp, uint64_t *bytes);
/*
 * Reads dir's checkpoint into an empty cp, waiting alerts included.
 * Returns 0, 1 if there is none, or -1 (logged, cp left empty) if it is
 * unreadable or corrupt; a corrupt one is renamed aside and cp->corrupt
 * set.  A spool file that is missing or corrupt loses only that sink's
 * waiting alerts: logged, its entry marked `lost`, and 0 is returned.
 */
int checkpoint_load(const char *dir, struct checkpoint *cp);
void checkpoint_clear(struct checkpoint *cp);

/*
 * Takes the lock on dir (DIR/lock, flock, pid written inside), waiting
 * up to wait_ms for a holder that is going away.  Returns the descriptor
 * to keep open for as long as the lock is held, or -1 after logging why
 * (another daemon holds it, or the file cannot be opened).
 */
int checkpoint_lock(const char *dir, int wait_ms);

#endif
