// How the pages that grade a parser cut a stream: whole, byte by byte and at three
// seeded random splits per case (parser-check.html, wechat.html), and the seeded
// generator behind them, so a failure at a random split can be replayed.

/** A small seeded generator: the same seed gives the same numbers in every browser. */
export function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The cut points for case number `index` of `n` bytes: {whole, bytewise, random0..2}. */
export function chunkings(n, index) {
  const out = { whole: [], bytewise: Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1) };
  for (let s = 0; s < 3; s += 1) {
    const rand = mulberry32(index * 7919 + s);
    const cuts = new Set();
    for (let k = Math.floor(rand() * n / 2); k > 0; k -= 1) cuts.add(1 + Math.floor(rand() * Math.max(1, n - 1)));
    out[`random${s}`] = [...cuts].filter((c) => c < n).sort((a, b) => a - b);
  }
  return out;
}
