// The record splitter against a reference serialisation, with reads cut at every awkward offset.

import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { LinRfmError } from '../../config/errors.ts';
import { scanCsvFile, type RecordSink } from '../../io/csv-scanner.ts';
import { csvFile, randomInt, seededRandom } from './helpers.ts';

class Recorder implements RecordSink {
  readonly expectedHeader = 'anything';
  headerFields: string[] = [];
  records: { line: number; fields: string[] }[] = [];
  header(fields: string[]): Int32Array {
    this.headerFields = fields;
    return Int32Array.from(fields, (_, i) => i);
  }
  record(src: Buffer, start: Int32Array, end: Int32Array, line: number): void {
    const fields: string[] = [];
    for (let i = 0; i < start.length; i++) fields.push(src.toString('utf8', start[i], end[i]));
    this.records.push({ line, fields });
  }
}

async function scan(text: string | Uint8Array, readBytes?: number): Promise<Recorder> {
  return scanCsvFile(csvFile(text), () => new Recorder(), readBytes);
}

async function scanError(text: string, readBytes?: number): Promise<LinRfmError> {
  try {
    await scan(text, readBytes);
  } catch (err) {
    if (err instanceof LinRfmError) return err;
    throw err;
  }
  throw new Error('expected the scan to fail');
}

describe('scanCsvFile', () => {
  it('splits plain, quoted and multi-line records with correct line numbers', async () => {
    const text = 'h1,h2\r\na,b\r\n"x,1","say ""hi"""\n"two\nlines",z\nlast,"" \n'.replace(' \n', '\n');
    for (const readBytes of [undefined, 1, 2, 3, 5, 8]) {
      const r = await scan(text, readBytes);
      expect(r.headerFields).toEqual(['h1', 'h2']);
      expect(r.records).toEqual([
        { line: 2, fields: ['a', 'b'] },
        { line: 3, fields: ['x,1', 'say "hi"'] },
        { line: 4, fields: ['two\nlines', 'z'] },
        { line: 6, fields: ['last', ''] },
      ]);
    }
  });

  it('keeps a quote inside an unquoted field as text', async () => {
    const r = await scan('a,b\n5" disk,x\n');
    expect(r.records[0].fields).toEqual(['5" disk', 'x']);
  });

  it('strips a UTF-8 byte order mark and keeps other non-ASCII text', async () => {
    const r = await scan('\uFEFFname,ville\nZoë,Zürich\n', 2);
    expect(r.headerFields).toEqual(['name', 'ville']);
    expect(r.records[0].fields).toEqual(['Zoë', 'Zürich']);
  });

  it('ignores trailing blank and whitespace-only lines but not blank lines inside the data', async () => {
    const r = await scan('a,b\n1,2\n\r\n  \n\n');
    expect(r.records).toHaveLength(1);
    const err = await scanError('a,b\n1,2\n\n3,4\n');
    expect(err.message).toMatch(/^[^:]+: line 3: blank line before the end of the data$/);
  });

  it('reports malformed quoting at the record start line', async () => {
    expect((await scanError('a,b\n1,2\n"open,3\n4,5\n')).message).toMatch(/: line 3: quoted field 1 is never closed$/);
    expect((await scanError('a,b\n1,"x"y\n')).message).toMatch(/: line 2: unexpected "y" after the closing quote of field 2/);
    for (const readBytes of [1, 3, undefined]) {
      expect((await scanError('a,b\n"l\n1",2\n3\n', readBytes)).message).toMatch(/: line 4: expected 2 fields like the header, found 1$/);
    }
  });

  it('agrees with a reference serialisation on random files (property)', async ({ annotate }) => {
    const rand = seededRandom('csv-scanner', 1234567, annotate);
    const alphabet = ['a', 'Z', '7', '0', ' ', 'é', '😀', ',', '"', '\n', '\r', '\r\n', '.', '-'];
    for (let trial = 0; trial < 150; trial++) {
      const width = 1 + randomInt(rand, 4);
      const header = Array.from({ length: width }, (_, i) => `c${i}`);
      const records: string[][] = [];
      for (let k = randomInt(rand, 12); k > 0; k--) {
        records.push(Array.from({ length: width }, () => Array.from({ length: randomInt(rand, 6) }, () => alphabet[randomInt(rand, alphabet.length)]).join('')));
      }
      let text = '';
      const lines: number[] = [];
      let line = 1;
      const emit = (fields: string[], isHeader: boolean): void => {
        if (!isHeader) lines.push(line);
        const out = fields.map((f) => {
          const must = /[",\r\n]/.test(f) || (width === 1 && f.trim() === '');
          return must || rand() < 0.2 ? `"${f.replaceAll('"', '""')}"` : f;
        });
        text += out.join(',') + (rand() < 0.5 ? '\r\n' : '\n');
        line += 1 + (fields.join('').match(/\n/g)?.length ?? 0);
      };
      emit(header, true);
      for (const r of records) emit(r, false);
      if (rand() < 0.3) text = text.replace(/\r?\n$/, '');
      if (rand() < 0.3) text += '\n\n';
      const readBytes = 1 + randomInt(rand, 40);
      const got = await scan(text, readBytes);
      const context = `trial ${trial}, readBytes ${readBytes}, text ${JSON.stringify(text)}`;
      expect(got.headerFields, context).toEqual(header);
      expect(got.records, context).toEqual(records.map((fields, k) => ({ line: lines[k], fields })));
    }
  });
});
