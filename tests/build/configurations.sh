#!/usr/bin/env bash
# build.configurations: configures and builds the tree in scratch directories
# the way users and packagers do:
#   Release (make):          tcplinger and tl_unit (-O3 raises warnings -O2 does not;
#                            the unit tests are where they were)
#   Debug (make):            tcplinger
#   RelWithDebInfo (Ninja):  tcplinger (Ninja loads the whole build graph first,
#                            so a target/file name clash anywhere fails it)
# Debug and Ninja build the tool alone to keep the run near 6 minutes on 2
# cores: each configuration compiles the core library again.
# Usage: configurations.sh SOURCE_DIR SCRATCH_DIR
set -euo pipefail
src=$1 scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch"
status=0
build() {
  local name=$1 generator=$2 type=$3
  shift 3
  local dir=$scratch/$name log=$scratch/$name.log start=$SECONDS
  if cmake -S "$src" -B "$dir" -G "$generator" -DCMAKE_BUILD_TYPE="$type" -DTL_WARNINGS_AS_ERRORS=ON \
         >"$log" 2>&1 &&
     nice -n 19 cmake --build "$dir" -j 2 --target "$@" >>"$log" 2>&1; then
    echo "build.configurations: $name ($generator, $type): $* built in $((SECONDS - start)) s"
    rm -rf "$dir"  # hundreds of MB each
  else
    echo "build.configurations: $name ($generator, $type) FAILED after $((SECONDS - start)) s:"
    grep -E 'error|Error|warning' "$log" | head -30 || tail -30 "$log"
    status=1
  fi
}
build release "Unix Makefiles" Release tcplinger tl_unit
build debug "Unix Makefiles" Debug tcplinger
build ninja Ninja RelWithDebInfo tcplinger
exit $status
