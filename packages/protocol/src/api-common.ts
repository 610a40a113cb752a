/** Small shapes every part of the API shares. */
import { type TSchema, Type } from '@sinclair/typebox';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** A timestamp on the wire (ISO 8601; the database's dates are sent as ISO text). */
export const Timestamp = Type.String();

/** A shape whose fields are the server's own (a report, a document): checked as an object only. */
export const OpenObject = (props: Parameters<typeof Type.Object>[0] = {}) =>
  Type.Object(props, { additionalProperties: true });

export const DeletedResponse = Type.Object({ deleted: Type.String() });
export const RevokedResponse = Type.Object({ revoked: Type.String() });

/** The path parameter of routes addressing one resource by id. */
export const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) });
