/*
 * main: the command line.
 *
 *   burstd [-c FILE]                    run the daemon in the foreground
 *   burstd --replay [-c FILE] FILE...   replay NDJSON files ("-" is stdin)
 *   burstd --check-config -c FILE       validate a configuration (also -n)
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
    "usage: burstd [-c FILE]\n"
    "       burstd --replay [-c FILE] FILE...\n"
    "       burstd --check-config -c FILE\n"
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
    "                       built-in rule)\n"
    "  -n, --check-config   check the configuration and exit\n"
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
	/* A known letter is refused only as a long option given a value. */
	if (opt != 0 && strchr("rnhV", opt) != NULL && arg[n] == '=')
		usage_error("option %.*s takes no value", (int)n, arg);
	if (opt == 0 || !(opt > ' ' && opt < 0x7f))
		usage_error("unknown option %.*s", (int)n, arg);
	usage_error("unknown option -%c", opt);
}

/*
 * Loads the configuration, writing its errors to stderr one line at a
 * time with err_prefix.  Returns the conf or NULL.
 */
static struct conf *
load_conf(const char *path)
{
	char *errs = NULL, *p, *end, *nl;
	size_t errlen = 0;
	FILE *mem = open_memstream(&errs, &errlen);
	struct conf *c;

	if (mem == NULL)
		fatal("open_memstream");
	c = conf_load(path, mem);
	fclose(mem);
	for (p = errs, end = errs + errlen; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		fprintf(stderr, "%s%.*s\n", err_prefix, (int)(nl - p), p);
	}
	free(errs);
	return c;
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
	metrics_print(m, stderr);
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
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	bool do_replay = false, check = false;
	struct conf *conf;
	int ch, rc;

	log_init("burstd", LOG_LVL_INFO);
	if (!isatty(STDERR_FILENO))
		err_prefix = "<3>";
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "rc:nhV", longopts, NULL)) != -1) {
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
				   optopt == 'c' || optopt == 0 ||
					   strchr("rnhV", optopt) != NULL
				       ? argv[optind - 1]
				       : "-");
		}
	}
	argc -= optind;
	argv += optind;
	if (check && do_replay)
		usage_error("--check-config and --replay exclude each other");
	if (check) {
		if (config == NULL)
			usage_error("--check-config needs -c FILE");
		if (argc > 0)
			usage_error("--check-config takes no FILE");
		if ((conf = load_conf(config)) == NULL)
			return 1;
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
		if ((conf = load_conf(config)) == NULL)
			return 1;
		return daemon_run(config, conf);
	}
	if (argc == 0)
		usage_error("--replay needs at least one FILE (- for stdin)");
	if (config == NULL)
		conf = conf_default();
	else if ((conf = load_conf(config)) == NULL)
		return 1;
	log_set_level(conf->log_level);
	rc = replay(conf, argv, argc);
	conf_free(conf);
	return rc;
}
