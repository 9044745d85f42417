/**
 * A tool's JSON record declared once: its fields in order, each with the kind of its value, and one
 * function that computes the values of an event. From that one declaration come both the object
 * the typed API yields (toRecord) and the `--json` line the command prints, so the two cannot
 * drift. The line is built by a serializer compiled once from the fields (no object is made, no
 * key looked up per event): as fast as a line written by hand.
 *
 * Kinds (every value may also be null, printed as null):
 *   num    a number, printed as it is (latencies already rounded)
 *   plain  a string known to need no escaping (ISO times, errno and flag names, enum names)
 *   str    any string, escaped as JSON
 *   text   a name from the kernel that may not be UTF-8 (comm, path): the escaped text, and
 *          KEY_b64 with its exact bytes after it when it is not valid UTF-8 (jsonText/jsonFields)
 *   json   any JSON value (arrays, objects), through JSON.stringify; undefined leaves the field out
 */
import { jsonFields, jsonTextValue } from './text.js';

export type FieldKind = 'num' | 'plain' | 'str' | 'text' | 'json';

export interface RecordFormat<V extends readonly unknown[], R> {
  /** the fields, in the order of the values and of the JSON line */
  readonly fields: readonly (readonly [string, FieldKind])[];
  /** the typed API's object */
  record(values: V): R;
  /** the --json line (no newline) */
  json(values: V): string;
}

/**
 * Compile a record's format from its fields: `[['pid', 'num'], ['comm', 'text'], ...]`. The values
 * array a tool computes per event must follow the same order.
 */
export function recordFormat<V extends readonly unknown[], R>(fields: readonly (readonly [string, FieldKind])[]): RecordFormat<V, R> {
  for (const [k] of fields) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`recordFormat: '${k}' is not a plain field name`);
  // the line: one expression over v[i], no loop, no key lookup; the text between values is one
  // literal each (fewer pieces for V8 to join, and to flatten when the line is written)
  const parts: string[] = [];
  let text = '{';
  const literal = () => {
    if (text) parts.push(JSON.stringify(text));
    text = '';
  };
  fields.forEach(([key, kind], i) => {
    const v = `v[${i}]`;
    const head = `${i === 0 ? '' : ','}"${key}":`;
    switch (kind) {
      case 'num':
        text += head;
        literal();
        parts.push(`(${v} === null ? "null" : ${v})`);
        break;
      case 'plain':
        text += head;
        literal();
        parts.push(`(${v} === null ? "null" : '"' + ${v} + '"')`);
        break;
      case 'str':
        text += head;
        literal();
        parts.push(`(${v} === null ? "null" : JSON.stringify(${v}))`);
        break;
      case 'text':
        text += head;
        literal();
        parts.push(`(${v} === null ? "null" : jsonTextValue(${JSON.stringify(key)}, ${v}))`);
        break;
      case 'json':
        // a field left out must not leave its comma behind: the separator goes with the field
        literal();
        parts.push(`(${v} === undefined ? "" : ${JSON.stringify(head)} + JSON.stringify(${v}))`);
        break;
    }
  });
  text += '}';
  literal();
  if (fields.length && fields[0][1] === 'json') throw new Error('recordFormat: the first field cannot be optional (json)');
  const json = new Function('jsonTextValue', `return function json(v) { return ${parts.join(' + ')}; };`)(jsonTextValue) as (v: V) => string;
  const record = (v: V): R => {
    const r: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const [key, kind] = fields[i];
      const x = v[i];
      if (kind === 'text' && typeof x === 'string') Object.assign(r, jsonFields(key, x));
      else if (kind !== 'json' || x !== undefined) r[key] = x;
    }
    return r as R;
  };
  return { fields, record, json };
}
