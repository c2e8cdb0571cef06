/*
 * record: one NDJSON line -> the values of the fields a rule needs.
 *
 * The parser is built once from the list of field names (dotted ECS
 * names such as "process.parent.name") and reused for every line.  It
 * drives yajl's callback API over the line and keeps only the scalars
 * found under a wanted field, whether the document spells the path with
 * nested objects, dotted keys or any mix of them; arrays are flattened,
 * null contributes nothing, numbers and booleans are kept as their JSON
 * text, strings after JSON unescaping.  Subtrees that cannot lead to a
 * wanted field are skipped without building their paths.
 *
 * Fields are read as the Elastic Defend endpoint mapping indexes them:
 * a keyword field (most are) does not index a value longer than
 * RECORD_IGNORE_ABOVE UTF-16 code units (its ignore_above), so the query
 * never sees such a value, and the parser drops it as if it were absent;
 * the few fields mapped otherwise (record_is_keyword()) keep every value.
 *
 * A record and every value in it are owned by the parser and valid until
 * the next parser_parse().  In steady state a parse allocates nothing:
 * the value arena, the value index and yajl's own memory are recycled.
 */
#ifndef BURSTD_RECORD_H
#define BURSTD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECORD_MAX_FIELDS 128
#define RECORD_MAX_NAME 256 /* longest field name, in bytes */

/*
 * ignore_above of the endpoint mapping's keyword fields, in UTF-16 code
 * units (Java's String.length(): a code point above U+FFFF counts 2).
 */
#define RECORD_IGNORE_ABOVE 1024

struct parser;
struct record;

enum parse_result {
	PARSE_OK,      /* a JSON object; its wanted values are in the record */
	PARSE_INVALID, /* not JSON, or a string is not valid UTF-8 */
	PARSE_NOT_OBJECT, /* valid JSON whose top level is not an object */
	PARSE_TOO_DEEP,   /* nesting deeper than max_depth */
	PARSE_REJECTED,   /* the value check refused a value: parse stopped */
};

struct record_value {
	const char *p; /* bytes, not NUL-terminated */
	size_t len;    /* length in bytes */
};

/*
 * Whether the endpoint mapping indexes field as a keyword, with
 * ignore_above RECORD_IGNORE_ABOVE: true for every field but the
 * wildcard command lines (process.command_line and its kin), dates
 * (@timestamp, event.created, process.start, ...), text (message) and
 * constant keywords (data_stream.*).
 */
bool record_is_keyword(const char *field);

/*
 * Returns a parser for fields[0..n) (n <= RECORD_MAX_FIELDS); field i is
 * slot i of the records it produces.  Names are copied.
 */
struct parser *
parser_new(const char *const *fields, size_t n, size_t max_depth);
void parser_free(struct parser *ps);

/*
 * A check on the values of some slots (bit i of slots: slot i, of the
 * first 32), called as each value is found (a keyword value past
 * RECORD_IGNORE_ABOVE is not found); returning false stops the parse at
 * once with
 * PARSE_REJECTED.  It lets a filter refuse an event without reading the
 * rest of its line.
 */
typedef bool parser_check_fn(void *arg, int slot, const char *p, size_t len);
void parser_set_check(struct parser *ps, uint32_t slots, parser_check_fn *fn,
		      void *arg);

/* Parses one line; on PARSE_OK, *out is the record (owned by ps). */
enum parse_result parser_parse(struct parser *ps, const char *line, size_t len,
			       const struct record **out);

/* Number of allocations the parser has made from the C heap so far. */
uint64_t parser_heap_allocs(const struct parser *ps);

/*
 * The values found for a slot, in document order, duplicates included;
 * sets *n.  Valid until the next parse.
 */
const struct record_value *
record_get(const struct record *r, int slot, size_t *n);

/*
 * Distinct values of a slot: writes at most max of them to out and
 * returns how many distinct values there are (which may exceed max).
 */
size_t record_distinct(const struct record *r, int slot,
		       struct record_value *out, size_t max);

#endif
