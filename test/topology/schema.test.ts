import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  keepsValues,
  schemaKeepsValues,
  topologyJsonSchema,
  topologyJsonSchemaText,
} from '../../src/topology/schema.js';

describe('JSON Schema', () => {
  it('schema/nslab.schema.json is the generated one (run scripts/gen-schema.ts after changing the schema)', () => {
    assert.equal(readFileSync('schema/nslab.schema.json', 'utf8'), topologyJsonSchemaText());
  });

  it('is a draft 2020-12 schema with an id, a title, and strict objects', () => {
    const s = topologyJsonSchema() as {
      $schema: string;
      $id: string;
      title: string;
      description: string;
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { properties?: Record<string, unknown> }>;
    };
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(s.$id, 'urn:nslab:topology');
    assert.equal(s.title, 'nslab topology');
    assert.ok(s.description.length > 0);
    assert.deepEqual(s.required, ['name', 'topology']);
    assert.equal(s.additionalProperties, false);
    assert.deepEqual(Object.keys(s.properties).sort(), [
      'expect',
      'name',
      'prefix',
      'private',
      'routing',
      'timeline',
      'topology',
    ]);
    assert.deepEqual(Object.keys(s.properties.topology.properties!).sort(), [
      'defaults',
      'kinds',
      'links',
      'nodes',
    ]);
  });
});

describe('what the schema returns', () => {
  it('is the value it reads, unchanged, and a default or a transform would be noticed', () => {
    assert.equal(schemaKeepsValues(), true);
    assert.equal(keepsValues(z.object({ a: z.array(z.string().refine((s) => s !== 'x')).optional() })), true);
    assert.equal(keepsValues(z.object({ a: z.object({ b: z.int().default(60) }) })), false);
    assert.equal(keepsValues(z.union([z.string(), z.string().transform((s) => s.length)])), false);
    assert.equal(keepsValues(z.record(z.string(), z.coerce.number())), false);
  });
});
