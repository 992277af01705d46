// A handler builds its use case once per instance, on its first event (settings, clients, secrets).

/** Builds on the first call and reuses the result; a failed build (a throttled secret read) is tried again by the next call. */
export function once<T>(build: () => T | Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () =>
    (built ??= Promise.resolve()
      .then(build)
      .catch((err: unknown) => {
        built = undefined;
        throw err;
      }));
}
