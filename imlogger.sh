#!/usr/bin/env bash
# ImLogger's entry points on a fresh Debian machine with the .NET SDK:
#   ./imlogger.sh demo   a local Prosody, the component and a local archive; a sample conversation is logged
#   ./imlogger.sh test   the whole test suite (what .ci/run calls); ends with "N passed, N failed"
#   ./imlogger.sh package [OUTDIR]   the Debian package (self-contained, no .NET runtime needed on the server)
# Each installs what it needs (Debian packages, NuGet restore) itself.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
ROOT=$PWD

# Debian's Prosody and its community modules (mod_firewall), Debian's ejabberd and the Erlang compiler its
# ImLogger module is built with (erlang-dev: the headers of Erlang/OTP), and slixmpp for the real XMPP clients.
install_packages() {
  local missing=()
  for p in prosody prosody-modules ejabberd erlang-dev python3-slixmpp; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # The packages may start a system-wide Prosody and ejabberd; ours run on loopback, on free ports, with their own
  # configs (the test ejabberd uses no Erlang distribution, so it never meets the system one's node or epmd).
  if pgrep -f "^/usr/bin/lua.* /usr/bin/prosody" >/dev/null 2>&1 && command -v systemctl >/dev/null && systemctl is-active --quiet prosody 2>/dev/null; then
    echo "   note: a system-wide Prosody is running (systemctl stop prosody if its ports get in the way)"
  fi
}

run_tests() {
  install_packages
  echo "== restoring and building"
  dotnet restore ImLogger.sln --nologo -v quiet
  dotnet build ImLogger.sln -c Release --no-restore --nologo -v quiet -clp:ErrorsOnly
  local results="$ROOT/.work/test-results"
  rm -rf "$results"
  echo "== running the tests"
  local rc=0 project name unit_rc=0
  mkdir -p "$results"
  # The integration tests take most of the time, and much of it waiting (servers starting, deadlines firing): the unit
  # projects run beside them, one after another, their output kept and shown after. Each project writes its own TRX
  # file, named after it (a timestamped default name could collide).
  (
    unit_rc=0
    for project in tests/*/*.csproj; do
      name=$(basename "$project" .csproj)
      [ "$name" = ImLogger.Integration.Tests ] && continue
      dotnet test "$project" -c Release --no-build --nologo --blame-hang-timeout 10m --blame-hang-dump-type none --logger "trx;LogFileName=$name.trx" --results-directory "$results" >"$results/$name.log" 2>&1 || unit_rc=$?
    done
    exit "$unit_rc"
  ) &
  local units=$!
  dotnet test tests/ImLogger.Integration.Tests/ImLogger.Integration.Tests.csproj -c Release --no-build --nologo --blame-hang-timeout 10m --blame-hang-dump-type none --logger "trx;LogFileName=ImLogger.Integration.Tests.trx" --results-directory "$results" || rc=$?
  wait "$units" || unit_rc=$?
  for project in tests/*/*.csproj; do
    name=$(basename "$project" .csproj)
    if [ -e "$results/$name.log" ]; then cat "$results/$name.log"; fi
  done
  [ "$unit_rc" -eq 0 ] || rc=$unit_rc
  # One closing line summed over every test project's TRX, so a run that executed nothing shows as such.
  local passed=0 failed=0 files=0
  for trx in "$results"/*.trx; do
    [ -e "$trx" ] || continue
    files=$((files + 1))
    local counters
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    local p f e t
    p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p'); f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
    e=$(echo "$counters" | sed -n 's/.* error="\([0-9]*\)".*/\1/p'); t=$(echo "$counters" | sed -n 's/.* timeout="\([0-9]*\)".*/\1/p')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0}))
  done
  if [ "$files" -eq 0 ] && [ "$rc" -eq 0 ]; then rc=1; echo "no test results were written"; fi
  echo "$passed passed, $failed failed"
  return "$rc"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

run_demo() {
  install_packages
  echo "== building ImLogger"
  dotnet build src/ImLogger.Host -c Release --nologo -v quiet -clp:ErrorsOnly
  local imlogger=(dotnet "$ROOT/src/ImLogger.Host/bin/Release/net10.0/imlogger.dll")
  local work="$ROOT/.work/demo"
  rm -rf "$work"
  mkdir -p "$work/prosody/data/example%2etest/accounts" "$work/prosody/certs"
  export IMLOGGER_COMPONENT_SECRET
  IMLOGGER_COMPONENT_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

  if port_in_use 5347; then
    echo "Port 5347 (the component port in config/imlogger.xml) is in use: stop what listens there (a system Prosody: systemctl stop prosody) and try again." >&2
    exit 1
  fi
  local c2s=5222
  if port_in_use 5222; then c2s=$(free_port); fi

  echo "== Prosody on 127.0.0.1:$c2s (clients) and 127.0.0.1:5347 (component), in $work/prosody"
  # Inline mode (config/imlogger.xml): mod_imlogger_inline and its config, which Prosody loads at start.
  "${imlogger[@]}" prosody-config --config config/imlogger.xml --out "$work/prosody/server-rules" >/dev/null
  for user in alice bob; do
    printf 'return {\n\t["password"] = "%s";\n};\n' "$user" > "$work/prosody/data/example%2etest/accounts/$user.dat"
  done
  sed -e "s#@DIR@#$work/prosody#g" -e "s#@C2S_PORT@#$c2s#g" -e "s#@COMPONENT_PORT@#5347#g" -e "s#@LOG_LEVEL@#info#g" \
    integrations/prosody/sandbox.cfg.lua.in > "$work/prosody/prosody.cfg.lua"
  cat >> "$work/prosody/prosody.cfg.lua" <<CFG

VirtualHost "example.test"

Component "conference.example.test" "muc"
	muc_room_locking = false

Include "$work/prosody/server-rules/imlogger.cfg.lua"
CFG

  local prosody_pid="" imlogger_pid=""
  cleanup() {
    trap - INT TERM EXIT
    echo
    echo "== stopping"
    [ -n "$imlogger_pid" ] && kill -TERM "$imlogger_pid" 2>/dev/null && wait "$imlogger_pid" 2>/dev/null || true
    [ -n "$prosody_pid" ] && kill -TERM "$prosody_pid" 2>/dev/null && wait "$prosody_pid" 2>/dev/null || true
    echo "stopped Prosody and ImLogger; the archive stays in $work/archive"
  }
  trap cleanup INT TERM EXIT

  /usr/bin/prosody -F --config "$work/prosody/prosody.cfg.lua" >"$work/prosody/stdout.log" 2>&1 &
  prosody_pid=$!
  for _ in $(seq 1 100); do port_in_use 5347 && port_in_use "$c2s" && break; sleep 0.1; done
  port_in_use "$c2s" || { echo "Prosody did not start; see $work/prosody/prosody.log" >&2; cat "$work/prosody/stdout.log" >&2; exit 1; }

  echo "== ImLogger: imlogger run --config config/imlogger.xml (log: $work/imlogger.log)"
  "${imlogger[@]}" run --config config/imlogger.xml > >(tee "$work/imlogger.log" | sed -u 's/^/   imlogger | /') 2>&1 &
  imlogger_pid=$!
  for _ in $(seq 1 150); do grep -q "Connected to the XMPP server" "$work/imlogger.log" 2>/dev/null && break; sleep 0.2; done
  grep -q "Connected to the XMPP server" "$work/imlogger.log" || { echo "ImLogger did not connect; see $work/imlogger.log" >&2; exit 1; }

  echo "== a sample conversation: alice (logged) and bob chat, then meet in lobby@conference.example.test"
  cat > "$work/scenario.json" <<'JSON'
{"steps": [
 {"as": "alice@example.test", "do": "connect", "password": "alice", "resource": "laptop"},
 {"as": "bob@example.test", "do": "connect", "password": "bob", "resource": "phone"},
 {"as": "alice@example.test", "do": "chat", "to": "bob@example.test", "body": "Hi Bob, did you get the Q3 figures? :-)", "html": "<p>Hi Bob, did you get the <b>Q3 figures</b>? <img alt=':-)' src='smile.png'/></p>"},
 {"as": "bob@example.test", "do": "expect", "from": "alice@example.test", "body": "Hi Bob, did you get the Q3 figures? :-)"},
 {"as": "bob@example.test", "do": "chat", "to": "alice@example.test", "body": "Yes, I'll send them over this afternoon."},
 {"as": "alice@example.test", "do": "expect", "from": "bob@example.test", "body": "Yes, I'll send them over this afternoon."},
 {"as": "alice@example.test", "do": "join", "room": "lobby@conference.example.test", "nick": "alice"},
 {"as": "bob@example.test", "do": "join", "room": "lobby@conference.example.test", "nick": "bob"},
 {"as": "alice@example.test", "do": "groupchat", "room": "lobby@conference.example.test", "body": "Morning all, stand-up in 5 minutes."},
 {"as": "bob@example.test", "do": "expect", "from": "lobby@conference.example.test/alice", "body": "Morning all, stand-up in 5 minutes."},
 {"as": "bob@example.test", "do": "leave", "room": "lobby@conference.example.test", "nick": "bob"},
 {"do": "sleep", "seconds": 1},
 {"as": "alice@example.test", "do": "leave", "room": "lobby@conference.example.test", "nick": "alice"},
 {"do": "sleep", "seconds": 1}
]}
JSON
  if ! /usr/bin/python3 tests/ImLogger.Integration.Tests/clients/scenario.py 127.0.0.1 "$c2s" "$work/scenario.json" >"$work/clients.log" 2>&1; then
    echo "The sample clients failed:" >&2; cat "$work/clients.log" >&2; exit 1
  fi

  echo "== waiting for the conversations to go idle (15 s, idle-close in config/imlogger.xml) and be archived"
  for _ in $(seq 1 120); do
    [ "$(find "$work/archive" -name '*.eml' 2>/dev/null | wc -l)" -ge 2 ] && break
    sleep 0.5
  done
  echo
  for eml in "$work"/archive/*.eml; do
    [ -e "$eml" ] || { echo "No transcript arrived; see $work/imlogger.log" >&2; exit 1; }
    echo "---- $eml"
    /usr/bin/python3 - "$eml" <<'PY'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
print("Subject:", m["subject"]); print("Message-ID:", m["message-id"]); print()
print(m.get_body(("plain",)).get_content().rstrip())
PY
  done
  echo
  echo "The transcripts above are RFC 5322 .eml files in $work/archive: open them with any mail client."
  echo "Prosody and ImLogger keep running. Try it yourself: connect an XMPP client to 127.0.0.1:$c2s"
  echo "as alice@example.test (password alice) or bob@example.test (password bob), plain authentication, no TLS."
  echo "Conversations of alice appear in the archive 15 s after they go quiet. Ctrl-C stops everything."
  wait "$imlogger_pid"
}

case "${1:-}" in
  demo) run_demo ;;
  test) run_tests ;;
  package) integrations/debian/build.sh "${2:-$ROOT/.work/package}" ;;
  *) echo "usage: $0 demo|test|package [OUTDIR]" >&2; exit 64 ;;
esac
