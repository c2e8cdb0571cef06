/*
 * input: where events come from.  Backends (input_int.h ops): file
 * (glob patterns, tailing with rotation and truncation handling), unix
 * (a listening stream socket, many clients), stdin.  Every source of
 * bytes has its own struct framer whose line callback is engine_line, so
 * a partial line from one file or client never mixes with another's.
 * Inputs count bytes into the engine's metrics (bytes_read) and their
 * own events (files opened, rotations, truncations, clients, errors) in
 * struct input_stats.
 *
 * An input owns its handles and framers; it borrows the loop, the conf
 * and the engine, which must outlive it.  input_close() stops reading,
 * passes held partial lines nowhere (they are counted as dropped
 * partials), closes every handle and calls back; then it is freed.
 *
 * Checkpoints.  A file input reports where each followed file stands
 * (input_positions()) and, restarted, resumes from such positions
 * (input_set_resume()).  A position is keyed by (dev, inode) and carries
 * a hash of the bytes before it, so a file whose inode was reused, or
 * that was rewritten in place, is not resumed in the middle.
 */
#ifndef BURSTD_INPUT_H
#define BURSTD_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "engine.h"

struct input;

#define INPUT_POSITION_HASH_MAX 64 /* bytes hashed before an offset */
#define INPUT_MAX_RESUME 65536     /* positions input_set_resume() keeps */
#define INPUT_MAX_FILES 1024       /* files one file input follows, open */

struct input_stats {
	uint64_t files_opened;    /* file: files opened for tailing */
	uint64_t rotations;       /* file: detached files closed once idle */
	uint64_t closed_early;    /* file: of those, closed before idle:
	                           * too many detached files open */
	uint64_t truncations;     /* file: truncated or rewritten: restarted */
	uint64_t open_errors;     /* file: open or read failures (retried) */
	uint64_t clients;         /* unix: clients accepted */
	uint64_t clients_refused; /* unix: over max_clients, or no descriptor */
	uint64_t partial_dropped; /* partial lines lost at close/disconnect */
	uint64_t clients_idle;    /* unix: closed, silent for idle_timeout */
	uint64_t clients_over_buffer; /* unix: dropped, partial lines over
	                           * max_buffer_bytes or the state budget */
	uint64_t accept_errors;       /* unix: accept failures (EMFILE, ...) */
	uint64_t clients_connected;   /* unix: gauge, clients connected now */
	uint64_t buffer_bytes;        /* unix: gauge, bytes held for partial
	                           * lines (charged to the state budget) */
};

/*
 * A committed position in a followed file: every line before `offset`
 * has been handed to the engine (a held partial line is not committed).
 * tail_hash is XXH3_64bits of the up to 64 bytes just before offset
 * (0 and tail_len 0 when offset is 0), so a resumed inode that was reused
 * for another file is recognised.
 */
struct input_position {
	uint64_t dev;       /* st_dev */
	uint64_t ino;       /* st_ino */
	uint64_t offset;    /* committed offset */
	uint64_t tail_hash; /* hash of the bytes before offset */
	uint32_t tail_len;  /* how many bytes were hashed (<= 64) */
};

typedef void input_closed_cb(void *arg);
/* path and pos are borrowed, valid during the call only. */
typedef void input_position_cb(void *arg, const char *path,
			       const struct input_position *pos);

struct input *input_new(uv_loop_t *loop, const struct input_conf *ic,
			const struct conf *conf, struct engine *engine);
/* Starts reading; returns 0, or -1 after logging why. */
int input_start(struct input *in);
void input_close(struct input *in, input_closed_cb *cb, void *arg);
const struct input_stats *input_stats(const struct input *in);
/* Lines the input handed to the engine and bytes it read, so far. */
void input_counts(const struct input *in, uint64_t *lines, uint64_t *bytes);
/*
 * Reports the committed position of every followed file (file inputs;
 * others report nothing), detached ones included, under the name they
 * were last found by.  The bytes before each offset are read (pread) now;
 * a file where that fails is left out and the failure logged.  cb must
 * not close the input.
 */
void input_positions(const struct input *in, input_position_cb *cb, void *arg);
/*
 * Before input_start(): positions to resume from (copied; at most
 * INPUT_MAX_RESUME, the rest are dropped and logged; a later call
 * replaces them).  A file the start scan finds whose (dev, ino) is
 * listed, whose size is at least offset and whose bytes before offset
 * hash to tail_hash is read from offset; a listed file that fails a
 * check is logged and read like an unlisted one: from 0 if it changed
 * (mtime or ctime) since saved_ms less a margin, or saved_ms is 0, else
 * from its end.  A listed file no pattern matches any more but that is
 * still in a pattern's directory (rotated while stopped) is read on from
 * its offset, as are, from 0, unlisted rotated forms of matched names
 * written since saved_ms.  Files that appear later are read from 0 as
 * before.  The list may hold the positions of many inputs: each uses
 * those of the files it finds, and of two entries for one (dev, ino) the
 * lower offset, since reading a line twice is better than losing it.
 * Inputs other than file ignore the positions.  After input_start() it
 * logs and does nothing.
 *
 * saved_ms is the wall-clock time (epoch ms) the positions were taken,
 * or 0 when a checkpoint existed but could not be read (no positions).
 * A call at all means a restart: start_at applies only to a first start,
 * when this is never called.
 */
void input_set_resume(struct input *in, const struct input_position *pos,
		      size_t n, int64_t saved_ms);
bool input_conf_equal(const struct input_conf *a, const struct input_conf *b);

#endif
