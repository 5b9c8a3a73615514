#!/bin/sh
# Runs one libFuzzer target for a few seconds from a copy of its committed corpus (the fuzzer adds
# what it finds to the corpus folder it is given; the committed one stays as it is). A crashing
# input is kept in <artifacts>/ and printed by libFuzzer.
# Usage: run_fuzz.sh <fuzz binary> <corpus dir> <artifacts dir> <seconds>
set -eu
binary=$1 corpus=$2 artifacts=$3 seconds=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/smi-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$corpus"/. "$work"/
mkdir -p "$artifacts"
name=$(basename "$binary")
"$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/$name-" "$work"
