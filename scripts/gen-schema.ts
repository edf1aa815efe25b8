// Writes schema/nslab.schema.json, the JSON Schema of topology files, from the zod schema that nslab validates
// them with: `node --import tsx scripts/gen-schema.ts`. test/topology/schema.test.ts fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { topologyJsonSchemaText } from '../src/topology/schema.js';

const out = fileURLToPath(new URL('../schema/nslab.schema.json', import.meta.url));
writeFileSync(out, topologyJsonSchemaText());
console.log(`wrote ${out}`);
