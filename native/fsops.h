// Synchronous *at syscalls the receiver needs and Node's fs lacks: openat2 (confined resolution),
// mkdirat, mknodat, symlinkat, linkat, renameat2, unlinkat, fchownat, fchmodat2, utimensat (ns),
// fallocate and the xattr family. One syscall per function, no policy, no path joining: callers
// pass fds and single names. They run on the calling JS thread (the receiver calls them from its
// worker_thread) and throw { errno, syscall } on failure.
#pragma once
#include <napi.h>

void InitFsops(Napi::Env env, Napi::Object exports);
