# Prints one line per entry of a directory tree, sorted by path, describing everything a faithful
# receive must reproduce: type, permission bits, uid, gid, size, content hash, symlink target,
# rdev, sorted xattrs (name and value hash), mtime to the nanosecond and hard-link group.
# Paths are bytes (non-UTF-8 names survive, printed escaped). Used by the receive tests as the
# oracle: python's os module has listxattr and ns times, Node's fs has no xattr API.
import hashlib, os, stat, sys

root = os.fsencode(sys.argv[1])
skip_root_mtime = '--no-root-mtime' in sys.argv
entries = []
inodes = {}

def esc(b):
    return b.decode('utf-8', 'backslashreplace').replace('\n', '\\n')

def describe(rel, full):
    st = os.lstat(full)
    kind = stat.S_IFMT(st.st_mode)
    parts = ['t=%o' % kind, 'm=%o' % stat.S_IMODE(st.st_mode), 'u=%d' % st.st_uid, 'g=%d' % st.st_gid]
    if stat.S_ISREG(kind):
        h = hashlib.sha256()
        with open(full, 'rb') as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
        parts += ['s=%d' % st.st_size, 'h=%s' % h.hexdigest()[:16]]
        if st.st_nlink > 1:
            inodes.setdefault(st.st_ino, []).append(rel)
    elif stat.S_ISLNK(kind):
        parts += ['l=%s' % esc(os.readlink(full))]
    elif stat.S_ISCHR(kind) or stat.S_ISBLK(kind):
        parts += ['r=%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev))]
    xs = []
    try:
        names = sorted(os.listxattr(full, follow_symlinks=False))
    except OSError:
        names = []
    for n in names:
        v = os.getxattr(full, n, follow_symlinks=False)
        xs.append('%s=%s' % (n, hashlib.sha256(v).hexdigest()[:12]))
    if xs:
        parts.append('x=' + ','.join(xs))
    if not (rel == b'' and skip_root_mtime):
        parts.append('mt=%d' % st.st_mtime_ns)
    return parts

def walk(rel):
    full = os.path.join(root, rel) if rel else root
    entries.append((rel, describe(rel, full)))
    st = os.lstat(full)
    if stat.S_ISDIR(st.st_mode):
        for name in sorted(os.listdir(full)):
            walk(os.path.join(rel, name) if rel else name)

walk(b'')
groups = {}
for ino, paths in inodes.items():
    paths.sort()
    for p in paths:
        groups[p] = paths[0]
for rel, parts in entries:
    if rel in groups:
        parts.append('hl=%s' % esc(groups[rel]))
    sys.stdout.write('%s %s\n' % (esc(rel) or '.', ' '.join(parts)))
