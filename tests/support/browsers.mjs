// The three browser engines the end-to-end tests and the browser benchmark
// run in, each driven through its own W3C WebDriver server with the
// maintained `selenium-webdriver` client. Nothing is downloaded: every
// browser and driver is a Debian package or built from crates.io by
// scripts/setup.sh, and the driver is started here on a free loopback port
// (`usingServer`), so Selenium Manager never runs.
//
//   chromium  Debian's chromium + chromium-driver (chromedriver)
//   firefox   Debian's firefox-esr + geckodriver (`cargo install geckodriver`)
//   webkit    Debian's webkit2gtk-driver (WebKitWebDriver), which launches
//             WebKitGTK's MiniBrowser; it has no headless mode, so it needs
//             an X display (scripts/test-web.sh runs it under xvfb-run)
//
// The capabilities of Chromium and Firefox come from webdriver.json at the
// repository root, the file wasm-bindgen-test-runner reads too, so both
// kinds of browser test start the same browsers the same way.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder } from 'selenium-webdriver';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Finds `name` in `PATH` or cargo's bin folder, where `cargo install` puts it. */
function which(name) {
  const cargoBin = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin');
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), cargoBin]) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

const webdriverJson = () => JSON.parse(readFileSync(join(root, 'webdriver.json'), 'utf8'));

/** Each engine: its WebDriver server, the browser it starts, the capabilities asked. */
export const ENGINES = {
  chromium: {
    label: 'Chromium',
    driver: () => process.env.CHROMEDRIVER ?? which('chromedriver'),
    browser: () => webdriverJson()['goog:chromeOptions'].binary,
    capabilities: () => ({ browserName: 'chrome', 'goog:chromeOptions': webdriverJson()['goog:chromeOptions'] }),
  },
  firefox: {
    label: 'Firefox ESR',
    driver: () => process.env.GECKODRIVER ?? which('geckodriver'),
    browser: () => webdriverJson()['moz:firefoxOptions'].binary,
    capabilities: () => ({ browserName: 'firefox', 'moz:firefoxOptions': webdriverJson()['moz:firefoxOptions'] }),
  },
  webkit: {
    label: 'WebKitGTK',
    driver: () => process.env.WEBKITWEBDRIVER ?? which('WebKitWebDriver'),
    browser: () => '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
    capabilities: () => ({ browserName: 'MiniBrowser' }),
    display: true,
  },
};

/** The engine named by SEALTRAIL_ENGINE (default chromium), checked. */
export function engineFromEnv() {
  const name = process.env.SEALTRAIL_ENGINE ?? 'chromium';
  if (!ENGINES[name]) throw new Error(`SEALTRAIL_ENGINE: expected one of ${Object.keys(ENGINES).join(', ')}, found \`${name}\``);
  return name;
}

/** Why `engine` cannot start here (a missing binary or display), or null. */
export function missing(engine) {
  const e = ENGINES[engine];
  const driver = e.driver();
  if (!driver || !existsSync(driver)) return `${e.label}: no WebDriver server (run scripts/setup.sh)`;
  if (!existsSync(e.browser())) return `${e.label}: no browser at ${e.browser()} (run scripts/setup.sh)`;
  if (e.display && !process.env.DISPLAY) return `${e.label}: needs an X display (run under xvfb-run)`;
  return null;
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts `engine`'s WebDriver server and one browser session on it; resolves
 * with the selenium `driver`, the browser's name and version, and `quit`.
 */
export async function startBrowser(engine) {
  const why = missing(engine);
  if (why) throw new Error(why);
  const e = ENGINES[engine];
  const port = await freePort();
  const server = spawn(e.driver(), [`--port=${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (d) => { stderr += d; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/status`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 100 || server.exitCode !== null) {
      server.kill();
      throw new Error(`${e.label}: the WebDriver server did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let driver;
  try {
    driver = await new Builder().disableEnvironmentOverrides().usingServer(url).withCapabilities(e.capabilities()).build();
  } catch (err) {
    server.kill();
    throw new Error(`${e.label}: no session: ${err.message}\n${stderr}`);
  }
  // One window size everywhere (MiniBrowser opens at 1024x730, where the
  // break-glass dialog scrolls and WebKitWebDriver will not click inside it).
  await driver.manage().window().setRect({ width: 1280, height: 1024 });
  const caps = await driver.getCapabilities();
  return {
    engine,
    driver,
    name: e.label,
    version: caps.getBrowserVersion(),
    async quit() {
      try {
        await driver.quit();
      } finally {
        server.kill();
      }
    },
  };
}

/**
 * Runs `fn` (a function's source, called with `args`) in the page and
 * resolves with what it returns or resolves to; a throw in the page rejects
 * here. Elements (selenium WebElements) go as top-level arguments only:
 * WebKitWebDriver does not look inside arrays for them. The WebDriver
 * server evaluates the script outside the page's CSP.
 */
export async function evaluate(driver, fn, ...args) {
  const out = await driver.executeAsyncScript(
    `const args = [...arguments];
     const done = args.pop();
     Promise.resolve().then(() => (${fn})(...args))
       .then((value) => done({ value: value === undefined ? null : value }),
             (e) => done({ error: e instanceof Error ? \`\${e.name}: \${e.message}\` : String(e) }));`,
    ...args.map((a) => (a === undefined ? null : a)),
  );
  if (out && 'error' in out) throw new Error(`in the page: ${out.error}`);
  return out?.value;
}
