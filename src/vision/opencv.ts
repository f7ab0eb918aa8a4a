/**
 * Loading OpenCV (the `@techstark/opencv-js` WebAssembly build) once per process, and keeping its heap clean.
 *
 * Why this file exists: the package has three traps, each verified on 4.12.0-release.1.
 * 1. Its module object is a *thenable* (Emscripten's `Module.then`). `await`ing it, or returning it from an async
 *    function, makes the promise machinery call `then` again and again: it never settles. We wait for the runtime
 *    through that `then` once and delete the property before the object escapes into any promise.
 * 2. On load it installs process-wide `uncaughtException` and `unhandledRejection` handlers (the second one calls
 *    Emscripten's `abort`, which prints the whole WASM module source — megabytes — for any unrelated rejection in a
 *    worker). We compare the listener lists before and after loading and remove exactly the ones it added, nothing else.
 * 3. Every `cv.Mat` (and vector, detector, matcher…) lives on the WASM heap, outside the JS garbage collector. Anything
 *    not `.delete()`d leaks for the life of the process. {@link withMats} scopes allocations and deletes them in
 *    `finally`; {@link wasmHeapBytes} and {@link wasmHeapProbe} let a test prove that thousands of calls leak nothing.
 *
 * OpenCV's exceptions arrive as bare numbers (pointers into the heap); {@link cvError} turns them into `Error`s.
 */
import type * as CvNamespace from "@techstark/opencv-js";

/** The OpenCV module with the Emscripten heap views this project reads. */
export type CV = typeof CvNamespace & {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
};

/** Any OpenCV object that owns WASM memory. */
export interface Deletable {
  delete(): void;
  isDeleted?(): boolean;
}

let loaded: CV | undefined;
let loading: Promise<CV> | undefined;

type Listener = (...args: unknown[]) => void;
const HANDLED_EVENTS = ["uncaughtException", "unhandledRejection"] as const;

/**
 * Loads OpenCV once per process; later calls return the same module. Safe to call concurrently.
 * The returned object is no longer a thenable, so it may be awaited or returned from async functions freely.
 */
export function loadOpenCv(): Promise<CV> {
  if (loaded) return Promise.resolve(loaded);
  if (!loading) {
    loading = new Promise<CV>((resolve, reject) => {
      const before = new Map<string, Listener[]>(
        HANDLED_EVENTS.map((event) => [event, listenersOf(event)]),
      );
      let mod: CV & { then?: (cb: (m: CV) => void) => void; onRuntimeInitialized?: () => void };
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        mod = require("@techstark/opencv-js");
      } catch (err) {
        loading = undefined;
        reject(err);
        return;
      } finally {
        removeAddedListeners(before);
      }
      const done = (): void => {
        // Remove the thenable before the module reaches any promise (trap 1), then the handlers (trap 2) once more,
        // in case the runtime installs more during initialisation.
        delete mod.then;
        removeAddedListeners(before);
        loaded = mod;
        resolve(mod);
      };
      if (typeof mod.Mat === "function" && typeof mod.then !== "function") done();
      else if (typeof mod.then === "function") mod.then(() => done());
      else mod.onRuntimeInitialized = done;
    });
  }
  return loading;
}

/** The module if {@link loadOpenCv} has completed, else an error: for synchronous code paths after an `await loadOpenCv()`. */
export function openCvSync(): CV {
  if (!loaded) throw new Error("OpenCV is not loaded yet: await loadOpenCv() first");
  return loaded;
}

function listenersOf(event: string): Listener[] {
  return (process as unknown as { listeners(e: string): Listener[] }).listeners(event);
}

function removeAddedListeners(before: Map<string, Listener[]>): void {
  for (const [event, previous] of before) {
    for (const listener of listenersOf(event)) {
      if (!previous.includes(listener)) process.removeListener(event, listener);
    }
  }
}

/**
 * Runs `fn` with a `track` function that registers OpenCV objects for deletion; all of them are deleted when `fn`
 * returns or throws. `track` returns its argument, so allocation and registration are one expression:
 * `const m = track(new cv.Mat())`. Objects already deleted inside `fn` are skipped.
 */
export function withMats<T>(fn: (track: <M extends Deletable>(m: M) => M) => T): T {
  const owned: Deletable[] = [];
  const track = <M extends Deletable>(m: M): M => {
    owned.push(m);
    return m;
  };
  try {
    return fn(track);
  } catch (err) {
    throw cvError(err);
  } finally {
    for (let i = owned.length - 1; i >= 0; i--) {
      const m = owned[i]!;
      if (m.isDeleted?.() === true) continue;
      m.delete();
    }
  }
}

/** Size of the WASM linear memory in bytes. It only ever grows; a leak large enough shows as growth. */
export function wasmHeapBytes(): number {
  return openCvSync().HEAPU8.length;
}

/**
 * A finer leak probe than {@link wasmHeapBytes} (which cannot see a leak until it outgrows the initial 128 MB):
 * the address the allocator returns for a fresh 1 MiB block (freed again at once). With nothing leaked, the block lands
 * at the same address call after call; leaked allocations push the allocator's free space — and the address — up.
 */
export function wasmHeapProbe(): number {
  const cv = openCvSync();
  const ptr = cv._malloc(1 << 20);
  cv._free(ptr);
  return ptr;
}

/** OpenCV.js throws numbers (pointers to a C++ exception); give them a message. Errors pass through unchanged. */
export function cvError(err: unknown): unknown {
  if (typeof err !== "number" || !loaded) return err;
  try {
    const ex = (loaded as unknown as { exceptionFromPtr(p: number): { msg?: string } }).exceptionFromPtr(err);
    return new Error(`OpenCV: ${ex?.msg ?? `exception ${err}`}`);
  } catch {
    return new Error(`OpenCV exception ${err}`);
  }
}
