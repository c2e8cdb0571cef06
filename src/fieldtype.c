/*
 * fieldtype: Defend field types and value coercion.  See
 * include/fieldtype.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fieldtype.h"
#include "timefmt.h"

static const struct {
	const char *name;
	enum esql_type type;
} fields[] = {
    {"@timestamp", ESQL_T_DATETIME},
    {"event.created", ESQL_T_DATETIME},
    {"event.ingested", ESQL_T_DATETIME},
    {"process.start", ESQL_T_DATETIME},
    {"process.parent.start", ESQL_T_DATETIME},
    {"process.parent.group_leader.start", ESQL_T_DATETIME},
    {"process.entry_leader.start", ESQL_T_DATETIME},
    {"process.entry_leader.parent.start", ESQL_T_DATETIME},
    {"process.entry_leader.parent.session_leader.start", ESQL_T_DATETIME},
    {"process.group_leader.start", ESQL_T_DATETIME},
    {"process.session_leader.start", ESQL_T_DATETIME},
    {"process.session_leader.parent.start", ESQL_T_DATETIME},
    {"process.session_leader.parent.session_leader.start", ESQL_T_DATETIME},
    {"file.created", ESQL_T_DATETIME},
    {"file.mtime", ESQL_T_DATETIME},
    {"file.accessed", ESQL_T_DATETIME},
    {"process.pid", ESQL_T_LONG},
    {"process.parent.pid", ESQL_T_LONG},
    {"process.ppid", ESQL_T_LONG},
    {"process.pgid", ESQL_T_LONG},
    {"process.parent.pgid", ESQL_T_LONG},
    {"process.thread.id", ESQL_T_LONG},
    {"process.args_count", ESQL_T_LONG},
    {"process.parent.args_count", ESQL_T_LONG},
    {"process.exit_code", ESQL_T_LONG},
    {"process.parent.exit_code", ESQL_T_LONG},
    {"process.uptime", ESQL_T_LONG},
    {"process.parent.uptime", ESQL_T_LONG},
    {"process.entry_leader.pid", ESQL_T_LONG},
    {"process.session_leader.pid", ESQL_T_LONG},
    {"process.group_leader.pid", ESQL_T_LONG},
    {"process.parent.group_leader.pid", ESQL_T_LONG},
    {"process.tty.char_device.major", ESQL_T_LONG},
    {"process.tty.char_device.minor", ESQL_T_LONG},
    {"process.Ext.token.integrity_level", ESQL_T_LONG},
    {"source.port", ESQL_T_LONG},
    {"destination.port", ESQL_T_LONG},
    {"source.bytes", ESQL_T_LONG},
    {"destination.bytes", ESQL_T_LONG},
    {"network.bytes", ESQL_T_LONG},
    {"file.size", ESQL_T_LONG},
    {"event.severity", ESQL_T_LONG},
    {"event.sequence", ESQL_T_LONG},
    {"event.duration", ESQL_T_LONG},
    {"dns.question.answers.ttl", ESQL_T_LONG},
    {"source.ip", ESQL_T_IP},
    {"destination.ip", ESQL_T_IP},
    {"host.ip", ESQL_T_IP},
    {"client.ip", ESQL_T_IP},
    {"server.ip", ESQL_T_IP},
    {"dns.resolved_ip", ESQL_T_IP},
    {"process.interactive", ESQL_T_BOOLEAN},
    {"process.parent.interactive", ESQL_T_BOOLEAN},
    {"process.entry_leader.interactive", ESQL_T_BOOLEAN},
    {"process.session_leader.interactive", ESQL_T_BOOLEAN},
    {"process.group_leader.interactive", ESQL_T_BOOLEAN},
    {"process.parent.group_leader.interactive", ESQL_T_BOOLEAN},
    {"process.entry_leader.same_as_process", ESQL_T_BOOLEAN},
    {"process.session_leader.same_as_process", ESQL_T_BOOLEAN},
    {"process.group_leader.same_as_process", ESQL_T_BOOLEAN},
    {"process.code_signature.exists", ESQL_T_BOOLEAN},
    {"process.code_signature.trusted", ESQL_T_BOOLEAN},
    {"process.parent.code_signature.exists", ESQL_T_BOOLEAN},
    {"process.parent.code_signature.trusted", ESQL_T_BOOLEAN},
    {"dll.code_signature.exists", ESQL_T_BOOLEAN},
    {"dll.code_signature.trusted", ESQL_T_BOOLEAN},
};

enum esql_type
fieldtype_of(const char *field)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		if (strcmp(field, fields[i].name) == 0)
			return fields[i].type;
	return ESQL_T_KEYWORD;
}

/*
 * A long as a coercing long field reads it: an integer, or a number
 * truncated toward zero (NumberFieldMapper with coerce, the default);
 * out of range or not a number rejects the document.
 */
static int
to_long(const char *p, size_t len, int64_t *out)
{
	char tmp[400], *end;
	long long l;
	double d;

	if (len == 0 || len >= sizeof(tmp) || memchr(p, '\0', len))
		return -1;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if (isspace((unsigned char)tmp[0]) ||
	    isspace((unsigned char)tmp[len - 1]))
		return -1;
	errno = 0;
	l = strtoll(tmp, &end, 10);
	if (*end == '\0' && errno == 0) {
		*out = l;
		return 0;
	}
	d = strtod(tmp, &end);
	if (*end != '\0' || !isfinite(d) || d >= 9223372036854775808.0 ||
	    d < -9223372036854775808.0)
		return -1;
	*out = (int64_t)d;
	return 0;
}

int
fieldtype_convert(enum esql_type t, const char *p, size_t len,
		  struct esql_scalar *out)
{
	memset(out, 0, sizeof(*out));
	switch (t) {
	case ESQL_T_KEYWORD:
		out->u.s.p = p;
		out->u.s.len = len;
		return 0;
	case ESQL_T_LONG:
		return to_long(p, len, &out->u.l);
	case ESQL_T_INTEGER:
		if (to_long(p, len, &out->u.l) != 0 || out->u.l < INT32_MIN ||
		    out->u.l > INT32_MAX)
			return -1;
		return 0;
	case ESQL_T_DATETIME:
		return timefmt_parse(p, len, &out->u.l);
	case ESQL_T_IP:
		return esql_ip_parse(p, len, out->u.ip);
	case ESQL_T_BOOLEAN:
		/* BooleanFieldMapper: "" is false, as is "false" */
		if (len == 4 && memcmp(p, "true", 4) == 0)
			out->u.l = 1;
		else if (!(len == 0 ||
			   (len == 5 && memcmp(p, "false", 5) == 0)))
			return -1;
		return 0;
	default:
		return -1;
	}
}
