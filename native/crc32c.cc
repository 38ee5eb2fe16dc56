// See crc32c.h. The instruction path must give exactly what lib/stream/crc32c.ts computes; the
// test suite compares both on random inputs.
#include "crc32c.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace {

uint32_t table[8][256];

void BuildTable() {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++) {
    for (int k = 1; k < 8; k++) table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
  }
}

uint32_t UpdatePortable(uint32_t c, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + 4, 4);
    a ^= c;  // little-endian hosts only (x86_64, arm64le): btrfs is too
    c = table[7][a & 0xff] ^ table[6][(a >> 8) & 0xff] ^ table[5][(a >> 16) & 0xff] ^ table[4][a >> 24] ^
        table[3][b & 0xff] ^ table[2][(b >> 8) & 0xff] ^ table[1][(b >> 16) & 0xff] ^ table[0][b >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
  return c;
}

#if defined(__x86_64__)
// Three independent crc32 chains hide the instruction's 3-cycle latency (it issues one per
// cycle). Each round covers 3 stripes of kStripe bytes; the chains are joined by the linear
// "append kStripe zero bytes" operator, applied with four 256-entry tables built at load.
constexpr size_t kStripe = 1024;
uint32_t shiftTable[4][256];

uint32_t ShiftStripe(uint32_t c) {
  return shiftTable[0][c & 0xff] ^ shiftTable[1][(c >> 8) & 0xff] ^ shiftTable[2][(c >> 16) & 0xff] ^
         shiftTable[3][c >> 24];
}

__attribute__((target("sse4.2"))) uint32_t UpdateSse42Serial(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c64);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

__attribute__((target("sse4.2"))) void BuildShiftTable() {
  // CRC is linear over GF(2): the operator for each input bit, then tables by byte position.
  static const uint8_t zeros[kStripe] = {};
  uint32_t basis[32];
  for (int bit = 0; bit < 32; bit++) basis[bit] = UpdateSse42Serial(1u << bit, zeros, kStripe);
  for (int k = 0; k < 4; k++) {
    for (uint32_t b = 0; b < 256; b++) {
      uint32_t v = 0;
      for (int bit = 0; bit < 8; bit++) {
        if (b & (1u << bit)) v ^= basis[8 * k + bit];
      }
      shiftTable[k][b] = v;
    }
  }
}

__attribute__((target("sse4.2"))) uint32_t UpdateSse42(uint32_t c, const uint8_t* p, size_t n) {
  while (n >= 3 * kStripe) {
    uint64_t a = c, b = 0, d = 0;
    const uint8_t* p1 = p + kStripe;
    const uint8_t* p2 = p + 2 * kStripe;
    for (size_t i = 0; i < kStripe; i += 8) {
      uint64_t va, vb, vd;
      std::memcpy(&va, p + i, 8);
      std::memcpy(&vb, p1 + i, 8);
      std::memcpy(&vd, p2 + i, 8);
      a = _mm_crc32_u64(a, va);
      b = _mm_crc32_u64(b, vb);
      d = _mm_crc32_u64(d, vd);
    }
    c = ShiftStripe(ShiftStripe(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^ static_cast<uint32_t>(d);
    p += 3 * kStripe;
    n -= 3 * kStripe;
  }
  return UpdateSse42Serial(c, p, n);
}
#endif

using UpdateFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);
UpdateFn update = UpdatePortable;

// Raw Node-API below: this runs once per stream command, and node-addon-api's wrappers would
// make several napi_get_typedarray_info calls per call. Validation stays complete.

bool ByteRange(napi_env env, napi_value arr, napi_value startV, napi_value endV, const uint8_t** data,
               size_t* start, size_t* end) {
  napi_typedarray_type type;
  size_t length = 0;
  void* base = nullptr;
  bool isTyped = false;
  if (napi_is_typedarray(env, arr, &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, arr, &type, &length, &base, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, nullptr, "crc32c: expected a Uint8Array");
    return false;
  }
  int64_t s = 0, e = 0;
  if (napi_get_value_int64(env, startV, &s) != napi_ok || napi_get_value_int64(env, endV, &e) != napi_ok) {
    napi_throw_type_error(env, nullptr, "crc32c: start and end must be numbers");
    return false;
  }
  if (s < 0 || e < s || static_cast<uint64_t>(e) > length) {
    napi_throw_range_error(env, nullptr, "crc32c: range outside the array");
    return false;
  }
  *data = static_cast<const uint8_t*>(base);
  *start = static_cast<size_t>(s);
  *end = static_cast<size_t>(e);
  return true;
}

// Fetches exactly `n` arguments into argv; false (a TypeError showing `usage` is pending) when
// fewer were passed.
bool Args(napi_env env, napi_callback_info info, size_t n, napi_value* argv, const char* usage) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= n) return true;
  napi_throw_type_error(env, nullptr, usage);
  return false;
}

// The send-stream CRC of a command frame at f with a body of bodyLen bytes: header bytes 0-5,
// the crc field (6-9) as zeros, then the body.
uint32_t FrameCrc(const uint8_t* f, size_t bodyLen) {
  static const uint8_t zeros[4] = {0, 0, 0, 0};
  uint32_t c = update(0, f, 6);
  c = update(c, zeros, 4);
  return update(c, f + 10, bodyLen);
}

// crc32c(crc, bytes, start, end) -> number
napi_value Crc32c(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "crc32c(crc, Uint8Array, start, end)")) return nullptr;
  uint32_t crc = 0;
  if (napi_get_value_uint32(env, argv[0], &crc) != napi_ok) {
    napi_throw_type_error(env, nullptr, "crc32c: crc must be a number");
    return nullptr;
  }
  const uint8_t* data;
  size_t start, end;
  if (!ByteRange(env, argv[1], argv[2], argv[3], &data, &start, &end)) return nullptr;
  napi_value result;
  napi_create_uint32(env, update(crc, data + start, end - start), &result);
  return result;
}

// crc32cCommand(bytes, start, end) -> number: the send-stream CRC of the command frame
// bytes[start, end), whose 4-byte crc field (at +6) counts as zero. One call per command.
napi_value Crc32cCommand(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv, "crc32cCommand(Uint8Array, start, end)")) return nullptr;
  const uint8_t* data;
  size_t start, end;
  if (!ByteRange(env, argv[0], argv[1], argv[2], &data, &start, &end)) return nullptr;
  if (end - start < 10) {
    napi_throw_range_error(env, nullptr, "crc32cCommand: a command frame has at least 10 bytes");
    return nullptr;
  }
  napi_value result;
  napi_create_uint32(env, FrameCrc(data + start, end - start - 10), &result);
  return result;
}

// crc32cFrames(bytes, start, end, maxLen) -> number: checks the CRC of every complete command
// frame from `start`, in order, without crossing `end`. Stops after an END frame (a stream header
// may follow), before a frame whose len exceeds maxLen, and at the first incomplete frame.
// Returns the offset where it stopped with all frames before it verified, or -(q + 1) when the
// frame at q fails its CRC. One call per chunk instead of one per command.
napi_value Crc32cFrames(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "crc32cFrames(Uint8Array, start, end, maxLen)")) return nullptr;
  const uint8_t* data;
  size_t start, end;
  if (!ByteRange(env, argv[0], argv[1], argv[2], &data, &start, &end)) return nullptr;
  int64_t maxLen = 0;
  if (napi_get_value_int64(env, argv[3], &maxLen) != napi_ok) {
    napi_throw_type_error(env, nullptr, "crc32cFrames: maxLen must be a number");
    return nullptr;
  }
  size_t q = start;
  bool bad = false;
  while (end - q >= 10) {
    const uint8_t* f = data + q;
    uint32_t len = uint32_t(f[0]) | uint32_t(f[1]) << 8 | uint32_t(f[2]) << 16 | uint32_t(f[3]) << 24;
    if (static_cast<int64_t>(len) > maxLen || end - q - 10 < len) break;
    uint32_t stored = uint32_t(f[6]) | uint32_t(f[7]) << 8 | uint32_t(f[8]) << 16 | uint32_t(f[9]) << 24;
    if (FrameCrc(f, len) != stored) {
      bad = true;
      break;
    }
    uint16_t cmd = uint16_t(f[4]) | uint16_t(f[5]) << 8;
    q += 10 + size_t(len);
    if (cmd == 21) break;
  }
  napi_value out;
  napi_create_int64(env, bad ? -static_cast<int64_t>(q) - 1 : static_cast<int64_t>(q), &out);
  return out;
}

}  // namespace

void InitCrc32c(Napi::Env env, Napi::Object exports) {
  // Once per process: worker threads load the addon again while other threads may be using the
  // tables.
  static std::once_flag tablesBuilt;
  std::call_once(tablesBuilt, [] {
    BuildTable();
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
      BuildShiftTable();
      update = UpdateSse42;
    }
#endif
  });
  napi_value fn;
  napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, Crc32c, nullptr, &fn);
  exports.Set("crc32c", Napi::Value(env, fn));
  napi_create_function(env, "crc32cCommand", NAPI_AUTO_LENGTH, Crc32cCommand, nullptr, &fn);
  exports.Set("crc32cCommand", Napi::Value(env, fn));
  napi_create_function(env, "crc32cFrames", NAPI_AUTO_LENGTH, Crc32cFrames, nullptr, &fn);
  exports.Set("crc32cFrames", Napi::Value(env, fn));
}
