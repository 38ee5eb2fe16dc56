{
  "targets": [
    {
      "target_name": "btrfs_stream",
      "sources": [
        "native/binding.cc",
        "native/blocking_job.cc",
        "native/crc32c.cc",
        "native/data_ioctl.cc",
        "native/errno_error.cc",
        "native/fsops.cc",
        "native/op_queue.cc",
        "native/pool_call.cc",
        "native/send_job.cc",
        "native/subvol_ioctl.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
