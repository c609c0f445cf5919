// A map that follows transactions: what the in-memory caches of written rows are made of (see sqlite.ts).

/**
 * A map whose writes inside a transaction are kept in a level per (nested) transaction: a level that commits
 * merges into the one below (the outermost into the map itself), one that rolls back is dropped.
 */
export class Staged<K, V> {
  private readonly committed = new Map<K, V>();
  private readonly levels: Map<K, V>[] = [];

  get(key: K): V | undefined {
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const level = this.levels[i];
      if (level.has(key)) return level.get(key);
    }
    return this.committed.get(key);
  }

  set(key: K, value: V): void {
    (this.levels.at(-1) ?? this.committed).set(key, value);
  }

  /** Runs `work` in a level of its own: what it set takes effect if it returns, and is forgotten if it throws. */
  within<T>(work: () => T): T {
    this.begin();
    let result: T;
    try {
      result = work();
    } catch (error) {
      this.rollback();
      throw error;
    }
    this.commit();
    return result;
  }

  begin(): void {
    this.levels.push(new Map());
  }

  commit(): void {
    const level = this.levels.pop();
    if (!level) return;
    const below = this.levels.at(-1) ?? this.committed;
    for (const [key, value] of level) below.set(key, value);
  }

  rollback(): void {
    this.levels.pop();
  }
}
