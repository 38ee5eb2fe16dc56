// The two jobs behind send(): BTRFS_IOC_SEND into a pipe, and a splice copy from that pipe into a
// caller's fd (the direct form). Plus the pipe calls they need. No policy: what to send, flags and
// protocol are decided in lib/send/.
#pragma once
#include <napi.h>

void InitSend(Napi::Env env, Napi::Object exports);
