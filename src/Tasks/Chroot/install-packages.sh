#!/bin/sh
# Installs packages inside the root filesystem with apt, after checking that every one exists,
# so a misspelt name gets its own error. Two names stand for libraries whose package name
# changes between releases: @libssl (libssl3t64, libssl3 or libssl1.1) and @libicu (the
# newest libicuNN the suite has).
set -eu
marker=dockertovms-missing-packages:

# Without a package index there is nothing to install from: a trimmed root filesystem (one
# exported from an image, for example) keeps only the empty folders of apt's lists.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  apt-get update
fi

resolve() {
  case "$1" in
    @libssl)
      for candidate in libssl3t64 libssl3 libssl1.1; do
        if apt-cache show "$candidate" >/dev/null 2>&1; then echo "$candidate"; return; fi
      done
      echo libssl ;;
    @libicu)
      newest=$(apt-cache pkgnames libicu | grep -E '^libicu[0-9]+$' | sort -V | tail -n 1)
      echo "${newest:-libicu}" ;;
    *) echo "$1" ;;
  esac
}

packages=""
missing=""
for name in "$@"; do
  package=$(resolve "$name")
  if apt-cache show --no-all-versions "$package" >/dev/null 2>&1; then
    packages="$packages $package"
  else
    missing="$missing $package"
  fi
done

if [ -n "$missing" ]; then
  echo "$marker$missing" >&2
  exit 100
fi

# shellcheck disable=SC2086 # one word a package
apt-get install -y --no-install-recommends $packages
