// See send_job.h.
#include "send_job.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "blocking_job.h"
#include "errno_error.h"
#include "unique_fd.h"

static_assert(sizeof(struct btrfs_ioctl_send_args) == 72, "send args layout (64-bit)");

namespace {

// pipe2(O_CLOEXEC) -> [readFd, writeFd]. Throws errno. Main thread.
Napi::Value Pipe2(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) ThrowErrno(info.Env(), errno, "pipe2");
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, fds[0]);
  result.Set(1u, fds[1]);
  return result;
}

// fcntlSetPipeSize(fd, size) -> the capacity the kernel chose. Throws errno. Main thread.
Napi::Value FcntlSetPipeSize(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int size = info[1].As<Napi::Number>().Int32Value();
  int got = fcntl(fd, F_SETPIPE_SZ, size);
  if (got < 0) ThrowErrno(info.Env(), errno, "fcntl");
  return Napi::Number::New(info.Env(), got);
}

// startSend({ subvolFd, sendFd, cloneSources: BigUint64Array, parentRoot: bigint, flags, version },
//           callback(errno, 0)) -> Job.
// The job owns sendFd and closes it when the ioctl returns (that is the reader's EOF); subvolFd
// stays the caller's and must stay open until the callback. One BTRFS_IOC_SEND on the job thread.
Napi::Value StartSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[0].As<Napi::Object>();
  Napi::Function callback = info[1].As<Napi::Function>();
  int subvol_fd = opts.Get("subvolFd").As<Napi::Number>().Int32Value();
  auto send_fd = std::make_shared<UniqueFd>(opts.Get("sendFd").As<Napi::Number>().Int32Value());
  bool lossless = true;
  uint64_t parent_root = opts.Get("parentRoot").As<Napi::BigInt>().Uint64Value(&lossless);
  Napi::BigUint64Array sources_arr = opts.Get("cloneSources").As<Napi::BigUint64Array>();
  std::vector<__u64> sources(sources_arr.Data(), sources_arr.Data() + sources_arr.ElementLength());
  uint64_t flags = static_cast<uint64_t>(opts.Get("flags").As<Napi::Number>().Int64Value());
  uint32_t version = opts.Get("version").As<Napi::Number>().Uint32Value();

  return Job::Start(env, callback, [=](JobState&) mutable {
    struct btrfs_ioctl_send_args args;
    std::memset(&args, 0, sizeof(args));
    args.send_fd = send_fd->get();
    args.clone_sources_count = sources.size();
    args.clone_sources = sources.empty() ? nullptr : sources.data();
    args.parent_root = parent_root;
    args.flags = flags;
    args.version = version;
    int err = ioctl(subvol_fd, BTRFS_IOC_SEND, &args) < 0 ? errno : 0;
    send_fd->reset();
    return err;
  });
}

// startSplice(inFd, outFd, chunk, callback(errno, bytes)) -> Job. The job owns inFd (a pipe read
// end) and moves everything from it to outFd with splice(2) until EOF; where the kernel refuses
// to splice into outFd (EINVAL, e.g. an O_APPEND file) before any byte moved, it falls back to
// read/write. job.bytes() is the running count.
Napi::Value StartSplice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto in_fd = std::make_shared<UniqueFd>(info[0].As<Napi::Number>().Int32Value());
  int out_fd = info[1].As<Napi::Number>().Int32Value();
  size_t chunk = info[2].As<Napi::Number>().Uint32Value();
  Napi::Function callback = info[3].As<Napi::Function>();

  return Job::Start(env, callback, [=](JobState& job) mutable {
    bool use_splice = true;
    std::vector<char> buf;
    for (;;) {
      ssize_t n;
      if (use_splice) {
        n = splice(in_fd->get(), nullptr, out_fd, nullptr, chunk, SPLICE_F_MORE | SPLICE_F_MOVE);
        if (n < 0 && errno == EINVAL && job.bytes == 0) {
          use_splice = false;
          buf.resize(chunk);
          continue;
        }
      } else {
        n = read(in_fd->get(), buf.data(), buf.size());
        for (ssize_t off = 0; n > 0 && off < n;) {
          ssize_t w = write(out_fd, buf.data() + off, n - off);
          if (w < 0) {
            if (errno == EINTR && !job.interrupted) continue;
            n = -1;
            break;
          }
          off += w;
        }
      }
      if (n == 0) return 0;
      if (n < 0) {
        if (errno == EINTR && !job.interrupted) continue;
        return errno;
      }
      job.bytes += static_cast<uint64_t>(n);
    }
  });
}

}  // namespace

void InitSend(Napi::Env env, Napi::Object exports) {
  exports.Set("pipe2", Napi::Function::New<Pipe2>(env, "pipe2"));
  exports.Set("fcntlSetPipeSize", Napi::Function::New<FcntlSetPipeSize>(env, "fcntlSetPipeSize"));
  exports.Set("startSend", Napi::Function::New<StartSend>(env, "startSend"));
  exports.Set("startSplice", Napi::Function::New<StartSplice>(env, "startSplice"));
}
