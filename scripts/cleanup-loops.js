#!/usr/bin/env node
// Unmounts and detaches loopback btrfs left by killed test runs (only ours: images under a
// btrfs-stream-loop-<pid>-* temp dir whose process is gone). CI runs it before and after the tests.
'use strict'
require('./loop-btrfs.js').cleanupStale()
