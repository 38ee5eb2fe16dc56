// See blocking_job.h. Starts the threads of interruptible jobs and is the only file that touches
// signal masks (the syscall queue, op_queue.cc, runs its own thread, which is never interrupted).
#include "blocking_job.h"

#include <errno.h>
#include <signal.h>

#include <chrono>
#include <mutex>
#include <set>

namespace {

int WakeSignal() { return SIGRTMIN + 4; }

void OnWake(int) {}

struct Registry {
  std::mutex mutex;
  std::set<std::shared_ptr<JobState>> live;
  Napi::FunctionReference ctor;
};

Registry* GetRegistry(Napi::Env env) { return env.GetInstanceData<Registry>(); }

void Unregister(Napi::Env env, const std::shared_ptr<JobState>& state) {
  Registry* registry = GetRegistry(env);
  std::lock_guard<std::mutex> lock(registry->mutex);
  registry->live.erase(state);
}

// Wakes a job until its thread has left the kernel, then joins it.
void InterruptAndJoin(const std::shared_ptr<JobState>& state) {
  state->interrupted = true;
  while (!state->finished) {
    if (state->started) pthread_kill(state->tid, WakeSignal());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (state->thread.joinable()) state->thread.join();
}

void CleanupHook(Registry* registry) {
  std::set<std::shared_ptr<JobState>> live;
  {
    std::lock_guard<std::mutex> lock(registry->mutex);
    live.swap(registry->live);
  }
  for (const auto& state : live) InterruptAndJoin(state);
}

void ThreadMain(std::shared_ptr<JobState> state) {
  sigset_t mask;
  sigfillset(&mask);
  sigdelset(&mask, WakeSignal());
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  state->tid = pthread_self();
  state->started = true;
  state->err = state->interrupted ? EINTR : state->work(*state);
  state->work = nullptr;  // drop captured resources (fds are owned by the closure) now
  state->finished = true;
  state->tsfn.BlockingCall([state](Napi::Env env, Napi::Function callback) {
    // During env teardown the queue is drained with no env: JS can no longer be called, and the
    // cleanup hook has already joined this thread.
    if (env == nullptr || callback.IsEmpty()) return;
    if (state->thread.joinable()) state->thread.join();
    state->completed = true;
    Unregister(env, state);
    try {
      callback.Call({Napi::Number::New(env, state->err),
                     Napi::Number::New(env, static_cast<double>(state->bytes.load()))});
    } catch (const Napi::Error& e) {
      // A throw from the JS callback goes back to JS as an uncaught exception. During env
      // teardown calls into JS are refused: then napi_throw fails too, and nobody is left to tell.
      napi_throw(env, e.Value());
    }
  });
  state->tsfn.Release();
}

}  // namespace

Napi::Function Job::Define(Napi::Env env) {
  return DefineClass(env, "Job",
                     {InstanceMethod<&Job::Interrupt>("interrupt"), InstanceMethod<&Job::Ref>("ref"),
                      InstanceMethod<&Job::Unref>("unref"), InstanceMethod<&Job::Bytes>("bytes")});
}

Job::Job(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Job>(info) {}

Napi::Value Job::Start(Napi::Env env, Napi::Function callback, std::function<int(JobState&)> work) {
  auto state = std::make_shared<JobState>();
  state->work = std::move(work);
  state->tsfn = Napi::ThreadSafeFunction::New(env, callback, "btrfs-stream job", 0, 1);
  Registry* registry = GetRegistry(env);
  Napi::Object handle = registry->ctor.New({});
  Job::Unwrap(handle)->state_ = state;
  {
    std::lock_guard<std::mutex> lock(registry->mutex);
    registry->live.insert(state);
  }
  // Create the thread with every signal blocked so none can land before it sets its own mask.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  try {
    state->thread = std::thread(ThreadMain, state);
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    Unregister(env, state);
    state->tsfn.Release();
    throw Napi::Error::New(env, "btrfs-stream: could not start a thread");
  }
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  return handle;
}

// interrupt(): one pthread_kill of the wake signal; returns false once the job has finished.
Napi::Value Job::Interrupt(const Napi::CallbackInfo& info) {
  state_->interrupted = true;
  if (state_->finished) return Napi::Boolean::New(info.Env(), false);
  if (state_->started) pthread_kill(state_->tid, WakeSignal());
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value Job::Ref(const Napi::CallbackInfo& info) {
  if (!state_->completed) state_->tsfn.Ref(info.Env());
  return info.Env().Undefined();
}

Napi::Value Job::Unref(const Napi::CallbackInfo& info) {
  if (!state_->completed) state_->tsfn.Unref(info.Env());
  return info.Env().Undefined();
}

Napi::Value Job::Bytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(state_->bytes.load()));
}

void InitJobs(Napi::Env env, Napi::Object exports) {
  struct sigaction current {};
  sigaction(WakeSignal(), nullptr, &current);
  if (current.sa_handler == SIG_DFL) {
    struct sigaction action {};
    action.sa_handler = OnWake;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: the interrupted syscall must return EINTR
    sigaction(WakeSignal(), &action, nullptr);
  }
  auto* registry = new Registry();
  Napi::Function ctor = Job::Define(env);
  registry->ctor = Napi::Persistent(ctor);
  env.SetInstanceData<Registry>(registry);
  env.AddCleanupHook(CleanupHook, registry);
  exports.Set("Job", ctor);
}
