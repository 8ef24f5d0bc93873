#!/usr/bin/env bash
# A tree of another commit that runs with this checkout's dependencies, for benchmarks that measure a
# "before" next to the current code in the same run (bench:profile-reads' BENCH_BASE_ROOT). The commit's
# files are exported (no worktree is registered); its packages' node_modules are this checkout's links,
# so both trees share node_modules/.pnpm. Only for commits with the same lockfile.
#
#   bash bench/base-tree.sh <commit> <dir>
set -euo pipefail
commit="${1:?usage: base-tree.sh <commit> <dir>}"
dir="${2:?usage: base-tree.sh <commit> <dir>}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
if ! git diff --quiet "$commit" HEAD -- pnpm-lock.yaml; then
  echo "base-tree: $commit has another pnpm-lock.yaml; install its dependencies instead" >&2
  exit 1
fi
rm -rf "$dir"
mkdir -p "$dir/node_modules"
git archive "$commit" | tar -x -C "$dir"
# The root's links (into .pnpm, or ../../<package> for the workspace's own), then .pnpm itself shared.
for entry in node_modules/* node_modules/.bin node_modules/.modules.yaml; do cp -a "$entry" "$dir/node_modules/"; done
ln -s "$repo/node_modules/.pnpm" "$dir/node_modules/.pnpm"
# Each package's links are relative (../../node_modules/.pnpm/…, ../../../<package>): copied, they resolve inside $dir.
find . -mindepth 2 -maxdepth 2 -name node_modules -not -path './node_modules/*' | while read -r modules; do
  [ -d "$dir/$(dirname "$modules")" ] && cp -a "$modules" "$dir/$modules"
done
echo "$dir: $(git rev-parse --short "$commit")" >&2
