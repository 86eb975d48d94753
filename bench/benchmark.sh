#!/usr/bin/env bash
# Measures DockerToVms on the console sample against references that need nothing of it:
#   (a) cold base:  plain `debootstrap --variant=minbase` vs a publish with an empty cache
#   (b) warm:       publish after a source edit, base cached, vs a plain self-contained publish
#   (c) no-op:      publish with nothing changed vs the same plain publish with nothing changed
#   (d) sizes:      base and app image vs the published sizes of debian:bookworm-slim and the
#                   .NET runtime-deps image (neither can be pulled here, so their figures are
#                   quoted, not measured)
#   (e) size by mode: the console and web samples published self-contained, trimmed,
#                   trimmed single-file and Native AOT, each at trim level none, slim and app,
#                   and an app that uses TLS as Native AOT and trimmed single-file, against
#                   the published sizes of .NET's Debian and Ubuntu chiseled images
#   (f) arm64:      a cold publish for linux-arm64 on this amd64 machine, against plain
#                   `debootstrap --foreign` with its second stage, and against
#                   `mmdebstrap --arch=arm64`, all three running arm64 programs under QEMU
#   (g) registry:   against a docker-registry of its own on 127.0.0.1: a publish that bootstraps
#                   and pushes the base to a cache registry, then one with an empty cache that
#                   takes the base from there (the time a cache hit saves); and a warm publish
#                   that pushes the app image (ContainerRegistry) against a plain publish
#   (h) archive:    publish after a source edit, base cached, to an image archive
#                   (ContainerArchiveOutputPath, no daemon involved) vs a plain
#                   self-contained publish; and whether two of them give the same manifest
#   (i) VM:         the sample published with -p:BuildVmImage=true (initramfs, tiny init):
#                   the size of kernel and initramfs, and the time from starting QEMU under
#                   software emulation (TCG) to the app's first line and to the power-off
#   (j) bootstrappers: a cold base (`dotnet build -p:BuildBaseImage=true`, trim level slim)
#                   with BaseImageBootstrapper=debootstrap and =mmdebstrap, each against the
#                   same tool run alone on the same recipe, and against each other; and
#                   mmdebstrap alone with the packages the recipe installs on top of minbase
#   (k) without root: with BENCH_ROOTLESS_USER naming an ordinary user that has subordinate
#                   ids and may use the Docker daemon, the same cold base built by that user,
#                   against mmdebstrap run alone by the user the way the build runs it (root
#                   mode in the user's namespace), against `mmdebstrap --mode=unshare`, and
#                   against the cold base built by root in (j)
# Times are wall-clock seconds from bash's `time`; (b), (c), (g) and (h) take the median of a few
# runs. BENCH_TIMES=0 skips (a) to (d), BENCH_SIZES=0 skips (e); (e) alone takes about half an
# hour (four bootstraps and 26 publishes, seven of them Native AOT). BENCH_ARM64=0 skips (f),
# which takes about ten minutes and runs only on amd64. BENCH_REGISTRY=0 skips (g) (a bootstrap
# and 2 + 2 x BENCH_RUNS publishes; needs the docker-registry package). BENCH_ARCHIVE=0 skips
# (h), which takes a minute or two once the base is cached. BENCH_VM=0 skips (i), which
# takes a few minutes (one publish, which fetches the suite's kernel once, and BENCH_RUNS boots).
# BENCH_BOOTSTRAPPERS=0 skips (j), which takes about three minutes; (k) runs only with
# BENCH_ROOTLESS_USER set, and takes about two. (a) to (e) bootstrap with
# BaseImageBootstrapper's default, auto.
# Run as root. Everything it makes (temporary folders, images) is removed at the end.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../eng/prerequisites.sh
source "$(dirname "${BASH_SOURCE[0]}")/../eng/prerequisites.sh"

suite="${BENCH_SUITE:-trixie}"
mirror="${BENCH_MIRROR:-http://deb.debian.org/debian}"
runs="${BENCH_RUNS:-3}"
times="${BENCH_TIMES:-1}"
sizes="${BENCH_SIZES:-1}"
arm64="${BENCH_ARM64:-1}"
registry="${BENCH_REGISTRY:-1}"
vm="${BENCH_VM:-1}"
archive="${BENCH_ARCHIVE:-1}"
bootstrappers="${BENCH_BOOTSTRAPPERS:-1}"
rootless_user="${BENCH_ROOTLESS_USER:-}"
# Another name keeps two benchmarks on one machine from removing each other's images.
repository="${BENCH_REPOSITORY:-dtv-bench-consoleapp}"
size_repository="dtv-bench-size"

# Published (uncompressed, as `docker images` shows them) sizes of the reference images.
slim_reference_mb="74.8"   # debian:bookworm-slim
deps_reference_mb="122"    # mcr.microsoft.com/dotnet/runtime-deps:8.0 (Debian 12)
chiseled_deps_mb="12.9"    # runtime-deps on Ubuntu chiseled
chiseled_trimmed_mb="39.3" # a trimmed self-contained app on chiseled runtime-deps
chiseled_aot_mb="27.7"     # a Native AOT app on chiseled runtime-deps

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
    --filter "reference=$repository" --filter "reference=$repository-base" \
    --filter "reference=$size_repository-*" --filter "reference=$repository-arm64*" \
    --filter "reference=$repository-reg*" \
    2>/dev/null || true)"
  # shellcheck disable=SC2086 # one reference a word
  docker rmi -f $references "${app_image_ids[@]}" >/dev/null 2>&1 || true
}

dtv_at_exit remove_work
dtv_at_exit remove_images

# The packages the root filesystem in a cache has beyond a plain minbase, comma-separated.
extra_packages() {
  local entry
  entry="$(find "$2/rootfs" -mindepth 2 -maxdepth 2 -name rootfs -type d | head -n 1)"
  comm -13 <(installed_packages "$1") <(installed_packages "$entry") | paste -sd, -
}

installed_packages() {
  dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Package}\n' | sort
}

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

# (e) The console sample's project with a program that connects to itself over TLS.
write_tls_app() {
  local folder="$1"
  mkdir -p "$folder"
  sed 's/ConsoleApp/TlsApp/g' "$work/repo/samples/ConsoleApp/ConsoleApp.csproj" \
    >"$folder/TlsApp.csproj"
  cat >"$folder/Program.cs" <<'PROGRAM'
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
using var certificate = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256)
    .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
var listener = new TcpListener(IPAddress.Loopback, 0);
listener.Start();
var server = Task.Run(async () =>
{
    using var accepted = await listener.AcceptTcpClientAsync();
    using var tls = new SslStream(accepted.GetStream());
    await tls.AuthenticateAsServerAsync(certificate);
    await tls.WriteAsync("pong"u8.ToArray());
});
using var tcp = new TcpClient();
await tcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
using var client = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
await client.AuthenticateAsClientAsync("localhost");
var answer = new byte[4];
await client.ReadExactlyAsync(answer);
await server;
Console.WriteLine($"{client.SslProtocol}: {System.Text.Encoding.ASCII.GetString(answer)}");
PROGRAM
}

# (e) One publish of a sample in one mode at one trim level; records a row of sizes. The
# publish folder is emptied first, since publish never removes what an earlier mode left.
size_rows=()
measure_size() {
  local sample="$1" mode="$2" level="$3" image base_reference image_bytes base_bytes
  shift 3
  local folder="$work/repo/samples/$sample"
  local label="size-$sample-$mode-$level"
  image="$size_repository-${sample,,}"
  rm -rf "$folder/bin/Release/net10.0/linux-x64/publish"
  dtv_log "(e) $sample, $mode, BaseImageTrim=$level"
  measure "$label" dotnet publish "$folder/$sample.csproj" -c Release -r linux-x64 -nologo \
    -p:BuildBaseImage=true -p:BaseImageCacheDirectory="$cache" -p:BaseImageSuite="$suite" \
    -p:BaseImageMirror="$mirror" -p:ContainerRepository="$image" \
    -p:BaseImageTrim="$level" "$@" >/dev/null
  base_reference="$(grep -o "base image $image-base:[0-9a-f]*" "$work/logs/$label.log" |
    tail -n 1 | awk '{ print $3 }')"
  image_bytes="$(docker image inspect --format '{{.Size}}' "$image:latest")"
  base_bytes="$(docker image inspect --format '{{.Size}}' "$base_reference")"
  size_rows+=("$sample $mode $level $(megabytes "$base_bytes") $(megabytes "$image_bytes")")
}

if [[ "$times" -eq 1 ]]; then
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
fi

if [[ "$sizes" -eq 1 ]]; then
  for sample in ConsoleApp WebApi; do
    for level in none slim app; do
      measure_size "$sample" self-contained "$level"
      measure_size "$sample" trimmed "$level" -p:PublishTrimmed=true
      measure_size "$sample" single-file "$level" -p:PublishTrimmed=true \
        -p:PublishSingleFile=true
      measure_size "$sample" aot "$level" -p:PublishAot=true
    done
  done

  # An app that makes a TLS connection (to a server of its own on loopback), so OpenSSL is
  # in its base; with invariant globalization, as .NET's Native AOT templates set it.
  write_tls_app "$work/repo/samples/TlsApp"
  measure_size TlsApp aot app -p:PublishAot=true
  measure_size TlsApp single-file app -p:PublishTrimmed=true -p:PublishSingleFile=true
fi

# (f) The references bootstrap what the publish bootstraps first (minbase of the same suite),
# without the packages, account and trimming the publish adds after it. The publish goes
# first: it registers QEMU with binfmt_misc, which the references need too, and any warming
# of the mirror's caches favours them. A registration this script made is removed at the end.
if [[ "$arm64" -eq 1 && "$(dpkg --print-architecture)" != amd64 ]]; then
  dtv_log "(f) skipped: it emulates arm64 on an amd64 machine"
  arm64=0
fi

if [[ "$arm64" -eq 1 ]]; then
  binfmt=/proc/sys/fs/binfmt_misc
  [[ -e "$binfmt/register" ]] && binfmt_mounted=1 || binfmt_mounted=0
  [[ -e "$binfmt/qemu-aarch64" ]] && aarch64_registered=1 || aarch64_registered=0
  restore_binfmt() {
    if [[ "$aarch64_registered" -eq 0 && -e "$binfmt/qemu-aarch64" ]]; then
      echo -1 >"$binfmt/qemu-aarch64"
    fi
    if [[ "$binfmt_mounted" -eq 0 && -e "$binfmt/register" ]]; then
      umount "$binfmt" || true
    fi
  }
  dtv_at_exit restore_binfmt

  if ! command -v mmdebstrap >/dev/null 2>&1; then
    dtv_apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      mmdebstrap >/dev/null
  fi

  two_stage_debootstrap() {
    debootstrap --foreign --arch=arm64 --variant=minbase "$suite" "$1" "$mirror" &&
      unshare --mount --propagation private --fork \
        chroot "$1" /debootstrap/debootstrap --second-stage
  }

  dtv_log "(f) restoring the sample for linux-arm64 (not timed)"
  dotnet restore "$project" -r linux-arm64 -nologo -v:q >/dev/null
  dtv_log "(f) cold publish -r linux-arm64 with an empty cache"
  arm64_publish="$(measure arm64-publish dotnet publish "$project" -c Release \
    -r linux-arm64 -nologo -v:n -p:BuildBaseImage=true \
    -p:BaseImageCacheDirectory="$work/cache-arm64" -p:BaseImageSuite="$suite" \
    -p:BaseImageMirror="$mirror" -p:ContainerRepository="$repository-arm64")"
  arm64_image="$(docker image inspect --format '{{.Architecture}}/{{.Variant}}' \
    "$repository-arm64:latest")"
  dtv_log "(f) debootstrap --foreign --arch=arm64, then its second stage"
  arm64_debootstrap="$(measure arm64-debootstrap two_stage_debootstrap \
    "$work/debootstrap-arm64")"
  dtv_log "(f) mmdebstrap --arch=arm64"
  arm64_mmdebstrap="$(measure arm64-mmdebstrap mmdebstrap --variant=minbase --arch=arm64 \
    "$suite" "$work/mmdebstrap-arm64" "$mirror")"
  arm64_stages="$(grep -ho 'DockerToVms: .* took [0-9.]* s\.' "$work/logs/arm64-publish.log" |
    sed 's/^DockerToVms: /  /' || true)"
fi

# (g) A registry of the script's own, on a free loopback port, its storage in the work folder.
# The base goes to it from a cold publish, and comes back to a publish with an empty cache
# whose base image was removed from Docker; then warm publishes that push the app image are
# timed against plain publishes, alternating.
if [[ "$registry" -eq 1 && ! -x /usr/bin/docker-registry ]]; then
  dtv_log "(g) skipped: docker-registry is not installed"
  registry=0
fi

if [[ "$registry" -eq 1 ]]; then
  registry_port=""
  for candidate in $(shuf -i 20000-60000 -n 20); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      registry_port="$candidate"
      break
    fi
  done
  registry_host="127.0.0.1:$registry_port"
  mkdir -p "$work/registry"
  cat >"$work/registry/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry/data
http:
  addr: $registry_host
YAML
  docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
  registry_pid=$!
  stop_registry() {
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  }
  dtv_at_exit stop_registry
  for _ in $(seq 50); do
    curl -fs "http://$registry_host/v2/" >/dev/null && break
    sleep 0.2
  done

  registry_args=("${common[@]}" -p:BuildBaseImage=true -p:BaseImageSuite="$suite"
    -p:BaseImageMirror="$mirror" -p:ContainerRepository="$repository-reg"
    -p:BaseImageCacheRegistry="$registry_host/dtv-cache")
  dtv_log "(g) cold publish that bootstraps and pushes the base to the cache registry"
  registry_cold="$(measure registry-cold dotnet publish "$project" "${registry_args[@]}" \
    -p:BaseImageCacheDirectory="$work/cache-reg-a" -v:n)"
  # shellcheck disable=SC2046 # one id a word
  docker rmi -f $(docker images -q --filter "reference=$repository-reg*" | sort -u) \
    >/dev/null 2>&1 || true
  dtv_log "(g) publish with an empty cache and no base in Docker: the base from the registry"
  registry_hit="$(measure registry-hit dotnet publish "$project" "${registry_args[@]}" \
    -p:BaseImageCacheDirectory="$work/cache-reg-b" -v:n)"
  grep -q 'from the cache registry' "$work/logs/registry-hit.log" ||
    dtv_fail "(g) the second publish did not take the base from the registry"
  registry_saved="$(awk -v a="$registry_cold" -v b="$registry_hit" 'BEGIN { printf "%.1f", a - b }')"
  registry_hit_stage="$(grep -ho 'base from the cache registry took [0-9.]* s' \
    "$work/logs/registry-hit.log" | grep -o '[0-9.]* s' || true)"
  registry_bootstrap_stage="$(grep -ho 'bootstrap took [0-9.]* s' \
    "$work/logs/registry-cold.log" | grep -o '[0-9.]* s' || true)"

  push_plain=() push_dtv=()
  for ((i = 1; i <= runs; i++)); do
    dtv_log "(g) warm publish with a push, run $i of $runs"
    edit_source "registry plain $i"
    push_plain+=("$(measure "push-plain-$i" dotnet publish "$project" "${plain_args[@]}")")
    edit_source "registry push $i"
    push_dtv+=("$(measure "push-dtv-$i" dotnet publish "$project" "${registry_args[@]}" \
      -p:BaseImageCacheDirectory="$work/cache-reg-b" -p:ContainerRegistry="$registry_host")")
  done
  median_push_plain="$(median "${push_plain[@]}")"
  median_push_dtv="$(median "${push_dtv[@]}")"
  push_line="$(grep -ho "pushed $registry_host/$repository-reg:latest.*" \
    "$work/logs/push-dtv-$runs.log" | tail -n 1 || true)"
fi

# (h) The same warm publish, to an archive: the daemon is not asked. The first publish (not
# timed) fills the cache when (a) did not, and keeps the base's layer; the rest write the
# app's layer and the archive. SOURCE_DATE_EPOCH is fixed, so unchanged sources give
# unchanged digests.
if [[ "$archive" -eq 1 ]]; then
  archive_args=("${dtv_args[@]}" -p:ContainerArchiveOutputPath="$work/archive/app.tar.gz"
    -p:SOURCE_DATE_EPOCH=1735689600)
  dtv_log "(h) first publish to an archive (not timed)"
  measure archive-first dotnet publish "$project" "${archive_args[@]}" >/dev/null
  archive_plain=() archive_dtv=()
  for ((i = 1; i <= runs; i++)); do
    dtv_log "(h) run $i of $runs"
    edit_source "archive plain $i"
    archive_plain+=("$(measure "archive-plain-$i" dotnet publish "$project" "${plain_args[@]}")")
    edit_source "archive dtv $i"
    archive_dtv+=("$(measure "archive-dtv-$i" dotnet publish "$project" "${archive_args[@]}")")
  done
  median_archive_plain="$(median "${archive_plain[@]}")"
  median_archive_dtv="$(median "${archive_dtv[@]}")"
  archive_mb="$(megabytes "$(stat -c %s "$work/archive/app.tar.gz")")"
  measure archive-again dotnet publish "$project" "${archive_args[@]}" >/dev/null
  manifests="$(grep -ho '(manifest sha256:[0-9a-f]*)' "$work/logs/archive-dtv-$runs.log" \
    "$work/logs/archive-again.log" | sort -u | wc -l)"
  archive_same="no"
  [[ "$manifests" -eq 1 ]] && archive_same="yes"
fi

# (i) QEMU runs as VmRun runs it (QemuCommand), but with TCG forced, since the targets are
# for software emulation, and with each console line timed as it arrives. Each boot has a
# hard limit; `timeout` kills a QEMU that does not power off.
vm_boot() {
  local start line now app="n/a"
  start="$(date +%s.%N)"
  while IFS= read -r line; do
    now="$(date +%s.%N)"
    if [[ "$app" == n/a && "$line" == *"Hello from DockerToVms"* ]]; then
      app="$(awk -v a="$now" -v b="$start" 'BEGIN { printf "%.1f", a - b }')"
    fi
  done < <(timeout 180 qemu-system-x86_64 -accel tcg -m 512 -smp 2 -nodefaults \
    -no-user-config -display none -serial stdio -no-reboot -kernel "$work/vm/vmlinuz" \
    -initrd "$work/vm/initramfs.img" -append "console=ttyS0 quiet panic=-1" \
    -netdev user,id=net0 -device virtio-net-pci,netdev=net0,romfile= 2>&1)
  now="$(date +%s.%N)"
  printf '%s %s\n' "$app" "$(awk -v a="$now" -v b="$start" 'BEGIN { printf "%.1f", a - b }')"
}

if [[ "$vm" -eq 1 ]]; then
  dtv_log "(i) publish with -p:BuildVmImage=true"
  vm_publish="$(measure vm-publish dotnet publish "$project" "${dtv_args[@]}" \
    -p:BuildVmImage=true -p:VmOutputDirectory="$work/vm/")"
  vm_mb="$(megabytes "$(($(stat -c %s "$work/vm/vmlinuz") + $(stat -c %s "$work/vm/initramfs.img")))")"
  vm_app_times=()
  vm_off_times=()
  for run in $(seq "$runs"); do
    dtv_log "(i) boot $run of $runs under TCG"
    read -r app off < <(vm_boot)
    vm_app_times+=("$app")
    vm_off_times+=("$off")
  done
  median_vm_app="$(median "${vm_app_times[@]}")"
  median_vm_off="$(median "${vm_off_times[@]}")"
fi

# (j) Each tool alone first, then the cold base with it, so that any warming of the mirror's
# caches favours the tool alone. The base is prepared with `dotnet build` (the sample is
# already built, so this is the base's work) at trim level slim, into a cache of its own;
# the bootstrap stage is the time the build log gives for the tool as DockerToVms runs it.
if [[ "$bootstrappers" -eq 1 ]]; then
  declare -A alone=() base=() stage=()
  for tool in debootstrap mmdebstrap; do
    dtv_log "(j) $tool --variant=minbase $suite alone"
    alone[$tool]="$(measure "$tool-alone" "$tool" --variant=minbase "$suite" \
      "$work/$tool-alone" "$mirror")"
    dtv_log "(j) cold base with BaseImageBootstrapper=$tool"
    base[$tool]="$(measure "$tool-base" dotnet build "$project" "${common[@]}" -v:n \
      -p:BuildBaseImage=true -p:BaseImageBootstrapper="$tool" -p:BaseImageTrim=slim \
      -p:BaseImageCacheDirectory="$work/cache-$tool" -p:BaseImageSuite="$suite" \
      -p:BaseImageMirror="$mirror" -p:ContainerRepository="$repository-$tool")"
    stage[$tool]="$(grep -o 'DockerToVms: bootstrap took [0-9.]* s' \
      "$work/logs/$tool-base.log" | tail -n 1 | awk '{ print $4 }')"
    bootstrap_stages="$(grep -ho 'DockerToVms: .* took [0-9.]* s\.' \
      "$work/logs/$tool-base.log" | sed 's/^DockerToVms: /        /' || true)"
    printf -v "stages_$tool" '%s' "$bootstrap_stages"
  done
  # The recipe installs packages on top of minbase; mmdebstrap alone with the same packages
  # (those the cold base has and minbase has not) is the reference that does the same work.
  recipe_packages="$(extra_packages "$work/mmdebstrap-alone" "$work/cache-mmdebstrap")"
  dtv_log "(j) mmdebstrap alone with the recipe's packages: $recipe_packages"
  alone_recipe="$(measure mmdebstrap-alone-recipe mmdebstrap --variant=minbase \
    --include="$recipe_packages" "$suite" "$work/mmdebstrap-alone-recipe" "$mirror")"
  mapfile -t bootstrapper_images < <(docker images -q \
    --filter "reference=$repository-debootstrap-base" \
    --filter "reference=$repository-mmdebstrap-base")
  if [[ "${#bootstrapper_images[@]}" -gt 0 ]]; then
    docker rmi -f "${bootstrapper_images[@]}" >/dev/null 2>&1 || true
  fi
fi

# (k) The user gets a folder of its own (the work folder is root's), with a copy of the sample
# and the feed, a home for NuGet, and the cache. The tool alone runs first, as in (j).
if [[ -n "$rootless_user" ]]; then
  rootless_dir="$(mktemp -d /tmp/dtv-bench-rootless.XXXXXX)"
  remove_rootless() { rm -rf --one-file-system "$rootless_dir"; }
  dtv_at_exit remove_rootless
  cp -r "$work/repo/samples" "$rootless_dir/samples"
  mkdir -p "$rootless_dir/nuget" "$rootless_dir/home"
  cp -r "$DTV_REPO_ROOT/nuget/feed" "$rootless_dir/nuget/feed"
  chown -R "$rootless_user:" "$rootless_dir"
  as_user=(runuser -u "$rootless_user" -- env -i HOME="$rootless_dir/home"
    USER="$rootless_user" PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    DOTNET_CLI_HOME="$rootless_dir/home" DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
    MSBUILDDISABLENODEREUSE=1)
  in_namespace=(unshare --user --map-auto --map-root-user --mount --pid --fork --kill-child)
  rootless_project="$rootless_dir/samples/ConsoleApp/ConsoleApp.csproj"
  dtv_log "(k) restoring and building the sample as $rootless_user (not timed)"
  "${as_user[@]}" dotnet build "$rootless_project" "${common[@]}" \
    >"$work/logs/rootless-prepare.log" 2>&1
  dtv_log "(k) mmdebstrap alone as $rootless_user, root mode in the user's namespace"
  rootless_alone="$(measure rootless-alone "${as_user[@]}" "${in_namespace[@]}" \
    mmdebstrap --mode=root --variant=minbase "$suite" "$rootless_dir/alone" "$mirror")"
  dtv_log "(k) mmdebstrap --mode=unshare alone as $rootless_user"
  rootless_unshare="$(measure rootless-unshare "${as_user[@]}" mmdebstrap --mode=unshare \
    --variant=minbase "$suite" "$rootless_dir/unshare.tar" "$mirror")"
  if [[ -n "${recipe_packages:-}" ]]; then
    dtv_log "(k) mmdebstrap alone as $rootless_user with the recipe's packages"
    rootless_recipe="$(measure rootless-alone-recipe "${as_user[@]}" "${in_namespace[@]}" \
      mmdebstrap --mode=root --variant=minbase --include="$recipe_packages" "$suite" \
      "$rootless_dir/alone-recipe" "$mirror")"
  fi
  dtv_log "(k) cold base as $rootless_user"
  rootless_base="$(measure rootless-base "${as_user[@]}" dotnet build \
    "$rootless_project" "${common[@]}" -v:n \
    -p:BuildBaseImage=true -p:BaseImageTrim=slim -p:BaseImageCacheDirectory="$rootless_dir/cache" \
    -p:BaseImageSuite="$suite" -p:BaseImageMirror="$mirror" \
    -p:ContainerRepository="$repository-rootless")"
  rootless_stages="$(grep -ho 'DockerToVms: .* took [0-9.]* s\.' \
    "$work/logs/rootless-base.log" | sed 's/^DockerToVms: /        /' || true)"
  mapfile -t rootless_images < <(docker images -q --filter "reference=$repository-rootless*")
  if [[ "${#rootless_images[@]}" -gt 0 ]]; then
    docker rmi -f "${rootless_images[@]}" >/dev/null 2>&1 || true
  fi
fi

# Leave nothing behind before the report, so the report is the last thing printed.
dtv_cleanup

# One line of the report: what was measured, its value, and its ratio to the reference.
row() {
  printf '    %-38s %9s %7s%s\n' "$1" "$2" "${3:-}" "${4:+  $4}"
}

heading() {
  printf '\n%-42s %9s %7s\n' "$1" "$2" ratio
}

if [[ "$times" -eq 1 ]]; then
  printf '\nDockerToVms benchmark: samples/ConsoleApp, suite %s, %s runs for (b) and (c)\n' \
    "$suite" "$runs"

  heading '(a) cold base' seconds
  row "debootstrap --variant=minbase $suite" "$cold_debootstrap" 1.00 "(reference)"
  row "publish -p:BuildBaseImage=true" "$cold_publish" \
    "$(ratio "$cold_publish" "$cold_debootstrap")"
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
fi

# (e) Each row: the base and the whole image, the image against runtime-deps on Debian
# (122 MB, without an app) and against the chiseled image of the same kind of app: chiseled
# runtime-deps plus this publish folder for self-contained, the published trimmed and AOT
# figures for the others; and the base against chiseled runtime-deps.
if [[ "$sizes" -eq 1 ]]; then
  printf '\n(e) size by publish mode and trim level, MB = 10^6 bytes, uncompressed\n'
  printf '    references: bookworm-slim %s, runtime-deps %s, chiseled runtime-deps %s,\n' \
    "$slim_reference_mb" "$deps_reference_mb" "$chiseled_deps_mb"
  printf '    trimmed app on chiseled %s, Native AOT app on chiseled %s (published figures)\n' \
    "$chiseled_trimmed_mb" "$chiseled_aot_mb"
  printf '    %-10s %-14s %-5s %7s %7s %9s %9s %9s\n' sample mode trim base image \
    "img/deps" "img/chis" "base/chis"
  for entry in "${size_rows[@]}"; do
    read -r sample mode level base_mb image_mb <<<"$entry"
    case "$mode" in
      self-contained)
        chiseled_mb="$(awk -v r="$chiseled_deps_mb" -v i="$image_mb" -v b="$base_mb" \
          'BEGIN { printf "%.1f", r + i - b }')" ;;
      aot) chiseled_mb="$chiseled_aot_mb" ;;
      *) chiseled_mb="$chiseled_trimmed_mb" ;;
    esac
    printf '    %-10s %-14s %-5s %7s %7s %9s %9s %9s\n' "$sample" "$mode" "$level" "$base_mb" \
      "$image_mb" "$(ratio "$image_mb" "$deps_reference_mb")" \
      "$(ratio "$image_mb" "$chiseled_mb")" "$(ratio "$base_mb" "$chiseled_deps_mb")"
  done
fi

if [[ "$arm64" -eq 1 ]]; then
  heading "(f) cold arm64 base on amd64, under QEMU" seconds
  row "debootstrap --foreign + --second-stage" "$arm64_debootstrap" 1.00 "(reference)"
  row "mmdebstrap --arch=arm64" "$arm64_mmdebstrap" 1.00 "(reference)"
  row "publish -r linux-arm64 (image $arm64_image)" "$arm64_publish" \
    "$(ratio "$arm64_publish" "$arm64_debootstrap")" "of debootstrap"
  row "" "" "$(ratio "$arm64_publish" "$arm64_mmdebstrap")" "of mmdebstrap"
  if [[ -n "$arm64_stages" ]]; then
    printf '    stages of that publish:\n'
    printf '%s\n' "$arm64_stages" | sed 's/^ */      /'
  fi
fi

if [[ "$registry" -eq 1 ]]; then
  heading "(g) base from a cache registry" seconds
  row "cold: bootstrap + push of the base" "$registry_cold" 1.00 "(reference)"
  row "empty cache, base from the registry" "$registry_hit" \
    "$(ratio "$registry_hit" "$registry_cold")" "saves $registry_saved s"
  printf '    (bootstrap stage %s; base from the registry %s)\n' \
    "${registry_bootstrap_stage:-n/a}" "${registry_hit_stage:-n/a}"

  heading '(g) warm publish with a push' 'median s'
  row "dotnet publish --self-contained" "$median_push_plain" 1.00 "(reference)"
  row "publish + push to ContainerRegistry" "$median_push_dtv" \
    "$(ratio "$median_push_dtv" "$median_push_plain")"
  if [[ -n "$push_line" ]]; then
    printf '    last push: %s\n' "$push_line"
  fi
fi

if [[ "$archive" -eq 1 ]]; then
  heading '(h) warm publish to an archive, base cached' 'median s'
  row "dotnet publish --self-contained" "$median_archive_plain" 1.00 "(reference)"
  row "publish -p:ContainerArchiveOutputPath" "$median_archive_dtv" \
    "$(ratio "$median_archive_dtv" "$median_archive_plain")"
  row "archive size, MB (gzip)" "$archive_mb"
  row "same manifest when republished unchanged" "$archive_same"
fi

if [[ "$vm" -eq 1 ]]; then
  heading "(i) VM image (initramfs, tiny init), TCG" 'median s'
  row "publish -p:BuildVmImage=true" "$vm_publish" "" "(one run)"
  row "QEMU start to the app's first line" "$median_vm_app" "$(ratio "$median_vm_app" 8)" \
    "of the 8 s target"
  row "QEMU start to power-off" "$median_vm_off"
  heading "    size, MB = 10^6 bytes" MB
  row "vmlinuz + initramfs.img" "$vm_mb" "$(ratio "$vm_mb" 64)" "of the 64 MB target"
fi

if [[ "$bootstrappers" -eq 1 ]]; then
  heading "(j) cold base by bootstrapper, $suite minbase" seconds
  for tool in debootstrap mmdebstrap; do
    other=debootstrap
    [[ "$tool" == debootstrap ]] && other=mmdebstrap
    row "$tool alone" "${alone[$tool]}" 1.00 "(reference)"
    row "  bootstrap stage with it" "${stage[$tool]}" \
      "$(ratio "${stage[$tool]}" "${alone[$tool]}")" "of $tool alone"
    row "  cold base (build, slim) with it" "${base[$tool]}" \
      "$(ratio "${base[$tool]}" "${alone[$tool]}")" "of $tool alone"
    row "" "" "$(ratio "${base[$tool]}" "${alone[$other]}")" "of $other alone"
    row "" "" "$(ratio "${base[$tool]}" "${base[$other]}")" "of the cold base with $other"
    if [[ "$tool" == mmdebstrap && -n "${alone_recipe:-}" ]]; then
      row "  mmdebstrap alone, recipe's packages" "$alone_recipe" \
        "$(ratio "$alone_recipe" "${alone[$tool]}")" "of mmdebstrap alone"
      row "" "" "$(ratio "${base[$tool]}" "$alone_recipe")" \
        "cold base, of mmdebstrap alone with them"
    fi
    stages_name="stages_$tool"
    if [[ -n "${!stages_name}" ]]; then
      printf '      stages:\n%s\n' "${!stages_name}"
    fi
  done
fi

if [[ -n "$rootless_user" ]]; then
  heading "(k) cold base without root, as $rootless_user" seconds
  row "mmdebstrap alone, root mode in the namespace" "$rootless_alone" 1.00 "(reference)"
  row "mmdebstrap --mode=unshare alone" "$rootless_unshare" \
    "$(ratio "$rootless_unshare" "$rootless_alone")"
  row "cold base (build, slim)" "$rootless_base" "$(ratio "$rootless_base" "$rootless_alone")" \
    "of mmdebstrap alone in the namespace"
  row "" "" "$(ratio "$rootless_base" "$rootless_unshare")" "of mmdebstrap --mode=unshare"
  if [[ -n "${rootless_recipe:-}" ]]; then
    row "mmdebstrap alone, recipe's packages" "$rootless_recipe" \
      "$(ratio "$rootless_recipe" "$rootless_alone")"
    row "" "" "$(ratio "$rootless_base" "$rootless_recipe")" \
      "cold base, of mmdebstrap alone with them"
  fi
  if [[ -n "${base[mmdebstrap]:-}" ]]; then
    row "" "" "$(ratio "$rootless_base" "${base[mmdebstrap]}")" \
      "of root's cold base with mmdebstrap (j)"
  fi
  if [[ -n "$rootless_stages" ]]; then
    printf '      stages:\n%s\n' "$rootless_stages"
  fi
fi
