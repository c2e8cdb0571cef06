# The rule "Suspicious Python Shell Command Execution" as a jq program,
# as close to its ES|QL query as jq allows.  Run as
#
#   jq -n -R -c -f tests/bench/rule.jq FILE
#
# It reads raw lines and skips those that are not JSON objects, as the
# detector does, and prints one line per alert with the eleven columns of
# the query.
# Field values follow Elasticsearch: nested objects and dotted keys name
# the same field, arrays are flattened, null gives no value, numbers and
# booleans count as their JSON text, and multi-valued group keys put the
# event into every combination.  Differences from the rule (listed in
# docs/benchmarks.md): jq 1.6 prints numbers its own way (1.50 is 1.5,
# 1e3 is 1000); its JSON reader accepts NaN and replaces invalid UTF-8
# where the rule skips the line, but rejects a line with a lone surrogate
# escape ("\ud800") where the rule reads U+FFFD; a key repeated in one
# object keeps only its last value.

# The scalars of the field named by the path segments $p: nested objects,
# dotted keys ({"process.name": ...}, {"process": {"parent.name": ...}})
# and any mix of them, arrays flattened at any level, null dropped,
# numbers and booleans as JSON text.
def fv($p):
  if type == "array" then .[] | fv($p)
  elif ($p | length) == 0 then
    if type == "object" or . == null then empty
    elif type == "string" then .
    else tojson end
  elif type == "object" then
    . as $o
    | range(1; ($p | length) + 1) as $n
    | ($p[0:$n] | join(".")) as $k
    | if $o | has($k) then $o[$k] | fv($p[$n:]) else empty end
  else empty end;

# The values of a field as an array, e.g. vals("process.parent.name").
def vals($f): [fv($f | split("."))];

# The one distinct value of a field, or null if it has none or several.
def single($f): (vals($f) | unique) as $v
  | if ($v | length) == 1 then $v[0] else null end;

def shells: {"bash":1,"dash":1,"sh":1,"tcsh":1,"csh":1,"zsh":1,"ksh":1,
             "fish":1,"busybox":1};

def matches:
  (single("process.name") as $n | $n != null and shells[$n] != null)
  and (single("process.parent.name") | . != null
       and (.[0:6] | ascii_downcase) == "python")
  and (single("host.os.type") | . == "linux" or . == "macos")
  and single("event.type") == "start"
  and (vals("event.action") | any(. == "exec"))
  and (vals("process.args") | any(. == "-c" or . == "-cl" or . == "-lc"));

# Calendar arithmetic on the proleptic Gregorian calendar, in days since
# 1970-01-01 (H. Hinnant's algorithms, with floor division).
def days_from_civil($y; $m; $d):
  ($y - (if $m <= 2 then 1 else 0 end)) as $yy
  | (($m + 9) % 12) as $mp
  | 365 * $yy + ($yy / 4 | floor) - ($yy / 100 | floor)
    + ($yy / 400 | floor) + ((153 * $mp + 2) / 5 | floor) + $d - 1 - 719468;

def civil_from_days($days):
  ($days + 719468) as $z
  | ($z / 146097 | floor) as $era
  | ($z - $era * 146097) as $doe
  | (($doe - ($doe / 1460 | floor) + ($doe / 36524 | floor)
      - ($doe / 146096 | floor)) / 365 | floor) as $yoe
  | ($doe - (365 * $yoe + ($yoe / 4 | floor) - ($yoe / 100 | floor)))
    as $doy
  | ((5 * $doy + 2) / 153 | floor) as $mp
  | (if $mp < 10 then $mp + 3 else $mp - 9 end) as $m
  | [$yoe + $era * 400 + (if $m <= 2 then 1 else 0 end), $m,
     $doy - ((153 * $mp + 2) / 5 | floor) + 1];

def leap($y): ($y % 4 == 0 and $y % 100 != 0) or $y % 400 == 0;
def month_days($y; $m):
  [31, (if leap($y) then 29 else 28 end), 31, 30, 31, 30, 31, 31, 30, 31,
   30, 31][$m - 1];
def num: if . == null or . == "" then 0 else tonumber end;
def pad($n): tostring | ("000000000" + .)[-$n:];

# Minutes since the epoch of an ISO 8601 text, or null.  The grammar is
# the detector's reading of Elasticsearch's strict_date_optional_time:
# yyyy[-MM[-dd[THH[:mm[:ss[(.|,)F{1,9}]]][zone]]]], the zone Z, +HH,
# +HH:mm or +HHmm, at most 18 hours.
def iso_minutes:
  (capture("^(?<y>[0-9]{4})(-(?<mo>[0-9]{2})(-(?<d>[0-9]{2})"
            + "(T(?<h>[0-9]{2})(:(?<mi>[0-9]{2})(:(?<s>[0-9]{2})"
            + "([.,][0-9]{1,9})?)?)?(?<z>Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?)?)?$")
   // null)
  | if . == null then null
    else
      (.y | tonumber) as $y
      | (if .mo then .mo | tonumber else 1 end) as $mo
      | (if .d then .d | tonumber else 1 end) as $d
      | (.h | num) as $h | (.mi | num) as $mi | (.s | num) as $s
      | (if .z == null or .z == "Z" then 0
         else (.z | gsub(":"; "")) as $z
           | (if $z[0:1] == "-" then -1 else 1 end) as $sign
           | ($z[1:3] | tonumber) as $zh
           | ($z[3:5] | num) as $zm | 0 as $zs
           | if $zm > 59 or $zs > 59
                or $zh * 3600 + $zm * 60 + $zs > 18 * 3600
             then null
             else $sign * ($zh * 3600 + $zm * 60 + $zs) end
         end) as $off
      | if $off == null or $mo < 1 or $mo > 12 or $d < 1
           or $d > month_days($y; $mo) or $h > 23 or $mi > 59 or $s > 59
        then null
        else (days_from_civil($y; $mo; $d) * 86400 + $h * 3600 + $mi * 60
              + $s - $off) / 60 | floor
        end
    end;

# Minutes since the epoch of an epoch-milliseconds text, or null:
# [-]digits{1,19}[.digits*], where -N.f means -(N.f) ms.
def millis_minutes:
  (capture("^(?<neg>-)?(?<i>[0-9]{1,19})(\\.(?<f>[0-9]*))?$") // null)
  | if . == null then null
    else ((.i | tonumber) + ("0." + (.f // "") + "0" | tonumber))
      * (if .neg then -1 else 1 end) / 60000 | floor
    end;

# @timestamp truncated to the minute, as "YYYY-MM-DDTHH:MM:00.000Z", or
# null when it is missing, multi-valued (two equal values count as two: a
# date is not a keyword) or unparsable, or outside the years 0 to 9999.
def window:
  vals("@timestamp") as $v
  | if ($v | length) != 1 then null
    else ($v[0] | iso_minutes // millis_minutes) as $min
    | if $min == null then null
      else (($min * 60 / 86400) | floor) as $days
      | civil_from_days($days) as $c
      | ($min - $days * 1440) as $mod
      | if $c[0] < 0 or $c[0] > 9999 then null
        else "\($c[0] | pad(4))-\($c[1] | pad(2))-\($c[2] | pad(2))T"
          + "\(($mod / 60 | floor) | pad(2)):\($mod % 60 | pad(2)):00.000Z"
        end
      end
    end;

def pattern:
  (vals("process.command_line") | unique) as $c
  | if ($c | length) != 1 then "other"
    else $c[0] as $l
    | if ($l | contains("grep")) then "grep"
      elif ($l | contains("find")) then "find"
      elif ($l | contains("curl")) then "curl"
      elif ($l | contains("env ")) then "environment_enumeration"
      elif ($l | contains("wget")) then "wget"
      elif ($l | contains("whoami")) or ($l | contains("uname"))
        or ($l | contains("hostname")) then "discovery"
      else "other" end
    end;

def keyvals($f): (vals($f) | unique) as $v
  | if $v == [] then [null] else $v end;

def set_add(vs): reduce vs[] as $x (.; .[$x] = true);

reduce (inputs | (fromjson? // null)
        | select(type == "object" and (try matches catch false))
        | (try window catch null) as $w | select($w != null)
        | pattern as $lab
        | {cl: vals("process.command_line"), host: vals("host.name"),
           agent: vals("agent.id"), ds: vals("event.dataset"),
           ns: vals("data_stream.namespace"), lab: $lab} as $e
        | keyvals("process.parent.entity_id")[] as $p
        | keyvals("agent.id")[] as $a
        | keyvals("host.name")[] as $h
        | [$p, $a, $h, $w] as $k
        | {k: $k, e: $e})
  as $x ({};
    ($x.k | tojson) as $id
    | .[$id].k = $x.k
    | .[$id].cl |= set_add($x.e.cl)
    | .[$id].lab |= set_add([$x.e.lab])
    | .[$id].host |= set_add($x.e.host)
    | .[$id].agent |= set_add($x.e.agent)
    | .[$id].ds |= set_add($x.e.ds)
    | .[$id].ns |= set_add($x.e.ns))
# Threshold, then at most 100 alerts per window: distinct command lines
# descending, then distinct patterns descending, then the group key
# ascending (null first, strings by code point, which is UTF-8 byte order).
| [.[] | select((.cl | length) >= 5 and (.lab | length) >= 4)]
| group_by(.k[3])[]
| sort_by([-(.cl | length), -(.lab | length), .k[0], .k[1], .k[2]])[0:100][]
| {"process.parent.entity_id": .k[0], "agent.id": .k[1],
   "host.name": .k[2], "Esql.time_window_date_trunc": .k[3],
   "Esql.process_command_line_count_distinct": (.cl | length),
   "Esql.patterns_count_distinct": (.lab | length),
   "Esql.process_command_line_values": (.cl | keys),
   "Esql.host_name_values": (.host // {} | keys),
   "Esql.agent_id_values": (.agent // {} | keys),
   "Esql.event_dataset_values": (.ds // {} | keys),
   "Esql.data_stream_namespace_values": (.ns // {} | keys)}
| with_entries(select(.value != null))
