// libFuzzer's entry for a program that has its own main (SwiftPM gives every executable one):
// parses libFuzzer's flags from argc/argv and runs `callback` on every input.
// Provided by libclang_rt.fuzzer, which `-sanitize=fuzzer` links in.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
