#!/bin/sh
# Runs one command inside a root filesystem. unshare starts this script in private mount and
# process namespaces: the mounts made here exist only for this process tree and disappear
# when it ends, however it ends, so a killed build cannot leave them behind; and /proc shows
# only the step's own processes.
#   chroot.sh ROOT COMMAND [ARGUMENT...]
set -eu
root=$1
shift

mount -t proc proc "$root/proc"

# A user namespace may not mount a sysfs of its own without a network namespace, which the
# step needs to share; there the machine's /sys is lent instead.
mount -t sysfs -o ro sysfs "$root/sys" 2>/dev/null || mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"

# apt needs name resolution during the step; the build machine's file is lent read-only and
# never copied, so it does not stay in the image.
if [ -e /etc/resolv.conf ] && [ -f "$root/etc/resolv.conf" ] && [ ! -L "$root/etc/resolv.conf" ]
then
  mount --bind /etc/resolv.conf "$root/etc/resolv.conf"

  # In a user namespace the machine's file belongs to an id outside it, so it cannot be
  # written there anyway, and the namespace may not be allowed to change the mount's flags.
  mount -o remount,bind,ro "$root/etc/resolv.conf" 2>/dev/null \
    || [ ! -w "$root/etc/resolv.conf" ]
fi

exec chroot "$root" "$@"
