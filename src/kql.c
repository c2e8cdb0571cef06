/*
 * kql: KQL() queries as a tree of n-ary AND/OR/NOT over field tests.
 * See include/kql.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kql.h"
#include "like.h"

enum tok {
	T_END,
	T_LP,
	T_RP,
	T_COLON,
	T_LBRACE,
	T_RBRACE,
	T_OP,     /* < <= > >= */
	T_QUOTED, /* "..." */
	T_WORD,   /* an unquoted literal, wildcards marked */
	T_AND,
	T_OR,
	T_NOT,
};

struct token {
	enum tok kind;
	size_t off; /* of its first byte */
	char *text; /* T_QUOTED, T_WORD: unescaped (owned by the lexer) */
	size_t len;
	bool *wild; /* T_WORD: wild[i] when text[i] is an unescaped `*` */
	bool anywild;
	char op[3]; /* T_OP */
};

enum kq_kind {
	KQ_ALL,
	KQ_AND,
	KQ_OR,
	KQ_NOT,
	KQ_TERM,   /* column == v */
	KQ_WILD,   /* keyword column LIKE like */
	KQ_EXISTS, /* column has a value */
	KQ_RANGE,  /* column op v */
	KQ_CIDR,   /* ip column in v/prefix */
};

struct kq {
	enum kq_kind kind;
	struct kq **kids; /* AND, OR, NOT */
	size_t nkids;
	int column;
	enum esql_type type;
	struct esql_scalar v; /* TERM, RANGE; keyword bytes in text */
	char *text;           /* owned keyword bytes */
	char op[3];           /* RANGE */
	unsigned prefix;      /* CIDR bits of v.u.ip */
	struct like *like;    /* WILD */
};

struct kql {
	struct kq *root;
	char *text;
	size_t len;
};

struct parser {
	const char *s;
	size_t len, pos;
	struct token tk; /* the current token */
	bool have;
	int depth;
	esql_resolve_fn *resolve;
	void *arg;
	char *err;
	size_t errlen;
	bool failed;
};

static void perr(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = true;
	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < p->errlen)
		snprintf(p->err + n, p->errlen - (size_t)n, " at offset %zu",
			 off);
}

static void
kq_free(struct kq *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->nkids; i++)
		kq_free(q->kids[i]);
	free(q->kids);
	free(q->text);
	like_free(q->like);
	free(q);
}

/* Lexing (KqlBase.g4's tokens). */

/* WHITESPACE: [ \t\n\r\u3000] */
static size_t
space(const struct parser *p, size_t i)
{
	if (i < p->len && strchr(" \t\n\r", p->s[i]) != NULL && p->s[i])
		return 1;
	if (i + 2 < p->len && memcmp(p->s + i, "\xe3\x80\x80", 3) == 0)
		return 3;
	return 0;
}

static bool
special(char c)
{
	return c != '\0' && strchr(" \\():<>\"*{}", c) != NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \uXXXX at s[i] (after the `\`) into out as UTF-8; bytes read, or 0. */
static size_t
unicode(const struct parser *p, size_t i, char *out, size_t *n)
{
	unsigned c = 0;

	if (i + 5 > p->len || p->s[i] != 'u')
		return 0;
	for (size_t k = 1; k <= 4; k++) {
		int h = hexval(p->s[i + k]);

		if (h < 0)
			return 0;
		c = c << 4 | (unsigned)h;
	}
	if (c < 0x80) {
		out[0] = (char)c;
		*n = 1;
	} else if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		*n = 2;
	} else {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		*n = 3;
	}
	return 5;
}

static void
put(struct token *t, const char *b, size_t n, bool wild)
{
	t->text = xrealloc(t->text, t->len + n + 1);
	t->wild = xreallocarray(t->wild, t->len + n + 1, sizeof(*t->wild));
	memcpy(t->text + t->len, b, n);
	for (size_t i = 0; i < n; i++)
		t->wild[t->len + i] = wild;
	t->len += n;
	t->text[t->len] = '\0';
	t->anywild |= wild;
}

static void
tok_clear(struct token *t)
{
	free(t->text);
	free(t->wild);
	memset(t, 0, sizeof(*t));
}

/* An escape at s[i] == '\\' in a word; bytes read, or 0 if invalid. */
static size_t
escape(struct parser *p, size_t i, struct token *t)
{
	char b[4];
	size_t n, k;

	if (i + 1 >= p->len)
		return 0;
	switch (p->s[i + 1]) {
	case 't':
		put(t, "\t", 1, false);
		return 2;
	case 'r':
		put(t, "\r", 1, false);
		return 2;
	case 'n':
		put(t, "\n", 1, false);
		return 2;
	default:
		break;
	}
	if (special(p->s[i + 1])) {
		put(t, p->s + i + 1, 1, false);
		return 2;
	}
	if ((k = unicode(p, i + 1, b, &n)) > 0) {
		put(t, b, n, false);
		return k + 1;
	}
	for (size_t w = 0; w < 3; w++) {
		static const char *const kw[] = {"and", "or", "not"};
		size_t kl = strlen(kw[w]);

		if (i + 1 + kl <= p->len &&
		    strncasecmp(p->s + i + 1, kw[w], kl) == 0) {
			put(t, p->s + i + 1, kl, false);
			return kl + 1;
		}
	}
	return 0;
}

static void
lex(struct parser *p)
{
	struct token *t = &p->tk;
	size_t n, i;

	tok_clear(t);
	while ((n = space(p, p->pos)) > 0)
		p->pos += n;
	t->off = p->pos;
	if (p->pos >= p->len) {
		t->kind = T_END;
		return;
	}
	switch (p->s[p->pos]) {
	case '(':
		t->kind = T_LP;
		p->pos++;
		return;
	case ')':
		t->kind = T_RP;
		p->pos++;
		return;
	case ':':
		t->kind = T_COLON;
		p->pos++;
		return;
	case '{':
		t->kind = T_LBRACE;
		p->pos++;
		return;
	case '}':
		t->kind = T_RBRACE;
		p->pos++;
		return;
	case '<':
	case '>':
		t->kind = T_OP;
		t->op[0] = p->s[p->pos++];
		if (p->pos < p->len && p->s[p->pos] == '=')
			t->op[1] = p->s[p->pos++];
		return;
	case '"':
		/* QUOTED_CHAR: \t \r \n, \uXXXX, \" ; and \\ as one \ */
		t->kind = T_QUOTED;
		put(t, "", 0, false);
		for (i = p->pos + 1; i < p->len && p->s[i] != '"';) {
			char b[4];
			size_t k;

			if (p->s[i] == '\\' && i + 1 < p->len) {
				char c = p->s[i + 1];

				if (c == '"' || c == '\\') {
					put(t, &p->s[i + 1], 1, false);
					i += 2;
					continue;
				}
				if (c == 't' || c == 'r' || c == 'n') {
					put(t,
					    c == 't'   ? "\t"
					    : c == 'r' ? "\r"
						       : "\n",
					    1, false);
					i += 2;
					continue;
				}
				if ((k = unicode(p, i + 1, b, &n)) > 0) {
					put(t, b, n, false);
					i += k + 1;
					continue;
				}
			}
			put(t, &p->s[i], 1, false);
			i++;
		}
		if (i >= p->len) {
			perr(p, p->pos, "unterminated quoted string");
			t->kind = T_END;
			return;
		}
		p->pos = i + 1;
		return;
	default:
		break;
	}
	/* a word: escapes, `*`, and anything but whitespace and specials */
	t->kind = T_WORD;
	put(t, "", 0, false);
	for (i = p->pos; i < p->len && space(p, i) == 0;) {
		char c = p->s[i];

		if (c == '\\') {
			size_t k = escape(p, i, t);

			if (k == 0) {
				perr(p, i, "invalid escape sequence");
				t->kind = T_END;
				return;
			}
			i += k;
			continue;
		}
		if (c == '*') {
			put(t, "*", 1, true);
			i++;
			continue;
		}
		if (special(c))
			break;
		put(t, &c, 1, false);
		i++;
	}
	/* and, or, not, unescaped, in any case */
	if (i - p->pos == t->len && !t->anywild) {
		if (t->len == 3 && strncasecmp(t->text, "and", 3) == 0)
			t->kind = T_AND;
		else if (t->len == 2 && strncasecmp(t->text, "or", 2) == 0)
			t->kind = T_OR;
		else if (t->len == 3 && strncasecmp(t->text, "not", 3) == 0)
			t->kind = T_NOT;
	}
	p->pos = i;
}

static struct token *
peek(struct parser *p)
{
	if (!p->have) {
		lex(p);
		p->have = true;
	}
	return &p->tk;
}

static void
take(struct parser *p)
{
	peek(p);
	p->have = false;
}

/* Building field tests. */

static struct kq *
node(enum kq_kind kind)
{
	struct kq *q = xcalloc(1, sizeof(*q));

	q->kind = kind;
	q->column = -1;
	return q;
}

static void
add_kid(struct kq *q, struct kq *kid)
{
	q->kids = xreallocarray(q->kids, q->nkids + 1, sizeof(*q->kids));
	q->kids[q->nkids++] = kid;
}

static bool
parse_long(const char *s, int64_t *out)
{
	char *end;
	long long l;

	if (*s == '\0')
		return false;
	errno = 0;
	l = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return false;
	*out = l;
	return true;
}

/* A value read as the field's type into q->v; false after perr(). */
static bool
read_value(struct parser *p, struct kq *q, const struct token *t,
	   const char *field)
{
	char *end;
	int64_t l;

	switch (q->type) {
	case ESQL_T_KEYWORD:
		q->text = xmalloc(t->len + 1);
		memcpy(q->text, t->text, t->len + 1);
		q->v.u.s.p = q->text;
		q->v.u.s.len = t->len;
		return true;
	case ESQL_T_INTEGER:
	case ESQL_T_LONG:
		if (!parse_long(t->text, &l) ||
		    (q->type == ESQL_T_INTEGER &&
		     (l < INT32_MIN || l > INT32_MAX)))
			break;
		q->v.u.l = l;
		return true;
	case ESQL_T_DOUBLE:
		if (t->len == 0)
			break;
		errno = 0;
		q->v.u.d = strtod(t->text, &end);
		if (*end != '\0' || errno != 0 || q->v.u.d != q->v.u.d)
			break;
		return true;
	case ESQL_T_BOOLEAN:
		if (strcmp(t->text, "true") == 0)
			q->v.u.l = 1;
		else if (strcmp(t->text, "false") == 0)
			q->v.u.l = 0;
		else
			break;
		return true;
	case ESQL_T_IP:
		if (esql_ip_parse(t->text, t->len, q->v.u.ip) == 0)
			return true;
		break;
	case ESQL_T_DATETIME:
		perr(p, t->off, "KQL on the date field %s is not supported",
		     field);
		return false;
	default:
		perr(p, t->off, "KQL on the %s field %s is not supported",
		     esql_type_name(q->type), field);
		return false;
	}
	perr(p, t->off, "cannot read \"%.*s\" as %s for field %s",
	     (int)(t->len > 100 ? 100 : t->len), t->text,
	     esql_type_name(q->type), field);
	return false;
}

/* An ip field's "a.b.c.d/n" or "x::/n" (a term query takes CIDR). */
static bool
read_cidr(struct kq *q, const struct token *t)
{
	const char *slash = memchr(t->text, '/', t->len);
	int64_t bits;
	bool v4;

	if (slash == NULL || !parse_long(slash + 1, &bits))
		return false;
	if (esql_ip_parse(t->text, (size_t)(slash - t->text), q->v.u.ip) != 0)
		return false;
	v4 = memchr(t->text, ':', (size_t)(slash - t->text)) == NULL;
	if (bits < 0 || bits > (v4 ? 32 : 128))
		return false;
	q->prefix = (unsigned)bits + (v4 ? 96 : 0);
	return true;
}

/* field:value for one value token. */
static struct kq *
field_value(struct parser *p, int column, enum esql_type type,
	    const char *field, const struct token *t)
{
	struct kq *q;
	struct buf b = {0};

	if (t->kind == T_WORD && t->len == 1 && t->anywild)
		q = node(KQ_EXISTS);
	else if (t->kind == T_WORD && t->anywild) {
		if (type != ESQL_T_KEYWORD) {
			perr(p, t->off,
			     "wildcards need a keyword field, %s is %s", field,
			     esql_type_name(type));
			return NULL;
		}
		q = node(KQ_WILD);
		/* as a LIKE pattern: `*` stays, literal * ? \ are escaped */
		for (size_t i = 0; i < t->len; i++) {
			char c = t->text[i];

			if (!t->wild[i] && (c == '*' || c == '?' || c == '\\'))
				buf_append(&b, "\\", 1);
			buf_append(&b, &c, 1);
		}
		q->like = like_new(0);
		if (like_add(q->like, b.data, b.len, NULL, 0) != 0) {
			buf_free(&b);
			kq_free(q);
			perr(p, t->off, "value too long");
			return NULL;
		}
		buf_free(&b);
	} else {
		q = node(KQ_TERM);
		q->column = column;
		q->type = type;
		if (type == ESQL_T_IP && memchr(t->text, '/', t->len) != NULL) {
			q->kind = KQ_CIDR;
			if (!read_cidr(q, t)) {
				perr(p, t->off,
				     "cannot read \"%.*s\" as a CIDR block for "
				     "field %s",
				     (int)(t->len > 100 ? 100 : t->len),
				     t->text, field);
				kq_free(q);
				return NULL;
			}
			return q;
		}
		if (!read_value(p, q, t, field)) {
			kq_free(q);
			return NULL;
		}
		return q;
	}
	q->column = column;
	q->type = type;
	return q;
}

struct field {
	int column;
	enum esql_type type;
	char name[128]; /* NUL-terminated, for messages */
	size_t len;
};

static struct kq *parse_or(struct parser *p);
static struct kq *values_or(struct parser *p, const struct field *f);

static struct kq *
values_simple(struct parser *p, const struct field *f)
{
	struct token *t = peek(p);
	struct kq *q;

	if (t->kind == T_LP) {
		if (++p->depth > KQL_MAX_DEPTH) {
			perr(p, t->off, "query nested deeper than %d",
			     KQL_MAX_DEPTH);
			return NULL;
		}
		take(p);
		q = values_or(p, f);
		p->depth--;
		if (q == NULL)
			return NULL;
		if (peek(p)->kind != T_RP) {
			perr(p, peek(p)->off, "expected ')'");
			kq_free(q);
			return NULL;
		}
		take(p);
		return q;
	}
	if (t->kind == T_LBRACE) {
		perr(p, t->off, "nested queries are not supported");
		return NULL;
	}
	if (t->kind != T_WORD && t->kind != T_QUOTED) {
		perr(p, t->off, "expected a value");
		return NULL;
	}
	q = field_value(p, f->column, f->type, f->name, t);
	take(p);
	if (q != NULL && peek(p)->kind == T_WORD) {
		perr(p, peek(p)->off,
		     "an unquoted value of several words is not supported "
		     "(quote it)");
		kq_free(q);
		return NULL;
	}
	return q;
}

static struct kq *
values_not(struct parser *p, const struct field *f)
{
	struct kq *q, *n;

	if (peek(p)->kind != T_NOT)
		return values_simple(p, f);
	take(p);
	if (++p->depth > KQL_MAX_DEPTH) {
		perr(p, p->tk.off, "query nested deeper than %d",
		     KQL_MAX_DEPTH);
		return NULL;
	}
	q = values_not(p, f);
	p->depth--;
	if (q == NULL)
		return NULL;
	n = node(KQ_NOT);
	add_kid(n, q);
	return n;
}

/* A list over `sep` of items, as one n-ary node (or the one item). */
static struct kq *
values_and(struct parser *p, const struct field *f)
{
	struct kq *q = values_not(p, f), *all;

	if (q == NULL || peek(p)->kind != T_AND)
		return q;
	all = node(KQ_AND);
	add_kid(all, q);
	while (peek(p)->kind == T_AND) {
		take(p);
		if ((q = values_not(p, f)) == NULL) {
			kq_free(all);
			return NULL;
		}
		add_kid(all, q);
	}
	return all;
}

static struct kq *
values_or(struct parser *p, const struct field *f)
{
	struct kq *q = values_and(p, f), *any;

	if (q == NULL || peek(p)->kind != T_OR)
		return q;
	any = node(KQ_OR);
	add_kid(any, q);
	while (peek(p)->kind == T_OR) {
		take(p);
		if ((q = values_and(p, f)) == NULL) {
			kq_free(any);
			return NULL;
		}
		add_kid(any, q);
	}
	return any;
}

/* field:values or field OP value, with the field token current. */
static struct kq *
expression(struct parser *p)
{
	struct token *t = peek(p);
	struct field f;
	struct kq *q;
	size_t off = t->off;

	if (t->kind != T_WORD && t->kind != T_QUOTED) {
		perr(p, t->off, "expected a field name");
		return NULL;
	}
	if (t->anywild) {
		perr(p, t->off, "field name wildcards are not supported");
		return NULL;
	}
	if (t->len == 0 || t->len >= sizeof(f.name)) {
		perr(p, t->off, "bad field name");
		return NULL;
	}
	memcpy(f.name, t->text, t->len + 1);
	f.len = t->len;
	take(p);
	t = peek(p);
	if (t->kind != T_COLON && t->kind != T_OP) {
		perr(p, off, "free text without a field is not supported");
		return NULL;
	}
	if (t->kind == T_COLON) {
		take(p);
		if (peek(p)->kind == T_OP) {
			perr(p, peek(p)->off, "expected a value");
			return NULL;
		}
		if (peek(p)->kind == T_LBRACE) {
			perr(p, peek(p)->off,
			     "nested queries are not supported");
			return NULL;
		}
	}
	if (p->resolve(p->arg, f.name, f.len, &f.column, &f.type) != 0) {
		perr(p, off, "unknown field %s", f.name);
		return NULL;
	}
	t = peek(p);
	if (t->kind != T_OP) /* ListOfValues: a value, or a list */
		return values_simple(p, &f);
	/* fieldRangeQuery: field OP literal */
	q = node(KQ_RANGE);
	memcpy(q->op, t->op, sizeof(q->op));
	q->column = f.column;
	q->type = f.type;
	take(p);
	t = peek(p);
	if ((t->kind != T_WORD && t->kind != T_QUOTED) || t->anywild) {
		perr(p, t->off, "expected a value after %s", q->op);
		kq_free(q);
		return NULL;
	}
	if (f.type == ESQL_T_BOOLEAN || f.type == ESQL_T_NULL) {
		perr(p, t->off, "range on the %s field %s is not supported",
		     esql_type_name(f.type), f.name);
		kq_free(q);
		return NULL;
	}
	if (!read_value(p, q, t, f.name)) {
		kq_free(q);
		return NULL;
	}
	take(p);
	return q;
}

static struct kq *
parse_simple(struct parser *p)
{
	struct token *t = peek(p);
	struct kq *q;

	if (t->kind != T_LP)
		return expression(p);
	if (++p->depth > KQL_MAX_DEPTH) {
		perr(p, t->off, "query nested deeper than %d", KQL_MAX_DEPTH);
		return NULL;
	}
	take(p);
	q = parse_or(p);
	p->depth--;
	if (q == NULL)
		return NULL;
	if (peek(p)->kind != T_RP) {
		perr(p, peek(p)->off, "expected ')'");
		kq_free(q);
		return NULL;
	}
	take(p);
	return q;
}

/* logicalNot: NOT simpleQuery */
static struct kq *
parse_not(struct parser *p)
{
	struct kq *q, *n;

	if (peek(p)->kind != T_NOT)
		return parse_simple(p);
	take(p);
	if ((q = parse_simple(p)) == NULL)
		return NULL;
	n = node(KQ_NOT);
	add_kid(n, q);
	return n;
}

static struct kq *
parse_and(struct parser *p)
{
	struct kq *q = parse_not(p), *all;

	if (q == NULL || peek(p)->kind != T_AND)
		return q;
	all = node(KQ_AND);
	add_kid(all, q);
	while (peek(p)->kind == T_AND) {
		take(p);
		if ((q = parse_not(p)) == NULL) {
			kq_free(all);
			return NULL;
		}
		add_kid(all, q);
	}
	return all;
}

static struct kq *
parse_or(struct parser *p)
{
	struct kq *q = parse_and(p), *any;

	if (q == NULL || peek(p)->kind != T_OR)
		return q;
	any = node(KQ_OR);
	add_kid(any, q);
	while (peek(p)->kind == T_OR) {
		take(p);
		if ((q = parse_and(p)) == NULL) {
			kq_free(any);
			return NULL;
		}
		add_kid(any, q);
	}
	return any;
}

struct kql *
kql_new(const char *q, size_t len, esql_resolve_fn *resolve, void *arg,
	char *err, size_t errlen)
{
	struct parser p;
	struct kq *root = NULL;
	struct kql *k;

	memset(&p, 0, sizeof(p));
	p.s = q;
	p.len = len;
	p.resolve = resolve;
	p.arg = arg;
	p.err = err;
	p.errlen = errlen;
	if (len > KQL_MAX_QUERY) {
		perr(&p, KQL_MAX_QUERY, "query longer than %d bytes",
		     KQL_MAX_QUERY);
		return NULL;
	}
	if (peek(&p)->kind == T_END && !p.failed)
		root = node(KQ_ALL); /* the empty query matches all */
	else if ((root = parse_or(&p)) != NULL && peek(&p)->kind != T_END) {
		perr(&p, p.tk.off, "unexpected %s",
		     p.tk.kind == T_RP ? "')'" : "text");
		kq_free(root);
		root = NULL;
	}
	if (p.failed) {
		kq_free(root);
		root = NULL;
	}
	tok_clear(&p.tk);
	if (root == NULL)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	k->root = root;
	k->text = xmalloc(len + 1);
	if (len > 0)
		memcpy(k->text, q, len);
	k->text[len] = '\0';
	k->len = len;
	return k;
}

void
kql_free(struct kql *k)
{
	if (k == NULL)
		return;
	kq_free(k->root);
	free(k->text);
	free(k);
}

const char *
kql_text(const struct kql *k, size_t *len)
{
	*len = k->len;
	return k->text;
}

/* Matching. */

static bool
in_cidr(const struct kq *q, const unsigned char ip[16])
{
	unsigned bits = q->prefix;

	for (unsigned i = 0; i < 16 && bits > 0; i++) {
		unsigned take = bits >= 8 ? 8 : bits;
		unsigned char mask = (unsigned char)(0xff00u >> take);

		if ((ip[i] & mask) != (q->v.u.ip[i] & mask))
			return false;
		bits -= take;
	}
	return true;
}

static bool
test_one(const struct kq *q, enum esql_type t, const struct esql_scalar *s)
{
	int c;

	if (q->kind == KQ_WILD)
		return like_match(q->like, s->u.s.p, s->u.s.len);
	if (q->kind == KQ_CIDR)
		return in_cidr(q, s->u.ip);
	c = esql_scalar_cmp(t, s, &q->v);
	if (q->kind == KQ_TERM)
		return c == 0;
	if (q->op[0] == '<')
		return q->op[1] == '=' ? c <= 0 : c < 0;
	return q->op[1] == '=' ? c >= 0 : c > 0;
}

static bool
kq_match(const struct kq *q, const struct esql_val *cols)
{
	const struct esql_val *v;
	const struct esql_scalar *items;

	switch (q->kind) {
	case KQ_ALL:
		return true;
	case KQ_AND:
		for (size_t i = 0; i < q->nkids; i++)
			if (!kq_match(q->kids[i], cols))
				return false;
		return true;
	case KQ_OR:
		for (size_t i = 0; i < q->nkids; i++)
			if (kq_match(q->kids[i], cols))
				return true;
		return false;
	case KQ_NOT:
		return !kq_match(q->kids[0], cols);
	default:
		break;
	}
	v = &cols[q->column];
	if (q->kind == KQ_EXISTS)
		return v->n > 0;
	items = esql_val_items(v);
	for (size_t i = 0; i < v->n; i++)
		if (test_one(q, q->type, &items[i]))
			return true;
	return false;
}

bool
kql_match(const struct kql *k, const struct esql_val *cols)
{
	return kq_match(k->root, cols);
}

static void
kq_columns(const struct kq *q, void (*cb)(void *arg, int column), void *arg)
{
	if (q->column >= 0)
		cb(arg, q->column);
	for (size_t i = 0; i < q->nkids; i++)
		kq_columns(q->kids[i], cb, arg);
}

void
kql_columns(const struct kql *k, void (*cb)(void *arg, int column), void *arg)
{
	kq_columns(k->root, cb, arg);
}

static bool
kq_needles(const struct kq *q, struct esql_needles *out)
{
	static const enum esql_needle_where place[] = {ESQL_NEEDLE_ANYWHERE,
						       ESQL_NEEDLE_START,
						       ESQL_NEEDLE_END,
						       ESQL_NEEDLE_WHOLE};
	struct esql_needles sub;
	const char *p;
	size_t len;
	int at;
	bool have = false;

	out->n = 0;
	switch (q->kind) {
	case KQ_TERM:
	case KQ_WILD:
		/*
		 * A keyword term or wildcard matches when any value does:
		 * that value is the term whole, or holds the wildcard's
		 * literal run where the pattern places it (exact case).
		 */
		if (q->type != ESQL_T_KEYWORD)
			return false;
		if (q->kind == KQ_TERM) {
			p = q->text;
			len = q->v.u.s.len;
			at = LIKE_AT_START | LIKE_AT_END;
		} else if (!like_needle(q->like, 0, &p, &len, &at))
			return false;
		if (len == 0)
			return false;
		out->v[0].column = q->column;
		out->v[0].p = p;
		out->v[0].len = len;
		out->v[0].where = place[at];
		out->v[0].fold = false;
		out->n = 1;
		return true;
	case KQ_OR:
		for (size_t i = 0; i < q->nkids; i++) {
			if (!kq_needles(q->kids[i], &sub) ||
			    out->n + sub.n > ESQL_NEEDLES_MAX) {
				out->n = 0;
				return false;
			}
			memcpy(out->v + out->n, sub.v,
			       sub.n * sizeof(sub.v[0]));
			out->n += sub.n;
		}
		return out->n > 0;
	case KQ_AND:
		for (size_t i = 0; i < q->nkids; i++)
			if (kq_needles(q->kids[i], &sub) &&
			    (!have || esql_needles_better(&sub, out))) {
				*out = sub;
				have = true;
			}
		return have;
	default:
		return false;
	}
}

bool
kql_needles(const struct kql *k, struct esql_needles *out)
{
	return kq_needles(k->root, out);
}

size_t
kql_needle_groups(const struct kql *k, struct esql_needles *out, size_t max)
{
	const struct kq *q = k->root;
	size_t n = 0;

	if (q->kind != KQ_AND)
		return max > 0 && kq_needles(q, out) && out->n > 0 ? 1 : 0;
	for (size_t i = 0; i < q->nkids && n < max; i++)
		if (kq_needles(q->kids[i], &out[n]) && out[n].n > 0)
			n++;
	return n;
}
