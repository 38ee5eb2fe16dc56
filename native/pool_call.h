// Runs one short syscall on the libuv pool and settles a Promise: `work` runs off the JS thread
// and returns 0 or an errno; `done` builds the resolved value on the JS thread. Only for calls
// that return promptly (subvolume ioctls); the send ioctl never comes here (see blocking_job.h).
#pragma once
#include <napi.h>

#include <functional>
#include <string>

class PoolCall : public Napi::AsyncWorker {
 public:
  using Work = std::function<int()>;
  using Done = std::function<Napi::Value(Napi::Env)>;

  static Napi::Promise Run(Napi::Env env, const char* syscall, const char* ioctl, Work work, Done done) {
    auto* call = new PoolCall(env, syscall, ioctl, std::move(work), std::move(done));
    Napi::Promise promise = call->deferred_.Promise();
    call->Queue();
    return promise;
  }

 private:
  PoolCall(Napi::Env env, const char* syscall, const char* ioctl, Work work, Done done)
      : Napi::AsyncWorker(env, "btrfs-stream"),
        deferred_(Napi::Promise::Deferred::New(env)),
        syscall_(syscall),
        ioctl_(ioctl ? ioctl : ""),
        work_(std::move(work)),
        done_(std::move(done)) {}

  void Execute() override { err_ = work_(); }
  void OnOK() override;
  void OnError(const Napi::Error&) override {}

  Napi::Promise::Deferred deferred_;
  std::string syscall_;
  std::string ioctl_;
  Work work_;
  Done done_;
  int err_ = 0;
};
