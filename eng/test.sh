#!/usr/bin/env bash
# Runs the whole test suite: unit, integration and end-to-end tests. The end-to-end tests and
# the samples use the SDK as a package, so it is packed first. Prints, as its last line,
#   tests: N passed, N failed
# summed from the TRX files, and exits non-zero when a test failed or the run broke.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=prerequisites.sh
source "$(dirname "${BASH_SOURCE[0]}")/prerequisites.sh"

results="$DTV_REPO_ROOT/artifacts/test-results"
solution="$DTV_REPO_ROOT/DockerToVms.sln"
if [[ ! -f "$solution" && -f "${solution}x" ]]; then
  solution="${solution}x"
fi

dtv_install_exit_trap
dtv_prerequisites

# Containers that exist now are someone else's; any others at exit were made by the tests.
containers_before="$(docker ps -aq --no-trunc | sort)"

remove_new_containers() {
  local now new
  now="$(docker ps -aq --no-trunc 2>/dev/null | sort)" || return 0
  new="$(comm -13 <(printf '%s\n' "$containers_before") <(printf '%s\n' "$now") |
    grep -v '^$' || true)"
  if [[ -n "$new" ]]; then
    dtv_log "removing containers the tests left behind"
    # shellcheck disable=SC2086 # one id a word
    docker rm -f $new >/dev/null 2>&1 || true
  fi
}
dtv_at_exit remove_new_containers

# Sums one attribute of <Counters .../> over every TRX file in the results folder.
sum_counter() {
  find "$results" -name '*.trx' -type f -print0 | xargs -0 -r cat | awk -v name="$1" '
    match($0, /<Counters [^>]*/) {
      counters = substr($0, RSTART, RLENGTH)
      if (match(counters, " " name "=\"[0-9]+\"")) {
        total += substr(counters, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
      }
    }
    END { print total + 0 }'
}

rm -rf "$results"
mkdir -p "$results"

ci_args=()
if [[ "${CI:-}" == "true" ]]; then
  ci_args=(-p:CI=true)
fi

run_status=0
dtv_pack_sdk || run_status=$?

if [[ "$run_status" -eq 0 ]]; then
  dtv_log "dotnet test ${solution##*/}"
  dotnet test "$solution" -nologo "${ci_args[@]}" \
    --logger "trx" --results-directory "$results" || run_status=$?
fi

passed="$(sum_counter passed)"
failed=$(($(sum_counter failed) + $(sum_counter error) + $(sum_counter timeout) +
  $(sum_counter aborted)))

# Leave nothing running before the summary, so it stays the last line.
dtv_cleanup

if [[ "$run_status" -ne 0 && "$failed" -eq 0 ]]; then
  # The build or the test host broke: count that as a failure rather than report a clean run.
  printf 'the test run itself failed (exit code %s); counting it as one failure\n' \
    "$run_status" >&2
  failed=1
fi

printf 'tests: %s passed, %s failed\n' "$passed" "$failed"
if [[ "$run_status" -ne 0 || "$failed" -ne 0 ]]; then
  exit 1
fi
