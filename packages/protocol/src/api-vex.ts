/** GET /v1/vex: what scanners should believe about the fleet's running processes. */
import { Type } from '@sinclair/typebox';
import { OpenObject } from './api-common.js';

export const VexQuery = Type.Object(
  {
    format: Type.Optional(Type.Union([Type.Literal('openvex'), Type.Literal('cyclonedx')])),
    device: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** OpenVEX: the scanned product (e.g. an image purl); the packages become its subcomponents. */
    product: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, pattern: '^[a-z][a-z0-9+.-]*:[^\\s]+$' }),
    ),
  },
  { additionalProperties: false },
);

/** A VEX document: its own format's schema is checked in the tests (OpenVEX schema, CycloneDX validator). */
export const VexDocument = OpenObject();
