// Drives passkeys in Debian's headless Chromium on a 375 px screen, with the DevTools virtual
// authenticator (WebAuthn.addVirtualAuthenticator through playwright's CDP session): add a
// passkey on /account, sign in with it on /login, through the API and in an OAuth authorization,
// then a clone of it (the
// same key with a stale signature counter, on a second authenticator) and the removed passkey,
// both refused. Run by tests/it/browser.rs; prints one JSON line.
//
// Environment: BASE_URL (http://localhost:PORT, the issuer), HANDLE, PASSWORD, SHOTS,
// AUTHORIZE_PATH (an /oauth/authorize?… path) and CALLBACK (its registered redirect URI).
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("BASE_URL");
const shot = (page, name) => page.screenshot({ path: `${env("SHOTS")}/${name}.png`, fullPage: true });
const width = (page) => page.evaluate(() => document.documentElement.scrollWidth);
const alertText = async (page) => ((await page.locator("[role=alert]").allTextContents()).join(" "));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { widths: {} };
try {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const authenticator = async () => (await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })).authenticatorId;
  const first = await authenticator();

  const signInWithPassword = async () => {
    await page.goto(`${base}/login?return_to=/account`);
    await page.fill("#login", env("HANDLE"));
    await page.fill("#password", env("PASSWORD"));
    await Promise.all([page.waitForNavigation(), page.click("form[action='/login'] button")]);
  };
  const signOut = async () => {
    await page.goto(`${base}/logout`);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  };
  const signInWithPasskey = async () => {
    await page.goto(`${base}/login?return_to=/account`);
    await page.waitForSelector("#passkey_sign_in", { state: "visible" });
    await Promise.all([page.waitForNavigation(), page.click("#passkey_sign_in")]);
  };

  // Add a passkey on /account.
  await signInWithPassword();
  result.noneBefore = await page.isVisible("#passkey_none");
  await page.fill("#passkey_name", "Work laptop");
  await Promise.all([page.waitForNavigation(), page.click("form[data-passkey=register] button")]);
  result.addedNotice = (await page.textContent(".notice")) || "";
  result.listed = (await page.locator("#passkey_list li").allTextContents()).join(" | ");
  result.widths.account = await width(page);
  await shot(page, "passkey-added");
  const [registered] = (await cdp.send("WebAuthn.getCredentials", { authenticatorId: first })).credentials;
  result.resident = registered.isResidentCredential;
  result.rpId = registered.rpId;

  // Sign in with it on /login: no login typed, the browser offers the passkey (discoverable).
  await signOut();
  await page.goto(`${base}/login?return_to=/account`);
  result.passkeyButtonVisible = await page.isVisible("#passkey_sign_in");
  result.widths.login = await width(page);
  await shot(page, "passkey-login");
  await signInWithPasskey();
  result.afterPasskey = new URL(page.url()).pathname;
  result.pageToken = await page.inputValue("#access_token");

  // The same through the API, from the page's origin: a session with amr.
  result.api = await page.evaluate(async (login) => {
    const post = (path, body) => fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const started = await (await post("/v2/auth/passkeys/login/start", { login })).json();
    const credential = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(started.publicKey),
    });
    const finished = await post("/v2/auth/passkeys/login/finish", {
      challengeId: started.challengeId, credential: credential.toJSON(),
    });
    const replay = await post("/v2/auth/passkeys/login/finish", {
      challengeId: started.challengeId, credential: credential.toJSON(),
    });
    return {
      listed: started.publicKey.allowCredentials.length,
      status: finished.status, body: await finished.json(),
      replayStatus: replay.status, replay: await replay.json(),
    };
  }, env("HANDLE"));

  // An OAuth authorization's sign-in offers the passkey too; consent, then the app's callback.
  await signOut();
  const callback = env("CALLBACK");
  await page.route(`${callback}**`, (route) => route.fulfill({ status: 200, contentType: "text/plain", body: "callback reached" }));
  await page.goto(`${base}${env("AUTHORIZE_PATH")}`);
  await page.waitForSelector("#passkey_sign_in", { state: "visible" });
  await Promise.all([page.waitForNavigation(), page.click("#passkey_sign_in")]);
  result.oauthConsentTitle = await page.title();
  const [answer] = await Promise.all([
    page.waitForRequest((req) => req.url().startsWith(callback)),
    page.click("button[value=approve]"),
  ]);
  result.oauthCallback = answer.url();
  // Let the callback's navigation settle before the next one starts.
  await page.waitForURL((url) => url.href.startsWith(callback)).catch(() => {});
  await page.unroute(`${callback}**`);

  // A clone: the same private key on a second authenticator, its counter where it was at
  // registration. The server has seen higher counters since, so it refuses the clone.
  await signOut();
  await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: first });
  const clone = await authenticator();
  await cdp.send("WebAuthn.addCredential", {
    authenticatorId: clone,
    credential: { ...registered, signCount: registered.signCount },
  });
  await signInWithPasskey();
  result.cloneStatus = new URL(page.url()).pathname;
  result.cloneAlert = await alertText(page);
  await shot(page, "passkey-clone-refused");

  // Remove the passkey on /account; the authenticator still offers it, the server refuses it.
  await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: clone });
  const third = await authenticator();
  await signInWithPassword();
  await Promise.all([page.waitForNavigation(), page.click("#passkey_list form button")]);
  result.removedNotice = (await page.textContent(".notice")) || "";
  result.noneAfter = await page.isVisible("#passkey_none");
  await signOut();
  await cdp.send("WebAuthn.addCredential", {
    authenticatorId: third,
    credential: { ...registered, signCount: registered.signCount + 1000 },
  });
  await signInWithPasskey();
  result.removedAlert = await alertText(page);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
