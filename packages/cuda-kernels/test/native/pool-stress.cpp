// Stress test of the CPU thread pool (native/cpu/parallel.cpp), built by pool.test.ts with
// SEED_POOL_CLAIM_DELAY_US, which pauses a thread right after it reads the next chunk: where a late
// worker is most exposed to the start of the next run. Runs alternate between 2 and 8 chunks and each
// counts how often every item ran; every item must run exactly once. Every 16th run follows a pause longer
// than the pool's default spin, so the workers alternate between polling for runs and sleeping (pool.test.ts
// also runs it with SEED_POOL_SPIN_US=0: sleeping only). Every 5th run, item 1 throws (on whichever thread
// runs it): parallel_for must rethrow it to the caller only after every other item has run, exactly once, and
// the runs after it must be whole. Prints "runs N, wrong M, thrown T, caught C".
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cpu/parallel.h"

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5000;
  seed::set_cpu_threads(2);
  long wrong = 0, caught = 0;
  std::atomic<long> thrown{0};
  for (int r = 0; r < runs; ++r) {
    if (r % 16 == 15) std::this_thread::sleep_for(std::chrono::microseconds(300));
    const int64_t n = (r & 1) ? 8 : 2;
    std::vector<std::atomic<int>> hits(n);
    for (auto& h : hits) h = 0;
    const bool throws = r % 5 == 4;
    try {
      seed::parallel_for(n, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          hits[i]++;
          if (throws && i == 1) {
            ++thrown;
            throw std::runtime_error("chunk 1");
          }
        }
      });
    } catch (const std::runtime_error&) {
      ++caught;
    }
    for (auto& h : hits) wrong += h != 1;  // read after the return: a late copy of a chunk would show here
  }
  std::printf("runs %d, wrong %ld, thrown %ld, caught %ld\n", runs, wrong, thrown.load(), caught);
  return 0;
}
