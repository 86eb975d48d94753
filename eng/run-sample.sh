#!/usr/bin/env bash
# Builds the console sample's image from scratch, the way a user would, and runs it:
# packs DockerToVms.Sdk into nuget/feed, publishes samples/ConsoleApp with
# BuildBaseImage=true, then runs the image. The sample's output is the last thing printed.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=prerequisites.sh
source "$(dirname "${BASH_SOURCE[0]}")/prerequisites.sh"

sample="$DTV_REPO_ROOT/samples/ConsoleApp"
# The .NET SDK names the repository after the assembly, lower-cased.
image="consoleapp:latest"

dtv_install_exit_trap
dtv_prerequisites

output="$(mktemp "${TMPDIR:-/tmp}/consoleapp-output.XXXXXX")"
dtv_at_exit "rm -f '$output'"

dtv_pack_sdk

dtv_log "publishing samples/ConsoleApp with BuildBaseImage=true"
dotnet publish "$sample/ConsoleApp.csproj" -c Release -r linux-x64 -nologo \
  -p:BuildBaseImage=true

dtv_log "docker run --rm --pull never $image"
status=0
docker run --rm --pull never "$image" >"$output" 2>&1 || status=$?

# Stop a daemon started here before printing, so the sample's lines stay the last ones.
sample_output="$(cat "$output")"
dtv_cleanup

printf '%s\n' "$sample_output"
if [[ "$status" -ne 0 ]]; then
  dtv_fail "$image exited with code $status"
  exit "$status"
fi
