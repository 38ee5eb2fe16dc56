// See fsops.h. Names and paths arrive as Buffers (stream paths are bytes, not UTF-8) and are
// copied into NUL-terminated strings here; a Buffer holding a NUL is refused with EINVAL, since
// the kernel would silently act on a shorter name. Syscalls newer than the uapi headers of the
// build machine (fchmodat2, setxattrat, removexattrat) are issued by number: numbers from 424 on
// are the same on every architecture.
#include "fsops.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "errno_error.h"

static_assert(sizeof(struct open_how) == 24, "open_how");

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif

namespace {

// struct xattr_args of <linux/xattr.h> (6.13); absent from older uapi headers.
struct XattrArgs {
  uint64_t value;
  uint32_t size;
  uint32_t flags;
};
static_assert(sizeof(XattrArgs) == 16, "xattr_args");

int Int(const Napi::Value& v) { return v.As<Napi::Number>().Int32Value(); }
int64_t I64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

int64_t BigI64(const Napi::Value& v) {
  bool lossless = true;
  if (v.IsBigInt()) return v.As<Napi::BigInt>().Int64Value(&lossless);
  return v.As<Napi::Number>().Int64Value();
}

// A Buffer (or string) as a NUL-terminated name; EINVAL if it holds a NUL.
std::string Name(Napi::Env env, const Napi::Value& v, const char* syscall) {
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
  std::string s(b.Data(), b.Length());
  if (s.find('\0') != std::string::npos) ThrowErrno(env, EINVAL, syscall);
  return s;
}

void Check(Napi::Env env, long ret, const char* syscall) {
  if (ret < 0) ThrowErrno(env, errno, syscall);
}

// openat2(dirfd, path, flags, mode, resolve) -> fd. O_CLOEXEC is always added. EAGAIN (a
// concurrent rename under RESOLVE_BENEATH) is returned as is: retrying is the caller's policy.
Napi::Value Openat2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = Int(info[0]);
  std::string path = Name(env, info[1], "openat2");
  struct open_how how;
  std::memset(&how, 0, sizeof(how));
  how.flags = static_cast<uint64_t>(Int(info[2])) | O_CLOEXEC;
  how.mode = static_cast<uint64_t>(Int(info[3]));
  how.resolve = static_cast<uint64_t>(Int(info[4]));
  long fd = syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof(how));
  Check(env, fd, "openat2");
  return Napi::Number::New(env, static_cast<double>(fd));
}

// mkdirat(dirfd, name, mode).
Napi::Value Mkdirat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Name(env, info[1], "mkdirat");
  Check(env, mkdirat(Int(info[0]), name.c_str(), static_cast<mode_t>(Int(info[2]))), "mkdirat");
  return env.Undefined();
}

// mknodat(dirfd, name, mode (with S_IF* type), major, minor).
Napi::Value Mknodat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Name(env, info[1], "mknodat");
  dev_t dev = makedev(info[3].As<Napi::Number>().Uint32Value(), info[4].As<Napi::Number>().Uint32Value());
  Check(env, mknodat(Int(info[0]), name.c_str(), static_cast<mode_t>(Int(info[2])), dev), "mknodat");
  return env.Undefined();
}

// symlinkat(target, dirfd, name). The target is stored verbatim, never resolved.
Napi::Value Symlinkat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target = Name(env, info[0], "symlinkat");
  std::string name = Name(env, info[2], "symlinkat");
  Check(env, symlinkat(target.c_str(), Int(info[1]), name.c_str()), "symlinkat");
  return env.Undefined();
}

// linkat(olddirfd, oldname, newdirfd, newname, flags). flags 0: an old symlink is not followed.
Napi::Value Linkat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string from = Name(env, info[1], "linkat");
  std::string to = Name(env, info[3], "linkat");
  Check(env, linkat(Int(info[0]), from.c_str(), Int(info[2]), to.c_str(), Int(info[4])), "linkat");
  return env.Undefined();
}

// renameat2(olddirfd, oldname, newdirfd, newname, flags: RENAME_NOREPLACE | RENAME_EXCHANGE).
Napi::Value Renameat2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string from = Name(env, info[1], "renameat2");
  std::string to = Name(env, info[3], "renameat2");
  Check(env, renameat2(Int(info[0]), from.c_str(), Int(info[2]), to.c_str(), static_cast<unsigned>(Int(info[4]))),
        "renameat2");
  return env.Undefined();
}

// unlinkat(dirfd, name, flags: AT_REMOVEDIR for rmdir).
Napi::Value Unlinkat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Name(env, info[1], "unlinkat");
  Check(env, unlinkat(Int(info[0]), name.c_str(), Int(info[2])), "unlinkat");
  return env.Undefined();
}

// fchownat(dirfd, name, uid, gid, flags). Use AT_SYMLINK_NOFOLLOW, or AT_EMPTY_PATH with ''.
Napi::Value Fchownat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Name(env, info[1], "fchownat");
  Check(env,
        fchownat(Int(info[0]), name.c_str(), static_cast<uid_t>(I64(info[2])), static_cast<gid_t>(I64(info[3])),
                 Int(info[4])),
        "fchownat");
  return env.Undefined();
}

// fchmodat2(dirfd, name, mode, flags): honours AT_SYMLINK_NOFOLLOW (kernel >= 6.6; ENOSYS before).
Napi::Value Fchmodat2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Name(env, info[1], "fchmodat2");
  Check(env, syscall(SYS_fchmodat2, Int(info[0]), name.c_str(), static_cast<mode_t>(Int(info[2])), Int(info[3])),
        "fchmodat2");
  return env.Undefined();
}

// utimensat(dirfd, name | null, atimeSec: bigint, atimeNsec, mtimeSec: bigint, mtimeNsec, flags).
// name null: the fd itself (futimens, the same syscall with a NULL name). Seconds are signed: pre-1970 times are negative.
Napi::Value Utimensat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool self = info[1].IsNull() || info[1].IsUndefined();
  std::string name = self ? std::string() : Name(env, info[1], "utimensat");
  struct timespec ts[2];
  ts[0].tv_sec = static_cast<time_t>(BigI64(info[2]));
  ts[0].tv_nsec = static_cast<long>(I64(info[3]));
  ts[1].tv_sec = static_cast<time_t>(BigI64(info[4]));
  ts[1].tv_nsec = static_cast<long>(I64(info[5]));
  int ret = self ? futimens(Int(info[0]), ts) : utimensat(Int(info[0]), name.c_str(), ts, Int(info[6]));
  Check(env, ret, "utimensat");
  return env.Undefined();
}

// fallocate(fd, mode, offset, len).
Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env, fallocate(Int(info[0]), Int(info[1]), I64(info[2]), I64(info[3])), "fallocate");
  return env.Undefined();
}

// pwrite(fd, bytes: Uint8Array, offset) -> bytes written (may be short; the caller loops).
Napi::Value Pwrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  ssize_t n = pwrite(Int(info[0]), data.Data(), data.ByteLength(), I64(info[2]));
  Check(env, n, "pwrite");
  return Napi::Number::New(env, static_cast<double>(n));
}

// fstatOwner(fd) -> [st_mode (type and permission bits), uid, gid]: the receiver's checks of file
// type and of whether a chown or chmod would change anything (Node's fstatSync builds Dates).
Napi::Value FstatOwner(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct stat st;
  Check(env, fstat(Int(info[0]), &st), "fstat");
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, st.st_mode));
  out.Set(1u, Napi::Number::New(env, st.st_uid));
  out.Set(2u, Napi::Number::New(env, st.st_gid));
  return out;
}

// setxattrat(dirfd, name, atFlags, xattrName, value, xattrFlags) (kernel >= 6.13; ENOSYS before).
Napi::Value Setxattrat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Name(env, info[1], "setxattrat");
  std::string xname = Name(env, info[3], "setxattrat");
  Napi::Uint8Array value = info[4].As<Napi::Uint8Array>();
  XattrArgs args;
  args.value = reinterpret_cast<uint64_t>(value.Data());
  args.size = static_cast<uint32_t>(value.ByteLength());
  args.flags = static_cast<uint32_t>(Int(info[5]));
  Check(env, syscall(SYS_setxattrat, Int(info[0]), name.c_str(), Int(info[2]), xname.c_str(), &args, sizeof(args)),
        "setxattrat");
  return env.Undefined();
}

// lsetxattr(path, xattrName, value, flags): does not follow a trailing symlink.
Napi::Value Lsetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = Name(env, info[0], "lsetxattr");
  std::string xname = Name(env, info[1], "lsetxattr");
  Napi::Uint8Array value = info[2].As<Napi::Uint8Array>();
  Check(env, lsetxattr(path.c_str(), xname.c_str(), value.Data(), value.ByteLength(), Int(info[3])), "lsetxattr");
  return env.Undefined();
}

// fsetxattr(fd, xattrName, value, flags).
Napi::Value Fsetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string xname = Name(env, info[1], "fsetxattr");
  Napi::Uint8Array value = info[2].As<Napi::Uint8Array>();
  Check(env, fsetxattr(Int(info[0]), xname.c_str(), value.Data(), value.ByteLength(), Int(info[3])), "fsetxattr");
  return env.Undefined();
}

// removexattrat(dirfd, name, atFlags, xattrName) (kernel >= 6.13; ENOSYS before).
Napi::Value Removexattrat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Name(env, info[1], "removexattrat");
  std::string xname = Name(env, info[3], "removexattrat");
  Check(env, syscall(SYS_removexattrat, Int(info[0]), name.c_str(), Int(info[2]), xname.c_str()), "removexattrat");
  return env.Undefined();
}

// lremovexattr(path, xattrName).
Napi::Value Lremovexattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = Name(env, info[0], "lremovexattr");
  std::string xname = Name(env, info[1], "lremovexattr");
  Check(env, lremovexattr(path.c_str(), xname.c_str()), "lremovexattr");
  return env.Undefined();
}

// The flag values the TypeScript side combines (from the libc and uapi headers, not restated in TS).
Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* k, double v) { c.Set(k, Napi::Number::New(env, v)); };
  set("O_RDONLY", O_RDONLY);
  set("O_WRONLY", O_WRONLY);
  set("O_RDWR", O_RDWR);
  set("O_CREAT", O_CREAT);
  set("O_EXCL", O_EXCL);
  set("O_PATH", O_PATH);
  set("O_DIRECTORY", O_DIRECTORY);
  set("O_NOFOLLOW", O_NOFOLLOW);
  set("O_NOATIME", O_NOATIME);
  set("O_NONBLOCK", O_NONBLOCK);
  set("RESOLVE_BENEATH", RESOLVE_BENEATH);
  set("RESOLVE_NO_SYMLINKS", RESOLVE_NO_SYMLINKS);
  set("RESOLVE_NO_MAGICLINKS", RESOLVE_NO_MAGICLINKS);
  set("RESOLVE_NO_XDEV", RESOLVE_NO_XDEV);
  set("AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW);
  set("AT_REMOVEDIR", AT_REMOVEDIR);
  set("AT_EMPTY_PATH", AT_EMPTY_PATH);
  set("RENAME_NOREPLACE", RENAME_NOREPLACE);
  set("RENAME_EXCHANGE", RENAME_EXCHANGE);
  set("S_IFMT", S_IFMT);
  set("S_IFREG", S_IFREG);
  set("S_IFDIR", S_IFDIR);
  set("S_IFLNK", S_IFLNK);
  set("S_IFCHR", S_IFCHR);
  set("S_IFBLK", S_IFBLK);
  set("S_IFIFO", S_IFIFO);
  set("S_IFSOCK", S_IFSOCK);
  set("UTIME_OMIT", UTIME_OMIT);
  set("FALLOC_FL_PUNCH_HOLE", FALLOC_FL_PUNCH_HOLE);
  return c;
}

}  // namespace

void InitFsops(Napi::Env env, Napi::Object exports) {
  exports.Set("openat2", Napi::Function::New<Openat2>(env));
  exports.Set("mkdirat", Napi::Function::New<Mkdirat>(env));
  exports.Set("mknodat", Napi::Function::New<Mknodat>(env));
  exports.Set("symlinkat", Napi::Function::New<Symlinkat>(env));
  exports.Set("linkat", Napi::Function::New<Linkat>(env));
  exports.Set("renameat2", Napi::Function::New<Renameat2>(env));
  exports.Set("unlinkat", Napi::Function::New<Unlinkat>(env));
  exports.Set("fchownat", Napi::Function::New<Fchownat>(env));
  exports.Set("fchmodat2", Napi::Function::New<Fchmodat2>(env));
  exports.Set("utimensat", Napi::Function::New<Utimensat>(env));
  exports.Set("fallocate", Napi::Function::New<Fallocate>(env));
  exports.Set("pwrite", Napi::Function::New<Pwrite>(env));
  exports.Set("fstatOwner", Napi::Function::New<FstatOwner>(env));
  exports.Set("setxattrat", Napi::Function::New<Setxattrat>(env));
  exports.Set("lsetxattr", Napi::Function::New<Lsetxattr>(env));
  exports.Set("fsetxattr", Napi::Function::New<Fsetxattr>(env));
  exports.Set("removexattrat", Napi::Function::New<Removexattrat>(env));
  exports.Set("lremovexattr", Napi::Function::New<Lremovexattr>(env));
  exports.Set("fsopsConstants", Constants(env));
}
