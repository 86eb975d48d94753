#!/usr/bin/env bash
# Measures DockerToVms on the console sample against references that need nothing of it:
#   (a) cold base:  plain `debootstrap --variant=minbase` vs a publish with an empty cache
#   (b) warm:       publish after a source edit, base cached, vs a plain self-contained publish
#   (c) no-op:      publish with nothing changed vs the same plain publish with nothing changed
#   (d) sizes:      base and app image vs the published sizes of debian:bookworm-slim and the
#                   .NET runtime-deps image (neither can be pulled here, so their figures are
#                   quoted, not measured)
# Times are wall-clock seconds from bash's `time`; (b) and (c) take the median of a few runs.
# Run as root. Everything it makes (temporary folders, images) is removed at the end.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../eng/prerequisites.sh
source "$(dirname "${BASH_SOURCE[0]}")/../eng/prerequisites.sh"

suite="${BENCH_SUITE:-trixie}"
mirror="${BENCH_MIRROR:-http://deb.debian.org/debian}"
runs="${BENCH_RUNS:-3}"
repository="dtv-bench-consoleapp"

# Published (uncompressed, as `docker images` shows them) sizes of the reference images.
slim_reference_mb="74.8"   # debian:bookworm-slim
deps_reference_mb="122"    # mcr.microsoft.com/dotnet/runtime-deps:8.0 (Debian 12)

dtv_install_exit_trap
dtv_prerequisites

work="$(mktemp -d "${TMPDIR:-/tmp}/dtv-bench.XXXXXX")"
app_image_ids=()

# A chroot step that failed could have left something mounted below the work folder; deleting
# through a bind mount would delete the mounted files, so such a folder is left in place.
remove_work() {
  if findmnt -rn -o TARGET | grep -q "^$work/"; then
    printf 'warning: mounts remain below %s; not deleting it\n' "$work" >&2
    return 0
  fi
  rm -rf --one-file-system "$work"
}

remove_images() {
  local references
  references="$(docker images --format '{{.Repository}}:{{.Tag}}' \
    --filter "reference=$repository" --filter "reference=$repository-base" 2>/dev/null || true)"
  # shellcheck disable=SC2086 # one reference a word
  docker rmi -f $references "${app_image_ids[@]}" >/dev/null 2>&1 || true
}

dtv_at_exit remove_work
dtv_at_exit remove_images

# Runs a command with its output in $work/logs/LABEL.log; prints the elapsed seconds.
measure() {
  local label="$1" seconds
  shift
  mkdir -p "$work/logs"
  seconds="$(
    TIMEFORMAT='%R'
    { time "$@" >"$work/logs/$label.log" 2>&1; } 2>&1
  )" || {
    printf 'error: %s failed; the end of its log:\n' "$label" >&2
    tail -n 30 "$work/logs/$label.log" >&2
    return 1
  }
  printf '%s\n' "$seconds"
}

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

megabytes() {
  awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'
}

# The sample is copied, so the repository's own bin/obj stay untouched; nuget/feed is linked
# so that its NuGet.config finds the package at the same relative path.
dtv_pack_sdk
mkdir -p "$work/repo/nuget"
cp -r "$DTV_REPO_ROOT/samples" "$work/repo/samples"
rm -rf "$work/repo/samples"/*/bin "$work/repo/samples"/*/obj
ln -s "$DTV_REPO_ROOT/nuget/feed" "$work/repo/nuget/feed"
project="$work/repo/samples/ConsoleApp/ConsoleApp.csproj"
source_file="$work/repo/samples/ConsoleApp/Program.cs"
cache="$work/cache"
common=(-c Release -r linux-x64 -nologo)
dtv_args=("${common[@]}" -p:BuildBaseImage=true -p:BaseImageCacheDirectory="$cache"
  -p:BaseImageSuite="$suite" -p:BaseImageMirror="$mirror"
  -p:ContainerRepository="$repository")
plain_args=("${common[@]}" --self-contained)

dtv_log "restoring the sample (not timed)"
dotnet restore "$project" -r linux-x64 -nologo -v:q >/dev/null
dtv_log "building the sample once (not timed)"
dotnet build "$project" "${plain_args[@]}" --no-restore -v:q >/dev/null

record_app_image() {
  app_image_ids+=("$(docker image inspect --format '{{.Id}}' "$repository:latest")")
}

edit_source() {
  printf '// bench edit %s\n' "$1" >>"$source_file"
}

# (a) Cold: the publish first, so that any warming of the mirror's caches favours the
# reference rather than DockerToVms.
dtv_log "(a) cold publish with an empty cache"
cold_publish="$(measure cold-publish dotnet publish "$project" "${dtv_args[@]}" -v:n)"
record_app_image
dtv_log "(a) debootstrap --variant=minbase $suite"
cold_debootstrap="$(measure debootstrap \
  debootstrap --variant=minbase "$suite" "$work/debootstrap" "$mirror")"

# (b) and (c), alternating the plain publish and the DockerToVms one.
warm_plain=() warm_dtv=() noop_plain=() noop_dtv=()
for ((i = 1; i <= runs; i++)); do
  dtv_log "(b, c) run $i of $runs"
  edit_source "plain $i"
  warm_plain+=("$(measure "warm-plain-$i" dotnet publish "$project" "${plain_args[@]}")")
  noop_plain+=("$(measure "noop-plain-$i" dotnet publish "$project" "${plain_args[@]}")")
  edit_source "dtv $i"
  warm_dtv+=("$(measure "warm-dtv-$i" dotnet publish "$project" "${dtv_args[@]}")")
  record_app_image
  noop_dtv+=("$(measure "noop-dtv-$i" dotnet publish "$project" "${dtv_args[@]}")")
  record_app_image
done

# (d) Sizes, as Docker reports them (uncompressed).
base_reference="$(docker images --format '{{.Repository}}:{{.Tag}}' "$repository-base" |
  head -n 1)"
base_bytes="$(docker image inspect --format '{{.Size}}' "$base_reference")"
app_bytes="$(docker image inspect --format '{{.Size}}' "$repository:latest")"
publish_bytes="$(du -sb "$work/repo/samples/ConsoleApp/bin/Release/net10.0/linux-x64/publish" |
  cut -f1)"
deps_plus_app_mb="$(awk -v r="$deps_reference_mb" -v b="$publish_bytes" \
  'BEGIN { printf "%.1f", r + b / 1000000 }')"

median_warm_plain="$(median "${warm_plain[@]}")"
median_warm_dtv="$(median "${warm_dtv[@]}")"
median_noop_plain="$(median "${noop_plain[@]}")"
median_noop_dtv="$(median "${noop_dtv[@]}")"
base_mb="$(megabytes "$base_bytes")"
app_mb="$(megabytes "$app_bytes")"

stages="$(grep -ho 'DockerToVms: .* took [0-9.]* s\.' "$work/logs/cold-publish.log" |
  sed 's/^DockerToVms: /  /' || true)"

# Leave nothing behind before the report, so the report is the last thing printed.
dtv_cleanup

# One line of the report: what was measured, its value, and its ratio to the reference.
row() {
  printf '    %-38s %9s %7s%s\n' "$1" "$2" "${3:-}" "${4:+  $4}"
}

heading() {
  printf '\n%-42s %9s %7s\n' "$1" "$2" ratio
}

printf '\nDockerToVms benchmark: samples/ConsoleApp, suite %s, %s runs for (b) and (c)\n' \
  "$suite" "$runs"

heading '(a) cold base' seconds
row "debootstrap --variant=minbase $suite" "$cold_debootstrap" 1.00 "(reference)"
row "publish -p:BuildBaseImage=true" "$cold_publish" "$(ratio "$cold_publish" "$cold_debootstrap")"
if [[ -n "$stages" ]]; then
  printf '    stages of that publish:\n'
  printf '%s\n' "$stages" | sed 's/^ */      /'
fi

heading '(b) warm publish, base cached' 'median s'
row "dotnet publish --self-contained" "$median_warm_plain" 1.00 "(reference)"
row "publish -p:BuildBaseImage=true" "$median_warm_dtv" \
  "$(ratio "$median_warm_dtv" "$median_warm_plain")"

heading '(c) no-op publish' 'median s'
row "dotnet publish --self-contained" "$median_noop_plain" 1.00 "(reference)"
row "publish -p:BuildBaseImage=true" "$median_noop_dtv" \
  "$(ratio "$median_noop_dtv" "$median_noop_plain")"

heading '(d) image sizes, MB = 10^6 bytes' MB
row "debian:bookworm-slim (published size)" "$slim_reference_mb" 1.00 "(reference)"
row "dotnet/runtime-deps (published size)" "$deps_reference_mb" 1.00 "(reference)"
row "base image" "$base_mb" "$(ratio "$base_mb" "$slim_reference_mb")" "of bookworm-slim"
row "" "" "$(ratio "$base_mb" "$deps_reference_mb")" "of runtime-deps"
row "runtime-deps + this publish folder" "$deps_plus_app_mb" 1.00 "(reference)"
row "app image" "$app_mb" "$(ratio "$app_mb" "$deps_plus_app_mb")" \
  "of runtime-deps + publish folder"
