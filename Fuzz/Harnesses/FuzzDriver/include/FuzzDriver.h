// libFuzzer's driver, for harnesses that SwiftPM builds as executables (whose entry point SwiftPM names
// `<Target>_main`, so that libFuzzer's own `main` is never linked).
#ifndef FUZZ_DRIVER_H
#define FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer on `test` with the command line `argc`, `argv` (libFuzzer's flags and corpus directories).
int lv_fuzz_main(int argc, char **argv, int (*test)(const uint8_t *data, size_t size));

#endif
