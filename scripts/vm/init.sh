#!/bin/busybox sh
# PID 1 of the test VM (runs from the initramfs built by scripts/vm/run.mjs).
# Loads the kernel's virtio/9p modules, mounts the host's root read-only over 9p at /host (a root
# of another architecture: writable, through an overlay whose writes stay in the guest), gives it
# writable tmpfs places (/tmp, /run, /dev/shm, the checkout as an overlay whose writes stay in the
# guest), a scratch ext4 on the virtio disk at /var/tmp, the kernel filesystems the tools use, then
# runs the command in a chroot of /host. Its exit status goes to the host over the virtio port
# "result"; then the VM powers off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
. /vm.env

say() { echo "vm: $*"; }
# the virtio serial port of this name (run.mjs reads what is written to it)
port() {
  for p in /sys/class/virtio-ports/*; do
    if [ "$(cat "$p/name" 2>/dev/null)" = "$1" ]; then echo "/dev/${p##*/}"; fi
  done
}
result() {
  p=$(port result)
  [ -n "$p" ] && echo "$1" > "$p"
}
die() {
  say "$*"
  result 125
  sync
  poweroff -f
}

for m in $VM_MODULES; do insmod "/modules/$m.ko" || say "insmod $m failed"; done

H=/host
mkdir -p $H /rw
mount -t tmpfs rw /rw
if [ -n "$VM_ROOT_OVERLAY" ]; then
  # a root of the guest's own (another architecture's): writable, its writes in guest memory, so
  # that a test can install packages into it (dpkg -i of our .deb) and leave nothing behind
  mkdir -p /lower /rw/root-upper /rw/root-work
  mount -t 9p -o ro,trans=virtio,version=9p2000.L,cache=loose,msize=512000 hostroot /lower || die "cannot mount the root over 9p"
  mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/root-upper,workdir=/rw/root-work $H || die "cannot overlay the root"
else
  mount -t 9p -o ro,trans=virtio,version=9p2000.L,cache=loose,msize=512000 hostroot $H || die "cannot mount the host root over 9p"
fi

# the checkout: read-only underneath, writes land in guest memory. Made here, before the tmpfs
# mounts below, and bound at its own path after them: a checkout under /tmp, /run or /var/tmp
# would otherwise be hidden by them
mkdir -p /rw/upper /rw/work /checkout
# a root of another architecture than the host's does not hold the checkout: it is its own 9p share
LOWER=$H$VM_WORKDIR
if [ -n "$VM_CHECKOUT_TAG" ]; then
  mkdir -p /ro-checkout
  mount -t 9p -o ro,trans=virtio,version=9p2000.L,cache=loose,msize=512000 "$VM_CHECKOUT_TAG" /ro-checkout || die "cannot mount the checkout over 9p"
  LOWER=/ro-checkout
fi
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=/rw/upper,workdir=/rw/work" /checkout \
  || { say "no overlay on $VM_WORKDIR: the checkout stays read-only"; mount -o bind "$LOWER" /checkout; } \
  || die "cannot reach the checkout $VM_WORKDIR over 9p"
# the native npm modules of the guest's CPU (in the root's /opt/bpf-recipes), where npm would have put them
for n in $VM_NATIVES; do
  mkdir -p "/checkout/${n%/*}" && ln -sfn "/opt/bpf-recipes/$n" "/checkout/$n" || say "cannot link $n"
done
mount -t proc proc $H/proc
mount -t sysfs sys $H/sys
mount -t devtmpfs dev $H/dev
mkdir -p $H/dev/pts $H/dev/shm
mount -t devpts devpts $H/dev/pts
mount -t tmpfs shm $H/dev/shm
mount -t tmpfs -o mode=1777 tmp $H/tmp
mount -t tmpfs run $H/run
mount -t tracefs tracefs $H/sys/kernel/tracing
mount -t debugfs debugfs $H/sys/kernel/debug 2>/dev/null
mount -t bpf bpf $H/sys/fs/bpf
mount -t cgroup2 cgroup2 $H/sys/fs/cgroup
mount -t securityfs securityfs $H/sys/kernel/security 2>/dev/null

# the scratch disk: a real block device for block I/O tests, at /var/tmp
if [ -b /dev/vda ]; then
  chroot $H mkfs.ext4 -q -F /dev/vda || die "mkfs.ext4 /dev/vda failed"
  mount -t ext4 /dev/vda $H/var/tmp || die "cannot mount /dev/vda"
  chmod 1777 $H/var/tmp
fi

# the checkout at its own path (its directory exists on the host root, or under a tmpfs above)
mkdir -p "$H$VM_WORKDIR" 2>/dev/null
mount -o bind /checkout "$H$VM_WORKDIR" || die "cannot bind the checkout at $VM_WORKDIR"

ip link set lo up 2>/dev/null || chroot $H ip link set lo up
hostname bpf-recipes-vm
say "kernel $(uname -r), $(nproc) CPUs; running: $VM_COMMAND"

# the kernel's function addresses, for run.mjs to name where a stalled guest's vCPUs are
p=$(port kallsyms)
[ -n "$p" ] && grep ' [tT] ' /proc/kallsyms > "$p"

cp /guest.sh $H/tmp/.bpf-recipes-vm.sh
# through a pipe: the output is a log, not a terminal (no cursor tricks, no colours unless asked)
set -o pipefail
chroot $H /usr/bin/env -i /bin/sh /tmp/.bpf-recipes-vm.sh < /dev/null 2>&1 | cat
status=$?
say "exit status $status"
result $status
sync
poweroff -f
