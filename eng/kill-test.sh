#!/usr/bin/env bash
# Interrupts cold publishes of the console sample at random moments, the way a CI system
# cancels a job: SIGINT or SIGKILL to the whole process group of `dotnet publish` (MSBuild's
# nodes, debootstrap, the chroot steps and tar included), during the bootstrap, the chroot
# steps, the trim, the import or the app layer. After every kill it checks that
#   - no process of the build is left, and nothing is mounted under its cache or project;
#   - every cache entry that looks complete (has its recipe.json) is complete;
#   - no lock is held (flock -n takes every lock file at once);
#   - after SIGINT the build failed, said it was cancelled, and removed its staging;
#   - after SIGKILL, the next build removes the staging the killed one left, and by the end
#     no container that a killed build made is left.
# At the end one publish runs to completion, and its image must run.
#
#   eng/kill-test.sh [--kills N] [--seed N] [--plan 'SIGNAL:STAGE ...']
#
# --kills defaults to 20, with signals and stages drawn at random (--seed repeats a run);
# --plan names them instead, for example 'KILL:bootstrap INT:chroot'. Stages: bootstrap,
# chroot, trim, import, app. The last line is `kill-test: N of M kills survived`; the exit
# code is non-zero when a check failed. DTV_KILL_TEST_FEED and DTV_KILL_TEST_VERSION name an
# already packed DockerToVms.Sdk; without them it is packed from this checkout.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=prerequisites.sh
source "$(dirname "${BASH_SOURCE[0]}")/prerequisites.sh"

kills=20
seed="$RANDOM"
plan=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kills) kills="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --plan) plan="$2"; shift 2 ;;
    *) dtv_fail "unknown argument '$1' (use --kills N, --seed N or --plan 'SIGNAL:STAGE ...')"
       exit 2 ;;
  esac
done
if [[ -n "$plan" ]]; then
  read -r -a planned <<<"$plan"
  kills="${#planned[@]}"
fi
RANDOM="$seed"

dtv_install_exit_trap
dtv_prerequisites
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0

feed="${DTV_KILL_TEST_FEED:-}"
version="${DTV_KILL_TEST_VERSION:-}"
if [[ -z "$feed" ]]; then
  dtv_pack_sdk
  feed="$DTV_REPO_ROOT/nuget/feed"
  version="$(dtv_sdk_version)"
fi

work="$(mktemp -d /var/tmp/dtv-kill.XXXXXX)"
cache="$work/cache"
repository="dtv-kill-$(printf '%04x%04x' "$RANDOM" "$RANDOM")"
project="$work/ConsoleApp/ConsoleApp.csproj"
log="$work/publish.log"

# Removes the images of a reference filter; an image with children goes only after them,
# so it takes a few passes.
remove_images() {
  local _
  for _ in 1 2 3 4 5; do
    docker images -q --filter "reference=$1" | sort -u |
      xargs -r docker rmi -f >/dev/null 2>&1 || true
  done
}

remove_work() {
  remove_images "$repository*"
  if grep -q " $work" /proc/self/mountinfo; then
    dtv_log "left $work in place: something is still mounted under it"
  else
    rm -rf "$work"
  fi
}
dtv_at_exit remove_work

cp -r "$DTV_REPO_ROOT/samples/ConsoleApp" "$DTV_REPO_ROOT/samples/Directory.Build.props" \
  "$DTV_REPO_ROOT/samples/Directory.Build.targets" "$work/"
rm -rf "$work/ConsoleApp/bin" "$work/ConsoleApp/obj"
sed -i "s|Include=\"DockerToVms.Sdk\" Version=\"[^\"]*\"|Include=\"DockerToVms.Sdk\" Version=\"$version\"|" \
  "$project"
cat >"$work/NuGet.config" <<EOF
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
EOF

publish_args=(publish "$project" -r linux-x64 -nologo -p:BuildBaseImage=true
  "-p:BaseImageCacheDirectory=$cache" "-p:ContainerRepository=$repository")

# What the log shows when a stage has begun, and how long after that a kill may come.
declare -A stage_marker=(
  [bootstrap]='debootstrap --variant|mmdebstrap --mode'
  [chroot]='chroot took|chroot .*apt-get install'
  [trim]='chroot took'
  [import]='tar --create'
  [app]='imported the base image|not imported again'
)
declare -A stage_window=([bootstrap]=60 [chroot]=8 [trim]=1 [import]=1 [app]=3)
stages=(bootstrap chroot trim import app)

survived=0
attempted=0
failures=()
left_behind=()
killed_pids=()

# The containers a build makes for a moment are named after the machine and the process.
machine="$(hostname | sed 's/[^A-Za-z0-9]/_/g')"
containers_of() {
  docker ps -aq --filter "name=dockertovms-build-$machine.$1."
}

fail() {
  failures+=("kill $attempted ($1 during $2): $3")
  dtv_log "FAILED: $3"
}

group_alive() {
  pgrep -g "$1" >/dev/null 2>&1
}

wait_group_gone() {
  local group="$1" limit="$2" waited=0
  while group_alive "$group"; do
    if [[ "$waited" -ge "$((limit * 10))" ]]; then
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# Makes the next publish reach the stage: stages up to the trim need no cache entry, the
# import needs the entry but no base image in Docker.
prepare_for() {
  remove_images "$repository"
  case "$1" in
    bootstrap|chroot|trim)
      rm -rf "$cache/rootfs/"*
      remove_images "$repository-base" ;;
    import)
      remove_images "$repository-base" ;;
  esac
}

# Starts a publish in a process group of its own, as a CI runner starts a job. A shell
# without job control starts background commands with SIGINT ignored, and .NET keeps it so;
# env gives the publish the default handling a job gets from a runner or a terminal.
start_publish() {
  : >"$log"
  setsid env --default-signal=INT,QUIT dotnet "${publish_args[@]}" >"$log" 2>&1 </dev/null &
  publish_pid=$!
}

check_machine() {
  local signal="$1" stage="$2" entry lockfile
  if grep -F " $work" /proc/self/mountinfo >/dev/null; then
    fail "$signal" "$stage" "mounts remain: $(grep -F " $work" /proc/self/mountinfo | head -n 3)"
  fi
  for entry in "$cache"/rootfs/*; do
    [[ -e "$entry/recipe.json" ]] || continue
    # The account is made by the last chroot step, and the trim empties apt's lists.
    if ! grep -q '^app:x:1654:' "$entry/rootfs/etc/passwd" 2>/dev/null ||
      [[ -n "$(find "$entry/rootfs/var/lib/apt/lists" -type f ! -name lock 2>/dev/null)" ]]; then
      fail "$signal" "$stage" "the cache entry $entry has its recipe but is not complete"
    fi
  done
  for lockfile in "$cache"/locks/*.lock /tmp/dockertovms-locks/import-"${repository//-/_}"*.lock; do
    [[ -e "$lockfile" ]] || continue
    if ! flock -n -E 99 "$lockfile" true; then
      fail "$signal" "$stage" "the lock $lockfile is still held"
    fi
  done
}

# Staging that a SIGKILL left must be gone once the next build has passed its Begin step.
check_left_behind_removed() {
  local dir
  for dir in "${left_behind[@]}"; do
    if [[ -e "$dir" ]]; then
      fail "$1" "$2" "the staging $dir of a killed build was not removed by the next build"
    fi
  done
  left_behind=()
}

for ((i = 0; attempted < kills && i < kills * 3; i++)); do
  if [[ -n "$plan" ]]; then
    signal="${planned[attempted]%%:*}"
    stage="${planned[attempted]#*:}"
  else
    signal=$([[ $((RANDOM % 2)) -eq 0 ]] && echo INT || echo KILL)
    stage="${stages[RANDOM % ${#stages[@]}]}"
  fi
  prepare_for "$stage"
  delay_ms=$((RANDOM % (stage_window[$stage] * 1000 + 1)))
  dtv_log "publish $((attempted + 1)) of $kills: SIG$signal ${delay_ms} ms into the $stage"

  start_publish
  started=$SECONDS
  while ! grep -Eq "${stage_marker[$stage]}" "$log"; do
    if ! kill -0 "$publish_pid" 2>/dev/null || [[ $((SECONDS - started)) -gt 900 ]]; then
      break
    fi
    sleep 0.2
  done
  if [[ "${#left_behind[@]}" -gt 0 ]] && grep -q 'debootstrap --variant\|mmdebstrap --mode\|no bootstrap needed\|not imported again\|imported the base image' "$log"; then
    check_left_behind_removed "$signal" "$stage"
  fi
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"

  if ! kill -0 "$publish_pid" 2>/dev/null; then
    wait "$publish_pid" || true
    dtv_log "the publish ended before the kill; drawing again"
    continue
  fi

  attempted=$((attempted + 1))
  before=${#failures[@]}
  kill "-$signal" -- "-$publish_pid"
  if [[ "$signal" == INT ]]; then
    # A CI runner waits a little after SIGINT, then kills.
    if ! wait_group_gone "$publish_pid" 30; then
      fail "$signal" "$stage" "the build did not stop within 30 s of SIGINT"
      kill -KILL -- "-$publish_pid" 2>/dev/null || true
      wait_group_gone "$publish_pid" 10 || true
    fi
    status=0
    wait "$publish_pid" || status=$?
    if [[ "$status" -eq 0 ]]; then
      fail "$signal" "$stage" "the cancelled build reported success"
    elif ! grep -Eq 'DTV9004|[Cc]ancel' "$log"; then
      fail "$signal" "$stage" "the build failed without saying it was cancelled"
    fi
    if [[ -n "$(ls -A "$cache/staging" 2>/dev/null)" ]]; then
      fail "$signal" "$stage" "the cancelled build left staging: $(ls "$cache/staging")"
    fi
    if [[ -n "$(containers_of "$publish_pid")" ]]; then
      fail "$signal" "$stage" "the cancelled build left containers: $(containers_of "$publish_pid")"
    fi
  else
    killed_pids+=("$publish_pid")
    if ! wait_group_gone "$publish_pid" 10; then
      fail "$signal" "$stage" "processes of the killed build are still running"
    fi
    wait "$publish_pid" 2>/dev/null || true
    mapfile -t left_behind < <(find "$cache/staging" -mindepth 1 -maxdepth 1 2>/dev/null)
  fi
  check_machine "$signal" "$stage"
  if [[ "${#failures[@]}" -eq "$before" ]]; then
    survived=$((survived + 1))
  else
    mkdir -p "$DTV_REPO_ROOT/artifacts/kill-test"
    cp "$log" "$DTV_REPO_ROOT/artifacts/kill-test/failed-kill-$attempted.log"
  fi
done

dtv_log "a last publish, to its end"
start_publish
final=0
wait "$publish_pid" || final=$?
if [[ "$final" -ne 0 ]]; then
  failures+=("the publish after the kills failed: $(tail -n 20 "$log")")
else
  ran="$(docker run --rm --pull never --network none "$repository" 2>&1)" || true
  if [[ "$ran" != *Hello* ]]; then
    failures+=("the image of the publish after the kills does not run: $ran")
  fi
fi
check_left_behind_removed final final
check_machine final final
for pid in "${killed_pids[@]}"; do
  if [[ -n "$(containers_of "$pid")" ]]; then
    failures+=("containers of the build killed as process $pid are left: $(containers_of "$pid")")
  fi
done
if [[ -n "$(ls -A "$cache/staging" 2>/dev/null)" ]]; then
  failures+=("staging is left after the last publish: $(ls "$cache/staging")")
fi

dtv_cleanup
for failure in "${failures[@]}"; do
  printf 'FAILED: %s\n' "$failure" >&2
done
printf 'kill-test: %s of %s kills survived (seed %s)\n' "$survived" "$attempted" "$seed"
if [[ "${#failures[@]}" -ne 0 || "$attempted" -lt "$kills" ]]; then
  exit 1
fi
