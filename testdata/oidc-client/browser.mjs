// Browser test: Chromium (the Debian package, driven by playwright-core)
// logs in through authd's login pages the way a person would — typing into
// labelled fields, pressing buttons, waiting on the self-refreshing push
// page — and keeps a screenshot of every page in $ARTIFACTS for review.
// The Go test TestBrowserLogin in protocols/oauth starts the provider and
// runs this file with the environment of suite.mjs plus:
//
//   CHROMIUM    the browser binary (default /usr/bin/chromium)
//   ARTIFACTS   where the screenshots go
//
// The last line is "N passed, N failed"; the exit code is 1 on any failure.

import { chromium } from 'playwright-core';
import * as client from 'openid-client';
import assert from 'node:assert/strict';
import path from 'node:path';

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

test('push wait page refreshes itself until the phone approves', async () => {
  const cfg = await configFor('web');
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const req = await authorize(cfg);
  await page.goto(req.url.href);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'push' }).click();
  await page.getByText('Tap this number on your phone').waitFor();
  assert.equal((await page.locator('.number').innerText()).trim(), '42');
  await snap(page, 'push-wait');
  // Let the page refresh itself at least once, then approve "on the phone".
  await page.waitForTimeout(1500);
  const res = await fetch(new URL('/test/approve', issuer), { method: 'POST', body: new URLSearchParams({ user }) });
  assert.equal(res.status, 200, 'a push was pending');
  const tokens = await finish(cfg, page, req);
  assert.equal(tokens.claims().sub, user);
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
  const ok = await img.evaluate((el) => el.complete && el.naturalWidth > 0);
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
