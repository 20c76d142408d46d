#!/usr/bin/env bash
# The engine's acceptance benchmark, as an administrator runs it: `scimd sync run --once` on a
# generated file directory (the demo's --export-directory) into `scimd serve` on SQLite, mapped
# with the Hoxhunt table plus managers and groups. Then 1 % of the users change department and
# the cycle runs again. Peak RSS and CPU come from /usr/bin/time -v.
#
#   cargo build --release -p scimd
#   crates/scimd-bench/scripts/sync-cli.sh [USERS] [GROUPS]   # default 100000 1000
#
# SOURCE=graph reads the same directory from a fake Entra tenant over HTTP instead
# (`cargo build --release -p scimd-bench --bin fake-graph`; FAKE_GRAPH overrides its path):
# the initial cycle is a delta round, the incremental one follows the delta links.
# SOURCE=ldap reads it from a real slapd loaded with slapadd (`--bin ldap-directory`;
# LDAP_DIRECTORY overrides its path), mapped from LDAP's attribute names.
# SCIMD (default target/release/scimd) and WORK (default a temporary directory) override.
set -euo pipefail
USERS=${1:-100000}
GROUPS_N=${2:-1000}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
SCIMD=${SCIMD:-$ROOT/target/release/scimd}
FAKE_GRAPH=${FAKE_GRAPH:-$ROOT/target/release/fake-graph}
LDAP_DIRECTORY=${LDAP_DIRECTORY:-$ROOT/target/release/ldap-directory}
SOURCE=${SOURCE:-file}
WORK=${WORK:-$(mktemp -d)}
cd "$WORK"
echo "work dir: $WORK"

GRAPH=
if [ "$SOURCE" = graph ] || [ "$SOURCE" = ldap ]; then
  mkfifo graph.ctl
  BIN=$FAKE_GRAPH
  [ "$SOURCE" = ldap ] && BIN=$LDAP_DIRECTORY
  "$BIN" --users "$USERS" --groups "$GROUPS_N" <graph.ctl >graph.out 2>graph.err &
  GRAPH=$!
  exec 3>graph.ctl
  until grep -q "^ready" graph.out 2>/dev/null; do
    kill -0 $GRAPH 2>/dev/null || { cat graph.err; exit 1; }
    sleep 0.1
  done
  g() { sed -n "s/^$1 //p" graph.out | head -1; }
fi
if [ "$SOURCE" = ldap ]; then
  export LDAP_PASSWORD=$(g bind_password)
  SOURCE_TOML="type = \"ldap\"
url = \"$(g url)\"
base_dn = \"$(g base_dn)\"
bind_dn = \"$(g bind_dn)\"
bind_password_env = \"LDAP_PASSWORD\"
disabled_attribute = \"employeeType\"
disabled_values = [\"disabled\"]"
elif [ "$SOURCE" = graph ]; then
  export GRAPH_SECRET=$(g client_secret)
  SOURCE_TOML="type = \"graph\"
tenant_id = \"$(g tenant_id)\"
client_id = \"$(g client_id)\"
client_secret_env = \"GRAPH_SECRET\"
login_url = \"$(g login_url)\"
graph_url = \"$(g graph_url)\""
else
  "$SCIMD" demo --export-directory directory.json --users "$USERS" --groups "$GROUPS_N" >/dev/null
  SOURCE_TOML='type = "file"
path = "directory.json"'
fi
# The engine's throughput is measured, not the server's per-tenant limiter (100/s by default).
SCIMD_TENANT_RATE=1000000/1000000 "$SCIMD" serve --listen 127.0.0.1:0 --database "sqlite://$WORK/server.db" >serve.out 2>serve.err &
SERVER=$!
trap 'kill $SERVER $GRAPH 2>/dev/null || true' EXIT
until grep -q "scimd listening on" serve.out 2>/dev/null; do
  kill -0 $SERVER 2>/dev/null || { cat serve.err; exit 1; }
  sleep 0.1
done
URL=$(sed -n 's/^ *SCIM base URL: *//p' serve.out | head -1)
export BENCH_TOKEN=$(sed -n 's/^ *Secret token: *//p' serve.out | head -1)

cat >job.toml <<TOML
version = 1
[job]
name = "bench"
concurrency = 16
[source]
$SOURCE_TOML
[target]
url = "$URL"
token_env = "BENCH_TOKEN"
timeout = "60s"
[scope]
mode = "all"
[state]
database = "sqlite://$WORK/state.db"
TOML
if [ "$SOURCE" = ldap ]; then
  # The Hoxhunt table in LDAP's names (inetOrgPerson has no country).
  cat >>job.toml <<'TOML'
[[users.mappings]]
target = "userName"
source = "mail"
matching = 1
[[users.mappings]]
target = 'emails[type eq "work"].value'
source = "mail"
[[users.mappings]]
target = "active"
type = "expression"
expression = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
[[users.mappings]]
target = "name.givenName"
source = "givenName"
[[users.mappings]]
target = "name.familyName"
source = "sn"
[[users.mappings]]
target = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
source = "departmentNumber"
[[users.mappings]]
target = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division"
source = "l"
[[users.mappings]]
target = "preferredLanguage"
source = "preferredLanguage"
[[users.mappings]]
target = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
source = "manager"
[groups]
[[groups.mappings]]
target = "displayName"
source = "cn"
matching = 1
TOML
else
  sed -n '/^pub const HOXHUNT_USER_MAPPINGS/,/^"#;/p; /^pub const GROUP_MAPPINGS/,/^"#;/p' \
    "$ROOT/crates/sync-engine/src/presets.rs" | grep -v '^pub const\|^"#;' >>job.toml
fi

server_cpu() { # user+system seconds the server has used so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$SERVER/stat"
}

cycle() { # $1: label
  local t0 t1 s0
  s0=$(server_cpu)
  t0=$(date +%s.%N)
  /usr/bin/time -v "$SCIMD" sync run job.toml --once >"$1.out" 2>"$1.time" || true
  t1=$(date +%s.%N)
  local wall rss cpu_u cpu_s
  wall=$(echo "$t1 - $t0" | bc)
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$1.time")
  cpu_u=$(sed -n 's/.*User time (seconds): //p' "$1.time")
  cpu_s=$(sed -n 's/.*System time (seconds): //p' "$1.time")
  printf '%-12s wall %8.1f s   engine CPU %6.1f s   peak RSS %6d MB   server CPU %6.1f s\n' "$1" "$wall" \
    "$(echo "$cpu_u + $cpu_s" | bc)" $((rss / 1024)) "$(echo "$(server_cpu) - $s0" | bc)"
  grep -E "^(cycle|result|  (created|updated|requests))|users/s|requests" "$1.out" | head -8 || true
}
cycle initial
if [ "$SOURCE" != file ]; then
  echo "change 100" >&3
  until grep -q "^changed" graph.out; do sleep 0.1; done
  grep "^changed" graph.out
  cycle incremental
  exit 0
fi
python3 - "$USERS" <<'PY'
import json, sys
d = json.load(open("directory.json"))
users = d["users"] if isinstance(d, dict) else [o for o in d if "userPrincipalName" in o]
step = 100
for u in users[::step]:
    u["department"] = (u.get("department") or "") + " (changed)"
json.dump(d, open("directory.json", "w"))
print(f"changed {len(users[::step])} users")
PY
cycle incremental
