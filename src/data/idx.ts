// IDX files (MNIST, Fashion-MNIST): big-endian header, magic 0x000008TD (T = 0x08 ubyte,
// D = number of dimensions), one uint32 per dimension, then the values. Raw or gzip.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`${path}: not a valid gzip file (${(error as Error).message}); download it again`);
    }
  }
  return parseIdx(bytes, path);
}

export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${source}: not an IDX file (it must start with two zero bytes and a type byte)`);
  }
  if (bytes[2] !== 0x08) {
    throw new Error(`${source}: IDX type 0x${bytes[2].toString(16)} is not supported; only unsigned bytes (0x08) are`);
  }
  const rank = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new Error(`${source}: truncated IDX header (${bytes.length} bytes)`);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((p, d) => p * d, 1);
  if (bytes.length - headerBytes !== count) {
    throw new Error(`${source}: IDX shape [${shape}] needs ${count} values, but the file holds ${bytes.length - headerBytes}; the file is truncated or corrupt`);
  }
  return { shape, data: bytes.subarray(headerBytes) };
}
