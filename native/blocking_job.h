// A blocking kernel call run on its own std::thread (never the libuv pool), with every signal
// blocked except the wake signal, so a stray signal cannot restart BTRFS_IOC_SEND mid-stream.
// Completion reaches JS once, through a ThreadSafeFunction: callback(errnoOrZero, bytes).
// interrupt() sends the wake signal (installed without SA_RESTART) so the blocked syscall
// returns EINTR; the env cleanup hook interrupts and joins every live job before teardown.
#pragma once
#include <napi.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

struct JobState {
  // Runs on the job thread; returns 0 or an errno, may add to bytes.
  std::function<int(JobState&)> work;
  std::thread thread;
  pthread_t tid{};
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  std::atomic<bool> interrupted{false};
  int err = 0;
  std::atomic<uint64_t> bytes{0};
  Napi::ThreadSafeFunction tsfn;
  bool completed = false;  // main thread only: the JS callback has run
};

class Job : public Napi::ObjectWrap<Job> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Starts work on a new thread and returns the JS handle (an instance of Job).
  static Napi::Value Start(Napi::Env env, Napi::Function callback, std::function<int(JobState&)> work);
  explicit Job(const Napi::CallbackInfo& info);

 private:
  Napi::Value Interrupt(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Bytes(const Napi::CallbackInfo& info);
  std::shared_ptr<JobState> state_;
};

// Registers the wake-signal handler and the env cleanup hook; called once from module init.
void InitJobs(Napi::Env env, Napi::Object exports);
