#!/usr/bin/env bash
# ImLogger's benchmark (docs/performance.md): builds in Release, then runs Prosody alone vs tap mode under load,
# the component alone on a recorded stream, and memory with many conversations and a large spool.
#   ./bench.sh                      everything with the defaults (a few minutes on 2 cores)
#   ./bench.sh --only replay        one section; ./bench.sh --help lists the flags
#   ./bench.sh --only property      the coverage property test, IMLOGGER_PROPERTY_ITER cases (default 200000)
# The table goes to stdout (markdown); progress to stderr.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
for p in prosody prosody-modules; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || { echo "bench.sh: Debian's $p is missing; ./imlogger.sh test installs it" >&2; exit 1; }
done
# The coverage property test with a long budget and fresh seeds (the suite runs 1,500 cases from a fixed seed).
if [[ "${1:-}" == "--only" && "${2:-}" == "property" ]]; then
  IMLOGGER_PROPERTY_ITER="${IMLOGGER_PROPERTY_ITER:-200000}" exec dotnet test tests/ImLogger.Core.Tests -c Release --nologo \
    --filter "FullyQualifiedName~CoveragePropertyTests"
fi
dotnet build src/ImLogger.Host -c Release --nologo -v quiet -clp:ErrorsOnly >&2
dotnet build src/ImLogger.Bench -c Release --nologo -v quiet -clp:ErrorsOnly >&2
exec dotnet src/ImLogger.Bench/bin/Release/net10.0/imlogger-bench.dll "$@"
