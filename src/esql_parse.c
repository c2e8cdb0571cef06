/*
 * esql_parse: the ES|QL pipeline grammar of Elasticsearch's
 * EsqlBaseParser.g4, restricted to the commands a streaming rule runs,
 * and the canonical printer.
 *
 * Expression precedence, loosest first, as in EsqlBaseParser.g4:
 * OR; AND; NOT; a predicate on one value ([NOT] LIKE, [NOT] RLIKE,
 * [NOT] IN, IS [NOT] NULL); one comparison (== != < <= > >=, not
 * chained); + and -; * / %; unary - and +; the :: cast.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esql.h"
#include "esql_int.h"
#include "util.h"

struct parser {
	struct esql_lexer lx;
	struct esql_ast_arena *a;
	struct esql_token tok; /* lookahead, when have */
	bool have;
	enum esql_lex_mode tok_mode;
	/* Lexer state before the lookahead, to lex it again in another
	 * mode. */
	const char *save_p;
	int save_line, save_col;
	const char *last_end; /* just past the last token taken */
	int depth;            /* parser recursion */
};

/* Words that are keywords where an expression or a name may stand. */
static const char *const keywords[] = {
    "and",  "or",   "not",   "in",    "is",       "like",  "rlike",
    "null", "true", "false", "asc",   "desc",     "nulls", "first",
    "last", "by",   "as",    "where", "metadata", "on",    "with",
};

static bool
word_is_keyword(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i]) == len &&
		    strncasecmp(keywords[i], s, len) == 0)
			return true;
	return false;
}

static bool
tok_is_word(const struct esql_token *t)
{
	return t->kind == ESQL_TK_IDENT && !t->quoted && !t->dotted;
}

static bool
tok_is_kw(const struct esql_token *t, const char *kw)
{
	return tok_is_word(t) && strcasecmp(t->text, kw) == 0;
}

static bool
tok_is_keyword(const struct esql_token *t)
{
	return tok_is_word(t) && word_is_keyword(t->text, t->len);
}

static bool
failed(const struct parser *p)
{
	return p->lx.failed;
}

#define perr(p, line, col, ...) esql_lex_error(&(p)->lx, line, col, __VA_ARGS__)

static const struct esql_token *
peek_mode(struct parser *p, enum esql_lex_mode mode)
{
	static const struct esql_token eof = {.kind = ESQL_TK_EOF};

	if (p->have && p->tok_mode != mode) {
		p->lx.p = p->save_p;
		p->lx.line = p->save_line;
		p->lx.col = p->save_col;
		p->have = false;
	}
	if (!p->have) {
		p->save_p = p->lx.p;
		p->save_line = p->lx.line;
		p->save_col = p->lx.col;
		if (esql_lex_next(&p->lx, mode, &p->tok) == -1) {
			p->tok = eof;
			p->tok.line = p->lx.line;
			p->tok.col = p->lx.col;
			return &p->tok;
		}
		p->have = true;
		p->tok_mode = mode;
	}
	return &p->tok;
}

static const struct esql_token *
peek(struct parser *p)
{
	return peek_mode(p, ESQL_LEX_EXPR);
}

/* Consumes the lookahead; returns a copy of it. */
static struct esql_token
take(struct parser *p)
{
	struct esql_token t = p->tok;

	p->have = false;
	p->last_end = p->lx.p;
	return t;
}

static void
tok_desc(const struct esql_token *t, char *out, size_t n)
{
	static const char *const sym[] = {
	    [ESQL_TK_PIPE] = "'|'",    [ESQL_TK_COMMA] = "','",
	    [ESQL_TK_LP] = "'('",      [ESQL_TK_RP] = "')'",
	    [ESQL_TK_ASSIGN] = "'='",  [ESQL_TK_EQ] = "'=='",
	    [ESQL_TK_NEQ] = "'!='",    [ESQL_TK_LT] = "'<'",
	    [ESQL_TK_LTE] = "'<='",    [ESQL_TK_GT] = "'>'",
	    [ESQL_TK_GTE] = "'>='",    [ESQL_TK_CIEQ] = "'=~'",
	    [ESQL_TK_PLUS] = "'+'",    [ESQL_TK_MINUS] = "'-'",
	    [ESQL_TK_STAR] = "'*'",    [ESQL_TK_SLASH] = "'/'",
	    [ESQL_TK_PERCENT] = "'%'", [ESQL_TK_CAST] = "'::'",
	    [ESQL_TK_COLON] = "':'",   [ESQL_TK_PARAM] = "'?'",
	    [ESQL_TK_LBRACE] = "'{'",
	};

	switch (t->kind) {
	case ESQL_TK_EOF:
		snprintf(out, n, "end of query");
		break;
	case ESQL_TK_IDENT:
	case ESQL_TK_INT:
	case ESQL_TK_DECIMAL:
	case ESQL_TK_SOURCE:
		snprintf(out, n, "'%.40s'", t->text);
		break;
	case ESQL_TK_STRING:
		snprintf(out, n, "a string");
		break;
	case ESQL_TK_OTHER:
		snprintf(out, n, "%s", t->raw);
		break;
	default:
		snprintf(out, n, "%s", sym[t->kind] ? sym[t->kind] : "token");
		break;
	}
}

static void
unexpected(struct parser *p, const struct esql_token *t, const char *want)
{
	char d[64];

	if (failed(p))
		return;
	tok_desc(t, d, sizeof(d));
	if (want != NULL)
		perr(p, t->line, t->col, "expected %s, found %s", want, d);
	else
		perr(p, t->line, t->col, "unexpected %s", d);
}

static int
expect(struct parser *p, enum esql_tok kind, const char *want)
{
	const struct esql_token *t = peek(p);

	if (t->kind != kind) {
		unexpected(p, t, want);
		return -1;
	}
	take(p);
	return 0;
}

static struct esql_node *
node_new(struct parser *p, enum esql_node_kind kind, int line, int col)
{
	struct esql_node *n = esql_ast_arena_alloc(p->a, sizeof(*n));

	n->kind = kind;
	n->line = line;
	n->col = col;
	n->height = 1;
	return n;
}

/* Gives n its children; NULL when the tree grows too deep. */
static struct esql_node *
node_args(struct parser *p, struct esql_node *n, struct esql_node **args,
	  size_t nargs)
{
	size_t i;

	n->args =
	    esql_ast_arena_alloc(p->a, (nargs ? nargs : 1) * sizeof(*args));
	for (i = 0; i < nargs; i++) {
		n->args[i] = args[i];
		if (args[i]->height + 1 > n->height)
			n->height = args[i]->height + 1;
	}
	n->nargs = nargs;
	if (n->height > ESQL_MAX_DEPTH) {
		perr(p, n->line, n->col, "expression nested too deeply");
		return NULL;
	}
	return n;
}

static struct esql_node *
node2(struct parser *p, enum esql_node_kind kind, int line, int col,
      struct esql_node *a, struct esql_node *b)
{
	struct esql_node *args[2] = {a, b};
	struct esql_node *n = node_new(p, kind, line, col);

	return node_args(p, n, args, b != NULL ? 2 : 1);
}

static struct esql_node *parse_expr(struct parser *p);

/* A growable list of pointers, copied into the arena when done. */
struct plist {
	void **v;
	size_t n, cap;
};

static int
plist_push(struct parser *p, struct plist *l, void *x, int line, int col)
{
	if (l->n >= ESQL_MAX_ITEMS) {
		perr(p, line, col, "more than %d items", ESQL_MAX_ITEMS);
		return -1;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = x;
	return 0;
}

static void **
plist_done(struct parser *p, struct plist *l, size_t *n)
{
	void **v = esql_ast_arena_alloc(p->a, (l->n ? l->n : 1) * sizeof(*v));

	if (l->n > 0)
		memcpy(v, l->v, l->n * sizeof(*v));
	*n = l->n;
	free(l->v);
	memset(l, 0, sizeof(*l));
	return v;
}

static bool
enter(struct parser *p, const struct esql_token *t)
{
	if (++p->depth > ESQL_MAX_DEPTH) {
		perr(p, t->line, t->col, "expression nested too deeply");
		return false;
	}
	return true;
}

static struct esql_node *
parse_number(struct parser *p, const struct esql_token *t)
{
	struct esql_node *n;
	char *end;
	long long v;
	double d;

	if (t->kind == ESQL_TK_INT) {
		errno = 0;
		v = strtoll(t->text, &end, 10);
		if (errno == 0 && *end == '\0') {
			n = node_new(p, ESQL_N_INT, t->line, t->col);
			n->i = v;
			return n;
		}
		/* Past int64: ES|QL reads it as a wider number; a double
		 * here. */
	}
	errno = 0;
	d = strtod(t->text, &end);
	if (*end != '\0' || !isfinite(d)) {
		perr(p, t->line, t->col, "number out of range: %.40s", t->text);
		return NULL;
	}
	n = node_new(p, ESQL_N_DOUBLE, t->line, t->col);
	n->d = d;
	return n;
}

static struct esql_node *
parse_call(struct parser *p, const struct esql_token *name)
{
	struct plist args = {0};
	struct esql_node *n, *arg;
	const struct esql_token *t;
	size_t nargs;
	void **v;

	if (name->quoted || name->dotted ||
	    word_is_keyword(name->text, name->len)) {
		if (!(tok_is_kw(name, "first") || tok_is_kw(name, "last"))) {
			perr(p, name->line, name->col,
			     "invalid function name '%.40s'", name->text);
			return NULL;
		}
	}
	if (strcasecmp(name->text, "match") == 0 ||
	    strcasecmp(name->text, "match_phrase") == 0 ||
	    strcasecmp(name->text, "multi_match") == 0 ||
	    strcasecmp(name->text, "qstr") == 0) {
		perr(p, name->line, name->col, "%.40s() is not supported",
		     name->text);
		return NULL;
	}
	take(p); /* ( */
	n = node_new(p, ESQL_N_CALL, name->line, name->col);
	n->s = name->text;
	n->len = name->len;
	t = peek(p);
	if (t->kind == ESQL_TK_STAR) {
		arg = node_new(p, ESQL_N_STAR, t->line, t->col);
		take(p);
		plist_push(p, &args, arg, 0, 0);
	} else if (t->kind != ESQL_TK_RP) {
		for (;;) {
			t = peek(p);
			if (t->kind == ESQL_TK_LBRACE) {
				perr(p, t->line, t->col,
				     "map literals are not supported");
				goto fail;
			}
			if ((arg = parse_expr(p)) == NULL)
				goto fail;
			if (plist_push(p, &args, arg, t->line, t->col) == -1)
				goto fail;
			if (peek(p)->kind != ESQL_TK_COMMA)
				break;
			take(p);
		}
	}
	if (expect(p, ESQL_TK_RP, "')'") == -1)
		goto fail;
	v = plist_done(p, &args, &nargs);
	return node_args(p, n, (struct esql_node **)v, nargs);
fail:
	free(args.v);
	return NULL;
}

static struct esql_node *
parse_primary(struct parser *p)
{
	const struct esql_token *t = peek(p);
	struct esql_token tk;
	struct esql_node *n;
	enum esql_span_unit u;

	switch (t->kind) {
	case ESQL_TK_INT:
	case ESQL_TK_DECIMAL:
		tk = take(p);
		if ((n = parse_number(p, &tk)) == NULL)
			return NULL;
		t = peek(p);
		if (!tok_is_word(t) || tok_is_keyword(t))
			return n;
		if (!esql_span_unit_parse(t->text, t->len, &u)) {
			perr(p, t->line, t->col, "unknown time unit '%.40s'",
			     t->text);
			return NULL;
		}
		if (n->kind != ESQL_N_INT) {
			perr(p, tk.line, tk.col,
			     "a time span needs an integer count");
			return NULL;
		}
		take(p);
		n->kind = ESQL_N_SPAN;
		n->span_unit = u;
		return n;
	case ESQL_TK_STRING:
		tk = take(p);
		n = node_new(p, ESQL_N_STRING, tk.line, tk.col);
		n->s = tk.text;
		n->len = tk.len;
		return n;
	case ESQL_TK_LP:
		take(p);
		n = parse_expr(p); /* counts the level */
		if (n == NULL || expect(p, ESQL_TK_RP, "')'") == -1)
			return NULL;
		return n;
	case ESQL_TK_PARAM:
		perr(p, t->line, t->col, "query parameters are not supported");
		return NULL;
	case ESQL_TK_LBRACE:
		perr(p, t->line, t->col, "map literals are not supported");
		return NULL;
	case ESQL_TK_IDENT:
		tk = take(p);
		if (tok_is_kw(&tk, "null"))
			return node_new(p, ESQL_N_NULL, tk.line, tk.col);
		if (tok_is_kw(&tk, "true") || tok_is_kw(&tk, "false")) {
			n = node_new(p, ESQL_N_BOOL, tk.line, tk.col);
			n->b = tok_is_kw(&tk, "true");
			return n;
		}
		if (peek(p)->kind == ESQL_TK_LP)
			return parse_call(p, &tk);
		if (tok_is_keyword(&tk)) {
			unexpected(p, &tk, NULL);
			return NULL;
		}
		if (tk.len == 0) {
			perr(p, tk.line, tk.col, "empty name");
			return NULL;
		}
		n = node_new(p, ESQL_N_FIELD, tk.line, tk.col);
		n->s = tk.text;
		n->len = tk.len;
		return n;
	default:
		unexpected(p, t, NULL);
		return NULL;
	}
}

static struct esql_node *
parse_postfix(struct parser *p)
{
	struct esql_node *n = parse_primary(p), *c;
	const struct esql_token *t;
	struct esql_token tk;
	size_t i;
	char *ty;

	while (n != NULL && peek(p)->kind == ESQL_TK_CAST) {
		tk = take(p);
		t = peek(p);
		if (!tok_is_word(t)) {
			unexpected(p, t, "a type name");
			return NULL;
		}
		ty = esql_ast_arena_strndup(p->a, t->text, t->len);
		for (i = 0; i < t->len; i++)
			if (ty[i] >= 'A' && ty[i] <= 'Z')
				ty[i] += 'a' - 'A';
		take(p);
		c = node2(p, ESQL_N_CAST, tk.line, tk.col, n, NULL);
		if (c == NULL)
			return NULL;
		c->s = ty;
		c->len = t->len;
		n = c;
	}
	return n;
}

static struct esql_node *
parse_unary(struct parser *p)
{
	const struct esql_token *t = peek(p);
	struct esql_token tk;
	struct esql_node *n;

	if (t->kind != ESQL_TK_MINUS && t->kind != ESQL_TK_PLUS)
		return parse_postfix(p);
	tk = take(p);
	if (!enter(p, &tk))
		return NULL;
	n = parse_unary(p);
	p->depth--;
	if (n == NULL || tk.kind == ESQL_TK_PLUS)
		return n;
	return node2(p, ESQL_N_NEG, tk.line, tk.col, n, NULL);
}

static struct esql_node *
binary(struct parser *p, enum esql_binop op, const struct esql_token *at,
       struct esql_node *l, struct esql_node *r)
{
	struct esql_node *n;

	(void)at;
	if (l == NULL || r == NULL)
		return NULL;
	n = node2(p, ESQL_N_BINARY, l->line, l->col, l, r);
	if (n != NULL)
		n->op = op;
	return n;
}

static struct esql_node *
parse_term(struct parser *p)
{
	struct esql_node *n = parse_unary(p);
	struct esql_token tk;
	enum esql_binop op;

	while (n != NULL) {
		switch (peek(p)->kind) {
		case ESQL_TK_STAR:
			op = ESQL_BIN_MUL;
			break;
		case ESQL_TK_SLASH:
			op = ESQL_BIN_DIV;
			break;
		case ESQL_TK_PERCENT:
			op = ESQL_BIN_MOD;
			break;
		default:
			return n;
		}
		tk = take(p);
		n = binary(p, op, &tk, n, parse_unary(p));
	}
	return n;
}

static struct esql_node *
parse_arith(struct parser *p)
{
	struct esql_node *n = parse_term(p);
	struct esql_token tk;
	enum esql_binop op;

	while (n != NULL) {
		switch (peek(p)->kind) {
		case ESQL_TK_PLUS:
			op = ESQL_BIN_ADD;
			break;
		case ESQL_TK_MINUS:
			op = ESQL_BIN_SUB;
			break;
		default:
			return n;
		}
		tk = take(p);
		n = binary(p, op, &tk, n, parse_term(p));
	}
	return n;
}

static bool
cmp_op(enum esql_tok k, enum esql_binop *op)
{
	switch (k) {
	case ESQL_TK_EQ:
		*op = ESQL_BIN_EQ;
		return true;
	case ESQL_TK_NEQ:
		*op = ESQL_BIN_NEQ;
		return true;
	case ESQL_TK_LT:
		*op = ESQL_BIN_LT;
		return true;
	case ESQL_TK_LTE:
		*op = ESQL_BIN_LTE;
		return true;
	case ESQL_TK_GT:
		*op = ESQL_BIN_GT;
		return true;
	case ESQL_TK_GTE:
		*op = ESQL_BIN_GTE;
		return true;
	default:
		return false;
	}
}

static struct esql_node *
parse_value(struct parser *p)
{
	struct esql_node *n = parse_arith(p);
	const struct esql_token *t;
	struct esql_token tk;
	enum esql_binop op;

	if (n == NULL)
		return NULL;
	t = peek(p);
	if (t->kind == ESQL_TK_CIEQ) {
		perr(p, t->line, t->col, "the =~ operator is not supported");
		return NULL;
	}
	if (!cmp_op(t->kind, &op))
		return n;
	tk = take(p);
	n = binary(p, op, &tk, n, parse_arith(p));
	if (n != NULL && cmp_op(peek(p)->kind, &op)) {
		unexpected(p, peek(p), NULL);
		return NULL;
	}
	return n;
}

/* LIKE / RLIKE patterns: a string, or a parenthesised list of them. */
static struct esql_node *
parse_like(struct parser *p, struct esql_node *v, const struct esql_token *kw,
	   bool negated)
{
	struct plist l = {0};
	struct esql_node *n, *s;
	const struct esql_token *t;
	struct esql_token tk;
	bool list = false;
	size_t np;
	void **vv;

	n = node_new(p, tok_is_kw(kw, "like") ? ESQL_N_LIKE : ESQL_N_RLIKE,
		     v->line, v->col);
	n->negated = negated;
	plist_push(p, &l, v, 0, 0);
	if (peek(p)->kind == ESQL_TK_LP) {
		take(p);
		list = true;
	}
	for (;;) {
		t = peek(p);
		if (t->kind != ESQL_TK_STRING) {
			if (!failed(p))
				perr(p, t->line, t->col,
				     "%s needs a string pattern",
				     n->kind == ESQL_N_LIKE ? "LIKE" : "RLIKE");
			goto fail;
		}
		tk = take(p);
		s = node_new(p, ESQL_N_STRING, tk.line, tk.col);
		s->s = tk.text;
		s->len = tk.len;
		if (plist_push(p, &l, s, tk.line, tk.col) == -1)
			goto fail;
		if (!list || peek(p)->kind != ESQL_TK_COMMA)
			break;
		take(p);
	}
	if (list && expect(p, ESQL_TK_RP, "')'") == -1)
		goto fail;
	vv = plist_done(p, &l, &np);
	return node_args(p, n, (struct esql_node **)vv, np);
fail:
	free(l.v);
	return NULL;
}

static struct esql_node *
parse_in(struct parser *p, struct esql_node *v, bool negated)
{
	struct plist l = {0};
	struct esql_node *n, *e;
	const struct esql_token *t;
	size_t np;
	void **vv;

	n = node_new(p, ESQL_N_IN, v->line, v->col);
	n->negated = negated;
	plist_push(p, &l, v, 0, 0);
	if (expect(p, ESQL_TK_LP, "'('") == -1)
		goto fail;
	for (;;) {
		t = peek(p);
		if ((e = parse_expr(p)) == NULL)
			goto fail;
		if (plist_push(p, &l, e, t->line, t->col) == -1)
			goto fail;
		if (peek(p)->kind != ESQL_TK_COMMA)
			break;
		take(p);
	}
	if (expect(p, ESQL_TK_RP, "')'") == -1)
		goto fail;
	vv = plist_done(p, &l, &np);
	return node_args(p, n, (struct esql_node **)vv, np);
fail:
	free(l.v);
	return NULL;
}

static struct esql_node *
parse_predicate(struct parser *p)
{
	struct esql_node *v = parse_value(p), *n;
	const struct esql_token *t;
	struct esql_token kw;
	bool negated = false;

	if (v == NULL)
		return NULL;
	t = peek(p);
	if (t->kind == ESQL_TK_COLON) {
		perr(p, t->line, t->col,
		     "the ':' match operator is not supported");
		return NULL;
	}
	if (tok_is_kw(t, "not")) {
		take(p);
		negated = true;
		t = peek(p);
		if (!tok_is_kw(t, "like") && !tok_is_kw(t, "rlike") &&
		    !tok_is_kw(t, "in")) {
			unexpected(p, t, "LIKE, RLIKE or IN after NOT");
			return NULL;
		}
	}
	if (tok_is_kw(t, "like") || tok_is_kw(t, "rlike")) {
		kw = take(p);
		return parse_like(p, v, &kw, negated);
	}
	if (tok_is_kw(t, "in")) {
		take(p);
		return parse_in(p, v, negated);
	}
	if (tok_is_kw(t, "is")) {
		take(p);
		t = peek(p);
		if (tok_is_kw(t, "not")) {
			take(p);
			negated = true;
			t = peek(p);
		}
		if (!tok_is_kw(t, "null")) {
			unexpected(p, t, "NULL");
			return NULL;
		}
		take(p);
		n = node2(p, ESQL_N_ISNULL, v->line, v->col, v, NULL);
		if (n != NULL)
			n->negated = negated;
		return n;
	}
	return v;
}

static struct esql_node *
parse_not(struct parser *p)
{
	const struct esql_token *t = peek(p);
	struct esql_token tk;
	struct esql_node *n;

	if (!tok_is_kw(t, "not"))
		return parse_predicate(p);
	tk = take(p);
	if (!enter(p, &tk))
		return NULL;
	n = parse_not(p);
	p->depth--;
	if (n == NULL)
		return NULL;
	return node2(p, ESQL_N_NOT, tk.line, tk.col, n, NULL);
}

static struct esql_node *
parse_and(struct parser *p)
{
	struct esql_node *n = parse_not(p);
	struct esql_token tk;

	while (n != NULL && tok_is_kw(peek(p), "and")) {
		tk = take(p);
		n = binary(p, ESQL_BIN_AND, &tk, n, parse_not(p));
	}
	return n;
}

static struct esql_node *
parse_expr(struct parser *p)
{
	struct esql_node *n;
	struct esql_token tk;

	if (!enter(p, peek(p)))
		return NULL;
	n = parse_and(p);
	while (n != NULL && tok_is_kw(peek(p), "or")) {
		tk = take(p);
		n = binary(p, ESQL_BIN_OR, &tk, n, parse_and(p));
	}
	p->depth--;
	return n;
}

/* A column name (not a pattern); NULL on error. */
static const char *
parse_name(struct parser *p, enum esql_lex_mode mode, int *line, int *col)
{
	const struct esql_token *t = peek_mode(p, mode);

	if (t->kind != ESQL_TK_IDENT || tok_is_keyword(t)) {
		unexpected(p, t, "a column name");
		return NULL;
	}
	if (t->len == 0) {
		perr(p, t->line, t->col, "empty name");
		return NULL;
	}
	if (line != NULL) {
		*line = t->line;
		*col = t->col;
	}
	return take(p).text;
}

static int
parse_from(struct parser *p, struct esql_cmd *c)
{
	struct plist l = {0};
	const struct esql_token *t;
	struct esql_token tk;

	for (;;) {
		t = peek_mode(p, ESQL_LEX_SOURCE);
		if (t->kind != ESQL_TK_SOURCE && t->kind != ESQL_TK_STRING) {
			unexpected(p, t, "an index pattern");
			goto fail;
		}
		tk = take(p);
		if (plist_push(p, &l, (void *)tk.text, tk.line, tk.col) == -1)
			goto fail;
		if (peek_mode(p, ESQL_LEX_SOURCE)->kind != ESQL_TK_COMMA)
			break;
		take(p);
	}
	c->names = (const char **)plist_done(p, &l, &c->nnames);
	t = peek_mode(p, ESQL_LEX_SOURCE);
	if (t->kind != ESQL_TK_SOURCE || strcasecmp(t->text, "metadata") != 0)
		return 0;
	take(p);
	for (;;) {
		const char *name = parse_name(p, ESQL_LEX_EXPR, NULL, NULL);

		if (name == NULL || plist_push(p, &l, (void *)name, 0, 0) == -1)
			goto fail;
		if (peek(p)->kind != ESQL_TK_COMMA)
			break;
		take(p);
	}
	c->metadata = (const char **)plist_done(p, &l, &c->nmetadata);
	return 0;
fail:
	free(l.v);
	return -1;
}

static int
parse_patterns(struct parser *p, struct esql_cmd *c)
{
	struct plist l = {0};
	const char *name;

	for (;;) {
		name = parse_name(p, ESQL_LEX_PATTERN, NULL, NULL);
		if (name == NULL ||
		    plist_push(p, &l, (void *)name, 0, 0) == -1) {
			free(l.v);
			return -1;
		}
		if (peek_mode(p, ESQL_LEX_PATTERN)->kind != ESQL_TK_COMMA)
			break;
		take(p);
	}
	c->names = (const char **)plist_done(p, &l, &c->nnames);
	return 0;
}

/*
 * Items of EVAL, STATS and BY: [name =] expr, and for STATS aggregates
 * an optional WHERE cond.
 */
static int
parse_items(struct parser *p, struct esql_item **out, size_t *nout, bool agg)
{
	struct plist l = {0};
	struct esql_item *it;
	const struct esql_token *t;
	const char *start;
	size_t i;
	void **v;

	for (;;) {
		t = peek(p);
		it = esql_ast_arena_alloc(p->a, sizeof(*it));
		it->line = t->line;
		it->col = t->col;
		start = t->pos;
		if ((it->expr = parse_expr(p)) == NULL)
			goto fail;
		if (peek(p)->kind == ESQL_TK_ASSIGN) {
			if (it->expr->kind != ESQL_N_FIELD) {
				unexpected(p, peek(p), NULL);
				goto fail;
			}
			take(p);
			it->name = it->expr->s;
			start = peek(p)->pos;
			if ((it->expr = parse_expr(p)) == NULL)
				goto fail;
		}
		it->text_len = (size_t)(p->last_end - start);
		it->text = esql_ast_arena_strndup(p->a, start, it->text_len);
		if (agg && tok_is_kw(peek(p), "where")) {
			take(p);
			if ((it->where = parse_expr(p)) == NULL)
				goto fail;
		}
		if (plist_push(p, &l, it, it->line, it->col) == -1)
			goto fail;
		if (peek(p)->kind != ESQL_TK_COMMA)
			break;
		take(p);
	}
	v = plist_done(p, &l, nout);
	*out = esql_ast_arena_alloc(p->a, (*nout ? *nout : 1) * sizeof(**out));
	for (i = 0; i < *nout; i++)
		(*out)[i] = *(struct esql_item *)v[i];
	return 0;
fail:
	free(l.v);
	return -1;
}

static bool
at_end_of_command(struct parser *p)
{
	enum esql_tok k = peek(p)->kind;

	return k == ESQL_TK_PIPE || k == ESQL_TK_EOF;
}

static int
parse_stats(struct parser *p, struct esql_cmd *c)
{
	if (!tok_is_kw(peek(p), "by") && !at_end_of_command(p) &&
	    parse_items(p, &c->items, &c->nitems, true) == -1)
		return -1;
	if (tok_is_kw(peek(p), "by")) {
		take(p);
		if (parse_items(p, &c->by, &c->nby, false) == -1)
			return -1;
	}
	if (c->nitems == 0 && c->nby == 0) {
		perr(p, c->line, c->col,
		     "STATS needs an aggregate or a BY group");
		return -1;
	}
	return 0;
}

static int
parse_rename(struct parser *p, struct esql_cmd *c)
{
	struct plist l = {0};
	struct esql_rename *r;
	const char *a, *b;
	size_t i;
	void **v;
	int line, col;

	for (;;) {
		if ((a = parse_name(p, ESQL_LEX_EXPR, &line, &col)) == NULL)
			goto fail;
		r = esql_ast_arena_alloc(p->a, sizeof(*r));
		r->line = line;
		r->col = col;
		if (tok_is_kw(peek(p), "as")) {
			take(p);
			if ((b = parse_name(p, ESQL_LEX_EXPR, NULL, NULL)) ==
			    NULL)
				goto fail;
			r->from = a;
			r->to = b;
		} else if (peek(p)->kind == ESQL_TK_ASSIGN) {
			take(p);
			if ((b = parse_name(p, ESQL_LEX_EXPR, NULL, NULL)) ==
			    NULL)
				goto fail;
			r->from = b;
			r->to = a;
		} else {
			unexpected(p, peek(p), "AS or '='");
			goto fail;
		}
		if (plist_push(p, &l, r, line, col) == -1)
			goto fail;
		if (peek(p)->kind != ESQL_TK_COMMA)
			break;
		take(p);
	}
	v = plist_done(p, &l, &c->nrenames);
	c->renames =
	    esql_ast_arena_alloc(p->a, (c->nrenames ? c->nrenames : 1) *
					   sizeof(*c->renames));
	for (i = 0; i < c->nrenames; i++)
		c->renames[i] = *(struct esql_rename *)v[i];
	return 0;
fail:
	free(l.v);
	return -1;
}

static int
parse_sort(struct parser *p, struct esql_cmd *c)
{
	struct plist l = {0};
	struct esql_sort_key *k;
	const struct esql_token *t;
	size_t i;
	void **v;

	for (;;) {
		t = peek(p);
		k = esql_ast_arena_alloc(p->a, sizeof(*k));
		if ((k->expr = parse_expr(p)) == NULL)
			goto fail;
		if (tok_is_kw(peek(p), "asc")) {
			take(p);
		} else if (tok_is_kw(peek(p), "desc")) {
			take(p);
			k->desc = true;
		}
		/* Elasticsearch's ES|QL SORT docs: nulls are last in
		 * ascending order and first in descending order. */
		k->nulls_first = k->desc;
		if (tok_is_kw(peek(p), "nulls")) {
			take(p);
			k->nulls_explicit = true;
			if (tok_is_kw(peek(p), "first"))
				k->nulls_first = true;
			else if (tok_is_kw(peek(p), "last"))
				k->nulls_first = false;
			else {
				unexpected(p, peek(p), "FIRST or LAST");
				goto fail;
			}
			take(p);
		}
		if (plist_push(p, &l, k, t->line, t->col) == -1)
			goto fail;
		if (peek(p)->kind != ESQL_TK_COMMA)
			break;
		take(p);
	}
	v = plist_done(p, &l, &c->nkeys);
	c->keys = esql_ast_arena_alloc(p->a, (c->nkeys ? c->nkeys : 1) *
						 sizeof(*c->keys));
	for (i = 0; i < c->nkeys; i++)
		c->keys[i] = *(struct esql_sort_key *)v[i];
	return 0;
fail:
	free(l.v);
	return -1;
}

static int
parse_limit(struct parser *p, struct esql_cmd *c)
{
	const struct esql_token *t = peek(p);
	char *end;
	long long v;

	if (t->kind != ESQL_TK_INT) {
		unexpected(p, t, "an integer");
		return -1;
	}
	errno = 0;
	v = strtoll(t->text, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT32_MAX) {
		perr(p, t->line, t->col, "LIMIT %.40s is too large", t->text);
		return -1;
	}
	take(p);
	c->limit = v;
	return 0;
}

static const struct {
	const char *word;
	enum esql_cmd_kind kind;
} commands[] = {
    {"where", ESQL_CMD_WHERE},   {"eval", ESQL_CMD_EVAL},
    {"keep", ESQL_CMD_KEEP},     {"drop", ESQL_CMD_DROP},
    {"rename", ESQL_CMD_RENAME}, {"mv_expand", ESQL_CMD_MV_EXPAND},
    {"sort", ESQL_CMD_SORT},     {"limit", ESQL_CMD_LIMIT},
    {"stats", ESQL_CMD_STATS},
};

/* Commands of ES|QL this front end refuses by name. */
static const char *const refused[] = {
    "row",    "show",   "ts",         "explain", "grok",         "dissect",
    "enrich", "join",   "completion", "fork",    "change_point", "rerank",
    "sample", "fuse",   "insist",     "rrf",     "inlinestats",  "metrics",
    "lookup", "inline", "left",       "right",   "full",         "from",
};

static int
parse_command(struct parser *p, struct esql_cmd *c, bool first)
{
	const struct esql_token *t = peek(p);
	struct esql_token kw;
	char up[48];
	size_t i;

	if (!tok_is_word(t)) {
		unexpected(p, t, "a command");
		return -1;
	}
	kw = take(p);
	c->line = kw.line;
	c->col = kw.col;
	snprintf(up, sizeof(up), "%.40s", kw.text);
	for (i = 0; up[i] != '\0'; i++)
		if (up[i] >= 'a' && up[i] <= 'z')
			up[i] -= 'a' - 'A';
	if (first) {
		if (strcasecmp(kw.text, "from") == 0) {
			c->kind = ESQL_CMD_FROM;
			return parse_from(p, c);
		}
		for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
			if (strcasecmp(kw.text, refused[i]) == 0) {
				perr(p, kw.line, kw.col,
				     "%s is not supported: a query starts "
				     "with FROM",
				     up);
				return -1;
			}
		perr(p, kw.line, kw.col, "expected FROM, found '%.40s'",
		     kw.text);
		return -1;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcasecmp(kw.text, commands[i].word) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
			if (strcasecmp(kw.text, refused[i]) == 0)
				break;
		if (i == sizeof(refused) / sizeof(refused[0])) {
			perr(p, kw.line, kw.col, "unknown command '%.40s'",
			     kw.text);
			return -1;
		}
		t = peek(p);
		if (tok_is_word(t) && (strcmp(refused[i], "inline") == 0 ||
				       strcmp(refused[i], "lookup") == 0 ||
				       strcmp(refused[i], "left") == 0 ||
				       strcmp(refused[i], "right") == 0 ||
				       strcmp(refused[i], "full") == 0)) {
			snprintf(up + strlen(up), sizeof(up) - strlen(up),
				 " %.20s", t->text);
			for (i = 0; up[i] != '\0'; i++)
				if (up[i] >= 'a' && up[i] <= 'z')
					up[i] -= 'a' - 'A';
		}
		perr(p, kw.line, kw.col, "%s is not supported", up);
		return -1;
	}
	c->kind = commands[i].kind;
	switch (c->kind) {
	case ESQL_CMD_WHERE:
		return (c->cond = parse_expr(p)) != NULL ? 0 : -1;
	case ESQL_CMD_EVAL:
		return parse_items(p, &c->items, &c->nitems, false);
	case ESQL_CMD_KEEP:
	case ESQL_CMD_DROP:
		return parse_patterns(p, c);
	case ESQL_CMD_RENAME:
		return parse_rename(p, c);
	case ESQL_CMD_MV_EXPAND:
		c->names = esql_ast_arena_alloc(p->a, sizeof(*c->names));
		c->nnames = 1;
		return (c->names[0] =
			    parse_name(p, ESQL_LEX_EXPR, NULL, NULL)) != NULL
			   ? 0
			   : -1;
	case ESQL_CMD_SORT:
		return parse_sort(p, c);
	case ESQL_CMD_LIMIT:
		return parse_limit(p, c);
	case ESQL_CMD_STATS:
		return parse_stats(p, c);
	default:
		return -1;
	}
}

struct esql_query *
esql_query_parse(const char *src, size_t len, char *err, size_t errlen)
{
	struct esql_query *q;
	struct parser p;
	struct plist l = {0};
	struct esql_cmd *c;
	const struct esql_token *t;
	void **v;
	size_t i;

	if (errlen > 0)
		err[0] = '\0';
	if (len > ESQL_MAX_QUERY) {
		snprintf(err, errlen, "1:1: query longer than %d bytes",
			 ESQL_MAX_QUERY);
		return NULL;
	}
	q = xcalloc(1, sizeof(*q));
	q->arena = esql_ast_arena_new();
	memset(&p, 0, sizeof(p));
	p.a = q->arena;
	esql_lex_init(&p.lx, src, len, q->arena, err, errlen);
	for (;;) {
		c = esql_ast_arena_alloc(p.a, sizeof(*c));
		t = peek(&p);
		if (l.n >= ESQL_MAX_COMMANDS) {
			perr(&p, t->line, t->col, "more than %d commands",
			     ESQL_MAX_COMMANDS);
			goto fail;
		}
		if (parse_command(&p, c, l.n == 0) == -1)
			goto fail;
		plist_push(&p, &l, c, 0, 0);
		t = peek_mode(&p, c->kind == ESQL_CMD_KEEP ||
					  c->kind == ESQL_CMD_DROP
				      ? ESQL_LEX_PATTERN
				  : c->kind == ESQL_CMD_FROM ? ESQL_LEX_SOURCE
							     : ESQL_LEX_EXPR);
		if (t->kind == ESQL_TK_EOF && !failed(&p))
			break;
		if (t->kind != ESQL_TK_PIPE) {
			unexpected(&p, t, "'|' or end of query");
			goto fail;
		}
		take(&p);
	}
	v = plist_done(&p, &l, &q->ncmds);
	q->cmds = esql_ast_arena_alloc(p.a, (q->ncmds ? q->ncmds : 1) *
						sizeof(*q->cmds));
	for (i = 0; i < q->ncmds; i++)
		q->cmds[i] = *(struct esql_cmd *)v[i];
	return q;
fail:
	if (!failed(&p))
		perr(&p, 1, 1, "invalid query");
	free(l.v);
	esql_query_free(q);
	return NULL;
}

void
esql_query_free(struct esql_query *q)
{
	if (q == NULL)
		return;
	esql_ast_arena_free(q->arena);
	free(q);
}

/* Printing. */

static void
puts_buf(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

const char *
esql_binop_name(enum esql_binop op)
{
	static const char *const names[] = {
	    [ESQL_BIN_OR] = "OR", [ESQL_BIN_AND] = "AND",
	    [ESQL_BIN_EQ] = "==", [ESQL_BIN_NEQ] = "!=",
	    [ESQL_BIN_LT] = "<",  [ESQL_BIN_LTE] = "<=",
	    [ESQL_BIN_GT] = ">",  [ESQL_BIN_GTE] = ">=",
	    [ESQL_BIN_ADD] = "+", [ESQL_BIN_SUB] = "-",
	    [ESQL_BIN_MUL] = "*", [ESQL_BIN_DIV] = "/",
	    [ESQL_BIN_MOD] = "%",
	};

	return names[op];
}

const char *
esql_span_unit_name(enum esql_span_unit u)
{
	static const char *const names[] = {
	    [ESQL_SPAN_MS] = "millisecond", [ESQL_SPAN_SECOND] = "second",
	    [ESQL_SPAN_MINUTE] = "minute",  [ESQL_SPAN_HOUR] = "hour",
	    [ESQL_SPAN_DAY] = "day",        [ESQL_SPAN_WEEK] = "week",
	    [ESQL_SPAN_MONTH] = "month",    [ESQL_SPAN_QUARTER] = "quarter",
	    [ESQL_SPAN_YEAR] = "year",
	};

	return names[u];
}

static bool
ch_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
ch_body(int c)
{
	return ch_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* Whether s[0..n) lexes back as one bare piece (the lexer's rules). */
static bool
bare_piece(const char *s, size_t n, bool pattern)
{
	size_t i;

	if (n == 0)
		return false;
	if (!(ch_alpha(s[0]) || (pattern && s[0] == '*'))) {
		if (!((s[0] == '_' || s[0] == '@') && n > 1 &&
		      (ch_body(s[1]) || (pattern && s[1] == '*'))))
			return false;
	}
	for (i = 1; i < n; i++)
		if (!ch_body(s[i]) && s[i] != '@' && !(pattern && s[i] == '*'))
			return false;
	return !word_is_keyword(s, n);
}

static void
name_print(const char *name, struct buf *out, bool pattern)
{
	const char *s = name, *dot;
	bool bare = true;
	size_t n;

	for (;;) {
		dot = strchr(s, '.');
		n = dot ? (size_t)(dot - s) : strlen(s);
		if (!bare_piece(s, n, pattern)) {
			bare = false;
			break;
		}
		if (dot == NULL)
			break;
		s = dot + 1;
	}
	if (bare) {
		puts_buf(out, name);
		return;
	}
	buf_append(out, "`", 1);
	for (s = name; *s != '\0'; s++) {
		if (*s == '`')
			buf_append(out, "`", 1);
		buf_append(out, s, 1);
	}
	buf_append(out, "`", 1);
}

void
esql_name_print(const char *name, struct buf *out)
{
	name_print(name, out, false);
}

static void
string_print(const char *s, size_t len, struct buf *out)
{
	size_t i;

	buf_append(out, "\"", 1);
	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '"':
			puts_buf(out, "\\\"");
			break;
		case '\\':
			puts_buf(out, "\\\\");
			break;
		case '\n':
			puts_buf(out, "\\n");
			break;
		case '\r':
			puts_buf(out, "\\r");
			break;
		case '\t':
			puts_buf(out, "\\t");
			break;
		default:
			buf_append(out, s + i, 1);
			break;
		}
	}
	buf_append(out, "\"", 1);
}

static void
args_print(const struct esql_node *n, size_t from, struct buf *out)
{
	size_t i;

	for (i = from; i < n->nargs; i++) {
		if (i > from)
			puts_buf(out, ", ");
		esql_node_print(n->args[i], out);
	}
}

void
esql_node_print(const struct esql_node *n, struct buf *out)
{
	char num[64];
	size_t i;

	switch (n->kind) {
	case ESQL_N_NULL:
		puts_buf(out, "null");
		break;
	case ESQL_N_BOOL:
		puts_buf(out, n->b ? "true" : "false");
		break;
	case ESQL_N_INT:
		snprintf(num, sizeof(num), "%" PRId64, n->i);
		puts_buf(out, num);
		break;
	case ESQL_N_DOUBLE:
		snprintf(num, sizeof(num), "%.17g", n->d);
		if (strpbrk(num, ".e") == NULL)
			strcat(num, ".0");
		puts_buf(out, num);
		break;
	case ESQL_N_STRING:
		string_print(n->s, n->len, out);
		break;
	case ESQL_N_SPAN:
		snprintf(num, sizeof(num), "%" PRId64 " %s", n->i,
			 esql_span_unit_name(n->span_unit));
		puts_buf(out, num);
		break;
	case ESQL_N_FIELD:
		esql_name_print(n->s, out);
		break;
	case ESQL_N_STAR:
		puts_buf(out, "*");
		break;
	case ESQL_N_CALL:
		for (i = 0; i < n->len; i++) {
			char c = n->s[i];

			if (c >= 'a' && c <= 'z')
				c -= 'a' - 'A';
			buf_append(out, &c, 1);
		}
		puts_buf(out, "(");
		args_print(n, 0, out);
		puts_buf(out, ")");
		break;
	case ESQL_N_NEG:
		puts_buf(out, "(-");
		esql_node_print(n->args[0], out);
		puts_buf(out, ")");
		break;
	case ESQL_N_NOT:
		puts_buf(out, "(NOT ");
		esql_node_print(n->args[0], out);
		puts_buf(out, ")");
		break;
	case ESQL_N_BINARY:
		puts_buf(out, "(");
		esql_node_print(n->args[0], out);
		puts_buf(out, " ");
		puts_buf(out, esql_binop_name(n->op));
		puts_buf(out, " ");
		esql_node_print(n->args[1], out);
		puts_buf(out, ")");
		break;
	case ESQL_N_LIKE:
	case ESQL_N_RLIKE:
	case ESQL_N_IN:
		puts_buf(out, "(");
		esql_node_print(n->args[0], out);
		puts_buf(out, n->negated ? " NOT " : " ");
		puts_buf(out, n->kind == ESQL_N_LIKE    ? "LIKE "
			      : n->kind == ESQL_N_RLIKE ? "RLIKE "
							: "IN ");
		if (n->kind == ESQL_N_IN || n->nargs > 2)
			puts_buf(out, "(");
		args_print(n, 1, out);
		if (n->kind == ESQL_N_IN || n->nargs > 2)
			puts_buf(out, ")");
		puts_buf(out, ")");
		break;
	case ESQL_N_ISNULL:
		puts_buf(out, "(");
		esql_node_print(n->args[0], out);
		puts_buf(out, n->negated ? " IS NOT NULL)" : " IS NULL)");
		break;
	case ESQL_N_CAST:
		puts_buf(out, "(");
		esql_node_print(n->args[0], out);
		puts_buf(out, "::");
		puts_buf(out, n->s);
		puts_buf(out, ")");
		break;
	}
}

static void
items_print(const struct esql_item *it, size_t n, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			puts_buf(out, ", ");
		if (it[i].name != NULL) {
			esql_name_print(it[i].name, out);
			puts_buf(out, " = ");
		}
		esql_node_print(it[i].expr, out);
		if (it[i].where != NULL) {
			puts_buf(out, " WHERE ");
			esql_node_print(it[i].where, out);
		}
	}
}

static void
names_print(const char **names, size_t n, bool pattern, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			puts_buf(out, ", ");
		name_print(names[i], out, pattern);
	}
}

/* An index pattern: bare when it lexes back as one, else a string. */
static void
source_print(const char *s, struct buf *out)
{
	const char *c;
	bool bare = *s != '\0' && strcasecmp(s, "metadata") != 0;

	for (c = s; *c != '\0' && bare; c++)
		if ((unsigned char)*c <= ' ' || *c == ',' || *c == '|' ||
		    *c == '"' || *c == '`' || *c == 0x7f ||
		    (c[0] == '/' && (c[1] == '/' || c[1] == '*')))
			bare = false;
	if (bare)
		puts_buf(out, s);
	else
		string_print(s, strlen(s), out);
}

void
esql_query_print(const struct esql_query *q, struct buf *out)
{
	const struct esql_cmd *c;
	char num[32];
	size_t i, j;

	for (i = 0; i < q->ncmds; i++) {
		c = &q->cmds[i];
		if (i > 0)
			puts_buf(out, " | ");
		switch (c->kind) {
		case ESQL_CMD_FROM:
			puts_buf(out, "FROM ");
			for (j = 0; j < c->nnames; j++) {
				if (j > 0)
					puts_buf(out, ", ");
				source_print(c->names[j], out);
			}
			if (c->nmetadata > 0) {
				puts_buf(out, " METADATA ");
				names_print(c->metadata, c->nmetadata, false,
					    out);
			}
			break;
		case ESQL_CMD_WHERE:
			puts_buf(out, "WHERE ");
			esql_node_print(c->cond, out);
			break;
		case ESQL_CMD_EVAL:
			puts_buf(out, "EVAL ");
			items_print(c->items, c->nitems, out);
			break;
		case ESQL_CMD_KEEP:
		case ESQL_CMD_DROP:
			puts_buf(out,
				 c->kind == ESQL_CMD_KEEP ? "KEEP " : "DROP ");
			names_print(c->names, c->nnames, true, out);
			break;
		case ESQL_CMD_RENAME:
			puts_buf(out, "RENAME ");
			for (j = 0; j < c->nrenames; j++) {
				if (j > 0)
					puts_buf(out, ", ");
				esql_name_print(c->renames[j].from, out);
				puts_buf(out, " AS ");
				esql_name_print(c->renames[j].to, out);
			}
			break;
		case ESQL_CMD_MV_EXPAND:
			puts_buf(out, "MV_EXPAND ");
			esql_name_print(c->names[0], out);
			break;
		case ESQL_CMD_SORT:
			puts_buf(out, "SORT ");
			for (j = 0; j < c->nkeys; j++) {
				if (j > 0)
					puts_buf(out, ", ");
				esql_node_print(c->keys[j].expr, out);
				puts_buf(out,
					 c->keys[j].desc ? " DESC" : " ASC");
				puts_buf(out, c->keys[j].nulls_first
						  ? " NULLS FIRST"
						  : " NULLS LAST");
			}
			break;
		case ESQL_CMD_LIMIT:
			snprintf(num, sizeof(num), "LIMIT %" PRId64, c->limit);
			puts_buf(out, num);
			break;
		case ESQL_CMD_STATS:
			puts_buf(out, "STATS");
			if (c->nitems > 0) {
				puts_buf(out, " ");
				items_print(c->items, c->nitems, out);
			}
			if (c->nby > 0) {
				puts_buf(out, " BY ");
				items_print(c->by, c->nby, out);
			}
			break;
		}
	}
}
