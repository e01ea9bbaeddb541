#!/usr/bin/env bash
# Builds ImLogger's Debian package: a self-contained single-file binary (no .NET runtime on the server), the systemd
# unit, its system user (sysusers.d), its folders (tmpfiles.d), /etc/imlogger/imlogger.xml and nlog.config as
# conffiles, the docs and a man page generated from the program's own help.
#   integrations/debian/build.sh OUTDIR      (./imlogger.sh package calls it with .work/package)
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
ROOT=$PWD
out=$(readlink -f "${1:-$ROOT/.work/package}")
mkdir -p "$out"

case "$(dpkg --print-architecture)" in
  amd64) rid=linux-x64 arch=amd64 ;;
  arm64) rid=linux-arm64 arch=arm64 ;;
  *) echo "imlogger package: no .NET runtime identifier for $(dpkg --print-architecture)" >&2; exit 1 ;;
esac

# Debian version: the assembly's version, then the commit's time and id, so later builds sort later.
base=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props | head -1)
base=${base:-1.0.0}
if rev=$(git rev-parse --short=10 HEAD 2>/dev/null); then
  version="$base+git$(git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S).$rev"
else
  version="$base"
fi

stage="$out/stage"
rm -rf "$stage"
echo "== publishing a self-contained imlogger for $rid (about a minute)"
# ReadyToRun: ImLogger's own code and its libraries (LiteDB, NLog, Microsoft.Extensions.*) ship precompiled, so a start
# JIT-compiles little. In inline mode the server keeps held stanzas only for its timeout while ImLogger restarts
# (docs/durability.md, "How long a restart takes").
# Not composite (the SDK's default for a single file): each assembly precompiled on its own, the runtime's as Microsoft
# ships them, as the integration tests' imlogger is. A composite image of the runtime and the program cost 189 s of CPU
# per build against 62 s (the package test builds one in every suite run) and 8 MB more in the package, for 0.54 s
# instead of 0.63 s of CPU to a start (docs/durability.md, "How long a restart takes"). After a build of the solution
# (what ./imlogger.sh test does first) this publish compiles nothing again and finds those per-assembly images made
# already, by the integration tests' publish: 15 s of CPU, the same bytes (Directory.Build.props).
dotnet publish src/ImLogger.Host -c Release -r "$rid" --self-contained --nologo -v quiet -clp:ErrorsOnly \
  -p:PublishSingleFile=true -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=false -p:PublishDocumentationFiles=false \
  -p:PublishReferencesDocumentationFiles=false -o "$out/publish"

echo "== staging the package tree"
install -D -m 0755 "$out/publish/imlogger" "$stage/usr/lib/imlogger/imlogger"
install -d "$stage/usr/bin"
ln -s ../lib/imlogger/imlogger "$stage/usr/bin/imlogger"
install -D -m 0644 integrations/systemd/imlogger.service "$stage/lib/systemd/system/imlogger.service"
install -D -m 0644 integrations/debian/imlogger.sysusers "$stage/usr/lib/sysusers.d/imlogger.conf"
install -D -m 0644 integrations/debian/imlogger.tmpfiles "$stage/usr/lib/tmpfiles.d/imlogger.conf"
install -D -m 0640 integrations/debian/imlogger.xml "$stage/etc/imlogger/imlogger.xml"
install -D -m 0640 integrations/nlog/nlog.config "$stage/etc/imlogger/nlog.config"
install -D -m 0644 config/imlogger.xsd "$stage/usr/share/imlogger/imlogger.xsd"
install -D -m 0644 integrations/prosody/mod_imlogger_inline.lua "$stage/usr/share/imlogger/prosody/mod_imlogger_inline.lua"
doc="$stage/usr/share/doc/imlogger"
install -d "$doc/samples"
install -m 0644 README.md docs/*.md "$doc/"
cp -r samples/config "$doc/samples/"
install -m 0644 LICENSE "$doc/copyright"
install -D -m 0644 integrations/prosody/README.md "$doc/prosody/README.md"
install -D -m 0644 integrations/prometheus/imlogger-alerts.yml "$doc/prometheus/imlogger-alerts.yml"

# The man page: the program's own help, rendered by the program (imlogger help --man), so the two never differ.
install -d "$stage/usr/share/man/man1"
"$out/publish/imlogger" help --man | gzip -9n > "$stage/usr/share/man/man1/imlogger.1.gz"
# Tab completion, also from the program (it asks the program for the words: System.CommandLine's [suggest] directive).
install -d "$stage/usr/share/bash-completion/completions"
"$out/publish/imlogger" completion bash > "$stage/usr/share/bash-completion/completions/imlogger"

install -d "$stage/DEBIAN"
install -m 0755 integrations/debian/postinst integrations/debian/prerm integrations/debian/postrm "$stage/DEBIAN/"
printf '/etc/imlogger/imlogger.xml\n/etc/imlogger/nlog.config\n' > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" integrations/debian/control.in > "$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums)

deb="$out/imlogger_${version}_${arch}.deb"
rm -f "$out"/imlogger_*.deb
# gzip: dpkg-deb's xz takes minutes for the 90 MB binary on two cores, and saves little on it.
dpkg-deb --root-owner-group -Zgzip -z6 --build "$stage" "$deb" >/dev/null
echo "== built $(du -h "$deb" | cut -f1) package; install it with: apt install $deb"
echo "$deb"
