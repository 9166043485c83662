#!/bin/bash
# Debian packages (issue 15): `dpkg-buildpackage -b -us -uc` on a copy of the source makes the
# zkfsd and zkfs packages, and lintian finds no error in them; then, on a fresh Debian 12 root
# (debootstrap --variant=minbase bookworm, from Debian's mirror), apt installs both: the zkfsd
# user, /var/lib/zkfsd (0700, zkfsd's), /etc/zkfsd/zoo.cfg as a conffile, the systemd unit;
# the service's ExecStart runs as its User= (no systemd in a chroot) and answers ruok;
# `mount -t fuse.zkfs` and an fstab line mount the tree, a file written through one is read
# through the other and by zkfs-cli; removing both keeps the conffile, purging them leaves
# none of their files.
#
# Opt-in (ZKT_DEBIAN=1): the package build and the debootstrap take minutes and the mirror,
# more than CI's budget. The mirror needs the host's network: run it with ZKT_NO_NETNS=1 (so
# tests/run-one leaves it there); the part that runs the server and mounts re-runs this script
# in a network namespace of its own (ZKT_DEBIAN_RUN=1). ZKT_DEBIAN_ROOT=DIR reuses a
# debootstrapped root (copied, not changed);# ZKT_DEBIAN_DEBS=DIR reuses packages built there (their .changes is linted the same).
. "$(dirname "$0")/lib.sh"
zkt_init debian
if [ "${ZKT_DEBIAN_RUN:-0}" = 1 ]; then
	root=$ZKT_DEBIAN_WORK/root
	in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
	unit=$root/lib/systemd/system/zkfsd.service
	exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
	user=$(sed -n 's/^User=//p' "$unit")
	# The service as systemd would start it: its ExecStart as its User=.
	# shellcheck disable=SC2086
	chroot --userspec="$user:$user" "$root" $exec_start >"$ZKT_DIR/zkfsd.log" 2>&1 &
	ZKT_PIDS[pkg]=$!
	zkt_wait 30 zkt_is_ok 2181 || { cat "$ZKT_DIR/zkfsd.log" >&2; zkt_fail "packaged zkfsd does not answer ruok"; }

	mkdir -p "$root/mnt/zk" "$root/mnt/zk2"
	in_root mount -t fuse.zkfs 127.0.0.1:2181 /mnt/zk || zkt_fail "mount -t fuse.zkfs failed"
	echo "127.0.0.1:2181 /mnt/zk2 fuse.zkfs defaults 0 0" >>"$root/etc/fstab"
	in_root mount /mnt/zk2 || zkt_fail "mount of the fstab line failed"
	in_root sh -c 'echo hello-from-deb > /mnt/zk/pkgtest' || zkt_fail "write through the mount failed"
	zkt_wait 10 grep -qx hello-from-deb "$root/mnt/zk2/pkgtest" || zkt_fail "the fstab mount does not see it"
	[ "$(in_root zkfs-cli -server 127.0.0.1:2181 get /pkgtest)" = hello-from-deb ] ||
		zkt_fail "zkfs-cli does not read it"
	in_root umount /mnt/zk2 && in_root umount /mnt/zk || zkt_fail "umount failed"
	zkt_stop_server pkg
	zkt_log "the packaged service answered; mount -t fuse.zkfs and the fstab line worked"
	exit 0
fi
[ "${ZKT_DEBIAN:-0}" = 1 ] || zkt_skip "opt-in: ZKT_DEBIAN=1 (builds the packages, debootstraps Debian 12)"
zkt_require_root
zkt_require_cmd dpkg-buildpackage lintian debootstrap chroot tar

src=$ZKT_DIR/src/zkfs-0.1.0
root=$ZKT_DIR/root
mkdir -p "$src"
if [ -n "${ZKT_DEBIAN_DEBS:-}" ]; then
	cp "$ZKT_DEBIAN_DEBS"/*.deb "$ZKT_DEBIAN_DEBS"/*.changes "$ZKT_DEBIAN_DEBS"/*.buildinfo \
		"$ZKT_DIR/src/"
else
	tar -C "$top_srcdir" --exclude=./build --exclude=./.git --exclude=./var -c . |
		tar -C "$src" -x
	(cd "$src" && dpkg-buildpackage -b -us -uc -j2) >"$ZKT_DIR/build.log" 2>&1 ||
		{ tail -30 "$ZKT_DIR/build.log" >&2; zkt_fail "dpkg-buildpackage failed"; }
fi
debs=$(ls "$ZKT_DIR"/src/zkfsd_*.deb "$ZKT_DIR"/src/zkfs_*.deb) || zkt_fail "packages missing"
zkt_log "built: $(cd "$ZKT_DIR/src" && ls ./*.deb | tr '\n' ' ')"
lintian --no-tag-display-limit "$ZKT_DIR"/src/*.changes >"$ZKT_DIR/lintian.txt" 2>&1
if grep '^E:' "$ZKT_DIR/lintian.txt"; then zkt_fail "lintian errors (above)"; fi
zkt_log "lintian: $(grep -c '^W:' "$ZKT_DIR/lintian.txt") warnings, no error"

if [ -n "${ZKT_DEBIAN_ROOT:-}" ]; then
	cp -a "$ZKT_DEBIAN_ROOT" "$root"
else
	debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian \
		>"$ZKT_DIR/debootstrap.log" 2>&1 || zkt_fail "debootstrap failed (Debian's mirror?)"
fi
cleanup_root() {
	for m in dev/fuse dev/pts dev proc sys; do umount -l "$root/$m" 2>/dev/null; done
}
trap 'cleanup_root; zkt_cleanup' EXIT
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev" # Its unmount must never reach the host's /dev.
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
cp $debs "$root/tmp/"
in_root apt-get update -qq >/dev/null || zkt_fail "apt-get update in the root failed"
# shellcheck disable=SC2046
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	$(for d in $debs; do echo "/tmp/${d##*/}"; done) >"$ZKT_DIR/install.log" 2>&1 ||
	{ tail -20 "$ZKT_DIR/install.log" >&2; zkt_fail "apt-get install of the packages failed"; }

in_root getent passwd zkfsd >/dev/null || zkt_fail "no zkfsd user"
[ "$(in_root stat -c '%a %U' /var/lib/zkfsd)" = "700 zkfsd" ] ||
	zkt_fail "/var/lib/zkfsd is $(in_root stat -c '%a %U' /var/lib/zkfsd)"
in_root dpkg-query -W -f='${Conffiles}\n' zkfsd | grep -q ' /etc/zkfsd/zoo.cfg ' ||
	zkt_fail "/etc/zkfsd/zoo.cfg is not a conffile"
unit=$root/lib/systemd/system/zkfsd.service
[ -f "$unit" ] || zkt_fail "no systemd unit"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
[ "$exec_start" = "/usr/sbin/zkfsd -c /etc/zkfsd/zoo.cfg" ] || zkt_fail "ExecStart=$exec_start"
[ -L "$root/usr/sbin/mount.fuse.zkfs" ] || [ -L "$root/sbin/mount.fuse.zkfs" ] ||
	zkt_fail "no mount.fuse.zkfs"

# The running part in a network namespace of its own (port 2181 of the packaged config).
ZKT_DEBIAN_RUN=1 ZKT_DEBIAN_WORK=$ZKT_DIR unshare -n bash -c 'ip link set lo up && exec "$0"' \
	"$0" || zkt_fail "the packaged service or its mounts failed (above)"

in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq zkfs zkfsd >/dev/null ||
	zkt_fail "apt-get remove failed"
[ ! -e "$root/usr/sbin/zkfsd" ] && [ ! -e "$root/usr/bin/zkfs" ] || zkt_fail "programs left after remove"
[ -f "$root/etc/zkfsd/zoo.cfg" ] || zkt_fail "remove dropped the conffile"
# apt knows packages installed from files only while they are installed: dpkg purges.
in_root dpkg --purge zkfs zkfsd >/dev/null || zkt_fail "dpkg --purge failed"
[ ! -e "$root/etc/zkfsd" ] && [ ! -e "$root/var/lib/zkfsd" ] || zkt_fail "files left after purge"
zkt_log "PASS: removed (conffile kept), purged (nothing left)"
