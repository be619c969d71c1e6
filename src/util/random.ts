/**
 * mulberry32: a small, fast, seeded generator of uniform numbers in [0, 1). Every seeded choice
 * in the project (k-means++ draws, shuffles, augmentation, synthetic data) uses it, so a seed
 * means the same sequence everywhere.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
