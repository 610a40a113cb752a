/**
 * The admin's day in Chromium (issue 11), at 1280×800 and 1024×768, against a real server with a
 * real runtime process (minimist 1.2.5) and a simulated device in a policy without hotpatch:
 * CVE-2021-44906 imported as an OSV record; the Devices list's status column, counts, sorting and
 * CSV; a device page leading with what needs attention; the Vulnerabilities page; readiness on
 * the patch page; deploy → Hotpatched, deployment completed (no Expedite); the Reports page and
 * its CSV; no page wider than the window at 1024 px. Screenshots go to docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { HotpatchServer } from '@hotpatch/server';
import {
  type AppProcess,
  enrollOk,
  fixture,
  MINIMIST_OSV,
  online,
  readToken,
  startApp,
  startTestServer,
  until,
} from '@hotpatch/server/testing';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromium, SHOTS } from './browser.js';

const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 1024, height: 768 },
] as const;

const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-web-admin-'));
const fx = fixture();
const apps: AppProcess[] = [];
const sockets: Parameters<typeof online>[3] = [];
let srv: HotpatchServer;
let browser: Browser;
let adminToken = '';

before(async () => {
  requireChromium();
  const ts = await startTestServer({ dataDir });
  srv = ts.srv;
  adminToken = ts.adminToken;
  const admin = ts.admin;
  assert.equal((await admin.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
  assert.equal(
    (
      await admin.post('/v1/policies', {
        name: 'no-hotpatch',
        allowHotpatch: false,
        rings: [{ name: 'all', selector: { team: 'legacy' }, deferralDays: 0 }],
      })
    ).status,
    201,
  );
  apps.push(
    await startApp(fx, {
      server: srv.url,
      enrollToken: readToken(srv.bootstrap.enrollTokenFile),
      host: 'host-real',
      service: 'web',
      home: join(dataDir, 'home-real'),
    }),
  );
  const legacyToken = (await admin.post('/v1/enroll-tokens', { name: 'legacy', labels: { team: 'legacy' } }))
    .json.token as string;
  const legacy = await enrollOk(srv.url, legacyToken, 'host-legacy', { service: 'api' });
  await online(
    srv.url,
    legacy.credential,
    {
      pid: 4343,
      service: 'api',
      node: 'v22.1.0',
      engine: 'liveedit',
      signatureEnforcement: true,
      startedAt: new Date().toISOString(),
      patches: [],
      packages: [
        { name: 'minimist', version: '1.2.5', files: [] },
        ...Array.from({ length: 120 }, (_, i) => ({
          name: `dep-${String(i).padStart(3, '0')}`,
          version: '1.0.0',
          files: [],
        })),
      ],
    },
    sockets,
  );
  await until('both devices report minimist', async () => {
    const ds = (await admin.get('/v1/devices')).json.devices as Array<{ id: string }>;
    if (ds.length !== 2) return false;
    // The list counts the components without known issues; the device page names them all.
    for (const d of ds) {
      const full = (await admin.get(`/v1/devices/${d.id}`)).json.device.components as Array<{ name: string }>;
      if (!full.some((c) => c.name === 'minimist')) return false;
    }
    return true;
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const s of sockets) s.terminate();
  await Promise.all(apps.map((a) => a.stop()));
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function signedIn(viewport: { width: number; height: number }): Promise<Page> {
  const ctx = await browser.newContext({ viewport, reducedMotion: 'reduce', acceptDownloads: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20_000);
  page.on('dialog', (d) => void d.accept());
  await page.goto(srv.url);
  await page.getByLabel('API token').fill(adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
  return page;
}
const nav = (page: Page, name: string) =>
  page.getByRole('navigation').getByRole('link', { name, exact: true });
const shot = (page: Page, name: string, width: number) =>
  page.screenshot({ path: join(SHOTS, width === 1280 ? `${name}.png` : `${name}-${width}.png`) });
const statusOf = (page: Page, device: string, kind = '') =>
  page
    .getByTestId('devices')
    .locator(`[data-device="${device}"] [data-testid=device-status]${kind ? `[data-status=${kind}]` : ''}`);

/** The page fits the window: nothing wider than the viewport forces a horizontal scroll bar. */
async function fits(page: Page, what: string): Promise<void> {
  const { scroll, client: width } = (await page.evaluate(
    '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
  )) as { scroll: number; client: number };
  assert.ok(scroll <= width, `${what} is ${scroll}px wide in a ${width}px window`);
}

test('an unknown vulnerability becomes visible: Up to date → Not up to date once the OSV record is imported', async () => {
  const page = await signedIn(VIEWPORTS[0]);
  await nav(page, 'Devices').click();
  await statusOf(page, 'host-real/web', 'up-to-date').waitFor();
  // Import through the Vulnerabilities page (file upload).
  await nav(page, 'Vulnerabilities').click();
  await page.getByText('No advisories imported').waitFor();
  const file = join(dataDir, 'minimist.osv.json');
  writeFileSync(file, JSON.stringify(MINIMIST_OSV));
  await page.getByLabel('Import OSV files').setInputFiles(file);
  await page.getByText('1 added, 0 updated, 0 unchanged').waitFor();
  const row = page.locator('[data-advisory="CVE-2021-44906"]');
  await row.getByRole('link', { name: 'host-real/web' }).waitFor();
  await row.getByText('hotpatch available').waitFor();
  await row.getByText('baseline needed').waitFor();
  await page.close();
});

for (const viewport of VIEWPORTS) {
  test(`devices, device page, vulnerabilities, readiness, reports at ${viewport.width}×${viewport.height}`, async () => {
    const page = await signedIn(viewport);
    const w = viewport.width;
    await nav(page, 'Devices').click();
    const real = statusOf(page, 'host-real/web');
    const legacy = statusOf(page, 'host-legacy/api');
    await legacy.filter({ hasText: 'CVE-2021-44906 — baseline needed' }).waitFor();
    if (w === 1280) {
      // Before the deploy (first viewport only): the real runtime can take the hotpatch.
      await real.filter({ hasText: 'CVE-2021-44906 — hotpatch available' }).waitFor();
      assert.equal(
        await page.locator('[data-device="host-legacy/api"]').getByText('+120 other components').count(),
        1,
      );
      // Sorting by clicking the header; status chips filter.
      await page.getByRole('button', { name: /^Device/ }).click();
      await page.locator('th[aria-sort=ascending]').getByText('Device').waitFor();
      const order = await page
        .getByTestId('devices')
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device')));
      assert.deepEqual(order, ['host-legacy/api', 'host-real/web']);
      const download = page.waitForEvent('download');
      await page.getByTestId('devices-csv').click();
      const csv = readFileSync((await (await download).path()) as string, 'utf8');
      assert.match(csv, /^id,host,service,policy,ring,status,cves,action,connected,lastSeen,node\r\n/);
      assert.match(csv, /host-real,web,default,all,Not up to date: CVE-2021-44906 — hotpatch available/);
    }
    await fits(page, 'Devices');
    await shot(page, 'devices-status', w);

    // The device page leads with what needs attention; 121 components collapse to the vulnerable one.
    await page.getByRole('link', { name: 'host-legacy/api' }).click();
    const attention = page.getByTestId('attention');
    await attention.getByText('CVE-2021-44906 — baseline needed').waitFor();
    await attention.getByText(/deploy minimist@1\.2\.6 with a restart/).waitFor();
    const components = page.getByTestId('components').locator('tbody tr');
    assert.equal(await components.count(), 1);
    await page.getByTestId('toggle-components').click();
    assert.equal(await components.count(), 121);
    await page.getByTestId('toggle-components').click();
    await fits(page, 'Device page');
    await shot(page, 'device-attention', w);

    await nav(page, 'Vulnerabilities').click();
    await page.locator('[data-advisory="CVE-2021-44906"]').waitFor();
    await fits(page, 'Vulnerabilities');
    await shot(page, 'vulnerabilities', w);

    // Readiness on the patch page: why the legacy device cannot take it, in words.
    await nav(page, 'Catalog').click();
    await page.getByRole('link', { name: fx.patchId }).click();
    await page.getByLabel('Policy to deploy to').selectOption('no-hotpatch');
    const ready = page.getByTestId('readiness');
    await ready.getByText('No device of this policy can take it now.').waitFor();
    await ready
      .locator('[data-device="host-legacy/api"]')
      .getByText('policy no-hotpatch does not allow hotpatch')
      .waitFor();
    await fits(page, 'Catalog patch page');
    await shot(page, 'patch-readiness', w);
    if (w === 1280) {
      await page.getByLabel('Policy to deploy to').selectOption('default');
      await ready.getByText('1 device(s) would take it now').waitFor();
      await page.getByTestId('deploy').click();
      await page.locator('[data-device="host-real/web"] [data-state=applied]').waitFor();
      await page.getByTestId('deployment-state').waitFor();
      await page.locator('.page-head [data-state=completed]').waitFor();
      assert.equal(await page.getByTestId('expedite').count(), 0, 'nothing to expedite once completed');
      assert.equal((await apps[0]?.get())?.polluted, false, 'exploit gone in the running process');
      await nav(page, 'Devices').click();
      await statusOf(page, 'host-real/web', 'hotpatched')
        .filter({ hasText: /minimist 1\.2\.5\+hp\.1/ })
        .waitFor();
    }

    await nav(page, 'Reports').click();
    const adv = page.getByTestId('report-advisories').locator('[data-advisory="CVE-2021-44906"]');
    await adv.getByText('1 (0 hotpatchable)').waitFor();
    await page
      .getByTestId('report-devices')
      .locator('[data-device="host-real/web"]')
      .getByText('Hotpatched')
      .waitFor();
    if (w === 1280) {
      const download = page.waitForEvent('download');
      await page.getByTestId('advisories-csv').click();
      const csv = readFileSync((await (await download).path()) as string, 'utf8');
      assert.match(csv, /^advisory,summary,devices affected now/);
      assert.match(csv, /CVE-2021-44906,Prototype Pollution in minimist,1,0,1,/);
    }
    await fits(page, 'Reports');
    await shot(page, 'reports', w);
    for (const [name, ready] of [
      ['Catalog', 'a[href^="/catalog/"]'],
      ['Audit log', '[data-testid=audit]'],
      ['Deployments', '[data-testid=deployments]'],
      ['Overview', '.recharts-surface'],
    ] as const) {
      await nav(page, name).click();
      await page.locator(`main ${ready}`).first().waitFor();
      await fits(page, name);
    }
    await page.context().close();
  });
}
