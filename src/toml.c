/*
 * toml: the TOML reader (see toml.h), one pass over the text.
 *
 * The parser walks the text once, line by line at the top level: a
 * comment, a blank line, a [header] or [[header]] that chooses the
 * current table, or a key/value pair added to it.  Values recurse into
 * arrays and inline tables, one level of depth per call, and refuse to
 * go deeper than TOML_MAX_DEPTH.
 *
 * Each table and array remembers how it was made, which decides what may
 * later add to it (TOML v1.0, "Table" and "Array of Tables"):
 *   T_IMPLICIT  named as a parent in a header ([a] of [a.b]); a later
 *               [a] defines it once, and dotted keys may add to it (it
 *               then counts as made by dotted keys);
 *   T_HEADER    defined by [a] or as an element of [[a]]: no header
 *               may define it again, no dotted key may add to it;
 *   T_DOTTED    made by dotted keys (a.b = 1 makes a): later dotted keys
 *               of the same table may add to it, headers may define
 *               tables below it but not it;
 *   T_INLINE    an inline table, closed at its '}';
 *   A_TABLES    an array made by [[a]], which only [[a]] appends to.
 * An array without A_TABLES was written as a value and is closed too.
 *
 * Every value lives in the document's list of nodes as well as in its
 * parent, so toml_free() releases them without walking the tree.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toml.h"
#include "util.h"

enum {
	T_IMPLICIT = 1,
	T_HEADER = 2,
	T_DOTTED = 4,
	T_INLINE = 8,
	A_TABLES = 16,
};

struct toml_doc {
	char *name;              /* for error messages */
	struct toml_value *root; /* the root table */
	struct toml_value **all; /* every value, for toml_free() */
	size_t nall, capall;
};

/* One part of a dotted key, decoded. */
struct keypart {
	char *s;        /* owned, NUL-terminated */
	size_t len;     /* bytes of s */
	const char *at; /* where it starts in the text */
};

struct key {
	struct keypart parts[TOML_MAX_DEPTH];
	size_t n;
	const char *begin, *end; /* the key as written, for messages */
};

struct parser {
	const char *src, *p, *end;
	struct toml_doc *doc;
	struct toml_value *cur; /* the table key/value lines go to */
	char *err;
	size_t errlen;
	bool failed;
	/* locate()'s memory: line and line start of `track`. */
	const char *track, *bol;
	int line;
};

static void
locate(struct parser *ps, const char *at, int *line, int *col)
{
	if (at < ps->track) {
		ps->track = ps->bol = ps->src;
		ps->line = 1;
	}
	while (ps->track < at) {
		const char *nl =
		    memchr(ps->track, '\n', (size_t)(at - ps->track));

		if (nl == NULL) {
			ps->track = at;
			break;
		}
		ps->line++;
		ps->track = ps->bol = nl + 1;
	}
	*line = ps->line;
	*col = (int)(at - ps->bol) + 1;
}

static int perr(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct parser *ps, const char *at, const char *fmt, ...)
{
	va_list ap;
	int line, col, n;

	if (ps->failed)
		return -1;
	ps->failed = true;
	if (ps->errlen == 0)
		return -1;
	locate(ps, at, &line, &col);
	n = snprintf(ps->err, ps->errlen, "%s:%d:%d: ", ps->doc->name, line,
		     col);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The code point of the valid UTF-8 sequence at p. */
static unsigned
decode(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	if (u[0] < 0x80)
		return u[0];
	if (u[0] < 0xE0)
		return (u[0] & 0x1Fu) << 6 | (u[1] & 0x3Fu);
	if (u[0] < 0xF0)
		return (u[0] & 0x0Fu) << 12 | (u[1] & 0x3Fu) << 6 |
		       (u[2] & 0x3Fu);
	return (u[0] & 0x07u) << 18 | (u[1] & 0x3Fu) << 12 |
	       (u[2] & 0x3Fu) << 6 | (u[3] & 0x3Fu);
}

/* What is at p, for messages: 'c', "a newline", U+XXXX, "end of file". */
static const char *
what(const struct parser *ps, const char *p, char *tmp, size_t tmplen)
{
	unsigned c;

	if (p >= ps->end)
		return "end of file";
	c = decode(p);
	if (c == '\n' || (c == '\r' && p + 1 < ps->end && p[1] == '\n'))
		return "a newline";
	if (c == ' ')
		return "a space";
	if (c == '\t')
		return "a tab";
	if (c > 0x20 && c < 0x7F)
		snprintf(tmp, tmplen, "'%c'", (char)c);
	else
		snprintf(tmp, tmplen, "U+%04X", c);
	return tmp;
}

static int
unexpected(struct parser *ps, const char *p, const char *expected)
{
	char tmp[16];

	return perr(ps, p, "expected %s, found %s", expected,
		    what(ps, p, tmp, sizeof(tmp)));
}

/*
 * Checks that the text is UTF-8 as RFC 3629 defines it (shortest forms,
 * no surrogates, nothing above U+10FFFF), so that the rest of the parser
 * may decode without checking.
 */
static int
check_utf8(struct parser *ps)
{
	const unsigned char *p = (const unsigned char *)ps->src;
	const unsigned char *end = (const unsigned char *)ps->end;

	while (p < end) {
		const unsigned char *start = p;
		unsigned c = *p++, lo = 0x80, hi = 0xBF;
		int more;

		if (c < 0x80)
			continue;
		if (c >= 0xC2 && c <= 0xDF) {
			more = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			more = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			more = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			more = -1;
		}
		for (int i = 0; i < more; i++, p++) {
			if (p >= end || *p < lo || *p > hi) {
				more = -1;
				break;
			}
			lo = 0x80;
			hi = 0xBF;
		}
		if (more < 0)
			return perr(ps, (const char *)start,
				    "invalid UTF-8 (byte 0x%02X)", *start);
	}
	return 0;
}

static bool
is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7F;
}

static struct toml_value *
node_new(struct parser *ps, enum toml_type type, const char *at, int depth)
{
	struct toml_doc *d = ps->doc;
	struct toml_value *v;

	if (depth > TOML_MAX_DEPTH) {
		perr(ps, at, "nested deeper than %d levels", TOML_MAX_DEPTH);
		return NULL;
	}
	if (d->nall >= TOML_MAX_ITEMS) {
		perr(ps, at, "more than %d values", TOML_MAX_ITEMS);
		return NULL;
	}
	v = xcalloc(1, sizeof(*v));
	v->type = type;
	v->depth = depth;
	v->offset = (size_t)(at - ps->src);
	locate(ps, at, &v->line, &v->col);
	if (d->nall == d->capall) {
		d->capall = d->capall ? 2 * d->capall : 64;
		d->all = xreallocarray(d->all, d->capall, sizeof(*d->all));
	}
	d->all[d->nall++] = v;
	return v;
}

static void
push(struct toml_value *parent, struct toml_value *v)
{
	assert(v->depth == parent->depth + 1);
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? 2 * parent->cap : 8;
		parent->items = xreallocarray(parent->items, parent->cap,
					      sizeof(*parent->items));
	}
	parent->items[parent->n++] = v;
}

static struct toml_value *
find(const struct toml_value *t, const char *key, size_t keylen)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->items[i]->keylen == keylen &&
		    memcmp(t->items[i]->key, key, keylen) == 0)
			return t->items[i];
	return NULL;
}

/* Adds v to table t under the key part k (copied). */
static int
add_member(struct parser *ps, struct toml_value *t, struct toml_value *v,
	   const struct keypart *k)
{
	char *key;

	if (t->n >= TOML_MAX_KEYS)
		return perr(ps, k->at, "table has more than %d keys",
			    TOML_MAX_KEYS);
	assert(find(t, k->s, k->len) == NULL);
	key = xmalloc(k->len + 1);
	memcpy(key, k->s, k->len);
	key[k->len] = '\0';
	v->key = key;
	v->keylen = k->len;
	push(t, v);
	return 0;
}

/* Spaces and tabs. */
static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* A comment from '#' to the end of its line (not included). */
static int
skip_comment(struct parser *ps)
{
	while (ps->p < ps->end && *ps->p != '\n') {
		unsigned char c = (unsigned char)*ps->p;

		if (c == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
			break;
		if (is_control(c))
			return perr(ps, ps->p,
				    "control character U+%04X in a comment", c);
		ps->p++;
	}
	return 0;
}

/* A newline (LF or CRLF) at p: returns its length, else 0. */
static size_t
newline_at(const struct parser *ps, const char *p)
{
	if (p < ps->end && *p == '\n')
		return 1;
	if (p + 1 < ps->end && p[0] == '\r' && p[1] == '\n')
		return 2;
	return 0;
}

/* Whitespace, newlines and comments, as between the values of an array. */
static int
skip_ws_nl(struct parser *ps)
{
	size_t nl;

	for (;;) {
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '#') {
			if (skip_comment(ps) == -1)
				return -1;
		} else if ((nl = newline_at(ps, ps->p)) > 0) {
			ps->p += nl;
		} else {
			return 0;
		}
	}
}

/* The end of a line: whitespace, an optional comment, a newline or EOF. */
static int
end_of_line(struct parser *ps, const char *after)
{
	char what_[64];
	size_t nl;

	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '#' && skip_comment(ps) == -1)
		return -1;
	if (ps->p >= ps->end)
		return 0;
	if ((nl = newline_at(ps, ps->p)) > 0) {
		ps->p += nl;
		return 0;
	}
	snprintf(what_, sizeof(what_), "a newline after %s", after);
	return unexpected(ps, ps->p, what_);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
put_utf8(struct buf *b, unsigned c)
{
	char u[4];
	size_t n;

	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xC0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xE0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3F));
		u[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3F));
		u[2] = (char)(0x80 | (c >> 6 & 0x3F));
		u[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	buf_append(b, u, n);
}

/* An escape sequence at ps->p (the backslash) of a basic string. */
static int
escape(struct parser *ps, struct buf *b)
{
	const char *at = ps->p;
	char tmp[16];
	unsigned c = 0;
	int digits = 0;

	if (ps->p + 1 >= ps->end)
		return perr(ps, at, "unterminated string");
	switch (ps->p[1]) {
	case 'b':
		c = '\b';
		break;
	case 't':
		c = '\t';
		break;
	case 'n':
		c = '\n';
		break;
	case 'f':
		c = '\f';
		break;
	case 'r':
		c = '\r';
		break;
	case '"':
		c = '"';
		break;
	case '\\':
		c = '\\';
		break;
	case 'u':
		digits = 4;
		break;
	case 'U':
		digits = 8;
		break;
	default:
		return perr(ps, at, "invalid escape '\\' followed by %s",
			    what(ps, ps->p + 1, tmp, sizeof(tmp)));
	}
	ps->p += 2;
	for (int i = 0; i < digits; i++) {
		int h = ps->p < ps->end ? hexval((unsigned char)*ps->p) : -1;

		if (h < 0)
			return perr(ps, at, "\\%c needs %d hexadecimal digits",
				    digits == 4 ? 'u' : 'U', digits);
		c = c << 4 | (unsigned)h;
		ps->p++;
	}
	if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return perr(ps, at,
			    "escape \\%.*s is not a Unicode scalar value",
			    digits + 1, at + 1);
	put_utf8(b, c);
	return 0;
}

/*
 * A run of quote characters q at ps->p inside a multi-line string: up
 * to two belong to the text; three end it, and one or two more before
 * those three are text too.
 */
static int
ml_quotes(struct parser *ps, struct buf *b, char q, bool *done)
{
	const char *at = ps->p;
	size_t n = 0;

	while (ps->p + n < ps->end && ps->p[n] == q)
		n++;
	if (n < 3) {
		buf_append(b, ps->p, n);
		ps->p += n;
		return 0;
	}
	if (n > 5)
		return perr(ps, at,
			    "more than five %s in a row ending a "
			    "multi-line string",
			    q == '"' ? "'\"'" : "\"'\"");
	buf_append(b, ps->p, n - 3);
	ps->p += n;
	*done = true;
	return 0;
}

/*
 * A string at ps->p, of any of the four kinds, decoded into b.  Keys
 * pass multi = false: they are single-line strings only.
 */
static int
string(struct parser *ps, struct buf *b, bool multi, const char **text)
{
	const char *open = ps->p;
	char q = *ps->p;
	bool ml = false, done = false;
	size_t nl;

	if (multi && ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q) {
		ml = true;
		ps->p += 3;
		ps->p += newline_at(ps, ps->p);
	} else {
		ps->p++;
	}
	*text = ps->p;
	while (!done) {
		unsigned char c;

		if (ps->p >= ps->end)
			return perr(ps, open, "unterminated string");
		c = (unsigned char)*ps->p;
		if (c == (unsigned char)q) {
			if (!ml) {
				ps->p++;
				break;
			}
			if (ml_quotes(ps, b, q, &done) == -1)
				return -1;
			continue;
		}
		if (ml && (nl = newline_at(ps, ps->p)) > 0) {
			buf_append(b, "\n", 1);
			ps->p += nl;
			continue;
		}
		if (c == '\n' || (c == '\r' && !ml))
			return perr(ps, open,
				    "newline in a single-line string");
		if (is_control(c))
			return perr(ps, ps->p,
				    "control character U+%04X in a string; "
				    "write it as an escape",
				    c);
		if (c == '\\' && q == '"') {
			const char *s = ps->p + 1;

			while (ml && s < ps->end && (*s == ' ' || *s == '\t'))
				s++;
			if (ml && newline_at(ps, s) > 0) {
				/* Line-ending backslash: drop the newline
				 * and all whitespace after it. */
				ps->p = s;
				while ((nl = newline_at(ps, ps->p)) > 0 ||
				       (ps->p < ps->end &&
					(*ps->p == ' ' || *ps->p == '\t')))
					ps->p += nl > 0 ? nl : 1;
				continue;
			}
			if (escape(ps, b) == -1)
				return -1;
			continue;
		}
		buf_append(b, ps->p, 1);
		ps->p++;
	}
	return 0;
}

static bool
is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void
key_clear(struct key *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->parts[i].s);
	k->n = 0;
}

/* A key, dotted or not, at ps->p; whitespace around dots is allowed. */
static int
parse_key(struct parser *ps, struct key *k)
{
	k->n = 0;
	skip_ws(ps);
	k->begin = k->end = ps->p;
	for (;;) {
		struct keypart *kp;
		struct buf b = {0};

		if (k->n == TOML_MAX_DEPTH)
			return perr(ps, ps->p, "key of more than %d parts",
				    TOML_MAX_DEPTH);
		kp = &k->parts[k->n];
		kp->at = ps->p;
		if (ps->p < ps->end && is_bare((unsigned char)*ps->p)) {
			while (ps->p < ps->end &&
			       is_bare((unsigned char)*ps->p))
				ps->p++;
			buf_append(&b, kp->at, (size_t)(ps->p - kp->at));
		} else if (ps->p < ps->end &&
			   (*ps->p == '"' || *ps->p == '\'')) {
			const char *text;

			if (string(ps, &b, false, &text) == -1) {
				buf_free(&b);
				return -1;
			}
		} else {
			return unexpected(ps, ps->p, "a key");
		}
		kp->len = b.len;
		kp->s = buf_cstr(&b);
		k->n++;
		k->end = ps->p;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '.')
			return 0;
		ps->p++;
		skip_ws(ps);
	}
}

/* The key as written, for messages. */
#define KEY_FMT "'%.*s'"
#define KEY_ARG(k) (int)((k)->end - (k)->begin), (k)->begin

static const char *
made_by(const struct toml_value *v)
{
	if (v->type == TOML_ARRAY)
		return v->flags & A_TABLES ? "an array of tables" : "an array";
	switch (v->type) {
	case TOML_STRING:
		return "a string";
	case TOML_INTEGER:
		return "an integer";
	case TOML_FLOAT:
		return "a float";
	case TOML_BOOL:
		return "a boolean";
	default:
		break;
	}
	if (v->flags & T_INLINE)
		return "an inline table";
	if (v->flags & T_DOTTED)
		return "a table made by dotted keys";
	return "a table";
}

static int
already(struct parser *ps, const char *at, const struct key *k,
	const struct toml_value *v)
{
	return perr(ps, at, KEY_FMT " is already defined as %s at %d:%d",
		    KEY_ARG(k), made_by(v), v->line, v->col);
}

/* [a.b.c] or [[a.b.c]] at ps->p. */
static int
parse_header(struct parser *ps)
{
	const char *at = ps->p;
	bool aot = ps->p + 1 < ps->end && ps->p[1] == '[';
	struct toml_value *t = ps->doc->root, *c;
	struct key k;
	int rc = -1;

	ps->p += aot ? 2 : 1;
	if (parse_key(ps, &k) == -1)
		goto out;
	if (ps->p >= ps->end || *ps->p != ']' ||
	    (aot && (ps->p + 1 >= ps->end || ps->p[1] != ']'))) {
		/* After a first ']', point at what should be the second. */
		unexpected(ps,
			   ps->p < ps->end && *ps->p == ']' ? ps->p + 1 : ps->p,
			   aot ? "']]'" : "']'");
		goto out;
	}
	ps->p += aot ? 2 : 1;
	for (size_t i = 0; i + 1 < k.n; i++) {
		const struct keypart *kp = &k.parts[i];

		c = find(t, kp->s, kp->len);
		if (c == NULL) {
			c = node_new(ps, TOML_TABLE, at, t->depth + 1);
			if (c == NULL || add_member(ps, t, c, kp) == -1)
				goto out;
			c->flags = T_IMPLICIT;
		} else if (c->type == TOML_ARRAY && (c->flags & A_TABLES)) {
			c = c->items[c->n - 1];
		} else if (c->type != TOML_TABLE || (c->flags & T_INLINE)) {
			perr(ps, kp->at,
			     "'%s' is %s (at %d:%d): a header cannot add to it",
			     kp->s, made_by(c), c->line, c->col);
			goto out;
		}
		t = c;
	}
	c = find(t, k.parts[k.n - 1].s, k.parts[k.n - 1].len);
	if (!aot) {
		if (c == NULL) {
			c = node_new(ps, TOML_TABLE, at, t->depth + 1);
			if (c == NULL ||
			    add_member(ps, t, c, &k.parts[k.n - 1]) == -1)
				goto out;
		} else if (c->type == TOML_TABLE && c->flags == T_IMPLICIT) {
			c->offset = (size_t)(at - ps->src);
			locate(ps, at, &c->line, &c->col);
		} else if (c->type == TOML_TABLE && c->flags == T_HEADER) {
			perr(ps, at,
			     "table [%.*s] is defined twice (first at "
			     "%d:%d)",
			     KEY_ARG(&k), c->line, c->col);
			goto out;
		} else {
			already(ps, at, &k, c);
			goto out;
		}
		c->flags = T_HEADER;
	} else {
		struct toml_value *a = c;

		if (a == NULL) {
			a = node_new(ps, TOML_ARRAY, at, t->depth + 1);
			if (a == NULL ||
			    add_member(ps, t, a, &k.parts[k.n - 1]) == -1)
				goto out;
			a->flags = A_TABLES;
		} else if (a->type != TOML_ARRAY || !(a->flags & A_TABLES)) {
			already(ps, at, &k, a);
			goto out;
		}
		c = node_new(ps, TOML_TABLE, at, a->depth + 1);
		if (c == NULL)
			goto out;
		c->flags = T_HEADER;
		push(a, c);
	}
	ps->cur = c;
	rc = end_of_line(ps, "a table header");
out:
	key_clear(&k);
	return rc;
}

static int parse_value(struct parser *ps, struct toml_value *v);

/*
 * key = value into table t: dotted keys make (or add to) the tables on
 * the way.  In an inline table, the caller handles what follows.
 */
static int
parse_keyval(struct parser *ps, struct toml_value *t)
{
	struct toml_value *c, *v;
	const struct keypart *last;
	struct key k;
	int rc = -1;

	if (parse_key(ps, &k) == -1)
		goto out;
	for (size_t i = 0; i + 1 < k.n; i++) {
		const struct keypart *kp = &k.parts[i];

		c = find(t, kp->s, kp->len);
		if (c == NULL) {
			c = node_new(ps, TOML_TABLE, kp->at, t->depth + 1);
			if (c == NULL || add_member(ps, t, c, kp) == -1)
				goto out;
			c->flags = T_DOTTED;
		} else if (c->type == TOML_TABLE &&
			   (c->flags & (T_IMPLICIT | T_DOTTED))) {
			c->flags = T_DOTTED;
		} else {
			perr(ps, kp->at,
			     "'%s' is %s (at %d:%d): dotted keys cannot add "
			     "to it",
			     kp->s, made_by(c), c->line, c->col);
			goto out;
		}
		t = c;
	}
	last = &k.parts[k.n - 1];
	if ((c = find(t, last->s, last->len)) != NULL) {
		perr(ps, last->at, "duplicate key " KEY_FMT " (first at %d:%d)",
		     KEY_ARG(&k), c->line, c->col);
		goto out;
	}
	if (ps->p >= ps->end || *ps->p != '=') {
		unexpected(ps, ps->p, "'=' after the key");
		goto out;
	}
	ps->p++;
	skip_ws(ps);
	if (ps->p >= ps->end || newline_at(ps, ps->p) > 0 || *ps->p == '#') {
		unexpected(ps, ps->p, "a value");
		goto out;
	}
	/* The type is set by parse_value(). */
	v = node_new(ps, TOML_TABLE, ps->p, t->depth + 1);
	if (v == NULL || add_member(ps, t, v, last) == -1)
		goto out;
	rc = parse_value(ps, v);
out:
	key_clear(&k);
	return rc;
}

static int
parse_array(struct parser *ps, struct toml_value *a)
{
	a->type = TOML_ARRAY;
	ps->p++;
	for (;;) {
		struct toml_value *v;

		if (skip_ws_nl(ps) == -1)
			return -1;
		if (ps->p < ps->end && *ps->p == ']')
			break;
		if (ps->p >= ps->end || *ps->p == ',')
			return unexpected(ps, ps->p, "a value or ']'");
		v = node_new(ps, TOML_TABLE, ps->p, a->depth + 1);
		if (v == NULL)
			return -1;
		push(a, v);
		if (parse_value(ps, v) == -1 || skip_ws_nl(ps) == -1)
			return -1;
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']')
			break;
		return unexpected(ps, ps->p, "',' or ']' in the array");
	}
	ps->p++;
	return 0;
}

static int
parse_inline(struct parser *ps, struct toml_value *t)
{
	t->type = TOML_TABLE;
	t->flags = T_HEADER;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		t->flags = T_INLINE;
		return 0;
	}
	for (;;) {
		if (parse_keyval(ps, t) == -1)
			return -1;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '}')
			break;
		if (ps->p >= ps->end || *ps->p != ',')
			return unexpected(ps, ps->p,
					  "',' or '}' in the inline table");
		ps->p++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '}')
			return perr(ps, ps->p,
				    "trailing comma in an inline table");
	}
	ps->p++;
	t->flags = T_INLINE;
	return 0;
}

/*
 * Digits of a base with '_' only between two digits, appended to b
 * without the underscores.  Returns the count of digits, or -1.
 */
static int
digits(const char **pp, const char *end, int base, struct buf *b)
{
	const char *p = *pp;
	int n = 0;

	for (;;) {
		int h = p < end ? hexval((unsigned char)*p) : -1;

		if (h >= 0 && h < base) {
			if (b != NULL)
				buf_append(b, p, 1);
			n++;
			p++;
		} else if (p < end && *p == '_' && n > 0 && p + 1 < end &&
			   hexval((unsigned char)p[1]) >= 0 &&
			   hexval((unsigned char)p[1]) < base) {
			p++;
		} else {
			break;
		}
	}
	*pp = p;
	return n;
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Whether the token starts like a date (1979-05-27) or a time (07:32). */
static bool
is_datetime(const char *s, size_t n)
{
	if (n >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) &&
	    is_digit(s[3]) && s[4] == '-')
		return true;
	return n >= 3 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':';
}

/* An integer or a float: the token [s, end) at ps->p. */
static int
parse_number(struct parser *ps, struct toml_value *v, const char *end)
{
	const char *s = ps->p, *p = s;
	struct buf b = {0};
	bool neg = false, isfloat = false;
	int base = 10, rc = -1;

	if (is_datetime(s, (size_t)(end - s)))
		return perr(ps, s,
			    "dates and times are not supported; "
			    "quote the value to make it a string");
	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		buf_append(&b, p, 1);
		p++;
	}
	if (end - p == 3 &&
	    (memcmp(p, "inf", 3) == 0 || memcmp(p, "nan", 3) == 0)) {
		v->type = TOML_FLOAT;
		v->d = p[0] == 'i' ? (neg ? -INFINITY : INFINITY)
				   : (neg ? -NAN : NAN);
		ps->p = end;
		rc = 0;
		goto out;
	}
	if (p == s && end - p > 2 && p[0] == '0' &&
	    (p[1] == 'x' || p[1] == 'o' || p[1] == 'b')) {
		base = p[1] == 'x' ? 16 : p[1] == 'o' ? 8 : 2;
		p += 2;
		if (digits(&p, end, base, &b) == 0 || p != end)
			goto bad;
	} else {
		const char *int_part = p;

		if (digits(&p, end, 10, &b) == 0)
			goto bad;
		if (*int_part == '0' && p - int_part > 1) {
			perr(ps, s, "leading zero in '%.*s'", (int)(end - s),
			     s);
			goto out;
		}
		if (p < end && *p == '.') {
			isfloat = true;
			buf_append(&b, p++, 1);
			if (digits(&p, end, 10, &b) == 0)
				goto bad;
		}
		if (p < end && (*p == 'e' || *p == 'E')) {
			isfloat = true;
			buf_append(&b, p++, 1);
			if (p < end && (*p == '+' || *p == '-'))
				buf_append(&b, p++, 1);
			if (digits(&p, end, 10, &b) == 0)
				goto bad;
		}
		if (p != end)
			goto bad;
	}
	buf_cstr(&b);
	errno = 0;
	if (isfloat) {
		v->type = TOML_FLOAT;
		v->d = strtod(b.data, NULL);
		if (errno == ERANGE && isinf(v->d)) {
			perr(ps, s, "float '%.*s' out of range", (int)(end - s),
			     s);
			goto out;
		}
	} else if (base == 10) {
		v->type = TOML_INTEGER;
		v->i = strtoimax(b.data, NULL, 10);
		if (errno == ERANGE) {
			perr(ps, s, "integer '%.*s' out of range",
			     (int)(end - s), s);
			goto out;
		}
	} else {
		uintmax_t u = strtoumax(b.data, NULL, base);

		if (errno == ERANGE || u > INT64_MAX) {
			perr(ps, s, "integer '%.*s' out of range",
			     (int)(end - s), s);
			goto out;
		}
		v->type = TOML_INTEGER;
		v->i = (int64_t)u;
	}
	ps->p = end;
	rc = 0;
	goto out;
bad:
	perr(ps, s, "invalid value '%.*s'", (int)(end - s), s);
out:
	buf_free(&b);
	return rc;
}

static bool
is_value_end(const struct parser *ps, const char *p)
{
	return p >= ps->end || *p == ' ' || *p == '\t' || *p == '#' ||
	       *p == ',' || *p == ']' || *p == '}' || newline_at(ps, p) > 0;
}

/* The value at ps->p into v (made by the caller, its type set here). */
static int
parse_value(struct parser *ps, struct toml_value *v)
{
	const char *s = ps->p, *e;
	char c = *ps->p;

	if (c == '"' || c == '\'') {
		struct buf b = {0};
		const char *text;

		v->type = TOML_STRING;
		if (string(ps, &b, true, &text) == -1) {
			buf_free(&b);
			return -1;
		}
		locate(ps, text, &v->text_line, &v->text_col);
		v->len = b.len;
		v->s = buf_cstr(&b);
		return 0;
	}
	if (c == '[')
		return parse_array(ps, v);
	if (c == '{')
		return parse_inline(ps, v);
	for (e = s; !is_value_end(ps, e); e++)
		if (!is_bare((unsigned char)*e) && *e != '+' && *e != '.' &&
		    *e != ':')
			break;
	/* A token stops at the end of a value, or at a character that no
	 * value has: a control character is left to the caller's message,
	 * any other makes the value invalid. */
	if (e == s)
		return unexpected(ps, s, "a value");
	if (!is_value_end(ps, e) && !is_control((unsigned char)*e) &&
	    *e != '\r' && !is_datetime(s, (size_t)(e - s)))
		return perr(ps, s, "invalid value '%.*s'", (int)(e - s), s);
	if ((e - s == 4 && memcmp(s, "true", 4) == 0) ||
	    (e - s == 5 && memcmp(s, "false", 5) == 0)) {
		v->type = TOML_BOOL;
		v->b = c == 't';
		ps->p = e;
		return 0;
	}
	return parse_number(ps, v, e);
}

static int
parse_document(struct parser *ps)
{
	if (check_utf8(ps) == -1)
		return -1;
	if (ps->end - ps->p >= 3 && memcmp(ps->p, "\xEF\xBB\xBF", 3) == 0)
		ps->p += 3;
	while (ps->p < ps->end) {
		size_t nl;

		skip_ws(ps);
		if (ps->p >= ps->end)
			break;
		if (*ps->p == '#') {
			if (skip_comment(ps) == -1 ||
			    end_of_line(ps, "a comment") == -1)
				return -1;
		} else if ((nl = newline_at(ps, ps->p)) > 0) {
			ps->p += nl;
		} else if (*ps->p == '[') {
			if (parse_header(ps) == -1)
				return -1;
		} else {
			if (parse_keyval(ps, ps->cur) == -1 ||
			    end_of_line(ps, "the value") == -1)
				return -1;
		}
	}
	return 0;
}

struct toml_doc *
toml_parse(const char *text, size_t len, const char *name, char *err,
	   size_t errlen)
{
	struct toml_doc *d;
	struct parser ps;

	if (errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		name = "<string>";
	if (len > TOML_MAX_FILE) {
		snprintf(err, errlen, "%s: longer than %d bytes", name,
			 TOML_MAX_FILE);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->name = xstrdup(name);
	memset(&ps, 0, sizeof(ps));
	ps.src = ps.p = ps.track = ps.bol = text;
	ps.end = text + len;
	ps.line = 1;
	ps.doc = d;
	ps.err = err;
	ps.errlen = errlen;
	d->root = node_new(&ps, TOML_TABLE, text, 0);
	d->root->flags = T_HEADER;
	ps.cur = d->root;
	if (parse_document(&ps) == -1) {
		toml_free(d);
		return NULL;
	}
	return d;
}

struct toml_doc *
toml_load(const char *path, char *err, size_t errlen)
{
	struct toml_doc *d;
	struct stat st;
	char *text;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	/* One byte more than allowed, to see a file that grew past it. */
	text = xmalloc(TOML_MAX_FILE + 1);
	while (got <= TOML_MAX_FILE &&
	       (n = read(fd, text + got, TOML_MAX_FILE + 1 - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(text);
			close(fd);
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	if (got > TOML_MAX_FILE) {
		snprintf(err, errlen, "%s: longer than %d bytes", path,
			 TOML_MAX_FILE);
		free(text);
		return NULL;
	}
	d = toml_parse(text, got, path, err, errlen);
	free(text);
	return d;
}

void
toml_free(struct toml_doc *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nall; i++) {
		struct toml_value *v = d->all[i];

		free((char *)v->key);
		free((char *)v->s);
		free(v->items);
		free(v);
	}
	free(d->all);
	free(d->name);
	free(d);
}

const struct toml_value *
toml_root(const struct toml_doc *d)
{
	return d->root;
}

const struct toml_value *
toml_table_get(const struct toml_value *t, const char *key, size_t keylen)
{
	if (t == NULL || t->type != TOML_TABLE)
		return NULL;
	return find(t, key, keylen);
}

const struct toml_value *
toml_get(const struct toml_value *t, const char *path)
{
	for (;;) {
		const char *dot = strchr(path, '.');
		size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);

		t = toml_table_get(t, path, n);
		if (t == NULL || dot == NULL)
			return t;
		path = dot + 1;
	}
}

const char *
toml_string(const struct toml_value *v, size_t *len)
{
	if (v == NULL || v->type != TOML_STRING)
		return NULL;
	if (len != NULL)
		*len = v->len;
	return v->s;
}

int
toml_int(const struct toml_value *v, int64_t *out)
{
	if (v == NULL || v->type != TOML_INTEGER)
		return -1;
	*out = v->i;
	return 0;
}

int
toml_float(const struct toml_value *v, double *out)
{
	if (v == NULL || v->type != TOML_FLOAT)
		return -1;
	*out = v->d;
	return 0;
}

int
toml_bool(const struct toml_value *v, bool *out)
{
	if (v == NULL || v->type != TOML_BOOL)
		return -1;
	*out = v->b;
	return 0;
}

const char *
toml_type_name(enum toml_type type)
{
	switch (type) {
	case TOML_TABLE:
		return "table";
	case TOML_ARRAY:
		return "array";
	case TOML_STRING:
		return "string";
	case TOML_INTEGER:
		return "integer";
	case TOML_FLOAT:
		return "float";
	case TOML_BOOL:
		return "boolean";
	}
	return "?";
}

void
toml_error(const struct toml_doc *d, const struct toml_value *v, char *err,
	   size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (errlen == 0)
		return;
	n = snprintf(err, errlen, "%s:%d:%d: ", d->name, v->line, v->col);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static void
json_string(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	buf_append(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

		if (c == '"' || c == '\\') {
			e[1] = (char)c;
			buf_append(out, e, 2);
		} else if (c == '\n' || c == '\t' || c == '\r' || c == '\b' ||
			   c == '\f') {
			e[1] = c == '\n'   ? 'n'
			       : c == '\t' ? 't'
			       : c == '\r' ? 'r'
			       : c == '\b' ? 'b'
					   : 'f';
			buf_append(out, e, 2);
		} else if (c < 0x20) {
			buf_append(out, e, 6);
		} else {
			buf_append(out, s + i, 1);
		}
	}
	buf_append(out, "\"", 1);
}

/* The shortest %.*g that reads back as d, with ".0" if it looks integral. */
static void
json_float(struct buf *out, double d)
{
	char tmp[40];
	int prec;

	if (isnan(d) || isinf(d)) {
		buf_append(out, "null", 4);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
	buf_append(out, tmp, strlen(tmp));
	if (strpbrk(tmp, ".e") == NULL)
		buf_append(out, ".0", 2);
}

void
toml_write_json(const struct toml_value *v, struct buf *out)
{
	char tmp[32];
	int n;

	assert(v->depth <= TOML_MAX_DEPTH);
	switch (v->type) {
	case TOML_TABLE:
	case TOML_ARRAY:
		buf_append(out, v->type == TOML_TABLE ? "{" : "[", 1);
		for (size_t i = 0; i < v->n; i++) {
			if (i > 0)
				buf_append(out, ",", 1);
			if (v->type == TOML_TABLE) {
				assert(v->items[i]->key != NULL);
				json_string(out, v->items[i]->key,
					    v->items[i]->keylen);
				buf_append(out, ":", 1);
			}
			toml_write_json(v->items[i], out);
		}
		buf_append(out, v->type == TOML_TABLE ? "}" : "]", 1);
		break;
	case TOML_STRING:
		json_string(out, v->s, v->len);
		break;
	case TOML_INTEGER:
		n = snprintf(tmp, sizeof(tmp), "%" PRId64, v->i);
		buf_append(out, tmp, (size_t)n);
		break;
	case TOML_FLOAT:
		json_float(out, v->d);
		break;
	case TOML_BOOL:
		if (v->b)
			buf_append(out, "true", 4);
		else
			buf_append(out, "false", 5);
		break;
	}
}
