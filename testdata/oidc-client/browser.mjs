// Browser test: Chromium (the Debian package, driven by playwright-core)
// logs in through authd's login pages the way a person would — typing into
// labelled fields, pressing buttons, waiting on the self-refreshing push
// page while `authd authenticator` approves the push — and keeps a screenshot of every page in $ARTIFACTS for review.
// The Go test TestBrowserLogin in protocols/oauth starts the provider and
// runs this file with the environment of suite.mjs plus:
//
//   CHROMIUM    the browser binary (default /usr/bin/chromium)
//   ARTIFACTS   where the screenshots go
//   AUTHD_BIN, AUTHD_AUTHENTICATOR_STATE
//               the authd command and the software authenticator's state
//               file, which enrols and approves the push login
//   EXAMPLE_ISSUER, EXAMPLE_CALLBACK, EXAMPLE_SECRET, EXAMPLE_PASSWORD
//               examples/oidc served with its push service (webapp client)
//
// The last line is "N passed, N failed"; the exit code is 1 on any failure.

import { chromium } from 'playwright-core';
import * as client from 'openid-client';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const issuer = new URL(process.env.AUTHD_ISSUER);
const callback = process.env.AUTHD_CALLBACK;
const secrets = JSON.parse(process.env.AUTHD_SECRETS);
const user = process.env.AUTHD_USER;
const password = process.env.AUTHD_PASSWORD;
const otp = process.env.AUTHD_CODE;
const artifacts = process.env.ARTIFACTS || 'test-artifacts';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// authenticator runs `authd authenticator ARGS` with the test's state
// file and returns its output; a non-zero exit throws with it.
function authenticator(args, input) {
  const [cmd, ...rest] = args;
  const out = execFileSync(process.env.AUTHD_BIN, ['authenticator', cmd, '-state', process.env.AUTHD_AUTHENTICATOR_STATE, ...rest],
    { input, encoding: 'utf8', timeout: 60000, stdio: ['pipe', 'pipe', 'pipe'] });
  console.log(`     authd authenticator ${cmd}: ${out.trim().split('\n')[0]}`);
  return out;
}

let shot = 0;
async function snap(page, name) {
  shot++;
  const file = path.join(artifacts, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`     screenshot ${file}`);
}

async function configFor(id) {
  return client.discovery(issuer, id, undefined, client.ClientSecretBasic(secrets[id]), { execute: [client.allowInsecureRequests] });
}

async function authorize(cfg, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(cfg, {
    redirect_uri: callback, scope: 'openid profile email', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { url, verifier, state, nonce };
}

async function finish(cfg, page, req) {
  await page.waitForURL((u) => u.href.startsWith(callback), { timeout: 20000 });
  const tokens = await client.authorizationCodeGrant(cfg, new URL(page.url()), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce,
  });
  return tokens;
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('name/password, then a choice, then a code', async () => {
  const cfg = await configFor('web');
  const ctx = await browser.newContext({ locale: 'en-US' });
  const page = await ctx.newPage();
  const req = await authorize(cfg);
  await page.goto(req.url.href);
  // The fields are found by their labels, as a screen reader would.
  await page.getByLabel('User name').waitFor();
  assert.match(await page.locator('header').innerText(), /Example Corp/);
  await snap(page, 'credentials');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // A wrong password ends this journey (password_check -> failure): the
  // relying party is told access_denied.
  await page.waitForURL((u) => u.href.startsWith(callback));
  assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied');
  await snap(page, 'access-denied');

  const again = await authorize(cfg);
  await page.goto(again.url.href);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('group', { name: 'How do you want to confirm it is you?' }).waitFor();
  await snap(page, 'choice');
  await page.getByRole('button', { name: 'code' }).click();
  const code = page.getByLabel('Code from your authenticator');
  await code.waitFor();
  assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
  await snap(page, 'code');
  await code.fill(otp);
  await page.getByRole('button', { name: 'Verify' }).click();
  const tokens = await finish(cfg, page, again);
  await snap(page, 'back-at-the-app');
  assert.equal(tokens.claims().sub, user);
  assert.equal(tokens.claims().acr, 'mfa');

  // The SSO cookie: a second login at the same relying party skips the
  // journey; prompt=login brings the login page back.
  const sso = await authorize(cfg);
  await page.goto(sso.url.href);
  const t2 = await finish(cfg, page, sso);
  assert.equal(t2.claims().auth_time, tokens.claims().auth_time);
  const cookies = await ctx.cookies();
  const c = cookies.find((k) => k.name === 'authd_sso');
  assert.ok(c && c.httpOnly && c.sameSite === 'Lax', 'SSO cookie is HttpOnly and SameSite=Lax');
  const forced = await authorize(cfg, { prompt: 'login' });
  await page.goto(forced.url.href);
  await page.getByLabel('User name').waitFor();
  await ctx.close();
});

// examples/oidc, served as `authd run` serves it: the web app's journey
// enrols a device from the QR page when the user has none, then sends a
// push with number matching. The device is `authd authenticator` (the
// poll provider's device protocol), run as a person would run it.
test('push login at examples/oidc, approved by authd authenticator', async () => {
  const exIssuer = new URL(process.env.EXAMPLE_ISSUER);
  const exCallback = process.env.EXAMPLE_CALLBACK;
  const cfg = await client.discovery(exIssuer, 'webapp', undefined, client.ClientSecretBasic(process.env.EXAMPLE_SECRET), { execute: [client.allowInsecureRequests] });
  const ctx = await browser.newContext({ locale: 'en-US' });
  const page = await ctx.newPage();
  const verifier = client.randomPKCECodeVerifier();
  const req = {
    verifier, state: client.randomState(), nonce: client.randomNonce(),
  };
  const url = client.buildAuthorizationUrl(cfg, {
    redirect_uri: exCallback, scope: 'openid profile email groups', state: req.state, nonce: req.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  await page.goto(url.href);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(process.env.EXAMPLE_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // No device yet: the registration page shows a QR code and the URI.
  const img = page.getByRole('img', { name: /QR code/ });
  await img.waitFor();
  await snap(page, 'push-registration-qr');
  const uri = (await page.locator('figcaption code').innerText()).trim();
  assert.match(uri, /^authd:\/\/enroll\?/);
  const enrolled = authenticator(['enroll', '-name', 'browser test', '-'], uri + '\n');
  assert.match(enrolled, /^enrolled alice@corp/m);

  // The page refreshes itself until the enrolment is seen, then the push
  // goes out and the wait page shows the number to choose on the phone.
  await page.getByText('Tap this number on your phone').waitFor({ timeout: 30000 });
  const refresh = await page.locator('meta[http-equiv="refresh"]').getAttribute('content');
  assert.match(refresh, /^1;url=/, 'the wait page refreshes itself');
  const number = (await page.locator('.number').innerText()).trim();
  assert.match(number, /^\d+$/);
  await snap(page, 'push-wait');
  const pending = authenticator(['pending', '-wait', '20s']);
  assert.match(pending, /number matching/);
  // Nothing listens at the example's callback (the web app is not part of
  // the test), so the redirect to it is caught as a request, not a page.
  const back = page.waitForRequest((r) => r.url().startsWith(exCallback), { timeout: 30000 });
  authenticator(['approve', '-number', number, '-wait', '20s']);

  // The next refresh carries the answer: the browser is sent back to the
  // web app with a code.
  const cb = new URL((await back).url());
  assert.ok(cb.searchParams.get('code'), `a code in ${cb.href}`);
  const tokens = await client.authorizationCodeGrant(cfg, cb, {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce,
  });
  assert.equal(tokens.claims().sub, user);
  assert.equal(tokens.claims().acr, 'push');
  await ctx.close();
});

test('enrolment QR page', async () => {
  const cfg = await client.discovery(issuer, 'enrol', undefined, client.None(), { execute: [client.allowInsecureRequests] });
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const req = await authorize(cfg, { scope: 'openid' });
  await page.goto(req.url.href);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const img = page.getByRole('img', { name: /QR code/ });
  await img.waitFor();
  // The element can be in the page before its image has arrived: wait for
  // the load (or the error) instead of reading it at once.
  const ok = await img.evaluate((el) => (el.complete
    ? el.naturalWidth > 0
    : new Promise((resolve) => {
      el.addEventListener('load', () => resolve(el.naturalWidth > 0), { once: true });
      el.addEventListener('error', () => resolve(false), { once: true });
    })));
  assert.ok(ok, 'the QR image loaded');
  await snap(page, 'qr-enrolment');
  await page.getByRole('button', { name: 'Continue' }).click();
  await finish(cfg, page, req);
  await ctx.close();
});

test('RP-initiated logout asks first without an ID token hint', async () => {
  const cfg = await configFor('web');
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(new URL('/oauth2/logout', issuer).href);
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await snap(page, 'logout-confirm');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You are signed out').waitFor();
  await snap(page, 'signed-out');
  await ctx.close();
  void cfg;
});

test('a bad redirect URI shows an error page and goes nowhere', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const u = new URL('/oauth2/authorize', issuer);
  u.search = new URLSearchParams({ client_id: 'web', response_type: 'code', redirect_uri: 'https://evil.example/cb', scope: 'openid', state: 'state-0123456789' }).toString();
  const resp = await page.goto(u.href);
  assert.equal(resp.status(), 400);
  assert.equal(new URL(page.url()).host, issuer.host);
  await snap(page, 'bad-redirect-uri');
  await ctx.close();
});

let passed = 0, failed = 0;
for (const t of tests) {
  try {
    await t.fn();
    passed++;
    console.log(`ok   ${t.name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}\n     ${(e && (e.stack || e.message)) || e}`);
  }
}
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
