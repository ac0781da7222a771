#!/usr/bin/env bash
# ansible-test sanity, then ansible-test units, on a copy of this checkout placed at
# ansible_collections/octavia/monitoring. ansible-test wants that path and a git tree; the copy
# keeps the work tree untouched. Arguments go to `ansible-test sanity` (e.g. --test pep8).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
venv_bin=$repo/.venv/bin
# A tree of its own per run, so that two runs at once cannot pull files from under each other.
# .build/ does not exist in a fresh clone.
mkdir -p "$repo/.build"
work=$(mktemp -d "$repo/.build/sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/octavia/monitoring
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue
  mkdir -p "$dest/$(dirname "$f")" && cp -a "$f" "$dest/$f"
done
git -C "$dest" init -q && git -C "$dest" add -A && \
  git -C "$dest" -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity

# ansible-test bootstraps pip in each of its virtualenvs with a script it downloads; this machine
# cannot reach that host, so give it a stand-in that uses the interpreter's own ensurepip instead.
"$venv_bin/python" "$repo/scripts/get_pip_standin.py"

cd "$dest"
export PATH="$venv_bin:$PATH"
# Both run, so that one report shows the findings of each; the script fails if either failed.
status=0
"$venv_bin/ansible-test" sanity --python 3.11 --color no "$@" 2>&1 \
  | grep -v -e "^WARNING: Location .* is ignored" -e "^Looking in " || status=1
# The unit tests as ansible-test runs them (its own pytest configuration, package imports), in
# this virtualenv, which holds the pytest plugins it wants (tests/requirements.txt).
echo "== ansible-test units"
"$venv_bin/ansible-test" units --python 3.11 --color no 2>&1 \
  | grep -v -e "^WARNING: Using locale " || status=1
exit "$status"
