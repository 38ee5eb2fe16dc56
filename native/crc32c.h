// crc32c(crc, bytes, start, end): raw CRC32C update (Castagnoli, no final XOR: the btrfs send
// variant when crc = 0) over bytes[start, end); crc32cCommand(bytes, start, end): that CRC of a
// whole command frame with its crc field counted as zero; crc32cFrames(bytes, start, end,
// maxLen): checks every complete frame of a chunk in one call (frames only: the caller
// stops the range after an END). SSE4.2 crc32 instruction (three
// interleaved chains) when the CPU has it, checked once at load; portable slicing-by-8
// otherwise. Synchronous, on the JS thread; throw TypeError/RangeError on bad arguments.
#pragma once
#include <napi.h>

void InitCrc32c(Napi::Env env, Napi::Object exports);
