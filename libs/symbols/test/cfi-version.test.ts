// The stack tools keep built call-frame tables on disk under CFI_TABLE_VERSION (libs/stacks
// unwind-cache.ts): a change to cfi.ts that gives other rows for the same file must bump it, or
// users keep walking by the old tables. This pins cfi.ts's text, so that any change to it comes here.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CFI_TABLE_VERSION } from '../src/cfi.js';

describe('CFI_TABLE_VERSION', () => {
  it('is bumped with every change to cfi.ts that changes its tables', () => {
    const text = readFileSync(join(__dirname, '..', 'src', 'cfi.ts'));
    const hash = createHash('sha256').update(text).digest('hex');
    // cfi.ts changed? If the tables it gives can differ for some file, bump CFI_TABLE_VERSION (the
    // cached tables are then built again); either way, put the new hash and version here.
    expect({ version: CFI_TABLE_VERSION, hash }).toEqual({ version: 1, hash: '1c6a3ad98c073c353c984ea1194d770137fea28cc866fab8f3eb107f84c99008' });
  });
});
