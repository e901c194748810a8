// What the browser tests of the seller's app stand on: the programs of a build directory run
// as child processes (stopped at the end, also when a test fails), the manager's command line,
// waiting on a condition with a deadline, and checks run inside a page (layout, tap targets,
// accessibility).
'use strict';

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

// ---- Waiting -----------------------------------------------------------------------------------

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function shown(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

// Polls `probe` until it answers { ok: true }; past the deadline, fails naming what was awaited
// and what was seen last. A probe that throws counts as not yet (a page between two loads).
async function eventually(what, probe, { timeout = 10_000, every = 150 } = {}) {
  const deadline = Date.now() + timeout;
  let seen;
  for (;;) {
    try {
      const result = await probe();
      if (result.ok) return result.seen;
      seen = result.seen;
    } catch (e) {
      seen = `(${e.message.split('\n')[0]})`;
    }
    if (Date.now() >= deadline) {
      assert.fail(`${what}: not within ${timeout / 1000} s; last seen: ${shown(seen)}`);
    }
    await pause(every);
  }
}

// ---- Child processes ---------------------------------------------------------------------------

const running = new Set();

// Whatever happens to the test process, no server, proxy or app outlives it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

class Child {
  constructor(name, command, args, { env = {}, logDir, stdin = false } = {}) {
    this.name = name;
    this.output = '';
    this.log = path.join(logDir, `${name}.log`);
    this.process = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    running.add(this.process);
    const keep = (chunk) => {
      const text = chunk.toString();
      this.output += text;
      fs.appendFileSync(this.log, text);
    };
    this.process.stdout.on('data', keep);
    this.process.stderr.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        running.delete(this.process);
        resolve({ code, signal });
      });
    });
    this.process.on('error', (e) => {
      this.output += `\n${name}: cannot run ${command}: ${e.message}\n`;
    });
  }

  get alive() {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  // The first match of `pattern` in what the process printed, waiting for it.
  async waitFor(pattern, what, timeout = 10_000) {
    return eventually(
      `${this.name} prints ${what}`,
      async () => {
        const match = this.output.match(pattern);
        if (match) return { ok: true, seen: match };
        if (!this.alive) throw new Error(`${this.name} exited: ${this.output.slice(-2000)}`);
        return { ok: false, seen: this.output.slice(-300) };
      },
      { timeout, every: 50 },
    );
  }

  // SIGTERM, then SIGKILL if it has not stopped in time.
  async stop(timeout = 5_000) {
    if (!this.alive) return this.exited;
    this.process.kill('SIGTERM');
    const stopped = await Promise.race([this.exited, pause(timeout).then(() => null)]);
    if (stopped) return stopped;
    this.process.kill('SIGKILL');
    return this.exited;
  }

  tail(chars = 3000) {
    return this.output.slice(-chars);
  }
}

// The fault-injecting proxy between the seller's app and the server, commanded on its stdin;
// each command is answered by one "ok ..." or "error ..." line.
class FaultProxy extends Child {
  async command(line) {
    const before = this.output.length;
    this.process.stdin.write(`${line}\n`);
    const answer = await eventually(
      `the proxy answers "${line}"`,
      async () => {
        const m = this.output.slice(before).match(/^(ok|error)[^\n]*$/m);
        return m ? { ok: true, seen: m[0] } : { ok: false, seen: this.output.slice(before) };
      },
      { timeout: 5_000, every: 20 },
    );
    assert.match(answer, /^ok/, `the proxy refused "${line}": ${answer}`);
  }
}

// Runs a program to its end; fails with its output when it exits non-zero.
function run(command, args, { env = {}, timeout = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env: { ...process.env, ...env }, timeout, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${path.basename(command)} ${args.join(' ')} failed (${error.code ?? error.signal}):\n` +
                `${stdout}${stderr}`,
            ),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

// ---- Steps -------------------------------------------------------------------------------------

// A test step that, when it fails, marks `world.failed`, so that the end can tell where the logs
// were kept.
function stepper(world) {
  return (name, fn, options = {}) =>
    it(name, { timeout: 90_000, ...options }, async () => {
      try {
        await fn();
      } catch (e) {
        world.failed = true;
        throw e;
      }
    });
}

// The text of an element as a reader sees it, white space folded.
async function textOf(locator) {
  return (await locator.innerText()).replace(/\s+/g, ' ').trim();
}

// ---- Checks run inside a page ------------------------------------------------------------------

// Horizontal overflow, tap targets under 44 px and inputs under 16 px (a phone zooms into them).
// Returns one line per problem.
function layoutProblems() {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) {
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 5)
      .map((e) => `<${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + String(e.className).trim().replace(/\s+/g, '.') : ''}>`);
    problems.push(
      `scrolls sideways: scrollWidth ${doc.scrollWidth} > ${window.innerWidth}` +
        (wide.length ? ` (past the edge: ${wide.join(', ')})` : ''),
    );
  }
  const describe = (e) => {
    const tag = e.tagName.toLowerCase();
    const type = tag === 'input' ? `[type=${e.type}]` : '';
    const id = e.id ? `#${e.id}` : '';
    const name = e.getAttribute('name') ? `[name=${e.getAttribute('name')}]` : '';
    const text = (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 40);
    return `<${tag}${type}${id}${name}>${text ? ` "${text}"` : ''}`;
  };
  const visible = (e) => {
    const box = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    return (
      box.width > 1 &&
      box.height > 1 &&
      style.visibility !== 'hidden' &&
      style.display !== 'none' &&
      Number(style.opacity) > 0
    );
  };
  const targets = new Set([
    ...document.querySelectorAll('button, .button, input[type=submit], nav.tabs a, input, select, textarea'),
  ]);
  for (const e of targets) {
    if (e.type === 'hidden') continue;
    let target = e;
    // A radio or checkbox hidden behind its styled label is tapped through the label.
    if (!visible(e) && e.tagName === 'INPUT' && e.closest('label')) target = e.closest('label');
    if (!visible(target)) continue;
    const box = target.getBoundingClientRect();
    if (box.height < 44) {
      problems.push(`tap target ${Math.round(box.height * 10) / 10} px high (< 44): ${describe(e)}`);
    }
  }
  for (const e of document.querySelectorAll('input, select, textarea')) {
    if (e.type === 'hidden' || e.type === 'checkbox' || e.type === 'radio') continue;
    const size = parseFloat(getComputedStyle(e).fontSize);
    if (size < 16) problems.push(`input font ${size} px (< 16): ${describe(e)}`);
  }
  return problems;
}

// Text a reader cannot read as words: a word of a short label split across two lines
// ("Sincronizació" / "n"), or a text squeezed into a column a few letters wide. Long words
// (addresses, emails) may break on a narrow screen; words up to 20 letters fit any phone.
function wordProblems() {
  const problems = [];
  const where = (e) => {
    const parts = [];
    for (let n = e; n && n !== document.body && parts.length < 3; n = n.parentElement) {
      parts.unshift(`${n.tagName.toLowerCase()}${n.id ? '#' + n.id : ''}${n.classList.length ? '.' + [...n.classList].join('.') : ''}`);
    }
    return parts.join(' > ');
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const e = node.parentElement;
    if (!e || e.closest('script, style, .visually-hidden, [aria-hidden=true]')) continue;
    const style = getComputedStyle(e);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const text = node.textContent;
    const box = e.getBoundingClientRect();
    if (box.width > 0 && box.width < 30 && text.replace(/\s/g, '').length >= 4 && !seen.has(e)) {
      seen.add(e);
      problems.push(`text squeezed to ${Math.round(box.width)} px wide: "${text.trim().slice(0, 40)}" in ${where(e)}`);
      continue;
    }
    for (const m of text.matchAll(/[\p{L}\p{N}]{4,20}/gu)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (lines.size > 1) {
        const key = `${m[0]} ${where(e)}`;
        if (!seen.has(key)) {
          seen.add(key);
          problems.push(`word "${m[0]}" broken across ${lines.size} lines in ${where(e)}`);
        }
      }
    }
  }
  return problems;
}

// The serious and critical accessibility violations axe finds, one readable line per node.
async function axeProblems(page, axeSource) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    if (result.passes.length === 0) throw new Error('axe checked nothing');
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) =>
      v.nodes.map(
        (n) => `${v.impact} ${v.id} (${v.help}): ${n.target}: ${(n.summary || '').replace(/\s+/g, ' ')}`,
      ),
    );
}

module.exports = {
  stepper,
  textOf,
  eventually,
  pause,
  Child,
  FaultProxy,
  run,
  layoutProblems,
  wordProblems,
  axeProblems,
};
