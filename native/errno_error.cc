// See errno_error.h.
#include "errno_error.h"

#include <string.h>

#include <string>

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const char* ioctl) {
  char buf[256];
  // GNU strerror_r may return a static string instead of filling buf.
  const char* text = strerror_r(err, buf, sizeof(buf));
  std::string message = std::string(ioctl ? ioctl : syscall) + ": " + text;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (ioctl) error.Set("ioctl", Napi::String::New(env, ioctl));
  return error;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* ioctl) {
  throw ErrnoError(env, err, syscall, ioctl);
}
