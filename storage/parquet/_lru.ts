/**
 * A least-recently-used map bounded by the total weight of its values, behind the page and
 * dictionary caches.
 *
 * Recency is a doubly linked list beside the lookup map: evicting by iterating a `Map` from its
 * start walks over the holes that deletions leave at the front of V8's ordered hash table, which
 * made every insertion into a full cache cost a scan.
 *
 * @module
 */

interface Entry<V> {
  readonly key: string;
  readonly value: V;
  readonly weight: number;
  prev: Entry<V>;
  next: Entry<V>;
}

/** A map of at most `maxWeight` total weight; a value heavier than that is not kept. */
export class WeightedLru<V> {
  readonly #map = new Map<string, Entry<V>>();
  // The list's head: `next` is the least recently used entry, `prev` the most recent.
  readonly #head = { key: "", weight: 0 } as Entry<V>;
  #weight = 0;
  /** Entries evicted so far to make room. */
  evictions = 0;
  /** Lookups that found their entry. */
  hits = 0;
  /** Lookups that did not. */
  misses = 0;

  /** Holds at most `maxWeight` in total. */
  constructor(readonly maxWeight: number) {
    this.#head.prev = this.#head.next = this.#head;
  }

  /** Total weight held. */
  get weight(): number {
    return this.#weight;
  }

  /** Entries held. */
  get size(): number {
    return this.#map.size;
  }

  /** Returns a value and makes it the most recently used. */
  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#unlink(e);
    this.#append(e);
    return e.value;
  }

  /** Stores a value, evicting the least recently used ones to make room. */
  set(key: string, value: V, weight: number): void {
    if (weight > this.maxWeight) return;
    const old = this.#map.get(key);
    if (old !== undefined) this.#remove(old);
    while (this.#weight + weight > this.maxWeight && this.#head.next !== this.#head) {
      this.#remove(this.#head.next);
      this.evictions++;
    }
    const e: Entry<V> = { key, value, weight, prev: this.#head, next: this.#head };
    this.#map.set(key, e);
    this.#append(e);
    this.#weight += weight;
  }

  /** Drops every entry whose key starts with `prefix`. */
  deletePrefix(prefix: string): void {
    for (const [k, e] of this.#map) if (k.startsWith(prefix)) this.#remove(e);
  }

  #remove(e: Entry<V>): void {
    this.#unlink(e);
    this.#map.delete(e.key);
    this.#weight -= e.weight;
  }

  #unlink(e: Entry<V>): void {
    e.prev.next = e.next;
    e.next.prev = e.prev;
  }

  #append(e: Entry<V>): void {
    e.prev = this.#head.prev;
    e.next = this.#head;
    this.#head.prev.next = e;
    this.#head.prev = e;
  }
}
