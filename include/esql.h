/*
 * esql: the ES|QL query text as a syntax tree (lexer in esql_lex.c,
 * parser and printer in esql_parse.c).
 *
 * esql_query_parse() reads one pipeline: a FROM source command, then
 * WHERE, EVAL, KEEP, DROP, RENAME, MV_EXPAND, SORT, LIMIT and STATS
 * processing commands.  Keywords are case-insensitive; // and block
 * comments are whitespace.  Every node carries the 1-based line and
 * column of its first character.  Commands and syntax outside that set
 * (ROW, SHOW, TS, INLINE STATS, GROK, DISSECT, ENRICH, LOOKUP JOIN,
 * COMPLETION, FORK, the ':' match operator, ?parameters, map literals)
 * are refused with their position and name.  Function calls are only
 * recorded: which names exist is decided when the tree is typed.
 *
 * Bounds: the text is at most ESQL_MAX_QUERY bytes, expressions nest at
 * most ESQL_MAX_DEPTH levels (recursion in the parser and the printer
 * is bounded by it), a command has at most ESQL_MAX_ITEMS items and a
 * pipeline at most ESQL_MAX_COMMANDS commands.
 *
 * Memory: a struct esql_query owns every node, string and array in it
 * (one arena); esql_query_free() releases them all.  Strings are
 * NUL-terminated and also carry their length (a string literal may hold
 * NUL bytes).
 */
#ifndef BURSTD_ESQL_H
#define BURSTD_ESQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define ESQL_MAX_QUERY (256 * 1024)
#define ESQL_MAX_DEPTH 200
#define ESQL_MAX_ITEMS 4096
#define ESQL_MAX_COMMANDS 256

enum esql_node_kind {
	ESQL_N_NULL,
	ESQL_N_BOOL,   /* b */
	ESQL_N_INT,    /* i: an integer literal that fits in int64 */
	ESQL_N_DOUBLE, /* d */
	ESQL_N_STRING, /* s, len */
	ESQL_N_SPAN,   /* i units of span_unit: `1 minute`, `5min` */
	ESQL_N_FIELD,  /* s: the dotted column name, unquoted */
	ESQL_N_STAR,   /* the * of COUNT(*) */
	ESQL_N_CALL,   /* s: function name as written; args */
	ESQL_N_NEG,    /* -args[0] */
	ESQL_N_NOT,    /* NOT args[0] */
	ESQL_N_BINARY, /* args[0] op args[1] */
	ESQL_N_LIKE,   /* args[0] [NOT] LIKE args[1..] (string literals) */
	ESQL_N_RLIKE,  /* same, RLIKE */
	ESQL_N_IN,     /* args[0] [NOT] IN (args[1..]) */
	ESQL_N_ISNULL, /* args[0] IS [NOT] NULL */
	ESQL_N_CAST,   /* args[0]::s (type name, lower case) */
};

enum esql_binop {
	ESQL_BIN_OR,
	ESQL_BIN_AND,
	ESQL_BIN_EQ,
	ESQL_BIN_NEQ,
	ESQL_BIN_LT,
	ESQL_BIN_LTE,
	ESQL_BIN_GT,
	ESQL_BIN_GTE,
	ESQL_BIN_ADD,
	ESQL_BIN_SUB,
	ESQL_BIN_MUL,
	ESQL_BIN_DIV,
	ESQL_BIN_MOD,
};

/*
 * Time units of span literals; the spellings ES|QL accepts are listed in
 * esql_lex.c.  As in Elasticsearch's EsqlDataTypeConverter, milliseconds
 * to hours are time_duration and days to years are date_period.
 */
enum esql_span_unit {
	ESQL_SPAN_MS,
	ESQL_SPAN_SECOND,
	ESQL_SPAN_MINUTE,
	ESQL_SPAN_HOUR,
	ESQL_SPAN_DAY,
	ESQL_SPAN_WEEK,
	ESQL_SPAN_MONTH,
	ESQL_SPAN_QUARTER,
	ESQL_SPAN_YEAR,
};

struct esql_node {
	enum esql_node_kind kind;
	int line, col;
	int height;         /* levels in this subtree, at most ESQL_MAX_DEPTH */
	enum esql_binop op; /* ESQL_N_BINARY */
	bool negated;       /* NOT LIKE, NOT IN, IS NOT NULL */
	bool b;             /* ESQL_N_BOOL */
	enum esql_span_unit span_unit; /* ESQL_N_SPAN */
	int64_t i;
	double d;
	const char *s; /* NUL-terminated; len bytes */
	size_t len;
	struct esql_node **args;
	size_t nargs;
};

/* `name = expr [WHERE cond]`, or an unnamed expr (name NULL). */
struct esql_item {
	const char *name;
	int line, col; /* of the item's first token */
	struct esql_node *expr;
	const char *text; /* expr as written, first to last token, which
			     names an unnamed item's column */
	size_t text_len;
	struct esql_node *where; /* STATS aggregates only; may be NULL */
};

struct esql_sort_key {
	struct esql_node *expr;
	bool desc;
	bool nulls_first;    /* as written, or ES|QL's default */
	bool nulls_explicit; /* NULLS FIRST/LAST was written */
};

/* RENAME old AS new (also written new = old). */
struct esql_rename {
	const char *from, *to;
	int line, col;
};

enum esql_cmd_kind {
	ESQL_CMD_FROM,
	ESQL_CMD_WHERE,
	ESQL_CMD_EVAL,
	ESQL_CMD_KEEP,
	ESQL_CMD_DROP,
	ESQL_CMD_RENAME,
	ESQL_CMD_MV_EXPAND,
	ESQL_CMD_SORT,
	ESQL_CMD_LIMIT,
	ESQL_CMD_STATS,
};

struct esql_cmd {
	enum esql_cmd_kind kind;
	int line, col;
	/* FROM: index patterns and METADATA names; KEEP, DROP: patterns
	 * (may contain '*'); MV_EXPAND: names[0]. */
	const char **names;
	size_t nnames;
	const char **metadata;
	size_t nmetadata;
	struct esql_node *cond; /* WHERE */
	/* EVAL: items; STATS: aggregates (items) and groups (by). */
	struct esql_item *items;
	size_t nitems;
	struct esql_item *by;
	size_t nby;
	struct esql_rename *renames;
	size_t nrenames;
	struct esql_sort_key *keys;
	size_t nkeys;
	int64_t limit;
};

struct esql_query {
	struct esql_cmd *cmds;
	size_t ncmds;
	struct esql_ast_arena *arena; /* owns everything above */
};

/*
 * Parse len bytes of src.  Returns the tree, or NULL with
 * "LINE:COL: message" in err (errlen bytes, NUL-terminated).
 */
struct esql_query *
esql_query_parse(const char *src, size_t len, char *err, size_t errlen);
void esql_query_free(struct esql_query *q);

/*
 * Print canonically: one line, commands joined by " | ", every operator
 * application in parentheses, names quoted only when they must be.
 * Parsing the printed text gives a tree that prints the same.
 */
void esql_query_print(const struct esql_query *q, struct buf *out);
void esql_node_print(const struct esql_node *n, struct buf *out);
/* A column name as ES|QL text: bare when it can be, else `quoted`. */
void esql_name_print(const char *name, struct buf *out);

const char *esql_binop_name(enum esql_binop op);
const char *esql_span_unit_name(enum esql_span_unit u);

#endif
