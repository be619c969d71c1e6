// Reference twins of the Winograd transforms in assembly/winograd.ts, written as the matrix
// products of Lavin & Gray's paper, in f64 over plain arrays:
//   forward F(4×4, 3×3):     U = G g Gᵀ,   V = Bᵀ d B,   y = Aᵀ m A
//   filter grad F(3×3, 4×4): Z = A dy Aᵀ,  dW = Gᵀ s G   (the transposed algorithm)
// Transformed matrices are indexed [ξ][row][channel] with ξ = 6·i + j of the 6×6 transform.
// Tiles are numbered image by image, row by row: tile t covers output rows 4ty..4ty+3 and
// columns 4tx..4tx+3 of image t / (tilesH·tilesW), over the 6×6 input patch at
// (4ty - padTop, 4tx - padLeft).

const BT = [
  [4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
  [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1],
];
const G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]];
const AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]];
const A = AT[0].map((_, r) => AT.map((row) => row[r]));
const GT = G[0].map((_, r) => G.map((row) => row[r]));
const ALPHA = 6;
const TILE = 4;
const XI = ALPHA * ALPHA;

/** L · X · Lᵀ for a small matrix X (rows × cols) given by `at(r, c)`. */
function sandwich(left: number[][], at: (r: number, c: number) => number, cols: number): number[][] {
  const lx = left.map((row) => Array.from({ length: cols }, (_, c) => row.reduce((s, l, r) => s + l * at(r, c), 0)));
  return lx.map((row) => left.map((l) => l.reduce((s, v, c) => s + v * row[c], 0)));
}

interface Tile { image: number; row0: number; col0: number }

function tileAt(tile: number, tilesH: number, tilesW: number): Tile {
  const perImage = tilesH * tilesW;
  const image = Math.floor(tile / perImage);
  const rest = tile - image * perImage;
  return { image, row0: TILE * Math.floor(rest / tilesW), col0: TILE * (rest % tilesW) };
}

/** U[ξ][ci][co] = (G g Gᵀ)[ξ] of the HWIO filter [3, 3, cin, cout]. */
export function winogradFilterRef(w: Float32Array, cin: number, cout: number): Float32Array {
  const out = new Float32Array(XI * cin * cout);
  for (let ci = 0; ci < cin; ci++) {
    for (let co = 0; co < cout; co++) {
      const u = sandwich(G, (i, j) => w[((i * 3 + j) * cin + ci) * cout + co], 3);
      for (let xi = 0; xi < XI; xi++) out[(xi * cin + ci) * cout + co] = u[Math.floor(xi / ALPHA)][xi % ALPHA];
    }
  }
  return out;
}

export interface WinogradTiles {
  /** Input (or output-gradient) extent of one image, NHWC without the batch. */
  height: number;
  width: number;
  channels: number;
  tilesH: number;
  tilesW: number;
  tile0: number;
  count: number;
}

/** V[ξ][t][c] = (Bᵀ d B)[ξ] of the input patches of tiles tile0.., pixels outside the image 0. */
export function winogradInputRef(x: Float32Array, t: WinogradTiles, padTop: number, padLeft: number): Float32Array {
  const { height: H, width: W, channels: C } = t;
  const out = new Float32Array(XI * t.count * C);
  for (let i = 0; i < t.count; i++) {
    const { image, row0, col0 } = tileAt(t.tile0 + i, t.tilesH, t.tilesW);
    for (let c = 0; c < C; c++) {
      const d = (u: number, v: number): number => {
        const [y, xx] = [row0 - padTop + u, col0 - padLeft + v];
        return y >= 0 && y < H && xx >= 0 && xx < W ? x[((image * H + y) * W + xx) * C + c] : 0;
      };
      const v = sandwich(BT, d, ALPHA);
      for (let xi = 0; xi < XI; xi++) out[(xi * t.count + i) * C + c] = v[Math.floor(xi / ALPHA)][xi % ALPHA];
    }
  }
  return out;
}

/** y (+)= (Aᵀ m A) of each tile, m[ξ][t][co]; outputs past the edge dropped. t.height/width are the output's. */
export function winogradOutputRef(m: Float32Array, t: WinogradTiles, y: Float32Array, accumulate: boolean): void {
  const { height: OH, width: OW, channels: N } = t;
  for (let i = 0; i < t.count; i++) {
    const { image, row0, col0 } = tileAt(t.tile0 + i, t.tilesH, t.tilesW);
    for (let co = 0; co < N; co++) {
      const out = sandwich(AT, (r, c) => m[((r * ALPHA + c) * t.count + i) * N + co], ALPHA);
      for (let a = 0; a < TILE; a++) {
        for (let b = 0; b < TILE; b++) {
          if (row0 + a >= OH || col0 + b >= OW) continue;
          const p = ((image * OH + row0 + a) * OW + col0 + b) * N + co;
          y[p] = (accumulate ? y[p] : 0) + out[a][b];
        }
      }
    }
  }
}

/** Z[ξ][t][co] = (A dy Aᵀ)[ξ] of the 4×4 tiles of dY; values past the edge 0. */
export function winogradGradTilesRef(dy: Float32Array, t: WinogradTiles): Float32Array {
  const { height: OH, width: OW, channels: N } = t;
  const out = new Float32Array(XI * t.count * N);
  for (let i = 0; i < t.count; i++) {
    const { image, row0, col0 } = tileAt(t.tile0 + i, t.tilesH, t.tilesW);
    for (let co = 0; co < N; co++) {
      const g = (a: number, b: number): number =>
        row0 + a < OH && col0 + b < OW ? dy[((image * OH + row0 + a) * OW + col0 + b) * N + co] : 0;
      const z = sandwich(A, g, TILE);
      for (let xi = 0; xi < XI; xi++) out[(xi * t.count + i) * N + co] = z[Math.floor(xi / ALPHA)][xi % ALPHA];
    }
  }
  return out;
}

/** dW HWIO [3, 3, cin, cout] = Gᵀ s G of the summed products s[ξ][ci][co]. */
export function winogradFilterGradRef(s: Float32Array, cin: number, cout: number): Float32Array {
  const out = new Float32Array(9 * cin * cout);
  for (let ci = 0; ci < cin; ci++) {
    for (let co = 0; co < cout; co++) {
      const dw = sandwich(GT, (r, c) => s[((r * ALPHA + c) * cin + ci) * cout + co], ALPHA);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[((i * 3 + j) * cin + ci) * cout + co] = dw[i][j];
    }
  }
  return out;
}
