/**
 * cachedPromise is the promise `cache` holds for `key`, made by `make` the first time; a promise
 * that fails is forgotten, so the next call tries again.
 */
export function cachedPromise<K, V>(cache: Map<K, Promise<V>>, key: K, make: () => Promise<V>): Promise<V> {
  let p = cache.get(key);
  if (!p) {
    p = make();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}
