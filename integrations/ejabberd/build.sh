#!/bin/sh
# Builds mod_imlogger_inline against Debian's ejabberd 23.01 and lays it out as an installed contributed module:
#   OUT/mod_imlogger_inline/mod_imlogger_inline.spec
#   OUT/mod_imlogger_inline/ebin/mod_imlogger_inline.beam
# OUT is ejabberd's contributed-modules folder: CONTRIB_MODULES_PATH, ~ejabberd/.ejabberd-modules by default
# (/var/lib/ejabberd/.ejabberd-modules on Debian). ejabberd adds OUT/*/ebin to its code path when it starts.
# Needs: ejabberd (its headers), erlang-dev, erlc (erlang-base).
# Usage: build.sh [OUT]   (default: $CONTRIB_MODULES_PATH, else /var/lib/ejabberd/.ejabberd-modules)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${CONTRIB_MODULES_PATH:-/var/lib/ejabberd/.ejabberd-modules}}

first() { for d in "$@"; do [ -d "$d" ] && { echo "$d"; return 0; }; done; return 1; }
# Debian puts ejabberd's headers beside its beams, and xmpp/fast_xml under the p1_ names.
ejabberd_inc=${EJABBERD_INCLUDE:-$(first /usr/lib/x86_64-linux-gnu/ejabberd-*/include /usr/lib/*/ejabberd-*/include /usr/lib/erlang/lib/ejabberd-*/include)} \
  || { echo "build.sh: ejabberd's include files not found: install Debian's ejabberd, or set EJABBERD_INCLUDE" >&2; exit 1; }
xmpp_inc=${XMPP_INCLUDE:-$(first /usr/lib/erlang/lib/p1_xmpp-*/include /usr/lib/erlang/lib/xmpp-*/include)} \
  || { echo "build.sh: xmpp's include files not found (Debian: erlang-p1-xmpp), or set XMPP_INCLUDE" >&2; exit 1; }
fxml_inc=${FXML_INCLUDE:-$(first /usr/lib/erlang/lib/p1_xml-*/include /usr/lib/erlang/lib/fast_xml-*/include)} \
  || { echo "build.sh: fast_xml's include files not found (Debian: erlang-p1-xml), or set FXML_INCLUDE" >&2; exit 1; }
ejabberd_ebin=$(dirname "$ejabberd_inc")/ebin
command -v erlc >/dev/null || { echo "build.sh: erlc not found: apt-get install erlang-base erlang-dev" >&2; exit 1; }

dest="$out/mod_imlogger_inline"
mkdir -p "$dest/ebin"
erlc -Werror -o "$dest/ebin" -I "$ejabberd_inc" -I "$xmpp_inc" -I "$fxml_inc" -pa "$ejabberd_ebin" "$here/mod_imlogger_inline.erl" "$here/mod_imlogger_muc.erl" "$here/mod_imlogger_signin.erl" "$here/mod_imlogger_lanes.erl"
cp "$here/mod_imlogger_inline.spec" "$dest/"
echo "Built $dest/ebin/mod_imlogger_inline.beam, mod_imlogger_muc.beam, mod_imlogger_signin.beam and mod_imlogger_lanes.beam (against $ejabberd_inc)"
