-- The rule "Suspicious Python Shell Command Execution" in DuckDB SQL, as
-- close to its ES|QL query as SQL allows.  scripts/bench runs it with
-- tests/bench/duckdb_rule.cjs, which sets the threads and the UTC time
-- zone, replaces ${FILE} with the NDJSON path, runs the statements in
-- order and writes the rows of the last one as NDJSON.
--
-- Only the fields the rule reads are given a type; the reader skips the
-- rest of each document.  Each is read as JSON, in every spelling a
-- document may use (nested objects, dotted keys and their mixes), because
-- Defend writes some of them as a string or an array (event.type,
-- process.args) and Elasticsearch treats both alike; jvals() turns one
-- into its list of values.  The differences from the rule are listed in
-- docs/benchmarks.md: a field below an array of objects reads as
-- missing, nested arrays are flattened one level only, an object where a
-- value is expected counts as its JSON text, a key repeated in one object
-- keeps its first value, numbers are respelled by DuckDB's JSON reader
-- (1.50 becomes 1.5, 1e3 becomes 1000.0), a value with a lone surrogate
-- escape ("\ud800") reads as null instead of holding U+FFFD, and DuckDB
-- accepts some lines that are not strict JSON (NaN, a trailing comma).

-- The values of a JSON field: arrays flattened one level, nulls dropped,
-- numbers and booleans as their JSON text.
CREATE OR REPLACE TEMP MACRO jvals(j) AS
  CASE
    WHEN j IS NULL THEN []::VARCHAR[]
    WHEN json_type(j) = 'ARRAY'
      THEN list_filter(json_extract_string(j, '$[*]'), x -> x IS NOT NULL)
    ELSE list_filter([json_extract_string(j, '$')], x -> x IS NOT NULL)
  END;

-- The one distinct value of a list of values, or NULL when it has none
-- or several.
CREATE OR REPLACE TEMP MACRO single(v) AS
  CASE WHEN len(list_distinct(v)) = 1 THEN list_distinct(v)[1] END;

-- The distinct values of a group key field; none is the one value NULL.
CREATE OR REPLACE TEMP MACRO keyvals(v) AS
  CASE WHEN len(list_distinct(v)) = 0 THEN [NULL]::VARCHAR[]
    ELSE list_distinct(v) END;

-- Every spelling of every field the rule reads: nested objects, dotted
-- keys and their mixes ({"process": {"parent.name": ...}}), merged.
WITH events AS (
  SELECT
    jvals("@timestamp") AS ts,
    list_concat(jvals(host.os.type), jvals(host."os.type"),
      jvals("host.os".type), jvals("host.os.type")) AS os_type,
    list_concat(jvals(host.name), jvals("host.name")) AS host_name,
    list_concat(jvals(event.type), jvals("event.type")) AS event_type,
    list_concat(jvals(event.action), jvals("event.action")) AS event_action,
    list_concat(jvals(event.dataset), jvals("event.dataset"))
      AS event_dataset,
    list_concat(jvals(process.name), jvals("process.name")) AS process_name,
    list_concat(jvals(process.args), jvals("process.args")) AS process_args,
    list_concat(jvals(process.command_line), jvals("process.command_line"))
      AS command_line,
    list_concat(jvals(process.parent.name), jvals(process."parent.name"),
      jvals("process.parent".name), jvals("process.parent.name"))
      AS parent_name,
    list_concat(jvals(process.parent.entity_id),
      jvals(process."parent.entity_id"), jvals("process.parent".entity_id),
      jvals("process.parent.entity_id")) AS parent_entity_id,
    list_concat(jvals(agent.id), jvals("agent.id")) AS agent_id,
    list_concat(jvals(data_stream.namespace),
      jvals("data_stream.namespace")) AS namespace
  FROM read_ndjson('${FILE}',
    columns = {
      '@timestamp': 'JSON',
      'host': 'STRUCT(name JSON, os STRUCT(type JSON), "os.type" JSON)',
      'host.os': 'STRUCT(type JSON)',
      'host.os.type': 'JSON',
      'host.name': 'JSON',
      'event': 'STRUCT(type JSON, action JSON, dataset JSON)',
      'event.type': 'JSON',
      'event.action': 'JSON',
      'event.dataset': 'JSON',
      'process': 'STRUCT(name JSON, args JSON, command_line JSON,
                         parent STRUCT(name JSON, entity_id JSON),
                         "parent.name" JSON, "parent.entity_id" JSON)',
      'process.parent': 'STRUCT(name JSON, entity_id JSON)',
      'process.name': 'JSON',
      'process.args': 'JSON',
      'process.command_line': 'JSON',
      'process.parent.name': 'JSON',
      'process.parent.entity_id': 'JSON',
      'agent': 'STRUCT(id JSON)',
      'agent.id': 'JSON',
      'data_stream': 'STRUCT(namespace JSON)',
      'data_stream.namespace': 'JSON'
    },
    ignore_errors = true)
),
-- The per-event filter.
matched AS (
  SELECT * FROM events
  WHERE single(process_name) IN ('bash', 'dash', 'sh', 'tcsh', 'csh', 'zsh',
                                 'ksh', 'fish', 'busybox')
    AND lower(single(parent_name)) LIKE 'python%'
    AND single(os_type) IN ('linux', 'macos')
    AND single(event_type) = 'start'
    AND list_contains(event_action, 'exec')
    AND list_has_any(process_args, ['-c', '-cl', '-lc'])
),
-- @timestamp (one value, not de-duplicated: a date is not a keyword) in
-- the detector's reading of strict_date_optional_time||epoch_millis: ISO
-- 8601 yyyy[-MM[-dd[THH[:mm[:ss[(.|,)F{1,9}]]][zone]]]] with the zone Z,
-- +HH, +HH:mm or +HHmm (at most 18 hours), else epoch milliseconds
-- [-]digits{1,19}[.digits*].
stamped AS (
  SELECT *,
    CASE WHEN len(ts) = 1 THEN ts[1] END AS ts_text
  FROM matched
),
parts AS (
  SELECT *,
    regexp_extract(ts_text,
      '^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2})'
      || '(?::([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]{1,9})?)?)?'
      || '(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?)?)?$',
      ['y', 'mo', 'd', 'h', 'mi', 's', 'z']) AS iso,
    regexp_extract(ts_text, '^(-?)([0-9]{1,19})(?:\.([0-9]*))?$',
      ['neg', 'i', 'f']) AS millis
  FROM stamped
),
fields AS (
  SELECT *,
    iso.y <> '' AS is_iso,
    TRY_CAST(nullif(iso.y, '') AS INT) AS y,
    coalesce(TRY_CAST(nullif(iso.mo, '') AS INT), 1) AS mo,
    coalesce(TRY_CAST(nullif(iso.d, '') AS INT), 1) AS d,
    coalesce(TRY_CAST(nullif(iso.h, '') AS INT), 0) AS h,
    coalesce(TRY_CAST(nullif(iso.mi, '') AS INT), 0) AS mi,
    coalesce(TRY_CAST(nullif(iso.s, '') AS INT), 0) AS s,
    CASE WHEN iso.z LIKE '-%' THEN -1 ELSE 1 END AS z_sign,
    coalesce(TRY_CAST(substr(replace(iso.z, ':', ''), 2, 2) AS INT), 0)
      AS z_h,
    coalesce(TRY_CAST(substr(replace(iso.z, ':', ''), 4, 2) AS INT), 0)
      AS z_m,
    (CASE WHEN millis.neg = '-' THEN -1 ELSE 1 END)
      * TRY_CAST(nullif(millis.i, '') || '.' || millis.f || '0'
                 AS DECIMAL(38, 18)) AS ms
  FROM parts
),
placed AS (
  SELECT *,
    CASE
      WHEN is_iso THEN
        CASE WHEN mo BETWEEN 1 AND 12 AND h <= 23 AND mi <= 59 AND s <= 59
              AND d BETWEEN 1 AND day(last_day(make_date(y, mo, 1)))
              AND z_m <= 59 AND z_h * 60 + z_m <= 18 * 60
          THEN make_timestamp(y, mo, d, h, mi, s)
            - to_minutes(z_sign * (z_h * 60 + z_m))
        END
      -- Epoch milliseconds within the years 0 to 9999.
      WHEN ms >= -62167219200000 AND ms < 253402300800000 THEN
        make_timestamp(60000000 * floor(ms / 60000)::BIGINT)
    END AS event_time
  FROM fields
),
labelled AS (
  SELECT *,
    date_trunc('minute', event_time) AS time_window,
    single(command_line) AS one_line,
    CASE
      WHEN one_line LIKE '%grep%' THEN 'grep'
      WHEN one_line LIKE '%find%' THEN 'find'
      WHEN one_line LIKE '%curl%' THEN 'curl'
      WHEN one_line LIKE '%env %' THEN 'environment_enumeration'
      WHEN one_line LIKE '%wget%' THEN 'wget'
      WHEN one_line LIKE '%whoami%' OR one_line LIKE '%uname%'
        OR one_line LIKE '%hostname%' THEN 'discovery'
      ELSE 'other'
    END AS pattern
  FROM placed
  WHERE event_time IS NOT NULL
    AND year(event_time) BETWEEN 0 AND 9999
),
-- A multi-valued key field puts the event into every combination.
keyed AS (
  SELECT l.*, p.k AS k_parent, a.k AS k_agent, n.k AS k_host
  FROM labelled AS l,
    unnest(keyvals(l.parent_entity_id)) AS p(k),
    unnest(keyvals(l.agent_id)) AS a(k),
    unnest(keyvals(l.host_name)) AS n(k)
),
grouped AS (
  SELECT
    k_parent, k_agent, k_host, time_window,
    len(list_distinct(flatten(list(command_line)))) AS n_lines,
    count(DISTINCT pattern) AS n_patterns,
    list_sort(list_distinct(flatten(list(command_line)))) AS v_lines,
    list_sort(list_distinct(flatten(list(host_name)))) AS v_hosts,
    list_sort(list_distinct(flatten(list(agent_id)))) AS v_agents,
    list_sort(list_distinct(flatten(list(event_dataset))))
      AS v_datasets,
    list_sort(list_distinct(flatten(list(namespace)))) AS v_namespaces
  FROM keyed
  GROUP BY k_parent, k_agent, k_host, time_window
)
SELECT
  k_parent AS "process.parent.entity_id",
  k_agent AS "agent.id",
  k_host AS "host.name",
  strftime(time_window, '%Y-%m-%dT%H:%M:%S.000Z')
    AS "Esql.time_window_date_trunc",
  n_lines AS "Esql.process_command_line_count_distinct",
  n_patterns AS "Esql.patterns_count_distinct",
  v_lines AS "Esql.process_command_line_values",
  v_hosts AS "Esql.host_name_values",
  v_agents AS "Esql.agent_id_values",
  v_datasets AS "Esql.event_dataset_values",
  v_namespaces AS "Esql.data_stream_namespace_values"
FROM grouped
WHERE n_lines >= 5 AND n_patterns >= 4
-- At most 100 alerts per window, largest first, ties by the group key.
QUALIFY row_number() OVER (PARTITION BY time_window
  ORDER BY n_lines DESC, n_patterns DESC, k_parent ASC NULLS FIRST,
    k_agent ASC NULLS FIRST, k_host ASC NULLS FIRST) <= 100
ORDER BY n_lines DESC
