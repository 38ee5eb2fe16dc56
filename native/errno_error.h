// Builds the plain JS error every native failure becomes: message from strerror, plus errno
// (negative, as Node's fs does), syscall and, for ioctls, the ioctl's name. lib/errors.ts turns
// it into the public BtrfsSystemError; no errno tables live here.
#pragma once
#include <napi.h>

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const char* ioctl = nullptr);

// Throws ErrnoError as a C++ exception (node-addon-api converts it to a JS throw).
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* ioctl = nullptr);
