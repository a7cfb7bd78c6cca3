/**
 * Loads the WASM build of OpenCV (`@techstark/opencv-js`) once per process
 * or worker.
 *
 * @module
 */

import cvModule from "@techstark/opencv-js";

/**
 * The opencv-js namespace object (`cv`). Typed loosely: the package's own
 * typings cover only part of the API that the WASM build exposes
 * (for example `FS_createDataFile`, `CascadeClassifier` details).
 */
// deno-lint-ignore no-explicit-any
export type CV = any;

let loading: Promise<CV> | undefined;
let loaded: CV | undefined;

/**
 * Returns the initialised `cv` object. The first call loads the WASM module
 * (about 0.3 s); later calls return the same promise.
 *
 * The module object has a `then` method and must never be awaited itself:
 * this waits for `onRuntimeInitialized` only when `cv.Mat` is not yet there.
 */
export function loadOpenCV(): Promise<CV> {
  if (loading === undefined) {
    loading = new Promise<CV>((resolve, reject) => {
      const cv: CV = cvModule;
      if (cv === undefined || cv === null) {
        reject(new Error("OpenCV: @techstark/opencv-js did not load"));
        return;
      }
      if (typeof cv.Mat === "function") {
        loaded = wrap(cv);
        resolve(loaded);
        return;
      }
      const previous = cv.onRuntimeInitialized;
      cv.onRuntimeInitialized = () => {
        if (typeof previous === "function") previous();
        loaded = wrap(cv);
        resolve(loaded);
      };
    });
  }
  return loading;
}

/**
 * Returns the `cv` object for synchronous code, once a
 * {@linkcode loadOpenCV} call has finished.
 *
 * @throws {Error} when OpenCV is not loaded yet.
 */
export function openCVSync(): CV {
  if (loaded === undefined) {
    throw new Error("OpenCV is not loaded yet: await loadOpenCV() first");
  }
  return loaded;
}

/**
 * Returns an object whose `then` is hidden, so that resolving a promise with
 * it does not try to await the module (which never settles).
 */
function wrap(cv: CV): CV {
  if (typeof cv.then !== "function") return cv;
  return new Proxy(cv, {
    get(target, key) {
      if (key === "then") return undefined;
      return Reflect.get(target, key);
    },
  });
}
