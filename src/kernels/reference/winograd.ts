// Reference twins of the Winograd transforms in assembly/winograd.ts, written as the matrix
// products of Lavin & Gray's paper, in f64 over plain arrays:
//   forward F(2×2, 3×3):   U = G g Gᵀ,   V = Bᵀ d B,   y = Aᵀ m A
//   filter grad F(3×3, 2×2): Z = G' dy G'ᵀ,  dW = A'ᵀ s A'
// Transformed matrices are indexed [ξ][row][channel] with ξ = 4·i + j of the 4×4 transform.
// Tiles are numbered image by image, row by row: tile t covers output rows 2ty, 2ty+1 and
// columns 2tx, 2tx+1 of image t / (tilesH·tilesW), over the input patch at (2ty - padTop, 2tx - padLeft).

const BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
const AT = [[1, 1, 1, 0], [0, 1, -1, -1]];
const G_GRAD = [[1, 0], [1, 1], [1, -1], [0, -1]];
const AT_GRAD = [[1, 0.5, 0.5, 0], [0, 0.5, -0.5, 0], [0, 0.5, 0.5, 1]];

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
  return { image, row0: 2 * Math.floor(rest / tilesW), col0: 2 * (rest % tilesW) };
}

/** U[ξ][ci][co] = (G g Gᵀ)[ξ] of the HWIO filter [3, 3, cin, cout]. */
export function winogradFilterRef(w: Float32Array, cin: number, cout: number): Float32Array {
  const out = new Float32Array(16 * cin * cout);
  for (let ci = 0; ci < cin; ci++) {
    for (let co = 0; co < cout; co++) {
      const u = sandwich(G, (i, j) => w[((i * 3 + j) * cin + ci) * cout + co], 3);
      for (let xi = 0; xi < 16; xi++) out[(xi * cin + ci) * cout + co] = u[xi >> 2][xi & 3];
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
  const out = new Float32Array(16 * t.count * C);
  for (let i = 0; i < t.count; i++) {
    const { image, row0, col0 } = tileAt(t.tile0 + i, t.tilesH, t.tilesW);
    for (let c = 0; c < C; c++) {
      const d = (u: number, v: number): number => {
        const [y, xx] = [row0 - padTop + u, col0 - padLeft + v];
        return y >= 0 && y < H && xx >= 0 && xx < W ? x[((image * H + y) * W + xx) * C + c] : 0;
      };
      const v = sandwich(BT, d, 4);
      for (let xi = 0; xi < 16; xi++) out[(xi * t.count + i) * C + c] = v[xi >> 2][xi & 3];
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
      const out = sandwich(AT, (r, c) => m[((r * 4 + c) * t.count + i) * N + co], 4);
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          if (row0 + a >= OH || col0 + b >= OW) continue;
          const p = ((image * OH + row0 + a) * OW + col0 + b) * N + co;
          y[p] = (accumulate ? y[p] : 0) + out[a][b];
        }
      }
    }
  }
}

/** Z[ξ][t][co] = (G' dy G'ᵀ)[ξ] of the 2×2 tiles of dY; values past the edge 0. */
export function winogradGradTilesRef(dy: Float32Array, t: WinogradTiles): Float32Array {
  const { height: OH, width: OW, channels: N } = t;
  const out = new Float32Array(16 * t.count * N);
  for (let i = 0; i < t.count; i++) {
    const { image, row0, col0 } = tileAt(t.tile0 + i, t.tilesH, t.tilesW);
    for (let co = 0; co < N; co++) {
      const g = (a: number, b: number): number =>
        row0 + a < OH && col0 + b < OW ? dy[((image * OH + row0 + a) * OW + col0 + b) * N + co] : 0;
      const z = sandwich(G_GRAD, g, 2);
      for (let xi = 0; xi < 16; xi++) out[(xi * t.count + i) * N + co] = z[xi >> 2][xi & 3];
    }
  }
  return out;
}

/** dW HWIO [3, 3, cin, cout] = A'ᵀ s A' of the summed products s[ξ][ci][co]. */
export function winogradFilterGradRef(s: Float32Array, cin: number, cout: number): Float32Array {
  const out = new Float32Array(9 * cin * cout);
  for (let ci = 0; ci < cin; ci++) {
    for (let co = 0; co < cout; co++) {
      const dw = sandwich(AT_GRAD, (r, c) => s[((r * 4 + c) * cin + ci) * cout + co], 4);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[((i * 3 + j) * cin + ci) * cout + co] = dw[i][j];
    }
  }
  return out;
}
