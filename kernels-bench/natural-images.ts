// Natural images for benchmarks that need more than random pixels, from Debian packages only
// (python3-skimage's sample images, gnome-backgrounds' wallpapers), so nothing is downloaded.
// PNG, JPEG and WebP are decoded once by Python's Pillow (a dependency of python3-skimage; no
// decoder of all three is installed for Node) into raw RGB, each image scaled so its shorter side
// is `side`; crops are then cut here, seeded, with random size, position and flip.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Dataset } from "../src/data/dataset.js";
import { seededRandom } from "../src/util/random.js";

export const IMAGE_DIRS = ["/usr/lib/python3/dist-packages/skimage/data", "/usr/share/backgrounds/gnome"];
const PYTHON = "/usr/bin/python3";
const RASTER = /\.(png|jpe?g|webp)$/i;

/** One decoded image: RGB bytes, row-major. */
export interface DecodedImage {
  name: string;
  width: number;
  height: number;
  pixels: Uint8Array;
}

// Writes <i>.rgb per image that decodes and whose shorter side is at least `side` before
// scaling (smaller ones would be upscaled: blurry, unlike a photo), and prints one JSON line each.
const DECODE_PY = `
import json, sys
from PIL import Image
out, side, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for i, path in enumerate(files):
    try:
        image = Image.open(path).convert("RGB")
    except Exception:
        continue
    w, h = image.size
    if min(w, h) < side:
        continue
    scale = side / min(w, h)
    image = image.resize((max(side, round(w * scale)), max(side, round(h * scale))), Image.BILINEAR, reducing_gap=3.0)
    open(f"{out}/{i}.rgb", "wb").write(image.tobytes())
    print(json.dumps({"index": i, "name": path, "width": image.size[0], "height": image.size[1]}))
`;

/** The raster images under the directories, sorted by path; a missing directory is an error naming its package. */
export function listImageFiles(dirs: readonly string[] = IMAGE_DIRS): string[] {
  const missing = dirs.filter((dir) => !existsSync(dir));
  if (missing.length > 0) {
    throw new Error(`natural images: ${missing.join(", ")} not found; install the Debian packages: apt-get install python3-skimage gnome-backgrounds`);
  }
  return dirs.flatMap((dir) => readdirSync(dir).filter((name) => RASTER.test(name)).map((name) => join(dir, name))).sort();
}

/** Decodes the files through Pillow, each scaled to shorter side `side`; images that are smaller or do not decode are left out. */
export function decodeImages(files: readonly string[], side: number): DecodedImage[] {
  const dir = mkdtempSync(join(tmpdir(), "natural-images-"));
  try {
    const lines = execFileSync(PYTHON, ["-c", DECODE_PY, dir, String(side), ...files], { encoding: "utf8", maxBuffer: 1 << 24 });
    return lines.split("\n").filter(Boolean).map((line) => {
      const { index, name, width, height } = JSON.parse(line) as { index: number; name: string; width: number; height: number };
      return { name, width, height, pixels: new Uint8Array(readFileSync(join(dir, `${index}.rgb`))) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The square [x0, y0, side] window, scaled to size x size by bilinear sampling, flipped left-right when asked, into `out`. */
function cropInto(image: DecodedImage, x0: number, y0: number, cropSide: number, size: number, flip: boolean, out: Uint8Array): void {
  const step = cropSide / size;
  const { width, pixels } = image;
  for (let y = 0; y < size; y++) {
    const sy = Math.min(y0 + (y + 0.5) * step - 0.5, image.height - 1);
    const y1 = Math.max(0, Math.floor(sy));
    const y2 = Math.min(image.height - 1, y1 + 1);
    const fy = Math.max(0, sy - y1);
    for (let x = 0; x < size; x++) {
      const sx = Math.min(x0 + ((flip ? size - 1 - x : x) + 0.5) * step - 0.5, width - 1);
      const x1 = Math.max(0, Math.floor(sx));
      const x2 = Math.min(width - 1, x1 + 1);
      const fx = Math.max(0, sx - x1);
      for (let c = 0; c < 3; c++) {
        const at = (px: number, py: number) => pixels[(py * width + px) * 3 + c];
        const top = at(x1, y1) * (1 - fx) + at(x2, y1) * fx;
        const bottom = at(x1, y2) * (1 - fx) + at(x2, y2) * fx;
        out[(y * size + x) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
}

/**
 * `count` seeded crops of size x size from the images: an image at random, a square window of a
 * random side between `minFraction` and all of the image's shorter side, at a random place,
 * flipped with probability 1/2. Labels are 0 until the caller sets them.
 */
export function randomCrops(images: readonly DecodedImage[], count: number, options: { size: number; seed: number; minFraction?: number; name: string; numClasses: number }): Dataset {
  if (images.length === 0) throw new Error(`randomCrops: no images to crop for ${options.name}; decodeImages left none (install python3-skimage gnome-backgrounds)`);
  const { size, seed, minFraction = 0.5 } = options;
  const random = seededRandom(seed);
  const imageBytes = size * size * 3;
  const pixels = new Uint8Array(count * imageBytes);
  for (let i = 0; i < count; i++) {
    const image = images[Math.floor(random() * images.length)];
    const shorter = Math.min(image.width, image.height);
    const cropSide = Math.max(size / 2, Math.round(shorter * (minFraction + (1 - minFraction) * random())));
    const x0 = Math.floor(random() * (image.width - cropSide + 1));
    const y0 = Math.floor(random() * (image.height - cropSide + 1));
    cropInto(image, x0, y0, cropSide, size, random() < 0.5, pixels.subarray(i * imageBytes, (i + 1) * imageBytes));
  }
  return { name: options.name, images: pixels, labels: new Uint8Array(count), imageShape: [size, size, 3], numClasses: options.numClasses };
}
