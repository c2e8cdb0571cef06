/*
 * metrics: names and printing of the counters declared in metrics.h.
 */
#include <inttypes.h>

#include "metrics.h"

static const char *const names[] = {
#define METRIC_NAME(name, help) #name,
    METRICS_FOREACH(METRIC_NAME)
#undef METRIC_NAME
};

static const char *const helps[] = {
#define METRIC_HELP(name, help) help,
    METRICS_FOREACH(METRIC_HELP)
#undef METRIC_HELP
};

const char *
metrics_name(enum metric m)
{
	return names[m];
}

const char *
metrics_help(enum metric m)
{
	return helps[m];
}

void
metrics_print(const struct metrics *m, FILE *f)
{
	for (int i = 0; i < M__COUNT; i++)
		fprintf(f, "%-22s %" PRIu64 "\n", names[i], m->v[i]);
}
