#!/bin/sh
# The whole install, by hand (as root; it downloads a Debian 12 system, a few
# minutes): builds the packages, makes a fresh Debian 12 root with debootstrap,
# installs them there with apt (which brings their declared dependencies and
# nothing else), then runs `agentperf demo` and `agentperf --version` inside it.
#   scripts/deb-install-test.sh [MIRROR]      (default http://deb.debian.org/debian)
set -eu
SOURCE=$(cd "$(dirname "$0")/.." && pwd)
MIRROR=${1:-http://deb.debian.org/debian}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/agentperf-debootstrap.XXXXXX")
ROOT="$WORK/root"
cleanup() {
	for mount in "$ROOT/dev/shm" "$ROOT/dev" "$ROOT/proc" "$ROOT/sys"; do
		mountpoint -q "$mount" 2>/dev/null && umount -l "$mount"
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
VERSION=$(dpkg-parsechangelog -l "$SOURCE/debian/changelog" -S Version)

mkdir "$WORK/agentperf-$VERSION"
git -C "$SOURCE" ls-files -co --exclude-standard -z |
	(cd "$SOURCE" && xargs -0 tar -cf -) | tar -xf - -C "$WORK/agentperf-$VERSION"
(cd "$WORK/agentperf-$VERSION" &&
	DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b >"$WORK/build.log" 2>&1) ||
	{ tail -n 40 "$WORK/build.log"; exit 1; }

debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
	{ tail -n 20 "$WORK/debootstrap.log"; exit 1; }
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
mount -t tmpfs tmpfs "$ROOT/dev/shm"
mount --bind /sys "$ROOT/sys"
mkdir "$ROOT/packages"
cp "$WORK"/libagentperf0_*.deb "$WORK"/libagentperf-dev_*.deb "$WORK"/agentperf_*.deb \
	"$WORK"/python3-agentperf_*.deb "$ROOT/packages/"
chroot "$ROOT" sh -c 'apt-get update -q && apt-get install -y -q /packages/*.deb' >"$WORK/apt.log" 2>&1 ||
	{ tail -n 30 "$WORK/apt.log"; exit 1; }
chroot "$ROOT" agentperf --version
chroot "$ROOT" python3 -c 'import agentperf, codex_plus; print("python:", agentperf.__file__)'
chroot "$ROOT" sh -c 'cd /tmp && agentperf demo --tasks 50'
chroot "$ROOT" sh -c 'man -w agentperf agentperfd agentperf-config' 2>/dev/null || true
echo "installed into a fresh Debian 12 root and ran: ok"
