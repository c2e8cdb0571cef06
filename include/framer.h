/*
 * framer: splits a byte stream into NDJSON lines.
 *
 * Bytes arrive in chunks of any size; each complete line is handed to the
 * callback once, without its "\n" or a trailing "\r".  Lines that lie
 * wholly inside a chunk are passed in place, with no copy; only a line
 * that straddles chunks is assembled in the framer's own buffer, which
 * never holds more than max_line + 1 bytes (a line and its "\r").  A longer line is skipped to its end
 * and counted (lines_too_long); the stream goes on.  Blank lines (only
 * spaces, tabs and "\r") are counted and ignored.  framer_finish() passes
 * a last line that has no newline.
 *
 * The framer owns its carry buffer; the line passed to the callback is
 * borrowed and valid only during the call.
 */
#ifndef BURSTD_FRAMER_H
#define BURSTD_FRAMER_H

#include <stddef.h>

#include "metrics.h"

struct framer;

typedef void framer_line_cb(void *arg, const char *line, size_t len);

/* Returns a new framer; metrics (borrowed) receives the line counters. */
struct framer *framer_new(size_t max_line, framer_line_cb *cb, void *arg,
			  struct metrics *metrics);
void framer_free(struct framer *fr);

void framer_feed(struct framer *fr, const char *data, size_t len);
/* End of stream: passes a held partial line, if any, and resets. */
void framer_finish(struct framer *fr);
/* Drops a held partial line without passing it (the stream restarted). */
void framer_reset(struct framer *fr);
/* Bytes of an incomplete line currently held. */
size_t framer_pending(const struct framer *fr);
/*
 * Bytes the framer has allocated for held lines: what a budget charges.
 * At most 4 KiB once no line is held.
 */
size_t framer_footprint(const struct framer *fr);

#endif
