#!/bin/sh
# Installs the Debian 12 packages agentperf needs (when run as root) and
# builds into ./build. Extra CMake arguments may be passed through
# AGP_CMAKE_ARGS, e.g. AGP_CMAKE_ARGS=-DAGP_WERROR=ON.
set -eu
cd "$(dirname "$0")/.."
PACKAGES=$(grep -v '^#' scripts/packages.txt | tr '\n' ' ')

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y $PACKAGES
	# The interop tests need npm. Machines whose Node.js comes from NodeSource have it already,
	# and Debian's npm package conflicts with that nodejs: install it only where it is missing.
	command -v npm >/dev/null 2>&1 || apt-get install -y nodejs npm
else
	missing=""
	for package in $PACKAGES; do
		dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
	done
	if [ -n "$missing" ]; then
		echo "bootstrap: not root, and these packages are missing:$missing" >&2
		echo "bootstrap: run as root, or: sudo apt-get install -y$missing" >&2
		exit 1
	fi
fi

# shellcheck disable=SC2086 # AGP_CMAKE_ARGS holds several arguments
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo ${AGP_CMAKE_ARGS:-}
cmake --build build -j"$(nproc)"
# clangd, clang-tidy and cppcheck find the compile commands at the root.
ln -sfn build/compile_commands.json compile_commands.json
