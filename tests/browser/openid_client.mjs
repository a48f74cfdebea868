// A relying party nobody here wrote: panva's openid-client (OpenID Certified) runs discovery,
// the code flow with PKCE, state and a nonce, validates the id_token (with its JWS signature
// checked against the JWKS: enableNonRepudiationChecks), calls userinfo, refreshes, and signs
// out through the end_session_endpoint. The sign-in and consent pages are filled in over HTTP as
// a browser would. Run by tests/it/oidc_clients.rs; prints one JSON line.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, LOGOUT_URI, LOGIN, PASSWORD.
import * as oidc from "openid-client";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const issuer = env("ISSUER");

// A browser stand-in: keeps cookies, follows nothing.
const jar = new Map();
const visit = async (url, form) => {
  const headers = { Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") };
  const init = { redirect: "manual", headers };
  if (form) {
    init.method = "POST";
    init.body = new URLSearchParams(form);
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  }
  const response = await fetch(new URL(url, issuer), init);
  for (const cookie of response.headers.getSetCookie()) {
    const [pair] = cookie.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return { status: response.status, location: response.headers.get("location"), html: await response.text() };
};
const hidden = (html, name) => {
  const found = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!found) throw new Error(`no hidden ${name} in ${html.slice(0, 500)}`);
  return found[1].replaceAll("&amp;", "&");
};

const result = {};
const config = await oidc.discovery(new URL(issuer), env("CLIENT_ID"), env("CLIENT_SECRET"), undefined, {
  execute: [oidc.allowInsecureRequests],
});
oidc.enableNonRepudiationChecks(config);
result.endSessionEndpoint = config.serverMetadata().end_session_endpoint;

const verifier = oidc.randomPKCECodeVerifier();
const nonce = oidc.randomNonce();
const state = oidc.randomState();
const url = oidc.buildAuthorizationUrl(config, {
  redirect_uri: env("REDIRECT_URI"),
  scope: "openid profile email offline_access",
  code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  nonce,
  state,
});
const signInPage = await visit(url.href);
const signedIn = await visit("/login", {
  csrf_token: hidden(signInPage.html, "csrf_token"),
  return_to: hidden(signInPage.html, "return_to"),
  login: env("LOGIN"),
  password: env("PASSWORD"),
});
const consent = await visit(signedIn.location);
const decided = await visit("/oauth/authorize/decision", {
  csrf_token: hidden(consent.html, "csrf_token"),
  request_id: hidden(consent.html, "request_id"),
  decision: "approve",
});
const tokens = await oidc.authorizationCodeGrant(config, new URL(decided.location), {
  pkceCodeVerifier: verifier,
  expectedNonce: nonce,
  expectedState: state,
  idTokenExpected: true,
});
const claims = tokens.claims();
result.claims = { sub: claims.sub, nonce: claims.nonce, amr: claims.amr, email: claims.email, sid: claims.sid };
result.userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
result.refreshedSub = refreshed.claims()?.sub;

// RP-initiated logout: the confirmation page, its form, and back to the relying party.
const logoutUrl = oidc.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: env("LOGOUT_URI"),
  state: "bye-2",
});
const confirm = await visit(logoutUrl.href);
result.confirmStatus = confirm.status;
const out = await visit("/oauth/logout", {
  csrf_token: hidden(confirm.html, "csrf_token"),
  client_id: hidden(confirm.html, "client_id"),
  post_logout_redirect_uri: hidden(confirm.html, "post_logout_redirect_uri"),
  state: hidden(confirm.html, "state"),
});
result.logoutLocation = out.location;
result.afterLogout = (await visit("/account")).status;
console.log(JSON.stringify(result));
