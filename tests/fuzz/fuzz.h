/* fuzz: what every target in tests/fuzz/ shares. Each target defines LLVMFuzzerTestOneInput;
 * libFuzzer drives it in the fuzzing build (tests/fuzz/run) and replay.c replays the seed
 * corpus through it in `make check`. A broken invariant calls fuzz_fail, which aborts so
 * libFuzzer (or the replay) reports the input. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Print @what and abort. */
void fuzz_fail(const char *what) __attribute__((noreturn));

/* Silence the codec's log lines (malformed input is the norm here). Idempotent. */
void fuzz_quiet(void);

#endif
