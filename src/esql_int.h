/*
 * esql_int: what the ES|QL lexer and parser share: the arena that owns
 * a parsed query, and the tokens.
 *
 * The lexer works on demand: the parser asks for the next token in a
 * mode, because ES|QL lexes FROM's index patterns and KEEP/DROP's name
 * patterns differently from expressions.  Token text (identifier names,
 * unescaped strings) is copied into the arena.
 */
#ifndef BURSTD_ESQL_INT_H
#define BURSTD_ESQL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esql.h"

struct esql_ast_arena;

struct esql_ast_arena *esql_ast_arena_new(void);
void esql_ast_arena_free(struct esql_ast_arena *a);
/* Zeroed, aligned for any object; never NULL. */
void *esql_ast_arena_alloc(struct esql_ast_arena *a, size_t n);
char *esql_ast_arena_strndup(struct esql_ast_arena *a, const char *s, size_t n);

enum esql_tok {
	ESQL_TK_EOF,
	ESQL_TK_IDENT,   /* name; quoted when any piece was in backticks */
	ESQL_TK_INT,     /* digits; text */
	ESQL_TK_DECIMAL, /* text */
	ESQL_TK_STRING,  /* unescaped bytes */
	ESQL_TK_SOURCE,  /* FROM mode: an index pattern */
	ESQL_TK_PIPE,
	ESQL_TK_COMMA,
	ESQL_TK_LP,
	ESQL_TK_RP,
	ESQL_TK_ASSIGN, /* = */
	ESQL_TK_EQ,     /* == */
	ESQL_TK_NEQ,
	ESQL_TK_LT,
	ESQL_TK_LTE,
	ESQL_TK_GT,
	ESQL_TK_GTE,
	ESQL_TK_CIEQ, /* =~ */
	ESQL_TK_PLUS,
	ESQL_TK_MINUS,
	ESQL_TK_STAR,
	ESQL_TK_SLASH,
	ESQL_TK_PERCENT,
	ESQL_TK_CAST,   /* :: */
	ESQL_TK_COLON,  /* : */
	ESQL_TK_PARAM,  /* ?, ?name, ?1, ?? */
	ESQL_TK_LBRACE, /* { */
	ESQL_TK_OTHER,  /* a character nothing above starts with */
};

enum esql_lex_mode {
	ESQL_LEX_EXPR,
	ESQL_LEX_SOURCE,  /* FROM: index patterns, quoted or not */
	ESQL_LEX_PATTERN, /* KEEP, DROP: names that may hold '*' */
};

struct esql_token {
	enum esql_tok kind;
	int line, col;
	const char *pos;  /* its first byte in the source */
	const char *text; /* arena copy: name, digits, string value */
	size_t len;
	bool quoted;  /* IDENT: a piece was in backticks */
	bool dotted;  /* IDENT: more than one piece */
	char raw[16]; /* ESQL_TK_OTHER: the character, for the message */
};

struct esql_lexer {
	const char *src, *end, *p;
	int line, col;
	struct esql_ast_arena *arena;
	char *err;
	size_t errlen;
	bool failed;
};

void esql_lex_init(struct esql_lexer *lx, const char *src, size_t len,
		   struct esql_ast_arena *arena, char *err, size_t errlen);
/* The next token in mode; -1 with the error written on a lexical error. */
int esql_lex_next(struct esql_lexer *lx, enum esql_lex_mode mode,
		  struct esql_token *t);
/* Writes "line:col: fmt..." into the lexer's error buffer once. */
void esql_lex_error(struct esql_lexer *lx, int line, int col, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

/* Whether word (len bytes) is a time unit ES|QL accepts; sets *u. */
bool esql_span_unit_parse(const char *word, size_t len, enum esql_span_unit *u);

#endif
