/**
 * Node/V8 flags every Codio service process is started with (the local cluster, the container
 * images, the benchmarks):
 *
 * - `--initial-old-space-size=256` (MiB): V8 sizes a new process's old-generation limit from its
 *   small start-up heap (about 45 MiB live in a peer), and every chunk-sized Buffer (a 1 MiB
 *   store read, TLS records, the assembled response) then pushes the heap past the point where
 *   V8 starts a full mark-compact. A peer moving 80 MB/s ran one every ~100 ms (`--trace-gc`),
 *   35–45 % of its CPU. Starting the limit at 256 MiB leaves them for when they reclaim
 *   something: in `bench:swarm` with one downloader and no rate limits (512 MiB), 22 → 12.6
 *   CPU-seconds per GB and 76 → 126 MB/s, for about 30 MiB more peak RSS per process. V8 reads
 *   the flag only when the heap is set up: it cannot go in NODE_OPTIONS (refused there) nor be
 *   set at run time (`v8.setFlagsFromString` has no effect), so launchers pass it.
 * - `--external-memory-accounted-in-global-limit`: V8 otherwise starts a full mark-compact each
 *   time the memory held by ArrayBuffers (every chunk, every socket read, off the JavaScript
 *   heap) grows 64 MiB past what it was after the last one — about 16 a second per process at
 *   250 MB/s, their marking on V8's worker threads (1.7 CPU-seconds per GB at a cold edge,
 *   `npm run bench:cluster` by kind of thread). With the flag that memory counts towards the
 *   heap's global limit, which grows with the heap as V8 sizes it. `bench:swarm`, one
 *   downloader, no rate limits, 1 GiB, interleaved: 6.93 / 7.26 → 4.69 / 5.98 CPU-s/GB, 216 /
 *   209 → 294 / 243 MB/s, peak RSS 329 → 389 MiB. Also a heap-setup flag: launchers pass it.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = Object.freeze(['--initial-old-space-size=256', '--external-memory-accounted-in-global-limit'])
