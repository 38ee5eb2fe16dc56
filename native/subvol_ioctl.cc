// See subvol_ioctl.h. Struct layouts come from <linux/btrfs.h>; sizes are asserted below.
#include "subvol_ioctl.h"

#include <errno.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "pool_call.h"

static_assert(sizeof(struct btrfs_ioctl_vol_args) == 4096, "vol_args");
static_assert(sizeof(struct btrfs_ioctl_vol_args_v2) == 4096, "vol_args_v2");
static_assert(sizeof(struct btrfs_ioctl_get_subvol_info_args) == 504, "get_subvol_info_args");
static_assert(sizeof(struct btrfs_ioctl_ino_lookup_args) == 4096, "ino_lookup_args");
static_assert(sizeof(struct btrfs_ioctl_search_key) == 104, "search_key");
static_assert(sizeof(struct btrfs_ioctl_search_args_v2) == 112, "search_args_v2");
static_assert(sizeof(struct btrfs_ioctl_received_subvol_args) == 200, "received_subvol_args");
static_assert(sizeof(struct btrfs_ioctl_fs_info_args) == 1024, "fs_info_args");

namespace {

int Fd(const Napi::Value& v) { return v.As<Napi::Number>().Int32Value(); }

uint64_t U64(const Napi::Value& v) {
  bool lossless = true;
  return v.As<Napi::BigInt>().Uint64Value(&lossless);
}

int IoctlErr(int fd, unsigned long request, void* arg) { return ioctl(fd, request, arg) < 0 ? errno : 0; }

Napi::Value Undefined(Napi::Env env) { return env.Undefined(); }

Napi::Value BigU64(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }

Napi::Buffer<uint8_t> Bytes(Napi::Env env, const void* data, size_t len) {
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data), len);
}

// Copies a name (Buffer) into a fixed char array; the kernel checks the content. ENAMETOOLONG
// when it does not fit with its NUL.
bool CopyName(const Napi::Value& v, char* dst, size_t cap) {
  Napi::Buffer<char> name = v.As<Napi::Buffer<char>>();
  if (name.Length() >= cap) return false;
  std::memcpy(dst, name.Data(), name.Length());
  dst[name.Length()] = '\0';
  return true;
}

Napi::Object Timespec(Napi::Env env, const struct btrfs_ioctl_timespec& ts) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("sec", BigU64(env, ts.sec));
  o.Set("nsec", Napi::Number::New(env, ts.nsec));
  return o;
}

// ioctlSubvolGetFlags(fd) -> Promise<number> (BTRFS_SUBVOL_* bits).
Napi::Value SubvolGetFlags(const Napi::CallbackInfo& info) {
  int fd = Fd(info[0]);
  auto flags = std::make_shared<uint64_t>(0);
  return PoolCall::Run(info.Env(), "ioctl", "BTRFS_IOC_SUBVOL_GETFLAGS",
                       [=] { return IoctlErr(fd, BTRFS_IOC_SUBVOL_GETFLAGS, flags.get()); },
                       [=](Napi::Env env) { return Napi::Number::New(env, static_cast<double>(*flags)); });
}

// ioctlSubvolSetFlags(fd, flags) -> Promise<void>.
Napi::Value SubvolSetFlags(const Napi::CallbackInfo& info) {
  int fd = Fd(info[0]);
  auto flags = std::make_shared<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  return PoolCall::Run(info.Env(), "ioctl", "BTRFS_IOC_SUBVOL_SETFLAGS",
                       [=] { return IoctlErr(fd, BTRFS_IOC_SUBVOL_SETFLAGS, flags.get()); }, Undefined);
}

// The three name-based subvolume ioctls share one shape: btrfs_ioctl_vol_args_v2 with a name
// (ENAMETOOLONG when it does not fit), optionally a source fd and flags, issued on dirFd.
Napi::Value VolArgsCall(const Napi::CallbackInfo& info, unsigned long request, const char* ioctl_name,
                        const Napi::Value& name, int src_fd, uint64_t flags) {
  int fd = Fd(info[0]);
  auto args = std::make_shared<btrfs_ioctl_vol_args_v2>();
  std::memset(args.get(), 0, sizeof(*args));
  args->fd = src_fd;
  args->flags = flags;
  bool fits = CopyName(name, args->name, sizeof(args->name));
  return PoolCall::Run(info.Env(), "ioctl", ioctl_name,
                       [=] { return fits ? IoctlErr(fd, request, args.get()) : ENAMETOOLONG; }, Undefined);
}

// ioctlSubvolCreate(dirFd, name: Buffer) -> Promise<void>. BTRFS_IOC_SUBVOL_CREATE_V2, flags 0.
Napi::Value SubvolCreate(const Napi::CallbackInfo& info) {
  return VolArgsCall(info, BTRFS_IOC_SUBVOL_CREATE_V2, "BTRFS_IOC_SUBVOL_CREATE_V2", info[1], 0, 0);
}

// ioctlSnapCreate(dirFd, srcFd, name: Buffer, flags) -> Promise<void>. BTRFS_IOC_SNAP_CREATE_V2.
Napi::Value SnapCreate(const Napi::CallbackInfo& info) {
  return VolArgsCall(info, BTRFS_IOC_SNAP_CREATE_V2, "BTRFS_IOC_SNAP_CREATE_V2", info[2], Fd(info[1]),
                     static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value()));
}

// ioctlSnapDestroy(dirFd, name: Buffer) -> Promise<void>. BTRFS_IOC_SNAP_DESTROY_V2 by name.
Napi::Value SnapDestroy(const Napi::CallbackInfo& info) {
  return VolArgsCall(info, BTRFS_IOC_SNAP_DESTROY_V2, "BTRFS_IOC_SNAP_DESTROY_V2", info[1], 0, 0);
}

// ioctlGetSubvolInfo(fd) -> Promise<object>: every field of btrfs_ioctl_get_subvol_info_args.
// The kernel may return 1 on success; only a negative return is an error.
Napi::Value GetSubvolInfo(const Napi::CallbackInfo& info) {
  int fd = Fd(info[0]);
  auto args = std::make_shared<btrfs_ioctl_get_subvol_info_args>();
  std::memset(args.get(), 0, sizeof(*args));
  return PoolCall::Run(
      info.Env(), "ioctl", "BTRFS_IOC_GET_SUBVOL_INFO",
      [=] { return IoctlErr(fd, BTRFS_IOC_GET_SUBVOL_INFO, args.get()); },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("treeid", BigU64(env, args->treeid));
        o.Set("name", Bytes(env, args->name, strnlen(args->name, sizeof(args->name))));
        o.Set("parentId", BigU64(env, args->parent_id));
        o.Set("dirid", BigU64(env, args->dirid));
        o.Set("generation", BigU64(env, args->generation));
        o.Set("flags", BigU64(env, args->flags));
        o.Set("uuid", Bytes(env, args->uuid, 16));
        o.Set("parentUuid", Bytes(env, args->parent_uuid, 16));
        o.Set("receivedUuid", Bytes(env, args->received_uuid, 16));
        o.Set("ctransid", BigU64(env, args->ctransid));
        o.Set("otransid", BigU64(env, args->otransid));
        o.Set("stransid", BigU64(env, args->stransid));
        o.Set("rtransid", BigU64(env, args->rtransid));
        o.Set("ctime", Timespec(env, args->ctime));
        o.Set("otime", Timespec(env, args->otime));
        o.Set("stime", Timespec(env, args->stime));
        o.Set("rtime", Timespec(env, args->rtime));
        return o;
      });
}

// ioctlInoLookup(fd, treeid: bigint, objectid: bigint) -> Promise<{ treeid: bigint, name: Buffer }>.
// objectid 256 with treeid 0 gives the fd's subvolume id (unprivileged); others need CAP_SYS_ADMIN.
Napi::Value InoLookup(const Napi::CallbackInfo& info) {
  int fd = Fd(info[0]);
  auto args = std::make_shared<btrfs_ioctl_ino_lookup_args>();
  std::memset(args.get(), 0, sizeof(*args));
  args->treeid = U64(info[1]);
  args->objectid = U64(info[2]);
  return PoolCall::Run(info.Env(), "ioctl", "BTRFS_IOC_INO_LOOKUP",
                       [=] { return IoctlErr(fd, BTRFS_IOC_INO_LOOKUP, args.get()); },
                       [=](Napi::Env env) -> Napi::Value {
                         Napi::Object o = Napi::Object::New(env);
                         o.Set("treeid", BigU64(env, args->treeid));
                         o.Set("name", Bytes(env, args->name, strnlen(args->name, sizeof(args->name))));
                         return o;
                       });
}

// ioctlTreeSearchV2(fd, key: Buffer(104, host order), bufSize) -> Promise<{ key: Buffer, items: Buffer }>.
// `key` comes back with nr_items updated; `items` holds the search headers and item data as the
// kernel wrote them (lib/subvolume/tree-search.ts decodes them). EOVERFLOW: bufSize too small.
Napi::Value TreeSearchV2(const Napi::CallbackInfo& info) {
  int fd = Fd(info[0]);
  Napi::Buffer<uint8_t> key = info[1].As<Napi::Buffer<uint8_t>>();
  size_t buf_size = info[2].As<Napi::Number>().Uint32Value();
  auto mem = std::make_shared<std::vector<uint8_t>>(sizeof(btrfs_ioctl_search_args_v2) + buf_size);
  auto* args = reinterpret_cast<btrfs_ioctl_search_args_v2*>(mem->data());
  std::memcpy(&args->key, key.Data(), std::min(key.Length(), sizeof(args->key)));
  args->buf_size = buf_size;
  return PoolCall::Run(
      info.Env(), "ioctl", "BTRFS_IOC_TREE_SEARCH_V2",
      [=] { return IoctlErr(fd, BTRFS_IOC_TREE_SEARCH_V2, mem->data()); },
      [=](Napi::Env env) -> Napi::Value {
        auto* out = reinterpret_cast<btrfs_ioctl_search_args_v2*>(mem->data());
        Napi::Object o = Napi::Object::New(env);
        o.Set("key", Bytes(env, &out->key, sizeof(out->key)));
        o.Set("items", Bytes(env, out->buf, buf_size));
        return o;
      });
}

// ioctlSetReceivedSubvol(fd, uuid: Buffer(16), stransid: bigint) -> Promise<{ rtransid, rtime }>.
// stime is left zero, as btrfs receive does. The subvolume must still be writable (EROFS).
Napi::Value SetReceivedSubvol(const Napi::CallbackInfo& info) {
  int fd = Fd(info[0]);
  auto args = std::make_shared<btrfs_ioctl_received_subvol_args>();
  std::memset(args.get(), 0, sizeof(*args));
  Napi::Buffer<uint8_t> uuid = info[1].As<Napi::Buffer<uint8_t>>();
  std::memcpy(args->uuid, uuid.Data(), std::min<size_t>(uuid.Length(), sizeof(args->uuid)));
  args->stransid = U64(info[2]);
  return PoolCall::Run(info.Env(), "ioctl", "BTRFS_IOC_SET_RECEIVED_SUBVOL",
                       [=] { return IoctlErr(fd, BTRFS_IOC_SET_RECEIVED_SUBVOL, args.get()); },
                       [=](Napi::Env env) -> Napi::Value {
                         Napi::Object o = Napi::Object::New(env);
                         o.Set("rtransid", BigU64(env, args->rtransid));
                         o.Set("rtime", Timespec(env, args->rtime));
                         return o;
                       });
}

// ioctlFsInfo(fd) -> Promise<{ fsid: Buffer, numDevices, nodesize, sectorsize }>. Unprivileged;
// the fsid is what tells two subvolumes apart as one filesystem (their st_dev differ).
Napi::Value FsInfo(const Napi::CallbackInfo& info) {
  int fd = Fd(info[0]);
  auto args = std::make_shared<btrfs_ioctl_fs_info_args>();
  std::memset(args.get(), 0, sizeof(*args));
  return PoolCall::Run(info.Env(), "ioctl", "BTRFS_IOC_FS_INFO",
                       [=] { return IoctlErr(fd, BTRFS_IOC_FS_INFO, args.get()); },
                       [=](Napi::Env env) -> Napi::Value {
                         Napi::Object o = Napi::Object::New(env);
                         o.Set("fsid", Bytes(env, args->fsid, sizeof(args->fsid)));
                         o.Set("numDevices", Napi::Number::New(env, static_cast<double>(args->num_devices)));
                         o.Set("nodesize", Napi::Number::New(env, args->nodesize));
                         o.Set("sectorsize", Napi::Number::New(env, args->sectorsize));
                         return o;
                       });
}

// The flag values the TypeScript side combines, from the uapi header (not restated in TS).
Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* k, double v) { c.Set(k, Napi::Number::New(env, v)); };
  set("SUBVOL_RDONLY", BTRFS_SUBVOL_RDONLY);
  set("SEND_FLAG_NO_FILE_DATA", BTRFS_SEND_FLAG_NO_FILE_DATA);
  set("SEND_FLAG_OMIT_STREAM_HEADER", BTRFS_SEND_FLAG_OMIT_STREAM_HEADER);
  set("SEND_FLAG_OMIT_END_CMD", BTRFS_SEND_FLAG_OMIT_END_CMD);
  set("SEND_FLAG_VERSION", BTRFS_SEND_FLAG_VERSION);
  set("SEND_FLAG_COMPRESSED", BTRFS_SEND_FLAG_COMPRESSED);
  return c;
}

}  // namespace

void InitSubvolIoctls(Napi::Env env, Napi::Object exports) {
  exports.Set("btrfsConstants", Constants(env));
  exports.Set("ioctlSubvolGetFlags", Napi::Function::New<SubvolGetFlags>(env));
  exports.Set("ioctlSubvolSetFlags", Napi::Function::New<SubvolSetFlags>(env));
  exports.Set("ioctlSubvolCreate", Napi::Function::New<SubvolCreate>(env));
  exports.Set("ioctlSnapCreate", Napi::Function::New<SnapCreate>(env));
  exports.Set("ioctlSnapDestroy", Napi::Function::New<SnapDestroy>(env));
  exports.Set("ioctlGetSubvolInfo", Napi::Function::New<GetSubvolInfo>(env));
  exports.Set("ioctlInoLookup", Napi::Function::New<InoLookup>(env));
  exports.Set("ioctlTreeSearchV2", Napi::Function::New<TreeSearchV2>(env));
  exports.Set("ioctlFsInfo", Napi::Function::New<FsInfo>(env));
  exports.Set("ioctlSetReceivedSubvol", Napi::Function::New<SetReceivedSubvol>(env));
}
