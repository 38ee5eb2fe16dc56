// crc32c(crc, bytes, start, end): raw CRC32C update (Castagnoli, no final XOR: the btrfs send
// variant when crc = 0) over bytes[start, end). SSE4.2 crc32 instruction when the CPU has it
// (checked once at load), portable slicing-by-8 otherwise. Synchronous, on the JS thread.
#pragma once
#include <napi.h>

void InitCrc32c(Napi::Env env, Napi::Object exports);
