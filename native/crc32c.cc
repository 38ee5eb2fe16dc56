// See crc32c.h. The instruction path must give exactly what lib/stream/crc32c.ts computes; the
// test suite compares both on random inputs.
#include "crc32c.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

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
__attribute__((target("sse4.2"))) uint32_t UpdateSse42(uint32_t c, const uint8_t* p, size_t n) {
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
#endif

using UpdateFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);
UpdateFn update = UpdatePortable;

Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[1].IsTypedArray()) {
    throw Napi::TypeError::New(env, "crc32c(crc, Uint8Array, start, end)");
  }
  uint32_t crc = info[0].As<Napi::Number>().Uint32Value();
  Napi::TypedArray arr = info[1].As<Napi::TypedArray>();
  if (arr.TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "crc32c: expected a Uint8Array");
  Napi::Uint8Array bytes = arr.As<Napi::Uint8Array>();
  int64_t start = info[2].As<Napi::Number>().Int64Value();
  int64_t end = info[3].As<Napi::Number>().Int64Value();
  if (start < 0 || end < start || static_cast<uint64_t>(end) > bytes.ElementLength()) {
    throw Napi::RangeError::New(env, "crc32c: range outside the array");
  }
  uint32_t r = update(crc, bytes.Data() + start, static_cast<size_t>(end - start));
  return Napi::Number::New(env, r);
}

Napi::Value Crc32cImpl(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), update == UpdatePortable ? "portable" : "sse4.2");
}

}  // namespace

void InitCrc32c(Napi::Env env, Napi::Object exports) {
  BuildTable();
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) update = UpdateSse42;
#endif
  exports.Set("crc32c", Napi::Function::New(env, Crc32c, "crc32c"));
  exports.Set("crc32cImpl", Napi::Function::New(env, Crc32cImpl, "crc32cImpl"));
}
