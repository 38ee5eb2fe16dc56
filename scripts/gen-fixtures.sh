#!/usr/bin/env bash
# Regenerates the golden send streams under test/fixtures/streams/ from the real kernel: builds a
# loop-mounted scratch btrfs in a mktemp -d dir, creates known trees, runs `btrfs send` (v1, v2,
# compressed, no-data, incremental, clone, multi-subvolume plain and -e) and records
# `btrfs receive --dump` (TZ=UTC) next to each stream. Needs root. The trap always unmounts and
# detaches the loop device, also on failure. Never hand-edit the outputs: rerun this script.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "gen-fixtures.sh: needs root (mount, losetup, btrfs send)" >&2; exit 1; }
for tool in mkfs.btrfs btrfs losetup mount setfattr python3; do
  command -v "$tool" >/dev/null || { echo "gen-fixtures.sh: missing $tool" >&2; exit 1; }
done

here="$(cd "$(dirname "$0")/.." && pwd)"
out="$here/test/fixtures/streams"
work="$(mktemp -d /tmp/btrfs-stream-fixtures.XXXXXX)"
mnt="$work/mnt"
loop=""

cleanup() {
  set +e
  if mountpoint -q "$mnt"; then umount "$mnt" || umount -l "$mnt"; fi
  if [ -n "$loop" ]; then losetup -d "$loop"; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # exiting runs the EXIT trap

truncate -s 512M "$work/img"
mkfs.btrfs -q -f "$work/img"
loop="$(losetup --find --show "$work/img")"
mkdir "$mnt"
mount "$loop" "$mnt"

export TZ=UTC
stamp() { touch -h -d "@$2" "$1"; }  # deterministic times (the dump prints them)

# ---- main tree: names, xattrs, special files, links, holes, prealloc, reflinks ----
btrfs -q subvolume create "$mnt/vol"
v="$mnt/vol"
printf 'hello world\n' > "$v/small.txt"
setfattr -n user.test -v $'value 1\n' "$v/small.txt"
setfattr -n user.bin -v 0x76000102ff "$v/small.txt"
setfattr -n 'user.sp ace' -v 'tab	and\back' "$v/small.txt"
mkdir -p "$v/dir with space/sub"
printf 'x' > "$v/dir with space/f
1"
printf 'latin' > "$v/$(printf 'caf\xe9-\xff\xfe')"
printf 'esc' > "$v/back\\slash	tab"
ln -s '../target file' "$v/rel-link"
ln -s /abs/target "$v/abs-link"
ln "$v/small.txt" "$v/dir with space/hard"
mkfifo "$v/fifo"
mknod "$v/chardev" c 1 3
mknod "$v/blockdev" b 8 17
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$v/sock"
head -c 100000 /dev/urandom > "$v/data.bin"
truncate -s 1M "$v/sparse.bin"
printf 'middle' | dd of="$v/sparse.bin" bs=1 seek=524288 conv=notrunc status=none
fallocate -l 65536 "$v/prealloc.bin"
head -c 65536 /dev/urandom > "$v/clone-src.bin"
cp --reflink=always "$v/clone-src.bin" "$v/clone-dst.bin"
chmod 4755 "$v/data.bin"
chown 1000:100 "$v/small.txt"
for f in "$v"/* "$v/dir with space"/* "$v/dir with space"; do stamp "$f" 1700000000; done
stamp "$v" 1700000001
btrfs -q subvolume snapshot -r "$v" "$mnt/snap1"

# ---- incremental changes: rename, unlink, rmdir, overwrite, punch hole, chattr, xattr removal ----
mv "$v/rel-link" "$v/dir with space/moved-link"
rm "$v/abs-link"
rmdir "$v/dir with space/sub"
printf 'CHANGED' | dd of="$v/data.bin" bs=1 seek=5000 conv=notrunc status=none
head -c 16384 /dev/urandom > "$v/punch.bin"
setfattr -x user.bin "$v/small.txt"
chown 1000:1000 "$v/fifo"
chmod 600 "$v/chardev"
ln "$v/data.bin" "$v/data-link.bin"
chattr +A "$v/small.txt"
stamp "$v" 1700000100
btrfs -q subvolume snapshot -r "$v" "$mnt/snap2"
fallocate -p -o 4096 -l 8192 "$v/punch.bin"
cp --reflink=always "$v/clone-src.bin" "$v/clone-new.bin"
stamp "$v" 1700000200
btrfs -q subvolume snapshot -r "$v" "$mnt/snap3"

# ---- compressed data (zstd mount option applies to new writes) ----
mount -o remount,compress=zstd "$mnt"
btrfs -q subvolume create "$mnt/comp"
{ yes 'compressible line of text for zstd' || true; } | head -c 262144 > "$mnt/comp/text.txt"
{ yes 'inline' || true; } | head -c 3000 > "$mnt/comp/inline.txt"
stamp "$mnt/comp/text.txt" 1700000300; stamp "$mnt/comp/inline.txt" 1700000300; stamp "$mnt/comp" 1700000301
btrfs -q subvolume snapshot -r "$mnt/comp" "$mnt/comp-snap"
mount -o remount,compress=no "$mnt"

# ---- two small subvolumes for multi-subvolume streams ----
for s in a b; do
  btrfs -q subvolume create "$mnt/multi-$s"
  printf 'file in %s\n' "$s" > "$mnt/multi-$s/file-$s.txt"
  stamp "$mnt/multi-$s/file-$s.txt" 1700000400; stamp "$mnt/multi-$s" 1700000401
  btrfs -q subvolume snapshot -r "$mnt/multi-$s" "$mnt/multi-$s-snap"
done

sync
rm -rf "$out"
mkdir -p "$out"
cd "$mnt"
btrfs -q send --proto 1 -f "$out/full-v1.bin" snap1
btrfs -q send --proto 2 -f "$out/full-v2.bin" snap1
btrfs -q send --proto 2 --no-data -f "$out/nodata-v2.bin" snap1
btrfs -q send --proto 1 -p snap1 -f "$out/incremental-v1.bin" snap2
btrfs -q send --proto 2 -p snap1 -f "$out/incremental-v2.bin" snap2
btrfs -q send --proto 2 -p snap2 -f "$out/clone-v2.bin" snap3
btrfs -q send --proto 2 --compressed-data -f "$out/compressed-v2.bin" comp-snap
btrfs -q send --proto 1 -f "$out/multi-plain-v1.bin" multi-a-snap multi-b-snap
btrfs -q send --proto 2 -e -f "$out/multi-e-v2.bin" multi-a-snap multi-b-snap
cd /

for f in "$out"/*.bin; do
  btrfs receive --dump -f "$f" > "${f%.bin}.progs-6.2.dump"
done
{
  echo "kernel: $(uname -r)"
  echo "btrfs-progs: $(btrfs --version)"
  echo "send_stream_version: $(cat /sys/fs/btrfs/features/send_stream_version 2>/dev/null || echo 1)"
  echo "generated: $(date -u +%FT%TZ) by scripts/gen-fixtures.sh"
} > "$out/VERSIONS"
chmod 644 "$out"/*
ls -l "$out"
