// The seller's app (`libreta serve`) in a real headless Chromium, as a seller uses it on a
// phone: a real sync server, a fault-injecting proxy that takes the seller offline at will,
// the seller's book served by `libreta serve`, and the office's book driven with the `libreta`
// command line straight against the server. Everything runs in a temporary directory on
// 127.0.0.1 and is stopped at the end.
//
// Run by run.sh, which sets LIBRETA_BUILD_DIR to the build directory holding the programs.
// Screenshots of the main screens go to BUILD/screenshots/seller-app/; with
// LIBRETA_UPDATE_DOC_IMAGES=1 they are also copied to docs/images/ for the guides.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const {
  eventually,
  Child,
  FaultProxy,
  run,
  layoutProblems,
  wordProblems,
  axeProblems,
  stepper,
  textOf,
} = require('./support');

const BUILD = path.resolve(process.env.LIBRETA_BUILD_DIR || path.join(__dirname, '../../build'));
const BIN = {
  libreta: path.join(BUILD, 'tools/libreta/libreta'),
  server: path.join(BUILD, 'server/libreta-server'),
  proxy: path.join(BUILD, 'tools/faultproxy/libreta-faultproxy'),
};
const CHROMIUM = process.env.LIBRETA_CHROMIUM || '/usr/bin/chromium';
// The programs see only the book and the day each test gives them.
delete process.env.LIBRETA_HOME;
delete process.env.LIBRETA_TODAY;
const SHOTS = path.join(BUILD, 'screenshots/seller-app');
const DOC_IMAGES = path.join(__dirname, '../../docs/images');

// The phone the seller holds.
const PHONE = { width: 360, height: 780 };

// The seller's "today" is pinned, so that a follow-up for tomorrow is due the day after, when
// the app is opened again with the next date.
function isoDay(date) {
  const two = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
}
const now = new Date();
const TODAY = isoDay(now);
const TOMORROW = isoDay(new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 12));

// ---- The world the tests share -----------------------------------------------------------------

const world = {
  dir: '',
  server: null, // Child
  serverPort: 0,
  proxy: null, // FaultProxy
  proxyPort: 0,
  seller: null, // Child: libreta serve
  signInUrl: '',
  origin: '',
  tokens: {},
  ids: {}, // customer name → id
  browser: null,
  context: null,
  page: null,
  requests: [], // every URL any page asked for
  cspReports: [], // Content-Security-Policy refusals and uncaught script errors
  failed: false,
};

const sellerHome = () => path.join(world.dir, 'seller');
const managerHome = () => path.join(world.dir, 'office');

// The office's command line, straight against the server.
async function manager(...args) {
  return run(BIN.libreta, ['--home', managerHome(), ...args], { env: { LANG: 'C.UTF-8' } });
}
async function managerJson(...args) {
  const { stdout } = await manager('--json', ...args);
  return JSON.parse(stdout);
}
// The office syncs until the customer's field holds `value` (the seller's device sends it by
// itself, in its own time).
async function managerSees(customer, field, value, timeout = 20_000) {
  await eventually(
    `the office's book gets ${field} = "${value}" for ${customer}`,
    async () => {
      await manager('sync', '--timeout', '10');
      const shown = await managerJson('customer', 'show', world.ids[customer]);
      return { ok: shown.customer[field] === value, seen: shown.customer[field] };
    },
    { timeout, every: 500 },
  );
}

// `libreta serve` for the seller's book, on a free port; its one-time sign-in link is read
// from what it prints.
async function startSeller(today) {
  world.seller = new Child(
    `serve-${today}`,
    BIN.libreta,
    ['--home', sellerHome(), 'serve', '--listen', '127.0.0.1:0'],
    { env: { LANG: 'es_ES.UTF-8', LIBRETA_TODAY: today }, logDir: world.dir },
  );
  const match = await world.seller.waitFor(
    /http:\/\/127\.0\.0\.1:(\d+)\/signin\?key=[A-Za-z0-9_-]+/,
    'its sign-in link',
  );
  world.signInUrl = match[0];
  world.origin = `http://127.0.0.1:${match[1]}`;
}

async function newContext(options = {}) {
  const context = await world.browser.newContext({
    viewport: PHONE,
    deviceScaleFactor: 1,
    locale: 'es-ES',
    ...options,
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  context.on('request', (request) => world.requests.push(request.url()));
  context.on('page', watchPage);
  return context;
}

function watchPage(page) {
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) {
      world.cspReports.push(`${page.url()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => world.cspReports.push(`${page.url()}: ${error.message}`));
}

const url = (p) => world.origin + p;

async function goto(page, p) {
  const response = await page.goto(url(p));
  assert.equal(response.status(), 200, `GET ${p} answered ${response.status()}`);
  return response;
}

// The sync bar, as the page's own script keeps it up to date (nothing here reloads the page).
async function barBecomes(page, state, text, timeout) {
  return eventually(
    `the sync bar shows ${state}${text ? ` with ${text}` : ''}`,
    async () => {
      const bar = await page.evaluate(() => {
        const b = document.getElementById('sync-bar');
        return b && { state: b.getAttribute('data-state'), text: b.innerText.replace(/\s+/g, ' ') };
      });
      const ok = !!bar && bar.state === state && (!text || text.test(bar.text));
      return { ok, seen: bar };
    },
    { timeout, every: 250 },
  );
}

// Scrolls just enough that `locator` ends above the tab bar, without its top going under the
// sync bar: what a screenshot is about is then on the phone's screen.
async function reveal(locator) {
  await locator.evaluate((e) => {
    const tabs = document.querySelector('nav.tabs');
    const header = document.querySelector('header.top');
    const lowest = window.innerHeight - (tabs ? tabs.getBoundingClientRect().height : 0) - 8;
    const highest = (header ? header.getBoundingClientRect().bottom : 0) + 8;
    const box = e.getBoundingClientRect();
    if (box.bottom > lowest) window.scrollBy(0, Math.min(box.bottom - lowest, box.top - highest));
  });
}

async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  if (process.env.LIBRETA_UPDATE_DOC_IMAGES === '1') {
    fs.mkdirSync(DOC_IMAGES, { recursive: true });
    fs.copyFileSync(file, path.join(DOC_IMAGES, `seller-app-${name}.png`));
  }
}

// Taps a button that posts its form; fails with what the app answered unless it is `expected`
// (303: done, and on to the next page).
async function submit(page, button, expected = 303) {
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    button.click(),
  ]);
  const status = answer.status();
  const body = status === 303 ? '' : (await answer.text()).replace(/\s+/g, ' ').trim();
  assert.equal(status, expected, `${answer.url()} answered ${status}: ${body.slice(0, 300)}`);
  await page.waitForLoadState();
  return answer;
}

// Taps Guardar and waits for the saved card.
async function saveForm(page) {
  await submit(page, page.getByRole('button', { name: 'Guardar' }));
  await page.waitForURL(/\?notice=saved$/);
}

// Each step records a failure, so that the end can tell where the logs are.
const step = stepper(world);

// ---- Set-up and tear-down ----------------------------------------------------------------------

before(
  async () => {
    try {
      await setUp();
    } catch (e) {
      world.failed = true;
      throw e;
    }
  },
  { timeout: 60_000 },
);

async function setUp() {
  for (const [name, file] of Object.entries(BIN)) {
    assert.ok(fs.existsSync(file), `${name}: ${file} is missing (build the project first)`);
  }
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (Debian package chromium)`);
  world.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'libreta-browser-'));
  const db = path.join(world.dir, 'server.db');

  // The server, with a token for the seller and one for the office.
  for (const [user, role] of [
    ['ana', 'seller'],
    ['office', 'manager'],
  ]) {
    const { stdout } = await run(BIN.server, [
      'token', 'create', '--db', db, '--user', user, '--role', role,
    ]);
    world.tokens[user] = stdout.trim();
    assert.match(world.tokens[user], /^lbt_/, `no token printed for ${user}`);
  }
  world.server = new Child(
    'server',
    BIN.server,
    ['serve', '--db', db, '--listen', '127.0.0.1:0', '--threads', '1'],
    { logDir: world.dir },
  );
  world.serverPort = Number(
    (await world.server.waitFor(/listen=127\.0\.0\.1:(\d+)/, 'the port it listens on'))[1],
  );

  // The proxy the seller's device goes through.
  world.proxy = new FaultProxy(
    'proxy',
    BIN.proxy,
    ['--upstream', `127.0.0.1:${world.serverPort}`, '--listen', '127.0.0.1:0'],
    { logDir: world.dir, stdin: true },
  );
  world.proxyPort = Number(
    (await world.proxy.waitFor(/listening 127\.0\.0\.1:(\d+)/, 'the port it listens on'))[1],
  );

  // The office's book, with three customers given to ana.
  await manager(
    'init', '--server', `ws://127.0.0.1:${world.serverPort}/sync`,
    '--token', world.tokens.office, '--owner', 'office',
  );
  const customers = [
    ['Peña Hermanos', 'Sevilla', '954 210 310', 'active', 'pedidos@penahermanos.es'],
    ['Distribuciones Ortega', 'Málaga', '952 100 200', 'active', 'info@ortega.es'],
    ['Bodegas Núñez', 'Jerez de la Frontera', '956 330 440', 'occasional', 'bodega@nunez.es'],
  ];
  for (const [name, city, phone, status, email] of customers) {
    const created = await managerJson(
      'customer', 'add', '--name', name, '--city', city, '--phone', phone,
      '--email', email, '--status', status, '--owner', 'ana',
    );
    world.ids[name] = created.id;
  }
  await manager('sync');

  // The seller's book, through the proxy, opened in the browser.
  await run(BIN.libreta, [
    '--home', sellerHome(), 'init', '--server', `ws://127.0.0.1:${world.proxyPort}/sync`,
    '--token', world.tokens.ana, '--owner', 'ana',
  ]);
  await startSeller(TODAY);

  world.browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  world.context = await newContext();
  world.page = await world.context.newPage();
}

after(
  async () => {
    if (world.browser) await world.browser.close().catch(() => {});
    for (const child of [world.seller, world.proxy, world.server]) {
      if (child) await child.stop();
    }
    if (!world.dir) return;
    if (world.failed) {
      for (const child of [world.server, world.proxy, world.seller]) {
        if (child) console.log(`---- ${child.name} (last lines) ----\n${child.tail()}`);
      }
      console.log(`Kept for a look: ${world.dir}`);
    } else {
      fs.rmSync(world.dir, { recursive: true, force: true });
    }
  },
  { timeout: 30_000 },
);

// ---- The seller's day --------------------------------------------------------------------------

describe("the seller's app in a browser", { concurrency: false }, () => {
  step('signs in with the printed link, which then works no more', async () => {
    const page = world.page;
    const response = await page.goto(world.signInUrl);
    assert.equal(response.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/', 'sign-in lands on Today');
    assert.match(await textOf(page.locator('main h1')), /^Hoy/);
    assert.equal(await page.locator('html').getAttribute('lang'), 'es');
    assert.match(await textOf(page.locator('nav.tabs a[aria-current=page]')), /Hoy/);

    // The same link in another browser is refused, and signs nobody in.
    const stranger = await newContext();
    try {
      const other = await stranger.newPage();
      const again = await other.goto(world.signInUrl);
      assert.equal(again.status(), 403, 'a used sign-in link is refused');
      assert.match(await other.locator('body').innerText(), /ya se usó o no es válido/);
      const home = await other.goto(url('/'));
      assert.equal(home.status(), 401, 'the refused browser is not signed in');
    } finally {
      await stranger.close();
    }

    // The signed-in one still is, and its book syncs by itself.
    await goto(page, '/');
    await barBecomes(page, 'online', /Conectado · todo enviado/, 30_000);
    // Replaced by the one with a follow-up due, when the visit below is logged.
    await screenshot(page, 'today');
  });

  step('adds a customer through the form, refusing a bad email first', async () => {
    const page = world.page;
    await page.locator('nav.tabs').getByRole('link', { name: 'Nuevo' }).click();
    await page.waitForURL('**/customers/new');
    assert.match(await textOf(page.locator('main h1')), /Nuevo cliente/);
    await page.locator('#f-name').fill('Ferretería Ruiz');
    await page.locator('#f-phone').fill('955 123 456');
    // Good enough for the browser's own check, not for the book: no domain after the name.
    await page.locator('#f-email').fill('compras@ferreteriaruiz');
    await page.locator('#f-city').fill('Écija');
    // Refused, and the form is shown again (422).
    await submit(page, page.getByRole('button', { name: 'Guardar' }), 422);
    assert.match(await textOf(page.locator('main .notice.error')), /Revise los campos marcados/);

    // The message sits next to the field, and the field points at it.
    const email = page.locator('#f-email');
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    assert.equal(await email.getAttribute('aria-describedby'), 'f-email-error');
    const message = page.locator('.field.invalid', { has: email }).locator('#f-email-error');
    assert.ok(await message.isVisible(), 'the email error is shown under the email field');
    assert.match(await textOf(message), /«compras@ferreteriaruiz» no es un email válido/);
    assert.equal(await page.locator('.field.invalid').count(), 1, 'only the email is marked');
    // What was typed is still there.
    assert.equal(await page.locator('#f-name').inputValue(), 'Ferretería Ruiz');
    assert.equal(await page.locator('#f-city').inputValue(), 'Écija');
    await reveal(message);
    await screenshot(page, 'form');

    // Nothing was created.
    const listing = await page.request.get(url('/customers?partial=1&q=Ruiz'));
    assert.equal(listing.status(), 200);
    assert.doesNotMatch(await listing.text(), /Ferretería Ruiz/, 'the refused customer exists');

    await email.fill('compras@ferreteriaruiz.es');
    await saveForm(page);
    assert.match(page.url(), /\/customers\/[^/?]+\?notice=saved$/);
    world.ids['Ferretería Ruiz'] = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
    assert.equal(await textOf(page.locator('main h1')), 'Ferretería Ruiz');
    assert.match(await textOf(page.locator('main .notice.success')), /Guardado/);
    const details = await textOf(page.locator('#fields'));
    assert.match(details, /compras@ferreteriaruiz\.es/);
    assert.match(details, /Écija/);
  });

  step('logs a visit in two taps with a follow-up for tomorrow, done from Today the next day', async () => {
    const page = world.page;
    const name = 'Peña Hermanos';
    const id = world.ids[name];
    await goto(page, `/customers/${encodeURIComponent(id)}`);

    // Tap 1: the card's first button.
    await page.getByRole('link', { name: 'Registrar visita' }).click();
    await page.waitForURL(`**/customers/${encodeURIComponent(id)}/visit`);
    assert.match(await textOf(page.locator('main h1')), /Registrar visita.*Peña Hermanos/);
    // The follow-up's quick pick.
    await page.locator('label.chip-radio', { hasText: 'Mañana' }).click();
    assert.ok(await page.locator('input[name=follow_up][value=tomorrow]').isChecked());
    await reveal(page.locator('fieldset.outcomes'));
    await screenshot(page, 'visit');

    // Tap 2: the outcome saves.
    await submit(page, page.getByRole('button', { name: 'positivo', exact: true }));
    await page.waitForURL(/\?notice=visit_logged$/);
    assert.match(await textOf(page.locator('main .notice.success')), /Visita registrada/);
    const followup = page.locator('#followups li.followup');
    assert.equal(await followup.count(), 1, 'one follow-up on the card');
    assert.match(await textOf(followup), /Seguimiento de visita del \d\d\/\d\d\/\d{4} Mañana/);
    assert.match(await textOf(page.locator('#timeline')), /visita · positivo/i);
    await screenshot(page, 'card');

    // The next day the seller opens the app again: the follow-up is on Today.
    await world.seller.stop();
    await startSeller(TOMORROW);
    await page.goto(world.signInUrl);
    await page.waitForURL(url('/'));
    const due = page.locator('#followups li.followup', { hasText: name });
    assert.equal(await due.count(), 1, 'the follow-up is listed on Today');
    assert.match(await textOf(due), /Seguimiento de visita del \d\d\/\d\d\/\d{4} Peña Hermanos · hoy/);
    await barBecomes(page, 'online', /todo enviado/, 30_000);
    await screenshot(page, 'today');

    // One tap marks it done, and it leaves Today.
    await submit(page, due.getByRole('button', { name: 'Hecho' }));
    await page.waitForURL(/\/\?notice=done$/);
    assert.match(await textOf(page.locator('main .notice.success')), /Seguimiento hecho/);
    assert.equal(
      await page.locator('#followups li.followup', { hasText: name }).count(),
      0,
      'the done follow-up left Today',
    );
  });

  step('finds a customer as the seller types, without pressing Enter', async () => {
    const page = world.page;
    await goto(page, '/');
    await page.locator('nav.tabs').getByRole('link', { name: 'Clientes' }).click();
    await page.waitForURL(url('/customers'));
    const results = page.locator('#results');
    for (const name of ['Peña Hermanos', 'Distribuciones Ortega', 'Bodegas Núñez']) {
      assert.equal(await results.getByRole('link', { name }).count(), 1, `${name} is listed`);
    }
    await screenshot(page, 'customers');

    // Marks this very page: a reload or a submitted form would lose the mark.
    await page.evaluate(() => {
      window.sameDocument = true;
    });
    await page.locator('#q').pressSequentially('pena', { delay: 60 });
    await eventually('"Peña Hermanos", alone, in the results', async () => {
      const names = await results.locator('li strong').allInnerTexts();
      return { ok: names.length === 1 && names[0] === 'Peña Hermanos', seen: names };
    });
    assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page was reloaded');
    assert.match(page.url(), /[?&]q=pena\b/, 'the address keeps the search');
  });

  step('an edit made offline reaches the server by itself once back online', async () => {
    const page = world.page;
    const name = 'Distribuciones Ortega';
    let pending = '';
    await goto(page, `/customers/${encodeURIComponent(world.ids[name])}`);
    await barBecomes(page, 'online', /todo enviado/, 30_000);

    await world.proxy.command('refuse on');
    try {
      await world.proxy.command('cut-all');
      await barBecomes(page, 'offline', /Sin conexión/, 20_000);

      await page.getByRole('link', { name: 'Editar', exact: true }).click();
      await page.waitForURL('**/edit');
      await page.locator('#f-city').fill('Granada');
      await saveForm(page);
      assert.match(await textOf(page.locator('#fields')), /Granada/);
      pending = (await barBecomes(page, 'offline', /Sin conexión · \d+ cambios? por enviar/, 10_000)).text;
    } finally {
      // Back online; the page is left alone.
      await world.proxy.command('refuse off');
    }
    await barBecomes(page, 'online', /Conectado · todo enviado/, 45_000);
    await managerSees(name, 'city', 'Granada');
    // One field edited: one change to send.
    assert.match(pending, /· 1 cambio por enviar ·/, 'one edit shows as one change to send');
  });

  step("a conflict lost to the office's later edit is shown, and one tap puts hers back", async () => {
    const page = world.page;
    const name = 'Bodegas Núñez';
    const id = world.ids[name];
    await goto(page, `/customers/${encodeURIComponent(id)}`);
    await barBecomes(page, 'online', /todo enviado/, 30_000);

    await world.proxy.command('refuse on');
    try {
      await world.proxy.command('cut-all');
      await barBecomes(page, 'offline', /Sin conexión/, 20_000);
      await page.getByRole('link', { name: 'Editar', exact: true }).click();
      await page.waitForURL('**/edit');
      await page.locator('#f-city').fill('Cádiz');
      await saveForm(page);
      const savedAt = Date.now();

      // The office changes the same field later (not within the same second: people do not),
      // and its edit reaches the server first.
      await eventually('the clock passes to the next second', async () => ({
        ok: Math.floor(Date.now() / 1000) > Math.floor(savedAt / 1000),
      }));
      await manager('customer', 'edit', id, '--city', 'Sanlúcar de Barrameda');
      await manager('sync');
    } finally {
      await world.proxy.command('refuse off');
    }
    const alerts = await eventually(
      'the sync bar tells of a conflict',
      async () => {
        const text = await page.locator('#sync-alerts').innerText();
        return { ok: /\d+ conflictos?\b/.test(text), seen: text };
      },
      { timeout: 45_000, every: 250 },
    );
    await barBecomes(page, 'online', /Conectado/, 10_000);

    await page.locator('nav.tabs').getByRole('link', { name: 'Sincronizar' }).click();
    await page.waitForURL(url('/sync'));
    const listed = (await page.locator('#conflicts li.conflict').allInnerTexts()).map((c) =>
      c.replace(/\s+/g, ' '),
    );
    const conflict = page.locator('#conflicts li.conflict', { hasText: `${name} · Ciudad` });
    assert.equal(await conflict.count(), 1, 'the city conflict is listed on Sync');
    const told = await textOf(conflict);
    assert.match(told, /Se quedó «Sanlúcar de Barrameda», de office/);
    assert.match(told, /Su valor: «Cádiz»/);
    await reveal(page.locator('#conflicts'));
    await screenshot(page, 'sync');

    await submit(page, conflict.getByRole('button', { name: 'Volver a poner el mío' }));
    await page.waitForURL(/\/sync\?notice=put_back$/);
    assert.match(await textOf(page.locator('main .notice.success')), /Su valor vuelve a estar puesto/);
    await goto(page, `/customers/${encodeURIComponent(id)}`);
    assert.match(await textOf(page.locator('#fields')), /Cádiz/);
    await barBecomes(page, 'online', /todo enviado/, 30_000);
    await managerSees(name, 'city', 'Cádiz');
    // One field edited on both sides: one conflict, told once.
    assert.match(alerts, /^· 1 conflicto$/, 'one conflicting field shows as one conflict');
    assert.equal(listed.length, 1, `one conflict listed on Sync; listed:\n  ${listed.join('\n  ')}`);
  });

  step("each field's history tells what it was, when, on which device and by whom", async () => {
    const page = world.page;
    const id = world.ids['Bodegas Núñez'];
    await goto(page, `/customers/${encodeURIComponent(id)}`);
    const city = page.locator('#fields .kv', { hasText: 'Ciudad' });
    assert.match(await textOf(city), /desde este dispositivo/);
    await city.getByRole('link', { name: 'historial' }).click();
    await page.waitForURL(/\/history\/customers\/.*#f-city$/);
    const values = await page.locator('#f-city li strong').allInnerTexts();
    assert.equal(values[0], 'Cádiz', `the current value first; seen: ${values.join(', ')}`);
    assert.ok(values.includes('Sanlúcar de Barrameda'), `the office's value; seen: ${values.join(', ')}`);
    // Set offline, then lost to the office's, then put back: Cádiz twice.
    assert.equal(
      values.filter((v) => v === 'Cádiz').length,
      2,
      `the value set offline and put back; seen: ${values.join(', ')}`,
    );
    // The device's welcome said who uses the office's device.
    assert.match(await textOf(page.locator('#f-city')), /por office, desde el dispositivo/);
    await reveal(page.locator('#f-city'));
    await screenshot(page, 'history');
  });

  step('speaks English to a browser whose first language is English', async () => {
    const english = await newContext({
      locale: 'en-US',
      storageState: await world.context.storageState(),
    });
    try {
      const page = await english.newPage();
      await goto(page, '/');
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      assert.match(await textOf(page.locator('main h1')), /^Today/);
      const tabs = await page.locator('nav.tabs a').allInnerTexts();
      assert.deepEqual(
        tabs.map((t) => t.replace(/^\S+\s*/, '').trim()),
        ['Today', 'Customers', 'New', 'Sync'],
      );
      assert.match(await textOf(page.locator('#sync-text')), /^(Online|Offline)/);
    } finally {
      await english.close();
    }
  });

  // The screens a seller goes through, for the layout and accessibility checks.
  const screens = () => {
    const card = `/customers/${encodeURIComponent(world.ids['Peña Hermanos'])}`;
    return [
      ['Today', '/'],
      ['Clientes', '/customers'],
      ['the customer card', card],
      ['the customer form', '/customers/new'],
      ['the visit form', `${card}/visit`],
      ['Sync', '/sync'],
      ['the history', `/history/customers/${encodeURIComponent(world.ids['Bodegas Núñez'])}`],
    ];
  };

  step('fits a phone: no sideways scrolling, 44 px tap targets, 16 px inputs', async () => {
    const page = world.page;
    const problems = [];
    try {
      for (const width of [320, 360]) {
        await page.setViewportSize({ width, height: PHONE.height });
        for (const [name, p] of screens()) {
          await goto(page, p);
          for (const problem of await page.evaluate(layoutProblems)) {
            problems.push(`${width} px, ${name} (${p}): ${problem}`);
          }
        }
      }
    } finally {
      await page.setViewportSize(PHONE);
    }
    if (problems.length) assert.fail(`layout problems:\n  ${problems.join('\n  ')}`);
  });

  step('keeps words whole and readable at 320 and 360 px', async () => {
    const page = world.page;
    const problems = [];
    try {
      for (const width of [320, 360]) {
        await page.setViewportSize({ width, height: PHONE.height });
        for (const [name, p] of screens()) {
          await goto(page, p);
          for (const problem of await page.evaluate(wordProblems)) {
            problems.push(`${width} px, ${name} (${p}): ${problem}`);
          }
        }
      }
    } finally {
      await page.setViewportSize(PHONE);
    }
    if (problems.length) assert.fail(`unreadable text:\n  ${problems.join('\n  ')}`);
  });

  step('has no serious or critical accessibility violations', async () => {
    const page = world.page;
    const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    const problems = [];
    for (const [name, p] of screens()) {
      await goto(page, p);
      for (const problem of await axeProblems(page, axeSource)) {
        problems.push(`${name} (${p}): ${problem}`);
      }
    }
    if (problems.length) assert.fail(`accessibility violations:\n  ${problems.join('\n  ')}`);
  });

  step('asks nothing of any host but 127.0.0.1, and breaks no rule of its own CSP', async () => {
    assert.ok(world.requests.length > 20, `only ${world.requests.length} requests recorded`);
    const elsewhere = world.requests.filter((u) => {
      if (u.startsWith('data:')) return false;
      try {
        return new URL(u).hostname !== '127.0.0.1';
      } catch {
        return true;
      }
    });
    if (elsewhere.length) assert.fail(`requests that left 127.0.0.1:\n  ${elsewhere.join('\n  ')}`);
    if (world.cspReports.length) {
      assert.fail(`script errors or CSP refusals:\n  ${world.cspReports.join('\n  ')}`);
    }
  });
});
