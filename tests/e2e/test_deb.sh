#!/bin/sh
# The Debian packages: built from a copy of the source with dpkg-buildpackage,
# checked by lintian (no error or warning; the info tags are printed), read by
# dpkg-deb, unpacked with dpkg -x into a clean folder and tried there: the
# library's SONAME, programs without RUNPATH (once installed, the system path
# finds the library), man pages that render without warnings, the completion,
# the sysusers.d and tmpfiles.d entries, and the systemd unit verified with the
# unpacked daemon in its ExecStart. The full install into a fresh Debian 12
# root is scripts/deb-install-test.sh (by hand: it downloads a system).
# Arguments: source-dir.
set -eu
SOURCE=$(cd "$1" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agentperf-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
VERSION=$(dpkg-parsechangelog -l "$SOURCE/debian/changelog" -S Version)
ARCH=$(dpkg-architecture -q DEB_HOST_ARCH)
TRIPLET=$(dpkg-architecture -q DEB_HOST_MULTIARCH)

# The tracked (and new, not ignored) files only: no build folder gets in.
mkdir "$WORK/agentperf-$VERSION"
git -C "$SOURCE" ls-files -co --exclude-standard -z |
	(cd "$SOURCE" && xargs -0 tar -cf -) | tar -xf - -C "$WORK/agentperf-$VERSION"
# nocheck: the suite that runs this test has run the unit tests already.
if ! (cd "$WORK/agentperf-$VERSION" &&
	DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b \
		>"$WORK/build.log" 2>&1); then
	tail -n 40 "$WORK/build.log"
	exit 1
fi
echo "dpkg-buildpackage: built $(ls "$WORK"/*.deb | wc -l) packages"

CHANGES="$WORK/agentperf_${VERSION}_$ARCH.changes"
lintian --pedantic --info --fail-on error,warning "$CHANGES" | tee "$WORK/lintian.txt"
echo "lintian: no error or warning ($(grep -c '^[IP]:' "$WORK/lintian.txt" || true) info and pedantic tags above)"

ROOT="$WORK/root"
mkdir "$ROOT"
for package in libagentperf0 libagentperf-dev agentperf python3-agentperf; do
	DEB="$WORK/${package}_${VERSION}_$ARCH.deb"
	dpkg-deb --info "$DEB" | grep -q "^ Package: $package$"
	dpkg -x "$DEB" "$ROOT"
done
dpkg-deb --info "$WORK/agentperf_${VERSION}_$ARCH.deb" | grep -q '^ Depends: .*libagentperf0 (= '

LIB="$ROOT/usr/lib/$TRIPLET"
readelf -d "$LIB/libagentperf.so.0" | grep -q 'SONAME.*libagentperf\.so\.0'
test -f "$LIB/agentperf/agentperf-runners.so"
test -f "$ROOT/usr/include/agentperf/agentperf.h"
PKG_CONFIG_PATH="$LIB/pkgconfig" pkg-config --exists agentperf
for program in "$ROOT/usr/bin/agentperf" "$ROOT/usr/sbin/agentperfd"; do
	if readelf -d "$program" | grep -q 'R.*PATH'; then
		echo "$program has an RPATH or RUNPATH"
		exit 1
	fi
done
LD_LIBRARY_PATH="$LIB" "$ROOT/usr/bin/agentperf" --version | grep -q "^agentperf [0-9]"
LD_LIBRARY_PATH="$LIB" "$ROOT/usr/sbin/agentperfd" --help | grep -q '^Usage: agentperfd'
# The Python module and codex_plus, imported from the unpacked tree by Debian's python3.
SITE="$ROOT/usr/lib/python3/dist-packages"
if readelf -d "$SITE"/agentperf.cpython-*.so | grep -q 'R.*PATH'; then
	echo "the Python module has an RPATH or RUNPATH"
	exit 1
fi
LD_LIBRARY_PATH="$LIB" PYTHONPATH="$SITE" /usr/bin/python3 -c \
	'import agentperf, codex_plus, codex_plus.performance_monitor; print(agentperf.__file__)' |
	grep -q "^$SITE/agentperf"
echo "unpacked: library with its SONAME, programs on the system path, the Python module"

for page in man1/agentperf.1.gz man5/agentperf-config.5.gz man8/agentperfd.8.gz; do
	WARNINGS=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$ROOT/usr/share/man/$page" 2>&1 >/dev/null || true)
	if [ -n "$WARNINGS" ]; then
		echo "$page: $WARNINGS"
		exit 1
	fi
done
echo "man pages: render without warnings"
bash -c ". '$ROOT/usr/share/bash-completion/completions/agentperf' && complete -p agentperf" |
	grep -q '_agentperf'
grep -q '^u agentperf ' "$ROOT/usr/lib/sysusers.d/agentperf.conf"
grep -q '^d /run/agentperf ' "$ROOT/usr/lib/tmpfiles.d/agentperf.conf"

UNIT="$ROOT/lib/systemd/system/agentperfd.service"
grep -q '^ExecStart=/usr/sbin/agentperfd ' "$UNIT"
if command -v systemd-analyze >/dev/null 2>&1; then
	# The daemon is not installed on this machine: the unit is verified with the
	# unpacked one in its place (a wrapper that finds its library).
	mkdir "$WORK/unit"
	printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$LIB" "$ROOT/usr/sbin/agentperfd" \
		>"$WORK/unit/agentperfd"
	chmod +x "$WORK/unit/agentperfd"
	sed "s|^ExecStart=/usr/sbin/agentperfd |ExecStart=$WORK/unit/agentperfd |" "$UNIT" \
		>"$WORK/unit/agentperfd.service"
	VERIFY=$(MANPATH="$ROOT/usr/share/man" systemd-analyze verify "$WORK/unit/agentperfd.service" 2>&1) || true
	if [ -n "$VERIFY" ]; then
		echo "systemd-analyze verify agentperfd.service:"
		echo "$VERIFY"
		exit 1
	fi
	echo "systemd-analyze verify agentperfd.service: clean"
fi
