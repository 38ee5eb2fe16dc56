// See pool_call.h.
#include "pool_call.h"

#include "errno_error.h"

void PoolCall::OnOK() {
  Napi::Env env = Env();
  if (err_ != 0) {
    deferred_.Reject(ErrnoError(env, err_, syscall_.c_str(), ioctl_.empty() ? nullptr : ioctl_.c_str()).Value());
    return;
  }
  try {
    deferred_.Resolve(done_(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}
