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

// The byte range named by the (bytes, start, end) arguments at info[i..i+2]: a Uint8Array and a
// range inside it, else a TypeError or RangeError is thrown.
struct Range {
  const uint8_t* data;
  size_t start, end;
};

Range ByteRange(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "crc32c: expected a Uint8Array");
  }
  if (!info[i + 1].IsNumber() || !info[i + 2].IsNumber()) throw Napi::TypeError::New(env, "crc32c: start and end must be numbers");
  auto bytes = info[i].As<Napi::Uint8Array>();
  int64_t s = info[i + 1].As<Napi::Number>().Int64Value();
  int64_t e = info[i + 2].As<Napi::Number>().Int64Value();
  if (s < 0 || e < s || static_cast<uint64_t>(e) > bytes.ElementLength()) {
    throw Napi::RangeError::New(env, "crc32c: range outside the array");
  }
  return {bytes.Data(), static_cast<size_t>(s), static_cast<size_t>(e)};
}

// Throws a TypeError showing `usage` when fewer than `n` arguments were passed.
void Args(const Napi::CallbackInfo& info, size_t n, const char* usage) {
  if (info.Length() < n) throw Napi::TypeError::New(info.Env(), usage);
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
Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  Args(info, 4, "crc32c(crc, Uint8Array, start, end)");
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "crc32c: crc must be a number");
  uint32_t crc = info[0].As<Napi::Number>().Uint32Value();
  Range r = ByteRange(info, 1);
  return Napi::Number::New(info.Env(), update(crc, r.data + r.start, r.end - r.start));
}

// crc32cCommand(bytes, start, end) -> number: the send-stream CRC of the command frame
// bytes[start, end), whose 4-byte crc field (at +6) counts as zero. One call per command.
Napi::Value Crc32cCommand(const Napi::CallbackInfo& info) {
  Args(info, 3, "crc32cCommand(Uint8Array, start, end)");
  Range r = ByteRange(info, 0);
  if (r.end - r.start < 10) throw Napi::RangeError::New(info.Env(), "crc32cCommand: a command frame has at least 10 bytes");
  return Napi::Number::New(info.Env(), FrameCrc(r.data + r.start, r.end - r.start - 10));
}

// crc32cFrames(bytes, start, end, maxLen) -> number: checks the CRC of every complete command
// frame from `start`, in order, without crossing `end`. Stops before a frame whose len exceeds
// maxLen and at the first incomplete frame; which command a frame holds is not looked at (the
// caller ends the range where a stream header follows). Returns the offset where it stopped
// with all frames before it verified, or -(q + 1) when the frame at q fails its CRC. One call
// per chunk instead of one per command.
Napi::Value Crc32cFrames(const Napi::CallbackInfo& info) {
  Args(info, 4, "crc32cFrames(Uint8Array, start, end, maxLen)");
  Range r = ByteRange(info, 0);
  if (!info[3].IsNumber()) throw Napi::TypeError::New(info.Env(), "crc32cFrames: maxLen must be a number");
  int64_t maxLen = info[3].As<Napi::Number>().Int64Value();
  size_t q = r.start;
  bool bad = false;
  while (r.end - q >= 10) {
    const uint8_t* f = r.data + q;
    uint32_t len = uint32_t(f[0]) | uint32_t(f[1]) << 8 | uint32_t(f[2]) << 16 | uint32_t(f[3]) << 24;
    if (static_cast<int64_t>(len) > maxLen || r.end - q - 10 < len) break;
    uint32_t stored = uint32_t(f[6]) | uint32_t(f[7]) << 8 | uint32_t(f[8]) << 16 | uint32_t(f[9]) << 24;
    if (FrameCrc(f, len) != stored) {
      bad = true;
      break;
    }
    q += 10 + size_t(len);
  }
  return Napi::Number::New(info.Env(), bad ? -static_cast<double>(q) - 1 : static_cast<double>(q));
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
  exports.Set("crc32c", Napi::Function::New<Crc32c>(env, "crc32c"));
  exports.Set("crc32cCommand", Napi::Function::New<Crc32cCommand>(env, "crc32cCommand"));
  exports.Set("crc32cFrames", Napi::Function::New<Crc32cFrames>(env, "crc32cFrames"));
}
