/*
 * alert: the document for a hand-built alert: every column, null keys
 * left out, value sets sorted byte-wise and always arrays, strings
 * escaped, the uuid's form and what it depends on.
 */
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "alert.h"
#include "check.h"
#include "conf.h"

static yajl_val
get(yajl_val doc, const char *key, yajl_type t)
{
	const char *path[] = {key, NULL};

	return yajl_tree_get(doc, path, t);
}

static const char *
str(yajl_val v)
{
	const char *s = YAJL_IS_STRING(v) ? v->u.string : NULL;

	return s != NULL ? s : "(none)";
}

int
main(void)
{
	struct conf *conf = conf_default();
	struct strset *sets[RULE_MAX_VALUES];
	struct alert a = {0};
	struct buf out = {0};
	char errbuf[256], uuid1[37], uuid2[37];
	yajl_val doc, v;

	for (size_t i = 0; i < conf->rule->nvalues; i++)
		sets[i] = strset_new(10);
	strset_add(sets[0], "sh -c \"b\"\n", 10);
	strset_add(sets[0], "sh -c a", 7);
	strset_add(sets[0], "sh -c \xc3\xa9", 8);
	strset_add(sets[1], "h", 1);
	a.rule = conf->rule;
	a.window_ms = INT64_C(1714564800000);
	a.key[0] = (struct alert_key){NULL, 0};   /* null entity id */
	a.key[1] = (struct alert_key){"ag", 2};
	a.key[2] = (struct alert_key){"h", 1};
	a.distinct = 7;
	a.labels = 0x13; /* three labels */
	for (size_t i = 0; i < conf->rule->nvalues; i++)
		a.sets[i] = sets[i];
	a.late = true;

	CHECK_EQ_INT(alert_format(&a, 1000, &out), 0);
	CHECK(out.len > 0 && out.data[out.len - 1] == '\n');
	CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);
	buf_cstr(&out);
	doc = yajl_tree_parse(out.data, errbuf, sizeof(errbuf));
	CHECK(doc != NULL);
	if (doc != NULL) {
		CHECK(get(doc, "process.parent.entity_id", yajl_t_any) == NULL);
		CHECK_STR(str(get(doc, "agent.id", yajl_t_string)), "ag");
		CHECK_STR(str(get(doc, "host.name", yajl_t_string)), "h");
		CHECK_STR(str(get(doc, "Esql.time_window_date_trunc",
		    yajl_t_string)), "2024-05-01T12:00:00.000Z");
		CHECK_STR(str(get(doc, "@timestamp", yajl_t_string)),
		    "1970-01-01T00:00:01.000Z");
		v = get(doc, "Esql.process_command_line_count_distinct",
		    yajl_t_number);
		CHECK(v != NULL && YAJL_GET_INTEGER(v) == 7);
		v = get(doc, "Esql.patterns_count_distinct", yajl_t_number);
		CHECK(v != NULL && YAJL_GET_INTEGER(v) == 3);
		v = get(doc, "Esql.process_command_line_values", yajl_t_array);
		CHECK(v != NULL && YAJL_GET_ARRAY(v)->len == 3);
		if (v != NULL && YAJL_GET_ARRAY(v)->len == 3) {
			CHECK_STR(str(YAJL_GET_ARRAY(v)->values[0]),
			    "sh -c \"b\"\n");
			CHECK_STR(str(YAJL_GET_ARRAY(v)->values[1]), "sh -c a");
			CHECK_STR(str(YAJL_GET_ARRAY(v)->values[2]),
			    "sh -c \xc3\xa9");
		}
		v = get(doc, "Esql.event_dataset_values", yajl_t_array);
		CHECK(v != NULL && YAJL_GET_ARRAY(v)->len == 0);
		CHECK_STR(str(get(doc, "event.kind", yajl_t_string)), "signal");
		CHECK_STR(str(get(doc, "kibana.alert.rule.type", yajl_t_string)),
		    "esql");
		CHECK_STR(str(get(doc, "kibana.alert.rule.rule_id",
		    yajl_t_string)), "b42e4b88-fc4a-417b-a45e-4d4a3db9fd41");
		CHECK_STR(str(get(doc, "kibana.alert.severity", yajl_t_string)),
		    "medium");
		v = get(doc, "kibana.alert.rule.tags", yajl_t_array);
		CHECK(v != NULL && YAJL_GET_ARRAY(v)->len == 6);
		v = get(doc, "burstd.late", yajl_t_true);
		CHECK(v != NULL);
		{
			const char *p[] = {"threat", NULL};
			v = yajl_tree_get(doc, p, yajl_t_array);
			CHECK(v != NULL && YAJL_GET_ARRAY(v)->len == 1);
		}
		yajl_tree_free(doc);
	}

	/* The uuid: RFC 4122 form, version 8; same key and window, same id. */
	alert_uuid(&a, uuid1);
	CHECK_EQ_INT(strlen(uuid1), 36);
	CHECK(uuid1[8] == '-' && uuid1[13] == '-' && uuid1[18] == '-' &&
	    uuid1[23] == '-');
	CHECK(uuid1[14] == '8');
	CHECK(strchr("89ab", uuid1[19]) != NULL);
	a.distinct = 9;
	a.late = false;
	alert_uuid(&a, uuid2);
	CHECK_STR(uuid2, uuid1);
	/* A null key differs from an empty one; the window matters. */
	a.key[0] = (struct alert_key){"", 0};
	alert_uuid(&a, uuid2);
	CHECK(strcmp(uuid2, uuid1) != 0);
	a.key[0] = (struct alert_key){NULL, 0};
	a.window_ms += 60000;
	alert_uuid(&a, uuid2);
	CHECK(strcmp(uuid2, uuid1) != 0);

	CHECK_EQ_INT(alert_label_count(0), 0);
	CHECK_EQ_INT(alert_label_count(UINT64_MAX), 64);
	buf_free(&out);
	for (size_t i = 0; i < conf->rule->nvalues; i++)
		strset_free(sets[i]);
	conf_free(conf);
	return check_exit();
}
