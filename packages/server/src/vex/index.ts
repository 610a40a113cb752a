export {
  actionText,
  cycloneDxVex,
  type DocumentMeta,
  OPENVEX_CONTEXT,
  openVex,
  statementNotes,
} from './documents.js';
export {
  type FixedIn,
  npmPurl,
  splitTarget,
  type VexInstance,
  type VexPatch,
  type VexStatement,
  vexStatements,
} from './model.js';
