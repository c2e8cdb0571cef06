/*
 * fieldtype: the ES|QL type of an Elastic Defend field, and a record
 * value read as Elasticsearch indexes it into a field of that type.
 *
 * Types follow the Elastic Defend endpoint mapping (endpoint-package,
 * package/endpoint/data_stream/.../fields.yml): dates, longs, ips and
 * booleans are listed in src/fieldtype.c; every other field, and every
 * field not in the table, is a keyword (keyword, wildcard, text and
 * constant_keyword all read as keyword in ES|QL).
 */
#ifndef BURSTD_FIELDTYPE_H
#define BURSTD_FIELDTYPE_H

#include <stddef.h>

#include "esql_value.h"

enum esql_type fieldtype_of(const char *field);

/*
 * One record value (JSON text: a string unescaped, a number or boolean as
 * written) as the field's type indexes it: a long from "12" or 12 is 12,
 * from 1.5 is 1 (coerce truncates), a boolean from true, "true", false,
 * "false" or "" (false), a date by timefmt_parse(), an ip by
 * esql_ip_parse().  Returns 0, or -1 when Elasticsearch would reject the
 * document (the caller counts a skip and reads null).  Keyword bytes
 * point into p.
 */
int fieldtype_convert(enum esql_type t, const char *p, size_t len,
		      struct esql_scalar *out);

#endif
