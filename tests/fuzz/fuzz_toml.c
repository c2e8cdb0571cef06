/*
 * fuzz_toml: toml_parse() and rulefile_parse_toml() on arbitrary bytes.
 *
 * Whatever the input, parsing returns a tree or an error of the form
 * "f:LINE:COL: message".  A tree keeps what toml.h promises: every value
 * sits one level below its parent and at most TOML_MAX_DEPTH below the
 * root, table members have keys and no two the same, array elements
 * have none, strings and keys are UTF-8 and NUL-terminated, positions
 * lie in the text, and there are at most TOML_MAX_ITEMS values.  Its
 * JSON is valid (yajl reads it back) and holds as many values as the
 * tree.  A rule read from the same bytes has its fields in range.
 */
#include <string.h>
#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "rulefile.h"
#include "toml.h"
#include "util.h"

static bool
error_has_position(const char *err)
{
	const char *p = err;

	if (strncmp(p, "f:", 2) != 0)
		return false;
	p += 2;
	if (*p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ':' || *p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return p[0] == ':' && p[1] == ' ' && p[2] != '\0';
}

/* Checks v and its subtree; returns the count of values in it. */
static size_t
walk(const struct toml_value *v, size_t size)
{
	size_t n = 1;

	FUZZ_CHECK(v->depth >= 0 && v->depth <= TOML_MAX_DEPTH);
	FUZZ_CHECK(v->line >= 1 && v->col >= 1);
	FUZZ_CHECK(v->offset <= size);
	FUZZ_CHECK((size_t)v->col <= v->offset + 1);
	if (v->key != NULL) {
		FUZZ_CHECK(v->key[v->keylen] == '\0');
		FUZZ_CHECK(fuzz_utf8_valid(v->key, v->keylen));
	}
	switch (v->type) {
	case TOML_STRING:
		FUZZ_CHECK(v->s != NULL && v->s[v->len] == '\0');
		FUZZ_CHECK(fuzz_utf8_valid(v->s, v->len));
		FUZZ_CHECK(v->text_line >= v->line);
		break;
	case TOML_TABLE:
	case TOML_ARRAY:
		FUZZ_CHECK(v->n <= v->cap);
		for (size_t i = 0; i < v->n; i++) {
			const struct toml_value *c = v->items[i];

			FUZZ_CHECK(c->depth == v->depth + 1);
			if (v->type == TOML_ARRAY) {
				FUZZ_CHECK(c->key == NULL);
			} else {
				FUZZ_CHECK(c->key != NULL);
				FUZZ_CHECK(
				    toml_table_get(v, c->key, c->keylen) == c);
			}
			n += walk(c, size);
		}
		break;
	default:
		FUZZ_CHECK(v->n == 0 && v->items == NULL);
		break;
	}
	return n;
}

/* Values in a yajl tree. */
static size_t
count(const yajl_val v)
{
	size_t n = 1;

	if (YAJL_IS_OBJECT(v))
		for (size_t i = 0; i < v->u.object.len; i++)
			n += count(v->u.object.values[i]);
	else if (YAJL_IS_ARRAY(v))
		for (size_t i = 0; i < v->u.array.len; i++)
			n += count(v->u.array.values[i]);
	return n;
}

static void
check_rule(const uint8_t *data, size_t size)
{
	struct rule_meta *m;
	char err[512];

	m = rulefile_parse_toml((const char *)data, size, "f", err,
				sizeof(err));
	if (m == NULL) {
		FUZZ_CHECK(strncmp(err, "f", 1) == 0 && err[1] == ':');
		return;
	}
	FUZZ_CHECK(m->name[0] != '\0' && m->rule_id[0] != '\0');
	FUZZ_CHECK(m->query[0] != '\0');
	FUZZ_CHECK(m->risk_score >= 0 && m->risk_score <= 100);
	FUZZ_CHECK(m->max_signals >= 1 &&
		   m->max_signals <= RULEFILE_MAX_SIGNALS);
	FUZZ_CHECK(m->from_ms > 0 && m->from_ms <= RULEFILE_MAX_SPAN_MS);
	FUZZ_CHECK(m->interval_ms > 0 &&
		   m->interval_ms <= RULEFILE_MAX_SPAN_MS);
	FUZZ_CHECK(m->query_line >= 1 && m->query_col >= 1);
	FUZZ_CHECK(m->threat == NULL || m->threat[0] == '[');
	rulefile_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_doc *d;
	struct buf b = {0};
	char err[512], yerr[128];
	yajl_val y;
	size_t n;

	d = toml_parse((const char *)data, size, "f", err, sizeof(err));
	if (d == NULL) {
		if (!error_has_position(err))
			fprintf(stderr, "error without a position: %s\n", err);
		FUZZ_CHECK(error_has_position(err));
		return 0;
	}
	n = walk(toml_root(d), size);
	FUZZ_CHECK(n <= TOML_MAX_ITEMS);
	toml_write_json(toml_root(d), &b);
	y = yajl_tree_parse(buf_cstr(&b), yerr, sizeof(yerr));
	if (y == NULL)
		fprintf(stderr, "JSON does not parse: %s\n%s\n", yerr, b.data);
	FUZZ_CHECK(y != NULL);
	FUZZ_CHECK(YAJL_IS_OBJECT(y) && count(y) == n);
	yajl_tree_free(y);
	buf_free(&b);
	toml_free(d);
	check_rule(data, size);
	return 0;
}
