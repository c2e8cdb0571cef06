/*
 * main: the command line.
 *
 *   burstd [-c FILE]                    run the daemon in the foreground
 *   burstd --replay [-c FILE] FILE...   replay NDJSON files ("-" is stdin)
 *   burstd --check-config -c FILE       validate a configuration (also -n)
 *   burstd --explain [-c FILE] [--rule FILE]...
 *                                       print the compiled rules
 *   burstd --help | --version
 *
 * Replay reads each input to its end in large blocks, frames and
 * evaluates every line, closes every window, writes alerts to stdout and
 * a summary of the counters to stderr.  Exit status: 0 done, 1 a file or
 * the configuration could not be read, 2 usage error.
 *
 * Usage and configuration errors go to stderr with a journald "<N>"
 * priority prefix, as the daemon's log, when stderr is not a terminal
 * (under systemd, ExecStartPre's --check-config and a failed start write
 * to the journal); on a terminal they are bare.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "framer.h"
#include "log.h"
#include "util.h"

#define READ_BLOCK (1 << 20)
#define DEFAULT_CONFIG BURSTD_CONFIG

static const char usage_text[] =
    "usage: burstd [-c FILE] [--rule RULE]... [--alert-on MODE]\n"
    "       burstd --replay [-c FILE] [--rule RULE]... [--alert-on MODE] "
    "FILE...\n"
    "       burstd --check-config -c FILE [--rule RULE]... [--alert-on "
    "MODE]\n"
    "       burstd --explain [-c FILE] [--rule RULE]... [--alert-on MODE]\n"
    "       burstd --help | --version\n"
    "\n"
    "  (no mode)            run the daemon in the foreground: inputs,\n"
    "                       windows and sinks as configured; SIGHUP\n"
    "                       reloads, SIGTERM stops, SIGUSR1 logs counters\n"
    "  -r, --replay         read FILEs (- is stdin) to the end, print the\n"
    "                       alerts as NDJSON on stdout and the counters on\n"
    "                       stderr\n"
    "  -c, --config FILE    YAML configuration (the daemon's default is\n"
    "                       " DEFAULT_CONFIG "; --replay's is the\n"
    "                       built-in one, whose rule is the default:\n"
    "                       Suspicious Python Shell Command Execution)\n"
    "  -n, --check-config   check the configuration and exit\n"
    "  -R, --rule RULE      run this ES|QL rule (a detection-rules .toml\n"
    "                       or an .esql file, or a glob of them) instead\n"
    "                       of the configuration's rules; repeatable\n"
    "  -e, --explain        print what each rule compiles to (fields\n"
    "                       read, prefilter, window, columns) or why it\n"
    "                       is refused, and exit\n"
    "  -a, --alert-on MODE  threshold or close: when every ES|QL rule\n"
    "                       alerts, over window.alert_on and the rules'\n"
    "                       own (--replay's default is close)\n"
    "  -h, --help           show this help\n"
    "  -V, --version        show the version\n";

/* "<3>" when stderr is not a terminal, else "". */
static const char *err_prefix = "";

static _Noreturn void
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%sburstd: ", err_prefix);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try --help)\n");
	exit(2);
}

/* What getopt refused: opt is optopt, arg the argument it was in. */
static _Noreturn void
bad_option(int opt, const char *arg)
{
	size_t n = strcspn(arg, "=");

	if (opt == 'c')
		usage_error("option %s needs a FILE",
			    strncmp(arg, "--", 2) == 0 ? "--config" : "-c");
	if (opt == 'R')
		usage_error("option %s needs a RULE file",
			    strncmp(arg, "--", 2) == 0 ? "--rule" : "-R");
	if (opt == 'a')
		usage_error("option %s needs threshold or close",
			    strncmp(arg, "--", 2) == 0 ? "--alert-on" : "-a");
	/* A known letter is refused only as a long option given a value. */
	if (opt != 0 && strchr("rnehV", opt) != NULL && arg[n] == '=')
		usage_error("option %.*s takes no value", (int)n, arg);
	if (opt == 0 || !(opt > ' ' && opt < 0x7f))
		usage_error("unknown option %.*s", (int)n, arg);
	usage_error("unknown option -%c", opt);
}

/*
 * Loads the configuration (the built-in one when path is NULL), with the
 * --rule files instead of its rules when there are any, writing its
 * errors to stderr one line at a time with err_prefix.  Returns the conf
 * or NULL.
 */
static enum alert_on alert_on_force = ALERT_ON_UNSET;

static struct conf *
load_conf(const char *path, const struct strlist *rules)
{
	char *errs = NULL, *p, *end, *nl;
	size_t errlen = 0;
	FILE *mem = open_memstream(&errs, &errlen);
	struct conf *c;

	if (mem == NULL)
		fatal("open_memstream");
	c = path != NULL ? conf_load(path, mem) : conf_default();
	if (c != NULL && rules->n > 0 && conf_set_rules(c, rules, mem) < 0) {
		conf_free(c);
		c = NULL;
	}
	if (c != NULL)
		c->alert_on_force = alert_on_force;
	fclose(mem);
	for (p = errs, end = errs + errlen; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		fprintf(stderr, "%s%.*s\n", err_prefix, (int)(nl - p), p);
	}
	free(errs);
	return c;
}

/* The mode a rule runs in and why, one line. */
static void
print_mode(const struct conf *c, const struct loaded_rule *lr)
{
	const char *how, *why;

	(void)ruleset_alerts_early(lr, c->alert_on, c->alert_on_force, &how,
				   &why);
	printf("  %s (%s)\n", how, why != NULL ? why : "");
}

/* --check-config: the rules the configuration runs, and how. */
static void
describe_rules(const struct conf *c)
{
	for (size_t i = 0; i < c->rules.n; i++) {
		const struct loaded_rule *lr = &c->rules.v[i];
		const struct esql_plan *p = lr->plan;
		if (p->shape == ESQL_SHAPE_FILTER)
			printf("rule %s \"%s\" (%s): filter\n",
			       lr->alert.rule_id, lr->alert.name, lr->source);
		else
			printf("rule %s \"%s\" (%s): windows of %" PRId64
			       " ms\n",
			       lr->alert.rule_id, lr->alert.name, lr->source,
			       p->span_ms);
		print_mode(c, lr);
	}
}

/*
 * --explain: each rule on its own, so that one refusal does not hide
 * the others.  Returns 0 when every rule compiles, else 1.
 */
static int
explain_rules(const char *config, const struct strlist *paths)
{
	struct conf *c = NULL;
	struct strlist one = {0};
	struct buf out = {0};
	int rc = 0;

	if (paths->n == 0) {
		if ((c = load_conf(config, paths)) == NULL)
			return 1;
	} else {
		c = load_conf(config, &one);
		if (c == NULL)
			return 1;
		for (size_t i = 0; i < paths->n; i++) {
			struct ruleset rs = {0};
			char *errs = NULL;
			size_t errlen = 0;
			FILE *mem = open_memstream(&errs, &errlen);
			if (mem == NULL)
				fatal("open_memstream");
			if (ruleset_add_path(&rs, paths->v[i], mem) < 0)
				rc = 1;
			fclose(mem);
			if (errlen > 0)
				printf("%s: refused\n%.*s", paths->v[i],
				       (int)errlen, errs);
			free(errs);
			for (size_t k = 0; k < rs.n; k++) {
				out.len = 0;
				esql_plan_explain(rs.v[k].plan, &out);
				printf("rule %s \"%s\" (%s)\n%.*s",
				       rs.v[k].alert.rule_id,
				       rs.v[k].alert.name, rs.v[k].source,
				       (int)out.len, out.data);
				print_mode(c, &rs.v[k]);
				printf("\n");
			}
			ruleset_free(&rs);
		}
		conf_free(c);
		buf_free(&out);
		return rc;
	}
	for (size_t k = 0; k < c->rules.n; k++) {
		out.len = 0;
		esql_plan_explain(c->rules.v[k].plan, &out);
		printf("rule %s \"%s\" (%s)\n%.*s", c->rules.v[k].alert.rule_id,
		       c->rules.v[k].alert.name, c->rules.v[k].source,
		       (int)out.len, out.data);
		print_mode(c, &c->rules.v[k]);
		printf("\n");
	}
	conf_free(c);
	buf_free(&out);
	return rc;
}

static void
write_stdout(void *arg, const char *json, size_t len)
{
	(void)arg;
	if (fwrite(json, 1, len, stdout) != len)
		fatal("stdout");
}

/* Feeds one file through the framer; returns 0, or -1 on a read error. */
static int
replay_file(const char *path, struct framer *fr, struct metrics *m, char *block)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		log_warn("%s", path);
		return -1;
	}
#ifdef POSIX_FADV_SEQUENTIAL
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	while ((n = read(fd, block, READ_BLOCK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("%s: read", path);
			break;
		}
		m->v[M_bytes_read] += (uint64_t)n;
		framer_feed(fr, block, (size_t)n);
	}
	framer_finish(fr);
	if (fd != STDIN_FILENO)
		close(fd);
	return n < 0 ? -1 : 0;
}

static int
replay(const struct conf *conf, char **files, int nfiles)
{
	struct engine *e =
	    engine_new(conf, conf->replay_exact, write_stdout, NULL);
	struct metrics *m = engine_metrics(e);
	struct framer *fr = framer_new(conf->max_line_bytes, engine_line, e, m);
	char *block = xmalloc(READ_BLOCK);
	int rc = 0;

	for (int i = 0; i < nfiles; i++)
		if (replay_file(files[i], fr, m, block) < 0)
			rc = 1;
	engine_flush(e);
	if (fflush(stdout) != 0)
		fatal("stdout");
	fprintf(stderr, "burstd: replay summary\n");
	metrics_print(engine_metrics(e), stderr);
	engine_print_rules(e, stderr);
	free(block);
	framer_free(fr);
	engine_free(e);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"replay", no_argument, NULL, 'r'},
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'n'},
	    {"rule", required_argument, NULL, 'R'},
	    {"explain", no_argument, NULL, 'e'},
	    {"alert-on", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	bool do_replay = false, check = false, explain = false;
	struct strlist rules = {0};
	struct conf *conf;
	int ch, rc;

	log_init("burstd", LOG_LVL_INFO);
	if (!isatty(STDERR_FILENO))
		err_prefix = "<3>";
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "rc:nR:ea:hV", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'r':
			do_replay = true;
			break;
		case 'c':
			config = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'R':
			strlist_add(&rules, optarg);
			break;
		case 'e':
			explain = true;
			break;
		case 'a':
			if (ruleset_alert_on_parse(optarg, &alert_on_force) < 0)
				usage_error("--alert-on: expected threshold or "
					    "close, got \"%s\"",
					    optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("burstd %s\n", BURSTD_VERSION);
			return 0;
		default:
			/* After a short option, argv[optind - 1] may be the
			 * one before it; only a long option's text is used. */
			bad_option(optopt,
				   optopt == 'c' || optopt == 'R' ||
					   optopt == 'a' || optopt == 0 ||
					   strchr("rnehV", optopt) != NULL
				       ? argv[optind - 1]
				       : "-");
		}
	}
	argc -= optind;
	argv += optind;
	if (check + do_replay + explain > 1)
		usage_error("--check-config, --replay and --explain exclude "
			    "each other");
	if (explain) {
		if (argc > 0)
			usage_error("--explain takes no FILE");
		return explain_rules(config, &rules);
	}
	if (check) {
		if (config == NULL)
			usage_error("--check-config needs -c FILE");
		if (argc > 0)
			usage_error("--check-config takes no FILE");
		if ((conf = load_conf(config, &rules)) == NULL)
			return 1;
		describe_rules(conf);
		printf("configuration OK\n");
		conf_free(conf);
		return 0;
	}
	if (!do_replay) {
		if (argc > 0)
			usage_error("the daemon takes no FILE (did you mean "
				    "--replay?)");
		if (config == NULL)
			config = DEFAULT_CONFIG;
		if ((conf = load_conf(config, &rules)) == NULL)
			return 1;
		return daemon_run(config, conf, &rules);
	}
	if (argc == 0)
		usage_error("--replay needs at least one FILE (- for stdin)");
	/* The batch query's output unless asked otherwise. */
	if (alert_on_force == ALERT_ON_UNSET)
		alert_on_force = ALERT_ON_CLOSE;
	if ((conf = load_conf(config, &rules)) == NULL)
		return 1;
	log_set_level(conf->log_level);
	rc = replay(conf, argv, argc);
	conf_free(conf);
	strlist_clear(&rules);
	return rc;
}
