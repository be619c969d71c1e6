// Save and load routers for `file://` URLs, so `model.save("file:///dir")` and
// `tf.loadLayersModel("file:///dir/model.json")` work with plain @tensorflow/tfjs in Node.
// Nothing registers on import: call registerFileIO() once.
import * as tf from "@tensorflow/tfjs-core";
import { FileDirectoryHandler } from "./file-handler.js";

export const FILE_SCHEME = "file://";

/**
 * The file-system path of a `file://` URL, or null for anything else. As in tfjs-node, the
 * rest of the URL is taken literally (no percent-decoding): `file:///abs/dir` is `/abs/dir`,
 * `file://rel/dir` is `rel/dir` relative to the working directory.
 */
export function filePathOf(url: string | string[]): string | null {
  if (typeof url !== "string" || !url.startsWith(FILE_SCHEME)) return null;
  const path = url.slice(FILE_SCHEME.length);
  return path.length > 0 ? path : null;
}

function fileRouter(url: string | string[]): tf.io.IOHandler | null {
  const path = filePathOf(url);
  return path === null ? null : new FileDirectoryHandler(path);
}

let registered = false;

/** Registers the `file://` save and load routers once; later calls do nothing. */
export function registerFileIO(): void {
  if (registered) return;
  // The registry skips routers that answer null (its IORouter type just doesn't say so).
  const router = fileRouter as (url: string | string[]) => tf.io.IOHandler;
  tf.io.registerSaveRouter(router);
  tf.io.registerLoadRouter(router);
  registered = true;
}
