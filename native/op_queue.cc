// See op_queue.h. Record layout (little-endian, 8-byte aligned; written by queued-ops.ts):
//   u32 code, u32 tag, i32 fdA, i32 fdB, i32 flags, i32 mode, i32 outSlot,
//   u32 nameALen, u32 nameBLen, u32 dataIndex, u32 dataCount, u32 pad, i64 n0..n3,
//   then nameA and nameB, each followed by a NUL, padded to 8.
// An fd field >= kSlotBase names slot (fd - kSlotBase); other values (real fds, AT_FDCWD) pass
// through. Name lengths of kNoName mean a NULL pointer (utimensat on the fd itself).
#include "op_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

namespace {

constexpr int32_t kSlotBase = 0x40000000;
constexpr uint32_t kNoName = 0xffffffff;
constexpr int kSlots = 4096;

// Record codes (exported in opQueueLayout.codes; queued-ops.ts writes them).
enum Code : uint32_t {
  kOpenat2 = 1,     // openat2(fdA, nameA, {flags|O_CLOEXEC, mode, resolve: n0}) -> outSlot
  kReopen = 2,      // open("/proc/self/fd/<fdA>", flags|O_CLOEXEC) -> outSlot
  kRequireType = 3, // fstat(fdA); fails (EINVAL) unless (st_mode & S_IFMT) == mode
  kClose = 4,       // close(fdA); errors ignored (the fd is gone either way)
  kMkdirat = 5,     // mkdirat(fdA, nameA, mode)
  kMknodat = 6,     // mknodat(fdA, nameA, mode, makedev(major n0, minor n1))
  kSymlinkat = 7,   // symlinkat(nameB, fdA, nameA)
  kLinkat = 8,      // linkat(fdA, nameA, fdB, nameB, flags)
  kRenameat2 = 9,   // renameat2(fdA, nameA, fdB, nameB, flags)
  kUnlinkat = 10,   // unlinkat(fdA, nameA, flags)
  kFchownat = 11,   // fchownat(fdA, nameA, uid n0, gid n1, flags)
  kFchmodat2 = 12,  // fchmodat2(fdA, nameA, mode, flags)
  kFchmod = 13,     // fchmod(fdA, mode)
  kUtimensat = 14,  // utimensat(fdA, nameA|NULL, {n0,n1},{n2,n3}, flags)
  kPwritev = 15,    // pwritev(fdA, data[dataIndex, +dataCount), offset n0); a short write fails (EIO)
  kFtruncate = 16,  // ftruncate(fdA, n0)
  // BTRFS_IOC_ENCODED_WRITE on fdA of data[dataIndex]: offset n0, len n1, unencoded_len n2,
  // unencoded_offset n3, compression flags, encryption mode
  kEncodedWrite = 17,
};

struct Header {
  uint32_t code, tag;
  int32_t fdA, fdB, flags, mode, outSlot;
  uint32_t nameALen, nameBLen, dataIndex, dataCount, pad;
  int64_t n0, n1, n2, n3;
};
static_assert(sizeof(Header) == 80, "record header");

struct Batch {
  std::vector<uint8_t> records;
  // Data ranges (pwrite payloads), pointing into JS buffers the queue holds references to (pins_).
  std::vector<struct iovec> data;
};

size_t Pad8(size_t n) { return (n + 7) & ~static_cast<size_t>(7); }

class OpQueue : public Napi::ObjectWrap<OpQueue> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "OpQueue",
                       {InstanceMethod<&OpQueue::Submit>("submit"), InstanceMethod<&OpQueue::Wait>("wait"),
                        InstanceMethod<&OpQueue::WaitBelow>("waitBelow"),
                        InstanceMethod<&OpQueue::DoneBelow>("doneBelow"),
                        InstanceMethod<&OpQueue::Fd>("fd"), InstanceMethod<&OpQueue::Reset>("reset"),
                        InstanceMethod<&OpQueue::Close>("close")});
  }

  explicit OpQueue(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OpQueue>(info), env_(info.Env()), slots_(kSlots, -1) {
    thread_ = std::thread([this] { Run(); });
    // A worker torn down mid-queue frees its buffers after its cleanup hooks ran: stop the thread
    // there, so no record runs on memory that is gone.
    hooked_ = napi_add_env_cleanup_hook(env_, &OpQueue::OnEnvCleanup, this) == napi_ok;
  }

  ~OpQueue() override {
    if (hooked_) napi_remove_env_cleanup_hook(env_, &OpQueue::OnEnvCleanup, this);
    Abandon();
  }

 private:
  // submit(records: Uint8Array, length, data: Uint8Array[]): copies the records, keeps pointers
  // to the data, and hands the batch to the thread.
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto records = info[0].As<Napi::Uint8Array>();
    size_t length = info[1].As<Napi::Number>().Uint32Value();
    if (length > records.ByteLength()) {
      Napi::RangeError::New(env, "OpQueue.submit: length beyond the records buffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Batch batch;
    batch.records.assign(records.Data(), records.Data() + length);
    auto data = info[2].As<Napi::Array>();
    batch.data.reserve(data.Length());
    for (uint32_t i = 0; i < data.Length(); i++) {
      auto d = data.Get(i).As<Napi::Uint8Array>();
      batch.data.push_back({d.Data(), d.ByteLength()});
      // Held until the queue is idle again, whatever the JS side does with its own references.
      pins_.push_back(Napi::Persistent(d));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      batches_.push_back(std::move(batch));
    }
    work_.notify_one();
    return env.Undefined();
  }

  // wait(): blocks until every submitted record ran or was skipped. Returns undefined, or
  // [tag, errno] of the first failure (kept until reset()).
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return batches_.empty() && !busy_; });
    pins_.clear();
    return Failure(env);
  }

  // With mu_ held: undefined, or [tag, -errno] of the first failure.
  Napi::Value Failure(Napi::Env env) {
    if (!failed_) return env.Undefined();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::Number::New(env, failTag_));
    out.Set(1u, Napi::Number::New(env, -failErrno_));
    return out;
  }

  // waitBelow(tag): blocks until every record tagged below `tag` ran (or the queue is idle, or
  // a record failed). Returns undefined, or [tag, errno] of the first failure.
  Napi::Value WaitBelow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t tag = info[0].As<Napi::Number>().Uint32Value();
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this, tag] { return failed_ || (batches_.empty() && !busy_) || doneBelow_.load() >= tag; });
    if (batches_.empty() && !busy_) pins_.clear();
    return Failure(env);
  }

  // doneBelow(): every record tagged below this has run (a snapshot; no waiting).
  Napi::Value DoneBelow(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), doneBelow_.load());
  }

  // fd(slot): the fd a slot holds (-1 when empty). Only meaningful after wait().
  Napi::Value Fd(const Napi::CallbackInfo& info) {
    int slot = info[0].As<Napi::Number>().Int32Value();
    std::lock_guard<std::mutex> lock(mu_);
    int fd = slot >= 0 && slot < kSlots ? slots_[slot] : -1;
    return Napi::Number::New(info.Env(), fd);
  }

  // reset(): after wait(), closes every fd still in a slot and forgets a failure.
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return batches_.empty() && !busy_; });
    pins_.clear();
    CloseSlots();
    failed_ = false;
    doneBelow_.store(0);
    return info.Env().Undefined();
  }

  // close(): stops the thread (after the submitted records) and closes every slot.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    work_.notify_one();
    if (thread_.joinable()) thread_.join();
    CloseSlots();
    pins_.clear();
  }

  // Teardown: drops the batches not yet started and the rest of the running one (the record
  // being run finishes), then stops.
  void Abandon() {
    abandoned_.store(true);
    {
      std::lock_guard<std::mutex> lock(mu_);
      batches_.clear();
    }
    Stop();
  }

  static void OnEnvCleanup(void* self) {
    auto* queue = static_cast<OpQueue*>(self);
    queue->hooked_ = false;
    queue->Abandon();
  }

  void CloseSlots() {
    for (int& fd : slots_) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
  }

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_.wait(lock, [this] { return stop_ || !batches_.empty(); });
      if (batches_.empty()) break;  // stop_ with nothing left
      Batch batch = std::move(batches_.front());
      batches_.pop_front();
      busy_ = true;
      bool skip = failed_;
      lock.unlock();
      uint32_t tag = 0;
      int err = skip ? 0 : RunBatch(batch, &tag);
      lock.lock();
      if (err != 0) {
        failed_ = true;
        failTag_ = tag;
        failErrno_ = err;
      } else if (!skip) {
        // Tags never decrease along the queue: all records tagged below the last one have run.
        doneBelow_.store(tag);
      }
      busy_ = false;
      idle_.notify_all();
    }
    busy_ = false;
    idle_.notify_all();
  }

  int Resolve(int32_t v) const { return v >= kSlotBase && v < kSlotBase + kSlots ? slots_[v - kSlotBase] : v; }

  // Runs records in order; returns 0 (the last record's tag in *tag), or the errno of the first
  // failure (its tag in *tag).
  int RunBatch(const Batch& batch, uint32_t* tag) {
    const uint8_t* p = batch.records.data();
    const uint8_t* end = p + batch.records.size();
    while (p + sizeof(Header) <= end && !abandoned_.load()) {
      Header h;
      std::memcpy(&h, p, sizeof(h));
      const char* nameA = reinterpret_cast<const char*>(p + sizeof(Header));
      const char* nameB = nameA + (h.nameALen == kNoName ? 0 : h.nameALen + 1);
      size_t size = sizeof(Header) + Pad8((h.nameALen == kNoName ? 0 : h.nameALen + 1) + (h.nameBLen == kNoName ? 0 : h.nameBLen + 1));
      if (h.nameALen == kNoName) nameA = nullptr;
      if (h.nameBLen == kNoName) nameB = nullptr;
      p += size;
      *tag = h.tag;
      int err = RunOne(h, nameA, nameB, batch);
      if (err != 0) return err;
    }
    return 0;
  }

  int RunOne(const Header& h, const char* nameA, const char* nameB, const Batch& batch) {
    long r = 0;
    switch (h.code) {
      case kOpenat2: {
        struct open_how how;
        std::memset(&how, 0, sizeof(how));
        how.flags = static_cast<uint64_t>(static_cast<uint32_t>(h.flags)) | O_CLOEXEC;
        how.mode = static_cast<uint64_t>(h.mode);
        how.resolve = static_cast<uint64_t>(h.n0);
        r = syscall(SYS_openat2, Resolve(h.fdA), nameA, &how, sizeof(how));
        return Store(h, r);
      }
      case kReopen: {
        char path[48];
        std::snprintf(path, sizeof(path), "/proc/self/fd/%d", Resolve(h.fdA));
        r = open(path, h.flags | O_CLOEXEC);
        return Store(h, r);
      }
      case kRequireType: {
        struct stat st;
        if (fstat(Resolve(h.fdA), &st) < 0) return errno;
        return (st.st_mode & S_IFMT) == static_cast<mode_t>(h.mode) ? 0 : EINVAL;
      }
      case kClose: {
        int fd = Resolve(h.fdA);
        if (fd >= 0) close(fd);
        if (h.fdA >= kSlotBase && h.fdA < kSlotBase + kSlots) slots_[h.fdA - kSlotBase] = -1;
        return 0;
      }
      case kMkdirat:
        r = mkdirat(Resolve(h.fdA), nameA, static_cast<mode_t>(h.mode));
        break;
      case kMknodat:
        r = mknodat(Resolve(h.fdA), nameA, static_cast<mode_t>(h.mode),
                    makedev(static_cast<unsigned int>(h.n0), static_cast<unsigned int>(h.n1)));
        break;
      case kSymlinkat:
        r = symlinkat(nameB, Resolve(h.fdA), nameA);
        break;
      case kLinkat:
        r = linkat(Resolve(h.fdA), nameA, Resolve(h.fdB), nameB, h.flags);
        break;
      case kRenameat2:
        r = renameat2(Resolve(h.fdA), nameA, Resolve(h.fdB), nameB, static_cast<unsigned int>(h.flags));
        break;
      case kUnlinkat:
        r = unlinkat(Resolve(h.fdA), nameA, h.flags);
        break;
      case kFchownat:
        r = fchownat(Resolve(h.fdA), nameA, static_cast<uid_t>(h.n0), static_cast<gid_t>(h.n1), h.flags);
        break;
      case kFchmodat2:
        r = syscall(SYS_fchmodat2, Resolve(h.fdA), nameA, static_cast<mode_t>(h.mode), h.flags);
        break;
      case kFchmod:
        r = fchmod(Resolve(h.fdA), static_cast<mode_t>(h.mode));
        break;
      case kUtimensat: {
        struct timespec ts[2];
        ts[0].tv_sec = static_cast<time_t>(h.n0);
        ts[0].tv_nsec = static_cast<long>(h.n1);
        ts[1].tv_sec = static_cast<time_t>(h.n2);
        ts[1].tv_nsec = static_cast<long>(h.n3);
        r = nameA == nullptr ? futimens(Resolve(h.fdA), ts) : utimensat(Resolve(h.fdA), nameA, ts, h.flags);
        break;
      }
      case kPwritev: {
        if (h.dataIndex + static_cast<size_t>(h.dataCount) > batch.data.size()) return EINVAL;
        const struct iovec* iov = batch.data.data() + h.dataIndex;
        size_t total = 0;
        for (uint32_t i = 0; i < h.dataCount; i++) total += iov[i].iov_len;
        r = pwritev(Resolve(h.fdA), iov, static_cast<int>(h.dataCount), h.n0);
        if (r >= 0 && static_cast<size_t>(r) != total) return EIO;  // short: the JS replay loops
        break;
      }
      case kFtruncate:
        r = ftruncate(Resolve(h.fdA), h.n0);
        break;
      case kEncodedWrite: {
        if (h.dataIndex >= batch.data.size()) return EINVAL;
        struct iovec iov = batch.data[h.dataIndex];
        struct btrfs_ioctl_encoded_io_args args;
        std::memset(&args, 0, sizeof(args));
        args.iov = &iov;
        args.iovcnt = 1;
        args.offset = h.n0;
        args.len = static_cast<uint64_t>(h.n1);
        args.unencoded_len = static_cast<uint64_t>(h.n2);
        args.unencoded_offset = static_cast<uint64_t>(h.n3);
        args.compression = static_cast<uint32_t>(h.flags);
        args.encryption = static_cast<uint32_t>(h.mode);
        r = ioctl(Resolve(h.fdA), BTRFS_IOC_ENCODED_WRITE, &args);
        break;
      }
      default:
        return ENOSYS;
    }
    return r < 0 ? errno : 0;
  }

  int Store(const Header& h, long fd) {
    if (fd < 0) return errno;
    if (h.outSlot < 0 || h.outSlot >= kSlots) {
      close(static_cast<int>(fd));
      return EBADF;
    }
    if (slots_[h.outSlot] >= 0) close(slots_[h.outSlot]);
    slots_[h.outSlot] = static_cast<int>(fd);
    return 0;
  }

  napi_env env_;
  bool hooked_ = false;
  // References to every data buffer of submitted batches; touched on the JS thread only.
  std::vector<Napi::Reference<Napi::Uint8Array>> pins_;
  std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable idle_;
  std::deque<Batch> batches_;
  bool busy_ = false;
  bool stop_ = false;
  bool failed_ = false;
  uint32_t failTag_ = 0;
  int failErrno_ = 0;
  std::atomic<uint32_t> doneBelow_{0};
  std::atomic<bool> abandoned_{false};
  // Written by the thread while it runs records, read by JS only after wait() (idle).
  std::vector<int> slots_;
  std::thread thread_;
};

// The record layout as data: what queued-ops.ts must write (checked by a test).
Napi::Object Layout(Napi::Env env) {
  Napi::Object layout = Napi::Object::New(env);
  auto num = [&](Napi::Object o, const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
  num(layout, "headerSize", sizeof(Header));
  num(layout, "align", 8);
  num(layout, "slotBase", kSlotBase);
  num(layout, "slots", kSlots);
  num(layout, "noName", kNoName);
  Napi::Object off = Napi::Object::New(env);
  num(off, "code", offsetof(Header, code));
  num(off, "tag", offsetof(Header, tag));
  num(off, "fdA", offsetof(Header, fdA));
  num(off, "fdB", offsetof(Header, fdB));
  num(off, "flags", offsetof(Header, flags));
  num(off, "mode", offsetof(Header, mode));
  num(off, "outSlot", offsetof(Header, outSlot));
  num(off, "nameALen", offsetof(Header, nameALen));
  num(off, "nameBLen", offsetof(Header, nameBLen));
  num(off, "dataIndex", offsetof(Header, dataIndex));
  num(off, "dataCount", offsetof(Header, dataCount));
  num(off, "n0", offsetof(Header, n0));
  num(off, "n1", offsetof(Header, n1));
  num(off, "n2", offsetof(Header, n2));
  num(off, "n3", offsetof(Header, n3));
  layout.Set("offsets", off);
  Napi::Object codes = Napi::Object::New(env);
  num(codes, "openat2", kOpenat2);
  num(codes, "reopen", kReopen);
  num(codes, "requireType", kRequireType);
  num(codes, "close", kClose);
  num(codes, "mkdirat", kMkdirat);
  num(codes, "mknodat", kMknodat);
  num(codes, "symlinkat", kSymlinkat);
  num(codes, "linkat", kLinkat);
  num(codes, "renameat2", kRenameat2);
  num(codes, "unlinkat", kUnlinkat);
  num(codes, "fchownat", kFchownat);
  num(codes, "fchmodat2", kFchmodat2);
  num(codes, "fchmod", kFchmod);
  num(codes, "utimensat", kUtimensat);
  num(codes, "pwritev", kPwritev);
  num(codes, "ftruncate", kFtruncate);
  num(codes, "encodedWrite", kEncodedWrite);
  layout.Set("codes", codes);
  return layout;
}

}  // namespace

void InitOpQueue(Napi::Env env, Napi::Object exports) {
  exports.Set("OpQueue", OpQueue::Define(env));
  exports.Set("opQueueLayout", Layout(env));
}
