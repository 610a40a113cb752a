/**
 * The statements of model.ts as documents scanners read: OpenVEX 0.2.0 (Trivy, Grype: `--vex`)
 * and CycloneDX 1.5 (a BOM of the stated components with their vulnerabilities' analysis), built
 * with @cyclonedx/cyclonedx-library. Pure: the caller gives the time and the document id.
 */
import { createHash } from 'node:crypto';
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import type { VexStatement } from './model.js';

export interface DocumentMeta {
  /** Who states it, e.g. "Hotpatch control plane https://hp.example" or "hotpatch vex (host)". */
  author: string;
  /** What the document covers, e.g. "fleet", "device dev_…", "pid 1234": part of its id. */
  scope: string;
  now: Date;
  toolVersion: string;
  /**
   * The product scanned, when it is not the package itself (e.g. pkg:oci/web@sha256:… for an
   * image): the package becomes its subcomponent. Grype matches products against the image it
   * scans and subcomponents against packages; Trivy matches either.
   */
  product?: string;
}

export const OPENVEX_CONTEXT = 'https://openvex.dev/ns/v0.2.0';

const instances = (xs: readonly string[]) =>
  xs.length > 3 ? `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more` : xs.join(', ');

/** One line a person reads in the scanner's output: what runs where, since when, and what to do. */
export function statementNotes(s: VexStatement): string {
  const fixed = s.fixed.map(
    (f) => `${f.instance} runs ${f.patchId} (${f.version}) in memory since ${f.since ?? 'an unknown time'}`,
  );
  const disk = `on disk: ${s.component.name}@${s.component.version} (the vulnerable release stays until the next baseline)`;
  const parts = [
    ...fixed,
    ...(s.affected.length ? [`vulnerable code runs in ${instances(s.affected)}`] : []),
    disk,
  ];
  return parts.join('; ');
}

export function actionText(s: VexStatement): string {
  const a = s.action;
  if (!a) return '';
  if (a.kind === 'hotpatch-available')
    return `hotpatch available: apply ${a.patchId} (version ${a.version}) in memory, no restart (hotpatch apply / deploy)`;
  return `baseline needed: these processes cannot take a hotpatch; update ${s.component.name} to ${a.fixedIn ?? 'a fixed release'} and restart`;
}

function documentId(meta: DocumentMeta, statements: readonly VexStatement[]): string {
  const h = createHash('sha256')
    .update(
      JSON.stringify([
        meta.scope,
        meta.now.toISOString(),
        statements.map((s) => [s.advisory, s.component.purl, s.status]),
      ]),
    )
    .digest('hex')
    .slice(0, 32);
  return `urn:hotpatch:vex:${h}`;
}

/** OpenVEX 0.2.0. A document without statements is not valid OpenVEX: the caller says so instead. */
export function openVex(statements: readonly VexStatement[], meta: DocumentMeta) {
  const now = meta.now.toISOString();
  return {
    '@context': OPENVEX_CONTEXT,
    '@id': documentId(meta, statements),
    author: meta.author,
    timestamp: now,
    version: 1,
    tooling: `hotpatch ${meta.toolVersion}`,
    statements: statements.map((s) => ({
      vulnerability: { name: s.advisory },
      timestamp: s.since ?? now,
      products: [
        meta.product
          ? {
              '@id': meta.product,
              subcomponents: [{ '@id': s.component.purl, identifiers: { purl: s.component.purl } }],
            }
          : { '@id': s.component.purl, identifiers: { purl: s.component.purl } },
      ],
      status: s.status,
      status_notes: statementNotes(s),
      ...(s.status === 'affected'
        ? { action_statement: actionText(s), action_statement_timestamp: now }
        : {}),
    })),
  };
}

const sourceOf = (id: string): Models.Vulnerability.Source | undefined =>
  id.startsWith('CVE-')
    ? new Models.Vulnerability.Source({ name: 'NVD', url: new URL(`https://nvd.nist.gov/vuln/detail/${id}`) })
    : id.startsWith('GHSA-')
      ? new Models.Vulnerability.Source({
          name: 'GitHub',
          url: new URL(`https://github.com/advisories/${id}`),
        })
      : undefined;

/** CycloneDX 1.5 BOM with VEX: components as loaded from disk, each advisory's analysis against them. */
export function cycloneDxVex(
  statements: readonly VexStatement[],
  meta: DocumentMeta,
): Record<string, unknown> {
  const bom = new Models.Bom();
  bom.metadata.timestamp = meta.now;
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, 'hotpatch', { version: meta.toolVersion }),
  );
  const components = new Map<string, Models.Component>();
  for (const s of statements) {
    if (components.has(s.component.purl)) continue;
    const c = new Models.Component(Enums.ComponentType.Library, s.component.name, {
      version: s.component.version,
      bomRef: s.component.purl,
      purl: s.component.purl,
    });
    components.set(s.component.purl, c);
    bom.components.add(c);
  }
  for (const s of statements) {
    const c = components.get(s.component.purl) as Models.Component;
    const fixed = s.status === 'fixed';
    const v = new Models.Vulnerability.Vulnerability({
      bomRef: `${s.advisory}@${s.component.purl}`,
      id: s.advisory,
      source: sourceOf(s.advisory),
      analysis: new Models.Vulnerability.Analysis({
        state: fixed
          ? Enums.Vulnerability.AnalysisState.Resolved
          : Enums.Vulnerability.AnalysisState.Exploitable,
        detail: fixed ? statementNotes(s) : `${statementNotes(s)}. ${actionText(s)}`,
      }),
      recommendation: fixed ? undefined : actionText(s),
    });
    v.analysis?.response.add(Enums.Vulnerability.AnalysisResponse.Update);
    v.affects.add(
      new Models.Vulnerability.Affect(c.bomRef, {
        versions: new Models.Vulnerability.AffectedVersionRepository([
          new Models.Vulnerability.AffectedSingleVersion(s.component.version, {
            status: fixed
              ? Enums.Vulnerability.AffectStatus.Unaffected
              : Enums.Vulnerability.AffectStatus.Affected,
          }),
        ]),
      }),
    );
    for (const f of s.fixed) {
      v.properties.add(
        new Models.Property(
          'hotpatch:fixed-in-memory',
          `${f.instance} ${f.patchId} ${f.version} since ${f.since ?? 'unknown'}`,
        ),
      );
    }
    for (const a of s.affected) v.properties.add(new Models.Property('hotpatch:affected-instance', a));
    bom.vulnerabilities.add(v);
  }
  const factory = new Serialize.JSON.Normalize.Factory(Spec.Spec1dot5);
  return factory.makeForBom().normalize(bom, { sortLists: true }) as unknown as Record<string, unknown>;
}
