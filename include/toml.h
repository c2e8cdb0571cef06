/*
 * toml: a strict reader of TOML v1.0 (https://toml.io/en/v1.0.0) into a
 * tree of tables, arrays and scalars, for rule files.
 *
 * What is read: comments; bare, quoted and dotted keys; basic strings
 * with the escapes \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX (the last two
 * must name a Unicode scalar value); literal strings; multi-line basic
 * and literal strings (a newline right after the opening quotes is
 * dropped, a line-ending backslash in """ strings drops the newline and
 * the whitespace after it, and CRLF inside them is read as LF);
 * integers (decimal with '_' between digits, 0x, 0o, 0b); floats
 * (fraction, exponent, inf, nan, with an optional sign); booleans;
 * arrays (over several lines, with comments and a trailing comma);
 * inline tables; [table] and [[array.of.tables]] headers.  A UTF-8 byte
 * order mark at the start is skipped.
 *
 * Dates and times (offset date-time, local date-time, local date, local
 * time) are refused with "dates and times are not supported": no rule
 * file needs them (detection-rules quotes its dates, "2026/03/26"), and
 * reading them as strings would accept values a TOML reader rejects.
 *
 * Strict: invalid UTF-8, a control character other than tab in a
 * comment or string, a key defined twice, a table defined twice (by
 * headers, or by a header after dotted keys), dotted keys adding to a
 * table a header defined, anything adding to an inline table or to an
 * array that is not an array of tables, and integers or floats out of
 * range are errors, each reported as "NAME:LINE:COL: message" (NAME is
 * the name given to toml_parse(), LINE and COL 1-based, COL counted in
 * bytes, as the ES|QL front end does).
 *
 * Bounds: the text is at most TOML_MAX_FILE bytes; a value sits at most
 * TOML_MAX_DEPTH levels below the root (dotted keys and headers count one
 * level per key, arrays and inline tables one each), so that every
 * recursion over the tree (the value parser, the JSON writer) is
 * bounded; a document holds at most TOML_MAX_ITEMS values (tables and
 * arrays included) and a table at most TOML_MAX_KEYS keys.
 *
 * Memory: a struct toml_doc owns every value, key and string in it;
 * toml_free() releases them all.  Values are read-only to the caller.
 * Strings and keys are NUL-terminated and carry their length (\u0000
 * may put a NUL inside).
 */
#ifndef BURSTD_TOML_H
#define BURSTD_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define TOML_MAX_FILE (1024 * 1024)
#define TOML_MAX_DEPTH 64
#define TOML_MAX_ITEMS 65536
#define TOML_MAX_KEYS 1024

enum toml_type {
	TOML_TABLE,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
};

/*
 * One value.  line, col and offset are those of its first character; a
 * table's is its header's '[' or the first key that made it.  For a
 * string, text_line and text_col are those of the text's first character
 * (after the quotes and a dropped newline), where a caller's own
 * positions inside the text start.
 */
struct toml_value {
	enum toml_type type;
	int line, col;             /* 1-based; col counts bytes */
	size_t offset;             /* bytes from the start of the text */
	int depth;                 /* the root's is 0; at most TOML_MAX_DEPTH */
	const char *key;           /* the key in the parent table, else NULL */
	size_t keylen;             /* bytes of key */
	const char *s;             /* TOML_STRING: the text, NUL-terminated */
	size_t len;                /* TOML_STRING: bytes of s */
	int text_line, text_col;   /* TOML_STRING: where s starts in the file */
	int64_t i;                 /* TOML_INTEGER */
	double d;                  /* TOML_FLOAT */
	bool b;                    /* TOML_BOOL */
	struct toml_value **items; /* members in file order, or elements */
	size_t n;                  /* items in use */
	size_t cap;                /* items allocated */
	unsigned flags;            /* how a table or array was made (toml.c) */
};

struct toml_doc;

/*
 * Reads len bytes of TOML.  name prefixes error messages (a path, or
 * "<string>").  Returns the document, which the caller frees with
 * toml_free(), or NULL with "NAME:LINE:COL: message" in err (errlen
 * bytes).
 */
struct toml_doc *toml_parse(const char *text, size_t len, const char *name,
			    char *err, size_t errlen);
/*
 * Reads the file at path (at most TOML_MAX_FILE bytes), naming it in
 * errors.  Returns as toml_parse() does; a file that cannot be read
 * gives "PATH: reason".
 */
struct toml_doc *toml_load(const char *path, char *err, size_t errlen);
void toml_free(struct toml_doc *d);

/* The root table (borrowed from d). */
const struct toml_value *toml_root(const struct toml_doc *d);

/* The member of table t with this key (keylen bytes), or NULL. */
const struct toml_value *
toml_table_get(const struct toml_value *t, const char *key, size_t keylen);
/*
 * The value at a dotted path of bare keys below table t ("rule.query"),
 * or NULL if a part is missing or a value on the way is not a table.
 */
const struct toml_value *toml_get(const struct toml_value *t, const char *path);

/* Typed reads: the value, or NULL / -1 if v is NULL or of another type. */
const char *toml_string(const struct toml_value *v, size_t *len);
int toml_int(const struct toml_value *v, int64_t *out);
int toml_float(const struct toml_value *v, double *out);
int toml_bool(const struct toml_value *v, bool *out);

/* "table", "array", "string", "integer", "float", "boolean". */
const char *toml_type_name(enum toml_type type);

/*
 * Writes "NAME:LINE:COL: " with v's position, then the message, into err:
 * how callers report a value that parsed but is not what they need.
 */
void toml_error(const struct toml_doc *d, const struct toml_value *v, char *err,
		size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Appends v as compact JSON to out: tables as objects with their keys in
 * the order of the file, arrays as arrays, strings escaped as RFC 8259
 * requires, integers in decimal, floats in the shortest form that reads
 * back the same (nan and inf, which JSON lacks, as null).
 */
void toml_write_json(const struct toml_value *v, struct buf *out);

#endif
