/*
 * fuzz_conf: conf_load() on arbitrary bytes.
 *
 * The input is written to a temporary file (conf_load() takes a path) and
 * loaded with the errors written to a memory stream, which must hold
 * something exactly when the load fails, starting "FILE:LINE: " with
 * LINE >= 1.  A configuration that loads must also be usable: an engine
 * is built from it, in both modes, and fed a few events, so that a value
 * the checks let through cannot stop the daemon at start or corrupt it
 * later.
 */
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "framer.h"
#include "fuzz.h"

/* Events of the default rule's shape: six command kinds in a minute. */
#define EV(ts, cmd)                                                            \
	"{\"@timestamp\":\"2024-05-01T10:00:" ts                               \
	"Z\",\"agent\":{\"id\":\"a1\"},"                                       \
	"\"host\":{\"name\":\"h\",\"os\":{\"type\":\"linux\"}},"               \
	"\"event\":{\"type\":[\"start\"],\"action\":\"exec\","                 \
	"\"dataset\":\"endpoint.events.process\"},"                            \
	"\"data_stream\":{\"namespace\":\"default\"},"                         \
	"\"process\":{\"name\":\"sh\",\"args\":[\"sh\",\"-c\",\"" cmd "\"],"   \
	"\"command_line\":\"sh -c " cmd "\",\"parent\":{\"name\":\"python3\"," \
	"\"entity_id\":\"p1\"}}}\n"

static const char events[] = EV("01", "id; whoami") EV("07", "uname -a")
    EV("13", "grep -r key /etc") EV("19", "find / -name id_rsa")
	EV("25", "curl -s http://x/y") EV("31", "env | sort") EV(
	    "37",
	    "wget -q http://x/z") "not json\n{\"@timestamp\":1714557600000}\n";

static char tmp_path[64];
static int tmp_fd = -1;

static void
remove_tmp(void)
{
	if (tmp_fd >= 0)
		unlink(tmp_path);
}

static void
discard_cb(void *arg, const char *json, size_t len)
{
	size_t *n = arg;

	FUZZ_CHECK(len > 0 && json[len - 1] == '\n');
	(*n)++;
}

/*
 * The errors must begin "PATH:LINE: " with LINE >= 1 and end in a newline.
 * (Only the first is parsed: a message may quote a value that holds a
 * newline of its own.)
 */
static void
check_errors(const char *buf, size_t len)
{
	size_t plen = strlen(tmp_path);
	const char *q = buf + plen, *end = buf + len;
	unsigned long line = 0;

	FUZZ_CHECK(buf[len - 1] == '\n');
	FUZZ_CHECK(len > plen + 3 && memcmp(buf, tmp_path, plen) == 0);
	FUZZ_CHECK(*q == ':');
	for (q++; q < end && *q >= '0' && *q <= '9'; q++)
		line = line * 10 + (unsigned long)(*q - '0');
	FUZZ_CHECK(line >= 1);
	FUZZ_CHECK(end - q >= 2 && q[0] == ':' && q[1] == ' ');
}

static void
use(const struct conf *c)
{
	for (int exact = 0; exact <= 1; exact++) {
		size_t alerts = 0;
		struct engine *e = engine_new(c, exact, discard_cb, &alerts);
		struct framer *fr = framer_new(c->max_line_bytes, engine_line,
					       e, engine_metrics(e));

		engine_set_clock(e, 1);
		framer_feed(fr, events, sizeof(events) - 1);
		framer_finish(fr);
		engine_flush(e);
		/* A document per alert, and a final one per group that
		 * alerted early and changed before its close. */
		FUZZ_CHECK(engine_metrics(e)->v[M_alerts] +
			       engine_metrics(e)->v[M_alerts_final] ==
			   alerts);
		framer_free(fr);
		engine_free(e);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *errf;

	if (tmp_fd < 0) {
		const char *dir = getenv("TMPDIR");
		snprintf(tmp_path, sizeof(tmp_path), "%s/fuzz_conf.XXXXXX",
			 dir != NULL && strlen(dir) < 32 ? dir : "/tmp");
		if ((tmp_fd = mkstemp(tmp_path)) < 0)
			abort();
		atexit(remove_tmp);
	}
	if (ftruncate(tmp_fd, 0) < 0 ||
	    (size > 0 && pwrite(tmp_fd, data, size, 0) != (ssize_t)size))
		abort();
	if ((errf = open_memstream(&errs, &errlen)) == NULL)
		abort();

	c = conf_load(tmp_path, errf);
	fclose(errf);
	if (c == NULL) {
		FUZZ_CHECK(errlen > 0);
		check_errors(errs, errlen);
	} else {
		FUZZ_CHECK(errlen == 0);
		FUZZ_CHECK(c->rules.n > 0);
		use(c);
	}
	conf_free(c);
	free(errs);
	return 0;
}
