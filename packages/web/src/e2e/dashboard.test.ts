/**
 * The dashboard end to end: Debian's Chromium (driven by playwright-core) against a real server on
 * PGlite with real runtime processes enrolled (the server's own test fixtures): sign in, see a
 * device, create a policy, deploy a hotpatch and watch it reach "applied" live, revert it; a
 * viewer sees no mutating controls. Screenshots of the main pages go to docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { HotpatchServer } from '@hotpatch/server';
import { type AppProcess, client, fixture, startApp, startTestServer, until } from '@hotpatch/server/testing';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromium, SHOTS } from './browser.js';

const VIEWPORT = { width: 1280, height: 800 };

const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-web-e2e-'));
const apps: AppProcess[] = [];
let srv: HotpatchServer;
let browser: Browser;
let adminToken = '';
let patchId = '';

before(async () => {
  requireChromium();
  const fx = fixture();
  patchId = fx.patchId;
  const ts = await startTestServer({ dataDir });
  srv = ts.srv;
  adminToken = ts.adminToken;
  const admin = ts.admin;
  // The devices pick their ring with HOTPATCH_LABELS: a token that allows device labels.
  const enrollToken = (
    await admin.post('/v1/enroll-tokens', { name: 'self-labelling', allowDeviceLabels: true })
  ).json.token as string;
  const pub = await admin.postRaw('/v1/bundles', fx.bundle.toString());
  assert.equal(pub.status, 201, JSON.stringify(pub.json));
  for (const [host, ring] of [
    ['host-a', 'canary'],
    ['host-b', 'broad'],
  ] as const) {
    apps.push(
      await startApp(fx, {
        server: srv.url,
        enrollToken,
        host,
        service: 'web',
        labels: { ring },
        home: join(dataDir, `home-${host}`),
      }),
    );
  }
  await until('two devices connected with facts', async () => {
    const r = await admin.get('/v1/devices');
    const ds = r.json.devices as Array<{ connected: boolean; notable: unknown[]; otherComponents: number }>;
    return ds.length === 2 && ds.every((d) => d.connected && d.notable.length + d.otherComponents > 0);
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await Promise.all(apps.map((a) => a.stop()));
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const ctx = await browser.newContext({ viewport: VIEWPORT, reducedMotion: 'reduce' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20_000);
  page.on('dialog', (d) => void d.accept());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  (page as Page & { jsErrors: string[] }).jsErrors = errors;
  return page;
}
const nav = (page: Page, name: string) =>
  page.getByRole('navigation').getByRole('link', { name, exact: true });
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(srv.url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
}

test('admin: sign in, see devices, create a policy, deploy live to "applied", expedite, revert', async () => {
  const page = await newPage();
  // Sign-in: a bad token is refused with a message, a good one gets in.
  await page.goto(`${srv.url}/devices`);
  await page.getByLabel('API token').fill('hpt_000000000000_xxxxxxxxxxxxxxxxxxxxxxxx');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .getByRole('alert')
    .filter({ hasText: /invalid or revoked/ })
    .waitFor();
  await page.getByLabel('API token').fill('');
  await shot(page, 'sign-in');
  await page.getByLabel('API token').fill(adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').filter({ hasText: 'admin' }).waitFor();
  await page.getByTestId('live').filter({ hasText: 'Live' }).waitFor();

  // Devices: both enrolled runtimes, searchable; the device page shows identity and patch level.
  await page.getByTestId('devices').getByRole('link', { name: 'host-a/web' }).waitFor();
  await page.getByRole('link', { name: 'host-b/web' }).waitFor();
  await page.getByLabel('Search devices').fill('host-b');
  await page.getByRole('link', { name: 'host-a/web' }).waitFor({ state: 'detached' });
  await page.getByLabel('Search devices').fill('');
  await shot(page, 'devices');
  await page.getByRole('link', { name: 'host-a/web' }).click();
  await page.getByRole('heading', { name: 'host-a/web' }).waitFor();
  assert.equal(await page.getByTestId('version-id').first().textContent(), '1.2.5');

  // Policy with two rings (canary now, broad after 2 days).
  await nav(page, 'Policies & rings').click();
  await page.getByTestId('new-policy').click();
  const form = page.getByTestId('policy-form');
  await form.locator('input[name=name]').fill('prod');
  await form.getByLabel('Ring 2 selector').fill('ring=broad');
  await form.getByLabel('Ring 2 deferral').fill('2');
  await form.locator('input[name=maxFailures]').fill('5');
  await form.getByTestId('save-policy').click();
  const prod = page.locator('[data-policy=prod]');
  await prod.waitFor();
  // Pause and resume (pushed back through the event stream).
  await page.getByTestId('pause-prod').click();
  await prod.locator('[data-state=paused]').waitFor();
  await page.getByTestId('resume-prod').click();
  await prod.locator('[data-state=paused]').waitFor({ state: 'detached' });
  await shot(page, 'policies');

  // Catalog: the hotpatch with its change list and signature; deploy it to prod.
  await nav(page, 'Catalog').click();
  await page.getByRole('link', { name: patchId }).click();
  await page.getByTestId('changes').waitFor();
  await page.getByText('verified').first().waitFor();
  await shot(page, 'catalog-hotpatch');
  await page.getByLabel('Policy to deploy to').selectOption('prod');
  await page.getByTestId('deploy').click();

  // Deployment page: the canary reaches "applied" live (no reload), broad waits for its deferral.
  const row = (host: string) => page.locator(`[data-device="${host}/web"]`);
  await row('host-a').locator('[data-state=applied]').waitFor();
  await row('host-b').locator('[data-state=scheduled]').waitFor();
  assert.equal((await apps[0]?.get())?.polluted, false, 'canary hotpatched in memory');
  assert.equal((await apps[1]?.get())?.polluted, true, 'broad still deferred');
  await shot(page, 'deployment-in-progress');
  await page.getByTestId('expedite').click();
  await row('host-b').locator('[data-state=applied]').waitFor();
  assert.equal((await apps[1]?.get())?.polluted, false);
  assert.equal((await apps[1]?.get())?.pid, apps[1]?.pid, 'same process: no restart');
  await shot(page, 'deployment-applied');

  // The device page now shows the version identifier beside the fixed release.
  await row('host-a').getByRole('link').click();
  await page.getByTestId('version-id').filter({ hasText: '1.2.5+hp.1' }).waitFor();
  await page.getByText('1.2.6', { exact: true }).waitFor();
  await shot(page, 'device');

  // Overview, calendar, audit.
  await nav(page, 'Overview').click();
  await page.getByTestId('kpi-avoided').filter({ hasText: '2' }).waitFor();
  await page.locator('.recharts-surface').first().waitFor();
  await shot(page, 'overview');
  await nav(page, 'Calendar').click();
  await page.getByTestId('months').waitFor();
  await shot(page, 'calendar');
  await nav(page, 'Audit log').click();
  await page.getByTestId('audit').getByText('deployment.create').waitFor();
  await shot(page, 'audit');

  // Revert, fleet-wide, watched live from the deployments list -> deployment page.
  await nav(page, 'Deployments').click();
  await page.getByTestId('deployments').getByRole('link', { name: patchId }).click();
  await page.getByTestId('revert').click();
  await page.getByTestId('deployment-state').locator('[data-state=reverted]').waitFor();
  await row('host-a').locator('[data-state=reverted]').waitFor();
  await row('host-b').locator('[data-state=reverted]').waitFor();
  assert.equal((await apps[0]?.get())?.polluted, true, 'baseline code back after revert');
  await nav(page, 'Deployments').click();
  await page.getByTestId('deployments').waitFor();
  await shot(page, 'deployments');
  const errors = (page as Page & { jsErrors: string[] }).jsErrors;
  // The one expected console error: the refused bad token at sign-in.
  assert.deepEqual(
    errors.filter((e) => !/status of 401/.test(e)),
    [],
    'no errors in the browser console',
  );
  assert.equal(errors.filter((e) => /status of 401/.test(e)).length, 1);
  await page.context().close();
});

test('viewer: sees the fleet, no mutating controls; the server refuses anyway', async () => {
  const admin = client(srv.url, adminToken);
  const v = await admin.post('/v1/tokens', { name: 'dash-viewer', role: 'viewer' });
  assert.equal(v.status, 201);
  const page = await newPage();
  await signIn(page, v.json.token as string);
  await page.getByTestId('who').filter({ hasText: 'viewer' }).waitFor();
  await nav(page, 'Policies & rings').click();
  await page.locator('[data-policy=prod]').waitFor();
  assert.equal(await page.getByTestId('new-policy').count(), 0);
  assert.equal(await page.getByRole('button', { name: /Pause|Resume|Edit/ }).count(), 0);
  await nav(page, 'Catalog').click();
  await page.getByRole('link', { name: patchId }).click();
  await page.getByTestId('changes').waitFor();
  assert.equal(await page.getByTestId('deploy').count(), 0);
  await nav(page, 'Deployments').click();
  await page.getByTestId('deployments').getByRole('link', { name: patchId }).click();
  await page.getByTestId('ring-progress').waitFor();
  assert.equal(await page.getByTestId('revert').count(), 0);
  assert.equal(await page.getByTestId('expedite').count(), 0);
  const refused = await client(srv.url, v.json.token as string).post('/v1/policies/prod/pause');
  assert.equal(refused.status, 403);
  // Sign out forgets the token (sessionStorage).
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').waitFor();
  assert.equal(await page.evaluate('sessionStorage.getItem("hotpatch.token")'), null);
  await page.context().close();
});

test('server: SPA fallback serves the dashboard, API paths keep JSON 404s, events need a token', async () => {
  const html = await fetch(`${srv.url}/deployments/some-id`);
  assert.equal(html.status, 200);
  assert.match(await html.text(), /<div id="root">/);
  const api = await fetch(`${srv.url}/v1/nope`);
  assert.equal(api.status, 404);
  assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'E_NOT_FOUND');
  assert.equal((await fetch(`${srv.url}/v1/events`)).status, 401);
  const ctl = new AbortController();
  const res = await fetch(`${srv.url}/v1/events`, {
    headers: { authorization: `Bearer ${adminToken}` },
    signal: ctl.signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = res.body?.getReader();
  const first = await reader?.read();
  assert.match(new TextDecoder().decode(first?.value), /event: hello/);
  ctl.abort();
});
