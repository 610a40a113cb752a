/**
 * Validators for the documents (tests and `hotpatch vex` users who want to check a file): the
 * vendored OpenVEX 0.2.0 JSON schema with ajv (draft 2020-12), and the CycloneDX library's own
 * strict JSON validator for 1.5 (it needs ajv, ajv-formats and ajv-formats-draft2019 installed).
 */
import { readFileSync } from 'node:fs';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const Ajv2020 = Ajv2020Module as unknown as typeof Ajv2020Module.default;
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const schemaFile = new URL('../../schemas/openvex_json_schema_0.2.0.json', import.meta.url);

let openVexCheck: ((doc: unknown) => string | null) | null = null;

/** null when valid, else the first error as one line. */
export function validateOpenVex(doc: unknown): string | null {
  if (!openVexCheck) {
    const ajv = new Ajv2020({ allErrors: false, strict: false });
    addFormats(ajv);
    const check = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
    openVexCheck = (d) => {
      if (check(d)) return null;
      const e = check.errors?.[0];
      return `${e?.instancePath || '/'} ${e?.message ?? 'invalid'}`;
    };
  }
  return openVexCheck(doc);
}

/** null when valid, else the validator's error details as JSON. */
export async function validateCycloneDx(doc: unknown): Promise<string | null> {
  const v = new Validation.JsonStrictValidator(Spec.Version.v1dot5);
  const err = await v.validate(JSON.stringify(doc));
  return err === null ? null : JSON.stringify(err);
}
