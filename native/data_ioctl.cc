// See data_ioctl.h. Arguments are copied into the uapi structs on the JS (worker) thread and the
// ioctl runs right there: these calls are short, and the receiver keeps its own thread for them.
#include "data_ioctl.h"

#include <errno.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <cstring>

#include "errno_error.h"

static_assert(sizeof(struct file_clone_range) == 32, "file_clone_range");
static_assert(sizeof(struct btrfs_ioctl_encoded_io_args) == 128, "encoded_io_args");
static_assert(sizeof(struct fsverity_enable_arg) == 128, "fsverity_enable_arg");

namespace {

int Int(const Napi::Value& v) { return v.As<Napi::Number>().Int32Value(); }
int64_t I64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

// ioctlCloneRange(dstFd, srcFd, srcOffset, length, dstOffset): FICLONERANGE (= BTRFS_IOC_CLONE_RANGE).
Napi::Value CloneRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct file_clone_range args;
  std::memset(&args, 0, sizeof(args));
  args.src_fd = Int(info[1]);
  args.src_offset = static_cast<uint64_t>(I64(info[2]));
  args.src_length = static_cast<uint64_t>(I64(info[3]));
  args.dest_offset = static_cast<uint64_t>(I64(info[4]));
  if (ioctl(Int(info[0]), FICLONERANGE, &args) < 0) ThrowErrno(env, errno, "ioctl", "FICLONERANGE");
  return env.Undefined();
}

// ioctlEncodedWrite(fd, data, offset, len, unencodedLen, unencodedOffset, compression, encryption)
// -> encoded bytes written. BTRFS_IOC_ENCODED_WRITE with one iovec over `data`.
Napi::Value EncodedWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  struct iovec iov;
  iov.iov_base = data.Data();
  iov.iov_len = data.ByteLength();
  struct btrfs_ioctl_encoded_io_args args;
  std::memset(&args, 0, sizeof(args));
  args.iov = &iov;
  args.iovcnt = 1;
  args.offset = I64(info[2]);
  args.len = static_cast<uint64_t>(I64(info[3]));
  args.unencoded_len = static_cast<uint64_t>(I64(info[4]));
  args.unencoded_offset = static_cast<uint64_t>(I64(info[5]));
  args.compression = static_cast<uint32_t>(Int(info[6]));
  args.encryption = static_cast<uint32_t>(Int(info[7]));
  long n = ioctl(Int(info[0]), BTRFS_IOC_ENCODED_WRITE, &args);
  if (n < 0) ThrowErrno(env, errno, "ioctl", "BTRFS_IOC_ENCODED_WRITE");
  return Napi::Number::New(env, static_cast<double>(n));
}

// ioctlGetInodeFlags(fd) -> FS_*_FL bits (FS_IOC_GETFLAGS; the kernel reads and writes an int).
Napi::Value GetInodeFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int flags = 0;
  if (ioctl(Int(info[0]), FS_IOC_GETFLAGS, &flags) < 0) ThrowErrno(env, errno, "ioctl", "FS_IOC_GETFLAGS");
  return Napi::Number::New(env, static_cast<uint32_t>(flags));
}

// ioctlSetInodeFlags(fd, flags): FS_IOC_SETFLAGS with FS_*_FL bits.
Napi::Value SetInodeFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int flags = static_cast<int>(info[1].As<Napi::Number>().Uint32Value());
  if (ioctl(Int(info[0]), FS_IOC_SETFLAGS, &flags) < 0) ThrowErrno(env, errno, "ioctl", "FS_IOC_SETFLAGS");
  return env.Undefined();
}

// ioctlEnableVerity(fd, algorithm, blockSize, salt, signature): FS_IOC_ENABLE_VERITY, version 1.
// The fd must be read-only and no writable fd may be open on the inode (ETXTBSY otherwise).
Napi::Value EnableVerity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array salt = info[3].As<Napi::Uint8Array>();
  Napi::Uint8Array sig = info[4].As<Napi::Uint8Array>();
  struct fsverity_enable_arg args;
  std::memset(&args, 0, sizeof(args));
  args.version = 1;
  args.hash_algorithm = static_cast<uint32_t>(Int(info[1]));
  args.block_size = static_cast<uint32_t>(Int(info[2]));
  args.salt_size = static_cast<uint32_t>(salt.ByteLength());
  args.salt_ptr = salt.ByteLength() ? reinterpret_cast<uint64_t>(salt.Data()) : 0;
  args.sig_size = static_cast<uint32_t>(sig.ByteLength());
  args.sig_ptr = sig.ByteLength() ? reinterpret_cast<uint64_t>(sig.Data()) : 0;
  if (ioctl(Int(info[0]), FS_IOC_ENABLE_VERITY, &args) < 0) ThrowErrno(env, errno, "ioctl", "FS_IOC_ENABLE_VERITY");
  return env.Undefined();
}

}  // namespace

void InitDataIoctls(Napi::Env env, Napi::Object exports) {
  exports.Set("ioctlCloneRange", Napi::Function::New<CloneRange>(env));
  exports.Set("ioctlEncodedWrite", Napi::Function::New<EncodedWrite>(env));
  exports.Set("ioctlGetInodeFlags", Napi::Function::New<GetInodeFlags>(env));
  exports.Set("ioctlSetInodeFlags", Napi::Function::New<SetInodeFlags>(env));
  exports.Set("ioctlEnableVerity", Napi::Function::New<EnableVerity>(env));
}
