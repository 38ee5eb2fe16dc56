# Filesystem operations the scenario builders need and neither Node's fs nor the installed tools
# offer: FICLONERANGE within or across files, nanosecond (and pre-1970) times without following
# symlinks, raw xattrs (also on symlinks and POSIX ACL blobs), and unix sockets.
# usage: fsutil.py OP ARGS... (several ops may be chained with ';' as separate arguments)
import fcntl, os, socket, struct, sys

FICLONERANGE = 0x4020940d

def clone(src, src_off, length, dst, dst_off):
    s = os.open(src, os.O_RDONLY)
    d = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
    fcntl.ioctl(d, FICLONERANGE, struct.pack('qQQQ', s, int(src_off), int(length), int(dst_off)))
    os.close(s)
    os.close(d)

def acl(path, kind, uid):
    # POSIX ACL xattr blob: le32 version 2, then (le16 tag, le16 perm, le32 id) entries.
    e = lambda tag, perm, id_: struct.pack('<HHI', tag, perm, id_ & 0xffffffff)
    blob = struct.pack('<I', 2) + e(1, 7, -1) + e(2, 6, int(uid)) + e(4, 5, -1) + e(0x10, 7, -1) + e(0x20, 4, -1)
    os.setxattr(path, 'system.posix_acl_' + kind, blob, follow_symlinks=False)

def run(op, args):
    if op == 'clone':
        clone(*args)
    elif op == 'utime':
        path, at, mt = args
        os.utime(path, ns=(int(at), int(mt)), follow_symlinks=False)
    elif op == 'setxattr':
        path, name, hexval = args
        os.setxattr(path, name, bytes.fromhex(hexval), follow_symlinks=False)
    elif op == 'acl':
        acl(*args)
    elif op == 'sock':
        s = socket.socket(socket.AF_UNIX)
        s.bind(args[0])
        s.close()
    elif op == 'write':
        path, off, hexval = args
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.pwrite(fd, bytes.fromhex(hexval), int(off))
        os.close(fd)
    else:
        raise SystemExit('unknown op ' + op)

argv = [os.fsencode(a) if False else a for a in sys.argv[1:]]
cmd = []
for a in argv + [';']:
    if a == ';':
        if cmd:
            run(cmd[0], cmd[1:])
        cmd = []
    else:
        cmd.append(a)
