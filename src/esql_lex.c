/*
 * esql_lex: ES|QL tokens, following Elasticsearch's EsqlBaseLexer.g4
 * (x-pack/plugin/esql/src/main/antlr): case-insensitive keywords (the
 * parser compares identifier text), // line and nested block comments,
 * "..." strings with the escapes \t \n \r \" \\ and no raw newline,
 * """...""" strings taken verbatim, backtick-quoted identifier pieces
 * with `` standing for one backtick, unquoted pieces LETTER [A-Za-z0-9_]*
 * or [_@] [A-Za-z0-9_]+, joined by dots into one name, and numbers
 * DIGIT+, DIGIT+ '.' DIGIT*, '.' DIGIT+, each with an optional exponent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esql_int.h"
#include "util.h"

#define ARENA_BLOCK 8192

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	_Alignas(max_align_t) unsigned char data[];
};

struct esql_ast_arena {
	struct arena_block *head;
};

struct esql_ast_arena *
esql_ast_arena_new(void)
{
	return xcalloc(1, sizeof(struct esql_ast_arena));
}

void
esql_ast_arena_free(struct esql_ast_arena *a)
{
	struct arena_block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void *
esql_ast_arena_alloc(struct esql_ast_arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t align = _Alignof(max_align_t), cap;
	void *p;

	n = (n + align - 1) / align * align;
	if (n == 0)
		n = align;
	if (b == NULL || b->cap - b->used < n) {
		cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *
esql_ast_arena_strndup(struct esql_ast_arena *a, const char *s, size_t n)
{
	char *p = esql_ast_arena_alloc(a, n + 1);

	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
esql_lex_init(struct esql_lexer *lx, const char *src, size_t len,
	      struct esql_ast_arena *arena, char *err, size_t errlen)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = lx->p = src;
	lx->end = src + len;
	lx->line = lx->col = 1;
	lx->arena = arena;
	lx->err = err;
	lx->errlen = errlen;
}

void
esql_lex_error(struct esql_lexer *lx, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (lx->failed)
		return;
	lx->failed = true;
	if (lx->err == NULL || lx->errlen == 0)
		return;
	n = snprintf(lx->err, lx->errlen, "%d:%d: ", line, col);
	if (n < 0 || (size_t)n >= lx->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(lx->err + n, lx->errlen - n, fmt, ap);
	va_end(ap);
}

/* Spellings from Elasticsearch's EsqlDataTypeConverter time units. */
static const struct {
	const char *word;
	enum esql_span_unit unit;
} span_words[] = {
    {"millisecond", ESQL_SPAN_MS},  {"milliseconds", ESQL_SPAN_MS},
    {"ms", ESQL_SPAN_MS},           {"second", ESQL_SPAN_SECOND},
    {"seconds", ESQL_SPAN_SECOND},  {"sec", ESQL_SPAN_SECOND},
    {"s", ESQL_SPAN_SECOND},        {"minute", ESQL_SPAN_MINUTE},
    {"minutes", ESQL_SPAN_MINUTE},  {"min", ESQL_SPAN_MINUTE},
    {"hour", ESQL_SPAN_HOUR},       {"hours", ESQL_SPAN_HOUR},
    {"h", ESQL_SPAN_HOUR},          {"day", ESQL_SPAN_DAY},
    {"days", ESQL_SPAN_DAY},        {"d", ESQL_SPAN_DAY},
    {"week", ESQL_SPAN_WEEK},       {"weeks", ESQL_SPAN_WEEK},
    {"w", ESQL_SPAN_WEEK},          {"month", ESQL_SPAN_MONTH},
    {"months", ESQL_SPAN_MONTH},    {"mo", ESQL_SPAN_MONTH},
    {"quarter", ESQL_SPAN_QUARTER}, {"quarters", ESQL_SPAN_QUARTER},
    {"q", ESQL_SPAN_QUARTER},       {"year", ESQL_SPAN_YEAR},
    {"years", ESQL_SPAN_YEAR},      {"yr", ESQL_SPAN_YEAR},
    {"y", ESQL_SPAN_YEAR},
};

bool
esql_span_unit_parse(const char *word, size_t len, enum esql_span_unit *u)
{
	size_t i;

	for (i = 0; i < sizeof(span_words) / sizeof(span_words[0]); i++) {
		if (strlen(span_words[i].word) == len &&
		    strncasecmp(span_words[i].word, word, len) == 0) {
			*u = span_words[i].unit;
			return true;
		}
	}
	return false;
}

static int
peekc(const struct esql_lexer *lx, size_t off)
{
	if ((size_t)(lx->end - lx->p) <= off)
		return -1;
	return (unsigned char)lx->p[off];
}

static void
adv(struct esql_lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else
		lx->col++;
	lx->p++;
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_body(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_';
}

/* Skips whitespace and comments; -1 on an unterminated block comment. */
static int
skip_space(struct esql_lexer *lx)
{
	int c, line, col, depth;

	for (;;) {
		c = peekc(lx, 0);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			adv(lx);
		} else if (c == '/' && peekc(lx, 1) == '/') {
			while (lx->p < lx->end && *lx->p != '\n')
				adv(lx);
		} else if (c == '/' && peekc(lx, 1) == '*') {
			line = lx->line;
			col = lx->col;
			depth = 0;
			do {
				if (lx->p >= lx->end) {
					esql_lex_error(lx, line, col,
						       "unterminated comment");
					return -1;
				}
				if (peekc(lx, 0) == '/' &&
				    peekc(lx, 1) == '*') {
					adv(lx);
					adv(lx);
					depth++;
				} else if (peekc(lx, 0) == '*' &&
					   peekc(lx, 1) == '/') {
					adv(lx);
					adv(lx);
					depth--;
				} else
					adv(lx);
			} while (depth > 0);
		} else
			return 0;
	}
}

static int
lex_string(struct esql_lexer *lx, struct esql_token *t)
{
	struct buf b = {0};
	const char *start;
	int c, extra;

	if (peekc(lx, 1) == '"' && peekc(lx, 2) == '"') {
		adv(lx);
		adv(lx);
		adv(lx);
		start = lx->p;
		for (;;) {
			if (lx->p >= lx->end) {
				esql_lex_error(lx, t->line, t->col,
					       "unterminated string");
				return -1;
			}
			if (peekc(lx, 0) == '"' && peekc(lx, 1) == '"' &&
			    peekc(lx, 2) == '"')
				break;
			adv(lx);
		}
		/* Up to two more quotes belong to the value. */
		for (extra = 0; extra < 2 && peekc(lx, 3) == '"'; extra++)
			adv(lx);
		t->len = lx->p - start;
		t->text = esql_ast_arena_strndup(lx->arena, start, t->len);
		adv(lx);
		adv(lx);
		adv(lx);
		return 0;
	}
	adv(lx);
	for (;;) {
		c = peekc(lx, 0);
		if (c < 0 || c == '\n' || c == '\r') {
			buf_free(&b);
			esql_lex_error(lx, t->line, t->col,
				       "unterminated string");
			return -1;
		}
		if (c == '"')
			break;
		if (c == '\\') {
			switch (peekc(lx, 1)) {
			case 't':
				c = '\t';
				break;
			case 'n':
				c = '\n';
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
			default:
				buf_free(&b);
				esql_lex_error(
				    lx, lx->line, lx->col,
				    "invalid escape sequence in string");
				return -1;
			}
			adv(lx);
		}
		{
			char ch = (char)c;
			buf_append(&b, &ch, 1);
		}
		adv(lx);
	}
	adv(lx);
	t->len = b.len;
	t->text =
	    esql_ast_arena_strndup(lx->arena, b.data ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

/* One piece of a name into b; 0, or -1 on an unterminated backtick. */
static int
lex_piece(struct esql_lexer *lx, struct buf *b, bool pattern, bool *quoted)
{
	int c = peekc(lx, 0), line = lx->line, col = lx->col;

	if (c == '`') {
		*quoted = true;
		adv(lx);
		for (;;) {
			c = peekc(lx, 0);
			if (c < 0) {
				esql_lex_error(
				    lx, line, col,
				    "unterminated quoted identifier");
				return -1;
			}
			if (c == '`') {
				if (peekc(lx, 1) != '`')
					break;
				adv(lx);
			}
			{
				char ch = (char)c;
				buf_append(b, &ch, 1);
			}
			adv(lx);
		}
		adv(lx);
		return 0;
	}
	while ((c = peekc(lx, 0)) >= 0 &&
	       (is_body(c) || c == '@' || (pattern && c == '*'))) {
		char ch = (char)c;
		buf_append(b, &ch, 1);
		adv(lx);
	}
	return 0;
}

static bool
piece_start(int c, int c1, bool pattern)
{
	if (is_alpha(c) || c == '`' || (pattern && c == '*'))
		return true;
	return (c == '_' || c == '@') &&
	       (is_body(c1) || (pattern && c1 == '*'));
}

static int
lex_name(struct esql_lexer *lx, struct esql_token *t, bool pattern)
{
	struct buf b = {0};

	t->kind = ESQL_TK_IDENT;
	for (;;) {
		if (lex_piece(lx, &b, pattern, &t->quoted) == -1) {
			buf_free(&b);
			return -1;
		}
		if (peekc(lx, 0) != '.' ||
		    !piece_start(peekc(lx, 1), peekc(lx, 2), pattern))
			break;
		adv(lx);
		buf_append(&b, ".", 1);
		t->dotted = true;
	}
	t->len = b.len;
	t->text =
	    esql_ast_arena_strndup(lx->arena, b.data ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

static void
lex_number(struct esql_lexer *lx, struct esql_token *t)
{
	const char *start = lx->p;
	int c;

	t->kind = ESQL_TK_INT;
	while (is_digit(peekc(lx, 0)))
		adv(lx);
	if (peekc(lx, 0) == '.') {
		t->kind = ESQL_TK_DECIMAL;
		adv(lx);
		while (is_digit(peekc(lx, 0)))
			adv(lx);
	}
	c = peekc(lx, 0);
	if ((c == 'e' || c == 'E') &&
	    (is_digit(peekc(lx, 1)) ||
	     ((peekc(lx, 1) == '+' || peekc(lx, 1) == '-') &&
	      is_digit(peekc(lx, 2))))) {
		t->kind = ESQL_TK_DECIMAL;
		adv(lx);
		if (!is_digit(peekc(lx, 0)))
			adv(lx);
		while (is_digit(peekc(lx, 0)))
			adv(lx);
	}
	t->len = lx->p - start;
	t->text = esql_ast_arena_strndup(lx->arena, start, t->len);
}

static bool
source_char(int c)
{
	return c > ' ' && c != ',' && c != '|' && c != '"' && c != '`' &&
	       c != 0x7f;
}

int
esql_lex_next(struct esql_lexer *lx, enum esql_lex_mode mode,
	      struct esql_token *t)
{
	const char *start;
	int c, c1;

	memset(t, 0, sizeof(*t));
	if (lx->failed || skip_space(lx) == -1)
		return -1;
	t->line = lx->line;
	t->col = lx->col;
	t->pos = lx->p;
	c = peekc(lx, 0);
	c1 = peekc(lx, 1);
	if (c < 0) {
		t->kind = ESQL_TK_EOF;
		return 0;
	}
	if (c == '"') {
		t->kind = ESQL_TK_STRING;
		return lex_string(lx, t);
	}
	if (mode == ESQL_LEX_SOURCE && c != ',' && c != '|' && c != '`' &&
	    source_char(c)) {
		start = lx->p;
		while (source_char(peekc(lx, 0)) &&
		       !(peekc(lx, 0) == '/' &&
			 (peekc(lx, 1) == '/' || peekc(lx, 1) == '*')))
			adv(lx);
		t->kind = ESQL_TK_SOURCE;
		t->len = lx->p - start;
		t->text = esql_ast_arena_strndup(lx->arena, start, t->len);
		return 0;
	}
	if (piece_start(c, c1, mode == ESQL_LEX_PATTERN))
		return lex_name(lx, t, mode == ESQL_LEX_PATTERN);
	if (is_digit(c) || (c == '.' && is_digit(c1))) {
		lex_number(lx, t);
		return 0;
	}
	adv(lx);
	switch (c) {
	case '|':
		t->kind = ESQL_TK_PIPE;
		break;
	case ',':
		t->kind = ESQL_TK_COMMA;
		break;
	case '(':
		t->kind = ESQL_TK_LP;
		break;
	case ')':
		t->kind = ESQL_TK_RP;
		break;
	case '+':
		t->kind = ESQL_TK_PLUS;
		break;
	case '-':
		t->kind = ESQL_TK_MINUS;
		break;
	case '*':
		t->kind = ESQL_TK_STAR;
		break;
	case '/':
		t->kind = ESQL_TK_SLASH;
		break;
	case '%':
		t->kind = ESQL_TK_PERCENT;
		break;
	case '{':
		t->kind = ESQL_TK_LBRACE;
		break;
	case '=':
		t->kind = ESQL_TK_ASSIGN;
		if (c1 == '=') {
			adv(lx);
			t->kind = ESQL_TK_EQ;
		} else if (c1 == '~') {
			adv(lx);
			t->kind = ESQL_TK_CIEQ;
		}
		break;
	case '!':
		if (c1 != '=')
			goto other;
		adv(lx);
		t->kind = ESQL_TK_NEQ;
		break;
	case '<':
		t->kind = ESQL_TK_LT;
		if (c1 == '=') {
			adv(lx);
			t->kind = ESQL_TK_LTE;
		}
		break;
	case '>':
		t->kind = ESQL_TK_GT;
		if (c1 == '=') {
			adv(lx);
			t->kind = ESQL_TK_GTE;
		}
		break;
	case ':':
		t->kind = ESQL_TK_COLON;
		if (c1 == ':') {
			adv(lx);
			t->kind = ESQL_TK_CAST;
		}
		break;
	case '?':
		t->kind = ESQL_TK_PARAM;
		while (peekc(lx, 0) == '?' || is_body(peekc(lx, 0)))
			adv(lx);
		break;
	default:
	other:
		t->kind = ESQL_TK_OTHER;
		if (c >= 0x21 && c < 0x7f)
			snprintf(t->raw, sizeof(t->raw), "'%c'", c);
		else
			snprintf(t->raw, sizeof(t->raw), "0x%02x",
				 (unsigned)c & 0xff);
		break;
	}
	return 0;
}
