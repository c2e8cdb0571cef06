/*
 * engine: the path from one NDJSON line to alerts.
 *
 *   line -> prefilter -> record parser -> rule filter -> @timestamp
 *        -> label -> window store -> alert JSON -> output callback
 *
 * Every line ends in exactly one counter of struct metrics.  The engine
 * borrows the conf (which must outlive it) and owns the rest.  Inputs
 * frame their bytes with a struct framer whose callback is engine_line.
 */
#ifndef BURSTD_ENGINE_H
#define BURSTD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "budget.h"
#include "conf.h"
#include "metrics.h"
#include "util.h"

struct engine;
struct esqlrule;

/* Receives one alert line (JSON and "\n"), borrowed for the call. */
typedef void engine_output_cb(void *arg, const char *json, size_t len);

/*
 * Returns an engine for conf.  With exact set, windows close only at
 * engine_flush() (replay of complete input); otherwise by watermark.
 */
struct engine *engine_new(const struct conf *conf, bool exact,
			  engine_output_cb *out, void *arg);
void engine_free(struct engine *e);

/*
 * Adopts a reloaded conf (which must outlive the engine, as the first
 * did).  If the rule is unchanged the windows and their state carry on;
 * otherwise the old windows are flushed (their alerts emitted) and the
 * new rule starts afresh.  Returns 1 if the state was kept, else 0.
 */
int engine_reload(struct engine *e, const struct conf *conf);

/* A framer_line_cb: processes one line (no newline). */
void engine_line(void *engine, const char *line, size_t len);

/* Live mode: the wall clock moved on (see window_tick()). */
void engine_tick(struct engine *e, int64_t now_ms);

/* Closes every open window (end of input). */
void engine_flush(struct engine *e);

/*
 * The ES|QL rules running, in the configuration's order: engine_nrules()
 * of them; engine_rule() returns the i-th, owned by the engine, valid
 * until the next reload.
 */
size_t engine_nrules(const struct engine *e);
struct esqlrule *engine_rule(struct engine *e, size_t i);

/* One line per ES|QL rule: its id, name and main counters. */
void engine_print_rules(struct engine *e, FILE *f);

/*
 * The window state, for a checkpoint: engine_save() appends it to out;
 * engine_load() restores it into a fresh engine with the same rule and
 * returns 0, or -1 if the data is malformed (nothing restored).
 */
void engine_save(const struct engine *e, struct buf *out);
int engine_load(struct engine *e, const char *data, size_t len);

struct metrics *engine_metrics(struct engine *e);
/* The state byte budget (limits.max_state_bytes), owned by the engine. */
struct budget *engine_budget(struct engine *e);
/* Groups held now (open, and closed ones kept for late events). */
size_t engine_groups(const struct engine *e);
/* window_oldest_newest() of the engine's store. */
int64_t engine_oldest_newest(const struct engine *e);
/* Aborts if the window store's invariants do not hold (window_check()). */
void engine_check(const struct engine *e);
/* Overrides the alert @timestamp clock (tests); 0 restores real time. */
void engine_set_clock(struct engine *e, int64_t now_ms);

#endif
