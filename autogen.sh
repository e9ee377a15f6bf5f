#!/bin/sh
# Regenerates the build system from configure.ac and Makefile.am.
set -e
for tool in autoreconf aclocal automake pkg-config; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "autogen.sh: $tool is missing: apt-get install autoconf automake pkg-config" >&2
        exit 1
    }
done
cd "$(dirname "$0")"
autoreconf -fi
