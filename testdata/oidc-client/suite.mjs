// Integration suite: authd's OpenID Connect provider driven by openid-client
// (a certified relying-party library) over HTTP. The Go test
// TestOpenIDClientSuite in protocols/oauth starts the provider and runs this
// file with the environment below; it can also be run by hand against any
// authd with the same relying parties (see protocols/oauth/internal/oauthtest).
//
//   AUTHD_ISSUER      the issuer, e.g. http://127.0.0.1:41234
//   AUTHD_CALLBACK    the registered redirect URI
//   AUTHD_SECRETS     JSON: client id -> secret
//   AUTHD_USER, AUTHD_PASSWORD, AUTHD_CODE   the test user and one-time code
//   AUTHD_GRACE_MS    the refresh rotation grace window (the Go test runs the
//                     provider without one, so reuse is reuse at once and
//                     the suite never waits on the clock)
//
// The last line is "N passed, N failed"; the exit code is 1 on any failure.

import * as client from 'openid-client';
import * as jose from 'jose';
import assert from 'node:assert/strict';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const issuer = new URL(env('AUTHD_ISSUER'));
const callback = env('AUTHD_CALLBACK');
const secrets = JSON.parse(env('AUTHD_SECRETS'));
const user = env('AUTHD_USER');
const password = env('AUTHD_PASSWORD');
const otp = env('AUTHD_CODE');
const graceMs = Number(process.env.AUTHD_GRACE_MS || '0');

async function configFor(id, auth) {
  const cfg = await client.discovery(issuer, id, undefined, auth ?? client.ClientSecretBasic(secrets[id]), {
    execute: [client.allowInsecureRequests], // the test issuer is http on loopback
  });
  return cfg;
}

// ---- a minimal browser: cookies, manual redirects, form posts ----

class Browser {
  constructor() { this.cookies = new Map(); }
  cookieHeader() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  remember(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim(), value = pair.slice(i + 1).trim();
      if (attrs.some((a) => /max-age=-1|max-age=0\b/i.test(a.trim())) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  async fetch(url, init = {}) {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers || {}), cookie: this.cookieHeader() } });
    this.remember(res);
    return res;
  }
}

const unescape = (s) => s.replaceAll('&amp;', '&').replaceAll('&#43;', '+').replaceAll('&#34;', '"').replaceAll('&#39;', "'");

function parseForm(html) {
  const action = html.match(/<form method="post" action="([^"]+)"/);
  const csrf = html.match(/name="csrf" value="([^"]+)"/);
  assert.ok(action && csrf, `no form on the page:\n${html}`);
  const fields = [...html.matchAll(/<input id="[^"]+" name="(cb_[^"]+)" type="(?:text|password)"/g)].map((m) => m[1]);
  const button = html.match(/<button type="submit" name="(cb_[^"]+)"/);
  if (button) fields.push(button[1]);
  const radio = html.match(/<input type="radio" [^>]*name="(cb_[^"]+)"/);
  if (radio) fields.push(radio[1]);
  return { action: unescape(action[1]), csrf: unescape(csrf[1]), fields };
}

// login follows an authorization URL through the login pages, answering
// each page from steps (field suffix -> value), and returns the URL the
// browser is finally sent to (the relying party's redirect URI).
async function login(browser, authUrl, steps) {
  let res = await browser.fetch(authUrl);
  for (let i = 0; ; i++) {
    assert.ok([302, 303].includes(res.status), `step ${i}: status ${res.status}: ${await res.text()}`);
    const loc = new URL(res.headers.get('location'), issuer);
    if (!loc.pathname.startsWith('/oauth2/login')) return loc;
    const page = await browser.fetch(loc);
    const html = await page.text();
    assert.equal(page.status, 200, html);
    assert.ok(i < steps.length, `the journey asks more than the script answers:\n${html}`);
    const f = parseForm(html);
    const body = new URLSearchParams({ csrf: f.csrf });
    for (const name of f.fields) {
      for (const [k, v] of Object.entries(steps[i])) if (name.endsWith('_' + k)) body.set(name, v);
    }
    res = await browser.fetch(new URL(f.action, issuer), {
      method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
}

const mfaSteps = [{ username: user, password }, { choice: 'code' }, { code: otp }];
const passwordSteps = [{ username: user, password }];

// ---- the tests ----

const state = {};
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('discovery', async () => {
  const cfg = await configFor('web');
  const md = cfg.serverMetadata();
  assert.equal(md.issuer, issuer.href.replace(/\/$/, ''));
  for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint']) {
    assert.ok(md[k]?.startsWith(md.issuer), `${k} = ${md[k]}`);
  }
  assert.deepEqual(md.code_challenge_methods_supported, ['S256']);
  state.web = cfg;
});

test('authorization code + PKCE, login driven over HTTP, ID token validated against the JWKS', async () => {
  const cfg = state.web;
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const nonce = client.randomNonce();
  const st = client.randomState();
  const url = client.buildAuthorizationUrl(cfg, {
    redirect_uri: callback, scope: 'openid profile email groups offline_access',
    code_challenge: challenge, code_challenge_method: 'S256', nonce, state: st,
  });
  const back = await login(new Browser(), url, mfaSteps);
  // authorizationCodeGrant checks state, exchanges the code with the
  // verifier, and validates the ID token: signature (JWKS), iss, aud, exp,
  // iat, nonce.
  const tokens = await client.authorizationCodeGrant(cfg, back, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: st });
  const claims = tokens.claims();
  assert.equal(claims.sub, user);
  assert.equal(claims.acr, 'mfa');
  assert.equal(claims.nonce, nonce);
  assert.ok(claims.auth_time > 0, 'auth_time');
  assert.ok(tokens.refresh_token, 'refresh token');
  state.tokens = tokens;
});

test('userinfo', async () => {
  const info = await client.fetchUserInfo(state.web, state.tokens.access_token, user);
  assert.equal(info.sub, user);
  assert.ok(info.email, 'email');
  assert.ok(Array.isArray(info.groups) && info.groups.length > 0, 'groups claim');
});

test('refresh rotates; reuse after the grace window revokes the grant', async () => {
  const first = state.tokens.refresh_token;
  const next = await client.refreshTokenGrant(state.web, first);
  assert.ok(next.refresh_token && next.refresh_token !== first, 'rotated');
  assert.equal(next.claims().sub, user);
  if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs + 500));
  await assert.rejects(client.refreshTokenGrant(state.web, first), (e) => e.error === 'invalid_grant');
  await assert.rejects(client.refreshTokenGrant(state.web, next.refresh_token), (e) => e.error === 'invalid_grant');
});

test('introspection: own client sees it active, another client does not', async () => {
  const cfg = state.web;
  const stIntrospect = client.randomState();
  const url = client.buildAuthorizationUrl(cfg, { redirect_uri: callback, scope: 'openid', state: stIntrospect });
  const back = await login(new Browser(), url, mfaSteps);
  const tokens = await client.authorizationCodeGrant(cfg, back, { expectedState: stIntrospect });
  const mine = await client.tokenIntrospection(cfg, tokens.access_token);
  assert.equal(mine.active, true);
  assert.equal(mine.client_id, 'web');
  assert.equal(mine.sub, user);
  const rs = await configFor('rs');
  const theirs = await client.tokenIntrospection(rs, tokens.access_token);
  assert.equal(theirs.active, false);
  state.introspected = tokens;
});

test('revocation', async () => {
  const cfg = state.web;
  await client.tokenRevocation(cfg, state.introspected.refresh_token);
  const after = await client.tokenIntrospection(cfg, state.introspected.access_token);
  assert.equal(after.active, false, 'revoking the refresh token revokes the grant');
  await assert.rejects(client.fetchUserInfo(cfg, state.introspected.access_token, user));
});

test('public client (SPA): PKCE and auth method none, JWT access token signed ES256', async () => {
  const cfg = await configFor('spa', client.None());
  const verifier = client.randomPKCECodeVerifier();
  const stSpa = client.randomState();
  const url = client.buildAuthorizationUrl(cfg, {
    redirect_uri: callback, scope: 'openid email', state: stSpa,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const back = await login(new Browser(), url, passwordSteps);
  const tokens = await client.authorizationCodeGrant(cfg, back, { pkceCodeVerifier: verifier, expectedState: stSpa });
  const jwks = jose.createRemoteJWKSet(new URL(cfg.serverMetadata().jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: cfg.serverMetadata().issuer, typ: 'at+jwt' });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(payload.client_id, 'spa');
  assert.equal(payload.sub, user);
  // Without PKCE the public client is refused.
  const noPkce = client.buildAuthorizationUrl(cfg, { redirect_uri: callback, scope: 'openid', state: client.randomState() });
  const res = await new Browser().fetch(noPkce);
  assert.equal(new URL(res.headers.get('location')).searchParams.get('error'), 'invalid_request');
});

test('password grant', async () => {
  const cfg = await configFor('cli');
  const tokens = await client.genericGrantRequest(cfg, 'password', { username: user, password, scope: 'openid email' });
  assert.ok(tokens.access_token);
  const info = await client.fetchUserInfo(cfg, tokens.access_token, user);
  assert.equal(info.sub, user);
  await assert.rejects(client.genericGrantRequest(cfg, 'password', { username: user, password: 'wrong' }), (e) => e.error === 'invalid_grant');
  const mfa = await configFor('cli-mfa');
  await assert.rejects(client.genericGrantRequest(mfa, 'password', { username: user, password }),
    (e) => e.error === 'invalid_grant' && /more than a user name and password/.test(e.error_description));
});

test('client credentials', async () => {
  const cfg = await configFor('service');
  const tokens = await client.clientCredentialsGrant(cfg, { scope: 'orders:read' });
  const jwks = jose.createRemoteJWKSet(new URL(cfg.serverMetadata().jwks_uri));
  const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: cfg.serverMetadata().issuer });
  assert.equal(payload.sub, 'service');
  assert.equal(payload.scope, 'orders:read');
  const bad = await client.discovery(issuer, 'service', undefined, client.ClientSecretPost('wrong'), { execute: [client.allowInsecureRequests] });
  await assert.rejects(client.clientCredentialsGrant(bad), (e) => e.error === 'invalid_client');
});

test('RP-initiated logout', async () => {
  const cfg = await configFor('portal', client.ClientSecretPost(secrets.portal));
  const browser = new Browser();
  const stPortal = client.randomState();
  const url = client.buildAuthorizationUrl(cfg, { redirect_uri: callback, scope: 'openid', state: stPortal });
  const back = await login(browser, url, passwordSteps);
  const tokens = await client.authorizationCodeGrant(cfg, back, { expectedState: stPortal });
  const signedOut = new URL('/app/signed-out', issuer).href;
  const end = client.buildEndSessionUrl(cfg, { id_token_hint: tokens.id_token, post_logout_redirect_uri: signedOut, state: 'bye' });
  const res = await browser.fetch(end);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), signedOut + '?state=bye');
  const again = await browser.fetch(client.buildAuthorizationUrl(cfg, { redirect_uri: callback, scope: 'openid', state: client.randomState(), prompt: 'none' }));
  assert.equal(new URL(again.headers.get('location')).searchParams.get('error'), 'login_required');
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
    if (e?.cause) console.log('     cause:', JSON.stringify(e.cause));
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
