/*
 * engine: the path from one NDJSON line to alerts.
 *
 *   line -> prefilter -> record parser -> each rule (esqlrule.h: its
 *        filter, window store and alert JSON) -> output callback
 *
 * The rules are the conf's (the built-in default when none is given).
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
 * did).  A rule compiled the same as one running (plan fingerprint and
 * rule_id) keeps its windows and state; running rules not kept are
 * flushed (their alerts emitted) and new ones start afresh.  Returns 1
 * if every rule kept its state, else 0.
 */
int engine_reload(struct engine *e, const struct conf *conf);

/* A framer_line_cb: processes one line (no newline). */
void engine_line(void *engine, const char *line, size_t len);

/* Live mode: the wall clock moved on (see window_tick()). */
void engine_tick(struct engine *e, int64_t now_ms);

/* Closes every open window (end of input). */
void engine_flush(struct engine *e);

/*
 * The rules running, in the configuration's order: engine_nrules() of
 * them; engine_rule() returns the i-th, owned by the engine, valid until
 * the next reload.
 */
size_t engine_nrules(const struct engine *e);
struct esqlrule *engine_rule(struct engine *e, size_t i);

/* One line per rule: its id, name and main counters. */
void engine_print_rules(struct engine *e, FILE *f);

/*
 * The window state, for a checkpoint: engine_save() appends every
 * rule's to out; engine_load() restores, into a fresh engine, the state
 * of each rule that is running with the same plan fingerprint and
 * rule_id (the others' is left out) and returns 0, -1 if the data is
 * malformed, or -2 if it is the retired built-in rule's window state
 * (from a version before the default became an ES|QL rule), which
 * cannot be restored.  After -1 or -2 rules may hold part of the state.
 */
void engine_save(const struct engine *e, struct buf *out);
int engine_load(struct engine *e, const char *data, size_t len);
/* A hash of the running rules' plan fingerprints and rule_ids. */
uint64_t engine_fingerprint(const struct engine *e);

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
