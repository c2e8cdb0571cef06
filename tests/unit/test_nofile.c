/*
 * nofile: the descriptors a configuration may need grow with each unix
 * input's max_clients, each file input, each sink and the stats socket;
 * nofile_ensure() raises the soft limit to a need within the hard limit,
 * stops at the hard limit beyond it, and never lowers it.
 */
#include <stdlib.h>
#include <sys/resource.h>

#include "check.h"
#include "conf.h"
#include "input.h"
#include "nofile.h"
#include "stats.h"

static size_t
need_with(struct conf *c, struct input_conf *in, size_t n)
{
	c->inputs = in;
	c->ninputs = n;
	return nofile_need(c);
}

static void
test_need(void)
{
	struct conf *c = conf_default();
	struct input_conf in[2] = {conf_input_default(INPUT_UNIX),
				   conf_input_default(INPUT_FILE)};
	size_t one, more, both, stats;

	in[0].max_clients = 100;
	one = need_with(c, in, 1);
	CHECK(one > 100);
	in[0].max_clients = 1100;
	more = need_with(c, in, 1);
	CHECK_EQ_INT(more - one, 1000);
	both = need_with(c, in, 2);
	CHECK(both - more > INPUT_MAX_FILES);
	c->stats_socket = "/run/x.sock";
	stats = need_with(c, in, 2);
	CHECK(stats - both > STATS_MAX_CLIENTS);
	c->stats_socket = NULL;
	c->inputs = NULL;
	c->ninputs = 0;
	conf_free(c);
}

static rlim_t
soft(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

static void
test_ensure(void)
{
	struct rlimit rl, low;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 512) {
		fprintf(stderr, "hard limit %ju too low to test\n",
			(uintmax_t)rl.rlim_max);
		return;
	}
	low = (struct rlimit){.rlim_cur = 64, .rlim_max = 512};
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	CHECK_EQ_INT(nofile_ensure(300), 300);
	CHECK_EQ_INT(soft(), 300);
	CHECK_EQ_INT(nofile_ensure(100), 300); /* never lowered */
	CHECK_EQ_INT(soft(), 300);
	CHECK_EQ_INT(nofile_ensure(5000), 512); /* the hard limit */
	CHECK_EQ_INT(soft(), 512);
}

int
main(void)
{
	test_need();
	test_ensure();
	return check_exit();
}
