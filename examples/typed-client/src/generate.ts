// pnpm --filter ./examples/typed-client run generate: (re)writes src/api.d.ts from the
// mock upstream's OpenAPI document.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generateTypes, typesFile } from './generate-types.js';

await writeFile(typesFile, await generateTypes());
console.log(`wrote ${fileURLToPath(typesFile)}`);
