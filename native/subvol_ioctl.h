// One function per btrfs subvolume ioctl (create, snapshot, destroy, flags, info, lookup, tree
// search, received-subvol). Each returns a Promise settled from the libuv pool; arguments are
// copied into plain structs on the JS thread. Paths are never joined here: callers pass fds.
#pragma once
#include <napi.h>

void InitSubvolIoctls(Napi::Env env, Napi::Object exports);
