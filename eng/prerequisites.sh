#!/usr/bin/env bash
# Installs and starts what building a DockerToVms image needs on a Debian or Ubuntu machine:
# debootstrap, Docker, QEMU user emulation, clang and lld for Native AOT, and a few basic
# tools; checks for the .NET SDK;
# starts a Docker daemon when none answers.
#
# Run it as root to prepare a machine (a daemon it starts keeps running), or source it from
# another script and call:
#   dtv_prerequisites       install what is missing, check dotnet, make sure Docker answers
#   dtv_install_exit_trap   stop, at exit, the Docker daemon that this shell started
#   dtv_at_exit 'command'   run a command at exit, before that daemon is stopped
#   dtv_cleanup             run the exit work now (it runs once; the trap then does nothing)
#   dtv_pack_sdk            pack DockerToVms.Sdk into nuget/feed, dropping the cached copy

# The repository root, whether this file is run or sourced.
DTV_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Package name, then a command or file whose presence means it is already there in some
# form (docker-ce instead of docker.io, for example).
DTV_REQUIRED_PACKAGES=(
  "debootstrap:debootstrap"
  "debian-archive-keyring:/usr/share/keyrings/debian-archive-keyring.gpg"
  "docker.io:dockerd"
  "qemu-user-static:/usr/bin/qemu-aarch64-static"
  "binfmt-support:update-binfmts"
  "util-linux:unshare"
  "tar:tar"
  "ca-certificates:/etc/ssl/certs/ca-certificates.crt"
  "curl:curl"
  "procps:pgrep"
  # Native AOT publishing links with clang; lld for projects that set LinkerFlavor=lld.
  "clang:clang"
  "lld:ld.lld"
  # setcap marks a file with a capability in the tests that check layers keep them.
  "libcap2-bin:setcap"
  # A registry the tests and the benchmark start on loopback; htpasswd for its login test.
  "docker-registry:/usr/bin/docker-registry"
  "apache2-utils:htpasswd"
  # skopeo reads the image archives a publish writes without a daemon, in the tests.
  "skopeo:skopeo"
  # Disk and ISO images: file systems, partition table, GRUB for BIOS and UEFI, the
  # first-stage helper (a static C program), and QEMU with OVMF to boot them in the tests.
  "e2fsprogs:mkfs.ext4" "dosfstools:mkfs.fat" "mtools:mcopy" "fdisk:sfdisk" "kmod:modinfo"
  "grub-common:grub-mkimage" "grub-pc-bin:/usr/lib/grub/i386-pc/boot.img"
  "grub-efi-amd64-bin:/usr/lib/grub/x86_64-efi/moddep.lst" "xorriso:xorriso"
  "squashfs-tools:mksquashfs" "gcc:gcc" "libc6-dev:/usr/lib/x86_64-linux-gnu/libc.a"
  "qemu-system-x86:qemu-system-x86_64" "qemu-utils:qemu-img" "ovmf:/usr/share/OVMF/OVMF_CODE_4M.fd"
  # Virtual machine images: the disk and ISO tools above, depmod for the kernel's modules
  # (kmod), gcc and libc6-dev for the init, zstd for the initramfs, QEMU to boot it.
  "zstd:zstd"
  # mmdebstrap bootstraps faster than debootstrap (BaseImageBootstrapper=auto takes it), and
  # in a user namespace with uidmap's newuidmap and newgidmap for a build without root.
  "mmdebstrap:mmdebstrap"
  "uidmap:newuidmap"
)

DTV_DOCKER_START_TIMEOUT="${DTV_DOCKER_START_TIMEOUT:-60}"
DTV_DOCKER_STOP_TIMEOUT="${DTV_DOCKER_STOP_TIMEOUT:-30}"

# Set by dtv_start_docker when this shell started the daemon, so only that one is stopped.
DTV_STARTED_DOCKERD=0
DTV_DOCKERD_PID=""
DTV_CONTAINERD_PID=""
DTV_DOCKERD_LOG=""
DTV_APT_UPDATED=0
DTV_CLEANED_UP=0
DTV_EXIT_HOOKS=()

dtv_log() {
  printf '==> %s\n' "$*" >&2
}

dtv_fail() {
  printf 'error: %s\n' "$*" >&2
  return 1
}

dtv_require_root() {
  if [[ "$(id -u)" -ne 0 ]]; then
    dtv_fail "run this as root (sudo $0): debootstrap, chroot and Docker need it"
  fi
}

dtv_is_present() {
  local probe="$1"
  if [[ "$probe" == /* ]]; then
    [[ -e "$probe" ]]
  else
    command -v "$probe" >/dev/null 2>&1
  fi
}

dtv_package_installed() {
  local status
  status="$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == "installed" ]]
}

dtv_apt_update_once() {
  if [[ "$DTV_APT_UPDATED" -eq 0 ]]; then
    dtv_log "apt-get update"
    apt-get update -qq || return 1
    DTV_APT_UPDATED=1
  fi
}

dtv_install_packages() {
  local entry name probe
  local missing=()
  for entry in "${DTV_REQUIRED_PACKAGES[@]}"; do
    name="${entry%%:*}"
    probe="${entry#*:}"
    if ! dtv_package_installed "$name" && ! dtv_is_present "$probe"; then
      missing+=("$name")
    fi
  done

  if [[ "${#missing[@]}" -eq 0 ]]; then
    return 0
  fi

  if ! command -v apt-get >/dev/null 2>&1; then
    dtv_fail "missing ${missing[*]}, and there is no apt-get to install them with"
    return 1
  fi
  dtv_apt_update_once || return 1
  dtv_log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

dtv_check_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    dtv_fail "the .NET SDK (10.0 or later) is needed, and dotnet is not on PATH.
  Install it from Microsoft's packages, see
  https://learn.microsoft.com/dotnet/core/install/linux-debian
  or with the install script: ./dotnet-install.sh --channel 10.0 (then add it to PATH)."
    return 1
  fi

  if ! dotnet --list-sdks 2>/dev/null | grep -Eq '^(1[0-9]|[2-9][0-9])\.'; then
    dtv_fail "the .NET SDK 10.0 or later is needed; dotnet has only:
$(dotnet --list-sdks 2>&1)"
    return 1
  fi
}

dtv_docker_answers() {
  timeout 10 docker info >/dev/null 2>&1
}

# Some machines without systemd have no cgroup hierarchy mounted; dockerd needs one.
dtv_ensure_cgroups() {
  if mountpoint -q /sys/fs/cgroup; then
    return 0
  fi
  if ! command -v cgroupfs-mount >/dev/null 2>&1; then
    dtv_apt_update_once || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      cgroupfs-mount >/dev/null || return 1
  fi
  dtv_log "mounting the cgroup hierarchy"
  cgroupfs-mount
}

dtv_wait_for_docker() {
  local pid="$1" waited=0
  while ! dtv_docker_answers; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    if [[ "$waited" -ge "$DTV_DOCKER_START_TIMEOUT" ]]; then
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

dtv_start_docker() {
  if dtv_docker_answers; then
    return 0
  fi

  # A daemon that is still starting (or was started by someone else) gets time to answer;
  # a second one would fight it over the same pid file and data directory.
  if pgrep -x dockerd >/dev/null 2>&1; then
    dtv_log "a Docker daemon is running but does not answer yet; waiting for it"
    if dtv_wait_for_docker ""; then
      return 0
    fi
    dtv_fail "the running Docker daemon did not answer within ${DTV_DOCKER_START_TIMEOUT} s"
    return 1
  fi

  local host_args=()
  case "${DOCKER_HOST:-}" in
    "") ;;
    unix://*) host_args=(--host "$DOCKER_HOST") ;;
    *)
      dtv_fail "DOCKER_HOST=$DOCKER_HOST does not answer, and only a local daemon" \
        "(unset DOCKER_HOST or unix://...) can be started here"
      return 1
      ;;
  esac

  dtv_ensure_cgroups || return 1
  DTV_DOCKERD_LOG="$(mktemp "${TMPDIR:-/tmp}/dockerd.XXXXXX.log")"
  dtv_log "starting dockerd (log: $DTV_DOCKERD_LOG)"
  dockerd "${host_args[@]}" >"$DTV_DOCKERD_LOG" 2>&1 </dev/null &
  DTV_DOCKERD_PID=$!
  DTV_STARTED_DOCKERD=1

  if ! dtv_wait_for_docker "$DTV_DOCKERD_PID"; then
    dtv_fail "dockerd did not answer within ${DTV_DOCKER_START_TIMEOUT} s; its last lines:"
    tail -n 20 "$DTV_DOCKERD_LOG" >&2
    dtv_stop_docker
    return 1
  fi

  # dockerd runs its own containerd; remember it in case it outlives dockerd.
  DTV_CONTAINERD_PID="$(pgrep -P "$DTV_DOCKERD_PID" -x containerd | head -n 1 || true)"
}

dtv_wait_for_exit() {
  local pid="$1" limit="$2" waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [[ "$waited" -ge "$limit" ]]; then
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

dtv_stop_process() {
  local pid="$1" name="$2"
  if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! dtv_wait_for_exit "$pid" "$DTV_DOCKER_STOP_TIMEOUT"; then
    dtv_log "$name ($pid) did not stop within ${DTV_DOCKER_STOP_TIMEOUT} s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    dtv_wait_for_exit "$pid" 5 || true
  fi
}

# Stops the daemon only if this shell started it; a daemon that was already running is left
# alone.
dtv_stop_docker() {
  if [[ "$DTV_STARTED_DOCKERD" -ne 1 ]]; then
    return 0
  fi
  dtv_stop_process "$DTV_DOCKERD_PID" dockerd
  dtv_stop_process "$DTV_CONTAINERD_PID" containerd
  # reap the background job so the shell does not report it
  wait "$DTV_DOCKERD_PID" 2>/dev/null || true
  DTV_STARTED_DOCKERD=0
  DTV_DOCKERD_PID=""
  DTV_CONTAINERD_PID=""
  if [[ -n "$DTV_DOCKERD_LOG" ]]; then
    rm -f "$DTV_DOCKERD_LOG"
    DTV_DOCKERD_LOG=""
  fi
}

dtv_at_exit() {
  DTV_EXIT_HOOKS+=("$1")
}

dtv_cleanup() {
  if [[ "$DTV_CLEANED_UP" -eq 1 ]]; then
    return 0
  fi
  DTV_CLEANED_UP=1

  local i
  for ((i = ${#DTV_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
    eval "${DTV_EXIT_HOOKS[i]}" || true
  done
  dtv_stop_docker
}

dtv_install_exit_trap() {
  trap dtv_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

dtv_prerequisites() {
  dtv_require_root || return 1
  # dotnet and NuGet keep their state below HOME; a bare environment may not set it.
  if [[ -z "${HOME:-}" ]]; then
    HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
    export HOME
  fi
  dtv_install_packages || return 1
  dtv_check_dotnet || return 1
  dtv_start_docker || return 1
  export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
}

# The SDK version the repository packs, from Directory.Build.props.
dtv_sdk_version() {
  sed -n 's:.*<DockerToVmsVersion>\(.*\)</DockerToVmsVersion>.*:\1:p' \
    "$DTV_REPO_ROOT/Directory.Build.props" | head -n 1
}

# Packs the SDK into nuget/feed. NuGet never re-reads a version it has already extracted, so
# that version is removed from the global packages folder first.
dtv_pack_sdk() {
  local version packages
  local ci_args=()
  version="$(dtv_sdk_version)"
  if [[ -z "$version" ]]; then
    dtv_fail "no <DockerToVmsVersion> in $DTV_REPO_ROOT/Directory.Build.props"
    return 1
  fi
  packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  rm -rf "$packages/dockertovms.sdk/$version"
  rm -f "$DTV_REPO_ROOT/nuget/feed/DockerToVms.Sdk.$version.nupkg"

  if [[ "${CI:-}" == "true" ]]; then
    ci_args=(-p:CI=true)
  fi

  dtv_log "packing DockerToVms.Sdk $version into nuget/feed"
  dotnet pack "$DTV_REPO_ROOT/src/Sdk/DockerToVms.Sdk.csproj" -c Release \
    -o "$DTV_REPO_ROOT/nuget/feed" -nologo -v:q "${ci_args[@]}"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  dtv_prerequisites
  if [[ "$DTV_STARTED_DOCKERD" -eq 1 ]]; then
    dtv_log "started dockerd (pid $DTV_DOCKERD_PID, log $DTV_DOCKERD_LOG); it keeps running"
  fi
  dtv_log "prerequisites are in place"
fi
