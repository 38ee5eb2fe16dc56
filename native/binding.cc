// Module init only: registers every native function by concern. No logic lives here.
#include <napi.h>

#include "blocking_job.h"
#include "crc32c.h"
#include "data_ioctl.h"
#include "fsops.h"
#include "op_queue.h"
#include "send_job.h"
#include "subvol_ioctl.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitJobs(env, exports);
  InitSend(env, exports);
  InitSubvolIoctls(env, exports);
  InitCrc32c(env, exports);
  InitFsops(env, exports);
  InitDataIoctls(env, exports);
  InitOpQueue(env, exports);
  return exports;
}

NODE_API_MODULE(btrfs_stream, Init)
