// The office's pages (served by libreta-server under /office) in a real headless Chromium, at
// a phone's size and a desk's: a manager signs in with a token, filters the book, edits a
// customer and works a conflict through; a seller's device is the `libreta` command line,
// syncing against the same server. Everything runs in a temporary directory on 127.0.0.1.
//
// Run by run.sh, which sets LIBRETA_BUILD_DIR. Screenshots go to BUILD/screenshots/office/;
// with LIBRETA_UPDATE_DOC_IMAGES=1 they are also copied to docs/images/.
'use strict';

const { describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { Child, run, layoutProblems, wordProblems, axeProblems, stepper, textOf } = require('./support');

const BUILD = path.resolve(process.env.LIBRETA_BUILD_DIR || path.join(__dirname, '../../build'));
const BIN = {
  libreta: path.join(BUILD, 'tools/libreta/libreta'),
  server: path.join(BUILD, 'server/libreta-server'),
};
const CHROMIUM = process.env.LIBRETA_CHROMIUM || '/usr/bin/chromium';
delete process.env.LIBRETA_HOME;
const SHOTS = path.join(BUILD, 'screenshots/office');
const DOC_IMAGES = path.join(__dirname, '../../docs/images');
const PHONE = { width: 360, height: 780 };
const DESK = { width: 1280, height: 800 };

const world = { dir: '', server: null, origin: '', tokens: {}, ids: {}, browser: null, page: null,
                failed: false, errors: [] };

const sellerHome = () => path.join(world.dir, 'ana');
async function seller(...args) {
  return run(BIN.libreta, ['--home', sellerHome(), ...args], { env: { LANG: 'C.UTF-8' } });
}

// The company's other system, through the REST API.
async function api(method, target, body) {
  const response = await fetch(world.origin + target, {
    method,
    headers: { Authorization: `Bearer ${world.tokens.marta}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${target} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  if (process.env.LIBRETA_UPDATE_DOC_IMAGES === '1') {
    fs.copyFileSync(file, path.join(DOC_IMAGES, `office-${name}.png`));
  }
}

async function pageProblems(page) {
  const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  return [
    ...(await page.evaluate(layoutProblems)),
    ...(await page.evaluate(wordProblems)),
    ...(await axeProblems(page, axeSource)),
  ];
}

async function submit(page, button, expected = 303) {
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    button.click(),
  ]);
  assert.equal(answer.status(), expected, `${answer.url()} answered ${answer.status()}`);
  await page.waitForLoadState();
}

const step = stepper(world);

before(
  async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (Debian package chromium)`);
    world.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'libreta-office-'));
    const db = path.join(world.dir, 'server.db');
    for (const [user, role] of [['ana', 'seller'], ['marta', 'manager']]) {
      const { stdout } = await run(BIN.server, ['token', 'create', '--db', db, '--user', user, '--role', role]);
      world.tokens[user] = stdout.trim();
    }
    world.server = new Child('server', BIN.server,
      ['serve', '--db', db, '--listen', '127.0.0.1:0', '--threads', '1'], { logDir: world.dir });
    const port = (await world.server.waitFor(/listen=127\.0\.0\.1:(\d+)/, 'its port'))[1];
    world.origin = `http://127.0.0.1:${port}`;

    const customers = [
      ['Peña Hermanos', 'Sevilla', 'active', 'ana'],
      ['Distribuciones Ortega', 'Málaga', 'active', 'luis'],
      ['Bodegas Núñez', 'Jerez de la Frontera', 'occasional', 'ana'],
      ['Ferretería Ruiz', 'Sevilla', 'prospect', 'luis'],
    ];
    for (const [name, city, status, owner] of customers) {
      const created = await api('POST', '/api/v1/customers', { kind: 'company', name, city, status, owner });
      world.ids[name] = created.id;
    }
    await seller('init', '--server', `ws://127.0.0.1:${port}/sync`, '--token', world.tokens.ana,
                 '--owner', 'ana');
    await seller('sync');

    world.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
    const context = await world.browser.newContext({ viewport: PHONE, locale: 'es-ES' });
    context.setDefaultTimeout(10_000);
    world.page = await context.newPage();
    world.page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) world.errors.push(m.text());
    });
    world.page.on('pageerror', (e) => world.errors.push(e.message));
  },
  { timeout: 60_000 },
);

after(async () => {
  if (world.browser) await world.browser.close().catch(() => {});
  if (world.server) await world.server.stop();
  if (!world.dir) return;
  if (world.failed) {
    console.log(`---- server (last lines) ----\n${world.server && world.server.tail()}`);
    console.log(`Kept for a look: ${world.dir}`);
  } else {
    fs.rmSync(world.dir, { recursive: true, force: true });
  }
});

describe("the office's pages in a browser", { concurrency: false }, () => {
  step("a seller's token is refused; a manager's opens the book", async () => {
    const page = world.page;
    await page.goto(world.origin + '/office');
    assert.equal(new URL(page.url()).pathname, '/office/signin');
    await page.locator('#token').fill(world.tokens.ana);
    await submit(page, page.getByRole('button', { name: 'Entrar' }), 403);
    assert.match(await textOf(page.locator('.notice.error')), /hace falta uno vigente de responsable/);
    await page.locator('#token').fill(world.tokens.marta);
    await submit(page, page.getByRole('button', { name: 'Entrar' }));
    assert.equal(new URL(page.url()).pathname, '/office');
    assert.match(await textOf(page.locator('main h1')), /La cartera de todos los vendedores/);
    assert.equal(await page.locator('tbody tr').count(), 4);
    assert.deepEqual(await pageProblems(page), []);
    await screenshot(page, 'book');
  });

  step('filters the book by city and seller on the server', async () => {
    const page = world.page;
    // On a phone the filters are folded away until asked for; they stay open while set.
    assert.equal(await page.locator('#f-city').isVisible(), false);
    await page.locator('details.card > summary').click();
    await page.locator('#f-city').fill('Sevilla');
    await page.locator('#f-owner').fill('luis');
    await Promise.all([page.waitForURL(/city=Sevilla/), page.locator('form.filters button').click()]);
    assert.equal(await page.locator('#f-city').isVisible(), true);
    const names = await page.locator('tbody tr td:first-child').allInnerTexts();
    assert.deepEqual(names, ['Ferretería Ruiz']);
    const csv = await page.request.get(world.origin + '/office/book.csv?city=Sevilla');
    assert.equal(csv.status(), 200);
    const text = await csv.text();
    assert.match(text, /Peña Hermanos/);
    assert.doesNotMatch(text, /Bodegas Núñez/);
  });

  step("an edit in the office reaches the seller's device", async () => {
    const page = world.page;
    await page.goto(world.origin + '/office?owner=ana');
    await Promise.all([page.waitForURL(/customers\//), page.getByRole('link', { name: 'Peña Hermanos' }).click()]);
    assert.match(await textOf(page.locator('main h1')), /Peña Hermanos/);
    await page.locator('#e-city').fill('Carmona');
    await submit(page, page.getByRole('button', { name: 'Guardar' }));
    assert.match(await textOf(page.locator('.notice')), /Guardado/);
    assert.deepEqual(await pageProblems(page), []);
    await screenshot(page, 'customer');
    await seller('sync');
    const { stdout } = await seller('--json', 'customer', 'show', world.ids['Peña Hermanos']);
    assert.equal(JSON.parse(stdout).customer.city, 'Carmona');
  });

  step('a conflict with the seller is shown by name and resolved', async () => {
    const page = world.page;
    // Ana changes the phone offline; the office changes it too; then Ana syncs.
    await seller('customer', 'edit', world.ids['Bodegas Núñez'], '--phone', '956 000 111');
    await api('PATCH', `/api/v1/customers/${world.ids['Bodegas Núñez']}`, { phone: '956 999 888' });
    await seller('sync');
    await page.goto(world.origin + '/office/conflicts');
    assert.match(await textOf(page.locator('main')), /Bodegas Núñez/);
    assert.match(await textOf(page.locator('main')), /Teléfono/);
    assert.deepEqual(await pageProblems(page), []);
    await screenshot(page, 'conflicts');
    await submit(page, page.getByRole('button', { name: 'Quedarse con el otro valor' }));
    assert.match(await textOf(page.locator('main')), /No hay conflictos abiertos/);
    const conflicts = await api('GET', '/api/v1/conflicts?state=resolved');
    assert.equal(conflicts.items.length, 1);
    assert.equal(conflicts.items[0].resolved.by, 'marta');
  });

  step("lists the devices and moves a seller's customers to another", async () => {
    const page = world.page;
    await page.goto(world.origin + '/office/devices');
    assert.match(await textOf(page.locator('main')), /ana/);
    assert.deepEqual(await pageProblems(page), []);
    await screenshot(page, 'devices');
    await page.getByRole('link', { name: 'Reasignar' }).click();
    await page.locator('#from').fill('luis');
    await page.locator('#to').fill('ana');
    await submit(page, page.getByRole('button', { name: 'Reasignar' }), 200);
    assert.match(await textOf(page.locator('.notice')), /2 clientes pasados de luis a ana/);
    assert.deepEqual(await pageProblems(page), []);
    await seller('sync');
    const { stdout } = await seller('--json', 'customer', 'show', world.ids['Ferretería Ruiz']);
    assert.equal(JSON.parse(stdout).customer.owner, 'ana');
  });

  step('at a desk the book is a table; nothing loads from elsewhere', async () => {
    const page = world.page;
    await page.setViewportSize(DESK);
    await page.goto(world.origin + '/office');
    assert.deepEqual(await page.evaluate(layoutProblems), []);
    await screenshot(page, 'book-desk');
    assert.deepEqual(world.errors, []);
  });
});
