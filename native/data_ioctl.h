// Synchronous data-plane ioctls of a receiver: FICLONERANGE, BTRFS_IOC_ENCODED_WRITE,
// FS_IOC_GETFLAGS/SETFLAGS and FS_IOC_ENABLE_VERITY. One ioctl per function; struct sizes are
// asserted against the uapi headers. Called from the receiver's worker thread; throw
// { errno, syscall: 'ioctl', ioctl } on failure.
#pragma once
#include <napi.h>

void InitDataIoctls(Napi::Env env, Napi::Object exports);
