// OpQueue: the receiver's syscall batches. The receiver's JS
// thread encodes the *at syscalls of its file commands into records (lib/receive/queued-ops.ts
// owns the format) and submits them in batches; one native thread issues them strictly in order,
// one syscall per record, while JS decodes and plans the next commands. There is no policy here:
// a record names its syscall and arguments, fds opened by a record go to a numbered slot that
// later records name, and the first failure stops everything after it until the JS side, which
// replays those commands synchronously, resets the queue. The record layout is exported as
// `opQueueLayout` (sizes, field offsets, opcodes), so a test holds the JS writer to it.
#pragma once
#include <napi.h>

void InitOpQueue(Napi::Env env, Napi::Object exports);
