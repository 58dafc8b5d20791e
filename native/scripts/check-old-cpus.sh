#!/usr/bin/env bash
# Loads the built addon under qemu user-mode emulation of older x86-64 CPUs
# (no SSSE3 / no AVX / AVX without AVX2 / Haswell AVX2) and checks that it
# runs without an illegal instruction and produces the same parity, rebuild
# and hashes as on the host. Needs `qemu-user` (Debian: apt-get install qemu-user).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE="${NODE:-$(command -v node)}"
command -v qemu-x86_64 >/dev/null || { echo "qemu-x86_64 not installed (apt-get install qemu-user)"; exit 2; }
SCRIPT='
const n = require("./index.js"); const c = require("crypto");
let seed = 7; const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
const d = Array.from({ length: 10 }, () => Buffer.from(Array.from({ length: 4096 + 13 }, rnd)));
const p = n.rsEncodeSync(d, 4);
const s = [...d, ...p].map((x, i) => ([0, 3, 5, 7].includes(i) ? null : x));
const r = n.rsReconstructSync(s, 10);
const h = c.createHash("sha256"); p.forEach(x => h.update(x));
console.log(JSON.stringify({ simd: n.simdLevel(), rebuilt: r.every((x, i) => x.equals(d[i])),
  parity: h.digest("hex").slice(0, 16), sha256: n.sha256(d[0]).toString("hex").slice(0, 16),
  blake3: n.blake3(d[0]).toString("hex").slice(0, 16) }));'
want=$("$NODE" -e "$SCRIPT" | sed 's/"simd":"[^"]*",//')
echo "host: $("$NODE" -e "$SCRIPT")"
status=0
for cpu in qemu64 Nehalem-v1 SandyBridge-v1 Haswell-v2; do
  got=$(qemu-x86_64 -cpu "$cpu" "$NODE" -e "$SCRIPT" 2>/dev/null | tail -1)
  echo "$cpu: $got"
  [ "$(echo "$got" | sed 's/"simd":"[^"]*",//')" = "$want" ] || { echo "MISMATCH on $cpu"; status=1; }
done
exit $status
