/*
 * daemon: the long-running service on one libuv loop.
 *
 * It owns the loop, the running conf (and the superseded ones that kept
 * inputs still borrow), the engine, the inputs, the sinks, the signal
 * handles and the one tick timer.  Data flows inputs -> engine -> sinks;
 * the tick drives idle window closing, periodic stats and the systemd
 * watchdog.  SIGHUP reloads the configuration (an invalid file leaves
 * the running one in place; window state survives when the rule is
 * unchanged) and reopens output files; SIGTERM and SIGINT stop: inputs
 * close, open windows are flushed, sinks drain what they can, every
 * handle closes and the loop must close cleanly; SIGUSR1 logs the
 * counters.
 */
#ifndef BURSTD_DAEMON_H
#define BURSTD_DAEMON_H

#include "conf.h"

/*
 * Runs until stopped.  Takes ownership of conf (loaded from path, which
 * SIGHUP reads again, its rules replaced by the files `rules` names
 * when there are any: --rule; borrowed for the daemon's life).  Returns
 * the process exit status.
 */
int
daemon_run(const char *path, struct conf *conf, const struct strlist *rules);

#endif
