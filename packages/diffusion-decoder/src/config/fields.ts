/**
 * Reading a diffusers / transformers config.json at the edge: each field by its upstream name with the
 * default upstream gives it, a value outside what the field can hold is an Error naming file and field, and
 * fields nobody asked for are collected as notes (never printed here) when the reader is finished.
 */
import { existsSync, readFileSync } from 'node:fs';

export type Json = Record<string, unknown>;

/** Read a JSON object from a file; a missing file, bad JSON or a non-object is an Error naming the file. */
export function readJsonObject(path: string): Json {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${path}: not a JSON object`);
  return json as Json;
}

const show = (v: unknown) => JSON.stringify(v);

/**
 * Typed access to one config object. Every getter marks its field as known; `finish()` adds a note for each
 * field no getter read (fields starting with `_`, such as `_class_name`, are metadata and never noted).
 */
export class ConfigFields {
  private readonly known = new Set<string>();

  constructor(
    readonly json: Json,
    /** The file, for messages, e.g. "unet/config.json". */
    readonly what: string,
    /** Where notes about ignored fields go. */
    readonly notes: string[],
  ) {}

  /** An Error naming the file and the field. */
  fail(key: string, msg: string): never {
    throw new Error(`${this.what}: ${key} ${msg}`);
  }

  private get(key: string): unknown {
    this.known.add(key);
    return this.json[key];
  }

  /** Whether the field is present and not null. */
  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  /** Mark fields as understood though not needed here (e.g. `sample_size`, `dropout`). */
  accept(...keys: string[]): void {
    for (const k of keys) this.known.add(k);
  }

  /** `read()` when the field is present and not null, else undefined (the field counts as known either way). */
  optional<T>(key: string, read: () => T): T | undefined {
    this.known.add(key);
    return this.has(key) ? read() : undefined;
  }

  int(key: string, fallback: number, min = 0): number {
    const v = this.get(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 1 << 24)
      this.fail(key, `must be an integer ≥ ${min}, got ${show(v)}`);
    return v;
  }

  num(
    key: string,
    fallback: number,
    check: (v: number) => boolean = Number.isFinite,
    what = 'a finite number',
  ): number {
    const v = this.get(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) this.fail(key, `must be ${what}, got ${show(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.get(key) ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${show(v)}`);
    return v;
  }

  /** A string among `allowed` (anything else, including values upstream knows but we do not run, is an Error). */
  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const v = this.get(key) ?? fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
      this.fail(key, `${show(v)} is not supported (expected ${allowed.map(show).join(' or ')})`);
    return v as T;
  }

  /** A field that must keep its upstream default (a variant this package does not implement otherwise). */
  fixed(key: string, expected: unknown, why = 'is not supported'): void {
    const v = this.get(key);
    if (v === undefined || v === null || show(v) === show(expected)) return;
    this.fail(key, `${show(v)} ${why} (only ${show(expected)})`);
  }

  /** A field whose only supported value is null/absent. */
  absent(key: string, why = 'is not supported'): void {
    const v = this.get(key);
    if (v !== undefined && v !== null) this.fail(key, `${show(v)} ${why} (only null)`);
  }

  /** An int or a list of ints, expanded to `length` entries. */
  intOrList(key: string, fallback: number | number[], length: number, min = 1): number[] {
    const v = this.get(key) ?? fallback;
    const list = Array.isArray(v) ? v : Array.from({ length }, () => v);
    if (list.length !== length) this.fail(key, `must have ${length} entries (one per block), got ${show(v)}`);
    for (const x of list)
      if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > 1 << 24)
        this.fail(key, `must hold integers ≥ ${min}, got ${show(v)}`);
    return list as number[];
  }

  /** A non-empty list of ints ≥ min. */
  intList(key: string, fallback: number[], min = 1): number[] {
    const v = this.get(key) ?? fallback;
    if (!Array.isArray(v) || v.length === 0) this.fail(key, `must be a non-empty list, got ${show(v)}`);
    for (const x of v)
      if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > 1 << 24)
        this.fail(key, `must hold integers ≥ ${min}, got ${show(v)}`);
    return v as number[];
  }

  /** A non-empty list of strings, each among `allowed`. */
  stringList<T extends string>(key: string, fallback: T[], allowed: readonly T[]): T[] {
    const v = this.get(key) ?? fallback;
    if (!Array.isArray(v) || v.length === 0) this.fail(key, `must be a non-empty list, got ${show(v)}`);
    for (const x of v)
      if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x))
        this.fail(key, `has ${show(x)}, which is not supported (expected ${allowed.map(show).join(', ')})`);
    return v as T[];
  }

  /** Note every field nobody read; returns the notes list. */
  finish(): string[] {
    for (const key of Object.keys(this.json))
      if (!key.startsWith('_') && !this.known.has(key)) this.notes.push(`${this.what}: ignored unknown field '${key}'`);
    return this.notes;
  }
}
