/**
 * Fields reads one mapping of a configuration file by key: a JSON object of policy.json
 * (lib/policy/parse.ts), a YAML mapping of a sync file (lib/sync/yaml.ts). A key outside
 * `allowed` (when given) is refused with the error `unknownKey` makes, in the mapping's order.
 * It knows no format: a subclass adds the readers of its values (a string, a list, a nested
 * mapping) and words its own errors; `where` names the mapping in them. Pure: no I/O.
 */
export class Fields<V> {
  private readonly values: Map<string, V>;

  constructor(
    entries: Iterable<readonly [string, V]>,
    readonly where: string,
    allowed: readonly string[] | undefined,
    unknownKey: (key: string, value: V) => Error,
  ) {
    this.values = new Map(entries);
    if (allowed) for (const [k, v] of this.values) if (!allowed.includes(k)) throw unknownKey(k, v);
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  has(k: string): boolean {
    return this.values.has(k);
  }

  get(k: string): V | undefined {
    return this.values.get(k);
  }
}
