#!/usr/bin/env bash
# `make changelog`: record galaxy.yml's version as a release in changelogs/changelog.yaml and
# write CHANGELOG.rst, as antsibull-changelog does at release time. Pending fragments move into
# that release (and are deleted); the new modules, plugins and roles are those whose
# `version_added` is that version. Run again, it updates the same release with the fragments and
# plugins added since. Commit changelogs/ and CHANGELOG.rst afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version: *//p' galaxy.yml)
# The release deletes the fragments it takes in; one that git does not know would be lost.
untracked=$(git ls-files --others --exclude-standard changelogs/fragments)
if [ -n "$untracked" ]; then
  echo "changelog: commit these fragments first (the release deletes the fragments it records):" >&2
  echo "$untracked" >&2
  exit 1
fi
export ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export PATH="$PWD/.venv/bin:$PATH"
antsibull-changelog lint
antsibull-changelog release --version "$version" --update-existing --reload-plugins
# The plugin cache only serves this run; the release data is in changelog.yaml.
rm -f changelogs/.plugin-cache.yaml
echo "changelog: release $version recorded; review and commit changelogs/ and CHANGELOG.rst"
